//! `doctor --from-dump DIR`: build the same [`Snapshot`] offline from a `kubectl cluster-info dump
//! --output-directory` tree (its `NS/*.json` lists and `NS/POD/logs.txt`) plus any `kubectl get -o yaml|json` files
//! placed beside it. The file reading is here; splitting the dump's log files is a pure function.

use crate::error::{Error, Result};
use crate::inspect::snapshot::Data;
use crate::inspect::snapshot::{ContainerLog, Gap, Objects, Snapshot, assemble};
use std::path::Path;

/// Load a dump directory into a snapshot, narrowed by `target` when given.
pub fn load(dir: &Path, target: Option<&str>) -> Result<Snapshot> {
    let io = |action: String| move |source| Error::Io { action, source };
    if !dir.is_dir() {
        return Err(Error::usage(
            format!("`{}` is not a directory", dir.display()),
            Some("create one with `kubectl cluster-info dump --output-directory DIR --namespaces NS`".to_string()),
        ));
    }
    let mut objects = Objects::default();
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io(format!("read directory {}", d.display())))? {
            let path = entry
                .map_err(io(format!("read directory {}", d.display())))?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    for path in files {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let is_log = path.file_name().and_then(|n| n.to_str()) == Some("logs.txt");
        if !(is_log || matches!(ext, "json" | "yaml" | "yml")) {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(io(format!("read {}", path.display())))?;
        if is_log {
            objects.logs.extend(split_dump_logs(&text));
        } else {
            // The dump writes several JSON documents (lists) per file in some versions; YAML's multi-document
            // reader takes JSON documents too.
            objects.add_text(&text).map_err(|e| {
                Error::usage(
                    format!("{} is not Kubernetes JSON/YAML: {e}", path.display()),
                    None,
                )
            })?;
        }
    }
    // A dump has no kubelet stats and no live Prometheus answers; say so rather than look clean.
    for data in [Data::VolumeStats, Data::PrometheusApi] {
        objects
            .gaps
            .push((None, Gap::absent(data, "not in a cluster-info dump")));
    }
    let mut instances = assemble(&objects);
    if let Some(t) = target {
        let parsed = crate::discover::parse_target(t)?;
        let keep: Vec<String> = crate::discover::select(
            &instances
                .iter()
                .map(|s| s.instance.clone())
                .collect::<Vec<_>>(),
            &parsed,
        )
        .into_iter()
        .map(|i| format!("{}/{}", i.namespace, i.name))
        .collect();
        instances.retain(|s| keep.contains(&s.display()));
    }
    Ok(Snapshot {
        instances,
        source: format!("dump {}", dir.display()),
    })
}

/// Split a dump's `logs.txt`: `==== START logs for container C of pod NS/POD ====` … `==== END logs for container
/// C of pod NS/POD ====` (kubectl's cluster-info dump writes one such block per container).
pub fn split_dump_logs(text: &str) -> Vec<ContainerLog> {
    let mut out = Vec::new();
    let mut current: Option<ContainerLog> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("==== START logs for container ") {
            let rest = rest.trim_end_matches(" ====");
            if let Some((container, pod)) = rest.split_once(" of pod ") {
                let pod = pod.rsplit('/').next().unwrap_or(pod);
                current = Some(ContainerLog {
                    pod: pod.to_string(),
                    container: container.to_string(),
                    previous: false,
                    text: String::new(),
                });
            }
            continue;
        }
        if line.starts_with("==== END logs for container ") {
            out.extend(current.take());
            continue;
        }
        if let Some(c) = current.as_mut() {
            c.text.push_str(line);
            c.text.push('\n');
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_logs_split_per_container() {
        let text = "==== START logs for container prometheus-server-configmap-reload of pod monitoring/p-1 ====\nlevel=info msg=\"reloading via HTTP\"\n==== END logs for container prometheus-server-configmap-reload of pod monitoring/p-1 ====\n==== START logs for container prometheus-server of pod monitoring/p-1 ====\nline a\nline b\n==== END logs for container prometheus-server of pod monitoring/p-1 ====\n";
        let logs = split_dump_logs(text);
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[1].container, "prometheus-server");
        assert_eq!(logs[1].pod, "p-1");
        assert_eq!(logs[1].text, "line a\nline b\n");
    }

    #[test]
    fn a_dump_directory_gives_the_same_findings_as_live() {
        let dir = tempfile::tempdir().unwrap();
        let ns = dir.path().join("monitoring");
        std::fs::create_dir_all(ns.join("prometheus-server-6d9f8b7c4-x2x9k")).unwrap();
        // The fixture as one YAML file (what `kubectl get … -o yaml` leaves beside the dump), the pods as a JSON list.
        let all = crate::doctor::checks::fixtures::CHART;
        let (pods, rest): (Vec<&str>, Vec<&str>) = all
            .split("\n---\n")
            .partition(|d| d.contains("\nkind: Pod\n"));
        std::fs::write(dir.path().join("extra.yaml"), rest.join("\n---\n")).unwrap();
        let pod: serde_json::Value = crate::yaml::from_str(pods[0]).unwrap();
        let list = serde_json::json!({"kind": "PodList", "apiVersion": "v1", "items": [pod]});
        std::fs::write(
            ns.join("pods.json"),
            serde_json::to_string_pretty(&list).unwrap(),
        )
        .unwrap();
        let log = crate::doctor::checks::fixtures::log("v2-chart-disk-full.log");
        std::fs::write(
            ns.join("prometheus-server-6d9f8b7c4-x2x9k/logs.txt"),
            format!("==== START logs for container prometheus-server of pod monitoring/prometheus-server-6d9f8b7c4-x2x9k ====\n{log}==== END logs for container prometheus-server of pod monitoring/prometheus-server-6d9f8b7c4-x2x9k ====\n"),
        )
        .unwrap();
        let snapshot = load(dir.path(), None).unwrap();
        assert_eq!(snapshot.instances.len(), 1);
        let report = crate::doctor::report::build(&snapshot);
        let ids: Vec<&str> = report.instances[0].findings.iter().map(|f| f.id).collect();
        assert_eq!(ids[0], "PROM-201");
        assert!(
            ids.contains(&"PROM-900"),
            "the dump says what it lacks: {ids:?}"
        );
        assert!(
            load(dir.path(), Some("deploy/other"))
                .unwrap()
                .instances
                .is_empty()
        );
        assert!(load(&dir.path().join("nope"), None).is_err());
    }
}
