//! A Prometheus configuration key checker for when `promtool` is not in the image: YAML syntax, then every mapping
//! key in the sections we know against Prometheus' config schema (config/config.go, discovery/*, common/config
//! HTTPClientConfig), with a did-you-mean for typos (`scarpe_interval` → `scrape_interval`, incident 3).
//!
//! A key that is close to a known one is an error (Prometheus' strict YAML would refuse it: `field X not found in
//! type config.ScrapeConfig`); a key we do not know and that is not close to one is only a warning, because the
//! schema grows with each Prometheus release and a newer key must not block a reload.

use serde::Serialize;
use serde_json::Value;

/// One problem found in a config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigIssue {
    /// Error: Prometheus will refuse this config. Warning: we could not confirm the key.
    pub error: bool,
    /// 1-based line of the key in the text, when found.
    pub line: Option<usize>,
    /// Where in the config: `scrape_configs[0]`.
    pub path: String,
    pub message: String,
}

/// Check a config file's text. Empty result: nothing found.
pub fn check(text: &str) -> Vec<ConfigIssue> {
    let root: Value = match crate::yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return vec![ConfigIssue {
                error: true,
                line: e.line,
                path: String::new(),
                message: format!("not valid YAML: {}", e.message),
            }];
        }
    };
    let mut issues = Vec::new();
    if root.is_null() {
        return issues;
    }
    walk(text, &root, Section::Root, "", &mut issues);
    // Mappings are walked in key order (serde_json's map); report in the order of the text, as a reader scans it.
    issues.sort_by_key(|i| i.line.unwrap_or(usize::MAX));
    issues
}

/// The config sections we know the keys of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Root,
    Global,
    Scrape,
    StaticConfig,
    Relabel,
    FileSd,
    KubernetesSd,
    DnsSd,
    Alerting,
    Alertmanager,
    RemoteWrite,
    RemoteRead,
    QueueConfig,
    Storage,
    TlsConfig,
    BasicAuth,
    Authorization,
}

impl Section {
    /// Every section, so a lookup over all of them cannot miss one added later.
    const ALL: [Section; 17] = [
        Section::Root,
        Section::Global,
        Section::Scrape,
        Section::StaticConfig,
        Section::Relabel,
        Section::FileSd,
        Section::KubernetesSd,
        Section::DnsSd,
        Section::Alerting,
        Section::Alertmanager,
        Section::RemoteWrite,
        Section::RemoteRead,
        Section::QueueConfig,
        Section::Storage,
        Section::TlsConfig,
        Section::BasicAuth,
        Section::Authorization,
    ];
}

/// The HTTP client options every scraping/remote section accepts (prometheus/common config.HTTPClientConfig).
const HTTP_CLIENT: &[&str] = &[
    "basic_auth",
    "authorization",
    "oauth2",
    "bearer_token",
    "bearer_token_file",
    "tls_config",
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
    "follow_redirects",
    "enable_http2",
    "http_headers",
];

/// Service discovery blocks (any `*_sd_configs` is accepted as a key; only these have their keys checked).
const SD_CONFIGS: &[&str] = &[
    "static_configs",
    "file_sd_configs",
    "kubernetes_sd_configs",
    "dns_sd_configs",
    "consul_sd_configs",
    "ec2_sd_configs",
    "azure_sd_configs",
    "gce_sd_configs",
    "openstack_sd_configs",
    "http_sd_configs",
    "docker_sd_configs",
    "dockerswarm_sd_configs",
    "digitalocean_sd_configs",
    "eureka_sd_configs",
    "hetzner_sd_configs",
    "ionos_sd_configs",
    "kuma_sd_configs",
    "lightsail_sd_configs",
    "linode_sd_configs",
    "marathon_sd_configs",
    "nerve_sd_configs",
    "nomad_sd_configs",
    "ovhcloud_sd_configs",
    "puppetdb_sd_configs",
    "scaleway_sd_configs",
    "serverset_sd_configs",
    "triton_sd_configs",
    "uyuni_sd_configs",
    "vultr_sd_configs",
    "stackit_sd_configs",
];

const SCRAPE_LIMITS: &[&str] = &[
    "body_size_limit",
    "sample_limit",
    "label_limit",
    "label_name_length_limit",
    "label_value_length_limit",
    "target_limit",
    "keep_dropped_targets",
    "native_histogram_bucket_limit",
    "native_histogram_min_bucket_factor",
    "metric_name_validation_scheme",
    "metric_name_escaping_scheme",
    "scrape_protocols",
    "scrape_failure_log_file",
    "always_scrape_classic_histograms",
    "convert_classic_histograms_to_nhcb",
    "scrape_native_histograms",
    "extra_scrape_metrics",
];

fn keys(section: Section) -> Vec<&'static str> {
    let own: &[&str] = match section {
        Section::Root => &[
            "global",
            "runtime",
            "rule_files",
            "scrape_config_files",
            "scrape_configs",
            "alerting",
            "remote_write",
            "remote_read",
            "storage",
            "tracing",
            "otlp",
        ],
        Section::Global => &[
            "scrape_interval",
            "scrape_timeout",
            "evaluation_interval",
            "rule_query_offset",
            "external_labels",
            "query_log_file",
        ],
        Section::Scrape => &[
            "job_name",
            "scrape_interval",
            "scrape_timeout",
            "scrape_classic_histograms",
            "fallback_scrape_protocol",
            "metrics_path",
            "honor_labels",
            "honor_timestamps",
            "track_timestamps_staleness",
            "scheme",
            "params",
            "enable_compression",
            "relabel_configs",
            "metric_relabel_configs",
        ],
        Section::StaticConfig => &["targets", "labels"],
        Section::Relabel => &[
            "source_labels",
            "separator",
            "target_label",
            "regex",
            "modulus",
            "replacement",
            "action",
        ],
        Section::FileSd => &["files", "refresh_interval"],
        Section::KubernetesSd => &[
            "role",
            "namespaces",
            "selectors",
            "api_server",
            "kubeconfig_file",
            "attach_metadata",
        ],
        Section::DnsSd => &["names", "type", "port", "refresh_interval"],
        Section::Alerting => &["alertmanagers", "alert_relabel_configs"],
        Section::Alertmanager => &[
            "timeout",
            "api_version",
            "path_prefix",
            "scheme",
            "relabel_configs",
            "alert_relabel_configs",
            "sigv4",
        ],
        Section::RemoteWrite => &[
            "url",
            "name",
            "remote_timeout",
            "headers",
            "write_relabel_configs",
            "send_exemplars",
            "send_native_histograms",
            "protobuf_message",
            "round_robin_dns",
            "queue_config",
            "metadata_config",
            "sigv4",
            "azuread",
            "google_iam",
        ],
        Section::RemoteRead => &[
            "url",
            "name",
            "remote_timeout",
            "headers",
            "required_matchers",
            "read_recent",
            "filter_external_labels",
        ],
        Section::QueueConfig => &[
            "capacity",
            "max_shards",
            "min_shards",
            "max_samples_per_send",
            "batch_send_deadline",
            "min_backoff",
            "max_backoff",
            "retry_on_http_429",
            "sample_age_limit",
        ],
        Section::Storage => &["tsdb", "exemplars"],
        Section::TlsConfig => &[
            "ca",
            "ca_file",
            "ca_ref",
            "cert",
            "cert_file",
            "cert_ref",
            "key",
            "key_file",
            "key_ref",
            "server_name",
            "insecure_skip_verify",
            "min_version",
            "max_version",
        ],
        Section::BasicAuth => &[
            "username",
            "username_file",
            "username_ref",
            "password",
            "password_file",
            "password_ref",
        ],
        Section::Authorization => &["type", "credentials", "credentials_file", "credentials_ref"],
    };
    let mut all: Vec<&'static str> = own.to_vec();
    match section {
        Section::Global => all.extend(SCRAPE_LIMITS),
        Section::Scrape => {
            all.extend(SCRAPE_LIMITS);
            all.extend(HTTP_CLIENT);
            all.extend(SD_CONFIGS);
        }
        Section::KubernetesSd | Section::RemoteWrite | Section::RemoteRead => {
            all.extend(HTTP_CLIENT)
        }
        Section::Alertmanager => {
            all.extend(HTTP_CLIENT);
            all.extend(SD_CONFIGS);
        }
        _ => {}
    }
    all
}

/// The section a key's value is, when we check it.
fn child(section: Section, key: &str) -> Option<Section> {
    Some(match (section, key) {
        (Section::Root, "global") => Section::Global,
        (Section::Root, "scrape_configs") => Section::Scrape,
        (Section::Root, "alerting") => Section::Alerting,
        (Section::Root, "remote_write") => Section::RemoteWrite,
        (Section::Root, "remote_read") => Section::RemoteRead,
        (Section::Root, "storage") => Section::Storage,
        (Section::Alerting, "alertmanagers") => Section::Alertmanager,
        (Section::Alerting, "alert_relabel_configs") => Section::Relabel,
        (Section::RemoteWrite, "queue_config") => Section::QueueConfig,
        (Section::RemoteWrite, "write_relabel_configs") => Section::Relabel,
        (_, "static_configs") => Section::StaticConfig,
        (_, "relabel_configs" | "metric_relabel_configs" | "alert_relabel_configs") => {
            Section::Relabel
        }
        (_, "file_sd_configs") => Section::FileSd,
        (_, "kubernetes_sd_configs") => Section::KubernetesSd,
        (_, "dns_sd_configs") => Section::DnsSd,
        (_, "tls_config") => Section::TlsConfig,
        (_, "basic_auth") => Section::BasicAuth,
        (_, "authorization") => Section::Authorization,
        _ => return None,
    })
}

/// The keys we know of the config type Prometheus names in `field X not found in type T` (e.g.
/// `config.ScrapeConfig`, or `config.plain` for the top level and `global:`); empty for a type we do not know.
/// Used by `doctor` to suggest the intended key from Prometheus' own error text.
pub fn keys_of_type(go_type: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Section::ALL
        .into_iter()
        .filter(|s| type_name(*s) == go_type)
        .flat_map(keys)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Prometheus' Go type name for a section, as its error messages print it (prometheus-facts §1.1).
fn type_name(section: Section) -> &'static str {
    match section {
        Section::Root | Section::Global => "config.plain",
        Section::Scrape => "config.ScrapeConfig",
        Section::StaticConfig => "targetgroup.Group",
        Section::Relabel => "relabel.Config",
        Section::FileSd => "file.SDConfig",
        Section::KubernetesSd => "kubernetes.SDConfig",
        Section::DnsSd => "dns.SDConfig",
        Section::Alerting => "config.AlertingConfig",
        Section::Alertmanager => "config.AlertmanagerConfig",
        Section::RemoteWrite => "config.RemoteWriteConfig",
        Section::RemoteRead => "config.RemoteReadConfig",
        Section::QueueConfig => "config.QueueConfig",
        Section::Storage => "config.StorageConfig",
        Section::TlsConfig => "config.TLSConfig",
        Section::BasicAuth => "config.BasicAuth",
        Section::Authorization => "config.Authorization",
    }
}

fn walk(text: &str, value: &Value, section: Section, path: &str, issues: &mut Vec<ConfigIssue>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(text, item, section, &format!("{path}[{i}]"), issues);
            }
        }
        Value::Object(map) => {
            let known = keys(section);
            for (key, v) in map {
                let key = key.as_str();
                let here = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                let ok = known.contains(&key)
                    || (key.ends_with("_sd_configs")
                        && matches!(section, Section::Scrape | Section::Alertmanager));
                if !ok {
                    let line = line_of(text, key);
                    let at = if path.is_empty() {
                        "at the top level".to_string()
                    } else {
                        format!("in {path}")
                    };
                    match did_you_mean(key, &known) {
                        Some(suggestion) => issues.push(ConfigIssue {
                            error: true,
                            line,
                            path: here.clone(),
                            message: format!(
                                "field {key} not found in type {} {at}; did you mean `{suggestion}`?",
                                type_name(section)
                            ),
                        }),
                        None => issues.push(ConfigIssue {
                            error: false,
                            line,
                            path: here.clone(),
                            message: format!(
                                "unknown key `{key}` {at} (not in the schema this checker knows; Prometheus may refuse it)"
                            ),
                        }),
                    }
                    continue;
                }
                if let Some(next) = child(section, key) {
                    walk(text, v, next, &here, issues);
                }
            }
        }
        _ => {}
    }
}

/// The 1-based line where `key:` first appears as a mapping key.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// The closest known key within an edit distance of 2 (or 3 for long keys), if any.
pub fn did_you_mean<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = if key.len() > 12 { 3 } else { 2 };
    // Never the key itself: "rename kubernetes_sd_configs to kubernetes_sd_configs" (issue 18 item 8) helps nobody.
    known
        .iter()
        .filter(|k| **k != key)
        .map(|k| (osa_distance(key, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions: `scarpe` → `scrape` is 1).
fn osa_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Incident 3's config, with its typo.
    const SEED_TYPO: &str = "global:\n  scrape_interval: 15s\n\nscrape_configs:\n  - job_name: prometheus\n    scarpe_interval: 5s\n    static_configs:\n      - targets: ['localhost:9090']\n";

    #[test]
    fn the_suggestion_is_never_the_key_itself() {
        assert_eq!(
            did_you_mean(
                "kubernetes_sd_configs",
                &["kubernetes_sd_configs", "dns_sd_configs"]
            ),
            None
        );
        assert_eq!(
            did_you_mean("scarpe_interval", &["scrape_interval"]),
            Some("scrape_interval")
        );
    }

    #[test]
    fn the_incident_typo_is_an_error_with_a_suggestion() {
        let issues = check(SEED_TYPO);
        assert_eq!(issues.len(), 1, "{issues:?}");
        let i = &issues[0];
        assert!(i.error);
        assert_eq!(i.line, Some(6));
        assert_eq!(i.path, "scrape_configs[0].scarpe_interval");
        assert_eq!(
            i.message,
            "field scarpe_interval not found in type config.ScrapeConfig in scrape_configs[0]; did you mean `scrape_interval`?"
        );
    }

    #[test]
    fn a_valid_realistic_config_has_no_issues() {
        let text = r#"
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels: {cluster: prod}
rule_files: [/etc/config/rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['am:9093']}]
      path_prefix: /
scrape_configs:
  - job_name: kubernetes-pods
    honor_labels: true
    kubernetes_sd_configs:
      - role: pod
        namespaces: {names: [monitoring]}
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: true
    tls_config: {insecure_skip_verify: true}
    bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token
  - job_name: files
    file_sd_configs: [{files: ['/etc/prometheus/targets/*.json'], refresh_interval: 1m}]
remote_write:
  - url: http://thanos:19291/api/v1/receive
    queue_config: {max_shards: 10}
    write_relabel_configs: [{action: drop, regex: 'go_.*', source_labels: [__name__]}]
"#;
        assert_eq!(check(text), vec![]);
    }

    #[test]
    fn typos_in_global_and_relabel_sections_and_unknown_keys() {
        let text = "global:\n  evaluation_intervall: 1m\nscrape_configs:\n  - job_name: x\n    relabel_configs:\n      - sourcelabels: [a]\n        action: keep\n    brand_new_option: 1\n";
        let issues = check(text);
        assert_eq!(issues.len(), 3, "{issues:?}");
        assert!(
            issues[0].message.contains("type config.plain")
                && issues[0].message.contains("`evaluation_interval`")
        );
        assert!(issues[1].message.contains("`source_labels`") && issues[1].error);
        assert!(!issues[2].error && issues[2].message.contains("brand_new_option"));
    }

    #[test]
    fn yaml_syntax_errors_are_reported_with_a_line() {
        let issues = check("global:\n  scrape_interval: 15s\n bad_indent: [\n");
        assert_eq!(issues.len(), 1);
        assert!(issues[0].error && issues[0].message.starts_with("not valid YAML"));
        // The line of the bad indentation itself, as serde_yaml reported it.
        assert_eq!(issues[0].line, Some(3), "{issues:?}");
        // The message never quotes the config (a line may hold a password).
        let issues = check("basic_auth:\n  password: hunter2: x\n");
        assert_eq!(issues[0].line, Some(2), "{issues:?}");
        assert!(!issues[0].message.contains("hunter2"), "{issues:?}");
    }

    #[test]
    fn distance_counts_transpositions_as_one() {
        assert_eq!(osa_distance("scarpe_interval", "scrape_interval"), 1);
        assert_eq!(
            did_you_mean("metric_path", &["metrics_path", "scheme"]),
            Some("metrics_path")
        );
        assert_eq!(did_you_mean("zzz", &["metrics_path"]), None);
    }
}
