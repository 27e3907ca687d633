//! The test knobs in front of the real API server (issue 16): a thin HTTPS proxy that the world's kubeconfig points
//! at (`https://127.0.0.1:PORT`, as kind and k3d write theirs; it listens on the node's address too, same port). It
//! answers `/kube-sim/stats` (request counts, the request timeline, TLS connections accepted —
//! `knobs::stats_response`), delays each request by `--latency` and applies `--fault` rules
//! (`knobs::fault_response`), and forwards everything else unchanged — headers (the bearer token
//! included), body, streaming answers (watches, logs) and protocol upgrades (exec's WebSocket) — to the real API
//! server, which authenticates, authorizes and answers. `--http1-only` makes its listeners HTTP/1.1 only (ALPN and
//! protocol), as a TLS-terminating proxy without HTTP/2. Test knob, not Kubernetes behaviour: only clients of the
//! kubeconfig go through it; the control plane's components, the node and the pods talk to the API server directly.
use super::knobs::{DropConnection, Knobs};
use super::timeline::{TimedBody, Timeline};
use crate::http::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

pub struct Proxy {
    knobs: Knobs,
    timeline: Arc<Timeline>,
    connections: AtomicU64,
    /// `host:port` of the real API server.
    upstream: String,
    upstream_tls: Arc<rustls::ClientConfig>,
}

/// An upstream body as ours: an error mid-stream (the API server closed a watch) ends the stream.
struct Lossy(Incoming);

impl HttpBody for Lossy {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match Pin::new(&mut self.0).poll_frame(cx) {
            Poll::Ready(Some(Ok(f))) => Poll::Ready(Some(Ok(f))),
            Poll::Ready(Some(Err(_))) | Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

fn tls_err(e: impl std::fmt::Display) -> String {
    format!("the knob proxy's TLS: {e}")
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) a proxy does not forward, unless the request is an upgrade.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Accepts TLS connections on `listener` and serves each with `p` (HTTP/2, or HTTP/1.1 with upgrades; HTTP/1.1 only
/// with `--http1-only`).
fn serve(listener: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor, p: Arc<Proxy>) {
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, p) = (acceptor.clone(), p.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                p.connections.fetch_add(1, Ordering::Relaxed);
                let http1_only = p.knobs.http1_only;
                let svc = hyper::service::service_fn(move |req| p.clone().handle(req));
                let mut builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                if http1_only {
                    builder = builder.http1_only();
                }
                let _ = builder
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
}

impl Proxy {
    /// Serves on 127.0.0.1 (any port; the address it returns) and on `bind_ip` (the same port) with the API server's
    /// own certificate (its names include both), forwarding to `upstream` (`https://host:port`), trusted by `ca_pem`.
    pub async fn start(
        bind_ip: &str,
        cert_pem: &str,
        key_pem: &str,
        ca_pem: &str,
        upstream: &str,
        knobs: Knobs,
    ) -> Result<(SocketAddr, Arc<Proxy>), String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(tls_err)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(tls_err)?;
        let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(tls_err)?;
        // As the API server: HTTP/2 for clients that offer it (kubectl, kube-rs), HTTP/1.1 for upgrades. With
        // `--http1-only`, only HTTP/1.1, as a TLS-terminating proxy without HTTP/2 offers (a client that still sends
        // the h2 preface is refused by the HTTP/1.1 parser: ALPN is the only negotiation, RFC 7540 §3.3).
        server.alpn_protocols = if knobs.http1_only {
            vec![b"http/1.1".to_vec()]
        } else {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        };
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(c.map_err(tls_err)?).map_err(tls_err)?;
        }
        let mut client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        let proxy = Arc::new(Proxy {
            knobs,
            timeline: Arc::new(Timeline::default()),
            connections: AtomicU64::new(0),
            upstream: upstream
                .strip_prefix("https://")
                .unwrap_or(upstream)
                .to_string(),
            upstream_tls: Arc::new(client),
        });
        // Loopback first, as kind, k3d and minikube's docker driver write their kubeconfigs (`https://127.0.0.1:PORT`:
        // clients never send a loopback server through an HTTP proxy, issue 15's case); then the node's address on
        // the same port, which only this world uses, so that port is free there. The API server's certificate names
        // both (control_plane.rs).
        let loopback = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("binding the knob proxy on 127.0.0.1: {e}"))?;
        let addr = loopback
            .local_addr()
            .map_err(|e| format!("the knob proxy's address: {e}"))?;
        let on_node = tokio::net::TcpListener::bind((bind_ip, addr.port()))
            .await
            .map_err(|e| format!("binding the knob proxy on {bind_ip}: {e}"))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        for listener in [loopback, on_node] {
            serve(listener, acceptor.clone(), proxy.clone());
        }
        Ok((addr, proxy))
    }

    async fn handle(
        self: Arc<Self>,
        mut req: Request<Incoming>,
    ) -> Result<Response<Body>, DropConnection> {
        let method = req.method().as_str().to_string();
        let path = req.uri().path().to_string();
        if path == "/kube-sim/stats" {
            return Ok(super::knobs::stats_response(
                &self.knobs,
                &self.timeline,
                self.connections.load(Ordering::Relaxed),
                req.uri().query(),
            ));
        }
        self.knobs.count(&method, &path);
        let end = self.timeline.begin(format!("{method} {path}"));
        if !self.knobs.latency.is_zero() {
            tokio::time::sleep(self.knobs.latency).await;
        }
        if let Some(action) = self.knobs.take_fault(&method, &path) {
            return super::knobs::fault_response(action).await;
        }
        let upgrade = req.headers().contains_key(hyper::header::UPGRADE);
        let down_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
        let resp = match self.forward(req, upgrade).await {
            Ok(r) => r,
            Err(e) => {
                return Ok(crate::http::error_response(&crate::http::ApiError::new(
                    503,
                    "ServiceUnavailable",
                    format!("kube-sim's knob proxy could not reach the API server: {e}"),
                )));
            }
        };
        let (head, body) = resp.into_parts();
        if head.status == hyper::StatusCode::SWITCHING_PROTOCOLS {
            let up_upgrade = hyper::upgrade::on(Response::from_parts(head.clone(), body));
            if let Some(down) = down_upgrade {
                // The request's span ends when the upgraded session does.
                tokio::spawn(async move {
                    let _end = end;
                    if let (Ok(up), Ok(down)) = (up_upgrade.await, down.await) {
                        let mut up = hyper_util::rt::TokioIo::new(up);
                        let mut down = hyper_util::rt::TokioIo::new(down);
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
            }
            return Ok(Response::from_parts(head, crate::http::full("")));
        }
        Ok(Response::from_parts(
            head,
            TimedBody::wrap(Lossy(body).boxed(), end),
        ))
    }

    /// One upstream connection per request (the API server is local; watches and upgrades hold theirs).
    async fn forward(
        &self,
        req: Request<Incoming>,
        upgrade: bool,
    ) -> Result<Response<Incoming>, String> {
        let tcp = tokio::net::TcpStream::connect(&self.upstream)
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.upstream))?;
        let host = self
            .upstream
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(&self.upstream);
        let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(self.upstream_tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {}: {e}", self.upstream))?;
        let (mut tx, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn.with_upgrades());
        let (mut head, body) = req.into_parts();
        let path = head
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        head.uri = path.parse().map_err(|e| format!("{e}"))?;
        head.version = hyper::Version::HTTP_11;
        if !upgrade {
            for h in HOP_BY_HOP {
                head.headers.remove(h);
            }
        }
        head.headers.insert(
            hyper::header::HOST,
            hyper::header::HeaderValue::from_str(&self.upstream).map_err(|e| e.to_string())?,
        );
        tx.send_request(Request::from_parts(head, body))
            .await
            .map_err(|e| e.to_string())
    }
}
