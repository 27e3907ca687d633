//! `/kube-sim/stats?since=N` (a test knob) against the real kubectl: sequential requests are serial round trips,
//! concurrent ones are one, an exec lasts until its session ends (not its 101 answer), the stats request itself
//! is not part of what it reports, and TLS connections are counted.
#[path = "kubelet_support/mod.rs"]
mod support;

use kube_sim::Options;
use kube_sim::cluster::Cluster;
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::Duration;
use support::{apply, kubectl, wait_for};

/// Long enough that processes started together overlap on a loaded machine, and a chain cannot be mistaken for one.
const LATENCY: Duration = Duration::from_millis(500);
const PODS: &str = "/api/v1/namespaces/default/pods";

fn total(c: &Cluster) -> u64 {
    c.stats().expect("stats")["total"]
        .as_u64()
        .expect("total is a number")
}

fn window(c: &Cluster, since: u64) -> Value {
    c.stats_since(since).expect("stats?since")["since"].clone()
}

fn spawn_kubectl(c: &Cluster, args: &[&str]) -> Child {
    c.kubectl()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl runs")
}

#[test]
fn serial_round_trips_are_measured_from_the_server_side() {
    let Some(c) = Cluster::start_or_skip(Options {
        latency: Some(LATENCY),
        ..Default::default()
    }) else {
        return;
    };

    // Three requests, each sent after the previous answer: three round trips.
    let start = c.stats().expect("stats");
    let before = start["total"].as_u64().expect("total");
    for _ in 0..3 {
        let (code, _, err) = kubectl(&c, &["get", "--raw", PODS]);
        assert_eq!(code, 0, "{err}");
    }
    let stats = c.stats_since(before).expect("stats?since");
    // One TLS connection per kubectl process, the last stats read's own included.
    assert_eq!(
        stats["connections"].as_u64(),
        start["connections"].as_u64().map(|n| n + 4),
        "{stats}"
    );
    let w = stats["since"].clone();
    assert_eq!(w["requests"], 3, "{w}");
    assert_eq!(w["serial_round_trips"], 3, "{w}");
    assert_eq!(w["critical_path"][2], format!("GET {PODS}"), "{w}");
    assert!(w["bytes"].as_u64() > Some(0), "{w}");
    // Reading the stats again adds nothing: the stats request is not counted.
    assert_eq!(window(&c, before)["requests"], 3);

    // Three requests in flight together: one round trip.
    let before = total(&c);
    let children: Vec<Child> = (0..3)
        .map(|_| spawn_kubectl(&c, &["get", "--raw", PODS]))
        .collect();
    for mut child in children {
        assert!(child.wait().expect("kubectl ends").success());
    }
    let w = window(&c, before);
    assert_eq!(w["requests"], 3, "{w}");
    assert_eq!(w["serial_round_trips"], 1, "{w}");

    // An exec's request lasts as long as its session: a request sent after the 101 but while the command still
    // runs overlaps it. kubectl exec reads the pod first, so that is two round trips (get pod, then exec beside the
    // other request), where ending the exec at its 101 answer would make three.
    apply(
        &c,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: sleeper, namespace: default}
spec:
  containers:
    - name: app
      image: busybox:1.36
      command: [sleep, "3600"]
"#,
    );
    wait_for(&c, "sleeper running", Duration::from_secs(60), || {
        let (_, started, _) = kubectl(
            &c,
            &[
                "get",
                "pod",
                "sleeper",
                "-o",
                "jsonpath={.status.containerStatuses[0].state.running.startedAt}",
            ],
        );
        (!started.is_empty()).then_some(())
    });
    let before = total(&c);
    let mut exec = spawn_kubectl(&c, &["exec", "sleeper", "--", "sleep", "4"]);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, _, err) = kubectl(&c, &["get", "--raw", PODS]);
    assert_eq!(code, 0, "{err}");
    assert!(exec.wait().expect("kubectl exec ends").success());
    let w = window(&c, before);
    assert_eq!(
        w["by_request"]["GET /api/v1/namespaces/default/pods/sleeper/exec"]["count"], 1,
        "{w}"
    );
    assert_eq!(w["serial_round_trips"], 2, "{w}");
    assert_eq!(
        w["critical_path"][0], "GET /api/v1/namespaces/default/pods/sleeper",
        "{w}"
    );
}
