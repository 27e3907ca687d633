//! Request accounting: a tower layer on the kube client that counts API requests, response bytes received and
//! serial round trips, so `-v` can print what a command cost (every verb gets it through `Ctx::requests`).
//!
//! "Serial round trips" is the longest chain of requests each sent after the previous one was answered (a request
//! lasts from sending it until its response headers arrive): requests sent concurrently share one round trip, so
//! this is the number of network waits a user sits through, the figure that grows with latency. It is the same
//! measure kube-sim's request timeline takes on the server side (benches/perf.sh prints both).

use bytes::Bytes;
use futures::future::BoxFuture;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

/// Shared counters; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RequestStats(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    bytes: AtomicU64,
    /// When each request was sent and when its answer arrived (None while in flight).
    spans: Mutex<Vec<(Instant, Option<Instant>)>>,
}

/// A point-in-time copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCounts {
    pub requests: u64,
    pub bytes_received: u64,
    pub serial_round_trips: u64,
}

impl RequestStats {
    pub fn snapshot(&self) -> RequestCounts {
        let now = Instant::now();
        let spans: Vec<(Instant, Instant)> = self
            .0
            .spans
            .lock()
            .map(|spans| spans.iter().map(|(s, e)| (*s, e.unwrap_or(now))).collect())
            .unwrap_or_default();
        RequestCounts {
            requests: self.0.requests.load(Ordering::SeqCst),
            bytes_received: self.0.bytes.load(Ordering::SeqCst),
            serial_round_trips: longest_chain(spans),
        }
    }

    /// Record a request sent now; returns its index for [`RequestStats::finish`].
    fn start(&self) -> usize {
        self.0.requests.fetch_add(1, Ordering::SeqCst);
        let mut spans = self.0.spans.lock().unwrap_or_else(|e| e.into_inner());
        spans.push((Instant::now(), None));
        spans.len() - 1
    }

    fn finish(&self, index: usize) {
        let mut spans = self.0.spans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(span) = spans.get_mut(index) {
            span.1 = Some(Instant::now());
        }
    }
}

/// The longest chain of spans each starting at or after the previous one's end: the largest set of pairwise
/// non-overlapping spans, which taking the earliest-ending span first finds (interval scheduling).
fn longest_chain(mut spans: Vec<(Instant, Instant)>) -> u64 {
    spans.sort_by_key(|&(_, end)| end);
    let mut chain = 0;
    let mut last_end: Option<Instant> = None;
    for (start, end) in spans {
        if last_end.is_none_or(|last| start >= last) {
            chain += 1;
            last_end = Some(end);
        }
    }
    chain
}

impl RequestCounts {
    /// `API: 7 requests, 48.2 KiB received, 3 serial round trips`.
    pub fn summary(&self) -> String {
        let kib = self.bytes_received as f64 / 1024.0;
        format!(
            "API: {} requests, {kib:.1} KiB received, {} serial round trips",
            self.requests, self.serial_round_trips
        )
    }
}

/// The tower layer to put on the kube client (`ClientBuilder::with_layer`).
#[derive(Debug, Clone)]
pub struct CountingLayer(pub RequestStats);

impl<S> tower::Layer<S> for CountingLayer {
    type Service = Counting<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Counting {
            inner,
            stats: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Counting<S> {
    inner: S,
    stats: RequestStats,
}

impl<S, Req, B> tower::Service<Req> for Counting<S>
where
    S: tower::Service<Req, Response = http::Response<B>>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Response = http::Response<CountingBody<B>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let stats = self.stats.clone();
        let index = stats.start();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            stats.finish(index);
            result.map(|response| response.map(|body| CountingBody { inner: body, stats }))
        })
    }
}

/// A response body that adds the size of each data frame to the counters.
#[derive(Debug)]
pub struct CountingBody<B> {
    inner: B,
    stats: RequestStats,
}

impl<B> http_body::Body for CountingBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.stats
                .0
                .bytes
                .fetch_add(data.len() as u64, Ordering::SeqCst);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer, Service};

    /// A service answering each request with a fixed body after a delay, to test concurrency accounting.
    #[derive(Clone)]
    struct Slow;
    impl tower::Service<&'static str> for Slow {
        type Response = http::Response<http_body_util::Full<Bytes>>;
        type Error = std::convert::Infallible;
        type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, body: &'static str) -> Self::Future {
            Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Ok(http::Response::new(http_body_util::Full::new(Bytes::from(
                    body,
                ))))
            })
        }
    }

    #[tokio::test]
    async fn counts_requests_bytes_and_serial_round_trips() {
        use http_body_util::BodyExt;
        let stats = RequestStats::default();
        let mut svc = CountingLayer(stats.clone()).layer(Slow);
        // Two concurrent requests: one round trip.
        let (a, b) = tokio::join!(svc.clone().call("hello"), svc.clone().call("world!"));
        for response in [a.unwrap(), b.unwrap()] {
            response.into_body().collect().await.unwrap();
        }
        // Then one more, alone: a second round trip.
        let c = svc.call("x").await.unwrap();
        c.into_body().collect().await.unwrap();
        assert_eq!(
            stats.snapshot(),
            RequestCounts {
                requests: 3,
                bytes_received: 12,
                serial_round_trips: 2
            }
        );
        assert_eq!(
            stats.snapshot().summary(),
            "API: 3 requests, 0.0 KiB received, 2 serial round trips"
        );
    }

    #[test]
    fn a_chain_beside_a_long_request_counts_every_link() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + std::time::Duration::from_millis(ms);
        // One long request (a watch, a slow list) from 0 to 100 ms, and beside it three requests one after the
        // other: the user waited for three round trips, not one.
        let spans = vec![
            (at(0), at(100)),
            (at(1), at(20)),
            (at(20), at(40)),
            (at(41), at(60)),
        ];
        assert_eq!(longest_chain(spans), 3);
        // Concurrent requests share a round trip; an empty run has none.
        assert_eq!(longest_chain(vec![(at(0), at(10)), (at(2), at(12))]), 1);
        assert_eq!(longest_chain(Vec::new()), 0);
    }
}
