//! From parsed flags to a run: resolve settings, build the client and Ctx, dispatch to the verb, map to an exit code.

use crate::cli::{Cli, Command, KubeArgs};
use crate::context::{Ctx, Scope, Settings, parse_duration};
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
    let defer_printer = printer.clone();
    let outcome = tokio::select! {
        biased;
        forced = crate::interrupt::stop_requested(|reasons| {
            defer_printer.warn(&format!(
                "interrupt received; finishing first so nothing is left half-done: {} (press Ctrl-C again to stop now)",
                reasons.join("; ")
            ))
        }) => Err(crate::Error::Interrupted {
            // What was applied, what was not, and how to continue, from the command's journal (crate::interrupt).
            state: crate::interrupt::interrupted_state(forced),
        }),
        result = dispatch(cli, printer.clone(), requests.clone()) => result,
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
        Command::Doctor(args) if args.list_checks || args.from_dump.is_some() => {
            return crate::commands::doctor::run_offline(&printer, &cli.global, args);
        }
        _ => {}
    }
    let ctx = build_ctx(&cli, printer, requests).await?;
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

/// Build the Ctx: kubeconfig resolution as kubectl does it, then the namespace scope and settings.
pub async fn build_ctx(
    cli: &Cli,
    printer: Printer,
    requests: crate::accounting::RequestStats,
) -> Result<Ctx> {
    let config = kube_config(&cli.kube).await?;
    let scope = if cli.kube.all_namespaces {
        Scope::AllNamespaces
    } else {
        Scope::Namespace(
            cli.kube
                .namespace
                .clone()
                .unwrap_or_else(|| config.default_namespace.clone()),
        )
    };
    let client = kube::client::ClientBuilder::try_from(config)
        .map_err(|source| Error::Kube {
            action: "create a client for the cluster".into(),
            source,
        })?
        .with_layer(&crate::accounting::CountingLayer(requests.clone()))
        // Outside the counting layer, so `-v` counts every attempt; the buffer makes the stack cloneable, which a
        // retry needs (kube's own stack buffers the same way).
        .with_layer(&tower::buffer::BufferLayer::new(1024))
        .with_layer(&tower::retry::RetryLayer::new(
            crate::retry::RetryAfter::default(),
        ))
        .build();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    Ok(Ctx {
        exec: std::sync::Arc::new(crate::podexec::KubeExec::new(client.clone())),
        client,
        settings: Settings {
            scope,
            output: cli.global.output,
            assume_yes: cli.global.yes,
            dry_run: cli.global.dry_run,
            interactive,
            verbose: cli.global.verbose,
        },
        printer,
        requests,
    })
}

/// kube::Config from the kubectl flags: --kubeconfig, else $KUBECONFIG (merged), else ~/.kube/config.
pub async fn kube_config(args: &KubeArgs) -> Result<kube::Config> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let options = KubeConfigOptions {
        context: args.context.clone(),
        cluster: args.cluster.clone(),
        user: args.user.clone(),
    };
    let kubeconfig = match &args.kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|e| Error::Kubeconfig {
        message: e.to_string(),
        hint: Some("pass --kubeconfig PATH or set KUBECONFIG; `kubectl config view` shows what kubectl sees".into()),
    })?;
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| Error::Kubeconfig {
            message: e.to_string(),
            hint: Some(
                "`kubectl config get-contexts` lists the contexts; pick one with --context".into(),
            ),
        })?;
    // kube's own retry policy is replaced by kubectl's rule (src/retry.rs; completion retries nothing).
    config.default_retry = false;
    if let Some(timeout) = &args.request_timeout {
        let timeout = parse_duration(timeout)?;
        config.read_timeout = timeout;
        config.write_timeout = timeout;
    }
    Ok(config)
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
