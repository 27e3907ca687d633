//! `resize` internals: its views of the one snapshot, pure pre-flight and planning, apply/watch, verify, report
//! (reading is inspect's: `crate::inspect::instance`).

pub mod apply;
pub mod model;
pub mod plan;
pub mod report;
pub mod verify;
