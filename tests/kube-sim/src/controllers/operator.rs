//! A minimal prometheus-operator (monitoring.coreos.com/v1 `Prometheus`), active once the CRD is applied, with the
//! names and labels of prometheus-facts §5.2 (pkg/prometheus/server/statefulset.go): StatefulSet
//! `prometheus-<name>` (Parallel, serviceName `prometheus-operated`), pods with the selector labels, the
//! `init-config-reloader` / `prometheus` / `config-reloader` containers, the config Secret `prometheus-<name>`
//! (`prometheus.yaml.gz`), the rule-files ConfigMap, the governing Service, `spec.securityContext` passed through,
//! `spec.storage.volumeClaimTemplate` (data volume `prometheus-<name>-db`, mounted at /prometheus with subPath
//! `prometheus-db`), `spec.containers` strategic-merged by name, `spec.paused`, `spec.additionalArgs`, `--web.enable-lifecycle` only for
//! reloadStrategy HTTP. Changes are detected with the `prometheus-operator-input-hash` annotation; an update the
//! API rejects (422, e.g. a changed claim template) makes it delete the StatefulSet with Foreground propagation and
//! create it again (pkg/k8s/statefulset.go ForceUpdateStatefulSet); an orphaning delete is undone by re-creation.
//!
//! Not modelled: ServiceMonitor/PodMonitor/rules selection (the generated config scrapes nothing), web/TLS
//! config, sharding beyond shard 0, Alertmanager, thanos sidecar. The Prometheus image defaults to the version
//! that really runs on the node (2.42.0) since the operator's compiled-in default differs per release.
use super::{is_deleting, name_of, ns_of, owner_ref};
use crate::server::ApiServer;
use serde_json::{Value, json};

pub const CR_KEY: &str = "prometheuses.monitoring.coreos.com";
const RELOADER_IMAGE: &str = "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1";
const INPUT_HASH: &str = "prometheus-operator-input-hash";

/// Selector labels of shard 0 (pkg/prometheus/common.go).
pub fn selector_labels(name: &str) -> Value {
    json!({
        "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "prometheus-operator",
        "app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": name,
        "operator.prometheus.io/shard": "0", "prometheus": name,
    })
}

/// gzip (RFC 1952) with stored deflate blocks: a valid `.gz` without a compression dependency.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut crc_table = [0u32; 256];
    for (i, e) in crc_table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB88320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *e = c;
    }
    let crc = !data.iter().fold(!0u32, |c, b| {
        crc_table[((c ^ *b as u32) & 0xff) as usize] ^ (c >> 8)
    });
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65535).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(if i + 1 == chunks.len() { 1 } else { 0 });
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn generated_config(cr: &Value) -> String {
    let interval = cr["spec"]["scrapeInterval"].as_str().unwrap_or("30s");
    let eval = cr["spec"]["evaluationInterval"].as_str().unwrap_or("30s");
    format!(
        "global:\n  evaluation_interval: {eval}\n  scrape_interval: {interval}\n  external_labels:\n    prometheus: {}/{}\n    prometheus_replica: $(POD_NAME)\nrule_files:\n- /etc/prometheus/rules/prometheus-{}-rulefiles-0/*.yaml\nscrape_configs: []\n",
        ns_of(cr),
        name_of(cr),
        name_of(cr)
    )
}

fn db_volume_name(cr: &Value) -> String {
    cr["spec"]["storage"]["volumeClaimTemplate"]["metadata"]["name"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| format!("prometheus-{}-db", name_of(cr)))
}

pub fn desired_statefulset(cr: &Value) -> Value {
    let name = name_of(cr);
    let spec = &cr["spec"];
    let version = spec["version"].as_str().unwrap_or("v2.42.0");
    let image = spec["image"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| format!("quay.io/prometheus/prometheus:{version}"));
    let rulefiles = format!("prometheus-{name}-rulefiles-0");
    let db = db_volume_name(cr);
    let retention = match (spec["retention"].as_str(), spec["retentionSize"].as_str()) {
        (None | Some(""), None | Some("")) => Some("24h".to_string()),
        (Some(r), _) if !r.is_empty() => Some(r.to_string()),
        _ => None,
    };
    let mut args = vec![
        "--config.file=/etc/prometheus/config_out/prometheus.env.yaml".to_string(),
        "--storage.tsdb.path=/prometheus".to_string(),
    ];
    if let Some(r) = retention {
        args.push(format!("--storage.tsdb.retention.time={r}"));
    }
    if let Some(s) = spec["retentionSize"].as_str().filter(|s| !s.is_empty()) {
        args.push(format!("--storage.tsdb.retention.size={s}"));
    }
    let http_reload = spec["reloadStrategy"].as_str().unwrap_or("HTTP") == "HTTP";
    if http_reload {
        args.push("--web.enable-lifecycle".into());
    }
    let prefix = spec["routePrefix"].as_str().unwrap_or("/");
    args.push(format!("--web.route-prefix={prefix}"));
    if let Some(u) = spec["externalUrl"].as_str() {
        args.push(format!("--web.external-url={u}"));
    }
    // `spec.additionalArgs` after the operator's own (pkg/operator BuildArgs: `--name=value`, or `--name` without a
    // value; the operator refuses a name it manages itself, not modelled).
    for a in spec["additionalArgs"].as_array().into_iter().flatten() {
        let Some(name) = a["name"].as_str() else {
            continue;
        };
        match a["value"].as_str().filter(|v| !v.is_empty()) {
            Some(v) => args.push(format!("--{name}={v}")),
            None => args.push(format!("--{name}")),
        }
    }
    let reloader_args = |init: bool| -> Vec<String> {
        let mut a = vec![
            if init {
                "--watch-interval=0".to_string()
            } else {
                "--listen-address=:8080".to_string()
            },
            "--config-file=/etc/prometheus/config/prometheus.yaml.gz".into(),
            "--config-envsubst-file=/etc/prometheus/config_out/prometheus.env.yaml".into(),
            format!("--watched-dir=/etc/prometheus/rules/{rulefiles}"),
        ];
        if init {
            a.insert(1, "--listen-address=:8081".into());
        } else if http_reload {
            a.insert(1, "--reload-url=http://127.0.0.1:9090/-/reload".into());
        } else {
            // ProcessSignal: the reloader signals Prometheus and reads its runtimeinfo to see the reload took
            // (prometheus-operator v0.85.0 pkg/prometheus/common.go: ReloaderUseSignal + RuntimeInfoURL, rendered by
            // pkg/operator/config_reloader.go as these two flags in place of --reload-url).
            let info = format!(
                "http://127.0.0.1:9090{}/api/v1/status/runtimeinfo",
                prefix.trim_end_matches('/')
            );
            a.insert(1, "--reload-method=signal".into());
            a.insert(2, format!("--runtimeinfo-url={info}"));
        }
        a
    };
    let env = json!([{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}, {"name": "SHARD", "value": "0"}]);
    let reloader_mounts = json!([
        {"name": "config", "mountPath": "/etc/prometheus/config"},
        {"name": "config-out", "mountPath": "/etc/prometheus/config_out"},
        {"name": rulefiles, "mountPath": format!("/etc/prometheus/rules/{rulefiles}")},
    ]);
    let mut prom_mounts = vec![
        json!({"name": "config-out", "mountPath": "/etc/prometheus/config_out", "readOnly": true}),
        json!({"name": db, "mountPath": "/prometheus", "subPath": "prometheus-db"}),
        json!({"name": rulefiles, "mountPath": format!("/etc/prometheus/rules/{rulefiles}")}),
    ];
    prom_mounts.extend(spec["volumeMounts"].as_array().cloned().unwrap_or_default());
    let probe_path = format!("{}/-/ready", prefix.trim_end_matches('/'));
    let mut pod_spec = json!({
        "serviceAccountName": spec["serviceAccountName"].as_str().unwrap_or("default"),
        "securityContext": spec["securityContext"].clone(),
        "terminationGracePeriodSeconds": 600,
        "initContainers": [{"name": "init-config-reloader", "image": RELOADER_IMAGE, "command": ["/bin/prometheus-config-reloader"],
                            "args": reloader_args(true), "env": env, "volumeMounts": reloader_mounts,
                            "ports": [{"containerPort": 8081, "name": "reloader-init", "protocol": "TCP"}], "terminationMessagePolicy": "FallbackToLogsOnError"}],
        "containers": [
            {"name": "prometheus", "image": image, "args": args,
             "ports": [{"containerPort": 9090, "name": "web", "protocol": "TCP"}],
             "readinessProbe": {"httpGet": {"path": probe_path, "port": "web", "scheme": "HTTP"}, "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 3},
             "startupProbe": {"httpGet": {"path": probe_path, "port": "web", "scheme": "HTTP"}, "periodSeconds": 15, "timeoutSeconds": 3, "failureThreshold": 60},
             "volumeMounts": prom_mounts, "terminationMessagePolicy": "FallbackToLogsOnError"},
            {"name": "config-reloader", "image": RELOADER_IMAGE, "command": ["/bin/prometheus-config-reloader"], "args": reloader_args(false),
             "env": env, "ports": [{"containerPort": 8080, "name": "reloader-web", "protocol": "TCP"}],
             "volumeMounts": reloader_mounts, "terminationMessagePolicy": "FallbackToLogsOnError"},
        ],
        "volumes": [
            {"name": "config", "secret": {"secretName": format!("prometheus-{name}"), "defaultMode": 420}},
            {"name": "config-out", "emptyDir": {"medium": "Memory"}},
            {"name": rulefiles, "configMap": {"name": rulefiles, "defaultMode": 420}},
        ],
    });
    if !spec["securityContext"].is_object() {
        pod_spec["securityContext"] = json!({});
    }
    if spec["storage"]["volumeClaimTemplate"].is_null() {
        let v = if spec["storage"]["emptyDir"].is_object() {
            json!({"name": db, "emptyDir": spec["storage"]["emptyDir"]})
        } else {
            json!({"name": db, "emptyDir": {}})
        };
        if let Some(vs) = pod_spec["volumes"].as_array_mut() {
            vs.push(v);
        }
    }
    if let Some(extra) = spec["volumes"].as_array()
        && let Some(vs) = pod_spec["volumes"].as_array_mut()
    {
        vs.extend(extra.iter().cloned());
    }
    for (k, field) in [
        ("nodeSelector", "nodeSelector"),
        ("tolerations", "tolerations"),
        ("affinity", "affinity"),
        ("priorityClassName", "priorityClassName"),
    ] {
        if !spec[field].is_null() {
            pod_spec[k] = spec[field].clone();
        }
    }
    let mut overrides = json!({});
    if spec["containers"].is_array() {
        overrides["containers"] = spec["containers"].clone();
    }
    if spec["initContainers"].is_array() {
        overrides["initContainers"] = spec["initContainers"].clone();
    }
    if let Ok(merged) = crate::patch::strategic_merge(&pod_spec, &overrides, "Pod") {
        pod_spec = merged;
    }
    let sel = selector_labels(name);
    let mut pod_labels = sel.clone();
    pod_labels["app.kubernetes.io/version"] = json!(version.trim_start_matches('v'));
    for (k, v) in spec["podMetadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
    {
        pod_labels[k] = v.clone();
    }
    let mut sts_labels = json!({});
    for (k, v) in cr["metadata"]["labels"].as_object().into_iter().flatten() {
        sts_labels[k] = v.clone();
    }
    for (k, v) in sel.as_object().into_iter().flatten() {
        sts_labels[k] = v.clone();
    }
    sts_labels["operator.prometheus.io/mode"] = json!("server");
    let mut sts_spec = json!({
        "replicas": spec["replicas"].as_i64().unwrap_or(1),
        "selector": {"matchLabels": sel},
        "serviceName": "prometheus-operated",
        "podManagementPolicy": "Parallel",
        "updateStrategy": {"type": "RollingUpdate"},
        "minReadySeconds": spec["minReadySeconds"].as_i64().unwrap_or(0),
        "template": {"metadata": {"labels": pod_labels, "annotations": {"kubectl.kubernetes.io/default-container": "prometheus"}}, "spec": pod_spec},
    });
    if let Some(vct) = spec["storage"]["volumeClaimTemplate"].as_object() {
        let mut t = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": db}, "spec": vct.get("spec").cloned().unwrap_or(json!({}))});
        if let Some(l) = vct.get("metadata").and_then(|m| m.get("labels")) {
            t["metadata"]["labels"] = l.clone();
        }
        sts_spec["volumeClaimTemplates"] = json!([t]);
    }
    if spec["persistentVolumeClaimRetentionPolicy"].is_object() {
        sts_spec["persistentVolumeClaimRetentionPolicy"] =
            spec["persistentVolumeClaimRetentionPolicy"].clone();
    }
    let hash = super::deployment::template_hash(&json!([
        cr["spec"],
        cr["metadata"]["labels"],
        cr["metadata"]["annotations"]
    ]));
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": format!("prometheus-{name}"), "namespace": ns_of(cr), "labels": sts_labels,
                     "annotations": {INPUT_HASH: hash}, "ownerReferences": [owner_ref(cr)]},
        "spec": sts_spec,
    })
}

fn ensure(api: &ApiServer, key: &str, obj: Value) {
    let ns = ns_of(&obj).to_string();
    match api.store.get(key, &ns, name_of(&obj)) {
        None => {
            let _ = super::create(api, key, &ns, obj);
        }
        Some(old) => {
            let mut next = old.clone();
            for f in ["data", "spec"] {
                if !obj[f].is_null() && key != "services" {
                    next[f] = obj[f].clone();
                }
            }
            if next != old {
                let _ = api.store.replace(key, &ns, name_of(&old), next, false);
            }
        }
    }
}

pub fn reconcile(api: &ApiServer) {
    if api.registry.by_key(CR_KEY).is_none() {
        return;
    }
    let (crs, _) = api.store.list(CR_KEY, None);
    for cr in crs.iter().filter(|c| !is_deleting(c)) {
        if cr["spec"]["paused"].as_bool() == Some(true) {
            let _ = api
                .store
                .mutate_status(CR_KEY, ns_of(cr), name_of(cr), |o| {
                    o["status"]["paused"] = json!(true)
                });
            continue;
        }
        if held_back(cr) {
            continue;
        }
        reconcile_one(api, cr);
    }
}

/// The annotation that makes this operator take its time: a resource carrying it is reconciled only this many seconds
/// after each change of its spec (its generation), as a real operator works through its queue after a watch event. A
/// test knob: it shows what a client that does not wait for the operator gets.
pub const RECONCILE_DELAY: &str = "kube-sim.test/reconcile-delay-seconds";

/// Whether a resource's latest change is still younger than its reconcile delay.
fn held_back(cr: &Value) -> bool {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    use std::time::{Duration, Instant};
    static SEEN: LazyLock<Mutex<HashMap<(String, i64), Instant>>> = LazyLock::new(Default::default);
    let Some(delay) = cr["metadata"]["annotations"][RECONCILE_DELAY]
        .as_str()
        .and_then(|d| d.parse::<u64>().ok())
    else {
        return false;
    };
    let key = (
        cr["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        cr["metadata"]["generation"].as_i64().unwrap_or_default(),
    );
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.entry(key).or_insert_with(Instant::now).elapsed() < Duration::from_secs(delay)
}

fn reconcile_one(api: &ApiServer, cr: &Value) {
    let ns = ns_of(cr);
    let name = name_of(cr);
    let config = gzip_stored(generated_config(cr).as_bytes());
    use base64::Engine;
    ensure(
        api,
        "secrets",
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": format!("prometheus-{name}"), "namespace": ns, "labels": {"managed-by": "prometheus-operator"}, "ownerReferences": [owner_ref(cr)]},
        "data": {"prometheus.yaml.gz": base64::engine::general_purpose::STANDARD.encode(config)}}),
    );
    ensure(
        api,
        "configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("prometheus-{name}-rulefiles-0"), "namespace": ns, "labels": {"managed-by": "prometheus-operator", "prometheus-name": name}, "ownerReferences": [owner_ref(cr)]},
        "data": {}}),
    );
    ensure(
        api,
        "services",
        json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "prometheus-operated", "namespace": ns, "labels": {"managed-by": "prometheus-operator", "operated-prometheus": "true"}, "ownerReferences": [owner_ref(cr)]},
        "spec": {"clusterIP": "None", "selector": {"app.kubernetes.io/name": "prometheus"},
                 "ports": [{"name": "web", "port": 9090, "protocol": "TCP", "targetPort": "web"}]}}),
    );
    let desired = desired_statefulset(cr);
    let sts_name = name_of(&desired).to_string();
    let Some(rt) = api.registry.by_key("statefulsets.apps") else {
        return;
    };
    match api.store.get("statefulsets.apps", ns, &sts_name) {
        None => {
            let _ = crate::rest::create(api, &rt, ns, desired, false, None);
        }
        Some(existing) if is_deleting(&existing) => {}
        Some(existing) => {
            if existing["metadata"]["annotations"][INPUT_HASH]
                != desired["metadata"]["annotations"][INPUT_HASH]
            {
                let mut next = existing.clone();
                next["spec"] = desired["spec"].clone();
                next["metadata"]["labels"] = desired["metadata"]["labels"].clone();
                next["metadata"]["annotations"][INPUT_HASH] =
                    desired["metadata"]["annotations"][INPUT_HASH].clone();
                if let Err(e) = crate::rest::update(api, &rt, &existing, next, "", false)
                    && e.code == 422
                {
                    // "recreating StatefulSet because the update operation wasn't possible"
                    let _ = crate::rest::delete(api, &rt, ns, &sts_name, Some("Foreground"), false);
                }
            }
            let st = &existing["status"];
            let replicas = cr["spec"]["replicas"].as_i64().unwrap_or(1);
            let available = st["availableReplicas"].as_i64().unwrap_or(0);
            let (status, reason) = if available >= replicas {
                ("True", "")
            } else if available > 0 {
                ("Degraded", "SomePodsNotReady")
            } else {
                ("False", "NoPodReady")
            };
            let now = crate::clock::now_rfc3339();
            let generation = cr["metadata"]["generation"].clone();
            let _ = api.store.mutate_status(CR_KEY, ns, name, |o| {
                let old = o["status"]["conditions"].as_array().cloned().unwrap_or_default();
                let keep_time = |t: &str, s: &str| old.iter().find(|c| c["type"] == t && c["status"] == s).and_then(|c| c["lastTransitionTime"].as_str().map(String::from)).unwrap_or_else(|| now.clone());
                let mut avail = json!({"type": "Available", "status": status, "observedGeneration": generation, "lastTransitionTime": keep_time("Available", status)});
                if !reason.is_empty() {
                    avail["reason"] = json!(reason);
                }
                o["status"] = json!({
                    "paused": false, "replicas": st["replicas"].as_i64().unwrap_or(0), "updatedReplicas": st["updatedReplicas"].as_i64().unwrap_or(0),
                    "availableReplicas": available, "unavailableReplicas": (replicas - available).max(0),
                    "conditions": [avail, {"type": "Reconciled", "status": "True", "observedGeneration": generation, "lastTransitionTime": keep_time("Reconciled", "True")}],
                    "shardStatuses": [{"shardID": "0", "replicas": st["replicas"].as_i64().unwrap_or(0), "updatedReplicas": st["updatedReplicas"].as_i64().unwrap_or(0), "availableReplicas": available, "unavailableReplicas": (replicas - available).max(0)}],
                    "shards": 1, "selector": crate::selectors::selector_string(&json!({"matchLabels": selector_labels(name)})),
                });
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testing;

    fn crd() -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "prometheuses.monitoring.coreos.com"},
            "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
                "names": {"kind": "Prometheus", "listKind": "PrometheusList", "plural": "prometheuses", "singular": "prometheus", "shortNames": ["prom"], "categories": ["prometheus-operator"]},
                "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.shards", "statusReplicasPath": ".status.shards"}},
                              "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
    }

    fn prom(size: &str) -> Value {
        json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "k", "namespace": "monitoring"},
            "spec": {"replicas": 1, "securityContext": {"runAsUser": 1000, "fsGroup": 2000},
                     "storage": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}}}})
    }

    #[test]
    fn gzip_stored_has_valid_framing() {
        let gz = gzip_stored(b"hello");
        assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
        // CRC32("hello") = 0x3610a686
        assert_eq!(
            &gz[gz.len() - 8..gz.len() - 4],
            &0x3610a686u32.to_le_bytes()
        );
        assert_eq!(&gz[gz.len() - 4..], &5u32.to_le_bytes());
    }

    #[test]
    fn operator_generates_named_statefulset_and_recreates_after_orphaning() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, crd()).unwrap();
        crate::bootstrap::apply_object(&api, prom("1Gi")).unwrap();
        testing::settle(&api, 10);
        let sts = api
            .store
            .get("statefulsets.apps", "monitoring", "prometheus-k")
            .expect("StatefulSet prometheus-k");
        assert_eq!(
            sts["spec"]["selector"]["matchLabels"]["operator.prometheus.io/name"],
            "k"
        );
        assert_eq!(
            sts["metadata"]["labels"]["operator.prometheus.io/mode"],
            "server"
        );
        assert_eq!(
            sts["spec"]["template"]["spec"]["securityContext"]["fsGroup"],
            2000
        );
        let args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap();
        assert!(
            args.contains(&json!("--web.enable-lifecycle"))
                && args.contains(&json!("--storage.tsdb.retention.time=24h"))
        );
        assert!(
            api.store
                .get(
                    "persistentvolumeclaims",
                    "monitoring",
                    "prometheus-k-db-prometheus-k-0"
                )
                .is_some()
        );
        let pod = api
            .store
            .get("pods", "monitoring", "prometheus-k-0")
            .expect("pod prometheus-k-0");
        assert_eq!(
            pod["spec"]["containers"][0]["volumeMounts"][1],
            json!({"name": "prometheus-k-db", "mountPath": "/prometheus", "subPath": "prometheus-db"})
        );
        let old_uid = sts["metadata"]["uid"].clone();
        let rt = api.registry.by_key("statefulsets.apps").unwrap();
        crate::rest::delete(
            &api,
            &rt,
            "monitoring",
            "prometheus-k",
            Some("Orphan"),
            false,
        )
        .unwrap();
        testing::settle(&api, 10);
        let sts = api
            .store
            .get("statefulsets.apps", "monitoring", "prometheus-k")
            .expect("recreated");
        assert_ne!(sts["metadata"]["uid"], old_uid);
        let pod2 = api
            .store
            .get("pods", "monitoring", "prometheus-k-0")
            .unwrap();
        assert_eq!(
            pod2["metadata"]["uid"], pod["metadata"]["uid"],
            "the orphaned pod kept running and was adopted"
        );
    }

    #[test]
    fn claim_template_change_while_unpaused_deletes_and_recreates_and_paused_does_nothing() {
        let api = testing::api();
        crate::bootstrap::apply_object(&api, crd()).unwrap();
        crate::bootstrap::apply_object(&api, prom("1Gi")).unwrap();
        testing::settle(&api, 10);
        let mut paused = prom("2Gi");
        paused["spec"]["paused"] = json!(true);
        crate::bootstrap::apply_object(&api, paused).unwrap();
        testing::settle(&api, 10);
        let sts = api
            .store
            .get("statefulsets.apps", "monitoring", "prometheus-k")
            .unwrap();
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            "1Gi"
        );
        let old_uid = sts["metadata"]["uid"].clone();
        crate::bootstrap::apply_object(&api, prom("2Gi")).unwrap();
        testing::settle(&api, 20);
        let sts = api
            .store
            .get("statefulsets.apps", "monitoring", "prometheus-k")
            .unwrap();
        assert_ne!(sts["metadata"]["uid"], old_uid, "deleted and recreated");
        assert_eq!(
            sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            "2Gi"
        );
        let pvc = api
            .store
            .get(
                "persistentvolumeclaims",
                "monitoring",
                "prometheus-k-db-prometheus-k-0",
            )
            .unwrap();
        assert_eq!(
            pvc["spec"]["resources"]["requests"]["storage"], "1Gi",
            "the operator never expands existing claims"
        );
    }
}
