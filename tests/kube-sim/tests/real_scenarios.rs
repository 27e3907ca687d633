//! Scenarios on the real control plane (issue 16): `kube-sim up --scenario NAME` applies the scenario files through
//! the real API server (`src/node/scenario.rs`).
//! - `resize-offline`: the Deployment runs on its claim of the scenario's `offline` class; expanding it while the pod
//!   runs meets what a real offline-only CSI driver does — ControllerExpandVolume refused (FailedPrecondition), the
//!   claim keeps its capacity with `ControllerResizeError` — until no pod uses it (scaled to 0): then the controller
//!   expands, and the node grows the filesystem when the next pod mounts it;
//! - `kps-healthy`: the operator's real CRDs (from the built operator module) replace the scenario's hand-written
//!   one, so the `Prometheus` resource is validated against the real schema; the real operator (0.85.0, a pod with its
//!   ServiceAccount and ClusterRole) reconciles it into the StatefulSet, its config Secret, and Ready pods.
//!
//! `operator_scenarios_…`: the other three operator scenarios reach their intended state with the real operator:
//! `kps-missing-volume` (the API server refuses the generated StatefulSet; the operator says so in `Reconciled`),
//! `kps-permission-denied` (pods crash on `queries.active: permission denied`), `robust-operator-offline` (one Ready
//! pod on the `offline` class).
//!
//! Two tests (they run side by side), their worlds one after the other (about 640 MB each, ~1 GB with the operator
//! and two Prometheus pods). Needs the built world.
mod real_support;

use kube_sim::cluster::Cluster;
use real_support::{get_json, ok, patch_claim_size, run, wait_for, world_kubectl};
use std::path::Path;
use std::time::Duration;

const KPS: &str = "kps-kube-prometheus-stack-prometheus";
const KPS_STS: &str = "prometheus-kps-kube-prometheus-stack-prometheus";

/// The condition `type` of an object's status, if any.
fn condition<'a>(obj: &'a serde_json::Value, type_: &str) -> Option<&'a serde_json::Value> {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_)
}

/// The generated pods of the kube-prometheus-stack `Prometheus` (the operator's label).
fn kps_pods(k: &Path, kc: &Path) -> serde_json::Value {
    get_json(
        k,
        kc,
        &[
            "pods",
            "-n",
            "monitoring",
            "-l",
            &format!("operator.prometheus.io/name={KPS}"),
        ],
    )
}

fn ready(pod: &serde_json::Value) -> bool {
    condition(pod, "Ready").is_some_and(|c| c["status"] == "True")
}

/// The operator Deployment's pod runs the real operator: Ready, and its log is the operator's.
fn assert_real_operator(k: &Path, kc: &Path) {
    let pods = get_json(
        k,
        kc,
        &[
            "pods",
            "-n",
            "monitoring",
            "-l",
            "app=kube-prometheus-stack-operator",
        ],
    );
    let pod = &pods["items"][0];
    assert!(ready(pod), "the operator is not Ready: {pods}");
    assert_eq!(
        pod["spec"]["serviceAccountName"], "kps-kube-prometheus-stack-operator",
        "{pod}"
    );
    let log = ok(
        k,
        kc,
        &[
            "logs",
            "-n",
            "monitoring",
            pod["metadata"]["name"].as_str().unwrap_or_default(),
        ],
        None,
    );
    assert!(
        log.contains("Starting Prometheus Operator") && log.contains("sync prometheus"),
        "not the real operator's log:\n{log}"
    );
    assert!(
        !log.contains("forbidden"),
        "the operator lacks RBAC:\n{log}"
    );
}

#[test]
fn scenarios_run_on_the_real_control_plane() {
    let k = world_kubectl();
    {
        let Some(cluster) = Cluster::start_real_scenario_or_skip("resize-offline") else {
            return;
        };
        let kc = cluster.kubeconfig_path().to_path_buf();
        let pvc = || get_json(&k, &kc, &["pvc", "prometheus-data", "-n", "monitoring"]);
        // Applied and settled before the ready line: Running and Ready (a tool run right
        // after the ready line must not meet the startup's failing readiness probe).
        let pods = get_json(
            &k,
            &kc,
            &["pods", "-n", "monitoring", "-l", "app=prometheus"],
        );
        assert_eq!(pods["items"][0]["status"]["phase"], "Running", "{pods}");
        let ready = pods["items"][0]["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(ready, "not Ready at the ready line: {pods}");
        let claim = pvc();
        assert_eq!(claim["status"]["phase"], "Bound", "{claim}");
        assert_eq!(claim["spec"]["storageClassName"], "offline");

        patch_claim_size(&k, &kc, "monitoring", "prometheus-data", "96Mi");
        let (refused, claim) = wait_for(Duration::from_secs(30), || {
            let c = pvc();
            let error = c["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| {
                    c["type"] == "ControllerResizeError"
                        && c["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("FailedPrecondition"))
                });
            (error, c)
        });
        assert!(refused, "no in-use refusal: {claim}");
        assert_eq!(claim["status"]["capacity"]["storage"], "64Mi");
        assert_eq!(
            claim["status"]["allocatedResourceStatuses"]["storage"], "ControllerResizeInProgress",
            "{claim}"
        );

        // No pod, no publication: the controller expands; the next pod's mount grows the filesystem.
        ok(
            &k,
            &kc,
            &[
                "scale",
                "deploy/prometheus",
                "-n",
                "monitoring",
                "--replicas=0",
            ],
            None,
        );
        let (pending, claim) = wait_for(Duration::from_secs(60), || {
            let c = pvc();
            (
                c["status"]["allocatedResourceStatuses"]["storage"] == "NodeResizePending",
                c,
            )
        });
        assert!(pending, "not handed to the node: {claim}");
        assert_eq!(claim["status"]["capacity"]["storage"], "64Mi");
        ok(
            &k,
            &kc,
            &[
                "scale",
                "deploy/prometheus",
                "-n",
                "monitoring",
                "--replicas=1",
            ],
            None,
        );
        let (grown, claim) = wait_for(Duration::from_secs(90), || {
            let c = pvc();
            (c["status"]["capacity"]["storage"] == "96Mi", c)
        });
        assert!(
            grown,
            "the filesystem did not grow on the new mount: {claim}"
        );
        assert!(
            claim["status"]["conditions"]
                .as_array()
                .is_none_or(|c| c.is_empty()),
            "{claim}"
        );
    }
    {
        let Some(cluster) = Cluster::start_real_scenario_or_skip("kps-healthy") else {
            return;
        };
        let kc = cluster.kubeconfig_path().to_path_buf();
        let crd = get_json(&k, &kc, &["crd", "prometheuses.monitoring.coreos.com"]);
        // The real schema (the scenario's own preserves unknown fields and declares no properties).
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert!(
            spec["properties"]["storage"].is_object() && spec["properties"]["replicas"].is_object(),
            "not the operator's CRD"
        );
        assert!(
            crd["metadata"]["annotations"]["controller-gen.kubebuilder.io/version"].is_string(),
            "not the operator's CRD"
        );
        let prom = get_json(&k, &kc, &["prometheus", KPS, "-n", "monitoring"]);
        assert_eq!(prom["spec"]["replicas"], 2);

        // The real operator reconciled it: the StatefulSet is the resource's (controller owner), the generated
        // config Secret holds the gzipped configuration, and both pods become Ready.
        assert_real_operator(&k, &kc);
        assert_eq!(
            condition(&prom, "Reconciled").map(|c| &c["status"]),
            Some(&serde_json::json!("True")),
            "{prom}"
        );
        let sts = get_json(&k, &kc, &["statefulset", KPS_STS, "-n", "monitoring"]);
        let owner = &sts["metadata"]["ownerReferences"][0];
        assert_eq!(owner["kind"], "Prometheus", "{sts}");
        assert_eq!(owner["name"], KPS);
        assert_eq!(owner["uid"], prom["metadata"]["uid"]);
        assert_eq!(owner["controller"], true);
        let containers: Vec<&str> = sts["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(containers, ["prometheus", "config-reloader"], "{sts}");
        let secret = get_json(&k, &kc, &["secret", KPS_STS, "-n", "monitoring"]);
        assert!(
            secret["data"]["prometheus.yaml.gz"].is_string(),
            "no generated configuration: {secret}"
        );
        let (all_ready, pods) = wait_for(Duration::from_secs(90), || {
            let pods = kps_pods(&k, &kc);
            let items = pods["items"].as_array().cloned().unwrap_or_default();
            (items.len() == 2 && items.iter().all(ready), pods)
        });
        assert!(all_ready, "the generated pods are not Ready: {pods}");
        // The other CRDs of the operator's set are there too.
        for c in [
            "servicemonitors",
            "podmonitors",
            "alertmanagers",
            "prometheusrules",
        ] {
            ok(
                &k,
                &kc,
                &["get", "crd", &format!("{c}.monitoring.coreos.com")],
                None,
            );
        }
    }
}

#[test]
fn operator_scenarios_reach_their_state_with_the_real_operator() {
    let k = world_kubectl();
    {
        let Some(cluster) = Cluster::start_real_scenario_or_skip("kps-missing-volume") else {
            return;
        };
        let kc = cluster.kubeconfig_path().to_path_buf();
        assert_real_operator(&k, &kc);
        // Incident 5a on a real API server: the StatefulSet the operator generates is invalid (the init container
        // mounts a volume the pod does not have), so it is refused at creation and never exists; the operator
        // reports it on the resource. (The deleted simulated operator created it and failed pod creation instead.)
        let prom = get_json(&k, &kc, &["prometheus", KPS, "-n", "monitoring"]);
        let reconciled = condition(&prom, "Reconciled").cloned().unwrap_or_default();
        assert_eq!(reconciled["status"], "False", "{prom}");
        assert!(
            reconciled["message"]
                .as_str()
                .is_some_and(|m| m.contains("volumeMounts[0].name: Not found: \"prometheus-db\"")),
            "{prom}"
        );
        let out = run(
            &k,
            &kc,
            &["get", "statefulset", KPS_STS, "-n", "monitoring"],
            None,
        );
        assert!(!out.status.success(), "the StatefulSet exists");
        assert_eq!(kps_pods(&k, &kc)["items"], serde_json::json!([]));
    }
    {
        let Some(cluster) = Cluster::start_real_scenario_or_skip("kps-permission-denied") else {
            return;
        };
        let kc = cluster.kubeconfig_path().to_path_buf();
        assert_real_operator(&k, &kc);
        let (crashed, pods) = wait_for(Duration::from_secs(60), || {
            let pods = kps_pods(&k, &kc);
            let items = pods["items"].as_array().cloned().unwrap_or_default();
            let crashed = items.len() == 2
                && items.iter().all(|p| {
                    !ready(p)
                        && p["status"]["containerStatuses"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|c| {
                                c["name"] == "prometheus" && c["restartCount"].as_i64() > Some(0)
                            })
                });
            (crashed, pods)
        });
        assert!(crashed, "not crash-looping: {pods}");
        let name = pods["items"][0]["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let log = ok(
            &k,
            &kc,
            &[
                "logs",
                "-n",
                "monitoring",
                &name,
                "-c",
                "prometheus",
                "--previous",
            ],
            None,
        );
        assert!(
            log.contains("queries.active: permission denied"),
            "not the permission error:\n{log}"
        );
    }
    {
        let Some(cluster) = Cluster::start_real_scenario_or_skip("robust-operator-offline") else {
            return;
        };
        let kc = cluster.kubeconfig_path().to_path_buf();
        assert_real_operator(&k, &kc);
        let (one_ready, pods) = wait_for(Duration::from_secs(90), || {
            let pods = kps_pods(&k, &kc);
            let items = pods["items"].as_array().cloned().unwrap_or_default();
            (items.len() == 1 && items.iter().all(ready), pods)
        });
        assert!(one_ready, "{pods}");
        let claims = get_json(&k, &kc, &["pvc", "-n", "monitoring"]);
        assert_eq!(
            claims["items"][0]["spec"]["storageClassName"], "offline",
            "{claims}"
        );
        assert_eq!(claims["items"][0]["status"]["phase"], "Bound", "{claims}");
    }
}
