//! The cluster's state: every object as a `serde_json::Value` keyed by (resource key, namespace, name), one global
//! resourceVersion counter, the server-set metadata (uid, creationTimestamp, generation, deletionTimestamp with
//! finalizers), and a broadcast of watch events with a bounded history for `watch?resourceVersion=N`.
//!
//! Resource keys are `plural[.group]` (`pods`, `deployments.apps`, `prometheuses.monitoring.coreos.com`);
//! cluster-scoped objects use the namespace `""`. Writers that change nothing (same object) do not bump the
//! resourceVersion nor emit an event, so controllers may reconcile idempotently.
use crate::clock;
use crate::status::{ApiError, ApiResult};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use tokio::sync::broadcast;

const HISTORY: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjKey {
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub kind: EventType,
    pub resource: String,
    pub object: Value,
    pub rv: u64,
}

impl WatchEvent {
    pub fn namespace(&self) -> &str {
        self.object["metadata"]["namespace"].as_str().unwrap_or("")
    }
}

struct Inner {
    objects: BTreeMap<ObjKey, Value>,
    rv: u64,
    history: VecDeque<WatchEvent>,
}

pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<WatchEvent>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

/// `deployments.apps` → (`apps`, `deployments`).
pub fn split_key(resource: &str) -> (&str, &str) {
    match resource.split_once('.') {
        Some((plural, group)) => (group, plural),
        None => ("", resource),
    }
}

pub fn new_uid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Five lowercase alphanumerics, as `generateName` and pod-template-hash suffixes use.
pub fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let uid = new_uid().replace('-', "");
    uid.as_bytes()
        .chunks(2)
        .take(len)
        .map(|c| ALPHABET[(c[0] as usize * 7 + c[1] as usize) % ALPHABET.len()] as char)
        .collect()
}

fn without_meta_and_status(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    o
}

impl Store {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(8192);
        Self {
            inner: Mutex::new(Inner {
                objects: BTreeMap::new(),
                rv: 1,
                history: VecDeque::new(),
            }),
            tx,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock must not take the whole cluster down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn key(resource: &str, ns: &str, name: &str) -> ObjKey {
        ObjKey {
            resource: resource.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&Self::key(resource, ns, name))
            .cloned()
    }

    /// Objects of one resource, optionally in one namespace, sorted by namespace then name; and the list's RV.
    pub fn list(&self, resource: &str, ns: Option<&str>) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|(k, _)| k.resource == resource && ns.is_none_or(|n| n == k.namespace))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    fn emit(
        inner: &mut Inner,
        tx: &broadcast::Sender<WatchEvent>,
        kind: EventType,
        resource: &str,
        object: Value,
    ) {
        let ev = WatchEvent {
            kind,
            resource: resource.into(),
            object,
            rv: inner.rv,
        };
        inner.history.push_back(ev.clone());
        if inner.history.len() > HISTORY {
            inner.history.pop_front();
        }
        let _ = tx.send(ev);
    }

    /// Create with server-set metadata. `generateName` is honoured; `dry_run` validates and returns without storing.
    pub fn create(
        &self,
        resource: &str,
        ns: &str,
        mut obj: Value,
        dry_run: bool,
    ) -> ApiResult<Value> {
        let (group, plural) = split_key(resource);
        let mut inner = self.lock();
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let mut name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            match obj["metadata"]["generateName"].as_str() {
                Some(prefix) => {
                    name = format!("{prefix}{}", random_suffix(5));
                }
                None => {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!(
                            "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                            obj["kind"].as_str().unwrap_or("")
                        ),
                    ));
                }
            }
        }
        let key = Self::key(resource, ns, &name);
        if inner.objects.contains_key(&key) {
            return Err(ApiError::already_exists(group, plural, &name));
        }
        let m = &mut obj["metadata"];
        m["name"] = json!(name);
        if ns.is_empty() {
            if let Some(o) = m.as_object_mut() {
                o.remove("namespace");
            }
        } else {
            m["namespace"] = json!(ns);
        }
        m["uid"] = json!(new_uid());
        m["creationTimestamp"] = json!(clock::now_rfc3339());
        if let Some(o) = m.as_object_mut() {
            o.remove("deletionTimestamp");
            o.remove("resourceVersion");
        }
        if obj.get("spec").is_some() {
            obj["metadata"]["generation"] = json!(1);
        }
        if dry_run {
            obj["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
            return Ok(obj);
        }
        inner.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
        inner.objects.insert(key, obj.clone());
        Self::emit(
            &mut inner,
            &self.tx,
            EventType::Added,
            resource,
            obj.clone(),
        );
        Ok(obj)
    }

    /// Replace an object. With `expected_rv` (the new object's metadata.resourceVersion, if set) a stale write is
    /// a 409 Conflict. Server-owned metadata is carried over; generation bumps when anything but metadata/status
    /// changes. An object being deleted whose last finalizer is removed is deleted.
    pub fn replace(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        mut obj: Value,
        dry_run: bool,
    ) -> ApiResult<Value> {
        let (group, plural) = split_key(resource);
        let mut inner = self.lock();
        let key = Self::key(resource, ns, name);
        let Some(old) = inner.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(group, plural, name));
        };
        if let Some(rv) = obj["metadata"]["resourceVersion"]
            .as_str()
            .filter(|r| !r.is_empty())
            && Some(rv) != old["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::conflict(group, plural, name));
        }
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        for f in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
            "namespace",
            "name",
        ] {
            match old["metadata"].get(f) {
                Some(v) => obj["metadata"][f] = v.clone(),
                None => {
                    if let Some(o) = obj["metadata"].as_object_mut() {
                        o.remove(f);
                    }
                }
            }
        }
        if without_meta_and_status(&old) != without_meta_and_status(&obj) {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            obj["metadata"]["generation"] = json!(g);
        }
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if obj == old {
            return Ok(old);
        }
        let finalizers_empty = obj["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty());
        if dry_run {
            return Ok(obj);
        }
        inner.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
        if old["metadata"].get("deletionTimestamp").is_some() && finalizers_empty {
            inner.objects.remove(&key);
            Self::emit(
                &mut inner,
                &self.tx,
                EventType::Deleted,
                resource,
                obj.clone(),
            );
        } else {
            inner.objects.insert(key, obj.clone());
            Self::emit(
                &mut inner,
                &self.tx,
                EventType::Modified,
                resource,
                obj.clone(),
            );
        }
        Ok(obj)
    }

    /// Read-modify-write, retried when another writer got in between (the closure may run more than once).
    /// Returns the object after the change.
    pub fn mutate(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        mut f: impl FnMut(&mut Value),
    ) -> ApiResult<Value> {
        let (group, plural) = split_key(resource);
        loop {
            let current = self
                .get(resource, ns, name)
                .ok_or_else(|| ApiError::not_found(group, plural, name))?;
            let mut next = current.clone();
            f(&mut next);
            if next == current {
                return Ok(current);
            }
            match self.replace(resource, ns, name, next, false) {
                Err(e) if e.code == 409 => continue,
                other => return other,
            }
        }
    }

    /// Same as `mutate`, named for status writers (kubelet, controllers) to make intent visible.
    pub fn mutate_status(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        f: impl FnMut(&mut Value),
    ) -> ApiResult<Value> {
        self.mutate(resource, ns, name, f)
    }

    /// Delete: objects with finalizers get a deletionTimestamp and stay until the finalizers are removed.
    /// Returns the object as it was (or as it is now, when only marked).
    pub fn delete(&self, resource: &str, ns: &str, name: &str, dry_run: bool) -> ApiResult<Value> {
        let (group, plural) = split_key(resource);
        let mut inner = self.lock();
        let key = Self::key(resource, ns, name);
        let Some(mut obj) = inner.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(group, plural, name));
        };
        if dry_run {
            return Ok(obj);
        }
        let has_finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        inner.rv += 1;
        if has_finalizers {
            if obj["metadata"].get("deletionTimestamp").is_none() {
                obj["metadata"]["deletionTimestamp"] = json!(clock::now_rfc3339());
                obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                obj["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
                inner.objects.insert(key, obj.clone());
                Self::emit(
                    &mut inner,
                    &self.tx,
                    EventType::Modified,
                    resource,
                    obj.clone(),
                );
            }
            return Ok(obj);
        }
        inner.objects.remove(&key);
        obj["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
        Self::emit(
            &mut inner,
            &self.tx,
            EventType::Deleted,
            resource,
            obj.clone(),
        );
        Ok(obj)
    }

    /// A copy of an object owned by another API server (the real one, issue 16): stored as given — uid,
    /// resourceVersion and deletionTimestamp included — so the kubelet can run on a local cache of what it watches,
    /// as the real kubelet runs on informers. Watchers see Added or Modified; an unchanged object emits nothing.
    pub fn mirror_put(&self, resource: &str, obj: Value) {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let key = Self::key(resource, ns, name);
        let mut inner = self.lock();
        let kind = match inner.objects.get(&key) {
            Some(old) if *old == obj => return,
            Some(_) => EventType::Modified,
            None => EventType::Added,
        };
        inner.rv += 1;
        inner.objects.insert(key, obj.clone());
        Self::emit(&mut inner, &self.tx, kind, resource, obj);
    }

    /// Removes a mirrored object (the other API server deleted it); watchers see Deleted.
    pub fn mirror_remove(&self, resource: &str, ns: &str, name: &str) {
        let mut inner = self.lock();
        if let Some(obj) = inner.objects.remove(&Self::key(resource, ns, name)) {
            inner.rv += 1;
            Self::emit(&mut inner, &self.tx, EventType::Deleted, resource, obj);
        }
    }

    /// A live event stream; combine with `events_since` for watches that start at a resourceVersion.
    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.tx.subscribe()
    }

    /// Subscribe and return the buffered events after `rv` atomically (no gap, no duplicate).
    /// None when `rv` is older than the history (the caller answers 410 Gone).
    pub fn watch_from(
        &self,
        rv: u64,
    ) -> Option<(Vec<WatchEvent>, broadcast::Receiver<WatchEvent>)> {
        let inner = self.lock();
        let rx = self.tx.subscribe();
        if let Some(first) = inner.history.front()
            && first.rv > rv + 1
            && inner.history.len() >= HISTORY
        {
            return None;
        }
        Some((
            inner
                .history
                .iter()
                .filter(|e| e.rv > rv)
                .cloned()
                .collect(),
            rx,
        ))
    }

    /// Record a core/v1 Event about `involved` (any object with kind/apiVersion/metadata), aggregating repeats
    /// (same object, reason and message) into `count`/`lastTimestamp` as the client-go recorder does.
    pub fn record_event(
        &self,
        involved: &Value,
        reason: &str,
        message: &str,
        type_: &str,
        component: &str,
    ) {
        let meta = &involved["metadata"];
        let ns = meta["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
            .to_string();
        let name = meta["name"].as_str().unwrap_or_default();
        let uid = meta["uid"].as_str().unwrap_or_default();
        let now = clock::now_rfc3339();
        let (existing, _) = self.list("events", Some(&ns));
        if let Some(e) = existing.iter().find(|e| {
            e["involvedObject"]["uid"] == json!(uid)
                && e["reason"] == json!(reason)
                && e["message"] == json!(message)
        }) {
            let ename = e["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let _ = self.mutate("events", &ns, &ename, |e| {
                e["count"] = json!(e["count"].as_i64().unwrap_or(1) + 1);
                e["lastTimestamp"] = json!(now);
            });
            return;
        }
        let mut involved_ref = json!({
            "kind": involved["kind"], "apiVersion": involved["apiVersion"], "name": name, "uid": uid,
            "resourceVersion": meta["resourceVersion"],
        });
        if let Some(n) = meta["namespace"].as_str() {
            involved_ref["namespace"] = json!(n);
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let ev = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": { "name": format!("{name}.{:x}", nanos) },
            "involvedObject": involved_ref,
            "reason": reason, "message": message, "type": type_,
            "source": { "component": component },
            "reportingComponent": component, "reportingInstance": "",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "eventTime": null,
        });
        let _ = self.create("events", &ns, ev, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
    }

    #[test]
    fn create_sets_server_metadata_and_rejects_duplicates() {
        let s = Store::new();
        let o = s.create("configmaps", "default", cm("x"), false).unwrap();
        assert_eq!(o["metadata"]["namespace"], "default");
        assert!(o["metadata"]["uid"].as_str().unwrap().len() == 36);
        let e = s
            .create("configmaps", "default", cm("x"), false)
            .unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (409, "configmaps \"x\" already exists")
        );
    }

    #[test]
    fn replace_with_stale_resource_version_conflicts() {
        let s = Store::new();
        let o = s.create("configmaps", "default", cm("x"), false).unwrap();
        let mut a = o.clone();
        a["data"]["a"] = json!("2");
        s.replace("configmaps", "default", "x", a, false).unwrap();
        let mut b = o;
        b["data"]["a"] = json!("3");
        let e = s
            .replace("configmaps", "default", "x", b, false)
            .unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(
            s.get("configmaps", "default", "x").unwrap()["data"]["a"],
            "2"
        );
    }

    #[test]
    fn generation_bumps_on_spec_change_only() {
        let s = Store::new();
        let d = json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 1}});
        s.create("deployments.apps", "ns", d, false).unwrap();
        let o = s
            .mutate("deployments.apps", "ns", "d", |o| {
                o["status"] = json!({"replicas": 1})
            })
            .unwrap();
        assert_eq!(o["metadata"]["generation"], 1);
        let o = s
            .mutate("deployments.apps", "ns", "d", |o| {
                o["spec"]["replicas"] = json!(2)
            })
            .unwrap();
        assert_eq!(o["metadata"]["generation"], 2);
    }

    #[test]
    fn no_op_writes_do_not_bump_resource_version() {
        let s = Store::new();
        let o = s.create("configmaps", "default", cm("x"), false).unwrap();
        let p = s.mutate("configmaps", "default", "x", |_| {}).unwrap();
        assert_eq!(
            o["metadata"]["resourceVersion"],
            p["metadata"]["resourceVersion"]
        );
    }

    #[test]
    fn finalizers_hold_deletion_until_removed() {
        let s = Store::new();
        let mut o = cm("x");
        o["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
        s.create("configmaps", "default", o, false).unwrap();
        let d = s.delete("configmaps", "default", "x", false).unwrap();
        assert!(d["metadata"]["deletionTimestamp"].is_string());
        assert!(s.get("configmaps", "default", "x").is_some());
        s.mutate("configmaps", "default", "x", |o| {
            o["metadata"]["finalizers"] = json!([])
        })
        .unwrap();
        assert!(s.get("configmaps", "default", "x").is_none());
    }

    #[test]
    fn watch_from_replays_history_after_rv() {
        let s = Store::new();
        let o = s.create("configmaps", "default", cm("x"), false).unwrap();
        let rv: u64 = o["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        s.create("configmaps", "default", cm("y"), false).unwrap();
        let (events, _rx) = s.watch_from(rv).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].object["metadata"]["name"], "y");
    }

    #[test]
    fn events_aggregate_repeats() {
        let s = Store::new();
        let pod = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p", "namespace": "n", "uid": "u1"}});
        s.record_event(
            &pod,
            "BackOff",
            "Back-off restarting failed container",
            "Warning",
            "kubelet",
        );
        s.record_event(
            &pod,
            "BackOff",
            "Back-off restarting failed container",
            "Warning",
            "kubelet",
        );
        let (evs, _) = s.list("events", Some("n"));
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0]["count"], 2);
    }
}
