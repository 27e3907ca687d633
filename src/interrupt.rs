//! Ctrl-C handling (and SIGTERM and SIGHUP, handled exactly alike). An interrupt normally stops the command at once (exit 130), but a multi-step change that must
//! not be left half-done (a paused `Prometheus` resource, a StatefulSet orphan-deleted and not yet recreated) holds a
//! [`Critical`] guard: the interrupt then waits for the guard to drop, saying why. A second Ctrl-C forces the exit.
//!
//! A Ctrl-C stops the command with a described state: commands keep a [`journal`] of the changes they sent, what
//! they had not done yet, and the command that continues the work; [`interrupted_state`] turns it into the sentence
//! printed with exit 130.
//!
//! Signals are process-wide, so this state is too; commands only take guards and write the journal, they never read
//! signals themselves.

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
    let Some(mut signals) = StopSignals::install() else {
        // No signal handler can be installed: never interrupt.
        return std::future::pending().await;
    };
    signals.next().await;
    let mut rx = changes().subscribe();
    let reasons = open_reasons();
    if reasons.is_empty() {
        return false;
    }
    on_defer(&reasons);
    tokio::select! {
        _ = rx.wait_for(|open| *open == 0) => false,
        _ = signals.next() => {
            // Remembered now: stopping drops the command, and with it the guards that name the sections.
            *forced_during() = open_reasons();
            true
        }
    }
}

/// The signals that stop a command, all handled exactly like Ctrl-C: SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, a
/// CI runner or service manager) and SIGHUP (the terminal or SSH session went away). Left to their default action,
/// SIGTERM and SIGHUP would kill the process in the middle of a critical section (a `Prometheus` resource left
/// paused). Once installed, the handlers stay for the life of the process, so a second signal is seen too.
#[cfg(unix)]
struct StopSignals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignals {
    fn install() -> Option<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Some(Self {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
            hup: signal(SignalKind::hangup()).ok()?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct StopSignals;

#[cfg(not(unix))]
impl StopSignals {
    fn install() -> Option<Self> {
        Some(Self)
    }

    async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The sections that were open when a second Ctrl-C forced the exit.
fn forced_during() -> std::sync::MutexGuard<'static, Vec<String>> {
    static FORCED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    FORCED.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the running command has done so far, for the message a Ctrl-C prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Journal {
    /// Changes sent to the cluster (and accepted), in order.
    pub applied: Vec<String>,
    /// What was still to do: steps not sent yet, or the wait in progress.
    pub pending: Vec<String>,
    /// The command that continues the work (re-reads the cluster, so it is safe to run again).
    pub resume: Option<String>,
    /// While a critical section is open: the command that repairs what it leaves half-done if a second Ctrl-C
    /// forces the exit (e.g. unpause a `Prometheus` resource), shown only then.
    pub repair: Option<String>,
}

static JOURNAL: Mutex<Journal> = Mutex::new(Journal {
    applied: Vec::new(),
    pending: Vec::new(),
    resume: None,
    repair: None,
});

/// The journal of the running command, to record what it does.
pub fn journal() -> std::sync::MutexGuard<'static, Journal> {
    // As for OPEN: a poisoned lock still holds a valid journal.
    JOURNAL.lock().unwrap_or_else(|e| e.into_inner())
}

impl Journal {
    /// A change was accepted by the cluster: it moves from pending (if listed there) to applied.
    pub fn applied(&mut self, step: impl Into<String>) {
        let step = step.into();
        self.pending.retain(|p| *p != step);
        self.applied.push(step);
    }
}

/// The sentence for an interrupted run: what was applied, what was not, and how to continue; `forced` when a second
/// Ctrl-C cut a critical section short.
pub fn interrupted_state(forced: bool) -> String {
    let open = if forced {
        forced_during().clone()
    } else {
        open_reasons()
    };
    describe(&journal(), &open, forced)
}

/// Pure part of [`interrupted_state`].
pub fn describe(journal: &Journal, open: &[String], forced: bool) -> String {
    let mut parts = Vec::new();
    parts.push(if forced {
        format!(
            "stopped in the middle of a step that should have finished ({})",
            open.join("; ")
        )
    } else {
        "stopped before the command finished".to_string()
    });
    parts.push(if !journal.applied.is_empty() {
        format!(
            "Applied and kept (nothing was rolled back): {}",
            journal.applied.join("; ")
        )
    } else if journal.resume.is_some() {
        // Only a command that names how to continue journals every change it sends, so only it may say "nothing".
        "Nothing had been changed in the cluster yet".to_string()
    } else {
        "Any change already sent to the cluster stays applied and nothing was rolled back"
            .to_string()
    });
    if !journal.pending.is_empty() {
        parts.push(format!("Not done: {}", journal.pending.join("; ")));
    }
    if forced && let Some(repair) = &journal.repair {
        parts.push(format!("Left half-done; repair that first: `{repair}`"));
    }
    parts.push(match &journal.resume {
        Some(command) => format!("To continue, run `{command}` (it re-reads the cluster first)"),
        None => "Re-run the command to see where things stand".to_string(),
    });
    parts.join(". ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_state_names_what_was_applied_what_was_not_and_how_to_continue() {
        let mut journal = Journal::default();
        assert_eq!(
            describe(&journal, &[], false),
            "stopped before the command finished. Any change already sent to the cluster stays applied and nothing \
             was rolled back. Re-run the command to see where things stand"
        );
        journal.pending = vec!["waiting for the rollout".into()];
        assert!(
            describe(&journal, &[], false)
                .contains(". Any change already sent to the cluster stays applied"),
            "a wait alone does not prove that nothing was sent"
        );
        journal.pending.clear();
        journal.resume = Some("kubectl prom resize -n ns --size 12Gi".into());
        assert!(
            describe(&journal, &[], false)
                .contains(". Nothing had been changed in the cluster yet. To continue, run"),
            "a journaling command that sent nothing says so"
        );
        journal.pending = vec!["patch pvc/a".into(), "patch pvc/b".into()];
        journal.applied("patch pvc/a");
        journal.repair = Some("kubectl patch prometheus/k8s -p '{}'".into());
        assert!(
            !describe(&journal, &[], false).contains("repair"),
            "the repair is for a forced exit only: the section finished otherwise"
        );
        let text = describe(&journal, &["prometheus/k8s is paused".into()], true);
        assert_eq!(
            text,
            "stopped in the middle of a step that should have finished (prometheus/k8s is paused). Applied and kept \
             (nothing was rolled back): patch pvc/a. Not done: patch pvc/b. Left half-done; repair that first: \
             `kubectl patch prometheus/k8s -p '{}'`. To continue, run `kubectl prom resize -n ns \
             --size 12Gi` (it re-reads the cluster first)"
        );
    }

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
