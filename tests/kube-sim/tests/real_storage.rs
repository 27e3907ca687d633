//! Storage on the real control plane (issue 16): kube-sim's CSI driver (`src/node/csi.rs`) beside the real PV
//! controller, scheduler, expand controller and admission — read back with the real kubectl.
//! - a WaitForFirstConsumer claim waits (the real controller's `WaitForFirstConsumer` event) until a pod is
//!   scheduled, then is provisioned on the node the scheduler selected, bound, mounted as a volume of its size
//!   (`df` in the pod, the kubelet's stats/summary);
//! - expansion runs the real sequence: `ExternalExpanding` (controller-manager), `Resizing`,
//!   `FileSystemResizeRequired` (resizer, PV capacity first), `FileSystemResizeSuccessful` (node), claim capacity;
//!   the filesystem grows while the pod runs and keeps its data;
//! - a class without `allowVolumeExpansion` is refused by the API server's admission;
//! - a driver with no resizer leaves the claim waiting (`ExternalExpanding`, no condition, capacity unchanged);
//! - a class with a 1Gi allocation unit rounds up (1500Mi → 2Gi), on provisioning and on expansion;
//! - deleting the claim deletes its PV (reclaim policy Delete, done by the provisioner).
//!
//! Needs the built world, like real_control_plane.rs.
mod real_support;

use kube_sim::cluster::Cluster;
use real_support::{get_json, ok, patch_claim_size, run, wait_for, world_kubectl};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const CLAIMS: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: storage}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: data, namespace: storage}
  spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 64Mi}}}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: fixed, namespace: storage}
  spec: {accessModes: [ReadWriteOnce], storageClassName: standard-fixed, resources: {requests: {storage: 32Mi}}}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: stuck, namespace: storage}
  spec: {accessModes: [ReadWriteOnce], storageClassName: standard-no-resizer, resources: {requests: {storage: 32Mi}}}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: rounded, namespace: storage}
  spec: {accessModes: [ReadWriteOnce], storageClassName: standard-gi, resources: {requests: {storage: 1500Mi}}}
"#;

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: user, namespace: storage}
spec:
  containers:
  - name: sh
    image: busybox:1.36
    command: [sh, -c, "while true; do sleep 1; done"]
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: fixed, mountPath: /fixed}
    - {name: stuck, mountPath: /stuck}
    - {name: rounded, mountPath: /rounded}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: fixed, persistentVolumeClaim: {claimName: fixed}}
  - {name: stuck, persistentVolumeClaim: {claimName: stuck}}
  - {name: rounded, persistentVolumeClaim: {claimName: rounded}}
"#;

fn claim(k: &Path, kc: &Path, name: &str) -> Value {
    get_json(k, kc, &["pvc", name, "-n", "storage"])
}

/// The claim's Events: (reason, firstTimestamp), oldest first.
fn events(k: &Path, kc: &Path, name: &str) -> Vec<(String, String)> {
    let events = get_json(
        k,
        kc,
        &[
            "events",
            "-n",
            "storage",
            "--field-selector",
            &format!("involvedObject.name={name},involvedObject.kind=PersistentVolumeClaim"),
            "--sort-by",
            ".firstTimestamp",
        ],
    );
    events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("reason"), s("firstTimestamp"))
        })
        .collect()
}

fn reasons(k: &Path, kc: &Path, name: &str) -> Vec<String> {
    events(k, kc, name).into_iter().map(|(r, _)| r).collect()
}

/// `df -k` of a mount point in the pod: total KiB.
fn df_kib(k: &Path, kc: &Path, path: &str) -> u64 {
    let out = ok(
        k,
        kc,
        &["exec", "-n", "storage", "user", "--", "df", "-k", path],
        None,
    );
    out.lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("df output: {out}"))
}

#[test]
fn claims_are_provisioned_expanded_refused_and_rounded_as_on_a_real_cluster() {
    let Some(cluster) = Cluster::start_real_or_skip() else {
        return;
    };
    let kc = cluster.kubeconfig_path().to_path_buf();
    let k = world_kubectl();

    // The driver's install: a default class, the others by name.
    let classes = ok(&k, &kc, &["get", "storageclass"], None);
    assert!(
        classes
            .lines()
            .any(|l| l.starts_with("standard (default)") && l.contains("hostpath.csi.kube-sim.io")),
        "{classes}"
    );

    // WaitForFirstConsumer: no consumer, no volume (the real PV controller says so).
    ok(&k, &kc, &["apply", "-f", "-"], Some(CLAIMS));
    let (waited, seen) = wait_for(Duration::from_secs(30), || {
        let r = reasons(&k, &kc, "data");
        (r.iter().any(|r| r == "WaitForFirstConsumer"), r)
    });
    assert!(waited, "no WaitForFirstConsumer event: {seen:?}");
    let data = claim(&k, &kc, "data");
    assert_eq!(data["status"]["phase"], "Pending", "{data}");
    assert_eq!(
        data["spec"]["storageClassName"], "standard",
        "the default class was not assigned"
    );

    // A consumer: scheduled, the node selected, provisioned, bound, mounted at its size.
    ok(&k, &kc, &["apply", "-f", "-"], Some(POD));
    ok(
        &k,
        &kc,
        &[
            "wait",
            "-n",
            "storage",
            "--for=condition=Ready",
            "pod/user",
            "--timeout=120s",
        ],
        None,
    );
    let data = claim(&k, &kc, "data");
    assert_eq!(data["status"]["phase"], "Bound", "{data}");
    assert_eq!(
        data["metadata"]["annotations"]["volume.kubernetes.io/selected-node"],
        "kube-sim-node"
    );
    let uid = data["metadata"]["uid"].as_str().unwrap_or_default();
    let pv_name = format!("pvc-{uid}");
    assert_eq!(data["spec"]["volumeName"], pv_name.as_str());
    let pv = get_json(&k, &kc, &["pv", &pv_name]);
    assert_eq!(pv["spec"]["csi"]["driver"], "hostpath.csi.kube-sim.io");
    assert_eq!(pv["spec"]["capacity"]["storage"], "64Mi");
    assert_eq!(pv["status"]["phase"], "Bound");
    let r = reasons(&k, &kc, "data");
    for want in [
        "WaitForFirstConsumer",
        "Provisioning",
        "ProvisioningSucceeded",
    ] {
        assert!(r.iter().any(|x| x == want), "{want} missing from {r:?}");
    }
    assert_eq!(df_kib(&k, &kc, "/data"), 64 * 1024);
    let summary: Value = serde_json::from_str(&ok(
        &k,
        &kc,
        &[
            "get",
            "--raw",
            "/api/v1/nodes/kube-sim-node/proxy/stats/summary",
        ],
        None,
    ))
    .expect("summary JSON");
    let vol = summary["pods"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["volume"].as_array().into_iter().flatten())
        .find(|v| v["pvcRef"]["name"] == "data")
        .cloned()
        .unwrap_or_default();
    assert_eq!(vol["capacityBytes"], 64u64 << 20, "{summary}");

    // Online expansion, the real sequence, the data kept.
    ok(
        &k,
        &kc,
        &[
            "exec",
            "-n",
            "storage",
            "user",
            "--",
            "sh",
            "-c",
            "echo kept > /data/marker",
        ],
        None,
    );
    patch_claim_size(&k, &kc, "storage", "data", "128Mi");
    let (grown, data) = wait_for(Duration::from_secs(60), || {
        let c = claim(&k, &kc, "data");
        (c["status"]["capacity"]["storage"] == "128Mi", c)
    });
    assert!(grown, "the claim did not reach 128Mi: {data}");
    assert!(
        data["status"]["allocatedResourceStatuses"].is_null(),
        "{data}"
    );
    assert_eq!(data["status"]["allocatedResources"]["storage"], "128Mi");
    assert!(
        data["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|c| c["type"] != "Resizing" && c["type"] != "FileSystemResizePending"),
        "{data}"
    );
    let pv = get_json(&k, &kc, &["pv", &pv_name]);
    assert_eq!(pv["spec"]["capacity"]["storage"], "128Mi");
    // In order (RFC 3339 seconds compare as text; events of the same second may list either way).
    let seen = events(&k, &kc, "data");
    let first = |reason: &str| {
        seen.iter()
            .find(|(r, _)| r == reason)
            .map(|(_, t)| t.clone())
    };
    let order = [
        "ExternalExpanding",
        "Resizing",
        "FileSystemResizeRequired",
        "FileSystemResizeSuccessful",
    ];
    let times: Vec<Option<String>> = order.iter().map(|x| first(x)).collect();
    assert!(
        times.iter().all(Option::is_some) && times.windows(2).all(|w| w[0] <= w[1]),
        "expansion events {order:?} not all there in order: {seen:?}"
    );
    assert_eq!(df_kib(&k, &kc, "/data"), 128 * 1024);
    let marker = ok(
        &k,
        &kc,
        &["exec", "-n", "storage", "user", "--", "cat", "/data/marker"],
        None,
    );
    assert_eq!(marker.trim(), "kept");

    // A class without allowVolumeExpansion: the API server's admission refuses.
    let refused = run(
        &k,
        &kc,
        &[
            "patch",
            "pvc",
            "fixed",
            "-n",
            "storage",
            "-p",
            r#"{"spec":{"resources":{"requests":{"storage":"64Mi"}}}}"#,
        ],
        None,
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"),
        "{err}"
    );

    // No resizer for the driver: accepted, then nothing but the controller-manager's ExternalExpanding.
    patch_claim_size(&k, &kc, "storage", "stuck", "64Mi");
    let (waiting, r) = wait_for(Duration::from_secs(30), || {
        let r = reasons(&k, &kc, "stuck");
        (r.iter().any(|x| x == "ExternalExpanding"), r)
    });
    assert!(waiting, "no ExternalExpanding: {r:?}");
    // Several resizer passes (1 s each) later, still nothing happened.
    std::thread::sleep(Duration::from_secs(4));
    let stuck = claim(&k, &kc, "stuck");
    assert_eq!(stuck["status"]["capacity"]["storage"], "32Mi", "{stuck}");
    assert!(stuck["status"]["conditions"].is_null(), "{stuck}");
    assert!(
        !reasons(&k, &kc, "stuck").iter().any(|x| x == "Resizing"),
        "something resized a claim whose driver has no resizer"
    );

    // A 1Gi allocation unit: 1500Mi provisions 2Gi; expanding to 2100Mi gives 3Gi.
    let rounded = claim(&k, &kc, "rounded");
    assert_eq!(rounded["status"]["capacity"]["storage"], "2Gi", "{rounded}");
    assert_eq!(df_kib(&k, &kc, "/rounded"), 2 * 1024 * 1024);
    patch_claim_size(&k, &kc, "storage", "rounded", "2100Mi");
    let (grown, rounded) = wait_for(Duration::from_secs(60), || {
        let c = claim(&k, &kc, "rounded");
        (c["status"]["capacity"]["storage"] == "3Gi", c)
    });
    assert!(grown, "the rounded claim did not reach 3Gi: {rounded}");
    assert_eq!(df_kib(&k, &kc, "/rounded"), 3 * 1024 * 1024);

    // The claim goes, its volume goes (reclaim policy Delete, done by the provisioner).
    ok(
        &k,
        &kc,
        &[
            "delete",
            "pod",
            "user",
            "-n",
            "storage",
            "--wait=true",
            "--timeout=60s",
        ],
        None,
    );
    ok(&k, &kc, &["delete", "pvc", "data", "-n", "storage"], None);
    let (gone, _) = wait_for(Duration::from_secs(60), || {
        (
            !run(&k, &kc, &["get", "pv", &pv_name], None)
                .status
                .success(),
            (),
        )
    });
    assert!(gone, "PV {pv_name} was not deleted with its claim");
}
