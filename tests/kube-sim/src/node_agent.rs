//! The seam between the API server and the kubelet (sim-kubelet's `src/kubelet/`): the router hands the pod
//! `log`, `exec`, `proxy` subresources and `nodes/{name}/proxy/...` to whatever implements `NodeAgent`, and the
//! expansion controller asks it to grow a volume's filesystem. The API server authenticates, authorizes and checks
//! that the pod exists before calling; the agent owns the protocol (log streaming, WebSocket channels, proxying).
//!
//! The kubelet registers itself with `ApiServer::set_node_agent` after construction. Without an agent these
//! subresources answer 503 ServiceUnavailable, and volume expansion completes on the API side only.
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::convert::Infallible;

/// The response body type every handler returns.
pub type Body = BoxBody<Bytes, Infallible>;

/// Which pod subresource was requested, with its parsed path pieces.
#[derive(Debug, Clone, PartialEq)]
pub enum PodSubresource {
    Log,
    Exec,
    /// `pods/{name}/proxy/{path}` or `pods/{name}:{port}/proxy/{path}`: port (None = the first declared port) and
    /// the path after `proxy` (starting with `/`), query string excluded (it stays in the request URI).
    Proxy {
        port: Option<String>,
        path: String,
    },
}

pub trait NodeAgent: Send + Sync + 'static {
    /// `GET|POST …/namespaces/{ns}/pods/{pod}/{log|exec|proxy…}`.
    fn pod_subresource(
        &self,
        req: Request<Incoming>,
        ns: String,
        pod: String,
        sub: PodSubresource,
    ) -> BoxFuture<'static, Response<Body>>;

    /// `…/nodes/{node}/proxy/{path}` (e.g. `/stats/summary`).
    fn node_proxy(
        &self,
        req: Request<Incoming>,
        node: String,
        path: String,
    ) -> BoxFuture<'static, Response<Body>>;

    /// Grow the filesystem behind PV `pv_name` to `new_bytes`. `Ok(true)` done, `Ok(false)` not possible now
    /// (offline expansion while mounted: retry later), `Err(message)` failed.
    fn expand_volume(&self, pv_name: &str, new_bytes: u64, online: bool) -> Result<bool, String>;
}
