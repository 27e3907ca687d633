//! From parsed flags to a run: resolve settings, build the client and Ctx, dispatch to the verb, map to an exit code.

use crate::cli::{Cli, Command};
use crate::error::{Error, ExitCode, Result};
use crate::ui::Printer;
use std::io::IsTerminal;

/// Everything main.rs needs: run the parsed command and return the exit code (errors already printed).
pub async fn run(cli: Cli) -> ExitCode {
    let printer = printer_for(&cli);
    let requests = crate::accounting::RequestStats::default();
    // Ctrl-C: stop waiting and say what that means; changes already sent are not rolled back (exit 130). A step that
    // must not be left half-done (crate::interrupt::critical) finishes first, unless Ctrl-C is pressed again.
    // `biased`: the Ctrl-C handler is installed before the command sends its first request.
    // SIGTERM and SIGHUP are handled exactly like Ctrl-C (crate::interrupt). The command runs as its own task so an
    // interrupt is seen even while a prompt blocks its thread reading the terminal.
    let defer_printer = printer.clone();
    let stop = crate::interrupt::stop_requested(move |reasons| {
        defer_printer.warn(&format!(
            "interrupt received; finishing first so nothing is left half-done: {} (press Ctrl-C again to stop now)",
            reasons.join("; ")
        ))
    });
    tokio::pin!(stop);
    // Polled once before the command starts: the signal handlers are installed before its first request.
    let _ = futures::poll!(&mut stop);
    let command = tokio::spawn(dispatch(cli, printer.clone(), requests.clone()));
    let abort = command.abort_handle();
    let outcome = tokio::select! {
        biased;
        forced = &mut stop => {
            abort.abort();
            crate::ui::restore_after_interrupt();
            Err(crate::Error::Interrupted {
                // What was applied, what was not, and how to continue, from the command's journal (crate::interrupt).
                state: crate::interrupt::interrupted_state(forced),
            })
        }
        result = command => result.unwrap_or_else(|e| Err(crate::Error::Io {
            action: "run the command".into(),
            source: std::io::Error::other(e.to_string()),
        })),
    };
    let code = match outcome {
        Ok(code) => code,
        Err(err) => {
            printer.error(&err);
            err.exit_code()
        }
    };
    // Request accounting for every verb that talked to the cluster, success or not (issue 10); last, after any error.
    let counts = requests.snapshot();
    if counts.requests > 0 {
        printer.debug(&counts.summary());
    }
    code
}

fn printer_for(cli: &Cli) -> Printer {
    // A `TERM=dumb` terminal cannot move the cursor either: it gets the plain timestamped lines, not progress bars.
    let stderr_is_tty =
        std::io::stderr().is_terminal() && !is_dumb(std::env::var_os("TERM").as_deref());
    Printer {
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
        color: stderr_is_tty
            && !cli.global.no_color
            && colour_allowed(
                std::env::var_os("NO_COLOR").as_deref(),
                std::env::var_os("TERM").as_deref(),
            ),
        stderr_is_tty,
    }
}

/// Whether the environment allows colour on a terminal: not when `NO_COLOR` is set to anything non-empty
/// (no-color.org), and not when `TERM` is `dumb` (a terminal that cannot interpret escape sequences: Emacs shell
/// buffers, some CI log viewers; the `console` crate behind our prompts and progress bars follows the same rule).
fn colour_allowed(no_color: Option<&std::ffi::OsStr>, term: Option<&std::ffi::OsStr>) -> bool {
    let no_color = no_color.is_some_and(|v| !v.is_empty());
    !no_color && !is_dumb(term)
}

/// `TERM=dumb`: a terminal that interprets no escape sequence (no colour, no cursor movement).
fn is_dumb(term: Option<&std::ffi::OsStr>) -> bool {
    term.is_some_and(|t| t == "dumb")
}

async fn dispatch(
    cli: Cli,
    printer: Printer,
    requests: crate::accounting::RequestStats,
) -> Result<ExitCode> {
    match &cli.command {
        Command::Version => {
            return crate::commands::version::run_as(&printer, cli.global.output);
        }
        Command::Completion(args) => return crate::commands::completion::run(&printer, args),
        Command::Complete(args) => {
            return crate::commands::completion::complete(&cli.kube, args).await;
        }
        Command::Doctor(args) if args.list_checks || !args.from_dump.is_empty() => {
            return crate::commands::doctor::run_offline(&printer, &cli.global, args);
        }
        // Several clusters: one Ctx per context, built by the fleet (src/doctor/fleet.rs).
        Command::Doctor(args) if args.fleet(&cli.kube) => {
            return crate::commands::doctor::run_fleet(&cli.kube, &cli.global, printer, args).await;
        }
        _ if cli.kube.context.len() > 1 => {
            return Err(Error::usage(
                "only `doctor` takes --context more than once",
                Some("run the command once per context, or use `kubectl prom doctor --context A --context B`".to_string()),
            ));
        }
        _ => {}
    }
    // `--yes`/`--dry-run` belong to the verbs that change something; given before the verb they still count.
    let mut global = cli.global.clone();
    if let Some(change) = cli.command.change() {
        global.yes |= change.yes;
        global.dry_run |= change.dry_run;
    }
    let ctx = crate::clients::ctx_for(&cli.kube, &global, printer, requests).await?;
    match &cli.command {
        Command::Reload(args) => crate::commands::reload::run(&ctx, args).await,
        Command::Resize(args) => crate::commands::resize::run(&ctx, args).await,
        Command::Doctor(args) => crate::commands::doctor::run(&ctx, args).await,
        Command::FixPerms(args) => crate::commands::fix_perms::run(&ctx, args).await,
        Command::Version | Command::Completion(_) | Command::Complete(_) => {
            unreachable!("handled above")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::colour_allowed;
    use std::ffi::OsStr;

    #[test]
    fn colour_follows_no_color_and_term_dumb() {
        let os = |s: &'static str| Some(OsStr::new(s));
        assert!(colour_allowed(None, os("xterm-256color")));
        assert!(colour_allowed(None, None));
        assert!(colour_allowed(os(""), os("xterm")));
        assert!(!colour_allowed(os("1"), os("xterm")));
        assert!(!colour_allowed(None, os("dumb")));
    }
}
