//! kubectl's sentences for credentials that could not be had and for files that could not be read: pure text, below
//! both the connection code (src/connect.rs) and the error type (src/error.rs), which both word such failures.

/// An I/O error in kubectl's words.
pub fn io_sentence(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// kubectl's sentences for credentials that could not be had (client-go plugin/pkg/client/auth/exec/exec.go
/// `wrapCmdRunErrorLocked`, `decoding stdout`): never the plugin's stdout, which holds the token (kube's own Display
/// of `AuthExecRun` prints the whole `Output`), but its stderr, which kubectl shows as the plugin writes it, escaped.
/// Used when building the client and for a refresh that fails mid-run (error.rs finds the cause in the chain).
pub fn credential_sentence(err: &kube::client::AuthError, plugin: Option<&str>) -> String {
    use kube::client::AuthError;
    let executable = match plugin {
        Some(p) => format!("executable {p}"),
        None => "the credential plugin".to_string(),
    };
    match err {
        AuthError::AuthExecRun { out, .. } => {
            let code = out
                .status
                .code()
                .map_or_else(|| "a signal".to_string(), |c| format!("exit code {c}"));
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stderr = crate::escape::escape(stderr.trim_end());
            if stderr.is_empty() {
                format!("getting credentials: exec: {executable} failed with {code}")
            } else {
                format!(
                    "getting credentials: exec: {executable} failed with {code}; it said:\n{stderr}"
                )
            }
        }
        AuthError::AuthExecStart(io) => format!(
            "getting credentials: exec: {executable} not found or not runnable: {}",
            io_sentence(io)
        ),
        AuthError::AuthExecParse(_) => {
            format!(
                "getting credentials: decoding stdout: {executable} did not print an ExecCredential"
            )
        }
        AuthError::InvalidBearerToken(_) => {
            "the token is not a valid HTTP header value (a stray character in it?)".to_string()
        }
        other => format!("getting credentials: {other}"),
    }
}
