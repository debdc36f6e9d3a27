//! [`ResponseFuture`]: the future of [`S3Cors`](crate::S3Cors).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::Response;
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::policy::{Allowed, Explanation};
use crate::vary::add_cors_vary;

pin_project! {
    /// Response future of [`S3Cors`](crate::S3Cors): either an answer the
    /// layer gave itself (a preflight), or the inner service's future, whose
    /// response gets the CORS headers decided before the call.
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Answered { response: Option<Response<Bytes>> },
        Inner { #[pin] future: F, finish: Finish },
    }
}

/// What to do to the inner service's response.
#[derive(Debug, Default)]
pub(crate) struct Finish {
    /// The matched rule's headers.
    pub(crate) cors: Option<Allowed>,
    /// Merge the CORS `Vary` tokens.
    pub(crate) vary: bool,
    /// Why no rule matched, for the response's extensions.
    pub(crate) explanation: Option<Box<Explanation>>,
}

impl Finish {
    /// Nothing but, if `vary`, the CORS `Vary` tokens.
    pub(crate) fn vary_only(vary: bool) -> Self {
        Self {
            cors: None,
            vary,
            explanation: None,
        }
    }
}

impl<F> ResponseFuture<F> {
    /// A response the layer gave itself.
    pub(crate) fn answered(response: Response<Bytes>) -> Self {
        Self {
            kind: Kind::Answered {
                response: Some(response),
            },
        }
    }

    /// The inner service's future, and what to add to its response.
    pub(crate) fn inner(future: F, finish: Finish) -> Self {
        Self {
            kind: Kind::Inner { future, finish },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Answered { response } => {
                #[allow(clippy::expect_used)]
                let response = response
                    .take()
                    .expect("ResponseFuture polled after completion");
                Poll::Ready(Ok(response.map(ResponseBody::full)))
            }
            KindProj::Inner { future, finish } => {
                let mut response = ready!(future.poll(cx))?;
                let finish = std::mem::take(finish);
                let headers = response.headers_mut();
                if let Some(allowed) = finish.cors {
                    allowed.write_headers_reserving(headers, usize::from(finish.vary));
                }
                if finish.vary {
                    add_cors_vary(headers);
                }
                if let Some(explanation) = finish.explanation {
                    response.extensions_mut().insert(*explanation);
                }
                Poll::Ready(Ok(response.map(ResponseBody::inner)))
            }
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Answered { .. } => "Answered",
            Kind::Inner { .. } => "Inner",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}
