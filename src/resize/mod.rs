//! `resize` internals: the snapshot model, pure pre-flight and planning, gathering, and apply/watch/verify.

pub mod apply;
pub mod gather;
pub mod model;
pub mod plan;
