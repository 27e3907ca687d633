//! `kubectl prom reload`: find the Prometheus, decide how to reload it (the install's way, or turn the lifecycle API
//! on first, or refuse), validate what it will load, wait until every pod's file holds it, reload every replica
//! concurrently, prove the result by Prometheus' own metrics and by content, and report. The reusable parts live in
//! `crate::reloading`; this module only sequences them. The decision is pure ([`decide`]), the document is printed
//! on success and failure alike ([`report`]).

pub mod decide;
pub mod report;

use crate::cli::ReloadArgs;
use crate::context::{Ctx, parse_duration};
use crate::discover::{self, Instance};
use crate::error::{Error, ExitCode, Result};
use crate::prom_http::PromPod;
use crate::reloading::lifecycle::{self, Lifecycle, ReloadWay};
use crate::reloading::{config, pod, rollout};
use decide::Decision;
use report::{ErrorDoc, ReloadResult};
use std::collections::BTreeMap;
use std::time::Duration;

/// Entry point for the verb. The result document is printed in every case with `-o json` (with the error when the
/// run failed, issue 18 item 8); the human report when pods were reloaded (or skipped).
pub async fn run(ctx: &Ctx, args: &ReloadArgs) -> Result<ExitCode> {
    let mut result = ReloadResult::default();
    let outcome = reload(ctx, args, &mut result).await;
    if let Err(e) = &outcome {
        result.error = Some(ErrorDoc::from(e));
    }
    if ctx.settings.output == crate::cli::OutputFormat::Json || !result.pods.is_empty() {
        crate::output::emit(
            &ctx.printer,
            ctx.settings.output,
            "ReloadResult",
            &result,
            || report::render(&result),
        )?;
    }
    outcome.map(|()| ExitCode::Ok)
}

async fn reload(ctx: &Ctx, args: &ReloadArgs, result: &mut ReloadResult) -> Result<()> {
    let timeout = parse_duration(&args.timeout)?.unwrap_or(Duration::from_secs(24 * 3600));
    let mut instance = discover::resolve_one(ctx, args.target.target.as_deref()).await?;
    *result = ReloadResult::for_instance(&instance);
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
    let (states, desired_before) = futures::join!(
        preflight(ctx, &instance),
        config::desired_config(ctx, &instance)
    );
    let off: Vec<&str> = states
        .iter()
        .filter(|(_, l, _, _)| !l.enabled)
        .map(|(p, _, _, _)| p.as_str())
        .collect();
    // Every running server reloads its file by itself (--config.auto-reload): nothing to send, no lifecycle API needed.
    let auto = states.iter().map(|s| s.3).collect::<Option<Vec<u64>>>();
    let way = if let Some(interval_seconds) = auto.and_then(|a| a.into_iter().max()) {
        ReloadWay::Auto { interval_seconds }
    } else if off.is_empty() {
        ReloadWay::Http
    } else {
        let cr = rollout::operator_resource(ctx, &instance).await?;
        lifecycle::reload_way(cr.as_ref(), &[])
    };
    let decision = decide::decide(&off, way, args.enable_lifecycle);
    match decision {
        Decision::Refuse => {
            let live = states.iter().any(|(_, l, _, _)| l.source == "live");
            return Err(report::lifecycle_off(&instance, live, &off));
        }
        Decision::EnableLifecycle => {
            instance = enable_lifecycle(ctx, &instance, timeout).await?;
            if ctx.settings.dry_run {
                return Ok(());
            }
        }
        Decision::Reload(_) => {}
    }
    let way = match decision {
        Decision::Reload(way) => way,
        _ => ReloadWay::Http,
    };
    result.reload_way = Some(way);
    if let ReloadWay::Auto { interval_seconds } = way {
        ctx.printer.info(&format!(
            "Prometheus reloads its configuration file by itself (--config.auto-reload, every {interval_seconds}s): \
             nothing is sent, reload waits until it runs the new file"
        ));
    }
    if way == ReloadWay::Signal {
        ctx.printer.info(
            "the lifecycle API is off on purpose (operator reloadStrategy: ProcessSignal): reloading as its \
             config-reloader does, with SIGHUP to the prometheus process",
        );
    }

    // 2. Validate what is about to be loaded (the ConfigMap/Secret content), before waiting for it to arrive. After
    // a rollout (minutes, maybe) it is read again: someone may have edited it meanwhile.
    let desired = if decision == Decision::EnableLifecycle {
        config::desired_config(ctx, &instance).await?
    } else {
        desired_before?
    };
    if args.no_validate {
        result
            .validation
            .push("skipped (--no-validate)".to_string());
    } else if let Some(text) = &desired {
        config::check_keys(ctx, text, &instance, way)?;
        result.validation.push("keys".to_string());
    }

    // 3. Wait until every pod sees that content; the same exec session runs promtool on the first pod's file.
    if let Some(config) = instance.config.as_ref().filter(|c| c.sub_path.is_some()) {
        ctx.printer.warn(&format!(
            "{} is mounted with subPath `{}`: the kubelet never updates subPath mounts, so an edited ConfigMap only \
             arrives when the pod restarts",
            config.file,
            config.sub_path.as_deref().unwrap_or_default()
        ));
    }
    let synced = config::sync_and_check(
        ctx,
        &instance,
        desired.as_deref(),
        !args.no_validate,
        timeout,
    )
    .await?;
    if !args.no_validate {
        result.validation.push(promtool_label(
            &instance,
            synced.promtool.as_ref(),
            way,
            ctx,
        )?);
    }

    // 4. Reload every replica concurrently (or wait for the server's own reload), one progress line each; then prove
    // it by content. The pods whose file was not read (issue 20: one exec session in one pod) are compared with the
    // source, the ConfigMap/Secret (where there is none, every pod's file was read).
    let live_files: BTreeMap<String, String> = states
        .into_iter()
        .filter_map(|(pod, _, file, _)| file.map(|f| (pod, f)))
        .collect();
    let label = config::source_of(&instance).map_or_else(|| "its source".into(), |(s, _)| s);
    let evidence = pod::Evidence {
        files: &synced.files,
        source: desired.as_deref().map(|text| pod::Source {
            text,
            label: &label,
        }),
        live_files: &live_files,
    };
    let pods = pod::reload_and_prove(ctx, &instance, way, &evidence, timeout).await;
    result.pods = pods;
    report::verdict(&instance, &result.pods)
}

/// promtool's verdict as a validation label; a rejection refuses the reload.
fn promtool_label(
    instance: &Instance,
    verdict: Option<&std::result::Result<config::Promtool, String>>,
    way: ReloadWay,
    ctx: &Ctx,
) -> Result<String> {
    use config::Promtool;
    let Some(file) = instance.config.as_ref().map(|c| c.file.as_str()) else {
        return Ok("promtool skipped (no config file found)".into());
    };
    let running = instance.pods.iter().find(|p| p.phase == "Running");
    match (verdict, running.map(|p| p.name.as_str())) {
        (_, None) | (None, _) => Ok("promtool skipped (no running pod)".into()),
        (Some(Ok(Promtool::Passed)), _) => Ok("promtool".into()),
        (Some(Ok(Promtool::Rejected(said))), Some(pod)) => Err(config::invalid(
            instance,
            way,
            &format!(
                "`promtool check config {file}` in pod {}/{pod} rejects the configuration: the file is invalid",
                instance.namespace
            ),
            said,
        )),
        (Some(Ok(Promtool::Lint(said))), _) => {
            ctx.printer.warn(&format!(
                "`promtool check config {file}` reports lint findings (the config still loads): {said}"
            ));
            Ok("promtool (lint findings)".into())
        }
        (Some(Ok(Promtool::Unavailable(why))), Some(pod)) => {
            ctx.printer
                .debug(&format!("promtool not usable in {pod} ({why})"));
            Ok("promtool unavailable in the image".into())
        }
        (Some(Err(why)), Some(pod)) => {
            ctx.printer
                .debug(&format!("could not exec promtool in {pod}: {why}"));
            Ok("promtool unavailable (exec failed)".into())
        }
    }
}

/// A running pod: its name, lifecycle state, the `--config.file` it reports, its auto-reload interval.
type PodState = (String, Lifecycle, Option<String>, Option<u64>);

/// Lifecycle state per running pod, with the `--config.file` the server reports (pods not running are left out; the
/// reload step skips them).
async fn preflight(ctx: &Ctx, instance: &Instance) -> Vec<PodState> {
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
            let file = flags.as_ref().and_then(|f| f.get("config.file").cloned());
            (
                p.name.clone(),
                lifecycle::lifecycle(flags.as_ref(), &instance.args),
                file,
                lifecycle::auto_reload(flags.as_ref(), &instance.args),
            )
        });
    futures::future::join_all(checks).await
}

/// Show, confirm and apply the lifecycle plan (planned again from fresh reads after a 409), wait until the pods run
/// with the flag (for the operator: until it regenerated its StatefulSet), and return the instance with its new pods.
async fn enable_lifecycle(ctx: &Ctx, instance: &Instance, timeout: Duration) -> Result<Instance> {
    let ns = &instance.namespace;
    let plan_now = || async {
        decide::plan_enable_lifecycle(instance, rollout::lifecycle_targets(ctx, instance).await?)
    };
    let plan = plan_now().await?;
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
    crate::engine::confirm(ctx, &plan)?;
    crate::engine::apply_replanning(ctx, plan, plan_now).await?;
    if ctx.settings.dry_run {
        return Ok(instance.clone());
    }
    rollout::wait_flag_rolled_out(ctx, instance, timeout).await?;
    let refreshed = discover::select(
        &discover::discover_all(ctx).await?,
        &discover::parse_target(&discover::target_arg(instance))?,
    );
    let refreshed = refreshed.into_iter().next().ok_or_else(|| Error::Verify {
        message: format!("{ns}/{} disappeared after the rollout", instance.name),
        hint: None,
    })?;
    // A rollout is complete while the old pods are still shutting down: a ReplicaSet stops counting a pod once its
    // deletionTimestamp is set (IsPodActive/FilterActivePods, kubernetes pkg/controller/controller_utils.go), and
    // kubectl's rollout status then says "rolled out". Those old pods run without the flag and stop answering at any
    // moment (on the real control plane: "connection reset by peer" through the pod proxy). Discovery leaves them out
    // of `pods` (one rule, discover::recognise `set_pods`), so the reload is for the new.
    Ok(refreshed)
}
