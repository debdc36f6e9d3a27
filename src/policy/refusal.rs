//! [`Refusal`]: why a policy refused a request.

use std::fmt;

/// Why a policy refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// A preflight without `Access-Control-Request-Method`: S3 answers
    /// `400 BadRequest`.
    MissingRequestMethod,
    /// A preflight whose `Access-Control-Request-Method` is not a method S3
    /// knows (`GET PUT HEAD POST DELETE`, byte for byte): `400 BadRequest`.
    InvalidRequestMethod,
    /// No rule allows this origin, method and these headers together: a
    /// preflight gets `403 AccessForbidden`, an actual request no CORS
    /// headers.
    NoRuleMatched,
    /// The request's `Access-Control-Request-Headers` lines add up to more
    /// than [`MAX_REQUEST_HEADERS_BYTES`](super::MAX_REQUEST_HEADERS_BYTES)
    /// (8 KiB), S3's limit on a whole request header section: decided before
    /// any rule is looked at, so the work and the echo per request stay
    /// bounded whatever the rules. A preflight gets S3's
    /// `400 RequestHeaderSectionTooLarge`, an actual request no CORS headers.
    RequestHeadersTooLarge,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingRequestMethod => "preflight without Access-Control-Request-Method",
            Self::InvalidRequestMethod => "invalid Access-Control-Request-Method",
            Self::NoRuleMatched => "no CORS rule matched",
            Self::RequestHeadersTooLarge => "Access-Control-Request-Headers larger than 8 KiB",
        })
    }
}
