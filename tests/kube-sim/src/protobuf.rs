//! Just enough of Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`: the `k8s\0` magic, a
//! runtime.Unknown envelope, generated.proto field numbers) to read what kubectl's typed clients send as protobuf:
//! SelfSubjectAccessReview (`kubectl auth can-i`). Other kinds answer 415, so the client's author sees why.
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
                "the body of the request was in an unknown format - kube-sim reads protobuf only for SelfSubjectAccessReview ({what}); send application/json"
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(num: u64, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![((num << 3) | 2) as u8, bytes.len() as u8];
        v.extend_from_slice(bytes);
        v
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
