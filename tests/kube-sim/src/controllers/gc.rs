//! The garbage collector (pkg/controller/garbagecollector): `orphan` finalizer → strip the owner's references
//! from its dependents, then release the owner; `foregroundDeletion` → delete the dependents, release the owner
//! once none is left; and objects whose every owner is gone are deleted (background propagation).
use super::{is_deleting, name_of, ns_of};
use crate::server::ApiServer;
use serde_json::{Value, json};
use std::collections::HashSet;

fn has_finalizer(o: &Value, f: &str) -> bool {
    o["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == f))
}

fn owner_uids(o: &Value) -> Vec<String> {
    o["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["uid"].as_str().map(String::from))
        .collect()
}

pub fn reconcile(api: &ApiServer) {
    let types: Vec<_> = api
        .registry
        .all()
        .into_iter()
        .filter(|r| !r.create_only)
        .collect();
    let mut all: Vec<(String, Value)> = vec![];
    for rt in &types {
        let (items, _) = api.store.list(&rt.key(), None);
        all.extend(items.into_iter().map(|o| (rt.key(), o)));
    }
    let live: HashSet<String> = all
        .iter()
        .filter_map(|(_, o)| o["metadata"]["uid"].as_str().map(String::from))
        .collect();
    let dependents_of = |uid: &str| -> Vec<&(String, Value)> {
        all.iter()
            .filter(|(_, o)| owner_uids(o).iter().any(|u| u == uid))
            .collect()
    };

    for (key, owner) in all.iter().filter(|(_, o)| is_deleting(o)) {
        let uid = owner["metadata"]["uid"].as_str().unwrap_or_default();
        if has_finalizer(owner, "orphan") {
            for (dkey, d) in dependents_of(uid) {
                let _ = api.store.mutate(dkey, ns_of(d), name_of(d), |o| {
                    if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                        refs.retain(|r| r["uid"] != uid);
                    }
                    if o["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|r| r.is_empty())
                        && let Some(m) = o["metadata"].as_object_mut()
                    {
                        m.remove("ownerReferences");
                    }
                });
            }
            remove_finalizer(api, key, owner, "orphan");
        } else if has_finalizer(owner, "foregroundDeletion") {
            let deps = dependents_of(uid);
            if deps.is_empty() {
                remove_finalizer(api, key, owner, "foregroundDeletion");
            } else {
                for (dkey, d) in deps {
                    if !is_deleting(d) {
                        let rt = api.registry.by_key(dkey);
                        if let Some(rt) = rt {
                            let _ = crate::rest::delete(
                                api,
                                &rt,
                                ns_of(d),
                                name_of(d),
                                Some("Foreground"),
                                false,
                            );
                        }
                    }
                }
            }
        }
    }
    // Background: dependents whose owners are all gone.
    for (key, o) in &all {
        let owners = owner_uids(o);
        if !owners.is_empty() && owners.iter().all(|u| !live.contains(u)) && !is_deleting(o) {
            let _ = api.store.delete(key, ns_of(o), name_of(o), false);
        }
    }
}

fn remove_finalizer(api: &ApiServer, key: &str, o: &Value, f: &str) {
    let _ = api.store.mutate(key, ns_of(o), name_of(o), |o| {
        let fins: Vec<Value> = o["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|x| x != f)
            .collect();
        o["metadata"]["finalizers"] = json!(fins);
    });
}
