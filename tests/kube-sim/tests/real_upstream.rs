//! Upstream installs on the real control plane (issue 16), applied as their own documentation says, unmodified:
//! - prometheus-operator's own install, read from the built operator module in the Go module cache (never copied
//!   into the tree): `bundle.yaml` (CRDs, the operator's ClusterRole/Binding, ServiceAccount, Deployment, Service in
//!   `default`) with `kubectl create -f` as Documentation/getting-started/installation.md says (client-side apply
//!   would not do: the CRDs are too big for its last-applied annotation), then
//!   `example/rbac/prometheus/` (the `prometheus` ServiceAccount, ClusterRole/Binding and a 2-replica `Prometheus`)
//!   with `kubectl apply`. The real operator (a pod) reconciles it into `prometheus-prometheus-0/1`, Ready, and
//!   `kubectl-prom doctor` reads it as an operator install.
//!   kube-prometheus itself (its `manifests/`, `prometheus-k8s`) is not reachable here: the Go module proxy answers
//!   403 "This module version is not available" for `github.com/prometheus-operator/kube-prometheus` at any version
//!   (tried 2026-12-05), so the operator's own bundle is the upstream install this world can fetch.
//! - kube-prometheus's shape (`scenarios/kube-prometheus.yaml`, written by us after its `manifests/`): the real
//!   operator runs `prometheus-k8s-0/1` Ready, and doctor and reload read and reload it.
//! - the prometheus-community/prometheus chart's default rendering (`scenarios/chart-sd.yaml`, written by us in the
//!   chart's shape, with the chart's DEFAULT `kubernetes_sd_configs` jobs and its server ClusterRole): Prometheus v3
//!   runs Ready, in-cluster (ServiceAccount token, `kube-root-ca.crt`, `KUBERNETES_SERVICE_HOST`), discovers the node,
//!   the endpoints and the pods from the real API server, and scrapes a Service once it carries the chart's
//!   `prometheus.io/scrape` annotation — read back through pods/proxy (`/api/v1/targets`) with kubectl.
//!
//! Needs the world (tools/world/build.sh) and `cargo build --bin kubectl-prom`.
mod real_support;

use kube_sim::cluster::Cluster;
use real_support::{get_json, kubectl_prom, ok, plugin, run, wait_for, world_kubectl};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The built operator module's directory (the parent of its `example/prometheus-operator-crd`, which kube-sim
/// already finds with `go list -m` for the operator scenarios).
fn operator_module() -> PathBuf {
    let crds = kube_sim::node::scenario::operator_crds().expect("the operator module");
    crds.ancestors()
        .nth(2)
        .expect("module dir above example/prometheus-operator-crd")
        .to_path_buf()
}

fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The StatefulSet is the operator's rendering of the Prometheus resource: its controller owner is that resource
/// (same uid), not something a scenario created.
fn assert_run_by_the_operator(k: &Path, kc: &Path, ns: &str, prometheus: &str, statefulset: &str) {
    let prom = get_json(k, kc, &["prometheus", prometheus, "-n", ns]);
    let sts = get_json(k, kc, &["statefulset", statefulset, "-n", ns]);
    let owner = &sts["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Prometheus", "{sts}");
    assert_eq!(owner["uid"], prom["metadata"]["uid"], "{sts}");
    assert_eq!(owner["controller"], true, "{sts}");
}

/// Prometheus's HTTP API of pod `ns/pod` through the API server's pods/proxy.
fn prom_api(k: &Path, kc: &Path, ns: &str, pod: &str, path: &str) -> Value {
    let raw = ok(
        k,
        kc,
        &[
            "get",
            "--raw",
            &format!("/api/v1/namespaces/{ns}/pods/{pod}:9090/proxy{path}"),
        ],
        None,
    );
    serde_json::from_str(&raw).expect("Prometheus API JSON")
}

#[test]
fn the_operators_own_install_runs_unmodified_with_the_real_operator() {
    let Some(bin) = plugin() else {
        panic!("build the plugin first: cargo build --bin kubectl-prom");
    };
    let Some(cluster) = Cluster::start_or_skip(&kube_sim::Options::default()) else {
        return;
    };
    let k = world_kubectl();
    let kc = cluster.kubeconfig_path().to_path_buf();
    let module = operator_module();
    let bundle = module.join("bundle.yaml");
    let example = module.join("example/rbac/prometheus");

    // The operator's install, as Documentation/getting-started/installation.md runs it: `kubectl create -f`.
    ok(
        &k,
        &kc,
        &["create", "-f", &bundle.display().to_string()],
        None,
    );
    ok(
        &k,
        &kc,
        &[
            "wait",
            "--for=condition=Established",
            "crd",
            "--all",
            "--timeout=60s",
        ],
        None,
    );
    // Then the Prometheus of example/rbac/prometheus (Documentation/platform/rbac.md), as it is.
    ok(
        &k,
        &kc,
        &["apply", "-f", &example.display().to_string()],
        None,
    );

    let (all_ready, pods) = wait_for(Duration::from_secs(120), || {
        let pods = get_json(
            &k,
            &kc,
            &[
                "pods",
                "-n",
                "default",
                "-l",
                "operator.prometheus.io/name=prometheus",
            ],
        );
        let items = pods["items"].as_array().cloned().unwrap_or_default();
        (items.len() == 2 && items.iter().all(ready), pods)
    });
    assert!(all_ready, "prometheus-prometheus-0/1 are not Ready: {pods}");
    let mut names: Vec<&str> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["prometheus-prometheus-0", "prometheus-prometheus-1"]
    );

    // Run by the real operator: its pod is the bundle's Deployment, its log the operator's; the StatefulSet is the
    // Prometheus resource's (controller owner, same uid) and the generated config Secret exists.
    let op = get_json(
        &k,
        &kc,
        &[
            "pods",
            "-n",
            "default",
            "-l",
            "app.kubernetes.io/name=prometheus-operator",
        ],
    );
    let op_pod = &op["items"][0];
    assert!(ready(op_pod), "the operator is not Ready: {op}");
    let log = ok(
        &k,
        &kc,
        &[
            "logs",
            "-n",
            "default",
            op_pod["metadata"]["name"].as_str().unwrap_or_default(),
        ],
        None,
    );
    assert!(
        log.contains("Starting Prometheus Operator") && !log.contains("forbidden"),
        "not the real operator's log, or it lacks RBAC:\n{log}"
    );
    assert_run_by_the_operator(&k, &kc, "default", "prometheus", "prometheus-prometheus");
    let secret = get_json(
        &k,
        &kc,
        &["secret", "prometheus-prometheus", "-n", "default"],
    );
    assert!(
        secret["data"]["prometheus.yaml.gz"].is_string(),
        "no generated configuration: {secret}"
    );

    // doctor finds it as an operator install of 2 pods. The bundle's Prometheus has no spec.storage, so its TSDB is
    // the operator's emptyDir: the one finding, a warning (PROM-211), nothing critical.
    let (code, out, err) = kubectl_prom(&bin, &kc, &["doctor", "-n", "default"]);
    assert_eq!(code, 0, "doctor failed:\n{out}\n{err}");
    assert!(
        out.contains(
            "default/prometheus (operator resource prometheus/prometheus, sts/prometheus-prometheus, 2 pods)"
        ),
        "doctor did not find the operator install:\n{out}\n{err}"
    );
    assert!(
        out.contains("PROM-211") && out.contains("is an emptyDir"),
        "no emptyDir finding:\n{out}"
    );
    assert!(out.contains("0 critical"), "{out}");
}

#[test]
fn the_charts_default_kubernetes_sd_config_runs_and_discovers_in_cluster() {
    let Some(bin) = plugin() else {
        panic!("build the plugin first: cargo build --bin kubectl-prom");
    };
    let Some(cluster) = Cluster::start_or_skip(&kube_sim::Options::scenario("chart-sd")) else {
        return;
    };
    let k = world_kubectl();
    let kc = cluster.kubeconfig_path().to_path_buf();
    let pods = get_json(
        &k,
        &kc,
        &[
            "pods",
            "-n",
            "monitoring",
            "-l",
            "app.kubernetes.io/component=server",
        ],
    );
    let pod = &pods["items"][0];
    assert!(ready(pod), "not Ready at the ready line: {pods}");
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let pod_ip = pod["status"]["podIP"].as_str().unwrap_or_default();

    // v3 (the built Prometheus, compiled with Kubernetes SD), not Debian's 2.42 that has none.
    let build = prom_api(&k, &kc, "monitoring", name, "/api/v1/status/buildinfo");
    assert!(
        build["data"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{build}"
    );

    // Discovery ran in-cluster: the node role found the node by its name (the chart's relabelling puts it into the
    // metrics path), and the pod and endpoints roles found this very pod and Service (kept out by the chart's
    // annotation filters, so they are dropped targets). Not at once: the discovery manager sends target sets at most
    // every 5 s (prometheus discovery/manager.go, `updatert`), so the first ones may come after Ready.
    let (discovered, targets) = wait_for(Duration::from_secs(30), || {
        let t = prom_api(&k, &kc, "monitoring", name, "/api/v1/targets");
        let node = t["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| {
                t["scrapePool"] == "kubernetes-nodes"
                    && t["labels"]["kubernetes_io_hostname"] == "kube-sim-node"
                    && t["scrapeUrl"]
                        .as_str()
                        .is_some_and(|u| u.ends_with("/api/v1/nodes/kube-sim-node/proxy/metrics"))
            });
        let counts = &t["data"]["droppedTargetCounts"];
        let others = ["kubernetes-pods", "kubernetes-service-endpoints"]
            .iter()
            .all(|pool| counts[pool].as_u64() >= Some(1));
        (node && others, t)
    });
    assert!(
        discovered,
        "the node, the pod or the endpoints were not discovered: {targets}"
    );
    let log = ok(
        &k,
        &kc,
        &["logs", "-n", "monitoring", name, "-c", "prometheus-server"],
        None,
    );
    assert!(
        !log.contains("forbidden") && !log.contains("Failed to watch"),
        "discovery was refused:\n{log}"
    );

    // The chart's `kubernetes-apiservers` job keeps the `default/kubernetes` endpoints on port `https`. A real API
    // server maintains them (`--endpoint-reconciler-type=lease`, its default: pkg/controlplane/reconcilers/lease.go);
    // when the world's does, the job must find the API server and scrape its /metrics with the ServiceAccount token
    // (the chart's ClusterRole grants `nonResourceURLs: [/metrics]`).
    let endpoints = run(
        &k,
        &kc,
        &[
            "get",
            "endpointslices",
            "-n",
            "default",
            "-l",
            "kubernetes.io/service-name=kubernetes",
            "-o",
            "json",
        ],
        None,
    );
    let has_endpoints = serde_json::from_slice::<Value>(&endpoints.stdout)
        .ok()
        .is_some_and(|v| {
            v["items"].as_array().is_some_and(|i| {
                i.iter()
                    .any(|s| s["endpoints"].as_array().is_some_and(|e| !e.is_empty()))
            })
        });
    if has_endpoints {
        let (up, targets) = wait_for(Duration::from_secs(100), || {
            let t = prom_api(&k, &kc, "monitoring", name, "/api/v1/targets?state=active");
            let up = t["data"]["activeTargets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["scrapePool"] == "kubernetes-apiservers" && t["health"] == "up");
            (up, t)
        });
        assert!(
            up,
            "the API server was not scraped by the chart's job: {targets}"
        );
    }

    // The chart's annotation contract: annotate the Service, and the endpoints role picks it up from the watch and
    // the server scrapes itself through the pod IP (scrape_interval 1m: the first scrape within ~70 s).
    ok(
        &k,
        &kc,
        &[
            "annotate",
            "-n",
            "monitoring",
            "service",
            "prometheus-server",
            "prometheus.io/scrape=true",
            "prometheus.io/port=9090",
        ],
        None,
    );
    let (up, targets) = wait_for(Duration::from_secs(100), || {
        let t = prom_api(&k, &kc, "monitoring", name, "/api/v1/targets?state=active");
        let up = t["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| {
                t["scrapePool"] == "kubernetes-service-endpoints"
                    && t["labels"]["service"] == "prometheus-server"
                    && t["labels"]["instance"] == format!("{pod_ip}:9090").as_str()
                    && t["health"] == "up"
            });
        (up, t)
    });
    assert!(up, "the annotated Service was not scraped: {targets}");

    // doctor on it: the chart install, found and readable; no warning or critical finding.
    let (code, out, err) = kubectl_prom(&bin, &kc, &["doctor", "-n", "monitoring"]);
    assert_eq!(code, 0, "doctor failed:\n{out}\n{err}");
    assert!(
        out.contains("monitoring/prometheus-server (Helm chart release prometheus, deploy/prometheus-server, 1 pod)"),
        "{out}\n{err}"
    );
    assert!(out.contains("0 critical, 0 warning"), "{out}");
}

/// kube-prometheus's shape (`scenarios/kube-prometheus.yaml`, written by us after its `manifests/`: the operator
/// Deployment `prometheus-operator`, the Prometheus `k8s` with every selector `{}` and no storage, `prometheus-k8s`'s
/// ServiceAccount/ClusterRole/Roles, Service, NetworkPolicy, PDB, ServiceMonitors) is run by the real operator into
/// Ready `prometheus-k8s-0/1`, and the plugin reads and reloads it.
#[test]
fn kube_prometheus_shape_runs_ready_with_the_real_operator() {
    let Some(bin) = plugin() else {
        panic!("build the plugin first: cargo build --bin kubectl-prom");
    };
    let Some(cluster) = Cluster::start_or_skip(&kube_sim::Options::scenario("kube-prometheus"))
    else {
        return;
    };
    let k = world_kubectl();
    let kc = cluster.kubeconfig_path().to_path_buf();
    let selector = "app.kubernetes.io/name=prometheus,app.kubernetes.io/instance=k8s";
    let (all_ready, pods) = wait_for(Duration::from_secs(120), || {
        let pods = get_json(&k, &kc, &["pods", "-n", "monitoring", "-l", selector]);
        let items = pods["items"].as_array().cloned().unwrap_or_default();
        (items.len() == 2 && items.iter().all(ready), pods)
    });
    assert!(all_ready, "prometheus-k8s-0/1 are not Ready: {pods}");
    let items = pods["items"].as_array().cloned().unwrap_or_default();
    let mut names: Vec<&str> = items
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["prometheus-k8s-0", "prometheus-k8s-1"]);
    // Each pod runs Prometheus and the operator's reloader sidecar, both running (the operator's StatefulSet, container
    // `config-reloader`).
    for pod in &items {
        for c in ["prometheus", "config-reloader"] {
            let running = pod["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["name"] == c && s["ready"] == true && s["state"]["running"].is_object());
            assert!(running, "{c} is not running in {pod}");
        }
    }

    // Run by the real operator (the Deployment's pod, its own log) and owned by the Prometheus resource `k8s`.
    let op = get_json(
        &k,
        &kc,
        &[
            "pods",
            "-n",
            "monitoring",
            "-l",
            "app.kubernetes.io/name=prometheus-operator",
        ],
    );
    let op_pod = &op["items"][0];
    assert!(ready(op_pod), "the operator is not Ready: {op}");
    let log = ok(
        &k,
        &kc,
        &[
            "logs",
            "-n",
            "monitoring",
            op_pod["metadata"]["name"].as_str().unwrap_or_default(),
            "-c",
            "prometheus-operator",
        ],
        None,
    );
    assert!(
        log.contains("Starting Prometheus Operator") && !log.contains("forbidden"),
        "not the real operator's log, or it lacks RBAC:\n{log}"
    );
    assert_run_by_the_operator(&k, &kc, "monitoring", "k8s", "prometheus-k8s");
    // The PDB and NetworkPolicy are real objects the API server kept, the PDB counting both pods.
    let (pdb_ok, pdb) = wait_for(Duration::from_secs(30), || {
        let pdb = get_json(&k, &kc, &["pdb", "prometheus-k8s", "-n", "monitoring"]);
        (pdb["status"]["currentHealthy"] == 2, pdb)
    });
    assert!(pdb_ok, "the PDB does not see 2 healthy pods: {pdb}");
    ok(
        &k,
        &kc,
        &["get", "networkpolicy", "prometheus-k8s", "-n", "monitoring"],
        None,
    );

    // doctor: one operator install `k8s` of 2 pods and exactly one finding. kube-prometheus sets no `spec.storage`, so
    // the TSDB is the operator's emptyDir: PROM-211, a warning, is what every default kube-prometheus gets. No drift
    // (PROM-305): the operator renders the operator ServiceMonitor's `bearerTokenFile` as `bearer_token_file`
    // (pkg/prometheus/promcfg.go, v0.85.0), which Prometheus runs as `authorization.credentials_file`
    // (prometheus/common config/http_config.go `HTTPClientConfig.Validate`): the same configuration, which doctor
    // reported as drift before that fix.
    let (code, out, err) = kubectl_prom(&bin, &kc, &["doctor", "-n", "monitoring"]);
    assert_eq!(code, 0, "doctor failed:\n{out}\n{err}");
    assert!(
        out.contains(
            "monitoring/k8s (operator resource prometheus/k8s, sts/prometheus-k8s, 2 pods)"
        ),
        "doctor did not find kube-prometheus's Prometheus:\n{out}\n{err}"
    );
    assert!(
        out.contains("PROM-211") && out.contains("is an emptyDir"),
        "no emptyDir finding:\n{out}"
    );
    assert!(
        out.contains("0 critical, 1 warning, 0 info in 1 instance"),
        "findings beyond PROM-211:\n{out}"
    );

    // reload: the operator runs Prometheus with `--web.enable-lifecycle` (its default HTTP reload strategy:
    // pkg/prometheus/promcfg.go `BuildCommonPrometheusArgs`, v0.85.0), so the plugin validates the generated file with
    // promtool, POSTs /-/reload on both pods and proves by content that each runs the file the config-reloader wrote
    // (`config_out/prometheus.env.yaml`). Before the bearer_token_file fix this exited 3 ("does not match …
    // bearer_token_file").
    let (code, out, err) = kubectl_prom(&bin, &kc, &["reload", "-n", "monitoring", "--yes"]);
    assert_eq!(code, 0, "reload failed:\n{out}\n{err}");
    assert!(
        out.contains("monitoring/k8s: 2 of 2 pod(s) reloaded (validation: promtool)"),
        "{out}\n{err}"
    );
    for pod in ["prometheus-k8s-0", "prometheus-k8s-1"] {
        assert!(
            out.contains(&format!(
                "{pod}: reloaded via the API server's pod proxy; running configuration matches \
                 /etc/prometheus/config_out/prometheus.env.yaml"
            )),
            "{pod} not proven reloaded:\n{out}\n{err}"
        );
    }
}
