//! Boots the API server and controllers in-process (no kubelet, no root needed) and checks that a scenario's
//! workload objects turn into ReplicaSets, pods and bound claims through the normal create path.
use kube_sim::bootstrap::{self, Options};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_applies_objects_and_controllers_converge() {
    let dir = std::env::temp_dir().join(format!("kube-sim-api-boot-{}", std::process::id()));
    let running = bootstrap::boot(&Options::default(), &dir, None)
        .await
        .expect("boot");
    let api = running.api.clone();
    let objects = bootstrap::parse_documents(
        r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: monitoring}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 64Mi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: prometheus, namespace: monitoring}
spec:
  selector: {matchLabels: {app: prometheus}}
  template:
    metadata: {labels: {app: prometheus}}
    spec:
      containers: [{name: prometheus, image: prom/prometheus:v2.42.0, volumeMounts: [{name: data, mountPath: /prometheus}]}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"#,
    )
    .unwrap();
    for o in objects {
        bootstrap::apply_object(&api, o).unwrap();
    }
    let mut ok = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (pods, _) = api.store.list("pods", Some("monitoring"));
        let pvc = api
            .store
            .get("persistentvolumeclaims", "monitoring", "data")
            .unwrap();
        if pods.len() == 1
            && pods[0]["spec"]["nodeName"] == "kube-sim-node"
            && pvc["status"]["phase"] == "Bound"
        {
            ok = true;
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        ok,
        "the Deployment got a scheduled pod and the claim was bound"
    );
    assert!(running.kubeconfig.ends_with("kubeconfig"));
}
