//! `doctor` over several clusters: which kubeconfig contexts to check (pure), checking them concurrently with a
//! bound on how many at once and on how long each may take (one Ctx and one connection per cluster), and the fleet's
//! human report (a section per cluster and a closing table). The JSON shape is `report::FleetReport`.

use crate::accounting::RequestStats;
use crate::cli::{DoctorArgs, GlobalArgs, KubeArgs};
use crate::doctor::report::{self, ClusterError, ClusterReport, FleetReport};
use crate::doctor::{dump, gather};
use crate::error::{Error, Result};
use crate::ui::Printer;
use futures::StreamExt;
use kube::config::Kubeconfig;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `*` matches any text (also none), `?` one character; everything else itself. Context names are matched whole.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative matching with one backtrack point (the last `*`), linear in practice.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The contexts to check, in order: the `--context` names (each must exist), or every context of the kubeconfig
/// (`--all-contexts`) or those matching `--context-glob`; without a match, a usage error naming what is there.
pub fn select_contexts(
    available: &[String],
    named: &[String],
    all: bool,
    glob: Option<&str>,
) -> Result<Vec<String>> {
    let listing = || {
        if available.is_empty() {
            "the kubeconfig has no contexts".to_string()
        } else {
            format!("the contexts are: {}", available.join(", "))
        }
    };
    let mut chosen: Vec<String> = Vec::new();
    for name in named {
        if !available.contains(name) {
            return Err(Error::usage(
                format!("there is no context `{name}` in the kubeconfig"),
                Some(listing()),
            ));
        }
        if !chosen.contains(name) {
            chosen.push(name.clone());
        }
    }
    if all || glob.is_some() {
        for name in available {
            if glob.is_none_or(|g| glob_match(g, name)) && !chosen.contains(name) {
                chosen.push(name.clone());
            }
        }
    }
    if chosen.is_empty() {
        return Err(Error::usage(
            match glob {
                Some(g) => format!("no kubeconfig context matches `{g}`"),
                None => "no kubeconfig context to check".to_string(),
            },
            Some(listing()),
        ));
    }
    Ok(chosen)
}

/// The API server URL of a context, from the kubeconfig alone (so a cluster that never answers still has one).
fn server_of(kubeconfig: &Kubeconfig, context: &str) -> Option<String> {
    let cluster = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?
        .cluster
        .clone();
    kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .clone()
}

/// Check every chosen context concurrently (at most `--parallel` at once, each bounded by `--cluster-timeout`) and
/// return their reports in the order they were chosen. Progress (stderr) shows which clusters are still running.
pub async fn check_contexts(
    kube: &KubeArgs,
    global: &GlobalArgs,
    printer: &Printer,
    args: &DoctorArgs,
) -> Result<FleetReport> {
    let bound = crate::context::parse_duration(&args.cluster_timeout)?.unwrap_or(Duration::MAX);
    // A bad target is the user's to fix before any cluster is contacted (exit 2), not one error per cluster.
    if let Some(t) = args.target.target.as_deref() {
        crate::discover::parse_target(t)?;
    }
    // The same kubeconfig files every verb reads (src/connect.rs), for the context names and their servers.
    let (kubeconfig, _) = crate::connect::read_kubeconfigs(kube.kubeconfig.as_deref())?;
    let available: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let contexts = select_contexts(
        &available,
        &kube.context,
        args.all_contexts,
        args.context_glob.as_deref(),
    )?;
    let board = crate::progress::Board::new(printer);
    let running = std::sync::Mutex::new(contexts.clone());
    // Owned names: the futures run inside the spawned command task, whose closures must not borrow the list.
    let checks = contexts.iter().cloned().enumerate().map(|(index, context)| {
        let (kubeconfig, board, running) = (kubeconfig.clone(), &board, &running);
        async move {
            let line = board.line(&printable(&context));
            line.set("checking");
            let started = Instant::now();
            let outcome = tokio::time::timeout(
                bound,
                check_one(kube, global, printer, args, &context),
            )
            .await
            .unwrap_or_else(|_| {
                Err(Error::Verify {
                    message: format!(
                        "no complete answer within {} (--cluster-timeout); not checked",
                        args.cluster_timeout
                    ),
                    hint: Some(format!(
                        "check the cluster alone: `kubectl prom doctor --context {context}`; `kubectl --context {context} get --raw /readyz` shows whether its API server answers"
                    )),
                })
            });
            let cluster = ClusterReport {
                context: context.clone(),
                server: server_of(&kubeconfig, &context),
                version: outcome.as_ref().ok().and_then(|(_, v)| v.clone()),
                elapsed_ms: started.elapsed().as_millis() as u64,
                error: outcome.as_ref().err().map(|e| ClusterError {
                    message: e.to_string(),
                    hint: e.hint(),
                }),
                report: outcome.ok().map(|(r, _)| r),
            };
            match (&cluster.report, &cluster.error) {
                (Some(r), _) => line.done(&format!(
                    "{} instance(s): {} critical, {} warning, {} info",
                    r.summary.instances, r.summary.critical, r.summary.warning, r.summary.info
                )),
                (None, Some(e)) => line.fail(&printable(&e.message)),
                (None, None) => {}
            }
            let left: Vec<String> = {
                let mut left = running.lock().unwrap_or_else(|e| e.into_inner());
                left.retain(|c| c != &context);
                left.clone()
            };
            // Without a terminal the spinners are plain lines; say what the run is still waiting for.
            if !printer.bars() && !left.is_empty() {
                printer.progress_line(&format!(
                    "still running: {}",
                    left.iter().map(|c| printable(c)).collect::<Vec<_>>().join(", ")
                ));
            }
            (index, cluster)
        }
    });
    let mut done: Vec<(usize, ClusterReport)> = futures::stream::iter(checks)
        .buffer_unordered(usize::from(args.parallel))
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    let source = format!(
        "{} context{} of the kubeconfig",
        contexts.len(),
        if contexts.len() == 1 { "" } else { "s" }
    );
    Ok(FleetReport::new(
        source,
        done.into_iter().map(|(_, c)| c).collect(),
    ))
}

/// One cluster: its config, a Ctx with its own clients (one connection), the same gather and checks as a
/// one-cluster run, and the server's version (asked alongside, no extra round trip).
async fn check_one(
    kube: &KubeArgs,
    global: &GlobalArgs,
    printer: &Printer,
    args: &DoctorArgs,
    context: &str,
) -> Result<(report::Report, Option<String>)> {
    // Exactly what `--context CONTEXT` alone would build (kubeconfig, flags, proxy, credential plugin, transport).
    let mut kube = kube.clone();
    kube.context = vec![context.to_string()];
    let requests = RequestStats::default();
    let ctx = crate::clients::ctx_for(&kube, global, printer.clone(), requests.clone()).await?;
    let (snapshot, version) = futures::join!(
        gather::gather(&ctx, args.target.target.as_deref()),
        ctx.client.apiserver_version()
    );
    let snapshot = snapshot?;
    printer.debug(&format!("{context}: {}", requests.snapshot().summary()));
    Ok((
        report::build(&snapshot),
        version.ok().map(|v| v.git_version),
    ))
}

/// Several `--from-dump` directories: one cluster each, loaded in turn (local files; a bad one is a usage error).
pub fn load_dumps(dirs: &[PathBuf], target: Option<&str>) -> Result<FleetReport> {
    let mut clusters = Vec::new();
    for dir in dirs {
        let started = Instant::now();
        let snapshot = dump::load(dir, target)?;
        clusters.push(ClusterReport {
            context: dir.display().to_string(),
            server: None,
            version: None,
            elapsed_ms: started.elapsed().as_millis() as u64,
            report: Some(report::build(&snapshot)),
            error: None,
        });
    }
    Ok(FleetReport::new(format!("{} dumps", dirs.len()), clusters))
}

fn printable(text: &str) -> String {
    // A context name or an error sentence can quote the kubeconfig or the cluster: the tool's one escaping rule.
    crate::escape::escape(text).into_owned()
}

/// The fleet report for a person: one section per cluster (context, server, version, then the one-cluster report or
/// the error), then a table of every cluster.
pub fn render_human(fleet: &FleetReport, color: bool) -> String {
    let mut out = String::new();
    for c in &fleet.clusters {
        let mut head = format!("=== {}", printable(&c.context));
        let about: Vec<String> = [
            c.server.as_deref().map(printable),
            c.version
                .as_deref()
                .map(|v| format!("Kubernetes {}", printable(v))),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !about.is_empty() {
            head.push_str(&format!(" ({})", about.join(", ")));
        }
        head.push_str(" ===\n");
        out.push_str(&head);
        match (&c.report, &c.error) {
            (Some(r), _) => out.push_str(&report::render_human(r, color)),
            (None, Some(e)) => {
                out.push_str(&format!("NOT CHECKED: {}\n", printable(&e.message)));
                if let Some(h) = &e.hint {
                    out.push_str(&format!("  hint: {}\n", printable(h)));
                }
            }
            (None, None) => {}
        }
        out.push('\n');
    }
    let rows: Vec<[String; 6]> = fleet
        .clusters
        .iter()
        .map(|c| match &c.report {
            Some(r) => [
                printable(&c.context),
                r.summary.instances.to_string(),
                r.summary.critical.to_string(),
                r.summary.warning.to_string(),
                r.summary.info.to_string(),
                String::new(),
            ],
            None => [
                printable(&c.context),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "not checked (unreachable or failed; see above)".into(),
            ],
        })
        .collect();
    let header = ["CONTEXT", "INSTANCES", "CRITICAL", "WARNING", "INFO", ""].map(String::from);
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let s = &fleet.summary;
    out.push_str(&format!(
        "{} critical, {} warning, {} info in {} instance{} of {} cluster{}{}.\n",
        s.critical,
        s.warning,
        s.info,
        s.instances,
        if s.instances == 1 { "" } else { "s" },
        s.clusters - s.unreachable,
        if s.clusters - s.unreachable == 1 {
            ""
        } else {
            "s"
        },
        if s.unreachable > 0 {
            format!("; {} of {} could not be checked", s.unreachable, s.clusters)
        } else {
            String::new()
        }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::FailOn;
    use crate::doctor::checks::fixtures::{CHART, instance, log};
    use crate::doctor::snapshot::Snapshot;
    use crate::error::ExitCode;

    #[test]
    fn globs_match_whole_names() {
        assert!(glob_match("prod-*", "prod-eu-1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*-1", "prod-eu-1"));
        assert!(glob_match("p?od-*-1", "prod-eu-1"));
        assert!(glob_match("*eu*", "prod-eu-1"));
        assert!(!glob_match("prod-*", "staging-prod-1"));
        assert!(!glob_match("prod", "prod-eu"));
        assert!(!glob_match("?", ""));
    }

    #[test]
    fn contexts_are_chosen_in_order_and_checked() {
        let available: Vec<String> = ["a", "prod-1", "prod-2", "b"].map(String::from).to_vec();
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            select_contexts(&available, &names(&["b", "a", "b"]), false, None).unwrap(),
            names(&["b", "a"])
        );
        assert_eq!(
            select_contexts(&available, &[], true, None).unwrap(),
            available
        );
        assert_eq!(
            select_contexts(&available, &names(&["b"]), false, Some("prod-*")).unwrap(),
            names(&["b", "prod-1", "prod-2"])
        );
        let missing = select_contexts(&available, &names(&["nope"]), false, None).unwrap_err();
        assert_eq!(missing.exit_code(), ExitCode::Usage);
        assert!(missing.hint().unwrap().contains("prod-2"));
        let none = select_contexts(&available, &[], false, Some("dev-*")).unwrap_err();
        assert!(none.to_string().contains("dev-*"), "{none}");
    }

    fn cluster(context: &str, report: Option<report::Report>) -> ClusterReport {
        ClusterReport {
            context: context.into(),
            server: Some(format!("https://{context}.example:6443")),
            version: report.as_ref().map(|_| "v1.33.0".to_string()),
            elapsed_ms: 1,
            error: report.is_none().then(|| ClusterError {
                message: "could not list deployments: connection refused".into(),
                hint: None,
            }),
            report,
        }
    }

    fn disk_full() -> report::Report {
        report::build(&Snapshot {
            instances: vec![instance(
                CHART,
                &[("prometheus-server", false, &log("v2-chart-disk-full.log"))],
            )],
            source: "namespace monitoring".into(),
        })
    }

    #[test]
    fn an_unreachable_cluster_is_exit_3_and_never_hides_the_others() {
        let fleet = FleetReport::new(
            "2 contexts".into(),
            vec![cluster("eu\x1b[2J", Some(disk_full())), cluster("us", None)],
        );
        assert_eq!(fleet.summary.unreachable, 1);
        assert_eq!(fleet.summary.critical, 1);
        assert_eq!(
            report::fleet_exit_code(&fleet, FailOn::Critical),
            ExitCode::Cluster
        );
        let text = render_human(&fleet, false);
        assert!(!text.contains('\x1b'), "escaped: {text}");
        assert!(text.contains("PROM-201"), "{text}");
        assert!(
            text.contains("NOT CHECKED: could not list deployments"),
            "{text}"
        );
        assert!(text.contains("1 of 2 could not be checked"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&report::render_fleet_json(&fleet).unwrap()).unwrap();
        assert_eq!(json["kind"], report::REPORT_KIND);
        let clusters = json["clusters"].as_array().unwrap();
        assert_eq!(clusters.len(), 2);
        assert_eq!(clusters[0]["instances"][0]["findings"][0]["id"], "PROM-201");
        assert!(clusters[0].get("error").is_none());
        assert!(clusters[1].get("instances").is_none());
        assert!(clusters[1]["error"]["message"].is_string());
        let reached = FleetReport::new("1".into(), vec![cluster("eu", Some(disk_full()))]);
        assert_eq!(
            report::fleet_exit_code(&reached, FailOn::Critical),
            ExitCode::Findings
        );
    }

    #[test]
    fn several_dumps_are_one_cluster_each() {
        let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
        for d in &dirs {
            std::fs::write(d.path().join("all.yaml"), CHART).unwrap();
        }
        let paths: Vec<PathBuf> = dirs.iter().map(|d| d.path().to_path_buf()).collect();
        let fleet = load_dumps(&paths, None).unwrap();
        assert_eq!(fleet.summary.clusters, 2);
        assert_eq!(fleet.summary.instances, 2);
        assert_eq!(fleet.clusters[1].context, paths[1].display().to_string());
        assert!(fleet.clusters.iter().all(|c| c.server.is_none()));
        let bad = [paths[0].clone(), paths[0].join("nope")];
        assert_eq!(
            load_dumps(&bad, None).unwrap_err().exit_code(),
            ExitCode::Usage
        );
    }
}
