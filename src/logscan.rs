//! Classifier of Prometheus and reload-sidecar log text: parses v2 logfmt, v3 slog (logfmt) and JSON lines, and
//! recognises the lines that name a problem (disk full, permission denied, lock conflict, config errors, WAL repair,
//! crashes, sidecar reload answers). Pure: text in, [`Hit`]s out. Exact texts: prometheus-facts.md §2 and §3.
//!
//! Callers: `doctor` scans whole logs with [`scan`]; `resize` and `fix-perms` ask one question with [`find_last`],
//! e.g. `logscan::find_last(&log, Kind::DiskFull)`.

use serde::Serialize;

/// A log level, normalised across `level=error` (v2), `level=ERROR` (v3) and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// One log line split into its fields. Lines that are neither logfmt nor JSON (Go panics, `log.Println` of the
/// old configmap-reload) have no fields; their text is in `raw`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub level: Option<Level>,
    pub msg: Option<String>,
    pub err: Option<String>,
    /// Every key/value pair in order, values unquoted.
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// The value of a field by key.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What a recognised line means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `no space left on device` in any variant, or the SIGBUS crash in `NewActiveQueryTracker` (≤ 3.13.1).
    DiskFull,
    /// `permission denied` on a file of the data directory (usually `queries.active`).
    PermissionDenied,
    /// `lock DB directory: resource temporarily unavailable`: another Prometheus holds the TSDB lock.
    LockConflict,
    /// `Error loading config (--config.file=…)`: the config is rejected at startup (exit 2).
    StartupConfigError,
    /// `Error reloading config`: a reload failed; the previous config keeps running.
    ReloadFailed,
    /// `Completed loading of configuration file`: a (re)load succeeded.
    ConfigLoaded,
    /// `loading groups failed`: a rule file was rejected during a reload.
    RuleLoadFailed,
    /// `Encountered WAL read error, attempting repair` (or WBL): corruption found and repaired.
    WalRepair,
    /// `repair corrupted WAL` failed, or a WAL segment error that stops the TSDB from opening.
    WalRepairFailed,
    /// A fatal run-group error, a Go panic or `fatal error:` not classified more precisely.
    Fatal,
    /// Signs of an unclean previous exit (OOMKill/SIGKILL): leftover lockfile, unfinished queries.
    UncleanShutdown,
    /// `Server is ready to receive web requests.`
    Ready,
    /// Reload sidecar: Prometheus answered the reload POST with a non-200 status (`status` holds it).
    SidecarReloadRejected,
    /// Reload sidecar: the reload POST did not get an answer (timeout, connection refused).
    SidecarReloadUnreachable,
    /// Reload sidecar: the reload POST failed in TLS — an `https://` reload URL to a plain-HTTP port (`http: server gave
    /// HTTP response to HTTPS client`) or a certificate the sidecar does not trust (`tls: failed to verify certificate:
    /// x509: …`). Seen from the real configmap-reload 0.14.0 and prometheus-config-reloader 0.85.0.
    SidecarReloadTls,
    /// Reload sidecar: a reload was triggered successfully.
    SidecarReloadOk,
}

/// A recognised line, quoted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    pub kind: Kind,
    /// 1-based line number in the scanned text.
    pub line_no: usize,
    /// The line as printed (trimmed, at most [`QUOTE_MAX`] characters).
    pub quote: String,
    /// Prometheus's error text (`err=`), or the message when there is no error field.
    pub detail: Option<String>,
    /// The file the error is about (`write /data/wal/00045436: no space left on device` → `/data/wal/00045436`).
    pub path: Option<String>,
    /// The HTTP status a reload sidecar got back (403, 404, 500 …).
    pub status: Option<u16>,
}

/// Longest quote kept from one line; Prometheus lines with a full config error stay under this.
pub const QUOTE_MAX: usize = 400;

const NO_SPACE: &str = "no space left on device";
const PERMISSION_DENIED: &str = "permission denied";

/// Split one line into its fields: JSON if it is an object, logfmt if it has logfmt keys, otherwise bare text.
pub fn parse(line: &str) -> Record {
    let line = line.trim();
    if line.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line)
    {
        let fields = map
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
        return record_from(fields);
    }
    let fields = logfmt_fields(line);
    let known = ["level", "msg", "err", "ts", "time", "caller", "source"];
    if fields.iter().any(|(k, _)| known.contains(&k.as_str())) {
        record_from(fields)
    } else {
        Record::default()
    }
}

fn record_from(fields: Vec<(String, String)>) -> Record {
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let level = get("level").and_then(|l| match l.to_ascii_lowercase().as_str() {
        "debug" => Some(Level::Debug),
        "info" => Some(Level::Info),
        "warn" | "warning" => Some(Level::Warn),
        "error" | "fatal" | "panic" => Some(Level::Error),
        _ => None,
    });
    Record {
        level,
        msg: get("msg"),
        err: get("err").or_else(|| get("error")),
        fields,
    }
}

/// logfmt as go-kit and slog's TextHandler write it: `key=value` or `key="quoted \"value\""`, separated by spaces.
/// Tokens without `=` are skipped (they only occur in non-logfmt lines, which have no known keys anyway).
fn logfmt_fields(line: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            continue; // a bare word
        }
        chars.next();
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some('t') => value.push('\t'),
                        Some(other) => value.push(other),
                        None => break,
                    },
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        if !key.is_empty() {
            fields.push((key, value));
        }
    }
    fields
}

/// Classify one line on its own. Multi-line patterns (the SIGBUS stack) are resolved by [`scan`].
pub fn classify(line: &str) -> Option<Kind> {
    classify_record(line, &parse(line)).map(|(kind, _)| kind)
}

/// The kind and, for sidecar answers, the HTTP status.
fn classify_record(raw: &str, rec: &Record) -> Option<(Kind, Option<u16>)> {
    let msg = rec.msg.as_deref().unwrap_or("");
    let text = raw.to_ascii_lowercase();
    let none = |kind| Some((kind, None));
    // The most specific cause first: a fatal "opening storage failed: …: no space left on device" is a full disk.
    if text.contains(NO_SPACE) {
        return none(Kind::DiskFull);
    }
    if text.contains("lock db directory") {
        return none(Kind::LockConflict);
    }
    if text.contains(PERMISSION_DENIED) {
        return none(Kind::PermissionDenied);
    }
    if let Some(status) = sidecar_status(raw) {
        return Some((Kind::SidecarReloadRejected, Some(status)));
    }
    // A failed request: prometheus-config-reloader `trigger reload: reload request failed: Post "…": <err>`,
    // configmap-reload `error: Post "…": <err>` (Go's net/http client error, the same text in both).
    if text.contains("reload request failed:") || raw.contains("error: Post \"") {
        if text.contains("server gave http response to https client")
            || text.contains("tls: ")
            || text.contains("x509: ")
        {
            return none(Kind::SidecarReloadTls);
        }
        return none(Kind::SidecarReloadUnreachable);
    }
    if msg == "Reload triggered" || raw.contains("successfully triggered reload") {
        return none(Kind::SidecarReloadOk);
    }
    // v2.20+ `Error loading config (--config.file=…)`; older releases `error loading config from "…"`.
    if msg.starts_with("Error loading config") || text.contains("error loading config from") {
        return none(Kind::StartupConfigError);
    }
    if msg == "Error reloading config" {
        return none(Kind::ReloadFailed);
    }
    if msg == "Completed loading of configuration file" {
        return none(Kind::ConfigLoaded);
    }
    if msg == "loading groups failed" {
        return none(Kind::RuleLoadFailed);
    }
    if text.contains("repair corrupted wal") || text.contains("segments are not sequential") {
        return none(Kind::WalRepairFailed);
    }
    if msg.starts_with("Encountered WAL read error")
        || msg.starts_with("Encountered WBL read error")
    {
        return none(Kind::WalRepair);
    }
    if msg.starts_with("A lockfile from a previous execution already existed")
        || msg.starts_with("These queries didn't finish in prometheus' last run")
    {
        return none(Kind::UncleanShutdown);
    }
    if msg == "Server is ready to receive web requests." {
        return none(Kind::Ready);
    }
    let v2_fatal = rec.level == Some(Level::Error) && rec.msg.is_none() && rec.err.is_some();
    if msg == "Fatal error"
        || msg == "Error running goroutines from run.Group"
        || msg == "failed to initialize active query tracker"
        || v2_fatal
        || raw.starts_with("panic: ")
        || raw.starts_with("fatal error: ")
    {
        return none(Kind::Fatal);
    }
    None
}

/// The status in `received non-200 response: 403 Forbidden` (prometheus-config-reloader) or
/// `Received response code 403 , expected 200` (jimmidyson/configmap-reload).
fn sidecar_status(raw: &str) -> Option<u16> {
    for marker in ["received non-200 response: ", "Received response code "] {
        if let Some(at) = raw.find(marker) {
            let digits: String = raw[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            return digits.parse().ok();
        }
    }
    None
}

/// The path an OS error names: `write /data/wal/00045436: no space left on device` → `/data/wal/00045436`.
fn errno_path(text: &str, errno: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find(errno)?;
    let before = text[..at].trim_end().strip_suffix(':')?;
    let path = before.rsplit([' ', '"']).next()?;
    path.starts_with('/').then(|| path.to_string())
}

/// Find every recognised line in a log text, in order.
pub fn scan(text: &str) -> Vec<Hit> {
    let lines: Vec<&str> = text.lines().collect();
    let mut hits = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        // Go's runtime prints the SIGBUS header, then the stack; the crash is the full-disk one when the faulting
        // frame is promql.NewActiveQueryTracker (sparse queries.active mmapped on a full disk, ≤ 3.13.1, facts §2.1).
        if raw.starts_with("[signal SIGBUS") {
            let in_tracker = lines[i..lines.len().min(i + 40)]
                .iter()
                .any(|l| l.contains("NewActiveQueryTracker"));
            hits.push(Hit {
                kind: if in_tracker {
                    Kind::DiskFull
                } else {
                    Kind::Fatal
                },
                line_no: i + 1,
                quote: quote(raw),
                detail: Some(if in_tracker {
                    "SIGBUS in promql.NewActiveQueryTracker: queries.active could not be backed by disk space"
                        .to_string()
                } else {
                    "SIGBUS".to_string()
                }),
                path: None,
                status: None,
            });
            continue;
        }
        let rec = parse(raw);
        let Some((kind, status)) = classify_record(raw, &rec) else {
            continue;
        };
        let detail = rec
            .err
            .clone()
            .or_else(|| rec.msg.clone())
            .or_else(|| raw.strip_prefix("panic: ").map(str::to_string));
        let path = match kind {
            Kind::DiskFull => errno_path(raw, NO_SPACE),
            Kind::PermissionDenied => {
                errno_path(raw, PERMISSION_DENIED).or_else(|| rec.field("file").map(str::to_string))
            }
            _ => None,
        };
        hits.push(Hit {
            kind,
            line_no: i + 1,
            quote: quote(raw),
            detail,
            path,
            status,
        });
    }
    hits
}

/// The most recent line of one kind, e.g. `find_last(&log, Kind::DiskFull)` for resize and fix-perms.
pub fn find_last(text: &str, kind: Kind) -> Option<Hit> {
    scan(text).into_iter().rev().find(|h| h.kind == kind)
}

fn quote(raw: &str) -> String {
    if raw.chars().count() <= QUOTE_MAX {
        raw.to_string()
    } else {
        let cut: String = raw.chars().take(QUOTE_MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../tests/fixtures/doctor/logs/", $name))
        };
    }

    fn kinds(text: &str) -> Vec<Kind> {
        scan(text).into_iter().map(|h| h.kind).collect()
    }

    #[test]
    fn parses_v2_logfmt_v3_slog_and_json() {
        let v2 = parse(
            r#"ts=2026-11-21T23:16:06.650Z caller=main.go:469 level=error msg="Error loading config (--config.file=typo.yml)" file=/tmp/doctorfx/typo.yml err="parsing YAML file typo.yml: yaml: unmarshal errors:\n  line 5: field scarpe_interval not found in type config.ScrapeConfig""#,
        );
        assert_eq!(v2.level, Some(Level::Error));
        assert_eq!(
            v2.msg.as_deref(),
            Some("Error loading config (--config.file=typo.yml)")
        );
        assert!(
            v2.err
                .as_deref()
                .unwrap()
                .contains("\n  line 5: field scarpe_interval")
        );

        let v3 = parse(
            r#"time=2024-10-24T00:03:07.542+02:00 level=WARN source=scrape.go:1941 msg="Error on ingesting out-of-order samples" component="scrape manager" num_dropped=62"#,
        );
        assert_eq!(v3.level, Some(Level::Warn));
        assert_eq!(v3.field("component"), Some("scrape manager"));
        assert_eq!(v3.field("num_dropped"), Some("62"));

        let json = parse(fixture!("v2.42-startup-config-error-json.log"));
        assert_eq!(json.level, Some(Level::Error));
        assert_eq!(json.field("caller"), Some("main.go:469"));

        let bare = parse("panic: Unable to create mmap-ed active query log");
        assert_eq!(bare, Record::default());
    }

    #[test]
    fn disk_full_in_every_variant() {
        let chart = scan(fixture!("v2-chart-disk-full.log"));
        let hit = chart.iter().find(|h| h.kind == Kind::DiskFull).unwrap();
        assert_eq!(hit.path.as_deref(), Some("/data/wal/00045436"));
        assert_eq!(hit.line_no, 2);
        assert!(
            hit.detail
                .as_deref()
                .unwrap()
                .starts_with("opening storage failed")
        );

        let sigbus = scan(fixture!("v2.42-sigbus-disk-full.log"));
        let hit = sigbus.iter().find(|h| h.kind == Kind::DiskFull).unwrap();
        assert!(hit.quote.starts_with("[signal SIGBUS: bus error"));

        let v3 = find_last(fixture!("v3-disk-full-query-log.log"), Kind::DiskFull).unwrap();
        assert_eq!(v3.path.as_deref(), Some("/prometheus/queries.active"));

        let append = find_last(fixture!("v3-append-failed.log"), Kind::DiskFull).unwrap();
        assert_eq!(append.path.as_deref(), Some("/prometheus/wal/00008836"));

        let run_group = find_last(fixture!("v3.0-fatal-run-group.log"), Kind::DiskFull).unwrap();
        assert_eq!(run_group.path.as_deref(), Some("/prometheus/wal/00000500"));
    }

    #[test]
    fn a_sigbus_elsewhere_is_a_crash_not_a_full_disk() {
        let text = "unexpected fault address 0x1\nfatal error: fault\n[signal SIGBUS: bus error code=0x2 addr=0x1 pc=0x2]\n\ngoroutine 7 [running]:\ngithub.com/prometheus/prometheus/tsdb/chunks.(*ChunkDiskMapper).Chunk(...)";
        assert!(!kinds(text).contains(&Kind::DiskFull));
        assert!(kinds(text).contains(&Kind::Fatal));
    }

    #[test]
    fn permission_denied_on_the_query_log() {
        let real = find_last(
            fixture!("v2.42-permission-denied.log"),
            Kind::PermissionDenied,
        )
        .unwrap();
        assert_eq!(
            real.path.as_deref(),
            Some("/tmp/doctorfx/perm/queries.active")
        );
        assert!(kinds(fixture!("v2.42-permission-denied.log")).contains(&Kind::Fatal));
        let v3 = scan(fixture!("v3-permission-denied.log"));
        assert_eq!(v3.len(), 2);
        assert!(v3.iter().all(|h| h.kind == Kind::PermissionDenied));
        assert_eq!(v3[0].path.as_deref(), Some("/prometheus/queries.active"));
    }

    #[test]
    fn lock_conflict_and_wal_repair() {
        assert_eq!(
            kinds(fixture!("v3-lock-conflict.log")),
            vec![Kind::LockConflict]
        );
        assert_eq!(
            kinds(fixture!("v3-wal-repair.log")),
            vec![Kind::WalRepair, Kind::Ready]
        );
    }

    #[test]
    fn config_errors_at_startup_and_on_reload() {
        for text in [
            fixture!("v2.42-startup-config-error.log"),
            fixture!("v2.42-startup-config-error-json.log"),
            fixture!("v3-startup-config-error-json.log"),
        ] {
            let hit = find_last(text, Kind::StartupConfigError).unwrap();
            assert!(
                hit.detail
                    .unwrap()
                    .contains("field scarpe_interval not found")
            );
        }
        assert_eq!(
            kinds(fixture!("v2.42-reload-failed-then-ok.log")),
            vec![
                Kind::ConfigLoaded,
                Kind::Ready,
                Kind::ReloadFailed,
                Kind::ConfigLoaded
            ]
        );
        let v3 = find_last(fixture!("v3-reload-failed.log"), Kind::ReloadFailed).unwrap();
        assert!(
            v3.detail
                .unwrap()
                .starts_with("couldn't load configuration")
        );
    }

    #[test]
    fn sidecar_answers_are_told_apart_by_status() {
        let status = |text: &str| {
            find_last(text, Kind::SidecarReloadRejected)
                .unwrap()
                .status
                .unwrap()
        };
        assert_eq!(status(fixture!("sidecar-config-reloader-403.log")), 403);
        assert_eq!(status(fixture!("sidecar-config-reloader-500.log")), 500);
        assert_eq!(status(fixture!("sidecar-config-reloader-404.log")), 404);
        assert_eq!(status(fixture!("sidecar-jimmidyson-403.log")), 403);
        assert!(
            kinds(fixture!("sidecar-config-reloader-403.log"))
                .contains(&Kind::SidecarReloadUnreachable)
        );
        assert_eq!(
            kinds(fixture!("sidecar-config-reloader-ok.log")),
            vec![Kind::SidecarReloadOk]
        );
    }

    #[test]
    fn every_status_and_tls_failure_of_the_real_reloaders_is_told_apart() {
        // Lines printed by the real binaries of tools/world/build.sh (prometheus-config-reloader of operator 0.85.0,
        // configmap-reload 0.14.0) against Prometheus 3.16 with basic auth (401), with TLS on (400 to http://), Debian's
        // 2.42 behind a `//-/reload` URL (301 → GET → 405), and an https:// URL to a plain-HTTP port.
        let status =
            |text: &str| find_last(text, Kind::SidecarReloadRejected).and_then(|h| h.status);
        assert_eq!(
            status(fixture!("sidecar-config-reloader-0.85-400.log")),
            Some(400)
        );
        assert_eq!(
            status(fixture!("sidecar-config-reloader-0.85-401.log")),
            Some(401)
        );
        assert_eq!(
            status(fixture!("sidecar-config-reloader-0.85-405.log")),
            Some(405)
        );
        for code in [400, 401, 403, 404, 405] {
            let text = match code {
                400 => fixture!("sidecar-configmap-reload-0.14-400.log"),
                401 => fixture!("sidecar-configmap-reload-0.14-401.log"),
                403 => fixture!("sidecar-configmap-reload-0.14-403.log"),
                404 => fixture!("sidecar-configmap-reload-0.14-404.log"),
                _ => fixture!("sidecar-configmap-reload-0.14-405.log"),
            };
            assert_eq!(status(text), Some(code));
        }
        for tls in [
            fixture!("sidecar-config-reloader-0.85-https-to-http.log"),
            fixture!("sidecar-configmap-reload-0.14-https-to-http.log"),
            fixture!("sidecar-configmap-reload-0.14-tls.log"),
        ] {
            assert_eq!(kinds(tls).last(), Some(&Kind::SidecarReloadTls), "{tls}");
        }
        assert_eq!(
            kinds(fixture!("sidecar-configmap-reload-0.14-refused.log")),
            vec![Kind::SidecarReloadUnreachable]
        );
        assert_eq!(
            kinds(fixture!("sidecar-configmap-reload-0.14-ok.log")),
            vec![Kind::SidecarReloadOk]
        );
    }

    #[test]
    fn ordinary_lines_are_not_findings() {
        let text = r#"ts=2026-11-21T23:16:10.731Z caller=tls_config.go:232 level=info component=web msg="Listening on" address=127.0.0.1:19093
ts=2026-11-21T23:16:23.694Z caller=main.go:1130 level=info msg="See you next time!""#;
        assert!(scan(text).is_empty());
    }

    #[test]
    fn long_lines_are_cut_when_quoted() {
        let line = format!(
            "level=error err=\"{}: no space left on device\"",
            "x".repeat(1000)
        );
        let hit = &scan(&line)[0];
        assert!(hit.quote.chars().count() <= QUOTE_MAX + 1);
    }
}
