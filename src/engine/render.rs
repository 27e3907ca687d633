//! Rendering a plan for a person (pure): the summary, each step with its reason and a unified diff of the object,
//! then the notes.

use super::{Change, Plan};
use serde_json::Value;

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
    /// `@@` separator between hunks.
    Gap,
}

/// A line diff (LCS) with `context` unchanged lines around each change.
pub fn line_diff(before: &str, after: &str, context: usize) -> Vec<DiffLine> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut full = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            full.push(DiffLine::Same(a[i].to_string()));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            full.push(DiffLine::Removed(a[i].to_string()));
            i += 1;
        } else {
            full.push(DiffLine::Added(b[j].to_string()));
            j += 1;
        }
    }
    let changed: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(_, l)| !matches!(l, DiffLine::Same(_)))
        .map(|(i, _)| i)
        .collect();
    let keep = |idx: usize| {
        changed
            .iter()
            .any(|&c| idx + context >= c && idx <= c + context)
    };
    let mut out = Vec::new();
    let mut skipped = false;
    for (idx, line) in full.into_iter().enumerate() {
        if keep(idx) {
            if skipped && !out.is_empty() {
                out.push(DiffLine::Gap);
            }
            skipped = false;
            out.push(line);
        } else {
            skipped = true;
        }
    }
    out
}

/// YAML of an object without the fields nobody edits (managedFields, status), for diffs.
fn diffable_yaml(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
        if let Some(Value::Object(meta)) = o.get_mut("metadata") {
            meta.remove("managedFields");
        }
    }
    crate::yaml::to_string(&v)
}

/// The plan as text: summary, then per step its reason, the object, and a diff (or what will be deleted), then notes.
/// `paint(text, ansi)` colours diff lines (pass the Printer's, or identity).
pub fn render(plan: &Plan, paint: &dyn Fn(&str, &str) -> String) -> String {
    render_with(plan, paint, true)
}

/// Like [`render`]; `full_patch` false replaces each patch body by a one-line note (the diff already shows it;
/// `confirm` prints bodies only with `-v`).
pub fn render_with(plan: &Plan, paint: &dyn Fn(&str, &str) -> String, full_patch: bool) -> String {
    let mut out = format!("Plan: {}\n", plan.summary);
    for (n, step) in plan.steps.iter().enumerate() {
        let object = step.change.object().display();
        match &step.change {
            Change::Patch { before, after, patch, resource_version, .. } => {
                out.push_str(&format!("\n{}. patch {object}: {}\n", n + 1, step.reason));
                for line in line_diff(&diffable_yaml(before), &diffable_yaml(after), 3) {
                    let text = match line {
                        DiffLine::Same(l) => format!("   {l}"),
                        DiffLine::Removed(l) => paint(&format!(" - {l}"), "31"),
                        DiffLine::Added(l) => paint(&format!(" + {l}"), "32"),
                        DiffLine::Gap => paint("   @@", "36"),
                    };
                    out.push_str(&text);
                    out.push('\n');
                }
                let body = serde_json::to_string(patch).unwrap_or_default();
                let line = match (resource_version, full_patch) {
                    (Some(_), true) => format!(
                        "(sent as a JSON merge patch, refused if the object changed since it was read: {body})"
                    ),
                    (Some(rv), false) => format!(
                        "(sent as a JSON merge patch preconditioned on resourceVersion {rv}, so a concurrent edit is \
                         refused; -v prints the body)"
                    ),
                    (None, true) => format!(
                        "(sent as a JSON merge patch without a precondition: it must apply whatever changed \
                         meanwhile: {body})"
                    ),
                    (None, false) => "(sent as a JSON merge patch without a precondition: it must apply whatever \
                                      changed meanwhile; -v prints the body)"
                        .to_string(),
                };
                out.push_str(&format!("   {line}\n"));
            }
            Change::Create { .. } => out.push_str(&format!(
                "\n{}. create {object}: {}\n",
                n + 1,
                step.reason
            )),
            Change::DeleteOrphan { .. } => out.push_str(&format!(
                "\n{}. delete {object} with propagationPolicy=Orphan (its pods and PVCs are kept): {}\n",
                n + 1,
                step.reason
            )),
            Change::RestartPod { .. } => out.push_str(&format!(
                "\n{}. restart {object} (delete it; its controller recreates it; asked separately): {}\n",
                n + 1,
                step.reason
            )),
        }
    }
    for note in &plan.notes {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Step;
    use crate::engine::tests::{deployment, with_lifecycle_flag};

    #[test]
    fn diff_shows_changed_lines_with_context_and_gaps() {
        let before = (1..=20)
            .map(|i| format!("line{i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let after = before
            .replace("line3", "line3-new")
            .replace("line18", "line18-new");
        let d = line_diff(&before, &after, 1);
        assert_eq!(
            d,
            vec![
                DiffLine::Same("line2".into()),
                DiffLine::Removed("line3".into()),
                DiffLine::Added("line3-new".into()),
                DiffLine::Same("line4".into()),
                DiffLine::Gap,
                DiffLine::Same("line17".into()),
                DiffLine::Removed("line18".into()),
                DiffLine::Added("line18-new".into()),
                DiffLine::Same("line19".into()),
            ]
        );
    }

    #[test]
    fn render_shows_reason_diff_patch_and_notes() {
        let before = deployment();
        let after = with_lifecycle_flag(&before);
        let mut plan = Plan::new("enable the lifecycle API on monitoring/prometheus-server");
        plan.steps.push(
            Step::patch(&before, &after, "POST /-/reload answers 403")
                .unwrap()
                .unwrap(),
        );
        plan.notes.push(
            "also set server.extraFlags to keep web.enable-lifecycle in your Helm values".into(),
        );
        let text = render(&plan, &|t, _| t.to_string());
        assert!(text.starts_with("Plan: enable the lifecycle API"), "{text}");
        assert!(
            text.contains(
                "1. patch deployment monitoring/prometheus-server: POST /-/reload answers 403"
            ),
            "{text}"
        );
        assert!(text.contains(" + "), "{text}");
        assert!(text.contains("- --web.enable-lifecycle"), "{text}");
        assert!(!text.contains("managedFields"), "{text}");
        assert!(text.contains(r#""resourceVersion":"42""#), "{text}");
        assert!(text.contains("note: also set server.extraFlags"), "{text}");
        let compact = render_with(&plan, &|t, _| t.to_string(), false);
        assert!(
            compact.contains("preconditioned on resourceVersion 42"),
            "{compact}"
        );
        assert!(!compact.contains(r#""resourceVersion":"42""#), "{compact}");
        assert!(
            compact.contains("- --web.enable-lifecycle"),
            "the diff stays: {compact}"
        );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["steps"][0]["type"], "patch");
        assert_eq!(json["steps"][0]["resourceVersion"], "42");
    }
}
