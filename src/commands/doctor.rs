//! `kubectl prom doctor`: gather a snapshot (live or from a dump), run the checks, print the report, and map it to
//! the exit code (0 clean, 1 findings at or above `--fail-on`; errors of the tool itself are 2+ via `Error`).

use crate::cli::{DoctorArgs, GlobalArgs, OutputFormat};
use crate::context::Ctx;
use crate::doctor::{dump, gather, report};
use crate::error::{ExitCode, Result};
use crate::ui::Printer;
use std::io::IsTerminal;

/// Entry point for the verb against a live cluster.
pub async fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<ExitCode> {
    let snapshot = gather::gather(ctx, args.target.target.as_deref()).await?;
    let report = report::build(&snapshot);
    print(&ctx.printer, ctx.settings.output, &report)?;
    Ok(report::exit_code(&report, args.fail_on))
}

/// `--list-checks` and `--from-dump`: no cluster needed.
pub fn run_offline(printer: &Printer, global: &GlobalArgs, args: &DoctorArgs) -> Result<ExitCode> {
    if args.list_checks {
        printer.result(&report::render_catalog(
            global.output == OutputFormat::Json,
        )?);
        return Ok(ExitCode::Ok);
    }
    let Some(dir) = &args.from_dump else {
        return Ok(ExitCode::Ok);
    };
    let snapshot = dump::load(dir, args.target.target.as_deref())?;
    let report = report::build(&snapshot);
    print(printer, global.output, &report)?;
    Ok(report::exit_code(&report, args.fail_on))
}

fn print(printer: &Printer, output: OutputFormat, report: &report::Report) -> Result<()> {
    match output {
        OutputFormat::Json => printer.result(&report::render_json(report)?),
        // Colour only when the report itself goes to a terminal (the printer's flag covers NO_COLOR/--no-color).
        OutputFormat::Human => printer.result(&report::render_human(
            report,
            printer.color && std::io::stdout().is_terminal(),
        )),
    }
    Ok(())
}
