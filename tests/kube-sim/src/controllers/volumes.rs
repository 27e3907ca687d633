//! Persistent volumes: the PV controller and a CSI provisioner for **any** StorageClass (dynamic provisioning of
//! `pvc-<uid>` PVs, binding, WaitForFirstConsumer, static binding, reclaim on claim deletion, the
//! `kubernetes.io/pvc-protection` / `pv-protection` finalizers), and the external-resizer + kubelet expansion
//! state machine of prometheus-facts §6.1: `Resizing` / ControllerResizeInProgress → `FileSystemResizePending` /
//! NodeResizePending → done (capacity updated, conditions cleared), or `ControllerResizeError` with
//! `VolumeResizeFailed` events, retried.
//!
//! StorageClass `parameters` select the simulated driver's behaviour:
//! - `kube-sim.io/expansion`: `online` (default: the filesystem grows while a pod uses the volume), `offline`
//!   (grows only once the pods that used it at resize time are gone and a new pod mounts it), `fail` (controller
//!   expansion fails with `kube-sim.io/expansion-error`, default an EBS-like rate-limit text).
use super::{is_deleting, name_of, ns_of};
use crate::quantity;
use crate::server::ApiServer;
use serde_json::{Value, json};

pub const EXPANSION_PARAM: &str = "kube-sim.io/expansion";
pub const EXPANSION_ERROR_PARAM: &str = "kube-sim.io/expansion-error";
/// Pods (uids) that used the volume when node expansion became pending; offline expansion waits for them to go.
const RESIZE_PODS_ANNOTATION: &str = "kube-sim.io/resize-pods";
const RETRY_SECONDS: i64 = 5;

pub fn reconcile(api: &ApiServer) {
    let (pvcs, _) = api.store.list("persistentvolumeclaims", None);
    let (pods, _) = api.store.list("pods", None);
    for pvc in &pvcs {
        let users: Vec<&Value> = pods.iter().filter(|p| uses_claim(p, pvc)).collect();
        if is_deleting(pvc) {
            release_claim(api, pvc, &users);
            continue;
        }
        if !pvc["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "kubernetes.io/pvc-protection"))
        {
            let _ = api
                .store
                .mutate("persistentvolumeclaims", ns_of(pvc), name_of(pvc), |o| {
                    add_finalizer(o, "kubernetes.io/pvc-protection")
                });
        }
        if pvc["status"]["phase"] != "Bound" {
            bind(api, pvc, &users);
        } else {
            expand(api, pvc, &users);
        }
    }
}

fn add_finalizer(o: &mut Value, f: &str) {
    let mut fins = o["metadata"]["finalizers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !fins.iter().any(|x| x == f) {
        fins.push(json!(f));
    }
    o["metadata"]["finalizers"] = json!(fins);
}

fn remove_finalizer(o: &mut Value, f: &str) {
    if let Some(fins) = o["metadata"]["finalizers"].as_array_mut() {
        fins.retain(|x| x != f);
    }
}

fn uses_claim(pod: &Value, pvc: &Value) -> bool {
    ns_of(pod) == ns_of(pvc)
        && pod["status"]["phase"] != "Succeeded"
        && pod["status"]["phase"] != "Failed"
        && pod["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == json!(name_of(pvc)))
}

fn class_of(api: &ApiServer, pvc: &Value) -> Option<Value> {
    let name = pvc["spec"]["storageClassName"].as_str()?;
    api.store.get("storageclasses.storage.k8s.io", "", name)
}

/// Provision (dynamic) or match (static) a PV and bind both sides.
fn bind(api: &ApiServer, pvc: &Value, users: &[&Value]) {
    let ns = ns_of(pvc);
    let class_name = pvc["spec"]["storageClassName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let request = pvc["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .unwrap_or("0")
        .to_string();
    let pv = if let Some(vn) = pvc["spec"]["volumeName"].as_str().filter(|v| !v.is_empty()) {
        api.store.get("persistentvolumes", "", vn)
    } else if class_name.is_empty() {
        let (pvs, _) = api.store.list("persistentvolumes", None);
        let need = quantity::parse(&request).unwrap_or(0.0);
        pvs.into_iter().find(|pv| {
            pv["status"]["phase"] == "Available"
                && pv["spec"]["storageClassName"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty()
                && pv["spec"]["capacity"]["storage"]
                    .as_str()
                    .and_then(quantity::parse)
                    .unwrap_or(0.0)
                    >= need
        })
    } else {
        let Some(class) = class_of(api, pvc) else {
            api.store.record_event(
                pvc,
                "ProvisioningFailed",
                &format!("storageclass.storage.k8s.io \"{class_name}\" not found"),
                "Warning",
                "persistentvolume-controller",
            );
            return;
        };
        if class["volumeBindingMode"] == "WaitForFirstConsumer"
            && users.iter().all(|p| p["spec"]["nodeName"].is_null())
        {
            api.store.record_event(
                pvc,
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
                "Normal",
                "persistentvolume-controller",
            );
            return;
        }
        let provisioner = class["provisioner"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let pv_name = format!(
            "pvc-{}",
            pvc["metadata"]["uid"].as_str().unwrap_or_default()
        );
        if let Some(existing) = api.store.get("persistentvolumes", "", &pv_name) {
            Some(existing)
        } else {
            api.store.record_event(
                pvc,
                "Provisioning",
                &format!(
                    "External provisioner is provisioning volume for claim \"{ns}/{}\"",
                    name_of(pvc)
                ),
                "Normal",
                &provisioner,
            );
            let pv = json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": provisioner, "volume.kubernetes.io/provisioner-deletion-secret-name": "", "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                             "finalizers": ["external-provisioner.volume.kubernetes.io/finalizer", "kubernetes.io/pv-protection"]},
                "spec": {
                    "capacity": {"storage": request}, "accessModes": pvc["spec"]["accessModes"], "storageClassName": class_name,
                    "persistentVolumeReclaimPolicy": class["reclaimPolicy"].as_str().unwrap_or("Delete"), "volumeMode": pvc["spec"]["volumeMode"].as_str().unwrap_or("Filesystem"),
                    "csi": {"driver": provisioner, "volumeHandle": format!("{pv_name}-handle"), "fsType": "ext4"},
                    "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": ns, "name": name_of(pvc), "uid": pvc["metadata"]["uid"], "resourceVersion": pvc["metadata"]["resourceVersion"]},
                    "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [crate::bootstrap::NODE_NAME]}]}]}},
                },
            });
            match super::create(api, "persistentvolumes", "", pv) {
                Ok(pv) => {
                    api.store.record_event(
                        pvc,
                        "ProvisioningSucceeded",
                        &format!("Successfully provisioned volume {pv_name}"),
                        "Normal",
                        &provisioner,
                    );
                    Some(pv)
                }
                Err(e) => {
                    api.store.record_event(
                        pvc,
                        "ProvisioningFailed",
                        &e.message,
                        "Warning",
                        &provisioner,
                    );
                    None
                }
            }
        }
    };
    let Some(pv) = pv else { return };
    let pv_name = name_of(&pv).to_string();
    let claim_ref = json!({"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": ns, "name": name_of(pvc), "uid": pvc["metadata"]["uid"]});
    let _ = api.store.mutate("persistentvolumes", "", &pv_name, |o| {
        if o["spec"]["claimRef"].is_null() {
            o["spec"]["claimRef"] = claim_ref.clone();
        }
        o["status"] = json!({"phase": "Bound", "lastPhaseTransitionTime": o["status"]["lastPhaseTransitionTime"].as_str().map(String::from).unwrap_or_else(crate::clock::now_rfc3339)});
        o["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    });
    let provisioner = pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"].clone();
    let capacity = pv["spec"]["capacity"]["storage"].clone();
    let modes = pv["spec"]["accessModes"].clone();
    let _ = api
        .store
        .mutate("persistentvolumeclaims", ns, name_of(pvc), |o| {
            o["spec"]["volumeName"] = json!(pv_name);
            let a = &mut o["metadata"]["annotations"];
            a["pv.kubernetes.io/bind-completed"] = json!("yes");
            a["pv.kubernetes.io/bound-by-controller"] = json!("yes");
            if provisioner.is_string() {
                a["volume.beta.kubernetes.io/storage-provisioner"] = provisioner.clone();
                a["volume.kubernetes.io/storage-provisioner"] = provisioner.clone();
            }
            o["status"] =
                json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": capacity}});
        });
}

/// Claim deleted: wait until no pod uses it (pvc-protection), then release the PV per its reclaim policy.
fn release_claim(api: &ApiServer, pvc: &Value, users: &[&Value]) {
    if !users.is_empty() {
        return;
    }
    if let Some(pv_name) = pvc["spec"]["volumeName"].as_str()
        && let Some(pv) = api.store.get("persistentvolumes", "", pv_name)
    {
        if pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete" {
            let _ = api.store.mutate("persistentvolumes", "", pv_name, |o| {
                o["metadata"]["finalizers"] = json!([])
            });
            let _ = api.store.delete("persistentvolumes", "", pv_name, false);
        } else {
            let _ = api.store.mutate("persistentvolumes", "", pv_name, |o| {
                o["status"]["phase"] = json!("Released")
            });
        }
    }
    let _ = api
        .store
        .mutate("persistentvolumeclaims", ns_of(pvc), name_of(pvc), |o| {
            remove_finalizer(o, "kubernetes.io/pvc-protection")
        });
}

fn set_condition(o: &mut Value, t: &str, message: &str) {
    let now = crate::clock::now_rfc3339();
    let mut conds: Vec<Value> = o["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match conds.iter_mut().find(|c| c["type"] == t) {
        Some(c) if c["message"] == json!(message) => c["lastProbeTime"] = json!(now),
        Some(c) => {
            *c = json!({"type": t, "status": "True", "message": message, "lastProbeTime": now, "lastTransitionTime": now})
        }
        None => {
            let mut c = json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
            if !message.is_empty() {
                c["message"] = json!(message);
            }
            conds.push(c);
        }
    }
    conds.retain(|c| {
        c["type"] == t
            || ![
                "Resizing",
                "FileSystemResizePending",
                "ControllerResizeError",
                "NodeResizeError",
            ]
            .contains(&c["type"].as_str().unwrap_or_default())
    });
    o["status"]["conditions"] = json!(conds);
}

fn expand(api: &ApiServer, pvc: &Value, users: &[&Value]) {
    let ns = ns_of(pvc);
    let name = name_of(pvc);
    let request = pvc["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (Some(req), Some(cap)) = (
        quantity::parse(&request),
        pvc["status"]["capacity"]["storage"]
            .as_str()
            .and_then(quantity::parse),
    ) else {
        return;
    };
    let state = pvc["status"]["allocatedResourceStatuses"]["storage"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if req <= cap && state.is_empty() {
        return;
    }
    let Some(pv_name) = pvc["spec"]["volumeName"].as_str().map(String::from) else {
        return;
    };
    let class = class_of(api, pvc).unwrap_or(json!({}));
    let driver = class["provisioner"]
        .as_str()
        .unwrap_or("hostpath.csi.kube-sim.io")
        .to_string();
    let mode = class["parameters"][EXPANSION_PARAM]
        .as_str()
        .unwrap_or("online")
        .to_string();
    match state.as_str() {
        "" => {
            let _ = api
                .store
                .mutate_status("persistentvolumeclaims", ns, name, |o| {
                    o["status"]["allocatedResources"] = json!({"storage": request});
                    o["status"]["allocatedResourceStatuses"] =
                        json!({"storage": "ControllerResizeInProgress"});
                    set_condition(o, "Resizing", "");
                });
            api.store.record_event(
                pvc,
                "Resizing",
                &format!("External resizer is resizing volume {pv_name}"),
                "Normal",
                &format!("external-resizer {driver}"),
            );
        }
        "ControllerResizeInProgress" => {
            if mode == "fail" {
                let last = pvc["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["type"] == "ControllerResizeError")
                    .and_then(|c| c["lastProbeTime"].as_str())
                    .and_then(crate::clock::parse_rfc3339);
                if last.is_some_and(|t| crate::clock::now_unix() - t < RETRY_SECONDS) {
                    return;
                }
                let err = class["parameters"][EXPANSION_ERROR_PARAM].as_str().map(String::from).unwrap_or_else(|| {
                    format!("rpc error: code = Internal desc = Could not resize volume \"{pv_name}-handle\": operation error EC2: ModifyVolume, api error VolumeModificationRateExceeded: You've reached the maximum modification rate per volume limit. Wait at least 6 hours between modifications per EBS volume.")
                });
                let _ = api
                    .store
                    .mutate_status("persistentvolumeclaims", ns, name, |o| {
                        set_condition(
                            o,
                            "ControllerResizeError",
                            &format!("failed to expand pvc with {err}"),
                        )
                    });
                api.store.record_event(
                    pvc,
                    "VolumeResizeFailed",
                    &format!("resize volume \"{pv_name}\" by resizer \"{driver}\" failed: {err}"),
                    "Warning",
                    &format!("external-resizer {driver}"),
                );
                return;
            }
            let _ = api.store.mutate("persistentvolumes", "", &pv_name, |o| {
                o["spec"]["capacity"]["storage"] = json!(request)
            });
            let using: Vec<String> = users
                .iter()
                .filter_map(|p| p["metadata"]["uid"].as_str().map(String::from))
                .collect();
            let _ = api.store.mutate_status("persistentvolumeclaims", ns, name, |o| {
                o["status"]["allocatedResourceStatuses"] = json!({"storage": "NodeResizePending"});
                o["metadata"]["annotations"][RESIZE_PODS_ANNOTATION] = json!(using.join(","));
                set_condition(o, "FileSystemResizePending", "Waiting for user to (re-)start a pod to finish file system resize of volume on node.");
            });
            api.store.record_event(
                pvc,
                "FileSystemResizeRequired",
                "Require file system resize of volume on node",
                "Normal",
                &format!("external-resizer {driver}"),
            );
        }
        "NodeResizePending" => {
            // The kubelet expands the filesystem of a mounted volume: online drivers while the pod runs, offline
            // ones only on a fresh mount by a pod that was not using it at resize time.
            let at_resize: Vec<&str> = pvc["metadata"]["annotations"][RESIZE_PODS_ANNOTATION]
                .as_str()
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .collect();
            let mounted = users
                .iter()
                .filter(|p| !is_deleting(p) && p["spec"]["nodeName"].is_string());
            let eligible: Vec<&&Value> = if mode == "offline" {
                if users
                    .iter()
                    .any(|p| at_resize.contains(&p["metadata"]["uid"].as_str().unwrap_or_default()))
                {
                    return;
                }
                mounted.collect()
            } else {
                mounted.collect()
            };
            if eligible.is_empty() {
                return;
            }
            let bytes = quantity::bytes(&request).unwrap_or(0);
            if let Some(agent) = api.node_agent() {
                match agent.expand_volume(&pv_name, bytes, mode != "offline") {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        let _ = api
                            .store
                            .mutate_status("persistentvolumeclaims", ns, name, |o| {
                                set_condition(o, "NodeResizeError", &e)
                            });
                        api.store.record_event(
                            pvc,
                            "FileSystemResizeFailed",
                            &format!(
                                "MountVolume.NodeExpandVolume failed for volume \"{pv_name}\" : {e}"
                            ),
                            "Warning",
                            "kubelet",
                        );
                        return;
                    }
                }
            }
            let _ = api
                .store
                .mutate_status("persistentvolumeclaims", ns, name, |o| {
                    o["status"]["capacity"]["storage"] = json!(request);
                    if let Some(s) = o["status"].as_object_mut() {
                        s.remove("allocatedResourceStatuses");
                        s.remove("conditions");
                    }
                    if let Some(a) = o["metadata"]["annotations"].as_object_mut() {
                        a.remove(RESIZE_PODS_ANNOTATION);
                    }
                });
            api.store.record_event(
                pvc,
                "FileSystemResizeSuccessful",
                &format!(
                    "MountVolume.NodeExpandVolume succeeded for volume \"{pv_name}\" {}",
                    crate::bootstrap::NODE_NAME
                ),
                "Normal",
                "kubelet",
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testing;

    fn pvc(name: &str, class: &str, size: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "default"},
               "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class, "resources": {"requests": {"storage": size}}}})
    }

    fn class(name: &str, expandable: bool, mode: &str) -> Value {
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name}, "provisioner": "ebs.csi.aws.com",
               "allowVolumeExpansion": expandable, "parameters": {EXPANSION_PARAM: mode}})
    }

    fn pod_using(claim: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user", "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "i"}], "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}})
    }

    fn patch_size(
        api: &ApiServer,
        name: &str,
        size: &str,
    ) -> Result<Value, crate::status::ApiError> {
        let rt = api.registry.by_key("persistentvolumeclaims").unwrap();
        let old = api
            .store
            .get("persistentvolumeclaims", "default", name)
            .unwrap();
        let mut new = old.clone();
        new["spec"]["resources"]["requests"]["storage"] = json!(size);
        crate::rest::update(api, &rt, &old, new, "", false)
    }

    fn conditions(api: &ApiServer, name: &str) -> Vec<String> {
        let p = api
            .store
            .get("persistentvolumeclaims", "default", name)
            .unwrap();
        p["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["type"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn any_class_provisions_and_binds() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, class("gp3", false, "online")).unwrap();
        crate::bootstrap::apply_object(&api, pvc("data", "gp3", "1Gi")).unwrap();
        testing::settle(&api, 5);
        let p = api
            .store
            .get("persistentvolumeclaims", "default", "data")
            .unwrap();
        assert_eq!(p["status"]["phase"], "Bound");
        assert_eq!(p["status"]["capacity"]["storage"], "1Gi");
        let pv = api
            .store
            .get(
                "persistentvolumes",
                "",
                p["spec"]["volumeName"].as_str().unwrap(),
            )
            .unwrap();
        assert_eq!(pv["spec"]["claimRef"]["name"], "data");
        assert_eq!(pv["spec"]["csi"]["driver"], "ebs.csi.aws.com");
        assert_eq!(pv["status"]["phase"], "Bound");
    }

    #[test]
    fn expansion_refused_by_class_and_shrink_refused() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, class("fixed", false, "online")).unwrap();
        crate::bootstrap::apply_object(&api, pvc("data", "fixed", "1Gi")).unwrap();
        testing::settle(&api, 5);
        let e = patch_size(&api, "data", "2Gi").unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "persistentvolumeclaims \"data\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
        );
        let e = patch_size(&api, "data", "500Mi").unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "PersistentVolumeClaim \"data\" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
        );
    }

    #[test]
    fn online_expansion_walks_resizing_then_filesystem_pending_then_done() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, pvc("data", "standard", "1Gi")).unwrap();
        crate::bootstrap::apply_object(&api, pod_using("data")).unwrap();
        testing::settle(&api, 5);
        patch_size(&api, "data", "2Gi").unwrap();
        reconcile(&api);
        assert_eq!(conditions(&api, "data"), vec!["Resizing"]);
        let p = api
            .store
            .get("persistentvolumeclaims", "default", "data")
            .unwrap();
        assert_eq!(
            p["status"]["allocatedResourceStatuses"]["storage"],
            "ControllerResizeInProgress"
        );
        assert_eq!(p["status"]["allocatedResources"]["storage"], "2Gi");
        reconcile(&api);
        assert_eq!(conditions(&api, "data"), vec!["FileSystemResizePending"]);
        reconcile(&api);
        let p = api
            .store
            .get("persistentvolumeclaims", "default", "data")
            .unwrap();
        assert_eq!(p["status"]["capacity"]["storage"], "2Gi");
        assert!(
            p["status"]["conditions"].is_null()
                && p["status"]["allocatedResourceStatuses"].is_null()
        );
        let (events, _) = api.store.list("events", Some("default"));
        let reasons: Vec<&str> = events
            .iter()
            .filter(|e| e["involvedObject"]["name"] == "data")
            .map(|e| e["reason"].as_str().unwrap())
            .collect();
        for r in [
            "Resizing",
            "FileSystemResizeRequired",
            "FileSystemResizeSuccessful",
        ] {
            assert!(reasons.contains(&r), "{r} in {reasons:?}");
        }
    }

    #[test]
    fn offline_expansion_waits_for_the_pod_to_be_replaced() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, class("offline", true, "offline")).unwrap();
        crate::bootstrap::apply_object(&api, pvc("data", "offline", "1Gi")).unwrap();
        crate::bootstrap::apply_object(&api, pod_using("data")).unwrap();
        testing::settle(&api, 5);
        patch_size(&api, "data", "2Gi").unwrap();
        testing::settle(&api, 5);
        assert_eq!(conditions(&api, "data"), vec!["FileSystemResizePending"]);
        api.store.delete("pods", "default", "user", false).unwrap();
        crate::bootstrap::apply_object(&api, pod_using("data")).unwrap();
        testing::settle(&api, 5);
        let p = api
            .store
            .get("persistentvolumeclaims", "default", "data")
            .unwrap();
        assert_eq!(p["status"]["capacity"]["storage"], "2Gi");
    }

    #[test]
    fn failing_expansion_reports_controller_resize_error() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, class("ebs", true, "fail")).unwrap();
        crate::bootstrap::apply_object(&api, pvc("data", "ebs", "1Gi")).unwrap();
        testing::settle(&api, 5);
        patch_size(&api, "data", "2Gi").unwrap();
        testing::settle(&api, 5);
        assert_eq!(conditions(&api, "data"), vec!["ControllerResizeError"]);
        let (events, _) = api.store.list("events", Some("default"));
        let failed = events
            .iter()
            .find(|e| e["reason"] == "VolumeResizeFailed")
            .unwrap();
        let msg = failed["message"].as_str().unwrap();
        assert!(
            msg.starts_with("resize volume \"pvc-")
                && msg
                    .contains("by resizer \"ebs.csi.aws.com\" failed: rpc error: code = Internal")
                && msg.ends_with("Wait at least 6 hours between modifications per EBS volume."),
            "{msg}"
        );
        let p = api
            .store
            .get("persistentvolumeclaims", "default", "data")
            .unwrap();
        assert_eq!(p["status"]["capacity"]["storage"], "1Gi");
    }
}
