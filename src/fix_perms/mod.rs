//! fix-perms' logic: what it reads from inspect's one snapshot (`facts`: plain functions over
//! `inspect::snapshot::InstanceSnapshot`, which `inspect::perms` fills), the pure diagnosis (`diagnose`), the pure
//! per-flavour plan (`plan`), and applying/following/verifying that plan (`apply`). Only `apply` does I/O, through
//! the engine and inspect.

pub mod apply;
pub mod diagnose;
pub mod facts;
pub mod plan;

#[cfg(test)]
pub(crate) mod fixtures;

pub use diagnose::{Diagnosis, FsGroupSupport, InitStep, VolumeDiagnosis, diagnose};
pub use plan::{Edit, Fix, FixKind, PermsPlan, ValuesChange, edit_object, plan};

use crate::discover::{self, Instance, WorkloadKind, WorkloadRef};
use crate::error::{Error, Result};

/// The name of the one-off init step fix-perms adds where fsGroup cannot work, and removes afterwards.
pub const CHOWN_STEP_NAME: &str = "kubectl-prom-chown";

/// The workload whose pod template fix-perms changes, or why there is none (checked before anything else is read):
/// a bare pod has no template to change, and an instance without a workload neither.
pub fn workload_to_change(instance: &Instance) -> Result<&WorkloadRef> {
    let ns = &instance.namespace;
    let workload = instance.workloads.first().ok_or_else(|| Error::Target {
        message: format!(
            "{} has no Deployment or StatefulSet; fix-perms changes a workload's pod template",
            discover::describe(instance)
        ),
        hint: None,
    })?;
    if workload.kind == WorkloadKind::Pod {
        return Err(Error::Target {
            message: format!(
                "pod {ns}/{} has no controller; fix-perms changes a Deployment, StatefulSet or Prometheus resource",
                workload.name
            ),
            hint: Some(format!(
                "kubectl prom fix-perms -n {ns} (without pod/…) lists the instances"
            )),
        });
    }
    Ok(workload)
}
