//! kube-sim's storage driver on the real control plane (issue 16): what a CSI vendor installs next to a cluster —
//! its CSIDrivers and StorageClasses, the external-provisioner and external-resizer sidecars (controller side, with
//! their own client identity and RBAC) — and the kubelet's node expansion (node side, as `system:node`). The volume
//! itself is the kubelet's size-limited tmpfs per PV (`Kubelet::claim_backing`), so `df` in the pod and the node's
//! `stats/summary` report the PV's capacity.
//!
//! Everything else about claims is the real control plane's: the PV controller (binding, `ExternalProvisioning`,
//! `WaitForFirstConsumer`, the `volume.kubernetes.io/storage-provisioner` annotation), the scheduler's volume binding
//! (`volume.kubernetes.io/selected-node`), the expand controller (`volume.kubernetes.io/storage-resizer`,
//! `ExternalExpanding`), PersistentVolumeClaimResize admission (no expansion on a class without
//! `allowVolumeExpansion`), pvc/pv protection.
//!
//! Taken from upstream (paths in kubernetes-csi and kubernetes repositories):
//! - provisioning: sig-storage-lib-external-provisioner `controller/controller.go` (`shouldProvision`: the claim's
//!   storage-provisioner annotation names the driver, WaitForFirstConsumer waits for `selected-node`; events
//!   `Provisioning` / `ProvisioningSucceeded` / `ProvisioningFailed`; PV `pvc-<claim uid>` with `claimRef`,
//!   `pv.kubernetes.io/provisioned-by` and the `external-provisioner.volume.kubernetes.io/finalizer`), and deletion
//!   of a Released PV whose reclaim policy is Delete (the finalizer removed, then the PV);
//! - expansion: external-resizer `pkg/controller/controller.go` (`pvcNeedResize`, `pvNeedResize`),
//!   `expand_and_recover.go` (the size to expand to, `VolumeResizeFailed`, the offline driver's in-use refusal) and
//!   `resize_status.go` (`Resizing` + `ControllerResizeInProgress` + `allocatedResources`, then the PV's capacity,
//!   then `FileSystemResizePending` + `NodeResizePending` and `FileSystemResizeRequired`; a final error gives
//!   `ControllerResizeError`);
//! - node expansion: kubernetes `pkg/volume/util/operationexecutor/node_expander.go` and `pkg/volume/util/
//!   resize_util.go` (`NodeResizeInProgress`, the filesystem grown, `FileSystemResizeSuccessful` on pod and claim,
//!   then `MarkFSResizeFinished`: claim capacity = the PV's, resize conditions and the resource status cleared).
//!
//! The driver's own behaviour is chosen per StorageClass, with its parameters: `kube-sim.io/expansion` = `online` (default) | `offline` (ControllerExpandVolume
//! refuses an in-use volume with FailedPrecondition, as drivers without ONLINE expansion do) | `fail`
//! (`kube-sim.io/expansion-error`, an Internal error: final, retried); and `kube-sim.io/allocation-unit` (e.g. `1Gi`:
//! sizes round up to whole units, as cloud disks do: a 1500Mi claim gets a 2Gi volume).
use crate::api_client::ApiClient;
use crate::control_plane::NODE_NAME;
use crate::kubelet::Kubelet;
use crate::node::cache::NodeCache;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The StorageClass parameter that picks the driver's expansion: `online` (default), `offline` or `fail`.
pub const EXPANSION_PARAM: &str = "kube-sim.io/expansion";
/// The StorageClass parameter with the message a `fail` driver answers ControllerExpandVolume with.
pub const EXPANSION_ERROR_PARAM: &str = "kube-sim.io/expansion-error";
use std::time::{Duration, Instant};

/// The driver that provisions and expands (a valid CSI driver name: a DNS subdomain, as the real API server
/// requires in a PV's `spec.csi.driver`).
pub const DRIVER: &str = "hostpath.csi.kube-sim.io";
/// A driver that provisions but has no resizer deployed: expanding its claims waits forever (`ExternalExpanding`).
pub const NO_RESIZER_DRIVER: &str = "no-resizer.csi.kube-sim.io";
/// Every CSI driver name under this suffix is one of kube-sim's (a scenario may declare its own, e.g. with another
/// `fsGroupPolicy`): the node provisions its claims; all but `NO_RESIZER_DRIVER` also expand.
pub const DRIVER_FAMILY: &str = ".csi.kube-sim.io";

/// Cloud drivers the node also plays when a scenario's StorageClass names them (the plugin keys notes on the
/// provisioner's name, e.g. EBS's whole-GiB sizes): provisioning and expansion as for kube-sim's own drivers, the
/// class's `kube-sim.io/*` parameters choosing the behaviour (a scenario sets `kube-sim.io/allocation-unit: 1Gi` for
/// EBS's whole GiB, `kube-sim.io/expansion: fail` with its error text for a failing resizer). Only the name is the
/// cloud's: nothing here imitates the cloud API.
pub const PLAYED_CLOUD_DRIVERS: [&str; 1] = ["ebs.csi.aws.com"];

/// Whether the node provisions for the driver `name`.
pub fn provisions(name: &str) -> bool {
    (name.ends_with(DRIVER_FAMILY) && name.len() > DRIVER_FAMILY.len())
        || PLAYED_CLOUD_DRIVERS.contains(&name)
}

/// Whether the node runs a resizer for the driver `name`.
pub fn resizes(name: &str) -> bool {
    provisions(name) && name != NO_RESIZER_DRIVER
}

/// Sizes round up to a whole number of this quantity (a class parameter).
pub const ALLOCATION_UNIT_PARAM: &str = "kube-sim.io/allocation-unit";
/// The CSI sidecars' client identity (a certificate of the cluster CA, `control_plane::ClusterPki::csi_controller`).
pub const CONTROLLER_USER: &str = "kube-sim:csi-controller";

const PROVISIONER_FINALIZER: &str = "external-provisioner.volume.kubernetes.io/finalizer";
const ANN_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
const ANN_PROVISIONER_BETA: &str = "volume.beta.kubernetes.io/storage-provisioner";
const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
const RESIZE_CONDITIONS: [&str; 4] = [
    "Resizing",
    "FileSystemResizePending",
    "ControllerResizeError",
    "NodeResizeError",
];
const FS_RESIZE_PENDING_MESSAGE: &str =
    "Waiting for user to (re-)start a pod to finish file system resize of volume on node.";
/// How long a failed controller expansion waits before the next try (the resizer's rate-limited requeue).
const RETRY: Duration = Duration::from_secs(10);

/// The objects a driver's install puts in the cluster: CSIDrivers (no attach step: nobody completes
/// VolumeAttachments here), the StorageClasses the world offers, and the sidecars' RBAC (external-provisioner's
/// and external-resizer's deploy/kubernetes/rbac.yaml, merged).
pub fn install_objects() -> Vec<(&'static str, Value)> {
    let driver = |name: &str| {
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": name},
               "spec": {"attachRequired": false, "podInfoOnMount": false, "fsGroupPolicy": "File",
                        "volumeLifecycleModes": ["Persistent"]}})
    };
    let class = |name: &str, provisioner: &str, expand: bool, params: Value, default: bool| {
        let mut c = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "allowVolumeExpansion": expand, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer", "parameters": params});
        if default {
            c["metadata"]["annotations"] =
                json!({"storageclass.kubernetes.io/is-default-class": "true"});
        }
        c
    };
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| json!({"apiGroups": groups, "resources": resources, "verbs": verbs});
    let read = ["get", "list", "watch"];
    vec![
        ("/apis/storage.k8s.io/v1/csidrivers", driver(DRIVER)),
        (
            "/apis/storage.k8s.io/v1/csidrivers",
            driver(NO_RESIZER_DRIVER),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            class("standard", DRIVER, true, json!({}), true),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            class(
                "standard-gi",
                DRIVER,
                true,
                json!({ALLOCATION_UNIT_PARAM: "1Gi"}),
                false,
            ),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            class("standard-fixed", DRIVER, false, json!({}), false),
        ),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            class(
                "standard-no-resizer",
                NO_RESIZER_DRIVER,
                true,
                json!({}),
                false,
            ),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "kube-sim:csi-controller"},
            "rules": [
                rule(&[""], &["persistentvolumes"], &["get", "list", "watch", "create", "delete", "patch", "update"]),
                rule(&[""], &["persistentvolumeclaims"], &["get", "list", "watch", "update", "patch"]),
                rule(&[""], &["persistentvolumeclaims/status"], &["update", "patch"]),
                rule(&[""], &["events"], &["list", "watch", "create", "update", "patch"]),
                rule(&[""], &["pods", "nodes"], &read),
                rule(&["storage.k8s.io"], &["storageclasses", "csinodes"], &read),
            ]}),
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "kube-sim:csi-controller"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kube-sim:csi-controller"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": CONTROLLER_USER}]}),
        ),
    ]
}

/// Creates `install_objects` with the admin's client (what applying a driver's manifests does); existing ones stay.
pub async fn install(admin: &ApiClient) -> Result<(), String> {
    for (path, obj) in install_objects() {
        let r = admin.post_json(path, &obj).await?;
        if !r.ok() && r.status != 409 {
            return Err(format!(
                "installing the storage driver ({} {}): {} {}",
                obj["kind"].as_str().unwrap_or_default(),
                obj["metadata"]["name"].as_str().unwrap_or_default(),
                r.status,
                r.message()
            ));
        }
    }
    Ok(())
}

/// The CSINode the kubelet registers when the driver's node plugin registers (pkg/volume/csi/nodeinfomanager):
/// the driver names, their node IDs and the topology key our volumes are pinned by.
pub fn csinode(node_uid: &str) -> Value {
    let d = |name: &str| json!({"name": name, "nodeID": NODE_NAME, "topologyKeys": ["kubernetes.io/hostname"]});
    json!({"apiVersion": "storage.k8s.io/v1", "kind": "CSINode",
        "metadata": {"name": NODE_NAME,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": NODE_NAME, "uid": node_uid}]},
        "spec": {"drivers": [d(DRIVER), d(NO_RESIZER_DRIVER)]}})
}

// ---------------------------------------------------------------------------------------------------------------
// Deciding (pure).

fn ann<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o["metadata"]["annotations"][key].as_str()
}

fn name_of(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or_default()
}

fn ns_of(o: &Value) -> &str {
    o["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn storage(q: &Value) -> Option<u64> {
    q["storage"].as_str().and_then(crate::quantity::bytes)
}

/// `bytes` as resource.Quantity's canonical binary form: the largest binary suffix that divides it, else bytes.
pub fn format_bytes(bytes: u64) -> String {
    for (suffix, unit) in [
        ("Ti", 1u64 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ] {
        if bytes > 0 && bytes.is_multiple_of(unit) {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

/// The size the driver allocates for a request: the request, rounded up to the class's allocation unit.
pub fn allocated_size(class: &Value, requested: u64) -> u64 {
    let unit = class["parameters"][ALLOCATION_UNIT_PARAM]
        .as_str()
        .and_then(crate::quantity::bytes)
        .filter(|u| *u > 0);
    match unit {
        Some(u) => requested.div_ceil(u) * u,
        None => requested,
    }
}

/// The PV the external-provisioner creates for `pvc` when the driver `driver` should provision it now, else None.
pub fn provision(pvc: &Value, class: &Value, driver: &str) -> Option<Value> {
    let wanted = ann(pvc, ANN_PROVISIONER).or_else(|| ann(pvc, ANN_PROVISIONER_BETA));
    if wanted != Some(driver)
        || pvc["metadata"]["deletionTimestamp"].is_string()
        || pvc["spec"]["volumeName"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
        || pvc["status"]["phase"]
            .as_str()
            .is_some_and(|p| p != "Pending")
    {
        return None;
    }
    // WaitForFirstConsumer: the scheduler names the node (controller.go shouldProvision / provisionClaimOperation).
    let selected = ann(pvc, ANN_SELECTED_NODE);
    if class["volumeBindingMode"] == "WaitForFirstConsumer" && selected.is_none() {
        return None;
    }
    if selected.is_some_and(|n| n != NODE_NAME) {
        return None;
    }
    let requested = storage(&pvc["spec"]["resources"]["requests"])?;
    let size = format_bytes(allocated_size(class, requested));
    let uid = pvc["metadata"]["uid"].as_str()?;
    let pv_name = format!("pvc-{uid}");
    let mut csi = json!({"driver": driver, "volumeHandle": pv_name,
        "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": format!("{driver}-{NODE_NAME}")}});
    let volume_mode = pvc["spec"]["volumeMode"].as_str().unwrap_or("Filesystem");
    if volume_mode == "Filesystem" {
        csi["fsType"] = json!(
            class["parameters"]["csi.storage.k8s.io/fstype"]
                .as_str()
                .unwrap_or("ext4")
        );
    }
    let mut pv = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv_name, "annotations": {ANN_PROVISIONED_BY: driver},
                     "finalizers": [PROVISIONER_FINALIZER]},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": pvc["spec"]["accessModes"],
            "persistentVolumeReclaimPolicy": class["reclaimPolicy"].as_str().unwrap_or("Delete"),
            "storageClassName": name_of(class),
            "volumeMode": volume_mode,
            "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": ns_of(pvc),
                         "name": name_of(pvc), "uid": uid, "resourceVersion": pvc["metadata"]["resourceVersion"]},
            "csi": csi,
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE_NAME]}]}]}},
        },
    });
    if let Some(opts) = class["mountOptions"].as_array() {
        pv["spec"]["mountOptions"] = json!(opts);
    }
    Some(pv)
}

/// A Released PV of ours with reclaim policy Delete: the provisioner deletes the volume, then the PV.
pub fn should_delete(pv: &Value) -> bool {
    pv["status"]["phase"] == "Released"
        && pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
        && ann(pv, ANN_PROVISIONED_BY).is_some_and(provisions)
}

fn resize_status(pvc: &Value) -> &str {
    pvc["status"]["allocatedResourceStatuses"]["storage"]
        .as_str()
        .unwrap_or_default()
}

/// What the external-resizer does next for a claim (expand_and_recover.go), or None.
#[derive(Debug, PartialEq)]
pub enum ResizeStep {
    /// Mark `ControllerResizeInProgress` with this allocated size (when it differs), then call the driver.
    Expand { new_size: u64, mark: bool },
}

/// `pvcNeedResize` + `pvNeedResize` + expandAndRecover's choice of size, for a claim and its PV.
pub fn resize_step(pvc: &Value, pv: &Value, driver: &str) -> Option<ResizeStep> {
    if pvc["status"]["phase"] != "Bound" || pv["spec"]["csi"]["driver"] != driver {
        return None;
    }
    let claim_ref = &pv["spec"]["claimRef"];
    if claim_ref["uid"] != pvc["metadata"]["uid"] || claim_ref["namespace"] != ns_of(pvc) {
        return None;
    }
    let spec = storage(&pvc["spec"]["resources"]["requests"])?;
    let actual = storage(&pvc["status"]["capacity"]).unwrap_or(0);
    if spec <= actual {
        return None;
    }
    let pv_size = storage(&pv["spec"]["capacity"]).unwrap_or(0);
    let allocated = storage(&pvc["status"]["allocatedResources"]);
    let status = resize_status(pvc);
    let node_side = status == "NodeResizePending" || status == "NodeResizeInProgress";
    let new_size = if pv_size < spec {
        match status {
            _ if node_side => {
                let n = allocated.unwrap_or(spec);
                // Let the node expansion already asked for finish first.
                if pv_size >= n {
                    return None;
                }
                n
            }
            "ControllerResizeInProgress" => allocated.unwrap_or(spec),
            _ => spec,
        }
    } else {
        if node_side {
            return None;
        }
        allocated.unwrap_or(spec)
    };
    Some(ResizeStep::Expand {
        new_size,
        mark: allocated != Some(new_size) || status != "ControllerResizeInProgress",
    })
}

/// `MergeResizeConditionsOfPVC`: conditions that are not about resizing stay; resize ones become `new` (a kept
/// condition of the same type keeps its transition time).
pub fn merge_resize_conditions(old: &Value, new: &[Value]) -> Value {
    let mut out: Vec<Value> = old
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| !RESIZE_CONDITIONS.contains(&c["type"].as_str().unwrap_or_default()))
        .cloned()
        .collect();
    for n in new {
        let mut n = n.clone();
        if let Some(prev) = old
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == n["type"] && c["status"] == n["status"])
        {
            n["lastTransitionTime"] = prev["lastTransitionTime"].clone();
        }
        out.push(n);
    }
    Value::Array(out)
}

fn condition(type_: &str, message: &str) -> Value {
    let mut c = json!({"type": type_, "status": "True", "lastProbeTime": null,
                       "lastTransitionTime": crate::clock::now_rfc3339()});
    if !message.is_empty() {
        c["message"] = json!(message);
    }
    c
}

/// A merge patch of a claim's status guarded by its resourceVersion (resize_util.go PatchPVCStatus adds it, so a
/// write based on a stale read fails with 409 and is retried on the next pass).
fn status_patch(pvc: &Value, status: Value) -> Value {
    json!({"metadata": {"resourceVersion": pvc["metadata"]["resourceVersion"]}, "status": status})
}

/// Whether the node should finish a pending expansion of this claim: its PV is bigger than the claim's capacity and
/// the resizer handed it to the node (node_expander.go runPreCheck). Returns the PV's size.
pub fn node_expansion(pvc: &Value, pv: &Value) -> Option<u64> {
    let status = resize_status(pvc);
    if status != "NodeResizePending" && status != "NodeResizeInProgress" {
        return None;
    }
    let pv_size = storage(&pv["spec"]["capacity"])?;
    let actual = storage(&pvc["status"]["capacity"]).unwrap_or(0);
    (pv_size > actual).then_some(pv_size)
}

// ---------------------------------------------------------------------------------------------------------------
// Doing (the controller sidecars and the node's expansion, polling the API as level-triggered reconcilers).

#[allow(clippy::print_stderr)]
fn warn(msg: &str) {
    eprintln!("kube-sim csi: {msg}");
}

fn pvc_path(pvc: &Value) -> String {
    format!(
        "/api/v1/namespaces/{}/persistentvolumeclaims/{}",
        ns_of(pvc),
        name_of(pvc)
    )
}

async fn list(client: &ApiClient, path: &str) -> Option<Vec<Value>> {
    match client.get(path).await {
        Ok(r) if r.ok() => Some(r.json()["items"].as_array().cloned().unwrap_or_default()),
        Ok(r) => {
            warn(&format!("listing {path}: {} {}", r.status, r.message()));
            None
        }
        Err(e) => {
            warn(&e);
            None
        }
    }
}

/// The driver's controller side: the external-provisioner (both drivers) and the external-resizer (`DRIVER` only),
/// every second, as the CSI sidecars' identity.
pub async fn controller(client: ApiClient, kubelet: Arc<Kubelet>) {
    let mut events = super::EventCache::new();
    // Claims whose last controller expansion failed, and when it may be retried.
    let mut backoff: BTreeMap<String, Instant> = BTreeMap::new();
    // Claims the offline driver refused while in use.
    let mut in_use_errors: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (Some(pvcs), Some(pvs), Some(classes)) = (
            list(&client, "/api/v1/persistentvolumeclaims").await,
            list(&client, "/api/v1/persistentvolumes").await,
            list(&client, "/apis/storage.k8s.io/v1/storageclasses").await,
        ) else {
            continue;
        };
        let class_of = |pvc: &Value| {
            let name = pvc["spec"]["storageClassName"].as_str().unwrap_or_default();
            classes.iter().find(|c| name_of(c) == name).cloned()
        };
        for pvc in &pvcs {
            let class = class_of(pvc).unwrap_or(json!({}));
            let wanted = ann(pvc, ANN_PROVISIONER)
                .or_else(|| ann(pvc, ANN_PROVISIONER_BETA))
                .filter(|d| provisions(d));
            if let Some(driver) = wanted
                && let Some(pv) = provision(pvc, &class, driver)
                && !pvs.iter().any(|p| name_of(p) == name_of(&pv))
            {
                provision_one(&client, &mut events, pvc, &class, pv, driver).await;
            }
            let Some(pv) = pvs
                .iter()
                .find(|p| Some(name_of(p)) == pvc["spec"]["volumeName"].as_str())
            else {
                continue;
            };
            let driver = pv["spec"]["csi"]["driver"].as_str().unwrap_or_default();
            if !resizes(driver) {
                continue;
            }
            if let Some(ResizeStep::Expand { new_size, mark }) = resize_step(pvc, pv, driver) {
                let key = format!("{}/{}", ns_of(pvc), name_of(pvc));
                // A claim refused while in use is retried as soon as no pod uses it (the resizer's pod informer
                // requeues it on the pod's deletion); others wait out their backoff.
                let waiting = backoff.get(&key).is_some_and(|t| Instant::now() < *t);
                let freed =
                    waiting && in_use_errors.contains(&key) && !claim_in_use(&client, pvc).await;
                if waiting && !freed {
                    continue;
                }
                let failed = expand_one(
                    &client,
                    &mut events,
                    &mut in_use_errors,
                    pvc,
                    pv,
                    &class,
                    new_size,
                    mark,
                )
                .await;
                if failed {
                    backoff.insert(key, Instant::now() + RETRY);
                } else {
                    backoff.remove(&key);
                }
            }
        }
        for pv in pvs.iter().filter(|pv| should_delete(pv)) {
            // DeleteVolume: the volume's storage on the node goes first (not while a pod still uses it).
            if kubelet.delete_volume(name_of(pv)) {
                delete_one(&client, pv).await;
            }
        }
    }
}

async fn event(
    client: &ApiClient,
    events: &mut super::EventCache,
    involved: &Value,
    reason: &str,
    message: &str,
    type_: &str,
    component: &str,
) {
    let involved = {
        let mut o = involved.clone();
        o["apiVersion"] = json!("v1");
        o["kind"] = json!("PersistentVolumeClaim");
        o
    };
    match super::send_event(client, events, &involved, reason, message, type_, component).await {
        Ok(r) if !r.ok() => warn(&format!("event {reason}: {} {}", r.status, r.message())),
        Err(e) => warn(&e),
        _ => {}
    }
}

async fn provision_one(
    client: &ApiClient,
    events: &mut super::EventCache,
    pvc: &Value,
    class: &Value,
    pv: Value,
    driver: &str,
) {
    // sig-storage-lib-external-provisioner names its event source `<provisioner>_<identity>`.
    let component = format!("{driver}_{NODE_NAME}");
    let key = format!("{}/{}", ns_of(pvc), name_of(pvc));
    event(
        client,
        events,
        pvc,
        "Provisioning",
        &format!("External provisioner is provisioning volume for claim \"{key}\""),
        "Normal",
        &component,
    )
    .await;
    let pv_name = name_of(&pv).to_string();
    match client.post_json("/api/v1/persistentvolumes", &pv).await {
        Ok(r) if r.ok() || r.status == 409 => {
            event(
                client,
                events,
                pvc,
                "ProvisioningSucceeded",
                &format!("Successfully provisioned volume {pv_name}"),
                "Normal",
                &component,
            )
            .await
        }
        Ok(r) => {
            event(
                client,
                events,
                pvc,
                "ProvisioningFailed",
                &format!(
                    "failed to provision volume with StorageClass \"{}\": {}",
                    name_of(class),
                    r.message()
                ),
                "Warning",
                &component,
            )
            .await
        }
        Err(e) => warn(&e),
    }
}

/// One pass of the resizer for a claim; true when the expansion failed (retry later).
#[allow(clippy::too_many_arguments)]
async fn expand_one(
    client: &ApiClient,
    events: &mut super::EventCache,
    in_use_errors: &mut BTreeSet<String>,
    pvc: &Value,
    pv: &Value,
    class: &Value,
    new_size: u64,
    mark: bool,
) -> bool {
    let driver = pv["spec"]["csi"]["driver"]
        .as_str()
        .unwrap_or(DRIVER)
        .to_string();
    let component = format!("external-resizer {driver}");
    let pv_name = name_of(pv).to_string();
    let mut pvc = pvc.clone();
    if mark {
        let mut statuses = pvc["status"]["allocatedResourceStatuses"].clone();
        if !statuses.is_object() {
            statuses = json!({});
        }
        statuses["storage"] = json!("ControllerResizeInProgress");
        let mut allocated = pvc["status"]["allocatedResources"].clone();
        if !allocated.is_object() {
            allocated = json!({});
        }
        allocated["storage"] = json!(format_bytes(new_size));
        let patch = status_patch(
            &pvc,
            json!({"conditions": merge_resize_conditions(&pvc["status"]["conditions"], &[condition("Resizing", "")]),
                   "allocatedResourceStatuses": statuses, "allocatedResources": allocated}),
        );
        match client
            .patch_merge(&format!("{}/status", pvc_path(&pvc)), &patch)
            .await
        {
            Ok(r) if r.ok() => pvc = r.json(),
            // 409: changed meanwhile; the next pass reads it again.
            Ok(r) if r.status == 409 || r.status == 404 => return false,
            Ok(r) => {
                warn(&format!(
                    "marking {pv_name} resizing: {} {}",
                    r.status,
                    r.message()
                ));
                return true;
            }
            Err(e) => {
                warn(&e);
                return true;
            }
        }
    }
    // The offline-only driver refuses an in-use volume (FailedPrecondition, a final error); after that the resizer
    // says so itself, without calling the driver, until no pod uses the claim (expand_and_recover.go usedPVCs).
    let mode = class["parameters"][EXPANSION_PARAM]
        .as_str()
        .unwrap_or("online");
    let key = format!("{}/{}", ns_of(&pvc), name_of(&pvc));
    let in_use = mode == "offline" && claim_in_use(client, &pvc).await;
    if in_use && in_use_errors.contains(&key) {
        event(
            client,
            events,
            &pvc,
            "VolumeResizeFailed",
            &format!(
                "Unable to expand {key} because CSI driver {driver} only supports offline expansion and volume is currently in-use"
            ),
            "Warning",
            &component,
        )
        .await;
        return true;
    }
    event(
        client,
        events,
        &pvc,
        "Resizing",
        &format!("External resizer is resizing volume {pv_name}"),
        "Normal",
        &component,
    )
    .await;
    let failure = if mode == "fail" {
        Some(
            class["parameters"][EXPANSION_ERROR_PARAM]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| {
                    format!(
                        "rpc error: code = Internal desc = could not resize volume \"{pv_name}\""
                    )
                }),
        )
    } else if in_use {
        in_use_errors.insert(key);
        Some(format!(
            "rpc error: code = FailedPrecondition desc = volume {pv_name} is published: {driver} expands volumes only offline"
        ))
    } else {
        in_use_errors.remove(&key);
        None
    };
    if let Some(err) = failure {
        // A final error (util.IsFinalError: not Unavailable, DeadlineExceeded, Canceled, Aborted or
        // ResourceExhausted): the claim gets ControllerResizeError, and the pass is retried later.
        let patch = status_patch(
            &pvc,
            json!({"conditions": merge_resize_conditions(&pvc["status"]["conditions"],
                &[condition("ControllerResizeError", &format!("failed to expand pvc with {err}"))])}),
        );
        let _ = client
            .patch_merge(&format!("{}/status", pvc_path(&pvc)), &patch)
            .await;
        event(
            client,
            events,
            &pvc,
            "VolumeResizeFailed",
            &format!("resize volume \"{pv_name}\" by resizer \"{driver}\" failed: {err}"),
            "Warning",
            &component,
        )
        .await;
        return true;
    }
    let size = allocated_size(class, new_size);
    let r = client
        .patch_merge(
            &format!("/api/v1/persistentvolumes/{pv_name}"),
            &json!({"spec": {"capacity": {"storage": format_bytes(size)}}}),
        )
        .await;
    if !matches!(&r, Ok(r) if r.ok()) {
        warn(&format!("updating the capacity of {pv_name}"));
        return true;
    }
    // Filesystem volumes need the node to grow the filesystem (NodeExpansionRequired).
    let mut statuses = pvc["status"]["allocatedResourceStatuses"].clone();
    statuses["storage"] = json!("NodeResizePending");
    let patch = status_patch(
        &pvc,
        json!({"conditions": merge_resize_conditions(&pvc["status"]["conditions"],
                   &[condition("FileSystemResizePending", FS_RESIZE_PENDING_MESSAGE)]),
               "allocatedResourceStatuses": statuses}),
    );
    match client
        .patch_merge(&format!("{}/status", pvc_path(&pvc)), &patch)
        .await
    {
        Ok(r) if r.ok() => {
            event(
                client,
                events,
                &pvc,
                "FileSystemResizeRequired",
                "Require file system resize of volume on node",
                "Normal",
                &component,
            )
            .await;
            false
        }
        _ => true,
    }
}

/// Some pod that is not finished uses the claim (inuse_pvc_store.go).
async fn claim_in_use(client: &ApiClient, pvc: &Value) -> bool {
    let Some(pods) = list(client, &format!("/api/v1/namespaces/{}/pods", ns_of(pvc))).await else {
        return true;
    };
    pods.iter().any(|p| {
        let phase = p["status"]["phase"].as_str().unwrap_or_default();
        phase != "Succeeded"
            && phase != "Failed"
            && p["spec"]["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v["persistentVolumeClaim"]["claimName"] == name_of(pvc))
    })
}

async fn delete_one(client: &ApiClient, pv: &Value) {
    let path = format!("/api/v1/persistentvolumes/{}", name_of(pv));
    let finalizers: Vec<Value> = pv["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| *f != PROVISIONER_FINALIZER)
        .cloned()
        .collect();
    let patch = json!({"metadata": {"resourceVersion": pv["metadata"]["resourceVersion"], "finalizers": finalizers}});
    if !matches!(client.patch_merge(&path, &patch).await, Ok(r) if r.ok()) {
        return;
    }
    let _ = client
        .delete_json(
            &path,
            &json!({"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": pv["metadata"]["uid"]}}),
        )
        .await;
}

/// The kubelet's part: finishes the expansions the resizer handed to the node, for claims its running pods mount
/// (mirrored by the node), as the system:node identity (NodeRestriction lets a node change only a claim's
/// capacity, conditions and allocatedResourceStatuses).
pub async fn node_expander(client: ApiClient, kubelet: Arc<Kubelet>, mirror: Arc<NodeCache>) {
    let mut done: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for pvc in mirror.list("persistentvolumeclaims", None) {
            let Some(pv) = pvc["spec"]["volumeName"]
                .as_str()
                .and_then(|v| mirror.get("persistentvolumes", "", v))
            else {
                continue;
            };
            let Some(size) = node_expansion(&pvc, &pv) else {
                continue;
            };
            let Some(pod) = kubelet.pods().into_iter().find(|h| {
                h.ns == ns_of(&pvc)
                    && h.volumes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .values()
                        .any(|v| v.pvc.as_deref() == Some(name_of(&pvc)))
            }) else {
                // Not mounted here: "Waiting for user to (re-)start a pod".
                continue;
            };
            let pv_name = name_of(&pv).to_string();
            // The mirror may lag our own write by a refresh: a write that already happened is not repeated.
            let key = (
                pvc["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                pv["spec"]["capacity"]["storage"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            if done.contains(&key) {
                continue;
            }
            let path = format!("{}/status", pvc_path(&pvc));
            let mut statuses = pvc["status"]["allocatedResourceStatuses"].clone();
            statuses["storage"] = json!("NodeResizeInProgress");
            let r = client
                .patch_merge(
                    &path,
                    &status_patch(&pvc, json!({"allocatedResourceStatuses": statuses})),
                )
                .await;
            let Some(pvc) = ok_json(r) else { continue };
            match kubelet.expand_volume(&pv_name, size, true) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    kubelet.backend.event(
                        &pvc,
                        "FileSystemResizeFailed",
                        &format!(
                            "MountVolume.NodeExpandVolume failed for volume \"{pv_name}\" : {e}"
                        ),
                        "Warning",
                    );
                    continue;
                }
            }
            let msg = format!(
                "MountVolume.NodeExpandVolume succeeded for volume \"{pv_name}\" {NODE_NAME}"
            );
            if let Some(pod) = mirror.get("pods", &pod.ns, &pod.name) {
                kubelet
                    .backend
                    .event(&pod, "FileSystemResizeSuccessful", &msg, "Normal");
            }
            kubelet
                .backend
                .event(&pvc, "FileSystemResizeSuccessful", &msg, "Normal");
            // MarkFSResizeFinished.
            let mut capacity = pvc["status"]["capacity"].clone();
            capacity["storage"] = pv["spec"]["capacity"]["storage"].clone();
            let mut statuses = pvc["status"]["allocatedResourceStatuses"].clone();
            if let Some(m) = statuses.as_object_mut() {
                m.remove("storage");
            }
            let statuses = if statuses.as_object().is_some_and(|m| !m.is_empty()) {
                statuses
            } else {
                Value::Null
            };
            let patch = status_patch(
                &pvc,
                json!({"capacity": capacity, "allocatedResourceStatuses": statuses,
                       "conditions": merge_resize_conditions(&pvc["status"]["conditions"], &[])}),
            );
            match client.patch_merge(&path, &patch).await {
                Ok(r) if r.ok() => {
                    done.insert(key);
                }
                Ok(r) => warn(&format!(
                    "finishing the expansion of {}/{}: {} {}",
                    ns_of(&pvc),
                    name_of(&pvc),
                    r.status,
                    r.message()
                )),
                Err(e) => warn(&e),
            }
        }
    }
}

/// The object of a 2xx answer; anything else is retried on the next pass (a 409 silently: a newer write won).
fn ok_json(r: Result<crate::api_client::Reply, String>) -> Option<Value> {
    match r {
        Ok(r) if r.ok() => Some(r.json()),
        Ok(r) if r.status == 409 => None,
        Ok(r) => {
            warn(&format!("{} {}", r.status, r.message()));
            None
        }
        Err(e) => {
            warn(&e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(params: Value, mode: &str) -> Value {
        json!({"metadata": {"name": "standard"}, "provisioner": DRIVER, "volumeBindingMode": mode,
               "reclaimPolicy": "Delete", "parameters": params})
    }

    fn claim(size: &str) -> Value {
        json!({"metadata": {"name": "data", "namespace": "mon", "uid": "u1", "resourceVersion": "7",
                            "annotations": {ANN_PROVISIONER: DRIVER}},
               "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                        "resources": {"requests": {"storage": size}}},
               "status": {"phase": "Pending"}})
    }

    #[test]
    fn sizes_round_up_to_the_class_unit_and_print_canonically() {
        let gi = class(json!({ALLOCATION_UNIT_PARAM: "1Gi"}), "Immediate");
        assert_eq!(allocated_size(&gi, 1500 << 20), 2 << 30);
        assert_eq!(allocated_size(&gi, 2 << 30), 2 << 30);
        assert_eq!(
            allocated_size(&class(json!({}), "Immediate"), 1500 << 20),
            1500 << 20
        );
        assert_eq!(format_bytes(2 << 30), "2Gi");
        assert_eq!(format_bytes(1500 << 20), "1500Mi");
        assert_eq!(format_bytes(1_000_000_000), "1000000000");
    }

    #[test]
    fn provisioning_waits_for_the_selected_node_and_names_the_pv_after_the_claim() {
        let wffc = class(
            json!({ALLOCATION_UNIT_PARAM: "1Gi"}),
            "WaitForFirstConsumer",
        );
        let mut pvc = claim("1500Mi");
        assert!(
            provision(&pvc, &wffc, DRIVER).is_none(),
            "no selected node yet"
        );
        pvc["metadata"]["annotations"][ANN_SELECTED_NODE] = json!("elsewhere");
        assert!(
            provision(&pvc, &wffc, DRIVER).is_none(),
            "another node's claim"
        );
        pvc["metadata"]["annotations"][ANN_SELECTED_NODE] = json!(NODE_NAME);
        assert!(
            provision(&pvc, &wffc, NO_RESIZER_DRIVER).is_none(),
            "another driver's claim"
        );
        let pv = provision(&pvc, &wffc, DRIVER).expect("provisions");
        assert_eq!(pv["metadata"]["name"], "pvc-u1");
        assert_eq!(pv["spec"]["capacity"]["storage"], "2Gi");
        assert_eq!(pv["spec"]["claimRef"]["uid"], "u1");
        assert_eq!(pv["spec"]["csi"]["driver"], DRIVER);
        pvc["spec"]["volumeName"] = json!("pvc-u1");
        assert!(provision(&pvc, &wffc, DRIVER).is_none(), "already bound");
    }

    fn bound(spec: &str, capacity: &str, status: Option<&str>, allocated: Option<&str>) -> Value {
        let mut pvc = claim(spec);
        pvc["spec"]["volumeName"] = json!("pvc-u1");
        pvc["status"] = json!({"phase": "Bound", "capacity": {"storage": capacity}});
        if let Some(s) = status {
            pvc["status"]["allocatedResourceStatuses"] = json!({"storage": s});
        }
        if let Some(a) = allocated {
            pvc["status"]["allocatedResources"] = json!({"storage": a});
        }
        pvc
    }

    fn pv(size: &str) -> Value {
        json!({"metadata": {"name": "pvc-u1"}, "spec": {"capacity": {"storage": size}, "csi": {"driver": DRIVER},
               "claimRef": {"namespace": "mon", "name": "data", "uid": "u1"}}})
    }

    #[test]
    fn the_resizer_follows_expand_and_recover() {
        // Nothing asked.
        assert_eq!(
            resize_step(&bound("1Gi", "1Gi", None, None), &pv("1Gi"), DRIVER),
            None
        );
        // A new request: mark, expand to the request.
        assert_eq!(
            resize_step(&bound("2Gi", "1Gi", None, None), &pv("1Gi"), DRIVER),
            Some(ResizeStep::Expand {
                new_size: 2 << 30,
                mark: true
            })
        );
        // Marked already: expand without a second mark.
        assert_eq!(
            resize_step(
                &bound(
                    "2Gi",
                    "1Gi",
                    Some("ControllerResizeInProgress"),
                    Some("2Gi")
                ),
                &pv("1Gi"),
                DRIVER
            ),
            Some(ResizeStep::Expand {
                new_size: 2 << 30,
                mark: false
            })
        );
        // Handed to the node: the resizer waits.
        assert_eq!(
            resize_step(
                &bound("2Gi", "1Gi", Some("NodeResizePending"), Some("2Gi")),
                &pv("2Gi"),
                DRIVER
            ),
            None
        );
        // No resizer for another driver's volumes.
        assert_eq!(
            resize_step(
                &bound("2Gi", "1Gi", None, None),
                &pv("1Gi"),
                NO_RESIZER_DRIVER
            ),
            None
        );
    }

    #[test]
    fn the_node_finishes_only_what_the_resizer_handed_over() {
        assert_eq!(
            node_expansion(
                &bound("2Gi", "1Gi", Some("NodeResizePending"), Some("2Gi")),
                &pv("2Gi")
            ),
            Some(2 << 30)
        );
        assert_eq!(
            node_expansion(
                &bound(
                    "2Gi",
                    "1Gi",
                    Some("ControllerResizeInProgress"),
                    Some("2Gi")
                ),
                &pv("1Gi")
            ),
            None
        );
        assert_eq!(
            node_expansion(&bound("2Gi", "2Gi", None, None), &pv("2Gi")),
            None
        );
    }

    #[test]
    fn the_driver_family_is_ours_and_only_one_lacks_a_resizer() {
        assert!(provisions(DRIVER) && resizes(DRIVER));
        assert!(provisions("no-fsgroup.csi.kube-sim.io") && resizes("no-fsgroup.csi.kube-sim.io"));
        assert!(provisions(NO_RESIZER_DRIVER) && !resizes(NO_RESIZER_DRIVER));
        // A cloud driver a scenario's class names: played (resize-failing's EBS class); other names are not.
        assert!(provisions("ebs.csi.aws.com") && resizes("ebs.csi.aws.com"));
        assert!(!provisions("pd.csi.storage.gke.io") && !provisions(".csi.kube-sim.io"));
        assert!(!provisions("kube-sim.io/hostpath-csi"));
    }

    #[test]
    fn resize_conditions_are_replaced_others_kept() {
        let old = json!([{"type": "Resizing", "status": "True", "lastTransitionTime": "t0"},
                         {"type": "ModifyingVolume", "status": "True"}]);
        let merged = merge_resize_conditions(&old, &[condition("FileSystemResizePending", "m")]);
        let types: Vec<&str> = merged
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, vec!["ModifyingVolume", "FileSystemResizePending"]);
        let kept = merge_resize_conditions(&old, &[condition("Resizing", "")]);
        assert_eq!(kept[1]["lastTransitionTime"], "t0");
    }
}
