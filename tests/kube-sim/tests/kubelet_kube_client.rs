//! kube 5's `Api::exec` (WebSocket, offering v5 and v4 channel protocols) against the kubelet's exec: stdout
//! arrives on channel 1 and the exit status on channel 3 as the metav1.Status the plugin reads.
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube_sim::Options;
use kube_sim::cluster::Cluster;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_exec_reads_stdout_and_exit_status() {
    let Some(c) = Cluster::start_or_skip(&Options::default()) else {
        return;
    };
    let out = c
        .kubectl()
        .args([
            "run",
            "shell",
            "-n",
            "default",
            "--image=busybox:1.36",
            "--",
            "sleep",
            "3600",
        ])
        .output()
        .expect("kubectl run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kubeconfig = Kubeconfig::read_from(c.kubeconfig_path()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let start = Instant::now();
    loop {
        let p = pods.get("shell").await.expect("get pod");
        let running = p
            .status
            .and_then(|s| s.container_statuses)
            .is_some_and(|cs| cs.iter().all(|c| c.ready));
        if running {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "pod never became ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let params = AttachParams::default().stdout(true).stderr(true);
    let mut attached = pods
        .exec(
            "shell",
            ["sh", "-c", "echo hello from the pod; exit 8"],
            &params,
        )
        .await
        .expect("exec");
    let mut stdout = String::new();
    attached
        .stdout()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .await
        .expect("read stdout");
    let status = attached
        .take_status()
        .expect("status channel")
        .await
        .expect("a status");
    assert_eq!(stdout, "hello from the pod\n");
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let code = status
        .details
        .and_then(|d| d.causes)
        .and_then(|c| {
            c.into_iter()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
        })
        .and_then(|c| c.message);
    assert_eq!(code.as_deref(), Some("8"));
    let mut ok = pods.exec("shell", ["true"], &params).await.expect("exec");
    let status = ok
        .take_status()
        .expect("status channel")
        .await
        .expect("a status");
    assert_eq!(status.status.as_deref(), Some("Success"));
}
