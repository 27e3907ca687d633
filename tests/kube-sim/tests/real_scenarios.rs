//! Scenarios on the real control plane (issue 16): `kube-sim up --control-plane real --scenario NAME` applies the
//! simulated world's scenario files through the real API server (`src/node/scenario.rs`).
//! - `resize-offline`: the Deployment runs on its claim of the scenario's `offline` class; expanding it while the pod
//!   runs meets what a real offline-only CSI driver does — ControllerExpandVolume refused (FailedPrecondition), the
//!   claim keeps its capacity with `ControllerResizeError` — until no pod uses it (scaled to 0): then the controller
//!   expands, and the node grows the filesystem when the next pod mounts it;
//! - `kps-healthy`: the operator's real CRDs (from the built operator module) replace the scenario's hand-written
//!   one, so the `Prometheus` resource is validated against the real schema.
//!
//! One test, the two worlds one after the other (about 640 MB each). Built only with `--features real-world`.
mod real_support;

use kube_sim::cluster::Cluster;
use real_support::{get_json, ok, patch_claim_size, wait_for, world_kubectl};
use std::time::Duration;

#[test]
fn scenarios_run_on_the_real_control_plane() {
    let k = world_kubectl();
    {
        let Some(cluster) = Cluster::start_real_scenario_or_skip("resize-offline") else {
            return;
        };
        let kc = cluster.kubeconfig_path().to_path_buf();
        let pvc = || get_json(&k, &kc, &["pvc", "prometheus-data", "-n", "monitoring"]);
        // Applied and settled before the ready line, as in the simulated world: Running and Ready (a tool run right
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
        let prom = get_json(
            &k,
            &kc,
            &[
                "prometheus",
                "kps-kube-prometheus-stack-prometheus",
                "-n",
                "monitoring",
            ],
        );
        assert_eq!(prom["spec"]["replicas"], 2);
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
