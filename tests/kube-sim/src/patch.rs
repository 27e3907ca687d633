//! Patch formats: JSON merge patch (RFC 7386), strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch)
//! with the list merge keys of the Kubernetes types for the fields kubectl and kubectl-prom touch, and JSON patch
//! (RFC 6902). Server-side apply is not modelled: it answers 415 as a server without it would.
use crate::status::{ApiError, ApiResult};
use serde_json::{Map, Value};

pub fn apply(content_type: &str, original: &Value, body: &[u8], kind: &str) -> ApiResult<Value> {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let parse = || crate::rest::parse_body(body);
    match ct {
        "application/merge-patch+json" => Ok(merge_patch(original, &parse()?)),
        "application/strategic-merge-patch+json" => {
            if !is_builtin_kind(kind) {
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                ));
            }
            strategic_merge(original, &parse()?, kind)
        }
        "application/json-patch+json" => json_patch(original, &parse()?),
        _ => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (kube-sim does not model server-side apply; got {ct:?})"
            ),
        )),
    }
}

fn is_builtin_kind(kind: &str) -> bool {
    crate::registry::builtins().iter().any(|r| r.kind == kind) || kind == "Scale"
}

/// RFC 7386.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(p) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(t) => t.clone(),
        _ => Map::new(),
    };
    for (k, v) in p {
        if v.is_null() {
            out.remove(k);
        } else {
            let merged = merge_patch(out.get(k).unwrap_or(&Value::Null), v);
            out.insert(k.clone(), merged);
        }
    }
    Value::Object(out)
}

/// The `patchMergeKey` of a list field (from the Go struct tags of k8s.io/api), by field name and the path to it.
/// None = the list is replaced as a whole (atomic).
fn merge_key(field: &str, path: &[String], kind: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" if kind == "Service" && path.len() == 1 => "port",
        "ports" => "containerPort",
        "conditions" => "type",
        "addresses" if kind == "Node" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "readinessGates" => "conditionType",
        _ => return None,
    })
}

/// Primitive lists with `patchStrategy:"merge"` (union instead of replace).
fn is_merged_primitive_list(field: &str) -> bool {
    field == "finalizers"
}

pub fn strategic_merge(original: &Value, patch: &Value, kind: &str) -> ApiResult<Value> {
    let mut out = original.clone();
    merge_map(&mut out, patch, &mut vec![], kind)?;
    Ok(out)
}

fn merge_map(
    target: &mut Value,
    patch: &Value,
    path: &mut Vec<String>,
    kind: &str,
) -> ApiResult<()> {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    match p.get("$patch").and_then(|v| v.as_str()) {
        Some("replace") => {
            let mut m = p.clone();
            m.remove("$patch");
            *target = Value::Object(m);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Null;
            return Ok(());
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let mut orders: Vec<(String, Vec<Value>)> = vec![];
    for (k, v) in p {
        if k == "$patch" || k == "$retainKeys" {
            continue;
        }
        if let Some(field) = k.strip_prefix("$setElementOrder/") {
            orders.push((field.to_string(), v.as_array().cloned().unwrap_or_default()));
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            let remove = v.as_array().cloned().unwrap_or_default();
            if let Some(list) = target.get_mut(field).and_then(|l| l.as_array_mut()) {
                list.retain(|x| !remove.contains(x));
            }
            continue;
        }
        let Some(t) = target.as_object_mut() else {
            continue;
        };
        if v.is_null() {
            t.remove(k);
            continue;
        }
        path.push(k.clone());
        match v {
            Value::Object(_) => {
                let entry = t.entry(k.clone()).or_insert(Value::Null);
                merge_map(entry, v, path, kind)?;
                if entry.is_null() {
                    t.remove(k);
                }
            }
            Value::Array(items) => {
                let field_path = &path[..path.len() - 1];
                if let Some(mk) = merge_key(k, field_path, kind) {
                    let entry = t.entry(k.clone()).or_insert(Value::Array(vec![]));
                    merge_list(entry, items, mk, path, kind)?;
                } else if is_merged_primitive_list(k) {
                    let entry = t.entry(k.clone()).or_insert(Value::Array(vec![]));
                    if let Some(list) = entry.as_array_mut() {
                        for i in items {
                            if !list.contains(i) {
                                list.push(i.clone());
                            }
                        }
                    }
                } else {
                    t.insert(k.clone(), v.clone());
                }
            }
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
        path.pop();
    }
    for (field, order) in orders {
        reorder(target, &field, &order, path, kind);
    }
    Ok(())
}

fn merge_list(
    target: &mut Value,
    items: &[Value],
    key: &str,
    path: &mut Vec<String>,
    kind: &str,
) -> ApiResult<()> {
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(|v| v.as_str()) == Some("replace"))
    {
        *target = Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .cloned()
                .collect(),
        );
        return Ok(());
    }
    if !target.is_array() {
        *target = Value::Array(vec![]);
    }
    let Some(list) = target.as_array_mut() else {
        return Ok(());
    };
    for item in items {
        let Some(kv) = item.get(key) else {
            return Err(ApiError::bad_request(format!(
                "map: {item} does not contain declared merge key: {key}"
            )));
        };
        let pos = list.iter().position(|e| e.get(key) == Some(kv));
        if item.get("$patch").and_then(|v| v.as_str()) == Some("delete") {
            if let Some(i) = pos {
                list.remove(i);
            }
            continue;
        }
        match pos {
            Some(i) => merge_map(&mut list[i], item, path, kind)?,
            None => {
                let mut fresh = Value::Object(Map::new());
                merge_map(&mut fresh, item, path, kind)?;
                list.push(fresh);
            }
        }
    }
    Ok(())
}

/// `$setElementOrder/<field>`: order the merged list as the patch's full list says; others keep their place after.
fn reorder(target: &mut Value, field: &str, order: &[Value], path: &[String], kind: &str) {
    let Some(list) = target.get_mut(field).and_then(|l| l.as_array_mut()) else {
        return;
    };
    let key = merge_key(field, path, kind);
    let ident = |v: &Value| -> Value {
        match key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let mut sorted: Vec<Value> = vec![];
    for o in order {
        let want = ident(o);
        if let Some(i) = list.iter().position(|e| ident(e) == want) {
            sorted.push(list.remove(i));
        }
    }
    sorted.append(list);
    *list = sorted;
}

fn pointer_tokens(p: &str) -> ApiResult<Vec<String>> {
    if p.is_empty() {
        return Ok(vec![]);
    }
    let Some(rest) = p.strip_prefix('/') else {
        return Err(ApiError::bad_request(format!(
            "JSON pointer {p:?} does not start with /"
        )));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn parent_and_last<'a>(
    doc: &'a mut Value,
    tokens: &[String],
) -> ApiResult<(&'a mut Value, String)> {
    let (last, parents) = tokens
        .split_last()
        .ok_or_else(|| ApiError::bad_request("JSON pointer to the whole document"))?;
    let mut cur = doc;
    for t in parents {
        cur = match cur {
            Value::Object(m) => m.get_mut(t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| ApiError::new(422, "Invalid", format!("the server rejected our request due to an error in our request: doc is missing path: {t}")))?;
    }
    Ok((cur, last.clone()))
}

fn get_ptr(doc: &Value, tokens: &[String]) -> Option<Value> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m.get(t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur.clone())
}

fn add(doc: &mut Value, tokens: &[String], value: Value) -> ApiResult<()> {
    if tokens.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = parent_and_last(doc, tokens)?;
    match parent {
        Value::Object(m) => {
            m.insert(last, value);
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>()
                    .map_err(|_| ApiError::bad_request(format!("invalid array index {last}")))?
            };
            if i > a.len() {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    format!("add operation does not apply: index {i} out of bounds"),
                ));
            }
            a.insert(i, value);
        }
        _ => {
            return Err(ApiError::new(
                422,
                "Invalid",
                "add operation does not apply: parent is not a container",
            ));
        }
    }
    Ok(())
}

fn remove(doc: &mut Value, tokens: &[String]) -> ApiResult<Value> {
    let (parent, last) = parent_and_last(doc, tokens)?;
    let missing = || {
        ApiError::new(
            422,
            "Invalid",
            format!(
                "the server rejected our request due to an error in our request: remove operation does not apply: doc is missing path: /{}",
                tokens.join("/")
            ),
        )
    };
    match parent {
        Value::Object(m) => m.remove(&last).ok_or_else(missing),
        Value::Array(a) => {
            let i = last.parse::<usize>().map_err(|_| missing())?;
            if i < a.len() {
                Ok(a.remove(i))
            } else {
                Err(missing())
            }
        }
        _ => Err(missing()),
    }
}

/// RFC 6902.
pub fn json_patch(original: &Value, patch: &Value) -> ApiResult<Value> {
    let ops = patch
        .as_array()
        .ok_or_else(|| ApiError::bad_request("a JSON patch must be a list of operations"))?;
    let mut doc = original.clone();
    for op in ops {
        let path = pointer_tokens(op["path"].as_str().unwrap_or(""))?;
        match op["op"].as_str() {
            Some("add") => add(&mut doc, &path, op["value"].clone())?,
            Some("remove") => {
                remove(&mut doc, &path)?;
            }
            Some("replace") => {
                remove(&mut doc, &path)?;
                add(&mut doc, &path, op["value"].clone())?;
            }
            Some("move") => {
                let from = pointer_tokens(op["from"].as_str().unwrap_or(""))?;
                let v = remove(&mut doc, &from)?;
                add(&mut doc, &path, v)?;
            }
            Some("copy") => {
                let from = pointer_tokens(op["from"].as_str().unwrap_or(""))?;
                let v = get_ptr(&doc, &from).ok_or_else(|| {
                    ApiError::new(
                        422,
                        "Invalid",
                        "copy operation does not apply: doc is missing from path",
                    )
                })?;
                add(&mut doc, &path, v)?;
            }
            Some("test") => {
                if get_ptr(&doc, &path).as_ref() != Some(&op["value"]) {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!(
                            "the server rejected our request due to an error in our request: testing value /{} failed",
                            path.join("/")
                        ),
                    ));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unexpected JSON patch operation {other:?}"
                )));
            }
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"kind": "Pod", "spec": {
            "containers": [
                {"name": "prometheus", "image": "prom:2", "args": ["--a"], "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                 "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 9090}]},
                {"name": "reloader", "image": "r:1"}],
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "config", "configMap": {"name": "c"}}]}})
    }

    #[test]
    fn strategic_merges_containers_by_name_and_keeps_others() {
        let p = json!({"spec": {"containers": [{"name": "prometheus", "args": ["--a", "--web.enable-lifecycle"]}]}});
        let out = strategic_merge(&pod(), &p, "Pod").unwrap();
        let cs = out["spec"]["containers"].as_array().unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0]["args"], json!(["--a", "--web.enable-lifecycle"]));
        assert_eq!(cs[0]["image"], "prom:2");
        assert_eq!(cs[1]["name"], "reloader");
    }

    #[test]
    fn strategic_delete_directive_and_nested_keys() {
        let p = json!({"spec": {
            "volumes": [{"name": "config", "$patch": "delete"}],
            "containers": [{"name": "prometheus", "volumeMounts": [{"mountPath": "/data", "name": "data", "subPath": "x"}],
                            "env": [{"name": "B", "value": "2"}]}]}});
        let out = strategic_merge(&pod(), &p, "Pod").unwrap();
        assert_eq!(
            out["spec"]["volumes"],
            json!([{"name": "data", "emptyDir": {}}])
        );
        let c = &out["spec"]["containers"][0];
        assert_eq!(
            c["volumeMounts"],
            json!([{"name": "data", "mountPath": "/data", "subPath": "x"}])
        );
        assert_eq!(
            c["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
    }

    #[test]
    fn strategic_null_removes_and_replace_directive_replaces() {
        let p = json!({"spec": {"containers": [{"name": "prometheus", "args": null}], "volumes": [{"name": "only", "emptyDir": {}}, {"$patch": "replace"}]}});
        let out = strategic_merge(&pod(), &p, "Pod").unwrap();
        assert!(out["spec"]["containers"][0].get("args").is_none());
        assert_eq!(
            out["spec"]["volumes"],
            json!([{"name": "only", "emptyDir": {}}])
        );
    }

    #[test]
    fn strategic_set_element_order_orders_the_list() {
        let p = json!({"spec": {"$setElementOrder/containers": [{"name": "reloader"}, {"name": "prometheus"}], "containers": [{"name": "reloader", "image": "r:2"}]}});
        let out = strategic_merge(&pod(), &p, "Pod").unwrap();
        assert_eq!(out["spec"]["containers"][0]["name"], "reloader");
        assert_eq!(out["spec"]["containers"][0]["image"], "r:2");
    }

    #[test]
    fn service_ports_merge_by_port() {
        let svc = json!({"kind": "Service", "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 8080, "name": "r"}]}});
        let out = strategic_merge(
            &svc,
            &json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
            "Service",
        )
        .unwrap();
        assert_eq!(
            out["spec"]["ports"],
            json!([{"port": 80, "name": "http", "targetPort": 9090}, {"port": 8080, "name": "r"}])
        );
    }

    #[test]
    fn merge_patch_replaces_lists_and_deletes_nulls() {
        let out = merge_patch(
            &pod(),
            &json!({"spec": {"volumes": [], "containers": null}}),
        );
        assert_eq!(out["spec"], json!({"volumes": []}));
    }

    #[test]
    fn json_patch_ops() {
        let doc = json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}, "a": [1, 2]});
        let p = json!([
            {"op": "test", "path": "/spec/resources/requests/storage", "value": "1Gi"},
            {"op": "replace", "path": "/spec/resources/requests/storage", "value": "2Gi"},
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "remove", "path": "/a/0"}]);
        let out = json_patch(&doc, &p).unwrap();
        assert_eq!(
            out,
            json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}, "a": [2, 3]})
        );
        let e = json_patch(&doc, &json!([{"op": "test", "path": "/a/0", "value": 9}])).unwrap_err();
        assert_eq!(e.code, 422);
    }

    #[test]
    fn strategic_patch_on_custom_resource_is_415() {
        let e = apply(
            "application/strategic-merge-patch+json",
            &json!({}),
            b"{}",
            "Prometheus",
        )
        .unwrap_err();
        assert_eq!(e.code, 415);
    }
}
