//! When an API request is tried again: kubectl's rule, not kube's default. client-go retries a 429 or 5xx answer only
//! when the server says when (a `Retry-After` header; rest/request.go `checkWait`, at most 10 times), while kube 5's
//! default policy retries every 429/503/504 with exponential backoff up to 15 times — minutes of silence on a
//! proxy's 503 during an incident. Here: client-go's rule, each wait capped so a misbehaving proxy cannot stall us.

use http::{HeaderMap, Request, Response, StatusCode};
use kube::client::Body;
use std::time::Duration;
use tower::BoxError;
use tower::retry::Policy;

/// client-go's `maxRetries` for a request.
pub const MAX_RETRIES: u32 = 10;
/// The longest `Retry-After` we honour per attempt.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// The retry policy for every API request (see the module comment).
#[derive(Debug, Clone)]
pub struct RetryAfter {
    left: u32,
}

impl Default for RetryAfter {
    fn default() -> Self {
        RetryAfter { left: MAX_RETRIES }
    }
}

/// How long to wait before trying again, when the answer may be retried at all (pure).
pub fn wait_before_retry(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
        return None;
    }
    let seconds: u64 = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_WAIT))
}

impl<Res> Policy<Request<Body>, Response<Res>, BoxError> for RetryAfter {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        _request: &mut Request<Body>,
        result: &mut Result<Response<Res>, BoxError>,
    ) -> Option<Self::Future> {
        let response = result.as_ref().ok()?;
        let wait = wait_before_retry(response.status(), response.headers())?;
        self.left = self.left.checked_sub(1)?;
        Some(tokio::time::sleep(wait))
    }

    fn clone_request(&mut self, request: &Request<Body>) -> Option<Request<Body>> {
        // Only bodies held whole can be sent twice (not streams such as exec upgrades).
        let body = request.body().try_clone()?;
        let mut copy = Request::builder()
            .method(request.method().clone())
            .uri(request.uri().clone())
            .version(request.version())
            .body(body)
            .ok()?;
        *copy.headers_mut() = request.headers().clone();
        *copy.extensions_mut() = request.extensions().clone();
        Some(copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(retry_after: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = retry_after {
            h.insert(http::header::RETRY_AFTER, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_an_answer_that_says_when_is_retried() {
        let wait = |code: u16, after: Option<&str>| {
            wait_before_retry(StatusCode::from_u16(code).unwrap(), &headers(after))
        };
        assert_eq!(wait(429, Some("1")), Some(Duration::from_secs(1)));
        assert_eq!(wait(503, Some("2")), Some(Duration::from_secs(2)));
        // A proxy's bare 503 or 504 is an answer, not an invitation to wait minutes.
        assert_eq!(wait(503, None), None);
        assert_eq!(wait(504, None), None);
        // Client errors never; an unreadable or huge Retry-After is not followed blindly.
        assert_eq!(wait(409, Some("1")), None);
        assert_eq!(wait(429, Some("soon")), None);
        assert_eq!(wait(429, Some("3600")), Some(MAX_WAIT));
    }

    #[tokio::test]
    async fn at_most_max_retries() {
        let mut policy = RetryAfter::default();
        let mut request = Request::new(Body::from(Vec::new()));
        let answer = || {
            let mut r = Response::new(());
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, "0".parse().unwrap());
            Ok::<_, BoxError>(r)
        };
        for _ in 0..MAX_RETRIES {
            assert!(policy.retry(&mut request, &mut answer()).is_some());
        }
        assert!(policy.retry(&mut request, &mut answer()).is_none());
    }
}
