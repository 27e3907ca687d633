//! The one confirm policy of every verb: a plan is shown, then `--dry-run` goes on, `--yes` goes on, a terminal is
//! asked (default no), anything else is refused; and what a plan made again after a 409 Conflict may do.

use super::{Change, Plan, render::render_with};
use crate::context::Ctx;
use crate::error::{Error, Result};

/// What to do with a plan made again from fresh reads after a 409 Conflict (issue 9: "a 409 re-reads, re-plans, and
/// shows the new plan again, or, with `--yes`, re-applies only if the plan is unchanged").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterConflict {
    /// The new plan asks for nothing the user has not confirmed: send it without asking again.
    Apply,
    /// It differs: show it and pass the gate again ([`confirm`]: a terminal asks, `--dry-run` goes on, no terminal
    /// refuses).
    Confirm,
    /// It differs and `--yes` confirmed the old plan, not this one: show it and stop.
    Stop,
}

/// The policy for a re-plan (pure).
pub fn after_conflict(
    settings: &crate::context::Settings,
    asks_nothing_new: bool,
) -> AfterConflict {
    if asks_nothing_new {
        AfterConflict::Apply
    } else if settings.assume_yes && !settings.dry_run {
        AfterConflict::Stop
    } else {
        AfterConflict::Confirm
    }
}

/// How many times a plan is made again after conflicts before giving up (a 409 storm is someone else's loop).
pub const MAX_REPLANS: usize = 3;

/// Show the plan on stderr and decide: `--dry-run` goes ahead (every request carries dryRun=All); `--yes` goes ahead;
/// a terminal asks (default no); otherwise refuse. Pod restarts are asked one by one on a terminal.
pub fn confirm(ctx: &Ctx, plan: &Plan) -> Result<()> {
    show(ctx, plan);
    gate(ctx, plan)
}

/// The plan on stderr (patch bodies with `-v`).
pub fn show(ctx: &Ctx, plan: &Plan) {
    let p = &ctx.printer;
    p.info(&render_with(
        plan,
        &|t, c| p.paint(t, c),
        ctx.settings.verbose > 0,
    ));
}

/// [`confirm`] without showing the plan (it was just shown).
pub fn gate(ctx: &Ctx, plan: &Plan) -> Result<()> {
    let p = &ctx.printer;
    let s = &ctx.settings;
    if s.dry_run {
        p.info("dry run: the changes are sent with dryRun=All; nothing is changed");
        return Ok(());
    }
    if s.assume_yes {
        return Ok(());
    }
    if !s.interactive {
        return Err(Error::Declined {
            message: format!(
                "refusing to change the cluster without confirmation ({}); there is no terminal to ask on",
                plan.summary
            ),
        });
    }
    if !ask_to_change(
        ctx,
        &format!("Apply this plan ({} change(s))?", plan.steps.len()),
    )? {
        return Err(Error::Declined {
            message: "plan not confirmed; nothing was changed".into(),
        });
    }
    for step in &plan.steps {
        if let Change::RestartPod { object, .. } = &step.change
            && !ask_to_change(
                ctx,
                &format!(
                    "Restart (delete) pod {}/{}?",
                    object.namespace.as_deref().unwrap_or(""),
                    object.name
                ),
            )?
        {
            return Err(Error::Declined {
                message: format!(
                    "restart of pod {} not confirmed; nothing was changed",
                    object.name
                ),
            });
        }
    }
    Ok(())
}

/// Confirm one group of a plan on its own, right before its steps are sent (resize: the cluster-wide class change, the
/// claims, the StatefulSet recreated — each its own question). The interrupt journal first names what the group will
/// send (`pending`) and the command that continues (`resume`), so a Ctrl-C at the question itself reports the truth;
/// then [`ask_to_change`] asks `question` (`None`: these very changes were confirmed already, e.g. a re-plan that asks
/// nothing new). A dry run is not asked and keeps no journal. Returns whether to go ahead.
pub fn confirm_group(
    ctx: &Ctx,
    question: Option<&str>,
    pending: Vec<String>,
    resume: String,
) -> Result<bool> {
    if ctx.settings.dry_run {
        return Ok(true);
    }
    {
        let mut journal = crate::interrupt::journal();
        journal.resume = Some(resume);
        journal.pending = pending;
    }
    match question {
        Some(question) => ask_to_change(ctx, question),
        None => Ok(true),
    }
}

/// The one confirm policy for every question before a change, in every verb: `--yes` says yes; without a terminal
/// there is no one to ask, so it refuses; under `-q` the plan the question is about was not shown, so it refuses too
/// (never ask about what the user could not see); otherwise the question is asked on the terminal (default no),
/// after throwing away whatever was typed before it appeared (`crate::ui::ask`).
pub fn ask_to_change(ctx: &Ctx, question: &str) -> Result<bool> {
    let s = &ctx.settings;
    if s.assume_yes {
        return Ok(true);
    }
    if !s.interactive {
        return Err(Error::Declined {
            message: format!(
                "refusing to change the cluster without confirmation: there is no terminal to ask \"{question}\" on; re-run with --yes (or --dry-run to only see the plan)"
            ),
        });
    }
    if ctx.printer.quiet {
        return Err(Error::Declined {
            message: format!(
                "refusing to ask \"{question}\" under -q: the plan it is about was not shown; re-run without -q to see and confirm it, or with --yes"
            ),
        });
    }
    crate::ui::ask(question)
}

/// The refusal of [`AfterConflict::Stop`]: `err` is the conflict, `applied` what went out before it (a sentence
/// ending in "; ", or empty).
pub fn changed_plan_refused(err: &Error, applied: &str) -> Error {
    Error::Declined {
        message: format!(
            "the objects changed while the plan was applied ({err}), and the plan made again from what they are now \
             (above) differs from the one --yes confirmed; {applied}nothing more was changed — re-run the command to \
             review the new plan"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::settings;

    #[test]
    fn after_a_conflict_a_changed_plan_is_confirmed_again_and_never_applied_under_yes() {
        use AfterConflict::*;
        for (yes, dry_run, tty) in [
            (true, false, false),
            (false, false, true),
            (false, true, false),
        ] {
            assert_eq!(after_conflict(&settings(yes, dry_run, tty), true), Apply);
        }
        assert_eq!(after_conflict(&settings(true, false, true), false), Stop);
        assert_eq!(after_conflict(&settings(true, false, false), false), Stop);
        // On a terminal it is asked again; without one, the gate refuses it; a dry run shows it and goes on.
        assert_eq!(
            after_conflict(&settings(false, false, true), false),
            Confirm
        );
        assert_eq!(
            after_conflict(&settings(false, false, false), false),
            Confirm
        );
        assert_eq!(after_conflict(&settings(true, true, false), false), Confirm);
    }
}
