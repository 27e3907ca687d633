//! End-to-end tests of `kubectl prom fix-perms` against kube-sim on the real control plane (real API server, the real
//! operator as a pod, real Prometheus processes, real volume ownership): incident 5 (operator, permission denied →
//! Ready through the `Prometheus` resource), incident 4 (hand-made Deployment with a chmod initContainer), a hostPath
//! volume and a CSI driver with `fsGroupPolicy: None` (the explicit one-off chown path), `--dry-run` and the
//! no-terminal refusal, a second run that changes nothing, and a 409 Conflict on the Deployment patch (read again,
//! planned again, applied). Objects are read back with the real kubectl. They need root and the built world; they
//! print a skip notice otherwise (and fail under `KUBE_SIM_REQUIRE=1`).

mod support;

use serde_json::Value;
use support::{Cluster, kubectl, kubectl_json, name, pod_ready, prom, start, start_with_fault};

/// The hostPath the `fixperms-hostpath` scenario mounts (the kubelet creates it root-owned when missing).
const HOST_PATH: &str = "/var/tmp/kube-sim-fixperms-hostpath";

/// `fix-perms --yes -o json` that must succeed.
fn fix(cluster: &Cluster, target: &[&str]) -> Value {
    let mut args = vec![
        "fix-perms",
        "-n",
        "monitoring",
        "--yes",
        "-o",
        "json",
        "--timeout",
        "3m",
    ];
    args.extend(target);
    let run = prom(cluster, &args);
    assert_eq!(run.code, 0, "fix-perms failed:\n{run}");
    run.json()
}

/// Pods in `monitoring` matching a label selector.
fn pods(cluster: &Cluster, selector: &str) -> Vec<Value> {
    kubectl_json(
        cluster,
        &["get", "pods", "-n", "monitoring", "-l", selector],
    )["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `ls DIR` inside the Prometheus container: what the real process wrote there.
fn ls(cluster: &Cluster, pod: &str, container: &str, dir: &str) -> String {
    kubectl(
        cluster,
        &[
            "exec",
            "-n",
            "monitoring",
            pod,
            "-c",
            container,
            "--",
            "ls",
            dir,
        ],
    )
}

/// Every pod matching `selector` is Ready and its Prometheus wrote its TSDB (WAL and the query log) under `dir`.
fn assert_running_and_writing(cluster: &Cluster, selector: &str, container: &str, dir: &str) {
    // Not the old pods still terminating: a real Deployment's rollout is complete while the replaced pod is shut down
    // (its object stays until the kubelet has stopped it), and exec into it is refused.
    let pods: Vec<Value> = pods(cluster, selector)
        .into_iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    assert!(!pods.is_empty(), "no pod matches {selector}");
    for pod in &pods {
        assert!(
            pod_ready(pod),
            "pod {} is not Ready: {}",
            name(pod),
            pod["status"]
        );
        let listing = ls(cluster, &name(pod), container, dir);
        assert!(
            listing.lines().any(|l| l == "wal"),
            "no wal in {dir}: {listing}"
        );
        assert!(
            listing.lines().any(|l| l == "queries.active"),
            "no queries.active in {dir}: {listing}"
        );
    }
}

/// A second run finds nothing to do and sends nothing (the workload's generation stays).
fn assert_second_run_is_a_noop(cluster: &Cluster, workload: &[&str]) {
    let generation = |c: &Cluster| {
        kubectl_json(c, &[&["get", "-n", "monitoring"], workload].concat())["metadata"]["generation"].clone()
    };
    let before = generation(cluster);
    let again = fix(cluster, &[]);
    assert_eq!(again["outcome"]["status"], "noop", "{again:#}");
    assert_eq!(again["plan"]["changes"], serde_json::json!([]));
    assert_eq!(
        generation(cluster),
        before,
        "a no-op run must not change the workload"
    );
    let human = prom(cluster, &["fix-perms", "-n", "monitoring"]);
    assert_eq!(human.code, 0, "{human}");
    assert!(human.stdout.contains("nothing to change"), "{human}");
}

fn change_kinds(report: &Value) -> Vec<String> {
    report["plan"]["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn incident_5_operator_pod_becomes_ready_through_the_prometheus_resource() {
    let Some(cluster) = start("kps-permission-denied") else {
        return;
    };
    let cr = "kps-kube-prometheus-stack-prometheus";
    let selector = format!("operator.prometheus.io/name={cr}");
    assert!(
        pods(&cluster, &selector).iter().all(|p| !pod_ready(p)),
        "the scenario starts with Prometheus not Ready"
    );
    let report = fix(&cluster, &[]);
    assert_eq!(report["outcome"]["status"], "fixed", "{report:#}");
    let evidence = report["diagnosis"]["evidence"].to_string();
    assert!(
        evidence.contains("queries.active: permission denied"),
        "{evidence}"
    );
    for change in report["plan"]["changes"].as_array().expect("changes") {
        assert_eq!(
            change["target"]["kind"], "Prometheus",
            "only the resource is patched: {change:#}"
        );
        assert_eq!(change["target"]["name"], cr);
    }
    assert_eq!(
        report["plan"]["values"]["key"], "prometheus.prometheusSpec.securityContext",
        "{report:#}"
    );
    let verification = &report["outcome"]["verification"];
    assert_eq!(verification["writable"], true, "{verification:#}");
    assert_eq!(verification["permissionDenied"], serde_json::json!([]));

    let resource = kubectl_json(&cluster, &["get", "prometheus", cr, "-n", "monitoring"]);
    let context = &resource["spec"]["securityContext"];
    assert_eq!(context["fsGroup"], 2000, "{context}");
    assert_eq!(context["fsGroupChangePolicy"], "OnRootMismatch");
    assert_eq!(context["runAsUser"], 1000, "existing fields are kept");
    assert_eq!(
        context["seccompProfile"]["type"], "RuntimeDefault",
        "existing fields are kept"
    );
    // The operator, not us, carried it into the StatefulSet.
    let sts = kubectl_json(
        &cluster,
        &[
            "get",
            "statefulset",
            &format!("prometheus-{cr}"),
            "-n",
            "monitoring",
        ],
    );
    assert_eq!(
        sts["spec"]["template"]["spec"]["securityContext"]["fsGroup"],
        2000
    );
    assert_running_and_writing(&cluster, &selector, "prometheus", "/prometheus");
    let logs = kubectl(
        &cluster,
        &[
            "logs",
            "-n",
            "monitoring",
            &format!("prometheus-{cr}-0"),
            "-c",
            "prometheus",
        ],
    );
    assert!(!logs.contains("permission denied"), "{logs}");

    assert_second_run_is_a_noop(&cluster, &["prometheus", cr]);
}

#[test]
fn incident_4_handmade_deployment_gets_fs_group_and_loses_the_chmod_init_container() {
    let Some(cluster) = start("handmade-chmod") else {
        return;
    };
    let before = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus", "-n", "monitoring"],
    );
    let init: Vec<String> = before["spec"]["template"]["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(name_of_container)
        .collect();
    assert!(!init.is_empty(), "the scenario has the chmod initContainer");

    let report = fix(&cluster, &["deploy/prometheus"]);
    assert_eq!(
        change_kinds(&report),
        vec!["securityContext", "removeInitContainers"],
        "{report:#}"
    );
    assert_eq!(
        report["diagnosis"]["chmodInitContainers"][0]["name"],
        init[0].as_str()
    );

    let after = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus", "-n", "monitoring"],
    );
    let spec = &after["spec"]["template"]["spec"];
    assert_eq!(spec["securityContext"]["fsGroup"], 65534, "{spec}");
    assert_eq!(spec["securityContext"]["runAsUser"], 65534);
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        spec["securityContext"]["fsGroupChangePolicy"],
        "OnRootMismatch"
    );
    assert!(
        spec.get("initContainers").is_none_or(Value::is_null),
        "initContainers left: {}",
        spec["initContainers"]
    );
    let tsdb = report["diagnosis"]["dataVolume"]["tsdbPath"]
        .as_str()
        .expect("tsdb path")
        .to_string();
    assert_running_and_writing(&cluster, "app=prometheus", "prometheus", &tsdb);

    assert_second_run_is_a_noop(&cluster, &["deploy", "prometheus"]);
}

fn name_of_container(c: &Value) -> String {
    c["name"].as_str().unwrap_or_default().to_string()
}

/// Removes the scenario's host directory before and after the test, so every run starts root-owned.
struct HostDir;

impl HostDir {
    fn fresh() -> HostDir {
        let _ = std::fs::remove_dir_all(HOST_PATH);
        HostDir
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(HOST_PATH);
    }
}

#[test]
fn host_path_gets_the_explicit_one_off_chown_which_is_removed_afterwards() {
    use std::os::unix::fs::MetadataExt;
    let _dir = HostDir::fresh();
    let Some(cluster) = start("fixperms-hostpath") else {
        return;
    };
    let meta = std::fs::metadata(HOST_PATH).expect("the kubelet created the hostPath");
    assert_eq!(
        (meta.uid(), meta.mode() & 0o777),
        (0, 0o755),
        "starts root-owned 0755"
    );

    let report = fix(&cluster, &[]);
    assert_eq!(
        change_kinds(&report),
        vec!["securityContext", "addChownStep", "removeInitContainers"],
        "{report:#}"
    );
    assert_eq!(
        report["diagnosis"]["dataVolume"]["fsGroup"]["applies"],
        false
    );
    let add = &report["plan"]["changes"][1];
    assert!(
        add["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("hostPath"),
        "{add:#}"
    );
    assert_eq!(report["outcome"]["status"], "fixed");

    let meta = std::fs::metadata(HOST_PATH).expect("hostPath");
    assert_eq!(
        (meta.uid(), meta.gid()),
        (65534, 65534),
        "chowned to Prometheus's user"
    );
    let spec = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus", "-n", "monitoring"],
    )["spec"]["template"]["spec"]
        .clone();
    assert!(
        spec.get("initContainers").is_none_or(Value::is_null),
        "the one-off step is gone: {}",
        spec["initContainers"]
    );
    assert_eq!(spec["securityContext"]["runAsUser"], 65534);
    assert_running_and_writing(&cluster, "app=prometheus", "prometheus", "/prometheus");
    assert!(
        std::path::Path::new(HOST_PATH).join("wal").is_dir(),
        "the real Prometheus wrote its WAL on the host path"
    );

    assert_second_run_is_a_noop(&cluster, &["deploy", "prometheus"]);
}

#[test]
fn csi_driver_without_fs_group_support_gets_the_chown_path() {
    let Some(cluster) = start("fixperms-csi-none") else {
        return;
    };
    let report = fix(&cluster, &[]);
    // The securityContext already has everything; only the chown step (and its removal) is planned.
    assert_eq!(
        change_kinds(&report),
        vec!["addChownStep", "removeInitContainers"],
        "{report:#}"
    );
    let reason = report["diagnosis"]["dataVolume"]["fsGroup"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("fsGroupPolicy: None"), "{reason}");
    assert_running_and_writing(&cluster, "app=prometheus", "prometheus", "/prometheus");
    assert_second_run_is_a_noop(&cluster, &["deploy", "prometheus"]);
}

#[test]
fn dry_run_and_a_missing_terminal_change_nothing() {
    let Some(cluster) = start("handmade-chmod") else {
        return;
    };
    let read = |c: &Cluster| kubectl_json(c, &["get", "deploy", "prometheus", "-n", "monitoring"]);
    let before = read(&cluster);

    let dry = prom(
        &cluster,
        &["fix-perms", "-n", "monitoring", "--dry-run", "-o", "json"],
    );
    assert_eq!(dry.code, 0, "{dry}");
    assert_eq!(dry.json()["outcome"]["status"], "dryRun");
    assert!(dry.stderr.contains("dryRun=All"), "{dry}");
    assert!(
        dry.stderr.contains("fsGroup: 65534"),
        "the diff shows the change: {dry}"
    );

    let refused = prom(&cluster, &["fix-perms", "-n", "monitoring"]);
    assert_eq!(
        refused.code, 4,
        "no terminal and no --yes must refuse: {refused}"
    );
    assert!(refused.stderr.contains("refusing"), "{refused}");

    let after = read(&cluster);
    assert_eq!(
        after["metadata"]["generation"],
        before["metadata"]["generation"]
    );
    assert_eq!(after["spec"]["template"], before["spec"]["template"]);
}

#[test]
fn a_conflict_on_the_workload_patch_is_planned_again_and_the_fix_still_lands() {
    // The first Deployment patch answers 409 Conflict, as a concurrent edit would.
    let Some(cluster) = start_with_fault("handmade-chmod", "409:PATCH:/deployments/:1") else {
        return;
    };
    let report = fix(&cluster, &["deploy/prometheus"]);
    assert_eq!(
        change_kinds(&report),
        vec!["securityContext", "removeInitContainers"],
        "{report:#}"
    );
    let after = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus", "-n", "monitoring"],
    );
    let spec = &after["spec"]["template"]["spec"];
    assert_eq!(spec["securityContext"]["fsGroup"], 65534, "{spec}");
    assert!(
        spec.get("initContainers").is_none_or(Value::is_null),
        "{spec}"
    );
    // One patch carries both changes (the chmod init container is not tied to a verification round here): refused
    // once, then planned again from the re-read Deployment and sent once more.
    assert_eq!(
        support::requests_to(
            &cluster,
            "PATCH /apis/apps/v1/namespaces/monitoring/deployments/prometheus"
        ),
        2
    );
}
