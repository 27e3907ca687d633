//! Finding Prometheus servers: parse a target argument ([`target`]), list the objects ([`list`]), recognise the
//! instances in them (pure, [`recognise`]), and pick one.
//!
//! Public API, for every verb:
//! - [`resolve_one`]: the target argument (or none) → exactly one [`Instance`], with a picker on a terminal.
//! - [`discover_all`]: every instance in the scope (for `doctor -A`), then [`select`] to narrow by a target.
//! - [`gather`] + [`find_instances`]: the I/O and the pure recognition, separately (unit-test from fixtures).
//! - [`parse_target`]: `deploy/NAME|sts/NAME|pod/NAME|prometheus/NAME|NAME` → [`TargetRef`].
//!
//! The model types are re-exported from `crate::model`, where they are defined.

pub mod list;
pub mod recognise;
pub mod target;

pub use crate::model::*;
pub use list::{
    gather, gather_pods, gather_workloads, include_named_pod, namespace_names, selector_text,
};
pub use recognise::Discovered;
pub use recognise::{Inventory, find_instances, select, selector_matches};
pub use target::{TargetRef, parse_target};

use crate::context::{Ctx, Scope};
use crate::error::{Error, Result};

/// Every Prometheus instance in the Ctx's scope.
pub async fn discover_all(ctx: &Ctx) -> Result<Vec<Instance>> {
    let mut all = find_instances(&gather(&ctx.client, &ctx.settings.scope).await?);
    // The Helm release record, where the user may read it: which chart and version (src/install/, issue 18).
    let mut origins: Vec<&mut crate::install::Origin> =
        all.iter_mut().map(|i| &mut i.origin).collect();
    crate::install::read_release_records(&ctx.client, &mut origins).await;
    Ok(all)
}

/// [`resolve`] for a verb that needs only the [`Instance`].
pub async fn resolve_one(ctx: &Ctx, target: Option<&str>) -> Result<Instance> {
    Ok(resolve(ctx, target).await?.instance)
}

/// The target argument (or none) → exactly one instance, with the objects it was recognised from. Several
/// candidates: a picker on a terminal, otherwise an error listing them.
pub async fn resolve(ctx: &Ctx, target: Option<&str>) -> Result<Discovered> {
    let parsed = target.map(parse_target).transpose()?;
    let mut inventory = gather(&ctx.client, &ctx.settings.scope).await?;
    if let Some(t) = &parsed {
        include_named_pod(&ctx.client, &ctx.settings.scope, t, &mut inventory).await?;
    }
    let all = find_instances(&inventory);
    let candidates = match &parsed {
        Some(t) => select(&all, t),
        None => all.clone(),
    };
    let where_ = match &ctx.settings.scope {
        Scope::Namespace(ns) => format!("in namespace `{ns}`"),
        Scope::AllNamespaces => "in any namespace".to_string(),
    };
    match candidates.len() {
        0 => Err(no_match(target, &all, &where_)),
        1 => {
            let mut one = candidates.into_iter().next().expect("one candidate");
            crate::install::read_release_records(&ctx.client, &mut [&mut one.origin]).await;
            Ok(Discovered::of(&inventory, one))
        }
        _ if ctx.settings.interactive => {
            let labels: Vec<String> = candidates.iter().map(describe).collect();
            let picked = crate::ui::pick("Several Prometheus servers match; which one?", &labels)?;
            let mut one = candidates[picked].clone();
            crate::install::read_release_records(&ctx.client, &mut [&mut one.origin]).await;
            Ok(Discovered::of(&inventory, one))
        }
        _ => Err(Error::Target {
            message: format!(
                "{} Prometheus servers match {where_}: {}",
                candidates.len(),
                candidates
                    .iter()
                    .map(describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            hint: Some(format!(
                "name one, e.g. `kubectl prom … {} -n {}`",
                target_arg(&candidates[0]),
                candidates[0].namespace
            )),
        }),
    }
}

fn no_match(target: Option<&str>, all: &[Instance], where_: &str) -> Error {
    match target {
        None => Error::Target {
            message: format!("no Prometheus server found {where_}"),
            hint: Some("pick the namespace with -n NAMESPACE, or search everywhere with -A".into()),
        },
        Some(t) => Error::Target {
            message: format!("no Prometheus server matches `{t}` {where_}"),
            hint: Some(if all.is_empty() {
                "there is no Prometheus server there at all; try -A".to_string()
            } else {
                format!(
                    "found instead: {}",
                    all.iter().map(target_arg).collect::<Vec<_>>().join(", ")
                )
            }),
        },
    }
}

/// The argument that names this instance unambiguously (`prometheus/x`, `deploy/x`, `sts/x`, `pod/x`).
pub fn target_arg(i: &Instance) -> String {
    match &i.flavour {
        Flavour::Operator { prometheus } => format!("prometheus/{prometheus}"),
        _ => i
            .workloads
            .first()
            .map(WorkloadRef::display)
            .unwrap_or_else(|| i.name.clone()),
    }
}

/// One line: `monitoring/prometheus-server (Helm chart release prometheus, deploy/prometheus-server, 1 pod)`.
pub fn describe(i: &Instance) -> String {
    let pods = match i.pods.len() {
        1 => "1 pod".to_string(),
        n => format!("{n} pods"),
    };
    // A pod shutting down is not one of its pods (discover's rule), but it still runs and may hold the volume: named.
    let terminating = match i.terminating.as_slice() {
        [] => String::new(),
        [one] => format!("; pod {} is terminating", one.name),
        many => format!(
            "; pods {} are terminating",
            many.iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "{}/{} ({}, {pods}{terminating})",
        i.namespace,
        i.name,
        install_of(i)
    )
}

/// [`describe`] without the pods, for when they were not read (completion's one-round answer).
pub fn describe_install(i: &Instance) -> String {
    format!("{}/{} ({})", i.namespace, i.name, install_of(i))
}

/// `Helm chart release prometheus, deploy/prometheus-server`.
fn install_of(i: &Instance) -> String {
    let how = match &i.flavour {
        Flavour::Chart { release, .. } => format!("Helm chart release {release}"),
        Flavour::Operator { prometheus } => format!("operator resource prometheus/{prometheus}"),
        Flavour::Plain => "plain manifests".to_string(),
    };
    let workloads = i
        .workloads
        .iter()
        .map(WorkloadRef::display)
        .collect::<Vec<_>>()
        .join(", ");
    match &i.not_rendered {
        // Issue 16: a resource the operator could not render has no workload; say why instead.
        Some(why) if i.workloads.is_empty() => format!("{how}, no StatefulSet: {why}"),
        _ => format!("{how}, {workloads}"),
    }
}

#[cfg(test)]
mod tests;
