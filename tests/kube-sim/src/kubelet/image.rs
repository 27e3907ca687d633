//! What a container image becomes on this node (decided from the pod spec alone, so it is unit-tested): the real
//! Debian `prometheus` for Prometheus images, the reload sidecars simulated in-process, the container's own command
//! for shell images and explicit commands, and a placeholder process for other images (grafana, node-exporter, …).
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

/// Binaries a node has beyond Debian's: the real control plane's node runs `prometheus:v3.*` images with the
/// Prometheus 3 that tools/world/build.sh built (issue 16). Default: none, every Prometheus image runs Debian's 2.42.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageMap {
    /// The node path of the Prometheus 3 binary.
    pub prometheus_v3: Option<String>,
    /// The node path of its promtool.
    pub promtool_v3: Option<String>,
}

impl ImageMap {
    /// The node binaries to bind (source, target in the container) when `argv` runs the v3 Prometheus: it and its
    /// promtool, as the v3 image has them.
    pub fn v3_binds(&self, argv: &[String]) -> Vec<(&str, &'static str)> {
        if argv.first().map(String::as_str) != Some(PROMETHEUS_V3_BIN) {
            return vec![];
        }
        [
            (self.prometheus_v3.as_deref(), PROMETHEUS_V3_BIN),
            (self.promtool_v3.as_deref(), PROMTOOL_V3_BIN),
        ]
        .into_iter()
        .filter_map(|(s, t)| s.map(|s| (s, t)))
        .collect()
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
    /// quay.io/prometheus-operator/prometheus-config-reloader (thanos pkg/reloader), with its args.
    ConfigReloader { args: Vec<String> },
    /// jimmidyson/configmap-reload, with its args.
    ConfigmapReload { args: Vec<String> },
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
    if repo == "prometheus-config-reloader" {
        return Behaviour::ConfigReloader { args };
    }
    if repo == "configmap-reload" {
        return Behaviour::ConfigmapReload { args };
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
            map.v3_binds(&argv),
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
        assert!(matches!(
            behaviour(&container(
                "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1",
                &[],
                &["--watched-dir=/etc/config"]
            )),
            Behaviour::ConfigReloader { .. }
        ));
        assert!(matches!(
            behaviour(&container("jimmidyson/configmap-reload:v0.8.0", &[], &[])),
            Behaviour::ConfigmapReload { .. }
        ));
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
