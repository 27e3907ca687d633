//! End-to-end tests of `kubectl prom doctor` on the real control plane (kube-apiserver 1.36, controller-manager,
//! scheduler; kube-sim is the node, whose Prometheus pods are real Prometheus processes; issue 16): every incident
//! scenario is diagnosed with the right finding first and the right fix command, the healthy scenarios give no warning
//! or critical finding, the JSON parses and agrees with the human report, exit codes follow `--fail-on`, a restricted
//! user gets a partial report, and `--from-dump` reads what the real kubectl wrote. The kube-prometheus-stack
//! scenarios run the real prometheus-operator 0.85.0 as a pod. They need root, `prometheus` and the built world; they
//! print a skip notice otherwise (and fail under `KUBE_SIM_REQUIRE=1`).

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{Cluster, Run, kubectl, kubectl_json, prom, prom_restricted, start_real, wait_until};

/// Long enough for a crash loop to log its cause and for a StatefulSet controller to report FailedCreate.
const DIAGNOSIS_TIMEOUT: Duration = Duration::from_secs(150);

fn findings(report: &Value) -> Vec<&Value> {
    report["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["findings"].as_array().into_iter().flatten())
        .collect()
}

fn ids(report: &Value) -> Vec<String> {
    findings(report)
        .iter()
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect()
}

fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    findings(report)
        .into_iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

/// `doctor -n monitoring -o json` until its first finding is `id` and that finding's JSON contains `seen` (the log
/// line that proves it may take a few seconds to be written); the last run is returned.
fn diagnosed(cluster: &Cluster, id: &str, seen: &str) -> (Run, Value) {
    let args = ["doctor", "-n", "monitoring", "-o", "json"];
    wait_until(
        &format!("doctor to report {id} first, quoting `{seen}`"),
        DIAGNOSIS_TIMEOUT,
        || {
            let run = prom(cluster, &args);
            if run.code > 1 {
                panic!("doctor failed as a tool:\n{run}");
            }
            let report = run.json();
            let first = findings(&report)
                .first()
                .map(|f| (f["id"] == id, f.to_string()));
            match first {
                Some((true, text)) if text.contains(seen) => Some((run, report)),
                _ => None,
            }
        },
    )
}

/// The human report names the same first finding, with the same fix, as the JSON report.
fn human_agrees(cluster: &Cluster, report: &Value) {
    let human = prom(cluster, &["doctor", "-n", "monitoring"]);
    let first = &findings(report)[0];
    let first_line = human
        .stdout
        .lines()
        .find(|l| {
            l.trim_start().starts_with("CRITICAL")
                || l.trim_start().starts_with("WARNING")
                || l.trim_start().starts_with("INFO")
        })
        .unwrap_or_default();
    assert!(
        first_line.contains(first["id"].as_str().unwrap()),
        "human report starts differently:\n{human}"
    );
    assert!(
        human.stdout.contains(first["fix"].as_str().unwrap()),
        "fix missing from the human report:\n{human}"
    );
    assert_eq!(human.code, 1, "{human}");
}

/// Every pod in `monitoring` is Ready (the real kubectl is the witness).
fn all_ready(cluster: &Cluster) {
    wait_until(
        "every pod in monitoring to be Ready",
        Duration::from_secs(150),
        || {
            let pods = kubectl_json(cluster, &["get", "pods", "-n", "monitoring"]);
            let items = pods["items"].as_array()?.clone();
            let ready = !items.is_empty()
                && items.iter().all(|p| {
                    p["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                });
            ready.then_some(())
        },
    );
}

#[test]
fn lifecycle_off_is_prom_101_fixed_by_reload_enable_lifecycle() {
    let Some(cluster) = start_real("lifecycle-off") else {
        return;
    };
    // Incident 1: someone edits the configuration; the sidecar's reload is refused.
    support::touch_chart_config(&cluster, "edited by lifecycle_off_is_prom_101");
    let (run, report) = diagnosed(
        &cluster,
        "PROM-101",
        "received non-200 response: 403 Forbidden",
    );
    assert_eq!(run.code, 1, "{run}");
    let f = finding(&report, "PROM-101");
    assert_eq!(f["severity"], "critical");
    assert!(
        f["fix"].as_str().unwrap().starts_with(
            "kubectl prom reload deploy/prometheus-server -n monitoring --enable-lifecycle"
        ),
        "{f:#}"
    );
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("received non-200 response: 403 Forbidden"),
        "{evidence}"
    );
    // Prometheus itself, asked through the pod proxy, confirms the flag is off.
    assert!(
        evidence.contains(r#"\"web.enable-lifecycle\": \"false\""#),
        "{evidence}"
    );
    human_agrees(&cluster, &report);
}

#[test]
fn disk_full_is_prom_201_fixed_by_resize() {
    let Some(cluster) = start_real("disk-full") else {
        return;
    };
    let (_, report) = diagnosed(&cluster, "PROM-201", "no space left on device");
    let f = finding(&report, "PROM-201");
    assert_eq!(
        f["fix"],
        "kubectl prom resize deploy/prometheus-server -n monitoring --increase 50%"
    );
    assert!(
        f["evidence"]
            .to_string()
            .contains("no space left on device")
    );
    // The symptoms come after the cause.
    let all = ids(&report);
    if let Some(endpoints) = all.iter().position(|i| i == "PROM-501") {
        assert!(endpoints > 0);
    }
    human_agrees(&cluster, &report);
}

#[test]
fn config_typo_is_prom_302_with_did_you_mean() {
    let Some(cluster) = start_real("config-typo") else {
        return;
    };
    let (_, report) = diagnosed(&cluster, "PROM-302", "scarpe_interval");
    let f = finding(&report, "PROM-302");
    assert!(
        f["meaning"]
            .as_str()
            .unwrap()
            .contains("field scarpe_interval not found in type config.ScrapeConfig"),
        "{f:#}"
    );
    assert_eq!(
        f["fix"],
        "kubectl edit configmap prometheus-server -n monitoring; the next restart picks it up"
    );
    let typo = finding(&report, "PROM-303");
    assert!(
        typo["fix"]
            .as_str()
            .unwrap()
            .starts_with("rename `scarpe_interval` to `scrape_interval`"),
        "{typo:#}"
    );
    human_agrees(&cluster, &report);
}

#[test]
fn handmade_chmod_is_prom_403_a_warning_that_fails_only_with_fail_on_warning() {
    let Some(cluster) = start_real("handmade-chmod") else {
        return;
    };
    all_ready(&cluster);
    // Run at once: this pod has no readiness probe, so it is Ready the moment Prometheus runs (the kubelet's
    // prober_manager.go), while Prometheus still answers 503 `Service Unavailable` until its storage is open. That is
    // a start, not PROM-508 (doctor said "critical, does not answer like Prometheus" here on the real control plane).
    let run = prom(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    assert_eq!(
        run.code, 0,
        "warnings do not fail the default --fail-on critical:\n{run}"
    );
    let report = run.json();
    assert!(
        !ids(&report).contains(&"PROM-508".to_string()),
        "a starting Prometheus is not PROM-508: {report:#}"
    );
    assert_eq!(
        ids(&report).first().map(String::as_str),
        Some("PROM-403"),
        "{report:#}"
    );
    let f = finding(&report, "PROM-403");
    assert_eq!(
        f["fix"],
        "kubectl prom fix-perms deploy/prometheus -n monitoring"
    );
    assert!(
        f["evidence"]
            .to_string()
            .contains("chmod -R 777 /storage/prometheus")
    );
    assert!(
        ids(&report).contains(&"PROM-601".to_string()),
        "the :latest image: {report:#}"
    );
    let strict = prom(
        &cluster,
        &["doctor", "-n", "monitoring", "--fail-on", "warning"],
    );
    assert_eq!(strict.code, 1, "{strict}");
}

#[test]
fn kps_missing_volume_is_prom_502_renaming_the_mount() {
    // On the real control plane (issue 16) the API server refuses the StatefulSet the real operator generates
    // (`spec.template.spec.initContainers[1].volumeMounts[0].name: Not found: "prometheus-db"`): there is no
    // StatefulSet and no pod, only the `Prometheus` resource with `Reconciled=False`. doctor used to say "No
    // Prometheus server found" and exit 0.
    let Some(cluster) = start_real("kps-missing-volume") else {
        return;
    };
    let cr = "kps-kube-prometheus-stack-prometheus";
    let (run, report) = diagnosed(&cluster, "PROM-502", "prometheus-db");
    assert_eq!(run.code, 1, "a critical finding: {run}");
    // What the real cluster shows: the operator's condition, and no StatefulSet.
    let resource = kubectl_json(&cluster, &["get", "prometheus", cr, "-n", "monitoring"]);
    let reconciled = resource["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Reconciled")
        .cloned()
        .unwrap_or_default();
    assert_eq!(reconciled["status"], "False", "{resource:#}");
    let sets = kubectl_json(&cluster, &["get", "statefulsets", "-n", "monitoring"]);
    assert_eq!(sets["items"].as_array().map(Vec::len), Some(0), "{sets:#}");
    let f = finding(&report, "PROM-502");
    assert_eq!(f["object"], format!("prometheus/{cr}"), "{f:#}");
    assert!(
        f["evidence"]
            .to_string()
            .contains(r#"Not found: \"prometheus-db\""#)
            && f["evidence"].to_string().contains("Reconciled=False"),
        "{f:#}"
    );
    assert!(
        f["meaning"]
            .as_str()
            .unwrap()
            .contains("`prometheus-kps-kube-prometheus-stack-prometheus-db`"),
        "{f:#}"
    );
    // The mount is renamed to the volume that holds the data, never the claim template (issue 14 class 7).
    assert!(
        f["fix"].as_str().unwrap().contains(
            r#"kubectl patch prometheus/kps-kube-prometheus-stack-prometheus -n monitoring --type json -p '[{"op":"test","path":"/spec/initContainers/0/volumeMounts/0/name","value":"prometheus-db"},{"op":"replace","path":"/spec/initContainers/0/volumeMounts/0/name","value":"prometheus-kps-kube-prometheus-stack-prometheus-db"}]'"#
        ),
        "{f:#}"
    );
    assert!(
        !f["fix"].as_str().unwrap().contains("volumeClaimTemplate"),
        "{f:#}"
    );
    human_agrees(&cluster, &report);
}

#[test]
fn kps_permission_denied_is_prom_401_fixed_by_fix_perms() {
    // On the real control plane with the real operator (issue 16): passes unchanged.
    let Some(cluster) = start_real("kps-permission-denied") else {
        return;
    };
    let (_, report) = diagnosed(&cluster, "PROM-401", "permission denied");
    let f = finding(&report, "PROM-401");
    assert_eq!(
        f["fix"],
        "kubectl prom fix-perms prometheus/kps-kube-prometheus-stack-prometheus -n monitoring"
    );
    assert!(
        f["evidence"]
            .to_string()
            .contains("queries.active: permission denied"),
        "{f:#}"
    );
    assert!(
        f["meaning"].as_str().unwrap().contains("runAsUser 1000"),
        "{f:#}"
    );
    human_agrees(&cluster, &report);
}

/// Healthy installs: no warning, no critical (no false alarms), exit 0 even with `--fail-on warning`, and the human
/// report lists exactly the JSON's findings in the same order.
fn healthy(scenario: &str) {
    let Some(cluster) = start_real(scenario) else {
        return;
    };
    all_ready(&cluster);
    let run = prom(
        &cluster,
        &[
            "doctor",
            "-n",
            "monitoring",
            "-o",
            "json",
            "--fail-on",
            "warning",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let report = run.json();
    assert_eq!(report["kind"], "DoctorReport");
    assert_eq!(report["apiVersion"], "kubectl-prom/v1");
    assert_eq!(report["summary"]["instances"], 1, "{report:#}");
    for f in findings(&report) {
        assert_eq!(
            f["severity"], "info",
            "false alarm on a healthy {scenario}: {f:#}"
        );
    }
    let human = prom(
        &cluster,
        &["doctor", "-n", "monitoring", "--fail-on", "warning"],
    );
    assert_eq!(human.code, 0, "{human}");
    let human_ids: Vec<String> = human
        .stdout
        .split_whitespace()
        .filter(|w| w.starts_with("PROM-") && w.len() == 8)
        .map(str::to_string)
        .collect();
    assert_eq!(human_ids, ids(&report), "{human}");
}

#[test]
fn chart_healthy_has_no_false_alarm() {
    healthy("chart-healthy");
}

#[test]
fn chart_sts_has_no_false_alarm() {
    healthy("chart-sts");
}

#[test]
fn kps_healthy_has_no_false_alarm() {
    // On the real control plane with the real operator (issue 16): passes unchanged.
    healthy("kps-healthy");
}

#[test]
fn restricted_user_gets_a_partial_report_that_still_finds_the_incident() {
    let Some(cluster) = start_real("doctor-restricted") else {
        return;
    };
    let report = wait_until(
        "doctor (restricted) to report PROM-101 first",
        DIAGNOSIS_TIMEOUT,
        || {
            let run = prom_restricted(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
            assert!(
                run.code <= 1,
                "a restricted user must get a report, not an error:\n{run}"
            );
            let report = run.json();
            (ids(&report).first().map(String::as_str) == Some("PROM-101")).then_some(report)
        },
    );
    let gaps: Vec<String> = findings(&report)
        .iter()
        .filter(|f| f["id"] == "PROM-900")
        .map(|f| f["evidence"].to_string())
        .collect();
    assert!(
        gaps.iter().any(|g| g.contains("could not read events")),
        "{gaps:?}"
    );
    assert!(gaps.iter().any(|g| g.contains("nodes/proxy")), "{gaps:?}");
    // Without pods/proxy and pods/exec the live flags are unknown; the args said it instead.
    let f = finding(&report, "PROM-101");
    assert!(
        f["evidence"]
            .to_string()
            .contains("args lack `--web.enable-lifecycle`"),
        "{f:#}"
    );
}

#[test]
fn usage_errors_are_exit_2_never_mixed_with_findings() {
    let Some(cluster) = start_real("empty") else {
        return;
    };
    let run = prom(&cluster, &["doctor", "deploy/nope", "-n", "monitoring"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("no Prometheus server matches `deploy/nope`"),
        "{run}"
    );
    let empty = prom(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    assert_eq!(empty.code, 0, "{empty}");
    assert_eq!(empty.json()["summary"]["instances"], 0);
}

/// `--from-dump` on what the real kubectl wrote: `kubectl cluster-info dump --namespaces monitoring
/// --output-directory DIR` itself (nodes, per namespace pods/events/workloads/services and each pod's logs.txt), plus
/// a `kubectl get pvc,endpoints,pv,storageclass -o yaml` file beside it, since the dump has no storage objects.
#[test]
fn from_dump_diagnoses_offline_what_live_diagnoses() {
    let Some(cluster) = start_real("disk-full") else {
        return;
    };
    let (_, live) = diagnosed(&cluster, "PROM-201", "no space left on device");
    let dir = tempfile::tempdir().unwrap();
    let dump = cluster
        .kubectl()
        .args([
            "cluster-info",
            "dump",
            "--namespaces",
            "monitoring",
            "--output-directory",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "kubectl cluster-info dump failed: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(dir.path().join("monitoring/pods.json").exists());
    std::fs::write(
        dir.path().join("storage.yaml"),
        kubectl(
            &cluster,
            &["get", "pvc,endpoints", "-n", "monitoring", "-o", "yaml"],
        ) + "---\n"
            + &kubectl(&cluster, &["get", "pv,storageclass", "-o", "yaml"]),
    )
    .unwrap();
    let offline = prom(
        &cluster,
        &[
            "doctor",
            "--from-dump",
            dir.path().to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    assert_eq!(offline.code, 1, "{offline}");
    let report = offline.json();
    assert_eq!(ids(&report).first(), ids(&live).first(), "{report:#}");
    assert_eq!(
        finding(&report, "PROM-201")["fix"],
        finding(&live, "PROM-201")["fix"]
    );
    assert!(report["source"].as_str().unwrap().starts_with("dump "));
}

/// A container log with bytes that are not UTF-8 and a line larger than the plugin keeps (6 MB of `x`) before the
/// real error: doctor still reads the log and quotes the error. (The kubelet passes container output through
/// byte for byte; kube's `Api::logs` refuses the whole answer on the first invalid byte.) The wrapper is put in
/// with the real kubectl, as an operator debugging an image might.
#[test]
fn binary_bytes_and_a_giant_line_in_the_log_do_not_hide_the_error_after_them() {
    let Some(cluster) = start_real("disk-full") else {
        return;
    };
    let wrapper = r#"[{"op": "add", "path": "/spec/template/spec/containers/1/command", "value": ["sh", "-c",
        "printf 'boot \\377\\376\\000 noise\\n'; head -c 6000000 /dev/zero | tr '\\000' x; echo; exec prometheus \"$@\"",
        "prometheus"]}]"#;
    support::json_patch(&cluster, "monitoring", "deploy/prometheus-server", wrapper);
    // The new pod's log starts with the noise (read back with the real kubectl, which passes bytes through).
    wait_until(
        "the wrapped container to log its noise",
        DIAGNOSIS_TIMEOUT,
        || {
            let pods = kubectl_json(&cluster, &["get", "pods", "-n", "monitoring"]);
            pods["items"].as_array()?.iter().find_map(|p| {
                let name = p["metadata"]["name"].as_str()?;
                let out = cluster
                    .kubectl()
                    .args(["logs", "-n", "monitoring", name, "-c", "prometheus-server"])
                    .output()
                    .ok()?;
                let log = out.stdout;
                (log.windows(2).any(|w| w == b"\xff\xfe") && log.windows(6).any(|w| w == b"no spa"))
                    .then_some(())
            })
        },
    );
    let (_, report) = diagnosed(&cluster, "PROM-201", "no space left on device");
    let evidence = finding(&report, "PROM-201")["evidence"].to_string();
    assert!(
        evidence.contains("queries.active"),
        "the error line was not quoted from the log: {evidence}"
    );
}

#[test]
fn failed_reload_is_prom_301_from_runtimeinfo_without_the_metrics_page() {
    let Some(cluster) = start_real("chart-healthy") else {
        return;
    };
    all_ready(&cluster);
    // Incident 3's typo, applied by the chart's config-reloader sidecar: Prometheus refuses it and keeps the old one.
    let typo = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    scarpe_interval: 5s\n    static_configs:\n      - targets: ['localhost:9090']\n";
    support::set_chart_config(&cluster, typo);
    let runtimeinfo_says_failed =
        r#"GET /api/v1/status/runtimeinfo: \"reloadConfigSuccess\": false"#;
    let window = wait_until(
        "doctor to report PROM-301 from runtimeinfo",
        DIAGNOSIS_TIMEOUT,
        || {
            let before = cluster.stats().expect("stats")["total"].as_u64()?;
            let run = prom(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
            let report = run.json();
            let failed = findings(&report).into_iter().any(|f| {
                f["id"] == "PROM-301" && f["evidence"].to_string().contains(runtimeinfo_says_failed)
            });
            failed.then(|| cluster.stats_since(before).expect("stats?since")["since"].clone())
        },
    );
    // What doctor asked Prometheus, as the API server saw it: runtimeinfo carries the reload result, so the whole
    // `/metrics` page (tens of KiB per pod) is not fetched.
    let asked: Vec<&String> = window["by_request"]
        .as_object()
        .expect("by_request")
        .keys()
        .filter(|k| k.contains("/proxy/"))
        .collect();
    assert!(
        asked
            .iter()
            .any(|k| k.ends_with("/proxy/api/v1/status/runtimeinfo")),
        "{window}"
    );
    assert!(
        !asked.iter().any(|k| k.ends_with("/proxy/metrics")),
        "doctor fetched /metrics: {window}"
    );
}

/// Issue 16: on the real control plane `kps-missing-volume` leaves a `Prometheus` resource with no StatefulSet and
/// no pod (the API server refused it; the operator says `Reconciled=False`). The verbs that change a running server
/// have nothing to act on: each refuses with one paragraph naming the condition, never a panic or a plan.
#[test]
fn kps_missing_volume_other_verbs_name_the_refusal() {
    let Some(cluster) = start_real("kps-missing-volume") else {
        return;
    };
    let cr = "prometheus/kps-kube-prometheus-stack-prometheus";
    diagnosed(&cluster, "PROM-502", "prometheus-db");
    for args in [
        vec!["reload", cr, "-n", "monitoring", "--yes"],
        vec!["resize", cr, "-n", "monitoring", "--size", "100Gi", "--yes"],
        vec!["fix-perms", cr, "-n", "monitoring", "--yes"],
    ] {
        let run = prom(&cluster, &args);
        // Exit 2: the target cannot be acted on (README, Exit codes); nothing was planned or changed.
        assert_eq!(run.code, 2, "{args:?}: {run}");
        assert!(
            run.stderr
                .contains("no StatefulSet: the operator reports Reconciled=False")
                && run.stderr.contains(r#"Not found: "prometheus-db""#)
                && !run.stderr.contains("panicked"),
            "{args:?}: {run}"
        );
        assert!(run.stdout.is_empty(), "{args:?}: {run}");
    }
    // Nothing was created behind the refusals.
    let sets = kubectl_json(&cluster, &["get", "statefulsets", "-n", "monitoring"]);
    assert_eq!(sets["items"].as_array().map(Vec::len), Some(0), "{sets:#}");
}

/// A pod shutting down is not the server (S7, issue 16 hardening): a replaced pod held by a finalizer keeps its
/// deletionTimestamp while its replacement serves. The real ReplicaSet no longer counts it (kubernetes
/// pkg/controller/controller_utils.go `IsPodActive`/`FilterActivePods`), so doctor checks the live pod and names the
/// terminating one. Before, discovery listed both and doctor checked the pod shutting down as the server.
#[test]
fn doctor_checks_the_live_pod_and_names_the_terminating_one() {
    let Some(cluster) = start_real("chart-healthy") else {
        return;
    };
    support::wait_settled(&cluster, "monitoring");
    let pods = |cluster: &support::Cluster| {
        let list = kubectl_json(
            cluster,
            &[
                "get",
                "pods",
                "-n",
                "monitoring",
                "-l",
                "app.kubernetes.io/name=prometheus",
            ],
        );
        support::items(&list)
    };
    let old = support::name(&pods(&cluster)[0]);
    // A finalizer keeps the deleted pod as an object with deletionTimestamp set (what a slow shutdown looks like).
    kubectl(
        &cluster,
        &[
            "patch",
            "pod",
            &old,
            "-n",
            "monitoring",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":["kubectl-prom.test/hold"]}}"#,
        ],
    );
    kubectl(
        &cluster,
        &["delete", "pod", &old, "-n", "monitoring", "--wait=false"],
    );
    let new = support::wait_until(
        "the replacement pod Ready beside the terminating one",
        Duration::from_secs(150),
        || {
            pods(&cluster)
                .iter()
                .find(|p| support::name(p) != old && support::pod_ready(p))
                .map(support::name)
        },
    );
    let old_pod = kubectl_json(&cluster, &["get", "pod", &old, "-n", "monitoring"]);
    assert!(
        old_pod["metadata"]["deletionTimestamp"].is_string(),
        "{old_pod:#}"
    );
    let run = prom(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    let report = run.json();
    let inst = &report["instances"][0];
    assert_eq!(inst["pods"], serde_json::json!([new]), "{run}");
    assert_eq!(inst["terminating"], serde_json::json!([old]), "{run}");
    assert!(
        inst["description"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("pod {old} is terminating"))),
        "{run}"
    );
    // No finding is about the pod shutting down.
    assert!(!inst["findings"].to_string().contains(&old), "{run}");
    // Let the pod go (the world is torn down anyway; this keeps the kubelet's view tidy).
    kubectl(
        &cluster,
        &[
            "patch",
            "pod",
            &old,
            "-n",
            "monitoring",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ],
    );
}
