//! One module per verb. Each exposes `run(&Ctx, &Args) -> Result<ExitCode>`.

pub mod completion;
pub mod doctor;
pub mod fix_perms;
pub mod reload;
pub mod resize;
pub mod version;
