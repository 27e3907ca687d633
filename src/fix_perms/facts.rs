//! What fix-perms reads from inspect's one [`InstanceSnapshot`]: plain functions over it (the pod template, the
//! Prometheus container's log lines, the data claim, its volume and driver, the reads that were refused), so the
//! diagnosis and the plan decide from the same snapshot doctor's checks read, never from a copy of their own.

use crate::access::AccessRequest;
use crate::inspect::snapshot::{Data, InstanceSnapshot};
use crate::model::{PrometheusResource, WorkloadRef};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, PodSpec};
use k8s_openapi::api::storage::v1::CSIDriver;
use serde_json::Value;

/// The pod spec as the workload's template declares it (for the operator: the generated StatefulSet's, which
/// already carries the resource's securityContext and initContainers); empty when there is none.
pub fn pod_spec(s: &InstanceSnapshot) -> PodSpec {
    s.pod_spec().cloned().unwrap_or_default()
}

/// The workload whose template fix-perms changes (or, for the operator, waits on).
pub fn workload(s: &InstanceSnapshot) -> Option<&WorkloadRef> {
    s.instance.workloads.first()
}

/// The operator's `Prometheus` resource, as listed (with its resourceVersion).
pub fn prometheus_resource(s: &InstanceSnapshot) -> Option<PrometheusResource> {
    s.prometheus.clone().map(PrometheusResource::from_object)
}

/// The Prometheus container's recent log lines, each pod's previous instance first (a crash-looping container's
/// reason is there), pods in the instance's order.
pub fn log_lines(s: &InstanceSnapshot) -> Vec<String> {
    let mut logs: Vec<_> = s
        .logs
        .iter()
        .filter(|l| l.container == s.instance.container)
        .collect();
    let position = |pod: &str| s.instance.pods.iter().position(|p| p.name == pod);
    logs.sort_by_key(|l| (position(&l.pod), !l.previous));
    logs.iter()
        .flat_map(|l| l.text.lines().map(str::to_string))
        .collect()
}

/// Whether every pod of the instance is Ready (and there is one).
pub fn pods_ready(s: &InstanceSnapshot) -> bool {
    !s.instance.pods.is_empty() && s.instance.pods.iter().all(|p| p.ready)
}

/// The first data claim, as read.
pub fn claim(s: &InstanceSnapshot) -> Option<&PersistentVolumeClaim> {
    let name = s.instance.data.as_ref()?.claims().into_iter().next()?;
    s.pvcs
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(name.as_str()))
}

/// The PersistentVolume the data claim is bound to, when it could be read.
pub fn volume(s: &InstanceSnapshot) -> Option<&PersistentVolume> {
    let bound = claim(s)?.spec.as_ref()?.volume_name.as_deref()?;
    s.pvs
        .iter()
        .find(|pv| pv.metadata.name.as_deref() == Some(bound))
}

/// The `CSIDriver` object of the data volume's driver; `None` when there is none (the kubelet then uses the default
/// policy `ReadWriteOnceWithFSType`), the volume is not CSI, or the drivers could not be read ([`refused`]).
pub fn csi_driver(s: &InstanceSnapshot) -> Option<&CSIDriver> {
    let driver = volume(s)?.spec.as_ref()?.csi.as_ref()?.driver.as_str();
    s.csi_drivers
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some(driver))
}

/// Cluster-scoped reads the diagnosis needed but the user may not do (403 gaps): what they would have told is
/// unknown, and they are reviewed with the plan's changes so one refusal names them all. A refused volume counts
/// its drivers too: the volume would name its CSI driver, whose policy decides fsGroup, and most provisioned
/// volumes are CSI, so that read is reviewed now rather than found missing on the next run.
pub fn refused(s: &InstanceSnapshot) -> Vec<AccessRequest> {
    let denied = |data: Data| s.gaps.iter().any(|g| g.data == data && g.is_permission());
    let drivers = || AccessRequest::new("list", "storage.k8s.io", "csidrivers", None, None);
    let mut out = Vec::new();
    let bound = claim(s)
        .and_then(|c| c.spec.as_ref()?.volume_name.clone())
        .filter(|n| !n.is_empty());
    if let Some(name) = bound.filter(|_| volume(s).is_none() && denied(Data::Pvcs)) {
        out.push(AccessRequest::new(
            "get",
            "",
            "persistentvolumes",
            None,
            Some(&name),
        ));
        out.push(drivers());
    }
    if denied(Data::CsiDrivers) && !out.contains(&drivers()) {
        out.push(drivers());
    }
    out
}

/// The object fix-perms patches, as it was read (the `Prometheus` resource for the operator, else the workload), so
/// the first patch is planned from it instead of a second read. `None` when the snapshot does not hold it.
pub fn target_object(s: &InstanceSnapshot) -> Option<Value> {
    if let Some(resource) = &s.prometheus {
        return Some(resource.clone());
    }
    let workload = workload(s)?;
    let named = |name: Option<&String>| name == Some(&workload.name);
    s.deployments
        .iter()
        .find(|d| named(d.metadata.name.as_ref()))
        .map(|d| serde_json::to_value(d).unwrap_or_default())
        .or_else(|| {
            s.statefulsets
                .iter()
                .find(|d| named(d.metadata.name.as_ref()))
                .map(|d| serde_json::to_value(d).unwrap_or_default())
        })
}
