//! Pure pre-flight and planning for `resize`: from the one `InstanceSnapshot` and a size request to a typed plan per install
//! flavour, or a refusal that says why. No I/O here; every rule is unit-tested from fixtures below.

use super::model::{
    Claim, ClaimPod, Install, PodController, SizeRequest, StatefulSetRef, Usage, chart_release,
    claims_of, class, install_of,
};
use crate::error::{Error, Result};
use crate::inspect::snapshot::InstanceSnapshot;
use crate::quantity::Quantity;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde::Serialize;
use serde_json::json;

/// The admission plugin PersistentVolumeClaimResize's refusal, verbatim
/// (kubernetes: plugin/pkg/admission/storage/persistentvolume/resize/admission.go).
pub const NOT_EXPANDABLE_ADMISSION: &str = "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize";
/// The same plugin's refusal for a claim that is not bound.
pub const NOT_BOUND_ADMISSION: &str = "Only bound persistent volume claims can be expanded";
/// Provisioners of AWS EBS volumes (CSI and the old in-tree name).
const EBS_PROVISIONERS: [&str; 2] = ["ebs.csi.aws.com", "kubernetes.io/aws-ebs"];

/// What resize does, one action at a time in the order it is applied. Each action is sent as the engine's one
/// `Change` ([`Action::change`], `engine::send`); what an action adds to its change is what the engine's `Plan` cannot
/// hold yet (issue 17, left open): that a pause opens a stretch the unpause closes and an orphan delete one the
/// recreate (or the unpause) closes, held as the engine's `Section` (an interrupt waits inside it), with a repair
/// command and a compensating unpause whose bodies depend on whether the StatefulSet was already orphaned
/// (`apply::run_phase`, `apply::rollback`); that an orphan delete is followed until the object is
/// gone; that under `--dry-run` the create and the claim patches after a class change are not sent; and the one-line
/// diffs of changes whose objects are not read whole (the engine renders a diff from before/after objects).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Action {
    /// `allowVolumeExpansion: true` on a StorageClass: cluster-wide, confirmed on its own.
    #[serde(rename_all = "camelCase")]
    AllowExpansion {
        class: String,
        resource_version: String,
    },
    /// Pause the `Prometheus` resource and set its storage request in the same patch (operator docs, step 2).
    #[serde(rename_all = "camelCase")]
    PausePrometheus {
        name: String,
        resource_version: String,
        from: Option<String>,
        to: Quantity,
    },
    /// Raise one claim's `spec.resources.requests.storage`.
    #[serde(rename_all = "camelCase")]
    PatchClaim {
        name: String,
        resource_version: String,
        from: Quantity,
        to: Quantity,
    },
    /// Delete a StatefulSet with `propagationPolicy: Orphan`: its pods keep running.
    #[serde(rename_all = "camelCase")]
    OrphanDeleteStatefulSet(StatefulSetRef),
    /// Create the StatefulSet again with the larger claim template; it adopts the running pods.
    #[serde(rename_all = "camelCase")]
    RecreateStatefulSet {
        name: String,
        template: String,
        from: Option<String>,
        to: Quantity,
        #[serde(skip)]
        object: Box<StatefulSet>,
    },
    /// Unpause the `Prometheus` resource; the operator recreates its StatefulSet from the new storage request.
    #[serde(rename_all = "camelCase")]
    UnpausePrometheus { name: String },
}

pub use crate::access::AccessRequest;

impl Action {
    /// `verb kind/name`, the heading of the step in the plan.
    pub fn summary(&self) -> String {
        match self {
            Action::AllowExpansion { class, .. } => {
                format!(
                    "patch storageclass/{class} (cluster-wide: every claim of this class may then be expanded)"
                )
            }
            Action::PausePrometheus { name, .. } => {
                format!(
                    "patch prometheus/{name}: pause reconciliation and raise the storage request"
                )
            }
            Action::PatchClaim { name, .. } => format!("patch persistentvolumeclaim/{name}"),
            Action::OrphanDeleteStatefulSet(sts) => format!(
                "delete statefulset/{} --cascade=orphan (its pods keep running)",
                sts.name
            ),
            Action::RecreateStatefulSet { name, .. } => format!(
                "create statefulset/{name} with the larger claim template (it adopts the running pods)"
            ),
            Action::UnpausePrometheus { name } => format!(
                "patch prometheus/{name}: resume reconciliation (the operator recreates its StatefulSet)"
            ),
        }
    }

    /// The change as `-`/`+` lines.
    pub fn diff(&self) -> Vec<String> {
        let change = |path: &str, from: Option<String>, to: String| {
            let mut lines = Vec::new();
            if let Some(from) = from {
                lines.push(format!("- {path}: {from}"));
            }
            lines.push(format!("+ {path}: {to}"));
            lines
        };
        match self {
            Action::AllowExpansion { .. } => {
                change("allowVolumeExpansion", Some("false".into()), "true".into())
            }
            Action::PausePrometheus { from, to, .. } => {
                let mut lines = change("spec.paused", Some("false".into()), "true".into());
                lines.extend(change(
                    "spec.storage.volumeClaimTemplate.spec.resources.requests.storage",
                    from.clone(),
                    to.to_string(),
                ));
                lines
            }
            Action::PatchClaim { from, to, .. } => change(
                "spec.resources.requests.storage",
                Some(from.to_string()),
                to.to_string(),
            ),
            Action::OrphanDeleteStatefulSet(_) => vec!["- (the StatefulSet object only)".into()],
            Action::RecreateStatefulSet {
                template, from, to, ..
            } => change(
                &format!("spec.volumeClaimTemplates[{template}].spec.resources.requests.storage"),
                from.clone(),
                to.to_string(),
            ),
            Action::UnpausePrometheus { .. } => {
                change("spec.paused", Some("true".into()), "false".into())
            }
        }
    }

    /// The JSON merge patch this step sends (None for deletes and creates). A `metadata.resourceVersion` in a
    /// merge patch makes the apiserver reject it with 409 Conflict if the object changed since we read it.
    pub fn merge_patch(&self) -> Option<serde_json::Value> {
        match self {
            Action::AllowExpansion {
                resource_version, ..
            } => Some(json!({
                "metadata": {"resourceVersion": resource_version},
                "allowVolumeExpansion": true,
            })),
            Action::PausePrometheus {
                resource_version,
                to,
                ..
            } => Some(json!({
                "metadata": {"resourceVersion": resource_version},
                "spec": {
                    "paused": true,
                    "storage": {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": to.to_string()}}}}},
                },
            })),
            Action::PatchClaim {
                resource_version,
                to,
                ..
            } => Some(json!({
                "metadata": {"resourceVersion": resource_version},
                "spec": {"resources": {"requests": {"storage": to.to_string()}}},
            })),
            // Unpausing must happen even if someone touched the resource meanwhile: no precondition.
            Action::UnpausePrometheus { .. } => Some(json!({"spec": {"paused": false}})),
            Action::OrphanDeleteStatefulSet(_) | Action::RecreateStatefulSet { .. } => None,
        }
    }

    /// The action as the engine's change, sent by the one send path (`crate::engine::send`) and the source of its
    /// permissions (`crate::access::requests_for_changes`). Where a precondition is left out, it is on purpose: the
    /// unpause must apply whatever changed meanwhile (a resource left paused is worse than a concurrent edit kept),
    /// and the StatefulSet's orphan delete holds it by uid alone (its status moves its resourceVersion all the time).
    pub fn change(&self, namespace: &str) -> crate::engine::Change {
        use crate::engine::{Change, ObjectRef};
        let body = || self.merge_patch().unwrap_or_default();
        match self {
            Action::AllowExpansion {
                class,
                resource_version,
            } => Change::Patch {
                object: ObjectRef {
                    group: "storage.k8s.io".into(),
                    version: "v1".into(),
                    kind: "StorageClass".into(),
                    plural: "storageclasses".into(),
                    namespace: None,
                    name: class.clone(),
                },
                resource_version: Some(resource_version.clone()),
                patch: body(),
                before: serde_json::Value::Null,
                after: serde_json::Value::Null,
            },
            Action::PausePrometheus {
                name,
                resource_version,
                ..
            } => Change::Patch {
                object: ObjectRef::prometheus(namespace, name),
                resource_version: Some(resource_version.clone()),
                patch: body(),
                before: serde_json::Value::Null,
                after: serde_json::Value::Null,
            },
            Action::UnpausePrometheus { name } => Change::Patch {
                object: ObjectRef::prometheus(namespace, name),
                resource_version: None,
                patch: body(),
                before: serde_json::Value::Null,
                after: serde_json::Value::Null,
            },
            Action::PatchClaim {
                name,
                resource_version,
                ..
            } => Change::Patch {
                object: ObjectRef {
                    group: String::new(),
                    version: "v1".into(),
                    kind: "PersistentVolumeClaim".into(),
                    plural: "persistentvolumeclaims".into(),
                    namespace: Some(namespace.into()),
                    name: name.clone(),
                },
                resource_version: Some(resource_version.clone()),
                patch: body(),
                before: serde_json::Value::Null,
                after: serde_json::Value::Null,
            },
            Action::OrphanDeleteStatefulSet(sts) => Change::DeleteOrphan {
                object: statefulset_ref(namespace, &sts.name),
                uid: sts.uid.clone(),
                resource_version: String::new(),
            },
            Action::RecreateStatefulSet { name, object, .. } => Change::Create {
                object: statefulset_ref(namespace, name),
                body: serde_json::to_value(object.as_ref()).unwrap_or_default(),
            },
        }
    }
}

fn statefulset_ref(namespace: &str, name: &str) -> crate::engine::ObjectRef {
    crate::engine::ObjectRef {
        group: "apps".into(),
        version: "v1".into(),
        kind: "StatefulSet".into(),
        plural: "statefulsets".into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

/// Which confirmation a group of steps needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Cluster-wide StorageClass change (`--allow-expansion`), confirmed on its own before anything else.
    AllowExpansion,
    /// The resize itself.
    Resize,
    /// Orphan-delete and recreate a StatefulSet so its claim template matches (not the operator's: that is part
    /// of `Resize` there, as in the operator's documented procedure).
    RecreateStatefulSet,
}

/// One claim in the plan: where it is and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimPlan {
    pub name: String,
    pub storage_class: String,
    /// The class's `allowVolumeExpansion` as read; `None` when the user may not read the class (its `get` is then
    /// one of the permissions the plan needs).
    pub class_allows_expansion: Option<bool>,
    /// `status.capacity.storage`: the size the volume has now.
    pub capacity: Quantity,
    /// `spec.resources.requests.storage`.
    pub requested: Quantity,
    pub target: Quantity,
    pub usage: Option<Usage>,
    pub nearly_full: bool,
    pub pod: Option<ClaimPod>,
}

impl ClaimPlan {
    /// The pod crash-loops because this volume is full: offer a restart once it has grown.
    pub fn crash_looping_on_full_disk(&self) -> bool {
        self.pod
            .as_ref()
            .is_some_and(|pod| pod.crash_looping && pod.full_disk)
    }
}

/// The whole resize plan: claims, the ordered steps per phase, warnings and notes for the user.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResizePlan {
    pub namespace: String,
    pub instance: String,
    pub flavour: ResizeFlavour,
    pub target: Quantity,
    pub claims: Vec<ClaimPlan>,
    pub steps: Vec<(Phase, Action)>,
    /// The only pods resize may restart (delete, for a filesystem that grows when its pod mounts it again): the
    /// instance's own pods that a ReplicaSet or StatefulSet recreates. Shown with the plan, each asked when needed.
    pub restarts: Vec<PodRestart>,
    /// The Helm release of a chart install (its values must follow the new size).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_release: Option<String>,
    /// What owns the changed object (Helm values, Git, a kubectl-applied manifest), for the note after the resize.
    #[serde(skip)]
    pub subject: Option<crate::install::Subject>,
    pub warnings: Vec<String>,
    /// Things the user must do themselves (the Helm values change).
    pub notes: Vec<String>,
}

/// A pod restart the plan allows: the pod (by uid, so a replacement is never taken for it) and the controller that
/// recreates it, checked again right before the delete.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRestart {
    pub claim: String,
    pub pod: String,
    pub uid: String,
    pub controller: PodController,
}

impl PodRestart {
    /// `restart pod P (its ReplicaSet R recreates it)`, as the plan and the question name it.
    pub fn summary(&self) -> String {
        format!(
            "restart pod {} (its {} {} recreates it; delete preconditioned on uid {})",
            self.pod, self.controller.kind, self.controller.name, self.uid
        )
    }
}

impl ResizePlan {
    /// The steps of one phase, in order.
    pub fn phase(&self, phase: Phase) -> impl Iterator<Item = &Action> {
        self.steps
            .iter()
            .filter(move |(p, _)| *p == phase)
            .map(|(_, s)| s)
    }

    /// Every permission the plan needs, without repeats: first the reads of the classes that could not be read
    /// (whether they allow expansion decides whether the apiserver accepts the resize), then the steps' in order.
    pub fn access(&self) -> Vec<AccessRequest> {
        let class_reads = self
            .claims
            .iter()
            .filter(|c| c.class_allows_expansion.is_none())
            .map(|c| {
                AccessRequest::new(
                    "get",
                    "storage.k8s.io",
                    "storageclasses",
                    None,
                    Some(&c.storage_class),
                )
            });
        let changes: Vec<crate::engine::Change> = self
            .steps
            .iter()
            .map(|(_, step)| step.change(&self.namespace))
            .collect();
        let changes = crate::access::requests_for_changes(&changes);
        let mut out: Vec<AccessRequest> = Vec::new();
        for access in class_reads.chain(changes) {
            if !out.contains(&access) {
                out.push(access);
            }
        }
        out
    }
}

/// The one 409 policy compares and shows resize plans too (`crate::engine::Conflicts`).
impl crate::engine::Replan for ResizePlan {
    /// Every step of `again` is one of this plan's (a claim patch to the same size, resourceVersions aside), and the
    /// target is the same: steps already applied drop out, so a half-applied plan asks for nothing new.
    fn asks_nothing_new(&self, again: &Self) -> bool {
        let key = |step: &Action| match step {
            Action::PatchClaim { name, to, .. } => format!("claim {name} {to}"),
            other => other.summary(),
        };
        let known: Vec<String> = self.steps.iter().map(|(_, s)| key(s)).collect();
        self.target == again.target && again.steps.iter().all(|(_, s)| known.contains(&key(s)))
    }

    fn show(&self, ctx: &crate::context::Ctx) {
        ctx.printer.info(&render(self));
    }
}

fn storage_of(
    map: Option<
        &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
    >,
) -> Option<&str> {
    map.and_then(|m| m.get("storage")).map(|q| q.0.as_str())
}

fn parse_field(claim: &str, field: &str, value: &str) -> Result<Quantity> {
    Quantity::parse(value).map_err(|e| Error::Verify {
        message: format!("claim {claim} has an unreadable {field} `{value}`: {e}"),
        hint: None,
    })
}

/// `status.capacity.storage` and `spec.resources.requests.storage` of a claim (capacity falls back to the request
/// for a claim that has not reported one yet).
pub fn claim_sizes(pvc: &PersistentVolumeClaim) -> Result<(Quantity, Quantity)> {
    let name = pvc.metadata.name.as_deref().unwrap_or_default();
    let requested = storage_of(
        pvc.spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref()),
    )
    .ok_or_else(|| Error::Verify {
        message: format!("claim {name} has no spec.resources.requests.storage"),
        hint: None,
    })?;
    let requested = parse_field(name, "storage request", requested)?;
    let capacity = match storage_of(pvc.status.as_ref().and_then(|s| s.capacity.as_ref())) {
        Some(capacity) => parse_field(name, "capacity", capacity)?,
        None => requested,
    };
    Ok((capacity, requested))
}

/// The shape of the install as resize sees it: where the claims come from and what else must follow them. Compared
/// as a type (issue 17); serialised and printed as before (`operator`, `helm-chart-statefulset`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResizeFlavour {
    /// A `Prometheus` resource: pause, grow, orphan-delete the StatefulSet, unpause (the operator's procedure).
    #[serde(rename = "operator")]
    Operator,
    /// The chart's StatefulSet mode: claims, then the StatefulSet recreated; the Helm values must follow.
    #[serde(rename = "helm-chart-statefulset")]
    HelmChartStatefulSet,
    /// A hand-made StatefulSet: claims, then the StatefulSet recreated.
    #[serde(rename = "statefulset")]
    StatefulSet,
    /// The chart's Deployment: the claim; the Helm values must follow.
    #[serde(rename = "helm-chart")]
    HelmChart,
    /// A Deployment or a bare pod: the claim only.
    #[serde(rename = "plain")]
    Plain,
}

impl ResizeFlavour {
    fn of(install: &Install, chart_release: &Option<String>) -> Self {
        match (install, chart_release) {
            (Install::Operator { .. }, _) => ResizeFlavour::Operator,
            (Install::StatefulSet { .. }, Some(_)) => ResizeFlavour::HelmChartStatefulSet,
            (Install::StatefulSet { .. }, None) => ResizeFlavour::StatefulSet,
            (Install::Deployment { .. } | Install::Pod { .. }, Some(_)) => ResizeFlavour::HelmChart,
            (Install::Deployment { .. } | Install::Pod { .. }, None) => ResizeFlavour::Plain,
        }
    }

    /// Whether a StatefulSet owns the pods (its claim template must follow the claims).
    pub fn has_statefulset(self) -> bool {
        matches!(
            self,
            ResizeFlavour::Operator
                | ResizeFlavour::StatefulSet
                | ResizeFlavour::HelmChartStatefulSet
        )
    }
}

impl std::fmt::Display for ResizeFlavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResizeFlavour::Operator => "operator",
            ResizeFlavour::HelmChartStatefulSet => "helm-chart-statefulset",
            ResizeFlavour::StatefulSet => "statefulset",
            ResizeFlavour::HelmChart => "helm-chart",
            ResizeFlavour::Plain => "plain",
        })
    }
}

/// The step a target is rounded up to, and why, as the plan says it.
struct Rounding {
    step: i128,
    why: String,
}

/// Provisioners that allocate whole GiB whatever size is asked (the capacity then exceeds the request, and the next
/// relative resize starts from a size nobody asked for): the AWS EBS CSI driver rounds every size up to whole GiB
/// (aws-ebs-csi-driver pkg/util/util.go `RoundUpBytes`), the GCE PD driver too (gcp-compute-persistent-disk-csi-driver
/// pkg/common/utils.go `BytesToGbRoundUp`); the in-tree names are the same disks.
const WHOLE_GI_PROVISIONERS: [&str; 4] = [
    "ebs.csi.aws.com",
    "kubernetes.io/aws-ebs",
    "pd.csi.storage.gke.io",
    "kubernetes.io/gce-pd",
];

/// How the target is rounded (issue 18 item 7). A class whose provisioner allocates in a known unit gets that unit,
/// whatever the flag: asking for the size the volume will have keeps request and capacity equal. Otherwise only a
/// relative `--increase` is rounded, to a step relative to the size: whole Mi under 1Gi (64Mi + 10% is 71Mi, not
/// 1Gi), whole Gi from 1Gi up (1124Gi + 15% is 1293Gi, not 1292.6Gi) — at most 1/1024 of the size above it, and a
/// size a person would type. `--size` and `--add` are exact and only rounded to whole bytes.
fn rounding_for(
    snapshot: &InstanceSnapshot,
    claims: &[Claim],
    request: &SizeRequest,
    exact: Quantity,
) -> Option<Rounding> {
    let class_unit = claims.iter().find_map(|claim| {
        let name = claim.pvc.spec.as_ref()?.storage_class_name.as_deref()?;
        let class = class(snapshot, name)?;
        WHOLE_GI_PROVISIONERS
            .contains(&class.provisioner.as_str())
            .then(|| Rounding {
                step: crate::quantity::GI,
                why: format!(
                    "whole Gi: StorageClass {name}'s provisioner {} allocates whole GiB",
                    class.provisioner
                ),
            })
    });
    if class_unit.is_some() {
        return class_unit;
    }
    match request {
        SizeRequest::Increase(_) if exact.bytes() < crate::quantity::GI => Some(Rounding {
            step: crate::quantity::MI,
            why: "whole Mi: a relative size under 1Gi is rounded to whole Mi".into(),
        }),
        SizeRequest::Increase(_) => Some(Rounding {
            step: crate::quantity::GI,
            why: "whole Gi: a relative size from 1Gi up is rounded to whole Gi".into(),
        }),
        _ => None,
    }
}

/// Pre-flight and plan. Refuses (usage error, nothing sent) on: no claims, an unbound claim, a size smaller than a
/// claim's capacity or request (the size everything already is plans nothing to change), a class that cannot expand without `allow_expansion`, a statically
/// provisioned claim, and an operator resource someone already paused.
pub fn plan(
    snapshot: &InstanceSnapshot,
    request: &SizeRequest,
    allow_expansion: bool,
) -> Result<ResizePlan> {
    let ns = &snapshot.instance.namespace;
    let instance = crate::discover::target_arg(&snapshot.instance);
    let install = install_of(snapshot);
    let data_claims = claims_of(snapshot);
    let forbidden_classes = crate::inspect::instance::forbidden_classes(snapshot);
    let origin = &snapshot.instance.origin;
    // Issue 16: the operator could not render the resource, so no claim exists yet; that is the thing to fix, not
    // the storage (the resource may well have a claim template).
    if snapshot.instance.not_rendered.is_some() && snapshot.instance.workloads.is_empty() {
        return Err(Error::Target {
            message: format!(
                "{}: there is nothing to resize until it runs",
                crate::discover::describe(&snapshot.instance)
            ),
            hint: Some(format!(
                "`kubectl prom doctor -n {ns}` shows how to fix {instance}"
            )),
        });
    }
    if data_claims.is_empty() {
        return Err(Error::Target {
            message: format!(
                "{} in namespace {ns} has no PersistentVolumeClaim for its data (an emptyDir or no volume): there is nothing to resize",
                instance
            ),
            hint: Some(match &install {
                Install::Operator { name, .. } => format!(
                    "give prometheus/{name} persistent storage first (spec.storage.volumeClaimTemplate); `kubectl prom doctor -n {ns}` shows the details"
                ),
                _ => format!(
                    "{}; `kubectl prom doctor -n {ns}` shows how the data volume is mounted",
                    crate::install::move_to_claim(origin)
                ),
            }),
        });
    }

    // Sizes of every claim, then the one target they all grow to.
    let mut sized: Vec<(&Claim, String, Quantity, Quantity)> = Vec::new();
    for claim in &data_claims {
        let name = claim.pvc.metadata.name.clone().unwrap_or_default();
        let (capacity, requested) = claim_sizes(&claim.pvc)?;
        sized.push((claim, name, capacity, requested));
    }
    let Some(largest) = sized
        .iter()
        .map(|(_, _, capacity, requested)| (*capacity).max(*requested))
        .max()
    else {
        return Err(Error::usage("no claim to resize", None));
    };
    let exact = request.target(largest)?;
    // A volume holds whole bytes: a fractional target is rounded up (never printed as milli- or nano-bytes) and the
    // plan says so below (issue 15). Then to the step the size fits (issue 18 item 7), said in the plan too.
    let rounding = rounding_for(snapshot, &data_claims, request, exact);
    let target = match &rounding {
        Some(r) => exact
            .whole_bytes()
            .round_up_to(r.step)
            .filter(Quantity::fits_a_volume)
            .ok_or_else(|| {
                Error::usage(
                    format!(
                        "{} gives {}, which rounded up to {} is more than any volume can be",
                        request.flag(),
                        exact.size_text(),
                        r.why
                    ),
                    None,
                )
            })?,
        None => exact.whole_bytes(),
    };

    // Never shrink: refused before any request is sent. A claim whose request already is the target (an earlier run
    // was interrupted or failed half-way) needs no patch, only following; one already grown to it is done. The size
    // everything already has (every claim's capacity and request, the StatefulSet template, the operator resource
    // unpaused) is a plan with no steps: resize's own continue command after an interrupt, once the expansion
    // finished by itself server-side, must not be an error (issue 16).
    for (_, name, capacity, requested) in &sized {
        if target >= *capacity && target >= *requested {
            continue;
        }
        return Err(refuse_size(request, target, name, *capacity, *requested));
    }
    let claims_done = sized
        .iter()
        .all(|(_, _, capacity, requested)| *capacity >= target && *requested == target);
    let settled = claims_done && install_at(&install, target);

    let mut steps: Vec<(Phase, Action)> = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    if let Some(r) = rounding.as_ref().filter(|_| target != exact) {
        notes.push(format!(
            "{} of {largest} gives {} bytes (about {}): rounded up to {target} ({})",
            request.flag(),
            exact.size_text(),
            human_bytes(u64::try_from(exact.bytes()).unwrap_or(u64::MAX)),
            r.why
        ));
    } else if !exact.is_whole_bytes() {
        notes.push(format!(
            "{} gives {} bytes, not a whole number: rounded up to {target} (a volume holds whole bytes)",
            request.flag(),
            exact.size_text()
        ));
    }
    let mut claims = Vec::new();
    let mut class_fixes: Vec<String> = Vec::new();
    for (claim, name, capacity, requested) in &sized {
        let phase = claim
            .pvc
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("Pending");
        if phase != "Bound" {
            return Err(Error::usage(
                format!(
                    "claim {name} in {ns} is {phase}, not Bound; the apiserver would refuse: \"{NOT_BOUND_ADMISSION}\""
                ),
                Some(format!(
                    "`kubectl describe pvc {name} -n {ns}` shows why it is not bound"
                )),
            ));
        }
        let class_name = claim
            .pvc
            .spec
            .as_ref()
            .and_then(|s| s.storage_class_name.clone())
            .unwrap_or_default();
        if class_name.is_empty() {
            return Err(Error::usage(
                format!(
                    "claim {name} in {ns} has no StorageClass (statically provisioned), so it cannot be expanded; the apiserver would refuse: \"{NOT_EXPANDABLE_ADMISSION}\""
                ),
                Some("grow the PersistentVolume by hand, or migrate the data to a claim of an expandable class".into()),
            ));
        }
        let class_allows_expansion = if forbidden_classes.contains(&class_name) {
            // Not readable: no claim that it can expand, and no class change planned on a guess.
            if !warnings
                .iter()
                .any(|w: &String| w.starts_with(&format!("StorageClass {class_name} ")))
            {
                warnings.push(format!(
                    "StorageClass {class_name} (used by claim {name}) could not be read (forbidden), so it is unknown whether it allows volume expansion{}; if it does not, the apiserver refuses the claim patch with \"{NOT_EXPANDABLE_ADMISSION}\" and the claim is left as it is",
                    if allow_expansion {
                        ", and --allow-expansion cannot change it"
                    } else {
                        ""
                    }
                ));
            }
            None
        } else {
            let Some(class) = class(snapshot, &class_name) else {
                return Err(Error::usage(
                    format!(
                        "claim {name} uses StorageClass {class_name}, which does not exist; the apiserver would refuse: \"{NOT_EXPANDABLE_ADMISSION}\""
                    ),
                    Some("`kubectl get storageclass` lists the classes".into()),
                ));
            };
            // Nothing is sent when everything already is the size, so the class need not allow expansion.
            if class.allow_volume_expansion != Some(true)
                && !class_fixes.contains(&class_name)
                && !settled
            {
                if !allow_expansion {
                    return Err(Error::usage(
                        format!(
                            "StorageClass {class_name} (used by claim {name}) does not allow volume expansion, so the apiserver would refuse the resize with \"{NOT_EXPANDABLE_ADMISSION}\". Turning it on is a cluster-wide change to the class: every claim of {class_name} could then be expanded"
                        ),
                        Some(format!(
                            "check that the provisioner `{}` can expand volumes, then re-run with --allow-expansion (it asks separately before changing the class)",
                            class.provisioner
                        )),
                    ));
                }
                class_fixes.push(class_name.clone());
                steps.push((
                    Phase::AllowExpansion,
                    Action::AllowExpansion {
                        class: class_name.clone(),
                        resource_version: class
                            .metadata
                            .resource_version
                            .clone()
                            .unwrap_or_default(),
                    },
                ));
            }
            if EBS_PROVISIONERS.contains(&class.provisioner.as_str())
                && !settled
                && !warnings.iter().any(|w: &String| w.contains("EBS"))
            {
                warnings.push(format!(
                    "StorageClass {class_name} provisions AWS EBS volumes ({}): an EBS volume can be modified only once every 6 hours, so another resize within 6 hours will fail with VolumeModificationRateExceeded; size generously in one step (this plan grows {capacity} to {target})",
                    class.provisioner
                ));
            }
            Some(class.allow_volume_expansion == Some(true))
        };
        let usage = claim.usage;
        claims.push(ClaimPlan {
            name: name.clone(),
            storage_class: class_name,
            class_allows_expansion,
            capacity: *capacity,
            requested: *requested,
            target,
            usage,
            nearly_full: usage.is_some_and(|u| u.nearly_full()),
            pod: claim.pod.clone(),
        });
    }

    let claim_steps = || {
        sized
            .iter()
            .filter(|(_, _, _, requested)| *requested != target)
            .map(|(claim, name, _, requested)| {
                (
                    Phase::Resize,
                    Action::PatchClaim {
                        name: name.clone(),
                        resource_version: claim
                            .pvc
                            .metadata
                            .resource_version
                            .clone()
                            .unwrap_or_default(),
                        from: *requested,
                        to: target,
                    },
                )
            })
    };
    match &install {
        Install::Deployment { .. } | Install::Pod { .. } => steps.extend(claim_steps()),
        Install::StatefulSet { object, template } => {
            let from = statefulset_template_size(object, template);
            steps.extend(claim_steps());
            // An earlier run whose StatefulSet change was declined or cut short: only the template may be left.
            if !install_at(&install, target) {
                let name = object.metadata.name.clone().unwrap_or_default();
                steps.push((
                    Phase::RecreateStatefulSet,
                    Action::OrphanDeleteStatefulSet(StatefulSetRef {
                        name: name.clone(),
                        uid: object.metadata.uid.clone().unwrap_or_default(),
                        resource_version: object
                            .metadata
                            .resource_version
                            .clone()
                            .unwrap_or_default(),
                        template_storage: None,
                    }),
                ));
                steps.push((
                    Phase::RecreateStatefulSet,
                    Action::RecreateStatefulSet {
                        name,
                        template: template.clone(),
                        from,
                        to: target,
                        object: Box::new(recreated_statefulset(object, template, target)),
                    },
                ));
            }
        }
        Install::Operator {
            name,
            resource_version,
            paused,
            storage_request,
            statefulsets,
        } => {
            let at_target =
                |size: Option<&str>| size.and_then(|s| Quantity::parse(s).ok()) == Some(target);
            // The storage request the operator's StatefulSet was created with: what an unpause before the orphan
            // delete must put back, or the operator replaces the StatefulSet and every replica (prometheus-facts
            // §5.3). The resource's own request when no StatefulSet is left (it was orphan-deleted).
            let created_with = statefulsets
                .iter()
                .find_map(|s| s.template_storage.clone())
                .or_else(|| storage_request.clone());
            if *paused && !at_target(storage_request.as_deref()) {
                // Paused by someone else (or by a resize to another size): not ours to finish or to unpause.
                return Err(Error::usage(
                    format!(
                        "prometheus/{name} in {ns} is already paused (spec.paused: true) with storage request {}: someone is changing it by hand, and resize would have to unpause it",
                        storage_request.as_deref().unwrap_or("(unset)")
                    ),
                    Some(paused_hint(ns, name, statefulsets, created_with.as_deref())),
                ));
            }
            // A paused resource that asks for the target is a resize to this size left half-done (this tool's, cut
            // short by a forced exit, or someone following the same procedure): it is finished, not refused.
            let statefulsets_left: Vec<&StatefulSetRef> = statefulsets
                .iter()
                .filter(|s| !at_target(s.template_storage.as_deref()))
                .collect();
            if !*paused
                && at_target(storage_request.as_deref())
                && claim_steps().next().is_none()
                && statefulsets_left.is_empty()
            {
                // An earlier run (interrupted, or a re-run to follow the claims) did every step already: nothing to
                // pause, orphan or recreate; the claims are only followed (said below once they have the size).
                if !settled {
                    notes.push(format!(
                        "prometheus/{name}, its claims and its StatefulSet already ask for {target}: nothing left to send, the claims are followed until they have it"
                    ));
                }
            } else {
                if *paused {
                    notes.push(format!(
                        "prometheus/{name} is paused and already asks for {target}: a resize to {target} was left half-done; this plan finishes what is left of it"
                    ));
                }
                steps.push((
                    Phase::Resize,
                    Action::PausePrometheus {
                        name: name.clone(),
                        resource_version: resource_version.clone(),
                        from: created_with,
                        to: target,
                    },
                ));
                steps.extend(claim_steps());
                for sts in statefulsets_left {
                    steps.push((Phase::Resize, Action::OrphanDeleteStatefulSet(sts.clone())));
                }
                steps.push((
                    Phase::Resize,
                    Action::UnpausePrometheus { name: name.clone() },
                ));
            }
        }
    }

    if settled {
        notes.push(nothing_to_change(&install, &claims, target));
    }

    // The only pods resize may ever delete: each claim's pod of this instance, when a controller recreates it.
    // None when nothing changes: no filesystem is left to grow.
    let mut restarts = Vec::new();
    for claim in claims.iter().filter(|_| !settled) {
        let Some(pod) = &claim.pod else { continue };
        match &pod.controller {
            Some(controller) if controller.recreates() => restarts.push(PodRestart {
                claim: claim.name.clone(),
                pod: pod.name.clone(),
                uid: pod.uid.clone(),
                controller: controller.clone(),
            }),
            other => warnings.push(format!(
                "pod {} mounts claim {} and {}: resize never deletes it, so if the volume's filesystem waits for a pod to mount it again (FileSystemResizePending), stop and start it yourself; a driver that expands only offline needs it stopped until the volume has grown",
                pod.name,
                claim.name,
                match other {
                    Some(c) => format!("is controlled by {} {}, which may not recreate it", c.kind, c.name),
                    None => "no controller recreates it".to_string(),
                }
            )),
        }
    }

    let subject = size_subject(&install, origin, ns, &claims);
    notes.extend(subject.as_ref().and_then(|s| size_note(s, target)));

    Ok(ResizePlan {
        namespace: ns.clone(),
        instance,
        flavour: ResizeFlavour::of(&install, &chart_release(snapshot)),
        target,
        claims,
        steps,
        restarts,
        chart_release: chart_release(snapshot),
        subject,
        warnings,
        notes,
    })
}

/// The hint for a resource someone else paused: unpause it with the storage request its StatefulSet was created
/// with, so the operator finds nothing to change (a `paused: false` alone, with a request that differs from the
/// StatefulSet's template, makes the operator delete and recreate the StatefulSet and every replica). When no
/// StatefulSet is left, unpausing as it is is safe: the operator creates one around the running pods.
fn paused_hint(
    ns: &str,
    name: &str,
    statefulsets: &[StatefulSetRef],
    created_with: Option<&str>,
) -> String {
    let body = match (statefulsets.is_empty(), created_with) {
        (false, Some(size)) => {
            json!({"spec": {"paused": false, "storage": {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": size}}}}}}})
        }
        _ => json!({"spec": {"paused": false}}),
    };
    let why = match (statefulsets.is_empty(), created_with) {
        (false, Some(size)) => format!(
            "it puts the storage request back to {size}, the size its StatefulSet was created with, so the operator does not replace the StatefulSet and its pods"
        ),
        _ => "no StatefulSet of it is left, so the operator creates one around the running pods"
            .to_string(),
    };
    format!(
        "finish that change, or undo it safely with `kubectl patch prometheus/{name} -n {ns} --type merge -p '{body}'` ({why}); then re-run"
    )
}

/// The note of a plan with no steps because everything already is `target`: each claim and its capacity, and the
/// install object that asks for it; the claims are still read back as the verification.
fn nothing_to_change(install: &Install, claims: &[ClaimPlan], target: Quantity) -> String {
    let each: Vec<String> = claims
        .iter()
        .map(|c| format!("{}: capacity {}", c.name, c.capacity))
        .collect();
    let object = match install {
        Install::Deployment { .. } | Install::Pod { .. } => String::new(),
        Install::StatefulSet { object, .. } => format!(
            ", and statefulset/{}'s claim template asks for it",
            object.metadata.name.as_deref().unwrap_or_default()
        ),
        Install::Operator { name, .. } => {
            format!(", and prometheus/{name} (not paused) and its StatefulSet ask for it")
        }
    };
    format!(
        "nothing to change: every claim already is {target} ({}){object}; the claims are read back",
        each.join(", ")
    )
}

/// Whether the install object already asks for `target` (nothing of it is left to change): a StatefulSet's claim
/// template, or an unpaused operator resource and its StatefulSets. A Deployment or a bare pod has nothing besides
/// its claims.
fn install_at(install: &Install, target: Quantity) -> bool {
    let at = |size: Option<&str>| size.and_then(|s| Quantity::parse(s).ok()) == Some(target);
    match install {
        Install::Deployment { .. } | Install::Pod { .. } => true,
        Install::StatefulSet { object, template } => statefulset_template_size(object, template)
            .as_deref()
            .and_then(|s| Quantity::parse(s).ok())
            .is_some_and(|size| size >= target),
        Install::Operator {
            paused,
            storage_request,
            statefulsets,
            ..
        } => {
            !paused
                && at(storage_request.as_deref())
                && statefulsets
                    .iter()
                    .all(|s| at(s.template_storage.as_deref()))
        }
    }
}

/// The object the resize changes that its source of truth renders: the operator resource, the chart's StatefulSet
/// (its claim template), else the claims themselves.
fn size_subject(
    install: &Install,
    origin: &crate::install::Origin,
    namespace: &str,
    claims: &[ClaimPlan],
) -> Option<crate::install::Subject> {
    let object = match install {
        Install::Operator { .. } | Install::StatefulSet { .. } => origin.object.clone(),
        Install::Deployment { .. } | Install::Pod { .. } => claims
            .iter()
            .map(|c| format!("pvc/{}", c.name))
            .collect::<Vec<_>>()
            .join(", "),
    };
    Some(crate::install::Subject {
        source: origin.source.clone(),
        object,
        namespace: namespace.to_string(),
        statefulset: matches!(install, Install::StatefulSet { .. }),
    })
}

/// The change the user must also make where the install comes from, for claims that now ask for `size` (issue 18).
pub fn size_note(subject: &crate::install::Subject, size: Quantity) -> Option<String> {
    subject.note(crate::install::Key::VolumeSize, Some(&size.to_string()))
}

/// The refusal of a size smaller than a claim's (a shrink).
fn refuse_size(
    request: &SizeRequest,
    target: Quantity,
    name: &str,
    capacity: Quantity,
    requested: Quantity,
) -> Error {
    let floor = capacity.max(requested);
    let basis = if requested > capacity {
        format!("its pending request {requested} (capacity {capacity})")
    } else {
        format!("its capacity {capacity}")
    };
    let example = crate::quantity::Percent::parse("25%")
        .ok()
        .and_then(|p| floor.increase_by_percent(&p).ok())
        .map(|q| format!(", e.g. `--size {q}`"))
        .unwrap_or_default();
    Error::usage(
        format!(
            "refusing to resize: {} gives {target}, which is smaller than claim {name}'s size ({basis}); resize only grows volumes and never shrinks them",
            request.flag()
        ),
        Some(format!("ask for more than {floor}{example}")),
    )
}

/// The storage request of the StatefulSet's claim template named `template`.
fn statefulset_template_size(sts: &StatefulSet, template: &str) -> Option<String> {
    sts.spec
        .as_ref()?
        .volume_claim_templates
        .as_ref()?
        .iter()
        .find(|t| t.metadata.name.as_deref() == Some(template))
        .and_then(|t| storage_of(t.spec.as_ref()?.resources.as_ref()?.requests.as_ref()))
        .map(str::to_string)
}

/// The StatefulSet to create after the orphan delete: the same spec with the larger template, and none of the
/// server-owned metadata (uid, resourceVersion, timestamps, managedFields) or status.
pub fn recreated_statefulset(sts: &StatefulSet, template: &str, target: Quantity) -> StatefulSet {
    let mut fresh = StatefulSet {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: sts.metadata.name.clone(),
            namespace: sts.metadata.namespace.clone(),
            labels: sts.metadata.labels.clone(),
            annotations: sts.metadata.annotations.clone(),
            owner_references: sts.metadata.owner_references.clone(),
            ..Default::default()
        },
        spec: sts.spec.clone(),
        status: None,
    };
    if let Some(templates) = fresh
        .spec
        .as_mut()
        .and_then(|s| s.volume_claim_templates.as_mut())
    {
        for t in templates
            .iter_mut()
            .filter(|t| t.metadata.name.as_deref() == Some(template))
        {
            t.status = None;
            let resources = t
                .spec
                .get_or_insert_with(Default::default)
                .resources
                .get_or_insert_with(Default::default);
            resources
                .requests
                .get_or_insert_with(Default::default)
                .insert("storage".into(), target.into());
        }
    }
    fresh
}

/// The plan as a person reads it: the claims table, then each phase's steps with their diffs.
pub fn render(plan: &ResizePlan) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Resize {} in {} ({}) to {}:\n",
        plan.instance, plan.namespace, plan.flavour, plan.target
    ));
    let rows: Vec<[String; 6]> = plan
        .claims
        .iter()
        .map(|c| {
            let used = match &c.usage {
                Some(u) => format!("{} ({}%)", human_bytes(u.used_bytes), u.used_percent()),
                None => "unknown".into(),
            };
            let mut state = Vec::new();
            if c.nearly_full {
                state.push("nearly full".to_string());
            }
            if let Some(pod) = &c.pod {
                if c.crash_looping_on_full_disk() {
                    state.push(format!(
                        "pod {} crash-looping: no space left on device",
                        pod.name
                    ));
                } else if pod.crash_looping {
                    state.push(format!("pod {} crash-looping", pod.name));
                }
            }
            [
                c.name.clone(),
                c.storage_class.clone(),
                c.capacity.to_string(),
                c.requested.to_string(),
                used,
                state.join("; "),
            ]
        })
        .collect();
    out.push_str(&table(
        &["CLAIM", "CLASS", "CAPACITY", "REQUESTED", "USED", "STATE"],
        &rows,
    ));
    let mut number = 0;
    for (phase, heading) in [
        (
            Phase::AllowExpansion,
            "First, a cluster-wide change (confirmed separately):",
        ),
        (Phase::Resize, "Plan:"),
        (
            Phase::RecreateStatefulSet,
            "Then, so the StatefulSet's claim template matches (confirmed separately; pods keep running):",
        ),
    ] {
        let steps: Vec<&Action> = plan.phase(phase).collect();
        if steps.is_empty() {
            continue;
        }
        out.push('\n');
        out.push_str(heading);
        out.push('\n');
        for step in steps {
            number += 1;
            out.push_str(&format!("  {number}. {}\n", step.summary()));
            for line in step.diff() {
                out.push_str(&format!("       {line}\n"));
            }
        }
    }
    if !plan.restarts.is_empty() {
        out.push('\n');
        // What really happens (issue 16, a 1.36 external-resizer): a restart helps only once the volume grew and the
        // claim waits in FileSystemResizePending for a pod to mount it again. A driver that expands only offline is
        // refused while any pod uses the claim (external-resizer pkg/controller/expand_and_recover.go `inUseError`),
        // and no restart frees it: its controller starts a new pod at once.
        out.push_str("If a volume grows but its filesystem waits for a pod to mount it again (FileSystemResizePending), each asked then:\n");
        for restart in &plan.restarts {
            number += 1;
            out.push_str(&format!("  {number}. {}\n", restart.summary()));
        }
        out.push_str("  (A driver that expands only offline refuses while any pod uses the claim; no restart helps there: resize then names every pod holding it and how to stop them.)\n");
    }
    for warning in &plan.warnings {
        out.push_str(&format!("\nwarning: {warning}\n"));
    }
    for note in &plan.notes {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    out
}

/// Left-aligned columns separated by two spaces, like kubectl's tables.
pub fn table(headers: &[&str], rows: &[[String; 6]]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        out.push_str("  ");
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// Moved to src/quantity.rs (byte formatting belongs with the quantities; doctor's checks use it too).
pub use crate::quantity::human_bytes;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantity::Percent;
    use crate::resize::model::UsageSource;
    use k8s_openapi::api::apps::v1::StatefulSetSpec;
    use k8s_openapi::api::core::v1::{
        PersistentVolumeClaimSpec, PersistentVolumeClaimStatus, VolumeResourceRequirements,
    };
    use k8s_openapi::api::storage::v1::StorageClass;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::collections::BTreeMap;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap()
    }

    fn storage(text: &str) -> BTreeMap<String, K8sQuantity> {
        BTreeMap::from([("storage".to_string(), K8sQuantity(text.into()))])
    }

    fn pvc(name: &str, class: &str, requested: &str, capacity: &str) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("monitoring".into()),
                resource_version: Some(format!("rv-{name}")),
                ..Default::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                storage_class_name: Some(class.into()),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(storage(requested)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: Some(PersistentVolumeClaimStatus {
                phase: Some("Bound".into()),
                capacity: Some(storage(capacity)),
                ..Default::default()
            }),
        }
    }

    fn class(name: &str, provisioner: &str, expandable: Option<bool>) -> StorageClass {
        StorageClass {
            metadata: ObjectMeta {
                name: Some(name.into()),
                resource_version: Some("sc-rv".into()),
                ..Default::default()
            },
            provisioner: provisioner.into(),
            allow_volume_expansion: expandable,
            ..Default::default()
        }
    }

    fn claim(pvc: PersistentVolumeClaim) -> Claim {
        Claim {
            pvc,
            pod: None,
            usage: None,
        }
    }

    /// The pieces of an instance the planner's rules are about, built into the one snapshot by [`Parts::build`] as
    /// the gather would fill it (the views `install_of`/`claims_of` read them back). Test scaffolding only.
    #[derive(Debug, Clone)]
    struct Parts {
        install: Install,
        chart_release: Option<String>,
        origin: crate::install::Origin,
        claims: Vec<Claim>,
        classes: BTreeMap<String, StorageClass>,
        forbidden_classes: std::collections::BTreeSet<String>,
    }

    impl Parts {
        fn build(&self) -> InstanceSnapshot {
            use crate::discover::{DataSource, DataVolume, Flavour, WorkloadKind, WorkloadRef};
            use k8s_openapi::api::core::v1::{
                ContainerState, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
                PersistentVolumeClaimVolumeSource, Pod, PodCondition, PodSpec, PodStatus, Volume,
            };
            use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
            let workload = |kind, name: &str| WorkloadRef {
                kind,
                name: name.into(),
                replicas: 1,
                resource_version: None,
                ordered_ready: false,
            };
            let mut statefulsets = Vec::new();
            let mut prometheus = None;
            let (flavour, workloads, source) = match &self.install {
                Install::Deployment { name } => (
                    None,
                    vec![workload(WorkloadKind::Deployment, name)],
                    DataSource::Pvc {
                        claim: name.clone(),
                    },
                ),
                Install::Pod { name } => (
                    None,
                    vec![workload(WorkloadKind::Pod, name)],
                    DataSource::Pvc {
                        claim: name.clone(),
                    },
                ),
                Install::StatefulSet { object, template } => {
                    statefulsets.push(object.as_ref().clone());
                    (
                        None,
                        vec![workload(
                            WorkloadKind::StatefulSet,
                            object.metadata.name.as_deref().unwrap(),
                        )],
                        DataSource::ClaimTemplate {
                            template: template.clone(),
                            claims: Vec::new(),
                        },
                    )
                }
                Install::Operator {
                    name,
                    resource_version,
                    paused,
                    storage_request,
                    statefulsets: refs,
                } => {
                    for r in refs {
                        let mut sts = statefulset(
                            &r.name,
                            "prometheus-db",
                            r.template_storage.as_deref().unwrap_or("1Gi"),
                        );
                        sts.metadata.uid = Some(r.uid.clone());
                        sts.metadata.resource_version = Some(r.resource_version.clone());
                        if r.template_storage.is_none() {
                            sts.spec.as_mut().unwrap().volume_claim_templates = None;
                        }
                        statefulsets.push(sts);
                    }
                    let mut spec = json!({"paused": paused});
                    if let Some(size) = storage_request {
                        spec["storage"] = json!({"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": size}}}}});
                    }
                    prometheus = Some(json!({
                        "apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
                        "metadata": {"name": name, "namespace": "monitoring", "resourceVersion": resource_version},
                        "spec": spec,
                    }));
                    (
                        Some(Flavour::Operator {
                            prometheus: name.clone(),
                        }),
                        refs.iter()
                            .map(|r| workload(WorkloadKind::StatefulSet, &r.name))
                            .collect(),
                        DataSource::ClaimTemplate {
                            template: "prometheus-db".into(),
                            claims: Vec::new(),
                        },
                    )
                }
            };
            let flavour = flavour.unwrap_or_else(|| match &self.chart_release {
                Some(release) => Flavour::Chart {
                    release: release.clone(),
                    chart: None,
                    labels: crate::model::LabelGeneration::Recommended,
                },
                None => Flavour::Plain,
            });
            let instance = crate::discover::Instance {
                namespace: "monitoring".into(),
                name: match &self.install {
                    Install::Operator { name, .. } => name.clone(),
                    _ => workloads[0].name.clone(),
                },
                flavour,
                workloads,
                pods: Vec::new(),
                terminating: Vec::new(),
                container: "prometheus".into(),
                image: "prom/prometheus:v2.42.0".into(),
                args: Vec::new(),
                port: 9090,
                route_prefix: "/".into(),
                data: Some(DataVolume {
                    path: "/data".into(),
                    volume: "storage".into(),
                    mount_path: "/data".into(),
                    sub_path: None,
                    source,
                }),
                config: None,
                sidecars: Vec::new(),
                origin: self.origin.clone(),
                not_rendered: None,
            };
            let mut s = InstanceSnapshot::new(instance);
            s.statefulsets = statefulsets;
            s.prometheus = prometheus;
            s.storage_classes = self.classes.values().cloned().collect();
            for class in &self.forbidden_classes {
                s.gaps.push(crate::inspect::snapshot::Gap {
                    data: crate::inspect::snapshot::Data::StorageClasses,
                    reason: format!("storageclasses \"{class}\" is forbidden (403)"),
                    request: Some(crate::inspect::instance::class_request(class)),
                    status: Some(403),
                });
            }
            for claim in &self.claims {
                let name = claim.pvc.metadata.name.clone().unwrap();
                s.pvcs.push(claim.pvc.clone());
                let Some(cp) = &claim.pod else { continue };
                s.pods.push(Pod {
                    metadata: ObjectMeta {
                        name: Some(cp.name.clone()),
                        namespace: Some("monitoring".into()),
                        uid: Some(cp.uid.clone()),
                        owner_references: cp.controller.as_ref().map(|c| {
                            vec![OwnerReference {
                                kind: c.kind.clone(),
                                name: c.name.clone(),
                                controller: Some(true),
                                ..Default::default()
                            }]
                        }),
                        ..Default::default()
                    },
                    spec: Some(PodSpec {
                        node_name: cp.node.clone(),
                        volumes: Some(vec![Volume {
                            name: "storage".into(),
                            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                                claim_name: name.clone(),
                                read_only: None,
                            }),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                    status: Some(PodStatus {
                        conditions: Some(vec![PodCondition {
                            type_: "Ready".into(),
                            status: if cp.ready { "True" } else { "False" }.into(),
                            ..Default::default()
                        }]),
                        container_statuses: Some(vec![ContainerStatus {
                            name: "prometheus".into(),
                            ready: cp.ready,
                            restart_count: i32::from(cp.crash_looping),
                            state: cp.crash_looping.then(|| ContainerState {
                                waiting: Some(ContainerStateWaiting {
                                    reason: Some("CrashLoopBackOff".into()),
                                    ..Default::default()
                                }),
                                ..Default::default()
                            }),
                            last_state: cp.full_disk.then(|| ContainerState {
                                terminated: Some(ContainerStateTerminated {
                                    exit_code: 1,
                                    message: Some(
                                        "write /data/wal/00000042: no space left on device".into(),
                                    ),
                                    ..Default::default()
                                }),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                });
                match claim.usage {
                    Some(u) if u.source == UsageSource::Df => {
                        s.df_usage.insert(name.clone(), u);
                    }
                    Some(u) => s.usage.push(crate::inspect::usage::VolumeUsage {
                        pod: cp.name.clone(),
                        namespace: "monitoring".into(),
                        volume: "storage".into(),
                        pvc: Some(name.clone()),
                        capacity_bytes: u.capacity_bytes,
                        used_bytes: u.used_bytes,
                        available_bytes: u.available_bytes,
                    }),
                    None => {}
                }
            }
            s
        }
    }

    /// The planner over the snapshot the parts build.
    fn plan(parts: &Parts, request: &SizeRequest, allow_expansion: bool) -> Result<ResizePlan> {
        super::plan(&parts.build(), request, allow_expansion)
    }

    fn snapshot(install: Install, claims: Vec<Claim>, classes: Vec<StorageClass>) -> Parts {
        Parts {
            install,
            chart_release: None,
            origin: Default::default(),
            claims,
            classes: classes
                .into_iter()
                .map(|c| (c.metadata.name.clone().unwrap(), c))
                .collect(),
            forbidden_classes: Default::default(),
        }
    }

    /// A prometheus-community chart 25.8.0 install, release `prometheus`, as discovery recognises it.
    pub(crate) fn community_chart_origin() -> crate::install::Origin {
        crate::install::Origin {
            source: crate::install::Source::Helm {
                release: "prometheus".into(),
                namespace: "monitoring".into(),
                chart: Some(crate::install::ChartId {
                    chart: crate::install::Chart::CommunityPrometheus,
                    version: Some("25.8.0".into()),
                    evidence: crate::install::Evidence::Labels,
                }),
            },
            drift: Vec::new(),
            object: "deploy/prometheus-server".into(),
        }
    }

    fn deployment_snapshot(expandable: Option<bool>) -> Parts {
        snapshot(
            Install::Deployment {
                name: "prometheus-server".into(),
            },
            vec![claim(pvc("prometheus-server", "gp2", "1124Gi", "1124Gi"))],
            vec![class("gp2", "ebs.csi.aws.com", expandable)],
        )
    }

    fn add(text: &str) -> SizeRequest {
        SizeRequest::Add(q(text))
    }

    fn statefulset(name: &str, template: &str, size: &str) -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("monitoring".into()),
                uid: Some("uid-1".into()),
                resource_version: Some("sts-rv".into()),
                generation: Some(3),
                labels: Some(BTreeMap::from([(
                    "app".to_string(),
                    "prometheus".to_string(),
                )])),
                ..Default::default()
            },
            spec: Some(StatefulSetSpec {
                replicas: Some(2),
                service_name: Some(format!("{name}-headless")),
                volume_claim_templates: Some(vec![PersistentVolumeClaim {
                    metadata: ObjectMeta {
                        name: Some(template.into()),
                        ..Default::default()
                    },
                    spec: Some(PersistentVolumeClaimSpec {
                        resources: Some(VolumeResourceRequirements {
                            requests: Some(storage(size)),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    status: None,
                }]),
                ..Default::default()
            }),
            status: Some(Default::default()),
        }
    }

    #[test]
    fn plain_deployment_patches_its_claim_only() {
        let mut snap = deployment_snapshot(Some(true));
        snap.classes.insert(
            "gp2".into(),
            class("gp2", "rancher.io/local-path", Some(true)),
        );
        let plan = plan(&snap, &add("176Gi"), false).unwrap();
        assert_eq!(plan.flavour, ResizeFlavour::Plain);
        assert_eq!(plan.target.to_string(), "1300Gi");
        assert_eq!(
            plan.steps,
            vec![(
                Phase::Resize,
                Action::PatchClaim {
                    name: "prometheus-server".into(),
                    resource_version: "rv-prometheus-server".into(),
                    from: q("1124Gi"),
                    to: q("1300Gi"),
                }
            )]
        );
        assert!(plan.warnings.is_empty());
        // Nothing on it names a source (issue 18): the note says what re-applying an old manifest would do, if any.
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        assert!(
            plan.notes[0].contains("pvc/prometheus-server if it came from one"),
            "{:?}",
            plan.notes
        );
        let patch = plan.steps[0].1.merge_patch().unwrap();
        assert_eq!(patch["spec"]["resources"]["requests"]["storage"], "1300Gi");
        assert_eq!(patch["metadata"]["resourceVersion"], "rv-prometheus-server");
        assert_eq!(
            plan.access(),
            vec![AccessRequest::new(
                "patch",
                "",
                "persistentvolumeclaims",
                Some("monitoring"),
                Some("prometheus-server")
            )]
        );
        assert_eq!(
            plan.access()[0].can_i(),
            "kubectl auth can-i patch persistentvolumeclaims/prometheus-server -n monitoring"
        );
    }

    #[test]
    fn a_class_the_user_may_not_read_is_unknown_and_its_read_joins_the_permissions() {
        let mut snap = deployment_snapshot(Some(false));
        snap.classes.clear();
        snap.forbidden_classes.insert("gp2".into());
        // Even with --allow-expansion: a class that could not be read is never planned for a change.
        let unknown = plan(&snap, &SizeRequest::Absolute(q("1300Gi")), true).unwrap();
        assert_eq!(unknown.claims[0].class_allows_expansion, None);
        assert_eq!(unknown.phase(Phase::AllowExpansion).count(), 0);
        assert_eq!(unknown.phase(Phase::Resize).count(), 1);
        assert!(
            unknown.warnings.len() == 1
                && unknown.warnings[0].contains(
                    "StorageClass gp2 (used by claim prometheus-server) could not be read"
                )
                && unknown.warnings[0].contains("--allow-expansion cannot change it")
                && !unknown.warnings[0].contains("EBS"),
            "{:?}",
            unknown.warnings
        );
        let class_read =
            AccessRequest::new("get", "storage.k8s.io", "storageclasses", None, Some("gp2"));
        let claim_patch = AccessRequest::new(
            "patch",
            "",
            "persistentvolumeclaims",
            Some("monitoring"),
            Some("prometheus-server"),
        );
        assert_eq!(
            unknown.access(),
            vec![class_read.clone(), claim_patch.clone()]
        );
        // Refused together: the Role for the claim, the ClusterRole for the class.
        let err = crate::access::refuse_missing(&[(class_read, false), (claim_patch, false)])
            .unwrap_err();
        let hint = err.hint().unwrap();
        assert!(
            hint.contains("kind: ClusterRole")
                && hint.contains("resources: [\"storageclasses\"]\n  verbs: [\"get\"]")
                && hint.contains(
                    "kind: Role\nmetadata:\n  name: kubectl-prom\n  namespace: monitoring"
                ),
            "{hint}"
        );

        // A class that was read asks for no read permission, and one that does not exist is still refused.
        let readable = plan(
            &deployment_snapshot(Some(true)),
            &SizeRequest::Absolute(q("1300Gi")),
            false,
        )
        .unwrap();
        assert_eq!(readable.claims[0].class_allows_expansion, Some(true));
        assert!(readable.access().iter().all(|a| a.verb != "get"));
        snap.forbidden_classes.clear();
        let missing = plan(&snap, &SizeRequest::Absolute(q("1300Gi")), true).unwrap_err();
        assert!(
            missing.to_string().contains("which does not exist"),
            "{missing}"
        );
    }

    #[test]
    fn chart_deployment_adds_the_values_change_and_ebs_warning() {
        let mut snap = deployment_snapshot(Some(true));
        snap.chart_release = Some("prometheus".into());
        snap.origin = community_chart_origin();
        let plan = plan(&snap, &SizeRequest::Absolute(q("1300Gi")), false).unwrap();
        assert_eq!(plan.flavour, ResizeFlavour::HelmChart);
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.notes.len(), 1);
        assert!(
            plan.notes[0].contains("server.persistentVolume.size: 1300Gi"),
            "{}",
            plan.notes[0]
        );
        assert!(plan.notes[0].contains("--set 'server.persistentVolume.size=1300Gi'"));
        assert!(
            plan.warnings[0].contains("once every 6 hours"),
            "{:?}",
            plan.warnings
        );
        let text = render(&plan);
        assert!(
            text.contains("- spec.resources.requests.storage: 1124Gi"),
            "{text}"
        );
        assert!(
            text.contains("+ spec.resources.requests.storage: 1300Gi"),
            "{text}"
        );
        assert!(
            text.contains(
                "note: after this change, also set `server.persistentVolume.size: 1300Gi`"
            ),
            "{text}"
        );
    }

    /// A shrink is refused before any request. The size every claim already is (resize's own continue command once
    /// the expansion finished by itself after an interrupt) is a plan with no steps that says so, even on a class
    /// that does not allow expansion: nothing is sent, so nothing needs it.
    #[test]
    fn shrink_is_refused_and_the_same_size_is_a_plan_with_nothing_to_change() {
        let snap = deployment_snapshot(Some(true));
        let err = plan(&snap, &SizeRequest::Absolute(q("1000Gi")), false).unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        let text = err.to_string();
        assert!(
            text.contains("smaller than claim prometheus-server's size (its capacity 1124Gi)"),
            "{text}"
        );
        assert!(text.contains("never shrinks"), "{text}");
        for expandable in [Some(true), Some(false), None] {
            let mut settled = deployment_snapshot(expandable);
            // Its pod, which a ReplicaSet recreates, and a bare one: neither is planned for a restart nor warned
            // about, as no filesystem is left to grow.
            for controller in [
                Some(PodController {
                    kind: "ReplicaSet".into(),
                    name: "prometheus-server-5d9".into(),
                }),
                None,
            ] {
                settled.claims[0].pod = Some(ClaimPod {
                    name: "prometheus-server-abc".into(),
                    uid: "pod-uid".into(),
                    controller,
                    ..Default::default()
                });
                let same = plan(&settled, &SizeRequest::Absolute(q("1124Gi")), false).unwrap();
                assert!(same.restarts.is_empty(), "{:#?}", same.restarts);
                assert!(same.warnings.is_empty(), "{:#?}", same.warnings);
            }
            let same = plan(&settled, &SizeRequest::Absolute(q("1124Gi")), false).unwrap();
            assert!(same.steps.is_empty(), "{:#?}", same.steps);
            assert_eq!(same.claims.len(), 1, "the claim is still read back");
            assert!(same.warnings.is_empty(), "{:#?}", same.warnings);
            let text = render(&same);
            assert!(
                text.contains(
                    "nothing to change: every claim already is 1124Gi (prometheus-server: capacity 1124Gi)"
                ),
                "{text}"
            );
        }
        // A relative size always grows, so it never is "the same".
        assert!(!plan(&snap, &add("1Gi"), false).unwrap().steps.is_empty());
        // 1.1T (decimal) is 1024.4Gi: still smaller than 1124Gi, whatever the suffix.
        assert!(plan(&snap, &SizeRequest::Absolute(q("1.1T")), false).is_err());
        assert!(plan(&snap, &SizeRequest::Absolute(q("1125Gi")), false).is_ok());
    }

    #[test]
    fn a_pending_larger_request_counts_as_the_current_size() {
        let snap = snapshot(
            Install::Deployment { name: "p".into() },
            vec![claim(pvc("p", "std", "20Gi", "10Gi"))],
            vec![class("std", "x", Some(true))],
        );
        let err = plan(&snap, &SizeRequest::Absolute(q("15Gi")), false).unwrap_err();
        assert!(
            err.to_string()
                .contains("its pending request 20Gi (capacity 10Gi)"),
            "{err}"
        );
        let plan = plan(&snap, &add("5Gi"), false).unwrap();
        assert_eq!(plan.target, q("25Gi"));
    }

    #[test]
    fn a_claim_already_requested_at_the_target_is_followed_not_patched() {
        let snap = snapshot(
            Install::Deployment { name: "p".into() },
            vec![
                claim(pvc("a", "std", "96Mi", "64Mi")),
                claim(pvc("b", "std", "64Mi", "64Mi")),
            ],
            vec![class("std", "x", Some(true))],
        );
        let plan = plan(&snap, &SizeRequest::Absolute(q("96Mi")), false).unwrap();
        assert_eq!(plan.claims.len(), 2);
        let patched: Vec<String> = plan.steps.iter().map(|(_, s)| s.summary()).collect();
        assert_eq!(patched, vec!["patch persistentvolumeclaim/b".to_string()]);
    }

    #[test]
    fn increase_uses_the_largest_claim_and_rounds_to_whole_gi() {
        let snap = snapshot(
            Install::Deployment { name: "p".into() },
            vec![claim(pvc("p", "std", "10Gi", "10Gi"))],
            vec![class("std", "x", Some(true))],
        );
        let plan = plan(
            &snap,
            &SizeRequest::Increase(Percent::parse("15%").unwrap()),
            false,
        )
        .unwrap();
        assert_eq!(plan.target.to_string(), "12Gi");
    }

    fn has_note(plan: &ResizePlan, text: &str) -> bool {
        plan.notes.iter().any(|n| n.contains(text))
    }

    #[test]
    fn increase_rounds_to_whole_mi_under_1gi_and_to_the_class_unit_when_it_has_one() {
        let increase = |p: &str| SizeRequest::Increase(Percent::parse(p).unwrap());
        let small = |provisioner: &str| {
            snapshot(
                Install::Deployment { name: "p".into() },
                vec![claim(pvc("p", "std", "64Mi", "64Mi"))],
                vec![class("std", provisioner, Some(true))],
            )
        };
        // 64Mi + 50% is 96Mi exactly: no rounding, no note (it was 1Gi).
        let plan_ = plan(&small("x"), &increase("50%"), false).unwrap();
        assert_eq!(plan_.target.to_string(), "96Mi");
        assert!(
            plan_.notes.iter().all(|n| !n.contains("rounded")),
            "{:?}",
            plan_.notes
        );
        // 64Mi + 10% is 70.4Mi: whole Mi, said in the plan.
        let plan_ = plan(&small("x"), &increase("10%"), false).unwrap();
        assert_eq!(plan_.target.to_string(), "71Mi");
        assert!(
            has_note(&plan_, "rounded up to 71Mi (whole Mi"),
            "{:?}",
            plan_.notes
        );
        // On EBS the volume is whole GiB anyway: the request says so, for every flag.
        let plan_ = plan(&small("ebs.csi.aws.com"), &increase("10%"), false).unwrap();
        assert_eq!(plan_.target.to_string(), "1Gi");
        assert!(
            has_note(&plan_, "provisioner ebs.csi.aws.com allocates whole GiB"),
            "{:?}",
            plan_.notes
        );
        let plan_ = plan(&small("ebs.csi.aws.com"), &add("100Mi"), false).unwrap();
        assert_eq!(plan_.target.to_string(), "1Gi");
        // --size and --add are exact on a class without a unit.
        let plan_ = plan(&small("x"), &add("1Mi"), false).unwrap();
        assert_eq!(plan_.target.to_string(), "65Mi");
    }

    #[test]
    fn class_without_expansion_is_refused_with_the_admission_text_or_fixed_separately() {
        for expandable in [None, Some(false)] {
            let snap = deployment_snapshot(expandable);
            let err = plan(&snap, &add("100Gi"), false).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(NOT_EXPANDABLE_ADMISSION), "{text}");
            assert!(text.contains("cluster-wide"), "{text}");
            assert!(err.hint().unwrap().contains("--allow-expansion"));

            let plan = plan(&snap, &add("100Gi"), true).unwrap();
            assert_eq!(
                plan.steps[0],
                (
                    Phase::AllowExpansion,
                    Action::AllowExpansion {
                        class: "gp2".into(),
                        resource_version: "sc-rv".into()
                    }
                )
            );
            assert_eq!(plan.phase(Phase::AllowExpansion).count(), 1);
            assert_eq!(plan.phase(Phase::Resize).count(), 1);
            let patch = plan.steps[0].1.merge_patch().unwrap();
            assert_eq!(patch["allowVolumeExpansion"], true);
            assert_eq!(plan.access()[0].namespace, None);
            assert!(render(&plan).contains("cluster-wide"));
        }
    }

    #[test]
    fn unbound_and_static_claims_are_refused() {
        let mut snap = deployment_snapshot(Some(true));
        snap.claims[0].pvc.status.as_mut().unwrap().phase = Some("Pending".into());
        let err = plan(&snap, &add("1Gi"), false).unwrap_err();
        assert!(err.to_string().contains(NOT_BOUND_ADMISSION), "{err}");

        let mut snap = deployment_snapshot(Some(true));
        snap.claims[0].pvc.spec.as_mut().unwrap().storage_class_name = Some(String::new());
        let err = plan(&snap, &add("1Gi"), false).unwrap_err();
        assert!(err.to_string().contains("statically provisioned"), "{err}");

        let mut snap = deployment_snapshot(Some(true));
        snap.classes.clear();
        assert!(
            plan(&snap, &add("1Gi"), false)
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
    }

    #[test]
    fn no_claims_means_nothing_to_resize() {
        let mut snap = deployment_snapshot(Some(true));
        snap.claims.clear();
        let err = plan(&snap, &add("1Gi"), false).unwrap_err();
        assert!(err.to_string().contains("nothing to resize"), "{err}");
    }

    #[test]
    fn statefulset_patches_every_claim_then_recreates_with_the_new_template() {
        let sts = statefulset("prometheus-server", "storage-volume", "8Gi");
        let mut snap = snapshot(
            Install::StatefulSet {
                object: Box::new(sts),
                template: "storage-volume".into(),
            },
            vec![
                claim(pvc(
                    "storage-volume-prometheus-server-0",
                    "std",
                    "8Gi",
                    "8Gi",
                )),
                claim(pvc(
                    "storage-volume-prometheus-server-1",
                    "std",
                    "8Gi",
                    "8Gi",
                )),
            ],
            vec![class("std", "x", Some(true))],
        );
        snap.chart_release = Some("prometheus".into());
        let plan = plan(&snap, &SizeRequest::Absolute(q("16Gi")), false).unwrap();
        assert_eq!(plan.flavour, ResizeFlavour::HelmChartStatefulSet);
        let resize: Vec<_> = plan.phase(Phase::Resize).collect();
        assert_eq!(resize.len(), 2);
        assert!(
            resize
                .iter()
                .all(|s| matches!(s, Action::PatchClaim { to, .. } if to.to_string() == "16Gi"))
        );
        let recreate: Vec<_> = plan.phase(Phase::RecreateStatefulSet).collect();
        assert_eq!(
            *recreate[0],
            Action::OrphanDeleteStatefulSet(StatefulSetRef {
                name: "prometheus-server".into(),
                uid: "uid-1".into(),
                resource_version: "sts-rv".into(),
                template_storage: None,
            })
        );
        let Action::RecreateStatefulSet { object, from, .. } = recreate[1] else {
            panic!("expected a recreate step, got {:?}", recreate[1]);
        };
        assert_eq!(from.as_deref(), Some("8Gi"));
        assert_eq!(object.metadata.uid, None);
        assert_eq!(object.metadata.resource_version, None);
        assert_eq!(object.metadata.generation, None);
        assert!(object.status.is_none());
        assert_eq!(
            object.metadata.labels.as_ref().unwrap()["app"],
            "prometheus"
        );
        let templates = object
            .spec
            .as_ref()
            .unwrap()
            .volume_claim_templates
            .as_ref()
            .unwrap();
        assert_eq!(
            templates[0]
                .spec
                .as_ref()
                .unwrap()
                .resources
                .as_ref()
                .unwrap()
                .requests
                .as_ref()
                .unwrap()["storage"]
                .0,
            "16Gi"
        );
        assert_eq!(object.spec.as_ref().unwrap().replicas, Some(2));
        let text = render(&plan);
        assert!(
            text.contains("delete statefulset/prometheus-server --cascade=orphan"),
            "{text}"
        );
        assert!(
            text.contains(
                "+ spec.volumeClaimTemplates[storage-volume].spec.resources.requests.storage: 16Gi"
            ),
            "{text}"
        );
        assert!(
            plan.access()
                .iter()
                .any(|a| a.verb == "create" && a.resource == "statefulsets")
        );
    }

    fn operator_snapshot(paused: bool) -> Parts {
        snapshot(
            Install::Operator {
                name: "k8s".into(),
                resource_version: "prom-rv".into(),
                paused,
                storage_request: Some("50Gi".into()),
                statefulsets: vec![StatefulSetRef {
                    name: "prometheus-k8s".into(),
                    uid: "u".into(),
                    resource_version: "s".into(),
                    template_storage: Some("50Gi".into()),
                }],
            },
            vec![
                claim(pvc(
                    "prometheus-k8s-db-prometheus-k8s-0",
                    "std",
                    "50Gi",
                    "50Gi",
                )),
                claim(pvc(
                    "prometheus-k8s-db-prometheus-k8s-1",
                    "std",
                    "50Gi",
                    "50Gi",
                )),
            ],
            vec![class("std", "x", Some(true))],
        )
    }

    #[test]
    fn operator_pauses_patches_claims_orphans_and_unpauses_in_order() {
        let plan = plan(
            &operator_snapshot(false),
            &SizeRequest::Increase(Percent::parse("20%").unwrap()),
            false,
        )
        .unwrap();
        assert_eq!(plan.flavour, ResizeFlavour::Operator);
        let kinds: Vec<String> = plan.steps.iter().map(|(_, s)| s.summary()).collect();
        assert_eq!(kinds.len(), 5, "{kinds:#?}");
        assert!(kinds[0].starts_with("patch prometheus/k8s: pause"));
        assert_eq!(
            kinds[1],
            "patch persistentvolumeclaim/prometheus-k8s-db-prometheus-k8s-0"
        );
        assert_eq!(
            kinds[2],
            "patch persistentvolumeclaim/prometheus-k8s-db-prometheus-k8s-1"
        );
        assert!(kinds[3].starts_with("delete statefulset/prometheus-k8s --cascade=orphan"));
        assert!(kinds[4].starts_with("patch prometheus/k8s: resume"));
        assert!(plan.steps.iter().all(|(p, _)| *p == Phase::Resize));
        let pause = plan.steps[0].1.merge_patch().unwrap();
        assert_eq!(pause["spec"]["paused"], true);
        assert_eq!(
            pause["spec"]["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"],
            "60Gi"
        );
        assert_eq!(pause["metadata"]["resourceVersion"], "prom-rv");
        assert_eq!(
            plan.steps[4].1.merge_patch().unwrap(),
            json!({"spec": {"paused": false}})
        );
        assert!(
            plan.access()
                .iter()
                .any(|a| a.resource == "prometheuses" && a.group == "monitoring.coreos.com")
        );
    }

    #[test]
    fn an_operator_resize_already_done_is_only_followed() {
        // An interrupted run left everything asking for 60Gi (the claims still growing): nothing to pause again.
        let mut snap = operator_snapshot(false);
        let Install::Operator {
            storage_request,
            statefulsets,
            ..
        } = &mut snap.install
        else {
            unreachable!("the operator fixture")
        };
        *storage_request = Some("60Gi".into());
        statefulsets[0].template_storage = Some("60Gi".into());
        for c in &mut snap.claims {
            *c = claim(pvc(
                c.pvc.metadata.name.as_deref().unwrap(),
                "std",
                "60Gi",
                "50Gi",
            ));
        }
        let size = SizeRequest::Absolute(Quantity::parse("60Gi").unwrap());
        let settled = plan(&snap, &size, false).unwrap();
        assert!(settled.steps.is_empty(), "{:#?}", settled.steps);
        assert_eq!(settled.claims.len(), 2, "the claims are still followed");
        // Still growing: followed, which is not "nothing to change" (that is said once every claim has the size).
        assert!(
            settled.notes.iter().any(|n| n.contains("followed")),
            "{:#?}",
            settled.notes
        );
        assert!(
            !settled
                .notes
                .iter()
                .any(|n| n.contains("nothing to change")),
            "{:#?}",
            settled.notes
        );
        // The StatefulSet still carries the old template (the run stopped before the orphan delete): the operator
        // sequence is needed again, without claim patches.
        if let Install::Operator { statefulsets, .. } = &mut snap.install {
            statefulsets[0].template_storage = Some("50Gi".into());
        }
        let kinds: Vec<String> = plan(&snap, &size, false)
            .unwrap()
            .steps
            .iter()
            .map(|(_, s)| s.summary())
            .collect();
        assert_eq!(kinds.len(), 3, "{kinds:#?}");
        assert!(kinds[1].starts_with("delete statefulset/prometheus-k8s --cascade=orphan"));
    }

    #[test]
    fn operator_already_paused_is_refused_with_an_unpause_that_restores_the_statefulsets_request() {
        let err = plan(&operator_snapshot(true), &add("10Gi"), false).unwrap_err();
        assert!(err.to_string().contains("already paused"), "{err}");
        let hint = err.hint().unwrap_or_default();
        assert!(
            hint.contains(r#""paused":false"#) && hint.contains(r#""storage":"50Gi""#),
            "a bare `paused: false` makes the operator replace the StatefulSet: {hint}"
        );
    }

    /// An operator resource paused at the very size asked for is this resize left half-done (claims partly grown,
    /// the StatefulSet orphan-deleted or not): it is finished, and the rollback puts back what the StatefulSet was
    /// created with, not the half-done request.
    #[test]
    fn a_half_done_operator_resize_is_recognised_and_only_what_is_left_is_planned() {
        let mut snap = operator_snapshot(true);
        let Install::Operator {
            storage_request, ..
        } = &mut snap.install
        else {
            unreachable!()
        };
        *storage_request = Some("60Gi".into());
        snap.claims[0] = claim(pvc(
            "prometheus-k8s-db-prometheus-k8s-0",
            "std",
            "60Gi",
            "60Gi",
        ));
        let plan = plan(&snap, &SizeRequest::Absolute(q("60Gi")), false).unwrap();
        let kinds: Vec<String> = plan.steps.iter().map(|(_, s)| s.summary()).collect();
        assert_eq!(kinds.len(), 4, "{kinds:#?}");
        assert!(kinds[0].starts_with("patch prometheus/k8s: pause"));
        assert_eq!(
            kinds[1],
            "patch persistentvolumeclaim/prometheus-k8s-db-prometheus-k8s-1"
        );
        assert!(kinds[2].starts_with("delete statefulset/prometheus-k8s"));
        assert!(kinds[3].starts_with("patch prometheus/k8s: resume"));
        assert!(matches!(
            &plan.steps[0].1,
            Action::PausePrometheus { from: Some(from), .. } if from == "50Gi"
        ));
        // The StatefulSet already gone (orphan-deleted before the stop): nothing to orphan.
        let Install::Operator { statefulsets, .. } = &mut snap.install else {
            unreachable!()
        };
        statefulsets.clear();
        let plan = self::plan(&snap, &SizeRequest::Absolute(q("60Gi")), false).unwrap();
        assert!(
            !plan
                .steps
                .iter()
                .any(|(_, s)| matches!(s, Action::OrphanDeleteStatefulSet(_))),
            "{:#?}",
            plan.steps
        );
    }

    /// A claim already grown by a run that failed half-way is done, not a reason to refuse: the absolute size plans
    /// only the rest. Everything at the size, nothing left: a plan with nothing to change.
    #[test]
    fn a_partial_resize_is_finished_by_the_absolute_size() {
        let mut snap = operator_snapshot(false);
        snap.claims[0] = claim(pvc(
            "prometheus-k8s-db-prometheus-k8s-0",
            "std",
            "60Gi",
            "60Gi",
        ));
        let plan = plan(&snap, &SizeRequest::Absolute(q("60Gi")), false).unwrap();
        let claims: Vec<String> = plan
            .steps
            .iter()
            .filter_map(|(_, s)| match s {
                Action::PatchClaim { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(claims, ["prometheus-k8s-db-prometheus-k8s-1"]);
        let mut done = deployment_snapshot(Some(true));
        done.claims[0] = claim(pvc("prometheus-server", "gp2", "60Gi", "60Gi"));
        let done = self::plan(&done, &SizeRequest::Absolute(q("60Gi")), false).unwrap();
        assert!(done.steps.is_empty(), "{:#?}", done.steps);
        assert!(
            done.notes
                .iter()
                .any(|n| n.starts_with("nothing to change: every claim already is 60Gi")),
            "{:#?}",
            done.notes
        );
    }

    /// The attacks on "nothing to change": it is said only when every claim has the size (capacity and request) and
    /// the install object asks for it. A claim still growing is followed; a paused operator resource is unpaused; a
    /// StatefulSet template left behind is recreated.
    #[test]
    fn nothing_to_change_only_when_every_claim_and_the_install_already_are_the_size() {
        let said = |p: &ResizePlan| p.notes.iter().any(|n| n.contains("nothing to change"));
        // Every claim asks for 60Gi, one still has 50Gi: nothing to send, the claims are followed, not "done".
        let growing = snapshot(
            Install::Deployment { name: "p".into() },
            vec![claim(pvc("p", "std", "60Gi", "50Gi"))],
            vec![class("std", "x", Some(true))],
        );
        let growing = plan(&growing, &SizeRequest::Absolute(q("60Gi")), false).unwrap();
        assert!(growing.steps.is_empty(), "{:#?}", growing.steps);
        assert!(!said(&growing), "{:#?}", growing.notes);
        // The operator resource, its StatefulSet and both claims at 60Gi: nothing to change.
        let mut settled = operator_snapshot(false);
        let Install::Operator {
            storage_request,
            statefulsets,
            ..
        } = &mut settled.install
        else {
            unreachable!("the operator fixture")
        };
        *storage_request = Some("60Gi".into());
        statefulsets[0].template_storage = Some("60Gi".into());
        for c in &mut settled.claims {
            *c = claim(pvc(
                c.pvc.metadata.name.as_deref().unwrap(),
                "std",
                "60Gi",
                "60Gi",
            ));
        }
        let size = SizeRequest::Absolute(q("60Gi"));
        let done = plan(&settled, &size, false).unwrap();
        assert!(done.steps.is_empty(), "{:#?}", done.steps);
        assert!(said(&done), "{:#?}", done.notes);
        // The same, but the resource is still paused (an interrupt before the unpause): it is unpaused, never
        // reported as nothing to change.
        let mut paused = settled;
        if let Install::Operator { paused, .. } = &mut paused.install {
            *paused = true;
        }
        let resume = plan(&paused, &size, false).unwrap();
        assert!(!said(&resume), "{:#?}", resume.notes);
        assert!(
            resume
                .steps
                .iter()
                .any(|(_, s)| matches!(s, Action::UnpausePrometheus { .. })),
            "{:#?}",
            resume.steps
        );
        // A StatefulSet whose claim template is still smaller: it is recreated, not "nothing to change".
        let sts = snapshot(
            Install::StatefulSet {
                object: Box::new(statefulset("prometheus-server", "storage-volume", "50Gi")),
                template: "storage-volume".into(),
            },
            vec![claim(pvc(
                "storage-volume-prometheus-server-0",
                "std",
                "60Gi",
                "60Gi",
            ))],
            vec![class("std", "x", Some(true))],
        );
        let left = plan(&sts, &size, false).unwrap();
        assert!(!said(&left), "{:#?}", left.notes);
        assert!(
            left.steps
                .iter()
                .any(|(_, s)| matches!(s, Action::RecreateStatefulSet { .. })),
            "{:#?}",
            left.steps
        );
    }

    /// Only the instance's own pod that a ReplicaSet or StatefulSet recreates may be restarted, and the plan says
    /// so; a pod nobody recreates is named in a warning, never planned.
    #[test]
    fn only_pods_a_controller_recreates_are_planned_for_a_restart() {
        let mut snap = deployment_snapshot(Some(true));
        snap.claims[0].pod = Some(ClaimPod {
            name: "prometheus-server-abc".into(),
            uid: "pod-uid".into(),
            controller: Some(PodController {
                kind: "ReplicaSet".into(),
                name: "prometheus-server-5d9".into(),
            }),
            ..Default::default()
        });
        let planned = plan(&snap, &add("10Gi"), false).unwrap();
        assert_eq!(planned.restarts.len(), 1);
        assert!(
            render(&planned).contains(
                "restart pod prometheus-server-abc (its ReplicaSet prometheus-server-5d9 recreates it"
            ),
            "{}",
            render(&planned)
        );
        snap.claims[0].pod.as_mut().unwrap().controller = None;
        let bare = plan(&snap, &add("10Gi"), false).unwrap();
        assert!(bare.restarts.is_empty());
        assert!(
            bare.warnings
                .iter()
                .any(|w| w.contains("no controller recreates it") && w.contains("never deletes")),
            "{:#?}",
            bare.warnings
        );
    }

    /// Issue 16 (S7): on a 1.36 resizer an offline-only driver refuses while any pod holds the claim, so the advice
    /// names every other holder — a bare pod as not ours to delete, a terminating one (even this instance's old pod)
    /// as something to wait for — and the plan no longer promises that a restart makes an offline driver grow it.
    #[test]
    fn offline_advice_names_every_pod_holding_the_claim_and_the_plan_promises_no_restart_cure() {
        let mut snap = deployment_snapshot(Some(true));
        let rs = PodController {
            kind: "ReplicaSet".into(),
            name: "prometheus-server-5d9".into(),
        };
        snap.claims[0].pod = Some(ClaimPod {
            name: "prometheus-server-abc".into(),
            uid: "pod-uid".into(),
            controller: Some(rs.clone()),
            ..Default::default()
        });
        let planned = plan(&snap, &add("10Gi"), false).unwrap();
        let text = render(&planned);
        assert!(
            text.contains("its filesystem waits for a pod to mount it again (FileSystemResizePending)")
                && text.contains("A driver that expands only offline refuses while any pod uses the claim; no restart helps there")
                && !text.contains("(a driver that expands offline), each asked then"),
            "{text}"
        );
        let pod = |name: &str, owner: Option<&PodController>, terminating: bool| {
            let mut p = k8s_openapi::api::core::v1::Pod::default();
            p.metadata.name = Some(name.into());
            p.metadata.owner_references = owner.map(|c| {
                vec![
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                        kind: c.kind.clone(),
                        name: c.name.clone(),
                        controller: Some(true),
                        ..Default::default()
                    },
                ]
            });
            if terminating {
                p.metadata.deletion_timestamp =
                    Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                        k8s_openapi::jiff::Timestamp::now(),
                    ));
            }
            p
        };
        let holders = [
            pod("prometheus-server-abc", Some(&rs), false),
            pod("prometheus-server-old", Some(&rs), true),
            pod("backup-uploader", None, false),
        ];
        let others = crate::resize::apply::other_holders(&planned, "prometheus-server", &holders);
        let said = crate::resize::apply::offline_in_use_message(
            &planned,
            Some("pvc-1"),
            planned.target,
            "only supports offline expansion and volume is currently in-use",
            &others,
        );
        assert!(
            said.contains("pod prometheus-server-old (terminating: wait until it is gone)")
                && said.contains("pod backup-uploader (no controller recreates it)")
                && said.contains("resize never deletes a pod that is not this instance's own")
                && !said.contains("prometheus-server-abc"),
            "{said}"
        );
    }

    #[test]
    fn full_and_crash_looping_volumes_are_marked() {
        let mut snap = deployment_snapshot(Some(true));
        snap.claims[0].usage = Some(Usage {
            capacity_bytes: 1000,
            used_bytes: 990,
            available_bytes: 10,
            source: UsageSource::StatsSummary,
        });
        snap.claims[0].pod = Some(ClaimPod {
            name: "prometheus-server-abc".into(),
            crash_looping: true,
            full_disk: true,
            ..Default::default()
        });
        let plan = plan(&snap, &add("100Gi"), false).unwrap();
        assert!(plan.claims[0].nearly_full);
        assert!(plan.claims[0].crash_looping_on_full_disk());
        let text = render(&plan);
        assert!(
            text.contains(
                "nearly full; pod prometheus-server-abc crash-looping: no space left on device"
            ),
            "{text}"
        );
        assert!(text.contains("(99%)"), "{text}");
    }

    #[test]
    fn usage_thresholds() {
        let u = |cap, used, avail| Usage {
            capacity_bytes: cap,
            used_bytes: used,
            available_bytes: avail,
            source: UsageSource::Df,
        };
        assert!(!u(100, 80, 20).nearly_full());
        assert!(u(100, 86, 14).nearly_full());
        assert_eq!(u(100, 86, 14).used_percent(), 86);
        assert_eq!(u(0, 0, 0).used_percent(), 0);
        assert_eq!(human_bytes(1536), "1.5Ki");
        assert_eq!(human_bytes(1300 << 30), "1.3Ti");
    }

    #[test]
    fn size_request_from_flags() {
        assert_eq!(
            SizeRequest::from_flags(Some("1300Gi"), None, None).unwrap(),
            SizeRequest::Absolute(q("1300Gi"))
        );
        assert!(
            SizeRequest::from_flags(None, Some("0"), None)
                .unwrap_err()
                .to_string()
                .contains("not a positive size")
        );
        assert!(SizeRequest::from_flags(None, Some("-5Gi"), None).is_err());
        assert!(SizeRequest::from_flags(None, None, Some("abc")).is_err());
        assert!(SizeRequest::from_flags(None, None, None).is_err());
        assert_eq!(
            SizeRequest::from_flags(None, None, Some("25%"))
                .unwrap()
                .flag(),
            "--increase 25%"
        );
    }

    /// The snapshot a fixture of cluster objects gives (tests/fixtures/resize/*.yaml, written by us in the shapes real
    /// installs have), as the one gather fills it: discovery recognises the instance from the listed objects, and
    /// inspect's `assemble_one` gives it its own objects (install objects, claims, classes). Then `plan` decides.
    fn snapshot_from_fixture(file: &str) -> InstanceSnapshot {
        let path = format!(
            "{}/tests/fixtures/resize/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let objects = crate::inspect::snapshot::Objects::from_yaml(&text).unwrap();
        let mut instances = crate::inspect::snapshot::assemble(&objects);
        assert_eq!(instances.len(), 1, "{file}: one instance");
        let snap = instances.remove(0);
        assert_eq!(
            snap.pvcs.len(),
            objects.pvcs.len(),
            "{file}: every claim is the instance's"
        );
        snap
    }

    /// The steps of a plan as `phase: summary`, the way a reviewer reads it.
    fn steps_of(plan: &ResizePlan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|(phase, step)| format!("{phase:?}: {}", step.summary()))
            .collect()
    }

    #[test]
    fn decide_from_fixtures_of_real_install_shapes() {
        // The chart's Deployment on EBS: one claim, rounded to whole GiB (8Gi + 10% = 8.8Gi → 9Gi), the Helm values
        // note and the EBS once-per-6-hours warning.
        let snap = snapshot_from_fixture("chart-deployment-ebs.yaml");
        let increase = SizeRequest::Increase(Percent::parse("10%").unwrap());
        let plan_ = super::plan(&snap, &increase, false).unwrap();
        assert_eq!(plan_.flavour, ResizeFlavour::HelmChart);
        assert_eq!(plan_.target.to_string(), "9Gi");
        assert_eq!(
            steps_of(&plan_),
            ["Resize: patch persistentvolumeclaim/prometheus-server"]
        );
        assert!(plan_.notes.iter().any(|n| n.contains("gives 9448928052 bytes (about 8.8Gi): rounded up to 9Gi (whole Gi: StorageClass gp3's provisioner ebs.csi.aws.com")), "{:?}", plan_.notes);
        assert!(
            plan_
                .notes
                .iter()
                .any(|n| n.contains("server.persistentVolume.size") && n.contains("9Gi")),
            "{:?}",
            plan_.notes
        );
        assert!(
            plan_
                .warnings
                .iter()
                .any(|w| w.contains("once every 6 hours")),
            "{:?}",
            plan_.warnings
        );
        let access: Vec<String> = plan_.access().iter().map(|a| a.can_i()).collect();
        assert_eq!(access.len(), 1, "{access:?}");
        assert!(
            access[0].contains("patch persistentvolumeclaims/prometheus-server"),
            "{access:?}"
        );

        // The chart's StatefulSet: every claim, then the StatefulSet recreated with the larger template (its own
        // confirmation), created without a uid or resourceVersion.
        let snap = snapshot_from_fixture("chart-statefulset.yaml");
        let plan_ = super::plan(&snap, &SizeRequest::Absolute(q("16Gi")), false).unwrap();
        assert_eq!(plan_.flavour, ResizeFlavour::HelmChartStatefulSet);
        assert_eq!(
            steps_of(&plan_),
            [
                "Resize: patch persistentvolumeclaim/storage-volume-prometheus-server-0",
                "Resize: patch persistentvolumeclaim/storage-volume-prometheus-server-1",
                "RecreateStatefulSet: delete statefulset/prometheus-server --cascade=orphan (its pods keep running)",
                "RecreateStatefulSet: create statefulset/prometheus-server with the larger claim template (it adopts the running pods)",
            ]
        );
        let crate::engine::Change::Create { body, .. } = plan_.steps[3].1.change("monitoring")
        else {
            panic!("not a create")
        };
        assert_eq!(
            body["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            "16Gi"
        );
        assert!(
            body["metadata"].get("uid").is_none()
                && body["metadata"].get("resourceVersion").is_none()
        );
        let crate::engine::Change::DeleteOrphan {
            uid,
            resource_version,
            ..
        } = plan_.steps[2].1.change("monitoring")
        else {
            panic!("not an orphan delete")
        };
        assert_eq!(uid, "7d0c2f4e-0000-4000-8000-000000000001");
        assert!(resource_version.is_empty(), "held by uid alone");

        // The operator: pause with the new request, the claim, the StatefulSet orphaned, unpause — the unpause
        // without a precondition, everything else preconditioned.
        let snap = snapshot_from_fixture("operator.yaml");
        let plan_ = super::plan(&snap, &add("10Gi"), false).unwrap();
        assert_eq!(plan_.flavour, ResizeFlavour::Operator);
        assert_eq!(plan_.target.to_string(), "60Gi");
        assert_eq!(
            steps_of(&plan_),
            [
                "Resize: patch prometheus/kps-prometheus: pause reconciliation and raise the storage request",
                "Resize: patch persistentvolumeclaim/prometheus-kps-prometheus-db-prometheus-kps-prometheus-0",
                "Resize: delete statefulset/prometheus-kps-prometheus --cascade=orphan (its pods keep running)",
                "Resize: patch prometheus/kps-prometheus: resume reconciliation (the operator recreates its StatefulSet)",
            ]
        );
        let preconditions: Vec<Option<String>> = plan_
            .steps
            .iter()
            .filter_map(|(_, s)| match s.change("monitoring") {
                crate::engine::Change::Patch {
                    resource_version, ..
                } => Some(resource_version),
                _ => None,
            })
            .collect();
        assert_eq!(
            preconditions,
            [Some("99120".to_string()), Some("98000".to_string()), None]
        );
    }
}
