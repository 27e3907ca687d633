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

/// Ask a yes/no question on the terminal (default: no). Callers check `Settings::interactive` first.
pub fn ask(question: &str) -> crate::Result<bool> {
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_on(&dialoguer::console::Term::stderr())
        .map_err(|e| prompt_error(question, e))
}

/// Let the user pick one of several items on the terminal; returns its index.
pub fn pick(question: &str, items: &[String]) -> crate::Result<usize> {
    dialoguer::Select::new()
        .with_prompt(question)
        .items(items)
        .default(0)
        .interact_on(&dialoguer::console::Term::stderr())
        .map_err(|e| prompt_error(question, e))
}

fn prompt_error(question: &str, e: dialoguer::Error) -> crate::Error {
    match e {
        dialoguer::Error::IO(source) if source.kind() == std::io::ErrorKind::Interrupted => {
            crate::Error::Interrupted {
                state: format!("at the prompt `{question}`; nothing was changed"),
            }
        }
        dialoguer::Error::IO(source) => crate::Error::Io {
            action: format!("asking `{question}`"),
            source,
        },
    }
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
            eprintln!("{}", self.safe(text));
        }
    }

    /// `warning: …` on stderr, muted by --quiet.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!("{} {}", self.paint("warning:", "33"), self.safe(text));
        }
    }

    /// Progress bars are drawn (stderr is a terminal, not --quiet, not -v where bars would interleave with logs).
    pub fn bars(&self) -> bool {
        self.stderr_is_tty && !self.quiet && self.verbose == 0
    }

    /// A timestamped progress line on stderr (the no-terminal form of a progress bar), muted by --quiet.
    pub fn progress_line(&self, text: &str) {
        if !self.quiet {
            eprintln!("{} {}", clock(), self.safe(text));
        }
    }

    /// Detail shown only with -v.
    pub fn debug(&self, text: &str) {
        if self.verbose > 0 {
            eprintln!("{}", self.safe(text));
        }
    }

    /// Print an error block: `error: …`, then `  hint: …`.
    pub fn error(&self, err: &crate::Error) {
        eprintln!(
            "{} {}",
            self.paint("error:", "31"),
            crate::escape::escape(&err.to_string())
        );
        if let Some(hint) = err.hint() {
            eprintln!(
                "  {} {}",
                self.paint("hint:", "36"),
                crate::escape::escape(&hint)
            );
        }
        if self.verbose > 0
            && let Some(detail) = err.status_detail()
        {
            eprintln!("  status: {}", crate::escape::escape(&detail));
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
