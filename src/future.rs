//! [`ResponseFuture`]: the future of [`S3Cors`](crate::S3Cors).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::decide::{self, OnResponse};
use crate::observe::Tally;
use crate::options::Options;
use crate::policy::{AllowHeadersCache, CorsRequest};
use crate::s3::ResourceType;
use crate::source::Pending;
use crate::vary::add_cors_vary;

pin_project! {
    /// Response future of [`S3Cors`](crate::S3Cors): an answer the layer
    /// gave itself (a preflight), or the inner service's future, whose
    /// response gets the CORS headers decided before the call; either may
    /// first wait for a policy its source is loading.
    pub struct ResponseFuture<F>
    where
        F: Future,
    {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F>
    where
        F: Future,
    {
        Answered { response: Option<Response<Bytes>> },
        // A request without `Origin` (the most common kind): nothing to
        // add, or `Vary` alone. Nothing but the inner future, so that
        // polling and dropping the future do no more.
        Plain { #[pin] future: F },
        Vary { #[pin] future: F },
        Inner { #[pin] future: F, on_response: OnResponse },
        // The inner service's future, for a request whose policy is being
        // loaded.
        InnerJoining { #[pin] future: F, join: Option<Box<Join>> },
        // A preflight waiting for its policy.
        Preflight { waiting: Option<Box<WaitingPreflight>> },
        // An inner response waiting for the policy of its request.
        Joining { parked: Option<Box<Parked<F::Output>>> },
    }
}

/// A preflight whose policy is being loaded.
struct WaitingPreflight {
    pending: Pending,
    resource: ResourceType,
    parts: Parts,
    options: Options,
    tally: Tally,
}

/// An inner response, held while its request joins a load.
struct Parked<T> {
    output: T,
    join: Box<Join>,
}

/// An actual request whose policy is being loaded: what it needs to be
/// decided once the load is over (its method and CORS headers, copied).
#[derive(Debug)]
pub(crate) struct Join {
    pending: Pending,
    origin: HeaderValue,
    method: Method,
    /// `Access-Control-Request-Method` and `-Headers`, as sent.
    headers: HeaderMap,
    options: Options,
    tally: Tally,
}

impl Join {
    /// What `request`, from `origin`, needs to join `pending`.
    pub(crate) fn new<B>(
        pending: Pending,
        origin: &HeaderValue,
        request: &Request<B>,
        options: Options,
        tally: Tally,
    ) -> Box<Self> {
        let mut headers = HeaderMap::new();
        for name in [
            ACCESS_CONTROL_REQUEST_METHOD,
            ACCESS_CONTROL_REQUEST_HEADERS,
        ] {
            for value in request.headers().get_all(&name) {
                headers.append(name.clone(), value.clone());
            }
        }
        Box::new(Self {
            pending,
            origin: origin.clone(),
            method: request.method().clone(),
            headers,
            options,
            tally,
        })
    }

    /// What to do to the response, once the load is over.
    fn poll_decide(&mut self, cx: &mut Context<'_>) -> Poll<OnResponse> {
        let policy = ready!(Pin::new(&mut self.pending).poll(cx));
        self.tally.settle(&self.pending, &policy);
        let cors = CorsRequest::with_origin(&self.origin, &self.method, &self.headers);
        Poll::Ready(decide::actual(&self.options, policy, &cors, &self.tally))
    }
}

impl<F: Future> ResponseFuture<F> {
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

    /// The inner service's future, for a request without `Origin`: its
    /// response gets `Vary` if `vary`, nothing else.
    pub(crate) fn without_origin(future: F, vary: bool) -> Self {
        let kind = if vary {
            Kind::Vary { future }
        } else {
            Kind::Plain { future }
        };
        Self { kind }
    }

    /// The inner service's future, for a request that joins a load when
    /// the inner response comes.
    pub(crate) fn joining(future: F, join: Box<Join>) -> Self {
        Self {
            kind: Kind::InnerJoining {
                future,
                join: Some(join),
            },
        }
    }

    /// A preflight answered once `pending` is over.
    pub(crate) fn preflight(
        pending: Pending,
        resource: ResourceType,
        parts: Parts,
        options: Options,
        tally: Tally,
    ) -> Self {
        Self {
            kind: Kind::Preflight {
                waiting: Some(Box::new(WaitingPreflight {
                    pending,
                    resource,
                    parts,
                    options,
                    tally,
                })),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        const DONE: &str = "ResponseFuture polled after completion";
        let parked = match self.as_mut().project().kind.project() {
            KindProj::Answered { response } => {
                let response = response.take().expect(DONE);
                return Poll::Ready(Ok(response.map(ResponseBody::full)));
            }
            KindProj::Plain { future } => {
                let response = ready!(future.poll(cx))?;
                return Poll::Ready(Ok(response.map(ResponseBody::inner)));
            }
            KindProj::Vary { future } => {
                let mut response = ready!(future.poll(cx))?;
                add_cors_vary(response.headers_mut());
                return Poll::Ready(Ok(response.map(ResponseBody::inner)));
            }
            KindProj::Inner {
                future,
                on_response,
            } => {
                let mut response = ready!(future.poll(cx))?;
                std::mem::take(on_response).apply(&mut response);
                return Poll::Ready(Ok(response.map(ResponseBody::inner)));
            }
            KindProj::Preflight { waiting } => {
                let wait = waiting.as_mut().expect(DONE);
                let policy = ready!(Pin::new(&mut wait.pending).poll(cx));
                let WaitingPreflight {
                    pending,
                    resource,
                    parts,
                    options,
                    mut tally,
                } = *waiting.take().expect(DONE);
                tally.settle(&pending, &policy);
                let mut cache = AllowHeadersCache::default();
                let response =
                    decide::preflight(&options, parts, policy, resource, &mut cache, &tally);
                return Poll::Ready(Ok(response.map(ResponseBody::full)));
            }
            KindProj::Joining { parked } => {
                let on_response = ready!(parked.as_mut().expect(DONE).join.poll_decide(cx));
                let Parked { output, .. } = *parked.take().expect(DONE);
                let mut response = output?;
                on_response.apply(&mut response);
                return Poll::Ready(Ok(response.map(ResponseBody::inner)));
            }
            KindProj::InnerJoining { future, join } => {
                let response = ready!(future.poll(cx))?;
                Box::new(Parked {
                    output: Ok(response),
                    join: join.take().expect(DONE),
                })
            }
        };
        // The inner response came before the load was over: hold it.
        self.as_mut().project().kind.set(Kind::Joining {
            parked: Some(parked),
        });
        self.poll(cx)
    }
}

impl<F: Future> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Answered { .. } => "Answered",
            Kind::Plain { .. } => "Plain",
            Kind::Vary { .. } => "Vary",
            Kind::Inner { .. } => "Inner",
            Kind::InnerJoining { .. } => "InnerJoining",
            Kind::Preflight { .. } => "Preflight",
            Kind::Joining { .. } => "Joining",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}
