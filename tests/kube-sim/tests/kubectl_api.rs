//! The real kubectl against kube-sim's API server: discovery, apply with server-side validation, get (-o yaml,
//! -o wide, -l) of the modelled kinds, patch (merge, strategic, --dry-run=server), rollout status, delete
//! --cascade=orphan with the operator, admission texts, RBAC and `auth can-i` for both users, `get --raw`.
//! Assertions are on kubectl's own output, as a real cluster would make it print.
#[path = "kubelet_support/mod.rs"]
mod support;

use kube_sim::bootstrap::Options;
use kube_sim::cluster::Cluster;
use std::time::Duration;
use support::{apply, kubectl, wait_for};

/// Columns of a kubectl table line, whitespace-separated.
fn row<'a>(out: &'a str, first: &str) -> Option<Vec<&'a str>> {
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|c| c.first() == Some(&first))
}

fn ok(c: &Cluster, args: &[&str]) -> String {
    let (code, out, err) = kubectl(c, args);
    assert_eq!(code, 0, "kubectl {args:?} failed: {err}");
    out
}

fn fails(c: &Cluster, args: &[&str]) -> String {
    let (code, out, err) = kubectl(c, args);
    assert_ne!(code, 0, "kubectl {args:?} should fail, printed {out}");
    err
}

fn apply_out(c: &Cluster, yaml: &str) -> (i32, String, String) {
    let path = std::env::temp_dir().join(format!(
        "kube-sim-apply-{}-{}.yaml",
        std::process::id(),
        kube_sim::store::random_suffix(5)
    ));
    std::fs::write(&path, yaml).expect("write manifest");
    let r = kubectl(c, &["apply", "-f", path.to_str().unwrap_or_default()]);
    let _ = std::fs::remove_file(&path);
    r
}

const APP: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: obs}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus-server, namespace: obs}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: prometheus-server, namespace: obs, labels: {app.kubernetes.io/name: prometheus}}
data: {prometheus.yml: "global: {scrape_interval: 15s}\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: web-auth, namespace: obs}
stringData: {user: admin}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fixed}
provisioner: ebs.csi.aws.com
allowVolumeExpansion: false
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: ebs.csi.aws.com}
spec: {attachRequired: true, fsGroupPolicy: File}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: prometheus-server, namespace: obs, labels: {app.kubernetes.io/name: prometheus}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fixed-claim, namespace: obs}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fixed
  resources: {requests: {storage: 64Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: prometheus-server, namespace: obs, labels: {app.kubernetes.io/name: prometheus}}
spec:
  selector: {app.kubernetes.io/name: prometheus}
  ports: [{name: http, port: 80, targetPort: 9090}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus-server, namespace: obs, labels: {app.kubernetes.io/name: prometheus}}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: prometheus}}
  template:
    metadata: {labels: {app.kubernetes.io/name: prometheus}}
    spec:
      serviceAccountName: prometheus-server
      containers:
      - name: prometheus-server
        image: registry.k8s.io/pause:3.10
        ports: [{containerPort: 9090}]
        volumeMounts: [{name: storage-volume, mountPath: /data}]
      volumes:
      - name: storage-volume
        persistentVolumeClaim: {claimName: prometheus-server}
"#;

fn cluster() -> Option<Cluster> {
    Cluster::start_or_skip(Options::default())
}

#[test]
fn knobs_latency_faults_and_request_counts() {
    let Some(c) = Cluster::start_or_skip(Options {
        latency: Some(Duration::from_millis(100)),
        faults: vec!["500:GET:/api/v1/namespaces/default/configmaps:1".into()],
        ..Options::default()
    }) else {
        return;
    };
    let err = fails(&c, &["get", "configmaps", "-n", "default"]);
    assert!(
        err.contains(
            "Error from server (InternalError): Internal error occurred: injected fault (kube-sim)"
        ),
        "{err}"
    );
    let started = std::time::Instant::now();
    let out = ok(&c, &["get", "configmaps", "-n", "default"]);
    assert_eq!(
        row(&out, "kube-root-ca.crt").map(|r| r[1]),
        Some("1"),
        "the root CA ConfigMap every namespace has: {out}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "latency applied"
    );
    let stats = c.stats().expect("stats");
    assert!(
        stats["requests"]["GET /api/v1/namespaces/default/configmaps"].as_u64() >= Some(2),
        "{stats}"
    );
    assert!(stats["total"].as_u64() > Some(2));
}

#[test]
fn discovery_version_and_raw() {
    let Some(c) = cluster() else { return };
    let v = ok(&c, &["version"]);
    assert!(v.contains("Server Version: v1.33.4+kube-sim"), "{v}");
    let res = ok(&c, &["api-resources"]);
    assert_eq!(
        row(&res, "persistentvolumeclaims"),
        Some(vec![
            "persistentvolumeclaims",
            "pvc",
            "v1",
            "true",
            "PersistentVolumeClaim"
        ])
    );
    assert_eq!(
        row(&res, "statefulsets"),
        Some(vec![
            "statefulsets",
            "sts",
            "apps/v1",
            "true",
            "StatefulSet"
        ])
    );
    assert_eq!(
        row(&res, "storageclasses"),
        Some(vec![
            "storageclasses",
            "sc",
            "storage.k8s.io/v1",
            "false",
            "StorageClass"
        ])
    );
    let raw: serde_json::Value =
        serde_json::from_str(&ok(&c, &["get", "--raw", "/api/v1"])).expect("JSON");
    assert_eq!(raw["kind"], "APIResourceList");
    assert!(
        raw["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "pods/exec")
    );
    let sc = ok(&c, &["get", "sc"]);
    assert_eq!(
        row(&sc, "standard").map(|r| r[1]),
        Some("(default)"),
        "{sc}"
    );
    let dump = std::env::temp_dir().join(format!("kube-sim-dump-{}", std::process::id()));
    let out = ok(
        &c,
        &[
            "cluster-info",
            "dump",
            "-A",
            "--output-directory",
            dump.to_str().unwrap_or_default(),
        ],
    );
    assert!(out.contains("Cluster info dumped to"), "{out}");
    assert!(dump.join("kube-system/daemonsets.json").exists() && dump.join("nodes.json").exists());
    let _ = std::fs::remove_dir_all(&dump);
    let err = fails(&c, &["--token", "not-a-token", "--user", "", "get", "pods"]);
    assert!(err.contains("Unauthorized"), "{err}");
}

#[test]
fn apply_get_patch_and_rollout_like_a_real_cluster() {
    let Some(c) = cluster() else { return };
    let (code, out, err) = apply_out(&c, APP);
    assert_eq!(code, 0, "{err}");
    for line in [
        "namespace/obs created",
        "configmap/prometheus-server created",
        "deployment.apps/prometheus-server created",
        "storageclass.storage.k8s.io/fixed created",
    ] {
        assert!(out.contains(line), "{line} in {out}");
    }
    let (_, again, _) = apply_out(&c, APP);
    assert!(
        again.contains("deployment.apps/prometheus-server unchanged"),
        "{again}"
    );
    let rollout = ok(
        &c,
        &[
            "rollout",
            "status",
            "deploy/prometheus-server",
            "-n",
            "obs",
            "--timeout=60s",
        ],
    );
    assert!(
        rollout.contains("deployment \"prometheus-server\" successfully rolled out"),
        "{rollout}"
    );

    let pods = ok(
        &c,
        &[
            "get",
            "pods",
            "-n",
            "obs",
            "-l",
            "app.kubernetes.io/name=prometheus",
            "-o",
            "wide",
        ],
    );
    let line = pods.lines().nth(1).expect("one pod");
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert!(cols[0].starts_with("prometheus-server-"));
    assert_eq!(&cols[1..4], &["1/1", "Running", "0"], "{pods}");
    assert!(cols.contains(&"kube-sim-node"), "{pods}");
    assert!(
        ok(
            &c,
            &[
                "get",
                "pods",
                "-n",
                "obs",
                "-l",
                "app.kubernetes.io/name=grafana"
            ]
        )
        .is_empty()
    );

    let pvpvc = ok(&c, &["get", "pv,pvc", "-n", "obs"]);
    assert!(
        pvpvc.contains("persistentvolumeclaim/prometheus-server"),
        "{pvpvc}"
    );
    let pv = pvpvc
        .lines()
        .find(|l| l.starts_with("persistentvolume/") && l.contains(" obs/prometheus-server "))
        .expect("the PV bound to the claim");
    for want in [
        "64Mi",
        "RWO",
        "Delete",
        "Bound",
        "obs/prometheus-server",
        "standard",
    ] {
        assert!(pv.split_whitespace().any(|w| w == want), "{want} in {pv}");
    }
    let ep = ok(&c, &["get", "endpoints", "-n", "obs", "prometheus-server"]);
    let ep_row = row(&ep, "prometheus-server").expect("endpoints row");
    assert!(ep_row[1].ends_with(":9090"), "{ep}");

    for kind in [
        "namespaces",
        "nodes",
        "pods",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "events",
        "persistentvolumeclaims",
        "persistentvolumes",
        "storageclasses",
        "csidrivers",
        "deployments",
        "replicasets",
        "statefulsets",
        "serviceaccounts",
        "customresourcedefinitions",
        "roles",
        "clusterroles",
    ] {
        let yaml = ok(&c, &["get", kind, "-A", "-o", "yaml"]);
        assert!(yaml.starts_with("apiVersion: v1\nitems:"), "{kind}: {yaml}");
        ok(&c, &["get", kind, "-A", "-o", "wide"]);
    }
    let deploy = ok(&c, &["get", "deploy", "-n", "obs", "-o", "wide"]);
    assert_eq!(
        row(&deploy, "prometheus-server").map(|r| r[1..4].to_vec()),
        Some(vec!["1/1", "1", "1"]),
        "{deploy}"
    );
    assert!(
        deploy.contains("registry.k8s.io/pause:3.10")
            && deploy.contains("app.kubernetes.io/name=prometheus"),
        "{deploy}"
    );

    // Merge patch on a cluster-scoped object, then the same again: kubectl says "(no change)".
    let p = ok(
        &c,
        &[
            "patch",
            "storageclass",
            "fixed",
            "-p",
            r#"{"allowVolumeExpansion": true}"#,
        ],
    );
    assert_eq!(p.trim(), "storageclass.storage.k8s.io/fixed patched");
    let p = ok(
        &c,
        &[
            "patch",
            "storageclass",
            "fixed",
            "-p",
            r#"{"allowVolumeExpansion": true}"#,
        ],
    );
    assert_eq!(
        p.trim(),
        "storageclass.storage.k8s.io/fixed patched (no change)"
    );
    let describe = ok(&c, &["describe", "storageclass", "fixed"]);
    assert!(
        describe.contains("AllowVolumeExpansion:  True"),
        "{describe}"
    );

    // Strategic merge by container name, first as a server-side dry run (nothing stored).
    let args = r#"{"spec":{"template":{"spec":{"containers":[{"name":"prometheus-server","args":["--web.enable-lifecycle"]}]}}}}"#;
    let dry = ok(
        &c,
        &[
            "patch",
            "deploy",
            "prometheus-server",
            "-n",
            "obs",
            "-p",
            args,
            "--dry-run=server",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].args}",
        ],
    );
    assert_eq!(dry, r#"["--web.enable-lifecycle"]"#);
    let stored = ok(
        &c,
        &[
            "get",
            "deploy",
            "prometheus-server",
            "-n",
            "obs",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].args}",
        ],
    );
    assert_eq!(stored, "", "dry run stored nothing");
    let p = ok(
        &c,
        &[
            "patch",
            "deploy",
            "prometheus-server",
            "-n",
            "obs",
            "-p",
            args,
        ],
    );
    assert_eq!(p.trim(), "deployment.apps/prometheus-server patched");
    let image = ok(
        &c,
        &[
            "get",
            "deploy",
            "prometheus-server",
            "-n",
            "obs",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(
        image, "registry.k8s.io/pause:3.10",
        "strategic merge kept the other fields"
    );
    let rollout = ok(
        &c,
        &[
            "rollout",
            "status",
            "deploy/prometheus-server",
            "-n",
            "obs",
            "--timeout=60s",
        ],
    );
    assert!(rollout.contains("successfully rolled out"), "{rollout}");
    let rs = ok(&c, &["get", "rs", "-n", "obs"]);
    assert_eq!(rs.lines().count(), 3, "old and new ReplicaSet: {rs}");
}

#[test]
fn admission_and_validation_texts() {
    let Some(c) = cluster() else { return };
    let (code, _, err) = apply_out(&c, APP);
    assert_eq!(code, 0, "{err}");
    wait_for(&c, "fixed-claim bound", Duration::from_secs(30), || {
        let (_, phase, _) = kubectl(
            &c,
            &[
                "get",
                "pvc",
                "fixed-claim",
                "-n",
                "obs",
                "-o",
                "jsonpath={.status.phase}",
            ],
        );
        (phase == "Bound").then_some(())
    });
    let err = fails(
        &c,
        &[
            "patch",
            "pvc",
            "fixed-claim",
            "-n",
            "obs",
            "-p",
            r#"{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}"#,
        ],
    );
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): persistentvolumeclaims \"fixed-claim\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
    );
    let err = fails(
        &c,
        &[
            "patch",
            "pvc",
            "fixed-claim",
            "-n",
            "obs",
            "-p",
            r#"{"spec":{"resources":{"requests":{"storage":"32Mi"}}}}"#,
        ],
    );
    assert_eq!(
        err.trim(),
        "The PersistentVolumeClaim \"fixed-claim\" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
    );
    let err = fails(
        &c,
        &[
            "patch",
            "pvc",
            "fixed-claim",
            "-n",
            "obs",
            "-p",
            r#"{"spec":{"accessModes":["ReadWriteMany"]}}"#,
        ],
    );
    assert!(err.contains("spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"), "{err}");

    let (code, _, err) = apply_out(&c, &APP.replace("replicas: 1", "replicaz: 1"));
    assert_ne!(code, 0);
    assert!(
        err.contains("strict decoding error: unknown field \"spec.replicaz\""),
        "{err}"
    );

    let bad_deploy = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: obs}
spec:
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec:
      containers: [{name: c, image: registry.k8s.io/pause:3.10, volumeMounts: [{name: storage-volume, mountPath: /data}]}]
"#;
    let (code, _, err) = apply_out(&c, bad_deploy);
    assert_ne!(code, 0);
    assert!(err.contains("The Deployment \"broken\" is invalid: spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"storage-volume\""), "{err}");

    let sts = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: obs}
spec:
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: registry.k8s.io/pause:3.10, volumeMounts: [{name: storage-volume, mountPath: /data}]}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 64Mi}}}
"#;
    let (code, out, err) = apply_out(&c, sts);
    assert_eq!(code, 0, "the apps API accepts the template: {err}");
    assert!(out.contains("statefulset.apps/web created"));
    let events = wait_for(&c, "FailedCreate", Duration::from_secs(20), || {
        let (_, ev, _) = kubectl(
            &c,
            &[
                "get",
                "events",
                "-n",
                "obs",
                "--field-selector",
                "reason=FailedCreate",
            ],
        );
        ev.contains("FailedCreate").then_some(ev)
    });
    assert!(
        events.contains("create Pod web-0 in StatefulSet web failed error: Pod \"web-0\" is invalid: spec.containers[0].volumeMounts[0].name: Not found: \"storage-volume\""),
        "{events}"
    );
    let (code, _, err) = apply_out(&c, &sts.replace("storage: 64Mi", "storage: 128Mi"));
    assert_ne!(code, 0);
    assert!(err.contains("The StatefulSet \"web\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than"), "{err}");
}

#[test]
fn rbac_forbidden_messages_and_auth_can_i_for_both_users() {
    let Some(c) = cluster() else { return };
    let rbac = r#"
apiVersion: v1
kind: Namespace
metadata: {name: obs}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: obs}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: obs}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: restricted}]
"#;
    apply(&c, rbac);
    let r = ["--context", "kube-sim-restricted"];
    assert_eq!(
        ok(
            &c,
            &[
                "auth",
                "can-i",
                "patch",
                "persistentvolumeclaims",
                "-n",
                "obs"
            ]
        )
        .trim(),
        "yes"
    );
    let (code, out, _) = kubectl(
        &c,
        &[
            &r[..],
            &[
                "auth",
                "can-i",
                "patch",
                "persistentvolumeclaims",
                "-n",
                "obs",
            ],
        ]
        .concat(),
    );
    assert_eq!((code, out.trim()), (1, "no"));
    assert_eq!(
        ok(
            &c,
            &[&r[..], &["auth", "can-i", "list", "pods", "-n", "obs"]].concat()
        )
        .trim(),
        "yes"
    );
    assert_eq!(
        ok(&c, &[&r[..], &["get", "pods", "-n", "obs"]].concat()),
        ""
    );
    let err = fails(&c, &[&r[..], &["get", "pods", "-n", "default"]].concat());
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): pods is forbidden: User \"restricted\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    let err = fails(&c, &[&r[..], &["delete", "pod", "x", "-n", "obs"]].concat());
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): pods \"x\" is forbidden: User \"restricted\" cannot delete resource \"pods\" in API group \"\" in the namespace \"obs\""
    );
}

const OPERATOR_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: prometheuses.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: Prometheus, listKind: PrometheusList, plural: prometheuses, singular: prometheus, shortNames: [prom], categories: [prometheus-operator]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Version, type: string, jsonPath: .spec.version}
    - {name: Desired, type: integer, jsonPath: .spec.replicas}
    - {name: Ready, type: integer, jsonPath: .status.availableReplicas}
    - {name: Paused, type: boolean, jsonPath: .status.paused, priority: 1}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

#[test]
fn operator_crd_resource_pause_and_orphan_delete() {
    let Some(c) = cluster() else { return };
    let (code, out, err) = apply_out(&c, OPERATOR_CRD);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("customresourcedefinition.apiextensions.k8s.io/prometheuses.monitoring.coreos.com created"), "{out}");
    ok(
        &c,
        &[
            "wait",
            "--for=condition=established",
            "crd/prometheuses.monitoring.coreos.com",
            "--timeout=30s",
        ],
    );
    let cr = r#"
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: example, namespace: monitoring}
spec:
  version: v2.42.0
  replicas: 1
  image: registry.k8s.io/pause:3.10
  storage:
    volumeClaimTemplate:
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 64Mi}}}
"#;
    apply(&c, cr);
    wait_for(
        &c,
        "operator StatefulSet ready",
        Duration::from_secs(60),
        || {
            let (_, r, _) = kubectl(
                &c,
                &[
                    "get",
                    "sts",
                    "prometheus-example",
                    "-n",
                    "monitoring",
                    "-o",
                    "jsonpath={.status.readyReplicas}",
                ],
            );
            (r == "1").then_some(())
        },
    );
    let proms = ok(&c, &["get", "prometheus", "-n", "monitoring"]);
    assert_eq!(
        row(&proms, "example").map(|r| r[1..4].to_vec()),
        Some(vec!["v2.42.0", "1", "1"]),
        "{proms}"
    );
    let pvcs = ok(
        &c,
        &[
            "get",
            "pvc",
            "-n",
            "monitoring",
            "-l",
            "operator.prometheus.io/name=example",
            "-o",
            "name",
        ],
    );
    assert_eq!(
        pvcs.trim(),
        "persistentvolumeclaim/prometheus-example-db-prometheus-example-0"
    );

    let p = ok(
        &c,
        &[
            "patch",
            "prometheus/example",
            "-n",
            "monitoring",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"paused":true}}"#,
        ],
    );
    assert_eq!(p.trim(), "prometheus.monitoring.coreos.com/example patched");
    let pod_uid = ok(
        &c,
        &[
            "get",
            "pod",
            "prometheus-example-0",
            "-n",
            "monitoring",
            "-o",
            "jsonpath={.metadata.uid}",
        ],
    );
    let d = ok(
        &c,
        &[
            "delete",
            "statefulset",
            "-l",
            "operator.prometheus.io/name=example",
            "-n",
            "monitoring",
            "--cascade=orphan",
        ],
    );
    assert_eq!(d.trim(), "statefulset.apps \"prometheus-example\" deleted");
    std::thread::sleep(Duration::from_secs(2));
    let (code, _, err) = kubectl(
        &c,
        &["get", "sts", "prometheus-example", "-n", "monitoring"],
    );
    assert_ne!(code, 0, "paused: not recreated");
    assert!(
        err.contains("statefulsets.apps \"prometheus-example\" not found"),
        "{err}"
    );
    assert_eq!(
        ok(
            &c,
            &[
                "get",
                "pod",
                "prometheus-example-0",
                "-n",
                "monitoring",
                "-o",
                "jsonpath={.metadata.uid}"
            ]
        ),
        pod_uid,
        "pod kept"
    );
    ok(
        &c,
        &[
            "patch",
            "prometheus/example",
            "-n",
            "monitoring",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"paused":false}}"#,
        ],
    );
    wait_for(
        &c,
        "StatefulSet recreated and pod adopted",
        Duration::from_secs(30),
        || {
            let (_, owner, _) = kubectl(
                &c,
                &[
                    "get",
                    "pod",
                    "prometheus-example-0",
                    "-n",
                    "monitoring",
                    "-o",
                    "jsonpath={.metadata.ownerReferences[0].name}",
                ],
            );
            (owner == "prometheus-example").then_some(())
        },
    );
    assert_eq!(
        ok(
            &c,
            &[
                "get",
                "pod",
                "prometheus-example-0",
                "-n",
                "monitoring",
                "-o",
                "jsonpath={.metadata.uid}"
            ]
        ),
        pod_uid,
        "no service disruption"
    );
}

#[test]
fn foreground_delete_and_stale_replace_conflict() {
    let Some(c) = cluster() else { return };
    let deploy = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers: [{name: c, image: registry.k8s.io/pause:3.10}]
"#;
    apply(&c, deploy);
    ok(&c, &["rollout", "status", "deploy/d", "--timeout=60s"]);
    let d = ok(&c, &["delete", "deploy", "d", "--cascade=foreground"]);
    assert_eq!(d.trim(), "deployment.apps \"d\" deleted");
    assert_eq!(
        ok(&c, &["get", "rs,pods", "-l", "app=d", "-o", "name"]),
        "",
        "dependents went first"
    );

    let mut cm = ok(&c, &["get", "cm", "kube-root-ca.crt", "-o", "yaml"]);
    let rv_line = cm
        .lines()
        .find(|l| l.trim_start().starts_with("resourceVersion:"))
        .expect("resourceVersion")
        .to_string();
    cm = cm.replace(&rv_line, "  resourceVersion: \"1\"");
    let path = std::env::temp_dir().join(format!("kube-sim-stale-{}.yaml", std::process::id()));
    std::fs::write(&path, cm).expect("write");
    let err = fails(&c, &["replace", "-f", path.to_str().unwrap_or_default()]);
    let _ = std::fs::remove_file(&path);
    assert!(
        err.contains("Error from server (Conflict): error when replacing") && err.contains("Operation cannot be fulfilled on configmaps \"kube-root-ca.crt\": the object has been modified; please apply your changes to the latest version and try again"),
        "{err}"
    );
}
