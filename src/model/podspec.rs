//! Pure readings of a pod template that inspection, doctor's checks and fix-perms share (one rule each, below all of
//! them): the operator's generated-configuration Secret behind the config reloader, and the permission-fixing init
//! containers (moved here from doctor/checks/drift.rs and fix_perms/diagnose.rs so nothing imports up a layer).

use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde::Serialize;

/// An init container that changes ownership or modes of the data volume (the incident-4/5 workaround).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitStep {
    pub name: String,
    /// Its command and args joined, as shown to the user.
    pub command: String,
}

/// The Secret and key the operator's config reloader reads its input from (`--config-file=DIR/KEY`, DIR a Secret
/// volume mount of that container), e.g. `prometheus-k8s`, `prometheus.yaml.gz`: the operator's generated
/// configuration (prometheus-facts §3.2).
pub fn generated_config_source(
    spec: &k8s_openapi::api::core::v1::PodSpec,
) -> Option<(String, String)> {
    spec.containers.iter().find_map(|c| {
        let args = super::all_args(c);
        let file = super::flag_value(&args, "config-file")?;
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
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}
