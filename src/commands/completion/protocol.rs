//! The `__complete` words: what the word under the cursor needs (`analyze`, pure), the candidates from the CLI
//! definition, the kubeconfig and the cluster (`gather`, bounded I/O; the cluster's names are listed by `discover`),
//! and the cobra answer kubectl reads (`Answer::render`).

use super::{COMPLETER_BIN, COMPLETION_BUDGET, SHELL_SCRIPTS, directive};
use crate::cli::{Cli, KubeArgs};
use crate::context::Scope;
use crate::discover::{Instance, describe, describe_install, target_arg};
use crate::error::{Error, Result};
use clap::CommandFactory;
use std::path::PathBuf;

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

/// Namespace names: one list request, made by discovery (listing belongs there, issue 17).
async fn namespaces(client: &kube::Client) -> Result<Vec<Candidate>> {
    Ok(crate::discover::namespace_names(client)
        .await?
        .into_iter()
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
    use super::super::*;
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
                    terminating: false,
                })
                .collect(),
            terminating: Vec::new(),
            container: "prometheus".into(),
            image: "quay.io/prometheus/prometheus:v2.42.0".into(),
            args: Vec::new(),
            port: 9090,
            route_prefix: "/".into(),
            data: None,
            config: None,
            sidecars: Vec::new(),
            origin: Default::default(),
            not_rendered: None,
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
