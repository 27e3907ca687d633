//! Gathering the fix-perms snapshot from the cluster (all reads, no changes): the workload's template, the operator's
//! `Prometheus` resource, the data claim's PVC/PV/CSIDriver (a PV or driver read refused with 403 is recorded as
//! unreadable, not fatal), the Prometheus container's logs (current and previous), and the data directory's
//! owner/mode via `stat` in a running container.

use super::snapshot::{PermsSnapshot, PodState, VolumeRoot};
use crate::access::{self, AccessRequest};
use crate::context::Ctx;
use crate::discover::{self, Discovered, Flavour, Instance, PrometheusResource, WorkloadKind};
use crate::error::{Error, Result};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::CSIDriver;
use kube::api::Api;

/// Read everything fix-perms decides from, for one discovered instance. The workload and the `Prometheus` resource
/// are taken as discovery listed them (their resourceVersion preconditions the first patch; a concurrent edit since
/// then is a 409 that re-plans), so only what discovery did not read is asked for here.
pub async fn gather(ctx: &Ctx, discovered: &Discovered) -> Result<PermsSnapshot> {
    let instance = &discovered.instance;
    let ns = instance.namespace.as_str();
    let workload = instance.workloads.first().ok_or_else(|| Error::Target {
        message: format!(
            "{} has no Deployment or StatefulSet; fix-perms changes a workload's pod template",
            discover::describe(instance)
        ),
        hint: None,
    })?;
    if workload.kind == WorkloadKind::Pod {
        return Err(Error::Target {
            message: format!(
                "pod {ns}/{} has no controller; fix-perms changes a Deployment, StatefulSet or Prometheus resource",
                workload.name
            ),
            hint: Some(format!(
                "kubectl prom fix-perms -n {ns} (without pod/…) lists the instances"
            )),
        });
    }
    let workload_object = discovered.workload_object(workload);
    let pod_spec = discovered.pod_spec(workload).cloned();
    let prometheus_resource = match (&instance.flavour, &discovered.prometheus_resource) {
        (Flavour::Operator { .. }, Some(listed)) => Some(listed.clone()),
        // Not listed (the list was refused, which discovery tolerates): read it by name, so a refusal names the
        // permission fix-perms needs.
        (Flavour::Operator { prometheus }, None) => {
            let object = discover::prometheus_api(&ctx.client, ns)
                .get(prometheus)
                .await
                .map_err(Error::kube(format!("read prometheus {ns}/{prometheus}")))?;
            Some(PrometheusResource::from_object(
                serde_json::to_value(&object).unwrap_or_default(),
            ))
        }
        _ => None,
    };
    // The rest at once: the storage chain (claim → volume → driver), the logs and the volume's owner; the plan waits
    // for the longest of these, not for their sum.
    let (
        Storage {
            pvc,
            pv,
            csi_driver,
            unreadable,
        },
        log_lines,
        volume_root,
    ) = futures::try_join!(
        storage(ctx, instance),
        async { Ok(logs(ctx, discovered).await) },
        async { Ok(volume_root(ctx, instance).await) },
    )?;
    Ok(PermsSnapshot {
        namespace: ns.to_string(),
        install: instance.flavour.clone(),
        origin: instance.origin.clone(),
        workload: workload.clone(),
        // What fix-perms patches: the resource for the operator (plan::target_of), else the workload.
        target_object: prometheus_resource
            .as_ref()
            .map(|r| r.object.clone())
            .or(workload_object),
        prometheus_resource,
        pod_spec: pod_spec.unwrap_or_default(),
        container: instance.container.clone(),
        pvc,
        pv,
        csi_driver,
        unreadable,
        log_lines,
        pods: instance
            .pods
            .iter()
            .map(|p| PodState {
                name: p.name.clone(),
                ready: p.ready,
                node: None,
            })
            .collect(),
        volume_root,
    })
}

/// The data claim, its bound PV, the PV's CSIDriver object, and the reads among them the user was refused.
#[derive(Default)]
struct Storage {
    pvc: Option<PersistentVolumeClaim>,
    pv: Option<PersistentVolume>,
    csi_driver: Option<CSIDriver>,
    unreadable: Vec<AccessRequest>,
}

/// `list csidrivers`: how the CSIDriver objects are read.
fn list_csi_drivers() -> AccessRequest {
    AccessRequest::new("list", "storage.k8s.io", "csidrivers", None, None)
}

/// The first data claim, its bound PV, and the PV's CSIDriver object (absent → the kubelet's default policy). The PV
/// and the drivers are cluster-scoped: a namespace-only user gets 403, which is recorded (not fatal) so the
/// permission review names it with the plan's changes; any other failure is an error.
async fn storage(ctx: &Ctx, instance: &Instance) -> Result<Storage> {
    let ns = instance.namespace.as_str();
    let Some(claim) = instance
        .data
        .as_ref()
        .and_then(|d| d.claims().into_iter().next())
    else {
        return Ok(Storage::default());
    };
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
    let pvc = pvcs.get_opt(&claim).await.map_err(Error::kube(format!(
        "read persistentvolumeclaim {ns}/{claim}"
    )))?;
    let Some(pvc) = pvc else {
        return Ok(Storage::default());
    };
    let mut unreadable = Vec::new();
    let volume_name = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .filter(|n| !n.is_empty());
    let pv = match &volume_name {
        Some(name) => match access::unless_forbidden(
            Api::<PersistentVolume>::all(ctx.client.clone())
                .get_opt(name)
                .await,
        )
        .map_err(Error::kube(format!("read persistentvolume {name}")))?
        {
            Some(pv) => pv,
            None => {
                unreadable.push(AccessRequest::new(
                    "get",
                    "",
                    "persistentvolumes",
                    None,
                    Some(name),
                ));
                // The PV would name its CSI driver, whose policy decides fsGroup; most provisioned volumes are CSI,
                // so the drivers' read is reviewed too, rather than found missing on the next run.
                unreadable.push(list_csi_drivers());
                None
            }
        },
        None => None,
    };
    let driver = match pv
        .as_ref()
        .and_then(|pv| pv.spec.as_ref())
        .and_then(|s| s.csi.as_ref())
    {
        // Listed and matched by name rather than fetched: a driver name is not always a valid URL path segment.
        Some(csi) => match access::unless_forbidden(
            Api::<CSIDriver>::all(ctx.client.clone())
                .list(&Default::default())
                .await,
        )
        .map_err(Error::kube("list csidrivers"))?
        {
            Some(list) => list
                .items
                .into_iter()
                .find(|d| d.metadata.name.as_deref() == Some(csi.driver.as_str())),
            None => {
                unreadable.push(list_csi_drivers());
                None
            }
        },
        None => None,
    };
    Ok(Storage {
        pvc: Some(pvc),
        pv,
        csi_driver: driver,
        unreadable,
    })
}

/// The Prometheus container's recent log lines, each pod's previous instance first (a crash-looping container's
/// reason is there), read by inspect's one log reader. Logs that cannot be read (not started, refused) are skipped:
/// the diagnosis then has less evidence, not an error.
async fn logs(ctx: &Ctx, discovered: &Discovered) -> Vec<String> {
    let reads = discovered
        .pods
        .iter()
        .map(|pod| crate::inspect::gather::pod_logs(&ctx.client, &discovered.instance, pod, false));
    let mut lines = Vec::new();
    for (mut logs, _unread) in futures::future::join_all(reads).await {
        logs.sort_by_key(|l| !l.previous);
        for log in logs {
            lines.extend(log.text.lines().map(str::to_string));
        }
    }
    lines
}

/// `stat -c %u:%g:%a <tsdb path>` in a running Prometheus container; `None` when no container runs or the image has
/// no `stat` (distroless).
async fn volume_root(ctx: &Ctx, instance: &Instance) -> Option<VolumeRoot> {
    let path = instance.data.as_ref()?.path.clone();
    let pod = instance.pods.iter().find(|p| p.phase == "Running")?;
    let argv = vec!["stat".into(), "-c".into(), "%u:%g:%a".into(), path];
    let stdout = crate::podexec::stdout_of(
        ctx.exec.as_ref(),
        &instance.namespace,
        &pod.name,
        &instance.container,
        &argv,
    )
    .await?;
    parse_stat(&stdout)
}

/// Parse `uid:gid:octal-mode` as printed by `stat -c %u:%g:%a`.
pub fn parse_stat(text: &str) -> Option<VolumeRoot> {
    let mut parts = text.trim().split(':');
    let uid = parts.next()?.parse().ok()?;
    let gid = parts.next()?.parse().ok()?;
    let mode = u32::from_str_radix(parts.next()?, 8).ok()?;
    Some(VolumeRoot { uid, gid, mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_output_parses() {
        assert_eq!(
            parse_stat("65534:2000:2775\n"),
            Some(VolumeRoot {
                uid: 65534,
                gid: 2000,
                mode: 0o2775
            })
        );
        assert_eq!(parse_stat("stat: can't stat"), None);
    }
}
