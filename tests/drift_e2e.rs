//! Configuration drift end to end (issue 19 item 1): a real Prometheus runs one configuration while its ConfigMap,
//! edited with the real kubectl, says another, and nothing will reload it. doctor must name it (PROM-305, a warning:
//! exit 1 under `--fail-on warning`) with `kubectl prom reload` as the fix, and the fix must end it; the same for its
//! rule files (PROM-307). Every case runs on the real control plane (issue 16); the operator case with the real
//! prometheus-operator 0.85.0 running as a pod, paused so that the broken reloader stays as the test made it.
//! The tests need root and `prometheus`; they print a skip notice otherwise (and fail under `KUBE_SIM_REQUIRE=1`).

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{Run, items, kubectl, kubectl_json, name, prom, start, wait_until};

const NS: &str = "monitoring";

/// The findings of a report with one of `ids`.
fn findings_of(run: &Run, ids: &[&str]) -> Vec<Value> {
    run.json()["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| ids.iter().any(|id| f["id"] == *id))
        .collect()
}

fn drift_findings(run: &Run) -> Vec<Value> {
    findings_of(run, &["PROM-305", "PROM-306"])
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
    // One edit of the ConfigMap, as `helm upgrade` with new values makes it: the scrape interval, and an alerting
    // rule group added to the chart's `alerting_rules.yml` (empty, `{}`, in the chart's defaults).
    let patch = serde_json::json!({"data": {
        "prometheus.yml": yaml.replacen("scrape_interval: 15s", "scrape_interval: 30s", 1),
        "alerting_rules.yml": ALERTING_RULES,
    }});
    kubectl(
        &cluster,
        &[
            "patch",
            "configmap",
            "prometheus-server",
            "-n",
            NS,
            "--type",
            "merge",
            "-p",
            &patch.to_string(),
        ],
    );

    let run = prom(
        &cluster,
        &["doctor", "-n", NS, "-o", "json", "--fail-on", "warning"],
    );
    // The rule file: PROM-307, by group name, with the same reason and fix as the configuration.
    let rules = rule_drift_findings(&run);
    assert_eq!(rules.len(), 1, "{run}");
    let r = &rules[0];
    assert_eq!(r["id"], "PROM-307", "{r:#}");
    assert_eq!(r["severity"], "warning", "{r:#}");
    let evidence = r["evidence"].to_string();
    assert!(
        evidence.contains("GET /api/v1/rules differs from configmap/prometheus-server key alerting_rules.yml at group incident-1 (not running)"),
        "{r:#}"
    );
    assert!(evidence.contains("no reload sidecar"), "{r:#}");
    assert!(
        !evidence.contains("0.8"),
        "expressions are never quoted: {r:#}"
    );
    assert!(
        r["fix"]
            .as_str()
            .unwrap_or_default()
            .starts_with("kubectl prom reload"),
        "{r:#}"
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
    assert!(rule_drift_findings(&after).is_empty(), "{after}");
    // And it is the real server that now runs the group (read back through the pod proxy with kubectl).
    let raw = kubectl(
        &cluster,
        &[
            "get",
            "--raw",
            &format!("/api/v1/namespaces/{NS}/pods/{pod}:9090/proxy/api/v1/rules"),
        ],
    );
    assert!(raw.contains("\"name\":\"incident-1\""), "{raw}");
}

/// A rule group as a chart user adds it under `serverFiles."alerting_rules.yml"`.
const ALERTING_RULES: &str = "groups:\n  - name: incident-1\n    rules:\n      - alert: PrometheusConfigStale\n        expr: max(prometheus_config_last_reload_successful) by (pod) < 0.8\n        for: 5m\n        labels:\n          severity: warning\n";

fn rule_drift_findings(run: &Run) -> Vec<Value> {
    findings_of(run, &["PROM-307", "PROM-308"])
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

/// The operator's generated configuration (Secret `prometheus.yaml.gz`) changes — as after a ServiceMonitor or rule
/// change — while the config reloader cannot reach Prometheus: drift against the Secret, with the reloader's failing
/// line as the reason. The operator is paused first so that the broken reloader stays as the test made it.
#[test]
fn an_operator_config_change_behind_a_broken_reloader_is_prom_305_against_the_secret() {
    use base64::Engine;
    use std::io::{Read, Write};
    let Some(cluster) = start("kps-healthy") else {
        return;
    };
    let cr = "prometheus/kps-kube-prometheus-stack-prometheus";
    kubectl(
        &cluster,
        &[
            "patch",
            cr,
            "-n",
            NS,
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"paused":true}}"#,
        ],
    );
    let sts_name = "statefulset/prometheus-kps-kube-prometheus-stack-prometheus";
    let sts = kubectl_json(&cluster, &["get", sts_name, "-n", NS]);
    let containers = sts["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .clone();
    let (ci, c) = containers
        .iter()
        .enumerate()
        .find(|(_, c)| c["name"] == "config-reloader")
        .expect("config-reloader");
    let ai = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .position(|a| a.as_str().is_some_and(|a| a.starts_with("--reload-url=")))
        .expect("--reload-url");
    let patch = serde_json::json!([{"op": "replace", "path": format!("/spec/template/spec/containers/{ci}/args/{ai}"), "value": "--reload-url=http://127.0.0.1:9999/-/reload"}]);
    support::json_patch(&cluster, NS, sts_name, &patch.to_string());
    wait_until(
        "the pods with the broken reloader to be ready",
        Duration::from_secs(180),
        || {
            let pods = kubectl_json(
                &cluster,
                &[
                    "get",
                    "pods",
                    "-n",
                    NS,
                    "-l",
                    "app.kubernetes.io/name=prometheus",
                ],
            );
            let all = items(&pods);
            (!all.is_empty()
                && all.iter().all(|p| {
                    support::pod_ready(p)
                        && p["spec"]["containers"]
                            .to_string()
                            .contains("127.0.0.1:9999")
                }))
            .then_some(())
        },
    );

    // What the operator does after a ServiceMonitor change: a new generated configuration in the Secret.
    let secret_name = "prometheus-kps-kube-prometheus-stack-prometheus";
    let secret = kubectl_json(&cluster, &["get", "secret", secret_name, "-n", NS]);
    let gz = base64::engine::general_purpose::STANDARD
        .decode(
            secret["data"]["prometheus.yaml.gz"]
                .as_str()
                .expect("prometheus.yaml.gz"),
        )
        .expect("base64");
    let mut yaml = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut yaml)
        .expect("gzip");
    assert!(yaml.contains("scrape_interval: 30s"), "{yaml}");
    let edited = yaml.replacen("scrape_interval: 30s", "scrape_interval: 45s", 1);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(edited.as_bytes()).expect("gzip");
    let data = base64::engine::general_purpose::STANDARD.encode(enc.finish().expect("gzip"));
    let patch = serde_json::json!({"data": {"prometheus.yaml.gz": data}}).to_string();
    kubectl(
        &cluster,
        &[
            "patch",
            "secret",
            secret_name,
            "-n",
            NS,
            "--type",
            "merge",
            "-p",
            &patch,
        ],
    );

    let (run, found) = wait_until(
        "doctor to report the drift",
        Duration::from_secs(150),
        || {
            let run = prom(
                &cluster,
                &["doctor", "-n", NS, "-o", "json", "--fail-on", "warning"],
            );
            let found = drift_findings(&run);
            (!found.is_empty()).then_some((run, found))
        },
    );
    let f = &found[0];
    assert_eq!(f["id"], "PROM-305", "{run}");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains(&format!("secret/{secret_name} key prometheus.yaml.gz")),
        "{f:#}"
    );
    assert!(evidence.contains("global.scrape_interval"), "{f:#}");
    assert!(
        evidence.contains("127.0.0.1:9999"),
        "the reloader's failing line: {f:#}"
    );
    assert!(!evidence.contains("45s"), "values are never quoted: {f:#}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("kubectl prom reload"),
        "{f:#}"
    );
    assert_eq!(run.code, 1, "{run}");
}

/// The configuration mounted with `subPath`: the kubelet never updates such a mount, so the sidecar's reload
/// "succeeds" and Prometheus reloads the same old file. doctor names the mount as the reason, and the fix is not a
/// reload.
#[test]
fn a_subpath_config_mount_is_prom_305_naming_the_mount_not_a_reload() {
    let Some(cluster) = start("chart-healthy") else {
        return;
    };
    let before: Vec<String> = items(&kubectl_json(&cluster, &["get", "pods", "-n", NS]))
        .iter()
        .map(name)
        .collect();
    let patch = serde_json::json!([{
        "op": "replace",
        "path": "/spec/template/spec/containers/1/volumeMounts/0",
        "value": {"name": "config-volume", "mountPath": "/etc/config/prometheus.yml", "subPath": "prometheus.yml"}
    }]);
    support::json_patch(
        &cluster,
        NS,
        "deployment/prometheus-server",
        &patch.to_string(),
    );
    wait_until(
        "the pod with the subPath mount to be ready",
        Duration::from_secs(120),
        || {
            let pods = kubectl_json(&cluster, &["get", "pods", "-n", NS]);
            let all = items(&pods);
            let [p] = all.as_slice() else { return None };
            (!before.contains(&name(p)) && support::pod_ready(p)).then_some(())
        },
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
    let (run, found) = wait_until(
        "doctor to report the drift",
        Duration::from_secs(150),
        || {
            let run = prom(&cluster, &["doctor", "-n", NS, "-o", "json"]);
            let found = drift_findings(&run);
            (!found.is_empty()).then_some((run, found))
        },
    );
    let f = &found[0];
    assert_eq!(f["id"], "PROM-305", "{run}");
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("with subPath prometheus.yml"), "{f:#}");
    let fix = f["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("subPath") && !fix.starts_with("kubectl prom reload"),
        "{f:#}"
    );
}
