//! RBAC evaluation (k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac): ClusterRoleBindings and RoleBindings naming
//! the user or one of its groups, resolved to their (Cluster)Role rules. `system:masters` is always allowed, as the
//! real API server's superuser group is. Also the 403 message of the real authorizer
//! (`User "u" cannot VERB resource "R" in API group "G" in the namespace "NS"`) and SelfSubjectAccessReview.
use crate::kubeconfig::User;
use crate::store::Store;
use serde_json::Value;

/// What a request asks to do (authorizer.Attributes).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// For non-resource URLs (`/version`, `/healthz` …).
    pub path: Option<String>,
}

fn matches(list: &Value, want: &str) -> bool {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .any(|v| v == "*" || v == want)
}

fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    if let Some(path) = &a.path {
        return matches(&rule["verbs"], &a.verb)
            && rule["nonResourceURLs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .any(|u| {
                    u == "*"
                        || u == path
                        || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
                });
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let resource_ok = rule["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .any(|r| {
            r == "*"
                || r == resource
                || (!a.subresource.is_empty() && r == format!("*/{}", a.subresource))
                || (a.subresource.is_empty() && r == a.resource)
        });
    let names_ok = match rule["resourceNames"].as_array() {
        Some(names) if !names.is_empty() => {
            names.iter().any(|n| n.as_str() == Some(a.name.as_str()))
        }
        _ => true,
    };
    matches(&rule["verbs"], &a.verb)
        && matches(&rule["apiGroups"], &a.group)
        && resource_ok
        && names_ok
}

fn binding_names_user(binding: &Value, user: &User) -> bool {
    binding["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            let name = s["name"].as_str().unwrap_or_default();
            match s["kind"].as_str() {
                Some("User") => name == user.name,
                Some("Group") => user.groups.iter().any(|g| g == name),
                // A service account's user name (k8s.io/apiserver/pkg/authentication/serviceaccount MakeUsername).
                Some("ServiceAccount") => {
                    user.name
                        == format!(
                            "system:serviceaccount:{}:{name}",
                            s["namespace"].as_str().unwrap_or_default()
                        )
                }
                _ => false,
            }
        })
}

fn role_rules(store: &Store, binding: &Value, binding_ns: &str) -> Vec<Value> {
    let role_name = binding["roleRef"]["name"].as_str().unwrap_or_default();
    let role = match binding["roleRef"]["kind"].as_str() {
        Some("ClusterRole") => store.get("clusterroles.rbac.authorization.k8s.io", "", role_name),
        _ => store.get("roles.rbac.authorization.k8s.io", binding_ns, role_name),
    };
    role.and_then(|r| r["rules"].as_array().cloned())
        .unwrap_or_default()
}

pub fn allowed(store: &Store, user: &User, a: &Attributes) -> bool {
    if user.is_master() {
        return true;
    }
    let (crbs, _) = store.list("clusterrolebindings.rbac.authorization.k8s.io", None);
    for b in crbs.iter().filter(|b| binding_names_user(b, user)) {
        if role_rules(store, b, "").iter().any(|r| rule_allows(r, a)) {
            return true;
        }
    }
    if a.namespace.is_empty() || a.path.is_some() {
        return false;
    }
    let (rbs, _) = store.list("rolebindings.rbac.authorization.k8s.io", Some(&a.namespace));
    rbs.iter().filter(|b| binding_names_user(b, user)).any(|b| {
        role_rules(store, b, &a.namespace)
            .iter()
            .any(|r| rule_allows(r, a))
    })
}

/// The authorizer's reason text, e.g. `User "restricted" cannot create resource "pods/exec" in API group "" in the
/// namespace "obs"` (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go `forbiddenMessage`).
pub fn forbidden_reason(user: &User, a: &Attributes) -> String {
    if let Some(path) = &a.path {
        return format!("User \"{}\" cannot {} path \"{path}\"", user.name, a.verb);
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", a.namespace)
    };
    format!(
        "User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
        user.name, a.verb, a.group
    )
}

/// The user a request acts as, after its `Impersonate-User`/`-Group`/`-Uid` headers, each one authorized for the
/// authenticated user with verb `impersonate` (k8s.io/apiserver/pkg/endpoints/filters/impersonation.go
/// `WithImpersonation`, `buildImpersonationRequests`): `system:serviceaccount:NS:NAME` is checked as the
/// `serviceaccounts` resource NAME in NS and gets the service-account groups; a user as `users`, a group as `groups`,
/// a uid as `uids` in `authentication.k8s.io`. A refusal is the real 403 (`users "x" is forbidden: User "y" cannot
/// impersonate resource "users" in API group "" at the cluster scope`); groups or a uid without a user are refused.
/// Without the headers the user is unchanged.
pub fn impersonate(
    store: &Store,
    user: User,
    headers: &http::HeaderMap,
) -> Result<User, crate::status::ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(String::from)
            .collect()
    };
    let requested_user = values("impersonate-user")
        .into_iter()
        .next()
        .filter(|u| !u.is_empty());
    let groups = values("impersonate-group");
    let uid = values("impersonate-uid").into_iter().next();
    let Some(name) = requested_user else {
        if !groups.is_empty() || uid.is_some() {
            return Err(crate::status::ApiError::internal(
                "requested impersonation of groups or a uid without impersonating a user",
            ));
        }
        return Ok(user);
    };
    let check = |a: Attributes| {
        if allowed(store, &user, &a) {
            Ok(())
        } else {
            Err(crate::status::ApiError::forbidden(
                &a.group,
                &a.resource,
                &a.name,
                &forbidden_reason(&user, &a),
            ))
        }
    };
    let mut new_groups = Vec::new();
    let service_account = name
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'));
    match service_account {
        Some((ns, sa)) => {
            check(Attributes {
                verb: "impersonate".into(),
                resource: "serviceaccounts".into(),
                namespace: ns.into(),
                name: sa.into(),
                ..Default::default()
            })?;
            if groups.is_empty() {
                new_groups = vec![
                    "system:serviceaccounts".to_string(),
                    format!("system:serviceaccounts:{ns}"),
                ];
            }
        }
        None => check(Attributes {
            verb: "impersonate".into(),
            resource: "users".into(),
            name: name.clone(),
            ..Default::default()
        })?,
    }
    for group in &groups {
        check(Attributes {
            verb: "impersonate".into(),
            resource: "groups".into(),
            name: group.clone(),
            ..Default::default()
        })?;
        new_groups.push(group.clone());
    }
    if let Some(uid) = &uid {
        check(Attributes {
            verb: "impersonate".into(),
            group: "authentication.k8s.io".into(),
            resource: "uids".into(),
            name: uid.clone(),
            ..Default::default()
        })?;
    }
    if name != "system:anonymous"
        && !new_groups
            .iter()
            .any(|g| g == "system:authenticated" || g == "system:unauthenticated")
    {
        new_groups.push("system:authenticated".into());
    }
    Ok(User {
        name,
        groups: new_groups,
    })
}

/// Fill `status` of a SelfSubjectAccessReview for `user`.
pub fn self_subject_access_review(store: &Store, user: &User, review: &mut Value) {
    let spec = &review["spec"];
    let a = if let Some(r) = spec.get("resourceAttributes").filter(|r| r.is_object()) {
        Attributes {
            verb: r["verb"].as_str().unwrap_or_default().into(),
            group: r["group"].as_str().unwrap_or_default().into(),
            resource: r["resource"].as_str().unwrap_or_default().into(),
            subresource: r["subresource"].as_str().unwrap_or_default().into(),
            namespace: r["namespace"].as_str().unwrap_or_default().into(),
            name: r["name"].as_str().unwrap_or_default().into(),
            path: None,
        }
    } else {
        let n = &spec["nonResourceAttributes"];
        Attributes {
            verb: n["verb"].as_str().unwrap_or_default().into(),
            path: Some(n["path"].as_str().unwrap_or_default().into()),
            ..Default::default()
        }
    };
    let ok = allowed(store, user, &a);
    review["status"] = if ok {
        let reason = if user.is_master() {
            ""
        } else {
            "RBAC: allowed by a binding"
        };
        serde_json::json!({"allowed": true, "reason": reason})
    } else {
        serde_json::json!({"allowed": false})
    };
}

/// The bootstrap roles every cluster has (plugin/pkg/auth/authorizer/rbac/bootstrappolicy): `cluster-admin`,
/// `admin`, `edit`, `view` (their core/apps rules, without aggregation of CRD kinds) and `system:basic-user`
/// bound to `system:authenticated` (so anyone may ask SelfSubjectAccessReview questions).
pub fn bootstrap_objects() -> Vec<Value> {
    use serde_json::json;
    let read = json!(["get", "list", "watch"]);
    let write = json!(["create", "delete", "deletecollection", "patch", "update"]);
    let core_read = json!([
        "configmaps",
        "endpoints",
        "persistentvolumeclaims",
        "persistentvolumeclaims/status",
        "pods",
        "replicationcontrollers",
        "replicationcontrollers/scale",
        "serviceaccounts",
        "services",
        "services/status",
        "bindings",
        "events",
        "limitranges",
        "namespaces/status",
        "pods/log",
        "pods/status",
        "replicationcontrollers/status",
        "resourcequotas",
        "resourcequotas/status",
        "namespaces"
    ]);
    let apps = json!([
        "controllerrevisions",
        "daemonsets",
        "daemonsets/scale",
        "daemonsets/status",
        "deployments",
        "deployments/scale",
        "deployments/status",
        "replicasets",
        "replicasets/scale",
        "replicasets/status",
        "statefulsets",
        "statefulsets/scale",
        "statefulsets/status"
    ]);
    let view_rules = vec![
        json!({"apiGroups": [""], "resources": core_read, "verbs": read}),
        json!({"apiGroups": ["apps"], "resources": apps, "verbs": read}),
        json!({"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read}),
    ];
    let mut edit_rules = view_rules.clone();
    edit_rules.extend([
        json!({"apiGroups": [""], "resources": ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], "verbs": ["get", "list", "watch"]}),
        json!({"apiGroups": [""], "resources": ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "configmaps", "endpoints", "persistentvolumeclaims",
            "replicationcontrollers", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"], "verbs": write}),
        json!({"apiGroups": ["apps"], "resources": ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"], "verbs": write}),
    ]);
    let mut admin_rules = edit_rules.clone();
    admin_rules.push(json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings", "roles"], "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}));
    let role = |name: &str, rules: Vec<Value>| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}, "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
               "rules": rules})
    };
    vec![
        role(
            "cluster-admin",
            vec![
                json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
                json!({"nonResourceURLs": ["*"], "verbs": ["*"]}),
            ],
        ),
        role("admin", admin_rules),
        role("edit", edit_rules),
        role("view", view_rules),
        role(
            "system:basic-user",
            vec![
                json!({"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]}),
            ],
        ),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "system:basic-user", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:basic-user"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store_with_role() -> Store {
        let s = Store::new();
        s.create(
            "roles.rbac.authorization.k8s.io",
            "obs",
            json!({"kind": "Role", "metadata": {"name": "r"}, "rules": [
                {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
                {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["patch"], "resourceNames": ["data-0"]},
            ]}),
            false,
        )
        .unwrap();
        s.create(
            "rolebindings.rbac.authorization.k8s.io",
            "obs",
            json!({"kind": "RoleBinding", "metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r"},
                   "subjects": [{"kind": "User", "name": "restricted"}]}),
            false,
        )
        .unwrap();
        s
    }

    fn attrs(verb: &str, resource: &str, sub: &str, ns: &str, name: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn role_binding_grants_only_its_rules_in_its_namespace() {
        let s = store_with_role();
        let u = User::restricted();
        assert!(allowed(&s, &u, &attrs("list", "pods", "", "obs", "")));
        assert!(allowed(&s, &u, &attrs("get", "pods", "log", "obs", "p")));
        assert!(!allowed(
            &s,
            &u,
            &attrs("create", "pods", "exec", "obs", "p")
        ));
        assert!(!allowed(&s, &u, &attrs("list", "pods", "", "default", "")));
        assert!(allowed(
            &s,
            &u,
            &attrs("patch", "persistentvolumeclaims", "", "obs", "data-0")
        ));
        assert!(!allowed(
            &s,
            &u,
            &attrs("patch", "persistentvolumeclaims", "", "obs", "data-1")
        ));
        assert!(allowed(
            &s,
            &User::admin(),
            &attrs("delete", "nodes", "", "", "n")
        ));
    }

    #[test]
    fn forbidden_reason_has_the_real_shape() {
        let a = attrs("create", "pods", "exec", "obs", "x");
        assert_eq!(
            forbidden_reason(&User::restricted(), &a),
            "User \"restricted\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"obs\""
        );
        let c = attrs("list", "nodes", "", "", "");
        assert_eq!(
            forbidden_reason(&User::restricted(), &c),
            "User \"restricted\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        );
    }
}
