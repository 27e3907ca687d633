//! Test snapshots of the installs the incidents describe: YAML in `tests/fixtures/fix-perms/` (written by us in the
//! shapes those installs have), assembled into inspect's one `InstanceSnapshot` as `--from-dump` and the live
//! gather assemble theirs, so the diagnosis and the plan are tested on the snapshot they decide from.

use crate::inspect::snapshot::{ContainerLog, Data, Gap, InstanceSnapshot, Objects, assemble};
use k8s_openapi::api::core::v1::{
    CSIPersistentVolumeSource, PersistentVolume, PersistentVolumeSpec, PodSpec,
};
use k8s_openapi::api::storage::v1::{CSIDriver, CSIDriverSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub const HANDMADE_CHMOD: &str = include_str!("../../tests/fixtures/fix-perms/handmade-chmod.yaml");
pub const KPS_PERMISSION_DENIED: &str =
    include_str!("../../tests/fixtures/fix-perms/kps-permission-denied.yaml");
pub const PLAIN_HOST_PATH: &str =
    include_str!("../../tests/fixtures/fix-perms/plain-host-path.yaml");
pub const CHART_WITHOUT_FS_GROUP: &str =
    include_str!("../../tests/fixtures/fix-perms/chart-without-fs-group.yaml");

const PERMISSION_DENIED: &str = "ts=2024-05-02T10:00:00.000Z caller=query_logger.go:87 level=error component=activeQueryTracker msg=\"Error opening query log file\" file=/prometheus/queries.active err=\"open /prometheus/queries.active: permission denied\"";

/// The only instance of a fixture.
pub fn instance(yaml: &str) -> InstanceSnapshot {
    let objects = Objects::from_yaml(yaml).expect("fixture parses");
    let mut all = assemble(&objects);
    assert_eq!(all.len(), 1, "fixture has one instance");
    all.remove(0)
}

/// Replace the Prometheus container's log (the first pod's current one) with these lines.
pub fn set_log(s: &mut InstanceSnapshot, lines: &[&str]) {
    let container = s.instance.container.clone();
    s.logs.retain(|l| l.container != container);
    if lines.is_empty() {
        return;
    }
    s.logs.push(ContainerLog {
        pod: s.instance.pods[0].name.clone(),
        container,
        previous: false,
        text: lines.join("\n"),
    });
}

/// The user may not read `data` (403), as the live gather records it.
pub fn refuse(s: &mut InstanceSnapshot, data: Data) {
    s.gaps.push(Gap {
        status: Some(403),
        request: Some("GET …".into()),
        ..Gap::absent(data, "forbidden (403)")
    });
}

/// The workload's pod template, to change a fixture in a test.
pub fn spec_mut(s: &mut InstanceSnapshot) -> &mut PodSpec {
    let template = match s.deployments.first_mut() {
        Some(d) => &mut d.spec.as_mut().expect("spec").template,
        None => &mut s.statefulsets[0].spec.as_mut().expect("spec").template,
    };
    template.spec.as_mut().expect("pod spec")
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
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

/// Incident 4: a hand-made Deployment of `prom/prometheus:latest` with a busybox `chmod -R 777` initContainer; Ready.
pub fn handmade_chmod() -> InstanceSnapshot {
    instance(HANDMADE_CHMOD)
}

/// Incident 5: kube-prometheus-stack on Cinder CSI; the resource sets runAsUser 1000/runAsGroup 2000 but no fsGroup,
/// and an added chown initContainer; the pod logs permission denied and never becomes Ready.
pub fn kps_permission_denied() -> InstanceSnapshot {
    let mut s = instance(KPS_PERMISSION_DENIED);
    set_log(
        &mut s,
        &[
            "ts=2024-05-02T10:00:00.000Z caller=main.go:600 level=info msg=\"Starting Prometheus Server\"",
            PERMISSION_DENIED,
            "panic: Unable to create mmap-ed active query log",
        ],
    );
    s
}

/// A plain Deployment whose data is a hostPath: fsGroup cannot help.
pub fn plain_host_path() -> InstanceSnapshot {
    let mut s = instance(PLAIN_HOST_PATH);
    set_log(&mut s, &[PERMISSION_DENIED]);
    s
}

/// The prometheus-community chart as a Deployment whose values dropped fsGroup.
pub fn chart_without_fs_group() -> InstanceSnapshot {
    let mut s = instance(CHART_WITHOUT_FS_GROUP);
    set_log(
        &mut s,
        &[&PERMISSION_DENIED.replace("/prometheus/", "/data/")],
    );
    s
}

/// Diagnose and plan a snapshot.
pub fn plan_of(snap: &InstanceSnapshot) -> super::PermsPlan {
    super::plan(snap, &super::diagnose(snap))
}

/// The kinds of a plan's changes, in order.
pub fn kinds(plan: &super::PermsPlan) -> Vec<super::FixKind> {
    plan.changes.iter().map(|c| c.kind).collect()
}
