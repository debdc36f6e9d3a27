//! [`Allowed`]: a matched rule, and the headers of the answer.

use std::fmt;
use std::sync::Arc;

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
};
use http::{HeaderMap, HeaderValue};

use super::allow_headers::{AllowHeadersCache, allow_headers_value};
use super::compiled::Compiled;
use super::request::CorsRequest;
use super::rule::CompiledRule;

/// `Access-Control-Allow-Origin: *`.
pub(crate) static WILDCARD: HeaderValue = HeaderValue::from_static("*");
/// `Access-Control-Allow-Credentials: true`.
static TRUE: HeaderValue = HeaderValue::from_static("true");

/// A matched rule and the CORS headers of the answer (`docs/s3-behaviour.md`, §2), ready to
/// send: everything that depends only on the rule was built when the policy
/// was compiled.
#[derive(Clone)]
#[must_use]
pub struct Allowed {
    /// The policy that matched, holding the rule at `index`.
    policy: Arc<Compiled>,
    index: usize,
    origin: HeaderValue,
    allow_headers: Option<HeaderValue>,
}

impl Allowed {
    /// The match of rule `index` of `policy` for `request`; `index` came
    /// from a walk over `policy`.
    pub(crate) fn new(policy: Arc<Compiled>, index: usize, request: &CorsRequest<'_>) -> Self {
        let allow_headers = allow_headers_value(request.requested_header_lines());
        Self::with_allow_headers(policy, index, request, allow_headers)
    }

    /// [`new`](Self::new), with `Access-Control-Allow-Headers` from `cache`.
    pub(crate) fn cached(
        policy: Arc<Compiled>,
        index: usize,
        request: &CorsRequest<'_>,
        cache: &mut AllowHeadersCache,
    ) -> Self {
        let allow_headers = cache.value(request.requested_header_lines());
        Self::with_allow_headers(policy, index, request, allow_headers)
    }

    fn with_allow_headers(
        policy: Arc<Compiled>,
        index: usize,
        request: &CorsRequest<'_>,
        allow_headers: Option<HeaderValue>,
    ) -> Self {
        let origin = if policy.rule(index).any_origin {
            WILDCARD.clone()
        } else {
            request.origin().clone()
        };
        Self {
            allow_headers,
            policy,
            index,
            origin,
        }
    }

    fn rule(&self) -> &CompiledRule {
        self.policy.rule(self.index)
    }

    /// The index (from 0, in document order) of the matched rule.
    #[must_use]
    pub fn rule_index(&self) -> usize {
        self.index
    }

    /// The matched rule's `ID`, if it has one.
    #[must_use]
    pub fn rule_id(&self) -> Option<&str> {
        self.policy.rule_id(self.index)
    }

    /// `Access-Control-Allow-Origin`: `*` when the rule lists the origin `*`,
    /// else the request's `Origin`, byte for byte.
    pub fn allow_origin(&self) -> &HeaderValue {
        &self.origin
    }

    /// `Access-Control-Allow-Credentials: true`, sent only when the allowed
    /// origin is not `*`.
    #[must_use]
    pub fn allow_credentials(&self) -> Option<&HeaderValue> {
        (!self.rule().any_origin).then_some(&TRUE)
    }

    /// `Access-Control-Allow-Methods`: all the rule's methods, in document
    /// order, joined by `", "`.
    pub fn allow_methods(&self) -> &HeaderValue {
        self.policy.value(self.rule().answer.allow_methods)
    }

    /// `Access-Control-Allow-Headers`: the requested header names, lower-cased,
    /// joined by `", "`; only when the request listed some.
    #[must_use]
    pub fn allow_headers(&self) -> Option<&HeaderValue> {
        self.allow_headers.as_ref()
    }

    /// `Access-Control-Expose-Headers`: the rule's `ExposeHeader`s as written,
    /// joined by `", "`; only when the rule has some.
    #[must_use]
    pub fn expose_headers(&self) -> Option<&HeaderValue> {
        self.rule()
            .answer
            .expose_headers
            .map(|index| self.policy.value(index))
    }

    /// `Access-Control-Max-Age`: the rule's `MaxAgeSeconds`, when set.
    #[must_use]
    pub fn max_age(&self) -> Option<&HeaderValue> {
        self.rule()
            .answer
            .max_age
            .map(|index| self.policy.value(index))
    }

    /// Writes the CORS headers of this match into `headers`, replacing any
    /// the response already had. `Vary` is left to the caller.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue, Method};
    /// use tower_s3_cors::Policy;
    /// use tower_s3_cors::policy::CorsRequest;
    ///
    /// let policy = Policy::from_document(
    ///     r#"[{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET"]}]"#,
    /// )?;
    /// let mut request = HeaderMap::new();
    /// request.insert("origin", HeaderValue::from_static("https://app.example.com"));
    /// let allowed = policy.evaluate(&CorsRequest::new(&Method::GET, &request).unwrap()).unwrap();
    ///
    /// let mut response = HeaderMap::new();
    /// allowed.write_headers(&mut response);
    /// assert_eq!(response["access-control-allow-origin"], "https://app.example.com");
    /// assert_eq!(response["access-control-allow-credentials"], "true");
    /// assert_eq!(response["access-control-allow-methods"], "GET");
    /// assert!(response.get("access-control-max-age").is_none());
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    pub fn write_headers(self, headers: &mut HeaderMap) {
        self.write_headers_reserving(headers, 0);
    }

    /// [`write_headers`](Self::write_headers), reserving room for `extra`
    /// more headers the caller adds next (`Vary`, `Content-Length`), so the
    /// map grows at most once, and not at all when it has room.
    pub(crate) fn write_headers_reserving(self, headers: &mut HeaderMap, extra: usize) {
        let Self {
            policy,
            index,
            origin,
            allow_headers,
        } = self;
        let rule = policy.rule(index);
        let answer = rule.answer;
        let count = 2
            + usize::from(!rule.any_origin)
            + usize::from(allow_headers.is_some())
            + usize::from(answer.expose_headers.is_some())
            + usize::from(answer.max_age.is_some());
        headers.reserve(count + extra);
        if !rule.any_origin {
            headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE.clone());
        }
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            policy.value(answer.allow_methods).clone(),
        );
        if let Some(value) = allow_headers {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
        if let Some(value) = answer.expose_headers {
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, policy.value(value).clone());
        }
        if let Some(value) = answer.max_age {
            headers.insert(ACCESS_CONTROL_MAX_AGE, policy.value(value).clone());
        }
    }
}

impl fmt::Debug for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Allowed")
            .field("rule_index", &self.index)
            .field("rule_id", &self.rule_id())
            .field("allow_origin", &self.origin)
            .field("allow_headers", &self.allow_headers)
            .finish_non_exhaustive()
    }
}
