//! What the fuzz targets share: CORS configurations and requests built from
//! the fuzzer's bytes with `arbitrary` (origins and header names derived
//! from the configuration's own patterns, so that allowed preflights with an
//! echoed origin are reached, not only refusals), a reference model of S3's
//! matching written from the specification (`docs/s3-behaviour.md`, §1–§4),
//! and the checks every target makes.

use std::cell::RefCell;
use std::future::Future;

use arbitrary::{Result, Unstructured};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use tower_s3_cors::Policy;
use tower_s3_cors::config::{ConfigError, CorsConfiguration, CorsRule, Validation};
use tower_s3_cors::policy::{CorsRequest, MAX_REQUEST_HEADERS_BYTES, Refusal};

/// Origins browsers send, and a few they should not.
pub const ORIGINS: &[&str] = &[
    "https://app.example.com",
    "http://www.example1.com",
    "http://www.example2.com",
    "https://a.example:8443",
    "http://localhost:4566",
    "null",
    "https://sub.app.example.com",
    "http://",
    "*",
];

/// `AllowedHeader` patterns, and names built from them.
pub const HEADERS: &[&str] = &[
    "*",
    "x-amz-*",
    "content-type",
    "Content-MD5",
    "X-Custom-Header",
    "*-id",
    "x-*-y",
    "authorization",
    "x-amz-meta-owner",
];

/// `AllowedMethod` values (S3's five, an extended one, and a wrong case).
pub const METHODS: &[&str] = &["GET", "PUT", "HEAD", "POST", "DELETE", "PATCH", "get"];

/// `ExposeHeader` values.
pub const EXPOSE: &[&str] = &["ETag", "x-amz-request-id", "Content-Length", "x-amz-*"];

/// Text a `*` stands for when a value is derived from a pattern.
const FILLERS: &[&str] = &["", "x", "sub.", "a.b.c", "-", "*", "www."];

/// A short string of any characters (the fuzzer's own), for the values no
/// list foresees.
fn any_text(u: &mut Unstructured<'_>, max_chars: usize) -> Result<String> {
    let len = u.int_in_range(0..=max_chars)?;
    let mut text = String::new();
    for _ in 0..len {
        text.push(u.arbitrary::<char>()?);
    }
    Ok(text)
}

/// One of `list`, or now and then the fuzzer's own text.
fn pick_or_any(u: &mut Unstructured<'_>, list: &[&str]) -> Result<String> {
    if u.ratio(1, 8)? {
        any_text(u, 12)
    } else {
        Ok((*u.choose(list)?).to_owned())
    }
}

/// An `AllowedOrigin` pattern: exact, `*`, `prefix*suffix`, or anything.
fn origin_pattern(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=5)? {
        0 => "*".to_owned(),
        1 => {
            let prefix = u.choose(&["https://", "http://", "", "https://app", "http://www."])?;
            let suffix =
                u.choose(&[".example.com", "", ":8080", ".example.com/", "example1.com"])?;
            format!("{prefix}*{suffix}")
        }
        2 => any_text(u, 16)?,
        _ => (*u.choose(ORIGINS)?).to_owned(),
    })
}

/// A configuration of one to six rules (sometimes one S3 would refuse).
///
/// # Errors
///
/// When the fuzzer's bytes run out.
pub fn config(u: &mut Unstructured<'_>) -> Result<CorsConfiguration> {
    let count = u.int_in_range(1..=6)?;
    let mut config = CorsConfiguration::new();
    for _ in 0..count {
        config = config.rule(rule(u)?);
    }
    Ok(config)
}

fn rule(u: &mut Unstructured<'_>) -> Result<CorsRule> {
    let mut rule = CorsRule::new();
    if u.arbitrary()? {
        rule = rule.id(pick_or_any(u, &["r1", "uploads", ""])?);
    }
    for _ in 0..u.int_in_range(1..=3)? {
        rule = rule.allowed_origin(origin_pattern(u)?);
    }
    for _ in 0..u.int_in_range(1..=3)? {
        rule = rule.allowed_method(pick_or_any(u, METHODS)?);
    }
    for _ in 0..u.int_in_range(0..=3)? {
        rule = rule.allowed_header(pick_or_any(u, HEADERS)?);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        rule = rule.expose_header(pick_or_any(u, EXPOSE)?);
    }
    if u.arbitrary()? {
        let seconds = match u.int_in_range(0..=4)? {
            0 => 0,
            1 => 3000,
            2 => 2_147_483_647,
            3 => 2_147_483_648,
            _ => u.arbitrary()?,
        };
        rule = rule.max_age_seconds(seconds);
    }
    Ok(rule)
}

/// Replaces each `*` of `pattern` by a filler.
fn fill(u: &mut Unstructured<'_>, pattern: &str) -> Result<String> {
    let mut out = String::new();
    for (i, part) in pattern.split('*').enumerate() {
        if i > 0 {
            out.push_str(u.choose(FILLERS)?);
        }
        out.push_str(part);
    }
    Ok(out)
}

/// `text` as a header value, with the bytes a header value cannot hold
/// dropped.
fn header_value(text: &str) -> HeaderValue {
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
        .collect();
    HeaderValue::from_bytes(&bytes).expect("only bytes a header value allows are left")
}

/// Flips the case of some ASCII letters.
fn mixed_case(u: &mut Unstructured<'_>, name: &str) -> Result<String> {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        out.push(if u.ratio(1, 4)? {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        } else {
            c
        });
    }
    Ok(out)
}

/// A request, as the layer sees it: method, path and headers.
#[derive(Debug)]
pub struct FuzzRequest {
    /// The method.
    pub method: Method,
    /// The path (and query).
    pub path: &'static str,
    /// The headers.
    pub headers: HeaderMap,
}

impl FuzzRequest {
    /// As an `http::Request` with `body`.
    ///
    /// # Panics
    ///
    /// Never: the method and path are valid.
    pub fn to_http<B>(&self, body: B) -> http::Request<B> {
        let mut request = http::Request::builder()
            .method(self.method.clone())
            .uri(self.path)
            .body(body)
            .expect("a valid method and path");
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// A request aimed at `config`: its origin and requested headers mostly
/// derived from the rules' patterns (so matches happen), its method mostly
/// `OPTIONS`, sometimes anything.
///
/// # Errors
///
/// When the fuzzer's bytes run out.
pub fn request(u: &mut Unstructured<'_>, config: &CorsConfiguration) -> Result<FuzzRequest> {
    let method = match u.int_in_range(0..=9)? {
        0 => Method::GET,
        1 => Method::PUT,
        2 => Method::HEAD,
        3 => Method::POST,
        4 => Method::DELETE,
        5 => Method::PATCH,
        _ => Method::OPTIONS,
    };
    let path = *u.choose(&["/", "/k", "/a/b?x=1", "/?cors"])?;
    let mut headers = HeaderMap::new();
    let rules = &config.rules;

    match u.int_in_range(0..=9)? {
        0 => {}
        1 => {
            headers.insert("origin", HeaderValue::from_static(""));
        }
        2 => {
            headers.insert("origin", header_value(&any_text(u, 24)?));
        }
        3 => {
            headers.insert("origin", header_value(u.choose(ORIGINS)?));
        }
        _ => {
            let rule = u.choose(rules)?;
            let pattern = u.choose(&rule.allowed_origins)?;
            headers.insert("origin", header_value(&fill(u, pattern)?));
        }
    }
    if u.ratio(1, 8)? {
        // A second Origin line: only the first counts.
        headers.append("origin", header_value(u.choose(ORIGINS)?));
    }

    match u.int_in_range(0..=7)? {
        0 => {}
        1 => {
            headers.insert(
                "access-control-request-method",
                header_value(&any_text(u, 8)?),
            );
        }
        2 | 3 => {
            headers.insert(
                "access-control-request-method",
                header_value(u.choose(METHODS)?),
            );
        }
        _ => {
            let rule = u.choose(rules)?;
            let method = u.choose(&rule.allowed_methods)?;
            headers.insert("access-control-request-method", header_value(method));
        }
    }

    let lines = match u.int_in_range(0..=9)? {
        0..=3 => 0,
        4..=8 => 1,
        _ => 2,
    };
    for _ in 0..lines {
        let mut line = String::new();
        for i in 0..u.int_in_range(0..=5)? {
            if i > 0 {
                line.push_str(u.choose(&[", ", ",", " , ", ",,", ",\t"])?);
            }
            let name = match u.int_in_range(0..=5)? {
                0 => any_text(u, 10)?,
                1 => (*u.choose(HEADERS)?).to_owned(),
                _ => {
                    let rule = u.choose(rules)?;
                    if rule.allowed_headers.is_empty() {
                        "x-unlisted".to_owned()
                    } else {
                        let pattern = u.choose(&rule.allowed_headers)?;
                        fill(u, pattern)?
                    }
                }
            };
            line.push_str(&mixed_case(u, &name)?);
        }
        if u.ratio(1, 256)? {
            // Around the 8 KiB limit on Access-Control-Request-Headers: a
            // thousand names, slow to check, so rare.
            let target = MAX_REQUEST_HEADERS_BYTES - 64 + u.int_in_range(0..=128)?;
            let unit = if line.is_empty() {
                "x-a"
            } else {
                line.as_str()
            };
            let mut long = String::from(unit);
            while long.len() + unit.len() < target {
                long.push(',');
                long.push_str(unit);
            }
            line = long;
        }
        headers.append("access-control-request-headers", header_value(&line));
    }
    Ok(FuzzRequest {
        method,
        path,
        headers,
    })
}

/// A `Validation`, S3's or the extended one.
///
/// # Errors
///
/// When the fuzzer's bytes run out.
pub fn validation(u: &mut Unstructured<'_>) -> Result<Validation> {
    Ok(if u.ratio(1, 4)? {
        Validation::s3().allow_extended_methods()
    } else {
        Validation::s3()
    })
}

// ---------------------------------------------------------------------------
// The reference model, from the specification.

/// `pattern` (at most one `*`, for zero or more characters) against `value`.
fn pattern_matches(pattern: &[u8], value: &[u8], ignore_case: bool) -> bool {
    let eq = |a: &[u8], b: &[u8]| {
        if ignore_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    match pattern.iter().position(|&b| b == b'*') {
        None => eq(pattern, value),
        Some(star) => {
            let (prefix, suffix) = (&pattern[..star], &pattern[star + 1..]);
            value.len() >= prefix.len() + suffix.len()
                && eq(prefix, &value[..prefix.len()])
                && eq(suffix, &value[value.len() - suffix.len()..])
        }
    }
}

/// The requested header names: every line split on `,`, trimmed, empty
/// items dropped.
fn requested_names(headers: &HeaderMap) -> Vec<&[u8]> {
    headers
        .get_all("access-control-request-headers")
        .iter()
        .flat_map(|line| line.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|name| !name.is_empty())
        .collect()
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// What the specification says of a request with an `Origin`: the index of
/// the rule that decides it, or the refusal.
#[must_use]
pub fn reference_decision(
    config: &CorsConfiguration,
    validation: Validation,
    method: &Method,
    headers: &HeaderMap,
) -> Option<std::result::Result<usize, Refusal>> {
    let origin = headers.get("origin").filter(|o| !o.is_empty())?;
    let preflight = method == Method::OPTIONS;
    let acrh_bytes: usize = headers
        .get_all("access-control-request-headers")
        .iter()
        .map(HeaderValue::len)
        .sum();
    if acrh_bytes > MAX_REQUEST_HEADERS_BYTES {
        return Some(Err(Refusal::RequestHeadersTooLarge));
    }
    let to_match: &[u8] = match headers.get("access-control-request-method") {
        Some(m) => m.as_bytes(),
        None if preflight => return Some(Err(Refusal::MissingRequestMethod)),
        None => method.as_str().as_bytes(),
    };
    let s3_method = ["GET", "PUT", "HEAD", "POST", "DELETE"]
        .iter()
        .any(|m| m.as_bytes() == to_match);
    if preflight && !s3_method && !(validation.extended_methods() && is_token(to_match)) {
        return Some(Err(Refusal::InvalidRequestMethod));
    }
    let names = requested_names(headers);
    let matched = config.rules.iter().position(|rule| {
        rule.allowed_origins
            .iter()
            .any(|p| pattern_matches(p.as_bytes(), origin.as_bytes(), false))
            && rule
                .allowed_methods
                .iter()
                .any(|m| m.as_bytes() == to_match)
            && names.iter().all(|name| {
                rule.allowed_headers
                    .iter()
                    .any(|p| pattern_matches(p.as_bytes(), name, true))
            })
    });
    Some(matched.ok_or(Refusal::NoRuleMatched))
}

/// The `Access-Control-*` headers the specification gives rule `index`'s
/// match of a request with `headers` (`docs/s3-behaviour.md`, §2).
#[must_use]
pub fn reference_headers(
    config: &CorsConfiguration,
    index: usize,
    headers: &HeaderMap,
) -> Vec<(HeaderName, Vec<u8>)> {
    let rule = &config.rules[index];
    let any_origin = rule.allowed_origins.iter().any(|o| o == "*");
    let mut out = Vec::new();
    let origin = headers.get("origin").expect("a CORS request has an Origin");
    if any_origin {
        out.push((ACCESS_CONTROL_ALLOW_ORIGIN, b"*".to_vec()));
    } else {
        out.push((ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_bytes().to_vec()));
        out.push((ACCESS_CONTROL_ALLOW_CREDENTIALS, b"true".to_vec()));
    }
    out.push((
        ACCESS_CONTROL_ALLOW_METHODS,
        rule.allowed_methods.join(", ").into_bytes(),
    ));
    let names = requested_names(headers);
    if !names.is_empty() {
        let echo: Vec<Vec<u8>> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        out.push((ACCESS_CONTROL_ALLOW_HEADERS, echo.join(&b", "[..])));
    }
    if !rule.expose_headers.is_empty() {
        out.push((
            ACCESS_CONTROL_EXPOSE_HEADERS,
            rule.expose_headers.join(", ").into_bytes(),
        ));
    }
    if let Some(seconds) = rule.max_age_seconds {
        out.push((ACCESS_CONTROL_MAX_AGE, seconds.to_string().into_bytes()));
    }
    out.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    out
}

/// Every `Access-Control-*` header of `headers`, sorted by name (a name
/// twice appears twice).
#[must_use]
pub fn cors_headers_of(headers: &HeaderMap) -> Vec<(HeaderName, Vec<u8>)> {
    let mut out: Vec<(HeaderName, Vec<u8>)> = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.clone(), value.as_bytes().to_vec()))
        .collect();
    out.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    out
}

/// The invariants of any response headers: never `*` with credentials, and
/// an echoed origin is the request's.
///
/// # Panics
///
/// When an invariant does not hold: that is the finding.
pub fn check_cors_invariants(request: &HeaderMap, response: &HeaderMap) {
    let origins: Vec<_> = response
        .get_all(ACCESS_CONTROL_ALLOW_ORIGIN)
        .iter()
        .collect();
    assert!(
        origins.len() <= 1,
        "several Access-Control-Allow-Origin: {response:?}"
    );
    if let Some(origin) = origins.first() {
        if origin.as_bytes() == b"*" {
            assert!(
                response.get(ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none(),
                "Access-Control-Allow-Origin: * with credentials: {response:?}"
            );
        } else {
            assert_eq!(
                Some(*origin),
                request.get("origin"),
                "an echoed origin is the request's"
            );
        }
    }
}

/// Evaluates one request with `policy` and checks it against the reference
/// model: the same decision, the same headers, `explain` in agreement.
///
/// # Panics
///
/// When the engine and the model disagree.
pub fn check_evaluate(policy: &Policy, request: &FuzzRequest) {
    let config = policy.configuration();
    let expected = reference_decision(
        config,
        policy.validation(),
        &request.method,
        &request.headers,
    );
    let Some(cors) = CorsRequest::new(&request.method, &request.headers) else {
        assert!(expected.is_none(), "no CorsRequest, yet an Origin");
        return;
    };
    let expected = expected.expect("a CorsRequest has an Origin");
    let decision = policy.evaluate(&cors);
    let explanation = policy.explain(&cors);
    assert_eq!(
        explanation.matched_rule(),
        decision.as_ref().ok().map(|a| a.rule_index()),
        "explain and evaluate disagree: {explanation}"
    );
    assert_eq!(
        explanation.refusal(),
        decision.as_ref().err().copied(),
        "{explanation}"
    );
    match (&decision, expected) {
        (Ok(allowed), Ok(index)) => {
            assert_eq!(allowed.rule_index(), index, "first match: {request:?}");
            let mut written = HeaderMap::new();
            allowed.clone().write_headers(&mut written);
            assert_eq!(
                cors_headers_of(&written),
                reference_headers(config, index, &request.headers),
                "{request:?}"
            );
            check_cors_invariants(&request.headers, &written);
            // The echoed origin is allowed by the matched rule.
            let rule = &config.rules[index];
            let origin = request.headers.get("origin").expect("CORS");
            assert!(rule.allowed_origins.iter().any(|p| pattern_matches(
                p.as_bytes(),
                origin.as_bytes(),
                false
            )));
        }
        (Err(refusal), Err(expected)) => assert_eq!(*refusal, expected),
        (decision, expected) => {
            panic!("engine {decision:?}, reference {expected:?}, for {request:?} under {config:?}")
        }
    }
}

/// Checks what a reader made of a document: whatever it accepts holds only
/// values S3 accepts in form, writes back as XML and JSON that read to the
/// same model, and compiles exactly when it validates.
///
/// # Panics
///
/// When one of these does not hold.
pub fn check_read(result: std::result::Result<CorsConfiguration, ConfigError>) {
    let Ok(config) = result else { return };
    check_config(&config);
}

/// [`check_read`] for a configuration however it was made: validation and
/// compilation agree; a valid one writes back as XML and JSON that read to
/// the same model.
///
/// # Panics
///
/// When one of these does not hold.
pub fn check_config(config: &CorsConfiguration) {
    for validation in [Validation::s3(), Validation::s3().allow_extended_methods()] {
        let valid = config.validate_with(validation);
        let compiled = Policy::compile_with(config, validation);
        assert_eq!(valid.is_ok(), compiled.is_ok(), "{valid:?}");
        if let (Err(a), Err(b)) = (&valid, &compiled) {
            assert_eq!(a, b);
        }
    }
    if config
        .validate_with(Validation::s3().allow_extended_methods())
        .is_err()
    {
        return;
    }
    let xml = config.to_xml();
    let from_xml = CorsConfiguration::from_xml(&xml)
        .unwrap_or_else(|e| panic!("GetBucketCors output {xml:?} does not read back: {e}"));
    assert_eq!(&from_xml, config, "{xml}");
    let json = config.to_json();
    let from_json = CorsConfiguration::from_json(&json)
        .unwrap_or_else(|e| panic!("JSON output {json:?} does not read back: {e}"));
    assert_eq!(&from_json, config, "{json}");
    for rule in &config.rules {
        assert!(rule.max_age_seconds.is_none_or(|s| s <= 2_147_483_647));
    }
}

/// Runs `future` to completion on a current-thread runtime (with timers),
/// one per thread, made once.
///
/// # Panics
///
/// When the runtime cannot be built.
pub fn block_on<F: Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
    }
    RUNTIME.with(|cell| {
        let mut runtime = cell.borrow_mut();
        let runtime = runtime.get_or_insert_with(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("a current-thread runtime")
        });
        runtime.block_on(future)
    })
}

/// A request body made of the fuzzer's frames: data, then maybe an error,
/// or a stall (pending for ever, never waking: only a timeout ends it).
#[derive(Debug, Default)]
pub struct FuzzBody {
    frames: std::collections::VecDeque<std::result::Result<bytes::Bytes, BodyError>>,
    stall: bool,
    hint: Option<u64>,
    polled: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The error a [`FuzzBody`] ends with, when it ends badly.
#[derive(Debug)]
pub struct BodyError;

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the connection broke")
    }
}

impl std::error::Error for BodyError {}

impl FuzzBody {
    /// Makes the body stall once its frames are given.
    #[must_use]
    pub fn stalling(mut self) -> Self {
        self.stall = true;
        self
    }

    /// Makes the body's size hint exact at `length`.
    #[must_use]
    pub fn with_hint(mut self, length: u64) -> Self {
        self.hint = Some(length);
        self
    }

    /// A flag set when the body is first polled.
    #[must_use]
    pub fn polled(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        std::sync::Arc::clone(&self.polled)
    }

    /// `body` cut into frames where the fuzzer says, ending in an error
    /// when `broken`.
    ///
    /// # Errors
    ///
    /// When the fuzzer's bytes run out.
    pub fn new(u: &mut Unstructured<'_>, body: &[u8], broken: bool) -> Result<Self> {
        let mut frames = std::collections::VecDeque::new();
        let mut rest = body;
        while !rest.is_empty() {
            let cut = if u.ratio(1, 2)? {
                rest.len()
            } else {
                u.int_in_range(0..=rest.len())?
            };
            let (frame, tail) = rest.split_at(cut);
            frames.push_back(Ok(bytes::Bytes::copy_from_slice(frame)));
            rest = tail;
        }
        if broken {
            frames.push_back(Err(BodyError));
        }
        Ok(Self {
            frames,
            stall: false,
            hint: None,
            polled: std::sync::Arc::default(),
        })
    }
}

impl http_body::Body for FuzzBody {
    type Data = bytes::Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<bytes::Bytes>, BodyError>>>
    {
        self.polled.store(true, std::sync::atomic::Ordering::SeqCst);
        match self.frames.pop_front() {
            Some(frame) => std::task::Poll::Ready(Some(frame.map(http_body::Frame::data))),
            None if self.stall => std::task::Poll::Pending,
            None => std::task::Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.hint
            .map_or_else(http_body::SizeHint::new, http_body::SizeHint::with_exact)
    }
}
