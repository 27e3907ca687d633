//! Sending a plan: each step in order with its precondition (and `dryRun=All` under `--dry-run`), recorded in the
//! interrupt journal; and the one 409 loop: read again, plan again, go on as the confirm policy says.

use super::confirm::{
    AfterConflict, MAX_REPLANS, after_conflict, changed_plan_refused, gate, show,
};
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
/// [`MAX_REPLANS`] times ([`Conflicts`]). Steps sent before the conflict stay applied (each was a whole,
/// preconditioned change) and drop out of the new plan; an empty new plan means someone else made the same change,
/// which is fine. The caller has shown and confirmed `plan` already.
pub async fn apply_replanning<F, Fut>(ctx: &Ctx, plan: Plan, mut replan: F) -> Result<Vec<Applied>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Plan>>,
{
    let mut plan = plan;
    let mut done = Vec::new();
    let mut conflicts = Conflicts::default();
    let mut ask = false;
    loop {
        let attempt = async {
            if ask {
                gate(ctx, &plan)?;
            }
            send_steps(ctx, &plan, &mut done).await
        };
        let err = match attempt.await {
            Ok(()) => return Ok(done),
            Err(err) => conflicts.admit(ctx, err)?,
        };
        let again = replan().await?;
        ask = conflicts.decide(ctx, &err, &plan, &again, &applied_so_far(&done))?;
        plan = again;
    }
}

/// A plan the one 409 policy ([`Conflicts`]) can compare and show again: the engine's [`Plan`], and a verb's own plan
/// until it is moved onto it (resize's phases).
pub trait Replan {
    /// Whether every change of `again` (planned from fresh reads) is one of this plan's, resourceVersions aside.
    fn asks_nothing_new(&self, again: &Self) -> bool;
    /// Show the plan (again) on stderr.
    fn show(&self, ctx: &Ctx);
}

impl Replan for Plan {
    fn asks_nothing_new(&self, again: &Self) -> bool {
        Plan::asks_nothing_new(self, again)
    }

    fn show(&self, ctx: &Ctx) {
        show(ctx, self);
    }
}

/// The one 409 policy of every verb, driven by the verb's send loop:
/// ```text
/// loop { match attempt(&plan, ask) { Ok(v) => break v, Err(e) => {
///     let e = conflicts.admit(ctx, e)?;            // not a 409, or too many: the error stands
///     let again = replan().await?;                 // read again, plan again
///     ask = conflicts.decide(ctx, &e, &plan, &again, applied)?;  // send as is, ask again, or stop
///     plan = again; } } }
/// ```
#[derive(Debug, Default)]
pub struct Conflicts {
    replans: usize,
}

impl Conflicts {
    /// A failed attempt: a 409 Conflict under [`MAX_REPLANS`] is admitted for a re-plan (said on stderr) and
    /// returned; anything else is the error of the run.
    pub fn admit(&mut self, ctx: &Ctx, err: Error) -> Result<Error> {
        if !err.is_conflict() || self.replans >= MAX_REPLANS {
            return Err(err);
        }
        self.replans += 1;
        ctx.printer.info(&format!(
            "{err}; reading the objects again and planning again"
        ));
        Ok(err)
    }

    /// What to do with the plan made again, as [`after_conflict`] says: `Ok(false)` send it without asking (it asks
    /// for nothing new), `Ok(true)` it was shown and must be asked again, `Err` it was shown and `--yes` does not
    /// cover it (`applied` says what went out before the conflict: a sentence ending in "; ", or empty).
    pub fn decide<P: Replan>(
        &self,
        ctx: &Ctx,
        err: &Error,
        plan: &P,
        again: &P,
        applied: &str,
    ) -> Result<bool> {
        match after_conflict(&ctx.settings, plan.asks_nothing_new(again)) {
            AfterConflict::Apply => Ok(false),
            AfterConflict::Confirm => {
                again.show(ctx);
                Ok(true)
            }
            AfterConflict::Stop => {
                again.show(ctx);
                Err(changed_plan_refused(err, applied))
            }
        }
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
                    && crate::model::controller_of(p).as_ref() == Some(controller)
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

/// The 409 path and the confirm policy, once, against a mocked API server: a `tower` service answering each request
/// from a script and recording it (what tower-test's `mock::pair` does in kube-rs' own tests, with the `tower` the
/// tree already has), behind a real `kube::Client`.
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::engine::tests::{
        deployment, lifecycle_plan, settings, touched, with_lifecycle_flag,
    };
    use crate::engine::{Step, ask_to_change, confirm, confirm_group};
    use http_body_util::BodyExt;
    use serde_json::json;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    /// One request as the API server saw it.
    #[derive(Debug, Clone)]
    pub(in crate::engine) struct Seen {
        pub method: String,
        pub uri: String,
        pub body: Value,
    }

    type Script = Arc<Mutex<VecDeque<(u16, Value)>>>;

    /// A client whose API server answers from `script` in order and records every request in the returned list.
    pub(in crate::engine) fn mock_client(
        answers: Vec<(u16, Value)>,
    ) -> (kube::Client, Arc<Mutex<Vec<Seen>>>) {
        let script: Script = Arc::new(Mutex::new(answers.into()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = seen.clone();
        let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
            let script = script.clone();
            let seen = seen.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                seen.lock().unwrap().push(Seen {
                    method: parts.method.to_string(),
                    uri: parts.uri.to_string(),
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                });
                let (status, answer) = script.lock().unwrap().pop_front().unwrap_or((
                    500,
                    json!({"kind": "Status", "code": 500, "message": "script ended"}),
                ));
                let response = http::Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(kube::client::Body::from(
                        serde_json::to_vec(&answer).unwrap(),
                    ))
                    .unwrap();
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        (kube::Client::new(service, "monitoring"), recorded)
    }

    pub(in crate::engine) fn ctx(
        client: kube::Client,
        assume_yes: bool,
        dry_run: bool,
        interactive: bool,
    ) -> Ctx {
        Ctx {
            client,
            settings: settings(assume_yes, dry_run, interactive),
            printer: crate::ui::Printer {
                quiet: true,
                verbose: 0,
                color: false,
                stderr_is_tty: false,
            },
            exec: Arc::new(crate::podexec::ScriptedExec::default()),
            requests: Default::default(),
        }
    }

    pub(in crate::engine) fn conflict() -> (u16, Value) {
        (
            409,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
                   "message": "Operation cannot be fulfilled on deployments.apps \"prometheus-server\": the object has been modified; please apply your changes to the latest version and try again"}),
        )
    }

    pub(in crate::engine) fn ok(object: &impl serde::Serialize) -> (u16, Value) {
        (200, serde_json::to_value(object).unwrap())
    }

    /// The lifecycle plan on the fixture, applied with re-plans that read `fresh` (what the object is after the
    /// conflict).
    async fn apply_lifecycle_replanning(
        ctx: &Ctx,
        fresh: &k8s_openapi::api::apps::v1::Deployment,
        replans: &mut usize,
    ) -> Result<Vec<Applied>> {
        let before = deployment();
        apply_replanning(
            ctx,
            lifecycle_plan(&before, &with_lifecycle_flag(&before)),
            || {
                *replans += 1;
                let plan = lifecycle_plan(fresh, &with_lifecycle_flag(fresh));
                async move { Ok(plan) }
            },
        )
        .await
    }

    #[tokio::test]
    async fn a_conflict_is_replanned_and_the_same_change_sent_again_with_the_new_version() {
        let fresh = touched(false);
        let (client, seen) = mock_client(vec![conflict(), ok(&with_lifecycle_flag(&fresh))]);
        let ctx = ctx(client, true, false, false);
        let mut replans = 0;
        let applied = apply_lifecycle_replanning(&ctx, &fresh, &mut replans)
            .await
            .expect("applied after one re-plan");
        assert_eq!(replans, 1);
        assert_eq!(applied.len(), 1);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:#?}");
        assert!(seen.iter().all(|s| s.method == "PATCH"), "{seen:#?}");
        assert!(
            seen[0]
                .uri
                .contains("/apis/apps/v1/namespaces/monitoring/deployments/prometheus-server")
        );
        assert!(
            seen[0].uri.contains("fieldManager=kubectl-prom"),
            "{}",
            seen[0].uri
        );
        // Each attempt carries the resourceVersion its plan was made from: the second one the fresh read's.
        assert_eq!(seen[0].body["metadata"]["resourceVersion"], "42");
        assert_eq!(seen[1].body["metadata"]["resourceVersion"], "57");
        assert_eq!(
            seen[1].body["spec"]["template"]["spec"]["containers"][0]["args"][2],
            "--web.enable-lifecycle"
        );
    }

    #[tokio::test]
    async fn under_yes_a_replanned_change_that_differs_is_shown_and_never_sent() {
        let mut replans = 0;
        let edited = touched(true);
        let (client, seen) = mock_client(vec![conflict()]);
        let ctx = ctx(client, true, false, false);
        let err = apply_lifecycle_replanning(&ctx, &edited, &mut replans)
            .await
            .expect_err("a different change was not confirmed");
        assert!(matches!(err, Error::Declined { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("differs from the one --yes confirmed"),
            "{err}"
        );
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "only the first, refused, patch went out"
        );
    }

    #[tokio::test]
    async fn without_a_terminal_a_replanned_change_that_differs_is_refused_by_the_gate() {
        let mut replans = 0;
        let edited = touched(true);
        let (client, seen) = mock_client(vec![conflict()]);
        // Neither --yes nor a terminal: the first plan was confirmed by the caller's gate (here: assumed), the new one
        // must pass the gate again, which refuses.
        let ctx = ctx(client, false, false, false);
        let err = apply_lifecycle_replanning(&ctx, &edited, &mut replans)
            .await
            .expect_err("refused");
        assert!(
            err.to_string().contains("there is no terminal to ask on"),
            "{err}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_conflict_storm_gives_up_after_the_bound_with_the_conflict() {
        let mut replans = 0;
        let fresh = touched(false);
        let (client, seen) = mock_client(vec![conflict(); MAX_REPLANS + 2]);
        let ctx = ctx(client, true, false, false);
        let err = apply_lifecycle_replanning(&ctx, &fresh, &mut replans)
            .await
            .expect_err("gives up");
        assert!(err.is_conflict(), "{err}");
        assert_eq!(seen.lock().unwrap().len(), MAX_REPLANS + 1);
    }

    #[tokio::test]
    async fn the_gate_refuses_without_a_terminal_and_under_quiet_and_a_dry_run_sends_dry_run_all() {
        let before = deployment();
        let plan = lifecycle_plan(&before, &with_lifecycle_flag(&before));
        // No terminal, no --yes: refused, nothing sent.
        let (client, seen) = mock_client(vec![]);
        let no_tty = ctx(client, false, false, false);
        let err = confirm(&no_tty, &plan).expect_err("refused");
        assert!(matches!(err, Error::Declined { .. }));
        assert!(seen.lock().unwrap().is_empty());
        // A terminal, but -q: the plan was not shown, so nothing is asked.
        let (client, _) = mock_client(vec![]);
        let quiet = ctx(client, false, false, true);
        let err = ask_to_change(&quiet, "Apply this plan?").expect_err("refused under -q");
        assert!(err.to_string().contains("under -q"), "{err}");
        // --dry-run: passes the gate, and every request carries dryRun=All.
        let (client, seen) = mock_client(vec![ok(&with_lifecycle_flag(&before))]);
        let dry = ctx(client, false, true, false);
        confirm(&dry, &plan).expect("a dry run goes on");
        let applied = apply(&dry, &plan).await.expect("sent");
        assert!(applied[0].dry_run);
        assert!(seen.lock().unwrap()[0].uri.contains("dryRun=All"));
        // A group of a plan is asked on its own by the same policy: not in a dry run, refused without a terminal.
        assert!(confirm_group(&dry, Some("Apply the claims?"), vec![], String::new()).unwrap());
        let err = confirm_group(&no_tty, Some("Apply the claims?"), vec![], String::new())
            .expect_err("refused");
        assert!(err.to_string().contains("no terminal to ask"), "{err}");
        // --yes: passes without asking.
        let (client, _) = mock_client(vec![]);
        confirm(&ctx(client, true, false, false), &plan).expect("--yes goes on");
        // A restart of a bare pod is never a step.
        let bare: k8s_openapi::api::core::v1::Pod = serde_json::from_value(
            json!({"metadata": {"name": "uploader", "namespace": "monitoring", "uid": "u1"}}),
        )
        .unwrap();
        assert!(Step::restart_pod(&bare, "x").is_none());
    }

    fn pod(uid: &str, owner: Option<(&str, &str)>) -> Value {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": "prometheus-server-0", "namespace": "monitoring", "uid": uid}});
        if let Some((kind, name)) = owner {
            pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": name,
                                                         "uid": "o1", "controller": true}]);
        }
        pod
    }

    fn restart_step() -> Step {
        let planned: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value(pod("u1", Some(("StatefulSet", "prometheus-server")))).unwrap();
        Step::restart_pod(&planned, "not Ready").expect("a StatefulSet recreates it")
    }

    #[tokio::test]
    async fn an_owned_pod_is_restarted_by_uid_and_a_replaced_or_adopted_one_is_left_alone() {
        // Still the planned pod under the planned controller: deleted, preconditioned on its uid.
        let (client, seen) = mock_client(vec![
            (200, pod("u1", Some(("StatefulSet", "prometheus-server")))),
            (200, json!({"kind": "Status", "status": "Success"})),
        ]);
        let yes = ctx(client, true, false, false);
        assert!(send(&yes, &restart_step().change).await.unwrap().is_some());
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:#?}");
        assert_eq!(
            (seen[0].method.as_str(), seen[1].method.as_str()),
            ("GET", "DELETE")
        );
        assert_eq!(seen[1].body["preconditions"]["uid"], "u1", "{seen:#?}");
        // Replaced (another uid), or the same pod now under another controller (or none): nothing is deleted.
        for now in [
            pod("u2", Some(("StatefulSet", "prometheus-server"))),
            pod("u1", Some(("ReplicaSet", "backup-7d9f"))),
            pod("u1", None),
        ] {
            let (client, seen) = mock_client(vec![(200, now)]);
            let yes = ctx(client, true, false, false);
            assert!(send(&yes, &restart_step().change).await.unwrap().is_none());
            let seen = seen.lock().unwrap().clone();
            assert!(seen.iter().all(|s| s.method == "GET"), "{seen:#?}");
        }
    }
}
