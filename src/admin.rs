//! S3's `?cors` sub-resource (`PutBucketCors`, `GetBucketCors`,
//! `DeleteBucketCors`) as a tower middleware, for S3-compatible servers.
//!
//! [`CorsAdminLayer`] answers `PUT`, `GET` and `DELETE` on a bucket root with
//! the `cors` query parameter (`PUT /photos?cors`) from a [`SharedPolicy`] or
//! a [`Buckets`] map, exactly as S3 answers them (spec §6); every other
//! request goes to the inner service untouched. Put it *inside*
//! [`S3CorsLayer`](crate::S3CorsLayer), so the admin answers get CORS
//! headers like any other response, and put your authentication in front of
//! it: this layer checks none.
//!
//! ```
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_s3_cors::{Buckets, CorsAdminLayer, S3CorsLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let buckets = Buckets::path_style();
//! buckets.create("photos");
//! let service = ServiceBuilder::new()
//!     .layer(S3CorsLayer::new(buckets.clone()))
//!     .layer(CorsAdminLayer::new(buckets.clone()))
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::new()))
//!     }));
//!
//! let document = r#"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>
//!     <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"#;
//! let put = Request::put("/photos?cors")
//!     .header("content-md5", "7KHwbz2XwP6OY3u5j3A7eQ==") // base64 of the body's MD5
//!     .body(document.to_owned())?;
//! let response = service.clone().oneshot(put).await?;
//! assert_eq!(response.status(), 200);
//! assert!(buckets.get("photos").unwrap().is_configured());
//!
//! let delete = Request::delete("/photos?cors").body(String::new())?;
//! assert_eq!(service.oneshot(delete).await?.status(), 204);
//! assert!(!buckets.get("photos").unwrap().is_configured());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use base64::Engine as _;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use md5::{Digest, Md5};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::ResponseBody;
use crate::config::{ConfigError, ConfigErrorKind, MAX_DOCUMENT_BYTES};
use crate::s3_error::{AmzRequestIds, S3Error};
use crate::source::{Buckets, RequestHead, ResourceType, SharedPolicy};

/// Where the `?cors` sub-resource stores documents: one [`SharedPolicy`]
/// (the path `/` is the bucket root), or a [`Buckets`] map.
///
/// Sealed: implemented for [`SharedPolicy`] and [`Buckets`].
pub trait AdminTarget: sealed::Sealed {
    /// The bucket (its name, when known, and its policy handle) that a
    /// request to a bucket root addresses, or `None` when the request names
    /// an object or an unknown bucket.
    fn bucket_root(&self, request: &RequestHead<'_>) -> Option<(Option<String>, SharedPolicy)>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::SharedPolicy {}
    impl Sealed for crate::Buckets {}
}

impl AdminTarget for SharedPolicy {
    fn bucket_root(&self, request: &RequestHead<'_>) -> Option<(Option<String>, SharedPolicy)> {
        (ResourceType::from_key_path(request.uri().path()) == ResourceType::Bucket)
            .then(|| (None, self.clone()))
    }
}

impl AdminTarget for Buckets {
    fn bucket_root(&self, request: &RequestHead<'_>) -> Option<(Option<String>, SharedPolicy)> {
        let (bucket, key) = self.locate(request)?;
        if ResourceType::from_key_path(key) != ResourceType::Bucket {
            return None;
        }
        Some((Some(bucket.to_owned()), self.get(bucket)?))
    }
}

/// A [`Layer`] that answers S3's `?cors` sub-resource; see the
/// [module documentation](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsAdminLayer<T> {
    target: T,
    require_digest: bool,
}

impl<T> CorsAdminLayer<T> {
    /// Answers `?cors` requests from `target`.
    pub fn new(target: T) -> Self {
        Self {
            target,
            require_digest: true,
        }
    }

    /// S3 refuses a `PUT ?cors` that has neither `Content-MD5` nor an
    /// `x-amz-checksum-*` header (`400 InvalidRequest`); so does this layer
    /// by default. With `false`, such a request is accepted, which is
    /// convenient for demos and `curl`; a `Content-MD5` that is sent is
    /// still checked.
    pub fn require_content_md5(mut self, require: bool) -> Self {
        self.require_digest = require;
        self
    }
}

impl<S, T: Clone> Layer<S> for CorsAdminLayer<T> {
    type Service = CorsAdmin<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsAdmin {
            inner,
            target: self.target.clone(),
            require_digest: self.require_digest,
        }
    }
}

/// Middleware answering S3's `?cors` sub-resource; built by
/// [`CorsAdminLayer`].
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsAdmin<S, T> {
    inner: S,
    target: T,
    require_digest: bool,
}

impl<S, T> CorsAdmin<S, T> {
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
    type Future = AdminFuture<S::Future, ReqBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if !is_cors_query(request.uri().query()) {
            return AdminFuture::inner(self.inner.call(request));
        }
        let Some((bucket, handle)) = self.target.bucket_root(&RequestHead::new(&request)) else {
            return AdminFuture::inner(self.inner.call(request));
        };
        let ids = request.extensions().get::<AmzRequestIds>().cloned();
        let reply = Reply {
            bucket,
            ids,
            handle,
        };
        match *request.method() {
            Method::GET => AdminFuture::answered(reply.get()),
            Method::DELETE => {
                let _ = reply.handle.clear();
                AdminFuture::answered(reply.success(StatusCode::NO_CONTENT))
            }
            Method::PUT => match expected_md5(request.headers(), self.require_digest) {
                Err(response) => AdminFuture::answered(reply.error_response(response)),
                Ok(md5) => AdminFuture::reading(request.into_body(), Put { reply, md5 }),
            },
            _ => AdminFuture::answered(reply.error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                Some(request.method().as_str()),
            )),
        }
    }
}

/// An S3 error answer, before the request IDs are known to it.
struct ErrorAnswer {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// The `Content-MD5` to check, if one was sent; an error answer when
/// neither it nor an `x-amz-checksum-*` header is present and one is
/// `required`.
fn expected_md5(headers: &HeaderMap, required: bool) -> Result<Option<Vec<u8>>, ErrorAnswer> {
    let bad_digest = || ErrorAnswer {
        status: StatusCode::BAD_REQUEST,
        code: "InvalidDigest",
        message: "The Content-MD5 you specified was invalid.".to_owned(),
    };
    match headers.get("content-md5") {
        Some(value) => {
            let digest = base64::engine::general_purpose::STANDARD
                .decode(value.as_bytes())
                .map_err(|_| bad_digest())?;
            if digest.len() != 16 {
                return Err(bad_digest());
            }
            Ok(Some(digest))
        }
        None if !required
            || headers
                .keys()
                .any(|name| name.as_str().starts_with("x-amz-checksum-")) =>
        {
            Ok(None)
        }
        None => Err(ErrorAnswer {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidRequest",
            message: "Missing required header for this request: Content-MD5".to_owned(),
        }),
    }
}

/// What an answer needs to know of its request.
struct Reply {
    bucket: Option<String>,
    ids: Option<AmzRequestIds>,
    handle: SharedPolicy,
}

impl Reply {
    fn error(
        &self,
        status: StatusCode,
        code: &'static str,
        message: &str,
        method: Option<&str>,
    ) -> Response<Bytes> {
        S3Error {
            status,
            code,
            message,
            method_and_resource: method.map(|m| (m.as_bytes(), ResourceType::Bucket)),
            bucket_name: None,
            ids: self.ids.as_ref(),
        }
        .into_response()
    }

    /// An empty success answer, with the request IDs as headers.
    fn success(&self, status: StatusCode) -> Response<Bytes> {
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = status;
        if let Some(ids) = &self.ids {
            ids.write_headers(response.headers_mut());
        }
        response
    }

    fn error_response(&self, answer: ErrorAnswer) -> Response<Bytes> {
        self.error(answer.status, answer.code, &answer.message, None)
    }

    fn config_error(&self, err: &ConfigError) -> Response<Bytes> {
        self.error(err.status(), err.s3_code(), &err.s3_message(), None)
    }

    /// `GetBucketCors`.
    fn get(&self) -> Response<Bytes> {
        let Some(policy) = self.handle.load() else {
            return S3Error {
                status: StatusCode::NOT_FOUND,
                code: "NoSuchCORSConfiguration",
                message: "The CORS configuration does not exist",
                method_and_resource: None,
                bucket_name: Some(self.bucket.as_deref().unwrap_or_default()),
                ids: self.ids.as_ref(),
            }
            .into_response();
        };
        let xml = policy.configuration().to_xml();
        let length = http::HeaderValue::from(xml.len());
        let mut response = Response::new(Bytes::from(xml));
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/xml"),
        );
        headers.insert(http::header::CONTENT_LENGTH, length);
        if let Some(ids) = &self.ids {
            ids.write_headers(headers);
        }
        response
    }
}

/// Why a `PutBucketCors` body could not be read.
enum BodyError {
    /// Over 64 KiB.
    TooLarge,
    /// The body stream failed.
    Read,
}

/// A `PutBucketCors` waiting for its body.
struct Put {
    reply: Reply,
    md5: Option<Vec<u8>>,
}

impl Put {
    fn finish(self, body: Result<Bytes, BodyError>) -> Response<Bytes> {
        let body = match body {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return self
                    .reply
                    .config_error(&ConfigError::new(ConfigErrorKind::DocumentTooLarge));
            }
            Err(BodyError::Read) => {
                return self.reply.error(
                    StatusCode::BAD_REQUEST,
                    "IncompleteBody",
                    "You did not provide the number of bytes specified by the Content-Length HTTP header.",
                    None,
                );
            }
        };
        if let Some(expected) = &self.md5 {
            if Md5::digest(&body).as_slice() != expected.as_slice() {
                return self.reply.error(
                    StatusCode::BAD_REQUEST,
                    "BadDigest",
                    "The Content-MD5 you specified did not match what we received.",
                    None,
                );
            }
        }
        let Ok(document) = std::str::from_utf8(&body) else {
            return self
                .reply
                .config_error(&ConfigError::malformed("the document is not UTF-8"));
        };
        match self.reply.handle.store_document(document) {
            Ok(()) => self.reply.success(StatusCode::OK),
            Err(err) => self.reply.config_error(&err),
        }
    }
}

pin_project! {
    /// Response future of [`CorsAdmin`].
    pub struct AdminFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Answered { response: Option<Response<Bytes>> },
        Reading { #[pin] body: B, buffer: BytesMut, put: Option<Put> },
    }
}

impl<F, B> AdminFuture<F, B> {
    fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    fn answered(response: Response<Bytes>) -> Self {
        Self {
            kind: Kind::Answered {
                response: Some(response),
            },
        }
    }

    fn reading(body: B, put: Put) -> Self {
        Self {
            kind: Kind::Reading {
                body,
                buffer: BytesMut::new(),
                put: Some(put),
            },
        }
    }
}

impl<F, B, ResBody, E> Future for AdminFuture<F, B>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    B: Body,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        #[allow(clippy::expect_used)]
        match self.project().kind.project() {
            KindProj::Inner { future } => {
                Poll::Ready(Ok(ready!(future.poll(cx))?.map(ResponseBody::inner)))
            }
            KindProj::Answered { response } => {
                let response = response
                    .take()
                    .expect("AdminFuture polled after completion");
                Poll::Ready(Ok(response.map(ResponseBody::full)))
            }
            KindProj::Reading {
                mut body,
                buffer,
                put,
            } => {
                let outcome = loop {
                    match ready!(body.as_mut().poll_frame(cx)) {
                        None => break Ok(std::mem::take(buffer).freeze()),
                        Some(Err(_)) => break Err(BodyError::Read),
                        Some(Ok(frame)) => {
                            if let Ok(data) = frame.into_data() {
                                if buffer.len() + data.remaining() > MAX_DOCUMENT_BYTES {
                                    break Err(BodyError::TooLarge);
                                }
                                buffer.put(data);
                            }
                        }
                    }
                };
                let put = put.take().expect("AdminFuture polled after completion");
                Poll::Ready(Ok(put.finish(outcome).map(ResponseBody::full)))
            }
        }
    }
}

impl<F, B> fmt::Debug for AdminFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Answered { .. } => "Answered",
            Kind::Reading { .. } => "Reading",
        };
        f.debug_struct("AdminFuture")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}
