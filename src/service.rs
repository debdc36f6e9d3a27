//! [`S3Cors`]: the middleware service.

use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tower_service::Service;

use crate::body::ResponseBody;
use crate::future::{Finish, ResponseFuture};
use crate::layer::{Options, S3CorsLayer, VaryMode};
use crate::policy::{CorsRequest, Decision, Policy, Refusal};
use crate::s3_error::{self, AmzRequestIds, S3Error};
use crate::source::{PolicySource, RequestHead, Resolution, ResourceType, SharedPolicy};
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
    /// Wraps `inner` with the default options.
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

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

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
        let has_origin = request.headers().get(ORIGIN).is_some_and(|o| !o.is_empty());
        let cache_safe = self.options.vary == VaryMode::CacheSafe;

        if request.method() == Method::OPTIONS
            && (has_origin || !self.options.forward_options_without_origin)
        {
            return ResponseFuture::answered(self.preflight(&request, has_origin));
        }
        if !has_origin && !cache_safe {
            // Not CORS, and nothing to add: no lookup at all.
            return ResponseFuture::inner(self.inner.call(request), Finish::default());
        }

        let finish = match self.source.resolve(&RequestHead::new(&request)) {
            Resolution::Configured(policy, _) => actual_request(&policy, &request, cache_safe),
            _ => Finish::default(),
        };
        ResponseFuture::inner(self.inner.call(request), finish)
    }
}

/// What to add to the inner response of an actual request (spec §4).
fn actual_request<B>(policy: &Policy, request: &Request<B>, cache_safe: bool) -> Finish {
    let Some(cors) = CorsRequest::new(request.method(), request.headers()) else {
        return Finish {
            vary: cache_safe,
            ..Finish::default()
        };
    };
    match policy.evaluate(&cors) {
        Decision::Allowed(allowed) => Finish {
            cors: Some(allowed),
            vary: true,
            explanation: None,
        },
        Decision::Refused(_) => {
            let explanation = policy.explain(&cors);
            #[cfg(feature = "tracing")]
            tracing::debug!(%explanation, "CORS: no rule matched; response sent without CORS headers");
            Finish {
                cors: None,
                vary: cache_safe,
                explanation: Some(Box::new(explanation)),
            }
        }
    }
}

impl<S, P: PolicySource> S3Cors<S, P> {
    /// Answers an `OPTIONS` request as S3 does (spec §1).
    fn preflight<B>(&self, request: &Request<B>, has_origin: bool) -> Response<Bytes> {
        let resolution = self.source.resolve(&RequestHead::new(request));
        let configured = matches!(resolution, Resolution::Configured(..));
        let mut response = self.preflight_answer(request, has_origin, resolution);
        if configured
            && (self.options.vary == VaryMode::CacheSafe || response.status().is_success())
        {
            add_cors_vary(response.headers_mut());
        }
        response
    }

    fn preflight_answer<B>(
        &self,
        request: &Request<B>,
        has_origin: bool,
        resolution: Resolution,
    ) -> Response<Bytes> {
        let ids = request.extensions().get::<AmzRequestIds>();
        let requested_method = request.headers().get(ACCESS_CONTROL_REQUEST_METHOD);
        let method_element = requested_method.map_or(&b"OPTIONS"[..], HeaderValue::as_bytes);
        let error = |status, code, message: &str, resource: Option<ResourceType>| {
            S3Error {
                status,
                code,
                message,
                method_and_resource: resource.map(|r| (method_element, r)),
                bucket_name: None,
                ids,
            }
            .into_response()
        };
        let forbidden = |message, resource| {
            error(
                StatusCode::FORBIDDEN,
                "AccessForbidden",
                message,
                Some(resource),
            )
        };

        if !has_origin {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                s3_error::NO_ORIGIN,
                None,
            );
        }
        let (policy, resource) = match resolution {
            Resolution::Configured(policy, resource) => (policy, resource),
            Resolution::NoSuchBucket => {
                return forbidden(s3_error::BUCKET_NOT_FOUND, ResourceType::Bucket);
            }
            Resolution::NotConfigured => {
                return forbidden(s3_error::NOT_ENABLED, ResourceType::Bucket);
            }
        };
        let Some(cors) = CorsRequest::new(request.method(), request.headers()) else {
            // has_origin guarantees an Origin; answer as if it were missing.
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                s3_error::NO_ORIGIN,
                None,
            );
        };

        match policy.evaluate(&cors) {
            Decision::Allowed(allowed) => {
                let mut response = Response::new(Bytes::new());
                let headers = response.headers_mut();
                headers.insert(http::header::CONTENT_LENGTH, CONTENT_LENGTH_ZERO.clone());
                allowed.write_headers(headers);
                response
            }
            Decision::Refused(refusal) => {
                let explanation = policy.explain(&cors);
                #[cfg(feature = "tracing")]
                tracing::debug!(%explanation, "CORS: preflight refused");
                let mut response = match refusal {
                    Refusal::NoRuleMatched => forbidden(s3_error::NOT_ALLOWED, resource),
                    _ => {
                        let value = requested_method
                            .map_or("null".into(), |m| String::from_utf8_lossy(m.as_bytes()));
                        let message = format!("Invalid Access-Control-Request-Method: {value}");
                        error(StatusCode::BAD_REQUEST, "BadRequest", &message, None)
                    }
                };
                response.extensions_mut().insert(explanation);
                response
            }
        }
    }
}
