//! The REST verbs on resources (`/api/v1/...`, `/apis/{g}/{v}/...`): parse the path, authorize (RBAC), then
//! get / list (selectors, limit/continue, Table) / watch / create / update / patch / delete (propagation policy)
//! / deletecollection, the `status` and `scale` subresources, and the hand-off of pod log/exec/proxy and node proxy
//! to the node agent. Admission and validation live in `admission.rs`; patch formats in `patch.rs`.
use crate::kubeconfig::User;
use crate::node_agent::{Body, PodSubresource};
use crate::rbac::{self, Attributes};
use crate::registry::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::{ApiServer, error_response, json_response, param, parse_query};
use crate::status::{ApiError, ApiResult};
use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// A parsed resource URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub namespace: String,
    pub plural: String,
    pub name: String,
    pub subresource: String,
    /// Path after the subresource (proxy paths), with a leading `/` when present.
    pub rest: String,
}

/// Split `namespaces/{ns}/{plural}/{name}/{sub}/…` or `{plural}/{name}/{sub}/…`.
pub fn parse_target(segs: &[String], is_known: impl Fn(&str) -> bool) -> Option<Target> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (namespace, tail): (&str, &[&str]) = match s.as_slice() {
        ["namespaces", ns, plural, tail @ ..] if is_known(plural) && *plural != "namespaces" => {
            let mut t = vec![*plural];
            t.extend_from_slice(tail);
            return build(ns, &t);
        }
        _ => ("", &s[..]),
    };
    build(namespace, tail)
}

fn build(ns: &str, t: &[&str]) -> Option<Target> {
    let plural = t.first()?.to_string();
    let name = t.get(1).map(|s| s.to_string()).unwrap_or_default();
    let subresource = t.get(2).map(|s| s.to_string()).unwrap_or_default();
    let rest = if t.len() > 3 {
        format!("/{}", t[3..].join("/"))
    } else {
        String::new()
    };
    Some(Target {
        namespace: ns.to_string(),
        plural,
        name,
        subresource,
        rest,
    })
}

fn verb_for(method: &Method, t: &Target, watch: bool) -> &'static str {
    if t.subresource == "exec" || t.subresource == "attach" || t.subresource == "portforward" {
        // Since 1.31 (AuthorizePodWebsocketUpgradeCreatePermission) a WebSocket GET is authorized as `create`.
        return "create";
    }
    match *method {
        Method::GET | Method::HEAD if watch => "watch",
        Method::GET | Method::HEAD if t.name.is_empty() => "list",
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if t.name.is_empty() => "deletecollection",
        Method::DELETE => "delete",
        _ => "get",
    }
}

fn is_true(v: Option<&str>) -> bool {
    matches!(v, Some("true") | Some("1"))
}

/// The request's Content-Type (empty when absent) and its whole body.
async fn raw_body(req: Request<Incoming>) -> ApiResult<(String, hyper::body::Bytes)> {
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?
        .to_bytes();
    Ok((content_type, bytes))
}

pub async fn read_body(req: Request<Incoming>) -> ApiResult<Value> {
    let (content_type, bytes) = raw_body(req).await?;
    if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        return crate::protobuf::decode(&bytes);
    }
    parse_body(&bytes)
}

pub fn parse_body(bytes: &[u8]) -> ApiResult<Value> {
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes)
        .or_else(|_| {
            serde_saphyr::from_slice::<Value>(bytes).map_err(|e| e.without_snippet().to_string())
        })
        .map_err(|e| {
            ApiError::bad_request(format!(
                "the body of the request was in an unknown format: {e}"
            ))
        })
}

pub async fn handle(
    api: Arc<ApiServer>,
    req: Request<Incoming>,
    user: User,
    group: String,
    version: String,
    segs: Vec<String>,
) -> Response<Body> {
    let reg = api.registry.clone();
    let known = |p: &str| reg.find(&group, &version, p).is_some();
    let Some(mut t) = parse_target(&segs, known) else {
        return error_response(&ApiError::path_not_found());
    };
    let Some(rt) = api.registry.find(&group, &version, &t.plural) else {
        return error_response(&ApiError::path_not_found());
    };
    // pods/{name}:{port}/proxy
    let mut proxy_port = None;
    if t.subresource == "proxy"
        && let Some((n, p)) = t.name.clone().split_once(':')
    {
        t.name = n.to_string();
        proxy_port = Some(p.to_string());
    }
    let query = parse_query(req.uri().query());
    let watch = is_true(param(&query, "watch"));
    let verb = verb_for(req.method(), &t, watch);
    let attrs = Attributes {
        verb: verb.into(),
        group: rt.group.clone(),
        resource: rt.plural.clone(),
        subresource: t.subresource.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        path: None,
    };
    if !rbac::allowed(&api.store, &user, &attrs) {
        return error_response(&ApiError::forbidden(
            &rt.group,
            &rt.plural,
            &t.name,
            &rbac::forbidden_reason(&user, &attrs),
        ));
    }
    if rt.namespaced
        && !t.namespace.is_empty()
        && api.store.get("namespaces", "", &t.namespace).is_none()
        && verb == "create"
    {
        return error_response(&ApiError::not_found("", "namespaces", &t.namespace));
    }
    match dispatch(&api, req, &user, &rt, &t, proxy_port, verb, &query).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

fn wants_table(accept: &str) -> bool {
    accept.contains("as=Table")
}

#[allow(clippy::too_many_arguments)]
async fn dispatch(
    api: &Arc<ApiServer>,
    req: Request<Incoming>,
    user: &User,
    rt: &ResourceType,
    t: &Target,
    proxy_port: Option<String>,
    verb: &str,
    q: &[(String, String)],
) -> ApiResult<Response<Body>> {
    let key = rt.key();
    let dry_run = param(q, "dryRun") == Some("All");
    let accept = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .unwrap_or("")
        .to_string();
    let ns = t.namespace.as_str();
    match (t.subresource.as_str(), verb) {
        ("log", _) | ("exec", _) | ("proxy", _) if rt.plural == "pods" => {
            let sub = match t.subresource.as_str() {
                "log" => PodSubresource::Log,
                "exec" => PodSubresource::Exec,
                _ => PodSubresource::Proxy {
                    port: proxy_port,
                    path: if t.rest.is_empty() {
                        "/".into()
                    } else {
                        t.rest.clone()
                    },
                },
            };
            if api.store.get(&key, ns, &t.name).is_none() {
                return Err(ApiError::not_found("", "pods", &t.name));
            }
            let agent = api.node_agent().ok_or_else(|| {
                ApiError::new(
                    503,
                    "ServiceUnavailable",
                    "the kubelet is not running in this simulated cluster",
                )
            })?;
            Ok(agent
                .pod_subresource(req, ns.to_string(), t.name.clone(), sub)
                .await)
        }
        ("proxy", _) if rt.plural == "nodes" => {
            if api.store.get("nodes", "", &t.name).is_none() {
                return Err(ApiError::not_found("", "nodes", &t.name));
            }
            let agent = api.node_agent().ok_or_else(|| {
                ApiError::new(
                    503,
                    "ServiceUnavailable",
                    "the kubelet is not running in this simulated cluster",
                )
            })?;
            Ok(agent.node_proxy(req, t.name.clone(), t.rest.clone()).await)
        }
        ("", "list") => list(api, rt, t, q, &accept),
        ("", "watch") => watch(api, rt, t, q, &accept),
        ("", "get") | ("status", "get") => {
            let obj = api
                .store
                .get(&key, ns, &t.name)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &t.name))?;
            if wants_table(&accept) {
                return Ok(json_response(
                    200,
                    &crate::table::to_table(rt, &[obj], "", param(q, "includeObject")),
                ));
            }
            Ok(json_response(200, &obj))
        }
        ("scale", "get") => {
            let obj = api
                .store
                .get(&key, ns, &t.name)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &t.name))?;
            Ok(json_response(200, &scale_of(&obj)))
        }
        ("", "create") => {
            let body = read_body(req).await?;
            if rt.plural == "selfsubjectaccessreviews" {
                let mut review = body;
                rbac::self_subject_access_review(&api.store, user, &mut review);
                return Ok(json_response(201, &review));
            }
            let obj = create(api, rt, ns, body, dry_run, param(q, "fieldValidation"))?;
            Ok(json_response(201, &obj))
        }
        ("", "update") | ("status", "update") => {
            let body = read_body(req).await?;
            let old = api
                .store
                .get(&key, ns, &t.name)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &t.name))?;
            if body["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n != t.name)
            {
                return Err(ApiError::bad_request(
                    "the name of the object does not match the name on the URL",
                ));
            }
            crate::validation::check_fields(rt, &body, param(q, "fieldValidation"))?;
            let obj = update(api, rt, &old, body, &t.subresource, dry_run)?;
            Ok(json_response(200, &obj))
        }
        ("", "patch") | ("status", "patch") => {
            let (ctype, bytes) = raw_body(req).await?;
            let old = api
                .store
                .get(&key, ns, &t.name)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &t.name))?;
            let patched = crate::patch::apply(&ctype, &old, &bytes, &rt.kind)?;
            crate::validation::check_fields(rt, &patched, param(q, "fieldValidation"))?;
            let obj = update(api, rt, &old, patched, &t.subresource, dry_run)?;
            Ok(json_response(200, &obj))
        }
        ("scale", "update") | ("scale", "patch") => {
            let is_patch = req.method() == Method::PATCH;
            let (ctype, bytes) = raw_body(req).await?;
            let old = api
                .store
                .get(&key, ns, &t.name)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &t.name))?;
            let scale = if is_patch {
                crate::patch::apply(&ctype, &scale_of(&old), &bytes, "Scale")?
            } else {
                parse_body(&bytes)?
            };
            let mut next = old.clone();
            next["spec"]["replicas"] = scale["spec"]["replicas"].clone();
            let obj = update(api, rt, &old, next, "", dry_run)?;
            Ok(json_response(200, &scale_of(&obj)))
        }
        ("", "delete") => {
            let body = read_body(req).await.unwrap_or(json!({}));
            let policy = param(q, "propagationPolicy")
                .map(String::from)
                .or_else(|| body["propagationPolicy"].as_str().map(String::from));
            let dry = dry_run
                || body["dryRun"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|x| x == "All"));
            if let Some(pre) = body["preconditions"]["resourceVersion"].as_str() {
                let cur = api
                    .store
                    .get(&key, ns, &t.name)
                    .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &t.name))?;
                if cur["metadata"]["resourceVersion"].as_str() != Some(pre) {
                    return Err(ApiError::conflict(&rt.group, &rt.plural, &t.name));
                }
            }
            let obj = delete(api, rt, ns, &t.name, policy.as_deref(), dry)?;
            Ok(json_response(200, &obj))
        }
        ("", "deletecollection") => {
            let (items, _) = api
                .store
                .list(&key, if ns.is_empty() { None } else { Some(ns) });
            let (ls, fs) = selectors(q)?;
            for o in items.iter().filter(|o| ls.matches(o) && fs.matches(o)) {
                let name = o["metadata"]["name"].as_str().unwrap_or_default();
                let ons = o["metadata"]["namespace"].as_str().unwrap_or_default();
                let _ = delete(api, rt, ons, name, param(q, "propagationPolicy"), dry_run);
            }
            Ok(json_response(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn scale_of(obj: &Value) -> Value {
    let sel = crate::selectors::selector_string(&obj["spec"]["selector"]);
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"]["namespace"], "uid": obj["metadata"]["uid"],
                     "resourceVersion": obj["metadata"]["resourceVersion"], "creationTimestamp": obj["metadata"]["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"]},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": sel},
    })
}

fn selectors(q: &[(String, String)]) -> ApiResult<(LabelSelector, FieldSelector)> {
    let ls = LabelSelector::parse(param(q, "labelSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let fs = FieldSelector::parse(param(q, "fieldSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    Ok((ls, fs))
}

fn list_kind(rt: &ResourceType) -> String {
    format!("{}List", rt.kind)
}

fn list(
    api: &ApiServer,
    rt: &ResourceType,
    t: &Target,
    q: &[(String, String)],
    accept: &str,
) -> ApiResult<Response<Body>> {
    let (ls, fs) = selectors(q)?;
    let ns = if t.namespace.is_empty() {
        None
    } else {
        Some(t.namespace.as_str())
    };
    let (items, rv) = api.store.list(&rt.key(), ns);
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|o| ls.matches(o) && fs.matches(o))
        .collect();
    // limit/continue: the continue token is the offset into the (sorted) result, opaque to clients.
    let offset: usize = param(q, "continue")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit: usize = param(q, "limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let total = items.len();
    items = items.into_iter().skip(offset).take(limit).collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if offset + items.len() < total {
        meta["continue"] = json!((offset + items.len()).to_string());
        meta["remainingItemCount"] = json!(total - offset - items.len());
    }
    if wants_table(accept) {
        let mut table =
            crate::table::to_table(rt, &items, &rv.to_string(), param(q, "includeObject"));
        table["metadata"] = meta;
        return Ok(json_response(200, &table));
    }
    Ok(json_response(
        200,
        &json!({"kind": list_kind(rt), "apiVersion": rt.api_version(), "metadata": meta, "items": items}),
    ))
}

fn watch(
    api: &ApiServer,
    rt: &ResourceType,
    t: &Target,
    q: &[(String, String)],
    accept: &str,
) -> ApiResult<Response<Body>> {
    let (ls, fs) = selectors(q)?;
    let key = rt.key();
    let ns = t.namespace.clone();
    let single_name = t.name.clone();
    let table = wants_table(accept);
    let include = param(q, "includeObject").map(String::from);
    let timeout = param(q, "timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(1800)
        .min(3600);
    let rv_param = param(q, "resourceVersion").unwrap_or("").to_string();
    let (initial, start_rv) = if rv_param.is_empty() || rv_param == "0" {
        let (items, rv) = api
            .store
            .list(&key, if ns.is_empty() { None } else { Some(&ns) });
        (items, rv)
    } else {
        (
            vec![],
            rv_param.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("invalid resource version: {rv_param}"))
            })?,
        )
    };
    let rt2 = rt.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let encode = move |kind: &str, obj: &Value| -> Bytes {
        let object = if table {
            crate::table::to_table(&rt2, std::slice::from_ref(obj), "", include.as_deref())
        } else {
            obj.clone()
        };
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    };
    let matches = move |o: &Value| -> bool {
        let m = &o["metadata"];
        (ns.is_empty() || m["namespace"].as_str() == Some(ns.as_str()))
            && (single_name.is_empty() || m["name"].as_str() == Some(single_name.as_str()))
            && ls.matches(o)
            && fs.matches(o)
    };
    let feed = api.store.watch_from(start_rv);
    tokio::spawn(async move {
        let Some((replay, mut live)) = feed else {
            let e = ApiError::gone(format!("too old resource version: {start_rv}"));
            let _ = tx.send(encode("ERROR", &e.to_status())).await;
            return;
        };
        for o in initial.iter().filter(|o| matches(o)) {
            if tx.send(encode("ADDED", o)).await.is_err() {
                return;
            }
        }
        let mut last = start_rv;
        for ev in replay.into_iter().filter(|e| e.resource == key) {
            last = ev.rv;
            if matches(&ev.object) && tx.send(encode(ev.kind.as_str(), &ev.object)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        loop {
            let ev = match tokio::time::timeout_at(deadline, live.recv()).await {
                Err(_) => return,
                Ok(Ok(ev)) => ev,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                    let e = ApiError::gone("watch fell behind the event stream; restart the watch");
                    let _ = tx.send(encode("ERROR", &e.to_status())).await;
                    return;
                }
                Ok(Err(_)) => return,
            };
            if ev.resource != key || ev.rv <= last {
                continue;
            }
            last = ev.rv;
            if matches(&ev.object) && tx.send(encode(ev.kind.as_str(), &ev.object)).await.is_err() {
                return;
            }
            if tx.is_closed() {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut resp = Response::new(StreamBody::new(stream).boxed());
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        hyper::header::TRANSFER_ENCODING,
        hyper::header::HeaderValue::from_static("chunked"),
    );
    Ok(resp)
}

/// Create through admission and into the store (also used by scenario loading and controllers).
pub fn create(
    api: &ApiServer,
    rt: &ResourceType,
    ns: &str,
    mut obj: Value,
    dry_run: bool,
    field_validation: Option<&str>,
) -> ApiResult<Value> {
    if rt.namespaced {
        if let Some(bns) = obj["metadata"]["namespace"].as_str()
            && !bns.is_empty()
            && bns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if api.store.get("namespaces", "", ns).is_none() {
            return Err(ApiError::not_found("", "namespaces", ns));
        }
    }
    crate::validation::check_fields(rt, &obj, field_validation)?;
    if obj["kind"].is_null() {
        obj["kind"] = json!(rt.kind);
    }
    if obj["apiVersion"].is_null() {
        obj["apiVersion"] = json!(rt.api_version());
    }
    crate::admission::admit_create(api, rt, ns, &mut obj)?;
    let created = api
        .store
        .create(&rt.key(), if rt.namespaced { ns } else { "" }, obj, dry_run)?;
    after_write(api, rt);
    Ok(created)
}

/// Update (PUT or the result of a PATCH). `sub` = "status" replaces only the status; otherwise the status of kinds
/// with a status subresource is kept from the stored object.
pub fn update(
    api: &ApiServer,
    rt: &ResourceType,
    old: &Value,
    mut new: Value,
    sub: &str,
    dry_run: bool,
) -> ApiResult<Value> {
    let has_status_sub = rt.subresources.iter().any(|s| s == "status");
    if sub == "status" {
        let mut merged = old.clone();
        merged["status"] = new["status"].clone();
        if let Some(rv) = new["metadata"].get("resourceVersion") {
            merged["metadata"]["resourceVersion"] = rv.clone();
        }
        new = merged;
    } else if has_status_sub {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        }
    }
    if new["kind"].is_null() {
        new["kind"] = old["kind"].clone();
    }
    if new["apiVersion"].is_null() {
        new["apiVersion"] = old["apiVersion"].clone();
    }
    if sub != "status" {
        crate::admission::admit_update(api, rt, old, &mut new)?;
    }
    let ns = old["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = old["metadata"]["name"].as_str().unwrap_or_default();
    let updated = api.store.replace(&rt.key(), ns, name, new, dry_run)?;
    after_write(api, rt);
    Ok(updated)
}

/// Delete with a propagation policy: `Orphan` / `Foreground` put the matching finalizer on the object, which the
/// garbage collector honours; `Background` (and the default) deletes now and lets the collector remove dependents.
pub fn delete(
    api: &ApiServer,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    policy: Option<&str>,
    dry_run: bool,
) -> ApiResult<Value> {
    let key = rt.key();
    let current = api
        .store
        .get(&key, ns, name)
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
    if dry_run {
        return Ok(current);
    }
    if rt.plural == "namespaces" {
        // The namespace controller deletes everything in it before the namespace goes.
        api.store.mutate("namespaces", "", name, |n| {
            n["status"]["phase"] = json!("Terminating")
        })?;
        for r in api
            .registry
            .all()
            .iter()
            .filter(|r| r.namespaced && !r.create_only)
        {
            let (items, _) = api.store.list(&r.key(), Some(name));
            for o in items {
                let _ = api.store.delete(
                    &r.key(),
                    name,
                    o["metadata"]["name"].as_str().unwrap_or_default(),
                    false,
                );
            }
        }
    }
    let finalizer = match policy {
        Some("Orphan") => Some("orphan"),
        Some("Foreground") => Some("foregroundDeletion"),
        _ => None,
    };
    if let Some(f) = finalizer {
        api.store.mutate(&key, ns, name, |o| {
            let mut fins: Vec<Value> = o["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !fins.iter().any(|x| x == f) {
                fins.push(json!(f));
            }
            o["metadata"]["finalizers"] = json!(fins);
        })?;
    }
    let out = api.store.delete(&key, ns, name, false)?;
    after_write(api, rt);
    Ok(out)
}

/// Side effects of writing some kinds: CRDs change what the server serves.
fn after_write(api: &ApiServer, rt: &ResourceType) {
    if rt.plural == "customresourcedefinitions" {
        let (crds, _) = api.store.list(&rt.key(), None);
        api.registry.set_crds(&crds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split('/').map(String::from).collect()
    }

    #[test]
    fn paths_parse_into_targets() {
        let known = |p: &str| ["pods", "namespaces", "nodes"].contains(&p);
        let t = parse_target(&segs("namespaces/obs/pods/p-0/proxy/api/v1/query"), known).unwrap();
        assert_eq!(
            (
                t.namespace.as_str(),
                t.plural.as_str(),
                t.name.as_str(),
                t.subresource.as_str(),
                t.rest.as_str()
            ),
            ("obs", "pods", "p-0", "proxy", "/api/v1/query")
        );
        let n = parse_target(&segs("namespaces/obs"), known).unwrap();
        assert_eq!((n.plural.as_str(), n.name.as_str()), ("namespaces", "obs"));
        let s = parse_target(&segs("namespaces/obs/status"), known).unwrap();
        assert_eq!(
            (s.plural.as_str(), s.name.as_str(), s.subresource.as_str()),
            ("namespaces", "obs", "status")
        );
        let all = parse_target(&segs("pods"), known).unwrap();
        assert_eq!((all.namespace.as_str(), all.plural.as_str()), ("", "pods"));
    }
}
