//! [`CorsAdmin`]: the `?cors` middleware service.

use std::task::{Context, Poll};

use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::digest::expected_md5;
use super::future::{Put, ResponseFuture, work};
use super::reply::Reply;
use super::target::AdminTarget;
use crate::body::ResponseBody;
use crate::s3::AmzRequestIds;
use crate::source::RequestHead;

/// Middleware answering S3's `?cors` sub-resource; built by
/// [`CorsAdminLayer`](super::CorsAdminLayer).
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsAdmin<S, T> {
    inner: S,
    target: T,
    require_digest: bool,
}

impl<S, T> CorsAdmin<S, T> {
    pub(super) fn from_parts(inner: S, target: T, require_digest: bool) -> Self {
        Self {
            inner,
            target,
            require_digest,
        }
    }

    crate::macros::inner_service_accessors!();
}

/// Whether the query string names the `cors` sub-resource.
fn is_cors_query(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|item| item == "cors" || item.starts_with("cors="))
    })
}

impl<S, T, ReqBody, ResBody> Service<Request<ReqBody>> for CorsAdmin<S, T>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    T: AdminTarget,
    ReqBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ReqBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if !is_cors_query(request.uri().query()) {
            return ResponseFuture::inner(self.inner.call(request));
        }
        let Some(bucket) = self.target.bucket_root(&RequestHead::new(&request)) else {
            return ResponseFuture::inner(self.inner.call(request));
        };
        let reply = Reply {
            bucket: T::bucket_name(&bucket).map(str::to_owned),
            ids: request.extensions().get::<AmzRequestIds>().cloned(),
        };
        match *request.method() {
            Method::GET => {
                ResponseFuture::working(work(reply, self.target.get(&bucket), Reply::get))
            }
            Method::DELETE => {
                let op = self.target.delete(bucket);
                ResponseFuture::working(work(reply, op, |reply, outcome| {
                    reply.done(outcome, StatusCode::NO_CONTENT)
                }))
            }
            Method::PUT => match expected_md5(request.headers(), self.require_digest) {
                Err(error) => ResponseFuture::answered(reply.error(&error)),
                Ok(md5) => {
                    let target = self.target.clone();
                    let put = Put {
                        reply,
                        store: Box::new(move |document| target.put(bucket, document)),
                        md5,
                    };
                    ResponseFuture::reading(request.into_body(), put)
                }
            },
            _ => ResponseFuture::answered(reply.method_not_allowed(request.method())),
        }
    }
}
