//! Progress on stderr and bounded waits: spinners/bars with indicatif on a terminal, plain timestamped lines
//! otherwise; waiting for a rollout (like `kubectl rollout status`) and for a PVC to finish resizing.
//!
//! Public API:
//! - [`Board::new`] then [`Board::line`] per concurrent task (one line each), or [`spinner`] for a single wait;
//!   [`Task::set`] / [`Task::done`] / [`Task::fail`].
//! - [`wait_for`]: poll a check until it is done, bounded by a timeout, shown as a named line.
//! - [`wait_rollout`] / [`rollout_status`] (pure), [`wait_pvc_resized`] / [`pvc_resize_status`] (pure).

use crate::discover::{WorkloadKind, WorkloadRef};
use crate::error::{Error, Result};
use crate::ui::Printer;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use std::future::Future;
use std::time::{Duration, Instant};

/// A set of progress lines drawn together (indicatif MultiProgress on a terminal).
pub struct Board {
    printer: Printer,
    multi: Option<indicatif::MultiProgress>,
}

impl Board {
    pub fn new(printer: &Printer) -> Self {
        let multi = printer.bars().then(|| {
            indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr())
        });
        Board {
            printer: printer.clone(),
            multi,
        }
    }

    /// A new line for one task, labelled (e.g. the pod name).
    pub fn line(&self, label: &str) -> Task {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(indicatif::ProgressBar::new_spinner());
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Task {
            bar,
            label: label.to_string(),
            printer: self.printer.clone(),
            last: std::sync::Mutex::new(String::new()),
        }
    }
}

/// A single spinner line.
pub fn spinner(printer: &Printer, label: &str) -> Task {
    Board::new(printer).line(label)
}

/// One progress line.
pub struct Task {
    bar: Option<indicatif::ProgressBar>,
    label: String,
    printer: Printer,
    /// Plain mode prints a line only when the message changes.
    last: std::sync::Mutex<String>,
}

impl Task {
    /// Update the message (plain mode: a new timestamped line if it changed).
    pub fn set(&self, message: &str) {
        match &self.bar {
            // Messages may quote the cluster (event messages, conditions): escaped as every output is.
            Some(bar) => bar.set_message(crate::escape::escape(message).into_owned()),
            None => {
                let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
                if *last != message {
                    *last = message.to_string();
                    self.printer
                        .progress_line(&format!("{}: {message}", self.label));
                }
            }
        }
    }

    /// Finish with a success message.
    pub fn done(&self, message: &str) {
        self.finish("✓", message);
    }

    /// Finish with a failure message.
    pub fn fail(&self, message: &str) {
        self.finish("✗", message);
    }

    /// Finish without knowing how it went (a source that could not be read): never a ✓ without evidence.
    pub fn unknown(&self, message: &str) {
        self.finish("?", message);
    }

    fn finish(&self, mark: &str, message: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{prefix}: {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.finish_with_message(format!("{mark} {}", crate::escape::escape(message)));
            }
            None => self
                .printer
                .progress_line(&format!("{}: {mark} {message}", self.label)),
        }
    }
}

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

/// Where a PVC resize stands: done when `status.capacity.storage` reaches `want_bytes`; otherwise the resize
/// conditions (`Resizing`, `FileSystemResizePending`, `ControllerResizeError`, … — prometheus-facts §6.1) as text.
pub fn pvc_resize_status(pvc: &PersistentVolumeClaim, want_bytes: i128) -> Poll<()> {
    let status = pvc.status.as_ref();
    let capacity = status
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .and_then(|q| quantity_bytes(&q.0));
    if capacity.is_some_and(|c| c >= want_bytes) {
        return Poll::Done(());
    }
    let conditions: Vec<String> = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.status == "True")
        .map(|c| match c.message.as_deref() {
            Some(m) if !m.is_empty() => format!("{}: {m}", c.type_),
            _ => c.type_.clone(),
        })
        .collect();
    let have = status
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .map(|q| q.0.clone())
        .unwrap_or_else(|| "unknown".into());
    if conditions.is_empty() {
        Poll::Pending(format!("capacity {have}"))
    } else {
        Poll::Pending(format!("capacity {have}; {}", conditions.join("; ")))
    }
}

/// Wait until a PVC's capacity reaches `want` (a Kubernetes quantity such as `12Gi`).
pub async fn wait_pvc_resized(
    client: &kube::Client,
    printer: &Printer,
    namespace: &str,
    pvc: &str,
    want: &str,
    timeout: Duration,
) -> Result<()> {
    let want_bytes = quantity_bytes(want)
        .ok_or_else(|| Error::usage(format!("`{want}` is not a storage quantity"), None))?;
    let api: kube::Api<PersistentVolumeClaim> = kube::Api::namespaced(client.clone(), namespace);
    let task = spinner(printer, &format!("pvc {pvc}"));
    let what = format!("persistentvolumeclaim {namespace}/{pvc} to reach {want}");
    let noted = PendingWait::note(format!(
        "waiting for {what} (the request stays in place: `kubectl get pvc {pvc} -n {namespace} -w`)"
    ));
    wait_for(
        &task,
        &what,
        timeout,
        Duration::from_millis(500),
        || async {
            let p = api.get(pvc).await.map_err(Error::kube(format!(
                "read persistentvolumeclaim {namespace}/{pvc}"
            )))?;
            Ok(pvc_resize_status(&p, want_bytes))
        },
    )
    .await?;
    noted.done();
    task.done(&format!("capacity {want}"));
    Ok(())
}

/// Bytes in a Kubernetes quantity (`8Gi`, `500M`), via the crate's exact Quantity type.
fn quantity_bytes(q: &str) -> Option<i128> {
    crate::quantity::Quantity::parse(q).ok().map(|q| q.bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn pvc_resize_reports_conditions_until_capacity_arrives() {
        let pending: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data"},
            "status": {"capacity": {"storage": "8Gi"}, "conditions": [{"type": "FileSystemResizePending", "status": "True",
                "message": "Waiting for user to (re-)start a pod to finish file system resize of volume on node."}]}
        }))
        .unwrap();
        let want = quantity_bytes("10Gi").unwrap();
        match pvc_resize_status(&pending, want) {
            Poll::Pending(s) => assert!(
                s.contains("capacity 8Gi; FileSystemResizePending: Waiting for user"),
                "{s}"
            ),
            other => panic!("{other:?}"),
        }
        let done: PersistentVolumeClaim = serde_json::from_value(
            json!({"metadata": {"name": "data"}, "status": {"capacity": {"storage": "10Gi"}}}),
        )
        .unwrap();
        assert_eq!(pvc_resize_status(&done, want), Poll::Done(()));
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
