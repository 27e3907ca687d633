//! Hygiene checks: `:latest` images pulled on every start, WAL compression off where it is not the default, WAL
//! corruption repairs, scrape targets down, and signs of an unclean previous exit (prometheus-facts.md §2.4, §2.6).

use super::quote_hit;
use crate::discover::bool_flag;
use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::InstanceSnapshot;
use crate::logscan::Kind;

/// `prom/prometheus:latest`, or no tag at all (which means latest).
fn is_latest(image: &str) -> bool {
    let no_digest = image.split('@').next().unwrap_or(image);
    if image.contains('@') {
        return false; // pinned by digest
    }
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

/// Where the install's data and source of truth put it at risk (issue 18): data on an emptyDir, and live fields the
/// verbs change that the next `kubectl apply` would put back.
fn install(s: &InstanceSnapshot, out: &mut Vec<Finding>) {
    let ns = &s.instance.namespace;
    if let Some(d) = &s.instance.data
        && d.source == crate::discover::DataSource::EmptyDir
    {
        // Moving to a claim starts it empty, so the fix says when, never how to swap volumes now (the data rule
        // of src/doctor/checks/mod.rs `endangers_data`).
        let key = s
            .instance
            .origin
            .chart()
            .and_then(|c| crate::install::values_key(c, crate::install::Key::VolumeSize));
        let how = match (&s.instance.flavour, key) {
            (crate::discover::Flavour::Operator { prometheus }, Some(k)) => format!(
                "when losing what is on it now is acceptable, give prometheus/{prometheus} persistent storage through the chart's values (`{k}`); the operator recreates the pods on new claims"
            ),
            (crate::discover::Flavour::Operator { prometheus }, None) => format!(
                "when losing what is on it now is acceptable, give prometheus/{prometheus} persistent storage in its spec.storage (`kubectl edit prometheus/{prometheus} -n {ns}`); the operator recreates the pods on new claims"
            ),
            (_, Some(k)) => format!(
                "when losing what is on it now is acceptable, turn on the chart's persistence (`{k}` and the `enabled` key beside it) and upgrade; the new pod starts on a new claim"
            ),
            (_, None) => format!(
                "when losing what is on it now is acceptable, mount a PersistentVolumeClaim at {} in place of volume {}",
                d.mount_path, d.volume
            ),
        };
        out.push(Finding::new(
            "PROM-211",
            s.target(),
            vec![format!(
                "volume {} (mounted at {}, --storage.tsdb.path={}) is an emptyDir",
                d.volume, d.mount_path, d.path
            )],
            "The TSDB lives on an emptyDir: every metric is lost when the pod is deleted, evicted or rescheduled (a \
             node drain, a rollout with the Recreate strategy), and there is no volume to resize.",
            how,
        ));
    }
    let origin = &s.instance.origin;
    if !origin.drift.is_empty() {
        let fields: Vec<String> = origin
            .drift
            .iter()
            .map(|d| format!("{}: last applied {}, live {}", d.field, d.applied, d.live))
            .collect();
        out.push(Finding::new(
            "PROM-611",
            origin.object.clone(),
            fields,
            "The object's kubectl.kubernetes.io/last-applied-configuration sets these fields to other values than \
             it has live: the next `kubectl apply` of that manifest puts them back (a smaller claim size fails, an \
             operator resource rolls its StatefulSet again).",
            format!(
                "update the manifest you apply for {} to the live values (`kubectl get {} -n {ns} -o yaml`), or re-apply it on purpose",
                origin.object, origin.object
            ),
        ));
    }
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    install(s, &mut out);
    let ns = &s.instance.namespace;
    if let Some(c) = s.prometheus_container() {
        let image = c.image.clone().unwrap_or_default();
        // Kubernetes defaults imagePullPolicy to Always for `:latest` and untagged images.
        let policy = c.image_pull_policy.clone().unwrap_or_else(|| {
            if is_latest(&image) {
                "Always".into()
            } else {
                "IfNotPresent".into()
            }
        });
        if is_latest(&image) && policy == "Always" {
            out.push(Finding::new(
                "PROM-601",
                s.target(),
                vec![format!("container {}: image {image}, imagePullPolicy {policy}", c.name)],
                "Every restart may pull a different Prometheus version — a major upgrade (v2 → v3 changed flags, \
                 log format and defaults) can happen unnoticed during an incident.",
                format!(
                    "pin a version: kubectl set image {} -n {ns} {}={}:<version>",
                    s.target(),
                    c.name,
                    image.split('@').next().unwrap_or(&image).trim_end_matches(":latest")
                ),
            ));
        }
    }
    // WAL compression became the default in v2.20; before that, and wherever it is explicitly off, it is off.
    let live = s
        .live_flag("storage.tsdb.wal-compression")
        .map(|(_, v)| v == "true");
    let from_args = bool_flag(&s.instance.args, "storage.tsdb.wal-compression");
    let explicitly_off = s.instance.args.iter().any(|a| {
        let a = a.trim_start_matches('-');
        a == "no-storage.tsdb.wal-compression" || a == "storage.tsdb.wal-compression=false"
    });
    let off = match (live, s.version()) {
        (Some(on), _) => !on,
        (None, Some(v)) if v < (2, 20) => !from_args,
        (None, _) => explicitly_off,
    };
    if off {
        out.push(Finding::new(
            "PROM-602",
            s.target(),
            vec![match live {
                Some(_) => "GET /api/v1/status/flags: \"storage.tsdb.wal-compression\": \"false\""
                    .to_string(),
                None => format!(
                    "version {:?}, args: {}",
                    s.version(),
                    s.instance.args.join(" ")
                ),
            }],
            "The WAL takes about twice the disk space it would with compression.",
            format!(
                "add `--storage.tsdb.wal-compression` to the {} container's args",
                s.instance.container
            ),
        ));
    }
    if let Some((log, hit)) = s.first_hit(Kind::WalRepair) {
        out.push(Finding::new(
            "PROM-603",
            format!("pod/{}", log.pod),
            vec![quote_hit(log, &hit)],
            "Prometheus found a corrupt WAL segment and deleted everything after it: the samples in it are lost. \
             Usual causes are a full disk, an OOM kill or a node crash during a write.",
            format!("look for PROM-201/PROM-506 causes; check the volume with `{}`", s.prom_command("doctor")),
        ));
    }
    let mut down: Vec<String> = Vec::new();
    let mut total = 0;
    for l in &s.live {
        let Some(targets) = l
            .targets
            .as_ref()
            .and_then(|t| t.get("activeTargets"))
            .and_then(|t| t.as_array())
        else {
            continue;
        };
        total += targets.len();
        for t in targets
            .iter()
            .filter(|t| t.get("health").and_then(|h| h.as_str()) == Some("down"))
        {
            let field = |k: &str| {
                t.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            down.push(format!(
                "{} {}: {}",
                field("scrapePool"),
                field("scrapeUrl"),
                field("lastError")
            ));
        }
    }
    if !down.is_empty() {
        let n = down.len();
        let mut evidence: Vec<String> = down.into_iter().take(5).collect();
        if n > 5 {
            evidence.push(format!("… and {} more", n - 5));
        }
        out.push(Finding::new(
            "PROM-604",
            s.target(),
            evidence,
            format!("{n} of {total} active scrape targets are down; their metrics (and alerts on them) are missing."),
            format!("kubectl port-forward -n {ns} {} 9090 and open /targets?state=down", s.instance.pods.first().map(|p| format!("pod/{}", p.name)).unwrap_or_else(|| s.target())),
        ));
    }
    if let Some((log, hit)) = s.first_hit(Kind::UncleanShutdown) {
        out.push(Finding::new(
            "PROM-605",
            format!("pod/{}", log.pod),
            vec![quote_hit(log, &hit)],
            "The previous Prometheus process did not stop cleanly (OOM kill, SIGKILL after the grace period, node \
             failure); queries running then are listed in the log.",
            format!("kubectl get pod -n {ns} -o jsonpath='{{.items[*].status.containerStatuses[*].lastState}}'"),
        ));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{CHART, HANDMADE, KPS, ids, instance, log};
    use crate::doctor::snapshot::LiveStatus;

    /// The chart fixture with its data on an emptyDir (`server.persistentVolume.enabled: false`).
    pub(crate) fn chart_on_empty_dir() -> String {
        CHART
            .replace(
                "        persistentVolumeClaim:\n          claimName: prometheus-server\n",
                "        emptyDir: {}\n",
            )
            .replace(
                "    persistentVolumeClaim:\n      claimName: prometheus-server\n",
                "    emptyDir: {}\n",
            )
    }

    /// The chart fixture as `helm template | kubectl apply` leaves it, applied with runAsUser 0 and changed live
    /// since (fix-perms' securityContext).
    pub(crate) fn chart_applied_then_changed() -> String {
        CHART.replacen(
            "  annotations:\n    meta.helm.sh/release-name: prometheus\n",
            "  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"kind\":\"Deployment\",\"spec\":{\"template\":{\"spec\":{\"securityContext\":{\"runAsUser\":0}}}}}'\n",
            1,
        )
    }

    #[test]
    fn data_on_an_empty_dir_is_said_to_be_lost_with_the_pod() {
        let f = check(&instance(&chart_on_empty_dir(), &[]));
        assert_eq!(ids(&f), ["PROM-211"], "{f:#?}");
        assert!(
            f[0].meaning.contains("lost when the pod is deleted"),
            "{}",
            f[0].meaning
        );
        assert!(
            f[0].fix.contains("server.persistentVolume.size"),
            "{}",
            f[0].fix
        );
        assert!(
            check(&instance(CHART, &[]))
                .iter()
                .all(|f| f.id != "PROM-211")
        );
    }

    #[test]
    fn live_state_that_the_next_apply_reverts_is_prom_611() {
        let f = check(&instance(&chart_applied_then_changed(), &[]));
        assert_eq!(ids(&f), ["PROM-611"], "{f:#?}");
        assert_eq!(f[0].object, "deploy/prometheus-server");
        assert!(
            f[0].evidence[0]
                .contains("spec.template.spec.securityContext: last applied {\"runAsUser\":0}"),
            "{:?}",
            f[0].evidence
        );
    }

    #[test]
    fn latest_with_always_is_prom_601() {
        let f = check(&instance(HANDMADE, &[]));
        assert_eq!(ids(&f), ["PROM-601"]);
        assert!(f[0].fix.contains(
            "kubectl set image deploy/prometheus -n monitoring prometheus=prom/prometheus:<version>"
        ));
        assert!(is_latest("prom/prometheus"));
        assert!(!is_latest("prom/prometheus:v2.48.0"));
        assert!(!is_latest("localhost:5000/prometheus@sha256:abc"));
    }

    #[test]
    fn wal_compression_off_only_where_it_is_not_the_default() {
        assert!(check(&instance(CHART, &[])).is_empty()); // 2.48: on by default
        let old = CHART.replace("prometheus:v2.48.0", "prometheus:v2.19.3");
        assert_eq!(ids(&check(&instance(&old, &[]))), ["PROM-602"]);
        let mut s = instance(KPS, &[]);
        s.live.push(LiveStatus {
            pod: "prometheus-kps-kube-prometheus-stack-prometheus-0".into(),
            flags: Some(
                [(
                    "storage.tsdb.wal-compression".to_string(),
                    "false".to_string(),
                )]
                .into(),
            ),
            ..Default::default()
        });
        assert_eq!(ids(&check(&s)), ["PROM-602"]);
    }

    #[test]
    fn wal_repair_and_targets_down() {
        let mut s = instance(
            CHART,
            &[("prometheus-server", false, &log("v3-wal-repair.log"))],
        );
        s.live.push(LiveStatus {
            pod: "prometheus-server-6d9f8b7c4-x2x9k".into(),
            targets: Some(serde_json::json!({"activeTargets": [
                {"scrapePool": "node", "scrapeUrl": "http://10.0.0.1:9100/metrics", "health": "down", "lastError": "connection refused"},
                {"scrapePool": "prometheus", "scrapeUrl": "http://localhost:9090/metrics", "health": "up", "lastError": ""}
            ]})),
            ..Default::default()
        });
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-603", "PROM-604"]);
        assert!(
            f[1].meaning
                .starts_with("1 of 2 active scrape targets are down")
        );
        assert_eq!(
            f[1].evidence[0],
            "node http://10.0.0.1:9100/metrics: connection refused"
        );
    }
}
