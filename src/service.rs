//! [`S3Cors`]: the middleware service.

use std::task::{Context, Poll};

use http::{Method, Request, Response};
use tower_service::Service;

use crate::body::ResponseBody;
use crate::decide;
use crate::future::{Join, ResponseFuture};
use crate::layer::S3CorsLayer;
use crate::observe::{Kind, Tally};
use crate::options::{Options, VaryMode};
use crate::policy::{self, AllowHeadersCache, CorsRequest};
use crate::s3::ResourceType;
use crate::source::{BucketCors, BucketPolicy, Pending, RequestHead, Resolution, SharedPolicy};

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
///   refusal (or while the policy cannot be loaded) all of them. Where no
///   policy applies (no `Origin`, no configuration, no such bucket) they
///   pass untouched.
///
/// Errors of the inner service pass through unchanged (`Error = S::Error`);
/// every CORS outcome is a response. Build it with [`S3CorsLayer`].
#[derive(Clone, Debug)]
#[must_use]
pub struct S3Cors<S, P = SharedPolicy> {
    inner: S,
    source: P,
    options: Options,
    /// The last `Access-Control-Allow-Headers` built, for preflights that
    /// list the same names again.
    allow_headers: AllowHeadersCache,
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
            allow_headers: AllowHeadersCache::default(),
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
    P: BucketCors,
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
            // A preflight: answered here, once the policy is known.
            let parts = request.into_parts().0;
            let mut tally = Tally::new(Kind::Preflight);
            let (resolved, resource) = resolve(
                &self.source,
                &RequestHead::from_parts(&parts),
                &self.options,
                &mut tally,
            );
            return match resolved {
                Ok(policy) => ResponseFuture::answered(decide::preflight(
                    &self.options,
                    parts,
                    policy,
                    resource,
                    &mut self.allow_headers,
                    &tally,
                )),
                Err(pending) => {
                    ResponseFuture::preflight(pending, resource, parts, self.options, tally)
                }
            };
        }
        let Some(origin) = policy::origin(request.headers()) else {
            // Not CORS: at most `Vary`, and without it no lookup at all.
            let vary = self.options.vary == VaryMode::CacheSafe
                && self.source.is_configured_for(&RequestHead::new(&request));
            return ResponseFuture::without_origin(self.inner.call(request), vary);
        };
        let head = RequestHead::new(&request);
        let mut tally = Tally::new(Kind::Actual);
        match resolve(&self.source, &head, &self.options, &mut tally).0 {
            Ok(policy) => {
                let cors = CorsRequest::with_origin(origin, request.method(), request.headers());
                let on_response = decide::actual(&self.options, policy, &cors, &tally);
                ResponseFuture::inner(self.inner.call(request), on_response)
            }
            // The inner service is called now; the load is joined when its
            // response comes.
            Err(pending) => {
                let join = Join::new(pending, origin, &request, self.options, tally);
                ResponseFuture::joining(self.inner.call(request), join)
            }
        }
    }
}

/// The bucket a request is for, what its source knows of its policy, and
/// whether the URL names the bucket's root or an object; a request that
/// names no bucket is for a bucket that does not exist. `tally` takes the
/// bucket's shadow and what else it counts with (written in place: it is
/// not moved with the answer). Always inlined, as it was before it took
/// the tally (out of line it cost 18 instructions a request more,
/// `benches/instructions.sh s3cors/get_origin_ct`).
#[inline(always)]
fn resolve<C: BucketCors>(
    source: &C,
    head: &RequestHead<'_>,
    options: &Options,
    tally: &mut Tally,
) -> (Result<BucketPolicy, Pending>, ResourceType) {
    let labels = options.bucket_labels();
    let Some(located) = source.locate(head) else {
        let policy = BucketPolicy::NoSuchBucket;
        tally.ready(None, &policy, None, labels);
        return (Ok(policy), ResourceType::Bucket);
    };
    let bucket = located.bucket();
    let resolved = match source.resolve(bucket) {
        Resolution::Ready(policy) => {
            tally.ready(Some(bucket), &policy, None, labels);
            Ok(policy)
        }
        Resolution::Shadowed(policy, shadow) => {
            tally.ready(Some(bucket), &policy, Some(shadow), labels);
            Ok(policy)
        }
        Resolution::Pending(pending) => {
            tally.pending(bucket, labels);
            Err(pending)
        }
    };
    (resolved, located.resource())
}
