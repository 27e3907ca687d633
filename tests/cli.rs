//! The binary's command line without a cluster: kubeconfig resolution (file, `KUBECONFIG` merging, `--kubeconfig`,
//! `--context`, `-n`) checked against the real `kubectl config view --minify` as the oracle, and usage errors with
//! their exit codes. The kubeconfigs point at a closed local port, so the namespace the plugin resolved shows in the
//! sentence it prints when the first list request fails.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Run, have, prom_with};

/// A kubeconfig with the given contexts (name, namespace or "") and current context (or none).
fn kubeconfig(dir: &Path, file: &str, current: Option<&str>, contexts: &[(&str, &str)]) -> PathBuf {
    let mut text = String::from(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: closed\n  cluster:\n    server: https://127.0.0.1:9\n    insecure-skip-tls-verify: true\nusers:\n- name: someone\n  user:\n    token: not-a-real-token\ncontexts:\n",
    );
    for (name, ns) in contexts {
        text.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: closed\n    user: someone\n"
        ));
        if !ns.is_empty() {
            text.push_str(&format!("    namespace: {ns}\n"));
        }
    }
    if let Some(c) = current {
        text.push_str(&format!("current-context: {c}\n"));
    }
    let path = dir.join(file);
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

/// What the real kubectl resolves as the namespace (empty → `default`, as kubectl uses it).
fn kubectl_namespace(kubeconfig_env: &str, args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("temp HOME");
    let out = Command::new("kubectl")
        .args(["config", "view", "--minify", "-o", "jsonpath={..namespace}"])
        .args(args)
        .env("KUBECONFIG", kubeconfig_env)
        .env("HOME", home.path())
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl config view failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ns = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if ns.is_empty() {
        "default".to_string()
    } else {
        ns
    }
}

/// The namespace the plugin looked in, from `could not list deployments in namespace X: …`.
fn plugin_namespace(kubeconfig_env: &str, args: &[&str]) -> (String, Run) {
    let mut all = args.to_vec();
    all.extend(["reload", "--request-timeout", "5s"]);
    let run = prom_with(Path::new(kubeconfig_env), &[], &all);
    let ns = run
        .stderr
        .split("in namespace ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| c == ':' || c.is_whitespace()).next())
        .unwrap_or_default()
        .to_string();
    (ns, run)
}

fn assert_agrees(kubeconfig_env: &str, args: &[&str]) {
    let expected = kubectl_namespace(kubeconfig_env, args);
    let (got, run) = plugin_namespace(kubeconfig_env, args);
    assert_eq!(
        got, expected,
        "args {args:?}, KUBECONFIG={kubeconfig_env}: kubectl says `{expected}`\n{run}"
    );
    assert_eq!(run.code, 3, "an unreachable cluster is exit 3\n{run}");
}

#[test]
fn kubeconfig_resolution_agrees_with_kubectl() {
    if !have("kubectl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let single = kubeconfig(
        dir.path(),
        "single",
        Some("ctx-a"),
        &[("ctx-a", "alpha"), ("ctx-b", "beta"), ("ctx-c", "")],
    );
    let single = single.to_str().unwrap();
    assert_agrees(single, &[]);
    assert_agrees(single, &["--context", "ctx-b"]);
    assert_agrees(single, &["--context", "ctx-c"]);

    // KUBECONFIG merging: the first file that sets current-context wins, and the first definition of a name wins.
    let first = kubeconfig(dir.path(), "first", None, &[("ctx-a", "alpha")]);
    let second = kubeconfig(
        dir.path(),
        "second",
        Some("ctx-x"),
        &[("ctx-x", "xray"), ("ctx-a", "shadow")],
    );
    let merged = format!("{}:{}", first.display(), second.display());
    assert_agrees(&merged, &[]);
    assert_agrees(&merged, &["--context", "ctx-a"]);
    // --kubeconfig replaces KUBECONFIG entirely.
    assert_agrees(
        &merged,
        &[
            "--kubeconfig",
            first.to_str().unwrap(),
            "--context",
            "ctx-a",
        ],
    );
    assert_agrees(
        first.to_str().unwrap(),
        &["--kubeconfig", second.to_str().unwrap()],
    );

    // -n wins over the context's namespace.
    let (ns, run) = plugin_namespace(single, &["-n", "elsewhere"]);
    assert_eq!(ns, "elsewhere", "{run}");
}

#[test]
fn usage_errors_exit_2_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), "kc", Some("ctx-a"), &[("ctx-a", "alpha")]);
    let run = prom_with(&kc, &[], &["reload", "svc/prometheus"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("`svc/prometheus` is not a Prometheus target"),
        "{run}"
    );
    assert!(
        run.stderr.contains("deploy/NAME"),
        "the hint lists the forms: {run}"
    );

    let run = prom_with(&kc, &[], &["reload", "--timeout", "soon"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("`soon` is not a duration"), "{run}");

    let run = prom_with(&kc, &[], &["reload", "--no-such-flag"]);
    assert_eq!(run.code, 2, "{run}");

    let run = prom_with(&kc, &[], &["--context", "nope", "reload"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("could not load the kubeconfig"),
        "{run}"
    );
}

#[test]
fn ctrl_c_while_waiting_on_the_cluster_exits_130_and_says_nothing_was_rolled_back() {
    // A server that accepts connections and never answers: the plugin waits on its first request.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), "kc", Some("ctx-a"), &[("ctx-a", "alpha")]);
    let text = std::fs::read_to_string(&kc)
        .unwrap()
        .replace("https://127.0.0.1:9", &format!("https://127.0.0.1:{port}"));
    std::fs::write(&kc, text).unwrap();
    let home = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_kubectl-prom"))
        .args(["reload"])
        .env("KUBECONFIG", &kc)
        .env("HOME", home.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (_conn, _) = silent.accept().expect("the plugin connects");
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: stopped before the command finished"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was rolled back"), "{stderr}");
}

/// `version` needs no cluster and honours `-o json` like every verb: one stable object on stdout.
#[test]
fn version_prints_a_line_or_a_stable_json_object() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = kubeconfig(dir.path(), "config", Some("a"), &[("a", "")]);
    let human = prom_with(&config, &[], &["version"]);
    assert_eq!(human.code, 0, "{human}");
    assert!(
        human.stdout.starts_with(&format!(
            "kubectl-prom {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{human}"
    );
    let json = prom_with(&config, &[], &["version", "-o", "json"]);
    assert_eq!(json.code, 0, "{json}");
    let doc = json.json();
    assert_eq!(doc["kind"], "Version", "{json}");
    assert_eq!(doc["version"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["version"]["gitCommit"].is_string() && doc["version"]["target"].is_string());
}

/// Issue 14 class 11: every duration and size flag is range-checked through the real binary — exit 2 with one
/// sentence, never a panic (exit 101/134) and never an attempt to reach the cluster. The kubeconfig points at a
/// closed port, so a value that slipped through would end in exit 3 instead.
#[test]
fn out_of_range_durations_and_sizes_exit_2_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), "kc", Some("ctx-a"), &[("ctx-a", "alpha")]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--request-timeout", "18446744073709551615", "reload"],
            "too long a duration",
        ),
        (
            &["--request-timeout", "99999999999999999999999", "doctor"],
            "too long a duration",
        ),
        (
            &["reload", "--timeout", "99999999999999999999h"],
            "too long a duration",
        ),
        (
            &["fix-perms", "--timeout", "2562048h"],
            "too long a duration",
        ),
        (
            &["resize", "--size", "1Gi", "--timeout", "9223372037s"],
            "too long a duration",
        ),
        (
            &[
                "resize",
                "--size",
                "99999999999999999999999999999999999999999Ei",
            ],
            "larger than any volume can be",
        ),
        (
            &["resize", "--size", "8Ei"],
            "larger than any volume can be",
        ),
        (
            &["resize", "--add", "1e19"],
            "larger than any volume can be",
        ),
        (
            &["resize", "--increase", "9999999999999999999%"],
            "is not a percentage",
        ),
    ];
    for (args, sentence) in cases {
        let run = prom_with(&kc, &[], args);
        assert_eq!(run.code, 2, "{args:?}\n{run}");
        assert!(run.stderr.contains(sentence), "{args:?}\n{run}");
        assert!(!run.stderr.contains("panicked"), "{args:?}\n{run}");
        assert_eq!(
            run.stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "one error sentence: {args:?}\n{run}"
        );
    }
    // The longest accepted duration is accepted (and then the closed port is the problem, exit 3).
    let run = prom_with(&kc, &[], &["--request-timeout", "2562047h", "reload"]);
    assert_eq!(run.code, 3, "{run}");
}

/// Issue 15: colour only on a terminal whose environment allows it. The plugin runs on a pseudo-terminal
/// (util-linux `script`) and fails on a closed port, which prints its `error:` label in red; under `TERM=dumb` or
/// `NO_COLOR` not one escape byte reaches the terminal.
#[test]
fn no_colour_under_term_dumb_or_no_color() {
    if !have("script") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), "kc", Some("ctx-a"), &[("ctx-a", "alpha")]);
    let on_terminal = |env: &[(&str, &str)]| {
        let home = tempfile::tempdir().unwrap();
        let line = format!(
            "{} resize --size 1Gi --request-timeout 5s",
            env!("CARGO_BIN_EXE_kubectl-prom")
        );
        let mut cmd = Command::new("script");
        cmd.args(["-qefc", &line, "/dev/null"])
            .env("KUBECONFIG", &kc)
            .env("HOME", home.path())
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run script(1)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_terminal(&[("TERM", "xterm")]);
    assert!(
        coloured.contains("\u{1b}[31merror:"),
        "a terminal gets colour: {coloured:?}"
    );
    for env in [
        &[("TERM", "dumb")][..],
        &[("TERM", "xterm"), ("NO_COLOR", "1")][..],
    ] {
        let plain = on_terminal(env);
        assert!(plain.contains("error:"), "{env:?}: {plain:?}");
        assert!(!plain.contains('\u{1b}'), "{env:?}: {plain:?}");
    }
}

/// Issue 18 item 8: doctor changes nothing, so its help must not offer `--yes`/`--dry-run`; the verbs that change
/// the cluster keep them (after the verb and, as before, before it).
#[test]
fn only_the_verbs_that_change_something_offer_yes_and_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(dir.path(), "kc", Some("ctx-a"), &[("ctx-a", "alpha")]);
    let help = prom_with(&kc, &[], &["doctor", "--help"]);
    assert_eq!(help.code, 0, "{help}");
    assert!(help.stdout.contains("--fail-on"), "{help}");
    for flag in ["--yes", "--dry-run"] {
        assert!(
            !help.stdout.contains(flag),
            "doctor --help lists {flag}:\n{help}"
        );
    }
    for verb in ["reload", "resize", "fix-perms"] {
        let help = prom_with(&kc, &[], &[verb, "--help"]);
        assert_eq!(help.code, 0, "{help}");
        for flag in ["--yes", "--dry-run"] {
            assert!(
                help.stdout.contains(flag),
                "{verb} --help lacks {flag}:\n{help}"
            );
        }
    }
    // Given to doctor anyway, they are a usage error (exit 2), not silently ignored.
    let run = prom_with(&kc, &[], &["doctor", "--yes"]);
    assert_eq!(run.code, 2, "{run}");
}
