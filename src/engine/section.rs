//! A stretch of a plan that must not be left half-done (resize's pause..unpause of a `Prometheus` resource, a
//! StatefulSet's orphan delete..create): while it is open an interrupt waits for it to close (`interrupt::critical`),
//! the journal carries the command that closes it by hand should the user force the exit, and a failure inside it is
//! closed by a compensating change before the error is returned. The verb says which steps open and close it; the
//! engine keeps it.

use crate::context::Ctx;
use crate::engine::{Change, send};
use crate::error::Result;
use crate::interrupt::{self, Critical};

/// An open stretch. [`Section::close`] closes it once its closing step was applied. Dropped without that (the
/// command's task cancelled by a forced exit, or an error returned from inside it), interrupts no longer wait for it
/// but its repair stays in the journal: the stretch is still open in the cluster, and the repair is the way out.
#[must_use = "an open stretch is closed with Section::close"]
pub struct Section {
    _critical: Critical,
    /// Whether this section set the journal's repair (so closing it clears only its own).
    repairs: bool,
}

impl Section {
    /// Open it before sending the step that opens it: from here on an interrupt waits, and `why` says what for.
    /// `repair` is the pasteable command that closes it by hand, printed if the exit is forced.
    pub fn open(why: impl Into<String>, repair: Option<String>) -> Section {
        let critical = interrupt::critical(why);
        let repairs = repair.is_some();
        if repairs {
            interrupt::journal().repair = repair;
        }
        Section {
            _critical: critical,
            repairs,
        }
    }

    /// How far the stretch got changed what closes it by hand.
    pub fn set_repair(&mut self, repair: String) {
        self.repairs = true;
        interrupt::journal().repair = Some(repair);
    }

    /// Its closing step was applied (or it never opened in the cluster: the opening step was not sent).
    pub fn close(self) {
        if self.repairs {
            interrupt::journal().repair = None;
        }
    }

    /// A step inside it failed: send `change`, which closes it whatever else changed meanwhile. Sent, it is recorded
    /// as applied (`done`) and the stretch is closed; unsent, the stretch stays recorded (its repair is still the
    /// way out) and the error is returned.
    pub async fn compensate(self, ctx: &Ctx, change: &Change, done: String) -> Result<()> {
        // Unsent, it is dropped unclosed: still open in the cluster, its repair stays the way out.
        send(ctx, change).await?;
        interrupt::journal().applied(done);
        self.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Open: an interrupt waits for it and its repair is in the journal; the repair follows progress; closed: both
    /// gone. A section without a repair leaves another's repair alone. Dropped unclosed, the repair stays (the
    /// forced exit prints it: robustness_e2e::a_second_ctrl_c_forces_the_exit_… failed when drop cleared it).
    #[test]
    fn a_section_holds_interrupts_and_its_repair_until_closed() {
        let why = "prometheus/test-section is paused until the resize unpauses it";
        let mut section = Section::open(why, Some("kubectl patch before".into()));
        assert!(interrupt::open_reasons().iter().any(|r| r == why));
        assert_eq!(
            interrupt::journal().repair.as_deref(),
            Some("kubectl patch before")
        );
        section.set_repair("kubectl patch after".into());
        assert_eq!(
            interrupt::journal().repair.as_deref(),
            Some("kubectl patch after")
        );
        let inner = Section::open("test-section: recreate", None);
        inner.close();
        assert_eq!(
            interrupt::journal().repair.as_deref(),
            Some("kubectl patch after")
        );
        section.close();
        assert!(!interrupt::open_reasons().iter().any(|r| r == why));
        assert_eq!(interrupt::journal().repair, None);

        // Dropped unclosed (a forced exit cancels the command's task): interrupts go on, the repair stays printed.
        let forced = Section::open(why, Some("kubectl patch still paused".into()));
        drop(forced);
        assert!(!interrupt::open_reasons().iter().any(|r| r == why));
        assert_eq!(
            interrupt::journal().repair.as_deref(),
            Some("kubectl patch still paused")
        );
        interrupt::journal().repair = None;
    }
}
