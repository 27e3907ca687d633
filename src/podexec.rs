//! Running a command inside a container: the `PodExec` trait (so tests can script answers), its kube implementation
//! over the WebSocket exec subresource (kube's `ws` feature), and a scripted fake for unit tests.
//!
//! Use `ctx.exec.run(namespace, pod, container, &argv)`; a non-zero exit is *not* an error (the caller decides), an
//! exec that could not start (forbidden, no such container) is.

use crate::error::{Error, Result};
use futures::future::BoxFuture;
use std::sync::Mutex;

/// What a finished command left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    /// 0 on success; the process' exit code otherwise (from the exec Status, `NonZeroExitCode`).
    pub exit_code: i32,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

/// Run argv in a container and collect its output.
pub trait PodExec: Send + Sync {
    fn run<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
        argv: &'a [String],
    ) -> BoxFuture<'a, Result<ExecOutput>>;

    /// [`PodExec::run`] for a command that is meant to run longer than [`EXEC_LIMIT`] (reload's one session that
    /// waits in the pod for the kubelet to sync the file, then runs promtool): stopped after `limit` instead.
    fn run_within<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
        argv: &'a [String],
        limit: std::time::Duration,
    ) -> BoxFuture<'a, Result<ExecOutput>> {
        let _ = limit;
        self.run(namespace, pod, container, argv)
    }
}

/// The stdout of a command that ran and exited 0; None when it could not run or failed (callers that only want a
/// reading, such as `df` or `stat`, fall back or leave the fact unknown).
pub async fn stdout_of(
    exec: &dyn PodExec,
    namespace: &str,
    pod: &str,
    container: &str,
    argv: &[String],
) -> Option<String> {
    let out = exec.run(namespace, pod, container, argv).await.ok()?;
    out.success().then_some(out.stdout)
}

/// How long a command may run before we stop waiting: long enough for `promtool check config` on a large
/// configuration, short enough that a `df` or `stat` on a hung network volume does not hang the tool.
pub const EXEC_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The most a command's stdout (or stderr) may print before we stop it: the largest answer read from Prometheus
/// through `wget` (`prom_http::body_limit`, 64 MiB for `/api/v1/targets`); `df`, `stat`, `promtool` print lines.
pub const OUTPUT_LIMIT: usize = 64 << 20;

/// Read `reader` to its end into `buf`, failing once it holds more than [`OUTPUT_LIMIT`] bytes.
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(
    reader: R,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt;
    reader
        .take(OUTPUT_LIMIT as u64 + 1)
        .read_to_end(buf)
        .await?;
    if buf.len() > OUTPUT_LIMIT {
        return Err(std::io::Error::other("output over the limit"));
    }
    Ok(())
}

/// The real thing: `pods/exec` over WebSocket, as `kubectl exec` does.
pub struct KubeExec {
    pub client: kube::Client,
    /// [`EXEC_LIMIT`] in the tool; tests shorten it.
    pub limit: std::time::Duration,
}

impl KubeExec {
    pub fn new(client: kube::Client) -> Self {
        KubeExec {
            client,
            limit: EXEC_LIMIT,
        }
    }
}

impl PodExec for KubeExec {
    fn run<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
        argv: &'a [String],
    ) -> BoxFuture<'a, Result<ExecOutput>> {
        self.run_within(namespace, pod, container, argv, self.limit)
    }

    fn run_within<'a>(
        &'a self,
        namespace: &'a str,
        pod: &'a str,
        container: &'a str,
        argv: &'a [String],
        limit: std::time::Duration,
    ) -> BoxFuture<'a, Result<ExecOutput>> {
        Box::pin(async move {
            use k8s_openapi::api::core::v1::Pod;
            use kube::api::{Api, AttachParams};
            let command = argv.join(" ");
            let fail = |message: String| Error::Exec {
                pod: format!("{namespace}/{pod}"),
                command: command.clone(),
                message,
            };
            let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
            let params = AttachParams::default()
                .container(container)
                .stdin(false)
                .stdout(true)
                .stderr(true);
            let mut process = api
                .exec(pod, argv.to_vec(), &params)
                .await
                .map_err(|e| match e {
                    kube::Error::Api(s) if s.code == 403 => {
                        fail(format!("not allowed to exec ({})", s.message))
                    }
                    kube::Error::UpgradeConnection(
                        kube::client::UpgradeConnectionError::ProtocolSwitch(code),
                    ) => {
                        let why = match code.as_u16() {
                            403 => "not allowed to create pods/exec".to_string(),
                            404 => "the pod or container was not found".to_string(),
                            other => format!(
                                "the API server answered {other} instead of opening the stream"
                            ),
                        };
                        fail(why)
                    }
                    other => fail(other.to_string()),
                })?;
            let mut stdout_reader = process
                .stdout()
                .ok_or_else(|| fail("no stdout stream".into()))?;
            let mut stderr_reader = process
                .stderr()
                .ok_or_else(|| fail("no stderr stream".into()))?;
            let status = process
                .take_status()
                .ok_or_else(|| fail("no status stream".into()))?;
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            let finished = tokio::time::timeout(limit, async {
                // Either stream past OUTPUT_LIMIT ends both reads at once (try_join), so a command that floods
                // one of them neither grows memory nor blocks on the stream we stopped reading.
                let read = tokio::try_join!(
                    read_capped(&mut stdout_reader, &mut stdout),
                    read_capped(&mut stderr_reader, &mut stderr)
                );
                match read {
                    Ok(_) => (Ok(()), status.await),
                    Err(e) => (Err(e), None),
                }
            })
            .await;
            let status = match finished {
                Ok((Err(_), _)) if stdout.len() > OUTPUT_LIMIT || stderr.len() > OUTPUT_LIMIT => {
                    process.abort();
                    return Err(fail(format!(
                        "its output passed {}, the most kubectl-prom reads from a command, so it was stopped",
                        crate::quantity::human_bytes(OUTPUT_LIMIT as u64)
                    )));
                }
                Ok((read, status)) => {
                    read.map_err(|e| fail(format!("reading its output: {e}")))?;
                    status
                }
                // Dropping the session closes the stream; the process may live on in the container, as after a
                // `kubectl exec` whose connection broke.
                Err(_) => {
                    process.abort();
                    return Err(fail(format!(
                        "it did not finish within {}s (a hung volume or process?); the command may still be running in the container",
                        limit.as_secs()
                    )));
                }
            };
            let _ = process.join().await;
            Ok(ExecOutput {
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
                exit_code: exit_code(status.as_ref()),
            })
        })
    }
}

/// The exit code from the exec protocol's error channel: `Success` → 0; `NonZeroExitCode` carries it in
/// `details.causes[reason=ExitCode].message`. A failure without a code (e.g. the binary is missing) → 126, as a shell.
pub fn exit_code(status: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>) -> i32 {
    let Some(status) = status else { return 0 };
    if status.status.as_deref() == Some("Success") {
        return 0;
    }
    status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
        .and_then(|c| c.message.as_deref())
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(126)
}

/// A scripted `PodExec` for tests: answers by the first rule whose argv prefix matches, and records every call.
#[derive(Default)]
pub struct ScriptedExec {
    rules: Vec<(Vec<String>, Result<ExecOutput, String>)>,
    pub calls: Mutex<Vec<(String, String, Vec<String>)>>,
}

impl ScriptedExec {
    /// Answer commands starting with `prefix` with this output.
    pub fn on(mut self, prefix: &[&str], output: ExecOutput) -> Self {
        self.rules
            .push((prefix.iter().map(|s| s.to_string()).collect(), Ok(output)));
        self
    }

    /// Make commands starting with `prefix` fail to start (e.g. exec forbidden).
    pub fn refuse(mut self, prefix: &[&str], message: &str) -> Self {
        self.rules.push((
            prefix.iter().map(|s| s.to_string()).collect(),
            Err(message.to_string()),
        ));
        self
    }
}

impl PodExec for ScriptedExec {
    fn run<'a>(
        &'a self,
        _namespace: &'a str,
        pod: &'a str,
        container: &'a str,
        argv: &'a [String],
    ) -> BoxFuture<'a, Result<ExecOutput>> {
        Box::pin(async move {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push((pod.to_string(), container.to_string(), argv.to_vec()));
            }
            let rule = self
                .rules
                .iter()
                .find(|(prefix, _)| argv.starts_with(prefix));
            match rule {
                Some((_, Ok(out))) => Ok(out.clone()),
                Some((_, Err(message))) => Err(Error::Exec {
                    pod: pod.to_string(),
                    command: argv.join(" "),
                    message: message.clone(),
                }),
                None => Ok(ExecOutput {
                    stderr: format!("{}: not found", argv.first().cloned().unwrap_or_default()),
                    exit_code: 127,
                    ..Default::default()
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};

    #[tokio::test]
    async fn a_flooding_command_is_read_only_to_the_limit() {
        // An endless stream (a command printing forever) stops one byte past the limit, with an error.
        let mut buf = Vec::new();
        assert!(
            read_capped(tokio::io::repeat(b'x'), &mut buf)
                .await
                .is_err()
        );
        assert_eq!(buf.len(), OUTPUT_LIMIT + 1);
        let mut buf = Vec::new();
        read_capped(&b"Filesystem 1K-blocks\n"[..], &mut buf)
            .await
            .unwrap();
        assert_eq!(buf, b"Filesystem 1K-blocks\n");
    }

    #[test]
    fn exit_codes_come_from_the_status_channel() {
        assert_eq!(exit_code(None), 0);
        assert_eq!(
            exit_code(Some(&Status {
                status: Some("Success".into()),
                ..Default::default()
            })),
            0
        );
        let failed = Status {
            status: Some("Failure".into()),
            reason: Some("NonZeroExitCode".into()),
            details: Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("ExitCode".into()),
                    message: Some("8".into()),
                    field: None,
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(exit_code(Some(&failed)), 8);
        assert_eq!(
            exit_code(Some(&Status {
                status: Some("Failure".into()),
                ..Default::default()
            })),
            126
        );
    }

    #[tokio::test]
    async fn scripted_exec_matches_prefixes_and_records_calls() {
        let fake = ScriptedExec::default()
            .on(
                &["promtool", "check"],
                ExecOutput {
                    stdout: "SUCCESS".into(),
                    ..Default::default()
                },
            )
            .refuse(&["wget"], "not allowed to create pods/exec");
        let argv = vec!["promtool".to_string(), "check".into(), "config".into()];
        assert_eq!(
            fake.run("ns", "p", "c", &argv).await.unwrap().stdout,
            "SUCCESS"
        );
        assert!(
            fake.run("ns", "p", "c", &["wget".to_string()])
                .await
                .is_err()
        );
        assert_eq!(
            fake.run("ns", "p", "c", &["sh".to_string()])
                .await
                .unwrap()
                .exit_code,
            127
        );
        assert_eq!(fake.calls.lock().unwrap().len(), 3);
    }
}
