//! Pure per-flavour planning: from a snapshot and its diagnosis to the exact patches (with their resourceVersion
//! preconditions), the Helm values change to keep them, and the reasons. Plain and chart installs patch the workload;
//! the operator's install patches `Prometheus.spec` only, never the StatefulSet it generates.

use super::CHOWN_STEP_NAME;
use super::diagnose::{Diagnosis, SecurityFields};
use super::snapshot::{Install, PermsSnapshot, WorkloadKind};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The image the one-off chown step uses when the Prometheus image has no `chown` (the distroless image).
pub const CHOWN_FALLBACK_IMAGE: &str = "busybox:1.36";

/// How a patch body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PatchKind {
    /// `application/merge-patch+json` (custom resources support only this and JSON patch).
    Merge,
    /// `application/strategic-merge-patch+json`: lists of containers merge by name, `$patch: delete` removes one.
    Strategic,
}

/// What a change is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    /// Set runAsUser/runAsGroup/runAsNonRoot/fsGroup/fsGroupChangePolicy.
    SecurityContext,
    /// Add the one-off root chown init step (only where fsGroup cannot work).
    AddChownStep,
    /// Remove chmod/chown initContainers (and the one-off step), named, confirmed separately.
    RemoveInitContainers,
}

/// The object a change patches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The precondition: the patch fails with 409 Conflict if the object changed since it was read.
    pub resource_version: Option<String>,
}

impl Target {
    /// `deployment monitoring/prometheus`, as used in messages.
    pub fn display(&self) -> String {
        format!(
            "{} {}/{}",
            self.kind.to_ascii_lowercase(),
            self.namespace,
            self.name
        )
    }
}

/// One patch of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub kind: ChangeKind,
    pub target: Target,
    pub patch_type: PatchKind,
    /// The exact body sent (with `metadata.resourceVersion` as the precondition).
    pub body: Value,
    pub reason: String,
    /// Asked on its own prompt, naming what it removes or runs as root.
    pub confirm_separately: bool,
    /// Applied only after the first rollout verified (removing the one-off chown step).
    pub after_verify: bool,
    /// Init container names this change removes (for `RemoveInitContainers`).
    pub removes: Vec<String>,
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

/// The whole plan; empty `changes` means the instance is already fixed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermsPlan {
    /// The securityContext fields before and after.
    pub before: SecurityFields,
    pub after: SecurityFields,
    pub changes: Vec<Change>,
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

/// Where the patches go: the `Prometheus` resource for the operator, else the workload.
fn target_of(snapshot: &PermsSnapshot) -> Target {
    match (&snapshot.install, &snapshot.prometheus_resource) {
        (Install::Operator { .. }, Some(resource)) => Target {
            api_version: "monitoring.coreos.com/v1".into(),
            kind: "Prometheus".into(),
            namespace: snapshot.namespace.clone(),
            name: resource.name.clone(),
            resource_version: resource.resource_version.clone(),
        },
        _ => Target {
            api_version: "apps/v1".into(),
            kind: match snapshot.workload.kind {
                WorkloadKind::Deployment => "Deployment".into(),
                WorkloadKind::StatefulSet => "StatefulSet".into(),
            },
            namespace: snapshot.namespace.clone(),
            name: snapshot.workload.name.clone(),
            resource_version: snapshot.workload.resource_version.clone(),
        },
    }
}

/// `{"metadata":{"resourceVersion":rv}, ...}` merged with `rest`.
fn with_precondition(target: &Target, rest: Value) -> Value {
    let mut body = rest;
    if let (Some(rv), Some(object)) = (&target.resource_version, body.as_object_mut()) {
        object.insert("metadata".into(), json!({ "resourceVersion": rv }));
    }
    body
}

/// Wrap a pod-spec fragment at the path the target keeps its pod spec: `spec.template.spec` for a workload,
/// `spec` for the `Prometheus` resource.
fn at_pod_spec(target: &Target, fragment: Value) -> Value {
    if target.kind == "Prometheus" {
        json!({ "spec": fragment })
    } else {
        json!({ "spec": { "template": { "spec": fragment } } })
    }
}

/// The change removing `names` from the target's initContainers. `resource_init_containers` is the `Prometheus`
/// resource's current `spec.initContainers` (custom resources take no strategic merge, so the remaining list is sent
/// whole, guarded by the resourceVersion); for workloads a strategic `$patch: delete` per name is sent.
pub fn removal_change(
    target: &Target,
    resource_init_containers: Option<&Value>,
    names: &[String],
    reason: String,
    after_verify: bool,
) -> Change {
    let (patch_type, fragment) = if target.kind == "Prometheus" {
        let remaining: Vec<Value> = resource_init_containers
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| {
                let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
                !names.iter().any(|n| n == name)
            })
            .cloned()
            .collect();
        let list = if remaining.is_empty() {
            Value::Null
        } else {
            Value::Array(remaining)
        };
        (PatchKind::Merge, json!({ "initContainers": list }))
    } else {
        let deletes: Vec<Value> = names
            .iter()
            .map(|n| json!({ "name": n, "$patch": "delete" }))
            .collect();
        (PatchKind::Strategic, json!({ "initContainers": deletes }))
    };
    Change {
        kind: ChangeKind::RemoveInitContainers,
        target: target.clone(),
        patch_type,
        body: with_precondition(target, at_pod_spec(target, fragment)),
        reason,
        confirm_separately: true,
        after_verify,
        removes: names.to_vec(),
    }
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
pub fn plan(snapshot: &PermsSnapshot, d: &Diagnosis) -> PermsPlan {
    let target = target_of(snapshot);
    let before = d.current.clone();
    let after = desired_fields(d);
    let mut notes = Vec::new();
    let mut changes = Vec::new();

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
            snapshot.container
        ));
    }
    notes.push(format!(
        "Prometheus runs as {}:{} ({})",
        d.user.uid, d.user.gid, d.user_source
    ));

    let delta = security_delta(&before, &after);
    if !delta.is_empty() {
        let body = with_precondition(
            &target,
            at_pod_spec(&target, json!({ "securityContext": Value::Object(delta) })),
        );
        changes.push(Change {
            kind: ChangeKind::SecurityContext,
            target: target.clone(),
            patch_type: PatchKind::Merge,
            body,
            reason: format!(
                "run Prometheus as {}:{} and let the kubelet give the volume group {} (fsGroupChangePolicy {} skips the \
                 recursive walk when the volume root already matches)",
                after.run_as_user.unwrap_or(d.user.uid),
                after.run_as_group.unwrap_or(d.user.gid),
                after.fs_group.unwrap_or(d.user.gid),
                after.fs_group_change_policy.as_deref().unwrap_or("OnRootMismatch"),
            ),
            confirm_separately: false,
            after_verify: false,
            removes: vec![],
        });
    }

    let needs_chown = d.needs_chown();
    let chown = if needs_chown {
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
        let fragment = if target.kind == "Prometheus" {
            let mut list: Vec<Value> = resource_init_containers(snapshot)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            list.retain(|c| c.get("name").and_then(Value::as_str) != Some(CHOWN_STEP_NAME));
            list.insert(0, container.clone());
            json!({ "initContainers": list })
        } else {
            json!({ "initContainers": [container] })
        };
        changes.push(Change {
            kind: ChangeKind::AddChownStep,
            target: target.clone(),
            patch_type: if target.kind == "Prometheus" {
                PatchKind::Merge
            } else {
                PatchKind::Strategic
            },
            body: with_precondition(&target, at_pod_spec(&target, fragment)),
            reason: format!(
                "fsGroup cannot make this volume writable ({why}); a one-off init step `{CHOWN_STEP_NAME}` runs as root \
                 and runs `{}` on it, and is removed again once Prometheus is Ready",
                container["command"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                    .unwrap_or_default()
            ),
            confirm_separately: true,
            after_verify: false,
            removes: vec![],
        });
        notes.push(format!(
            "fsGroup does not apply to this volume, so the explicit one-off chown path is planned: `{CHOWN_STEP_NAME}` \
             runs once as root, then a second rollout removes it"
        ));
    }

    // chmod/chown initContainers: removed (after the one-off chown verified, when there is one). For the operator only
    // the ones in Prometheus.spec.initContainers can be removed through the resource.
    let mut removable: Vec<String> = Vec::new();
    for step in &d.chmod_init_containers {
        let in_resource = target.kind != "Prometheus"
            || resource_init_containers(snapshot)
                .and_then(Value::as_array)
                .is_some_and(|l| {
                    l.iter()
                        .any(|c| c.get("name").and_then(Value::as_str) == Some(&step.name))
                });
        if in_resource {
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
        let others: Vec<&String> = removable.iter().filter(|n| *n != CHOWN_STEP_NAME).collect();
        let reason = if others.is_empty() {
            format!(
                "remove the one-off `{CHOWN_STEP_NAME}` step now that the volume is owned by Prometheus's user"
            )
        } else {
            format!(
                "remove {} ({}): chmod/chown init containers are unreliable on CSI volumes (ownership can revert on \
                 re-mount) and `chmod 777` undoes security; {} does this the Kubernetes way",
                others
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                d.chmod_init_containers
                    .iter()
                    .filter(|s| others.contains(&&s.name))
                    .map(|s| s.command.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                if chown.is_some() {
                    "the one-off chown"
                } else {
                    "fsGroup"
                }
            )
        };
        changes.push(removal_change(
            &target,
            resource_init_containers(snapshot),
            &removable,
            reason,
            chown.is_some(),
        ));
    }

    if changes.is_empty() {
        notes.push("nothing to change: the securityContext is complete and no chmod/chown init container is left".into());
    }

    let values = if changes.is_empty() {
        None
    } else {
        values_change(snapshot, &after, &removable)
    };
    PermsPlan {
        before,
        after,
        changes,
        values,
        notes,
    }
}

fn resource_init_containers(snapshot: &PermsSnapshot) -> Option<&Value> {
    snapshot
        .prometheus_resource
        .as_ref()
        .and_then(|r| r.spec.get("initContainers"))
}

/// The Helm values that keep the fix across `helm upgrade`: the whole securityContext (current keys such as
/// seccompProfile kept), and the init containers to drop.
fn values_change(
    snapshot: &PermsSnapshot,
    after: &SecurityFields,
    removed: &[String],
) -> Option<ValuesChange> {
    let (release, key, init_key, current) = match &snapshot.install {
        Install::Chart { release } => (
            release.clone(),
            "server.securityContext",
            "server.extraInitContainers",
            serde_json::to_value(&snapshot.pod_spec.security_context).ok(),
        ),
        Install::Operator {
            helm_release: Some(release),
            ..
        } => (
            release.clone(),
            "prometheus.prometheusSpec.securityContext",
            "prometheus.prometheusSpec.initContainers",
            snapshot
                .prometheus_resource
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
    let yaml = serde_yaml::to_string(&Value::Object(full)).unwrap_or_default();
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
    use super::super::diagnose::diagnose;
    use super::super::fixtures::*;
    use super::super::snapshot::VolumeRoot;
    use super::*;

    fn plan_of(snap: &PermsSnapshot) -> PermsPlan {
        plan(snap, &diagnose(snap))
    }

    #[test]
    fn plain_deployment_gets_fs_group_and_loses_the_chmod_init_container() {
        let p = plan_of(&handmade_chmod());
        assert_eq!(p.changes.len(), 2);
        let sc = &p.changes[0];
        assert_eq!(sc.kind, ChangeKind::SecurityContext);
        assert_eq!(sc.target.kind, "Deployment");
        assert_eq!(sc.patch_type, PatchKind::Merge);
        assert_eq!(
            sc.body,
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
        assert_eq!(rm.kind, ChangeKind::RemoveInitContainers);
        assert_eq!(rm.patch_type, PatchKind::Strategic);
        assert!(rm.confirm_separately);
        assert!(!rm.after_verify);
        assert_eq!(rm.removes, vec!["init-chmod".to_string()]);
        assert_eq!(
            rm.body,
            json!({
                "metadata": {"resourceVersion": "41"},
                "spec": {"template": {"spec": {"initContainers": [{"name": "init-chmod", "$patch": "delete"}]}}}
            })
        );
        assert!(rm.reason.contains("chmod -R 777"), "{}", rm.reason);
        assert!(p.values.is_none(), "plain installs have no Helm values");
    }

    #[test]
    fn operator_is_fixed_through_the_prometheus_resource_only() {
        let p = plan_of(&kps_permission_denied());
        assert!(!p.changes.is_empty());
        for change in &p.changes {
            assert_eq!(change.target.kind, "Prometheus", "{change:?}");
            assert_eq!(change.target.api_version, "monitoring.coreos.com/v1");
            assert_eq!(change.target.name, "kps-prometheus");
            assert_eq!(
                change.patch_type,
                PatchKind::Merge,
                "CRs take no strategic merge"
            );
        }
        assert_eq!(
            p.changes[0].body,
            json!({
                "metadata": {"resourceVersion": "812"},
                "spec": {"securityContext": {"fsGroup": 2000, "fsGroupChangePolicy": "OnRootMismatch"}}
            })
        );
        // The chown initContainer from incident 5 goes: the whole remaining list is sent (here: none left).
        assert_eq!(
            p.changes[1].body,
            json!({"metadata": {"resourceVersion": "812"}, "spec": {"initContainers": null}})
        );
        assert_eq!(p.changes[1].removes, vec!["init-chown-data".to_string()]);
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
    }

    #[test]
    fn operator_keeps_init_containers_it_does_not_remove() {
        let mut snap = kps_permission_denied();
        let resource = snap.prometheus_resource.as_mut().unwrap();
        resource.spec["initContainers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "warmup", "image": "busybox", "command": ["true"]}));
        let p = plan_of(&snap);
        let rm = p
            .changes
            .iter()
            .find(|c| c.kind == ChangeKind::RemoveInitContainers)
            .unwrap();
        assert_eq!(
            rm.body["spec"]["initContainers"],
            json!([{"name": "warmup", "image": "busybox", "command": ["true"]}])
        );
    }

    #[test]
    fn chart_patches_the_workload_and_prints_the_values() {
        let p = plan_of(&chart_without_fs_group());
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].target.kind, "Deployment");
        assert_eq!(p.changes[0].target.name, "prometheus-server");
        assert_eq!(
            p.changes[0].body["spec"]["template"]["spec"]["securityContext"],
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
        let kinds: Vec<ChangeKind> = p.changes.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            vec![
                ChangeKind::SecurityContext,
                ChangeKind::AddChownStep,
                ChangeKind::RemoveInitContainers
            ]
        );
        let add = &p.changes[1];
        assert!(add.confirm_separately);
        assert_eq!(add.patch_type, PatchKind::Strategic);
        let step = &add.body["spec"]["template"]["spec"]["initContainers"][0];
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
        assert_eq!(rm.removes, vec![CHOWN_STEP_NAME.to_string()]);
        assert!(p.notes.iter().any(|n| n.contains("one-off chown")));
    }

    #[test]
    fn distroless_chown_step_uses_busybox() {
        let mut snap = plain_host_path();
        snap.pod_spec.containers[0].image =
            Some("quay.io/prometheus/prometheus:v3.14.0-distroless".into());
        let p = plan_of(&snap);
        let step = &p.changes[1].body["spec"]["template"]["spec"]["initContainers"][0];
        assert_eq!(step["image"], CHOWN_FALLBACK_IMAGE);
        assert_eq!(
            step["command"],
            json!(["chown", "-R", "65532:65532", "/prometheus"])
        );
    }

    #[test]
    fn operator_on_a_csi_driver_without_fs_group_gets_the_chown_step_in_the_resource() {
        let mut snap = kps_permission_denied();
        snap.csi_driver = Some(csi_driver("cinder.csi.openstack.org", Some("None")));
        let p = plan_of(&snap);
        let add = p
            .changes
            .iter()
            .find(|c| c.kind == ChangeKind::AddChownStep)
            .expect("chown step");
        assert_eq!(add.target.kind, "Prometheus");
        let list = add.body["spec"]["initContainers"].as_array().unwrap();
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
            .find(|c| c.kind == ChangeKind::RemoveInitContainers)
            .unwrap();
        assert!(rm.after_verify);
        assert_eq!(
            rm.removes,
            vec!["init-chown-data".to_string(), CHOWN_STEP_NAME.to_string()]
        );
    }

    #[test]
    fn second_run_on_a_fixed_instance_is_a_noop() {
        // Plain: what the first plan set, with the chmod init container gone.
        let mut snap = handmade_chmod();
        snap.pod_spec.init_containers = None;
        snap.pod_spec.security_context = Some(k8s_openapi::api::core::v1::PodSecurityContext {
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
        host.pod_spec.security_context = snap.pod_spec.security_context.clone();
        host.log_lines.clear();
        host.volume_root = Some(VolumeRoot {
            uid: 65534,
            gid: 65534,
            mode: 0o755,
        });
        assert!(plan_of(&host).is_noop());

        // Operator: the resource has the full securityContext and no init containers.
        let mut kps = kps_permission_denied();
        let resource = kps.prometheus_resource.as_mut().unwrap();
        resource.spec["securityContext"]["fsGroup"] = json!(2000);
        resource.spec["securityContext"]["fsGroupChangePolicy"] = json!("OnRootMismatch");
        resource
            .spec
            .as_object_mut()
            .unwrap()
            .remove("initContainers");
        kps.pod_spec.init_containers = None;
        kps.log_lines.clear();
        assert!(plan_of(&kps).is_noop());
    }

    #[test]
    fn existing_fields_are_never_overwritten() {
        let mut snap = handmade_chmod();
        snap.pod_spec.security_context = Some(k8s_openapi::api::core::v1::PodSecurityContext {
            fs_group: Some(3000),
            fs_group_change_policy: Some("Always".into()),
            ..Default::default()
        });
        let p = plan_of(&snap);
        let sc = &p.changes[0].body["spec"]["template"]["spec"]["securityContext"];
        assert_eq!(sc.get("fsGroup"), None);
        assert_eq!(sc.get("fsGroupChangePolicy"), None);
        // The group follows the existing fsGroup.
        assert_eq!(sc["runAsGroup"], 3000);
    }

    #[test]
    fn removal_change_for_a_workload_and_for_a_resource() {
        let deploy = Target {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "ns".into(),
            name: "p".into(),
            resource_version: Some("5".into()),
        };
        let c = removal_change(&deploy, None, &["a".into()], "r".into(), true);
        assert_eq!(
            c.body["spec"]["template"]["spec"]["initContainers"],
            json!([{"name": "a", "$patch": "delete"}])
        );
        let cr = Target {
            kind: "Prometheus".into(),
            ..deploy
        };
        let list = json!([{"name": "a"}, {"name": "b"}]);
        let c = removal_change(&cr, Some(&list), &["a".into()], "r".into(), true);
        assert_eq!(
            c.body,
            json!({"metadata": {"resourceVersion": "5"}, "spec": {"initContainers": [{"name": "b"}]}})
        );
    }
}
