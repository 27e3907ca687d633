//! `/openapi/v3` (the index of group-versions) and `/openapi/v3/{api/v1|apis/G/V}` documents. Schemas are generated
//! from the k8s-openapi types (schemars, OpenAPI 3 settings), tagged with `x-kubernetes-group-version-kind`; each
//! resource path carries its operations with the GVK extension and the `fieldValidation` query parameter, which is
//! what kubectl checks (k8s.io/cli-runtime resource/query_param_verifier_v3.go) before relying on server-side
//! validation. PATCH operations list no request body, so kubectl's apply computes strategic merge patches from its
//! compiled-in types (apply/patcher.go falls back to them) and JSON merge patches for custom resources.
use crate::node_agent::Body;
use crate::registry::{Registry, ResourceType};
use crate::server::{error_response, json_response};
use crate::status::ApiError;
use hyper::Response;
use serde_json::{Map, Value, json};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

pub fn serve(reg: &Registry, rest: &str) -> Response<Body> {
    if rest.is_empty() {
        return json_response(200, &index(reg));
    }
    let mut gvs: Vec<(String, String)> = vec![("".into(), "v1".into())];
    for (g, vs) in reg.groups() {
        for v in vs {
            gvs.push((g.clone(), v));
        }
    }
    match gvs.iter().find(|(g, v)| gv_path(g, v) == rest) {
        Some((g, v)) => json_response(200, &document(reg, g, v)),
        None => error_response(&ApiError::path_not_found()),
    }
}

fn index(reg: &Registry) -> Value {
    let mut paths = Map::new();
    let mut add = |g: &str, v: &str| {
        let p = gv_path(g, v);
        // The hash changes when the served kinds change (CRDs), so clients refetch.
        let kinds: Vec<String> = reg
            .all()
            .iter()
            .filter(|r| r.group == g && r.version == v)
            .map(|r| r.kind.clone())
            .collect();
        let hash = format!(
            "{:016X}",
            kinds
                .join(",")
                .bytes()
                .fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64)
                    .wrapping_mul(0x100000001b3))
        );
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}),
        );
    };
    add("", "v1");
    for (g, vs) in reg.groups() {
        for v in vs {
            add(&g, &v);
        }
    }
    json!({"paths": paths})
}

fn gvk(r: &ResourceType) -> Value {
    json!([{"group": r.group, "version": r.version, "kind": r.kind}])
}

fn operation(r: &ResourceType, action: &str, extra_params: &[Value]) -> Value {
    let mut params: Vec<Value> = extra_params.to_vec();
    if matches!(action, "post" | "put" | "patch") {
        for (name, desc) in [
            (
                "dryRun",
                "When present, indicates that modifications should not be persisted.",
            ),
            (
                "fieldManager",
                "fieldManager is a name associated with the actor or entity that is making these changes.",
            ),
            (
                "fieldValidation",
                "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
            ),
        ] {
            params.push(json!({"name": name, "in": "query", "description": desc, "schema": {"type": "string", "uniqueItems": true}}));
        }
    }
    json!({
        "description": format!("{action} {}", r.kind),
        "operationId": format!("{action}{}", r.kind),
        "parameters": params,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(r)[0],
    })
}

fn document(reg: &Registry, group: &str, version: &str) -> Value {
    let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
    let mut paths = Map::new();
    let mut top_level: Vec<(String, ResourceType)> = vec![];
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    for r in reg
        .all()
        .into_iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let name_param = json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}});
        let ns_param = json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}});
        let (collection, item) = if r.namespaced {
            (
                format!("{prefix}/namespaces/{{namespace}}/{}", r.plural),
                format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural),
            )
        } else {
            (
                format!("{prefix}/{}", r.plural),
                format!("{prefix}/{}/{{name}}", r.plural),
            )
        };
        let base: Vec<Value> = if r.namespaced {
            vec![ns_param.clone()]
        } else {
            vec![]
        };
        let mut with_name = base.clone();
        with_name.push(name_param);
        if r.create_only {
            paths.insert(collection, json!({"post": operation(&r, "post", &base)}));
        } else {
            paths.insert(collection, json!({"get": operation(&r, "list", &base), "post": operation(&r, "post", &base), "delete": operation(&r, "deletecollection", &base)}));
            paths.insert(
                item,
                json!({"get": operation(&r, "get", &with_name), "put": operation(&r, "put", &with_name), "patch": operation(&r, "patch", &with_name), "delete": operation(&r, "delete", &with_name)}),
            );
        }
        if let Some(schema) =
            crate::dispatch_kind!(r.kind.as_str(), |T| generator.subschema_for::<T>())
        {
            let name = schema
                .get("$ref")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            top_level.push((name, r.clone()));
        }
    }
    let mut schemas = generator.take_definitions(true);
    for (name, r) in top_level {
        if let Some(s) = schemas.get_mut(&name).and_then(|s| s.as_object_mut()) {
            s.insert("x-kubernetes-group-version-kind".into(), gvk(&r));
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::server::SERVER_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_document_has_pod_schema_and_patch_with_field_validation() {
        let reg = Registry::default();
        let doc = document(&reg, "", "v1");
        let pod = &doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
        assert_eq!(pod["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
        assert!(pod["properties"]["spec"].is_object());
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Pod");
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert!(
            index(&reg)["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/apis/apps/v1?hash=")
        );
    }
}
