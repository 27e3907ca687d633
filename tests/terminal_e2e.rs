//! The interactive paths on a real terminal: the plugin runs on a pseudo-terminal (util-linux `script`, as an SRE's
//! shell would give it), sees a TTY on stdin and stderr, and is answered key by key when its prompt appears — the
//! confirm gate (no → exit 4 and nothing changed; yes → applied and verified), the picker when several servers
//! match, resize's separately asked cluster-wide StorageClass change, and fix-perms' per-removal questions. Objects are read back with the real kubectl. Needs root, `prometheus` and `script`; skips otherwise (fails
//! under `KUBE_SIM_REQUIRE=1`).

mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Cluster, Run, kubectl_json, start};

/// How long a prompt or the end of a run may take (the first API requests of a fresh scenario included).
const PATIENCE: Duration = Duration::from_secs(180);

/// `'arg'` for `sh -c`, with embedded single quotes closed and escaped.
fn quoted(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Run the plugin on a pseudo-terminal and, for each `(prompt, keys)` in order, type `keys` once `prompt` has been
/// printed. The terminal merges stdout and stderr, so everything is in `Run::stdout`.
fn on_terminal(cluster: &Cluster, args: &[&str], answers: &[(&str, &str)]) -> Run {
    on_terminal_acting(cluster, args, answers, |_| {})
}

/// [`on_terminal`], calling `meanwhile(i)` after prompt `i` appeared and before its keys are typed: the moment the
/// plugin has read the cluster and waits for a person (another operator may be editing the same object). Each
/// prompt is looked for after the previous one, so the same question asked twice is two prompts.
fn on_terminal_acting(
    cluster: &Cluster,
    args: &[&str],
    answers: &[(&str, &str)],
    mut meanwhile: impl FnMut(usize),
) -> Run {
    let home = tempfile::tempdir().expect("temp HOME");
    let command_line = std::iter::once(env!("CARGO_BIN_EXE_kubectl-prom"))
        .chain(args.iter().copied())
        .map(quoted)
        .collect::<Vec<_>>()
        .join(" ");
    // -q: no banner; -e: the child's exit code; -f: flush as it comes; /dev/null: no typescript file.
    let mut child = support::plugin_env(
        Command::new("script").args(["-qefc", &command_line, "/dev/null"]),
        cluster.kubeconfig_path(),
        home.path(),
    )
    .env("TERM", "xterm")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("run script(1)");
    let screen = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut out = child.stdout.take().expect("script stdout");
    let reader = {
        let screen = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let seen = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    let mut stdin = child.stdin.take().expect("script stdin");
    let started = Instant::now();
    let mut from = 0;
    for (i, (prompt, keys)) in answers.iter().enumerate() {
        loop {
            let screen = seen();
            if let Some(at) = screen.get(from..).and_then(|rest| rest.find(prompt)) {
                from += at + prompt.len();
                break;
            }
            if started.elapsed() > PATIENCE || child.try_wait().ok().flatten().is_some() {
                let _ = child.kill();
                panic!("the prompt `{prompt}` never appeared:\n{}", seen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        meanwhile(i);
        stdin
            .write_all(keys.as_bytes())
            .expect("type on the terminal");
        stdin.flush().expect("flush the keys");
    }
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for script") {
            break status;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("the run did not end:\n{}", seen());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    reader.join().expect("terminal reader");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: seen(),
        stderr: String::new(),
    }
}

/// The args of the chart's server container (lifecycle-off scenario).
fn server_args(cluster: &Cluster) -> Vec<String> {
    support::deployment_container_args(
        cluster,
        "monitoring",
        "prometheus-server",
        "prometheus-server",
    )
}

fn ready() -> bool {
    support::have("script")
}

#[test]
fn the_confirm_gate_on_a_terminal_applies_only_after_yes() {
    if !ready() {
        return;
    }
    let Some(cluster) = start("lifecycle-off") else {
        return;
    };
    let before = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus-server", "-n", "monitoring"],
    );
    let args = [
        "reload",
        "-n",
        "monitoring",
        "--enable-lifecycle",
        "--timeout",
        "3m",
    ];

    // No (the default answer is no too): exit 4, the plan was shown, nothing changed.
    let declined = on_terminal(&cluster, &args, &[("Apply this plan", "n")]);
    assert_eq!(declined.code, 4, "{declined}");
    assert!(
        declined.stdout.contains("--web.enable-lifecycle")
            && declined
                .stdout
                .contains("plan not confirmed; nothing was changed"),
        "{declined}"
    );
    let after_no = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus-server", "-n", "monitoring"],
    );
    // The spec and its generation, not the resourceVersion: on a real control plane the Deployment controller writes
    // the status as pods come and go (kubernetes pkg/controller/deployment/sync.go, syncDeploymentStatus), which
    // moves the resourceVersion with nobody changing the Deployment.
    assert_eq!(
        (&after_no["metadata"]["generation"], &after_no["spec"]),
        (&before["metadata"]["generation"], &before["spec"]),
        "a declined plan changed the Deployment"
    );

    // Yes: the flag is added, the rollout followed, the reload done.
    let accepted = on_terminal(&cluster, &args, &[("Apply this plan", "y")]);
    assert_eq!(accepted.code, 0, "{accepted}");
    assert!(
        server_args(&cluster)
            .iter()
            .any(|a| a == "--web.enable-lifecycle"),
        "{accepted}"
    );
    assert!(accepted.stdout.contains("reloaded"), "{accepted}");
}

#[test]
fn several_servers_on_a_terminal_are_offered_in_a_picker() {
    if !ready() {
        return;
    }
    let Some(cluster) = start("reload-two-instances") else {
        return;
    };
    // The picker lists monitoring/prometheus first; one arrow down and Enter pick the chart's server.
    let run = on_terminal(
        &cluster,
        &["reload", "-n", "monitoring", "-o", "json"],
        &[("which one?", "\x1b[B\r")],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout
            .contains("monitoring/prometheus (plain manifests"),
        "the picker did not list both:\n{run}"
    );
    assert!(
        run.stdout.contains(r#""instance": "prometheus-server""#),
        "the picked server was not the one reloaded:\n{run}"
    );
}

#[test]
fn resize_asks_for_the_cluster_wide_class_change_on_its_own_and_no_changes_nothing() {
    if !ready() {
        return;
    }
    let Some(cluster) = start("resize-no-expansion") else {
        return;
    };
    let claims = kubectl_json(&cluster, &["get", "pvc", "-n", "monitoring"]);
    let claim = support::name(&support::items(&claims)[0]);
    let class = support::items(&claims)[0]["spec"]["storageClassName"]
        .as_str()
        .expect("a class")
        .to_string();
    let class_before = kubectl_json(&cluster, &["get", "storageclass", &class]);
    let run = on_terminal(
        &cluster,
        &[
            "resize",
            "-n",
            "monitoring",
            "--size",
            "96Mi",
            "--allow-expansion",
        ],
        &[("Set allowVolumeExpansion: true on StorageClass", "n")],
    );
    assert_eq!(run.code, 4, "{run}");
    assert!(
        run.stdout.contains("cluster-wide change")
            && run
                .stdout
                .contains("the StorageClass change was not confirmed"),
        "{run}"
    );
    let class_after = kubectl_json(&cluster, &["get", "storageclass", &class]);
    assert_eq!(
        class_after["metadata"]["resourceVersion"], class_before["metadata"]["resourceVersion"],
        "{run}"
    );
    let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", "monitoring", &claim]);
    assert_eq!(
        pvc["spec"]["resources"]["requests"]["storage"], "64Mi",
        "{run}"
    );
}

#[test]
fn fix_perms_asks_for_each_removal_by_name_and_keeps_what_was_declined_working() {
    if !ready() {
        return;
    }
    let Some(cluster) = start("handmade-chmod") else {
        return;
    };
    let run = on_terminal(
        &cluster,
        &[
            "fix-perms",
            "deploy/prometheus",
            "-n",
            "monitoring",
            "--timeout",
            "3m",
        ],
        &[
            ("Apply this plan", "y"),
            ("Remove init container(s) `init-permissions`", "n"),
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let deploy = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus", "-n", "monitoring"],
    );
    let spec = &deploy["spec"]["template"]["spec"];
    // The fsGroup went in; the declined removal did not happen, and because the chmod init container stays and a
    // pod-level user would apply to it too, no pod-level user was set (it must keep running as root).
    assert_eq!(spec["securityContext"]["fsGroup"], 65534, "{run}");
    assert!(spec["securityContext"].get("runAsUser").is_none(), "{run}");
    assert_eq!(
        spec["initContainers"][0]["name"], "init-permissions",
        "{run}"
    );
    assert!(
        run.stdout
            .contains("runAsUser/runAsGroup/runAsNonRoot left unset"),
        "{run}"
    );
}

/// The index of the chart's server container in the lifecycle-off Deployment.
fn server_container_index(cluster: &Cluster) -> usize {
    let deploy = kubectl_json(
        cluster,
        &["get", "deploy", "prometheus-server", "-n", "monitoring"],
    );
    deploy["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().position(|c| c["name"] == "prometheus-server"))
        .expect("the server container")
}

/// A real concurrent edit (no injected fault): while the plugin waits for its "yes", another operator adds a flag to
/// the same container. Our patch carries the resourceVersion it was planned from, so the apiserver answers 409; the
/// plugin reads again, plans again, and because the new patch differs (it now carries the other operator's flag)
/// it shows it and asks again. Both flags end up in the Deployment: the concurrent edit is not overwritten.
#[test]
fn a_concurrent_edit_while_asking_is_planned_again_asked_again_and_kept() {
    if !ready() {
        return;
    }
    let Some(cluster) = start("lifecycle-off") else {
        return;
    };
    let index = server_container_index(&cluster);
    let their_flag = "--query.timeout=1m";
    let run = on_terminal_acting(
        &cluster,
        &[
            "reload",
            "-n",
            "monitoring",
            "--enable-lifecycle",
            "--timeout",
            "3m",
        ],
        // `[y/N]` marks the question itself: the line dialoguer leaves after an answer (`Apply this plan …? yes`)
        // is not a second question, and a key typed before the question is on screen is drained, never an answer.
        &[
            ("Apply this plan (1 change(s))? [y/N]", "y"),
            ("Apply this plan (1 change(s))? [y/N]", "y"),
        ],
        |i| {
            if i == 0 {
                let edit = format!(
                    r#"[{{"op": "add", "path": "/spec/template/spec/containers/{index}/args/-", "value": "{their_flag}"}}]"#
                );
                support::json_patch(&cluster, "monitoring", "deploy/prometheus-server", &edit);
            }
        },
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("409") && run.stdout.contains("planning again"),
        "{run}"
    );
    // The question was asked twice, the second time after the new plan (with their flag in it) was shown.
    assert_eq!(
        run.stdout
            .matches("Apply this plan (1 change(s))? [y/N]")
            .count(),
        2,
        "{run}"
    );
    let args = server_args(&cluster);
    assert!(
        args.iter().any(|a| a == "--web.enable-lifecycle") && args.iter().any(|a| a == their_flag),
        "the concurrent edit was lost or ours not applied: {args:?}\n{run}"
    );
}

/// A concurrent edit that does not touch what we change (someone annotates the Deployment): the re-plan asks for
/// nothing new, so it is applied without asking a second time.
#[test]
fn a_concurrent_edit_elsewhere_is_planned_again_and_applied_without_asking_twice() {
    if !ready() {
        return;
    }
    let Some(cluster) = start("lifecycle-off") else {
        return;
    };
    let run = on_terminal_acting(
        &cluster,
        &[
            "reload",
            "-n",
            "monitoring",
            "--enable-lifecycle",
            "--timeout",
            "3m",
        ],
        &[("Apply this plan", "y")],
        |_| {
            support::kubectl(
                &cluster,
                &[
                    "annotate",
                    "deploy",
                    "prometheus-server",
                    "-n",
                    "monitoring",
                    "team=sre",
                ],
            );
        },
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("planning again"), "{run}");
    assert_eq!(
        run.stdout
            .matches("Apply this plan (1 change(s))? [y/N]")
            .count(),
        1,
        "{run}"
    );
    let deploy = kubectl_json(
        &cluster,
        &["get", "deploy", "prometheus-server", "-n", "monitoring"],
    );
    assert_eq!(deploy["metadata"]["annotations"]["team"], "sre");
    assert!(
        server_args(&cluster)
            .iter()
            .any(|a| a == "--web.enable-lifecycle")
    );
}

/// The StatefulSet claim template of the chart in StatefulSet mode, read back with the real kubectl.
fn chart_sts_template(cluster: &Cluster) -> String {
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
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const RECREATE_PROMPT: &str = "Delete it with --cascade=orphan";

/// `resize --size 9Gi` of the chart in StatefulSet mode (two questions: the claims, then the StatefulSet), answered
/// on a pseudo-terminal; None when the machine cannot run it.
fn resize_chart_sts(answers: &[(&str, &str)]) -> Option<(Cluster, Run)> {
    if !ready() {
        return None;
    }
    let cluster = start("chart-sts")?;
    support::wait_settled(&cluster, "monitoring");
    let run = on_terminal(
        &cluster,
        &[
            "resize",
            "-n",
            "monitoring",
            "--size",
            "9Gi",
            "--timeout",
            "2m",
        ],
        answers,
    );
    Some((cluster, run))
}

/// Class 5: the Enter typed after the first answer (`y⏎`) stays in the terminal's input; it must not answer the
/// second question. Pending input is drained before every prompt, so the second question waits for its own key.
#[test]
fn a_leftover_keystroke_never_answers_the_next_prompt() {
    let Some((cluster, run)) =
        resize_chart_sts(&[("Apply this plan", "y\n"), (RECREATE_PROMPT, "y")])
    else {
        return;
    };
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(chart_sts_template(&cluster), "9Gi", "{run}");
}

/// Class 5: a declined step is reported as declined, the exit code says the work is incomplete, and no note claims
/// the StatefulSet change happened.
#[test]
fn a_declined_step_is_reported_and_the_exit_code_says_incomplete() {
    let Some((cluster, run)) =
        resize_chart_sts(&[("Apply this plan", "y"), (RECREATE_PROMPT, "n")])
    else {
        return;
    };
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stdout.contains("declined"), "{run}");
    assert!(
        !run.stdout.contains("through the StatefulSet change"),
        "a note claims the declined change happened:\n{run}"
    );
    assert_eq!(chart_sts_template(&cluster), "8Gi", "{run}");
}

/// Class 5: `-q` hides the plan, so it must not ask about it: on a terminal without `--yes` it refuses (exit 4) and
/// changes nothing.
#[test]
fn quiet_never_asks_about_a_plan_it_did_not_show() {
    if !ready() {
        return;
    }
    let Some(cluster) = start("chart-sts") else {
        return;
    };
    support::wait_settled(&cluster, "monitoring");
    let claims = || {
        support::items(&kubectl_json(&cluster, &["get", "pvc", "-n", "monitoring"]))
            .iter()
            .map(|p| p["metadata"]["resourceVersion"].clone())
            .collect::<Vec<_>>()
    };
    let before = claims();
    let run = on_terminal(
        &cluster,
        &["resize", "-q", "-n", "monitoring", "--size", "9Gi"],
        &[],
    );
    assert_eq!(run.code, 4, "{run}");
    assert!(!run.stdout.contains("[y/N]"), "asked under -q:\n{run}");
    assert_eq!(claims(), before, "{run}");
}

/// Class 6: Ctrl-C at the second prompt, after the claims were patched: the report is true (what was patched, the
/// continue command), and the terminal's cursor is shown again.
#[test]
fn ctrl_c_at_the_second_prompt_tells_the_truth_and_restores_the_terminal() {
    let Some((_cluster, run)) =
        resize_chart_sts(&[("Apply this plan", "y"), (RECREATE_PROMPT, "\x03")])
    else {
        return;
    };
    assert_eq!(run.code, 130, "{run}");
    assert!(!run.stdout.contains("nothing was changed"), "{run}");
    for expected in [
        "Applied and kept",
        "patch persistentvolumeclaim/storage-volume-prometheus-server-0",
        "To continue, run `kubectl prom resize",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing `{expected}`:\n{run}"
        );
    }
    let hidden = run.stdout.rfind("\x1b[?25l");
    let shown = run.stdout.rfind("\x1b[?25h");
    assert!(
        hidden.is_none() || shown > hidden,
        "the cursor was left hidden:\n{run:?}",
        run = run.stdout
    );
}

/// Class 5 on the real control plane (issue 16): resize of a claim whose driver expands only offline, on a terminal.
/// A 1.24+ external-resizer refuses the claim while any pod uses it (kubernetes-csi/external-resizer
/// pkg/controller/inuse_pvc_store.go), so the claim never waits in FileSystemResizePending for a restart (the old,
/// pre-1.24 model this test followed, where resize offered to restart the pod). What the SRE sees after answering
/// "y": the run ends at once (not at `--timeout`) with exit 1, offers no pod restart and restarts nothing, and says to
/// scale the workload to 0 and what to wait for. Following those words with the real kubectl grows the claim: the
/// volume grows while no pod uses it, and its filesystem (the claim's capacity) when the pod mounts it again.
#[test]
fn an_offline_only_resize_on_a_terminal_says_how_to_grow_it_and_following_that_grows_it() {
    if !ready() {
        return;
    }
    let Some(cluster) = start("resize-offline") else {
        return;
    };
    let ns = "monitoring";
    support::wait_settled(&cluster, ns);
    let pods = support::pod_uids(&cluster, ns);
    let started = Instant::now();
    let run = on_terminal(
        &cluster,
        &["resize", "-n", ns, "--add", "32Mi", "--timeout", "90s"],
        &[("Apply this plan", "y")],
    );
    assert_eq!(run.code, 1, "{run}");
    assert!(
        started.elapsed() < Duration::from_secs(75),
        "waited for --timeout: {:?}\n{run}",
        started.elapsed()
    );
    assert!(
        !run.stdout.contains("Restart pod"),
        "a restart was offered:\n{run}"
    );
    assert_eq!(support::pod_uids(&cluster, ns), pods, "{run}");
    let hidden = run.stdout.rfind("\x1b[?25l");
    let shown = run.stdout.rfind("\x1b[?25h");
    assert!(
        hidden.is_none() || shown > hidden,
        "the cursor was left hidden:\n{run}"
    );
    // The last paragraph on the screen is the error; its commands are what the SRE copies.
    let said = run
        .stdout
        .lines()
        .rfind(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error sentence:\n{run}"));
    assert!(said.contains("offline expansion"), "{said}");
    let commands: Vec<&str> = said.split('`').skip(1).step_by(2).collect();
    let scale = commands
        .iter()
        .find(|c| c.starts_with("kubectl scale "))
        .unwrap_or_else(|| panic!("no scale command: {said}"));
    assert_eq!(
        *scale,
        "kubectl scale deploy/prometheus -n monitoring --replicas=0"
    );
    let (_, after) = said
        .split_once("wait until `")
        .unwrap_or_else(|| panic!("nothing to wait for: {said}"));
    let check = after.split('`').next().unwrap();
    // 64Mi + 32Mi: what the plan grows the claim to.
    let target = "96Mi";
    let kubectl_words = |command: &str| -> Vec<String> {
        command
            .strip_prefix("kubectl ")
            .unwrap_or_else(|| panic!("not a kubectl command: {command}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    let words = kubectl_words(scale);
    support::kubectl(
        &cluster,
        &words.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    // Wait as it says: its command, run with the real kubectl, shows the new size.
    let words = kubectl_words(check);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    support::wait_until(
        &format!("`{check}` to show {target}, as the advice says"),
        Duration::from_secs(90),
        || {
            support::kubectl(&cluster, &words)
                .split_whitespace()
                .any(|w| w == target)
                .then_some(())
        },
    );
    // Then restore the replicas (1, noted before): the pod mounts the claim and its filesystem grows.
    support::kubectl(
        &cluster,
        &["scale", "deploy/prometheus", "-n", ns, "--replicas=1"],
    );
    support::wait_until(
        "the claim's capacity to reach 96Mi once its pod mounts it",
        Duration::from_secs(120),
        || {
            let pvc = kubectl_json(&cluster, &["get", "pvc", "prometheus-data", "-n", ns]);
            (pvc["status"]["capacity"]["storage"] == "96Mi").then_some(())
        },
    );
    support::wait_settled(&cluster, ns);
}
