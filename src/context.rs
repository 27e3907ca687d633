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
    /// kubectl's impersonation flags as given (`--as USER --as-group G`), for hints that must ask the same question
    /// (`kubectl auth can-i … --as USER`); None when not impersonating.
    pub impersonation: Option<String>,
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

/// The longest duration accepted: Go's `time.Duration` maximum (2^63-1 ns, about 292 years), which is the most
/// kubectl's own `--request-timeout` can hold (client-go `tools/clientcmd` `ParseTimeout` → `time.ParseDuration`).
/// Anything longer used to reach `Instant + Duration` and panic (issue 14 class 11).
pub const MAX_DURATION: Duration = Duration::new(9_223_372_036, 854_775_807);

/// Parse kubectl-style durations: `30s`, `2m`, `1h`, `1m30s`, bare seconds `45`; `0` means no limit (None). Every
/// step is checked: a value beyond [`MAX_DURATION`] is a usage error with a sentence, never an overflow.
pub fn parse_duration(text: &str) -> crate::Result<Option<Duration>> {
    let bad = || {
        crate::Error::usage(
            format!("`{text}` is not a duration"),
            Some("use a number with a unit, e.g. 30s, 2m, 1h or 1m30s".to_string()),
        )
    };
    let too_long = || {
        crate::Error::usage(
            format!(
                "`{text}` is too long a duration: the longest is 2562047h (about 292 years, the most kubectl accepts)"
            ),
            Some("use 0 for no limit, or a duration such as 30s, 2m or 1h".to_string()),
        )
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        // Bare seconds; more digits than u64 holds is too long, not malformed.
        let secs = text.parse::<u64>().map_err(|_| too_long())?;
        let d = Duration::from_secs(secs);
        if d > MAX_DURATION {
            return Err(too_long());
        }
        return Ok((secs > 0).then_some(d));
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
        // Rejects infinities and anything past Duration's range instead of panicking as from_secs_f64 does.
        let part = Duration::try_from_secs_f64(secs).map_err(|_| too_long())?;
        total = total
            .checked_add(part)
            .filter(|t| *t <= MAX_DURATION)
            .ok_or_else(too_long)?;
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

    #[test]
    fn durations_past_the_longest_are_refused_with_a_sentence() {
        for text in [
            "18446744073709551615",
            "99999999999999999999999",
            "99999999999999999999h",
            "9223372037s",
            "2562048h",
            "2562047h2562047h",
            "1e400s",
        ] {
            let err = parse_duration(text).unwrap_err();
            assert_eq!(err.exit_code(), crate::ExitCode::Usage, "{text}");
            assert!(
                err.to_string().contains("too long") || err.to_string().contains("not a duration"),
                "{text}: {err}"
            );
        }
        assert!(
            parse_duration("99999999999999999999h")
                .unwrap_err()
                .to_string()
                .contains("too long a duration")
        );
        assert_eq!(
            parse_duration("2562047h").unwrap(),
            Some(Duration::from_secs(2562047 * 3600))
        );
        assert_eq!(
            parse_duration("9223372036").unwrap(),
            Some(Duration::from_secs(9223372036))
        );
    }
}
