//! Reloading a Prometheus the way its install does, shared by the `reload` verb and doctor's checks (issue 17): how
//! the install reloads and whether the lifecycle API is on ([`lifecycle`]), what the pods should load and the one exec
//! session that reads a pod's file and runs promtool ([`config`]), one pod's reload judged from Prometheus' own
//! metrics ([`pod`]), and the proof by content that it runs what its file holds ([`content`]).

pub mod config;
pub mod content;
pub mod lifecycle;
pub mod pod;
pub mod rollout;
