//! Lifecycle API and reload-sidecar checks: whether `--web.enable-lifecycle` is on, and what the sidecar's
//! `received non-200 response` really means — 403 flag off, 500 bad config, 404 route-prefix mismatch
//! (prometheus-facts.md §3.2, §8).

use super::{quote_hit, still_current};
use crate::discover::{Flavour, flag_value};
use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::InstanceSnapshot;
use crate::logscan::Kind;

/// Whether the lifecycle API is on (reload's rule: the running server's flags win, the args are the fallback), with
/// the evidence quoted.
pub(crate) fn lifecycle_enabled(s: &InstanceSnapshot) -> Option<(bool, String)> {
    // Prometheus 3.9+ states it in /api/v1/features (`api.lifecycle`, issue 19 item 4): the server's own word.
    if let Some((pod, on)) = s.live.iter().find_map(|l| {
        let on = l.features.as_ref()?.pointer("/api/lifecycle")?.as_bool()?;
        Some((l.pod.as_str(), on))
    }) {
        return Some((
            on,
            format!("pod/{pod} GET /api/v1/features: \"lifecycle\": {on}"),
        ));
    }
    let live = s
        .live
        .iter()
        .find_map(|l| l.flags.as_ref().map(|f| (l.pod.as_str(), f)));
    let args = &s.instance.args;
    if live.is_none() && args.is_empty() {
        return None;
    }
    let state = crate::reloading::lifecycle::lifecycle(live.map(|(_, f)| f), args);
    let why = match live {
        Some((pod, flags)) if state.source == "live" => format!(
            "pod/{pod} GET /api/v1/status/flags: \"web.enable-lifecycle\": \"{}\"",
            flags
                .get("web.enable-lifecycle")
                .map(String::as_str)
                .unwrap_or_default()
        ),
        _ => format!(
            "container {} args {} `--web.enable-lifecycle`: {}",
            s.instance.container,
            if state.enabled { "include" } else { "lack" },
            args.join(" ")
        ),
    };
    Some((state.enabled, why))
}

/// The install reloads by SIGHUP (operator `reloadStrategy: ProcessSignal`: the resource says so, or the sidecar runs
/// with `--reload-method=signal`), so it needs no lifecycle API (reload's rule, crate::reloading::lifecycle).
fn reloads_by_signal(s: &InstanceSnapshot) -> bool {
    let args = s
        .reloader()
        .map(crate::discover::all_args)
        .unwrap_or_default();
    crate::reloading::lifecycle::reload_way(s.prometheus.as_ref(), &args)
        == crate::reloading::lifecycle::ReloadWay::Signal
}

/// The reload URL the sidecar posts to (`--reload-url`, jimmidyson's `--webhook-url`).
fn reload_url(s: &InstanceSnapshot) -> Option<String> {
    let c = s.reloader()?;
    let args = crate::discover::all_args(c);
    flag_value(&args, "reload-url").or_else(|| flag_value(&args, "webhook-url"))
}

fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.find('/')
        .map(|i| rest[i..].to_string())
        .unwrap_or_else(|| "/".into())
}

fn enable_fix(s: &InstanceSnapshot) -> String {
    let cmd = s.prom_command("reload --enable-lifecycle");
    // The same note reload prints (src/install/): the chart's own key, listing the flags already there.
    match s.instance.flag_note("web.enable-lifecycle") {
        Some(note) => format!("{cmd}; {note}"),
        None => cmd,
    }
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    let hits = s.reloader_hits();
    let rejected = still_current(
        &hits,
        &[Kind::SidecarReloadRejected],
        &[Kind::SidecarReloadOk],
    );
    let lifecycle = lifecycle_enabled(s);
    let off = lifecycle.as_ref().is_some_and(|(on, _)| !on);
    let object = |pod: &str| format!("pod/{pod}");
    let first_pod = s
        .instance
        .pods
        .first()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| s.target());

    match rejected
        .as_ref()
        .and_then(|(log, h)| h.status.map(|st| (log, h, st)))
    {
        Some((log, hit, 403)) => {
            let mut evidence = vec![quote_hit(log, hit)];
            if let Some((false, why)) = &lifecycle {
                evidence.push(why.clone());
            }
            out.push(Finding::new(
                "PROM-101",
                object(&log.pod),
                evidence,
                "Prometheus answers POST /-/reload with 403 `Lifecycle API is not enabled.`, so every ConfigMap change \
                 the sidecar tries to apply is refused and Prometheus keeps running the old configuration.",
                enable_fix(s),
            ));
        }
        Some((log, hit, 500)) => {
            let mut evidence = vec![quote_hit(log, hit)];
            if let Some((_, h)) = s.first_hit(Kind::ReloadFailed) {
                evidence.push(format!("Prometheus: {}", h.detail.unwrap_or(h.quote)));
            }
            if let Some((true, why)) = &lifecycle {
                evidence.push(why.clone());
            }
            out.push(Finding::new(
                "PROM-103",
                object(&log.pod),
                evidence,
                "A 500 means Prometheus tried the reload and rejected the new configuration; the sidecar's hint \
                 \"have you set `--web.enable-lifecycle`\" is printed for every non-200 answer and is wrong here.",
                format!("fix the configuration (see PROM-301), then `{}`", s.prom_command("reload")),
            ));
        }
        Some((log, hit, 404)) => {
            let mut evidence = vec![quote_hit(log, hit)];
            evidence.push(format!(
                "Prometheus route prefix: {}",
                s.instance.route_prefix
            ));
            if let Some(url) = reload_url(s) {
                evidence.push(format!("sidecar reload URL: {url}"));
            }
            // The mismatch goes either way: a prefix Prometheus has and the URL lacks (the chart's baseURL without
            // prefixURL), or a prefix in the URL that Prometheus does not serve (seen with the real sidecar).
            let expected = crate::prom_http::prefixed(&s.instance.route_prefix, "/-/reload");
            let meaning = match reload_url(s).map(|u| url_path(&u)) {
                Some(posted) if posted != expected => format!(
                    "The sidecar posts to {posted}, but Prometheus (route prefix {}) serves reload at {expected}, so \
                     it gets 404 and no reload ever happens.",
                    s.instance.route_prefix
                ),
                _ => "Prometheus serves its routes under the route prefix, but the sidecar posts to a path without \
                      it and gets 404; no reload ever happens."
                    .to_string(),
            };
            out.push(Finding::new(
                "PROM-104",
                object(&log.pod),
                evidence,
                meaning,
                prefix_fix(s),
            ));
        }
        _ => {}
    }
    // The reload URL's path is wrong even before the sidecar logs it (e.g. right after a change of baseURL).
    if !out.iter().any(|f| f.id == "PROM-104")
        && let Some(url) = reload_url(s)
    {
        let expected = crate::prom_http::prefixed(&s.instance.route_prefix, "/-/reload");
        if url_path(&url) != expected {
            out.push(Finding::new(
                "PROM-104",
                object(&first_pod),
                vec![
                    format!("sidecar reload URL: {url}"),
                    format!("Prometheus route prefix {} serves reload at {expected}", s.instance.route_prefix),
                ],
                "The sidecar will post to a path Prometheus does not serve and get 404 `have you set \
                 --web.enable-lifecycle`; no reload will happen.",
                prefix_fix(s),
            ));
        }
    }
    if off && !out.iter().any(|f| f.id == "PROM-101") {
        let why = lifecycle.clone().map(|(_, w)| w).unwrap_or_default();
        if s.reloader().is_some() && !reloads_by_signal(s) {
            out.push(Finding::new(
                "PROM-101",
                object(&first_pod),
                vec![why],
                "The reload sidecar posts to /-/reload, which answers 403 while the lifecycle API is off: the next \
                 ConfigMap change will not be applied.",
                enable_fix(s),
            ));
        } else if s.reloader().is_none()
            && !reloads_by_signal(s)
            && super::drift::auto_reload(s).is_none()
        {
            // With `--config.auto-reload` (3.12+) the server reloads itself: no lifecycle API is needed.
            out.push(Finding::new(
                "PROM-102",
                object(&first_pod),
                vec![why],
                "Without the lifecycle API a configuration change needs a SIGHUP or a pod restart.",
                enable_fix(s),
            ));
        }
    }
    if rejected.is_none()
        && let Some((log, hit)) = still_current(
            &hits,
            &[Kind::SidecarReloadUnreachable],
            &[Kind::SidecarReloadOk, Kind::SidecarReloadRejected],
        )
        && failed_after_ready(s, &log.pod, &hit.quote)
    {
        out.push(Finding::new(
            "PROM-105",
            object(&log.pod),
            vec![quote_hit(log, &hit)],
            "The sidecar's reload request got no answer although Prometheus is ready; a reload sent during WAL \
             replay blocks until startup ends, later ones should not.",
            format!("check the reload URL and port, then `{}`", s.prom_command("reload")),
        ));
    }
    out
}

const SIDECAR_SLACK: k8s_openapi::jiff::SignedDuration =
    k8s_openapi::jiff::SignedDuration::from_secs(10);

/// Whether a sidecar line was logged after the pod became Ready. The sidecar's first reload usually races
/// Prometheus's startup (`connection refused`, or a timeout during WAL replay) and is harmless; only a failure
/// after Prometheus is ready means the sidecar cannot reach it. Unknown times count as "no" (no false alarms).
fn failed_after_ready(s: &InstanceSnapshot, pod: &str, line: &str) -> bool {
    let record = crate::logscan::parse(line);
    let Some(logged) = record
        .field("ts")
        .or_else(|| record.field("time"))
        .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
    else {
        return false;
    };
    let ready_since = s
        .pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(pod))
        .and_then(|p| p.status.as_ref()?.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready" && c.status == "True"))
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0);
    // Conditions carry whole seconds and the sidecar retries every 5 s: a line within that slack of Ready may still
    // be the startup race.
    ready_since.is_some_and(|ready| logged > ready + SIDECAR_SLACK)
}

fn prefix_fix(s: &InstanceSnapshot) -> String {
    match &s.instance.flavour {
        Flavour::Chart { release, .. } => format!(
            "set `server.prefixURL` to the same path as `server.baseURL` in release {release}'s values and \
             `helm upgrade` (the chart builds the reload URL and probe paths from prefixURL only)"
        ),
        _ => format!(
            "make the sidecar's --reload-url end in {}",
            crate::prom_http::prefixed(&s.instance.route_prefix, "/-/reload")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{
        CHART, KPS, ids, instance, log, with_item_after, without_item,
    };

    const SIDECAR: &str = "prometheus-server-configmap-reload";

    #[test]
    fn sidecar_403_with_the_flag_missing_is_prom_101() {
        let yaml = without_item(CHART, "--web.enable-lifecycle");
        let s = instance(
            &yaml,
            &[(SIDECAR, false, &log("sidecar-config-reloader-403.log"))],
        );
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-101"]);
        assert!(f[0].evidence[0].contains("403 Forbidden"));
        assert!(f[0].evidence[1].contains("lack `--web.enable-lifecycle`"));
        assert!(f[0].fix.starts_with(
            "kubectl prom reload deploy/prometheus-server -n monitoring --enable-lifecycle"
        ));
        assert!(f[0].fix.contains("server.extraFlags"));
    }

    #[test]
    fn the_flag_missing_without_log_lines_still_warns_of_the_next_reload() {
        let yaml = without_item(CHART, "--web.enable-lifecycle");
        let f = check(&instance(&yaml, &[]));
        assert_eq!(ids(&f), ["PROM-101"]);
    }

    #[test]
    fn sidecar_500_is_a_bad_config_not_the_flag() {
        let s = instance(
            CHART,
            &[
                (SIDECAR, false, &log("sidecar-config-reloader-500.log")),
                ("prometheus-server", false, &log("v3-reload-failed.log")),
            ],
        );
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-103"]);
        assert!(f[0].evidence[1].contains("field scarpe_interval not found"));
        assert!(f[0].evidence[2].contains("include `--web.enable-lifecycle`"));
    }

    #[test]
    fn sidecar_404_is_a_route_prefix_mismatch() {
        let yaml = with_item_after(
            CHART,
            "--web.enable-lifecycle",
            "--web.external-url=http://example.com/prometheus",
        );
        let s = instance(
            &yaml,
            &[(SIDECAR, false, &log("sidecar-config-reloader-404.log"))],
        );
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-104"]);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.contains("route prefix: /prometheus"))
        );
        assert!(f[0].fix.contains("server.prefixURL"));
        // Even without the log line, the URL itself gives it away.
        assert_eq!(ids(&check(&instance(&yaml, &[]))), ["PROM-104"]);
    }

    #[test]
    fn a_403_followed_by_a_successful_reload_is_history() {
        let text = format!(
            "{}\n{}",
            log("sidecar-config-reloader-403.log"),
            log("sidecar-config-reloader-ok.log")
        );
        assert!(check(&instance(CHART, &[(SIDECAR, false, &text)])).is_empty());
    }

    #[test]
    fn healthy_chart_and_operator_have_no_lifecycle_findings() {
        assert!(check(&instance(CHART, &[])).is_empty());
        assert!(check(&instance(KPS, &[])).is_empty());
    }

    #[test]
    fn an_unreachable_prometheus_counts_only_after_it_became_ready() {
        let line = |ts: &str| {
            format!(
                "level=error ts={ts} caller=runutil.go:100 msg=\"function failed. Retrying in next tick\" err=\"trigger reload: reload request failed: Post \\\"http://127.0.0.1:9090/-/reload\\\": dial tcp 127.0.0.1:9090: connect: connection refused\""
            )
        };
        let yaml = CHART.replace(
            "  - type: Ready\n    status: \"True\"\n",
            "  - type: Ready\n    status: \"True\"\n    lastTransitionTime: \"2026-11-21T10:00:30Z\"\n",
        );
        // Before Ready: the usual startup race.
        let early = instance(
            &yaml,
            &[(SIDECAR, false, &line("2026-11-21T10:00:05.000Z"))],
        );
        assert!(check(&early).is_empty());
        // After Ready: the sidecar really cannot reach Prometheus.
        let late = instance(
            &yaml,
            &[(SIDECAR, false, &line("2026-11-21T11:00:05.000Z"))],
        );
        assert_eq!(ids(&check(&late)), ["PROM-105"]);
    }

    #[test]
    fn v3_features_state_lifecycle_and_auto_reload_needs_no_lifecycle_api() {
        // What the real Prometheus 3.16 answers on /api/v1/features without --web.enable-lifecycle.
        let features: serde_json::Value = serde_json::from_str::<serde_json::Value>(include_str!(
            "../../../tests/fixtures/doctor/drift/features-3.16.json"
        ))
        .unwrap()["data"]
            .clone();
        let mut s = instance(CHART, &[]);
        let keep = s.instance.container.clone();
        for d in &mut s.deployments {
            if let Some(spec) = d.spec.as_mut().and_then(|d| d.template.spec.as_mut()) {
                spec.containers.retain(|c| c.name == keep);
            }
        }
        s.live.push(crate::doctor::snapshot::LiveStatus {
            pod: "prometheus-server-6d9f8b7c4-x2x9k".into(),
            features: Some(features.clone()),
            ..Default::default()
        });
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-102"]);
        assert!(
            f[0].evidence[0].contains("GET /api/v1/features: \"lifecycle\": false"),
            "{:?}",
            f[0].evidence
        );
        let mut auto = features;
        auto["prometheus"]["auto_reload_config"] = true.into();
        s.live[0].features = Some(auto);
        assert!(check(&s).is_empty());
    }

    #[test]
    fn live_flags_win_over_args() {
        let mut s = instance(CHART, &[]);
        s.live.push(crate::doctor::snapshot::LiveStatus {
            pod: "prometheus-server-6d9f8b7c4-x2x9k".into(),
            flags: Some([("web.enable-lifecycle".to_string(), "false".to_string())].into()),
            ..Default::default()
        });
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-101"]);
        assert!(f[0].evidence[0].contains("status/flags"));
    }
}
