//! The CORS configuration document: the data model, S3's XML and JSON forms,
//! and S3's validation rules.
//!
//! This layer knows nothing of tower or of requests. Reading a document
//! ([`CorsConfiguration::from_xml`], [`from_json`](CorsConfiguration::from_json),
//! [`from_document`](CorsConfiguration::from_document)) checks its *form*:
//! well-formed, the right elements or keys, `MaxAgeSeconds` an integer.
//! [`CorsConfiguration::validate`] then checks S3's *rules* (methods,
//! wildcards, limits). [`Policy::compile`](crate::Policy::compile) and every
//! `store_*` method do both.
//!
//! ```
//! use tower_s3_cors::config::CorsConfiguration;
//!
//! let xml = r#"<CORSConfiguration>
//!   <CORSRule>
//!     <AllowedOrigin>https://app.example.com</AllowedOrigin>
//!     <AllowedMethod>GET</AllowedMethod>
//!     <AllowedMethod>PUT</AllowedMethod>
//!     <AllowedHeader>*</AllowedHeader>
//!     <ExposeHeader>ETag</ExposeHeader>
//!     <MaxAgeSeconds>3000</MaxAgeSeconds>
//!   </CORSRule>
//! </CORSConfiguration>"#;
//!
//! let config = CorsConfiguration::from_xml(xml)?;
//! config.validate()?;
//! assert_eq!(config.rules[0].allowed_methods, ["GET", "PUT"]);
//!
//! // The same document in the AWS CLI's JSON shape, and back.
//! let json = config.to_json();
//! assert!(json.contains(r#""CORSRules""#));
//! assert_eq!(CorsConfiguration::from_json(&json)?, config);
//! # Ok::<_, tower_s3_cors::ConfigError>(())
//! ```

mod error;
#[cfg(feature = "json")]
mod json;
mod model;
mod validate;
#[cfg(feature = "xml")]
mod xml;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, ConfigErrorKind};
pub use model::{CorsConfiguration, CorsRule};
pub use validate::{
    MAX_AGE_SECONDS_LIMIT, MAX_DOCUMENT_BYTES, MAX_ID_CHARS, MAX_RULES, Validation,
};

/// The two document formats S3 users write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum DocumentFormat {
    /// S3's XML `CORSConfiguration` (the `PutBucketCors` body).
    Xml,
    /// JSON: `{"CORSRules": [...]}` (AWS CLI/SDK) or a bare array of rules
    /// (S3 console).
    Json,
}

impl DocumentFormat {
    /// Guesses the format from the first character that is not white space
    /// (or a byte-order mark): `<` is XML, `{` or `[` is JSON.
    pub(crate) fn detect(doc: &str) -> Option<Self> {
        match doc
            .trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
            .as_bytes()
            .first()
        {
            Some(b'<') => Some(Self::Xml),
            Some(b'{' | b'[') => Some(Self::Json),
            _ => None,
        }
    }
}

fn check_size(doc: &str) -> Result<(), ConfigError> {
    if doc.len() > MAX_DOCUMENT_BYTES {
        return Err(ConfigError::new(ConfigErrorKind::DocumentTooLarge)
            .with_detail(format!("{} bytes", doc.len())));
    }
    Ok(())
}

/// The most JSON text [`CorsConfiguration::from_json`] reads: 1 MiB, a
/// bound on the work, not S3's limit (which is on the XML, measured after).
#[cfg(feature = "json")]
const MAX_JSON_TEXT_BYTES: usize = 1024 * 1024;

/// Reads JSON as S3 would receive it: the document's size is that of its
/// XML, since the AWS CLI and SDKs send S3 the XML of a JSON document.
/// (Without the `xml` feature, the text's own size is measured.)
#[cfg(feature = "json")]
fn parse_json(doc: &str) -> Result<CorsConfiguration, ConfigError> {
    #[cfg(feature = "xml")]
    {
        if doc.len() > MAX_JSON_TEXT_BYTES {
            return Err(ConfigError::new(ConfigErrorKind::DocumentTooLarge)
                .with_detail(format!("{} bytes of JSON", doc.len())));
        }
        let config = json::parse(doc)?;
        let xml = config.to_xml().len();
        if xml > MAX_DOCUMENT_BYTES {
            return Err(ConfigError::new(ConfigErrorKind::DocumentTooLarge)
                .with_detail(format!("{xml} bytes as S3's XML")));
        }
        Ok(config)
    }
    #[cfg(not(feature = "xml"))]
    {
        check_size(doc)?;
        json::parse(doc)
    }
}

impl CorsConfiguration {
    /// Reads S3's XML `CORSConfiguration` document.
    ///
    /// The S3 namespace `http://s3.amazonaws.com/doc/2006-03-01/` may be
    /// present or absent; elements inside a rule may come in any order.
    /// This checks the document's form only; see [`validate`](Self::validate).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] of kind [`DocumentTooLarge`] for a document over
    /// 64 KiB (checked before parsing), [`Malformed`] for XML that is not
    /// well-formed, another root element or namespace, an unknown element or
    /// a DOCTYPE, [`InvalidMaxAge`] for a `MaxAgeSeconds` that is not an
    /// integer from 0 to 2147483647 or that appears twice in a rule, and
    /// [`InvalidCharacter`] for a value holding a character XML 1.0 cannot
    /// carry (`&#1;`, or the raw control character).
    ///
    /// [`DocumentTooLarge`]: ConfigErrorKind::DocumentTooLarge
    /// [`Malformed`]: ConfigErrorKind::Malformed
    /// [`InvalidMaxAge`]: ConfigErrorKind::InvalidMaxAge
    /// [`InvalidCharacter`]: ConfigErrorKind::InvalidCharacter
    ///
    /// ```
    /// use tower_s3_cors::config::{ConfigErrorKind, CorsConfiguration};
    ///
    /// let err = CorsConfiguration::from_xml("<CORSConfiguration><Rule/></CORSConfiguration>")
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ConfigErrorKind::Malformed);
    /// assert_eq!(err.s3_code(), "MalformedXML");
    /// ```
    #[cfg(feature = "xml")]
    pub fn from_xml(doc: &str) -> Result<Self, ConfigError> {
        check_size(doc)?;
        xml::parse(doc)
    }

    /// Reads a JSON document, in either shape: `{"CORSRules": [...]}` (AWS
    /// CLI/SDK) or a bare array of rules (S3 console). Keys are those of the
    /// S3 API (`AllowedOrigins`, `AllowedMethods`, `AllowedHeaders`,
    /// `ExposeHeaders`, `MaxAgeSeconds`, `ID`); an empty array means "none".
    ///
    /// # Errors
    ///
    /// As for [`from_xml`](Self::from_xml): an unknown key, a value of the
    /// wrong type or invalid JSON is [`Malformed`](ConfigErrorKind::Malformed);
    /// a string holding a character XML 1.0 cannot carry (`"\u0001"`) is
    /// [`InvalidCharacter`](ConfigErrorKind::InvalidCharacter), since
    /// `GetBucketCors` could not send it back.
    ///
    /// S3's 64 KiB limit is on the XML it receives, and the AWS CLI and SDKs
    /// send the XML of a JSON document: a document whose
    /// [`to_xml`](Self::to_xml) is over 64 KiB is
    /// [`DocumentTooLarge`](ConfigErrorKind::DocumentTooLarge), whatever the
    /// size of its JSON text (JSON is usually the smaller; text over 1 MiB
    /// is not read). Without the `xml` feature the JSON text is measured.
    ///
    /// ```
    /// use tower_s3_cors::config::CorsConfiguration;
    ///
    /// let console = CorsConfiguration::from_json(
    ///     r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": []}]"#,
    /// )?;
    /// let cli = CorsConfiguration::from_json(
    ///     r#"{"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}"#,
    /// )?;
    /// assert_eq!(console, cli);
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    #[cfg(feature = "json")]
    pub fn from_json(doc: &str) -> Result<Self, ConfigError> {
        parse_json(doc)
    }

    /// Reads a document in either format, told apart by its first character
    /// that is not white space (or a byte-order mark): `<` is XML, `{` or
    /// `[` is JSON.
    ///
    /// # Errors
    ///
    /// As for [`from_xml`](Self::from_xml) and [`from_json`](Self::from_json)
    /// (S3's 64 KiB limit on the XML text, or on the XML of the JSON);
    /// [`Malformed`](ConfigErrorKind::Malformed) when the format cannot be
    /// told, or its feature is disabled.
    ///
    /// ```
    /// use tower_s3_cors::config::CorsConfiguration;
    ///
    /// let a = CorsConfiguration::from_document(
    ///     "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
    ///      <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
    /// )?;
    /// let b = CorsConfiguration::from_document(
    ///     r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#,
    /// )?;
    /// assert_eq!(a, b);
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    pub fn from_document(doc: &str) -> Result<Self, ConfigError> {
        #[cfg(feature = "json")]
        if DocumentFormat::detect(doc) == Some(DocumentFormat::Json) {
            return parse_json(doc);
        }
        check_size(doc)?;
        Self::from_document_any_size(doc)
    }

    /// Reads a document in either format, as
    /// [`from_document`](Self::from_document) does, without its 64 KiB limit
    /// on the text itself.
    ///
    /// S3's limit applies to the XML that `PutBucketCors` receives. The text
    /// of a JSON document, or of XML indented and commented by hand, can be
    /// much larger or much smaller than that XML: a tool that reads the files
    /// people write measures [`to_xml`](Self::to_xml) instead. Reading is
    /// linear in the text; the caller bounds how much text it reads.
    ///
    /// # Errors
    ///
    /// As for [`from_document`](Self::from_document), except
    /// [`DocumentTooLarge`](ConfigErrorKind::DocumentTooLarge).
    ///
    /// ```
    /// use tower_s3_cors::config::{CorsConfiguration, MAX_DOCUMENT_BYTES};
    ///
    /// // 70 KB of indentation around one small rule.
    /// let pretty = format!(
    ///     "<CORSConfiguration>{}<CORSRule><AllowedOrigin>*</AllowedOrigin>\
    ///      <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
    ///     " ".repeat(70_000)
    /// );
    /// assert!(CorsConfiguration::from_document(&pretty).is_err());
    /// let config = CorsConfiguration::from_document_any_size(&pretty)?;
    /// assert!(config.to_xml().len() < MAX_DOCUMENT_BYTES);
    /// # Ok::<_, tower_s3_cors::ConfigError>(())
    /// ```
    pub fn from_document_any_size(doc: &str) -> Result<Self, ConfigError> {
        match DocumentFormat::detect(doc) {
            #[cfg(feature = "xml")]
            Some(DocumentFormat::Xml) => xml::parse(doc),
            #[cfg(feature = "json")]
            Some(DocumentFormat::Json) => json::parse(doc),
            #[allow(unreachable_patterns)]
            Some(format) => Err(ConfigError::malformed(format!(
                "support for {format:?} documents is not compiled in (enable the crate feature)"
            ))),
            None => Err(ConfigError::malformed(
                "the document is neither XML (starts with '<') nor JSON (starts with '{' or '[')",
            )),
        }
    }

    /// Writes the configuration as `GetBucketCors` returns it: an XML
    /// declaration, the S3 namespace, and only the members that are set, in
    /// S3's element order (`ID`, `AllowedHeader`, `AllowedMethod`,
    /// `AllowedOrigin`, `ExposeHeader`, `MaxAgeSeconds`). Values and their
    /// order are kept.
    ///
    /// ```
    /// use tower_s3_cors::config::{CorsConfiguration, CorsRule};
    ///
    /// let config = CorsConfiguration::new()
    ///     .rule(CorsRule::new().allowed_origin("*").allowed_method("GET"));
    /// assert_eq!(
    ///     config.to_xml(),
    ///     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
    ///      <CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
    ///      <CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule>\
    ///      </CORSConfiguration>"
    /// );
    /// ```
    #[cfg(feature = "xml")]
    #[must_use]
    pub fn to_xml(&self) -> String {
        xml::write(self)
    }

    /// Writes the configuration in the AWS CLI/SDK's JSON shape,
    /// `{"CORSRules": [...]}`, pretty-printed, with only the members that are
    /// set.
    ///
    /// ```
    /// use tower_s3_cors::config::{CorsConfiguration, CorsRule};
    ///
    /// let config = CorsConfiguration::new()
    ///     .rule(CorsRule::new().allowed_origin("*").allowed_method("GET").max_age_seconds(0));
    /// let json: serde_json::Value = serde_json::from_str(&config.to_json()).unwrap();
    /// assert_eq!(
    ///     json,
    ///     serde_json::json!({"CORSRules": [
    ///         {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAgeSeconds": 0}
    ///     ]})
    /// );
    /// ```
    #[cfg(feature = "json")]
    #[must_use]
    pub fn to_json(&self) -> String {
        json::write(self)
    }
}
