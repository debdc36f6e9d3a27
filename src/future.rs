//! [`ResponseFuture`]: the future of [`S3Cors`](crate::S3Cors).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Extensions, Response};
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::headers::CorsHeaders;
use crate::options::RefusalReason;
use crate::policy::Explanation;
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
        Inner { #[pin] future: F, on_response: OnResponse },
    }
}

/// What to do to the inner service's response.
#[derive(Debug, Default)]
pub(crate) struct OnResponse {
    /// What becomes of the response's `Access-Control-*` headers.
    pub(crate) cors: CorsHeaders,
    /// Merge the CORS `Vary` tokens.
    pub(crate) vary: bool,
    /// What to report of a refusal in the response's extensions.
    pub(crate) report: Option<Report>,
}

impl OnResponse {
    /// Nothing but, if `vary`, the CORS `Vary` tokens.
    pub(crate) fn vary_only(vary: bool) -> Self {
        Self {
            cors: CorsHeaders::Untouched,
            vary,
            report: None,
        }
    }
}

/// What a refused response carries in its extensions.
#[derive(Debug)]
pub(crate) enum Report {
    /// The reason alone.
    Reason(RefusalReason),
    /// The reason and the rule-by-rule explanation.
    Explanation(RefusalReason, Box<Explanation>),
}

impl Report {
    /// Inserts the report into a response's extensions.
    pub(crate) fn insert_into(self, extensions: &mut Extensions) {
        match self {
            Self::Reason(reason) => {
                extensions.insert(reason);
            }
            Self::Explanation(reason, explanation) => {
                extensions.insert(reason);
                extensions.insert(*explanation);
            }
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

    /// The inner service's future, and what to do to its response.
    pub(crate) fn inner(future: F, on_response: OnResponse) -> Self {
        Self {
            kind: Kind::Inner {
                future,
                on_response,
            },
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
                let response = response
                    .take()
                    .expect("ResponseFuture polled after completion");
                Poll::Ready(Ok(response.map(ResponseBody::full)))
            }
            KindProj::Inner {
                future,
                on_response,
            } => {
                let mut response = ready!(future.poll(cx))?;
                let OnResponse { cors, vary, report } = std::mem::take(on_response);
                let headers = response.headers_mut();
                cors.apply(headers, usize::from(vary));
                if vary {
                    add_cors_vary(headers);
                }
                if let Some(report) = report {
                    report.insert_into(response.extensions_mut());
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
