//! The injected context every command receives: the kube client, the resolved namespace scope, and the settings
//! derived from flags. Commands never read flags or the environment themselves; app.rs builds this.

use crate::cli::OutputFormat;
use crate::ui::Printer;
use std::time::Duration;

/// Which namespaces a command looks in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One namespace: `-n`, or the kubeconfig context's namespace, or `default`.
    Namespace(String),
    /// `-A`.
    AllNamespaces,
}

/// Resolved, flag-independent settings for a command run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub scope: Scope,
    pub output: OutputFormat,
    /// `--yes`: skip the confirmation prompt.
    pub assume_yes: bool,
    /// `--dry-run`: send changes with dryRun=All.
    pub dry_run: bool,
    /// Whether stdin and stderr are terminals (prompts and progress bars are allowed).
    pub interactive: bool,
    pub verbose: u8,
}

/// What a command gets: a client, settings, a printer, and a way to exec into pods. Built once by app.rs.
pub struct Ctx {
    pub client: kube::Client,
    pub settings: Settings,
    pub printer: Printer,
    /// `pods/exec`; tests substitute `podexec::ScriptedExec`.
    pub exec: std::sync::Arc<dyn crate::podexec::PodExec>,
    /// What the kube client has sent and received so far (printed with `-v` at the end of every verb).
    pub requests: crate::accounting::RequestStats,
}

impl Ctx {
    /// The namespace to use for a namespaced lookup when the scope is a single namespace.
    pub fn namespace(&self) -> Option<&str> {
        match &self.settings.scope {
            Scope::Namespace(ns) => Some(ns),
            Scope::AllNamespaces => None,
        }
    }
}

/// Parse kubectl-style durations: `30s`, `2m`, `1h`, `1m30s`, bare seconds `45`; `0` means no limit (None).
pub fn parse_duration(text: &str) -> crate::Result<Option<Duration>> {
    let bad = || {
        crate::Error::usage(
            format!("`{text}` is not a duration"),
            Some("use a number with a unit, e.g. 30s, 2m, 1h or 1m30s".to_string()),
        )
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok((secs > 0).then(|| Duration::from_secs(secs)));
    }
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            "ms"
        } else {
            match c {
                'h' => "h",
                'm' => "m",
                's' => "s",
                _ => return Err(bad()),
            }
        };
        let value: f64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let secs = match unit {
            "h" => value * 3600.0,
            "m" => value * 60.0,
            "s" => value,
            _ => value / 1000.0,
        };
        total += Duration::from_secs_f64(secs);
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok((!total.is_zero()).then_some(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_kubectl() {
        assert_eq!(
            parse_duration("30s").unwrap(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_duration("1m30s").unwrap(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_duration("2h").unwrap(),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(
            parse_duration("500ms").unwrap(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_duration("45").unwrap(), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("0").unwrap(), None);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("10").is_ok());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }
}
