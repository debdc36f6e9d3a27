//! The document model: [`CorsConfiguration`] and [`CorsRule`].

/// A bucket's CORS configuration: an ordered list of [`CorsRule`]s.
///
/// This is the data of S3's `CORSConfiguration` document, as read from XML or
/// JSON, or built in code. It is not checked until it is
/// [validated](Self::validate) or compiled into a [`Policy`](crate::Policy):
/// a `CorsConfiguration` may hold rules S3 would refuse.
///
/// # Example
///
/// ```
/// use tower_s3_cors::config::{CorsConfiguration, CorsRule};
///
/// let config = CorsConfiguration::new()
///     .rule(
///         CorsRule::new()
///             .id("uploads")
///             .allowed_origin("https://app.example.com")
///             .allowed_methods(["GET", "PUT"])
///             .allowed_header("*")
///             .expose_header("ETag")
///             .max_age_seconds(3000),
///     )
///     .rule(CorsRule::new().allowed_origin("*").allowed_method("GET"));
///
/// assert_eq!(config.rules.len(), 2);
/// config.validate()?;
/// # Ok::<_, tower_s3_cors::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CorsConfiguration {
    /// The rules, in document order. The first rule that matches a request
    /// decides it.
    pub rules: Vec<CorsRule>,
}

impl CorsConfiguration {
    /// An empty configuration (no rules: not valid until a rule is added).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a rule.
    #[must_use]
    pub fn rule(mut self, rule: CorsRule) -> Self {
        self.rules.push(rule);
        self
    }
}

impl FromIterator<CorsRule> for CorsConfiguration {
    fn from_iter<I: IntoIterator<Item = CorsRule>>(iter: I) -> Self {
        Self {
            rules: iter.into_iter().collect(),
        }
    }
}

impl From<Vec<CorsRule>> for CorsConfiguration {
    fn from(rules: Vec<CorsRule>) -> Self {
        Self { rules }
    }
}

/// One `CORSRule`: which origins may use which methods with which headers.
///
/// Values keep their case and order, as S3 stores them. An empty list means
/// the member is absent.
///
/// # Example
///
/// ```
/// use tower_s3_cors::config::CorsRule;
///
/// let rule = CorsRule::new()
///     .allowed_origin("http://*.example.com")
///     .allowed_method("GET")
///     .allowed_header("x-amz-*");
/// assert_eq!(rule.allowed_origins, ["http://*.example.com"]);
/// assert_eq!(rule.max_age_seconds, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CorsRule {
    /// `ID`: an optional name for the rule, at most 255 characters.
    pub id: Option<String>,
    /// `AllowedOrigin`: origins allowed to make cross-origin requests. Each
    /// may hold one `*`, which stands for zero or more characters.
    pub allowed_origins: Vec<String>,
    /// `AllowedMethod`: `GET`, `PUT`, `HEAD`, `POST` or `DELETE`.
    pub allowed_methods: Vec<String>,
    /// `AllowedHeader`: header names a preflight may ask for, compared
    /// ASCII-case-insensitively. Each may hold one `*`.
    pub allowed_headers: Vec<String>,
    /// `ExposeHeader`: response headers a browser lets scripts read.
    pub expose_headers: Vec<String>,
    /// `MaxAgeSeconds`: how long a browser may cache a preflight answer.
    pub max_age_seconds: Option<u32>,
}

impl CorsRule {
    /// An empty rule (not valid until it has an origin and a method).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `ID`.
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Appends one `AllowedOrigin`.
    #[must_use]
    pub fn allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Appends several `AllowedOrigin`s.
    #[must_use]
    pub fn allowed_origins<I, T>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.allowed_origins
            .extend(origins.into_iter().map(Into::into));
        self
    }

    /// Appends one `AllowedMethod`.
    #[must_use]
    pub fn allowed_method(mut self, method: impl Into<String>) -> Self {
        self.allowed_methods.push(method.into());
        self
    }

    /// Appends several `AllowedMethod`s.
    #[must_use]
    pub fn allowed_methods<I, T>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.allowed_methods
            .extend(methods.into_iter().map(Into::into));
        self
    }

    /// Appends one `AllowedHeader`.
    #[must_use]
    pub fn allowed_header(mut self, header: impl Into<String>) -> Self {
        self.allowed_headers.push(header.into());
        self
    }

    /// Appends several `AllowedHeader`s.
    #[must_use]
    pub fn allowed_headers<I, T>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.allowed_headers
            .extend(headers.into_iter().map(Into::into));
        self
    }

    /// Appends one `ExposeHeader`.
    #[must_use]
    pub fn expose_header(mut self, header: impl Into<String>) -> Self {
        self.expose_headers.push(header.into());
        self
    }

    /// Appends several `ExposeHeader`s.
    #[must_use]
    pub fn expose_headers<I, T>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.expose_headers
            .extend(headers.into_iter().map(Into::into));
        self
    }

    /// Sets `MaxAgeSeconds`.
    #[must_use]
    pub fn max_age_seconds(mut self, seconds: u32) -> Self {
        self.max_age_seconds = Some(seconds);
        self
    }
}
