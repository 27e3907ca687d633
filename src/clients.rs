//! The kube clients and the Ctx of one cluster, built from kubectl's flags as kubectl resolves them: the config, the
//! credential plugin within its bound, the accounting and retry layers, the API client (HTTP/2 where offered) and the
//! exec client beside it. Below the verbs, doctor's fleet and completion, which all build their clients here.

use crate::cli::KubeArgs;
use crate::context::{Ctx, Scope, Settings, parse_duration};
use crate::error::{Error, Result};
use crate::ui::Printer;
use std::io::IsTerminal;
use std::time::Duration;

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
