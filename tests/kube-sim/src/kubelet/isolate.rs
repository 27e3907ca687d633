//! Process-level isolation of the whole node (and the control plane it starts): a private mount namespace (every
//! mount the kubelet makes vanishes with it, even on SIGKILL) and a PID namespace whose init is kube-sim itself (so no
//! pod process outlives it).
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, getppid};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

static ISOLATED: OnceLock<Result<(), String>> = OnceLock::new();

/// Why kube-sim cannot run here, if it cannot: it needs root (namespaces, mounts) and the `prometheus` binary.
pub fn unsupported_reason() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("kube-sim needs root (it creates network/mount namespaces and tmpfs volumes); run it as root".into());
    }
    if !std::path::Path::new(super::PROMETHEUS_BIN).exists() {
        return Some(format!(
            "kube-sim needs the prometheus binary at {} (Debian package `prometheus`); install it with `apt-get install prometheus`",
            super::PROMETHEUS_BIN
        ));
    }
    None
}

/// Call at the very start of `main`, before any thread exists. Idempotent.
///
/// A process cannot create threads after unshare(CLONE_NEWPID), so this forks: the child becomes PID 1 of a new PID
/// namespace (in a private mount namespace), returns `Ok` and runs kube-sim; the original process stays
/// outside, single-threaded, forwards SIGTERM/SIGINT/SIGHUP to it and exits with its status (never returning).
/// The child has PR_SET_PDEATHSIG=SIGKILL, and when the namespace's init dies the kernel kills every process in
/// it, so no pod process (even one that dropped to another uid, which clears its own PDEATHSIG) outlives us.
pub fn isolate_process() -> Result<(), String> {
    ISOLATED.get_or_init(isolate_once).clone()
}

static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: nix::libc::c_int) {
    let child = CHILD.load(Ordering::Relaxed);
    if child > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            nix::libc::kill(child, sig);
        }
    }
}

fn isolate_once() -> Result<(), String> {
    if let Some(reason) = unsupported_reason() {
        return Err(reason);
    }
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID).map_err(|e| {
        format!("kube-sim could not create its mount/PID namespaces (unshare: {e})")
    })?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("kube-sim could not make / private in its mount namespace: {e}"))?;
    let parent = nix::unistd::getpid();
    // SAFETY: called before any other thread exists (documented precondition).
    match unsafe { fork() }
        .map_err(|e| format!("kube-sim could not fork into its PID namespace: {e}"))?
    {
        ForkResult::Child => {
            let _ = prctl::set_pdeathsig(Signal::SIGKILL);
            if getppid() != parent && getppid().as_raw() != 0 {
                std::process::exit(1);
            }
            Ok(())
        }
        ForkResult::Parent { child } => {
            CHILD.store(child.as_raw(), Ordering::Relaxed);
            let action = SigAction::new(
                SigHandler::Handler(forward_signal),
                SaFlags::SA_RESTART,
                SigSet::empty(),
            );
            for sig in [
                Signal::SIGTERM,
                Signal::SIGINT,
                Signal::SIGHUP,
                Signal::SIGQUIT,
            ] {
                // SAFETY: the handler only calls kill(2).
                let _ = unsafe { sigaction(sig, &action) };
            }
            loop {
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, code)) => std::process::exit(code),
                    Ok(WaitStatus::Signaled(_, sig, _)) => std::process::exit(128 + sig as i32),
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => std::process::exit(1),
                }
            }
        }
    }
}

/// Whether `isolate_process` succeeded in this process (mounts made now cannot leak onto the host).
pub fn is_isolated() -> bool {
    matches!(ISOLATED.get(), Some(Ok(())))
}

/// This process's pid as the node (the host /proc) sees it, also from inside the PID namespace.
pub fn node_pid() -> u32 {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_string_lossy().parse().ok())
        .unwrap_or_else(std::process::id)
}
