//! [`Policy`]: a compiled, immutable CORS configuration.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;

use super::decision::{Allowed, Decision, Refusal};
use super::explain::{Explanation, RuleOutcome, RuleVerdict};
use super::index::OriginIndex;
use super::request::{CorsRequest, RequestedHeaders};
use super::rule::CompiledRule;
use crate::config::{ConfigError, CorsConfiguration, Validation};

/// A CORS configuration compiled for evaluation: validated, its patterns
/// split, its answers' header values built, and its exact origins indexed.
///
/// A `Policy` is immutable and a cheap handle: cloning it clones an [`Arc`].
/// Build one per document, then evaluate as many requests as you like.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method};
/// use tower_s3_cors::{CorsRequest, Policy};
///
/// let policy = Policy::from_xml(
///     r#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
///          <CORSRule>
///            <AllowedOrigin>http://*.example.com</AllowedOrigin>
///            <AllowedMethod>GET</AllowedMethod>
///            <AllowedMethod>PUT</AllowedMethod>
///            <AllowedHeader>x-amz-*</AllowedHeader>
///            <MaxAgeSeconds>3000</MaxAgeSeconds>
///          </CORSRule>
///        </CORSConfiguration>"#,
/// )?;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("origin", HeaderValue::from_static("http://www.example.com"));
/// headers.insert("access-control-request-method", HeaderValue::from_static("PUT"));
/// headers.insert("access-control-request-headers", HeaderValue::from_static("X-Amz-Date,content-type"));
/// let request = CorsRequest::new(&Method::OPTIONS, &headers).unwrap();
///
/// // content-type is not allowed by `x-amz-*`: refused.
/// assert!(!policy.evaluate(&request).is_allowed());
///
/// headers.insert("access-control-request-headers", HeaderValue::from_static("X-Amz-Date, x-amz-acl"));
/// let request = CorsRequest::new(&Method::OPTIONS, &headers).unwrap();
/// let decision = policy.evaluate(&request);
/// let allowed = decision.allowed().unwrap();
/// assert_eq!(allowed.allow_origin(), "http://www.example.com");
/// assert_eq!(allowed.allow_methods(), "GET, PUT");
/// assert_eq!(allowed.allow_headers().unwrap(), "x-amz-date, x-amz-acl");
/// assert_eq!(allowed.max_age().unwrap(), "3000");
/// # Ok::<_, tower_s3_cors::ConfigError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct Policy {
    inner: Arc<Compiled>,
}

/// What a [`Policy`] handle shares. [`SharedPolicy`](crate::SharedPolicy)
/// swaps an `Arc` of it directly, so a request reaches the rules through one
/// pointer, not two.
pub(crate) struct Compiled {
    config: CorsConfiguration,
    validation: Validation,
    rules: Box<[CompiledRule]>,
    index: OriginIndex,
}

impl Policy {
    /// Validates `config` as S3 does and compiles it.
    ///
    /// ```
    /// use tower_s3_cors::{ConfigErrorKind, CorsConfiguration, CorsRule, Policy};
    ///
    /// let config = CorsConfiguration::new()
    ///     .rule(CorsRule::new().allowed_origin("https://a.example").allowed_method("GET"));
    /// let policy = Policy::compile(&config)?;
    /// assert_eq!(policy.configuration(), &config);
    ///
    /// let two_wildcards = CorsConfiguration::new()
    ///     .rule(CorsRule::new().allowed_origin("https://*.*.example").allowed_method("GET"));
    /// let err = Policy::compile(&two_wildcards).unwrap_err();
    /// assert_eq!(err.kind(), ConfigErrorKind::OriginWildcards);
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first validation error (see [`CorsConfiguration::validate`]).
    pub fn compile(config: &CorsConfiguration) -> Result<Self, ConfigError> {
        Self::compile_with(config, Validation::s3())
    }

    /// Validates `config` with `validation` and compiles it.
    ///
    /// ```
    /// use tower_s3_cors::{CorsConfiguration, CorsRule, Policy, Validation};
    ///
    /// let config = CorsConfiguration::new()
    ///     .rule(CorsRule::new().allowed_origin("*").allowed_methods(["GET", "PATCH"]));
    /// assert!(Policy::compile(&config).is_err());
    /// let policy = Policy::compile_with(&config, Validation::s3().allow_extended_methods())?;
    /// assert_eq!(policy.len(), 1);
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first validation error.
    pub fn compile_with(
        config: &CorsConfiguration,
        validation: Validation,
    ) -> Result<Self, ConfigError> {
        Self::build(config.clone(), validation)
    }

    fn build(config: CorsConfiguration, validation: Validation) -> Result<Self, ConfigError> {
        config.validate_with(validation)?;
        let rules = config
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| CompiledRule::compile(i, rule))
            .collect::<Result<Box<[_]>, _>>()?;
        let index = OriginIndex::new(&rules);
        Ok(Self {
            inner: Arc::new(Compiled {
                config,
                validation,
                rules,
                index,
            }),
        })
    }

    /// Reads, validates and compiles an XML `CORSConfiguration`.
    ///
    /// # Errors
    ///
    /// See [`CorsConfiguration::from_xml`] and [`CorsConfiguration::validate`].
    #[cfg(feature = "xml")]
    pub fn from_xml(doc: &str) -> Result<Self, ConfigError> {
        Self::build(CorsConfiguration::from_xml(doc)?, Validation::s3())
    }

    /// Reads, validates and compiles a JSON document (either shape).
    ///
    /// # Errors
    ///
    /// See [`CorsConfiguration::from_json`] and [`CorsConfiguration::validate`].
    #[cfg(feature = "json")]
    pub fn from_json(doc: &str) -> Result<Self, ConfigError> {
        Self::build(CorsConfiguration::from_json(doc)?, Validation::s3())
    }

    /// Reads, validates and compiles a document in either format.
    ///
    /// # Errors
    ///
    /// See [`CorsConfiguration::from_document`] and
    /// [`CorsConfiguration::validate`].
    pub fn from_document(doc: &str) -> Result<Self, ConfigError> {
        Self::build(CorsConfiguration::from_document(doc)?, Validation::s3())
    }

    /// The configuration this policy was compiled from (what `GetBucketCors`
    /// returns).
    #[must_use]
    pub fn configuration(&self) -> &CorsConfiguration {
        &self.inner.config
    }

    /// The validation the policy was compiled with.
    #[must_use]
    pub fn validation(&self) -> Validation {
        self.inner.validation
    }

    /// The number of rules.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.rules.len()
    }

    /// Always `false`: a valid policy has at least one rule.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.rules.is_empty()
    }

    /// Decides a request as S3 does (spec §1 steps 4 to 7, §3, §4).
    ///
    /// For a preflight, an `Access-Control-Request-Method` that is missing or
    /// not a method S3 knows is refused first. Then the rules are walked in
    /// document order; the first whose origin, method and headers all match
    /// decides. Exact origins are looked up in an index, so a policy of 100
    /// rules is not scanned rule by rule; the order of rules still holds.
    ///
    /// Allocates only to build `Access-Control-Allow-Headers`, when the
    /// request lists headers (other than one name already in lower case) and
    /// a rule matched.
    pub fn evaluate(&self, request: &CorsRequest<'_>) -> Decision {
        match self.matching_rule(request) {
            Ok(index) => Decision::Allowed(Allowed::new(self.clone(), index, request)),
            Err(refusal) => Decision::Refused(refusal),
        }
    }

    /// [`evaluate`](Self::evaluate) for a policy handle the caller owns: the
    /// match keeps this handle instead of cloning it. On a refusal the
    /// handle comes back, for [`explain`](Self::explain).
    pub(crate) fn decide(self, request: &CorsRequest<'_>) -> Result<Allowed, (Refusal, Self)> {
        match self.matching_rule(request) {
            Ok(index) => Ok(Allowed::new(self, index, request)),
            Err(refusal) => Err((refusal, self)),
        }
    }

    /// The index of the first rule that matches, or why none does.
    fn matching_rule(&self, request: &CorsRequest<'_>) -> Result<usize, Refusal> {
        let method = self.method_to_match(request)?;
        let origin = request.origin().as_bytes();
        let requested = request.request_headers();
        for (index, origin_known) in self.inner.index.candidates(origin) {
            let Some(rule) = self.inner.rules.get(index) else {
                continue;
            };
            if (origin_known || rule.allows_origin(origin))
                && rule.allows_method(method)
                && rule.refused_header(requested).is_none()
            {
                return Ok(index);
            }
        }
        Err(Refusal::NoRuleMatched)
    }

    /// The rule at `index`, which came from this policy's own
    /// [`matching_rule`](Self::matching_rule).
    ///
    /// # Panics
    ///
    /// If `index` is not one of this policy's rules; an [`Allowed`] only
    /// holds indexes its policy gave it.
    #[allow(clippy::indexing_slicing)] // see # Panics: never out of range
    pub(crate) fn rule(&self, index: usize) -> &CompiledRule {
        &self.inner.rules[index]
    }

    /// The shared part, for [`SharedPolicy`](crate::SharedPolicy) to swap.
    pub(crate) fn into_shared(self) -> Arc<Compiled> {
        self.inner
    }

    /// A handle on a shared part that [`into_shared`](Self::into_shared) gave.
    pub(crate) fn from_shared(inner: Arc<Compiled>) -> Self {
        Self { inner }
    }

    /// Walks the rules as [`evaluate`](Self::evaluate) does, without the
    /// index, and reports what each rule made of the request.
    #[must_use]
    pub fn explain(&self, request: &CorsRequest<'_>) -> Explanation {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut explanation = Explanation {
            origin: lossy(request.origin().as_bytes()),
            method: request.matched_method().map(lossy),
            refusal: None,
            rules: Vec::new(),
        };
        let method = match self.method_to_match(request) {
            Ok(method) => method,
            Err(refusal) => {
                explanation.refusal = Some(refusal);
                return explanation;
            }
        };
        let origin = request.origin().as_bytes();
        for (index, rule) in self.inner.rules.iter().enumerate() {
            let outcome = if !rule.allows_origin(origin) {
                RuleOutcome::OriginNotAllowed
            } else if !rule.allows_method(method) {
                RuleOutcome::MethodNotAllowed
            } else if let Some(name) = rule.refused_header(request.request_headers()) {
                RuleOutcome::HeaderNotAllowed(lossy(name))
            } else {
                RuleOutcome::Matched
            };
            let matched = outcome == RuleOutcome::Matched;
            explanation.rules.push(RuleVerdict {
                index,
                id: rule.id.clone(),
                outcome,
            });
            if matched {
                return explanation;
            }
        }
        explanation.refusal = Some(Refusal::NoRuleMatched);
        explanation
    }

    /// The method the rules are matched against, or why a preflight is
    /// invalid.
    fn method_to_match<'a>(&self, request: &CorsRequest<'a>) -> Result<&'a [u8], Refusal> {
        let method = request
            .matched_method()
            .ok_or(Refusal::MissingRequestMethod)?;
        if request.is_preflight() && !self.inner.validation.accepts_method(method) {
            return Err(Refusal::InvalidRequestMethod);
        }
        Ok(method)
    }
}

/// `Access-Control-Allow-Headers` for a match: the requested names,
/// lower-cased, joined by `", "`. `None` when no name was requested.
///
/// The value is built on the stack in one pass, then copied into one
/// exactly-sized allocation; when the request sent that exact text already
/// (one line, all lower case, names separated by `", "`), its value is
/// shared instead and nothing is allocated.
pub(super) fn allow_headers_value(requested: RequestedHeaders<'_>) -> Option<HeaderValue> {
    /// Longer values (dozens of names) take the two-pass path.
    const STACK: usize = 256;
    if let RequestedHeaders::None = requested {
        return None;
    }
    let mut buf = [0; STACK];
    let mut len = 0;
    for name in requested.names() {
        let sep: &[u8] = if len == 0 { b"" } else { b", " };
        let Some(slot) = buf.get_mut(len..len + sep.len() + name.len()) else {
            return allow_headers_value_long(requested);
        };
        let (slot_sep, slot_name) = slot.split_at_mut(sep.len());
        slot_sep.copy_from_slice(sep);
        slot_name.copy_from_slice(name);
        slot_name.make_ascii_lowercase();
        len += sep.len() + name.len();
    }
    let value = buf.get(..len).filter(|v| !v.is_empty())?;
    if let RequestedHeaders::One(line) = requested {
        if line.as_bytes() == value {
            return Some(line.clone());
        }
    }
    // The names come from a valid header value, so this cannot fail; if it
    // somehow did, answering without the header is the safe side.
    HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value)).ok()
}

/// [`allow_headers_value`] for values too long for its stack buffer: one
/// pass to size the allocation exactly, one to fill it.
fn allow_headers_value_long(requested: RequestedHeaders<'_>) -> Option<HeaderValue> {
    let (count, bytes) = requested
        .names()
        .fold((0, 0), |(n, len), name| (n + 1, len + name.len()));
    if count == 0 {
        return None;
    }
    let mut value = Vec::with_capacity(bytes + 2 * (count - 1));
    for name in requested.names() {
        if !value.is_empty() {
            value.extend_from_slice(b", ");
        }
        value.extend_from_slice(name);
    }
    value.make_ascii_lowercase();
    HeaderValue::from_maybe_shared(Bytes::from(value)).ok()
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("rules", &self.inner.rules.len())
            .field("validation", &self.inner.validation)
            .field("configuration", &self.inner.config)
            .finish()
    }
}

impl TryFrom<CorsConfiguration> for Policy {
    type Error = ConfigError;

    /// Validates (as S3 does) and compiles, without copying the configuration.
    fn try_from(config: CorsConfiguration) -> Result<Self, ConfigError> {
        Self::build(config, Validation::s3())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http::header::ACCESS_CONTROL_REQUEST_HEADERS;
    use http::{HeaderMap, HeaderValue};
    use proptest::prelude::*;

    use super::{RequestedHeaders, allow_headers_value};

    /// The obvious definition: every line split on `,`, trimmed, empty
    /// items dropped, lower-cased, joined by `", "`.
    fn naive(lines: &[String]) -> Option<String> {
        let names: Vec<String> = lines
            .iter()
            .flat_map(|line| line.split(','))
            .map(|name| name.trim_matches(|c: char| c.is_ascii_whitespace()))
            .filter(|name| !name.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    }

    proptest! {
        #[test]
        fn allow_headers_value_agrees_with_the_naive_definition(
            lines in proptest::collection::vec("[a-zA-Z0-9, \t-]{0,300}", 0..3),
        ) {
            let mut headers = HeaderMap::new();
            for line in &lines {
                headers.append(ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_str(line).unwrap());
            }
            // HeaderValue keeps the bytes as given; the naive definition
            // sees the same text.
            let built = allow_headers_value(RequestedHeaders::new(&headers));
            let expected = naive(&lines);
            prop_assert_eq!(built.as_ref().map(|v| v.to_str().unwrap()), expected.as_deref());
        }
    }

    #[test]
    fn an_already_normal_line_is_shared_not_copied() {
        let mut headers = HeaderMap::new();
        let line = HeaderValue::from_static("content-type, x-amz-date");
        headers.insert(ACCESS_CONTROL_REQUEST_HEADERS, line.clone());
        let built = allow_headers_value(RequestedHeaders::new(&headers)).unwrap();
        assert_eq!(built, line);
        assert_eq!(built.as_bytes().as_ptr(), line.as_bytes().as_ptr());

        headers.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("content-type,x-amz-date"),
        );
        let built = allow_headers_value(RequestedHeaders::new(&headers)).unwrap();
        assert_eq!(built, "content-type, x-amz-date");
    }
}
