//! Scenarios on the real control plane (issue 16): `kube-sim up --control-plane real --scenario NAME` applies the
//! scenario's objects (`bootstrap::scenario_objects`, the same files as the simulated world) with the world's real
//! kubectl (`apply --server-side`), so the real API server validates, defaults, prunes and admits them. The
//! prometheus-operator's CRDs come from the built operator module's own `example/prometheus-operator-crd` (found with
//! `go list -m` in tools/world/operator, or `KUBE_SIM_OPERATOR_CRDS`), never from the scenario: a scenario's
//! hand-written `monitoring.coreos.com` CRD is replaced by the real schema. Then it waits (90 s at most, as the
//! simulated world does) until every pod has settled (ready, crash-looping, finished or stuck unready).
use crate::real_api::ApiClient;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// The scenario's objects to apply and whether they need the operator's CRDs (pure).
pub fn split(objects: Vec<Value>) -> (Vec<Value>, bool) {
    let is_operator_crd = |o: &Value| {
        o["kind"] == "CustomResourceDefinition"
            && o["spec"]["group"].as_str() == Some("monitoring.coreos.com")
    };
    let needs_crds = objects.iter().any(|o| {
        is_operator_crd(o)
            || o["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("monitoring.coreos.com/"))
    });
    (
        objects
            .into_iter()
            .filter(|o| !is_operator_crd(o))
            .collect(),
        needs_crds,
    )
}

/// Where the operator's CRDs are: `KUBE_SIM_OPERATOR_CRDS`, else the module directory `go list -m` reports for the
/// pinned operator in tools/world/operator.
pub fn operator_crds() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("KUBE_SIM_OPERATOR_CRDS") {
        return Ok(PathBuf::from(d));
    }
    let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/world/operator");
    let go = ["go", "/usr/local/go/bin/go"]
        .into_iter()
        .find(|g| {
            std::process::Command::new(g)
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .ok_or(
            "the operator's CRDs: no `go` to find the operator module (set KUBE_SIM_OPERATOR_CRDS)",
        )?;
    let out = std::process::Command::new(go)
        .args([
            "list",
            "-m",
            "-f",
            "{{.Dir}}",
            "github.com/prometheus-operator/prometheus-operator",
        ])
        .current_dir(&wrapper)
        .env("GOFLAGS", "-mod=mod")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running go list in {}: {e}", wrapper.display()))?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        .join("example/prometheus-operator-crd");
    if !out.status.success() || !dir.is_dir() {
        return Err(format!(
            "the operator's CRDs are not in the module cache ({}); run tools/world/build.sh",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(dir)
}

async fn kubectl(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> Result<(), String> {
    let out = tokio::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("running {}: {e}", kubectl.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Applies scenario `name` to the world whose built binaries are in `bin`, then waits for its pods to start.
pub async fn apply(
    name: &str,
    bin: &Path,
    dir: &Path,
    kubeconfig: &Path,
    admin: &ApiClient,
) -> Result<(), String> {
    let (objects, needs_crds) = split(crate::bootstrap::scenario_objects(name)?);
    let k = bin.join("kubectl");
    // The simulated world starts with `monitoring`; scenarios rely on it.
    let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}});
    let r = admin.post_json("/api/v1/namespaces", &ns).await?;
    if !r.ok() && r.status != 409 {
        return Err(format!(
            "creating namespace monitoring: {} {}",
            r.status,
            r.message()
        ));
    }
    if needs_crds {
        let crds = operator_crds()?;
        let crds = crds.display().to_string();
        // Too big for client-side apply's annotation (the operator's docs say --server-side).
        kubectl(&k, kubeconfig, &["apply", "--server-side", "-f", &crds]).await?;
        kubectl(
            &k,
            kubeconfig,
            &[
                "wait",
                "--for=condition=Established",
                "crd",
                "--all",
                "--timeout=60s",
            ],
        )
        .await?;
    }
    if objects.is_empty() {
        return Ok(());
    }
    let file = dir.join(format!("scenario-{name}.json"));
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
    std::fs::write(&file, serde_json::to_vec(&list).unwrap_or_default())
        .map_err(|e| format!("writing {}: {e}", file.display()))?;
    kubectl(
        &k,
        kubeconfig,
        &[
            "apply",
            "--server-side",
            "--field-manager=kube-sim-scenario",
            "-f",
            &file.display().to_string(),
        ],
    )
    .await
    .map_err(|e| format!("scenario `{name}`: {e}"))?;
    wait_started(admin, Duration::from_secs(90)).await;
    Ok(())
}

/// Until every pod has settled as the simulated world's `up` waits for it (`kubelet::pod::pod_settled`: ready,
/// crash-looping, finished, or unready for over 10 s), or `timeout`.
async fn wait_started(admin: &ApiClient, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    // Controllers create pods a moment after their workloads.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while tokio::time::Instant::now() < deadline {
        if let Ok(r) = admin.get("/api/v1/pods").await
            && r.ok()
            && r.json()["items"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|p| crate::kubelet::pod::pod_settled(p, crate::clock::now_unix()))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_operator_crds_replace_a_scenarios_own() {
        let objects = vec![
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "spec": {"group": "monitoring.coreos.com"}}),
            json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus"}),
            json!({"apiVersion": "v1", "kind": "ConfigMap"}),
        ];
        let (left, needs) = split(objects);
        assert!(needs);
        assert_eq!(left.len(), 2);
        assert!(left.iter().all(|o| o["kind"] != "CustomResourceDefinition"));
        let (left, needs) = split(vec![json!({"apiVersion": "v1", "kind": "ConfigMap"})]);
        assert!(!needs);
        assert_eq!(left.len(), 1);
    }
}
