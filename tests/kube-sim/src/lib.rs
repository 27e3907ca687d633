//! kube-sim: the node of the test world. `kube-sim up` starts the real Kubernetes control plane built by
//! tools/world/build.sh (`control_plane`) and is its one node (`node`: registration, the kubelet API, the CSI driver,
//! the knob proxy in front of the API server), running pods as real processes (`kubelet`). See README.md for what is
//! real and what is simulated.
pub mod api_client;
pub mod clock;
pub mod cluster;
pub mod control_plane;
pub mod http;
pub mod ids;
pub mod kubeconfig;
pub mod kubelet;
pub mod node;
pub mod quantity;

pub use cluster::{Cluster, Options, StartError};
