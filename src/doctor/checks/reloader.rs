//! The reload-sidecar failures the lifecycle checks do not cover, each told apart from the sidecar's one misleading
//! hint ("have you set `--web.enable-lifecycle`", printed for every non-200): 401 (authentication in front of
//! /-/reload), 400 (plain HTTP to a TLS port), 405 (a `//-/reload` URL redirected into a GET) and TLS failures
//! (`https://` to a plain port, an untrusted certificate). Every cause below was reproduced with the real
//! prometheus-config-reloader 0.85.0 and configmap-reload 0.14.0 of tools/world/build.sh (fixtures
//! `tests/fixtures/doctor/logs/sidecar-*-0.*.log`).

use super::{quote_hit, still_current};
use crate::discover::{Flavour, flag_value};
use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::InstanceSnapshot;
use crate::logscan::Kind;

/// The reload URL the sidecar posts to (`--reload-url`, configmap-reload's `--webhook-url`).
fn reload_url(s: &InstanceSnapshot) -> Option<String> {
    let c = s.reloader()?;
    let args = crate::discover::all_args(c);
    flag_value(&args, "reload-url").or_else(|| flag_value(&args, "webhook-url"))
}

/// Where the sidecar's arguments are changed for this install.
fn where_args_live(s: &InstanceSnapshot) -> String {
    match &s.instance.flavour {
        Flavour::Chart { release, .. } => format!(
            "in release {release}'s values (`configmapReload.prometheus.extraArgs`), then `helm upgrade`"
        ),
        Flavour::Operator { .. } => {
            "in the Prometheus resource (the operator generates the sidecar; `spec.containers` patches \
             `config-reloader` by name)"
                .to_string()
        }
        _ => format!(
            "in the workload's `{}` container args",
            s.reloader().map(|c| c.name.as_str()).unwrap_or("reload sidecar")
        ),
    }
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    let hits = s.reloader_hits();
    let object = |pod: &str| format!("pod/{pod}");
    let url = reload_url(s);
    let url_evidence = || url.iter().map(|u| format!("sidecar reload URL: {u}"));
    let meanwhile = format!(
        "; until then apply changes with `{}`",
        s.prom_command("reload")
    );
    if let Some((log, hit)) = still_current(
        &hits,
        &[Kind::SidecarReloadRejected],
        &[Kind::SidecarReloadOk],
    ) {
        let evidence = std::iter::once(quote_hit(log, &hit))
            .chain(url_evidence())
            .collect::<Vec<_>>();
        match hit.status {
            Some(401) => out.push(Finding::new(
                "PROM-106",
                object(&log.pod),
                evidence,
                "Prometheus (its `--web.config.file` basic_auth_users, or a proxy in front of it) wants credentials \
                 on /-/reload and the sidecar sends none, so every reload is refused with 401 — the lifecycle flag \
                 is not the problem.",
                match &s.instance.flavour {
                    Flavour::Operator { .. } => format!(
                        "set `spec.reloadStrategy: ProcessSignal` on the Prometheus resource (operator 0.70+: the \
                         reloader sends SIGHUP instead of calling the authenticated endpoint){meanwhile}"
                    ),
                    _ => format!(
                        "reload by signal instead: give the sidecar `--reload-method=signal` (prometheus-config-reloader) \
                         and the pod `shareProcessNamespace: true`, {}{meanwhile}",
                        where_args_live(s)
                    ),
                },
            )),
            Some(400) => out.push(Finding::new(
                "PROM-107",
                object(&log.pod),
                evidence,
                "Prometheus serves TLS (`tls_server_config` in its web config) and the sidecar speaks plain HTTP to \
                 it; Go's server answers such a request with 400 Bad Request, and no reload happens.",
                format!(
                    "make the reload URL `https://…` {}{meanwhile}",
                    where_args_live(s)
                ),
            )),
            Some(405) => out.push(Finding::new(
                "PROM-108",
                object(&log.pod),
                evidence,
                "The reload URL has a double slash (`//-/reload`, from a trailing `/` in the prefix): Prometheus 2.x \
                 redirects it with 301 and the sidecar's Go client re-sends the redirected POST as a GET, which \
                 /-/reload answers 405 (Prometheus 3 redirects with 307 and keeps the POST).",
                match &s.instance.flavour {
                    Flavour::Chart { release, .. } => format!(
                        "remove the trailing `/` from `server.prefixURL` in release {release}'s values and `helm \
                         upgrade` (the chart appends `/-/reload` to it){meanwhile}"
                    ),
                    _ => format!(
                        "remove the double slash from the reload URL {}{meanwhile}",
                        where_args_live(s)
                    ),
                },
            )),
            _ => {}
        }
    }
    if let Some((log, hit)) = still_current(
        &hits,
        &[Kind::SidecarReloadTls],
        &[Kind::SidecarReloadOk, Kind::SidecarReloadRejected],
    ) {
        let plain_port = hit
            .quote
            .contains("server gave HTTP response to HTTPS client");
        let evidence = std::iter::once(quote_hit(log, &hit))
            .chain(url_evidence())
            .collect::<Vec<_>>();
        let (means, fix) = if plain_port {
            (
                "The reload URL says `https://` but Prometheus serves plain HTTP on that port, so the TLS handshake \
                 fails and no reload happens.",
                format!(
                    "make the reload URL `http://…` {}{meanwhile}",
                    where_args_live(s)
                ),
            )
        } else {
            (
                "The sidecar does not trust the certificate Prometheus serves, so the TLS handshake fails and no \
                 reload happens.",
                format!(
                    "give the sidecar the CA that signed Prometheus's certificate (mount it and set `SSL_CERT_FILE` \
                     to it; Go reads that variable on Linux) {}{meanwhile}",
                    where_args_live(s)
                ),
            )
        };
        out.push(Finding::new(
            "PROM-109",
            object(&log.pod),
            evidence,
            means,
            fix,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{CHART, KPS, ids, instance, log};

    const SIDECAR: &str = "prometheus-server-configmap-reload";

    fn chart_with(fixture: &str) -> Vec<Finding> {
        check(&instance(CHART, &[(SIDECAR, false, &log(fixture))]))
    }

    #[test]
    fn each_real_reloader_status_gets_its_own_cause() {
        for (fixture, id) in [
            ("sidecar-config-reloader-0.85-401.log", "PROM-106"),
            ("sidecar-configmap-reload-0.14-401.log", "PROM-106"),
            ("sidecar-config-reloader-0.85-400.log", "PROM-107"),
            ("sidecar-configmap-reload-0.14-400.log", "PROM-107"),
            ("sidecar-config-reloader-0.85-405.log", "PROM-108"),
            ("sidecar-configmap-reload-0.14-405.log", "PROM-108"),
            ("sidecar-config-reloader-0.85-https-to-http.log", "PROM-109"),
            ("sidecar-configmap-reload-0.14-tls.log", "PROM-109"),
        ] {
            let f = chart_with(fixture);
            assert_eq!(ids(&f), [id], "{fixture}");
            assert!(!f[0].meaning.contains("have you set"), "{fixture}");
            assert!(f[0].fix.contains("kubectl prom reload"), "{fixture}");
        }
    }

    #[test]
    fn the_fix_follows_the_flavour_and_the_failure() {
        let f = chart_with("sidecar-config-reloader-0.85-405.log");
        assert!(f[0].fix.contains("server.prefixURL"), "{}", f[0].fix);
        let f = chart_with("sidecar-config-reloader-0.85-https-to-http.log");
        assert!(f[0].fix.contains("`http://…`"), "{}", f[0].fix);
        let f = chart_with("sidecar-configmap-reload-0.14-tls.log");
        assert!(f[0].fix.contains("SSL_CERT_FILE"), "{}", f[0].fix);
        let kps = check(&instance(
            KPS,
            &[(
                "config-reloader",
                false,
                &log("sidecar-config-reloader-0.85-401.log"),
            )],
        ));
        assert_eq!(ids(&kps), ["PROM-106"]);
        assert!(kps[0].fix.contains("reloadStrategy: ProcessSignal"));
    }

    #[test]
    fn statuses_the_lifecycle_checks_own_and_successes_are_not_repeated() {
        for fixture in [
            "sidecar-config-reloader-403.log",
            "sidecar-config-reloader-500.log",
            "sidecar-config-reloader-404.log",
            "sidecar-configmap-reload-0.14-ok.log",
            "sidecar-configmap-reload-0.14-refused.log",
        ] {
            assert!(chart_with(fixture).is_empty(), "{fixture}");
        }
    }
}
