//! `kubectl prom resize`: not yet built.

use crate::cli::ResizeArgs;
use crate::context::Ctx;
use crate::error::{Error, ExitCode, Result};

/// Entry point for the verb.
pub async fn run(_ctx: &Ctx, _args: &ResizeArgs) -> Result<ExitCode> {
    Err(Error::usage("this verb is not built yet", None))
}
