//! What `reload` does, decided from what was read (pure, unit-tested): reload the install's way, turn the lifecycle
//! API on first (the plan: the workload's container args, or the operator's `Prometheus` resource), or refuse.

use crate::discover::Instance;
use crate::engine::{ObjectRef, Plan, Step};
use crate::error::Result;
use crate::reloading::lifecycle::{LIFECYCLE_FLAG, LifecycleTarget, ReloadWay, add_lifecycle_flag};

/// The verb's decision once the lifecycle state of every running pod is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Reload now, this way.
    Reload(ReloadWay),
    /// Plan `--web.enable-lifecycle`, apply it, wait for the pods that carry it, then reload over HTTP.
    EnableLifecycle,
    /// The lifecycle API is off and nothing else reloads this install: explain and stop.
    Refuse,
}

/// `off`: the running pods whose lifecycle API is off. `way`: how the install reloads. An install that reloads by
/// signal (operator `reloadStrategy: ProcessSignal`) has the API off on purpose and is reloaded by signal, unless
/// `--enable-lifecycle` asks for the API. A server that reloads itself (`--config.auto-reload`) needs neither.
pub fn decide(off: &[&str], way: ReloadWay, enable_lifecycle: bool) -> Decision {
    match (off.is_empty(), way, enable_lifecycle) {
        (_, ReloadWay::Auto { .. }, _) => Decision::Reload(way),
        (true, _, _) => Decision::Reload(ReloadWay::Http),
        (false, _, true) => Decision::EnableLifecycle,
        (false, ReloadWay::Signal, false) => Decision::Reload(ReloadWay::Signal),
        (false, _, false) => Decision::Refuse,
    }
}

/// What has to change outside the cluster so the next install does not undo the fix.
pub fn lifecycle_note(instance: &Instance) -> Option<String> {
    // Where the flag must also be set depends on the chart and source of truth (src/install/, issue 18).
    instance.flag_note("web.enable-lifecycle")
}

/// The plan that turns the lifecycle API on: the workload's container args, or for the operator the `Prometheus`
/// resource (`spec.additionalArgs`; never the StatefulSet it generates, which the operator would revert).
pub fn plan_enable_lifecycle(instance: &Instance, targets: Vec<LifecycleTarget>) -> Result<Plan> {
    let mut plan = Plan::new(format!(
        "turn on the lifecycle API (--{LIFECYCLE_FLAG}) for {}/{}",
        instance.namespace, instance.name
    ));
    let reason = "POST /-/reload is refused with 403 while --web.enable-lifecycle is off; the pods restart with the flag";
    for target in targets {
        let step = match target {
            LifecycleTarget::Deployment(before) => {
                let mut after = before.clone();
                if let Some(spec) = after.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
                    add_lifecycle_flag(spec, &instance.container);
                }
                Step::patch(&before, &after, reason)?
            }
            LifecycleTarget::StatefulSet(before) => {
                let mut after = before.clone();
                if let Some(spec) = after.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
                    add_lifecycle_flag(spec, &instance.container);
                }
                Step::patch(&before, &after, reason)?
            }
            LifecycleTarget::Prometheus(before) => {
                let mut after = before.clone();
                let name = before
                    .pointer("/metadata/name")
                    .and_then(|n| n.as_str())
                    .unwrap_or_default()
                    .to_string();
                let spec = after.get_mut("spec").and_then(|s| s.as_object_mut());
                if let Some(spec) = spec {
                    let list = spec
                        .entry("additionalArgs")
                        .or_insert_with(|| serde_json::json!([]));
                    if let Some(items) = list.as_array_mut()
                        && !items
                            .iter()
                            .any(|a| a.get("name").and_then(|n| n.as_str()) == Some(LIFECYCLE_FLAG))
                    {
                        items.push(serde_json::json!({ "name": LIFECYCLE_FLAG }));
                    }
                }
                Step::patch_values(
                    ObjectRef::prometheus(&instance.namespace, &name),
                    before,
                    after,
                    "the operator generates the StatefulSet from this resource; with reloadStrategy ProcessSignal it \
                     leaves the lifecycle API off",
                )?
            }
        };
        plan.steps.extend(step);
    }
    plan.notes.extend(lifecycle_note(instance));
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::{self, Flavour};
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    pub(super) fn chart_instance() -> (Instance, Deployment) {
        let d: Deployment = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "prometheus-server", "namespace": "monitoring", "resourceVersion": "7",
                         "labels": {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server", "app.kubernetes.io/instance": "prometheus", "helm.sh/chart": "prometheus-25.8.0"}},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                     "template": {"metadata": {"labels": {"app.kubernetes.io/name": "prometheus"}},
                                  "spec": {"containers": [
                                      {"name": "prometheus-server-configmap-reload", "image": "quay.io/prometheus-operator/prometheus-config-reloader:v0.70.0"},
                                      {"name": "prometheus-server", "image": "quay.io/prometheus/prometheus:v2.48.0",
                                       "args": ["--storage.tsdb.retention.time=15d", "--config.file=/etc/config/prometheus.yml", "--storage.tsdb.path=/data"]}]}}}
        }))
        .unwrap();
        let inv = discover::Inventory {
            deployments: vec![d.clone()],
            ..Default::default()
        };
        (discover::find_instances(&inv).remove(0), d)
    }

    #[test]
    fn the_decision_follows_the_lifecycle_state_and_the_install_way() {
        use ReloadWay::{Http, Signal};
        assert_eq!(decide(&[], Http, false), Decision::Reload(Http));
        assert_eq!(decide(&[], Signal, true), Decision::Reload(Http));
        assert_eq!(decide(&["p-0"], Http, false), Decision::Refuse);
        assert_eq!(decide(&["p-0"], Http, true), Decision::EnableLifecycle);
        // ProcessSignal: the lifecycle API is off on purpose; reload as the install does.
        assert_eq!(decide(&["p-0"], Signal, false), Decision::Reload(Signal));
        assert_eq!(decide(&["p-0"], Signal, true), Decision::EnableLifecycle);
    }

    #[test]
    fn chart_plan_adds_the_flag_to_the_server_container_and_notes_helm_values() {
        let (instance, d) = chart_instance();
        let plan = plan_enable_lifecycle(&instance, vec![LifecycleTarget::Deployment(d)]).unwrap();
        assert_eq!(plan.steps.len(), 1);
        let crate::engine::Change::Patch { patch, object, .. } = &plan.steps[0].change else {
            panic!()
        };
        assert_eq!(object.display(), "deployment monitoring/prometheus-server");
        let containers = &patch["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[1]["args"][3], json!("--web.enable-lifecycle"));
        assert!(
            containers[0].get("args").is_none(),
            "the sidecar is untouched: {containers}"
        );
        assert_eq!(patch["metadata"]["resourceVersion"], json!("7"));
        assert!(
            plan.notes[0].contains("server.extraFlags")
                && plan.notes[0].contains("web.enable-lifecycle"),
            "{:?}",
            plan.notes
        );
        let text = crate::engine::render(&plan, &|t, _| t.to_string());
        assert!(
            text.lines()
                .any(|l| l.starts_with(" +") && l.ends_with("- --web.enable-lifecycle")),
            "{text}"
        );
    }

    #[test]
    fn operator_plan_patches_the_prometheus_resource() {
        let (mut instance, _) = chart_instance();
        instance.flavour = Flavour::Operator {
            prometheus: "k8s".into(),
        };
        let cr = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
                        "metadata": {"name": "k8s", "namespace": "monitoring", "resourceVersion": "9"},
                        "spec": {"reloadStrategy": "ProcessSignal", "replicas": 2}});
        let plan = plan_enable_lifecycle(&instance, vec![LifecycleTarget::Prometheus(cr)]).unwrap();
        let crate::engine::Change::Patch { patch, object, .. } = &plan.steps[0].change else {
            panic!()
        };
        assert_eq!(object.display(), "prometheus monitoring/k8s");
        assert_eq!(
            patch["spec"]["additionalArgs"],
            json!([{"name": "web.enable-lifecycle"}])
        );
        assert!(plan.notes.is_empty());
    }
}
