//! [`S3Cors`]: the middleware service.

use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tower_service::Service;

use crate::body::ResponseBody;
use crate::future::{Finish, ResponseFuture};
use crate::layer::{Options, S3CorsLayer, VaryMode};
use crate::policy::{self, Allowed, CorsRequest, Policy, Refusal};
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
    /// let cors = SharedPolicy::from_json(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
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
            return ResponseFuture::answered(self.preflight(request));
        }
        let cache_safe = self.options.vary == VaryMode::CacheSafe;
        let Some(origin) = policy::origin(request.headers()) else {
            // Not CORS: at most `Vary`, and without it no lookup at all.
            let vary = cache_safe && self.source.is_configured(&RequestHead::new(&request));
            return ResponseFuture::inner(self.inner.call(request), Finish::vary_only(vary));
        };
        let finish = match self.source.resolve(&RequestHead::new(&request)) {
            Resolution::Configured(policy, _) => {
                let cors = CorsRequest::with_origin(origin, request.method(), request.headers());
                actual_request(policy, &cors, cache_safe)
            }
            _ => Finish::default(),
        };
        ResponseFuture::inner(self.inner.call(request), finish)
    }
}

/// How a preflight ends: a matched rule, whose headers go into the answer,
/// or S3's error answer.
enum Preflight {
    Allowed(Allowed),
    Refused(Response<Bytes>),
}

/// What to add to the inner response of an actual request (spec §4).
fn actual_request(policy: Policy, cors: &CorsRequest<'_>, cache_safe: bool) -> Finish {
    match policy.decide(cors) {
        Ok(allowed) => Finish {
            cors: Some(allowed),
            vary: true,
            explanation: None,
        },
        Err((_, policy)) => {
            let explanation = policy.explain(cors);
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
    fn preflight<B>(&self, request: Request<B>) -> Response<Bytes> {
        let resolution = self.source.resolve(&RequestHead::new(&request));
        let configured = matches!(resolution, Resolution::Configured(..));
        let mut response = match self.preflight_decision(&request, resolution) {
            Preflight::Allowed(allowed) => {
                // The answer's headers go into the request's header map,
                // emptied: it has room for them already, so a preflight
                // allocates no header table of its own.
                let parts = request.into_parts().0;
                let mut headers = parts.headers;
                headers.clear();
                headers.insert(http::header::CONTENT_LENGTH, CONTENT_LENGTH_ZERO.clone());
                allowed.write_headers_reserving(&mut headers, 1);
                if let Some(ids) = parts.extensions.get::<AmzRequestIds>() {
                    ids.write_headers(&mut headers);
                }
                let mut response = Response::new(Bytes::new());
                *response.headers_mut() = headers;
                response
            }
            Preflight::Refused(response) => response,
        };
        if configured
            && (self.options.vary == VaryMode::CacheSafe || response.status().is_success())
        {
            add_cors_vary(response.headers_mut());
        }
        response
    }

    /// The matched rule of a preflight, or S3's error answer.
    fn preflight_decision<B>(&self, request: &Request<B>, resolution: Resolution) -> Preflight {
        let cors = CorsRequest::new(request.method(), request.headers());
        let ids = request.extensions().get::<AmzRequestIds>();
        let requested_method = cors.as_ref().and_then(CorsRequest::request_method);
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

        let Some(cors) = cors else {
            return Preflight::Refused(error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                s3_error::NO_ORIGIN,
                None,
            ));
        };
        let (policy, resource) = match resolution {
            Resolution::Configured(policy, resource) => (policy, resource),
            Resolution::NoSuchBucket => {
                return Preflight::Refused(forbidden(
                    s3_error::BUCKET_NOT_FOUND,
                    ResourceType::Bucket,
                ));
            }
            Resolution::NotConfigured => {
                return Preflight::Refused(forbidden(s3_error::NOT_ENABLED, ResourceType::Bucket));
            }
        };

        let (refusal, policy) = match policy.decide(&cors) {
            Ok(allowed) => return Preflight::Allowed(allowed),
            Err(refused) => refused,
        };
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
        Preflight::Refused(response)
    }
}
