//! Applying a fix-perms plan: show it as a diff through the foundation's plan gate, ask the separately-confirmed
//! changes (init container removal, the root chown step, pod restarts) by name, patch with the resourceVersion
//! precondition, wait until the operator/controller carried the change into the StatefulSet or ReplicaSet, follow the
//! rollout, then verify (pods Ready, no `permission denied` in their logs, the data directory writable by Prometheus's
//! user, checked by exec). The one-off chown step is removed in a second, verified round.

use super::CHOWN_STEP_NAME;
use super::diagnose::permission_evidence;
use super::facts;
use super::plan::{Edit, Fix, FixKind, PermsPlan, edit_object};
use crate::context::Ctx;
use crate::discover::{self, Instance};
use crate::engine::wait;
use crate::engine::{ObjectRef, Plan, Step};
use crate::error::{Error, Result};
use crate::inspect::snapshot::InstanceSnapshot;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// What the verification after a rollout found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// `pod name → Ready`.
    pub pods: Vec<(String, bool)>,
    /// `permission denied` lines still in the new pods' logs.
    pub permission_denied: Vec<String>,
    /// Whether the Prometheus user could create a file in the TSDB directory (None: could not be checked).
    pub writable: Option<bool>,
    /// Why `writable` is None, when it is.
    pub writable_note: Option<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        !self.pods.is_empty()
            && self.pods.iter().all(|(_, ready)| *ready)
            && self.permission_denied.is_empty()
            && self.writable != Some(false)
    }
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Nothing to change.
    Noop,
    /// `--dry-run`: every change was sent with dryRun=All.
    DryRun,
    /// Applied and verified.
    Fixed,
}

/// What apply did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub status: Status,
    /// Kinds of the changes that were applied (or sent as dry run).
    pub applied: Vec<FixKind>,
    /// Separately-confirmed changes the user declined.
    pub declined: Vec<String>,
    /// Pods restarted because a StatefulSet does not replace a pod that is not Ready.
    pub restarted_pods: Vec<String>,
    pub verification: Option<Verification>,
    /// The pod securityContext fields after what was applied (None when nothing was).
    pub security_context: Option<super::diagnose::SecurityFields>,
}

async fn fetch(ctx: &Ctx, target: &ObjectRef) -> Result<Value> {
    // Status and managedFields stay: the engine leaves them out of every diff and patch.
    target.get(&ctx.client).await
}

/// The engine's edit of the target for these edits of fix-perms' vocabulary (applied in order, each by name).
fn editing<'a>(target: &'a ObjectRef, edits: &'a [&'a Edit]) -> impl Fn(&mut Value) + 'a {
    move |object| {
        for edit in edits {
            edit_object(target, object, edit);
        }
    }
}

/// The question asked for a separately-confirmed change.
fn question(change: &Fix) -> String {
    match &change.edit {
        Edit::RemoveInitContainers { names } => format!(
            "Remove init container(s) {} from {}?",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            change.target.display()
        ),
        Edit::AddInitContainer { .. } => format!(
            "Add the one-off `{CHOWN_STEP_NAME}` step running as root on the data volume of {} (removed again after \
             the rollout)?",
            change.target.display()
        ),
        Edit::SetSecurityContext { .. } => {
            format!("Fix the securityContext of {}?", change.target.display())
        }
    }
}

/// Which changes go ahead. Changes not marked `confirm_separately` always do (they were confirmed with the plan);
/// with `ask_each` false (`--yes`, `--dry-run`) all do. Otherwise each is asked by name, except that removing the
/// one-off chown step goes with the step itself, and when the chown step is declined the removal tied to it is
/// dropped unasked: without the chown nothing replaces the user's chmod/chown init containers on such a volume.
///
/// A pod-level runAsUser/runAsGroup/runAsNonRoot also applies to init containers, so when a chmod/chown init
/// container stays (its removal declined) those fields are left out of the securityContext change: the init
/// container must keep running as root (seen in kube-sim: it crash-loops as 65534 on the root-owned volume).
/// Returns the accepted changes and a sentence per declined or narrowed one.
pub fn decide(
    changes: &[Fix],
    ask_each: bool,
    mut ask: impl FnMut(&Fix) -> Result<bool>,
) -> Result<(Vec<Fix>, Vec<String>)> {
    let mut accepted: Vec<Fix> = Vec::new();
    let mut declined = Vec::new();
    let mut chown_declined = false;
    let mut kept_init: Vec<String> = Vec::new();
    for change in changes {
        let only_our_step = matches!(&change.edit, Edit::RemoveInitContainers { names }
            if names.iter().all(|n| n == CHOWN_STEP_NAME));
        let ok = if !change.confirm_separately || !ask_each {
            true
        } else if change.kind == FixKind::RemoveInitContainers && change.after_verify {
            if chown_declined {
                declined.push(format!(
                    "{} (skipped: the one-off chown it follows was declined)",
                    question(change)
                ));
                false
            } else {
                only_our_step || ask(change)?
            }
        } else {
            ask(change)?
        };
        if ok {
            accepted.push(change.clone());
            continue;
        }
        match &change.edit {
            Edit::AddInitContainer { .. } => chown_declined = true,
            Edit::RemoveInitContainers { names } => {
                kept_init.extend(names.iter().filter(|n| *n != CHOWN_STEP_NAME).cloned())
            }
            Edit::SetSecurityContext { .. } => {}
        }
        if !(change.after_verify && chown_declined && change.kind == FixKind::RemoveInitContainers)
        {
            declined.push(question(change));
        }
    }
    if !kept_init.is_empty() {
        const USER_FIELDS: [&str; 3] = ["runAsUser", "runAsGroup", "runAsNonRoot"];
        for change in &mut accepted {
            if let Edit::SetSecurityContext { fields } = &mut change.edit
                && USER_FIELDS.iter().any(|k| fields.contains_key(*k))
            {
                fields.retain(|k, _| !USER_FIELDS.contains(&k.as_str()));
                declined.push(format!(
                    "runAsUser/runAsGroup/runAsNonRoot left unset: a pod-level user also applies to init containers, \
                     and {} stays and must keep running as root",
                    kept_init.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        accepted.retain(
            |c| !matches!(&c.edit, Edit::SetSecurityContext { fields } if fields.is_empty()),
        );
    }
    Ok((accepted, declined))
}

/// Pods of an OrderedReady StatefulSet that were not Ready: its controller does not replace a pod that is not
/// Running and Ready, so the new template never reaches it until it is deleted (Kubernetes docs, StatefulSets
/// "Forced rollback"; pkg/controller/statefulset/stateful_set_control.go stops at the first such pod when
/// monotonic). Deployments and Parallel StatefulSets (the operator's) replace broken pods themselves.
pub fn pods_to_restart(snapshot: &InstanceSnapshot) -> Vec<String> {
    if !facts::workload(snapshot).is_some_and(|w| w.ordered_ready) {
        return Vec::new();
    }
    snapshot
        .instance
        .pods
        .iter()
        .filter(|p| !p.ready)
        .map(|p| p.name.clone())
        .collect()
}

/// Whether a pod template (JSON pod spec) already carries the edits, i.e. the operator/controller has propagated them.
pub fn template_reflects(pod_spec: &Value, edits: &[&Edit]) -> bool {
    let names: Vec<&str> = pod_spec
        .get("initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    edits.iter().all(|edit| match edit {
        Edit::SetSecurityContext { fields } => fields
            .iter()
            .all(|(k, v)| pod_spec.pointer(&format!("/securityContext/{k}")) == Some(v)),
        Edit::AddInitContainer { container } => container
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| names.contains(&n)),
        Edit::RemoveInitContainers { names: gone } => {
            gone.iter().all(|n| !names.contains(&n.as_str()))
        }
    })
}

/// Show, confirm, apply, follow and verify.
pub async fn apply(
    ctx: &Ctx,
    snapshot: &InstanceSnapshot,
    plan: &PermsPlan,
    timeout: Duration,
) -> Result<Outcome> {
    let instance = &snapshot.instance;
    let mut outcome = Outcome {
        status: Status::Noop,
        applied: Vec::new(),
        declined: Vec::new(),
        restarted_pods: Vec::new(),
        verification: None,
        security_context: None,
    };
    if plan.is_noop() {
        return Ok(outcome);
    }
    let target = plan.changes[0].target.clone();
    let before = match facts::target_object(snapshot) {
        Some(object) => object,
        None => fetch(ctx, &target).await?,
    };
    let restarts = pods_to_restart(snapshot);

    // The whole plan as the user sees it: one step per change, each previewed on top of the previous ones.
    let mut shown = Plan::new(format!(
        "make the data directory of {} writable by Prometheus's user",
        discover::describe(instance)
    ));
    let mut cumulative = before.clone();
    for change in &plan.changes {
        let when = if change.after_verify {
            " (after the rollout is verified)"
        } else {
            ""
        };
        if let Some(step) = Step::edited(
            &target,
            &cumulative,
            editing(&target, &[&change.edit]),
            format!("{}{when}", change.reason),
        )? {
            shown.steps.push(step);
        }
        edit_object(&target, &mut cumulative, &change.edit);
    }
    if let Ok(pods) = restarts_as_steps(ctx, &instance.namespace, &restarts).await {
        shown.steps.extend(pods);
    }
    shown.notes.extend(plan.notes.iter().cloned());
    if let Some(values) = &plan.values {
        shown.notes.push(values.note());
    }
    // The cluster-scoped reads gathering was refused (the PV, the CSIDrivers) join the list: one refusal names all.
    let requests = [
        facts::refused(snapshot),
        crate::access::requests_for(&shown),
    ]
    .concat();
    crate::access::require(ctx, &requests).await?;
    crate::engine::confirm(ctx, &shown)?;

    // Separately confirmed changes, by name. --yes and --dry-run accept them (they were shown).
    let settings = &ctx.settings;
    let ask_each = !(settings.assume_yes || settings.dry_run);
    let (accepted, declined) = decide(&plan.changes, ask_each, |change| {
        crate::engine::ask_to_change(ctx, &question(change))
    })?;
    outcome.declined = declined;
    outcome.security_context =
        Some(
            accepted
                .iter()
                .fold(plan.before.clone(), |fields, c| match &c.edit {
                    Edit::SetSecurityContext { fields: fragment } => fields.merged(fragment),
                    _ => fields,
                }),
        );

    // Round 1: everything not waiting for verification, as one patch (one rollout, one resourceVersion).
    let first: Vec<&Fix> = accepted.iter().filter(|c| !c.after_verify).collect();
    let second: Vec<&Fix> = accepted.iter().filter(|c| c.after_verify).collect();
    outcome.verification = Some(
        round(
            ctx,
            instance,
            &target,
            &before,
            &first,
            &restarts,
            timeout,
            &mut outcome,
        )
        .await?,
    );
    if settings.dry_run {
        // The after-verify round depends on the first being live; show it was planned, send nothing more.
        outcome.status = Status::DryRun;
        return Ok(outcome);
    }
    if !second.is_empty() {
        let fresh = fetch(ctx, &target).await?;
        outcome.verification = Some(
            round(
                ctx,
                instance,
                &target,
                &fresh,
                &second,
                &[],
                timeout,
                &mut outcome,
            )
            .await?,
        );
    }
    outcome.status = Status::Fixed;
    Ok(outcome)
}

/// Pod restart steps (for the preview and the gate), read fresh so the uid precondition is current.
async fn restarts_as_steps(ctx: &Ctx, namespace: &str, pods: &[String]) -> Result<Vec<Step>> {
    let pods = crate::inspect::perms::pods_named(ctx, namespace, pods).await?;
    // Only a pod its controller recreates (pods_to_restart: an OrderedReady StatefulSet's).
    Ok(pods
        .iter()
        .filter_map(|pod| {
            Step::restart_pod(
                pod,
                "it is not Ready, and a StatefulSet does not replace a pod that is not Ready; deleting it lets the \
                 controller recreate it from the fixed template",
            )
        })
        .collect())
}

/// One round: patch, wait for the template to carry it, restart stuck pods, follow the rollout, verify.
#[allow(clippy::too_many_arguments)]
async fn round(
    ctx: &Ctx,
    instance: &Instance,
    target: &ObjectRef,
    before: &Value,
    changes: &[&Fix],
    restarts: &[String],
    timeout: Duration,
    outcome: &mut Outcome,
) -> Result<Verification> {
    let edits: Vec<&Edit> = changes.iter().map(|c| &c.edit).collect();
    let reason = changes
        .iter()
        .map(|c| c.reason.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let summary = format!("fix-perms on {}", target.display());
    // After a 409 the engine reads the target again and applies the same edits (by name) to it; its one policy
    // decides whether that needs confirming again (it does when the concurrent edit changed what our patch sends).
    let sent = crate::engine::apply_edit(
        ctx,
        &summary,
        target,
        before,
        &reason,
        editing(target, &edits),
    )
    .await?;
    if sent.is_none() {
        return verify(ctx, instance).await;
    }
    outcome.applied.extend(changes.iter().map(|c| c.kind));
    if ctx.settings.dry_run {
        return Ok(Verification::default());
    }
    let workload = instance.workloads.first().ok_or_else(|| Error::Verify {
        message: format!("{} has no workload to follow", discover::describe(instance)),
        hint: None,
    })?;
    wait_template(ctx, instance, workload, &edits, timeout).await?;
    if !restarts.is_empty() {
        let steps = restarts_as_steps(ctx, &instance.namespace, restarts).await?;
        let mut plan = Plan::new("restart pods that are not Ready".to_string());
        plan.steps = steps;
        match crate::engine::apply(ctx, &plan).await {
            Ok(_) => {}
            // Already replaced by the controller since we read it: nothing to do.
            Err(Error::Kube {
                source: kube::Error::Api(s),
                ..
            }) if s.code == 404 || s.code == 409 => {}
            Err(e) => return Err(e),
        }
        outcome.restarted_pods.extend(restarts.iter().cloned());
    }
    wait::wait_rollout(
        &ctx.client,
        &ctx.printer,
        &instance.namespace,
        workload,
        timeout,
    )
    .await?;
    let verification = verify(ctx, instance).await?;
    if !verification.ok() {
        return Err(Error::Verify {
            message: format!(
                "the change was applied to {}, but {}",
                target.display(),
                failure_text(&verification)
            ),
            hint: Some(format!(
                "kubectl logs -n {} {} -c {}",
                instance.namespace,
                verification
                    .pods
                    .first()
                    .map(|p| p.0.as_str())
                    .unwrap_or("POD"),
                instance.container
            )),
        });
    }
    Ok(verification)
}

/// What failed, in words.
pub fn failure_text(v: &Verification) -> String {
    let mut parts = Vec::new();
    let not_ready: Vec<&str> = v
        .pods
        .iter()
        .filter(|(_, r)| !r)
        .map(|(n, _)| n.as_str())
        .collect();
    if v.pods.is_empty() {
        parts.push("no pod is running".to_string());
    }
    if !not_ready.is_empty() {
        parts.push(format!("pod(s) {} are not Ready", not_ready.join(", ")));
    }
    if let Some(line) = v.permission_denied.first() {
        parts.push(format!("the log still says: {line}"));
    }
    if v.writable == Some(false) {
        parts.push("the data directory is still not writable by Prometheus's user".to_string());
    }
    parts.join("; ")
}

/// Wait until the workload's pod template carries the edits: immediate for a workload we patched, and for the
/// operator until it has regenerated the StatefulSet from the resource.
async fn wait_template(
    ctx: &Ctx,
    instance: &Instance,
    workload: &discover::WorkloadRef,
    edits: &[&Edit],
    timeout: Duration,
) -> Result<()> {
    let task = crate::progress::spinner(&ctx.printer, &format!("template {}", workload.display()));
    let what = format!(
        "{} to carry the change into its pod template",
        workload.display()
    );
    wait::template_updated(
        &ctx.client,
        &task,
        &instance.namespace,
        workload,
        &what,
        timeout,
        |spec| template_reflects(spec, edits),
    )
    .await?;
    task.done("pod template updated");
    Ok(())
}

/// Verify the running instance: every pod Ready, no `permission denied` in the current containers' logs, and the
/// TSDB directory writable by the container's user (exec runs as the container's user).
pub async fn verify(ctx: &Ctx, instance: &Instance) -> Result<Verification> {
    let discovered = discover::resolve(ctx, Some(&discover::target_arg(instance))).await?;
    let logs = crate::inspect::perms::current_logs(ctx, &discovered).await;
    let fresh = &discovered.instance;
    let mut v = Verification {
        pods: fresh
            .pods
            .iter()
            .map(|p| (p.name.clone(), p.ready))
            .collect(),
        ..Default::default()
    };
    for log in logs.iter().filter(|l| l.container == fresh.container) {
        let lines: Vec<String> = log.text.lines().map(str::to_string).collect();
        v.permission_denied.extend(permission_evidence(&lines));
    }
    let (Some(data), Some(pod)) = (fresh.data.as_ref(), fresh.pods.iter().find(|p| p.ready)) else {
        v.writable_note = Some("no Ready pod or no data volume to check".into());
        return Ok(v);
    };
    let probe = format!(
        "{}/.kubectl-prom-write-check",
        data.path.trim_end_matches('/')
    );
    let touch = vec!["touch".to_string(), probe.clone()];
    match ctx
        .exec
        .run(&fresh.namespace, &pod.name, &fresh.container, &touch)
        .await
    {
        Ok(out) if out.success() => {
            v.writable = Some(true);
            let rm = vec!["rm".to_string(), "-f".to_string(), probe];
            let _ = ctx
                .exec
                .run(&fresh.namespace, &pod.name, &fresh.container, &rm)
                .await;
        }
        Ok(out)
            if out
                .stderr
                .to_ascii_lowercase()
                .contains("permission denied") =>
        {
            v.writable = Some(false)
        }
        Ok(out) => {
            v.writable_note = Some(format!(
                "`touch` in the container exited {}: {}",
                out.exit_code,
                out.stderr.trim()
            ))
        }
        Err(e) => v.writable_note = Some(format!("could not exec into {}: {e}", pod.name)),
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn template_reflects_each_kind_of_edit() {
        let mut fields = serde_json::Map::new();
        fields.insert("fsGroup".into(), json!(2000));
        let set = Edit::SetSecurityContext { fields };
        let add = Edit::AddInitContainer {
            container: json!({"name": CHOWN_STEP_NAME}),
        };
        let remove = Edit::RemoveInitContainers {
            names: vec!["init-chown-data".into()],
        };
        let old = json!({"securityContext": {"runAsUser": 1000}, "initContainers": [{"name": "init-chown-data"}]});
        assert!(!template_reflects(&old, &[&set]));
        assert!(!template_reflects(&old, &[&add]));
        assert!(!template_reflects(&old, &[&remove]));
        let new = json!({"securityContext": {"runAsUser": 1000, "fsGroup": 2000},
                         "initContainers": [{"name": CHOWN_STEP_NAME}]});
        assert!(template_reflects(&new, &[&set, &add, &remove]));
    }

    #[test]
    fn only_stuck_ordered_ready_statefulset_pods_are_restarted() {
        // The operator's StatefulSet is Parallel: it replaces the broken pod itself.
        assert!(pods_to_restart(&kps_permission_denied()).is_empty());
        let mut ordered = kps_permission_denied();
        ordered.instance.workloads[0].ordered_ready = true;
        assert_eq!(
            pods_to_restart(&ordered),
            vec!["prometheus-kps-prometheus-0".to_string()]
        );
        // A Deployment replaces its broken pods itself.
        assert!(pods_to_restart(&plain_host_path()).is_empty());
        ordered.instance.pods[0].ready = true;
        assert!(pods_to_restart(&ordered).is_empty());
    }

    #[test]
    fn separate_confirmations_by_name() {
        // Incident 4: the securityContext goes with the plan; the chmod init container is asked by name.
        let p = plan_of(&handmade_chmod());
        let mut asked = Vec::new();
        let (ok, declined) = decide(&p.changes, true, |c| {
            asked.push(question(c));
            Ok(false)
        })
        .unwrap();
        assert_eq!(
            asked,
            vec!["Remove init container(s) `init-chmod` from deployment monitoring/prometheus?"]
        );
        assert_eq!(
            ok.iter().map(|c| c.kind).collect::<Vec<_>>(),
            vec![FixKind::SecurityContext]
        );
        // The chmod init container stays and runs as root, so the pod-level user is left out; fsGroup still goes.
        let Edit::SetSecurityContext { fields } = &ok[0].edit else {
            panic!("not a securityContext change")
        };
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            vec!["fsGroup", "fsGroupChangePolicy"]
        );
        assert_eq!(declined.len(), 2, "{declined:?}");
        assert!(declined[1].contains("`init-chmod` stays"), "{declined:?}");
        // --yes / --dry-run: nothing is asked, everything goes.
        let (ok, declined) = decide(&p.changes, false, |_| panic!("must not ask")).unwrap();
        assert_eq!(ok.len(), 2);
        assert!(declined.is_empty());
    }

    #[test]
    fn declining_the_chown_step_keeps_the_init_containers_it_would_replace() {
        let mut snap = plain_host_path();
        spec_mut(&mut snap).init_containers =
            spec_mut(&mut handmade_chmod()).init_containers.clone();
        spec_mut(&mut snap).init_containers.as_mut().unwrap()[0]
            .volume_mounts
            .as_mut()
            .unwrap()[0]
            .name = "data".into();
        let p = plan_of(&snap);
        assert_eq!(
            kinds(&p),
            vec![
                FixKind::SecurityContext,
                FixKind::AddChownStep,
                FixKind::RemoveInitContainers
            ]
        );
        let mut asked = 0;
        let (ok, declined) = decide(&p.changes, true, |_| {
            asked += 1;
            Ok(false)
        })
        .unwrap();
        assert_eq!(
            asked, 1,
            "only the chown step is asked; its follow-up removal is dropped"
        );
        assert_eq!(
            ok.iter().map(|c| c.kind).collect::<Vec<_>>(),
            vec![FixKind::SecurityContext]
        );
        assert!(declined[1].contains("skipped"), "{declined:?}");
        // Accepting the chown: the removal of our own step alone is not asked again.
        let only_ours = plan_of(&plain_host_path());
        let mut asked = 0;
        let (ok, _) = decide(&only_ours.changes, true, |_| {
            asked += 1;
            Ok(true)
        })
        .unwrap();
        assert_eq!(asked, 1);
        assert_eq!(ok.len(), 3);
    }

    #[test]
    fn verification_needs_ready_pods_and_no_evidence() {
        let mut v = Verification {
            pods: vec![("p-0".into(), true)],
            writable: Some(true),
            ..Default::default()
        };
        assert!(v.ok());
        v.writable = None;
        assert!(
            v.ok(),
            "an unchecked volume does not fail verification on its own"
        );
        v.permission_denied
            .push("open /prometheus/queries.active: permission denied".into());
        assert!(!v.ok());
        assert!(failure_text(&v).contains("the log still says"));
        v.permission_denied.clear();
        v.pods[0].1 = false;
        assert!(failure_text(&v).contains("p-0"));
        assert!(!Verification::default().ok());
    }
}
