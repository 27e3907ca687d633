//! What resize reads from the one [`InstanceSnapshot`] (its install, its claims with their pods and usage: pure
//! views, not another snapshot) and the size request; plain data and pure functions.

use crate::discover::{DataSource, Flavour, WorkloadKind};
use crate::inspect::snapshot::InstanceSnapshot;
use crate::inspect::usage::VolumeUsage;
use crate::quantity::{Percent, Quantity};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use serde::Serialize;

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

// The one usage figure of a claim (the kubelet's stats summary, or `df`), read by inspect.
pub use crate::inspect::usage::{Usage, UsageSource};

/// One data claim and what is known about it.
#[derive(Debug, Clone)]
pub struct Claim {
    pub pvc: PersistentVolumeClaim,
    pub pod: Option<ClaimPod>,
    pub usage: Option<Usage>,
}

/// The install as resize sees it, from the snapshot's install objects (pure): the operator's resource and the
/// StatefulSets it generated, a StatefulSet with a claim template, a bare pod, else a Deployment (or a StatefulSet
/// whose data is a plain claim volume: its claim alone is patched).
pub fn install_of(s: &InstanceSnapshot) -> Install {
    let instance = &s.instance;
    match (&instance.flavour, instance.workloads.first()) {
        (Flavour::Operator { prometheus }, _) => {
            let resource = s
                .prometheus
                .clone()
                .map(crate::model::PrometheusResource::from_object);
            let spec = resource.as_ref().map(|r| &r.spec);
            Install::Operator {
                name: prometheus.clone(),
                resource_version: resource
                    .as_ref()
                    .and_then(|r| r.resource_version.clone())
                    .unwrap_or_default(),
                paused: spec
                    .and_then(|s| s.get("paused"))
                    .and_then(|p| p.as_bool())
                    .unwrap_or(false),
                storage_request: spec
                    .and_then(|s| {
                        s.pointer("/storage/volumeClaimTemplate/spec/resources/requests/storage")
                    })
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                statefulsets: s.statefulsets.iter().map(statefulset_ref).collect(),
            }
        }
        (_, Some(w)) if w.kind == WorkloadKind::StatefulSet => {
            let template = match instance.data.as_ref().map(|d| &d.source) {
                Some(DataSource::ClaimTemplate { template, .. }) => template.clone(),
                _ => String::new(),
            };
            let object = s
                .statefulsets
                .iter()
                .find(|o| o.metadata.name.as_deref() == Some(w.name.as_str()));
            match object {
                Some(object) if !template.is_empty() => Install::StatefulSet {
                    object: Box::new(object.clone()),
                    template,
                },
                // A StatefulSet whose data is a plain claim volume: patch the claim only.
                _ => Install::Deployment {
                    name: w.name.clone(),
                },
            }
        }
        (_, Some(w)) if w.kind == WorkloadKind::Pod => Install::Pod {
            name: w.name.clone(),
        },
        (_, w) => Install::Deployment {
            name: w
                .map(|w| w.name.clone())
                .unwrap_or_else(|| instance.name.clone()),
        },
    }
}

/// A generated StatefulSet as the operator plan holds it (what its orphan delete is preconditioned on, and the size
/// its first claim template asks for).
fn statefulset_ref(sts: &StatefulSet) -> StatefulSetRef {
    StatefulSetRef {
        template_storage: sts
            .spec
            .as_ref()
            .and_then(|s| s.volume_claim_templates.as_ref()?.first()?.spec.as_ref())
            .and_then(|t| t.resources.as_ref()?.requests.as_ref()?.get("storage"))
            .map(|q| q.0.clone()),
        name: sts.metadata.name.clone().unwrap_or_default(),
        uid: sts.metadata.uid.clone().unwrap_or_default(),
        resource_version: sts.metadata.resource_version.clone().unwrap_or_default(),
    }
}

/// Each data claim with the pod that mounts it and its usage (the kubelet's row, else `df`'s), in the snapshot's
/// order (by name); pure.
pub fn claims_of(s: &InstanceSnapshot) -> Vec<Claim> {
    let ns = s.instance.namespace.as_str();
    s.pvcs
        .iter()
        .map(|pvc| {
            let name = pvc.metadata.name.as_deref().unwrap_or_default();
            let pod = s
                .pods
                .iter()
                .find(|p| crate::inspect::instance::mounts_claim(p, name))
                .map(|p| claim_pod(s, p));
            let usage = pod.as_ref().and_then(|_| {
                VolumeUsage::of_claim(&s.usage, ns, name)
                    .map(|row| row.usage(UsageSource::StatsSummary))
                    .or_else(|| s.df_usage.get(name).copied())
            });
            Claim {
                pvc: pvc.clone(),
                pod,
                usage,
            }
        })
        .collect()
}

/// The pod's state as far as resize cares (pure): ready, crash-looping, and whether its last termination message or
/// its logs say the disk is full.
pub fn claim_pod(s: &InstanceSnapshot, pod: &Pod) -> ClaimPod {
    let instance = &s.instance;
    let name = pod.metadata.name.clone().unwrap_or_default();
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    let status = statuses.iter().find(|c| c.name == instance.container);
    let waiting_in_back_off = status
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref())
        == Some("CrashLoopBackOff");
    let last_terminated = status
        .and_then(|c| c.last_state.as_ref())
        .and_then(|s| s.terminated.as_ref());
    let container_ready = status.is_some_and(|c| c.ready);
    let restarted = status.is_some_and(|c| c.restart_count > 0);
    // Between two back-offs the container may be starting again: a failed last run of a container that is not
    // ready counts too.
    let crash_looping = waiting_in_back_off
        || (restarted && !container_ready && last_terminated.is_some_and(|t| t.exit_code != 0));
    let termination_message = last_terminated
        .and_then(|t| t.message.clone())
        .unwrap_or_default();
    let disk_full =
        |text: &str| crate::logscan::find_last(text, crate::logscan::Kind::DiskFull).is_some();
    // The previous run's log, or the current one (a container that just exited has it there).
    let full_disk = disk_full(&termination_message)
        || s.logs
            .iter()
            .filter(|l| l.pod == name && l.container == instance.container)
            .any(|l| disk_full(&l.text));
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    ClaimPod {
        name,
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        ready,
        crash_looping,
        full_disk,
        container: instance.container.clone(),
        mount_path: instance
            .data
            .as_ref()
            .map(|d| d.mount_path.clone())
            .unwrap_or_default(),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        controller: crate::model::controller_of(pod),
    }
}

/// The Helm release, when the prometheus-community chart installed it.
pub fn chart_release(s: &InstanceSnapshot) -> Option<String> {
    match &s.instance.flavour {
        Flavour::Chart { release, .. } => Some(release.clone()),
        _ => None,
    }
}

/// A StorageClass the claims use, as the snapshot has it.
pub fn class<'a>(s: &'a InstanceSnapshot, name: &str) -> Option<&'a StorageClass> {
    s.storage_classes
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::snapshot::{ContainerLog, Data, Gap, Objects, assemble};
    use serde_json::json;

    /// The chart's Deployment fixture as the one gather would hand it over, with a pod mounting its claim.
    fn chart_deployment(pod_status: serde_json::Value) -> InstanceSnapshot {
        let path = format!(
            "{}/tests/fixtures/resize/chart-deployment-ebs.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let objects = Objects::from_yaml(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut s = assemble(&objects).remove(0);
        s.pods.push(
            serde_json::from_value(json!({
                "metadata": {"name": "prometheus-server-7d-x", "namespace": "monitoring", "uid": "pod-1",
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "prometheus-server-7d",
                        "uid": "rs-1", "controller": true}]},
                "spec": {"nodeName": "node-1", "containers": [{"name": "prometheus-server"}],
                    "volumes": [{"name": "storage-volume", "persistentVolumeClaim": {"claimName": "prometheus-server"}}]},
                "status": pod_status,
            }))
            .unwrap(),
        );
        s
    }

    fn crash_looping(message: &str) -> serde_json::Value {
        json!({"containerStatuses": [{"name": "prometheus-server", "ready": false, "restartCount": 3,
            "image": "", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "message": message}}}]})
    }

    /// A full disk is told from the termination message, or from the container's logs the gather read (the one
    /// log reader's rows), and only from the Prometheus container's own.
    #[test]
    fn a_full_disk_is_read_from_the_termination_message_or_the_logs() {
        let line = "err=\"open /data/wal/00000042: no space left on device\"";
        let s = chart_deployment(crash_looping(line));
        let pod = claim_pod(&s, &s.pods[0]);
        assert!(pod.crash_looping && pod.full_disk, "{pod:?}");
        assert_eq!(
            pod.controller.as_ref().map(|c| c.kind.as_str()),
            Some("ReplicaSet")
        );

        let mut s = chart_deployment(crash_looping(""));
        assert!(!claim_pod(&s, &s.pods[0]).full_disk);
        let log = |container: &str| ContainerLog {
            pod: "prometheus-server-7d-x".into(),
            container: container.into(),
            previous: true,
            text: format!("level=error {line}\n"),
        };
        s.logs.push(log("configmap-reload"));
        assert!(!claim_pod(&s, &s.pods[0]).full_disk, "a sidecar's log");
        s.logs.push(log("prometheus-server"));
        assert!(claim_pod(&s, &s.pods[0]).full_disk);
    }

    /// Usage: the kubelet's row first, `df`'s where it has none, and none for a claim no pod mounts.
    #[test]
    fn a_claims_usage_is_the_kubelets_row_else_df() {
        let mut s = chart_deployment(json!({}));
        let df = Usage {
            capacity_bytes: 10,
            used_bytes: 9,
            available_bytes: 1,
            source: UsageSource::Df,
        };
        s.df_usage.insert("prometheus-server".into(), df);
        assert_eq!(claims_of(&s)[0].usage, Some(df));
        s.usage.push(VolumeUsage {
            pod: "prometheus-server-7d-x".into(),
            namespace: "monitoring".into(),
            volume: "storage-volume".into(),
            pvc: Some("prometheus-server".into()),
            capacity_bytes: 1000,
            used_bytes: 10,
            available_bytes: 990,
        });
        let usage = claims_of(&s)[0].usage.unwrap();
        assert_eq!(
            (usage.capacity_bytes, usage.source),
            (1000, UsageSource::StatsSummary)
        );
        s.pods.clear();
        assert_eq!(claims_of(&s)[0].usage, None);
    }

    /// A class is unknown (forbidden) only when its read was refused for lack of permission; a 500 is not that.
    #[test]
    fn only_a_refused_class_read_is_a_forbidden_class() {
        let mut s = chart_deployment(json!({}));
        let gap = |class: &str, status| Gap {
            data: Data::StorageClasses,
            reason: "x".into(),
            request: Some(crate::inspect::instance::class_request(class)),
            status: Some(status),
        };
        s.gaps.push(gap("gp3", 403));
        s.gaps.push(gap("other", 500));
        let forbidden = crate::inspect::instance::forbidden_classes(&s);
        assert_eq!(forbidden.into_iter().collect::<Vec<_>>(), ["gp3"]);
    }
}
