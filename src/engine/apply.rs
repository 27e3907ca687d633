//! Sending a plan: each step in order with its precondition (and `dryRun=All` under `--dry-run`), recorded in the
//! interrupt journal; and the one 409 loop: read again, plan again, go on as the confirm policy says.

use super::confirm::{AfterConflict, MAX_REPLANS, after_conflict, changed_plan_refused, confirm};
use super::render::render_with;
use super::{Change, FIELD_MANAGER, ObjectRef, Plan};
use crate::context::Ctx;
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::Value;

/// What the API server answered for one step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub object: ObjectRef,
    pub dry_run: bool,
    /// The object as returned (patches); `null` for deletes.
    #[serde(skip)]
    pub result: Value,
}

/// Send every step in order (stop at the first failure). Honours `--dry-run` (dryRun=All).
pub async fn apply(ctx: &Ctx, plan: &Plan) -> Result<Vec<Applied>> {
    let mut done = Vec::new();
    send_steps(ctx, plan, &mut done).await?;
    Ok(done)
}

/// [`apply`], and when the API server answers 409 Conflict (an object changed since it was read): say so, make the
/// plan again with `replan` (which must read the objects again), and go on as [`after_conflict`] says — at most
/// [`MAX_REPLANS`] times. Steps sent before the conflict stay applied (each was a whole, preconditioned change) and
/// drop out of the new plan; an empty new plan means someone else made the same change, which is fine.
pub async fn apply_replanning<F, Fut>(ctx: &Ctx, plan: Plan, mut replan: F) -> Result<Vec<Applied>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Plan>>,
{
    let mut plan = plan;
    let mut done = Vec::new();
    let mut replans = 0;
    loop {
        let err = match send_steps(ctx, &plan, &mut done).await {
            Ok(()) => return Ok(done),
            Err(err) if err.is_conflict() && replans < MAX_REPLANS => err,
            Err(err) => return Err(err),
        };
        replans += 1;
        ctx.printer.info(&format!(
            "{err}; reading the objects again and planning again"
        ));
        let again = replan().await?;
        match after_conflict(&ctx.settings, plan.asks_nothing_new(&again)) {
            AfterConflict::Apply => {}
            AfterConflict::Confirm => confirm(ctx, &again)?,
            AfterConflict::Stop => {
                ctx.printer.info(&render_with(
                    &again,
                    &|t, c| ctx.printer.paint(t, c),
                    ctx.settings.verbose > 0,
                ));
                return Err(changed_plan_refused(&err, &applied_so_far(&done)));
            }
        }
        plan = again;
    }
}

/// `"patched deployment a/b before the conflict; "`, or nothing.
fn applied_so_far(done: &[Applied]) -> String {
    if done.is_empty() {
        return String::new();
    }
    let names: Vec<String> = done.iter().map(|a| a.object.display()).collect();
    format!("{} was applied before the conflict; ", names.join(", "))
}

/// Send the steps of `plan` in order, recording each one answered in `done`; stop at the first failure.
async fn send_steps(ctx: &Ctx, plan: &Plan, done: &mut Vec<Applied>) -> Result<()> {
    let dry_run = ctx.settings.dry_run;
    for step in &plan.steps {
        let object = step.change.object().clone();
        let Some(result) = send(ctx, &step.change).await? else {
            continue;
        };
        let verb = match &step.change {
            Change::Patch { .. } => "patched",
            Change::Create { .. } => "created",
            Change::DeleteOrphan { .. } => "deleted (orphaning its pods)",
            Change::RestartPod { .. } => "restarted",
        };
        let suffix = if dry_run { " (dry run)" } else { "" };
        ctx.printer
            .info(&format!("{verb} {}{suffix}", object.display()));
        if !dry_run {
            // What a Ctrl-C reports as applied (crate::interrupt).
            crate::interrupt::journal().applied(format!("{verb} {}", object.display()));
        }
        done.push(Applied {
            object,
            dry_run,
            result,
        });
    }
    Ok(())
}

/// Send one change with its precondition (and `dryRun=All` under `--dry-run`): the one place a request that changes
/// the cluster is made. Returns the object the API server answered (`null` for deletes), or `None` when a pod
/// restart was not sent because the pod is no longer the one planned (said on stderr).
pub async fn send(ctx: &Ctx, change: &Change) -> Result<Option<Value>> {
    use kube::api::{
        DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy,
    };
    let dry_run = ctx.settings.dry_run;
    let object = change.object();
    let api = object.api(&ctx.client);
    let result = match change {
        Change::Patch { patch, .. } => {
            let params = PatchParams {
                dry_run,
                field_manager: Some(FIELD_MANAGER.into()),
                ..Default::default()
            };
            let obj = api
                .patch(&object.name, &params, &Patch::Merge(patch))
                .await
                .map_err(Error::kube(format!("patch {}", object.display())))?;
            serde_json::to_value(obj).unwrap_or_default()
        }
        Change::Create { body, .. } => {
            let params = PostParams {
                dry_run,
                field_manager: Some(FIELD_MANAGER.into()),
            };
            let body: kube::api::DynamicObject =
                serde_json::from_value(body.clone()).map_err(|e| {
                    Error::usage(
                        format!(
                            "internal: the body to create {} is not an object: {e}",
                            object.display()
                        ),
                        None,
                    )
                })?;
            let obj = api
                .create(&params, &body)
                .await
                .map_err(Error::kube(format!("create {}", object.display())))?;
            serde_json::to_value(obj).unwrap_or_default()
        }
        Change::DeleteOrphan {
            uid,
            resource_version,
            ..
        } => {
            let params = DeleteParams {
                dry_run,
                propagation_policy: Some(PropagationPolicy::Orphan),
                preconditions: Some(Preconditions {
                    uid: Some(uid.clone()).filter(|u| !u.is_empty()),
                    resource_version: Some(resource_version.clone()).filter(|r| !r.is_empty()),
                }),
                ..Default::default()
            };
            api.delete(&object.name, &params)
                .await
                .map_err(Error::kube(format!("delete {}", object.display())))?;
            Value::Null
        }
        Change::RestartPod {
            uid, controller, ..
        } => {
            // Read again right before the delete: the same pod (uid) under the same controller, or nothing is sent.
            let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(
                ctx.client.clone(),
                object.namespace.as_deref().unwrap_or_default(),
            );
            let now = pods
                .get_opt(&object.name)
                .await
                .map_err(Error::kube(format!("get {}", object.display())))?;
            let still_ours = now.as_ref().is_some_and(|p| {
                p.metadata.uid.as_deref() == Some(uid.as_str())
                    && crate::resize::gather::controller_of(p).as_ref() == Some(controller)
            });
            if !still_ours {
                ctx.printer.info(&format!(
                    "not restarting {}: it is gone, replaced or no longer owned by {} {}",
                    object.display(),
                    controller.kind,
                    controller.name
                ));
                return Ok(None);
            }
            let params = DeleteParams {
                dry_run,
                preconditions: Some(Preconditions {
                    uid: Some(uid.clone()),
                    resource_version: None,
                }),
                ..Default::default()
            };
            api.delete(&object.name, &params)
                .await
                .map_err(Error::kube(format!(
                    "restart (delete) {}",
                    object.display()
                )))?;
            Value::Null
        }
    };
    Ok(Some(result))
}
