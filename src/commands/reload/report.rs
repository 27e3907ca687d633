//! `reload`'s result: the document (`-o json`: kind `ReloadResult`, printed on success and failure alike, with the
//! error when there is one), its human rendering, and the sentences for pods that failed, are unknown or run
//! something other than their file.

use crate::discover::{self, Flavour, Instance};
use crate::error::Error;
use crate::reloading::content::Verdict;
use crate::reloading::lifecycle::ReloadWay;
use crate::reloading::pod::{Outcome, PodReload};
use serde::Serialize;

/// The whole result (`-o json`: kind `ReloadResult`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadResult {
    /// Unset only when the run failed before it found its Prometheus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavour: Option<Flavour>,
    /// How the pods were reloaded: `http` (POST /-/reload) or `signal` (SIGHUP, operator `ProcessSignal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_way: Option<ReloadWay>,
    /// How the config was validated: `promtool`, `keys` (our schema checker), `skipped`.
    pub validation: Vec<String>,
    pub pods: Vec<PodReload>,
    /// Why the run failed (the sentence also printed on stderr), with its exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDoc>,
}

/// An error in the document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDoc {
    pub message: String,
    pub hint: Option<String>,
    pub exit_code: i32,
}

impl From<&Error> for ErrorDoc {
    fn from(e: &Error) -> Self {
        ErrorDoc {
            message: e.to_string(),
            hint: e.hint(),
            exit_code: e.exit_code() as i32,
        }
    }
}

impl ReloadResult {
    pub fn for_instance(instance: &Instance) -> Self {
        ReloadResult {
            namespace: Some(instance.namespace.clone()),
            instance: Some(instance.name.clone()),
            flavour: Some(instance.flavour.clone()),
            ..Default::default()
        }
    }
}

/// Human rendering of the result.
pub fn render(result: &ReloadResult) -> String {
    let mut out = String::new();
    let reloaded = result
        .pods
        .iter()
        .filter(|p| p.outcome == Outcome::Reloaded)
        .count();
    out.push_str(&format!(
        "{}/{}: {reloaded} of {} pod(s) reloaded (validation: {})\n",
        result.namespace.as_deref().unwrap_or_default(),
        result.instance.as_deref().unwrap_or_default(),
        result.pods.len(),
        result.validation.join(", ")
    ));
    for p in &result.pods {
        let via = match (result.reload_way, p.access) {
            (Some(ReloadWay::Signal), _) => " by SIGHUP".to_string(),
            (Some(ReloadWay::Auto { interval_seconds }), _) => {
                format!(" by Prometheus itself (config.auto-reload, every {interval_seconds}s)")
            }
            (_, Some(a)) => format!(" via {}", a.describe()),
            (_, None) => String::new(),
        };
        let unread = p
            .file_unread
            .as_deref()
            .map(|why| {
                format!(
                    "; unknown whether it runs the new configuration: its file was not read ({why})"
                )
            })
            .unwrap_or_default();
        let content = match (&p.content, &p.file_unread, &p.not_synced) {
            (_, None, Some(why)) => format!("; NOT SYNCED: {why}"),
            (Some(c), None, None) => format!("; {}", c.describe()),
            _ => String::new(),
        };
        match p.outcome {
            Outcome::Reloaded => {
                out.push_str(&format!("  {}: reloaded{via}{unread}{content}\n", p.pod))
            }
            // Only Prometheus' own refusal (it answered, `access` is set) says the old configuration stays.
            Outcome::Failed if p.access.is_some() => out.push_str(&format!(
                "  {}: reload FAILED{via}: {}; the previous configuration is still active\n",
                p.pod,
                p.error.as_deref().unwrap_or("unknown error")
            )),
            Outcome::Failed => out.push_str(&format!(
                "  {}: not reloaded (nothing was sent): {}\n",
                p.pod,
                p.error.as_deref().unwrap_or("unknown error")
            )),
            Outcome::Unknown => out.push_str(&format!(
                "  {}: reload result unknown: {}\n",
                p.pod,
                p.error.as_deref().unwrap_or("no answer")
            )),
            Outcome::Skipped => out.push_str(&format!(
                "  {}: skipped: {}\n",
                p.pod,
                p.error.as_deref().unwrap_or("")
            )),
        }
    }
    out
}

/// The run's verdict from its per-pod records: a failure first, then a pod running something other than its file,
/// then anything unknown. Nothing is claimed without evidence.
pub fn verdict(instance: &Instance, pods: &[PodReload]) -> Result<(), Error> {
    let failed: Vec<&PodReload> = pods
        .iter()
        .filter(|p| p.outcome == Outcome::Failed)
        .collect();
    if !failed.is_empty() {
        return Err(reload_failure(instance, &failed));
    }
    let differs: Vec<&PodReload> = pods
        .iter()
        .filter(|p| {
            p.content
                .as_ref()
                .is_some_and(|c| c.verdict == Verdict::Differs)
        })
        .collect();
    let not_synced: Vec<&PodReload> = differs
        .iter()
        .copied()
        .filter(|p| p.not_synced.is_some())
        .collect();
    if !not_synced.is_empty() {
        return Err(not_synced_error(instance, &not_synced));
    }
    if !differs.is_empty() {
        return Err(content_differs(instance, &differs));
    }
    let unknown: Vec<&PodReload> = pods
        .iter()
        .filter(|p| {
            p.outcome == Outcome::Unknown
                || p.file_unread.is_some()
                || p.content
                    .as_ref()
                    .is_some_and(|c| c.verdict == Verdict::Unknown)
        })
        .collect();
    if !unknown.is_empty() {
        return Err(reload_unknown(instance, &unknown));
    }
    Ok(())
}

/// The refusal when the lifecycle API is off and nothing else reloads the install; `live`: the state was read from
/// the running servers' flags rather than the container args.
pub fn lifecycle_off(instance: &Instance, live: bool, off: &[&str]) -> Error {
    Error::Prometheus {
        message: format!(
            "the lifecycle API is off on {} ({}): Prometheus was started without --web.enable-lifecycle, so it \
             refuses POST /-/reload with `403 Lifecycle API is not enabled.`; nothing was reloaded",
            off.join(", "),
            if live {
                "read from /api/v1/status/flags"
            } else {
                "read from the container args"
            }
        ),
        hint: Some(format!(
            "add the flag (the pods restart) and reload in one go: kubectl prom reload {} -n {} --enable-lifecycle",
            discover::target_arg(instance),
            instance.namespace
        )),
    }
}

fn names(pods: &[&PodReload]) -> String {
    pods.iter()
        .map(|p| p.pod.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn doctor_hint(instance: &Instance, what: &str) -> Option<String> {
    Some(format!(
        "{what}: kubectl prom doctor {} -n {}",
        discover::target_arg(instance),
        instance.namespace
    ))
}

/// Pods that reloaded but run a configuration other than what their file holds (a second file, a stale mount).
fn content_differs(instance: &Instance, pods: &[&PodReload]) -> Error {
    let first = pods[0];
    let detail = first
        .content
        .as_ref()
        .map(|c| c.describe())
        .unwrap_or_default();
    Error::Prometheus {
        message: format!(
            "{} reloaded, but the configuration Prometheus runs does not match the file it was meant to load: {}: \
             {detail}",
            names(pods),
            first.pod
        ),
        hint: doctor_hint(
            instance,
            "find out which file each server loads and why (its --config.file, the mount behind it)",
        ),
    }
}

/// The error for pods whose reload cannot be judged: no answer to the POST came back, the file they load could not
/// be read first, or what they run could not be compared. Nothing is claimed about what they run; the sentence says
/// "unknown" and what reads the truth (doctor reads each pod's last reload time and status from Prometheus itself).
/// Pods whose file had not synced when the bound ran out: reloaded, but still running the older configuration.
fn not_synced_error(instance: &Instance, pods: &[&PodReload]) -> Error {
    let first = pods[0];
    Error::Prometheus {
        message: format!(
            "{} did not get the new configuration: {}: {}",
            names(pods),
            first.pod,
            first.not_synced.as_deref().unwrap_or("not synced")
        ),
        hint: Some(format!(
            "re-run when the kubelet has synced the volume (or raise --timeout); a subPath mount needs the pod \
             restarted: kubectl prom doctor {} -n {}",
            discover::target_arg(instance),
            instance.namespace
        )),
    }
}

fn reload_unknown(instance: &Instance, pods: &[&PodReload]) -> Error {
    let names = names(pods);
    let first = pods[0];
    let why = match (first.outcome, &first.file_unread, &first.content) {
        (Outcome::Unknown, _, _) => format!(
            "whether {names} reloaded is unknown: {}",
            first.error.as_deref().unwrap_or("no answer came back")
        ),
        (_, Some(file), _) => format!(
            "{names} reloaded, but whether {} the new configuration is unknown: the configuration file in the pod \
             could not be read to compare ({file})",
            if pods.len() == 1 {
                "it runs"
            } else {
                "they run"
            }
        ),
        (_, None, Some(content)) => format!("{names} reloaded, but {}", content.describe()),
        _ => format!("the result on {names} is unknown"),
    };
    Error::Prometheus {
        message: why,
        hint: doctor_hint(
            instance,
            "find out what it runs (last reload time and status, per pod)",
        ),
    }
}

/// The error for pods whose reload failed. Prometheus answering the POST with an error means it rejected the new
/// configuration and keeps the old one; no answer at all (a hang, garbage, a dropped request — `access` is unset)
/// says nothing about the configuration, and the pod is what to look at.
fn reload_failure(instance: &Instance, failed: &[&PodReload]) -> Error {
    let pods = names(failed);
    let first = failed[0];
    let why = first.error.as_deref().unwrap_or("unknown error");
    let ns = &instance.namespace;
    if first.access.is_none() {
        return Error::Prometheus {
            message: format!(
                "could not reload {pods}: the server in the pod did not answer as Prometheus does ({why}); nothing \
                 shows the reload happened there"
            ),
            hint: doctor_hint(instance, "see what the pod runs and answers"),
        };
    }
    Error::Prometheus {
        message: format!(
            "the reload failed on {pods}; Prometheus keeps running the previous configuration: {why}"
        ),
        hint: Some(format!(
            "fix the configuration, then re-run; the server log has the details: kubectl logs -n {ns} {} -c {}",
            first.pod, instance.container
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prom_http::Access;
    use crate::reloading::content::ContentCheck;

    fn pod(name: &str, access: Option<Access>, outcome: Outcome, error: Option<&str>) -> PodReload {
        PodReload {
            pod: name.into(),
            access,
            last_success_before: Some(1.0),
            last_success_after: Some(2.0),
            outcome,
            error: error.map(str::to_string),
            file_unread: None,
            content: None,
            reloads: 1,
            not_synced: None,
        }
    }

    #[test]
    fn render_says_what_happened_per_pod() {
        let result = ReloadResult {
            namespace: Some("monitoring".into()),
            instance: Some("prometheus-server".into()),
            flavour: Some(Flavour::Plain),
            validation: vec!["keys".into(), "promtool".into()],
            pods: vec![
                PodReload {
                    content: Some(ContentCheck {
                        verdict: Verdict::Matches,
                        file: "/etc/config/prometheus.yml".into(),
                        detail: None,
                    }),
                    ..pod("a", Some(Access::Exec), Outcome::Reloaded, None)
                },
                pod("b", Some(Access::Proxy), Outcome::Failed, Some("500 boom")),
                pod(
                    "c",
                    None,
                    Outcome::Unknown,
                    Some("POST /-/reload was sent but no answer from Prometheus came back"),
                ),
                PodReload {
                    file_unread: Some("`cat /etc/config/prometheus.yml` failed: 500".into()),
                    ..pod("d", Some(Access::Proxy), Outcome::Reloaded, None)
                },
                PodReload {
                    content: Some(ContentCheck {
                        verdict: Verdict::Differs,
                        file: "/etc/config/next.yml".into(),
                        detail: Some("`scrape_configs` has `x` in the file, not in the running configuration".into()),
                    }),
                    ..pod("e", Some(Access::Proxy), Outcome::Reloaded, None)
                },
            ],
            ..Default::default()
        };
        let text = render(&result);
        assert!(
            text.starts_with(
                "monitoring/prometheus-server: 3 of 5 pod(s) reloaded (validation: keys, promtool)"
            ),
            "{text}"
        );
        assert!(
            text.contains("a: reloaded via exec (wget inside the container); running configuration matches /etc/config/prometheus.yml"),
            "{text}"
        );
        assert!(text.contains("b: reload FAILED via the API server's pod proxy: 500 boom; the previous configuration is still active"), "{text}");
        // No answer is no evidence: neither a failure nor "the previous configuration", and never a plain success.
        assert!(
            text.contains("c: reload result unknown: POST /-/reload was sent but no answer"),
            "{text}"
        );
        assert_eq!(text.matches("previous configuration").count(), 1, "{text}");
        assert!(
            text.contains("d: reloaded via the API server's pod proxy; unknown whether it runs the new configuration"),
            "{text}"
        );
        assert!(
            text.contains("e: reloaded via the API server's pod proxy; running configuration does not match /etc/config/next.yml: `scrape_configs` has `x`"),
            "{text}"
        );
        let json = crate::output::json_document("ReloadResult", &result).unwrap();
        assert_eq!(json["pods"][0]["access"], "exec");
        assert_eq!(json["pods"][0]["content"]["verdict"], "matches");
        assert_eq!(json["pods"][1]["outcome"], "failed");
        assert_eq!(json["pods"][1]["lastSuccessBefore"], 1.0);
        assert!(json.get("error").is_none());
    }

    #[test]
    fn the_document_carries_the_error_and_its_exit_code() {
        let err = Error::Verify {
            message: "the configuration is invalid".into(),
            hint: Some("fix it".into()),
        };
        let result = ReloadResult {
            error: Some(ErrorDoc::from(&err)),
            ..Default::default()
        };
        let json = crate::output::json_document("ReloadResult", &result).unwrap();
        assert_eq!(json["error"]["message"], "the configuration is invalid");
        assert_eq!(json["error"]["hint"], "fix it");
        assert_eq!(json["error"]["exitCode"], 1);
        assert_eq!(json["pods"], serde_json::json!([]));
        assert!(json.get("instance").is_none(), "unknown, not empty: {json}");
    }
}
