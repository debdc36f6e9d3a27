//! [`S3Cors`]: the middleware service.

use std::task::{Context, Poll};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tower_service::Service;

use crate::body::ResponseBody;
use crate::future::{OnResponse, Report, ResponseFuture};
use crate::headers::CorsHeaders;
use crate::layer::S3CorsLayer;
use crate::options::{Options, RefusalReason, RefusalReport, VaryMode};
use crate::policy::{self, Allowed, CorsRequest, Policy, Refusal};
use crate::s3::{AmzRequestIds, ErrorAnswer, ResourceType, S3Error, messages};
use crate::source::{PolicySource, RequestHead, Resolution, SharedPolicy};
use crate::vary::add_cors_vary;

static CONTENT_LENGTH_ZERO: HeaderValue = HeaderValue::from_static("0");

/// Middleware that gives the inner service S3's CORS behaviour.
///
/// - A preflight (every `OPTIONS` request) is answered here, as S3 answers
///   it: `200` with the CORS headers, or S3's `400`/`403` XML error. The
///   inner service is not called.
/// - Any other request goes to the inner service, always; when a rule
///   matches, the CORS headers are added to whatever it returns, errors
///   included.
/// - Where a policy applies to a request with an `Origin`, the response's
///   `Access-Control-*` headers are exactly the layer's: on a match the
///   inner service's other `Access-Control-*` headers are removed, on a
///   refusal all of them. Where no policy applies (no `Origin`, no
///   configuration, no such bucket) they pass untouched.
///
/// Errors of the inner service pass through unchanged (`Error = S::Error`);
/// every CORS outcome is a response. Build it with [`S3CorsLayer`].
#[derive(Clone, Debug)]
#[must_use]
pub struct S3Cors<S, P = SharedPolicy> {
    inner: S,
    source: P,
    options: Options,
}

impl<S, P> S3Cors<S, P> {
    /// Wraps `inner` with the default options (what
    /// `S3CorsLayer::new(source).layer(inner)` builds).
    ///
    /// ```
    /// use http::{Request, Response};
    /// use tower::{ServiceExt, service_fn};
    /// use tower_s3_cors::{S3Cors, SharedPolicy};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let inner = service_fn(|_req: Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(Response::new(()))
    /// });
    /// let cors = SharedPolicy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
    /// let service = S3Cors::new(inner, cors);
    /// let request = Request::get("/k").header("origin", "https://a.example").body(())?;
    /// let response = service.oneshot(request).await?;
    /// assert_eq!(response.headers()["access-control-allow-origin"], "*");
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(inner: S, source: P) -> Self {
        Self::from_parts(inner, source, Options::default())
    }

    pub(crate) fn from_parts(inner: S, source: P, options: Options) -> Self {
        Self {
            inner,
            source,
            options,
        }
    }

    /// A layer for this middleware: the same as [`S3CorsLayer::new`].
    pub fn layer(source: P) -> S3CorsLayer<P> {
        S3CorsLayer::new(source)
    }

    crate::macros::inner_service_accessors!();

    /// The policy source.
    pub fn source(&self) -> &P {
        &self.source
    }
}

impl<S, P, ReqBody, ResBody> Service<Request<ReqBody>> for S3Cors<S, P>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    P: PolicySource,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if request.method() == Method::OPTIONS
            && (!self.options.forward_options_without_origin
                || policy::origin(request.headers()).is_some())
        {
            return ResponseFuture::answered(self.preflight(request.into_parts().0));
        }
        let cache_safe = self.options.vary == VaryMode::CacheSafe;
        let Some(origin) = policy::origin(request.headers()) else {
            // Not CORS: at most `Vary`, and without it no lookup at all.
            let vary = cache_safe && self.source.is_configured_for(&RequestHead::new(&request));
            return ResponseFuture::inner(self.inner.call(request), OnResponse::vary_only(vary));
        };
        let on_response = match self.source.resolve(&RequestHead::new(&request)) {
            Resolution::Configured(policy, _) => {
                let cors = CorsRequest::with_origin(origin, request.method(), request.headers());
                self.actual_request(policy, &cors)
            }
            Resolution::NotConfigured | Resolution::NoSuchBucket => OnResponse::vary_only(false),
        };
        ResponseFuture::inner(self.inner.call(request), on_response)
    }
}

impl<S, P: PolicySource> S3Cors<S, P> {
    /// What to add to the inner response of an actual request that a policy
    /// covers (spec §4).
    fn actual_request(&self, policy: Policy, cors: &CorsRequest<'_>) -> OnResponse {
        match policy.first_match(cors) {
            Ok(index) => OnResponse {
                cors: CorsHeaders::Exactly(Allowed::new(policy.into_shared(), index, cors)),
                vary: true,
                report: None,
            },
            Err(refusal) => OnResponse {
                cors: CorsHeaders::Cleared,
                vary: self.options.vary == VaryMode::CacheSafe,
                report: self.report(RefusalReason::Policy(refusal), Some((&policy, cors))),
            },
        }
    }

    /// What a refusal puts in its response's extensions, as the options say;
    /// with the `tracing` feature, the refusal is logged when that event is
    /// enabled.
    fn report(
        &self,
        reason: RefusalReason,
        walked: Option<(&Policy, &CorsRequest<'_>)>,
    ) -> Option<Report> {
        #[cfg(feature = "tracing")]
        if tracing::enabled!(tracing::Level::DEBUG) {
            match walked {
                Some((policy, cors)) => {
                    let explanation = policy.explain(cors);
                    tracing::debug!(?reason, %explanation, "CORS request refused");
                }
                None => tracing::debug!(?reason, "CORS request refused"),
            }
        }
        match self.options.report {
            RefusalReport::Off => None,
            RefusalReport::Reason => Some(Report::Reason(reason)),
            RefusalReport::Explanation => Some(match walked {
                Some((policy, cors)) => Report::Explanation(reason, Box::new(policy.explain(cors))),
                None => Report::Reason(reason),
            }),
        }
    }

    /// Answers an `OPTIONS` request as S3 does (spec §1), reusing the
    /// request's header map for the answer's headers.
    fn preflight(&self, parts: Parts) -> Response<Bytes> {
        let resolution = self.source.resolve(&RequestHead::from_parts(&parts));
        let configured = matches!(resolution, Resolution::Configured(..));
        let (mut response, report) = match self.preflight_decision(&parts, resolution) {
            Ok(allowed) => {
                let mut headers = parts.headers;
                headers.clear();
                headers.insert(http::header::CONTENT_LENGTH, CONTENT_LENGTH_ZERO.clone());
                allowed.write_headers_reserving(&mut headers, 1);
                if let Some(ids) = parts.extensions.get::<AmzRequestIds>() {
                    ids.write_headers(&mut headers);
                }
                let mut response = Response::new(Bytes::new());
                *response.headers_mut() = headers;
                (response, None)
            }
            Err((answer, report)) => {
                let ids = parts.extensions.get::<AmzRequestIds>();
                (answer.into_response(parts.headers, ids), report)
            }
        };
        if configured
            && (self.options.vary == VaryMode::CacheSafe || response.status().is_success())
        {
            add_cors_vary(response.headers_mut());
        }
        if let Some(report) = report {
            report.insert_into(response.extensions_mut());
        }
        response
    }

    /// The matched rule of a preflight, or S3's error answer and what to
    /// report of it.
    fn preflight_decision(
        &self,
        parts: &Parts,
        resolution: Resolution,
    ) -> Result<Allowed, (ErrorAnswer, Option<Report>)> {
        let Some(cors) = CorsRequest::new(&parts.method, &parts.headers) else {
            let answer = S3Error::new(StatusCode::BAD_REQUEST, "BadRequest", messages::NO_ORIGIN);
            return Err(self.refuse(parts, answer, RefusalReason::NoOrigin, None));
        };
        let requested_method = cors.requested_method();
        let forbidden = |message, resource| S3Error {
            method_and_resource: Some((
                requested_method.map_or(&b"OPTIONS"[..], HeaderValue::as_bytes),
                resource,
            )),
            ..S3Error::new(StatusCode::FORBIDDEN, "AccessForbidden", message)
        };
        let (policy, resource) = match resolution {
            Resolution::Configured(policy, resource) => (policy, resource),
            Resolution::NoSuchBucket => {
                let answer = forbidden(messages::BUCKET_NOT_FOUND, ResourceType::Bucket);
                return Err(self.refuse(parts, answer, RefusalReason::NoSuchBucket, None));
            }
            Resolution::NotConfigured => {
                let answer = forbidden(messages::NOT_ENABLED, ResourceType::Bucket);
                return Err(self.refuse(parts, answer, RefusalReason::NotConfigured, None));
            }
        };
        let refusal = match policy.first_match(&cors) {
            Ok(index) => return Ok(Allowed::new(policy.into_shared(), index, &cors)),
            Err(refusal) => refusal,
        };
        let answer = match refusal {
            Refusal::NoRuleMatched => forbidden(messages::NOT_ALLOWED, resource),
            Refusal::RequestHeadersTooLarge => S3Error {
                max_size_allowed: Some(policy::MAX_REQUEST_HEADERS_BYTES),
                ..S3Error::new(
                    StatusCode::BAD_REQUEST,
                    "RequestHeaderSectionTooLarge",
                    messages::HEADER_SECTION_TOO_LARGE,
                )
            },
            Refusal::MissingRequestMethod | Refusal::InvalidRequestMethod => S3Error {
                message_tail: Some(requested_method.map_or(&b"null"[..], HeaderValue::as_bytes)),
                ..S3Error::new(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    messages::INVALID_REQUEST_METHOD,
                )
            },
        };
        Err(self.refuse(
            parts,
            answer,
            RefusalReason::Policy(refusal),
            Some((&policy, &cors)),
        ))
    }

    /// A refused preflight: the rendered error, with the request's IDs, and
    /// its report.
    fn refuse(
        &self,
        parts: &Parts,
        answer: S3Error<'_>,
        reason: RefusalReason,
        walked: Option<(&Policy, &CorsRequest<'_>)>,
    ) -> (ErrorAnswer, Option<Report>) {
        let answer = S3Error {
            ids: parts.extensions.get::<AmzRequestIds>(),
            ..answer
        };
        (answer.into_answer(), self.report(reason, walked))
    }
}
