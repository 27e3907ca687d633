//! The test knobs the proxy (`proxy.rs`) puts in front of the real API server: injected faults (`--fault`), a fixed
//! delay (`--latency`), per-request counts and the request timeline served at `/kube-sim/stats`, and `--http1-only`.
use super::timeline::Timeline;
use crate::http::{ApiError, Body, error_response, full, json_response, param, parse_query};
use hyper::{Response, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;
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
    /// Offer only HTTP/1.1 in TLS ALPN (`--http1-only`: a server or TLS-terminating proxy without HTTP/2).
    pub http1_only: bool,
    pub faults: Mutex<Vec<FaultRule>>,
    /// `METHOD path` → count, served unauthenticated at `/kube-sim/stats`.
    pub counts: Mutex<BTreeMap<String, u64>>,
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

/// Returned by the handler to make hyper close the connection (the `drop` fault).
#[derive(Debug)]
pub struct DropConnection;
impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}
impl std::error::Error for DropConnection {}

/// `/kube-sim/stats` (test knob, not counted, not delayed): `total` and per-`METHOD path` `requests` counts since
/// start, TLS `connections` accepted since start (the stats request's own included), and with `?since=N` the
/// timeline of the requests numbered N and later (the first is 0, so `total` read before a run is the N that selects
/// that run's requests): count, body bytes, serial round trips, and more.
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
}
