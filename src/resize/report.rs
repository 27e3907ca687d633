//! The result of a resize run: per claim what it was, what it is now (read back), and what happened to it; rendered
//! for a person or as `-o json` (`apiVersion`/`kind: Resize` added by `output::emit`).

use super::apply::AppliedStep;
use super::model::Usage;
use super::plan::{self, ResizeFlavour, ResizePlan};
use crate::context::Ctx;
use serde::Serialize;

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
    pub flavour: ResizeFlavour,
    pub dry_run: bool,
    pub target: String,
    pub claims: Vec<ClaimReport>,
    pub steps: Vec<AppliedStep>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// Base the report on the sizes read back (pure): each claim's request and capacity as they are, a warning for a
/// claim that now asks for more than this run did (a concurrent change), and the Helm note for the size the claims
/// really have — the values must not go below it, or the next upgrade fails.
pub fn settle_report(
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

pub fn report_for(plan: &ResizePlan, dry_run: bool) -> ResizeReport {
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

pub fn print_report(ctx: &Ctx, report: &ResizeReport) {
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
    use crate::engine::Replan;
    use crate::resize::model::UsageSource;
    use crate::resize::plan::{Action, Phase};

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
            flavour: ResizeFlavour::HelmChart,
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
            flavour: ResizeFlavour::Plain,
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
                        Action::PatchClaim {
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
        assert!(first.asks_nothing_new(&plan_with("96Mi", &[("b", "7")])));
        assert!(first.asks_nothing_new(&plan_with("96Mi", &[])));
        // Another claim appeared, or the size differs: ask again.
        assert!(!first.asks_nothing_new(&plan_with("96Mi", &[("c", "1")])));
        assert!(!first.asks_nothing_new(&plan_with("128Mi", &[("a", "1")])));
    }
}
