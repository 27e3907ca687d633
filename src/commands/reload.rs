//! `kubectl prom reload`: check the lifecycle API (offer `--enable-lifecycle` as a plan), validate the config, wait
//! until the ConfigMap reached every pod, reload every replica concurrently, and verify from Prometheus' own metrics
//! that *this* reload happened and succeeded. Pure deciding functions first, then the I/O.

use crate::cli::ReloadArgs;
use crate::context::{Ctx, parse_duration};
use crate::discover::{self, ConfigSource, Flavour, Instance, WorkloadKind};
use crate::error::{Error, ExitCode, Result};
use crate::plan::{ObjectRef, Plan, Step};
use crate::progress::{self, Poll};
use crate::prom_http::{Access, PromPod};
use k8s_openapi::api::core::v1::PodSpec;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

const LIFECYCLE_FLAG: &str = "web.enable-lifecycle";
const RELOAD_OK: &str = "prometheus_config_last_reload_successful";
const RELOAD_TIME: &str = "prometheus_config_last_reload_success_timestamp_seconds";

// ------------------------------------------------------------------------------------------------------------------
// Deciding (pure)

/// Whether a pod's lifecycle API is on, and where we learned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    pub enabled: bool,
    /// `live` (/api/v1/status/flags) or `containerArgs` (the pod template, when the server could not be asked).
    pub source: &'static str,
}

/// The running server's flags win; the container args are the fallback.
pub fn lifecycle(flags: Option<&BTreeMap<String, String>>, args: &[String]) -> Lifecycle {
    match flags.and_then(|f| f.get(LIFECYCLE_FLAG)) {
        Some(v) => Lifecycle {
            enabled: v == "true",
            source: "live",
        },
        None => Lifecycle {
            enabled: discover::bool_flag(args, LIFECYCLE_FLAG),
            source: "containerArgs",
        },
    }
}

/// Add `--web.enable-lifecycle` to the named container: to `args` when it has them (or has no command), else to
/// `command` (where a plain manifest put its flags). Returns false if the container is missing or already has it.
pub fn add_lifecycle_flag(spec: &mut PodSpec, container: &str) -> bool {
    let Some(c) = spec.containers.iter_mut().find(|c| c.name == container) else {
        return false;
    };
    let all: Vec<String> = c
        .command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect();
    if discover::bool_flag(&all, LIFECYCLE_FLAG) {
        return false;
    }
    let flag = format!("--{LIFECYCLE_FLAG}");
    // Drop an explicit `--no-web.enable-lifecycle` / `=false`, which would win otherwise.
    let off = |a: &String| {
        let s = a.trim_start_matches('-');
        s == format!("no-{LIFECYCLE_FLAG}") || s == format!("{LIFECYCLE_FLAG}=false")
    };
    for list in [c.command.as_mut(), c.args.as_mut()].into_iter().flatten() {
        list.retain(|a| !off(a));
    }
    match (&mut c.args, &mut c.command) {
        (Some(args), _) => args.push(flag),
        (None, Some(command)) if command.len() > 1 => command.push(flag),
        (None, _) => c.args = Some(vec![flag]),
    }
    true
}

/// What has to change outside the cluster so the next install does not undo the fix.
pub fn lifecycle_note(instance: &Instance) -> Option<String> {
    // Where the flag must also be set depends on the chart and source of truth (src/install/, issue 18).
    crate::install::flag_note(instance, "web.enable-lifecycle")
}

/// The workload objects (as read) the lifecycle plan edits.
pub enum LifecycleTarget {
    Deployment(k8s_openapi::api::apps::v1::Deployment),
    StatefulSet(k8s_openapi::api::apps::v1::StatefulSet),
    /// The operator's `Prometheus` resource, as JSON.
    Prometheus(serde_json::Value),
}

/// The plan that turns the lifecycle API on: the workload's container args, or for the operator the `Prometheus`
/// resource (`spec.additionalArgs`; never the StatefulSet it generates, which the operator would revert).
pub fn plan_enable_lifecycle(instance: &Instance, targets: Vec<LifecycleTarget>) -> Result<Plan> {
    let mut plan = Plan::new(format!(
        "turn on the lifecycle API (--{LIFECYCLE_FLAG}) for {}/{}",
        instance.namespace, instance.name
    ));
    let reason = "POST /-/reload is refused with 403 while --web.enable-lifecycle is off; the pods restart with the flag";
    for target in targets {
        let step = match target {
            LifecycleTarget::Deployment(before) => {
                let mut after = before.clone();
                if let Some(spec) = after.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
                    add_lifecycle_flag(spec, &instance.container);
                }
                Step::patch(&before, &after, reason)?
            }
            LifecycleTarget::StatefulSet(before) => {
                let mut after = before.clone();
                if let Some(spec) = after.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
                    add_lifecycle_flag(spec, &instance.container);
                }
                Step::patch(&before, &after, reason)?
            }
            LifecycleTarget::Prometheus(before) => {
                let mut after = before.clone();
                let name = before
                    .pointer("/metadata/name")
                    .and_then(|n| n.as_str())
                    .unwrap_or_default()
                    .to_string();
                let spec = after.get_mut("spec").and_then(|s| s.as_object_mut());
                if let Some(spec) = spec {
                    let list = spec
                        .entry("additionalArgs")
                        .or_insert_with(|| serde_json::json!([]));
                    if let Some(items) = list.as_array_mut()
                        && !items
                            .iter()
                            .any(|a| a.get("name").and_then(|n| n.as_str()) == Some(LIFECYCLE_FLAG))
                    {
                        items.push(serde_json::json!({ "name": LIFECYCLE_FLAG }));
                    }
                }
                Step::patch_values(
                    ObjectRef::prometheus(&instance.namespace, &name),
                    before,
                    after,
                    "the operator generates the StatefulSet from this resource; with reloadStrategy ProcessSignal it \
                     leaves the lifecycle API off",
                )?
            }
        };
        plan.steps.extend(step);
    }
    plan.notes.extend(lifecycle_note(instance));
    Ok(plan)
}

/// How one pod's reload went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Prometheus answered 200 and its metrics show a new successful reload.
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
            let moved = match (before, after_time) {
                (Some(b), Some(a)) => a > b,
                (None, Some(_)) => true,
                _ => false,
            };
            if after_ok == Some(1.0) && moved {
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

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v}"))
        .unwrap_or_else(|| "unknown".into())
}

/// The whole result (`-o json`: kind `ReloadResult`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadResult {
    pub namespace: String,
    pub instance: String,
    pub flavour: Flavour,
    /// How the config was validated: `promtool`, `keys` (our schema checker), `skipped`.
    pub validation: Vec<String>,
    pub pods: Vec<PodReload>,
}

/// Human rendering of the result.
pub fn render(result: &ReloadResult) -> String {
    let mut out = String::new();
    let reloaded = result
        .pods
        .iter()
        .filter(|p| p.outcome == Outcome::Reloaded)
        .count();
    out.push_str(&format!(
        "{}/{}: {reloaded} of {} pod(s) reloaded (validation: {})\n",
        result.namespace,
        result.instance,
        result.pods.len(),
        result.validation.join(", ")
    ));
    for p in &result.pods {
        let via = p
            .access
            .map(|a| format!(" via {}", a.describe()))
            .unwrap_or_default();
        let unread = p
            .file_unread
            .as_deref()
            .map(|why| {
                format!(
                    "; unknown whether it runs the new configuration: its file was not read ({why})"
                )
            })
            .unwrap_or_default();
        match p.outcome {
            Outcome::Reloaded => out.push_str(&format!("  {}: reloaded{via}{unread}\n", p.pod)),
            // Only Prometheus' own refusal (it answered, `access` is set) says the old configuration stays.
            Outcome::Failed if p.access.is_some() => out.push_str(&format!(
                "  {}: reload FAILED{via}: {}; the previous configuration is still active\n",
                p.pod,
                p.error.as_deref().unwrap_or("unknown error")
            )),
            Outcome::Failed => out.push_str(&format!(
                "  {}: not reloaded (nothing was sent): {}\n",
                p.pod,
                p.error.as_deref().unwrap_or("unknown error")
            )),
            Outcome::Unknown => out.push_str(&format!(
                "  {}: reload result unknown: {}\n",
                p.pod,
                p.error.as_deref().unwrap_or("no answer")
            )),
            Outcome::Skipped => out.push_str(&format!(
                "  {}: skipped: {}\n",
                p.pod,
                p.error.as_deref().unwrap_or("")
            )),
        }
    }
    out
}

// ------------------------------------------------------------------------------------------------------------------
// Doing (I/O)

/// Entry point for the verb.
pub async fn run(ctx: &Ctx, args: &ReloadArgs) -> Result<ExitCode> {
    let timeout = parse_duration(&args.timeout)?.unwrap_or(Duration::from_secs(24 * 3600));
    let mut instance = discover::resolve_one(ctx, args.target.target.as_deref()).await?;
    ctx.printer
        .info(&format!("Prometheus: {}", discover::describe(&instance)));
    if instance.pods.is_empty() {
        return Err(Error::Target {
            message: format!(
                "{}/{} has no pods to reload",
                instance.namespace, instance.name
            ),
            hint: Some(format!(
                "check the workload: kubectl get {} -n {}",
                discover::target_arg(&instance),
                instance.namespace
            )),
        });
    }

    // 1. Pre-flight: the lifecycle API on every running pod, and (at the same time) the configuration about to be
    // loaded, read from its ConfigMap/Secret.
    let (states, desired_before) =
        futures::join!(preflight(ctx, &instance), desired_config(ctx, &instance));
    let off: Vec<&str> = states
        .iter()
        .filter(|(_, l)| !l.enabled)
        .map(|(p, _)| p.as_str())
        .collect();
    if !off.is_empty() {
        if !args.enable_lifecycle {
            return Err(Error::Prometheus {
                message: format!(
                    "the lifecycle API is off on {} ({}): Prometheus was started without --web.enable-lifecycle, so it \
                     refuses POST /-/reload with `403 Lifecycle API is not enabled.`; nothing was reloaded",
                    off.join(", "),
                    if states.iter().any(|(_, l)| l.source == "live") {
                        "read from /api/v1/status/flags"
                    } else {
                        "read from the container args"
                    }
                ),
                hint: Some(format!(
                    "add the flag (the pods restart) and reload in one go: kubectl prom reload {} -n {} --enable-lifecycle",
                    discover::target_arg(&instance),
                    instance.namespace
                )),
            });
        }
        instance = enable_lifecycle(ctx, &instance, timeout).await?;
        if ctx.settings.dry_run {
            return Ok(ExitCode::Ok);
        }
    }

    // 2. Validate what is about to be loaded (the ConfigMap/Secret content), before waiting for it to arrive. After
    // a rollout (minutes, maybe) it is read again: someone may have edited it meanwhile.
    let mut validation = Vec::new();
    let desired = if off.is_empty() {
        desired_before?
    } else {
        desired_config(ctx, &instance).await?
    };
    if args.no_validate {
        validation.push("skipped (--no-validate)".to_string());
    } else if let Some(text) = &desired {
        check_keys(ctx, text, &instance)?;
        validation.push("keys".to_string());
    }

    // 3. Wait until every pod sees that content (pod → why its file could not be read).
    let mut unread = BTreeMap::new();
    if let (Some(text), Some(config)) = (&desired, &instance.config) {
        if config.sub_path.is_some() {
            ctx.printer.warn(&format!(
                "{} is mounted with subPath `{}`: the kubelet never updates subPath mounts, so an edited ConfigMap only \
                 arrives when the pod restarts",
                config.file,
                config.sub_path.as_deref().unwrap_or_default()
            ));
        }
        unread = wait_config_synced(ctx, &instance, text, timeout).await?;
    }

    // 2b. promtool inside the container, on the file the pod now sees.
    if !args.no_validate {
        validation.push(promtool_check(ctx, &instance).await?);
    }

    // 4. Reload every replica concurrently, one progress line each.
    let mut pods = reload_all(ctx, &instance).await;
    for p in &mut pods {
        p.file_unread = unread.remove(&p.pod);
    }
    let result = ReloadResult {
        namespace: instance.namespace.clone(),
        instance: instance.name.clone(),
        flavour: instance.flavour.clone(),
        validation,
        pods,
    };
    crate::output::emit(
        &ctx.printer,
        ctx.settings.output,
        "ReloadResult",
        &result,
        || render(&result),
    )?;
    let failed: Vec<&PodReload> = result
        .pods
        .iter()
        .filter(|p| p.outcome == Outcome::Failed)
        .collect();
    if !failed.is_empty() {
        return Err(reload_failure(&instance, &failed));
    }
    let unknown: Vec<&PodReload> = result
        .pods
        .iter()
        .filter(|p| p.outcome == Outcome::Unknown || p.file_unread.is_some())
        .collect();
    if !unknown.is_empty() {
        return Err(reload_unknown(&instance, &unknown));
    }
    Ok(ExitCode::Ok)
}

/// The error for pods whose reload cannot be judged: no answer to the POST came back, or the file they load could
/// not be read first. Nothing is claimed about what they run; the sentence says "unknown" and what reads the truth
/// (doctor reads each pod's last reload time and status from Prometheus itself).
fn reload_unknown(instance: &Instance, pods: &[&PodReload]) -> Error {
    let names = pods
        .iter()
        .map(|p| p.pod.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let first = pods[0];
    let why = match (first.outcome, &first.file_unread) {
        (Outcome::Unknown, _) => format!(
            "whether {names} reloaded is unknown: {}",
            first.error.as_deref().unwrap_or("no answer came back")
        ),
        (_, Some(file)) => format!(
            "{names} reloaded, but whether {} the new configuration is unknown: the configuration file in the pod \
             could not be read to compare ({file})",
            if pods.len() == 1 {
                "it runs"
            } else {
                "they run"
            }
        ),
        _ => format!("the result on {names} is unknown"),
    };
    Error::Prometheus {
        message: why,
        hint: Some(format!(
            "find out what it runs (last reload time and status, per pod): kubectl prom doctor {} -n {}",
            discover::target_arg(instance),
            instance.namespace
        )),
    }
}

/// The error for pods whose reload failed. Prometheus answering the POST with an error means it rejected the new
/// configuration and keeps the old one; no answer at all (a hang, garbage, a dropped request — `access` is unset)
/// says nothing about the configuration, and the pod is what to look at.
fn reload_failure(instance: &Instance, failed: &[&PodReload]) -> Error {
    let pods = failed
        .iter()
        .map(|p| p.pod.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let first = failed[0];
    let why = first.error.as_deref().unwrap_or("unknown error");
    let ns = &instance.namespace;
    if first.access.is_none() {
        return Error::Prometheus {
            message: format!(
                "could not reload {pods}: the server in the pod did not answer as Prometheus does ({why}); nothing \
                 shows the reload happened there"
            ),
            hint: Some(format!(
                "see what the pod runs and answers: kubectl prom doctor {} -n {ns}",
                discover::target_arg(instance)
            )),
        };
    }
    Error::Prometheus {
        message: format!(
            "the reload failed on {pods}; Prometheus keeps running the previous configuration: {why}"
        ),
        hint: Some(format!(
            "fix the configuration, then re-run; the server log has the details: kubectl logs -n {ns} {} -c {}",
            first.pod, instance.container
        )),
    }
}

/// Lifecycle state per running pod (pods not running are left out; the reload step skips them).
async fn preflight(ctx: &Ctx, instance: &Instance) -> Vec<(String, Lifecycle)> {
    let checks = instance
        .pods
        .iter()
        .filter(|p| p.phase == "Running")
        .map(|p| async move {
            let prom = PromPod::new(&ctx.client, ctx.exec.as_ref(), instance, &p.name);
            let flags = match prom.flags().await {
                Ok((flags, _)) => Some(flags),
                Err(e) => {
                    ctx.printer.debug(&format!(
                        "{}: could not read /api/v1/status/flags ({e}); using the container args",
                        p.name
                    ));
                    None
                }
            };
            (p.name.clone(), lifecycle(flags.as_ref(), &instance.args))
        });
    futures::future::join_all(checks).await
}

/// Show, confirm and apply the lifecycle plan (planned again from fresh reads after a 409), follow the rollout, and
/// return the instance with its new pods.
async fn enable_lifecycle(ctx: &Ctx, instance: &Instance, timeout: Duration) -> Result<Instance> {
    let ns = &instance.namespace;
    let plan = lifecycle_plan(ctx, instance).await?;
    if plan.is_empty() {
        return Err(Error::Prometheus {
            message: format!(
                "the lifecycle API is off on the running pods of {ns}/{}, but their template already has \
                 --web.enable-lifecycle: the pods were started from an older template",
                instance.name
            ),
            hint: Some(format!(
                "finish the rollout: kubectl rollout status {} -n {ns}",
                discover::target_arg(instance)
            )),
        });
    }
    crate::access::require(ctx, &crate::access::requests_for(&plan)).await?;
    crate::plan::confirm(ctx, &plan)?;
    crate::plan::apply_replanning(ctx, plan, || lifecycle_plan(ctx, instance)).await?;
    if ctx.settings.dry_run {
        return Ok(instance.clone());
    }
    for w in &instance.workloads {
        // The operator needs a moment to regenerate its StatefulSet; the rollout wait covers that.
        progress::wait_rollout(&ctx.client, &ctx.printer, ns, w, timeout).await?;
    }
    let refreshed = discover::select(
        &discover::discover_all(ctx).await?,
        &discover::parse_target(&discover::target_arg(instance))?,
    );
    refreshed.into_iter().next().ok_or_else(|| Error::Verify {
        message: format!("{ns}/{} disappeared after the rollout", instance.name),
        hint: None,
    })
}

/// Read the objects that start the pods (the Prometheus resource, or each workload) and plan the flag on them.
async fn lifecycle_plan(ctx: &Ctx, instance: &Instance) -> Result<Plan> {
    use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
    let ns = &instance.namespace;
    let mut targets = Vec::new();
    match &instance.flavour {
        Flavour::Operator { prometheus } => {
            let cr = discover::prometheus_api(&ctx.client, ns)
                .get(prometheus)
                .await
                .map_err(Error::kube(format!("read prometheus {ns}/{prometheus}")))?;
            targets.push(LifecycleTarget::Prometheus(
                serde_json::to_value(cr).unwrap_or_default(),
            ));
        }
        _ => {
            for w in &instance.workloads {
                match w.kind {
                    WorkloadKind::Deployment => {
                        let api: kube::Api<Deployment> =
                            kube::Api::namespaced(ctx.client.clone(), ns);
                        let d = api
                            .get(&w.name)
                            .await
                            .map_err(Error::kube(format!("read deployment {ns}/{}", w.name)))?;
                        targets.push(LifecycleTarget::Deployment(d));
                    }
                    WorkloadKind::StatefulSet => {
                        let api: kube::Api<StatefulSet> =
                            kube::Api::namespaced(ctx.client.clone(), ns);
                        let s = api
                            .get(&w.name)
                            .await
                            .map_err(Error::kube(format!("read statefulset {ns}/{}", w.name)))?;
                        targets.push(LifecycleTarget::StatefulSet(s));
                    }
                    WorkloadKind::Pod => {
                        return Err(Error::Prometheus {
                            message: format!(
                                "pod {ns}/{} is not managed by a Deployment or StatefulSet, and a pod's container args \
                                 cannot be changed in place",
                                w.name
                            ),
                            hint: Some("add --web.enable-lifecycle to the pod manifest and re-create the pod".into()),
                        });
                    }
                }
            }
        }
    }
    plan_enable_lifecycle(instance, targets)
}

/// The config text the pods should end up with: the ConfigMap (or Secret) key behind `--config.file`.
async fn desired_config(ctx: &Ctx, instance: &Instance) -> Result<Option<String>> {
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    let ns = &instance.namespace;
    let Some(config) = &instance.config else {
        return Ok(None);
    };
    match &config.source {
        ConfigSource::ConfigMap { name, key } => {
            let api: kube::Api<ConfigMap> = kube::Api::namespaced(ctx.client.clone(), ns);
            let cm = api
                .get(name)
                .await
                .map_err(Error::kube(format!("read configmap {ns}/{name}")))?;
            let text = cm
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .cloned()
                .or_else(|| {
                    cm.binary_data
                        .as_ref()
                        .and_then(|d| d.get(key))
                        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                });
            match text {
                Some(t) => Ok(Some(t)),
                None => Err(Error::Prometheus {
                    message: format!(
                        "configmap {ns}/{name} has no key `{key}`, which {} reads as {}",
                        instance.container, config.file
                    ),
                    hint: Some(format!("kubectl get configmap {name} -n {ns} -o yaml")),
                }),
            }
        }
        ConfigSource::Secret { name, key } => {
            let api: kube::Api<Secret> = kube::Api::namespaced(ctx.client.clone(), ns);
            let secret = api
                .get(name)
                .await
                .map_err(Error::kube(format!("read secret {ns}/{name}")))?;
            Ok(secret
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|b| String::from_utf8_lossy(&b.0).into_owned()))
        }
        // Generated inside the pod (the operator's config-reloader): nothing to compare with.
        ConfigSource::EmptyDir | ConfigSource::Other { .. } => Ok(None),
    }
}

fn check_keys(ctx: &Ctx, text: &str, instance: &Instance) -> Result<()> {
    let issues = crate::promconfig::check(text);
    for warning in issues.iter().filter(|i| !i.error) {
        ctx.printer.warn(&warning.message);
    }
    let errors: Vec<String> = issues
        .iter()
        .filter(|i| i.error)
        .map(|i| match i.line {
            Some(l) => format!("line {l}: {}", i.message),
            None => i.message.clone(),
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    let ns = &instance.namespace;
    // Where the text came from, and the object to edit (`kind/name`).
    let (source, object) = match instance.config.as_ref().map(|c| &c.source) {
        Some(ConfigSource::ConfigMap { name, key }) => (
            format!("configmap {ns}/{name} key {key}"),
            format!("configmap/{name}"),
        ),
        Some(ConfigSource::Secret { name, key }) => (
            format!("secret {ns}/{name} key {key}"),
            format!("secret/{name}"),
        ),
        _ => (
            "the configuration".to_string(),
            discover::target_arg(instance),
        ),
    };
    Err(Error::Verify {
        message: format!(
            "the configuration in {source} is invalid, so it was not reloaded: {}",
            errors.join("; ")
        ),
        hint: Some(format!(
            "fix it (kubectl edit {object} -n {ns}), or reload anyway with --no-validate"
        )),
    })
}

/// Poll each running pod's config file (exec `cat`) until it equals the ConfigMap content. The kubelet syncs
/// ConfigMap volumes on its periodic sync plus cache TTL (about a minute by default; Kubernetes docs, "Mounted
/// ConfigMaps are updated automatically").
async fn wait_config_synced(
    ctx: &Ctx,
    instance: &Instance,
    desired: &str,
    timeout: Duration,
) -> Result<BTreeMap<String, String>> {
    let Some(config) = &instance.config else {
        return Ok(BTreeMap::new());
    };
    let board = progress::Board::new(&ctx.printer);
    let waits = instance
        .pods
        .iter()
        .filter(|p| p.phase == "Running")
        .map(|p| {
            let task = board.line(&p.name);
            async move {
                let argv = vec!["cat".to_string(), config.file.clone()];
                let what = format!(
                    "{} in pod {}/{} to match the new configuration",
                    config.file, instance.namespace, p.name
                );
                let exec_failed = std::sync::Mutex::new(None::<String>);
                let result =
                    progress::wait_for(&task, &what, timeout, Duration::from_secs(1), || {
                        let argv = argv.clone();
                        let exec_failed = &exec_failed;
                        async move {
                            match ctx
                                .exec
                                .run(&instance.namespace, &p.name, &instance.container, &argv)
                                .await
                            {
                                Ok(out) if out.success() && out.stdout == desired => {
                                    Ok(Poll::Done(true))
                                }
                                Ok(out) if out.success() => Ok(Poll::Pending(
                                    "waiting for the kubelet to update the mounted config".into(),
                                )),
                                Ok(out) => {
                                    *exec_failed.lock().unwrap_or_else(|e| e.into_inner()) =
                                        Some(format!(
                                            "`cat {}` exited {}: {}",
                                            config.file,
                                            out.exit_code,
                                            out.stderr.trim()
                                        ));
                                    Ok(Poll::Done(false))
                                }
                                Err(e) => {
                                    *exec_failed.lock().unwrap_or_else(|e| e.into_inner()) =
                                        Some(e.to_string());
                                    Ok(Poll::Done(false))
                                }
                            }
                        }
                    })
                    .await;
                let why = exec_failed.lock().unwrap_or_else(|e| e.into_inner()).take();
                match (result, why) {
                    (Ok(true), _) => {
                        task.done("configuration is up to date");
                        Ok(None)
                    }
                    (Ok(false), why) => {
                        // Without the file we cannot compare: never a ✓. Say it is unknown and go on; the result
                        // repeats it for this pod and the exit code says it (README "Exit codes": 3).
                        let why = why.unwrap_or_else(|| format!("`cat {}` failed", config.file));
                        task.unknown(&format!(
                            "unknown whether {} holds the new configuration: {why}; not waiting",
                            config.file
                        ));
                        Ok(Some((p.name.clone(), why)))
                    }
                    (Err(e), _) => Err(e),
                }
            }
        });
    let mut unread = BTreeMap::new();
    for r in futures::future::join_all(waits).await {
        unread.extend(r?);
    }
    Ok(unread)
}

/// `promtool check config FILE` inside the first running pod. Exit 1 → refuse; not in the image → say so.
async fn promtool_check(ctx: &Ctx, instance: &Instance) -> Result<String> {
    let Some(config) = &instance.config else {
        return Ok("promtool skipped (no config file found)".into());
    };
    let Some(pod) = instance.pods.iter().find(|p| p.phase == "Running") else {
        return Ok("promtool skipped (no running pod)".into());
    };
    let argv = vec![
        "promtool".to_string(),
        "check".into(),
        "config".into(),
        config.file.clone(),
    ];
    match ctx
        .exec
        .run(&instance.namespace, &pod.name, &instance.container, &argv)
        .await
    {
        Ok(out) if out.success() => Ok("promtool".into()),
        Ok(out) if out.exit_code == 1 => Err(Error::Verify {
            message: format!(
                "`promtool check config {}` in pod {}/{} rejects the configuration, so it was not reloaded: {}",
                config.file,
                instance.namespace,
                pod.name,
                format!("{}{}", out.stdout, out.stderr)
                    .trim()
                    .replace('\n', " ")
            ),
            hint: Some("fix the configuration, or reload anyway with --no-validate".into()),
        }),
        // promtool exits 3 for lint findings only (cmd/promtool/main.go `lintErrExitCode`): Prometheus loads such a
        // config, so warn and go on.
        Ok(out) if out.exit_code == 3 => {
            ctx.printer.warn(&format!(
                "`promtool check config {}` reports lint findings (the config still loads): {}",
                config.file,
                format!("{}{}", out.stdout, out.stderr)
                    .trim()
                    .replace('\n', " ")
            ));
            Ok("promtool (lint findings)".into())
        }
        Ok(out) => {
            ctx.printer.debug(&format!(
                "promtool not usable in {} (exit {}): {}",
                pod.name,
                out.exit_code,
                out.stderr.trim()
            ));
            Ok("promtool unavailable in the image".into())
        }
        Err(e) => {
            ctx.printer
                .debug(&format!("could not exec promtool in {}: {e}", pod.name));
            Ok("promtool unavailable (exec failed)".into())
        }
    }
}

async fn reload_all(ctx: &Ctx, instance: &Instance) -> Vec<PodReload> {
    let board = progress::Board::new(&ctx.printer);
    let reloads = instance.pods.iter().map(|p| {
        let task = board.line(&p.name);
        async move {
            // A reload changes what Prometheus runs: --dry-run validates and checks the sync, but never POSTs.
            let skip = if p.phase != "Running" {
                Some(format!("pod is {}", p.phase))
            } else if ctx.settings.dry_run {
                Some("dry run: POST /-/reload not sent".to_string())
            } else {
                None
            };
            if let Some(why) = skip {
                task.done(&format!("skipped: {why}"));
                return PodReload {
                    pod: p.name.clone(),
                    access: None,
                    last_success_before: None,
                    last_success_after: None,
                    outcome: Outcome::Skipped,
                    error: Some(why),
                    file_unread: None,
                };
            }
            let prom = PromPod::new(&ctx.client, ctx.exec.as_ref(), instance, &p.name);
            let record = reload_one(&prom, &task)
                .await
                .unwrap_or_else(|e| PodReload {
                    pod: p.name.clone(),
                    access: None,
                    last_success_before: None,
                    last_success_after: None,
                    outcome: Outcome::Failed,
                    error: Some(e.to_string()),
                    file_unread: None,
                });
            match record.outcome {
                Outcome::Reloaded => task.done(&format!(
                    "reloaded via {}",
                    record.access.map(Access::describe).unwrap_or("?")
                )),
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
        pod: prom.pod.clone(),
        access: None,
        last_success_before: before,
        last_success_after: None,
        outcome: Outcome::Unknown,
        error: Some(why),
        file_unread: None,
    };
    let post = prom.prefixed("/-/reload");
    task.set(&format!("POST {post}"));
    let reply = match prom.post("/-/reload").await {
        Ok(reply) => reply,
        Err(e) => {
            return Ok(unknown(format!(
                "POST {post} was sent but no answer from Prometheus came back ({}), so it may or may not have \
                 reloaded",
                e
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
        pod: prom.pod.clone(),
        access: Some(reply.access),
        last_success_before: before,
        last_success_after: after_time.or(before),
        outcome,
        error,
        file_unread: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    fn chart_instance() -> (Instance, Deployment) {
        let d: Deployment = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "prometheus-server", "namespace": "monitoring", "resourceVersion": "7",
                         "labels": {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server", "app.kubernetes.io/instance": "prometheus", "helm.sh/chart": "prometheus-25.8.0"}},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                     "template": {"metadata": {"labels": {"app.kubernetes.io/name": "prometheus"}},
                                  "spec": {"containers": [
                                      {"name": "prometheus-server-configmap-reload", "image": "quay.io/prometheus-operator/prometheus-config-reloader:v0.70.0"},
                                      {"name": "prometheus-server", "image": "quay.io/prometheus/prometheus:v2.48.0",
                                       "args": ["--storage.tsdb.retention.time=15d", "--config.file=/etc/config/prometheus.yml", "--storage.tsdb.path=/data"]}]}}}
        }))
        .unwrap();
        let inv = discover::Inventory {
            deployments: vec![d.clone()],
            ..Default::default()
        };
        (discover::find_instances(&inv).remove(0), d)
    }

    #[test]
    fn live_flags_win_over_container_args() {
        let args = vec!["--web.enable-lifecycle".to_string()];
        let flags = BTreeMap::from([(LIFECYCLE_FLAG.to_string(), "false".to_string())]);
        assert_eq!(
            lifecycle(Some(&flags), &args),
            Lifecycle {
                enabled: false,
                source: "live"
            }
        );
        assert_eq!(
            lifecycle(None, &args),
            Lifecycle {
                enabled: true,
                source: "containerArgs"
            }
        );
        assert_eq!(
            lifecycle(None, &[]),
            Lifecycle {
                enabled: false,
                source: "containerArgs"
            }
        );
    }

    #[test]
    fn chart_plan_adds_the_flag_to_the_server_container_and_notes_helm_values() {
        let (instance, d) = chart_instance();
        let plan = plan_enable_lifecycle(&instance, vec![LifecycleTarget::Deployment(d)]).unwrap();
        assert_eq!(plan.steps.len(), 1);
        let crate::plan::Change::Patch { patch, object, .. } = &plan.steps[0].change else {
            panic!()
        };
        assert_eq!(object.display(), "deployment monitoring/prometheus-server");
        let containers = &patch["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[1]["args"][3], json!("--web.enable-lifecycle"));
        assert!(
            containers[0].get("args").is_none(),
            "the sidecar is untouched: {containers}"
        );
        assert_eq!(patch["metadata"]["resourceVersion"], json!("7"));
        assert!(
            plan.notes[0].contains("server.extraFlags")
                && plan.notes[0].contains("web.enable-lifecycle"),
            "{:?}",
            plan.notes
        );
        let text = crate::plan::render(&plan, &|t, _| t.to_string());
        assert!(
            text.lines()
                .any(|l| l.starts_with(" +") && l.ends_with("- --web.enable-lifecycle")),
            "{text}"
        );
    }

    #[test]
    fn flag_goes_where_the_flags_are_and_explicit_off_is_removed() {
        let mut spec: PodSpec = serde_json::from_value(json!({"containers": [
            {"name": "p", "command": ["/bin/prometheus", "--config.file=/c.yml", "--no-web.enable-lifecycle"]}]}))
        .unwrap();
        assert!(add_lifecycle_flag(&mut spec, "p"));
        assert_eq!(
            spec.containers[0].command.as_ref().unwrap(),
            &[
                "/bin/prometheus",
                "--config.file=/c.yml",
                "--web.enable-lifecycle"
            ]
        );
        assert!(!add_lifecycle_flag(&mut spec, "p"), "already on");
        assert!(!add_lifecycle_flag(&mut spec, "missing"));
    }

    #[test]
    fn operator_plan_patches_the_prometheus_resource() {
        let (mut instance, _) = chart_instance();
        instance.flavour = Flavour::Operator {
            prometheus: "k8s".into(),
        };
        let cr = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
                        "metadata": {"name": "k8s", "namespace": "monitoring", "resourceVersion": "9"},
                        "spec": {"reloadStrategy": "ProcessSignal", "replicas": 2}});
        let plan = plan_enable_lifecycle(&instance, vec![LifecycleTarget::Prometheus(cr)]).unwrap();
        let crate::plan::Change::Patch { patch, object, .. } = &plan.steps[0].change else {
            panic!()
        };
        assert_eq!(object.display(), "prometheus monitoring/k8s");
        assert_eq!(
            patch["spec"]["additionalArgs"],
            json!([{"name": "web.enable-lifecycle"}])
        );
        assert!(plan.notes.is_empty());
    }

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
    fn render_says_what_happened_per_pod() {
        let result = ReloadResult {
            namespace: "monitoring".into(),
            instance: "prometheus-server".into(),
            flavour: Flavour::Plain,
            validation: vec!["keys".into(), "promtool".into()],
            pods: vec![
                PodReload {
                    pod: "a".into(),
                    access: Some(Access::Exec),
                    last_success_before: Some(1.0),
                    last_success_after: Some(2.0),
                    outcome: Outcome::Reloaded,
                    error: None,
                    file_unread: None,
                },
                PodReload {
                    pod: "b".into(),
                    access: Some(Access::Proxy),
                    last_success_before: Some(1.0),
                    last_success_after: Some(1.0),
                    outcome: Outcome::Failed,
                    error: Some("500 boom".into()),
                    file_unread: None,
                },
                PodReload {
                    pod: "c".into(),
                    access: None,
                    last_success_before: Some(1.0),
                    last_success_after: None,
                    outcome: Outcome::Unknown,
                    error: Some(
                        "POST /-/reload was sent but no answer from Prometheus came back".into(),
                    ),
                    file_unread: None,
                },
                PodReload {
                    pod: "d".into(),
                    access: Some(Access::Proxy),
                    last_success_before: Some(1.0),
                    last_success_after: Some(2.0),
                    outcome: Outcome::Reloaded,
                    error: None,
                    file_unread: Some("`cat /etc/config/prometheus.yml` failed: 500".into()),
                },
            ],
        };
        let text = render(&result);
        assert!(
            text.starts_with(
                "monitoring/prometheus-server: 2 of 4 pod(s) reloaded (validation: keys, promtool)"
            ),
            "{text}"
        );
        assert!(
            text.contains("a: reloaded via exec (wget inside the container)"),
            "{text}"
        );
        assert!(text.contains("b: reload FAILED via the API server's pod proxy: 500 boom; the previous configuration is still active"), "{text}");
        // No answer is no evidence: neither a failure nor "the previous configuration", and never a plain success.
        assert!(
            text.contains("c: reload result unknown: POST /-/reload was sent but no answer"),
            "{text}"
        );
        assert_eq!(text.matches("previous configuration").count(), 1, "{text}");
        assert!(
            text.contains("d: reloaded via the API server's pod proxy; unknown whether it runs the new configuration"),
            "{text}"
        );
        let json = crate::output::json_document("ReloadResult", &result).unwrap();
        assert_eq!(json["pods"][0]["access"], "exec");
        assert_eq!(json["pods"][1]["outcome"], "failed");
        assert_eq!(json["pods"][1]["lastSuccessBefore"], 1.0);
    }
}
