//! WAL replay killed by a probe (issue 19 item 5; prometheus#6934, prometheus-operator#3094): the previous run of the
//! Prometheus container was replaying its WAL (`Replaying WAL, this may take a while`, `WAL segment loaded segment=N
//! maxSegment=M`, and no `WAL replay completed`) when the kubelet killed it, and the probe that killed it allows less
//! time than the replay needs — a restart loop that looks like a crash, each run starting the replay over. Read from
//! the previous log's replay progress lines, the container's termination and the probe settings. Pure.

use crate::discover::Flavour;
use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::InstanceSnapshot;
use k8s_openapi::api::core::v1::Probe;
use k8s_openapi::jiff::Timestamp;

/// How far one run's replay got: when it started, the last segment loaded (and when), the highest segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub started: Timestamp,
    pub segment: u64,
    pub max_segment: u64,
    pub at: Timestamp,
    pub completed: bool,
}

impl Replay {
    /// Seconds the replay ran before the last progress line.
    pub fn elapsed(&self) -> i64 {
        self.at.as_second() - self.started.as_second()
    }

    /// The whole replay's length, extrapolated from the share of segments done (segments are about equal in size,
    /// 128 MiB each but the last).
    pub fn estimate(&self) -> i64 {
        let done = (self.segment + 1) as f64 / (self.max_segment + 1) as f64;
        (self.elapsed().max(1) as f64 / done.max(0.01)).ceil() as i64
    }
}

/// The replay of the last run in a log (v2 logfmt, v3 slog or JSON), if that run replayed a WAL.
pub fn replay(log: &str) -> Option<Replay> {
    let mut out: Option<Replay> = None;
    for line in log.lines() {
        let rec = crate::logscan::parse(line);
        let Some(msg) = rec.msg.as_deref() else {
            continue;
        };
        let time = || {
            rec.field("ts")
                .or_else(|| rec.field("time"))
                .and_then(|t| t.parse::<Timestamp>().ok())
        };
        match msg {
            "Replaying WAL, this may take a while" => {
                let t = time()?;
                out = Some(Replay {
                    started: t,
                    segment: 0,
                    max_segment: 0,
                    at: t,
                    completed: false,
                });
            }
            "WAL segment loaded" => {
                if let (Some(r), Some(t)) = (out.as_mut(), time()) {
                    r.segment = rec
                        .field("segment")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(r.segment);
                    r.max_segment = rec
                        .field("maxSegment")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(r.max_segment);
                    r.at = t;
                }
            }
            "WAL replay completed" => {
                if let Some(r) = out.as_mut() {
                    r.completed = true;
                }
            }
            _ => {}
        }
    }
    out
}

/// The probe that can kill the container during startup, its name and its budget in seconds: the startup probe when
/// there is one (liveness waits for it), else the liveness probe. Kubernetes defaults: periodSeconds 10,
/// failureThreshold 3 (k8s.io/api core/v1 Probe).
fn killing_probe(c: &k8s_openapi::api::core::v1::Container) -> Option<(&'static str, &Probe, i64)> {
    let (name, p) = match (&c.startup_probe, &c.liveness_probe) {
        (Some(p), _) => ("startupProbe", p),
        (None, Some(p)) => ("livenessProbe", p),
        _ => return None,
    };
    let budget = i64::from(p.initial_delay_seconds.unwrap_or(0))
        + i64::from(p.failure_threshold.unwrap_or(3)) * i64::from(p.period_seconds.unwrap_or(10));
    Some((name, p, budget))
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(container) = s.prometheus_container() else {
        return out;
    };
    let Some((probe_name, probe, budget)) = killing_probe(container) else {
        return out;
    };
    for (pod, st) in s.prometheus_statuses() {
        if st.restart_count == 0 {
            continue;
        }
        let Some(log) = s
            .logs
            .iter()
            .find(|l| l.pod == pod && l.container == st.name && l.previous)
        else {
            continue;
        };
        let Some(r) = replay(&log.text).filter(|r| !r.completed) else {
            continue;
        };
        let killed = st
            .last_state
            .as_ref()
            .and_then(|l| l.terminated.as_ref())
            .filter(|t| t.exit_code == 137 || t.exit_code == 143);
        let probe_event = s.events.iter().find(|e| {
            e.involved_object.name.as_deref() == Some(pod)
                && e.message.as_deref().is_some_and(|m| {
                    m.contains("failed liveness probe") || m.contains("failed startup probe")
                })
        });
        if killed.is_none() && probe_event.is_none() {
            continue;
        }
        let estimate = r.estimate();
        if estimate <= budget {
            continue;
        }
        let mut evidence = vec![format!(
            "pod/{pod} [{}, previous run]: WAL replay started {}, reached segment {} of {} after {} s, never completed",
            st.name,
            r.started,
            r.segment,
            r.max_segment,
            r.elapsed()
        )];
        if let Some(t) = killed {
            evidence.push(format!(
                "pod/{pod} container {}: last run ended with exit code {} ({}), {} restarts",
                st.name,
                t.exit_code,
                t.reason.as_deref().unwrap_or("killed"),
                st.restart_count
            ));
        }
        if let Some(e) = probe_event {
            evidence.push(format!(
                "event on pod/{pod}: {}",
                e.message.as_deref().unwrap_or_default()
            ));
        }
        evidence.push(format!(
            "{probe_name}: initialDelaySeconds {} + failureThreshold {} × periodSeconds {} = {budget} s; the replay needs about {estimate} s",
            probe.initial_delay_seconds.unwrap_or(0),
            probe.failure_threshold.unwrap_or(3),
            probe.period_seconds.unwrap_or(10),
        ));
        // Headroom over the estimate: the WAL grows while the pod is down, and each run starts the replay over.
        let want = (estimate * 3 / 2).max(60);
        let ns = &s.instance.namespace;
        let fix = match &s.instance.flavour {
            Flavour::Operator { prometheus } => format!(
                "kubectl patch prometheus/{prometheus} -n {ns} --type merge -p '{{\"spec\":{{\"maximumStartupDurationSeconds\":{want}}}}}' \
                 (the operator sizes the startup probe from it; the liveness probe only starts after it)"
            ),
            Flavour::Chart { release, .. } => format!(
                "give the Prometheus container a startupProbe on /-/ready allowing at least {want} s (failureThreshold × \
                 periodSeconds) in release {release}'s values, or raise the {probe_name}'s failureThreshold to that, and \
                 `helm upgrade`; the liveness probe only starts after a startup probe succeeded"
            ),
            _ => format!(
                "give container {} a startupProbe on /-/ready allowing at least {want} s (failureThreshold × periodSeconds), \
                 or raise the {probe_name}'s failureThreshold to that",
                st.name
            ),
        };
        out.push(Finding::new(
            "PROM-509",
            format!("pod/{pod}"),
            evidence,
            "The kubelet kills Prometheus while it replays its WAL because the probe allows less time than the replay \
             takes; every restart begins the replay again, so the pod never becomes ready — a restart loop that looks \
             like a crash. No data is wrong; the probe is.",
            fix,
        ));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{KPS, ids, instance};

    /// A killed run as the real Prometheus 3.16 logs its replay (line format from the real binary; timestamps and
    /// segment numbers of a large WAL).
    const KILLED_V3: &str = r#"time=2026-12-05T00:08:21.729Z level=INFO source=head.go:855 msg="Replaying WAL, this may take a while" component=tsdb
time=2026-12-05T00:08:41.729Z level=INFO source=head.go:950 msg="WAL segment loaded" component=tsdb segment=9 maxSegment=99 duration=2.1s
time=2026-12-05T00:09:01.729Z level=INFO source=head.go:950 msg="WAL segment loaded" component=tsdb segment=19 maxSegment=99 duration=2.0s"#;

    const DONE_V2: &str = r#"ts=2026-12-05T00:08:21.466Z caller=head.go:614 level=info component=tsdb msg="Replaying WAL, this may take a while"
ts=2026-12-05T00:08:21.467Z caller=head.go:685 level=info component=tsdb msg="WAL segment loaded" segment=0 maxSegment=1
ts=2026-12-05T00:08:21.467Z caller=head.go:685 level=info component=tsdb msg="WAL segment loaded" segment=1 maxSegment=1
ts=2026-12-05T00:08:21.467Z caller=head.go:722 level=info component=tsdb msg="WAL replay completed" checkpoint_replay_duration=26.44µs"#;

    #[test]
    fn replay_progress_is_read_from_v2_and_v3_lines() {
        let r = replay(KILLED_V3).unwrap();
        assert_eq!(
            (r.segment, r.max_segment, r.elapsed(), r.completed),
            (19, 99, 40, false)
        );
        assert_eq!(r.estimate(), 200);
        assert!(replay(DONE_V2).unwrap().completed);
        assert_eq!(replay("level=info msg=\"TSDB started\""), None);
    }

    fn killed_kps(previous: &str) -> InstanceSnapshot {
        let mut s = instance(KPS, &[("prometheus", true, previous)]);
        let pod = s.instance.pods[0].name.clone();
        for p in &mut s.pods {
            if p.metadata.name.as_deref() != Some(pod.as_str()) {
                continue;
            }
            for st in p
                .status
                .as_mut()
                .and_then(|s| s.container_statuses.as_mut())
                .into_iter()
                .flatten()
            {
                if st.name == "prometheus" {
                    st.restart_count = 4;
                    st.ready = false;
                    st.last_state = Some(k8s_openapi::api::core::v1::ContainerState {
                        terminated: Some(k8s_openapi::api::core::v1::ContainerStateTerminated {
                            exit_code: 137,
                            reason: Some("Error".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
            }
        }
        s
    }

    fn set_startup_probe(s: &mut InstanceSnapshot, period: i32, failures: i32) {
        for sts in &mut s.statefulsets {
            let containers = sts
                .spec
                .as_mut()
                .and_then(|s| s.template.spec.as_mut())
                .map(|p| &mut p.containers);
            for c in containers.into_iter().flatten() {
                if c.name == "prometheus" {
                    c.startup_probe = Some(Probe {
                        period_seconds: Some(period),
                        failure_threshold: Some(failures),
                        ..Default::default()
                    });
                }
            }
        }
    }

    /// A killed replay under a 60 s startup probe, for the catalog walk.
    pub(crate) fn probe_killed_replay() -> InstanceSnapshot {
        let mut s = killed_kps(KILLED_V3);
        set_startup_probe(&mut s, 10, 6);
        s
    }

    #[test]
    fn a_probe_shorter_than_the_replay_is_prom_509_with_the_probe_as_the_fix() {
        let mut s = killed_kps(KILLED_V3);
        // A user's override of the operator's startup probe: 6 × 10 s.
        set_startup_probe(&mut s, 10, 6);
        let f = check(&s);
        assert_eq!(ids(&f), ["PROM-509"], "{f:?}");
        assert!(
            f[0].evidence[0].contains("segment 19 of 99 after 40 s"),
            "{:?}",
            f[0].evidence
        );
        assert!(f[0].evidence.iter().any(|e| e.contains("exit code 137")));
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.contains("= 60 s; the replay needs about 200 s")),
            "{:?}",
            f[0].evidence
        );
        assert!(
            f[0].fix.contains("maximumStartupDurationSeconds\":300"),
            "{}",
            f[0].fix
        );
    }

    #[test]
    fn a_completed_replay_or_a_generous_probe_is_not_blamed() {
        let s = killed_kps(DONE_V2);
        assert!(check(&s).is_empty());
        let mut s = killed_kps(KILLED_V3);
        set_startup_probe(&mut s, 15, 60);
        assert!(check(&s).is_empty());
    }
}
