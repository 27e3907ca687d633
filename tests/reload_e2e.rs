//! End-to-end tests of `kubectl prom reload` against kube-sim scenarios, every one on the real control plane
//! (`start_real`; kube-sim is the node), whose Prometheus pods are real Prometheus processes: healthy reload,
//! lifecycle off, `--enable-lifecycle`, broken configs (refused; with `--no-validate` Prometheus' own 500), a
//! ConfigMap edited just before the reload, two replicas, and the exec fallback for a user without `pods/proxy`, and `--enable-lifecycle` through a 409 Conflict (planned again, applied once) and through a
//! 409 storm (gives up, nothing changed). The real kubectl is the independent witness (logs, objects, the loaded
//! config).
//! They need root and `prometheus`; they print a skip notice otherwise (and fail under `KUBE_SIM_REQUIRE=1`).

mod support;

use serde_json::Value;
use support::{kubectl, kubectl_json, prom, prom_restricted, start_real, start_real_with_fault};

/// The pods of the chart's server in `monitoring`, by the chart's selector labels.
fn server_pods(cluster: &support::Cluster) -> Vec<String> {
    let list = kubectl_json(
        cluster,
        &[
            "get",
            "pods",
            "-n",
            "monitoring",
            "-l",
            "app.kubernetes.io/component=server,app.kubernetes.io/name=prometheus",
        ],
    );
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

/// How many times this pod's Prometheus logged a completed config load (its startup counts as one).
fn completed_loads(cluster: &support::Cluster, pod: &str) -> usize {
    kubectl(
        cluster,
        &["logs", "-n", "monitoring", pod, "-c", "prometheus-server"],
    )
    .lines()
    .filter(|l| l.contains("Completed loading of configuration file"))
    .count()
}

/// The configuration Prometheus is running, read through the API server's pod proxy with the real kubectl.
fn loaded_config(cluster: &support::Cluster, pod: &str) -> String {
    let raw = kubectl(
        cluster,
        &[
            "get",
            "--raw",
            &format!("/api/v1/namespaces/monitoring/pods/{pod}:9090/proxy/api/v1/status/config"),
        ],
    );
    let v: Value = serde_json::from_str(&raw).expect("status/config JSON");
    v["data"]["yaml"].as_str().unwrap_or_default().to_string()
}

const GOOD_CONFIG_WITH_NEW_JOB: &str = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['localhost:9090']\n  - job_name: added-just-before-the-reload\n    static_configs:\n      - targets: ['localhost:9100']\n";

/// Incident 3's typo.
const TYPO_CONFIG: &str = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    scarpe_interval: 5s\n    static_configs:\n      - targets: ['localhost:9090']\n";

#[test]
fn healthy_reload_reloads_and_verifies_through_the_pod_proxy() {
    let Some(cluster) = start_real("chart-healthy") else {
        return;
    };
    let pod = server_pods(&cluster).remove(0);
    let loads_before = completed_loads(&cluster, &pod);
    let run = prom(&cluster, &["reload", "-n", "monitoring", "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    assert_eq!(doc["kind"], "ReloadResult", "{run}");
    assert_eq!(doc["instance"], "prometheus-server");
    let pods = doc["pods"].as_array().expect("pods");
    assert_eq!(pods.len(), 1, "{run}");
    assert_eq!(pods[0]["pod"], pod.as_str());
    assert_eq!(pods[0]["outcome"], "reloaded", "{run}");
    assert_eq!(pods[0]["access"], "proxy", "{run}");
    assert!(
        pods[0]["lastSuccessAfter"].as_f64() > pods[0]["lastSuccessBefore"].as_f64(),
        "{run}"
    );
    // Proven by content (issue 19 item 2): what Prometheus reports running equals the pod's file.
    assert_eq!(pods[0]["content"]["verdict"], "matches", "{run}");
    // Prometheus itself logged one more completed load.
    assert!(
        completed_loads(&cluster, &pod) > loads_before,
        "no new `Completed loading` line in the server log"
    );
    // Human output names the pod and the path.
    let human = prom(&cluster, &["reload", "-n", "monitoring"]);
    assert_eq!(human.code, 0, "{human}");
    assert!(
        human
            .stdout
            .contains(&format!("{pod}: reloaded via the API server's pod proxy")),
        "{human}"
    );
    assert!(
        human
            .stdout
            .contains("running configuration matches /etc/config/prometheus.yml"),
        "{human}"
    );
}

#[test]
fn lifecycle_off_is_explained_refused_without_a_terminal_and_fixed_with_enable_lifecycle() {
    let Some(cluster) = start_real("lifecycle-off") else {
        return;
    };
    // Plain reload: a clear explanation and a non-zero exit.
    let run = prom(&cluster, &["reload", "-n", "monitoring"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("the lifecycle API is off"), "{run}");
    assert!(
        run.stderr.contains("403 Lifecycle API is not enabled."),
        "{run}"
    );
    assert!(run.stderr.contains("--enable-lifecycle"), "{run}");

    // --enable-lifecycle without --yes and without a terminal: refused, nothing changed.
    let generation = |c: &support::Cluster| {
        kubectl_json(
            c,
            &["get", "deploy", "prometheus-server", "-n", "monitoring"],
        )["metadata"]["generation"]
            .as_i64()
    };
    let before = generation(&cluster);
    let refused = prom(
        &cluster,
        &["reload", "-n", "monitoring", "--enable-lifecycle"],
    );
    assert_eq!(refused.code, 4, "{refused}");
    assert!(
        refused
            .stderr
            .contains("refusing to change the cluster without confirmation"),
        "{refused}"
    );
    assert!(
        refused.stderr.contains("+ ") && refused.stderr.contains("--web.enable-lifecycle"),
        "the plan diff is shown: {refused}"
    );
    assert!(
        refused.stderr.contains("server.extraFlags"),
        "the Helm values note is shown: {refused}"
    );
    assert_eq!(
        generation(&cluster),
        before,
        "a refused plan changed the Deployment"
    );

    // --dry-run: the plan is sent with dryRun=All; the Deployment does not change.
    let dry = prom(
        &cluster,
        &[
            "reload",
            "-n",
            "monitoring",
            "--enable-lifecycle",
            "--dry-run",
        ],
    );
    assert_eq!(dry.code, 0, "{dry}");
    assert!(dry.stderr.contains("(dry run)"), "{dry}");
    assert_eq!(
        generation(&cluster),
        before,
        "--dry-run changed the Deployment"
    );

    // --enable-lifecycle --yes: the flag is added, the rollout followed, then the reload happens.
    let fixed = prom(
        &cluster,
        &[
            "reload",
            "-n",
            "monitoring",
            "--enable-lifecycle",
            "--yes",
            "-o",
            "json",
            "--timeout",
            "3m",
        ],
    );
    assert_eq!(fixed.code, 0, "{fixed}");
    let deploy = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus-server", "-n", "monitoring"],
    );
    let server = deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "prometheus-server")
        .cloned()
        .unwrap();
    assert!(
        server["args"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--web.enable-lifecycle"),
        "{server}"
    );
    let doc = fixed.json();
    assert_eq!(doc["pods"][0]["outcome"], "reloaded", "{fixed}");
    // The new pod really runs with the flag (read from the live server by the real kubectl).
    let pod = server_pods(&cluster).remove(0);
    let flags = kubectl(
        &cluster,
        &[
            "get",
            "--raw",
            &format!("/api/v1/namespaces/monitoring/pods/{pod}:9090/proxy/api/v1/status/flags"),
        ],
    );
    assert!(
        flags.contains(r#""web.enable-lifecycle":"true""#),
        "{flags}"
    );
}

#[test]
fn broken_config_is_refused_before_reload_and_no_validate_surfaces_prometheus_error() {
    let Some(cluster) = start_real("chart-healthy") else {
        return;
    };
    let pod = server_pods(&cluster).remove(0);
    let good = loaded_config(&cluster, &pod);
    support::set_chart_config(&cluster, TYPO_CONFIG);
    let loads_before = completed_loads(&cluster, &pod);
    let run = prom(&cluster, &["reload", "-n", "monitoring"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("scarpe_interval"), "{run}");
    assert!(
        run.stderr.contains("did you mean `scrape_interval`"),
        "{run}"
    );
    assert!(run.stderr.contains("not reloaded"), "{run}");
    assert_eq!(
        completed_loads(&cluster, &pod),
        loads_before,
        "a refused config reached Prometheus"
    );

    // --no-validate: Prometheus gets it, answers 500 with its own error, and keeps the old config.
    let forced = prom(
        &cluster,
        &["reload", "-n", "monitoring", "--no-validate", "-o", "json"],
    );
    assert_eq!(forced.code, 3, "{forced}");
    let doc = forced.json();
    assert_eq!(doc["pods"][0]["outcome"], "failed", "{forced}");
    let error = doc["pods"][0]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("500 failed to reload config"), "{forced}");
    assert!(
        error.contains("field scarpe_interval not found in type config.ScrapeConfig"),
        "{forced}"
    );
    assert!(forced.stderr.contains("previous configuration"), "{forced}");
    assert_eq!(
        loaded_config(&cluster, &pod),
        good,
        "the old config must still be active"
    );
}

#[test]
fn configmap_edited_just_before_the_reload_is_what_gets_loaded() {
    let Some(cluster) = start_real("chart-healthy") else {
        return;
    };
    let pod = server_pods(&cluster).remove(0);
    support::set_chart_config(&cluster, GOOD_CONFIG_WITH_NEW_JOB);
    // Immediately: the kubelet has not synced the volume yet; the plugin must wait for it.
    let run = prom(
        &cluster,
        &[
            "reload",
            "-n",
            "monitoring",
            "--timeout",
            "3m",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["pods"][0]["outcome"], "reloaded", "{run}");
    let loaded = loaded_config(&cluster, &pod);
    assert!(
        loaded.contains("added-just-before-the-reload"),
        "the new config was not loaded:\n{loaded}"
    );
}

#[test]
fn two_replicas_are_both_reloaded() {
    let Some(cluster) = start_real("chart-sts") else {
        return;
    };
    let run = prom(&cluster, &["reload", "-n", "monitoring", "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    let pods = doc["pods"].as_array().expect("pods");
    assert_eq!(pods.len(), 2, "{run}");
    for p in pods {
        assert_eq!(p["outcome"], "reloaded", "{run}");
    }
    let mut names: Vec<&str> = pods.iter().filter_map(|p| p["pod"].as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["prometheus-server-0", "prometheus-server-1"],
        "{run}"
    );
}

#[test]
fn restricted_user_without_pods_proxy_falls_back_to_exec_and_says_so() {
    let Some(cluster) = start_real("reload-restricted") else {
        return;
    };
    // The real kubectl, as the restricted user, proves the RBAC shape: the pod proxy is forbidden, exec works.
    let pod = server_pods(&cluster).remove(0);
    let as_restricted = |args: &[&str]| {
        cluster
            .kubectl()
            .args([
                "--context",
                cluster.restricted_context(),
                "-n",
                "monitoring",
            ])
            .args(args)
            .output()
            .expect("run kubectl")
    };
    let proxied = as_restricted(&[
        "get",
        "--raw",
        &format!("/api/v1/namespaces/monitoring/pods/{pod}:9090/proxy/-/healthy"),
    ]);
    assert!(
        !proxied.status.success(),
        "the restricted user can use the pod proxy; the scenario is wrong"
    );
    assert!(
        String::from_utf8_lossy(&proxied.stderr).contains("Forbidden"),
        "{proxied:?}"
    );
    let exec = as_restricted(&["exec", &pod, "-c", "prometheus-server", "--", "true"]);
    assert!(
        exec.status.success(),
        "the restricted user cannot exec: {exec:?}"
    );

    let run = prom_restricted(&cluster, &["reload", "-n", "monitoring", "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    assert_eq!(doc["pods"][0]["outcome"], "reloaded", "{run}");
    assert_eq!(doc["pods"][0]["access"], "exec", "{run}");
    let human = prom_restricted(&cluster, &["reload", "-n", "monitoring"]);
    assert_eq!(human.code, 0, "{human}");
    assert!(
        human
            .stdout
            .contains("reloaded via exec (wget inside the container)"),
        "{human}"
    );
}

#[test]
fn route_prefix_is_honoured_through_the_pod_proxy() {
    let Some(cluster) = start_real("reload-route-prefix") else {
        return;
    };
    let pod = server_pods(&cluster).remove(0);
    // The real kubectl shows the routes really moved: the unprefixed path is 404, the prefixed one answers.
    let raw = |path: &str| {
        cluster
            .kubectl()
            .args([
                "get",
                "--raw",
                &format!("/api/v1/namespaces/monitoring/pods/{pod}:9090/proxy{path}"),
            ])
            .output()
            .expect("run kubectl")
    };
    assert!(
        !raw("/api/v1/status/flags").status.success(),
        "routes did not move under /prom"
    );
    assert!(raw("/prom/api/v1/status/flags").status.success());
    let loads_before = completed_loads(&cluster, &pod);
    let run = prom(&cluster, &["reload", "-n", "monitoring", "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    assert_eq!(doc["pods"][0]["outcome"], "reloaded", "{run}");
    assert_eq!(doc["pods"][0]["access"], "proxy", "{run}");
    assert!(
        completed_loads(&cluster, &pod) > loads_before,
        "no new `Completed loading` line in the server log"
    );
}

#[test]
fn operator_install_reloads_every_replica_of_the_prometheus_resource() {
    let Some(cluster) = start_real("kps-healthy") else {
        return;
    };
    let run = prom(
        &cluster,
        &[
            "reload",
            "prometheus/kps-kube-prometheus-stack-prometheus",
            "-n",
            "monitoring",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    assert_eq!(
        doc["instance"], "kps-kube-prometheus-stack-prometheus",
        "{run}"
    );
    assert_eq!(doc["flavour"]["kind"], "operator", "{run}");
    let pods = doc["pods"].as_array().expect("pods");
    assert_eq!(pods.len(), 2, "{run}");
    assert!(pods.iter().all(|p| p["outcome"] == "reloaded"), "{run}");
    // The operator generates the config into an emptyDir: no ConfigMap to compare, promtool checks the file.
    assert_eq!(doc["validation"], serde_json::json!(["promtool"]), "{run}");
}

// On the real control plane: the Deployment's rollout is complete while the old pod is still terminating (its
// ReplicaSet no longer counts it), and the plugin used to reload that old pod too — "connection reset by peer"
// through the pod proxy, exit 3. Reload now leaves terminating pods out.
#[test]
fn hand_made_deployment_gets_the_flag_in_its_own_args_and_reloads() {
    let Some(cluster) = start_real("handmade-chmod") else {
        return;
    };
    let off = prom(
        &cluster,
        &["reload", "deploy/prometheus", "-n", "monitoring"],
    );
    assert_eq!(off.code, 3, "{off}");
    let fixed = prom(
        &cluster,
        &[
            "reload",
            "deploy/prometheus",
            "-n",
            "monitoring",
            "--enable-lifecycle",
            "--yes",
            "-o",
            "json",
        ],
    );
    assert_eq!(fixed.code, 0, "{fixed}");
    assert!(
        fixed.stderr.contains("update the manifest you applied"),
        "the plain-manifest note: {fixed}"
    );
    assert_eq!(fixed.json()["pods"][0]["outcome"], "reloaded", "{fixed}");
    let deploy = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus", "-n", "monitoring"],
    );
    let text = deploy["spec"]["template"]["spec"]["containers"].to_string();
    assert!(text.contains("--web.enable-lifecycle"), "{text}");
}

#[test]
fn several_candidates_without_a_terminal_are_listed_and_a_target_picks_one() {
    let Some(cluster) = start_real("reload-two-instances") else {
        return;
    };
    let run = prom(&cluster, &["reload", "-n", "monitoring"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("2 Prometheus servers match in namespace `monitoring`"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("monitoring/prometheus (plain manifests, deploy/prometheus, 1 pod)"),
        "{run}"
    );
    assert!(
        run.stderr.contains("monitoring/prometheus-server (Helm chart release prometheus, deploy/prometheus-server, 1 pod)"),
        "{run}"
    );
    let picked = prom(
        &cluster,
        &[
            "reload",
            "deploy/prometheus-server",
            "-n",
            "monitoring",
            "-o",
            "json",
        ],
    );
    assert_eq!(picked.code, 0, "{picked}");
    assert_eq!(picked.json()["instance"], "prometheus-server", "{picked}");
}

#[test]
fn dry_run_validates_but_never_reloads() {
    let Some(cluster) = start_real("chart-healthy") else {
        return;
    };
    let pod = server_pods(&cluster).remove(0);
    let loads_before = completed_loads(&cluster, &pod);
    let run = prom(
        &cluster,
        &["reload", "-n", "monitoring", "--dry-run", "-o", "json"],
    );
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    assert_eq!(doc["pods"][0]["outcome"], "skipped", "{run}");
    assert_eq!(
        doc["pods"][0]["error"], "dry run: POST /-/reload not sent",
        "{run}"
    );
    assert_eq!(
        doc["validation"],
        serde_json::json!(["keys", "promtool"]),
        "{run}"
    );
    assert_eq!(
        completed_loads(&cluster, &pod),
        loads_before,
        "--dry-run reloaded Prometheus"
    );
}

/// A bare Prometheus pod (no controller) beside the chart's Deployment, as plain manifests sometimes leave one.
const BARE_POD: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: bare-prom, namespace: monitoring}
data:
  prometheus.yml: |
    global:
      scrape_interval: 15s
---
apiVersion: v1
kind: Pod
metadata: {name: bare-prom, namespace: monitoring, labels: {app: bare-prom}}
spec:
  containers:
  - name: prometheus
    image: prom/prometheus:v2.42.0
    args: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.enable-lifecycle"]
    volumeMounts:
    - {name: config, mountPath: /etc/prometheus}
    - {name: data, mountPath: /prometheus}
  volumes:
  - {name: config, configMap: {name: bare-prom}}
  - {name: data, emptyDir: {}}
"#;

#[test]
fn a_bare_pod_named_with_pod_slash_is_found_beside_a_chart_install() {
    // Discovery lists pods by each workload's selector; a bare pod is read by name when the target names it.
    let Some(cluster) = start_real("chart-healthy") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = dir.path().join("bare.yaml");
    std::fs::write(&manifest, BARE_POD).expect("write manifest");
    kubectl(
        &cluster,
        &["apply", "-f", manifest.to_str().expect("utf-8 path")],
    );
    support::wait_until(
        "bare-prom Ready",
        std::time::Duration::from_secs(30),
        || {
            let pod = kubectl_json(&cluster, &["get", "pod", "-n", "monitoring", "bare-prom"]);
            support::pod_ready(&pod).then_some(())
        },
    );
    let run = prom(
        &cluster,
        &[
            "reload",
            "pod/bare-prom",
            "-n",
            "monitoring",
            "--yes",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("bare-prom"), "{run}");
    assert!(
        !run.stdout.contains("prometheus-server-"),
        "only the named pod: {run}"
    );
}

/// The args of the chart's server container in the Deployment.
fn server_args(cluster: &support::Cluster) -> Vec<String> {
    support::deployment_container_args(
        cluster,
        "monitoring",
        "prometheus-server",
        "prometheus-server",
    )
}

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/monitoring/deployments/prometheus-server";

#[test]
fn enable_lifecycle_through_a_conflict_reads_again_plans_again_and_patches_once_more() {
    // The first Deployment patch answers 409 Conflict, as a concurrent edit would.
    let Some(cluster) = start_real_with_fault("lifecycle-off", "409:PATCH:/deployments/:1") else {
        return;
    };
    let reads_before = support::requests_to(&cluster, &format!("GET {DEPLOYMENT}"));
    let run = prom(
        &cluster,
        &[
            "reload",
            "-n",
            "monitoring",
            "--enable-lifecycle",
            "--yes",
            "-o",
            "json",
            "--timeout",
            "3m",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains("409 Conflict") && run.stderr.contains("planning again"),
        "the conflict and the re-plan are not said:\n{run}"
    );
    assert_eq!(run.json()["pods"][0]["outcome"], "reloaded", "{run}");
    assert!(
        server_args(&cluster)
            .iter()
            .any(|a| a == "--web.enable-lifecycle")
    );
    assert_eq!(
        support::requests_to(&cluster, &format!("PATCH {DEPLOYMENT}")),
        2,
        "one refused patch, one re-planned patch"
    );
    assert!(
        support::requests_to(&cluster, &format!("GET {DEPLOYMENT}")) >= reads_before + 2,
        "the Deployment was not read again before the second patch"
    );
}

#[test]
fn enable_lifecycle_in_a_409_storm_gives_up_with_a_sentence_and_changes_nothing() {
    let Some(cluster) = start_real_with_fault("lifecycle-off", "409:PATCH:/deployments/:20") else {
        return;
    };
    let args_before = server_args(&cluster);
    let run = prom(
        &cluster,
        &["reload", "-n", "monitoring", "--enable-lifecycle", "--yes"],
    );
    assert_eq!(run.code, 3, "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert!(run.stderr.contains("409 Conflict"), "{run}");
    // Planned again a bounded number of times (the first try and three re-plans), then stopped.
    assert_eq!(
        support::requests_to(&cluster, &format!("PATCH {DEPLOYMENT}")),
        4,
        "{run}"
    );
    assert_eq!(server_args(&cluster), args_before, "nothing changed");
}

/// Issue 18 item 8: `-o json` prints its document even when the run fails, with the error in it, so a script that
/// parses stdout learns why (here the typo refused before any reload: exit 1).
#[test]
fn json_output_carries_the_error_when_the_reload_is_refused() {
    let Some(cluster) = start_real("chart-healthy") else {
        return;
    };
    support::set_chart_config(&cluster, TYPO_CONFIG);
    let run = prom(&cluster, &["reload", "-n", "monitoring", "-o", "json"]);
    assert_eq!(run.code, 1, "{run}");
    let doc = run.json();
    assert_eq!(doc["kind"], "ReloadResult", "{run}");
    assert_eq!(doc["instance"], "prometheus-server", "{run}");
    assert_eq!(
        doc["pods"],
        serde_json::json!([]),
        "nothing was reloaded: {run}"
    );
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("scarpe_interval"), "{run}");
    assert_eq!(doc["error"]["exitCode"], 1, "{run}");
    assert!(doc["error"]["hint"].as_str().is_some(), "{run}");
    // The sentence is still on stderr for a person.
    assert!(run.stderr.contains("scarpe_interval"), "{run}");
}

/// The index and args of the chart's server container in the StatefulSet (`chart-sts`).
fn sts_args(cluster: &support::Cluster) -> (usize, Vec<String>) {
    let sts = kubectl_json(
        cluster,
        &[
            "get",
            "statefulset",
            "prometheus-server",
            "-n",
            "monitoring",
        ],
    );
    let containers = sts["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let index = containers
        .iter()
        .position(|c| c["name"] == "prometheus-server")
        .expect("the server container");
    let args = containers[index]["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    (index, args)
}

/// Issue 19 item 2: a reload is proven by content. Here the StatefulSet's template points Prometheus at a second file
/// (`next.yml`) but, with `updateStrategy: OnDelete`, the running pods still load the first one: Prometheus answers
/// 200 and its reload metrics move, yet what it runs is not the file the reload waited for. Read back with the real
/// kubectl (`/api/v1/status/config` through the pod proxy), the running configuration lacks the second file's job;
/// the plugin must say so per pod and not exit 0.
#[test]
fn a_reload_that_runs_another_file_is_reported_by_its_content() {
    let Some(cluster) = start_real("chart-sts") else {
        return;
    };
    let next = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['localhost:9090']\n  - job_name: only-in-next-file\n    static_configs:\n      - targets: ['localhost:9100']\n";
    let patch = serde_json::json!({ "data": { "next.yml": next } }).to_string();
    kubectl(
        &cluster,
        &[
            "patch",
            "configmap",
            "prometheus-server",
            "-n",
            "monitoring",
            "--type",
            "merge",
            "-p",
            &patch,
        ],
    );
    let (container, args) = sts_args(&cluster);
    let index = args
        .iter()
        .position(|a| a.starts_with("--config.file="))
        .expect("--config.file in the chart's args");
    support::json_patch(
        &cluster,
        "monitoring",
        "statefulset/prometheus-server",
        &serde_json::json!([
            {"op": "replace", "path": "/spec/updateStrategy", "value": {"type": "OnDelete"}},
            {"op": "replace", "path": format!("/spec/template/spec/containers/{container}/args/{index}"),
             "value": "--config.file=/etc/config/next.yml"},
        ])
        .to_string(),
    );
    assert!(
        sts_args(&cluster)
            .1
            .contains(&"--config.file=/etc/config/next.yml".to_string())
    );
    // The kubelet has put the second file into both pods (read with the real `kubectl exec`).
    for pod in ["prometheus-server-0", "prometheus-server-1"] {
        support::wait_until(
            &format!("next.yml in {pod}"),
            std::time::Duration::from_secs(120),
            || {
                let out = cluster
                    .kubectl()
                    .args([
                        "exec",
                        "-n",
                        "monitoring",
                        pod,
                        "-c",
                        "prometheus-server",
                        "--",
                        "cat",
                        "/etc/config/next.yml",
                    ])
                    .output()
                    .ok()?;
                (out.status.success() && String::from_utf8_lossy(&out.stdout) == next).then_some(())
            },
        );
    }
    let run = prom(
        &cluster,
        &[
            "reload",
            "-n",
            "monitoring",
            "--timeout",
            "3m",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 3, "{run}");
    let doc = run.json();
    let pods = doc["pods"].as_array().expect("pods");
    assert_eq!(pods.len(), 2, "{run}");
    for p in pods {
        let name = p["pod"].as_str().unwrap();
        // The witness: what Prometheus runs, read with kubectl, is not the second file.
        assert!(!loaded_config(&cluster, name).contains("only-in-next-file"));
        assert_eq!(p["content"]["verdict"], "differs", "{run}");
        let detail = p["content"]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("only-in-next-file"), "{run}");
        assert!(
            detail.contains("/etc/config/prometheus.yml"),
            "names the file it runs: {run}"
        );
    }
    assert!(run.stderr.contains("does not match"), "{run}");
    let human = prom(&cluster, &["reload", "-n", "monitoring", "--timeout", "3m"]);
    assert_eq!(human.code, 3, "{human}");
    assert!(
        human.stdout.contains("prometheus-server-0: reloaded")
            && human
                .stdout
                .contains("running configuration does not match"),
        "{human}"
    );
}

const KPS: &str = "kps-kube-prometheus-stack-prometheus";

/// The generated StatefulSet of the kps scenario: the Prometheus container's args, and whether every replica runs the
/// current template and is ready.
fn kps_statefulset(cluster: &support::Cluster) -> (Vec<String>, bool) {
    let sts = kubectl_json(
        cluster,
        &[
            "get",
            "statefulset",
            &format!("prometheus-{KPS}"),
            "-n",
            "monitoring",
        ],
    );
    let args = sts["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "prometheus")
        .and_then(|c| c["args"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let st = &sts["status"];
    let want = sts["spec"]["replicas"].as_i64().unwrap_or(1);
    let settled = sts["metadata"]["generation"] == st["observedGeneration"]
        && st["updatedReplicas"].as_i64() == Some(want)
        && st["readyReplicas"].as_i64() == Some(want)
        && st["currentRevision"] == st["updateRevision"];
    (args, settled)
}

/// Issue 18 item 6: `reload --enable-lifecycle` on an operator install patches the `Prometheus` resource, and the
/// operator regenerates its StatefulSet afterwards. The reload must wait until that StatefulSet carries the flag and
/// its pods run it; reloading at once meets pods still without the API (403) and blames the configuration.
#[test]
fn enable_lifecycle_on_an_operator_install_waits_for_the_operator_to_roll_the_flag() {
    let Some(cluster) = start_real("kps-healthy") else {
        return;
    };
    // ProcessSignal: the operator leaves the lifecycle API off (its reloader signals instead). The simulated operator
    // takes 4 s per change, as a real one working through its queue does.
    kubectl(
        &cluster,
        &[
            "patch",
            "prometheus",
            KPS,
            "-n",
            "monitoring",
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"annotations":{"kube-sim.test/reconcile-delay-seconds":"4"}},"spec":{"reloadStrategy":"ProcessSignal"}}"#,
        ],
    );
    support::wait_until(
        "the StatefulSet without the flag, rolled out",
        std::time::Duration::from_secs(180),
        || {
            let (args, settled) = kps_statefulset(&cluster);
            (settled && !args.iter().any(|a| a == "--web.enable-lifecycle")).then_some(())
        },
    );
    // doctor: the lifecycle API is off on purpose here, not a missing flag (no PROM-101/102).
    let doctor = prom(
        &cluster,
        &[
            "doctor",
            &format!("prometheus/{KPS}"),
            "-n",
            "monitoring",
            "-o",
            "json",
        ],
    );
    let report = doctor.json();
    let ids: Vec<&str> = report["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["findings"].as_array().into_iter().flatten())
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        report["instances"]
            .as_array()
            .is_some_and(|i| !i.is_empty()),
        "{doctor}"
    );
    assert!(
        !ids.contains(&"PROM-101") && !ids.contains(&"PROM-102"),
        "{ids:?}\n{doctor}"
    );
    let run = prom(
        &cluster,
        &[
            "reload",
            &format!("prometheus/{KPS}"),
            "-n",
            "monitoring",
            "--enable-lifecycle",
            "--yes",
            "--timeout",
            "3m",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    assert_eq!(doc["reloadWay"], "http", "{run}");
    let pods = doc["pods"].as_array().expect("pods");
    assert_eq!(pods.len(), 2, "{run}");
    for p in pods {
        assert_eq!(p["outcome"], "reloaded", "{run}");
        // The witness: the pod the plugin reloaded runs with the lifecycle API on (its own flags, read with kubectl).
        let name = p["pod"].as_str().unwrap();
        let raw = kubectl(
            &cluster,
            &[
                "get",
                "--raw",
                &format!(
                    "/api/v1/namespaces/monitoring/pods/{name}:9090/proxy/api/v1/status/flags"
                ),
            ],
        );
        let flags: Value = serde_json::from_str(&raw).expect("flags JSON");
        assert_eq!(
            flags["data"]["web.enable-lifecycle"], "true",
            "{name}: {raw}"
        );
    }
    let (args, _) = kps_statefulset(&cluster);
    assert!(
        args.iter().any(|a| a == "--web.enable-lifecycle"),
        "{args:?}"
    );
    assert!(
        run.stderr.contains("the operator added the flag"),
        "the wait for the operator is not shown:\n{run}"
    );
}

/// Issue 19 item 4: Prometheus 3.12+ with `--config.auto-reload` reloads itself every `--config.auto-reload-interval`
/// when the file's checksum changed (prometheus v3.16 cmd/prometheus/main.go, the `time.Tick(autoReloadInterval)` case
/// of the reload loop), with the lifecycle API off. `reload` must not POST (a 403 there, and no need for
/// `--web.enable-lifecycle`): it waits, bounded by the interval and a margin, until the server runs the new file, and
/// says Prometheus reloaded it by itself. The real v3 binary; the real kubectl reads back what it runs.
#[test]
fn v3_auto_reload_is_waited_for_never_posted() {
    if !support::real_prometheus_v3_or_skip("v3_auto_reload_is_waited_for_never_posted") {
        return;
    }
    let Some(cluster) = support::start_real("chart-healthy") else {
        return;
    };
    let before = server_pods(&cluster);
    let patch = serde_json::json!([
        {"op": "remove", "path": "/spec/template/spec/containers/0"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "quay.io/prometheus/prometheus:v3.16.0"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": [
            "--config.file=/etc/config/prometheus.yml",
            "--storage.tsdb.path=/data",
            "--config.auto-reload",
            "--config.auto-reload-interval=5s",
        ]},
    ]);
    support::json_patch(
        &cluster,
        "monitoring",
        "deployment/prometheus-server",
        &patch.to_string(),
    );
    let pod = support::wait_until(
        "the v3 pod to be ready",
        std::time::Duration::from_secs(180),
        || {
            let pods = kubectl_json(&cluster, &["get", "pods", "-n", "monitoring"]);
            let all: Vec<Value> = support::items(&pods)
                .into_iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .collect();
            let [p] = all.as_slice() else { return None };
            (!before.contains(&support::name(p)) && support::pod_ready(p)).then(|| support::name(p))
        },
    );
    assert!(!loaded_config(&cluster, &pod).contains("added-just-before-the-reload"));
    support::set_chart_config(&cluster, GOOD_CONFIG_WITH_NEW_JOB);
    let posts_before = reload_posts(&cluster);
    let run = prom(
        &cluster,
        &[
            "reload",
            "-n",
            "monitoring",
            "--timeout",
            "2m",
            "-o",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    assert_eq!(doc["pods"][0]["outcome"], "reloaded", "{run}");
    assert_eq!(doc["pods"][0]["content"]["verdict"], "matches", "{run}");
    assert_eq!(doc["pods"][0]["reloads"], 0, "{run}");
    assert_eq!(doc["reloadWay"]["auto"]["intervalSeconds"], 5, "{run}");
    assert!(
        run.stderr
            .contains("reloaded by Prometheus itself (config.auto-reload, every 5s)"),
        "{run}"
    );
    assert_eq!(
        reload_posts(&cluster),
        posts_before,
        "no POST /-/reload was sent\n{run}"
    );
    // The witness: the server runs the new job, and its log says it reloaded by itself.
    assert!(loaded_config(&cluster, &pod).contains("added-just-before-the-reload"));
    assert!(
        kubectl(
            &cluster,
            &["logs", "-n", "monitoring", &pod, "-c", "prometheus-server"]
        )
        .contains("Configuration file change detected, reloading the configuration.")
    );
}

/// POSTs to `/-/reload` the API server proxied so far (kube-sim's request counter).
fn reload_posts(cluster: &support::Cluster) -> u64 {
    let stats = cluster.stats().expect("stats");
    stats["requests"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("POST") && k.contains("/-/reload"))
        .filter_map(|(_, v)| v.as_u64())
        .sum()
}

/// S7 (issue 16 hardening): with `--config.auto-reload` nothing is sent, so "not reloaded" was misleading when the
/// new file is invalid: Prometheus reads it by itself, fails, and keeps running the previous configuration (prometheus
/// v3.16.0 cmd/prometheus/main.go, the auto-reload tick: `reloadConfig` fails, `Error reloading config`, the
/// checksum reset). reload says that, and the real server proves it: it still runs the old configuration and logs
/// the failure. The file is one promtool rejects (a scrape timeout longer than the interval, config/config.go).
#[test]
fn v3_auto_reload_of_an_invalid_file_says_prometheus_keeps_the_previous_config() {
    if !support::real_prometheus_v3_or_skip(
        "v3_auto_reload_of_an_invalid_file_says_prometheus_keeps_the_previous_config",
    ) {
        return;
    }
    let Some(cluster) = support::start_real("chart-healthy") else {
        return;
    };
    let before = server_pods(&cluster);
    let patch = serde_json::json!([
        {"op": "remove", "path": "/spec/template/spec/containers/0"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "quay.io/prometheus/prometheus:v3.16.0"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/args", "value": [
            "--config.file=/etc/config/prometheus.yml",
            "--storage.tsdb.path=/data",
            "--config.auto-reload",
            "--config.auto-reload-interval=5s",
        ]},
    ]);
    support::json_patch(
        &cluster,
        "monitoring",
        "deployment/prometheus-server",
        &patch.to_string(),
    );
    let pod = support::wait_until(
        "the v3 pod to be ready",
        std::time::Duration::from_secs(180),
        || {
            let pods = kubectl_json(&cluster, &["get", "pods", "-n", "monitoring"]);
            let all: Vec<Value> = support::items(&pods)
                .into_iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .collect();
            let [p] = all.as_slice() else { return None };
            (!before.contains(&support::name(p)) && support::pod_ready(p)).then(|| support::name(p))
        },
    );
    const INVALID: &str = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['localhost:9090']\n  - job_name: timeout-longer-than-interval\n    scrape_interval: 5s\n    scrape_timeout: 10s\n    static_configs:\n      - targets: ['localhost:9100']\n";
    support::set_chart_config(&cluster, INVALID);
    let run = prom(&cluster, &["reload", "-n", "monitoring", "--timeout", "2m"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(
        run.stderr
            .contains("the file is invalid, and Prometheus reloads it by itself")
            && run
                .stderr
                .contains("keep running the previous configuration")
            && !run.stderr.contains("not reloaded")
            && !run.stderr.contains("--no-validate"),
        "{run}"
    );
    // The witness: the server read the file itself, failed, and runs the previous configuration.
    support::wait_until(
        "Prometheus's own failed reload in its log",
        std::time::Duration::from_secs(60),
        || {
            kubectl(
                &cluster,
                &["logs", "-n", "monitoring", &pod, "-c", "prometheus-server"],
            )
            .contains("Error reloading config")
            .then_some(())
        },
    );
    let running = loaded_config(&cluster, &pod);
    assert!(running.contains("job_name: prometheus"), "{running}");
    assert!(
        !running.contains("timeout-longer-than-interval"),
        "{running}"
    );
}
