//! Rule-file drift (issue 19 item 1): the rule groups Prometheus runs (`GET /api/v1/rules`) against the rule files its
//! source says it should load now — the ConfigMap keys mounted where the configuration's `rule_files` globs point
//! (chart: `alerting_rules.yml`/`recording_rules.yml` in the server ConfigMap; operator: the
//! `prometheus-<name>-rulefiles-N` ConfigMaps generated from PrometheusRule objects). Why nothing applied the change
//! and the fix are config drift's (one rule: `drift::unapplied`). Pure: the snapshot in, findings out.
//!
//! Normalising: Prometheus reports each rule's expression re-printed from its parse tree (promql/parser `String()`):
//! `sum(x) by (job)` → `sum by (job) (x)`, `'a'` → `"a"`, `offset 90s` → `offset 1m30s`, `1e3` → `1000`,
//! `0.50` → `0.5` (observed on the real 2.42 and 3.16 binaries, tests/fixtures/doctor/drift/rules-*). Without a PromQL
//! parser of our own, two expressions are called different only when their tokens differ as a multiset (numbers and
//! durations by value, strings by content, keywords case-folded): a re-ordering alone is never claimed as drift (no
//! claim without evidence), any changed metric, label, function, operator or threshold is. `for`, `keep_firing_for`,
//! labels and annotations compare by value; a group's `interval` and `limit` only when the source sets them (the
//! running group always shows the global default). Only group and rule names are reported, never an expression.

use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::InstanceSnapshot;
use crate::reloading::content::duration_ms;
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;
use std::collections::BTreeMap;

/// One rule file the source says Prometheus loads: its path in the pod and where its text comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    /// Absolute path in the Prometheus container (what `/api/v1/rules` reports as a group's `file`).
    pub path: String,
    /// `configmap/NAME key K`.
    pub from: String,
    pub text: String,
    /// When that ConfigMap last changed, RFC 3339.
    pub changed: Option<String>,
}

/// The rule files the source names, resolved to ConfigMap keys; `dirs` are the directories resolved completely
/// (every file there is known, so a running group from another file there was removed from the source).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSources {
    pub files: Vec<RuleFile>,
    pub dirs: Vec<(String, String)>,
}

/// `*` and `?` globs on one path segment (`filepath.Match` without classes; a class makes the glob unresolved).
fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// The rule files of the source configuration, each resolved through the Prometheus container's mounts to a
/// ConfigMap key that was read. A glob that does not point into a ConfigMap directory mount (a file baked into the
/// image, a nested directory, a class pattern) or whose ConfigMap was not read is left out: nothing is claimed about
/// it.
pub fn sources(s: &InstanceSnapshot) -> RuleSources {
    let mut out = RuleSources::default();
    let Some(text) = s.config_text.as_deref().or(s.generated_config.as_deref()) else {
        return out;
    };
    let Ok(config) = crate::yaml::from_str::<Value>(text) else {
        return out;
    };
    let Some(spec) = s.pod_spec() else {
        return out;
    };
    let Some(container) = spec
        .containers
        .iter()
        .find(|c| c.name == s.instance.container)
    else {
        return out;
    };
    // Relative rule files are relative to the configuration file's directory (prometheus config/config.go
    // SetDirectory).
    let config_file = crate::model::volume::config_file(container);
    let config_dir = config_file.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let globs = config
        .get("rule_files")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for glob in globs.iter().filter_map(Value::as_str) {
        let abs = if glob.starts_with('/') {
            glob.to_string()
        } else {
            format!("{config_dir}/{glob}")
        };
        let Some((dir, pattern)) = abs.rsplit_once('/') else {
            continue;
        };
        if dir.contains(['*', '?', '[']) || pattern.contains('[') {
            continue;
        }
        let Some(mount) = container
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.mount_path.trim_end_matches('/') == dir)
        else {
            continue;
        };
        let Some(volume) = spec
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == mount.name)
            .and_then(|v| v.config_map.as_ref())
        else {
            continue;
        };
        let Some(cm) = s
            .config_maps
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(volume.name.as_str()))
        else {
            continue;
        };
        if mount.sub_path.as_deref().is_some_and(|p| !p.is_empty()) {
            // A directory inside the ConfigMap volume: keys are not files there. Not resolved.
            continue;
        }
        let changed = crate::inspect::snapshot::last_changed(&cm.metadata);
        // With `items` only the listed keys are files, under their `path`.
        let files: Vec<(String, String)> = match &volume.items {
            Some(items) => items
                .iter()
                .map(|i| (i.path.clone(), i.key.clone()))
                .collect(),
            None => keys(cm).into_iter().map(|k| (k.clone(), k)).collect(),
        };
        for (file, key) in files {
            if file.contains('/') || !glob_match(pattern, &file) {
                continue;
            }
            let Some(text) = cm.data.as_ref().and_then(|d| d.get(&key)) else {
                continue;
            };
            let path = format!("{dir}/{file}");
            if out.files.iter().any(|f| f.path == path) {
                continue;
            }
            out.files.push(RuleFile {
                path,
                from: format!("configmap/{} key {key}", volume.name),
                text: text.clone(),
                changed: changed.clone(),
            });
        }
        out.dirs.push((dir.to_string(), pattern.to_string()));
    }
    out
}

fn keys(cm: &ConfigMap) -> Vec<String> {
    cm.data
        .as_ref()
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

/// One rule as both sides describe it.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    /// `alert` or `record` name.
    name: String,
    alerting: bool,
    tokens: Vec<String>,
    for_ms: u64,
    keep_firing_for_ms: u64,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

struct Group {
    name: String,
    interval_ms: Option<u64>,
    limit: Option<u64>,
    rules: Vec<Rule>,
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A duration as the source spells it (`10m`) or as the API reports it (seconds, a number).
fn ms(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::String(s) => duration_ms(s),
        Value::Number(n) => n.as_f64().map(|s| (s * 1000.0).round() as u64),
        _ => None,
    }
}

/// The groups of one rule file's text (`groups:`; an empty file or `{}` has none).
fn source_groups(text: &str) -> Result<Vec<Group>, String> {
    let v: Value = crate::yaml::from_str(text).map_err(|e| e.to_string())?;
    let groups = v
        .get("groups")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(groups
        .iter()
        .map(|g| Group {
            name: g["name"].as_str().unwrap_or_default().to_string(),
            interval_ms: ms(g.get("interval")),
            limit: g.get("limit").and_then(Value::as_u64).filter(|l| *l > 0),
            rules: g["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let alerting = r.get("alert").is_some();
                    let name = r
                        .get("alert")
                        .or(r.get("record"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let expr = match &r["expr"] {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    Rule {
                        name: name.to_string(),
                        alerting,
                        tokens: tokens(&expr),
                        for_ms: ms(r.get("for")).unwrap_or(0),
                        keep_firing_for_ms: ms(r.get("keep_firing_for")).unwrap_or(0),
                        labels: string_map(r.get("labels")),
                        annotations: string_map(r.get("annotations")),
                    }
                })
                .collect(),
        })
        .collect())
}

/// The running groups of `GET /api/v1/rules` → `data`, by file.
fn running_groups(data: &Value) -> Vec<(String, Group)> {
    data["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let group = Group {
                name: g["name"].as_str().unwrap_or_default().to_string(),
                interval_ms: ms(g.get("interval")),
                limit: g.get("limit").and_then(Value::as_u64),
                rules: g["rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| Rule {
                        name: r["name"].as_str().unwrap_or_default().to_string(),
                        alerting: r["type"] == "alerting",
                        tokens: tokens(r["query"].as_str().unwrap_or_default()),
                        for_ms: ms(r.get("duration")).unwrap_or(0),
                        keep_firing_for_ms: ms(r.get("keepFiringFor")).unwrap_or(0),
                        labels: string_map(r.get("labels")),
                        annotations: string_map(r.get("annotations")),
                    })
                    .collect(),
            };
            (g["file"].as_str().unwrap_or_default().to_string(), group)
        })
        .collect()
}

/// PromQL keywords, matched case-insensitively by the parser (promql/parser/lex.go `key`), printed in lower case.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "atan2",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
    "start",
    "end",
    "inf",
    "nan",
];

/// An expression's tokens, sorted (a multiset), each in one spelling: numbers and durations by value, strings by
/// content, keywords lower-cased; commas before a closing bracket dropped (the printer drops trailing commas).
pub(crate) fn tokens(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            // A comment runs to the end of the line.
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && c != '`' && i + 1 < chars.len() {
                    i += 1;
                }
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(format!("str:{s}"));
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '+' || chars[i] == '-')
                        && matches!(chars[i - 1], 'e' | 'E')
                        && !chars[start..i]
                            .iter()
                            .any(|c| c.is_ascii_alphabetic() && !matches!(c, 'e' | 'E'))))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(number(&word));
        } else if c.is_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let lower = word.to_ascii_lowercase();
            if KEYWORDS.contains(&lower.as_str()) {
                out.push(lower);
            } else {
                out.push(word);
            }
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["==", "!=", "=~", "!~", "<=", ">="].contains(&two.as_str()) {
                out.push(two);
                i += 2;
            } else {
                if (c == '}' || c == ')') && out.last().is_some_and(|t| t == ",") {
                    out.pop();
                }
                out.push(c.to_string());
                i += 1;
            }
        }
    }
    out.sort();
    out
}

/// A numeric literal or a duration in one spelling: `dur:<ms>`, `num:<f64>`, else as written.
fn number(word: &str) -> String {
    if let Some(ms) = duration_ms(word) {
        return format!("dur:{ms}");
    }
    let parsed = match word.strip_prefix("0x").or(word.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok().map(|n| n as f64),
        None => word.parse::<f64>().ok(),
    };
    match parsed {
        Some(n) => format!("num:{n}"),
        None => word.to_string(),
    }
}

/// Where the running rules differ from the source's rule files, as `(source, difference)` pairs: the source named
/// (`configmap/NAME key K`) and the difference as group and rule names only. An unparsable source file is left out
/// (Prometheus refuses it on reload, PROM-304 says so).
pub fn differences(sources: &RuleSources, running: &Value) -> Vec<(String, String)> {
    let running = running_groups(running);
    let mut out = Vec::new();
    for file in &sources.files {
        let Ok(src) = source_groups(&file.text) else {
            continue;
        };
        let run: Vec<&Group> = running
            .iter()
            .filter(|(f, _)| *f == file.path)
            .map(|(_, g)| g)
            .collect();
        let mut push = |what: String| out.push((file.from.clone(), what));
        for g in &src {
            let Some(r) = run.iter().find(|r| r.name == g.name) else {
                push(format!("group {} (not running)", g.name));
                continue;
            };
            if g.interval_ms.is_some() && g.interval_ms != r.interval_ms {
                push(format!("group {} interval", g.name));
            }
            if g.limit.is_some() && g.limit != r.limit {
                push(format!("group {} limit", g.name));
            }
            for (i, sr) in g.rules.iter().enumerate() {
                let Some(rr) = r.rules.get(i) else {
                    push(format!("group {} rule {} (not running)", g.name, sr.name));
                    continue;
                };
                let at = format!("group {} rule {}", g.name, sr.name);
                if sr.name != rr.name || sr.alerting != rr.alerting {
                    push(format!("{at} (running: rule {} in its place)", rr.name));
                    continue;
                }
                let mut fields = Vec::new();
                if sr.tokens != rr.tokens {
                    fields.push("expr");
                }
                if sr.for_ms != rr.for_ms {
                    fields.push("for");
                }
                if sr.keep_firing_for_ms != rr.keep_firing_for_ms {
                    fields.push("keep_firing_for");
                }
                if sr.labels != rr.labels {
                    fields.push("labels");
                }
                if sr.alerting && sr.annotations != rr.annotations {
                    fields.push("annotations");
                }
                if !fields.is_empty() {
                    push(format!("{at} {}", fields.join(", ")));
                }
            }
            for rr in r.rules.iter().skip(g.rules.len()) {
                push(format!(
                    "group {} rule {} (removed from the source)",
                    g.name, rr.name
                ));
            }
        }
        for r in &run {
            if !src.iter().any(|g| g.name == r.name) {
                push(format!("group {} (removed from the source)", r.name));
            }
        }
    }
    // A running file in a directory the source resolves completely, which no source file holds any more.
    for (file, g) in &running {
        let Some((dir, name)) = file.rsplit_once('/') else {
            continue;
        };
        let known = sources.files.iter().any(|f| f.path == *file);
        let covered = sources
            .dirs
            .iter()
            .find(|(d, p)| d == dir && glob_match(p, name));
        if let (false, Some((d, _))) = (known, covered) {
            out.push((
                format!("the rule files under {d}"),
                format!("group {} of {file} (removed from the source)", g.name),
            ));
        }
    }
    out
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let sources = sources(s);
    if sources.files.is_empty() && sources.dirs.is_empty() {
        return vec![];
    }
    let mut out = Vec::new();
    for live in &s.live {
        let Some(running) = live.rules.as_ref() else {
            continue;
        };
        let diffs = differences(&sources, running);
        if diffs.is_empty() {
            continue;
        }
        let mut from: Vec<&str> = Vec::new();
        for (f, _) in &diffs {
            if !from.contains(&f.as_str()) {
                from.push(f);
            }
        }
        let source_name = from.join(", ");
        let shown: Vec<&str> = diffs.iter().take(5).map(|(_, d)| d.as_str()).collect();
        let more = diffs.len().saturating_sub(shown.len());
        let evidence = vec![format!(
            "pod/{} GET /api/v1/rules differs from {source_name} at {}{}",
            live.pod,
            shown.join("; "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )];
        let changed = sources
            .files
            .iter()
            .filter(|f| from.contains(&f.from.as_str()))
            .filter_map(|f| f.changed.clone())
            .max();
        if let Some(f) = super::drift::unapplied(
            s,
            live,
            super::drift::Subject {
                what: super::drift::What::RuleFiles,
                source_name: &source_name,
                changed: changed.as_deref(),
                // Only directory mounts are resolved (a subPath file mount is never one): no subPath case.
                sub_path: None,
            },
            evidence,
        ) {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{CHART, KPS, ids, instance};
    use crate::doctor::snapshot::LiveStatus;

    use crate::doctor::checks::drift::tests::{fixture, ok_runtime};

    fn running(version: &str) -> Value {
        let v: Value =
            serde_json::from_str(&fixture(&format!("rules-running-{version}.json"))).unwrap();
        v["data"].clone()
    }

    fn one_file(text: &str) -> RuleSources {
        RuleSources {
            files: vec![RuleFile {
                path: "/etc/config/alerting_rules.yml".into(),
                from: "configmap/prometheus-server key alerting_rules.yml".into(),
                text: text.into(),
                changed: None,
            }],
            dirs: vec![("/etc/config".into(), "alerting_rules.yml".into())],
        }
    }

    #[test]
    fn the_source_matches_what_real_prometheus_2_and_3_report_for_it() {
        // The expressions are re-printed by the real binaries (`by` moved, quotes, `offset 1m30s`, `1000`, `0.5`).
        let src = one_file(&fixture("rules-source.yml"));
        for v in ["2.42", "3.16"] {
            assert_eq!(
                differences(&src, &running(v)),
                Vec::<(String, String)>::new(),
                "{v}"
            );
        }
    }

    #[test]
    fn each_edit_is_named_by_group_and_rule_and_no_expression_is_quoted() {
        let base = fixture("rules-source.yml");
        let run = running("3.16");
        let diff = |text: String| -> Vec<String> {
            differences(&one_file(&text), &run)
                .into_iter()
                .map(|(_, d)| d)
                .collect()
        };
        assert_eq!(
            diff(base.replace("> 0.8", "> 0.9")),
            ["group node rule HighLoad expr"]
        );
        assert_eq!(
            diff(
                base.replace("for: 10m", "for: 5m")
                    .replace("severity: warning", "severity: critical")
            ),
            ["group node rule HighLoad for, labels"]
        );
        assert_eq!(
            diff(base.replace("interval: 90s", "interval: 1m")),
            ["group node interval"]
        );
        assert_eq!(
            diff(base.replace("name: node", "name: nodes")),
            [
                "group nodes (not running)",
                "group node (removed from the source)"
            ]
        );
        let added = format!("{base}      - record: job:x:sum\n        expr: sum(x)\n");
        assert_eq!(diff(added), ["group node rule job:x:sum (not running)"]);
        // Spelling only: not drift.
        assert!(diff(base.replace("sum   by(job)  (up)", "SUM BY (job) (up)")).is_empty());
        // Emptied file: the running group was removed from the source.
        assert_eq!(
            diff("{}\n".into()),
            ["group node (removed from the source)"]
        );
    }

    #[test]
    fn tokens_fold_spelling_not_meaning() {
        assert_eq!(tokens("rate(x[90s])"), tokens("rate(x[1m30s])"));
        assert_eq!(tokens("x{a='b',}"), tokens("x{a=\"b\"}"));
        assert_eq!(tokens("x > 1e3"), tokens("x > 1000"));
        assert_eq!(tokens("x > 1e-3"), tokens("x > 0.001"));
        assert_ne!(tokens("x > 1"), tokens("x >= 1"));
        assert_ne!(tokens("x{a=\"b\"}"), tokens("x{a=~\"b\"}"));
        assert_ne!(tokens("Up"), tokens("up"));
    }

    #[test]
    fn glob_matches_one_segment() {
        assert!(glob_match("*.yaml", "a.yaml"));
        assert!(!glob_match("*.yaml", "a.yml"));
        assert!(glob_match("rules-?.yml", "rules-1.yml"));
        assert!(glob_match("alerting_rules.yml", "alerting_rules.yml"));
    }

    /// chart-healthy's ConfigMap, its rule file edited, and a pod whose Prometheus reports `rules` running.
    fn chart_with_rules(source: &str, rules: Value, runtime: Value) -> InstanceSnapshot {
        let mut s = instance(CHART, &[]);
        // The chart's prometheus.yml names its two rule files in the mounted directory (prometheus chart 25.x).
        let config = "global:\n  scrape_interval: 15s\nrule_files:\n  - /etc/config/recording_rules.yml\n  - /etc/config/alerting_rules.yml\n";
        s.config_text = Some(config.into());
        let mut cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "prometheus-server", "namespace": "monitoring",
                         "creationTimestamp": "2026-11-21T10:00:00Z"},
            "data": {"prometheus.yml": config, "alerting_rules.yml": source, "recording_rules.yml": "{}\n"},
        }))
        .unwrap();
        cm.metadata.namespace = Some("monitoring".into());
        s.config_maps = vec![cm];
        let pod = s.instance.pods[0].name.clone();
        s.live.push(LiveStatus {
            pod,
            rules: Some(rules),
            runtimeinfo: Some(runtime),
            ..Default::default()
        });
        s
    }

    /// The chart without its sidecar, a threshold edited in `alerting_rules.yml`, the reload accepted or rejected.
    pub(crate) fn edited_behind_no_reloader(rejected: bool) -> InstanceSnapshot {
        let edited = fixture("rules-source.yml").replace("> 0.8", "> 0.9");
        let mut runtime = ok_runtime();
        runtime["reloadConfigSuccess"] = (!rejected).into();
        let mut s = chart_with_rules(&edited, running("2.42"), runtime);
        crate::doctor::checks::drift::tests::without_sidecar(&mut s);
        s
    }

    #[test]
    fn a_chart_rule_edit_behind_no_reloader_is_prom_307_and_a_rejected_one_prom_308() {
        let edited = fixture("rules-source.yml").replace("> 0.8", "> 0.9");
        let f = check(&edited_behind_no_reloader(false));
        assert_eq!(ids(&f), ["PROM-307"]);
        let e = f[0].evidence.join("\n");
        assert!(e.contains("GET /api/v1/rules differs from configmap/prometheus-server key alerting_rules.yml at group node rule HighLoad expr"), "{e}");
        assert!(e.contains("last changed 2026-11-21T10:00:00Z"), "{e}");
        assert!(e.contains("no reload sidecar"), "{e}");
        assert!(!e.contains("0.9"), "no expression is quoted: {e}");
        assert_eq!(
            f[0].fix,
            "kubectl prom reload deploy/prometheus-server -n monitoring"
        );

        let f = check(&edited_behind_no_reloader(true));
        assert_eq!(ids(&f), ["PROM-308"]);
        assert!(
            f[0].evidence
                .join("\n")
                .contains("\"reloadConfigSuccess\": false")
        );

        // In step: nothing. Rules not read (a gap elsewhere): nothing claimed.
        let same = chart_with_rules(&fixture("rules-source.yml"), running("2.42"), ok_runtime());
        assert!(check(&same).is_empty());
        let mut unread = chart_with_rules(&edited, running("2.42"), ok_runtime());
        unread.live[0].rules = None;
        assert!(check(&unread).is_empty());
        // The ConfigMap not read: no source, nothing claimed.
        let mut no_cm = chart_with_rules(&edited, running("2.42"), ok_runtime());
        no_cm.config_maps.clear();
        assert!(check(&no_cm).is_empty());
    }

    /// The operator's shape (prometheus-operator v0.85.0): ConfigMap `prometheus-<name>-rulefiles-N` mounted by a
    /// volume of the same name at `/etc/prometheus/rules/<that name>` (pkg/prometheus/server/statefulset.go
    /// appendServerVolumes), the generated configuration's `rule_files: [/etc/prometheus/rules/<name>/*.yaml]`
    /// (pkg/prometheus/promcfg.go appendRuleFiles, common.go RulesDir), one key per PrometheusRule
    /// `<namespace>-<name>-<uid>.yaml` (pkg/operator/rules.go).
    #[test]
    fn an_operator_prometheus_rule_change_is_found_in_its_rulefiles_configmap() {
        let cm_name = "prometheus-kps-kube-prometheus-stack-prometheus-rulefiles-0";
        let dir = format!("/etc/prometheus/rules/{cm_name}");
        let mut s = instance(KPS, &[]);
        s.generated_config = Some(format!(
            "global:\n  scrape_interval: 30s\nrule_files:\n- {dir}/*.yaml\n"
        ));
        let mount: k8s_openapi::api::core::v1::VolumeMount =
            serde_json::from_value(serde_json::json!({"name": cm_name, "mountPath": dir})).unwrap();
        let volume: k8s_openapi::api::core::v1::Volume = serde_json::from_value(
            serde_json::json!({"name": cm_name, "configMap": {"name": cm_name}}),
        )
        .unwrap();
        let container = s.instance.container.clone();
        let templates = s
            .statefulsets
            .iter_mut()
            .filter_map(|w| w.spec.as_mut()?.template.spec.as_mut());
        let pods = s.pods.iter_mut().filter_map(|p| p.spec.as_mut());
        for spec in templates.chain(pods) {
            spec.volumes
                .get_or_insert_with(Vec::new)
                .push(volume.clone());
            for c in spec.containers.iter_mut().filter(|c| c.name == container) {
                c.volume_mounts
                    .get_or_insert_with(Vec::new)
                    .push(mount.clone());
            }
        }
        let key = "monitoring-kps-rules-7a1d0000-0000-4000-8000-00000000000a.yaml";
        let edited = fixture("rules-source.yml").replace("for: 10m", "for: 15m");
        s.config_maps = vec![serde_json::from_value(serde_json::json!({
            "metadata": {"name": cm_name, "namespace": "monitoring", "creationTimestamp": "2026-11-21T10:00:00Z"},
            "data": {key: edited},
        }))
        .unwrap()];
        let mut running = running("3.16");
        running["groups"][0]["file"] = format!("{dir}/{key}").into();
        let pod = s.instance.pods[0].name.clone();
        s.live.push(LiveStatus {
            pod,
            rules: Some(running.clone()),
            runtimeinfo: Some(ok_runtime()),
            ..Default::default()
        });
        let src = sources(&s);
        assert_eq!(src.files.len(), 1, "{src:?}");
        assert_eq!(src.files[0].path, format!("{dir}/{key}"));
        let d = differences(&src, &running);
        assert_eq!(
            d,
            [(
                format!("configmap/{cm_name} key {key}"),
                "group node rule HighLoad for".to_string()
            )]
        );
        // A PrometheusRule deleted: its key is gone, its group still runs from a file in the resolved directory.
        let mut gone = s.clone();
        gone.config_maps[0].data = Some(Default::default());
        let d = differences(&sources(&gone), &running);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].1.ends_with("(removed from the source)"), "{d:?}");
    }
}
