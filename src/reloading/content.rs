//! Does the configuration Prometheus reports running (`GET /api/v1/status/config`) hold what a source holds? The one
//! comparison for reload's proof by content (issue 19 item 2: the pod's file) and doctor's drift check (issue 19 item 1:
//! the ConfigMap), moved here from doctor/checks/drift.rs so both use one rule.
//!
//! Prometheus reports the configuration it loaded, re-marshalled: with its defaults filled in (`scrape_timeout`,
//! `metrics_path`, …), zero values left out, secrets as `<secret>` (prometheus/common config.Secret MarshalYAML),
//! durations in its own spelling (`90s` → `1m30s`) and relative file paths made absolute against the config file's
//! directory (prometheus config/config.go `SetDirectory`). A byte or hash comparison would therefore always differ, and
//! applying Prometheus' defaults ourselves would copy its loader (and drift from it per version). So both YAMLs are
//! parsed and compared as values with the source as the reference: everything the source sets must be what runs
//! (defaults it leaves out are not compared), scrape jobs are matched by `job_name` (one only in the source, or only
//! running, is named), durations compare by value. Only paths are reported, never values (a configuration holds
//! credentials).

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

/// Compare the file's text with the YAML Prometheus reports running ([`differences`]: paths only, never a value).
pub fn compare(file: &str, file_text: &str, running_yaml: &str) -> ContentCheck {
    let diffs = match differences(file_text, running_yaml) {
        Ok(d) => d,
        Err(e) => return ContentCheck::unknown(file, format!("not YAML: {e}")),
    };
    if diffs.is_empty() {
        return ContentCheck {
            verdict: Verdict::Matches,
            file: file.to_string(),
            detail: None,
        };
    }
    let mut detail = format!(
        "differs at {}",
        diffs
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    if diffs.len() > SHOWN {
        detail.push_str(&format!(" and {} more", diffs.len() - SHOWN));
    }
    ContentCheck {
        verdict: Verdict::Differs,
        file: file.to_string(),
        detail: Some(detail),
    }
}

/// Where the configuration differs, as paths (`global.scrape_interval`, `scrape_configs[job=node]`), at most a few.
pub fn differences(source: &str, running: &str) -> Result<Vec<String>, String> {
    let src: Value = crate::yaml::from_str(source).map_err(|e| format!("the source: {e}"))?;
    let run: Value = crate::yaml::from_str(running).map_err(|e| format!("the running one: {e}"))?;
    let mut out = Vec::new();
    walk(&src, &run, "", &mut out);
    Ok(out)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(src: &Value, run: &Value, path: &str, out: &mut Vec<String>) {
    match (src, run) {
        // Unset in the source: whatever default runs is what the source means.
        (Value::Null, _) => {}
        (Value::Object(s), Value::Object(r)) => {
            let s = bearer_as_authorization(s);
            for (k, sv) in s.iter() {
                let p = join(path, k);
                match r.get(k) {
                    Some(rv) => walk(sv, rv, &p, out),
                    None if is_empty(sv) => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Object(s), Value::Null) if s.is_empty() => {}
        (Value::Array(s), Value::Array(r)) if path.ends_with("scrape_configs") => {
            let job = |v: &Value| {
                v.get("job_name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            for sv in s {
                let name = job(sv).unwrap_or_default();
                let p = format!("{path}[job={name}]");
                match r
                    .iter()
                    .find(|rv| job(rv).as_deref() == Some(name.as_str()))
                {
                    Some(rv) => walk(sv, rv, &p, out),
                    None => out.push(format!("{p} (not running)")),
                }
            }
            for rv in r {
                let name = job(rv).unwrap_or_default();
                if !s.iter().any(|sv| job(sv).as_deref() == Some(name.as_str())) {
                    out.push(format!("{path}[job={name}] (removed from the source)"));
                }
            }
        }
        (Value::Array(s), Value::Array(r)) => {
            if s.len() != r.len() {
                out.push(format!("{path} ({} entries, {} running)", s.len(), r.len()));
                return;
            }
            for (i, (sv, rv)) in s.iter().zip(r).enumerate() {
                walk(sv, rv, &format!("{path}[{i}]"), out);
            }
        }
        (s, r) => {
            if !same_scalar(s, r) {
                out.push(path.to_string());
            }
        }
    }
}

/// The deprecated `bearer_token` / `bearer_token_file` of an HTTP client configuration as Prometheus runs them: its
/// loader moves them into `authorization` (type Bearer) and clears them (prometheus/common config/http_config.go
/// `HTTPClientConfig.Validate`), so the running configuration never shows them. The operator still generates
/// `bearer_token_file` for a ServiceMonitor endpoint's `bearerTokenFile` (kube-prometheus's own ServiceMonitors).
fn bearer_as_authorization(
    s: &serde_json::Map<String, Value>,
) -> std::borrow::Cow<'_, serde_json::Map<String, Value>> {
    let moved = [
        ("bearer_token", "credentials"),
        ("bearer_token_file", "credentials_file"),
    ]
    .into_iter()
    .filter_map(|(old, new)| Some((old, new, s.get(old).filter(|v| !is_empty(v))?.clone())))
    .collect::<Vec<_>>();
    if moved.is_empty() || s.get("authorization").is_some_and(|a| !is_empty(a)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = s.clone();
    let mut auth = serde_json::Map::new();
    auth.insert("type".into(), Value::String("Bearer".into()));
    for (old, new, v) in moved {
        out.remove(old);
        auth.insert(new.into(), v);
    }
    out.insert("authorization".into(), Value::Object(auth));
    std::borrow::Cow::Owned(out)
}

/// A zero value, which Prometheus leaves out when it marshals (`omitempty`: `honor_labels: false`, `sample_limit: 0`).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn same_scalar(s: &Value, r: &Value) -> bool {
    let (Some(s), Some(r)) = (scalar_text(s), scalar_text(r)) else {
        return false;
    };
    // The operator's generated configuration holds `$(POD_NAME)` and the like, which its reloader substitutes from the
    // environment before Prometheus reads the file (`--config-envsubst-file`): the running value is the substituted one.
    if s.contains("$(") {
        return true;
    }
    // A secret is printed as `<secret>`: it cannot be compared, and it is not a difference we can prove.
    s == r
        || r == "<secret>"
        || matches!((duration_ms(&s), duration_ms(&r)), (Some(a), Some(b)) if a == b)
        // A relative path in the source is printed made absolute against the config file's directory (prometheus
        // config/config.go `SetDirectory`).
        || (!s.is_empty()
            && !s.starts_with('/')
            && !s.contains("://")
            && r.starts_with('/')
            && r.ends_with(&format!("/{s}")))
}

/// A Prometheus duration (`1m30s`, `90s`, `1h`, `0s`, prometheus/common model.ParseDuration units) in milliseconds.
pub(crate) fn duration_ms(text: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let ms = match &rest[..unit] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(ms)?)?;
        rest = &rest[unit..];
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
    fn prometheus_defaults_spelling_masking_and_absolute_paths_are_not_differences() {
        let c = compare("/etc/config/prometheus.yml", FILE, RUNNING);
        assert_eq!(c.verdict, Verdict::Matches, "{c:?}");
        assert_eq!(
            c.describe(),
            "running configuration matches /etc/config/prometheus.yml"
        );
    }

    #[test]
    fn a_bearer_token_file_runs_as_authorization_and_is_no_difference() {
        // The operator's rendering of a ServiceMonitor endpoint with `bearerTokenFile` (kube-prometheus's
        // prometheus-operator ServiceMonitor) and what Prometheus 3 reports running for it.
        let file = "scrape_configs:\n- job_name: op\n  scheme: https\n  bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token\n";
        let running = "scrape_configs:\n- job_name: op\n  scheme: https\n  authorization:\n    type: Bearer\n    credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token\n";
        assert_eq!(differences(file, running).unwrap(), Vec::<String>::new());
        // Another token file running is still a difference.
        let other = running.replace("serviceaccount/token", "other/token");
        assert_eq!(
            differences(file, &other).unwrap(),
            ["scrape_configs[job=op].authorization.credentials_file"]
        );
    }

    #[test]
    fn a_job_only_in_the_file_or_only_running_is_named() {
        let file = format!(
            "{FILE}  - job_name: only-in-file\n    static_configs:\n      - targets: ['localhost:9100']\n"
        );
        let c = compare("/f.yml", &file, RUNNING);
        assert_eq!(c.verdict, Verdict::Differs);
        assert_eq!(
            c.detail.as_deref(),
            Some("differs at scrape_configs[job=only-in-file] (not running)")
        );
        let running =
            format!("{RUNNING}- job_name: stale-job\n  static_configs:\n  - targets: [a:1]\n");
        let c = compare("/f.yml", FILE, &running);
        assert!(
            c.describe()
                .ends_with("differs at scrape_configs[job=stale-job] (removed from the source)"),
            "{c:?}"
        );
    }

    #[test]
    fn a_changed_value_is_named_by_its_path_never_quoted() {
        let file = FILE
            .replace("localhost:9090", "localhost:9091")
            .replace("username: u", "username: secret-user");
        let c = compare("/f.yml", &file, RUNNING);
        assert_eq!(c.verdict, Verdict::Differs);
        let detail = c.detail.unwrap();
        assert!(
            detail.contains("scrape_configs[job=prometheus].static_configs[0].targets[0]"),
            "{detail}"
        );
        assert!(
            !detail.contains("9091") && !detail.contains("secret-user"),
            "{detail}"
        );
        let c = compare("/f.yml", &FILE.replace("60s", "30s"), RUNNING);
        assert_eq!(
            c.detail.as_deref(),
            Some("differs at global.scrape_interval")
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
