//! `kubectl prom resize`: resolve the data claims, pre-flight, show the plan, confirm and apply it phase by phase
//! (each phase asked on its own; the one 409 policy re-plans), then follow and verify (`resize::verify`) and report
//! (`resize::report`).

use crate::cli::ResizeArgs;
use crate::context::{Ctx, parse_duration};
use crate::error::{Error, ExitCode, Result};
use crate::inspect::instance::{self, Needs};
use crate::resize::apply::{self, AppliedStep};
use crate::resize::model::SizeRequest;
use crate::resize::plan::{self, Action, Phase, ResizeFlavour};
use crate::resize::report::{print_report, report_for};

/// Entry point for the verb.
pub async fn run(ctx: &Ctx, args: &ResizeArgs) -> Result<ExitCode> {
    let request = SizeRequest::from_flags(
        args.size.as_deref(),
        args.add.as_deref(),
        args.increase.as_deref(),
    )?;
    let timeout = parse_duration(&args.timeout)?;
    let discovered = crate::discover::resolve(ctx, args.target.target.as_deref()).await?;
    // The first plan from what discovery listed; a re-plan after a 409 reads the same afresh.
    let mut snapshot =
        instance::gather(ctx, &discovered.instance, Some(&discovered), Needs::RESIZE).await?;
    let instance = discovered.instance;
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
                Action::AllowExpansion { class, .. } => Some(class.clone()),
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
    let mut ask = true;
    // A claim changed between reading and patching (409): read everything again and plan again for the same absolute
    // size, then go on as the one conflict policy says (crate::engine::Conflicts).
    let mut conflicts = crate::engine::Conflicts::default();
    loop {
        let question = ask.then_some(resize_question.as_str());
        let err = match apply::run_phase(ctx, &plan, Phase::Resize, question, &mut applied).await {
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
            Err(err) => conflicts.admit(ctx, err)?,
        };
        let fresh = instance::gather(ctx, &instance, None, Needs::RESIZE).await?;
        let again = plan::plan(
            &fresh,
            &SizeRequest::Absolute(plan.target),
            args.allow_expansion,
        )?;
        ask = conflicts.decide(ctx, &err, &plan, &again, "")?;
        snapshot = fresh;
        plan = again;
    }
    report.claims = report_for(&plan, ctx.settings.dry_run).claims;
    let recreate_question = plan
        .phase(Phase::RecreateStatefulSet)
        .find_map(|s| match s {
            Action::RecreateStatefulSet { name, .. } => Some(format!(
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
    let statefulset_changed = plan.flavour == ResizeFlavour::Operator
        || (recreated && plan.phase(Phase::RecreateStatefulSet).next().is_some());
    report.steps = applied;

    if ctx.settings.dry_run {
        for claim in &mut report.claims {
            claim.state = "dry-run".into();
        }
        print_report(ctx, &report);
        return Ok(ExitCode::Ok);
    }

    crate::resize::verify::follow(
        ctx,
        &plan,
        &snapshot,
        timeout,
        report,
        declined,
        statefulset_changed,
    )
    .await
}
