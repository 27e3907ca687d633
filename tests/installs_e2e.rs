//! End-to-end tests of issue 18 — right on the installs people really have — on the real control plane (issue 16:
//! kube-apiserver 1.36, the real prometheus-operator 0.85.0 as a pod for kube-prometheus-stack): the Bitnami
//! `prometheus` chart told from the prometheus-community one (by its labels and image, and by its Helm release record
//! where the user may read Secrets), kube-prometheus-stack's values keys for an operator resource, Argo CD and
//! kubectl-applied manifests as the source of truth, live state that the next `kubectl apply` reverts, and data on
//! an emptyDir. Fixtures are in tests/fixtures/installs/ (written by hand in the shapes the charts and manifests
//! render; each file says from which templates). Every result is read back from the plugin's own output and the
//! objects with the real kubectl.

mod support;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use support::{
    Cluster, items, kubectl, kubectl_json, pod_ready, prom, prom_restricted, start, wait_until,
};

fn fixture(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/installs")
        .join(path)
        .display()
        .to_string()
}

/// Wait until a pod whose name starts with `prefix` is Ready in `monitoring`.
fn wait_ready(cluster: &Cluster, prefix: &str) {
    wait_until(
        &format!("a Ready pod {prefix}*"),
        Duration::from_secs(120),
        || {
            items(&kubectl_json(cluster, &["get", "pods", "-n", "monitoring"]))
                .iter()
                .any(|p| {
                    p["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(prefix))
                        && pod_ready(p)
                })
                .then_some(())
        },
    );
}

/// Helm 3's release record for `mon` revision 1: a Secret `sh.helm.release.v1.mon.v1` of type `helm.sh/release.v1`
/// whose `release` is base64(gzip(JSON)) (helm pkg/storage/driver/secrets.go, util.go `encodeRelease`), with the
/// chart metadata Bitnami's Chart.yaml has (home is Prometheus's; the sources name bitnami/charts) and values.
fn create_release_record(cluster: &Cluster, dir: &std::path::Path) {
    use base64::Engine;
    use std::io::Write;
    let release = json!({
        "name": "mon", "namespace": "monitoring", "version": 1,
        "info": {"status": "deployed"},
        "chart": {"metadata": {
            "name": "prometheus", "version": "2.1.17", "appVersion": "3.5.0",
            "home": "https://github.com/prometheus/prometheus",
            "sources": ["https://github.com/bitnami/charts/tree/main/bitnami/prometheus",
                        "https://github.com/bitnami/containers/tree/main/bitnami/prometheus"]}},
        "config": {"server": {"extraEnvVars": [{"name": "TOKEN", "value": "s3cr3t-in-values"}]}},
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(release.to_string().as_bytes()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let helm_layer = b64.encode(gz.finish().unwrap());
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.mon.v1", "namespace": "monitoring",
                     "labels": {"name": "mon", "owner": "helm", "status": "deployed", "version": "1"}},
        "data": {"release": b64.encode(helm_layer)},
    });
    let path = dir.join("release.json");
    std::fs::write(&path, secret.to_string()).unwrap();
    kubectl(cluster, &["create", "-f", path.to_str().unwrap()]);
}

/// A Role for the kubeconfig's `restricted` user that reads the install but not Secrets.
fn restricted_reader(cluster: &Cluster, dir: &std::path::Path) {
    let rbac = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "installs-reader", "namespace": "monitoring"},
         "rules": [
            {"apiGroups": [""], "resources": ["pods", "pods/log", "services", "endpoints", "persistentvolumeclaims", "configmaps", "events"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "replicasets"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["monitoring.coreos.com"], "resources": ["prometheuses"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "installs-reader", "namespace": "monitoring"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "installs-reader"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "restricted"}]}]});
    // One file per object: kube-sim's OpenAPI has no `List` schema for kubectl's client-side validation.
    for (i, object) in rbac["items"].as_array().unwrap().iter().enumerate() {
        let path = dir.join(format!("rbac-{i}.json"));
        std::fs::write(&path, object.to_string()).unwrap();
        kubectl(cluster, &["create", "-f", path.to_str().unwrap()]);
    }
}

fn finding<'a>(report: &'a Value, id: &str) -> Option<&'a Value> {
    report["instances"]
        .as_array()?
        .iter()
        .flat_map(|i| i["findings"].as_array().into_iter().flatten())
        .find(|f| f["id"] == id)
}

/// Issue 18 items 1 and 8: Bitnami's chart is not the prometheus-community chart. Its keys (`server.persistence.size`,
/// `server.retentionSize`) and its own chart reference are named, never `server.persistentVolume.size` or
/// `helm upgrade … prometheus-community/prometheus` (which would switch the release to another chart); its default
/// `--storage.tsdb.retention.size=0` is no limit; the release record is read when allowed, and when it is not the
/// identity rests on labels and says so; a chart we do not know gets plain words.
#[test]
fn bitnami_prometheus_gets_its_own_values_keys() {
    let Some(cluster) = start("empty") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    kubectl(
        &cluster,
        &["create", "-f", &fixture("bitnami-prometheus/release.yaml")],
    );
    create_release_record(&cluster, dir.path());
    wait_ready(&cluster, "mon-prometheus-server-");

    let resize = prom(
        &cluster,
        &[
            "resize",
            "deploy/mon-prometheus-server",
            "-n",
            "monitoring",
            "--size",
            "10Gi",
            "--dry-run",
        ],
    );
    assert_eq!(resize.code, 0, "{resize}");
    assert!(
        resize.stderr.contains("`server.persistence.size: 10Gi`")
            && resize
                .stderr
                .contains("helm upgrade mon oci://registry-1.docker.io/bitnamicharts/prometheus -n monitoring --reuse-values --version 2.1.17 --set 'server.persistence.size=10Gi'"),
        "Bitnami's key and chart: {resize}"
    );
    assert!(
        !resize.stderr.contains("persistentVolume")
            && !resize.stderr.contains("prometheus-community"),
        "no community key or chart: {resize}"
    );
    let pvc = kubectl_json(
        &cluster,
        &["get", "pvc", "mon-prometheus-server", "-n", "monitoring"],
    );
    assert_eq!(
        pvc["spec"]["resources"]["requests"]["storage"], "8Gi",
        "dry run changed nothing"
    );

    let doctor = prom(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    let report = doctor.json();
    let install = &report["instances"][0]["install"];
    assert_eq!(install["source"]["kind"], "helm", "{doctor}");
    assert_eq!(
        install["source"]["chart"]["chart"]["kind"], "bitnamiPrometheus",
        "{doctor}"
    );
    assert_eq!(install["source"]["chart"]["version"], "2.1.17", "{doctor}");
    assert_eq!(
        install["source"]["chart"]["evidence"], "releaseRecord",
        "{doctor}"
    );
    assert!(
        !doctor.stdout.contains("s3cr3t-in-values") && !doctor.stderr.contains("s3cr3t-in-values"),
        "the release's values are never printed: {doctor}"
    );
    // `--storage.tsdb.retention.size=0` is unlimited: PROM-206, with Bitnami's key.
    let retention = finding(&report, "PROM-206").unwrap_or_else(|| panic!("PROM-206: {doctor}"));
    let fix = retention["fix"].as_str().unwrap();
    assert!(
        fix.contains("`server.retentionSize: ") && fix.contains("bitnamicharts/prometheus"),
        "{fix}"
    );

    // Without `get secrets`: the same chart from labels and image, and it says the record was unreadable.
    restricted_reader(&cluster, dir.path());
    let limited = prom_restricted(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    let install = &limited.json()["instances"][0]["install"];
    assert_eq!(
        install["source"]["chart"]["chart"]["kind"], "bitnamiPrometheus",
        "{limited}"
    );
    assert_eq!(
        install["source"]["chart"]["evidence"], "labelsRecordForbidden",
        "{limited}"
    );

    // A chart we do not know (no record, another chart label): plain words, no key, no command.
    kubectl(
        &cluster,
        &[
            "delete",
            "secret",
            "sh.helm.release.v1.mon.v1",
            "-n",
            "monitoring",
        ],
    );
    kubectl(
        &cluster,
        &[
            "label",
            "deploy",
            "mon-prometheus-server",
            "-n",
            "monitoring",
            "--overwrite",
            "helm.sh/chart=acme-observability-0.4.0",
        ],
    );
    let unknown = prom(
        &cluster,
        &[
            "resize",
            "deploy/mon-prometheus-server",
            "-n",
            "monitoring",
            "--size",
            "10Gi",
            "--dry-run",
        ],
    );
    assert_eq!(unknown.code, 0, "{unknown}");
    assert!(
        unknown
            .stderr
            .contains("set the data volume size (10Gi) in the values of Helm release mon")
            && unknown.stderr.contains("values keys we do not know"),
        "{unknown}"
    );
    assert!(
        !unknown.stderr.contains("helm upgrade mon")
            && !unknown.stderr.contains("server.persistence"),
        "no guessed key or command: {unknown}"
    );
}

/// Issue 18 items 2 and 3: kube-prometheus-stack is Helm and operator. resize names
/// `prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage` (an upgrade with the
/// old size makes the operator delete the StatefulSet), doctor's retention advice names
/// `prometheus.prometheusSpec.retentionSize` instead of patching the resource Helm owns; under Argo CD the change
/// belongs in Git.
#[test]
fn kube_prometheus_stack_changes_go_through_its_values_or_git() {
    // On the real control plane with the real operator (issue 16): passes unchanged.
    let Some(cluster) = start("kps-healthy") else {
        return;
    };
    let cr = "kps-kube-prometheus-stack-prometheus";
    kubectl(
        &cluster,
        &[
            "patch",
            "prometheus",
            cr,
            "-n",
            "monitoring",
            "--type",
            "merge",
            "--patch-file",
            &fixture("kube-prometheus-stack/prometheus-metadata.yaml"),
        ],
    );
    let target = format!("prometheus/{cr}");
    let size = "--size";
    let resize = prom(
        &cluster,
        &[
            "resize",
            &target,
            "-n",
            "monitoring",
            size,
            "64Gi",
            "--dry-run",
        ],
    );
    assert_eq!(resize.code, 0, "{resize}");
    assert!(
        resize.stderr.contains(
            "`prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage: 64Gi` in the values of Helm release kps"
        ) && resize.stderr.contains("the operator then deletes the StatefulSet")
            && resize.stderr.contains("prometheus-community/kube-prometheus-stack -n monitoring --reuse-values --version 88.5.3"),
        "{resize}"
    );

    let doctor = prom(&cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
    let report = doctor.json();
    let retention = finding(&report, "PROM-206").unwrap_or_else(|| panic!("PROM-206: {doctor}"));
    let fix = retention["fix"].as_str().unwrap();
    assert!(
        fix.contains("`prometheus.prometheusSpec.retentionSize: ")
            && fix.contains("Helm release kps"),
        "{fix}"
    );
    assert!(
        !fix.contains("kubectl patch prometheus"),
        "no patch Helm would revert: {fix}"
    );

    // The same resource synced by Argo CD: change it in Git.
    kubectl(
        &cluster,
        &[
            "annotate",
            "prometheus",
            cr,
            "-n",
            "monitoring",
            "argocd.argoproj.io/tracking-id=monitoring-stack:monitoring.coreos.com/Prometheus:monitoring/kps-kube-prometheus-stack-prometheus",
        ],
    );
    let argo = prom(
        &cluster,
        &[
            "resize",
            &target,
            "-n",
            "monitoring",
            size,
            "64Gi",
            "--dry-run",
        ],
    );
    assert_eq!(argo.code, 0, "{argo}");
    assert!(
        argo.stderr.contains("in Git for Argo CD application monitoring-stack")
            && argo.stderr.contains("prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage: 64Gi"),
        "{argo}"
    );
    assert!(
        !argo.stderr.contains("helm upgrade"),
        "Argo CD renders the chart, not helm upgrade: {argo}"
    );
    // Reconciled by Flux's helm-controller instead (its labels on what it installs): the HelmRelease's values in Git.
    kubectl(
        &cluster,
        &[
            "annotate",
            "prometheus",
            cr,
            "-n",
            "monitoring",
            "argocd.argoproj.io/tracking-id-",
        ],
    );
    kubectl(
        &cluster,
        &[
            "label",
            "prometheus",
            cr,
            "-n",
            "monitoring",
            "helm.toolkit.fluxcd.io/name=kps",
            "helm.toolkit.fluxcd.io/namespace=flux-system",
        ],
    );
    let flux = prom(
        &cluster,
        &[
            "resize",
            &target,
            "-n",
            "monitoring",
            size,
            "64Gi",
            "--dry-run",
        ],
    );
    assert_eq!(flux.code, 0, "{flux}");
    assert!(
        flux.stderr.contains("in Git for Flux HelmRelease flux-system/kps")
            && flux.stderr.contains("prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.resources.requests.storage: 64Gi")
            && !flux.stderr.contains("helm upgrade"),
        "{flux}"
    );
    let live = kubectl_json(&cluster, &["get", "prometheus", cr, "-n", "monitoring"]);
    assert_ne!(
        live["spec"]["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"],
        "64Gi",
        "dry runs changed nothing"
    );
}

/// Issue 18 items 3 and 8: manifests applied with kubectl — resize says what re-applying the old claim size does;
/// doctor reports a live field the next apply reverts (PROM-611) only once it differs from the last-applied
/// configuration; the widely copied tutorial's emptyDir data is reported as lost with the pod (PROM-211) and resize's
/// refusal says how to move it to a claim.
#[test]
fn kubectl_applied_manifests_and_empty_dir_data() {
    let Some(cluster) = start("empty") else {
        return;
    };
    kubectl(
        &cluster,
        &["apply", "-f", &fixture("kubectl-applied/prometheus.yaml")],
    );
    kubectl(
        &cluster,
        &["apply", "-f", &fixture("tutorial-emptydir/prometheus.yaml")],
    );
    wait_ready(&cluster, "prometheus-applied-");
    wait_ready(&cluster, "prometheus-deployment-");

    let resize = prom(
        &cluster,
        &[
            "resize",
            "deploy/prometheus-applied",
            "-n",
            "monitoring",
            "--size",
            "2Gi",
            "--dry-run",
        ],
    );
    assert_eq!(resize.code, 0, "{resize}");
    assert!(
        resize.stderr.contains(
            "also change pvc/prometheus-applied-data in the manifest you apply with kubectl"
        ) && resize
            .stderr
            .contains("field can not be less than status.capacity"),
        "{resize}"
    );

    let doctor = |cluster: &Cluster| {
        let run = prom(cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
        let report = run.json();
        (run, report)
    };
    let (run, report) = doctor(&cluster);
    assert!(
        finding(&report, "PROM-611").is_none(),
        "nothing drifted yet: {run}"
    );
    let empty = finding(&report, "PROM-211").unwrap_or_else(|| panic!("PROM-211: {run}"));
    assert_eq!(empty["object"], "deploy/prometheus-deployment", "{run}");
    assert!(
        empty["meaning"]
            .as_str()
            .unwrap()
            .contains("lost when the pod is deleted"),
        "{run}"
    );
    let applied = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "prometheus-applied")
        .expect("the applied instance");
    assert_eq!(
        applied["install"]["source"]["kind"], "kubectlApply",
        "{run}"
    );

    // A verb-like live change (the flag reload --enable-lifecycle adds): the next apply would take it away.
    kubectl(
        &cluster,
        &[
            "patch",
            "deploy",
            "prometheus-applied",
            "-n",
            "monitoring",
            "--type",
            "json",
            "-p",
            r#"[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--web.enable-lifecycle"}]"#,
        ],
    );
    let (run, report) = doctor(&cluster);
    let drift = finding(&report, "PROM-611").unwrap_or_else(|| panic!("PROM-611: {run}"));
    assert_eq!(drift["object"], "deploy/prometheus-applied", "{run}");
    assert!(
        drift["evidence"][0]
            .as_str()
            .unwrap()
            .contains("container prometheus args")
            && drift["evidence"][0]
                .as_str()
                .unwrap()
                .contains("--web.enable-lifecycle"),
        "{run}"
    );

    let refused = prom(
        &cluster,
        &[
            "resize",
            "deploy/prometheus-deployment",
            "-n",
            "monitoring",
            "--size",
            "2Gi",
            "--dry-run",
        ],
    );
    assert_ne!(refused.code, 0, "{refused}");
    assert!(
        refused
            .stderr
            .contains("emptyDir, which is lost with the pod")
            && refused.stderr.contains(
                "create a PersistentVolumeClaim and mount it in deploy/prometheus-deployment"
            ),
        "{refused}"
    );
}

/// Issue 18 item 4: doctor and fix-perms agree on permission init containers. Incident 5a's kube-prometheus-stack
/// resource adds a `chown` init container mounting `prometheus-db`, a volume the pod does not have. On the real
/// control plane (issue 16) the API server refuses the StatefulSet the real operator generates (apps validation:
/// `initContainers[1].volumeMounts[0].name: Not found`), so there is no workload: doctor says so (PROM-502 quoting
/// the operator's `Reconciled=False`, with a rename of the mount), and fix-perms refuses with exit 2 naming that
/// condition instead of planning against nothing. Once doctor's fix is followed with the real kubectl, the operator's
/// pods run the init container on the data volume: doctor flags it (PROM-403), fix-perms removes it through the same
/// rule, after which the pods are recreated and Ready and doctor flags neither PROM-403 nor PROM-502. (fix-perms
/// ignored it before: its rule only counted init containers mounting the data volume by name.)
#[test]
fn fix_perms_removes_every_init_container_doctor_flags() {
    let Some(cluster) = start("kps-missing-volume") else {
        return;
    };
    let cr = "kps-kube-prometheus-stack-prometheus";
    let target = format!("prometheus/{cr}");
    let selector = format!("operator.prometheus.io/name={cr}");
    let doctor = |cluster: &Cluster| {
        let run = prom(cluster, &["doctor", "-n", "monitoring", "-o", "json"]);
        assert!(run.code <= 1, "doctor failed as a tool: {run}");
        run.json()
    };
    // Nothing rendered yet: the operator's condition appears once it has tried.
    let report = wait_until(
        "doctor to report the refused StatefulSet (PROM-502)",
        Duration::from_secs(120),
        || Some(doctor(&cluster)).filter(|r| finding(r, "PROM-502").is_some()),
    );
    let refused = finding(&report, "PROM-502").unwrap().clone();
    assert!(
        refused["evidence"].to_string().contains("Reconciled=False"),
        "{refused:#}"
    );
    let untouched = kubectl_json(&cluster, &["get", "prometheus", cr, "-n", "monitoring"]);
    let run = prom(
        &cluster,
        &[
            "fix-perms",
            &target,
            "-n",
            "monitoring",
            "--yes",
            "--timeout",
            "3m",
        ],
    );
    assert_eq!(run.code, 2, "nothing to act on: {run}");
    assert!(
        run.stderr
            .contains("no StatefulSet: the operator reports Reconciled=False")
            && run.stdout.is_empty(),
        "{run}"
    );
    // Generation and spec, not resourceVersion: the running operator writes the resource's status (its Reconciled and
    // Available conditions) on its own, while every spec change bumps the generation.
    let still = kubectl_json(&cluster, &["get", "prometheus", cr, "-n", "monitoring"]);
    assert_eq!(
        (&still["metadata"]["generation"], &still["spec"]),
        (&untouched["metadata"]["generation"], &untouched["spec"]),
        "the refusal changed the resource"
    );

    // doctor's fix, with the real kubectl word for word: the operator renders the pods with the init container.
    let fix = support::kubectl_args_of(refused["fix"].as_str().unwrap());
    kubectl(
        &cluster,
        &fix.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let flagged = wait_until(
        "doctor to flag the init container once the pods run (PROM-403)",
        Duration::from_secs(150),
        || {
            let report = doctor(&cluster);
            (finding(&report, "PROM-502").is_none())
                .then(|| finding(&report, "PROM-403").cloned())
                .flatten()
        },
    );
    assert!(
        flagged["evidence"][0]
            .as_str()
            .unwrap()
            .contains("initContainer chown-data"),
        "{flagged:#}"
    );
    assert_eq!(
        flagged["fix"],
        format!("kubectl prom fix-perms {target} -n monitoring"),
        "{flagged:#}"
    );
    // doctor flags the init container from the pod spec as soon as the pods exist; the claims the new StatefulSet
    // creates are WaitForFirstConsumer and bind only once their pod is scheduled (a PV's type is what fix-perms
    // decides on), so the fix runs once the pods are running on Bound claims, as an SRE would run it.
    support::wait_settled(&cluster, "monitoring");

    let run = prom(
        &cluster,
        &[
            "fix-perms",
            &target,
            "-n",
            "monitoring",
            "--yes",
            "-o",
            "json",
            "--timeout",
            "3m",
        ],
    );
    let fixed = run.json();
    let removed: Vec<String> = fixed["plan"]["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["kind"] == "removeInitContainers")
        .flat_map(|c| c["edit"]["names"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    assert_eq!(removed, ["chown-data"], "{run}");
    assert_eq!(fixed["outcome"]["status"], "fixed", "{run}");
    let resource = kubectl_json(&cluster, &["get", "prometheus", cr, "-n", "monitoring"]);
    let left: Vec<&str> = resource["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        !left.contains(&"chown-data"),
        "still there: {left:?}\n{run}"
    );
    assert_eq!(run.code, 0, "{run}");
    wait_until(
        "the operator's pods recreated without the init container, Ready",
        Duration::from_secs(120),
        || {
            let pods = items(&kubectl_json(
                &cluster,
                &["get", "pods", "-n", "monitoring", "-l", &selector],
            ));
            (!pods.is_empty()
                && pods.iter().all(|p| {
                    pod_ready(p)
                        && !p["spec"]["initContainers"]
                            .as_array()
                            .is_some_and(|c| c.iter().any(|c| c["name"] == "chown-data"))
                }))
            .then_some(())
        },
    );
    let report = doctor(&cluster);
    assert!(
        finding(&report, "PROM-403").is_none() && finding(&report, "PROM-502").is_none(),
        "{report:#}"
    );
}

/// Issue 18 item 5: a healthy install is left alone. Prometheus writes its data on the community chart's default
/// install and on kube-prometheus-stack's: fix-perms says "nothing to change" and plans no rolling restart for
/// optional fields (`fsGroupChangePolicy`, `runAsGroup`) — downtime on a chart with the Recreate strategy.
#[test]
fn fix_perms_leaves_a_healthy_install_alone() {
    for (scenario, prefix, kinds) in [
        ("chart-healthy", "prometheus-server-", "deploy,sts"),
        (
            "kps-healthy",
            "prometheus-kps-",
            "deploy,sts,prometheuses.monitoring.coreos.com",
        ),
    ] {
        let started = start(scenario);
        let Some(cluster) = started else {
            return;
        };
        wait_ready(&cluster, prefix);
        // Every replica up first: on the real control plane the controllers keep writing status until then.
        support::wait_settled(&cluster, "monitoring");
        let before = kubectl_json(&cluster, &["get", kinds, "-n", "monitoring"]);
        let run = prom(
            &cluster,
            &["fix-perms", "-n", "monitoring", "--yes", "-o", "json"],
        );
        assert_eq!(run.code, 0, "{scenario}: {run}");
        let report = run.json();
        assert_eq!(
            report["plan"]["changes"],
            json!([]),
            "{scenario}: nothing to change on a healthy install: {run}"
        );
        assert_eq!(report["outcome"]["status"], "noop", "{scenario}: {run}");
        let notes = report["plan"]["notes"].to_string();
        assert!(notes.contains("nothing to change"), "{scenario}: {run}");
        if scenario == "chart-healthy" {
            // The chart sets no fsGroupChangePolicy: named as advice, not applied.
            assert!(
                notes.contains("optional hardening") && notes.contains("fsGroupChangePolicy"),
                "{scenario}: {run}"
            );
        }
        let after = kubectl_json(&cluster, &["get", kinds, "-n", "monitoring"]);
        // What a patch would change: the generation (bumped by every spec change, apps and CRD registries alike),
        // the spec, labels and annotations. Not the resourceVersion: on the real control plane the StatefulSet and
        // Deployment controllers and the operator write status (a new resourceVersion) without any change of ours.
        let versions = |list: &Value| -> Vec<Value> {
            items(list)
                .iter()
                .map(|o| {
                    json!([
                        o["kind"],
                        o["metadata"]["name"],
                        o["metadata"]["generation"],
                        o["metadata"]["labels"],
                        o["metadata"]["annotations"],
                        o["spec"]
                    ])
                })
                .collect()
        };
        assert_eq!(
            versions(&before),
            versions(&after),
            "{scenario}: nothing was patched"
        );
    }
}

/// Issue 18 item 8: the community chart in StatefulSet mode. Its claim template cannot change through Helm, so the
/// note quotes the error the next `helm upgrade` gets with the old size — the API server's `spec: Forbidden: updates
/// to statefulset spec for fields other than …` — not the claim's `field can not be less than status.capacity`.
#[test]
fn chart_statefulset_note_quotes_the_statefulset_error() {
    let Some(cluster) = start("chart-sts") else {
        return;
    };
    // Both replicas' claims Bound first: the second binds only once its pod is scheduled (WaitForFirstConsumer),
    // and resize rightly refuses a Pending claim.
    support::wait_settled(&cluster, "monitoring");
    wait_ready(&cluster, "prometheus-server-");
    let run = prom(
        &cluster,
        &[
            "resize",
            "sts/prometheus-server",
            "-n",
            "monitoring",
            "--size",
            "10Gi",
            "--dry-run",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains(
            "`server.persistentVolume.size: 10Gi` in the values of Helm release prometheus"
        ) && run
            .stderr
            .contains("spec: Forbidden: updates to statefulset spec for fields other than"),
        "{run}"
    );
    assert!(
        !run.stderr
            .contains("field can not be less than status.capacity"),
        "not the claim's error: {run}"
    );
}
