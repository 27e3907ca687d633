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
        let bytes = response
            .into_body()
            .collect_bytes()
            .await
            .map_err(Error::kube(action.clone()))?;
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
