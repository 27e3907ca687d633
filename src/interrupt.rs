//! Ctrl-C handling. An interrupt normally stops the command at once (exit 130), but a multi-step change that must
//! not be left half-done (a paused `Prometheus` resource, a StatefulSet orphan-deleted and not yet recreated) holds a
//! [`Critical`] guard: the interrupt then waits for the guard to drop, saying why. A second Ctrl-C forces the exit.
//!
//! Signals are process-wide, so this state is too; commands only take guards, they never read signals themselves.

use std::sync::Mutex;
use tokio::sync::watch;

/// The reasons of the critical sections now open (usually zero or one).
static OPEN: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn changes() -> &'static watch::Sender<usize> {
    static TX: std::sync::OnceLock<watch::Sender<usize>> = std::sync::OnceLock::new();
    TX.get_or_init(|| watch::channel(0).0)
}

fn open_sections() -> std::sync::MutexGuard<'static, Vec<(u64, String)>> {
    // A poisoned lock only means a panic elsewhere; the list itself is still valid.
    OPEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// While this guard lives, a Ctrl-C is deferred until it is dropped.
#[must_use = "the section ends when the guard is dropped"]
pub struct Critical {
    id: u64,
}

/// Open a critical section; `reason` is shown if the user presses Ctrl-C meanwhile.
pub fn critical(reason: impl Into<String>) -> Critical {
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut open = open_sections();
    open.push((id, reason.into()));
    changes().send_replace(open.len());
    Critical { id }
}

impl Drop for Critical {
    fn drop(&mut self) {
        let mut open = open_sections();
        open.retain(|(id, _)| *id != self.id);
        changes().send_replace(open.len());
    }
}

/// The reasons of the sections open now.
pub fn open_reasons() -> Vec<String> {
    open_sections().iter().map(|(_, r)| r.clone()).collect()
}

/// Resolves when the command may stop: after a Ctrl-C with no critical section open, or once the open ones close
/// (`on_defer` is told why we wait), or at a second Ctrl-C (returns `true`: forced, state may be inconsistent).
pub async fn stop_requested(on_defer: impl Fn(&[String])) -> bool {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handler can be installed: never interrupt.
        std::future::pending::<()>().await;
    }
    let mut rx = changes().subscribe();
    let reasons = open_reasons();
    if reasons.is_empty() {
        return false;
    }
    on_defer(&reasons);
    tokio::select! {
        _ = rx.wait_for(|open| *open == 0) => false,
        _ = tokio::signal::ctrl_c() => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_open_and_close_their_own_section() {
        let a = critical("prometheus/k8s is paused");
        let b = critical("statefulset/x is orphan-deleted");
        assert!(open_reasons().contains(&"prometheus/k8s is paused".to_string()));
        drop(a);
        let left = open_reasons();
        assert!(!left.contains(&"prometheus/k8s is paused".to_string()));
        assert!(left.contains(&"statefulset/x is orphan-deleted".to_string()));
        drop(b);
        assert!(!open_reasons().contains(&"statefulset/x is orphan-deleted".to_string()));
    }
}
