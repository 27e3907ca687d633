//! The scheduler: binds every unscheduled pod to the one node and records the `Scheduled` event
//! (pkg/scheduler/schedule_one.go: `Successfully assigned NS/POD to NODE`).
use super::{is_deleting, name_of, ns_of};
use crate::bootstrap::NODE_NAME;
use crate::server::ApiServer;
use serde_json::json;

pub fn reconcile(api: &ApiServer) {
    let (pods, _) = api.store.list("pods", None);
    for p in pods.iter().filter(|p| {
        p["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
            && !is_deleting(p)
    }) {
        let now = crate::clock::now_rfc3339();
        let Ok(bound) = api.store.mutate("pods", ns_of(p), name_of(p), |p| {
            p["spec"]["nodeName"] = json!(NODE_NAME);
            let conds = p["status"]["conditions"].as_array().cloned().unwrap_or_default();
            let mut conds: Vec<_> = conds.into_iter().filter(|c| c["type"] != "PodScheduled").collect();
            conds.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}));
            p["status"]["conditions"] = json!(conds);
        }) else {
            continue;
        };
        api.store.record_event(
            &bound,
            "Scheduled",
            &format!(
                "Successfully assigned {}/{} to {NODE_NAME}",
                ns_of(p),
                name_of(p)
            ),
            "Normal",
            "default-scheduler",
        );
    }
}
