//! Just enough of Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`: the `k8s\0` magic, a
//! runtime.Unknown envelope, generated.proto field numbers) to read what kubectl's typed clients send as protobuf:
//! SelfSubjectAccessReview (`kubectl auth can-i`), Namespace, ConfigMap and Secret (`kubectl create
//! namespace|configmap|secret`). Other kinds answer 415, so the client's author sees why.
use crate::status::{ApiError, ApiResult};
use serde_json::{Map, Value, json};

fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i)?;
        *i += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Fields of one message: (field number, bytes) for length-delimited fields, varints as their decimal string bytes.
fn fields(b: &[u8]) -> Option<Vec<(u64, Vec<u8>)>> {
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        let (num, wire) = (key >> 3, key & 7);
        match wire {
            0 => out.push((num, varint(b, &mut i)?.to_string().into_bytes())),
            2 => {
                let len = varint(b, &mut i)? as usize;
                out.push((num, b.get(i..i + len)?.to_vec()));
                i += len;
            }
            1 => i += 8,
            5 => i += 4,
            _ => return None,
        }
    }
    Some(out)
}

fn strings(b: &[u8], names: &[(u64, &str)]) -> Option<Map<String, Value>> {
    let mut m = Map::new();
    for (n, v) in fields(b)? {
        if let Some((_, name)) = names.iter().find(|(num, _)| *num == n) {
            m.insert(name.to_string(), json!(String::from_utf8_lossy(&v)));
        }
    }
    Some(m)
}

/// Decode a protobuf request body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let unsupported = |what: &str| {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - kube-sim reads protobuf only for SelfSubjectAccessReview, Namespace, ConfigMap and Secret ({what}); send application/json"
            ),
        )
    };
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or_else(|| unsupported("no k8s protobuf magic"))?;
    let envelope = fields(rest).ok_or_else(|| unsupported("malformed envelope"))?;
    let type_meta = envelope
        .iter()
        .find(|(n, _)| *n == 1)
        .and_then(|(_, b)| strings(b, &[(1, "apiVersion"), (2, "kind")]))
        .unwrap_or_default();
    let raw = envelope
        .iter()
        .find(|(n, _)| *n == 2)
        .map(|(_, b)| b.clone())
        .unwrap_or_default();
    let kind = type_meta
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or_default()
        .to_string();
    let api_version = type_meta
        .get("apiVersion")
        .and_then(|k| k.as_str())
        .unwrap_or("v1")
        .to_string();
    if let Some(mut obj) = decode_simple_kind(&kind, &raw) {
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(kind);
        return Ok(obj);
    }
    if kind != "SelfSubjectAccessReview" {
        return Err(unsupported(&kind));
    }
    let mut spec = Map::new();
    for (n, b) in fields(&raw).ok_or_else(|| unsupported("malformed object"))? {
        if n != 2 {
            continue;
        }
        for (sn, sb) in fields(&b).unwrap_or_default() {
            match sn {
                1 => {
                    let ra = strings(
                        &sb,
                        &[
                            (1, "namespace"),
                            (2, "verb"),
                            (3, "group"),
                            (4, "version"),
                            (5, "resource"),
                            (6, "subresource"),
                            (7, "name"),
                        ],
                    )
                    .unwrap_or_default();
                    spec.insert("resourceAttributes".into(), Value::Object(ra));
                }
                2 => {
                    let na = strings(&sb, &[(1, "path"), (2, "verb")]).unwrap_or_default();
                    spec.insert("nonResourceAttributes".into(), Value::Object(na));
                }
                _ => {}
            }
        }
    }
    Ok(
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "metadata": {}, "spec": spec}),
    )
}

/// `map<string,string>` (or bytes, base64-encoded as JSON carries them) from its repeated entries.
fn map_entries(entries: &[Vec<u8>], bytes_values: bool) -> Value {
    use base64::Engine;
    let mut m = Map::new();
    for e in entries {
        let f = fields(e).unwrap_or_default();
        let key = f
            .iter()
            .find(|(n, _)| *n == 1)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        let val = f
            .iter()
            .find(|(n, _)| *n == 2)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let v = if bytes_values {
            base64::engine::general_purpose::STANDARD.encode(&val)
        } else {
            String::from_utf8_lossy(&val).into_owned()
        };
        m.insert(key, json!(v));
    }
    Value::Object(m)
}

/// ObjectMeta (k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto): the fields a client sets on create.
fn object_meta(b: &[u8]) -> Value {
    let f = fields(b).unwrap_or_default();
    let mut m = Map::new();
    let mut labels = vec![];
    let mut annotations = vec![];
    let mut finalizers = vec![];
    for (n, v) in f {
        let s = || json!(String::from_utf8_lossy(&v));
        match n {
            1 => drop(m.insert("name".into(), s())),
            2 => drop(m.insert("generateName".into(), s())),
            3 => drop(m.insert("namespace".into(), s())),
            6 => drop(m.insert("resourceVersion".into(), s())),
            11 => labels.push(v),
            12 => annotations.push(v),
            14 => finalizers.push(json!(String::from_utf8_lossy(&v))),
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), map_entries(&labels, false));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), map_entries(&annotations, false));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), json!(finalizers));
    }
    Value::Object(m)
}

/// Namespace, ConfigMap and Secret (k8s.io/api/core/v1/generated.proto field numbers).
fn decode_simple_kind(kind: &str, raw: &[u8]) -> Option<Value> {
    let f = fields(raw)?;
    let all = |num: u64| -> Vec<Vec<u8>> {
        f.iter()
            .filter(|(n, _)| *n == num)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let one =
        |num: u64| -> Option<Vec<u8>> { f.iter().find(|(n, _)| *n == num).map(|(_, v)| v.clone()) };
    let mut obj = json!({"metadata": one(1).map(|m| object_meta(&m)).unwrap_or(json!({}))});
    match kind {
        "Namespace" => {
            let fins: Vec<Value> = one(2)
                .and_then(|s| fields(&s))
                .unwrap_or_default()
                .into_iter()
                .filter(|(n, _)| *n == 1)
                .map(|(_, v)| json!(String::from_utf8_lossy(&v)))
                .collect();
            if !fins.is_empty() {
                obj["spec"] = json!({"finalizers": fins});
            }
        }
        "ConfigMap" => {
            let (data, binary) = (all(2), all(3));
            if !data.is_empty() {
                obj["data"] = map_entries(&data, false);
            }
            if !binary.is_empty() {
                obj["binaryData"] = map_entries(&binary, true);
            }
            if let Some(b) = one(4) {
                obj["immutable"] = json!(b == b"1");
            }
        }
        "Secret" => {
            let data = all(2);
            if !data.is_empty() {
                obj["data"] = map_entries(&data, true);
            }
            if let Some(t) = one(3) {
                obj["type"] = json!(String::from_utf8_lossy(&t));
            }
            let string_data = all(4);
            if !string_data.is_empty() {
                obj["stringData"] = map_entries(&string_data, false);
            }
        }
        _ => return None,
    }
    Some(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(num: u64, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![((num << 3) | 2) as u8, bytes.len() as u8];
        v.extend_from_slice(bytes);
        v
    }

    #[test]
    fn decodes_a_config_map_with_labels_and_data() {
        let meta = [
            ld(1, b"x"),
            ld(3, b"obs"),
            ld(11, &[ld(1, b"app"), ld(2, b"p")].concat()),
        ]
        .concat();
        let cm = [ld(1, &meta), ld(2, &[ld(1, b"a"), ld(2, b"b")].concat())].concat();
        let body = [
            b"k8s\0".to_vec(),
            ld(1, &[ld(1, b"v1"), ld(2, b"ConfigMap")].concat()),
            ld(2, &cm),
        ]
        .concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "obs", "labels": {"app": "p"}}, "data": {"a": "b"}})
        );
    }

    #[test]
    fn decodes_a_self_subject_access_review() {
        let attrs = [
            ld(1, b"monitoring"),
            ld(2, b"patch"),
            ld(5, b"persistentvolumeclaims"),
        ]
        .concat();
        let spec = ld(1, &attrs);
        let obj = [ld(1, b""), ld(2, &spec)].concat();
        let type_meta = [
            ld(1, b"authorization.k8s.io/v1"),
            ld(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let body = [b"k8s\0".to_vec(), ld(1, &type_meta), ld(2, &obj)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v["spec"]["resourceAttributes"],
            json!({"namespace": "monitoring", "verb": "patch", "resource": "persistentvolumeclaims"})
        );
        let other = [
            b"k8s\0".to_vec(),
            ld(1, &[ld(1, b"v1"), ld(2, b"Pod")].concat()),
        ]
        .concat();
        assert_eq!(decode(&other).unwrap_err().code, 415);
    }
}
