//! A stretch of a plan that must not be left half-done (resize's pause..unpause of a `Prometheus` resource, a
//! StatefulSet's orphan delete..create): while it is open an interrupt waits for it to close (`interrupt::critical`),
//! the journal carries the command that closes it by hand should the user force the exit, and a failure inside it is
//! closed by a compensating change before the error is returned. The verb says which steps open and close it; the
//! engine keeps it.

use crate::context::Ctx;
use crate::engine::{Change, send};
use crate::error::Result;
use crate::interrupt::{self, Critical};

/// An open stretch; dropping it (or [`Section::close`]) closes it.
#[must_use = "the stretch closes when this is dropped"]
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

    /// Its closing step was applied.
    pub fn close(self) {}

    /// A step inside it failed: send `change`, which closes it whatever else changed meanwhile. Sent, it is recorded
    /// as applied (`done`) and the stretch is closed; unsent, the stretch stays recorded (its repair is still the
    /// way out) and the error is returned.
    pub async fn compensate(mut self, ctx: &Ctx, change: &Change, done: String) -> Result<()> {
        match send(ctx, change).await {
            Ok(_) => {
                interrupt::journal().applied(done);
                Ok(())
            }
            Err(err) => {
                // Still open in the cluster: its repair stays the way out.
                self.repairs = false;
                Err(err)
            }
        }
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        if self.repairs && !std::thread::panicking() {
            interrupt::journal().repair = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Open: an interrupt waits for it and its repair is in the journal; the repair follows progress; closed: both
    /// gone. A section without a repair leaves another's repair alone.
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
    }
}
