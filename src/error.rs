//! The one error type of kubectl-prom, its user-facing sentences, and the documented exit codes.

use std::fmt;

/// Documented, stable process exit codes (see README "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success, or nothing to do.
    Ok = 0,
    /// `doctor` found findings at or above `--fail-on`, or a change did not verify.
    Findings = 1,
    /// Usage error: bad flag value, unknown target, a size that would shrink.
    Usage = 2,
    /// The cluster or Prometheus refused or failed: API error, forbidden, timeout, failed reload.
    Cluster = 3,
    /// The user declined the plan, or no terminal and no `--yes`.
    Declined = 4,
    /// Interrupted (Ctrl-C); the state left behind is printed.
    Interrupted = 130,
}

/// Everything that can go wrong, each variant carrying the object and action it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag value or argument the user can correct.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// The kubeconfig could not be read or does not name a usable context.
    #[error("could not load the kubeconfig: {message}")]
    Kubeconfig {
        message: String,
        hint: Option<String>,
    },
    /// An API request failed; `action` reads as a verb phrase ("patch persistentvolumeclaim obs/data").
    #[error("{}", kube_sentence(action, source))]
    Kube {
        action: String,
        #[source]
        source: kube::Error,
    },
    /// No Prometheus matched, or several did and we could not ask which.
    #[error("{message}")]
    Target {
        message: String,
        hint: Option<String>,
    },
    /// SelfSubjectAccessReview said no to requests a plan would make; nothing was changed.
    #[error(
        "not allowed to {missing}: SelfSubjectAccessReview says no, so nothing was changed (check: `{can_i}`)"
    )]
    Forbidden {
        missing: String,
        can_i: String,
        role: String,
    },
    /// Prometheus answered, but not with success.
    #[error("Prometheus at {url} answered {status}: {body}")]
    PromHttp {
        url: String,
        status: u16,
        body: String,
    },
    /// Prometheus refused or failed what we asked (lifecycle API off, a reload it rejected), explained.
    #[error("{message}")]
    Prometheus {
        message: String,
        hint: Option<String>,
    },
    /// An answer larger than the plugin reads (a broken or hostile server, or a proxy): `what` names the pod and the
    /// request (`Prometheus in pod ns/p answered GET /api/v1/status/config`), `limit` the bound (`32.0Mi`).
    #[error(
        "{what} with more than {limit}, the most kubectl-prom reads from that endpoint, so it did not read it"
    )]
    TooLarge { what: String, limit: String },
    /// A command run inside a container failed.
    #[error("`{command}` in pod {pod} failed: {message}")]
    Exec {
        pod: String,
        command: String,
        message: String,
    },
    /// A change was applied but the result could not be verified, or a wait ran out.
    #[error("{message}")]
    Verify {
        message: String,
        hint: Option<String>,
    },
    /// The user said no, or there is no terminal to ask on and `--yes` was not given.
    #[error("{message}")]
    Declined { message: String },
    /// Ctrl-C during a change; `state` says what was and was not applied.
    #[error("interrupted: {state}")]
    Interrupted { state: String },
    /// Local I/O (terminal, files).
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

/// Convenience alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 409 Conflict from the API server: the object changed since it was read (or a precondition failed).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Kube { source: kube::Error::Api(status), .. } if status.code == 409)
    }

    /// The exit code this error maps to (README "Exit codes").
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage { .. } | Error::Target { .. } => ExitCode::Usage,
            Error::Declined { .. } => ExitCode::Declined,
            Error::Interrupted { .. } => ExitCode::Interrupted,
            Error::Verify { .. } => ExitCode::Findings,
            Error::Kubeconfig { .. }
            | Error::Kube { .. }
            | Error::Forbidden { .. }
            | Error::PromHttp { .. }
            | Error::Prometheus { .. }
            | Error::Exec { .. }
            | Error::TooLarge { .. }
            | Error::Io { .. } => ExitCode::Cluster,
        }
    }

    /// A pasteable next step, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. }
            | Error::Kubeconfig { hint, .. }
            | Error::Target { hint, .. }
            | Error::Prometheus { hint, .. }
            | Error::Verify { hint, .. } => hint.clone(),
            Error::Kube { action, source } => kube_hint(action, source),
            Error::Forbidden { role, .. } => Some(format!(
                "ask a cluster admin to grant these permissions (and bind them to you), e.g.:\n{role}"
            )),
            _ => None,
        }
    }

    /// The raw API `Status`, shown only with `-v`.
    pub fn status_detail(&self) -> Option<String> {
        match self {
            Error::Kube {
                source: kube::Error::Api(status),
                ..
            } => serde_json::to_string(status).ok(),
            _ => None,
        }
    }

    /// Shorthand for a usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Shorthand for wrapping a kube error with the action it interrupted.
    pub fn kube(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Self {
        let action = action.into();
        move |source| Error::Kube { action, source }
    }
}

fn kube_sentence(action: &str, source: &kube::Error) -> String {
    match source {
        kube::Error::Api(s) => match s.code {
            401 => format!(
                "could not {action}: the cluster did not accept our credentials (401 Unauthorized)"
            ),
            403 => format!("not allowed to {action}: {}", s.message),
            404 => format!("could not {action}: not found"),
            409 => {
                format!("could not {action}: the object changed since it was read (409 Conflict)")
            }
            _ => format!("could not {action}: {}", s.message),
        },
        other => format!("could not {action}: {}", ShortKubeError(other)),
    }
}

fn kube_hint(action: &str, source: &kube::Error) -> Option<String> {
    match source {
        kube::Error::Api(s) if s.code == 401 => {
            Some("refresh your credentials, then check `kubectl auth whoami`".into())
        }
        kube::Error::Api(s) if s.code == 403 => Some(format!(
            "check your permissions with `kubectl auth can-i --list`; the request was: {action}"
        )),
        kube::Error::Api(s) if s.code == 409 => {
            Some("re-run the command; it re-reads the object and plans again".into())
        }
        _ => None,
    }
}

/// kube's Display of transport errors nests deeply; keep the first line of each cause.
struct ShortKubeError<'a>(&'a kube::Error);

/// A kube transport error in one line, credentials never included (as in every `Error::Kube` sentence).
pub fn short_kube_error(e: &kube::Error) -> String {
    ShortKubeError(e).to_string()
}

impl fmt::Display for ShortKubeError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A credential plugin that fails when kube refreshes its token mid-run: kube's Display of that error holds
        // the plugin's stdout (a token), so the whole sentence is kubectl's instead (crate::credentials).
        if let kube::Error::Auth(auth) = self.0 {
            return f.write_str(&crate::credentials::credential_sentence(auth, None));
        }
        let mut source = std::error::Error::source(self.0);
        let mut connecting = false;
        while let Some(cause) = source {
            if let Some(auth) = cause.downcast_ref::<kube::client::AuthError>() {
                return f.write_str(&crate::credentials::credential_sentence(auth, None));
            }
            // hyper-util's legacy client error says `client error (Connect)` for a failure while connecting.
            connecting |= cause.to_string().contains("(Connect)");
            // kube's connect/read timeouts and the per-attempt bound (clients::client) say "deadline has elapsed" or
            // "request timed out"; say what timed out instead.
            let timed_out = cause
                .downcast_ref::<tower::timeout::error::Elapsed>()
                .is_some()
                || cause
                    .downcast_ref::<tokio::time::error::Elapsed>()
                    .is_some()
                || cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
                // A boxed error inside kube's BoxError hides its type from downcast (Box<dyn Error> delegates
                // source() past itself), so the timeout sentences of tokio and tower count by their text too.
                || matches!(
                    cause.to_string().as_str(),
                    "deadline has elapsed" | "request timed out"
                );
            if timed_out {
                return f.write_str(if connecting {
                    "the API server did not answer in time (timed out connecting: TCP or the TLS handshake)"
                } else {
                    "the API server did not answer in time (timed out waiting for its response)"
                });
            }
            source = cause.source();
        }
        let mut text = self.0.to_string();
        let mut source = std::error::Error::source(self.0);
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        f.write_str(text.lines().next().unwrap_or_default())
    }
}
