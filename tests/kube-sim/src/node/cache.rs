//! The node's local cache of what it watches on the real API server (its pods and the objects they reference, which
//! the Node authorizer lets it read), as the real kubelet runs on informers: `reflect_pods`/`mirror_references` in
//! `node/mod.rs` put and remove objects here, the kubelet code reads them and follows the pod events.
//!
//! Objects are `serde_json::Value`s stored as the API server sent them (uid, resourceVersion, deletionTimestamp
//! included), keyed by (resource, namespace, name); resources are `plural[.group]` (`pods`,
//! `csidrivers.storage.k8s.io`) and cluster-scoped objects use the namespace `""`.
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// A change of the cache, as a watch event.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub kind: EventType,
    pub resource: String,
    pub object: Value,
}

type Key = (String, String, String);

pub struct NodeCache {
    objects: Mutex<BTreeMap<Key, Value>>,
    tx: broadcast::Sender<WatchEvent>,
}

impl Default for NodeCache {
    fn default() -> Self {
        Self::new()
    }
}

fn key(resource: &str, ns: &str, name: &str) -> Key {
    (resource.into(), ns.into(), name.into())
}

impl NodeCache {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(8192);
        Self {
            objects: Mutex::new(BTreeMap::new()),
            tx,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Value>> {
        // A panic while holding the lock must not take the node down with it.
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        self.lock().get(&key(resource, ns, name)).cloned()
    }

    /// Objects of one resource, optionally in one namespace, sorted by namespace then name.
    pub fn list(&self, resource: &str, ns: Option<&str>) -> Vec<Value> {
        self.lock()
            .iter()
            .filter(|((r, n, _), _)| r == resource && ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Stores the API server's copy; subscribers see Added or Modified. An unchanged object emits nothing.
    pub fn put(&self, resource: &str, obj: Value) {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let k = key(resource, ns, name);
        let mut objects = self.lock();
        let kind = match objects.get(&k) {
            Some(old) if *old == obj => return,
            Some(_) => EventType::Modified,
            None => EventType::Added,
        };
        objects.insert(k, obj.clone());
        let _ = self.tx.send(WatchEvent {
            kind,
            resource: resource.into(),
            object: obj,
        });
    }

    /// Forgets an object the API server deleted; subscribers see Deleted.
    pub fn remove(&self, resource: &str, ns: &str, name: &str) {
        if let Some(obj) = self.lock().remove(&key(resource, ns, name)) {
            let _ = self.tx.send(WatchEvent {
                kind: EventType::Deleted,
                resource: resource.into(),
                object: obj,
            });
        }
    }

    /// The events from now on (a lagging receiver re-lists).
    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, v: &str) -> Value {
        json!({"metadata": {"namespace": "ns", "name": name}, "data": {"a": v}})
    }

    #[test]
    fn puts_and_removes_are_events_and_unchanged_puts_are_not() {
        let c = NodeCache::new();
        let mut rx = c.subscribe();
        c.put("configmaps", cm("x", "1"));
        c.put("configmaps", cm("x", "1"));
        c.put("configmaps", cm("x", "2"));
        c.remove("configmaps", "ns", "x");
        c.remove("configmaps", "ns", "x");
        let kinds: Vec<EventType> =
            std::iter::from_fn(|| rx.try_recv().ok().map(|e| e.kind)).collect();
        assert_eq!(
            kinds,
            [EventType::Added, EventType::Modified, EventType::Deleted]
        );
        assert!(c.get("configmaps", "ns", "x").is_none());
    }

    #[test]
    fn lists_are_by_resource_and_namespace() {
        let c = NodeCache::new();
        c.put("configmaps", cm("a", "1"));
        c.put("secrets", cm("b", "1"));
        assert_eq!(c.list("configmaps", Some("ns")).len(), 1);
        assert_eq!(c.list("configmaps", Some("other")).len(), 0);
        assert_eq!(c.list("secrets", None).len(), 1);
    }
}
