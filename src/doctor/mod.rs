//! `doctor`'s engine: the snapshot it reads, the checks over it, the catalog, the report, and the two ways of
//! filling a snapshot (live `gather`, offline `dump`), and several clusters at once (`fleet`). The verb's entry point is `commands/doctor.rs`.

pub mod catalog;
pub mod checks;
pub mod dump;
pub mod fleet;
pub mod gather;
pub mod report;
pub mod snapshot;
