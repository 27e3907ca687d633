//! Configuration drift (issue 19 item 1): the configuration Prometheus runs (`GET /api/v1/status/config`) against
//! what its ConfigMap says now, compared after normalising both; since when (the ConfigMap's last change, the running
//! one's load time from runtimeinfo); why nothing applied it (no reloader, a failing reloader, a `subPath` mount, a
//! rejected reload, auto-reload); and the exact fix. Pure: the snapshot in, findings out.
//!
//! Normalising: Prometheus prints its configuration with every default filled in, durations in its own format
//! (`90s` → `1m30s`) and secrets as `<secret>` (prometheus/common config.Secret MarshalYAML). So the comparison asks
//! whether everything the source sets is what runs (defaults the source leaves out are not compared), matches scrape
//! jobs by `job_name`, and compares durations by value. Values are never quoted in a finding (a configuration holds
//! credentials); only the paths that differ are.

use super::{quote_hit, still_current};
use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::{InstanceSnapshot, LiveStatus};
use crate::logscan::Kind;
use serde_json::Value;

/// How long after a ConfigMap change a working reload sidecar may still be catching up: the kubelet's sync period
/// (1 min by default, plus its cache TTL) and the sidecar's own delay.
const SYNC_GRACE_SECS: i64 = 120;

/// Where the configuration differs, as paths: the one comparison, shared with reload's proof by content
/// (crate::reloading::content, moved there from here so both use one rule).
pub use crate::reloading::content::differences;
#[cfg(test)]
use crate::reloading::content::duration_ms;

/// Seconds between two RFC 3339 times, when both parse.
fn seconds_between(from: &str, to: &str) -> Option<i64> {
    let from = from.parse::<k8s_openapi::jiff::Timestamp>().ok()?;
    let to = to.parse::<k8s_openapi::jiff::Timestamp>().ok()?;
    Some(to.as_second() - from.as_second())
}

/// Whether the server reloads its configuration itself: `--config.auto-reload` (3.12+), the older
/// `--enable-feature=auto-reload-config` (3.0–3.11), or `/api/v1/features` `prometheus.auto_reload_config` (3.9+).
pub(crate) fn auto_reload(s: &InstanceSnapshot) -> Option<String> {
    for l in &s.live {
        if let Some(true) = l
            .features
            .as_ref()
            .and_then(|f| f.pointer("/prometheus/auto_reload_config"))
            .and_then(Value::as_bool)
        {
            return Some(format!(
                "pod/{} GET /api/v1/features: \"auto_reload_config\": true",
                l.pod
            ));
        }
        if let Some(flags) = &l.flags {
            if flags.get("config.auto-reload").map(String::as_str) == Some("true") {
                return Some(format!(
                    "pod/{} GET /api/v1/status/flags: \"config.auto-reload\": \"true\"",
                    l.pod
                ));
            }
            if flags
                .get("enable-feature")
                .is_some_and(|v| v.split(',').any(|f| f == "auto-reload-config"))
            {
                return Some(format!(
                    "pod/{} GET /api/v1/status/flags: \"enable-feature\" includes auto-reload-config",
                    l.pod
                ));
            }
        }
    }
    let args = &s.instance.args;
    args.iter()
        .any(|a| a == "--config.auto-reload" || a == "--config.auto-reload=true")
        .then(|| {
            format!(
                "container {} args include `--config.auto-reload`",
                s.instance.container
            )
        })
}

/// What differs from its source: the configuration file (PROM-305/306) or the rule files (PROM-307/308,
/// `rule_drift`). Why nothing applied it and the fix are the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum What {
    Config,
    RuleFiles,
}

impl What {
    /// The finding ids: stale (warning), rejected (critical).
    fn ids(self) -> (&'static str, &'static str) {
        match self {
            What::Config => ("PROM-305", "PROM-306"),
            What::RuleFiles => ("PROM-307", "PROM-308"),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            What::Config => "configuration",
            What::RuleFiles => "rule files",
        }
    }
}

/// One difference found for one pod, before the reason is known.
pub(crate) struct Subject<'a> {
    pub what: What,
    /// kubectl style: `configmap/NAME key K` (several, comma-separated).
    pub source_name: &'a str,
    /// When the source last changed, RFC 3339.
    pub changed: Option<&'a str>,
    /// The mount with `subPath` that holds the source, as evidence, and its mount path.
    pub sub_path: Option<(String, String)>,
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let Some(source) = s.config_text.as_deref().or(s.generated_config.as_deref()) else {
        return vec![];
    };
    let Some(config) = s.instance.config.as_ref() else {
        return vec![];
    };
    let Some(source_name) = s.config_from.clone() else {
        return vec![];
    };
    let mut out = Vec::new();
    for live in &s.live {
        let Some(running) = live.config_yaml.as_deref() else {
            continue;
        };
        let diffs = match differences(source, running) {
            Ok(d) => d,
            // The source does not parse: PROM-302/303 and the reload itself say why; nothing to compare.
            Err(_) => continue,
        };
        if diffs.is_empty() {
            continue;
        }
        let shown: Vec<&str> = diffs.iter().take(5).map(String::as_str).collect();
        let more = diffs.len().saturating_sub(shown.len());
        let evidence = vec![format!(
            "pod/{} GET /api/v1/status/config differs from {source_name} at {}{}",
            live.pod,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )];
        let sub_path = config.sub_path.as_ref().map(|sub_path| {
            (
                format!(
                    "container {} mounts volume {} at {} with subPath {sub_path}",
                    s.instance.container, config.volume, config.mount_path
                ),
                config.mount_path.clone(),
            )
        });
        out.extend(unapplied(
            s,
            live,
            Subject {
                what: What::Config,
                source_name: &source_name,
                changed: s.config_changed.as_deref(),
                sub_path,
            },
            evidence,
        ));
    }
    out
}

/// A pod runs something else than its source says: since when, why nothing applied it (a `subPath` mount, a rejected
/// reload, a failing reloader, auto-reload, no reloader, a quiet sidecar), and the fix. `None` when the change is
/// younger than a working reloader's sync (still on its way: no claim).
pub(crate) fn unapplied(
    s: &InstanceSnapshot,
    live: &LiveStatus,
    subject: Subject<'_>,
    mut evidence: Vec<String>,
) -> Option<Finding> {
    let Subject {
        what,
        source_name,
        changed,
        sub_path,
    } = subject;
    let (stale_id, rejected_id) = what.ids();
    let noun = what.noun();
    // One sentence per subject: "the configuration was", "the rules were".
    let loaded_what = match what {
        What::Config => "the running configuration was",
        What::RuleFiles => "the running rules were",
    };
    let runtime = live.runtimeinfo.as_ref();
    let loaded_at = runtime
        .and_then(|r| r.get("lastConfigTime"))
        .and_then(Value::as_str);
    // "Now": the server's own clock (3.x runtimeinfo `serverTime`), else when doctor asked (2.x has no serverTime).
    let server_time = runtime
        .and_then(|r| r.get("serverTime"))
        .and_then(Value::as_str)
        .or(live.asked_at.as_deref());
    let rejected = runtime
        .and_then(|r| r.get("reloadConfigSuccess"))
        .and_then(Value::as_bool)
        == Some(false);
    // Rule files are loaded with the configuration (one reload), so `lastConfigTime` dates both.
    match (changed, loaded_at) {
        (Some(changed), Some(loaded)) => evidence.push(format!(
            "{source_name} last changed {changed}; {loaded_what} loaded {loaded} (runtimeinfo lastConfigTime)"
        )),
        (Some(changed), None) => evidence.push(format!("{source_name} last changed {changed}")),
        (None, Some(loaded)) => evidence.push(format!(
            "{loaded_what} loaded {loaded} (runtimeinfo lastConfigTime)"
        )),
        (None, None) => {}
    }
    let reload = s.prom_command("reload");
    let hits = s.reloader_hits();
    let reloader_failing = still_current(
        &hits,
        &[
            Kind::SidecarReloadRejected,
            Kind::SidecarReloadUnreachable,
            Kind::SidecarReloadTls,
        ],
        &[Kind::SidecarReloadOk],
    );
    let lifecycle = super::lifecycle::lifecycle_enabled(s);
    let lifecycle_off = lifecycle.as_ref().is_some_and(|(on, _)| !on);
    let auto = auto_reload(s);
    // A change younger than the kubelet's sync period (plus a reloader's or auto-reload's own delay) is still on its
    // way; `unknown_is_young` says what to assume when the times are not known.
    let young = |unknown_is_young: bool| match (changed, server_time) {
        (Some(c), Some(now)) => seconds_between(c, now).is_some_and(|d| d < SYNC_GRACE_SECS),
        _ => unknown_is_young,
    };
    let (id, why, fix) = if let Some((mount, mount_path)) = sub_path {
        evidence.push(mount);
        (
            stale_id,
            "The source is mounted with `subPath`, and a subPath mount never receives ConfigMap updates \
             (Kubernetes docs, ConfigMaps): the file in the pod is still the old one, so no reload can apply \
             the change."
                .to_string(),
            format!(
                "mount the ConfigMap as a directory (drop `subPath` on {mount_path}), then `kubectl rollout restart` \
                 the workload; until then a restart is the only way the pod sees the new file"
            ),
        )
    } else if rejected {
        if let Some((_, h)) = s.first_hit(Kind::ReloadFailed) {
            evidence.push(format!(
                "Prometheus: {}",
                super::one_line(&h.detail.unwrap_or(h.quote))
            ));
        }
        evidence.push(format!(
            "pod/{} GET /api/v1/status/runtimeinfo: \"reloadConfigSuccess\": false",
            live.pod
        ));
        (
            rejected_id,
            match what {
                What::Config => "The changed configuration was rejected: Prometheus keeps running the previous one, \
                                 and the change will not apply until the source is fixed."
                    .to_string(),
                What::RuleFiles => "The changed rule files were rejected: Prometheus keeps running the previous \
                                    rules, and the change will not apply until the source is fixed."
                    .to_string(),
            },
            format!("fix {source_name} (see PROM-301 for the error), then `{reload}`"),
        )
    } else if let Some((log, hit)) = reloader_failing {
        evidence.push(quote_hit(log, &hit));
        (
            stale_id,
            format!(
                "The reload sidecar saw the change but its reloads fail (its own finding above says why), so \
                 Prometheus still runs the old {noun}."
            ),
            format!("fix the sidecar as its finding says; apply this change now with `{reload}`"),
        )
    } else if let Some(auto) = auto {
        evidence.push(auto);
        // The server re-reads the file every --config.auto-reload-interval (30 s by default).
        if young(false) {
            return None;
        }
        (
            stale_id,
            format!(
                "Prometheus reloads its configuration by itself (auto-reload), yet what it runs is not \
                 the source's {noun}: the files it reads are not the ConfigMap's (another path, a stale mount) or the new \
                 ones failed to load."
            ),
            format!("compare the files in the pod with the ConfigMap, then `{reload}`"),
        )
    } else if s.reloader().is_none() {
        if let Some((_, w)) = &lifecycle {
            evidence.push(w.clone());
        }
        evidence.push(format!(
            "no reload sidecar in the pod (containers: {})",
            s.pod_spec()
                .map(|p| p
                    .containers
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ));
        (
            stale_id,
            format!(
                "Nothing in this install reloads Prometheus: the kubelet updates the files, but Prometheus reads them \
                 only at start, on SIGHUP or on POST /-/reload, so it keeps running the old {noun}."
            ),
            if lifecycle_off {
                s.prom_command("reload --enable-lifecycle")
            } else {
                reload
            },
        )
    } else {
        // A working sidecar: a change younger than the kubelet's sync period is still on its way.
        if young(true) {
            return None;
        }
        (
            stale_id,
            format!(
                "The reload sidecar logged no failure, yet what Prometheus runs is not the \
                 source's {noun}: the sidecar watches another directory than Prometheus reads, or the change never reached the pod."
            ),
            format!("check the sidecar's watched directory against --config.file, then `{reload}`"),
        )
    };
    Some(Finding::new(
        id,
        format!("pod/{}", live.pod),
        evidence,
        why,
        fix,
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/doctor/drift/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn the_source_matches_what_real_prometheus_2_and_3_print_for_it() {
        let source = fixture("source.yml");
        for running in ["running-2.42.yml", "running-3.16.yml"] {
            assert_eq!(
                differences(&source, &fixture(running)).unwrap(),
                Vec::<String>::new(),
                "{running}"
            );
        }
    }

    #[test]
    fn an_edit_is_found_by_path_and_no_value_is_quoted() {
        let running = fixture("running-2.42.yml");
        let edited = fixture("source.yml")
            .replace("scrape_interval: 90s", "scrape_interval: 30s")
            .replace("password: hunter2", "password: changed");
        let d = differences(&edited, &running).unwrap();
        assert_eq!(d, ["scrape_configs[job=node].scrape_interval"]);
        let added = format!(
            "{}  - job_name: blackbox\n    static_configs:\n      - targets: ['x:1']\n",
            fixture("source.yml")
        );
        assert_eq!(
            differences(&added, &running).unwrap(),
            ["scrape_configs[job=blackbox] (not running)"]
        );
        let removed = fixture("source.yml").replace("job_name: prometheus", "job_name: self");
        let d = differences(&removed, &running).unwrap();
        assert!(
            d.contains(&"scrape_configs[job=prometheus] (removed from the source)".to_string()),
            "{d:?}"
        );
    }

    use crate::doctor::checks::fixtures::{CHART, ids, instance, log};

    /// chart fixture whose Prometheus runs the ConfigMap's configuration with one edit undone (the ConfigMap now says
    /// `scrape_interval: 30s`, Prometheus still runs 15s), with `runtime` as its runtimeinfo.
    fn drifted(logs: &[(&str, bool, &str)], runtime: Value) -> InstanceSnapshot {
        let mut s = instance(CHART, logs);
        let source = fixture("source.yml");
        assert!(source.contains("scrape_interval: 15s"), "{source}");
        s.config_text = Some(source.replacen("scrape_interval: 15s", "scrape_interval: 30s", 1));
        s.config_changed = Some("2026-11-21T10:00:00Z".into());
        let pod = s.instance.pods[0].name.clone();
        s.live.push(LiveStatus {
            pod,
            config_yaml: Some(fixture("running-2.42.yml")),
            runtimeinfo: Some(runtime),
            ..Default::default()
        });
        s
    }

    pub(crate) fn ok_runtime() -> Value {
        serde_json::json!({"reloadConfigSuccess": true, "lastConfigTime": "2026-11-21T09:00:00Z", "serverTime": "2026-11-21T10:30:00Z"})
    }

    pub(crate) fn without_sidecar(s: &mut InstanceSnapshot) {
        let keep = s.instance.container.clone();
        for d in &mut s.deployments {
            if let Some(spec) = d.spec.as_mut().and_then(|d| d.template.spec.as_mut()) {
                spec.containers.retain(|c| c.name == keep);
            }
        }
        for p in &mut s.pods {
            if let Some(spec) = p.spec.as_mut() {
                spec.containers.retain(|c| c.name == keep);
            }
        }
    }

    #[test]
    fn a_reloader_less_install_after_an_edit_is_prom_305_fixed_by_reload() {
        let mut s = drifted(&[], ok_runtime());
        without_sidecar(&mut s);
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-305"]);
        assert!(
            f[0].evidence[0].contains("global.scrape_interval"),
            "{:?}",
            f[0].evidence
        );
        assert!(
            f[0].evidence[1].contains("2026-11-21T10:00:00Z")
                && f[0].evidence[1].contains("2026-11-21T09:00:00Z")
        );
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.contains("no reload sidecar"))
        );
        assert_eq!(
            f[0].fix,
            "kubectl prom reload deploy/prometheus-server -n monitoring"
        );
        assert!(
            !f[0].evidence.concat().contains("30s"),
            "values are never quoted"
        );
    }

    #[test]
    fn a_failing_sidecar_a_rejected_reload_and_a_young_change_are_told_apart() {
        let f = check(&drifted(
            &[(
                "prometheus-server-configmap-reload",
                false,
                &log("sidecar-config-reloader-0.85-401.log"),
            )],
            ok_runtime(),
        ));
        assert_eq!(ids(&f), ["PROM-305"]);
        assert!(f[0].evidence.iter().any(|e| e.contains("401 Unauthorized")));
        let mut runtime = ok_runtime();
        runtime["reloadConfigSuccess"] = false.into();
        let f = check(&drifted(&[], runtime));
        assert_eq!(ids(&f), ["PROM-306"]);
        // A working sidecar and a change 30 s old: still on its way, no claim.
        let mut young = ok_runtime();
        young["serverTime"] = "2026-11-21T10:00:30Z".into();
        assert!(check(&drifted(&[], young)).is_empty());
        // 2.x has no serverTime: when doctor asked decides, and an old change behind a quiet sidecar is drift.
        let mut v2 = ok_runtime();
        v2.as_object_mut().unwrap().remove("serverTime");
        let mut quiet = drifted(&[], v2.clone());
        quiet.live[0].asked_at = Some("2026-11-21T10:30:00Z".into());
        assert_eq!(ids(&check(&quiet)), ["PROM-305"]);
        quiet.live[0].asked_at = Some("2026-11-21T10:00:30Z".into());
        assert!(check(&quiet).is_empty());
        // Nothing differs: nothing to say.
        let mut same = drifted(&[], ok_runtime());
        same.config_text = same.live[0].config_yaml.clone();
        assert!(check(&same).is_empty());
    }

    #[test]
    fn durations_compare_by_value() {
        assert_eq!(duration_ms("1m30s"), Some(90_000));
        assert_eq!(duration_ms("90s"), Some(90_000));
        assert_eq!(duration_ms("15d"), duration_ms("360h"));
        assert_eq!(duration_ms("abc"), None);
        assert_eq!(duration_ms(""), None);
    }
}
