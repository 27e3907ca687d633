//! `kubectl prom doctor`: not yet built.

use crate::cli::{DoctorArgs, GlobalArgs};
use crate::context::Ctx;
use crate::error::{Error, ExitCode, Result};
use crate::ui::Printer;

/// Entry point for the verb against a live cluster.
pub async fn run(_ctx: &Ctx, _args: &DoctorArgs) -> Result<ExitCode> {
    Err(Error::usage("doctor is not built yet", None))
}

/// `--list-checks` and `--from-dump`: no cluster needed.
pub fn run_offline(
    _printer: &Printer,
    _global: &GlobalArgs,
    _args: &DoctorArgs,
) -> Result<ExitCode> {
    Err(Error::usage("doctor is not built yet", None))
}
