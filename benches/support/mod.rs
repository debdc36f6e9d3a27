//! What the benchmarks share: equivalent single-rule configurations for
//! tower-s3-cors and tower-http, browser-like requests, a trivial inner
//! service, and a way to drive an always-ready future without a runtime.

#![allow(dead_code, unreachable_pub)] // each bench uses its own part of this module

pub mod semantic;

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT, ACCEPT_ENCODING, ACCEPT_LANGUAGE, ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD,
    CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, REFERER, USER_AGENT, VARY,
};
use http::{HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::Empty;
use tower::Service;
use tower_s3_cors::Policy;
use tower_s3_cors::config::{CorsConfiguration, CorsRule};

/// The origin every matching request comes from.
pub const APP_ORIGIN: &str = "https://app.example.com";

/// The request and response body of every benchmark.
pub type Body = Empty<Bytes>;

/// The inner service: answers every request with an empty `200`, as the
/// issue's baseline does.
pub fn inner() -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    tower::service_fn(|_: Request<Body>| ready(Ok(Response::new(Body::new()))))
}

/// An inner service whose responses carry a `Content-Type`, as every real
/// handler's do: adding the first header to a response then costs no
/// allocation for the header table.
pub fn inner_with_content_type() -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    inner_with(&[(CONTENT_TYPE, "text/plain; charset=utf-8")])
}

/// An inner service whose every response carries `headers`.
fn inner_with(
    headers: &'static [(HeaderName, &'static str)],
) -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    tower::service_fn(move |_: Request<Body>| {
        let mut response = Response::new(Body::new());
        for (name, value) in headers {
            response
                .headers_mut()
                .append(name.clone(), HeaderValue::from_static(value));
        }
        ready(Ok(response))
    })
}

/// `rules` rules, only the last of which matches [`APP_ORIGIN`]. With
/// `wildcard`, every rule's origin is a `https://*.suffix` pattern (the
/// last one `https://*.example.com`), so the exact-origin index cannot help.
pub fn policy(rules: usize, wildcard: bool) -> Policy {
    let mut config = CorsConfiguration::new();
    for i in 0..rules {
        let last = i + 1 == rules;
        let origin = match (wildcard, last) {
            (false, true) => APP_ORIGIN.to_owned(),
            (false, false) => format!("https://app{i}.example.com"),
            (true, true) => "https://*.example.com".to_owned(),
            (true, false) => format!("https://*.example{i}.org"),
        };
        config = config.rule(
            CorsRule::new()
                .allowed_origin(origin)
                .allowed_methods(["GET", "PUT"])
                .allowed_header("*")
                .max_age_seconds(3000),
        );
    }
    Policy::compile(&config).expect("the benchmark policy is valid")
}

/// `rules` tenants' rules, the `i`-th allowing `https://*.tenant{i}.example`
/// (every suffix ends the same way); [`tenant_origin`]`(rules - 1)` matches
/// the last one only.
pub fn tenant_policy(rules: usize) -> Policy {
    let mut config = CorsConfiguration::new();
    for i in 0..rules {
        config = config.rule(
            CorsRule::new()
                .allowed_origin(format!("https://*.tenant{i}.example"))
                .allowed_methods(["GET", "PUT"])
                .allowed_header("*")
                .max_age_seconds(3000),
        );
    }
    Policy::compile(&config).expect("the benchmark policy is valid")
}

/// An origin of tenant `i` of [`tenant_policy`].
pub fn tenant_origin(i: usize) -> String {
    format!("https://app.tenant{i}.example")
}

/// One rule for `https://app.example.com` whose `AllowedHeader`s are
/// `patterns` patterns: exact names `x-amz-meta-field{i}`, or with
/// `wildcard`, `x-tenant{i}-*`.
pub fn header_pattern_policy(patterns: usize, wildcard: bool) -> Policy {
    let rule = CorsRule::new()
        .allowed_origin(APP_ORIGIN)
        .allowed_methods(["GET", "PUT"])
        .allowed_headers((0..patterns).map(|i| {
            if wildcard {
                format!("x-tenant{i}-*")
            } else {
                format!("x-amz-meta-field{i}")
            }
        }));
    Policy::compile(&CorsConfiguration::new().rule(rule)).expect("the benchmark policy is valid")
}

/// `names` names that [`header_pattern_policy`]`(patterns, wildcard)`
/// allows, comma-separated as Chrome sends them; the `j`-th matches pattern
/// `patterns - 1 - j % patterns`, so the last patterns (a linear walk's
/// worst case) come first.
pub fn names_for_patterns(names: usize, patterns: usize, wildcard: bool) -> String {
    (0..names)
        .map(|j| {
            let i = patterns - 1 - j % patterns;
            if wildcard {
                format!("x-tenant{i}-meta{j}")
            } else {
                format!("x-amz-meta-field{i}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `rules` rules, each with an `ID` (as consoles and generators write them),
/// only the last of which matches [`APP_ORIGIN`]; exact origins.
pub fn policy_with_ids(rules: usize) -> Policy {
    let mut config = CorsConfiguration::new();
    for i in 0..rules {
        let origin = if i + 1 == rules {
            APP_ORIGIN.to_owned()
        } else {
            format!("https://app{i}.example.com")
        };
        config = config.rule(
            CorsRule::new()
                .id(format!("rule-{i}-for-{origin}"))
                .allowed_origin(origin)
                .allowed_methods(["GET", "PUT"])
                .allowed_header("*")
                .max_age_seconds(3000),
        );
    }
    Policy::compile(&config).expect("the benchmark policy is valid")
}

/// An origin no benchmark policy allows (a scanner, a hot-linking page).
pub const REFUSED_ORIGIN: &str = "https://hotlinker.example.net";

/// tower-http's `CorsLayer` set up like `policy(1, false)`: the same origin,
/// methods and max age, request headers mirrored (what `AllowedHeader *`
/// answers), credentials allowed (S3 sends `Access-Control-Allow-Credentials:
/// true` for a non-`*` origin).
pub fn tower_http_layer() -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::new()
        .allow_origin(HeaderValue::from_static(APP_ORIGIN))
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .allow_credentials(true)
        .max_age(Duration::from_secs(3000))
}

/// The headers a browser sends with every request, Origin aside.
fn browser_headers(builder: http::request::Builder) -> http::request::Builder {
    builder
        .header(HOST, HeaderValue::from_static("api.example.com"))
        .header(
            USER_AGENT,
            HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"),
        )
        .header(ACCEPT, HeaderValue::from_static("*/*"))
        .header(
            ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        )
        .header(ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.9"))
        .header(
            REFERER,
            HeaderValue::from_static("https://app.example.com/"),
        )
        .header(
            HeaderName::from_static("sec-fetch-site"),
            HeaderValue::from_static("same-site"),
        )
        .header(
            HeaderName::from_static("sec-fetch-mode"),
            HeaderValue::from_static("cors"),
        )
}

/// A cross-origin `GET` from [`APP_ORIGIN`], as a browser sends it.
pub fn get_with_origin() -> Request<Body> {
    browser_headers(Request::get("https://api.example.com/photos/cat.jpg"))
        .header(ORIGIN, HeaderValue::from_static(APP_ORIGIN))
        .body(Body::new())
        .expect("valid request")
}

/// A cross-origin `GET` from [`REFUSED_ORIGIN`], which no rule allows.
pub fn get_refused() -> Request<Body> {
    browser_headers(Request::get("https://api.example.com/photos/cat.jpg"))
        .header(ORIGIN, HeaderValue::from_static(REFUSED_ORIGIN))
        .body(Body::new())
        .expect("valid request")
}

/// A preflight for a `PUT` from [`REFUSED_ORIGIN`], which no rule allows.
pub fn preflight_refused() -> Request<Body> {
    browser_headers(Request::options("https://api.example.com/photos/cat.jpg"))
        .header(ORIGIN, HeaderValue::from_static(REFUSED_ORIGIN))
        .header(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("PUT"),
        )
        .header(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static(TWO_NAMES),
        )
        .body(Body::new())
        .expect("valid request")
}

/// An inner service whose responses carry `Content-Type` and
/// `Vary: Accept-Encoding`, as a response behind a compression layer does.
pub fn inner_with_vary() -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    inner_with(&[
        (CONTENT_TYPE, "text/plain; charset=utf-8"),
        (VARY, "accept-encoding"),
    ])
}

/// A same-origin (or server-to-server) `GET`: no `Origin`.
pub fn get_without_origin() -> Request<Body> {
    browser_headers(Request::get("https://api.example.com/photos/cat.jpg"))
        .body(Body::new())
        .expect("valid request")
}

/// A cross-origin `GET` from `origin`, as a browser sends it.
pub fn get_from(origin: &str) -> Request<Body> {
    browser_headers(Request::get("https://api.example.com/photos/cat.jpg"))
        .header(
            ORIGIN,
            HeaderValue::from_str(origin).expect("a valid origin"),
        )
        .body(Body::new())
        .expect("valid request")
}

/// A preflight for a `PUT` from [`APP_ORIGIN`] listing `acrh` in
/// `Access-Control-Request-Headers`, formatted as Chrome does (lower case,
/// `,` without spaces).
pub fn preflight(acrh: &str) -> Request<Body> {
    let mut builder = browser_headers(Request::options("https://api.example.com/photos/cat.jpg"))
        .header(ORIGIN, HeaderValue::from_static(APP_ORIGIN))
        .header(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("PUT"),
        );
    if !acrh.is_empty() {
        builder = builder.header(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_str(acrh).expect("valid header names"),
        );
    }
    builder.body(Body::new()).expect("valid request")
}

/// The two names of the issue's preflight target.
pub const TWO_NAMES: &str = "content-type,x-amz-date";

/// `n` distinct header names, comma-separated as Chrome sends them.
pub fn header_names(n: usize) -> String {
    (0..n)
        .map(|i| format!("x-amz-meta-field{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Polls a future that is ready at once (every future here is) with a no-op
/// waker: no runtime, so only the middleware's own work is measured.
pub fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the benchmark services are always ready"),
    }
}

/// `poll_ready`, then `call`, then the response, as `oneshot` does.
pub fn call<S, B>(service: &mut S, request: Request<Body>) -> Response<B>
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
{
    let ready = service.poll_ready(&mut Context::from_waker(Waker::noop()));
    assert!(matches!(ready, Poll::Ready(Ok(()))));
    match now(service.call(request)) {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Short criterion runs (0.5 s warm-up, 2 s measurement, 50 samples), so a
/// whole `cargo bench` takes a couple of minutes; command-line flags still
/// apply.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
        .configure_from_args()
}

/// `Access-Control-Allow-Origin` of the floor: the origin, from a static.
static FLOOR_ORIGIN: HeaderValue = HeaderValue::from_static(APP_ORIGIN);
static FLOOR_TRUE: HeaderValue = HeaderValue::from_static("true");
static FLOOR_METHODS: HeaderValue = HeaderValue::from_static("GET, PUT");
static FLOOR_MAX_AGE: HeaderValue = HeaderValue::from_static("3000");
/// `Access-Control-Allow-Headers` for [`TWO_NAMES`], as S3 answers it.
static FLOOR_ALLOW_HEADERS: HeaderValue = HeaderValue::from_static("content-type, x-amz-date");
static FLOOR_VARY: HeaderValue = HeaderValue::from_static(
    "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
);
static FLOOR_ZERO: HeaderValue = HeaderValue::from_static("0");

/// The floor: a service that writes, as constants, the headers S3 answers
/// with for the benchmarks' matched requests, deciding nothing. What any
/// CORS layer that answers like S3 must at least do.
///
/// - [`StaticHeaders::cors`]: an `OPTIONS` request gets S3's preflight
///   answer for [`preflight`]`(`[`TWO_NAMES`]`)` (`200`, `Content-Length: 0`,
///   the five CORS headers of the answer and `Vary`), built in the request's
///   emptied header map as tower-s3-cors builds it; any other request goes
///   to the inner service and its response gets the five headers of a
///   matched `GET` (`Access-Control-Allow-Credentials`, `-Allow-Origin`,
///   `-Allow-Methods`, `-Max-Age`, `Vary`), after one `reserve`.
/// - [`StaticHeaders::vary`]: every response gets `Vary` with the three CORS
///   tokens, nothing else: the floor of a request without `Origin` in the
///   default `VaryMode`.
#[derive(Clone, Debug)]
pub struct StaticHeaders<S> {
    inner: S,
    vary_only: bool,
}

impl<S> StaticHeaders<S> {
    /// The five headers of a matched `GET`, S3's answer to a preflight.
    pub fn cors(inner: S) -> Self {
        Self {
            inner,
            vary_only: false,
        }
    }

    /// `Vary` alone, on every response.
    pub fn vary(inner: S) -> Self {
        Self {
            inner,
            vary_only: true,
        }
    }
}

impl<S, B> Service<Request<Body>> for StaticHeaders<S>
where
    S: Service<Request<Body>, Response = Response<B>>,
    B: Default,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = StaticFuture<S::Future, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if !self.vary_only && request.method() == Method::OPTIONS {
            let mut headers = request.into_parts().0.headers;
            headers.clear();
            headers.reserve(7);
            headers.insert(CONTENT_LENGTH, FLOOR_ZERO.clone());
            headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, FLOOR_TRUE.clone());
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, FLOOR_ORIGIN.clone());
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, FLOOR_METHODS.clone());
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, FLOOR_ALLOW_HEADERS.clone());
            headers.insert(ACCESS_CONTROL_MAX_AGE, FLOOR_MAX_AGE.clone());
            headers.insert(VARY, FLOOR_VARY.clone());
            let mut response = Response::new(B::default());
            *response.headers_mut() = headers;
            return StaticFuture::Answered {
                response: Some(response),
            };
        }
        StaticFuture::Inner {
            future: self.inner.call(request),
            vary_only: self.vary_only,
        }
    }
}

pin_project_lite::pin_project! {
    /// [`StaticHeaders`]' future: the answer, or the inner future whose
    /// response gets the constant headers.
    #[project = StaticFutureProj]
    pub enum StaticFuture<F, B> {
        Answered { response: Option<Response<B>> },
        Inner { #[pin] future: F, vary_only: bool },
    }
}

impl<F, B, E> Future for StaticFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            StaticFutureProj::Answered { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            StaticFutureProj::Inner { future, vary_only } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                let headers = response.headers_mut();
                if *vary_only {
                    headers.insert(VARY, FLOOR_VARY.clone());
                } else {
                    headers.reserve(5);
                    headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, FLOOR_TRUE.clone());
                    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, FLOOR_ORIGIN.clone());
                    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, FLOOR_METHODS.clone());
                    headers.insert(ACCESS_CONTROL_MAX_AGE, FLOOR_MAX_AGE.clone());
                    headers.insert(VARY, FLOOR_VARY.clone());
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// Looks the request's `Origin` up and calls the inner service, nothing
/// else: what telling a CORS request from another costs by itself, the
/// floor of a request without `Origin` in `VaryMode::S3Exact`.
#[derive(Clone, Debug)]
pub struct OriginLookup<S>(pub S);

impl<S> Service<Request<Body>> for OriginLookup<S>
where
    S: Service<Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        std::hint::black_box(request.headers().get(ORIGIN));
        self.0.call(request)
    }
}
