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
    if !command.is_empty() {
        let mut argv: Vec<String> = command.into_iter().chain(args).collect();
        if argv[0].rsplit('/').next() == Some("prometheus") {
            argv[0] = PROMETHEUS_BIN.into();
        }
        return Behaviour::Process { argv, image_user };
    }
    if is_prometheus_image {
        let args = if args.is_empty() {
            PROMETHEUS_DEFAULT_ARGS
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            args
        };
        let argv = std::iter::once(PROMETHEUS_BIN.to_string())
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
