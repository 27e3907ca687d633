//! A kube-sim binary that does not announce the real control plane is refused, not used: a stale build from before
//! the simulated API server was deleted printed only `export KUBECONFIG=…` and made e2e tests pass in a second
//! against the wrong world (seen in s6 after a merge without `cargo build -p kube-sim`).
use kube_sim::{Cluster, Options, StartError};
use std::os::unix::fs::PermissionsExt;

#[test]
fn a_binary_without_the_world_line_is_refused_as_stale() {
    let dir = std::env::temp_dir().join(format!("kube-sim-stale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fake = dir.join("kube-sim");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"export KUBECONFIG=$PWD/nowhere\"\nexec sleep 30\n",
    )
    .expect("write the stand-in binary");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // SAFETY: this test binary has one test, so no other thread reads the environment meanwhile.
    unsafe { std::env::set_var("KUBE_SIM_BIN", &fake) };
    let started = Cluster::start(&Options::default());
    let _ = std::fs::remove_dir_all(&dir);
    match started {
        Err(StartError::Failed(why)) => assert!(why.contains("stale build"), "{why}"),
        Err(StartError::Unavailable(why)) => panic!("refused as unavailable, not stale: {why}"),
        Ok(_) => panic!("a binary that never announced the real control plane was accepted"),
    }
}
