//! The config-reload sidecars, simulated in-process but acting for real: they watch the mounted volume, POST the
//! reload URL inside the pod's network namespace (so the real Prometheus answers), and log exactly what the real
//! ones log (prometheus-facts §3): prometheus-config-reloader (thanos pkg/reloader, go-kit logfmt) and
//! jimmidyson/configmap-reload (Go `log.Println`).
use super::logs::LogBuffer;
use super::pod::PodHandle;
use super::probe::{http_request, status_text};
use super::rootfs::resolve_in_root;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// `--flag=value` / `--flag value` / `-flag=value` values of `name`, all occurrences.
pub fn flag_values(args: &[String], name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let bare = a.trim_start_matches('-');
        if let Some(v) = bare.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            out.push(v.to_string());
        } else if bare == name
            && let Some(v) = it.next()
        {
            out.push(v.clone());
        }
    }
    out
}

/// (port, path) of a loopback URL like `http://127.0.0.1:9090/-/reload`.
pub fn local_target(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (hostport, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let port = hostport
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(80);
    Some((port, path))
}

/// Go's net error text for a failed dial, as it appears inside `Post "...": …`.
pub fn dial_error(port: u16, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            format!("dial tcp 127.0.0.1:{port}: connect: connection refused")
        }
        std::io::ErrorKind::TimedOut => "context deadline exceeded".into(),
        _ => format!("dial tcp 127.0.0.1:{port}: {e}"),
    }
}

fn ts() -> String {
    let n = super::logs::now_nanos();
    let secs = (n / 1_000_000_000) as i64;
    let millis = (n / 1_000_000 % 1000) as u32;
    format!(
        "{}.{millis:03}Z",
        crate::clock::format_rfc3339(secs).trim_end_matches('Z')
    )
}

/// logfmt quoting as go-kit does it: quoted when it has spaces, quotes or `=`.
fn logfmt_value(v: &str) -> String {
    if v.is_empty() || v.contains([' ', '"', '=', '\\']) {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

/// A fingerprint of the files under the watched directories as seen inside the container.
fn fingerprint(root: &Path, dirs: &[String], files: &[String]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for d in dirs {
        if let Ok(dir) = resolve_in_root(root, d)
            && let Ok(rd) = std::fs::read_dir(&dir)
        {
            let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            entries.sort();
            for p in entries {
                if p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".."))
                {
                    continue;
                }
                if let Ok(bytes) = std::fs::read(&p) {
                    out.push((p, bytes));
                }
            }
        }
    }
    for f in files {
        if let Ok(p) = resolve_in_root(root, f) {
            out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
        }
    }
    out
}

/// prometheus-config-reloader: applies the config (gunzip/copy `--config-file` to `--config-envsubst-file`), then
/// triggers a reload whenever the watched content changed since the last success, retrying every 5 s forever.
pub async fn config_reloader(
    handle: Arc<PodHandle>,
    args: Vec<String>,
    log: Arc<LogBuffer>,
    root: PathBuf,
) {
    let reload_url = flag_values(&args, "reload-url")
        .pop()
        .unwrap_or_else(|| "http://127.0.0.1:9090/-/reload".into());
    let watched = flag_values(&args, "watched-dir");
    let cfg_in = flag_values(&args, "config-file").pop().unwrap_or_default();
    let cfg_out = flag_values(&args, "config-envsubst-file")
        .pop()
        .unwrap_or_default();
    let init_mode = args.iter().any(|a| a.contains("watch-interval=0"));
    let line = |level: &str, caller: &str, rest: String| {
        log.push(format!("level={level} ts={} caller={caller} {rest}", ts()).into_bytes())
    };
    line("info", "main.go:161", "msg=\"Starting prometheus-config-reloader\" version=\"(version=0.93.1, branch=, revision=kube-sim)\"".into());
    line(
        "info",
        "reloader.go:282",
        "msg=\"reloading via HTTP\"".into(),
    );
    let Some((port, path)) = local_target(&reload_url) else {
        line(
            "error",
            "main.go:210",
            format!(
                "msg=\"unsupported reload URL\" url={}",
                logfmt_value(&reload_url)
            ),
        );
        return;
    };
    let mut announced = false;
    let mut last_applied: Option<Vec<(PathBuf, Vec<u8>)>> = None;
    loop {
        let current = fingerprint(
            &root,
            &watched,
            &[cfg_in.clone()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>(),
        );
        if !cfg_in.is_empty() && !cfg_out.is_empty() {
            apply_config(&root, &cfg_in, &cfg_out);
        }
        if !announced {
            line(
                "info",
                "reloader.go:330",
                format!(
                    "msg=\"started watching config file and directories for changes\" cfg={} out={} dirs={}",
                    logfmt_value(&cfg_in),
                    logfmt_value(&cfg_out),
                    logfmt_value(&watched.join(","))
                ),
            );
            announced = true;
        }
        if init_mode {
            // init-config-reloader: one apply, no reload, exit (the operator runs it with --watch-interval=0).
            return;
        }
        if last_applied.as_ref() != Some(&current) {
            match http_request(
                &handle.net,
                port,
                "POST",
                &path,
                "Go-http-client/1.1",
                Duration::from_secs(30),
            )
            .await
            {
                Ok((200, _)) => {
                    line(
                        "info",
                        "reloader.go:424",
                        format!(
                            "msg=\"Reload triggered\" cfg_in={} cfg_out={} watched_dirs={}",
                            logfmt_value(&cfg_in),
                            logfmt_value(&cfg_out),
                            logfmt_value(&watched.join(", "))
                        ),
                    );
                    last_applied = Some(current);
                }
                Ok((code, _)) => {
                    let err = format!(
                        "trigger reload: received non-200 response: {}; have you set `--web.enable-lifecycle` Prometheus flag?",
                        status_text(code)
                    );
                    line(
                        "error",
                        "runutil.go:100",
                        format!(
                            "msg=\"function failed. Retrying in next tick\" err={}",
                            logfmt_value(&err)
                        ),
                    );
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
                Err(e) => {
                    let err = format!(
                        "trigger reload: reload request failed: Post \"{reload_url}\": {}",
                        dial_error(port, &e)
                    );
                    line(
                        "error",
                        "runutil.go:100",
                        format!(
                            "msg=\"function failed. Retrying in next tick\" err={}",
                            logfmt_value(&err)
                        ),
                    );
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// What `init-config-reloader` does (`--watch-interval=0`): write the config once, no reload.
pub fn apply_once(root: &Path, args: &[String]) {
    let cfg_in = flag_values(args, "config-file").pop().unwrap_or_default();
    let cfg_out = flag_values(args, "config-envsubst-file")
        .pop()
        .unwrap_or_default();
    if !cfg_in.is_empty() && !cfg_out.is_empty() {
        apply_config(root, &cfg_in, &cfg_out);
    }
}

/// `--config-file` → `--config-envsubst-file` (the operator's secret is gzipped when the name ends in `.gz`).
fn apply_config(root: &Path, cfg_in: &str, cfg_out: &str) {
    let (Ok(src), Ok(dst)) = (
        resolve_in_root(root, cfg_in),
        resolve_in_root(root, cfg_out),
    ) else {
        return;
    };
    let Ok(bytes) = std::fs::read(&src) else {
        return;
    };
    let content = if cfg_in.ends_with(".gz") {
        use std::io::Read;
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .is_err()
        {
            return;
        }
        out
    } else {
        bytes
    };
    if std::fs::read(&dst).ok().as_deref() != Some(&content[..]) {
        let tmp = dst.with_extension("tmp");
        if std::fs::write(&tmp, &content).is_ok() {
            let _ = std::fs::rename(&tmp, &dst);
        }
    }
}

/// jimmidyson/configmap-reload: fires only when `..data` is swapped (the kubelet's atomic write), with
/// `-webhook-retries` attempts (default 1), no hint about the lifecycle flag.
pub async fn configmap_reload(
    handle: Arc<PodHandle>,
    args: Vec<String>,
    log: Arc<LogBuffer>,
    root: PathBuf,
) {
    let dirs = flag_values(&args, "volume-dir");
    let url = flag_values(&args, "webhook-url").pop().unwrap_or_default();
    let method = flag_values(&args, "webhook-method")
        .pop()
        .unwrap_or_else(|| "POST".into());
    let want: u16 = flag_values(&args, "webhook-status-code")
        .pop()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let retries: u32 = flag_values(&args, "webhook-retries")
        .pop()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let stamp = || chrono_like_now();
    let println = |text: String| log.push(format!("{} {text}", stamp()).into_bytes());
    let data_links = |root: &Path| -> Vec<Option<PathBuf>> {
        dirs.iter()
            .map(|d| {
                resolve_in_root(root, d)
                    .ok()
                    .and_then(|p| std::fs::read_link(p.join("..data")).ok())
            })
            .collect()
    };
    let mut seen = data_links(&root);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = data_links(&root);
        if now == seen {
            continue;
        }
        seen = now;
        println("config map updated".into());
        let Some((port, path)) = local_target(&url) else {
            continue;
        };
        let mut ok = false;
        for attempt in 1..=retries {
            println(format!("performing webhook request ({attempt}/{retries})"));
            match http_request(
                &handle.net,
                port,
                &method,
                &path,
                "Go-http-client/1.1",
                Duration::from_secs(10),
            )
            .await
            {
                Ok((code, _)) if code == want => {
                    println("successfully triggered reload".into());
                    ok = true;
                    break;
                }
                Ok((code, _)) => println(format!(
                    "error: Received response code {code} , expected {want}"
                )),
                Err(e) => println(format!(
                    "error: {method} \"{url}\": {}",
                    dial_error(port, &e)
                )),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        if !ok {
            println("error: Webhook reload retries exhausted".into());
        }
    }
}

/// Go's default `log` prefix: `2006/01/02 15:04:05`.
fn chrono_like_now() -> String {
    let rfc = crate::clock::now_rfc3339();
    format!("{} {}", rfc[..10].replace('-', "/"), &rfc[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_targets_parse() {
        let args: Vec<String> = [
            "--watched-dir=/etc/config",
            "--reload-url=http://127.0.0.1:9090/prom/-/reload",
            "--watched-dir",
            "/etc/rules",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            flag_values(&args, "watched-dir"),
            vec!["/etc/config", "/etc/rules"]
        );
        assert_eq!(
            local_target("http://127.0.0.1:9090/prom/-/reload"),
            Some((9090, "/prom/-/reload".into()))
        );
        assert_eq!(logfmt_value("a b"), "\"a b\"");
        assert_eq!(
            logfmt_value(
                "received non-200 response: 403 Forbidden; have you set `--web.enable-lifecycle` Prometheus flag?"
            ),
            "\"received non-200 response: 403 Forbidden; have you set `--web.enable-lifecycle` Prometheus flag?\""
        );
    }
}
