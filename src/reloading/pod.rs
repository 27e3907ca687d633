//! One pod's reload, judged from Prometheus' own metrics (200 is not enough: the success timestamp must move), the
//! install's way: `POST /-/reload` (pod proxy, or `wget` inside the container) or SIGHUP to the Prometheus process
//! (operator `reloadStrategy: ProcessSignal`); then the proof by content against the pod's file ([`super::content`]).

use super::content::{self, ContentCheck};
use super::lifecycle::ReloadWay;
use crate::context::Ctx;
use crate::discover::Instance;
use crate::engine::wait::{self, Poll};
use crate::error::Result;
use crate::progress;
use crate::prom_http::{Access, PromPod};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub const RELOAD_OK: &str = "prometheus_config_last_reload_successful";
pub const RELOAD_TIME: &str = "prometheus_config_last_reload_success_timestamp_seconds";

/// How one pod's reload went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Prometheus answered 200 (or took the signal) and its metrics show a new successful reload.
    Reloaded,
    /// Prometheus refused or failed (its own answer), or nothing was sent; the old config is still active.
    Failed,
    /// The POST was sent but no answer from Prometheus came back (a dropped connection, the API server's own 5xx, a
    /// hang), or its verification could not be read: whether it reloaded is unknown.
    Unknown,
    /// Not attempted (pod not running).
    Skipped,
}

/// One record per pod (`-o json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodReload {
    pub pod: String,
    /// How we reached Prometheus: `proxy` or `exec`.
    pub access: Option<Access>,
    /// `prometheus_config_last_reload_success_timestamp_seconds` before and after.
    pub last_success_before: Option<f64>,
    pub last_success_after: Option<f64>,
    pub outcome: Outcome,
    /// Prometheus' own error body, or why the pod was skipped, or why the result is unknown.
    pub error: Option<String>,
    /// Why the pod's configuration file could not be compared with the ConfigMap/Secret before the reload: then it
    /// is unknown whether the pod runs the new configuration, even when it reloaded.
    pub file_unread: Option<String>,
    /// After a reload: does what Prometheus runs (`/api/v1/status/config`) hold what the pod's file holds?
    pub content: Option<ContentCheck>,
}

impl PodReload {
    fn new(pod: &str, outcome: Outcome, error: Option<String>) -> Self {
        PodReload {
            pod: pod.to_string(),
            access: None,
            last_success_before: None,
            last_success_after: None,
            outcome,
            error,
            file_unread: None,
            content: None,
        }
    }
}

/// Judge a reload from Prometheus' answer and its metrics before/after: 200 is not enough, the success timestamp
/// must have moved and the last reload must be flagged successful.
pub fn judge(
    status: u16,
    body: &str,
    before: Option<f64>,
    after_ok: Option<f64>,
    after_time: Option<f64>,
) -> (Outcome, Option<String>) {
    match status {
        200..=299 => {
            if after_ok == Some(1.0) && moved(before, after_time) {
                (Outcome::Reloaded, None)
            } else {
                (
                    Outcome::Failed,
                    Some(format!(
                        "Prometheus answered {status} but its metrics do not show a new successful reload \
                         ({RELOAD_OK}={}, {RELOAD_TIME} {} → {})",
                        fmt_opt(after_ok),
                        fmt_opt(before),
                        fmt_opt(after_time)
                    )),
                )
            }
        }
        403 => (
            Outcome::Failed,
            Some(format!(
                "403 {}: the lifecycle API is off (--web.enable-lifecycle is not set)",
                body.trim()
            )),
        ),
        _ => (Outcome::Failed, Some(format!("{status} {}", body.trim()))),
    }
}

fn moved(before: Option<f64>, after: Option<f64>) -> bool {
    match (before, after) {
        (Some(b), Some(a)) => a > b,
        (None, Some(_)) => true,
        _ => false,
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v}"))
        .unwrap_or_else(|| "unknown".into())
}

/// Reload every pod concurrently, one progress line each. `--dry-run` never reloads.
pub async fn reload_all(ctx: &Ctx, instance: &Instance, way: ReloadWay) -> Vec<PodReload> {
    let board = progress::Board::new(&ctx.printer);
    let reloads = instance.pods.iter().map(|p| {
        let task = board.line(&p.name);
        async move {
            // A reload changes what Prometheus runs: --dry-run validates and checks the sync, but never reloads.
            let skip = if p.phase != "Running" {
                Some(format!("pod is {}", p.phase))
            } else if ctx.settings.dry_run {
                Some(match way {
                    ReloadWay::Http => "dry run: POST /-/reload not sent".to_string(),
                    ReloadWay::Signal => "dry run: SIGHUP not sent".to_string(),
                })
            } else {
                None
            };
            if let Some(why) = skip {
                task.done(&format!("skipped: {why}"));
                return PodReload::new(&p.name, Outcome::Skipped, Some(why));
            }
            let prom = PromPod::new(&ctx.client, ctx.exec.as_ref(), instance, &p.name);
            let result = match way {
                ReloadWay::Http => reload_one(&prom, &task).await,
                ReloadWay::Signal => signal_one(ctx, instance, &prom, &task).await,
            };
            let record = result
                .unwrap_or_else(|e| PodReload::new(&p.name, Outcome::Failed, Some(e.to_string())));
            match record.outcome {
                Outcome::Reloaded => task.done(&match way {
                    ReloadWay::Http => format!(
                        "reloaded via {}",
                        record.access.map(Access::describe).unwrap_or("?")
                    ),
                    ReloadWay::Signal => "reloaded by SIGHUP".to_string(),
                }),
                Outcome::Unknown => task.unknown(&format!(
                    "result unknown: {}",
                    record.error.as_deref().unwrap_or("no answer")
                )),
                _ => task.fail(record.error.as_deref().unwrap_or("failed")),
            }
            record
        }
    });
    futures::future::join_all(reloads).await
}

/// One pod: metrics before (an error here means nothing was sent), the POST, metrics after. Once the POST is sent,
/// an error is not a failure: without Prometheus' own answer, or without the metrics that prove it, the outcome is
/// [`Outcome::Unknown`].
async fn reload_one(prom: &PromPod<'_>, task: &progress::Task) -> Result<PodReload> {
    task.set("reading reload metrics");
    let (before, _) = prom.metric(RELOAD_TIME).await?;
    let unknown = |why: String| PodReload {
        last_success_before: before,
        ..PodReload::new(&prom.pod, Outcome::Unknown, Some(why))
    };
    let post = prom.prefixed("/-/reload");
    task.set(&format!("POST {post}"));
    let reply = match prom.post("/-/reload").await {
        Ok(reply) => reply,
        Err(e) => {
            return Ok(unknown(format!(
                "POST {post} was sent but no answer from Prometheus came back ({e}), so it may or may not have \
                 reloaded"
            )));
        }
    };
    let (after_ok, after_time) = if reply.ok() {
        task.set("verifying");
        match prom.metrics(&[RELOAD_OK, RELOAD_TIME]).await {
            Ok((values, _)) => (values[0], values[1]),
            Err(e) => {
                return Ok(PodReload {
                    access: Some(reply.access),
                    ..unknown(format!(
                        "Prometheus answered {} to POST {post}, but its reload metrics could not be read to \
                         confirm it ({e})",
                        reply.status
                    ))
                });
            }
        }
    } else {
        (None, None)
    };
    let (outcome, error) = judge(reply.status, &reply.body, before, after_ok, after_time);
    Ok(PodReload {
        access: Some(reply.access),
        last_success_before: before,
        last_success_after: after_time.or(before),
        outcome,
        error,
        ..PodReload::new(&prom.pod, outcome, None)
    })
}

/// The script that sends SIGHUP as the operator's config-reloader does (`--reload-method=signal`: to the process
/// named `prometheus` in the pod's shared PID namespace), printing each PID it signalled.
pub fn sighup_argv() -> Vec<String> {
    let script = "for p in /proc/[0-9]*; do n=$(cat \"$p/comm\" 2>/dev/null) || continue; \
                  if [ \"$n\" = prometheus ]; then kill -HUP \"${p#/proc/}\" && echo \"${p#/proc/}\"; fi; done";
    ["sh", "-c", script].iter().map(|s| s.to_string()).collect()
}

/// How long a SIGHUP'd Prometheus may take before its metrics must show the reload (SIGHUP is asynchronous, unlike
/// the POST, which answers once the reload is done).
const SIGNAL_SETTLE: Duration = Duration::from_secs(30);

/// One pod, the signal way: metrics before, SIGHUP by exec in the Prometheus container, then poll the metrics until
/// the success timestamp moves (or the failure flag says Prometheus rejected the configuration).
async fn signal_one(
    ctx: &Ctx,
    instance: &Instance,
    prom: &PromPod<'_>,
    task: &progress::Task,
) -> Result<PodReload> {
    task.set("reading reload metrics");
    let (before, access) = prom.metric(RELOAD_TIME).await?;
    task.set("SIGHUP to prometheus");
    let out = ctx
        .exec
        .run(
            &instance.namespace,
            &prom.pod,
            &instance.container,
            &sighup_argv(),
        )
        .await?;
    if out.stdout.trim().is_empty() {
        return Ok(PodReload {
            access: Some(access),
            last_success_before: before,
            ..PodReload::new(
                &prom.pod,
                Outcome::Failed,
                Some(format!(
                    "no process named prometheus could be signalled in container {} (exit {}: {})",
                    instance.container,
                    out.exit_code,
                    out.stderr.trim()
                )),
            )
        });
    }
    task.set("verifying");
    let what = format!(
        "pod {}/{} to reload after SIGHUP",
        instance.namespace, prom.pod
    );
    let verdict = wait::wait_for(
        task,
        &what,
        SIGNAL_SETTLE,
        Duration::from_millis(500),
        || async {
            let (values, _) = prom.metrics(&[RELOAD_OK, RELOAD_TIME]).await?;
            if moved(before, values[1]) || values[0] == Some(0.0) {
                Ok(Poll::Done((values[0], values[1])))
            } else {
                Ok(Poll::Pending(
                    "waiting for the reload metrics to move".into(),
                ))
            }
        },
    )
    .await;
    let (after_ok, after_time) = match verdict {
        Ok(v) => v,
        Err(e) => {
            return Ok(PodReload {
                access: Some(access),
                last_success_before: before,
                ..PodReload::new(
                    &prom.pod,
                    Outcome::Unknown,
                    Some(format!(
                        "SIGHUP was sent, but the reload metrics did not show a reload ({e})"
                    )),
                )
            });
        }
    };
    let (outcome, error) = if after_ok == Some(0.0) {
        (
            Outcome::Failed,
            Some(format!(
                "{RELOAD_OK}=0 after SIGHUP: Prometheus rejected the configuration (its log says why)"
            )),
        )
    } else {
        judge(200, "", before, after_ok, after_time)
    };
    Ok(PodReload {
        access: Some(access),
        last_success_before: before,
        last_success_after: after_time.or(before),
        ..PodReload::new(&prom.pod, outcome, error)
    })
}

/// The proof by content, for every reloaded pod: what Prometheus reports running against the file the pod holds
/// (`files`, read in the sync session just before the reload). `live_files` are the `--config.file` values the
/// running servers reported (`/api/v1/status/flags`), named in a difference when they are not the file we read.
pub async fn prove_content(
    ctx: &Ctx,
    instance: &Instance,
    pods: &mut [PodReload],
    files: &BTreeMap<String, std::result::Result<String, String>>,
    live_files: &BTreeMap<String, String>,
) {
    let Some(config) = &instance.config else {
        return;
    };
    let checks = pods
        .iter()
        .filter(|p| p.outcome == Outcome::Reloaded)
        .map(|p| async move {
            let file = match files.get(&p.pod) {
                Some(Ok(text)) => text,
                Some(Err(why)) => {
                    return ContentCheck::unknown(&config.file, format!("the file was not read ({why})"));
                }
                None => return ContentCheck::unknown(&config.file, "the file was not read"),
            };
            let prom = PromPod::new(&ctx.client, ctx.exec.as_ref(), instance, &p.pod);
            match prom.config_yaml().await {
                Ok((running, _)) => {
                    let mut check = content::compare(&config.file, file, &running);
                    if check.verdict == content::Verdict::Differs
                        && let Some(live) = live_files.get(&p.pod).filter(|f| **f != config.file)
                    {
                        check.detail = Some(format!(
                            "Prometheus runs --config.file={live} (its /api/v1/status/flags), not {}; {}",
                            config.file,
                            check.detail.unwrap_or_default()
                        ));
                    }
                    check
                }
                Err(e) => ContentCheck::unknown(
                    &config.file,
                    format!("GET /api/v1/status/config failed ({e})"),
                ),
            }
        });
    let results = futures::future::join_all(checks).await;
    let mut results = results.into_iter();
    for p in pods.iter_mut().filter(|p| p.outcome == Outcome::Reloaded) {
        p.content = results.next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_counts_only_when_the_metrics_moved() {
        assert_eq!(
            judge(200, "", Some(100.0), Some(1.0), Some(150.5)),
            (Outcome::Reloaded, None)
        );
        let (o, e) = judge(200, "", Some(100.0), Some(1.0), Some(100.0));
        assert_eq!(o, Outcome::Failed);
        assert!(e.unwrap().contains("do not show a new successful reload"));
        let (o, e) = judge(403, "Lifecycle API is not enabled.", Some(1.0), None, None);
        assert_eq!(o, Outcome::Failed);
        assert!(
            e.unwrap()
                .contains("403 Lifecycle API is not enabled.: the lifecycle API is off")
        );
        let body = "failed to reload config: couldn't load configuration (--config.file=\"/etc/config/prometheus.yml\"): parsing YAML file /etc/config/prometheus.yml: yaml: unmarshal errors:\n  line 5: field scarpe_interval not found in type config.ScrapeConfig\n";
        let (o, e) = judge(500, body, Some(1.0), None, None);
        assert_eq!(o, Outcome::Failed);
        assert!(
            e.unwrap()
                .starts_with("500 failed to reload config: couldn't load configuration")
        );
    }

    #[test]
    fn the_signal_script_names_the_process_as_the_reloader_does() {
        let argv = sighup_argv();
        assert_eq!(argv[..2], ["sh", "-c"]);
        assert!(argv[2].contains("= prometheus ]") && argv[2].contains("kill -HUP"));
    }
}
