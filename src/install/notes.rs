//! The values-key table per chart and version, and the one sentence every verb prints after a change: where the
//! change must also be made, or what will undo it ("after this change, also …") — pure.

use super::chart::{Chart, ChartId};
use super::source::Source;

/// The kinds of change the verbs make that a chart renders from values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// An extra Prometheus flag (`--web.enable-lifecycle`).
    Flags,
    /// The data volume's size.
    VolumeSize,
    /// The pod's securityContext (runAsUser, fsGroup, …).
    PodSecurityContext,
    /// `--storage.tsdb.retention.size` / `spec.retentionSize`.
    RetentionSize,
    /// The chart's own permission-fixing init container.
    PermissionInit,
}

/// The values key a chart renders `key` from. Checked against each chart's values.yaml and templates: community
/// `prometheus` (templates/deploy.yaml, sts.yaml; stable 8.15 → 29.x), `kube-prometheus-stack`
/// (templates/prometheus/prometheus.yaml), Bitnami `prometheus` (templates/server/deployment.yaml, 0.x → 2.x) and
/// Bitnami `kube-prometheus` (templates/prometheus/prometheus.yaml). None: that chart has no such key, or we do not
/// know the chart — never a guess.
pub fn values_key(id: &ChartId, key: Key) -> Option<&'static str> {
    // The community chart's `server.retentionSize` arrived in 11.x (stable/prometheus, 2020); before it the flag can
    // only come from `server.extraArgs`.
    let major = id
        .version
        .as_deref()
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok());
    Some(match (&id.chart, key) {
        (Chart::CommunityPrometheus, Key::Flags) => "server.extraFlags",
        (Chart::CommunityPrometheus, Key::VolumeSize) => "server.persistentVolume.size",
        (Chart::CommunityPrometheus, Key::PodSecurityContext) => "server.securityContext",
        (Chart::CommunityPrometheus, Key::RetentionSize) if major.is_none_or(|m| m >= 11) => {
            "server.retentionSize"
        }
        (Chart::KubePrometheusStack, Key::Flags) => "prometheus.prometheusSpec.additionalArgs",
        (Chart::KubePrometheusStack, Key::VolumeSize) => {
            "prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage"
        }
        (Chart::KubePrometheusStack, Key::PodSecurityContext) => {
            "prometheus.prometheusSpec.securityContext"
        }
        (Chart::KubePrometheusStack, Key::RetentionSize) => {
            "prometheus.prometheusSpec.retentionSize"
        }
        (Chart::BitnamiPrometheus, Key::Flags) => "server.extraArgs",
        (Chart::BitnamiPrometheus, Key::VolumeSize) => "server.persistence.size",
        (Chart::BitnamiPrometheus, Key::PodSecurityContext) => "server.podSecurityContext",
        (Chart::BitnamiPrometheus, Key::RetentionSize) => "server.retentionSize",
        (Chart::BitnamiPrometheus, Key::PermissionInit) => "volumePermissions.enabled",
        (Chart::BitnamiKubePrometheus, Key::Flags) => "prometheus.additionalArgs",
        (Chart::BitnamiKubePrometheus, Key::VolumeSize) => "prometheus.persistence.size",
        (Chart::BitnamiKubePrometheus, Key::PodSecurityContext) => "prometheus.podSecurityContext",
        (Chart::BitnamiKubePrometheus, Key::RetentionSize) => "prometheus.retentionSize",
        _ => return None,
    })
}

/// What a key is, in plain words, for a chart whose keys we do not know.
fn plain(key: Key) -> &'static str {
    match key {
        Key::Flags => "the Prometheus flags",
        Key::VolumeSize => "the data volume size",
        Key::PodSecurityContext => "the pod securityContext",
        Key::RetentionSize => "the size-based retention",
        Key::PermissionInit => "the permission init container",
    }
}

/// Flags the community chart renders itself (templates/deploy.yaml args); everything else without a value that
/// follows them came from `server.extraFlags`.
const COMMUNITY_OWN_FLAGS: [&str; 8] = [
    "storage.tsdb.retention.time",
    "storage.tsdb.retention.size",
    "config.file",
    "storage.tsdb.path",
    "web.console.libraries",
    "web.console.templates",
    "web.route-prefix",
    "web.external-url",
];

/// Flags Bitnami's chart renders itself (bitnami/prometheus templates/server/deployment.yaml args); the rest came
/// from `server.extraArgs`.
const BITNAMI_OWN_FLAGS: [&str; 13] = [
    "config.file",
    "storage.tsdb.path",
    "storage.tsdb.retention.time",
    "storage.tsdb.retention.size",
    "log.level",
    "log.format",
    "web.listen-address",
    "web.console.libraries",
    "web.console.templates",
    "web.enable-admin-api",
    "web.enable-remote-write-receiver",
    "web.route-prefix",
    "enable-feature",
];

/// The community chart's `server.extraFlags` as the live args show them (each rendered `--FLAG`, no value), plus
/// `add` when missing: Helm replaces lists, so a `--set` must list them all or it drops the others.
pub fn extra_flags_with(args: &[String], add: &str) -> Vec<String> {
    let mut flags: Vec<String> = args
        .iter()
        .filter_map(|a| a.strip_prefix("--"))
        .filter(|f| !f.contains('=') && !COMMUNITY_OWN_FLAGS.contains(f))
        .map(str::to_string)
        .collect();
    if !flags.iter().any(|f| f == add) {
        flags.push(add.to_string());
    }
    flags
}

/// Bitnami's `server.extraArgs` as the live args show them (whole arguments, `--name[=value]`), plus `--add`.
pub fn bitnami_extra_args_with(args: &[String], add: &str) -> Vec<String> {
    let name = |a: &str| {
        a.trim_start_matches('-')
            .split('=')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let mut out: Vec<String> = args
        .iter()
        .filter(|a| a.starts_with('-') && !BITNAMI_OWN_FLAGS.contains(&name(a).as_str()))
        .cloned()
        .collect();
    if !out.iter().any(|a| name(a) == add) {
        out.push(format!("--{add}"));
    }
    out
}

/// The value as `--set` takes it for a key: lists in braces (`{a,b}`), the rest as is.
fn set_value(key: Key, chart: &Chart, value: &str) -> String {
    match (key, chart) {
        (Key::Flags, Chart::CommunityPrometheus | Chart::BitnamiPrometheus) => {
            format!("{{{value}}}")
        }
        _ => value.to_string(),
    }
}

/// A change a verb made (or plans), as the note words it (what the note is about; the change sent to the cluster is
/// the engine's `Change`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotedChange<'a> {
    pub key: Key,
    /// The new value in the values file's terms (`10Gi`, `6GB`, `web.enable-lifecycle,web.enable-admin-api`); None
    /// when it is a structure the note describes instead (a securityContext).
    pub value: Option<&'a str>,
    /// The object the verb changed, for the kubectl/GitOps wording (`pvc/prometheus-server`).
    pub object: &'a str,
    pub namespace: &'a str,
    /// The workload is a StatefulSet rendered by the chart (its claim template cannot change through Helm).
    pub statefulset: bool,
}

/// The note for a change under its source of truth: where it must also be made, and what undoes it otherwise.
/// Always Some today; an Option so a source that never reverts anything can say nothing.
pub fn after_change(source: &Source, change: &NotedChange) -> Option<String> {
    let ns = change.namespace;
    // A chart whose keys we do not know: say so, and never print a key or a command for it.
    let unknown = |chart: Option<&ChartId>| -> String {
        match chart {
            Some(c) if values_key(c, change.key).is_none() => format!(
                " ({} is a chart whose values keys we do not know: find the one that sets this)",
                c.display()
            ),
            _ => String::new(),
        }
    };
    let what = |chart: Option<&ChartId>| -> String {
        match chart.and_then(|c| values_key(c, change.key).map(|k| (c, k))) {
            Some((c, k)) => match change.value {
                Some(v) => format!("`{k}: {}` in the values", shown(change.key, &c.chart, v)),
                None => format!("`{k}` in the values"),
            },
            None => format!(
                "{}{} in the values",
                plain(change.key),
                change
                    .value
                    .map(|v| format!(" ({})", crate::escape::escape(v)))
                    .unwrap_or_default(),
            ),
        }
    };
    let e = |s: &str| crate::escape::escape(s).into_owned();
    Some(match source {
        Source::Helm { release, chart, .. } => {
            let release = e(release);
            let cid = chart.as_ref();
            let key = cid.and_then(|c| values_key(c, change.key).map(|k| (c, k)));
            let consequence = match (change.key, change.statefulset) {
                (Key::VolumeSize, true) => " (it would render the old claim template, and Helm fails with `spec: Forbidden: updates to statefulset spec for fields other than …`)".to_string(),
                (Key::VolumeSize, false) if matches!(cid.map(|c| &c.chart), Some(Chart::KubePrometheusStack | Chart::BitnamiKubePrometheus)) =>
                    " (it would put the old size back into the Prometheus resource, and the operator then deletes the StatefulSet with its pods to recreate it)".to_string(),
                (Key::VolumeSize, false) => " (it would set the old size back and fail: `field can not be less than status.capacity`)".to_string(),
                _ => String::new(),
            };
            let example = match (key, change.value, cid.and_then(|c| c.chart.reference())) {
                (Some((c, k)), Some(v), Some(reference)) => {
                    let version = c
                        .version
                        .as_deref()
                        .map(|v| format!(" --version {}", e(v)))
                        .unwrap_or_default();
                    format!(
                        "; e.g. `helm upgrade {release} {reference} -n {ns} --reuse-values{version} --set '{k}={}'`",
                        set_value(change.key, &c.chart, v)
                    )
                }
                _ => String::new(),
            };
            let caveat = cid
                .and_then(ChartId::caveat)
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            format!(
                "after this change, also set {} of Helm release {release}, or the next `helm upgrade` undoes it{consequence}{example}{}{caveat}",
                what(cid),
                unknown(cid)
            )
        }
        Source::ArgoCd { app, chart } => format!(
            "after this change, also change {} in Git for Argo CD application {}, or its next sync (at once with self-heal) undoes it{}",
            what(chart.as_ref()),
            e(app),
            unknown(chart.as_ref())
        ),
        Source::Flux {
            controller,
            name,
            namespace,
            chart,
        } => format!(
            "after this change, also change {} in Git for Flux {} {}/{}, or its next reconciliation undoes it",
            match controller.as_str() {
                "HelmRelease" => what(chart.as_ref()),
                _ => format!("{} in the manifest", e(change.object)),
            },
            e(controller),
            e(namespace),
            e(name)
        ),
        Source::KubectlApply { .. } => {
            let next = match change.key {
                Key::VolumeSize if change.object.starts_with("prometheus/") => "re-applying the old manifest puts the old size back, and the operator then deletes the StatefulSet with its pods to recreate it".to_string(),
                Key::VolumeSize => "re-applying the old size fails: `spec.resources.requests.storage: Forbidden: field can not be less than status.capacity`".to_string(),
                _ if change.object.starts_with("prometheus/") => "re-applying the old manifest reverts it, and the operator rolls the StatefulSet again".to_string(),
                _ => "re-applying the old manifest reverts it and restarts the pods".to_string(),
            };
            format!(
                "after this change, also change {} in the manifest you apply with kubectl: {next}",
                e(change.object)
            )
        }
        // Nothing on the object names its source (`kubectl create`, a tool that leaves no mark): say what to keep in
        // step without naming a tool we cannot see.
        Source::Unknown => format!(
            "after this change, also update the manifest you applied for {} if it came from one (nothing on it names Helm, Argo CD, Flux or kubectl apply), or applying the old one again undoes it",
            e(change.object)
        ),
    })
}

/// The object a verb changes, with its source of truth: enough to word the note again for another value (resize
/// re-words it with the size read back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub source: Source,
    /// `pvc/NAME`, `sts/NAME`, `prometheus/NAME`, `deploy/NAME`.
    pub object: String,
    pub namespace: String,
    /// A chart-rendered StatefulSet (its claim template cannot change through Helm).
    pub statefulset: bool,
}

impl Subject {
    pub fn note(&self, key: Key, value: Option<&str>) -> Option<String> {
        after_change(
            &self.source,
            &NotedChange {
                key,
                value,
                object: &self.object,
                namespace: &self.namespace,
                statefulset: self.statefulset,
            },
        )
    }
}

/// A change doctor advises, made where it belongs: the values of the Helm release (with the command) or Git, when
/// the install comes from there and the chart's key is known. None when the live object is the place (kubectl
/// installs, unknown sources) or the key is unknown — the caller then advises the live change plus
/// [`after_change`]'s note.
pub fn values_change(source: &Source, key: Key, value: &str, ns: &str) -> Option<String> {
    let e = |s: &str| crate::escape::escape(s).into_owned();
    let chart = source.chart()?;
    let k = values_key(chart, key)?;
    let v = shown(key, &chart.chart, value);
    Some(match source {
        Source::Helm { release, .. } => {
            let release = e(release);
            let command = chart.chart.reference().map(|reference| {
                let version = chart
                    .version
                    .as_deref()
                    .map(|v| format!(" --version {}", e(v)))
                    .unwrap_or_default();
                format!(
                    ": `helm upgrade {release} {reference} -n {ns} --reuse-values{version} --set '{k}={}'`",
                    set_value(key, &chart.chart, value)
                )
            });
            format!(
                "set `{k}: {v}` in the values of Helm release {release} ({}) and upgrade it{}",
                chart.display(),
                command.unwrap_or_default()
            )
        }
        Source::ArgoCd { app, .. } => format!(
            "set `{k}: {v}` in the values in Git for Argo CD application {} ({}) and let it sync",
            e(app),
            chart.display()
        ),
        Source::Flux {
            controller,
            name,
            namespace,
            ..
        } => format!(
            "set `{k}: {v}` in the values in Git for Flux {} {}/{} ({}) and let it reconcile",
            e(controller),
            e(namespace),
            e(name),
            chart.display()
        ),
        _ => return None,
    })
}

fn shown(key: Key, chart: &Chart, value: &str) -> String {
    match (key, chart) {
        (Key::Flags, Chart::CommunityPrometheus | Chart::BitnamiPrometheus) => {
            format!("[{}]", value.replace(',', ", "))
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::chart::Evidence;

    fn id(chart: Chart, v: &str) -> Option<ChartId> {
        Some(ChartId {
            chart,
            version: Some(v.into()),
            evidence: Evidence::Labels,
        })
    }

    fn helm(chart: Option<ChartId>) -> Source {
        Source::Helm {
            release: "mon".into(),
            namespace: "monitoring".into(),
            chart,
        }
    }

    fn size<'a>(object: &'a str, statefulset: bool) -> NotedChange<'a> {
        NotedChange {
            key: Key::VolumeSize,
            value: Some("20Gi"),
            object,
            namespace: "monitoring",
            statefulset,
        }
    }

    #[test]
    fn each_chart_gets_its_own_key_and_reference() {
        let n = after_change(
            &helm(id(Chart::BitnamiPrometheus, "1.3.2")),
            &size("pvc/x", false),
        )
        .unwrap();
        assert!(n.contains("`server.persistence.size: 20Gi`"), "{n}");
        assert!(
            n.contains("oci://registry-1.docker.io/bitnamicharts/prometheus"),
            "{n}"
        );
        assert!(n.contains("--version 1.3.2"), "{n}");
        assert!(!n.contains("prometheus-community"), "{n}");
        let n = after_change(
            &helm(id(Chart::KubePrometheusStack, "88.5.3")),
            &size("prometheus/k", false),
        )
        .unwrap();
        assert!(n.contains("prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage: 20Gi"), "{n}");
        assert!(n.contains("deletes the StatefulSet"), "{n}");
        let n = after_change(
            &helm(id(Chart::CommunityPrometheus, "25.8.0")),
            &size("sts/x", true),
        )
        .unwrap();
        assert!(
            n.contains("spec: Forbidden: updates to statefulset spec for fields other than"),
            "{n}"
        );
    }

    #[test]
    fn an_unknown_chart_gets_plain_words_and_no_command() {
        let n = after_change(
            &helm(id(Chart::Other("acme-monitoring".into()), "0.4.0")),
            &size("pvc/x", false),
        )
        .unwrap();
        assert!(
            n.contains("set the data volume size (20Gi) in the values of Helm release mon"),
            "{n}"
        );
        assert!(
            n.contains("chart `acme-monitoring` 0.4.0 is a chart whose values keys we do not know"),
            "{n}"
        );
        assert!(!n.contains("helm upgrade mon"), "{n}");
        assert!(!n.contains("persistentVolume"), "{n}");
    }

    #[test]
    fn gitops_and_kubectl() {
        let argo = Source::ArgoCd {
            app: "monitoring".into(),
            chart: id(Chart::KubePrometheusStack, "88.5.3"),
        };
        let n = after_change(&argo, &size("prometheus/k", false)).unwrap();
        assert!(
            n.contains("in Git for Argo CD application monitoring"),
            "{n}"
        );
        let n = after_change(
            &Source::KubectlApply { server_side: false },
            &size("pvc/data", false),
        )
        .unwrap();
        assert!(
            n.contains("field can not be less than status.capacity"),
            "{n}"
        );
        let n = after_change(&Source::Unknown, &size("pvc/data", false)).unwrap();
        assert!(n.contains("if it came from one"), "{n}");
    }

    #[test]
    fn doctor_advice_names_the_values_key_of_an_operator_chart() {
        let kps = helm(id(Chart::KubePrometheusStack, "88.5.3"));
        let a = values_change(&kps, Key::RetentionSize, "6GB", "monitoring").unwrap();
        assert!(
            a.contains("`prometheus.prometheusSpec.retentionSize: 6GB`"),
            "{a}"
        );
        assert!(
            a.contains("prometheus-community/kube-prometheus-stack"),
            "{a}"
        );
        assert!(
            values_change(
                &helm(id(Chart::Other("x".into()), "1.0.0")),
                Key::RetentionSize,
                "6GB",
                "m"
            )
            .is_none()
        );
        assert!(
            values_change(
                &Source::KubectlApply { server_side: false },
                Key::RetentionSize,
                "6GB",
                "m"
            )
            .is_none()
        );
    }

    #[test]
    fn extra_flags_keep_the_ones_already_there() {
        let args: Vec<String> = [
            "--storage.tsdb.retention.time=15d",
            "--config.file=/etc/config/prometheus.yml",
            "--storage.tsdb.path=/data",
            "--web.console.libraries=/etc/prometheus/console_libraries",
            "--web.console.templates=/etc/prometheus/consoles",
            "--web.enable-admin-api",
            "--web.enable-remote-write-receiver",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            extra_flags_with(&args, "web.enable-lifecycle"),
            [
                "web.enable-admin-api",
                "web.enable-remote-write-receiver",
                "web.enable-lifecycle"
            ]
        );
        let change = NotedChange {
            key: Key::Flags,
            value: Some("web.enable-admin-api,web.enable-lifecycle"),
            object: "deploy/p",
            namespace: "m",
            statefulset: false,
        };
        let n = after_change(&helm(id(Chart::CommunityPrometheus, "25.8.0")), &change).unwrap();
        assert!(
            n.contains("--set 'server.extraFlags={web.enable-admin-api,web.enable-lifecycle}'"),
            "{n}"
        );
    }
}
