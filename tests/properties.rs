//! Property tests (issue 9) over the pure code that reads what the outside world hands us: the quantity parser and
//! its arithmetic, the log classifier (binary and huge lines), and the parsers of exec, kubelet and Prometheus
//! answers (non-UTF-8 bytes, garbage). Each property is a promise: no panic, bounded output, and answers that agree
//! with a model. Complements the owners' unit properties in src/quantity.rs (round trip, order, --increase rounding).
//! The same inputs are fuzzed without bound by `fuzz/` (see fuzz/run.sh).

use kubectl_prom::logscan::{self, Kind, QUOTE_MAX};
use kubectl_prom::quantity::{Percent, Quantity};
use proptest::prelude::*;

/// Bytes as exec and logs deliver them to us: the kube client reads them lossily (podexec.rs), so do we.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Quantity-shaped text: sign, digits, optional fraction/exponent, a real or near-real suffix, stray bytes.
fn quantity_text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "+", "-", " "]),
        // Up to 36 integer digits: beyond ~1e29 bytes a fractional value formats as 39 digits of `n`, which parse
        // used to refuse as too large (e.g. `100000000000000000000000000000000000.1u`); it parses back now.
        "[0-9]{0,36}",
        prop::option::of("\\.[0-9]{0,12}"),
        prop::sample::select(vec![
            "", "n", "u", "m", "k", "K", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi",
            "Ei", "e", "e3", "E18", "e-3", "e999", "Gb", "GiB", "gi", "i", "MiMi", " Gi", "Gi ",
        ]),
    )
        .prop_map(|(sign, int, frac, suffix)| {
            format!("{sign}{int}{}{suffix}", frac.unwrap_or_default())
        })
}

const GI: i128 = 1 << 30;

/// Enough cases to find the edge cases above in CI time; failures are reported, not persisted to a file.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Whatever the text, parse answers Ok or an error (with a message); an Ok value survives format → parse unchanged.
    #[test]
    fn quantity_parse_is_total_and_its_values_round_trip(text in quantity_text()) {
        match Quantity::parse(&text) {
            Ok(q) => {
                // NB: negative quantities are valid Kubernetes quantities; refusing them as sizes is resize's job
                // (tests/safety_e2e.rs checks `--size=-5Gi`).
                let again = Quantity::parse(&q.to_string());
                prop_assert_eq!(again.as_ref().ok(), Some(&q), "{} did not round trip via {}", text, q);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// Arbitrary bytes (binary, control characters, invalid UTF-8 read lossily) never panic the parsers.
    #[test]
    fn quantity_and_percent_parsers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let text = lossy(&bytes);
        let _ = Quantity::parse(&text);
        let _ = Percent::parse(&text);
    }

    /// Addition is exact, commutative and associative while it fits, and overflow is an answer (None), not a panic.
    #[test]
    fn quantity_addition_is_exact_commutative_associative(a in 0i128..1 << 62, b in 0i128..1 << 62, c in 0i128..1 << 62) {
        let q = |n: i128| Quantity::from_bytes(n).expect("in range");
        let (qa, qb, qc) = (q(a), q(b), q(c));
        let ab = qa.checked_add(&qb);
        prop_assert_eq!(ab.as_ref().map(Quantity::bytes), Some(a + b));
        prop_assert_eq!(ab.as_ref().map(Quantity::bytes), qb.checked_add(&qa).as_ref().map(Quantity::bytes));
        let left = ab.and_then(|x| x.checked_add(&qc)).map(|x| x.bytes());
        let right = qb.checked_add(&qc).and_then(|x| qa.checked_add(&x)).map(|x| x.bytes());
        prop_assert_eq!(left, right);
        prop_assert!(qa.checked_add(&qb).is_none_or(|s| s >= qa && s >= qb), "a sum smaller than a term");
    }

    /// Near the top of the range (i128 nanos), addition says None instead of wrapping round to a negative size.
    #[test]
    fn quantity_addition_never_wraps(below_max in 0i128..1 << 40, x in 1i128..1 << 50) {
        let top_bytes = i128::MAX / 1_000_000_000 - below_max;
        let top = Quantity::from_bytes(top_bytes).expect("the largest representable size");
        let small = Quantity::from_bytes(x).expect("in range");
        match top.checked_add(&small) {
            Some(sum) => prop_assert_eq!(sum.bytes(), top_bytes + x),
            None => prop_assert!(top_bytes.checked_mul(1_000_000_000).and_then(|n| n.checked_add(x * 1_000_000_000)).is_none()),
        }
        prop_assert!(Quantity::from_bytes(i128::MAX / 1_000_000_000 + 1).is_none());
    }

    /// --increase never shrinks and never panics, whatever percentage text it is given.
    #[test]
    fn increase_never_shrinks(gi in 1i128..1_000_000, pct in "[0-9]{1,12}(\\.[0-9]{1,6})?%?") {
        let base = Quantity::from_bytes(gi * GI).expect("in range");
        if let Ok(p) = Percent::parse(&pct)
            && let Ok(grown) = base.increase_by_percent(&p)
        {
            prop_assert!(grown >= base, "{pct} shrank {base} to {grown}");
        }
    }

    /// Binary and arbitrary log text: scan never panics, every hit points at a real line and quotes it bounded.
    #[test]
    fn log_scan_of_arbitrary_bytes_is_total_and_bounded(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let text = lossy(&bytes);
        let lines = text.lines().count();
        for hit in logscan::scan(&text) {
            prop_assert!(hit.line_no >= 1 && hit.line_no <= lines);
            prop_assert!(hit.quote.chars().count() <= QUOTE_MAX + 1);
        }
        for line in text.lines() {
            let _ = logscan::classify(line);
            let _ = logscan::parse(line);
        }
    }

}

proptest! {
    // Each case scans a 256 KiB line: fewer cases.
    #![proptest_config(config(64))]

    /// A real problem line is still found, at its own line number, among binary junk and a huge line.
    #[test]
    fn a_disk_full_line_is_found_among_junk(
        before in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20),
        after in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20),
    ) {
        // Prometheus 2.42's own line (prometheus-facts.md §2).
        const FULL: &str = r#"ts=2026-11-21T10:00:00.000Z caller=main.go:1090 level=error err="opening storage failed: zero-pad torn page: write /data/wal/00045436: no space left on device""#;
        let junk = |v: &Vec<Vec<u8>>| v.iter().map(|b| lossy(b).replace(['\n', '\r'], " ").replace("no space", "no-space")).collect::<Vec<_>>();
        let mut lines = junk(&before);
        lines.push("x".repeat(256 * 1024));
        let at = lines.len() + 1;
        lines.push(FULL.to_string());
        lines.extend(junk(&after));
        let text = lines.join("\n");
        let hit = logscan::find_last(&text, Kind::DiskFull);
        prop_assert!(hit.is_some(), "the disk-full line was missed");
        let hit = hit.unwrap_or_else(|| unreachable!());
        prop_assert_eq!(hit.line_no, at);
        prop_assert_eq!(hit.path.as_deref(), Some("/data/wal/00045436"));
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Non-UTF-8 and garbage answers from exec (`df -k`, `stat`), the kubelet's stats and Prometheus (`/metrics`,
    /// `wget -S`, versions) are parsed to None/Err, never a panic.
    #[test]
    fn exec_kubelet_and_prometheus_answers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = lossy(&bytes);
        let _ = kubectl_prom::inspect::usage::parse_df_k(&text);
        let _ = kubectl_prom::inspect::perms::parse_stat(&text);
        let _ = kubectl_prom::inspect::usage::parse_stats_summary(&text);
        let _ = kubectl_prom::prom_http::parse_wget_status(&text);
        let _ = kubectl_prom::prom_http::parse_metric(&text, "prometheus_config_last_reload_successful");
        let _ = kubectl_prom::doctor::snapshot::parse_version(&text);
        let _ = kubectl_prom::promconfig::check(&text);
    }

    /// `df -k` with numbers of any size: a usage or None, never an overflow panic.
    #[test]
    fn df_with_any_numbers_never_panics(a in any::<u64>(), b in any::<u64>(), c in any::<u64>()) {
        let text = format!("Filesystem 1K-blocks Used Available Use% Mounted on\ntmpfs {a} {b} {c} 1% /prometheus\n");
        let u = kubectl_prom::inspect::usage::parse_df_k(&text);
        prop_assert!(u.is_some(), "three numbers are a usage");
        let u = u.unwrap_or_else(|| unreachable!());
        // Saturating, not wrapping: a wrapped product would read as a nearly empty volume.
        prop_assert_eq!(
            (u.capacity_bytes, u.used_bytes, u.available_bytes),
            (a.saturating_mul(1024), b.saturating_mul(1024), c.saturating_mul(1024))
        );
    }

    /// A size rounded for a volume (issue 15) is the same byte count, never smaller, less than one byte larger, in
    /// a form without milli/micro/nano suffixes, and it round-trips.
    #[test]
    fn whole_bytes_round_up_by_less_than_a_byte(text in quantity_text()) {
        if let Ok(q) = Quantity::parse_size(&text) {
            let w = q.whole_bytes();
            prop_assert_eq!(w.bytes(), q.bytes());
            prop_assert!(w >= q);
            prop_assert!(w.is_whole_bytes());
            let shown = w.to_string();
            prop_assert!(!shown.ends_with(['m', 'u', 'n']), "{} shows as {}", text, shown);
            prop_assert_eq!(Quantity::parse(&shown).ok(), Some(w));
            prop_assert!(q.bytes() <= kubectl_prom::quantity::MAX_BYTES);
        }
    }

    /// Whatever a container logs or Prometheus answers, escaped text carries no character a terminal acts on, and a
    /// JSON document escaped the same way decodes to the same value (issue 14 class 10).
    #[test]
    fn escaped_text_is_inert_and_json_survives(bytes in prop::collection::vec(any::<u8>(), 0..256), chars in r"\PC{0,20}[\x{0}-\x{9f}\x{202a}-\x{202e}\x{2066}-\x{2069}]{0,20}") {
        use kubectl_prom::escape::{escape, needs_escape};
        for text in [lossy(&bytes), chars] {
            let safe = escape(&text);
            prop_assert!(!safe.chars().any(needs_escape), "{:?}", safe);
            let doc = serde_json::json!({"log": text});
            let json = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let back: serde_json::Value = serde_json::from_str(&escape(&json)).unwrap_or_default();
            prop_assert_eq!(back, doc);
        }
    }

    /// Targets and durations typed by a person: a value or a usage error, never a panic.
    #[test]
    fn targets_and_durations_never_panic(text in "\\PC{0,40}") {
        let _ = kubectl_prom::discover::parse_target(&text);
        let _ = kubectl_prom::context::parse_duration(&text);
    }
}

/// A log of one megabyte-long line and 100,000 short lines is scanned in well under the 15 s doctor gives a pod
/// (the classifier is linear, so an attacker-sized log cannot stall `doctor`).
#[test]
fn huge_logs_are_scanned_in_bounded_time() {
    let mut text = "\u{0}\u{1}binary\u{fffd}".repeat(100_000);
    text.push('\n');
    for i in 0..100_000 {
        text.push_str(&format!(
            "ts=2026-11-21T10:00:00.000Z caller=main.go:1 level=info msg=\"line {i}\"\n"
        ));
    }
    let started = std::time::Instant::now();
    let hits = logscan::scan(&text);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "scan took {:?}",
        started.elapsed()
    );
    assert!(
        hits.is_empty(),
        "info lines are not problems: {:?}",
        hits.first()
    );
}
