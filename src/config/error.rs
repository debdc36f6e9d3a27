//! [`ConfigError`]: why a CORS document or configuration was refused.

use std::fmt;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response};

use crate::s3::S3Error;

/// The S3 message that goes with every `MalformedXML` error.
const MALFORMED_XML_MESSAGE: &str =
    "The XML you provided was not well-formed or did not validate against our published schema";

/// Why a CORS configuration was refused.
///
/// Every refusal S3's `PutBucketCors` knows has a kind here, with S3's error
/// code ([`s3_code`](Self::s3_code)) and byte-exact message
/// ([`s3_message`](Self::s3_message)). [`Display`](fmt::Display) gives a short,
/// human-oriented text that names the rule, the field and the value at fault.
///
/// A `ConfigError` is never produced by a request: only documents and
/// configurations are validated.
///
/// # Example
///
/// ```
/// use tower_s3_cors::config::{ConfigErrorKind, CorsConfiguration};
///
/// let err = CorsConfiguration::from_json(
///     r#"{"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}"#,
/// )
/// .and_then(|config| config.validate())
/// .unwrap_err();
///
/// assert_eq!(err.kind(), ConfigErrorKind::UnsupportedMethod);
/// assert_eq!(err.s3_code(), "InvalidRequest");
/// assert_eq!(
///     err.s3_message(),
///     "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"
/// );
/// assert_eq!(err.rule_index(), Some(0));
/// assert_eq!(err.field(), Some("AllowedMethod"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    rule: Option<usize>,
    rule_id: Option<String>,
    field: Option<&'static str>,
    value: Option<String>,
    detail: Option<String>,
}

/// The kinds of [`ConfigError`].
///
/// Each kind maps to one S3 error code; see [`ConfigErrorKind::s3_code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The document is not well-formed XML or JSON, or does not have the
    /// shape of a CORS configuration (unknown element or key, wrong
    /// namespace, wrong type). S3 code `MalformedXML`.
    Malformed,
    /// The document is larger than 64 KiB. S3 code `MalformedXML`.
    DocumentTooLarge,
    /// The configuration has no `CORSRule`. S3 code `MalformedXML`.
    NoRules,
    /// A rule has no `AllowedOrigin`. S3 code `MalformedXML`.
    MissingAllowedOrigin,
    /// A rule has no `AllowedMethod`. S3 code `MalformedXML`.
    MissingAllowedMethod,
    /// `MaxAgeSeconds` is not an integer from 0 to 2147483647 (S3's schema
    /// types it `xs:int`; see [`MAX_AGE_SECONDS_LIMIT`]), or appears twice in
    /// one rule. S3 code `MalformedXML`.
    ///
    /// [`MAX_AGE_SECONDS_LIMIT`]: crate::config::MAX_AGE_SECONDS_LIMIT
    InvalidMaxAge,
    /// A value (`ID`, `AllowedOrigin`, `AllowedMethod`, `AllowedHeader`,
    /// `ExposeHeader`) holds a character that an XML 1.0 document cannot
    /// carry, raw or escaped: a control character U+0000 to U+001F other
    /// than tab, line feed and carriage return, or U+FFFE, U+FFFF. S3 code
    /// `MalformedXML`: S3 reads only XML, and a document holding such a
    /// character is not well-formed XML, so S3 answers it as it answers any
    /// document that is not; and `GetBucketCors` could not send such a
    /// value back in a document any parser reads.
    InvalidCharacter,
    /// An `AllowedMethod` is not one of `GET`, `PUT`, `HEAD`, `POST`, `DELETE`
    /// (or, with [`Validation::allow_extended_methods`], not a valid HTTP
    /// method token). S3 code `InvalidRequest`.
    ///
    /// [`Validation::allow_extended_methods`]: crate::config::Validation::allow_extended_methods
    UnsupportedMethod,
    /// An `AllowedOrigin` holds more than one `*`. S3 code `InvalidRequest`.
    OriginWildcards,
    /// An `AllowedHeader` holds more than one `*`. S3 code `InvalidRequest`.
    HeaderWildcards,
    /// An `ExposeHeader` holds a `*`. S3 code `InvalidRequest`.
    ExposeHeaderWildcard,
    /// An `ExposeHeader` holds a character that cannot be sent in an HTTP
    /// header (a control character). S3 code `InvalidRequest`.
    InvalidExposeHeader,
    /// More than 100 rules. S3 code `InvalidRequest`.
    TooManyRules,
    /// An `ID` longer than 255 characters. S3 code `InvalidArgument`.
    IdTooLong,
}

impl ConfigErrorKind {
    /// The S3 error code of this kind (`MalformedXML`, `InvalidRequest` or
    /// `InvalidArgument`).
    ///
    /// ```
    /// use tower_s3_cors::config::ConfigErrorKind;
    /// assert_eq!(ConfigErrorKind::TooManyRules.s3_code(), "InvalidRequest");
    /// assert_eq!(ConfigErrorKind::NoRules.s3_code(), "MalformedXML");
    /// ```
    #[must_use]
    pub const fn s3_code(self) -> &'static str {
        match self {
            Self::Malformed
            | Self::DocumentTooLarge
            | Self::NoRules
            | Self::MissingAllowedOrigin
            | Self::MissingAllowedMethod
            | Self::InvalidMaxAge
            | Self::InvalidCharacter => "MalformedXML",
            Self::UnsupportedMethod
            | Self::OriginWildcards
            | Self::HeaderWildcards
            | Self::ExposeHeaderWildcard
            | Self::InvalidExposeHeader
            | Self::TooManyRules => "InvalidRequest",
            Self::IdTooLong => "InvalidArgument",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Malformed => "malformed document",
            Self::DocumentTooLarge => "document larger than 64 KiB",
            Self::NoRules => "no CORSRule",
            Self::MissingAllowedOrigin => "no AllowedOrigin",
            Self::MissingAllowedMethod => "no AllowedMethod",
            Self::InvalidMaxAge => "MaxAgeSeconds is not an integer from 0 to 2147483647",
            Self::InvalidCharacter => "holds a character XML 1.0 cannot carry",
            Self::UnsupportedMethod => "unsupported AllowedMethod",
            Self::OriginWildcards => "AllowedOrigin has more than one '*'",
            Self::HeaderWildcards => "AllowedHeader has more than one '*'",
            Self::ExposeHeaderWildcard => "ExposeHeader may not contain '*'",
            Self::InvalidExposeHeader => "ExposeHeader is not a valid header value",
            Self::TooManyRules => "more than 100 rules",
            Self::IdTooLong => "ID longer than 255 characters",
        }
    }
}

impl ConfigError {
    /// An error of `kind`, for code that reads documents on its own (a tool
    /// that finds a file is not UTF-8, an adapter from another crate's
    /// model) and wants S3's answer for it.
    ///
    /// ```
    /// use tower_s3_cors::ConfigError;
    /// use tower_s3_cors::config::ConfigErrorKind;
    ///
    /// let err = ConfigError::new(ConfigErrorKind::Malformed).with_detail("not UTF-8");
    /// assert_eq!(err.s3_code(), "MalformedXML");
    /// assert_eq!(err.to_string(), "malformed document: not UTF-8");
    /// ```
    #[must_use]
    pub fn new(kind: ConfigErrorKind) -> Self {
        Self {
            kind,
            rule: None,
            rule_id: None,
            field: None,
            value: None,
            detail: None,
        }
    }

    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ConfigErrorKind::Malformed).with_detail(detail)
    }

    pub(crate) fn at_rule(mut self, index: usize, id: Option<&str>) -> Self {
        self.rule = Some(index);
        self.rule_id = id.map(str::to_owned);
        self
    }

    pub(crate) fn with_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    pub(crate) fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Adds a detail for people (what was wrong, where), shown by
    /// [`Display`](fmt::Display) after the kind's description; S3's message
    /// does not change.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The index (from 0, in document order) of the rule at fault, if one is.
    #[must_use]
    pub fn rule_index(&self) -> Option<usize> {
        self.rule
    }

    /// The `ID` of the rule at fault, if the rule has one.
    #[must_use]
    pub fn rule_id(&self) -> Option<&str> {
        self.rule_id.as_deref()
    }

    /// The document member at fault (`"AllowedMethod"`, `"MaxAgeSeconds"`, …),
    /// named as in S3's XML.
    #[must_use]
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }

    /// The offending value, as written in the document.
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// The S3 error code (`MalformedXML`, `InvalidRequest`, `InvalidArgument`).
    #[must_use]
    pub fn s3_code(&self) -> &'static str {
        self.kind.s3_code()
    }

    /// The HTTP status S3 answers this error with: always `400 Bad Request`.
    #[must_use]
    pub fn status(&self) -> http::StatusCode {
        http::StatusCode::BAD_REQUEST
    }

    /// The message S3 sends with this error, byte for byte.
    ///
    /// ```
    /// use tower_s3_cors::config::CorsConfiguration;
    ///
    /// let err = CorsConfiguration::from_json(
    ///     r#"[{"AllowedOrigins": ["http://*.*.example"], "AllowedMethods": ["GET"]}]"#,
    /// )
    /// .and_then(|config| config.validate())
    /// .unwrap_err();
    /// assert_eq!(
    ///     err.s3_message(),
    ///     r#"AllowedOrigin "http://*.*.example" can not have more than one wildcard."#
    /// );
    /// ```
    #[must_use]
    pub fn s3_message(&self) -> String {
        let value = self.value.as_deref().unwrap_or_default();
        match self.kind {
            ConfigErrorKind::Malformed
            | ConfigErrorKind::NoRules
            | ConfigErrorKind::MissingAllowedOrigin
            | ConfigErrorKind::MissingAllowedMethod
            | ConfigErrorKind::InvalidMaxAge
            | ConfigErrorKind::InvalidCharacter => MALFORMED_XML_MESSAGE.to_owned(),
            ConfigErrorKind::DocumentTooLarge => {
                "The CORS XML document is limited to 64 KB in size.".to_owned()
            }
            ConfigErrorKind::UnsupportedMethod => format!(
                "Found unsupported HTTP method in CORS config. Unsupported method is {value}"
            ),
            ConfigErrorKind::OriginWildcards => {
                format!("AllowedOrigin \"{value}\" can not have more than one wildcard.")
            }
            ConfigErrorKind::HeaderWildcards => {
                format!("AllowedHeader \"{value}\" can not have more than one wildcard.")
            }
            ConfigErrorKind::ExposeHeaderWildcard => format!(
                "ExposeHeader \"{value}\" contains wildcard. We currently do not support wildcard for ExposeHeader."
            ),
            ConfigErrorKind::InvalidExposeHeader => {
                format!("ExposeHeader \"{value}\" is not a valid HTTP header value.")
            }
            ConfigErrorKind::TooManyRules => {
                "The number of CORS rules should not exceed allowed limit of 100 rules.".to_owned()
            }
            ConfigErrorKind::IdTooLong => {
                "ID length should not exceed allowed limit of 255".to_owned()
            }
        }
    }
}

impl ConfigError {
    /// S3's answer to a `PutBucketCors` that sent this document: `400 Bad
    /// Request`, `Content-Type: application/xml` and S3's `<Error>` body
    /// with its [code](Self::s3_code) and [message](Self::s3_message)
    /// (without `RequestId` and `HostId`, which only a server knows).
    ///
    /// For handlers of your own that take a document, such as an admin
    /// route: the body is a `String`, so the response is served as it is by
    /// hyper and axum (`http::Response<String>` implements axum's
    /// `IntoResponse`). A handler returning `Result<_, http::Response<String>>`
    /// can use `?` on a `ConfigError`, through the `From` impl below.
    ///
    /// ```
    /// use http::{Response, StatusCode};
    /// use tower_s3_cors::SharedPolicy;
    ///
    /// // In axum: `async fn put_rules(State(cors): State<SharedPolicy>, body: String) -> …`
    /// fn put_rules(cors: &SharedPolicy, body: &str) -> Result<StatusCode, Response<String>> {
    ///     cors.put_document(body)?; // a bad document: S3's 400; the old rules keep serving
    ///     Ok(StatusCode::NO_CONTENT)
    /// }
    ///
    /// let cors = SharedPolicy::empty();
    /// let refused = put_rules(&cors, r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#)
    ///     .unwrap_err();
    /// assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    /// assert_eq!(refused.headers()["content-type"], "application/xml");
    /// assert_eq!(
    ///     refused.body(),
    ///     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidRequest</Code>\
    ///      <Message>Found unsupported HTTP method in CORS config. Unsupported method is PATCH</Message></Error>"
    /// );
    /// ```
    #[must_use]
    pub fn to_response(&self) -> Response<String> {
        let message = self.s3_message();
        let body = S3Error::new(self.status(), self.s3_code(), &message).body_text();
        let mut response = Response::new(body);
        *response.status_mut() = self.status();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        response
    }
}

/// [`ConfigError::to_response`], for `?` in handlers that return
/// `Result<_, http::Response<String>>`.
impl From<ConfigError> for Response<String> {
    fn from(err: ConfigError) -> Self {
        err.to_response()
    }
}

impl fmt::Display for ConfigError {
    /// `CORSRule #2 (ID "uploads"): AllowedMethod "PATCH": unsupported AllowedMethod`
    ///
    /// Rules are counted from 1 here, as people count them; [`rule_index`]
    /// counts from 0.
    ///
    /// [`rule_index`]: ConfigError::rule_index
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(index) = self.rule {
            write!(f, "CORSRule #{}", index + 1)?;
            if let Some(id) = &self.rule_id {
                write!(f, " (ID {id:?})")?;
            }
            f.write_str(": ")?;
        }
        if let Some(field) = self.field {
            f.write_str(field)?;
            if let Some(value) = &self.value {
                write!(f, " {value:?}")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(self.kind.describe())?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ConfigError");
        d.field("kind", &self.kind)
            .field("s3_code", &self.s3_code());
        if let Some(rule) = self.rule {
            d.field("rule_index", &rule);
        }
        if let Some(id) = &self.rule_id {
            d.field("rule_id", id);
        }
        if let Some(field) = self.field {
            d.field("field", &field);
        }
        if let Some(value) = &self.value {
            d.field("value", value);
        }
        if let Some(detail) = &self.detail {
            d.field("detail", detail);
        }
        d.finish()
    }
}

impl std::error::Error for ConfigError {}
