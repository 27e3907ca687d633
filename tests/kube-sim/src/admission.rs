//! Admission and validation on create/update, with the real texts: defaulting of the fields kubectl and the
//! controllers read (pkg/apis/*/v1/defaults.go), NamespaceLifecycle, PersistentVolumeClaimResize (403),
//! PVC update validation (422: shrink, immutability), StatefulSet spec immutability (422), pod/Deployment template
//! volume-mount validation (422; the StatefulSet API does not validate its template, so its controller gets the
//! error at pod creation instead — see controllers/statefulset.rs), CRD status, Service cluster IPs.
use crate::quantity;
use crate::registry::ResourceType;
use crate::server::ApiServer;
use crate::status::{ApiError, ApiResult, FieldError, FieldErrorKind};
use serde_json::{Value, json};

pub fn admit_create(
    api: &ApiServer,
    rt: &ResourceType,
    _ns: &str,
    obj: &mut Value,
) -> ApiResult<()> {
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(e) = name_error(rt, &name) {
        return Err(ApiError::invalid(&rt.group, &rt.kind, &name, &[e]));
    }
    apply_defaults(rt, obj);
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => {
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        ("", "pods") => {
            validate_pod_spec(&obj["spec"], "spec")
                .map_err(|c| ApiError::invalid("", "Pod", &name, &c))?;
            obj["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
        }
        ("", "services") => default_service(api, obj),
        // SetDefaults_Secret
        ("", "secrets") if obj["type"].as_str().unwrap_or_default().is_empty() => {
            obj["type"] = json!("Opaque")
        }
        ("", "persistentvolumeclaims") => {
            let spec = &mut obj["spec"];
            if spec["storageClassName"].is_null()
                && let Some(def) = default_storage_class(api)
            {
                spec["storageClassName"] = json!(def);
            }
            obj["status"] = json!({"phase": "Pending"});
        }
        ("", "persistentvolumes") => {
            if obj["spec"]["persistentVolumeReclaimPolicy"].is_null() {
                obj["spec"]["persistentVolumeReclaimPolicy"] = json!("Retain");
            }
            if obj["spec"]["volumeMode"].is_null() {
                obj["spec"]["volumeMode"] = json!("Filesystem");
            }
            if obj["status"]["phase"].is_null() {
                obj["status"] = json!({"phase": "Available"});
            }
        }
        ("storage.k8s.io", "storageclasses") => {
            if obj["reclaimPolicy"].is_null() {
                obj["reclaimPolicy"] = json!("Delete");
            }
            if obj["volumeBindingMode"].is_null() {
                obj["volumeBindingMode"] = json!("Immediate");
            }
        }
        ("storage.k8s.io", "csidrivers") => {
            let spec = &mut obj["spec"];
            for (k, v) in [
                ("attachRequired", json!(true)),
                ("podInfoOnMount", json!(false)),
                ("fsGroupPolicy", json!("ReadWriteOnceWithFSType")),
                ("requiresRepublish", json!(false)),
                ("storageCapacity", json!(false)),
                ("volumeLifecycleModes", json!(["Persistent"])),
            ] {
                if spec[k].is_null() {
                    spec[k] = v;
                }
            }
        }
        ("apps", "deployments") => validate_template(obj, "Deployment", &name)?,
        ("apps", "replicasets") => validate_template(obj, "ReplicaSet", &name)?,
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            let names = obj["spec"]["names"].clone();
            let versions: Vec<Value> = obj["spec"]["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| v["storage"] == true)
                .map(|v| v["name"].clone())
                .collect();
            let now = crate::clock::now_rfc3339();
            obj["status"] = json!({
                "acceptedNames": names,
                "storedVersions": versions,
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
                ],
            });
        }
        _ => {}
    }
    Ok(())
}

const DNS1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str, first_alpha: bool) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && (if first_alpha {
            b[0].is_ascii_lowercase()
        } else {
            b[0] != b'-'
        })
        && b[b.len() - 1] != b'-'
}

/// metadata.name format (apimachinery/pkg/util/validation): namespaces are RFC 1123 labels, Services DNS-1035
/// labels, RBAC objects path segments (not checked here) and custom resources per their CRD (not checked); the
/// other kinds RFC 1123 subdomains. Empty names (generateName) are checked after generation by the store.
fn name_error(rt: &ResourceType, name: &str) -> Option<FieldError> {
    let builtin = crate::registry::builtins()
        .iter()
        .any(|b| b.key() == rt.key());
    if name.is_empty() || !builtin || rt.group == "rbac.authorization.k8s.io" {
        return None;
    }
    let invalid = |msg: &str| {
        Some(FieldError::new(
            "metadata.name",
            FieldErrorKind::Invalid(format!("{name:?}"), msg.to_string()),
        ))
    };
    match rt.plural.as_str() {
        "namespaces" if name.len() > 63 => invalid("must be no more than 63 characters"),
        "namespaces" if !is_label(name, false) => invalid(DNS1123_LABEL),
        "services" if name.len() > 63 => invalid("must be no more than 63 characters"),
        "services" if !is_label(name, true) => invalid(DNS1035_LABEL),
        "namespaces" | "services" => None,
        _ if name.len() > 253 => invalid("must be no more than 253 characters"),
        _ if !name.split('.').all(|part| is_label(part, false)) => invalid(DNS1123_SUBDOMAIN),
        _ => None,
    }
}

pub fn admit_update(
    api: &ApiServer,
    rt: &ResourceType,
    old: &Value,
    new: &mut Value,
) -> ApiResult<()> {
    let name = old["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Defaulting runs on every decoded write, update included (the apiserver's codec calls the SetDefaults_*
    // functions of pkg/apis/*/v1/defaults.go before validation), so an update that omits a defaulted field is
    // compared with the stored object as the real server compares it.
    apply_defaults(rt, new);
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "persistentvolumeclaims") => validate_pvc_update(api, &name, old, new),
        ("apps", "statefulsets") => validate_statefulset_update(&name, old, new),
        ("apps", "deployments") => validate_template(new, "Deployment", &name),
        ("", "pods") => Ok(()),
        ("", "services") => {
            if new["spec"]["clusterIP"].is_null() {
                new["spec"]["clusterIP"] = old["spec"]["clusterIP"].clone();
                new["spec"]["clusterIPs"] = old["spec"]["clusterIPs"].clone();
            }
            default_service(api, new);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The SetDefaults_* of pkg/apis/{core,apps}/v1/defaults.go for the fields kubectl shows and the controllers read,
/// applied to every create and update. Pod specs (also inside templates) are defaulted by [`default_pod_spec`].
fn apply_defaults(rt: &ResourceType, obj: &mut Value) {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => default_pod_spec(&mut obj["spec"]),
        ("", "persistentvolumeclaims") if obj["spec"]["volumeMode"].is_null() => {
            obj["spec"]["volumeMode"] = json!("Filesystem");
        }
        ("apps", "replicasets") => default_workload(obj),
        ("apps", "deployments") => {
            default_workload(obj);
            let spec = &mut obj["spec"];
            if spec["strategy"]["type"].is_null() {
                spec["strategy"]["type"] = json!("RollingUpdate");
            }
            if spec["strategy"]["type"] == "RollingUpdate"
                && spec["strategy"]["rollingUpdate"].is_null()
            {
                spec["strategy"]["rollingUpdate"] =
                    json!({"maxUnavailable": "25%", "maxSurge": "25%"});
            }
            if spec["progressDeadlineSeconds"].is_null() {
                spec["progressDeadlineSeconds"] = json!(600);
            }
        }
        ("apps", "statefulsets") => {
            default_workload(obj);
            let spec = &mut obj["spec"];
            if spec["podManagementPolicy"].is_null() {
                spec["podManagementPolicy"] = json!("OrderedReady");
            }
            if spec["updateStrategy"].is_null() {
                spec["updateStrategy"] =
                    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}});
            }
            if spec["persistentVolumeClaimRetentionPolicy"].is_null() {
                spec["persistentVolumeClaimRetentionPolicy"] =
                    json!({"whenDeleted": "Retain", "whenScaled": "Retain"});
            }
            for t in spec["volumeClaimTemplates"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                if t["spec"]["volumeMode"].is_null() {
                    t["spec"]["volumeMode"] = json!("Filesystem");
                }
                if t["apiVersion"].is_null() {
                    t["apiVersion"] = json!("v1");
                    t["kind"] = json!("PersistentVolumeClaim");
                }
            }
        }
        _ => {}
    }
}

fn default_storage_class(api: &ApiServer) -> Option<String> {
    let (scs, _) = api.store.list("storageclasses.storage.k8s.io", None);
    scs.iter()
        .find(|s| {
            s["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
        })
        .and_then(|s| s["metadata"]["name"].as_str().map(String::from))
}

fn default_workload(obj: &mut Value) {
    let spec = &mut obj["spec"];
    if spec["replicas"].is_null() {
        spec["replicas"] = json!(1);
    }
    if spec["revisionHistoryLimit"].is_null() {
        spec["revisionHistoryLimit"] = json!(10);
    }
    if spec["template"].is_object() {
        default_pod_spec(&mut spec["template"]["spec"]);
    }
}

/// pkg/apis/core/v1/defaults.go for the fields kubectl shows and the kubelet reads.
pub fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    for (k, v) in [
        ("restartPolicy", json!("Always")),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("securityContext", json!({})),
        ("enableServiceLinks", json!(true)),
    ] {
        if spec[k].is_null() {
            spec[k] = v;
        }
    }
    if spec["serviceAccountName"].is_null() {
        spec["serviceAccountName"] = json!("default");
        spec["serviceAccount"] = json!("default");
    }
    for list in ["initContainers", "containers"] {
        for c in spec[list].as_array_mut().into_iter().flatten() {
            if c["imagePullPolicy"].is_null() {
                let image = c["image"].as_str().unwrap_or_default();
                let tag = image.rsplit('/').next().unwrap_or_default();
                let latest = !tag.contains(':') || tag.ends_with(":latest");
                c["imagePullPolicy"] = json!(if latest && !image.contains('@') {
                    "Always"
                } else {
                    "IfNotPresent"
                });
            }
            if c["terminationMessagePath"].is_null() {
                c["terminationMessagePath"] = json!("/dev/termination-log");
                c["terminationMessagePolicy"] = json!("File");
            }
            if c["resources"].is_null() {
                c["resources"] = json!({});
            }
            for p in c["ports"].as_array_mut().into_iter().flatten() {
                if p["protocol"].is_null() {
                    p["protocol"] = json!("TCP");
                }
            }
        }
    }
}

/// The volumeMounts of every container must name a pod volume (ValidatePodSpec → validateVolumeMounts).
pub fn validate_pod_spec(spec: &Value, prefix: &str) -> Result<(), Vec<FieldError>> {
    let volumes: Vec<&str> = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .collect();
    let mut errs = vec![];
    if spec["containers"].as_array().is_none_or(|c| c.is_empty()) {
        errs.push(FieldError::new(
            format!("{prefix}.containers"),
            FieldErrorKind::Required(String::new()),
        ));
    }
    for list in ["initContainers", "containers"] {
        for (i, c) in spec[list].as_array().into_iter().flatten().enumerate() {
            for (j, m) in c["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let n = m["name"].as_str().unwrap_or_default();
                if !volumes.contains(&n) {
                    errs.push(FieldError::new(
                        format!("{prefix}.{list}[{i}].volumeMounts[{j}].name"),
                        FieldErrorKind::NotFound(n.to_string()),
                    ));
                }
            }
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

fn validate_template(obj: &Value, kind: &str, name: &str) -> ApiResult<()> {
    validate_pod_spec(&obj["spec"]["template"]["spec"], "spec.template.spec")
        .map_err(|c| ApiError::invalid("apps", kind, name, &c))
}

fn default_service(api: &ApiServer, svc: &mut Value) {
    let spec = &mut svc["spec"];
    if spec["type"].is_null() {
        spec["type"] = json!("ClusterIP");
    }
    if spec["sessionAffinity"].is_null() {
        spec["sessionAffinity"] = json!("None");
    }
    for p in spec["ports"].as_array_mut().into_iter().flatten() {
        if p["protocol"].is_null() {
            p["protocol"] = json!("TCP");
        }
        if p["targetPort"].is_null() {
            p["targetPort"] = p["port"].clone();
        }
    }
    if spec["clusterIP"].is_null() {
        // A free address in 10.96.0.0/16 (the service CIDR kubeadm uses), derived from the count of services.
        let (svcs, _) = api.store.list("services", None);
        let used: Vec<String> = svcs
            .iter()
            .filter_map(|s| s["spec"]["clusterIP"].as_str().map(String::from))
            .collect();
        let ip = (10u32..65000)
            .map(|n| format!("10.96.{}.{}", n / 250, n % 250 + 1))
            .find(|ip| !used.contains(ip))
            .unwrap_or_default();
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!([ip]);
        spec["ipFamilies"] = json!(["IPv4"]);
        spec["ipFamilyPolicy"] = json!("SingleStack");
        spec["internalTrafficPolicy"] = json!("Cluster");
    }
}

fn storage_of(v: &Value) -> Option<f64> {
    v.as_str().and_then(quantity::parse)
}

/// ValidatePersistentVolumeClaimUpdate + the PersistentVolumeClaimResize admission plugin.
fn validate_pvc_update(api: &ApiServer, name: &str, old: &Value, new: &mut Value) -> ApiResult<()> {
    let old_req = storage_of(&old["spec"]["resources"]["requests"]["storage"]);
    let new_req = storage_of(&new["spec"]["resources"]["requests"]["storage"]);
    // Spec immutability except resources.requests and volumeAttributesClassName (and volumeName, settable once).
    let mut o = old["spec"].clone();
    let mut n = new["spec"].clone();
    for s in [&mut o, &mut n] {
        if let Some(m) = s.as_object_mut() {
            m.remove("volumeAttributesClassName");
            if let Some(r) = m.get_mut("resources").and_then(|r| r.as_object_mut()) {
                r.remove("requests");
            }
        }
    }
    if old["spec"]["volumeName"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        o["volumeName"] = n["volumeName"].clone();
    }
    if old["spec"]["storageClassName"].is_null() {
        o["storageClassName"] = n["storageClassName"].clone();
    }
    for s in [&mut o, &mut n] {
        if let Some(m) = s.as_object_mut() {
            m.retain(|_, v| !v.is_null());
            if m.get("resources")
                .is_some_and(|r| r.as_object().is_some_and(|r| r.is_empty()))
            {
                m.remove("resources");
            }
        }
    }
    if o != n {
        return Err(ApiError::invalid(
            "",
            "PersistentVolumeClaim",
            name,
            &[FieldError::new("spec", FieldErrorKind::Forbidden("spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims".into()))],
        ));
    }
    let (Some(old_req), Some(new_req)) = (old_req, new_req) else {
        return Ok(());
    };
    if new_req < old_req {
        // RecoverVolumeExpansionFailure (beta and on by default in 1.32/1.33, GA in 1.34): lowering is allowed only
        // while the request stays above status.capacity.
        let cap = storage_of(&old["status"]["capacity"]["storage"]).unwrap_or(0.0);
        if new_req <= cap {
            return Err(ApiError::invalid(
                "",
                "PersistentVolumeClaim",
                name,
                &[FieldError::new(
                    "spec.resources.requests.storage",
                    FieldErrorKind::Forbidden("field can not be less than status.capacity".into()),
                )],
            ));
        }
    }
    if new_req > old_req {
        // plugin/pkg/admission/storage/persistentvolume/resize/admission.go
        if old["status"]["phase"] != "Bound" {
            return Err(ApiError::forbidden(
                "",
                "persistentvolumeclaims",
                name,
                "Only bound persistent volume claims can be expanded",
            ));
        }
        let class = old["spec"]["storageClassName"].as_str().unwrap_or_default();
        let allows = api
            .store
            .get("storageclasses.storage.k8s.io", "", class)
            .is_some_and(|sc| sc["allowVolumeExpansion"].as_bool() == Some(true));
        if !allows {
            return Err(ApiError::forbidden(
                "",
                "persistentvolumeclaims",
                name,
                "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
            ));
        }
    }
    Ok(())
}

pub const STATEFULSET_UPDATE_FORBIDDEN: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

/// pkg/apis/apps/validation ValidateStatefulSetUpdate (1.33 field list).
fn validate_statefulset_update(name: &str, old: &Value, new: &Value) -> ApiResult<()> {
    let strip = |s: &Value| -> Value {
        let mut s = s.clone();
        if let Some(m) = s.as_object_mut() {
            for f in [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ] {
                m.remove(f);
            }
        }
        s
    };
    if strip(&old["spec"]) != strip(&new["spec"]) {
        return Err(ApiError::invalid(
            "apps",
            "StatefulSet",
            name,
            &[FieldError::new(
                "spec",
                FieldErrorKind::Forbidden(STATEFULSET_UPDATE_FORBIDDEN.into()),
            )],
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::registry::builtins;

    fn rt(plural: &str) -> ResourceType {
        builtins().into_iter().find(|r| r.plural == plural).unwrap()
    }

    #[test]
    fn names_follow_the_kind_rules() {
        assert!(name_error(&rt("configmaps"), "prometheus-server.v2").is_none());
        let e = name_error(&rt("configmaps"), "Prometheus_Server").unwrap();
        assert!(e.to_string().starts_with("metadata.name: Invalid value: \"Prometheus_Server\": a lowercase RFC 1123 subdomain must consist of"), "{e}");
        assert!(name_error(&rt("namespaces"), "a.b").is_some());
        assert!(name_error(&rt("services"), "9lives").is_some());
        assert!(name_error(&rt("services"), "prometheus-operated").is_none());
        assert!(name_error(&rt("clusterroles"), "system:basic-user").is_none());
    }

    use super::*;

    #[test]
    fn pod_spec_with_missing_volume_gives_the_real_field_path() {
        let spec = json!({"containers": [{"name": "p", "volumeMounts": [{"name": "config", "mountPath": "/etc"}, {"name": "storage-volume", "mountPath": "/data"}]}],
                          "volumes": [{"name": "config"}]});
        let errs = validate_pod_spec(&spec, "spec").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "spec.containers[0].volumeMounts[1].name: Not found: \"storage-volume\""
        );
    }

    #[test]
    fn statefulset_storage_change_is_forbidden_with_the_real_text() {
        let old = json!({"spec": {"replicas": 1, "volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}});
        let mut new = old.clone();
        new["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] =
            json!("2Gi");
        let e = validate_statefulset_update("web", &old, &new).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.message.starts_with("StatefulSet.apps \"web\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than"));
        let mut scaled = old.clone();
        scaled["spec"]["replicas"] = json!(3);
        assert!(validate_statefulset_update("web", &old, &scaled).is_ok());
    }

    #[test]
    fn image_pull_policy_defaults_like_kubernetes() {
        let mut spec = json!({"containers": [{"name": "a", "image": "prom/prometheus:latest"}, {"name": "b", "image": "prom/prometheus:v2.42.0"}, {"name": "c", "image": "busybox"}]});
        default_pod_spec(&mut spec);
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(spec["containers"][1]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(spec["containers"][2]["imagePullPolicy"], "Always");
    }

    #[test]
    fn an_update_omitting_defaulted_fields_is_defaulted_before_the_immutability_check() {
        // What the operator sends: its own StatefulSet without the fields the apiserver defaulted on create.
        let desired = json!({"spec": {"replicas": 1, "serviceName": "prometheus-operated",
            "template": {"spec": {"containers": [{"name": "prometheus", "image": "prometheus"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "db"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}});
        let mut stored = desired.clone();
        apply_defaults(&rt("statefulsets"), &mut stored);
        assert_eq!(
            stored["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"],
            "Filesystem"
        );
        let mut update = desired.clone();
        update["spec"]["template"]["metadata"]["annotations"]["changed"] = json!("yes");
        apply_defaults(&rt("statefulsets"), &mut update);
        assert!(validate_statefulset_update("prometheus-k8s", &stored, &update).is_ok());
        // Without defaulting, the same update differs from the stored templates and would be refused.
        let mut raw = desired.clone();
        raw["spec"]["template"]["metadata"]["annotations"]["changed"] = json!("yes");
        assert!(validate_statefulset_update("prometheus-k8s", &stored, &raw).is_err());
    }
}
