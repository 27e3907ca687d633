//! The workloads and pods that run an instance, as discovery names them.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    Pod,
}

impl WorkloadKind {
    /// kubectl's short resource name, for messages and hints (`deploy/x`).
    pub fn short(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deploy",
            WorkloadKind::StatefulSet => "sts",
            WorkloadKind::Pod => "pod",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRef {
    pub kind: WorkloadKind,
    pub name: String,
    /// Desired replicas (1 for a bare pod).
    pub replicas: i32,
    /// The resourceVersion it was listed at: a change planned from the listed object is preconditioned on it.
    #[serde(skip)]
    pub resource_version: Option<String>,
    /// A StatefulSet with `podManagementPolicy: OrderedReady` (the default): its controller does not replace a pod
    /// that is not Running and Ready. The operator's StatefulSets are `Parallel`.
    #[serde(skip)]
    pub ordered_ready: bool,
}

impl WorkloadRef {
    /// A Deployment as listed.
    pub fn of_deployment(d: &Deployment) -> Self {
        WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: d.metadata.name.clone().unwrap_or_default(),
            replicas: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            resource_version: d.metadata.resource_version.clone(),
            ordered_ready: false,
        }
    }

    /// A StatefulSet as listed.
    pub fn of_statefulset(s: &StatefulSet) -> Self {
        let spec = s.spec.as_ref();
        WorkloadRef {
            kind: WorkloadKind::StatefulSet,
            name: s.metadata.name.clone().unwrap_or_default(),
            replicas: spec.and_then(|s| s.replicas).unwrap_or(1),
            resource_version: s.metadata.resource_version.clone(),
            ordered_ready: spec
                .and_then(|s| s.pod_management_policy.as_deref())
                .unwrap_or("OrderedReady")
                == "OrderedReady",
        }
    }

    /// A bare pod (no controller) as listed.
    pub fn of_pod(p: &Pod) -> Self {
        WorkloadRef {
            kind: WorkloadKind::Pod,
            name: p.metadata.name.clone().unwrap_or_default(),
            replicas: 1,
            resource_version: p.metadata.resource_version.clone(),
            ordered_ready: false,
        }
    }

    /// `deploy/NAME`, `sts/NAME`, `pod/NAME`.
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind.short(), self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRef {
    pub name: String,
    /// `status.phase`, or `Unknown`.
    pub phase: String,
    /// The Ready condition is True.
    pub ready: bool,
    /// `metadata.deletionTimestamp` is set: the pod is shutting down (its phase stays `Running` through the grace
    /// period, and a finished rollout does not wait for it — the ReplicaSet no longer counts it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub terminating: bool,
}

/// A pod's controlling owner reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodController {
    pub kind: String,
    pub name: String,
}

impl PodController {
    /// Whether deleting the pod makes this owner create a replacement that mounts the same claim: a ReplicaSet (of
    /// a Deployment) or a StatefulSet. A Job, a DaemonSet or a custom owner may not, or not with our claim.
    pub fn recreates(&self) -> bool {
        matches!(self.kind.as_str(), "ReplicaSet" | "StatefulSet")
    }
}

/// The pod's controlling owner (`ownerReferences[].controller: true`), as `Kind/name`: the object that recreates the
/// pod when it is deleted, if any.
pub fn controller_of(pod: &Pod) -> Option<PodController> {
    pod.metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| PodController {
            kind: o.kind.clone(),
            name: o.name.clone(),
        })
}
