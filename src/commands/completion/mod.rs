//! `kubectl prom completion` (static clap_complete scripts, `completion install`) and the hidden `__complete` protocol
//! kubectl ≥ 1.26 calls through `kubectl_complete-prom`: reading the typed words is pure (`analyze`), fetching names
//! from the kubeconfig and the cluster is bounded I/O (`gather`), and the cobra wire format is `render`.

use crate::cli::{Cli, CompleteArgs, CompletionArgs, KubeArgs};
use crate::error::{Error, ExitCode, Result};
use crate::ui::Printer;
use clap::CommandFactory;
use clap_complete::Shell;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod protocol;
pub use protocol::*;

/// The plugin's executable name, as krew installs it and as the static scripts complete it.
pub const PLUGIN_BIN: &str = "kubectl-prom";
/// The executable kubectl ≥ 1.26 looks up on PATH to complete `kubectl prom …` (plugin_completion.go).
pub const COMPLETER_BIN: &str = "kubectl_complete-prom";
/// The committed `completions/kubectl_complete-prom`, which `completion install` writes next to the plugin.
pub const COMPLETER_SCRIPT: &str = include_str!("../../../completions/kubectl_complete-prom");
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
