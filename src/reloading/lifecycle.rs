//! How an install reloads Prometheus (pure): the lifecycle API's state (the running server's flags win over the
//! container args), the reload way (POST /-/reload, or SIGHUP for the operator's `reloadStrategy: ProcessSignal`), and
//! adding `--web.enable-lifecycle` to a container.

use crate::discover::{self, flag_value};
use k8s_openapi::api::core::v1::PodSpec;
use serde::Serialize;
use std::collections::BTreeMap;

pub const LIFECYCLE_FLAG: &str = "web.enable-lifecycle";

/// Whether a pod's lifecycle API is on, and where we learned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    pub enabled: bool,
    /// `live` (/api/v1/status/flags) or `containerArgs` (the pod template, when the server could not be asked).
    pub source: &'static str,
}

/// The running server's flags win; the container args are the fallback.
pub fn lifecycle(flags: Option<&BTreeMap<String, String>>, args: &[String]) -> Lifecycle {
    match flags.and_then(|f| f.get(LIFECYCLE_FLAG)) {
        Some(v) => Lifecycle {
            enabled: v == "true",
            source: "live",
        },
        None => Lifecycle {
            enabled: discover::bool_flag(args, LIFECYCLE_FLAG),
            source: "containerArgs",
        },
    }
}

/// How the install itself reloads Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReloadWay {
    /// `POST /-/reload` (needs `--web.enable-lifecycle`).
    Http,
    /// SIGHUP to the Prometheus process: the operator's `reloadStrategy: ProcessSignal` (operator ≥ 0.72), whose
    /// config-reloader runs with `--reload-method=signal` in a shared PID namespace and leaves the lifecycle API off on
    /// purpose (prometheus-operator pkg/prometheus/common.go `BuildConfigReloader`: `ReloaderUseSignal()` and a
    /// `--runtimeinfo-url` instead of `--reload-url`; pkg/apis/monitoring/v1/prometheus_types.go
    /// `ProcessSignalReloadStrategyType` "reloads the configuration by sending a SIGHUP signal to the process").
    Signal,
    /// Nothing to send: Prometheus ≥ 3.12 started with `--config.auto-reload` (3.0–3.11:
    /// `--enable-feature=auto-reload-config`) re-reads its file every `--config.auto-reload-interval` (default 30s,
    /// at least 1s) when the file's checksum changed (prometheus v3.16.0 cmd/prometheus/main.go: the flags, and the
    /// reload loop's `time.Tick(cfg.autoReloadInterval)` case comparing `config.GenerateChecksum`). reload waits for it.
    #[serde(rename_all = "camelCase")]
    Auto { interval_seconds: u64 },
}

impl ReloadWay {
    /// What becomes of a configuration reload refuses as invalid, and the hint. A reload we send is simply not sent.
    /// A server that reloads its file by itself reads it anyway once the kubelet syncs it: it fails to load it, logs
    /// `Error reloading config`, keeps running the previous configuration and, its checksum reset, tries again every
    /// interval until the file is fixed (prometheus v3.16.0 cmd/prometheus/main.go: the `time.Tick` case calls
    /// `reloadConfig`, whose failure leaves the running config; the callback sets `checksum = ""` and adds the
    /// `ConfigurationUnsuccessful` notification). `--no-validate` cannot help there: nothing is sent either way.
    pub fn when_invalid(self, object: &str, ns: &str) -> (String, String) {
        match self {
            ReloadWay::Auto { interval_seconds } => (
                format!(
                    "and Prometheus reloads it by itself (config.auto-reload, every {interval_seconds}s): it will \
                     fail to load the file and keep running the previous configuration until it is fixed"
                ),
                format!(
                    "fix it (kubectl edit {object} -n {ns}); Prometheus loads the fixed file within \
                     {interval_seconds}s of the kubelet syncing it, nothing needs to be sent"
                ),
            ),
            ReloadWay::Http | ReloadWay::Signal => (
                "so it was not reloaded".to_string(),
                format!(
                    "fix it (kubectl edit {object} -n {ns}), or reload anyway with --no-validate"
                ),
            ),
        }
    }
}

/// The auto-reload interval when the server reloads its file by itself: the running server's flags
/// (`/api/v1/status/flags`: `config.auto-reload`, `enable-feature`, `config.auto-reload-interval`), else the container
/// args. None when it does not.
pub fn auto_reload(flags: Option<&BTreeMap<String, String>>, args: &[String]) -> Option<u64> {
    let feature = |v: &str| v.split(',').any(|f| f.trim() == "auto-reload-config");
    let (on, interval) = match flags {
        Some(f) => (
            f.get("config.auto-reload").is_some_and(|v| v == "true")
                || f.get("enable-feature").is_some_and(|v| feature(v)),
            f.get("config.auto-reload-interval").cloned(),
        ),
        None => (
            discover::bool_flag(args, "config.auto-reload")
                || args
                    .iter()
                    .filter_map(|a| a.strip_prefix("--enable-feature="))
                    .any(feature),
            flag_value(args, "config.auto-reload-interval"),
        ),
    };
    // main.go: an interval under 1s is raised to 1s; an unreadable one is taken as the 30s default.
    on.then(|| {
        interval
            .as_deref()
            .and_then(super::content::duration_ms)
            .map_or(30, |ms| (ms / 1000).max(1))
    })
}

/// The reload way from the evidence at hand: the operator's `Prometheus` resource (`spec.reloadStrategy`), else the
/// reload sidecar's args (`--reload-method=signal`).
pub fn reload_way(prometheus: Option<&serde_json::Value>, reloader_args: &[String]) -> ReloadWay {
    let strategy = prometheus
        .and_then(|p| p.pointer("/spec/reloadStrategy"))
        .and_then(|s| s.as_str());
    match strategy {
        Some("ProcessSignal") => ReloadWay::Signal,
        Some(_) => ReloadWay::Http,
        None if flag_value(reloader_args, "reload-method").as_deref() == Some("signal") => {
            ReloadWay::Signal
        }
        None => ReloadWay::Http,
    }
}

/// The objects (as read) that start the pods, which the lifecycle plan edits.
pub enum LifecycleTarget {
    Deployment(k8s_openapi::api::apps::v1::Deployment),
    StatefulSet(k8s_openapi::api::apps::v1::StatefulSet),
    /// The operator's `Prometheus` resource, as JSON.
    Prometheus(serde_json::Value),
}

/// Add `--web.enable-lifecycle` to the named container: to `args` when it has them (or has no command), else to
/// `command` (where a plain manifest put its flags). Returns false if the container is missing or already has it.
pub fn add_lifecycle_flag(spec: &mut PodSpec, container: &str) -> bool {
    let Some(c) = spec.containers.iter_mut().find(|c| c.name == container) else {
        return false;
    };
    if has_lifecycle_flag(spec_container_args(c).as_slice()) {
        return false;
    }
    let flag = format!("--{LIFECYCLE_FLAG}");
    // Drop an explicit `--no-web.enable-lifecycle` / `=false`, which would win otherwise.
    let off = |a: &String| {
        let s = a.trim_start_matches('-');
        s == format!("no-{LIFECYCLE_FLAG}") || s == format!("{LIFECYCLE_FLAG}=false")
    };
    for list in [c.command.as_mut(), c.args.as_mut()].into_iter().flatten() {
        list.retain(|a| !off(a));
    }
    match (&mut c.args, &mut c.command) {
        (Some(args), _) => args.push(flag),
        (None, Some(command)) if command.len() > 1 => command.push(flag),
        (None, _) => c.args = Some(vec![flag]),
    }
    true
}

fn spec_container_args(c: &k8s_openapi::api::core::v1::Container) -> Vec<String> {
    discover::all_args(c)
}

/// Whether these args turn the lifecycle API on.
pub fn has_lifecycle_flag(args: &[String]) -> bool {
    discover::bool_flag(args, LIFECYCLE_FLAG)
}

/// Whether the named container of a pod template runs with the lifecycle API on (the operator's generated
/// StatefulSet, read while waiting for the operator to roll the flag out).
pub fn template_has_lifecycle(spec: Option<&PodSpec>, container: &str) -> bool {
    spec.and_then(|s| s.containers.iter().find(|c| c.name == container))
        .is_some_and(|c| has_lifecycle_flag(&discover::all_args(c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_invalid_file_under_auto_reload_is_said_to_be_kept_out_by_prometheus_itself() {
        let (said, hint) = ReloadWay::Auto {
            interval_seconds: 5,
        }
        .when_invalid("configmap/prometheus-server", "monitoring");
        assert!(
            said.contains("reloads it by itself")
                && !said.contains("  ")
                && said.contains("keep running the previous configuration")
                && !said.contains("not reloaded"),
            "{said}"
        );
        assert!(!hint.contains("--no-validate"), "{hint}");
        let (said, hint) = ReloadWay::Http.when_invalid("configmap/p", "monitoring");
        assert_eq!(said, "so it was not reloaded");
        assert!(hint.contains("--no-validate"), "{hint}");
    }

    #[test]
    fn auto_reload_is_read_from_the_flags_then_the_args() {
        let flags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let on = flags(&[
            ("config.auto-reload", "true"),
            ("config.auto-reload-interval", "5s"),
        ]);
        assert_eq!(auto_reload(Some(&on), &[]), Some(5));
        let off = flags(&[
            ("config.auto-reload", "false"),
            ("config.auto-reload-interval", "30s"),
        ]);
        assert_eq!(
            auto_reload(Some(&off), &["--config.auto-reload".into()]),
            None
        );
        let feature = flags(&[("enable-feature", "exemplar-storage,auto-reload-config")]);
        assert_eq!(auto_reload(Some(&feature), &[]), Some(30));
        let short = flags(&[
            ("config.auto-reload", "true"),
            ("config.auto-reload-interval", "500ms"),
        ]);
        assert_eq!(auto_reload(Some(&short), &[]), Some(1));
        let args: Vec<String> = ["--config.auto-reload", "--config.auto-reload-interval=1m"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(auto_reload(None, &args), Some(60));
        assert_eq!(auto_reload(None, &[]), None);
    }

    #[test]
    fn live_flags_win_over_container_args() {
        let args = vec!["--web.enable-lifecycle".to_string()];
        let flags = BTreeMap::from([(LIFECYCLE_FLAG.to_string(), "false".to_string())]);
        assert_eq!(
            lifecycle(Some(&flags), &args),
            Lifecycle {
                enabled: false,
                source: "live"
            }
        );
        assert_eq!(
            lifecycle(None, &args),
            Lifecycle {
                enabled: true,
                source: "containerArgs"
            }
        );
        assert_eq!(
            lifecycle(None, &[]),
            Lifecycle {
                enabled: false,
                source: "containerArgs"
            }
        );
    }

    #[test]
    fn flag_goes_where_the_flags_are_and_explicit_off_is_removed() {
        let mut spec: PodSpec = serde_json::from_value(json!({"containers": [
            {"name": "p", "command": ["/bin/prometheus", "--config.file=/c.yml", "--no-web.enable-lifecycle"]}]}))
        .unwrap();
        assert!(add_lifecycle_flag(&mut spec, "p"));
        assert_eq!(
            spec.containers[0].command.as_ref().unwrap(),
            &[
                "/bin/prometheus",
                "--config.file=/c.yml",
                "--web.enable-lifecycle"
            ]
        );
        assert!(template_has_lifecycle(Some(&spec), "p"));
        assert!(!add_lifecycle_flag(&mut spec, "p"), "already on");
        assert!(!add_lifecycle_flag(&mut spec, "missing"));
        assert!(!template_has_lifecycle(Some(&spec), "missing"));
    }

    #[test]
    fn the_operator_resource_decides_the_reload_way_then_the_sidecar_args() {
        let signal = json!({"spec": {"reloadStrategy": "ProcessSignal"}});
        let http = json!({"spec": {"reloadStrategy": "HTTP"}});
        let sidecar = vec!["--reload-method=signal".to_string()];
        assert_eq!(reload_way(Some(&signal), &[]), ReloadWay::Signal);
        assert_eq!(reload_way(Some(&http), &sidecar), ReloadWay::Http);
        assert_eq!(
            reload_way(Some(&json!({"spec": {}})), &sidecar),
            ReloadWay::Signal
        );
        assert_eq!(reload_way(None, &[]), ReloadWay::Http);
        assert_eq!(
            reload_way(
                None,
                &["--reload-url=http://127.0.0.1:9090/-/reload".to_string()]
            ),
            ReloadWay::Http
        );
    }
}
