//! End-to-end tests of what doctor advises and prints (issue 14 classes 7 and 10, issue 15's `doctor -n typo`),
//! against kube-sim (the real control plane: kube-apiserver 1.36 and the real operator; issue 16) with the real
//! kubectl reading the objects back: PROM-502's fix, followed verbatim with the real kubectl, keeps every claim (same
//! names, same uids, no new claim) bound to the recreated pods; a container whose log lines carry terminal sequences
//! is quoted without one raw control byte; a namespace that does not exist is an error naming the ones that do. Need
//! root and `prometheus`; skip otherwise (fail under `KUBE_SIM_REQUIRE=1`).
mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use support::{Cluster, items, kubectl, kubectl_json, name, pod_ready, prom, start, wait_until};

const PATIENCE: Duration = Duration::from_secs(180);

fn findings(report: &Value) -> Vec<Value> {
    report["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["findings"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// `doctor -n monitoring -o json` until a finding `id` whose JSON contains `seen`; returns that finding.
fn await_finding(cluster: &Cluster, id: &str, seen: &str) -> Value {
    wait_until(
        &format!("doctor to report {id} quoting `{seen}`"),
        PATIENCE,
        || {
            let run = prom(cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
            assert!(run.code <= 1, "doctor failed as a tool:\n{run}");
            findings(&run.json())
                .into_iter()
                .find(|f| f["id"] == id && f.to_string().contains(seen))
        },
    )
}

/// Claim name → uid, with the volume it is bound to, in `monitoring`.
fn claims(cluster: &Cluster) -> BTreeMap<String, (String, String)> {
    items(&kubectl_json(cluster, &["get", "pvc", "-n", "monitoring"]))
        .iter()
        .map(|c| {
            (
                name(c),
                (
                    c["metadata"]["uid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    c["spec"]["volumeName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
            )
        })
        .collect()
}

/// Every Prometheus pod of the resource Ready, with the claim its data volume mounts: pod → claim.
fn ready_pods_and_claims(cluster: &Cluster, replicas: usize) -> Option<BTreeMap<String, String>> {
    let pods = items(&kubectl_json(
        cluster,
        &[
            "get",
            "pods",
            "-n",
            "monitoring",
            "-l",
            "operator.prometheus.io/name=kps-kube-prometheus-stack-prometheus",
        ],
    ));
    if pods.len() != replicas || !pods.iter().all(pod_ready) {
        return None;
    }
    pods.iter()
        .map(|p| {
            let claim = p["spec"]["volumes"]
                .as_array()?
                .iter()
                .find_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())?;
            Some((name(p), claim.to_string()))
        })
        .collect()
}

/// Whether every Prometheus pod of the resource has the init container `init` in its spec (it was created from a
/// template that has it).
fn pods_run_init_container(cluster: &Cluster, init: &str) -> bool {
    let pods = items(&kubectl_json(
        cluster,
        &[
            "get",
            "pods",
            "-n",
            "monitoring",
            "-l",
            "operator.prometheus.io/name=kps-kube-prometheus-stack-prometheus",
        ],
    ));
    !pods.is_empty()
        && pods.iter().all(|p| {
            p["spec"]["initContainers"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["name"] == init))
        })
}

/// Issue 14 class 7. A healthy kube-prometheus-stack whose data lives on two claims; someone adds an initContainer
/// that mounts `prometheus-db` (incident 5). On the real control plane (issue 16) the API server refuses the
/// StatefulSet update the real operator generates (422 Invalid: `volumeMounts[0].name: Not found`); the operator then
/// deletes the StatefulSet with foreground propagation, relying on its next reconcile to recreate it
/// (prometheus-operator pkg/k8s/statefulset.go `ForceUpdateStatefulSet`), and that create is refused too: no
/// StatefulSet, no Prometheus pod, `Reconciled=False`, which doctor quotes as PROM-502. The claims stay. The fix
/// doctor prints is run with the real kubectl exactly as printed; afterwards both pods are recreated from the fixed
/// template (they run the init container) on the same two claims (names, uids and volumes unchanged) and no claim
/// was created. The fix doctor used to print (rename the claim template) makes the operator recreate the StatefulSet
/// with new, empty claims.
#[test]
fn prom_502_fix_followed_with_kubectl_keeps_the_same_claims() {
    let Some(cluster) = start("kps-healthy") else {
        return;
    };
    let before_pods = wait_until("both Prometheus pods Ready", PATIENCE, || {
        ready_pods_and_claims(&cluster, 2)
    });
    let before = claims(&cluster);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(
        before_pods.values().all(|c| before.contains_key(c)),
        "{before_pods:?} {before:?}"
    );

    kubectl(
        &cluster,
        &[
            "patch",
            "prometheus/kps-kube-prometheus-stack-prometheus",
            "-n",
            "monitoring",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"initContainers":[{"name":"chown-data","image":"busybox:1.36","command":["sh","-c","chown -R 1000:2000 /prometheus"],"securityContext":{"runAsUser":0,"runAsNonRoot":false},"volumeMounts":[{"name":"prometheus-db","mountPath":"/prometheus"}]}]}}"#,
        ],
    );
    let finding = await_finding(&cluster, "PROM-502", "prometheus-db");
    let fix = finding["fix"].as_str().unwrap().to_string();
    // What the real operator did with the refused update: the StatefulSet and its pods are gone, the claims are not.
    wait_until(
        "the operator's StatefulSet and its pods gone",
        PATIENCE,
        || {
            let left = kubectl_json(&cluster, &["get", "statefulsets,pods", "-n", "monitoring"]);
            (!items(&left)
                .iter()
                .any(|o| name(o).starts_with("prometheus-kps-kube-prometheus-stack-prometheus")))
            .then_some(())
        },
    );
    assert_eq!(
        claims(&cluster),
        before,
        "a claim changed while the pods were gone"
    );

    // The advice, with the real kubectl, word for word (its text is asserted afterwards: what it does to the claims
    // is the point).
    let args = support::kubectl_args_of(&fix);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    kubectl(&cluster, &args);

    let after_pods = wait_until(
        "both Prometheus pods Ready again after the fix",
        PATIENCE,
        || {
            // Both pods recreated from the fixed template (the rolling update is done), then Ready.
            ready_pods_and_claims(&cluster, 2)
                .filter(|_| pods_run_init_container(&cluster, "chown-data"))
        },
    );
    let after = claims(&cluster);
    assert_eq!(
        after, before,
        "following `{fix}` changed the claims: before {before:?}, after {after:?}"
    );
    assert!(!fix.contains("volumeClaimTemplate"), "{fix}");
    assert!(
        fix.contains(r#""op":"test","path":"/spec/initContainers/0/volumeMounts/0/name","value":"prometheus-db""#),
        "{fix}"
    );
    assert_eq!(
        after_pods, before_pods,
        "each pod mounts the claim it had: before {before_pods:?}, after {after_pods:?}"
    );
    let mounts = kubectl_json(
        &cluster,
        &[
            "get",
            "prometheus/kps-kube-prometheus-stack-prometheus",
            "-n",
            "monitoring",
        ],
    );
    assert_eq!(
        mounts["spec"]["initContainers"][0]["volumeMounts"][0]["name"],
        "prometheus-kps-kube-prometheus-stack-prometheus-db"
    );
    // And doctor no longer reports it.
    let run = prom(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    assert!(
        !findings(&run.json()).iter().any(|f| f["id"] == "PROM-502"),
        "{run}"
    );
}

/// Issue 14 class 10. The container's log lines carry an OSC title change, clear screen, cursor home, a CR that
/// would overwrite the line, a C1 CSI and a right-to-left override around a real `no space left on device` error.
/// doctor's human report (plain, and in colour on a terminal) quotes them visibly escaped and contains no raw
/// control byte but its own colour; its JSON carries the exact text.
#[test]
fn doctor_quotes_terminal_sequences_from_logs_without_obeying_them() {
    let Some(cluster) = start("doctor-hostile-log") else {
        return;
    };
    let finding = await_finding(&cluster, "PROM-201", "no space left on device");
    // JSON: the exact line as logged (serde escapes C0 controls; the decoded value holds them raw).
    let evidence = finding["evidence"].to_string();
    let decoded: Vec<String> = finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert!(
        decoded
            .iter()
            .any(|e| e.contains("\u{1b}[2K\rFAKE-LINE\u{9b}6n\u{202e}")),
        "JSON keeps the exact text: {evidence}"
    );

    let hostile = |c: char| {
        (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c)
    };
    let human = prom(&cluster, &["doctor", "-n", "monitoring"]);
    assert_eq!(human.code, 1, "{human}");
    assert!(
        human.stdout.contains("PROM-201"),
        "the finding is in the human report:\n{human}"
    );
    let bad: Vec<char> = human
        .stdout
        .chars()
        .chain(human.stderr.chars())
        .filter(|c| hostile(*c))
        .collect();
    assert!(
        bad.is_empty(),
        "raw control characters {bad:?} in:\n{human}"
    );
    assert!(
        human
            .stdout
            .contains(r"\u001b[2K\u000dFAKE-LINE\u009b6n\u202e"),
        "quoted visibly:\n{human}"
    );

    // On a terminal with colour: the only escape sequences are our own SGR colours.
    if support::have("script") {
        let line = format!(
            "{} doctor -n monitoring",
            env!("CARGO_BIN_EXE_kubectl-prom")
        );
        let home = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("script")
            .args(["-qefc", &line, "/dev/null"])
            .env("KUBECONFIG", cluster.kubeconfig_path())
            .env("HOME", home.path())
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run script(1)");
        let screen = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            screen.contains("\u{1b}[1;31mCRITICAL"),
            "coloured: {screen:?}"
        );
        let mut rest = screen.as_str();
        let mut stripped = String::new();
        while let Some(at) = rest.find("\u{1b}[") {
            stripped.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let params = after
                .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .unwrap_or(after.len());
            if after[params..].starts_with('m') {
                rest = &after[params + 1..];
            } else {
                stripped.push_str("<non-SGR ESC>");
                rest = after;
            }
        }
        stripped.push_str(rest);
        // The pty turns \n into \r\n; nothing else may be a control character.
        let bad: Vec<char> = stripped
            .replace("\r\n", "\n")
            .chars()
            .filter(|c| hostile(*c))
            .collect();
        assert!(
            bad.is_empty() && !stripped.contains("<non-SGR ESC>"),
            "{bad:?} in {stripped:?}"
        );
    }
}

/// Issue 15: `doctor -n typo` is an error naming the namespaces that exist (exit 2, a usage error as the README's exit codes say
/// for a target that is not there), where it used to say nothing and exit 0.
#[test]
fn doctor_in_a_namespace_that_does_not_exist_names_the_ones_that_do() {
    let Some(cluster) = start("chart-healthy") else {
        return;
    };
    let namespaces: Vec<String> = items(&kubectl_json(&cluster, &["get", "namespaces"]))
        .iter()
        .map(name)
        .collect();
    assert!(
        namespaces.iter().any(|n| n == "monitoring"),
        "{namespaces:?}"
    );
    let run = prom(&cluster, &["doctor", "-n", "monitoirng"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("namespace `monitoirng` does not exist"),
        "{run}"
    );
    for ns in &namespaces {
        assert!(run.stderr.contains(ns.as_str()), "names {ns}: {run}");
    }
    assert!(run.stdout.is_empty(), "{run}");
    // The namespace that exists still works.
    let ok = prom(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    assert!(ok.code <= 1, "{ok}");
}

/// Issue 15: sizes print in Kubernetes' canonical form, never milli- or nano-bytes. `--add 0.5` on a 64Mi claim
/// asks for 67108864.5 bytes: the plan says it is rounded up, the claim the real kubectl reads back asks for
/// `67108865` (it used to be patched to `67108864500m`); `--size 1.000000000001Gi` plans 1073741825 bytes, not a
/// nano-value.
#[test]
fn fractional_sizes_are_rounded_up_to_a_whole_byte_in_canonical_form() {
    let Some(cluster) = start("resize-online") else {
        return;
    };
    let ns = "monitoring";
    let claim = items(&kubectl_json(&cluster, &["get", "pvc", "-n", ns]))
        .first()
        .map(name)
        .expect("one claim");
    let milli_or_nano = |text: &str| {
        text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
            w.len() > 1
                && (w.ends_with('m') || w.ends_with('n'))
                && w[..w.len() - 1].bytes().all(|b| b.is_ascii_digit())
        })
    };

    let run = prom(
        &cluster,
        &[
            "resize",
            "-n",
            ns,
            "--size",
            "1.000000000001Gi",
            "--dry-run",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("rounded up to 1073741825"), "{run}");
    assert!(!milli_or_nano(&all), "a milli- or nano-value in:\n{run}");

    let run = prom(
        &cluster,
        &[
            "resize",
            "-n",
            ns,
            "--add",
            "0.5",
            "--yes",
            "--timeout",
            "2m",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains(
            "--add 0.5 gives 67108864.5 bytes, not a whole number: rounded up to 67108865"
        ),
        "{run}"
    );
    assert!(!milli_or_nano(&all), "a milli- or nano-value in:\n{run}");
    let pvc = kubectl_json(&cluster, &["get", "pvc", "-n", ns, &claim]);
    assert_eq!(
        pvc["spec"]["resources"]["requests"]["storage"], "67108865",
        "{pvc:#}"
    );
}

/// Issue 15: a `TERM=dumb` terminal interprets no escape sequence. On a pseudo-terminal (util-linux `script`),
/// doctor's report (painted when it goes to a terminal) and a whole `resize --yes` (prompt-free, progress, result)
/// print not one escape byte under `TERM=dumb`; under `TERM=xterm` the same doctor run is in colour.
#[test]
fn a_dumb_terminal_gets_no_escape_sequence() {
    if !support::have("script") {
        return;
    }
    let Some(cluster) = start("resize-online") else {
        return;
    };
    let on_terminal = |term: &str, args: &str| {
        let line = format!("{} {args}", env!("CARGO_BIN_EXE_kubectl-prom"));
        let home = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("script")
            .args(["-qefc", &line, "/dev/null"])
            .env("KUBECONFIG", cluster.kubeconfig_path())
            .env("HOME", home.path())
            .env("TERM", term)
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run script(1)");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (_, coloured) = on_terminal("xterm", "doctor -n monitoring");
    assert!(coloured.contains("PROM-"), "{coloured}");
    assert!(
        coloured.contains("\u{1b}["),
        "a capable terminal gets colour: {coloured:?}"
    );
    let (_, dumb) = on_terminal("dumb", "doctor -n monitoring");
    assert!(dumb.contains("PROM-"), "{dumb}");
    assert!(
        !dumb.contains('\u{1b}'),
        "escape sequences on a dumb terminal: {dumb:?}"
    );
    let (code, resize) = on_terminal("dumb", "resize -n monitoring --add 1Mi --yes --timeout 2m");
    assert_eq!(code, Some(0), "{resize}");
    assert!(resize.contains("done"), "{resize}");
    assert!(
        !resize.contains('\u{1b}'),
        "escape sequences on a dumb terminal: {resize:?}"
    );
}
