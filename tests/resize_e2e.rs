//! End-to-end tests of `kubectl prom resize` against kube-sim (real API server, real Prometheus processes, real
//! size-limited volumes): the disk-full incident, classes without expansion, shrink refusal, the operator
//! procedure, offline expansion, a failing resizer and `--dry-run`. Each reads the objects back with the real kubectl.
//! They need root and `prometheus`; they print a skip notice otherwise (and fail under `KUBE_SIM_REQUIRE=1`).

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{
    Cluster, items, kubectl, kubectl_json, name, pod_ready, prom, start, start_with_fault,
    wait_until,
};

fn storage_request(pvc: &Value) -> String {
    pvc["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn capacity(pvc: &Value) -> String {
    pvc["status"]["capacity"]["storage"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn bytes(q: &str) -> i128 {
    kubectl_prom::quantity::Quantity::parse(q)
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
}

/// `df -k MOUNT` in the container: the filesystem size in bytes as the pod sees it.
fn df_bytes(cluster: &Cluster, ns: &str, pod: &str, container: &str, mount: &str) -> u64 {
    let out = kubectl(
        cluster,
        &[
            "exec", "-n", ns, pod, "-c", container, "--", "df", "-k", mount,
        ],
    );
    let usage = kubectl_prom::inspect::usage::parse_df_k(&out)
        .unwrap_or_else(|| panic!("unreadable df output: {out}"));
    usage.capacity_bytes
}

fn waiting_reason(pod: &Value) -> String {
    pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["state"]["waiting"]["reason"].as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Pods in `ns` that mount `claim`.
fn pods_mounting(cluster: &Cluster, ns: &str, claim: &str) -> Vec<Value> {
    items(&kubectl_json(cluster, &["get", "pods", "-n", ns]))
        .into_iter()
        .filter(|p| {
            p["metadata"]["deletionTimestamp"].is_null()
                && p["spec"]["volumes"].as_array().is_some_and(|v| {
                    v.iter()
                        .any(|v| v["persistentVolumeClaim"]["claimName"] == claim)
                })
        })
        .collect()
}

/// The container that mounts `claim`, and where (the chart puts its reload sidecar first).
fn data_mount(pod: &Value, claim: &str) -> (String, String) {
    let volume = pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["persistentVolumeClaim"]["claimName"] == claim)
        .and_then(|v| v["name"].as_str())
        .expect("a volume for the claim");
    for container in pod["spec"]["containers"].as_array().into_iter().flatten() {
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            if mount["name"] == volume {
                return (
                    container["name"].as_str().unwrap_or_default().to_string(),
                    mount["mountPath"].as_str().unwrap_or_default().to_string(),
                );
            }
        }
    }
    panic!("no container mounts {volume}: {pod:#}");
}

/// The single data claim of a Deployment-backed scenario, found the way a user would: the pod's claim volume.
fn only_claim(cluster: &Cluster, ns: &str) -> Value {
    let pvcs = items(&kubectl_json(cluster, &["get", "pvc", "-n", ns]));
    assert_eq!(pvcs.len(), 1, "expected one claim in {ns}: {pvcs:#?}");
    pvcs[0].clone()
}

/// The size of the volume bound to `claim` (its PV's `spec.capacity`): what the resizer grew, before a pod's mount
/// moves the claim's own capacity.
fn volume_bytes(cluster: &Cluster, ns: &str, claim: &str) -> i128 {
    let pvc = kubectl_json(cluster, &["get", "pvc", "-n", ns, claim]);
    let pv = pvc["spec"]["volumeName"].as_str().unwrap_or_default();
    let pv = kubectl_json(cluster, &["get", "pv", pv]);
    bytes(pv["spec"]["capacity"]["storage"].as_str().unwrap_or("0"))
}

/// Scale `deploy/prometheus` back to 1 and return the size of the filesystem its Ready pod sees on `claim`.
fn scale_up_and_df(cluster: &Cluster, ns: &str, claim: &str) -> u64 {
    kubectl(
        cluster,
        &["scale", "deploy/prometheus", "-n", ns, "--replicas=1"],
    );
    let pod = wait_until("a Ready pod", Duration::from_secs(90), || {
        pods_mounting(cluster, ns, claim)
            .into_iter()
            .find(pod_ready)
    });
    let (container, mount) = data_mount(&pod, claim);
    df_bytes(cluster, ns, &name(&pod), &container, &mount)
}

#[test]
fn disk_full_goes_from_crash_loop_to_ready_with_a_larger_filesystem() {
    let Some(cluster) = start("disk-full") else {
        return;
    };
    let ns = "monitoring";
    let pvc = only_claim(&cluster, ns);
    let claim = name(&pvc);
    let before = bytes(&capacity(&pvc));
    wait_until(
        "the pod to crash-loop on the full disk",
        Duration::from_secs(90),
        || {
            pods_mounting(&cluster, ns, &claim)
                .iter()
                .any(|p| waiting_reason(p).contains("CrashLoopBackOff"))
                .then_some(())
        },
    );

    let run = prom(
        &cluster,
        &[
            "resize",
            "-n",
            ns,
            "--add",
            "64Mi",
            "--yes",
            "--timeout",
            "2m",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains("no space left on device"),
        "the plan marks the crash loop: {run}"
    );
    assert!(
        run.stderr.contains("server.persistentVolume.size"),
        "chart values change printed: {run}"
    );

    let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    let target = before + (64 << 20);
    assert_eq!(bytes(&storage_request(&pvc)), target);
    assert!(bytes(&capacity(&pvc)) >= target, "capacity: {pvc:#}");

    let pod = wait_until(
        "a Ready pod on the grown claim",
        Duration::from_secs(120),
        || {
            pods_mounting(&cluster, ns, &claim)
                .into_iter()
                .find(pod_ready)
        },
    );
    let (container, mount) = data_mount(&pod, &claim);
    let fs = df_bytes(&cluster, ns, &name(&pod), &container, &mount);
    assert!(
        i128::from(fs) > before && i128::from(fs) >= target * 95 / 100,
        "the filesystem the pod sees is {fs} bytes; before {before}, target {target}"
    );
}

#[test]
fn class_without_expansion_is_refused_with_the_admission_text_then_fixed_with_the_explicit_step() {
    let Some(cluster) = start("resize-no-expansion") else {
        return;
    };
    let ns = "monitoring";
    let pvc = only_claim(&cluster, ns);
    let claim = name(&pvc);
    let class = pvc["spec"]["storageClassName"]
        .as_str()
        .unwrap()
        .to_string();
    let before = storage_request(&pvc);

    let run = prom(&cluster, &["resize", "-n", ns, "--add", "32Mi", "--yes"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"),
        "{run}"
    );
    assert!(run.stderr.contains("--allow-expansion"), "{run}");
    assert_eq!(
        storage_request(&kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim])),
        before
    );
    let sc = kubectl_json(&cluster, &["get", "storageclass", &class]);
    assert_ne!(sc["allowVolumeExpansion"], true);

    // The real apiserver path agrees: kubectl's own patch is refused with that text.
    let refused = cluster
        .kubectl()
        .args([
            "patch",
            "pvc",
            &claim,
            "-n",
            ns,
            "-p",
            r#"{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}"#,
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("only dynamically provisioned pvc can be resized")
    );

    let run = prom(
        &cluster,
        &[
            "resize",
            "-n",
            ns,
            "--add",
            "32Mi",
            "--allow-expansion",
            "--yes",
            "--timeout",
            "2m",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("cluster-wide"), "{run}");
    let sc = kubectl_json(&cluster, &["get", "storageclass", &class]);
    assert_eq!(sc["allowVolumeExpansion"], true);
    let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert_eq!(
        bytes(&capacity(&pvc)),
        bytes(&before) + (32 << 20),
        "{pvc:#}"
    );
}

/// A shrink is refused (exit 2). The size the claim already is (what resize's own continue command asks once an
/// interrupted expansion finished by itself) is a plan with nothing to change: exit 0 without --yes or a terminal
/// (nothing to confirm), the claim read back as done, and nothing patched — not the claim, and not the class that
/// does not allow expansion (nothing is sent, so admission never has to allow it).
#[test]
fn shrink_is_refused_and_the_same_size_is_nothing_to_change() {
    let Some(cluster) = start("resize-no-expansion") else {
        return;
    };
    let ns = "monitoring";
    let pvc = only_claim(&cluster, ns);
    let claim = name(&pvc);
    let size = capacity(&pvc);
    assert_eq!(
        storage_request(&pvc),
        size,
        "the scenario's claim is settled"
    );
    let class = pvc["spec"]["storageClassName"].as_str().unwrap_or_default();
    let class_before = kubectl_json(&cluster, &["get", "storageclass", class]);
    let run = prom(&cluster, &["resize", "-n", ns, "--size", "1Mi", "--yes"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("never shrinks"), "{run}");
    let nothing =
        format!("nothing to change: every claim already is {size} ({claim}: capacity {size})");
    let run = prom(
        &cluster,
        &["resize", "-n", ns, "--size", &size, "--dry-run"],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains(&nothing), "{run}");
    let run = prom(
        &cluster,
        &["resize", "-n", ns, "--size", &size, "-o", "json"],
    );
    assert_eq!(
        run.code, 0,
        "no terminal and no --yes, but nothing to confirm: {run}"
    );
    assert!(run.stderr.contains(&nothing), "{run}");
    assert!(
        !run.stderr.contains("restart pod"),
        "nothing to restart: {run}"
    );
    let report = run.json();
    assert_eq!(report["kind"], "Resize");
    assert_eq!(report["dryRun"], false);
    assert_eq!(report["target"], size.as_str());
    assert_eq!(report["steps"], serde_json::json!([]), "{report:#}");
    assert!(
        report["notes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n.as_str().is_some_and(|n| n.contains(&nothing))),
        "the result says it on stdout too: {report:#}"
    );
    assert_eq!(report["claims"][0]["name"], claim.as_str());
    assert_eq!(report["claims"][0]["state"], "done", "{report:#}");
    assert_eq!(
        report["claims"][0]["capacityAfter"],
        size.as_str(),
        "{report:#}"
    );
    let after = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    for field in ["resourceVersion", "generation"] {
        assert_eq!(
            after["metadata"][field], pvc["metadata"][field],
            "the claim was not touched ({field})"
        );
    }
    let class_after = kubectl_json(&cluster, &["get", "storageclass", class]);
    assert_eq!(
        class_after["metadata"]["resourceVersion"], class_before["metadata"]["resourceVersion"],
        "the class was not touched"
    );
    assert_ne!(class_after["allowVolumeExpansion"], true);
    let run = prom(&cluster, &["resize", "-n", ns, "--size", "12XB"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("unknown suffix `XB`"), "{run}");
}

#[test]
fn dry_run_changes_nothing() {
    let Some(cluster) = start("resize-online") else {
        return;
    };
    let ns = "monitoring";
    let pvc = only_claim(&cluster, ns);
    let claim = name(&pvc);
    let run = prom(
        &cluster,
        &[
            "resize",
            "-n",
            ns,
            "--increase",
            "50%",
            "--dry-run",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let report = run.json();
    assert_eq!(report["apiVersion"], "kubectl-prom/v1");
    assert_eq!(report["kind"], "Resize");
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["claims"][0]["name"], claim.as_str());
    assert_eq!(report["claims"][0]["state"], "dry-run");
    assert_eq!(report["steps"][0]["result"], "dry-run");
    let after = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert_eq!(storage_request(&after), storage_request(&pvc));
    assert_eq!(
        after["metadata"]["resourceVersion"],
        pvc["metadata"]["resourceVersion"]
    );
    // Without --yes and without a terminal, a real run is refused and changes nothing either.
    let run = prom(&cluster, &["resize", "-n", ns, "--increase", "50%"]);
    assert_eq!(run.code, 4, "{run}");
    let after = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert_eq!(
        after["metadata"]["resourceVersion"],
        pvc["metadata"]["resourceVersion"]
    );
}

// Real control plane, a driver that expands offline only, run the way the in-use refusal tells a user to: the workload
// scaled to 0 first. The simulated pre-1.24 model (FileSystemResizePending while the pod runs, then a restart) cannot
// arise on a 1.24+ cluster: the external-resizer refuses the claim while any unfinished pod names it
// (kubernetes-csi/external-resizer pkg/controller/inuse_pvc_store.go), see
// an_offline_only_driver_in_use_is_explained_with_the_scale_to_zero_that_grows_it. With no pod, resize alone grows the
// volume and restarts nothing; the claim then waits in FileSystemResizePending ("Waiting for user to (re-)start a pod",
// kubernetes-csi/external-resizer pkg/controller/resize_status.go) until a pod mounts it, when the kubelet grows the
// filesystem (kubernetes pkg/volume/util/operationexecutor/operation_generator.go, expandVolumeDuringMount). resize
// used to wait out its whole --timeout there and exit 1; it now says the filesystem grows on the next mount and exits 0.
#[test]
fn offline_expansion_of_a_workload_scaled_to_zero_grows_without_restarting_a_pod() {
    let Some(cluster) = start("resize-offline") else {
        return;
    };
    let ns = "monitoring";
    let pvc = only_claim(&cluster, ns);
    let claim = name(&pvc);
    let before = bytes(&capacity(&pvc));
    kubectl(
        &cluster,
        &["scale", "deploy/prometheus", "-n", ns, "--replicas=0"],
    );
    wait_until("the pods to be gone", Duration::from_secs(60), || {
        items(&kubectl_json(&cluster, &["get", "pods", "-n", ns]))
            .is_empty()
            .then_some(())
    });
    let run = prom(
        &cluster,
        &[
            "resize",
            "deploy/prometheus",
            "-n",
            ns,
            "--add",
            "32Mi",
            "--yes",
            "--timeout",
            "2m",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let report = run.json();
    assert_eq!(report["claims"][0]["name"], claim.as_str(), "{report:#}");
    assert_eq!(report["claims"][0]["state"], "grows-on-mount", "{report:#}");
    assert_eq!(report["claims"][0]["podRestarted"], false, "{report:#}");
    assert!(
        report["notes"]
            .to_string()
            .contains("grows when one does; start the workload again"),
        "{report:#}"
    );
    // Read back: the request in place, the volume (PV) grown, the claim waiting for a mount.
    let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert_eq!(bytes(&storage_request(&pvc)), before + (32 << 20));
    assert!(
        volume_bytes(&cluster, ns, &claim) >= before + (32 << 20),
        "{pvc:#}"
    );
    // Nothing was started or restarted for it: the workload is still at 0.
    assert!(
        items(&kubectl_json(&cluster, &["get", "pods", "-n", ns])).is_empty(),
        "{run}"
    );
    let fs = scale_up_and_df(&cluster, ns, &claim);
    assert!(
        i128::from(fs) >= (before + (32 << 20)) * 95 / 100,
        "filesystem {fs} after the resize with no pod"
    );
    let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert!(bytes(&capacity(&pvc)) >= before + (32 << 20), "{pvc:#}");
}

#[test]
fn a_failing_resizer_is_surfaced_with_its_message_and_a_non_zero_exit() {
    let Some(cluster) = start("resize-failing") else {
        return;
    };
    let ns = "monitoring";
    let run = prom(
        &cluster,
        &[
            "resize",
            "-n",
            ns,
            "--add",
            "32Mi",
            "--yes",
            "--timeout",
            "1m",
        ],
    );
    assert_ne!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains("VolumeModificationRateExceeded"),
        "{run}"
    );
    assert!(
        run.stderr.contains("once every 6 hours"),
        "EBS warning in the plan: {run}"
    );
}

#[test]
fn operator_flavour_pauses_grows_recreates_and_unpauses_without_deleting_pods() {
    let Some(cluster) = start("kps-healthy") else {
        return;
    };
    let ns = "monitoring";
    let crs = items(&kubectl_json(&cluster, &["get", "prometheus", "-n", ns]));
    assert_eq!(crs.len(), 1);
    let cr = name(&crs[0]);
    let label = format!("operator.prometheus.io/name={cr}");
    let pvcs = items(&kubectl_json(
        &cluster,
        &["get", "pvc", "-n", ns, "-l", &label],
    ));
    assert!(!pvcs.is_empty());
    let before = pvcs.iter().map(|p| bytes(&capacity(p))).max().unwrap();
    let sts_before = items(&kubectl_json(
        &cluster,
        &["get", "statefulsets", "-n", ns, "-l", &label],
    ));
    let pods_before: Vec<(String, Value)> = items(&kubectl_json(
        &cluster,
        &["get", "pods", "-n", ns, "-l", &label],
    ))
    .iter()
    .map(|p| (name(p), p["metadata"]["uid"].clone()))
    .collect();
    assert!(!pods_before.is_empty());

    let target_arg = format!("prometheus/{cr}");
    let run = prom(
        &cluster,
        &[
            "resize",
            &target_arg,
            "-n",
            ns,
            "--add",
            "32Mi",
            "--yes",
            "--timeout",
            "2m",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    for expected in [
        "pause",
        "--cascade=orphan",
        "resume",
        "recreated by the operator",
    ] {
        assert!(run.stderr.contains(expected), "missing `{expected}`: {run}");
    }

    let cr_after = kubectl_json(&cluster, &["get", "prometheus", "-n", ns, &cr]);
    assert_ne!(cr_after["spec"]["paused"], true, "left unpaused");
    let requested = cr_after["spec"]["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(bytes(&requested), before + (32 << 20));
    for pvc in items(&kubectl_json(
        &cluster,
        &["get", "pvc", "-n", ns, "-l", &label],
    )) {
        assert_eq!(bytes(&capacity(&pvc)), before + (32 << 20), "{pvc:#}");
    }
    let sts_after = items(&kubectl_json(
        &cluster,
        &["get", "statefulsets", "-n", ns, "-l", &label],
    ));
    assert_eq!(sts_after.len(), sts_before.len());
    for (old, new) in sts_before.iter().zip(&sts_after) {
        assert_ne!(
            old["metadata"]["uid"], new["metadata"]["uid"],
            "StatefulSet recreated"
        );
        let template =
            &new["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"];
        assert_eq!(bytes(template.as_str().unwrap()), before + (32 << 20));
    }
    for (pod, uid) in &pods_before {
        let now = kubectl_json(&cluster, &["get", "pod", "-n", ns, pod]);
        assert_eq!(&now["metadata"]["uid"], uid, "pod {pod} was never deleted");
    }
}

#[test]
fn a_missing_permission_is_refused_at_pre_flight_before_any_change() {
    let Some(cluster) = start("resize-restricted") else {
        return;
    };
    let ns = "monitoring";
    let pvc = only_claim(&cluster, ns);
    let claim = name(&pvc);
    let context = cluster.restricted_context();
    // kubectl's own answer for the same question.
    let can_i = cluster
        .kubectl()
        .args([
            "auth",
            "can-i",
            "patch",
            &format!("persistentvolumeclaims/{claim}"),
            "-n",
            ns,
            "--context",
            context,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&can_i.stdout).trim(), "no");

    let run = prom(
        &cluster,
        &[
            "resize",
            "--context",
            context,
            "-n",
            ns,
            "--add",
            "32Mi",
            "--yes",
        ],
    );
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains(&format!(
            "not allowed to patch persistentvolumeclaims/{claim} in {ns}"
        )),
        "{run}"
    );
    assert!(
        run.stderr.contains(&format!(
            "kubectl auth can-i patch persistentvolumeclaims/{claim} -n {ns}"
        )),
        "{run}"
    );
    let after = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert_eq!(
        after["metadata"]["resourceVersion"], pvc["metadata"]["resourceVersion"],
        "nothing was sent"
    );
}

#[test]
fn chart_statefulset_grows_every_claim_and_recreates_the_statefulset_around_its_pods() {
    let Some(cluster) = start("chart-sts") else {
        return;
    };
    let ns = "monitoring";
    // The real StatefulSet controller creates pods one at a time (OrderedReady: pod 1 and its claim only once pod 0 is
    // Ready), so the scenario can be up with one pod.
    support::wait_settled(&cluster, ns);
    let pvcs = items(&kubectl_json(&cluster, &["get", "pvc", "-n", ns]));
    assert!(pvcs.len() >= 2, "{pvcs:#?}");
    let before = pvcs.iter().map(|p| bytes(&capacity(p))).max().unwrap();
    let sts = items(&kubectl_json(&cluster, &["get", "statefulsets", "-n", ns]));
    assert_eq!(sts.len(), 1);
    let sts_name = name(&sts[0]);
    let pods_before: Vec<(String, Value)> =
        items(&kubectl_json(&cluster, &["get", "pods", "-n", ns]))
            .iter()
            .map(|p| (name(p), p["metadata"]["uid"].clone()))
            .collect();

    let run = prom(
        &cluster,
        &[
            "resize",
            &format!("sts/{sts_name}"),
            "-n",
            ns,
            "--add",
            "32Mi",
            "--yes",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let report = run.json();
    assert_eq!(report["flavour"], "helm-chart-statefulset");
    assert!(
        report["notes"]
            .to_string()
            .contains("server.persistentVolume.size"),
        "{report:#}"
    );
    let target = before + (32 << 20);
    for pvc in items(&kubectl_json(&cluster, &["get", "pvc", "-n", ns])) {
        assert_eq!(bytes(&capacity(&pvc)), target, "{pvc:#}");
    }
    let after = kubectl_json(&cluster, &["get", "statefulset", "-n", ns, &sts_name]);
    assert_ne!(
        after["metadata"]["uid"], sts[0]["metadata"]["uid"],
        "recreated"
    );
    let template =
        after["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
            .as_str()
            .unwrap()
            .to_string();
    assert_eq!(bytes(&template), target);
    for (pod, uid) in &pods_before {
        let now = kubectl_json(&cluster, &["get", "pod", "-n", ns, pod]);
        assert_eq!(&now["metadata"]["uid"], uid, "pod {pod} kept running");
    }
}

#[test]
fn operator_failure_after_the_pause_leaves_the_resource_unpaused_with_its_old_request() {
    // The first claim patch answers 409 Conflict (as if someone edited the claim meanwhile).
    let Some(cluster) = start_with_fault("kps-healthy", "409:PATCH:/persistentvolumeclaims/:1")
    else {
        return;
    };
    let ns = "monitoring";
    let cr = name(&items(&kubectl_json(&cluster, &["get", "prometheus", "-n", ns]))[0]);
    let label = format!("operator.prometheus.io/name={cr}");
    let cr_before = kubectl_json(&cluster, &["get", "prometheus", "-n", ns, &cr]);
    let request_path = "/spec/storage/volumeClaimTemplate/spec/resources/requests/storage";
    let old_request = cr_before
        .pointer(request_path)
        .cloned()
        .expect("a storage request");
    let sts_before = items(&kubectl_json(
        &cluster,
        &["get", "statefulsets", "-n", ns, "-l", &label],
    ));

    let run = prom(
        &cluster,
        &[
            "resize",
            &format!("prometheus/{cr}"),
            "-n",
            ns,
            "--add",
            "1Gi",
            "--yes",
        ],
    );
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("409 Conflict"), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "prometheus/{cr} is unpaused again with its storage request back at"
        )),
        "{run}"
    );

    let cr_after = kubectl_json(&cluster, &["get", "prometheus", "-n", ns, &cr]);
    assert_ne!(cr_after["spec"]["paused"], true, "never left paused");
    assert_eq!(
        cr_after.pointer(request_path),
        Some(&old_request),
        "storage request restored"
    );
    // The operator leaves the StatefulSet alone after the unpause: its claim template is unchanged (the apiserver
    // defaults the operator's update before comparing it with the stored object).
    assert!(!sts_before.is_empty());
    std::thread::sleep(Duration::from_secs(2));
    let sts_after = items(&kubectl_json(
        &cluster,
        &["get", "statefulsets", "-n", ns, "-l", &label],
    ));
    let uids = |list: &[Value]| -> Vec<Value> {
        list.iter().map(|s| s["metadata"]["uid"].clone()).collect()
    };
    assert_eq!(
        uids(&sts_after),
        uids(&sts_before),
        "the StatefulSet was neither deleted nor recreated"
    );
}

#[test]
fn a_conflict_on_a_claim_is_replanned_for_the_same_size_and_applied_once() {
    // The first claim patch answers 409 Conflict, as a concurrent edit of the claim would.
    let Some(cluster) = start_with_fault("resize-online", "409:PATCH:/persistentvolumeclaims/:1")
    else {
        return;
    };
    let ns = "monitoring";
    let pvc = only_claim(&cluster, ns);
    let claim = name(&pvc);
    let before = bytes(&capacity(&pvc));
    // --add is relative: a re-plan must keep the absolute target, not add twice.
    let run = prom(
        &cluster,
        &["resize", "-n", ns, "--add", "32Mi", "--yes", "-o", "json"],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("409 Conflict"), "{run}");
    assert!(run.stderr.contains("planning again"), "{run}");
    let results: Vec<String> = run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(results, ["failed", "applied"], "{run}");
    let after = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert_eq!(bytes(&storage_request(&after)), before + (32 << 20));
    assert_eq!(bytes(&capacity(&after)), before + (32 << 20));
}

/// Issue 18 item 7: `--increase` rounds to a step that fits the size, not to a whole Gi. 10% of a 64Mi claim is
/// 70.4Mi: the claim is asked for 71Mi (a class without an allocation unit, under 1Gi: whole Mi), and the plan says
/// it rounded. The old code asked for 1Gi, sixteen times the claim.
#[test]
fn increase_rounds_to_a_step_that_fits_the_size_and_says_so() {
    let Some(cluster) = start("resize-online") else {
        return;
    };
    let ns = "monitoring";
    let pvc = only_claim(&cluster, ns);
    let claim = name(&pvc);
    assert_eq!(storage_request(&pvc), "64Mi", "the scenario's claim");
    let run = prom(
        &cluster,
        &[
            "resize",
            "-n",
            ns,
            "--increase",
            "10%",
            "--yes",
            "--timeout",
            "2m",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains("rounded up to 71Mi"),
        "the plan shows the rounding: {run}"
    );
    let after = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert_eq!(bytes(&storage_request(&after)), 71 << 20, "{after:#}");
}

/// Move the Deployment `prometheus`'s data claim to `class` (real control plane): scale to 0, delete the claim, create
/// it again in the class with the same size, scale back to 1 and wait until the pod is Ready on the new volume.
fn move_claim_to_class(cluster: &Cluster, ns: &str, claim: &str, size: &str, class: &str) {
    kubectl(
        cluster,
        &["scale", "deploy/prometheus", "-n", ns, "--replicas=0"],
    );
    wait_until("the pods to be gone", Duration::from_secs(60), || {
        pods_mounting(cluster, ns, claim).is_empty().then_some(())
    });
    kubectl(cluster, &["delete", "pvc", "-n", ns, claim, "--wait=true"]);
    let manifest = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        manifest.path(),
        serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim, "namespace": ns},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": class,
                     "resources": {"requests": {"storage": size}}}})
        .to_string(),
    )
    .expect("write the claim");
    kubectl(
        cluster,
        &["create", "-f", &manifest.path().to_string_lossy()],
    );
    kubectl(
        cluster,
        &["scale", "deploy/prometheus", "-n", ns, "--replicas=1"],
    );
    wait_until(
        "a Ready pod on the new claim",
        Duration::from_secs(90),
        || {
            pods_mounting(cluster, ns, claim)
                .iter()
                .any(pod_ready)
                .then_some(())
        },
    );
}

// Real control plane: a class whose driver has no resizer (`standard-no-resizer`). The controller-manager records
// `ExternalExpanding` and nothing else ever happens (kubernetes pkg/controller/volume/expand/expand_controller.go);
// resize used to wait out the whole --timeout and print CAPACITY `-`.
#[test]
fn a_class_without_a_resizer_is_reported_from_the_hand_off_not_after_the_timeout() {
    let Some(cluster) = start("resize-online") else {
        return;
    };
    let ns = "monitoring";
    let claim = name(&only_claim(&cluster, ns));
    move_claim_to_class(&cluster, ns, &claim, "64Mi", "standard-no-resizer");
    let started = std::time::Instant::now();
    let run = prom(
        &cluster,
        &[
            "resize",
            "-n",
            ns,
            "--add",
            "32Mi",
            "--yes",
            "--timeout",
            "3m",
        ],
    );
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{run}");
    assert!(
        took < Duration::from_secs(100),
        "reported after {took:?}, not from the hand-off: {run}"
    );
    assert!(run.stderr.contains("no resizer started"), "{run}");
    assert!(run.stderr.contains("ExternalExpanding"), "{run}");
    assert!(
        run.stderr.contains("no-resizer.csi.kube-sim.io"),
        "names the driver: {run}"
    );
    // The final table shows the capacity the claim has, not `-`.
    let row = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&claim))
        .unwrap_or_else(|| panic!("a row for {claim}: {run}"));
    assert!(row.contains("64Mi"), "{row}");
    // Read back: the request stays in place, the capacity is unchanged, and the controller-manager's event is there.
    let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert_eq!(storage_request(&pvc), "96Mi");
    assert_eq!(capacity(&pvc), "64Mi");
    let events = items(&kubectl_json(
        &cluster,
        &[
            "get",
            "events",
            "-n",
            ns,
            "--field-selector",
            &format!("involvedObject.name={claim}"),
        ],
    ));
    assert!(
        events.iter().any(|e| e["reason"] == "ExternalExpanding"),
        "{events:#?}"
    );
}

// Real control plane: a driver that expands only offline (class `offline` of resize-offline). A 1.24+ external-resizer
// refuses the claim while any pod that is not finished names it (kubernetes-csi/external-resizer
// pkg/controller/inuse_pvc_store.go), so it never reaches FileSystemResizePending and a pod restart cannot help (the
// ReplicaSet starts a new pod at once). resize used to exit 1 with the driver's bare FailedPrecondition; now it says
// to scale the workload to 0, and doing what it says grows the volume.
#[test]
fn an_offline_only_driver_in_use_is_explained_with_the_scale_to_zero_that_grows_it() {
    let Some(cluster) = start("resize-offline") else {
        return;
    };
    let ns = "monitoring";
    let pvc = only_claim(&cluster, ns);
    let claim = name(&pvc);
    let before = bytes(&capacity(&pvc));
    let run = prom(
        &cluster,
        &[
            "resize",
            "-n",
            ns,
            "--add",
            "32Mi",
            "--yes",
            "--timeout",
            "2m",
        ],
    );
    assert_eq!(run.code, 1, "{run}");
    let scale_down = format!("kubectl scale deploy/prometheus -n {ns} --replicas=0");
    assert!(run.stderr.contains(&scale_down), "{run}");
    assert!(run.stderr.contains("offline expansion"), "{run}");
    // No pod was deleted: a restart cannot help here.
    assert!(!run.stderr.contains("Restart pod"), "{run}");
    // Doing what it says grows the claim and the filesystem.
    kubectl(
        &cluster,
        &["scale", "deploy/prometheus", "-n", ns, "--replicas=0"],
    );
    wait_until(
        "the claim to grow with no pod using it",
        Duration::from_secs(120),
        || (volume_bytes(&cluster, ns, &claim) >= before + (32 << 20)).then_some(()),
    );
    let fs = scale_up_and_df(&cluster, ns, &claim);
    assert!(
        i128::from(fs) >= (before + (32 << 20)) * 95 / 100,
        "filesystem {fs} after the scale-down"
    );
}
