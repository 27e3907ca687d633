//! `kubectl prom version`: the version, git commit and build target (the last two stamped by build.rs).

use crate::cli::OutputFormat;
use crate::error::{ExitCode, Result};
use crate::ui::Printer;

/// What this binary is: the crate version, the commit it was built from, and the target triple.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    pub version: &'static str,
    pub git_commit: &'static str,
    pub target: &'static str,
}

/// The build stamped into this binary.
pub const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    git_commit: env!("KUBECTL_PROM_GIT_COMMIT"),
    target: env!("KUBECTL_PROM_TARGET"),
};

impl BuildInfo {
    /// One line for people: `kubectl-prom 0.1.0 (commit 1a2b3c4d5e6f, x86_64-unknown-linux-gnu)`.
    pub fn human(&self) -> String {
        format!(
            "kubectl-prom {} (commit {}, {})",
            self.version, self.git_commit, self.target
        )
    }

    /// A stable JSON object for `-o json`.
    pub fn json(&self) -> String {
        let value = serde_json::json!({ "kind": "Version", "version": self });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

/// Print the version in the requested format (`-o json`: a stable object with kind `Version`).
pub fn run_as(printer: &Printer, output: OutputFormat) -> Result<ExitCode> {
    printer.result(&match output {
        OutputFormat::Human => BUILD.human(),
        OutputFormat::Json => BUILD.json(),
    });
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_line_names_version_commit_and_target() {
        let info = BuildInfo {
            version: "1.2.3",
            git_commit: "0123456789ab",
            target: "aarch64-apple-darwin",
        };
        assert_eq!(
            info.human(),
            "kubectl-prom 1.2.3 (commit 0123456789ab, aarch64-apple-darwin)"
        );
        let parsed: serde_json::Value = serde_json::from_str(&info.json()).expect("valid JSON");
        assert_eq!(parsed["kind"], "Version");
        assert_eq!(parsed["version"]["gitCommit"], "0123456789ab");
        assert_eq!(parsed["version"]["target"], "aarch64-apple-darwin");
    }

    #[test]
    fn the_stamped_build_is_filled_in() {
        assert_eq!(BUILD.version, env!("CARGO_PKG_VERSION"));
        assert!(!BUILD.git_commit.is_empty());
        assert!(
            BUILD.target.contains('-'),
            "a target triple: {}",
            BUILD.target
        );
    }
}
