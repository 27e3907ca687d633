//! clap definitions only: the global kubectl-style flags and each verb's arguments. No behaviour lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Reload, resize, diagnose and fix the permissions of Prometheus servers on Kubernetes.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-prom",
    bin_name = "kubectl prom",
    version,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The flags kubectl users expect, with kubectl's names and meanings.
#[derive(Debug, Clone, Default, Args)]
pub struct KubeArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use (`doctor` takes it several times: one report over those clusters).
    #[arg(long, global = true, value_name = "NAME", action = clap::ArgAction::Append)]
    pub context: Vec<String>,
    /// The name of the kubeconfig cluster to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The name of the kubeconfig user to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// The namespace to look in (default: the context's namespace).
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Look in every namespace.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// How long to wait for a single API request, e.g. 30s, 1m (0 = no limit); also bounds connecting and a
    /// credential plugin.
    #[arg(long, global = true, value_name = "DURATION")]
    pub request_timeout: Option<String>,
    /// The address of the API server (replaces the kubeconfig cluster's).
    #[arg(short = 's', long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Bearer token for the API server (replaces the kubeconfig user's credentials).
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Username to impersonate (a user or system:serviceaccount:NAMESPACE:NAME); the permission check answers for it.
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Group to impersonate; repeat for several groups.
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// UID to impersonate.
    #[arg(long = "as-uid", global = true, value_name = "UID")]
    pub as_uid: Option<String>,
    /// Do not verify the API server's certificate (insecure).
    #[arg(long, global = true)]
    pub insecure_skip_tls_verify: bool,
    /// Path to a CA bundle to verify the API server with.
    #[arg(long, global = true, value_name = "PATH")]
    pub certificate_authority: Option<PathBuf>,
    /// Path to a client certificate for TLS.
    #[arg(long, global = true, value_name = "PATH")]
    pub client_certificate: Option<PathBuf>,
    /// Path to a client key for TLS.
    #[arg(long, global = true, value_name = "PATH")]
    pub client_key: Option<PathBuf>,
    /// Server name to use when verifying the API server's certificate.
    #[arg(long, global = true, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Accepted for kubectl compatibility; kubectl-prom keeps no discovery cache.
    #[arg(long, global = true, value_name = "DIR", hide = true)]
    pub cache_dir: Option<PathBuf>,
}

/// Output and interaction flags shared by every verb.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    // `--yes` given before the verb (`kubectl prom --yes reload`); each verb that changes something takes it itself
    // ([`ChangeArgs`]), so doctor's help does not offer it (issue 18 item 8). Hidden, but completion scripts list
    // hidden flags too, so its help is written for a user.
    #[arg(
        short = 'y',
        long,
        hide = true,
        help = "Apply changes without asking for confirmation"
    )]
    pub yes: bool,
    // `--dry-run` given before the verb.
    #[arg(
        long,
        hide = true,
        help = "Show the plan and send every change with dryRun=All; nothing is changed"
    )]
    pub dry_run: bool,
    /// Print only results and errors.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// More detail: API request counts, raw API errors (tokens are never printed).
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Never use colour (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,
}

/// The flags of the verbs that change the cluster (reload, resize, fix-perms); doctor only reads and has none.
#[derive(Debug, Clone, Default, Args)]
pub struct ChangeArgs {
    /// Apply changes without asking for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Show the plan and send every change with dryRun=All; nothing is changed.
    #[arg(long)]
    pub dry_run: bool,
}

impl Command {
    /// The change flags of this verb, if it changes anything.
    pub fn change(&self) -> Option<&ChangeArgs> {
        match self {
            Command::Reload(a) => Some(&a.change),
            Command::Resize(a) => Some(&a.change),
            Command::FixPerms(a) => Some(&a.change),
            _ => None,
        }
    }
}

/// `-o/--output` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text for a person.
    #[default]
    Human,
    /// Stable, parseable JSON on stdout.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and hot-reload Prometheus's configuration on every replica, and verify it took effect.
    #[command(after_help = RELOAD_EXAMPLES)]
    Reload(ReloadArgs),
    /// Grow Prometheus's data volume(s) safely, for every install flavour.
    #[command(after_help = RESIZE_EXAMPLES)]
    Resize(ResizeArgs),
    /// Find what is wrong with a Prometheus server and say how to fix it.
    #[command(after_help = DOCTOR_EXAMPLES)]
    Doctor(DoctorArgs),
    /// Make Prometheus's data directory writable the Kubernetes way (fsGroup), not with chmod 777.
    #[command(name = "fix-perms", after_help = FIX_PERMS_EXAMPLES)]
    FixPerms(FixPermsArgs),
    /// Print a shell completion script, or install kubectl's plugin completion helper.
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completion(CompletionArgs),
    /// Print the version, git commit and build target.
    #[command(after_help = VERSION_EXAMPLES)]
    Version,
    /// kubectl's plugin completion protocol (called by `kubectl_complete-prom`).
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

/// A Prometheus to act on: an instance name, `deploy/NAME`, `sts/NAME`, `pod/NAME` or `prometheus/NAME`.
#[derive(Debug, Clone, Default, Args)]
pub struct TargetArg {
    /// The Prometheus to act on (instance name, deploy/NAME, sts/NAME, pod/NAME, prometheus/NAME). Default: the one in
    /// the namespace.
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReloadArgs {
    #[command(flatten)]
    pub target: TargetArg,
    #[command(flatten)]
    pub change: ChangeArgs,
    /// If the lifecycle API is off, add --web.enable-lifecycle (rolls the pods), then reload.
    #[arg(long)]
    pub enable_lifecycle: bool,
    /// Do not validate the configuration before reloading.
    #[arg(long)]
    pub no_validate: bool,
    /// How long to wait for the ConfigMap to reach the pods and for rollouts, e.g. 2m.
    #[arg(long, default_value = "3m", value_name = "DURATION")]
    pub timeout: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("how_much").required(true).args(["size", "increase", "add"])))]
pub struct ResizeArgs {
    #[command(flatten)]
    pub target: TargetArg,
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The new size of every data volume, e.g. 1300Gi.
    #[arg(long, value_name = "QUANTITY")]
    pub size: Option<String>,
    /// Grow every data volume by a percentage, rounded up to a whole Gi, e.g. 25%.
    #[arg(long, value_name = "PERCENT")]
    pub increase: Option<String>,
    /// Grow every data volume by an amount, e.g. 100Gi.
    #[arg(long, value_name = "QUANTITY")]
    pub add: Option<String>,
    /// Also set allowVolumeExpansion: true on the StorageClass if it is off (a cluster-wide change; confirmed separately).
    #[arg(long)]
    pub allow_expansion: bool,
    /// How long to wait for the volumes to grow, e.g. 10m.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub target: TargetArg,
    /// Exit 1 when a finding at or above this severity is found.
    #[arg(long, value_enum, default_value_t = FailOn::Critical)]
    pub fail_on: FailOn,
    /// Print the catalog of checks and exit.
    #[arg(long)]
    pub list_checks: bool,
    /// Run the checks offline on a `kubectl cluster-info dump --output-directory` directory; repeat it for several
    /// clusters (one directory each, one report).
    #[arg(long, value_name = "DIR", action = clap::ArgAction::Append)]
    pub from_dump: Vec<PathBuf>,
    /// Check every context of the kubeconfig, concurrently (with --context-glob: those whose name matches).
    #[arg(long)]
    pub all_contexts: bool,
    /// Check every kubeconfig context whose name matches this glob (`*` any text, `?` one character), e.g. 'prod-*'.
    #[arg(long, value_name = "GLOB")]
    pub context_glob: Option<String>,
    /// With several clusters: how many are checked at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// With several clusters: the longest one cluster may take; a cluster still running then is reported as not
    /// checked and the others are not held up, e.g. 30s.
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub cluster_timeout: String,
}

impl KubeArgs {
    /// The one `--context` of a one-cluster run (doctor over several takes them all from the field).
    pub fn context(&self) -> Option<&String> {
        self.context.first()
    }
}

impl DoctorArgs {
    /// Whether this run covers several clusters (a `clusters` list in the report), as opposed to today's one.
    pub fn fleet(&self, kube: &KubeArgs) -> bool {
        self.all_contexts || self.context_glob.is_some() || kube.context.len() > 1
    }
}

/// Severity threshold for `doctor --fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Warning,
    Critical,
}

#[derive(Debug, Args)]
pub struct FixPermsArgs {
    #[command(flatten)]
    pub target: TargetArg,
    #[command(flatten)]
    pub change: ChangeArgs,
    /// How long to wait for the rollout and verification, e.g. 5m.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// bash, zsh, fish, powershell, or `install` to put kubectl_complete-prom next to the plugin.
    #[arg(value_name = "SHELL")]
    pub shell: String,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The words typed after `kubectl prom`, the last one being completed.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

const RELOAD_EXAMPLES: &str = "Examples:
  kubectl prom reload -n monitoring
  kubectl prom reload deploy/prometheus-server -n monitoring --yes
  kubectl prom reload prometheus/k8s -n monitoring --enable-lifecycle";
const RESIZE_EXAMPLES: &str = "Examples:
  kubectl prom resize -n monitoring --size 1300Gi
  kubectl prom resize prometheus/k8s -n monitoring --increase 25% --yes
  kubectl prom resize sts/prometheus-server --add 100Gi --dry-run";
const DOCTOR_EXAMPLES: &str = "Examples:
  kubectl prom doctor -n monitoring
  kubectl prom doctor -A -o json
  kubectl prom doctor --from-dump ./cluster-dump --fail-on warning
  kubectl prom doctor -A --all-contexts                 # every cluster of the kubeconfig, concurrently
  kubectl prom doctor -A --context-glob 'prod-*' -o json
  kubectl prom doctor --context eu-1 --context us-1 -n monitoring";
const FIX_PERMS_EXAMPLES: &str = "Examples:
  kubectl prom fix-perms -n monitoring
  kubectl prom fix-perms deploy/prometheus -n monitoring --dry-run";
const COMPLETION_EXAMPLES: &str = "Examples:
  kubectl prom completion install        # then `kubectl prom <TAB>` completes (kubectl >= 1.26)
  kubectl prom completion bash > ~/.local/share/bash-completion/completions/kubectl-prom";
const VERSION_EXAMPLES: &str = "Examples:
  kubectl prom version";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
