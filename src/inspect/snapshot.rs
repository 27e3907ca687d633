//! What a verb knows about the cluster before it decides: a plain data struct per Prometheus instance (objects,
//! logs, events, volume usage, live Prometheus answers, and what could not be read). Filled by `gather` (doctor's
//! scope-wide read), `instance` (one instance, what a changing verb needs) or `dump` (offline); read by doctor's
//! checks and resize's planner. No I/O here.

pub use super::usage::VolumeUsage;
use crate::discover::{Instance, Inventory, PrometheusResource};
use crate::logscan::{self, Hit, Kind};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerStatus, Endpoints, Event, PersistentVolume,
    PersistentVolumeClaim, Pod, PodSpec, Service,
};
use k8s_openapi::api::storage::v1::{CSIDriver, StorageClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use std::collections::BTreeMap;

/// Everything read, for every instance in scope.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub instances: Vec<InstanceSnapshot>,
    /// Where the data came from: `namespace monitoring`, `all namespaces`, `dump ./dir`.
    pub source: String,
}

/// One instance and everything around it.
#[derive(Debug, Clone)]
pub struct InstanceSnapshot {
    pub instance: Instance,
    pub deployments: Vec<Deployment>,
    pub statefulsets: Vec<StatefulSet>,
    /// The operator's `Prometheus` resource, as JSON.
    pub prometheus: Option<serde_json::Value>,
    pub pods: Vec<Pod>,
    pub logs: Vec<ContainerLog>,
    /// Events about the workloads, pods and PVCs of this instance.
    pub events: Vec<Event>,
    /// Services whose selector matches the instance's pods.
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoints>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub pvs: Vec<PersistentVolume>,
    pub storage_classes: Vec<StorageClass>,
    pub usage: Vec<VolumeUsage>,
    /// Usage of a claim measured with `df` in its container, by claim name, where the kubelet gave no row (resize's
    /// gather only: doctor reads the kubelet alone).
    pub df_usage: BTreeMap<String, super::usage::Usage>,
    /// One per pod that was asked.
    pub live: Vec<LiveStatus>,
    /// Data that could not be read, and why.
    pub gaps: Vec<Gap>,
    /// The configuration file as the ConfigMap holds it now (what the next start or reload will load).
    pub config_text: Option<String>,
    /// When that ConfigMap last changed (its newest managedFields time, else its creation), RFC 3339.
    pub config_changed: Option<String>,
    /// Where `config_text` (or `generated_config`) comes from, kubectl style (`configmap/NAME key K`,
    /// `secret/NAME key prometheus.yaml.gz`).
    pub config_from: Option<String>,
    /// The operator's generated configuration (its Secret, gunzipped): compared by drift only — it is not the user's
    /// file, so the key checks of `config_text` do not apply to it.
    pub generated_config: Option<String>,
    /// The ConfigMaps mounted in the Prometheus container that were read: the configuration's and the rule files'
    /// (chart: the server ConfigMap; operator: `prometheus-<name>-rulefiles-N`), for rule-file drift (issue 19).
    pub config_maps: Vec<ConfigMap>,
    /// The `CSIDriver` objects of the data volumes' drivers (their fsGroupPolicy), read by `inspect::perms` for
    /// fix-perms; none read is the kubelet's default policy.
    pub csi_drivers: Vec<CSIDriver>,
    /// The data directory's owner and mode (`stat` in a running container), read by `inspect::perms` for fix-perms.
    pub data_root: Option<super::perms::VolumeRoot>,
}

/// A container's log, current or previous (bounded tail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLog {
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub text: String,
}

/// What one pod's Prometheus answered over HTTP. Each field is `None` when that endpoint did not answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveStatus {
    pub pod: String,
    /// How it was reached (`pod proxy`, `exec wget`).
    pub via: String,
    /// `/api/v1/status/flags` → `data`.
    pub flags: Option<BTreeMap<String, String>>,
    /// `/api/v1/status/runtimeinfo` → `data`.
    pub runtimeinfo: Option<serde_json::Value>,
    /// `/api/v1/status/buildinfo` → `data`.
    pub buildinfo: Option<serde_json::Value>,
    /// `/api/v1/targets?state=active` → `data`.
    pub targets: Option<serde_json::Value>,
    /// `/api/v1/status/tsdb` → `data` (head series, top series by metric name).
    pub tsdb: Option<serde_json::Value>,
    /// Samples appended per second over the last hour (`rate(prometheus_tsdb_head_samples_appended_total[1h])`).
    pub ingestion_rate: Option<f64>,
    /// `/api/v1/status/config` → `data.yaml`: the configuration it runs (issue 19, drift).
    pub config_yaml: Option<String>,
    /// `/api/v1/features` → `data` (Prometheus 3.9+; 404 before): lifecycle and auto-reload state.
    pub features: Option<serde_json::Value>,
    /// `/api/v1/rules?exclude_alerts=true` → `data`: the rule groups it runs (issue 19, rule-file drift).
    pub rules: Option<serde_json::Value>,
    /// When doctor asked (its own clock, RFC 3339): "now" for servers whose runtimeinfo has no `serverTime` (2.x).
    pub asked_at: Option<String>,
    /// Why Prometheus did not answer, when it did not.
    pub error: Option<String>,
}

/// Data that could not be read: what was asked, and who answered what. A gap is never a finding about Prometheus:
/// the checks that needed the data say "unknown" (PROM-900), whatever the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub data: Data,
    /// The API's answer, e.g. `forbidden: User "dev" cannot list resource "events"`, or
    /// `the API server answered 503 ServiceUnavailable: …`, or `no answer came back: connection reset`.
    pub reason: String,
    /// The request that was not answered (`GET /api/v1/namespaces/monitoring/events`); `None` when nothing was asked
    /// (a dump has no live data).
    pub request: Option<String>,
    /// The API server's status code; `None` when no answer came back (a dropped connection) or nothing was asked.
    pub status: Option<u16>,
}

impl Gap {
    /// A failed request: the API server's `Status` (its code and words), or the transport error when no answer came.
    pub fn from_kube(data: Data, request: impl Into<String>, err: &kube::Error) -> Gap {
        let (reason, status) = match err {
            // Permission answers keep the API's own sentence: it names the verb and resource to ask for.
            kube::Error::Api(s) if s.code == 401 || s.code == 403 => {
                (format!("{} ({})", s.message, s.code), Some(s.code))
            }
            kube::Error::Api(s) => (
                format!(
                    "the API server answered {} {}: {}",
                    s.code,
                    if s.reason.is_empty() {
                        "(no reason)"
                    } else {
                        &s.reason
                    },
                    s.message
                ),
                Some(s.code),
            ),
            other => (
                format!(
                    "no answer came back from the API server: {}",
                    crate::error::short_kube_error(other)
                ),
                None,
            ),
        };
        Gap {
            data,
            reason,
            request: Some(request.into()),
            status,
        }
    }

    /// Data that is not there to read (a dump), with why.
    pub fn absent(data: Data, reason: impl Into<String>) -> Gap {
        Gap {
            data,
            reason: reason.into(),
            request: None,
            status: None,
        }
    }

    /// Whether the API server refused it for lack of permission (401/403): only then is access the fix.
    pub fn is_permission(&self) -> bool {
        matches!(self.status, Some(401 | 403))
    }
}

/// A kind of data the gatherer reads; a check that needs data it could not read says so (PROM-900).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Data {
    Pods,
    Logs,
    Events,
    Services,
    Endpoints,
    Pvcs,
    StorageClasses,
    VolumeStats,
    PrometheusApi,
    ConfigMaps,
    /// The operator's generated configuration Secret (`prometheus.yaml.gz`), read for drift (issue 19).
    Secrets,
    /// The `CSIDriver` objects (cluster-scoped), read by fix-perms for the data volume's fsGroupPolicy.
    CsiDrivers,
}

impl Data {
    /// The `kubectl auth can-i` question that checks access to it.
    pub fn can_i(self, namespace: &str) -> String {
        let q = match self {
            Data::Pods => format!("list pods -n {namespace}"),
            Data::Logs => format!("get pods/log -n {namespace}"),
            Data::Events => format!("list events -n {namespace}"),
            Data::Services => format!("list services -n {namespace}"),
            Data::Endpoints => format!("list endpoints -n {namespace}"),
            Data::Pvcs => "get persistentvolumes".to_string(),
            Data::StorageClasses => "get storageclasses".to_string(),
            Data::VolumeStats => "get nodes/proxy".to_string(),
            Data::PrometheusApi => format!("get pods/proxy -n {namespace}"),
            Data::ConfigMaps => format!("get configmaps -n {namespace}"),
            Data::Secrets => format!("get secrets -n {namespace}"),
            Data::CsiDrivers => "list csidrivers.storage.k8s.io".to_string(),
        };
        format!("kubectl auth can-i {q}")
    }

    /// What it is, in the words of `kubectl auth can-i`.
    pub fn describe(self) -> &'static str {
        match self {
            Data::Pods => "pods",
            Data::Logs => "pods/log",
            Data::Events => "events",
            Data::Services => "services",
            Data::Endpoints => "endpoints",
            Data::Pvcs => "persistentvolumeclaims and persistentvolumes",
            Data::StorageClasses => "storageclasses",
            Data::VolumeStats => "nodes/proxy (kubelet volume stats)",
            Data::PrometheusApi => "the Prometheus HTTP API (pods/proxy)",
            Data::ConfigMaps => "configmaps (the Prometheus configuration)",
            Data::Secrets => "secrets (the operator's generated configuration)",
            Data::CsiDrivers => "csidrivers (the data volume's fsGroupPolicy)",
        }
    }
}

impl InstanceSnapshot {
    /// An instance with nothing gathered yet.
    pub fn new(instance: Instance) -> Self {
        InstanceSnapshot {
            instance,
            deployments: Vec::new(),
            statefulsets: Vec::new(),
            prometheus: None,
            pods: Vec::new(),
            logs: Vec::new(),
            events: Vec::new(),
            services: Vec::new(),
            endpoints: Vec::new(),
            pvcs: Vec::new(),
            pvs: Vec::new(),
            storage_classes: Vec::new(),
            usage: Vec::new(),
            df_usage: BTreeMap::new(),
            live: Vec::new(),
            gaps: Vec::new(),
            config_text: None,
            config_changed: None,
            config_from: None,
            generated_config: None,
            config_maps: Vec::new(),
            csi_drivers: Vec::new(),
            data_root: None,
        }
    }

    /// `monitoring/prometheus-server`.
    pub fn display(&self) -> String {
        format!("{}/{}", self.instance.namespace, self.instance.name)
    }

    /// The argument that names the instance for the other verbs (`deploy/x`, `prometheus/x`).
    pub fn target(&self) -> String {
        crate::discover::target_arg(&self.instance)
    }

    /// `kubectl prom VERB TARGET -n NS`, the shape of most fixes.
    pub fn prom_command(&self, verb_and_flags: &str) -> String {
        let (verb, flags) = verb_and_flags
            .split_once(' ')
            .unwrap_or((verb_and_flags, ""));
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" {flags}")
        };
        format!(
            "kubectl prom {verb} {} -n {}{flags}",
            self.target(),
            self.instance.namespace
        )
    }

    /// The pod spec as the workload declares it (template), else the first pod's.
    pub fn pod_spec(&self) -> Option<&PodSpec> {
        self.deployments
            .iter()
            .filter_map(|d| d.spec.as_ref()?.template.spec.as_ref())
            .chain(
                self.statefulsets
                    .iter()
                    .filter_map(|s| s.spec.as_ref()?.template.spec.as_ref()),
            )
            .chain(self.pods.iter().filter_map(|p| p.spec.as_ref()))
            .next()
    }

    /// The Prometheus container in the pod spec.
    pub fn prometheus_container(&self) -> Option<&Container> {
        self.pod_spec()?
            .containers
            .iter()
            .find(|c| c.name == self.instance.container)
    }

    /// The reload sidecar's container name, if there is one (chart `*-configmap-reload`, operator `config-reloader`).
    pub fn reloader(&self) -> Option<&Container> {
        self.pod_spec()?.containers.iter().find(|c| {
            c.name != self.instance.container
                && (c.name.contains("reload")
                    || c.image.as_deref().is_some_and(|i| i.contains("reload")))
        })
    }

    /// Container statuses of the Prometheus container, with their pod name.
    pub fn prometheus_statuses(&self) -> Vec<(&str, &ContainerStatus)> {
        self.pods
            .iter()
            .filter_map(|p| {
                let name = p.metadata.name.as_deref()?;
                let st = p.status.as_ref()?.container_statuses.as_ref()?;
                st.iter()
                    .find(|s| s.name == self.instance.container)
                    .map(|s| (name, s))
            })
            .collect()
    }

    /// Whether the Prometheus container of this pod is ready right now.
    pub fn container_ready(&self, pod: &str) -> bool {
        self.prometheus_statuses()
            .iter()
            .any(|(p, s)| *p == pod && s.ready)
    }

    /// Log hits of the Prometheus container that describe the present: the current log always, the previous log
    /// only while the container is not ready again (an old crash that has since recovered is history).
    pub fn prometheus_hits(&self) -> Vec<(&ContainerLog, Hit)> {
        self.hits_of(&self.instance.container)
    }

    /// Log hits of the reload sidecar, same rule as [`Self::prometheus_hits`].
    pub fn reloader_hits(&self) -> Vec<(&ContainerLog, Hit)> {
        match self.reloader() {
            Some(c) => self.hits_of(&c.name),
            None => Vec::new(),
        }
    }

    fn hits_of(&self, container: &str) -> Vec<(&ContainerLog, Hit)> {
        self.logs
            .iter()
            .filter(|l| l.container == container)
            .filter(|l| !l.previous || !self.container_ready(&l.pod))
            .flat_map(|l| logscan::scan(&l.text).into_iter().map(move |h| (l, h)))
            .collect()
    }

    /// The first present hit of one kind, with its pod.
    pub fn first_hit(&self, kind: Kind) -> Option<(&ContainerLog, Hit)> {
        self.prometheus_hits()
            .into_iter()
            .find(|(_, h)| h.kind == kind)
    }

    /// A live flag value from any pod that answered (`web.enable-lifecycle` → `"true"`).
    pub fn live_flag(&self, name: &str) -> Option<(&str, &str)> {
        self.live.iter().find_map(|l| {
            l.flags
                .as_ref()?
                .get(name)
                .map(|v| (l.pod.as_str(), v.as_str()))
        })
    }

    /// The Prometheus version from buildinfo (`2.42.0`), or from the image tag.
    pub fn version(&self) -> Option<(u32, u32)> {
        let from_build = self.live.iter().find_map(|l| {
            l.buildinfo
                .as_ref()?
                .get("version")?
                .as_str()
                .map(str::to_string)
        });
        let text = from_build.or_else(|| {
            let image = &self.instance.image;
            image.rsplit_once(':').map(|(_, tag)| tag.to_string())
        })?;
        parse_version(&text)
    }

    /// Whether data of this kind could not be read.
    pub fn missing(&self, data: Data) -> bool {
        self.gaps.iter().any(|g| g.data == data)
    }
}

/// Everything read before it is sorted out per instance: what `gather` lists live, or what `dump` loads from files.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    /// Deployments, StatefulSets, Pods and `Prometheus` resources (the input of discovery).
    pub inventory: Inventory,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoints>,
    pub events: Vec<Event>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub pvs: Vec<PersistentVolume>,
    pub storage_classes: Vec<StorageClass>,
    pub csi_drivers: Vec<CSIDriver>,
    pub config_maps: Vec<ConfigMap>,
    pub logs: Vec<ContainerLog>,
    pub usage: Vec<VolumeUsage>,
    pub live: Vec<LiveStatus>,
    /// Data that could not be read; `None` namespace means cluster-wide (applies to every instance).
    pub gaps: Vec<(Option<String>, Gap)>,
    /// The operator's generated configurations, decoded from their Secrets (issue 19, drift).
    pub generated_configs: Vec<GeneratedConfig>,
}

/// One operator-generated configuration: Secret `name` key `key` in `namespace`, gunzipped, and when the Secret last
/// changed. Kept as text only for the comparison; never printed (it holds credentials).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeneratedConfig {
    pub namespace: String,
    pub name: String,
    pub key: String,
    pub text: String,
    pub changed: Option<String>,
}

impl Objects {
    /// Add one API object (as JSON) by its `kind`; a `List` or `*List` adds its items. Unknown kinds are ignored.
    pub fn add(&mut self, value: serde_json::Value) -> Result<(), serde_json::Error> {
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
        if kind == "List" || kind.ends_with("List") {
            if let Some(serde_json::Value::Array(items)) = value.get("items") {
                let item_kind = kind.strip_suffix("List").unwrap_or_default().to_string();
                for mut item in items.clone() {
                    // Typed lists (`PodList`) omit each item's kind; restore it.
                    if item.get("kind").is_none()
                        && !item_kind.is_empty()
                        && let Some(map) = item.as_object_mut()
                    {
                        map.insert("kind".into(), serde_json::Value::String(item_kind.clone()));
                    }
                    self.add(item)?;
                }
            }
            return Ok(());
        }
        let inv = &mut self.inventory;
        match kind.as_str() {
            "Deployment" => inv.deployments.push(serde_json::from_value(value)?),
            "StatefulSet" => inv.statefulsets.push(serde_json::from_value(value)?),
            "Pod" => inv.pods.push(serde_json::from_value(value)?),
            "Prometheus" => inv
                .prometheuses
                .push(PrometheusResource::from_object(value)),
            "Service" => self.services.push(serde_json::from_value(value)?),
            "Endpoints" => self.endpoints.push(serde_json::from_value(value)?),
            "Event" => self.events.push(serde_json::from_value(value)?),
            "PersistentVolumeClaim" => self.pvcs.push(serde_json::from_value(value)?),
            "PersistentVolume" => self.pvs.push(serde_json::from_value(value)?),
            "StorageClass" => self.storage_classes.push(serde_json::from_value(value)?),
            "ConfigMap" => self.config_maps.push(serde_json::from_value(value)?),
            "CSIDriver" => self.csi_drivers.push(serde_json::from_value(value)?),
            _ => {}
        }
        Ok(())
    }

    /// Objects from YAML (one or more documents) or JSON text, as `kubectl get -o yaml|json` writes them.
    pub fn add_text(&mut self, text: &str) -> Result<(), String> {
        let docs: Vec<serde_json::Value> =
            crate::yaml::documents(text).map_err(|e| e.to_string())?;
        for value in docs {
            if value.is_null() {
                continue;
            }
            self.add(value).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Shorthand for tests and fixtures: objects from one YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        let mut objects = Objects::default();
        objects.add_text(text)?;
        Ok(objects)
    }
}

/// Recognise the instances (discovery's pure half) and give each the objects that concern it.
pub fn assemble(objects: &Objects) -> Vec<InstanceSnapshot> {
    crate::discover::find_instances(&objects.inventory)
        .into_iter()
        .map(|instance| assemble_one(objects, instance))
        .collect()
}

/// Give one already-discovered instance the objects that concern it.
pub fn assemble_one(objects: &Objects, instance: Instance) -> InstanceSnapshot {
    let ns = instance.namespace.clone();
    let in_ns = |meta: &ObjectMeta| meta.namespace.as_deref().unwrap_or("default") == ns;
    let named = |meta: &ObjectMeta, names: &[String]| {
        in_ns(meta) && meta.name.as_ref().is_some_and(|n| names.contains(n))
    };
    let workload_names: Vec<String> = instance.workloads.iter().map(|w| w.name.clone()).collect();
    let pod_names: Vec<String> = instance.pods.iter().map(|p| p.name.clone()).collect();
    let claims: Vec<String> = instance
        .data
        .as_ref()
        .map(|d| d.claims())
        .unwrap_or_default();
    // The instance's own workloads, pods and Prometheus resource: discovery's one rule for what belongs to it.
    let own = crate::discover::Discovered::of(&objects.inventory, instance.clone());
    let mut s = InstanceSnapshot::new(instance.clone());
    s.deployments = own.deployments;
    s.statefulsets = own.statefulsets;
    s.pods = own.pods;
    s.prometheus = own.prometheus_resource.map(|p| p.object);
    // Labels the instance's pods carry (or would carry: the template's, when no pod exists yet).
    let mut label_sets: Vec<BTreeMap<String, String>> = s
        .pods
        .iter()
        .filter_map(|p| p.metadata.labels.clone())
        .collect();
    label_sets.extend(
        s.deployments
            .iter()
            .filter_map(|d| d.spec.as_ref()?.template.metadata.as_ref()?.labels.clone()),
    );
    label_sets.extend(
        s.statefulsets
            .iter()
            .filter_map(|d| d.spec.as_ref()?.template.metadata.as_ref()?.labels.clone()),
    );
    s.services = objects
        .services
        .iter()
        .filter(|svc| {
            let selector = svc
                .spec
                .as_ref()
                .and_then(|sp| sp.selector.as_ref())
                .filter(|sel| !sel.is_empty());
            in_ns(&svc.metadata)
                && selector.is_some_and(|sel| {
                    label_sets
                        .iter()
                        .any(|l| sel.iter().all(|(k, v)| l.get(k) == Some(v)))
                })
        })
        .cloned()
        .collect();
    let service_names: Vec<String> = s
        .services
        .iter()
        .filter_map(|x| x.metadata.name.clone())
        .collect();
    s.endpoints = objects
        .endpoints
        .iter()
        .filter(|e| named(&e.metadata, &service_names))
        .cloned()
        .collect();
    s.pvcs = objects
        .pvcs
        .iter()
        .filter(|p| named(&p.metadata, &claims))
        .cloned()
        .collect();
    let volume_names: Vec<String> = s
        .pvcs
        .iter()
        .filter_map(|p| p.spec.as_ref()?.volume_name.clone())
        .collect();
    s.pvs = objects
        .pvs
        .iter()
        .filter(|pv| {
            pv.metadata
                .name
                .as_ref()
                .is_some_and(|n| volume_names.contains(n))
        })
        .cloned()
        .collect();
    s.csi_drivers = super::perms::drivers_of(&s.pvs, &objects.csi_drivers);
    let class_names: Vec<String> = s
        .pvcs
        .iter()
        .filter_map(|p| p.spec.as_ref()?.storage_class_name.clone())
        .collect();
    s.storage_classes = objects
        .storage_classes
        .iter()
        .filter(|sc| {
            sc.metadata
                .name
                .as_ref()
                .is_some_and(|n| class_names.contains(n))
        })
        .cloned()
        .collect();
    let mut involved = workload_names.clone();
    involved.extend(pod_names.iter().cloned());
    involved.extend(claims.iter().cloned());
    involved.push(instance.name.clone());
    s.events = objects
        .events
        .iter()
        .filter(|e| {
            e.involved_object.namespace.as_deref().unwrap_or(&ns) == ns
                && e.involved_object
                    .name
                    .as_ref()
                    .is_some_and(|n| involved.contains(n))
        })
        .cloned()
        .collect();
    s.logs = objects
        .logs
        .iter()
        .filter(|l| pod_names.contains(&l.pod))
        .cloned()
        .collect();
    s.logs.extend(termination_messages(&s.pods, &s.logs));
    if let Some(crate::discover::ConfigSource::ConfigMap { name, key }) =
        instance.config.as_ref().map(|c| &c.source)
    {
        let cm = objects
            .config_maps
            .iter()
            .find(|cm| in_ns(&cm.metadata) && cm.metadata.name.as_deref() == Some(name.as_str()));
        s.config_text = cm.and_then(|cm| cm.data.as_ref()?.get(key).cloned());
        s.config_from = Some(format!("configmap/{name} key {key}"));
        s.config_changed = cm.and_then(|cm| last_changed(&cm.metadata));
    }
    // The operator's generated configuration (issue 19, drift): the Secret its config reloader reads.
    if let Some((secret, key)) = s
        .pod_spec()
        .and_then(crate::model::volume::generated_config_source)
        && let Some(g) = objects
            .generated_configs
            .iter()
            .find(|g| g.namespace == ns && g.name == secret && g.key == key)
    {
        s.generated_config = Some(g.text.clone());
        s.config_changed = g.changed.clone();
        s.config_from = Some(format!("secret/{secret} key {key}"));
    }
    // Every ConfigMap mounted in the Prometheus container that was read (rule-file drift resolves its globs there).
    let mounted: Vec<String> = s
        .pod_spec()
        .map(|spec| {
            spec.volumes
                .iter()
                .flatten()
                .filter_map(|v| v.config_map.as_ref().map(|c| c.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    s.config_maps = objects
        .config_maps
        .iter()
        .filter(|cm| named(&cm.metadata, &mounted))
        .cloned()
        .collect();
    s.usage = objects
        .usage
        .iter()
        .filter(|u| pod_names.contains(&u.pod))
        .cloned()
        .collect();
    s.live = objects
        .live
        .iter()
        .filter(|l| pod_names.contains(&l.pod))
        .cloned()
        .collect();
    s.gaps = objects
        .gaps
        .iter()
        .filter(|(gns, _)| gns.as_deref().is_none_or(|g| g == ns))
        .map(|(_, g)| g.clone())
        .collect();
    s
}

/// When an object last changed: its newest managedFields time, else its creation (RFC 3339).
pub fn last_changed(m: &ObjectMeta) -> Option<String> {
    m.managed_fields
        .iter()
        .flatten()
        .filter_map(|f| f.time.as_ref().map(|t| t.0))
        .max()
        .or(m.creation_timestamp.as_ref().map(|t| t.0))
        .map(|t| t.to_string())
}

/// The last termination message of each container whose previous log was not read (logs forbidden, or already
/// rotated away), as a previous-run log: with `terminationMessagePolicy: FallbackToLogsOnError` (the operator's
/// setting, prometheus-facts.md §2.6) it holds the tail of the crashed run's log.
fn termination_messages(pods: &[Pod], read: &[ContainerLog]) -> Vec<ContainerLog> {
    let mut out = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref());
        for st in statuses.into_iter().flatten() {
            let message = st
                .last_state
                .as_ref()
                .and_then(|l| l.terminated.as_ref())
                .and_then(|t| t.message.clone())
                .filter(|m| !m.trim().is_empty());
            let have = read
                .iter()
                .any(|l| l.pod == name && l.container == st.name && l.previous);
            if let Some(text) = message
                && !have
            {
                out.push(ContainerLog {
                    pod: name.clone(),
                    container: st.name.clone(),
                    previous: true,
                    text,
                });
            }
        }
    }
    out
}

/// `v2.42.0`, `2.42.0+ds`, `v3.14.0-distroless` → (major, minor).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let t = text.trim_start_matches('v');
    let mut parts = t.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_tags_and_buildinfo() {
        assert_eq!(parse_version("v2.42.0"), Some((2, 42)));
        assert_eq!(parse_version("2.42.0+ds"), Some((2, 42)));
        assert_eq!(parse_version("v3.14.0-distroless"), Some((3, 14)));
        assert_eq!(parse_version("latest"), None);
    }
}
