//! The HTTPS front of the API server: TLS, bearer-token authentication (401), the fault/latency/counting knobs
//! (with the request timeline of `timeline.rs` behind `/kube-sim/stats?since=N`), and routing of a request to
//! discovery, OpenAPI, the REST handlers (`rest.rs`) or the node agent.
use crate::kubeconfig::{Tokens, User};
use crate::node_agent::{Body, NodeAgent};
use crate::registry::Registry;
use crate::status::ApiError;
use crate::store::Store;
use crate::timeline::{ConnIo, TimedBody, Timeline, UpgradeSlot};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

/// What an injected fault does to a matching request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultAction {
    /// 500 InternalError Status.
    InternalError,
    /// Close the connection without answering.
    Drop,
    /// 409 Conflict Status (as a stale resourceVersion would give).
    Conflict,
    /// 429 with `Retry-After: 1` and a plain-text body, as the apiserver's max-in-flight and priority-and-fairness
    /// filters answer an overloaded server (k8s.io/apiserver/pkg/server/filters/maxinflight.go `tooManyRequests`:
    /// `w.Header().Set("Retry-After", retryAfter)`, `http.Error(w, "Too many requests, please try again later.",
    /// http.StatusTooManyRequests)`).
    TooManyRequests,
    /// 503 ServiceUnavailable Status without `Retry-After` (apierrors.NewServiceUnavailable, e.g. an aggregated API
    /// that is down): nothing says when to try again.
    Unavailable,
    /// Never answer (the request stays open until the client gives up): a cluster whose API server hangs, for the
    /// fleet benchmark and tests of per-cluster bounds.
    Hang,
}

/// `METHOD path-substring` → action, for the next `times` matching requests.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub method: Option<String>,
    pub path_contains: String,
    pub action: FaultAction,
    pub times: u32,
}

impl FaultRule {
    /// Parse `ACTION:METHOD:PATH_SUBSTRING:TIMES`, e.g. `500:PATCH:/persistentvolumeclaims/:2`,
    /// `drop:*:/pods:1`, `409:PATCH:/statefulsets/:1`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.splitn(4, ':').collect();
        let [action, method, path, times] = parts[..] else {
            return Err(format!("fault rule `{s}` is not ACTION:METHOD:PATH:TIMES"));
        };
        let action = match action {
            "500" => FaultAction::InternalError,
            "drop" => FaultAction::Drop,
            "409" => FaultAction::Conflict,
            "429" => FaultAction::TooManyRequests,
            "503" => FaultAction::Unavailable,
            "hang" => FaultAction::Hang,
            other => {
                return Err(format!(
                    "fault action `{other}` is not one of 500, drop, 409, 429, 503, hang"
                ));
            }
        };
        let times = times
            .parse()
            .map_err(|_| format!("fault count `{times}` is not a number"))?;
        let method = (method != "*").then(|| method.to_uppercase());
        Ok(FaultRule {
            method,
            path_contains: path.to_string(),
            action,
            times,
        })
    }
}

#[derive(Default)]
pub struct Knobs {
    pub latency: Duration,
    pub faults: Mutex<Vec<FaultRule>>,
    /// `METHOD path` → count, served unauthenticated at `/kube-sim/stats`.
    pub counts: Mutex<BTreeMap<String, u64>>,
    /// `--http1-only`: ALPN offers only `http/1.1`, as a TLS-terminating proxy without HTTP/2 does (real mode: the
    /// knob proxy's listener, `node::proxy`).
    pub http1_only: bool,
}

impl Knobs {
    /// Counts `METHOD path` (the per-path counts of `/kube-sim/stats`).
    pub fn count(&self, method: &str, path: &str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(format!("{method} {path}")).or_insert(0) += 1;
        }
    }

    /// The action of the first rule matching the request that has uses left (one use taken).
    pub fn take_fault(&self, method: &str, path: &str) -> Option<FaultAction> {
        let mut faults = self.faults.lock().ok()?;
        let rule = faults.iter_mut().find(|r| {
            r.times > 0
                && r.method.as_deref().is_none_or(|m| m == method)
                && path.contains(&r.path_contains)
        })?;
        rule.times -= 1;
        Some(rule.action)
    }
}

pub struct ApiServer {
    pub store: Arc<Store>,
    pub registry: Arc<Registry>,
    pub tokens: Tokens,
    pub knobs: Knobs,
    /// Test knob: when each counted request started and ended, for `/kube-sim/stats?since=N` (`timeline.rs`).
    pub timeline: Arc<Timeline>,
    /// Test knob: TLS connections accepted so far (`connections` in `/kube-sim/stats`). The latency knob delays
    /// requests only, so this is how a benchmark sees the TCP and TLS handshakes a client pays on a real network.
    pub connections: std::sync::atomic::AtomicU64,
    agent: RwLock<Option<Arc<dyn NodeAgent>>>,
    pub addr: OnceLock<SocketAddr>,
    /// PEM of the cluster CA (published in every namespace's `kube-root-ca.crt`).
    pub ca_pem: OnceLock<String>,
}

/// Returned by the handler to make hyper close the connection (the `drop` fault).
#[derive(Debug)]
pub struct DropConnection;
impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}
impl std::error::Error for DropConnection {}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|e: Infallible| match e {})
        .boxed()
}

pub fn json_response(code: u16, v: &Value) -> Response<Body> {
    let mut r = Response::new(full(serde_json::to_vec(v).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

/// Query parameters, percent-decoded (`+` is a space, as Go's url.ParseQuery reads it).
pub fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match u8::from_str_radix(
                        std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"),
                        16,
                    ) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

pub fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub const SERVER_VERSION: &str = "v1.33.4+kube-sim";

fn version_info() -> Value {
    json!({
        "major": "1", "minor": "33", "emulationMajor": "1", "emulationMinor": "33",
        "minCompatibilityMajor": "1", "minCompatibilityMinor": "32",
        "gitVersion": SERVER_VERSION, "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean", "buildDate": "2025-08-12T00:00:00Z", "goVersion": "go1.24.5",
        "compiler": "gc", "platform": "linux/amd64",
    })
}

/// `/kube-sim/stats` (test knob, not counted, not delayed): `total` and per-`METHOD path` `requests` counts since
/// start, TLS `connections` accepted since start (the stats request's own included), and with `?since=N` the
/// timeline of the requests numbered N and later (the first is 0, so `total` read before a run is the N that selects
/// that run's requests): count, body bytes, serial round trips, and more. Shared by the simulated API server and the
/// real control plane's proxy (`node::proxy`).
pub fn stats_response(
    knobs: &Knobs,
    timeline: &Timeline,
    connections: u64,
    query: Option<&str>,
) -> Response<Body> {
    let counts = knobs.counts.lock().map(|c| c.clone()).unwrap_or_default();
    let total: u64 = counts.values().sum();
    let mut stats = json!({"total": total, "requests": counts, "connections": connections});
    let q = parse_query(query);
    if let Some(since) = param(&q, "since") {
        let Ok(since) = since.parse::<usize>() else {
            return error_response(&ApiError::bad_request(format!(
                "since={since} is not a request number (read `total` before the run and pass it)"
            )));
        };
        stats["since"] = timeline.window(since);
    }
    json_response(200, &stats)
}

/// What an injected fault answers (or Err: drop the connection; `hang` never returns).
pub async fn fault_response(action: FaultAction) -> Result<Response<Body>, DropConnection> {
    match action {
        FaultAction::Drop => Err(DropConnection),
        FaultAction::Hang => std::future::pending().await,
        FaultAction::InternalError => Ok(error_response(&ApiError::internal(
            "injected fault (kube-sim)",
        ))),
        FaultAction::Conflict => Ok(error_response(&ApiError::new(
            409,
            "Conflict",
            "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again",
        ))),
        FaultAction::TooManyRequests => {
            let mut r = Response::new(full("Too many requests, please try again later.\n"));
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            let headers = r.headers_mut();
            headers.insert(
                hyper::header::RETRY_AFTER,
                hyper::header::HeaderValue::from_static("1"),
            );
            headers.insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            Ok(r)
        }
        FaultAction::Unavailable => Ok(error_response(&ApiError::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ))),
    }
}

impl ApiServer {
    pub fn new(
        store: Arc<Store>,
        registry: Arc<Registry>,
        tokens: Tokens,
        knobs: Knobs,
    ) -> Arc<Self> {
        Arc::new(ApiServer {
            store,
            registry,
            tokens,
            knobs,
            timeline: Arc::new(Timeline::default()),
            connections: Default::default(),
            agent: RwLock::new(None),
            addr: OnceLock::new(),
            ca_pem: OnceLock::new(),
        })
    }

    pub fn set_node_agent(&self, agent: Arc<dyn NodeAgent>) {
        if let Ok(mut a) = self.agent.write() {
            *a = Some(agent);
        }
    }

    pub fn node_agent(&self) -> Option<Arc<dyn NodeAgent>> {
        self.agent.read().ok().and_then(|a| a.clone())
    }

    /// Bind 127.0.0.1:`port` (0 = any) and serve HTTPS until the runtime stops.
    pub async fn serve(
        self: Arc<Self>,
        port: u16,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let _ = self.addr.set(addr);
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let api = self.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    api.connections
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // An upgraded request (exec) ends when this stream is dropped, not with its 101 answer.
                    let upgraded = UpgradeSlot::default();
                    let tls = ConnIo {
                        inner: tls,
                        upgraded: upgraded.clone(),
                    };
                    let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                        let api = api.clone();
                        req.extensions_mut().insert(upgraded.clone());
                        async move { api.handle(req).await }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
                });
            }
        });
        Ok(addr)
    }

    fn count(&self, method: &str, path: &str) {
        self.knobs.count(method, path)
    }

    fn authenticate(&self, req: &Request<Incoming>) -> Option<User> {
        let h = req
            .headers()
            .get(hyper::header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let token = h.strip_prefix("Bearer ")?.trim();
        self.tokens.user_for(token)
    }

    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Body>, DropConnection> {
        let method = req.method().as_str().to_string();
        let path = req.uri().path().to_string();
        if path == "/kube-sim/stats" {
            return Ok(self.stats(req.uri().query()));
        }
        self.count(&method, &path);
        let end = self.timeline.begin(format!("{method} {path}"));
        let upgraded = req.extensions().get::<UpgradeSlot>().cloned();
        let mut response = self.answer(req, method, path).await?;
        match upgraded {
            Some(slot) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
                if let Ok(mut slot) = slot.lock() {
                    *slot = Some(end);
                }
            }
            _ => {
                let body = std::mem::replace(response.body_mut(), full(""));
                *response.body_mut() = TimedBody::wrap(body, end);
            }
        }
        Ok(response)
    }

    /// `/kube-sim/stats` (test knob, not counted, not delayed): `total` and per-`METHOD path` `requests` counts since
    /// start, TLS `connections` accepted since start (the stats request's own included), and with `?since=N` the timeline of the requests numbered N and later (the first is 0, so `total` read
    /// before a run is the N that selects that run's requests): count, body bytes, serial round trips, and more.
    fn stats(&self, query: Option<&str>) -> Response<Body> {
        stats_response(
            &self.knobs,
            &self.timeline,
            self.connections.load(std::sync::atomic::Ordering::Relaxed),
            query,
        )
    }

    /// A counted request after the stats check: delay, injected fault, authentication, routing.
    async fn answer(
        self: Arc<Self>,
        req: Request<Incoming>,
        method: String,
        path: String,
    ) -> Result<Response<Body>, DropConnection> {
        if !self.knobs.latency.is_zero() {
            tokio::time::sleep(self.knobs.latency).await;
        }
        if let Some(action) = self.knobs.take_fault(&method, &path) {
            return fault_response(action).await;
        }
        let Some(user) = self.authenticate(&req) else {
            return Ok(error_response(&ApiError::unauthorized()));
        };
        let user = match crate::rbac::impersonate(&self.store, user, req.headers()) {
            Ok(user) => user,
            Err(err) => return Ok(error_response(&err)),
        };
        Ok(self.route(req, user, path).await)
    }

    async fn route(
        self: Arc<Self>,
        req: Request<Incoming>,
        user: User,
        path: String,
    ) -> Response<Body> {
        let segs: Vec<String> = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        match s.as_slice() {
            ["version"] => json_response(200, &version_info()),
            ["healthz"] | ["readyz"] | ["livez"] => {
                let mut r = Response::new(full("ok"));
                r.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("text/plain"),
                );
                r
            }
            ["api"] => json_response(200, &crate::discovery::api_versions(self.addr.get())),
            ["apis"] => json_response(200, &crate::discovery::api_group_list(&self.registry)),
            ["api", "v1"] => json_response(
                200,
                &crate::discovery::resource_list(&self.registry, "", "v1"),
            ),
            ["apis", g] => match crate::discovery::api_group(&self.registry, g) {
                Some(v) => json_response(200, &v),
                None => error_response(&ApiError::path_not_found()),
            },
            ["apis", g, v]
                if self
                    .registry
                    .groups()
                    .iter()
                    .any(|(gg, vs)| gg == g && vs.iter().any(|x| x == v)) =>
            {
                json_response(200, &crate::discovery::resource_list(&self.registry, g, v))
            }
            ["openapi", "v3", rest @ ..] => crate::openapi::serve(&self.registry, &rest.join("/")),
            ["api", "v1", rest @ ..] => {
                let rest: Vec<String> = rest.iter().map(|x| x.to_string()).collect();
                crate::rest::handle(self.clone(), req, user, String::new(), "v1".into(), rest).await
            }
            ["apis", g, v, rest @ ..] => {
                let rest: Vec<String> = rest.iter().map(|x| x.to_string()).collect();
                crate::rest::handle(self.clone(), req, user, g.to_string(), v.to_string(), rest)
                    .await
            }
            _ => error_response(&ApiError::path_not_found()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_rules_parse() {
        let r = FaultRule::parse("500:PATCH:/persistentvolumeclaims/:2").unwrap();
        assert_eq!(
            (
                r.action,
                r.method.as_deref(),
                r.path_contains.as_str(),
                r.times
            ),
            (
                FaultAction::InternalError,
                Some("PATCH"),
                "/persistentvolumeclaims/",
                2
            )
        );
        assert_eq!(FaultRule::parse("drop:*:/pods:1").unwrap().method, None);
        assert!(FaultRule::parse("teapot:GET:/x:1").is_err());
    }

    #[test]
    fn query_is_percent_decoded() {
        let q = parse_query(Some(
            "labelSelector=app%3Dprom%2Ctier+in+%28a%29&watch=true",
        ));
        assert_eq!(param(&q, "labelSelector"), Some("app=prom,tier in (a)"));
        assert_eq!(param(&q, "watch"), Some("true"));
    }
}
