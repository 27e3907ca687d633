//! The real control plane (issue 16): `kube-sim up` boots the Go-built etcd,
//! kube-apiserver, controller-manager and scheduler (tools/world/build.sh) with kube-sim as the node, and the real
//! kubectl of the same release proves it: server version, the full built-in API, `apply -f` of a List,
//! `apply --server-side`, then one Prometheus pod (Debian's 2.42 for a v2 image) scheduled by the real scheduler,
//! Ready, with `logs`, `exec … wget`, pods/proxy and the node's stats/summary through the API server — and the plugin's
//! `doctor` against it; Prometheus 3 for a v3 image with working Kubernetes service discovery; in-cluster access with a
//! pod-bound token; aggregated Events; a final delete that waits for the containers.
//!
//!   tools/world/build.sh && cargo build --bin kubectl-prom && cargo test -p kube-sim --test real_control_plane
//! Without the built binaries it skips with a notice, unless KUBE_SIM_REQUIRE=1, where it fails.
mod real_support;

use kube_sim::cluster::Cluster;
use real_support::{ok, plugin, run, world_kubectl};
use std::process::Command;
use std::time::{Duration, Instant};

const WORLD: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: monitoring}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: prom-config, namespace: monitoring}
  data:
    prometheus.yml: |
      global: {scrape_interval: 15s}
      scrape_configs:
      - job_name: prometheus
        static_configs: [{targets: ['localhost:9090']}]
- apiVersion: v1
  kind: Pod
  metadata: {name: prom-0, namespace: monitoring, labels: {app: prom}}
  spec:
    containers:
    - name: prometheus
      image: quay.io/prometheus/prometheus:v2.42.0
      args: [--config.file=/etc/prometheus/prometheus.yml, --storage.tsdb.path=/prometheus]
      ports: [{containerPort: 9090, name: web}]
      readinessProbe: {httpGet: {path: /-/ready, port: 9090}, periodSeconds: 2}
      volumeMounts:
      - {name: config, mountPath: /etc/prometheus}
      - {name: data, mountPath: /prometheus}
    volumes:
    - {name: config, configMap: {name: prom-config}}
    - {name: data, emptyDir: {}}
"#;

const PROMETHEUS_V3_SD: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: prometheus, namespace: monitoring}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: prometheus-sd}
  rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: prometheus-sd}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: prometheus-sd}
  subjects: [{kind: ServiceAccount, name: prometheus, namespace: monitoring}]
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: prom-sd-config, namespace: monitoring}
  data:
    prometheus.yml: |
      scrape_configs:
      - job_name: kubernetes-pods
        kubernetes_sd_configs: [{role: pod}]
- apiVersion: v1
  kind: Pod
  metadata: {name: prom-sd, namespace: monitoring}
  spec:
    serviceAccountName: prometheus
    containers:
    - name: prometheus
      image: quay.io/prometheus/prometheus:v3.5.0
      args: [--config.file=/etc/prometheus/prometheus.yml, --storage.tsdb.path=/prometheus]
      ports: [{containerPort: 9090, name: web}]
      readinessProbe: {httpGet: {path: /-/ready, port: 9090}, periodSeconds: 2}
      volumeMounts:
      - {name: config, mountPath: /etc/prometheus}
      - {name: data, mountPath: /prometheus}
    volumes:
    - {name: config, configMap: {name: prom-sd-config}}
    - {name: data, emptyDir: {}}
"#;

#[test]
fn one_prometheus_pod_on_the_real_control_plane() {
    let Some(cluster) = Cluster::start_real_or_skip() else {
        return;
    };
    let kc = cluster.kubeconfig_path().to_path_buf();
    let k = world_kubectl();

    // The server is the real one, at the pinned release.
    let version: serde_json::Value =
        serde_json::from_str(&ok(&k, &kc, &["version", "-o", "json"], None)).expect("version JSON");
    assert_eq!(
        version["serverVersion"]["gitVersion"], "v1.36.3",
        "{version}"
    );
    assert_eq!(
        version["clientVersion"]["gitVersion"], "v1.36.3",
        "{version}"
    );

    // The full built-in set, including kinds the deleted simulated API server lacked.
    let resources = ok(&k, &kc, &["api-resources", "-o", "name"], None);
    for r in [
        "networkpolicies.networking.k8s.io",
        "poddisruptionbudgets.policy",
        "jobs.batch",
        "apiservices.apiregistration.k8s.io",
        "validatingwebhookconfigurations.admissionregistration.k8s.io",
        "leases.coordination.k8s.io",
        "csidrivers.storage.k8s.io",
    ] {
        assert!(
            resources.lines().any(|l| l == r),
            "{r} missing from:\n{resources}"
        );
    }

    // `apply -f` of a List (needs /openapi/v2 or v3), then server-side apply of one of its objects.
    let applied = ok(&k, &kc, &["apply", "-f", "-"], Some(WORLD));
    assert!(applied.contains("pod/prom-0 created"), "{applied}");
    let ssa = ok(
        &k,
        &kc,
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        Some(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: marker, namespace: monitoring}\ndata: {owner: ssa}\n",
        ),
    );
    assert!(ssa.contains("configmap/marker serverside-applied"), "{ssa}");
    let managers = ok(
        &k,
        &kc,
        &[
            "get",
            "configmap",
            "marker",
            "-n",
            "monitoring",
            "--show-managed-fields",
            "-o",
            "jsonpath={.metadata.managedFields[*].operation}",
        ],
        None,
    );
    assert_eq!(managers.trim(), "Apply");

    // Scheduled by the real scheduler onto our node, run, Ready.
    ok(
        &k,
        &kc,
        &[
            "wait",
            "-n",
            "monitoring",
            "--for=condition=Ready",
            "pod/prom-0",
            "--timeout=120s",
        ],
        None,
    );
    let pod: serde_json::Value = serde_json::from_str(&ok(
        &k,
        &kc,
        &["get", "pod", "prom-0", "-n", "monitoring", "-o", "json"],
        None,
    ))
    .expect("pod JSON");
    assert_eq!(pod["spec"]["nodeName"], "kube-sim-node");
    let ip = pod["status"]["podIP"].as_str().unwrap_or_default();
    assert!(ip.starts_with("10.244."), "pod IP {ip}");
    let types: Vec<&str> = pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["type"].as_str())
        .collect();
    assert!(
        types.contains(&"PodScheduled") && types.contains(&"Ready"),
        "{types:?}"
    );

    // Through the API server to the node's kubelet API: logs, exec (WebSocket passed through), stats/summary.
    let logs = ok(&k, &kc, &["logs", "-n", "monitoring", "prom-0"], None);
    assert!(
        logs.contains("Server is ready to receive web requests."),
        "{logs}"
    );
    let ready = ok(
        &k,
        &kc,
        &[
            "exec",
            "-n",
            "monitoring",
            "prom-0",
            "--",
            "wget",
            "-qO-",
            "http://localhost:9090/-/ready",
        ],
        None,
    );
    assert!(ready.contains("Prometheus Server is Ready."), "{ready}");
    // The node declared ExtendWebSocketsToKubelet, so the API server passed the WebSocket through untranslated.
    let metrics = ok(&k, &kc, &["get", "--raw", "/metrics"], None);
    assert!(
        metrics.lines().any(|l| {
            l.starts_with("apiserver_websocket_streaming_requests_total{")
                && l.contains(r#"proxy_type="proxied_to_kubelet""#)
                && l.contains(r#"subresource="exec""#)
        }),
        "exec was not proxied to the kubelet as a WebSocket"
    );
    let summary: serde_json::Value = serde_json::from_str(&ok(
        &k,
        &kc,
        &[
            "get",
            "--raw",
            "/api/v1/nodes/kube-sim-node/proxy/stats/summary",
        ],
        None,
    ))
    .expect("summary JSON");
    assert!(
        summary["pods"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["podRef"]["name"] == "prom-0"),
        "{summary}"
    );

    // pods/proxy: the API server dials the pod IP itself.
    let build: serde_json::Value = serde_json::from_str(&ok(
        &k,
        &kc,
        &[
            "get",
            "--raw",
            "/api/v1/namespaces/monitoring/pods/prom-0:9090/proxy/api/v1/status/buildinfo",
        ],
        None,
    ))
    .expect("buildinfo JSON");
    assert!(
        build["data"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2.42")),
        "{build}"
    );

    // The plugin's doctor against the real API server: it finds the instance and reads its flags.
    match plugin() {
        Some(bin) => {
            let out = Command::new(bin)
                .args(["doctor", "pod/prom-0", "-n", "monitoring"])
                .env("KUBECONFIG", &kc)
                .env("NO_COLOR", "1")
                .output()
                .expect("run kubectl-prom");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "doctor failed: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout.contains("monitoring/prom-0"), "{stdout}");
            assert!(
                stdout.contains("web.enable-lifecycle"),
                "doctor did not read the flags through the API server: {stdout}"
            );
        }
        None if std::env::var("KUBE_SIM_REQUIRE").as_deref() == Ok("1") => {
            panic!("kubectl-prom is not built next to kube-sim (cargo build --bin kubectl-prom)")
        }
        None => eprintln!("SKIP (doctor part): kubectl-prom is not built next to kube-sim"),
    }

    // A v3 image runs the Prometheus 3 that tools/world/build.sh built (module v0.316.0 = 3.16.0), and its
    // Kubernetes service discovery works in-cluster: its ServiceAccount may list pods, it discovers itself.
    ok(&k, &kc, &["apply", "-f", "-"], Some(PROMETHEUS_V3_SD));
    ok(
        &k,
        &kc,
        &[
            "wait",
            "-n",
            "monitoring",
            "--for=condition=Ready",
            "pod/prom-sd",
            "--timeout=120s",
        ],
        None,
    );
    let proxy = |path: &str| -> serde_json::Value {
        serde_json::from_str(&ok(
            &k,
            &kc,
            &[
                "get",
                "--raw",
                &format!("/api/v1/namespaces/monitoring/pods/prom-sd:9090/proxy{path}"),
            ],
            None,
        ))
        .expect("Prometheus API JSON")
    };
    let build3 = proxy("/api/v1/status/buildinfo");
    assert_eq!(build3["data"]["version"], "3.16.0", "{build3}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let targets = loop {
        let t = proxy("/api/v1/targets");
        let found = t["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["discoveredLabels"]["__meta_kubernetes_pod_name"] == "prom-sd");
        if found || Instant::now() > deadline {
            break (found, t);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(targets.0, "kubernetes_sd found no pod: {}", targets.1);
    // The image's promtool is the same release (what `reload` runs to check a configuration before reloading).
    let promtool = ok(
        &k,
        &kc,
        &[
            "exec",
            "-n",
            "monitoring",
            "prom-sd",
            "--",
            "promtool",
            "--version",
        ],
        None,
    );
    assert!(promtool.contains("version 3.16.0"), "{promtool}");

    // Repeated identical Events are one object with a count (client-go's EventCorrelator), not one per probe.
    ok(
        &k,
        &kc,
        &["apply", "-f", "-"],
        Some(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: unready, namespace: monitoring}
spec:
  containers:
  - name: sh
    image: busybox:1.36
    command: [sh, -c, "while true; do sleep 1; done"]
    readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1}
"#,
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let unhealthy = loop {
        let events: serde_json::Value = serde_json::from_str(&ok(
            &k,
            &kc,
            &[
                "get",
                "events",
                "-n",
                "monitoring",
                "--field-selector",
                "involvedObject.name=unready,reason=Unhealthy",
                "-o",
                "json",
            ],
            None,
        ))
        .expect("events JSON");
        let items = events["items"].as_array().cloned().unwrap_or_default();
        let total: i64 = items.iter().filter_map(|e| e["count"].as_i64()).sum();
        if total >= 3 || Instant::now() > deadline {
            break items;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(
        unhealthy.len(),
        1,
        "identical Unhealthy events were not aggregated: {unhealthy:?}"
    );
    assert!(
        unhealthy[0]["count"].as_i64().unwrap_or(0) >= 3,
        "{unhealthy:?}"
    );

    // In-cluster access: the pod finds the API server in its environment and authenticates with the projected
    // service-account token the node requested for it (bound to the pod), trusting kube-root-ca.crt.
    let review = ok(
        &k,
        &kc,
        &[
            "exec",
            "-n",
            "monitoring",
            "unready",
            "--",
            "sh",
            "-c",
            r#"S=/var/run/secrets/kubernetes.io/serviceaccount; wget -qO- --ca-certificate=$S/ca.crt \
  --header="Authorization: Bearer $(cat $S/token)" --header=Content-Type:application/json \
  --post-data='{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
  "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/apis/authentication.k8s.io/v1/selfsubjectreviews""#,
        ],
        None,
    );
    let review: serde_json::Value = serde_json::from_str(&review).expect("SelfSubjectReview JSON");
    assert_eq!(
        review["status"]["userInfo"]["username"], "system:serviceaccount:monitoring:default",
        "{review}"
    );
    assert_eq!(
        review["status"]["userInfo"]["extra"]["authentication.kubernetes.io/pod-name"][0],
        "unready",
        "{review}"
    );

    // A graceful delete ends with the node's final delete (grace 0, uid precondition): the pod is gone.
    let started = Instant::now();
    ok(
        &k,
        &kc,
        &[
            "delete",
            "pod",
            "prom-0",
            "-n",
            "monitoring",
            "--wait=true",
            "--timeout=60s",
        ],
        None,
    );
    let left = run(&k, &kc, &["get", "pod", "prom-0", "-n", "monitoring"], None);
    assert!(
        !left.status.success(),
        "the pod is still there after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(60));

    // The final delete waits for the containers (status_manager.go canBeDeleted): a container that ignores SIGTERM
    // keeps its pod Terminating until the grace period's SIGKILL, so `delete --wait` takes about those 3 s.
    ok(
        &k,
        &kc,
        &["apply", "-f", "-"],
        Some(
            r#"
apiVersion: v1
kind: Pod
metadata: {name: stubborn, namespace: monitoring}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: sh
    image: busybox:1.36
    command: [sh, -c, "trap '' TERM; while true; do sleep 1; done"]
"#,
        ),
    );
    ok(
        &k,
        &kc,
        &[
            "wait",
            "-n",
            "monitoring",
            "--for=condition=Ready",
            "pod/stubborn",
            "--timeout=60s",
        ],
        None,
    );
    let started = Instant::now();
    ok(
        &k,
        &kc,
        &[
            "delete",
            "pod",
            "stubborn",
            "-n",
            "monitoring",
            "--wait=true",
            "--timeout=60s",
        ],
        None,
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(2500),
        "the pod was deleted after {took:?}, before its container's grace period ended"
    );
}
