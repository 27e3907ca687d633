//! The data and config volumes of an instance, and the one rule for which pod volume holds the data (used by
//! discover, doctor, fix-perms and resize alike, so they cannot disagree).

use k8s_openapi::api::core::v1::{Container, PodSpec, Volume};
use serde::Serialize;
use std::collections::BTreeMap;

/// The data volume: where `--storage.tsdb.path` lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVolume {
    /// `--storage.tsdb.path` (default `data/`).
    pub path: String,
    /// The pod volume name, e.g. `storage-volume`, `prometheus-k8s-db`.
    pub volume: String,
    pub mount_path: String,
    pub sub_path: Option<String>,
    pub source: DataSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum DataSource {
    /// A `persistentVolumeClaim` volume in the pod template (Deployment, bare pod).
    Pvc {
        claim: String,
    },
    /// A StatefulSet `volumeClaimTemplate`; `claims` are `<template>-<sts>-<ordinal>` for each replica (and shard).
    ClaimTemplate {
        template: String,
        claims: Vec<String>,
    },
    EmptyDir,
    /// Anything else (hostPath, …): the volume type's name.
    Other {
        volume_type: String,
    },
}

impl DataVolume {
    /// Every PVC holding Prometheus data, whatever the source.
    pub fn claims(&self) -> Vec<String> {
        match &self.source {
            DataSource::Pvc { claim } => vec![claim.clone()],
            DataSource::ClaimTemplate { claims, .. } => claims.clone(),
            _ => Vec::new(),
        }
    }
}

/// The config volume: where `--config.file` lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigVolume {
    /// `--config.file` as given (absolute inside the container).
    pub file: String,
    pub volume: String,
    pub mount_path: String,
    /// A `subPath` mount never receives ConfigMap updates (Kubernetes docs, "ConfigMaps": "A container using a ConfigMap
    /// as a subPath volume mount will not receive ConfigMap updates").
    pub sub_path: Option<String>,
    pub source: ConfigSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum ConfigSource {
    /// `key` is the ConfigMap key holding the file (after `items` mapping).
    ConfigMap {
        name: String,
        key: String,
    },
    Secret {
        name: String,
        key: String,
    },
    /// Generated at runtime into an emptyDir (the operator's config-reloader writes `config_out`).
    EmptyDir,
    Other {
        volume_type: String,
    },
}

pub fn mount_for<'a>(
    c: &'a Container,
    spec: &'a PodSpec,
    path: &str,
) -> Option<(&'a k8s_openapi::api::core::v1::VolumeMount, &'a Volume)> {
    let path = path.trim_end_matches('/');
    let mount = c
        .volume_mounts
        .iter()
        .flatten()
        .filter(|m| {
            let mp = m.mount_path.trim_end_matches('/');
            path == mp || path.starts_with(&format!("{mp}/"))
        })
        .max_by_key(|m| m.mount_path.len())?;
    let volume = spec
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == mount.name)?;
    Some((mount, volume))
}

pub fn volume_type(v: &Volume) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| {
            j.as_object()
                .and_then(|o| o.keys().find(|k| *k != "name").cloned())
        })
        .unwrap_or_else(|| "unknown".into())
}

pub fn data_volume(
    c: &Container,
    spec: &PodSpec,
    path: &str,
    claim_templates: &BTreeMap<String, Vec<String>>,
) -> Option<DataVolume> {
    let abs = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    // A volumeClaimTemplate is not in spec.volumes: look at the mounts directly first.
    let mount = c.volume_mounts.iter().flatten().filter(|m| {
        let mp = m.mount_path.trim_end_matches('/');
        let p = abs.trim_end_matches('/');
        p == mp || p.starts_with(&format!("{mp}/"))
    });
    let mount = mount.max_by_key(|m| m.mount_path.len())?;
    let source = if let Some(claims) = claim_templates.get(&mount.name) {
        DataSource::ClaimTemplate {
            template: mount.name.clone(),
            claims: claims.clone(),
        }
    } else {
        let (_, v) = mount_for(c, spec, &abs)?;
        if let Some(pvc) = &v.persistent_volume_claim {
            DataSource::Pvc {
                claim: pvc.claim_name.clone(),
            }
        } else if v.empty_dir.is_some() {
            DataSource::EmptyDir
        } else {
            DataSource::Other {
                volume_type: volume_type(v),
            }
        }
    };
    Some(DataVolume {
        path: path.to_string(),
        volume: mount.name.clone(),
        mount_path: mount.mount_path.clone(),
        sub_path: mount.sub_path.clone().filter(|s| !s.is_empty()),
        source,
    })
}

pub fn config_volume(c: &Container, spec: &PodSpec, file: &str) -> Option<ConfigVolume> {
    let (mount, v) = mount_for(c, spec, file)?;
    let sub_path = mount.sub_path.clone().filter(|s| !s.is_empty());
    // The file's path inside the volume: with subPath the mount *is* the file (or a dir inside the volume).
    let in_volume = {
        let rel = file
            .strip_prefix(mount.mount_path.trim_end_matches('/'))
            .unwrap_or(file)
            .trim_start_matches('/');
        match &sub_path {
            Some(sp) if rel.is_empty() => sp.clone(),
            Some(sp) => format!("{sp}/{rel}"),
            None => rel.to_string(),
        }
    };
    let key_for = |items: Option<&Vec<k8s_openapi::api::core::v1::KeyToPath>>| {
        items
            .and_then(|items| {
                items
                    .iter()
                    .find(|i| i.path == in_volume)
                    .map(|i| i.key.clone())
            })
            .unwrap_or_else(|| in_volume.clone())
    };
    let source = if let Some(cm) = &v.config_map {
        ConfigSource::ConfigMap {
            name: cm.name.clone(),
            key: key_for(cm.items.as_ref()),
        }
    } else if let Some(s) = &v.secret {
        ConfigSource::Secret {
            name: s.secret_name.clone().unwrap_or_default(),
            key: key_for(s.items.as_ref()),
        }
    } else if v.empty_dir.is_some() {
        ConfigSource::EmptyDir
    } else {
        ConfigSource::Other {
            volume_type: volume_type(v),
        }
    };
    Some(ConfigVolume {
        file: file.to_string(),
        volume: v.name.clone(),
        mount_path: mount.mount_path.clone(),
        sub_path,
        source,
    })
}
