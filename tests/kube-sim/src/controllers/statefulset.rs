//! StatefulSet → pods `NAME-i` and their PVCs from volumeClaimTemplates (pkg/controller/statefulset):
//! OrderedReady (pod i waits for 0..i-1 Running and Ready) or Parallel, claims `TEMPLATE-NAME-i` labelled with the
//! selector, the pod identity labels, rolling update highest ordinal first, scale down from the top, adoption of
//! orphaned pods (after `delete --cascade=orphan` and re-creation), status with revisions, and the real events —
//! including `FailedCreate` when the API rejects the pod (the apps API does not validate the template, so a mount
//! of a missing volume surfaces here: `create Pod web-0 in StatefulSet web failed error: Pod "web-0" is invalid: …`).
use super::{controlled_by, is_deleting, name_of, ns_of, owner_ref, pod_ready};
use crate::selectors::LabelSelector;
use crate::server::ApiServer;
use serde_json::{Value, json};

pub fn reconcile(api: &ApiServer) {
    let (sets, _) = api.store.list("statefulsets.apps", None);
    for s in sets.iter().filter(|s| !is_deleting(s)) {
        reconcile_set(api, s);
    }
}

/// Pod-creation failures per StatefulSet uid: (consecutive failures, no retry before). The real controller requeues a
/// failed set through client-go's DefaultControllerRateLimiter, whose per-item limiter waits 5ms·2^failures (capped
/// at 1000s), so a FailedCreate repeats a dozen times in the first seconds, not on every pass of this loop.
static CREATE_BACKOFF: std::sync::Mutex<
    std::collections::BTreeMap<String, (u32, std::time::Instant)>,
> = std::sync::Mutex::new(std::collections::BTreeMap::new());

fn create_backoff()
-> std::sync::MutexGuard<'static, std::collections::BTreeMap<String, (u32, std::time::Instant)>> {
    CREATE_BACKOFF.lock().unwrap_or_else(|e| e.into_inner())
}

fn uid_of(set: &Value) -> String {
    set["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn creation_backed_off(set: &Value) -> bool {
    create_backoff()
        .get(&uid_of(set))
        .is_some_and(|(_, until)| std::time::Instant::now() < *until)
}

fn record_create_failure(set: &Value) {
    let mut table = create_backoff();
    let entry = table
        .entry(uid_of(set))
        .or_insert((0, std::time::Instant::now()));
    let delay = std::time::Duration::from_millis(5)
        .saturating_mul(1u32 << entry.0.min(20))
        .min(std::time::Duration::from_secs(1000));
    entry.0 += 1;
    entry.1 = std::time::Instant::now() + delay;
}

fn revision_name(set: &Value) -> String {
    format!(
        "{}-{}",
        name_of(set),
        super::deployment::template_hash(&set["spec"]["template"])
    )
}

fn ordinal(set: &Value, pod: &Value) -> Option<i64> {
    name_of(pod)
        .strip_prefix(&format!("{}-", name_of(set)))?
        .parse()
        .ok()
}

fn claim_name(template: &Value, set: &Value, i: i64) -> String {
    format!("{}-{}-{i}", name_of(template), name_of(set))
}

fn ensure_claims(api: &ApiServer, set: &Value, i: i64) -> Result<(), String> {
    let ns = ns_of(set);
    for t in set["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = claim_name(t, set, i);
        if api.store.get("persistentvolumeclaims", ns, &name).is_some() {
            continue;
        }
        let mut labels = t["metadata"]["labels"].clone();
        if !labels.is_object() {
            labels = json!({});
        }
        for (k, v) in set["spec"]["selector"]["matchLabels"]
            .as_object()
            .into_iter()
            .flatten()
        {
            labels[k] = v.clone();
        }
        let mut claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": t["spec"].clone()});
        if let Some(a) = t["metadata"]["annotations"].as_object() {
            claim["metadata"]["annotations"] = json!(a);
        }
        let pod_name = format!("{}-{i}", name_of(set));
        match super::create(api, "persistentvolumeclaims", ns, claim) {
            Ok(_) => api.store.record_event(
                set,
                "SuccessfulCreate",
                &format!(
                    "create Claim {name} Pod {pod_name} in StatefulSet {} success",
                    name_of(set)
                ),
                "Normal",
                "statefulset-controller",
            ),
            Err(e) => {
                let msg = format!(
                    "create Pod {pod_name} in StatefulSet {} failed error: failed to create PVC {name}: {}",
                    name_of(set),
                    e.message
                );
                api.store.record_event(
                    set,
                    "FailedCreate",
                    &msg,
                    "Warning",
                    "statefulset-controller",
                );
                return Err(msg);
            }
        }
    }
    Ok(())
}

fn new_pod(set: &Value, i: i64) -> Value {
    let name = format!("{}-{i}", name_of(set));
    let tpl = &set["spec"]["template"];
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": tpl["metadata"].clone(), "spec": tpl["spec"].clone()});
    pod["metadata"]["name"] = json!(name);
    pod["metadata"]["namespace"] = json!(ns_of(set));
    if !pod["metadata"]["labels"].is_object() {
        pod["metadata"]["labels"] = json!({});
    }
    pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] = json!(name);
    pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] = json!(i.to_string());
    pod["metadata"]["labels"]["controller-revision-hash"] = json!(revision_name(set));
    pod["metadata"]["ownerReferences"] = json!([owner_ref(set)]);
    pod["spec"]["hostname"] = json!(name);
    if let Some(svc) = set["spec"]["serviceName"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        pod["spec"]["subdomain"] = json!(svc);
    }
    let mut volumes: Vec<Value> = pod["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for t in set["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let vname = name_of(t).to_string();
        volumes.retain(|v| v["name"] != json!(vname));
        volumes.push(
            json!({"name": vname, "persistentVolumeClaim": {"claimName": claim_name(t, set, i)}}),
        );
    }
    if !volumes.is_empty() {
        pod["spec"]["volumes"] = json!(volumes);
    }
    pod
}

/// Delete one of the set's pods and record the controller's event (stateful_set_control.go: "delete Pod %s in
/// StatefulSet %s successful").
fn delete_pod(api: &ApiServer, set: &Value, ns: &str, pod: &Value) {
    if api.store.delete("pods", ns, name_of(pod), false).is_ok() {
        api.store.record_event(
            set,
            "SuccessfulDelete",
            &format!(
                "delete Pod {} in StatefulSet {} successful",
                name_of(pod),
                name_of(set)
            ),
            "Normal",
            "statefulset-controller",
        );
    }
}

fn reconcile_set(api: &ApiServer, set: &Value) {
    let ns = ns_of(set);
    let replicas = set["spec"]["replicas"].as_i64().unwrap_or(1);
    let parallel = set["spec"]["podManagementPolicy"] == "Parallel";
    let sel = LabelSelector::from_object(&set["spec"]["selector"]);
    let (pods, _) = api.store.list("pods", Some(ns));
    for p in pods.iter().filter(|p| {
        sel.matches(p)
            && ordinal(set, p).is_some()
            && !is_deleting(p)
            && !p["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x["controller"] == true))
    }) {
        let _ = api.store.mutate("pods", ns, name_of(p), |p| {
            let mut refs = p["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            refs.push(owner_ref(set));
            p["metadata"]["ownerReferences"] = json!(refs);
        });
    }
    let (pods, _) = api.store.list("pods", Some(ns));
    let mine: Vec<&Value> = pods.iter().filter(|p| controlled_by(p, set)).collect();
    let update_rev = revision_name(set);
    // Create missing ordinals (not while a failed creation is backing off).
    let backed_off = creation_backed_off(set);
    for i in (0..replicas).filter(|_| !backed_off) {
        let name = format!("{}-{i}", name_of(set));
        if mine.iter().any(|p| name_of(p) == name) {
            continue;
        }
        if !parallel {
            let predecessors_ready = (0..i).all(|j| {
                mine.iter()
                    .any(|p| ordinal(set, p) == Some(j) && pod_ready(p) && !is_deleting(p))
            });
            if !predecessors_ready {
                break;
            }
        }
        if ensure_claims(api, set, i).is_err() {
            break;
        }
        match super::create(api, "pods", ns, new_pod(set, i)) {
            Ok(_) => {
                create_backoff().remove(&uid_of(set));
                api.store.record_event(
                    set,
                    "SuccessfulCreate",
                    &format!(
                        "create Pod {name} in StatefulSet {} successful",
                        name_of(set)
                    ),
                    "Normal",
                    "statefulset-controller",
                );
            }
            Err(e) => {
                record_create_failure(set);
                api.store.record_event(
                    set,
                    "FailedCreate",
                    &format!(
                        "create Pod {name} in StatefulSet {} failed error: {}",
                        name_of(set),
                        e.message
                    ),
                    "Warning",
                    "statefulset-controller",
                );
                break;
            }
        }
        if !parallel {
            break;
        }
    }
    // Scale down from the highest ordinal, one at a time unless Parallel.
    let mut extra: Vec<&&Value> = mine
        .iter()
        .filter(|p| ordinal(set, p).is_some_and(|i| i >= replicas) && !is_deleting(p))
        .collect();
    extra.sort_by_key(|p| std::cmp::Reverse(ordinal(set, p)));
    for p in extra.iter().take(if parallel { usize::MAX } else { 1 }) {
        delete_pod(api, set, ns, p);
    }
    // Rolling update, as pkg/controller/statefulset/stateful_set_control.go updateStatefulSet does it: OrderedReady
    // ("monotonic") makes no progress while any pod is not Running and Ready; Parallel does not wait for that. Then,
    // from the highest ordinal down to the partition, delete the first pod not on the update revision (healthy or
    // not: a crash-looping old pod is replaced), and stop at an updated pod that is not healthy yet (wait for it).
    let rolling = set["spec"]["updateStrategy"]["type"] != "OnDelete";
    let mut live: Vec<&&Value> = mine
        .iter()
        .filter(|p| !is_deleting(p) && ordinal(set, p).is_some_and(|i| i < replicas))
        .collect();
    let blocked = !parallel && !live.iter().all(|p| pod_ready(p));
    if rolling && live.len() as i64 == replicas && !blocked {
        let partition = set["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
            .as_i64()
            .unwrap_or(0);
        live.retain(|p| ordinal(set, p).is_some_and(|i| i >= partition));
        live.sort_by_key(|p| std::cmp::Reverse(ordinal(set, p)));
        for p in live {
            if p["metadata"]["labels"]["controller-revision-hash"] != json!(update_rev) {
                delete_pod(api, set, ns, p);
                break;
            }
            if !pod_ready(p) {
                break;
            }
        }
    }
    let (pods, _) = api.store.list("pods", Some(ns));
    let mine: Vec<&Value> = pods
        .iter()
        .filter(|p| controlled_by(p, set) && !is_deleting(p))
        .collect();
    let ready = mine.iter().filter(|p| pod_ready(p)).count() as i64;
    let updated = mine
        .iter()
        .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == json!(update_rev))
        .count() as i64;
    let current_rev = if updated == mine.len() as i64 {
        update_rev.clone()
    } else {
        set["status"]["currentRevision"]
            .as_str()
            .unwrap_or(&update_rev)
            .to_string()
    };
    let current = mine
        .iter()
        .filter(|p| p["metadata"]["labels"]["controller-revision-hash"] == json!(current_rev))
        .count() as i64;
    let generation = set["metadata"]["generation"].clone();
    let n = mine.len() as i64;
    let _ = api.store.mutate("statefulsets.apps", ns, name_of(set), |o| {
        let mut st = json!({"observedGeneration": generation, "replicas": n, "readyReplicas": ready, "currentReplicas": current,
            "updatedReplicas": updated, "availableReplicas": ready, "currentRevision": current_rev, "updateRevision": update_rev, "collisionCount": 0});
        if let Some(m) = st.as_object_mut() {
            m.retain(|k, v| !(v == &json!(0) && ["readyReplicas", "currentReplicas", "updatedReplicas"].contains(&k.as_str())));
        }
        o["status"] = st;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testing;

    fn set(mount: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i", "volumeMounts": [{"name": mount, "mountPath": "/data"}]}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
    }

    fn ready(api: &ApiServer, name: &str) {
        api.store
            .mutate("pods", "default", name, |p| {
                p["status"]["phase"] = json!("Running");
                p["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
            })
            .unwrap();
    }

    #[test]
    fn ordered_pods_with_claims_from_templates() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, set("data")).unwrap();
        testing::settle(&api, 10);
        let (pods, _) = api.store.list("pods", Some("default"));
        assert_eq!(
            pods.iter().map(name_of).collect::<Vec<_>>(),
            vec!["web-0"],
            "web-1 waits for web-0 to be Ready"
        );
        let pvc = api
            .store
            .get("persistentvolumeclaims", "default", "data-web-0")
            .unwrap();
        assert_eq!(pvc["metadata"]["labels"]["app"], "web");
        assert_eq!(
            pods[0]["spec"]["volumes"][0],
            json!({"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}})
        );
        ready(&api, "web-0");
        testing::settle(&api, 10);
        assert!(api.store.get("pods", "default", "web-1").is_some());
    }

    #[test]
    fn missing_volume_mount_gives_failed_create_event() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, set("storage-volume")).unwrap();
        testing::settle(&api, 10);
        assert!(api.store.get("pods", "default", "web-0").is_none());
        let (events, _) = api.store.list("events", Some("default"));
        let fc = events
            .iter()
            .find(|e| e["reason"] == "FailedCreate")
            .expect("a FailedCreate event");
        assert_eq!(
            fc["message"],
            "create Pod web-0 in StatefulSet web failed error: Pod \"web-0\" is invalid: spec.containers[0].volumeMounts[0].name: Not found: \"storage-volume\""
        );
        assert_eq!(fc["type"], "Warning");
        assert_eq!(fc["source"]["component"], "statefulset-controller");
    }

    #[test]
    fn orphaned_pods_are_adopted_by_a_recreated_set() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, set("data")).unwrap();
        testing::settle(&api, 10);
        ready(&api, "web-0");
        testing::settle(&api, 10);
        let uid_before =
            api.store.get("pods", "default", "web-0").unwrap()["metadata"]["uid"].clone();
        let rt = api.registry.by_key("statefulsets.apps").unwrap();
        crate::rest::delete(&api, &rt, "default", "web", Some("Orphan"), false).unwrap();
        testing::settle(&api, 10);
        assert!(
            api.store
                .get("statefulsets.apps", "default", "web")
                .is_none()
        );
        let pod = api.store.get("pods", "default", "web-0").unwrap();
        assert!(
            pod["metadata"]["ownerReferences"].is_null(),
            "orphaned: {pod}"
        );
        crate::bootstrap::apply_object(&api, set("data")).unwrap();
        testing::settle(&api, 10);
        let s = api
            .store
            .get("statefulsets.apps", "default", "web")
            .unwrap();
        let pod = api.store.get("pods", "default", "web-0").unwrap();
        assert_eq!(
            pod["metadata"]["uid"], uid_before,
            "the same pod, not a new one"
        );
        assert!(controlled_by(&pod, &s));
    }

    /// Both pods crash-looping (never Ready), then a template change: a Parallel set replaces the highest old pod and
    /// waits for it; an OrderedReady one makes no progress (stateful_set_control.go's monotonic check).
    #[test]
    fn rolling_update_replaces_unhealthy_old_pods_only_under_parallel_management() {
        for (policy, expect_replaced) in [("Parallel", true), ("OrderedReady", false)] {
            let api = testing::api();
            let mut sts = set("data");
            sts["spec"]["podManagementPolicy"] = json!(policy);
            crate::bootstrap::apply_object(&api, sts.clone()).unwrap();
            if policy == "OrderedReady" {
                testing::settle(&api, 10);
                ready(&api, "web-0");
            }
            testing::settle(&api, 10);
            let uid = |api: &ApiServer, name: &str| {
                api.store
                    .get("pods", "default", name)
                    .map(|p| p["metadata"]["uid"].clone())
            };
            let before = uid(&api, "web-1").expect("web-1 created");
            // web-0 stops being Ready (crash-looping), as does web-1 (never Ready).
            api.store
                .mutate("pods", "default", "web-0", |p| {
                    p["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
                })
                .unwrap();
            let rt = api.registry.by_key("statefulsets.apps").unwrap();
            let stored = api
                .store
                .get("statefulsets.apps", "default", "web")
                .unwrap();
            let mut changed = stored.clone();
            changed["spec"]["template"]["spec"]["securityContext"] = json!({"fsGroup": 2000});
            crate::rest::update(&api, &rt, &stored, changed, "", false).unwrap();
            testing::settle(&api, 10);
            let after = uid(&api, "web-1");
            assert_eq!(after.as_ref() != Some(&before), expect_replaced, "{policy}");
        }
    }

    /// A template that cannot make pods is retried with the workqueue's exponential backoff, not on every pass.
    #[test]
    fn failed_pod_creation_backs_off_between_retries() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, set("storage-volume")).unwrap();
        testing::settle(&api, 50);
        let (events, _) = api.store.list("events", Some("default"));
        let failed = events
            .iter()
            .find(|e| e["reason"] == "FailedCreate")
            .expect("a FailedCreate event");
        let count = failed["count"].as_i64().unwrap_or(1);
        assert!(count < 10, "retried {count} times in 50 immediate passes");
    }
}
