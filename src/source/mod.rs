//! The bucket model: where the layers get the CORS of a bucket.
//!
//! One noun, [`BucketCors`], whatever keeps the policies:
//!
//! ```text
//! locate(request) ──► bucket name (in lower case) and resource (root or object)
//!                       │
//!          read side:   resolve(bucket) ──► ready policy | none | no such bucket | pending
//!          write side:  get / put / delete the bucket's document (one error type)
//!                       │
//!   implemented by:   SharedPolicy (one bucket) · Buckets (in memory) · ReadThrough (a store)
//!   used by:          S3CorsLayer · admin::CorsAdminLayer · the s3s glue
//! ```
//!
//! - [`Locate`] finds the bucket of a request; [`Addressing`] does it S3's
//!   ways (path style, virtual-hosted style) or yours.
//! - [`Resolution`] is what the read side answers: a [`BucketPolicy`]
//!   ready (with a shadow policy beside it, if the bucket has one), or a
//!   [`Pending`] load. A preflight waits for a pending load; an actual
//!   request goes to the inner service at once and joins the load when its
//!   response comes.
//! - A *shadow* is a candidate document kept beside a bucket's live one
//!   ([`BucketCors::put_shadow_document`]): the layer evaluates it on every
//!   CORS request of the bucket and counts (feature `metrics`) and logs
//!   (feature `tracing`) where it would answer otherwise; the answer is
//!   always the live policy's. Promoting a shadow is an ordinary
//!   [`put_document`](BucketCors::put_document) (`PUT ?cors`) of the same
//!   document.
//! - [`BucketError`] is the write side's error, and the stores': it knows
//!   S3's answer.
//! - [`SharedPolicy`], [`Buckets`] and (feature `store`) [`ReadThrough`]
//!   keep the policies; pick one and hand clones of it to every layer.
//!
//! The read side runs on every request: lookups only, without I/O and
//! without locks.

mod bucket_cors;
mod buckets;
mod error;
mod locate;
mod pending;
#[cfg(feature = "store")]
mod read_through;
mod request_head;
mod resolution;
mod shared;

pub use bucket_cors::BucketCors;
pub use buckets::Buckets;
pub use error::BucketError;
pub use locate::{Addressing, Locate, Located};
pub use pending::{Completer, Pending};
#[cfg(feature = "store")]
pub use read_through::{
    BuildError, DEFAULT_CAPACITY, DEFAULT_LOAD_TIMEOUT, DEFAULT_MISSING_BUCKET_TTL,
    DEFAULT_RETRY_AFTER, DEFAULT_TTL, ReadThrough, ReadThroughBuilder, Ttl,
};
pub use request_head::RequestHead;
pub use resolution::{BucketPolicy, Resolution};
pub use shared::SharedPolicy;

pub(crate) use bucket_cors::whole_service;

/// Whether anything observes shadows (the `metrics` or `tracing` feature):
/// without either, the crate's sources never answer
/// [`Resolution::Shadowed`] and the layer never evaluates a shadow.
pub(crate) const SHADOWS_OBSERVED: bool = cfg!(any(feature = "metrics", feature = "tracing"));
pub(crate) use locate::bucket_name;
