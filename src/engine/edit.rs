//! A change stated as an edit of an object rather than as a patch computed from one read. The engine turns it into
//! a preconditioned merge patch of the object as read ([`Step::edited`]), and when the API server answers 409
//! Conflict it reads the object again and applies the same edit to what it finds ([`apply_edit`]): a list item added
//! or removed by its name, fields set. A concurrent edit is kept and ours lands on top of it; the one 409 policy
//! ([`super::Conflicts`]) decides whether the new patch must be asked again. fix-perms' edits (init containers by
//! name, securityContext fields) are sent this way; a verb whose re-plan needs more than its object re-read (resize's
//! phases) uses [`super::apply_replanning`] with its own re-plan.

use super::{Applied, ObjectRef, Plan, Step, apply_replanning};
use crate::context::Ctx;
use crate::error::Result;
use serde_json::Value;

impl Step {
    /// The patch turning `before` (an object read from the API, with its resourceVersion) into `before` with `edit`
    /// applied; `None` when the edit changes nothing.
    pub fn edited(
        object: &ObjectRef,
        before: &Value,
        edit: impl Fn(&mut Value),
        reason: impl Into<String>,
    ) -> Result<Option<Step>> {
        let mut after = before.clone();
        edit(&mut after);
        Step::patch_values(object.clone(), before.clone(), after, reason)
    }
}

/// Send `edit` of `object` (as read: `before`) as one plan titled `summary`, already shown and confirmed by the
/// caller; after a 409 the object is read again and the same edit applied to it. `Ok(None)` when the edit changes
/// nothing (the object already is as the edit makes it).
pub async fn apply_edit(
    ctx: &Ctx,
    summary: &str,
    object: &ObjectRef,
    before: &Value,
    reason: &str,
    edit: impl Fn(&mut Value),
) -> Result<Option<Vec<Applied>>> {
    let Some(first) = Step::edited(object, before, &edit, reason)? else {
        return Ok(None);
    };
    let mut plan = Plan::new(summary.to_string());
    plan.steps.push(first);
    let edit = &edit;
    let applied = apply_replanning(ctx, plan, move || async move {
        let fresh = object.get(&ctx.client).await?;
        let mut again = Plan::new(summary.to_string());
        again
            .steps
            .extend(Step::edited(object, &fresh, edit, reason)?);
        Ok(again)
    })
    .await?;
    Ok(Some(applied))
}

/// The re-apply after a 409, against the mocked API server of `apply`'s tests: the object is read again and the
/// same edit (an init container removed by name) sent on the fresh resourceVersion, keeping the concurrent edit.
#[cfg(test)]
mod tests {
    use super::super::apply::tests::{conflict, ctx as test_ctx, mock_client, ok};
    use super::*;
    use serde_json::json;

    fn deployment(resource_version: &str, label: &str, init: &[&str]) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "prometheus", "namespace": "monitoring", "resourceVersion": resource_version,
                         "labels": {"team": label}},
            "spec": {"template": {"spec": {
                "initContainers": init.iter().map(|n| json!({"name": n, "image": "busybox"})).collect::<Vec<_>>(),
                "containers": [{"name": "prometheus"}]}}}
        })
    }

    fn without(name: &'static str) -> impl Fn(&mut Value) {
        move |object| {
            if let Some(list) = object
                .pointer_mut("/spec/template/spec/initContainers")
                .and_then(Value::as_array_mut)
            {
                list.retain(|c| c["name"] != name);
            }
        }
    }

    fn target() -> ObjectRef {
        ObjectRef {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            plural: "deployments".into(),
            namespace: Some("monitoring".into()),
            name: "prometheus".into(),
        }
    }

    #[tokio::test]
    async fn after_a_conflict_the_same_edit_is_applied_to_the_object_read_again() {
        let before = deployment("42", "a", &["init-chmod", "warmup"]);
        // Someone relabelled it meanwhile: our edit still removes `init-chmod` by name, on their version.
        let fresh = deployment("57", "b", &["init-chmod", "warmup"]);
        let mut done = fresh.clone();
        without("init-chmod")(&mut done);
        let (client, seen) = mock_client(vec![conflict(), ok(&fresh), ok(&done)]);
        let ctx = test_ctx(client, true, false, false);
        let applied = apply_edit(
            &ctx,
            "fix",
            &target(),
            &before,
            "why",
            without("init-chmod"),
        )
        .await
        .expect("applied after reading it again");
        assert_eq!(applied.map(|a| a.len()), Some(1));
        let seen = seen.lock().unwrap().clone();
        let methods: Vec<&str> = seen.iter().map(|s| s.method.as_str()).collect();
        assert_eq!(methods, ["PATCH", "GET", "PATCH"], "{seen:#?}");
        assert_eq!(seen[0].body["metadata"]["resourceVersion"], "42");
        assert_eq!(seen[2].body["metadata"]["resourceVersion"], "57");
        assert_eq!(
            seen[2].body["spec"]["template"]["spec"]["initContainers"],
            json!([{"name": "warmup", "image": "busybox"}])
        );
        // Their label is not ours to send back.
        assert!(
            seen[2].body["metadata"].get("labels").is_none(),
            "{seen:#?}"
        );
    }

    #[tokio::test]
    async fn an_edit_someone_else_already_made_sends_nothing_more() {
        let before = deployment("42", "a", &["init-chmod"]);
        let fresh = deployment("57", "a", &[]);
        let (client, seen) = mock_client(vec![conflict(), ok(&fresh)]);
        let ctx = test_ctx(client, true, false, false);
        apply_edit(
            &ctx,
            "fix",
            &target(),
            &before,
            "why",
            without("init-chmod"),
        )
        .await
        .expect("nothing left to do is fine");
        assert_eq!(seen.lock().unwrap().len(), 2);
        // An edit that changes nothing is no plan at all.
        let (client, seen) = mock_client(vec![]);
        let ctx = test_ctx(client, true, false, false);
        let sent = apply_edit(&ctx, "fix", &target(), &fresh, "why", without("init-chmod"))
            .await
            .unwrap();
        assert!(sent.is_none());
        assert!(seen.lock().unwrap().is_empty());
    }
}
