//! The plan engine: every change to the cluster as a typed step (a JSON merge patch preconditioned on
//! resourceVersion, a StatefulSet delete with orphan propagation, a pod restart), rendered as a diff, gated by the one
//! confirm policy, sent with `dryRun=All` under `--dry-run`, applied with the one 409 re-plan, and followed by the one
//! set of waits. Every mutating verb builds a [`Plan`] and hands it here.
//!
//! - this module: the plan model and its changes, built purely: [`Step::patch`] (before/after typed objects → merge
//!   patch + diff), [`Step::patch_values`], [`Step::delete_orphan`], [`Step::restart_pod`]; [`merge_patch`];
//! - [`render`] (human text with a unified diff per patch) — `Plan` is also `Serialize` for `-o json`;
//! - [`confirm`] / [`ask_to_change`]: the one confirm policy (`--dry-run`/`--yes`/prompt/refusal) and
//!   [`after_conflict`], what a re-plan after a 409 may do;
//! - [`apply`], [`apply_replanning`]: send the steps; on 409 Conflict read again, plan again, go on as
//!   [`after_conflict`] says; [`apply_edit`] / [`Step::edited`]: a change stated as an edit of an object, which the
//!   engine re-applies by itself to the object read again after a 409;
//! - [`Section`]: a stretch of a plan that must not be left half-done (an interrupt waits for it, the journal carries
//!   its repair, a failure inside it is compensated);
//! - [`wait`]: every bounded wait that follows a change (rollout, claim resized, object gone, pod Ready, …).

mod apply;
mod confirm;
mod edit;
mod render;
mod section;
pub mod wait;

pub use apply::{Applied, Conflicts, Replan, apply, apply_replanning, send};
pub use confirm::{
    AfterConflict, MAX_REPLANS, after_conflict, ask_to_change, changed_plan_refused, confirm,
    confirm_group, gate, show,
};
pub use edit::apply_edit;
pub use render::{DiffLine, line_diff, render, render_with};
pub use section::Section;

use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// Field manager recorded on every change we send.
pub const FIELD_MANAGER: &str = "kubectl-prom";

/// Which object a step touches (enough to build a dynamic API for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// The reference of a typed k8s-openapi object.
    pub fn of<K>(obj: &K) -> Self
    where
        K: kube::Resource<DynamicType = ()>,
    {
        ObjectRef {
            group: K::group(&()).into_owned(),
            version: K::version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            plural: K::plural(&()).into_owned(),
            namespace: obj.meta().namespace.clone(),
            name: obj.meta().name.clone().unwrap_or_default(),
        }
    }

    /// An operator `Prometheus` resource.
    pub fn prometheus(namespace: &str, name: &str) -> Self {
        ObjectRef {
            group: crate::discover::OPERATOR_GROUP.into(),
            version: crate::discover::OPERATOR_VERSION.into(),
            kind: "Prometheus".into(),
            plural: crate::discover::OPERATOR_PLURAL.into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// `deployment monitoring/prometheus-server`, `storageclass gp2`.
    pub fn display(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        match &self.namespace {
            Some(ns) => format!("{kind} {ns}/{}", self.name),
            None => format!("{kind} {}", self.name),
        }
    }

    /// Read the object as it is now, as JSON (status and managedFields included: diffs and patches leave them out).
    pub async fn get(&self, client: &kube::Client) -> Result<Value> {
        let object = self
            .api(client)
            .get(&self.name)
            .await
            .map_err(Error::kube(format!("read {}", self.display())))?;
        Ok(serde_json::to_value(object).unwrap_or_default())
    }

    fn api(&self, client: &kube::Client) -> kube::Api<kube::api::DynamicObject> {
        let gvk = kube::api::GroupVersionKind::gvk(&self.group, &self.version, &self.kind);
        let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, &self.plural);
        match &self.namespace {
            Some(ns) => kube::Api::namespaced_with(client.clone(), ns, &ar),
            None => kube::Api::all_with(client.clone(), &ar),
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type"
)]
pub enum Change {
    /// A JSON merge patch (RFC 7386). With a `resource_version` the patch carries `metadata.resourceVersion`, so the
    /// API server answers 409 Conflict if the object changed since we read it (Kubernetes API concepts, "resource
    /// versions": optimistic concurrency). Without one it applies to the object as it is then: only for a change that
    /// must happen whatever else changed meanwhile — resize's unpause of a `Prometheus` resource (a resource left
    /// paused is the one outcome worse than someone's concurrent edit being kept).
    Patch {
        object: ObjectRef,
        #[serde(skip_serializing_if = "Option::is_none")]
        resource_version: Option<String>,
        patch: Value,
        #[serde(skip)]
        before: Value,
        #[serde(skip)]
        after: Value,
    },
    /// Create an object (resize's StatefulSet, recreated with the larger claim template after its orphan delete).
    /// The body carries no uid or resourceVersion; an object of that name that exists answers 409 AlreadyExists.
    Create {
        object: ObjectRef,
        #[serde(skip)]
        body: Value,
    },
    /// Delete with `propagationPolicy: Orphan` (its pods and PVCs stay), preconditioned on uid, and on
    /// resourceVersion when it is not empty (a StatefulSet whose status moves all the time is held by uid alone).
    DeleteOrphan {
        object: ObjectRef,
        uid: String,
        resource_version: String,
    },
    /// Delete a pod so its controller recreates it. Right before the delete the pod is read again: it must still be
    /// this pod (uid) under this controller, else it is left alone; the delete is preconditioned on the uid, so a
    /// replacement or a pod that changed hands is never deleted. Only a pod a controller recreates gets this step
    /// ([`Step::restart_pod`] refuses a bare pod).
    RestartPod {
        object: ObjectRef,
        uid: String,
        controller: PodController,
    },
}

pub use crate::model::PodController;

impl Change {
    pub fn object(&self) -> &ObjectRef {
        match self {
            Change::Patch { object, .. }
            | Change::Create { object, .. }
            | Change::DeleteOrphan { object, .. }
            | Change::RestartPod { object, .. } => object,
        }
    }

    /// The verb of the request this change sends (`patch`, `create`, `delete`), for the permission pre-flight.
    pub fn verb(&self) -> &'static str {
        match self {
            Change::Patch { .. } => "patch",
            Change::Create { .. } => "create",
            Change::DeleteOrphan { .. } | Change::RestartPod { .. } => "delete",
        }
    }
}

/// A change and why it is needed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub reason: String,
    #[serde(flatten)]
    pub change: Change,
}

impl Step {
    /// A merge patch turning `before` into `after` (both as read/modified typed objects). `before` must carry its
    /// resourceVersion (it was read from the API). Returns `None` when nothing differs.
    pub fn patch<K>(before: &K, after: &K, reason: impl Into<String>) -> Result<Option<Step>>
    where
        K: kube::Resource<DynamicType = ()> + Serialize,
    {
        let to_value = |o: &K| {
            serde_json::to_value(o).map_err(|e| {
                Error::usage(
                    format!("cannot serialise {}: {e}", ObjectRef::of(before).display()),
                    None,
                )
            })
        };
        Step::patch_values(
            ObjectRef::of(before),
            to_value(before)?,
            to_value(after)?,
            reason,
        )
    }

    /// Like [`Step::patch`] for objects held as JSON (custom resources).
    pub fn patch_values(
        object: ObjectRef,
        before: Value,
        after: Value,
        reason: impl Into<String>,
    ) -> Result<Option<Step>> {
        let resource_version = before
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .filter(|rv| !rv.is_empty())
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "internal: {} has no resourceVersion; plans need objects read from the API",
                        object.display()
                    ),
                    None,
                )
            })?
            .to_string();
        let mut patch = merge_patch(&before, &after);
        if patch.as_object().is_none_or(Map::is_empty) {
            return Ok(None);
        }
        let meta = patch
            .as_object_mut()
            .expect("non-empty object")
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(
                "resourceVersion".into(),
                Value::String(resource_version.clone()),
            );
        }
        Ok(Some(Step {
            reason: reason.into(),
            change: Change::Patch {
                object,
                resource_version: Some(resource_version),
                patch,
                before,
                after,
            },
        }))
    }

    /// Delete a StatefulSet (or any object) leaving its dependents in place.
    pub fn delete_orphan<K>(obj: &K, reason: impl Into<String>) -> Step
    where
        K: kube::Resource<DynamicType = ()>,
    {
        Step {
            reason: reason.into(),
            change: Change::DeleteOrphan {
                object: ObjectRef::of(obj),
                uid: obj.meta().uid.clone().unwrap_or_default(),
                resource_version: obj.meta().resource_version.clone().unwrap_or_default(),
            },
        }
    }

    /// Restart a pod by deleting it, when a controller recreates it (a ReplicaSet or a StatefulSet); `None` for a
    /// bare pod or one whose owner may not recreate it — deleting that would lose it for good.
    pub fn restart_pod(
        pod: &k8s_openapi::api::core::v1::Pod,
        reason: impl Into<String>,
    ) -> Option<Step> {
        let controller = crate::model::controller_of(pod).filter(PodController::recreates)?;
        Some(Step {
            reason: reason.into(),
            change: Change::RestartPod {
                object: ObjectRef::of(pod),
                uid: pod.metadata.uid.clone().unwrap_or_default(),
                controller,
            },
        })
    }
}

/// An ordered list of changes, with notes the user should act on outside the cluster (Helm values, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// One line: what the plan achieves.
    pub summary: String,
    pub steps: Vec<Step>,
    pub notes: Vec<String>,
}

impl Plan {
    pub fn new(summary: impl Into<String>) -> Self {
        Plan {
            summary: summary.into(),
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether every step of `again` (planned again from fresh reads) is a step of this plan: the same change to the
    /// same object, resourceVersions aside. Steps already applied simply drop out of `again`, so a plan half-applied
    /// before a conflict still asks for nothing new.
    pub fn asks_nothing_new(&self, again: &Plan) -> bool {
        let known: Vec<Change> = self
            .steps
            .iter()
            .map(|s| s.change.without_version())
            .collect();
        again
            .steps
            .iter()
            .all(|s| known.contains(&s.change.without_version()))
    }
}

impl Change {
    /// The change with its resourceVersion precondition blanked: what it asks for, not when it was read.
    fn without_version(&self) -> Change {
        let mut change = self.clone();
        match &mut change {
            Change::Patch {
                resource_version,
                patch,
                before,
                after,
                ..
            } => {
                *resource_version = None;
                for v in [patch, before, after] {
                    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.remove("resourceVersion");
                        meta.remove("generation");
                        meta.remove("managedFields");
                    }
                }
                // Only what the patch asks for matters; the objects around it changed by definition.
                *before = Value::Null;
                *after = Value::Null;
            }
            Change::DeleteOrphan {
                resource_version, ..
            } => resource_version.clear(),
            Change::Create { body, .. } => {
                if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("resourceVersion");
                }
            }
            Change::RestartPod { .. } => {}
        }
        change
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Merge patches (pure)

/// The RFC 7386 merge patch that turns `before` into `after`: changed keys set, removed keys `null`, arrays replaced
/// whole. Server-managed noise (`metadata.managedFields`, `status`) is never part of it.
pub fn merge_patch(before: &Value, after: &Value) -> Value {
    fn diff(before: &Value, after: &Value, top: bool) -> Option<Value> {
        match (before, after) {
            (Value::Object(b), Value::Object(a)) => {
                let mut out = Map::new();
                for (k, av) in a {
                    if top && k == "status" {
                        continue;
                    }
                    match b.get(k) {
                        Some(bv) if bv == av => {}
                        Some(bv) => {
                            if let Some(d) = diff(bv, av, false) {
                                out.insert(k.clone(), d);
                            }
                        }
                        None => {
                            out.insert(k.clone(), av.clone());
                        }
                    }
                }
                for k in b.keys() {
                    if !(a.contains_key(k) || top && k == "status") {
                        out.insert(k.clone(), Value::Null);
                    }
                }
                if let Some(Value::Object(meta)) = out.get_mut("metadata") {
                    meta.remove("managedFields");
                    meta.remove("resourceVersion");
                    if meta.is_empty() {
                        out.remove("metadata");
                    }
                }
                (!out.is_empty()).then_some(Value::Object(out))
            }
            _ if before == after => None,
            _ => Some(after.clone()),
        }
    }
    diff(before, after, true).unwrap_or_else(|| Value::Object(Map::new()))
}

/// Apply an RFC 7386 merge patch locally (what the API server will do), for previews and tests.
pub fn apply_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("made an object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            apply_merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    pub(crate) fn deployment() -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "prometheus-server", "namespace": "monitoring", "resourceVersion": "42",
                         "managedFields": [{"manager": "helm"}]},
            "spec": {"selector": {"matchLabels": {"app": "p"}},
                     "template": {"metadata": {"labels": {"app": "p"}},
                                  "spec": {"containers": [{"name": "prometheus-server", "image": "prom/prometheus",
                                                           "args": ["--config.file=/etc/config/prometheus.yml", "--storage.tsdb.path=/data"]}]}}},
            "status": {"replicas": 1}
        }))
        .unwrap()
    }

    /// The fixture with `--web.enable-lifecycle` appended to its container's args.
    pub(crate) fn with_lifecycle_flag(before: &Deployment) -> Deployment {
        let mut after = before.clone();
        let spec = after
            .spec
            .as_mut()
            .and_then(|s| s.template.spec.as_mut())
            .unwrap();
        spec.containers[0]
            .args
            .get_or_insert_with(Vec::new)
            .push("--web.enable-lifecycle".into());
        after
    }

    pub(crate) fn settings(
        assume_yes: bool,
        dry_run: bool,
        interactive: bool,
    ) -> crate::context::Settings {
        crate::context::Settings {
            scope: crate::context::Scope::Namespace("monitoring".into()),
            output: Default::default(),
            assume_yes,
            dry_run,
            interactive,
            verbose: 0,
            impersonation: None,
        }
    }

    pub(crate) fn lifecycle_plan(before: &Deployment, after: &Deployment) -> Plan {
        let mut plan = Plan::new("enable the lifecycle API");
        plan.steps
            .extend(Step::patch(before, after, "reload needs it").unwrap());
        plan
    }

    /// The deployment as someone else left it: a new resourceVersion, and optionally another argument.
    pub(crate) fn touched(extra_arg: bool) -> k8s_openapi::api::apps::v1::Deployment {
        let mut d = deployment();
        d.metadata.resource_version = Some("57".into());
        if extra_arg {
            d.spec
                .as_mut()
                .unwrap()
                .template
                .spec
                .as_mut()
                .unwrap()
                .containers[0]
                .args
                .as_mut()
                .unwrap()
                .push("--query.timeout=1m".into());
        }
        d
    }

    #[test]
    fn a_plan_made_again_asks_nothing_new_when_only_versions_moved_or_steps_are_done() {
        let before = deployment();
        let first = lifecycle_plan(&before, &with_lifecycle_flag(&before));
        // Someone touched the object (new resourceVersion, a label): the patch we send is the same.
        let mut touched = touched(false);
        touched
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("team".into(), "sre".into());
        let again = lifecycle_plan(&touched, &with_lifecycle_flag(&touched));
        assert_ne!(first, again, "the resourceVersion differs");
        assert!(first.asks_nothing_new(&again));
        // The step was applied before the conflict (or by someone else): nothing left to send.
        assert!(first.asks_nothing_new(&Plan::new("enable the lifecycle API")));
        // Someone added an argument: our merge patch replaces the whole containers list, so it now carries
        // theirs too. That is a different change and must be confirmed again.
        let edited = super::tests::touched(true);
        let changed = lifecycle_plan(&edited, &with_lifecycle_flag(&edited));
        assert!(!first.asks_nothing_new(&changed));
    }

    #[test]
    fn patch_step_carries_the_resource_version_and_only_the_change() {
        let before = deployment();
        let after = with_lifecycle_flag(&before);
        let step = Step::patch(&before, &after, "turn the lifecycle API on")
            .unwrap()
            .expect("a change");
        let Change::Patch {
            patch,
            resource_version,
            object,
            ..
        } = &step.change
        else {
            panic!("not a patch")
        };
        assert_eq!(resource_version.as_deref(), Some("42"));
        assert_eq!(object.display(), "deployment monitoring/prometheus-server");
        assert_eq!(object.group, "apps");
        assert_eq!(patch["metadata"], json!({"resourceVersion": "42"}));
        // Lists are replaced whole by a merge patch: the full containers list is sent.
        assert_eq!(
            patch["spec"]["template"]["spec"]["containers"][0]["args"][2],
            json!("--web.enable-lifecycle")
        );
        assert!(patch.get("status").is_none());
        // Applying the patch to the old object gives the new one.
        let mut applied = serde_json::to_value(&before).unwrap();
        apply_merge_patch(&mut applied, patch);
        assert_eq!(
            applied["spec"],
            serde_json::to_value(&after).unwrap()["spec"]
        );
        // No change, no step.
        assert!(
            Step::patch(&before, &before.clone(), "nothing")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn objects_without_resource_version_are_refused() {
        let mut before = deployment();
        before.metadata.resource_version = None;
        assert!(Step::patch(&before, &before.clone(), "x").is_err());
    }

    #[test]
    fn merge_patch_nulls_removed_keys() {
        let p = merge_patch(
            &json!({"a": 1, "b": {"c": 2, "d": 3}}),
            &json!({"a": 1, "b": {"c": 2}}),
        );
        assert_eq!(p, json!({"b": {"d": null}}));
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}});
        apply_merge_patch(&mut t, &p);
        assert_eq!(t, json!({"a": 1, "b": {"c": 2}}));
    }
}
