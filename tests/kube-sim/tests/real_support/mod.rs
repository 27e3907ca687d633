//! Helpers of the real-control-plane tests (`real_*.rs`): the world's kubectl, running it, the plugin binary, waiting.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The kubectl of the built release (the machine's is 1.32, outside the ±1 skew of a 1.36 server).
pub fn world_kubectl() -> PathBuf {
    kube_sim::control_plane::world_bin()
        .map(|d| d.join("kubectl"))
        .unwrap_or_else(|_| PathBuf::from("kubectl"))
}

pub fn run(kubectl: &Path, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(kubectl);
    cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
    cmd.stdin(if stdin.is_some() {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::null()
    });
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("run kubectl");
    if let Some(text) = stdin
        && let Some(mut w) = child.stdin.take()
    {
        w.write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("kubectl output")
}

/// Runs kubectl and returns stdout, failing the test with its stderr when it fails.
pub fn ok(kubectl: &Path, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = run(kubectl, kubeconfig, args, stdin);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kubectl get … -o json` parsed.
pub fn get_json(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["get"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["-o", "json"]);
    serde_json::from_str(&ok(kubectl, kubeconfig, &full, None)).expect("kubectl JSON")
}

/// The plugin binary built next to kube-sim (same target directory), or KUBECTL_PROM_BIN.
pub fn plugin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUBECTL_PROM_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    Some(dir.join("kubectl-prom")).filter(|p| p.exists())
}

/// Polls `probe` every 500 ms until it returns Some or `timeout` passes; the last value either way.
pub fn wait_for<T>(timeout: Duration, mut probe: impl FnMut() -> (bool, T)) -> (bool, T) {
    let deadline = Instant::now() + timeout;
    loop {
        let (done, v) = probe();
        if done || Instant::now() > deadline {
            return (done, v);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `kubectl patch pvc NAME -n NS` to request `size`.
pub fn patch_claim_size(kubectl: &Path, kubeconfig: &Path, ns: &str, name: &str, size: &str) {
    ok(
        kubectl,
        kubeconfig,
        &[
            "patch",
            "pvc",
            name,
            "-n",
            ns,
            "-p",
            &format!(r#"{{"spec":{{"resources":{{"requests":{{"storage":"{size}"}}}}}}}}"#),
        ],
        None,
    );
}

/// Runs the plugin binary `bin` with `args` against `kc` (no terminal, no colour): exit code, stdout, stderr.
pub fn kubectl_prom(bin: &Path, kc: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .env("KUBECONFIG", kc)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run kubectl-prom");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
