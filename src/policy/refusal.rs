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
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingRequestMethod => "preflight without Access-Control-Request-Method",
            Self::InvalidRequestMethod => "invalid Access-Control-Request-Method",
            Self::NoRuleMatched => "no CORS rule matched",
        })
    }
}
