//! Conversions between s3s's `CORSConfiguration` DTO and this crate's
//! [`CorsConfiguration`], and from [`ConfigError`] to s3s's [`S3Error`].
//!
//! For s3s servers whose own `put_bucket_cors` / `get_bucket_cors` keep the
//! configuration (the [`CorsS3`](crate::CorsS3) decorator uses them too):
//!
//! ```
//! use s3s::dto::{CORSConfiguration, CORSRule};
//! use tower_s3_cors::config::Validation;
//! use tower_s3_cors_s3s::dto;
//!
//! // What s3s parsed from a PutBucketCors body.
//! let parsed = CORSConfiguration {
//!     cors_rules: vec![CORSRule {
//!         allowed_origins: vec!["https://app.example.com".into()],
//!         allowed_methods: vec!["GET".into(), "PATCH".into()],
//!         ..Default::default()
//!     }],
//! };
//! // S3's validation: PATCH is refused with S3's code and message.
//! let err = dto::validated(&parsed, Validation::s3()).unwrap_err();
//! assert_eq!(err.code().as_str(), "InvalidRequest");
//! assert_eq!(
//!     err.message(),
//!     Some("Found unsupported HTTP method in CORS config. Unsupported method is PATCH")
//! );
//! ```
//!
//! # What S3 checks that a DTO cannot show
//!
//! s3s has parsed the XML before an `S3` implementation sees the DTO, so
//! some of S3's answers depend on s3s, not on this crate:
//!
//! - Unknown elements *inside* a `CORSRule`, a rule without `AllowedOrigin`
//!   or `AllowedMethod`, a document without `CORSRule`, a `MaxAgeSeconds`
//!   that is not an integer: s3s answers `MalformedXML` itself (without S3's
//!   message text).
//! - Unknown elements *between* the rules, and any XML namespace, are
//!   skipped by s3s, where S3 answers `MalformedXML`.
//! - `MaxAgeSeconds` is an `i32` in the DTO, as in S3's schema (`xs:int`):
//!   values from 2³¹ up are refused by s3s's parser as `MalformedXML`, the
//!   code S3 answers, without S3's message text. Negative values reach the
//!   DTO; [`to_configuration`] refuses them as S3 does.
//! - The 64 KiB document limit and `Content-MD5` are properties of the body,
//!   which the DTO no longer has: [`CorsS3`](crate::CorsS3) checks the
//!   `Content-Length` and the presence of a digest header from the request
//!   headers; whether a `Content-MD5` matches the body is not checked (a
//!   SigV4 signature over the payload, `x-amz-content-sha256`, still
//!   protects it).
//!
//! Everything else (methods, wildcards, the number of rules, `ID` length,
//! `ExposeHeader` values) is validated here exactly as S3 does, with S3's
//! codes and messages.

use std::borrow::Cow;

use s3s::dto::{CORSConfiguration, CORSRule};
use s3s::{S3Error, S3ErrorCode};
use tower_s3_cors::config::{ConfigError, CorsConfiguration, CorsRule, Validation};

/// The message S3 sends with `MalformedXML`.
pub(crate) const MALFORMED_XML_MESSAGE: &str =
    "The XML you provided was not well-formed or did not validate against our published schema";

/// This crate's configuration from s3s's DTO, value for value, order kept.
/// Not validated: see [`validated`].
///
/// # Errors
///
/// `MalformedXML` (with S3's message) for a negative `MaxAgeSeconds`, which
/// the DTO can hold and S3 refuses.
pub fn to_configuration(dto: &CORSConfiguration) -> Result<CorsConfiguration, S3Error> {
    dto.cors_rules.iter().map(to_rule).collect()
}

fn to_rule(rule: &CORSRule) -> Result<CorsRule, S3Error> {
    let mut out = CorsRule::new()
        .allowed_origins(&rule.allowed_origins)
        .allowed_methods(&rule.allowed_methods)
        .allowed_headers(rule.allowed_headers.iter().flatten())
        .expose_headers(rule.expose_headers.iter().flatten());
    if let Some(id) = &rule.id {
        out = out.id(id);
    }
    if let Some(seconds) = rule.max_age_seconds {
        let seconds = u32::try_from(seconds)
            .map_err(|_| S3Error::with_message(S3ErrorCode::MalformedXML, MALFORMED_XML_MESSAGE))?;
        out = out.max_age_seconds(seconds);
    }
    Ok(out)
}

/// [`to_configuration`], then S3's validation (or the one given).
///
/// # Errors
///
/// S3's error for the first problem, as [`to_configuration`] and
/// [`s3_error`] give it.
pub fn validated(
    dto: &CORSConfiguration,
    validation: Validation,
) -> Result<CorsConfiguration, S3Error> {
    let config = to_configuration(dto)?;
    config
        .validate_with(validation)
        .map_err(|err| s3_error(&err))?;
    Ok(config)
}

/// s3s's DTO from this crate's configuration, for `GetBucketCors`. Empty
/// lists become absent members, as S3 returns them.
///
/// # Errors
///
/// `InternalError` for a `MaxAgeSeconds` above `i32::MAX`, which S3 and
/// this crate accept but the DTO cannot hold (only a document stored by
/// other means than s3s can have one).
pub fn from_configuration(config: &CorsConfiguration) -> Result<CORSConfiguration, S3Error> {
    let cors_rules = config
        .rules
        .iter()
        .map(|rule| {
            let max_age_seconds = rule
                .max_age_seconds
                .map(i32::try_from)
                .transpose()
                .map_err(|_| {
                    S3Error::with_message(
                        S3ErrorCode::InternalError,
                        "MaxAgeSeconds does not fit s3s's CORSRule (an i32)",
                    )
                })?;
            Ok(CORSRule {
                allowed_headers: non_empty(&rule.allowed_headers),
                allowed_methods: rule.allowed_methods.clone(),
                allowed_origins: rule.allowed_origins.clone(),
                expose_headers: non_empty(&rule.expose_headers),
                id: rule.id.clone(),
                max_age_seconds,
            })
        })
        .collect::<Result<_, S3Error>>()?;
    Ok(CORSConfiguration { cors_rules })
}

fn non_empty(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}

/// S3's error response for a refused configuration: the error's S3 code
/// (`MalformedXML`, `InvalidRequest`, `InvalidArgument`), its exact message,
/// status 400.
#[must_use]
pub fn s3_error(err: &ConfigError) -> S3Error {
    let code = S3ErrorCode::from_bytes(err.s3_code().as_bytes())
        .unwrap_or_else(|| S3ErrorCode::Custom(err.s3_code().into()));
    let mut error = S3Error::with_message(code, Cow::Owned(err.s3_message()));
    error.set_status_code(err.status());
    error
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn dto_rule(origins: &[&str], methods: &[&str]) -> CORSRule {
        CORSRule {
            allowed_origins: origins.iter().map(|s| (*s).to_owned()).collect(),
            allowed_methods: methods.iter().map(|s| (*s).to_owned()).collect(),
            ..CORSRule::default()
        }
    }

    fn dto(rules: Vec<CORSRule>) -> CORSConfiguration {
        CORSConfiguration { cors_rules: rules }
    }

    #[test]
    fn every_member_round_trips_in_order() {
        let rule = CORSRule {
            allowed_headers: Some(vec!["Content-Type".into(), "x-amz-*".into()]),
            allowed_methods: vec!["PUT".into(), "GET".into()],
            allowed_origins: vec!["https://b.example".into(), "https://a.example".into()],
            expose_headers: Some(vec!["ETag".into()]),
            id: Some("uploads".into()),
            max_age_seconds: Some(3000),
        };
        let parsed = dto(vec![rule, dto_rule(&["*"], &["GET"])]);
        let config = to_configuration(&parsed).unwrap();
        assert_eq!(config.rules.len(), 2);
        let first = &config.rules[0];
        assert_eq!(first.id.as_deref(), Some("uploads"));
        assert_eq!(
            first.allowed_origins,
            ["https://b.example", "https://a.example"]
        );
        assert_eq!(first.allowed_methods, ["PUT", "GET"]);
        assert_eq!(first.allowed_headers, ["Content-Type", "x-amz-*"]);
        assert_eq!(first.expose_headers, ["ETag"]);
        assert_eq!(first.max_age_seconds, Some(3000));
        assert_eq!(from_configuration(&config).unwrap(), parsed);
    }

    #[test]
    fn empty_lists_become_absent_members() {
        let config = CorsConfiguration::new()
            .rule(CorsRule::new().allowed_origin("*").allowed_method("GET"));
        let back = from_configuration(&config).unwrap();
        assert_eq!(back.cors_rules[0].allowed_headers, None);
        assert_eq!(back.cors_rules[0].expose_headers, None);
        assert_eq!(back.cors_rules[0].max_age_seconds, None);
    }

    #[test]
    fn a_negative_max_age_is_malformed_xml() {
        let mut rule = dto_rule(&["*"], &["GET"]);
        rule.max_age_seconds = Some(-1);
        let err = to_configuration(&dto(vec![rule])).unwrap_err();
        assert_eq!(err.code(), &S3ErrorCode::MalformedXML);
        assert_eq!(err.message(), Some(MALFORMED_XML_MESSAGE));
    }

    #[test]
    fn a_max_age_the_dto_cannot_hold_is_an_internal_error() {
        let config = CorsConfiguration::new().rule(
            CorsRule::new()
                .allowed_origin("*")
                .allowed_method("GET")
                .max_age_seconds(u32::MAX),
        );
        assert_eq!(
            from_configuration(&config).unwrap_err().code(),
            &S3ErrorCode::InternalError
        );
    }

    #[test]
    fn s3_validation_gives_s3_codes_and_messages() {
        let cases: Vec<(CORSConfiguration, &str, String)> = vec![
            (dto(vec![]), "MalformedXML", MALFORMED_XML_MESSAGE.into()),
            (
                dto(vec![dto_rule(&["*"], &["MYMETHOD"])]),
                "InvalidRequest",
                "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD".into(),
            ),
            (
                dto(vec![dto_rule(&["*"], &["get"])]),
                "InvalidRequest",
                "Found unsupported HTTP method in CORS config. Unsupported method is get".into(),
            ),
            (
                dto(vec![dto_rule(&["http://*.*.example"], &["GET"])]),
                "InvalidRequest",
                r#"AllowedOrigin "http://*.*.example" can not have more than one wildcard."#.into(),
            ),
            (
                dto(vec![CORSRule {
                    expose_headers: Some(vec!["x-*".into()]),
                    ..dto_rule(&["*"], &["GET"])
                }]),
                "InvalidRequest",
                r#"ExposeHeader "x-*" contains wildcard. We currently do not support wildcard for ExposeHeader."#.into(),
            ),
            (
                dto((0..101).map(|_| dto_rule(&["*"], &["GET"])).collect()),
                "InvalidRequest",
                "The number of CORS rules should not exceed allowed limit of 100 rules.".into(),
            ),
            (
                dto(vec![CORSRule {
                    id: Some("x".repeat(256)),
                    ..dto_rule(&["*"], &["GET"])
                }]),
                "InvalidArgument",
                "ID length should not exceed allowed limit of 255".into(),
            ),
            (
                dto(vec![dto_rule(&[], &["GET"])]),
                "MalformedXML",
                MALFORMED_XML_MESSAGE.into(),
            ),
        ];
        for (parsed, code, message) in cases {
            let err = validated(&parsed, Validation::s3()).unwrap_err();
            assert_eq!(err.code().as_str(), code, "{message}");
            assert_eq!(err.message(), Some(message.as_str()));
            assert_eq!(err.status_code(), Some(http::StatusCode::BAD_REQUEST));
        }
    }

    #[test]
    fn an_empty_origin_is_accepted_as_s3_does() {
        assert!(validated(&dto(vec![dto_rule(&[""], &["GET"])]), Validation::s3()).is_ok());
    }

    #[test]
    fn extended_methods_are_accepted_when_asked_for() {
        let parsed = dto(vec![dto_rule(&["*"], &["PATCH"])]);
        assert!(validated(&parsed, Validation::s3()).is_err());
        assert!(validated(&parsed, Validation::s3().allow_extended_methods()).is_ok());
    }
}
