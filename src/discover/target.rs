//! Parsing the target argument (`deploy/NAME`, `sts/NAME`, `pod/NAME`, `prometheus/NAME`, `NAME`).

use crate::error::{Error, Result};

/// What the user named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRef {
    /// A bare name: an instance, a workload or a Helm release.
    Name(String),
    Deployment(String),
    StatefulSet(String),
    Pod(String),
    /// An operator `Prometheus` resource.
    Prometheus(String),
}

/// Parse `deploy/NAME`, `sts/NAME`, `pod/NAME`, `prometheus/NAME` or `NAME` (kubectl's resource aliases accepted).
pub fn parse_target(text: &str) -> Result<TargetRef> {
    let bad = |why: &str| {
        Error::usage(
            format!("`{text}` is not a Prometheus target: {why}"),
            Some(
                "name an instance, or one of deploy/NAME, sts/NAME, pod/NAME, prometheus/NAME"
                    .to_string(),
            ),
        )
    };
    let Some((kind, name)) = text.split_once('/') else {
        if text.trim().is_empty() {
            return Err(bad("it is empty"));
        }
        return Ok(TargetRef::Name(text.to_string()));
    };
    if name.is_empty() || name.contains('/') {
        return Err(bad("expected KIND/NAME"));
    }
    let name = name.to_string();
    Ok(match kind.to_ascii_lowercase().as_str() {
        "deploy" | "deployment" | "deployments" | "deployment.apps" | "deployments.apps" => {
            TargetRef::Deployment(name)
        }
        "sts" | "statefulset" | "statefulsets" | "statefulset.apps" | "statefulsets.apps" => {
            TargetRef::StatefulSet(name)
        }
        "po" | "pod" | "pods" => TargetRef::Pod(name),
        "prometheus"
        | "prometheuses"
        | "prometheus.monitoring.coreos.com"
        | "prometheuses.monitoring.coreos.com" => TargetRef::Prometheus(name),
        other => {
            return Err(bad(&format!(
                "`{other}` is not one of deploy, sts, pod, prometheus"
            )));
        }
    })
}
