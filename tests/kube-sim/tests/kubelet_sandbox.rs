//! The kubelet alone (its cache seeded by the test, its writes kept by a test backend, no API server) running real
//! pods as root: Prometheus Ready in its own network
//! namespace with ConfigMap and PV volumes, the `..data` swap and subPath pinning, runAsUser without/with fsGroup on
//! a fresh root-owned volume, online expansion seen by `df` inside the container, logs/previous across a crash, and
//! nothing left behind (mounts, processes, state directory) after shutdown. Own harness (`harness = false`): the
//! process must isolate itself (mount + PID namespaces) before any thread exists.
use kube_sim::kubelet::backend::NodeBackend;
use kube_sim::kubelet::handlers::stats_summary;
use kube_sim::kubelet::probe::http_request;
use kube_sim::kubelet::{self, Kubelet};
use kube_sim::node::cache::NodeCache;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODE: &str = "kube-sim-node";

/// What the API server would hold in this test: the kubelet's cache, written by the test (objects get a uid and
/// their namespace, as the API server sets them) and by the kubelet's writes through `Backend`.
struct Store {
    cache: Arc<NodeCache>,
    events: Mutex<Vec<Value>>,
}

impl Store {
    fn new() -> Self {
        Self {
            cache: Arc::new(NodeCache::new()),
            events: Mutex::new(vec![]),
        }
    }

    fn create(
        &self,
        resource: &str,
        ns: &str,
        mut obj: Value,
        _dry_run: bool,
    ) -> Result<(), String> {
        if !ns.is_empty() {
            obj["metadata"]["namespace"] = json!(ns);
        }
        obj["metadata"]["uid"] = json!(kube_sim::ids::new_uid());
        self.cache.put(resource, obj);
        Ok(())
    }

    fn mutate(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> Result<(), String> {
        let mut obj = self.cache.get(resource, ns, name).ok_or("not found")?;
        f(&mut obj);
        self.cache.put(resource, obj);
        Ok(())
    }

    fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        self.cache.get(resource, ns, name)
    }
}

/// The kubelet's writes, applied to the test's `Store` as the API server would: pod status replaced (PodScheduled
/// kept), events kept, the final delete once the containers stopped.
struct Backend(Arc<Store>);

impl NodeBackend for Backend {
    fn pod_status(&self, ns: &str, name: &str, status: Value) {
        let _ = self
            .0
            .mutate("pods", ns, name, |pod| pod["status"] = status);
    }

    fn event(&self, _involved: &Value, reason: &str, message: &str, _type: &str) {
        if let Ok(mut e) = self.0.events.lock() {
            e.push(json!({"reason": reason, "message": message}));
        }
    }

    fn pod_terminated(
        &self,
        ns: &str,
        name: &str,
        _uid: &str,
        stopped: Option<tokio::sync::watch::Receiver<bool>>,
    ) {
        let (store, ns, name) = (self.0.clone(), ns.to_string(), name.to_string());
        tokio::spawn(async move {
            if let Some(mut s) = stopped {
                let _ = s.wait_for(|v| *v).await;
            }
            store.cache.remove("pods", &ns, &name);
        });
    }

    /// Reached through its namespace (setns) in this test, so the IP is only a label.
    fn pod_ip(&self, _net: &kubelet::netns::PodNetwork, n: u32) -> Result<String, String> {
        Ok(format!("10.244.0.{}", n % 250 + 2))
    }
}

/// The kubelet on `store`, with the test's backend.
fn start_kubelet(store: &Arc<Store>) -> Arc<Kubelet> {
    Kubelet::start_with(
        store.cache.clone(),
        Arc::new(Backend(store.clone())),
        NODE,
        "172.18.0.2",
        kubelet::image::ImageMap::default(),
    )
    .expect("kubelet")
}

fn resource_of(kind: &str) -> &'static str {
    match kind {
        "Pod" => "pods",
        "ConfigMap" => "configmaps",
        "Secret" => "secrets",
        "PersistentVolume" => "persistentvolumes",
        "PersistentVolumeClaim" => "persistentvolumeclaims",
        "CSIDriver" => "csidrivers.storage.k8s.io",
        other => panic!("test seed has an unexpected kind {other}"),
    }
}

fn seed(store: &Store, yaml: &str) {
    let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).expect("seed YAML");
    for v in docs {
        if v.is_null() {
            continue;
        }
        let resource = resource_of(v["kind"].as_str().unwrap_or_default());
        let ns = if resource.starts_with("persistentvolumes") || resource.starts_with("csidrivers")
        {
            ""
        } else {
            v["metadata"]["namespace"].as_str().unwrap_or("default")
        };
        store
            .create(resource, ns, v.clone(), false)
            .expect("seed create");
    }
}

/// A PV of `size` bound to claim `name` in `default` (what the PV controller and the provisioner would do).
fn bound_claim(store: &Store, name: &str, size: &str, csi_driver: Option<&str>) {
    let mut pv = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": format!("pv-{name}")},
        "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "claimRef": {"namespace": "default", "name": name}},
        "status": {"phase": "Bound"},
    });
    if let Some(d) = csi_driver {
        pv["spec"]["csi"] = json!({"driver": d, "volumeHandle": name, "fsType": "ext4"});
    }
    store
        .create("persistentvolumes", "", pv, false)
        .expect("pv");
    let pvc = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, "volumeName": format!("pv-{name}")},
        "status": {"phase": "Bound", "capacity": {"storage": size}},
    });
    store
        .create("persistentvolumeclaims", "default", pvc, false)
        .expect("pvc");
}

const CONFIG: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: prom-config, namespace: default}
data:
  prometheus.yml: |
    global:
      scrape_interval: 15s
    scrape_configs:
      - job_name: prometheus
        static_configs:
          - targets: ['localhost:9090']
"#;

fn prometheus_pod(name: &str, claim: &str, security: Value, args: &[&str]) -> Value {
    let mut all_args = vec![
        "--config.file=/etc/config/prometheus.yml",
        "--storage.tsdb.path=/data",
    ];
    all_args.extend(args);
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "nodeName": NODE,
            "securityContext": security,
            "containers": [{
                "name": "prometheus-server",
                "image": "quay.io/prometheus/prometheus:v2.48.0",
                "args": all_args,
                "ports": [{"containerPort": 9090}],
                "readinessProbe": {"httpGet": {"path": "/-/ready", "port": 9090}, "periodSeconds": 5},
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "volumeMounts": [
                    {"name": "config-volume", "mountPath": "/etc/config"},
                    {"name": "config-volume", "mountPath": "/etc/pinned.yml", "subPath": "prometheus.yml"},
                    {"name": "storage-volume", "mountPath": "/data"},
                ],
            }],
            "volumes": [
                {"name": "config-volume", "configMap": {"name": "prom-config"}},
                {"name": "storage-volume", "persistentVolumeClaim": {"claimName": claim}},
            ],
        },
    })
}

/// Polls `f` until it yields; on timeout panics with the pod's status and logs (`dump`).
/// The prometheus-community chart's `server.securityContext` default.
fn chart_security() -> Value {
    json!({"runAsUser": 65534, "runAsNonRoot": true, "runAsGroup": 65534, "fsGroup": 65534})
}

async fn wait_until<T>(
    what: &str,
    timeout: Duration,
    dump: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}\n{}", dump());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn pod_status(store: &Store, name: &str) -> Value {
    store
        .get("pods", "default", name)
        .map(|p| p["status"].clone())
        .unwrap_or(Value::Null)
}

fn dump(store: &Store, k: &Kubelet, pod: &str) -> String {
    let events: Vec<String> = store
        .events
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default()
        .iter()
        .map(|e| format!("{} {}", e["reason"], e["message"]))
        .collect();
    format!(
        "status: {:#}\nevents: {events:#?}\nlog: {}\nprevious: {}",
        pod_status(store, pod),
        k.pod("default", pod)
            .map(|_| log_text(k, pod, false))
            .unwrap_or_default(),
        k.pod("default", pod)
            .map(|_| log_text(k, pod, true))
            .unwrap_or_default()
    )
}

fn log_text(k: &Kubelet, pod: &str, previous: bool) -> String {
    let h = k.pod("default", pod).expect("pod handle");
    let (cur, prev, _) = h.logs("prometheus-server").expect("container");
    let buf = if previous { prev } else { cur };
    buf.map(|b| String::from_utf8_lossy(&b.render(None, None, false).0).to_string())
        .unwrap_or_default()
}

/// Runs `argv` inside the running container as its user (what exec does), returning (exit code, stdout).
async fn exec_in(k: &Kubelet, pod: &str, argv: &[&str]) -> (i32, String) {
    let h = k.pod("default", pod).expect("pod handle");
    let target = h
        .exec_target("prometheus-server")
        .expect("running container");
    let mut spec = target.spec.clone();
    spec.argv = argv.iter().map(|s| s.to_string()).collect();
    let child = kubelet::rootfs::spawn(&target.root, &h.net, &spec, false).expect("spawn exec");
    let out = child.wait_with_output().await.expect("exec output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

fn df_kib(out: &str) -> u64 {
    out.lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

async fn prometheus_ready_with_volumes() {
    let store = Arc::new(Store::new());
    seed(&store, CONFIG);
    bound_claim(&store, "data", "64Mi", None);
    let k = start_kubelet(&store);
    let started = Instant::now();
    store
        .create(
            "pods",
            "default",
            prometheus_pod(
                "prom",
                "data",
                chart_security(),
                &["--web.enable-lifecycle"],
            ),
            false,
        )
        .unwrap();
    wait_until(
        "prom Ready",
        Duration::from_secs(20),
        || dump(&store, &k, "prom"),
        || {
            let s = pod_status(&store, "prom");
            (s["conditions"]
                .as_array()?
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True"))
            .then_some(())
        },
    )
    .await;
    eprintln!("    prom Ready after {:?}", started.elapsed());
    let h = k.pod("default", "prom").unwrap();
    let (code, body) = http_request(
        &h.net,
        9090,
        "GET",
        "/-/ready",
        "test",
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    assert_eq!(code, 200);
    assert!(
        String::from_utf8_lossy(&body).contains("is Ready."),
        "Prometheus's own answer"
    );
    // Another pod's localhost is not this one's: nothing listens on 9090 in a fresh namespace.
    let other = kubelet::netns::PodNetwork::create().unwrap();
    assert!(other.connect(9090, Duration::from_secs(1)).await.is_err());
    // The chart's data dir is a fresh 64Mi filesystem at /data; the mount point is not on the host.
    let (code, out) = exec_in(&k, "prom", &["df", "-k", "/data"]).await;
    assert_eq!(code, 0);
    assert_eq!(df_kib(&out), 64 * 1024, "{out}");
    assert!(
        !std::path::Path::new("/etc/config").exists(),
        "mount points must not appear on the host"
    );
    // Runs as the image's user (nobody) with the pod's view of volumes.
    let (_, id) = exec_in(&k, "prom", &["id", "-u"]).await;
    assert_eq!(id.trim(), "65534");
    // Online expansion: the same filesystem grows, data kept, the container sees it at once.
    let (_, before) = exec_in(&k, "prom", &["ls", "/data"]).await;
    assert!(before.contains("wal"), "{before}");
    assert_eq!(k.expand_volume("pv-data", 128 << 20, true), Ok(true));
    let (_, out) = exec_in(&k, "prom", &["df", "-k", "/data"]).await;
    assert_eq!(df_kib(&out), 128 * 1024, "{out}");
    let (_, after) = exec_in(&k, "prom", &["ls", "/data"]).await;
    assert_eq!(before, after);
    // stats/summary reports the claim with real numbers.
    let summary = stats_summary(&k);
    let vol = summary["pods"][0]["volume"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "storage-volume")
        .cloned()
        .unwrap();
    assert_eq!(vol["pvcRef"]["name"], "data");
    assert_eq!(vol["capacityBytes"], 128u64 << 20);
    assert!(vol["usedBytes"].as_u64().unwrap() > 0);
    // ConfigMap update: the directory follows via the ..data swap, the subPath file stays pinned, and the
    // lifecycle API reloads the new config.
    store
        .mutate("configmaps", "default", "prom-config", |cm| {
            cm["data"]["prometheus.yml"] = json!("global:\n  scrape_interval: 5s\n");
        })
        .unwrap();
    let start = Instant::now();
    while !exec_in(&k, "prom", &["cat", "/etc/config/prometheus.yml"])
        .await
        .1
        .contains("scrape_interval: 5s")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the ConfigMap volume never followed the update"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, pinned) = exec_in(&k, "prom", &["cat", "/etc/pinned.yml"]).await;
    assert!(
        pinned.contains("15s"),
        "subPath mounts never see updates: {pinned}"
    );
    let (code, out) = exec_in(
        &k,
        "prom",
        &[
            "wget",
            "--post-data=",
            "-qO-",
            "http://localhost:9090/-/reload",
        ],
    )
    .await;
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(log_text(&k, "prom", false).contains("Completed loading of configuration file"));
    k.shutdown().await;
}

async fn permission_denied_then_fs_group() {
    let store = Arc::new(Store::new());
    seed(&store, CONFIG);
    bound_claim(&store, "denied", "32Mi", None);
    bound_claim(&store, "granted", "32Mi", Some("cinder.csi.openstack.org"));
    seed(
        &store,
        "apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: {name: cinder.csi.openstack.org}\nspec: {fsGroupPolicy: File}\n",
    );
    let k = start_kubelet(&store);
    let kps_user = json!({"runAsUser": 1000, "runAsGroup": 2000, "runAsNonRoot": true});
    store
        .create(
            "pods",
            "default",
            prometheus_pod("denied", "denied", kps_user.clone(), &[]),
            false,
        )
        .unwrap();
    let mut with_fs_group = kps_user.clone();
    with_fs_group["fsGroup"] = json!(2000);
    with_fs_group["fsGroupChangePolicy"] = json!("OnRootMismatch");
    store
        .create(
            "pods",
            "default",
            prometheus_pod("granted", "granted", with_fs_group, &[]),
            false,
        )
        .unwrap();
    // Without fsGroup: Prometheus's own failure on the root-owned 0755 volume, restarted with backoff.
    let status = wait_until(
        "denied to crash twice",
        Duration::from_secs(20),
        || dump(&store, &k, "denied"),
        || {
            let s = pod_status(&store, "denied");
            (s["containerStatuses"][0]["restartCount"].as_i64()? >= 2).then_some(s)
        },
    )
    .await;
    let last = &status["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(last["reason"], "Error");
    assert_eq!(last["exitCode"], 2, "a Go panic exits 2");
    assert!(
        last["message"]
            .as_str()
            .unwrap_or_default()
            .contains("panic: Unable to create mmap-ed active query log")
    );
    let previous = log_text(&k, "denied", true);
    assert!(
        previous.contains("open /data/queries.active: permission denied"),
        "{previous}"
    );
    assert_eq!(
        status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap()["status"],
        "False"
    );
    // With fsGroup (CSIDriver fsGroupPolicy File): group 2000, setgid 2775 on the volume root, Ready.
    wait_until(
        "granted Ready",
        Duration::from_secs(20),
        || dump(&store, &k, "granted"),
        || {
            let s = pod_status(&store, "granted");
            (s["containerStatuses"][0]["ready"] == true).then_some(())
        },
    )
    .await;
    let (_, stat) = exec_in(&k, "granted", &["stat", "-c", "%a %u %g", "/data"]).await;
    assert_eq!(stat.trim(), "2775 0 2000");
    k.shutdown().await;
}

fn kube_sim_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("kube-sim-node-"))
        .map(String::from)
        .collect()
}

fn descendants() -> Vec<String> {
    let me = kubelet::node_pid().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(") ")
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let comm = stat
            .split(" (")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .unwrap_or_default();
        if fields.get(1) == Some(&me.as_str()) {
            out.push(format!("{} {comm}", e.file_name().to_string_lossy()));
        }
    }
    out
}

type TestFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
type TestCase = (&'static str, fn() -> TestFuture);

fn main() {
    if let Some(reason) = kubelet::unsupported_reason() {
        if std::env::var("KUBE_SIM_REQUIRE").as_deref() == Ok("1") {
            eprintln!("kubelet_sandbox: cannot run ({reason}) and KUBE_SIM_REQUIRE=1");
            std::process::exit(1);
        }
        eprintln!("kubelet_sandbox: skipped: {reason}");
        return;
    }
    kubelet::isolate_process().expect("isolate");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let tests: Vec<TestCase> = vec![
        ("prometheus_ready_with_volumes", || {
            Box::pin(prometheus_ready_with_volumes())
        }),
        ("permission_denied_then_fs_group", || {
            Box::pin(permission_denied_then_fs_group())
        }),
    ];
    let mut failed = 0;
    for (name, test) in tests {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let started = Instant::now();
        let result = rt.block_on(async {
            tokio::spawn(tokio::time::timeout(Duration::from_secs(90), test())).await
        });
        let ok = matches!(result, Ok(Ok(())));
        eprintln!(
            "test {name} ... {} ({:.1}s)",
            if ok { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        if !ok {
            failed += 1;
        }
    }
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(300)).await });
    let mounts = kube_sim_mounts();
    let procs = descendants();
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("kube-sim-node-{}-", kubelet::node_pid()))
        })
        .count();
    eprintln!(
        "test nothing_left_behind ... {}",
        if mounts.is_empty() && procs.is_empty() && leftovers == 0 {
            "ok"
        } else {
            "FAILED"
        }
    );
    if !mounts.is_empty() || !procs.is_empty() || leftovers != 0 {
        eprintln!("  mounts: {mounts:#?}\n  processes: {procs:?}\n  state dirs: {leftovers}");
        failed += 1;
    }
    if failed > 0 {
        std::process::exit(1);
    }
}
