//! Serving checks: why Prometheus is not answering — pod never created (FailedCreate with a missing volume, incident
//! 5), crash loops and OOM kills with the last termination message, containers stuck waiting, failing probes, probe
//! paths that miss the route prefix, and the Service without ready endpoints an ingress turns into `503 no healthy
//! upstream` (prometheus-facts.md §6.3, §6.4, §1.2).

use crate::discover::Flavour;
use crate::doctor::catalog::Finding;
use crate::doctor::snapshot::InstanceSnapshot;
use k8s_openapi::api::core::v1::Probe;

/// `… volumeMounts[1].name: Not found: "storage-volume"` → `storage-volume`.
pub(crate) fn missing_volume(message: &str) -> Option<String> {
    let at = message.find("volumeMounts[")?;
    let rest = &message[at..];
    let nf = rest.find("Not found: \"")?;
    let name = &rest[nf + "Not found: \"".len()..];
    Some(name.split('"').next()?.to_string())
}

/// The volume or claim template the user most likely meant: a name ending in the missing one's last part
/// (`…-db` for `prometheus-db`), else the closest by shared suffix.
fn meant(missing: &str, candidates: &[String]) -> Option<String> {
    let tail = missing.rsplit('-').next().unwrap_or(missing);
    candidates
        .iter()
        .find(|c| c.ends_with(&format!("-{tail}")) || c.ends_with(missing))
        .or_else(|| candidates.iter().find(|c| c.contains(tail)))
        .cloned()
}

/// Restarts after which a not-ready container with a failed last run is crash-looping even between back-offs.
const CRASH_LOOP_RESTARTS: i32 = 3;

fn probe_path(p: &Option<Probe>) -> Option<String> {
    p.as_ref()?.http_get.as_ref()?.path.clone()
}

/// Where a container of a pod spec (as JSON) mounts `volume`: `(field, container index, mount index, container)`,
/// `field` being `initContainers` or `containers`.
fn mount_of(
    spec: &serde_json::Value,
    volume: &str,
) -> Option<(&'static str, usize, usize, String)> {
    ["initContainers", "containers"]
        .into_iter()
        .find_map(|field| {
            spec.get(field)?
                .as_array()?
                .iter()
                .enumerate()
                .find_map(|(i, c)| {
                    let j = c
                        .get("volumeMounts")?
                        .as_array()?
                        .iter()
                        .position(|m| m.get("name").and_then(|n| n.as_str()) == Some(volume))?;
                    Some((field, i, j, c.get("name")?.as_str()?.to_string()))
                })
        })
}

/// PROM-502's fix. It renames the *mount* to the volume that exists and never the volume or claim template: a
/// renamed claim template makes the StatefulSet controller create new, empty claims (`<template>-<pod>`) and
/// orphans the ones holding the history (issue 14 class 7). Where the mount can be located the fix is a JSON patch
/// whose `test` op makes it apply only to the object as doctor saw it.
fn missing_volume_fix(
    s: &InstanceSnapshot,
    missing: &str,
    guess: Option<&str>,
    candidates: &[String],
) -> String {
    let ns = &s.instance.namespace;
    // The object to patch and the pod spec inside it (JSON pointer prefix).
    let (object, spec, prefix) = match &s.instance.flavour {
        Flavour::Operator { prometheus } => (
            format!("prometheus/{prometheus}"),
            s.prometheus.as_ref().and_then(|p| p.get("spec")).cloned(),
            "/spec",
        ),
        _ => {
            let workload = s
                .instance
                .workloads
                .iter()
                .find(|w| w.kind != crate::discover::WorkloadKind::Pod);
            (
                workload.map(|w| w.display()).unwrap_or_else(|| s.target()),
                workload
                    .and(s.pod_spec())
                    .and_then(|sp| serde_json::to_value(sp).ok()),
                "/spec/template/spec",
            )
        }
    };
    let located = spec.as_ref().and_then(|sp| mount_of(sp, missing));
    let Some(volume) = guess else {
        let mut volumes: Vec<&str> = candidates.iter().map(String::as_str).collect();
        volumes.sort_unstable();
        volumes.dedup();
        let container = located
            .as_ref()
            .map(|(_, _, _, c)| format!(" of container {c}"))
            .unwrap_or_default();
        return format!(
            "remove the volumeMount `{missing}`{container} from {object}, or rename it to one of the pod's volumes ({}) — never to a new volume, which would start empty",
            if volumes.is_empty() {
                "none found".to_string()
            } else {
                volumes.join(", ")
            }
        );
    };
    let helm = match &s.instance.flavour {
        Flavour::Operator { .. } => " (installed with kube-prometheus-stack: rename it in prometheus.prometheusSpec.initContainers/containers too, or the next upgrade brings it back)".to_string(),
        Flavour::Chart { release, .. } => format!(" (then make the same change in release {release}'s values, or the next upgrade brings it back)"),
        Flavour::Plain => String::new(),
    };
    match located {
        Some((field, i, j, container)) => {
            let path = format!("{prefix}/{field}/{i}/volumeMounts/{j}/name");
            format!(
                "rename the mount, not the volume (renaming the volume or claim template would start Prometheus on new, empty claims): container {container} mounts `{missing}`; point it at `{volume}`: kubectl patch {object} -n {ns} --type json -p '[{{\"op\":\"test\",\"path\":\"{path}\",\"value\":\"{missing}\"}},{{\"op\":\"replace\",\"path\":\"{path}\",\"value\":\"{volume}\"}}]'{helm}"
            )
        }
        None => format!(
            "rename the volumeMount `{missing}` to `{volume}` in {object} (kubectl edit {object} -n {ns}); keep the volume and claim template names as they are, or Prometheus starts on new, empty claims{helm}"
        ),
    }
}

/// The volumes a `Prometheus` resource's pod will have: its `spec.volumes` and the data volume the operator adds
/// (`prometheus-<name>-db`, or the claim template's own name; prometheus-operator pkg/prometheus/server
/// statefulset.go `volumeName`).
fn resource_volumes(name: &str, resource: &serde_json::Value) -> Vec<String> {
    let data = resource
        .pointer("/spec/storage/volumeClaimTemplate/metadata/name")
        .and_then(|v| v.as_str())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("prometheus-{name}-db"));
    let mut out = vec![data];
    out.extend(
        resource
            .pointer("/spec/volumes")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("name")?.as_str().map(str::to_string)),
    );
    out
}

/// The operator could not render its `Prometheus` resource (no StatefulSet exists for it): PROM-502 when the API
/// server refused a volumeMount naming a missing volume, else PROM-510 with the operator's message.
fn unrendered(s: &InstanceSnapshot, prometheus: &str) -> Option<Finding> {
    if !s.statefulsets.is_empty() {
        return None;
    }
    let resource = s.prometheus.as_ref()?;
    let message = crate::model::reconciled_false(resource)?;
    let object = format!("prometheus/{prometheus}");
    let mut evidence = vec![format!("{object} condition Reconciled=False: {message}")];
    // `Available` says what the operator sees of the pods (none here); its reason backs "nothing runs".
    if let Some(available) = resource
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .find(|c| c.get("type").and_then(|t| t.as_str()) == Some("Available"))
    {
        let field = |k: &str| available.get(k).and_then(|v| v.as_str()).unwrap_or("");
        evidence.push(format!(
            "{object} condition Available={}{}",
            field("status"),
            [field("reason"), field("message")]
                .iter()
                .filter(|t| !t.is_empty())
                .map(|t| format!(": {t}"))
                .collect::<String>()
        ));
    }
    let Some(missing) = missing_volume(&message) else {
        return Some(Finding::new(
            "PROM-510",
            object.clone(),
            evidence,
            format!(
                "The operator cannot render this Prometheus: {message}. It has no StatefulSet and no pod, so                  nothing runs until the resource is corrected."
            ),
            format!(
                "correct {object} -n {} as the message says (kubectl edit {object} -n {}); the operator retries on its own",
                s.instance.namespace, s.instance.namespace
            ),
        ));
    };
    let candidates = resource_volumes(prometheus, resource);
    let guess = meant(&missing, &candidates);
    let meaning = match &guess {
        Some(g) => format!(
            "A volumeMount names `{missing}`, but the pod has no volume of that name; the volume that exists is              `{g}`. The API server refused the StatefulSet the operator generated, so there is no StatefulSet and no              pod."
        ),
        None => format!(
            "A volumeMount names `{missing}`, but the pod has no volume of that name. The API server refused the              StatefulSet the operator generated, so there is no StatefulSet and no pod."
        ),
    };
    let fix = missing_volume_fix(s, &missing, guess.as_deref(), &candidates);
    Some(Finding::new("PROM-502", object, evidence, meaning, fix))
}

pub fn check(s: &InstanceSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    let ns = &s.instance.namespace;
    if let Flavour::Operator { prometheus } = &s.instance.flavour
        && let Some(f) = unrendered(s, prometheus)
    {
        out.push(f);
    }
    // PROM-502: the StatefulSet controller cannot create the pod. Once every desired pod exists the event is history.
    let desired: i32 = s.instance.workloads.iter().map(|w| w.replicas).sum();
    let missing_pods = (s.instance.pods.len() as i32) < desired;
    if let Some(event) = s.events.iter().rev().filter(|_| missing_pods).find(|e| {
        e.reason.as_deref() == Some("FailedCreate")
            && e.message
                .as_deref()
                .is_some_and(|m| missing_volume(m).is_some())
    }) {
        let message = event.message.clone().unwrap_or_default();
        let missing = missing_volume(&message).unwrap_or_default();
        let mut candidates: Vec<String> = s
            .statefulsets
            .iter()
            .flat_map(|sts| {
                sts.spec
                    .iter()
                    .flat_map(|sp| sp.volume_claim_templates.iter().flatten())
            })
            .filter_map(|t| t.metadata.name.clone())
            .collect();
        candidates.extend(
            s.pod_spec()
                .into_iter()
                .flat_map(|sp| sp.volumes.iter().flatten())
                .map(|v| v.name.clone()),
        );
        let guess = meant(&missing, &candidates);
        let object = format!(
            "{}/{}",
            event
                .involved_object
                .kind
                .as_deref()
                .unwrap_or("statefulset")
                .to_lowercase(),
            event.involved_object.name.as_deref().unwrap_or_default()
        );
        let meaning = match &guess {
            Some(g) => format!(
                "A volumeMount names `{missing}`, but the pod has no volume of that name; the volume that exists is \
                 `{g}`. The StatefulSet was accepted (its pod template is not validated) but no pod can be created."
            ),
            None => format!(
                "A volumeMount names `{missing}`, but the pod has no volume of that name, so no pod can be created."
            ),
        };
        let fix = missing_volume_fix(s, &missing, guess.as_deref(), &candidates);
        out.push(Finding::new(
            "PROM-502",
            object,
            vec![format!("event FailedCreate: {message}")],
            meaning,
            fix,
        ));
    }
    // Container states.
    for (pod, st) in s.prometheus_statuses() {
        let last = st.last_state.as_ref().and_then(|l| l.terminated.as_ref());
        let waiting = st.state.as_ref().and_then(|x| x.waiting.as_ref());
        let last_line = last.map(|t| {
            let msg = t
                .message
                .as_deref()
                .map(|m| m.trim().lines().last().unwrap_or_default().to_string());
            format!(
                "last termination: exit code {}{}{}",
                t.exit_code,
                t.reason
                    .as_deref()
                    .map(|r| format!(", reason {r}"))
                    .unwrap_or_default(),
                msg.map(|m| format!(", message: {m}")).unwrap_or_default()
            )
        });
        if last.and_then(|t| t.reason.as_deref()) == Some("OOMKilled") {
            let limit = s.prometheus_container().and_then(|c| {
                c.resources
                    .as_ref()?
                    .limits
                    .as_ref()?
                    .get("memory")
                    .map(|q| q.0.clone())
            });
            let mut evidence = vec![format!(
                "pod/{pod} container {}: {}",
                st.name,
                last_line.clone().unwrap_or_default()
            )];
            if let Some(l) = &limit {
                evidence.push(format!("memory limit: {l}"));
            }
            let series = s
                .live
                .iter()
                .find_map(|l| l.tsdb.as_ref()?.pointer("/headStats/numSeries")?.as_u64());
            if let Some(n) = series {
                evidence.push(format!("head series now: {n} (GET /api/v1/status/tsdb)"));
            }
            out.push(Finding::new(
                "PROM-506",
                format!("pod/{pod}"),
                evidence,
                "The kernel killed Prometheus for exceeding its memory limit; it restarts, replays the WAL (needing \
                 the same memory again) and may never become ready. Memory grows with active series.",
                match &s.instance.flavour {
                    Flavour::Chart { release, .. } => format!("raise `server.resources.limits.memory` in release {release}'s values (and look for high-cardinality series in /api/v1/status/tsdb)"),
                    Flavour::Operator { prometheus } => format!("raise spec.resources.limits.memory: kubectl edit prometheus/{prometheus} -n {ns}"),
                    Flavour::Plain => format!("raise the memory limit: kubectl set resources {} -n {ns} -c {} --limits=memory=<more>", s.target(), st.name),
                },
            ));
        }
        match waiting.and_then(|w| w.reason.as_deref()) {
            // Between back-offs the container is briefly running (or just terminated) and kubectl shows no
            // CrashLoopBackOff; repeated non-zero exits of a container that is not ready are the same loop.
            reason
                if reason == Some("CrashLoopBackOff")
                    || (st.restart_count >= CRASH_LOOP_RESTARTS
                        && !st.ready
                        && last.is_some_and(|t| t.exit_code != 0)) =>
            {
                let state = reason.unwrap_or("restarting");
                let mut evidence = vec![format!(
                    "pod/{pod} container {}: {state}, {} restarts",
                    st.name, st.restart_count
                )];
                evidence.extend(last_line.clone());
                out.push(Finding::new(
                    "PROM-505",
                    format!("pod/{pod}"),
                    evidence,
                    "Prometheus exits right after starting and Kubernetes waits longer before each restart; the cause \
                     is in the findings above or in the previous log.",
                    format!("kubectl logs {pod} -n {ns} -c {} --previous", st.name),
                ));
            }
            Some(
                reason @ ("ImagePullBackOff"
                | "ErrImagePull"
                | "CreateContainerConfigError"
                | "CreateContainerError"
                | "InvalidImageName"),
            ) => {
                let msg = waiting.and_then(|w| w.message.clone()).unwrap_or_default();
                out.push(Finding::new(
                    "PROM-507",
                    format!("pod/{pod}"),
                    vec![format!("pod/{pod} container {}: {reason}: {msg}", st.name)],
                    "The container cannot start at all.",
                    format!("kubectl describe pod {pod} -n {ns}"),
                ));
            }
            _ => {}
        }
    }
    // PROM-508: a Ready container whose port hangs or answers garbage (an HTML error page, binary, an empty body).
    // Not-ready pods are left to the probe and crash checks: during a WAL replay Prometheus answers 503 for a while.
    let silent: Vec<(&str, &str)> = s
        .live
        .iter()
        .filter(|l| s.container_ready(&l.pod))
        .filter_map(|l| Some((l.pod.as_str(), l.error.as_deref()?)))
        .collect();
    if let Some((pod, _)) = silent.first() {
        out.push(Finding::new(
            "PROM-508",
            s.target(),
            silent
                .iter()
                .map(|(pod, error)| format!("pod/{pod}: {error}"))
                .collect(),
            "The container runs and counts as ready, but what listens on the Prometheus port does not answer like \
             Prometheus: reloads, queries and scrapes of it fail. Either the process hangs, or the port belongs to \
             something else (a wrong image or command, a proxy answering an error page).",
            format!(
                "kubectl logs -n {ns} {pod} -c {container}; compare the container's image and command with the \
                 workload's intent: kubectl get pod -n {ns} {pod} -o yaml",
                container = s.instance.container
            ),
        ));
    }
    // Probes.
    if let Some(c) = s.prometheus_container() {
        let prefix = s.instance.route_prefix.trim_end_matches('/');
        let mut wrong = Vec::new();
        for (kind, probe, endpoint) in [
            ("readinessProbe", &c.readiness_probe, "/-/ready"),
            ("livenessProbe", &c.liveness_probe, "/-/healthy"),
            ("startupProbe", &c.startup_probe, "/-/ready"),
        ] {
            if let Some(path) = probe_path(probe) {
                let expected_prefix = format!("{prefix}/-/");
                if !path.starts_with(&expected_prefix) {
                    wrong.push(format!(
                        "{kind} path {path} (Prometheus serves {prefix}{endpoint})"
                    ));
                }
            }
        }
        if !wrong.is_empty() {
            wrong.push(format!("route prefix: {}", s.instance.route_prefix));
            out.push(Finding::new(
                "PROM-504",
                s.target(),
                wrong,
                "Prometheus moved its routes under the route prefix, but the probes still call the old paths and get \
                 404: the pod never becomes ready (or is restarted by the liveness probe).",
                match &s.instance.flavour {
                    Flavour::Chart { release, .. } => format!("set `server.prefixURL` to the path of `server.baseURL` in release {release}'s values and `helm upgrade`"),
                    _ => format!("prefix the probe paths with {prefix}"),
                },
            ));
        }
    }
    let unhealthy: Vec<String> = s
        .events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("Unhealthy"))
        .filter(|e| e.involved_object.kind.as_deref() == Some("Pod"))
        .map(|e| {
            format!(
                "pod/{}: {}{}",
                e.involved_object.name.as_deref().unwrap_or_default(),
                e.message.as_deref().unwrap_or_default(),
                e.count
                    .filter(|c| *c > 1)
                    .map(|c| format!(" (×{c})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let all_ready =
        !s.instance.pods.is_empty() && s.instance.pods.iter().all(|p| s.container_ready(&p.name));
    if !unhealthy.is_empty() && !all_ready {
        out.push(Finding::new(
            "PROM-503",
            s.target(),
            unhealthy.into_iter().take(5).collect(),
            "The kubelet's probes fail, so the pod is kept out of the Service (readiness) or restarted (liveness). \
             During a long WAL replay readiness is expected to fail for a while.",
            format!("kubectl describe pod -n {ns} {}", s.instance.pods.first().map(|p| p.name.as_str()).unwrap_or_default()),
        ));
    }
    // Services without ready endpoints.
    let mut empty = Vec::new();
    for svc in &s.services {
        let name = svc.metadata.name.clone().unwrap_or_default();
        let Some(ep) = s
            .endpoints
            .iter()
            .find(|e| e.metadata.name.as_deref() == Some(name.as_str()))
        else {
            continue;
        };
        let subsets = ep.subsets.iter().flatten();
        let ready: usize = subsets
            .clone()
            .map(|ss| ss.addresses.as_ref().map_or(0, Vec::len))
            .sum();
        let not_ready: usize = subsets
            .map(|ss| ss.not_ready_addresses.as_ref().map_or(0, Vec::len))
            .sum();
        if ready == 0 {
            empty.push((name, not_ready));
        }
    }
    if let Some((first, _)) = empty.first() {
        out.push(Finding::new(
            "PROM-501",
            format!("service/{first}"),
            empty
                .iter()
                .map(|(n, nr)| format!("endpoints/{n}: 0 ready addresses, {nr} not ready"))
                .collect(),
            format!(
                "Nothing behind the Service is ready, so an ingress in front answers 503: Envoy/Istio `no healthy \
                 upstream`, ingress-nginx logs `Service \"{ns}/{first}\" does not have any active Endpoint.` The \
                 cause is why the pod is not ready (see the findings above)."
            ),
            format!("fix the pod, then watch `kubectl get endpoints {first} -n {ns} -w`"),
        ));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::doctor::checks::fixtures::{CHART, KPS, ids, instance, with_item_after};

    const INCIDENT_5: &str = "create Pod prometheus-kps-kube-prometheus-stack-prometheus-0 in StatefulSet prometheus-kps-kube-prometheus-stack-prometheus failed error: Pod \"prometheus-kps-kube-prometheus-stack-prometheus-0\" is invalid: spec.initContainers[1].volumeMounts[0].name: Not found: \"prometheus-db\"";

    /// Incident 5 as a fixture: the pod was never created (also walked by `checks::tests::every_fix_keeps_the_data`).
    pub(crate) fn kps_not_created() -> String {
        // No pod, endpoints empty, and the controller's event.
        let without_pod: Vec<&str> = KPS
            .split("\n---\n")
            .filter(|d| !d.contains("kind: Pod\n"))
            .collect();
        // Incident 5: the Prometheus resource adds an initContainer mounting `prometheus-db`.
        let mut yaml = without_pod.join("\n---\n").replacen(
            "spec:\n  replicas: 1\n",
            "spec:\n  replicas: 1\n  initContainers:\n  - name: chown-data\n    image: busybox:1.36\n    command: [sh, -c, \"chown -R 1000:2000 /prometheus\"]\n    volumeMounts:\n    - name: prometheus-db\n      mountPath: /prometheus\n",
            1,
        ).replace(
            "subsets:\n- addresses:\n  - ip: 10.244.0.20\n  ports:\n  - name: http-web\n    port: 9090\n",
            "subsets: []\n",
        );
        yaml.push_str(&format!(
            "\n---\napiVersion: v1\nkind: Event\nmetadata:\n  name: e1\n  namespace: monitoring\ninvolvedObject:\n  kind: StatefulSet\n  name: prometheus-kps-kube-prometheus-stack-prometheus\n  namespace: monitoring\nreason: FailedCreate\ntype: Warning\nmessage: '{}'\n",
            INCIDENT_5.replace('\'', "''")
        ));
        yaml
    }

    #[test]
    fn failed_create_names_the_claim_template_the_user_meant() {
        let f = check(&instance(&kps_not_created(), &[]));
        assert_eq!(ids(&f), ["PROM-502", "PROM-501"]);
        assert!(
            f[0].meaning
                .contains("`prometheus-kps-kube-prometheus-stack-prometheus-db`"),
            "{}",
            f[0].meaning
        );
        // The mount is renamed, never the claim template (that would start on new, empty claims).
        assert!(!f[0].fix.contains("volumeClaimTemplate\":"), "{}", f[0].fix);
        assert!(
            f[0].fix.contains(
                r#"kubectl patch prometheus/kps-kube-prometheus-stack-prometheus -n monitoring --type json -p '[{"op":"test","path":"/spec/initContainers/0/volumeMounts/0/name","value":"prometheus-db"},{"op":"replace","path":"/spec/initContainers/0/volumeMounts/0/name","value":"prometheus-kps-kube-prometheus-stack-prometheus-db"}]'"#
            ),
            "{}",
            f[0].fix
        );
        assert_eq!(
            f[0].object,
            "statefulset/prometheus-kps-kube-prometheus-stack-prometheus"
        );
        assert!(f[1].meaning.contains("no healthy upstream"));
    }

    #[test]
    fn the_fix_renames_the_mount_of_a_workload_and_never_adds_a_volume() {
        // The chart's Deployment with an initContainer mounting `data`, which is no volume of the pod.
        let yaml = CHART.replacen(
            "      containers:\n",
            "      initContainers:\n      - name: chown\n        image: busybox\n        volumeMounts:\n        - name: data\n          mountPath: /data\n      containers:\n",
            1,
        );
        let s = instance(&yaml, &[]);
        let candidates = vec!["config-volume".to_string(), "storage-volume".to_string()];
        let fix = missing_volume_fix(&s, "data", Some("storage-volume"), &candidates);
        assert!(
            fix.contains(r#"kubectl patch deploy/prometheus-server -n monitoring --type json -p '[{"op":"test","path":"/spec/template/spec/initContainers/0/volumeMounts/0/name","value":"data"},{"op":"replace","path":"/spec/template/spec/initContainers/0/volumeMounts/0/name","value":"storage-volume"}]'"#),
            "{fix}"
        );
        assert!(fix.contains("release prometheus's values"), "{fix}");
        // No volume it could have meant: remove or rename the mount, never a new (empty) volume.
        let fix = missing_volume_fix(&s, "data", None, &candidates);
        assert!(
            fix.starts_with("remove the volumeMount `data` of container chown from deploy/prometheus-server, or rename it to one of the pod's volumes (config-volume, storage-volume)"),
            "{fix}"
        );
        assert_eq!(crate::doctor::checks::endangers_data(&fix), None, "{fix}");
    }

    #[test]
    fn a_failed_create_event_is_history_once_the_pods_exist() {
        let mut yaml = KPS.to_string();
        yaml.push_str(&format!(
            "\n---\napiVersion: v1\nkind: Event\nmetadata:\n  name: e1\n  namespace: monitoring\ninvolvedObject:\n  kind: StatefulSet\n  name: prometheus-kps-kube-prometheus-stack-prometheus\n  namespace: monitoring\nreason: FailedCreate\ntype: Warning\nmessage: '{}'\n",
            INCIDENT_5.replace('\'', "''")
        ));
        assert!(check(&instance(&yaml, &[])).is_empty());
    }

    #[test]
    fn crash_loop_with_the_last_termination_message() {
        let yaml = CHART.replace(
            "  - name: prometheus-server\n    ready: true\n    restartCount: 0\n    image: quay.io/prometheus/prometheus:v2.48.0\n    imageID: \"\"\n    state:\n      running:\n        startedAt: \"2026-11-21T10:00:00Z\"\n",
            "  - name: prometheus-server\n    ready: false\n    restartCount: 6\n    image: quay.io/prometheus/prometheus:v2.48.0\n    imageID: \"\"\n    state:\n      waiting:\n        reason: CrashLoopBackOff\n    lastState:\n      terminated:\n        exitCode: 137\n        reason: OOMKilled\n        message: \"ts=x level=info msg=\\\"Replaying WAL, this may take a while\\\"\"\n",
        );
        let f = check(&instance(&yaml, &[]));
        assert_eq!(ids(&f), ["PROM-506", "PROM-505"]);
        assert!(
            f[1].evidence[1].contains("exit code 137, reason OOMKilled, message: ts=x level=info")
        );
        assert_eq!(
            f[1].fix,
            "kubectl logs prometheus-server-6d9f8b7c4-x2x9k -n monitoring -c prometheus-server --previous"
        );
    }

    #[test]
    fn a_crash_loop_between_back_offs_is_still_one() {
        let yaml = CHART.replace(
            "  - name: prometheus-server\n    ready: true\n    restartCount: 0\n",
            "  - name: prometheus-server\n    ready: false\n    restartCount: 4\n    lastState:\n      terminated:\n        exitCode: 2\n",
        );
        let f = check(&instance(&yaml, &[]));
        assert_eq!(ids(&f), ["PROM-505"]);
        assert!(
            f[0].evidence[0].contains("restarting, 4 restarts"),
            "{:?}",
            f[0].evidence
        );
    }

    #[test]
    fn probe_paths_must_follow_the_route_prefix() {
        let yaml = with_item_after(
            CHART,
            "--web.enable-lifecycle",
            "--web.route-prefix=/prometheus",
        );
        let f = check(&instance(&yaml, &[]));
        assert_eq!(ids(&f), ["PROM-504"]);
        assert!(
            f[0].evidence[0]
                .contains("readinessProbe path /-/ready (Prometheus serves /prometheus/-/ready)")
        );
    }

    #[test]
    fn healthy_fixtures_serve() {
        assert!(check(&instance(CHART, &[])).is_empty());
        assert!(check(&instance(KPS, &[])).is_empty());
    }

    #[test]
    fn missing_volume_parsing() {
        assert_eq!(missing_volume(INCIDENT_5).as_deref(), Some("prometheus-db"));
        assert_eq!(missing_volume("Error creating: pods is forbidden"), None);
    }
}

/// Issue 16: what the real control plane leaves of incident 5 — the API server refused the StatefulSet the operator
/// generated, so only the `Prometheus` resource exists, with the operator's `Reconciled=False` condition.
#[cfg(test)]
pub(crate) mod unrendered_tests {
    use super::*;
    use crate::doctor::checks::fixtures::{KPS, ids, instance};

    pub(crate) const REFUSED: &str = "StatefulSet.apps \"prometheus-kps-kube-prometheus-stack-prometheus\" is invalid: spec.template.spec.initContainers[1].volumeMounts[0].name: Not found: \"prometheus-db\"";

    /// KPS without its StatefulSet and pod, the resource carrying `initContainers` that mount `prometheus-db` and
    /// the status the operator writes (`message` is whatever the condition says).
    pub(crate) fn kps_unrendered(message: &str) -> String {
        let docs: Vec<&str> = KPS
            .split("\n---\n")
            .filter(|d| !d.contains("kind: Pod\n") && !d.contains("kind: StatefulSet\n"))
            .collect();
        docs.join("\n---\n").replacen(
            "spec:\n  replicas: 1\n  retention: 10d\n",
            &format!(
                "spec:\n  replicas: 1\n  retention: 10d\n  initContainers:\n  - name: chown-data\n    image: busybox:1.36\n    volumeMounts:\n    - name: prometheus-db\n      mountPath: /prometheus\nstatus:\n  conditions:\n  - type: Available\n    status: \"False\"\n    reason: NoPodReady\n  - type: Reconciled\n    status: \"False\"\n    reason: ReconciliationFailed\n    message: {}\n",
                serde_json::to_string(message).expect("a string")
            ),
            1,
        )
    }

    #[test]
    fn a_refused_statefulset_is_prom_502_renaming_the_mount_in_the_resource() {
        let s = instance(&kps_unrendered(REFUSED), &[]);
        assert!(s.instance.workloads.is_empty(), "{:?}", s.instance);
        let f = check(&s);
        // No pod, so no Service is matched to it: PROM-501 cannot be told from the objects alone.
        assert_eq!(ids(&f), ["PROM-502"], "{f:#?}");
        assert_eq!(
            f[0].object,
            "prometheus/kps-kube-prometheus-stack-prometheus"
        );
        assert!(
            f[0].evidence[0].contains("Reconciled=False")
                && f[0].evidence[0].contains("Not found: \"prometheus-db\""),
            "{:?}",
            f[0].evidence
        );
        assert_eq!(
            f[0].evidence[1],
            "prometheus/kps-kube-prometheus-stack-prometheus condition Available=False: NoPodReady"
        );
        assert!(
            f[0].meaning
                .contains("`prometheus-kps-kube-prometheus-stack-prometheus-db`"),
            "{}",
            f[0].meaning
        );
        assert!(
            f[0].fix.contains(r#"kubectl patch prometheus/kps-kube-prometheus-stack-prometheus -n monitoring --type json -p '[{"op":"test","path":"/spec/initContainers/0/volumeMounts/0/name","value":"prometheus-db"},{"op":"replace","path":"/spec/initContainers/0/volumeMounts/0/name","value":"prometheus-kps-kube-prometheus-stack-prometheus-db"}]'"#),
            "{}",
            f[0].fix
        );
    }

    #[test]
    fn any_other_refusal_is_prom_510_quoting_the_operator() {
        let message = "spec.retention: Invalid value: \"10x\"\u{1b}[2J";
        let f = check(&instance(&kps_unrendered(message), &[]));
        assert_eq!(ids(&f)[0], "PROM-510", "{f:#?}");
        assert!(f[0].meaning.contains(message), "{}", f[0].meaning);
    }

    #[test]
    fn a_reconciled_resource_is_no_finding() {
        let yaml = kps_unrendered(REFUSED).replace(
            "type: Reconciled\n    status: \"False\"",
            "type: Reconciled\n    status: \"True\"",
        );
        let f = check(&instance(&yaml, &[]));
        assert!(
            !ids(&f).contains(&"PROM-502") && !ids(&f).contains(&"PROM-510"),
            "{f:#?}"
        );
    }
}
