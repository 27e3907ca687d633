//! The one model of a Prometheus server every verb shares: the [`Instance`], how it was installed ([`Flavour`]), its
//! workloads and pods, the data and config volumes (one rule for which volume holds the data), and the Prometheus
//! command-line flags. Plain data and pure functions; no I/O.

pub mod args;
pub mod install;
pub mod volume;
pub mod workload;

pub use args::{all_args, bool_flag, flag_value, prometheus_container, route_prefix};
pub use install::{Flavour, LabelGeneration, chart_flavour, helm_release};
pub use volume::{ConfigSource, ConfigVolume, DataSource, DataVolume};
pub use workload::{PodController, PodRef, WorkloadKind, WorkloadRef, controller_of};

use serde::Serialize;

/// The operator's API group/version/plural for the `Prometheus` custom resource.
pub const OPERATOR_GROUP: &str = "monitoring.coreos.com";
pub const OPERATOR_VERSION: &str = "v1";
pub const OPERATOR_PLURAL: &str = "prometheuses";
/// Label the operator puts on the StatefulSet, pods and PVCs it generates (prometheus-facts §5.2).
pub const OPERATOR_NAME_LABEL: &str = "operator.prometheus.io/name";

/// The operator's `Prometheus` resource type, for dynamic API calls.
pub fn prometheus_resource() -> kube::api::ApiResource {
    let gvk = kube::api::GroupVersionKind::gvk(OPERATOR_GROUP, OPERATOR_VERSION, "Prometheus");
    kube::api::ApiResource::from_gvk_with_plural(&gvk, OPERATOR_PLURAL)
}

/// The `Prometheus` resources of one namespace.
pub fn prometheus_api(
    client: &kube::Client,
    namespace: &str,
) -> kube::Api<kube::api::DynamicObject> {
    kube::Api::namespaced_with(client.clone(), namespace, &prometheus_resource())
}

/// One Prometheus server as the user thinks of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub namespace: String,
    /// Chart/plain: the workload name; operator: the `Prometheus` resource name.
    pub name: String,
    pub flavour: Flavour,
    /// The workload(s) running it. Operator shards give one StatefulSet each (shard 0 first); otherwise exactly one.
    pub workloads: Vec<WorkloadRef>,
    /// Its pods, sorted by name (only the one named when the target was `pod/NAME`): the live ones only. A pod
    /// shutting down is never the server a verb reads or changes (discover's one rule, [`Instance::terminating`]).
    pub pods: Vec<PodRef>,
    /// Its pods shutting down (`metadata.deletionTimestamp` set), sorted by name: still Running, even Ready, until
    /// the grace period ends, and still mounting the instance's volumes, so verbs name them but never act on them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub terminating: Vec<PodRef>,
    /// The Prometheus container's name (`prometheus-server` in the chart, `prometheus` with the operator).
    pub container: String,
    /// The Prometheus container's image.
    pub image: String,
    /// The Prometheus container's command and args as written in the pod template.
    pub args: Vec<String>,
    /// The web port Prometheus listens on inside the pod.
    pub port: u16,
    /// `--web.route-prefix` (or the path of `--web.external-url`), normalised to `/` or `/prefix` without a trailing slash.
    pub route_prefix: String,
    /// `--storage.tsdb.path` and the volume behind it, if one is mounted there.
    pub data: Option<DataVolume>,
    /// `--config.file` and the volume behind it.
    pub config: Option<ConfigVolume>,
    /// The other containers of the pod (config reloaders, thanos sidecar, …).
    pub sidecars: Vec<String>,
    /// Which chart rendered it and the source of truth of its install object (`src/install/`, issue 18).
    pub origin: crate::install::Origin,
    /// Operator flavour with no StatefulSet (issue 16): why, in the operator's words (its `Reconciled=False`
    /// message), or `None` when it is rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_rendered: Option<String>,
}

/// The operator's `Reconciled` condition on a `Prometheus` object when it is `False`: its message (else its reason).
///
/// prometheus-operator 0.85 (pkg/operator/resource_reconciler.go `processNextReconcileItem`: a failed `Sync` is
/// followed by a status update; pkg/operator/statefulset_reporter.go builds the `Reconciled`/`Available`
/// conditions) sets `Reconciled=False` with the API server's refusal as the message when the StatefulSet it
/// generated is refused, e.g. `… initContainers[1].volumeMounts[0].name: Not found: "prometheus-db"`.
pub fn reconciled_false(object: &serde_json::Value) -> Option<String> {
    let c = object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(|t| t.as_str()) == Some("Reconciled"))?;
    if c.get("status").and_then(|v| v.as_str()) != Some("False") {
        return None;
    }
    let text = |k: &str| c.get(k).and_then(|v| v.as_str()).filter(|m| !m.is_empty());
    Some(
        text("message")
            .or_else(|| text("reason"))
            .unwrap_or("no message")
            .to_string(),
    )
}

/// A `Prometheus` custom resource as listed (kept as JSON: no typed CRD in k8s-openapi).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusResource {
    pub namespace: String,
    pub name: String,
    /// What a patch of the resource is preconditioned on.
    pub resource_version: Option<String>,
    /// `spec` (what fix-perms and resize read and patch).
    pub spec: serde_json::Value,
    /// The whole object as listed.
    #[serde(skip)]
    pub object: serde_json::Value,
}

impl PrometheusResource {
    /// From the object as the API (or a dump) gives it.
    pub fn from_object(object: serde_json::Value) -> Self {
        let meta = |k: &str| {
            object
                .get("metadata")
                .and_then(|m| m.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        PrometheusResource {
            namespace: meta("namespace").unwrap_or_default(),
            name: meta("name").unwrap_or_default(),
            resource_version: meta("resourceVersion"),
            spec: object.get("spec").cloned().unwrap_or_default(),
            object,
        }
    }

    /// The Helm release that installed the resource (kube-prometheus-stack), by the one Helm-label rule.
    pub fn helm_release(&self) -> Option<String> {
        let map = |key: &str| -> std::collections::BTreeMap<String, String> {
            self.object
                .pointer(&format!("/metadata/{key}"))
                .and_then(|l| serde_json::from_value(l.clone()).ok())
                .unwrap_or_default()
        };
        helm_release(&map("labels"), &map("annotations"), false)
    }
}

impl Instance {
    /// The note after a Prometheus flag was added to a chart or plain install (reload `--enable-lifecycle`): where the
    /// flag must also be set, listing the flags already there (Helm replaces lists: a `--set` of one drops the rest).
    /// None for the operator, which renders its own flags from the resource.
    pub fn flag_note(&self, flag: &str) -> Option<String> {
        let instance = self;
        if matches!(instance.flavour, Flavour::Operator { .. }) {
            return None;
        }
        let origin = &instance.origin;
        let value = match origin.chart().map(|c| &c.chart) {
            Some(crate::install::Chart::CommunityPrometheus) => {
                Some(crate::install::notes::extra_flags_with(&instance.args, flag).join(","))
            }
            Some(crate::install::Chart::BitnamiPrometheus) => {
                Some(crate::install::notes::bitnami_extra_args_with(&instance.args, flag).join(","))
            }
            _ => None,
        };
        let object = format!(
            "the {} container's args in {}",
            instance.container, origin.object
        );
        let words = format!("--{flag}");
        origin.note(&crate::install::NotedChange {
            key: crate::install::Key::Flags,
            value: Some(value.as_deref().unwrap_or(&words)),
            object: &object,
            namespace: &instance.namespace,
            statefulset: false,
        })
    }
}
