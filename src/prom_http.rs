//! Talking to one Prometheus pod over HTTP: through the API server's pod proxy
//! (`/api/v1/namespaces/NS/pods/POD:PORT/proxy/PREFIX/PATH`), honouring the route prefix, with an exec of
//! `wget` inside the container as the fallback when the proxy is forbidden. Every reply says which path carried it.
//!
//! Public API: [`PromPod::new`] (from an [`Instance`] and a pod name), then `get`/`post` (raw [`PromReply`]) or the
//! typed helpers [`PromPod::flags`], [`PromPod::runtime_info`], [`PromPod::metric`], [`PromPod::config_yaml`].
//! Pure parsers ([`parse_metric`], [`parse_wget_status`]) are public for tests and other callers.

use crate::discover::Instance;
use crate::error::{Error, Result};
use crate::podexec::PodExec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Which path carried a request to Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Access {
    /// The API server's pod proxy (`pods/proxy`).
    Proxy,
    /// `wget` run inside the Prometheus container (`pods/exec`).
    Exec,
}

impl Access {
    pub fn describe(self) -> &'static str {
        match self {
            Access::Proxy => "the API server's pod proxy",
            Access::Exec => "exec (wget inside the container)",
        }
    }
}

/// Prometheus' own answer: its HTTP status and body, and how we reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromReply {
    pub status: u16,
    pub body: String,
    pub access: Access,
}

impl PromReply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// `/api/v1/status/runtimeinfo` (the fields we use; prometheus-facts §1.3).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeInfo {
    #[serde(default)]
    pub reload_config_success: bool,
    /// RFC 3339 time of the last successful config load.
    #[serde(default)]
    pub last_config_time: String,
    #[serde(default)]
    pub storage_retention: String,
    #[serde(default)]
    pub start_time: String,
}

/// One Prometheus pod, reachable by proxy or exec.
pub struct PromPod<'a> {
    client: &'a kube::Client,
    exec: &'a dyn PodExec,
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub port: u16,
    /// `/` or `/prefix`.
    pub route_prefix: String,
    /// Once the proxy is forbidden, go straight to exec for this pod.
    proxy_forbidden: Mutex<bool>,
}

impl<'a> PromPod<'a> {
    pub fn new(
        client: &'a kube::Client,
        exec: &'a dyn PodExec,
        instance: &Instance,
        pod: &str,
    ) -> Self {
        PromPod {
            client,
            exec,
            namespace: instance.namespace.clone(),
            pod: pod.to_string(),
            container: instance.container.clone(),
            port: instance.port,
            route_prefix: instance.route_prefix.clone(),
            proxy_forbidden: Mutex::new(false),
        }
    }

    /// `PATH` under the route prefix: `/-/reload` → `/prom/-/reload`.
    pub fn prefixed(&self, path: &str) -> String {
        prefixed(&self.route_prefix, path)
    }

    /// The pod-proxy URL path the API server forwards.
    pub fn proxy_path(&self, path: &str) -> String {
        format!(
            "/api/v1/namespaces/{}/pods/{}:{}/proxy{}",
            self.namespace,
            self.pod,
            self.port,
            self.prefixed(path)
        )
    }

    pub async fn get(&self, path: &str) -> Result<PromReply> {
        self.call(http::Method::GET, path).await
    }

    pub async fn post(&self, path: &str) -> Result<PromReply> {
        self.call(http::Method::POST, path).await
    }

    /// One request, bounded by [`ANSWER_TIMEOUT`]: neither the pod proxy (a long-running request for the API server,
    /// so never timed out there) nor an exec'd `wget` (900 s default) gives up on a Prometheus that hangs.
    async fn call(&self, method: http::Method, path: &str) -> Result<PromReply> {
        match tokio::time::timeout(ANSWER_TIMEOUT, self.call_unbounded(method.clone(), path)).await
        {
            Ok(reply) => reply,
            Err(_) => Err(Error::Prometheus {
                message: format!(
                    "Prometheus in pod {}/{} did not answer {method} {} within {}s: it hangs, or keeps answering \
                     503 Service Unavailable (which the client retries)",
                    self.namespace,
                    self.pod,
                    self.prefixed(path),
                    ANSWER_TIMEOUT.as_secs()
                ),
                hint: Some(format!(
                    "look at the pod: `kubectl logs -n {ns} {pod} -c {container}` and `kubectl get --raw \
                     /api/v1/namespaces/{ns}/pods/{pod}:{port}/proxy{ready}`",
                    ns = self.namespace,
                    pod = self.pod,
                    container = self.container,
                    port = self.port,
                    ready = self.prefixed("/-/ready"),
                )),
            }),
        }
    }

    async fn call_unbounded(&self, method: http::Method, path: &str) -> Result<PromReply> {
        let forbidden = self.proxy_forbidden.lock().map(|f| *f).unwrap_or(false);
        if !forbidden {
            match self.via_proxy(method.clone(), path).await? {
                ProxyOutcome::Reply(r) => return Ok(r),
                ProxyOutcome::Forbidden => {
                    if let Ok(mut f) = self.proxy_forbidden.lock() {
                        *f = true;
                    }
                }
            }
        }
        self.via_exec(method, path).await
    }

    async fn via_proxy(&self, method: http::Method, path: &str) -> Result<ProxyOutcome> {
        let url = self.proxy_path(path);
        let request = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .body(kube::client::Body::empty())
            .map_err(|e| Error::usage(format!("bad Prometheus path `{path}`: {e}"), None))?;
        // The request itself, as the API server saw it: an error or a gap names exactly what was not answered.
        let action = format!("{method} {url}");
        let response = self
            .client
            .send(request)
            .await
            .map_err(Error::kube(action.clone()))?;
        let status = response.status().as_u16();
        let is_json = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let bytes = read_bounded(response.into_body(), body_limit(path))
            .await
            .map_err(Error::kube(action.clone()))?
            .ok_or_else(|| self.too_large(&method, path))?;
        let body = String::from_utf8_lossy(&bytes).into_owned();
        // The API server's own answers (a refusal, a 503 of its own, "error trying to reach service") are a `Status`
        // object; Prometheus never answers with one. Such an answer is the API server's, not Prometheus's: callers
        // get `Error::Kube` (a gap, "unknown"), never a `PromReply` to judge Prometheus by.
        if is_json && let Some(s) = api_status(&body) {
            if s.code == 403 {
                return Ok(ProxyOutcome::Forbidden);
            }
            return Err(Error::Kube {
                action,
                source: kube::Error::Api(Box::new(s)),
            });
        }
        Ok(ProxyOutcome::Reply(PromReply {
            status,
            body,
            access: Access::Proxy,
        }))
    }

    async fn via_exec(&self, method: http::Method, path: &str) -> Result<PromReply> {
        let url = format!("http://localhost:{}{}", self.port, self.prefixed(path));
        let post = method == http::Method::POST;
        // GNU wget keeps the body of an error reply only with --content-on-error; busybox wget lacks the option.
        let mut argv = wget_argv(&url, post, true);
        let mut out = self
            .exec
            .run(&self.namespace, &self.pod, &self.container, &argv)
            .await?;
        if out.exit_code != 0
            && (out.stderr.contains("unrecognized option") || out.stderr.contains("invalid option"))
        {
            argv = wget_argv(&url, post, false);
            out = self
                .exec
                .run(&self.namespace, &self.pod, &self.container, &argv)
                .await?;
        }
        // `wget -O-` writes the whole body to stdout; the exec read itself is bounded (podexec::OUTPUT_LIMIT), the
        // endpoint's own limit is applied here as on the proxy path.
        if out.stdout.len() > body_limit(path) {
            return Err(self.too_large(&method, path));
        }
        match parse_wget_status(&out.stderr) {
            Some(status) => Ok(PromReply {
                status,
                body: out.stdout,
                access: Access::Exec,
            }),
            None => Err(Error::Exec {
                pod: format!("{}/{}", self.namespace, self.pod),
                command: argv.join(" "),
                message: format!(
                    "no HTTP answer (exit code {}): {}",
                    out.exit_code,
                    out.stderr.lines().last().unwrap_or("no output").trim()
                ),
            }),
        }
    }

    /// `/api/v1/status/flags` as a map (`"web.enable-lifecycle" → "true"`).
    pub async fn flags(&self) -> Result<(BTreeMap<String, String>, Access)> {
        let reply = self.expect_ok(
            self.get("/api/v1/status/flags").await?,
            "/api/v1/status/flags",
        )?;
        let parsed: ApiEnvelope<BTreeMap<String, String>> = serde_json::from_str(&reply.body)
            .map_err(|e| self.bad_json(&reply, "/api/v1/status/flags", e))?;
        Ok((parsed.data, reply.access))
    }

    /// `/api/v1/status/runtimeinfo`.
    pub async fn runtime_info(&self) -> Result<(RuntimeInfo, Access)> {
        let reply = self.expect_ok(
            self.get("/api/v1/status/runtimeinfo").await?,
            "/api/v1/status/runtimeinfo",
        )?;
        let parsed: ApiEnvelope<RuntimeInfo> = serde_json::from_str(&reply.body)
            .map_err(|e| self.bad_json(&reply, "/api/v1/status/runtimeinfo", e))?;
        Ok((parsed.data, reply.access))
    }

    /// `/api/v1/status/config`: the config Prometheus is running (the last good one after a failed reload).
    pub async fn config_yaml(&self) -> Result<(String, Access)> {
        #[derive(Deserialize)]
        struct Yaml {
            yaml: String,
        }
        let reply = self.expect_ok(
            self.get("/api/v1/status/config").await?,
            "/api/v1/status/config",
        )?;
        let parsed: ApiEnvelope<Yaml> = serde_json::from_str(&reply.body)
            .map_err(|e| self.bad_json(&reply, "/api/v1/status/config", e))?;
        Ok((parsed.data.yaml, reply.access))
    }

    /// One unlabelled sample from `/metrics`, e.g. `prometheus_config_last_reload_successful`.
    pub async fn metric(&self, name: &str) -> Result<(Option<f64>, Access)> {
        let (mut values, access) = self.metrics(&[name]).await?;
        Ok((values.pop().flatten(), access))
    }

    /// Several unlabelled samples from one `/metrics` scrape, in the order asked.
    pub async fn metrics(&self, names: &[&str]) -> Result<(Vec<Option<f64>>, Access)> {
        let reply = self.expect_ok(self.get("/metrics").await?, "/metrics")?;
        if !is_text_format(&reply.body) {
            return Err(self.not_prometheus(&reply, "/metrics", "the Prometheus text format"));
        }
        let values = names.iter().map(|n| parse_metric(&reply.body, n)).collect();
        Ok((values, reply.access))
    }

    /// An answer past [`body_limit`]: one sentence naming the pod and the request.
    fn too_large(&self, method: &http::Method, path: &str) -> Error {
        Error::TooLarge {
            what: format!(
                "Prometheus in pod {}/{} answered {method} {}",
                self.namespace,
                self.pod,
                self.prefixed(path)
            ),
            limit: crate::quantity::human_bytes(body_limit(path) as u64),
        }
    }

    fn expect_ok(&self, reply: PromReply, path: &str) -> Result<PromReply> {
        if reply.ok() {
            Ok(reply)
        } else {
            Err(Error::PromHttp {
                url: format!("{}/{}{}", self.namespace, self.pod, self.prefixed(path)),
                status: reply.status,
                body: describe_body(&reply.body),
            })
        }
    }

    fn bad_json(&self, reply: &PromReply, path: &str, e: serde_json::Error) -> Error {
        self.not_prometheus(reply, path, &format!("JSON ({e})"))
    }

    /// A 2xx whose body is not what Prometheus sends: garbage from the process on the port, or from a proxy.
    fn not_prometheus(&self, reply: &PromReply, path: &str, expected: &str) -> Error {
        Error::PromHttp {
            url: format!("{}/{}{}", self.namespace, self.pod, self.prefixed(path)),
            status: reply.status,
            body: format!(
                "{} instead of {expected}, so this does not look like Prometheus (via {})",
                describe_body(&reply.body),
                reply.access.describe()
            ),
        }
    }
}

enum ProxyOutcome {
    Reply(PromReply),
    Forbidden,
}

#[derive(Deserialize)]
struct ApiEnvelope<T> {
    data: T,
}

/// A body read up to `limit` bytes: `None` as soon as it is longer (by its `Content-Length`, or while reading), so
/// memory stays bounded whatever the server sends.
async fn read_bounded(
    body: kube::client::Body,
    limit: usize,
) -> std::result::Result<Option<Vec<u8>>, kube::Error> {
    use http_body::Body as _;
    use http_body_util::BodyExt;
    if body.size_hint().lower() > limit as u64 {
        return Ok(None);
    }
    let mut body = body;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if out.len() + data.len() > limit {
                return Ok(None);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Some(out))
}

/// `/` + `/-/reload` → `/-/reload`; `/prom` + `/-/reload` → `/prom/-/reload`.
pub fn prefixed(route_prefix: &str, path: &str) -> String {
    format!(
        "{}/{}",
        route_prefix.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// A Kubernetes `Status` object (what the API server itself answers), if the body is one.
fn api_status(body: &str) -> Option<kube::core::Status> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    if value.get("kind")?.as_str()? != "Status" {
        return None;
    }
    serde_json::from_value(value).ok()
}

/// `wget -S -q [--content-on-error] -O- [--post-data=] URL`: headers (`-S`) go to stderr, the body to stdout.
pub fn wget_argv(url: &str, post: bool, content_on_error: bool) -> Vec<String> {
    let mut argv = vec!["wget".to_string(), "-S".into(), "-q".into()];
    if content_on_error {
        argv.push("--content-on-error".into());
    }
    argv.push("-O-".into());
    if post {
        argv.push("--post-data=".into());
    }
    argv.push(url.to_string());
    argv
}

/// The last `HTTP/1.1 403 Forbidden` status line printed by `wget -S` (after redirects, the last one counts).
pub fn parse_wget_status(stderr: &str) -> Option<u16> {
    stderr
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("HTTP/")?;
            rest.split_whitespace().nth(1)?.parse().ok()
        })
        .next_back()
}

/// How long one request to Prometheus may take before we call it hung (see [`PromPod::get`]). A reload of a large
/// configuration takes seconds, not tens of seconds.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The most we read of Prometheus's answer to `path` (query string ignored), so a broken or hostile server, or a
/// proxy in front of it, answering gigabytes cannot make the plugin eat memory. Each limit is far above what a real
/// server of the largest installs answers (README "Safety"):
/// - `/-/reload`, `/-/ready`, `/-/healthy`, `/api/v1/status/buildinfo`, `/api/v1/status/runtimeinfo`: 64 KiB
///   (an empty body, one line, or a dozen short fields);
/// - `/api/v1/status/flags`, `/api/v1/features`, `/api/v1/status/tsdb` (we ask `limit=5`), `/api/v1/query` (one
///   scalar), anything else: 1 MiB;
/// - `/api/v1/status/config`, `/api/v1/rules` (`exclude_alerts`), `/metrics`: 32 MiB (they grow with the
///   configuration and rule files, a few MiB on the largest servers);
/// - `/api/v1/targets`: 64 MiB (grows with every target's labels: ~50,000 targets of Kubernetes discovery).
pub fn body_limit(path: &str) -> usize {
    const KIB: usize = 1 << 10;
    const MIB: usize = 1 << 20;
    let endpoint = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    match endpoint {
        "/-/reload"
        | "/-/ready"
        | "/-/healthy"
        | "/api/v1/status/buildinfo"
        | "/api/v1/status/runtimeinfo" => 64 * KIB,
        "/api/v1/status/config" | "/api/v1/rules" | "/metrics" => 32 * MIB,
        "/api/v1/targets" => 64 * MIB,
        _ => MIB,
    }
}

/// Longest excerpt of a body quoted in an error.
const EXCERPT_CHARS: usize = 300;

/// A body as one printable line for an error sentence: empty, binary, an HTML page (by its title), or the text
/// itself — control characters escaped so a terminal never interprets them, whitespace runs folded, long text cut.
pub fn describe_body(body: &str) -> String {
    let text = body.trim();
    if text.is_empty() {
        return "an empty body".into();
    }
    let odd = text
        .chars()
        .filter(|c| *c == char::REPLACEMENT_CHARACTER || (c.is_control() && !c.is_whitespace()))
        .count();
    // Text has none; one stray byte in a long page is still text worth quoting (escaped).
    if odd * 50 >= text.chars().count().min(2500) && odd > 0 {
        return format!(
            "binary data ({} bytes, not text; starts `{}`)",
            body.len(),
            printable(text, 24)
        );
    }
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        let title = lower.find("<title>").and_then(|start| {
            let rest = &text[start + "<title>".len()..];
            let end = rest.to_ascii_lowercase().find("</title>")?;
            Some(rest[..end].trim().to_string()).filter(|t| !t.is_empty())
        });
        return match title {
            Some(title) => format!("an HTML page titled `{}`", printable(&title, 120)),
            None => "an HTML page".into(),
        };
    }
    format!("`{}`", printable(text, EXCERPT_CHARS))
}

/// `text` on one line: whitespace runs become one space, other control characters are escaped (`\u001b`), bytes
/// that were not UTF-8 become `.`, at most `max` characters (then `…`).
fn printable(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut last_space = false;
    for c in text.chars() {
        if count >= max {
            out.push('…');
            break;
        }
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
                count += 1;
            }
            last_space = true;
            continue;
        }
        last_space = false;
        if c == char::REPLACEMENT_CHARACTER {
            // A byte that was not UTF-8: shown as `hexdump -C` does.
            out.push('.');
        } else {
            // The one escaping rule of the tool (crate::escape).
            crate::escape::push_escaped(&mut out, c);
        }
        count += 1;
    }
    out
}

/// Whether a `/metrics` body is the Prometheus text format: at least one `name[{labels}] value` sample line.
pub fn is_text_format(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| {
            let (name, rest) = match l.find('{') {
                Some(open) => match l[open..].find('}') {
                    Some(close) => (&l[..open], &l[open + close + 1..]),
                    None => return false,
                },
                None => l.split_once(char::is_whitespace).unwrap_or((l, "")),
            };
            let name_ok = !name.is_empty()
                && name.chars().enumerate().all(|(i, c)| {
                    c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
                });
            let value = rest.split_whitespace().next().unwrap_or_default();
            // Rust's f64 parser reads NaN, +Inf and -Inf as the text format writes them.
            name_ok && value.parse::<f64>().is_ok()
        })
}

/// The value of an unlabelled sample in the Prometheus text format.
pub fn parse_metric(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let mut parts = l.split_whitespace();
        let metric = parts.next()?;
        if metric != name {
            return None;
        }
        parts.next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_honour_the_route_prefix() {
        assert_eq!(prefixed("/", "/-/reload"), "/-/reload");
        assert_eq!(prefixed("/prom", "/-/reload"), "/prom/-/reload");
        assert_eq!(
            prefixed("/prom/", "api/v1/status/flags"),
            "/prom/api/v1/status/flags"
        );
    }

    #[test]
    fn wget_status_is_read_from_its_server_response_lines() {
        // Captured from GNU wget 1.21 against Prometheus 2.42 (`wget -S -q --content-on-error -O- --post-data= …`).
        let stderr = "  HTTP/1.1 403 Forbidden\n  Date: Sat, 21 Nov 2026 23:19:01 GMT\n  Content-Length: 29\n  Content-Type: text/plain; charset=utf-8\n";
        assert_eq!(parse_wget_status(stderr), Some(403));
        let redirected = "  HTTP/1.1 302 Found\n  Location: /graph\n  HTTP/1.1 200 OK\n";
        assert_eq!(parse_wget_status(redirected), Some(200));
        assert_eq!(
            parse_wget_status("wget: can't connect to remote host (127.0.0.1): Connection refused"),
            None
        );
        assert_eq!(
            wget_argv("http://localhost:9090/-/reload", true, true),
            [
                "wget",
                "-S",
                "-q",
                "--content-on-error",
                "-O-",
                "--post-data=",
                "http://localhost:9090/-/reload"
            ]
        );
    }

    #[test]
    fn metrics_are_parsed_from_the_text_format() {
        let text = "# HELP prometheus_config_last_reload_successful Whether the last configuration reload attempt was successful.\n\
                    # TYPE prometheus_config_last_reload_successful gauge\n\
                    prometheus_config_last_reload_successful 1\n\
                    prometheus_config_last_reload_success_timestamp_seconds 1.7637e+09\n";
        assert_eq!(
            parse_metric(text, "prometheus_config_last_reload_successful"),
            Some(1.0)
        );
        assert_eq!(
            parse_metric(
                text,
                "prometheus_config_last_reload_success_timestamp_seconds"
            ),
            Some(1.7637e9)
        );
        assert_eq!(parse_metric(text, "prometheus_config_last_reload"), None);
    }

    #[test]
    fn garbage_bodies_are_described_in_one_printable_line() {
        assert_eq!(describe_body(" \n"), "an empty body");
        let binary =
            String::from_utf8_lossy(b"\x89PNG\r\n\x1a\n\x00\x00\x1b[31m\x07\xff\xfe").into_owned();
        let said = describe_body(&binary);
        assert!(said.starts_with("binary data ("), "{said}");
        assert!(
            !said
                .chars()
                .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER),
            "{said:?}"
        );
        let nginx = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>";
        assert_eq!(
            describe_body(nginx),
            "an HTML page titled `502 Bad Gateway`"
        );
        assert_eq!(
            describe_body("Lifecycle API is not enabled.\n"),
            "`Lifecycle API is not enabled.`"
        );
        // An escape sequence inside text is quoted escaped, never sent to the terminal.
        let page = format!("bad\u{1b}[2Jthing\n\n  here {}", "and more text ".repeat(5));
        assert!(
            describe_body(&page).starts_with("`bad\\u001b[2Jthing here and more"),
            "{}",
            describe_body(&page)
        );
        assert!(describe_body(&"x".repeat(1000)).ends_with("…`"));
    }

    #[test]
    fn only_sample_lines_make_a_metrics_body() {
        assert!(is_text_format(
            "# HELP up x\n# TYPE up gauge\nup 1\nprometheus_build_info{version=\"2.42.0\"} 1\n"
        ));
        assert!(is_text_format(
            "go_gc_duration_seconds{quantile=\"1\"} +Inf\n"
        ));
        assert!(is_text_format("x_total NaN 1700000000000\n"));
        assert!(!is_text_format(""));
        assert!(!is_text_format("# only comments\n"));
        assert!(!is_text_format("<html><body>502 Bad Gateway</body></html>"));
        assert!(!is_text_format("{\"status\":\"success\"}"));
        assert!(!is_text_format("not metrics at all"));
    }

    #[test]
    fn api_server_statuses_are_told_apart_from_prometheus_bodies() {
        let forbidden = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"p\" is forbidden: User \"u\" cannot get resource \"pods/proxy\"","reason":"Forbidden","code":403}"#;
        assert_eq!(api_status(forbidden).map(|s| s.code), Some(403));
        assert!(api_status(r#"{"status":"success","data":{}}"#).is_none());
        assert!(api_status("Lifecycle API is not enabled.").is_none());
    }
}

#[cfg(test)]
mod bounds {
    use super::*;
    use crate::podexec::{ExecOutput, ScriptedExec};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A client whose API server proxies an answer of `total` bytes (64 KiB chunks, no Content-Length, as a
    /// chunked reply from a broken Prometheus or proxy), counting how many bytes the plugin pulled.
    fn streaming(total: usize) -> (kube::Client, Arc<AtomicUsize>) {
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = pulled.clone();
        let service = tower::service_fn(move |_req: http::Request<kube::client::Body>| {
            let counter = counter.clone();
            async move {
                const CHUNK: usize = 64 * 1024;
                let chunks = futures::stream::iter((0..total.div_ceil(CHUNK)).map(move |_| {
                    counter.fetch_add(CHUNK, Ordering::SeqCst);
                    Ok::<_, std::convert::Infallible>(http_body::Frame::data(bytes::Bytes::from(
                        vec![b'x'; CHUNK],
                    )))
                }));
                let response = http::Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(http_body_util::StreamBody::new(chunks))
                    .unwrap();
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        (kube::Client::new(service, "monitoring"), pulled)
    }

    fn instance() -> Instance {
        Instance {
            namespace: "monitoring".into(),
            name: "prometheus".into(),
            flavour: crate::model::Flavour::Plain,
            workloads: Vec::new(),
            pods: Vec::new(),
            terminating: Vec::new(),
            container: "prometheus".into(),
            image: "prom/prometheus:v3.5.0".into(),
            args: Vec::new(),
            port: 9090,
            route_prefix: "/".into(),
            data: None,
            config: None,
            sidecars: Vec::new(),
            origin: Default::default(),
            not_rendered: None,
        }
    }

    #[tokio::test]
    async fn an_oversized_answer_is_refused_by_pod_and_endpoint_without_reading_it_all() {
        // 256 MiB answered where buildinfo is a few hundred bytes: the read stops at the endpoint's limit.
        let (client, pulled) = streaming(256 << 20);
        let exec = ScriptedExec::default();
        let instance = instance();
        let prom = PromPod::new(&client, &exec, &instance, "prometheus-0");
        let err = prom
            .get("/api/v1/status/buildinfo")
            .await
            .expect_err("an answer past the limit is an error");
        let said = err.to_string();
        assert!(
            said.contains("pod monitoring/prometheus-0")
                && said.contains("GET /api/v1/status/buildinfo")
                && said.contains("64.0Ki"),
            "{said}"
        );
        assert!(
            pulled.load(Ordering::SeqCst) <= body_limit("/api/v1/status/buildinfo") + (256 << 10),
            "read {} bytes",
            pulled.load(Ordering::SeqCst)
        );
        // The query string does not change the endpoint, and an answer within the limit is read whole.
        let (client, _) = streaming(1 << 20);
        let prom = PromPod::new(&client, &exec, &instance, "prometheus-0");
        let reply = prom.get("/api/v1/targets?state=active").await.unwrap();
        assert_eq!(reply.body.len(), 1 << 20);
    }

    #[tokio::test]
    async fn the_exec_fallback_is_bounded_by_the_same_limit() {
        // The proxy is forbidden, so `wget` inside the container answers: its output past the limit is refused too.
        let service = tower::service_fn(|_req: http::Request<kube::client::Body>| async {
            let forbidden = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": "forbidden", "reason": "Forbidden", "code": 403});
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .status(403)
                    .header("content-type", "application/json")
                    .body(kube::client::Body::from(
                        serde_json::to_vec(&forbidden).unwrap(),
                    ))
                    .unwrap(),
            )
        });
        let client = kube::Client::new(service, "monitoring");
        let exec = ScriptedExec::default().on(
            &["wget"],
            ExecOutput {
                stdout: "y".repeat(2 << 20),
                stderr: "  HTTP/1.1 200 OK\n".into(),
                exit_code: 0,
            },
        );
        let instance = instance();
        let prom = PromPod::new(&client, &exec, &instance, "prometheus-0");
        let said = prom
            .get("/api/v1/status/flags")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            said.contains("pod monitoring/prometheus-0")
                && said.contains("GET /api/v1/status/flags"),
            "{said}"
        );
    }

    #[test]
    fn every_endpoint_the_plugin_reads_has_its_limit() {
        for (path, limit) in [
            ("/api/v1/status/config", 32 << 20),
            ("/api/v1/targets?state=active", 64 << 20),
            ("/api/v1/status/buildinfo", 64 << 10),
            ("/api/v1/status/flags", 1 << 20),
            ("/api/v1/status/runtimeinfo", 64 << 10),
            ("/api/v1/status/tsdb?limit=5", 1 << 20),
            ("/api/v1/rules?exclude_alerts=true", 32 << 20),
            ("/metrics", 32 << 20),
            ("/-/reload", 64 << 10),
        ] {
            assert_eq!(body_limit(path), limit, "{path}");
        }
    }
}
