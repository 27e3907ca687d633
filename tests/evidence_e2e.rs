//! No claim without evidence (issue 19 item 6): under injected API faults, `doctor` and `reload` state a finding or a
//! ✓ only from what they read. The API server's own failure (a 5xx `Status`, a dropped connection) on the pod proxy,
//! a list or a log read is a named gap — the request and its status — and the result says "unknown"; it is never
//! blamed on Prometheus, never answered with "ask an admin for read access" (that is for 401/403), and a reload whose
//! POST never came back is never reported as "the previous configuration is still active".
//! The tests need root and `prometheus`; they print a skip notice otherwise (and fail under `KUBE_SIM_REQUIRE=1`).

mod support;

use serde_json::Value;
use support::{Cluster, Options, Run, items, kubectl_json, name, prom};

const NS: &str = "monitoring";
/// README "Exit codes": the cluster or Prometheus refused or failed.
const CLUSTER: i32 = 3;

fn start_with(scenario: &str, faults: &[&str]) -> Option<Cluster> {
    Cluster::start_or_skip(Options {
        scenario: Some(scenario.to_string()),
        faults: faults.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    })
}

/// The one Prometheus server pod of chart-healthy.
fn server_pod(cluster: &Cluster) -> String {
    let pods = kubectl_json(
        cluster,
        &[
            "get",
            "pods",
            "-n",
            NS,
            "-l",
            "app.kubernetes.io/component=server",
        ],
    );
    let all: Vec<String> = items(&pods).iter().map(name).collect();
    assert_eq!(all.len(), 1, "{all:?}");
    all[0].clone()
}

/// Every finding of the report, with the instance's `result`.
fn findings(run: &Run) -> (Vec<Value>, Vec<String>) {
    let doc = run.json();
    let instances = doc["instances"].as_array().cloned().unwrap_or_default();
    let results = instances
        .iter()
        .map(|i| i["result"].as_str().unwrap_or("<none>").to_string())
        .collect();
    let found = instances
        .iter()
        .flat_map(|i| i["findings"].as_array().cloned().unwrap_or_default())
        .collect();
    (found, results)
}

fn no_panic(run: &Run) {
    assert!(!run.stderr.contains("panicked"), "{run}");
}

/// The PROM-900 gaps of a report, as one text each (evidence, meaning, fix).
fn gaps(found: &[Value]) -> Vec<String> {
    found
        .iter()
        .filter(|f| f["id"] == "PROM-900")
        .map(|f| f.to_string())
        .collect()
}

#[test]
fn a_503_from_the_api_server_on_the_pod_proxy_is_a_gap_not_prom_508() {
    // The API server (not Prometheus) answers 503 to every pod-proxy read: its `Status` body says where it came from.
    let Some(cluster) = start_with("chart-healthy", &["503:GET:/proxy/:100"]) else {
        return;
    };
    let pod = server_pod(&cluster);
    let run = prom(&cluster, &["doctor", "-n", NS, "-o", "json"]);
    no_panic(&run);
    let (found, results) = findings(&run);
    assert!(
        !found.iter().any(|f| f["id"] == "PROM-508"),
        "the API server's 503 was blamed on Prometheus:\n{run}"
    );
    assert_eq!(run.code, 0, "nothing was found, so nothing fails:\n{run}");
    assert_eq!(results, ["unknown"], "{run}");
    let gaps = gaps(&found);
    let request = format!("GET /api/v1/namespaces/{NS}/pods/{pod}:9090/proxy/api/v1/status/flags");
    assert!(
        gaps.iter()
            .any(|g| g.contains(&request) && g.contains("503") && g.contains("API server")),
        "no gap naming `{request}` and the API server's 503:\n{run}"
    );
    assert!(
        !gaps.iter().any(|g| g.contains("ask an admin")),
        "a 503 is not a missing permission:\n{run}"
    );
    // The person reading it sees the same.
    let human = prom(&cluster, &["doctor", "-n", NS]);
    no_panic(&human);
    // PROM-508 is named only among the checks the gap blinds, never as a finding.
    assert!(
        !human.stdout.contains("CRITICAL") && !human.stdout.contains("PROM-508  "),
        "{human}"
    );
    assert!(human.stdout.contains("result: unknown"), "{human}");
}

#[test]
fn a_500_on_a_read_is_a_gap_with_its_status_never_a_permission_to_ask_for() {
    let Some(cluster) = start_with(
        "chart-healthy",
        &[&format!("500:GET:/api/v1/namespaces/{NS}/events:1")],
    ) else {
        return;
    };
    let run = prom(&cluster, &["doctor", "-n", NS, "-o", "json"]);
    no_panic(&run);
    let (found, results) = findings(&run);
    let gaps = gaps(&found);
    assert_eq!(gaps.len(), 1, "{run}");
    assert!(
        gaps[0].contains(&format!("GET /api/v1/namespaces/{NS}/events")) && gaps[0].contains("500"),
        "the gap does not name the request and its status:\n{run}"
    );
    assert!(
        !gaps[0].contains("read access"),
        "a 500 is not a missing permission:\n{run}"
    );
    assert_eq!(results, ["unknown"], "{run}");
}

#[test]
fn a_failed_log_read_is_a_gap_naming_the_log_request_and_prom_401() {
    let Some(cluster) = start_with("chart-healthy", &["500:GET:/log:100"]) else {
        return;
    };
    let pod = server_pod(&cluster);
    let run = prom(&cluster, &["doctor", "-n", NS, "-o", "json"]);
    no_panic(&run);
    let (found, results) = findings(&run);
    let gaps = gaps(&found);
    let request = format!("GET /api/v1/namespaces/{NS}/pods/{pod}/log?container=prometheus-server");
    assert!(
        gaps.iter()
            .any(|g| g.contains(&request) && g.contains("500") && g.contains("PROM-401")),
        "the unread log is not a gap naming `{request}`, its 500 and the blinded PROM-401:\n{run}"
    );
    assert!(!gaps.iter().any(|g| g.contains("read access")), "{run}");
    assert_eq!(results, ["unknown"], "{run}");
}

/// Whether the run claims the old configuration stays active (a claim only Prometheus' own refusal supports).
fn claims_previous_config(run: &Run) -> bool {
    run.stdout.contains("previous configuration") || run.stderr.contains("previous configuration")
}

#[test]
fn a_reload_post_that_never_came_back_is_unknown_not_a_failure() {
    for fault in ["drop:POST:/-/reload:1", "503:POST:/-/reload:1"] {
        let Some(cluster) = start_with("chart-healthy", &[fault]) else {
            return;
        };
        let run = prom(&cluster, &["reload", "-n", NS]);
        no_panic(&run);
        assert_eq!(run.code, CLUSTER, "{fault}: {run}");
        assert!(
            !claims_previous_config(&run),
            "{fault}: it cannot know the previous configuration is active:\n{run}"
        );
        assert!(run.stdout.contains("unknown"), "{fault}: {run}");
        assert!(
            run.stderr.contains("unknown")
                && run.stderr.contains(&format!(
                    "kubectl prom doctor deploy/prometheus-server -n {NS}"
                )),
            "{fault}: no `unknown` and no way to find out:\n{run}"
        );
        let json = prom(&cluster, &["reload", "-n", NS, "-o", "json"]);
        // The fault was used up: this one goes through and proves the path works.
        assert_eq!(json.code, 0, "{json}");
    }
}

#[test]
fn a_config_file_that_could_not_be_read_is_never_a_tick() {
    // The first exec (the `cat` of the mounted file) is refused by the API server; promtool's exec goes through.
    let Some(cluster) = start_with("chart-healthy", &["500:GET:/exec:1"]) else {
        return;
    };
    let run = prom(&cluster, &["reload", "-n", NS]);
    no_panic(&run);
    assert!(
        !run.stderr
            .lines()
            .any(|l| l.contains('✓') && l.contains("not waiting")),
        "a ✓ for a file never read:\n{run}"
    );
    assert!(
        run.stderr.contains("/etc/config/prometheus.yml") && run.stderr.contains("unknown"),
        "the unread file is not named, or its state not called unknown:\n{run}"
    );
    assert_eq!(run.code, CLUSTER, "{run}");
    assert!(
        run.stderr.contains(&format!(
            "kubectl prom doctor deploy/prometheus-server -n {NS}"
        )),
        "{run}"
    );
}
