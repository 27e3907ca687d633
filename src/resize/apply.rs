//! Applying a resize plan and following it: confirmation gates, each step with its precondition (and dryRun=All),
//! the operator's never-left-paused rollback, the per-claim resize watch (Resizing → FileSystemResizePending →
//! done, or the resizer's error), pod restarts (only the plan's, by uid, each confirmed; never a pod that is not the
//! instance's own), and waiting for a pod to be Ready.

use super::plan::{Action, Phase, ResizePlan};
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::quantity::Quantity;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use serde::Serialize;
use std::time::{Duration, Instant};

/// A progress line on stderr (timestamped when stderr is not a terminal), muted by --quiet.
pub fn progress(ctx: &Ctx, line: &str) {
    if ctx.printer.stderr_is_tty {
        ctx.printer.info(line);
    } else {
        ctx.printer.progress_line(line);
    }
}

/// What happened to one step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedStep {
    pub step: String,
    /// `applied`, `dry-run`, `not-sent` (dry run after a dry-run class change), `skipped` (declined) or `failed`.
    pub result: String,
}

/// Send one step through the engine's one send path ([`crate::engine::send`]): patches carry the resourceVersion
/// they were planned from (409 if the object changed), the orphan delete its uid. An orphan delete is followed until
/// the object is gone (the create or the unpause after it needs it gone).
pub async fn apply_step(ctx: &Ctx, namespace: &str, step: &Action) -> Result<()> {
    let dry_run = ctx.settings.dry_run;
    let action = step.summary();
    if let Action::RecreateStatefulSet { name, .. } = step
        && dry_run
    {
        // The StatefulSet still exists in a dry run, so a create would only answer AlreadyExists.
        progress(
            ctx,
            &format!("dry run: not sending the create of statefulset/{name} (it was not deleted)"),
        );
        return Ok(());
    }
    crate::engine::send(ctx, &step.change(namespace))
        .await
        .map_err(|e| match step {
            Action::PatchClaim { name, .. } => explain_claim_refusal(namespace, name, e),
            _ => e,
        })?;
    if let Action::OrphanDeleteStatefulSet(sts) = step
        && !dry_run
    {
        crate::engine::wait::gone::<StatefulSet>(
            &ctx.client,
            namespace,
            &sts.name,
            Duration::from_secs(60),
        )
        .await?;
    }
    progress(
        ctx,
        &format!(
            "{}{action}",
            if dry_run {
                "dry run (dryRun=All): "
            } else {
                "done: "
            }
        ),
    );
    Ok(())
}

/// A 403 from the resize admission plugin gets its meaning spelled out.
fn explain_claim_refusal(namespace: &str, name: &str, err: Error) -> Error {
    if let Error::Kube {
        source: kube::Error::Api(status),
        ..
    } = &err
        && status
            .message
            .contains(super::plan::NOT_EXPANDABLE_ADMISSION)
    {
        return Error::Verify {
            message: format!(
                "the apiserver refused to grow claim {namespace}/{name}: \"{}\" — its StorageClass does not allow volume expansion (or the claim was provisioned statically)",
                status.message
            ),
            hint: Some("re-run with --allow-expansion to set allowVolumeExpansion: true on the class (asked separately)".into()),
        };
    }
    err
}

/// Run the steps of one phase in order after confirming `question` (None: the user already confirmed these very
/// changes, e.g. when a conflict made us re-read and the new plan is the same). Returns what was applied; a declined phase is
/// `skipped`. For the operator flavour, a failure after the pause leaves the resource unpaused (see [`rollback`]).
pub async fn run_phase(
    ctx: &Ctx,
    plan: &ResizePlan,
    phase: Phase,
    question: Option<&str>,
    applied: &mut Vec<AppliedStep>,
) -> Result<bool> {
    let steps: Vec<&Action> = plan.phase(phase).collect();
    if steps.is_empty() {
        return Ok(true);
    }
    let mut pending: Vec<String> = steps.iter().map(|s| s.summary()).collect();
    pending.push(following_claims(plan));
    let declined = !crate::engine::confirm_group(ctx, question, pending, continue_command(plan))?;
    if declined {
        for step in &steps {
            applied.push(AppliedStep {
                step: step.summary(),
                result: "skipped".into(),
            });
        }
        return Ok(false);
    }
    let mut paused: Option<&Action> = None;
    // Whether an unpause may leave the storage request as it is: once no StatefulSet with the old claim template is
    // left (orphan-deleted by this plan, or already before it, when a half-done resize is finished).
    let mut orphaned = !steps
        .iter()
        .any(|s| matches!(s, Action::OrphanDeleteStatefulSet(_)));
    // The engine's stretch that must not be left half-done: from the pause to the unpause (operator) and from the
    // orphan delete to the recreate (StatefulSet). A Ctrl-C in between waits, so the resource is never left paused
    // nor the pods without their StatefulSet; a forced exit prints the repair.
    let mut section: Option<crate::engine::Section> = None;
    // In a dry run the class change is not persisted, so admission would refuse every claim patch: don't send them.
    let class_only_dry_run =
        ctx.settings.dry_run && plan.phase(Phase::AllowExpansion).next().is_some();
    for step in steps {
        if class_only_dry_run && matches!(step, Action::PatchClaim { .. }) {
            progress(
                ctx,
                &format!(
                    "dry run: not sending {}: the StorageClass change above was only a dry run, so admission would refuse it",
                    step.summary()
                ),
            );
            applied.push(AppliedStep {
                step: step.summary(),
                result: "not-sent".into(),
            });
            continue;
        }
        match step {
            Action::PausePrometheus { name, from, .. } if !ctx.settings.dry_run => {
                section = Some(crate::engine::Section::open(
                    format!("prometheus/{name} is paused until the resize unpauses it"),
                    Some(unpause_command(
                        &plan.namespace,
                        name,
                        from.as_deref(),
                        orphaned,
                    )),
                ));
            }
            Action::OrphanDeleteStatefulSet(_) if !ctx.settings.dry_run && section.is_none() => {
                section = Some(crate::engine::Section::open(
                    format!(
                        "{} is being recreated around its running pods",
                        step.summary()
                    ),
                    None,
                ));
            }
            _ => {}
        }
        match apply_step(ctx, &plan.namespace, step).await {
            Ok(()) => {
                if !ctx.settings.dry_run {
                    crate::interrupt::journal().applied(step.summary());
                }
                applied.push(AppliedStep {
                    step: step.summary(),
                    result: if ctx.settings.dry_run {
                        "dry-run"
                    } else {
                        "applied"
                    }
                    .into(),
                });
                match step {
                    Action::PausePrometheus { .. } => paused = Some(step),
                    Action::OrphanDeleteStatefulSet(_) => {
                        orphaned = true;
                        if let Some(Action::PausePrometheus { name, from, .. }) = paused
                            && let Some(section) = section.as_mut()
                        {
                            section.set_repair(unpause_command(
                                &plan.namespace,
                                name,
                                from.as_deref(),
                                true,
                            ));
                        }
                    }
                    Action::UnpausePrometheus { .. } | Action::RecreateStatefulSet { .. } => {
                        paused = None;
                        if let Some(section) = section.take() {
                            section.close();
                        }
                    }
                    _ => {}
                }
            }
            Err(err) => {
                applied.push(AppliedStep {
                    step: step.summary(),
                    result: "failed".into(),
                });
                if let Some(pause) = paused
                    && let Some(section) = section.take()
                {
                    return Err(rollback(ctx, plan, pause, orphaned, section, applied, err).await);
                }
                // The pause itself was not sent: nothing is paused, so no unpause is left to repair.
                if let (Action::PausePrometheus { .. }, Some(section)) = (step, section.take()) {
                    section.close();
                }
                return Err(with_continue(ctx, err, plan));
            }
        }
    }
    Ok(true)
}

/// A step failed outside the operator's pause. Unless it is a conflict (re-planned by the caller), say what stays
/// applied and the absolute command that finishes the resize (re-running `--add` would grow twice); the error itself
/// keeps its sentence and exit code.
fn with_continue(ctx: &Ctx, err: Error, plan: &ResizePlan) -> Error {
    let applied = crate::interrupt::journal().applied.clone();
    if !err.is_conflict() && !ctx.settings.dry_run && !applied.is_empty() {
        ctx.printer.warn(&format!(
            "applied before the failure, and kept: {}; `{}` finishes what is left (it re-reads everything)",
            applied.join("; "),
            continue_command(plan)
        ));
    }
    err
}

/// The command that continues an interrupted resize: the absolute target (a relative `--add`/`--increase` run
/// again would grow the claims a second time), and `--allow-expansion` when the plan needed it.
pub fn continue_command(plan: &ResizePlan) -> String {
    let allow = if plan.phase(Phase::AllowExpansion).next().is_some() {
        " --allow-expansion"
    } else {
        ""
    };
    format!(
        "kubectl prom resize {} -n {} --size {}{allow}",
        plan.instance, plan.namespace, plan.target
    )
}

/// The wait that follows the steps, as the journal's "not done" names it.
fn following_claims(plan: &ResizePlan) -> String {
    let claims: Vec<&str> = plan.claims.iter().map(|c| c.name.as_str()).collect();
    format!(
        "following claim(s) {} to {} and checking the filesystem the pod sees (a request already raised stays in place; `kubectl get pvc -n {} -w` follows it)",
        claims.join(", "),
        plan.target,
        plan.namespace
    )
}

/// The merge patch that unpauses the resource safely: before the orphan delete with the storage request put back to
/// `from` (see [`rollback`]), after it as is.
fn unpause_body(from: Option<&str>, orphaned: bool) -> serde_json::Value {
    let mut body = serde_json::json!({"spec": {"paused": false}});
    if !orphaned {
        body["spec"]["storage"] = serde_json::json!({"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": from}}}}});
    }
    body
}

/// [`unpause_body`] as a pasteable kubectl command, for an exit forced in the middle of pause..unpause.
fn unpause_command(namespace: &str, name: &str, from: Option<&str>, orphaned: bool) -> String {
    format!(
        "kubectl patch prometheus/{name} -n {namespace} --type merge -p '{}'",
        unpause_body(from, orphaned)
    )
}

/// Never leave the `Prometheus` resource paused. Before the StatefulSet was orphan-deleted, the storage request is
/// put back too: unpaused with a changed claim template, the operator would delete the StatefulSet with Foreground
/// propagation and take the pods down (prometheus-facts §5.3). After the orphan delete, the new request stays and
/// the operator recreates the StatefulSet around the running pods.
async fn rollback(
    ctx: &Ctx,
    plan: &ResizePlan,
    pause: &Action,
    orphaned: bool,
    section: crate::engine::Section,
    applied: &[AppliedStep],
    cause: Error,
) -> Error {
    let Action::PausePrometheus { name, from, .. } = pause else {
        return cause;
    };
    let namespace = plan.namespace.as_str();
    let body = unpause_body(from.as_deref(), orphaned);
    let done: Vec<&str> = applied
        .iter()
        .filter(|a| a.result == "applied")
        .map(|a| a.step.as_str())
        .collect();
    // Without a precondition, like the plan's own unpause: it must apply whatever changed meanwhile.
    let unpause = crate::engine::Change::Patch {
        object: crate::engine::ObjectRef::prometheus(namespace, name),
        resource_version: None,
        patch: body,
        before: serde_json::Value::Null,
        after: serde_json::Value::Null,
    };
    let unpaused = section
        .compensate(
            ctx,
            &unpause,
            format!("unpaused prometheus/{name} (rollback)"),
        )
        .await;
    let state = match (&unpaused, orphaned) {
        (Ok(_), false) => format!(
            "prometheus/{name} is unpaused again with its storage request back at {}; the StatefulSet was not touched",
            from.as_deref().unwrap_or("(unset)")
        ),
        (Ok(_), true) => format!(
            "prometheus/{name} is unpaused with the new storage request; its StatefulSet was orphan-deleted, so the operator recreates it around the running pods"
        ),
        (Err(e), _) => format!(
            "prometheus/{name} is STILL PAUSED: unpausing failed ({e}); run `{}`",
            unpause_command(namespace, name, from.as_deref(), orphaned)
        ),
    };
    Error::Verify {
        message: format!(
            "{cause}. State now: {state}. Steps already applied: {}",
            if done.is_empty() {
                "none".to_string()
            } else {
                done.join("; ")
            }
        ),
        hint: Some(format!(
            "claims already patched keep growing; `{}` finishes what is left (it re-reads everything; the absolute size, so nothing grows twice)",
            continue_command(plan)
        )),
    }
}

/// Where a claim's resize stands (prometheus-facts §6.1, external-resizer conditions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ClaimState {
    /// The request is raised but no controller has started (no condition yet).
    Requested { capacity: String },
    /// Condition `Resizing`: the controller expands the volume.
    Resizing { capacity: String },
    /// Condition `FileSystemResizePending`: the volume grew, the filesystem grows when a pod (re-)mounts it.
    FileSystemResizePending { capacity: String, message: String },
    /// `ControllerResizeError` / `NodeResizeError`, or a `VolumeResizeFailed` event: the resizer failed.
    Failed { capacity: String, message: String },
    /// `FileSystemResizePending` while no pod mounts the claim (the workload scaled to 0, as an offline-only driver
    /// needs): the volume grew, and the kubelet grows the filesystem when a pod next mounts it (NodeExpandVolume inside
    /// MountVolume, kubernetes pkg/volume/util/operationexecutor/operation_generator.go `expandVolumeDuringMount`).
    /// Nothing is left for resize to do or wait for; the claim's capacity moves on that mount.
    GrowsOnMount { capacity: String },
    /// `status.capacity` reached the target and no resize condition is left.
    Done { capacity: String },
}

/// Classify a claim's status against the target; pure.
pub fn claim_state(
    pvc: &PersistentVolumeClaim,
    target: Quantity,
    failure_event: Option<&str>,
) -> ClaimState {
    let status = pvc.status.as_ref();
    let capacity_text = status
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .map(|q| q.0.clone())
        .unwrap_or_default();
    let capacity = Quantity::parse(&capacity_text).ok();
    let conditions = status
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let condition = |kind: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == kind && c.status == "True")
            .map(|c| c.message.clone().unwrap_or_default())
    };
    let alloc_status = status
        .and_then(|s| s.allocated_resource_statuses.as_ref())
        .and_then(|m| m.get("storage"))
        .cloned()
        .unwrap_or_default();
    if let Some(message) =
        condition("ControllerResizeError").or_else(|| condition("NodeResizeError"))
    {
        return ClaimState::Failed {
            capacity: capacity_text,
            message,
        };
    }
    if alloc_status.ends_with("Infeasible") {
        return ClaimState::Failed {
            capacity: capacity_text,
            message: format!("allocatedResourceStatuses.storage is {alloc_status}"),
        };
    }
    if let Some(message) = condition("FileSystemResizePending") {
        return ClaimState::FileSystemResizePending {
            capacity: capacity_text,
            message,
        };
    }
    if condition("Resizing").is_some() {
        return ClaimState::Resizing {
            capacity: capacity_text,
        };
    }
    if capacity.is_some_and(|c| c >= target) {
        return ClaimState::Done {
            capacity: capacity_text,
        };
    }
    if let Some(message) = failure_event {
        return ClaimState::Failed {
            capacity: capacity_text,
            message: message.to_string(),
        };
    }
    ClaimState::Requested {
        capacity: capacity_text,
    }
}

/// `Restart pod …` from `restart pod …`.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl ClaimState {
    /// `status.capacity.storage` as the claim reported it.
    pub fn capacity(&self) -> &str {
        match self {
            ClaimState::Requested { capacity }
            | ClaimState::Resizing { capacity }
            | ClaimState::FileSystemResizePending { capacity, .. }
            | ClaimState::Failed { capacity, .. }
            | ClaimState::GrowsOnMount { capacity }
            | ClaimState::Done { capacity } => capacity,
        }
    }

    /// Where the claim stands, as a progress message.
    pub fn message(&self, target: Quantity) -> String {
        match self {
            ClaimState::Requested { capacity } => {
                format!("requested {target}, capacity {capacity}, waiting for the resizer")
            }
            ClaimState::Resizing { capacity } => {
                format!("Resizing (capacity {capacity} → {target})")
            }
            ClaimState::FileSystemResizePending { capacity, message } => {
                format!("FileSystemResizePending (capacity {capacity}): {message}")
            }
            ClaimState::Failed { capacity, message } => {
                format!("resize failed (capacity {capacity}): {message}")
            }
            ClaimState::GrowsOnMount { capacity } => format!(
                "the volume grew to {target}; no pod mounts the claim, and its filesystem (capacity {capacity} until then) grows when one does"
            ),
            ClaimState::Done { capacity } => format!("done, capacity {capacity}"),
        }
    }

    /// One line naming the claim.
    pub fn line(&self, claim: &str, target: Quantity) -> String {
        format!("{claim}: {}", self.message(target))
    }
}

/// The newest `VolumeResizeFailed` (or other Warning about resizing) event message for a claim, since `since`.
pub fn resize_failure(
    events: &[Event],
    claim: &str,
    since: &k8s_openapi::jiff::Timestamp,
) -> Option<String> {
    events
        .iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some("PersistentVolumeClaim")
                && e.involved_object.name.as_deref() == Some(claim)
                && e.type_.as_deref() == Some("Warning")
                && matches!(
                    e.reason.as_deref(),
                    Some("VolumeResizeFailed") | Some("FileSystemResizeFailed")
                )
        })
        .filter(|e| event_time(e).is_none_or(|t| t >= *since))
        .max_by_key(|e| event_time(e))
        .and_then(|e| e.message.clone())
}

fn event_time(e: &Event) -> Option<k8s_openapi::jiff::Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
}

/// The controller-manager's hand-off of a claim to an external resizer: reason `ExternalExpanding`, "waiting for an
/// external controller to expand this PVC" (kubernetes pkg/controller/volume/expand/expand_controller.go, recorded
/// for every CSI volume, which no in-tree plugin expands). The newest such event since `since`.
pub fn external_expanding(
    events: &[Event],
    claim: &str,
    since: &k8s_openapi::jiff::Timestamp,
) -> Option<String> {
    events
        .iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some("PersistentVolumeClaim")
                && e.involved_object.name.as_deref() == Some(claim)
                && e.reason.as_deref() == Some("ExternalExpanding")
        })
        .filter(|e| event_time(e).is_none_or(|t| t >= *since))
        .max_by_key(|e| event_time(e))
        .map(|e| e.message.clone().unwrap_or_default())
}

/// How long a claim handed to an external resizer (`ExternalExpanding`) may wait for one to start (condition
/// `Resizing`, kubernetes-csi/external-resizer pkg/controller/expand_and_recover.go `markControllerResizeInProgress`,
/// set before anything else the resizer does) before we say that no resizer serves its driver. A running resizer
/// picks a claim up from its informer within seconds.
const NO_RESIZER_GRACE: Duration = Duration::from_secs(30);

/// The sentence for a claim that the controller-manager handed to an external resizer and that none picked up.
/// `resizer` names the volume's CSI driver, or the claim's class when the PV cannot be read.
pub fn no_resizer_message(
    resizer: &str,
    event: &str,
    waited: Duration,
    target: Quantity,
) -> String {
    format!(
        "no resizer started within {} s: the controller-manager handed the claim to an external resizer for {resizer} (ExternalExpanding: {event}), and none acted, so that driver's controller runs no csi-resizer sidecar (or it is down) and the volume cannot grow here; the request for {target} stays in place and is applied if a resizer starts",
        waited.as_secs()
    )
}

/// The CSI driver of a claim's volume, read through inspect (`inspect::instance::volume_csi_driver`).
async fn csi_driver_of(ctx: &Ctx, pvc: &PersistentVolumeClaim) -> Option<String> {
    let volume = pvc.spec.as_ref()?.volume_name.as_deref()?;
    crate::inspect::instance::volume_csi_driver(ctx, volume).await
}

/// Whether a resize failure is an offline-only driver refusing a volume in use: the driver's `FailedPrecondition`
/// to ControllerExpandVolume, then the resizer's own "only supports offline expansion and volume is currently in-use"
/// (kubernetes-csi/external-resizer pkg/controller/expand_and_recover.go: `inUseError` → `usedPVCs`, retried only
/// when no pod that is not Succeeded/Failed names the claim, pkg/controller/inuse_pvc_store.go).
pub fn offline_in_use(message: &str) -> bool {
    message.contains("only supports offline expansion")
        || message.contains("code = FailedPrecondition")
}

/// What to tell the user when an offline-only driver refuses the claim in use: a restart does not help on a
/// Kubernetes 1.24+ resizer (the controller recreates the pod at once and the claim is in use again), only a workload
/// with no pods does. Says how, for the instance's kind, and what to wait for before the pods come back: the
/// PersistentVolume's capacity (`volume`, the claim's `spec.volumeName`). The claim's own capacity is no sign: once
/// the driver has grown the volume the resizer sets the PV's capacity and, when the filesystem must grow on the node,
/// leaves the claim at its old capacity with FileSystemResizePending until a pod mounts it again
/// (kubernetes-csi/external-resizer pkg/controller/expand_and_recover.go: `updatePVCapacity`, then
/// `markForPendingNodeExpansion`), so with no pod it never shows the new size. Names every other pod that holds the
/// claim (`others`, from [`other_holders`]): the resizer waits for those too, and resize never deletes them.
pub fn offline_in_use_message(
    plan: &ResizePlan,
    volume: Option<&str>,
    target: Quantity,
    resizer_said: &str,
    others: &[String],
) -> String {
    let ns = &plan.namespace;
    let bare_pod = plan.instance.starts_with("pod/");
    let how = if plan.flavour == super::plan::ResizeFlavour::Operator {
        format!(
            "set the Prometheus resource's replicas to 0 (`kubectl patch {} -n {ns} --type merge -p '{{\"spec\":{{\"replicas\":0}}}}'`; note the replica count first)",
            plan.instance
        )
    } else if bare_pod {
        format!(
            "delete {} (no controller recreates it; save its manifest first)",
            plan.instance
        )
    } else {
        format!(
            "scale it to 0 (`kubectl scale {} -n {ns} --replicas=0`; note the replica count first)",
            plan.instance
        )
    };
    // The resizer counts every pod that names the claim and has not finished, whoever owns it
    // (kubernetes-csi/external-resizer pkg/controller/inuse_pvc_store.go, addPod/checkForUse): scaling the instance
    // alone leaves the claim in use while another pod holds it.
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(
            "; {} also use(s) the claim and must stop too (resize never deletes a pod that is not this instance's own: stop it yourself when that is safe)",
            others.join(", ")
        )
    };
    let wait = match volume {
        Some(volume) => format!("wait until `kubectl get pv {volume}` shows {target}"),
        None => {
            format!("wait until the claim's PersistentVolume (`kubectl get pv`) shows {target}")
        }
    };
    let restore = if bare_pod {
        "create the pod again from its manifest"
    } else {
        "restore the replicas"
    };
    format!(
        "the volume's driver expands only while no pod uses the claim (offline expansion), and a pod uses it; restarting the pod does not help, its controller starts a new one at once and the claim is in use again (the resizer said: {resizer_said}). To grow it: {how}{also}, {wait} (the volume: the claim keeps its old capacity, FileSystemResizePending, until a pod mounts it and its filesystem grows), then {restore}; Prometheus is down meanwhile. The request stays in place"
    )
}

/// How long a claim may sit in `FileSystemResizePending` before we conclude the driver expands offline only and
/// offer a pod restart (online expansion clears it on the kubelet's next volume sync).
const FS_PENDING_GRACE: Duration = Duration::from_secs(15);

/// Follow every claim until each is done or failed, bounded by `timeout`. A `FileSystemResizePending` claim gets a
/// confirmed restart of the pod that mounts it. Returns the final state per claim.
pub async fn watch_claims(
    ctx: &Ctx,
    plan: &ResizePlan,
    timeout: Option<Duration>,
    restarted: &mut Vec<String>,
) -> Result<Vec<(String, ClaimState)>> {
    let ns = plan.namespace.as_str();
    let names: Vec<&str> = plan.claims.iter().map(|c| c.name.as_str()).collect();
    let since =
        k8s_openapi::jiff::Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_secs(5);
    let ticker = crate::engine::wait::Ticker::new(timeout, Duration::from_millis(500));
    let mut last: Vec<Option<ClaimState>> = vec![None; plan.claims.len()];
    let mut offered: Vec<String> = Vec::new();
    let mut pending_since: Vec<Option<Instant>> = vec![None; plan.claims.len()];
    // Claims whose filesystem cannot grow while a pod that is not ours holds the volume: reported, not waited for.
    let mut blocked: Vec<Option<String>> = vec![None; plan.claims.len()];
    // Claims whose volume grew with no pod mounting them: settled, the filesystem grows on the next mount.
    let mut grows_on_mount: Vec<bool> = vec![false; plan.claims.len()];
    // Since when each claim has waited, handed to an external resizer (`ExternalExpanding`), with no resizer acting.
    let mut handed_off_since: Vec<Option<Instant>> = vec![None; plan.claims.len()];
    // One progress line per claim (indicatif on a terminal, timestamped lines otherwise).
    let new_tasks = || {
        let board = crate::progress::Board::new(&ctx.printer);
        plan.claims
            .iter()
            .map(|c| board.line(&format!("pvc {}", c.name)))
            .collect::<Vec<_>>()
    };
    let mut tasks = new_tasks();
    {
        // For a Ctrl-C while we follow the claims: the requests are in place, only the wait is cut short.
        let mut journal = crate::interrupt::journal();
        journal.resume = Some(continue_command(plan));
        journal.pending = vec![following_claims(plan)];
    }
    loop {
        // One round trip per poll: the claims' events and every claim, together (inspect's re-reads).
        let (event_list, pvc_list) = futures::join!(
            crate::inspect::instance::claim_events(ctx, ns),
            crate::inspect::instance::claims_now(ctx, ns, &names)
        );
        let pvc_list = pvc_list.into_iter().collect::<Result<Vec<_>>>()?;
        let mut states = Vec::new();
        for ((i, claim), pvc) in plan.claims.iter().enumerate().zip(pvc_list) {
            let failure = resize_failure(&event_list, &claim.name, &since);
            let mut state = claim_state(&pvc, claim.target, failure.as_deref());
            if let ClaimState::Failed { capacity, message } = &state
                && offline_in_use(message)
                && blocked[i].is_none()
            {
                // Every pod holding the claim as the resizer counts them: terminating ones too, finished ones not
                // (inspect::instance::pods_holding); the instance's own pod is what `how` stops.
                let holding = crate::inspect::instance::pods_holding(ctx, ns, &claim.name).await?;
                let own = claim.pod.as_ref().map(|p| p.uid.as_str());
                let still_running: Vec<Pod> = holding
                    .into_iter()
                    .filter(|p| p.metadata.uid.as_deref() != own)
                    .collect();
                let others = other_holders(plan, &claim.name, &still_running);
                let volume = pvc.spec.as_ref().and_then(|s| s.volume_name.as_deref());
                let message = offline_in_use_message(plan, volume, claim.target, message, &others);
                state = ClaimState::Failed {
                    capacity: capacity.clone(),
                    message: message.clone(),
                };
                blocked[i] = Some(message);
            }
            // Nothing but the controller-manager's hand-off, for long: no resizer serves this driver.
            let handed_off = matches!(state, ClaimState::Requested { .. })
                .then(|| external_expanding(&event_list, &claim.name, &since))
                .flatten();
            match handed_off {
                Some(event) if blocked[i].is_none() => {
                    let waited = handed_off_since[i]
                        .get_or_insert_with(Instant::now)
                        .elapsed();
                    if waited >= NO_RESIZER_GRACE {
                        let resizer = csi_driver_of(ctx, &pvc)
                            .await
                            .map(|driver| format!("driver {driver}"))
                            .unwrap_or_else(|| {
                                format!("the driver of class {}", claim.storage_class)
                            });
                        let message =
                            no_resizer_message(&resizer, &event, NO_RESIZER_GRACE, claim.target);
                        blocked[i] = Some(message.clone());
                        state = ClaimState::Failed {
                            capacity: state.capacity().to_string(),
                            message,
                        };
                    }
                }
                _ => handed_off_since[i] = None,
            }
            if grows_on_mount[i] && matches!(state, ClaimState::FileSystemResizePending { .. }) {
                state = ClaimState::GrowsOnMount {
                    capacity: state.capacity().to_string(),
                };
            }
            if let Some(message) = &blocked[i]
                && !matches!(state, ClaimState::Done { .. })
            {
                state = ClaimState::Failed {
                    capacity: state.capacity().to_string(),
                    message: message.clone(),
                };
            }
            if last[i].as_ref() != Some(&state) {
                match &state {
                    ClaimState::Done { .. } | ClaimState::GrowsOnMount { .. } => {
                        tasks[i].done(&state.message(claim.target))
                    }
                    ClaimState::Failed { .. } => tasks[i].fail(&state.message(claim.target)),
                    _ => tasks[i].set(&state.message(claim.target)),
                }
                last[i] = Some(state.clone());
            }
            // Online drivers pass through FileSystemResizePending too, while the kubelet grows the mounted
            // filesystem: offer a restart only when the claim stays there.
            if matches!(state, ClaimState::FileSystemResizePending { .. }) {
                pending_since[i].get_or_insert_with(Instant::now);
            } else {
                pending_since[i] = None;
            }
            let stuck = pending_since[i].is_some_and(|t| t.elapsed() >= FS_PENDING_GRACE);
            if stuck && !offered.contains(&claim.name) {
                offered.push(claim.name.clone());
                let mounting =
                    crate::inspect::instance::pods_mounting(ctx, ns, &claim.name).await?;
                if mounting.is_empty() {
                    // No pod to restart and none to wait for: the next pod that mounts the claim finishes it.
                    grows_on_mount[i] = true;
                    state = ClaimState::GrowsOnMount {
                        capacity: state.capacity().to_string(),
                    };
                    tasks[i].done(&state.message(claim.target));
                    last[i] = Some(state.clone());
                    states.push((claim.name.clone(), state));
                    continue;
                }
                let candidate =
                    restart_candidate(plan, &claim.name, &mounting, &continue_command(plan));
                if let RestartCandidate::Blocked(message) = &candidate {
                    tasks[i].fail(message);
                    blocked[i] = Some(message.clone());
                }
                if let RestartCandidate::Planned(restart) = candidate {
                    let question = format!(
                        "The volume of claim {} grew; its filesystem grows when a pod mounts it again. {} now?",
                        claim.name,
                        capitalized(&restart.summary())
                    );
                    // A prompt cannot share the terminal with live spinners: close them, ask, start again.
                    let asks = !ctx.settings.assume_yes;
                    if asks {
                        for (task, state) in tasks.iter().zip(&last) {
                            let text = state
                                .as_ref()
                                .map(|s| s.message(claim.target))
                                .unwrap_or_default();
                            task.done(&text);
                        }
                    }
                    let yes = crate::engine::ask_to_change(ctx, &question)?;
                    if asks {
                        tasks = new_tasks();
                        last = vec![None; plan.claims.len()];
                    }
                    if yes {
                        restart_pod(ctx, ns, &restart).await?;
                        restarted.push(restart.pod.clone());
                    } else {
                        // Declined: the filesystem would wait for ever (offline expansion). Reported as declined, not
                        // waited for.
                        blocked[i] = Some(format!(
                            "{RESTART_DECLINED}: pod {} was not restarted, so the filesystem keeps its old size until the pod restarts; `{}` offers it again",
                            restart.pod,
                            continue_command(plan)
                        ));
                    }
                }
            }
            states.push((claim.name.clone(), state));
        }
        let settled = states.iter().all(|(_, s)| {
            matches!(
                s,
                ClaimState::Done { .. }
                    | ClaimState::Failed { .. }
                    | ClaimState::GrowsOnMount { .. }
            )
        });
        if settled {
            return Ok(states);
        }
        if ticker.expired() {
            for (task, state) in tasks.iter().zip(&last) {
                if let Some(state) = state.as_ref().filter(|s| {
                    !matches!(
                        s,
                        ClaimState::Done { .. }
                            | ClaimState::Failed { .. }
                            | ClaimState::GrowsOnMount { .. }
                    )
                }) {
                    task.fail(&format!("gave up waiting: {}", state.message(plan.target)));
                }
            }
            let waiting: Vec<String> = states
                .iter()
                .filter(|(_, s)| {
                    !matches!(s, ClaimState::Done { .. } | ClaimState::GrowsOnMount { .. })
                })
                .map(|(n, s)| s.line(n, plan.target))
                .collect();
            return Err(Error::Verify {
                message: format!(
                    "the resize did not finish within --timeout: {}",
                    waiting.join("; ")
                ),
                hint: Some(format!(
                    "the request stays in place; follow it with `kubectl get pvc -n {ns} -w` or `kubectl describe pvc -n {ns}`"
                )),
            });
        }
        ticker.tick().await;
    }
}

/// How a claim's message starts when the user declined the restart its filesystem waits for.
pub const RESTART_DECLINED: &str = "restart declined";

/// What may be done about a claim whose filesystem waits for its pod to restart.
#[derive(Debug, Clone, PartialEq)]
pub enum RestartCandidate {
    /// The plan's pod, still the same pod (uid) and still owned by the controller that recreates it.
    Planned(super::plan::PodRestart),
    /// Other pods mount the claim too (a backup uploader, another workload): the filesystem grows only once they let
    /// go of the volume, and resize never deletes them. The sentence says what the user must do.
    Blocked(String),
    /// Nothing to restart: the plan has no restart for this claim, or its pod is gone or replaced already.
    Nothing,
}

/// Decide, from the pods that mount `claim` now (pure), what may be restarted: only the plan's pod, by uid, still
/// owned by its controller, and only when no other pod holds the volume.
pub fn restart_candidate(
    plan: &ResizePlan,
    claim: &str,
    mounting: &[Pod],
    continue_command: &str,
) -> RestartCandidate {
    let planned = plan.restarts.iter().find(|r| r.claim == claim);
    let is_planned =
        |p: &Pod| planned.is_some_and(|r| p.metadata.uid.as_deref() == Some(r.uid.as_str()));
    let others = other_holders(plan, claim, mounting);
    if !others.is_empty() {
        return RestartCandidate::Blocked(format!(
            "the volume grew, but its filesystem grows only once every pod using it has let go of it, and {} also mount(s) it; resize never deletes a pod that is not this instance's own: stop it yourself when that is safe, then run `{continue_command}`",
            others.join(", ")
        ));
    }
    let Some(planned) = planned else {
        return RestartCandidate::Nothing;
    };
    match mounting.iter().find(|p| is_planned(p)) {
        Some(pod) if crate::model::controller_of(pod).as_ref() == Some(&planned.controller) => {
            RestartCandidate::Planned(planned.clone())
        }
        _ => RestartCandidate::Nothing,
    }
}

/// The pods among `mounting` that are not this instance's own for `claim` (neither the plan's pod, by uid, nor a
/// replacement its controller made), each named with who owns it: the pods resize never deletes and the user must
/// stop before a volume that waits for its pods can grow.
pub fn other_holders(plan: &ResizePlan, claim: &str, mounting: &[Pod]) -> Vec<String> {
    let planned = plan.restarts.iter().find(|r| r.claim == claim);
    let is_planned =
        |p: &Pod| planned.is_some_and(|r| p.metadata.uid.as_deref() == Some(r.uid.as_str()));
    mounting
        .iter()
        .filter(|p| !is_planned(p))
        .filter(|p| {
            // A replacement our own controller made is ours too; any other pod is not.
            let ours = planned
                .is_some_and(|r| crate::model::controller_of(p).is_some_and(|c| c == r.controller));
            // A terminating pod is named whoever owns it: it still holds the volume until it is gone.
            !ours || p.metadata.deletion_timestamp.is_some()
        })
        .map(|p| {
            let name = p.metadata.name.clone().unwrap_or_default();
            // Shutting down but still holding the volume through its grace period: it goes by itself.
            if p.metadata.deletion_timestamp.is_some() {
                return format!("pod {name} (terminating: wait until it is gone)");
            }
            match crate::model::controller_of(p) {
                Some(c) => format!("pod {name} (of {} {}, not this instance)", c.kind, c.name),
                None => format!("pod {name} (no controller recreates it)"),
            }
        })
        .collect()
}

/// Restart (delete) one pod of the plan; its controller recreates it. Always confirmed by the caller first. Sent as
/// the engine's [`crate::engine::Change::RestartPod`]: the pod is read again right before the delete and must still
/// be the planned pod (uid) under the planned controller, and the delete is preconditioned on that uid, so a
/// replacement or a pod that changed hands is never deleted.
pub async fn restart_pod(
    ctx: &Ctx,
    namespace: &str,
    restart: &super::plan::PodRestart,
) -> Result<()> {
    let change = crate::engine::Change::RestartPod {
        object: crate::engine::ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: "Pod".into(),
            plural: "pods".into(),
            namespace: Some(namespace.into()),
            name: restart.pod.clone(),
        },
        uid: restart.uid.clone(),
        controller: restart.controller.clone(),
    };
    if crate::engine::send(ctx, &change).await?.is_none() {
        return Ok(());
    }
    let pod = &restart.pod;
    crate::interrupt::journal().applied(format!("restarted pod {namespace}/{pod}"));
    progress(
        ctx,
        &format!(
            "restarted pod {pod} (deleted; its {} recreates it)",
            restart.controller.kind
        ),
    );
    Ok(())
}

/// Wait until a pod mounting `claim` is Ready, bounded by `timeout`; returns its name.
pub async fn wait_ready(
    ctx: &Ctx,
    namespace: &str,
    claim: &str,
    timeout: Option<Duration>,
) -> Result<String> {
    crate::engine::wait::pod_ready(
        &ctx.client,
        namespace,
        &format!("mounting claim {namespace}/{claim}"),
        |p| crate::inspect::instance::mounts_claim(p, claim),
        timeout,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ObjectReference, PersistentVolumeClaimCondition, PersistentVolumeClaimStatus,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use std::collections::BTreeMap;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap()
    }

    fn pvc(
        capacity: &str,
        conditions: &[(&str, &str)],
        alloc: Option<&str>,
    ) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            status: Some(PersistentVolumeClaimStatus {
                phase: Some("Bound".into()),
                capacity: Some(BTreeMap::from([(
                    "storage".to_string(),
                    K8sQuantity(capacity.into()),
                )])),
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(t, m)| PersistentVolumeClaimCondition {
                            type_: t.to_string(),
                            status: "True".into(),
                            message: Some(m.to_string()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                allocated_resource_statuses: alloc
                    .map(|a| BTreeMap::from([("storage".to_string(), a.to_string())])),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn claim_states_follow_the_resizer_conditions() {
        let target = q("1300Gi");
        assert_eq!(
            claim_state(&pvc("1124Gi", &[], None), target, None),
            ClaimState::Requested {
                capacity: "1124Gi".into()
            }
        );
        assert_eq!(
            claim_state(
                &pvc(
                    "1124Gi",
                    &[("Resizing", "")],
                    Some("ControllerResizeInProgress")
                ),
                target,
                None
            ),
            ClaimState::Resizing {
                capacity: "1124Gi".into()
            }
        );
        let pending = claim_state(
            &pvc(
                "1124Gi",
                &[(
                    "FileSystemResizePending",
                    "Waiting for user to (re-)start a pod to finish file system resize of volume on node.",
                )],
                Some("NodeResizePending"),
            ),
            target,
            None,
        );
        assert!(
            matches!(pending, ClaimState::FileSystemResizePending { ref message, .. } if message.starts_with("Waiting for user"))
        );
        let failed = claim_state(
            &pvc(
                "1124Gi",
                &[(
                    "ControllerResizeError",
                    "failed to expand pvc with rpc error",
                )],
                None,
            ),
            target,
            None,
        );
        assert!(
            matches!(failed, ClaimState::Failed { ref message, .. } if message.contains("failed to expand pvc"))
        );
        assert!(matches!(
            claim_state(
                &pvc("1124Gi", &[], Some("ControllerResizeInfeasible")),
                target,
                None
            ),
            ClaimState::Failed { .. }
        ));
        assert!(matches!(
            claim_state(
                &pvc("1124Gi", &[], None),
                target,
                Some("VolumeModificationRateExceeded")
            ),
            ClaimState::Failed { .. }
        ));
        assert_eq!(
            claim_state(&pvc("1300Gi", &[], None), target, None),
            ClaimState::Done {
                capacity: "1300Gi".into()
            }
        );
        // Capacity reported in another suffix still counts.
        assert!(matches!(
            claim_state(&pvc("1.5Ti", &[], None), target, None),
            ClaimState::Done { .. }
        ));
    }

    #[test]
    fn resize_failure_events_are_matched_by_claim_and_time() {
        let since: k8s_openapi::jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let event = |name: &str, reason: &str, at: &str, message: &str| Event {
            involved_object: ObjectReference {
                kind: Some("PersistentVolumeClaim".into()),
                name: Some(name.into()),
                ..Default::default()
            },
            type_: Some("Warning".into()),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_timestamp: Some(Time(at.parse().unwrap())),
            ..Default::default()
        };
        let events = vec![
            event(
                "data",
                "VolumeResizeFailed",
                "2025-12-31T23:00:00Z",
                "old failure",
            ),
            event(
                "other",
                "VolumeResizeFailed",
                "2026-01-01T00:01:00Z",
                "not ours",
            ),
            event("data", "Resizing", "2026-01-01T00:01:00Z", "normal"),
            event(
                "data",
                "VolumeResizeFailed",
                "2026-01-01T00:02:00Z",
                "Wait at least 6 hours between modifications per EBS volume.",
            ),
        ];
        assert_eq!(
            resize_failure(&events, "data", &since).as_deref(),
            Some("Wait at least 6 hours between modifications per EBS volume.")
        );
        assert_eq!(resize_failure(&events[..1], "data", &since), None);
        // The controller-manager's hand-off, ours and new only.
        let handed = |name: &str, at: &str| Event {
            type_: Some("Normal".into()),
            ..event(
                name,
                "ExternalExpanding",
                at,
                "waiting for an external controller to expand this PVC",
            )
        };
        assert_eq!(
            external_expanding(&[handed("data", "2026-01-01T00:01:00Z")], "data", &since)
                .as_deref(),
            Some("waiting for an external controller to expand this PVC")
        );
        assert_eq!(
            external_expanding(&[handed("other", "2026-01-01T00:01:00Z")], "data", &since),
            None
        );
        assert_eq!(
            external_expanding(&[handed("data", "2025-12-31T23:00:00Z")], "data", &since),
            None
        );
    }

    #[test]
    fn an_offline_only_driver_in_use_is_told_by_the_resizer_s_words() {
        // external-resizer's first answer (the driver's gRPC status) and its later refusals (expand_and_recover.go).
        assert!(offline_in_use(
            "resize volume \"pvc-1\" by resizer \"d\" failed: rpc error: code = FailedPrecondition desc = volume is published"
        ));
        assert!(offline_in_use(
            "Unable to expand monitoring/data because CSI driver d only supports offline expansion and volume is currently in-use"
        ));
        assert!(!offline_in_use(
            "rpc error: code = Internal desc = VolumeModificationRateExceeded"
        ));
    }
}
