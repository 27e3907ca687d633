//! Configuration checks: a config rejected at startup, a failed last reload (with Prometheus's own error), unknown
//! keys with the likely intended name, and rejected rule files (prometheus-facts.md §1.1, §2.3).

use super::{one_line, quote_hit, still_current};
use crate::discover::ConfigSource;
use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::InstanceSnapshot;
use crate::logscan::Kind;

/// `field scarpe_interval not found in type config.ScrapeConfig` → (`scarpe_interval`, `config.ScrapeConfig`).
pub(crate) fn unknown_field(err: &str) -> Option<(String, String)> {
    let at = err.find("field ")?;
    let rest = &err[at + "field ".len()..];
    let (field, rest) = rest.split_once(" not found in type ")?;
    let ty: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '.' || *c == '_')
        .collect();
    Some((field.to_string(), ty))
}

/// The known key closest to an unknown one, if it is close enough to be a typo (promconfig's tables and distance).
pub(crate) fn did_you_mean(field: &str, ty: &str) -> Option<&'static str> {
    crate::promconfig::did_you_mean(field, &crate::promconfig::keys_of_type(ty))
}

fn configmap(s: &InstanceSnapshot) -> String {
    match s.instance.config.as_ref().map(|c| &c.source) {
        Some(ConfigSource::ConfigMap { name, key }) => format!("ConfigMap {name} (key {key})"),
        Some(ConfigSource::Secret { name, key }) => format!("Secret {name} (key {key})"),
        _ => "the configuration".to_string(),
    }
}

fn edit_command(s: &InstanceSnapshot) -> String {
    match (
        &s.instance.flavour,
        s.instance.config.as_ref().map(|c| &c.source),
    ) {
        (crate::discover::Flavour::Operator { prometheus }, _) => format!(
            "fix the ServiceMonitor/PodMonitor/scrape config the operator renders into prometheus/{prometheus}"
        ),
        (_, Some(ConfigSource::ConfigMap { name, .. })) => {
            format!("kubectl edit configmap {name} -n {}", s.instance.namespace)
        }
        _ => "correct the configuration file".to_string(),
    }
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    let hits = s.prometheus_hits();
    // (object, Prometheus's error, at startup)
    let mut errors: Vec<(String, String, bool)> = Vec::new();
    if let Some((log, hit)) = hits
        .iter()
        .find(|(_, h)| h.kind == Kind::StartupConfigError)
    {
        let err = one_line(&hit.detail.clone().unwrap_or_default());
        errors.push((format!("pod/{}", log.pod), err.clone(), true));
        out.push(Finding::new(
            "PROM-302",
            format!("pod/{}", log.pod),
            vec![quote_hit(log, hit)],
            format!(
                "Prometheus refuses to start with {} and exits with code 2, so the pod crash-loops: {err}",
                configmap(s)
            ),
            format!("{}; the next restart picks it up", edit_command(s)),
        ));
    }
    let failed_live = s.live.iter().find(|l| {
        l.runtimeinfo
            .as_ref()
            .and_then(|r| r.get("reloadConfigSuccess"))
            .and_then(|v| v.as_bool())
            == Some(false)
    });
    let failed_log = still_current(&hits, &[Kind::ReloadFailed], &[Kind::ConfigLoaded]);
    if failed_live.is_some() || failed_log.is_some() {
        let mut evidence = Vec::new();
        let mut object = s.target();
        if let Some(l) = failed_live {
            evidence.push(format!(
                "pod/{} GET /api/v1/status/runtimeinfo: \"reloadConfigSuccess\": false",
                l.pod
            ));
            object = format!("pod/{}", l.pod);
        }
        let mut err = String::new();
        if let Some((log, hit)) = &failed_log {
            evidence.push(quote_hit(log, hit));
            err = one_line(&hit.detail.clone().unwrap_or_default());
            object = format!("pod/{}", log.pod);
        }
        errors.push((object.clone(), err.clone(), false));
        let why = if err.is_empty() {
            String::new()
        } else {
            format!(" Prometheus said: {err}")
        };
        out.push(Finding::new(
            "PROM-301",
            object,
            evidence,
            format!(
                "The last reload of {} failed; Prometheus keeps running the previous configuration, so the change \
                 is not in effect.{why}",
                configmap(s)
            ),
            format!("{}, then `{}` (it validates before reloading)", edit_command(s), s.prom_command("reload")),
        ));
    }
    for (object, err, at_startup) in errors {
        if let Some((field, ty)) = unknown_field(&err) {
            let suggestion = did_you_mean(&field, &ty);
            // Prometheus refusing a key its schema has: the key sits under the wrong section, or this build or
            // version lacks it (a service discovery left out at build time) — renaming it would change nothing.
            let known_here = crate::promconfig::keys_of_type(&ty).contains(&field.as_str());
            let meaning = match suggestion {
                Some(k) => format!("`{field}` is not a key of {ty}; did you mean `{k}`?"),
                None if known_here => format!(
                    "`{field}` is a key of {ty}, yet this Prometheus refused it there: it is indented under another \
                     section, or this Prometheus version or build does not support it."
                ),
                None => format!("`{field}` is not a key of {ty}."),
            };
            // A pod that crashed at startup picks the fix up when it restarts; a running one needs a reload.
            let then = if at_startup {
                "; the next restart picks it up".to_string()
            } else {
                format!(", then `{}`", s.prom_command("reload"))
            };
            let fix = match suggestion {
                Some(k) => format!("rename `{field}` to `{k}`: {}{then}", edit_command(s)),
                None if known_here => format!(
                    "check where `{field}` sits (its indentation) and that this Prometheus version supports it: {}{then}",
                    edit_command(s)
                ),
                None => format!("remove `{field}`: {}{then}", edit_command(s)),
            };
            if !out.iter().any(|f| f.id == "PROM-303") {
                out.push(Finding::new(
                    "PROM-303",
                    object,
                    vec![format!("Prometheus: {err}")],
                    meaning,
                    fix,
                ));
            }
        }
    }
    // The ConfigMap as it is now: a typo there fails the next reload or restart even if nothing logged it yet.
    if !out.iter().any(|f| f.id == "PROM-303")
        && let Some(text) = &s.config_text
        && let Some(issue) = crate::promconfig::check(text).into_iter().find(|i| i.error)
    {
        let line = issue.line.map(|l| format!(" line {l}")).unwrap_or_default();
        out.push(Finding::new(
            "PROM-303",
            s.target(),
            vec![format!("{}{line} at {}: {}", configmap(s), if issue.path.is_empty() { "top level" } else { &issue.path }, issue.message)],
            "Prometheus's strict YAML rejects this key: the next reload fails (the old configuration keeps \
             running) and the next restart crash-loops.",
            format!("{}, then `{}` (it validates before reloading)", edit_command(s), s.prom_command("reload")),
        ));
    }
    if let Some((log, hit)) = still_current(&hits, &[Kind::RuleLoadFailed], &[Kind::ConfigLoaded]) {
        out.push(Finding::new(
            "PROM-304",
            format!("pod/{}", log.pod),
            vec![quote_hit(log, &hit)],
            "A rule file failed to load; Prometheus restored the previous rule set, so new or changed alerts are \
             not active.",
            format!("check the rules with `promtool check rules FILE`, fix them, then `{}`", s.prom_command("reload")),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{CHART, ids, instance, log};
    use crate::doctor::snapshot::LiveStatus;

    #[test]
    fn failed_reload_is_prom_301_with_the_typo_named() {
        let s = instance(
            CHART,
            &[("prometheus-server", false, &log("v3-reload-failed.log"))],
        );
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-301", "PROM-303"]);
        assert!(
            f[0].meaning
                .contains("field scarpe_interval not found in type config.ScrapeConfig")
        );
        assert!(
            f[0].meaning
                .contains("ConfigMap prometheus-server (key prometheus.yml)"),
            "{}",
            f[0].meaning
        );
        assert!(
            f[0].fix
                .contains("kubectl prom reload deploy/prometheus-server -n monitoring")
        );
        assert_eq!(
            f[1].meaning,
            "`scarpe_interval` is not a key of config.ScrapeConfig; did you mean `scrape_interval`?"
        );
    }

    #[test]
    fn a_refused_key_of_the_schema_is_not_renamed_to_itself() {
        // A Prometheus built without Kubernetes discovery refuses a key its own schema has (issue 18 item 8).
        let line = log("v3-reload-failed.log").replace(
            "field scarpe_interval not found",
            "field kubernetes_sd_configs not found",
        );
        let f = check(&instance(CHART, &[("prometheus-server", false, &line)]));
        let f = f.iter().find(|f| f.id == "PROM-303").expect("PROM-303");
        assert!(
            !f.fix
                .contains("rename `kubernetes_sd_configs` to `kubernetes_sd_configs`")
                && !f.meaning.contains("did you mean `kubernetes_sd_configs`"),
            "{f:#?}"
        );
        assert!(
            f.meaning.contains("is a key of config.ScrapeConfig"),
            "{f:#?}"
        );
    }

    #[test]
    fn a_later_successful_load_clears_the_failure() {
        // Real 2.42 log: failed reload, then a good one.
        assert!(
            check(&instance(
                CHART,
                &[(
                    "prometheus-server",
                    false,
                    &log("v2.42-reload-failed-then-ok.log")
                )]
            ))
            .is_empty()
        );
    }

    #[test]
    fn runtimeinfo_alone_is_enough() {
        let mut s = instance(CHART, &[]);
        s.live.push(LiveStatus {
            pod: "prometheus-server-6d9f8b7c4-x2x9k".into(),
            runtimeinfo: Some(serde_json::json!({"reloadConfigSuccess": false})),
            ..Default::default()
        });
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-301"]);
        assert!(f[0].evidence[0].contains("reloadConfigSuccess"));
    }

    #[test]
    fn a_typo_in_the_config_map_is_found_before_any_reload() {
        let typo = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: self\n    scarpe_interval: 5s\n    static_configs:\n      - targets: ['localhost:9090']\n";
        let yaml = format!(
            "{CHART}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prometheus-server\n  namespace: monitoring\ndata:\n  prometheus.yml: |\n{}",
            typo.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        let f = check(&instance(&yaml, &[]));
        assert_eq!(ids(&f), ["PROM-303"]);
        assert!(
            f[0].evidence[0].contains("scarpe_interval"),
            "{:?}",
            f[0].evidence
        );
        assert!(
            f[0].evidence[0].contains("ConfigMap prometheus-server (key prometheus.yml) line 5"),
            "{:?}",
            f[0].evidence
        );
        // The same file without the typo: nothing.
        let good = yaml.replace("scarpe_interval", "scrape_interval");
        assert!(check(&instance(&good, &[])).is_empty());
    }

    #[test]
    fn startup_config_error_in_both_formats() {
        for fixture in [
            "v2.42-startup-config-error.log",
            "v3-startup-config-error-json.log",
        ] {
            let s = instance(CHART, &[("prometheus-server", false, &log(fixture))]);
            assert_eq!(ids(&check(&s)), ["PROM-302", "PROM-303"], "{fixture}");
        }
    }

    #[test]
    fn unknown_fields_and_suggestions() {
        assert_eq!(
            unknown_field(
                "yaml: unmarshal errors:\n  line 5: field scarpe_interval not found in type config.ScrapeConfig"
            ),
            Some(("scarpe_interval".into(), "config.ScrapeConfig".into()))
        );
        assert_eq!(
            did_you_mean("metric_path", "config.ScrapeConfig"),
            Some("metrics_path")
        );
        assert_eq!(did_you_mean("nonexistent_field", "config.plain"), None);
        assert_eq!(
            did_you_mean("scrape_configz", "config.plain"),
            Some("scrape_configs")
        );
    }
}
