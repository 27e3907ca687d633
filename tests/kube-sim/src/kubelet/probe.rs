//! Container probes run for real inside the pod's network namespace (httpGet, tcpSocket, exec), with the
//! kubelet's semantics: startup gates the others, readiness drives `ready` (and so Endpoints), liveness failures
//! restart the container. Periods are capped at 1 s and initial delays at 1 s so scenarios settle in seconds.
use super::Kubelet;
use super::netns::PodNetwork;
use super::pod::PodHandle;
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// A minimal HTTP/1.1 exchange with a port inside the pod (Connection: close); returns (status, body).
pub async fn http_request(
    net: &PodNetwork,
    port: u16,
    method: &str,
    path: &str,
    user_agent: &str,
    timeout: Duration,
) -> std::io::Result<(u16, Vec<u8>)> {
    let fut = async {
        let mut stream = net.connect(port, timeout).await?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {user_agent}\r\nAccept: */*\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await?;
        let head_end = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| p + 4)
            .unwrap_or(buf.len());
        let status_line = String::from_utf8_lossy(&buf[..head_end])
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let code = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| {
                std::io::Error::other(format!("malformed HTTP response: {status_line:?}"))
            })?;
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let mut body = buf[head_end..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        Ok((code, body))
    };
    tokio::time::timeout(timeout, fut).await.map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "context deadline exceeded")
    })?
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        let end = (start + size).min(data.len());
        out.extend(&data[start..end]);
        data = &data[(end + 2).min(data.len())..];
    }
    out
}

/// The numeric port of a probe/proxy port (a number or a container port name).
pub fn resolve_port(c: &Container, port: &IntOrString) -> Option<u16> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).ok(),
        IntOrString::String(name) => name.parse().ok().or_else(|| {
            c.ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name))
                .and_then(|p| u16::try_from(p.container_port).ok())
        }),
    }
}

enum Outcome {
    Success,
    Failure(String),
}

async fn probe_once(handle: &PodHandle, net: &PodNetwork, c: &Container, p: &Probe) -> Outcome {
    let timeout = Duration::from_secs(p.timeout_seconds.unwrap_or(1).max(1) as u64);
    if let Some(h) = &p.http_get {
        let Some(port) = resolve_port(c, &h.port) else {
            return Outcome::Failure("unknown port".into());
        };
        let path = h.path.clone().unwrap_or_else(|| "/".into());
        return match http_request(net, port, "GET", &path, "kube-probe/1.33", timeout).await {
            Ok((code, _)) if (200..400).contains(&code) => Outcome::Success,
            Ok((code, _)) => Outcome::Failure(format!("HTTP probe failed with statuscode: {code}")),
            Err(e) => Outcome::Failure(format!(
                "Get \"http://127.0.0.1:{port}{path}\": dial tcp 127.0.0.1:{port}: connect: {e}"
            )),
        };
    }
    if let Some(t) = &p.tcp_socket {
        let Some(port) = resolve_port(c, &t.port) else {
            return Outcome::Failure("unknown port".into());
        };
        return match net.connect(port, timeout).await {
            Ok(_) => Outcome::Success,
            Err(e) => Outcome::Failure(format!("dial tcp 127.0.0.1:{port}: connect: {e}")),
        };
    }
    if let Some(e) = &p.exec {
        // Run for real inside the container, as its user; exit 0 passes.
        let Some(target) = handle.exec_target(&c.name) else {
            return Outcome::Failure("container not running".into());
        };
        let mut spec = target.spec.clone();
        spec.argv = e.command.clone().unwrap_or_default();
        let child = match super::rootfs::spawn(&target.root, net, &spec, false) {
            Ok(child) => child,
            Err(err) => return Outcome::Failure(err),
        };
        return match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(Ok(out)) if out.status.success() => Outcome::Success,
            Ok(Ok(out)) => Outcome::Failure(format!(
                "command {:?} exited with {}: {}",
                spec.argv,
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).trim()
            )),
            Ok(Err(err)) => Outcome::Failure(err.to_string()),
            Err(_) => Outcome::Failure(format!("command {:?} timed out", spec.argv)),
        };
    }
    // gRPC probes are not run; treat them as passing.
    Outcome::Success
}

fn capped(seconds: Option<i32>, default: i32) -> Duration {
    Duration::from_millis((seconds.unwrap_or(default).clamp(0, 1) as u64) * 1000)
        .max(Duration::from_millis(200))
}

/// Records a container's readiness, publishing the pod status only when it changed.
fn set_ready(kubelet: &Kubelet, handle: &PodHandle, container: &str, ready: bool) {
    let mut changed = false;
    handle.update(container, |r| {
        changed = r.ready != ready;
        r.ready = ready;
    });
    if changed {
        handle.publish(kubelet);
    }
}

/// Runs the container's probes until `stop` flips; updates ready/started and restarts on liveness failure.
pub async fn run_probes(
    kubelet: Arc<Kubelet>,
    handle: Arc<PodHandle>,
    c: Container,
    mut stop: watch::Receiver<bool>,
    pid: Option<u32>,
) {
    let net = handle.net.clone();
    let sleep_or_stop = |d: Duration, stop: &mut watch::Receiver<bool>| {
        let mut s = stop.clone();
        let _ = stop;
        async move {
            tokio::select! {
                _ = tokio::time::sleep(d) => false,
                _ = s.changed() => true,
            }
        }
    };
    if let Some(sp) = &c.startup_probe {
        if sleep_or_stop(capped(sp.initial_delay_seconds, 0), &mut stop).await {
            return;
        }
        let mut failures = 0;
        loop {
            match probe_once(&handle, &net, &c, sp).await {
                Outcome::Success => break,
                Outcome::Failure(msg) => {
                    failures += 1;
                    handle.event(
                        &kubelet,
                        "Warning",
                        "Unhealthy",
                        &format!("Startup probe failed: {msg}"),
                    );
                    if failures >= sp.failure_threshold.unwrap_or(3) {
                        handle.event(
                            &kubelet,
                            "Normal",
                            "Killing",
                            &format!(
                                "Container {} failed startup probe, will be restarted",
                                c.name
                            ),
                        );
                        super::rootfs::kill_group(pid);
                        return;
                    }
                }
            }
            if sleep_or_stop(capped(sp.period_seconds, 10), &mut stop).await {
                return;
            }
        }
        handle.update(&c.name, |r| r.started = true);
        handle.publish(&kubelet);
    } else {
        handle.update(&c.name, |r| r.started = true);
    }
    let first_delay = c
        .readiness_probe
        .as_ref()
        .map(|p| capped(p.initial_delay_seconds, 0))
        .unwrap_or_default();
    if sleep_or_stop(first_delay, &mut stop).await {
        return;
    }
    let (mut ready_ok, mut ready_fail, mut live_fail) = (0, 0, 0);
    loop {
        if let Some(rp) = &c.readiness_probe {
            match probe_once(&handle, &net, &c, rp).await {
                Outcome::Success => {
                    ready_ok += 1;
                    ready_fail = 0;
                    if ready_ok >= rp.success_threshold.unwrap_or(1) {
                        set_ready(&kubelet, &handle, &c.name, true);
                    }
                }
                Outcome::Failure(msg) => {
                    ready_ok = 0;
                    ready_fail += 1;
                    handle.event(
                        &kubelet,
                        "Warning",
                        "Unhealthy",
                        &format!("Readiness probe failed: {msg}"),
                    );
                    if ready_fail >= rp.failure_threshold.unwrap_or(3) {
                        set_ready(&kubelet, &handle, &c.name, false);
                    }
                }
            }
        } else {
            set_ready(&kubelet, &handle, &c.name, true);
        }
        if let Some(lp) = &c.liveness_probe {
            match probe_once(&handle, &net, &c, lp).await {
                Outcome::Success => live_fail = 0,
                Outcome::Failure(msg) => {
                    live_fail += 1;
                    handle.event(
                        &kubelet,
                        "Warning",
                        "Unhealthy",
                        &format!("Liveness probe failed: {msg}"),
                    );
                    if live_fail >= lp.failure_threshold.unwrap_or(3) {
                        handle.event(
                            &kubelet,
                            "Normal",
                            "Killing",
                            &format!(
                                "Container {} failed liveness probe, will be restarted",
                                c.name
                            ),
                        );
                        super::rootfs::kill_group(pid);
                        return;
                    }
                }
            }
        }
        let period = c
            .readiness_probe
            .as_ref()
            .or(c.liveness_probe.as_ref())
            .map(|p| capped(p.period_seconds, 10))
            .unwrap_or(Duration::from_secs(1));
        if sleep_or_stop(period, &mut stop).await {
            return;
        }
    }
}
