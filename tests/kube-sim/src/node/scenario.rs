//! Scenarios: `kube-sim up --scenario NAME` reads `scenarios/NAME.yaml` (`scenario_objects`, its `SimScenario`
//! header document left out) and applies the objects with the world's real
//! kubectl (`apply --server-side`), so the real API server validates, defaults, prunes and admits them. The
//! prometheus-operator's CRDs come from the built operator module's own `example/prometheus-operator-crd` (found with
//! `go list -m` in tools/world/operator, or `KUBE_SIM_OPERATOR_CRDS`), never from the scenario: a scenario's
//! hand-written `monitoring.coreos.com` CRD is replaced by the real schema. The operator scenarios carry the
//! operator's Deployment, ServiceAccount and ClusterRole(Binding): the node runs the built operator as that pod
//! (`kubelet::image`), and it reconciles each `Prometheus` into its StatefulSet. Then it waits (90 s at most) until the operator has reconciled every `Prometheus` and the StatefulSet controller has acted
//! on what it generated, and then until every pod has settled (ready, crash-looping, finished or stuck unready).
use crate::api_client::ApiClient;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Where scenario files live (the crate's `scenarios/` directory, overridable with `KUBE_SIM_SCENARIOS`).
/// Falls back to `tests/kube-sim/scenarios` under the current directory when the build's own source tree is gone
/// (a binary built from another checkout into a shared target directory).
pub fn scenarios_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KUBE_SIM_SCENARIOS") {
        return PathBuf::from(d);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    if built.is_dir() {
        return built;
    }
    std::env::current_dir()
        .map(|d| d.join("tests/kube-sim/scenarios"))
        .unwrap_or(built)
}

/// Parse a multi-document YAML file into objects (empty documents skipped).
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut out = vec![];
    // serde-saphyr's default budget (1,024 documents, 250,000 nodes: a guard against separator storms and huge
    // untrusted input) stops the benchmark's scenario (benches/perf.sh: 5,000 unrelated pods and their events). A
    // scenario is our own file, so no budget applies.
    let mut options = serde_saphyr::Options::default();
    options.budget = None;
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| format!("invalid YAML: {e}"))?;
    for v in docs {
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// The scenario's objects (its `SimScenario` header document removed); `empty` needs no file.
pub fn scenario_objects(name: &str) -> Result<Vec<Value>, String> {
    let path = scenarios_dir().join(format!("{name}.yaml"));
    if !path.exists() && name == "empty" {
        return Ok(vec![]);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("scenario `{name}`: cannot read {}: {e}", path.display()))?;
    Ok(parse_documents(&text)?
        .into_iter()
        .filter(|d| d["kind"] != "SimScenario")
        .collect())
}

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
    let (objects, needs_crds) = split(scenario_objects(name)?);
    let prometheuses = prometheus_resources(&objects);
    let k = bin.join("kubectl");
    // Every world has `monitoring` (as a chart's install namespace); scenarios rely on it.
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    wait_reconciled(admin, &prometheuses, deadline).await;
    wait_started(admin, deadline).await;
    Ok(())
}

/// The (namespace, name) of each `Prometheus` resource among `objects` (pure).
pub fn prometheus_resources(objects: &[Value]) -> Vec<(String, String)> {
    objects
        .iter()
        .filter(|o| {
            o["kind"] == "Prometheus"
                && o["apiVersion"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("monitoring.coreos.com/"))
        })
        .map(|o| {
            (
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string(),
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// Whether the operator is done with `prom` as read back with the StatefulSets it generated (pure): its `Reconciled`
/// condition is there for the current generation (pkg/prometheus/server/operator.go sets it after each sync) and,
/// when True, the StatefulSet controller has observed the current generation of each StatefulSet (it writes
/// `status.observedGeneration` after it created the pods or failed to, so a FailedCreate is visible by then). A
/// `Reconciled=False` (the API server refused what the operator generated) is a settled state too: scenarios show it.
pub fn reconciled(prom: &Value, statefulsets: &[Value]) -> bool {
    let generation = &prom["metadata"]["generation"];
    let condition = prom["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| {
            c["type"] == "Reconciled"
                && (c["observedGeneration"].is_null() || c["observedGeneration"] == *generation)
        });
    match condition {
        None => false,
        Some(c) if c["status"] != "True" => true,
        Some(_) => {
            !statefulsets.is_empty()
                && statefulsets.iter().all(|s| {
                    !s["metadata"]["generation"].is_null()
                        && s["status"]["observedGeneration"] == s["metadata"]["generation"]
                })
        }
    }
}

/// Until the operator has reconciled each of `prometheuses` (`reconciled`), or `deadline` (then the pods' wait
/// decides, and a test reading the result sees what the operator did not do).
async fn wait_reconciled(
    admin: &ApiClient,
    prometheuses: &[(String, String)],
    deadline: tokio::time::Instant,
) {
    for (ns, name) in prometheuses {
        while tokio::time::Instant::now() < deadline {
            let prom = admin
                .get(&format!(
                    "/apis/monitoring.coreos.com/v1/namespaces/{ns}/prometheuses/{name}"
                ))
                .await;
            // The operator labels what it generates with the resource's name (pkg/prometheus/statefulset.go).
            let sets = admin
                .get(&format!(
                    "/apis/apps/v1/namespaces/{ns}/statefulsets?labelSelector=operator.prometheus.io%2Fname%3D{name}"
                ))
                .await;
            if let (Ok(p), Ok(s)) = (prom, sets)
                && p.ok()
                && s.ok()
            {
                let sets = s.json()["items"].as_array().cloned().unwrap_or_default();
                if reconciled(&p.json(), &sets) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Whether a StatefulSet's controller is done creating pods for now (pure): it observed the current generation and
/// either created every replica or holds because one is not Ready — with `OrderedReady` (the default) the real
/// controller creates pod N+1 only once pod N is Ready (pkg/controller/statefulset/stateful_set_control.go), so a
/// Ready pod 0 alone is not the end (F6: chart-sts was reported ready with one pod of two). The unready pod's own
/// settling (`pod_settled`) decides the rest.
pub fn statefulset_settled(sts: &Value) -> bool {
    let want = sts["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = &sts["status"];
    let count = |k: &str| status[k].as_i64().unwrap_or(0);
    status["observedGeneration"] == sts["metadata"]["generation"]
        && (count("replicas") >= want || count("readyReplicas") < count("replicas"))
}

/// Until every StatefulSet has created its pods (`statefulset_settled`) and every pod has settled as the
/// world's `up` waits for it (`kubelet::pod::pod_settled`: ready, crash-looping, finished, or unready past its
/// readiness probe's second try), or `deadline`.
async fn wait_started(admin: &ApiClient, deadline: tokio::time::Instant) {
    // Controllers create pods a moment after their workloads.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let items =
        |r: crate::api_client::Reply| r.json()["items"].as_array().cloned().unwrap_or_default();
    while tokio::time::Instant::now() < deadline {
        if let Ok(sets) = admin.get("/apis/apps/v1/statefulsets").await
            && sets.ok()
            && items(sets).iter().all(statefulset_settled)
            && let Ok(r) = admin.get("/api/v1/pods").await
            && r.ok()
            && items(r)
                .iter()
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

    #[test]
    fn an_ordered_statefulset_settles_once_every_replica_exists_or_one_holds_it() {
        let sts = |replicas: i64, ready: i64| {
            json!({"metadata": {"generation": 1}, "spec": {"replicas": 2},
                   "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": ready}})
        };
        // Pod 0 Ready, pod 1 not created yet: the controller is about to create it.
        assert!(!statefulset_settled(&sts(1, 1)));
        // Pod 0 not Ready: OrderedReady holds; pod 0's own settling decides.
        assert!(statefulset_settled(&sts(1, 0)));
        assert!(statefulset_settled(&sts(2, 1)));
        assert!(!statefulset_settled(
            &json!({"metadata": {"generation": 2}, "spec": {"replicas": 1},
                                             "status": {"observedGeneration": 1, "replicas": 1}})
        ));
    }

    #[test]
    fn a_prometheus_is_reconciled_once_the_operator_and_the_statefulset_controller_acted() {
        let objects = vec![
            json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
                   "metadata": {"name": "k", "namespace": "monitoring"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Prometheus"}}),
        ];
        assert_eq!(
            prometheus_resources(&objects),
            [("monitoring".to_string(), "k".to_string())]
        );
        let prom = |status: &str, observed: i64| {
            json!({"metadata": {"generation": 2}, "status": {"conditions": [
                {"type": "Available", "status": "False"},
                {"type": "Reconciled", "status": status, "observedGeneration": observed}]}})
        };
        let sts = |observed: Value| json!({"metadata": {"generation": 1}, "status": {"observedGeneration": observed}});
        let done = sts(json!(1));
        assert!(reconciled(&prom("True", 2), std::slice::from_ref(&done)));
        // Not for this generation, no StatefulSet yet, or one its controller has not seen yet.
        assert!(!reconciled(&prom("True", 1), std::slice::from_ref(&done)));
        // A refused sync is settled: the scenario shows it.
        assert!(reconciled(&prom("False", 2), &[]));
        assert!(!reconciled(&prom("True", 2), &[]));
        assert!(!reconciled(&prom("True", 2), &[sts(Value::Null)]));
        assert!(!reconciled(
            &json!({"metadata": {"generation": 1}}),
            &[done]
        ));
    }
}
