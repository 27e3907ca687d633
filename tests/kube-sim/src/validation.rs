//! Server-side field validation (`fieldValidation=Strict|Warn|Ignore`): unknown fields are found by decoding the
//! object into its k8s-openapi type and comparing the keys that survive the round trip with those sent (the typed
//! decoders ignore unknown fields, so what disappears is unknown). Custom resources are checked against nothing
//! here (their CRD schemas are not evaluated) — a documented gap.
use crate::registry::ResourceType;
use crate::status::{ApiError, ApiResult};
use serde_json::Value;

/// The object after a decode/encode through its typed form; None for kinds without a typed model.
pub fn typed_roundtrip(kind: &str, obj: &Value) -> Option<Result<Value, String>> {
    crate::dispatch_kind!(kind, |T| serde_json::from_value::<T>(obj.clone())
        .map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
        .map_err(|e| e.to_string()))
}

/// Paths (`spec.template.spec.containers[0].foo`) present in `sent` but not in `kept`.
fn unknown_paths(sent: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    match (sent, kept) {
        (Value::Object(s), Value::Object(k)) => {
            for (key, v) in s {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match k.get(key) {
                    None if !v.is_null() => out.push(p),
                    Some(kv) => unknown_paths(v, kv, &p, out),
                    None => {}
                }
            }
        }
        (Value::Array(s), Value::Array(k)) => {
            for (i, (sv, kv)) in s.iter().zip(k.iter()).enumerate() {
                unknown_paths(sv, kv, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Fails with the API server's strict decoding error when `mode` is Strict and the object has unknown fields.
pub fn check_fields(rt: &ResourceType, obj: &Value, mode: Option<&str>) -> ApiResult<()> {
    let kind = obj["kind"].as_str().unwrap_or(&rt.kind);
    let Some(rt_result) = typed_roundtrip(kind, obj) else {
        return Ok(());
    };
    let kept = rt_result.map_err(|e| {
        ApiError::bad_request(format!(
            "{kind} in version \"{}\" cannot be handled as a {kind}: {e}",
            rt.version
        ))
    })?;
    if mode != Some("Strict") {
        return Ok(());
    }
    let mut unknown = vec![];
    unknown_paths(obj, &kept, "", &mut unknown);
    if unknown.is_empty() {
        return Ok(());
    }
    let list = unknown
        .iter()
        .map(|p| format!("unknown field \"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ApiError::bad_request(format!(
        "{kind} in version \"{}\" cannot be handled as a {kind}: strict decoding error: {list}",
        rt.version
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_validation_names_unknown_fields() {
        let rt = crate::registry::builtins()
            .into_iter()
            .find(|r| r.kind == "Deployment")
            .unwrap();
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "b"}},
            "spec": {"replicas": 1, "replicaz": 2, "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": "Always", "foo": 1}]}}}});
        let e = check_fields(&rt, &d, Some("Strict")).unwrap_err();
        assert_eq!(
            e.message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replicaz\", unknown field \"spec.template.spec.containers[0].foo\""
        );
        assert!(check_fields(&rt, &d, Some("Ignore")).is_ok());
    }

    #[test]
    fn known_fields_pass_strict_validation() {
        let rt = crate::registry::builtins()
            .into_iter()
            .find(|r| r.kind == "PersistentVolumeClaim")
            .unwrap();
        let p = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "p", "annotations": {"x": "y"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": null}});
        assert!(check_fields(&rt, &p, Some("Strict")).is_ok());
    }
}
