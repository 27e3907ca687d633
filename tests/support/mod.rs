//! End-to-end helpers shared by the `tests/*.rs` suites: start a kube-sim scenario, run the real `kubectl-prom`
//! binary with `KUBECONFIG` set and `HOME` a scratch directory (a developer's own cluster is never touched), run the
//! real kubectl, and wait for conditions with a bound. Each suite includes it with `mod support;`.

#![allow(dead_code, clippy::print_stderr)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use kube_sim::{Cluster, Options};

pub mod proxy;

/// Start a scenario, or print a skip notice (not root, no `prometheus`) and return None; under
/// `KUBE_SIM_REQUIRE=1` (CI) an unavailable machine is a failure instead.
pub fn start(scenario: &str) -> Option<Cluster> {
    Cluster::start_or_skip(Options {
        scenario: Some(scenario.to_string()),
        ..Default::default()
    })
}

/// What one run of the plugin left behind.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON; panics with the whole run when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// What every run of the plugin gets: the cluster's kubeconfig, a scratch HOME (a developer's own kubeconfig and
/// caches are never touched) and no colour.
pub fn plugin_env<'c>(cmd: &'c mut Command, kubeconfig: &Path, home: &Path) -> &'c mut Command {
    cmd.env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .env("NO_COLOR", "1")
}

/// The real binary against a kubeconfig, with a scratch HOME, no terminal on stdin, no colour, and extra env.
pub fn prom_with(kubeconfig: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("temp HOME");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-prom"));
    plugin_env(cmd.args(args), kubeconfig, home.path()).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run kubectl-prom");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The plugin as the cluster's admin (the kubeconfig's current context).
pub fn prom(cluster: &Cluster, args: &[&str]) -> Run {
    prom_with(cluster.kubeconfig_path(), &[], args)
}

/// The plugin as the scenario's restricted user.
pub fn prom_restricted(cluster: &Cluster, args: &[&str]) -> Run {
    let mut all = vec!["--context", cluster.restricted_context()];
    all.extend_from_slice(args);
    prom_with(cluster.kubeconfig_path(), &[], &all)
}

/// The real kubectl as admin; panics with its stderr when it fails.
pub fn kubectl(cluster: &Cluster, args: &[&str]) -> String {
    let out = cluster.kubectl().args(args).output().expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The real kubectl, parsed as JSON (`-o json` is added).
pub fn kubectl_json(cluster: &Cluster, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&kubectl(cluster, &all)).expect("kubectl -o json")
}

/// Poll `check` until it returns Some, or panic after `timeout` naming what was awaited.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Whether a tool is on PATH; prints a skip notice when it is not (tests then return early).
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("KUBE_SIM_REQUIRE").as_deref() != Ok("1"),
            "`{tool}` is required (KUBE_SIM_REQUIRE=1)"
        );
        eprintln!("SKIP: `{tool}` is not installed");
    }
    found
}

/// Start a scenario on the real control plane (issue 16: etcd, kube-apiserver, controller-manager and scheduler built
/// by `tools/world/build.sh`, kube-sim as the node and the CSI driver, the knob proxy in front). A suite moved to the
/// real control plane calls this instead of [`start`]. Skips (None, with a notice) when the world is not built —
/// unless `KUBE_SIM_REQUIRE=1` (CI), where that is a failure.
pub fn start_real(scenario: &str) -> Option<Cluster> {
    start_real_opts(Options {
        scenario: Some(scenario.to_string()),
        ..Default::default()
    })
}

/// [`start_real`] with knobs (`faults`, `latency`).
pub fn start_real_opts(opts: Options) -> Option<Cluster> {
    Cluster::start_real_opts_or_skip(&opts)
}

/// [`start_with_fault`] on the real control plane (the fault rule is served by the knob proxy).
pub fn start_real_with_fault(scenario: &str, fault: &str) -> Option<Cluster> {
    start_real_opts(Options {
        scenario: Some(scenario.into()),
        faults: vec![fault.into()],
        ..Default::default()
    })
}

/// Start a scenario with one injected fault rule (`ACTION:METHOD:PATH:TIMES`, see kube-sim's README), or skip as
/// [`start`] does.
pub fn start_with_fault(scenario: &str, fault: &str) -> Option<Cluster> {
    Cluster::start_or_skip(Options {
        scenario: Some(scenario.into()),
        faults: vec![fault.into()],
        ..Default::default()
    })
}

/// The `items` of a list as kubectl prints it with `-o json`.
pub fn items(list: &serde_json::Value) -> Vec<serde_json::Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

/// `metadata.name` of an object.
pub fn name(obj: &serde_json::Value) -> String {
    obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Whether a pod's Ready condition is True.
pub fn pod_ready(pod: &serde_json::Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// The plugin running in the background, so a test can act while it works (send Ctrl-C at a chosen moment). Its
/// stderr is read line by line as it comes; stdout is collected.
pub struct Background {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
    stdout: std::thread::JoinHandle<String>,
    _home: tempfile::TempDir,
}

/// Start the real binary as admin, like [`prom`] (scratch HOME, no terminal, no colour), without waiting for it.
pub fn spawn_prom(cluster: &Cluster, args: &[&str]) -> Background {
    spawn_prom_with(cluster, args, false)
}

/// [`spawn_prom`] with its stdout closed from the start (the reader of `| head -0` is gone): every write to stdout
/// gets EPIPE.
pub fn spawn_prom_stdout_closed(cluster: &Cluster, args: &[&str]) -> Background {
    spawn_prom_with(cluster, args, true)
}

fn spawn_prom_with(cluster: &Cluster, args: &[&str], stdout_closed: bool) -> Background {
    use std::io::{BufRead, Read};
    let home = tempfile::tempdir().expect("temp HOME");
    let mut child = plugin_env(
        Command::new(env!("CARGO_BIN_EXE_kubectl-prom")).args(args),
        cluster.kubeconfig_path(),
        home.path(),
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn kubectl-prom");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // split on b'\n' and decode lossily: a test must see the bytes even if they are not UTF-8.
        for line in std::io::BufReader::new(stderr)
            .split(b'\n')
            .map_while(Result::ok)
        {
            if tx
                .send(String::from_utf8_lossy(&line).into_owned())
                .is_err()
            {
                break;
            }
        }
    });
    let mut stdout = child.stdout.take().filter(|_| !stdout_closed);
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(stdout) = stdout.as_mut() {
            let _ = stdout.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    });
    Background {
        child,
        lines,
        stderr_seen: Vec::new(),
        stdout,
        _home: home,
    }
}

impl Background {
    /// Block until a stderr line satisfies `matches` and return it; panics after `timeout` (or when the process
    /// ended first) with everything it printed.
    pub fn wait_for_stderr(
        &mut self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no stderr line showing {what} ({e:?}); stderr so far:\n{}",
                    self.stderr_seen.join("\n")
                ),
            }
        }
    }

    /// Send SIGINT, as Ctrl-C in a terminal does (`kill -INT`; the crate forbids unsafe code, so no libc here).
    pub fn interrupt(&self) {
        self.signal("INT");
    }

    /// Send a signal by name (`TERM`: a service manager or `timeout`; `HUP`: the terminal went away).
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{name} {} failed", self.child.id());
    }

    /// Close our end of its stderr, as `2>&1 | grep -m1 …` does once grep has its line: the reader thread stops at
    /// the next line, and every write after that gets EPIPE. What was read so far stays in the run.
    pub fn close_stderr(&mut self) {
        self.stderr_seen.extend(self.lines.try_iter());
        // Dropping the receiver makes the reader thread's next send fail; it then drops the pipe.
        self.lines = std::sync::mpsc::channel().1;
    }

    /// Wait for the process to exit (killing it and panicking after `timeout`: it hung) and return the whole run.
    pub fn finish(mut self, timeout: Duration) -> Run {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for kubectl-prom") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "kubectl-prom did not exit within {timeout:?}; stderr so far:\n{}",
                    self.stderr_seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // The reader thread ends at EOF, which follows the exit.
        self.stderr_seen.extend(self.lines.iter());
        Run {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self.stderr_seen.join("\n"),
        }
    }
}

/// The args of one container of a Deployment's pod template, read with the real kubectl.
pub fn deployment_container_args(
    cluster: &Cluster,
    namespace: &str,
    deployment: &str,
    container: &str,
) -> Vec<String> {
    let deploy = kubectl_json(cluster, &["get", "deploy", deployment, "-n", namespace]);
    deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["name"] == container)
        .flat_map(|c| c["args"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(String::from))
        .collect()
}

/// How many `METHOD path` requests the simulator has served so far (its `/kube-sim/stats` test knob).
pub fn requests_to(cluster: &Cluster, method_and_path: &str) -> u64 {
    let stats: serde_json::Value =
        serde_json::from_str(&kubectl(cluster, &["get", "--raw", "/kube-sim/stats"]))
            .expect("/kube-sim/stats is JSON");
    stats["requests"][method_and_path].as_u64().unwrap_or(0)
}

/// Replace the chart's `prometheus.yml` in its ConfigMap (`monitoring/prometheus-server`), as `kubectl patch
/// --type merge` does: what an operator edits before a reload.
pub fn set_chart_config(cluster: &Cluster, yaml: &str) {
    let patch = serde_json::json!({ "data": { "prometheus.yml": yaml } }).to_string();
    kubectl(
        cluster,
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
}

/// `kubectl patch OBJECT -n NAMESPACE --type json -p PATCH` (an RFC 6902 patch, as an operator edits by hand).
pub fn json_patch(cluster: &Cluster, namespace: &str, object: &str, patch: &str) {
    kubectl(
        cluster,
        &[
            "patch", object, "-n", namespace, "--type", "json", "-p", patch,
        ],
    );
}

/// How [`run_disrupted`] disturbs a running plugin (issue 14): the reader of its stderr or stdout goes away, or it
/// gets a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disruption {
    /// `… 2>&1 | grep -m1 LINE`: stderr is closed once that line was read.
    CloseStderr,
    /// `… | head -0`: stdout is closed from the start (the moment is only awaited).
    CloseStdout,
    /// `kill -NAME` (`TERM`, `HUP`, `INT`).
    Signal(&'static str),
}

/// Run the real binary (as admin, no terminal) in the background, disrupt it as `how` says once a stderr line
/// satisfies `at` (`what` names that moment in failures), and wait for it to end (bounded by `limit`).
pub fn run_disrupted(
    cluster: &Cluster,
    args: &[&str],
    how: Disruption,
    what: &str,
    at: impl Fn(&str) -> bool,
    limit: Duration,
) -> Run {
    let mut running = match how {
        Disruption::CloseStdout => spawn_prom_stdout_closed(cluster, args),
        _ => spawn_prom(cluster, args),
    };
    running.wait_for_stderr(what, limit, at);
    match how {
        Disruption::CloseStderr => running.close_stderr(),
        Disruption::CloseStdout => {}
        Disruption::Signal(name) => running.signal(name),
    }
    running.finish(limit)
}

/// The command an interrupted run says continues the work (`To continue, run `…``), split into the plugin's args
/// (without the leading `kubectl prom`).
pub fn continue_args(run: &Run) -> Option<Vec<String>> {
    let command = run
        .stderr
        .split("To continue, run `")
        .nth(1)?
        .split('`')
        .next()?;
    let words: Vec<String> = command.split(' ').map(String::from).collect();
    (words.first().map(String::as_str) == Some("kubectl")
        && words.get(1).map(String::as_str) == Some("prom"))
    .then(|| words[2..].to_vec())
}

/// The uid of every pod in a namespace, by name, read with the real kubectl.
pub fn pod_uids(cluster: &Cluster, namespace: &str) -> std::collections::BTreeMap<String, String> {
    items(&kubectl_json(cluster, &["get", "pods", "-n", namespace]))
        .iter()
        .map(|p| {
            (
                name(p),
                p["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// Whether kube-sim's pods run the real reload sidecars built by tools/world/build.sh (issue 19). When they do not,
/// prints `SKIP <test>: world not built (…)` and returns false; under `KUBE_SIM_REQUIRE=1` (CI, which builds the world
/// before the tests) that is a failure instead.
pub fn real_reloaders_or_skip(test: &str) -> bool {
    let (map, why) = kube_sim::kubelet::image::ImageMap::from_world();
    if map.real_reloaders() {
        return true;
    }
    let why = why.unwrap_or_else(|| "its reloader binaries are missing".into());
    if std::env::var("KUBE_SIM_REQUIRE").is_ok_and(|v| v == "1") {
        panic!("{test} needs the real reload sidecars, and the world is not built ({why})");
    }
    eprintln!("SKIP {test}: world not built ({why}); run tools/world/build.sh");
    false
}

/// Edit the chart's `prometheus.yml` (a comment appended): the change the reload sidecar reacts to. The real
/// prometheus-config-reloader watching a directory posts only when its content changes, not at start.
pub fn touch_chart_config(cluster: &Cluster, why: &str) {
    let cm = kubectl_json(
        cluster,
        &["get", "configmap", "prometheus-server", "-n", "monitoring"],
    );
    let yaml = cm["data"]["prometheus.yml"].as_str().unwrap_or_default();
    set_chart_config(cluster, &format!("{yaml}\n# {why}\n"));
}

/// Whether `prometheus:v3.*` images run the real Prometheus 3 built by tools/world/build.sh; SKIP line otherwise (a
/// failure under `KUBE_SIM_REQUIRE=1`), as [`real_reloaders_or_skip`].
pub fn real_prometheus_v3_or_skip(test: &str) -> bool {
    let (map, why) = kube_sim::kubelet::image::ImageMap::from_world();
    if map.prometheus_v3.is_some() {
        return true;
    }
    let why = why.unwrap_or_else(|| "its prometheus binary is missing".into());
    if std::env::var("KUBE_SIM_REQUIRE").is_ok_and(|v| v == "1") {
        panic!("{test} needs the real Prometheus 3, and the world is not built ({why})");
    }
    eprintln!("SKIP {test}: world not built ({why}); run tools/world/build.sh");
    false
}

/// Wait (bounded) until every Deployment and StatefulSet in `namespace` has all its replicas ready and every claim is
/// Bound. On the real control plane kube-sim's ready line comes once the scenario is applied, not settled: a
/// StatefulSet creates its pods one by one (OrderedReady) and a claim of a WaitForFirstConsumer class binds only when
/// its pod is scheduled (kubernetes pkg/controller/volume/persistentvolume/pv_controller.go,
/// shouldDelayBinding), so a test that acts on "the claims" or "the pods" waits for them first, as a person would.
pub fn wait_settled(cluster: &Cluster, namespace: &str) {
    wait_until(
        &format!("the workloads in {namespace} ready and their claims Bound"),
        Duration::from_secs(150),
        || {
            let workloads = kubectl_json(cluster, &["get", "deploy,sts", "-n", namespace]);
            let claims = kubectl_json(cluster, &["get", "pvc", "-n", namespace]);
            let ready = items(&workloads).iter().all(|w| {
                let want = w["spec"]["replicas"].as_u64().unwrap_or(1);
                w["status"]["readyReplicas"].as_u64().unwrap_or(0) >= want
            });
            let bound = items(&claims)
                .iter()
                .all(|c| c["status"]["phase"] == "Bound");
            (ready && bound).then_some(())
        },
    );
}

/// The `kubectl patch …` command a doctor fix names, as kubectl's arguments: the words up to the single-quoted patch,
/// then the patch itself (the fix is written for a POSIX shell; this is what the shell would pass).
pub fn kubectl_args_of(fix: &str) -> Vec<String> {
    let at = fix
        .find("kubectl patch ")
        .expect("the fix is a kubectl patch");
    let command = &fix[at + "kubectl ".len()..];
    let (words, rest) = command.split_once('\'').expect("a quoted patch");
    let patch = rest.split('\'').next().expect("closing quote");
    words
        .split_whitespace()
        .map(str::to_string)
        .chain([patch.to_string()])
        .collect()
}
