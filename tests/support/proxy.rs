//! Real proxies on loopback for the connection tests: an HTTP CONNECT proxy and a SOCKS5 proxy, each counting the
//! connections it tunnels and recording the host names asked for, so a test proves the proxy was (or was not) used.
//! Every name resolves to this machine: a tunnel to `HOST:PORT` goes to 127.0.0.1:PORT.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// Which protocol the proxy speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `CONNECT host:port HTTP/1.1`.
    HttpConnect,
    /// RFC 1928, no authentication, CONNECT command.
    Socks5,
}

/// A running proxy; stops accepting when dropped.
pub struct Proxy {
    pub port: u16,
    kind: Kind,
    tunnels: Arc<AtomicUsize>,
    hosts: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(kind: Kind) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let tunnels = Arc::new(AtomicUsize::new(0));
        let hosts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, h, s) = (tunnels.clone(), hosts.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (t, h) = (t.clone(), h.clone());
                thread::spawn(move || {
                    let _ = serve(kind, conn, &t, &h);
                });
            }
        });
        Proxy {
            port,
            kind,
            tunnels,
            hosts,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT` or `socks5://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::HttpConnect => format!("http://127.0.0.1:{}", self.port),
            Kind::Socks5 => format!("socks5://127.0.0.1:{}", self.port),
        }
    }

    /// Tunnels opened so far.
    pub fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }

    /// The `host:port` of every tunnel asked for, in order.
    pub fn hosts(&self) -> Vec<String> {
        self.hosts.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    kind: Kind,
    mut client: TcpStream,
    tunnels: &AtomicUsize,
    hosts: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let (host, port) = match kind {
        Kind::HttpConnect => http_connect_request(&mut client)?,
        Kind::Socks5 => socks5_request(&mut client)?,
    };
    let upstream = match TcpStream::connect(("127.0.0.1", port)) {
        Ok(u) => u,
        Err(e) => {
            match kind {
                Kind::HttpConnect => client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")?,
                Kind::Socks5 => client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0])?,
            }
            return Err(e);
        }
    };
    hosts.lock().unwrap().push(format!("{host}:{port}"));
    tunnels.fetch_add(1, Ordering::SeqCst);
    match kind {
        Kind::HttpConnect => client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?,
        Kind::Socks5 => client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?,
    }
    pipe(client, upstream);
    Ok(())
}

/// Read `CONNECT host:port HTTP/1.1` and its headers.
fn http_connect_request(client: &mut TcpStream) -> std::io::Result<(String, u16)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 || head.len() > 16 * 1024 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("CONNECT "))
        .and_then(|l| l.split_whitespace().next())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let (host, port) = target
        .rsplit_once(':')
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let port = port.parse().map_err(|_| std::io::ErrorKind::InvalidData)?;
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

/// The SOCKS5 greeting (no authentication) and a CONNECT request.
fn socks5_request(client: &mut TcpStream) -> std::io::Result<(String, u16)> {
    let mut two = [0u8; 2];
    client.read_exact(&mut two)?;
    let mut methods = vec![0u8; two[1] as usize];
    client.read_exact(&mut methods)?;
    if two[0] != 5 || !methods.contains(&0) {
        client.write_all(&[5, 0xff])?;
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    client.write_all(&[5, 0])?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request)?;
    if request[1] != 1 {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip)?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len)?;
            let mut name = vec![0u8; len[0] as usize];
            client.read_exact(&mut name)?;
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip)?;
            std::net::Ipv6Addr::from(ip).to_string()
        }
        _ => return Err(std::io::ErrorKind::InvalidData.into()),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    Ok((host, u16::from_be_bytes(port)))
}

/// Copy both ways until either side closes.
fn pipe(client: TcpStream, upstream: TcpStream) {
    let (mut c_read, mut u_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let forward = thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = forward.join();
}

/// A TCP server that accepts connections and never answers (a hung API server or a black-holed load balancer).
pub struct Silent {
    pub port: u16,
    _held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind silent server");
        let port = listener.local_addr().unwrap().port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let h = held.clone();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                h.lock().unwrap().push(conn);
            }
        });
        Silent { port, _held: held }
    }
}
