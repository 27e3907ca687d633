//! A rollout that cannot progress is reported as soon as its cause is visible, not at `--timeout` (issue 18 item 4):
//! the real plugin against the real control plane (kube-sim is the node, whose kubelet runs the real Prometheus),
//! read back with the real `kubectl`.

mod support;

use std::time::{Duration, Instant};
use support::{kubectl_json, prom, start};

/// A configuration Prometheus refuses at start-up (`scarpe_interval`): a pod started with it exits at once, and
/// the kubelet backs it off (CrashLoopBackOff).
const TYPO_CONFIG: &str = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    scarpe_interval: 5s\n    static_configs:\n      - targets: ['localhost:9090']\n";

#[test]
fn a_new_pod_that_crash_loops_stops_the_rollout_wait_with_its_cause() {
    let Some(cluster) = start("lifecycle-off") else {
        return;
    };
    // The ConfigMap was edited to a configuration Prometheus rejects; the running pod never loaded it (its lifecycle
    // API is off), so it stays Ready. `--enable-lifecycle --no-validate` rolls out pods that start with it.
    support::set_chart_config(&cluster, TYPO_CONFIG);
    let began = Instant::now();
    let run = prom(
        &cluster,
        &[
            "reload",
            "-n",
            "monitoring",
            "--enable-lifecycle",
            "--no-validate",
            "--yes",
            "--timeout",
            "3m",
        ],
    );
    let took = began.elapsed();
    assert_ne!(run.code, 0, "after {}s: {run}", took.as_secs());
    assert!(
        run.stderr.contains("cannot progress") && run.stderr.contains("CrashLoopBackOff"),
        "the cause is named: {run}"
    );
    assert!(
        run.stderr.contains("pod monitoring/prometheus-server-")
            && run.stderr.contains("container prometheus-server"),
        "the pod and container are named: {run}"
    );
    assert!(
        run.stderr
            .contains("kubectl rollout undo deployment/prometheus-server")
            || run.stderr.contains("kubectl rollout undo deploy"),
        "what to run next: {run}"
    );
    // Well before the 3 minute bound (the old wait ran to it: `timed out after 180s waiting for the rollout`).
    assert!(
        took < Duration::from_secs(90),
        "reported after {}s: {run}",
        took.as_secs()
    );
    assert!(!run.stderr.contains("timed out after"), "{run}");
    // The change itself stays applied (the report says so): the Deployment carries the flag.
    let deploy = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus-server", "-n", "monitoring"],
    );
    assert!(
        deploy["spec"]["template"]["spec"]["containers"]
            .to_string()
            .contains("--web.enable-lifecycle"),
        "{deploy}"
    );
}
