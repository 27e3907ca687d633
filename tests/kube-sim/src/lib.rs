//! kube-sim: a simulated Kubernetes cluster (API server + kubelet) for kubectl-prom's tests and no-cluster demo.
