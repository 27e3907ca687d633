//! Where the kubelet reports to: its writes toward the API server (`node::RealBackend` sends them over HTTPS), apart
//! from its reads, which come from the node's cache (`Kubelet::cache`). The pod runner's unit tests can stand in.
use super::netns::PodNetwork;
use serde_json::Value;

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
