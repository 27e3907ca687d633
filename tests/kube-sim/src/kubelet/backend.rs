//! Where the kubelet reports to: the seam that lets the same pod runner serve the simulated API server (writes go
//! straight into its store) and the real kube-apiserver (issue 16: `node::RealBackend` sends them over HTTPS while
//! the kubelet reads a local mirror of what it watches). Reads stay on `Kubelet::store` in both cases.
use super::netns::PodNetwork;
use crate::store::Store;
use serde_json::Value;
use std::sync::Arc;

pub trait NodeBackend: Send + Sync + 'static {
    /// The pod's status as the kubelet computed it (phase, conditions without PodScheduled, containerStatuses, IPs).
    fn pod_status(&self, ns: &str, name: &str, status: Value);
    /// An Event from the kubelet about `involved` (kind/apiVersion/metadata of the object).
    fn event(&self, involved: &Value, reason: &str, message: &str, type_: &str);
    /// A pod marked for deletion: the kubelet's final delete (grace 0, the pod's uid as precondition,
    /// pkg/kubelet/status/status_manager.go `canBeDeleted`) once its containers are gone — `stopped` turns true then
    /// (None: the pod was not running here when this deletion was seen).
    fn pod_terminated(
        &self,
        ns: &str,
        name: &str,
        uid: &str,
        stopped: Option<tokio::sync::watch::Receiver<bool>>,
    );
    /// The pod's IP once its network namespace exists; `n` counts pods started on this node.
    fn pod_ip(&self, net: &PodNetwork, n: u32) -> Result<String, String>;
}

/// The simulated API server's store as the kubelet's API.
pub struct StoreBackend(pub Arc<Store>);

impl NodeBackend for StoreBackend {
    fn pod_status(&self, ns: &str, name: &str, status: Value) {
        let _ = self.0.mutate_status("pods", ns, name, |obj| {
            let scheduled: Vec<Value> = obj["status"]["conditions"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter(|c| c["type"] == "PodScheduled")
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let mut next = status.clone();
            let mut conditions = scheduled;
            if let Some(own) = next["conditions"].as_array() {
                conditions.extend(own.iter().cloned());
            }
            next["conditions"] = Value::Array(conditions);
            if let Some(q) = obj["status"].get("qosClass") {
                next["qosClass"] = q.clone();
            }
            obj["status"] = next;
        });
    }

    fn event(&self, involved: &Value, reason: &str, message: &str, type_: &str) {
        self.0
            .record_event(involved, reason, message, type_, "kubelet");
    }

    /// The simulated API server deletes 200 ms after the mark, containers stopped or not (its tests' timing).
    fn pod_terminated(
        &self,
        ns: &str,
        name: &str,
        _uid: &str,
        _stopped: Option<tokio::sync::watch::Receiver<bool>>,
    ) {
        let (store, ns, name) = (self.0.clone(), ns.to_string(), name.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let _ = store.delete("pods", &ns, &name, false);
        });
    }

    /// Simulated pods are reached through their namespace (setns), so the IP is only a label.
    fn pod_ip(&self, _net: &PodNetwork, n: u32) -> Result<String, String> {
        Ok(format!("10.244.0.{}", n % 250 + 2))
    }
}
