//! The reads and waits around turning the lifecycle API on: the objects that start the pods (each workload, or the
//! operator's `Prometheus` resource), and — for the operator — waiting until the StatefulSet it generates carries the
//! flag and its pods run it (issue 18 item 6: the operator regenerates the StatefulSet after its own reconcile, so a
//! rollout wait started at once sees the old StatefulSet, already rolled out, and the reload hit pods without the flag).

use super::lifecycle::{LifecycleTarget, template_has_lifecycle};
use crate::context::Ctx;
use crate::discover::{self, Flavour, Instance, WorkloadKind};
use crate::engine::wait;
use crate::error::{Error, Result};
use crate::progress;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use std::time::Duration;

/// The operator's `Prometheus` resource of an operator install, as JSON (None for other installs).
pub async fn operator_resource(
    ctx: &Ctx,
    instance: &Instance,
) -> Result<Option<serde_json::Value>> {
    let Flavour::Operator { prometheus } = &instance.flavour else {
        return Ok(None);
    };
    let ns = &instance.namespace;
    let cr = discover::prometheus_api(&ctx.client, ns)
        .get(prometheus)
        .await
        .map_err(Error::kube(format!("read prometheus {ns}/{prometheus}")))?;
    Ok(Some(serde_json::to_value(cr).unwrap_or_default()))
}

/// Read the objects that start the pods (the Prometheus resource, or each workload), for the lifecycle plan.
pub async fn lifecycle_targets(ctx: &Ctx, instance: &Instance) -> Result<Vec<LifecycleTarget>> {
    let ns = &instance.namespace;
    if let Some(cr) = operator_resource(ctx, instance).await? {
        return Ok(vec![LifecycleTarget::Prometheus(cr)]);
    }
    let mut targets = Vec::new();
    for w in &instance.workloads {
        match w.kind {
            WorkloadKind::Deployment => {
                let api: kube::Api<Deployment> = kube::Api::namespaced(ctx.client.clone(), ns);
                let d = api
                    .get(&w.name)
                    .await
                    .map_err(Error::kube(format!("read deployment {ns}/{}", w.name)))?;
                targets.push(LifecycleTarget::Deployment(d));
            }
            WorkloadKind::StatefulSet => {
                let api: kube::Api<StatefulSet> = kube::Api::namespaced(ctx.client.clone(), ns);
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
                    hint: Some(
                        "add --web.enable-lifecycle to the pod manifest and re-create the pod"
                            .into(),
                    ),
                });
            }
        }
    }
    Ok(targets)
}

/// After the flag was applied: for the operator, first wait until each generated StatefulSet's template carries it
/// (the operator's reconcile); then every workload's rollout, so the reload reaches pods that run with the flag.
pub async fn wait_flag_rolled_out(ctx: &Ctx, instance: &Instance, timeout: Duration) -> Result<()> {
    let ns = &instance.namespace;
    if matches!(instance.flavour, Flavour::Operator { .. }) {
        let board = progress::Board::new(&ctx.printer);
        for w in instance
            .workloads
            .iter()
            .filter(|w| matches!(w.kind, WorkloadKind::StatefulSet))
        {
            let task = board.line(&w.display());
            let what = format!(
                "the operator to regenerate {} in namespace {ns} with --web.enable-lifecycle",
                w.display()
            );
            wait::template_updated(&ctx.client, &task, ns, w, &what, timeout, |spec| {
                let spec = serde_json::from_value(spec.clone()).ok();
                template_has_lifecycle(spec.as_ref(), &instance.container)
            })
            .await?;
            task.done("the operator added the flag");
        }
    }
    for w in &instance.workloads {
        wait::wait_rollout(&ctx.client, &ctx.printer, ns, w, timeout).await?;
    }
    Ok(())
}
