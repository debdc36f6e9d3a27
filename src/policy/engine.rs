//! [`Policy`]: a compiled, immutable CORS configuration.

use std::fmt;
use std::sync::Arc;

use super::compiled::Compiled;
use super::decision::Allowed;
use super::explain::{Explanation, Recorder};
use super::refusal::Refusal;
use super::request::CorsRequest;
use crate::config::{ConfigError, CorsConfiguration, Validation};

/// A CORS configuration compiled for evaluation: validated, its patterns
/// split, its answers' header values built, its origins and allowed headers
/// indexed.
///
/// A `Policy` is immutable and a cheap handle: cloning it clones an [`Arc`].
/// Build one per document, then evaluate as many requests as you like.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method};
/// use tower_s3_cors::Policy;
/// use tower_s3_cors::policy::{CorsRequest, Refusal};
///
/// let policy = Policy::from_document(
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
/// assert_eq!(policy.evaluate(&request).unwrap_err(), Refusal::NoRuleMatched);
///
/// headers.insert("access-control-request-headers", HeaderValue::from_static("X-Amz-Date, x-amz-acl"));
/// let request = CorsRequest::new(&Method::OPTIONS, &headers).unwrap();
/// let allowed = policy.evaluate(&request).unwrap();
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

impl Policy {
    /// Validates `config` as S3 does and compiles it.
    ///
    /// ```
    /// use tower_s3_cors::Policy;
    /// use tower_s3_cors::config::{ConfigErrorKind, CorsConfiguration, CorsRule};
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

    /// Validates `config` with `validation` and compiles it. This is the one
    /// place a [`Validation`] other than S3's comes in: to store a document
    /// validated differently, read it with
    /// [`CorsConfiguration::from_document`], compile it here and hand the
    /// policy to [`SharedPolicy::put`](crate::SharedPolicy::put).
    ///
    /// ```
    /// use tower_s3_cors::{Policy, SharedPolicy};
    /// use tower_s3_cors::config::{CorsConfiguration, Validation};
    ///
    /// let document = r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PATCH"]}]"#;
    /// let config = CorsConfiguration::from_document(document)?;
    /// assert!(Policy::compile(&config).is_err(), "S3 knows no PATCH");
    ///
    /// let policy = Policy::compile_with(&config, Validation::s3().allow_extended_methods())?;
    /// let cors = SharedPolicy::empty();
    /// cors.put(policy);
    /// assert!(cors.is_configured());
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
        Compiled::new(config, validation).map(|compiled| Self {
            inner: Arc::new(compiled),
        })
    }

    /// Reads a document in either format (S3's XML or either JSON shape, as
    /// [`CorsConfiguration::from_document`] tells them apart), validates it
    /// as S3 does and compiles it.
    ///
    /// ```
    /// use tower_s3_cors::Policy;
    ///
    /// let xml = Policy::from_document(
    ///     "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
    ///      <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
    /// )?;
    /// let json = Policy::from_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)?;
    /// assert_eq!(xml.configuration(), json.configuration());
    ///
    /// let err = Policy::from_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#)
    ///     .unwrap_err();
    /// assert_eq!(err.s3_code(), "InvalidRequest");
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// See [`CorsConfiguration::from_document`] and
    /// [`CorsConfiguration::validate`].
    pub fn from_document(doc: &str) -> Result<Self, ConfigError> {
        Self::try_from(CorsConfiguration::from_document(doc)?)
    }

    /// The configuration this policy was compiled from (what `GetBucketCors`
    /// returns).
    ///
    /// A policy keeps its configuration's values in one compact buffer, not
    /// as a `CorsConfiguration` (which takes an allocation per value): the
    /// first call rebuilds it, and the policy keeps it from then on.
    ///
    /// To hand the configuration on (a `GetBucketCors` answer) without the
    /// policy keeping it, use [`to_configuration`](Self::to_configuration).
    #[must_use]
    pub fn configuration(&self) -> &CorsConfiguration {
        self.inner.configuration()
    }

    /// The configuration this policy was compiled from, rebuilt for the
    /// caller: unlike [`configuration`](Self::configuration), the policy
    /// does not keep a copy (about 1 KiB for a three-rule document).
    ///
    /// ```
    /// use tower_s3_cors::Policy;
    ///
    /// let document = r#"[{"ID": "public", "AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "MaxAgeSeconds": 600}]"#;
    /// let policy = Policy::from_document(document)?;
    /// let config = policy.to_configuration();
    /// assert_eq!(config.rules[0].id.as_deref(), Some("public"));
    /// assert_eq!(config.rules[0].max_age_seconds, Some(600));
    /// assert_eq!(&config, policy.configuration());
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    #[must_use]
    pub fn to_configuration(&self) -> CorsConfiguration {
        self.inner.rebuild_configuration()
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

    /// Decides a request as S3 does (`docs/s3-behaviour.md`, §1 steps 4 to
    /// 7, §3 and §4): the matched rule with the headers to send, or the
    /// reason S3 refuses. What it gives owns what it holds (the matched rule
    /// is shared, not copied): it can outlive the request and the policy
    /// handle.
    ///
    /// For a preflight, an `Access-Control-Request-Method` that is missing or
    /// not a method S3 knows is refused first. Then the rules are walked in
    /// document order; the first whose origin, method and headers all match
    /// decides. Origins are looked up in an index (exact ones by their text,
    /// `prefix*suffix` ones by the text around the `*`), so a policy of 100
    /// rules is not scanned rule by rule; the order of rules still holds.
    /// Each requested header name is looked up the same way in the rule's
    /// `AllowedHeader`s: its cost does not grow with how many there are.
    ///
    /// A refusal allocates nothing. A match allocates only to build
    /// `Access-Control-Allow-Headers`, when the request lists headers (other
    /// than one line already in lower case and `", "`-separated).
    ///
    /// # Errors
    ///
    /// The [`Refusal`] when no rule matches or the preflight is invalid
    /// (never one of the layer's own: `NoOrigin`, `NoSuchBucket`,
    /// `NotConfigured`, `Unavailable`).
    pub fn evaluate(&self, request: &CorsRequest<'_>) -> Result<Allowed, Refusal> {
        self.first_match(request)
            .map(|index| Allowed::new(Arc::clone(&self.inner), index, request))
    }

    /// The index of the rule that decides `request`, or why none does: the
    /// walk [`evaluate`](Self::evaluate) makes, for callers that own the
    /// policy handle and hand it to [`Allowed::new`] without a clone.
    #[inline]
    pub(crate) fn first_match(&self, request: &CorsRequest<'_>) -> Result<usize, Refusal> {
        self.inner.walk(request, &mut ())
    }

    /// Makes the walk [`evaluate`](Self::evaluate) makes, and reports what
    /// each rule made of the request, in document order, up to the rule
    /// that matched. Rules the origin index skipped are reported as
    /// [`OriginNotAllowed`](crate::policy::RuleVerdict::OriginNotAllowed):
    /// the index found that none of their origins matches.
    ///
    /// The walk is the same code as `evaluate`'s, watched: the two cannot
    /// disagree.
    #[must_use]
    pub fn explain(&self, request: &CorsRequest<'_>) -> Explanation {
        let mut recorder = Recorder::new(&self.inner);
        let outcome = self.inner.walk(request, &mut recorder);
        recorder.finish(request, outcome.err())
    }

    /// The shared part, for [`SharedPolicy`](crate::SharedPolicy) to swap.
    pub(crate) fn into_shared(self) -> Arc<Compiled> {
        self.inner
    }

    /// A handle on a shared part that [`into_shared`](Self::into_shared) gave.
    pub(crate) fn from_shared(inner: Arc<Compiled>) -> Self {
        Self { inner }
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("rules", &self.inner.rules.len())
            .field("validation", &self.inner.validation)
            .field("configuration", &self.inner.rebuild_configuration())
            .finish()
    }
}

impl TryFrom<CorsConfiguration> for Policy {
    type Error = ConfigError;

    /// Validates (as S3 does) and compiles.
    fn try_from(config: CorsConfiguration) -> Result<Self, ConfigError> {
        Self::compile(&config)
    }
}
