//! kube-sim as the node of the real control plane (issue 16, in progress): the `World` (control plane + node) the
//! `up --control-plane real` mode and the real-control-plane test start.
use crate::control_plane::{self, ControlPlane};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The real control plane and, once it is up, kube-sim's node on it.
pub struct World {
    pub control_plane: ControlPlane,
}

impl World {
    /// Boots etcd, kube-apiserver, kube-controller-manager and kube-scheduler from `bin` with their files in `dir`.
    pub async fn start(bin: &Path, dir: &Path) -> Result<Self, String> {
        let control_plane = ControlPlane::start(control_plane::Options {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            node_ip: "127.0.0.1".into(),
        })
        .await?;
        Ok(Self { control_plane })
    }

    pub fn kubeconfig(&self) -> &PathBuf {
        &self.control_plane.kubeconfig
    }

    pub fn boot_time(&self) -> Duration {
        self.control_plane.boot_time
    }

    pub async fn stop(&mut self) {
        self.control_plane.stop().await;
    }
}
