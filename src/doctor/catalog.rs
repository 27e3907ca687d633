//! The check catalog: every check's stable id, severity, family, title and the data it reads; and the `Finding` type
//! checks return. The README's catalog, `--list-checks` and the JSON all come from [`CATALOG`].

use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A group of related checks (one file under `src/doctor/checks/` each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Lifecycle,
    Disk,
    Config,
    Permissions,
    Serving,
    Hygiene,
    Access,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Lifecycle => "lifecycle",
            Family::Disk => "disk",
            Family::Config => "config",
            Family::Permissions => "permissions",
            Family::Serving => "serving",
            Family::Hygiene => "hygiene",
            Family::Access => "access",
        }
    }
}

/// The kinds of data the gatherer reads are inspect's (checks name them in `needs`).
pub use crate::inspect::snapshot::Data;

/// One entry of the catalog.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub id: &'static str,
    pub severity: Severity,
    pub family: Family,
    pub title: &'static str,
    /// The data it reads; if any of it could not be read the check may miss the problem.
    pub needs: &'static [Data],
}

const fn check(
    id: &'static str,
    severity: Severity,
    family: Family,
    title: &'static str,
    needs: &'static [Data],
) -> Check {
    Check {
        id,
        severity,
        family,
        title,
        needs,
    }
}

use Data::*;
use Family::*;
use Severity::*;

/// Every check, causes before the symptoms they produce: the report sorts by severity, then by this order, so the
/// first finding of an instance is the one to act on (a full disk before the CrashLoopBackOff it causes, a missing
/// volume before the empty Service).
pub const CATALOG: &[Check] = &[
    check(
        "PROM-201",
        Critical,
        Disk,
        "Data volume is full (`no space left on device`)",
        &[Logs],
    ),
    check(
        "PROM-401",
        Critical,
        Permissions,
        "Prometheus may not write its data directory (`permission denied`)",
        &[Logs],
    ),
    check(
        "PROM-402",
        Critical,
        Permissions,
        "Two Prometheus processes share one data directory (TSDB lock held)",
        &[Logs],
    ),
    check(
        "PROM-502",
        Critical,
        Serving,
        "Pod cannot be created: a volumeMount names a volume that does not exist",
        &[Events],
    ),
    check(
        "PROM-302",
        Critical,
        Config,
        "Configuration rejected at startup",
        &[Logs],
    ),
    check(
        "PROM-301",
        Critical,
        Config,
        "Last configuration reload failed; the previous configuration is still running",
        &[Logs, PrometheusApi],
    ),
    // Issue 19: drift between the running configuration and its source (src/doctor/checks/drift.rs; evidence:
    // GET /api/v1/status/config against the ConfigMap, runtimeinfo, the reloader's log, the mount).
    check(
        "PROM-306",
        Critical,
        Config,
        "The changed configuration was rejected; Prometheus runs the previous one (drift)",
        &[ConfigMaps, Secrets, PrometheusApi],
    ),
    check(
        "PROM-308",
        Critical,
        Config,
        "The changed rule files were rejected; Prometheus runs the previous rules (rule-file drift)",
        &[ConfigMaps, Secrets, PrometheusApi],
    ),
    check(
        "PROM-101",
        Critical,
        Lifecycle,
        "Lifecycle API is off, so the reload sidecar's reloads are refused (403)",
        &[Logs, PrometheusApi],
    ),
    check(
        "PROM-104",
        Critical,
        Lifecycle,
        "Reload sidecar gets 404: its reload URL misses the route prefix",
        &[Logs],
    ),
    // Issue 19: the reload sidecar's other refusals, each told apart from its "have you set
    // --web.enable-lifecycle" hint (src/doctor/checks/reloader.rs; evidence: the sidecar's log line and reload URL).
    check(
        "PROM-106",
        Critical,
        Lifecycle,
        "Reload sidecar gets 401: /-/reload wants credentials the sidecar does not send",
        &[Logs],
    ),
    check(
        "PROM-107",
        Critical,
        Lifecycle,
        "Reload sidecar gets 400: it speaks plain HTTP to Prometheus's TLS port",
        &[Logs],
    ),
    check(
        "PROM-108",
        Critical,
        Lifecycle,
        "Reload sidecar gets 405: a `//-/reload` URL is redirected into a GET",
        &[Logs],
    ),
    check(
        "PROM-109",
        Critical,
        Lifecycle,
        "Reload sidecar's TLS fails (https:// to a plain port, or an untrusted certificate)",
        &[Logs],
    ),
    check(
        "PROM-504",
        Critical,
        Serving,
        "Probe paths do not match the route prefix",
        &[],
    ),
    check(
        "PROM-506",
        Critical,
        Serving,
        "Prometheus was OOMKilled",
        &[Pods],
    ),
    // Issue 19 item 5 (src/doctor/checks/wal.rs; evidence: the previous run's replay progress lines, its
    // termination, the probe events and the probe's settings). Before PROM-505: it is the cause of that crash loop.
    check(
        "PROM-509",
        Critical,
        Serving,
        "A probe kills Prometheus during its WAL replay (a restart loop that looks like a crash)",
        &[Logs, Pods],
    ),
    // Issue 16: the real API server refuses the StatefulSet the operator generates and the operator sets
    // `Reconciled=False` on the resource (src/doctor/checks/serving.rs). A missing volume mount is PROM-502.
    check(
        "PROM-510",
        Critical,
        Serving,
        "The operator cannot render this Prometheus (`Reconciled=False`)",
        &[],
    ),
    check(
        "PROM-505",
        Critical,
        Serving,
        "Prometheus is crash-looping",
        &[Pods, Logs],
    ),
    check(
        "PROM-507",
        Critical,
        Serving,
        "Prometheus container is not running",
        &[Pods],
    ),
    check(
        "PROM-508",
        Critical,
        Serving,
        "Prometheus's HTTP API does not answer, or answers something that is not Prometheus",
        &[PrometheusApi],
    ),
    check(
        "PROM-202",
        Critical,
        Disk,
        "Data volume is more than 95% used",
        &[VolumeStats],
    ),
    check(
        "PROM-501",
        Critical,
        Serving,
        "Service has no ready endpoints (ingress answers 503 `no healthy upstream`)",
        &[Services, Endpoints],
    ),
    check(
        "PROM-103",
        Warning,
        Lifecycle,
        "Reload sidecar gets 500: the config is bad (its lifecycle hint is misleading)",
        &[Logs],
    ),
    check(
        "PROM-203",
        Warning,
        Disk,
        "Data volume is more than 85% used",
        &[VolumeStats],
    ),
    check(
        "PROM-204",
        Warning,
        Disk,
        "Data volume will fill up before retention frees space",
        &[VolumeStats, PrometheusApi],
    ),
    check(
        "PROM-303",
        Warning,
        Config,
        "Unknown configuration key (did you mean …?)",
        &[Logs, ConfigMaps],
    ),
    check(
        "PROM-304",
        Warning,
        Config,
        "A rule file was rejected",
        &[Logs],
    ),
    check(
        "PROM-403",
        Warning,
        Permissions,
        "An initContainer chmods/chowns the data directory",
        &[],
    ),
    check(
        "PROM-404",
        Warning,
        Permissions,
        "Runs as non-root without fsGroup on a persistent data volume",
        &[],
    ),
    check(
        "PROM-503",
        Warning,
        Serving,
        "Probes are failing",
        &[Events],
    ),
    check(
        "PROM-305",
        Warning,
        Config,
        "Prometheus runs another configuration than its ConfigMap says (drift), and nothing will apply it",
        &[ConfigMaps, Secrets, PrometheusApi, Logs],
    ),
    check(
        "PROM-307",
        Warning,
        Config,
        "Prometheus runs other rules than its rule files say (rule-file drift), and nothing will apply them",
        &[ConfigMaps, Secrets, PrometheusApi, Logs],
    ),
    check(
        "PROM-105",
        Warning,
        Lifecycle,
        "Reload sidecar cannot reach Prometheus",
        &[Logs],
    ),
    check(
        "PROM-601",
        Warning,
        Hygiene,
        "Image `:latest` with `imagePullPolicy: Always`",
        &[],
    ),
    check(
        "PROM-603",
        Warning,
        Hygiene,
        "The WAL was corrupted and repaired",
        &[Logs],
    ),
    check(
        "PROM-211",
        Warning,
        Disk,
        "Data is on an emptyDir: it is lost with the pod",
        &[],
    ),
    check(
        "PROM-611",
        Warning,
        Hygiene,
        "Live state differs from the last `kubectl apply` on a field the verbs change",
        &[],
    ),
    check(
        "PROM-102",
        Info,
        Lifecycle,
        "Lifecycle API is off (hot reload needs it, or SIGHUP)",
        &[PrometheusApi],
    ),
    check(
        "PROM-205",
        Info,
        Disk,
        "StorageClass does not allow volume expansion",
        &[Pvcs, StorageClasses],
    ),
    check(
        "PROM-206",
        Info,
        Disk,
        "No size-based retention (`--storage.tsdb.retention.size`)",
        &[],
    ),
    check(
        "PROM-602",
        Info,
        Hygiene,
        "WAL compression is off",
        &[PrometheusApi],
    ),
    check(
        "PROM-604",
        Info,
        Hygiene,
        "Scrape targets are down",
        &[PrometheusApi],
    ),
    check(
        "PROM-605",
        Info,
        Hygiene,
        "The previous run ended uncleanly",
        &[Logs],
    ),
    check(
        "PROM-900",
        Info,
        Access,
        "Some data could not be read (the request and its status); checks that need it are unknown",
        &[],
    ),
];

/// The catalog entry of an id. Panics only on a typo in our own code (ids are constants), which the tests catch.
pub fn entry(id: &str) -> &'static Check {
    CATALOG
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("check id {id} is not in the catalog"))
}

/// Position in the catalog: the tie-breaker after severity when sorting findings.
pub fn rank(id: &str) -> usize {
    CATALOG
        .iter()
        .position(|c| c.id == id)
        .unwrap_or(usize::MAX)
}

/// One problem found on one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// The object it is about, kubectl style: `pod/prometheus-server-0`, `pvc/storage-volume-…`.
    pub object: String,
    /// What was seen, quoted (log lines, field values, events).
    pub evidence: Vec<String>,
    /// What it means.
    pub meaning: String,
    /// The exact command (or change) that fixes it.
    pub fix: String,
}

impl Finding {
    pub fn new(
        id: &'static str,
        object: impl Into<String>,
        evidence: Vec<String>,
        meaning: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        let c = entry(id);
        let fix = fix.into();
        // Every finding a unit test renders is held to the data rule (issue 14 class 7).
        #[cfg(test)]
        if let Some(why) = crate::doctor::checks::endangers_data(&fix) {
            panic!("{id}'s fix {why}: {fix}");
        }
        Finding {
            id,
            severity: c.severity,
            title: c.title,
            object: object.into(),
            evidence,
            meaning: meaning.into(),
            fix,
        }
    }
}

/// The catalog sorted by id, as `--list-checks` and the README list it (CATALOG itself is in report order).
pub fn by_id() -> Vec<&'static Check> {
    let mut sorted: Vec<&Check> = CATALOG.iter().collect();
    sorted.sort_by_key(|c| c.id);
    sorted
}

/// The catalog as the README's Markdown table (a unit test keeps the README equal to it).
pub fn markdown_table() -> String {
    let mut out = String::from("| id | severity | family | what it finds |\n|---|---|---|---|\n");
    for c in by_id() {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            c.id,
            c.severity.as_str(),
            c.family.as_str(),
            c.title
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let ids: BTreeSet<&str> = CATALOG.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), CATALOG.len());
        for id in ids {
            assert!(
                id.starts_with("PROM-") && id[5..].parse::<u16>().is_ok(),
                "{id}"
            );
        }
    }

    #[test]
    fn catalog_is_sorted_by_severity_so_rank_never_contradicts_it() {
        for pair in CATALOG.windows(2) {
            assert!(
                pair[0].severity >= pair[1].severity,
                "{} before {}",
                pair[0].id,
                pair[1].id
            );
        }
    }

    #[test]
    fn the_readme_catalog_is_current() {
        let readme = include_str!("../../README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's doctor check catalog is stale; replace it with:\n{table}"
        );
    }
}
