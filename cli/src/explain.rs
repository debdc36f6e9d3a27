//! `s3-cors explain`: the answer the layer gives one request, and why.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use serde::Serialize;

use crate::convert::load_failure;
use crate::engine::{self, Answer, Outcome, Walk};
use crate::input;
use crate::report::{self, Format, Output, Status};

/// The request to explain, as given on the command line.
#[derive(Debug)]
pub(crate) struct Ask<'a> {
    pub(crate) origin: &'a str,
    pub(crate) method: &'a str,
    pub(crate) headers: &'a [String],
    pub(crate) preflight: bool,
    pub(crate) s3_exact: bool,
    pub(crate) path: &'a str,
    pub(crate) extra: &'a [String],
}

/// Runs `s3-cors explain`.
pub(crate) fn run(path: &str, ask: &Ask<'_>, format: Format) -> Output {
    let request = match build_request(ask) {
        Ok(request) => request,
        Err(message) => {
            let mut out = Output::new(Status::Error);
            let _ = writeln!(out.stderr, "s3-cors: {message}");
            return out;
        }
    };
    let doc = match input::load(path, true) {
        Ok(doc) => doc,
        Err(err) => return load_failure(&err, format),
    };
    let policy = match engine::compile(&doc.config) {
        Ok(policy) => policy,
        Err(err) => {
            return load_failure(
                &input::LoadError::Invalid {
                    name: doc.name,
                    error: Box::new((&err).into()),
                },
                format,
            );
        }
    };
    let shown = Shown::new(&request);
    let answer = match engine::answer(&policy, request, ask.s3_exact) {
        Ok(answer) => answer,
        Err(message) => {
            let mut out = Output::new(Status::Error);
            let _ = writeln!(out.stderr, "s3-cors: {message}");
            return out;
        }
    };
    let mut out = Output::new(Status::Success);
    out.stdout = match format {
        Format::Text => text(&shown, &answer),
        Format::Json => report::to_json(&Json::new(&doc.name, &shown, &answer)),
    };
    out
}

/// Builds the HTTP request a browser would send.
fn build_request(ask: &Ask<'_>) -> Result<Request<String>, String> {
    let requested = Method::from_bytes(ask.method.as_bytes())
        .map_err(|_| format!("--method {:?} is not an HTTP method", ask.method))?;
    let method = if ask.preflight {
        Method::OPTIONS
    } else {
        requested
    };
    let mut headers = HeaderMap::new();
    let value = |what: &str, text: &str| {
        HeaderValue::from_str(text)
            .map_err(|_| format!("{what} {text:?} cannot be sent in an HTTP header"))
    };
    headers.insert(http::header::ORIGIN, value("--origin", ask.origin)?);
    if ask.preflight {
        headers.insert(
            http::header::ACCESS_CONTROL_REQUEST_METHOD,
            value("--method", ask.method)?,
        );
    }
    for name in ask.headers {
        HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("--header {name:?} is not a header name"))?;
    }
    if !ask.headers.is_empty() {
        headers.insert(
            http::header::ACCESS_CONTROL_REQUEST_HEADERS,
            value("--header", &ask.headers.join(", "))?,
        );
    }
    for line in ask.extra {
        let (name, text) = line
            .split_once(':')
            .ok_or_else(|| format!("--request-header {line:?} is not NAME: VALUE"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("--request-header {line:?}: {name:?} is not a header name"))?;
        headers.append(name, value("--request-header", text.trim())?);
    }
    if !ask.path.starts_with('/') {
        return Err(format!("--path {:?} must start with '/'", ask.path));
    }
    let mut request = Request::builder()
        .method(method)
        .uri(ask.path)
        .body(String::new())
        .map_err(|err| format!("--path {:?}: {err}", ask.path))?;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The request, kept for the report (the layer takes the request itself).
struct Shown {
    method: String,
    path: String,
    preflight: bool,
    headers: Vec<(String, String)>,
}

impl Shown {
    fn new(request: &Request<String>) -> Self {
        Self {
            method: request.method().to_string(),
            path: request.uri().to_string(),
            preflight: request.method() == Method::OPTIONS,
            headers: pairs(request.headers()),
        }
    }
}

fn pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Matched => "matched: this rule decides".to_owned(),
        Outcome::OriginNotAllowed => "origin not allowed (no AllowedOrigin matches)".to_owned(),
        Outcome::MethodNotAllowed => {
            "method not allowed (origin matched; no AllowedMethod is the method)".to_owned()
        }
        Outcome::HeaderNotAllowed(name) => format!(
            "header {name:?} not allowed (origin and method matched; no AllowedHeader admits it)"
        ),
        Outcome::Other(text) => text.clone(),
    }
}

fn text(shown: &Shown, answer: &Answer) -> String {
    let mut out = String::new();
    let kind = if shown.preflight {
        "preflight"
    } else {
        "actual request"
    };
    let _ = writeln!(out, "Request ({kind}):");
    let _ = writeln!(out, "  {} {}", shown.method, shown.path);
    for (name, value) in &shown.headers {
        let _ = writeln!(out, "  {name}: {value}");
    }
    let by = if shown.preflight {
        "answered by the layer; the inner service is not called"
    } else {
        "the inner service's empty 200, with the layer's headers"
    };
    let _ = writeln!(
        out,
        "\nResponse: {} {} ({by})",
        answer.status.as_str(),
        answer.status.canonical_reason().unwrap_or_default()
    );
    for (name, value) in pairs(&answer.headers) {
        let _ = writeln!(out, "  {name}: {value}");
    }
    if !answer.body.is_empty() {
        let _ = writeln!(out, "  body:");
        for line in String::from_utf8_lossy(&answer.body).lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let Some(walk) = &answer.walk else {
        let _ = writeln!(
            out,
            "\nNot a CORS request (empty Origin): no rule is consulted."
        );
        return out;
    };
    if walk.rules.is_empty() {
        let _ = writeln!(out, "\nRules: none consulted.");
    } else {
        let _ = writeln!(out, "\nRules, in order (the first that matches decides):");
        for verdict in &walk.rules {
            let _ = writeln!(
                out,
                "  {}: {}",
                report::rule_label(verdict.number, verdict.id.as_deref()),
                outcome_text(&verdict.outcome)
            );
        }
    }
    let _ = writeln!(out, "\nVerdict: {}", verdict_text(shown, walk));
    out
}

fn verdict_text(shown: &Shown, walk: &Walk) -> String {
    match (walk.matched_rule, &walk.refusal) {
        (Some(number), _) => {
            let id = walk
                .rules
                .iter()
                .find(|v| v.number == number)
                .and_then(|v| v.id.as_deref());
            format!("allowed by {}", report::rule_label(number, id))
        }
        (None, refusal) => {
            let why = refusal.as_deref().unwrap_or("no CORS rule matched");
            if shown.preflight {
                format!("refused: {why}")
            } else {
                format!(
                    "refused: {why}; the response goes out without CORS headers, \
                     so the browser does not let the page read it"
                )
            }
        }
    }
}

/// `--format json`.
#[derive(Serialize)]
struct Json<'a> {
    file: &'a str,
    request: RequestJson<'a>,
    /// The response status.
    status: u16,
    /// `layer` (preflights) or `inner service` (actual requests).
    answered_by: &'static str,
    /// The rule that decides, counted from 1, or `null`.
    matched_rule: Option<usize>,
    /// Its `ID`.
    matched_id: Option<&'a str>,
    /// Why no rule decides, or `null`.
    refusal: Option<&'a str>,
    /// The response headers, in the order the layer set them.
    headers: Vec<HeaderJson>,
    /// The response body (S3's XML error for a refused preflight).
    body: String,
    /// One entry per rule consulted, in document order.
    rules: Vec<RuleJson<'a>>,
}

#[derive(Serialize)]
struct RequestJson<'a> {
    method: &'a str,
    path: &'a str,
    preflight: bool,
    headers: Vec<HeaderJson>,
}

#[derive(Serialize)]
struct HeaderJson {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct RuleJson<'a> {
    number: usize,
    id: Option<&'a str>,
    /// `matched`, `origin-not-allowed`, `method-not-allowed` or
    /// `header-not-allowed`.
    outcome: &'a str,
    /// For `header-not-allowed`: the first requested header no
    /// `AllowedHeader` admits, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<&'a str>,
}

fn header_list(pairs: Vec<(String, String)>) -> Vec<HeaderJson> {
    pairs
        .into_iter()
        .map(|(name, value)| HeaderJson { name, value })
        .collect()
}

impl<'a> Json<'a> {
    fn new(file: &'a str, shown: &'a Shown, answer: &'a Answer) -> Self {
        let walk = answer.walk.as_ref();
        let matched_rule = walk.and_then(|w| w.matched_rule);
        Self {
            file,
            request: RequestJson {
                method: &shown.method,
                path: &shown.path,
                preflight: shown.preflight,
                headers: header_list(shown.headers.clone()),
            },
            status: answer.status.as_u16(),
            answered_by: if shown.preflight {
                "layer"
            } else {
                "inner service"
            },
            matched_rule,
            matched_id: walk.and_then(|w| {
                w.rules
                    .iter()
                    .find(|v| Some(v.number) == matched_rule)
                    .and_then(|v| v.id.as_deref())
            }),
            refusal: match walk {
                Some(walk) => walk.refusal.as_deref(),
                None => Some("not a CORS request (empty Origin)"),
            },
            headers: header_list(pairs(&answer.headers)),
            body: String::from_utf8_lossy(&answer.body).into_owned(),
            rules: walk
                .map(|w| {
                    w.rules
                        .iter()
                        .map(|v| RuleJson {
                            number: v.number,
                            id: v.id.as_deref(),
                            outcome: match &v.outcome {
                                Outcome::Matched => "matched",
                                Outcome::OriginNotAllowed => "origin-not-allowed",
                                Outcome::MethodNotAllowed => "method-not-allowed",
                                Outcome::HeaderNotAllowed(_) => "header-not-allowed",
                                Outcome::Other(text) => text,
                            },
                            header: match &v.outcome {
                                Outcome::HeaderNotAllowed(name) => Some(name),
                                _ => None,
                            },
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}
