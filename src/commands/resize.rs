//! `kubectl prom resize`: resolve the data claims, pre-flight, show and confirm the plan per flavour, apply it, follow
//! every claim to its new capacity, verify the filesystem the pod sees, and report (human or `-o json`).

use crate::cli::ResizeArgs;
use crate::context::{Ctx, parse_duration};
use crate::engine::AfterConflict;
use crate::error::{Error, ExitCode, Result};
use crate::resize::apply::{self, AppliedStep, ClaimState};
use crate::resize::gather;
use crate::resize::model::{SizeRequest, Usage};
use crate::resize::plan::{self, Phase, ResizePlan, Step};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The per-claim result, as `-o json` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimReport {
    pub name: String,
    pub storage_class: String,
    pub capacity_before: String,
    pub target: String,
    /// `status.capacity.storage` at the end, read back (unchanged in a dry run).
    pub capacity_after: Option<String>,
    /// `spec.resources.requests.storage` at the end, read back: another change may have asked for more meanwhile.
    pub request_after: Option<String>,
    /// `dry-run`, `declined`, `done`, `failed`, `timed-out`.
    pub state: String,
    pub message: Option<String>,
    /// The filesystem as the pod sees it afterwards.
    pub filesystem: Option<Usage>,
    pub usage_before: Option<Usage>,
    pub pod: Option<String>,
    pub pod_restarted: bool,
}

/// The whole result of a run (`apiVersion`/`kind: Resize` are added by `output::emit`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResizeReport {
    pub namespace: String,
    pub instance: String,
    pub flavour: &'static str,
    pub dry_run: bool,
    pub target: String,
    pub claims: Vec<ClaimReport>,
    pub steps: Vec<AppliedStep>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// Entry point for the verb.
pub async fn run(ctx: &Ctx, args: &ResizeArgs) -> Result<ExitCode> {
    let request = SizeRequest::from_flags(
        args.size.as_deref(),
        args.add.as_deref(),
        args.increase.as_deref(),
    )?;
    let timeout = parse_duration(&args.timeout)?;
    let instance = crate::discover::resolve_one(ctx, args.target.target.as_deref()).await?;
    let mut snapshot = gather::snapshot(ctx, &instance).await?;
    let mut plan = plan::plan(&snapshot, &request, args.allow_expansion)?;
    crate::access::require(ctx, &plan.access()).await?;
    ctx.printer.info(&plan::render(&plan));

    if !ctx.settings.dry_run {
        // From here on an interrupt names the command that continues (nothing sent yet is a true "nothing").
        crate::interrupt::journal().resume = Some(apply::continue_command(&plan));
    }
    let mut applied: Vec<AppliedStep> = Vec::new();
    let mut report = report_for(&plan, ctx.settings.dry_run);
    if ctx.settings.dry_run {
        ctx.printer
            .info("dry run: every change is sent with dryRun=All; nothing is changed");
    }

    let class_question = {
        let classes: Vec<String> = plan
            .phase(Phase::AllowExpansion)
            .filter_map(|s| match s {
                Step::AllowExpansion { class, .. } => Some(class.clone()),
                _ => None,
            })
            .collect();
        format!(
            "Set allowVolumeExpansion: true on StorageClass {}? This is a cluster-wide change: every claim of the class may then be expanded.",
            classes.join(", ")
        )
    };
    if !apply::run_phase(
        ctx,
        &plan,
        Phase::AllowExpansion,
        Some(&class_question),
        &mut applied,
    )
    .await?
    {
        return Err(Error::Declined {
            message: format!(
                "the StorageClass change was not confirmed, and without it the apiserver refuses the resize (\"{}\"); nothing was changed",
                plan::NOT_EXPANDABLE_ADMISSION
            ),
        });
    }
    let resize_question = format!(
        "Apply this plan ({} change(s) to grow {} claim(s) to {})?",
        plan.phase(Phase::Resize).count(),
        plan.claims.len(),
        plan.target
    );
    let mut question = Some(resize_question.as_str());
    let mut replans = 0;
    loop {
        match apply::run_phase(ctx, &plan, Phase::Resize, question, &mut applied).await {
            Ok(true) => break,
            Ok(false) => {
                let class_note = if applied.iter().any(|a| a.result == "applied") {
                    " (the StorageClass change above was applied)"
                } else {
                    ""
                };
                return Err(Error::Declined {
                    message: format!("plan not confirmed; no claim was changed{class_note}"),
                });
            }
            // A claim changed between reading and patching (409): read everything again and plan again for the
            // same absolute size, then go on as the shared conflict policy says (crate::engine::after_conflict).
            Err(err) if err.is_conflict() && replans < crate::engine::MAX_REPLANS => {
                replans += 1;
                apply::progress(
                    ctx,
                    &format!("{err}; reading the objects again and planning again"),
                );
                let fresh = gather::snapshot(ctx, &instance).await?;
                let again = plan::plan(
                    &fresh,
                    &SizeRequest::Absolute(plan.target),
                    args.allow_expansion,
                )?;
                question = match crate::engine::after_conflict(
                    &ctx.settings,
                    plan_covers(&plan, &again),
                ) {
                    AfterConflict::Apply => None,
                    AfterConflict::Confirm => {
                        ctx.printer.info(&plan::render(&again));
                        Some(resize_question.as_str())
                    }
                    AfterConflict::Stop => {
                        ctx.printer.info(&plan::render(&again));
                        return Err(crate::engine::changed_plan_refused(&err, ""));
                    }
                };
                snapshot = fresh;
                plan = again;
            }
            Err(err) => return Err(err),
        }
    }
    report.claims = report_for(&plan, ctx.settings.dry_run).claims;
    let recreate_question = plan
        .phase(Phase::RecreateStatefulSet)
        .find_map(|s| match s {
            Step::RecreateStatefulSet { name, .. } => Some(format!(
                "The claim template of statefulset/{name} cannot be changed in place. Delete it with --cascade=orphan and create it again with the larger template? Its pods keep running."
            )),
            _ => None,
        })
        .unwrap_or_default();
    let recreated = apply::run_phase(
        ctx,
        &plan,
        Phase::RecreateStatefulSet,
        Some(&recreate_question),
        &mut applied,
    )
    .await?;
    // A declined step is reported as declined, and the run ends with the Declined exit code once the claims it did
    // grow are followed: the work is incomplete.
    let declined = (!recreated).then(|| {
        format!(
            "the StatefulSet change was declined: the StatefulSet keeps its old claim template, so a replica created later gets the old size; `{}` finishes it",
            apply::continue_command(&plan)
        )
    });
    if let Some(message) = &declined {
        report.warnings.push(message.clone());
    }
    let statefulset_changed = plan.flavour == "operator"
        || (recreated && plan.phase(Phase::RecreateStatefulSet).next().is_some());
    report.steps = applied;

    if ctx.settings.dry_run {
        for claim in &mut report.claims {
            claim.state = "dry-run".into();
        }
        print_report(ctx, &report);
        return Ok(ExitCode::Ok);
    }

    let started = Instant::now();
    let remaining = |limit: Option<Duration>| limit.map(|t| t.saturating_sub(started.elapsed()));
    let mut restarted: Vec<String> = Vec::new();
    let states = match apply::watch_claims(ctx, &plan, timeout, &mut restarted).await {
        Ok(states) => states,
        Err(err) => {
            for claim in &mut report.claims {
                claim.state = "timed-out".into();
            }
            print_report(ctx, &report);
            return Err(err);
        }
    };
    let mut failures = Vec::new();
    let mut declined_restarts = Vec::new();
    for (name, state) in &states {
        let Some(claim) = report.claims.iter_mut().find(|c| &c.name == name) else {
            continue;
        };
        match state {
            ClaimState::Done { capacity } => {
                claim.state = "done".into();
                claim.capacity_after = Some(capacity.clone());
            }
            ClaimState::Failed { capacity, message }
                if message.starts_with(apply::RESTART_DECLINED) =>
            {
                claim.state = "declined".into();
                claim.capacity_after = Some(capacity.clone());
                claim.message = Some(message.clone());
                declined_restarts.push(format!("{name}: {message}"));
            }
            ClaimState::Failed { capacity, message } => {
                claim.state = "failed".into();
                claim.capacity_after = Some(capacity.clone());
                claim.message = Some(message.clone());
                failures.push(format!("{name}: {message}"));
            }
            _ => {}
        }
    }

    if plan.flavour == "operator" {
        wait_statefulsets_back(ctx, &plan, remaining(timeout)).await?;
    }

    // Pods that crash-looped on the full disk: offer a restart now that there is room, then wait until Ready.
    for claim in plan
        .claims
        .iter()
        .filter(|c| c.crash_looping_on_full_disk())
    {
        if failures
            .iter()
            .any(|f| f.starts_with(&format!("{}:", claim.name)))
        {
            continue;
        }
        let mounting = apply::pods_mounting(ctx, &plan.namespace, &claim.name).await?;
        let restart = match apply::restart_candidate(
            &plan,
            &claim.name,
            &mounting,
            &apply::continue_command(&plan),
        ) {
            apply::RestartCandidate::Planned(restart) => restart,
            apply::RestartCandidate::Blocked(message) => {
                report
                    .warnings
                    .push(format!("claim {}: {message}", claim.name));
                continue;
            }
            apply::RestartCandidate::Nothing => continue,
        };
        if !restarted.contains(&restart.pod) {
            let question = format!(
                "Pod {} was crash-looping because claim {} was full. {} now, instead of waiting for its back-off?",
                restart.pod,
                claim.name,
                restart.summary().replacen("restart", "Restart", 1)
            );
            if apply::confirm(ctx, &question)? {
                apply::restart_pod(ctx, &plan.namespace, &restart).await?;
                restarted.push(restart.pod.clone());
            }
        }
    }
    for claim in &mut report.claims {
        let was_restarted = plan
            .claims
            .iter()
            .find(|c| c.name == claim.name)
            .and_then(|c| c.pod.as_ref())
            .is_some_and(|p| restarted.contains(&p.name))
            || restarted
                .iter()
                .any(|r| claim.pod.as_deref() == Some(r.as_str()));
        if was_restarted && claim.state == "done" {
            let task_line = format!("{}: waiting for a Ready pod", claim.name);
            apply::progress(ctx, &task_line);
            let pod =
                apply::wait_ready(ctx, &plan.namespace, &claim.name, remaining(timeout)).await?;
            apply::progress(ctx, &format!("{}: pod {pod} is Ready", claim.name));
            claim.pod = Some(pod);
            claim.pod_restarted = true;
        }
    }

    // The filesystem the pod sees must have grown too.
    let mut unverified = Vec::new();
    for claim in &mut report.claims {
        if claim.state != "done" {
            continue;
        }
        let target = crate::quantity::Quantity::parse(&claim.target)?;
        let fs = filesystem_after(
            ctx,
            &plan.namespace,
            &claim.name,
            target,
            remaining(timeout),
        )
        .await;
        match fs {
            Some(usage) if grew_enough(&usage, target) => claim.filesystem = Some(usage),
            Some(usage) => {
                claim.filesystem = Some(usage);
                unverified.push(format!(
                    "{}: the filesystem in the pod is {} (expected about {target})",
                    claim.name,
                    plan::human_bytes(usage.capacity_bytes)
                ));
            }
            None => report.warnings.push(format!(
                "could not read the filesystem size of claim {} (no kubelet stats and no running container to run df in); check with `kubectl exec POD -- df -h MOUNT`",
                claim.name
            )),
        }
    }

    if statefulset_changed {
        let pods_kept =
            pods_kept_running(ctx, &plan, &snapshot_pod_uids(&snapshot), &restarted).await;
        if let Some(message) = pods_kept {
            report.notes.push(message);
        }
    }

    // What is true after the run, not what it asked for: another change may have grown a claim meanwhile.
    let read_back = read_claims_back(ctx, &plan).await;
    settle_report(&mut report, &plan, &read_back);

    print_report(ctx, &report);
    if !failures.is_empty() {
        return Err(Error::Verify {
            message: format!("the volume resize failed: {}", failures.join("; ")),
            hint: Some(format!(
                "`kubectl describe pvc -n {}` shows the resizer's events; the larger request stays in place and is retried by the resizer",
                plan.namespace
            )),
        });
    }
    if !unverified.is_empty() {
        return Err(Error::Verify {
            message: format!(
                "the claims grew but the filesystem did not: {}",
                unverified.join("; ")
            ),
            hint: Some("a pod restart usually finishes a file-system resize".into()),
        });
    }
    let declined: Vec<String> = declined.into_iter().chain(declined_restarts).collect();
    if !declined.is_empty() {
        return Err(Error::Declined {
            message: declined.join("; "),
        });
    }
    Ok(ExitCode::Ok)
}

/// Each claim's request and capacity as they are now (`None` where a read failed: the report then keeps what the
/// watch saw).
async fn read_claims_back(
    ctx: &Ctx,
    plan: &ResizePlan,
) -> Vec<(
    String,
    Option<(crate::quantity::Quantity, crate::quantity::Quantity)>,
)> {
    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(ctx.client.clone(), &plan.namespace);
    futures::future::join_all(plan.claims.iter().map(|claim| {
        let pvcs = pvcs.clone();
        async move {
            let sizes = pvcs
                .get(&claim.name)
                .await
                .ok()
                .and_then(|pvc| plan::claim_sizes(&pvc).ok());
            (claim.name.clone(), sizes)
        }
    }))
    .await
}

/// Base the report on the sizes read back (pure): each claim's request and capacity as they are, a warning for a
/// claim that now asks for more than this run did (a concurrent change), and the Helm note for the size the claims
/// really have — the values must not go below it, or the next upgrade fails.
fn settle_report(
    report: &mut ResizeReport,
    plan: &ResizePlan,
    read_back: &[(
        String,
        Option<(crate::quantity::Quantity, crate::quantity::Quantity)>,
    )],
) {
    let mut largest = plan.target;
    for (name, sizes) in read_back {
        let (Some(claim), Some((capacity, requested))) =
            (report.claims.iter_mut().find(|c| &c.name == name), sizes)
        else {
            continue;
        };
        claim.capacity_after = Some(capacity.to_string());
        claim.request_after = Some(requested.to_string());
        largest = largest.max(*capacity).max(*requested);
        if (*requested).max(*capacity) > plan.target {
            report.warnings.push(format!(
                "claim {name} now has {} (request {requested}, capacity {capacity}), more than the {} this run asked for: another change grew it meanwhile",
                (*requested).max(*capacity),
                plan.target
            ));
        }
    }
    if let Some(subject) = &plan.subject
        && largest > plan.target
    {
        let asked = plan::size_note(subject, plan.target);
        report.notes.retain(|n| Some(n) != asked.as_ref());
        report.notes.extend(plan::size_note(subject, largest));
    }
}

/// Whether every change of `again` (re-planned after a conflict) was already in `first`: same target, and each of
/// its steps names an object and a change the first plan had (resourceVersions aside).
fn plan_covers(first: &ResizePlan, again: &ResizePlan) -> bool {
    let key = |step: &Step| match step {
        Step::PatchClaim { name, to, .. } => format!("claim {name} {to}"),
        other => other.summary(),
    };
    let known: Vec<String> = first.steps.iter().map(|(_, s)| key(s)).collect();
    first.target == again.target && again.steps.iter().all(|(_, s)| known.contains(&key(s)))
}

fn report_for(plan: &ResizePlan, dry_run: bool) -> ResizeReport {
    ResizeReport {
        namespace: plan.namespace.clone(),
        instance: plan.instance.clone(),
        flavour: plan.flavour,
        dry_run,
        target: plan.target.to_string(),
        claims: plan
            .claims
            .iter()
            .map(|c| ClaimReport {
                name: c.name.clone(),
                storage_class: c.storage_class.clone(),
                capacity_before: c.capacity.to_string(),
                target: c.target.to_string(),
                capacity_after: None,
                request_after: None,
                state: "pending".into(),
                message: None,
                filesystem: None,
                usage_before: c.usage,
                pod: c.pod.as_ref().map(|p| p.name.clone()),
                pod_restarted: false,
            })
            .collect(),
        steps: Vec::new(),
        warnings: plan.warnings.clone(),
        notes: plan.notes.clone(),
    }
}

/// Within 5% of the target: filesystems keep some space for their own metadata.
fn grew_enough(usage: &Usage, target: crate::quantity::Quantity) -> bool {
    let target = u64::try_from(target.bytes()).unwrap_or(u64::MAX);
    usage.capacity_bytes >= target / 100 * 95
}

/// Read the filesystem size the pod sees, polling briefly: the kubelet may finish the node-side expansion just after
/// the claim reports its capacity.
async fn filesystem_after(
    ctx: &Ctx,
    namespace: &str,
    claim: &str,
    target: crate::quantity::Quantity,
    limit: Option<Duration>,
) -> Option<Usage> {
    let limit = limit
        .unwrap_or(Duration::from_secs(60))
        .min(Duration::from_secs(60));
    let ticker = crate::engine::wait::Ticker::new(Some(limit), Duration::from_millis(500));
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let mut last = None;
    loop {
        let list = pods.list(&Default::default()).await.ok()?;
        if let Some(pod) = list
            .items
            .iter()
            .find(|p| p.metadata.deletion_timestamp.is_none() && gather::mounts_claim(p, claim))
        {
            let claim_pod = crate::resize::model::ClaimPod {
                name: pod.metadata.name.clone().unwrap_or_default(),
                container: pod
                    .spec
                    .as_ref()
                    .and_then(|s| container_mounting(s, claim))
                    .unwrap_or_default(),
                mount_path: pod
                    .spec
                    .as_ref()
                    .and_then(|s| mount_path_of(s, claim))
                    .unwrap_or_default(),
                node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
                ..Default::default()
            };
            let mut summaries = BTreeMap::new();
            last = gather::usage(ctx, namespace, &claim_pod, claim, &mut summaries).await;
            if last.is_some_and(|u| grew_enough(&u, target)) {
                return last;
            }
        }
        if ticker.expired() {
            return last;
        }
        ticker.tick().await;
    }
}

/// The name of the pod volume backed by `claim`.
fn volume_for_claim(spec: &k8s_openapi::api::core::v1::PodSpec, claim: &str) -> Option<String> {
    spec.volumes.as_ref()?.iter().find_map(|v| {
        v.persistent_volume_claim
            .as_ref()
            .filter(|c| c.claim_name == claim)
            .map(|_| v.name.clone())
    })
}

fn container_mounting(spec: &k8s_openapi::api::core::v1::PodSpec, claim: &str) -> Option<String> {
    let volume = volume_for_claim(spec, claim)?;
    spec.containers
        .iter()
        .find(|c| {
            c.volume_mounts
                .as_ref()
                .is_some_and(|m| m.iter().any(|m| m.name == volume))
        })
        .map(|c| c.name.clone())
}

fn mount_path_of(spec: &k8s_openapi::api::core::v1::PodSpec, claim: &str) -> Option<String> {
    let volume = volume_for_claim(spec, claim)?;
    spec.containers
        .iter()
        .flat_map(|c| c.volume_mounts.iter().flatten())
        .find(|m| m.name == volume)
        .map(|m| m.mount_path.clone())
}

fn snapshot_pod_uids(snapshot: &crate::resize::model::Snapshot) -> Vec<(String, String)> {
    snapshot
        .claims
        .iter()
        .filter_map(|c| c.pod.as_ref())
        .map(|p| (p.name.clone(), p.uid.clone()))
        .collect()
}

/// For the StatefulSet flavours: confirm the pods we did not restart are the same pods as before (same uid).
async fn pods_kept_running(
    ctx: &Ctx,
    plan: &ResizePlan,
    before: &[(String, String)],
    restarted: &[String],
) -> Option<String> {
    if !matches!(
        plan.flavour,
        "operator" | "statefulset" | "helm-chart-statefulset"
    ) {
        return None;
    }
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &plan.namespace);
    let mut kept = Vec::new();
    let mut replaced = Vec::new();
    for (name, uid) in before.iter().filter(|(n, _)| !restarted.contains(n)) {
        match pods.get_opt(name).await {
            Ok(Some(p)) if p.metadata.uid.as_deref() == Some(uid.as_str()) => {
                kept.push(name.clone())
            }
            _ => replaced.push(name.clone()),
        }
    }
    Some(if replaced.is_empty() {
        format!(
            "pods kept running through the StatefulSet change: {}",
            kept.join(", ")
        )
    } else {
        format!(
            "pods replaced during the change (not by resize): {}; kept: {}",
            replaced.join(", "),
            kept.join(", ")
        )
    })
}

/// After the unpause, the operator recreates the orphan-deleted StatefulSet(s); wait for them (bounded).
async fn wait_statefulsets_back(
    ctx: &Ctx,
    plan: &ResizePlan,
    limit: Option<Duration>,
) -> Result<()> {
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &plan.namespace);
    let limit = limit.unwrap_or(Duration::from_secs(120));
    for step in plan.phase(Phase::Resize) {
        let Step::OrphanDeleteStatefulSet(sts) = step else {
            continue;
        };
        crate::engine::wait::recreated(&api, &sts.name, &sts.uid, limit).await?;
        apply::progress(
            ctx,
            &format!("statefulset/{}: recreated by the operator", sts.name),
        );
    }
    Ok(())
}

fn print_report(ctx: &Ctx, report: &ResizeReport) {
    let printed = crate::output::emit(&ctx.printer, ctx.settings.output, "Resize", report, || {
        render_report(report)
    });
    if let Err(e) = printed {
        ctx.printer.warn(&e.to_string());
    }
}

/// The human form of the report.
pub fn render_report(report: &ResizeReport) -> String {
    let mut out = String::new();
    let verb = if report.dry_run {
        "would resize"
    } else {
        "resize of"
    };
    out.push_str(&format!(
        "{verb} {} in {} to {}:\n",
        report.instance, report.namespace, report.target
    ));
    let rows: Vec<[String; 6]> = report
        .claims
        .iter()
        .map(|c| {
            let fs = c
                .filesystem
                .map(|u| {
                    format!(
                        "{} ({}% used)",
                        plan::human_bytes(u.capacity_bytes),
                        u.used_percent()
                    )
                })
                .unwrap_or_else(|| "-".into());
            let mut state = c.state.clone();
            if let Some(m) = &c.message {
                state.push_str(": ");
                state.push_str(m);
            }
            if c.pod_restarted
                && let Some(pod) = &c.pod
            {
                state.push_str(&format!("; pod {pod} restarted and Ready"));
            }
            [
                c.name.clone(),
                c.capacity_before.clone(),
                c.capacity_after.clone().unwrap_or_else(|| "-".into()),
                fs,
                c.storage_class.clone(),
                state,
            ]
        })
        .collect();
    out.push_str(&plan::table(
        &[
            "CLAIM",
            "BEFORE",
            "CAPACITY",
            "FILESYSTEM",
            "CLASS",
            "STATE",
        ],
        &rows,
    ));
    for warning in &report.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resize::model::UsageSource;

    fn claim(state: &str) -> ClaimReport {
        ClaimReport {
            name: "prometheus-server".into(),
            storage_class: "gp2".into(),
            capacity_before: "1124Gi".into(),
            target: "1300Gi".into(),
            capacity_after: Some("1300Gi".into()),
            request_after: Some("1300Gi".into()),
            state: state.into(),
            message: None,
            filesystem: Some(Usage {
                capacity_bytes: 1300 << 30,
                used_bytes: 1124 << 30,
                available_bytes: 176 << 30,
                source: UsageSource::Df,
            }),
            usage_before: None,
            pod: Some("prometheus-server-abc".into()),
            pod_restarted: true,
        }
    }

    fn report(claims: Vec<ClaimReport>) -> ResizeReport {
        ResizeReport {
            namespace: "monitoring".into(),
            instance: "deploy/prometheus-server".into(),
            flavour: "helm-chart",
            dry_run: false,
            target: "1300Gi".into(),
            claims,
            steps: Vec::new(),
            warnings: vec!["an EBS volume can be modified only once every 6 hours".into()],
            notes: vec!["Helm: set `server.persistentVolume.size: 1300Gi`".into()],
        }
    }

    #[test]
    fn human_report_shows_each_claim_with_its_filesystem_and_restart() {
        let text = render_report(&report(vec![claim("done")]));
        assert!(
            text.starts_with("resize of deploy/prometheus-server in monitoring to 1300Gi:"),
            "{text}"
        );
        assert!(
            text.contains("1124Gi  1300Gi    1.3Ti (86% used)"),
            "{text}"
        );
        assert!(
            text.contains("done; pod prometheus-server-abc restarted and Ready"),
            "{text}"
        );
        assert!(text.contains("warning: an EBS volume"), "{text}");
        assert!(text.contains("note: Helm: set"), "{text}");
        let mut failed = claim("failed");
        failed.message = Some("VolumeModificationRateExceeded".into());
        failed.pod_restarted = false;
        let text = render_report(&report(vec![failed]));
        assert!(
            text.contains("failed: VolumeModificationRateExceeded"),
            "{text}"
        );
        assert!(!text.contains("restarted"), "{text}");
    }

    fn plan_with(target: &str, claims: &[(&str, &str)]) -> ResizePlan {
        let q = |t: &str| crate::quantity::Quantity::parse(t).unwrap();
        ResizePlan {
            namespace: "monitoring".into(),
            instance: "deploy/p".into(),
            flavour: "plain",
            target: q(target),
            claims: Vec::new(),
            restarts: Vec::new(),
            chart_release: None,
            subject: None,
            steps: claims
                .iter()
                .map(|(name, rv)| {
                    (
                        Phase::Resize,
                        Step::PatchClaim {
                            name: name.to_string(),
                            resource_version: rv.to_string(),
                            from: q("64Mi"),
                            to: q(target),
                        },
                    )
                })
                .collect(),
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn the_report_and_the_helm_note_follow_the_sizes_read_back() {
        let q = |t: &str| crate::quantity::Quantity::parse(t).unwrap();
        let mut plan = plan_with("9Gi", &[("prometheus-server", "1")]);
        plan.chart_release = Some("prometheus".into());
        let subject = crate::install::Subject {
            source: crate::install::Source::Helm {
                release: "prometheus".into(),
                namespace: "monitoring".into(),
                chart: None,
            },
            object: "pvc/prometheus-server".into(),
            namespace: "monitoring".into(),
            statefulset: false,
        };
        plan.subject = Some(subject.clone());
        let mut report = report(vec![claim("done")]);
        report.claims[0].name = "prometheus-server".into();
        report.notes = plan::size_note(&subject, q("9Gi")).into_iter().collect();
        // As asked: nothing to add.
        settle_report(
            &mut report,
            &plan,
            &[("prometheus-server".into(), Some((q("9Gi"), q("9Gi"))))],
        );
        assert_eq!(report.claims[0].request_after.as_deref(), Some("9Gi"));
        assert!(
            report
                .warnings
                .iter()
                .all(|w| !w.contains("another change"))
        );
        // Another change asked for 10Gi meanwhile: said, and the Helm note follows it.
        settle_report(
            &mut report,
            &plan,
            &[("prometheus-server".into(), Some((q("9Gi"), q("10Gi"))))],
        );
        assert_eq!(report.claims[0].request_after.as_deref(), Some("10Gi"));
        assert_eq!(report.claims[0].capacity_after.as_deref(), Some("9Gi"));
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains("another change grew it")),
            "{:?}",
            report.warnings
        );
        assert_eq!(
            report.notes,
            plan::size_note(&subject, q("10Gi"))
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert!(report.notes[0].contains("10Gi"), "{:?}", report.notes);
    }

    #[test]
    fn a_replan_is_applied_silently_only_when_it_asks_for_nothing_new() {
        let first = plan_with("96Mi", &[("a", "1"), ("b", "1")]);
        // New resourceVersions, and claim a already done: nothing new.
        assert!(plan_covers(&first, &plan_with("96Mi", &[("b", "7")])));
        assert!(plan_covers(&first, &plan_with("96Mi", &[])));
        // Another claim appeared, or the size differs: ask again.
        assert!(!plan_covers(&first, &plan_with("96Mi", &[("c", "1")])));
        assert!(!plan_covers(&first, &plan_with("128Mi", &[("a", "1")])));
    }

    #[test]
    fn filesystem_must_reach_nearly_the_target() {
        let target = crate::quantity::Quantity::parse("100Mi").unwrap();
        let fs = |mib: u64| Usage {
            capacity_bytes: mib << 20,
            used_bytes: 0,
            available_bytes: mib << 20,
            source: UsageSource::StatsSummary,
        };
        assert!(grew_enough(&fs(100), target));
        assert!(grew_enough(&fs(96), target));
        assert!(!grew_enough(&fs(64), target));
    }
}
