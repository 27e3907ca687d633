//! Pure per-flavour planning: from a snapshot and its diagnosis to the edits of the target object (with their
//! resourceVersion preconditions), the Helm values change to keep them, and the reasons. Plain and chart installs
//! edit the workload's pod template; the operator's install edits `Prometheus.spec` only, never the StatefulSet it
//! generates. Every edit is sent as a JSON merge patch (custom resources take no strategic merge), so list edits
//! (initContainers) send the whole remaining list, guarded by the resourceVersion.

use super::CHOWN_STEP_NAME;
use super::diagnose::{Diagnosis, SecurityFields};
use super::facts;
use crate::engine::ObjectRef;
use crate::inspect::snapshot::InstanceSnapshot;
use crate::model::{Flavour, WorkloadKind};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The image the one-off chown step uses when the Prometheus image has no `chown` (the distroless image).
pub const CHOWN_FALLBACK_IMAGE: &str = "busybox:1.36";

/// What a change is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FixKind {
    /// Set runAsUser/runAsGroup/runAsNonRoot/fsGroup/fsGroupChangePolicy.
    SecurityContext,
    /// Add the one-off root chown init step (only where fsGroup cannot work).
    AddChownStep,
    /// Remove chmod/chown initContainers (and the one-off step), named, confirmed separately.
    RemoveInitContainers,
}

/// An edit of the pod spec the target holds (`spec.template.spec` of a workload, `spec` of a `Prometheus`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Edit {
    /// Merge these keys into `securityContext`.
    SetSecurityContext { fields: Map<String, Value> },
    /// Put this container first in `initContainers` (replacing one of the same name).
    AddInitContainer { container: Value },
    /// Drop these names from `initContainers` (the key goes when the list is empty).
    RemoveInitContainers { names: Vec<String> },
}

/// One fix of the plan: an edit of the target's pod spec and what it is for. It becomes the engine's
/// [`crate::engine::Step`] (a merge patch preconditioned on the resourceVersion) in `apply::step_for`, on the object as
/// read then: at plan time only the pod spec is known, and a fix is applied again to the object as it is after a 409.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fix {
    pub kind: FixKind,
    /// The object patched: the workload, or the operator's `Prometheus` resource.
    pub target: ObjectRef,
    /// The precondition: the patch fails with 409 Conflict if the object changed since it was read.
    pub resource_version: Option<String>,
    pub edit: Edit,
    /// The merge patch this edit amounts to on the object as read (with `metadata.resourceVersion`), for the preview
    /// and `-o json`. At apply time the edit is re-applied to the object as fetched then.
    pub patch: Value,
    pub reason: String,
    /// Asked on its own prompt, naming what it removes or runs as root.
    pub confirm_separately: bool,
    /// Applied only after the first rollout verified (removing the one-off chown step).
    pub after_verify: bool,
}

/// What to change in the Helm values so that the next `helm upgrade` keeps the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuesChange {
    pub release: String,
    /// e.g. `server.securityContext` or `prometheus.prometheusSpec.securityContext`.
    pub key: String,
    /// The full securityContext to set there, as YAML.
    pub yaml: String,
    /// Init containers to drop from `init_key` in the values.
    pub remove_init_containers: Vec<String>,
    pub init_key: String,
}

impl ValuesChange {
    /// The note printed with the plan.
    pub fn note(&self) -> String {
        let mut text = format!(
            "Helm release {}: set {} in your values so the next `helm upgrade` keeps this fix:\n{}",
            self.release,
            self.key,
            indent(&self.yaml)
        );
        if !self.remove_init_containers.is_empty() {
            text.push_str(&format!(
                "and remove {} from {}",
                self.remove_init_containers.join(", "),
                self.init_key
            ));
        }
        text
    }
}

fn indent(yaml: &str) -> String {
    yaml.lines().map(|l| format!("  {l}\n")).collect()
}

/// The whole plan; empty `changes` means the instance is already fixed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermsPlan {
    /// The securityContext fields before and after.
    pub before: SecurityFields,
    pub after: SecurityFields,
    pub changes: Vec<Fix>,
    pub values: Option<ValuesChange>,
    /// Why, in sentences (fsGroup support, assumptions, what the chown step is).
    pub notes: Vec<String>,
}

impl PermsPlan {
    /// Nothing to change: the instance is already fixed.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The securityContext fix-perms wants: every field already set is kept (changing an fsGroup or a user that works
/// would re-own the volume); missing ones are filled consistently with the user Prometheus runs as.
pub fn desired_fields(d: &Diagnosis) -> SecurityFields {
    let current = &d.current;
    SecurityFields {
        run_as_user: current.run_as_user.or(Some(d.user.uid)),
        run_as_group: current.run_as_group.or(Some(d.user.gid)),
        run_as_non_root: current
            .run_as_non_root
            .or((d.user.uid != 0).then_some(true)),
        fs_group: current.fs_group.or(Some(d.user.gid)),
        fs_group_change_policy: current
            .fs_group_change_policy
            .clone()
            .or(Some("OnRootMismatch".to_string())),
    }
}

/// The fields of `after` that differ from `before`, as a camelCase JSON object.
fn security_delta(before: &SecurityFields, after: &SecurityFields) -> Map<String, Value> {
    let mut delta = Map::new();
    let mut put = |key: &str, old: Value, new: Value| {
        if old != new {
            delta.insert(key.to_string(), new);
        }
    };
    put(
        "runAsUser",
        json!(before.run_as_user),
        json!(after.run_as_user),
    );
    put(
        "runAsGroup",
        json!(before.run_as_group),
        json!(after.run_as_group),
    );
    put(
        "runAsNonRoot",
        json!(before.run_as_non_root),
        json!(after.run_as_non_root),
    );
    put("fsGroup", json!(before.fs_group), json!(after.fs_group));
    put(
        "fsGroupChangePolicy",
        json!(before.fs_group_change_policy),
        json!(after.fs_group_change_policy),
    );
    delta
}

/// Where the patches go: the `Prometheus` resource for the operator, else the workload; with the resourceVersion
/// it was read at.
pub fn target_of(snapshot: &InstanceSnapshot) -> (ObjectRef, Option<String>) {
    let namespace = &snapshot.instance.namespace;
    match (
        &snapshot.instance.flavour,
        facts::prometheus_resource(snapshot),
    ) {
        (Flavour::Operator { .. }, Some(resource)) => (
            ObjectRef::prometheus(namespace, &resource.name),
            resource.resource_version.clone(),
        ),
        _ => {
            // A bare pod never gets here: `super::workload_to_change` refuses it before anything is read (fix-perms
            // changes a pod template); without a workload the target names the instance as a pod.
            let (kind, name, resource_version) = match facts::workload(snapshot) {
                Some(w) => (w.kind, w.name.clone(), w.resource_version.clone()),
                None => (WorkloadKind::Pod, snapshot.instance.name.clone(), None),
            };
            let (group, kind) = match kind {
                WorkloadKind::Deployment => ("apps", "Deployment"),
                WorkloadKind::StatefulSet => ("apps", "StatefulSet"),
                WorkloadKind::Pod => ("", "Pod"),
            };
            (
                ObjectRef {
                    group: group.into(),
                    version: "v1".into(),
                    kind: kind.into(),
                    plural: format!("{}s", kind.to_ascii_lowercase()),
                    namespace: Some(namespace.clone()),
                    name,
                },
                resource_version,
            )
        }
    }
}

/// Whether the target is an operator `Prometheus` resource (its pod spec is at `spec`).
fn is_prometheus_resource(target: &ObjectRef) -> bool {
    target.kind == "Prometheus"
}

/// The pod spec the target holds, as read: the resource's `spec` for the operator, else the template's spec.
fn target_pod_spec(snapshot: &InstanceSnapshot, target: &ObjectRef) -> Value {
    if is_prometheus_resource(target) {
        facts::prometheus_resource(snapshot)
            .map(|r| r.spec)
            .unwrap_or_else(|| json!({}))
    } else {
        serde_json::to_value(facts::pod_spec(snapshot)).unwrap_or_else(|_| json!({}))
    }
}

/// Apply an edit to a pod spec (JSON). Returns the merge-patch fragment (relative to the pod spec) it amounts to.
pub fn edit_pod_spec(pod_spec: &mut Value, edit: &Edit) -> Value {
    if !pod_spec.is_object() {
        *pod_spec = json!({});
    }
    let spec = pod_spec.as_object_mut().expect("made an object");
    match edit {
        Edit::SetSecurityContext { fields } => {
            let context = spec.entry("securityContext").or_insert_with(|| json!({}));
            if !context.is_object() {
                *context = json!({});
            }
            for (k, v) in fields {
                context[k.as_str()] = v.clone();
            }
            json!({ "securityContext": Value::Object(fields.clone()) })
        }
        Edit::AddInitContainer { container } => {
            let name = container.get("name").cloned();
            let mut list: Vec<Value> = spec
                .get("initContainers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            list.retain(|c| c.get("name") != name.as_ref());
            list.insert(0, container.clone());
            spec.insert("initContainers".into(), Value::Array(list.clone()));
            json!({ "initContainers": list })
        }
        Edit::RemoveInitContainers { names } => {
            let mut list: Vec<Value> = spec
                .get("initContainers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            list.retain(|c| {
                let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                !names.iter().any(|n| n == name)
            });
            if list.is_empty() {
                spec.remove("initContainers");
                json!({ "initContainers": null })
            } else {
                spec.insert("initContainers".into(), Value::Array(list.clone()));
                json!({ "initContainers": list })
            }
        }
    }
}

/// Apply an edit to the whole target object (JSON as read from the API): what apply does before diffing.
pub fn edit_object(target: &ObjectRef, object: &mut Value, edit: &Edit) {
    let pointer = if is_prometheus_resource(target) {
        "/spec"
    } else {
        "/spec/template/spec"
    };
    if object.pointer(pointer).is_none() {
        let (parent, key) = pointer.rsplit_once('/').expect("absolute pointer");
        if let Some(Value::Object(map)) =
            object.pointer_mut(if parent.is_empty() { "" } else { parent })
        {
            map.insert(key.to_string(), json!({}));
        }
    }
    if let Some(spec) = object.pointer_mut(pointer) {
        edit_pod_spec(spec, edit);
    }
}

/// The preview patch: the fragment at the target's pod-spec path, with the resourceVersion precondition.
fn preview_patch(target: &ObjectRef, resource_version: Option<&str>, fragment: Value) -> Value {
    let mut body = if is_prometheus_resource(target) {
        json!({ "spec": fragment })
    } else {
        json!({ "spec": { "template": { "spec": fragment } } })
    };
    if let Some(rv) = resource_version {
        body["metadata"] = json!({ "resourceVersion": rv });
    }
    body
}

/// The one-off init step: root, on the data volume (same subPath), `chown -R uid:gid` the mount.
fn chown_container(d: &Diagnosis, after: &SecurityFields) -> Option<Value> {
    let data = d.data_volume.as_ref()?;
    let uid = after.run_as_user.unwrap_or(d.user.uid);
    let gid = after.run_as_group.unwrap_or(d.user.gid);
    let image = if d.image_has_busybox && !d.image.is_empty() {
        d.image.clone()
    } else {
        CHOWN_FALLBACK_IMAGE.to_string()
    };
    let mut mount = json!({ "name": data.volume, "mountPath": data.mount_path });
    if let Some(sub) = &data.sub_path {
        mount["subPath"] = json!(sub);
    }
    Some(json!({
        "name": CHOWN_STEP_NAME,
        "image": image,
        "command": ["chown", "-R", format!("{uid}:{gid}"), data.mount_path],
        "securityContext": { "runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": false },
        "volumeMounts": [mount],
    }))
}

/// Plan the fix for one instance.
pub fn plan(snapshot: &InstanceSnapshot, d: &Diagnosis) -> PermsPlan {
    let (target, resource_version) = target_of(snapshot);
    let before = d.current.clone();
    let after = desired_fields(d);
    let mut notes = Vec::new();
    let mut changes = Vec::new();
    // The pod spec as each change will find it: previews of later changes include the earlier ones.
    let mut working = target_pod_spec(snapshot, &target);
    let push = |changes: &mut Vec<Fix>,
                working: &mut Value,
                kind,
                edit: Edit,
                reason: String,
                separately,
                after_verify| {
        let fragment = edit_pod_spec(working, &edit);
        changes.push(Fix {
            kind,
            target: target.clone(),
            resource_version: resource_version.clone(),
            patch: preview_patch(&target, resource_version.as_deref(), fragment),
            edit,
            reason,
            confirm_separately: separately,
            after_verify,
        });
    };

    if let Some(data) = &d.data_volume {
        notes.push(format!(
            "data volume {} ({}) at {}: {}",
            data.volume, data.source, data.mount_path, data.fs_group.reason
        ));
        if data.fs_group.applies.is_none() {
            notes.push("fsGroup is set anyway: it is harmless where the kubelet ignores it".into());
        }
    } else {
        notes.push(format!(
            "no volume of container {} holds the TSDB path; only the securityContext is planned",
            snapshot.instance.container
        ));
    }
    notes.push(format!(
        "Prometheus runs as {}:{} ({})",
        d.user.uid, d.user.gid, d.user_source
    ));

    let delta = security_delta(&before, &after);
    // A working install is left alone (issue 18 item 5): a rolling restart — downtime under the Recreate strategy —
    // for fields it does not need is advice, never a change made by default.
    if !delta.is_empty() && d.writes_fine() {
        let fields: Vec<String> = delta.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        notes.push(format!(
            "Prometheus writes its data as it is, so nothing is changed; optional hardening you may add yourself (it restarts the pods): securityContext {}",
            fields.join(", ")
        ));
    }
    if !delta.is_empty() && !d.writes_fine() {
        let reason = format!(
            "run Prometheus as {}:{} and let the kubelet give the volume group {} (fsGroupChangePolicy {} skips the \
             recursive walk when the volume root already matches)",
            after.run_as_user.unwrap_or(d.user.uid),
            after.run_as_group.unwrap_or(d.user.gid),
            after.fs_group.unwrap_or(d.user.gid),
            after
                .fs_group_change_policy
                .as_deref()
                .unwrap_or("OnRootMismatch"),
        );
        push(
            &mut changes,
            &mut working,
            FixKind::SecurityContext,
            Edit::SetSecurityContext {
                fields: delta.clone(),
            },
            reason,
            false,
            false,
        );
    }

    let chown = if d.needs_chown() {
        chown_container(d, &after)
    } else {
        None
    };
    if let Some(container) = &chown {
        let why = d
            .data_volume
            .as_ref()
            .map(|v| v.fs_group.reason.clone())
            .unwrap_or_default();
        let command = container["command"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        push(
            &mut changes,
            &mut working,
            FixKind::AddChownStep,
            Edit::AddInitContainer {
                container: container.clone(),
            },
            format!(
                "fsGroup cannot make this volume writable ({why}); a one-off init step `{CHOWN_STEP_NAME}` runs as root \
                 and runs `{command}` on it, and is removed again once Prometheus is Ready"
            ),
            true,
            false,
        );
        notes.push(format!(
            "fsGroup does not apply to this volume, so the explicit one-off chown path is planned: `{CHOWN_STEP_NAME}` \
             runs once as root, then a second rollout removes it"
        ));
    }

    // chmod/chown initContainers: removed (after the one-off chown verified, when there is one). For the operator only
    // the ones in Prometheus.spec.initContainers can be removed through the resource.
    let in_target: Vec<String> = target_pod_spec(snapshot, &target)
        .get("initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut removable: Vec<String> = Vec::new();
    for step in &d.chmod_init_containers {
        if in_target.contains(&step.name) {
            removable.push(step.name.clone());
        } else {
            notes.push(format!(
                "init container {} is not in Prometheus.spec.initContainers, so it cannot be removed through the resource",
                step.name
            ));
        }
    }
    if chown.is_some() && !removable.iter().any(|n| n == CHOWN_STEP_NAME) {
        removable.push(CHOWN_STEP_NAME.to_string());
    }
    if !removable.is_empty() {
        let others: Vec<&InitStepRef> = d
            .chmod_init_containers
            .iter()
            .filter(|s| s.name != CHOWN_STEP_NAME && removable.contains(&s.name))
            .collect();
        let reason = if others.is_empty() {
            format!(
                "remove the one-off `{CHOWN_STEP_NAME}` step now that the volume is owned by Prometheus's user"
            )
        } else {
            format!(
                "remove {} (`{}`): chmod/chown init containers are unreliable on CSI volumes (ownership can revert on \
                 re-mount) and `chmod 777` undoes security; {} does this the Kubernetes way",
                others
                    .iter()
                    .map(|s| format!("`{}`", s.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                others
                    .iter()
                    .map(|s| s.command.as_str())
                    .collect::<Vec<_>>()
                    .join("`; `"),
                if chown.is_some() {
                    "the one-off chown"
                } else {
                    "fsGroup"
                }
            )
        };
        push(
            &mut changes,
            &mut working,
            FixKind::RemoveInitContainers,
            Edit::RemoveInitContainers {
                names: removable.clone(),
            },
            reason,
            true,
            chown.is_some(),
        );
    }

    if changes.is_empty() && delta.is_empty() {
        notes.push("nothing to change: the securityContext is complete and no chmod/chown init container is left".into());
    } else if changes.is_empty() {
        notes.push("nothing to change: Prometheus can write its data directory".into());
    }
    let values = if changes.is_empty() {
        None
    } else {
        values_change(snapshot, &after, &removable)
    };
    // No Helm values change we can name (Git, a kubectl-applied manifest, a chart whose keys we do not know): the
    // note says where the change must also be made (src/install/, issue 18 item 3).
    if !changes.is_empty() && values.is_none() {
        let origin = &snapshot.instance.origin;
        notes.extend(origin.note(&crate::install::NotedChange {
            key: crate::install::Key::PodSecurityContext,
            value: None,
            object: &origin.object,
            namespace: &snapshot.instance.namespace,
            statefulset: false,
        }));
    }
    PermsPlan {
        before,
        after,
        changes,
        values,
        notes,
    }
}

type InitStepRef = super::diagnose::InitStep;

/// The Helm values that keep the fix across `helm upgrade`: the whole securityContext (current keys such as
/// seccompProfile kept), and the init containers to drop.
fn values_change(
    snapshot: &InstanceSnapshot,
    after: &SecurityFields,
    removed: &[String],
) -> Option<ValuesChange> {
    // The chart's own keys (issue 18): Bitnami's are `server.podSecurityContext` and `server.initContainers`; a chart
    // whose keys we do not know gets no key at all (the plan's note says it in plain words).
    let origin = &snapshot.instance.origin;
    let chart = origin.chart();
    let known = chart.and_then(|c| {
        crate::install::values_key(c, crate::install::Key::PodSecurityContext).map(|k| (c, k))
    });
    if chart.is_some() && known.is_none() {
        return None;
    }
    // Rendered by Argo CD or Flux, or applied with kubectl: the values (or manifest) live in Git, not in `helm upgrade`.
    if matches!(
        origin.source,
        crate::install::Source::ArgoCd { .. }
            | crate::install::Source::Flux { .. }
            | crate::install::Source::KubectlApply { .. }
    ) {
        return None;
    }
    let resource = facts::prometheus_resource(snapshot);
    let kps_release = resource.as_ref().and_then(|r| r.helm_release());
    let (release, key, init_key, current) = match (&snapshot.instance.flavour, kps_release) {
        (Flavour::Chart { release, .. }, _) => (
            release.clone(),
            known.map_or("server.securityContext", |(_, k)| k),
            match known.map(|(c, _)| &c.chart) {
                Some(crate::install::Chart::BitnamiPrometheus) => "server.initContainers",
                _ => "server.extraInitContainers",
            },
            serde_json::to_value(facts::pod_spec(snapshot).security_context).ok(),
        ),
        (Flavour::Operator { .. }, Some(release)) => (
            release,
            "prometheus.prometheusSpec.securityContext",
            "prometheus.prometheusSpec.initContainers",
            resource
                .as_ref()
                .and_then(|r| r.spec.get("securityContext").cloned()),
        ),
        _ => return None,
    };
    let mut full = match current {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for (k, v) in security_delta(&SecurityFields::default(), after) {
        full.insert(k, v);
    }
    let yaml = crate::yaml::to_string(&Value::Object(full));
    Some(ValuesChange {
        release,
        key: key.to_string(),
        yaml,
        remove_init_containers: removed
            .iter()
            .filter(|n| *n != CHOWN_STEP_NAME)
            .cloned()
            .collect(),
        init_key: init_key.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::inspect::perms::VolumeRoot;

    fn names(edit: &Edit) -> Vec<String> {
        match edit {
            Edit::RemoveInitContainers { names } => names.clone(),
            other => panic!("not a removal: {other:?}"),
        }
    }

    #[test]
    fn plain_deployment_gets_fs_group_and_loses_the_chmod_init_container() {
        let p = plan_of(&handmade_chmod());
        assert_eq!(p.changes.len(), 2);
        let sc = &p.changes[0];
        assert_eq!(sc.kind, FixKind::SecurityContext);
        assert_eq!(sc.target.kind, "Deployment");
        assert_eq!(
            sc.patch,
            json!({
                "metadata": {"resourceVersion": "41"},
                "spec": {"template": {"spec": {"securityContext": {
                    "runAsUser": 65534, "runAsGroup": 65534, "runAsNonRoot": true,
                    "fsGroup": 65534, "fsGroupChangePolicy": "OnRootMismatch"
                }}}}
            })
        );
        assert!(!sc.confirm_separately);
        let rm = &p.changes[1];
        assert_eq!(rm.kind, FixKind::RemoveInitContainers);
        assert!(rm.confirm_separately);
        assert!(!rm.after_verify);
        assert_eq!(names(&rm.edit), vec!["init-chmod".to_string()]);
        // The only init container goes, so the list goes.
        assert_eq!(
            rm.patch,
            json!({"metadata": {"resourceVersion": "41"}, "spec": {"template": {"spec": {"initContainers": null}}}})
        );
        assert!(rm.reason.contains("chmod -R 777"), "{}", rm.reason);
        assert!(p.values.is_none(), "plain installs have no Helm values");
    }

    #[test]
    fn edits_apply_to_the_object_as_fetched() {
        let p = plan_of(&handmade_chmod());
        let mut object = json!({
            "metadata": {"name": "prometheus", "resourceVersion": "99"},
            "spec": {"template": {"spec": {
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "initContainers": [{"name": "init-chmod"}, {"name": "added-since"}],
                "containers": [{"name": "prometheus"}]
            }}}
        });
        for change in &p.changes {
            edit_object(&change.target, &mut object, &change.edit);
        }
        let spec = &object["spec"]["template"]["spec"];
        assert_eq!(
            spec["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(spec["securityContext"]["fsGroup"], 65534);
        assert_eq!(spec["initContainers"], json!([{"name": "added-since"}]));
        // A Prometheus resource keeps its pod spec at `spec`.
        let kps = plan_of(&kps_permission_denied());
        let mut resource = json!({"metadata": {"name": "kps-prometheus"}});
        edit_object(&kps.changes[0].target, &mut resource, &kps.changes[0].edit);
        assert_eq!(resource["spec"]["securityContext"]["fsGroup"], 2000);
    }

    #[test]
    fn operator_is_fixed_through_the_prometheus_resource_only() {
        let p = plan_of(&kps_permission_denied());
        assert!(!p.changes.is_empty());
        for change in &p.changes {
            assert_eq!(change.target.kind, "Prometheus", "{change:?}");
            assert_eq!(
                (change.target.group.as_str(), change.target.version.as_str()),
                ("monitoring.coreos.com", "v1")
            );
            assert_eq!(change.target.name, "kps-prometheus");
        }
        assert_eq!(
            p.changes[0].patch,
            json!({
                "metadata": {"resourceVersion": "812"},
                "spec": {"securityContext": {"fsGroup": 2000, "fsGroupChangePolicy": "OnRootMismatch"}}
            })
        );
        // The chown initContainer from incident 5 goes: the whole remaining list is sent (here: none left).
        assert_eq!(
            p.changes[1].patch,
            json!({"metadata": {"resourceVersion": "812"}, "spec": {"initContainers": null}})
        );
        assert_eq!(
            names(&p.changes[1].edit),
            vec!["init-chown-data".to_string()]
        );
        let values = p.values.expect("kps values");
        assert_eq!(values.release, "kps");
        assert_eq!(values.key, "prometheus.prometheusSpec.securityContext");
        assert!(values.yaml.contains("fsGroup: 2000"), "{}", values.yaml);
        assert!(
            values.yaml.contains("seccompProfile"),
            "existing keys are kept: {}",
            values.yaml
        );
        assert!(values.yaml.contains("runAsUser: 1000"));
        assert_eq!(
            values.remove_init_containers,
            vec!["init-chown-data".to_string()]
        );
        assert!(
            values
                .note()
                .contains("prometheus.prometheusSpec.initContainers")
        );
    }

    #[test]
    fn operator_keeps_init_containers_it_does_not_remove() {
        let mut snap = kps_permission_denied();
        let resource = snap.prometheus.as_mut().unwrap();
        resource["spec"]["initContainers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "warmup", "image": "busybox", "command": ["true"]}));
        let p = plan_of(&snap);
        let rm = p
            .changes
            .iter()
            .find(|c| c.kind == FixKind::RemoveInitContainers)
            .unwrap();
        assert_eq!(
            rm.patch["spec"]["initContainers"],
            json!([{"name": "warmup", "image": "busybox", "command": ["true"]}])
        );
    }

    #[test]
    fn operator_init_containers_outside_the_resource_are_reported_not_removed() {
        let mut snap = kps_permission_denied();
        snap.prometheus.as_mut().unwrap()["spec"]
            .as_object_mut()
            .unwrap()
            .remove("initContainers");
        let p = plan_of(&snap);
        assert!(
            p.changes
                .iter()
                .all(|c| c.kind != FixKind::RemoveInitContainers)
        );
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("init-chown-data is not in Prometheus.spec.initContainers"))
        );
    }

    #[test]
    fn chart_patches_the_workload_and_prints_the_values() {
        let p = plan_of(&chart_without_fs_group());
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].target.kind, "Deployment");
        assert_eq!(p.changes[0].target.name, "prometheus-server");
        assert_eq!(
            p.changes[0].patch["spec"]["template"]["spec"]["securityContext"],
            json!({"fsGroup": 65534, "fsGroupChangePolicy": "OnRootMismatch"})
        );
        let values = p.values.expect("chart values");
        assert_eq!(values.key, "server.securityContext");
        for line in [
            "runAsUser: 65534",
            "runAsGroup: 65534",
            "runAsNonRoot: true",
            "fsGroup: 65534",
        ] {
            assert!(values.yaml.contains(line), "{line} in {}", values.yaml);
        }
    }

    #[test]
    fn host_path_gets_the_explicit_chown_step_then_its_removal() {
        let p = plan_of(&plain_host_path());
        assert_eq!(
            kinds(&p),
            vec![
                FixKind::SecurityContext,
                FixKind::AddChownStep,
                FixKind::RemoveInitContainers
            ]
        );
        let add = &p.changes[1];
        assert!(add.confirm_separately);
        let step = &add.patch["spec"]["template"]["spec"]["initContainers"][0];
        assert_eq!(step["name"], CHOWN_STEP_NAME);
        assert_eq!(
            step["command"],
            json!(["chown", "-R", "65534:65534", "/prometheus"])
        );
        assert_eq!(step["securityContext"]["runAsUser"], 0);
        assert_eq!(
            step["image"], "quay.io/prometheus/prometheus:v2.42.0",
            "busybox-based image has chown"
        );
        assert_eq!(
            step["volumeMounts"],
            json!([{"name": "data", "mountPath": "/prometheus"}])
        );
        assert!(add.reason.contains("hostPath"), "{}", add.reason);
        let rm = &p.changes[2];
        assert!(
            rm.after_verify,
            "the step is removed only after Prometheus is Ready"
        );
        assert_eq!(names(&rm.edit), vec![CHOWN_STEP_NAME.to_string()]);
        // The preview of the removal is relative to the state after the step was added.
        assert_eq!(
            rm.patch["spec"]["template"]["spec"]["initContainers"],
            Value::Null
        );
        assert!(p.notes.iter().any(|n| n.contains("one-off chown")));
    }

    #[test]
    fn a_leftover_chown_step_from_an_interrupted_run_is_just_removed() {
        let first = plan_of(&plain_host_path());
        // The state after round 1 was applied and the run was interrupted: securityContext set, step in place,
        // volume already owned by 65534, no more evidence.
        let mut snap = plain_host_path();
        set_log(&mut snap, &[]);
        snap.data_root = Some(VolumeRoot {
            uid: 65534,
            gid: 65534,
            mode: 0o755,
        });
        spec_mut(&mut snap).security_context =
            Some(k8s_openapi::api::core::v1::PodSecurityContext {
                run_as_user: Some(65534),
                run_as_group: Some(65534),
                run_as_non_root: Some(true),
                fs_group: Some(65534),
                fs_group_change_policy: Some("OnRootMismatch".into()),
                ..Default::default()
            });
        let Edit::AddInitContainer { container } = &first.changes[1].edit else {
            panic!("not the chown step")
        };
        spec_mut(&mut snap).init_containers =
            Some(vec![serde_json::from_value(container.clone()).unwrap()]);
        let p = plan_of(&snap);
        assert_eq!(kinds(&p), vec![FixKind::RemoveInitContainers]);
        assert!(!p.changes[0].after_verify);
        assert_eq!(names(&p.changes[0].edit), vec![CHOWN_STEP_NAME.to_string()]);
    }

    #[test]
    fn distroless_chown_step_uses_busybox() {
        let mut snap = plain_host_path();
        spec_mut(&mut snap).containers[0].image =
            Some("quay.io/prometheus/prometheus:v3.14.0-distroless".into());
        let p = plan_of(&snap);
        let step = &p.changes[1].patch["spec"]["template"]["spec"]["initContainers"][0];
        assert_eq!(step["image"], CHOWN_FALLBACK_IMAGE);
        assert_eq!(
            step["command"],
            json!(["chown", "-R", "65532:65532", "/prometheus"])
        );
    }

    #[test]
    fn operator_on_a_csi_driver_without_fs_group_gets_the_chown_step_in_the_resource() {
        let mut snap = kps_permission_denied();
        snap.csi_drivers = vec![csi_driver("cinder.csi.openstack.org", Some("None"))];
        let p = plan_of(&snap);
        let add = p
            .changes
            .iter()
            .find(|c| c.kind == FixKind::AddChownStep)
            .expect("chown step");
        assert_eq!(add.target.kind, "Prometheus");
        let list = add.patch["spec"]["initContainers"].as_array().unwrap();
        assert_eq!(list[0]["name"], CHOWN_STEP_NAME);
        assert_eq!(
            list[0]["command"],
            json!(["chown", "-R", "1000:2000", "/prometheus"])
        );
        assert_eq!(list[0]["volumeMounts"][0]["subPath"], "prometheus-db");
        assert_eq!(
            list[1]["name"], "init-chown-data",
            "the existing list is kept until the removal step"
        );
        let rm = p
            .changes
            .iter()
            .find(|c| c.kind == FixKind::RemoveInitContainers)
            .unwrap();
        assert!(rm.after_verify);
        assert_eq!(
            names(&rm.edit),
            vec!["init-chown-data".to_string(), CHOWN_STEP_NAME.to_string()]
        );
    }

    #[test]
    fn each_chart_gets_its_own_security_context_key() {
        let bitnami = |chart: crate::install::Chart| {
            let mut snap = chart_without_fs_group();
            snap.instance.origin = crate::install::Origin {
                source: crate::install::Source::Helm {
                    release: "prometheus".into(),
                    namespace: "monitoring".into(),
                    chart: Some(crate::install::ChartId {
                        chart,
                        version: Some("2.1.17".into()),
                        evidence: crate::install::Evidence::Labels,
                    }),
                },
                drift: Vec::new(),
                object: "deploy/prometheus-server".into(),
            };
            plan_of(&snap)
        };
        let p = bitnami(crate::install::Chart::BitnamiPrometheus);
        assert_eq!(p.values.as_ref().unwrap().key, "server.podSecurityContext");
        // A chart we do not know: no key, plain words in the note.
        let p = bitnami(crate::install::Chart::Other("acme".into()));
        assert!(p.values.is_none());
        assert!(
            p.notes
                .iter()
                .any(|n| n
                    .contains("the pod securityContext in the values of Helm release prometheus")),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn second_run_on_a_fixed_instance_is_a_noop() {
        // Plain: what the first plan set, with the chmod init container gone.
        let mut snap = handmade_chmod();
        spec_mut(&mut snap).init_containers = None;
        spec_mut(&mut snap).security_context =
            Some(k8s_openapi::api::core::v1::PodSecurityContext {
                run_as_user: Some(65534),
                run_as_group: Some(65534),
                run_as_non_root: Some(true),
                fs_group: Some(65534),
                fs_group_change_policy: Some("OnRootMismatch".into()),
                ..Default::default()
            });
        let p = plan_of(&snap);
        assert!(p.is_noop(), "{:?}", p.changes);
        assert!(p.values.is_none());
        assert!(p.notes.iter().any(|n| n.contains("nothing to change")));

        // hostPath after the chown: securityContext set, the volume owned by 65534, no more evidence.
        let mut host = plain_host_path();
        spec_mut(&mut host).security_context = spec_mut(&mut snap).security_context.clone();
        set_log(&mut host, &[]);
        host.data_root = Some(VolumeRoot {
            uid: 65534,
            gid: 65534,
            mode: 0o755,
        });
        assert!(plan_of(&host).is_noop());

        // Operator: the resource has the full securityContext and no init containers.
        let mut kps = kps_permission_denied();
        let resource = kps.prometheus.as_mut().unwrap();
        resource["spec"]["securityContext"]["fsGroup"] = json!(2000);
        resource["spec"]["securityContext"]["fsGroupChangePolicy"] = json!("OnRootMismatch");
        resource["spec"]
            .as_object_mut()
            .unwrap()
            .remove("initContainers");
        spec_mut(&mut kps).init_containers = None;
        set_log(&mut kps, &[]);
        assert!(plan_of(&kps).is_noop());
    }

    #[test]
    fn existing_fields_are_never_overwritten() {
        let mut snap = handmade_chmod();
        spec_mut(&mut snap).security_context =
            Some(k8s_openapi::api::core::v1::PodSecurityContext {
                fs_group: Some(3000),
                fs_group_change_policy: Some("Always".into()),
                ..Default::default()
            });
        let p = plan_of(&snap);
        let sc = &p.changes[0].patch["spec"]["template"]["spec"]["securityContext"];
        assert_eq!(sc.get("fsGroup"), None);
        assert_eq!(sc.get("fsGroupChangePolicy"), None);
        // The group follows the existing fsGroup.
        assert_eq!(sc["runAsGroup"], 3000);
    }

    #[test]
    fn edit_pod_spec_add_replaces_same_name_and_remove_keeps_others() {
        let mut spec =
            json!({"initContainers": [{"name": "a"}, {"name": CHOWN_STEP_NAME, "image": "old"}]});
        let add = Edit::AddInitContainer {
            container: json!({"name": CHOWN_STEP_NAME, "image": "new"}),
        };
        let fragment = edit_pod_spec(&mut spec, &add);
        assert_eq!(
            fragment["initContainers"],
            json!([{"name": CHOWN_STEP_NAME, "image": "new"}, {"name": "a"}])
        );
        let remove = Edit::RemoveInitContainers {
            names: vec![CHOWN_STEP_NAME.into()],
        };
        assert_eq!(
            edit_pod_spec(&mut spec, &remove),
            json!({"initContainers": [{"name": "a"}]})
        );
        let remove_all = Edit::RemoveInitContainers {
            names: vec!["a".into()],
        };
        assert_eq!(
            edit_pod_spec(&mut spec, &remove_all),
            json!({"initContainers": null})
        );
        assert_eq!(spec, json!({}));
    }
}
