//! `kubectl prom fix-perms`: find the instance, inspect (the one snapshot), diagnose, plan per flavour, then (unless nothing is to be done)
//! confirm, apply, follow and verify; print the result for a person or as JSON. The engine is in `crate::fix_perms`.

use crate::cli::FixPermsArgs;
use crate::context::{Ctx, parse_duration};
use crate::discover;
use crate::error::{ExitCode, Result};
use crate::fix_perms::apply::{self, Outcome, Status};
use crate::fix_perms::diagnose::SecurityFields;
use crate::fix_perms::{Diagnosis, PermsPlan, diagnose, plan};
use serde::Serialize;
use std::time::Duration;

/// Without `--timeout` limit (`0`), waits are still bounded: a day.
const UNBOUNDED: Duration = Duration::from_secs(24 * 3600);

/// The `-o json` document's fields (`apiVersion`/`kind: FixPerms` are added by `output::emit`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    instance: &'a discover::Instance,
    diagnosis: &'a Diagnosis,
    plan: &'a PermsPlan,
    outcome: &'a Outcome,
}

/// Entry point for the verb.
pub async fn run(ctx: &Ctx, args: &FixPermsArgs) -> Result<ExitCode> {
    let timeout = parse_duration(&args.timeout)?.unwrap_or(UNBOUNDED);
    let discovered = discover::resolve(ctx, args.target.target.as_deref()).await?;
    crate::fix_perms::workload_to_change(&discovered.instance)?;
    // Inspect's one snapshot, filled with what fix-perms reads; the diagnosis and the plan are pure functions of it.
    let snapshot = crate::inspect::perms::gather(ctx, &discovered).await?;
    let diagnosis = diagnose(&snapshot);
    let plan = plan(&snapshot, &diagnosis);
    let outcome = apply::apply(ctx, &snapshot, &plan, timeout).await?;
    let instance = &snapshot.instance;
    let report = Report {
        instance,
        diagnosis: &diagnosis,
        plan: &plan,
        outcome: &outcome,
    };
    crate::output::emit(
        &ctx.printer,
        ctx.settings.output,
        "FixPerms",
        &report,
        || render(&discover::describe(instance), &diagnosis, &plan, &outcome),
    )?;
    Ok(ExitCode::Ok)
}

fn fields_text(f: &SecurityFields) -> String {
    fn show<T: ToString>(v: &Option<T>) -> String {
        v.as_ref().map_or_else(|| "unset".to_string(), T::to_string)
    }
    format!(
        "runAsUser={} runAsGroup={} runAsNonRoot={} fsGroup={} fsGroupChangePolicy={}",
        show(&f.run_as_user),
        show(&f.run_as_group),
        show(&f.run_as_non_root),
        show(&f.fs_group),
        show(&f.fs_group_change_policy)
    )
}

/// The human result: what was found, then what happened.
pub fn render(instance: &str, d: &Diagnosis, plan: &PermsPlan, outcome: &Outcome) -> String {
    let mut out = format!("{instance}\n");
    out.push_str(&format!(
        "  Prometheus runs as {}:{} ({})\n",
        d.user.uid, d.user.gid, d.user_source
    ));
    match &d.data_volume {
        Some(v) => out.push_str(&format!(
            "  data: {} at {} ({}); fsGroup {}: {}\n",
            v.volume,
            v.mount_path,
            v.source,
            match v.fs_group.applies {
                Some(true) => "applies",
                Some(false) => "does not apply",
                None => "may or may not apply",
            },
            v.fs_group.reason
        )),
        None => out.push_str("  data: no volume holds the TSDB path\n"),
    }
    out.push_str(&format!(
        "  securityContext: {}\n",
        fields_text(&plan.before)
    ));
    for step in &d.chmod_init_containers {
        out.push_str(&format!(
            "  init container {}: {}\n",
            step.name, step.command
        ));
    }
    if let Some(line) = d.evidence.last() {
        out.push_str(&format!("  log: {line}\n"));
    }
    match outcome.status {
        Status::Noop => {
            out.push_str("nothing to change: the data directory is set up the Kubernetes way\n")
        }
        Status::DryRun => out.push_str(&format!(
            "dry run: {} change(s) sent with dryRun=All; nothing was changed\n",
            outcome.applied.len()
        )),
        Status::Fixed => {
            let now = outcome.security_context.as_ref().unwrap_or(&plan.after);
            out.push_str(&format!(
                "fixed: securityContext now {}\n",
                fields_text(now)
            ));
            if let Some(v) = &outcome.verification {
                let ready = v.pods.iter().filter(|(_, r)| *r).count();
                out.push_str(&format!(
                    "verified: {ready}/{} pod(s) Ready, no `permission denied` in their logs, data directory {}\n",
                    v.pods.len(),
                    match v.writable {
                        Some(true) => "writable by Prometheus's user".to_string(),
                        Some(false) => "NOT writable".to_string(),
                        None => format!(
                            "not checked ({})",
                            v.writable_note.as_deref().unwrap_or("no exec")
                        ),
                    }
                ));
            }
            for pod in &outcome.restarted_pods {
                out.push_str(&format!("restarted pod {pod}\n"));
            }
        }
    }
    for declined in &outcome.declined {
        out.push_str(&format!("declined: {declined}\n"));
    }
    if outcome.status != Status::Noop
        && let Some(values) = &plan.values
    {
        out.push_str(&values.note());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix_perms::apply::Verification;
    use crate::fix_perms::fixtures::*;

    fn outcome(status: Status) -> Outcome {
        Outcome {
            status,
            applied: vec![],
            declined: vec![],
            restarted_pods: vec![],
            verification: None,
            security_context: None,
        }
    }

    #[test]
    fn human_result_names_the_user_volume_evidence_and_values() {
        let snap = kps_permission_denied();
        let d = diagnose(&snap);
        let p = plan(&snap, &d);
        let mut done = outcome(Status::Fixed);
        done.verification = Some(Verification {
            pods: vec![("prometheus-kps-prometheus-0".into(), true)],
            writable: Some(true),
            ..Default::default()
        });
        let text = render("monitoring/kps-prometheus", &d, &p, &done);
        assert!(text.contains("Prometheus runs as 1000:2000"), "{text}");
        assert!(text.contains("fsGroup applies"), "{text}");
        assert!(
            text.contains("init container init-chown-data: chown -R 1000:2000 /prometheus"),
            "{text}"
        );
        assert!(text.contains("queries.active: permission denied"), "{text}");
        assert!(
            text.contains("fixed: securityContext now runAsUser=1000 runAsGroup=2000"),
            "{text}"
        );
        assert!(text.contains("verified: 1/1 pod(s) Ready"), "{text}");
        assert!(
            text.contains("prometheus.prometheusSpec.securityContext"),
            "{text}"
        );
        let noop = render("x", &d, &p, &outcome(Status::Noop));
        assert!(noop.contains("nothing to change"), "{noop}");
        assert!(
            !noop.contains("prometheusSpec"),
            "no values advice when nothing changes: {noop}"
        );
    }
}
