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
//! let cors = SharedPolicy::from_xml(
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
//! assert!(cors.store_json(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#).is_err());
//! cors.store_json(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)?;
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
//! 2. **Resolve.** A [`PolicySource`] gives the compiled [`Policy`] for the
//!    request, or says CORS is not configured, or that the bucket does not
//!    exist. [`SharedPolicy`] serves one swappable policy; [`Buckets`] one per
//!    bucket, S3-style; implement the trait for anything else.
//! 3. **Evaluate.** [`Policy::evaluate`] walks the rules in order and returns
//!    a [`Decision`]: the matched rule's precomputed headers, or the reason
//!    for refusal. [`Policy::explain`] reports rule by rule.
//! 4. **Act.** A preflight is answered by the layer and never reaches the
//!    inner service. An actual request always reaches the inner service; a
//!    match adds the CORS headers to whatever it returns, errors included.
//!
//! Refused requests carry an [`Explanation`] in their response extensions
//! (and, with the `tracing` feature, a debug event), so outer layers can log
//! why no rule matched.
//!
//! # The parts
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | the document model ([`CorsConfiguration`], [`CorsRule`]), XML and JSON, S3's validation and error codes ([`ConfigError`]) |
//! | [`policy`] | the compiled engine: [`Policy`], [`CorsRequest`], [`Decision`], [`Explanation`] |
//! | sources | [`PolicySource`], [`SharedPolicy`], [`Buckets`] |
//! | layer | [`S3CorsLayer`], [`S3Cors`], [`future::ResponseFuture`], [`ResponseBody`] |
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `xml` | yes | S3's XML documents (`from_xml`, `to_xml`, `store_xml`), through `quick-xml` |
//! | `json` | yes | the AWS CLI and console JSON shapes (`from_json`, `to_json`, `store_json`), through `serde_json` |
//! | `admin` | no | [`admin`]: S3's `?cors` sub-resource (`PutBucketCors`, `GetBucketCors`, `DeleteBucketCors`) as a layer, with `Content-MD5` checks |
//! | `tracing` | no | a debug event per refused request with its [`Explanation`], info events on policy swaps |
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

#[cfg(feature = "admin")]
pub mod admin;
mod body;
pub mod config;
pub mod future;
mod layer;
mod macros;
pub mod policy;
mod s3_error;
mod service;
mod source;
#[cfg(feature = "store")]
pub mod store;
mod vary;
mod xml_text;

#[cfg(feature = "admin")]
pub use admin::{CorsAdmin, CorsAdminLayer};
pub use body::ResponseBody;
pub use config::{
    ConfigError, ConfigErrorKind, CorsConfiguration, CorsRule, DocumentFormat, Validation,
};
pub use layer::{S3CorsLayer, VaryMode};
pub use policy::{
    Allowed, CorsRequest, Decision, Explanation, Policy, Refusal, RuleOutcome, RuleVerdict,
};
pub use s3_error::AmzRequestIds;
pub use service::S3Cors;
pub use source::{Buckets, PolicySource, RequestHead, Resolution, ResourceType, SharedPolicy};
