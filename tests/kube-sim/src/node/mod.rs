//! kube-sim as the node of the real control plane (issue 16): the `World` (control plane + node) that `kube-sim up`
//! starts, and the `Node` — what a kubelet does toward the
//! API server, taken from the kubelet's source (k8s.io/kubernetes pkg/kubelet, paths cited where used):
//! - registers its Node with the `system:node:NAME` identity (kubelet_node_status.go `registerWithAPIServer`,
//!   nodestatus/setters.go for addresses, daemonEndpoints, capacity, conditions, nodeInfo) and declares
//!   `ExtendWebSocketsToKubelet` in `status.declaredFeatures`, so a 1.36 API server passes exec WebSockets straight
//!   through (pkg/registry/core/pod/rest/subresources.go `checkNodeSupportsWebsockets`);
//! - renews its Lease in `kube-node-lease` every 10 s (nodelease: renewInterval = 25% of the 40 s duration);
//! - lists and watches the pods bound to it (`spec.nodeName`) and the objects they reference (the Node authorizer lets
//!   a node read only those) into its local cache (`cache`), on which the kubelet code runs;
//! - sends the kubelet's writes (pods/status as a strategic-merge patch, Events, the final delete with grace 0 and the
//!   uid precondition) through `RealBackend`;
//! - serves the kubelet API over TLS, requiring a client certificate of the cluster CA (the API server's
//!   kubelet-client one): `/healthz`, `/stats/summary`, `/containerLogs/{ns}/{pod}/{container}` and
//!   `/exec/{ns}/{pod}/{container}` (server/server.go paths), answered by `kubelet::handlers`;
//! - plays the CSI driver of its StorageClasses (`csi`), and puts the test knobs in front of the API server for the
//!   users' kubeconfig (`proxy`); applies scenarios through the real API server (`scenario`).
//!
//! Simulated still: the container runtime (pods are real processes in namespaces, see `kubelet/`), images (mapped to
//! host binaries: `prometheus:v3.*` and the reloaders to those tools/world/build.sh built).
pub mod cache;
pub mod csi;
pub mod knobs;
pub mod net;
pub mod proxy;
pub mod scenario;
pub mod timeline;

use crate::api_client::{ApiClient, Credentials};
use crate::control_plane::{self, ControlPlane, NODE_NAME};
use crate::http::Body;
use crate::kubelet::Kubelet;
use crate::kubelet::backend::NodeBackend;
use crate::kubelet::handlers::KubeletAgent;
use crate::kubelet::handlers::PodSubresource;
use crate::kubelet::netns::PodNetwork;
use cache::NodeCache;
use http_body_util::BodyExt;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The mirror's resource of the service-account tokens the node requested for its pods (TokenRequest, bound to the
/// pod): `{metadata: {namespace, name: POD, uid: POD_UID}, token}`; only the node's local cache has it.
pub const SA_TOKENS: &str = "kube-sim.serviceaccounttokens";

/// The admin kubeconfig, in the world's directory, that talks to the API server without the knob proxy.
const DIRECT_KUBECONFIG: &str = "direct.kubeconfig";

/// The real control plane, kube-sim's node on it, and the knob proxy its kubeconfig points at.
pub struct World {
    pub control_plane: ControlPlane,
    pub node: Node,
    /// `https://NODE_IP:PORT` of `proxy::Proxy` (what the kubeconfig names).
    pub proxy_url: String,
}

impl World {
    /// Boots etcd, kube-apiserver, kube-controller-manager and kube-scheduler from `bin` with their files in `dir`,
    /// then registers the node. Needs kube-sim's isolated process (`kubelet::isolate_process`).
    pub async fn start(bin: &Path, dir: &Path, knobs: knobs::Knobs) -> Result<Self, String> {
        // The node's address first: the API server's and the kubelet's certificates name it.
        let net = net::PodNet::new()?;
        let mut control_plane = ControlPlane::start(control_plane::Options {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            node_ip: net.node_ip.clone(),
        })
        .await?;
        let images = crate::kubelet::image::ImageMap::from_dir(bin);
        let mut node = match Node::start(&control_plane, net, images).await {
            Ok(node) => node,
            Err(e) => {
                control_plane.stop().await;
                return Err(e);
            }
        };
        let cp = &control_plane;
        let proxied = async {
            let (addr, _) = proxy::Proxy::start(
                &addr_host(&cp.server),
                &cp.pki.apiserver.cert_pem,
                &cp.pki.apiserver.key_pem,
                &cp.pki.ca.cert_pem,
                &cp.server,
                knobs,
            )
            .await?;
            let url = format!("https://{addr}");
            // The world's own setup (the scenario's apply) goes straight to the API server, as the components and
            // the node do: faults and request counts start after the scenario is loaded, so a
            // `--fault 409:PATCH:…` must not be spent on the scenario's server-side apply (a PATCH).
            {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                // It holds the admin token: 0600, as the control plane's own kubeconfigs.
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(cp.dir.join(DIRECT_KUBECONFIG))
                    .and_then(|mut f| {
                        f.write_all(
                            crate::kubeconfig::render(&cp.server, &cp.pki.ca.cert_pem, &cp.tokens)
                                .as_bytes(),
                        )
                    })
                    .map_err(|e| format!("writing {DIRECT_KUBECONFIG}: {e}"))?;
            }
            // The users' kubeconfig goes through the knobs; the components' own kubeconfigs do not.
            std::fs::write(
                &cp.kubeconfig,
                crate::kubeconfig::render(&url, &cp.pki.ca.cert_pem, &cp.tokens),
            )
            .map_err(|e| format!("writing {}: {e}", cp.kubeconfig.display()))?;
            Ok::<_, String>(url)
        };
        match proxied.await {
            Ok(proxy_url) => Ok(Self {
                control_plane,
                node,
                proxy_url,
            }),
            Err(e) => {
                node.stop().await;
                control_plane.stop().await;
                Err(e)
            }
        }
    }

    pub fn kubeconfig(&self) -> &PathBuf {
        &self.control_plane.kubeconfig
    }

    /// The admin kubeconfig that bypasses the knob proxy (for the world's own setup, never for tests' clients).
    pub fn direct_kubeconfig(&self) -> PathBuf {
        self.control_plane.dir.join(DIRECT_KUBECONFIG)
    }

    pub fn boot_time(&self) -> Duration {
        self.control_plane.boot_time
    }

    /// Pods get SIGTERM (their grace, capped), then the control plane stops.
    pub async fn stop(&mut self) {
        self.node.stop().await;
        self.control_plane.stop().await;
    }
}

/// The host of `https://host:port`.
fn addr_host(server: &str) -> String {
    let hp = server.strip_prefix("https://").unwrap_or(server);
    hp.rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(hp)
        .to_string()
}

/// One write of the kubelet toward the real API server, sent in order by one task.
enum Write {
    Status {
        ns: String,
        name: String,
        status: Value,
    },
    Event {
        involved: Value,
        reason: String,
        message: String,
        type_: String,
    },
    Terminated {
        ns: String,
        name: String,
        uid: String,
    },
}

/// The kubelet's writes go to the real API server; pod IPs come from `net::PodNet`.
pub struct RealBackend {
    writes: mpsc::UnboundedSender<Write>,
    net: net::PodNet,
    /// Pods (uids) whose final delete waits for their containers to stop.
    terminating: Arc<std::sync::Mutex<BTreeSet<String>>>,
}

impl NodeBackend for RealBackend {
    fn pod_status(&self, ns: &str, name: &str, status: Value) {
        let _ = self.writes.send(Write::Status {
            ns: ns.into(),
            name: name.into(),
            status,
        });
    }

    fn event(&self, involved: &Value, reason: &str, message: &str, type_: &str) {
        let _ = self.writes.send(Write::Event {
            involved: involved.clone(),
            reason: reason.into(),
            message: message.into(),
            type_: type_.into(),
        });
    }

    fn pod_terminated(
        &self,
        ns: &str,
        name: &str,
        uid: &str,
        stopped: Option<tokio::sync::watch::Receiver<bool>>,
    ) {
        let write = Write::Terminated {
            ns: ns.into(),
            name: name.into(),
            uid: uid.into(),
        };
        let pending = || self.terminating.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut stopped) = stopped else {
            // Seen again while the containers still stop (our own status write, another update): wait for that.
            if !pending().contains(uid) {
                let _ = self.writes.send(write);
            }
            return;
        };
        if !pending().insert(uid.to_string()) {
            return;
        }
        let (writes, terminating, uid) = (
            self.writes.clone(),
            self.terminating.clone(),
            uid.to_string(),
        );
        tokio::spawn(async move {
            // The kubelet's own stop is capped (grace, then SIGKILL); a minute is a stuck node, delete anyway.
            let _ = tokio::time::timeout(Duration::from_secs(60), stopped.wait_for(|s| *s)).await;
            let _ = writes.send(write);
            terminating
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&uid);
        });
    }

    fn pod_ip(&self, net: &PodNetwork, n: u32) -> Result<String, String> {
        self.net.attach(net, n)
    }
}

#[allow(clippy::print_stderr)]
fn warn(msg: &str) {
    eprintln!("kube-sim node: {msg}");
}

/// Sends the kubelet's writes in order. Status patches of a pod that are queued behind a newer one are skipped.
async fn writer(client: ApiClient, mirror: Arc<NodeCache>, mut rx: mpsc::UnboundedReceiver<Write>) {
    let mut seen = EventCache::new();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(w) = rx.try_recv() {
            batch.push(w);
        }
        let mut latest = std::collections::HashMap::new();
        for (i, w) in batch.iter().enumerate() {
            if let Write::Status { ns, name, .. } = w {
                latest.insert((ns.clone(), name.clone()), i);
            }
        }
        for (i, w) in batch.into_iter().enumerate() {
            let result = match w {
                Write::Status { ns, name, status } => {
                    if latest.get(&(ns.clone(), name.clone())) != Some(&i) {
                        continue;
                    }
                    let Some(current) = mirror.get("pods", &ns, &name) else {
                        continue;
                    };
                    client
                        .patch_merge(
                            &format!("/api/v1/namespaces/{ns}/pods/{name}/status"),
                            &status_patch(&current, status),
                        )
                        .await
                        .map(|r| (r, format!("status of pod {ns}/{name}")))
                }
                Write::Event {
                    involved,
                    reason,
                    message,
                    type_,
                } => {
                    send_event(&client, &mut seen, &involved, &reason, &message, &type_, "kubelet")
                        .await
                        .map(|r| (r, format!("event {reason}")))
                }
                Write::Terminated { ns, name, uid } => client
                    .delete_json(
                        &format!("/api/v1/namespaces/{ns}/pods/{name}"),
                        &json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                                "preconditions": {"uid": uid}}),
                    )
                    .await
                    .map(|r| (r, format!("final delete of pod {ns}/{name}"))),
            };
            match result {
                Ok((r, _)) if r.ok() || r.status == 404 || r.status == 409 => {}
                Ok((r, what)) => warn(&format!("{what}: {} {}", r.status, r.message())),
                Err(e) => warn(&e),
            }
        }
    }
}

/// Events already sent, by (involved uid, type, reason, message): their name, namespace and count.
pub(crate) type EventCache =
    std::collections::HashMap<(String, String, String, String), (String, String, i64)>;

/// Creates an Event, or counts a repeat on the one already sent, as client-go's recorder does
/// (tools/record/events_cache.go `EventCorrelator`: an identical event becomes a patch of `count` and
/// `lastTimestamp`; a new one is created when the old has expired). So a crash-looping or unready pod does not
/// write one object per probe.
/// `component` is the event's source (`kubelet`, or a CSI sidecar's name).
pub(crate) async fn send_event(
    client: &ApiClient,
    seen: &mut EventCache,
    involved: &Value,
    reason: &str,
    message: &str,
    type_: &str,
    component: &str,
) -> Result<crate::api_client::Reply, String> {
    let key = (
        involved["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        type_.to_string(),
        reason.to_string(),
        message.to_string(),
    );
    let now = crate::clock::now_rfc3339();
    if let Some((ns, name, count)) = seen.get(&key).cloned() {
        let r = client
            .patch_merge(
                &format!("/api/v1/namespaces/{ns}/events/{name}"),
                &json!({"count": count + 1, "lastTimestamp": now}),
            )
            .await?;
        if r.status != 404 {
            if r.ok() {
                seen.insert(key, (ns, name, count + 1));
            }
            return Ok(r);
        }
    }
    let ns = involved["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let name = format!(
        "{}.{}",
        involved["metadata"]["name"].as_str().unwrap_or("node"),
        crate::ids::random_suffix(10)
    );
    let ev = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": object_reference(involved), "reason": reason, "message": message, "type": type_,
        "source": {"component": component, "host": NODE_NAME},
        "reportingComponent": component, "reportingInstance": NODE_NAME,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    });
    let r = client
        .post_json(&format!("/api/v1/namespaces/{ns}/events"), &ev)
        .await?;
    if r.ok() {
        // client-go keeps an LRU of 4096; forgetting everything at once is the cruder bound.
        if seen.len() >= 4096 {
            seen.clear();
        }
        seen.insert(key, (ns, name, 1));
    }
    Ok(r)
}

/// The kubelet's status manager sends the two-way merge patch from the stored status to its own, with the pod's uid
/// as precondition (pkg/kubelet/status/status_manager.go, statusutil.PatchPodStatus); conditions it does not own
/// (PodScheduled, DisruptionTarget) are kept. Here: a JSON merge patch of the whole status, its lists complete (so a
/// container's old `waiting` state or a condition's old reason cannot survive, as they would in a strategic merge).
fn status_patch(current: &Value, mut status: Value) -> Value {
    let own: BTreeSet<String> = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["type"].as_str().map(String::from))
        .collect();
    let mut conditions: Vec<Value> = current["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["type"].as_str().is_some_and(|t| !own.contains(t)))
        .cloned()
        .collect();
    conditions.extend(
        status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .cloned(),
    );
    status["conditions"] = Value::Array(conditions);
    json!({"metadata": {"uid": current["metadata"]["uid"]}, "status": status})
}

/// core/v1 ObjectReference of an object (what an Event's involvedObject is).
fn object_reference(obj: &Value) -> Value {
    let m = &obj["metadata"];
    let mut r = json!({"kind": obj["kind"], "apiVersion": obj["apiVersion"], "name": m["name"], "uid": m["uid"]});
    if let Some(ns) = m["namespace"].as_str() {
        r["namespace"] = json!(ns);
    }
    r
}

/// The names of the ConfigMaps, Secrets and claims a pod reads (volumes, env, envFrom).
fn references(pod: &Value) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let (mut cms, mut secrets, mut claims) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let s = |v: &Value| v.as_str().map(String::from);
    for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        cms.extend(s(&v["configMap"]["name"]));
        secrets.extend(s(&v["secret"]["secretName"]));
        claims.extend(s(&v["persistentVolumeClaim"]["claimName"]));
        for src in v["projected"]["sources"].as_array().into_iter().flatten() {
            cms.extend(s(&src["configMap"]["name"]));
            secrets.extend(s(&src["secret"]["name"]));
        }
    }
    for list in ["initContainers", "containers"] {
        for c in pod["spec"][list].as_array().into_iter().flatten() {
            for e in c["env"].as_array().into_iter().flatten() {
                cms.extend(s(&e["valueFrom"]["configMapKeyRef"]["name"]));
                secrets.extend(s(&e["valueFrom"]["secretKeyRef"]["name"]));
            }
            for e in c["envFrom"].as_array().into_iter().flatten() {
                cms.extend(s(&e["configMapRef"]["name"]));
                secrets.extend(s(&e["secretRef"]["name"]));
            }
        }
    }
    (cms, secrets, claims)
}

/// GET one object into the mirror (absent → removed from it), with kind/apiVersion the list form lacks.
async fn mirror_one(
    client: &ApiClient,
    mirror: &NodeCache,
    resource: &str,
    path: &str,
    ns: &str,
    name: &str,
) -> Option<Value> {
    match client.get(path).await {
        Ok(r) if r.ok() => {
            let v = r.json();
            mirror.put(resource, v.clone());
            Some(v)
        }
        Ok(r) if r.status == 404 => {
            mirror.remove(resource, ns, name);
            None
        }
        // 403 right after a pod is bound: the Node authorizer's graph has not seen the binding yet
        // (plugin/pkg/auth/authorizer/node/graph_populator.go fills it from informers); the 2 s refresh retries.
        Ok(r) if r.status == 403 => None,
        Ok(r) => {
            warn(&format!("reading {path}: {} {}", r.status, r.message()));
            None
        }
        Err(e) => {
            warn(&e);
            None
        }
    }
}

/// A token for the pod's ServiceAccount bound to the pod, as the kubelet's token manager requests it
/// (pkg/kubelet/token/token_manager.go; the Node authorizer allows it for pods bound to this node). One per pod,
/// with the API server's default audience and an hour's life; requested again when the pod changes uid.
async fn mirror_token(client: &ApiClient, mirror: &NodeCache, pod: &Value) {
    let wants = pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|v| v["projected"]["sources"].as_array().into_iter().flatten())
        .any(|s| s["serviceAccountToken"].is_object());
    let (ns, name, uid) = (
        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
        pod["metadata"]["name"].as_str().unwrap_or_default(),
        pod["metadata"]["uid"].as_str().unwrap_or_default(),
    );
    if !wants
        || mirror
            .get(SA_TOKENS, ns, name)
            .is_some_and(|t| t["metadata"]["uid"] == uid)
    {
        return;
    }
    let sa = pod["spec"]["serviceAccountName"]
        .as_str()
        .unwrap_or("default");
    let request = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600,
                 "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": uid}}});
    match client
        .post_json(
            &format!("/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token"),
            &request,
        )
        .await
    {
        Ok(r) if r.ok() => {
            if let Some(token) = r.json()["status"]["token"].as_str() {
                mirror.put(
                    SA_TOKENS,
                    json!({"metadata": {"namespace": ns, "name": name, "uid": uid}, "token": token}),
                );
            }
        }
        // Not yet in the Node authorizer's graph (see mirror_one): the 2 s refresh retries.
        Ok(r) if r.status == 403 => {}
        Ok(r) => warn(&format!(
            "requesting a token for pod {ns}/{name}: {} {}",
            r.status,
            r.message()
        )),
        Err(e) => warn(&e),
    }
}

/// Brings the pod's referenced objects into the mirror before the pod itself (so its volumes can be set up).
async fn mirror_references(client: &ApiClient, mirror: &NodeCache, pod: &Value) {
    mirror_token(client, mirror, pod).await;
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let (cms, secrets, claims) = references(pod);
    for n in cms {
        mirror_one(
            client,
            mirror,
            "configmaps",
            &format!("/api/v1/namespaces/{ns}/configmaps/{n}"),
            ns,
            &n,
        )
        .await;
    }
    for n in secrets {
        mirror_one(
            client,
            mirror,
            "secrets",
            &format!("/api/v1/namespaces/{ns}/secrets/{n}"),
            ns,
            &n,
        )
        .await;
    }
    for n in claims {
        let pvc = mirror_one(
            client,
            mirror,
            "persistentvolumeclaims",
            &format!("/api/v1/namespaces/{ns}/persistentvolumeclaims/{n}"),
            ns,
            &n,
        )
        .await;
        let Some(pv) = pvc
            .as_ref()
            .and_then(|c| c["spec"]["volumeName"].as_str())
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        let pv = mirror_one(
            client,
            mirror,
            "persistentvolumes",
            &format!("/api/v1/persistentvolumes/{pv}"),
            "",
            pv,
        )
        .await;
        if let Some(driver) = pv
            .as_ref()
            .and_then(|p| p["spec"]["csi"]["driver"].as_str())
        {
            mirror_one(
                client,
                mirror,
                "csidrivers.storage.k8s.io",
                &format!("/apis/storage.k8s.io/v1/csidrivers/{driver}"),
                "",
                driver,
            )
            .await;
        }
    }
}

fn with_kind(mut pod: Value) -> Value {
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    pod
}

/// List + watch of the pods bound to this node into the mirror, relisting whenever the watch ends.
async fn reflect_pods(client: ApiClient, mirror: Arc<NodeCache>) {
    let selector = format!("fieldSelector=spec.nodeName%3D{NODE_NAME}");
    loop {
        let list = match client.get(&format!("/api/v1/pods?{selector}")).await {
            Ok(r) if r.ok() => r.json(),
            Ok(r) => {
                warn(&format!("listing pods: {} {}", r.status, r.message()));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => {
                warn(&e);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut live = BTreeSet::new();
        for p in list["items"].as_array().into_iter().flatten() {
            live.insert(pod_key(p));
            mirror_references(&client, &mirror, p).await;
            mirror.put("pods", with_kind(p.clone()));
        }
        for p in mirror.list("pods", None) {
            if !live.contains(&pod_key(&p)) {
                mirror.remove(
                    "pods",
                    p["metadata"]["namespace"].as_str().unwrap_or_default(),
                    p["metadata"]["name"].as_str().unwrap_or_default(),
                );
            }
        }
        let rv = list["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .to_string();
        let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
        let path = format!(
            "/api/v1/pods?{selector}&watch=1&allowWatchBookmarks=true&resourceVersion={rv}"
        );
        let watch = client.watch(&path, move |ev| {
            let _ = tx.send(ev);
        });
        let apply = async {
            while let Some(ev) = rx.recv().await {
                let obj = &ev["object"];
                match ev["type"].as_str() {
                    Some("ADDED") | Some("MODIFIED") => {
                        mirror_references(&client, &mirror, obj).await;
                        mirror.put("pods", with_kind(obj.clone()));
                    }
                    Some("DELETED") => mirror.remove(
                        "pods",
                        obj["metadata"]["namespace"].as_str().unwrap_or_default(),
                        obj["metadata"]["name"].as_str().unwrap_or_default(),
                    ),
                    // ERROR (410 Gone and the like): relist.
                    Some("ERROR") => return,
                    _ => {}
                }
            }
        };
        tokio::select! {
            r = watch => if let Err(e) = r { warn(&e); tokio::time::sleep(Duration::from_secs(1)).await; },
            _ = apply => {}
        }
    }
}

/// Re-reads what the node's pods reference every 2 s (the kubelet refreshes ConfigMap volumes from the mirror).
async fn refresh_references(client: ApiClient, mirror: Arc<NodeCache>) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        for p in mirror.list("pods", None) {
            mirror_references(&client, &mirror, &p).await;
        }
    }
}

fn pod_key(p: &Value) -> String {
    format!(
        "{}/{}",
        p["metadata"]["namespace"].as_str().unwrap_or_default(),
        p["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// MicroTime as the API wants it (metav1.MicroTime: RFC 3339 with microseconds).
fn micro_now() -> String {
    crate::clock::now_rfc3339().replace('Z', ".000000Z")
}

/// Node conditions as a healthy kubelet reports them (pkg/kubelet/nodestatus/setters.go: MemoryPressureCondition,
/// DiskPressureCondition, PIDPressureCondition, ReadyCondition — reasons and messages from there).
fn conditions(since: &str) -> Value {
    let now = crate::clock::now_rfc3339();
    let c = |t: &str, s: &str, reason: &str, msg: &str| {
        json!({"type": t, "status": s, "reason": reason, "message": msg,
               "lastHeartbeatTime": now, "lastTransitionTime": since})
    };
    json!([
        c(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        c(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        c(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        c(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status"
        ),
    ])
}

/// A first line of a file, trimmed ("" when unreadable).
fn read_line(path: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_default()
}

/// The machine as the kubelet reports it (cadvisor's MachineInfo via the nodestatus MachineInfo / NodeInfo setters):
/// CPUs, memory from /proc/meminfo, kernel, machine-id, boot id; 110 pods is the kubelet's default --max-pods.
fn machine() -> (Value, Value) {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(4 * 1024 * 1024);
    let resources = json!({"cpu": cpus.to_string(), "memory": format!("{mem_kib}Ki"), "pods": "110",
                           "ephemeral-storage": "20Gi"});
    let info = json!({"machineID": read_line("/etc/machine-id"),
        "systemUUID": read_line("/sys/class/dmi/id/product_uuid"),
        "bootID": read_line("/proc/sys/kernel/random/boot_id"),
        "kernelVersion": read_line("/proc/sys/kernel/osrelease"), "osImage": "kube-sim",
        "containerRuntimeVersion": "kube-sim://0.1", "kubeletVersion": "v1.36.3+kube-sim",
        "kubeProxyVersion": "", "operatingSystem": "linux",
        "architecture": std::env::consts::ARCH.replace("x86_64", "amd64")});
    (resources, info)
}

fn node_object(node_ip: &str, port: u16, since: &str) -> Value {
    let (resources, node_info) = machine();
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}},
        "spec": {},
        "status": {
            "addresses": [{"type": "InternalIP", "address": node_ip}, {"type": "Hostname", "address": NODE_NAME}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "capacity": resources, "allocatable": resources,
            "conditions": conditions(since),
            "nodeInfo": node_info,
            "declaredFeatures": ["ExtendWebSocketsToKubelet"],
        }
    })
}

/// The node: its kubelet, the kubelet API's port and the tasks that keep it registered and in sync.
pub struct Node {
    pub kubelet: Arc<Kubelet>,
    pub port: u16,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Node {
    pub async fn start(
        cp: &ControlPlane,
        net: net::PodNet,
        images: crate::kubelet::image::ImageMap,
    ) -> Result<Self, String> {
        let node_ip = net.node_ip.clone();
        let client = ApiClient::new(
            &cp.server,
            &cp.pki.ca.cert_pem,
            Credentials::ClientCert {
                cert_pem: cp.pki.node_client.cert_pem.clone(),
                key_pem: cp.pki.node_client.key_pem.clone(),
            },
        )?;
        let mirror = Arc::new(NodeCache::new());
        let (wtx, wrx) = mpsc::unbounded_channel();
        let backend = Arc::new(RealBackend {
            writes: wtx,
            net,
            terminating: Default::default(),
        });
        let kubelet = Kubelet::start_with(mirror.clone(), backend, NODE_NAME, &node_ip, images)?;
        // No kube-proxy: pods reach the API server at its own address (it listens on the node's), not 10.96.0.1.
        let api_port = cp.server.rsplit(':').next().unwrap_or("443").to_string();
        let _ = kubelet.service_env.set(vec![
            ("KUBERNETES_SERVICE_HOST".into(), node_ip.clone()),
            ("KUBERNETES_SERVICE_PORT".into(), api_port.clone()),
            ("KUBERNETES_SERVICE_PORT_HTTPS".into(), api_port.clone()),
            (
                "KUBERNETES_PORT".into(),
                format!("tcp://{node_ip}:{api_port}"),
            ),
        ]);
        let agent = Arc::new(KubeletAgent(kubelet.clone()));
        let listener = tokio::net::TcpListener::bind((node_ip.as_str(), 0))
            .await
            .map_err(|e| format!("binding the kubelet API: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("the kubelet API's port: {e}"))?
            .port();
        let tls = kubelet_tls(cp)?;
        let mut tasks = vec![tokio::spawn(serve_kubelet_api(listener, tls, agent))];

        // Register (kubelet_node_status.go registerWithAPIServer: create; on AlreadyExists, patch status).
        let since = crate::clock::now_rfc3339();
        let node = node_object(&node_ip, port, &since);
        let r = client.post_json("/api/v1/nodes", &node).await?;
        if !r.ok() && r.status != 409 {
            return Err(format!(
                "registering node {NODE_NAME}: {} {}",
                r.status,
                r.message()
            ));
        }
        let r = client
            .patch_strategic(
                &format!("/api/v1/nodes/{NODE_NAME}/status"),
                &json!({"status": node["status"]}),
            )
            .await?;
        if !r.ok() {
            return Err(format!(
                "writing node {NODE_NAME}'s status: {} {}",
                r.status,
                r.message()
            ));
        }
        let node_uid = r.json()["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // The storage driver: its install (CSIDrivers, StorageClasses, the sidecars' RBAC), the CSINode the kubelet
        // registers for it, its controller sidecars and the kubelet's node expansion.
        csi::install(&cp.admin_client()?).await?;
        let r = client
            .post_json("/apis/storage.k8s.io/v1/csinodes", &csi::csinode(&node_uid))
            .await?;
        if !r.ok() && r.status != 409 {
            return Err(format!(
                "registering the CSINode: {} {}",
                r.status,
                r.message()
            ));
        }
        let csi_client = ApiClient::new(
            &cp.server,
            &cp.pki.ca.cert_pem,
            Credentials::ClientCert {
                cert_pem: cp.pki.csi_controller.cert_pem.clone(),
                key_pem: cp.pki.csi_controller.key_pem.clone(),
            },
        )?;
        tasks.push(tokio::spawn(csi::controller(csi_client, kubelet.clone())));
        tasks.push(tokio::spawn(csi::node_expander(
            client.clone(),
            kubelet.clone(),
            mirror.clone(),
        )));
        tasks.push(tokio::spawn(heartbeat(client.clone(), node_uid, since)));
        tasks.push(tokio::spawn(writer(client.clone(), mirror.clone(), wrx)));
        tasks.push(tokio::spawn(reflect_pods(client.clone(), mirror.clone())));
        tasks.push(tokio::spawn(refresh_references(client, mirror)));
        Ok(Self {
            kubelet,
            port,
            tasks,
        })
    }

    pub async fn stop(&mut self) {
        self.kubelet.shutdown().await;
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

/// The Lease every 10 s and the Node's conditions (heartbeat times) with it.
async fn heartbeat(client: ApiClient, node_uid: String, since: String) {
    let lease_path =
        format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{NODE_NAME}");
    loop {
        let spec = json!({"holderIdentity": NODE_NAME, "leaseDurationSeconds": 40, "renewTime": micro_now()});
        let renewed = client
            .patch_strategic(&lease_path, &json!({"spec": spec}))
            .await;
        if matches!(&renewed, Ok(r) if r.status == 404) {
            // pkg/kubelet/nodelease: the Lease is owned by the Node, so it goes with it.
            let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": NODE_NAME, "namespace": "kube-node-lease",
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": NODE_NAME, "uid": node_uid}]},
                "spec": spec});
            if let Ok(r) = client
                .post_json(
                    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                    &lease,
                )
                .await
                && !r.ok()
            {
                warn(&format!(
                    "creating the node Lease: {} {}",
                    r.status,
                    r.message()
                ));
            }
        }
        let _ = client
            .patch_strategic(
                &format!("/api/v1/nodes/{NODE_NAME}/status"),
                &json!({"status": {"conditions": conditions(&since)}}),
            )
            .await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

/// TLS for the kubelet API: the node's serving certificate; clients must present a certificate of the cluster CA.
fn kubelet_tls(cp: &ControlPlane) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(cp.pki.ca.cert_pem.as_bytes()) {
        roots
            .add(c.map_err(|e| format!("the cluster CA: {e}"))?)
            .map_err(|e| format!("the cluster CA: {e}"))?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| format!("the kubelet API's client verifier: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(cp.pki.kubelet_serving.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the kubelet certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(cp.pki.kubelet_serving.key_pem.as_bytes())
        .map_err(|e| format!("the kubelet key: {e}"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

async fn serve_kubelet_api(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    agent: Arc<KubeletAgent>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, agent) = (acceptor.clone(), agent.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let svc = hyper::service::service_fn(move |req| {
                let agent = agent.clone();
                async move { Ok::<_, std::convert::Infallible>(kubelet_api(agent, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}

fn plain(code: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(crate::http::full(text.to_string()));
    *r.status_mut() = code;
    r
}

/// Routes the kubelet API (pkg/kubelet/server/server.go) to its handlers (`kubelet::handlers`): the container moves
/// from the path into the `container` query parameter they read.
async fn kubelet_api(
    agent: Arc<KubeletAgent>,
    req: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["healthz"] => plain(StatusCode::OK, "ok"),
        ["stats", "summary"] => {
            crate::http::json_response(200, &crate::kubelet::handlers::stats_summary(&agent.0))
        }
        [verb @ ("containerLogs" | "exec"), ns, pod, container] => {
            let sub = if *verb == "exec" {
                PodSubresource::Exec
            } else {
                PodSubresource::Log
            };
            let (ns, pod) = (ns.to_string(), pod.to_string());
            let query = match req.uri().query() {
                Some(q) if !q.is_empty() => format!("{q}&container={container}"),
                _ => format!("container={container}"),
            };
            let (mut head, body) = req.into_parts();
            head.uri = match format!("{path}?{query}").parse() {
                Ok(u) => u,
                Err(_) => return plain(StatusCode::BAD_REQUEST, "bad request path"),
            };
            agent
                .pod_subresource(Request::from_parts(head, body), ns, pod, sub)
                .await
        }
        _ => {
            let _ = req.into_body().collect().await;
            plain(StatusCode::NOT_FOUND, "404 page not found\n")
        }
    }
}
