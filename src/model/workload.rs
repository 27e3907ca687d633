//! The workloads and pods that run an instance, as discovery names them.

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
}

impl WorkloadRef {
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
}
