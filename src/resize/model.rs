//! The resize snapshot (everything gathered about one instance's data volumes) and the size request; plain data.

use crate::quantity::{Percent, Quantity};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How much bigger the user asked for: exactly one of `--size`, `--add`, `--increase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeRequest {
    /// `--size 1300Gi`: the new size of every data volume.
    Absolute(Quantity),
    /// `--add 100Gi`: the largest current size plus this.
    Add(Quantity),
    /// `--increase 25%`: the largest current size grown by this, rounded up to a whole Gi.
    Increase(Percent),
}

impl SizeRequest {
    /// From the three mutually exclusive flags (clap guarantees exactly one is set).
    pub fn from_flags(
        size: Option<&str>,
        add: Option<&str>,
        increase: Option<&str>,
    ) -> crate::Result<Self> {
        let request = match (size, add, increase) {
            (Some(size), None, None) => SizeRequest::Absolute(Quantity::parse_size(size)?),
            (None, Some(add), None) => SizeRequest::Add(Quantity::parse_size(add)?),
            (None, None, Some(pct)) => SizeRequest::Increase(Percent::parse(pct)?),
            _ => {
                return Err(crate::Error::usage(
                    "give exactly one of --size, --add or --increase",
                    Some("e.g. `kubectl prom resize --add 100Gi`".to_string()),
                ));
            }
        };
        match request {
            SizeRequest::Absolute(q) | SizeRequest::Add(q) if q.bytes() <= 0 => {
                Err(crate::Error::usage(
                    format!("`{}` is not a positive size", q.size_text()),
                    Some("resize only grows volumes; give a size larger than 0".to_string()),
                ))
            }
            _ => Ok(request),
        }
    }

    /// The target size, given the largest size any claim has now: exact (the plan rounds it up to a whole byte with
    /// `Quantity::whole_bytes` and says so), and never more than a volume can be (`quantity::MAX_BYTES`).
    pub fn target(&self, current: Quantity) -> crate::Result<Quantity> {
        let overflow = || {
            crate::Error::usage(
                format!(
                    "{} on {current} gives more than any volume can be: Kubernetes and CSI hold sizes as 64-bit byte counts, at most 8Ei - 1 byte",
                    self.flag()
                ),
                Some("ask for a size the storage can provide, e.g. --increase 25%".to_string()),
            )
        };
        let target = match self {
            SizeRequest::Absolute(q) => *q,
            SizeRequest::Add(q) => current.checked_add(q).ok_or_else(overflow)?,
            SizeRequest::Increase(p) => current.increase_by_percent(p).map_err(|_| overflow())?,
        };
        if target.fits_a_volume() {
            Ok(target)
        } else {
            Err(overflow())
        }
    }

    /// How the request reads in messages: `--size 1300Gi`.
    pub fn flag(&self) -> String {
        match self {
            SizeRequest::Absolute(q) => format!("--size {}", q.size_text()),
            SizeRequest::Add(q) => format!("--add {}", q.size_text()),
            SizeRequest::Increase(p) => format!("--increase {p}"),
        }
    }
}

/// How the instance was installed, as far as resizing is concerned: it decides which objects the plan changes.
#[derive(Debug, Clone)]
pub enum Install {
    /// A Deployment (hand-made or the chart's default) or a bare pod: its one claim is patched.
    Deployment { name: String },
    /// A bare pod mounting a claim.
    Pod { name: String },
    /// A StatefulSet not managed by the operator (chart `server.statefulSet.enabled`, or hand-made):
    /// claims come from `template` (the volumeClaimTemplate name), and the object itself is recreated.
    StatefulSet {
        object: Box<StatefulSet>,
        template: String,
    },
    /// A `monitoring.coreos.com/v1` `Prometheus` resource owning the StatefulSet(s).
    Operator {
        /// The `Prometheus` resource's name.
        name: String,
        resource_version: String,
        paused: bool,
        /// `spec.storage.volumeClaimTemplate.spec.resources.requests.storage`, if set.
        storage_request: Option<String>,
        /// The StatefulSets the operator generated for it (one per shard).
        statefulsets: Vec<StatefulSetRef>,
    },
}

/// A StatefulSet to orphan-delete, with what makes the delete preconditioned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetRef {
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    /// The storage request of its (first) claim template, when read from an operator-generated StatefulSet: an
    /// operator resize is settled once it matches the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_storage: Option<String>,
}

/// The pod that mounts a claim, as far as resizing cares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimPod {
    pub name: String,
    /// To tell afterwards whether this very pod kept running.
    pub uid: String,
    pub ready: bool,
    /// Waiting in CrashLoopBackOff.
    pub crash_looping: bool,
    /// The last termination's log/message says `no space left on device`.
    pub full_disk: bool,
    /// The container that mounts the volume, and where (for the `df` fallback and verification).
    pub container: String,
    pub mount_path: String,
    pub node: Option<String>,
    /// The pod's controlling owner: only a pod a controller recreates may be restarted (deleted) by resize.
    pub controller: Option<PodController>,
}

// Defined with the model (the engine restarts owned pods by it too).
pub use crate::model::PodController;

/// Filesystem usage of a mounted claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub capacity_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub source: UsageSource,
}

/// Where a usage figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UsageSource {
    /// The kubelet's `/stats/summary` through `nodes/proxy`.
    StatsSummary,
    /// `df` run in the container.
    Df,
}

impl Usage {
    /// Used share of the filesystem, in percent (rounded down).
    pub fn used_percent(&self) -> u64 {
        if self.capacity_bytes == 0 {
            return 0;
        }
        // Same basis as `df`: used / (used + available), which excludes reserved blocks.
        let basis = (self.used_bytes + self.available_bytes).max(1);
        self.used_bytes.saturating_mul(100) / basis
    }

    /// Less than 15% free: the KubePersistentVolumeFillingUp warning threshold (kube-prometheus-stack rules).
    pub fn nearly_full(&self) -> bool {
        self.capacity_bytes > 0
            && self.available_bytes.saturating_mul(100) < self.capacity_bytes * 15
    }
}

/// One data claim and what is known about it.
#[derive(Debug, Clone)]
pub struct Claim {
    pub pvc: PersistentVolumeClaim,
    pub pod: Option<ClaimPod>,
    pub usage: Option<Usage>,
}

/// Everything the planner reads; gathered once (gather.rs), never re-read while planning.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub namespace: String,
    /// How the user would name the instance, e.g. `deploy/prometheus-server`.
    pub instance: String,
    pub install: Install,
    /// The Helm release, when the prometheus-community chart installed it.
    pub chart_release: Option<String>,
    /// Which chart and source of truth own the install object (`src/install/`): the note after the resize.
    pub origin: crate::install::Origin,
    pub claims: Vec<Claim>,
    /// StorageClasses by name (only the ones the claims use).
    pub classes: BTreeMap<String, StorageClass>,
    /// Classes the claims use that the user may not read (403): whether they allow expansion is unknown, and their
    /// `get` is reviewed with the plan's changes.
    pub forbidden_classes: BTreeSet<String>,
}
