//! `kubectl prom completion` and the hidden `__complete` protocol: not yet built.

use crate::cli::{CompleteArgs, CompletionArgs, KubeArgs};
use crate::error::{Error, ExitCode, Result};
use crate::ui::Printer;

/// Print a completion script for a shell.
pub fn run(_printer: &Printer, _args: &CompletionArgs) -> Result<ExitCode> {
    Err(Error::usage("completion is not built yet", None))
}

/// kubectl's `__complete` protocol: candidates, then `:<directive>`.
pub async fn complete(_kube: &KubeArgs, _args: &CompleteArgs) -> Result<ExitCode> {
    Err(Error::usage("completion is not built yet", None))
}
