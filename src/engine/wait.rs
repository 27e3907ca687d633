//! Every wait that follows a change, in one place: polls bounded by a limit, shown as a progress line on stderr,
//! and listed as "not done" in the interrupt journal while they run (a Ctrl-C, SIGTERM or SIGHUP drops the waiting
//! future through the one interrupt path, `crate::interrupt`). `tokio::time::sleep` is called here and nowhere else
//! in the verbs: [`Ticker`] paces every poll.
//!
//! - [`Ticker`]: the pace and bound of a poll loop (the only sleep);
//! - [`wait_for`]: poll a check until it is done, bounded, shown as a named line;
//! - [`wait_rollout`] with [`deployment_rollout_status`] / [`statefulset_rollout_status`] (pure, kubectl's rules);
//! - [`gone`]: an object deleted (a StatefulSet after its orphan delete, before it is created again);
//! - [`recreated`]: a StatefulSet back under a new uid (the operator's, after the unpause);
//! - [`pod_ready`]: a Ready pod that matches (the pod mounting a claim, after a restart);
//! - [`template_updated`]: a workload's pod template carries a change (ours, or the operator's regeneration).
//!
//! The claim-resize watch (`resize::apply::watch_claims`) paces itself with a [`Ticker`]: its polls decide restarts.

use crate::discover::{WorkloadKind, WorkloadRef};
use crate::error::{Error, Result};
use crate::progress::{Task, spinner};
use crate::ui::Printer;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use std::future::Future;
use std::time::{Duration, Instant};

/// A wait in progress, listed as "not done" if Ctrl-C stops the command (crate::interrupt) until [`Self::done`].
/// Deliberately no `Drop`: a Ctrl-C drops the waiting future before the interrupted state is written.
struct PendingWait(String);

impl PendingWait {
    fn note(text: String) -> Self {
        crate::interrupt::journal().pending.push(text.clone());
        PendingWait(text)
    }

    fn done(self) {
        crate::interrupt::journal().pending.retain(|p| *p != self.0);
    }
}

/// What one poll of a wait found.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll<T> {
    Done(T),
    /// Not yet; the text says where it stands ("1 of 2 pods updated").
    Pending(String),
}

/// Poll `check` every `interval` until it is done or `timeout` passes (then `Error::Verify` naming what was
/// awaited and the last state). Shown as `task`.
pub async fn wait_for<T, F, Fut>(
    task: &Task,
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let ticker = Ticker::new(Some(timeout), interval);
    loop {
        match check().await? {
            Poll::Done(v) => return Ok(v),
            Poll::Pending(state) => {
                task.set(&state);
                if ticker.expired() {
                    task.fail(&format!("gave up after {}s: {state}", timeout.as_secs()));
                    return Err(Error::Verify {
                        message: format!(
                            "timed out after {}s waiting for {what}; last state: {state}",
                            timeout.as_secs()
                        ),
                        hint: Some(
                            "raise --timeout, or look at the object with `kubectl describe`".into(),
                        ),
                    });
                }
            }
        }
        ticker.tick().await;
    }
}

/// The pace and the bound of one poll loop: every wait of the tool sleeps here, so a bound is checked the same way
/// everywhere and the sleep is the one await a Ctrl-C may cut (the interrupt path drops the command's future).
pub struct Ticker {
    started: Instant,
    limit: Option<Duration>,
    interval: Duration,
}

impl Ticker {
    /// `limit` `None`: unbounded (`--timeout 0`); the caller still ends on its own condition.
    pub fn new(limit: Option<Duration>, interval: Duration) -> Self {
        Ticker {
            started: Instant::now(),
            limit,
            interval,
        }
    }

    /// Whether the bound has passed.
    pub fn expired(&self) -> bool {
        self.limit.is_some_and(|l| self.started.elapsed() >= l)
    }

    /// What is left of the bound (`None`: unbounded).
    pub fn remaining(&self) -> Option<Duration> {
        self.limit.map(|l| l.saturating_sub(self.started.elapsed()))
    }

    /// Wait one interval.
    pub async fn tick(&self) {
        tokio::time::sleep(self.interval).await;
    }
}

/// Wait until `name` is gone from `namespace` (a delete the next step depends on: a StatefulSet is created again
/// only once the old object is gone, or the create answers AlreadyExists). Bounded by `limit`.
pub async fn gone<K>(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    limit: Duration,
) -> Result<()>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let kind = K::kind(&()).to_ascii_lowercase();
    let ticker = Ticker::new(Some(limit), Duration::from_millis(300));
    loop {
        match api.get_opt(name).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) if ticker.expired() => {
                return Err(Error::Verify {
                    message: format!(
                        "{kind} {name} was still there {}s after its delete",
                        limit.as_secs()
                    ),
                    hint: Some(format!(
                        "`kubectl get {kind} {name} -o yaml` shows its finalizers"
                    )),
                });
            }
            Ok(Some(_)) => ticker.tick().await,
            Err(e) => return Err(Error::kube(format!("get {kind} {name}"))(e)),
        }
    }
}

/// Wait until StatefulSet `name` exists again under another uid than `old_uid` (the operator recreates the one
/// orphan-deleted during its resize after the unpause). Bounded by `limit`; the error says the pods keep running.
pub async fn recreated(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    old_uid: &str,
    limit: Duration,
) -> Result<()> {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    let ticker = Ticker::new(Some(limit), Duration::from_millis(500));
    loop {
        match api.get_opt(name).await {
            Ok(Some(found)) if found.metadata.uid.as_deref() != Some(old_uid) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(Error::kube(format!("get statefulset {name}"))(e)),
        }
        if ticker.expired() {
            return Err(Error::Verify {
                message: format!(
                    "the operator did not recreate statefulset/{name} within --timeout (the Prometheus resource is unpaused; its pods keep running)"
                ),
                hint: Some(
                    "check the operator's logs; it recreates the StatefulSet on its next reconcile"
                        .into(),
                ),
            });
        }
        ticker.tick().await;
    }
}

/// Wait until a pod of `namespace` that `matches` (and is not terminating) is Ready; returns its name. `what` names
/// the pods in the timeout's sentence ("mounting claim monitoring/data").
pub async fn pod_ready(
    client: &kube::Client,
    namespace: &str,
    what: &str,
    matches: impl Fn(&Pod) -> bool,
    limit: Option<Duration>,
) -> Result<String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let ticker = Ticker::new(limit, Duration::from_millis(500));
    loop {
        let list = pods
            .list(&Default::default())
            .await
            .map_err(Error::kube(format!("list pods in {namespace}")))?;
        if let Some(pod) = list.items.iter().find(|p| {
            p.metadata.deletion_timestamp.is_none()
                && matches(p)
                && p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        }) {
            return Ok(pod.metadata.name.clone().unwrap_or_default());
        }
        if ticker.expired() {
            return Err(Error::Verify {
                message: format!("no pod {what} became Ready within --timeout"),
                hint: Some(format!(
                    "`kubectl get pods -n {namespace}` and `kubectl prom doctor -n {namespace}` show why"
                )),
            });
        }
        ticker.tick().await;
    }
}

/// Wait until the pod template of `workload` satisfies `carries` (given `spec.template.spec` as JSON): at once for a
/// workload we patched ourselves, after its reconcile for a StatefulSet the operator regenerates from its resource.
/// Shown as `task`. A bare pod has no template: done at once.
pub async fn template_updated(
    client: &kube::Client,
    task: &Task,
    namespace: &str,
    workload: &WorkloadRef,
    what: &str,
    timeout: Duration,
    carries: impl Fn(&serde_json::Value) -> bool,
) -> Result<()> {
    let ar = match workload.kind {
        WorkloadKind::StatefulSet => kube::api::ApiResource::erase::<StatefulSet>(&()),
        WorkloadKind::Deployment => kube::api::ApiResource::erase::<Deployment>(&()),
        WorkloadKind::Pod => return Ok(()),
    };
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    wait_for(task, what, timeout, Duration::from_millis(500), || async {
        let object = api
            .get(&workload.name)
            .await
            .map_err(Error::kube(format!("read {}", workload.display())))?;
        let spec = object
            .data
            .pointer("/spec/template/spec")
            .cloned()
            .unwrap_or_default();
        Ok(if carries(&spec) {
            Poll::Done(())
        } else {
            Poll::Pending("waiting for the new pod template".to_string())
        })
    })
    .await
}

/// `kubectl rollout status` for a Deployment (kubectl/pkg/polymorphichelpers/rollout_status.go): the controller has
/// observed the generation, every replica is updated and available, and no old replica remains.
pub fn deployment_rollout_status(d: &Deployment) -> Poll<()> {
    let generation = d.metadata.generation.unwrap_or(0);
    let Some(status) = d.status.as_ref() else {
        return Poll::Pending("no status yet".into());
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Poll::Pending("waiting for the deployment spec update to be observed".into());
    }
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < want {
        return Poll::Pending(format!("{updated} of {want} new replicas updated"));
    }
    if total > updated {
        return Poll::Pending(format!(
            "{} old replicas pending termination",
            total - updated
        ));
    }
    if available < updated {
        return Poll::Pending(format!(
            "{available} of {updated} updated replicas available"
        ));
    }
    Poll::Done(())
}

/// `kubectl rollout status` for a RollingUpdate StatefulSet: generation observed, all replicas ready, and
/// `currentRevision == updateRevision`.
pub fn statefulset_rollout_status(s: &StatefulSet) -> Poll<()> {
    let generation = s.metadata.generation.unwrap_or(0);
    let Some(status) = s.status.as_ref() else {
        return Poll::Pending("no status yet".into());
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Poll::Pending("waiting for the statefulset spec update to be observed".into());
    }
    let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = status.ready_replicas.unwrap_or(0);
    if ready < want {
        return Poll::Pending(format!("{ready} of {want} pods ready"));
    }
    let updated = status.updated_replicas.unwrap_or(0);
    if status.update_revision.is_some() && status.current_revision != status.update_revision {
        return Poll::Pending(format!(
            "{updated} of {want} pods updated to the new revision"
        ));
    }
    Poll::Done(())
}

/// Why a rollout cannot progress, seen before its bound: the object that says so, its reason and message (as the
/// cluster wrote them; escaped when shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// `pod monitoring/prometheus-server-5d8f-x2k`, `replicaset monitoring/prometheus-server-5d8f`.
    pub object: String,
    pub reason: String,
    pub message: String,
}

impl Stuck {
    /// The progress line's end: `CrashLoopBackOff: pod ns/name (container c)`, escaped (both are the cluster's text).
    pub fn line(&self) -> String {
        format!(
            "{}: {}",
            crate::escape::escape(&self.reason),
            crate::escape::escape(&self.object)
        )
    }
}

/// Waiting reasons of a container that will not start without a change (kubelet's own reasons:
/// pkg/kubelet/images/types.go `ErrImagePullBackOff`/`ErrImagePull`/`ErrInvalidImageName`,
/// pkg/kubelet/kuberuntime/kuberuntime_container.go `CreateContainerConfigError`). CrashLoopBackOff
/// (pkg/kubelet/kuberuntime/kuberuntime_manager.go) counts once the container has exited at least once.
const STUCK_WAITING: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

/// Whether a new pod of a rollout cannot start (pure): an init or app container waiting for a reason that does not
/// pass by itself, crash-looping after at least one exit, or the pod unschedulable (`PodScheduled=False` with reason
/// `Unschedulable`, pkg/scheduler/framework/types.go). A pod being deleted is not judged.
pub fn stuck_pod(pod: &Pod) -> Option<Stuck> {
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let object = format!(
        "pod {}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    );
    let status = pod.status.as_ref()?;
    if let Some(c) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        && c.reason.as_deref() == Some("Unschedulable")
    {
        return Some(Stuck {
            object,
            reason: "Unschedulable".into(),
            message: c.message.clone().unwrap_or_default(),
        });
    }
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .map(|c| (c, "init container"))
        .chain(
            status
                .container_statuses
                .iter()
                .flatten()
                .map(|c| (c, "container")),
        );
    for (c, what) in containers {
        let Some(waiting) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let reason = waiting.reason.as_deref().unwrap_or_default();
        let exited = c.restart_count > 0
            || c.last_state
                .as_ref()
                .is_some_and(|s| s.terminated.is_some());
        let message = waiting.message.clone().unwrap_or_default();
        if STUCK_WAITING.contains(&reason) {
            return Some(Stuck {
                object: format!("{object} ({what} {})", c.name),
                reason: reason.into(),
                message,
            });
        }
        if reason == "CrashLoopBackOff" && exited {
            let last = c
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .map(|t| {
                    format!(
                        "; it last exited with code {}{}",
                        t.exit_code,
                        t.reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            return Some(Stuck {
                object: format!("{object} ({what} {})", c.name),
                reason: reason.into(),
                message: format!(
                    "{message}{}restarted {} time(s){last}",
                    if message.is_empty() { "" } else { "; " },
                    c.restart_count
                ),
            });
        }
    }
    None
}

/// A status condition as (type, status, reason, message): the fields ReplicaSet and Deployment conditions share.
pub type Condition = (String, String, Option<String>, Option<String>);

/// A workload's status conditions as [`Condition`] rows: Deployment and ReplicaSet conditions are distinct types
/// with the same four fields.
macro_rules! condition_rows {
    ($conditions:expr) => {
        $conditions
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c.type_.clone(),
                    c.status.clone(),
                    c.reason.clone(),
                    c.message.clone(),
                )
            })
            .collect()
    };
}

/// A `ReplicaFailure` condition that is true on a ReplicaSet or a Deployment (pure): the replica set controller sets
/// it with reason `FailedCreate` when it cannot create pods (pkg/controller/replicaset/replica_set_utils.go,
/// `calculateStatus`), and the deployment controller copies it onto the Deployment
/// (pkg/controller/deployment/sync.go, `calculateStatus`/`syncRolloutStatus`).
pub fn replica_failure(object: &str, conditions: &[Condition]) -> Option<Stuck> {
    conditions
        .iter()
        .find(|(type_, status, _, _)| type_ == "ReplicaFailure" && status == "True")
        .map(|(_, _, reason, message)| Stuck {
            object: object.to_string(),
            reason: reason.clone().unwrap_or_else(|| "ReplicaFailure".into()),
            message: message.clone().unwrap_or_default(),
        })
}

/// `FailedCreate` warnings that appeared since the wait began (pure): `before` holds each such event's uid and count
/// as the wait began, so events of an earlier failure (a StatefulSet keeps its events for an hour) do not count, and a
/// repeated event counts when its count grows. The controllers record them on the owner: the replica set controller
/// (pkg/controller/replicaset/replica_set.go, `FailedCreatePodReason`) and the StatefulSet controller
/// (pkg/controller/statefulset/stateful_pod_control.go, `FailedCreate`).
pub fn new_failed_create(
    events: &[k8s_openapi::api::core::v1::Event],
    before: &std::collections::BTreeMap<String, i32>,
) -> Option<Stuck> {
    events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("FailedCreate"))
        .filter(|e| {
            let uid = e.metadata.uid.clone().unwrap_or_default();
            before
                .get(&uid)
                .is_none_or(|count| e.count.unwrap_or(1) > *count)
        })
        .max_by_key(|e| e.count.unwrap_or(1))
        .map(|e| Stuck {
            object: format!(
                "{} {}/{}",
                e.involved_object
                    .kind
                    .as_deref()
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                e.involved_object.namespace.as_deref().unwrap_or_default(),
                e.involved_object.name.as_deref().unwrap_or_default()
            ),
            reason: "FailedCreate".into(),
            message: e.message.clone().unwrap_or_default(),
        })
}

/// The one-paragraph error for a rollout that cannot progress: the object, the reason, the message (escaped: it is
/// the cluster's text), how long we waited, and what to run next.
pub fn stuck_error(
    workload: &WorkloadRef,
    namespace: &str,
    stuck: &Stuck,
    waited: Duration,
) -> Error {
    let message = if stuck.message.is_empty() {
        String::new()
    } else {
        format!(": {}", crate::escape::escape(&stuck.message))
    };
    Error::Verify {
        message: format!(
            "the rollout of {} in namespace {namespace} cannot progress ({}s after it began): {} reports {}{message}. \
             The change stays applied; the old pods keep running where the controller has not replaced them yet",
            workload.display(),
            waited.as_secs(),
            crate::escape::escape(&stuck.object),
            crate::escape::escape(&stuck.reason),
        ),
        hint: Some(format!(
            "`kubectl describe {} -n {namespace}` and `kubectl get events -n {namespace} --sort-by=.lastTimestamp` \
             show it; `kubectl prom doctor -n {namespace}` names the cause; undo with `kubectl rollout undo {} -n \
             {namespace}` if the change itself is the cause",
            workload.display(),
            workload.display()
        )),
    }
}

/// Reads what tells a stuck rollout from a slow one: the new pods (a Deployment's newest ReplicaSet's, a
/// StatefulSet's update revision's), the ReplicaSet's and Deployment's `ReplicaFailure` condition, and the owner's
/// `FailedCreate` events that are new since [`StuckWatch::start`].
struct StuckWatch<'a> {
    client: &'a kube::Client,
    namespace: &'a str,
    workload: &'a WorkloadRef,
    /// `FailedCreate` events (uid → count) that were there when the wait began.
    before: std::collections::BTreeMap<String, i32>,
}

impl<'a> StuckWatch<'a> {
    async fn start(
        client: &'a kube::Client,
        namespace: &'a str,
        workload: &'a WorkloadRef,
    ) -> StuckWatch<'a> {
        let mut watch = StuckWatch {
            client,
            namespace,
            workload,
            before: Default::default(),
        };
        // Events of every owner the rollout may use: the workload and (for a Deployment) any ReplicaSet.
        watch.before = watch
            .failed_create_events(None)
            .await
            .into_iter()
            .map(|e| (e.metadata.uid.unwrap_or_default(), e.count.unwrap_or(1)))
            .collect();
        watch
    }

    /// `FailedCreate` events in the namespace, of `owner` (kind, name) when given. Unreadable events (403) are no
    /// evidence: the wait then ends on its bound, as before.
    async fn failed_create_events(
        &self,
        owner: Option<(&str, &str)>,
    ) -> Vec<k8s_openapi::api::core::v1::Event> {
        let api: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(self.client.clone(), self.namespace);
        let mut fields = "reason=FailedCreate".to_string();
        if let Some((kind, name)) = owner {
            fields.push_str(&format!(
                ",involvedObject.kind={kind},involvedObject.name={name}"
            ));
        }
        api.list(&kube::api::ListParams::default().fields(&fields))
            .await
            .map(|l| l.items)
            .unwrap_or_default()
    }

    async fn pods(&self, labels: &str) -> Vec<Pod> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), self.namespace);
        api.list(&kube::api::ListParams::default().labels(labels))
            .await
            .map(|l| l.items)
            .unwrap_or_default()
    }

    /// What stops the rollout now, if anything. Reads that fail are no evidence (the bound still applies).
    async fn check(&self) -> Option<Stuck> {
        use k8s_openapi::api::apps::v1::ReplicaSet;
        match self.workload.kind {
            WorkloadKind::Deployment => {
                let api: Api<Deployment> = Api::namespaced(self.client.clone(), self.namespace);
                let d = api.get(&self.workload.name).await.ok()?;
                let display = format!("deployment {}/{}", self.namespace, self.workload.name);
                let conds: Vec<Condition> =
                    condition_rows!(d.status.as_ref().and_then(|s| s.conditions.as_ref()));
                if let Some(stuck) = replica_failure(&display, &conds) {
                    return Some(stuck);
                }
                if let Some(stuck) = new_failed_create(
                    &self
                        .failed_create_events(Some(("Deployment", &self.workload.name)))
                        .await,
                    &self.before,
                ) {
                    return Some(stuck);
                }
                // The new ReplicaSet: the controller creates it with the highest revision of the Deployment's
                // ReplicaSets (pkg/controller/deployment/sync.go, `getNewReplicaSet`: `MaxRevision(oldRSs) + 1`,
                // annotation `deployment.kubernetes.io/revision`). Only once the controller has observed our change:
                // before that the newest is the old one, whose pods may be failing for the reason we fix.
                let observed = d
                    .status
                    .as_ref()
                    .and_then(|s| s.observed_generation)
                    .unwrap_or(0);
                if observed < d.metadata.generation.unwrap_or(0) {
                    return None;
                }
                const REVISION: &str = "deployment.kubernetes.io/revision";
                let revision_of = |rs: &ReplicaSet| {
                    rs.metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(REVISION))
                        .and_then(|r| r.parse::<i64>().ok())
                        .unwrap_or(0)
                };
                let uid = d.metadata.uid.clone()?;
                let sets: Api<ReplicaSet> = Api::namespaced(self.client.clone(), self.namespace);
                let list = sets.list(&Default::default()).await.ok()?;
                let rs = list
                    .items
                    .into_iter()
                    .filter(|rs| {
                        rs.metadata
                            .owner_references
                            .iter()
                            .flatten()
                            .any(|o| o.uid == uid && o.controller == Some(true))
                    })
                    .max_by_key(revision_of)?;
                let rs_name = rs.metadata.name.clone().unwrap_or_default();
                let rs_display = format!("replicaset {}/{rs_name}", self.namespace);
                let conds: Vec<Condition> =
                    condition_rows!(rs.status.as_ref().and_then(|s| s.conditions.as_ref()));
                if let Some(stuck) = replica_failure(&rs_display, &conds) {
                    return Some(stuck);
                }
                if let Some(stuck) = new_failed_create(
                    &self
                        .failed_create_events(Some(("ReplicaSet", &rs_name)))
                        .await,
                    &self.before,
                ) {
                    return Some(stuck);
                }
                let hash = rs
                    .metadata
                    .labels
                    .as_ref()?
                    .get("pod-template-hash")?
                    .clone();
                self.pods(&format!("pod-template-hash={hash}"))
                    .await
                    .iter()
                    .filter(|p| owned_by(p, rs.metadata.uid.as_deref()))
                    .find_map(stuck_pod)
            }
            WorkloadKind::StatefulSet => {
                let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), self.namespace);
                let s = api.get(&self.workload.name).await.ok()?;
                if let Some(stuck) = new_failed_create(
                    &self
                        .failed_create_events(Some(("StatefulSet", &self.workload.name)))
                        .await,
                    &self.before,
                ) {
                    return Some(stuck);
                }
                // Only pods of the update revision: an old pod that was failing is what the change may replace.
                let revision = s.status.as_ref()?.update_revision.clone()?;
                self.pods(&format!("controller-revision-hash={revision}"))
                    .await
                    .iter()
                    .filter(|p| owned_by(p, s.metadata.uid.as_deref()))
                    .find_map(stuck_pod)
            }
            WorkloadKind::Pod => None,
        }
    }
}

fn owned_by(pod: &Pod, uid: Option<&str>) -> bool {
    uid.is_some_and(|uid| {
        pod.metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.uid == uid && o.controller == Some(true))
    })
}

/// How often a rollout wait looks for a cause that stops it (every fourth poll: four reads, not on every tick).
const STUCK_EVERY: u32 = 4;

/// Wait for a workload's rollout to finish (a bare pod has nothing to roll out). A rollout that cannot progress — the
/// controller cannot create its pods, or a new pod cannot start — ends the wait as soon as the cause is visible
/// (issue 18 item 4), with [`stuck_error`], instead of at the bound.
pub async fn wait_rollout(
    client: &kube::Client,
    printer: &Printer,
    namespace: &str,
    workload: &WorkloadRef,
    timeout: Duration,
) -> Result<()> {
    let task = spinner(printer, &format!("rollout {}", workload.display()));
    let what = format!(
        "the rollout of {} in namespace {namespace}",
        workload.display()
    );
    let noted = PendingWait::note(format!(
        "waiting for {what} (it goes on without us: `kubectl rollout status {} -n {namespace}`)",
        workload.display()
    ));
    let interval = Duration::from_millis(500);
    let started = Instant::now();
    let watch = StuckWatch::start(client, namespace, workload).await;
    let polls = std::sync::atomic::AtomicU32::new(0);
    // Every few polls that are not done yet: is something stopping the rollout?
    let (watch, polls, shown) = (&watch, &polls, &task);
    let stuck = move |status: Poll<()>| async move {
        if matches!(status, Poll::Done(())) {
            return Ok(status);
        }
        let n = polls.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if n % STUCK_EVERY == 0
            && let Some(stuck) = watch.check().await
        {
            shown.fail(&stuck.line());
            return Err(stuck_error(workload, namespace, &stuck, started.elapsed()));
        }
        Ok(status)
    };
    match workload.kind {
        WorkloadKind::Deployment => {
            let api: kube::Api<Deployment> = kube::Api::namespaced(client.clone(), namespace);
            wait_for(&task, &what, timeout, interval, || async {
                let d = api
                    .get(&workload.name)
                    .await
                    .map_err(Error::kube(format!("read {}", workload.display())))?;
                stuck(deployment_rollout_status(&d)).await
            })
            .await?;
        }
        WorkloadKind::StatefulSet => {
            let api: kube::Api<StatefulSet> = kube::Api::namespaced(client.clone(), namespace);
            wait_for(&task, &what, timeout, interval, || async {
                let s = api
                    .get(&workload.name)
                    .await
                    .map_err(Error::kube(format!("read {}", workload.display())))?;
                stuck(statefulset_rollout_status(&s)).await
            })
            .await?;
        }
        WorkloadKind::Pod => {}
    }
    noted.done();
    task.done("rolled out");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::spinner;
    use crate::ui::Printer;
    use serde_json::json;

    #[test]
    fn deployment_rollout_follows_kubectl_rules() {
        let mk = |generation: i64,
                  observed: i64,
                  updated: i32,
                  total: i32,
                  available: i32|
         -> Deployment {
            serde_json::from_value(json!({
                "metadata": {"name": "p", "generation": generation},
                "spec": {"replicas": 2, "selector": {}, "template": {}},
                "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total, "availableReplicas": available}
            }))
            .unwrap()
        };
        assert!(
            matches!(deployment_rollout_status(&mk(2, 1, 2, 2, 2)), Poll::Pending(s) if s.contains("observed"))
        );
        assert_eq!(
            deployment_rollout_status(&mk(2, 2, 1, 2, 2)),
            Poll::Pending("1 of 2 new replicas updated".into())
        );
        assert_eq!(
            deployment_rollout_status(&mk(2, 2, 2, 3, 2)),
            Poll::Pending("1 old replicas pending termination".into())
        );
        assert_eq!(
            deployment_rollout_status(&mk(2, 2, 2, 2, 1)),
            Poll::Pending("1 of 2 updated replicas available".into())
        );
        assert_eq!(
            deployment_rollout_status(&mk(2, 2, 2, 2, 2)),
            Poll::Done(())
        );
    }

    #[test]
    fn statefulset_rollout_waits_for_the_update_revision() {
        let mk = |ready: i32, current: &str| -> StatefulSet {
            serde_json::from_value(json!({
                "metadata": {"name": "p", "generation": 3},
                "spec": {"replicas": 2, "selector": {}, "template": {}, "serviceName": "p"},
                "status": {"observedGeneration": 3, "replicas": 2, "readyReplicas": ready, "updatedReplicas": 1,
                           "currentRevision": current, "updateRevision": "p-2"}
            }))
            .unwrap()
        };
        assert_eq!(
            statefulset_rollout_status(&mk(1, "p-1")),
            Poll::Pending("1 of 2 pods ready".into())
        );
        assert!(
            matches!(statefulset_rollout_status(&mk(2, "p-1")), Poll::Pending(s) if s.contains("new revision"))
        );
        assert_eq!(statefulset_rollout_status(&mk(2, "p-2")), Poll::Done(()));
    }

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "prometheus-server-5d8f-x2k", "namespace": "monitoring"},
            "spec": {"containers": [{"name": "prometheus-server"}]},
            "status": status
        }))
        .unwrap()
    }

    #[test]
    fn a_new_pod_that_cannot_start_is_stuck_and_a_starting_one_is_not() {
        let waiting = |reason: &str, restarts: i32| {
            pod(
                json!({"containerStatuses": [{"name": "prometheus-server", "ready": false, "image": "i", "imageID": "",
                "restartCount": restarts, "state": {"waiting": {"reason": reason, "message": "back-off pulling \u{1b}[31m"}}}]}),
            )
        };
        let stuck = stuck_pod(&waiting("ImagePullBackOff", 0)).expect("stuck");
        let forged = Stuck {
            reason: "Evil\u{1b}[2J".into(),
            ..stuck.clone()
        };
        assert!(!forged.line().contains('\u{1b}'), "{:?}", forged.line());
        assert_eq!(stuck.reason, "ImagePullBackOff");
        assert_eq!(
            stuck.object,
            "pod monitoring/prometheus-server-5d8f-x2k (container prometheus-server)"
        );
        assert!(stuck_pod(&waiting("CreateContainerConfigError", 0)).is_some());
        assert!(stuck_pod(&waiting("ErrImagePull", 0)).is_some());
        // Starting, or backing off before it ever exited: not (yet) a cause.
        assert!(stuck_pod(&waiting("ContainerCreating", 0)).is_none());
        assert!(stuck_pod(&waiting("PodInitializing", 0)).is_none());
        assert!(stuck_pod(&waiting("CrashLoopBackOff", 0)).is_none());
        let crash = pod(
            json!({"initContainerStatuses": [{"name": "init-chown", "ready": false, "image": "i", "imageID": "",
            "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
        );
        let stuck = stuck_pod(&crash).expect("crash loop");
        assert_eq!(stuck.reason, "CrashLoopBackOff");
        assert!(
            stuck.object.ends_with("(init container init-chown)"),
            "{stuck:?}"
        );
        assert_eq!(
            stuck.message,
            "restarted 3 time(s); it last exited with code 1 (Error)"
        );
        let unschedulable = pod(
            json!({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 Insufficient memory."}]}),
        );
        assert_eq!(stuck_pod(&unschedulable).unwrap().reason, "Unschedulable");
        let mut leaving = crash.clone();
        leaving.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Default::default()),
        );
        assert!(
            stuck_pod(&leaving).is_none(),
            "a pod on its way out is not judged"
        );
    }

    #[test]
    fn only_failed_create_events_new_since_the_wait_began_count() {
        let event = |uid: &str, count: i32| -> k8s_openapi::api::core::v1::Event {
            serde_json::from_value(json!({
                "metadata": {"name": uid, "namespace": "monitoring", "uid": uid},
                "involvedObject": {"kind": "StatefulSet", "namespace": "monitoring", "name": "prometheus-kps"},
                "reason": "FailedCreate", "type": "Warning", "count": count,
                "message": "create Pod prometheus-kps-0 in StatefulSet prometheus-kps failed error: Pod \"prometheus-kps-0\" is invalid"
            }))
            .unwrap()
        };
        let before: std::collections::BTreeMap<String, i32> = [("old".to_string(), 4)].into();
        // The old failure, unchanged: no evidence about this rollout.
        assert!(new_failed_create(&[event("old", 4)], &before).is_none());
        // The same event repeated since, or a new one: the controller cannot create the new pods.
        let stuck = new_failed_create(&[event("old", 5)], &before).expect("repeated");
        assert_eq!(stuck.object, "statefulset monitoring/prometheus-kps");
        assert!(stuck.message.contains("is invalid"));
        assert!(new_failed_create(&[event("new", 1)], &before).is_some());
        assert!(new_failed_create(&[], &before).is_none());
    }

    #[test]
    fn replica_failure_condition_names_the_replica_set_and_the_error_is_one_escaped_paragraph() {
        let conds = vec![
            ("Available".to_string(), "True".to_string(), None, None),
            (
                "ReplicaFailure".to_string(),
                "True".to_string(),
                Some("FailedCreate".to_string()),
                Some("pods \"p-1\" is forbidden: exceeded quota: \u{1b}]52;evil".to_string()),
            ),
        ];
        let stuck = replica_failure("replicaset monitoring/p-5d8f", &conds).expect("failure");
        assert_eq!(stuck.reason, "FailedCreate");
        assert!(replica_failure("x", &conds[..1]).is_none());
        let workload = WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: "p".into(),
            replicas: 1,
            resource_version: None,
            ordered_ready: false,
        };
        let err = stuck_error(&workload, "monitoring", &stuck, Duration::from_secs(7));
        let text = err.to_string();
        assert!(
            text.contains("cannot progress (7s after it began)"),
            "{text}"
        );
        assert!(
            text.contains("replicaset monitoring/p-5d8f reports FailedCreate"),
            "{text}"
        );
        assert!(
            !text.contains('\u{1b}'),
            "cluster text is escaped: {text:?}"
        );
        assert!(!text.contains('\n'), "one paragraph: {text}");
        assert!(err.hint().unwrap().contains("kubectl rollout undo"));
    }

    #[tokio::test]
    async fn wait_for_times_out_with_the_last_state() {
        let printer = Printer {
            quiet: true,
            verbose: 0,
            color: false,
            stderr_is_tty: false,
        };
        let task = spinner(&printer, "x");
        let err = wait_for(
            &task,
            "the thing",
            Duration::from_millis(30),
            Duration::from_millis(10),
            || async { Ok(Poll::<()>::Pending("still 1 of 2".into())) },
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("waiting for the thing; last state: still 1 of 2"),
            "{err}"
        );
        let mut n = 0;
        let v = wait_for(
            &task,
            "the thing",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                n += 1;
                let n = n;
                async move {
                    Ok(if n < 3 {
                        Poll::Pending(format!("{n}"))
                    } else {
                        Poll::Done(n)
                    })
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(v, 3);
    }
}
