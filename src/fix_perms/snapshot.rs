//! The read-only picture fix-perms decides from: the workload's pod template, the operator's `Prometheus` resource,
//! the data volume's PVC/PV/CSIDriver (or which of them the user may not read), the Prometheus container's log
//! lines, the pods, and the data directory's owner and mode. Plain data: `gather` fills it, `diagnose` and `plan`
//! read it, tests build it.

use crate::access::AccessRequest;
use crate::model::{Flavour, PrometheusResource, WorkloadRef};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, PodSpec};
use k8s_openapi::api::storage::v1::CSIDriver;
use serde::Serialize;

/// One pod of the workload, as seen now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodState {
    pub name: String,
    pub ready: bool,
    pub node: Option<String>,
}

/// Owner and mode of the data directory (from `stat` inside the pod), when a running container could be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeRoot {
    pub uid: i64,
    pub gid: i64,
    /// Permission bits, e.g. 0o755.
    pub mode: u32,
}

impl VolumeRoot {
    /// Whether a process with this uid and these groups may create files in the directory (the kernel's rule: the
    /// owner's bits if the uid matches, else the group's bits if a group matches, else the other bits).
    pub fn writable_by(&self, uid: i64, groups: &[i64]) -> bool {
        if uid == 0 {
            return true;
        }
        let bits = if uid == self.uid {
            self.mode >> 6
        } else if groups.contains(&self.gid) {
            self.mode >> 3
        } else {
            self.mode
        };
        // Creating a file needs write and search (x) on the directory.
        bits & 0o3 == 0o3
    }
}

/// Everything fix-perms reads before deciding.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermsSnapshot {
    pub namespace: String,
    /// How it was installed, which decides what object fix-perms patches: the workload (plain manifests, the chart,
    /// whose `server.securityContext` values are printed too), or the operator's `Prometheus` resource, never the
    /// StatefulSet it generates (with kube-prometheus-stack's `prometheus.prometheusSpec.securityContext` printed
    /// when the resource carries a Helm release, `PrometheusResource::helm_release`).
    pub install: Flavour,
    /// Which chart rendered it and where its desired state lives (`src/install/`): the values keys of the note.
    #[serde(skip)]
    pub origin: crate::install::Origin,
    /// The workload as listed, with the resourceVersion every patch of it is preconditioned on.
    pub workload: WorkloadRef,
    /// Set for the operator flavour.
    pub prometheus_resource: Option<PrometheusResource>,
    /// The workload's pod template spec (for the operator: the generated StatefulSet's, which already carries the
    /// resource's securityContext and initContainers).
    #[serde(skip)]
    pub pod_spec: PodSpec,
    /// Name of the Prometheus container in `pod_spec`.
    pub container: String,
    /// The data volume's claim and volume, when it is a PVC.
    #[serde(skip)]
    pub pvc: Option<PersistentVolumeClaim>,
    #[serde(skip)]
    pub pv: Option<PersistentVolume>,
    /// The `CSIDriver` object of the PV's driver; `None` when there is none (the kubelet then uses the default
    /// policy `ReadWriteOnceWithFSType`), the PV is not CSI, or the drivers could not be read (see `unreadable`).
    #[serde(skip)]
    pub csi_driver: Option<CSIDriver>,
    /// Cluster-scoped reads the diagnosis needed but the user may not do (403): what they would have told is unknown,
    /// and they are reviewed with the plan's changes so the refusal names them too.
    pub unreadable: Vec<AccessRequest>,
    /// Recent log lines of the Prometheus container (current and previous instance).
    pub log_lines: Vec<String>,
    pub pods: Vec<PodState>,
    /// The data directory's owner/mode, if a running container could be asked.
    pub volume_root: Option<VolumeRoot>,
    /// The object the fix patches (the `Prometheus` resource for the operator, else the workload) as it was read
    /// here, so the first patch is planned from it instead of a second read. `None` in fixtures.
    #[serde(skip)]
    pub target_object: Option<serde_json::Value>,
}
