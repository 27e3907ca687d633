//! A pod's network namespace: its own loopback (as in Kubernetes, every pod has its own localhost), kept alive by an
//! fd, and the way into it for the node (probes): a thread that setns()es and connects.
use nix::sched::{CloneFlags, setns, unshare};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

/// An fd on `/proc/thread-self/ns/net` of a fresh namespace; the namespace lives while the fd or a process in it does.
#[derive(Clone)]
pub struct PodNetwork {
    fd: Arc<OwnedFd>,
}

impl PodNetwork {
    pub fn create() -> Result<Self, String> {
        // unshare(CLONE_NEWNET) changes only the calling thread, so a short-lived thread does it.
        std::thread::spawn(|| -> Result<OwnedFd, String> {
            unshare(CloneFlags::CLONE_NEWNET).map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))?;
            loopback_up()?;
            let f = std::fs::File::open("/proc/thread-self/ns/net")
                .map_err(|e| format!("open netns: {e}"))?;
            Ok(OwnedFd::from(f))
        })
        .join()
        .map_err(|_| "netns thread panicked".to_string())?
        .map(|fd| Self { fd: Arc::new(fd) })
    }

    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// A TCP connection made from inside the pod's namespace (the socket stays there after the thread returns).
    pub async fn connect(
        &self,
        port: u16,
        timeout: Duration,
    ) -> std::io::Result<tokio::net::TcpStream> {
        let fd = self.fd.clone();
        let std_stream = tokio::task::spawn_blocking(move || {
            std::thread::scope(|s| {
                s.spawn(|| -> std::io::Result<TcpStream> {
                    setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
                    TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), timeout)
                })
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("netns connect thread panicked")))
            })
        })
        .await
        .map_err(std::io::Error::other)??;
        std_stream.set_nonblocking(true)?;
        tokio::net::TcpStream::from_std(std_stream)
    }
}

/// `ip link set lo up` without iproute2: SIOCGIFFLAGS / SIOCSIFFLAGS on a datagram socket.
fn loopback_up() -> Result<(), String> {
    use nix::libc;
    // SAFETY: plain syscalls on a socket we own and a zeroed ifreq whose name we set.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return Err(format!("socket: {}", std::io::Error::last_os_error()));
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let mut rc = libc::ioctl(sock, libc::SIOCGIFFLAGS as _, &mut req);
        if rc == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            rc = libc::ioctl(sock, libc::SIOCSIFFLAGS as _, &mut req);
        }
        let err = std::io::Error::last_os_error();
        libc::close(sock);
        if rc != 0 {
            return Err(format!("bringing lo up: {err}"));
        }
    }
    Ok(())
}
