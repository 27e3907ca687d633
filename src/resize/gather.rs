//! Reading for `resize` (the only I/O before the plan): the instance's data claims, their classes, the pods that
//! mount them (crash loop, full-disk log line), usage from the kubelet stats summary or `df`, the owning
//! StatefulSet / `Prometheus` resource (permissions are reviewed by crate::access; a class the user may not read is
//! recorded as unknown, not fatal).

use super::model::{
    Claim, ClaimPod, Install, PodController, Snapshot, StatefulSetRef, Usage, UsageSource,
};
use crate::access;
use crate::context::Ctx;
use crate::discover::{self, DataSource, Flavour, Instance, WorkloadKind};
use crate::error::{Error, Result};
use futures::future::{join_all, try_join_all};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams, LogParams};
use std::collections::{BTreeMap, BTreeSet};

/// Everything the planner needs about one instance, read in two concurrent rounds (each request of a round is
/// sent at once, so the plan waits for two round trips, not one per object): first the install object, the pods and
/// the claims; then what those name — the claims' StorageClasses, the kubelets' volume stats, and the last log of a
/// crash-looping pod — with `df` in the container only where a kubelet gave no stats.
pub async fn snapshot(ctx: &Ctx, instance: &Instance) -> Result<Snapshot> {
    let ns = instance.namespace.as_str();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let mut claim_names: Vec<String> = instance
        .data
        .as_ref()
        .map(|d| d.claims())
        .unwrap_or_default();
    claim_names.sort();

    // Round 1.
    let labelled = async {
        match &instance.flavour {
            // The operator's documented procedure finds the claims by label (prometheus-facts §5.3 step 3).
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
    let named = try_join_all(claim_names.iter().map(|name| {
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
    let pod_objects = try_join_all(instance.pods.iter().map(|pod| {
        let pods = pods.clone();
        async move {
            pods.get_opt(&pod.name)
                .await
                .map_err(Error::kube(format!("get pod {ns}/{}", pod.name)))
        }
    }));
    let (install, labelled, named, pod_objects) =
        futures::try_join!(install_of(ctx, instance), labelled, named, pod_objects)?;
    let pod_objects: Vec<Pod> = pod_objects.into_iter().flatten().collect();
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

    // Round 2.
    let class_names: BTreeSet<String> = found
        .values()
        .filter_map(|pvc| pvc.spec.as_ref()?.storage_class_name.clone())
        .filter(|class| !class.is_empty())
        .collect();
    let class_reads = join_all(class_names.iter().map(|class| async move {
        let api: Api<StorageClass> = Api::all(ctx.client.clone());
        // A namespace-only user may not read classes (cluster-scoped): that is recorded, not fatal, so the
        // permission review lists it with everything else the plan needs.
        let read = access::unless_forbidden(api.get_opt(class).await)
            .map_err(Error::kube(format!("get storageclass {class}")));
        (class.clone(), read)
    }));
    let mounted: Vec<(&String, Option<&Pod>)> = found
        .keys()
        .map(|name| (name, pod_objects.iter().find(|p| mounts_claim(p, name))))
        .collect();
    let nodes: BTreeSet<String> = mounted
        .iter()
        .filter_map(|(_, pod)| (*pod)?.spec.as_ref()?.node_name.clone())
        .collect();
    let summary_reads = join_all(
        nodes
            .iter()
            .map(|node| async move { (node.clone(), stats_summary(ctx, node).await) }),
    );
    let claim_pods = join_all(mounted.iter().map(|(_, pod)| async move {
        match pod {
            Some(p) => Some(claim_pod(ctx, instance, p).await),
            None => None,
        }
    }));
    let (class_reads, summary_reads, claim_pods) =
        futures::join!(class_reads, summary_reads, claim_pods);
    let mut classes = BTreeMap::new();
    let mut forbidden_classes = BTreeSet::new();
    for (class, read) in class_reads {
        match read? {
            Some(Some(sc)) => {
                classes.insert(class, sc);
            }
            Some(None) => {}
            None => {
                ctx.printer.debug(&format!(
                    "not allowed to read storageclass {class}; it is reviewed with the plan's permissions"
                ));
                forbidden_classes.insert(class);
            }
        }
    }
    let summaries: BTreeMap<String, Option<serde_json::Value>> =
        summary_reads.into_iter().collect();

    // Usage from the summaries already read; `df` (round 3) only for claims they do not cover.
    let usages = {
        let summaries = &summaries;
        join_all(found.keys().zip(&claim_pods).map(|(name, cp)| async move {
            let cp = cp.as_ref()?;
            let from_summary = cp
                .node
                .as_ref()
                .and_then(|node| summaries.get(node)?.as_ref())
                .and_then(|summary| usage_from_summary(summary, ns, name));
            match from_summary {
                Some(usage) => Some(usage),
                None => df_usage(ctx, ns, cp).await,
            }
        }))
        .await
    };
    let claims = found
        .into_values()
        .zip(claim_pods)
        .zip(usages)
        .map(|((pvc, pod), usage)| Claim { pvc, pod, usage })
        .collect();

    let chart_release = match &instance.flavour {
        Flavour::Chart { release, .. } => Some(release.clone()),
        _ => None,
    };
    Ok(Snapshot {
        namespace: ns.to_string(),
        instance: discover::target_arg(instance),
        install,
        chart_release,
        origin: instance.origin.clone(),
        claims,
        classes,
        forbidden_classes,
    })
}

/// How the instance is installed (what a resize must change besides the claims), read from its owner object.
async fn install_of(ctx: &Ctx, instance: &Instance) -> Result<Install> {
    let ns = instance.namespace.as_str();
    Ok(match (&instance.flavour, instance.workloads.first()) {
        (Flavour::Operator { prometheus }, _) => {
            operator_install(ctx, instance, prometheus).await?
        }
        (_, Some(w)) if w.kind == WorkloadKind::StatefulSet => {
            let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
            let object = api
                .get(&w.name)
                .await
                .map_err(Error::kube(format!("get statefulset {ns}/{}", w.name)))?;
            let template = match instance.data.as_ref().map(|d| &d.source) {
                Some(DataSource::ClaimTemplate { template, .. }) => template.clone(),
                _ => String::new(),
            };
            if template.is_empty() {
                // A StatefulSet whose data is a plain claim volume: patch the claim only.
                Install::Deployment {
                    name: w.name.clone(),
                }
            } else {
                Install::StatefulSet {
                    object: Box::new(object),
                    template,
                }
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
    })
}

async fn operator_install(ctx: &Ctx, instance: &Instance, name: &str) -> Result<Install> {
    let ns = instance.namespace.as_str();
    let object = discover::prometheus_api(&ctx.client, ns)
        .get(name)
        .await
        .map_err(Error::kube(format!("get prometheus {ns}/{name}")))?;
    let spec = object.data.get("spec");
    let paused = spec
        .and_then(|s| s.get("paused"))
        .and_then(|p| p.as_bool())
        .unwrap_or(false);
    let storage_request = spec
        .and_then(|s| s.pointer("/storage/volumeClaimTemplate/spec/resources/requests/storage"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
    let reads = instance
        .workloads
        .iter()
        .filter(|w| w.kind == WorkloadKind::StatefulSet)
        .map(|w| {
            let api = api.clone();
            async move {
                api.get_opt(&w.name)
                    .await
                    .map_err(Error::kube(format!("get statefulset {ns}/{}", w.name)))
            }
        });
    let statefulsets = try_join_all(reads)
        .await?
        .into_iter()
        .flatten()
        .map(|sts| StatefulSetRef {
            template_storage: sts
                .spec
                .as_ref()
                .and_then(|s| s.volume_claim_templates.as_ref()?.first()?.spec.as_ref())
                .and_then(|t| t.resources.as_ref()?.requests.as_ref()?.get("storage"))
                .map(|q| q.0.clone()),
            name: sts.metadata.name.unwrap_or_default(),
            uid: sts.metadata.uid.unwrap_or_default(),
            resource_version: sts.metadata.resource_version.unwrap_or_default(),
        })
        .collect();
    Ok(Install::Operator {
        name: name.to_string(),
        resource_version: object.metadata.resource_version.unwrap_or_default(),
        paused,
        storage_request,
        statefulsets,
    })
}

/// Whether the pod has a volume backed by this claim.
pub fn mounts_claim(pod: &Pod, claim: &str) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vols| {
            vols.iter().any(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .is_some_and(|c| c.claim_name == claim)
            })
        })
}

/// The pod's state as far as resize cares; reads the previous log only for a container that has restarted.
async fn claim_pod(ctx: &Ctx, instance: &Instance, pod: &Pod) -> ClaimPod {
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
    let mut full_disk =
        crate::logscan::find_last(&termination_message, crate::logscan::Kind::DiskFull).is_some();
    if !full_disk && (crash_looping || restarted) {
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &instance.namespace);
        // The previous run's log, then the current one (a container that just exited has it there).
        for previous in [true, false] {
            let params = LogParams {
                container: Some(instance.container.clone()),
                previous,
                tail_lines: Some(50),
                ..Default::default()
            };
            if let Ok(log) = crate::podlogs::read(&pods, &name, &params).await
                && crate::logscan::find_last(&log, crate::logscan::Kind::DiskFull).is_some()
            {
                full_disk = true;
                break;
            }
        }
    }
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
        controller: controller_of(pod),
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

/// Usage of the claim as the pod sees it: the kubelet's stats summary first (works while the container is down),
/// then `df` in the container.
pub async fn usage(
    ctx: &Ctx,
    namespace: &str,
    claim_pod: &ClaimPod,
    claim: &str,
    summaries: &mut BTreeMap<String, Option<serde_json::Value>>,
) -> Option<Usage> {
    if let Some(node) = &claim_pod.node {
        if !summaries.contains_key(node) {
            let summary = stats_summary(ctx, node).await;
            summaries.insert(node.clone(), summary);
        }
        if let Some(Some(summary)) = summaries.get(node)
            && let Some(usage) = usage_from_summary(summary, namespace, claim)
        {
            return Some(usage);
        }
    }
    df_usage(ctx, namespace, claim_pod).await
}

/// `GET /api/v1/nodes/NODE/proxy/stats/summary` (prometheus-facts §6.2); None (said with -v) when it cannot be read.
async fn stats_summary(ctx: &Ctx, node: &str) -> Option<serde_json::Value> {
    let request = http::Request::get(format!("/api/v1/nodes/{node}/proxy/stats/summary"))
        .body(Vec::new())
        .ok()?;
    let summary = match ctx.client.request_text(request).await {
        Ok(text) => serde_json::from_str(&text).ok(),
        Err(_) => None,
    };
    if summary.is_none() {
        ctx.printer.debug(&format!(
            "no stats summary from node {node} (needs get on nodes/proxy); trying df in the container"
        ));
    }
    summary
}

/// The volume stats of `claim` in a kubelet stats summary (`pods[].volume[].pvcRef`).
pub fn usage_from_summary(
    summary: &serde_json::Value,
    namespace: &str,
    claim: &str,
) -> Option<Usage> {
    let pods = summary.get("pods")?.as_array()?;
    for volume in pods
        .iter()
        .filter_map(|p| p.get("volume").and_then(|v| v.as_array()))
        .flatten()
    {
        let Some(pvc_ref) = volume.get("pvcRef") else {
            continue;
        };
        if pvc_ref.get("name").and_then(|n| n.as_str()) == Some(claim)
            && pvc_ref.get("namespace").and_then(|n| n.as_str()) == Some(namespace)
        {
            let field = |key: &str| volume.get(key).and_then(|v| v.as_u64());
            return Some(Usage {
                capacity_bytes: field("capacityBytes")?,
                used_bytes: field("usedBytes").unwrap_or_default(),
                available_bytes: field("availableBytes").unwrap_or_default(),
                source: UsageSource::StatsSummary,
            });
        }
    }
    None
}

/// `df -k MOUNT` in the Prometheus container (fails quietly if the container is not running).
pub async fn df_usage(ctx: &Ctx, namespace: &str, pod: &ClaimPod) -> Option<Usage> {
    if pod.mount_path.is_empty() {
        return None;
    }
    let argv = vec!["df".to_string(), "-k".to_string(), pod.mount_path.clone()];
    let stdout = crate::podexec::stdout_of(
        ctx.exec.as_ref(),
        namespace,
        &pod.name,
        &pod.container,
        &argv,
    )
    .await?;
    parse_df_k(&stdout)
}

/// Parse `df -k` output (POSIX and GNU/busybox): the last line's 1K-blocks, Used and Available columns.
pub fn parse_df_k(text: &str) -> Option<Usage> {
    // A long device name wraps onto its own line in some df versions: join the data lines' fields.
    let fields: Vec<&str> = text
        .lines()
        .skip(1)
        .flat_map(str::split_whitespace)
        .collect();
    // Filesystem 1K-blocks Used Available Use% Mounted-on
    let numbers: Vec<u64> = fields.iter().filter_map(|f| f.parse().ok()).collect();
    if numbers.len() < 3 {
        return None;
    }
    // Saturating: exec output is untrusted, and a wrapped product would read as a small (nearly empty) volume.
    Some(Usage {
        capacity_bytes: numbers[0].saturating_mul(1024),
        used_bytes: numbers[1].saturating_mul(1024),
        available_bytes: numbers[2].saturating_mul(1024),
        source: UsageSource::Df,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_usage_is_found_by_pvc_ref() {
        let summary = json!({"node": {}, "pods": [
            {"podRef": {"name": "other", "namespace": "monitoring"}, "volume": [{"name": "tmp", "usedBytes": 1}]},
            {"podRef": {"name": "prometheus-server-0", "namespace": "monitoring"}, "volume": [
                {"name": "config-volume", "usedBytes": 5},
                {"name": "storage-volume", "pvcRef": {"name": "prometheus-server", "namespace": "monitoring"},
                 "capacityBytes": 1000, "usedBytes": 990, "availableBytes": 10}
            ]}
        ]});
        let usage = usage_from_summary(&summary, "monitoring", "prometheus-server").unwrap();
        assert_eq!(
            (
                usage.capacity_bytes,
                usage.used_bytes,
                usage.available_bytes
            ),
            (1000, 990, 10)
        );
        assert_eq!(usage.source, UsageSource::StatsSummary);
        assert!(usage_from_summary(&summary, "other-ns", "prometheus-server").is_none());
        assert!(usage_from_summary(&json!({}), "monitoring", "x").is_none());
    }

    #[test]
    fn df_output_is_parsed() {
        let gnu = "Filesystem     1K-blocks    Used Available Use% Mounted on\ntmpfs              65536   65536         0 100% /data\n";
        let usage = parse_df_k(gnu).unwrap();
        assert_eq!(usage.capacity_bytes, 65536 * 1024);
        assert_eq!(usage.available_bytes, 0);
        assert!(usage.nearly_full());
        let wrapped = "Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/mapper/very-long-name\n  1000 10 990 1% /data\n";
        assert_eq!(parse_df_k(wrapped).unwrap().used_bytes, 10 * 1024);
        assert!(parse_df_k("df: /data: No such file or directory\n").is_none());
    }
}
