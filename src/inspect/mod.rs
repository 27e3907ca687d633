//! The inspect step: everything read about the instances before a verb decides, as one plain [`snapshot::Snapshot`]
//! filled once and concurrently by [`gather`] (live; a refused or failed read is a named [`snapshot::Gap`], never an
//! abort) or by [`dump`] (offline, `--from-dump`), plus the kubelet's volume usage ([`usage`]), parsed in one place,
//! and what only fix-perms reads ([`perms`]: the data volume's CSIDriver, the data directory's owner and mode).
//! Checks and planners read it; nothing here decides.

pub mod dump;
pub mod gather;
pub mod instance;
pub mod perms;
pub mod snapshot;
pub mod usage;
