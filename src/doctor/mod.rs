//! `doctor`'s engine: the checks over the snapshot, the catalog, the report, and several clusters at once (`fleet`).
//! The snapshot and its two fillers (live `gather`, offline `dump`) are `crate::inspect`'s, re-exported here. The verb's entry point is `commands/doctor.rs`.

pub mod catalog;
pub mod checks;
pub mod fleet;
pub mod report;

pub use crate::inspect::{dump, gather, snapshot};
