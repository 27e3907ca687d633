//! Who a Prometheus container runs as when its securityContext does not say: the default UID/GID of known Prometheus
//! images, and the securityContext defaults of the two common Helm charts. Pure lookups, no I/O.
//!
//! Sources (see also shared/docs/prometheus-facts.md §6.5):
//! - upstream image (`quay.io/prometheus/prometheus`, `prom/prometheus`): prometheus/prometheus `Dockerfile` has
//!   `USER nobody` on a busybox base, i.e. 65534:65534, and `chown -R nobody:nobody /etc/prometheus /prometheus`;
//! - the `-distroless` variant (v3.10.0+): prometheus/prometheus `Dockerfile.distroless`, UID/GID 65532; its
//!   CHANGELOG entry says existing volumes need `chown -R 65532:65532`;
//! - prometheus-community/prometheus chart `server.securityContext`: `{runAsUser: 65534, runAsNonRoot: true,
//!   runAsGroup: 65534, fsGroup: 65534}` (charts/prometheus/values.yaml);
//! - kube-prometheus-stack `prometheus.prometheusSpec.securityContext`: `{runAsGroup: 2000, runAsNonRoot: true,
//!   runAsUser: 1000, fsGroup: 2000}` (charts/kube-prometheus-stack/values.yaml).

use serde::Serialize;

/// A numeric user and primary group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UserGroup {
    pub uid: i64,
    pub gid: i64,
}

/// The upstream image's `nobody`.
pub const UPSTREAM_NOBODY: UserGroup = UserGroup {
    uid: 65534,
    gid: 65534,
};
/// The distroless image's `nonroot`.
pub const DISTROLESS_NONROOT: UserGroup = UserGroup {
    uid: 65532,
    gid: 65532,
};
/// kube-prometheus-stack's `prometheusSpec.securityContext` runAsUser/runAsGroup (fsGroup is the same 2000).
pub const KPS_DEFAULT: UserGroup = UserGroup {
    uid: 1000,
    gid: 2000,
};
/// The prometheus-community chart's `server.securityContext` runAsUser/runAsGroup (fsGroup is the same 65534).
pub const CHART_DEFAULT: UserGroup = UserGroup {
    uid: 65534,
    gid: 65534,
};

/// What we know about an image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUser {
    /// The image's default user, when the image is one we know.
    pub user: Option<UserGroup>,
    /// Whether the image has a shell and coreutils (`chown`, `touch`): the busybox-based upstream image does, the
    /// distroless one does not.
    pub has_busybox: bool,
    /// One line saying where the answer comes from, for the plan and the JSON output.
    pub source: String,
}

/// Split `registry/repo/name:tag@digest` into (repository without registry for docker.io, tag).
fn repository_and_tag(image: &str) -> (String, String) {
    let without_digest = image.split('@').next().unwrap_or(image);
    // A ':' after the last '/' is a tag; one before it belongs to a registry port.
    let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match without_digest[last_slash..].rfind(':') {
        Some(i) => (
            &without_digest[..last_slash + i],
            &without_digest[last_slash + i + 1..],
        ),
        None => (without_digest, "latest"),
    };
    let repo = repo
        .strip_prefix("docker.io/")
        .or_else(|| repo.strip_prefix("index.docker.io/"))
        .unwrap_or(repo);
    let repo = repo.strip_prefix("library/").unwrap_or(repo);
    (repo.to_string(), tag.to_string())
}

/// The default user of a container image, when it is a Prometheus image we know.
pub fn default_user(image: &str) -> ImageUser {
    let (repo, tag) = repository_and_tag(image);
    let upstream = matches!(
        repo.as_str(),
        "prom/prometheus" | "quay.io/prometheus/prometheus"
    );
    if upstream && tag.ends_with("-distroless") {
        return ImageUser {
            user: Some(DISTROLESS_NONROOT),
            has_busybox: false,
            source: format!("{image} is the distroless Prometheus image (USER 65532)"),
        };
    }
    if upstream {
        return ImageUser {
            user: Some(UPSTREAM_NOBODY),
            has_busybox: true,
            source: format!("{image} is the upstream Prometheus image (USER nobody, 65534)"),
        };
    }
    ImageUser {
        user: None,
        has_busybox: false,
        source: format!("{image} is not an image whose default user we know"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_images_run_as_nobody() {
        for image in [
            "quay.io/prometheus/prometheus:v3.14.0",
            "prom/prometheus:latest",
            "prom/prometheus",
            "docker.io/prom/prometheus:v2.42.0",
            "quay.io/prometheus/prometheus@sha256:0123",
        ] {
            let known = default_user(image);
            assert_eq!(known.user, Some(UPSTREAM_NOBODY), "{image}");
            assert!(known.has_busybox, "{image}");
        }
    }

    #[test]
    fn distroless_runs_as_65532_without_a_shell() {
        let known = default_user("quay.io/prometheus/prometheus:v3.14.0-distroless");
        assert_eq!(known.user, Some(DISTROLESS_NONROOT));
        assert!(!known.has_busybox);
    }

    #[test]
    fn unknown_images_are_not_guessed() {
        for image in [
            "registry.example.com:5000/prom/prometheus:v2",
            "bitnami/prometheus:2",
            "myorg/prometheus",
        ] {
            assert_eq!(default_user(image).user, None, "{image}");
        }
    }

    #[test]
    fn registry_ports_are_not_tags() {
        assert_eq!(
            repository_and_tag("localhost:5000/prom/prometheus"),
            ("localhost:5000/prom/prometheus".into(), "latest".into())
        );
        assert_eq!(
            repository_and_tag("prom/prometheus:v2.42.0"),
            ("prom/prometheus".into(), "v2.42.0".into())
        );
    }
}
