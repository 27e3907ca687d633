//! The HTTP transport to one API server: HTTP/2 over one shared TLS connection (ALPN `h2`, as kubectl and the real
//! kube-apiserver speak it), falling back to HTTP/1.1 when the server or a proxy does not offer `h2`; a separate
//! HTTP/1.1 client for exec (a WebSocket upgrade needs HTTP/1.1); and the layers every request goes through
//! (accounting, kubectl's retry rule).
//!
//! Why not kube's own builder: `kube-client` 5 builds an HTTP/1.1-only hyper client (`ClientBuilder::try_from`,
//! `make_generic_builder` in kube-client-5.0.0/src/client/builder.rs: `enable_http1()` only), so every request sent
//! while the others are in flight opens its own TLS connection (`doctor -A` opened 189). This module builds the same
//! stack from kube's public pieces (`ConfigExt`: the rustls config, base-URI, auth and extra-header layers; the same
//! `TimeoutConnector` timeouts) around its own connection handling.
//!
//! Why not hyper-util's pooled client with HTTP/2 enabled: its pool opens one connection per request that arrives
//! before the first handshake has finished (hyper-util-0.1.21/src/client/legacy/pool.rs `connecting` only takes its
//! lock when the client is HTTP/2-only), and our verbs send their first requests together. Here the first request
//! connects while the others wait for the handshake (TCP + TLS + HTTP/2 preface, no API round trip), then all share
//! the connection.
//!
//! When a proxy applies (`Config::proxy_url`), kube's own builder is used unchanged: HTTP/1.1 through the proxy.

use http::{Request, Response};
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::{Body, ClientBuilder, ConfigExt, DynBody};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{BoxError, Service, ServiceExt};

/// The service under our layers, whichever transport was chosen (the same type as kube's `GenericService`).
type Stack = tower::util::BoxService<Request<Body>, Response<Box<DynBody>>, BoxError>;

/// How requests reach the API server (printed with `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP/2 when the server offers it (ALPN), else HTTP/1.1.
    Negotiated,
    /// HTTP/1.1 through the kubeconfig's `proxy-url` (kube's own client).
    Proxy,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Negotiated => {
                "HTTP/2 over one connection when the server offers it (ALPN), else HTTP/1.1; exec over HTTP/1.1"
            }
            Transport::Proxy => "HTTP/1.1 through the kubeconfig's proxy-url",
        })
    }
}

/// The two client stacks of one cluster, before the accounting and retry layers (src/app.rs `clients` adds them):
/// `api` for every request, `exec` for WebSocket upgrades (None: use the api client, which is then kube's own
/// HTTP/1.1 client through the proxy). A hyper client connects on its first request, so a verb that never execs opens
/// no second connection.
pub struct Builders {
    pub api: ClientBuilder<Stack>,
    pub exec: Option<ClientBuilder<Stack>>,
    pub transport: Transport,
}

/// Build the stacks for one cluster from its resolved config. May run the kubeconfig's credential plugin (kube's
/// `auth_layer`), once for both stacks: call it where blocking is allowed (src/connect.rs `client_builder`).
pub fn builders(config: kube::Config) -> kube::Result<Builders> {
    if config.proxy_url.is_some() {
        return Ok(Builders {
            api: ClientBuilder::try_from(config)?,
            exec: None,
            transport: Transport::Proxy,
        });
    }
    let ns = config.default_namespace.clone();
    let (api, exec) = negotiated(&config)?;
    Ok(Builders {
        api: ClientBuilder::new(api, ns.clone()),
        exec: Some(ClientBuilder::new(exec, ns)),
        transport: Transport::Negotiated,
    })
}

type Connector = hyper_timeout::TimeoutConnector<hyper_rustls::HttpsConnector<HttpConnector>>;

/// kube's stack (kube-client-5.0.0/src/client/builder.rs `make_generic_builder`: base URI, auth, extra headers, over
/// a `TimeoutConnector` with the Config's timeouts) with [`Negotiate`] in place of its HTTP/1.1-only client; and the
/// same over hyper's HTTP/1.1 client for exec.
fn negotiated(config: &kube::Config) -> kube::Result<(Stack, Stack)> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let tls = config.rustls_client_config()?;
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let builder = match &config.tls_server_name {
        // As kube does (config_ext.rs `rustls_https_connector_with_connector`): the kubeconfig's tls-server-name
        // drives SNI and verification.
        Some(name) => builder.with_server_name_resolver(
            hyper_rustls::FixedServerNameResolver::new(name.clone().try_into().map_err(|e| {
                kube::Error::RustlsTls(kube::client::RustlsTlsError::InvalidServerName(e))
            })?),
        ),
        None => builder,
    };
    let https = builder.enable_all_versions().wrap_connector(http);
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http1: hyper_util::client::legacy::Client<Connector, Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .build(connector.clone());
    let negotiate = Negotiate {
        shared: Arc::new(Shared {
            connector,
            http1: http1.clone(),
            state: tokio::sync::Mutex::new(State::Unknown),
            failures: Default::default(),
        }),
    };
    // One auth layer for both stacks: a credential plugin runs once, a refreshed token is shared.
    let auth = config.auth_layer()?;
    Ok((
        stack(config, auth.as_ref(), negotiate)?,
        stack(config, auth.as_ref(), http1)?,
    ))
}

/// kube's layers around a client: base URI, auth, extra headers (builder.rs `make_generic_builder`, without its
/// tracing layer, which we do not use).
fn stack<S>(
    config: &kube::Config,
    auth: Option<&kube::client::middleware::AuthLayer>,
    client: S,
) -> kube::Result<Stack>
where
    S: Service<Request<Body>, Response = Response<hyper::body::Incoming>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    use tower::Layer;
    let inner = config
        .extra_headers_layer()?
        .layer(client.map_err(Into::<BoxError>::into));
    let inner: tower::util::BoxService<Request<Body>, Response<hyper::body::Incoming>, BoxError> =
        match auth {
            Some(auth) => auth.layer(inner).boxed(),
            None => inner.boxed(),
        };
    Ok(config
        .base_uri_layer()
        .layer(inner)
        .map_response(|r: Response<hyper::body::Incoming>| {
            r.map(|body| {
                Box::new(http_body_util::BodyExt::map_err(body, BoxError::from)) as Box<DynBody>
            })
        })
        .boxed())
}

/// client-go's HTTP/2 health check (k8s.io/apimachinery/pkg/util/net/http.go `readIdleTimeoutSeconds` 30,
/// `pingTimeoutSeconds` 15): a PING after 30 s of silence, the connection given up 15 s later.
const PING_AFTER: Duration = Duration::from_secs(30);
const PING_TIMEOUT: Duration = Duration::from_secs(15);

/// What the server spoke when we last connected.
enum State {
    /// Nothing connected yet (or the last attempt failed).
    Unknown,
    /// An HTTP/2 connection every request shares while it is open.
    Http2(hyper::client::conn::http2::SendRequest<Body>),
    /// The server did not offer `h2`: hyper's pooled HTTP/1.1 client from now on.
    Http1,
}

struct Shared {
    connector: Connector,
    http1: hyper_util::client::legacy::Client<Connector, Body>,
    state: tokio::sync::Mutex<State>,
    /// Failed connection attempts so far, and the last one's error: requests that waited for an attempt that failed
    /// get its error at once rather than each trying (and timing out) in turn.
    failures: std::sync::Mutex<(u64, String)>,
}

impl Shared {
    fn failed(&self) -> (u64, String) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The innermost service: one HTTP/2 connection per cluster, or HTTP/1.1 when the server does not offer it.
#[derive(Clone)]
struct Negotiate {
    shared: Arc<Shared>,
}

impl Service<Request<Body>> for Negotiate {
    type Response = Response<hyper::body::Incoming>;
    type Error = BoxError;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move {
            let failures_seen = shared.failed().0;
            let mut sender = {
                // Held while connecting: requests that arrive meanwhile wait for this connection instead of opening
                // their own.
                let mut state = shared.state.lock().await;
                match &*state {
                    State::Http2(sender) if !sender.is_closed() => sender.clone(),
                    State::Http1 => {
                        drop(state);
                        return Ok(shared.http1.request(request).await?);
                    }
                    State::Http2(_) | State::Unknown => {
                        let (failures, error) = shared.failed();
                        if failures != failures_seen {
                            return Err(error.into());
                        }
                        let connected = connect(&shared, request.uri()).await.inspect_err(|e| {
                            let mut f = shared.failures.lock().unwrap_or_else(|p| p.into_inner());
                            *f = (f.0 + 1, e.to_string());
                        })?;
                        match connected {
                            Some(sender) => {
                                *state = State::Http2(sender.clone());
                                sender
                            }
                            None => {
                                *state = State::Http1;
                                drop(state);
                                return Ok(shared.http1.request(request).await?);
                            }
                        }
                    }
                }
            };
            // Waits while the server's stream limit is reached (SETTINGS_MAX_CONCURRENT_STREAMS).
            futures::future::poll_fn(|cx| sender.poll_ready(cx)).await?;
            Ok(sender.send_request(request).await?)
        })
    }
}

/// Open one connection; `Some` when the server chose HTTP/2 (the connection is then shared), `None` for HTTP/1.1
/// (this connection is dropped and hyper's HTTP/1.1 pool takes over; only a server without `h2` pays for it).
async fn connect(
    shared: &Shared,
    uri: &http::Uri,
) -> Result<Option<hyper::client::conn::http2::SendRequest<Body>>, BoxError> {
    let mut connector = shared.connector.clone();
    let io = connector.ready().await?.call(uri.clone()).await?;
    if !io.connected().is_negotiated_h2() {
        return Ok(None);
    }
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(PING_AFTER)
        .keep_alive_timeout(PING_TIMEOUT)
        .handshake(io)
        .await?;
    // The connection runs until every sender is dropped or the server closes it; an error here surfaces on the
    // requests in flight.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Some(sender))
}
