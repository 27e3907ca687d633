//! YAML reading and writing for the whole crate, with serde-saphyr (the parser kube itself uses; serde_yaml is
//! archived): one set of serializer options, and error sentences that never quote the text they failed on.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// YAML of a value, as plans and Helm values are shown: block style, strings never folded (a long value stays on one
/// line, as serde_yaml printed it and as a diff needs it), multi-line strings as `|` blocks.
pub fn to_string<T: Serialize>(value: &T) -> String {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    serde_saphyr::to_string_with_options(value, options).unwrap_or_default()
}

/// One YAML document.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, SyntaxError> {
    serde_saphyr::from_str(text).map_err(SyntaxError::from)
}

/// Every document of a multi-document text, empty ones included (as `null`).
pub fn documents<T: DeserializeOwned>(text: &str) -> Result<Vec<T>, SyntaxError> {
    serde_saphyr::from_multiple(text).map_err(SyntaxError::from)
}

/// A YAML error as a line number and the parser's sentence, without the snippet of the offending text (a kubeconfig
/// line holds a token, a Prometheus config line a password) and with quoted values left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based, when the parser knows it.
    pub line: Option<usize>,
    pub message: String,
}

impl From<serde_saphyr::Error> for SyntaxError {
    fn from(err: serde_saphyr::Error) -> Self {
        SyntaxError::from(&err)
    }
}

impl From<&serde_saphyr::Error> for SyntaxError {
    fn from(err: &serde_saphyr::Error) -> Self {
        let line = err.location().map(|l| l.line() as usize).filter(|l| *l > 0);
        let plain = err.without_snippet().to_string();
        let first = plain.lines().next().unwrap_or_default();
        // The location is ours to print; the parser's own " at line N column M" suffix is dropped.
        let first = first.split(" at line ").next().unwrap_or(first);
        SyntaxError {
            line,
            message: redact_quoted(first.trim()),
        }
    }
}

impl std::fmt::Display for SyntaxError {
    /// `yaml: line 5: mapping values are not allowed in this context`, the shape kubectl prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "yaml: line {line}: {}", self.message),
            None => write!(f, "yaml: {}", self.message),
        }
    }
}

/// `invalid type: string "s3cr3t", expected a map` → `invalid type: string "…", expected a map`: serde's messages
/// quote the value they could not use, and that value may be a credential.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '"' || c == '`' {
                    quote = Some(c);
                }
            }
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn long_strings_stay_on_one_line_and_round_trip() {
        let long = "x".repeat(120);
        let v = json!({"a": long, "b": "true", "c": "line1\nline2\n", "d": [1, {"e": null}]});
        let text = to_string(&v);
        assert!(text.contains(&format!("a: {long}\n")), "{text}");
        assert!(text.contains("c: |\n  line1\n  line2\n"), "{text}");
        let back: Value = from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn errors_name_the_line_and_never_the_text() {
        let err =
            from_str::<Value>("users:\n- name: u\n  user:\n    token: s3cr3t: more\n").unwrap_err();
        assert_eq!(err.line, Some(4), "{err:?}");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(err.to_string().starts_with("yaml: line 4: "), "{err}");
        let err = from_str::<std::collections::BTreeMap<String, u32>>("a: s3cr3t\n").unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn documents_keep_empty_ones_as_null() {
        let docs: Vec<Value> = documents("a: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.iter().filter(|d| !d.is_null()).count(), 2);
    }
}
