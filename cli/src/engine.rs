//! Every call into the `tower-s3-cors` library goes through this module, so
//! the rest of the tool depends only on the document model
//! ([`CorsConfiguration`], [`CorsRule`](tower_s3_cors::config::CorsRule)) and
//! on the plain values returned here.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{HeaderMap, Request, Response};
use http_body::Body;
use tower_layer::Layer;
use tower_s3_cors::ConfigError;
use tower_s3_cors::config::{ConfigErrorKind, CorsConfiguration};
use tower_s3_cors::policy::{CorsRequest, Explanation, Policy, RuleVerdict};
use tower_s3_cors::{S3CorsLayer, VaryMode};
use tower_service::Service;

/// The largest document S3 accepts, in bytes.
pub(crate) const MAX_DOCUMENT_BYTES: usize = tower_s3_cors::config::MAX_DOCUMENT_BYTES;

/// Reads a document in either format, of any size (its form only; see
/// [`validate`]). S3's size limit is measured on [`to_xml`].
pub(crate) fn parse(text: &str) -> Result<CorsConfiguration, ConfigError> {
    CorsConfiguration::from_document_any_size(text)
}

/// Checks a configuration as S3's `PutBucketCors` does.
pub(crate) fn validate(config: &CorsConfiguration) -> Result<(), ConfigError> {
    config.validate()
}

/// Validates and compiles a configuration.
pub(crate) fn compile(config: &CorsConfiguration) -> Result<Policy, ConfigError> {
    Policy::compile(config)
}

/// The configuration as `GetBucketCors` writes it (one line).
pub(crate) fn to_xml(config: &CorsConfiguration) -> String {
    config.to_xml()
}

/// The library's error of `kind` for a document read here, with `detail`.
pub(crate) fn document_error(kind: ConfigErrorKind, detail: String) -> ConfigError {
    ConfigError::new(kind).with_detail(detail)
}

/// What a [`ConfigError`] says, flattened for reports.
#[derive(Clone, Debug)]
pub(crate) struct ErrorReport {
    /// S3's error code.
    pub(crate) code: &'static str,
    /// S3's message, byte for byte.
    pub(crate) message: String,
    /// The rule at fault, counted from 1.
    pub(crate) rule: Option<usize>,
    /// Its `ID`.
    pub(crate) id: Option<String>,
    /// The member at fault, named as in S3's XML.
    pub(crate) field: Option<&'static str>,
    /// The value at fault, as written.
    pub(crate) value: Option<String>,
    /// The library's own description (names rule, field, value and detail),
    /// or where and what the reader found, for a document of the wrong shape.
    pub(crate) description: String,
    /// The line of the document at fault, counted from 1.
    pub(crate) line: Option<usize>,
    /// The column, counted from 1 in characters.
    pub(crate) column: Option<usize>,
    /// What is expected there, or how to fix it.
    pub(crate) hint: Option<String>,
    /// Whether `hint` is the shape expected where the reader stopped (a
    /// document of the wrong shape), rather than a fix for S3's refusal.
    pub(crate) expected: bool,
}

impl From<&ConfigError> for ErrorReport {
    fn from(err: &ConfigError) -> Self {
        Self {
            code: err.s3_code(),
            message: err.s3_message(),
            rule: err.rule_index().map(|i| i + 1),
            id: err.rule_id().map(str::to_owned),
            field: err.field(),
            value: err.value().map(str::to_owned),
            description: err.to_string(),
            line: None,
            column: None,
            hint: crate::hints::for_error(err),
            expected: false,
        }
    }
}

/// What one rule made of the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Matched,
    OriginNotAllowed,
    MethodNotAllowed,
    /// The first requested header name (as sent) that no `AllowedHeader`
    /// admits.
    HeaderNotAllowed(String),
    /// An outcome this tool does not know yet (the library's enum is
    /// non-exhaustive).
    Other(String),
}

/// One rule's verdict.
#[derive(Clone, Debug)]
pub(crate) struct Verdict {
    /// Counted from 1.
    pub(crate) number: usize,
    pub(crate) id: Option<String>,
    pub(crate) outcome: Outcome,
}

/// The rule-by-rule walk of [`Policy::explain`].
#[derive(Clone, Debug)]
pub(crate) struct Walk {
    /// The rule that decides, counted from 1.
    pub(crate) matched_rule: Option<usize>,
    /// Why no rule decides (the library's wording).
    pub(crate) refusal: Option<String>,
    pub(crate) rules: Vec<Verdict>,
}

/// The layer's answer to one request.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: http::StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// `None` when the request is not a CORS request (no `Origin`, or an
    /// empty one).
    pub(crate) walk: Option<Walk>,
}

/// Runs `request` through the real layer, `S3Cors` over `policy`, with an
/// inner service that answers every request it gets with an empty `200`, and
/// asks the policy to explain it rule by rule.
///
/// The layer never waits (the source is a fixed policy and the inner service
/// is ready at once), so its future is polled with a no-op waker; a future
/// that is still pending after that is reported as an error rather than
/// waited for.
pub(crate) fn answer(
    policy: &Policy,
    request: Request<String>,
    s3_exact: bool,
) -> Result<Answer, String> {
    let walk = CorsRequest::new(request.method(), request.headers())
        .map(|cors| walk(&policy.explain(&cors)));
    let mode = if s3_exact {
        VaryMode::S3Exact
    } else {
        VaryMode::CacheSafe
    };
    let mut service = S3CorsLayer::new(policy.clone())
        .vary_mode(mode)
        .layer(EmptyOk);
    let mut cx = Context::from_waker(Waker::noop());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(never)) => match never {},
        Poll::Pending => return Err("the layer is not ready".to_owned()),
    }
    let response = match pin!(service.call(request)).poll(&mut cx) {
        Poll::Ready(Ok(response)) => response,
        Poll::Ready(Err(never)) => match never {},
        Poll::Pending => return Err("the layer did not answer at once".to_owned()),
    };
    let (mut parts, body) = response.into_parts();
    // The layer's own answers give their length as the body's exact size,
    // which servers send as `Content-Length`: show it as it goes out.
    if let Some(length) = http_body::Body::size_hint(&body).exact() {
        if !parts.headers.contains_key(http::header::CONTENT_LENGTH) && length > 0 {
            parts.headers.insert(
                http::header::CONTENT_LENGTH,
                http::HeaderValue::from(length),
            );
        }
    }
    let mut body = pin!(body);
    let mut bytes = Vec::new();
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            Poll::Ready(None) => break,
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
            }
            Poll::Ready(Some(Err(never))) => match never {},
            Poll::Pending => return Err("the response body did not end at once".to_owned()),
        }
    }
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body: bytes,
        walk,
    })
}

/// What a policy decides for one request: the matched rule (counted from
/// 1) and the CORS headers it sends, or why it refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decided {
    pub(crate) rule: Option<usize>,
    /// The library's reason, for a refusal.
    pub(crate) refusal: Option<String>,
    /// The CORS headers of the answer, in the order the engine writes them
    /// (names in lower case).
    pub(crate) headers: Vec<(String, String)>,
}

/// Decides one request with [`Policy::evaluate`]: a preflight (`OPTIONS`
/// with `Access-Control-Request-Method: method`) or an actual request of
/// `method`, from `origin`, listing `request_headers` in
/// `Access-Control-Request-Headers` (none when empty). `None` when the
/// request cannot be written (a value a header cannot hold).
pub(crate) fn decide(
    policy: &Policy,
    origin: &str,
    method: &str,
    preflight: bool,
    request_headers: &str,
) -> Option<Decided> {
    let (http_method, headers) = cors_request(origin, method, preflight, request_headers)?;
    let request = CorsRequest::new(&http_method, &headers)?;
    Some(match policy.evaluate(&request) {
        Ok(allowed) => {
            let rule = allowed.rule_index() + 1;
            let mut answer = HeaderMap::new();
            allowed.write_headers(&mut answer);
            Decided {
                rule: Some(rule),
                refusal: None,
                headers: answer
                    .iter()
                    .map(|(name, value)| {
                        (
                            name.as_str().to_owned(),
                            String::from_utf8_lossy(value.as_bytes()).into_owned(),
                        )
                    })
                    .collect(),
            }
        }
        Err(refusal) => Decided {
            rule: None,
            refusal: Some(refusal.to_string()),
            headers: Vec::new(),
        },
    })
}

/// For a request [`decide`] refuses, what stopped the rule that came
/// closest ([`Policy::explain`]): a header (origin and method matched)
/// before a method (the origin matched) before an origin. `None` when no
/// rule was consulted, or the request cannot be written.
pub(crate) fn nearest_refusal(
    policy: &Policy,
    origin: &str,
    method: &str,
    preflight: bool,
    request_headers: &str,
) -> Option<Outcome> {
    let (http_method, headers) = cors_request(origin, method, preflight, request_headers)?;
    let request = CorsRequest::new(&http_method, &headers)?;
    walk(&policy.explain(&request))
        .rules
        .into_iter()
        .map(|verdict| verdict.outcome)
        .max_by_key(|outcome| match outcome {
            Outcome::HeaderNotAllowed(_) => 3,
            Outcome::MethodNotAllowed => 2,
            Outcome::OriginNotAllowed => 1,
            Outcome::Matched | Outcome::Other(_) => 0,
        })
}

/// The method and headers of the request [`decide`] describes.
fn cors_request(
    origin: &str,
    method: &str,
    preflight: bool,
    request_headers: &str,
) -> Option<(http::Method, HeaderMap)> {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::ORIGIN,
        http::HeaderValue::from_str(origin).ok()?,
    );
    let http_method = if preflight {
        headers.insert(
            http::header::ACCESS_CONTROL_REQUEST_METHOD,
            http::HeaderValue::from_str(method).ok()?,
        );
        http::Method::OPTIONS
    } else {
        http::Method::from_bytes(method.as_bytes()).ok()?
    };
    if !request_headers.is_empty() {
        headers.insert(
            http::header::ACCESS_CONTROL_REQUEST_HEADERS,
            http::HeaderValue::from_str(request_headers).ok()?,
        );
    }
    Some((http_method, headers))
}

fn walk(explanation: &Explanation) -> Walk {
    Walk {
        matched_rule: explanation.matched_rule().map(|i| i + 1),
        refusal: explanation.refusal().map(|r| r.to_string()),
        rules: explanation
            .rules()
            .iter()
            .enumerate()
            .map(|(index, verdict)| Verdict {
                number: index + 1,
                id: explanation.rule_id(index).map(str::to_owned),
                outcome: match verdict {
                    RuleVerdict::Matched => Outcome::Matched,
                    RuleVerdict::OriginNotAllowed => Outcome::OriginNotAllowed,
                    RuleVerdict::MethodNotAllowed => Outcome::MethodNotAllowed,
                    RuleVerdict::HeaderNotAllowed(name) => Outcome::HeaderNotAllowed(name.clone()),
                    other => Outcome::Other(format!("{other:?}")),
                },
            })
            .collect(),
    }
}

/// The inner service of [`answer`]: an empty `200 OK` for every request, as
/// an object server that has the object would send.
#[derive(Clone, Copy, Debug)]
struct EmptyOk;

impl Service<Request<String>> for EmptyOk {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<String>) -> Self::Future {
        ready(Ok(Response::new(String::new())))
    }
}
