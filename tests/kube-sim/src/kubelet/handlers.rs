//! The kubelet API's answers (pkg/kubelet/server/server.go; `node::kubelet_api` routes to them): container logs
//! (container, previous, tailLines, sinceSeconds, timestamps, follow), exec over WebSocket in the v5/v4 channel
//! protocol (stdin 0, stdout 1, stderr 2, status 3 as a metav1.Status, v5 close 255), and `/stats/summary` from the
//! real filesystems. `pods/proxy` is not here: the real API server dials the pod's IP itself.
use super::Kubelet;
use super::pod::{ExecTarget, PodHandle, State};
use super::rootfs;
use crate::http::{ApiError, Body, error_response, full, param, parse_query};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

/// Which pod endpoint of the kubelet API a request is for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PodSubresource {
    /// `/containerLogs/{ns}/{pod}/{container}` (what the API server's `pods/log` proxies to).
    Log,
    /// `/exec/{ns}/{pod}/{container}` (`pods/exec`).
    Exec,
}

/// The kubelet API's pod endpoints (`node::kubelet_api` routes to it): a handle on the kubelet, since the futures
/// must be `'static`.
pub struct KubeletAgent(pub Arc<Kubelet>);

impl KubeletAgent {
    /// Answers `sub` for `ns/pod`; the container is the `container` query parameter.
    pub fn pod_subresource(
        &self,
        req: Request<Incoming>,
        ns: String,
        pod: String,
        sub: PodSubresource,
    ) -> BoxFuture<'static, Response<Body>> {
        let k = self.0.clone();
        Box::pin(async move {
            match sub {
                PodSubresource::Log => logs(k, req, &ns, &pod).await,
                PodSubresource::Exec => exec(k, req, &ns, &pod),
            }
        })
    }
}

fn error(e: ApiError) -> Response<Body> {
    error_response(&e)
}

fn flag(q: &[(String, String)], name: &str) -> bool {
    matches!(param(q, name), Some("true") | Some("1") | Some(""))
}

/// The container a request names, or the only one; the API server's error otherwise.
fn pick_container(handle: &PodHandle, requested: Option<&str>) -> Result<String, ApiError> {
    let spec = handle.spec();
    let names: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
    let init: Vec<String> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| c.name.clone())
        .collect();
    match requested.filter(|s| !s.is_empty()) {
        Some(c) if names.iter().chain(&init).any(|n| n == c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {}",
            handle.name
        ))),
        None if names.len() == 1 => Ok(names[0].clone()),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {}, choose one of: [{}]",
                handle.name,
                names.join(" ")
            );
            if !init.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    init.join(" ")
                ));
            }
            Err(ApiError::bad_request(msg))
        }
    }
}

fn handle_or_error(k: &Kubelet, ns: &str, pod: &str) -> Result<Arc<PodHandle>, ApiError> {
    k.pod(ns, pod).ok_or_else(|| {
        ApiError::bad_request(format!(
            "pod \"{pod}\" in namespace \"{ns}\" is not running on node {}",
            k.node
        ))
    })
}

async fn logs(k: Arc<Kubelet>, req: Request<Incoming>, ns: &str, pod: &str) -> Response<Body> {
    let q = parse_query(req.uri().query());
    let handle = match handle_or_error(&k, ns, pod) {
        Ok(h) => h,
        Err(e) => return error(e),
    };
    let container = match pick_container(&handle, param(&q, "container")) {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let Some((current, previous, state)) = handle.logs(&container) else {
        return error(ApiError::bad_request(format!(
            "container {container} is not valid for pod {pod}"
        )));
    };
    let buffer = if flag(&q, "previous") {
        match previous {
            Some(b) => b,
            None => {
                return error(ApiError::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{pod}\" not found"
                )));
            }
        }
    } else {
        match (current, state) {
            (Some(b), _) => b,
            (None, State::Waiting { reason, .. }) => {
                return error(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{pod}\" is waiting to start: {reason}"
                )));
            }
            (None, _) => {
                return error(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{pod}\" has no logs"
                )));
            }
        }
    };
    let tail = param(&q, "tailLines")
        .and_then(|t| t.parse::<i64>().ok())
        .map(|t| t.max(0) as usize);
    let since = param(&q, "sinceSeconds")
        .and_then(|s| s.parse::<i64>().ok())
        .map(|s| super::logs::now_nanos() - (s as i128) * 1_000_000_000);
    let timestamps = flag(&q, "timestamps");
    let (head, seen) = buffer.render(tail, since, timestamps);
    let follow = flag(&q, "follow") && !buffer.is_closed();
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/plain");
    if !follow {
        return builder
            .body(full(head))
            .unwrap_or_else(|_| Response::new(full("")));
    }
    // Follow: what was selected, then every new line until the container instance ends.
    let rx = buffer.subscribe();
    let stream = futures::stream::unfold(
        (Some(head), buffer, seen, rx),
        move |(head, buffer, index, mut rx)| async move {
            if let Some(h) = head {
                return Some((
                    Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(h))),
                    (None, buffer, index, rx),
                ));
            }
            loop {
                let lines = buffer.lines_from(index);
                if !lines.is_empty() {
                    let next = index + lines.len();
                    let bytes: Vec<u8> = lines
                        .iter()
                        .flat_map(|l| super::logs::format_line(l, timestamps))
                        .collect();
                    return Some((
                        Ok(Frame::data(Bytes::from(bytes))),
                        (None, buffer, next, rx),
                    ));
                }
                if buffer.is_closed() || rx.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    builder
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap_or_else(|_| Response::new(full("")))
}

// ---------------------------------------------------------------------------------------------------------------
// exec

/// `{"status":"Success"}` or the NonZeroExitCode failure with the exit code in `details.causes` (what kubectl
/// turns into `command terminated with exit code N`).
pub fn exit_status(code: i32) -> Value {
    if code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    json!({
        "metadata": {}, "status": "Failure",
        "message": format!("command terminated with non-zero exit code: error executing command, exit code {code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

fn exec(k: Arc<Kubelet>, req: Request<Incoming>, ns: &str, pod: &str) -> Response<Body> {
    let q = parse_query(req.uri().query());
    let command: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if command.is_empty() {
        return error(ApiError::bad_request("you must specify at least 1 command"));
    }
    let handle = match handle_or_error(&k, ns, pod) {
        Ok(h) => h,
        Err(e) => return error(e),
    };
    let container = match pick_container(&handle, param(&q, "container")) {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let Some(target) = handle.exec_target(&container) else {
        return error(ApiError::bad_request(format!(
            "container not found (\"{container}\")"
        )));
    };
    let offered: Vec<String> = req
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_string()))
        .collect();
    let Some(protocol) = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
        .into_iter()
        .find(|p| offered.iter().any(|o| o == p))
    else {
        return error(ApiError::bad_request(
            "exec needs a WebSocket upgrade with Sec-WebSocket-Protocol v5.channel.k8s.io or v4.channel.k8s.io (SPDY is not supported)",
        ));
    };
    let Some(key) = req
        .headers()
        .get("sec-websocket-key")
        .map(|v| v.as_bytes().to_vec())
    else {
        return error(ApiError::bad_request("missing Sec-WebSocket-Key"));
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(&key);
    let stdin = flag(&q, "stdin");
    let net = handle.net.clone();
    let v5 = protocol.starts_with("v5");
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else {
            return;
        };
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            hyper_util::rt::TokioIo::new(upgraded),
            Role::Server,
            None,
        )
        .await;
        exec_session(ws, target, net, command, stdin, v5).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-accept", accept)
        .header("sec-websocket-protocol", protocol)
        .body(full(""))
        .unwrap_or_else(|_| Response::new(full("")))
}

async fn exec_session<S>(
    ws: tokio_tungstenite::WebSocketStream<S>,
    target: ExecTarget,
    net: super::netns::PodNetwork,
    command: Vec<String>,
    stdin: bool,
    v5: bool,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut incoming) = ws.split();
    let mut spec = target.spec.clone();
    spec.argv = command.clone();
    let mut child = match rootfs::spawn(&target.root, &net, &spec, stdin) {
        Ok(c) => c,
        Err(e) => {
            let status = json!({
                "metadata": {}, "status": "Failure", "reason": "InternalError", "code": 500,
                "message": format!("Internal error occurred: error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: {e}: unknown"),
                "details": {"causes": [{"message": format!("OCI runtime exec failed: exec failed: unable to start container process: {e}: unknown")}]},
            });
            let mut msg = vec![3u8];
            msg.extend(serde_json::to_vec(&status).unwrap_or_default());
            let _ = sink.send(Message::Binary(msg.into())).await;
            let _ = sink.send(normal_close()).await;
            return;
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let mut pumps = Vec::new();
    for (channel, reader) in [
        (
            1u8,
            child
                .stdout
                .take()
                .map(|r| Box::new(r) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ),
        (
            2u8,
            child
                .stderr
                .take()
                .map(|r| Box::new(r) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ),
    ] {
        let Some(mut reader) = reader else { continue };
        let tx = tx.clone();
        pumps.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut msg = Vec::with_capacity(n + 1);
                        msg.push(channel);
                        msg.extend(&buf[..n]);
                        if tx.send(msg).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
    drop(tx);
    let mut child_stdin = child.stdin.take();
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if sink.send(Message::Binary(msg.into())).await.is_err() {
                break;
            }
        }
        sink
    });
    let pgid = child.id();
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = incoming.next().await {
            match msg {
                Message::Binary(data) if !data.is_empty() => match data[0] {
                    0 => {
                        if let Some(w) = child_stdin.as_mut()
                            && w.write_all(&data[1..]).await.is_err()
                        {
                            child_stdin = None;
                        }
                    }
                    255 if v5 && data.get(1) == Some(&0) => child_stdin = None,
                    _ => {}
                },
                Message::Close(_) => return true,
                _ => {}
            }
        }
        true
    });
    let mut reader = reader;
    let status = tokio::select! {
        s = child.wait() => s.ok(),
        // The client went away: the exec'd process goes too.
        _ = &mut reader => None,
    };
    let Some(status) = status else {
        rootfs::kill_group(pgid);
        return;
    };
    for p in pumps {
        let _ = tokio::time::timeout(Duration::from_secs(5), p).await;
    }
    rootfs::kill_group(pgid);
    let Ok(mut sink) = writer.await else { return };
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    let mut msg = vec![3u8];
    msg.extend(serde_json::to_vec(&exit_status(code)).unwrap_or_default());
    let _ = sink.send(Message::Binary(msg.into())).await;
    let _ = sink.send(normal_close()).await;
    // Read until the client's own Close: closing the socket with its stdin/resize messages unread would reset
    // the connection, and kubectl could lose the status it has not read yet.
    if tokio::time::timeout(Duration::from_secs(2), &mut reader)
        .await
        .is_err()
    {
        reader.abort();
    }
}

/// A Close frame with 1000: kubectl reads the status channel to EOF, and only a normal closure is EOF (a bare
/// Close is "1005 (no status)", an error).
fn normal_close() -> Message {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

// ---------------------------------------------------------------------------------------------------------------
// stats/summary

/// The kubelet's Summary API (k8s.io/kubelet/pkg/apis/stats/v1alpha1) with real statvfs numbers per volume.
pub fn stats_summary(k: &Kubelet) -> Value {
    let now = crate::clock::now_rfc3339();
    let fs = |u: super::volumes::FsUsage| {
        json!({
            "time": now, "availableBytes": u.available_bytes, "capacityBytes": u.capacity_bytes, "usedBytes": u.used_bytes,
            "inodesFree": u.inodes_free, "inodes": u.inodes, "inodesUsed": u.inodes.saturating_sub(u.inodes_free),
        })
    };
    let mut pods = Vec::new();
    for h in k.pods() {
        let mut volumes = Vec::new();
        for (name, v) in h.volumes.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let Some(usage) = super::volumes::fs_usage(&v.path) else {
                continue;
            };
            let mut entry = fs(usage);
            entry["name"] = json!(name);
            if let Some(claim) = &v.pvc {
                entry["pvcRef"] = json!({"name": claim, "namespace": h.ns});
            }
            volumes.push(entry);
        }
        let containers: Vec<Value> = h
            .spec()
            .containers
            .iter()
            .map(|c| json!({"name": c.name, "startTime": h.start_time}))
            .collect();
        pods.push(json!({
            "podRef": {"name": h.name, "namespace": h.ns, "uid": h.uid},
            "startTime": h.start_time,
            "containers": containers,
            "volume": volumes,
        }));
    }
    let node_fs = super::volumes::fs_usage(std::path::Path::new("/"))
        .map(fs)
        .unwrap_or_else(|| json!({}));
    json!({"node": {"nodeName": k.node, "startTime": now, "fs": node_fs}, "pods": pods})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding_and_exit_status() {
        let q = parse_query(Some(
            "command=df&command=-k&command=%2Fdata&container=prometheus-server&stdout=true&tailLines=5",
        ));
        let cmd: Vec<&str> = q
            .iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(cmd, vec!["df", "-k", "/data"]);
        assert_eq!(param(&q, "tailLines"), Some("5"));
        assert!(flag(&q, "stdout"));
        assert_eq!(exit_status(0)["status"], "Success");
        let failed = exit_status(8);
        assert_eq!(failed["reason"], "NonZeroExitCode");
        assert_eq!(failed["details"]["causes"][0]["message"], "8");
    }
}
