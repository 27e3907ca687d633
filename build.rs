//! Stamps the git commit and the target triple into the binary for `kubectl prom version`.
//! Release builds may set KUBECTL_PROM_GIT_COMMIT themselves (e.g. from a source tarball without .git).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=KUBECTL_PROM_GIT_COMMIT");
    let commit = std::env::var("KUBECTL_PROM_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    // Rebuild when HEAD moves: HEAD itself (branch switches) and the file of the branch it points at (commits).
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &reference])
    {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rustc-env=KUBECTL_PROM_GIT_COMMIT={commit}");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=KUBECTL_PROM_TARGET={target}");
}

/// One line of git output, or None when git or the repository is missing.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_string())
}
