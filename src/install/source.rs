//! Where an installed object's desired state lives (its source of truth) — Helm values, Git through Argo CD or
//! Flux, or a manifest applied with kubectl — recognised from the object's own labels, annotations and managed
//! fields; and where its live state already disagrees with its last-applied configuration (pure).

use super::chart::{ChartId, Marks};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The tool that will put its own version of the object back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Source {
    /// A Helm release: the next `helm upgrade` renders the chart from its values.
    Helm {
        release: String,
        namespace: String,
        chart: Option<ChartId>,
    },
    /// An Argo CD Application: it syncs the object from Git (self-heal reverts live edits at once).
    ArgoCd { app: String, chart: Option<ChartId> },
    /// A Flux Kustomization or HelmRelease: it reconciles the object from Git on its interval.
    Flux {
        /// `Kustomization` or `HelmRelease`.
        controller: String,
        name: String,
        namespace: String,
        chart: Option<ChartId>,
    },
    /// A manifest applied with `kubectl apply` (client-side: the last-applied annotation; server-side: a
    /// `kubectl` field manager with operation Apply).
    KubectlApply { server_side: bool },
    /// Nothing says where it came from (`kubectl create`, another tool).
    Unknown,
}

impl Source {
    /// The chart behind it, when it is rendered from one.
    pub fn chart(&self) -> Option<&ChartId> {
        match self {
            Source::Helm { chart, .. }
            | Source::ArgoCd { chart, .. }
            | Source::Flux { chart, .. } => chart.as_ref(),
            _ => None,
        }
    }

    /// One phrase for `describe`-style output: `Helm release prometheus (bitnami/prometheus 1.3.2)`.
    pub fn describe(&self) -> String {
        let chart = |c: &Option<ChartId>| {
            c.as_ref()
                .map(|c| format!(" ({})", c.display()))
                .unwrap_or_default()
        };
        let e = |s: &str| crate::escape::escape(s).into_owned();
        match self {
            Source::Helm {
                release, chart: c, ..
            } => {
                format!("Helm release {}{}", e(release), chart(c))
            }
            Source::ArgoCd { app, chart: c } => {
                format!("Argo CD application {}{}", e(app), chart(c))
            }
            Source::Flux {
                controller,
                name,
                namespace,
                chart: c,
            } => format!(
                "Flux {} {}/{}{}",
                e(controller),
                e(namespace),
                e(name),
                chart(c)
            ),
            Source::KubectlApply { server_side: false } => "kubectl apply".into(),
            Source::KubectlApply { server_side: true } => "kubectl apply --server-side".into(),
            Source::Unknown => "unknown".into(),
        }
    }
}

/// The annotation client-side `kubectl apply` keeps (k8s.io/kubectl pkg/util/apply.go
/// `LastAppliedConfigAnnotation`).
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Recognise the source of truth of one object. `meta` is the object's `metadata` as JSON (labels, annotations,
/// managedFields); `chart` the chart identity already told from it. GitOps wins over Helm: Flux's helm-controller
/// and Argo CD both render charts, and the values then live in Git, not in `helm upgrade`.
pub fn recognise(marks: &Marks, managed_fields: &[Value], chart: Option<ChartId>) -> Source {
    let label = |k: &str| marks.labels.get(k).map(String::as_str);
    let note = |k: &str| marks.annotations.get(k).map(String::as_str);
    // Argo CD: the tracking-id annotation `APP:GROUP/KIND:NS/NAME` (argo-cd util/argo/resource_tracking.go), the
    // label tracking method's configurable label (commonly `argocd.argoproj.io/instance`), or its field manager.
    if let Some(id) = note("argocd.argoproj.io/tracking-id") {
        let app = id.split(':').next().unwrap_or(id);
        return Source::ArgoCd {
            app: app.to_string(),
            chart,
        };
    }
    if let Some(app) = label("argocd.argoproj.io/instance") {
        return Source::ArgoCd {
            app: app.to_string(),
            chart,
        };
    }
    // Flux: kustomize-controller and helm-controller label what they apply (fluxcd kustomize-controller
    // `kustomize.toolkit.fluxcd.io/name`, helm-controller `helm.toolkit.fluxcd.io/name`, each with `/namespace`).
    for (prefix, controller) in [
        ("helm.toolkit.fluxcd.io", "HelmRelease"),
        ("kustomize.toolkit.fluxcd.io", "Kustomization"),
    ] {
        if let Some(name) = label(&format!("{prefix}/name")) {
            return Source::Flux {
                controller: controller.into(),
                name: name.into(),
                namespace: label(&format!("{prefix}/namespace"))
                    .unwrap_or_default()
                    .into(),
                chart,
            };
        }
    }
    let managers: Vec<(&str, &str)> = managed_fields
        .iter()
        .map(|f| {
            (
                f.get("manager").and_then(Value::as_str).unwrap_or_default(),
                f.get("operation")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            )
        })
        .collect();
    if let Some((m, _)) = managers.iter().find(|(m, _)| m.starts_with("argocd")) {
        // Argo CD's own field manager (server-side sync): the app name is not in it; the instance label has it.
        return Source::ArgoCd {
            app: label("app.kubernetes.io/instance").unwrap_or(m).to_string(),
            chart,
        };
    }
    // Helm 3 annotates every object it owns with its release (helm pkg/action/validate.go `helmReleaseNameAnnotation`);
    // older charts and Helm 2 only label (`heritage: Helm`/`Tiller`, `app.kubernetes.io/managed-by: Helm`).
    let helm_release = helm_release(&marks.labels, &marks.annotations, chart.is_some());
    let applied = note(LAST_APPLIED).is_some();
    if let Some(release) = helm_release
        && !(applied && note("meta.helm.sh/release-name").is_none())
    {
        return Source::Helm {
            release: release.to_string(),
            namespace: note("meta.helm.sh/release-namespace")
                .unwrap_or_default()
                .to_string(),
            chart,
        };
    }
    if applied {
        // Chart-rendered objects applied by kubectl (`helm template | kubectl apply`) keep the chart labels but no
        // Helm release annotation: the manifest is the source, and the annotation proves it.
        return Source::KubectlApply { server_side: false };
    }
    if managers
        .iter()
        .any(|(m, op)| *m == "kubectl" && *op == "Apply")
    {
        return Source::KubectlApply { server_side: true };
    }
    Source::Unknown
}

/// The Helm release that installed an object — the one rule, for every verb and for `src/install/`'s source of
/// truth: Helm 3's `meta.helm.sh/release-name` annotation on every object it owns (helm pkg/action/validate.go
/// `helmReleaseNameAnnotation`); else, when a Helm label says Helm (or Helm 2's Tiller) made it
/// (`app.kubernetes.io/managed-by`, `heritage`), kube-prometheus-stack's own `app: kube-prometheus-stack-…` label
/// is there, or the caller recognised a chart (`chart_known`), the release from `app.kubernetes.io/instance` or
/// `release`.
pub fn helm_release(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    chart_known: bool,
) -> Option<String> {
    if let Some(release) = annotations.get("meta.helm.sh/release-name") {
        return Some(release.clone());
    }
    let label = |k: &str| labels.get(k).map(String::as_str);
    let by_helm = matches!(
        label("app.kubernetes.io/managed-by"),
        Some("Helm" | "Tiller")
    ) || matches!(label("heritage"), Some("Helm" | "Tiller"))
        || label("app").is_some_and(|a| a.starts_with("kube-prometheus-stack"))
        || chart_known;
    if !by_helm {
        return None;
    }
    label("app.kubernetes.io/instance")
        .or_else(|| label("release"))
        .map(str::to_string)
}

/// One field a verb changes whose live value is not what the last `kubectl apply` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Where, in words a person can find it: `spec.securityContext`, `container prometheus args`.
    pub field: String,
    pub applied: String,
    pub live: String,
}

/// Fields the verbs change, by kind of object: (description, JSON pointer). Containers are compared by name.
fn fields(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "Prometheus" => &[
            (
                "spec.storage.volumeClaimTemplate.spec.resources.requests.storage",
                "/spec/storage/volumeClaimTemplate/spec/resources/requests/storage",
            ),
            ("spec.securityContext", "/spec/securityContext"),
            ("spec.retentionSize", "/spec/retentionSize"),
            ("spec.additionalArgs", "/spec/additionalArgs"),
            ("spec.paused", "/spec/paused"),
            ("spec.reloadStrategy", "/spec/reloadStrategy"),
        ],
        "PersistentVolumeClaim" => &[(
            "spec.resources.requests.storage",
            "/spec/resources/requests/storage",
        )],
        // Deployment, StatefulSet
        _ => &[(
            "spec.template.spec.securityContext",
            "/spec/template/spec/securityContext",
        )],
    }
}

/// Where `live` disagrees with its own last-applied configuration on a field the verbs change. Client-side apply
/// is a three-way merge (k8s.io/kubectl pkg/cmd/apply/patcher.go): a field the manifest sets is put back to the
/// manifest's value; a field the manifest never set is kept. So only fields the last-applied configuration has
/// count, and `container` names the Prometheus container whose args and init containers are compared.
pub fn drift(live: &Value, kind: &str, container: &str) -> Vec<Drift> {
    let Some(applied) = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, ptr) in fields(kind) {
        if let Some(a) = applied.pointer(ptr) {
            let l = live.pointer(ptr).cloned().unwrap_or(Value::Null);
            if !same(a, &l) {
                out.push(Drift {
                    field: (*name).to_string(),
                    applied: short(a),
                    live: short(&l),
                });
            }
        }
    }
    if matches!(kind, "Deployment" | "StatefulSet") {
        let by_name = |v: &Value, list: &str| {
            v.pointer(&format!("/spec/template/spec/{list}"))
                .and_then(Value::as_array)
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
                        .cloned()
                })
        };
        if let (Some(a), Some(l)) = (by_name(&applied, "containers"), by_name(live, "containers")) {
            for key in ["args", "command"] {
                if let Some(av) = a.get(key) {
                    let lv = l.get(key).cloned().unwrap_or(Value::Null);
                    if !same(av, &lv) {
                        out.push(Drift {
                            field: format!("container {container} {key}"),
                            applied: short(av),
                            live: short(&lv),
                        });
                    }
                }
            }
        }
        let names = |v: &Value| -> Option<Vec<String>> {
            v.pointer("/spec/template/spec/initContainers")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                        .collect()
                })
        };
        if let Some(a) = names(&applied) {
            let l = names(live).unwrap_or_default();
            if a != l {
                out.push(Drift {
                    field: "spec.template.spec.initContainers".into(),
                    applied: a.join(", "),
                    live: l.join(", "),
                });
            }
        }
    }
    out
}

/// Equal as the API server would store them: quantities and numbers compare by value through their JSON text, so
/// `"8Gi"` vs `"8Gi"` match and `{}` in the manifest matches a defaulted `{}` live.
fn same(applied: &Value, live: &Value) -> bool {
    match (applied, live) {
        (Value::Object(a), Value::Object(l)) => a
            .iter()
            .all(|(k, v)| same(v, l.get(k).unwrap_or(&Value::Null))),
        (Value::String(a), Value::String(l)) if a != l => {
            match (
                crate::quantity::Quantity::parse(a),
                crate::quantity::Quantity::parse(l),
            ) {
                (Ok(a), Ok(l)) => a == l,
                _ => false,
            }
        }
        _ => applied == live,
    }
}

fn short(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Null => "(not set)".into(),
        other => other.to_string(),
    };
    let text: String = text.chars().take(200).collect();
    crate::escape::escape(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::chart::{Chart, Evidence};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn marks(labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Marks<'static> {
        let m = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Marks {
            labels: m(labels),
            annotations: m(annotations),
            image: "",
        }
    }

    fn kps() -> Option<ChartId> {
        Some(ChartId {
            chart: Chart::KubePrometheusStack,
            version: Some("88.5.3".into()),
            evidence: Evidence::Labels,
        })
    }

    #[test]
    fn gitops_wins_over_helm() {
        let argo = marks(
            &[("app.kubernetes.io/managed-by", "Helm")],
            &[(
                "argocd.argoproj.io/tracking-id",
                "monitoring:monitoring.coreos.com/Prometheus:monitoring/k",
            )],
        );
        assert_eq!(
            recognise(&argo, &[], kps()),
            Source::ArgoCd {
                app: "monitoring".into(),
                chart: kps()
            }
        );
        let flux = marks(
            &[
                ("helm.toolkit.fluxcd.io/name", "kps"),
                ("helm.toolkit.fluxcd.io/namespace", "flux-system"),
                ("app.kubernetes.io/managed-by", "Helm"),
            ],
            &[("meta.helm.sh/release-name", "kps")],
        );
        assert!(
            matches!(recognise(&flux, &[], kps()), Source::Flux { controller, .. } if controller == "HelmRelease")
        );
    }

    #[test]
    fn helm_kubectl_and_unknown() {
        let helm = marks(
            &[
                ("app.kubernetes.io/managed-by", "Helm"),
                ("app.kubernetes.io/instance", "mon"),
            ],
            &[
                ("meta.helm.sh/release-name", "mon"),
                ("meta.helm.sh/release-namespace", "monitoring"),
            ],
        );
        assert!(
            matches!(recognise(&helm, &[], kps()), Source::Helm { release, namespace, .. } if release == "mon" && namespace == "monitoring")
        );
        // The newest community chart renders no managed-by label: the chart label and instance still say Helm.
        let chart_only = marks(&[("app.kubernetes.io/instance", "prometheus")], &[]);
        assert!(matches!(
            recognise(&chart_only, &[], kps()),
            Source::Helm { .. }
        ));
        let applied = marks(&[("app", "prometheus")], &[(LAST_APPLIED, "{}")]);
        assert_eq!(
            recognise(&applied, &[], None),
            Source::KubectlApply { server_side: false }
        );
        let ssa = [json!({"manager": "kubectl", "operation": "Apply"})];
        assert_eq!(
            recognise(&marks(&[], &[]), &ssa, None),
            Source::KubectlApply { server_side: true }
        );
        let created = [json!({"manager": "kubectl-create", "operation": "Update"})];
        assert_eq!(recognise(&marks(&[], &[]), &created, None), Source::Unknown);
    }

    #[test]
    fn drift_counts_only_what_the_manifest_sets() {
        let applied = json!({"kind": "Prometheus", "spec": {"storage": {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": "10Gi"}}}}}, "retention": "10d"}});
        let live = json!({"kind": "Prometheus", "metadata": {"annotations": {LAST_APPLIED: applied.to_string()}},
            "spec": {"storage": {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}},
                     "securityContext": {"fsGroup": 2000}}});
        let d = drift(&live, "Prometheus", "prometheus");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].applied, "10Gi");
        assert_eq!(d[0].live, "20Gi");
        // The same size written differently is no drift.
        let live2 = json!({"kind": "PersistentVolumeClaim", "metadata": {"annotations": {LAST_APPLIED:
            json!({"spec": {"resources": {"requests": {"storage": "1024Mi"}}}}).to_string()}},
            "spec": {"resources": {"requests": {"storage": "1Gi"}}}});
        assert!(drift(&live2, "PersistentVolumeClaim", "x").is_empty());
        let dep = json!({"kind": "Deployment", "metadata": {"annotations": {LAST_APPLIED: json!({"spec": {"template": {"spec": {
            "containers": [{"name": "prometheus", "args": ["--config.file=/etc/p.yml"]}]}}}}).to_string()}},
            "spec": {"template": {"spec": {"containers": [{"name": "prometheus", "args": ["--config.file=/etc/p.yml", "--web.enable-lifecycle"]}]}}}});
        let d = drift(&dep, "Deployment", "prometheus");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "container prometheus args");
        assert!(drift(&json!({"kind": "Deployment"}), "Deployment", "p").is_empty());
    }
}
