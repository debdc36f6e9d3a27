//! Amazon S3's CORS behaviour for any tower HTTP service.
//!
//! `tower-s3-cors` is a [tower] middleware that answers CORS the way an S3
//! bucket does: an ordered list of `CORSRule`s, first match wins,
//! preflights answered by the layer with S3's exact headers and XML errors,
//! configured with the same XML and JSON documents people write for S3, and
//! swapped at run time without a restart and without a lock on the request
//! path.
//!
//! # Example
//!
//! ```
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_s3_cors::{S3CorsLayer, SharedPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The same document you would PUT to an S3 bucket (XML or JSON).
//! let cors = SharedPolicy::from_document(
//!     r#"<CORSConfiguration>
//!          <CORSRule>
//!            <AllowedOrigin>https://app.example.com</AllowedOrigin>
//!            <AllowedMethod>GET</AllowedMethod>
//!            <AllowedMethod>PUT</AllowedMethod>
//!            <AllowedHeader>*</AllowedHeader>
//!            <ExposeHeader>ETag</ExposeHeader>
//!            <MaxAgeSeconds>3000</MaxAgeSeconds>
//!          </CORSRule>
//!        </CORSConfiguration>"#,
//! )?;
//!
//! let service = ServiceBuilder::new()
//!     .layer(S3CorsLayer::new(cors.clone()))
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::from("object bytes")))
//!     }));
//!
//! // A browser's preflight is answered by the layer, as S3 answers it.
//! let preflight = Request::options("/photos/cat.jpg")
//!     .header("origin", "https://app.example.com")
//!     .header("access-control-request-method", "PUT")
//!     .header("access-control-request-headers", "Content-Type, x-amz-meta-owner")
//!     .body(String::new())?;
//! let response = service.clone().oneshot(preflight).await?;
//! assert_eq!(response.status(), 200);
//! let headers = response.headers();
//! assert_eq!(headers["access-control-allow-origin"], "https://app.example.com");
//! assert_eq!(headers["access-control-allow-credentials"], "true");
//! assert_eq!(headers["access-control-allow-methods"], "GET, PUT");
//! assert_eq!(headers["access-control-allow-headers"], "content-type, x-amz-meta-owner");
//! assert_eq!(headers["access-control-expose-headers"], "ETag");
//! assert_eq!(headers["access-control-max-age"], "3000");
//!
//! // An origin no rule allows gets S3's 403 and its XML error.
//! let refused = Request::options("/photos/cat.jpg")
//!     .header("origin", "https://evil.example")
//!     .header("access-control-request-method", "PUT")
//!     .body(String::new())?;
//! let response = service.clone().oneshot(refused).await?;
//! assert_eq!(response.status(), 403);
//! assert_eq!(response.headers()["content-type"], "application/xml");
//!
//! // Swap the rules at run time; a bad document is refused and changes nothing.
//! assert!(cors.put_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#).is_err());
//! cors.put_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)?;
//! let get = Request::get("/photos/cat.jpg")
//!     .header("origin", "https://anyone.example")
//!     .body(String::new())?;
//! let response = service.oneshot(get).await?;
//! assert_eq!(response.headers()["access-control-allow-origin"], "*");
//! # Ok(())
//! # }
//! ```
//!
//! With axum: `Router::new().route(..).layer(S3CorsLayer::new(cors.clone()))`.
//!
//! # How a request flows
//!
//! 1. **Classify.** Every `OPTIONS` request is a preflight (as in S3); any
//!    other request with a non-empty `Origin` is an actual CORS request; the
//!    rest is not CORS.
//! 2. **Resolve.** The layer's [`BucketCors`] source locates the bucket of
//!    the request and gives its compiled [`Policy`], or says that it has no
//!    CORS, or that it does not exist. [`SharedPolicy`] is one swappable
//!    policy for the whole service; [`Buckets`] one per bucket, S3-style;
//!    `source::ReadThrough` (feature `store`) caches per-bucket policies
//!    from a store, and answers "pending" while it loads one: a preflight
//!    then waits, an actual request goes to the inner service at once and
//!    joins the load when its response comes. A policy that cannot be
//!    loaded gives a preflight S3's `503`. Implement the trait for anything
//!    else.
//! 3. **Evaluate.** [`Policy::evaluate`] walks the rules in order and gives
//!    the matched rule's precomputed headers, or the [`Refusal`].
//!    [`Policy::explain`] makes the same walk and reports rule by rule.
//! 4. **Act.** A preflight is answered by the layer and never reaches the
//!    inner service. An actual request always reaches the inner service; a
//!    match adds the CORS headers to whatever it returns, errors included.
//!
//! A refusal costs no more than a match, and allocates nothing beyond a
//! refused preflight's error body. To find out why a request was refused,
//! have the layer put a [`Refusal`] (or the rule-by-rule
//! [`Explanation`]) in the response's extensions with
//! [`S3CorsLayer::report_refusals`]; with the `tracing` feature, refusals
//! are also logged at debug level.
//!
//! [`BucketCors`]: source::BucketCors
//! [`Buckets`]: source::Buckets
//! [`Refusal`]: policy::Refusal
//! [`Explanation`]: policy::Explanation
//!
//! # The parts
//!
//! The crate root holds the middleware ([`S3CorsLayer`], [`S3Cors`] and
//! their options) and the two types every user needs ([`SharedPolicy`],
//! [`Policy`]), with [`ConfigError`]. Everything else lives in its module,
//! with one path:
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | the document model (`CorsConfiguration`, `CorsRule`), XML and JSON, S3's validation and error codes |
//! | [`policy`] | the compiled engine: `Policy`, `CorsRequest`, `Allowed`, `Refusal`, `Explanation` |
//! | [`s3`] | S3's vocabulary: `ResourceType`, `AmzRequestIds` |
//! | [`source`] | the bucket model: the `BucketCors` trait (locate a request's bucket, resolve its policy, read and write its document), `SharedPolicy`, `Buckets`, `ReadThrough`, `BucketError` |
//! | [`future`], [`body`] | the layer's `ResponseFuture` and `ResponseBody` |
//! | `admin` | (feature `admin`) S3's `?cors` sub-resource as a layer |
//! | `store` | (feature `store`) the `CorsStore` trait and the stores: policies kept in the integrator's store |
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `xml` | yes | S3's XML documents (`CorsConfiguration::from_xml`, `to_xml`), through `quick-xml` |
//! | `json` | yes | the AWS CLI and console JSON shapes (`from_json`, `to_json`), through `serde_json` |
//! | `admin` | no | `admin`: S3's `?cors` sub-resource (`PutBucketCors`, `GetBucketCors`, `DeleteBucketCors`) as a layer, with `Content-MD5` and `x-amz-checksum-*` checks (crc, sha1, sha2) and a body timeout (a timer of its own: any executor) |
//! | `store` | no | `store`: the `CorsStore` trait for documents kept in a store, `MemoryStore`, and `source::ReadThrough`, the read-through cache over a store (Tokio) |
//! | `dir-store` | no | `store::DirectoryStore`: one file per bucket, watched for outside edits (`notify`) |
//! | `tracing` | no | a debug event per refused request with its explanation, and per request a shadow policy answers otherwise (rate-limited); info events on policy swaps |
//! | `metrics` | no | counters of CORS outcomes (`s3_cors_requests_total`) and shadow verdicts (`s3_cors_shadow_total`), the read-through cache's loads, failures, size and evictions, through the [`metrics`](https://docs.rs/metrics) facade (any exporter); per-bucket counters with `S3CorsLayer::bucket_metrics`; the README lists every metric |
//!
//! # Differences from S3
//!
#![doc = include_str!("docs/s3_compat.md")]
//!
//! # Hot reload
//!
#![doc = include_str!("docs/hot_reload.md")]
//!
//! [tower]: https://docs.rs/tower
#![cfg_attr(docsrs, feature(doc_cfg))]
// A `_` arm on an enum hides the variant added next; match them all.
#![warn(clippy::wildcard_enum_match_arm)]

#[cfg(feature = "admin")]
pub mod admin;
pub mod body;
pub mod config;
mod decide;
pub mod future;
mod headers;
mod layer;
mod macros;
#[cfg(feature = "metrics")]
mod metrics;
mod observe;
mod options;
pub mod policy;
pub mod s3;
mod service;
pub mod source;
#[cfg(feature = "store")]
pub mod store;
mod vary;
mod xml_text;

pub use config::ConfigError;
pub use layer::S3CorsLayer;
pub use options::{RefusalReport, VaryMode};
pub use policy::Policy;
pub use service::S3Cors;
pub use source::SharedPolicy;
