//! `s3-cors explain`: the answer the layer gives one request, and why.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use serde::Serialize;

use tower_s3_cors::config::CorsConfiguration;

use crate::convert::load_failure;
use crate::engine::{self, Answer, Outcome, Walk};
use crate::report::{self, Format, Output, Status};
use crate::{input, lint};

/// The request to explain, as given on the command line.
#[derive(Debug)]
pub(crate) struct Ask<'a> {
    pub(crate) origin: &'a str,
    pub(crate) method: &'a str,
    pub(crate) headers: &'a [String],
    pub(crate) preflight: bool,
    pub(crate) s3_exact: bool,
    /// Send the origin and method even when no browser would.
    pub(crate) as_given: bool,
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
    let shown = Shown::new(&request, ask);
    let answer = match engine::answer(&policy, request, ask.s3_exact) {
        Ok(answer) => answer,
        Err(message) => {
            let mut out = Output::new(Status::Error);
            let _ = writeln!(out.stderr, "s3-cors: {message}");
            return out;
        }
    };
    let allowed = answer
        .walk
        .as_ref()
        .is_some_and(|w| w.matched_rule.is_some());
    let nearest = answer
        .walk
        .as_ref()
        .filter(|_| !allowed)
        .and_then(|walk| nearest_origin(&doc.config, walk, ask.origin));
    let mut out = Output::new(if allowed {
        Status::Success
    } else {
        Status::Failure
    });
    out.stdout = match format {
        Format::Text => text(&shown, &answer, nearest.as_ref()),
        Format::Json => report::to_json(&Json::new(&doc.name, &shown, &answer, nearest.as_ref())),
    };
    out
}

/// The `AllowedOrigin` closest to a refused origin.
struct Nearest<'a> {
    /// The rule, counted from 1, and its `ID`.
    rule: usize,
    id: Option<&'a str>,
    origin: &'a str,
    /// How many characters to add, remove or change to make the origin match.
    edits: usize,
}

/// When a refused origin was refused by rules for their origins: the
/// `AllowedOrigin` of those rules that it is fewest edits away from
/// matching (the first of equals, among patterns of a reasonable length).
/// Shown when no rule allows the origin, or when it is a few edits away
/// (a rule that would have matched but for a slip).
fn nearest_origin<'a>(
    config: &'a CorsConfiguration,
    walk: &Walk,
    origin: &str,
) -> Option<Nearest<'a>> {
    let refused_for_origin = |number: usize| {
        walk.rules
            .iter()
            .any(|v| v.number == number && v.outcome == Outcome::OriginNotAllowed)
    };
    let some_rule_allows_origin = walk
        .rules
        .iter()
        .any(|v| v.outcome != Outcome::OriginNotAllowed);
    let chars: Vec<char> = origin.chars().collect();
    let nearest = config
        .rules
        .iter()
        .enumerate()
        .filter(|(index, _)| refused_for_origin(index + 1))
        .flat_map(|(index, rule)| {
            rule.allowed_origins
                .iter()
                .filter(|pattern| pattern.len() <= 512)
                .map(move |pattern| (index, rule, pattern))
        })
        .map(|(index, rule, pattern)| Nearest {
            rule: index + 1,
            id: rule.id.as_deref(),
            origin: pattern,
            edits: distance(&chars, pattern),
        })
        .min_by_key(|nearest| nearest.edits)?;
    (!some_rule_allows_origin || nearest.edits <= 3).then_some(nearest)
}

/// The fewest single-character edits that make `text` match `pattern` (one
/// `*` matching any text).
fn distance(text: &[char], pattern: &str) -> usize {
    let (prefix, suffix) = pattern.split_once('*').unwrap_or((pattern, ""));
    let prefix: Vec<char> = prefix.chars().collect();
    let starts = edits_to_prefixes(&prefix, text);
    if !pattern.contains('*') {
        return starts.last().copied().unwrap_or_default();
    }
    let suffix: Vec<char> = suffix.chars().rev().collect();
    let reversed: Vec<char> = text.iter().rev().copied().collect();
    // ends[j]: edits to make text[j..] equal to the suffix.
    let mut ends = edits_to_prefixes(&suffix, &reversed);
    ends.reverse();
    // The '*' takes text[i..j] for some i <= j.
    let mut best_end = usize::MAX;
    let mut best = usize::MAX;
    for i in (0..starts.len()).rev() {
        best_end = best_end.min(ends.get(i).copied().unwrap_or(usize::MAX));
        best = best.min(
            starts
                .get(i)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(best_end),
        );
    }
    best
}

/// For each `i`, the Levenshtein distance between `word` and `text[..i]`.
fn edits_to_prefixes(word: &[char], text: &[char]) -> Vec<usize> {
    // row[i]: the distance between word[..w] and text[..i].
    let mut row: Vec<usize> = (0..=text.len()).collect();
    for (w, wc) in word.iter().enumerate() {
        let mut next = vec![w + 1; text.len() + 1];
        for (i, tc) in text.iter().enumerate() {
            let replace = row.get(i).copied().unwrap_or_default() + usize::from(wc != tc);
            let delete = row.get(i + 1).copied().unwrap_or_default() + 1;
            let insert = next.get(i).copied().unwrap_or_default() + 1;
            if let Some(cell) = next.get_mut(i + 1) {
                *cell = replace.min(delete).min(insert);
            }
        }
        row = next;
    }
    row
}

/// The methods browsers write in upper case whatever the page wrote
/// (`fetch(url, {method: "put"})` sends `PUT`).
const NORMALISED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];

/// Builds the HTTP request a browser would send, or says why a browser
/// would not send it.
fn build_request(ask: &Ask<'_>) -> Result<Request<String>, String> {
    if !ask.as_given {
        as_a_browser_sends(ask)?;
    }
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

/// Refuses a request no browser sends, saying what a browser would send
/// instead.
fn as_a_browser_sends(ask: &Ask<'_>) -> Result<(), String> {
    let upper = ask.method.to_ascii_uppercase();
    if upper == "OPTIONS" {
        return Err(
            "--method OPTIONS: a browser's preflight is an OPTIONS request; give the method the \
             page uses and --preflight (--method PUT --preflight)"
                .to_owned(),
        );
    }
    if upper != ask.method && NORMALISED.contains(&upper.as_str()) {
        return Err(format!(
            "--method {:?}: browsers send it in upper case; did you mean --method {upper}?",
            ask.method
        ));
    }
    if ask.origin.is_empty() {
        return Err(
            "--origin \"\": a browser never sends an empty Origin (an opaque origin sends null)"
                .to_owned(),
        );
    }
    if let Some((why, instead)) = lint::never_sent(ask.origin) {
        let hint = instead
            .map(|origin| format!("; did you mean --origin {origin}?"))
            .unwrap_or_default();
        return Err(format!(
            "--origin {:?}: a browser never sends it ({why}){hint} (--as-given sends it all \
             the same)",
            ask.origin
        ));
    }
    Ok(())
}

/// The request, kept for the report (the layer takes the request itself).
struct Shown {
    method: String,
    path: String,
    preflight: bool,
    headers: Vec<(String, String)>,
    /// For an actual request, why a browser would send a preflight first:
    /// its method or the headers it lists.
    preflight_first: Option<String>,
}

impl Shown {
    fn new(request: &Request<String>, ask: &Ask<'_>) -> Self {
        let preflight = request.method() == Method::OPTIONS;
        let simple = matches!(ask.method, "GET" | "HEAD" | "POST");
        let preflight_first = match (preflight, simple, ask.headers) {
            (true, _, _) | (false, true, []) => None,
            (false, false, _) => Some(format!("its method is {}", ask.method)),
            (false, true, headers) => Some(format!(
                "it lists {} in Access-Control-Request-Headers",
                headers.join(", ")
            )),
        };
        Self {
            method: request.method().to_string(),
            path: request.uri().to_string(),
            preflight,
            headers: pairs(request.headers()),
            preflight_first,
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

fn text(shown: &Shown, answer: &Answer, nearest: Option<&Nearest<'_>>) -> String {
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
        "S3 answers a preflight itself; the object is not read"
    } else {
        "the object's own response, here an empty 200, with the CORS headers S3 adds"
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
    if let Some(nearest) = nearest {
        let _ = writeln!(
            out,
            "\nNearest AllowedOrigin: {:?} in {}, {} edit{} away{}",
            nearest.origin,
            report::rule_label(nearest.rule, nearest.id),
            nearest.edits,
            if nearest.edits == 1 { "" } else { "s" },
            lint::never_sent(nearest.origin)
                .filter(|_| !nearest.origin.contains('*'))
                .map(|(why, _)| format!(" (it never matches: {why})"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(out, "\nVerdict: {}", verdict_text(shown, walk));
    if let Some(why) = &shown.preflight_first {
        let _ = writeln!(
            out,
            "\nNote: a browser sends a preflight before this request ({why}), and sends the \
             request only if the preflight is allowed: add --preflight to see that answer."
        );
    }
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
    /// When no rule allows the origin: the closest `AllowedOrigin`.
    nearest_origin: Option<NearestJson<'a>>,
    /// For an actual request, why a browser sends a preflight first
    /// (`null` when it does not).
    preflight_first: Option<&'a str>,
}

#[derive(Serialize)]
struct NearestJson<'a> {
    rule: usize,
    id: Option<&'a str>,
    origin: &'a str,
    /// Characters to add, remove or change for the origin to match.
    edits: usize,
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
    fn new(
        file: &'a str,
        shown: &'a Shown,
        answer: &'a Answer,
        nearest: Option<&Nearest<'a>>,
    ) -> Self {
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
            nearest_origin: nearest.map(|n| NearestJson {
                rule: n.rule,
                id: n.id,
                origin: n.origin,
                edits: n.edits,
            }),
            preflight_first: shown.preflight_first.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::distance;

    fn d(text: &str, pattern: &str) -> usize {
        distance(&text.chars().collect::<Vec<_>>(), pattern)
    }

    #[test]
    fn edits_to_match_a_pattern() {
        assert_eq!(d("https://app.example.com", "https://app.example.com"), 0);
        assert_eq!(d("https://app.example.com", "https://app.example.com/"), 1);
        assert_eq!(d("http://app.example.com", "https://app.example.com"), 1);
        assert_eq!(d("https://app.example.com", "https://*.example.com"), 0);
        assert_eq!(d("https://example.com", "https://*.example.com"), 1);
        assert_eq!(d("https://app.example.org", "https://*.example.com"), 3);
        assert_eq!(d("", "*"), 0);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("ab", "a*b"), 0);
        assert_eq!(d("a", "ab*ba"), 3);
    }
}
