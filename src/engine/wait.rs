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

/// Wait until `name` is gone from `api` (a delete the next step depends on: a StatefulSet is created again only
/// once the old object is gone, or the create answers AlreadyExists). Bounded by `limit`.
pub async fn gone<K>(api: &Api<K>, name: &str, limit: Duration) -> Result<()>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
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
    api: &Api<StatefulSet>,
    name: &str,
    old_uid: &str,
    limit: Duration,
) -> Result<()> {
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

/// Wait for a workload's rollout to finish (a bare pod has nothing to roll out).
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
    match workload.kind {
        WorkloadKind::Deployment => {
            let api: kube::Api<Deployment> = kube::Api::namespaced(client.clone(), namespace);
            wait_for(&task, &what, timeout, interval, || async {
                let d = api
                    .get(&workload.name)
                    .await
                    .map_err(Error::kube(format!("read {}", workload.display())))?;
                Ok(deployment_rollout_status(&d))
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
                Ok(statefulset_rollout_status(&s))
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
