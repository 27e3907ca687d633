//! The `kube-sim` binary: `list`, `up`, `run` over the library.
fn main() {}
