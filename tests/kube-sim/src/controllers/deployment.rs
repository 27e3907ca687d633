//! deployment controller (being written).
use crate::server::ApiServer;

pub fn reconcile(_api: &ApiServer) {}
