//! Following a resize after its changes were sent, and checking what is true afterwards: each claim to its new
//! capacity (`apply::watch_claims`), the operator's StatefulSet back, restarts of pods that crash-looped on the full
//! disk, the filesystem the pod sees, the pods kept running, and the sizes read back for the report.

use super::apply::{self, ClaimState};
use super::model::Usage;
use super::plan::{self, Action, Phase, ResizeFlavour, ResizePlan};
use super::report::{ResizeReport, print_report, settle_report};
use crate::context::Ctx;
use crate::error::{Error, ExitCode, Result};
use crate::inspect::instance as reread;
use crate::inspect::snapshot::InstanceSnapshot;
use std::time::{Duration, Instant};

/// Follow the claims to their new size and verify (a real run, after the changes were sent): the rest of the verb
/// once its plan is applied. `declined` is the StatefulSet change the user declined, reported at the end (exit 4).
pub async fn follow(
    ctx: &Ctx,
    plan: &ResizePlan,
    snapshot: &InstanceSnapshot,
    timeout: Option<Duration>,
    mut report: ResizeReport,
    declined: Option<String>,
    statefulset_changed: bool,
) -> Result<ExitCode> {
    let started = Instant::now();
    let remaining = |limit: Option<Duration>| limit.map(|t| t.saturating_sub(started.elapsed()));
    let mut restarted: Vec<String> = Vec::new();
    let states = match apply::watch_claims(ctx, plan, timeout, &mut restarted).await {
        Ok(states) => states,
        Err(err) => {
            for claim in &mut report.claims {
                claim.state = "timed-out".into();
            }
            // The capacity the claims reached, not `-`: the request stays in place and may have half-happened.
            let read_back = read_claims_back(ctx, plan).await;
            settle_report(&mut report, plan, &read_back);
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
            ClaimState::GrowsOnMount { capacity } => {
                claim.state = "grows-on-mount".into();
                claim.capacity_after = Some(capacity.clone());
                let message = state.message(plan.target);
                claim.message = Some(message.clone());
                report.notes.push(format!(
                    "claim {name}: {message}; start the workload again when you are ready (e.g. restore its replicas) and `kubectl get pvc -n {}` shows the new capacity",
                    plan.namespace
                ));
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

    if plan.flavour == ResizeFlavour::Operator {
        wait_statefulsets_back(ctx, plan, remaining(timeout)).await?;
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
        let mounting = reread::pods_mounting(ctx, &plan.namespace, &claim.name).await?;
        let restart = match apply::restart_candidate(
            plan,
            &claim.name,
            &mounting,
            &apply::continue_command(plan),
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
            if crate::engine::ask_to_change(ctx, &question)? {
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
            pods_kept_running(ctx, plan, &snapshot_pod_uids(snapshot), &restarted).await;
        if let Some(message) = pods_kept {
            report.notes.push(message);
        }
    }

    // What is true after the run, not what it asked for: another change may have grown a claim meanwhile.
    let read_back = read_claims_back(ctx, plan).await;
    settle_report(&mut report, plan, &read_back);

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
    let names: Vec<&str> = plan.claims.iter().map(|c| c.name.as_str()).collect();
    let read = reread::claims_now(ctx, &plan.namespace, &names).await;
    plan.claims
        .iter()
        .zip(read)
        .map(|(claim, pvc)| {
            let sizes = pvc.ok().and_then(|pvc| plan::claim_sizes(&pvc).ok());
            (claim.name.clone(), sizes)
        })
        .collect()
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
    let mut last = None;
    loop {
        let mounting = reread::pods_mounting(ctx, namespace, claim).await.ok()?;
        if let Some(pod) = mounting.first() {
            last = reread::claim_usage(ctx, namespace, pod, claim).await;
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

fn snapshot_pod_uids(snapshot: &InstanceSnapshot) -> Vec<(String, String)> {
    super::model::claims_of(snapshot)
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
    if !plan.flavour.has_statefulset() {
        return None;
    }
    let mut kept = Vec::new();
    let mut replaced = Vec::new();
    for (name, uid) in before.iter().filter(|(n, _)| !restarted.contains(n)) {
        match reread::pod_uid(ctx, &plan.namespace, name).await {
            Some(now) if now == *uid => kept.push(name.clone()),
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
    let limit = limit.unwrap_or(Duration::from_secs(120));
    for step in plan.phase(Phase::Resize) {
        let Action::OrphanDeleteStatefulSet(sts) = step else {
            continue;
        };
        crate::engine::wait::recreated(&ctx.client, &plan.namespace, &sts.name, &sts.uid, limit)
            .await?;
        apply::progress(
            ctx,
            &format!("statefulset/{}: recreated by the operator", sts.name),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resize::model::UsageSource;

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
