//! The checks: pure functions from an [`InstanceSnapshot`] to [`Finding`]s, one file per family. No I/O. Every
//! finding quotes what it saw, says what it means, and gives the exact fix.

pub mod config;
pub mod disk;
pub mod hygiene;
pub mod lifecycle;
pub mod perms;
pub mod serving;

use crate::doctor::catalog::{self, CATALOG, Finding};
use crate::doctor::snapshot::{ContainerLog, InstanceSnapshot};
use crate::logscan::Hit;

/// Every check on one instance, most severe first, causes before symptoms (catalog order).
pub fn run(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(disk::check(s));
    findings.extend(perms::check(s));
    findings.extend(config::check(s));
    findings.extend(lifecycle::check(s));
    findings.extend(serving::check(s));
    findings.extend(hygiene::check(s));
    findings.extend(access(s));
    sort(&mut findings);
    findings
}

/// Most severe first, then catalog order, then object.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(catalog::rank(a.id).cmp(&catalog::rank(b.id)))
            .then(a.object.cmp(&b.object))
    });
}

/// PROM-900: say which data could not be read and which checks that blinds, so a partial report is never mistaken
/// for a clean one.
fn access(s: &InstanceSnapshot) -> Vec<Finding> {
    s.gaps
        .iter()
        .map(|gap| {
            let blinded: Vec<&str> = CATALOG
                .iter()
                .filter(|c| c.needs.contains(&gap.data))
                .map(|c| c.id)
                .collect();
            Finding::new(
                "PROM-900",
                format!("namespace/{}", s.instance.namespace),
                vec![format!(
                    "could not read {}: {}",
                    gap.data.describe(),
                    gap.reason
                )],
                format!(
                    "These checks ran without that data and may miss problems: {}.",
                    blinded.join(", ")
                ),
                format!(
                    "ask an admin for read access to {}; check with `{}`",
                    gap.data.describe(),
                    gap.data.can_i(&s.instance.namespace)
                ),
            )
        })
        .collect()
}

/// Prometheus's multi-line errors (`yaml: unmarshal errors:\n  line 5: …`) on one line, for sentences.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `pod/x [prometheus-server, previous run] line 12: <quoted line>`.
pub(crate) fn quote_hit(log: &ContainerLog, hit: &Hit) -> String {
    let run = if log.previous { ", previous run" } else { "" };
    format!(
        "pod/{} [{}{run}] line {}: {}",
        log.pod, log.container, hit.line_no, hit.quote
    )
}

/// The last hit of each pod/container log in `hits` whose kind is in `kinds`, with nothing of `cleared` after it:
/// "is this still the state?" (a 403 followed by a successful reload is history).
pub(crate) fn still_current<'a>(
    hits: &[(&'a ContainerLog, Hit)],
    kinds: &[crate::logscan::Kind],
    cleared: &[crate::logscan::Kind],
) -> Option<(&'a ContainerLog, Hit)> {
    let last = hits
        .iter()
        .rev()
        .find(|(_, h)| kinds.contains(&h.kind) || cleared.contains(&h.kind))?;
    kinds
        .contains(&last.1.kind)
        .then(|| (last.0, last.1.clone()))
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Test snapshots built from the YAML fixtures in tests/fixtures/doctor/ through the same assembly as
    //! `--from-dump`, so a fixture is also a valid dump.
    use crate::doctor::snapshot::{ContainerLog, InstanceSnapshot, Objects, assemble};

    pub const CHART: &str = include_str!("../../../tests/fixtures/doctor/chart-deploy.yaml");
    pub const KPS: &str = include_str!("../../../tests/fixtures/doctor/kps-sts.yaml");
    pub const HANDMADE: &str = include_str!("../../../tests/fixtures/doctor/handmade.yaml");

    /// The only instance of a fixture, with logs attached to its first pod.
    pub fn instance(yaml: &str, logs: &[(&str, bool, &str)]) -> InstanceSnapshot {
        let mut objects = Objects::from_yaml(yaml).expect("fixture parses");
        let pod = objects
            .inventory
            .pods
            .first()
            .and_then(|p| p.metadata.name.clone())
            .unwrap_or_default();
        for (container, previous, text) in logs {
            objects.logs.push(ContainerLog {
                pod: pod.clone(),
                container: container.to_string(),
                previous: *previous,
                text: text.to_string(),
            });
        }
        let mut all = assemble(&objects);
        assert_eq!(all.len(), 1, "fixture has one instance");
        all.remove(0)
    }

    /// The fixture without the list items `- ITEM` (at any indentation).
    pub fn without_item(yaml: &str, item: &str) -> String {
        yaml.lines()
            .filter(|l| l.trim() != format!("- {item}"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// The fixture with `- NEW` added after every list item `- AFTER`, at the same indentation.
    pub fn with_item_after(yaml: &str, after: &str, new: &str) -> String {
        let mut out = String::new();
        for l in yaml.lines() {
            out.push_str(l);
            out.push('\n');
            if l.trim() == format!("- {after}") {
                let indent = &l[..l.len() - l.trim_start().len()];
                out.push_str(&format!("{indent}- {new}\n"));
            }
        }
        out
    }

    pub fn ids(findings: &[crate::doctor::catalog::Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    pub fn log(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/doctor/logs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("log fixture")
    }
}
