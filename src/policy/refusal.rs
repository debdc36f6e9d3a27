//! [`Refusal`]: why a CORS request was refused.

use std::fmt;

/// Why a CORS request was refused: by a policy
/// ([`Policy::evaluate`](crate::Policy::evaluate)), or by the layer before
/// any policy was asked. The layer puts it in the extensions of the
/// responses it refuses when asked to
/// ([`RefusalReport`](crate::RefusalReport)).
///
/// ```
/// use http::{Request, Response};
/// use tower::{Layer, ServiceExt, service_fn};
/// use tower_s3_cors::policy::Refusal;
/// use tower_s3_cors::{RefusalReport, S3CorsLayer, SharedPolicy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cors = SharedPolicy::from_document(r#"[{"AllowedOrigins":["https://a.example"],"AllowedMethods":["GET"]}]"#)?;
/// let service = S3CorsLayer::new(cors)
///     .report_refusals(RefusalReport::Reason)
///     .layer(service_fn(|_req: Request<()>| async {
///         Ok::<_, std::convert::Infallible>(Response::new(()))
///     }));
/// let preflight = Request::options("/k")
///     .header("origin", "https://b.example")
///     .header("access-control-request-method", "GET")
///     .body(())?;
/// let response = service.oneshot(preflight).await?;
/// assert_eq!(response.status(), 403);
/// assert_eq!(response.extensions().get::<Refusal>(), Some(&Refusal::NoRuleMatched));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// A preflight without `Origin`: S3 answers `400 BadRequest`.
    NoOrigin,
    /// A preflight for a bucket that does not exist: `403`, "Bucket not
    /// found".
    NoSuchBucket,
    /// A preflight for a bucket without CORS: `403`, "CORS is not enabled
    /// for this bucket."
    NotConfigured,
    /// The bucket's policy could not be loaded from its store: a preflight
    /// gets `503 ServiceUnavailable`, an actual request no CORS headers.
    Unavailable,
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
            Self::NoOrigin => "preflight without Origin",
            Self::NoSuchBucket => "no such bucket",
            Self::NotConfigured => "CORS is not configured",
            Self::Unavailable => "the CORS policy could not be loaded",
            Self::MissingRequestMethod => "preflight without Access-Control-Request-Method",
            Self::InvalidRequestMethod => "invalid Access-Control-Request-Method",
            Self::NoRuleMatched => "no CORS rule matched",
            Self::RequestHeadersTooLarge => "Access-Control-Request-Headers larger than 8 KiB",
        })
    }
}
