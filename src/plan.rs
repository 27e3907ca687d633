//! Plans: every change to the cluster as a typed step (a JSON merge patch preconditioned on resourceVersion, a
//! StatefulSet delete with orphan propagation, a pod restart), rendered as a diff, gated by confirmation, sent with
//! `dryRun=All` under `--dry-run`, and applied.
//!
//! Public API, for every mutating verb:
//! - build steps purely: [`Step::patch`] (before/after typed objects → merge patch + diff), [`Step::patch_values`],
//!   [`Step::delete_orphan`], [`Step::restart_pod`]; collect them in a [`Plan`] with notes (e.g. Helm values to change);
//! - [`render`] (human text with a unified diff per patch) — `Plan` is also `Serialize` for `-o json`;
//! - [`confirm`]: shows the plan on stderr, then `--dry-run`/`--yes`/prompt/refusal;
//! - [`apply`]: sends each step in order and returns what the API server answered;
//! - [`apply_replanning`]: [`apply`], and on 409 Conflict read again, plan again, and go on as [`after_conflict`] says.

use crate::context::Ctx;
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// Field manager recorded on every change we send.
pub const FIELD_MANAGER: &str = "kubectl-prom";

/// Which object a step touches (enough to build a dynamic API for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// The reference of a typed k8s-openapi object.
    pub fn of<K>(obj: &K) -> Self
    where
        K: kube::Resource<DynamicType = ()>,
    {
        ObjectRef {
            group: K::group(&()).into_owned(),
            version: K::version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            plural: K::plural(&()).into_owned(),
            namespace: obj.meta().namespace.clone(),
            name: obj.meta().name.clone().unwrap_or_default(),
        }
    }

    /// An operator `Prometheus` resource.
    pub fn prometheus(namespace: &str, name: &str) -> Self {
        ObjectRef {
            group: crate::discover::OPERATOR_GROUP.into(),
            version: crate::discover::OPERATOR_VERSION.into(),
            kind: "Prometheus".into(),
            plural: crate::discover::OPERATOR_PLURAL.into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// `deployment monitoring/prometheus-server`, `storageclass gp2`.
    pub fn display(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        match &self.namespace {
            Some(ns) => format!("{kind} {ns}/{}", self.name),
            None => format!("{kind} {}", self.name),
        }
    }

    fn api(&self, client: &kube::Client) -> kube::Api<kube::api::DynamicObject> {
        let gvk = kube::api::GroupVersionKind::gvk(&self.group, &self.version, &self.kind);
        let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, &self.plural);
        match &self.namespace {
            Some(ns) => kube::Api::namespaced_with(client.clone(), ns, &ar),
            None => kube::Api::all_with(client.clone(), &ar),
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type"
)]
pub enum Change {
    /// A JSON merge patch (RFC 7386) that carries `metadata.resourceVersion`, so the API server answers 409 Conflict
    /// if the object changed since we read it (Kubernetes API concepts, "resource versions": optimistic concurrency).
    Patch {
        object: ObjectRef,
        resource_version: String,
        patch: Value,
        #[serde(skip)]
        before: Value,
        #[serde(skip)]
        after: Value,
    },
    /// Delete with `propagationPolicy: Orphan` (its pods and PVCs stay), preconditioned on uid and resourceVersion.
    DeleteOrphan {
        object: ObjectRef,
        uid: String,
        resource_version: String,
    },
    /// Delete a pod so its controller recreates it; preconditioned on uid. Confirmed on its own.
    RestartPod { object: ObjectRef, uid: String },
}

impl Change {
    pub fn object(&self) -> &ObjectRef {
        match self {
            Change::Patch { object, .. }
            | Change::DeleteOrphan { object, .. }
            | Change::RestartPod { object, .. } => object,
        }
    }
}

/// A change and why it is needed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub reason: String,
    #[serde(flatten)]
    pub change: Change,
}

impl Step {
    /// A merge patch turning `before` into `after` (both as read/modified typed objects). `before` must carry its
    /// resourceVersion (it was read from the API). Returns `None` when nothing differs.
    pub fn patch<K>(before: &K, after: &K, reason: impl Into<String>) -> Result<Option<Step>>
    where
        K: kube::Resource<DynamicType = ()> + Serialize,
    {
        let to_value = |o: &K| {
            serde_json::to_value(o).map_err(|e| {
                Error::usage(
                    format!("cannot serialise {}: {e}", ObjectRef::of(before).display()),
                    None,
                )
            })
        };
        Step::patch_values(
            ObjectRef::of(before),
            to_value(before)?,
            to_value(after)?,
            reason,
        )
    }

    /// Like [`Step::patch`] for objects held as JSON (custom resources).
    pub fn patch_values(
        object: ObjectRef,
        before: Value,
        after: Value,
        reason: impl Into<String>,
    ) -> Result<Option<Step>> {
        let resource_version = before
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .filter(|rv| !rv.is_empty())
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "internal: {} has no resourceVersion; plans need objects read from the API",
                        object.display()
                    ),
                    None,
                )
            })?
            .to_string();
        let mut patch = merge_patch(&before, &after);
        if patch.as_object().is_none_or(Map::is_empty) {
            return Ok(None);
        }
        let meta = patch
            .as_object_mut()
            .expect("non-empty object")
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(
                "resourceVersion".into(),
                Value::String(resource_version.clone()),
            );
        }
        Ok(Some(Step {
            reason: reason.into(),
            change: Change::Patch {
                object,
                resource_version,
                patch,
                before,
                after,
            },
        }))
    }

    /// Delete a StatefulSet (or any object) leaving its dependents in place.
    pub fn delete_orphan<K>(obj: &K, reason: impl Into<String>) -> Step
    where
        K: kube::Resource<DynamicType = ()>,
    {
        Step {
            reason: reason.into(),
            change: Change::DeleteOrphan {
                object: ObjectRef::of(obj),
                uid: obj.meta().uid.clone().unwrap_or_default(),
                resource_version: obj.meta().resource_version.clone().unwrap_or_default(),
            },
        }
    }

    /// Restart a pod by deleting it (its controller recreates it).
    pub fn restart_pod(pod: &k8s_openapi::api::core::v1::Pod, reason: impl Into<String>) -> Step {
        Step {
            reason: reason.into(),
            change: Change::RestartPod {
                object: ObjectRef::of(pod),
                uid: pod.metadata.uid.clone().unwrap_or_default(),
            },
        }
    }
}

/// An ordered list of changes, with notes the user should act on outside the cluster (Helm values, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// One line: what the plan achieves.
    pub summary: String,
    pub steps: Vec<Step>,
    pub notes: Vec<String>,
}

impl Plan {
    pub fn new(summary: impl Into<String>) -> Self {
        Plan {
            summary: summary.into(),
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether every step of `again` (planned again from fresh reads) is a step of this plan: the same change to the
    /// same object, resourceVersions aside. Steps already applied simply drop out of `again`, so a plan half-applied
    /// before a conflict still asks for nothing new.
    pub fn asks_nothing_new(&self, again: &Plan) -> bool {
        let known: Vec<Change> = self
            .steps
            .iter()
            .map(|s| s.change.without_version())
            .collect();
        again
            .steps
            .iter()
            .all(|s| known.contains(&s.change.without_version()))
    }
}

impl Change {
    /// The change with its resourceVersion precondition blanked: what it asks for, not when it was read.
    fn without_version(&self) -> Change {
        let mut change = self.clone();
        match &mut change {
            Change::Patch {
                resource_version,
                patch,
                before,
                after,
                ..
            } => {
                resource_version.clear();
                for v in [patch, before, after] {
                    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                        meta.remove("resourceVersion");
                        meta.remove("generation");
                        meta.remove("managedFields");
                    }
                }
                // Only what the patch asks for matters; the objects around it changed by definition.
                *before = Value::Null;
                *after = Value::Null;
            }
            Change::DeleteOrphan {
                resource_version, ..
            } => resource_version.clear(),
            Change::RestartPod { .. } => {}
        }
        change
    }
}

/// What to do with a plan made again from fresh reads after a 409 Conflict (issue 9: "a 409 re-reads, re-plans, and
/// shows the new plan again, or, with `--yes`, re-applies only if the plan is unchanged").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterConflict {
    /// The new plan asks for nothing the user has not confirmed: send it without asking again.
    Apply,
    /// It differs: show it and pass the gate again ([`confirm`]: a terminal asks, `--dry-run` goes on, no terminal
    /// refuses).
    Confirm,
    /// It differs and `--yes` confirmed the old plan, not this one: show it and stop.
    Stop,
}

/// The policy for a re-plan (pure).
pub fn after_conflict(
    settings: &crate::context::Settings,
    asks_nothing_new: bool,
) -> AfterConflict {
    if asks_nothing_new {
        AfterConflict::Apply
    } else if settings.assume_yes && !settings.dry_run {
        AfterConflict::Stop
    } else {
        AfterConflict::Confirm
    }
}

/// How many times a plan is made again after conflicts before giving up (a 409 storm is someone else's loop).
pub const MAX_REPLANS: usize = 3;

// ------------------------------------------------------------------------------------------------------------------
// Merge patches (pure)

/// The RFC 7386 merge patch that turns `before` into `after`: changed keys set, removed keys `null`, arrays replaced
/// whole. Server-managed noise (`metadata.managedFields`, `status`) is never part of it.
pub fn merge_patch(before: &Value, after: &Value) -> Value {
    fn diff(before: &Value, after: &Value, top: bool) -> Option<Value> {
        match (before, after) {
            (Value::Object(b), Value::Object(a)) => {
                let mut out = Map::new();
                for (k, av) in a {
                    if top && k == "status" {
                        continue;
                    }
                    match b.get(k) {
                        Some(bv) if bv == av => {}
                        Some(bv) => {
                            if let Some(d) = diff(bv, av, false) {
                                out.insert(k.clone(), d);
                            }
                        }
                        None => {
                            out.insert(k.clone(), av.clone());
                        }
                    }
                }
                for k in b.keys() {
                    if !(a.contains_key(k) || top && k == "status") {
                        out.insert(k.clone(), Value::Null);
                    }
                }
                if let Some(Value::Object(meta)) = out.get_mut("metadata") {
                    meta.remove("managedFields");
                    meta.remove("resourceVersion");
                    if meta.is_empty() {
                        out.remove("metadata");
                    }
                }
                (!out.is_empty()).then_some(Value::Object(out))
            }
            _ if before == after => None,
            _ => Some(after.clone()),
        }
    }
    diff(before, after, true).unwrap_or_else(|| Value::Object(Map::new()))
}

/// Apply an RFC 7386 merge patch locally (what the API server will do), for previews and tests.
pub fn apply_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("made an object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            apply_merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Rendering (pure)

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
    /// `@@` separator between hunks.
    Gap,
}

/// A line diff (LCS) with `context` unchanged lines around each change.
pub fn line_diff(before: &str, after: &str, context: usize) -> Vec<DiffLine> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut full = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            full.push(DiffLine::Same(a[i].to_string()));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            full.push(DiffLine::Removed(a[i].to_string()));
            i += 1;
        } else {
            full.push(DiffLine::Added(b[j].to_string()));
            j += 1;
        }
    }
    let changed: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(_, l)| !matches!(l, DiffLine::Same(_)))
        .map(|(i, _)| i)
        .collect();
    let keep = |idx: usize| {
        changed
            .iter()
            .any(|&c| idx + context >= c && idx <= c + context)
    };
    let mut out = Vec::new();
    let mut skipped = false;
    for (idx, line) in full.into_iter().enumerate() {
        if keep(idx) {
            if skipped && !out.is_empty() {
                out.push(DiffLine::Gap);
            }
            skipped = false;
            out.push(line);
        } else {
            skipped = true;
        }
    }
    out
}

/// YAML of an object without the fields nobody edits (managedFields, status), for diffs.
fn diffable_yaml(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
        if let Some(Value::Object(meta)) = o.get_mut("metadata") {
            meta.remove("managedFields");
        }
    }
    crate::yaml::to_string(&v)
}

/// The plan as text: summary, then per step its reason, the object, and a diff (or what will be deleted), then notes.
/// `paint(text, ansi)` colours diff lines (pass the Printer's, or identity).
pub fn render(plan: &Plan, paint: &dyn Fn(&str, &str) -> String) -> String {
    render_with(plan, paint, true)
}

/// Like [`render`]; `full_patch` false replaces each patch body by a one-line note (the diff already shows it;
/// `confirm` prints bodies only with `-v`).
pub fn render_with(plan: &Plan, paint: &dyn Fn(&str, &str) -> String, full_patch: bool) -> String {
    let mut out = format!("Plan: {}\n", plan.summary);
    for (n, step) in plan.steps.iter().enumerate() {
        let object = step.change.object().display();
        match &step.change {
            Change::Patch { before, after, patch, resource_version, .. } => {
                out.push_str(&format!("\n{}. patch {object}: {}\n", n + 1, step.reason));
                for line in line_diff(&diffable_yaml(before), &diffable_yaml(after), 3) {
                    let text = match line {
                        DiffLine::Same(l) => format!("   {l}"),
                        DiffLine::Removed(l) => paint(&format!(" - {l}"), "31"),
                        DiffLine::Added(l) => paint(&format!(" + {l}"), "32"),
                        DiffLine::Gap => paint("   @@", "36"),
                    };
                    out.push_str(&text);
                    out.push('\n');
                }
                if full_patch {
                    out.push_str(&format!(
                        "   (sent as a JSON merge patch, refused if the object changed since it was read: {})\n",
                        serde_json::to_string(patch).unwrap_or_default()
                    ));
                } else {
                    out.push_str(&format!(
                        "   (sent as a JSON merge patch preconditioned on resourceVersion {resource_version}, so a \
                         concurrent edit is refused; -v prints the body)\n"
                    ));
                }
            }
            Change::DeleteOrphan { .. } => out.push_str(&format!(
                "\n{}. delete {object} with propagationPolicy=Orphan (its pods and PVCs are kept): {}\n",
                n + 1,
                step.reason
            )),
            Change::RestartPod { .. } => out.push_str(&format!(
                "\n{}. restart {object} (delete it; its controller recreates it; asked separately): {}\n",
                n + 1,
                step.reason
            )),
        }
    }
    for note in &plan.notes {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    out
}

// ------------------------------------------------------------------------------------------------------------------
// Gate and apply (I/O)

/// Show the plan on stderr and decide: `--dry-run` goes ahead (every request carries dryRun=All); `--yes` goes ahead;
/// a terminal asks (default no); otherwise refuse. Pod restarts are asked one by one on a terminal.
pub fn confirm(ctx: &Ctx, plan: &Plan) -> Result<()> {
    let p = &ctx.printer;
    p.info(&render_with(
        plan,
        &|t, c| p.paint(t, c),
        ctx.settings.verbose > 0,
    ));
    let s = &ctx.settings;
    if s.dry_run {
        p.info("dry run: the changes are sent with dryRun=All; nothing is changed");
        return Ok(());
    }
    if s.assume_yes {
        return Ok(());
    }
    if !s.interactive {
        return Err(Error::Declined {
            message: format!(
                "refusing to change the cluster without confirmation ({}); there is no terminal to ask on",
                plan.summary
            ),
        });
    }
    if !ask_to_change(
        ctx,
        &format!("Apply this plan ({} change(s))?", plan.steps.len()),
    )? {
        return Err(Error::Declined {
            message: "plan not confirmed; nothing was changed".into(),
        });
    }
    for step in &plan.steps {
        if let Change::RestartPod { object, .. } = &step.change
            && !ask_to_change(
                ctx,
                &format!(
                    "Restart (delete) pod {}/{}?",
                    object.namespace.as_deref().unwrap_or(""),
                    object.name
                ),
            )?
        {
            return Err(Error::Declined {
                message: format!(
                    "restart of pod {} not confirmed; nothing was changed",
                    object.name
                ),
            });
        }
    }
    Ok(())
}

/// The one confirm policy for every question before a change, in every verb: `--yes` says yes; without a terminal
/// there is no one to ask, so it refuses; under `-q` the plan the question is about was not shown, so it refuses too
/// (never ask about what the user could not see); otherwise the question is asked on the terminal (default no),
/// after throwing away whatever was typed before it appeared (`crate::ui::ask`).
pub fn ask_to_change(ctx: &Ctx, question: &str) -> Result<bool> {
    let s = &ctx.settings;
    if s.assume_yes {
        return Ok(true);
    }
    if !s.interactive {
        return Err(Error::Declined {
            message: format!(
                "refusing to change the cluster without confirmation: there is no terminal to ask \"{question}\" on; re-run with --yes (or --dry-run to only see the plan)"
            ),
        });
    }
    if ctx.printer.quiet {
        return Err(Error::Declined {
            message: format!(
                "refusing to ask \"{question}\" under -q: the plan it is about was not shown; re-run without -q to see and confirm it, or with --yes"
            ),
        });
    }
    crate::ui::ask(question)
}

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

/// The refusal of [`AfterConflict::Stop`]: `err` is the conflict, `applied` what went out before it (a sentence
/// ending in "; ", or empty).
pub fn changed_plan_refused(err: &Error, applied: &str) -> Error {
    Error::Declined {
        message: format!(
            "the objects changed while the plan was applied ({err}), and the plan made again from what they are now \
             (above) differs from the one --yes confirmed; {applied}nothing more was changed — re-run the command to \
             review the new plan"
        ),
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
    use kube::api::{DeleteParams, Patch, PatchParams, Preconditions, PropagationPolicy};
    let dry_run = ctx.settings.dry_run;
    for step in &plan.steps {
        let object = step.change.object().clone();
        let api = object.api(&ctx.client);
        let result = match &step.change {
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
            Change::RestartPod { uid, .. } => {
                let params = DeleteParams {
                    dry_run,
                    preconditions: Some(Preconditions {
                        uid: Some(uid.clone()).filter(|u| !u.is_empty()),
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
        let verb = match &step.change {
            Change::Patch { .. } => "patched",
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

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    fn deployment() -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "prometheus-server", "namespace": "monitoring", "resourceVersion": "42",
                         "managedFields": [{"manager": "helm"}]},
            "spec": {"selector": {"matchLabels": {"app": "p"}},
                     "template": {"metadata": {"labels": {"app": "p"}},
                                  "spec": {"containers": [{"name": "prometheus-server", "image": "prom/prometheus",
                                                           "args": ["--config.file=/etc/config/prometheus.yml", "--storage.tsdb.path=/data"]}]}}},
            "status": {"replicas": 1}
        }))
        .unwrap()
    }

    /// The fixture with `--web.enable-lifecycle` appended to its container's args.
    fn with_lifecycle_flag(before: &Deployment) -> Deployment {
        let mut after = before.clone();
        let spec = after
            .spec
            .as_mut()
            .and_then(|s| s.template.spec.as_mut())
            .unwrap();
        spec.containers[0]
            .args
            .get_or_insert_with(Vec::new)
            .push("--web.enable-lifecycle".into());
        after
    }

    fn settings(assume_yes: bool, dry_run: bool, interactive: bool) -> crate::context::Settings {
        crate::context::Settings {
            scope: crate::context::Scope::Namespace("monitoring".into()),
            output: Default::default(),
            assume_yes,
            dry_run,
            interactive,
            verbose: 0,
            impersonation: None,
        }
    }

    fn lifecycle_plan(before: &Deployment, after: &Deployment) -> Plan {
        let mut plan = Plan::new("enable the lifecycle API");
        plan.steps
            .extend(Step::patch(before, after, "reload needs it").unwrap());
        plan
    }

    #[test]
    fn a_plan_made_again_asks_nothing_new_when_only_versions_moved_or_steps_are_done() {
        let before = deployment();
        let first = lifecycle_plan(&before, &with_lifecycle_flag(&before));
        // Someone touched the object (new resourceVersion, a label): the patch we send is the same.
        let mut touched = before.clone();
        touched.metadata.resource_version = Some("57".into());
        touched
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("team".into(), "sre".into());
        let again = lifecycle_plan(&touched, &with_lifecycle_flag(&touched));
        assert_ne!(first, again, "the resourceVersion differs");
        assert!(first.asks_nothing_new(&again));
        // The step was applied before the conflict (or by someone else): nothing left to send.
        assert!(first.asks_nothing_new(&Plan::new("enable the lifecycle API")));
        // Someone added an argument: our merge patch replaces the whole containers list, so it now carries
        // theirs too. That is a different change and must be confirmed again.
        let mut edited = touched.clone();
        edited
            .spec
            .as_mut()
            .unwrap()
            .template
            .spec
            .as_mut()
            .unwrap()
            .containers[0]
            .args
            .as_mut()
            .unwrap()
            .push("--query.timeout=1m".into());
        let changed = lifecycle_plan(&edited, &with_lifecycle_flag(&edited));
        assert!(!first.asks_nothing_new(&changed));
    }

    #[test]
    fn after_a_conflict_a_changed_plan_is_confirmed_again_and_never_applied_under_yes() {
        use AfterConflict::*;
        for (yes, dry_run, tty) in [
            (true, false, false),
            (false, false, true),
            (false, true, false),
        ] {
            assert_eq!(after_conflict(&settings(yes, dry_run, tty), true), Apply);
        }
        assert_eq!(after_conflict(&settings(true, false, true), false), Stop);
        assert_eq!(after_conflict(&settings(true, false, false), false), Stop);
        // On a terminal it is asked again; without one, the gate refuses it; a dry run shows it and goes on.
        assert_eq!(
            after_conflict(&settings(false, false, true), false),
            Confirm
        );
        assert_eq!(
            after_conflict(&settings(false, false, false), false),
            Confirm
        );
        assert_eq!(after_conflict(&settings(true, true, false), false), Confirm);
    }

    #[test]
    fn patch_step_carries_the_resource_version_and_only_the_change() {
        let before = deployment();
        let after = with_lifecycle_flag(&before);
        let step = Step::patch(&before, &after, "turn the lifecycle API on")
            .unwrap()
            .expect("a change");
        let Change::Patch {
            patch,
            resource_version,
            object,
            ..
        } = &step.change
        else {
            panic!("not a patch")
        };
        assert_eq!(resource_version, "42");
        assert_eq!(object.display(), "deployment monitoring/prometheus-server");
        assert_eq!(object.group, "apps");
        assert_eq!(patch["metadata"], json!({"resourceVersion": "42"}));
        // Lists are replaced whole by a merge patch: the full containers list is sent.
        assert_eq!(
            patch["spec"]["template"]["spec"]["containers"][0]["args"][2],
            json!("--web.enable-lifecycle")
        );
        assert!(patch.get("status").is_none());
        // Applying the patch to the old object gives the new one.
        let mut applied = serde_json::to_value(&before).unwrap();
        apply_merge_patch(&mut applied, patch);
        assert_eq!(
            applied["spec"],
            serde_json::to_value(&after).unwrap()["spec"]
        );
        // No change, no step.
        assert!(
            Step::patch(&before, &before.clone(), "nothing")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn objects_without_resource_version_are_refused() {
        let mut before = deployment();
        before.metadata.resource_version = None;
        assert!(Step::patch(&before, &before.clone(), "x").is_err());
    }

    #[test]
    fn merge_patch_nulls_removed_keys() {
        let p = merge_patch(
            &json!({"a": 1, "b": {"c": 2, "d": 3}}),
            &json!({"a": 1, "b": {"c": 2}}),
        );
        assert_eq!(p, json!({"b": {"d": null}}));
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}});
        apply_merge_patch(&mut t, &p);
        assert_eq!(t, json!({"a": 1, "b": {"c": 2}}));
    }

    #[test]
    fn diff_shows_changed_lines_with_context_and_gaps() {
        let before = (1..=20)
            .map(|i| format!("line{i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let after = before
            .replace("line3", "line3-new")
            .replace("line18", "line18-new");
        let d = line_diff(&before, &after, 1);
        assert_eq!(
            d,
            vec![
                DiffLine::Same("line2".into()),
                DiffLine::Removed("line3".into()),
                DiffLine::Added("line3-new".into()),
                DiffLine::Same("line4".into()),
                DiffLine::Gap,
                DiffLine::Same("line17".into()),
                DiffLine::Removed("line18".into()),
                DiffLine::Added("line18-new".into()),
                DiffLine::Same("line19".into()),
            ]
        );
    }

    #[test]
    fn render_shows_reason_diff_patch_and_notes() {
        let before = deployment();
        let after = with_lifecycle_flag(&before);
        let mut plan = Plan::new("enable the lifecycle API on monitoring/prometheus-server");
        plan.steps.push(
            Step::patch(&before, &after, "POST /-/reload answers 403")
                .unwrap()
                .unwrap(),
        );
        plan.notes.push(
            "also set server.extraFlags to keep web.enable-lifecycle in your Helm values".into(),
        );
        let text = render(&plan, &|t, _| t.to_string());
        assert!(text.starts_with("Plan: enable the lifecycle API"), "{text}");
        assert!(
            text.contains(
                "1. patch deployment monitoring/prometheus-server: POST /-/reload answers 403"
            ),
            "{text}"
        );
        assert!(text.contains(" + "), "{text}");
        assert!(text.contains("- --web.enable-lifecycle"), "{text}");
        assert!(!text.contains("managedFields"), "{text}");
        assert!(text.contains(r#""resourceVersion":"42""#), "{text}");
        assert!(text.contains("note: also set server.extraFlags"), "{text}");
        let compact = render_with(&plan, &|t, _| t.to_string(), false);
        assert!(
            compact.contains("preconditioned on resourceVersion 42"),
            "{compact}"
        );
        assert!(!compact.contains(r#""resourceVersion":"42""#), "{compact}");
        assert!(
            compact.contains("- --web.enable-lifecycle"),
            "the diff stays: {compact}"
        );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["steps"][0]["type"], "patch");
        assert_eq!(json["steps"][0]["resourceVersion"], "42");
    }
}
