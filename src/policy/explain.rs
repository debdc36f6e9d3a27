//! [`Explanation`]: rule-by-rule reasons, for logs, tests and tools.

use std::fmt;
use std::ops::Range;

use super::compiled::{Compiled, Observer};
use super::refusal::Refusal;
use super::request::CorsRequest;
use super::rule::{Check, CompiledRule};

/// Why each rule of a policy did or did not match one request, from
/// [`Policy::explain`](crate::Policy::explain).
///
/// The walk is the one [`Policy::evaluate`](crate::Policy::evaluate) makes,
/// watched: every rule in document order up to the first that matches.
/// The layer attaches an `Explanation` to the extensions of the responses it
/// refuses when asked to ([`RefusalReport::Explanation`]), so outer layers
/// can log it.
///
/// [`RefusalReport::Explanation`]: crate::RefusalReport::Explanation
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method};
/// use tower_s3_cors::Policy;
/// use tower_s3_cors::policy::{CorsRequest, RuleVerdict};
///
/// let policy = Policy::from_document(r#"[
///     {"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET"]},
///     {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}
/// ]"#)?;
/// let mut headers = HeaderMap::new();
/// headers.insert("origin", HeaderValue::from_static("https://b.example"));
/// headers.insert("access-control-request-method", HeaderValue::from_static("GET"));
/// let request = CorsRequest::new(&Method::OPTIONS, &headers).unwrap();
///
/// let explanation = policy.explain(&request);
/// assert_eq!(explanation.matched_rule(), None);
/// assert_eq!(explanation.rules(), [RuleVerdict::OriginNotAllowed, RuleVerdict::MethodNotAllowed]);
/// assert_eq!(
///     explanation.to_string(),
///     r#"origin "https://b.example", method "GET": no CORS rule matched (rule #1: origin not allowed; rule #2: method not allowed)"#
/// );
/// # Ok::<_, tower_s3_cors::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub(crate) origin: String,
    pub(crate) method: Option<String>,
    pub(crate) refusal: Option<Refusal>,
    /// What each rule walked made of the request: rule `i`'s verdict at `i`.
    pub(crate) rules: Vec<RuleVerdict>,
    /// The `ID`s of the rules walked.
    pub(crate) ids: Vec<Option<String>>,
}

impl Explanation {
    /// The request's `Origin`, as text (invalid UTF-8 replaced).
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The method that was matched (see
    /// [`CorsRequest::method_to_match`](crate::policy::CorsRequest::method_to_match)).
    #[must_use]
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// The refusal, or `None` when a rule matched.
    #[must_use]
    pub fn refusal(&self) -> Option<Refusal> {
        self.refusal
    }

    /// The index of the rule that matched, if one did.
    #[must_use]
    pub fn matched_rule(&self) -> Option<usize> {
        self.rules.iter().position(|r| *r == RuleVerdict::Matched)
    }

    /// One verdict per rule walked, in document order: rule `i`'s at `i`,
    /// from the first rule up to the one that matched (or to the last).
    /// Empty when the request was refused before any rule was looked at (an
    /// invalid preflight).
    #[must_use]
    pub fn rules(&self) -> &[RuleVerdict] {
        &self.rules
    }

    /// The `ID` of rule `index`, if it was walked and has one.
    #[must_use]
    pub fn rule_id(&self, index: usize) -> Option<&str> {
        self.ids.get(index)?.as_deref()
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "origin {:?}", self.origin)?;
        if let Some(method) = &self.method {
            write!(f, ", method {method:?}")?;
        }
        match self.refusal {
            Some(refusal) => write!(f, ": {refusal}")?,
            None => f.write_str(": allowed")?,
        }
        if !self.rules.is_empty() {
            f.write_str(" (")?;
            for (i, verdict) in self.rules.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "rule #{}", i + 1)?;
                if let Some(id) = self.rule_id(i) {
                    write!(f, " (ID {id:?})")?;
                }
                write!(f, ": {verdict}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Builds an [`Explanation`] by watching the walk.
pub(super) struct Recorder<'p> {
    compiled: &'p Compiled,
    rules: Vec<RuleVerdict>,
    ids: Vec<Option<String>>,
}

impl<'p> Recorder<'p> {
    pub(super) fn new(compiled: &'p Compiled) -> Self {
        Self {
            compiled,
            rules: Vec::new(),
            ids: Vec::new(),
        }
    }

    /// The walk visits the rules in order, each once.
    fn push(&mut self, index: usize, verdict: RuleVerdict) {
        debug_assert_eq!(index, self.rules.len(), "rules are walked in order");
        self.rules.push(verdict);
        self.ids
            .push(self.compiled.rule_id(index).map(str::to_owned));
    }

    /// The explanation of the walk over `request` that ended in `refusal`
    /// (`None`: a rule matched).
    pub(super) fn finish(self, request: &CorsRequest<'_>, refusal: Option<Refusal>) -> Explanation {
        Explanation {
            origin: lossy(request.origin().as_bytes()),
            method: request.method_to_match().map(lossy),
            refusal,
            rules: self.rules,
            ids: self.ids,
        }
    }
}

impl<'a> Observer<'a> for Recorder<'_> {
    fn skipped(&mut self, rules: Range<usize>) {
        for index in rules {
            self.push(index, RuleVerdict::OriginNotAllowed);
        }
    }

    fn checked(&mut self, index: usize, _: &CompiledRule, check: Check<'a>) {
        let verdict = match check {
            Check::Matched => RuleVerdict::Matched,
            Check::Method => RuleVerdict::MethodNotAllowed,
            Check::Header(name) => RuleVerdict::HeaderNotAllowed(lossy(name)),
        };
        self.push(index, verdict);
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What one rule made of a request. Checks run in this order: origin, method,
/// headers; the first that fails is reported.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleVerdict {
    /// The rule matched: it decides the request.
    Matched,
    /// No `AllowedOrigin` matches the request's `Origin`.
    OriginNotAllowed,
    /// The origin matched, but no `AllowedMethod` is the request's method.
    MethodNotAllowed,
    /// Origin and method matched, but this requested header name (as sent)
    /// matches no `AllowedHeader`.
    HeaderNotAllowed(String),
}

impl fmt::Display for RuleVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Matched => f.write_str("matched"),
            Self::OriginNotAllowed => f.write_str("origin not allowed"),
            Self::MethodNotAllowed => f.write_str("method not allowed"),
            Self::HeaderNotAllowed(name) => write!(f, "header {name:?} not allowed"),
        }
    }
}
