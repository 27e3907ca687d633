//! Owns making text that came from the cluster (logs, events, annotations, Prometheus answers, exec output, API error
//! messages) safe to print: every control character a terminal would act on is written as a visible `\u001b` escape.
//!
//! One rule for the whole tool (issue 14 class 10). A container that logs `ESC ] 0 ; title BEL` or `ESC [ 2 J` must
//! not retitle or clear the SRE's terminal while doctor quotes it, and a `\r` must not overwrite the start of a line
//! with something else. The escape is JSON's `\uXXXX` form so that the same function can run over a JSON document
//! without changing what it decodes to (serde_json already writes C0 controls that way; DEL, C1 controls and bidi
//! overrides it writes raw, and those become `\u007f`, `\u009b`, `\u202e`, which decode to the same characters).

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw: C0 controls except newline and tab, DEL, the C1 controls (U+0080 to
/// U+009F: U+009B is a one-character CSI to some terminals), and the Unicode bidi overrides and isolates that
/// reorder what is displayed (the "Trojan Source" characters, CVE-2021-42574).
pub fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Append `c` to `out`, as the `\uXXXX` escape when [`needs_escape`] says so.
pub fn push_escaped(out: &mut String, c: char) {
    if needs_escape(c) {
        out.push_str(&format!("\\u{:04x}", c as u32));
    } else {
        out.push(c);
    }
}

/// `text` with every character a terminal would act on escaped (newlines and tabs kept). Borrowed when nothing
/// needed escaping, which is the common case.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`escape`], except for the colour sequences this tool paints itself (`ESC [ digits/semicolons m`, SGR), which are
/// kept. Only the printer uses it, and only while colour is on; SGR changes colour and weight, never the title, the
/// screen, the cursor position or the clipboard. Text quoted from the cluster into coloured output is escaped
/// with [`escape`] before it is painted (doctor's report, plan diffs), so this is a second line only.
pub fn escape_keeping_colour(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(len) = sgr_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        push_escaped(&mut out, c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of the SGR sequence at the start of `text` (`\x1b[1;31m`), if there is one.
fn sgr_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\u{1b}[")?;
    let params = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_are_made_visible() {
        // A title change (OSC 0 … BEL), clear screen and home (CSI 2J, CSI H), a carriage return that would overwrite
        // the line, a one-character C1 CSI, DEL and a right-to-left override.
        let hostile = "a\u{1b}]0;pwned\u{7}b\u{1b}[2J\u{1b}[Hc\rd\u{9b}31me\u{7f}f\u{202e}g";
        let safe = escape(hostile);
        assert_eq!(
            safe,
            "a\\u001b]0;pwned\\u0007b\\u001b[2J\\u001b[Hc\\u000dd\\u009b31me\\u007ff\\u202eg"
        );
        assert!(!safe.chars().any(needs_escape));
    }

    #[test]
    fn plain_text_newlines_and_tabs_pass_unchanged() {
        let text = "level=error msg=\"x\"\n\tline 2 — ünïcode ✓";
        assert!(matches!(escape(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn json_stays_the_same_json() {
        let value = serde_json::json!({"log": "x\u{1b}[2Jy\u{7f}\u{9b}z\u{202e}", "n": 1});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let escaped = escape(&text);
        assert!(!escaped.chars().any(needs_escape));
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn our_colours_survive_only_in_the_colour_variant() {
        let painted = "\u{1b}[1;31mCRITICAL\u{1b}[0m title \u{1b}]0;t\u{7} \u{1b}[2J";
        assert_eq!(
            escape_keeping_colour(painted),
            "\u{1b}[1;31mCRITICAL\u{1b}[0m title \\u001b]0;t\\u0007 \\u001b[2J"
        );
        assert_eq!(
            escape(painted),
            "\\u001b[1;31mCRITICAL\\u001b[0m title \\u001b]0;t\\u0007 \\u001b[2J"
        );
        // A lone ESC at the end, or an unterminated CSI, is escaped.
        assert_eq!(escape_keeping_colour("x\u{1b}"), "x\\u001b");
        assert_eq!(escape_keeping_colour("\u{1b}[12"), "\\u001b[12");
    }
}
