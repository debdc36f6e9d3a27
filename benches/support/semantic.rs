//! The semantic floor: S3's CORS for the benchmarks' one-rule document
//! (`support::policy(1, false)`), written by hand for that document alone.
//!
//! It does what any layer that answers like S3 and can swap its rules at
//! run time must do per request, and nothing more: it reads `Origin`,
//! `Access-Control-Request-Method` and `Access-Control-Request-Headers`,
//! loads the rule from an [`ArcSwap`], compares the origin and the method
//! with the loaded values, and writes the answer's headers from them. A
//! preflight echoes the requested names lower-cased and joined by `", "`
//! in one allocation of exactly their size, in the request's emptied
//! header map. What it leaves out is what the document makes needless: an
//! origin index (one origin), header patterns (`AllowedHeader *`), a walk
//! over rules (one rule), and S3's error answers (the benchmarks measure
//! matched requests only; a refusal gets a bare `403`, or the inner
//! response without CORS headers).
//!
//! Like the layer in its default `VaryMode`, it adds `Vary` with the three
//! CORS tokens to every answer, kept beside the inner response's own
//! `Vary` if it has one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, CONTENT_LENGTH, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use tower::Service;

use super::{APP_ORIGIN, Body};

static TRUE: HeaderValue = HeaderValue::from_static("true");
static ZERO: HeaderValue = HeaderValue::from_static("0");
static CORS_VARY: HeaderValue = HeaderValue::from_static(
    "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
);

/// The benchmark document's one rule, compiled by hand: the values the
/// floor compares with and writes, built at run time as a compiled policy's
/// are (not `from_static`, whose clones cost nothing).
#[derive(Debug)]
pub struct FloorRule {
    origin: HeaderValue,
    methods: [HeaderValue; 2],
    allow_methods: HeaderValue,
    max_age: HeaderValue,
}

impl FloorRule {
    /// `AllowedOrigin https://app.example.com`, `AllowedMethod GET, PUT`,
    /// `AllowedHeader *`, `MaxAgeSeconds 3000`.
    pub fn benchmark() -> Self {
        let value = |text: &str| HeaderValue::from_str(text).expect("a valid header value");
        Self {
            origin: value(APP_ORIGIN),
            methods: [value("GET"), value("PUT")],
            allow_methods: value("GET, PUT"),
            max_age: HeaderValue::from(3000_u32),
        }
    }

    /// Whether `origin` may use `method`.
    fn allows(&self, origin: &HeaderValue, method: &[u8]) -> bool {
        *origin == self.origin && self.methods.iter().any(|m| m.as_bytes() == method)
    }
}

/// The semantic floor around an inner service; see the module docs.
#[derive(Clone, Debug)]
pub struct SemanticFloor<S> {
    inner: S,
    rule: Arc<ArcSwap<FloorRule>>,
}

impl<S> SemanticFloor<S> {
    /// The floor around `inner`, serving [`FloorRule::benchmark`].
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            rule: Arc::new(ArcSwap::from_pointee(FloorRule::benchmark())),
        }
    }
}

impl<S, B> Service<Request<Body>> for SemanticFloor<S>
where
    S: Service<Request<Body>, Response = Response<B>>,
    B: Default,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = SemanticFuture<S::Future, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let headers = request.headers();
        let Some(origin) = headers.get(ORIGIN) else {
            return SemanticFuture::Inner {
                future: self.inner.call(request),
                matched: None,
            };
        };
        let requested_method = headers.get(ACCESS_CONTROL_REQUEST_METHOD);
        let requested_headers = headers.get(ACCESS_CONTROL_REQUEST_HEADERS);
        let rule = self.rule.load();
        if request.method() == Method::OPTIONS {
            let allowed = requested_method.is_some_and(|m| rule.allows(origin, m.as_bytes()));
            let mut response = Response::new(B::default());
            if !allowed {
                *response.status_mut() = StatusCode::FORBIDDEN;
                response.headers_mut().insert(VARY, CORS_VARY.clone());
                return SemanticFuture::answered(response);
            }
            let origin = origin.clone();
            let allow_headers = requested_headers.map(|line| lower_case_list(line.as_bytes()));
            let mut headers = request.into_parts().0.headers;
            headers.clear();
            headers.reserve(7);
            headers.insert(CONTENT_LENGTH, ZERO.clone());
            write_answer(&mut headers, origin, allow_headers, &rule);
            headers.insert(VARY, CORS_VARY.clone());
            *response.headers_mut() = headers;
            return SemanticFuture::answered(response);
        }
        // S3 matches an actual request by its `Access-Control-Request-Method`
        // when it has one, and echoes its `Access-Control-Request-Headers`.
        let method = match requested_method {
            Some(method) => method.as_bytes(),
            None => request.method().as_str().as_bytes(),
        };
        let matched = rule.allows(origin, method).then(|| Matched {
            origin: origin.clone(),
            allow_headers: requested_headers.map(|line| lower_case_list(line.as_bytes())),
            rule: arc_swap::Guard::into_inner(rule),
        });
        SemanticFuture::Inner {
            future: self.inner.call(request),
            matched,
        }
    }
}

/// `Access-Control-Allow-Headers` for an `Access-Control-Request-Headers`
/// line: its names, trimmed, lower-cased, joined by `", "`, built in one
/// pass on the stack and copied into one allocation of exactly its size
/// (a list too long for the buffer is built in a `Vec` of its exact size).
fn lower_case_list(line: &[u8]) -> HeaderValue {
    let mut buf = [0_u8; 256];
    let mut len = 0;
    for name in line.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
        if name.is_empty() {
            continue;
        }
        let sep: &[u8] = if len == 0 { b"" } else { b", " };
        let Some(slot) = buf.get_mut(len..len + sep.len() + name.len()) else {
            return lower_case_list_long(line);
        };
        slot[..sep.len()].copy_from_slice(sep);
        slot[sep.len()..].copy_from_slice(name);
        len += sep.len() + name.len();
    }
    buf[..len].make_ascii_lowercase();
    HeaderValue::from_maybe_shared(Bytes::copy_from_slice(&buf[..len]))
        .expect("pieces of a header value")
}

/// [`lower_case_list`] for a list longer than its buffer.
fn lower_case_list_long(line: &[u8]) -> HeaderValue {
    let names = || {
        line.split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
            .filter(|name| !name.is_empty())
    };
    let len = names().map(|name| name.len() + 2).sum::<usize>();
    let mut value = Vec::with_capacity(len - 2);
    for name in names() {
        if !value.is_empty() {
            value.extend_from_slice(b", ");
        }
        value.extend_from_slice(name);
    }
    value.make_ascii_lowercase();
    HeaderValue::from_maybe_shared(Bytes::from(value)).expect("pieces of a header value")
}

pin_project_lite::pin_project! {
    /// [`SemanticFloor`]'s future: its own answer, or the inner future and,
    /// for a match, the request's origin and the rule that matched.
    #[project = SemanticFutureProj]
    pub enum SemanticFuture<F, B> {
        Answered { response: Option<Response<B>> },
        Inner {
            #[pin]
            future: F,
            matched: Option<Matched>,
        },
    }
}

/// What a matched actual request's response gets: the request's origin,
/// its requested names echoed, and the rule that matched.
#[derive(Debug)]
pub struct Matched {
    origin: HeaderValue,
    allow_headers: Option<HeaderValue>,
    rule: Arc<FloorRule>,
}

impl<F, B> SemanticFuture<F, B> {
    fn answered(response: Response<B>) -> Self {
        Self::Answered {
            response: Some(response),
        }
    }
}

impl<F, B, E> Future for SemanticFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            SemanticFutureProj::Answered { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            SemanticFutureProj::Inner { future, matched } => {
                let mut response = ready!(future.poll(cx))?;
                let headers = response.headers_mut();
                if let Some(matched) = matched.take() {
                    let Matched {
                        origin,
                        allow_headers,
                        rule,
                    } = matched;
                    headers.reserve(5 + usize::from(allow_headers.is_some()));
                    write_answer(headers, origin, allow_headers, &rule);
                }
                add_vary(headers);
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// The CORS headers of a match (`Vary` aside), from the loaded rule.
/// Inlined into both callers, as the inserts were written out in each.
#[inline(always)]
fn write_answer(
    headers: &mut HeaderMap,
    origin: HeaderValue,
    allow_headers: Option<HeaderValue>,
    rule: &FloorRule,
) {
    headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE.clone());
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, rule.allow_methods.clone());
    if let Some(value) = allow_headers {
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, value);
    }
    headers.insert(ACCESS_CONTROL_MAX_AGE, rule.max_age.clone());
}

/// `Vary` with the CORS tokens, beside the response's own `Vary` if any.
fn add_vary(headers: &mut HeaderMap) {
    if let Some(own) = headers.insert(VARY, CORS_VARY.clone()) {
        headers.append(VARY, own);
    }
}
