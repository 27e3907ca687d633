//! Pure diagnosis of a data-directory permission problem: who Prometheus runs as, the pod's fsGroup settings, the data
//! volume and whether the kubelet applies fsGroup to it, chmod/chown initContainers on it, and the log evidence.

use super::facts;
use crate::access::AccessRequest;
use crate::images::{self, UserGroup};
use crate::inspect::snapshot::InstanceSnapshot;
use crate::model::Flavour;
use crate::model::volume;
use k8s_openapi::api::core::v1::{
    Container, PersistentVolume, PodSecurityContext, PodSpec, Volume,
};
use k8s_openapi::api::storage::v1::CSIDriver;
use serde::Serialize;

/// How many `permission denied` lines are kept as evidence (the most recent).
const MAX_EVIDENCE: usize = 3;

/// Whether the kubelet changes the volume's group to the pod's fsGroup when it mounts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FsGroupSupport {
    /// `Some(true)`: fsGroup works; `Some(false)`: it is ignored; `None`: cannot tell (e.g. the PVC is not bound).
    pub applies: Option<bool>,
    /// One sentence saying why, naming the object that decides it.
    pub reason: String,
}

/// The volume Prometheus writes its TSDB to (found by `model::volume`'s rule), and whether fsGroup reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeDiagnosis {
    /// The pod volume's name.
    pub volume: String,
    pub mount_path: String,
    pub sub_path: Option<String>,
    /// `--storage.tsdb.path`.
    pub tsdb_path: String,
    pub claim: Option<String>,
    pub persistent_volume: Option<String>,
    /// What backs it, e.g. `hostPath /mnt/prometheus` or `csi cinder.csi.openstack.org (fsType ext4, ReadWriteOnce)`.
    pub source: String,
    pub fs_group: FsGroupSupport,
}

pub use crate::model::volume::{InitStep, permission_init_containers};

/// The pod-level securityContext fields fix-perms cares about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityFields {
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub run_as_non_root: Option<bool>,
    pub fs_group: Option<i64>,
    pub fs_group_change_policy: Option<String>,
}

impl SecurityFields {
    /// These fields with a securityContext fragment (camelCase keys, as in a patch) applied over them.
    pub fn merged(&self, fragment: &serde_json::Map<String, serde_json::Value>) -> Self {
        let mut out = self.clone();
        for (key, value) in fragment {
            match key.as_str() {
                "runAsUser" => out.run_as_user = value.as_i64(),
                "runAsGroup" => out.run_as_group = value.as_i64(),
                "runAsNonRoot" => out.run_as_non_root = value.as_bool(),
                "fsGroup" => out.fs_group = value.as_i64(),
                "fsGroupChangePolicy" => {
                    out.fs_group_change_policy = value.as_str().map(str::to_string)
                }
                _ => {}
            }
        }
        out
    }

    /// The fields of a pod securityContext.
    pub fn of(context: Option<&PodSecurityContext>) -> Self {
        let Some(c) = context else {
            return Self::default();
        };
        SecurityFields {
            run_as_user: c.run_as_user,
            run_as_group: c.run_as_group,
            run_as_non_root: c.run_as_non_root,
            fs_group: c.fs_group,
            fs_group_change_policy: c.fs_group_change_policy.clone(),
        }
    }
}

/// What fix-perms found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    /// The UID/GID the Prometheus process runs as (or will, once the plan sets it).
    pub user: UserGroup,
    /// Where `user` comes from (securityContext, the image's default, or an assumption).
    pub user_source: String,
    /// The image has a shell and coreutils (decides which image the one-off chown step uses).
    pub image: String,
    pub image_has_busybox: bool,
    /// The pod securityContext as it is now.
    pub current: SecurityFields,
    pub data_volume: Option<VolumeDiagnosis>,
    /// chmod/chown initContainers touching the data volume.
    pub chmod_init_containers: Vec<InitStep>,
    /// `permission denied` lines from the Prometheus container's log.
    pub evidence: Vec<String>,
    /// Whether the data directory is writable by `user`, when its owner and mode could be read.
    pub root_writable: Option<bool>,
    pub pods_ready: bool,
}

impl Diagnosis {
    /// Whether the volume needs the one-off chown: fsGroup cannot fix it and there is a sign that the user cannot
    /// write (log evidence, owner/mode, or a chmod initContainer that would otherwise be the only thing keeping it
    /// writable).
    pub fn needs_chown(&self) -> bool {
        self.needs_chown_inner()
    }

    /// Prometheus can write its data as it is (issue 18 item 5): no `permission denied` in its log, no chmod/chown
    /// init container propping it up, and the data directory writable by its user where that could be read (else
    /// its pods Ready). Then fix-perms changes nothing; optional hardening is advice only.
    pub fn writes_fine(&self) -> bool {
        self.evidence.is_empty()
            && self.chmod_init_containers.is_empty()
            && self.root_writable != Some(false)
            && (self.root_writable == Some(true) || self.pods_ready)
    }

    fn needs_chown_inner(&self) -> bool {
        let fs_group_applies = self
            .data_volume
            .as_ref()
            .is_some_and(|v| v.fs_group.applies == Some(true));
        if fs_group_applies || self.data_volume.is_none() || self.user.uid == 0 {
            return false;
        }
        // A leftover one-off step from an interrupted run is not a reason to chown again: it already ran.
        !self.evidence.is_empty()
            || self.root_writable == Some(false)
            || self
                .chmod_init_containers
                .iter()
                .any(|s| s.name != super::CHOWN_STEP_NAME)
    }
}

/// Diagnose the instance from inspect's one snapshot. Never fails: what cannot be known is reported as unknown.
pub fn diagnose(snapshot: &InstanceSnapshot) -> Diagnosis {
    let spec = &facts::pod_spec(snapshot);
    let container = spec
        .containers
        .iter()
        .find(|c| c.name == snapshot.instance.container);
    let image = container.and_then(|c| c.image.clone()).unwrap_or_default();
    let known_image = images::default_user(&image);
    let current = SecurityFields::of(current_pod_security_context(snapshot).as_ref());
    let (user, user_source) = resolve_user(snapshot, container, &current, &known_image);
    let data_volume = container.and_then(|c| data_volume(snapshot, spec, c));
    let chmod_init_containers = chmod_init_containers(spec, data_volume.as_ref());
    let evidence = permission_evidence(&facts::log_lines(snapshot));
    let mut groups = vec![user.gid];
    groups.extend(current.fs_group);
    let root_writable = snapshot
        .data_root
        .map(|root| root.writable_by(user.uid, &groups));
    let pods_ready = facts::pods_ready(snapshot);
    Diagnosis {
        user,
        user_source,
        image,
        image_has_busybox: known_image.has_busybox,
        current,
        data_volume,
        chmod_init_containers,
        evidence,
        root_writable,
        pods_ready,
    }
}

/// The securityContext of the object fix-perms patches: the Prometheus resource's `spec.securityContext` for the
/// operator (what the operator copies into the StatefulSet), else the pod template's.
fn current_pod_security_context(snapshot: &InstanceSnapshot) -> Option<PodSecurityContext> {
    match (
        &snapshot.instance.flavour,
        facts::prometheus_resource(snapshot),
    ) {
        (Flavour::Operator { .. }, Some(resource)) => resource
            .spec
            .get("securityContext")
            .and_then(|v| serde_json::from_value(v.clone()).ok()),
        _ => facts::pod_spec(snapshot).security_context,
    }
}

/// Who Prometheus runs as: the container's securityContext, then the pod's, then the image's default user, then the
/// install's documented default. The group follows the same order, then the fsGroup, then the image's group.
fn resolve_user(
    snapshot: &InstanceSnapshot,
    container: Option<&Container>,
    pod: &SecurityFields,
    image: &images::ImageUser,
) -> (UserGroup, String) {
    let own = container.and_then(|c| c.security_context.as_ref());
    let kps_release = facts::prometheus_resource(snapshot).and_then(|r| r.helm_release());
    let install_default = match (&snapshot.instance.flavour, kps_release) {
        (Flavour::Operator { .. }, Some(release)) => Some((
            images::KPS_DEFAULT,
            format!("kube-prometheus-stack's default securityContext (release {release})"),
        )),
        (Flavour::Chart { release, .. }, _) => Some((
            images::CHART_DEFAULT,
            format!("the prometheus chart's default server.securityContext (release {release})"),
        )),
        _ => None,
    };
    let (uid, mut source) = if let Some(uid) = own.and_then(|c| c.run_as_user) {
        (
            uid,
            format!(
                "container {} securityContext.runAsUser",
                snapshot.instance.container
            ),
        )
    } else if let Some(uid) = pod.run_as_user {
        (uid, "pod securityContext.runAsUser".to_string())
    } else if let Some(user) = image.user {
        (user.uid, image.source.clone())
    } else if let Some((user, why)) = &install_default {
        (user.uid, why.clone())
    } else {
        (
            images::UPSTREAM_NOBODY.uid,
            format!("{}; assuming the upstream image's user 65534", image.source),
        )
    };
    let image_gid = image.user.filter(|u| u.uid == uid).map(|u| u.gid);
    let default_gid = install_default
        .as_ref()
        .filter(|(u, _)| u.uid == uid)
        .map(|(u, _)| u.gid);
    let gid = own
        .and_then(|c| c.run_as_group)
        .or(pod.run_as_group)
        .or(pod.fs_group)
        .or(image_gid)
        .or(default_gid)
        .unwrap_or(uid);
    if pod.run_as_group.is_none() && own.and_then(|c| c.run_as_group).is_none() {
        source.push_str(&format!("; group {gid}"));
    }
    (UserGroup { uid, gid }, source)
}

fn data_volume(
    snapshot: &InstanceSnapshot,
    spec: &PodSpec,
    container: &Container,
) -> Option<VolumeDiagnosis> {
    // The one rule for which volume holds the data (crate::model::volume), so fix-perms and discover agree.
    let tsdb_path = volume::tsdb_path(container);
    let mount = volume::mount_holding(container, &volume::absolute(&tsdb_path))?;
    let pod_volume = spec.volumes.iter().flatten().find(|v| v.name == mount.name);
    let claim = facts::claim(snapshot).and_then(|c| c.metadata.name.clone());
    let (source, fs_group) = classify(pod_volume, snapshot);
    Some(VolumeDiagnosis {
        volume: mount.name.clone(),
        mount_path: mount.mount_path.clone(),
        sub_path: mount.sub_path.clone().filter(|s| !s.is_empty()),
        tsdb_path,
        claim: if pod_volume
            .is_some_and(|v| v.persistent_volume_claim.is_none() && v.ephemeral.is_none())
        {
            None
        } else {
            claim
        },
        persistent_volume: facts::volume(snapshot).and_then(|pv| pv.metadata.name.clone()),
        source,
        fs_group,
    })
}

fn applies(reason: impl Into<String>) -> FsGroupSupport {
    FsGroupSupport {
        applies: Some(true),
        reason: reason.into(),
    }
}

fn ignored(reason: impl Into<String>) -> FsGroupSupport {
    FsGroupSupport {
        applies: Some(false),
        reason: reason.into(),
    }
}

/// What backs the data volume and whether fsGroup applies to it. A pod volume that is not a claim decides by itself;
/// a claim (or a StatefulSet volumeClaimTemplate, which has no pod volume) is decided by its bound PV.
fn classify(pod_volume: Option<&Volume>, snapshot: &InstanceSnapshot) -> (String, FsGroupSupport) {
    if let Some(v) = pod_volume {
        if let Some(host) = &v.host_path {
            return host_path(&host.path);
        }
        if v.empty_dir.is_some() {
            return (
                "emptyDir".into(),
                applies("emptyDir volumes are created with the pod's fsGroup"),
            );
        }
        if let Some(nfs) = &v.nfs {
            return network_fs(&format!("nfs {}:{}", nfs.server, nfs.path));
        }
        if let Some(csi) = &v.csi {
            // Inline CSI volumes count as ReadWriteOnce for the ReadWriteOnceWithFSType policy (csi_mounter.go).
            let fs_type = csi.fs_type.clone().unwrap_or_default();
            return (
                format!("inline csi {}", csi.driver),
                csi_policy(&csi.driver, &fs_type, true, facts::csi_driver(snapshot)),
            );
        }
        if v.persistent_volume_claim.is_none() && v.ephemeral.is_none() {
            return (
                format!("pod volume {}", v.name),
                FsGroupSupport {
                    applies: None,
                    reason: format!("volume {} is of a kind fix-perms does not know", v.name),
                },
            );
        }
    }
    match (facts::claim(snapshot), facts::volume(snapshot)) {
        (_, Some(pv)) => {
            let (source, support) = classify_pv(pv, facts::csi_driver(snapshot));
            let csi_driver = pv
                .spec
                .as_ref()
                .and_then(|s| s.csi.as_ref())
                .map(|c| c.driver.as_str());
            match csi_driver {
                // Without the driver objects, "no CSIDriver object, so the default policy" would be a guess.
                Some(driver) if refused(snapshot, "csidrivers").is_some() => (
                    source,
                    FsGroupSupport {
                        applies: None,
                        reason: format!(
                            "the CSIDriver objects could not be read (forbidden), so the fsGroupPolicy of {driver} is unknown"
                        ),
                    },
                ),
                _ => (source, support),
            }
        }
        (Some(pvc), None) => (
            format!("claim {}", pvc.metadata.name.as_deref().unwrap_or("?")),
            FsGroupSupport {
                applies: None,
                reason: match refused(snapshot, "persistentvolumes") {
                    Some(read) => format!(
                        "persistentvolume {} could not be read (forbidden), so its type, and whether the kubelet applies fsGroup to it, is unknown",
                        read.name.as_deref().unwrap_or("?")
                    ),
                    None => {
                        "the claim is not bound to a PersistentVolume yet, so its type is unknown"
                            .into()
                    }
                },
            },
        ),
        (None, None) => (
            "unknown".into(),
            FsGroupSupport {
                applies: None,
                reason: "the data volume's claim could not be read".into(),
            },
        ),
    }
}

/// The read of `resource` the user was refused while gathering, if it was.
fn refused(snapshot: &InstanceSnapshot, resource: &str) -> Option<AccessRequest> {
    facts::refused(snapshot)
        .into_iter()
        .find(|r| r.resource == resource)
}

fn host_path(path: &str) -> (String, FsGroupSupport) {
    (
        format!("hostPath {path}"),
        ignored(
            "hostPath volumes are not ownership-managed: the kubelet ignores fsGroup for them (kubernetes#138411)",
        ),
    )
}

fn network_fs(source: &str) -> (String, FsGroupSupport) {
    (
        source.to_string(),
        ignored(
            "network file systems (NFS and the like) are mounted as the server exports them; the kubelet does not apply fsGroup",
        ),
    )
}

fn classify_pv(pv: &PersistentVolume, driver: Option<&CSIDriver>) -> (String, FsGroupSupport) {
    let name = pv.metadata.name.as_deref().unwrap_or("?");
    let Some(spec) = &pv.spec else {
        return (
            format!("persistentvolume {name}"),
            FsGroupSupport {
                applies: None,
                reason: format!("persistentvolume {name} has no spec"),
            },
        );
    };
    if let Some(host) = &spec.host_path {
        return host_path(&host.path);
    }
    if let Some(nfs) = &spec.nfs {
        return network_fs(&format!("nfs {}:{}", nfs.server, nfs.path));
    }
    if spec.cephfs.is_some()
        || spec.glusterfs.is_some()
        || spec.azure_file.is_some()
        || spec.quobyte.is_some()
    {
        return network_fs(&format!("persistentvolume {name} (network file system)"));
    }
    if let Some(csi) = &spec.csi {
        let fs_type = csi.fs_type.clone().unwrap_or_default();
        let modes = spec.access_modes.clone().unwrap_or_default();
        let rwo = modes.iter().any(|m| m == "ReadWriteOnce");
        let source = format!(
            "csi {} (fsType {}, {})",
            csi.driver,
            if fs_type.is_empty() {
                "unset"
            } else {
                &fs_type
            },
            if modes.is_empty() {
                "no access modes".to_string()
            } else {
                modes.join(",")
            }
        );
        return (source, csi_policy(&csi.driver, &fs_type, rwo, driver));
    }
    if let Some(local) = &spec.local {
        return (
            format!("local {}", local.path),
            applies("local volumes are ownership-managed by the kubelet"),
        );
    }
    // The in-tree block-device plugins (EBS, GCE PD, Azure Disk, Cinder, iSCSI, RBD, FC) all call
    // volume.SetVolumeOwnership on mount.
    let block = [
        spec.aws_elastic_block_store
            .is_some()
            .then_some("awsElasticBlockStore"),
        spec.gce_persistent_disk
            .is_some()
            .then_some("gcePersistentDisk"),
        spec.azure_disk.is_some().then_some("azureDisk"),
        spec.cinder.is_some().then_some("cinder"),
        spec.iscsi.is_some().then_some("iscsi"),
        spec.rbd.is_some().then_some("rbd"),
        spec.fc.is_some().then_some("fc"),
    ];
    if let Some(kind) = block.into_iter().flatten().next() {
        return (
            format!("{kind} persistentvolume {name}"),
            applies(format!(
                "{kind} volumes are ownership-managed by the kubelet"
            )),
        );
    }
    (
        format!("persistentvolume {name}"),
        FsGroupSupport {
            applies: None,
            reason: format!("persistentvolume {name} is of a kind fix-perms does not know"),
        },
    )
}

/// The kubelet's rule for CSI volumes (kubernetes pkg/volume/csi/csi_mounter.go `supportsFSGroup`; kubernetes-csi docs
/// "CSI Driver fsGroup Support"): `None` never, `File` always, and the default `ReadWriteOnceWithFSType` only when
/// the volume has an fsType and a ReadWriteOnce access mode. No `CSIDriver` object means the default policy.
fn csi_policy(
    driver_name: &str,
    fs_type: &str,
    rwo: bool,
    driver: Option<&CSIDriver>,
) -> FsGroupSupport {
    let policy = driver
        .and_then(|d| d.spec.fs_group_policy.clone())
        .unwrap_or_else(|| "ReadWriteOnceWithFSType".to_string());
    let of = if driver.is_some() {
        format!("CSIDriver {driver_name} has fsGroupPolicy: {policy}")
    } else {
        format!(
            "CSI driver {driver_name} has no CSIDriver object, so the default fsGroupPolicy {policy} applies"
        )
    };
    match policy.as_str() {
        "None" => ignored(format!(
            "{of}: the kubelet never applies fsGroup to its volumes"
        )),
        "File" => applies(format!("{of}: the kubelet always applies fsGroup")),
        _ if fs_type.is_empty() => ignored(format!(
            "{of}, and the volume has no fsType: fsGroup is skipped (set csi.storage.k8s.io/fstype on the StorageClass)"
        )),
        _ if !rwo => ignored(format!(
            "{of}, and the volume is not ReadWriteOnce: fsGroup is skipped"
        )),
        _ => applies(format!(
            "{of}, and the volume has an fsType and is ReadWriteOnce"
        )),
    }
}

/// Init containers whose command mentions chmod or chown and that mount the data volume (or, when the data volume
/// is unknown, any volume).
fn chmod_init_containers(spec: &PodSpec, data: Option<&VolumeDiagnosis>) -> Vec<InitStep> {
    permission_init_containers(spec, data.map(|d| d.volume.as_str()))
}

/// Lines saying the data directory could not be written, as logscan classifies them (prometheus-facts.md §2.2:
/// the active query tracker's `open …/queries.active: permission denied`, the lock file's `lock DB directory:
/// permission denied`, …), so that doctor and fix-perms agree on what counts.
pub fn permission_evidence(lines: &[String]) -> Vec<String> {
    let all: Vec<String> = crate::logscan::scan(&lines.join("\n"))
        .into_iter()
        .filter(|hit| hit.kind == crate::logscan::Kind::PermissionDenied)
        .map(|hit| hit.quote)
        .collect();
    // A crash loop repeats the same line on every restart; the most recent few are the evidence.
    all[all.len().saturating_sub(MAX_EVIDENCE)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::inspect::perms::VolumeRoot;
    use crate::inspect::snapshot::Data;

    #[test]
    fn incident_4_handmade_deployment_with_chmod_init_container() {
        let d = diagnose(&handmade_chmod());
        assert_eq!(d.user, images::UPSTREAM_NOBODY);
        assert!(
            d.user_source.contains("upstream Prometheus image"),
            "{}",
            d.user_source
        );
        let data = d.data_volume.clone().expect("data volume");
        assert_eq!(data.volume, "prometheus-storage");
        assert_eq!(data.mount_path, "/storage/prometheus");
        assert_eq!(data.tsdb_path, "/storage/prometheus/");
        assert_eq!(data.claim.as_deref(), Some("prometheus-data"));
        assert_eq!(
            data.fs_group.applies,
            Some(true),
            "{}",
            data.fs_group.reason
        );
        assert_eq!(
            d.chmod_init_containers,
            vec![InitStep {
                name: "init-chmod".into(),
                command: "sh -c mkdir -p /storage/prometheus && chmod -R 777 /storage/prometheus"
                    .into(),
            }]
        );
        assert_eq!(d.current, SecurityFields::default());
        assert!(!d.needs_chown());
    }

    #[test]
    fn incident_5_operator_reads_the_resource_security_context_and_log_evidence() {
        let d = diagnose(&kps_permission_denied());
        assert_eq!(d.user, images::KPS_DEFAULT);
        assert_eq!(d.current.run_as_user, Some(1000));
        assert_eq!(d.current.fs_group, None);
        assert_eq!(d.evidence.len(), 1);
        assert!(d.evidence[0].contains("queries.active: permission denied"));
        let data = d.data_volume.clone().expect("data volume");
        // A volumeClaimTemplate has no pod volume: the PV decides.
        assert_eq!(data.volume, "prometheus-kps-prometheus-db");
        assert_eq!(data.sub_path.as_deref(), Some("prometheus-db"));
        assert_eq!(
            data.fs_group.applies,
            Some(true),
            "{}",
            data.fs_group.reason
        );
        assert!(data.source.contains("cinder.csi.openstack.org"));
        assert!(!d.pods_ready);
        assert_eq!(
            d.chmod_init_containers.len(),
            1,
            "{:?}",
            d.chmod_init_containers
        );
        assert_eq!(d.chmod_init_containers[0].name, "init-chown-data");
        assert!(!d.needs_chown());
    }

    #[test]
    fn host_path_is_never_fixed_by_fs_group() {
        let d = diagnose(&plain_host_path());
        let data = d.data_volume.clone().expect("data volume");
        assert_eq!(data.fs_group.applies, Some(false));
        assert!(data.fs_group.reason.contains("hostPath"));
        assert_eq!(data.source, "hostPath /var/lib/prometheus-data");
        assert!(
            d.needs_chown(),
            "permission denied in the log and fsGroup cannot help"
        );
    }

    #[test]
    fn host_path_without_any_sign_of_trouble_needs_no_chown() {
        let mut snap = plain_host_path();
        set_log(&mut snap, &[]);
        snap.data_root = Some(VolumeRoot {
            uid: 65534,
            gid: 65534,
            mode: 0o755,
        });
        let d = diagnose(&snap);
        assert_eq!(d.root_writable, Some(true));
        assert!(!d.needs_chown());
        snap.data_root = Some(VolumeRoot {
            uid: 0,
            gid: 0,
            mode: 0o755,
        });
        assert!(
            diagnose(&snap).needs_chown(),
            "root-owned 0755 is not writable by 65534"
        );
    }

    #[test]
    fn csi_driver_policy_decides() {
        let pv = csi_pv("pv-1", "ebs.csi.aws.com", Some("ext4"), "ReadWriteOnce");
        let none = csi_driver("ebs.csi.aws.com", Some("None"));
        let file = csi_driver("ebs.csi.aws.com", Some("File"));
        assert_eq!(classify_pv(&pv, Some(&none)).1.applies, Some(false));
        assert!(
            classify_pv(&pv, Some(&none))
                .1
                .reason
                .contains("fsGroupPolicy: None")
        );
        assert_eq!(classify_pv(&pv, Some(&file)).1.applies, Some(true));
        // No CSIDriver object: the default ReadWriteOnceWithFSType.
        assert_eq!(classify_pv(&pv, None).1.applies, Some(true));
        let no_fs_type = csi_pv("pv-2", "ebs.csi.aws.com", None, "ReadWriteOnce");
        let r = classify_pv(&no_fs_type, None).1;
        assert_eq!(r.applies, Some(false));
        assert!(r.reason.contains("no fsType"));
        assert_eq!(classify_pv(&no_fs_type, Some(&file)).1.applies, Some(true));
        let rwx = csi_pv("pv-3", "efs.csi.aws.com", Some("ext4"), "ReadWriteMany");
        assert_eq!(classify_pv(&rwx, None).1.applies, Some(false));
    }

    #[test]
    fn nfs_and_local_persistent_volumes() {
        let mut pv = csi_pv("nfs-pv", "x", None, "ReadWriteMany");
        let spec = pv.spec.as_mut().unwrap();
        spec.csi = None;
        spec.nfs = Some(k8s_openapi::api::core::v1::NFSVolumeSource {
            server: "10.0.0.5".into(),
            path: "/exports/prom".into(),
            ..Default::default()
        });
        let (source, support) = classify_pv(&pv, None);
        assert_eq!(source, "nfs 10.0.0.5:/exports/prom");
        assert_eq!(support.applies, Some(false));
        let spec = pv.spec.as_mut().unwrap();
        spec.nfs = None;
        spec.local = Some(k8s_openapi::api::core::v1::LocalVolumeSource {
            path: "/mnt/disks/ssd1".into(),
            ..Default::default()
        });
        assert_eq!(classify_pv(&pv, None).1.applies, Some(true));
    }

    #[test]
    fn unbound_claim_is_unknown_not_guessed() {
        let mut snap = handmade_chmod();
        snap.pvs.clear();
        let d = diagnose(&snap);
        assert_eq!(d.data_volume.unwrap().fs_group.applies, None);
    }

    #[test]
    fn a_persistent_volume_the_user_may_not_read_is_unknown_and_says_why() {
        let mut snap = kps_permission_denied();
        snap.pvs.clear();
        refuse(&mut snap, Data::Pvcs);
        // The refusal is reviewed with the plan's changes: the volume by name, and the drivers it would have named.
        assert_eq!(
            facts::refused(&snap),
            vec![
                AccessRequest::new("get", "", "persistentvolumes", None, Some("pvc-cinder-1")),
                AccessRequest::new("list", "storage.k8s.io", "csidrivers", None, None),
            ]
        );
        let d = diagnose(&snap);
        let support = d.data_volume.clone().expect("data volume").fs_group;
        assert_eq!(support.applies, None);
        assert!(
            support
                .reason
                .starts_with("persistentvolume pvc-cinder-1 could not be read (forbidden)"),
            "{}",
            support.reason
        );
        // Unknown never counts as "fsGroup works": with permission denied in the log the chown stays in the plan.
        assert!(d.needs_chown());
    }

    #[test]
    fn csi_drivers_the_user_may_not_list_leave_the_policy_unknown() {
        let mut snap = kps_permission_denied();
        let readable = diagnose(&snap).data_volume.expect("data volume");
        // Readable and absent: the default policy, which applies to this ext4 ReadWriteOnce volume.
        assert_eq!(readable.fs_group.applies, Some(true));
        refuse(&mut snap, Data::CsiDrivers);
        let refused = diagnose(&snap).data_volume.expect("data volume");
        assert_eq!(refused.fs_group.applies, None);
        assert!(
            refused
                .fs_group
                .reason
                .contains("fsGroupPolicy of cinder.csi.openstack.org is unknown"),
            "{}",
            refused.fs_group.reason
        );
        assert_eq!(refused.source, readable.source);
    }

    #[test]
    fn container_security_context_wins_over_pod_and_image() {
        let mut snap = handmade_chmod();
        spec_mut(&mut snap).security_context = Some(PodSecurityContext {
            run_as_user: Some(1234),
            ..Default::default()
        });
        spec_mut(&mut snap).containers[0].security_context =
            Some(k8s_openapi::api::core::v1::SecurityContext {
                run_as_user: Some(4321),
                run_as_group: Some(99),
                ..Default::default()
            });
        let d = diagnose(&snap);
        assert_eq!(d.user, UserGroup { uid: 4321, gid: 99 });
        assert!(d.user_source.starts_with("container prometheus"));
    }

    #[test]
    fn distroless_image_user_and_unknown_image_assumption() {
        let mut snap = handmade_chmod();
        spec_mut(&mut snap).containers[0].image =
            Some("quay.io/prometheus/prometheus:v3.14.0-distroless".into());
        let d = diagnose(&snap);
        assert_eq!(d.user, images::DISTROLESS_NONROOT);
        assert!(!d.image_has_busybox);
        spec_mut(&mut snap).containers[0].image = Some("example.com/custom/prometheus:1".into());
        let d = diagnose(&snap);
        assert_eq!(d.user, images::UPSTREAM_NOBODY);
        assert!(d.user_source.contains("assuming"), "{}", d.user_source);
    }

    #[test]
    fn security_fields_merge_a_patch_fragment() {
        let before = SecurityFields {
            run_as_user: Some(1000),
            ..Default::default()
        };
        let fragment = serde_json::json!({"fsGroup": 2000, "fsGroupChangePolicy": "OnRootMismatch", "other": 1});
        let after = before.merged(fragment.as_object().unwrap());
        assert_eq!(after.run_as_user, Some(1000));
        assert_eq!(after.fs_group, Some(2000));
        assert_eq!(
            after.fs_group_change_policy.as_deref(),
            Some("OnRootMismatch")
        );
        assert_eq!(after.run_as_non_root, None);
    }

    #[test]
    fn evidence_keeps_only_permission_lines() {
        let lines = vec![
            "ts=2024 level=info msg=\"Starting Prometheus Server\"".to_string(),
            "level=error caller=query_logger.go:87 component=activeQueryTracker msg=\"Error opening query log file\" file=/data/queries.active err=\"open /data/queries.active: permission denied\"".to_string(),
            "panic: Unable to create mmap-ed active query log".to_string(),
        ];
        assert_eq!(permission_evidence(&lines), vec![lines[1].clone()]);
        let crash_loop: Vec<String> = (0..10).map(|_| lines[1].clone()).collect();
        assert_eq!(permission_evidence(&crash_loop).len(), MAX_EVIDENCE);
    }
}
