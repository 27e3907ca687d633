//! Shell completion end to end: the committed scripts are what the CLI generates, a real bash loads them and
//! completes a partial word, and the real kubectl completes `kubectl prom …` through `kubectl_complete-prom`.
//! Regenerate the committed files with `scripts/regenerate.sh` (KUBECTL_PROM_REGENERATE=1).

// Skip notices go to stderr so a skipped test is visible in the test output (never a silent pass).
#![allow(clippy::print_stderr)]

use kubectl_prom::commands::completion::{COMPLETER_BIN, PLUGIN_BIN, SHELL_SCRIPTS, script};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn plugin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kubectl-prom"))
}

/// A tool the test needs: present, or a printed skip (a failure when CI says everything must run).
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("KUBE_SIM_REQUIRE").is_none_or(|v| v != "1"),
            "`{tool}` is required (KUBE_SIM_REQUIRE=1) but not installed"
        );
        eprintln!("skipped: `{tool}` is not installed");
    }
    found
}

/// A scratch HOME plus a bin directory holding the plugin (a symlink, as krew installs it) and, once installed by
/// the plugin itself, `kubectl_complete-prom`. Nothing from the developer's own kubeconfig or PATH plugins leaks in.
struct Sandbox {
    dir: tempfile::TempDir,
    /// The kubectl that completes: the machine's, or a world's own (the API server's release).
    kubectl: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("bin")).expect("bin dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home dir");
        std::os::unix::fs::symlink(plugin(), dir.path().join("bin").join(PLUGIN_BIN))
            .expect("link plugin");
        Sandbox {
            dir,
            kubectl: PathBuf::from("kubectl"),
        }
    }

    /// A sandbox whose kubectl is the cluster's own (on the real control plane, the world's kubectl of the API
    /// server's release). The machine's `kubectl` may be a wrapper that asks the server its version on every run to
    /// pick a client (Google Cloud SDK's dispatcher does), which a test counting the plugin's requests must not see.
    fn for_cluster(cluster: &kube_sim::Cluster) -> Self {
        Sandbox {
            kubectl: cluster.kubectl_program().to_path_buf(),
            ..Sandbox::new()
        }
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// PATH with our bin first, then only system directories (no other kubectl plugins of the developer).
    fn path(&self) -> String {
        format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin().display())
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", self.path())
            .env("HOME", self.dir.path().join("home"))
            .env("KUBECONFIG", self.kubeconfig());
        cmd
    }

    fn install_completer(&self) {
        let out = run(self.command(PLUGIN_BIN).args(["completion", "install"]));
        assert!(
            out.status.success(),
            "completion install failed: {}",
            text(&out.stderr)
        );
        assert!(
            self.bin().join(COMPLETER_BIN).is_file(),
            "{COMPLETER_BIN} not written next to the plugin"
        );
    }

    /// `kubectl __complete prom WORDS…`: the lines kubectl prints (candidates, then `:<directive>`).
    fn kubectl_complete(&self, words: &[&str]) -> Vec<String> {
        let out = run(self
            .command(&self.kubectl)
            .arg("__complete")
            .arg("prom")
            .args(words));
        assert!(
            out.status.success(),
            "kubectl __complete failed: {}",
            text(&out.stderr)
        );
        text(&out.stdout).lines().map(str::to_string).collect()
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The candidate values (before the tab) of a cobra answer, and its directive line.
fn split_answer(lines: &[String]) -> (Vec<String>, String) {
    let (directive, candidates) = lines.split_last().expect("at least the directive line");
    let values = candidates
        .iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect();
    (values, directive.clone())
}

#[test]
fn generated_completion_scripts_are_current() {
    let regenerate = std::env::var_os("KUBECTL_PROM_REGENERATE").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, shell, file) in SHELL_SCRIPTS {
        let path = repo().join("completions").join(file);
        let generated = script(shell);
        assert!(
            generated.contains(PLUGIN_BIN),
            "the {name} script must complete {PLUGIN_BIN}"
        );
        if regenerate {
            std::fs::write(&path, &generated).expect("write completion script");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale completion scripts {stale:?}: run scripts/regenerate.sh and commit them"
    );
}

#[test]
fn completion_subcommand_prints_the_committed_script_and_rejects_unknown_shells() {
    let out = run(Command::new(plugin()).args(["completion", "zsh"]));
    assert!(out.status.success());
    let committed = std::fs::read_to_string(repo().join("completions/_kubectl-prom"))
        .expect("committed zsh script");
    assert_eq!(text(&out.stdout), committed);

    let out = run(Command::new(plugin()).args(["completion", "tcsh"]));
    assert_eq!(out.status.code(), Some(2), "usage error exit code");
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("`tcsh` is not a shell"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bash_registers_the_script_and_completes_a_partial_verb() {
    if !have("bash") {
        return;
    }
    let script = repo().join("completions/kubectl-prom.bash");
    // What bash does on TAB: set COMP_WORDS/COMP_CWORD/COMP_LINE and call the registered function with
    // (command, current word, previous word).
    let probe = r#"
        source "$1"
        complete -p kubectl-prom
        fn=$(complete -p kubectl-prom | sed -E 's/.* -F ([^ ]+) .*/\1/')
        COMP_WORDS=(kubectl-prom re); COMP_CWORD=1; COMP_LINE="kubectl-prom re"; COMP_POINT=${#COMP_LINE}
        "$fn" kubectl-prom re kubectl-prom
        printf 'reply:%s\n' "${COMPREPLY[@]}"
        COMP_WORDS=(kubectl-prom doctor --fail-on ""); COMP_CWORD=3; COMP_LINE="kubectl-prom doctor --fail-on "
        COMP_POINT=${#COMP_LINE}
        "$fn" kubectl-prom "" --fail-on
        printf 'fail-on:%s\n' "${COMPREPLY[@]}"
    "#;
    let out = run(Command::new("bash")
        .args(["--norc", "--noprofile", "-c", probe, "probe"])
        .arg(&script));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "bash failed: {}", text(&out.stderr));
    let registration = stdout.lines().next().unwrap_or_default();
    assert!(
        registration.starts_with("complete ") && registration.ends_with(" kubectl-prom"),
        "registration missing: {stdout}"
    );
    let replies: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("reply:"))
        .collect();
    assert_eq!(replies, ["reload", "resize"], "{stdout}");
    let fail_on: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("fail-on:"))
        .collect();
    assert_eq!(fail_on, ["warning", "critical"], "{stdout}");
}

#[test]
fn kubectl_lists_the_plugin_and_runs_its_help() {
    if !have("kubectl") {
        return;
    }
    let sandbox = Sandbox::new();
    let out = run(sandbox.command("kubectl").args(["plugin", "list"]));
    let listed = text(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl plugin list failed: {}",
        text(&out.stderr)
    );
    let expected = sandbox.bin().join(PLUGIN_BIN);
    assert!(
        listed.lines().any(|l| Path::new(l.trim()) == expected),
        "{expected:?} not listed in:\n{listed}"
    );

    let out = run(sandbox.command("kubectl").args(["prom", "--help"]));
    let help = text(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl prom --help failed: {}",
        text(&out.stderr)
    );
    assert!(help.contains("Usage: kubectl prom"), "{help}");
    for verb in [
        "reload",
        "resize",
        "doctor",
        "fix-perms",
        "completion",
        "version",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(verb)),
            "`{verb}` missing from help:\n{help}"
        );
    }
    assert!(
        !help.contains("__complete"),
        "the protocol subcommand must stay hidden:\n{help}"
    );

    // Every verb's help ends with examples that start the way users type them.
    for verb in [
        "reload",
        "resize",
        "doctor",
        "fix-perms",
        "completion",
        "version",
    ] {
        let out = run(sandbox.command("kubectl").args(["prom", verb, "--help"]));
        let help = text(&out.stdout);
        assert!(
            out.status.success(),
            "kubectl prom {verb} --help: {}",
            text(&out.stderr)
        );
        assert!(
            help.contains(&format!("Examples:\n  kubectl prom {verb}")),
            "no examples for {verb}:\n{help}"
        );
    }

    let out = run(sandbox.command("kubectl").args(["prom", "version"]));
    assert!(out.status.success());
    let line = text(&out.stdout);
    assert!(
        line.starts_with(&format!(
            "kubectl-prom {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{line}"
    );
}

#[test]
fn kubectl_completes_verbs_and_flag_values_through_the_installed_helper() {
    if !have("kubectl") {
        return;
    }
    let sandbox = Sandbox::new();
    // Before `completion install`, kubectl finds no helper and offers nothing of ours.
    let (values, _) = split_answer(&sandbox.kubectl_complete(&[""]));
    assert!(!values.contains(&"reload".to_string()), "{values:?}");
    sandbox.install_completer();

    let lines = sandbox.kubectl_complete(&[""]);
    let (values, directive) = split_answer(&lines);
    assert_eq!(
        values,
        [
            "reload",
            "resize",
            "doctor",
            "fix-perms",
            "completion",
            "version",
            "help"
        ]
    );
    assert_eq!(directive, ":4", "no file completion after `kubectl prom`");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("doctor\tFind what is wrong")),
        "descriptions follow a tab: {lines:?}"
    );

    let (values, directive) = split_answer(&sandbox.kubectl_complete(&["doctor", "-o", ""]));
    assert_eq!(
        (values, directive.as_str()),
        (vec!["human".to_string(), "json".to_string()], ":4")
    );

    let (values, _) = split_answer(&sandbox.kubectl_complete(&["resize", "--al"]));
    assert_eq!(values, ["--allow-expansion", "--all-namespaces"]);
}

#[test]
fn kubectl_completes_contexts_from_the_kubeconfig_without_the_network() {
    if !have("kubectl") {
        return;
    }
    let sandbox = Sandbox::new();
    sandbox.install_completer();
    std::fs::write(
        sandbox.kubeconfig(),
        "apiVersion: v1\nkind: Config\ncurrent-context: sim-a\nclusters:\n- name: sim\n  cluster: {server: 'https://127.0.0.1:9'}\n\
         contexts:\n- name: sim-a\n  context: {cluster: sim, user: u, namespace: monitoring}\n- name: sim-b\n  context: {cluster: sim, user: u}\n\
         - name: other\n  context: {cluster: sim, user: u}\nusers:\n- name: u\n  user: {token: t}\n",
    )
    .expect("write kubeconfig");
    let lines = sandbox.kubectl_complete(&["reload", "--context", "sim"]);
    assert_eq!(
        lines,
        [
            "sim-a\tcluster sim, namespace monitoring",
            "sim-b\tcluster sim, namespace default",
            ":4"
        ]
    );
    // An unreachable cluster (port 9 refuses) gives no namespaces, quickly, and nothing on stderr.
    let started = std::time::Instant::now();
    let out = run(sandbox.command(COMPLETER_BIN).args(["-n", ""]));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(text(&out.stdout), ":1\n");
    assert!(
        out.stderr.is_empty(),
        "stderr must stay empty: {}",
        text(&out.stderr)
    );
}

/// kubectl's bash script (cobra v2) needs the bash-completion package (`_get_comp_words_by_ref`), as kubectl's docs say.
const BASH_COMPLETION: &str = "/usr/share/bash-completion/bash_completion";

#[test]
fn bash_completes_kubectl_prom_through_kubectls_own_script() {
    if !have("kubectl") || !have("bash") {
        return;
    }
    if !Path::new(BASH_COMPLETION).is_file() {
        assert!(
            std::env::var_os("KUBE_SIM_REQUIRE").is_none_or(|v| v != "1"),
            "{BASH_COMPLETION} is required (KUBE_SIM_REQUIRE=1): apt-get install bash-completion"
        );
        eprintln!("skipped: {BASH_COMPLETION} is missing (apt-get install bash-completion)");
        return;
    }
    let sandbox = Sandbox::new();
    sandbox.install_completer();
    // The path users take: kubectl's bash completion runs `kubectl __complete prom …`, which runs our helper.
    let probe = r#"
        source "$1"
        source <(kubectl completion bash)
        COMP_WORDS=(kubectl prom re); COMP_CWORD=2; COMP_LINE="kubectl prom re"; COMP_POINT=${#COMP_LINE}
        __start_kubectl kubectl re prom 2>/dev/null
        printf 'reply:%s\n' "${COMPREPLY[@]}"
        COMP_WORDS=(kubectl prom doctor -o ""); COMP_CWORD=4; COMP_LINE="kubectl prom doctor -o "; COMP_POINT=${#COMP_LINE}
        __start_kubectl kubectl "" -o 2>/dev/null
        printf 'output:%s\n' "${COMPREPLY[@]}"
    "#;
    let out = run(sandbox.command("bash").args([
        "--norc",
        "--noprofile",
        "-c",
        probe,
        "probe",
        BASH_COMPLETION,
    ]));
    let stdout = text(&out.stdout);
    let replies: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("reply:"))
        .collect();
    assert_eq!(
        replies,
        ["reload", "resize"],
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    let outputs: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("output:"))
        .collect();
    assert_eq!(outputs, ["human", "json"], "stdout: {stdout}");
}

#[test]
fn kubectl_completes_namespaces_and_prometheus_targets_from_a_real_cluster() {
    if !have("kubectl") {
        return;
    }
    let Some(cluster) = kube_sim::Cluster::start_or_skip(&kube_sim::Options {
        scenario: Some("chart-healthy".to_string()),
        ..Default::default()
    }) else {
        return;
    };
    let sandbox = Sandbox::for_cluster(&cluster);
    sandbox.install_completer();
    // The user's setup: the cluster's kubeconfig with `monitoring` as the context's namespace, set by kubectl itself.
    std::fs::copy(cluster.kubeconfig_path(), sandbox.kubeconfig()).expect("copy kubeconfig");
    let out = run(sandbox.command(&sandbox.kubectl).args([
        "config",
        "set-context",
        "--current",
        "--namespace=monitoring",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));

    // -n: exactly the namespaces the real kubectl lists.
    let listed = cluster_kubectl(&cluster, &["get", "namespaces", "-o", "name"]);
    let mut expected: Vec<String> = listed
        .lines()
        .filter_map(|l| l.strip_prefix("namespace/"))
        .map(str::to_string)
        .collect();
    expected.sort();
    let (mut namespaces, directive) =
        split_answer(&sandbox.kubectl_complete(&["doctor", "-n", ""]));
    namespaces.sort();
    assert!(expected.contains(&"monitoring".to_string()), "{expected:?}");
    assert_eq!((namespaces, directive.as_str()), (expected, ":4"));

    // The target position: the chart's instance and its Deployment (one round trip); its pods, as kubectl lists
    // them, once the word starts with `pod/`.
    let started = std::time::Instant::now();
    let lines = sandbox.kubectl_complete(&["reload", ""]);
    let elapsed = started.elapsed();
    let (targets, directive) = split_answer(&lines);
    assert_eq!(directive, ":4", "{lines:?}");
    assert!(
        targets.contains(&"prometheus-server".to_string()),
        "{lines:?}"
    );
    assert!(
        targets.contains(&"deploy/prometheus-server".to_string()),
        "{lines:?}"
    );
    let pods = cluster_kubectl(
        &cluster,
        &[
            "get",
            "pods",
            "-n",
            "monitoring",
            "-l",
            "app.kubernetes.io/name=prometheus",
            "-o",
            "name",
        ],
    );
    assert!(!pods.trim().is_empty(), "the scenario has Prometheus pods");
    let pod_lines = sandbox.kubectl_complete(&["reload", "pod/"]);
    let (pod_targets, _) = split_answer(&pod_lines);
    for pod in pods.lines() {
        assert!(
            pod_targets.contains(&pod.to_string()),
            "{pod} missing from {pod_lines:?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with(
            "prometheus-server\tmonitoring/prometheus-server (Helm chart release prometheus"
        )),
        "instances are described: {lines:?}"
    );
    assert!(
        elapsed < std::time::Duration::from_secs(3),
        "completion took {elapsed:?}"
    );

    // A prefix narrows to matching names; a namespace without Prometheus gives none (and still no file names).
    let (narrowed, _) = split_answer(&sandbox.kubectl_complete(&["reload", "deploy/"]));
    assert_eq!(narrowed, ["deploy/prometheus-server"]);
    let (none, directive) =
        split_answer(&sandbox.kubectl_complete(&["reload", "-n", "default", ""]));
    assert_eq!((none.len(), directive.as_str()), (0, ":4"));
}

/// The real kubectl as the cluster's admin; panics with its stderr when it fails.
fn cluster_kubectl(cluster: &kube_sim::Cluster, args: &[&str]) -> String {
    let out = run(cluster.kubectl().args(args));
    assert!(
        out.status.success(),
        "kubectl {} failed: {}",
        args.join(" "),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `kubectl get --raw /kube-sim/stats`: the knob proxy's per-request counts so far (the stats call is not counted).
fn api_requests(cluster: &kube_sim::Cluster) -> std::collections::BTreeMap<String, u64> {
    let stats: serde_json::Value = serde_json::from_str(&cluster_kubectl(
        cluster,
        &["get", "--raw", "/kube-sim/stats"],
    ))
    .expect("stats are JSON");
    serde_json::from_value(stats["requests"].clone()).expect("request counts")
}

/// The requests made between two `api_requests` snapshots.
fn requests_since(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn completion_stays_within_one_round_trip_on_a_slow_cluster() {
    if !have("kubectl") {
        return;
    }
    // Every API request takes 500 ms: four serial lists (2 s) would overrun the 1.5 s budget and answer nothing.
    let Some(cluster) = kube_sim::Cluster::start_or_skip(&kube_sim::Options {
        scenario: Some("chart-healthy".to_string()),
        latency: Some(std::time::Duration::from_millis(500)),
        ..Default::default()
    }) else {
        return;
    };
    let sandbox = Sandbox::for_cluster(&cluster);
    sandbox.install_completer();
    std::fs::copy(cluster.kubeconfig_path(), sandbox.kubeconfig()).expect("copy kubeconfig");

    // Warm-up: kubectl itself asks GET /version on its first `__complete` with an empty cache in this HOME; after
    // it, the requests between snapshots are the plugin's (`kubectl prom <TAB>` needs none from the plugin).
    sandbox.kubectl_complete(&[""]);
    let before = api_requests(&cluster);
    let (namespaces, _) = split_answer(&sandbox.kubectl_complete(&["reload", "-n", ""]));
    assert!(
        namespaces.contains(&"monitoring".to_string()),
        "{namespaces:?}"
    );
    let after_namespaces = api_requests(&cluster);
    let made = requests_since(&before, &after_namespaces);
    assert_eq!(
        made.values().sum::<u64>(),
        1,
        "namespaces take one list request: {made:?}"
    );

    let total_before_targets = cluster.stats().expect("stats")["total"].as_u64();
    let lines = sandbox.kubectl_complete(&["reload", "-n", "monitoring", ""]);
    let (targets, directive) = split_answer(&lines);
    assert_eq!(directive, ":4", "{lines:?}");
    assert!(
        targets.contains(&"deploy/prometheus-server".to_string()),
        "answered within the budget: {lines:?}"
    );
    let after_targets = api_requests(&cluster);
    let made = requests_since(&after_namespaces, &after_targets);
    assert!(
        made.values().sum::<u64>() <= 3
            && made.keys().all(|k| k.starts_with("GET "))
            && !made.keys().any(|k| k.contains("/pods")),
        "targets: deployments, statefulsets, prometheuses, sent together, no pods; saw {made:?}"
    );
    // Issue 10's budget (≤ 2), from the server's request timeline: the workloads and Prometheus resources name
    // every server here, so one round trip.
    let window = cluster
        .stats_since(total_before_targets.expect("total"))
        .expect("stats?since")["since"]
        .clone();
    assert_eq!(
        window["serial_round_trips"].as_u64(),
        Some(1),
        "targets completion waited for more than one round trip: {window}"
    );

    // A prefix that names a pod asks for the pods too (a second round, still within the budget).
    let total_before_pods = cluster.stats().expect("stats")["total"].as_u64();
    let lines = sandbox.kubectl_complete(&["reload", "-n", "monitoring", "pod/"]);
    let (pods, _) = split_answer(&lines);
    assert!(
        !pods.is_empty() && pods.iter().all(|p| p.starts_with("pod/prometheus-server-")),
        "{lines:?}"
    );
    let window = cluster
        .stats_since(total_before_pods.expect("total"))
        .expect("stats?since")["since"]
        .clone();
    assert!(
        window["serial_round_trips"].as_u64() <= Some(2),
        "pod completion waited for more than two round trips: {window}"
    );
}
