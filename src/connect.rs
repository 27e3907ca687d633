//! Reaching the cluster as kubectl does: which kubeconfig files, which context/cluster/user, kubectl's connection flags
//! on top, in-cluster configuration when there is no kubeconfig, client-go's proxy rules, and a client whose credential
//! plugin is bounded. Deciding (proxy choice, flag overrides) is pure; reading files and the environment is separate.

use crate::cli::KubeArgs;
pub use crate::credentials::credential_sentence;
use crate::credentials::io_sentence;
use crate::error::{Error, Result};
use kube::config::{AuthInfo, Kubeconfig, KubeconfigError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The proxy settings of the environment, read once (client-go reads them once per process too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    pub https_proxy: Option<String>,
    pub http_proxy: Option<String>,
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// `HTTPS_PROXY`/`https_proxy`, `HTTP_PROXY`/`http_proxy`, `NO_PROXY`/`no_proxy`: the upper-case name first, an
    /// empty value counts as unset (golang.org/x/net/http/httpproxy `FromEnvironment`, `getEnvAny`).
    pub fn from_env() -> Self {
        let any = |names: [&str; 2]| {
            names
                .iter()
                .filter_map(|n| std::env::var(n).ok())
                .find(|v| !v.is_empty())
        };
        ProxyEnv {
            https_proxy: any(["HTTPS_PROXY", "https_proxy"]),
            http_proxy: any(["HTTP_PROXY", "http_proxy"]),
            no_proxy: any(["NO_PROXY", "no_proxy"]),
        }
    }
}

/// The proxy a request to `server` goes through, as kubectl chooses it:
/// - the cluster's `proxy-url` in the kubeconfig, for every request, NO_PROXY not consulted
///   (k8s.io/client-go/tools/clientcmd/client_config.go: `clientConfig.Proxy = http.ProxyURL(u)`), schemes http,
///   https and socks5 (`parseProxyURL` refuses others);
/// - else the environment: `HTTPS_PROXY` for an https server, `HTTP_PROXY` for an http one, never for `localhost` or
///   a loopback address, and not for a host `NO_PROXY` names (golang.org/x/net/http/httpproxy/proxy.go `useProxy`,
///   which client-go's default transport uses through `http.ProxyFromEnvironment`).
///
/// kube's own choice differs (it applies NO_PROXY to the proxy's address, not the server's, ignores HTTP_PROXY and
/// proxies loopback), so the result replaces `kube::Config::proxy_url`.
pub fn proxy_for(
    server: &http::Uri,
    kubeconfig_proxy: Option<&str>,
    env: &ProxyEnv,
) -> std::result::Result<Option<http::Uri>, String> {
    if let Some(url) = kubeconfig_proxy.filter(|u| !u.is_empty()) {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("proxy-url {url:?} is not a URL: {e}"))?;
        return match uri.scheme_str() {
            Some("http" | "https" | "socks5") if uri.host().is_some() => Ok(Some(uri)),
            _ => Err(format!(
                "proxy URL scheme {} not supported; supported schemes are http, https and socks5",
                uri.scheme_str().unwrap_or("(none)")
            )),
        };
    }
    let from_env = match server.scheme_str() {
        Some("http") => env.http_proxy.as_deref(),
        _ => env.https_proxy.as_deref(),
    };
    let Some(raw) = from_env else {
        return Ok(None);
    };
    let Some(host) = server.host() else {
        return Ok(None);
    };
    let port = server
        .port_u16()
        .unwrap_or(if server.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    if !use_proxy(host, port, env.no_proxy.as_deref().unwrap_or("")) {
        return Ok(None);
    }
    parse_env_proxy(raw).map(Some)
}

/// httpproxy's `parseProxy`: a value without a scheme (`proxy.corp:3128`) means `http://`; `socks5h` is socks5 with
/// the proxy resolving names, which is what kube's SOCKS5 connector does anyway.
fn parse_env_proxy(raw: &str) -> std::result::Result<http::Uri, String> {
    let bad = |e: String| format!("invalid proxy address {raw:?} in the environment: {e}");
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let with_scheme = match with_scheme.strip_prefix("socks5h://") {
        Some(rest) => format!("socks5://{rest}"),
        None => with_scheme,
    };
    let uri: http::Uri = with_scheme.parse().map_err(|e| bad(format!("{e}")))?;
    match uri.scheme_str() {
        Some("http" | "https" | "socks5") if uri.host().is_some() => Ok(uri),
        other => Err(bad(format!(
            "scheme {} is not one of http, https, socks5",
            other.unwrap_or("(none)")
        ))),
    }
}

/// golang.org/x/net/http/httpproxy/proxy.go `useProxy` with the matchers `config.init` builds from NO_PROXY: `*`,
/// an IP or CIDR, `host`/`host:port` (the host and its subdomains), `.host`/`*.host` (subdomains only).
fn use_proxy(host: &str, port: u16, no_proxy: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return false;
    }
    let ip: Option<std::net::IpAddr> = host.parse().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return false;
    }
    let host = host.to_ascii_lowercase();
    let port = port.to_string();
    for entry in no_proxy.split(',') {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return false;
        }
        if let Ok(net) = entry.parse::<ipnet::IpNet>() {
            if ip.is_some_and(|ip| net.contains(&ip)) {
                return false;
            }
            continue;
        }
        let (entry_host, entry_port) = split_host_port(&entry);
        if entry_host.is_empty() {
            continue;
        }
        let port_ok = entry_port.is_none_or(|p| p == port);
        if let Ok(entry_ip) = entry_host.parse::<std::net::IpAddr>() {
            if ip == Some(entry_ip) && port_ok {
                return false;
            }
            continue;
        }
        let entry_host = entry_host.strip_prefix('*').unwrap_or(entry_host);
        let (suffix, match_host) = match entry_host.strip_prefix('.') {
            Some(_) => (entry_host.to_string(), false),
            None => (format!(".{entry_host}"), true),
        };
        if (host.ends_with(&suffix) || (match_host && host == suffix[1..])) && port_ok {
            return false;
        }
    }
    true
}

/// `host:port`, `[v6]:port` or a bare host (Go's `net.SplitHostPort` falling back to the whole entry).
fn split_host_port(entry: &str) -> (&str, Option<&str>) {
    if let Some(rest) = entry.strip_prefix('[')
        && let Some((host, port)) = rest.split_once("]:")
    {
        return (host, Some(port));
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            (host, Some(port))
        }
        _ => (entry, None),
    }
}

/// Where the kubeconfig came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// These files (KUBECONFIG's existing entries, --kubeconfig, or ~/.kube/config), merged first-wins.
    Files(Vec<PathBuf>),
    /// No file exists.
    None,
}

/// Read the kubeconfig files as kubectl does (k8s.io/client-go/tools/clientcmd/loader.go `ClientConfigLoadingRules.
/// Load`): `--kubeconfig` must exist; KUBECONFIG's entries are merged first-wins and missing ones are skipped; else
/// `~/.kube/config` if it exists. An unreadable or invalid file is an error naming the file, never quoting it.
pub fn read_kubeconfigs(explicit: Option<&Path>) -> Result<(Kubeconfig, Origin)> {
    let candidates: Vec<PathBuf> = match explicit {
        Some(path) => {
            if let Err(e) = std::fs::metadata(path) {
                return Err(Error::Kubeconfig {
                    message: format!("stat {}: {}", path.display(), io_sentence(&e)),
                    hint: Some("pass an existing file to --kubeconfig".into()),
                });
            }
            vec![path.to_path_buf()]
        }
        None => match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            Some(list) => std::env::split_paths(&list)
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
            None => home_kubeconfig().into_iter().collect(),
        },
    };
    let mut merged = Kubeconfig::default();
    let mut read = Vec::new();
    for path in candidates {
        if explicit.is_none() && !path.exists() {
            continue;
        }
        let one = Kubeconfig::read_from(&path).map_err(|e| file_error(&path, e))?;
        merged = merged.merge(one).map_err(|e| file_error(&path, e))?;
        read.push(path);
    }
    let origin = if read.is_empty() {
        Origin::None
    } else {
        Origin::Files(read)
    };
    Ok((merged, origin))
}

fn home_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// kubectl's `error loading config file "PATH": yaml: line 5: …`: the parser's sentence and line, never the line's
/// text (it may hold a token).
fn file_error(path: &Path, err: KubeconfigError) -> Error {
    let detail = match &err {
        KubeconfigError::Parse(yaml) => crate::yaml::SyntaxError::from(&**yaml).to_string(),
        KubeconfigError::ReadConfig(io, _) => io_sentence(io),
        other => other.to_string(),
    };
    Error::Kubeconfig {
        message: format!("error loading config file \"{}\": {detail}", path.display()),
        hint: Some("fix the file, or point --kubeconfig/KUBECONFIG at another one".into()),
    }
}

/// Whether the in-cluster configuration can be used (client-go `inClusterClientConfig.Possible`): both service
/// variables set and the service-account token present.
pub fn in_cluster_possible() -> bool {
    let set = |n| std::env::var(n).is_ok_and(|v| !v.is_empty());
    set("KUBERNETES_SERVICE_HOST")
        && set("KUBERNETES_SERVICE_PORT")
        && Path::new("/var/run/secrets/kubernetes.io/serviceaccount/token").is_file()
}

/// Check the names the flags ask for before kube does, with kubectl's sentences (kube answers a missing user with
/// an anonymous client, so `--user nope` became a 401).
pub fn check_names(kubeconfig: &Kubeconfig, args: &KubeArgs) -> Result<()> {
    let named_error = |message: String, hint: &str| Error::Kubeconfig {
        message,
        hint: Some(hint.into()),
    };
    let context_name = args
        .context()
        .cloned()
        .or_else(|| kubeconfig.current_context.clone())
        .filter(|c| !c.is_empty());
    let context = match &context_name {
        Some(name) => {
            let found = kubeconfig
                .contexts
                .iter()
                .find(|c| &c.name == name)
                .and_then(|c| c.context.clone());
            if found.is_none() && (args.context().is_some() || args.server.is_none()) {
                return Err(named_error(
                    format!("context was not found for specified context: {name}"),
                    "`kubectl config get-contexts` lists the contexts; pick one with --context",
                ));
            }
            found
        }
        None => None,
    };
    if let Some(cluster) = &args.cluster
        && !kubeconfig.clusters.iter().any(|c| &c.name == cluster)
    {
        return Err(named_error(
            format!("no server found for cluster \"{cluster}\""),
            "`kubectl config get-clusters` lists the clusters",
        ));
    }
    if let Some(user) = &args.user
        && !kubeconfig.auth_infos.iter().any(|u| &u.name == user)
    {
        return Err(named_error(
            format!("auth info \"{user}\" does not exist"),
            "`kubectl config get-users` lists the users",
        ));
    }
    if context.is_none() && args.server.is_none() {
        return Err(named_error(
            "no context is selected: the kubeconfig has no current-context and --context was not given".into(),
            "pick one with --context (`kubectl config get-contexts` lists them)",
        ));
    }
    Ok(())
}

/// kubectl's connection flags on top of the kubeconfig's cluster and user (client-go clientcmd
/// `DirectClientConfig.getCluster`/`getAuthInfo` with `ConfigOverrides`): `--server`, `--certificate-authority`
/// and `--insecure-skip-tls-verify` (either replaces the kubeconfig's CA and TLS setting), `--tls-server-name`
/// (also cleared by `--server`), `--token` (replaces the user's other credentials), `--client-certificate`/
/// `--client-key`, `--as`/`--as-group`/`--as-uid` (impersonation headers on every request, the access review
/// included).
pub fn apply_flags(config: &mut kube::Config, args: &KubeArgs) -> Result<()> {
    if let Some(server) = &args.server {
        config.cluster_url = server.parse().map_err(|e| {
            Error::usage(
                format!("--server {server:?} is not a URL: {e}"),
                Some("e.g. --server https://10.0.0.1:6443".to_string()),
            )
        })?;
        config.tls_server_name = None;
    }
    if let Some(name) = &args.tls_server_name {
        config.tls_server_name = Some(name.clone());
    }
    if args.insecure_skip_tls_verify || args.certificate_authority.is_some() {
        config.accept_invalid_certs = args.insecure_skip_tls_verify;
        config.root_cert = None;
        config.root_cert_file = None;
    }
    if let Some(path) = &args.certificate_authority {
        let pem = std::fs::read(path).map_err(|e| Error::Kubeconfig {
            message: format!(
                "could not read --certificate-authority {}: {}",
                path.display(),
                io_sentence(&e)
            ),
            hint: None,
        })?;
        let certs = pem_certificates(&pem).map_err(|message| Error::Kubeconfig {
            message: format!("--certificate-authority {}: {message}", path.display()),
            hint: None,
        })?;
        config.root_cert = Some(certs);
    }
    let auth = &mut config.auth_info;
    if let Some(token) = &args.token {
        *auth = AuthInfo {
            impersonate: auth.impersonate.take(),
            impersonate_groups: auth.impersonate_groups.take(),
            impersonate_uid: auth.impersonate_uid.take(),
            impersonate_user_extra: auth.impersonate_user_extra.take(),
            client_certificate: auth.client_certificate.take(),
            client_certificate_data: auth.client_certificate_data.take(),
            client_key: auth.client_key.take(),
            client_key_data: auth.client_key_data.take(),
            ..AuthInfo::default()
        };
        auth.token = Some(token.clone().into());
    }
    if let Some(path) = &args.client_certificate {
        auth.client_certificate = Some(path.display().to_string());
        auth.client_certificate_data = None;
    }
    if let Some(path) = &args.client_key {
        auth.client_key = Some(path.display().to_string());
        auth.client_key_data = None;
    }
    if let Some(user) = &args.as_user {
        auth.impersonate = Some(user.clone());
    }
    if !args.as_group.is_empty() {
        auth.impersonate_groups = Some(args.as_group.clone());
    }
    if let Some(uid) = &args.as_uid {
        auth.impersonate_uid = Some(uid.clone());
    }
    if (!args.as_group.is_empty() || args.as_uid.is_some()) && auth.impersonate.is_none() {
        // client-go's transport refuses this too (transport.Config ImpersonationConfig: "requested impersonation of
        // groups/uid without a user"); the API server would answer it with an error.
        return Err(Error::usage(
            "--as-group and --as-uid need --as: impersonating groups or a uid requires impersonating a user",
            Some("add --as USER (e.g. --as system:serviceaccount:NS:NAME)".to_string()),
        ));
    }
    Ok(())
}

/// `--as USER --as-group G --as-uid U` as the user typed them (shell-quoted where needed), for hints that must ask
/// kubectl the same question; None without `--as`.
pub fn impersonation_flags(args: &KubeArgs) -> Option<String> {
    let quote = |v: &str| {
        if !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ":-_.@/=".contains(c))
        {
            v.to_string()
        } else {
            format!("'{}'", v.replace('\'', r"'\''"))
        }
    };
    let user = args.as_user.as_ref()?;
    let mut flags = format!("--as {}", quote(user));
    for group in &args.as_group {
        flags.push_str(&format!(" --as-group {}", quote(group)));
    }
    if let Some(uid) = &args.as_uid {
        flags.push_str(&format!(" --as-uid {}", quote(uid)));
    }
    Some(flags)
}

/// The DER certificates of a PEM bundle.
fn pem_certificates(bundle: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
    let blocks = pem::parse_many(bundle).map_err(|e| format!("not a PEM file: {e}"))?;
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.into_contents())
        .collect();
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// `tokenFile` as client-go reads it: whitespace around the token is not part of it (client-go
/// transport/token_source.go `cachingTokenSource`/`fileTokenSource`: `strings.TrimSpace`). kube sends the file's bytes
/// as they are, so a file ending in a newline gave "invalid bearer token"; the trimmed token is put inline (inline wins
/// over the file in kube), read once per run — a run is short next to a projected token's lifetime.
pub fn inline_token_file(auth: &mut AuthInfo) -> Result<()> {
    if auth.token.is_some() || auth.exec.is_some() || auth.auth_provider.is_some() {
        return Ok(());
    }
    let Some(path) = auth.token_file.clone() else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Kubeconfig {
        message: format!("could not read tokenFile {path}: {}", io_sentence(&e)),
        hint: None,
    })?;
    auth.token = Some(text.trim().to_string().into());
    auth.token_file = None;
    Ok(())
}

/// The service kube's `ClientBuilder::try_from(Config)` builds (kube's `GenericService`, which it does not export).
pub type KubeService = tower::util::BoxService<
    http::Request<kube::client::Body>,
    http::Response<Box<kube::client::DynBody>>,
    tower::BoxError,
>;

/// The kube client stack for a config, its credential plugin (if any) run within `bound`. kube runs an exec plugin
/// synchronously while building the client (`Auth::try_from` in `ConfigExt::auth_layer`), which blocked the runtime
/// thread: no timeout fired and Ctrl-C was not seen. Built on the blocking pool, the wait is a future like any other:
/// bounded here, and interruptible by the caller's `select!`. A plugin still running at the bound is left to exit by
/// itself (kube owns the child process), the run ends with an error.
pub async fn client_builder(
    config: kube::Config,
    bound: Duration,
) -> Result<crate::transport::Builders> {
    let plugin = config
        .auth_info
        .exec
        .as_ref()
        .and_then(|e| e.command.clone());
    // src/transport.rs: HTTP/2 over one connection (kube's own HTTP/1.1 builder when a proxy applies), and the exec
    // client beside it.
    let task = tokio::task::spawn_blocking(move || crate::transport::builders(config));
    match tokio::time::timeout(bound, task).await {
        Ok(Ok(Ok(builder))) => Ok(builder),
        Ok(Ok(Err(err))) => Err(client_error(err, plugin.as_deref())),
        Ok(Err(join)) => Err(Error::Kubeconfig {
            message: format!("could not create a client for the cluster: {join}"),
            hint: None,
        }),
        Err(_) => Err(Error::Kubeconfig {
            message: format!(
                "getting credentials: exec: executable {} did not finish within {:?}",
                plugin.as_deref().unwrap_or("(credential plugin)"),
                bound
            ),
            hint: Some(
                "run the plugin yourself to see what it waits for (a login prompt, the network); --request-timeout \
                 sets how long to wait"
                    .into(),
            ),
        }),
    }
}

/// A client that could not be built: a credential failure in kubectl's words ([`credential_sentence`]), else kube's.
fn client_error(err: kube::Error, plugin: Option<&str>) -> Error {
    let message = match &err {
        kube::Error::Auth(auth) => credential_sentence(auth, plugin),
        other => format!("could not create a client for the cluster: {other}"),
    };
    Error::Kubeconfig {
        message,
        hint: Some("`kubectl auth whoami` uses the same credentials; fix them there first".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(https: Option<&str>, http: Option<&str>, no: Option<&str>) -> ProxyEnv {
        ProxyEnv {
            https_proxy: https.map(Into::into),
            http_proxy: http.map(Into::into),
            no_proxy: no.map(Into::into),
        }
    }

    fn chosen(server: &str, kc: Option<&str>, e: &ProxyEnv) -> Option<String> {
        proxy_for(&server.parse().unwrap(), kc, e)
            .unwrap()
            .map(|u| u.to_string())
    }

    #[test]
    fn environment_proxy_follows_go_httpproxy() {
        let e = env(Some("proxy:3128"), Some("http://hp:1"), None);
        assert_eq!(
            chosen("https://api.corp:6443", None, &e).as_deref(),
            Some("http://proxy:3128/")
        );
        assert_eq!(
            chosen("http://api.corp", None, &e).as_deref(),
            Some("http://hp:1/")
        );
        // Loopback and localhost are never proxied.
        assert_eq!(chosen("https://127.0.0.1:6443", None, &e), None);
        assert_eq!(chosen("https://127.0.0.9:6443", None, &e), None);
        assert_eq!(chosen("https://localhost:6443", None, &e), None);
        assert_eq!(chosen("https://[::1]:6443", None, &e), None);
        let no = |list: &str, server: &str| {
            chosen(server, None, &env(Some("http://p:1"), None, Some(list))).is_none()
        };
        assert!(no("*", "https://api.corp"));
        assert!(no("corp", "https://api.corp"));
        assert!(no("api.corp", "https://api.corp"));
        assert!(!no(".api.corp", "https://api.corp"));
        assert!(no(".corp", "https://api.corp"));
        assert!(no("*.corp", "https://api.corp"));
        assert!(no("API.CORP", "https://api.corp"));
        assert!(no("api.corp:6443", "https://api.corp:6443"));
        assert!(!no("api.corp:6443", "https://api.corp"));
        assert!(no("10.0.0.0/8", "https://10.1.2.3:6443"));
        assert!(!no("10.0.0.0/8", "https://11.1.2.3:6443"));
        assert!(no("10.1.2.3", "https://10.1.2.3:6443"));
        assert!(!no("pi.corp", "https://api.corp"));
        assert!(no(" , other, api.corp ", "https://api.corp"));
    }

    #[test]
    fn kubeconfig_proxy_url_wins_and_ignores_no_proxy() {
        let e = env(Some("http://envproxy:1"), None, Some("*"));
        assert_eq!(
            chosen("https://127.0.0.1:6443", Some("socks5://bastion:1080"), &e).as_deref(),
            Some("socks5://bastion:1080/")
        );
        assert!(proxy_for(&"https://a".parse().unwrap(), Some("ftp://x"), &e).is_err());
        assert_eq!(
            chosen(
                "https://a.corp",
                None,
                &env(Some("socks5h://s:1"), None, None)
            )
            .as_deref(),
            Some("socks5://s:1/")
        );
    }

    #[test]
    fn impersonation_flags_are_repeated_as_typed_and_quoted() {
        assert_eq!(impersonation_flags(&KubeArgs::default()), None);
        let args = KubeArgs {
            as_user: Some("system:serviceaccount:obs:prometheus".into()),
            as_group: vec!["team a".into(), "it's".into()],
            as_uid: Some("42".into()),
            ..KubeArgs::default()
        };
        assert_eq!(
            impersonation_flags(&args).as_deref(),
            Some(
                "--as system:serviceaccount:obs:prometheus --as-group 'team a' --as-group 'it'\\''s' --as-uid 42"
            )
        );
    }

    #[test]
    fn flags_override_the_kubeconfig() {
        let mut config = kube::Config::new("https://a:1".parse().unwrap());
        config.auth_info.token_file = Some("/x".into());
        config.tls_server_name = Some("old".into());
        let args = KubeArgs {
            server: Some("https://b:2".into()),
            token: Some("t".into()),
            as_user: Some("system:serviceaccount:ns:sa".into()),
            as_group: vec!["g1".into(), "g2".into()],
            insecure_skip_tls_verify: true,
            ..KubeArgs::default()
        };
        apply_flags(&mut config, &args).unwrap();
        assert_eq!(config.cluster_url.to_string(), "https://b:2/");
        assert_eq!(config.tls_server_name, None);
        assert!(config.accept_invalid_certs && config.root_cert.is_none());
        assert!(config.auth_info.token_file.is_none());
        assert_eq!(
            config.auth_info.impersonate.as_deref(),
            Some("system:serviceaccount:ns:sa")
        );
        assert_eq!(
            config.auth_info.impersonate_groups,
            Some(vec!["g1".to_string(), "g2".to_string()])
        );
        let bad = KubeArgs {
            as_group: vec!["g".into()],
            ..KubeArgs::default()
        };
        let mut config = kube::Config::new("https://a:1".parse().unwrap());
        assert!(apply_flags(&mut config, &bad).is_err());
    }
}
