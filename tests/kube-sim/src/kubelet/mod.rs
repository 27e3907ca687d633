//! The kubelet of the one node `kube-sim-node`: pods as real processes (see `pod`), their volumes, and the kubelet
//! API (`handlers`: log, exec, proxy, stats/summary). `node::Node` starts it with `Kubelet::start_with` on the node's
//! cache of the real API server (`node::cache`) and a `NodeBackend` for its writes, and calls
//! `Kubelet::shutdown().await` before exit. The binary must call `kubelet::isolate_process()` first thing in `main`
//! (private mount namespace + PID namespace, see `isolate`).
//!
//! Storage: a PV's filesystem is a tmpfs of `spec.capacity.storage` created when a pod first mounts it (hostPath PVs
//! bind the host path). fsGroup applies to emptyDir/configMap/secret/projected volumes and to PVs except hostPath and
//! CSI drivers whose CSIDriver `fsGroupPolicy` is `None` (or `ReadWriteOnceWithFSType`, the default, without fsType or
//! without ReadWriteOnce).
pub mod backend;
pub mod handlers;
pub mod image;
pub mod isolate;
pub mod logs;
pub mod netns;
pub mod pod;
pub mod probe;
pub mod rootfs;
pub mod volumes;

pub use image::PROMETHEUS_BIN;
pub use isolate::{isolate_process, node_pid, unsupported_reason};

use crate::node::cache::{EventType, NodeCache};
use k8s_openapi::api::core::v1::Pod;
use pod::PodHandle;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// The node filesystem of a PV (tmpfs or a host path), with the pods that use it.
struct PvBacking {
    path: PathBuf,
    tmpfs: bool,
    /// Current filesystem size (tmpfs only).
    bytes: u64,
    users: std::collections::BTreeSet<String>,
}

pub struct Kubelet {
    /// What the kubelet reads and watches: the node's cache of the real API server.
    pub cache: Arc<NodeCache>,
    /// Where its writes go.
    pub backend: Arc<dyn backend::NodeBackend>,
    /// Binaries beyond Debian's for some images (the real control plane's node: Prometheus 3).
    pub images: image::ImageMap,
    /// Variables every container gets before its own env (the real control plane's node: where the API server is,
    /// the kubelet's `KUBERNETES_SERVICE_HOST`/`_PORT`, pkg/kubelet/kubelet_pods.go getServiceEnvVarMap).
    pub service_env: std::sync::OnceLock<Vec<(String, String)>>,
    pub node: String,
    pub host_ip: String,
    state_dir: PathBuf,
    pods: Mutex<HashMap<String, Arc<PodHandle>>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    pvs: Mutex<BTreeMap<String, PvBacking>>,
    next_ip: AtomicU32,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Kubelet {
    /// Creates the node's state directory (a tmpfs, so nothing survives us even on SIGKILL but the empty mount
    /// point) and starts watching the cache for pods bound to `node`.
    pub fn start_with(
        cache: Arc<NodeCache>,
        backend: Arc<dyn backend::NodeBackend>,
        node: &str,
        host_ip: &str,
        images: image::ImageMap,
    ) -> Result<Arc<Self>, String> {
        // Without the private mount namespace every tmpfs and overlay would land in the host's namespace and
        // outlive a crashed or killed process.
        if !isolate::is_isolated() {
            return Err("the kubelet needs an isolated process: call kube_sim::kubelet::isolate_process() first thing in main \
                 (the kube-sim binary does)"
                .into());
        }
        static INSTANCE: AtomicU32 = AtomicU32::new(0);
        let n = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let state_dir =
            std::env::temp_dir().join(format!("kube-sim-node-{}-{n}", isolate::node_pid()));
        remove_stale_state_dirs();
        std::fs::create_dir_all(&state_dir)
            .map_err(|e| format!("creating {}: {e}", state_dir.display()))?;
        nix::mount::mount(
            Some("tmpfs"),
            &state_dir,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("mode=0755"),
        )
        .map_err(|e| {
            format!(
                "mounting the node state tmpfs at {}: {e}",
                state_dir.display()
            )
        })?;
        let kubelet = Arc::new(Self {
            cache,
            backend,
            images,
            service_env: std::sync::OnceLock::new(),
            node: node.to_string(),
            host_ip: host_ip.to_string(),
            state_dir,
            pods: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            pvs: Mutex::new(BTreeMap::new()),
            next_ip: AtomicU32::new(10),
        });
        let k = kubelet.clone();
        let watcher = tokio::spawn(async move { k.watch_pods().await });
        lock(&kubelet.tasks).push(watcher);
        Ok(kubelet)
    }

    async fn watch_pods(self: Arc<Self>) {
        let mut rx = self.cache.subscribe();
        let pods = self.cache.list("pods", None);
        for p in pods {
            self.observe(EventType::Added, &p);
        }
        loop {
            match rx.recv().await {
                Ok(ev) if ev.resource == "pods" => self.observe(ev.kind, &ev.object),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let pods = self.cache.list("pods", None);
                    let live: std::collections::HashSet<String> =
                        pods.iter().map(pod_key).collect();
                    let gone: Vec<String> = lock(&self.pods)
                        .keys()
                        .filter(|k| !live.contains(*k))
                        .cloned()
                        .collect();
                    for k in gone {
                        self.stop_pod(&k);
                    }
                    for p in pods {
                        self.observe(EventType::Added, &p);
                    }
                }
                Err(_) => return,
            }
        }
    }

    fn observe(self: &Arc<Self>, kind: EventType, obj: &serde_json::Value) {
        let key = pod_key(obj);
        if kind == EventType::Deleted {
            self.stop_pod(&key);
            return;
        }
        if obj["spec"]["nodeName"].as_str() != Some(self.node.as_str()) {
            return;
        }
        let known_uid = lock(&self.pods).get(&key).map(|h| h.uid.clone());
        let uid = obj["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if obj["metadata"]
            .get("deletionTimestamp")
            .is_some_and(|t| !t.is_null())
        {
            let stopped = lock(&self.pods)
                .get(&key)
                .filter(|h| h.uid == uid)
                .map(|h| h.stopped.subscribe());
            if known_uid.is_some() {
                self.stop_pod(&key);
            }
            // Graceful deletion ends with the kubelet's final delete once the containers are gone.
            self.backend.pod_terminated(
                obj["metadata"]["namespace"].as_str().unwrap_or_default(),
                obj["metadata"]["name"].as_str().unwrap_or_default(),
                &uid,
                stopped,
            );
            return;
        }
        match known_uid {
            Some(u) if u == uid => return,
            Some(_) => self.stop_pod(&key),
            None => {}
        }
        let phase = obj["status"]["phase"].as_str().unwrap_or_default();
        if phase == "Succeeded" || phase == "Failed" {
            return;
        }
        let Ok(pod) = serde_json::from_value::<Pod>(obj.clone()) else {
            return;
        };
        let n = self.next_ip.fetch_add(1, Ordering::Relaxed);
        let sandbox =
            netns::PodNetwork::create().and_then(|net| Ok((self.backend.pod_ip(&net, n)?, net)));
        let (ip, net) = match sandbox {
            Ok(s) => s,
            Err(e) => {
                self.backend.event(
                    obj,
                    "FailedCreatePodSandBox",
                    &format!("Failed to create pod sandbox: {e}"),
                    "Warning",
                );
                return;
            }
        };
        let dir = self.state_dir.join("pods").join(&uid);
        let handle = PodHandle::new(pod, net, dir, ip);
        lock(&self.pods).insert(key, handle.clone());
        let task = tokio::spawn(pod::run(self.clone(), handle));
        lock(&self.tasks).push(task);
    }

    fn stop_pod(&self, key: &str) {
        if let Some(h) = lock(&self.pods).remove(key) {
            let _ = h.stop_tx.send(true);
        }
    }

    pub fn pod(&self, ns: &str, name: &str) -> Option<Arc<PodHandle>> {
        lock(&self.pods).get(&format!("{ns}/{name}")).cloned()
    }

    pub fn pods(&self) -> Vec<Arc<PodHandle>> {
        lock(&self.pods).values().cloned().collect()
    }

    /// Stops every pod (containers get SIGTERM, then SIGKILL after their grace, capped at 5 s), unmounts everything,
    /// removes the state directory.
    pub async fn shutdown(&self) {
        let keys: Vec<String> = lock(&self.pods).keys().cloned().collect();
        for k in keys {
            self.stop_pod(&k);
        }
        let tasks: Vec<_> = std::mem::take(&mut *lock(&self.tasks));
        for t in &tasks[..1.min(tasks.len())] {
            t.abort();
        }
        for t in tasks.into_iter().skip(1) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(8), t).await;
        }
        let pvs: Vec<PathBuf> = std::mem::take(&mut *lock(&self.pvs))
            .into_values()
            .filter(|b| b.tmpfs)
            .map(|b| b.path)
            .collect();
        for p in pvs {
            let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = nix::mount::umount2(&self.state_dir, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&self.state_dir);
    }

    /// The node path of claim `ns/claim` (for pod volume `volume`) and whether fsGroup applies to it.
    /// Users are pod UIDs: offline expansion waits until none is left.
    fn claim_backing(
        &self,
        ns: &str,
        claim: &str,
        volume: &str,
        pod_uid: &str,
    ) -> Result<(PathBuf, bool), String> {
        let pvc = self
            .cache
            .get("persistentvolumeclaims", ns, claim)
            .ok_or_else(|| format!("persistentvolumeclaim \"{claim}\" not found"))?;
        let pv_name = pvc["spec"]["volumeName"]
            .as_str()
            .filter(|s| !s.is_empty())
            .filter(|_| pvc["status"]["phase"] == "Bound");
        let Some(pv_name) = pv_name else {
            return Err(format!(
                "Unable to attach or mount volumes: unmounted volumes=[{volume}]: timed out waiting for the condition (claim \"{claim}\" is not bound)"
            ));
        };
        let pv = self
            .cache
            .get("persistentvolumes", "", pv_name)
            .ok_or_else(|| format!("persistentvolume \"{pv_name}\" not found"))?;
        let fs_group = self.fs_group_applies(&pv);
        let capacity = pv["spec"]["capacity"]["storage"]
            .as_str()
            .and_then(crate::quantity::bytes);
        let live = self.live_pod_uids();
        let mut pvs = lock(&self.pvs);
        if let Some(b) = pvs.get_mut(pv_name) {
            b.users.retain(|u| live.contains(u));
            // A claim grown while unused (offline expansion) gets its filesystem resized when mounted again, as the
            // kubelet's NodeExpandVolume does during mount.
            if let Some(want) = capacity.filter(|w| b.tmpfs && b.users.is_empty() && *w > b.bytes) {
                volumes::resize_tmpfs(&b.path, want)?;
                b.bytes = want;
            }
            b.users.insert(pod_uid.to_string());
            return Ok((b.path.clone(), fs_group));
        }
        let backing = if let Some(host) = pv["spec"]["hostPath"]["path"].as_str() {
            std::fs::create_dir_all(host).map_err(|e| format!("creating hostPath {host}: {e}"))?;
            PvBacking {
                path: PathBuf::from(host),
                tmpfs: false,
                bytes: 0,
                users: Default::default(),
            }
        } else {
            let bytes = capacity.ok_or_else(|| {
                format!("persistentvolume \"{pv_name}\" has no spec.capacity.storage")
            })?;
            let path = self.state_dir.join("pvs").join(pv_name);
            volumes::mount_tmpfs(&path, bytes)?;
            PvBacking {
                path,
                tmpfs: true,
                bytes,
                users: Default::default(),
            }
        };
        let path = backing.path.clone();
        pvs.insert(pv_name.to_string(), backing);
        if let Some(b) = pvs.get_mut(pv_name) {
            b.users.insert(pod_uid.to_string());
        }
        Ok((path, fs_group))
    }

    /// CSIDriver.spec.fsGroupPolicy decides for CSI PVs (default ReadWriteOnceWithFSType); never for hostPath.
    fn fs_group_applies(&self, pv: &serde_json::Value) -> bool {
        if pv["spec"].get("hostPath").is_some_and(|h| !h.is_null()) {
            return false;
        }
        let Some(driver) = pv["spec"]["csi"]["driver"].as_str() else {
            return true;
        };
        let policy = self
            .cache
            .get("csidrivers.storage.k8s.io", "", driver)
            .and_then(|d| d["spec"]["fsGroupPolicy"].as_str().map(String::from))
            .unwrap_or_else(|| "ReadWriteOnceWithFSType".into());
        match policy.as_str() {
            "None" => false,
            "File" => true,
            _ => {
                let fs_type = pv["spec"]["csi"]["fsType"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty());
                let rwo = pv["spec"]["accessModes"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m == "ReadWriteOnce"));
                fs_type && rwo
            }
        }
    }

    fn live_pod_uids(&self) -> std::collections::HashSet<String> {
        lock(&self.pods).values().map(|h| h.uid.clone()).collect()
    }

    fn release_volumes(&self, handle: &PodHandle) {
        for b in lock(&self.pvs).values_mut() {
            b.users.remove(&handle.uid);
        }
    }

    /// The storage driver's DeleteVolume on this node (real control plane, `node::csi`): the PV's tmpfs is unmounted
    /// and its directory removed, unless a live pod still uses it (false: try again later). A PV never mounted here,
    /// or a host path (never ours to delete), is simply forgotten.
    pub fn delete_volume(&self, pv_name: &str) -> bool {
        let live = self.live_pod_uids();
        let mut pvs = lock(&self.pvs);
        let Some(b) = pvs.get_mut(pv_name) else {
            return true;
        };
        b.users.retain(|u| live.contains(u));
        if !b.users.is_empty() {
            return false;
        }
        if let Some(b) = pvs.remove(pv_name)
            && b.tmpfs
        {
            let _ = nix::mount::umount2(&b.path, nix::mount::MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir(&b.path);
        }
        true
    }

    /// The node-side step of a volume expansion: grows the PV's filesystem in place (data kept). Offline expansion
    /// is refused while a pod uses the volume (`Ok(false)`: retry after the pod is gone).
    pub fn expand_volume(
        &self,
        pv_name: &str,
        new_bytes: u64,
        online: bool,
    ) -> Result<bool, String> {
        let live = self.live_pod_uids();
        let mut pvs = lock(&self.pvs);
        let Some(b) = pvs.get_mut(pv_name) else {
            // Not mounted on this node yet: the filesystem is created at the new capacity when first used.
            return Ok(true);
        };
        if !b.tmpfs || b.bytes >= new_bytes {
            return Ok(true);
        }
        // Pods being torn down (already removed from the node's pod map) no longer hold the volume.
        b.users.retain(|u| live.contains(u));
        if !online && !b.users.is_empty() {
            return Ok(false);
        }
        volumes::resize_tmpfs(&b.path, new_bytes)?;
        b.bytes = new_bytes;
        Ok(true)
    }
}

fn pod_key(obj: &serde_json::Value) -> String {
    format!(
        "{}/{}",
        obj["metadata"]["namespace"].as_str().unwrap_or_default(),
        obj["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// Empty state mount points left by a simulator that was SIGKILLed (its tmpfs vanished with its namespace).
fn remove_stale_state_dirs() {
    let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(pid) = name
            .strip_prefix("kube-sim-node-")
            .and_then(|p| p.split('-').next()?.parse::<i32>().ok())
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir(e.path());
        }
    }
}
