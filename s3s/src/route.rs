//! [`CorsRoute`]: S3's `?cors` sub-resource answered on the raw request,
//! after s3s's signature check and before its parser.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Extensions, HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt as _;
use s3s::access::S3Access;
use s3s::dto::{DeleteBucketCorsInput, GetBucketCorsInput, PutBucketCorsInput};
use s3s::route::S3Route;
use s3s::{Body, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, StdError};
use tower_layer::Layer as _;
use tower_s3_cors::admin::CorsAdminLayer;
use tower_s3_cors::s3::ResourceType;
use tower_s3_cors::source::{BucketCors, RequestHead};
use tower_service::Service as _;

/// An s3s custom route (`s3s::route::S3Route`) that answers
/// `PutBucketCors`, `GetBucketCors` and `DeleteBucketCors` on the request
/// as it came, with the core crate's
/// [`CorsAdminLayer`](tower_s3_cors::admin::CorsAdminLayer): the same
/// reader, validation, digests and answers as any tower server using the
/// crate, where s3s's own parser would let through what S3 refuses (an
/// unknown element, a foreign namespace, a `Content-MD5` that does not match
/// the body).
///
/// s3s calls a route after its signature check (an unsigned request has no
/// credentials; a wrongly signed one never gets here) and after it has
/// decoded an `aws-chunked` body; a body whose `x-amz-content-sha256` does
/// not match is answered `400 XAmzContentSHA256Mismatch`. Then:
///
/// 1. **Credentials.** A request without them gets `403 AccessDenied`
///    ("Signature is required", s3s's own default), unless
///    [`anonymous(true)`](Self::anonymous).
/// 2. **Your access hooks.** With [`access`](Self::access), the
///    integrator's `S3Access` decides through its per-operation hooks
///    (`put_bucket_cors`, `get_bucket_cors`, `delete_bucket_cors`), called
///    with the bucket, the headers, the credentials and the request's
///    extensions, before the body is read (as S3 authorizes a request
///    before it parses its body; the configuration in a
///    `PutBucketCorsInput` given to the hook is therefore empty). s3s 0.14
///    gives a route no way to call `S3Access::check` (its context cannot be
///    built outside s3s): put a rule written there in a per-operation hook
///    too.
/// 3. **The operation**, through the admin layer over the source: a bucket
///    that does not exist (as the source knows it: with a read-through
///    cache and [`BackendBuckets`](crate::BackendBuckets), as the backend
///    knows it) is `404 NoSuchBucket` "The specified bucket does not
///    exist." with its name; a bucket without CORS `404
///    NoSuchCORSConfiguration` with its name; every S3 validation message
///    as S3 gives it.
///
/// Virtual-hosted and path-style requests are told apart by the source's
/// locator ([`S3sAddressing`](crate::S3sAddressing), which parses as s3s
/// does).
///
/// s3s has one route per service: [`or`](Self::or) chains one of yours
/// behind this one.
///
/// ```
/// use std::sync::Arc;
/// use s3s::service::S3ServiceBuilder;
/// use tower_s3_cors::source::Buckets;
/// use tower_s3_cors_s3s::{CorsRoute, CorsS3};
///
/// # #[derive(Debug)] struct Backend;
/// # #[async_trait::async_trait] impl s3s::S3 for Backend {}
/// let buckets = Buckets::path_style();
/// let mut builder = S3ServiceBuilder::new(CorsS3::new(Backend, buckets.clone()));
/// builder.set_route(CorsRoute::new(buckets));
/// let service = builder.build();
/// # let _ = service;
/// ```
pub struct CorsRoute<C> {
    admin: CorsAdminLayer<C>,
    anonymous: bool,
    access: Option<Arc<dyn S3Access>>,
    other: Option<Box<dyn S3Route>>,
}

/// Set in a request's extensions by [`CorsRoute::is_match`] when the
/// request is the route's own (and not the chained route's).
#[derive(Clone, Debug)]
struct Claimed;

impl<C: BucketCors> CorsRoute<C> {
    /// A route answering `?cors` through `source`, with S3's requirements
    /// (`Content-MD5` or a checksum, 64 KiB) and the admin layer's defaults.
    pub fn new(source: C) -> Self {
        Self::with_admin(CorsAdminLayer::new(source))
    }

    /// A route answering `?cors` with `admin`, configured as you wish
    /// ([`require_content_md5`](CorsAdminLayer::require_content_md5),
    /// [`body_timeout`](CorsAdminLayer::body_timeout),
    /// [`lingering_close`](CorsAdminLayer::lingering_close)).
    pub fn with_admin(admin: CorsAdminLayer<C>) -> Self {
        Self {
            admin,
            anonymous: false,
            access: None,
            other: None,
        }
    }

    /// With `true`, requests without credentials go on to the access hooks
    /// (if any) and the operation, as they do in an s3s service that has no
    /// authentication set (`S3ServiceBuilder::set_auth` not called). By
    /// default they get `403 AccessDenied`.
    #[must_use]
    pub fn anonymous(mut self, allow: bool) -> Self {
        self.anonymous = allow;
        self
    }

    /// The integrator's `S3Access`, whose `put_bucket_cors`,
    /// `get_bucket_cors` and `delete_bucket_cors` hooks decide (see the
    /// type's documentation for what they are given).
    #[must_use]
    pub fn access(mut self, access: impl S3Access) -> Self {
        self.access = Some(Arc::new(access));
        self
    }

    /// Requests this route does not answer go to `route` (s3s has one
    /// route per service).
    #[must_use]
    pub fn or(mut self, route: impl S3Route) -> Self {
        self.other = Some(Box::new(route));
        self
    }

    /// The integrator's per-operation hook for `request`, if any.
    async fn call_hook(&self, request: &mut S3Request<Body>) -> S3Result<()> {
        let Some(access) = &self.access else {
            return Ok(());
        };
        let head = RequestHead::from_components(
            &request.method,
            &request.uri,
            &request.headers,
            &request.extensions,
        );
        let Some(bucket) = self.admin.source().locate(&head).and_then(|located| {
            (located.resource() == ResourceType::Bucket).then(|| located.into_bucket())
        }) else {
            // `?cors` on an object: refused whoever asks.
            return Ok(());
        };
        let owner = request
            .headers
            .get("x-amz-expected-bucket-owner")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        match request.method {
            Method::GET => {
                let input = GetBucketCorsInput {
                    bucket,
                    expected_bucket_owner: owner,
                };
                let mut typed = typed(request, input);
                let outcome = access.get_bucket_cors(&mut typed).await;
                request.extensions = typed.extensions;
                outcome
            }
            Method::DELETE => {
                let input = DeleteBucketCorsInput {
                    bucket,
                    expected_bucket_owner: owner,
                };
                let mut typed = typed(request, input);
                let outcome = access.delete_bucket_cors(&mut typed).await;
                request.extensions = typed.extensions;
                outcome
            }
            Method::PUT => {
                let mut input = PutBucketCorsInput::builder();
                input
                    .set_bucket(bucket)
                    .set_cors_configuration(s3s::dto::CORSConfiguration::default())
                    .set_expected_bucket_owner(owner);
                let input = input
                    .build()
                    .map_err(|e| S3Error::with_source(S3ErrorCode::InternalError, Box::new(e)))?;
                let mut typed = typed(request, input);
                let outcome = access.put_bucket_cors(&mut typed).await;
                request.extensions = typed.extensions;
                outcome
            }
            // Any other method is `405 MethodNotAllowed` for everyone.
            _ => Ok(()),
        }
    }
}

/// `request`'s head with `input`, for an access hook; its extensions are
/// moved (the caller puts them back after the hook).
fn typed<T>(request: &mut S3Request<Body>, input: T) -> S3Request<T> {
    S3Request {
        input,
        method: request.method.clone(),
        uri: request.uri.clone(),
        headers: request.headers.clone(),
        extensions: std::mem::take(&mut request.extensions),
        credentials: request.credentials.clone(),
        region: request.region.clone(),
        service: request.service.clone(),
        trailing_headers: None,
    }
}

#[async_trait::async_trait]
impl<C: BucketCors> S3Route for CorsRoute<C> {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &mut Extensions,
    ) -> bool {
        let head = RequestHead::from_components(method, uri, headers, extensions);
        if self.admin.claims(&head) {
            extensions.insert(Claimed);
            return true;
        }
        self.other
            .as_ref()
            .is_some_and(|other| other.is_match(method, uri, headers, extensions))
    }

    async fn check_access(&self, request: &mut S3Request<Body>) -> S3Result<()> {
        if request.extensions.get::<Claimed>().is_none() {
            return match &self.other {
                Some(other) => other.check_access(request).await,
                None => Err(S3Error::new(S3ErrorCode::InternalError)),
            };
        }
        if request.credentials.is_none() && !self.anonymous {
            return Err(S3Error::with_message(
                S3ErrorCode::AccessDenied,
                "Signature is required",
            ));
        }
        self.call_hook(request).await
    }

    async fn call(&self, request: S3Request<Body>) -> S3Result<S3Response<Body>> {
        if request.extensions.get::<Claimed>().is_none() {
            return match &self.other {
                Some(other) => other.call(request).await,
                None => Err(S3Error::new(S3ErrorCode::InternalError)),
            };
        }
        let failure = Arc::new(Mutex::new(None));
        let body = Watched {
            body: request.input,
            failure: Arc::clone(&failure),
        };
        let mut raw = Request::new(body);
        *raw.method_mut() = request.method;
        *raw.uri_mut() = request.uri;
        *raw.headers_mut() = request.headers;
        *raw.extensions_mut() = request.extensions;

        let mut admin = self.admin.layer(Unclaimed);
        std::future::poll_fn(|cx| admin.poll_ready(cx))
            .await
            .unwrap_or_else(|never: Infallible| match never {});
        let response = admin
            .call(raw)
            .await
            .unwrap_or_else(|never: Infallible| match never {});
        if response.extensions().get::<NotClaimed>().is_some() {
            // The source changed its mind between `is_match` and here (an
            // object's bucket deleted meanwhile): what the service would
            // have answered.
            return Err(S3Error::with_message(
                S3ErrorCode::NoSuchBucket,
                "The specified bucket does not exist",
            ));
        }
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .unwrap_or_else(|never: Infallible| match never {})
            .to_bytes();
        if parts.status == StatusCode::BAD_REQUEST {
            let failed = failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(error) = failed.and_then(|error| s3s_body_error(&*error)) {
                return Err(error);
            }
        }
        let mut answer = S3Response::new(Body::from(bytes));
        answer.status = Some(parts.status);
        answer.headers = parts.headers;
        answer.extensions = parts.extensions;
        Ok(answer)
    }
}

/// Marks the answer of the inner service the admin layer is built over
/// here: it is reached only when the admin layer did not claim the request.
#[derive(Clone, Copy, Debug)]
struct NotClaimed;

/// The service behind the admin layer in a route.
#[derive(Clone, Copy, Debug)]
struct Unclaimed;

impl tower_service::Service<Request<Watched>> for Unclaimed {
    type Response = Response<http_body_util::Empty<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<Watched>) -> Self::Future {
        let mut response = Response::new(http_body_util::Empty::new());
        response.extensions_mut().insert(NotClaimed);
        std::future::ready(Ok(response))
    }
}

/// S3's answer for a body s3s failed while decoding it, when it has one:
/// the `x-amz-content-sha256` it checks as the body is read.
fn s3s_body_error(error: &(dyn std::error::Error + 'static)) -> Option<S3Error> {
    // s3s's upload stream error is not public; its message is (a test pins
    // it to the s3s version in use).
    if error.to_string().contains("Sha256Mismatch") {
        let mut s3 = S3Error::with_message(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
        s3.set_status_code(StatusCode::BAD_REQUEST);
        return Some(s3);
    }
    None
}

/// s3s's body, with the first error it gives kept aside.
struct Watched {
    body: Body,
    failure: Arc<Mutex<Option<StdError>>>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = WatchedError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, WatchedError>>> {
        match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
            Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
            Some(Err(error)) => {
                let message = error.to_string();
                *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
                Poll::Ready(Some(Err(WatchedError(message))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A body error, its cause kept aside by [`Watched`].
#[derive(Debug)]
struct WatchedError(String);

impl fmt::Display for WatchedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WatchedError {}

impl<C: fmt::Debug> fmt::Debug for CorsRoute<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsRoute")
            .field("admin", &self.admin)
            .field("anonymous", &self.anonymous)
            .field("access", &self.access.is_some())
            .field("or", &self.other.is_some())
            .finish()
    }
}
