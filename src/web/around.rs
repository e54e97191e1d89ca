//! Middleware written as plain services. Axum's `from_fn` boxes a copy of the inner service into
//! every request's `Next` and boxes its future; the layers that every request passes (the trace,
//! HEAD as GET, the error pages, the metrics' route layer) are instead an [`Around`]: the inner
//! service is called in place and only the answer's future is boxed, one allocation per layer and
//! request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service};

pub type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// What a layer does around the inner service: look at the request (and answer it itself, or
/// pass it on), then look at the inner service's answer.
pub trait Wrap: Clone + Send + Sync + 'static {
    /// Whatever the layer carries from the request to the answer.
    type Carried: Send + 'static;

    /// Either the request to pass on, with what to carry, or this layer's own answer.
    fn before(&self, request: Request) -> Before<Self::Carried>;

    /// The answer to send, given the answer: the inner service's, or this layer's own.
    fn after(
        self,
        carried: Self::Carried,
        answer: impl Future<Output = Response> + Send + 'static,
    ) -> impl Future<Output = Response> + Send + 'static;
}

pub enum Before<C> {
    Pass(Request, C),
    Answer(Response, C),
}

/// A [`Wrap`] as a layer, for `Router::route_layer` (where the matched route is known).
#[derive(Clone)]
pub struct AroundLayer<W>(W);

impl<W> AroundLayer<W> {
    pub fn new(wrap: W) -> Self {
        Self(wrap)
    }
}

impl<W: Clone, S> Layer<S> for AroundLayer<W> {
    type Service = Around<W, S>;

    fn layer(&self, inner: S) -> Around<W, S> {
        Around::new(self.0.clone(), inner)
    }
}

#[derive(Clone)]
pub struct Around<W, S> {
    wrap: W,
    inner: S,
}

impl<W, S> Around<W, S> {
    pub fn new(wrap: W, inner: S) -> Self {
        Self { wrap, inner }
    }
}

impl<W, S> Service<Request> for Around<W, S>
where
    W: Wrap,
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Answer {
        let wrap = self.wrap.clone();
        match wrap.before(request) {
            Before::Pass(request, carried) => {
                let future = self.inner.call(request);
                let answer = async move { future.await.unwrap_or_else(|never| match never {}) };
                Box::pin(async move { Ok(wrap.after(carried, answer).await) })
            }
            Before::Answer(response, carried) => {
                Box::pin(async move { Ok(wrap.after(carried, std::future::ready(response)).await) })
            }
        }
    }
}
