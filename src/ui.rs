//! The Printer: the only place that writes to stdout (results) and stderr (progress, warnings, prompts).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

/// Where output goes and how it looks; decided once from flags and the terminal.
#[derive(Debug, Clone)]
pub struct Printer {
    pub quiet: bool,
    pub verbose: u8,
    pub color: bool,
    /// stderr is a terminal: progress bars may be drawn; otherwise plain timestamped lines.
    pub stderr_is_tty: bool,
}

/// Ask a yes/no question on the terminal (default: no). Callers go through the one confirm policy
/// (`crate::engine::ask_to_change`), which decides whether a question may be asked at all.
pub fn ask(question: &str) -> crate::Result<bool> {
    drain_pending_input();
    let term = dialoguer::console::Term::stderr();
    let answer = dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_on(&term);
    restore_terminal(&term, answer.is_err());
    answer.map_err(|e| prompt_error(question, e))
}

/// Let the user pick one of several items on the terminal; returns its index.
pub fn pick(question: &str, items: &[String]) -> crate::Result<usize> {
    drain_pending_input();
    let term = dialoguer::console::Term::stderr();
    let picked = dialoguer::Select::new()
        .with_prompt(question)
        .items(items)
        .default(0)
        .interact_on(&term);
    restore_terminal(&term, picked.is_err());
    picked.map_err(|e| prompt_error(question, e))
}

/// Throw away what was typed before the question was on the screen: a keystroke meant for an earlier prompt (the
/// Enter after a `y` that dialoguer reads as one key) or typed while the tool worked must never answer this one.
/// `tcflush(TCIFLUSH)` on the terminal the answer is read from; nothing to do when stdin is not a terminal.
fn drain_pending_input() {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        // Remembered so that a signal while the prompt holds the terminal in raw mode can put it back
        // ([`restore_after_interrupt`]).
        *saved_terminal() = rustix::termios::tcgetattr(&stdin).ok();
        // A failure only means nothing is drained: the prompt itself still works.
        let _ = rustix::termios::tcflush(&stdin, rustix::termios::QueueSelector::IFlush);
    }
}

/// The terminal's settings from before the prompt now on screen, if one is.
fn saved_terminal() -> std::sync::MutexGuard<'static, Option<rustix::termios::Termios>> {
    static SAVED: std::sync::Mutex<Option<rustix::termios::Termios>> = std::sync::Mutex::new(None);
    SAVED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A signal (SIGTERM, SIGHUP, a Ctrl-C that reached us as a signal) stopped the command while a prompt may hold the
/// terminal: put its settings back (dialoguer reads keys in raw mode) and show the cursor, so the shell the user
/// returns to works.
pub fn restore_after_interrupt() {
    if let Some(saved) = saved_terminal().take() {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &saved,
        );
        let _ = dialoguer::console::Term::stderr().show_cursor();
    }
}

/// dialoguer hides the cursor while it asks and returns early on an error (Ctrl-C at the prompt reads as one), so
/// the cursor is shown again here whatever happened; after an error the line is ended too, so the next message
/// starts on its own line.
fn restore_terminal(term: &dialoguer::console::Term, failed: bool) {
    saved_terminal().take();
    let _ = term.show_cursor();
    if failed {
        let _ = term.write_line("");
    }
}

fn prompt_error(question: &str, e: dialoguer::Error) -> crate::Error {
    match e {
        dialoguer::Error::IO(source) if source.kind() == std::io::ErrorKind::Interrupted => {
            // Ctrl-C at a prompt: the same true account as any interrupt (what this run already changed, what not,
            // how to continue), from the command's journal.
            crate::Error::Interrupted {
                state: format!(
                    "Ctrl-C at the prompt `{question}`: {}",
                    crate::interrupt::interrupted_state(false)
                ),
            }
        }
        dialoguer::Error::IO(source) => crate::Error::Io {
            action: format!("asking `{question}`"),
            source,
        },
    }
}

/// Write a line to stderr; a closed or broken stderr (`2>&1 | head`, a terminal that went away) is not an error: the
/// command carries on (it may be in the middle of a change that must finish) and only stops writing.
fn to_stderr(text: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(text);
    let _ = err.write_all(b"\n");
}

impl Printer {
    /// Write a result to stdout (never suppressed by --quiet).
    pub fn result(&self, text: &str) {
        let text = self.safe(text);
        let mut out = std::io::stdout().lock();
        // A closed pipe (e.g. `| head`) is not an error worth reporting.
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// An informational line on stderr, muted by --quiet.
    pub fn info(&self, text: &str) {
        if !self.quiet {
            to_stderr(format_args!("{}", self.safe(text)));
        }
    }

    /// `warning: …` on stderr, muted by --quiet.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            to_stderr(format_args!(
                "{} {}",
                self.paint("warning:", "33"),
                self.safe(text)
            ));
        }
    }

    /// Progress bars are drawn (stderr is a terminal, not --quiet, not -v where bars would interleave with logs).
    pub fn bars(&self) -> bool {
        self.stderr_is_tty && !self.quiet && self.verbose == 0
    }

    /// A timestamped progress line on stderr (the no-terminal form of a progress bar), muted by --quiet.
    pub fn progress_line(&self, text: &str) {
        if !self.quiet {
            to_stderr(format_args!("{} {}", clock(), self.safe(text)));
        }
    }

    /// Detail shown only with -v.
    pub fn debug(&self, text: &str) {
        if self.verbose > 0 {
            to_stderr(format_args!("{}", self.safe(text)));
        }
    }

    /// Print an error block: `error: …`, then `  hint: …`.
    pub fn error(&self, err: &crate::Error) {
        to_stderr(format_args!(
            "{} {}",
            self.paint("error:", "31"),
            crate::escape::escape(&err.to_string())
        ));
        if let Some(hint) = err.hint() {
            to_stderr(format_args!(
                "  {} {}",
                self.paint("hint:", "36"),
                crate::escape::escape(&hint)
            ));
        }
        if self.verbose > 0
            && let Some(detail) = err.status_detail()
        {
            to_stderr(format_args!("  status: {}", crate::escape::escape(&detail)));
        }
    }

    /// Text on its way to the terminal with every control character escaped (crate::escape: a log line or an event
    /// message from the cluster may carry terminal sequences); while colour is on, the colours we paint are kept.
    fn safe<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if self.color {
            crate::escape::escape_keeping_colour(text)
        } else {
            crate::escape::escape(text)
        }
    }

    /// Wrap text in an ANSI colour when colour is on.
    pub fn paint(&self, text: &str, ansi: &str) -> String {
        if self.color {
            format!("\x1b[{ansi}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// `HH:MM:SS` (UTC) for plain progress lines.
fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!(
        "{:02}:{:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}
