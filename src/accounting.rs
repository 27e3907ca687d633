//! Request accounting: a tower layer on the kube client that counts API requests, response bytes received and
//! serial round trips, so `-v` can print what a command cost (every verb gets it through `Ctx::requests`).
//!
//! "Serial round trips" counts the requests that started while no other request was in flight (in flight = from
//! sending the request until its response headers arrive): requests sent concurrently share one round trip, so
//! this is the number of network waits a user sits through, the figure that grows with latency.

use bytes::Bytes;
use futures::future::BoxFuture;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

/// Shared counters; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RequestStats(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    bytes: AtomicU64,
    serial: AtomicU64,
    in_flight: AtomicU64,
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
        RequestCounts {
            requests: self.0.requests.load(Ordering::SeqCst),
            bytes_received: self.0.bytes.load(Ordering::SeqCst),
            serial_round_trips: self.0.serial.load(Ordering::SeqCst),
        }
    }

    fn start(&self) {
        self.0.requests.fetch_add(1, Ordering::SeqCst);
        if self.0.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            self.0.serial.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn finish(&self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
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
        stats.start();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            stats.finish();
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
}
