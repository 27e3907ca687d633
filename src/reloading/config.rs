//! The configuration a reload loads: the text its ConfigMap/Secret holds ([`desired_config`]), our key check, and the
//! one exec session per pod that reads the pod's `--config.file` and, on one pod, runs `promtool check config` on it
//! (issue 20: each exec session is a TLS connection of its own, as the API server has no WebSocket over HTTP/2, so the
//! read and the check share one). [`sync_and_check`] polls that session until the file equals the source.

use crate::context::Ctx;
use crate::discover::{ConfigSource, Instance};
use crate::engine::wait::{self, Poll};
use crate::error::{Error, Result};
use crate::podexec::ExecOutput;
use crate::progress;
use std::collections::BTreeMap;
use std::time::Duration;

/// The config text the pods should end up with: the ConfigMap (or Secret) key behind `--config.file`.
pub async fn desired_config(ctx: &Ctx, instance: &Instance) -> Result<Option<String>> {
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    let ns = &instance.namespace;
    let Some(config) = &instance.config else {
        return Ok(None);
    };
    match &config.source {
        ConfigSource::ConfigMap { name, key } => {
            let api: kube::Api<ConfigMap> = kube::Api::namespaced(ctx.client.clone(), ns);
            let cm = api
                .get(name)
                .await
                .map_err(Error::kube(format!("read configmap {ns}/{name}")))?;
            let text = cm
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .cloned()
                .or_else(|| {
                    cm.binary_data
                        .as_ref()
                        .and_then(|d| d.get(key))
                        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                });
            match text {
                Some(t) => Ok(Some(t)),
                None => Err(Error::Prometheus {
                    message: format!(
                        "configmap {ns}/{name} has no key `{key}`, which {} reads as {}",
                        instance.container, config.file
                    ),
                    hint: Some(format!("kubectl get configmap {name} -n {ns} -o yaml")),
                }),
            }
        }
        ConfigSource::Secret { name, key } => {
            let api: kube::Api<Secret> = kube::Api::namespaced(ctx.client.clone(), ns);
            let secret = api
                .get(name)
                .await
                .map_err(Error::kube(format!("read secret {ns}/{name}")))?;
            Ok(secret
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|b| String::from_utf8_lossy(&b.0).into_owned()))
        }
        // Generated inside the pod (the operator's config-reloader): nothing to compare with.
        ConfigSource::EmptyDir | ConfigSource::Other { .. } => Ok(None),
    }
}

/// Our schema check of the text (did-you-mean): warnings are printed, errors refuse the reload.
pub fn check_keys(ctx: &Ctx, text: &str, instance: &Instance) -> Result<()> {
    let issues = crate::promconfig::check(text);
    for warning in issues.iter().filter(|i| !i.error) {
        ctx.printer.warn(&warning.message);
    }
    let errors: Vec<String> = issues
        .iter()
        .filter(|i| i.error)
        .map(|i| match i.line {
            Some(l) => format!("line {l}: {}", i.message),
            None => i.message.clone(),
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    let ns = &instance.namespace;
    // Where the text came from, and the object to edit (`kind/name`).
    let (source, object) = match instance.config.as_ref().map(|c| &c.source) {
        Some(ConfigSource::ConfigMap { name, key }) => (
            format!("configmap {ns}/{name} key {key}"),
            format!("configmap/{name}"),
        ),
        Some(ConfigSource::Secret { name, key }) => (
            format!("secret {ns}/{name} key {key}"),
            format!("secret/{name}"),
        ),
        _ => (
            "the configuration".to_string(),
            crate::discover::target_arg(instance),
        ),
    };
    Err(Error::Verify {
        message: format!(
            "the configuration in {source} is invalid, so it was not reloaded: {}",
            errors.join("; ")
        ),
        hint: Some(format!(
            "fix it (kubectl edit {object} -n {ns}), or reload anyway with --no-validate"
        )),
    })
}

// ------------------------------------------------------------------------------------------------------------------
// The one exec session (pure parts first)

/// What one session found in a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFile {
    /// The file's text, or why it could not be read.
    pub text: std::result::Result<String, String>,
    /// promtool's run on it, when it was asked for and the file was read.
    pub promtool: Option<ExecOutput>,
}

/// A marker no configuration file holds by chance: it separates the file from promtool's output in one stdout.
pub fn new_marker() -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded randomly per process; two of them differ.
    let a = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(a);
    h.write_u32(std::process::id());
    format!("kubectl-prom-{a:016x}{:016x}", h.finish())
}

/// The session's argv: `cat` the file, print the marker and cat's exit code, then (when `check`) `exec promtool check
/// config` on the same file, so its exit code is the session's. The paths go as positional parameters, never into the
/// script text.
pub fn session_argv(file: &str, marker: &str, check: bool) -> Vec<String> {
    let script = "cat -- \"$1\"; s=$?; printf '\\n%s %s\\n' \"$2\" \"$s\"; \
                  if [ \"$s\" -ne 0 ] || [ \"$3\" != check ]; then exit 0; fi; exec promtool check config \"$1\"";
    [
        "sh",
        "-c",
        script,
        "sh",
        file,
        marker,
        if check { "check" } else { "read" },
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Split the session's output; None when the script did not run (no `sh` in the image: the marker never came).
pub fn parse_session(out: &ExecOutput, marker: &str, file: &str, check: bool) -> Option<PodFile> {
    let at = out.stdout.find(&format!("\n{marker} "))?;
    let text = &out.stdout[..at];
    let rest = &out.stdout[at + 1 + marker.len() + 1..];
    let (status, after) = rest.split_once('\n').unwrap_or((rest, ""));
    let cat_code: i32 = status.trim().parse().ok()?;
    if cat_code != 0 {
        return Some(PodFile {
            text: Err(format!(
                "`cat {file}` exited {cat_code}: {}",
                out.stderr.trim()
            )),
            promtool: None,
        });
    }
    Some(PodFile {
        text: Ok(text.to_string()),
        promtool: check.then(|| ExecOutput {
            stdout: after.to_string(),
            stderr: out.stderr.clone(),
            exit_code: out.exit_code,
        }),
    })
}

/// promtool's verdict on a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Promtool {
    Passed,
    /// Exit 3: lint findings only (cmd/promtool/main.go `lintErrExitCode`); Prometheus loads such a config.
    Lint(String),
    /// Exit 1: the configuration is rejected.
    Rejected(String),
    /// Not in the image, or it could not run.
    Unavailable(String),
}

pub fn promtool_verdict(out: &ExecOutput) -> Promtool {
    let said = || {
        format!("{}{}", out.stdout, out.stderr)
            .trim()
            .replace('\n', " ")
    };
    match out.exit_code {
        0 => Promtool::Passed,
        1 => Promtool::Rejected(said()),
        3 => Promtool::Lint(said()),
        code => Promtool::Unavailable(format!("exit {code}: {}", out.stderr.trim())),
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Doing (I/O)

/// One session in a pod; an `sh`-less image gets the plain `cat` and `promtool` instead (two sessions).
pub async fn read_file(
    ctx: &Ctx,
    instance: &Instance,
    pod: &str,
    file: &str,
    check: bool,
) -> Result<PodFile> {
    let run = |argv: Vec<String>| async move {
        ctx.exec
            .run(&instance.namespace, pod, &instance.container, &argv)
            .await
    };
    let marker = new_marker();
    let out = run(session_argv(file, &marker, check)).await?;
    if let Some(found) = parse_session(&out, &marker, file, check) {
        return Ok(found);
    }
    ctx.printer.debug(&format!(
        "{pod}: no shell for the one-session read (exit {}: {}); running cat and promtool apart",
        out.exit_code,
        out.stderr.trim()
    ));
    let cat = run(vec!["cat".to_string(), file.to_string()]).await?;
    if !cat.success() {
        return Ok(PodFile {
            text: Err(format!(
                "`cat {file}` exited {}: {}",
                cat.exit_code,
                cat.stderr.trim()
            )),
            promtool: None,
        });
    }
    let promtool = if check {
        Some(
            run(["promtool", "check", "config", file]
                .iter()
                .map(|s| s.to_string())
                .collect())
            .await
            .unwrap_or_else(|e| ExecOutput {
                stderr: e.to_string(),
                exit_code: 126,
                ..Default::default()
            }),
        )
    } else {
        None
    };
    Ok(PodFile {
        text: Ok(cat.stdout),
        promtool,
    })
}

/// What [`sync_and_check`] found.
#[derive(Debug, Default)]
pub struct Synced {
    /// Per running pod: the file's text as last read (what the content proof compares with), or why it was not read.
    pub files: BTreeMap<String, std::result::Result<String, String>>,
    /// promtool on the first running pod's file, when asked: its verdict, or why it could not run.
    pub promtool: Option<std::result::Result<Promtool, String>>,
}

/// Read each running pod's config file (one exec session each; on the first pod the same session runs promtool) and,
/// when the source's text is known, poll until the file equals it. The kubelet syncs ConfigMap volumes on its periodic
/// sync plus cache TTL (about a minute by default; Kubernetes docs, "Mounted ConfigMaps are updated automatically").
/// promtool's verdict counts only from a session whose file was the awaited one: when the file arrives late, the
/// session that sees it runs promtool again.
pub async fn sync_and_check(
    ctx: &Ctx,
    instance: &Instance,
    desired: Option<&str>,
    check: bool,
    timeout: Duration,
) -> Result<Synced> {
    let Some(config) = &instance.config else {
        return Ok(Synced::default());
    };
    let board = progress::Board::new(&ctx.printer);
    let running: Vec<&crate::discover::PodRef> = instance
        .pods
        .iter()
        .filter(|p| p.phase == "Running")
        .collect();
    let waits = running.iter().enumerate().map(|(i, p)| {
        let task = board.line(&p.name);
        let checks = check && i == 0;
        async move {
            let what = format!(
                "{} in pod {}/{} to match the new configuration",
                config.file, instance.namespace, p.name
            );
            // (sessions so far, whether the last one saw the awaited file without running promtool: the next one
            // runs it on that file).
            let state = std::sync::Mutex::new((0usize, false));
            let result = wait::wait_for(&task, &what, timeout, Duration::from_secs(1), || {
                let state = &state;
                async move {
                    let (polls, saw_it) = *state.lock().unwrap_or_else(|e| e.into_inner());
                    let with_check = checks && (polls == 0 || saw_it || desired.is_none());
                    let set = |saw: bool| {
                        *state.lock().unwrap_or_else(|e| e.into_inner()) = (polls + 1, saw);
                    };
                    let found =
                        match read_file(ctx, instance, &p.name, &config.file, with_check).await {
                            Ok(found) => found,
                            Err(e) => {
                                let why = e.to_string();
                                let promtool = checks.then(|| Err(why.clone()));
                                return Ok(Poll::Done((Err(why), promtool)));
                            }
                        };
                    let promtool = found.promtool.as_ref().map(|o| Ok(promtool_verdict(o)));
                    match (found.text, desired) {
                        // The file is not there (yet): a key added to the ConfigMap arrives with the kubelet's sync.
                        (Err(why), Some(_)) => {
                            set(false);
                            Ok(Poll::Pending(why))
                        }
                        (Err(why), None) => {
                            let promtool = checks.then(|| Err(why.clone()));
                            Ok(Poll::Done((Err(why), promtool)))
                        }
                        (Ok(text), Some(want)) if text != want => {
                            set(false);
                            Ok(Poll::Pending(
                                "waiting for the kubelet to update the mounted config".into(),
                            ))
                        }
                        (Ok(_), _) if checks && promtool.is_none() => {
                            set(true);
                            Ok(Poll::Pending("the file arrived; checking it".into()))
                        }
                        (Ok(text), _) => Ok(Poll::Done((Ok(text), promtool))),
                    }
                }
            })
            .await;
            match result {
                Ok((Ok(text), promtool)) => {
                    task.done(if desired.is_some() {
                        "configuration is up to date"
                    } else {
                        "configuration file read"
                    });
                    Ok((p.name.clone(), Ok(text), promtool))
                }
                Ok((Err(why), promtool)) => {
                    // Without the file we cannot compare: never a ✓. Say it is unknown and go on; the result repeats
                    // it for this pod and the exit code says it (README "Exit codes": 3).
                    task.unknown(&format!(
                        "unknown whether {} holds the new configuration: {why}; not waiting",
                        config.file
                    ));
                    Ok((p.name.clone(), Err(why), promtool))
                }
                Err(e) => Err(e),
            }
        }
    });
    let mut synced = Synced::default();
    for r in futures::future::join_all(waits).await {
        let (pod, text, promtool) = r?;
        synced.files.insert(pod, text);
        if promtool.is_some() {
            synced.promtool = promtool;
        }
    }
    Ok(synced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(stdout: &str, stderr: &str, exit_code: i32) -> ExecOutput {
        ExecOutput {
            stdout: stdout.into(),
            stderr: stderr.into(),
            exit_code,
        }
    }

    #[test]
    fn the_file_and_promtool_come_apart_at_the_marker() {
        let m = "kubectl-prom-0123";
        let text = "global:\n  scrape_interval: 15s\n";
        let found = parse_session(
            &out(
                &format!("{text}\n{m} 0\nChecking /c.yml\n SUCCESS: /c.yml is valid\n"),
                "",
                0,
            ),
            m,
            "/c.yml",
            true,
        )
        .unwrap();
        assert_eq!(found.text, Ok(text.to_string()));
        let promtool = found.promtool.unwrap();
        assert_eq!(
            promtool.stdout,
            "Checking /c.yml\n SUCCESS: /c.yml is valid\n"
        );
        assert_eq!(promtool_verdict(&promtool), Promtool::Passed);
        // A file without a trailing newline keeps its exact text.
        let found =
            parse_session(&out(&format!("a: 1\n{m} 0\n"), "", 0), m, "/c.yml", false).unwrap();
        assert_eq!(found.text, Ok("a: 1".to_string()));
        assert_eq!(found.promtool, None);
    }

    #[test]
    fn a_missing_file_or_shell_is_told_apart() {
        let m = "kubectl-prom-0123";
        let found = parse_session(
            &out(
                &format!("\n{m} 1\n"),
                "cat: /c.yml: No such file or directory\n",
                0,
            ),
            m,
            "/c.yml",
            true,
        )
        .unwrap();
        assert_eq!(
            found.text,
            Err("`cat /c.yml` exited 1: cat: /c.yml: No such file or directory".to_string())
        );
        assert_eq!(
            found.promtool, None,
            "promtool is not run on a file that was not read"
        );
        // No shell in the image: the marker never came; the caller falls back to plain commands.
        assert_eq!(
            parse_session(&out("", "exec: sh: not found", 126), m, "/c.yml", true),
            None
        );
    }

    #[test]
    fn promtool_exit_codes_mean_what_promtool_says() {
        assert!(
            matches!(promtool_verdict(&out("", "FAILED: parsing YAML", 1)), Promtool::Rejected(s) if s.contains("FAILED"))
        );
        assert!(matches!(
            promtool_verdict(&out("lint", "", 3)),
            Promtool::Lint(_)
        ));
        assert!(matches!(
            promtool_verdict(&out("", "sh: exec: promtool: not found", 127)),
            Promtool::Unavailable(s) if s.starts_with("exit 127")
        ));
    }

    #[test]
    fn the_paths_go_as_parameters_never_into_the_script() {
        let argv = session_argv("/etc/config/$(reboot).yml", "kubectl-prom-0123", true);
        assert_eq!(argv[..2], ["sh", "-c"]);
        assert!(!argv[2].contains("reboot") && !argv[2].contains("kubectl-prom-0123"));
        assert_eq!(
            argv[4..],
            ["/etc/config/$(reboot).yml", "kubectl-prom-0123", "check"]
        );
        assert_ne!(new_marker(), new_marker());
    }
}
