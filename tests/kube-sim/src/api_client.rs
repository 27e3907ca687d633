//! A minimal HTTPS client for the real kube-apiserver (issue 16): what the boot sequence (readiness) and the node
//! (register, Lease, watch, pods/status, events) need — one request per connection over rustls with the cluster's CA,
//! authenticated by a client certificate or a bearer token, and line-delimited watch streams. Not a general client:
//! the tests judge the cluster with the real kubectl.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead};

/// How the client proves who it is.
#[derive(Clone)]
pub enum Credentials {
    /// PEM certificate and PKCS#8 key (the node's `system:node:NAME` identity).
    ClientCert {
        cert_pem: String,
        key_pem: String,
    },
    Token(String),
}

#[derive(Clone)]
pub struct ApiClient {
    /// `host:port` of the API server.
    addr: String,
    tls: Arc<rustls::ClientConfig>,
    token: Option<String>,
}

/// A response: status and body.
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    /// The API's own message (metav1.Status) or the body's first line.
    pub fn message(&self) -> String {
        let v = self.json();
        v["message"].as_str().map(String::from).unwrap_or_else(|| {
            String::from_utf8_lossy(&self.body)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        })
    }
}

impl ApiClient {
    /// `server` is `https://host:port`.
    pub fn new(server: &str, ca_pem: &str, creds: Credentials) -> Result<Self, String> {
        let addr = server
            .strip_prefix("https://")
            .ok_or_else(|| format!("the API server address {server} is not https://"))?
            .trim_end_matches('/')
            .to_string();
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            let c = c.map_err(|e| format!("reading the cluster CA: {e}"))?;
            roots
                .add(c)
                .map_err(|e| format!("adding the cluster CA: {e}"))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .with_root_certificates(roots);
        let (mut config, token) = match creds {
            Credentials::ClientCert { cert_pem, key_pem } => {
                let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("reading the client certificate: {e}"))?;
                let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                    .map_err(|e| format!("reading the client key: {e}"))?;
                let c = builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("TLS client certificate: {e}"))?;
                (c, None)
            }
            Credentials::Token(t) => (builder.with_no_client_auth(), Some(t)),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            addr,
            tls: Arc::new(config),
            token,
        })
    }

    async fn connect(
        &self,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
        let tcp = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::TcpStream::connect(&self.addr),
        )
        .await
        .map_err(|_| format!("connecting to {}: timed out", self.addr))?
        .map_err(|e| format!("connecting to {}: {e}", self.addr))?;
        // The serving certificate names 127.0.0.1 and localhost; the host part of addr is one of them.
        let host = self
            .addr
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(&self.addr);
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("server name {host}: {e}"))?;
        tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {}: {e}", self.addr))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let io = hyper_util::rt::TokioIo::new(self.connect().await?);
        let (mut tx, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.addr)
            .header("accept", "application/json")
            .header("user-agent", "kube-sim-node/0.1");
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("building the request: {e}"))?;
        tx.send_request(req)
            .await
            .map_err(|e| format!("{path}: {e}"))
    }

    /// One request; the whole body is read (10 s cap).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Reply, String> {
        let fut = async {
            let resp = self.send(method, path, content_type, body).await?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("{path}: reading the body: {e}"))?
                .to_bytes();
            Ok(Reply { status, body })
        };
        tokio::time::timeout(Duration::from_secs(10), fut)
            .await
            .map_err(|_| format!("{path}: no answer in 10 s"))?
    }

    pub async fn get(&self, path: &str) -> Result<Reply, String> {
        self.request(Method::GET, path, None, vec![]).await
    }

    pub async fn post_json(&self, path: &str, v: &Value) -> Result<Reply, String> {
        self.request(
            Method::POST,
            path,
            Some("application/json"),
            serde_json::to_vec(v).unwrap_or_default(),
        )
        .await
    }

    /// A strategic-merge patch (lists merge by their patch keys).
    pub async fn patch_strategic(&self, path: &str, v: &Value) -> Result<Reply, String> {
        self.patch(path, "application/strategic-merge-patch+json", v)
            .await
    }

    /// A JSON merge patch (RFC 7386: lists are replaced whole).
    pub async fn patch_merge(&self, path: &str, v: &Value) -> Result<Reply, String> {
        self.patch(path, "application/merge-patch+json", v).await
    }

    async fn patch(&self, path: &str, content_type: &str, v: &Value) -> Result<Reply, String> {
        self.request(
            Method::PATCH,
            path,
            Some(content_type),
            serde_json::to_vec(v).unwrap_or_default(),
        )
        .await
    }

    pub async fn delete_json(&self, path: &str, v: &Value) -> Result<Reply, String> {
        self.request(
            Method::DELETE,
            path,
            Some("application/json"),
            serde_json::to_vec(v).unwrap_or_default(),
        )
        .await
    }

    /// A watch (`path` with `watch=1`): each event line goes to `on_event` until the server ends the stream.
    /// Err when the watch could not start (non-2xx, connection failure).
    pub async fn watch(&self, path: &str, mut on_event: impl FnMut(Value)) -> Result<(), String> {
        let resp = self.send(Method::GET, path, None, vec![]).await?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(format!(
                "watch {path}: {status} {}",
                Reply { status, body }.message()
            ));
        }
        let mut lines = tokio::io::BufReader::new(body_reader(resp.into_body())).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                on_event(v);
            }
        }
        Ok(())
    }
}

/// A response body as an AsyncRead.
fn body_reader(body: hyper::body::Incoming) -> impl AsyncRead + Unpin + Send {
    use futures::TryStreamExt;
    let stream = http_body_util::BodyStream::new(body)
        .map_ok(|frame| frame.into_data().unwrap_or_default())
        .map_err(std::io::Error::other);
    tokio_util::io::StreamReader::new(stream)
}
