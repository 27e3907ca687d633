//! The data and config volumes of an instance, and the one rule for which pod volume holds the data (used by
//! discover, doctor, fix-perms and resize alike, so they cannot disagree).

use super::args::{all_args, flag_value};
use k8s_openapi::api::core::v1::{Container, PodSpec, Volume, VolumeMount};
use serde::Serialize;
use std::collections::BTreeMap;

/// The data volume: where `--storage.tsdb.path` lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataVolume {
    /// `--storage.tsdb.path` as the process gets it ([`tsdb_path`]).
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

/// The upstream image's working directory (`WORKDIR /prometheus` in prometheus/prometheus' Dockerfile): relative
/// paths in Prometheus' flags resolve against it.
pub const IMAGE_WORKDIR: &str = "/prometheus";

/// `--storage.tsdb.path` as the process gets it: the flag; with neither command nor args in the pod, the upstream
/// image's CMD (`--storage.tsdb.path=/prometheus`; a pod's `args` or `command` replaces the CMD); otherwise
/// Prometheus' own default `data/` (cmd/prometheus/main.go), relative to the working directory.
pub fn tsdb_path(c: &Container) -> String {
    flag_or_default(c, "storage.tsdb.path", "/prometheus", "data/")
}

/// `--config.file`, by the same rule as [`tsdb_path`]: the image's CMD gives `/etc/prometheus/prometheus.yml`,
/// Prometheus' default is `prometheus.yml`.
pub fn config_file(c: &Container) -> String {
    flag_or_default(
        c,
        "config.file",
        "/etc/prometheus/prometheus.yml",
        "prometheus.yml",
    )
}

fn flag_or_default(c: &Container, flag: &str, image_cmd: &str, prometheus: &str) -> String {
    if let Some(value) = flag_value(&all_args(c), flag) {
        return value;
    }
    if c.command.is_none() && c.args.is_none() {
        image_cmd.to_string()
    } else {
        prometheus.to_string()
    }
}

/// A path from a flag as an absolute path in the container (relative ones against [`IMAGE_WORKDIR`]).
pub fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{IMAGE_WORKDIR}/{}", path.trim_start_matches("./"))
    }
}

/// The mount that holds `path` (absolute): the longest mountPath that is `path` or a parent of it. The one rule
/// for "which volume is this file on", for data and config alike.
pub fn mount_holding<'a>(c: &'a Container, path: &str) -> Option<&'a VolumeMount> {
    let path = path.trim_end_matches('/');
    c.volume_mounts
        .iter()
        .flatten()
        .filter(|m| {
            let mp = m.mount_path.trim_end_matches('/');
            path == mp || path.starts_with(&format!("{mp}/"))
        })
        .max_by_key(|m| m.mount_path.trim_end_matches('/').len())
}

/// [`mount_holding`] and the pod volume it mounts (a volumeClaimTemplate has none: then `None`).
pub fn mount_for<'a>(
    c: &'a Container,
    spec: &'a PodSpec,
    path: &str,
) -> Option<(&'a VolumeMount, &'a Volume)> {
    let mount = mount_holding(c, &absolute(path))?;
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

/// The data volume of the Prometheus container `c`: the mount holding [`tsdb_path`], and what backs it
/// (`claim_templates`: the StatefulSet's template name → its claims).
pub fn data_volume(
    c: &Container,
    spec: &PodSpec,
    claim_templates: &BTreeMap<String, Vec<String>>,
) -> Option<DataVolume> {
    let path = tsdb_path(c);
    // A volumeClaimTemplate is not in spec.volumes: the mount names it.
    let mount = mount_holding(c, &absolute(&path))?;
    let source = if let Some(claims) = claim_templates.get(&mount.name) {
        DataSource::ClaimTemplate {
            template: mount.name.clone(),
            claims: claims.clone(),
        }
    } else {
        let (_, v) = mount_for(c, spec, &path)?;
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
        path,
        volume: mount.name.clone(),
        mount_path: mount.mount_path.clone(),
        sub_path: mount.sub_path.clone().filter(|s| !s.is_empty()),
        source,
    })
}

/// The config volume of the Prometheus container `c`: the mount holding [`config_file`], and its source.
pub fn config_volume(c: &Container, spec: &PodSpec) -> Option<ConfigVolume> {
    let file = config_file(c);
    let (mount, v) = mount_for(c, spec, &file)?;
    let sub_path = mount.sub_path.clone().filter(|s| !s.is_empty());
    // The file's path inside the volume: with subPath the mount *is* the file (or a dir inside the volume).
    let in_volume = {
        let abs = absolute(&file);
        let rel = abs
            .strip_prefix(mount.mount_path.trim_end_matches('/'))
            .unwrap_or(&abs)
            .trim_start_matches('/')
            .to_string();
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
        file,
        volume: v.name.clone(),
        mount_path: mount.mount_path.clone(),
        sub_path,
        source,
    })
}

/// The Secret and key the operator's config reloader reads its input from (`--config-file=DIR/KEY`, DIR a Secret
/// volume mount of that container), e.g. `prometheus-k8s`, `prometheus.yaml.gz`: the operator's generated
/// configuration (prometheus-facts §3.2).
pub fn generated_config_source(spec: &PodSpec) -> Option<(String, String)> {
    spec.containers.iter().find_map(|c| {
        let args = all_args(c);
        let file = flag_value(&args, "config-file")?;
        let (dir, key) = file.rsplit_once('/')?;
        let mount = c
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.mount_path.trim_end_matches('/') == dir)?;
        let volume = spec
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == mount.name)?;
        Some((
            volume.secret.as_ref()?.secret_name.clone()?,
            key.to_string(),
        ))
    })
}

/// An init container that changes ownership or modes of the data volume (the incident-4/5 workaround).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitStep {
    pub name: String,
    /// Its command and args joined, as shown to the user.
    pub command: String,
}

/// The one rule doctor (PROM-403) and fix-perms share for a permission-fixing init container (issue 18 item 4): its
/// command runs `chmod` or `chown`, and it mounts the data volume, or a volume the pod does not have (a misnamed
/// mount of the data volume, which also keeps the pod from being created), or — when the data volume is unknown —
/// any volume. Whatever doctor flags, fix-perms removes.
pub fn permission_init_containers(spec: &PodSpec, data_volume: Option<&str>) -> Vec<InitStep> {
    let volumes: Vec<&str> = spec
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    spec.init_containers
        .iter()
        .flatten()
        .filter(|c| {
            let mounts_data = c.volume_mounts.iter().flatten().any(|m| match data_volume {
                Some(d) => m.name == d || !volumes.contains(&m.name.as_str()),
                None => true,
            });
            let command = argv_text(c);
            mounts_data
                && command
                    .split(|ch: char| !ch.is_ascii_alphanumeric())
                    .any(|word| word == "chmod" || word == "chown")
        })
        .map(|c| InitStep {
            name: c.name.clone(),
            command: argv_text(c),
        })
        .collect()
}

fn argv_text(c: &Container) -> String {
    all_args(c).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsdb_path_forms() {
        let mut c = Container {
            args: Some(vec!["--storage.tsdb.path".into(), "/data".into()]),
            ..Default::default()
        };
        assert_eq!(tsdb_path(&c), "/data");
        c.args = Some(vec![
            "--config.file=/etc/config/prometheus.yml".into(),
            "--storage.tsdb.path=/data".into(),
        ]);
        assert_eq!(tsdb_path(&c), "/data");
        c.args = None;
        assert_eq!(tsdb_path(&c), "/prometheus");
        // Args without the flag replace the image's CMD: Prometheus' own default, relative to the workdir.
        c.args = Some(vec!["--config.file=/etc/prometheus/prometheus.yml".into()]);
        assert_eq!(tsdb_path(&c), "data/");
        assert_eq!(absolute(&tsdb_path(&c)), "/prometheus/data/");
        assert_eq!(config_file(&c), "/etc/prometheus/prometheus.yml");
        c.args = Some(vec!["--storage.tsdb.path=/data".into()]);
        assert_eq!(config_file(&c), "prometheus.yml");
    }
}
