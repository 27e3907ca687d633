//! Recognising Prometheus instances in listed objects (pure): the three install flavours, operator shards, bare pods,
//! and narrowing by a target.

use super::target::TargetRef;
use crate::model::volume::{config_volume, data_volume};
use crate::model::{
    Flavour, Instance, OPERATOR_GROUP, OPERATOR_NAME_LABEL, PodRef, PrometheusResource,
    WorkloadKind, WorkloadRef, all_args, chart_flavour, flag_value, prometheus_container,
    route_prefix,
};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

/// Everything discovery reads from the API, in one plain struct.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub deployments: Vec<Deployment>,
    pub statefulsets: Vec<StatefulSet>,
    pub pods: Vec<Pod>,
    pub prometheuses: Vec<PrometheusResource>,
}

/// One instance and the objects discovery listed to recognise it, so that no verb reads them again: its
/// Deployments/StatefulSets, its pods (only the one named for `pod/NAME`), and the operator's `Prometheus` resource.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub instance: Instance,
    pub deployments: Vec<Deployment>,
    pub statefulsets: Vec<StatefulSet>,
    pub pods: Vec<Pod>,
    /// Set for the operator flavour (when the resource could be listed).
    pub prometheus_resource: Option<PrometheusResource>,
}

impl Discovered {
    /// Give an instance the listed objects that are its own: same namespace, and named by the instance.
    pub fn of(inv: &Inventory, instance: Instance) -> Self {
        let ns = instance.namespace.as_str();
        let named = |meta: &ObjectMeta, names: &[&str]| {
            ns_of(meta) == ns && meta.name.as_deref().is_some_and(|n| names.contains(&n))
        };
        let workloads: Vec<&str> = instance.workloads.iter().map(|w| w.name.as_str()).collect();
        let pods: Vec<&str> = instance.pods.iter().map(|p| p.name.as_str()).collect();
        let deployments = inv
            .deployments
            .iter()
            .filter(|d| named(&d.metadata, &workloads))
            .cloned()
            .collect();
        let statefulsets = inv
            .statefulsets
            .iter()
            .filter(|s| named(&s.metadata, &workloads))
            .cloned()
            .collect();
        let pods = inv
            .pods
            .iter()
            .filter(|p| named(&p.metadata, &pods))
            .cloned()
            .collect();
        let prometheus_resource = match &instance.flavour {
            Flavour::Operator { prometheus } => inv
                .prometheuses
                .iter()
                .find(|p| p.namespace == ns && &p.name == prometheus)
                .cloned(),
            _ => None,
        };
        Discovered {
            instance,
            deployments,
            statefulsets,
            pods,
            prometheus_resource,
        }
    }

    /// The pod template spec of a workload as listed (a bare pod: its own spec).
    pub fn pod_spec(&self, workload: &WorkloadRef) -> Option<&PodSpec> {
        let is = |meta: &ObjectMeta| meta.name.as_deref() == Some(workload.name.as_str());
        match workload.kind {
            WorkloadKind::Deployment => self
                .deployments
                .iter()
                .find(|d| is(&d.metadata))?
                .spec
                .as_ref()?
                .template
                .spec
                .as_ref(),
            WorkloadKind::StatefulSet => self
                .statefulsets
                .iter()
                .find(|s| is(&s.metadata))?
                .spec
                .as_ref()?
                .template
                .spec
                .as_ref(),
            WorkloadKind::Pod => self.pods.iter().find(|p| is(&p.metadata))?.spec.as_ref(),
        }
    }

    /// A workload's object as listed, as JSON (what a first patch is planned from).
    pub fn workload_object(&self, workload: &WorkloadRef) -> Option<serde_json::Value> {
        let is = |meta: &ObjectMeta| meta.name.as_deref() == Some(workload.name.as_str());
        match workload.kind {
            WorkloadKind::Deployment => self
                .deployments
                .iter()
                .find(|d| is(&d.metadata))
                .and_then(|d| serde_json::to_value(d).ok()),
            WorkloadKind::StatefulSet => self
                .statefulsets
                .iter()
                .find(|s| is(&s.metadata))
                .and_then(|s| serde_json::to_value(s).ok()),
            WorkloadKind::Pod => self
                .pods
                .iter()
                .find(|p| is(&p.metadata))
                .and_then(|p| serde_json::to_value(p).ok()),
        }
    }
}

/// Recognise every Prometheus instance in an inventory. Sorted by namespace, then name.
pub fn find_instances(inv: &Inventory) -> Vec<Instance> {
    let mut out: Vec<Instance> = Vec::new();
    // Operator StatefulSets are grouped by their Prometheus resource (one per shard).
    let mut operator: BTreeMap<(String, String), Vec<&StatefulSet>> = BTreeMap::new();
    for sts in &inv.statefulsets {
        let Some(spec) = sts.spec.as_ref() else {
            continue;
        };
        let Some(pod_spec) = spec.template.spec.as_ref() else {
            continue;
        };
        if prometheus_container(pod_spec).is_none() {
            continue;
        }
        if let Some(cr) = operator_owner(&sts.metadata) {
            operator
                .entry((ns_of(&sts.metadata), cr))
                .or_default()
                .push(sts);
            continue;
        }
        let workload = WorkloadRef::of_statefulset(sts);
        let claims = claim_templates(sts);
        if let Some(i) = build(
            inv,
            &sts.metadata,
            &spec.template.metadata,
            pod_spec,
            vec![workload],
            &spec.selector,
            &claims,
        ) {
            out.push(with_origin(i, sts));
        }
    }
    for ((_, cr), mut sets) in operator {
        sets.sort_by_key(|s| shard_of(s));
        let first = sets[0];
        let spec = first.spec.as_ref().expect("filtered above");
        let pod_spec = spec.template.spec.as_ref().expect("filtered above");
        let workloads: Vec<WorkloadRef> = sets
            .iter()
            .map(|s| WorkloadRef::of_statefulset(s))
            .collect();
        let mut claims = BTreeMap::new();
        for s in &sets {
            for (template, names) in claim_templates(s) {
                claims
                    .entry(template)
                    .or_insert_with(Vec::new)
                    .extend(names);
            }
        }
        // Pods of every shard: they all carry operator.prometheus.io/name=<cr>.
        let selector = LabelSelector {
            match_labels: Some(BTreeMap::from([(
                OPERATOR_NAME_LABEL.to_string(),
                cr.clone(),
            )])),
            ..Default::default()
        };
        if let Some(mut i) = build(
            inv,
            &first.metadata,
            &spec.template.metadata,
            pod_spec,
            workloads,
            &selector,
            &claims,
        ) {
            i.name = cr.clone();
            // The operator resource is what the verbs change and what Helm, Git or kubectl apply own.
            let resource = inv
                .prometheuses
                .iter()
                .find(|p| p.name == cr && p.namespace == i.namespace);
            i.origin = match resource {
                Some(p) => crate::install::recognise(
                    &p.object,
                    &format!("prometheus/{cr}"),
                    &i.image,
                    &i.container,
                ),
                None => Default::default(),
            };
            i.flavour = Flavour::Operator { prometheus: cr };
            out.push(i);
        }
    }
    // A `Prometheus` resource the operator could not render has no StatefulSet (the API server refused it, e.g. a
    // volumeMount naming a volume that does not exist; the operator then sets `Reconciled=False`). It is still an
    // instance — the operator's flavour with its workload absent — so that doctor reports why, not "no server".
    for p in &inv.prometheuses {
        let rendered = out.iter().any(|i| {
            i.namespace == p.namespace
                && matches!(&i.flavour, Flavour::Operator { prometheus } if *prometheus == p.name)
        });
        if !rendered {
            out.push(unrendered(p));
        }
    }
    for d in &inv.deployments {
        let Some(spec) = d.spec.as_ref() else {
            continue;
        };
        let Some(pod_spec) = spec.template.spec.as_ref() else {
            continue;
        };
        if prometheus_container(pod_spec).is_none() {
            continue;
        }
        let workload = WorkloadRef::of_deployment(d);
        if let Some(i) = build(
            inv,
            &d.metadata,
            &spec.template.metadata,
            pod_spec,
            vec![workload],
            &spec.selector,
            &BTreeMap::new(),
        ) {
            out.push(with_origin(i, d));
        }
    }
    // Bare pods: a Prometheus container and no controller.
    for p in &inv.pods {
        let Some(pod_spec) = p.spec.as_ref() else {
            continue;
        };
        if prometheus_container(pod_spec).is_none() {
            continue;
        }
        let controlled = p
            .metadata
            .owner_references
            .as_ref()
            .is_some_and(|o| o.iter().any(|o| o.controller == Some(true)));
        if controlled {
            continue;
        }
        let workload = WorkloadRef::of_pod(p);
        let selector = LabelSelector::default();
        if let Some(mut i) = build(
            inv,
            &p.metadata,
            &Some(p.metadata.clone()),
            pod_spec,
            vec![workload],
            &selector,
            &BTreeMap::new(),
        ) {
            set_pods(&mut i, vec![pod_ref(p)]);
            out.push(with_origin(i, p));
        }
    }
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

/// The instance of a `Prometheus` resource with no generated StatefulSet: no workloads and no pods; what is known
/// comes from its spec (the operator names the container `prometheus` and serves on 9090).
fn unrendered(p: &PrometheusResource) -> Instance {
    let spec = |k: &str| p.spec.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let prefix = spec("routePrefix").unwrap_or_default();
    let prefix = prefix.trim_end_matches('/');
    Instance {
        namespace: p.namespace.clone(),
        name: p.name.clone(),
        flavour: Flavour::Operator {
            prometheus: p.name.clone(),
        },
        workloads: Vec::new(),
        pods: Vec::new(),
        terminating: Vec::new(),
        container: "prometheus".to_string(),
        image: spec("image").unwrap_or_default(),
        args: Vec::new(),
        port: 9090,
        route_prefix: if prefix.is_empty() {
            "/".to_string()
        } else if prefix.starts_with('/') {
            prefix.to_string()
        } else {
            format!("/{prefix}")
        },
        data: None,
        config: None,
        sidecars: Vec::new(),
        origin: crate::install::recognise(
            &p.object,
            &format!("prometheus/{}", p.name),
            &spec("image").unwrap_or_default(),
            "prometheus",
        ),
        not_rendered: Some(
            crate::model::reconciled_false(&p.object)
                .map(|m| format!("the operator reports Reconciled=False: {m}"))
                .unwrap_or_else(|| "the operator has not created it".to_string()),
        ),
    }
}

/// Narrow instances to those a target names. `pod/NAME` keeps only that pod in the instance.
pub fn select(instances: &[Instance], target: &TargetRef) -> Vec<Instance> {
    instances
        .iter()
        .filter_map(|i| {
            let has_workload = |kind: WorkloadKind, name: &str| {
                i.workloads.iter().any(|w| w.kind == kind && w.name == name)
            };
            match target {
                TargetRef::Name(n) => {
                    let release =
                        matches!(&i.flavour, Flavour::Chart { release, .. } if release == n);
                    (i.name == *n || i.workloads.iter().any(|w| w.name == *n) || release)
                        .then(|| i.clone())
                }
                TargetRef::Deployment(n) => {
                    has_workload(WorkloadKind::Deployment, n).then(|| i.clone())
                }
                TargetRef::StatefulSet(n) => {
                    has_workload(WorkloadKind::StatefulSet, n).then(|| i.clone())
                }
                TargetRef::Prometheus(n) => {
                    matches!(&i.flavour, Flavour::Operator { prometheus } if prometheus == n)
                        .then(|| i.clone())
                }
                // A terminating pod named: its instance with no live pod, so a verb names it and acts on nothing.
                TargetRef::Pod(n) => i
                    .pods
                    .iter()
                    .chain(&i.terminating)
                    .find(|p| p.name == *n)
                    .map(|p| {
                        let mut one = i.clone();
                        (one.pods, one.terminating) = (Vec::new(), Vec::new());
                        set_pods(&mut one, vec![p.clone()]);
                        one
                    }),
            }
        })
        .collect()
}

fn operator_owner(meta: &ObjectMeta) -> Option<String> {
    let owned = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "Prometheus" && o.api_version.starts_with(OPERATOR_GROUP))
        .map(|o| o.name.clone());
    owned.or_else(|| meta.labels.as_ref()?.get(OPERATOR_NAME_LABEL).cloned())
}

fn shard_of(sts: &StatefulSet) -> i64 {
    sts.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("operator.prometheus.io/shard"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// template name → PVC names `<template>-<sts>-<ordinal>` (the StatefulSet controller's naming).
fn claim_templates(sts: &StatefulSet) -> BTreeMap<String, Vec<String>> {
    let name = name_of(&sts.metadata);
    let spec = sts.spec.as_ref();
    let replicas = spec.and_then(|s| s.replicas).unwrap_or(1).max(0);
    let start = spec
        .and_then(|s| s.ordinals.as_ref())
        .and_then(|o| o.start)
        .unwrap_or(0);
    spec.and_then(|s| s.volume_claim_templates.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|t| t.metadata.name.clone())
        .map(|t| {
            let claims = (start..start + replicas)
                .map(|i| format!("{t}-{name}-{i}"))
                .collect();
            (t, claims)
        })
        .collect()
}

fn build(
    inv: &Inventory,
    meta: &ObjectMeta,
    template: &Option<ObjectMeta>,
    pod_spec: &PodSpec,
    workloads: Vec<WorkloadRef>,
    selector: &LabelSelector,
    claim_templates: &BTreeMap<String, Vec<String>>,
) -> Option<Instance> {
    let c = prometheus_container(pod_spec)?;
    let namespace = ns_of(meta);
    let args = all_args(c);
    let port = flag_value(&args, "web.listen-address")
        .and_then(|addr| addr.rsplit(':').next().and_then(|p| p.parse().ok()))
        .or_else(|| {
            let ports = c.ports.as_ref()?;
            let named = ports
                .iter()
                .find(|p| matches!(p.name.as_deref(), Some("web" | "http" | "http-web")));
            named.or(ports.first()).map(|p| p.container_port as u16)
        })
        .unwrap_or(9090);
    let data = data_volume(c, pod_spec, claim_templates);
    let config = config_volume(c, pod_spec);
    let pods: Vec<PodRef> =
        if selector.match_labels.is_none() && selector.match_expressions.is_none() {
            Vec::new()
        } else {
            inv.pods
                .iter()
                .filter(|p| {
                    ns_of(&p.metadata) == namespace
                        && selector_matches(selector, p.metadata.labels.as_ref())
                })
                .map(pod_ref)
                .collect()
        };
    let mut instance = Instance {
        name: workloads
            .first()
            .map(|w| w.name.clone())
            .unwrap_or_default(),
        flavour: chart_flavour(meta, template).unwrap_or(Flavour::Plain),
        namespace,
        workloads,
        pods: Vec::new(),
        terminating: Vec::new(),
        container: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        route_prefix: route_prefix(&args),
        args,
        port,
        data,
        config,
        sidecars: pod_spec
            .containers
            .iter()
            .filter(|o| o.name != c.name)
            .map(|o| o.name.clone())
            .collect(),
        origin: Default::default(),
        not_rendered: None,
    };
    set_pods(&mut instance, pods);
    Some(instance)
}

/// The one rule for which pods are the server: a pod with `metadata.deletionTimestamp` is shutting down (kubernetes
/// pkg/controller/controller_utils.go `IsPodActive`; a finished rollout no longer waits for it) and goes to
/// [`Instance::terminating`], named but never read or changed as the server; the rest are [`Instance::pods`].
fn set_pods(i: &mut Instance, mut pods: Vec<PodRef>) {
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    (i.terminating, i.pods) = pods.into_iter().partition(|p| p.terminating);
}

/// The instance with the origin of the workload it was built from (`src/install/`).
fn with_origin<T: serde::Serialize>(mut i: Instance, object: &T) -> Instance {
    let object = serde_json::to_value(object).unwrap_or_default();
    let name = i
        .workloads
        .first()
        .map(WorkloadRef::display)
        .unwrap_or_default();
    i.origin = crate::install::recognise(&object, &name, &i.image, &i.container);
    // The chart's label shape made it a chart install: when nothing else names a source, its release is the one.
    if let (Flavour::Chart { release, .. }, crate::install::Source::Unknown) =
        (&i.flavour, &i.origin.source)
        && !release.is_empty()
    {
        i.origin.source = crate::install::Source::Helm {
            release: release.clone(),
            namespace: i.namespace.clone(),
            chart: None,
        };
    }
    i
}

/// The mount whose mountPath contains `path` (longest match), and its volume.
/// Kubernetes label selector semantics (matchLabels AND matchExpressions In/NotIn/Exists/DoesNotExist).
pub fn selector_matches(
    selector: &LabelSelector,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    let labels_ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&e.key),
            "DoesNotExist" => !labels.contains_key(&e.key),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

fn pod_ref(p: &Pod) -> PodRef {
    let status = p.status.as_ref();
    PodRef {
        name: name_of(&p.metadata),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".into()),
        ready: status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True")),
        terminating: p.metadata.deletion_timestamp.is_some(),
    }
}

fn name_of(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

pub(crate) fn ns_of(meta: &ObjectMeta) -> String {
    meta.namespace.clone().unwrap_or_else(|| "default".into())
}
