//! `kubectl prom reload`: not yet built.

use crate::cli::ReloadArgs;
use crate::context::Ctx;
use crate::error::{Error, ExitCode, Result};

/// Entry point for the verb.
pub async fn run(_ctx: &Ctx, _args: &ReloadArgs) -> Result<ExitCode> {
    Err(Error::usage("this verb is not built yet", None))
}
