//! Listing what discovery reads (I/O): workloads and `Prometheus` resources, then the pods of each Prometheus
//! workload by its own selector.

use super::recognise::{Inventory, ns_of};
use super::target::TargetRef;
use crate::context::Scope;
use crate::error::{Error, Result};
use crate::model::{OPERATOR_GROUP, PrometheusResource, prometheus_container, prometheus_resource};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::BTreeSet;

/// Read what discovery needs in two concurrent rounds, so no request grows with pods unrelated to Prometheus:
/// first Deployments, StatefulSets and `Prometheus` resources in the scope; then the pods of each workload whose
/// template runs Prometheus, by that workload's own label selector. A cluster without the operator's CRD simply has
/// no `Prometheus` resources. Bare pods (no controller) cannot be found by a selector: they are read by a namespace
/// pod list only when the scope holds no workload-managed Prometheus at all (one more round trip in that rare case).
pub async fn gather(client: &kube::Client, scope: &Scope) -> Result<Inventory> {
    let mut inventory = gather_workloads(client, scope).await?;
    gather_pods(client, scope, &mut inventory).await?;
    Ok(inventory)
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Namespace(ns) => format!("in namespace {ns}"),
        Scope::AllNamespaces => "in all namespaces".to_string(),
    }
}

fn scoped_api<K>(client: &kube::Client, scope: &Scope) -> kube::Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match scope {
        Scope::Namespace(ns) => kube::Api::namespaced(client.clone(), ns),
        Scope::AllNamespaces => kube::Api::all(client.clone()),
    }
}

/// [`gather`]'s first round alone: Deployments, StatefulSets and `Prometheus` resources, no pods. Enough to name
/// every workload-managed server (completion answers from it in one round trip).
pub async fn gather_workloads(client: &kube::Client, scope: &Scope) -> Result<Inventory> {
    use kube::api::{Api, DynamicObject, ListParams};
    let where_ = scope_text(scope);
    let lp = ListParams::default();
    let ar = prometheus_resource();
    let crs: Api<DynamicObject> = match scope {
        Scope::Namespace(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        Scope::AllNamespaces => Api::all_with(client.clone(), &ar),
    };
    let deployments = scoped_api::<Deployment>(client, scope);
    let statefulsets = scoped_api::<StatefulSet>(client, scope);
    let (d, s, c) = futures::join!(deployments.list(&lp), statefulsets.list(&lp), crs.list(&lp));
    let prometheuses = match c {
        Ok(list) => list
            .items
            .into_iter()
            .map(|o| PrometheusResource::from_object(serde_json::to_value(&o).unwrap_or_default()))
            .collect(),
        // No CRD (404), or not allowed to list it (403): there is no operator resource we could act on.
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 403 => Vec::new(),
        Err(e) => {
            return Err(Error::kube(format!(
                "list prometheuses.{OPERATOR_GROUP} {where_}"
            ))(e));
        }
    };
    Ok(Inventory {
        deployments: d
            .map_err(Error::kube(format!("list deployments {where_}")))?
            .items,
        statefulsets: s
            .map_err(Error::kube(format!("list statefulsets {where_}")))?
            .items,
        pods: Vec::new(),
        prometheuses,
    })
}

/// [`gather`]'s second round: the pods of each Prometheus workload by its selector, or (none in scope) the
/// namespace's pods, for bare ones.
pub async fn gather_pods(
    client: &kube::Client,
    scope: &Scope,
    inventory: &mut Inventory,
) -> Result<()> {
    use kube::api::{Api, ListParams};
    let where_ = scope_text(scope);
    let lp = ListParams::default();
    let selectors = prometheus_pod_selectors(inventory);
    let pod_lists = if selectors.is_empty() {
        // Only bare Prometheus pods can be left to find.
        vec![
            scoped_api::<Pod>(client, scope)
                .list(&lp)
                .await
                .map_err(Error::kube(format!("list pods {where_}")))?,
        ]
    } else {
        futures::future::try_join_all(selectors.iter().map(|(ns, selector)| async move {
            Api::<Pod>::namespaced(client.clone(), ns)
                .list(&ListParams::default().labels(selector))
                .await
                .map_err(Error::kube(format!(
                    "list pods matching `{selector}` in namespace {ns}"
                )))
        }))
        .await?
    };
    inventory.pods = pod_lists.into_iter().flat_map(|l| l.items).collect();
    Ok(())
}

/// (namespace, label selector) of every Deployment and StatefulSet whose pod template runs Prometheus, deduplicated:
/// the pod lists discovery needs.
fn prometheus_pod_selectors(inv: &Inventory) -> BTreeSet<(String, String)> {
    let deployments = inv.deployments.iter().filter_map(|d| {
        let spec = d.spec.as_ref()?;
        Some((&d.metadata, &spec.selector, spec.template.spec.as_ref()?))
    });
    let statefulsets = inv.statefulsets.iter().filter_map(|s| {
        let spec = s.spec.as_ref()?;
        Some((&s.metadata, &spec.selector, spec.template.spec.as_ref()?))
    });
    deployments
        .chain(statefulsets)
        .filter(|(_, _, pod_spec)| prometheus_container(pod_spec).is_some())
        .filter_map(|(meta, selector, _)| Some((ns_of(meta), selector_text(selector)?)))
        .collect()
}

/// A LabelSelector in the API's query syntax (`a=b,c in (d,e),!f`); None when it selects nothing (empty), which a
/// workload's selector never is.
pub fn selector_text(selector: &LabelSelector) -> Option<String> {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in selector.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            _ => return None,
        });
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

/// A target `pod/NAME` that is not among the workloads' pods may be a bare pod (no controller), which the selector
/// lists of [`gather`] cannot find: read it by name (one more request, only in that case) and add it.
pub async fn include_named_pod(
    client: &kube::Client,
    scope: &Scope,
    target: &TargetRef,
    inventory: &mut Inventory,
) -> Result<()> {
    let (TargetRef::Pod(name), Scope::Namespace(ns)) = (target, scope) else {
        return Ok(());
    };
    if inventory
        .pods
        .iter()
        .any(|p| p.metadata.name.as_deref() == Some(name))
    {
        return Ok(());
    }
    let pod = kube::Api::<Pod>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(Error::kube(format!("get pod {name} in namespace {ns}")))?;
    inventory.pods.extend(pod);
    Ok(())
}

/// The names of the cluster's namespaces (one metadata-only list). Completion offers them for `-n`; an error is the
/// caller's to word (completion prints nothing rather than a message in the middle of a command line).
pub async fn namespace_names(client: &kube::Client) -> Result<Vec<String>> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: kube::Api<Namespace> = kube::Api::all(client.clone());
    let list = api
        .list_metadata(&kube::api::ListParams::default())
        .await
        .map_err(Error::kube("list namespaces"))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|ns| ns.metadata.name)
        .collect())
}
