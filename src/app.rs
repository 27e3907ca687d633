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
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let stderr_is_tty = std::io::stderr().is_terminal();
    Printer {
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
        color: stderr_is_tty && !cli.global.no_color && !no_color_env,
        stderr_is_tty,
    }
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
    ctx_for(config, &cli.kube, &cli.global, printer, requests)
}

/// The Ctx for one resolved cluster config: the namespace scope from the flags (or the context's namespace), the
/// clients (src/transport.rs) and the settings.
pub fn ctx_for(
    config: kube::Config,
    kube: &KubeArgs,
    global: &crate::cli::GlobalArgs,
    printer: Printer,
    requests: crate::accounting::RequestStats,
) -> Result<Ctx> {
    let scope = if kube.all_namespaces {
        Scope::AllNamespaces
    } else {
        Scope::Namespace(
            kube.namespace
                .clone()
                .unwrap_or_else(|| config.default_namespace.clone()),
        )
    };
    // HTTP/2 over one connection where the server offers it; exec gets its own HTTP/1.1 client (src/transport.rs).
    let clients = crate::transport::clients(&config, &requests)?;
    printer.debug(&format!("transport: {}", clients.transport));
    let client = clients.api;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    Ok(Ctx {
        exec: std::sync::Arc::new(crate::podexec::KubeExec::new(clients.exec)),
        client,
        settings: Settings {
            scope,
            output: global.output,
            assume_yes: global.yes,
            dry_run: global.dry_run,
            interactive,
            verbose: global.verbose,
        },
        printer,
        requests,
    })
}

/// kube::Config from the kubectl flags: --kubeconfig, else $KUBECONFIG (merged), else ~/.kube/config.
pub async fn kube_config(args: &KubeArgs) -> Result<kube::Config> {
    let kubeconfig = read_kubeconfig(args)?;
    config_for_context(kubeconfig, args, args.context.first().cloned()).await
}

/// The kubeconfig the flags name, read once (`doctor` over several contexts resolves each from it).
pub fn read_kubeconfig(args: &KubeArgs) -> Result<kube::config::Kubeconfig> {
    use kube::config::Kubeconfig;
    match &args.kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|e| Error::Kubeconfig {
        message: e.to_string(),
        hint: Some("pass --kubeconfig PATH or set KUBECONFIG; `kubectl config view` shows what kubectl sees".into()),
    })
}

/// kube::Config for one context of a kubeconfig (None: its current context), with the flags' overrides.
pub async fn config_for_context(
    kubeconfig: kube::config::Kubeconfig,
    args: &KubeArgs,
    context: Option<String>,
) -> Result<kube::Config> {
    use kube::config::KubeConfigOptions;
    let options = KubeConfigOptions {
        context,
        cluster: args.cluster.clone(),
        user: args.user.clone(),
    };
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
