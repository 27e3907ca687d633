//! Recognition, target parsing and selector tests, from YAML fixtures in the shapes real installs have.

use super::*;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::BTreeMap;

fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> T {
    crate::yaml::from_str(text).expect("fixture parses")
}

/// The chart's server Deployment (chart ≥ 21 labels), as `helm template` renders it, trimmed.
const CHART_DEPLOY_NEW: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus-server
  namespace: monitoring
  labels: {app.kubernetes.io/component: server, app.kubernetes.io/name: prometheus, app.kubernetes.io/instance: prometheus, helm.sh/chart: prometheus-25.8.0}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/component: server, app.kubernetes.io/name: prometheus, app.kubernetes.io/instance: prometheus}
  template:
    metadata:
      labels: {app.kubernetes.io/component: server, app.kubernetes.io/name: prometheus, app.kubernetes.io/instance: prometheus}
    spec:
      containers:
      - name: prometheus-server-configmap-reload
        image: quay.io/prometheus-operator/prometheus-config-reloader:v0.70.0
        args: [--watched-dir=/etc/config, --reload-url=http://127.0.0.1:9090/-/reload]
        volumeMounts: [{name: config-volume, mountPath: /etc/config, readOnly: true}]
      - name: prometheus-server
        image: quay.io/prometheus/prometheus:v2.48.0
        args: [--storage.tsdb.retention.time=15d, --config.file=/etc/config/prometheus.yml, --storage.tsdb.path=/data, --web.enable-lifecycle]
        ports: [{containerPort: 9090}]
        volumeMounts:
        - {name: config-volume, mountPath: /etc/config}
        - {name: storage-volume, mountPath: /data, subPath: ""}
      volumes:
      - {name: config-volume, configMap: {name: prometheus-server}}
      - {name: storage-volume, persistentVolumeClaim: {claimName: prometheus-server}}
"#;

/// The same chart before 21.0 (legacy labels), in StatefulSet mode, with a route prefix.
const CHART_STS_LEGACY: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: prom-prometheus-server
  namespace: obs
  labels: {app: prometheus, component: server, release: prom, chart: prometheus-15.0.0, heritage: Helm}
spec:
  replicas: 2
  serviceName: prom-prometheus-server-headless
  selector:
    matchLabels: {app: prometheus, component: server, release: prom}
  template:
    metadata:
      labels: {app: prometheus, component: server, release: prom}
    spec:
      containers:
      - name: prometheus-server
        image: prom/prometheus:v2.30.0
        args: [--config.file=/etc/config/prometheus.yml, --storage.tsdb.path=/data, --web.route-prefix=/prom/, --web.listen-address=:9091]
        volumeMounts:
        - {name: config-volume, mountPath: /etc/config}
        - {name: storage-volume, mountPath: /data}
      volumes:
      - {name: config-volume, configMap: {name: prom-prometheus-server}}
  volumeClaimTemplates:
  - metadata: {name: storage-volume}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 8Gi}}}
"#;

/// What the operator generates for `Prometheus` k8s (kube-prometheus-stack), two shards.
fn operator_sts(shard: u32) -> String {
    let name = if shard == 0 {
        "prometheus-k8s".to_string()
    } else {
        format!("prometheus-k8s-shard-{shard}")
    };
    format!(
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
  namespace: monitoring
  labels: {{app.kubernetes.io/name: prometheus, operator.prometheus.io/name: k8s, operator.prometheus.io/shard: "{shard}", operator.prometheus.io/mode: server}}
  ownerReferences:
  - {{apiVersion: monitoring.coreos.com/v1, kind: Prometheus, name: k8s, uid: 1234, controller: true, blockOwnerDeletion: true}}
spec:
  replicas: 2
  serviceName: prometheus-operated
  selector:
    matchLabels: {{app.kubernetes.io/name: prometheus, operator.prometheus.io/name: k8s, operator.prometheus.io/shard: "{shard}", prometheus: k8s}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: prometheus, operator.prometheus.io/name: k8s, operator.prometheus.io/shard: "{shard}", prometheus: k8s}}
    spec:
      containers:
      - name: prometheus
        image: quay.io/prometheus/prometheus:v3.5.0
        args: [--web.console.templates=/etc/prometheus/consoles, --config.file=/etc/prometheus/config_out/prometheus.env.yaml, --web.enable-lifecycle, --web.route-prefix=/, --storage.tsdb.path=/prometheus]
        ports: [{{name: web, containerPort: 9090}}]
        volumeMounts:
        - {{name: config-out, mountPath: /etc/prometheus/config_out, readOnly: true}}
        - {{name: prometheus-k8s-db, mountPath: /prometheus, subPath: prometheus-db}}
      - name: config-reloader
        image: quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1
      volumes:
      - {{name: config-out, emptyDir: {{medium: Memory}}}}
  volumeClaimTemplates:
  - metadata: {{name: prometheus-k8s-db}}
    spec: {{resources: {{requests: {{storage: 50Gi}}}}}}
"#
    )
}

/// Incident 4: a hand-written Deployment, config `prometheus-properties`, data on a PVC.
const PLAIN_DEPLOY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus, namespace: default, labels: {app: prometheus}}
spec:
  selector: {matchLabels: {app: prometheus}}
  template:
    metadata: {labels: {app: prometheus}}
    spec:
      initContainers:
      - {name: init, image: busybox, command: [sh, -c, "mkdir -p /storage/prometheus && chmod -R 777 /storage/prometheus"]}
      containers:
      - name: prometheus
        image: prom/prometheus:latest
        args: [--config.file=/etc/prometheus/prometheus.yml, --storage.tsdb.path=/storage/prometheus/]
        volumeMounts:
        - {name: config, mountPath: /etc/prometheus/prometheus.yml, subPath: prometheus.yml}
        - {name: data, mountPath: /storage}
      volumes:
      - {name: config, configMap: {name: prometheus-properties}}
      - {name: data, persistentVolumeClaim: {claimName: prometheus-data}}
"#;

fn pod(ns: &str, name: &str, labels: &[(&str, &str)], ready: bool) -> Pod {
    let mut p = Pod::default();
    p.metadata.name = Some(name.into());
    p.metadata.namespace = Some(ns.into());
    p.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    p.status = Some(k8s_openapi::api::core::v1::PodStatus {
        phase: Some("Running".into()),
        conditions: Some(vec![k8s_openapi::api::core::v1::PodCondition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            ..Default::default()
        }]),
        ..Default::default()
    });
    p
}

#[test]
fn chart_deployment_with_recommended_labels() {
    let inv = Inventory {
        deployments: vec![from_yaml(CHART_DEPLOY_NEW)],
        pods: vec![
            pod(
                "monitoring",
                "prometheus-server-7d9f-abcde",
                &[
                    ("app.kubernetes.io/component", "server"),
                    ("app.kubernetes.io/name", "prometheus"),
                    ("app.kubernetes.io/instance", "prometheus"),
                ],
                true,
            ),
            // Another release's pod must not be picked up.
            pod(
                "monitoring",
                "other-server-1",
                &[("app.kubernetes.io/instance", "other")],
                true,
            ),
        ],
        ..Default::default()
    };
    let found = find_instances(&inv);
    assert_eq!(found.len(), 1);
    let i = &found[0];
    assert_eq!(i.name, "prometheus-server");
    assert_eq!(
        i.flavour,
        Flavour::Chart {
            release: "prometheus".into(),
            chart: Some("prometheus-25.8.0".into()),
            labels: LabelGeneration::Recommended
        }
    );
    assert_eq!(
        i.workloads,
        vec![WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: "prometheus-server".into(),
            replicas: 1,
            resource_version: None,
            ordered_ready: false,
        }]
    );
    assert_eq!(
        i.pods.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["prometheus-server-7d9f-abcde"]
    );
    assert!(i.pods[0].ready);
    assert_eq!(i.container, "prometheus-server");
    assert_eq!(i.port, 9090);
    assert_eq!(i.route_prefix, "/");
    assert_eq!(i.sidecars, ["prometheus-server-configmap-reload"]);
    let data = i.data.as_ref().expect("data volume");
    assert_eq!(
        data.source,
        DataSource::Pvc {
            claim: "prometheus-server".into()
        }
    );
    assert_eq!(data.mount_path, "/data");
    assert_eq!(data.sub_path, None);
    let config = i.config.as_ref().expect("config volume");
    assert_eq!(
        config.source,
        ConfigSource::ConfigMap {
            name: "prometheus-server".into(),
            key: "prometheus.yml".into()
        }
    );
    assert_eq!(config.file, "/etc/config/prometheus.yml");
    assert!(bool_flag(&i.args, "web.enable-lifecycle"));
}

#[test]
fn chart_statefulset_with_legacy_labels_and_route_prefix() {
    let inv = Inventory {
        statefulsets: vec![from_yaml(CHART_STS_LEGACY)],
        pods: vec![
            pod(
                "obs",
                "prom-prometheus-server-1",
                &[
                    ("app", "prometheus"),
                    ("component", "server"),
                    ("release", "prom"),
                ],
                false,
            ),
            pod(
                "obs",
                "prom-prometheus-server-0",
                &[
                    ("app", "prometheus"),
                    ("component", "server"),
                    ("release", "prom"),
                ],
                true,
            ),
        ],
        ..Default::default()
    };
    let found = find_instances(&inv);
    assert_eq!(found.len(), 1);
    let i = &found[0];
    assert_eq!(
        i.flavour,
        Flavour::Chart {
            release: "prom".into(),
            chart: Some("prometheus-15.0.0".into()),
            labels: LabelGeneration::Legacy
        }
    );
    assert_eq!(
        i.pods.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["prom-prometheus-server-0", "prom-prometheus-server-1"]
    );
    assert_eq!(i.port, 9091);
    assert_eq!(i.route_prefix, "/prom");
    assert!(!bool_flag(&i.args, "web.enable-lifecycle"));
    assert_eq!(
        i.data.as_ref().unwrap().source,
        DataSource::ClaimTemplate {
            template: "storage-volume".into(),
            claims: vec![
                "storage-volume-prom-prometheus-server-0".into(),
                "storage-volume-prom-prometheus-server-1".into()
            ]
        }
    );
    // Named by its release too.
    assert_eq!(select(&found, &TargetRef::Name("prom".into())).len(), 1);
}

#[test]
fn operator_statefulsets_group_into_one_instance_per_prometheus_resource() {
    let labels = |shard: &str| {
        vec![
            ("app.kubernetes.io/name", "prometheus"),
            ("operator.prometheus.io/name", "k8s"),
            ("operator.prometheus.io/shard", shard),
            ("prometheus", "k8s"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<Vec<_>>()
    };
    let mk = |name: &str, shard: &str| {
        let l = labels(shard);
        let pairs: Vec<(&str, &str)> = l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pod("monitoring", name, &pairs, true)
    };
    let inv = Inventory {
        // Shard 1 listed first: shard 0 must still come first.
        statefulsets: vec![from_yaml(&operator_sts(1)), from_yaml(&operator_sts(0))],
        pods: vec![
            mk("prometheus-k8s-0", "0"),
            mk("prometheus-k8s-1", "0"),
            mk("prometheus-k8s-shard-1-0", "1"),
            mk("prometheus-k8s-shard-1-1", "1"),
        ],
        ..Default::default()
    };
    let found = find_instances(&inv);
    assert_eq!(found.len(), 1, "{found:#?}");
    let i = &found[0];
    assert_eq!(i.name, "k8s");
    assert_eq!(
        i.flavour,
        Flavour::Operator {
            prometheus: "k8s".into()
        }
    );
    assert_eq!(
        i.workloads
            .iter()
            .map(|w| w.name.as_str())
            .collect::<Vec<_>>(),
        ["prometheus-k8s", "prometheus-k8s-shard-1"]
    );
    assert_eq!(i.pods.len(), 4);
    assert_eq!(i.container, "prometheus");
    assert_eq!(i.sidecars, ["config-reloader"]);
    let data = i.data.as_ref().unwrap();
    assert_eq!(data.sub_path.as_deref(), Some("prometheus-db"));
    assert_eq!(
        data.claims(),
        [
            "prometheus-k8s-db-prometheus-k8s-0",
            "prometheus-k8s-db-prometheus-k8s-1",
            "prometheus-k8s-db-prometheus-k8s-shard-1-0",
            "prometheus-k8s-db-prometheus-k8s-shard-1-1"
        ]
    );
    assert_eq!(i.config.as_ref().unwrap().source, ConfigSource::EmptyDir);
    assert_eq!(
        select(&found, &TargetRef::Prometheus("k8s".into())).len(),
        1
    );
    assert_eq!(
        select(
            &found,
            &TargetRef::StatefulSet("prometheus-k8s-shard-1".into())
        )
        .len(),
        1
    );
    let one = select(&found, &TargetRef::Pod("prometheus-k8s-1".into()));
    assert_eq!(
        one[0]
            .pods
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["prometheus-k8s-1"]
    );
    assert_eq!(target_arg(i), "prometheus/k8s");
}

#[test]
fn plain_deployment_with_subpath_config() {
    let inv = Inventory {
        deployments: vec![from_yaml(PLAIN_DEPLOY)],
        pods: vec![pod(
            "default",
            "prometheus-5c4-xyz",
            &[("app", "prometheus")],
            true,
        )],
        ..Default::default()
    };
    let found = find_instances(&inv);
    assert_eq!(found.len(), 1);
    let i = &found[0];
    assert_eq!(i.flavour, Flavour::Plain);
    let config = i.config.as_ref().unwrap();
    assert_eq!(config.sub_path.as_deref(), Some("prometheus.yml"));
    assert_eq!(
        config.source,
        ConfigSource::ConfigMap {
            name: "prometheus-properties".into(),
            key: "prometheus.yml".into()
        }
    );
    let data = i.data.as_ref().unwrap();
    assert_eq!(
        data.source,
        DataSource::Pvc {
            claim: "prometheus-data".into()
        }
    );
    assert_eq!(data.mount_path, "/storage");
    assert_eq!(
        select(&found, &TargetRef::Deployment("prometheus".into())).len(),
        1
    );
    assert!(select(&found, &TargetRef::StatefulSet("prometheus".into())).is_empty());
}

#[test]
fn non_prometheus_workloads_and_controlled_pods_are_ignored() {
    let mut grafana: Deployment = from_yaml(PLAIN_DEPLOY);
    let c = &mut grafana
        .spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .containers[0];
    c.image = Some("grafana/grafana:10.0.0".into());
    c.args = Some(vec!["--config=/etc/grafana.ini".into()]);
    let mut owned = pod(
        "default",
        "prometheus-5c4-xyz",
        &[("app", "prometheus")],
        true,
    );
    owned.spec = from_yaml::<Deployment>(PLAIN_DEPLOY)
        .spec
        .unwrap()
        .template
        .spec;
    owned.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: "prometheus-5c4".into(),
            uid: "1".into(),
            controller: Some(true),
            ..Default::default()
        },
    ]);
    let mut bare = owned.clone();
    bare.metadata.name = Some("prom-by-hand".into());
    bare.metadata.owner_references = None;
    let inv = Inventory {
        deployments: vec![grafana],
        pods: vec![owned, bare],
        ..Default::default()
    };
    let found = find_instances(&inv);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].workloads[0],
        WorkloadRef {
            kind: WorkloadKind::Pod,
            name: "prom-by-hand".into(),
            replicas: 1,
            resource_version: None,
            ordered_ready: false,
        }
    );
    assert_eq!(found[0].pods.len(), 1);
}

#[test]
fn targets_parse_like_kubectl_resource_names() {
    assert_eq!(
        parse_target("deploy/x").unwrap(),
        TargetRef::Deployment("x".into())
    );
    assert_eq!(
        parse_target("deployment.apps/x").unwrap(),
        TargetRef::Deployment("x".into())
    );
    assert_eq!(
        parse_target("sts/x").unwrap(),
        TargetRef::StatefulSet("x".into())
    );
    assert_eq!(parse_target("pod/x").unwrap(), TargetRef::Pod("x".into()));
    assert_eq!(parse_target("po/x").unwrap(), TargetRef::Pod("x".into()));
    assert_eq!(
        parse_target("prometheus/k8s").unwrap(),
        TargetRef::Prometheus("k8s".into())
    );
    assert_eq!(parse_target("x").unwrap(), TargetRef::Name("x".into()));
    assert!(parse_target("svc/x").is_err());
    assert!(parse_target("deploy/").is_err());
    assert!(parse_target("a/b/c").is_err());
}

#[test]
fn flags_and_route_prefix_follow_prometheus_rules() {
    let args: Vec<String> = [
        "prometheus",
        "--web.external-url=https://example.com/prom/",
        "--web.listen-address",
        "0.0.0.0:9999",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(route_prefix(&args), "/prom");
    assert_eq!(
        flag_value(&args, "web.listen-address").as_deref(),
        Some("0.0.0.0:9999")
    );
    let with_prefix: Vec<String> = vec![
        "--web.route-prefix=/".into(),
        "--web.external-url=http://x/y".into(),
    ];
    assert_eq!(route_prefix(&with_prefix), "/");
    assert_eq!(route_prefix(&[]), "/");
    assert!(bool_flag(
        &["--web.enable-lifecycle=true".to_string()],
        "web.enable-lifecycle"
    ));
    assert!(!bool_flag(
        &[
            "--web.enable-lifecycle".to_string(),
            "--no-web.enable-lifecycle".to_string()
        ],
        "web.enable-lifecycle"
    ));
}

#[test]
fn selectors_render_in_the_api_query_syntax() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    let selector = LabelSelector {
        match_labels: Some(BTreeMap::from([
            ("app".to_string(), "prometheus".to_string()),
            ("component".to_string(), "server".to_string()),
        ])),
        match_expressions: Some(vec![
            LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["a".into(), "b".into()]),
            },
            LabelSelectorRequirement {
                key: "canary".into(),
                operator: "DoesNotExist".into(),
                values: None,
            },
        ]),
    };
    assert_eq!(
        selector_text(&selector).as_deref(),
        Some("app=prometheus,component=server,tier in (a,b),!canary")
    );
    assert_eq!(selector_text(&LabelSelector::default()), None);
}

/// A hand-made Deployment that leaves `--storage.tsdb.path` at Prometheus' default (`data/`, relative to the image's
/// `WORKDIR /prometheus`) and mounts its claim where the upstream image keeps its data. The data volume is the one at
/// `/prometheus`, whatever verb asks: before the one rule in `model::volume`, discover resolved `data/` against `/`
/// (found nothing, so doctor and resize saw no data volume) while fix-perms assumed `/prometheus` (found the claim).
#[test]
fn the_default_tsdb_path_is_resolved_against_the_image_workdir() {
    let yaml = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: prom, namespace: default}
spec:
  selector: {matchLabels: {app: prom}}
  template:
    metadata: {labels: {app: prom}}
    spec:
      containers:
      - name: prometheus
        image: prom/prometheus:v2.53.0
        args: [--config.file=/etc/prometheus/prometheus.yml]
        volumeMounts:
        - {name: config, mountPath: /etc/prometheus}
        - {name: data, mountPath: /prometheus}
      volumes:
      - {name: config, configMap: {name: prom-config}}
      - {name: data, persistentVolumeClaim: {claimName: prom-data}}
"#;
    let inv = Inventory {
        deployments: vec![from_yaml(yaml)],
        ..Default::default()
    };
    let found = find_instances(&inv);
    let data = found[0]
        .data
        .as_ref()
        .expect("the /prometheus mount holds the data");
    assert_eq!(data.mount_path, "/prometheus");
    assert_eq!(
        data.source,
        DataSource::Pvc {
            claim: "prom-data".into()
        }
    );
    // Without any args the image's CMD applies: `--storage.tsdb.path=/prometheus`.
    let mut bare: Deployment = from_yaml(yaml);
    let c = &mut bare
        .spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .containers[0];
    c.args = None;
    let found = find_instances(&Inventory {
        deployments: vec![bare],
        ..Default::default()
    });
    assert_eq!(found[0].data.as_ref().unwrap().path, "/prometheus");
}

/// What discovery listed comes back with the instance, so fix-perms and resize do not read it again: the
/// instance's own StatefulSets (with the resourceVersion a patch is preconditioned on), its pods, and its
/// `Prometheus` resource — and nothing of another instance in the same namespace.
#[test]
fn discovered_keeps_the_objects_it_was_recognised_from() {
    let mut sts: StatefulSet = from_yaml(&operator_sts(0));
    sts.metadata.resource_version = Some("900".into());
    let pair = [("operator.prometheus.io/name", "k8s")];
    let inv = Inventory {
        statefulsets: vec![sts],
        deployments: vec![from_yaml(PLAIN_DEPLOY)],
        pods: vec![
            pod("monitoring", "prometheus-k8s-0", &pair, true),
            pod(
                "default",
                "prometheus-5c4-xyz",
                &[("app", "prometheus")],
                true,
            ),
        ],
        prometheuses: vec![
            PrometheusResource::from_object(serde_json::json!({
                "metadata": {"name": "k8s", "namespace": "monitoring", "resourceVersion": "812",
                             "labels": {"app.kubernetes.io/managed-by": "Helm", "release": "kps"}},
                "spec": {"replicas": 1}
            })),
            PrometheusResource::from_object(serde_json::json!({
                "metadata": {"name": "k8s", "namespace": "other"}, "spec": {}
            })),
        ],
    };
    let found = find_instances(&inv);
    let operator = found
        .iter()
        .find(|i| i.namespace == "monitoring")
        .unwrap()
        .clone();
    let d = Discovered::of(&inv, operator);
    assert_eq!(d.statefulsets.len(), 1);
    assert!(d.deployments.is_empty());
    assert_eq!(
        d.pods
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect::<Vec<_>>(),
        ["prometheus-k8s-0"]
    );
    let resource = d.prometheus_resource.as_ref().unwrap();
    assert_eq!(resource.resource_version.as_deref(), Some("812"));
    assert_eq!(resource.helm_release().as_deref(), Some("kps"));
    let w = &d.instance.workloads[0];
    assert_eq!(w.resource_version.as_deref(), Some("900"));
    assert!(d.pod_spec(w).is_some());
    assert_eq!(
        d.workload_object(w).unwrap()["metadata"]["resourceVersion"],
        "900"
    );
}

#[test]
fn a_terminating_pod_is_not_the_server_but_is_named() {
    // During a rollout (or a `kubectl delete pod`) the old pod keeps phase Running and even Ready until its grace
    // period ends; only `metadata.deletionTimestamp` says it is shutting down (kubernetes pkg/controller/
    // controller_utils.go `IsPodActive`: a pod with a deletionTimestamp is not an active replica).
    let labels = [
        ("app.kubernetes.io/component", "server"),
        ("app.kubernetes.io/name", "prometheus"),
        ("app.kubernetes.io/instance", "prometheus"),
    ];
    let mut old = pod("monitoring", "prometheus-server-old-aaaaa", &labels, true);
    old.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    let inv = Inventory {
        deployments: vec![from_yaml(CHART_DEPLOY_NEW)],
        pods: vec![
            old,
            pod("monitoring", "prometheus-server-new-bbbbb", &labels, true),
        ],
        ..Default::default()
    };
    let found = find_instances(&inv);
    let i = &found[0];
    let names = |pods: &[PodRef]| pods.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&i.pods), ["prometheus-server-new-bbbbb"]);
    assert_eq!(names(&i.terminating), ["prometheus-server-old-aaaaa"]);
    assert_eq!(
        describe(i),
        "monitoring/prometheus-server (Helm chart release prometheus, deploy/prometheus-server, 1 pod; \
         pod prometheus-server-old-aaaaa is terminating)"
    );
    // The objects a verb reads are the live pod's only.
    let own = Discovered::of(&inv, i.clone());
    assert_eq!(own.pods.len(), 1);
    // Naming the terminating pod selects the instance with no live pod: nothing acts on the pod shutting down.
    let one = select(
        &found,
        &TargetRef::Pod("prometheus-server-old-aaaaa".into()),
    );
    assert_eq!(one.len(), 1);
    assert!(one[0].pods.is_empty());
    assert_eq!(names(&one[0].terminating), ["prometheus-server-old-aaaaa"]);
}
