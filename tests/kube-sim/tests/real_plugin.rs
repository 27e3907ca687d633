//! The plugin against the real control plane (issue 16): a chart-shaped install (the prometheus-community/prometheus
//! chart's Deployment mode: ServiceAccount, ConfigMap, a claim on the default class, Deployment with the config
//! reloader beside Prometheus v3, Service) applied with the real kubectl, then the real `kubectl-prom` binary:
//! `doctor` finds the instance (chart flavour, its pod) with no warning or critical finding, `resize --add 2Gi --yes` grows its claim through the real expand controller
//! and kube-sim's CSI driver while the pod keeps running, and kubectl reads the result back (claim, PV, events, the
//! filesystem in the pod, the same pod). The knob proxy in front of the API server answers the first claim patch
//! with 409 (`--fault`): the plugin reads again and patches again, and `/kube-sim/stats` counts both patches.
//!
//! Needs the built world, like real_control_plane.rs, and `cargo build --bin kubectl-prom`.
mod real_support;

use kube_sim::Options;
use kube_sim::cluster::Cluster;
use real_support::{get_json, kubectl_prom, ok, plugin, wait_for, world_kubectl};
use serde_json::Value;
use std::time::Duration;

/// The chart's objects as `helm template` renders them for chart 27.x (Prometheus v3), one values change: the
/// readiness probe's initial delay is 5 s instead of 30 (`server.readinessProbeInitialDelay`), to keep the test short.
const CHART: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: monitoring}
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: prometheus-server
    namespace: monitoring
    labels: &labels
      app.kubernetes.io/component: server
      app.kubernetes.io/name: prometheus
      app.kubernetes.io/instance: prometheus
      app.kubernetes.io/version: v3.5.0
      helm.sh/chart: prometheus-27.28.0
      app.kubernetes.io/part-of: prometheus
      app.kubernetes.io/managed-by: Helm
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: prometheus-server, namespace: monitoring, labels: *labels}
  data:
    alerting_rules.yml: "{}\n"
    recording_rules.yml: "{}\n"
    prometheus.yml: |
      global:
        scrape_interval: 15s
        evaluation_interval: 15s
      rule_files:
        - /etc/config/recording_rules.yml
        - /etc/config/alerting_rules.yml
      scrape_configs:
        - job_name: prometheus
          static_configs:
            - targets: [localhost:9090]
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: prometheus-server, namespace: monitoring, labels: *labels}
  spec:
    accessModes: [ReadWriteOnce]
    resources: {requests: {storage: 8Gi}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: prometheus-server, namespace: monitoring, labels: *labels}
  spec:
    replicas: 1
    strategy: {type: Recreate}
    selector:
      matchLabels: &selector
        app.kubernetes.io/component: server
        app.kubernetes.io/name: prometheus
        app.kubernetes.io/instance: prometheus
    template:
      metadata: {labels: *labels}
      spec:
        serviceAccountName: prometheus-server
        enableServiceLinks: true
        terminationGracePeriodSeconds: 300
        securityContext: {runAsUser: 65534, runAsNonRoot: true, runAsGroup: 65534, fsGroup: 65534}
        containers:
        - name: prometheus-server-configmap-reload
          image: quay.io/prometheus-operator/prometheus-config-reloader:v0.83.0
          args: [--watched-dir=/etc/config, --listen-address=0.0.0.0:8080, --reload-url=http://127.0.0.1:9090/-/reload]
          ports: [{containerPort: 8080, name: metrics}]
          volumeMounts: [{name: config-volume, mountPath: /etc/config, readOnly: true}]
        - name: prometheus-server
          image: quay.io/prometheus/prometheus:v3.5.0
          args:
          - --storage.tsdb.retention.time=15d
          - --config.file=/etc/config/prometheus.yml
          - --storage.tsdb.path=/data
          - --web.console.libraries=/etc/prometheus/console_libraries
          - --web.console.templates=/etc/prometheus/consoles
          - --web.enable-lifecycle
          ports: [{containerPort: 9090}]
          readinessProbe:
            httpGet: {path: /-/ready, port: 9090, scheme: HTTP}
            initialDelaySeconds: 5
            periodSeconds: 5
            timeoutSeconds: 4
            failureThreshold: 3
            successThreshold: 1
          livenessProbe:
            httpGet: {path: /-/healthy, port: 9090, scheme: HTTP}
            initialDelaySeconds: 30
            periodSeconds: 15
            timeoutSeconds: 10
            failureThreshold: 3
            successThreshold: 1
          volumeMounts:
          - {name: config-volume, mountPath: /etc/config}
          - {name: storage-volume, mountPath: /data, subPath: ""}
        volumes:
        - {name: config-volume, configMap: {name: prometheus-server}}
        - {name: storage-volume, persistentVolumeClaim: {claimName: prometheus-server}}
- apiVersion: v1
  kind: Service
  metadata: {name: prometheus-server, namespace: monitoring, labels: *labels}
  spec:
    type: ClusterIP
    selector: *selector
    ports: [{name: http, port: 80, protocol: TCP, targetPort: 9090}]
"#;

#[test]
fn doctor_and_resize_on_a_chart_install_on_the_real_control_plane() {
    let Some(bin) = plugin() else {
        if std::env::var("KUBE_SIM_REQUIRE").as_deref() == Ok("1") {
            panic!("kubectl-prom is not built next to kube-sim (cargo build --bin kubectl-prom)");
        }
        eprintln!("SKIP: kubectl-prom is not built next to kube-sim");
        return;
    };
    // The knob proxy answers the plugin's first claim patch with 409, as a concurrent edit would.
    let fault = "409:PATCH:/persistentvolumeclaims/prometheus-server:1";
    let Some(cluster) = Cluster::start_real_opts_or_skip(&Options {
        faults: vec![fault.into()],
        ..Options::default()
    }) else {
        return;
    };
    let kc = cluster.kubeconfig_path().to_path_buf();
    let k = world_kubectl();

    ok(&k, &kc, &["apply", "-f", "-"], Some(CHART));
    ok(
        &k,
        &kc,
        &[
            "rollout",
            "status",
            "deploy/prometheus-server",
            "-n",
            "monitoring",
            "--timeout=180s",
        ],
        None,
    );
    let pods = get_json(
        &k,
        &kc,
        &[
            "pods",
            "-n",
            "monitoring",
            "-l",
            "app.kubernetes.io/name=prometheus",
        ],
    );
    let pod = &pods["items"][0];
    let (pod_name, pod_uid) = (
        pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        pod["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );

    // doctor: found as a chart install, healthy (exit 0: nothing at or above critical).
    let (code, stdout, stderr) = kubectl_prom(
        &bin,
        &kc,
        &[
            "doctor",
            "deploy/prometheus-server",
            "-n",
            "monitoring",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 0, "doctor: {stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("doctor JSON");
    let instance = &report["instances"][0];
    assert_eq!(report["summary"]["instances"], 1, "{report:#}");
    assert_eq!(instance["name"], "prometheus-server", "{report:#}");
    assert_eq!(instance["flavour"], "chart", "{report:#}");
    assert_eq!(instance["result"], "healthy", "{report:#}");
    assert_eq!(instance["pods"][0], pod_name.as_str(), "{report:#}");
    assert_eq!(report["summary"]["critical"], 0, "{report:#}");
    assert_eq!(report["summary"]["warning"], 0, "{report:#}");

    // resize: 8Gi + 2Gi, confirmed by --yes, online (the pod keeps running).
    let (code, stdout, stderr) = kubectl_prom(
        &bin,
        &kc,
        &[
            "resize",
            "deploy/prometheus-server",
            "-n",
            "monitoring",
            "--add",
            "2Gi",
            "--yes",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 0, "resize: {stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("resize JSON");
    let claim = &report["claims"][0];
    assert_eq!(claim["state"], "done", "{report:#}");
    assert_eq!(claim["capacityBefore"], "8Gi", "{report:#}");
    assert_eq!(claim["capacityAfter"], "10Gi", "{report:#}");
    assert_eq!(
        claim["filesystem"]["capacityBytes"],
        10u64 << 30,
        "{report:#}"
    );
    assert_eq!(claim["podRestarted"], false, "{report:#}");
    assert_eq!(report["flavour"], "helm-chart", "{report:#}");
    // The 409 was met by reading again and patching again (the proxy counted both patches), not by failing.
    let stats: Value =
        serde_json::from_str(&ok(&k, &kc, &["get", "--raw", "/kube-sim/stats"], None))
            .expect("stats JSON");
    assert_eq!(
        stats["requests"]["PATCH /api/v1/namespaces/monitoring/persistentvolumeclaims/prometheus-server"],
        2,
        "{stats}"
    );
    assert!(stats["connections"].as_u64().unwrap_or(0) > 0, "{stats}");

    // Read back with kubectl: claim, PV, the resizer's and the node's events, the pod's filesystem, the same pod.
    let pvc = get_json(&k, &kc, &["pvc", "prometheus-server", "-n", "monitoring"]);
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "10Gi");
    assert_eq!(pvc["status"]["capacity"]["storage"], "10Gi");
    let pv = get_json(
        &k,
        &kc,
        &["pv", pvc["spec"]["volumeName"].as_str().unwrap_or_default()],
    );
    assert_eq!(pv["spec"]["capacity"]["storage"], "10Gi");
    let (all, reasons) = wait_for(Duration::from_secs(10), || {
        let events = get_json(
            &k,
            &kc,
            &[
                "events",
                "-n",
                "monitoring",
                "--field-selector",
                "involvedObject.name=prometheus-server,involvedObject.kind=PersistentVolumeClaim",
            ],
        );
        let reasons: Vec<String> = events["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["reason"].as_str().map(String::from))
            .collect();
        (
            [
                "ExternalExpanding",
                "Resizing",
                "FileSystemResizeRequired",
                "FileSystemResizeSuccessful",
            ]
            .iter()
            .all(|r| reasons.iter().any(|x| x == r)),
            reasons,
        )
    });
    assert!(all, "{reasons:?}");
    let df = ok(
        &k,
        &kc,
        &[
            "exec",
            "-n",
            "monitoring",
            &pod_name,
            "-c",
            "prometheus-server",
            "--",
            "df",
            "-k",
            "/data",
        ],
        None,
    );
    assert!(
        df.lines().nth(1).and_then(|l| l.split_whitespace().nth(1))
            == Some(&(10u64 * 1024 * 1024).to_string()),
        "{df}"
    );
    let after = get_json(&k, &kc, &["pod", &pod_name, "-n", "monitoring"]);
    assert_eq!(
        after["metadata"]["uid"],
        pod_uid.as_str(),
        "the pod was replaced"
    );
}
