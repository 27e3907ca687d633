//! Permissions first: the API requests a plan will make, checked with SelfSubjectAccessReview (concurrently) before
//! the plan is shown; every missing permission is reported in one list with a minimal Role/ClusterRole to grant it.

use crate::context::Ctx;
use crate::error::{Error, Result};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Api;
use serde::Serialize;
use std::collections::BTreeMap;

/// One API request a plan will make: verb on group/resource(/name), in a namespace or cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequest {
    pub verb: String,
    pub group: String,
    pub resource: String,
    /// None for cluster-scoped resources.
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The impersonation the review answered for (`--as USER …`), so the `can-i` hint asks about the same user.
    #[serde(skip)]
    pub acting_as: Option<String>,
}

impl AccessRequest {
    pub fn new(
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        AccessRequest {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            namespace: namespace.map(Into::into),
            name: name.map(Into::into),
            acting_as: None,
        }
    }

    fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// The equivalent `kubectl auth can-i` command, for hints.
    pub fn can_i(&self) -> String {
        let resource = self.qualified_resource();
        let target = match &self.name {
            Some(name) => format!("{resource}/{name}"),
            None => resource,
        };
        let command = match &self.namespace {
            Some(ns) => format!("kubectl auth can-i {} {target} -n {ns}", self.verb),
            None => format!("kubectl auth can-i {} {target}", self.verb),
        };
        match &self.acting_as {
            Some(flags) => format!("{command} {flags}"),
            None => command,
        }
    }

    /// `patch persistentvolumeclaims/data in monitoring`.
    pub fn describe(&self) -> String {
        let resource = self.qualified_resource();
        match (&self.name, &self.namespace) {
            (Some(n), Some(ns)) => format!("{} {resource}/{n} in {ns}", self.verb),
            (Some(n), None) => format!("{} {resource}/{n}", self.verb),
            (None, Some(ns)) => format!("{} {resource} in {ns}", self.verb),
            (None, None) => format!("{} {resource}", self.verb),
        }
    }
}

/// A read the API server refused with 403 Forbidden, as `None`; the value otherwise. Only a 403 is turned into
/// "unknown": 500s and dropped connections stay errors, since they say nothing about what the user may do. The caller
/// records the refused read as an [`AccessRequest`], so it is reviewed and listed with the plan's changes.
pub fn unless_forbidden<T>(
    result: std::result::Result<T, kube::Error>,
) -> std::result::Result<Option<T>, kube::Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(kube::Error::Api(status)) if status.is_forbidden() => Ok(None),
        Err(err) => Err(err),
    }
}

/// The requests a shared [`crate::engine::Plan`] will send: [`requests_for_changes`] of its steps.
pub fn requests_for(plan: &crate::engine::Plan) -> Vec<AccessRequest> {
    requests_for_changes(plan.steps.iter().map(|s| &s.change))
}

/// The one derivation of permissions from changes, for every verb: the verb each change sends (a patch, a create, a
/// delete for an orphan delete or a pod restart) on its object, without repeats, in order. A create names no object
/// (RBAC's resourceNames cannot restrict a create: the name is not known to the authorizer before the object exists).
pub fn requests_for_changes<'a>(
    changes: impl IntoIterator<Item = &'a crate::engine::Change>,
) -> Vec<AccessRequest> {
    use crate::engine::Change;
    let mut out: Vec<AccessRequest> = Vec::new();
    for change in changes {
        let object = change.object();
        let name = match change {
            Change::Create { .. } => None,
            _ => Some(object.name.as_str()),
        };
        let request = AccessRequest::new(
            change.verb(),
            &object.group,
            &object.plural,
            object.namespace.as_deref(),
            name,
        );
        if !out.contains(&request) {
            out.push(request);
        }
    }
    out
}

/// Ask the API server about every request at once (one round trip).
pub async fn review(ctx: &Ctx, requests: &[AccessRequest]) -> Result<Vec<(AccessRequest, bool)>> {
    let api: Api<SelfSubjectAccessReview> = Api::all(ctx.client.clone());
    futures::future::try_join_all(requests.iter().map(|request| {
        let api = api.clone();
        async move {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        verb: Some(request.verb.clone()),
                        group: Some(request.group.clone()),
                        resource: Some(request.resource.clone()),
                        namespace: request.namespace.clone(),
                        name: request.name.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let answer = api
                .create(&Default::default(), &review)
                .await
                .map_err(Error::kube(format!(
                    "create selfsubjectaccessreview for `{}`",
                    request.can_i()
                )))?;
            let mut request = request.clone();
            // The review answered for the impersonated user (the client sends Impersonate-* on it too).
            request.acting_as = ctx.settings.impersonation.clone();
            Ok::<_, Error>((request, answer.status.is_some_and(|s| s.allowed)))
        }
    }))
    .await
}

/// Refuse (before any change) when a review said no, naming every missing permission and the Role that grants them.
pub fn refuse_missing(reviews: &[(AccessRequest, bool)]) -> Result<()> {
    let denied: Vec<&AccessRequest> = reviews
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(r, _)| r)
        .collect();
    let Some(first) = denied.first() else {
        return Ok(());
    };
    Err(Error::Forbidden {
        missing: denied
            .iter()
            .map(|r| r.describe())
            .collect::<Vec<_>>()
            .join(", "),
        can_i: first.can_i(),
        role: minimal_role(&denied),
    })
}

/// Review a plan's requests and refuse if any is denied. In a dry run too: `dryRun=All` needs the same permissions.
pub async fn require(ctx: &Ctx, requests: &[AccessRequest]) -> Result<()> {
    if requests.is_empty() {
        return Ok(());
    }
    refuse_missing(&review(ctx, requests).await?)
}

/// The smallest Role (namespaced requests) and ClusterRole (cluster-scoped ones) granting `denied`, as YAML.
pub fn minimal_role(denied: &[&AccessRequest]) -> String {
    /// (group, resource) → verbs, for one namespace (None: cluster-scoped).
    type Rules = BTreeMap<(String, String), Vec<String>>;
    let mut by_scope: BTreeMap<Option<String>, Rules> = BTreeMap::new();
    for r in denied {
        let verbs = by_scope
            .entry(r.namespace.clone())
            .or_default()
            .entry((r.group.clone(), r.resource.clone()))
            .or_default();
        if !verbs.contains(&r.verb) {
            verbs.push(r.verb.clone());
        }
    }
    let mut docs = Vec::new();
    for (namespace, rules) in by_scope {
        let mut doc = String::from("apiVersion: rbac.authorization.k8s.io/v1\n");
        match &namespace {
            Some(ns) => doc.push_str(&format!(
                "kind: Role\nmetadata:\n  name: kubectl-prom\n  namespace: {ns}\n"
            )),
            None => doc.push_str("kind: ClusterRole\nmetadata:\n  name: kubectl-prom\n"),
        }
        doc.push_str("rules:\n");
        for ((group, resource), verbs) in rules {
            doc.push_str(&format!(
                "- apiGroups: [\"{group}\"]\n  resources: [\"{resource}\"]\n  verbs: [{}]\n",
                verbs
                    .iter()
                    .map(|v| format!("\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        docs.push(doc);
    }
    docs.join("---\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_denied_permission_is_listed_with_the_role_that_grants_it() {
        let ok = AccessRequest::new(
            "patch",
            "",
            "persistentvolumeclaims",
            Some("monitoring"),
            Some("data"),
        );
        let claim = AccessRequest::new(
            "patch",
            "",
            "persistentvolumeclaims",
            Some("monitoring"),
            Some("other"),
        );
        let sts = AccessRequest::new(
            "delete",
            "apps",
            "statefulsets",
            Some("monitoring"),
            Some("prom"),
        );
        let class = AccessRequest::new(
            "patch",
            "storage.k8s.io",
            "storageclasses",
            None,
            Some("gp2"),
        );
        assert!(refuse_missing(&[(ok.clone(), true)]).is_ok());
        let err = refuse_missing(&[(ok, true), (claim, false), (sts, false), (class, false)])
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "not allowed to patch persistentvolumeclaims/other in monitoring, delete statefulsets.apps/prom in \
                 monitoring, patch storageclasses.storage.k8s.io/gp2:"
            ),
            "{text}"
        );
        assert!(
            text.contains("`kubectl auth can-i patch persistentvolumeclaims/other -n monitoring`"),
            "{text}"
        );
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("kind: Role\nmetadata:\n  name: kubectl-prom\n  namespace: monitoring\n"),
            "{hint}"
        );
        assert!(
            hint.contains(
                "- apiGroups: [\"apps\"]\n  resources: [\"statefulsets\"]\n  verbs: [\"delete\"]"
            ),
            "{hint}"
        );
        assert!(hint.contains("kind: ClusterRole"), "{hint}");
        assert!(
            hint.contains("resources: [\"storageclasses\"]\n  verbs: [\"patch\"]"),
            "{hint}"
        );
        assert_eq!(err.exit_code(), crate::ExitCode::Cluster);
    }

    #[test]
    fn only_a_403_turns_a_read_into_unknown() {
        let status = |code: u16, reason: &str| {
            kube::Error::Api(
                kube::core::Status {
                    code,
                    reason: reason.into(),
                    ..Default::default()
                }
                .boxed(),
            )
        };
        assert_eq!(unless_forbidden(Ok::<_, kube::Error>(7)).unwrap(), Some(7));
        assert_eq!(
            unless_forbidden(Err::<u8, _>(status(403, "Forbidden"))).unwrap(),
            None
        );
        for failure in [
            status(500, "InternalError"),
            status(401, "Unauthorized"),
            status(404, "NotFound"),
        ] {
            assert!(unless_forbidden(Err::<u8, _>(failure)).is_err());
        }
        let dropped = kube::Error::Service("connection reset".into());
        assert!(unless_forbidden(Err::<u8, _>(dropped)).is_err());
    }

    #[test]
    fn a_plan_asks_for_patch_and_delete_on_the_objects_it_touches() {
        use crate::engine::{Change, ObjectRef, Plan, Step};
        let mut plan = Plan::new("test");
        let object = ObjectRef::prometheus("monitoring", "k8s");
        for _ in 0..2 {
            plan.steps.push(Step {
                reason: "r".into(),
                change: Change::Patch {
                    object: object.clone(),
                    resource_version: Some("1".into()),
                    patch: serde_json::json!({}),
                    before: serde_json::json!({}),
                    after: serde_json::json!({}),
                },
            });
        }
        assert_eq!(
            requests_for(&plan),
            vec![AccessRequest::new(
                "patch",
                "monitoring.coreos.com",
                "prometheuses",
                Some("monitoring"),
                Some("k8s")
            )]
        );
    }
}
