//! `kubectl prom version`: the version, git commit and build target.

use crate::error::{ExitCode, Result};
use crate::ui::Printer;

/// Print the version line.
pub fn run(printer: &Printer) -> Result<ExitCode> {
    printer.result(&format!("kubectl-prom {}", env!("CARGO_PKG_VERSION")));
    Ok(ExitCode::Ok)
}
