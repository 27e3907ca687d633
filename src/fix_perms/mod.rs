//! fix-perms' engine: the snapshot it reads (gathered once by `gather`), the pure diagnosis (`diagnose`), the pure
//! per-flavour plan (`plan`), and applying/following/verifying that plan (`apply`). Only `gather` and `apply` do I/O.

pub mod apply;
pub mod diagnose;
pub mod gather;
pub mod plan;
pub mod snapshot;

#[cfg(test)]
pub(crate) mod fixtures;

pub use diagnose::{Diagnosis, FsGroupSupport, InitStep, VolumeDiagnosis, diagnose};
pub use plan::{Edit, Fix, FixKind, PermsPlan, ValuesChange, edit_object, plan};
pub use snapshot::{PermsSnapshot, PodState, VolumeRoot};

/// The name of the one-off init step fix-perms adds where fsGroup cannot work, and removes afterwards.
pub const CHOWN_STEP_NAME: &str = "kubectl-prom-chown";
