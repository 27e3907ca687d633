//! The control plane's controllers, run in one loop: after any store change (and at least every 500 ms) each
//! controller reconciles everything it owns. Reconcilers are idempotent and write only real changes (the store
//! ignores no-op writes), so the loop converges. Each controller is a plain function over the API server, so
//! unit tests drive them step by step from fixtures.
pub mod deployment;
pub mod endpoints;
pub mod gc;
pub mod namespaces;
pub mod operator;
pub mod scheduler;
pub mod statefulset;
pub mod volumes;

use crate::server::ApiServer;
use std::sync::Arc;
use std::time::Duration;

/// One pass of every controller, in dependency order.
pub fn reconcile_all(api: &ApiServer) {
    namespaces::reconcile(api);
    operator::reconcile(api);
    deployment::reconcile(api);
    statefulset::reconcile(api);
    volumes::reconcile(api);
    scheduler::reconcile(api);
    endpoints::reconcile(api);
    gc::reconcile(api);
}

pub fn start(api: Arc<ApiServer>) {
    let mut rx = api.store.subscribe();
    tokio::spawn(async move {
        loop {
            let _ = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
            // Coalesce a burst of events into one pass.
            while rx.try_recv().is_ok() {}
            reconcile_all(&api);
        }
    });
}

/// Create through the API's normal path (admission and validation included), as a controller's client would.
pub fn create(
    api: &ApiServer,
    key: &str,
    ns: &str,
    obj: serde_json::Value,
) -> crate::status::ApiResult<serde_json::Value> {
    let rt = api
        .registry
        .by_key(key)
        .ok_or_else(|| crate::status::ApiError::internal(format!("{key} is not served")))?;
    crate::rest::create(api, &rt, ns, obj, false, None)
}

/// The ownerReference a controller puts on what it creates.
pub fn owner_ref(owner: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
    })
}

/// Is `obj` controlled by `owner` (an ownerReference with its uid and controller: true)?
pub fn controlled_by(obj: &serde_json::Value, owner: &serde_json::Value) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["uid"] == owner["metadata"]["uid"] && r["controller"] == true)
}

pub fn name_of(o: &serde_json::Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn ns_of(o: &serde_json::Value) -> &str {
    o["metadata"]["namespace"].as_str().unwrap_or_default()
}

pub fn is_deleting(o: &serde_json::Value) -> bool {
    o["metadata"]["deletionTimestamp"].is_string()
}

/// Pod readiness as the Ready condition says.
pub fn pod_ready(p: &serde_json::Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

#[cfg(test)]
pub mod testing {
    use crate::kubeconfig::Tokens;
    use crate::registry::Registry;
    use crate::server::{ApiServer, Knobs};
    use crate::store::Store;
    use std::sync::Arc;

    /// An API server with the base objects and no listener, for driving controllers in unit tests.
    pub fn api() -> Arc<ApiServer> {
        let api = ApiServer::new(
            Arc::new(Store::new()),
            Arc::new(Registry::default()),
            Tokens::generate(),
            Knobs::default(),
        );
        for o in crate::bootstrap::base_objects() {
            crate::bootstrap::apply_object(&api, o).unwrap();
        }
        api.store
            .create("nodes", "", crate::bootstrap::node_object(), false)
            .unwrap();
        api
    }

    /// Run the controllers until nothing changes (at most `n` passes).
    pub fn settle(api: &ApiServer, n: usize) {
        for _ in 0..n {
            let before = api.store.current_rv();
            super::reconcile_all(api);
            if api.store.current_rv() == before {
                return;
            }
        }
    }
}
