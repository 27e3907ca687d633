//! The checks: pure functions from an [`InstanceSnapshot`] to [`Finding`]s, one file per family. No I/O. Every
//! finding quotes what it saw, says what it means, and gives the exact fix.

pub mod config;
pub mod disk;
pub mod drift;
pub mod hygiene;
pub mod lifecycle;
pub mod perms;
pub mod reloader;
pub mod rule_drift;
pub mod serving;
pub mod wal;

use crate::doctor::catalog::{self, CATALOG, Finding};
use crate::doctor::snapshot::{ContainerLog, InstanceSnapshot};
use crate::logscan::Hit;

/// Every check on one instance, most severe first, causes before symptoms (catalog order).
pub fn run(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(disk::check(s));
    findings.extend(perms::check(s));
    findings.extend(config::check(s));
    findings.extend(drift::check(s));
    findings.extend(rule_drift::check(s));
    findings.extend(lifecycle::check(s));
    findings.extend(reloader::check(s));
    findings.extend(wal::check(s));
    findings.extend(serving::check(s));
    findings.extend(hygiene::check(s));
    findings.extend(access(s));
    sort(&mut findings);
    findings
}

/// Most severe first, then catalog order, then object.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(catalog::rank(a.id).cmp(&catalog::rank(b.id)))
            .then(a.object.cmp(&b.object))
    });
}

/// PROM-900: say which data could not be read and which checks that blinds, so a partial report is never mistaken
/// for a clean one. The evidence is the request and who answered what; the fix follows the answer: access only for a
/// 401/403, otherwise the same read by hand (the API server failed it, which says nothing about Prometheus).
fn access(s: &InstanceSnapshot) -> Vec<Finding> {
    s.gaps
        .iter()
        .map(|gap| {
            let blinded: Vec<&str> = CATALOG
                .iter()
                .filter(|c| c.needs.contains(&gap.data))
                .map(|c| c.id)
                .collect();
            let seen = match &gap.request {
                Some(request) => format!(
                    "could not read {}: {request} → {}",
                    gap.data.describe(),
                    gap.reason
                ),
                None => format!("could not read {}: {}", gap.data.describe(), gap.reason),
            };
            let fix = if gap.is_permission() {
                format!(
                    "ask an admin for read access to {}; check with `{}`",
                    gap.data.describe(),
                    gap.data.can_i(&s.instance.namespace)
                )
            } else if let Some(request) = &gap.request {
                let by_hand = match request.strip_prefix("GET ") {
                    Some(path) => format!("`kubectl get --raw '{path}'`"),
                    None => format!("`{request}`"),
                };
                let what = match gap.status {
                    Some(code) => format!("failed ({code})"),
                    None => "dropped".to_string(),
                };
                format!(
                    "not a permission problem: the API server {what} this read; try it by hand ({by_hand}) and run \
                     doctor again once it answers"
                )
            } else {
                format!(
                    "run `kubectl prom doctor` against the cluster to read {}",
                    gap.data.describe()
                )
            };
            Finding::new(
                "PROM-900",
                format!("namespace/{}", s.instance.namespace),
                vec![seen],
                format!(
                    "Unknown, not healthy: these checks ran without that data and may miss problems: {}.",
                    blinded.join(", ")
                ),
                fix,
            )
        })
        .collect()
}

/// Prometheus's multi-line errors (`yaml: unmarshal errors:\n  line 5: …`) on one line, for sentences.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `pod/x [prometheus-server, previous run] line 12: <quoted line>`.
pub(crate) fn quote_hit(log: &ContainerLog, hit: &Hit) -> String {
    let run = if log.previous { ", previous run" } else { "" };
    format!(
        "pod/{} [{}{run}] line {}: {}",
        log.pod, log.container, hit.line_no, hit.quote
    )
}

/// The last hit of each pod/container log in `hits` whose kind is in `kinds`, with nothing of `cleared` after it:
/// "is this still the state?" (a 403 followed by a successful reload is history).
pub(crate) fn still_current<'a>(
    hits: &[(&'a ContainerLog, Hit)],
    kinds: &[crate::logscan::Kind],
    cleared: &[crate::logscan::Kind],
) -> Option<(&'a ContainerLog, Hit)> {
    let last = hits
        .iter()
        .rev()
        .find(|(_, h)| kinds.contains(&h.kind) || cleared.contains(&h.kind))?;
    kinds
        .contains(&last.1.kind)
        .then(|| (last.0, last.1.clone()))
}

/// What a `fix:` line must never ask for (issue 14 class 7): an action that deletes, orphans or replaces a claim or
/// a pod, or moves Prometheus onto a volume without its data. Returns the reason when `fix` does. Every finding a
/// unit test renders passes through it (`Finding::new` asserts it under `cfg(test)`), and `every_fix_keeps_the_data`
/// walks the catalog through representative snapshots.
#[cfg(test)]
pub(crate) fn endangers_data(fix: &str) -> Option<&'static str> {
    let f = fix.to_ascii_lowercase();
    let rules: &[(&[&str], &str)] = &[
        (
            &[
                "kubectl delete",
                "kubectl replace --force",
                "helm uninstall",
                "helm delete",
            ],
            "deletes objects (pods, claims, or the workload that owns them)",
        ),
        (&["--cascade=orphan", "--cascade orphan"], "orphans pods"),
        (
            &[
                "volumeclaimtemplate",
                "storagespec",
                "persistentvolumeclaimretentionpolicy",
            ],
            "changes the claim template or its retention: new, empty claims, or claims deleted with the workload",
        ),
        (&["claimname"], "points the pod at another claim"),
        (
            &["emptydir", "add a volume", "add a new volume"],
            "puts a mount on a new, empty volume",
        ),
        (
            &[" rm ", "rm -", "truncate ", "mkfs"],
            "deletes data on the volume",
        ),
    ];
    rules
        .iter()
        .find(|(needles, _)| needles.iter().any(|n| f.contains(n)))
        .map(|(_, why)| *why)
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Test snapshots built from the YAML fixtures in tests/fixtures/doctor/ through the same assembly as
    //! `--from-dump`, so a fixture is also a valid dump.
    use crate::doctor::snapshot::{ContainerLog, InstanceSnapshot, Objects, assemble};

    pub const CHART: &str = include_str!("../../../tests/fixtures/doctor/chart-deploy.yaml");
    pub const KPS: &str = include_str!("../../../tests/fixtures/doctor/kps-sts.yaml");
    pub const HANDMADE: &str = include_str!("../../../tests/fixtures/doctor/handmade.yaml");

    /// The only instance of a fixture, with logs attached to its first pod.
    pub fn instance(yaml: &str, logs: &[(&str, bool, &str)]) -> InstanceSnapshot {
        let mut objects = Objects::from_yaml(yaml).expect("fixture parses");
        let pod = objects
            .inventory
            .pods
            .first()
            .and_then(|p| p.metadata.name.clone())
            .unwrap_or_default();
        for (container, previous, text) in logs {
            objects.logs.push(ContainerLog {
                pod: pod.clone(),
                container: container.to_string(),
                previous: *previous,
                text: text.to_string(),
            });
        }
        let mut all = assemble(&objects);
        assert_eq!(all.len(), 1, "fixture has one instance");
        all.remove(0)
    }

    /// The fixture without the list items `- ITEM` (at any indentation).
    pub fn without_item(yaml: &str, item: &str) -> String {
        yaml.lines()
            .filter(|l| l.trim() != format!("- {item}"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// The fixture with `- NEW` added after every list item `- AFTER`, at the same indentation.
    pub fn with_item_after(yaml: &str, after: &str, new: &str) -> String {
        let mut out = String::new();
        for l in yaml.lines() {
            out.push_str(l);
            out.push('\n');
            if l.trim() == format!("- {after}") {
                let indent = &l[..l.len() - l.trim_start().len()];
                out.push_str(&format!("{indent}- {new}\n"));
            }
        }
        out
    }

    pub fn ids(findings: &[crate::doctor::catalog::Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    pub fn log(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/doctor/logs/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("log fixture")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{self, CHART, HANDMADE, KPS, instance, log};
    use std::collections::BTreeMap;

    #[test]
    fn the_data_guard_refuses_what_loses_data() {
        // The PROM-502 fix doctor used to print (issue 14 class 7): new, empty claims.
        let old = "name the claim template explicitly so `prometheus-db` exists: kubectl patch prometheus/p -n m --type merge -p '{\"spec\":{\"storage\":{\"volumeClaimTemplate\":{\"metadata\":{\"name\":\"prometheus-db\"}}}}}'";
        assert!(endangers_data(old).is_some());
        for bad in [
            "kubectl delete pvc prometheus-db-0 -n m",
            "kubectl delete pod prometheus-0 -n m",
            "kubectl delete sts prometheus --cascade=orphan",
            "helm uninstall kps",
            "add a volume named `x` to deploy/p",
            "kubectl exec p -- rm -rf /prometheus/wal",
            "set claimName: other",
        ] {
            assert!(endangers_data(bad).is_some(), "{bad}");
        }
        for good in [
            "kubectl prom resize deploy/p -n m --increase 50%",
            "kubectl prom fix-perms prometheus/p -n m",
            "kubectl logs p -n m -c prometheus --previous",
        ] {
            assert_eq!(endangers_data(good), None, "{good}");
        }
    }

    /// Every check's fix, rendered from representative snapshots of the three install shapes with every log fixture
    /// in every container, previous and current: none may endanger data, and every check of the catalog is reached
    /// except the ones named here with the reason (they need live answers the fixtures' matrix does not vary).
    #[test]
    fn every_fix_keeps_the_data() {
        let logs = [
            "v2-chart-disk-full.log",
            "v2.42-permission-denied.log",
            "v2.42-reload-failed-then-ok.log",
            "v2.42-sigbus-disk-full.log",
            "v2.42-startup-config-error-json.log",
            "v2.42-startup-config-error.log",
            "v3-append-failed.log",
            "v3-disk-full-query-log.log",
            "v3-lock-conflict.log",
            "v3-permission-denied.log",
            "v3-reload-failed.log",
            "v3-startup-config-error-json.log",
            "v3-wal-repair.log",
            "v3.0-fatal-run-group.log",
            "sidecar-config-reloader-403.log",
            "sidecar-config-reloader-404.log",
            "sidecar-config-reloader-500.log",
            "sidecar-jimmidyson-403.log",
        ];
        let mut seen: BTreeMap<&'static str, String> = BTreeMap::new();
        let mut walk = |s: &crate::doctor::snapshot::InstanceSnapshot| {
            for f in run(s) {
                assert_eq!(endangers_data(&f.fix), None, "{}: {}", f.id, f.fix);
                seen.entry(f.id).or_insert(f.fix);
            }
        };
        for (yaml, containers) in [
            (
                CHART,
                &["prometheus-server", "prometheus-server-configmap-reload"][..],
            ),
            (KPS, &["prometheus", "config-reloader"][..]),
            (HANDMADE, &["prometheus"][..]),
        ] {
            walk(&instance(yaml, &[]));
            for name in logs {
                let text = log(name);
                for container in containers {
                    for previous in [false, true] {
                        walk(&instance(yaml, &[(container, previous, &text)]));
                    }
                }
            }
        }
        // The checks the log matrix does not reach, each from the state that produces it.
        let chart_pod = "prometheus-server-6d9f8b7c4-x2x9k";
        let crash = CHART.replace(
            "    state:\n      running:\n        startedAt: \"2026-11-21T10:00:00Z\"\n",
            "    state:\n      waiting:\n        reason: CrashLoopBackOff\n    lastState:\n      terminated:\n        exitCode: 137\n        reason: OOMKilled\n",
        ).replace("    ready: true\n    restartCount: 0\n", "    ready: false\n    restartCount: 6\n");
        let pull = CHART.replace(
            "    state:\n      running:\n        startedAt: \"2026-11-21T10:00:00Z\"\n",
            "    state:\n      waiting:\n        reason: ImagePullBackOff\n        message: back-off pulling image\n",
        );
        let mut crashing = instance(&crash, &[]);
        crashing.events.push(k8s_openapi::api::core::v1::Event {
            reason: Some("Unhealthy".into()),
            message: Some("Readiness probe failed: HTTP probe failed with statuscode: 503".into()),
            involved_object: k8s_openapi::api::core::v1::ObjectReference {
                kind: Some("Pod".into()),
                name: Some(chart_pod.into()),
                ..Default::default()
            },
            ..Default::default()
        });
        walk(&crashing);
        walk(&instance(&pull, &[]));
        walk(&instance(&serving::tests::kps_not_created(), &[]));
        // Issue 16: the operator could not render the resource (PROM-502 from its condition, else PROM-510).
        for message in [
            serving::unrendered_tests::REFUSED,
            "spec.retention: Invalid value: \"10x\"",
        ] {
            walk(&instance(
                &serving::unrendered_tests::kps_unrendered(message),
                &[],
            ));
        }
        walk(&instance(
            &fixtures::with_item_after(
                CHART,
                "--web.enable-lifecycle",
                "--web.route-prefix=/prometheus",
            ),
            &[],
        ));
        walk(&instance(
            &CHART.replace("        fsGroup: 65534\n", ""),
            &[],
        ));
        walk(&instance(&hygiene::tests::chart_on_empty_dir(), &[]));
        walk(&instance(
            &hygiene::tests::chart_applied_then_changed(),
            &[],
        ));
        let gi: u64 = 1 << 30;
        for used in [7.0, 7.8, 4.0] {
            let mut s = instance(CHART, &[]);
            s.usage = vec![crate::doctor::snapshot::VolumeUsage {
                pod: chart_pod.into(),
                namespace: "monitoring".into(),
                volume: "storage-volume".into(),
                pvc: Some("prometheus-server".into()),
                capacity_bytes: 8 * gi,
                used_bytes: (used * gi as f64) as u64,
                available_bytes: 8 * gi - (used * gi as f64) as u64,
            }];
            s.live.push(crate::doctor::snapshot::LiveStatus {
                pod: chart_pod.into(),
                ingestion_rate: Some(20_000.0),
                flags: Some([("storage.tsdb.wal-compression".to_string(), "false".to_string())].into()),
                targets: Some(serde_json::json!({"activeTargets": [
                    {"scrapePool": "node", "scrapeUrl": "http://10.0.0.1:9100/metrics", "health": "down", "lastError": "connection refused"}
                ]})),
                ..Default::default()
            });
            s.gaps.push(crate::doctor::snapshot::Gap {
                data: crate::doctor::catalog::Data::Events,
                reason: "forbidden".into(),
                request: Some("GET /api/v1/namespaces/monitoring/events".into()),
                status: Some(403),
            });
            walk(&s);
        }
        let mut silent = instance(CHART, &[]);
        silent.live.push(crate::doctor::snapshot::LiveStatus {
            pod: chart_pod.into(),
            error: Some("no answer within 30s".into()),
            ..Default::default()
        });
        walk(&silent);
        walk(&wal::tests::probe_killed_replay());
        for rejected in [true, false] {
            walk(&rule_drift::tests::edited_behind_no_reloader(rejected));
        }
        for rejected in [true, false] {
            let mut s = instance(CHART, &[]);
            let source = include_str!("../../../tests/fixtures/doctor/drift/source.yml");
            s.config_text = Some(source.replacen("15s", "30s", 1));
            s.live.push(crate::doctor::snapshot::LiveStatus {
                pod: chart_pod.into(),
                config_yaml: Some(
                    include_str!("../../../tests/fixtures/doctor/drift/running-2.42.yml").into(),
                ),
                runtimeinfo: Some(serde_json::json!({"reloadConfigSuccess": !rejected})),
                ..Default::default()
            });
            let keep = s.instance.container.clone();
            for d in &mut s.deployments {
                if let Some(spec) = d.spec.as_mut().and_then(|d| d.template.spec.as_mut()) {
                    spec.containers.retain(|c| c.name == keep);
                }
            }
            walk(&s);
        }
        for sidecar in [
            "sidecar-config-reloader-0.85-401.log",
            "sidecar-config-reloader-0.85-400.log",
            "sidecar-config-reloader-0.85-405.log",
            "sidecar-configmap-reload-0.14-tls.log",
        ] {
            walk(&instance(
                CHART,
                &[(
                    "prometheus-server-configmap-reload",
                    false,
                    &fixtures::log(sidecar),
                )],
            ));
        }
        for (yaml, container, line) in [
            (CHART, "prometheus-server", "ts=2026-11-21T11:00:00.000Z caller=manager.go:1 level=error component=\"rule manager\" msg=\"loading groups failed\" err=\"/etc/config/alerting_rules.yml: yaml: line 3: did not find expected key\""),
            (CHART, "prometheus-server", "ts=2026-11-21T11:00:00.000Z caller=main.go:1 level=warn msg=\"These queries didn't finish in prometheus' last run:\" queries=\"[]\""),
            (
                &CHART.replace("  - type: Ready\n    status: \"True\"\n", "  - type: Ready\n    status: \"True\"\n    lastTransitionTime: \"2026-11-21T10:00:30Z\"\n"),
                "prometheus-server-configmap-reload",
                "level=error ts=2026-11-21T11:00:05.000Z caller=runutil.go:100 msg=\"function failed. Retrying in next tick\" err=\"trigger reload: reload request failed: Post \\\"http://127.0.0.1:9090/-/reload\\\": dial tcp 127.0.0.1:9090: connect: connection refused\"",
            ),
        ] {
            walk(&instance(yaml, &[(container, false, line)]));
        }
        let missing: Vec<&str> = CATALOG
            .iter()
            .map(|c| c.id)
            .filter(|id| !seen.contains_key(id))
            .collect();
        assert!(
            missing.is_empty(),
            "checks never rendered by the walk: {missing:?}\nrendered: {:#?}",
            seen
        );
    }

    /// Issue 19 item 6: a gap's fix follows who answered. Access is the fix for a 401/403 only; the API server's own
    /// 5xx or a dropped read is named with its request and status, and the instance's result is "unknown".
    #[test]
    fn a_gap_asks_for_access_only_when_access_was_refused() {
        use crate::doctor::catalog::Data;
        use crate::doctor::snapshot::Gap;
        let status = |code: u16| kube::core::Status {
            code,
            reason: if code == 403 {
                "Forbidden"
            } else {
                "ServiceUnavailable"
            }
            .into(),
            message: "m".into(),
            ..Default::default()
        };
        let request = "GET /api/v1/namespaces/monitoring/events";
        let cases = [
            (
                Gap::from_kube(
                    Data::Events,
                    request,
                    &kube::Error::Api(Box::new(status(403))),
                ),
                "ask an admin for read access to events",
            ),
            (
                Gap::from_kube(
                    Data::Events,
                    request,
                    &kube::Error::Api(Box::new(status(503))),
                ),
                "not a permission problem: the API server failed (503) this read; try it by hand \
                 (`kubectl get --raw '/api/v1/namespaces/monitoring/events'`)",
            ),
            (
                Gap::absent(Data::PrometheusApi, "not in a cluster-info dump"),
                "run `kubectl prom doctor` against the cluster",
            ),
        ];
        for (gap, fix) in cases {
            let mut s = instance(CHART, &[]);
            s.gaps.push(gap.clone());
            let found = access(&s);
            assert_eq!(found.len(), 1);
            assert!(found[0].fix.starts_with(fix), "{gap:?}: {}", found[0].fix);
            if let Some(r) = &gap.request {
                assert!(found[0].evidence[0].contains(r), "{:?}", found[0].evidence);
            }
            assert_eq!(crate::doctor::report::result_of(&found), "unknown");
        }
        let unread = Gap::from_kube(
            Data::Events,
            request,
            &kube::Error::Api(Box::new(status(503))),
        );
        assert!(
            unread
                .reason
                .starts_with("the API server answered 503 ServiceUnavailable: m"),
            "{}",
            unread.reason
        );
    }
}
