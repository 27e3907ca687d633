//! `kubectl prom completion` (static clap_complete scripts, `completion install`) and the hidden `__complete` protocol
//! kubectl ≥ 1.26 calls through `kubectl_complete-prom`: reading the typed words is pure (`analyze`), fetching names
//! from the kubeconfig and the cluster is bounded I/O (`gather`), and the cobra wire format is `render`.

use crate::cli::{Cli, CompleteArgs, CompletionArgs, KubeArgs};
use crate::context::Scope;
use crate::discover::{Instance, describe, describe_install, target_arg};
use crate::error::{Error, ExitCode, Result};
use crate::ui::Printer;
use clap::CommandFactory;
use clap_complete::Shell;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The plugin's executable name, as krew installs it and as the static scripts complete it.
pub const PLUGIN_BIN: &str = "kubectl-prom";
/// The executable kubectl ≥ 1.26 looks up on PATH to complete `kubectl prom …` (plugin_completion.go).
pub const COMPLETER_BIN: &str = "kubectl_complete-prom";
/// The committed `completions/kubectl_complete-prom`, which `completion install` writes next to the plugin.
pub const COMPLETER_SCRIPT: &str = include_str!("../../completions/kubectl_complete-prom");
/// The shells `completion SHELL` prints a script for, with the file each lands in under `completions/`.
pub const SHELL_SCRIPTS: [(&str, Shell, &str); 4] = [
    ("bash", Shell::Bash, "kubectl-prom.bash"),
    ("zsh", Shell::Zsh, "_kubectl-prom"),
    ("fish", Shell::Fish, "kubectl-prom.fish"),
    ("powershell", Shell::PowerShell, "_kubectl-prom.ps1"),
];
/// The whole of a `__complete` answer must arrive within this: it runs on every TAB.
pub const COMPLETION_BUDGET: Duration = Duration::from_millis(1500);

/// cobra's ShellCompDirective bits (spf13/cobra completions.go).
pub mod directive {
    /// An error occurred; the shell ignores the candidates.
    pub const ERROR: u32 = 1;
    /// Do not fall back to file names when there are no candidates.
    pub const NO_FILE_COMP: u32 = 4;
    /// Complete directory names only.
    pub const FILTER_DIRS: u32 = 16;
    /// Let the shell complete file names (no bits).
    pub const DEFAULT: u32 = 0;
}

/// Print a completion script for a shell, or install the kubectl completion helper.
pub fn run(printer: &Printer, args: &CompletionArgs) -> Result<ExitCode> {
    if args.shell == "install" {
        if cfg!(windows) {
            // kubectl on Windows looks the helper up with PATHEXT (.exe/.cmd); ours is a POSIX sh script.
            return Err(Error::usage(
                format!("`completion install` is not available on Windows: {COMPLETER_BIN} is a POSIX sh script"),
                Some("use `kubectl prom completion powershell` for the standalone kubectl-prom binary".to_string()),
            ));
        }
        let path_var = std::env::var_os("PATH").unwrap_or_default();
        let current_exe = std::env::current_exe().ok();
        let dir = install_dir(&path_var, current_exe.as_deref()).ok_or_else(|| {
            Error::usage(
                format!("could not find `{PLUGIN_BIN}` on PATH to install `{COMPLETER_BIN}` next to it"),
                Some("put kubectl-prom on PATH (e.g. `kubectl krew install prom`), then run `kubectl prom completion install` again".to_string()),
            )
        })?;
        let outcome = install_completer(&dir)?;
        printer.result(&outcome.sentence());
        return Ok(ExitCode::Ok);
    }
    let shell = shell_named(&args.shell).ok_or_else(|| {
        Error::usage(
            format!(
                "`{}` is not a shell kubectl-prom has a completion script for",
                args.shell
            ),
            Some(
                "use one of: bash, zsh, fish, powershell, or `install` for `kubectl prom <TAB>`"
                    .to_string(),
            ),
        )
    })?;
    printer.result(&script(shell));
    Ok(ExitCode::Ok)
}

/// The shell named on the command line, if we generate a script for it.
pub fn shell_named(name: &str) -> Option<Shell> {
    SHELL_SCRIPTS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, shell, _)| *shell)
}

/// The static clap_complete script for `kubectl-prom` (the standalone binary; `kubectl prom` uses `__complete`).
pub fn script(shell: Shell) -> String {
    // NB: clap_complete 4.6's bash output mangles a `-` in the binary name two different ways (`__` in the word
    // loop, `__subcmd__` in the per-subcommand cases), so no subcommand's options ever complete. Generate bash for
    // an underscore name, then register the function for the real name.
    let stand_in = PLUGIN_BIN.replace('-', "_");
    let bin_name = if shell == Shell::Bash {
        stand_in.as_str()
    } else {
        PLUGIN_BIN
    };
    let mut buf = Vec::new();
    let mut command = Cli::command().bin_name(bin_name);
    clap_complete::generate(shell, &mut command, bin_name, &mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    if shell != Shell::Bash {
        return text;
    }
    text.lines()
        .map(|line| {
            if line.trim_start().starts_with("complete -F ") {
                line.replace(&format!(" {stand_in}"), &format!(" {PLUGIN_BIN}"))
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Where `completion install` puts the helper: the first PATH directory holding `kubectl-prom` (krew's
/// `~/.krew/bin` symlink directory, not the resolved store path), else the directory of the running binary.
pub fn install_dir(path_var: &OsStr, current_exe: Option<&Path>) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .find(|dir| dir.join(PLUGIN_BIN).is_file())
        .or_else(|| current_exe.and_then(Path::parent).map(Path::to_path_buf))
}

/// What `completion install` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallOutcome {
    Installed(PathBuf),
    Updated(PathBuf),
    AlreadyCurrent(PathBuf),
}

impl InstallOutcome {
    fn sentence(&self) -> String {
        match self {
            InstallOutcome::Installed(p) => format!(
                "installed {}; `kubectl prom <TAB>` now completes",
                p.display()
            ),
            InstallOutcome::Updated(p) => format!(
                "updated {}; `kubectl prom <TAB>` now completes",
                p.display()
            ),
            InstallOutcome::AlreadyCurrent(p) => {
                format!("{} is already installed and current", p.display())
            }
        }
    }
}

/// Write `kubectl_complete-prom` into `dir`, executable; idempotent, and never overwrites a file that is not ours.
pub fn install_completer(dir: &Path) -> Result<InstallOutcome> {
    let path = dir.join(COMPLETER_BIN);
    let io_error = |action: String| move |source| Error::Io { action, source };
    let outcome = match std::fs::read_to_string(&path) {
        Ok(existing) if existing == COMPLETER_SCRIPT && is_executable(&path) => {
            return Ok(InstallOutcome::AlreadyCurrent(path));
        }
        Ok(existing) if !existing.contains("kubectl-prom __complete") => {
            return Err(Error::usage(
                format!(
                    "{} exists and was not written by kubectl-prom; leaving it alone",
                    path.display()
                ),
                Some(format!(
                    "move it away, then run `kubectl prom completion install` again (or `rm {}`)",
                    path.display()
                )),
            ));
        }
        Ok(_) => InstallOutcome::Updated(path.clone()),
        Err(_) => InstallOutcome::Installed(path.clone()),
    };
    std::fs::write(&path, COMPLETER_SCRIPT)
        .map_err(io_error(format!("could not write {}", path.display())))?;
    make_executable(&path).map_err(io_error(format!(
        "could not make {} executable",
        path.display()
    )))?;
    Ok(outcome)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> bool {
    true
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// The `__complete` protocol.

/// If argv is `kubectl-prom __complete WORDS…`, answer it and return the exit code (always 0: a non-zero exit makes
/// kubectl drop the candidates). main.rs calls this before clap parses, because the words are half-typed: clap would
/// swallow a leading `--context x`, reject `-o ""` and print help for `--help`.
pub async fn intercept(argv: &[OsString]) -> Option<i32> {
    if argv.get(1).map(OsString::as_os_str) != Some(OsStr::new("__complete")) {
        return None;
    }
    let words: Vec<String> = argv[2..]
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    answer(&words).await;
    Some(0)
}

/// Reached only if clap parsed `__complete` itself (main.rs normally intercepts first); answers the same way.
pub async fn complete(_kube: &KubeArgs, args: &CompleteArgs) -> Result<ExitCode> {
    answer(&args.words).await;
    Ok(ExitCode::Ok)
}

/// Analyze, gather within the budget, print the cobra answer on stdout. Never writes to stderr.
async fn answer(words: &[String]) {
    let request = analyze(words);
    let answer = match tokio::time::timeout(COMPLETION_BUDGET, gather(&request)).await {
        Ok(Ok(candidates)) => Answer::new(&request, candidates),
        // A slow or unreachable cluster, or an unreadable kubeconfig: no candidates, and no file names either.
        Ok(Err(_)) | Err(_) => Answer::error(),
    };
    let printer = Printer {
        quiet: true,
        verbose: 0,
        color: false,
        stderr_is_tty: false,
    };
    printer.result(&answer.render());
}

/// A completion candidate: the text inserted and a one-line description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub value: String,
    pub description: String,
}

impl Candidate {
    pub fn new(value: impl Into<String>, description: impl Into<String>) -> Self {
        Candidate {
            value: value.into(),
            description: description.into(),
        }
    }
}

/// What the word under the cursor needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// Names of the visible subcommands.
    Subcommands,
    /// Flags of the current command (its own and the global ones), minus those already given.
    Flags,
    /// A fixed list known from the CLI definition (`-o`, `--fail-on`, the shells).
    Fixed(Vec<Candidate>),
    /// Contexts, clusters or users from the kubeconfig (no network).
    Contexts,
    Clusters,
    Users,
    /// Namespaces from the cluster (one list request).
    Namespaces,
    /// Prometheus instances and `kind/name` targets from the cluster.
    Targets,
    /// A path: let the shell complete files (or only directories).
    Files,
    Dirs,
    /// A free value (a size, a duration) or nothing more to complete.
    Nothing,
}

/// The analysis of the typed words: what to complete, the partial word, and the kubectl flags typed so far.
#[derive(Debug, Clone)]
pub struct Request {
    pub want: Want,
    /// The part of the current word the candidates must start with.
    pub prefix: String,
    /// Text put back in front of each candidate (`--output=` when completing `--output=js`).
    pub insert_before: String,
    /// `--kubeconfig`, `--context`, `-n`, `-A`… already typed: dynamic lookups use them.
    pub kube: KubeArgs,
    /// Flags (by clap id) already given, so they are not offered again.
    pub given: Vec<String>,
    /// The subcommand the cursor is in (None = the top level).
    pub subcommand: Option<String>,
}

/// Read the words typed after `kubectl prom` (the last one is being completed) against the CLI definition.
pub fn analyze(words: &[String]) -> Request {
    let mut root = Cli::command();
    root.build();
    let (current, typed) = match words.split_last() {
        Some((current, typed)) => (current.as_str(), typed),
        None => ("", &[][..]),
    };
    let mut sub: Option<clap::Command> = None;
    let mut kube = KubeArgs::default();
    let mut given: Vec<String> = Vec::new();
    let mut positionals = 0usize;
    let mut pending: Option<clap::Arg> = None;
    let mut after_dashes = false;

    for word in typed {
        let cmd = sub.as_ref().unwrap_or(&root);
        if let Some(arg) = pending.take() {
            record(&mut kube, &arg, word);
            continue;
        }
        if after_dashes || word == "-" || !word.starts_with('-') {
            if !after_dashes
                && sub.is_none()
                && let Some(found) = root.find_subcommand(word)
            {
                sub = Some(found.clone());
                continue;
            }
            positionals += 1;
            continue;
        }
        if word == "--" {
            after_dashes = true;
            continue;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            if let Some(arg) = cmd.get_arguments().find(|a| a.get_long() == Some(name)) {
                given.push(arg.get_id().to_string());
                match inline {
                    Some(value) => record(&mut kube, arg, value),
                    None if takes_value(arg) => pending = Some(arg.clone()),
                    None => record(&mut kube, arg, ""),
                }
            }
            continue;
        }
        // A cluster of short flags (`-Ay`), possibly ending in one that takes a value (`-nmonitoring`, `-n`).
        let shorts = &word[1..];
        for (at, c) in shorts.char_indices() {
            let Some(arg) = cmd.get_arguments().find(|a| a.get_short() == Some(c)) else {
                break;
            };
            given.push(arg.get_id().to_string());
            if takes_value(arg) {
                let rest = &shorts[at + c.len_utf8()..];
                if rest.is_empty() {
                    pending = Some(arg.clone());
                } else {
                    record(&mut kube, arg, rest.trim_start_matches('='));
                }
                break;
            }
            record(&mut kube, arg, "");
        }
    }

    let cmd = sub.as_ref().unwrap_or(&root);
    let subcommand = sub.as_ref().map(|s| s.get_name().to_string());
    let mut request = Request {
        want: Want::Nothing,
        prefix: current.to_string(),
        insert_before: String::new(),
        kube,
        given,
        subcommand,
    };
    if let Some(arg) = pending {
        request.want = values_for(&arg);
        return request;
    }
    if !after_dashes && current.starts_with("--") && current.contains('=') {
        let (name, value) = current.split_once('=').unwrap_or((current, ""));
        if let Some(arg) = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(&name[2..]))
        {
            request.want = values_for(arg);
            request.prefix = value.to_string();
            request.insert_before = format!("{name}=");
        }
        return request;
    }
    if !after_dashes && current.starts_with('-') {
        request.want = Want::Flags;
        return request;
    }
    request.want = match request.subcommand.as_deref() {
        None => Want::Subcommands,
        Some("completion") if positionals == 0 => Want::Fixed(
            SHELL_SCRIPTS
                .iter()
                .map(|(name, _, _)| {
                    Candidate::new(
                        *name,
                        format!("print the {name} completion script for kubectl-prom"),
                    )
                })
                .chain([Candidate::new(
                    "install",
                    format!("put {COMPLETER_BIN} next to the plugin for `kubectl prom <TAB>`"),
                )])
                .collect(),
        ),
        Some(_) if positionals == 0 && cmd.get_arguments().any(|a| a.get_id() == "target") => {
            Want::Targets
        }
        Some(_) => Want::Nothing,
    };
    request
}

fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values()
}

/// Keep the kubectl connection flags typed so far; dynamic lookups must use the same cluster and namespace.
fn record(kube: &mut KubeArgs, arg: &clap::Arg, value: &str) {
    let value = value.to_string();
    match arg.get_id().as_str() {
        "kubeconfig" => kube.kubeconfig = Some(PathBuf::from(value)),
        "context" => kube.context.push(value),
        "cluster" => kube.cluster = Some(value),
        "user" => kube.user = Some(value),
        "namespace" => kube.namespace = Some(value),
        "all_namespaces" => kube.all_namespaces = true,
        "server" => kube.server = Some(value),
        "token" => kube.token = Some(value),
        "as_user" => kube.as_user = Some(value),
        "as_group" => kube.as_group.push(value),
        "as_uid" => kube.as_uid = Some(value),
        "insecure_skip_tls_verify" => kube.insecure_skip_tls_verify = true,
        "certificate_authority" => kube.certificate_authority = Some(PathBuf::from(value)),
        "client_certificate" => kube.client_certificate = Some(PathBuf::from(value)),
        "client_key" => kube.client_key = Some(PathBuf::from(value)),
        "tls_server_name" => kube.tls_server_name = Some(value),
        _ => {}
    }
}

/// What a value-taking flag completes to.
fn values_for(arg: &clap::Arg) -> Want {
    match arg.get_id().as_str() {
        "context" => return Want::Contexts,
        "cluster" => return Want::Clusters,
        "user" => return Want::Users,
        "namespace" => return Want::Namespaces,
        "kubeconfig" | "certificate_authority" | "client_certificate" | "client_key" => {
            return Want::Files;
        }
        "from_dump" => return Want::Dirs,
        _ => {}
    }
    let fixed: Vec<Candidate> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| Candidate::new(v.get_name(), v.get_help().map(one_line).unwrap_or_default()))
        .collect();
    if fixed.is_empty() {
        Want::Nothing
    } else {
        Want::Fixed(fixed)
    }
}

/// The first line of a help text, without the closing full stop (cobra shows one line per candidate).
fn one_line(text: &clap::builder::StyledStr) -> String {
    let text = text.to_string();
    text.lines()
        .next()
        .unwrap_or_default()
        .trim()
        .trim_end_matches('.')
        .to_string()
}

/// Candidates that need no I/O: subcommands, flags and fixed values.
pub fn static_candidates(request: &Request) -> Vec<Candidate> {
    let mut root = Cli::command();
    root.build();
    let cmd = match &request.subcommand {
        Some(name) => root.find_subcommand(name).cloned().unwrap_or(root),
        None => root,
    };
    match &request.want {
        Want::Subcommands => cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| {
                Candidate::new(
                    s.get_name(),
                    s.get_about().map(one_line).unwrap_or_default(),
                )
            })
            .collect(),
        Want::Flags => {
            let only_long = request.prefix.starts_with("--");
            let mut flags = Vec::new();
            for arg in cmd
                .get_arguments()
                .filter(|a| !a.is_positional() && !a.is_hide_set())
            {
                // --context repeats only for doctor (several clusters); every other verb takes one.
                let repeatable = matches!(
                    arg.get_action(),
                    clap::ArgAction::Count | clap::ArgAction::Append
                ) && (arg.get_id() != "context"
                    || request.subcommand.as_deref() == Some("doctor"));
                if !repeatable && request.given.iter().any(|g| g == arg.get_id().as_str()) {
                    continue;
                }
                let help = arg.get_help().map(one_line).unwrap_or_default();
                if let Some(long) = arg.get_long() {
                    flags.push(Candidate::new(format!("--{long}"), help.clone()));
                }
                if let (Some(short), false) = (arg.get_short(), only_long) {
                    flags.push(Candidate::new(format!("-{short}"), help));
                }
            }
            flags
        }
        Want::Fixed(values) => values.clone(),
        _ => Vec::new(),
    }
}

/// Everything the answer needs: static candidates, or names from the kubeconfig or the cluster (≤ 2 requests).
pub async fn gather(request: &Request) -> Result<Vec<Candidate>> {
    match request.want {
        Want::Contexts | Want::Clusters | Want::Users => {
            let kubeconfig = read_kubeconfig(&request.kube)?;
            Ok(kubeconfig_names(&kubeconfig, &request.want))
        }
        Want::Namespaces => {
            let (client, _) = quick_client(&request.kube).await?;
            namespaces(&client).await
        }
        Want::Targets => {
            let (client, scope) = quick_client(&request.kube).await?;
            targets(&client, &scope, &request.prefix).await
        }
        _ => Ok(static_candidates(request)),
    }
}

fn read_kubeconfig(kube: &KubeArgs) -> Result<kube::config::Kubeconfig> {
    match &kube.kubeconfig {
        Some(path) => kube::config::Kubeconfig::read_from(path),
        None => kube::config::Kubeconfig::read(),
    }
    .map_err(|e| Error::Kubeconfig {
        message: e.to_string(),
        hint: None,
    })
}

/// Context, cluster or user names from a kubeconfig, described the way `kubectl config get-contexts` shows them.
pub fn kubeconfig_names(kubeconfig: &kube::config::Kubeconfig, want: &Want) -> Vec<Candidate> {
    match want {
        Want::Contexts => kubeconfig
            .contexts
            .iter()
            .map(|named| {
                let description = named
                    .context
                    .as_ref()
                    .map(|c| {
                        let ns = c.namespace.as_deref().unwrap_or("default");
                        format!("cluster {}, namespace {ns}", c.cluster)
                    })
                    .unwrap_or_default();
                Candidate::new(&named.name, description)
            })
            .collect(),
        Want::Clusters => kubeconfig
            .clusters
            .iter()
            .map(|named| {
                let server = named
                    .cluster
                    .as_ref()
                    .and_then(|c| c.server.clone())
                    .unwrap_or_default();
                Candidate::new(&named.name, server)
            })
            .collect(),
        Want::Users => kubeconfig
            .auth_infos
            .iter()
            .map(|named| Candidate::new(&named.name, ""))
            .collect(),
        _ => Vec::new(),
    }
}

/// A client for completion: the same kubeconfig resolution as every verb, with short timeouts; and the scope
/// (`-A`, `-n`, else the context's namespace) target lookups use.
async fn quick_client(kube: &KubeArgs) -> Result<(kube::Client, Scope)> {
    // The one client constructor every verb uses, with every wait (connecting, reading, a credential plugin) inside
    // the completion budget and no retry.
    let (client, default_namespace) = crate::clients::client(
        kube,
        &crate::clients::ClientOptions {
            requests: crate::accounting::RequestStats::default(),
            retry: false,
            budget: Some(COMPLETION_BUDGET),
        },
    )
    .await?;
    let scope = if kube.all_namespaces {
        Scope::AllNamespaces
    } else {
        Scope::Namespace(kube.namespace.clone().unwrap_or(default_namespace))
    };
    Ok((client, scope))
}

/// Namespace names: one list request.
async fn namespaces(client: &kube::Client) -> Result<Vec<Candidate>> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: kube::Api<Namespace> = kube::Api::all(client.clone());
    let list = api
        .list_metadata(&kube::api::ListParams::default())
        .await
        .map_err(Error::kube("list namespaces"))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|ns| ns.metadata.name)
        .map(|name| Candidate::new(name, "namespace"))
        .collect())
}

/// Every way to name the Prometheus servers in scope. The workloads and `Prometheus` resources (one round trip of
/// concurrent lists) name every workload-managed server; the pods (a second round) are read only for a prefix that
/// names one (`pod/…`) or when no workload runs Prometheus (bare pods are all there is).
async fn targets(client: &kube::Client, scope: &Scope, prefix: &str) -> Result<Vec<Candidate>> {
    use crate::discover::{find_instances, gather_pods, gather_workloads};
    let mut inventory = gather_workloads(client, scope).await?;
    let mut instances = find_instances(&inventory);
    let read_pods = prefix.starts_with("pod/") || instances.is_empty();
    if read_pods {
        gather_pods(client, scope, &mut inventory).await?;
        instances = find_instances(&inventory);
    }
    Ok(target_candidates(&instances, read_pods))
}

/// The names a target argument accepts for these instances: the instance name, `prometheus/…` or the workload
/// (`deploy/…`, `sts/…`), and each pod (`pod/…`) when the pods were read; described so the user can tell them
/// apart (with their pod count only when it is known).
pub fn target_candidates(instances: &[Instance], pods_read: bool) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |value: String, description: String| {
        if !out.iter().any(|c| c.value == value) {
            out.push(Candidate::new(value, description));
        }
    };
    for instance in instances {
        let described = if pods_read {
            describe(instance)
        } else {
            describe_install(instance)
        };
        push(instance.name.clone(), described.clone());
        let primary = target_arg(instance);
        push(primary.clone(), described);
        for workload in &instance.workloads {
            push(
                workload.display(),
                format!(
                    "{} of {}/{}",
                    workload.kind.short(),
                    instance.namespace,
                    instance.name
                ),
            );
        }
        for pod in instance.pods.iter().filter(|_| pods_read) {
            let state = if pod.ready {
                "ready".to_string()
            } else {
                pod.phase.to_lowercase()
            };
            push(
                format!("pod/{}", pod.name),
                format!("pod of {}/{}, {state}", instance.namespace, instance.name),
            );
        }
    }
    out
}

/// The cobra answer: candidates (`value\tdescription`) filtered by the typed prefix, then `:<directive>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub candidates: Vec<Candidate>,
    pub directive: u32,
}

impl Answer {
    /// Filter by prefix and pick the directive the request implies.
    pub fn new(request: &Request, candidates: Vec<Candidate>) -> Self {
        let candidates: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| c.value.starts_with(&request.prefix))
            .map(|c| {
                Candidate::new(
                    format!("{}{}", request.insert_before, c.value),
                    c.description,
                )
            })
            .collect();
        let directive = match request.want {
            Want::Files => directive::DEFAULT,
            Want::Dirs => directive::FILTER_DIRS,
            _ => directive::NO_FILE_COMP,
        };
        Answer {
            candidates,
            directive,
        }
    }

    /// No candidates, and tell the shell not to offer file names instead.
    pub fn error() -> Self {
        Answer {
            candidates: Vec::new(),
            directive: directive::ERROR,
        }
    }

    /// The exact stdout kubectl reads: one candidate per line, then `:<directive>`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.candidates {
            // Candidates are cut at the first newline and tabs separate the description (cobra).
            let value = c.value.lines().next().unwrap_or_default();
            let description = c.description.replace(['\t', '\n'], " ");
            if description.is_empty() {
                out.push_str(value);
            } else {
                out.push_str(&format!("{value}\t{description}"));
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &[&str]) -> Vec<String> {
        text.iter().map(|w| w.to_string()).collect()
    }

    fn values(request: &Request) -> Vec<String> {
        Answer::new(request, static_candidates(request))
            .candidates
            .into_iter()
            .map(|c| c.value)
            .collect()
    }

    #[test]
    fn empty_word_at_the_top_offers_the_visible_verbs() {
        let request = analyze(&words(&[""]));
        assert_eq!(request.want, Want::Subcommands);
        assert_eq!(
            values(&request),
            [
                "reload",
                "resize",
                "doctor",
                "fix-perms",
                "completion",
                "version",
                "help"
            ]
        );
    }

    #[test]
    fn a_partial_verb_is_filtered_by_prefix() {
        assert_eq!(values(&analyze(&words(&["re"]))), ["reload", "resize"]);
    }

    #[test]
    fn output_values_come_from_the_cli_definition() {
        let request = analyze(&words(&["doctor", "-o", ""]));
        let answer = Answer::new(&request, static_candidates(&request));
        assert_eq!(
            answer.render(),
            "human\tReadable text for a person\njson\tStable, parseable JSON on stdout\n:4\n"
        );
    }

    #[test]
    fn inline_flag_values_keep_the_flag_in_front() {
        let request = analyze(&words(&["doctor", "--output=j"]));
        assert_eq!(values(&request), ["--output=json"]);
        let request = analyze(&words(&["doctor", "--fail-on="]));
        assert_eq!(
            values(&request),
            ["--fail-on=warning", "--fail-on=critical"]
        );
    }

    #[test]
    fn leading_connection_flags_are_kept_for_lookups_and_not_offered_again() {
        let request = analyze(&words(&[
            "--context",
            "kind-a",
            "-nmonitoring",
            "reload",
            "--",
        ]));
        assert_eq!(request.kube.context, ["kind-a"]);
        assert_eq!(request.kube.namespace.as_deref(), Some("monitoring"));
        assert_eq!(request.subcommand.as_deref(), Some("reload"));
        let offered = values(&request);
        assert!(
            offered.contains(&"--enable-lifecycle".to_string()),
            "{offered:?}"
        );
        assert!(offered.contains(&"--kubeconfig".to_string()), "{offered:?}");
        assert!(!offered.contains(&"--context".to_string()), "{offered:?}");
        assert!(!offered.contains(&"--namespace".to_string()), "{offered:?}");
        assert!(
            !offered.iter().any(|f| !f.starts_with("--")),
            "only long flags after `--`: {offered:?}"
        );
    }

    #[test]
    fn a_single_dash_offers_short_flags_too_and_repeatable_ones_stay() {
        let offered = values(&analyze(&words(&["doctor", "-v", "-"])));
        assert!(
            offered.contains(&"-v".to_string()),
            "-v counts, so it may repeat: {offered:?}"
        );
        assert!(offered.contains(&"-n".to_string()), "{offered:?}");
        assert!(!offered.contains(&"--__complete".to_string()));
    }

    #[test]
    fn value_flags_route_to_their_sources() {
        assert_eq!(
            analyze(&words(&["reload", "-n", ""])).want,
            Want::Namespaces
        );
        assert_eq!(
            analyze(&words(&["--namespace", "mon"])).want,
            Want::Namespaces
        );
        assert_eq!(
            analyze(&words(&["reload", "--context", ""])).want,
            Want::Contexts
        );
        assert_eq!(analyze(&words(&["--kubeconfig", ""])).want, Want::Files);
        assert_eq!(
            analyze(&words(&["doctor", "--from-dump", ""])).want,
            Want::Dirs
        );
        assert_eq!(
            analyze(&words(&["resize", "--size", ""])).want,
            Want::Nothing
        );
        let request = analyze(&words(&["reload", "--namespace=mo"]));
        assert_eq!(
            (
                request.want,
                request.prefix.as_str(),
                request.insert_before.as_str()
            ),
            (Want::Namespaces, "mo", "--namespace=")
        );
    }

    #[test]
    fn the_target_position_asks_the_cluster_once_per_verb() {
        for verb in ["reload", "resize", "doctor", "fix-perms"] {
            assert_eq!(analyze(&words(&[verb, ""])).want, Want::Targets, "{verb}");
        }
        assert_eq!(
            analyze(&words(&["reload", "-n", "monitoring", "prom"])).want,
            Want::Targets
        );
        assert_eq!(
            analyze(&words(&["reload", "sts/prometheus", ""])).want,
            Want::Nothing
        );
        assert_eq!(analyze(&words(&["version", ""])).want, Want::Nothing);
    }

    #[test]
    fn completion_offers_the_shells_and_install() {
        assert_eq!(
            values(&analyze(&words(&["completion", ""]))),
            ["bash", "zsh", "fish", "powershell", "install"]
        );
    }

    #[test]
    fn contexts_come_from_the_kubeconfig_with_their_namespace() {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(
            "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: sim\n  cluster: {server: 'https://127.0.0.1:1'}\n\
             contexts:\n- name: a\n  context: {cluster: sim, user: u, namespace: monitoring}\n- name: b\n  context: {cluster: sim, user: u}\n\
             users:\n- name: u\n  user: {token: t}\n",
        )
        .expect("fixture kubeconfig parses");
        assert_eq!(
            kubeconfig_names(&kubeconfig, &Want::Contexts),
            [
                Candidate::new("a", "cluster sim, namespace monitoring"),
                Candidate::new("b", "cluster sim, namespace default")
            ]
        );
        assert_eq!(
            kubeconfig_names(&kubeconfig, &Want::Clusters),
            [Candidate::new("sim", "https://127.0.0.1:1")]
        );
    }

    fn instance(
        name: &str,
        flavour: crate::discover::Flavour,
        workload: (crate::discover::WorkloadKind, &str),
        pods: &[(&str, bool)],
    ) -> Instance {
        use crate::discover::{PodRef, WorkloadRef};
        Instance {
            namespace: "monitoring".into(),
            name: name.into(),
            flavour,
            workloads: vec![WorkloadRef {
                kind: workload.0,
                name: workload.1.into(),
                replicas: pods.len() as i32,
                resource_version: None,
                ordered_ready: false,
            }],
            pods: pods
                .iter()
                .map(|(pod, ready)| PodRef {
                    name: (*pod).into(),
                    phase: "Running".into(),
                    ready: *ready,
                })
                .collect(),
            container: "prometheus".into(),
            image: "quay.io/prometheus/prometheus:v2.42.0".into(),
            args: Vec::new(),
            port: 9090,
            route_prefix: "/".into(),
            data: None,
            config: None,
            sidecars: Vec::new(),
            origin: Default::default(),
        }
    }

    #[test]
    fn targets_offer_instance_workload_and_pod_names() {
        use crate::discover::{Flavour, LabelGeneration, WorkloadKind};
        let chart = instance(
            "prometheus-server",
            Flavour::Chart {
                release: "prometheus".into(),
                chart: None,
                labels: LabelGeneration::Recommended,
            },
            (WorkloadKind::Deployment, "prometheus-server"),
            &[("prometheus-server-5d8f-abcde", true)],
        );
        let operator = instance(
            "k8s",
            Flavour::Operator {
                prometheus: "k8s".into(),
            },
            (WorkloadKind::StatefulSet, "prometheus-k8s"),
            &[("prometheus-k8s-0", true), ("prometheus-k8s-1", false)],
        );
        let candidates = target_candidates(&[chart.clone(), operator.clone()], true);
        let values: Vec<&str> = candidates.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(
            values,
            [
                "prometheus-server",
                "deploy/prometheus-server",
                "pod/prometheus-server-5d8f-abcde",
                "k8s",
                "prometheus/k8s",
                "sts/prometheus-k8s",
                "pod/prometheus-k8s-0",
                "pod/prometheus-k8s-1",
            ]
        );
        assert!(
            candidates[3]
                .description
                .contains("operator resource prometheus/k8s"),
            "{:?}",
            candidates[3]
        );
        assert_eq!(candidates[7].description, "pod of monitoring/k8s, running");
        let request = analyze(&words(&["reload", "pod/prometheus-k8s"]));
        let answer = Answer::new(&request, candidates);
        assert_eq!(
            answer.candidates.len(),
            2,
            "prefix filter keeps the two operator pods"
        );
        // Pods not read (completion's one-round answer): no pod names, and no pod count that would read as 0.
        let without_pods = target_candidates(&[chart, operator], false);
        assert_eq!(without_pods.len(), 5, "{without_pods:?}");
        assert!(without_pods.iter().all(|c| !c.value.starts_with("pod/")));
        assert_eq!(
            without_pods[0].description,
            "monitoring/prometheus-server (Helm chart release prometheus, deploy/prometheus-server)"
        );
    }

    #[test]
    fn render_puts_the_directive_last_and_keeps_candidates_on_one_line() {
        let answer = Answer {
            candidates: vec![
                Candidate::new("a\nb", "two\nlines"),
                Candidate::new("plain", ""),
            ],
            directive: directive::NO_FILE_COMP,
        };
        assert_eq!(answer.render(), "a\ttwo lines\nplain\n:4\n");
        assert_eq!(Answer::error().render(), ":1\n");
    }

    #[test]
    fn install_is_idempotent_and_leaves_foreign_files_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(COMPLETER_BIN);
        assert_eq!(
            install_completer(dir.path()).expect("install"),
            InstallOutcome::Installed(path.clone())
        );
        assert!(is_executable(&path));
        assert_eq!(
            install_completer(dir.path()).expect("again"),
            InstallOutcome::AlreadyCurrent(path.clone())
        );
        std::fs::write(
            &path,
            "#!/bin/sh\nexec kubectl-prom __complete \"$@\" # old\n",
        )
        .expect("write old");
        assert_eq!(
            install_completer(dir.path()).expect("update"),
            InstallOutcome::Updated(path.clone())
        );
        std::fs::write(&path, "#!/bin/sh\necho someone else\n").expect("write foreign");
        assert!(install_completer(dir.path()).is_err());
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "#!/bin/sh\necho someone else\n"
        );
    }

    #[test]
    fn install_dir_prefers_the_path_entry_holding_the_plugin() {
        let empty = tempfile::tempdir().expect("temp dir");
        let with_plugin = tempfile::tempdir().expect("temp dir");
        std::fs::write(with_plugin.path().join(PLUGIN_BIN), "").expect("fake plugin");
        let path_var = std::env::join_paths([empty.path(), with_plugin.path()]).expect("PATH");
        assert_eq!(
            install_dir(&path_var, None),
            Some(with_plugin.path().to_path_buf())
        );
        let exe = empty.path().join("elsewhere").join(PLUGIN_BIN);
        assert_eq!(
            install_dir(OsStr::new(""), Some(&exe)),
            Some(empty.path().join("elsewhere"))
        );
    }
}
