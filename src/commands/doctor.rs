//! `kubectl prom doctor`: gather a snapshot (live or from a dump), run the checks, print the report, and map it to
//! the exit code (0 clean, 1 findings at or above `--fail-on`; errors of the tool itself are 2+ via `Error`); over
//! several clusters, the fleet report (3 when one of them could not be checked).

use crate::cli::{DoctorArgs, GlobalArgs, KubeArgs, OutputFormat};
use crate::context::Ctx;
use crate::doctor::{dump, fleet, gather, report};
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
    let dir = match args.from_dump.as_slice() {
        [] => return Ok(ExitCode::Ok),
        [one] => one,
        several => {
            let fleet = fleet::load_dumps(several, args.target.target.as_deref())?;
            print_fleet(printer, global.output, &fleet)?;
            return Ok(report::fleet_exit_code(&fleet, args.fail_on));
        }
    };
    let snapshot = dump::load(dir, args.target.target.as_deref())?;
    let report = report::build(&snapshot);
    print(printer, global.output, &report)?;
    Ok(report::exit_code(&report, args.fail_on))
}

/// Several clusters (`--context` repeated, `--all-contexts`, `--context-glob`): each checked with its own Ctx.
pub async fn run_fleet(
    kube: &KubeArgs,
    global: &GlobalArgs,
    printer: Printer,
    args: &DoctorArgs,
) -> Result<ExitCode> {
    let fleet = fleet::check_contexts(kube, global, &printer, args).await?;
    print_fleet(&printer, global.output, &fleet)?;
    Ok(report::fleet_exit_code(&fleet, args.fail_on))
}

fn print_fleet(printer: &Printer, output: OutputFormat, fleet: &report::FleetReport) -> Result<()> {
    match output {
        OutputFormat::Json => printer.result(&report::render_fleet_json(fleet)?),
        OutputFormat::Human => printer.result(&fleet::render_human(
            fleet,
            printer.color && std::io::stdout().is_terminal(),
        )),
    }
    Ok(())
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
