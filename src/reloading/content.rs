//! The proof of a reload by content (issue 19 item 2), pure: does the configuration Prometheus reports running
//! (`GET /api/v1/status/config`) hold what the pod's configuration file holds?
//!
//! Prometheus reports the configuration it loaded, re-marshalled: with its defaults filled in (`scrape_timeout`,
//! `metrics_path`, `honor_labels: false`, …), zero values left out, secrets as `<secret>`, durations in its own
//! spelling (`60s` → `1m`) and relative file paths made absolute against the config file's directory
//! (prometheus config/config.go `SetDirectory`). A byte or hash comparison would therefore always differ, and applying
//! Prometheus' defaults ourselves would copy its loader (and drift from it per version). So both YAMLs are parsed and
//! compared as values, with the file as the reference: every value the file sets must be what Prometheus runs (a
//! default the file leaves out may appear; a zero value the file spells out may be omitted), and every list (scrape
//! jobs, targets, rule files) must have the same entries, so a job Prometheus runs that the file lacks is found too.

use serde::Serialize;
use serde_json::Value;

/// What the comparison found for one pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The running configuration holds what the file holds.
    Matches,
    /// It does not (the detail names the first differences).
    Differs,
    /// The file or the running configuration could not be read or parsed: nothing is claimed.
    Unknown,
}

/// The per-pod result (`-o json`: `content`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentCheck {
    pub verdict: Verdict,
    /// The file compared (`--config.file`).
    pub file: String,
    /// The differences, or why it is unknown.
    pub detail: Option<String>,
}

impl ContentCheck {
    pub fn unknown(file: &str, why: impl Into<String>) -> Self {
        ContentCheck {
            verdict: Verdict::Unknown,
            file: file.to_string(),
            detail: Some(why.into()),
        }
    }

    /// One line for a person.
    pub fn describe(&self) -> String {
        match self.verdict {
            Verdict::Matches => format!("running configuration matches {}", self.file),
            Verdict::Differs => format!(
                "running configuration does not match {}: {}",
                self.file,
                self.detail.as_deref().unwrap_or("it differs")
            ),
            Verdict::Unknown => format!(
                "unknown whether the running configuration matches {}: {}",
                self.file,
                self.detail.as_deref().unwrap_or("not compared")
            ),
        }
    }
}

/// At most this many differences are named; the rest are counted.
const SHOWN: usize = 3;

/// Compare the file's text with the YAML Prometheus reports running.
pub fn compare(file: &str, file_text: &str, running_yaml: &str) -> ContentCheck {
    let parse = |text: &str, what: &str| {
        crate::yaml::from_str::<Value>(text).map_err(|e| format!("{what} is not YAML ({e})"))
    };
    let (want, have) = match (
        parse(file_text, &format!("the file {file}")),
        parse(running_yaml, "the running configuration"),
    ) {
        (Ok(w), Ok(h)) => (w, h),
        (Err(e), _) | (_, Err(e)) => return ContentCheck::unknown(file, e),
    };
    let mut diffs = Vec::new();
    diff(&want, &have, "", &mut diffs);
    if diffs.is_empty() {
        return ContentCheck {
            verdict: Verdict::Matches,
            file: file.to_string(),
            detail: None,
        };
    }
    let mut detail = diffs
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if diffs.len() > SHOWN {
        detail.push_str(&format!("; and {} more difference(s)", diffs.len() - SHOWN));
    }
    ContentCheck {
        verdict: Verdict::Differs,
        file: file.to_string(),
        detail: Some(detail),
    }
}

/// A zero value Prometheus leaves out when it marshals (`omitempty`).
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_zero),
    }
}

/// How an entry of a list is named in a difference: a scrape job by its `job_name`, a rule group by `name`.
fn entry_name(v: &Value) -> Option<String> {
    ["job_name", "name", "url"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|n| n.as_str()))
        .map(|n| format!("`{n}`"))
        .or_else(|| v.as_str().map(|s| format!("`{s}`")))
}

fn at(path: &str) -> String {
    if path.is_empty() {
        "the top level".to_string()
    } else {
        format!("`{path}`")
    }
}

fn diff(want: &Value, have: &Value, path: &str, out: &mut Vec<String>) {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (k, wv) in w {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match h.get(k) {
                    Some(hv) => diff(wv, hv, &p, out),
                    None if is_zero(wv) => {}
                    None => out.push(format!(
                        "the file sets `{p}`, the running configuration has none"
                    )),
                }
            }
        }
        (Value::Array(w), Value::Array(h)) => {
            for (i, wv) in w.iter().enumerate() {
                let name = entry_name(wv);
                // Entries with a name are matched by it (a job moved in the list is still the job).
                let counterpart = match &name {
                    Some(n) if wv.is_object() => {
                        h.iter().find(|hv| entry_name(hv).as_ref() == Some(n))
                    }
                    _ => h.get(i),
                };
                let label = name.clone().unwrap_or_else(|| format!("#{}", i + 1));
                match counterpart {
                    Some(hv) => diff(wv, hv, &format!("{path}[{label}]"), out),
                    None => out.push(format!(
                        "{} has {label} in the file, not in the running configuration",
                        at(path)
                    )),
                }
            }
            for (i, hv) in h.iter().enumerate() {
                let name = entry_name(hv);
                let in_file = match &name {
                    Some(n) if hv.is_object() => {
                        w.iter().any(|wv| entry_name(wv).as_ref() == Some(n))
                    }
                    _ => i < w.len(),
                };
                if !in_file {
                    out.push(format!(
                        "{} has {} in the running configuration, not in the file",
                        at(path),
                        name.unwrap_or_else(|| format!("#{}", i + 1))
                    ));
                }
            }
        }
        (w, h) if same_scalar(w, h) => {}
        (w, h) => out.push(format!(
            "`{path}` is {} in the file, {} running",
            short(w),
            short(h)
        )),
    }
}

/// A value for a difference sentence, cut short (a configuration value can be long; secrets never reach here as
/// Prometheus masks them as `<secret>`, which matches anything).
fn short(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let text = crate::escape::escape(&text);
    if text.chars().count() > 60 {
        format!("`{}…`", text.chars().take(60).collect::<String>())
    } else {
        format!("`{text}`")
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn same_scalar(want: &Value, have: &Value) -> bool {
    let (Some(w), Some(h)) = (scalar_text(want), scalar_text(have)) else {
        return false;
    };
    if w == h || h == "<secret>" {
        return true;
    }
    if let (Some(a), Some(b)) = (duration_ms(&w), duration_ms(&h)) {
        return a == b;
    }
    if let (Ok(a), Ok(b)) = (w.parse::<f64>(), h.parse::<f64>()) {
        return a == b;
    }
    // A relative path in the file is reported made absolute against the config file's directory.
    !w.is_empty()
        && !w.starts_with('/')
        && !w.contains("://")
        && h.starts_with('/')
        && h.ends_with(&format!("/{w}"))
}

/// A Prometheus duration (`1h30m`, `90s`, `1d`, `500ms`) in milliseconds (prometheus/common model.ParseDuration).
fn duration_ms(text: &str) -> Option<u128> {
    if text.is_empty() || text == "0" {
        return (text == "0").then_some(0);
    }
    let units: [(&str, u128); 7] = [
        ("ms", 1),
        ("s", 1_000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
        ("w", 604_800_000),
        ("y", 31_536_000_000),
    ];
    let mut rest = text;
    let mut total = 0u128;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u128 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, factor) = units
            .iter()
            .find(|(u, _)| rest.starts_with(u) && !(*u == "m" && rest.starts_with("ms")))?;
        total += n * factor;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "global:\n  scrape_interval: 60s\nrule_files:\n  - rules.yml\nscrape_configs:\n  - job_name: prometheus\n    honor_labels: false\n    static_configs:\n      - targets: ['localhost:9090']\n    basic_auth:\n      username: u\n      password: hunter2\n";

    /// What Debian's Prometheus 2.42 reports for FILE (its shape: defaults filled in, durations re-spelled, the
    /// password masked, the relative rule file made absolute, `honor_labels: false` left out).
    const RUNNING: &str = "global:\n  scrape_interval: 1m\n  scrape_timeout: 10s\n  evaluation_interval: 1m\nrule_files:\n- /etc/config/rules.yml\nscrape_configs:\n- job_name: prometheus\n  honor_timestamps: true\n  scrape_interval: 1m\n  scrape_timeout: 10s\n  metrics_path: /metrics\n  scheme: http\n  basic_auth:\n    username: u\n    password: <secret>\n  follow_redirects: true\n  enable_http2: true\n  static_configs:\n  - targets:\n    - localhost:9090\n";

    #[test]
    fn prometheus_defaults_spelling_and_masking_are_not_differences() {
        let c = compare("/etc/config/prometheus.yml", FILE, RUNNING);
        assert_eq!(c.verdict, Verdict::Matches, "{c:?}");
        assert_eq!(
            c.describe(),
            "running configuration matches /etc/config/prometheus.yml"
        );
    }

    #[test]
    fn a_job_only_in_the_file_or_only_running_is_named() {
        let file = format!(
            "{FILE}  - job_name: only-in-file\n    static_configs:\n      - targets: ['localhost:9100']\n"
        );
        let c = compare("/f.yml", &file, RUNNING);
        assert_eq!(c.verdict, Verdict::Differs);
        let detail = c.detail.clone().unwrap();
        assert!(
            detail.contains(
                "`scrape_configs` has `only-in-file` in the file, not in the running configuration"
            ),
            "{detail}"
        );
        let running =
            format!("{RUNNING}- job_name: stale-job\n  static_configs:\n  - targets: [a:1]\n");
        let c = compare("/f.yml", FILE, &running);
        assert_eq!(c.verdict, Verdict::Differs);
        assert!(
            c.detail
                .unwrap()
                .contains("has `stale-job` in the running configuration, not in the file")
        );
    }

    #[test]
    fn a_changed_value_is_quoted_with_both_sides() {
        let file = FILE.replace("localhost:9090", "localhost:9091");
        let c = compare("/f.yml", &file, RUNNING);
        assert_eq!(c.verdict, Verdict::Differs);
        let detail = c.detail.unwrap();
        assert!(
            detail.contains("`localhost:9091`") && detail.contains("`localhost:9090`"),
            "{detail}"
        );
        let file = FILE.replace("60s", "30s");
        let c = compare("/f.yml", &file, RUNNING);
        assert!(
            c.detail
                .unwrap()
                .contains("`global.scrape_interval` is `30s` in the file, `1m` running")
        );
    }

    #[test]
    fn unreadable_text_is_unknown_not_a_difference() {
        let c = compare("/f.yml", "a: [", RUNNING);
        assert_eq!(c.verdict, Verdict::Unknown);
        assert!(
            c.describe()
                .starts_with("unknown whether the running configuration matches /f.yml")
        );
    }

    #[test]
    fn durations_parse_as_prometheus_does() {
        assert_eq!(duration_ms("1m"), Some(60_000));
        assert_eq!(duration_ms("60s"), Some(60_000));
        assert_eq!(duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(duration_ms("500ms"), Some(500));
        assert_eq!(duration_ms("localhost"), None);
        assert_eq!(duration_ms("15"), None);
    }
}
