//! Deployment → ReplicaSet → Pods (pkg/controller/deployment, pkg/controller/replicaset): the pod-template-hash
//! (FNV-32a of the template, SafeEncodeString'd), Recreate and RollingUpdate, revision annotations, the status
//! fields and conditions `kubectl rollout status` reads, ScalingReplicaSet / SuccessfulCreate / FailedCreate
//! events, adoption of orphaned pods. Rolling updates step by readiness (old pods go as new ones become Ready)
//! rather than by the exact maxSurge/maxUnavailable arithmetic.
use super::{controlled_by, is_deleting, name_of, ns_of, owner_ref, pod_ready};
use crate::selectors::LabelSelector;
use crate::server::ApiServer;
use serde_json::{Value, json};

/// k8s.io/apimachinery/pkg/util/rand SafeEncodeString alphabet.
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// controller.ComputeHash: FNV-32a over the template, the decimal sum encoded with the safe alphabet.
pub fn template_hash(template: &Value) -> String {
    let bytes = serde_json::to_vec(template).unwrap_or_default();
    let mut h: u32 = 0x811c9dc5;
    for b in bytes {
        h ^= b as u32;
        h = h.wrapping_mul(0x01000193);
    }
    h.to_string()
        .bytes()
        .map(|b| SAFE[b as usize % SAFE.len()] as char)
        .collect()
}

pub fn reconcile(api: &ApiServer) {
    let (deps, _) = api.store.list("deployments.apps", None);
    for d in deps.iter().filter(|d| !is_deleting(d)) {
        reconcile_deployment(api, d);
    }
    let (rss, _) = api.store.list("replicasets.apps", None);
    for rs in rss.iter().filter(|r| !is_deleting(r)) {
        reconcile_replicaset(api, rs);
    }
}

fn revision(o: &Value) -> i64 {
    o["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn scale_rs(api: &ApiServer, d: &Value, rs: &Value, to: i64) {
    let from = rs["spec"]["replicas"].as_i64().unwrap_or(0);
    if from == to {
        return;
    }
    if api
        .store
        .mutate("replicasets.apps", ns_of(rs), name_of(rs), |r| {
            r["spec"]["replicas"] = json!(to)
        })
        .is_ok()
    {
        let dir = if to > from { "up" } else { "down" };
        api.store.record_event(
            d,
            "ScalingReplicaSet",
            &format!(
                "Scaled {dir} replica set {} from {from} to {to}",
                name_of(rs)
            ),
            "Normal",
            "deployment-controller",
        );
    }
}

fn reconcile_deployment(api: &ApiServer, d: &Value) {
    let ns = ns_of(d);
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let hash = template_hash(&d["spec"]["template"]);
    let (all_rs, _) = api.store.list("replicasets.apps", Some(ns));
    let owned: Vec<Value> = all_rs
        .into_iter()
        .filter(|r| controlled_by(r, d) && !is_deleting(r))
        .collect();
    let new_rs = owned
        .iter()
        .find(|r| r["metadata"]["labels"]["pod-template-hash"] == json!(hash))
        .cloned();
    let olds: Vec<&Value> = owned
        .iter()
        .filter(|r| r["metadata"]["labels"]["pod-template-hash"] != json!(hash))
        .collect();
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let old_pods_running = olds.iter().any(|r| {
        r["status"]["replicas"].as_i64().unwrap_or(0) > 0
            || r["spec"]["replicas"].as_i64().unwrap_or(0) > 0
    });
    let new_rs = match new_rs {
        Some(r) => r,
        None => {
            if recreate {
                for o in &olds {
                    scale_rs(api, d, o, 0);
                }
                if old_pods_running {
                    update_status(api, d, &owned, None);
                    return;
                }
            }
            let rev = owned.iter().map(revision).max().unwrap_or(0) + 1;
            let mut template = d["spec"]["template"].clone();
            template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            let mut selector = d["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let mut labels = template["metadata"]["labels"].clone();
            labels["pod-template-hash"] = json!(hash);
            let rs = json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": format!("{}-{hash}", name_of(d)), "namespace": ns, "labels": labels,
                    "annotations": {"deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                                    "deployment.kubernetes.io/max-replicas": (replicas + 1).to_string(),
                                    "deployment.kubernetes.io/revision": rev.to_string()},
                    "ownerReferences": [owner_ref(d)]},
                "spec": {"replicas": 0, "selector": selector, "template": template, "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0)},
            });
            match super::create(api, "replicasets.apps", ns, rs) {
                Ok(r) => r,
                Err(e) => {
                    api.store.record_event(
                        d,
                        "FailedCreate",
                        &format!("Failed to create new replica set: {}", e.message),
                        "Warning",
                        "deployment-controller",
                    );
                    return;
                }
            }
        }
    };
    // Keep the template in sync when only the deployment's replicas/annotations moved.
    scale_rs(api, d, &new_rs, replicas);
    let new_ready = new_rs["status"]["readyReplicas"].as_i64().unwrap_or(0);
    let mut remaining_old = (replicas - new_ready).max(0);
    let mut olds_sorted = olds.clone();
    olds_sorted.sort_by_key(|r| std::cmp::Reverse(revision(r)));
    for o in olds_sorted {
        let want = if recreate {
            0
        } else {
            remaining_old.min(o["spec"]["replicas"].as_i64().unwrap_or(0))
        };
        remaining_old -= want;
        scale_rs(api, d, o, want);
    }
    let (all_rs, _) = api.store.list("replicasets.apps", Some(ns));
    let owned: Vec<Value> = all_rs.into_iter().filter(|r| controlled_by(r, d)).collect();
    update_status(api, d, &owned, Some(&hash));
    // Old ReplicaSets beyond revisionHistoryLimit with no replicas are cleaned up.
    let limit = d["spec"]["revisionHistoryLimit"].as_i64().unwrap_or(10) as usize;
    let mut empty_olds: Vec<&Value> = owned
        .iter()
        .filter(|r| {
            r["metadata"]["labels"]["pod-template-hash"] != json!(hash)
                && r["spec"]["replicas"] == 0
                && r["status"]["replicas"].as_i64().unwrap_or(0) == 0
        })
        .collect();
    if empty_olds.len() > limit {
        empty_olds.sort_by_key(|r| revision(r));
        for r in &empty_olds[..empty_olds.len() - limit] {
            let _ = api.store.delete("replicasets.apps", ns, name_of(r), false);
        }
    }
}

fn update_status(api: &ApiServer, d: &Value, owned: &[Value], hash: Option<&str>) {
    let sum = |f: &str| {
        owned
            .iter()
            .map(|r| r["status"][f].as_i64().unwrap_or(0))
            .sum::<i64>()
    };
    let replicas = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let updated = hash
        .and_then(|h| {
            owned
                .iter()
                .find(|r| r["metadata"]["labels"]["pod-template-hash"] == json!(h))
        })
        .map(|r| r["status"]["replicas"].as_i64().unwrap_or(0))
        .unwrap_or(0);
    let (total, ready, available) = (
        sum("replicas"),
        sum("readyReplicas"),
        sum("availableReplicas"),
    );
    let new_rs_name = hash
        .map(|h| format!("{}-{h}", name_of(d)))
        .unwrap_or_default();
    let complete = updated == replicas && total == replicas && available == replicas;
    let now = crate::clock::now_rfc3339();
    let generation = d["metadata"]["generation"].clone();
    let _ = api.store.mutate("deployments.apps", ns_of(d), name_of(d), |o| {
        let old_conds = o["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let cond = |t: &str, s: &str, reason: &str, msg: String| -> Value {
            // Keep transition times stable while the status does not change (no write storms).
            match old_conds.iter().find(|c| c["type"] == t) {
                Some(c) if c["status"] == s && c["reason"] == reason && c["message"] == json!(msg) => c.clone(),
                _ => json!({"type": t, "status": s, "reason": reason, "message": msg, "lastUpdateTime": now, "lastTransitionTime": now}),
            }
        };
        let avail = if available >= replicas - max_unavailable(&o["spec"], replicas) {
            cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into())
        } else {
            cond("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.".into())
        };
        let prog = if complete {
            cond("Progressing", "True", "NewReplicaSetAvailable", format!("ReplicaSet \"{new_rs_name}\" has successfully progressed."))
        } else {
            cond("Progressing", "True", "ReplicaSetUpdated", format!("ReplicaSet \"{new_rs_name}\" is progressing."))
        };
        let mut st = json!({
            "observedGeneration": generation, "replicas": total, "updatedReplicas": updated, "readyReplicas": ready,
            "availableReplicas": available, "unavailableReplicas": (replicas - available).max(0), "conditions": [avail, prog],
        });
        if let Some(m) = st.as_object_mut() {
            m.retain(|k, v| !(v == &json!(0) && k != "observedGeneration"));
        }
        o["status"] = st;
    });
}

fn max_unavailable(spec: &Value, replicas: i64) -> i64 {
    if spec["strategy"]["type"] == "Recreate" {
        return replicas;
    }
    let v = &spec["strategy"]["rollingUpdate"]["maxUnavailable"];
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s
            .trim_end_matches('%')
            .parse::<i64>()
            .map(|p| replicas * p / 100)
            .unwrap_or(0),
        _ => replicas / 4,
    }
}

fn reconcile_replicaset(api: &ApiServer, rs: &Value) {
    let ns = ns_of(rs);
    let want = rs["spec"]["replicas"].as_i64().unwrap_or(1);
    let sel = LabelSelector::from_object(&rs["spec"]["selector"]);
    let (pods, _) = api.store.list("pods", Some(ns));
    // Adopt orphans that match the selector.
    for p in pods.iter().filter(|p| {
        sel.matches(p)
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
            refs.push(owner_ref(rs));
            p["metadata"]["ownerReferences"] = json!(refs);
        });
    }
    let (pods, _) = api.store.list("pods", Some(ns));
    let mut mine: Vec<Value> = pods
        .into_iter()
        .filter(|p| {
            controlled_by(p, rs)
                && !is_deleting(p)
                && p["status"]["phase"] != "Failed"
                && p["status"]["phase"] != "Succeeded"
        })
        .collect();
    let have = mine.len() as i64;
    if have < want {
        for _ in have..want {
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": rs["spec"]["template"]["metadata"].clone(), "spec": rs["spec"]["template"]["spec"].clone()});
            pod["metadata"]["generateName"] = json!(format!("{}-", name_of(rs)));
            pod["metadata"]["ownerReferences"] = json!([owner_ref(rs)]);
            pod["metadata"]["namespace"] = json!(ns);
            match super::create(api, "pods", ns, pod) {
                Ok(p) => api.store.record_event(
                    rs,
                    "SuccessfulCreate",
                    &format!("Created pod: {}", name_of(&p)),
                    "Normal",
                    "replicaset-controller",
                ),
                Err(e) => {
                    api.store.record_event(
                        rs,
                        "FailedCreate",
                        &format!("Error creating: {}", e.message),
                        "Warning",
                        "replicaset-controller",
                    );
                    break;
                }
            }
        }
    } else if have > want {
        // Not-ready pods go first, then the newest.
        mine.sort_by_key(|p| {
            (
                pod_ready(p),
                std::cmp::Reverse(
                    p["metadata"]["creationTimestamp"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
            )
        });
        for p in mine.iter().take((have - want) as usize) {
            if api.store.delete("pods", ns, name_of(p), false).is_ok() {
                api.store.record_event(
                    rs,
                    "SuccessfulDelete",
                    &format!("Deleted pod: {}", name_of(p)),
                    "Normal",
                    "replicaset-controller",
                );
            }
        }
    }
    let (pods, _) = api.store.list("pods", Some(ns));
    let mine: Vec<&Value> = pods
        .iter()
        .filter(|p| controlled_by(p, rs) && !is_deleting(p))
        .collect();
    let ready = mine.iter().filter(|p| pod_ready(p)).count() as i64;
    let generation = rs["metadata"]["generation"].clone();
    let n = mine.len() as i64;
    let _ = api.store.mutate("replicasets.apps", ns, name_of(rs), |o| {
        let mut st = json!({"replicas": n, "fullyLabeledReplicas": n, "readyReplicas": ready, "availableReplicas": ready, "observedGeneration": generation});
        if let Some(m) = st.as_object_mut() {
            m.retain(|k, v| !(v == &json!(0) && k != "replicas" && k != "observedGeneration"));
        }
        o["status"] = st;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testing;

    fn deployment(strategy: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "strategy": {"type": strategy}, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}})
    }

    fn mark_all_ready(api: &ApiServer) {
        let (pods, _) = api.store.list("pods", None);
        for p in pods {
            api.store
                .mutate("pods", ns_of(&p), name_of(&p), |p| {
                    p["status"]["phase"] = json!("Running");
                    p["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
                })
                .unwrap();
        }
    }

    #[test]
    fn deployment_creates_replicaset_and_pods_then_reports_rollout_complete() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, deployment("RollingUpdate")).unwrap();
        testing::settle(&api, 10);
        let (rss, _) = api.store.list("replicasets.apps", Some("default"));
        assert_eq!(rss.len(), 1);
        let hash = rss[0]["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(name_of(&rss[0]), format!("web-{hash}"));
        let (pods, _) = api.store.list("pods", Some("default"));
        assert_eq!(pods.len(), 2);
        assert!(pods.iter().all(
            |p| p["metadata"]["labels"]["pod-template-hash"] == json!(hash)
                && p["spec"]["nodeName"] == "kube-sim-node"
        ));
        let d = api.store.get("deployments.apps", "default", "web").unwrap();
        assert_eq!(d["status"]["updatedReplicas"], 2);
        assert!(d["status"]["availableReplicas"].is_null());
        mark_all_ready(&api);
        testing::settle(&api, 10);
        let d = api.store.get("deployments.apps", "default", "web").unwrap();
        assert_eq!(d["status"]["availableReplicas"], 2);
        assert_eq!(
            d["status"]["conditions"][1]["reason"],
            "NewReplicaSetAvailable"
        );
    }

    #[test]
    fn template_change_rolls_to_a_new_replicaset_and_scales_the_old_one_down() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, deployment("RollingUpdate")).unwrap();
        testing::settle(&api, 10);
        mark_all_ready(&api);
        testing::settle(&api, 10);
        let mut d = deployment("RollingUpdate");
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("i:2");
        crate::bootstrap::apply_object(&api, d).unwrap();
        for _ in 0..5 {
            testing::settle(&api, 10);
            mark_all_ready(&api);
        }
        testing::settle(&api, 10);
        let (rss, _) = api.store.list("replicasets.apps", Some("default"));
        assert_eq!(rss.len(), 2);
        let new = rss
            .iter()
            .find(|r| r["spec"]["template"]["spec"]["containers"][0]["image"] == "i:2")
            .unwrap();
        let old = rss
            .iter()
            .find(|r| r["spec"]["template"]["spec"]["containers"][0]["image"] == "i:1")
            .unwrap();
        assert_eq!(
            (
                new["spec"]["replicas"].as_i64(),
                old["spec"]["replicas"].as_i64()
            ),
            (Some(2), Some(0))
        );
        assert_eq!(
            new["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "2"
        );
        let (pods, _) = api.store.list("pods", Some("default"));
        assert!(
            pods.iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "i:2")
        );
    }

    #[test]
    fn template_hash_uses_the_safe_alphabet() {
        let h = template_hash(&json!({"a": 1}));
        assert!(!h.is_empty() && h.bytes().all(|b| SAFE.contains(&b)));
        assert_ne!(h, template_hash(&json!({"a": 2})));
    }
}
