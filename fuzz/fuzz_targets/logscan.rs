//! Fuzz target: the log classifier on any bytes (read lossily, as logs reach us). The promises: no panic; every hit
//! names a real line and quotes it within QUOTE_MAX characters (plus the ellipsis).
#![no_main]

use kubectl_prom::logscan::{self, QUOTE_MAX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    for hit in logscan::scan(&text) {
        assert!(
            hit.line_no >= 1 && hit.line_no <= lines,
            "hit on line {} of {lines}",
            hit.line_no
        );
        assert!(hit.quote.chars().count() <= QUOTE_MAX + 1);
    }
    for line in text.lines() {
        let _ = logscan::classify(line);
        let _ = logscan::parse(line);
    }
});
