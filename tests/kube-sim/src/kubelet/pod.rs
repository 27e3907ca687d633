//! One pod on the node: its sandbox (network namespace, volumes), init containers in order, then every container
//! under the restart policy with CrashLoopBackOff, probes, and the pod status the kubelet writes (phase,
//! conditions, container statuses with state/lastState/restartCount/ready). The decisions (phase, conditions,
//! backoff) are pure functions over the recorded state, unit-tested below.
use super::image::{self, Behaviour};
use super::logs::LogBuffer;
use super::netns::PodNetwork;
use super::rootfs::{self, ContainerRoot, ImageDir, MountSpec, ProcessSpec};
use super::volumes::{self, Payload};
use super::{Kubelet, probe};
use crate::clock;
use k8s_openapi::api::core::v1::{Container, Pod, Volume};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How a container instance ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Terminated {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    pub container_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: String,
    },
    Terminated(Terminated),
}

/// What an exec into a running container needs: its root and identity.
#[derive(Debug, Clone)]
pub struct ExecTarget {
    pub root: PathBuf,
    pub spec: ProcessSpec,
}

/// (current instance's log, previous instance's log, state) of one container.
pub type ContainerLogs = (Option<Arc<LogBuffer>>, Option<Arc<LogBuffer>>, State);

pub struct ContainerRec {
    pub init: bool,
    pub image: String,
    pub state: State,
    pub last_state: Option<Terminated>,
    pub restart_count: i32,
    pub ready: bool,
    pub started: bool,
    pub current_log: Option<Arc<LogBuffer>>,
    pub previous_log: Option<Arc<LogBuffer>>,
    pub exec_target: Option<ExecTarget>,
}

/// A pod volume as the node sees it: where its content lives, and its claim when PVC-backed.
#[derive(Debug, Clone)]
pub struct PodVolume {
    pub path: PathBuf,
    pub pvc: Option<String>,
}

pub struct PodHandle {
    pub ns: String,
    pub name: String,
    pub uid: String,
    pub pod: Pod,
    pub net: PodNetwork,
    pub dir: PathBuf,
    pub ip: String,
    pub start_time: String,
    pub volumes: Mutex<BTreeMap<String, PodVolume>>,
    pub containers: Mutex<BTreeMap<String, ContainerRec>>,
    pub stop_tx: watch::Sender<bool>,
    /// True once every container is gone and the pod's directory removed (`run` returned).
    pub stopped: watch::Sender<bool>,
    pub pod_failed: Mutex<bool>,
    transitions: Mutex<BTreeMap<String, (String, String)>>,
    /// Held from computing a status to handing it to the backend: two containers' tasks publishing at once could
    /// otherwise write in the other order, leaving the older status (a started container still "ContainerCreating")
    /// as the last one written, with nothing left to publish again. The kubelet's status manager orders them too: each
    /// status is versioned and written by one goroutine (pkg/kubelet/status/status_manager.go `versionedPodStatus`,
    /// `syncBatch`).
    publishing: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PodHandle {
    pub fn new(pod: Pod, net: PodNetwork, dir: PathBuf, ip: String) -> Arc<Self> {
        let meta = &pod.metadata;
        let spec = pod.spec.clone().unwrap_or_default();
        let mut containers = BTreeMap::new();
        let waiting = |init: bool, c: &Container, reason: &str| ContainerRec {
            init,
            image: c.image.clone().unwrap_or_default(),
            state: State::Waiting {
                reason: reason.into(),
                message: None,
            },
            last_state: None,
            restart_count: 0,
            ready: false,
            started: false,
            current_log: None,
            previous_log: None,
            exec_target: None,
        };
        let has_init = spec.init_containers.as_ref().is_some_and(|i| !i.is_empty());
        for c in spec.init_containers.iter().flatten() {
            containers.insert(c.name.clone(), waiting(true, c, "PodInitializing"));
        }
        for c in &spec.containers {
            containers.insert(
                c.name.clone(),
                waiting(
                    false,
                    c,
                    if has_init {
                        "PodInitializing"
                    } else {
                        "ContainerCreating"
                    },
                ),
            );
        }
        Arc::new(Self {
            ns: meta.namespace.clone().unwrap_or_else(|| "default".into()),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            pod,
            net,
            dir,
            ip,
            start_time: clock::now_rfc3339(),
            volumes: Mutex::new(BTreeMap::new()),
            containers: Mutex::new(containers),
            stop_tx: watch::channel(false).0,
            stopped: watch::channel(false).0,
            pod_failed: Mutex::new(false),
            transitions: Mutex::new(BTreeMap::new()),
            publishing: Mutex::new(()),
        })
    }

    pub fn spec(&self) -> k8s_openapi::api::core::v1::PodSpec {
        self.pod.spec.clone().unwrap_or_default()
    }

    pub fn update(&self, container: &str, f: impl FnOnce(&mut ContainerRec)) {
        if let Some(rec) = lock(&self.containers).get_mut(container) {
            f(rec);
        }
    }

    pub fn exec_target(&self, container: &str) -> Option<ExecTarget> {
        lock(&self.containers)
            .get(container)
            .and_then(|r| r.exec_target.clone())
    }

    pub fn logs(&self, container: &str) -> Option<ContainerLogs> {
        lock(&self.containers).get(container).map(|r| {
            (
                r.current_log.clone(),
                r.previous_log.clone(),
                r.state.clone(),
            )
        })
    }

    pub fn stopping(&self) -> bool {
        *self.stop_tx.borrow()
    }

    /// `pod_name_namespace(uid)` as the kubelet prints pods in messages (format.Pod).
    pub fn display(&self) -> String {
        format!("{}_{}({})", self.name, self.ns, self.uid)
    }

    fn involved(&self) -> Value {
        json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": self.name, "namespace": self.ns, "uid": self.uid}})
    }

    pub fn event(&self, kubelet: &Kubelet, type_: &str, reason: &str, message: &str) {
        kubelet
            .backend
            .event(&self.involved(), reason, message, type_);
    }

    /// Writes the status computed from the recorded container states.
    pub fn publish(&self, kubelet: &Kubelet) {
        if self.stopping() {
            return;
        }
        let _one_writer = lock(&self.publishing);
        let status = self.compute_status(&kubelet.host_ip);
        kubelet.backend.pod_status(&self.ns, &self.name, status);
    }

    fn compute_status(&self, host_ip: &str) -> Value {
        let spec = self.spec();
        let containers = lock(&self.containers);
        let restart_policy = spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into());
        let init_names: Vec<&String> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| &c.name)
            .collect();
        let main_names: Vec<&String> = spec.containers.iter().map(|c| &c.name).collect();
        let init_states: Vec<&ContainerRec> = init_names
            .iter()
            .filter_map(|n| containers.get(*n))
            .collect();
        let main_states: Vec<&ContainerRec> = main_names
            .iter()
            .filter_map(|n| containers.get(*n))
            .collect();
        let initialized = init_states
            .iter()
            .all(|c| matches!(&c.state, State::Terminated(t) if t.exit_code == 0));
        let phase = pod_phase(
            &init_states,
            &main_states,
            &restart_policy,
            *lock(&self.pod_failed),
        );
        let unready: Vec<&str> = main_names
            .iter()
            .zip(&main_states)
            .filter(|(_, c)| !c.ready)
            .map(|(n, _)| n.as_str())
            .collect();
        let incomplete: Vec<&str> = init_names
            .iter()
            .zip(&init_states)
            .filter(|(_, c)| !matches!(&c.state, State::Terminated(t) if t.exit_code == 0))
            .map(|(n, _)| n.as_str())
            .collect();
        let containers_ready = unready.is_empty() && phase != "Succeeded";
        let mut conditions = Vec::new();
        let mut transitions = lock(&self.transitions);
        let mut cond = |type_: &str, ok: bool, reason: Option<&str>, message: Option<String>| {
            let status = if ok { "True" } else { "False" };
            let now = clock::now_rfc3339();
            let entry = transitions
                .entry(type_.to_string())
                .or_insert((status.to_string(), now.clone()));
            if entry.0 != status {
                *entry = (status.to_string(), now);
            }
            let mut c = json!({"type": type_, "status": status, "lastProbeTime": null, "lastTransitionTime": entry.1});
            if let Some(r) = reason.filter(|_| !ok) {
                c["reason"] = json!(r);
            }
            if let Some(m) = message.filter(|_| !ok) {
                c["message"] = json!(m);
            }
            conditions.push(c);
        };
        let sandbox_ready = !self.stopping();
        cond("PodReadyToStartContainers", sandbox_ready, None, None);
        cond(
            "Initialized",
            initialized,
            Some("ContainersNotInitialized"),
            Some(format!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            )),
        );
        let unready_msg = format!("containers with unready status: [{}]", unready.join(" "));
        cond(
            "Ready",
            containers_ready,
            Some("ContainersNotReady"),
            Some(unready_msg.clone()),
        );
        cond(
            "ContainersReady",
            containers_ready,
            Some("ContainersNotReady"),
            Some(unready_msg),
        );
        drop(transitions);
        let render = |names: &[&String], init: bool| -> Vec<Value> {
            names
                .iter()
                .filter_map(|n| containers.get(*n).map(|c| container_status(n, c, init)))
                .collect()
        };
        let mut status = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": self.start_time,
            "containerStatuses": render(&main_names, false),
        });
        if !init_names.is_empty() {
            status["initContainerStatuses"] = json!(render(&init_names, true));
        }
        status
    }
}

fn terminated_json(t: &Terminated) -> Value {
    let mut v = json!({
        "exitCode": t.exit_code, "reason": t.reason, "startedAt": t.started_at, "finishedAt": t.finished_at,
        "containerID": t.container_id,
    });
    if let Some(s) = t.signal {
        v["signal"] = json!(s);
    }
    if let Some(m) = &t.message {
        v["message"] = json!(m);
    }
    v
}

fn container_status(name: &str, c: &ContainerRec, init: bool) -> Value {
    let state = match &c.state {
        State::Waiting { reason, message } => {
            let mut w = json!({"reason": reason});
            if let Some(m) = message {
                w["message"] = json!(m);
            }
            json!({"waiting": w})
        }
        State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
        State::Terminated(t) => json!({"terminated": terminated_json(t)}),
    };
    let last = c
        .last_state
        .as_ref()
        .map(|t| json!({"terminated": terminated_json(t)}))
        .unwrap_or_else(|| json!({}));
    let mut v = json!({
        "name": name, "image": c.image, "imageID": format!("{}@sha256:{}", c.image.split(':').next().unwrap_or(&c.image), "0".repeat(64)),
        "ready": c.ready, "started": c.started, "restartCount": c.restart_count,
        "state": state, "lastState": last,
    });
    if let State::Running { .. } | State::Terminated(_) = c.state {
        v["containerID"] = json!(container_id(name, c.restart_count));
    }
    if init {
        v["started"] = json!(matches!(c.state, State::Running { .. }));
    }
    v
}

pub fn container_id(name: &str, restart: i32) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (name, restart, std::process::id()).hash(&mut h);
    format!("containerd://{:016x}{}", h.finish(), "0".repeat(48))
}

/// The pod phase from its containers (kubelet getPhase, pkg/kubelet/kubelet_pods.go).
pub fn pod_phase(
    init: &[&ContainerRec],
    main: &[&ContainerRec],
    restart_policy: &str,
    failed: bool,
) -> &'static str {
    if failed {
        return "Failed";
    }
    let init_done = init
        .iter()
        .all(|c| matches!(&c.state, State::Terminated(t) if t.exit_code == 0));
    if !init_done {
        return "Pending";
    }
    let running = main
        .iter()
        .filter(|c| matches!(c.state, State::Running { .. }))
        .count();
    let waiting_fresh = main
        .iter()
        .filter(|c| matches!(c.state, State::Waiting { .. }) && c.last_state.is_none())
        .count();
    let terminated: Vec<&Terminated> = main
        .iter()
        .filter_map(|c| match &c.state {
            State::Terminated(t) => Some(t),
            _ => None,
        })
        .collect();
    if waiting_fresh > 0 && running == 0 {
        return "Pending";
    }
    if running > 0 || restart_policy == "Always" {
        return "Running";
    }
    if terminated.len() == main.len() {
        if terminated.iter().all(|t| t.exit_code == 0) {
            return "Succeeded";
        }
        if restart_policy == "Never" {
            return "Failed";
        }
    }
    "Running"
}

/// Delay before restart number `n` (1-based). As in the kubelet, the first restart is immediate (no back-off entry
/// yet) and later ones back off, doubling: 0, 1s, 2s, 4s … capped at 10s (the real kubelet uses 10s … 5m;
/// shortened so scenarios settle within seconds).
pub fn backoff(n: i32) -> Duration {
    if n <= 1 {
        return Duration::ZERO;
    }
    let exp = (n - 2).min(10) as u32;
    Duration::from_secs((1u64 << exp).min(10))
}

/// Consecutive restarts of one container; an instance that ran at least twice the cap (20 s) resets it, as the
/// kubelet's back-off entry expires after twice its maximum.
#[derive(Debug, Default)]
pub struct CrashStreak(i32);

impl CrashStreak {
    /// The delay before the next restart of an instance that ran for `ran`.
    pub fn next(&mut self, ran: Duration) -> Duration {
        if ran >= Duration::from_secs(20) {
            self.0 = 0;
        }
        self.0 += 1;
        backoff(self.0)
    }
}

/// `back-off 10s restarting failed container=NAME pod=POD_NS(UID)` (kubelet's CrashLoopBackOff message).
pub fn backoff_message(delay: Duration, container: &str, pod: &str) -> String {
    format!(
        "back-off {}s restarting failed container={container} pod={pod}",
        delay.as_secs()
    )
}

/// Whether a pod (as stored) has settled for `kube-sim run`/`up`: finished, all containers ready, crash-looping
/// (that is a scenario's point), or running unready past its readiness probe's second try (a probe that will not
/// pass); not while its
/// sandbox or containers are still being created.
pub fn pod_settled(pod: &Value, now_unix: i64) -> bool {
    let status = &pod["status"];
    if matches!(status["phase"].as_str(), Some("Succeeded" | "Failed")) {
        return true;
    }
    let all: Vec<&Value> = status["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(status["containerStatuses"].as_array().into_iter().flatten())
        .collect();
    let main = status["containerStatuses"].as_array();
    if main.is_none_or(|m| m.is_empty()) {
        return false;
    }
    if main.is_some_and(|m| m.iter().all(|c| c["ready"] == true)) {
        return true;
    }
    let crashed = all.iter().any(|c| {
        c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
            || c["lastState"]["terminated"].is_object()
            || c["state"]["terminated"]["exitCode"]
                .as_i64()
                .is_some_and(|e| e != 0)
    });
    // Unready past its readiness probe's second try (initial delay + one period, plus 5 s for a slow probe on a
    // loaded machine; at least 10 s): a 10 s period's second probe lands right at 10 s, and a Prometheus that needed
    // it was taken for stuck (real_scenarios' resize-offline was not Ready at the ready line under load).
    let stuck_after = |name: &Value| {
        let probe = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == *name)
            .map(|s| &s["readinessProbe"]);
        let delay = probe
            .and_then(|p| p["initialDelaySeconds"].as_i64())
            .unwrap_or(0);
        let period = probe
            .and_then(|p| p["periodSeconds"].as_i64())
            .unwrap_or(10);
        (delay + period + 5).max(10)
    };
    let stuck_unready = main.into_iter().flatten().any(|c| {
        c["state"]["running"]["startedAt"]
            .as_str()
            .and_then(clock::parse_rfc3339)
            .is_some_and(|t| now_unix - t > stuck_after(&c["name"]))
            && c["ready"] == false
    });
    crashed || stuck_unready
}

// ---------------------------------------------------------------------------------------------------------------
// Running a pod.

/// Sets up the sandbox and runs the pod until it is told to stop; then stops every container and frees everything.
pub async fn run(kubelet: Arc<Kubelet>, handle: Arc<PodHandle>) {
    let mut stop_rx = handle.stop_tx.subscribe();
    handle.publish(&kubelet);
    // Volumes: retried until they can be set up (a ConfigMap or claim may appear later), as the kubelet does.
    loop {
        match prepare_volumes(&kubelet, &handle) {
            Ok(()) => break,
            Err(msg) => {
                handle.event(&kubelet, "Warning", "FailedMount", &msg);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop_rx.changed() => { cleanup(&kubelet, &handle); return; }
                }
            }
        }
    }
    let refresher = tokio::spawn(refresh_configmaps(kubelet.clone(), handle.clone()));
    let spec = handle.spec();
    let restart_policy = spec
        .restart_policy
        .clone()
        .unwrap_or_else(|| "Always".into());
    let mut initialized = true;
    for c in spec.init_containers.iter().flatten() {
        if !run_init_container(&kubelet, &handle, c, &restart_policy).await {
            initialized = false;
            break;
        }
    }
    let mut tasks = Vec::new();
    if initialized && !handle.stopping() {
        for c in spec.containers.clone() {
            tasks.push(tokio::spawn(run_container(
                kubelet.clone(),
                handle.clone(),
                c,
                restart_policy.clone(),
            )));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    // Containers only return when stopping or finished for good (Never/OnFailure): wait for the stop signal.
    while !handle.stopping() {
        if stop_rx.changed().await.is_err() {
            break;
        }
    }
    refresher.abort();
    cleanup(&kubelet, &handle);
}

fn cleanup(kubelet: &Kubelet, handle: &PodHandle) {
    kubelet.release_volumes(handle);
    let _ = std::fs::remove_dir_all(&handle.dir);
    handle.stopped.send_replace(true);
}

async fn run_init_container(
    kubelet: &Arc<Kubelet>,
    handle: &Arc<PodHandle>,
    c: &Container,
    restart_policy: &str,
) -> bool {
    let mut streak = CrashStreak::default();
    loop {
        if handle.stopping() {
            return false;
        }
        let started = std::time::Instant::now();
        let outcome = run_instance(kubelet, handle, c, true).await;
        let Some(t) = outcome else { return false };
        if t.exit_code == 0 {
            return true;
        }
        if restart_policy == "Never" {
            *lock(&handle.pod_failed) = true;
            handle.publish(kubelet);
            return false;
        }
        let delay = streak.next(started.elapsed());
        if !wait_backoff(kubelet, handle, &c.name, delay).await {
            return false;
        }
    }
}

async fn run_container(
    kubelet: Arc<Kubelet>,
    handle: Arc<PodHandle>,
    c: Container,
    restart_policy: String,
) {
    let mut streak = CrashStreak::default();
    loop {
        if handle.stopping() {
            return;
        }
        let started = std::time::Instant::now();
        let Some(t) = run_instance(&kubelet, &handle, &c, false).await else {
            return;
        };
        let restart = match restart_policy.as_str() {
            "Never" => false,
            "OnFailure" => t.exit_code != 0,
            _ => true,
        };
        let delay = streak.next(started.elapsed());
        if !restart || !wait_backoff(&kubelet, &handle, &c.name, delay).await {
            return;
        }
    }
}

/// Records the exit as lastState, shows CrashLoopBackOff for the delay; false when the pod stops meanwhile.
async fn wait_backoff(
    kubelet: &Arc<Kubelet>,
    handle: &Arc<PodHandle>,
    name: &str,
    delay: Duration,
) -> bool {
    if delay.is_zero() {
        handle.update(name, |rec| {
            if let State::Terminated(t) = &rec.state {
                rec.last_state = Some(t.clone());
            }
            rec.restart_count += 1;
        });
        return !handle.stopping();
    }
    let message = backoff_message(
        Duration::from_secs(10).min(delay.max(Duration::from_secs(1))),
        name,
        &handle.display(),
    );
    handle.update(name, |rec| {
        if let State::Terminated(t) = &rec.state {
            rec.last_state = Some(t.clone());
        }
        rec.state = State::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: Some(message),
        };
    });
    handle.event(
        kubelet,
        "Warning",
        "BackOff",
        &format!(
            "Back-off restarting failed container {name} in pod {}",
            handle.display()
        ),
    );
    handle.publish(kubelet);
    let mut stop_rx = handle.stop_tx.subscribe();
    let restart = tokio::select! {
        _ = tokio::time::sleep(delay) => !handle.stopping(),
        _ = stop_rx.changed() => false,
    };
    // restartCount counts restarts done, as `kubectl get pod` shows it (`6 (40s ago)`).
    if restart {
        handle.update(name, |rec| rec.restart_count += 1);
    }
    restart
}

/// The image events the kubelet records: `Always` (the default for `:latest` and untagged images) pulls every
/// time (nothing is downloaded here; the event says what a node would do), otherwise the image is present.
fn pull_events(kubelet: &Kubelet, handle: &PodHandle, c: &Container, image: &str) {
    let tag = image
        .rsplit('/')
        .next()
        .and_then(|last| last.split_once(':'))
        .map(|(_, t)| t);
    let default_always = !image.contains('@') && matches!(tag, None | Some("latest"));
    let always = match c.image_pull_policy.as_deref() {
        Some(p) => p == "Always",
        None => default_always,
    };
    if always {
        handle.event(
            kubelet,
            "Normal",
            "Pulling",
            &format!("Pulling image \"{image}\""),
        );
        handle.event(
            kubelet,
            "Normal",
            "Pulled",
            &format!("Successfully pulled image \"{image}\" in 0s (0s including waiting)"),
        );
    } else {
        handle.event(
            kubelet,
            "Normal",
            "Pulled",
            &format!("Container image \"{image}\" already present on machine"),
        );
    }
}

/// Identity of a container's process: container securityContext over the pod's, over the image's USER.
pub fn identity(
    pod: &k8s_openapi::api::core::v1::PodSpec,
    c: &Container,
    image_user: Option<(u32, u32)>,
) -> (u32, u32, Vec<u32>) {
    let psc = pod.security_context.clone().unwrap_or_default();
    let csc = c.security_context.clone().unwrap_or_default();
    let (image_uid, image_gid) = image_user.unwrap_or((0, 0));
    let uid = csc
        .run_as_user
        .or(psc.run_as_user)
        .map(|u| u as u32)
        .unwrap_or(image_uid);
    let gid = csc
        .run_as_group
        .or(psc.run_as_group)
        .map(|g| g as u32)
        .unwrap_or(if uid == image_uid { image_gid } else { 0 });
    let mut groups = vec![gid];
    groups.extend(psc.fs_group.map(|g| g as u32));
    groups.extend(psc.supplemental_groups.iter().flatten().map(|g| *g as u32));
    groups.dedup();
    (uid, gid, groups)
}

fn env_for(handle: &PodHandle, c: &Container, kubelet: &Kubelet) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_string(), rootfs::DEFAULT_PATH.to_string()),
        ("HOSTNAME".into(), handle.name.clone()),
    ];
    env.extend(kubelet.service_env.get().into_iter().flatten().cloned());
    for e in c.env.iter().flatten() {
        let value = if let Some(v) = &e.value {
            Some(v.clone())
        } else if let Some(from) = &e.value_from {
            if let Some(f) = &from.field_ref {
                match f.field_path.as_str() {
                    "metadata.name" => Some(handle.name.clone()),
                    "metadata.namespace" => Some(handle.ns.clone()),
                    "status.podIP" => Some(handle.ip.clone()),
                    "spec.nodeName" => Some(kubelet.node.clone()),
                    _ => None,
                }
            } else if let Some(r) = &from.config_map_key_ref {
                kubelet
                    .cache
                    .get("configmaps", &handle.ns, &r.name)
                    .and_then(|cm| cm["data"][&r.key].as_str().map(String::from))
            } else if let Some(r) = &from.secret_key_ref {
                kubelet
                    .cache
                    .get("secrets", &handle.ns, &r.name)
                    .and_then(|s| {
                        s["data"][&r.key]
                            .as_str()
                            .and_then(base64_decode)
                            .map(|b| String::from_utf8_lossy(&b).to_string())
                    })
            } else {
                None
            }
        } else {
            None
        };
        if let Some(v) = value {
            env.retain(|(k, _)| k != &e.name);
            env.push((e.name.clone(), v));
        }
    }
    if !env.iter().any(|(k, _)| k == "HOME") {
        env.push(("HOME".into(), "/".into()));
    }
    env
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// The binds for a container's volumeMounts; subPath directories are created on the volume as the kubelet does
/// (mode of the volume root, owned by root), and resolved once, so a ConfigMap subPath never sees updates.
fn mounts_for(handle: &PodHandle, c: &Container) -> Result<Vec<MountSpec>, String> {
    let volumes = lock(&handle.volumes);
    let mut out = Vec::new();
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        let v = volumes
            .get(&m.name)
            .ok_or_else(|| format!("volumeMounts[{i}].name: Not found: \"{}\"", m.name))?;
        let mut source = v.path.clone();
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            source = rootfs::resolve_in_root(&v.path, sub)?;
            if !source.exists() {
                let mode = std::fs::metadata(&v.path)
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
                    .unwrap_or(0o755);
                std::fs::create_dir_all(&source)
                    .map_err(|e| format!("creating subPath {sub}: {e}"))?;
                let _ = std::fs::set_permissions(
                    &source,
                    std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777),
                );
            }
            source = std::fs::canonicalize(&source).unwrap_or(source);
        }
        out.push(MountSpec {
            source,
            target: m.mount_path.clone(),
            read_only: m.read_only.unwrap_or(false),
        });
    }
    Ok(out)
}

/// Runs one instance of a container to its end (or until the pod stops: then None).
async fn run_instance(
    kubelet: &Arc<Kubelet>,
    handle: &Arc<PodHandle>,
    c: &Container,
    init: bool,
) -> Option<Terminated> {
    let spec = handle.spec();
    let behaviour = image::behaviour_with(c, &kubelet.images);
    let (argv, image_user) = match &behaviour {
        Behaviour::Process { argv, image_user } => (argv.clone(), *image_user),
        // Stand-ins keep a real (sleeping) process so the container exists for exec and stats.
        _ => (
            vec!["sleep".to_string(), "infinity".to_string()],
            Some((65534, 65534)),
        ),
    };
    let (uid, gid, groups) = identity(&spec, c, image_user);
    let mut image_dirs = Vec::new();
    if matches!(
        &behaviour,
        Behaviour::Process {
            image_user: Some(_),
            ..
        }
    ) {
        // prom/prometheus's Dockerfile: `chown -R nobody:nobody /etc/prometheus /prometheus`, WORKDIR /prometheus.
        image_dirs.push(ImageDir {
            path: "/prometheus".into(),
            uid: 65534,
            gid: 65534,
            mode: 0o755,
        });
    }
    let workdir = c.working_dir.clone().unwrap_or_else(|| {
        if image_user.is_some()
            && matches!(behaviour, Behaviour::Process { .. })
            && image::repository_name(c.image.as_deref().unwrap_or_default()) == "prometheus"
        {
            "/prometheus".into()
        } else {
            "/".into()
        }
    });
    let restart_count = lock(&handle.containers)
        .get(&c.name)
        .map(|r| r.restart_count)
        .unwrap_or(0);
    let base = handle
        .dir
        .join("containers")
        .join(format!("{}-{restart_count}", c.name));
    let started_at = clock::now_rfc3339();
    let cid = container_id(&c.name, restart_count);
    let fail = |message: String, reason: &str| Terminated {
        exit_code: 128,
        signal: None,
        reason: reason.into(),
        message: Some(message),
        started_at: started_at.clone(),
        finished_at: clock::now_rfc3339(),
        container_id: cid.clone(),
    };
    let mounts = match mounts_for(handle, c) {
        Ok(mut m) => {
            for (source, target) in kubelet.images.binds(&argv) {
                m.push(MountSpec {
                    source: source.into(),
                    target: target.into(),
                    read_only: true,
                });
            }
            m
        }
        Err(e) => {
            let t = fail(e, "CreateContainerConfigError");
            handle.update(&c.name, |rec| rec.state = State::Terminated(t.clone()));
            return Some(t);
        }
    };
    let root = match ContainerRoot::build(&base, &mounts, &image_dirs, &workdir) {
        Ok(r) => r,
        Err(e) => {
            let t = fail(e, "StartError");
            handle.update(&c.name, |rec| rec.state = State::Terminated(t.clone()));
            return Some(t);
        }
    };
    let pspec = ProcessSpec {
        argv,
        env: env_for(handle, c, kubelet),
        workdir,
        uid,
        gid,
        groups,
        hostname: handle.name.clone(),
    };
    let image = c.image.clone().unwrap_or_default();
    pull_events(kubelet, handle, c, &image);
    let mut child = match rootfs::spawn(&root.root, &handle.net, &pspec, false) {
        Ok(child) => child,
        Err(e) => {
            let msg = format!(
                "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: {e}: unknown"
            );
            handle.event(kubelet, "Warning", "Failed", &format!("Error: {msg}"));
            let t = fail(msg, "StartError");
            handle.update(&c.name, |rec| rec.state = State::Terminated(t.clone()));
            return Some(t);
        }
    };
    handle.event(
        kubelet,
        "Normal",
        "Created",
        &format!("Created container: {}", c.name),
    );
    handle.event(
        kubelet,
        "Normal",
        "Started",
        &format!("Started container {}", c.name),
    );
    let log = Arc::new(LogBuffer::new());
    let readers = spawn_log_readers(&mut child, log.clone());
    let has_probes = c.readiness_probe.is_some() || c.startup_probe.is_some();
    let probed = !init && matches!(behaviour, Behaviour::Process { .. });
    handle.update(&c.name, |rec| {
        if let Some(cur) = rec.current_log.take() {
            rec.previous_log = Some(cur);
        }
        rec.current_log = Some(log.clone());
        rec.state = State::Running {
            started_at: started_at.clone(),
        };
        rec.started = !(probed && c.startup_probe.is_some());
        rec.ready = !(init || probed && has_probes);
        rec.exec_target = Some(ExecTarget {
            root: root.root.clone(),
            spec: pspec.clone(),
        });
    });
    handle.publish(kubelet);
    let (instance_stop, _) = watch::channel(false);
    let mut side_tasks = Vec::new();
    if probed {
        side_tasks.push(tokio::spawn(probe::run_probes(
            kubelet.clone(),
            handle.clone(),
            c.clone(),
            instance_stop.subscribe(),
            child.id(),
        )));
    }
    let mut stop_rx = handle.stop_tx.subscribe();
    let grace = Duration::from_secs(
        spec.termination_grace_period_seconds
            .unwrap_or(30)
            .clamp(1, 5) as u64,
    );
    let status = tokio::select! {
        s = child.wait() => s.ok(),
        _ = stop_rx.changed() => {
            handle.event(kubelet, "Normal", "Killing", &format!("Stopping container {}", c.name));
            rootfs::stop(&mut child, grace).await;
            None
        }
    };
    let _ = instance_stop.send(true);
    for t in side_tasks {
        t.abort();
    }
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
    }
    // The process group may hold children (sh -c …); they go with the container.
    rootfs::kill_group(child.id());
    log.close();
    drop(root);
    let status = status?;
    use std::os::unix::process::ExitStatusExt;
    let (exit_code, signal) = match (status.code(), status.signal()) {
        (Some(code), _) => (code, None),
        (None, Some(sig)) => (128 + sig, Some(sig)),
        _ => (255, None),
    };
    let reason = if exit_code == 0 { "Completed" } else { "Error" };
    let message = (exit_code != 0
        && c.termination_message_policy.as_deref() == Some("FallbackToLogsOnError"))
    .then(|| log.termination_tail())
    .filter(|m| !m.is_empty());
    let t = Terminated {
        exit_code,
        signal,
        reason: reason.into(),
        message,
        started_at,
        finished_at: clock::now_rfc3339(),
        container_id: cid,
    };
    handle.update(&c.name, |rec| {
        rec.state = State::Terminated(t.clone());
        rec.ready = false;
        rec.exec_target = None;
    });
    handle.publish(kubelet);
    Some(t)
}

fn spawn_log_readers(
    child: &mut tokio::process::Child,
    log: Arc<LogBuffer>,
) -> Vec<tokio::task::JoinHandle<()>> {
    use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
    fn reader<R: AsyncRead + Unpin + Send + 'static>(
        r: R,
        log: Arc<LogBuffer>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut lines = BufReader::new(r);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match lines.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => log.push(buf.clone()),
                }
            }
        })
    }
    let mut out = Vec::new();
    if let Some(o) = child.stdout.take() {
        out.push(reader(o, log.clone()));
    }
    if let Some(e) = child.stderr.take() {
        out.push(reader(e, log));
    }
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Volumes.

fn prepare_volumes(kubelet: &Kubelet, handle: &PodHandle) -> Result<(), String> {
    let spec = handle.spec();
    let psc = spec.security_context.clone().unwrap_or_default();
    let on_root_mismatch = psc.fs_group_change_policy.as_deref() == Some("OnRootMismatch");
    for v in spec.volumes.iter().flatten() {
        if lock(&handle.volumes).contains_key(&v.name) {
            continue;
        }
        let (path, pvc, fs_group_applies) = setup_volume(kubelet, handle, v)?;
        if let (Some(gid), true) = (psc.fs_group, fs_group_applies) {
            volumes::apply_fs_group(&path, gid as u32, false, on_root_mismatch).map_err(|e| {
                format!(
                    "MountVolume.SetUp failed for volume \"{}\" : applying fsGroup: {e}",
                    v.name
                )
            })?;
        }
        lock(&handle.volumes).insert(v.name.clone(), PodVolume { path, pvc });
    }
    Ok(())
}

fn setup_volume(
    kubelet: &Kubelet,
    handle: &PodHandle,
    v: &Volume,
) -> Result<(PathBuf, Option<String>, bool), String> {
    let dir = handle.dir.join("volumes").join(&v.name);
    let mk = |mode: u32| -> Result<PathBuf, String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating volume {}: {e}", v.name))?;
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .map_err(|e| e.to_string())?;
        Ok(dir.clone())
    };
    if v.empty_dir.is_some() {
        return Ok((mk(0o777)?, None, true));
    }
    if let Some(hp) = &v.host_path {
        let p = PathBuf::from(&hp.path);
        if !p.exists() {
            if matches!(
                hp.type_.as_deref(),
                Some("DirectoryOrCreate") | None | Some("")
            ) {
                std::fs::create_dir_all(&p).map_err(|e| e.to_string())?;
            } else {
                return Err(format!(
                    "MountVolume.SetUp failed for volume \"{}\" : hostPath type check failed: {} is not a directory",
                    v.name, hp.path
                ));
            }
        }
        return Ok((p, None, false));
    }
    if v.config_map.is_some()
        || v.secret.is_some()
        || v.projected.is_some()
        || v.downward_api.is_some()
    {
        let payload = volume_payload(kubelet, handle, v)?;
        mk(0o777)?;
        volumes::write_atomic(&dir, &payload)
            .map_err(|e| format!("writing volume {}: {e}", v.name))?;
        let _ =
            std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777));
        return Ok((dir, None, true));
    }
    if let Some(claim) = &v.persistent_volume_claim {
        let (path, fs_group) =
            kubelet.claim_backing(&handle.ns, &claim.claim_name, &v.name, &handle.uid)?;
        return Ok((path, Some(claim.claim_name.clone()), fs_group));
    }
    // Other volume types (ephemeral, csi inline, …): an empty directory.
    Ok((mk(0o755)?, None, true))
}

/// The files of a ConfigMap/Secret/projected/downwardAPI volume; Err when a required source is missing.
pub fn volume_payload(
    kubelet: &Kubelet,
    handle: &PodHandle,
    v: &Volume,
) -> Result<Payload, String> {
    let mut payload = Payload::new();
    let not_found = |kind: &str, name: &str| {
        format!(
            "MountVolume.SetUp failed for volume \"{}\" : {kind} \"{name}\" not found",
            v.name
        )
    };
    if let Some(cm) = &v.config_map {
        let mode = cm.default_mode.unwrap_or(0o644) as u32;
        match kubelet.cache.get("configmaps", &handle.ns, &cm.name) {
            Some(obj) => add_items(&mut payload, string_data(&obj), cm.items.as_deref(), mode),
            None if cm.optional == Some(true) => {}
            None => return Err(not_found("configmap", &cm.name)),
        }
    }
    if let Some(s) = &v.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        let mode = s.default_mode.unwrap_or(0o644) as u32;
        match kubelet.cache.get("secrets", &handle.ns, &name) {
            Some(obj) => add_items(&mut payload, secret_data(&obj), s.items.as_deref(), mode),
            None if s.optional == Some(true) => {}
            None => return Err(not_found("secret", &name)),
        }
    }
    if let Some(p) = &v.projected {
        let mode = p.default_mode.unwrap_or(0o644) as u32;
        for src in p.sources.iter().flatten() {
            if let Some(cm) = &src.config_map {
                if let Some(obj) = kubelet.cache.get("configmaps", &handle.ns, &cm.name) {
                    add_items(&mut payload, string_data(&obj), cm.items.as_deref(), mode);
                } else if cm.optional != Some(true) {
                    return Err(not_found("configmap", &cm.name));
                }
            }
            if let Some(s) = &src.secret {
                if let Some(obj) = kubelet.cache.get("secrets", &handle.ns, &s.name) {
                    add_items(&mut payload, secret_data(&obj), s.items.as_deref(), mode);
                } else if s.optional != Some(true) {
                    return Err(not_found("secret", &s.name));
                }
            }
            if let Some(t) = &src.service_account_token {
                // The node puts a TokenRequest token for this pod into its cache (`node::SA_TOKENS`); until it has
                // one, a placeholder that no API server accepts.
                let token = kubelet
                    .cache
                    .get(crate::node::SA_TOKENS, &handle.ns, &handle.name)
                    .filter(|o| o["metadata"]["uid"] == handle.uid.as_str())
                    .and_then(|o| o["token"].as_str().map(|t| t.as_bytes().to_vec()))
                    .unwrap_or_else(|| b"kube-sim-service-account-token".to_vec());
                payload.insert(t.path.clone(), (token, 0o644));
            }
            if let Some(d) = &src.downward_api {
                add_downward(&mut payload, handle, d.items.as_deref());
            }
        }
    }
    if let Some(d) = &v.downward_api {
        add_downward(&mut payload, handle, d.items.as_deref());
    }
    Ok(payload)
}

/// downwardAPI items (fieldRef only) as files of mode 0644.
fn add_downward(
    payload: &mut Payload,
    handle: &PodHandle,
    items: Option<&[k8s_openapi::api::core::v1::DownwardAPIVolumeFile]>,
) {
    for item in items.into_iter().flatten() {
        let value = field_value(
            handle,
            item.field_ref.as_ref().map(|f| f.field_path.as_str()),
        );
        payload.insert(item.path.clone(), (value, 0o644));
    }
}

fn field_value(handle: &PodHandle, path: Option<&str>) -> Vec<u8> {
    match path {
        Some("metadata.name") => handle.name.clone().into_bytes(),
        Some("metadata.namespace") => handle.ns.clone().into_bytes(),
        Some("metadata.uid") => handle.uid.clone().into_bytes(),
        _ => Vec::new(),
    }
}

fn string_data(obj: &Value) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (k, v) in obj["data"].as_object().into_iter().flatten() {
        out.insert(
            k.clone(),
            v.as_str().unwrap_or_default().as_bytes().to_vec(),
        );
    }
    for (k, v) in obj["binaryData"].as_object().into_iter().flatten() {
        out.insert(
            k.clone(),
            v.as_str().and_then(base64_decode).unwrap_or_default(),
        );
    }
    out
}

fn secret_data(obj: &Value) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (k, v) in obj["data"].as_object().into_iter().flatten() {
        out.insert(
            k.clone(),
            v.as_str().and_then(base64_decode).unwrap_or_default(),
        );
    }
    for (k, v) in obj["stringData"].as_object().into_iter().flatten() {
        out.insert(
            k.clone(),
            v.as_str().unwrap_or_default().as_bytes().to_vec(),
        );
    }
    out
}

fn add_items(
    payload: &mut Payload,
    data: BTreeMap<String, Vec<u8>>,
    items: Option<&[k8s_openapi::api::core::v1::KeyToPath]>,
    mode: u32,
) {
    match items {
        Some(items) => {
            for item in items {
                if let Some(bytes) = data.get(&item.key) {
                    payload.insert(
                        item.path.clone(),
                        (bytes.clone(), item.mode.map(|m| m as u32).unwrap_or(mode)),
                    );
                }
            }
        }
        None => {
            for (k, bytes) in data {
                payload.insert(k, (bytes, mode));
            }
        }
    }
}

/// ConfigMap/Secret volumes follow their objects after a kubelet-like delay (the sync period; 2 s here), by the
/// atomic `..data` swap. subPath mounts keep the file they resolved at start, as in Kubernetes.
async fn refresh_configmaps(kubelet: Arc<Kubelet>, handle: Arc<PodHandle>) {
    let spec = handle.spec();
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        for v in spec.volumes.iter().flatten() {
            if v.config_map.is_none() && v.secret.is_none() && v.projected.is_none() {
                continue;
            }
            let Some(path) = lock(&handle.volumes).get(&v.name).map(|pv| pv.path.clone()) else {
                continue;
            };
            if let Ok(payload) = volume_payload(&kubelet, &handle, v) {
                let _ = volumes::write_atomic(&path, &payload);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(state: State, last: Option<Terminated>) -> ContainerRec {
        ContainerRec {
            init: false,
            image: "x".into(),
            state,
            last_state: last,
            restart_count: 0,
            ready: false,
            started: false,
            current_log: None,
            previous_log: None,
            exec_target: None,
        }
    }

    fn term(code: i32) -> Terminated {
        Terminated {
            exit_code: code,
            signal: None,
            reason: if code == 0 {
                "Completed".into()
            } else {
                "Error".into()
            },
            message: None,
            started_at: String::new(),
            finished_at: String::new(),
            container_id: String::new(),
        }
    }

    #[test]
    fn phase_follows_containers() {
        let creating = rec(
            State::Waiting {
                reason: "ContainerCreating".into(),
                message: None,
            },
            None,
        );
        let running = rec(
            State::Running {
                started_at: String::new(),
            },
            None,
        );
        let looping = rec(
            State::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: None,
            },
            Some(term(1)),
        );
        let init_running = rec(
            State::Running {
                started_at: String::new(),
            },
            None,
        );
        assert_eq!(pod_phase(&[], &[&creating], "Always", false), "Pending");
        assert_eq!(pod_phase(&[], &[&running], "Always", false), "Running");
        assert_eq!(pod_phase(&[], &[&looping], "Always", false), "Running");
        assert_eq!(
            pod_phase(&[&init_running], &[&creating], "Always", false),
            "Pending"
        );
        let done = rec(State::Terminated(term(0)), None);
        assert_eq!(pod_phase(&[], &[&done], "Never", false), "Succeeded");
        let failed = rec(State::Terminated(term(2)), None);
        assert_eq!(pod_phase(&[], &[&failed], "Never", false), "Failed");
    }

    #[test]
    fn settled_pods() {
        let now = 1_800_000_000;
        let ts = |t: i64| clock::format_rfc3339(t);
        let creating = json!({"status": {"phase": "Pending", "containerStatuses": [{"ready": false, "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        assert!(!pod_settled(&creating, now));
        assert!(!pod_settled(&json!({"status": {}}), now));
        let ready = json!({"status": {"phase": "Running", "containerStatuses": [{"ready": true, "state": {"running": {"startedAt": ts(now)}}}]}});
        assert!(pod_settled(&ready, now));
        // A 10 s readiness period: its second probe is due at 10 s, so 12 s unready is not yet stuck; 16 s is.
        let probed = |started: i64| {
            json!({"spec": {"containers": [{"name": "prometheus", "readinessProbe": {"periodSeconds": 10}}]},
                   "status": {"phase": "Running", "containerStatuses": [{"name": "prometheus", "ready": false,
                              "state": {"running": {"startedAt": ts(started)}}}]}})
        };
        assert!(!pod_settled(&probed(now - 12), now));
        assert!(pod_settled(&probed(now - 16), now));
        let starting = json!({"status": {"phase": "Running", "containerStatuses": [{"ready": false, "state": {"running": {"startedAt": ts(now - 2)}}}]}});
        assert!(!pod_settled(&starting, now));
        assert!(
            pod_settled(&starting, now + 20),
            "unready for over 10 s counts as settled"
        );
        let looping = json!({"status": {"phase": "Running", "containerStatuses": [
            {"ready": true, "state": {"running": {"startedAt": ts(now)}}},
            {"ready": false, "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 2}}}]}});
        assert!(pod_settled(&looping, now));
        let init_failing = json!({"status": {"phase": "Pending",
            "initContainerStatuses": [{"ready": false, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
            "containerStatuses": [{"ready": false, "state": {"waiting": {"reason": "PodInitializing"}}}]}});
        assert!(pod_settled(&init_failing, now));
    }

    #[test]
    fn crash_streak_resets_after_a_long_run() {
        let mut streak = CrashStreak::default();
        let quick = Duration::from_millis(100);
        let delays: Vec<u64> = (0..4).map(|_| streak.next(quick).as_secs()).collect();
        assert_eq!(delays, vec![0, 1, 2, 4]);
        assert_eq!(
            streak.next(Duration::from_secs(60)),
            Duration::ZERO,
            "a long healthy run starts over"
        );
        assert_eq!(streak.next(quick), Duration::from_secs(1));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let secs: Vec<u64> = (1..=7).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, vec![0, 1, 2, 4, 8, 10, 10]);
        assert_eq!(
            backoff_message(
                Duration::from_secs(10),
                "prometheus-server",
                "p_monitoring(u)"
            ),
            "back-off 10s restarting failed container=prometheus-server pod=p_monitoring(u)"
        );
    }

    #[test]
    fn identity_prefers_container_then_pod_then_image() {
        use k8s_openapi::api::core::v1::{PodSecurityContext, PodSpec, SecurityContext};
        let pod = PodSpec {
            security_context: Some(PodSecurityContext {
                run_as_user: Some(1000),
                run_as_group: Some(2000),
                fs_group: Some(2000),
                supplemental_groups: Some(vec![3000]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let plain = Container::default();
        assert_eq!(
            identity(&pod, &plain, Some((65534, 65534))),
            (1000, 2000, vec![2000, 3000])
        );
        let root = Container {
            security_context: Some(SecurityContext {
                run_as_user: Some(0),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(identity(&pod, &root, None).0, 0);
        assert_eq!(
            identity(&PodSpec::default(), &plain, Some((65534, 65534))),
            (65534, 65534, vec![65534])
        );
    }
}
