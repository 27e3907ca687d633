//! One instance read for a verb that changes it, driven by what the verb needs ([`Needs`]), into the one
//! [`InstanceSnapshot`]; and the re-reads of the same objects a verb makes while it follows its change (the claims
//! now, their events, the pods that mount a claim, a pod's uid, a claim's filesystem usage, its volume's CSI driver). Doctor's scope-wide read
//! is `gather.rs`; both fill the same snapshot and name what could not be read as a [`Gap`].

use crate::context::Ctx;
use crate::discover::{self, Discovered, Flavour, Instance, WorkloadKind};
use crate::error::{Error, Result};
use crate::inspect::snapshot::{Data, Gap, InstanceSnapshot};
use crate::inspect::usage::{self, Usage, UsageSource, VolumeUsage};
use futures::future::{join_all, try_join_all};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod, PodSpec};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams};
use std::collections::{BTreeMap, BTreeSet};

/// What a verb needs read about its instance besides the instance's own objects (its workloads, pods and
/// `Prometheus` resource, always read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The data claims (by name, and the operator's by its label) and the StorageClasses they use; a class the user
    /// may not read is a gap (`Data::StorageClasses`), the rest of the read goes on.
    pub claims: bool,
    /// Each claim's filesystem usage: the kubelet's stats summary, `df` in the container where it has none.
    pub usage: bool,
    /// The recent logs of Prometheus containers that restarted (a crash on a full disk says so there).
    pub crash_logs: bool,
}

impl Needs {
    /// `resize`: the claims, their classes and usage, and whether a pod crash-loops on a full disk.
    pub const RESIZE: Needs = Needs {
        claims: true,
        usage: true,
        crash_logs: true,
    };
}

/// Read one instance for a verb, in concurrent rounds (each request of a round is sent at once): first the install
/// objects, the pods and the claims; then what those name — the claims' StorageClasses, the kubelets' volume stats,
/// the restarted containers' logs — with `df` in the container only where a kubelet gave no stats.
///
/// With `listed` (what discovery read), the pods, the StatefulSet(s) and the `Prometheus` resource are taken as
/// listed instead of read again (their resourceVersions precondition the changes, so one that moved since is a
/// 409); without it (a re-plan after a 409) everything is read afresh.
pub async fn gather(
    ctx: &Ctx,
    instance: &Instance,
    listed: Option<&Discovered>,
    needs: Needs,
) -> Result<InstanceSnapshot> {
    let ns = instance.namespace.as_str();
    let (install, pods, claims) = futures::try_join!(
        install_objects(ctx, instance, listed),
        instance_pods(ctx, instance, listed),
        async {
            if needs.claims {
                data_claims(ctx, instance).await
            } else {
                Ok(Vec::new())
            }
        }
    )?;
    let mut s = InstanceSnapshot::new(instance.clone());
    (s.statefulsets, s.prometheus) = install;
    s.deployments = listed.map(|d| d.deployments.clone()).unwrap_or_default();
    s.pods = pods;
    s.pvcs = claims;

    // Round 2.
    let class_names: BTreeSet<String> = s
        .pvcs
        .iter()
        .filter_map(|pvc| pvc.spec.as_ref()?.storage_class_name.clone())
        .filter(|class| !class.is_empty())
        .collect();
    let class_reads = join_all(class_names.iter().map(|class| async move {
        let api: Api<StorageClass> = Api::all(ctx.client.clone());
        (class.clone(), api.get_opt(class).await)
    }));
    let mounting: Vec<&Pod> = s
        .pvcs
        .iter()
        .filter_map(|pvc| {
            let name = pvc.metadata.name.as_deref()?;
            s.pods.iter().find(|p| mounts_claim(p, name))
        })
        .collect();
    let nodes: BTreeSet<String> = if needs.usage {
        mounting
            .iter()
            .filter_map(|pod| pod.spec.as_ref()?.node_name.clone())
            .collect()
    } else {
        BTreeSet::new()
    };
    let summary_reads = join_all(
        nodes
            .iter()
            .map(|node| async move { (node.clone(), usage::node_stats(&ctx.client, node).await) }),
    );
    let log_reads = join_all(
        mounting
            .iter()
            .filter(|pod| needs.crash_logs && restarted_without_disk_full_message(instance, pod))
            .map(|pod| crate::inspect::gather::pod_logs(&ctx.client, instance, pod, false)),
    );
    let (class_reads, summary_reads, log_reads) =
        futures::join!(class_reads, summary_reads, log_reads);
    for (class, read) in class_reads {
        match read {
            Ok(Some(sc)) => s.storage_classes.push(sc),
            Ok(None) => {}
            // A namespace-only user may not read classes (cluster-scoped): a gap naming the class, so the plan
            // says it is unknown whether it expands and the permission review asks for its `get`.
            Err(kube::Error::Api(status)) if status.is_forbidden() => {
                ctx.printer.debug(&format!(
                    "not allowed to read storageclass {class}; it is reviewed with the plan's permissions"
                ));
                s.gaps.push(Gap::from_kube(
                    Data::StorageClasses,
                    class_request(&class),
                    &kube::Error::Api(status),
                ));
            }
            Err(err) => return Err(Error::kube(format!("get storageclass {class}"))(err)),
        }
    }
    for (node, read) in summary_reads {
        match read {
            Ok(rows) => s.usage.extend(rows),
            Err(gap) => {
                ctx.printer.debug(&format!(
                    "no stats summary from node {node} ({}; needs get on nodes/proxy); trying df in the container",
                    gap.reason
                ));
                s.gaps.push(gap);
            }
        }
    }
    for (logs, gap) in log_reads {
        s.logs.extend(logs);
        s.gaps.extend(gap);
    }

    // Round 3: `df` only for claims the summaries do not cover.
    if needs.usage {
        let mount_path = instance
            .data
            .as_ref()
            .map(|d| d.mount_path.clone())
            .unwrap_or_default();
        let uncovered: Vec<(String, &Pod)> = s
            .pvcs
            .iter()
            .filter_map(|pvc| {
                let name = pvc.metadata.name.clone()?;
                let pod = s.pods.iter().find(|p| mounts_claim(p, &name))?;
                VolumeUsage::of_claim(&s.usage, ns, &name)
                    .is_none()
                    .then_some((name, pod))
            })
            .collect();
        let measured = join_all(uncovered.iter().map(|(claim, pod)| {
            let mount_path = mount_path.clone();
            async move {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let usage = usage::df(
                    ctx.exec.as_ref(),
                    ns,
                    &name,
                    &instance.container,
                    &mount_path,
                )
                .await;
                (claim.clone(), usage)
            }
        }))
        .await;
        s.df_usage = measured
            .into_iter()
            .filter_map(|(claim, usage)| Some((claim, usage?)))
            .collect();
    }
    Ok(s)
}

/// The request a StorageClass read is, as its gap names it (so the class it was about can be told).
pub fn class_request(class: &str) -> String {
    format!("GET /apis/storage.k8s.io/v1/storageclasses/{class}")
}

/// The classes the snapshot could not read for lack of permission (their gap names them).
pub fn forbidden_classes(s: &InstanceSnapshot) -> BTreeSet<String> {
    s.gaps
        .iter()
        .filter(|g| g.data == Data::StorageClasses && g.is_permission())
        .filter_map(|g| {
            g.request
                .as_deref()?
                .strip_prefix("GET /apis/storage.k8s.io/v1/storageclasses/")
                .map(str::to_string)
        })
        .collect()
}

/// A Prometheus container that restarted, whose last termination message does not already say the disk is full:
/// its logs say why it stopped.
fn restarted_without_disk_full_message(instance: &Instance, pod: &Pod) -> bool {
    let status = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|st| st.iter().find(|c| c.name == instance.container));
    let message = status
        .and_then(|c| c.last_state.as_ref()?.terminated.as_ref()?.message.clone())
        .unwrap_or_default();
    status.is_some_and(|c| c.restart_count > 0)
        && crate::logscan::find_last(&message, crate::logscan::Kind::DiskFull).is_none()
}

/// The StatefulSet(s) and the `Prometheus` resource (as JSON) the install is made of: as listed, else read.
async fn install_objects(
    ctx: &Ctx,
    instance: &Instance,
    listed: Option<&Discovered>,
) -> Result<(Vec<StatefulSet>, Option<serde_json::Value>)> {
    let ns = instance.namespace.as_str();
    let operator = matches!(instance.flavour, Flavour::Operator { .. });
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
    let reads = instance
        .workloads
        .iter()
        .filter(|w| w.kind == WorkloadKind::StatefulSet)
        .map(|w| {
            let api = api.clone();
            async move {
                let as_listed = listed.and_then(|d| {
                    d.statefulsets
                        .iter()
                        .find(|s| s.metadata.name.as_deref() == Some(w.name.as_str()))
                        .cloned()
                });
                match as_listed {
                    Some(sts) => Ok(Some(sts)),
                    // The operator's StatefulSet may be gone (orphan-deleted by a resize cut short): not an error.
                    None if operator => api
                        .get_opt(&w.name)
                        .await
                        .map_err(Error::kube(format!("get statefulset {ns}/{}", w.name))),
                    None => api
                        .get(&w.name)
                        .await
                        .map(Some)
                        .map_err(Error::kube(format!("get statefulset {ns}/{}", w.name))),
                }
            }
        });
    let resource = async {
        let Flavour::Operator { prometheus } = &instance.flavour else {
            return Ok(None);
        };
        if let Some(resource) = listed.and_then(|d| d.prometheus_resource.as_ref()) {
            return Ok(Some(resource.object.clone()));
        }
        let object = discover::prometheus_api(&ctx.client, ns)
            .get(prometheus)
            .await
            .map_err(Error::kube(format!("get prometheus {ns}/{prometheus}")))?;
        Ok(Some(serde_json::to_value(&object).unwrap_or_default()))
    };
    let (statefulsets, resource) = futures::try_join!(try_join_all(reads), resource)?;
    Ok((statefulsets.into_iter().flatten().collect(), resource))
}

/// The instance's pods: as listed, else read again by name (one gone since is left out).
async fn instance_pods(
    ctx: &Ctx,
    instance: &Instance,
    listed: Option<&Discovered>,
) -> Result<Vec<Pod>> {
    if let Some(d) = listed {
        return Ok(d.pods.clone());
    }
    let ns = instance.namespace.as_str();
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let read = try_join_all(instance.pods.iter().map(|pod| {
        let pods = pods.clone();
        async move {
            pods.get_opt(&pod.name)
                .await
                .map_err(Error::kube(format!("get pod {ns}/{}", pod.name)))
        }
    }))
    .await?;
    Ok(read.into_iter().flatten().collect())
}

/// The data claims, sorted by name: each one the data volume names, and for the operator every claim carrying its
/// label (its documented procedure finds them so, prometheus-facts §5.3 step 3). A named claim that does not exist
/// (a replica never created) is left out, and said.
async fn data_claims(ctx: &Ctx, instance: &Instance) -> Result<Vec<PersistentVolumeClaim>> {
    let ns = instance.namespace.as_str();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
    let mut names: Vec<String> = instance
        .data
        .as_ref()
        .map(|d| d.claims())
        .unwrap_or_default();
    names.sort();
    let labelled = async {
        match &instance.flavour {
            Flavour::Operator { prometheus } => {
                let selector = format!("{}={prometheus}", discover::OPERATOR_NAME_LABEL);
                pvcs.list(&ListParams::default().labels(&selector))
                    .await
                    .map(|list| list.items)
                    .map_err(Error::kube(format!(
                        "list persistentvolumeclaims -l {selector} in {ns}"
                    )))
            }
            _ => Ok(Vec::new()),
        }
    };
    let named = try_join_all(names.iter().map(|name| {
        let pvcs = pvcs.clone();
        async move {
            pvcs.get_opt(name)
                .await
                .map(|pvc| (name.clone(), pvc))
                .map_err(Error::kube(format!(
                    "get persistentvolumeclaim {ns}/{name}"
                )))
        }
    }));
    let (labelled, named) = futures::try_join!(labelled, named)?;
    let mut found: BTreeMap<String, PersistentVolumeClaim> = BTreeMap::new();
    for (name, pvc) in named {
        match pvc {
            Some(pvc) => {
                found.insert(name, pvc);
            }
            // A replica that was never created has no claim yet: nothing to grow.
            None => ctx.printer.warn(&format!(
                "claim {ns}/{name} does not exist (yet); it is left out"
            )),
        }
    }
    for pvc in labelled {
        found.insert(pvc.metadata.name.clone().unwrap_or_default(), pvc);
    }
    Ok(found.into_values().collect())
}

/// Whether the pod has a volume backed by this claim.
pub fn mounts_claim(pod: &Pod, claim: &str) -> bool {
    volume_for_claim(pod.spec.as_ref(), claim).is_some()
}

/// The name of the pod volume backed by `claim`.
fn volume_for_claim(spec: Option<&PodSpec>, claim: &str) -> Option<String> {
    spec?.volumes.as_ref()?.iter().find_map(|v| {
        v.persistent_volume_claim
            .as_ref()
            .filter(|c| c.claim_name == claim)
            .map(|_| v.name.clone())
    })
}

/// The container that mounts `claim`, and where.
fn mount_of(spec: &PodSpec, claim: &str) -> Option<(String, String)> {
    let volume = volume_for_claim(Some(spec), claim)?;
    spec.containers.iter().find_map(|c| {
        c.volume_mounts
            .iter()
            .flatten()
            .find(|m| m.name == volume)
            .map(|m| (c.name.clone(), m.mount_path.clone()))
    })
}

/// The claims as they are now, each read by name (an `Err` per claim that could not be read).
pub async fn claims_now(
    ctx: &Ctx,
    namespace: &str,
    names: &[&str],
) -> Vec<Result<PersistentVolumeClaim>> {
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), namespace);
    join_all(names.iter().map(|name| {
        let pvcs = pvcs.clone();
        async move {
            pvcs.get(name).await.map_err(Error::kube(format!(
                "get persistentvolumeclaim {namespace}/{name}"
            )))
        }
    }))
    .await
}

/// The namespace's events about claims (a field selector the API server supports for events, so the read does not
/// grow with the namespace's other events); none when they cannot be read.
pub async fn claim_events(ctx: &Ctx, namespace: &str) -> Vec<Event> {
    let events: Api<Event> = Api::namespaced(ctx.client.clone(), namespace);
    let params = ListParams::default().fields("involvedObject.kind=PersistentVolumeClaim");
    events
        .list(&params)
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

/// The (not terminating) pods that mount a claim now, whoever owns them.
pub async fn pods_mounting(ctx: &Ctx, namespace: &str, claim: &str) -> Result<Vec<Pod>> {
    let mut pods = pods_holding(ctx, namespace, claim).await?;
    pods.retain(|p| p.metadata.deletion_timestamp.is_none());
    Ok(pods)
}

/// Every pod that holds a claim now, terminating ones included: the external-resizer counts each pod naming the
/// claim that is not Succeeded or Failed as using it (kubernetes-csi/external-resizer pkg/controller/
/// inuse_pvc_store.go), and a pod keeps phase Running through its grace period.
pub async fn pods_holding(ctx: &Ctx, namespace: &str, claim: &str) -> Result<Vec<Pod>> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let list = pods
        .list(&ListParams::default())
        .await
        .map_err(Error::kube(format!("list pods in {namespace}")))?;
    Ok(list
        .items
        .into_iter()
        .filter(|p| {
            !matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            )
        })
        .filter(|p| mounts_claim(p, claim))
        .collect())
}

/// The CSI driver of a bound volume (`spec.csi.driver` of its PV), read once when no resizer acted on a claim: for a
/// CSI volume the controller-manager names no resizer on the claim (the `volume.kubernetes.io/storage-resizer`
/// annotation is set only for migrated in-tree volumes, expand_controller.go). None when the PV cannot be read (a
/// user without `get persistentvolumes`) or is not CSI.
pub async fn volume_csi_driver(ctx: &Ctx, volume: &str) -> Option<String> {
    let pvs: Api<k8s_openapi::api::core::v1::PersistentVolume> = Api::all(ctx.client.clone());
    pvs.get(volume).await.ok()?.spec?.csi.map(|csi| csi.driver)
}

/// The uid of pod `name` now; `None` when it is gone or could not be read.
pub async fn pod_uid(ctx: &Ctx, namespace: &str, name: &str) -> Option<String> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    pods.get_opt(name).await.ok()??.metadata.uid
}

/// The filesystem usage of `claim` as `pod` sees it now: the kubelet's stats summary first (it works while the
/// container is down), then `df` in the container that mounts it.
pub async fn claim_usage(ctx: &Ctx, namespace: &str, pod: &Pod, claim: &str) -> Option<Usage> {
    let spec = pod.spec.as_ref()?;
    if let Some(node) = &spec.node_name {
        match usage::node_stats(&ctx.client, node).await {
            Ok(rows) => {
                if let Some(row) = VolumeUsage::of_claim(&rows, namespace, claim) {
                    return Some(row.usage(UsageSource::StatsSummary));
                }
            }
            Err(gap) => ctx.printer.debug(&format!(
                "no stats summary from node {node} ({}; needs get on nodes/proxy); trying df in the container",
                gap.reason
            )),
        }
    }
    let (container, mount_path) = mount_of(spec, claim)?;
    let name = pod.metadata.name.clone().unwrap_or_default();
    usage::df(ctx.exec.as_ref(), namespace, &name, &container, &mount_path).await
}
