//! Server-side printing (`Accept: …;as=Table;g=meta.k8s.io;v=v1`): the columns of kubernetes
//! pkg/printers/internalversion/printers.go for the kinds modelled here, the CRD `additionalPrinterColumns`, and the
//! default `Name`/`Age` table for everything else. kubectl shows priority-0 columns, and priority 1 with `-o wide`.
use crate::clock::{age, now_unix, parse_rfc3339};
use crate::registry::ResourceType;
use crate::selectors::selector_string;
use serde_json::{Value, json};

fn col(name: &str, ty: &str, priority: u8, description: &str) -> Value {
    let mut c = json!({"name": name, "type": ty, "format": "", "description": description, "priority": priority});
    if name == "Name" {
        c["format"] = json!("name");
    }
    c
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn or_none(v: String) -> String {
    if v.is_empty() { "<none>".into() } else { v }
}

fn join_strs(v: &Value, sep: &str) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect::<Vec<_>>()
        .join(sep)
}

/// `RWO,RWX` from accessModes.
fn access_modes(v: &Value) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| match m.as_str() {
            Some("ReadWriteOnce") => Some("RWO"),
            Some("ReadOnlyMany") => Some("ROX"),
            Some("ReadWriteMany") => Some("RWX"),
            Some("ReadWriteOncePod") => Some("RWOP"),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn containers_images(spec: &Value) -> (String, String) {
    let cs = spec["containers"].as_array().cloned().unwrap_or_default();
    (
        cs.iter()
            .map(|c| s(&c["name"]))
            .collect::<Vec<_>>()
            .join(","),
        cs.iter()
            .map(|c| s(&c["image"]))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// printPod: READY, STATUS (with waiting/terminated reasons, Init:…, Terminating), RESTARTS `N (Xs ago)`.
pub fn pod_row(pod: &Value) -> Vec<Value> {
    let status = &pod["status"];
    let spec = &pod["spec"];
    let total = spec["containers"].as_array().map(|c| c.len()).unwrap_or(0);
    let mut restarts = 0i64;
    let mut ready = 0;
    let mut last_restart: Option<i64> = None;
    let mut reason = s(&status["phase"]);
    if !s(&status["reason"]).is_empty() {
        reason = s(&status["reason"]);
    }
    let track_restart = |c: &Value, restarts: &mut i64, last: &mut Option<i64>| {
        *restarts += c["restartCount"].as_i64().unwrap_or(0);
        if let Some(t) = c["lastState"]["terminated"]["finishedAt"]
            .as_str()
            .and_then(parse_rfc3339)
        {
            *last = Some(last.map_or(t, |l| l.max(t)));
        }
    };
    let mut initializing = false;
    let inits = status["initContainerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let n_init = spec["initContainers"]
        .as_array()
        .map(|c| c.len())
        .unwrap_or(0);
    for (i, c) in inits.iter().enumerate() {
        track_restart(c, &mut restarts, &mut last_restart);
        let term = &c["state"]["terminated"];
        if term.is_object() && term["exitCode"].as_i64() == Some(0) {
            continue;
        }
        initializing = true;
        if term.is_object() {
            reason = if !s(&term["reason"]).is_empty() {
                format!("Init:{}", s(&term["reason"]))
            } else if term["signal"].as_i64().unwrap_or(0) != 0 {
                format!("Init:Signal:{}", term["signal"])
            } else {
                format!("Init:ExitCode:{}", term["exitCode"])
            };
        } else if !s(&c["state"]["waiting"]["reason"]).is_empty()
            && s(&c["state"]["waiting"]["reason"]) != "PodInitializing"
        {
            reason = format!("Init:{}", s(&c["state"]["waiting"]["reason"]));
        } else {
            reason = format!("Init:{i}/{n_init}");
        }
        break;
    }
    if !initializing {
        restarts = 0;
        last_restart = None;
        for c in &inits {
            track_restart(c, &mut restarts, &mut last_restart);
        }
        let mut has_running = false;
        let cstats = status["containerStatuses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for c in cstats.iter().rev() {
            track_restart(c, &mut restarts, &mut last_restart);
            let st = &c["state"];
            if !s(&st["waiting"]["reason"]).is_empty() {
                reason = s(&st["waiting"]["reason"]);
            } else if st["terminated"].is_object() {
                let t = &st["terminated"];
                reason = if !s(&t["reason"]).is_empty() {
                    s(&t["reason"])
                } else if t["signal"].as_i64().unwrap_or(0) != 0 {
                    format!("Signal:{}", t["signal"])
                } else {
                    format!("ExitCode:{}", t["exitCode"])
                };
            } else if c["ready"].as_bool() == Some(true) && st["running"].is_object() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let ready_cond = status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if ready_cond {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    if pod["metadata"]["deletionTimestamp"].is_string() {
        reason = if status["reason"] == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    let restarts_str = match last_restart {
        Some(t) if restarts > 0 => format!(
            "{restarts} ({} ago)",
            crate::clock::human_duration(now_unix() - t)
        ),
        _ => restarts.to_string(),
    };
    let ip = status["podIP"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| "<none>".into());
    let node = or_none(s(&spec["nodeName"]));
    let nominated = or_none(s(&status["nominatedNodeName"]));
    let gates = match spec["readinessGates"].as_array() {
        Some(g) if !g.is_empty() => {
            let conds = status["conditions"].as_array().cloned().unwrap_or_default();
            let ok = g
                .iter()
                .filter(|gate| {
                    conds
                        .iter()
                        .any(|c| c["type"] == gate["conditionType"] && c["status"] == "True")
                })
                .count();
            format!("{ok}/{}", g.len())
        }
        _ => "<none>".into(),
    };
    vec![
        json!(s(&pod["metadata"]["name"])),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_str),
        json!(age(pod["metadata"]["creationTimestamp"].as_str())),
        json!(ip),
        json!(node),
        json!(nominated),
        json!(gates),
    ]
}

fn service_ports(spec: &Value) -> String {
    let ports: Vec<String> = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(np) if np != 0 => format!("{}:{np}/{proto}", p["port"]),
                _ => format!("{}/{proto}", p["port"]),
            }
        })
        .collect();
    if ports.is_empty() {
        "<none>".into()
    } else {
        ports.join(",")
    }
}

/// formatEndpoints: `ip:port,…` with at most 3 shown and ` + N more...`.
fn endpoints_cell(ep: &Value) -> String {
    let mut list = vec![];
    let mut count = 0;
    for sub in ep["subsets"].as_array().into_iter().flatten() {
        for a in sub["addresses"].as_array().into_iter().flatten() {
            let ports = sub["ports"].as_array().cloned().unwrap_or_default();
            if ports.is_empty() {
                count += 1;
                if list.len() < 3 {
                    list.push(s(&a["ip"]));
                }
            }
            for p in &ports {
                count += 1;
                if list.len() < 3 {
                    list.push(format!("{}:{}", s(&a["ip"]), p["port"]));
                }
            }
        }
    }
    if list.is_empty() {
        return "<none>".into();
    }
    let mut out = list.join(",");
    if count > list.len() {
        out.push_str(&format!(" + {} more...", count - list.len()));
    }
    out
}

fn jsonpath_simple(obj: &Value, path: &str) -> Value {
    // additionalPrinterColumns jsonPath like `.spec.replicas` or `.status.conditions[?(@.type=="Ready")].status`.
    let mut cur = obj.clone();
    for seg in path.trim_start_matches('.').split('.') {
        if seg.is_empty() {
            continue;
        }
        if let Some((field, filter)) = seg.split_once("[?(@.") {
            let (k, rest) = filter.split_once("==").unwrap_or(("", ""));
            let want = rest
                .trim_end_matches(")]")
                .trim_matches('"')
                .trim_matches('\'');
            cur = cur[field]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| s(&e[k]) == want)
                .cloned()
                .unwrap_or(Value::Null);
        } else {
            cur = cur[seg].clone();
        }
    }
    cur
}

pub fn columns_and_cells(rt: &ResourceType, o: &Value) -> (Vec<Value>, Vec<Value>) {
    let name = json!(s(&o["metadata"]["name"]));
    let a = json!(age(o["metadata"]["creationTimestamp"].as_str()));
    let spec = &o["spec"];
    let st = &o["status"];
    let nm = "Name must be unique within a namespace.";
    let age_d = "CreationTimestamp is a timestamp representing the server time when this object was created.";
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => (
            vec![
                col("Name", "string", 0, nm),
                col(
                    "Ready",
                    "string",
                    0,
                    "The aggregate readiness state of this pod for accepting traffic.",
                ),
                col(
                    "Status",
                    "string",
                    0,
                    "The aggregate status of the containers in this pod.",
                ),
                col(
                    "Restarts",
                    "string",
                    0,
                    "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                ),
                col("Age", "string", 0, age_d),
                col(
                    "IP",
                    "string",
                    1,
                    "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
                ),
                col(
                    "Node",
                    "string",
                    1,
                    "NodeName is a request to schedule this pod onto a specific node.",
                ),
                col(
                    "Nominated Node",
                    "string",
                    1,
                    "nominatedNodeName is set only when this pod preempts other pods on the node.",
                ),
                col(
                    "Readiness Gates",
                    "string",
                    1,
                    "If specified, all readiness gates will be evaluated for pod readiness.",
                ),
            ],
            pod_row(o),
        ),
        ("", "nodes") => {
            let ready = st["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Ready");
            let status = match ready.map(|c| s(&c["status"])) {
                Some(x) if x == "True" => "Ready",
                Some(x) if x == "False" => "NotReady",
                _ => "Unknown",
            };
            let mut status = status.to_string();
            if spec["unschedulable"].as_bool() == Some(true) {
                status.push_str(",SchedulingDisabled");
            }
            let roles: Vec<String> = o["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/").map(String::from))
                .collect();
            let addr = |t: &str| {
                st["addresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|x| x["type"] == t)
                    .map(|x| s(&x["address"]))
                    .unwrap_or_else(|| "<none>".into())
            };
            let ni = &st["nodeInfo"];
            (
                vec![
                    col("Name", "string", 0, nm),
                    col("Status", "string", 0, "The status of the node"),
                    col("Roles", "string", 0, "The roles of the node"),
                    col("Age", "string", 0, age_d),
                    col(
                        "Version",
                        "string",
                        0,
                        "Kubelet Version reported by the node.",
                    ),
                    col("Internal-IP", "string", 1, "List of internal IPs."),
                    col("External-IP", "string", 1, "List of external IPs."),
                    col("OS-Image", "string", 1, "OS image reported by the node."),
                    col(
                        "Kernel-Version",
                        "string",
                        1,
                        "Kernel version reported by the node.",
                    ),
                    col(
                        "Container-Runtime",
                        "string",
                        1,
                        "Container runtime version reported by the node.",
                    ),
                ],
                vec![
                    name,
                    json!(status),
                    json!(if roles.is_empty() {
                        "<none>".into()
                    } else {
                        roles.join(",")
                    }),
                    a,
                    json!(s(&ni["kubeletVersion"])),
                    json!(addr("InternalIP")),
                    json!(addr("ExternalIP")),
                    json!(s(&ni["osImage"])),
                    json!(s(&ni["kernelVersion"])),
                    json!(s(&ni["containerRuntimeVersion"])),
                ],
            )
        }
        ("", "namespaces") => (
            vec![
                col("Name", "string", 0, nm),
                col("Status", "string", 0, "The status of the namespace"),
                col("Age", "string", 0, age_d),
            ],
            vec![name, json!(s(&st["phase"])), a],
        ),
        ("", "services") => {
            let ext = match s(&spec["type"]).as_str() {
                "LoadBalancer" => "<pending>".to_string(),
                "ExternalName" => s(&spec["externalName"]),
                _ => or_none(join_strs(&spec["externalIPs"], ",")),
            };
            (
                vec![
                    col("Name", "string", 0, nm),
                    col("Type", "string", 0, "The type of service."),
                    col("Cluster-IP", "string", 0, "The cluster IP of the service."),
                    col(
                        "External-IP",
                        "string",
                        0,
                        "The external IP of the service.",
                    ),
                    col("Port(s)", "string", 0, "The ports of the service."),
                    col("Age", "string", 0, age_d),
                    col("Selector", "string", 1, "The selector of the service."),
                ],
                vec![
                    name,
                    json!(if s(&spec["type"]).is_empty() {
                        "ClusterIP".into()
                    } else {
                        s(&spec["type"])
                    }),
                    json!(or_none(s(&spec["clusterIP"]))),
                    json!(ext),
                    json!(service_ports(spec)),
                    a,
                    json!(or_none(
                        spec["selector"]
                            .as_object()
                            .map(|m| m
                                .iter()
                                .map(|(k, v)| format!("{k}={}", s(v)))
                                .collect::<Vec<_>>()
                                .join(","))
                            .unwrap_or_default()
                    )),
                ],
            )
        }
        ("", "endpoints") => (
            vec![
                col("Name", "string", 0, nm),
                col("Endpoints", "string", 0, "Endpoints of the service."),
                col("Age", "string", 0, age_d),
            ],
            vec![name, json!(endpoints_cell(o)), a],
        ),
        ("", "configmaps") => (
            vec![
                col("Name", "string", 0, nm),
                col("Data", "string", 0, "Data contains the configuration data."),
                col("Age", "string", 0, age_d),
            ],
            vec![
                name,
                json!(
                    o["data"].as_object().map(|m| m.len()).unwrap_or(0)
                        + o["binaryData"].as_object().map(|m| m.len()).unwrap_or(0)
                ),
                a,
            ],
        ),
        ("", "secrets") => (
            vec![
                col("Name", "string", 0, nm),
                col("Type", "string", 0, "The type of the secret."),
                col("Data", "string", 0, "The number of entries in the secret."),
                col("Age", "string", 0, age_d),
            ],
            vec![
                name,
                json!(s(&o["type"])),
                json!(o["data"].as_object().map(|m| m.len()).unwrap_or(0)),
                a,
            ],
        ),
        ("", "serviceaccounts") => (
            vec![
                col("Name", "string", 0, nm),
                col(
                    "Secrets",
                    "string",
                    0,
                    "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
                ),
                col("Age", "string", 0, age_d),
            ],
            vec![
                name,
                json!(o["secrets"].as_array().map(|m| m.len()).unwrap_or(0)),
                a,
            ],
        ),
        ("", "events") => {
            let io = &o["involvedObject"];
            let last = o["lastTimestamp"]
                .as_str()
                .or(o["eventTime"].as_str())
                .or(o["metadata"]["creationTimestamp"].as_str());
            let first = o["firstTimestamp"]
                .as_str()
                .or(o["eventTime"].as_str())
                .or(o["metadata"]["creationTimestamp"].as_str());
            let count = o["count"].as_i64().unwrap_or(1);
            let last_seen = if count > 1 {
                format!("{} (x{count} over {})", age(last), age(first))
            } else {
                age(last)
            };
            let source = {
                let c = s(&o["source"]["component"]);
                let c = if c.is_empty() {
                    s(&o["reportingComponent"])
                } else {
                    c
                };
                let h = s(&o["source"]["host"]);
                if h.is_empty() { c } else { format!("{c}, {h}") }
            };
            (
                vec![
                    col("Last Seen", "string", 0, "Time when last event occurred"),
                    col("Type", "string", 0, "Event type"),
                    col("Reason", "string", 0, "Reason of the event"),
                    col("Object", "string", 0, "Object this event is about"),
                    col("Subobject", "string", 1, "Subobject this event is about"),
                    col("Source", "string", 1, "Source of the event"),
                    col("Message", "string", 0, "Message of the event"),
                    col("First Seen", "string", 1, "Time when first event occurred"),
                    col("Count", "string", 1, "Count of event occurrences"),
                    col("Name", "string", 1, nm),
                ],
                vec![
                    json!(last_seen),
                    json!(s(&o["type"])),
                    json!(s(&o["reason"])),
                    json!(format!(
                        "{}/{}",
                        s(&io["kind"]).to_lowercase(),
                        s(&io["name"])
                    )),
                    json!(s(&io["fieldPath"])),
                    json!(source),
                    json!(s(&o["message"])),
                    json!(age(first)),
                    json!(count),
                    name,
                ],
            )
        }
        ("", "persistentvolumeclaims") => {
            let phase = if o["metadata"]["deletionTimestamp"].is_string() {
                "Terminating".into()
            } else {
                s(&st["phase"])
            };
            (
                vec![
                    col("Name", "string", 0, nm),
                    col("Status", "string", 0, "The phase of the claim."),
                    col("Volume", "string", 0, "The bound volume."),
                    col("Capacity", "string", 0, "The capacity of the bound volume."),
                    col(
                        "Access Modes",
                        "string",
                        0,
                        "The access modes of the bound volume.",
                    ),
                    col("StorageClass", "string", 0, "StorageClass of the pvc"),
                    col(
                        "VolumeAttributesClass",
                        "string",
                        0,
                        "VolumeAttributesClass of the pvc",
                    ),
                    col("Age", "string", 0, age_d),
                    col("VolumeMode", "string", 1, "VolumeMode of the pvc"),
                ],
                vec![
                    name,
                    json!(phase),
                    json!(s(&spec["volumeName"])),
                    json!(s(&st["capacity"]["storage"])),
                    json!(access_modes(&st["accessModes"])),
                    json!(s(&spec["storageClassName"])),
                    json!(or_unset(s(&spec["volumeAttributesClassName"]))),
                    a,
                    json!(or_none(s(&spec["volumeMode"]))),
                ],
            )
        }
        ("", "persistentvolumes") => {
            let claim = if spec["claimRef"].is_object() {
                format!(
                    "{}/{}",
                    s(&spec["claimRef"]["namespace"]),
                    s(&spec["claimRef"]["name"])
                )
            } else {
                String::new()
            };
            let phase = if o["metadata"]["deletionTimestamp"].is_string() {
                "Terminating".into()
            } else {
                s(&st["phase"])
            };
            (
                vec![
                    col("Name", "string", 0, nm),
                    col(
                        "Capacity",
                        "string",
                        0,
                        "The storage capacity of the persistent volume.",
                    ),
                    col(
                        "Access Modes",
                        "string",
                        0,
                        "The access modes for the persistent volume.",
                    ),
                    col(
                        "Reclaim Policy",
                        "string",
                        0,
                        "What happens to a persistent volume when released from its claim.",
                    ),
                    col(
                        "Status",
                        "string",
                        0,
                        "The phase indicates if a volume is available, bound to a claim, or released by a claim.",
                    ),
                    col(
                        "Claim",
                        "string",
                        0,
                        "Part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
                    ),
                    col("StorageClass", "string", 0, "StorageClass of the pv"),
                    col(
                        "VolumeAttributesClass",
                        "string",
                        0,
                        "VolumeAttributesClass of the pv",
                    ),
                    col(
                        "Reason",
                        "string",
                        0,
                        "Reason why the persistent volume is in the current phase.",
                    ),
                    col("Age", "string", 0, age_d),
                    col(
                        "VolumeMode",
                        "string",
                        1,
                        "Volume mode of the persistent volume.",
                    ),
                ],
                vec![
                    name,
                    json!(s(&spec["capacity"]["storage"])),
                    json!(access_modes(&spec["accessModes"])),
                    json!(s(&spec["persistentVolumeReclaimPolicy"])),
                    json!(phase),
                    json!(claim),
                    json!(s(&spec["storageClassName"])),
                    json!(or_unset(s(&spec["volumeAttributesClassName"]))),
                    json!(s(&st["reason"])),
                    a,
                    json!(or_none(s(&spec["volumeMode"]))),
                ],
            )
        }
        ("storage.k8s.io", "storageclasses") => {
            let default = o["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]
                == "true"
                || o["metadata"]["annotations"]["storageclass.beta.kubernetes.io/is-default-class"]
                    == "true";
            let n = if default {
                format!("{} (default)", s(&o["metadata"]["name"]))
            } else {
                s(&o["metadata"]["name"])
            };
            (
                vec![
                    col("Name", "string", 0, nm),
                    col(
                        "Provisioner",
                        "string",
                        0,
                        "Indicates the type of the provisioner.",
                    ),
                    col(
                        "ReclaimPolicy",
                        "string",
                        0,
                        "Indicates the type of the reclaim policy.",
                    ),
                    col(
                        "VolumeBindingMode",
                        "string",
                        0,
                        "Indicates when volume binding and dynamic provisioning should occur.",
                    ),
                    col(
                        "AllowVolumeExpansion",
                        "string",
                        0,
                        "Indicates whether the storage class allow volume expand.",
                    ),
                    col("Age", "string", 0, age_d),
                ],
                vec![
                    json!(n),
                    json!(s(&o["provisioner"])),
                    json!(o["reclaimPolicy"].as_str().unwrap_or("Delete")),
                    json!(o["volumeBindingMode"].as_str().unwrap_or("Immediate")),
                    json!(
                        o["allowVolumeExpansion"]
                            .as_bool()
                            .unwrap_or(false)
                            .to_string()
                    ),
                    a,
                ],
            )
        }
        ("storage.k8s.io", "csidrivers") => {
            let modes = or_none(join_strs(&spec["volumeLifecycleModes"], ","));
            let b = |v: &Value, d: bool| v.as_bool().unwrap_or(d).to_string();
            (
                vec![
                    col("Name", "string", 0, nm),
                    col(
                        "AttachRequired",
                        "boolean",
                        0,
                        "Indicates this CSI volume driver requires an attach operation.",
                    ),
                    col(
                        "PodInfoOnMount",
                        "boolean",
                        0,
                        "Indicates this CSI volume driver requires additional pod information during mount operations.",
                    ),
                    col(
                        "StorageCapacity",
                        "boolean",
                        0,
                        "Indicates this CSI volume driver publishes storage capacity.",
                    ),
                    col(
                        "TokenRequests",
                        "string",
                        0,
                        "Indicates the audience of service account tokens the CSI volume driver requests.",
                    ),
                    col(
                        "RequiresRepublish",
                        "boolean",
                        0,
                        "Indicates this CSI volume driver requires republish.",
                    ),
                    col(
                        "Modes",
                        "string",
                        0,
                        "Indicates volume lifecycle modes supported by the CSI driver.",
                    ),
                    col("Age", "string", 0, age_d),
                ],
                vec![
                    name,
                    json!(b(&spec["attachRequired"], true)),
                    json!(b(&spec["podInfoOnMount"], false)),
                    json!(b(&spec["storageCapacity"], false)),
                    json!(or_unset(
                        spec["tokenRequests"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|t| s(&t["audience"]))
                            .collect::<Vec<_>>()
                            .join(",")
                    )),
                    json!(b(&spec["requiresRepublish"], false)),
                    json!(modes),
                    a,
                ],
            )
        }
        ("apps", "deployments") => {
            let (c, i) = containers_images(&spec["template"]["spec"]);
            (
                vec![
                    col("Name", "string", 0, nm),
                    col("Ready", "string", 0, "Number of the pod with ready state"),
                    col(
                        "Up-to-date",
                        "string",
                        0,
                        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
                    ),
                    col(
                        "Available",
                        "string",
                        0,
                        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
                    ),
                    col("Age", "string", 0, age_d),
                    col(
                        "Containers",
                        "string",
                        1,
                        "Names of each container in the template.",
                    ),
                    col(
                        "Images",
                        "string",
                        1,
                        "Images referenced by each container in the template.",
                    ),
                    col(
                        "Selector",
                        "string",
                        1,
                        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
                    ),
                ],
                vec![
                    name,
                    json!(format!(
                        "{}/{}",
                        st["readyReplicas"].as_i64().unwrap_or(0),
                        spec["replicas"].as_i64().unwrap_or(1)
                    )),
                    json!(st["updatedReplicas"].as_i64().unwrap_or(0)),
                    json!(st["availableReplicas"].as_i64().unwrap_or(0)),
                    a,
                    json!(c),
                    json!(i),
                    json!(selector_string(&spec["selector"])),
                ],
            )
        }
        ("apps", "replicasets") => {
            let (c, i) = containers_images(&spec["template"]["spec"]);
            (
                vec![
                    col("Name", "string", 0, nm),
                    col("Desired", "integer", 0, "Number of desired pods."),
                    col("Current", "integer", 0, "Number of actual replicas."),
                    col(
                        "Ready",
                        "integer",
                        0,
                        "The number of ready replicas for this replica set.",
                    ),
                    col("Age", "string", 0, age_d),
                    col(
                        "Containers",
                        "string",
                        1,
                        "Names of each container in the template.",
                    ),
                    col(
                        "Images",
                        "string",
                        1,
                        "Images referenced by each container in the template.",
                    ),
                    col(
                        "Selector",
                        "string",
                        1,
                        "Selector is a label query over pods that should match the replica count.",
                    ),
                ],
                vec![
                    name,
                    json!(spec["replicas"].as_i64().unwrap_or(1)),
                    json!(st["replicas"].as_i64().unwrap_or(0)),
                    json!(st["readyReplicas"].as_i64().unwrap_or(0)),
                    a,
                    json!(c),
                    json!(i),
                    json!(selector_string(&spec["selector"])),
                ],
            )
        }
        ("apps", "statefulsets") => {
            let (c, i) = containers_images(&spec["template"]["spec"]);
            (
                vec![
                    col("Name", "string", 0, nm),
                    col("Ready", "string", 0, "Number of the pod with ready state"),
                    col("Age", "string", 0, age_d),
                    col(
                        "Containers",
                        "string",
                        1,
                        "Names of each container in the template.",
                    ),
                    col(
                        "Images",
                        "string",
                        1,
                        "Images referenced by each container in the template.",
                    ),
                ],
                vec![
                    name,
                    json!(format!(
                        "{}/{}",
                        st["readyReplicas"].as_i64().unwrap_or(0),
                        spec["replicas"].as_i64().unwrap_or(1)
                    )),
                    a,
                    json!(c),
                    json!(i),
                ],
            )
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => (
            vec![
                col("Name", "string", 0, nm),
                col("Created At", "date", 0, age_d),
            ],
            vec![name, json!(s(&o["metadata"]["creationTimestamp"]))],
        ),
        _ if !rt.printer_columns.is_empty() => {
            let mut cols = vec![col("Name", "string", 0, nm)];
            let mut cells = vec![name];
            for pc in &rt.printer_columns {
                let ty = pc["type"].as_str().unwrap_or("string");
                cols.push(col(
                    pc["name"].as_str().unwrap_or(""),
                    ty,
                    pc["priority"].as_u64().unwrap_or(0) as u8,
                    pc["description"].as_str().unwrap_or(""),
                ));
                let v = jsonpath_simple(o, pc["jsonPath"].as_str().unwrap_or(""));
                cells.push(if ty == "date" {
                    json!(age(v.as_str()))
                } else if v.is_null() {
                    json!("")
                } else {
                    v
                });
            }
            if !rt
                .printer_columns
                .iter()
                .any(|c| c["jsonPath"] == ".metadata.creationTimestamp")
            {
                cols.push(col("Age", "date", 0, age_d));
                cells.push(a);
            }
            (cols, cells)
        }
        _ => (
            vec![col("Name", "string", 0, nm), col("Age", "string", 0, age_d)],
            vec![name, a],
        ),
    }
}

fn or_unset(v: String) -> String {
    if v.is_empty() { "<unset>".into() } else { v }
}

/// A `meta.k8s.io/v1` Table of `items`. `include_object`: `None` (default Metadata), `Object`, or `None` literal.
pub fn to_table(
    rt: &ResourceType,
    items: &[Value],
    rv: &str,
    include_object: Option<&str>,
) -> Value {
    let mut columns = None;
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let (cols, cells) = columns_and_cells(rt, o);
            columns.get_or_insert(cols);
            let object = match include_object {
                Some("Object") => o.clone(),
                Some("None") => Value::Null,
                _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}),
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    let columns = columns.unwrap_or_else(|| columns_and_cells(rt, &json!({"metadata": {}})).0);
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "columnDefinitions": columns, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_looping_pod_row() {
        let finished = crate::clock::format_rfc3339(now_unix() - 40);
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "kube-sim-node"},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 6, "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 1, "finishedAt": finished}}},
                {"name": "b", "ready": true, "restartCount": 0, "state": {"running": {}}}]}});
        let row = pod_row(&pod);
        assert_eq!(row[1], "1/2");
        assert_eq!(row[2], "CrashLoopBackOff");
        assert_eq!(row[3], "6 (40s ago)");
        assert_eq!(row[6], "kube-sim-node");
    }

    #[test]
    fn endpoints_cell_is_none_without_ready_addresses() {
        assert_eq!(endpoints_cell(&json!({"subsets": []})), "<none>");
        let ep =
            json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 9090}]}]});
        assert_eq!(endpoints_cell(&ep), "10.0.0.1:9090");
    }
}
