//! End to end (issue 9), on the real control plane (issue 16: kube-apiserver 1.36, the real prometheus-operator 0.85.0
//! as a pod): Ctrl-C during a wait or inside a multi-step change leaves the cluster consistent and described ("Interruption"), and a Prometheus answering garbage or nothing,
//! or exec output that is not UTF-8, gets a clear sentence and a documented exit code, never a panic or a hang ("Bad
//! input").

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{Cluster, Options, items, kubectl_json, name, spawn_prom, start, wait_until};

/// The operator scenarios' Prometheus resource and namespace.
const CR: &str = "kps-kube-prometheus-stack-prometheus";
const NS: &str = "monitoring";

fn bytes(q: &str) -> i128 {
    kubectl_prom::quantity::Quantity::parse(q)
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
}

fn claim_request(pvc: &Value) -> i128 {
    bytes(
        pvc["spec"]["resources"]["requests"]["storage"]
            .as_str()
            .unwrap_or_default(),
    )
}

/// The operator's data claims of [`CR`].
fn operator_claims(cluster: &Cluster) -> Vec<Value> {
    let label = format!("operator.prometheus.io/name={CR}");
    items(&kubectl_json(
        cluster,
        &["get", "pvc", "-n", NS, "-l", &label],
    ))
}

/// Every data claim of [`CR`] once all are Bound (each binds when its pod is scheduled: WaitForFirstConsumer), by
/// name, and their common request in bytes.
fn settled_operator_claims(cluster: &Cluster) -> (Vec<String>, i128) {
    support::wait_settled(cluster, NS);
    let claims = operator_claims(cluster);
    assert!(!claims.is_empty(), "no claim of {CR}");
    let request = claim_request(&claims[0]);
    assert!(
        claims.iter().all(|c| claim_request(c) == request),
        "{claims:#?}"
    );
    (claims.iter().map(name).collect(), request)
}

/// The state a resize must never leave behind: the resource paused, or its StatefulSet gone for good. The operator
/// recreates an orphan-deleted StatefulSet once the resource is unpaused, so its return is awaited.
fn assert_operator_consistent(cluster: &Cluster, want_request: i128) {
    let cr = kubectl_json(cluster, &["get", "prometheus", "-n", NS, CR]);
    assert_ne!(cr["spec"]["paused"], true, "left paused: {cr:#}");
    let template =
        cr["spec"]["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
            .as_str()
            .unwrap_or_default();
    assert_eq!(bytes(template), want_request, "{cr:#}");
    for pvc in operator_claims(cluster) {
        assert_eq!(claim_request(&pvc), want_request, "{pvc:#}");
    }
    let label = format!("operator.prometheus.io/name={CR}");
    wait_until(
        "the operator's StatefulSet to exist again",
        Duration::from_secs(30),
        || {
            let sts = items(&kubectl_json(
                cluster,
                &["get", "statefulsets", "-n", NS, "-l", &label],
            ));
            (!sts.is_empty()).then_some(())
        },
    );
}

/// `resize prometheus/CR --add 32Mi --yes` in the background: a relative size, so a naive "run it again" would grow
/// the claims twice.
fn spawn_resize_add_32mi(cluster: &Cluster) -> support::Background {
    let target = format!("prometheus/{CR}");
    spawn_prom(
        cluster,
        &RESIZE_ADD_32MI.map(|a| if a == "TARGET" { target.as_str() } else { a }),
    )
}

/// The args of [`spawn_resize_add_32mi`], `TARGET` standing for `prometheus/CR`.
const RESIZE_ADD_32MI: [&str; 9] = [
    "resize",
    "TARGET",
    "-n",
    NS,
    "--add",
    "32Mi",
    "--yes",
    "--timeout",
    "2m",
];

/// Ctrl-C once a stderr line shows `what` has begun; the run must then end with exit 130.
fn interrupt_when(
    mut running: support::Background,
    what: &str,
    timeout: Duration,
    begun: impl Fn(&str) -> bool,
) -> support::Run {
    running.wait_for_stderr(what, timeout, begun);
    running.interrupt();
    let run = running.finish(Duration::from_secs(60));
    assert_eq!(run.code, 130, "{run}");
    run
}

/// The one-paragraph sentence an interrupted run ends with.
fn interrupted_sentence(run: &support::Run) -> &str {
    run.stderr
        .lines()
        .find(|l| l.starts_with("error: interrupted:"))
        .unwrap_or_else(|| panic!("no interrupted sentence: {run}"))
}

/// The claim the test below gives the chart's Deployment, in the class whose driver has no resizer.
const NO_RESIZER_CLAIM: &str = "prometheus-data-no-resizer";

/// Point `deploy/prometheus` of `resize-online` at a new 64Mi claim in `standard-no-resizer` (the node's driver that
/// provisions but runs no external-resizer) and wait until its one pod is Ready on it.
fn give_the_deployment_a_claim_without_resizer(cluster: &Cluster) {
    let manifest = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        manifest.path(),
        serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": NO_RESIZER_CLAIM, "namespace": NS},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard-no-resizer",
                     "resources": {"requests": {"storage": "64Mi"}}}})
        .to_string(),
    )
    .expect("write the claim");
    support::kubectl(
        cluster,
        &["create", "-f", &manifest.path().to_string_lossy()],
    );
    let patch = serde_json::json!([
        {"op": "test", "path": "/spec/template/spec/volumes/1/name", "value": "data"},
        {"op": "replace", "path": "/spec/template/spec/volumes/1/persistentVolumeClaim/claimName",
         "value": NO_RESIZER_CLAIM},
    ]);
    support::json_patch(cluster, NS, "deploy/prometheus", &patch.to_string());
    wait_until(
        "one Ready pod on the new claim, the old one gone",
        Duration::from_secs(150),
        || {
            let pods = items(&kubectl_json(cluster, &["get", "pods", "-n", NS]));
            let on_new = |p: &Value| p.to_string().contains(NO_RESIZER_CLAIM);
            (pods.len() == 1 && on_new(&pods[0]) && support::pod_ready(&pods[0])).then_some(())
        },
    );
    support::wait_settled(cluster, NS);
}

/// Ctrl-C while resize follows its claims. On the real control plane (issue 16) the claim wait long enough to
/// interrupt is a class whose driver has no resizer: the controller-manager hands the claim off (`ExternalExpanding`,
/// kubernetes pkg/controller/volume/expand/expand_controller.go) and nothing else happens, which resize follows for
/// its grace before saying so. The wait the simulated world had (the pre-1.24 offline model: FileSystemResizePending
/// until the pod is replaced) does not exist there: a 1.24+ external-resizer refuses an offline-only expansion while a
/// pod uses the claim (kubernetes-csi/external-resizer pkg/controller/inuse_pvc_store.go), so resize reports that at
/// once (terminal_e2e follows its advice), and an online driver has finished before resize's first claim poll.
/// The run exits 130 naming the claim patch as applied and kept and the absolute size to continue with; the continue
/// command grows nothing a second time.
#[test]
fn ctrl_c_while_resize_waits_for_its_claims_exits_130_and_says_what_was_applied_and_how_to_continue()
 {
    let Some(cluster) = start("resize-online") else {
        return;
    };
    give_the_deployment_a_claim_without_resizer(&cluster);
    let claim = NO_RESIZER_CLAIM;
    let target = "deploy/prometheus";
    let run = interrupt_when(
        spawn_prom(
            &cluster,
            &[
                "resize",
                target,
                "-n",
                NS,
                "--add",
                "32Mi",
                "--yes",
                "--timeout",
                "2m",
            ],
        ),
        "the claim wait",
        Duration::from_secs(90),
        |line| line.contains(&format!("pvc {claim}:")),
    );
    let said = interrupted_sentence(&run);
    for expected in [
        "stopped before the command finished",
        "Applied and kept (nothing was rolled back): ",
        &format!("patch persistentvolumeclaim/{claim}"),
        &format!("Not done: following claim(s) {claim} to 96Mi"),
        // The absolute size: running `--add 32Mi` again would grow the claim a second time.
        &format!("To continue, run `kubectl prom resize {target} -n {NS} --size 96Mi`"),
    ] {
        assert!(said.contains(expected), "missing `{expected}` in: {said}");
    }
    assert!(!run.stderr.contains("panicked"), "{run}");
    let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", NS, claim]);
    assert_eq!(claim_request(&pvc), 96 << 20, "the patch was kept: {pvc:#}");

    // The command it gives continues the same resize: it patches nothing again and follows the claim, which still
    // has no resizer, so it ends saying that (exit 1), the request unchanged.
    let args = support::continue_args(&run).unwrap_or_else(|| panic!("no continue command: {run}"));
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--yes", "--timeout", "2m"]);
    let resumed = support::prom(&cluster, &args);
    assert!(
        !resumed
            .stderr
            .contains(&format!("done: patch persistentvolumeclaim/{claim}")),
        "patched again: {resumed}"
    );
    assert_eq!(resumed.code, 1, "{resumed}");
    assert!(resumed.stderr.contains("ExternalExpanding"), "{resumed}");
    let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", NS, claim]);
    assert_eq!(claim_request(&pvc), 96 << 20, "grown twice: {pvc:#}");
}

/// `kps-healthy` (the real operator 0.85.0 as a pod, two replicas, claims in the online class `standard`) where
/// every API request of the plugin takes 400 ms (the knob proxy's `latency`), so the steps between the pause and the
/// unpause (claim patches, orphan delete and its wait, unpause) take seconds and a Ctrl-C sent once the pause is done
/// surely lands among them. Online expansion, because on the real control plane an offline-only driver's expansion is
/// refused while the pods run (see the test above), so no continue command could finish there.
fn start_slow_operator() -> Option<Cluster> {
    support::start_opts(Options {
        scenario: Some("kps-healthy".into()),
        latency: Some(Duration::from_millis(400)),
        ..Default::default()
    })
}

#[test]
fn ctrl_c_between_pause_and_unpause_finishes_the_operator_steps_first_then_exits_130() {
    let Some(cluster) = start_slow_operator() else {
        return;
    };
    let (claims, before) = settled_operator_claims(&cluster);
    let claim = &claims[0];
    let want = before + (32 << 20);
    let run = interrupt_when(
        spawn_resize_add_32mi(&cluster),
        "the pause being applied",
        Duration::from_secs(120),
        |line| {
            line.contains(&format!(
                "done: patch prometheus/{CR}: pause reconciliation"
            ))
        },
    );
    assert!(
        run.stderr.contains(&format!(
            "interrupt received; finishing first so nothing is left half-done: prometheus/{CR} is paused until the resize unpauses it"
        )),
        "{run}"
    );
    // It finished the section: the unpause was sent before it stopped, and it says so.
    let said = interrupted_sentence(&run);
    for expected in [
        "stopped before the command finished",
        &format!("patch persistentvolumeclaim/{claim}"),
        "resume reconciliation",
        "Not done: following claim(s)",
        "To continue, run `kubectl prom resize",
    ] {
        assert!(said.contains(expected), "missing `{expected}` in: {said}");
    }
    assert_operator_consistent(&cluster, want);
}

/// The garbage one pod of `robust-garbage` answers, and how the plugin must name it.
const GARBAGE: [(&str, &str); 3] = [
    ("prom-binary", "binary data ("),
    ("prom-html", "an HTML page titled `502 Bad Gateway`"),
    ("prom-empty", "an empty body"),
];

/// The pod proxy (admin), and `wget` by exec (restricted: no pods/proxy), which brings the garbage back as exec
/// output that is not UTF-8.
const PATHS: [(Option<&str>, &str); 2] = [
    (None, "the API server's pod proxy"),
    (
        Some("kube-sim-restricted"),
        "exec (wget inside the container)",
    ),
];

fn prom_as(cluster: &Cluster, context: Option<&str>, args: &[&str]) -> support::Run {
    match context {
        Some(_) => support::prom_restricted(cluster, args),
        None => support::prom(cluster, args),
    }
}

/// No panic, no backtrace, and not one byte of the garbage's terminal escapes (ESC, BEL) or undecodable bytes
/// passed through to the user's terminal.
fn assert_contained(run: &support::Run) {
    for output in [&run.stdout, &run.stderr] {
        assert!(!output.contains("panicked"), "{run}");
        assert!(
            !output.contains(['\u{1b}', '\u{7}', char::REPLACEMENT_CHARACTER]),
            "raw garbage reached the terminal: {run}"
        );
    }
}

/// `doctor -o json` exits 1 with one PROM-508 finding whose evidence quotes `evidence`.
fn assert_doctor_names_prom_508(
    cluster: &Cluster,
    context: Option<&str>,
    target: &str,
    evidence: &str,
) {
    let doctor = prom_as(
        cluster,
        context,
        &["doctor", target, "-n", NS, "-o", "json"],
    );
    assert_eq!(doctor.code, 1, "{doctor}");
    assert_contained(&doctor);
    let found: Vec<Value> = doctor.json()["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["id"] == "PROM-508")
        .collect();
    assert_eq!(found.len(), 1, "{doctor}");
    let seen = found[0]["evidence"][0].as_str().unwrap_or_default();
    assert!(seen.contains(evidence), "`{evidence}` not in: {seen}");
}

#[test]
fn prometheus_answering_garbage_gets_a_sentence_from_reload_and_prom_508_from_doctor() {
    let Some(cluster) = start("robust-garbage") else {
        return;
    };
    for (workload, named) in GARBAGE {
        let target = format!("deploy/{workload}");
        for (context, via) in PATHS {
            let reload = prom_as(&cluster, context, &["reload", &target, "-n", NS, "--yes"]);
            assert_eq!(reload.code, 3, "{reload}");
            assert_contained(&reload);
            let said = reload
                .stderr
                .lines()
                .find(|l| l.starts_with("error: "))
                .unwrap_or_else(|| panic!("no error sentence: {reload}"));
            assert!(said.contains(named), "`{named}` not in: {said}");
            // A 200 with garbage is called out as not Prometheus, and says which path carried it.
            if !workload.ends_with("html") {
                assert!(said.contains("does not look like Prometheus"), "{said}");
                assert!(said.contains(via), "`{via}` not in: {said}");
            }
            // Nothing was posted to something that is not Prometheus.
            assert!(!reload.stderr.contains("POST /-/reload"), "{reload}");
            // Nothing is said about a configuration that was never in question; the pod is what to look at.
            assert!(
                !reload.stderr.contains("fix the configuration")
                    && !reload.stderr.contains("previous configuration")
                    && reload.stderr.contains("kubectl prom doctor"),
                "{reload}"
            );

            assert_doctor_names_prom_508(&cluster, context, &target, named);
        }
    }
}

#[test]
fn prometheus_answering_nothing_is_bounded_in_reload_and_prom_508_in_doctor() {
    let Some(cluster) = start("robust-garbage") else {
        return;
    };
    let target = "deploy/prom-hang";
    let started = std::time::Instant::now();
    let reload = support::prom(&cluster, &["reload", target, "-n", NS, "--yes"]);
    // Two requests (the lifecycle flags, then the reload metrics), each bounded by 30 s; kube's client has no read
    // timeout unless --request-timeout is given, and the API server's pod proxy never times out.
    assert!(
        started.elapsed() < Duration::from_secs(100),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(reload.code, 3, "{reload}");
    assert_contained(&reload);
    assert!(
        reload
            .stderr
            .contains("did not answer GET /metrics within 30s"),
        "{reload}"
    );
    assert_doctor_names_prom_508(&cluster, None, target, "no answer within");
}

#[test]
fn ctrl_c_while_reload_waits_for_the_lifecycle_rollout_exits_130_and_says_what_was_applied() {
    let Some(cluster) = start("lifecycle-off") else {
        return;
    };
    let ns = "monitoring";
    let deployment = "prometheus-server";
    // Its first progress line means the rollout wait has begun (the new pod needs seconds to become available).
    let run = interrupt_when(
        spawn_prom(
            &cluster,
            &["reload", "-n", ns, "--enable-lifecycle", "--yes"],
        ),
        "the rollout wait",
        Duration::from_secs(90),
        |line| line.contains(&format!("rollout deploy/{deployment}:")),
    );
    let said = interrupted_sentence(&run);
    for expected in [
        "stopped before the command finished",
        &format!(
            "Applied and kept (nothing was rolled back): patched deployment {ns}/{deployment}"
        ),
        &format!("Not done: waiting for the rollout of deploy/{deployment} in namespace {ns}"),
        &format!("`kubectl rollout status deploy/{deployment} -n {ns}`"),
    ] {
        assert!(said.contains(expected), "missing `{expected}` in: {said}");
    }
    // Consistent: the template has the flag (the whole patch or nothing), and the rollout finishes on its own.
    let d = kubectl_json(&cluster, &["get", "deployment", "-n", ns, deployment]);
    let args = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == deployment)
        .map(|c| c["args"].clone())
        .unwrap_or_default();
    assert!(
        args.as_array()
            .into_iter()
            .flatten()
            .any(|a| a == "--web.enable-lifecycle"),
        "{d:#}"
    );
    wait_until(
        "the rollout to finish without the plugin",
        Duration::from_secs(120),
        || {
            let d = kubectl_json(&cluster, &["get", "deployment", "-n", ns, deployment]);
            (d["status"]["updatedReplicas"] == 1 && d["status"]["availableReplicas"] == 1)
                .then_some(())
        },
    );
}

#[test]
fn a_second_ctrl_c_forces_the_exit_leaves_it_paused_and_names_the_repair_and_the_continue_command()
{
    let Some(cluster) = start_slow_operator() else {
        return;
    };
    let (_, before) = settled_operator_claims(&cluster);
    let want = before + (32 << 20);
    let mut running = spawn_resize_add_32mi(&cluster);
    running.wait_for_stderr(
        "the pause being applied",
        Duration::from_secs(120),
        |line| {
            line.contains(&format!(
                "done: patch prometheus/{CR}: pause reconciliation"
            ))
        },
    );
    running.interrupt();
    // The first Ctrl-C is deferred (and says so); the second one forces the exit in the middle of the section.
    running.wait_for_stderr("the deferral", Duration::from_secs(10), |line| {
        line.contains("press Ctrl-C again to stop now")
    });
    running.interrupt();
    let run = running.finish(Duration::from_secs(30));
    assert_eq!(run.code, 130, "{run}");
    let said = interrupted_sentence(&run);
    let continue_command = format!(
        "kubectl prom resize prometheus/{CR} -n {NS} --size {}Mi",
        want >> 20
    );
    for expected in [
        &format!(
            "stopped in the middle of a step that should have finished (prometheus/{CR} is paused until the resize unpauses it)"
        ),
        "Applied and kept (nothing was rolled back): ",
        "Not done: ",
        "resume reconciliation",
        &format!(
            "Left half-done; repair that first: `kubectl patch prometheus/{CR} -n {NS} --type merge -p '"
        ),
        &format!("To continue, run `{continue_command}`"),
    ] {
        assert!(said.contains(expected), "missing `{expected}` in: {said}");
    }
    let cr = kubectl_json(&cluster, &["get", "prometheus", "-n", NS, CR]);
    assert_eq!(cr["spec"]["paused"], true, "forced out mid-section: {cr:#}");

    // The repair it names is pasteable into a shell, and unpauses the resource.
    let repair = said
        .split("repair that first: `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_default();
    let pasted = std::process::Command::new("sh")
        .args(["-c", repair])
        .env("KUBECONFIG", cluster.kubeconfig_path())
        .output()
        .expect("run sh");
    assert!(pasted.status.success(), "`{repair}`: {pasted:?}");
    let cr = kubectl_json(&cluster, &["get", "prometheus", "-n", NS, CR]);
    assert_ne!(cr["spec"]["paused"], true, "{cr:#}");

    // Then the continue command it names finishes the job: unpaused, the new size everywhere.
    let args: Vec<&str> = continue_command
        .split(' ')
        .skip(2)
        .chain(["--yes", "--timeout", "3m"])
        .collect();
    let resumed = support::prom(&cluster, &args);
    assert_eq!(resumed.code, 0, "{resumed}");
    assert_operator_consistent(&cluster, want);
}

/// A command that hangs in the container (what `df` or `stat` does on a hung network volume) is given up after
/// the exec limit with a sentence naming the pod and the command, instead of hanging the verb. The real exec
/// subresource of kube-sim runs a real `sleep`; the limit is shortened to 2 s for the test (the tool uses 60 s).
#[tokio::test(flavor = "multi_thread")]
async fn an_exec_that_hangs_is_given_up_after_the_limit_with_a_sentence() {
    use kubectl_prom::podexec::{KubeExec, PodExec};
    let Some(cluster) = start("chart-healthy") else {
        return;
    };
    let pod = wait_until("a running server pod", Duration::from_secs(120), || {
        let pods = kubectl_json(
            &cluster,
            &[
                "get",
                "pods",
                "-n",
                NS,
                "-l",
                "app.kubernetes.io/name=prometheus",
            ],
        );
        items(&pods)
            .into_iter()
            .find(|p| p["status"]["phase"] == "Running")
            .map(|p| name(&p))
    });
    let kubeconfig =
        kube::config::Kubeconfig::read_from(cluster.kubeconfig_path()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    let exec = KubeExec {
        client: kube::Client::try_from(config).expect("client"),
        limit: Duration::from_secs(2),
    };
    let argv = vec!["sleep".to_string(), "30".to_string()];
    let started = std::time::Instant::now();
    let result = exec.run(NS, &pod, "prometheus-server", &argv).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let err = result.expect_err("a hung command must be an error");
    let said = err.to_string();
    assert!(
        said.contains("sleep 30")
            && said.contains(&pod)
            && said.contains("did not finish within 2s"),
        "{said}"
    );
    // A command that finishes in time still answers normally through the same client.
    let quick = exec
        .run(NS, &pod, "prometheus-server", &["true".to_string()])
        .await
        .expect("true runs");
    assert!(quick.success());
}

/// The moments of an operator resize (400 ms per request, so each is seconds long) at which the harness disrupts it,
/// by the progress line that shows the moment has come. The simulated world had a fourth, the claim wait of the
/// pre-1.24 offline model (`FileSystemResizePending` until the pod is replaced); on the real control plane there is no
/// such wait to hit (see `ctrl_c_while_resize_waits_for_its_claims…`).
const RESIZE_POINTS: [(&str, &str); 3] = [
    ("the pause", "done: patch prometheus/"),
    ("the claim patch", "done: patch persistentvolumeclaim/"),
    ("the orphan delete", "done: delete statefulset/"),
];

/// The harness of issue 14: an operator resize (`--add 32Mi`, relative, so a naive re-run would grow twice) is
/// disrupted as `how` says at each of `points`; afterwards the resource is never paused, the operator's pod was not
/// deleted, and the continue command the run printed (or, when its stderr was closed, the absolute one it would
/// print) finishes the work: every claim's request and capacity at the new size.
fn operator_resize_disrupted(how: support::Disruption, points: &[usize]) {
    let Some(cluster) = start_slow_operator() else {
        return;
    };
    let (claims, mut size) = settled_operator_claims(&cluster);
    let target = format!("prometheus/{CR}");
    let operator_pod = |cluster: &Cluster| -> Vec<(String, String)> {
        support::pod_uids(cluster, NS)
            .into_iter()
            .filter(|(name, _)| name.starts_with("kps-kube-prometheus-stack-operator"))
            .collect()
    };
    let operator_before = operator_pod(&cluster);
    assert_eq!(operator_before.len(), 1, "{operator_before:?}");
    for &point in points {
        let (what, line) = RESIZE_POINTS[point];
        let want = size + (32 << 20);
        let want_text = format!("{}Mi", want >> 20);
        let run = support::run_disrupted(
            &cluster,
            &RESIZE_ADD_32MI.map(|a| if a == "TARGET" { target.as_str() } else { a }),
            how,
            what,
            |l| l.contains(line),
            Duration::from_secs(150),
        );
        let context = format!("{how:?} at {what}:\n{run}");
        assert!(
            run.code != 134 && run.code != 101 && !run.stderr.contains("panicked"),
            "{context}"
        );
        if let support::Disruption::Signal(_) = how {
            assert_eq!(run.code, 130, "handled like Ctrl-C: {context}");
        }
        let cr = kubectl_json(&cluster, &["get", "prometheus", "-n", NS, CR]);
        assert_ne!(cr["spec"]["paused"], true, "left paused: {context}");
        let absolute = vec![
            "resize".to_string(),
            target.clone(),
            "-n".into(),
            NS.into(),
            "--size".into(),
            want_text.clone(),
        ];
        let mut args = match how {
            // It finished despite the closed pipe: nothing is left to continue.
            _ if run.code == 0 => {
                assert_operator_consistent(&cluster, want);
                size = want;
                continue;
            }
            support::Disruption::CloseStderr => absolute,
            _ => {
                let printed = support::continue_args(&run)
                    .unwrap_or_else(|| panic!("no continue command: {context}"));
                assert_eq!(printed, absolute, "{context}");
                printed
            }
        };
        args.extend(["--yes", "--timeout", "3m"].map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let resumed = support::prom(&cluster, &args);
        assert_eq!(
            resumed.code, 0,
            "the continue command after {context}\n{resumed}"
        );
        assert_operator_consistent(&cluster, want);
        for claim in &claims {
            let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", NS, claim]);
            assert_eq!(
                bytes(
                    pvc["status"]["capacity"]["storage"]
                        .as_str()
                        .unwrap_or_default()
                ),
                want,
                "{claim}: {context}\n{resumed}"
            );
        }
        assert_eq!(
            operator_pod(&cluster),
            operator_before,
            "a pod outside the plan was deleted: {context}"
        );
        size = want;
    }
}

#[test]
fn sigterm_at_any_point_of_an_operator_resize_is_handled_like_ctrl_c() {
    operator_resize_disrupted(support::Disruption::Signal("TERM"), &[0, 1, 2]);
}

#[test]
fn sighup_at_any_point_of_an_operator_resize_is_handled_like_ctrl_c() {
    operator_resize_disrupted(support::Disruption::Signal("HUP"), &[0, 2]);
}

#[test]
fn a_closed_stderr_during_an_operator_resize_never_panics_nor_stops_half_way() {
    operator_resize_disrupted(support::Disruption::CloseStderr, &[0, 2]);
}

#[test]
fn a_closed_stdout_during_an_operator_resize_never_panics_nor_stops_half_way() {
    operator_resize_disrupted(support::Disruption::CloseStdout, &[1]);
}
