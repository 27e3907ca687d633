//! Prometheus' command line as written in a pod template: which container runs Prometheus, and its flags read the
//! way Prometheus' kingpin parser reads them.

use k8s_openapi::api::core::v1::{Container, PodSpec};

/// The container that runs Prometheus: its image repository is `prometheus`, or its command is `prometheus`, or
/// its args carry `--config.file` together with `--storage.tsdb.path` (what only the server takes).
pub fn prometheus_container(spec: &PodSpec) -> Option<&Container> {
    spec.containers.iter().find(|c| is_prometheus_container(c))
}

fn is_prometheus_container(c: &Container) -> bool {
    let image_repo = c.image.as_deref().map(image_repository).unwrap_or_default();
    if image_repo == "prometheus" {
        return true;
    }
    let command_is_prometheus = c
        .command
        .as_ref()
        .and_then(|cmd| cmd.first())
        .is_some_and(|first| first.rsplit('/').next() == Some("prometheus"));
    if command_is_prometheus {
        return true;
    }
    let args = all_args(c);
    has_flag(&args, "config.file") && has_flag(&args, "storage.tsdb.path")
}

/// `quay.io/prometheus/prometheus:v2.48.0@sha256:…` → `prometheus`.
fn image_repository(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last).to_string()
}

/// Command then args, as written.
pub fn all_args(c: &Container) -> Vec<String> {
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect()
}

pub fn has_flag(args: &[String], name: &str) -> bool {
    flag_value(args, name).is_some() || args.iter().any(|a| a.trim_start_matches('-') == name)
}

/// The value of `--name=value` or `--name value` (Prometheus' kingpin accepts both, and one or two dashes).
pub fn flag_value(args: &[String], name: &str) -> Option<String> {
    let mut iter = args.iter().peekable();
    while let Some(a) = iter.next() {
        let Some(stripped) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            continue;
        };
        if let Some((k, v)) = stripped.split_once('=') {
            if k == name {
                return Some(v.to_string());
            }
        } else if stripped == name
            && let Some(next) = iter.peek()
            && !next.starts_with('-')
        {
            return Some((*next).clone());
        }
    }
    None
}

/// Whether a boolean kingpin flag is on in these args (`--flag`, `--flag=true`; `--no-flag` turns it off).
pub fn bool_flag(args: &[String], name: &str) -> bool {
    let mut on = false;
    for a in args {
        let s = a.trim_start_matches('-');
        if s == name || s == format!("{name}=true") {
            on = true;
        } else if s == format!("no-{name}") || s == format!("{name}=false") {
            on = false;
        }
    }
    on
}

/// `/`, `/prometheus` — as Prometheus does: route prefix, else the external URL's path, then `"/" + trim("/")`.
pub fn route_prefix(args: &[String]) -> String {
    let raw = flag_value(args, "web.route-prefix")
        .or_else(|| {
            flag_value(args, "web.external-url").map(|url| {
                let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(&url);
                after_scheme
                    .find('/')
                    .map(|i| after_scheme[i..].to_string())
                    .unwrap_or_default()
            })
        })
        .unwrap_or_default();
    format!("/{}", raw.trim_matches('/'))
}
