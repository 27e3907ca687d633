//! From parsed flags to a run: resolve settings, build the client and Ctx, dispatch to the verb, map to an exit code.

use crate::cli::{Cli, Command, KubeArgs};
use crate::context::{Ctx, Scope, Settings, parse_duration};
use crate::error::{Error, ExitCode, Result};
use crate::ui::Printer;
use std::io::IsTerminal;
use std::time::Duration;

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
    ctx_for(&cli.kube, &cli.global, printer, requests).await
}

/// The Ctx for the cluster the kubectl flags name (a fleet run calls it once per context, with that `--context`).
pub async fn ctx_for(
    kube: &KubeArgs,
    global: &crate::cli::GlobalArgs,
    printer: Printer,
    requests: crate::accounting::RequestStats,
) -> Result<Ctx> {
    let clients = clients(
        kube,
        &ClientOptions {
            requests: requests.clone(),
            retry: true,
            budget: None,
        },
    )
    .await?;
    printer.debug(&format!("transport: {}", clients.transport));
    let scope = if kube.all_namespaces {
        Scope::AllNamespaces
    } else {
        Scope::Namespace(kube.namespace.clone().unwrap_or(clients.namespace))
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    Ok(Ctx {
        exec: std::sync::Arc::new(crate::podexec::KubeExec::new(clients.exec)),
        client: clients.api,
        settings: Settings {
            scope,
            output: global.output,
            assume_yes: global.yes,
            dry_run: global.dry_run,
            interactive,
            verbose: global.verbose,
            impersonation: crate::connect::impersonation_flags(kube),
        },
        printer,
        requests,
    })
}

/// What a client is for: a verb (counted, kubectl's retry rule, `--request-timeout`) or completion (counted, no
/// retry, every wait within its budget).
pub struct ClientOptions {
    pub requests: crate::accounting::RequestStats,
    /// kubectl's retry rule (src/retry.rs).
    pub retry: bool,
    /// One bound for connecting, each read and the credential plugin, replacing `--request-timeout`.
    pub budget: Option<Duration>,
}

/// How long a credential plugin may take when neither `--request-timeout` nor a budget says: long enough for an
/// interactive login, short enough that a hung plugin does not hang the run (kubectl itself waits forever).
pub const PLUGIN_BOUND: Duration = Duration::from_secs(120);

/// The one place a kube client is built, from kubectl's flags: the config ([`kube_config`]), the credential plugin
/// run within its bound, the accounting and retry layers. Returns the client and the context's namespace. Callable
/// once per context (a fleet run builds one client per `--context`).
pub async fn client(args: &KubeArgs, options: &ClientOptions) -> Result<(kube::Client, String)> {
    let clients = clients(args, options).await?;
    Ok((clients.api, clients.namespace))
}

/// The clients of one cluster: `api` for every request (HTTP/2 over one connection where the server offers it,
/// src/transport.rs), `exec` for WebSocket upgrades (HTTP/1.1), both with the same layers and accounting.
pub struct Clients {
    pub api: kube::Client,
    pub exec: kube::Client,
    /// The context's namespace.
    pub namespace: String,
    pub transport: crate::transport::Transport,
}

/// [`client`] with the exec client beside it (what a verb's Ctx holds).
pub async fn clients(args: &KubeArgs, options: &ClientOptions) -> Result<Clients> {
    let mut config = kube_config(args).await?;
    if let Some(budget) = options.budget {
        config.connect_timeout = Some(budget);
        config.read_timeout = Some(budget);
        config.write_timeout = Some(budget);
    }
    let plugin_bound = options
        .budget
        .or(request_timeout(args)?)
        .unwrap_or(PLUGIN_BOUND);
    let namespace = config.default_namespace.clone();
    // Until the response head, per attempt: kube's read and connect timeouts do not cover its auth layer, where a
    // credential plugin re-run to refresh an expiring token mid-run could hang the verb (streamed bodies — logs,
    // exec — are not cut: the timeout ends at the head).
    let attempt_bound = options.budget.or(request_timeout(args)?);
    let builders = crate::connect::client_builder(config, plugin_bound).await?;
    let layered = |builder: kube::client::ClientBuilder<crate::connect::KubeService>| {
        let builder = builder
            .with_layer(&tower::util::option_layer(
                attempt_bound.map(tower::timeout::TimeoutLayer::new),
            ))
            .with_layer(&crate::accounting::CountingLayer(options.requests.clone()));
        if options.retry {
            builder
                // Outside the counting layer, so `-v` counts every attempt; the buffer makes the stack cloneable, which
                // a retry needs (kube's own stack buffers the same way).
                .with_layer(&tower::buffer::BufferLayer::new(1024))
                .with_layer(&tower::retry::RetryLayer::new(
                    crate::retry::RetryAfter::default(),
                ))
                .build()
        } else {
            builder.build()
        }
    };
    let api = layered(builders.api);
    Ok(Clients {
        // Through a proxy both are kube's one HTTP/1.1 client.
        exec: builders.exec.map_or_else(|| api.clone(), layered),
        api,
        namespace,
        transport: builders.transport,
    })
}

/// `--request-timeout`, parsed (None: not given, or 0 = no limit).
fn request_timeout(args: &KubeArgs) -> Result<Option<Duration>> {
    match &args.request_timeout {
        Some(text) => parse_duration(text),
        None => Ok(None),
    }
}

/// kube::Config from the kubectl flags, as kubectl resolves them (src/connect.rs): `--kubeconfig`, else `$KUBECONFIG`
/// (merged, missing files skipped), else `~/.kube/config`; with no kubeconfig at all, the in-cluster service account;
/// then the context/cluster/user, kubectl's connection flags, the proxy and `--request-timeout`.
pub async fn kube_config(args: &KubeArgs) -> Result<kube::Config> {
    use crate::connect;
    use kube::config::KubeConfigOptions;
    let (kubeconfig, origin) = connect::read_kubeconfigs(args.kubeconfig.as_deref())?;
    let names_given = args.context().is_some() || args.cluster.is_some() || args.user.is_some();
    let mut kubeconfig_proxy = None;
    let mut config = if origin == connect::Origin::None && !names_given {
        match &args.server {
            // `--server` (and usually `--token`) alone is a complete configuration for kubectl.
            Some(server) => kube::Config::new(server.parse().map_err(|e| {
                Error::usage(format!("--server {server:?} is not a URL: {e}"), None)
            })?),
            None if connect::in_cluster_possible() => {
                kube::Config::incluster().map_err(|e| Error::Kubeconfig {
                    message: format!("could not use the in-cluster service account: {e}"),
                    hint: None,
                })?
            }
            None => return Err(Error::Kubeconfig {
                message: "no kubeconfig found and not running in a cluster (KUBECONFIG names no existing file, or                           ~/.kube/config does not exist)"
                    .into(),
                hint: Some(
                    "pass --kubeconfig PATH or set KUBECONFIG; in a pod, mount the service-account token".into(),
                ),
            }),
        }
    } else {
        connect::check_names(&kubeconfig, args)?;
        let context_cluster = args
            .context()
            .or(kubeconfig.current_context.as_ref())
            .and_then(|name| kubeconfig.contexts.iter().find(|c| &c.name == name))
            .and_then(|c| c.context.as_ref())
            .map(|c| c.cluster.clone());
        kubeconfig_proxy = args
            .cluster
            .clone()
            .or(context_cluster)
            .and_then(|name| kubeconfig.clusters.iter().find(|c| c.name == name))
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.proxy_url.clone());
        let options = KubeConfigOptions {
            context: args.context().cloned(),
            cluster: args.cluster.clone(),
            user: args.user.clone(),
        };
        kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| Error::Kubeconfig {
                message: e.to_string(),
                hint: Some(
                    "`kubectl config view --minify` shows the context kubectl would use".into(),
                ),
            })?
    };
    connect::apply_flags(&mut config, args)?;
    connect::inline_token_file(&mut config.auth_info)?;
    config.proxy_url = connect::proxy_for(
        &config.cluster_url,
        kubeconfig_proxy.as_deref(),
        &connect::ProxyEnv::from_env(),
    )
    .map_err(|message| Error::Kubeconfig {
        message,
        hint: Some("fix the proxy setting (kubeconfig proxy-url, HTTPS_PROXY, HTTP_PROXY)".into()),
    })?;
    // kube's own retry policy is replaced by kubectl's rule (src/retry.rs; completion retries nothing).
    config.default_retry = false;
    if args.request_timeout.is_some() {
        // kubectl's --request-timeout bounds the whole request: connecting (TCP and the TLS handshake, which a server
        // that accepts and never answers stalls in) is part of it, not only reading. `0` means no limit.
        let timeout = request_timeout(args)?;
        config.connect_timeout = timeout;
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
