//! The doctor report: findings grouped by instance, most severe first; rendered for a person (with colour on a
//! terminal) or as JSON with a stable schema (`output::json_document`: `kind: DoctorReport`, `apiVersion`); the exit code
//! policy (`--fail-on`); and `--list-checks`. Pure: rendering returns strings.

use crate::cli::FailOn;
use crate::discover::{self, Flavour};
use crate::doctor::catalog::{self, Check, Finding, Severity};
use crate::doctor::checks;
use crate::doctor::snapshot::Snapshot;
use crate::error::ExitCode;
use serde::Serialize;

/// The JSON document kinds of `doctor` and `doctor --list-checks`.
pub const REPORT_KIND: &str = "DoctorReport";
pub const CHECK_LIST_KIND: &str = "DoctorCheckList";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Where the data came from (`namespace monitoring`, `dump ./dir`).
    pub source: String,
    pub summary: Summary,
    pub instances: Vec<InstanceReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub instances: usize,
    pub critical: usize,
    pub warning: usize,
    pub info: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceReport {
    pub namespace: String,
    pub name: String,
    /// `chart`, `operator` or `plain`.
    pub flavour: &'static str,
    /// The argument naming it for the other verbs.
    pub target: String,
    /// One line: how it was installed, its workloads and pods.
    pub description: String,
    /// Which chart and version rendered it, where its desired state lives (Helm, Argo CD, Flux, kubectl apply) and
    /// how that was told (`src/install/`, issue 18).
    pub install: crate::install::Origin,
    /// The pods checked: the live ones (a pod shutting down is never checked as the server).
    pub pods: Vec<String>,
    /// Its pods shutting down (`deletionTimestamp` set), named in the description, not checked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub terminating: Vec<String>,
    /// `problems` (a warning or critical finding), `unknown` (none, but some data could not be read: PROM-900), or
    /// `healthy` (everything was read and nothing found). A gap never makes an instance healthy.
    pub result: &'static str,
    /// Most severe first; the first one is the one to act on.
    pub findings: Vec<Finding>,
}

/// The one-word result of an instance from its findings (see [`InstanceReport::result`]).
pub fn result_of(findings: &[Finding]) -> &'static str {
    if findings.iter().any(|f| f.severity >= Severity::Warning) {
        "problems"
    } else if findings.iter().any(|f| f.id == GAP_CHECK) {
        "unknown"
    } else {
        "healthy"
    }
}

/// The check that names data which could not be read.
const GAP_CHECK: &str = "PROM-900";

/// `doctor` over several clusters (`--context` more than once, `--all-contexts`, `--context-glob`, several
/// `--from-dump`): the same `DoctorReport` document, with a summary over every cluster and a `clusters` list in place
/// of the top-level `source`/`instances` of a one-cluster report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetReport {
    /// `3 contexts of /home/me/.kube/config`, `2 dumps`.
    pub source: String,
    pub summary: FleetSummary,
    /// In the order the clusters were named (kubeconfig order for `--all-contexts`).
    pub clusters: Vec<ClusterReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetSummary {
    pub clusters: usize,
    /// Clusters that could not be checked (their `error` says why).
    pub unreachable: usize,
    pub instances: usize,
    pub critical: usize,
    pub warning: usize,
    pub info: usize,
}

/// One cluster of a fleet report: its one-cluster report (`source`, `summary`, `instances`), or the error that kept
/// it from being checked.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterReport {
    /// The kubeconfig context, or the dump directory.
    pub context: String,
    /// The API server URL (absent for a dump).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The API server's `gitVersion`, when it answered `/version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// How long this cluster took, from its start to its report or error.
    pub elapsed_ms: u64,
    #[serde(flatten)]
    pub report: Option<Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ClusterError>,
}

/// Why a cluster could not be checked: the error's sentence and its hint, as the one-cluster run would print them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterError {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl FleetReport {
    /// The fleet report of per-cluster results, summed.
    pub fn new(source: String, clusters: Vec<ClusterReport>) -> Self {
        let mut summary = FleetSummary {
            clusters: clusters.len(),
            ..Default::default()
        };
        for c in &clusters {
            match &c.report {
                Some(r) => {
                    summary.instances += r.summary.instances;
                    summary.critical += r.summary.critical;
                    summary.warning += r.summary.warning;
                    summary.info += r.summary.info;
                }
                None => summary.unreachable += 1,
            }
        }
        FleetReport {
            source,
            summary,
            clusters,
        }
    }
}

/// A fleet's exit code: 3 when a cluster could not be checked (the others are still reported), else the one-cluster
/// rule over every cluster's findings (1 when one reaches `--fail-on`, else 0).
pub fn fleet_exit_code(fleet: &FleetReport, fail_on: FailOn) -> ExitCode {
    if fleet.summary.unreachable > 0 {
        return ExitCode::Cluster;
    }
    let any = fleet
        .clusters
        .iter()
        .filter_map(|c| c.report.as_ref())
        .any(|r| exit_code(r, fail_on) == ExitCode::Findings);
    if any {
        ExitCode::Findings
    } else {
        ExitCode::Ok
    }
}

/// A fleet report as the JSON document `-o json` prints (kind `DoctorReport`).
pub fn render_fleet_json(fleet: &FleetReport) -> crate::Result<String> {
    let doc = crate::output::json_document(REPORT_KIND, fleet)?;
    Ok(serde_json::to_string_pretty(&doc).unwrap_or_default())
}

/// Run every check on every instance.
pub fn build(snapshot: &Snapshot) -> Report {
    let mut summary = Summary {
        instances: snapshot.instances.len(),
        ..Default::default()
    };
    let instances = snapshot
        .instances
        .iter()
        .map(|s| {
            let findings = checks::run(s);
            for f in &findings {
                match f.severity {
                    Severity::Critical => summary.critical += 1,
                    Severity::Warning => summary.warning += 1,
                    Severity::Info => summary.info += 1,
                }
            }
            InstanceReport {
                namespace: s.instance.namespace.clone(),
                name: s.instance.name.clone(),
                flavour: match s.instance.flavour {
                    Flavour::Chart { .. } => "chart",
                    Flavour::Operator { .. } => "operator",
                    Flavour::Plain => "plain",
                },
                target: s.target(),
                description: discover::describe(&s.instance),
                install: s.instance.origin.clone(),
                pods: s.instance.pods.iter().map(|p| p.name.clone()).collect(),
                terminating: s
                    .instance
                    .terminating
                    .iter()
                    .map(|p| p.name.clone())
                    .collect(),
                result: result_of(&findings),
                findings,
            }
        })
        .collect();
    Report {
        source: snapshot.source.clone(),
        summary,
        instances,
    }
}

/// 0 when nothing reaches `--fail-on`, 1 otherwise. Tool errors never get here (they are 2+).
pub fn exit_code(report: &Report, fail_on: FailOn) -> ExitCode {
    let threshold = match fail_on {
        FailOn::Warning => Severity::Warning,
        FailOn::Critical => Severity::Critical,
    };
    let hit = report
        .instances
        .iter()
        .flat_map(|i| &i.findings)
        .any(|f| f.severity >= threshold);
    if hit {
        ExitCode::Findings
    } else {
        ExitCode::Ok
    }
}

fn paint(color: bool, text: &str, ansi: &str) -> String {
    if color {
        format!("\x1b[{ansi}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn severity_label(color: bool, s: Severity) -> String {
    let (text, ansi) = match s {
        Severity::Critical => ("CRITICAL", "1;31"),
        Severity::Warning => ("WARNING ", "33"),
        Severity::Info => ("INFO    ", "36"),
    };
    paint(color, text, ansi)
}

/// The report for a person. Everything in it may quote the cluster (log lines, event messages, Prometheus answers,
/// object names), so every field is escaped (crate::escape) before it is painted: a log line carrying terminal
/// sequences is shown, never obeyed.
pub fn render_human(report: &Report, color: bool) -> String {
    use crate::escape::escape;
    let mut out = String::new();
    if report.instances.is_empty() {
        out.push_str(&format!(
            "No Prometheus server found in {}.\n",
            escape(&report.source)
        ));
        return out;
    }
    for inst in &report.instances {
        out.push_str(&paint(color, &escape(&inst.description), "1"));
        out.push('\n');
        if inst.findings.is_empty() {
            out.push_str("  no problems found\n\n");
            continue;
        }
        if inst.result == "unknown" {
            let unread = inst.findings.iter().filter(|f| f.id == GAP_CHECK).count();
            out.push_str(&format!(
                "  result: unknown: nothing wrong in what was read, but {unread} source{} could not be read ({GAP_CHECK} \
                 below)\n",
                if unread == 1 { "" } else { "s" }
            ));
        }
        for f in &inst.findings {
            out.push_str(&format!(
                "  {} {}  {}  [{}]\n",
                severity_label(color, f.severity),
                f.id,
                f.title,
                escape(&f.object)
            ));
            for e in &f.evidence {
                out.push_str(&format!("      seen:  {}\n", escape(e)));
            }
            out.push_str(&format!("      means: {}\n", escape(&f.meaning)));
            out.push_str(&format!("      fix:   {}\n", escape(&f.fix)));
        }
        out.push('\n');
    }
    let s = &report.summary;
    out.push_str(&format!(
        "{} critical, {} warning, {} info in {} instance{} ({}).\n",
        s.critical,
        s.warning,
        s.info,
        s.instances,
        if s.instances == 1 { "" } else { "s" },
        escape(&report.source)
    ));
    out
}

/// The report as the JSON document `-o json` prints.
pub fn render_json(report: &Report) -> crate::Result<String> {
    let doc = crate::output::json_document(REPORT_KIND, report)?;
    Ok(serde_json::to_string_pretty(&doc).unwrap_or_default())
}

#[derive(Serialize)]
struct CheckList {
    checks: Vec<Check>,
}

/// `--list-checks`: the catalog, by id.
pub fn render_catalog(json: bool) -> crate::Result<String> {
    let checks: Vec<Check> = catalog::by_id().into_iter().copied().collect();
    if json {
        let doc = crate::output::json_document(CHECK_LIST_KIND, &CheckList { checks })?;
        return Ok(serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!(
            "{}  {:<8}  {:<11}  {}\n",
            c.id,
            c.severity.as_str(),
            c.family.as_str(),
            c.title
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::catalog::CATALOG;
    use crate::doctor::checks::fixtures::{CHART, HANDMADE, instance, log};

    fn snapshot(instances: Vec<crate::doctor::snapshot::InstanceSnapshot>) -> Snapshot {
        Snapshot {
            instances,
            source: "namespace monitoring".into(),
        }
    }

    #[test]
    fn json_matches_the_human_report() {
        let disk = instance(
            CHART,
            &[("prometheus-server", false, &log("v2-chart-disk-full.log"))],
        );
        let report = build(&snapshot(vec![disk]));
        let json: serde_json::Value = serde_json::from_str(&render_json(&report).unwrap()).unwrap();
        assert_eq!(json["kind"], REPORT_KIND);
        assert_eq!(json["apiVersion"], crate::output::API_VERSION);
        let findings = json["instances"][0]["findings"].as_array().unwrap();
        assert_eq!(findings[0]["id"], "PROM-201");
        assert_eq!(findings[0]["severity"], "critical");
        let human = render_human(&report, false);
        // Every finding of the JSON appears in the human text with its fix, in the same order.
        let mut at = 0;
        for f in findings {
            let id = f["id"].as_str().unwrap();
            let pos = human[at..]
                .find(id)
                .map(|p| p + at)
                .unwrap_or_else(|| panic!("{id} missing or out of order"));
            assert!(human.contains(f["fix"].as_str().unwrap()));
            at = pos;
        }
        assert_eq!(json["summary"]["critical"], 1);
        assert!(
            human.contains("1 critical, 0 warning, 1 info in 1 instance (namespace monitoring)."),
            "{human}"
        );
    }

    #[test]
    fn exit_codes_follow_fail_on() {
        let healthy = build(&snapshot(vec![instance(CHART, &[])])); // only PROM-206 (info)
        assert_eq!(exit_code(&healthy, FailOn::Warning), ExitCode::Ok);
        let handmade = build(&snapshot(vec![instance(HANDMADE, &[])])); // warnings only
        assert_eq!(exit_code(&handmade, FailOn::Critical), ExitCode::Ok);
        assert_eq!(exit_code(&handmade, FailOn::Warning), ExitCode::Findings);
        let disk = build(&snapshot(vec![instance(
            CHART,
            &[("prometheus-server", false, &log("v2-chart-disk-full.log"))],
        )]));
        assert_eq!(exit_code(&disk, FailOn::Critical), ExitCode::Findings);
    }

    #[test]
    fn colour_only_when_asked() {
        let report = build(&snapshot(vec![instance(HANDMADE, &[])]));
        assert!(!render_human(&report, false).contains('\x1b'));
        assert!(render_human(&report, true).contains("\x1b[33mWARNING"));
    }

    #[test]
    fn quoted_log_lines_cannot_drive_the_terminal() {
        let hostile = "ts=x level=error msg=\"\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[Hno space left on device\" err=\"write /prometheus/wal/00000001: no space left on device\"\n";
        let disk = instance(CHART, &[("prometheus-server", false, hostile)]);
        let report = build(&snapshot(vec![disk]));
        assert_eq!(report.instances[0].findings[0].id, "PROM-201");
        for color in [false, true] {
            let human = render_human(&report, color);
            assert!(human.contains("\\u001b]0;owned\\u0007"), "{human}");
            // Only our own colour sequences remain.
            let stripped = human
                .replace("\u{1b}[0m", "")
                .replace("\u{1b}[1;31m", "")
                .replace("\u{1b}[33m", "")
                .replace("\u{1b}[36m", "")
                .replace("\u{1b}[1m", "");
            assert!(!stripped.contains('\u{1b}'), "{stripped:?}");
            assert!(!stripped.contains('\u{7}'), "{stripped:?}");
        }
        // The JSON keeps the exact text.
        let json: serde_json::Value = serde_json::from_str(&render_json(&report).unwrap()).unwrap();
        assert!(json.to_string().contains("\\u001b]0;owned"));
    }

    #[test]
    fn catalog_lists_every_check() {
        let text = render_catalog(false).unwrap();
        assert_eq!(text.lines().count(), CATALOG.len());
        let json: serde_json::Value = serde_json::from_str(&render_catalog(true).unwrap()).unwrap();
        assert_eq!(json["checks"].as_array().unwrap().len(), CATALOG.len());
    }
}
