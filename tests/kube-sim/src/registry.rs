//! Which resources the API server serves: the built-in kinds (names, short names, scope and subresources as
//! `kubectl api-resources` shows them on a 1.33 cluster) plus the kinds of every established CustomResourceDefinition.
use serde_json::{Value, json};
use std::sync::RwLock;

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Subresources such as `status`, `log`, `exec`, `proxy`, `scale`.
    pub subresources: Vec<String>,
    /// Only `create` (selfsubjectaccessreviews) or the full verb set.
    pub create_only: bool,
    /// CRD-defined additionalPrinterColumns (served in Table responses).
    pub printer_columns: Vec<Value>,
}

const ALL_VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl ResourceType {
    /// The store key: `pods`, `deployments.apps`.
    pub fn key(&self) -> String {
        crate::status::qualified(&self.group, &self.plural)
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        if self.create_only {
            vec!["create"]
        } else {
            ALL_VERBS.to_vec()
        }
    }

    /// The `APIResource` entries (the resource and its subresources) of an APIResourceList.
    pub fn api_resources(&self) -> Vec<Value> {
        let mut out = vec![];
        let mut main = json!({
            "name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
            "kind": self.kind, "verbs": self.verbs(),
        });
        if !self.short_names.is_empty() {
            main["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            main["categories"] = json!(self.categories);
        }
        out.push(main);
        for sub in &self.subresources {
            let (kind, verbs): (&str, Vec<&str>) = match sub.as_str() {
                "status" => (&self.kind, vec!["get", "patch", "update"]),
                "scale" => ("Scale", vec!["get", "patch", "update"]),
                "log" => ("Pod", vec!["get"]),
                "exec" | "attach" | "portforward" => ("PodExecOptions", vec!["create", "get"]),
                "proxy" => (
                    if self.plural == "pods" {
                        "PodProxyOptions"
                    } else {
                        "NodeProxyOptions"
                    },
                    vec!["create", "delete", "get", "patch", "update"],
                ),
                "eviction" => ("Eviction", vec!["create"]),
                _ => (&self.kind, vec!["get"]),
            };
            let mut r = json!({
                "name": format!("{}/{}", self.plural, sub), "singularName": "", "namespaced": self.namespaced,
                "kind": kind, "verbs": verbs,
            });
            if sub == "scale" {
                r["group"] = json!("autoscaling");
                r["version"] = json!("v1");
            }
            out.push(r);
        }
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    plural: &str,
    kind: &str,
    namespaced: bool,
    short: &[&str],
    subs: &[&str],
    categories: &[&str],
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: version.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        kind: kind.into(),
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: categories.iter().map(|s| s.to_string()).collect(),
        subresources: subs.iter().map(|s| s.to_string()).collect(),
        create_only: false,
        printer_columns: vec![],
    }
}

/// The built-in kinds this simulator serves (replicationcontrollers and daemonsets are served without
/// controllers, so that `kubectl cluster-info dump` and `get all` run).
pub fn builtins() -> Vec<ResourceType> {
    let all = &["all"];
    let mut v = vec![
        builtin("", "v1", "configmaps", "ConfigMap", true, &["cm"], &[], &[]),
        builtin("", "v1", "endpoints", "Endpoints", true, &["ep"], &[], &[]),
        builtin("", "v1", "events", "Event", true, &["ev"], &[], &[]),
        builtin(
            "",
            "v1",
            "namespaces",
            "Namespace",
            false,
            &["ns"],
            &["finalize", "status"],
            &[],
        ),
        builtin(
            "",
            "v1",
            "nodes",
            "Node",
            false,
            &["no"],
            &["proxy", "status"],
            &[],
        ),
        builtin(
            "",
            "v1",
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            true,
            &["pvc"],
            &["status"],
            &[],
        ),
        builtin(
            "",
            "v1",
            "persistentvolumes",
            "PersistentVolume",
            false,
            &["pv"],
            &["status"],
            &[],
        ),
        builtin(
            "",
            "v1",
            "pods",
            "Pod",
            true,
            &["po"],
            &[
                "attach",
                "eviction",
                "exec",
                "log",
                "portforward",
                "proxy",
                "status",
            ],
            all,
        ),
        builtin(
            "",
            "v1",
            "replicationcontrollers",
            "ReplicationController",
            true,
            &["rc"],
            &["scale", "status"],
            all,
        ),
        builtin("", "v1", "secrets", "Secret", true, &[], &[], &[]),
        builtin(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            true,
            &["sa"],
            &[],
            &[],
        ),
        builtin(
            "",
            "v1",
            "services",
            "Service",
            true,
            &["svc"],
            &["proxy", "status"],
            all,
        ),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            &["status"],
            &["api-extensions"],
        ),
        builtin(
            "apps",
            "v1",
            "daemonsets",
            "DaemonSet",
            true,
            &["ds"],
            &["status"],
            all,
        ),
        builtin(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            true,
            &["deploy"],
            &["scale", "status"],
            all,
        ),
        builtin(
            "apps",
            "v1",
            "replicasets",
            "ReplicaSet",
            true,
            &["rs"],
            &["scale", "status"],
            all,
        ),
        builtin(
            "apps",
            "v1",
            "statefulsets",
            "StatefulSet",
            true,
            &["sts"],
            &["scale", "status"],
            all,
        ),
        builtin(
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            false,
            &[],
            &[],
            &[],
        ),
        builtin(
            "discovery.k8s.io",
            "v1",
            "endpointslices",
            "EndpointSlice",
            true,
            &[],
            &[],
            &[],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            &[],
            &[],
            &[],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "ClusterRole",
            false,
            &[],
            &[],
            &[],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "RoleBinding",
            true,
            &[],
            &[],
            &[],
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "roles",
            "Role",
            true,
            &[],
            &[],
            &[],
        ),
        builtin(
            "storage.k8s.io",
            "v1",
            "csidrivers",
            "CSIDriver",
            false,
            &[],
            &[],
            &[],
        ),
        builtin(
            "storage.k8s.io",
            "v1",
            "storageclasses",
            "StorageClass",
            false,
            &["sc"],
            &[],
            &[],
        ),
    ];
    for r in &mut v {
        if r.plural == "endpoints" {
            r.singular = "endpoints".into();
        }
        if r.plural == "selfsubjectaccessreviews" {
            r.create_only = true;
        }
    }
    v
}

/// Built-ins plus CRD-defined kinds; CRD kinds are (re)computed from the store whenever a CRD changes.
pub struct Registry {
    builtins: Vec<ResourceType>,
    custom: RwLock<Vec<ResourceType>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            builtins: builtins(),
            custom: RwLock::new(vec![]),
        }
    }
}

impl Registry {
    pub fn all(&self) -> Vec<ResourceType> {
        let mut v = self.builtins.clone();
        v.extend(self.custom.read().map(|c| c.clone()).unwrap_or_default());
        v
    }

    /// By group, version and plural name (the URL form).
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.all()
            .into_iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// By store key (`deployments.apps`).
    pub fn by_key(&self, key: &str) -> Option<ResourceType> {
        self.all().into_iter().find(|r| r.key() == key)
    }

    /// By apiVersion and kind, as found in a manifest or an ownerReference.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.all()
            .into_iter()
            .find(|r| r.api_version() == api_version && r.kind == kind)
    }

    /// Replace the CRD-defined kinds with those served by `crds` (CustomResourceDefinition objects).
    pub fn set_crds(&self, crds: &[Value]) {
        let mut out = vec![];
        for crd in crds {
            let spec = &crd["spec"];
            let names = &spec["names"];
            let Some(group) = spec["group"].as_str() else {
                continue;
            };
            for ver in spec["versions"].as_array().into_iter().flatten() {
                if ver["served"].as_bool() != Some(true) {
                    continue;
                }
                let mut subs = vec![];
                if ver["subresources"].get("status").is_some() {
                    subs.push("status".to_string());
                }
                if ver["subresources"].get("scale").is_some() {
                    subs.push("scale".to_string());
                }
                let strs = |v: &Value| -> Vec<String> {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                };
                out.push(ResourceType {
                    group: group.into(),
                    version: ver["name"].as_str().unwrap_or("v1").into(),
                    plural: names["plural"].as_str().unwrap_or_default().into(),
                    singular: names["singular"]
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| {
                            names["kind"].as_str().unwrap_or_default().to_lowercase()
                        }),
                    kind: names["kind"].as_str().unwrap_or_default().into(),
                    namespaced: spec["scope"].as_str() != Some("Cluster"),
                    short_names: strs(&names["shortNames"]),
                    categories: strs(&names["categories"]),
                    subresources: subs,
                    create_only: false,
                    printer_columns: ver["additionalPrinterColumns"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                });
            }
        }
        if let Ok(mut c) = self.custom.write() {
            *c = out;
        }
    }

    /// Group → versions served, in a stable order (core group excluded).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = vec![];
        for r in self.all() {
            if r.group.is_empty() {
                continue;
            }
            match groups.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, vs)) if !vs.contains(&r.version) => vs.push(r.version.clone()),
                Some(_) => {}
                None => groups.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        groups
    }
}
