//! Results on stdout: human text, or one stable JSON document per run (`-o json`) that carries `apiVersion` and
//! `kind` so its schema can evolve. Commands build a Serialize value and a human rendering; this decides which.

use crate::cli::OutputFormat;
use crate::error::{Error, Result};
use crate::ui::Printer;
use serde::Serialize;
use serde_json::{Map, Value};

/// The `apiVersion` of every JSON document we print.
pub const API_VERSION: &str = "kubectl-prom/v1";

/// The JSON document for a result: `{"apiVersion": "kubectl-prom/v1", "kind": KIND, …fields of value}`. A value that
/// is not an object goes under `items`.
pub fn json_document<T: Serialize>(kind: &str, value: &T) -> Result<Value> {
    let value = serde_json::to_value(value).map_err(|e| Error::Io {
        action: format!("render the {kind} result as JSON"),
        source: std::io::Error::other(e),
    })?;
    let mut doc = Map::new();
    doc.insert("apiVersion".into(), Value::String(API_VERSION.into()));
    doc.insert("kind".into(), Value::String(kind.into()));
    match value {
        Value::Object(fields) => doc.extend(fields),
        other => {
            doc.insert("items".into(), other);
        }
    }
    Ok(Value::Object(doc))
}

/// Print a result on stdout in the chosen format.
pub fn emit<T: Serialize>(
    printer: &Printer,
    format: OutputFormat,
    kind: &str,
    value: &T,
    human: impl FnOnce() -> String,
) -> Result<()> {
    match format {
        OutputFormat::Human => printer.result(&human()),
        OutputFormat::Json => {
            let doc = json_document(kind, value)?;
            printer.result(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_documents_carry_version_and_kind() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Outcome {
            pod_count: u32,
        }
        let doc = json_document("ReloadResult", &Outcome { pod_count: 2 }).unwrap();
        assert_eq!(
            doc,
            json!({"apiVersion": "kubectl-prom/v1", "kind": "ReloadResult", "podCount": 2})
        );
        let list = json_document("List", &vec![1, 2]).unwrap();
        assert_eq!(list["items"], json!([1, 2]));
    }
}
