//! S3's `PutBucketCors` validation rules.

use http::HeaderValue;

use super::{ConfigError, ConfigErrorKind, CorsConfiguration, CorsRule};
use crate::xml_text::non_xml_char;

/// The most rules S3 accepts in one configuration.
pub const MAX_RULES: usize = 100;
/// The longest `ID` S3 accepts, in characters.
pub const MAX_ID_CHARS: usize = 255;
/// The largest document S3 accepts, in bytes (64 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// The largest `MaxAgeSeconds` S3 accepts: its schema types the member
/// `xs:int`, so 2147483647 (`i32::MAX`). Larger values are
/// [`InvalidMaxAge`](super::ConfigErrorKind::InvalidMaxAge), `MalformedXML`.
// `i32::MAX` is positive: the cast keeps its value.
#[allow(clippy::cast_sign_loss)]
pub const MAX_AGE_SECONDS_LIMIT: u32 = i32::MAX as u32;

/// The five methods S3 accepts in `AllowedMethod`.
pub(crate) const S3_METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

/// How strictly a configuration is validated.
///
/// The default is S3's validation, byte for byte. Ordinary web applications
/// that also need `PATCH` or their own methods opt in with
/// [`allow_extended_methods`](Self::allow_extended_methods).
///
/// ```
/// use tower_s3_cors::config::{CorsConfiguration, CorsRule, Validation};
///
/// let config = CorsConfiguration::new()
///     .rule(CorsRule::new().allowed_origin("*").allowed_method("PATCH"));
/// assert!(config.validate().is_err());
/// assert!(config.validate_with(Validation::s3().allow_extended_methods()).is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Validation {
    extended_methods: bool,
}

impl Validation {
    /// S3's validation: `AllowedMethod` is one of `GET PUT HEAD POST DELETE`.
    #[must_use]
    pub const fn s3() -> Self {
        Self {
            extended_methods: false,
        }
    }

    /// Also accepts any valid HTTP method token (`PATCH`, `PROPFIND`, …) in
    /// `AllowedMethod`, and in a preflight's `Access-Control-Request-Method`.
    /// Methods are still compared byte for byte.
    #[must_use]
    pub const fn allow_extended_methods(mut self) -> Self {
        self.extended_methods = true;
        self
    }

    /// Whether methods beyond S3's five are accepted.
    #[must_use]
    pub const fn extended_methods(&self) -> bool {
        self.extended_methods
    }

    /// Whether `method` is acceptable as an `AllowedMethod` (and as a
    /// preflight's requested method) under this validation.
    pub(crate) fn accepts_method(&self, method: &[u8]) -> bool {
        if S3_METHODS.iter().any(|m| m.as_bytes() == method) {
            return true;
        }
        self.extended_methods && is_token(method)
    }
}

/// An RFC 9110 `token`: one or more `tchar`s.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl CorsConfiguration {
    /// Checks the configuration as S3's `PutBucketCors` does.
    ///
    /// Errors come in S3's order: the document's shape first (`MalformedXML`:
    /// no rule, a rule without an origin or a method, a `MaxAgeSeconds`
    /// over 2147483647, a value holding a character XML 1.0 cannot carry),
    /// then the number of rules, then each rule in order (its `ID`,
    /// methods, origins, allowed headers, expose headers).
    ///
    /// A configuration read from a document passed the shape checks when it
    /// was read; one built in code meets them here.
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`ConfigError`] that names the rule and
    /// the field.
    ///
    /// ```
    /// use tower_s3_cors::config::{ConfigErrorKind, CorsConfiguration};
    ///
    /// let err = CorsConfiguration::new().validate().unwrap_err();
    /// assert_eq!(err.kind(), ConfigErrorKind::NoRules);
    /// assert_eq!(err.s3_code(), "MalformedXML");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_with(Validation::s3())
    }

    /// Checks the configuration with the given [`Validation`].
    ///
    /// # Errors
    ///
    /// As for [`validate`](Self::validate).
    pub fn validate_with(&self, validation: Validation) -> Result<(), ConfigError> {
        self.validated(validation).map(drop)
    }

    /// Validates, and returns what validation proved about each rule: the
    /// header values of its answers, which can then be built without a
    /// second, fallible step.
    pub(crate) fn validated(&self, validation: Validation) -> Result<Vec<RuleValues>, ConfigError> {
        if self.rules.is_empty() {
            return Err(ConfigError::new(ConfigErrorKind::NoRules));
        }
        for (index, rule) in self.rules.iter().enumerate() {
            check_shape(index, rule)?;
        }
        if self.rules.len() > MAX_RULES {
            return Err(ConfigError::new(ConfigErrorKind::TooManyRules));
        }
        self.rules
            .iter()
            .enumerate()
            .map(|(index, rule)| check_rule(index, rule, validation))
            .collect()
    }
}

/// The header values of a validated rule's answers.
#[derive(Debug)]
pub(crate) struct RuleValues {
    /// `Access-Control-Allow-Methods`: the methods, in order, joined by `", "`.
    pub(crate) allow_methods: HeaderValue,
    /// `Access-Control-Expose-Headers`, when the rule has `ExposeHeader`s.
    pub(crate) expose_headers: Option<HeaderValue>,
}

fn check_shape(index: usize, rule: &CorsRule) -> Result<(), ConfigError> {
    let fail = |kind, field| {
        Err(ConfigError::new(kind)
            .at_rule(index, rule.id.as_deref())
            .with_field(field))
    };
    if rule.allowed_origins.is_empty() {
        return fail(ConfigErrorKind::MissingAllowedOrigin, "AllowedOrigin");
    }
    if rule.allowed_methods.is_empty() {
        return fail(ConfigErrorKind::MissingAllowedMethod, "AllowedMethod");
    }
    if let Some(seconds) = rule.max_age_seconds {
        if seconds > MAX_AGE_SECONDS_LIMIT {
            return Err(max_age_error(&seconds.to_string()).at_rule(index, rule.id.as_deref()));
        }
    }
    check_characters(rule).map_err(|e| e.at_rule(index, rule.id.as_deref()))
}

/// [`InvalidMaxAge`](ConfigErrorKind::InvalidMaxAge) for `value`.
pub(super) fn max_age_error(value: &str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidMaxAge)
        .with_field("MaxAgeSeconds")
        .with_value(value)
}

/// Checks that every value of `rule` can be written in an XML 1.0 document
/// ([`InvalidCharacter`](ConfigErrorKind::InvalidCharacter) otherwise).
pub(super) fn check_characters(rule: &CorsRule) -> Result<(), ConfigError> {
    let members = [
        ("AllowedOrigin", &rule.allowed_origins),
        ("AllowedMethod", &rule.allowed_methods),
        ("AllowedHeader", &rule.allowed_headers),
        ("ExposeHeader", &rule.expose_headers),
    ];
    let values = rule.id.iter().map(|id| ("ID", id)).chain(
        members
            .into_iter()
            .flat_map(|(field, values)| values.iter().map(move |value| (field, value))),
    );
    for (field, value) in values {
        check_value_characters(field, value)?;
    }
    Ok(())
}

/// [`check_characters`] for one value of `field`.
pub(super) fn check_value_characters(field: &'static str, value: &str) -> Result<(), ConfigError> {
    match non_xml_char(value) {
        None => Ok(()),
        Some(c) => Err(ConfigError::new(ConfigErrorKind::InvalidCharacter)
            .with_field(field)
            .with_value(value)
            .with_detail(format!("U+{:04X}", u32::from(c)))),
    }
}

fn check_rule(
    index: usize,
    rule: &CorsRule,
    validation: Validation,
) -> Result<RuleValues, ConfigError> {
    let fail = |kind, field, value: &str| {
        Err(ConfigError::new(kind)
            .at_rule(index, rule.id.as_deref())
            .with_field(field)
            .with_value(value))
    };
    if let Some(id) = &rule.id {
        if id.chars().count() > MAX_ID_CHARS {
            return fail(ConfigErrorKind::IdTooLong, "ID", id);
        }
    }
    if let Some(method) = rule
        .allowed_methods
        .iter()
        .find(|m| !validation.accepts_method(m.as_bytes()))
    {
        return fail(ConfigErrorKind::UnsupportedMethod, "AllowedMethod", method);
    }
    if let Some(origin) = rule.allowed_origins.iter().find(|o| wildcards(o) > 1) {
        return fail(ConfigErrorKind::OriginWildcards, "AllowedOrigin", origin);
    }
    if let Some(header) = rule.allowed_headers.iter().find(|h| wildcards(h) > 1) {
        return fail(ConfigErrorKind::HeaderWildcards, "AllowedHeader", header);
    }
    for header in &rule.expose_headers {
        if wildcards(header) > 0 {
            return fail(
                ConfigErrorKind::ExposeHeaderWildcard,
                "ExposeHeader",
                header,
            );
        }
        if HeaderValue::from_str(header).is_err() {
            return fail(ConfigErrorKind::InvalidExposeHeader, "ExposeHeader", header);
        }
    }
    // Every method is an RFC 9110 token and every exposed header a valid
    // header value, checked above; `", "` joins them into a valid value.
    let join = |list: &[String]| {
        HeaderValue::from_str(&list.join(", "))
            .expect("validated values joined by \", \" form a header value")
    };
    Ok(RuleValues {
        allow_methods: join(&rule.allowed_methods),
        expose_headers: (!rule.expose_headers.is_empty()).then(|| join(&rule.expose_headers)),
    })
}

fn wildcards(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'*').count()
}
