//! The only I/O of `doctor` against a live cluster: discover the instances, then read everything the checks need —
//! once, concurrently, by name or label (never every pod of the cluster) — into a [`Snapshot`]. Anything the user
//! may not read becomes a [`Gap`] and the rest is still gathered.

use crate::context::{Ctx, Scope};
use crate::discover::{self, Instance};
use crate::error::{Error, Result};
use crate::inspect::snapshot::Data;
use crate::inspect::snapshot::{ContainerLog, Gap, LiveStatus, Objects, Snapshot, assemble_one};
use crate::prom_http::PromPod;
use futures::future::join_all;
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Event, PersistentVolume, PersistentVolumeClaim, Pod, Service,
};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams, LogParams};
use std::collections::BTreeSet;
use std::time::Duration;

/// How many log lines per container: enough for a Go crash header plus its first goroutine (the SIGBUS check looks
/// 40 lines past the header), small enough to stay quick.
const LOG_TAIL: i64 = 500;
/// A crash-looping pod's proxy or exec can hang; never wait longer than this for one pod's Prometheus.
const LIVE_TIMEOUT: Duration = Duration::from_secs(15);

/// A failed read as a gap naming the request: the reason is the API's own words, or the transport error.
fn gap(data: Data, request: impl Into<String>, err: &kube::Error) -> Gap {
    Gap::from_kube(data, request, err)
}

/// Whether a failed read is an answer about the object rather than a failure to read it: `404` (it is not there, or
/// went away since it was listed) and `400` (a log that does not exist yet: no previous container, not started).
/// Everything else — 401/403, a 5xx, a dropped connection — leaves the data unread, which is a gap.
fn answered(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 404 || s.code == 400)
}

/// Read everything about the instances in scope (narrowed by `target`).
pub async fn gather(ctx: &Ctx, target: Option<&str>) -> Result<Snapshot> {
    let client = &ctx.client;
    let parsed = target.map(discover::parse_target).transpose()?;
    let mut inventory = discover::gather(client, &ctx.settings.scope).await?;
    if let Some(t) = &parsed {
        discover::include_named_pod(client, &ctx.settings.scope, t, &mut inventory).await?;
    }
    let mut instances = discover::find_instances(&inventory);
    if instances.is_empty()
        && let Scope::Namespace(ns) = &ctx.settings.scope
        && let Some(existing) = namespaces_if_missing(client, ns).await
    {
        return Err(missing_namespace(ns, &existing));
    }
    if let (Some(t), Some(parsed)) = (target, parsed) {
        // The names that are there, so a typo gets its near name (issue 9), as discover::resolve_one does.
        let found: Vec<String> = instances.iter().map(discover::target_arg).collect();
        instances = discover::select(&instances, &parsed);
        if instances.is_empty() {
            return Err(Error::Target {
                message: format!(
                    "no Prometheus server matches `{t}` in {}",
                    scope_text(&ctx.settings.scope)
                ),
                hint: Some(if found.is_empty() {
                    "run `kubectl prom doctor` without a target to list what is there, or add -A"
                        .into()
                } else {
                    format!("found instead: {}", found.join(", "))
                }),
            });
        }
    }
    // The Helm release record, where the user may read it: which chart and version (src/install/, issue 18).
    let mut origins: Vec<&mut crate::install::Origin> =
        instances.iter_mut().map(|i| &mut i.origin).collect();
    crate::install::read_release_records(client, &mut origins).await;
    let mut objects = Objects {
        inventory,
        ..Default::default()
    };
    let namespaces: BTreeSet<String> = instances.iter().map(|i| i.namespace.clone()).collect();
    ctx.printer.debug(&format!(
        "doctor: {} instance(s) in {} namespace(s)",
        instances.len(),
        namespaces.len()
    ));

    // Namespaced lists, all namespaces at once.
    let per_ns = join_all(namespaces.iter().map(|ns| list_namespace(client, ns))).await;
    for (ns, part) in namespaces.iter().zip(per_ns) {
        objects.services.extend(part.services);
        objects.endpoints.extend(part.endpoints);
        objects.events.extend(part.events);
        objects.pvcs.extend(part.pvcs);
        objects
            .gaps
            .extend(part.gaps.into_iter().map(|g| (Some(ns.clone()), g)));
    }

    // By name: the PVs and classes of the data PVCs, the logs and the kubelet stats of the instances' pods, and
    // Prometheus itself.
    let pv_names: BTreeSet<String> = objects
        .pvcs
        .iter()
        .filter_map(|p| p.spec.as_ref()?.volume_name.clone())
        .collect();
    let class_names: BTreeSet<String> = objects
        .pvcs
        .iter()
        .filter_map(|p| p.spec.as_ref()?.storage_class_name.clone())
        .collect();
    let pods: Vec<(&Instance, &Pod)> = instances
        .iter()
        .flat_map(|i| {
            objects
                .inventory
                .pods
                .iter()
                .filter(move |p| {
                    p.metadata.namespace.as_deref() == Some(i.namespace.as_str())
                        && i.pods
                            .iter()
                            .any(|r| Some(r.name.as_str()) == p.metadata.name.as_deref())
                })
                .map(move |p| (i, p))
        })
        .collect();
    let nodes: BTreeSet<String> = pods
        .iter()
        .filter_map(|(_, p)| p.spec.as_ref()?.node_name.clone())
        .collect();
    let mut config_maps: BTreeSet<(String, String)> = instances
        .iter()
        .filter_map(|i| match i.config.as_ref().map(|c| &c.source) {
            Some(discover::ConfigSource::ConfigMap { name, .. }) => {
                Some((i.namespace.clone(), name.clone()))
            }
            _ => None,
        })
        .collect();
    // The other ConfigMaps the Prometheus container mounts: where its rule files come from (issue 19, rule-file
    // drift; the operator's `prometheus-<name>-rulefiles-N`). Read by name, only those mounted.
    for (i, p) in &pods {
        let Some(spec) = p.spec.as_ref() else {
            continue;
        };
        let Some(c) = spec.containers.iter().find(|c| c.name == i.container) else {
            continue;
        };
        for m in c.volume_mounts.iter().flatten() {
            if let Some(cm) = spec
                .volumes
                .iter()
                .flatten()
                .find(|v| v.name == m.name)
                .and_then(|v| v.config_map.as_ref())
            {
                config_maps.insert((i.namespace.clone(), cm.name.clone()));
            }
        }
    }
    // The operator's generated configuration Secrets (issue 19, drift): named by the pods' config reloader.
    let generated: BTreeSet<(String, String, String)> = pods
        .iter()
        .filter_map(|(i, p)| {
            let (name, key) = crate::model::volume::generated_config_source(p.spec.as_ref()?)?;
            Some((i.namespace.clone(), name, key))
        })
        .collect();
    let (pvs, classes, logs, usage, live, cms, secrets) = futures::join!(
        get_pvs(client, &pv_names),
        get_classes(client, &class_names),
        join_all(pods.iter().map(|(i, p)| pod_logs(client, i, p, true))),
        join_all(
            nodes
                .iter()
                .map(|n| crate::inspect::usage::node_stats(client, n))
        ),
        join_all(pods.iter().map(|(i, p)| live_status(ctx, i, p))),
        join_all(config_maps.iter().map(|(ns, name)| {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
            async move { (ns.clone(), name.clone(), api.get(name).await) }
        })),
        join_all(generated.iter().map(|(ns, name, key)| {
            let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), ns);
            async move { (ns.clone(), name.clone(), key.clone(), api.get(name).await) }
        })),
    );
    for (ns, name, key, result) in secrets {
        match result {
            Ok(secret) => {
                let text = secret
                    .data
                    .as_ref()
                    .and_then(|d| d.get(&key))
                    .and_then(|b| gunzip_text(&b.0));
                let changed = crate::inspect::snapshot::last_changed(&secret.metadata);
                if let Some(text) = text {
                    objects
                        .generated_configs
                        .push(crate::inspect::snapshot::GeneratedConfig {
                            namespace: ns,
                            name,
                            key,
                            text,
                            changed,
                        });
                }
            }
            Err(e) if !answered(&e) => objects.gaps.push((
                Some(ns.clone()),
                gap(
                    Data::Secrets,
                    format!("GET /api/v1/namespaces/{ns}/secrets/{name}"),
                    &e,
                ),
            )),
            Err(_) => {}
        }
    }
    for (ns, name, result) in cms {
        match result {
            Ok(cm) => objects.config_maps.push(cm),
            Err(e) if !answered(&e) => objects.gaps.push((
                Some(ns.clone()),
                gap(
                    Data::ConfigMaps,
                    format!("GET /api/v1/namespaces/{ns}/configmaps/{name}"),
                    &e,
                ),
            )),
            Err(_) => {}
        }
    }
    let (pvs, pv_gap) = pvs;
    objects.pvs = pvs;
    objects.gaps.extend(pv_gap.map(|g| (None, g)));
    let (classes, class_gap) = classes;
    objects.storage_classes = classes;
    objects.gaps.extend(class_gap.map(|g| (None, g)));
    for ((i, _), (pod_logs, log_gap)) in pods.iter().zip(logs) {
        objects.logs.extend(pod_logs);
        objects
            .gaps
            .extend(log_gap.map(|g| (Some(i.namespace.clone()), g)));
    }
    let mut stats_gap = None;
    for result in usage {
        match result {
            Ok(rows) => objects.usage.extend(rows),
            Err(g) => stats_gap = Some(g),
        }
    }
    objects.gaps.extend(stats_gap.map(|g| (None, g)));
    for ((i, _), (status, api_gap)) in pods.iter().zip(live) {
        objects.live.extend(status);
        objects
            .gaps
            .extend(api_gap.map(|g| (Some(i.namespace.clone()), g)));
    }
    dedup_gaps(&mut objects.gaps);
    let instances = instances
        .into_iter()
        .map(|i| assemble_one(&objects, i))
        .collect();
    Ok(Snapshot {
        instances,
        source: scope_text(&ctx.settings.scope),
    })
}

/// When namespace `ns` does not exist: the names of those that do (empty when they may not be listed). `None` when
/// it exists, or when we may not tell (a user without `get namespaces` keeps the old answer: nothing found there).
async fn namespaces_if_missing(client: &kube::Client, ns: &str) -> Option<Vec<String>> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    match api.get_opt(ns).await {
        Ok(None) => Some(
            api.list_metadata(&ListParams::default())
                .await
                .map(|list| {
                    list.items
                        .into_iter()
                        .filter_map(|n| n.metadata.name)
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => None,
    }
}

/// `doctor -n typo` (issue 15): an error naming the namespaces that exist, never an empty report with exit 0.
fn missing_namespace(ns: &str, existing: &[String]) -> Error {
    Error::Target {
        message: format!("namespace `{ns}` does not exist"),
        hint: Some(if existing.is_empty() {
            "`kubectl get namespaces` lists the namespaces; or look in all of them with -A"
                .to_string()
        } else {
            format!(
                "the namespaces are: {}; or look in all of them with -A",
                existing.join(", ")
            )
        }),
    }
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Namespace(ns) => format!("namespace {ns}"),
        Scope::AllNamespaces => "all namespaces".to_string(),
    }
}

/// One gap per (namespace, data): several pods refused for the same reason say it once.
fn dedup_gaps(gaps: &mut Vec<(Option<String>, Gap)>) {
    let mut seen = BTreeSet::new();
    gaps.retain(|(ns, g)| seen.insert((ns.clone(), g.data)));
}

#[derive(Default)]
struct NamespaceObjects {
    services: Vec<Service>,
    endpoints: Vec<Endpoints>,
    events: Vec<Event>,
    pvcs: Vec<PersistentVolumeClaim>,
    gaps: Vec<Gap>,
}

async fn list_namespace(client: &kube::Client, ns: &str) -> NamespaceObjects {
    let lp = ListParams::default();
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), ns);
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let (s, e, ev, p) = futures::join!(
        services.list(&lp),
        endpoints.list(&lp),
        events.list(&lp),
        pvcs.list(&lp)
    );
    let mut out = NamespaceObjects::default();
    let list = |resource: &str| format!("GET /api/v1/namespaces/{ns}/{resource}");
    match s {
        Ok(l) => out.services = l.items,
        Err(err) => out.gaps.push(gap(Data::Services, list("services"), &err)),
    }
    match e {
        Ok(l) => out.endpoints = l.items,
        Err(err) => out.gaps.push(gap(Data::Endpoints, list("endpoints"), &err)),
    }
    match ev {
        Ok(l) => out.events = l.items,
        Err(err) => out.gaps.push(gap(Data::Events, list("events"), &err)),
    }
    match p {
        Ok(l) => out.pvcs = l.items,
        Err(err) => out
            .gaps
            .push(gap(Data::Pvcs, list("persistentvolumeclaims"), &err)),
    }
    out
}

async fn get_pvs(
    client: &kube::Client,
    names: &BTreeSet<String>,
) -> (Vec<PersistentVolume>, Option<Gap>) {
    let api: Api<PersistentVolume> = Api::all(client.clone());
    let results = join_all(names.iter().map(|n| api.get(n))).await;
    let mut out = Vec::new();
    let mut missing = None;
    for (name, r) in names.iter().zip(results) {
        match r {
            Ok(pv) => out.push(pv),
            Err(e) if !answered(&e) => {
                missing = Some(gap(
                    Data::Pvcs,
                    format!("GET /api/v1/persistentvolumes/{name}"),
                    &e,
                ))
            }
            Err(_) => {} // gone since the PVC was read: nothing to check
        }
    }
    (out, missing)
}

async fn get_classes(
    client: &kube::Client,
    names: &BTreeSet<String>,
) -> (Vec<StorageClass>, Option<Gap>) {
    let api: Api<StorageClass> = Api::all(client.clone());
    let results = join_all(names.iter().map(|n| api.get(n))).await;
    let mut out = Vec::new();
    let mut missing = None;
    for (name, r) in names.iter().zip(results) {
        match r {
            Ok(sc) => out.push(sc),
            Err(e) if !answered(&e) => {
                missing = Some(gap(
                    Data::StorageClasses,
                    format!("GET /apis/storage.k8s.io/v1/storageclasses/{name}"),
                    &e,
                ))
            }
            Err(_) => {}
        }
    }
    (out, missing)
}

/// Current logs of the Prometheus container and of the reload sidecar, and their previous logs when they restarted.
/// The recent log of one pod's Prometheus container (and, with `sidecars`, of its reload sidecars): the current
/// instance, and the previous one only where the container restarted (there is none otherwise, and asking is a 400).
/// Shared by doctor and fix-perms, so a log is read one way. A log that could not be read is the returned gap.
pub async fn pod_logs(
    client: &kube::Client,
    instance: &Instance,
    pod: &Pod,
    sidecars: bool,
) -> (Vec<ContainerLog>, Option<Gap>) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), &instance.namespace);
    let restarted = |container: &str| {
        pod.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|st| st.iter().find(|c| c.name == container))
            .is_some_and(|c| {
                c.restart_count > 0
                    || c.last_state
                        .as_ref()
                        .is_some_and(|l| l.terminated.is_some())
            })
    };
    let mut wanted = vec![(instance.container.clone(), false)];
    for sidecar in instance
        .sidecars
        .iter()
        .filter(|s| sidecars && s.contains("reload"))
    {
        wanted.push((sidecar.clone(), false));
    }
    let with_previous: Vec<(String, bool)> = wanted
        .iter()
        .flat_map(|(c, _)| {
            let mut v = vec![(c.clone(), false)];
            if restarted(c) {
                v.push((c.clone(), true));
            }
            v
        })
        .collect();
    let results = join_all(with_previous.iter().map(|(container, previous)| {
        let params = LogParams {
            container: Some(container.clone()),
            previous: *previous,
            tail_lines: Some(LOG_TAIL),
            ..Default::default()
        };
        let api = api.clone();
        let name = name.clone();
        async move { crate::podlogs::read(&api, &name, &params).await }
    }))
    .await;
    let mut logs = Vec::new();
    let mut missing = None;
    for ((container, previous), r) in with_previous.into_iter().zip(results) {
        match r {
            Ok(text) => logs.push(ContainerLog {
                pod: name.clone(),
                container,
                previous,
                text,
            }),
            // Not started yet, or no previous container (400): nothing to read.
            Err(e) if answered(&e) => {}
            // Forbidden, a 5xx, a dropped stream: the log was not read, so the log checks (PROM-401 among them)
            // cannot say anything about it.
            Err(e) if missing.is_none() => {
                let ns = &instance.namespace;
                let previous = if previous { "&previous=true" } else { "" };
                missing = Some(gap(
                    Data::Logs,
                    format!(
                        "GET /api/v1/namespaces/{ns}/pods/{name}/log?container={container}{previous}"
                    ),
                    &e,
                ));
            }
            Err(_) => {}
        }
    }
    (logs, missing)
}

/// A gzipped (or plain) UTF-8 text: the operator writes `prometheus.yaml.gz` gzipped; at most 16 MiB is inflated.
fn gunzip_text(bytes: &[u8]) -> Option<String> {
    use std::io::Read;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return String::from_utf8(bytes.to_vec()).ok();
    }
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .take(16 << 20)
        .read_to_string(&mut out)
        .ok()?;
    Some(out)
}

/// Ask one pod's Prometheus what it runs with; only when its container is running (a crash-looping one cannot
/// answer and would only add timeouts).
async fn live_status(
    ctx: &Ctx,
    instance: &Instance,
    pod: &Pod,
) -> (Option<LiveStatus>, Option<Gap>) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let running = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|st| st.iter().find(|c| c.name == instance.container))
        .is_some_and(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
    if !running {
        return (None, None);
    }
    let prom = PromPod::new(&ctx.client, ctx.exec.as_ref(), instance, &name);
    let asked = tokio::time::timeout(LIVE_TIMEOUT, ask(&prom, &name)).await;
    match asked {
        Ok(Ok((status, gap))) => (Some(status), gap),
        // The API server answered (a refusal, a 5xx `Status` of its own) or nothing came back: Prometheus was not
        // heard, so nothing is said about it (not PROM-508) — the request is a gap and its checks are unknown.
        Ok(Err(Error::Kube { action, source })) => {
            (None, Some(gap(Data::PrometheusApi, action, &source)))
        }
        // Prometheus's own "not ready yet": 503 with the body `Service Unavailable` until its storage is open and its
        // configuration loaded (prometheus web/web.go, testReady). A container without a readiness probe counts as
        // ready the moment it runs (kubernetes pkg/kubelet/prober/prober_manager.go, UpdatePodStatus), so a fresh
        // pod answers this for a while: Prometheus is starting, not hanging and not something else on the port (not
        // PROM-508). Its live checks are unknown, said as a gap.
        Ok(Err(Error::PromHttp { status, body, .. }))
            if status == 503 && body.trim_matches('`') == "Service Unavailable" =>
        {
            (
                None,
                Some(Gap {
                    request: Some(format!("GET {}", prom.proxy_path("/-/ready"))),
                    status: Some(503),
                    ..Gap::absent(
                        Data::PrometheusApi,
                        format!(
                            "Prometheus in pod {name} is still starting: it answered 503 Service Unavailable, as it \
                             does until its storage is open and its configuration loaded"
                        ),
                    )
                }),
            )
        }
        // Flags past their limit: nothing Prometheus said was read, so its live checks are unknown (not PROM-508).
        Ok(Err(e @ Error::TooLarge { .. })) => {
            (None, Some(Gap::absent(Data::PrometheusApi, e.to_string())))
        }
        Ok(Err(Error::Exec {
            message, command, ..
        })) if message.contains("forbidden") => (
            None,
            Some(Gap {
                request: Some(format!("exec `{command}` in pod {name}")),
                status: Some(403),
                ..Gap::absent(Data::PrometheusApi, message)
            }),
        ),
        Ok(Err(e)) => (
            Some(LiveStatus {
                pod: name,
                error: Some(e.to_string()),
                ..Default::default()
            }),
            None,
        ),
        Err(_) => (
            Some(LiveStatus {
                pod: name,
                error: Some(format!("no answer within {}s", LIVE_TIMEOUT.as_secs())),
                ..Default::default()
            }),
            None,
        ),
    }
}

/// What one pod's Prometheus says, and the first of its secondary reads the API server failed (a gap: those checks are
/// unknown). `/api/v1/status/flags` decides: when the API server fails it, the whole answer is an error.
async fn ask(prom: &PromPod<'_>, pod: &str) -> Result<(LiveStatus, Option<Gap>)> {
    let data = |body: &str| {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("data").cloned())
    };
    // Whether the last reload failed comes from runtimeinfo's `reloadConfigSuccess`, which Prometheus fills from its
    // own `prometheus_config_last_reload_successful` gauge (web/web.go `runtimeInfo`, via the registry's Gather):
    // the same value as the `/metrics` line, without that page (~60 KiB per pod, most of what doctor received).
    // status/config and features (3.9+) for the drift and v3 checks (issue 19).
    // rules: the groups it runs, for rule-file drift. `exclude_alerts` (3.x; 2.x ignores it and adds each rule's
    // active alerts) leaves out the firing alerts, the part of the answer that grows with an incident.
    let (flags, runtime, build, targets, rate, tsdb, config, features, rules) = futures::join!(
        prom.flags(),
        prom.get("/api/v1/status/runtimeinfo"),
        prom.get("/api/v1/status/buildinfo"),
        prom.get("/api/v1/targets?state=active"),
        prom.get(
            "/api/v1/query?query=sum(rate(prometheus_tsdb_head_samples_appended_total%5B1h%5D))"
        ),
        prom.get("/api/v1/status/tsdb?limit=5"),
        prom.get("/api/v1/status/config"),
        prom.get("/api/v1/features"),
        prom.get("/api/v1/rules?exclude_alerts=true"),
    );
    let (flags, access) = flags?;
    let mut unread = None;
    let mut ok = |r: Result<crate::prom_http::PromReply>| match r {
        Ok(r) if r.ok() => data(&r.body),
        Err(Error::Kube { action, source }) => {
            unread.get_or_insert_with(|| gap(Data::PrometheusApi, action, &source));
            None
        }
        // An answer past its limit (prom_http::body_limit) was not read: its checks are unknown, and said why.
        Err(e @ Error::TooLarge { .. }) => {
            unread.get_or_insert_with(|| Gap::absent(Data::PrometheusApi, e.to_string()));
            None
        }
        _ => None,
    };
    let ingestion_rate = ok(rate).and_then(|d| {
        d.pointer("/result/0/value/1")
            .and_then(|v| v.as_str())
            .and_then(|v| v.parse::<f64>().ok())
    });
    let status = LiveStatus {
        pod: pod.to_string(),
        via: access.describe().to_string(),
        flags: Some(flags),
        runtimeinfo: ok(runtime),
        buildinfo: ok(build),
        targets: ok(targets),
        ingestion_rate,
        tsdb: ok(tsdb),
        config_yaml: ok(config).and_then(|d| d.get("yaml")?.as_str().map(str::to_string)),
        features: ok(features),
        rules: ok(rules),
        asked_at: Some(k8s_openapi::jiff::Timestamp::now().to_string()),
        // Carried by runtimeinfo (above); the field stays for the check that still reads it.
        error: None,
    };
    Ok((status, unread))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_missing_namespace_names_those_that_exist() {
        let err = missing_namespace("monitoirng", &["default".into(), "monitoring".into()]);
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        assert_eq!(err.to_string(), "namespace `monitoirng` does not exist");
        assert!(err.hint().unwrap().contains("default, monitoring"));
        assert!(
            missing_namespace("x", &[])
                .hint()
                .unwrap()
                .contains("kubectl get namespaces")
        );
    }

    use super::*;
}
