//! Every wait that follows a change, in one place: polls bounded by a limit, shown as a progress line on stderr,
//! and listed as "not done" in the interrupt journal while they run (a Ctrl-C, SIGTERM or SIGHUP drops the waiting
//! future through the one interrupt path, `crate::interrupt`). `tokio::time::sleep` is called here and nowhere else
//! in the verbs: [`Ticker`] paces every poll.
//!
//! - [`wait_for`]: poll a check until it is done, bounded, shown as a named line;
//! - [`wait_rollout`] with [`deployment_rollout_status`] / [`statefulset_rollout_status`] (pure, kubectl's rules).

use crate::discover::{WorkloadKind, WorkloadRef};
use crate::error::{Error, Result};
use crate::progress::{Task, spinner};
use crate::ui::Printer;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
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
    let started = Instant::now();
    loop {
        match check().await? {
            Poll::Done(v) => return Ok(v),
            Poll::Pending(state) => {
                task.set(&state);
                if started.elapsed() >= timeout {
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
        tokio::time::sleep(interval).await;
    }
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
