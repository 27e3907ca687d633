//! Endpoints from the pods a Service selects (pkg/controller/endpoint): Ready pods with an IP are `addresses`,
//! the others `notReadyAddresses` (or `addresses` with `publishNotReadyAddresses`); named target ports resolve
//! against the pod's container ports. Services without a selector are left alone (user-managed Endpoints).
//! The same addresses go into one EndpointSlice per Service (pkg/controller/endpointslice: `<svc>-<suffix>`,
//! labels `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`, owned by the Service).
use super::{is_deleting, name_of, ns_of, pod_ready};
use crate::selectors::LabelSelector;
use crate::server::ApiServer;
use serde_json::{Map, Value, json};

fn target_port(port: &Value, pod: &Value) -> Option<i64> {
    match &port["targetPort"] {
        Value::Number(n) => n.as_i64(),
        Value::String(name) => pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .find(|p| p["name"] == json!(name))
            .and_then(|p| p["containerPort"].as_i64()),
        _ => port["port"].as_i64(),
    }
}

const TRIGGER_ANNOTATION: &str = "endpoints.kubernetes.io/last-change-trigger-time";

pub fn desired_subsets(svc: &Value, pods: &[Value]) -> Vec<Value> {
    let sel_map = svc["spec"]["selector"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let sel = LabelSelector::from_object(&json!({"matchLabels": sel_map}));
    let publish_not_ready = svc["spec"]["publishNotReadyAddresses"]
        .as_bool()
        .unwrap_or(false);
    // One subset per distinct port set, as the controller's repacking produces for uniform pods.
    let mut subsets: Vec<(Vec<Value>, Vec<Value>, Vec<Value>)> = vec![];
    for p in pods
        .iter()
        .filter(|p| ns_of(p) == ns_of(svc) && sel.matches(p) && !is_deleting(p))
    {
        let Some(ip) = p["status"]["podIP"].as_str() else {
            continue;
        };
        let ports: Vec<Value> = svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|sp| {
                let mut port = json!({"port": target_port(sp, p)?, "protocol": sp["protocol"].as_str().unwrap_or("TCP")});
                if let Some(n) = sp["name"].as_str() {
                    port["name"] = json!(n);
                }
                Some(port)
            })
            .collect();
        let addr = json!({"ip": ip, "nodeName": p["spec"]["nodeName"], "targetRef": {"kind": "Pod", "namespace": ns_of(p), "name": name_of(p), "uid": p["metadata"]["uid"]}});
        let idx = match subsets.iter().position(|(ps, _, _)| *ps == ports) {
            Some(i) => i,
            None => {
                subsets.push((ports, vec![], vec![]));
                subsets.len() - 1
            }
        };
        if pod_ready(p) || publish_not_ready {
            subsets[idx].1.push(addr);
        } else {
            subsets[idx].2.push(addr);
        }
    }
    subsets
        .into_iter()
        .map(|(ports, ready, not_ready)| {
            let mut s = Map::new();
            if !ready.is_empty() {
                s.insert("addresses".into(), json!(ready));
            }
            if !not_ready.is_empty() {
                s.insert("notReadyAddresses".into(), json!(not_ready));
            }
            s.insert("ports".into(), json!(ports));
            Value::Object(s)
        })
        .collect()
}

const SLICE_MANAGER: &str = "endpointslice-controller.k8s.io";

/// The discovery.k8s.io/v1 form of the same subsets: one endpoint per address with its readiness.
pub fn slice_endpoints(subsets: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let mut endpoints = vec![];
    let mut ports = vec![];
    for s in subsets {
        for p in s["ports"].as_array().into_iter().flatten() {
            if !ports.contains(p) {
                ports.push(p.clone());
            }
        }
        for (list, ready) in [("addresses", true), ("notReadyAddresses", false)] {
            for a in s[list].as_array().into_iter().flatten() {
                endpoints.push(json!({
                    "addresses": [a["ip"]],
                    "conditions": {"ready": ready, "serving": ready, "terminating": false},
                    "nodeName": a["nodeName"], "targetRef": a["targetRef"],
                }));
            }
        }
    }
    (endpoints, ports)
}

fn reconcile_slice(api: &ApiServer, svc: &Value, subsets: &[Value]) {
    let ns = ns_of(svc);
    let (endpoints, ports) = slice_endpoints(subsets);
    let (slices, _) = api.store.list("endpointslices.discovery.k8s.io", Some(ns));
    let mine = slices.iter().find(|s| {
        s["metadata"]["labels"]["kubernetes.io/service-name"] == json!(name_of(svc))
            && s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == SLICE_MANAGER
    });
    match mine {
        None => {
            let slice = json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"generateName": format!("{}-", name_of(svc)), "namespace": ns,
                    "labels": {"kubernetes.io/service-name": name_of(svc), "endpointslice.kubernetes.io/managed-by": SLICE_MANAGER},
                    "ownerReferences": [super::owner_ref(svc)]},
                "addressType": "IPv4", "endpoints": endpoints, "ports": ports,
            });
            let _ = super::create(api, "endpointslices.discovery.k8s.io", ns, slice);
        }
        Some(s) => {
            let _ = api
                .store
                .mutate("endpointslices.discovery.k8s.io", ns, name_of(s), |o| {
                    o["endpoints"] = json!(endpoints);
                    o["ports"] = json!(ports);
                });
        }
    }
}

pub fn reconcile(api: &ApiServer) {
    let (svcs, _) = api.store.list("services", None);
    let (pods, _) = api.store.list("pods", None);
    for svc in svcs
        .iter()
        .filter(|s| s["spec"]["selector"].is_object() && !is_deleting(s))
    {
        let subsets = desired_subsets(svc, &pods);
        reconcile_slice(api, svc, &subsets);
        let ns = ns_of(svc);
        let mut labels = svc["metadata"]["labels"].clone();
        if !labels.is_object() {
            labels = json!({});
        }
        match api.store.get("endpoints", ns, name_of(svc)) {
            None => {
                // The controller marks what it manages with this annotation (endpoints_controller.go).
                let mut ep = json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name_of(svc), "namespace": ns, "labels": labels,
                    "annotations": {TRIGGER_ANNOTATION: crate::clock::now_rfc3339()}}});
                if !subsets.is_empty() {
                    ep["subsets"] = json!(subsets);
                }
                let _ = super::create(api, "endpoints", ns, ep);
            }
            Some(_) => {
                let _ = api.store.mutate("endpoints", ns, name_of(svc), |e| {
                    e["metadata"]["labels"] = labels.clone();
                    if subsets.is_empty() {
                        if let Some(m) = e.as_object_mut() {
                            m.remove("subsets");
                        }
                    } else {
                        e["subsets"] = json!(subsets);
                    }
                });
            }
        }
    }
    // Endpoints this controller made go with their Service.
    let (eps, _) = api.store.list("endpoints", None);
    for ep in eps
        .iter()
        .filter(|e| e["metadata"]["annotations"][TRIGGER_ANNOTATION].is_string())
    {
        if !svcs
            .iter()
            .any(|s| ns_of(s) == ns_of(ep) && name_of(s) == name_of(ep))
        {
            let _ = api.store.delete("endpoints", ns_of(ep), name_of(ep), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_and_not_ready_pods_split_and_named_ports_resolve() {
        let svc = json!({"metadata": {"name": "s", "namespace": "m"}, "spec": {"selector": {"app": "p"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}]}});
        let pod = |name: &str, ready: bool| {
            json!({"metadata": {"name": name, "namespace": "m", "labels": {"app": "p"}, "uid": name},
            "spec": {"nodeName": "n", "containers": [{"ports": [{"name": "http", "containerPort": 9090}]}]},
            "status": {"podIP": format!("10.0.0.{}", if ready {1} else {2}), "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})
        };
        let subsets = desired_subsets(&svc, &[pod("a", true), pod("b", false)]);
        assert_eq!(subsets.len(), 1);
        assert_eq!(subsets[0]["addresses"][0]["ip"], "10.0.0.1");
        assert_eq!(subsets[0]["notReadyAddresses"][0]["ip"], "10.0.0.2");
        assert_eq!(
            subsets[0]["ports"][0],
            json!({"port": 9090, "protocol": "TCP", "name": "web"})
        );
        assert!(desired_subsets(&svc, &[]).is_empty());
    }

    #[test]
    fn a_service_gets_an_endpoint_slice_with_readiness() {
        let api = crate::controllers::testing::api();
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"},
            "spec": {"selector": {"app": "p"}, "ports": [{"name": "web", "port": 9090}]}});
        crate::bootstrap::apply_object(&api, svc).unwrap();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default", "labels": {"app": "p"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}});
        crate::bootstrap::apply_object(&api, pod).unwrap();
        api.store
            .mutate("pods", "default", "p", |p| {
                p["status"]["podIP"] = json!("10.244.0.9");
                p["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
            })
            .unwrap();
        crate::controllers::testing::settle(&api, 5);
        let (slices, _) = api
            .store
            .list("endpointslices.discovery.k8s.io", Some("default"));
        assert_eq!(slices.len(), 1);
        let s = &slices[0];
        assert!(name_of(s).starts_with("s-"));
        assert_eq!(s["metadata"]["labels"]["kubernetes.io/service-name"], "s");
        assert_eq!(s["endpoints"][0]["addresses"], json!(["10.244.0.9"]));
        assert_eq!(s["endpoints"][0]["conditions"]["ready"], false);
        assert_eq!(
            s["ports"],
            json!([{"name": "web", "port": 9090, "protocol": "TCP"}])
        );
        let ep = api.store.get("endpoints", "default", "s").unwrap();
        assert_eq!(ep["subsets"][0]["notReadyAddresses"][0]["ip"], "10.244.0.9");
    }
}
