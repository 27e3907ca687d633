//! `resize` internals: the snapshot model, pure pre-flight and planning, gathering, apply/watch, verify, report.

pub mod apply;
pub mod gather;
pub mod model;
pub mod plan;
pub mod report;
pub mod verify;
