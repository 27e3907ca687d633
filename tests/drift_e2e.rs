//! Configuration drift end to end (issue 19 item 1): a real Prometheus runs one configuration while its ConfigMap,
//! edited with the real kubectl, says another, and nothing will reload it. doctor must name it (PROM-305, a warning:
//! exit 1 under `--fail-on warning`) with `kubectl prom reload` as the fix, and the fix must end it.
//! The tests need root and `prometheus`; they print a skip notice otherwise (and fail under `KUBE_SIM_REQUIRE=1`).

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{Run, items, kubectl, kubectl_json, name, prom, start, wait_until};

const NS: &str = "monitoring";

fn drift_findings(run: &Run) -> Vec<Value> {
    run.json()["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["id"] == "PROM-305" || f["id"] == "PROM-306")
        .collect()
}

#[test]
fn a_reloader_less_install_after_a_configmap_edit_is_prom_305_until_reloaded() {
    let Some(cluster) = start("chart-healthy") else {
        return;
    };
    // The chart without its reload sidecar (`configmapReload.prometheus.enabled: false`): a new pod with Prometheus only.
    let before: Vec<String> = items(&kubectl_json(&cluster, &["get", "pods", "-n", NS]))
        .iter()
        .map(name)
        .collect();
    support::json_patch(
        &cluster,
        NS,
        "deployment/prometheus-server",
        r#"[{"op":"remove","path":"/spec/template/spec/containers/0"}]"#,
    );
    let pod = wait_until(
        "the sidecar-less pod to be ready",
        Duration::from_secs(120),
        || {
            let pods = kubectl_json(&cluster, &["get", "pods", "-n", NS]);
            let all = items(&pods);
            let [p] = all.as_slice() else { return None };
            (!before.contains(&name(p))
                && support::pod_ready(p)
                && p["spec"]["containers"].as_array()?.len() == 1)
                .then(|| name(p))
        },
    );
    // Healthy and in step first: no drift is claimed where there is none.
    let clean = prom(
        &cluster,
        &["doctor", "-n", NS, "-o", "json", "--fail-on", "warning"],
    );
    assert!(drift_findings(&clean).is_empty(), "{clean}");

    let cm = kubectl_json(
        &cluster,
        &["get", "configmap", "prometheus-server", "-n", NS],
    );
    let yaml = cm["data"]["prometheus.yml"]
        .as_str()
        .expect("prometheus.yml")
        .to_string();
    assert!(yaml.contains("scrape_interval: 15s"), "{yaml}");
    support::set_chart_config(
        &cluster,
        &yaml.replacen("scrape_interval: 15s", "scrape_interval: 30s", 1),
    );

    let run = prom(
        &cluster,
        &["doctor", "-n", NS, "-o", "json", "--fail-on", "warning"],
    );
    let found = drift_findings(&run);
    assert_eq!(found.len(), 1, "{run}");
    let f = &found[0];
    assert_eq!(f["id"], "PROM-305", "{f:#}");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(
        run.code, 1,
        "a warning with --fail-on warning is exit 1:\n{run}"
    );
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("global.scrape_interval"), "{f:#}");
    assert!(evidence.contains("no reload sidecar"), "{f:#}");
    assert!(!evidence.contains("30s"), "values are never quoted: {f:#}");
    let fix = f["fix"].as_str().unwrap_or_default();
    assert!(fix.starts_with("kubectl prom reload"), "{f:#}");
    // Without --fail-on a warning does not fail the run.
    let human = prom(&cluster, &["doctor", "-n", NS]);
    assert_eq!(human.code, 0, "{human}");
    assert!(human.stdout.contains("PROM-305"), "{human}");

    // The fix, as printed, ends it once the kubelet has put the new file in the pod.
    wait_until(
        "the kubelet to update the mounted file",
        Duration::from_secs(120),
        || {
            kubectl(
                &cluster,
                &[
                    "exec",
                    "-n",
                    NS,
                    &pod,
                    "--",
                    "cat",
                    "/etc/config/prometheus.yml",
                ],
            )
            .contains("scrape_interval: 30s")
            .then_some(())
        },
    );
    let mut args: Vec<&str> = fix.split_whitespace().skip(2).collect();
    args.push("--yes");
    let reload = prom(&cluster, &args);
    assert_eq!(reload.code, 0, "{reload}");
    let after = prom(
        &cluster,
        &["doctor", "-n", NS, "-o", "json", "--fail-on", "warning"],
    );
    assert!(drift_findings(&after).is_empty(), "{after}");
}

/// Prometheus 3 with `--config.auto-reload` (stable in 3.12; the real 3.16 here) and no lifecycle API, no sidecar:
/// doctor must not call the missing lifecycle flag a problem (the server reloads itself, and says so in
/// /api/v1/features), and an edit is applied by the server without any reload — no drift is claimed meanwhile.
#[test]
fn v3_with_config_auto_reload_needs_no_lifecycle_api_and_applies_edits_itself() {
    if !support::real_prometheus_v3_or_skip("v3_with_config_auto_reload") {
        return;
    }
    let Some(cluster) = start("chart-healthy") else {
        return;
    };
    let before: Vec<String> = items(&kubectl_json(&cluster, &["get", "pods", "-n", NS]))
        .iter()
        .map(name)
        .collect();
    let patch = serde_json::json!([
        {"op": "remove", "path": "/spec/template/spec/containers/0"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "quay.io/prometheus/prometheus:v3.16.0"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": [
            "--storage.tsdb.retention.time=15d",
            "--config.file=/etc/config/prometheus.yml",
            "--storage.tsdb.path=/data",
            "--config.auto-reload",
            "--config.auto-reload-interval=5s",
        ]},
    ]);
    support::json_patch(
        &cluster,
        NS,
        "deployment/prometheus-server",
        &patch.to_string(),
    );
    let pod = wait_until("the v3 pod to be ready", Duration::from_secs(120), || {
        let pods = kubectl_json(&cluster, &["get", "pods", "-n", NS]);
        let all = items(&pods);
        let [p] = all.as_slice() else { return None };
        (!before.contains(&name(p)) && support::pod_ready(p)).then(|| name(p))
    });
    let proxy = |path: &str| {
        let raw = kubectl(
            &cluster,
            &[
                "get",
                "--raw",
                &format!("/api/v1/namespaces/{NS}/pods/{pod}:9090/proxy{path}"),
            ],
        );
        serde_json::from_str::<Value>(&raw).unwrap_or_else(|e| panic!("{path}: {e}: {raw}"))
    };
    // The real v3 server: its version, and its own word on lifecycle and auto-reload.
    assert!(
        proxy("/api/v1/status/buildinfo")["data"]["version"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.16")
    );
    let features = proxy("/api/v1/features");
    assert_eq!(features["data"]["api"]["lifecycle"], false, "{features}");
    assert_eq!(
        features["data"]["prometheus"]["auto_reload_config"], true,
        "{features}"
    );

    let ids = |run: &Run| -> Vec<String> {
        run.json()["instances"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|i| i["findings"].as_array().cloned().unwrap_or_default())
            .filter_map(|f| f["id"].as_str().map(str::to_string))
            .collect()
    };
    let run = prom(&cluster, &["doctor", "-n", NS, "-o", "json"]);
    let found = ids(&run);
    assert!(
        !found.iter().any(|id| id == "PROM-101" || id == "PROM-102"),
        "{run}"
    );

    let cm = kubectl_json(
        &cluster,
        &["get", "configmap", "prometheus-server", "-n", NS],
    );
    let yaml = cm["data"]["prometheus.yml"]
        .as_str()
        .expect("prometheus.yml")
        .to_string();
    support::set_chart_config(
        &cluster,
        &yaml.replacen("scrape_interval: 15s", "scrape_interval: 30s", 1),
    );
    wait_until(
        "the server to load the edit by itself",
        Duration::from_secs(150),
        || {
            let run = prom(&cluster, &["doctor", "-n", NS, "-o", "json"]);
            let found = ids(&run);
            assert!(
                !found
                    .iter()
                    .any(|id| id == "PROM-305" || id == "PROM-306" || id == "PROM-102"),
                "{run}"
            );
            let running = proxy("/api/v1/status/config");
            running["data"]["yaml"]
                .as_str()
                .unwrap_or_default()
                .contains("scrape_interval: 30s")
                .then_some(())
        },
    );
}

/// A working sidecar and an edit with a typo: Prometheus rejects it (the real sidecar gets 500) and keeps the previous
/// configuration. The drift is then critical (PROM-306), quoting `reloadConfigSuccess: false` and Prometheus's error.
#[test]
fn a_rejected_edit_is_critical_drift_prom_306() {
    let Some(cluster) = start("chart-healthy") else {
        return;
    };
    let cm = kubectl_json(
        &cluster,
        &["get", "configmap", "prometheus-server", "-n", NS],
    );
    let yaml = cm["data"]["prometheus.yml"]
        .as_str()
        .expect("prometheus.yml")
        .to_string();
    let typo = yaml.replacen(
        "  - job_name: prometheus\n",
        "  - job_name: prometheus\n    scarpe_interval: 5s\n",
        1,
    );
    assert_ne!(typo, yaml, "{yaml}");
    support::set_chart_config(&cluster, &typo);
    let (run, f) = wait_until(
        "doctor to report PROM-306",
        Duration::from_secs(150),
        || {
            let run = prom(&cluster, &["doctor", "-n", NS, "-o", "json"]);
            let f = drift_findings(&run)
                .into_iter()
                .find(|f| f["id"] == "PROM-306")?;
            Some((run, f))
        },
    );
    assert_eq!(f["severity"], "critical", "{f:#}");
    assert_eq!(run.code, 1, "{run}");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains(r#"\"reloadConfigSuccess\": false"#),
        "{f:#}"
    );
    assert!(evidence.contains("scarpe_interval"), "{f:#}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("kubectl prom reload"),
        "{f:#}"
    );
}
