//! Shared by the kubectl-driven kubelet and scenario tests: run the real kubectl against a `Cluster`, apply YAML,
//! poll with a diagnostic dump on timeout, and read pods' readiness.
#![allow(dead_code)]
use kube_sim::cluster::Cluster;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Runs kubectl with the cluster's kubeconfig; (exit code, stdout, stderr).
pub fn kubectl(c: &Cluster, args: &[&str]) -> (i32, String, String) {
    let out = c.kubectl().args(args).output().expect("kubectl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `kubectl exec -n NS POD -c CONTAINER -- ARGV…`; (exit code, stdout, stderr).
pub fn exec_in(
    c: &Cluster,
    ns: &str,
    pod: &str,
    container: &str,
    argv: &[&str],
) -> (i32, String, String) {
    let mut args = vec!["exec", "-n", ns, pod, "-c", container, "--"];
    args.extend_from_slice(argv);
    kubectl(c, &args)
}

/// `kubectl apply -f -` of `yaml`; panics with kubectl's stderr when it fails.
pub fn apply(c: &Cluster, yaml: &str) {
    let mut child = c
        .kubectl()
        .args(["apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write YAML");
    let out = child.wait_with_output().expect("kubectl finishes");
    assert!(
        out.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls until `f` yields, or panics after `timeout` with `what`, the pods and the events.
pub fn wait_for<T>(
    c: &Cluster,
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > timeout {
            let (_, pods, _) = kubectl(c, &["get", "pods", "-A", "-o", "wide"]);
            let (_, events, _) = kubectl(c, &["get", "events", "-A"]);
            panic!("timed out after {timeout:?} waiting for {what}\n{pods}\n{events}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// (name, every container ready) of the pods in `ns` matching `selector`.
pub fn pods(c: &Cluster, ns: &str, selector: &str) -> Vec<(String, bool)> {
    let (_, out, _) = kubectl(
        c,
        &[
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            selector,
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[*].ready}{"\n"}{end}"#,
        ],
    );
    out.lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next()?.to_string();
            let ready: Vec<&str> = parts.collect();
            Some((
                name,
                !ready.is_empty() && ready.iter().all(|r| *r == "true"),
            ))
        })
        .collect()
}

/// The first pod in `ns` matching `selector` whose containers are all ready.
pub fn ready_pod(c: &Cluster, ns: &str, selector: &str) -> Option<String> {
    pods(c, ns, selector).into_iter().find(|p| p.1).map(|p| p.0)
}

/// The second column of `df -k` output: the filesystem size in KiB.
pub fn df_size_kib(df: &str) -> Option<u64> {
    df.lines().nth(1)?.split_whitespace().nth(1)?.parse().ok()
}
