//! kube-sim: a simulated Kubernetes cluster (API server + kubelet) for kubectl-prom's tests and no-cluster demo.
//! The real `kubectl` is the judge of its fidelity; see README.md for what it models and what it does not.
pub mod admission;
pub mod bootstrap;
pub mod clock;
pub mod cluster;
pub mod control_plane;
pub mod controllers;
pub mod discovery;
pub mod kinds;
pub mod kubeconfig;
pub mod kubelet;
pub mod node;
pub mod node_agent;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod quantity;
pub mod rbac;
pub mod real_api;
pub mod registry;
pub mod rest;
pub mod selectors;
pub mod server;
pub mod status;
pub mod store;
pub mod table;
pub mod timeline;
pub mod tls;
pub mod validation;

pub use bootstrap::Options;
pub use cluster::{Cluster, StartError};
