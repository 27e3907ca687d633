//! Connecting as kubectl does (issue 15, issue 14 classes 9 and 12), end to end: the real binary against the real
//! control plane (issue 16) with a kubeconfig per variant, real proxies on loopback (tests/support/proxy.rs) that count what they tunnel, and the
//! same command through the real kubectl first as the oracle where kubectl can run it.
//!
//! `KUBECTL_PROM_BIN` runs the tests against another build of the plugin (to see a test fail on older code).

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::proxy::{self, Kind};
use support::{Cluster, Run, start_real};

const NS: &str = "monitoring";
const SCENARIO: &str = "resize-restricted";

fn bin() -> PathBuf {
    std::env::var_os("KUBECTL_PROM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kubectl-prom")))
}

/// The environment every command here gets: a scratch HOME, no colour, no proxy unless the test sets one, the
/// kubeconfig (or none).
fn prepare(cmd: &mut Command, home: &Path, kubeconfig: Option<&Path>, env: &[(&str, &str)]) {
    cmd.env("HOME", home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for var in [
        "KUBECONFIG",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
    ] {
        cmd.env_remove(var);
    }
    if let Some(kc) = kubeconfig {
        cmd.env("KUBECONFIG", kc);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
}

fn output(mut cmd: Command) -> Run {
    let out = cmd.output().expect("run command");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The plugin with this kubeconfig (None: KUBECONFIG unset) and environment.
fn plugin(kubeconfig: Option<&Path>, env: &[(&str, &str)], args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(args);
    prepare(&mut cmd, home.path(), kubeconfig, env);
    output(cmd)
}

/// The real kubectl the same way.
fn kubectl(kubeconfig: Option<&Path>, env: &[(&str, &str)], args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("kubectl");
    cmd.args(args);
    prepare(&mut cmd, home.path(), kubeconfig, env);
    output(cmd)
}

/// A command in a private mount namespace (root): `/etc/hosts` maps `kubernetes` to 127.0.0.1, and, with `sa`, a
/// service-account directory is mounted where kube and client-go read it
/// (`/var/run/secrets/kubernetes.io/serviceaccount`, a fixed path in both).
fn namespaced(program: &Path, sa: Option<&Path>, args: &[&str]) -> (Command, tempfile::TempDir) {
    let scratch = tempfile::tempdir().unwrap();
    let hosts = scratch.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n127.0.0.1 kubernetes\n").unwrap();
    let mut script = format!("set -e; mount --bind '{}' /etc/hosts; ", hosts.display());
    if let Some(sa) = sa {
        script.push_str(&format!(
            "mount -t tmpfs tmpfs /run; mkdir -p /run/secrets/kubernetes.io/serviceaccount; \
             cp '{}'/* /run/secrets/kubernetes.io/serviceaccount/; ",
            sa.display()
        ));
    }
    script.push_str("exec \"$@\"");
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "sh", "-c", &script, "sh"])
        .arg(program)
        .args(args);
    (cmd, scratch)
}

fn kubectl_path() -> PathBuf {
    PathBuf::from("kubectl")
}

/// The cluster's kubeconfig as JSON.
fn kubeconfig(cluster: &Cluster) -> Value {
    let text = std::fs::read_to_string(cluster.kubeconfig_path()).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn server(kc: &Value) -> String {
    kc["clusters"][0]["cluster"]["server"]
        .as_str()
        .unwrap()
        .to_string()
}

fn port(kc: &Value) -> u16 {
    server(kc).rsplit(':').next().unwrap().parse().unwrap()
}

fn admin_token(kc: &Value) -> String {
    kc["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "kube-sim-admin")
        .unwrap()["user"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn ca_pem(kc: &Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(
            kc["clusters"][0]["cluster"]["certificate-authority-data"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
}

fn write(dir: &Path, name: &str, kc: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_saphyr::to_string(kc).unwrap()).unwrap();
    path
}

/// A successful read-only verb: doctor as JSON, naming the scenario's instance.
fn assert_doctor_worked(run: &Run) {
    assert!(run.code == 0 || run.code == 1, "doctor failed:\n{run}");
    assert!(run.stdout.contains("prometheus"), "{run}");
}

fn doctor() -> Vec<&'static str> {
    vec!["doctor", "-n", NS, "-o", "json"]
}

#[test]
fn https_proxy_from_the_environment_is_used_as_kubectl_uses_it_and_no_proxy_is_honoured() {
    if !support::have("kubectl") || !support::have("unshare") {
        return;
    }
    // The real world's kubeconfig says `https://127.0.0.1:PORT` (the knob proxy listens on loopback, as kind and k3d
    // write theirs) and the API server's certificate names `kubernetes`, so this test's `kubernetes` → 127.0.0.1 and
    // its tunnels to 127.0.0.1:PORT reach the real API server.
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proxy = proxy::Proxy::start(Kind::HttpConnect);
    let env = [("HTTPS_PROXY", proxy.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // The case: a loopback server with HTTPS_PROXY (and NO_PROXY=127.0.0.1) set. kubectl never proxies
    // loopback; the plugin failed with `requires the disabled feature "kube/http-proxy"`.
    let loopback = cluster.kubeconfig_path();
    let mut with_no_proxy = env.clone();
    with_no_proxy.push(("NO_PROXY", "127.0.0.1"));
    for e in [&env, &with_no_proxy] {
        let oracle = kubectl(Some(loopback), e, &["get", "ns", NS]);
        assert_eq!(oracle.code, 0, "kubectl: {oracle}");
        assert_doctor_worked(&plugin(Some(loopback), e, &doctor()));
    }
    assert_eq!(proxy.tunnels(), 0, "loopback is never proxied");

    // A server by name goes through the proxy, kubectl's and ours (`kubernetes` is in the serving certificate).
    let mut kc = kubeconfig(&cluster);
    kc["clusters"][0]["cluster"]["server"] = json!(format!("https://kubernetes:{}", port(&kc)));
    let named = write(dir.path(), "named", &kc);
    let oracle = kubectl(Some(&named), &env, &["get", "ns", NS]);
    assert_eq!(oracle.code, 0, "kubectl: {oracle}");
    let after_kubectl = proxy.tunnels();
    assert!(after_kubectl > 0, "kubectl went through the proxy");
    assert_doctor_worked(&plugin(Some(&named), &env, &doctor()));
    assert!(
        proxy.tunnels() > after_kubectl,
        "the plugin went through the proxy"
    );
    assert!(
        proxy
            .hosts()
            .iter()
            .all(|h| h == &format!("kubernetes:{}", port(&kc))),
        "{:?}",
        proxy.hosts()
    );

    // NO_PROXY naming the server: direct (the name resolves through the namespace's /etc/hosts), proxy untouched.
    let before = proxy.tunnels();
    for program in [kubectl_path(), bin()] {
        let mut args = vec!["--kubeconfig", named.to_str().unwrap()];
        if program == kubectl_path() {
            args.extend(["get", "ns", NS]);
        } else {
            args.extend(doctor());
        }
        let (mut cmd, _scratch) = namespaced(&program, None, &args);
        let home = tempfile::tempdir().unwrap();
        let mut e = env.clone();
        e.push(("NO_PROXY", "example.org,.corp,kubernetes"));
        prepare(&mut cmd, home.path(), None, &e);
        let run = output(cmd);
        assert!(run.code == 0 || run.code == 1, "{program:?}: {run}");
    }
    assert_eq!(proxy.tunnels(), before, "NO_PROXY kept both off the proxy");
}

#[test]
fn proxy_url_in_the_kubeconfig_http_and_socks5() {
    if !support::have("kubectl") {
        return;
    }
    // The real world's kubeconfig says `https://127.0.0.1:PORT` (the knob proxy listens on loopback, as kind and k3d
    // write theirs) and the API server's certificate names `kubernetes`, so this test's `kubernetes` → 127.0.0.1 and
    // its tunnels to 127.0.0.1:PORT reach the real API server.
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for kind in [Kind::Socks5, Kind::HttpConnect] {
        let proxy = proxy::Proxy::start(kind);
        let mut kc = kubeconfig(&cluster);
        kc["clusters"][0]["cluster"]["server"] = json!(format!("https://kubernetes:{}", port(&kc)));
        kc["clusters"][0]["cluster"]["proxy-url"] = json!(proxy.url());
        let path = write(dir.path(), "proxied", &kc);
        let oracle = kubectl(Some(&path), &[], &["get", "ns", NS]);
        assert_eq!(oracle.code, 0, "kubectl via {kind:?}: {oracle}");
        let after_kubectl = proxy.tunnels();
        assert!(after_kubectl > 0, "kubectl used the {kind:?} proxy");
        // NO_PROXY does not apply to a kubeconfig proxy-url (client-go: http.ProxyURL).
        let run = plugin(Some(&path), &[("NO_PROXY", "*")], &doctor());
        assert_doctor_worked(&run);
        assert!(
            proxy.tunnels() > after_kubectl,
            "the plugin used the {kind:?} proxy: {run}"
        );
    }
}

#[test]
fn token_file_with_a_trailing_newline_works() {
    if !support::have("kubectl") {
        return;
    }
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut kc = kubeconfig(&cluster);
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{}\n", admin_token(&kc))).unwrap();
    kc["users"] = json!([{"name": "kube-sim-admin", "user": {"tokenFile": token_file}}]);
    kc["contexts"] =
        json!([{"name": "kube-sim", "context": {"cluster": "kube-sim", "user": "kube-sim-admin"}}]);
    let path = write(dir.path(), "tokenfile", &kc);
    let oracle = kubectl(Some(&path), &[], &["get", "ns", NS]);
    assert_eq!(oracle.code, 0, "kubectl: {oracle}");
    assert_doctor_worked(&plugin(Some(&path), &[], &doctor()));
}

#[test]
fn kubeconfig_list_with_a_missing_file_and_kubectl_sentences_for_bad_names() {
    if !support::have("kubectl") {
        return;
    }
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let list = format!(
        "/nonexistent/kubeconfig:{}",
        cluster.kubeconfig_path().display()
    );
    let env = [("KUBECONFIG", list.as_str())];
    let oracle = kubectl(None, &env, &["get", "ns", NS]);
    assert_eq!(oracle.code, 0, "kubectl skips the missing file: {oracle}");
    assert_doctor_worked(&plugin(None, &env, &doctor()));

    let kc = Some(cluster.kubeconfig_path());
    for (flag, sentence) in [
        ("--user", "auth info \"nope\" does not exist"),
        (
            "--context",
            "context was not found for specified context: nope",
        ),
        ("--cluster", "no server found for cluster \"nope\""),
    ] {
        let oracle = kubectl(kc, &[], &[flag, "nope", "get", "ns"]);
        assert!(oracle.stderr.contains(sentence), "kubectl: {oracle}");
        let run = plugin(kc, &[], &["doctor", "-n", NS, flag, "nope"]);
        assert_eq!(run.code, 3, "{run}");
        assert!(run.stderr.contains(sentence), "{flag}: {run}");
        assert!(!run.stderr.contains("refresh your credentials"), "{run}");
    }
}

#[test]
fn kubectl_connection_flags_server_token_ca_tls_server_name() {
    if !support::have("kubectl") {
        return;
    }
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(&cluster);
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, ca_pem(&kc)).unwrap();
    let (server, token) = (server(&kc), admin_token(&kc));
    // No kubeconfig at all: the flags are the whole configuration.
    let flags_ca = [
        "--server",
        &server,
        "--token",
        &token,
        "--certificate-authority",
        ca.to_str().unwrap(),
        "--cache-dir",
        "/nonexistent/cache",
    ];
    let flags_insecure = [
        "-s",
        &server,
        "--token",
        &token,
        "--insecure-skip-tls-verify",
    ];
    for flags in [&flags_ca[..], &flags_insecure[..]] {
        let mut args = flags.to_vec();
        args.extend(["get", "ns", NS]);
        let oracle = kubectl(None, &[], &args);
        assert_eq!(oracle.code, 0, "kubectl {flags:?}: {oracle}");
        let mut args = flags.to_vec();
        args.extend(doctor());
        assert_doctor_worked(&plugin(None, &[], &args));
    }
    // --tls-server-name is what the certificate is checked against: a name it does not hold fails, for both.
    let path = Some(cluster.kubeconfig_path());
    for (name, ok) in [("kubernetes", true), ("wrong.example", false)] {
        let oracle = kubectl(path, &[], &["--tls-server-name", name, "get", "ns", NS]);
        assert_eq!(oracle.code == 0, ok, "kubectl {name}: {oracle}");
        let run = plugin(
            path,
            &[],
            &["--tls-server-name", name, "doctor", "-n", NS, "-o", "json"],
        );
        if ok {
            assert_doctor_worked(&run);
        } else {
            assert_eq!(run.code, 3, "{name}: {run}");
        }
    }
    // A token that is not the user's: the server refuses, as it refuses kubectl.
    let run = plugin(path, &[], &["--token", "not-a-token", "doctor", "-n", NS]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("401"), "{run}");
}

#[test]
fn impersonation_makes_the_access_review_answer_for_the_impersonated_user() {
    if !support::have("kubectl") {
        return;
    }
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let kc = Some(cluster.kubeconfig_path());
    let claim = "prometheus-data";
    // kubectl: the admin, acting as `restricted`, may not patch the claim.
    let oracle = kubectl(
        kc,
        &[],
        &[
            "auth",
            "can-i",
            "patch",
            &format!("persistentvolumeclaims/{claim}"),
            "-n",
            NS,
            "--as",
            "restricted",
        ],
    );
    assert_eq!(oracle.stdout.trim(), "no", "{oracle}");
    let before = support::kubectl_json(&cluster, &["get", "pvc", "-n", NS, claim]);
    let run = plugin(
        kc,
        &[],
        &[
            "resize",
            "-n",
            NS,
            "--add",
            "32Mi",
            "--yes",
            "--as",
            "restricted",
        ],
    );
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains(&format!(
            "not allowed to patch persistentvolumeclaims/{claim} in {NS}"
        )),
        "{run}"
    );
    // The hint asks kubectl about the same user (without `--as` it would answer for the admin: yes).
    assert!(
        run.stderr.contains(&format!(
            "kubectl auth can-i patch persistentvolumeclaims/{claim} -n {NS} --as restricted"
        )),
        "{run}"
    );
    let after = support::kubectl_json(&cluster, &["get", "pvc", "-n", NS, claim]);
    assert_eq!(
        after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"],
        "nothing was changed"
    );
    // Without `impersonate` rights, impersonating is refused by the server, for kubectl and for the plugin.
    let restricted = [
        "--context",
        cluster.restricted_context(),
        "--as",
        "kube-sim-admin",
    ];
    let mut args = restricted.to_vec();
    args.extend(["get", "pvc", "-n", NS]);
    let oracle = kubectl(kc, &[], &args);
    assert_ne!(oracle.code, 0, "{oracle}");
    assert!(oracle.stderr.contains("Forbidden"), "{oracle}");
    let mut args = restricted.to_vec();
    args.extend(["doctor", "-n", NS]);
    let run = plugin(kc, &[], &args);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("cannot impersonate"), "{run}");
    // Groups without a user: refused before anything is sent.
    let run = plugin(
        kc,
        &[],
        &["doctor", "-n", NS, "--as-group", "system:masters"],
    );
    assert_eq!(run.code, 2, "{run}");
}

#[test]
fn in_cluster_configuration_when_no_kubeconfig_exists() {
    if !support::have("kubectl") || !support::have("unshare") {
        return;
    }
    // The real world's kubeconfig says `https://127.0.0.1:PORT` (the knob proxy listens on loopback, as kind and k3d
    // write theirs) and the API server's certificate names `kubernetes`, so this test's `kubernetes` → 127.0.0.1 and
    // its tunnels to 127.0.0.1:PORT reach the real API server.
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let kc = kubeconfig(&cluster);
    // What a pod's `kube-api-access-*` volume holds: a service account's token from the TokenRequest API (the kubelet
    // asks for it, kubernetes pkg/kubelet/token/token_manager.go), `ca.crt` from the `kube-root-ca.crt` ConfigMap that
    // the controller-manager publishes in every namespace (pkg/controller/certificates/rootcacertpublisher), and the
    // pod's namespace. The account may read (ClusterRole `view`), as a read-only doctor's would.
    support::kubectl(
        &cluster,
        &["create", "serviceaccount", "prom-doctor", "-n", NS],
    );
    support::kubectl(
        &cluster,
        &[
            "create",
            "clusterrolebinding",
            "prom-doctor-view",
            "--clusterrole=view",
            &format!("--serviceaccount={NS}:prom-doctor"),
        ],
    );
    let token = support::kubectl(&cluster, &["create", "token", "prom-doctor", "-n", NS]);
    let root_ca = support::wait_until(
        "kube-root-ca.crt published in the namespace",
        Duration::from_secs(60),
        || {
            let cm = support::kubectl_json(&cluster, &["get", "configmap", "-n", NS]);
            support::items(&cm)
                .iter()
                .find(|c| support::name(c) == "kube-root-ca.crt")
                .and_then(|c| c["data"]["ca.crt"].as_str().map(String::from))
        },
    );
    assert_eq!(
        root_ca.trim().as_bytes(),
        String::from_utf8_lossy(&ca_pem(&kc)).trim().as_bytes(),
        "the published CA is the cluster's"
    );
    let sa = tempfile::tempdir().unwrap();
    std::fs::write(sa.path().join("token"), token.trim()).unwrap();
    std::fs::write(sa.path().join("ca.crt"), root_ca).unwrap();
    std::fs::write(sa.path().join("namespace"), NS).unwrap();
    let port = port(&kc).to_string();
    let env = [
        ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
        ("KUBERNETES_SERVICE_PORT", port.as_str()),
    ];
    for (program, args) in [
        (kubectl_path(), vec!["get", "pvc"]),
        (
            kubectl_path(),
            vec![
                "auth",
                "whoami",
                "-o",
                "jsonpath={.status.userInfo.username}",
            ],
        ),
        (bin(), vec!["doctor", "-o", "json"]),
    ] {
        let (mut cmd, _scratch) = namespaced(&program, Some(sa.path()), &args);
        let home = tempfile::tempdir().unwrap();
        prepare(&mut cmd, home.path(), None, &env);
        let run = output(cmd);
        if args[0] == "auth" {
            // The real API server authenticated the service account's token (SelfSubjectReview).
            assert_eq!(run.code, 0, "kubectl in-cluster: {run}");
            assert_eq!(
                run.stdout,
                format!("system:serviceaccount:{NS}:prom-doctor")
            );
        } else if program == kubectl_path() {
            assert_eq!(run.code, 0, "kubectl in-cluster: {run}");
            assert!(
                run.stdout.contains("prometheus-data"),
                "the namespace file's namespace: {run}"
            );
        } else {
            assert_doctor_worked(&run);
            // The plugin spoke as the service account: `view` does not grant cluster-scoped PersistentVolumes
            // (kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, the `view` role), so the
            // real API server's 403 for that read names the account it authenticated
            // (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go, `User %q cannot …`), and doctor
            // reports it as a gap.
            assert!(
                run.stdout.contains(&format!(
                    "User \\\"system:serviceaccount:{NS}:prom-doctor\\\""
                )),
                "doctor's forbidden PV read names the service account: {run}"
            );
        }
    }
    // Neither a kubeconfig nor a service account: one sentence, exit 3.
    let run = plugin(None, &[], &doctor());
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("no kubeconfig found"), "{run}");
}

/// A kubeconfig whose user runs `script` as its exec credential plugin.
fn exec_kubeconfig(cluster: &Cluster, dir: &Path, script: &str, interactive: &str) -> PathBuf {
    let plugin_path = dir.join("plugin.sh");
    std::fs::write(&plugin_path, format!("#!/bin/sh\n{script}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plugin_path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut kc = kubeconfig(cluster);
    kc["users"] = json!([{"name": "exec-user", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": plugin_path,
        "interactiveMode": interactive,
    }}}]);
    kc["contexts"] =
        json!([{"name": "kube-sim", "context": {"cluster": "kube-sim", "user": "exec-user"}}]);
    write(dir, "exec", &kc)
}

#[test]
fn a_failing_credential_plugin_never_prints_its_stdout() {
    if !support::have("kubectl") {
        return;
    }
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = "SECRET-TOKEN-4f9a";
    let path = exec_kubeconfig(
        &cluster,
        dir.path(),
        &format!(
            "echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{secret}\"}}}}'\necho 'login expired, run sso-login' >&2\nexit 3"
        ),
        "Never",
    );
    let oracle = kubectl(Some(&path), &[], &["get", "ns"]);
    assert!(
        !oracle.stderr.contains(secret) && !oracle.stdout.contains(secret),
        "{oracle}"
    );
    assert!(
        oracle.stderr.contains("failed with exit code 3"),
        "{oracle}"
    );
    let run = plugin(Some(&path), &[], &doctor());
    assert_eq!(run.code, 3, "{run}");
    assert!(
        !run.stderr.contains(secret) && !run.stdout.contains(secret),
        "the token leaked: {run}"
    );
    assert!(
        run.stderr.contains("failed with exit code 3"),
        "kubectl's sentence: {run}"
    );
    assert!(
        run.stderr.contains("login expired, run sso-login"),
        "the plugin's own message: {run}"
    );
}

#[test]
fn a_credential_plugin_failing_on_refresh_mid_run_never_prints_its_stdout() {
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let secret = "SECRET-TOKEN-b81e";
    let token = admin_token(&kubeconfig(&cluster));
    let ran = dir.path().join("ran");
    // First run: a valid credential that expires in 30 s, which kube refreshes before the first request (it renews a
    // minute early); the refresh fails, printing a token on stdout as a broken plugin might.
    let path = exec_kubeconfig(
        &cluster,
        dir.path(),
        &format!(
            "if [ -f '{ran}' ]; then echo '{{\"status\":{{\"token\":\"{secret}\"}}}}'; echo 'refresh denied' >&2; exit 4; fi\n\
             touch '{ran}'\n\
             echo \"{{\\\"apiVersion\\\":\\\"client.authentication.k8s.io/v1\\\",\\\"kind\\\":\\\"ExecCredential\\\",\\\"status\\\":{{\\\"token\\\":\\\"{token}\\\",\\\"expirationTimestamp\\\":\\\"$(date -u -d '+30 seconds' +%Y-%m-%dT%H:%M:%SZ)\\\"}}}}\"",
            ran = ran.display()
        ),
        "Never",
    );
    let run = plugin(Some(&path), &[], &doctor());
    assert!(ran.exists(), "the plugin ran: {run}");
    assert!(
        !run.stderr.contains(secret) && !run.stdout.contains(secret),
        "the token leaked: {run}"
    );
    assert!(run.stderr.contains("failed with exit code 4"), "{run}");
    assert!(run.stderr.contains("refresh denied"), "{run}");
}

#[test]
fn a_credential_plugin_hanging_on_refresh_mid_run_is_bounded_by_request_timeout() {
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token = admin_token(&kubeconfig(&cluster));
    let ran = dir.path().join("ran");
    // First run: a credential expiring in 30 s (kube refreshes it before the first request); the refresh hangs.
    let path = exec_kubeconfig(
        &cluster,
        dir.path(),
        &format!(
            "if [ -f '{ran}' ]; then exec sleep 60; fi\n\
             touch '{ran}'\n\
             echo \"{{\\\"apiVersion\\\":\\\"client.authentication.k8s.io/v1\\\",\\\"kind\\\":\\\"ExecCredential\\\",\\\"status\\\":{{\\\"token\\\":\\\"{token}\\\",\\\"expirationTimestamp\\\":\\\"$(date -u -d '+30 seconds' +%Y-%m-%dT%H:%M:%SZ)\\\"}}}}\"",
            ran = ran.display()
        ),
        "Never",
    );
    let (mut child, _, err) = spawn_to_files(
        &path,
        &["--request-timeout", "2s", "doctor", "-n", NS, "-o", "json"],
        dir.path(),
    );
    let (code, took) = wait_timed(&mut child, Duration::from_secs(90));
    let stderr = std::fs::read_to_string(err).unwrap();
    assert!(ran.exists(), "the plugin ran: {stderr}");
    assert_ne!(code, 0, "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}: {stderr}");
}

#[test]
fn a_kubeconfig_yaml_error_does_not_print_the_line_with_the_token() {
    if !support::have("kubectl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let secret = "SECRET-TOKEN-77c1";
    let path = dir.path().join("broken");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: {secret}: oops\n"
        ),
    )
    .unwrap();
    let oracle = kubectl(Some(&path), &[], &["get", "ns"]);
    assert!(
        oracle.stderr.contains("error loading config file"),
        "{oracle}"
    );
    assert!(!oracle.stderr.contains(secret), "{oracle}");
    let run = plugin(Some(&path), &[], &doctor());
    assert_eq!(run.code, 3, "{run}");
    assert!(!run.stderr.contains(secret), "the token leaked: {run}");
    assert!(
        run.stderr.contains(&format!(
            "error loading config file \"{}\": yaml: line 6",
            path.display()
        )),
        "kubectl's sentence: {run}"
    );
    assert!(
        oracle.stderr.contains("yaml: line 6"),
        "the same line as kubectl: {oracle}"
    );
}

/// Spawn the plugin with stdout/stderr to files (a credential plugin left running must not hold our pipes open), and
/// return the child and the files.
fn spawn_to_files(
    kubeconfig: &Path,
    args: &[&str],
    dir: &Path,
) -> (std::process::Child, PathBuf, PathBuf) {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    // HOME inside the test's own scratch directory, removed with it.
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    prepare(&mut cmd, &home, Some(kubeconfig), &[]);
    (cmd.spawn().unwrap(), out, err)
}

fn wait_timed(child: &mut std::process::Child, limit: Duration) -> (i32, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_hanging_credential_plugin_is_bounded_everywhere_and_ctrl_c_works() {
    let Some(cluster) = start_real(SCENARIO) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = exec_kubeconfig(&cluster, dir.path(), "exec sleep 20", "Never");

    // Completion promises to give up after 1.5 s.
    let (mut child, out, _) = spawn_to_files(&path, &["__complete", "doctor", ""], dir.path());
    let started = Instant::now();
    let (code, took) = wait_timed(&mut child, Duration::from_secs(15));
    assert_eq!(code, 0);
    assert!(
        took < Duration::from_millis(3000),
        "completion took {took:?}"
    );
    let answer = std::fs::read_to_string(out).unwrap();
    assert!(
        answer.trim_end().ends_with(":1"),
        "cobra's error directive: {answer}"
    );
    let _ = started;

    // A verb with --request-timeout: bounded by it, with a sentence.
    let (mut child, _, err) = spawn_to_files(
        &path,
        &["--request-timeout", "2s", "doctor", "-n", NS],
        dir.path(),
    );
    let (code, took) = wait_timed(&mut child, Duration::from_secs(15));
    assert_eq!(code, 3);
    assert!(took < Duration::from_millis(4500), "took {took:?}");
    let stderr = std::fs::read_to_string(err).unwrap();
    assert!(stderr.contains("did not finish within 2s"), "{stderr}");

    // Ctrl-C while waiting on the plugin stops the run (exit 130), at once.
    let (mut child, _, _) = spawn_to_files(&path, &["doctor", "-n", NS], dir.path());
    std::thread::sleep(Duration::from_millis(1000));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let (code, took) = wait_timed(&mut child, Duration::from_secs(15));
    assert_eq!(code, 130);
    assert!(took < Duration::from_secs(3), "took {took:?} after SIGINT");
}

#[test]
fn request_timeout_bounds_a_server_that_never_answers() {
    let dir = tempfile::tempdir().unwrap();
    let silent = proxy::Silent::start();
    let kc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": format!("https://127.0.0.1:{}", silent.port), "insecure-skip-tls-verify": true}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    });
    let path = write(dir.path(), "silent", &kc);
    let (mut child, _, err) = spawn_to_files(
        &path,
        &["--request-timeout", "3s", "doctor", "-n", NS],
        dir.path(),
    );
    let (code, took) = wait_timed(&mut child, Duration::from_secs(60));
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("the API server did not answer in time (timed out"),
        "{stderr}"
    );
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(8),
        "took {took:?}, not about 3 s"
    );
}
