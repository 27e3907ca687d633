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
    /// After a reload: does what Prometheus runs (`/api/v1/status/config`) hold what the pod's file holds (the pod
    /// whose file was read), or what the ConfigMap/Secret holds (the others)?
    pub content: Option<ContentCheck>,
    /// Reloads sent to this pod: more than one when its file had not synced at the first (see [`resync`]).
    pub reloads: u32,
    /// Why the pod still runs something else than the source after its reloads: its file never synced in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_synced: Option<String>,
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
            reloads: 0,
            not_synced: None,
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
                    ReloadWay::Auto { .. } => {
                        "dry run: not waited for (Prometheus reloads its file by itself)"
                            .to_string()
                    }
                })
            } else {
                None
            };
            if let Some(why) = skip {
                task.done(&format!("skipped: {why}"));
                return PodReload::new(&p.name, Outcome::Skipped, Some(why));
            }
            let record = reload_pod(ctx, instance, way, &p.name, &task).await;
            tell(&task, &record, way);
            record
        }
    });
    futures::future::join_all(reloads).await
}

/// One reload of one running pod, the install's way; an error before anything was sent is a failure.
async fn reload_pod(
    ctx: &Ctx,
    instance: &Instance,
    way: ReloadWay,
    pod: &str,
    task: &progress::Task,
) -> PodReload {
    let prom = PromPod::new(&ctx.client, ctx.exec.as_ref(), instance, pod);
    let result = match way {
        ReloadWay::Http => reload_one(&prom, task).await,
        ReloadWay::Signal => signal_one(ctx, instance, &prom, task).await,
        // Never sent: reload_and_prove waits for the server instead (await_auto).
        ReloadWay::Auto { .. } => Ok(PodReload::new(pod, Outcome::Skipped, None)),
    };
    let mut record =
        result.unwrap_or_else(|e| PodReload::new(pod, Outcome::Failed, Some(e.to_string())));
    if record.access.is_some() || record.outcome != Outcome::Failed {
        record.reloads = 1;
    }
    record
}

/// The pod's progress line for a reload's outcome.
fn tell(task: &progress::Task, record: &PodReload, way: ReloadWay) {
    match record.outcome {
        Outcome::Reloaded => task.done(&match way {
            ReloadWay::Http => format!(
                "reloaded via {}",
                record.access.map(Access::describe).unwrap_or("?")
            ),
            ReloadWay::Signal => "reloaded by SIGHUP".to_string(),
            ReloadWay::Auto { interval_seconds } => auto_said(interval_seconds),
        }),
        Outcome::Unknown => task.unknown(&format!(
            "result unknown: {}",
            record.error.as_deref().unwrap_or("no answer")
        )),
        _ => task.fail(record.error.as_deref().unwrap_or("failed")),
    }
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

/// How a reload by the server itself is told (the progress line, the report).
pub fn auto_said(interval_seconds: u64) -> String {
    format!("reloaded by Prometheus itself (config.auto-reload, every {interval_seconds}s)")
}

/// What the proof by content compares with, per pod.
pub struct Evidence<'a> {
    /// The file as read in the pods where it was read (or why not).
    pub files: &'a BTreeMap<String, std::result::Result<String, String>>,
    /// The ConfigMap/Secret's text, for the pods whose file was not read.
    pub source: Option<Source<'a>>,
    /// The `--config.file` each running server reported.
    pub live_files: &'a BTreeMap<String, String>,
}

/// Reload every pod the install's way and prove it by content: POST or SIGHUP, the proof, and the pods whose file
/// had not synced reloaded again ([`resync`]); or, when the server reloads itself, wait for it ([`await_auto`]).
pub async fn reload_and_prove(
    ctx: &Ctx,
    instance: &Instance,
    way: ReloadWay,
    ev: &Evidence<'_>,
    timeout: Duration,
) -> Vec<PodReload> {
    if let ReloadWay::Auto { interval_seconds } = way
        && !ctx.settings.dry_run
    {
        return await_auto(ctx, instance, ev, interval_seconds, timeout).await;
    }
    let mut pods = reload_all(ctx, instance, way).await;
    for p in &mut pods {
        // A file that could not be compared with the source before the reload (the source was known).
        if ev.source.is_some()
            && let Some(Err(why)) = ev.files.get(&p.pod)
        {
            p.file_unread = Some(why.clone());
        }
    }
    prove_content(ctx, instance, &mut pods, ev.files, ev.source, ev.live_files).await;
    resync(
        ctx,
        instance,
        way,
        &mut pods,
        ev.files,
        ev.source,
        ev.live_files,
        timeout,
    )
    .await;
    pods
}

/// `--config.auto-reload`: nothing is sent (no POST, no lifecycle API needed). Each running pod is watched until what
/// it runs is its file (or the source) — the server re-reads the file within one interval of the change; bounded by
/// two intervals and a margin where the file was seen synced, by `--timeout` where it was not (its kubelet may sync
/// later). A server still running something else then: its reload metrics say whether it rejected the file.
async fn await_auto(
    ctx: &Ctx,
    instance: &Instance,
    ev: &Evidence<'_>,
    interval_seconds: u64,
    timeout: Duration,
) -> Vec<PodReload> {
    let Some(config) = &instance.config else {
        return Vec::new();
    };
    let board = progress::Board::new(&ctx.printer);
    let waits = instance.pods.iter().map(|p| {
        let task = board.line(&p.name);
        async move {
            if p.phase != "Running" {
                let why = format!("pod is {}", p.phase);
                task.done(&format!("skipped: {why}"));
                return PodReload::new(&p.name, Outcome::Skipped, Some(why));
            }
            let prom = PromPod::new(&ctx.client, ctx.exec.as_ref(), instance, &p.name);
            let (before, access) = match prom.metric(RELOAD_TIME).await {
                Ok(v) => v,
                Err(e) => {
                    let record = PodReload::new(&p.name, Outcome::Unknown, Some(e.to_string()));
                    tell(&task, &record, ReloadWay::Auto { interval_seconds });
                    return record;
                }
            };
            let read_here = ev.files.contains_key(&p.name);
            let bound = if read_here {
                Duration::from_secs(interval_seconds * 2 + 10)
            } else {
                timeout.max(Duration::from_secs(interval_seconds * 2 + 10))
            };
            let what = format!(
                "Prometheus in pod {}/{} to reload its file by itself",
                instance.namespace, p.name
            );
            let last = std::sync::Mutex::new(None);
            let waited = wait::wait_for(&task, &what, bound, Duration::from_secs(1), || {
                let last = &last;
                async move {
                    let check = prove_one(
                        ctx,
                        instance,
                        &p.name,
                        reference(&config.file, &p.name, ev.files, ev.source),
                        ev.live_files.get(&p.name),
                    )
                    .await;
                    *lock(last) = Some(check.clone());
                    Ok(match check.verdict {
                        content::Verdict::Differs => Poll::Pending(format!(
                            "waiting for Prometheus to reload its file by itself (config.auto-reload, every \
                             {interval_seconds}s)"
                        )),
                        _ => Poll::Done(check),
                    })
                }
            })
            .await;
            let after = prom.metrics(&[RELOAD_OK, RELOAD_TIME]).await.ok();
            let (after_ok, after_time) = after.map_or((None, None), |(v, _)| (v[0], v[1]));
            let mut record = PodReload {
                access: Some(access),
                last_success_before: before,
                last_success_after: after_time.or(before),
                ..PodReload::new(&p.name, Outcome::Reloaded, None)
            };
            match waited {
                Ok(check) => record.content = Some(check),
                Err(_) => {
                    record.content = lock(&last).clone();
                    record.outcome = Outcome::Failed;
                    record.error = Some(if after_ok == Some(0.0) {
                        format!(
                            "{RELOAD_OK}=0: Prometheus rejected the new file on its own reload (its log says why)"
                        )
                    } else {
                        format!(
                            "Prometheus did not run the new file within {}s (config.auto-reload, every \
                             {interval_seconds}s)",
                            bound.as_secs()
                        )
                    });
                    if !read_here && after_ok != Some(0.0) {
                        record.not_synced = record.error.clone();
                    }
                }
            }
            tell(&task, &record, ReloadWay::Auto { interval_seconds });
            record
        }
    });
    futures::future::join_all(waits).await
}

/// What a pod's running configuration is compared with: the text and how to name it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub text: &'a str,
    /// e.g. `configmap monitoring/prometheus-server key prometheus.yml`.
    pub label: &'a str,
}

/// The reference for one pod: the file read in it (`files`), or, for a pod whose file was not read, the source.
fn reference<'a>(
    config_file: &str,
    pod: &str,
    files: &'a BTreeMap<String, std::result::Result<String, String>>,
    source: Option<Source<'a>>,
) -> std::result::Result<(&'a str, String), String> {
    match (files.get(pod), source) {
        (Some(Ok(text)), _) => Ok((text, config_file.to_string())),
        (Some(Err(why)), _) => Err(format!("the file was not read ({why})")),
        (None, Some(s)) => Ok((s.text, format!("{config_file} as {} holds it", s.label))),
        (None, None) => Err("its file was not read and its source is not known".into()),
    }
}

/// One pod's proof: `GET /api/v1/status/config` against the reference. `live_file` is the `--config.file` the
/// running server reported (`/api/v1/status/flags`), named in a difference when it is not the file we expected.
async fn prove_one(
    ctx: &Ctx,
    instance: &Instance,
    pod: &str,
    reference: std::result::Result<(&str, String), String>,
    live_file: Option<&String>,
) -> ContentCheck {
    let Some(config) = &instance.config else {
        return ContentCheck::unknown("", "no configuration file");
    };
    let (text, named) = match reference {
        Ok(r) => r,
        Err(why) => return ContentCheck::unknown(&config.file, why),
    };
    let prom = PromPod::new(&ctx.client, ctx.exec.as_ref(), instance, pod);
    match prom.config_yaml().await {
        Ok((running, _)) => {
            let mut check = content::compare(&named, text, &running);
            if check.verdict == content::Verdict::Differs
                && let Some(live) = live_file.filter(|f| **f != config.file)
            {
                check.detail = Some(format!(
                    "Prometheus runs --config.file={live} (its /api/v1/status/flags), not {}; {}",
                    config.file,
                    check.detail.unwrap_or_default()
                ));
            }
            check
        }
        Err(e) => ContentCheck::unknown(&named, format!("GET /api/v1/status/config failed ({e})")),
    }
}

/// The proof by content, for every reloaded pod: what Prometheus reports running against the file the pod holds
/// (`files`, read in the sync session just before the reload) or, for the pods whose file was not read, against the
/// source (the ConfigMap/Secret, or the read pod's file where the source is generated in the pod). `live_files` are
/// the `--config.file` values the running servers reported.
pub async fn prove_content(
    ctx: &Ctx,
    instance: &Instance,
    pods: &mut [PodReload],
    files: &BTreeMap<String, std::result::Result<String, String>>,
    source: Option<Source<'_>>,
    live_files: &BTreeMap<String, String>,
) {
    let Some(config) = &instance.config else {
        return;
    };
    let checks = pods
        .iter()
        .filter(|p| p.outcome == Outcome::Reloaded)
        .map(|p| {
            prove_one(
                ctx,
                instance,
                &p.pod,
                reference(&config.file, &p.pod, files, source),
                live_files.get(&p.pod),
            )
        });
    let results = futures::future::join_all(checks).await;
    let mut results = results.into_iter();
    for p in pods.iter_mut().filter(|p| p.outcome == Outcome::Reloaded) {
        p.content = results.next();
    }
}

/// How often a pod whose file has not synced is reloaded again: a reload of an unchanged file costs Prometheus little
/// (it keeps the scrape pools whose configuration did not change), and the kubelet's sync is about a minute.
const RESYNC_EVERY: Duration = Duration::from_secs(5);

/// Which reloaded pods to reload again: their file was not read (so nothing proved it synced before their reload),
/// they run the same `--config.file` as expected, and their running configuration differs from the source — while
/// every pod whose file WAS read runs what it holds (otherwise the difference is not a sync lag: the comparison, or
/// the file, disagrees everywhere, and reloading again would not change it).
pub fn to_resync(
    config_file: &str,
    pods: &[PodReload],
    files: &BTreeMap<String, std::result::Result<String, String>>,
    live_files: &BTreeMap<String, String>,
) -> Vec<String> {
    let verdict = |p: &PodReload| p.content.as_ref().map(|c| c.verdict.clone());
    let read_ones_match = pods
        .iter()
        .filter(|p| matches!(files.get(&p.pod), Some(Ok(_))) && p.outcome == Outcome::Reloaded)
        .all(|p| verdict(p) == Some(content::Verdict::Matches));
    if !read_ones_match {
        return Vec::new();
    }
    pods.iter()
        .filter(|p| !files.contains_key(&p.pod))
        .filter(|p| p.outcome == Outcome::Reloaded && verdict(p) == Some(content::Verdict::Differs))
        .filter(|p| live_files.get(&p.pod).is_none_or(|f| f == config_file))
        .map(|p| p.pod.clone())
        .collect()
}

/// The pods [`to_resync`] picks: wait and reload again until what they run is the source, bounded by `timeout`; a
/// pod still behind then is "not synced" (its content stays `differs`, with the reason). A reload that fails or whose
/// result is unknown ends that pod's loop with that outcome.
#[allow(clippy::too_many_arguments)]
pub async fn resync(
    ctx: &Ctx,
    instance: &Instance,
    way: ReloadWay,
    pods: &mut [PodReload],
    files: &BTreeMap<String, std::result::Result<String, String>>,
    source: Option<Source<'_>>,
    live_files: &BTreeMap<String, String>,
    timeout: Duration,
) {
    let Some(config) = &instance.config else {
        return;
    };
    let behind = to_resync(&config.file, pods, files, live_files);
    if behind.is_empty() || ctx.settings.dry_run {
        return;
    }
    let label = source.map(|s| s.label).unwrap_or("its source");
    let board = progress::Board::new(&ctx.printer);
    let loops = behind.iter().map(|name| {
        let task = board.line(name);
        let first = pods.iter().find(|p| &p.pod == name).cloned();
        async move {
            let last = std::sync::Mutex::new(first);
            let what = format!(
                "pod {}/{name} to run the configuration {label} holds",
                instance.namespace
            );
            // One interval before the first reload again: the first was just sent.
            task.set(&format!("runs an older configuration than {label}: waiting for its file to sync"));
            wait::Ticker::new(None, RESYNC_EVERY).tick().await;
            let waited = wait::wait_for(&task, &what, timeout, RESYNC_EVERY, || {
                let (task, last) = (&task, &last);
                async move {
                    let reloads_so_far = lock(last).as_ref().map_or(0, |r| r.reloads);
                    task.set(&format!(
                        "runs an older configuration than {label}: its file had not synced; reloading again"
                    ));
                    let mut record = reload_pod(ctx, instance, way, name, task).await;
                    record.reloads += reloads_so_far;
                    if record.outcome == Outcome::Reloaded {
                        record.content = Some(
                            prove_one(
                                ctx,
                                instance,
                                name,
                                reference(&config.file, name, files, source),
                                live_files.get(name),
                            )
                            .await,
                        );
                    }
                    let differs = record.outcome == Outcome::Reloaded
                        && record
                            .content
                            .as_ref()
                            .is_some_and(|c| c.verdict == content::Verdict::Differs);
                    *lock(last) = Some(record.clone());
                    Ok(if differs {
                        Poll::Pending(format!(
                            "still runs an older configuration than {label} after {} reloads",
                            record.reloads
                        ))
                    } else {
                        Poll::Done(record)
                    })
                }
            })
            .await;
            match waited {
                Ok(record) => {
                    tell(&task, &record, way);
                    record
                }
                Err(_) => {
                    let mut record = lock(&last).clone().unwrap_or_else(|| {
                        PodReload::new(name, Outcome::Unknown, Some("no reload recorded".into()))
                    });
                    record.not_synced = Some(format!(
                        "after {} reloads over {}s it still runs an older configuration than {label}: the kubelet \
                         had not updated {} in this pod (a ConfigMap volume syncs on the kubelet's period; a subPath \
                         mount never does)",
                        record.reloads,
                        timeout.as_secs(),
                        config.file
                    ));
                    record
                }
            }
        }
    });
    let done = futures::future::join_all(loops).await;
    for record in done {
        if let Some(p) = pods.iter_mut().find(|p| p.pod == record.pod) {
            *p = record;
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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

    fn reloaded(pod: &str, verdict: content::Verdict) -> PodReload {
        PodReload {
            content: Some(ContentCheck {
                verdict,
                file: "/etc/config/prometheus.yml".into(),
                detail: None,
            }),
            ..PodReload::new(pod, Outcome::Reloaded, None)
        }
    }

    #[test]
    fn only_a_pod_whose_file_was_not_read_and_that_runs_older_content_is_reloaded_again() {
        use content::Verdict::{Differs, Matches, Unknown};
        let file = "/etc/config/prometheus.yml";
        let files: BTreeMap<String, std::result::Result<String, String>> =
            [("p-0".to_string(), Ok("a: 1".to_string()))].into();
        let live: BTreeMap<String, String> = [
            ("p-1".to_string(), file.to_string()),
            ("p-3".to_string(), "/etc/config/other.yml".to_string()),
        ]
        .into();
        let pods = [
            reloaded("p-0", Matches),
            reloaded("p-1", Differs),
            reloaded("p-2", Matches),
            // Runs another --config.file: not a sync lag, reloading again would not help.
            reloaded("p-3", Differs),
            reloaded("p-4", Unknown),
            PodReload::new("p-5", Outcome::Failed, Some("500".into())),
        ];
        assert_eq!(to_resync(file, &pods, &files, &live), ["p-1"]);
        // The pod whose file was read runs something else than that file: the difference is not a lag of the others.
        let pods = [reloaded("p-0", Differs), reloaded("p-1", Differs)];
        assert!(to_resync(file, &pods, &files, &live).is_empty());
    }

    #[test]
    fn the_signal_script_names_the_process_as_the_reloader_does() {
        let argv = sighup_argv();
        assert_eq!(argv[..2], ["sh", "-c"]);
        assert!(argv[2].contains("= prometheus ]") && argv[2].contains("kill -HUP"));
    }
}
