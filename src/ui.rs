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

impl Printer {
    /// Write a result to stdout (never suppressed by --quiet).
    pub fn result(&self, text: &str) {
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
            eprintln!("{text}");
        }
    }

    /// `warning: …` on stderr, muted by --quiet.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!("{} {text}", self.paint("warning:", "33"));
        }
    }

    /// Detail shown only with -v.
    pub fn debug(&self, text: &str) {
        if self.verbose > 0 {
            eprintln!("{text}");
        }
    }

    /// Print an error block: `error: …`, then `  hint: …`.
    pub fn error(&self, err: &crate::Error) {
        eprintln!("{} {err}", self.paint("error:", "31"));
        if let Some(hint) = err.hint() {
            eprintln!("  {} {hint}", self.paint("hint:", "36"));
        }
        if self.verbose > 0
            && let Some(detail) = err.status_detail()
        {
            eprintln!("  status: {detail}");
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
