//! Test-only snapshots of the installs the incidents describe, built from k8s-openapi types (no cluster).

use super::snapshot::*;
use crate::model::{Flavour, LabelGeneration, PrometheusResource, WorkloadKind, WorkloadRef};
use k8s_openapi::api::core::v1::{
    CSIPersistentVolumeSource, Container, HostPathVolumeSource, PersistentVolume,
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, PersistentVolumeSpec,
    PodSecurityContext, PodSpec, Volume, VolumeMount,
};
use k8s_openapi::api::storage::v1::{CSIDriver, CSIDriverSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str, sub_path: Option<&str>) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        sub_path: sub_path.map(Into::into),
        ..Default::default()
    }
}

pub fn csi_pv(name: &str, driver: &str, fs_type: Option<&str>, mode: &str) -> PersistentVolume {
    PersistentVolume {
        metadata: meta(name),
        spec: Some(PersistentVolumeSpec {
            access_modes: Some(vec![mode.into()]),
            csi: Some(CSIPersistentVolumeSource {
                driver: driver.into(),
                fs_type: fs_type.map(Into::into),
                volume_handle: format!("{name}-handle"),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn csi_driver(name: &str, policy: Option<&str>) -> CSIDriver {
    CSIDriver {
        metadata: meta(name),
        spec: CSIDriverSpec {
            fs_group_policy: policy.map(Into::into),
            ..Default::default()
        },
    }
}

fn pvc(name: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: meta(name),
        ..Default::default()
    }
}

fn pods(ready: bool) -> Vec<PodState> {
    vec![PodState {
        name: "prometheus-0".into(),
        ready,
        node: Some("node-1".into()),
    }]
}

const PERMISSION_DENIED: &str = "ts=2024-05-02T10:00:00.000Z caller=query_logger.go:87 level=error component=activeQueryTracker msg=\"Error opening query log file\" file=/prometheus/queries.active err=\"open /prometheus/queries.active: permission denied\"";

/// Incident 4: a hand-made Deployment of `prom/prometheus:latest` with a busybox `chmod -R 777` initContainer.
pub fn handmade_chmod() -> PermsSnapshot {
    let prometheus = Container {
        name: "prometheus".into(),
        image: Some("prom/prometheus:latest".into()),
        args: Some(vec![
            "--config.file=/etc/prometheus/prometheus.yml".into(),
            "--storage.tsdb.path=/storage/prometheus/".into(),
        ]),
        volume_mounts: Some(vec![
            mount("prometheus-config-volume", "/etc/prometheus/", None),
            mount("prometheus-storage", "/storage/prometheus", None),
        ]),
        ..Default::default()
    };
    let init = Container {
        name: "init-chmod".into(),
        image: Some("busybox".into()),
        command: Some(vec![
            "sh".into(),
            "-c".into(),
            "mkdir -p /storage/prometheus && chmod -R 777 /storage/prometheus".into(),
        ]),
        volume_mounts: Some(vec![mount(
            "prometheus-storage",
            "/storage/prometheus",
            None,
        )]),
        ..Default::default()
    };
    PermsSnapshot {
        namespace: "monitoring".into(),
        origin: Default::default(),
        install: Flavour::Plain,
        workload: WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: "prometheus".into(),
            replicas: 1,
            resource_version: Some("41".into()),
            ordered_ready: false,
        },
        prometheus_resource: None,
        pod_spec: PodSpec {
            containers: vec![prometheus],
            init_containers: Some(vec![init]),
            volumes: Some(vec![
                Volume {
                    name: "prometheus-config-volume".into(),
                    ..Default::default()
                },
                Volume {
                    name: "prometheus-storage".into(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: "prometheus-data".into(),
                        read_only: None,
                    }),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        },
        container: "prometheus".into(),
        pvc: Some(pvc("prometheus-data")),
        pv: Some(csi_pv(
            "pvc-0001",
            "kube-sim.io/local",
            Some("ext4"),
            "ReadWriteOnce",
        )),
        unreadable: Vec::new(),
        csi_driver: None,
        log_lines: vec![],
        pods: pods(true),
        volume_root: None,
        target_object: None,
    }
}

/// Incident 5: kube-prometheus-stack on Cinder CSI; the resource sets runAsUser 1000/runAsGroup 2000 but no fsGroup,
/// and an added chown initContainer; the pod logs permission denied and never becomes Ready.
pub fn kps_permission_denied() -> PermsSnapshot {
    let security_context = json!({
        "runAsUser": 1000, "runAsGroup": 2000, "runAsNonRoot": true,
        "seccompProfile": {"type": "RuntimeDefault"}
    });
    let init_chown = json!({
        "name": "init-chown-data",
        "image": "busybox:1.36",
        "command": ["chown", "-R", "1000:2000", "/prometheus"],
        "volumeMounts": [{"name": "prometheus-kps-prometheus-db", "mountPath": "/prometheus", "subPath": "prometheus-db"}]
    });
    let spec = json!({
        "version": "v3.14.0",
        "securityContext": security_context,
        "initContainers": [init_chown],
        "storage": {"volumeClaimTemplate": {"spec": {"storageClassName": "cinder", "resources": {"requests": {"storage": "50Gi"}}}}}
    });
    let prometheus = Container {
        name: "prometheus".into(),
        image: Some("quay.io/prometheus/prometheus:v3.14.0".into()),
        args: Some(vec![
            "--web.enable-lifecycle".into(),
            "--config.file=/etc/prometheus/config_out/prometheus.env.yaml".into(),
            "--storage.tsdb.path=/prometheus".into(),
        ]),
        volume_mounts: Some(vec![
            mount("config-out", "/etc/prometheus/config_out", None),
            mount(
                "prometheus-kps-prometheus-db",
                "/prometheus",
                Some("prometheus-db"),
            ),
        ]),
        ..Default::default()
    };
    let reloader_init = Container {
        name: "init-config-reloader".into(),
        image: Some("quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1".into()),
        volume_mounts: Some(vec![mount(
            "config-out",
            "/etc/prometheus/config_out",
            None,
        )]),
        ..Default::default()
    };
    let chown: Container = serde_json::from_value(init_chown).expect("valid container");
    PermsSnapshot {
        namespace: "monitoring".into(),
        origin: Default::default(),
        install: Flavour::Operator {
            prometheus: "kps-prometheus".into(),
        },
        workload: WorkloadRef {
            kind: WorkloadKind::StatefulSet,
            name: "prometheus-kps-prometheus".into(),
            replicas: 1,
            resource_version: Some("900".into()),
            ordered_ready: false,
        },
        // Labelled as kube-prometheus-stack's templates label it (release `kps`).
        prometheus_resource: Some(PrometheusResource::from_object(json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "Prometheus",
            "metadata": {
                "name": "kps-prometheus",
                "namespace": "monitoring",
                "resourceVersion": "812",
                "labels": {
                    "app": "kube-prometheus-stack-prometheus",
                    "app.kubernetes.io/managed-by": "Helm",
                    "release": "kps",
                },
            },
            "spec": spec,
        }))),
        pod_spec: PodSpec {
            containers: vec![prometheus],
            init_containers: Some(vec![reloader_init, chown]),
            security_context: serde_json::from_value(security_context).ok(),
            volumes: Some(vec![Volume {
                name: "config-out".into(),
                ..Default::default()
            }]),
            ..Default::default()
        },
        container: "prometheus".into(),
        pvc: Some(pvc("prometheus-kps-prometheus-db-prometheus-kps-prometheus-0")),
        pv: Some(csi_pv("pvc-cinder-1", "cinder.csi.openstack.org", Some("ext4"), "ReadWriteOnce")),
        unreadable: Vec::new(),
        csi_driver: None,
        log_lines: vec![
            "ts=2024-05-02T10:00:00.000Z caller=main.go:600 level=info msg=\"Starting Prometheus Server\"".into(),
            PERMISSION_DENIED.into(),
            "panic: Unable to create mmap-ed active query log".into(),
        ],
        pods: pods(false),
        volume_root: None,
        target_object: None,
    }
}

/// A plain Deployment whose data is a hostPath: fsGroup cannot help.
pub fn plain_host_path() -> PermsSnapshot {
    let mut snap = handmade_chmod();
    snap.workload.resource_version = Some("7".into());
    let c = &mut snap.pod_spec.containers[0];
    c.image = Some("quay.io/prometheus/prometheus:v2.42.0".into());
    c.args = Some(vec!["--storage.tsdb.path=/prometheus".into()]);
    c.volume_mounts = Some(vec![mount("data", "/prometheus", None)]);
    snap.pod_spec.init_containers = None;
    snap.pod_spec.volumes = Some(vec![Volume {
        name: "data".into(),
        host_path: Some(HostPathVolumeSource {
            path: "/var/lib/prometheus-data".into(),
            type_: Some("DirectoryOrCreate".into()),
        }),
        ..Default::default()
    }]);
    snap.pvc = None;
    snap.pv = None;
    snap.log_lines = vec![PERMISSION_DENIED.into()];
    snap.pods = pods(false);
    snap
}

/// The prometheus-community chart as a Deployment whose values dropped fsGroup.
pub fn chart_without_fs_group() -> PermsSnapshot {
    let mut snap = handmade_chmod();
    snap.install = Flavour::Chart {
        release: "prometheus".into(),
        chart: Some("prometheus-29.27.0".into()),
        labels: LabelGeneration::Recommended,
    };
    snap.workload.name = "prometheus-server".into();
    snap.container = "prometheus-server".into();
    let c = &mut snap.pod_spec.containers[0];
    c.name = "prometheus-server".into();
    c.image = Some("quay.io/prometheus/prometheus:v3.14.0".into());
    c.args = Some(vec!["--storage.tsdb.path=/data".into()]);
    c.volume_mounts = Some(vec![mount("storage-volume", "/data", None)]);
    snap.pod_spec.init_containers = None;
    snap.pod_spec.volumes = Some(vec![Volume {
        name: "storage-volume".into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: "prometheus-server".into(),
            read_only: None,
        }),
        ..Default::default()
    }]);
    snap.pod_spec.security_context = Some(PodSecurityContext {
        run_as_user: Some(65534),
        run_as_group: Some(65534),
        run_as_non_root: Some(true),
        ..Default::default()
    });
    snap.pvc = Some(pvc("prometheus-server"));
    snap.log_lines = vec![PERMISSION_DENIED.replace("/prometheus/", "/data/")];
    snap.pods = pods(false);
    snap
}

/// Diagnose and plan a snapshot.
pub fn plan_of(snap: &PermsSnapshot) -> super::PermsPlan {
    super::plan(snap, &super::diagnose(snap))
}

/// The kinds of a plan's changes, in order.
pub fn kinds(plan: &super::PermsPlan) -> Vec<super::ChangeKind> {
    plan.changes.iter().map(|c| c.kind).collect()
}
