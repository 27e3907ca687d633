//! What only fix-perms reads, into the one [`InstanceSnapshot`]: the data claim and its volume by name, the
//! `CSIDriver` of that volume (its fsGroupPolicy decides whether the kubelet applies fsGroup), the Prometheus
//! container's logs, and the data directory's owner and mode (`stat` in a running container). Starts from what
//! discovery listed ([`Discovered`]), so the workload, its pods and the `Prometheus` resource are not read again.
//! Refusals of the cluster-scoped reads (the volume, the drivers) are named gaps, as doctor's are; the rest is
//! assembled by the same [`assemble_one`] doctor's snapshot goes through.

use super::gather::pod_logs;
use super::snapshot::ContainerLog;
use super::snapshot::{Data, Gap, InstanceSnapshot, Objects, assemble_one};
use crate::context::Ctx;
use crate::discover::{self, Discovered, Flavour, Instance, Inventory, PrometheusResource};
use crate::error::{Error, Result};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::CSIDriver;
use kube::api::Api;
use serde::Serialize;

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

/// The `CSIDriver` objects that concern these volumes: those named by a volume's CSI source (absent: the kubelet's
/// default policy). Pure; `assemble_one` gives each instance its own.
pub fn drivers_of(pvs: &[PersistentVolume], drivers: &[CSIDriver]) -> Vec<CSIDriver> {
    let names: Vec<&str> = pvs
        .iter()
        .filter_map(|pv| Some(pv.spec.as_ref()?.csi.as_ref()?.driver.as_str()))
        .collect();
    drivers
        .iter()
        .filter(|d| {
            d.metadata
                .name
                .as_deref()
                .is_some_and(|n| names.contains(&n))
        })
        .cloned()
        .collect()
}

/// Read what fix-perms decides from, for one discovered instance, into the one snapshot. The workload and the
/// `Prometheus` resource are taken as discovery listed them (their resourceVersion preconditions the first patch; a
/// concurrent edit since then is a 409 that re-plans), so only what discovery did not read is asked for here.
pub async fn gather(ctx: &Ctx, discovered: &Discovered) -> Result<InstanceSnapshot> {
    let instance = &discovered.instance;
    let ns = instance.namespace.as_str();
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
    // The rest at once: the storage chain (claim → volume → driver), the logs and the volume's owner; the snapshot
    // waits for the longest of these, not for their sum.
    let (storage, logs, data_root) = futures::try_join!(
        storage(ctx, instance),
        async { Ok(logs(ctx, discovered).await) },
        async { Ok(data_root(ctx, instance).await) },
    )?;
    let (log_lines, log_gaps) = logs;
    let mut objects = Objects {
        inventory: Inventory {
            deployments: discovered.deployments.clone(),
            statefulsets: discovered.statefulsets.clone(),
            pods: discovered.pods.clone(),
            prometheuses: prometheus_resource.into_iter().collect(),
        },
        pvcs: storage.pvc.into_iter().collect(),
        pvs: storage.pv.into_iter().collect(),
        csi_drivers: storage.csi_drivers,
        logs: log_lines,
        ..Default::default()
    };
    objects.gaps = storage
        .gaps
        .into_iter()
        .map(|g| (None, g))
        .chain(log_gaps.into_iter().map(|g| (Some(ns.to_string()), g)))
        .collect();
    let mut snapshot = assemble_one(&objects, instance.clone());
    snapshot.data_root = data_root;
    Ok(snapshot)
}

/// The data claim, its bound PV, the CSIDriver objects, and the cluster-scoped reads the user was refused.
#[derive(Default)]
struct Storage {
    pvc: Option<PersistentVolumeClaim>,
    pv: Option<PersistentVolume>,
    csi_drivers: Vec<CSIDriver>,
    gaps: Vec<Gap>,
}

/// The first data claim, its bound PV, and the CSIDriver objects (the PV's driver absent → the kubelet's default
/// policy). The PV and the drivers are cluster-scoped: a namespace-only user gets 403, which is a gap (not fatal)
/// so the permission review names it with the plan's changes; any other failure is an error.
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
    let mut out = Storage::default();
    let volume_name = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .filter(|n| !n.is_empty());
    if let Some(name) = &volume_name {
        let request = format!("GET /api/v1/persistentvolumes/{name}");
        match Api::<PersistentVolume>::all(ctx.client.clone())
            .get_opt(name)
            .await
        {
            Ok(pv) => out.pv = pv,
            Err(e) if forbidden(&e) => out.gaps.push(Gap::from_kube(Data::Pvcs, request, &e)),
            Err(e) => return Err(Error::kube(format!("read persistentvolume {name}"))(e)),
        }
    }
    if out
        .pv
        .as_ref()
        .and_then(|pv| pv.spec.as_ref()?.csi.as_ref())
        .is_some()
    {
        // Listed and matched by name rather than fetched: a driver name is not always a valid URL path segment.
        match Api::<CSIDriver>::all(ctx.client.clone())
            .list(&Default::default())
            .await
        {
            Ok(list) => out.csi_drivers = list.items,
            Err(e) if forbidden(&e) => out.gaps.push(Gap::from_kube(
                Data::CsiDrivers,
                "GET /apis/storage.k8s.io/v1/csidrivers",
                &e,
            )),
            Err(e) => return Err(Error::kube("list csidrivers")(e)),
        }
    }
    out.pvc = Some(pvc);
    Ok(out)
}

fn forbidden(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 403)
}

/// The Prometheus container's recent logs, read by inspect's one log reader (current, and previous where it
/// restarted). Logs that cannot be read (not started, refused) leave the diagnosis less evidence, not an error.
async fn logs(ctx: &Ctx, discovered: &Discovered) -> (Vec<ContainerLog>, Vec<Gap>) {
    let reads = discovered
        .pods
        .iter()
        .map(|pod| pod_logs(&ctx.client, &discovered.instance, pod, false));
    let mut lines = Vec::new();
    let mut gaps = Vec::new();
    for (logs, gap) in futures::future::join_all(reads).await {
        lines.extend(logs);
        gaps.extend(gap);
    }
    (lines, gaps)
}

/// The Prometheus container's current log (the last 300 lines) of each discovered pod, for fix-perms' verification:
/// the previous instance is not asked for (after a rollout it is the run that failed, whose `permission denied` is
/// history). A log that cannot be read is left out: the verification then has less evidence, not an error.
pub async fn current_logs(ctx: &Ctx, discovered: &Discovered) -> Vec<ContainerLog> {
    let instance = &discovered.instance;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &instance.namespace);
    let params = kube::api::LogParams {
        container: Some(instance.container.clone()),
        tail_lines: Some(300),
        ..Default::default()
    };
    let reads = instance.pods.iter().map(|pod| {
        let (api, params) = (&api, &params);
        async move {
            let text = crate::podlogs::read(api, &pod.name, params).await.ok()?;
            Some(ContainerLog {
                pod: pod.name.clone(),
                container: instance.container.clone(),
                previous: false,
                text,
            })
        }
    });
    futures::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The named pods of a namespace as they are now (a pod gone since is left out): read right before a restart is
/// planned, so the step's uid precondition and owner are current.
pub async fn pods_named(ctx: &Ctx, namespace: &str, names: &[String]) -> Result<Vec<Pod>> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let reads = names.iter().map(|name| {
        let api = api.clone();
        async move {
            api.get_opt(name)
                .await
                .map_err(Error::kube(format!("read pod {namespace}/{name}")))
        }
    });
    Ok(futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// `stat -c %u:%g:%a <tsdb path>` in a running Prometheus container; `None` when no container runs or the image has
/// no `stat` (distroless).
async fn data_root(ctx: &Ctx, instance: &Instance) -> Option<VolumeRoot> {
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
