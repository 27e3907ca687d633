//! Permission checks: `permission denied` on the data directory, a TSDB lock held by another process, chmod/chown
//! initContainers (incident 4), and non-root users without fsGroup on a persistent volume (prometheus-facts.md §2.2,
//! §6.5).

use super::quote_hit;
use crate::discover::WorkloadKind;
use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::InstanceSnapshot;
use crate::logscan::Kind;

/// The UID the Prometheus container runs as when the spec says so (container first, then pod).
fn run_as_user(s: &InstanceSnapshot) -> Option<i64> {
    let container = s
        .prometheus_container()?
        .security_context
        .as_ref()
        .and_then(|c| c.run_as_user);
    container.or_else(|| s.pod_spec()?.security_context.as_ref()?.run_as_user)
}

fn fs_group(s: &InstanceSnapshot) -> Option<i64> {
    s.pod_spec()?.security_context.as_ref()?.fs_group
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    let fix_perms = s.prom_command("fix-perms");
    if let Some((log, hit)) = s.first_hit(Kind::PermissionDenied) {
        let who = match (run_as_user(s), fs_group(s)) {
            (Some(uid), Some(gid)) => format!(" (runAsUser {uid}, fsGroup {gid})"),
            (Some(uid), None) => format!(" (runAsUser {uid}, no fsGroup)"),
            (None, Some(gid)) => format!(" (image's default user, fsGroup {gid})"),
            (None, None) => " (image's default user, no fsGroup)".to_string(),
        };
        let path = hit
            .path
            .clone()
            .unwrap_or_else(|| "its data directory".into());
        out.push(Finding::new(
            "PROM-401",
            format!("pod/{}", log.pod),
            vec![quote_hit(log, &hit)],
            format!(
                "The Prometheus process{who} may not write {path}; it exits before opening the TSDB, never becomes \
                 ready, and the Service has no endpoints."
            ),
            fix_perms.clone(),
        ));
    }
    if let Some((log, hit)) = s.first_hit(Kind::LockConflict) {
        let deployment = s
            .instance
            .workloads
            .iter()
            .find(|w| w.kind == WorkloadKind::Deployment);
        let strategy = s
            .deployments
            .first()
            .and_then(|d| d.spec.as_ref()?.strategy.as_ref()?.type_.clone())
            .unwrap_or_else(|| "RollingUpdate".into());
        let mut evidence = vec![quote_hit(log, &hit)];
        let fix = match deployment {
            Some(d) if strategy != "Recreate" => {
                evidence.push(format!("deploy/{} strategy: {strategy}", d.name));
                format!(
                    "kubectl patch deploy/{} -n {} -p '{{\"spec\":{{\"strategy\":{{\"type\":\"Recreate\",\"rollingUpdate\":null}}}}}}'",
                    d.name, s.instance.namespace
                )
            }
            _ => "make sure only one Prometheus pod mounts this volume (check other pods using the PVC)".to_string(),
        };
        out.push(Finding::new(
            "PROM-402",
            format!("pod/{}", log.pod),
            evidence,
            "Another Prometheus process holds the TSDB lock on the same volume — typically a RollingUpdate started \
             the new pod while the old one still runs. The new one cannot open its storage.",
            fix,
        ));
    }
    if let Some(spec) = s.pod_spec() {
        // The same rule fix-perms removes by (issue 18 item 4): what doctor flags, fix-perms handles.
        let data_volume = s.instance.data.as_ref().map(|d| d.volume.as_str());
        for init in crate::model::volume::permission_init_containers(spec, data_volume) {
            let text = init.command;
            {
                out.push(Finding::new(
                    "PROM-403",
                    format!("{}/{}", s.instance.workloads.first().map(|w| w.kind.short()).unwrap_or("pod"), s.instance.workloads.first().map(|w| w.name.as_str()).unwrap_or_default()),
                    vec![format!("initContainer {} runs `{text}`", init.name)],
                    "Changing permissions by hand at every start is a workaround: `chmod 777` opens the data to every \
                     user, and on some CSI drivers the ownership reverts on re-mount. Kubernetes does this with \
                     securityContext.fsGroup.",
                    fix_perms.clone(),
                ));
            }
        }
    }
    let on_pvc = s
        .instance
        .data
        .as_ref()
        .is_some_and(|d| !d.claims().is_empty());
    // The user: the spec's runAsUser, else the image's known default (the upstream image runs as nobody).
    let user = run_as_user(s)
        .map(|uid| (uid, format!("runAsUser: {uid}")))
        .or_else(|| {
            let image = crate::images::default_user(&s.instance.image);
            image
                .user
                .map(|u| (u.uid, format!("no runAsUser; {}", image.source)))
        });
    let worked_around = out.iter().any(|f| f.id == "PROM-403");
    if on_pvc
        && !worked_around
        && fs_group(s).is_none()
        && let Some((uid, who)) = user.filter(|(u, _)| *u != 0)
    {
        let claims = s
            .instance
            .data
            .as_ref()
            .map(|d| d.claims().join(", pvc/"))
            .unwrap_or_default();
        out.push(Finding::new(
            "PROM-404",
            s.target(),
            vec![format!("{who} (uid {uid}), no securityContext.fsGroup, data on pvc/{claims}")],
            "A freshly provisioned volume is owned by root; without fsGroup the kubelet does not make it writable \
             for this user, so Prometheus fails with `permission denied` on its data directory.",
            fix_perms,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{CHART, HANDMADE, KPS, ids, instance, log};

    #[test]
    fn permission_denied_is_prom_401_and_names_the_user() {
        for fixture in ["v2.42-permission-denied.log", "v3-permission-denied.log"] {
            let s = instance(KPS, &[("prometheus", false, &log(fixture))]);
            let f = check(&s);
            assert_eq!(ids(&f), ["PROM-401"], "{fixture}");
            assert!(f[0].meaning.contains("runAsUser 1000, fsGroup 2000"));
            assert_eq!(
                f[0].fix,
                "kubectl prom fix-perms prometheus/kps-kube-prometheus-stack-prometheus -n monitoring"
            );
        }
    }

    #[test]
    fn a_termination_message_stands_in_for_an_unreadable_log() {
        let message = log("v3-permission-denied.log")
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        let yaml = KPS.replace(
            "  - name: prometheus\n    ready: true\n    restartCount: 0\n",
            &format!(
                "  - name: prometheus\n    ready: false\n    restartCount: 3\n    lastState:\n      terminated:\n        exitCode: 1\n        message: \"{}\"\n",
                message.replace('\n', "\\n")
            ),
        );
        let f = check(&instance(&yaml, &[]));
        assert_eq!(ids(&f), ["PROM-401"], "{f:?}");
        assert!(f[0].evidence[0].contains("[prometheus, previous run]"));
    }

    #[test]
    fn lock_conflict_on_a_rolling_deployment_suggests_recreate() {
        let yaml = CHART.replace("    type: Recreate\n", "    type: RollingUpdate\n");
        let s = instance(
            &yaml,
            &[("prometheus-server", false, &log("v3-lock-conflict.log"))],
        );
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-402"]);
        assert!(f[0].fix.contains("\"type\":\"Recreate\""));
    }

    #[test]
    fn doctor_and_fix_perms_flag_the_same_init_containers() {
        // A misnamed mount (the incident's `prometheus-db` for `prometheus-storage`): flagged, and fix-perms removes
        // it through the same rule (it ignored it before and waited on a rollout that could not progress).
        let misnamed = HANDMADE.replacen(
            "        - name: prometheus-storage\n          mountPath: /storage\n",
            "        - name: prometheus-db\n          mountPath: /storage\n",
            1,
        );
        let f = check(&instance(&misnamed, &[]));
        assert_eq!(ids(&f), ["PROM-403"], "{f:#?}");
        let s = instance(&misnamed, &[]);
        let spec = s.pod_spec().unwrap();
        let shared =
            crate::model::volume::permission_init_containers(spec, Some("prometheus-storage"));
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[0].name, "init-storage");
        // A chmod on the config volume only is not about the data: neither flags it.
        let config_only = HANDMADE.replacen(
            "        - name: prometheus-storage\n          mountPath: /storage\n",
            "        - name: prometheus-config\n          mountPath: /storage\n",
            1,
        );
        assert!(
            check(&instance(&config_only, &[]))
                .iter()
                .all(|f| f.id != "PROM-403")
        );
    }

    #[test]
    fn chmod_init_container_is_prom_403() {
        let f = check(&instance(HANDMADE, &[]));
        assert_eq!(ids(&f), ["PROM-403"]);
        assert!(f[0].evidence[0].contains("chmod -R 777 /storage/prometheus"));
        assert_eq!(f[0].object, "deploy/prometheus");
    }

    #[test]
    fn non_root_without_fs_group() {
        let yaml = CHART.replace("        fsGroup: 65534\n", "");
        assert_eq!(ids(&check(&instance(&yaml, &[]))), ["PROM-404"]);
        assert!(check(&instance(CHART, &[])).is_empty());
        // No runAsUser at all: the upstream image's nobody needs fsGroup just the same.
        let yaml = yaml.replace("        runAsUser: 65534\n", "");
        let f = check(&instance(&yaml, &[]));
        assert_eq!(ids(&f), ["PROM-404"]);
        assert!(
            f[0].evidence[0].contains("uid 65534"),
            "{:?}",
            f[0].evidence
        );
        // A chmod initContainer is the workaround already reported (PROM-403), not a second finding.
        assert_eq!(ids(&check(&instance(HANDMADE, &[]))), ["PROM-403"]);
    }
}
