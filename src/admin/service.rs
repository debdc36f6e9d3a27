//! [`CorsAdmin`]: the `?cors` middleware service.

use std::task::{Context, Poll};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use super::checksum::{Checksum, declared_checksum};
use super::digest::expected_md5;
use super::future::{Op, Put, ResponseFuture, rest_of, work};
use super::limits::{declared_length, declared_too_large};
use super::linger::Bounds;
use super::reply::{AdminError, Reply};
use crate::body::ResponseBody;
use crate::config::{ConfigError, ConfigErrorKind};
use crate::s3::{AmzRequestIds, ResourceType};
use crate::source::{BucketCors, BucketPolicy, RequestHead, Resolution};

/// Middleware answering S3's `?cors` sub-resource; built by
/// [`CorsAdminLayer`](super::CorsAdminLayer).
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsAdmin<S, C> {
    inner: S,
    source: C,
    require_digest: bool,
    body_timeout: Option<Duration>,
    linger: Bounds,
}

impl<S, C> CorsAdmin<S, C> {
    pub(super) fn from_parts(
        inner: S,
        source: C,
        require_digest: bool,
        body_timeout: Option<Duration>,
        linger: Bounds,
    ) -> Self {
        Self {
            inner,
            source,
            require_digest,
            body_timeout,
            linger,
        }
    }

    crate::macros::inner_service_accessors!();

    /// The bucket CORS source.
    pub fn source(&self) -> &C {
        &self.source
    }
}

impl<S, C> CorsAdmin<S, C> {
    /// What a `PUT ?cors` head must be, checked before any of its body is
    /// polled (so a server does not grant `100 Continue` to a request
    /// refused already): a declared length within 64 KiB, then the
    /// `Content-MD5` and the one `x-amz-checksum-*` it carries.
    fn check_put_head<B: Body>(
        &self,
        request: &Request<B>,
    ) -> Result<(Option<[u8; 16]>, Option<Checksum>), AdminError> {
        if declared_too_large(request.headers(), &request.body().size_hint()) {
            return Err(AdminError::from(&ConfigError::new(
                ConfigErrorKind::DocumentTooLarge,
            )));
        }
        let md5 = expected_md5(request.headers(), self.require_digest)?;
        let checksum = declared_checksum(request.headers())?;
        Ok((md5, checksum))
    }
}

impl<S, C> CorsAdmin<S, C> {
    /// `answer`, given before the body of `request` was read: the rest of
    /// the body lingers (see [`CorsAdminLayer::lingering_close`]).
    ///
    /// [`CorsAdminLayer::lingering_close`]: super::CorsAdminLayer::lingering_close
    fn early<F, B>(
        &self,
        answer: http::Response<bytes::Bytes>,
        request: Request<B>,
    ) -> ResponseFuture<F, B>
    where
        B: Body + Send + 'static,
    {
        let rest = rest_of(request, self.linger);
        ResponseFuture::answered(answer, rest)
    }
}

/// What the admin layer does with a request.
pub(super) enum Claim {
    /// Not a `?cors` request it answers: the inner service's.
    Pass,
    /// `?cors` on this bucket's root.
    Bucket(String),
    /// A write with `?cors` on an object: `405 MethodNotAllowed`.
    Object,
}

/// What the admin layer over `source` does with a request with `head`.
pub(super) fn claim<C: BucketCors>(source: &C, head: &RequestHead<'_>) -> Claim {
    if !is_cors_query(head.uri().query()) {
        return Claim::Pass;
    }
    let located = source
        .locate(head)
        .map(|located| (located.resource(), located.into_bucket()));
    match located {
        Some((ResourceType::Bucket, bucket)) => Claim::Bucket(bucket),
        Some((ResourceType::Object, bucket)) => {
            // `?cors` is a bucket sub-resource: on an object it names
            // nothing. Writes are refused (they would store or delete the
            // object) unless the bucket is known not to exist (the inner
            // service answers `NoSuchBucket`); reads go on (a `?cors` query
            // is a common cache buster on object URLs).
            let read = matches!(*head.method(), Method::GET | Method::HEAD);
            let missing = matches!(
                source.resolve(&bucket),
                Resolution::Ready(BucketPolicy::NoSuchBucket)
            );
            if read || missing {
                Claim::Pass
            } else {
                Claim::Object
            }
        }
        None => Claim::Pass,
    }
}

/// Whether the query string names the `cors` sub-resource.
fn is_cors_query(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|item| item == "cors" || item.starts_with("cors="))
    })
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for CorsAdmin<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: BucketCors,
    ReqBody: Body + Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ReqBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let bucket = match claim(&self.source, &RequestHead::new(&request)) {
            Claim::Pass => return ResponseFuture::inner(self.inner.call(request)),
            Claim::Bucket(bucket) => bucket,
            Claim::Object => {
                let reply = Reply {
                    bucket: None,
                    ids: request.extensions().get::<AmzRequestIds>().cloned(),
                };
                let answer = reply.method_not_allowed(request.method(), ResourceType::Object);
                return self.early(answer, request);
            }
        };
        let reply = Reply {
            // A source that is one bucket for the whole service has no name
            // to give.
            bucket: (!bucket.is_empty()).then(|| bucket.clone()),
            ids: request.extensions().get::<AmzRequestIds>().cloned(),
        };
        match *request.method() {
            Method::GET => {
                let source = self.source.clone();
                let op: Op<_> = Box::pin(async move {
                    source
                        .get_document(&bucket)
                        .await
                        .map_err(|e| AdminError::from(&e))
                });
                let rest = rest_of(request, self.linger);
                ResponseFuture::working(work(reply, op, Reply::get), rest)
            }
            Method::DELETE => {
                let source = self.source.clone();
                let op: Op<_> = Box::pin(async move {
                    source
                        .delete_document(&bucket)
                        .await
                        .map_err(|e| AdminError::from(&e))
                });
                let rest = rest_of(request, self.linger);
                let answer = work(reply, op, |reply, outcome| {
                    reply.done(outcome, StatusCode::NO_CONTENT)
                });
                ResponseFuture::working(answer, rest)
            }
            Method::PUT => match self.check_put_head(&request) {
                Err(error) => self.early(reply.error(&error), request),
                Ok((md5, checksum)) => {
                    let source = self.source.clone();
                    let put = Put {
                        reply,
                        store: Box::new(move |document| {
                            Box::pin(async move {
                                source
                                    .put_document(&bucket, &document)
                                    .await
                                    .map_err(|e| AdminError::from(&e))
                            })
                        }),
                        md5,
                        checksum,
                        declared_length: declared_length(request.headers()).is_some(),
                    };
                    ResponseFuture::reading(
                        request.into_body(),
                        put,
                        self.body_timeout,
                        self.linger,
                    )
                }
            },
            _ => {
                let answer = reply.method_not_allowed(request.method(), ResourceType::Bucket);
                self.early(answer, request)
            }
        }
    }
}
