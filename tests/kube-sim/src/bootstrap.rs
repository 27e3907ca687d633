//! Bringing a cluster up inside the current process: PKI, tokens, the API server on 127.0.0.1, the kubeconfig,
//! the objects every cluster has (namespaces, the node, the default StorageClass), the controllers, the node
//! agent, and the scenario's manifests applied through the normal create path (admission included).
use crate::kubeconfig::{self, Tokens};
use crate::node_agent::NodeAgent;
use crate::registry::Registry;
use crate::server::{ApiServer, FaultRule, Knobs};
use crate::store::Store;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const NODE_NAME: &str = "kube-sim-node";

/// Knobs of one cluster (also the `kube-sim up` flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Scenario name (`scenarios/<name>.yaml`); None = `empty`.
    pub scenario: Option<String>,
    /// Fixed delay added to every API request.
    pub latency: Option<Duration>,
    /// Injected faults, `ACTION:METHOD:PATH_SUBSTRING:TIMES` (see `FaultRule::parse`).
    pub faults: Vec<String>,
    /// Extra unrelated objects: N namespaces `scale-N` each with a ConfigMap, a PVC and an Event.
    pub scale: Option<u32>,
    /// Port to listen on (0 = any free port).
    pub port: u16,
    /// Offer only HTTP/1.1 in TLS ALPN (a server or TLS-terminating proxy without HTTP/2), so clients fall back.
    pub http1_only: bool,
}

/// Builds the node agent once the API server exists (the kubelet registers itself this way).
pub type AgentFactory = Box<dyn FnOnce(Arc<ApiServer>) -> Arc<dyn NodeAgent> + Send>;

pub struct Running {
    pub api: Arc<ApiServer>,
    pub kubeconfig: PathBuf,
    pub server_url: String,
}

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

/// Objects every cluster starts with: the system namespaces plus `monitoring`, the node, and the default
/// StorageClass `standard` (expandable, online) with its CSIDriver.
pub fn base_objects() -> Vec<Value> {
    let mut v: Vec<Value> = [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "monitoring",
    ]
    .iter()
    .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}))
    .collect();
    v.extend(crate::rbac::bootstrap_objects());
    v.push(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "hostpath.csi.kube-sim.io", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": true,
    }));
    v.push(json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": "hostpath.csi.kube-sim.io"},
        "spec": {"attachRequired": false, "fsGroupPolicy": "File", "volumeLifecycleModes": ["Persistent"]},
    }));
    v
}

pub fn node_object() -> Value {
    let now = crate::clock::now_rfc3339();
    let cond = |t: &str, s: &str, reason: &str, msg: &str| json!({"type": t, "status": s, "reason": reason, "message": msg, "lastHeartbeatTime": now, "lastTransitionTime": now});
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "node-role.kubernetes.io/control-plane": ""}},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "20Gi"},
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "20Gi"},
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
            "nodeInfo": {"kubeletVersion": crate::server::SERVER_VERSION, "kubeProxyVersion": "", "osImage": "kube-sim (real processes in Linux namespaces)",
                         "kernelVersion": "", "containerRuntimeVersion": "kube-sim://0.1.0", "operatingSystem": "linux", "architecture": "amd64",
                         "machineID": "", "systemUUID": "", "bootID": ""},
        },
    })
}

/// Create an object as `kubectl apply` would for a new object, or replace the existing one (scenario files may
/// redefine base objects such as the `standard` StorageClass).
pub fn apply_object(api: &ApiServer, obj: Value) -> Result<Value, String> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rt = api.registry.by_kind(&api_version, &kind).ok_or_else(|| {
        format!("no resource serves {api_version} {kind} (is its CRD applied first?)")
    })?;
    let ns = if rt.namespaced {
        obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string()
    } else {
        String::new()
    };
    let what = format!("{kind} {ns}/{name}");
    match api.store.get(&rt.key(), &ns, &name) {
        Some(old) => {
            let mut next = obj.clone();
            next["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
            crate::rest::update(api, &rt, &old, next, "", false)
                .map_err(|e| format!("{what}: {}", e.message))
        }
        None => crate::rest::create(api, &rt, &ns, obj, false, Some("Strict"))
            .map_err(|e| format!("{what}: {}", e.message)),
    }
}

/// Scale knob: `n` extra namespaces, each with a ConfigMap, a PVC and an Event (unrelated to Prometheus).
fn scale_objects(n: u32) -> Vec<Value> {
    let mut v = vec![];
    for i in 0..n {
        let ns = format!("scale-{i}");
        v.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        v.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "filler", "namespace": ns}, "data": {"k": "v"}}));
        v.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "filler", "namespace": ns},
                      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}}}));
    }
    v
}

/// Start everything; the returned kubeconfig is written into `dir`.
pub async fn boot(
    opts: &Options,
    dir: &Path,
    agent: Option<AgentFactory>,
) -> Result<Running, String> {
    let mut pki = crate::tls::generate()?;
    if opts.http1_only {
        let mut config = (*pki.server_config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        pki.server_config = Arc::new(config);
    }
    let tokens = Tokens::generate();
    let mut faults = vec![];
    for f in &opts.faults {
        faults.push(FaultRule::parse(f)?);
    }
    let knobs = Knobs {
        latency: opts.latency.unwrap_or_default(),
        faults: std::sync::Mutex::new(faults),
        counts: Default::default(),
        http1_only: opts.http1_only,
    };
    let store = Arc::new(Store::new());
    let api = ApiServer::new(
        store.clone(),
        Arc::new(Registry::default()),
        tokens.clone(),
        knobs,
    );
    let addr = api
        .clone()
        .serve(opts.port, pki.server_config.clone())
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", opts.port))?;
    let server_url = format!("https://{addr}");
    let _ = api.ca_pem.set(pki.ca_pem.clone());
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        kubeconfig::render(&server_url, &pki.ca_pem, &tokens),
    )
    .map_err(|e| format!("cannot write {}: {e}", kubeconfig.display()))?;

    for o in base_objects() {
        apply_object(&api, o)?;
    }
    let node = node_object();
    store
        .create("nodes", "", node, false)
        .map_err(|e| e.message)?;
    // The `kubernetes` Service in `default` and its (user-managed) Endpoints: the API server itself.
    apply_object(
        &api,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": addr.port()}]}}),
    )?;
    apply_object(
        &api,
        json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": addr.ip().to_string()}], "ports": [{"name": "https", "port": addr.port(), "protocol": "TCP"}]}]}),
    )?;
    crate::controllers::start(api.clone());
    if let Some(factory) = agent {
        let a = factory(api.clone());
        api.set_node_agent(a);
    }
    let scenario = opts.scenario.clone().unwrap_or_else(|| "empty".into());
    for o in scenario_objects(&scenario)? {
        // CRD-defined kinds become servable as soon as their CRD is created (registry refresh in rest::create).
        apply_object(&api, o).map_err(|e| format!("scenario `{scenario}`: {e}"))?;
    }
    for o in scale_objects(opts.scale.unwrap_or(0)) {
        apply_object(&api, o)?;
    }
    wait_settled(&api, Duration::from_secs(90)).await;
    Ok(Running {
        api,
        kubeconfig,
        server_url,
    })
}

/// Wait until no pod is Pending without a reason to be (pods created and started) and no PVC is Pending, or the
/// timeout passes. Crash-looping pods count as settled (they are the scenario's point).
pub async fn wait_settled(api: &ApiServer, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    let have_agent = api.node_agent().is_some();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (pvcs, _) = api.store.list("persistentvolumeclaims", None);
        let pvc_pending = pvcs.iter().any(|p| p["status"]["phase"] == "Pending");
        let (pods, _) = api.store.list("pods", None);
        let now = crate::clock::now_unix();
        let pods_pending = have_agent
            && pods
                .iter()
                .any(|p| !crate::kubelet::pod::pod_settled(p, now));
        let unscheduled = pods.iter().any(|p| p["spec"]["nodeName"].is_null());
        if (!pvc_pending && !pods_pending && !unscheduled) || tokio::time::Instant::now() > deadline
        {
            return;
        }
    }
}
