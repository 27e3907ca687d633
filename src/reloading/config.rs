//! The configuration a reload loads: the text its ConfigMap/Secret holds ([`desired_config`]), our key check, and the
//! one exec session that, in ONE pod, waits for the kubelet to sync the pod's `--config.file`, reads it and runs
//! `promtool check config` on it ([`sync_and_check`]). Issue 20: every exec session is a TLS connection of its own
//! (a WebSocket upgrade of an HTTP/1.1 connection; the API server has no WebSocket over HTTP/2), so a reload spends
//! exactly one, whatever the replica count: the other pods' sync is proven after their reload by what they run
//! (`reloading::pod::resync`), over the shared HTTP/2 connection.

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

/// Where the configuration's text comes from (`configmap NS/NAME key K`) and the object to edit (`configmap/NAME`),
/// when it is a ConfigMap or Secret key.
pub fn source_of(instance: &Instance) -> Option<(String, String)> {
    let ns = &instance.namespace;
    match instance.config.as_ref().map(|c| &c.source) {
        Some(ConfigSource::ConfigMap { name, key }) => Some((
            format!("configmap {ns}/{name} key {key}"),
            format!("configmap/{name}"),
        )),
        Some(ConfigSource::Secret { name, key }) => Some((
            format!("secret {ns}/{name} key {key}"),
            format!("secret/{name}"),
        )),
        _ => None,
    }
}

/// What becomes of an invalid configuration, and the hint naming the object that holds it (its ConfigMap or Secret,
/// else the instance): [`super::lifecycle::ReloadWay::when_invalid`].
pub fn when_invalid(instance: &Instance, way: super::lifecycle::ReloadWay) -> (String, String) {
    let object = source_of(instance).map_or_else(
        || crate::discover::target_arg(instance),
        |(_, object)| object,
    );
    way.when_invalid(&object, &instance.namespace)
}

/// The refusal of an invalid configuration: `what` was found, what becomes of it
/// ([`super::lifecycle::ReloadWay::when_invalid`]), `said` why, and the hint naming the object that holds it (its
/// ConfigMap or Secret, else the instance).
pub fn invalid(
    instance: &Instance,
    way: super::lifecycle::ReloadWay,
    what: &str,
    said: &str,
) -> Error {
    let object = source_of(instance).map_or_else(
        || crate::discover::target_arg(instance),
        |(_, object)| object,
    );
    let (outcome, hint) = way.when_invalid(&object, &instance.namespace);
    Error::Verify {
        message: format!("{what}, {outcome}: {said}"),
        hint: Some(hint),
    }
}

/// Our schema check of the text (did-you-mean): warnings are printed, errors refuse the reload.
pub fn check_keys(
    ctx: &Ctx,
    text: &str,
    instance: &Instance,
    way: super::lifecycle::ReloadWay,
) -> Result<()> {
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
    let source = source_of(instance).map_or_else(|| "the configuration".to_string(), |(s, _)| s);
    Err(invalid(
        instance,
        way,
        &format!("the configuration in {source} is invalid"),
        &errors.join("; "),
    ))
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

/// The session's argv: when `wait` is given (the source's POSIX `cksum` line and a bound in seconds), first wait in the
/// pod, one `sleep 1` at a time, until the file's `cksum` is the source's (so the whole sync wait costs one session,
/// not one per poll; a missing file is waited for, as a key just added arrives with the kubelet's sync). Without
/// `cksum` in the image, or when it prints something else than `CRC LENGTH`, the wait ends at once and the caller
/// polls instead; the caller compares the text it gets exactly in any case. Then `cat` the file, print the marker and cat's exit code, then (when `check`) `exec promtool check
/// config` on the same file, so its exit code is the session's. The paths and values go as positional parameters,
/// never into the script text.
pub fn session_argv(
    file: &str,
    marker: &str,
    check: bool,
    wait: Option<(&str, u64)>,
) -> Vec<String> {
    let script = "i=0; if [ -n \"$4\" ] && command -v cksum >/dev/null 2>&1; then while [ \"$i\" -lt \"$5\" ]; do \
                  c=$(cksum < \"$1\" 2>/dev/null); case \"$c\" in \"$4\"|\"$4 \"*|*[!0-9\\ ]*) break;; esac; \
                  sleep 1; i=$((i+1)); done; fi; \
                  cat -- \"$1\"; s=$?; printf '\\n%s %s\\n' \"$2\" \"$s\"; \
                  if [ \"$s\" -ne 0 ] || [ \"$3\" != check ]; then exit 0; fi; exec promtool check config \"$1\"";
    let (sum, secs) = wait.unwrap_or(("", 0));
    [
        "sh",
        "-c",
        script,
        "sh",
        file,
        marker,
        if check { "check" } else { "read" },
        sum,
        &secs.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// What POSIX `cksum` prints for this text read from stdin: `CRC LENGTH` (the CRC-32 of IEEE 802.3, MSB first, over
/// the bytes and then the length's bytes, complemented; POSIX.1 `cksum`, as GNU coreutils and busybox compute it).
pub fn posix_cksum(text: &str) -> String {
    fn feed(crc: u32, byte: u8) -> u32 {
        let mut crc = crc ^ ((byte as u32) << 24);
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
        crc
    }
    let bytes = text.as_bytes();
    let mut crc = bytes.iter().fold(0u32, |c, b| feed(c, *b));
    let mut n = bytes.len() as u64;
    while n > 0 {
        crc = feed(crc, (n & 0xff) as u8);
        n >>= 8;
    }
    format!("{} {}", !crc, bytes.len())
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

/// One session in a pod (waiting in it first for the file to hold `want`, bounded by `wait`); an `sh`-less image gets
/// the plain `cat` and `promtool` instead (two sessions).
pub async fn read_file(
    ctx: &Ctx,
    instance: &Instance,
    pod: &str,
    file: &str,
    check: bool,
    want: Option<(&str, Duration)>,
) -> Result<PodFile> {
    let run = |argv: Vec<String>| async move {
        ctx.exec
            .run(&instance.namespace, pod, &instance.container, &argv)
            .await
    };
    let marker = new_marker();
    let sum = want.map(|(text, _)| posix_cksum(text));
    let wait = want.map(|(_, bound)| bound).unwrap_or_default();
    let argv = session_argv(
        file,
        &marker,
        check,
        sum.as_deref().map(|s| (s, wait.as_secs())),
    );
    // The in-pod wait, then promtool within the usual limit.
    let out = ctx
        .exec
        .run_within(
            &instance.namespace,
            pod,
            &instance.container,
            &argv,
            wait + crate::podexec::EXEC_LIMIT,
        )
        .await?;
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
    /// The pod whose file was read (the first running one), and the file's text as read (what its content proof
    /// compares with), or why it was not read. The other pods' files are not read (see [`sync_and_check`]).
    pub files: BTreeMap<String, std::result::Result<String, String>>,
    /// promtool on that pod's file, when asked: its verdict, or why it could not run.
    pub promtool: Option<std::result::Result<Promtool, String>>,
}

/// In the first running pod only (where the source's text is known), one exec session that waits in the pod until the file equals the source's text
/// (when known), reads it and runs promtool on it. The kubelet syncs ConfigMap volumes on its periodic sync plus cache
/// TTL (about a minute by default; Kubernetes docs, "Mounted ConfigMaps are updated automatically"). promtool's
/// verdict counts only from a session whose file was the awaited one: when the file arrives late (a session that
/// could not wait in the pod), the session that sees it runs promtool again.
///
/// Why one pod (issue 20): each exec session costs a TLS connection, so reading every pod's file cost 1 + N. What we
/// give up by not reading the other pods' files: we cannot know BEFORE their reload that their file is the new one,
/// so a replica whose kubelet has not synced yet reloads its old file once (a no-op reload of what it already runs,
/// unless its file was changed by something else meanwhile). After the reload its running configuration is compared
/// with the source ([`super::pod::resync`]): not the new one → wait and reload again, bounded by `--timeout`, then
/// "not synced" for that pod. The file is the same ConfigMap/Secret key in every replica, so promtool's verdict on one
/// pod's copy holds for all; and a replica that runs another file altogether is told apart by its `--config.file`.
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
    let running = instance.pods.iter().filter(|p| p.phase == "Running");
    // Without a source object (the operator's config-reloader generates the file in each pod, substituting the pod's
    // own name into it), the pods' files are not one text: each is read in its pod, as before (1 + N connections on
    // the operator; its generated Secret as the source is not built yet).
    let pods: Vec<&crate::discover::PodRef> = if desired.is_some() {
        running.take(1).collect()
    } else {
        running.collect()
    };
    let board = progress::Board::new(&ctx.printer);
    let reads = pods.iter().enumerate().map(|(i, p)| {
        let task = board.line(&p.name);
        read_in_pod(
            ctx,
            instance,
            &config.file,
            p,
            task,
            desired,
            check && i == 0,
            timeout,
        )
    });
    let mut synced = Synced::default();
    for r in futures::future::join_all(reads).await {
        let (pod, text, promtool) = r?;
        synced.files.insert(pod, text);
        if promtool.is_some() {
            synced.promtool = promtool;
        }
    }
    Ok(synced)
}

/// What one pod's read found: its name, the file's text or why not, and promtool's verdict when it ran there.
type PodRead = (
    String,
    std::result::Result<String, String>,
    Option<std::result::Result<Promtool, String>>,
);

/// [`sync_and_check`] in one pod.
#[allow(clippy::too_many_arguments)]
async fn read_in_pod(
    ctx: &Ctx,
    instance: &Instance,
    file: &str,
    p: &crate::discover::PodRef,
    task: progress::Task,
    desired: Option<&str>,
    check: bool,
    timeout: Duration,
) -> Result<PodRead> {
    let what = format!(
        "{file} in pod {}/{} to match the new configuration",
        instance.namespace, p.name
    );
    // (sessions so far, whether the last one saw the awaited file without running promtool: the next one runs it on
    // that file).
    let state = std::sync::Mutex::new((0usize, false));
    if desired.is_some() {
        task.set("waiting in the pod for the kubelet to update the mounted config");
    }
    let result = wait::wait_for(&task, &what, timeout, Duration::from_secs(1), || {
        let state = &state;
        let task = &task;
        async move {
            let (polls, saw_it) = *state.lock().unwrap_or_else(|e| e.into_inner());
            let with_check = check && (polls == 0 || saw_it || desired.is_none());
            let set = |saw: bool| {
                *state.lock().unwrap_or_else(|e| e.into_inner()) = (polls + 1, saw);
            };
            // The first session waits in the pod for the whole bound; later ones (its wait could not be done
            // there) read once per poll.
            let want = desired.filter(|_| polls == 0).map(|d| (d, timeout));
            let found = match read_file(ctx, instance, &p.name, file, with_check, want).await {
                Ok(found) => found,
                Err(e) => {
                    let why = e.to_string();
                    let promtool = check.then(|| Err(why.clone()));
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
                    let promtool = check.then(|| Err(why.clone()));
                    Ok(Poll::Done((Err(why), promtool)))
                }
                (Ok(text), Some(want)) if text != want => {
                    set(false);
                    Ok(Poll::Pending(
                        "waiting for the kubelet to update the mounted config".into(),
                    ))
                }
                (Ok(_), _) if check && promtool.is_none() => {
                    set(true);
                    task.set("the file arrived; checking it");
                    Ok(Poll::Pending("the file arrived; checking it".into()))
                }
                (Ok(text), _) => Ok(Poll::Done((Ok(text), promtool))),
            }
        }
    })
    .await;
    let (text, promtool) = match result {
        Ok((Ok(text), promtool)) => {
            task.done(if desired.is_some() {
                "configuration is up to date"
            } else {
                "configuration file read"
            });
            (Ok(text), promtool)
        }
        Ok((Err(why), promtool)) => {
            // Without the file we cannot compare: never a ✓. Say it is unknown and go on; the result repeats it for
            // this pod and the exit code says it (README "Exit codes": 3).
            task.unknown(&format!(
                "unknown whether {} holds the new configuration: {why}; not waiting",
                file
            ));
            (Err(why), promtool)
        }
        Err(e) => return Err(e),
    };
    Ok((p.name.clone(), text, promtool))
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
        let argv = session_argv(
            "/etc/config/$(reboot).yml",
            "kubectl-prom-0123",
            true,
            Some(("1 2", 30)),
        );
        assert_eq!(argv[..2], ["sh", "-c"]);
        assert!(!argv[2].contains("reboot") && !argv[2].contains("kubectl-prom-0123"));
        assert_eq!(
            argv[4..],
            [
                "/etc/config/$(reboot).yml",
                "kubectl-prom-0123",
                "check",
                "1 2",
                "30"
            ]
        );
        assert_ne!(new_marker(), new_marker());
    }

    #[test]
    fn cksum_is_what_posix_cksum_prints() {
        // Read from `printf … | cksum` (GNU coreutils 9).
        assert_eq!(posix_cksum("a: 1\n"), "4286950275 5");
        assert_eq!(posix_cksum(""), "4294967295 0");
        assert_eq!(
            posix_cksum("global:\n  scrape_interval: 15s\n"),
            "764990718 31"
        );
    }
}
