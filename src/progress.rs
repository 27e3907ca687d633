//! Progress on stderr: spinners/bars with indicatif on a terminal, plain timestamped lines otherwise.
//!
//! Public API: [`Board::new`] then [`Board::line`] per concurrent task (one line each), or [`spinner`] for a single
//! wait; [`Task::set`] / [`Task::done`] / [`Task::fail`]. The waits themselves live in [`crate::engine::wait`].

use crate::ui::Printer;
use std::time::Duration;

/// A set of progress lines drawn together (indicatif MultiProgress on a terminal).
pub struct Board {
    printer: Printer,
    multi: Option<indicatif::MultiProgress>,
}

impl Board {
    pub fn new(printer: &Printer) -> Self {
        let multi = printer.bars().then(|| {
            indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr())
        });
        Board {
            printer: printer.clone(),
            multi,
        }
    }

    /// A new line for one task, labelled (e.g. the pod name).
    pub fn line(&self, label: &str) -> Task {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(indicatif::ProgressBar::new_spinner());
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Task {
            bar,
            label: label.to_string(),
            printer: self.printer.clone(),
            last: std::sync::Mutex::new(String::new()),
        }
    }
}

/// A single spinner line.
pub fn spinner(printer: &Printer, label: &str) -> Task {
    Board::new(printer).line(label)
}

/// One progress line.
pub struct Task {
    bar: Option<indicatif::ProgressBar>,
    label: String,
    printer: Printer,
    /// Plain mode prints a line only when the message changes.
    last: std::sync::Mutex<String>,
}

impl Task {
    /// Update the message (plain mode: a new timestamped line if it changed).
    pub fn set(&self, message: &str) {
        match &self.bar {
            // Messages may quote the cluster (event messages, conditions): escaped as every output is.
            Some(bar) => bar.set_message(crate::escape::escape(message).into_owned()),
            None => {
                let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
                if *last != message {
                    *last = message.to_string();
                    self.printer
                        .progress_line(&format!("{}: {message}", self.label));
                }
            }
        }
    }

    /// Finish with a success message.
    pub fn done(&self, message: &str) {
        self.finish("✓", message);
    }

    /// Finish with a failure message.
    pub fn fail(&self, message: &str) {
        self.finish("✗", message);
    }

    /// Finish without knowing how it went (a source that could not be read): never a ✓ without evidence.
    pub fn unknown(&self, message: &str) {
        self.finish("?", message);
    }

    fn finish(&self, mark: &str, message: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{prefix}: {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.finish_with_message(format!("{mark} {}", crate::escape::escape(message)));
            }
            None => self
                .printer
                .progress_line(&format!("{}: {mark} {message}", self.label)),
        }
    }
}
