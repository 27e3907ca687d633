//! Test knob, not Kubernetes behaviour: the API front's timeline of counted requests (when each was received, when
//! its answer was complete, how many body bytes it sent) and the client's serial round trips computed from it,
//! served by `/kube-sim/stats?since=N` so any client — kubectl, the plugin, completion — is measured the same way.
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use crate::http::Body;

/// One counted request.
struct Span {
    /// `METHOD path`, the key of the per-path counts.
    key: String,
    start: Instant,
    /// None while the answer is still being sent (or the upgraded connection is open).
    end: Option<Instant>,
    bytes: u64,
}

/// Every counted request in arrival order; a request's number is its index.
#[derive(Default)]
pub struct Timeline {
    spans: Mutex<Vec<Span>>,
}

/// Marks the end of request `number` when dropped: kept in the response body (ends when the body is sent or the
/// connection gives up) or, for a 101 upgrade, in the connection (ends when the upgraded stream closes).
pub struct SpanEnd {
    timeline: Arc<Timeline>,
    number: usize,
    bytes: u64,
}

impl Drop for SpanEnd {
    fn drop(&mut self) {
        let now = Instant::now();
        if let Ok(mut spans) = self.timeline.spans.lock()
            && let Some(span) = spans.get_mut(self.number)
        {
            span.end = Some(now);
            span.bytes += self.bytes;
        }
    }
}

impl Timeline {
    /// Record the arrival of a request; the returned guard records its end.
    pub fn begin(self: &Arc<Self>, key: String) -> SpanEnd {
        let start = Instant::now();
        let number = match self.spans.lock() {
            Ok(mut spans) => {
                spans.push(Span {
                    key,
                    start,
                    end: None,
                    bytes: 0,
                });
                spans.len() - 1
            }
            // A poisoned lock only loses accounting; the request itself is still served.
            Err(_) => usize::MAX,
        };
        SpanEnd {
            timeline: self.clone(),
            number,
            bytes: 0,
        }
    }

    /// The requests numbered `since` and later: count, body bytes, requests still open (their end is taken as now),
    /// serial round trips and the requests on that critical path, and count/bytes per `METHOD path`.
    pub fn window(&self, since: usize) -> Value {
        let now = Instant::now();
        let Ok(spans) = self.spans.lock() else {
            return json!({"since": since});
        };
        let window = spans.get(since..).unwrap_or_default();
        let intervals: Vec<(Instant, Instant)> = window
            .iter()
            .map(|s| (s.start, s.end.unwrap_or(now)))
            .collect();
        let path = critical_path(&intervals);
        let mut by_request: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for s in window {
            let e = by_request.entry(&s.key).or_default();
            e.0 += 1;
            e.1 += s.bytes;
        }
        json!({
            "since": since,
            "requests": window.len(),
            "bytes": window.iter().map(|s| s.bytes).sum::<u64>(),
            "open": window.iter().filter(|s| s.end.is_none()).count(),
            "serial_round_trips": path.len(),
            "critical_path": path.iter().map(|&i| window[i].key.as_str()).collect::<Vec<_>>(),
            "by_request": by_request
                .into_iter()
                .map(|(k, (count, bytes))| (k.to_string(), json!({"count": count, "bytes": bytes})))
                .collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// The longest chain of intervals each starting strictly after the previous one ended (indices into `intervals`,
/// in chain order). A client that waits for an answer before sending the next request makes such a chain; requests
/// in flight together overlap, so the chain's length is the number of serial round trips. It is a maximum set of
/// pairwise disjoint intervals, which the earliest-end-first greedy choice finds (interval scheduling).
pub fn critical_path<T: Ord + Copy>(intervals: &[(T, T)]) -> Vec<usize> {
    let mut by_end: Vec<usize> = (0..intervals.len()).collect();
    by_end.sort_by_key(|&i| (intervals[i].1, intervals[i].0));
    let mut chain: Vec<usize> = Vec::new();
    for i in by_end {
        if chain
            .last()
            .is_none_or(|&last| intervals[i].0 > intervals[last].1)
        {
            chain.push(i);
        }
    }
    chain
}

/// A response body that counts the bytes it sends and ends its request's span when it is finished or dropped.
pub struct TimedBody {
    inner: Body,
    end: Option<SpanEnd>,
}

impl TimedBody {
    pub fn wrap(inner: Body, end: SpanEnd) -> Body {
        http_body_util::BodyExt::boxed(TimedBody {
            inner,
            end: Some(end),
        })
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(end)) = (frame.data_ref(), self.end.as_mut()) {
                    end.bytes += data.len() as u64;
                }
            }
            // The last frame was handed to the connection: the request ends here, not when hyper drops the body.
            Poll::Ready(None) => drop(self.end.take()),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The upgraded request of a connection (101), ended when the connection's stream is dropped — for exec, when the
/// session is over — rather than when the empty 101 body is sent.
pub type UpgradeSlot = Arc<Mutex<Option<SpanEnd>>>;

/// A connection's stream that ends the span in its `UpgradeSlot` when dropped.
pub struct ConnIo<S> {
    pub inner: S,
    pub upgraded: UpgradeSlot,
}

impl<S> Drop for ConnIo<S> {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.upgraded.lock() {
            drop(slot.take());
        }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for ConnIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for ConnIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(intervals: &[(u32, u32)]) -> usize {
        critical_path(intervals).len()
    }

    #[test]
    fn concurrent_requests_are_one_round_trip() {
        assert_eq!(serial(&[(0, 50), (1, 51)]), 1);
        assert_eq!(serial(&[(0, 50), (1, 51), (2, 52), (3, 49)]), 1);
    }

    #[test]
    fn a_chain_of_three_is_three_round_trips() {
        assert_eq!(serial(&[(0, 50), (51, 101), (102, 152)]), 3);
        // Arrival order does not matter.
        assert_eq!(serial(&[(102, 152), (0, 50), (51, 101)]), 3);
    }

    #[test]
    fn touching_intervals_overlap() {
        // A request received at the instant another ended was not sent after that answer arrived.
        assert_eq!(serial(&[(0, 50), (50, 100)]), 1);
    }

    #[test]
    fn mixed_rounds_count_the_longest_chain() {
        // Round 1: three concurrent requests; round 2: two concurrent ones after round 1; a long request (a watch)
        // spans both rounds; round 3: one request.
        let intervals = [
            (0, 50),
            (1, 52),
            (2, 51),
            (0, 180),
            (53, 103),
            (54, 104),
            (110, 160),
        ];
        let path = critical_path(&intervals);
        assert_eq!(path.len(), 3);
        // The chain is in order and pairwise disjoint.
        for pair in path.windows(2) {
            assert!(intervals[pair[1]].0 > intervals[pair[0]].1, "{path:?}");
        }
        // A slow first request does not hide a chain of short ones started beside it.
        assert_eq!(serial(&[(0, 200), (1, 20), (21, 40), (41, 60)]), 3);
    }

    #[test]
    fn no_requests_no_round_trips() {
        assert_eq!(serial(&[]), 0);
    }

    #[test]
    fn window_counts_bytes_open_requests_and_the_path() {
        let timeline = Arc::new(Timeline::default());
        let mut first = timeline.begin("GET /api".into());
        first.bytes = 10;
        drop(first);
        std::thread::sleep(std::time::Duration::from_millis(1));
        let mut second = timeline.begin("GET /api/v1/pods".into());
        second.bytes = 100;
        drop(second);
        std::thread::sleep(std::time::Duration::from_millis(1));
        let _open = timeline.begin("GET /api/v1/pods".into());
        let all = timeline.window(0);
        assert_eq!(all["requests"], 3);
        assert_eq!(all["bytes"], 110);
        assert_eq!(all["open"], 1);
        assert_eq!(all["by_request"]["GET /api/v1/pods"]["count"], 2);
        // Each began after the previous one ended (the open one ends "now").
        assert_eq!(all["serial_round_trips"], 3);
        assert_eq!(
            all["critical_path"],
            json!(["GET /api", "GET /api/v1/pods", "GET /api/v1/pods"])
        );
        let later = timeline.window(1);
        assert_eq!(later["requests"], 2);
        assert_eq!(later["bytes"], 100);
        assert_eq!(timeline.window(9)["requests"], 0);
    }
}
