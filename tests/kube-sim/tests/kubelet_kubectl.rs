//! The kubelet through the real kubectl against `kube-sim up` (the `Cluster` handle): an ordinary Prometheus
//! Deployment + ConfigMap + PVC + Service becomes Ready and answers through the pod proxy, `logs`, `logs --previous`,
//! `exec … df -k /data` and the incident-1 `exec … wget` work verbatim, and nothing of the node is left after drop.
mod kubelet_support;

use kube_sim::Options;
use kube_sim::cluster::Cluster;
use kubelet_support::{apply, df_size_kib, exec_in, kubectl, ready_pod, wait_for};
use std::time::{Duration, Instant};

const PLAIN_PROMETHEUS: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: prom-config, namespace: monitoring}
data:
  prometheus.yml: |
    global:
      scrape_interval: 15s
    scrape_configs:
      - job_name: prometheus
        static_configs:
          - targets: ['localhost:9090']
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: prom-data, namespace: monitoring}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: prom, namespace: monitoring}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector: {matchLabels: {app: prom}}
  template:
    metadata: {labels: {app: prom}}
    spec:
      securityContext: {runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, runAsNonRoot: true}
      containers:
        - name: prometheus-server
          image: quay.io/prometheus/prometheus:v2.48.0
          args: [--config.file=/etc/config/prometheus.yml, --storage.tsdb.path=/data, --web.enable-lifecycle]
          ports: [{containerPort: 9090}]
          readinessProbe: {httpGet: {path: /-/ready, port: 9090}}
          volumeMounts:
            - {name: config, mountPath: /etc/config}
            - {name: data, mountPath: /data}
      volumes:
        - {name: config, configMap: {name: prom-config}}
        - {name: data, persistentVolumeClaim: {claimName: prom-data}}
---
apiVersion: v1
kind: Service
metadata: {name: prom, namespace: monitoring}
spec:
  selector: {app: prom}
  ports: [{port: 9090, targetPort: 9090}]
---
apiVersion: v1
kind: Pod
metadata: {name: crasher, namespace: monitoring}
spec:
  containers:
    - name: crasher
      image: busybox:1.36
      command: [sh, -c, 'echo "run started at $(date +%s%N)"; sleep 1; echo "exiting 3"; exit 3']
"#;

/// Processes whose root is inside a kube-sim node state directory (container processes), anywhere on the host.
fn container_processes() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(root) = std::fs::read_link(e.path().join("root"))
            && root.to_string_lossy().contains("kube-sim-node-")
        {
            out.push(format!(
                "{} {}",
                e.file_name().to_string_lossy(),
                root.display()
            ));
        }
    }
    out
}

#[test]
fn plain_prometheus_is_ready_and_kubectl_logs_exec_proxy_work() {
    let Some(c) = Cluster::start_or_skip(Options::default()) else {
        return;
    };
    let started = Instant::now();
    apply(&c, PLAIN_PROMETHEUS);
    let pod = wait_for(
        &c,
        "the Prometheus pod Ready",
        Duration::from_secs(30),
        || ready_pod(&c, "monitoring", "app=prom"),
    );
    eprintln!("Prometheus Ready {:?} after apply", started.elapsed());
    // Prometheus's own answer through the API server's pod proxy.
    let (code, body, err) = kubectl(
        &c,
        &[
            "get",
            "--raw",
            &format!("/api/v1/namespaces/monitoring/pods/{pod}:9090/proxy/-/ready"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(body.contains("is Ready."), "{body}");
    // The Service gets the ready pod as its endpoint.
    let (_, endpoints, _) = kubectl(
        &c,
        &[
            "get",
            "endpoints",
            "prom",
            "-n",
            "monitoring",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
        ],
    );
    assert!(endpoints.starts_with("10.244."), "{endpoints}");
    // logs
    let (code, logs, err) = kubectl(
        &c,
        &["logs", "-n", "monitoring", &pod, "-c", "prometheus-server"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        logs.contains("Server is ready to receive web requests."),
        "{logs}"
    );
    let (_, tail, _) = kubectl(
        &c,
        &[
            "logs",
            "-n",
            "monitoring",
            &pod,
            "-c",
            "prometheus-server",
            "--tail=1",
        ],
    );
    assert_eq!(tail.lines().count(), 1, "{tail}");
    // exec df: the claim's own 64Mi filesystem at /data.
    let (code, df, err) = exec_in(
        &c,
        "monitoring",
        &pod,
        "prometheus-server",
        &["df", "-k", "/data"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(df_size_kib(&df), Some(65536), "{df}");
    // Incident 1's manual reload, verbatim: lifecycle on, so an empty answer and exit 0, and the log shows it.
    let (code, out, err) = exec_in(
        &c,
        "monitoring",
        &pod,
        "prometheus-server",
        &[
            "wget",
            "--post-data=",
            "-qO-",
            "http://localhost:9090/-/reload",
        ],
    );
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    let (_, logs, _) = kubectl(
        &c,
        &[
            "logs",
            "-n",
            "monitoring",
            &pod,
            "-c",
            "prometheus-server",
            "--tail=5",
        ],
    );
    assert!(
        logs.contains("Completed loading of configuration file"),
        "{logs}"
    );
    // A failing command's exit code comes back through the status channel.
    let (code, _, err) = exec_in(
        &c,
        "monitoring",
        &pod,
        "prometheus-server",
        &["sh", "-c", "exit 7"],
    );
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("command terminated with exit code 7"), "{err}");
    // logs --previous after a restart.
    wait_for(&c, "crasher restarted", Duration::from_secs(20), || {
        let (_, n, _) = kubectl(
            &c,
            &[
                "get",
                "pod",
                "crasher",
                "-n",
                "monitoring",
                "-o",
                "jsonpath={.status.containerStatuses[0].restartCount}",
            ],
        );
        (n.trim().parse::<i32>().unwrap_or(0) >= 1).then_some(())
    });
    let (code, previous, err) = kubectl(&c, &["logs", "-n", "monitoring", "crasher", "--previous"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        previous.starts_with("run started at ") && previous.contains("exiting 3"),
        "{previous}"
    );
    let (_, last, _) = kubectl(
        &c,
        &[
            "get",
            "pod",
            "crasher",
            "-n",
            "monitoring",
            "-o",
            "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}",
        ],
    );
    assert_eq!(last.trim(), "3");
    // Nothing of this node outlives the cluster: find its state directory through our pod's processes first.
    let (_, uid, _) = kubectl(
        &c,
        &[
            "get",
            "pod",
            &pod,
            "-n",
            "monitoring",
            "-o",
            "jsonpath={.metadata.uid}",
        ],
    );
    let ours: Vec<String> = container_processes()
        .into_iter()
        .filter(|p| p.contains(uid.trim()))
        .collect();
    assert!(
        !ours.is_empty(),
        "the pod's processes are visible on the host while it runs"
    );
    let node_dir = ours[0]
        .split("/pods/")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(node_dir.contains("kube-sim-node-"), "{node_dir}");
    drop(c);
    let left: Vec<String> = container_processes()
        .into_iter()
        .filter(|p| p.contains(&node_dir))
        .collect();
    assert!(
        left.is_empty(),
        "container processes outlived the cluster: {left:?}"
    );
    assert!(
        !std::path::Path::new(&node_dir).exists(),
        "the node state directory {node_dir} is left behind"
    );
}

#[test]
fn lifecycle_off_reload_is_refused_with_prometheus_own_403() {
    let Some(c) = Cluster::start_or_skip(Options {
        scenario: Some("lifecycle-off".into()),
        ..Default::default()
    }) else {
        return;
    };
    let selector = "app.kubernetes.io/name=prometheus,app.kubernetes.io/component=server";
    let pod = wait_for(
        &c,
        "prometheus-server Ready",
        Duration::from_secs(30),
        || ready_pod(&c, "monitoring", selector),
    );
    let (code, out, err) = exec_in(
        &c,
        "monitoring",
        &pod,
        "prometheus-server",
        &[
            "wget",
            "--post-data=",
            "-qO-",
            "http://localhost:9090/-/reload",
        ],
    );
    assert_eq!(
        (code, out.as_str()),
        (8, ""),
        "wget exits 8 on the 403: {err}"
    );
    let (_, body, _) = exec_in(
        &c,
        "monitoring",
        &pod,
        "prometheus-server",
        &[
            "sh",
            "-c",
            "wget --post-data= -O- -q --content-on-error http://localhost:9090/-/reload; true",
        ],
    );
    assert_eq!(body, "Lifecycle API is not enabled.");
    // The same POST through the API server's pod proxy (the plugin's reload path) gets Prometheus's own 403.
    let proxy = format!("/api/v1/namespaces/monitoring/pods/{pod}:9090/proxy/-/reload");
    let out = c
        .kubectl()
        .args(["create", "--raw", &proxy, "-f", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("kubectl runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("(Forbidden): Lifecycle API is not enabled."),
        "{err}"
    );
    // The sidecar posts when the watched ConfigMap changes (the real prometheus-config-reloader does not post at
    // start when it watches a directory only), as in incident 1: someone edits the configuration.
    let edit = r#"{"data":{"prometheus.yml":"global:\n  scrape_interval: 30s\n"}}"#;
    let (code, _, err) = kubectl(
        &c,
        &[
            "patch",
            "configmap",
            "prometheus-server",
            "-n",
            "monitoring",
            "-p",
            edit,
        ],
    );
    assert_eq!(code, 0, "{err}");
    let line = wait_for(
        &c,
        "the sidecar's 403 line",
        Duration::from_secs(90),
        || {
            let (_, logs, _) = kubectl(
                &c,
                &[
                    "logs",
                    "-n",
                    "monitoring",
                    &pod,
                    "-c",
                    "prometheus-server-configmap-reload",
                ],
            );
            logs.lines()
                .find(|l| l.contains("403 Forbidden"))
                .map(String::from)
        },
    );
    assert!(
        line.contains("msg=\"function failed. Retrying in next tick\" err=\"trigger reload: received non-200 response: 403 Forbidden; have you set `--web.enable-lifecycle` Prometheus flag?\""),
        "{line}"
    );
}

const RELOAD_SIDECARS: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: default}
data:
  prometheus.yml: |
    global:
      scrape_interval: 15s
---
apiVersion: v1
kind: Pod
metadata: {name: thanos-style, namespace: default}
spec:
  securityContext: {runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534}
  containers:
    - name: prometheus
      image: quay.io/prometheus/prometheus:v2.48.0
      args: [--config.file=/etc/config/prometheus.yml, --storage.tsdb.path=/data, --web.enable-lifecycle]
      volumeMounts: [{name: cfg, mountPath: /etc/config}, {name: data, mountPath: /data}]
    - name: reloader
      image: quay.io/prometheus-operator/prometheus-config-reloader:v0.70.0
      args: [--watched-dir=/etc/config, --reload-url=http://127.0.0.1:9090/-/reload]
      volumeMounts: [{name: cfg, mountPath: /etc/config}]
  volumes: [{name: cfg, configMap: {name: cfg}}, {name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: jimmidyson-style, namespace: default}
spec:
  securityContext: {runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534}
  containers:
    - name: prometheus
      image: quay.io/prometheus/prometheus:v2.48.0
      args: [--config.file=/etc/config/prometheus.yml, --storage.tsdb.path=/data]
      volumeMounts: [{name: cfg, mountPath: /etc/config}, {name: data, mountPath: /data}]
    - name: configmap-reload
      image: jimmidyson/configmap-reload:v0.8.0
      args: [--volume-dir=/etc/config, --webhook-url=http://127.0.0.1:9090/-/reload]
      volumeMounts: [{name: cfg, mountPath: /etc/config}]
  volumes: [{name: cfg, configMap: {name: cfg}}, {name: data, emptyDir: {}}]
"#;

#[test]
fn reload_sidecars_log_prometheus_answers_after_a_configmap_edit() {
    let Some(c) = Cluster::start_or_skip(Options::default()) else {
        return;
    };
    apply(&c, RELOAD_SIDECARS);
    for pod in ["thanos-style", "jimmidyson-style"] {
        // A bound, not a speed check: two real Prometheus processes and their sidecars start at once, and a loaded CI
        // machine once took longer than 30 s for the second pod (both containers started, not yet Ready).
        wait_for(&c, &format!("{pod} Ready"), Duration::from_secs(90), || {
            let (_, ready, _) = kubectl(
                &c,
                &[
                    "get",
                    "pod",
                    pod,
                    "-o",
                    "jsonpath={.status.containerStatuses[*].ready}",
                ],
            );
            (ready.trim() == "true true").then_some(())
        });
    }
    // The seed document's typo reaches both pods through the ConfigMap volume's ..data swap.
    let typo = r#"{"data":{"prometheus.yml":"global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    scarpe_interval: 5s\n    static_configs:\n      - targets: [localhost:9090]\n"}}"#;
    let (code, _, err) = kubectl(&c, &["patch", "configmap", "cfg", "-p", typo]);
    assert_eq!(code, 0, "{err}");
    // thanos reloader: Prometheus answers 500 (bad config), the sidecar's misleading hint, the old config stays.
    let line = wait_for(
        &c,
        "the reloader's 500 line",
        Duration::from_secs(20),
        || {
            let (_, logs, _) = kubectl(&c, &["logs", "thanos-style", "-c", "reloader"]);
            logs.lines()
                .find(|l| l.contains("500 Internal Server Error"))
                .map(String::from)
        },
    );
    assert!(line.contains("received non-200 response: 500 Internal Server Error; have you set `--web.enable-lifecycle` Prometheus flag?"), "{line}");
    let (_, logs, _) = kubectl(&c, &["logs", "thanos-style", "-c", "prometheus"]);
    assert!(
        logs.contains("msg=\"Error reloading config\"")
            && logs.contains("field scarpe_interval not found in type config.ScrapeConfig"),
        "{logs}"
    );
    let (_, config, _) = kubectl(
        &c,
        &[
            "get",
            "--raw",
            "/api/v1/namespaces/default/pods/thanos-style:9090/proxy/api/v1/status/config",
        ],
    );
    assert!(
        config.contains("scrape_interval: 15s") && !config.contains("scarpe"),
        "the last good config keeps running: {config}"
    );
    // jimmidyson/configmap-reload without the lifecycle flag: Go log lines, one attempt, no hint.
    let logs = wait_for(
        &c,
        "configmap-reload's 403",
        Duration::from_secs(20),
        || {
            let (_, logs, _) = kubectl(&c, &["logs", "jimmidyson-style", "-c", "configmap-reload"]);
            logs.contains("retries exhausted").then_some(logs)
        },
    );
    for expected in [
        "config map updated",
        "performing webhook request (1/1)",
        "error: Received response code 403 , expected 200",
        "error: Webhook reload retries exhausted",
    ] {
        assert!(logs.contains(expected), "missing {expected:?} in:\n{logs}");
    }
}

#[test]
fn exec_readiness_probe_runs_inside_the_container() {
    let Some(c) = Cluster::start_or_skip(Options::default()) else {
        return;
    };
    apply(
        &c,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: gated, namespace: default}
spec:
  containers:
    - name: app
      image: busybox:1.36
      command: [sleep, "3600"]
      readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}
"#,
    );
    let ready = || {
        kubectl(
            &c,
            &[
                "get",
                "pod",
                "gated",
                "-o",
                "jsonpath={.status.containerStatuses[0].ready}",
            ],
        )
        .1
    };
    wait_for(&c, "gated running", Duration::from_secs(20), || {
        let (_, state, _) = kubectl(
            &c,
            &[
                "get",
                "pod",
                "gated",
                "-o",
                "jsonpath={.status.containerStatuses[0].state.running.startedAt}",
            ],
        );
        (!state.is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(ready(), "false", "the probe's file does not exist yet");
    let (code, _, err) = kubectl(&c, &["exec", "gated", "--", "touch", "/tmp/ready"]);
    assert_eq!(code, 0, "{err}");
    wait_for(
        &c,
        "gated Ready after the file appears",
        Duration::from_secs(10),
        || (ready() == "true").then_some(()),
    );
}

/// An offline-only driver on a 1.24+ cluster: the external-resizer refuses while any pod uses the claim
/// (kubernetes-csi/external-resizer pkg/controller/expand_and_recover.go: after an in-use failure, "Unable to expand …
/// only supports offline expansion and volume is currently in-use" until `usedPVCs` no longer lists it), so the
/// mounted filesystem keeps its size; with the Deployment scaled to 0 the controller side completes, and the kubelet
/// grows the filesystem when the next pod mounts it (FileSystemResizePending → NodeExpandVolume). (The simulated API
/// server deleted in issue 16 had expanded in use and waited only for a pod restart: the pre-1.24 model.)
#[test]
fn offline_expansion_waits_until_no_pod_uses_the_claim_and_grows_on_the_next_mount() {
    let Some(c) = Cluster::start_or_skip(Options {
        scenario: Some("resize-offline".into()),
        ..Default::default()
    }) else {
        return;
    };
    let pod = wait_for(&c, "Prometheus Ready", Duration::from_secs(60), || {
        ready_pod(&c, "monitoring", "app=prometheus")
    });
    let (code, _, err) = kubectl(
        &c,
        &[
            "patch",
            "pvc",
            "prometheus-data",
            "-n",
            "monitoring",
            "-p",
            r#"{"spec":{"resources":{"requests":{"storage":"128Mi"}}}}"#,
        ],
    );
    assert_eq!(code, 0, "{err}");
    let claim = |path: &str| {
        kubectl(
            &c,
            &[
                "get",
                "pvc",
                "prometheus-data",
                "-n",
                "monitoring",
                "-o",
                &format!("jsonpath={{{path}}}"),
            ],
        )
        .1
    };
    wait_for(
        &c,
        "the resizer's in-use refusal",
        Duration::from_secs(30),
        || {
            let (_, events, _) = kubectl(
                &c,
                &[
                    "get",
                    "events",
                    "-n",
                    "monitoring",
                    "--field-selector",
                    "involvedObject.name=prometheus-data,reason=VolumeResizeFailed",
                    "-o",
                    "jsonpath={.items[*].message}",
                ],
            );
            events.contains("offline").then_some(())
        },
    );
    let df = |pod: &str| {
        kubectl(
            &c,
            &[
                "exec",
                "-n",
                "monitoring",
                pod,
                "--",
                "df",
                "-k",
                "/prometheus",
            ],
        )
        .1
    };
    assert_eq!(
        df_size_kib(&df(&pod)),
        Some(65536),
        "the mounted filesystem keeps its size while in use"
    );
    let conditions = claim(".status.conditions[*].type");
    assert!(
        !conditions.contains("FileSystemResizePending"),
        "no controller expansion while in use: {conditions}"
    );
    let scale = |n: &str| {
        let (code, _, err) = kubectl(
            &c,
            &[
                "scale",
                "deploy/prometheus",
                "-n",
                "monitoring",
                &format!("--replicas={n}"),
            ],
        );
        assert_eq!(code, 0, "{err}");
    };
    scale("0");
    wait_for(
        &c,
        "the controller side done (FileSystemResizePending)",
        Duration::from_secs(60),
        || {
            claim(".status.conditions[*].type")
                .contains("FileSystemResizePending")
                .then_some(())
        },
    );
    scale("1");
    let new_pod = wait_for(&c, "the new pod Ready", Duration::from_secs(60), || {
        ready_pod(&c, "monitoring", "app=prometheus").filter(|p| *p != pod)
    });
    assert_eq!(
        df_size_kib(&df(&new_pod)),
        Some(131072),
        "grown when mounted again"
    );
    wait_for(&c, "the claim's capacity", Duration::from_secs(30), || {
        (claim(".status.capacity.storage") == "128Mi").then_some(())
    });
}

#[test]
fn tty_exec_and_follow_logs_behave_like_a_cluster() {
    let Some(c) = Cluster::start_or_skip(Options::default()) else {
        return;
    };
    apply(
        &c,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: talker, namespace: default}
spec:
  containers:
    - name: talker
      image: busybox:1.36
      command: [sh, -c, 'for i in 1 2 3; do echo "line $i"; sleep 1; done']
"#,
    );
    wait_for(&c, "talker running", Duration::from_secs(20), || {
        let (_, started, _) = kubectl(
            &c,
            &[
                "get",
                "pod",
                "talker",
                "-o",
                "jsonpath={.status.containerStatuses[0].state.running.startedAt}",
            ],
        );
        (!started.is_empty()).then_some(())
    });
    // `logs -f` streams until the container instance ends, then kubectl exits 0.
    let start = Instant::now();
    let (code, followed, err) = kubectl(&c, &["logs", "-f", "talker"]);
    assert_eq!(code, 0, "{err}");
    assert!(followed.contains("line 3"), "{followed}");
    assert!(start.elapsed() < Duration::from_secs(10));
    // `exec -it` under a terminal (incident 2's `df -hT`): output and the exit code arrive, no stream error.
    apply(
        &c,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: shell, namespace: default}\nspec:\n  containers: [{name: shell, image: busybox:1.36, command: [sleep, '3600']}]\n",
    );
    wait_for(&c, "shell running", Duration::from_secs(20), || {
        let (_, ready, _) = kubectl(
            &c,
            &[
                "get",
                "pod",
                "shell",
                "-o",
                "jsonpath={.status.containerStatuses[0].ready}",
            ],
        );
        (ready == "true").then_some(())
    });
    let kubeconfig = c.kubeconfig_path().display().to_string();
    let out = std::process::Command::new("script")
        .args([
            "-qec",
            &format!(
                "kubectl --kubeconfig {kubeconfig} exec -it shell -- sh -c 'df -hT /tmp; exit 4'"
            ),
            "/dev/null",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Mounted on") && text.contains("command terminated with exit code 4"),
        "{text}"
    );
    assert!(!text.contains("error reading from error stream"), "{text}");
}
