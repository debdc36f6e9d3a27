//! The layer's options: [`VaryMode`] and [`RefusalReport`], and
//! [`RefusalReason`], what a report says.

use crate::policy::Refusal;

/// When the layer adds `Vary: Origin, Access-Control-Request-Headers,
/// Access-Control-Request-Method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VaryMode {
    /// On every response of a resource that has a policy, matched or not,
    /// with or without `Origin` (the default). A cache in front of the
    /// service then never serves an answer made for one origin to another,
    /// nor a non-CORS answer to a browser that needs CORS headers.
    #[default]
    CacheSafe,
    /// Only on a match, as S3 does.
    S3Exact,
}

/// What the layer puts in the extensions of the responses it refuses, for
/// outer layers (a logger, a metrics layer) to read.
///
/// Refusals are the traffic of scanners and hot-linking pages, so a refusal
/// costs nothing extra by default. [`Reason`](Self::Reason) adds a small
/// `Copy` [`RefusalReason`] (inserting into a response's extensions
/// allocates its map, two or three small allocations inside `http`);
/// [`Explanation`](Self::Explanation) adds the rule-by-rule
/// [`Explanation`](crate::policy::Explanation) as well, which costs a walk
/// over the rules and a few allocations per rule.
///
/// With the `tracing` feature, a refusal is also logged at debug level with
/// its explanation, built only when that event is enabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReport {
    /// Nothing (the default).
    #[default]
    Off,
    /// A [`RefusalReason`] in the extensions of every refused preflight and
    /// of every actual request that a policy covers but no rule matched.
    Reason,
    /// The [`RefusalReason`] and, where a policy was consulted, its
    /// [`Explanation`](crate::policy::Explanation).
    Explanation,
}

/// Why the layer refused a request: in the extensions of its response when
/// [`RefusalReport::Reason`] or [`RefusalReport::Explanation`] is on.
///
/// ```
/// use http::{Request, Response};
/// use tower::{Layer, ServiceExt, service_fn};
/// use tower_s3_cors::policy::Refusal;
/// use tower_s3_cors::{RefusalReason, RefusalReport, S3CorsLayer, SharedPolicy};
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
/// assert_eq!(
///     response.extensions().get::<RefusalReason>(),
///     Some(&RefusalReason::Policy(Refusal::NoRuleMatched))
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReason {
    /// A preflight without `Origin` (`400 BadRequest`).
    NoOrigin,
    /// A preflight for a bucket that does not exist (`403`, "Bucket not
    /// found").
    NoSuchBucket,
    /// A preflight for a resource without CORS (`403`, "CORS is not enabled
    /// for this bucket.").
    NotConfigured,
    /// The policy refused the request.
    Policy(Refusal),
    /// The policy could not be loaded from its store (`503
    /// ServiceUnavailable`).
    Unavailable,
}

/// How the layer behaves where S3's behaviour is a choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) vary: VaryMode,
    pub(crate) forward_options_without_origin: bool,
    pub(crate) report: RefusalReport,
}
