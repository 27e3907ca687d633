//! What a container image becomes on this node (decided from the pod spec alone, so it is unit-tested): the real
//! Debian `prometheus` for Prometheus images (the Prometheus 3 of tools/world/build.sh for `v3.*` tags), the real
//! reload sidecars of tools/world/build.sh (prometheus-config-reloader, configmap-reload), the built
//! prometheus-operator for its image (it runs as a pod with the in-cluster configuration the node gives every pod), the container's own command for shell
//! images and explicit commands, and a placeholder process for other images (grafana, node-exporter, …).
use k8s_openapi::api::core::v1::Container;

pub const PROMETHEUS_BIN: &str = "/usr/bin/prometheus";

/// prom/prometheus's Dockerfile CMD (v2.x): what runs when the pod gives no args.
pub const PROMETHEUS_DEFAULT_ARGS: [&str; 4] = [
    "--config.file=/etc/prometheus/prometheus.yml",
    "--storage.tsdb.path=/prometheus",
    "--web.console.libraries=/usr/share/prometheus/console_libraries",
    "--web.console.templates=/usr/share/prometheus/consoles",
];

/// prom/prometheus's Dockerfile CMD from v3.0 on: the console flags are gone (Prometheus 3 refuses them).
pub const PROMETHEUS_V3_DEFAULT_ARGS: [&str; 2] = [
    "--config.file=/etc/prometheus/prometheus.yml",
    "--storage.tsdb.path=/prometheus",
];

/// Where a v3 image's Prometheus is inside the container: the node's binary (under /root, which `nobody` cannot
/// traverse) is bind-mounted there, read-only.
pub const PROMETHEUS_V3_BIN: &str = "/usr/local/bin/prometheus";
/// And its promtool (prom/prometheus ships both; /usr/local/bin is ahead of Debian's /usr/bin on PATH).
pub const PROMTOOL_V3_BIN: &str = "/usr/local/bin/promtool";

/// Where quay.io/prometheus-operator/prometheus-config-reloader has its binary (its Dockerfile: `ENTRYPOINT
/// ["/bin/prometheus-config-reloader"]`, `USER nobody`).
pub const CONFIG_RELOADER_BIN: &str = "/bin/prometheus-config-reloader";
/// Where quay.io/prometheus-operator/prometheus-operator has its binary (its Dockerfile, v0.85.0: `COPY … /bin/operator`,
/// `USER 65534`, `ENTRYPOINT ["/bin/operator"]`; the manifests give only `args`).
pub const OPERATOR_BIN: &str = "/bin/operator";
/// Where ghcr.io/jimmidyson/configmap-reload has its binary (its Dockerfile: `ENTRYPOINT ["/configmap-reload"]`,
/// `USER 65534`).
pub const CONFIGMAP_RELOAD_BIN: &str = "/configmap-reload";

/// Binaries a node has beyond Debian's, from tools/world/build.sh (issue 16): `prometheus:v3.*` images run the
/// Prometheus 3 built there, and the reload-sidecar images run the real reloaders built there (issue 19: their log
/// lines and status handling are the evidence doctor classifies). Default: none — every Prometheus image runs Debian's
/// 2.42 and the sidecars cannot start (the unit tests' node).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageMap {
    /// The node path of the Prometheus 3 binary.
    pub prometheus_v3: Option<String>,
    /// The node path of its promtool.
    pub promtool_v3: Option<String>,
    /// The node path of prometheus-config-reloader (operator 0.85.0).
    pub config_reloader: Option<String>,
    /// The node path of jimmidyson/configmap-reload (0.14.0).
    pub configmap_reload: Option<String>,
    /// The node path of the prometheus-operator (0.85.0).
    pub operator: Option<String>,
}

impl ImageMap {
    /// The binaries of a tools/world/build.sh bin directory, those that exist.
    pub fn from_dir(bin: &std::path::Path) -> Self {
        let built = |name: &str| {
            Some(bin.join(name))
                .filter(|p| p.is_file())
                .map(|p| p.display().to_string())
        };
        Self {
            prometheus_v3: built("prometheus"),
            promtool_v3: built("promtool"),
            config_reloader: built("prometheus-config-reloader"),
            configmap_reload: built("configmap-reload"),
            operator: built("operator"),
        }
    }

    /// The built world's binaries when tools/world/build.sh has built it (`control_plane::world_bin`: the
    /// `KUBE_SIM_WORLD_BIN` override or `build.sh --check`), else none, with the reason. Asked once per process.
    pub fn from_world() -> (Self, Option<String>) {
        static WORLD: std::sync::OnceLock<(ImageMap, Option<String>)> = std::sync::OnceLock::new();
        WORLD
            .get_or_init(|| match crate::control_plane::world_bin() {
                Ok(bin) => (Self::from_dir(&bin), None),
                Err(e) => (Self::default(), Some(e)),
            })
            .clone()
    }

    /// The node binaries to bind (source, target in the container) for what `argv` runs: the v3 Prometheus and its
    /// promtool, as the v3 image has them; a real reloader binary at its image's path. Read-only binds, because the
    /// node's copies live under /root, which the images' `nobody` cannot traverse.
    pub fn binds(&self, argv: &[String]) -> Vec<(&str, &'static str)> {
        let wanted: &[(Option<&str>, &'static str)] = match argv.first().map(String::as_str) {
            Some(PROMETHEUS_V3_BIN) => &[
                (self.prometheus_v3.as_deref(), PROMETHEUS_V3_BIN),
                (self.promtool_v3.as_deref(), PROMTOOL_V3_BIN),
            ],
            Some(CONFIG_RELOADER_BIN) => &[(self.config_reloader.as_deref(), CONFIG_RELOADER_BIN)],
            Some(CONFIGMAP_RELOAD_BIN) => {
                &[(self.configmap_reload.as_deref(), CONFIGMAP_RELOAD_BIN)]
            }
            Some(OPERATOR_BIN) => &[(self.operator.as_deref(), OPERATOR_BIN)],
            _ => &[],
        };
        wanted
            .iter()
            .filter_map(|(s, t)| s.map(|s| (s, *t)))
            .collect()
    }

    /// Whether the reload sidecars run as the real binaries (both built), for tests that say when they are degraded.
    pub fn real_reloaders(&self) -> bool {
        self.config_reloader.is_some() && self.configmap_reload.is_some()
    }
}

/// The tag of `repo:tag` (digest and registry port excluded), if any.
fn tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':').map(|(_, t)| t)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Runs `argv` for real (Prometheus, `sh -c …`, busybox commands).
    Process {
        argv: Vec<String>,
        image_user: Option<(u32, u32)>,
    },
    /// Anything else: a process that sleeps, Ready without probes (it stands in for the app).
    StandIn,
}

/// `quay.io/prometheus/prometheus:v2.48.0` → `prometheus`.
pub fn repository_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

const SHELL_IMAGES: [&str; 6] = ["busybox", "alpine", "ubuntu", "debian", "bash", "curl"];

pub fn behaviour(c: &Container) -> Behaviour {
    behaviour_with(c, &ImageMap::default())
}

/// `behaviour` on a node with the extra binaries of `map`.
pub fn behaviour_with(c: &Container, map: &ImageMap) -> Behaviour {
    let image = c.image.as_deref().unwrap_or_default();
    let repo = repository_name(image);
    let command = c.command.clone().unwrap_or_default();
    let args = c.args.clone().unwrap_or_default();
    // A real binary where the node has it (the reloaders, the operator): the image's entrypoint (or the container's
    // own command naming it) with the args, as `nobody` (the three Dockerfiles set that user).
    let real_image = |bin: &'static str| {
        let mut argv: Vec<String> = if command.is_empty() {
            vec![bin.to_string()]
        } else {
            command.clone()
        };
        if argv[0].rsplit('/').next() == bin.rsplit('/').next() {
            argv[0] = bin.into();
        }
        argv.extend(args.iter().cloned());
        Behaviour::Process {
            argv,
            image_user: Some((65534, 65534)),
        }
    };
    // The reloaders always run their real binary: a node without it fails the container's start (as a kubelet whose
    // runtime cannot find the image's entrypoint), never pretends to reload.
    if repo == "prometheus-config-reloader" {
        return real_image(CONFIG_RELOADER_BIN);
    }
    if repo == "configmap-reload" {
        return real_image(CONFIGMAP_RELOAD_BIN);
    }
    // The operator where the node has it (the real control plane): its entrypoint with the manifest's args, as
    // 65534; it reaches the API server with the in-cluster configuration the node gives every pod.
    if repo == "prometheus-operator" && map.operator.is_some() {
        return real_image(OPERATOR_BIN);
    }
    let is_prometheus_image = repo == "prometheus";
    // prom/prometheus runs as `USER nobody`.
    let image_user = is_prometheus_image.then_some((65534, 65534));
    let v3 = map
        .prometheus_v3
        .as_deref()
        .filter(|_| is_prometheus_image && tag(image).is_some_and(|t| t.starts_with("v3.")));
    let prometheus_bin = if v3.is_some() {
        PROMETHEUS_V3_BIN
    } else {
        PROMETHEUS_BIN
    };
    if !command.is_empty() {
        let mut argv: Vec<String> = command.into_iter().chain(args).collect();
        if argv[0].rsplit('/').next() == Some("prometheus") {
            argv[0] = prometheus_bin.into();
        }
        return Behaviour::Process { argv, image_user };
    }
    if is_prometheus_image {
        let defaults: &[&str] = if v3.is_some() {
            &PROMETHEUS_V3_DEFAULT_ARGS
        } else {
            &PROMETHEUS_DEFAULT_ARGS
        };
        let args = if args.is_empty() {
            defaults.iter().map(|s| s.to_string()).collect()
        } else {
            args
        };
        let argv = std::iter::once(prometheus_bin.to_string())
            .chain(args)
            .collect();
        return Behaviour::Process { argv, image_user };
    }
    if SHELL_IMAGES.contains(&repo) {
        let argv = if args.is_empty() {
            vec!["sh".to_string()]
        } else {
            args
        };
        return Behaviour::Process {
            argv,
            image_user: None,
        };
    }
    Behaviour::StandIn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(image: &str, command: &[&str], args: &[&str]) -> Container {
        Container {
            name: "c".into(),
            image: Some(image.into()),
            command: (!command.is_empty()).then(|| command.iter().map(|s| s.to_string()).collect()),
            args: (!args.is_empty()).then(|| args.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn v3_images_run_the_built_v3_only_where_the_node_has_it() {
        let c = container("quay.io/prometheus/prometheus:v3.5.0", &[], &[]);
        let Behaviour::Process { argv, .. } = behaviour(&c) else {
            panic!("not a process")
        };
        assert_eq!(argv[0], PROMETHEUS_BIN);
        let map = ImageMap {
            prometheus_v3: Some("/world/prometheus".into()),
            promtool_v3: Some("/world/promtool".into()),
            ..Default::default()
        };
        let Behaviour::Process { argv, .. } = behaviour_with(&c, &map) else {
            panic!("not a process")
        };
        assert_eq!(
            argv,
            [
                PROMETHEUS_V3_BIN,
                PROMETHEUS_V3_DEFAULT_ARGS[0],
                PROMETHEUS_V3_DEFAULT_ARGS[1]
            ]
        );
        assert_eq!(
            map.binds(&argv),
            [
                ("/world/prometheus", PROMETHEUS_V3_BIN),
                ("/world/promtool", PROMTOOL_V3_BIN)
            ]
        );
        let v2 = container("quay.io/prometheus/prometheus:v2.48.0", &[], &[]);
        let Behaviour::Process { argv, .. } = behaviour_with(&v2, &map) else {
            panic!("not a process")
        };
        assert_eq!(argv[0], PROMETHEUS_BIN);
    }

    #[test]
    fn reloader_images_run_the_built_reloaders_only_where_the_node_has_them() {
        let operator = container(
            "quay.io/prometheus-operator/prometheus-config-reloader:v0.85.0",
            &["/bin/prometheus-config-reloader"],
            &["--watched-dir=/etc/config"],
        );
        let chart = container(
            "ghcr.io/jimmidyson/configmap-reload:v0.14.0",
            &[],
            &["--volume-dir=/etc/config"],
        );
        // Not built: still the real binary's path, with nothing bound there (the container fails to start).
        let Behaviour::Process { argv, .. } = behaviour(&chart) else {
            panic!("not a process")
        };
        assert_eq!(argv[0], CONFIGMAP_RELOAD_BIN);
        assert!(ImageMap::default().binds(&argv).is_empty());
        let map = ImageMap {
            config_reloader: Some("/world/prometheus-config-reloader".into()),
            configmap_reload: Some("/world/configmap-reload".into()),
            ..Default::default()
        };
        assert!(map.real_reloaders());
        let Behaviour::Process { argv, image_user } = behaviour_with(&operator, &map) else {
            panic!("not a process")
        };
        assert_eq!(argv, [CONFIG_RELOADER_BIN, "--watched-dir=/etc/config"]);
        assert_eq!(image_user, Some((65534, 65534)));
        assert_eq!(
            map.binds(&argv),
            [("/world/prometheus-config-reloader", CONFIG_RELOADER_BIN)]
        );
        let Behaviour::Process { argv, .. } = behaviour_with(&chart, &map) else {
            panic!("not a process")
        };
        assert_eq!(argv, [CONFIGMAP_RELOAD_BIN, "--volume-dir=/etc/config"]);
        assert_eq!(
            map.binds(&argv),
            [("/world/configmap-reload", CONFIGMAP_RELOAD_BIN)]
        );
        // A directory with only some binaries: each image decides on its own.
        let dir = std::env::temp_dir().join(format!("kube-sim-imagemap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("configmap-reload"), b"").unwrap();
        let partial = ImageMap::from_dir(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(partial.configmap_reload.is_some() && partial.config_reloader.is_none());
        assert!(!partial.real_reloaders());
    }

    #[test]
    fn the_operator_image_runs_the_built_operator_only_where_the_node_has_it() {
        // kube-prometheus's Deployment gives args only (the image's ENTRYPOINT is /bin/operator).
        let c = container(
            "quay.io/prometheus-operator/prometheus-operator:v0.85.0",
            &[],
            &["--kubelet-service=kube-system/kubelet"],
        );
        assert_eq!(behaviour(&c), Behaviour::StandIn);
        let map = ImageMap {
            operator: Some("/world/operator".into()),
            ..Default::default()
        };
        let Behaviour::Process { argv, image_user } = behaviour_with(&c, &map) else {
            panic!("not a process")
        };
        assert_eq!(
            argv,
            [OPERATOR_BIN, "--kubelet-service=kube-system/kubelet"]
        );
        assert_eq!(image_user, Some((65534, 65534)));
        assert_eq!(map.binds(&argv), [("/world/operator", OPERATOR_BIN)]);
        // The config-reloader image of the same project is not the operator.
        let reloader = container(
            "quay.io/prometheus-operator/prometheus-config-reloader:v0.85.0",
            &[],
            &[],
        );
        let Behaviour::Process { argv, .. } = behaviour_with(&reloader, &map) else {
            panic!("not a process")
        };
        assert_eq!(argv, [CONFIG_RELOADER_BIN]);
    }

    #[test]
    fn images_map_to_behaviours() {
        let chart = container(
            "quay.io/prometheus/prometheus:v2.48.0",
            &[],
            &["--storage.tsdb.path=/data"],
        );
        assert_eq!(
            behaviour(&chart),
            Behaviour::Process {
                argv: vec![PROMETHEUS_BIN.into(), "--storage.tsdb.path=/data".into()],
                image_user: Some((65534, 65534))
            }
        );
        match behaviour(&container("prom/prometheus:latest", &[], &[])) {
            Behaviour::Process { argv, .. } => assert_eq!(argv[1], PROMETHEUS_DEFAULT_ARGS[0]),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            behaviour(&container(
                "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1",
                &[],
                &["--watched-dir=/etc/config"]
            )),
            Behaviour::Process {
                argv: vec![
                    CONFIG_RELOADER_BIN.into(),
                    "--watched-dir=/etc/config".into()
                ],
                image_user: Some((65534, 65534))
            }
        );
        assert_eq!(
            behaviour(&container(
                "busybox",
                &["sh", "-c", "chmod -R 777 /storage"],
                &[]
            )),
            Behaviour::Process {
                argv: vec!["sh".into(), "-c".into(), "chmod -R 777 /storage".into()],
                image_user: None
            }
        );
        assert_eq!(
            behaviour(&container("grafana/grafana:10.2.0", &[], &[])),
            Behaviour::StandIn
        );
        assert_eq!(
            behaviour(&container(
                "quay.io/prometheus-operator/prometheus-operator:v0.93.1",
                &[],
                &[]
            )),
            Behaviour::StandIn
        );
    }
}
