//! End-to-end tests of `doctor` over several clusters and of the transport: two real-control-plane worlds (issue 16:
//! the real API server behind kube-sim's knob proxy, real Prometheus processes on kube-sim's node) and three broken
//! contexts (no server listening, credentials the server rejects, a server that never answers) in one merged
//! kubeconfig; every context reported, the broken ones named while the others complete, the JSON with one entry per
//! cluster, the exit codes of the README; and the TLS connections a verb opens, counted by the knob proxy the
//! kubeconfig points at (`/kube-sim/stats`). They need root and the built world; they print a skip notice otherwise.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use support::{Cluster, Run, kubectl_json, prom, prom_with, start_real, wait_until};

/// The fleet test times its clusters (each reachable one well under its 8 s `--cluster-timeout`, the whole run under
/// 30 s): it runs alone (write), so those bounds never share the CPU with the suite's other worlds booting (8–25 s of
/// boot each on a loaded machine). The tests that only count connections and requests run together (read): a count
/// does not depend on the load.
static TIMED: RwLock<()> = RwLock::new(());

/// Every pod in `monitoring` is Ready (the real kubectl is the witness).
fn all_ready(cluster: &Cluster) {
    wait_until(
        "every pod in monitoring to be Ready",
        Duration::from_secs(150),
        || {
            let pods = kubectl_json(cluster, &["get", "pods", "-n", "monitoring"]);
            let items = pods["items"].as_array()?.clone();
            (!items.is_empty() && items.iter().all(support::pod_ready)).then_some(())
        },
    );
}

/// A cluster's kubeconfig (kube-sim writes one cluster `kube-sim`, admin user `kube-sim-admin`) as JSON, read with the
/// real kubectl.
fn kubeconfig_of(cluster: &Cluster) -> Value {
    let text = support::kubectl(cluster, &["config", "view", "--raw", "-o", "json"]);
    serde_json::from_str(&text).expect("kubectl config view -o json")
}

/// One context of the merged kubeconfig: its own cluster entry and user entry.
fn entry(name: &str, cluster: Value, user: Value) -> (Value, Value, Value) {
    (
        json!({"name": name, "cluster": cluster}),
        json!({"name": name, "user": user}),
        json!({"name": name, "context": {"cluster": name, "user": name, "namespace": "monitoring"}}),
    )
}

/// A free local port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The merged kubeconfig of the fleet, written to `path`: `sim-healthy` and `sim-disk-full` (admin of each cluster),
/// `sim-down` (no server listening), `sim-expired` (the healthy cluster with a token it does not know: 401) and
/// `sim-hang` (`hang_addr`: accepts TCP, never answers).
fn merged_kubeconfig(path: &Path, healthy: &Cluster, disk_full: &Cluster, hang_addr: &str) {
    let (h, d) = (kubeconfig_of(healthy), kubeconfig_of(disk_full));
    let admin = |k: &Value| k["users"][0]["user"].clone();
    let server = |k: &Value| k["clusters"][0]["cluster"].clone();
    let mut down = server(&h);
    down["server"] = json!(format!("https://127.0.0.1:{}", closed_port()));
    let hang = json!({"server": format!("https://{hang_addr}"), "insecure-skip-tls-verify": true});
    let entries = [
        entry("sim-healthy", server(&h), admin(&h)),
        entry("sim-disk-full", server(&d), admin(&d)),
        entry("sim-down", down, admin(&h)),
        entry(
            "sim-expired",
            server(&h),
            json!({"token": "expired-or-revoked"}),
        ),
        entry("sim-hang", hang, json!({"token": "never-sent"})),
    ];
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "sim-healthy",
        "clusters": entries.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
        "users": entries.iter().map(|e| e.1.clone()).collect::<Vec<_>>(),
        "contexts": entries.iter().map(|e| e.2.clone()).collect::<Vec<_>>(),
    });
    // JSON is YAML: kubectl and the plugin read it as a kubeconfig.
    std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).expect("write kubeconfig");
}

fn cluster_named<'a>(report: &'a Value, context: &str) -> &'a Value {
    report["clusters"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["context"] == context))
        .unwrap_or_else(|| panic!("no cluster {context} in {report:#}"))
}

#[test]
fn fleet_reports_every_context_and_names_the_broken_ones_while_the_others_complete() {
    let _alone = TIMED.write().unwrap_or_else(|e| e.into_inner());
    let Some(healthy) = start_real("chart-healthy") else {
        return;
    };
    let Some(disk_full) = start_real("disk-full") else {
        return;
    };
    all_ready(&healthy);
    // Accepts connections (the kernel completes the handshake) and never reads them: a cluster that hangs.
    let hang = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("fleet.yaml");
    merged_kubeconfig(
        &kubeconfig,
        &healthy,
        &disk_full,
        &hang.local_addr().unwrap().to_string(),
    );
    let fleet = |args: &[&str]| -> Run { prom_with(&kubeconfig, &[], args) };

    // Every context, JSON: one entry per cluster in kubeconfig order; the hanging one bounded by --cluster-timeout.
    let started = Instant::now();
    let run = fleet(&[
        "doctor",
        "--all-contexts",
        "-o",
        "json",
        "--cluster-timeout",
        "8s",
    ]);
    let wall = started.elapsed();
    assert_eq!(run.code, 3, "a cluster could not be checked: exit 3\n{run}");
    let report = run.json();
    assert_eq!(report["kind"], "DoctorReport", "{run}");
    let contexts: Vec<&str> = report["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["context"].as_str().unwrap())
        .collect();
    assert_eq!(
        contexts,
        [
            "sim-healthy",
            "sim-disk-full",
            "sim-down",
            "sim-expired",
            "sim-hang"
        ]
    );
    assert_eq!(report["summary"]["clusters"], 5);
    assert_eq!(report["summary"]["unreachable"], 3, "{report:#}");
    for good in ["sim-healthy", "sim-disk-full"] {
        let c = cluster_named(&report, good);
        assert!(c.get("error").is_none(), "{c:#}");
        assert_eq!(c["summary"]["instances"], 1, "{c:#}");
        assert_eq!(c["instances"][0]["namespace"], "monitoring", "{c:#}");
        assert!(
            c["version"].as_str().is_some_and(|v| v.starts_with('v')),
            "{c:#}"
        );
        // Not held up by the hanging cluster: each finished well before its 8 s bound.
        assert!(c["elapsedMs"].as_u64().unwrap() < 8000, "{c:#}");
    }
    let down = cluster_named(&report, "sim-down");
    assert!(down.get("instances").is_none(), "{down:#}");
    assert!(
        down["error"]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("connection refused"),
        "{down:#}"
    );
    let expired = cluster_named(&report, "sim-expired");
    assert!(
        expired["error"]["message"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{expired:#}"
    );
    assert!(expired["error"]["hint"].as_str().is_some(), "{expired:#}");
    let hung = cluster_named(&report, "sim-hang");
    assert!(
        hung["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--cluster-timeout"),
        "{hung:#}"
    );
    assert!(
        wall < Duration::from_secs(30),
        "the run is bounded by the hanging cluster's 8 s, not more: {wall:?}"
    );
    // The token of a context is never printed, not even for the cluster that refused it.
    let token = kubeconfig_of(&healthy)["users"][0]["user"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!run.stdout.contains(&token) && !run.stderr.contains(&token));
    // Progress said which clusters were still running.
    assert!(run.stderr.contains("still running: "), "{run}");

    // The same for a person: a section per context and a closing table naming the ones not checked.
    let human = fleet(&["doctor", "--all-contexts", "--cluster-timeout", "8s"]);
    assert_eq!(human.code, 3, "{human}");
    for c in &contexts {
        assert!(human.stdout.contains(&format!("=== {c}")), "{human}");
    }
    let table: Vec<&str> = human
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("CONTEXT"))
        .collect();
    assert_eq!(table.len(), 1 + 5 + 1, "{human}");
    for broken in ["sim-down", "sim-expired", "sim-hang"] {
        assert!(
            table
                .iter()
                .any(|l| l.starts_with(broken) && l.contains("not checked")),
            "{human}"
        );
    }
    assert!(
        table
            .last()
            .unwrap()
            .contains("3 of 5 could not be checked"),
        "{human}"
    );

    // The two reachable clusters: findings of either count (the full disk is critical: exit 1) once it crash-looped.
    wait_until(
        "the fleet of the two clusters to report the full disk",
        Duration::from_secs(150),
        || {
            let run = fleet(&[
                "doctor",
                "--context",
                "sim-healthy",
                "--context",
                "sim-disk-full",
                "-o",
                "json",
            ]);
            assert!(run.code == 0 || run.code == 1, "{run}");
            let report = run.json();
            let first = &cluster_named(&report, "sim-disk-full")["instances"][0]["findings"][0];
            (first["id"] == "PROM-201").then(|| assert_eq!(run.code, 1, "{run}"))
        },
    );
    // A glob picks the healthy one alone: exit 0 (its findings are info).
    let glob = fleet(&["doctor", "--context-glob", "*healthy", "-o", "json"]);
    assert_eq!(glob.code, 0, "{glob}");
    assert_eq!(
        glob.json()["clusters"].as_array().unwrap().len(),
        1,
        "{glob}"
    );
    // A glob matching nothing, or an unknown context, is a usage error naming the contexts.
    let none = fleet(&["doctor", "--context-glob", "staging-*"]);
    assert_eq!(none.code, 2, "{none}");
    assert!(none.stderr.contains("sim-disk-full"), "{none}");
    // One context is today's one-cluster report, unchanged (no `clusters`).
    let one = fleet(&["doctor", "--context", "sim-healthy", "-o", "json"]);
    assert_eq!(one.code, 0, "{one}");
    assert!(one.json().get("clusters").is_none(), "{one}");
    assert_eq!(one.json()["summary"]["instances"], 1, "{one}");
    // Other verbs take one context.
    let reload = fleet(&[
        "reload",
        "--context",
        "sim-healthy",
        "--context",
        "sim-disk-full",
    ]);
    assert_eq!(reload.code, 2, "{reload}");
    drop(hang);
}

/// TLS connections the server accepted during `args` (kube-sim's counter; both reads are kubectl's own connections),
/// and the exec sessions it served meanwhile (each WebSocket needs an HTTP/1.1 connection of its own).
fn connections_during(cluster: &Cluster, args: &[&str]) -> (u64, u64, Run) {
    let read = || {
        let stats = cluster.stats().expect("stats");
        let execs: u64 = stats["requests"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.ends_with("/exec"))
            .map(|(_, v)| v.as_u64().unwrap())
            .sum();
        (stats["connections"].as_u64().unwrap(), execs)
    };
    let (before, execs_before) = read();
    let run = prom(cluster, args);
    let (after, execs_after) = read();
    (after - before - 1, execs_after - execs_before, run)
}

#[test]
fn doctor_and_reload_share_one_tls_connection_for_every_api_request() {
    let _shared = TIMED.read().unwrap_or_else(|e| e.into_inner());
    let Some(cluster) = start_real("chart-healthy") else {
        return;
    };
    all_ready(&cluster);
    let (doctor, execs, run) =
        connections_during(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["summary"]["instances"], 1, "{run}");
    assert_eq!(execs, 0, "{run}");
    assert!(doctor <= 2, "doctor opened {doctor} TLS connections\n{run}");
    let (all, _, run) = connections_during(&cluster, &["doctor", "-A", "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(all <= 2, "doctor -A opened {all} TLS connections\n{run}");
    // reload validates by exec (`promtool`, and `cat` of the mounted file): every API request shares one connection,
    // each exec session has its own (the API server has no WebSocket over HTTP/2), so the file read and the check
    // share one session (issue 20: at most 2 connections).
    let (reload, execs, run) =
        connections_during(&cluster, &["reload", "-n", "monitoring", "--yes"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("reloaded"), "{run}");
    // The exec sessions worked (promtool validated the configuration over the HTTP/1.1 client).
    assert!(run.stdout.contains("promtool"), "{run}");
    assert!(execs >= 1, "{run}");
    assert!(
        reload <= 1 + execs,
        "reload opened {reload} TLS connections for {execs} exec sessions\n{run}"
    );
    assert_eq!(
        execs, 1,
        "the file read and promtool in one exec session\n{run}"
    );
    assert!(
        reload <= 2,
        "reload opened {reload} TLS connections (target ≤ 2)\n{run}"
    );
    // The real kubectl still talks to the same server (HTTP/2 negotiated by ALPN for both).
    let pods = kubectl_json(&cluster, &["get", "pods", "-n", "monitoring"]);
    assert!(!support::items(&pods).is_empty());
}

#[test]
fn a_server_without_http2_is_spoken_to_in_http1() {
    let _shared = TIMED.read().unwrap_or_else(|e| e.into_inner());
    // ALPN offers only http/1.1, as a TLS-terminating proxy without HTTP/2 does.
    let Some(cluster) = support::start_real_opts(support::Options {
        scenario: Some("chart-healthy".into()),
        http1_only: true,
        ..Default::default()
    }) else {
        return;
    };
    all_ready(&cluster);
    let (connections, _, run) =
        connections_during(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["summary"]["instances"], 1, "{run}");
    // Concurrent requests over HTTP/1.1 each need a connection: the fallback, not the shared HTTP/2 one, was used.
    assert!(connections > 2, "{connections} connections\n{run}");
    let (_, _, reload) = connections_during(&cluster, &["reload", "-n", "monitoring", "--yes"]);
    assert_eq!(reload.code, 0, "{reload}");
}

/// The configuration Prometheus runs in `pod`, read through the API server's pod proxy with the real kubectl.
fn running_config(cluster: &Cluster, pod: &str) -> String {
    let raw = support::kubectl(
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

/// Issue 20's last miss: a reload of N replicas opened 1 + N TLS connections (one exec session per pod to read its
/// file). Now one exec session in one pod (its file and promtool), and every other pod's sync and reload proven over
/// the shared HTTP/2 connection by what it runs. The ConfigMap is edited just before the reload, so the pods' files
/// are still the old ones when the plugin starts: both must end up running the new job (the real kubectl reads it
/// back), with at most 2 connections.
#[test]
fn reload_of_two_replicas_spends_at_most_two_tls_connections() {
    let _shared = TIMED.read().unwrap_or_else(|e| e.into_inner());
    let Some(cluster) = start_real("chart-sts") else {
        return;
    };
    all_ready(&cluster);
    let pods = ["prometheus-server-0", "prometheus-server-1"];
    for pod in pods {
        assert!(!running_config(&cluster, pod).contains("edited-before-the-reload"));
    }
    support::set_chart_config(
        &cluster,
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['localhost:9090']\n  - job_name: edited-before-the-reload\n    static_configs:\n      - targets: ['localhost:9100']\n",
    );
    let (connections, execs, run) = connections_during(
        &cluster,
        &["reload", "-n", "monitoring", "--yes", "-o", "json"],
    );
    assert_eq!(run.code, 0, "{run}");
    let doc = run.json();
    let reported = doc["pods"].as_array().expect("pods");
    assert_eq!(reported.len(), 2, "{run}");
    for p in reported {
        assert_eq!(p["outcome"], "reloaded", "{run}");
        assert_eq!(p["content"]["verdict"], "matches", "{run}");
    }
    assert!(
        doc["validation"]
            .as_array()
            .is_some_and(|v| v.iter().any(|s| s == "promtool")),
        "{run}"
    );
    for pod in pods {
        assert!(
            running_config(&cluster, pod).contains("edited-before-the-reload"),
            "{pod} does not run the edited configuration\n{run}"
        );
    }
    assert_eq!(execs, 1, "one exec session, in one pod\n{run}");
    assert!(
        connections <= 2,
        "reload of 2 replicas opened {connections} TLS connections (target ≤ 2)\n{run}"
    );
}
