//! [`ReadThrough`]: bucket policies cached from a [`CorsStore`].
//!
//! One file per job: the builder and its checks (`builder`), what an entry
//! holds (`entry`), hits and loads (`cache`), the store's changes, refreshes
//! and expiry (`changes`, `expiry`), the write side (`writes`), the
//! eviction (`fifo`), the sharing of compiled policies (`interner`) and
//! the buckets' shadows (`shadows`).

mod builder;
mod cache;
mod changes;
mod entry;
mod expiry;
mod fifo;
mod interner;
mod shadows;
#[cfg(test)]
mod tests;
mod writes;

pub use builder::{
    BuildError, DEFAULT_CAPACITY, DEFAULT_LOAD_TIMEOUT, DEFAULT_MISSING_BUCKET_TTL,
    DEFAULT_RETRY_AFTER, DEFAULT_TTL, ReadThroughBuilder, Ttl,
};

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use self::cache::Inner;
use super::{BucketCors, BucketError, Locate, Located, RequestHead, Resolution, bucket_name};
use crate::config::CorsConfiguration;
use crate::policy::Policy;
use crate::store::CorsStore;

/// Bucket policies read through from a [`CorsStore`], cached per bucket: the
/// [`BucketCors`] for servers whose bucket CORS lives in their own store.
///
/// - **Hits** are synchronous, lock-free and allocation-free: one lookup in a
///   concurrent hash map, as fast as [`Buckets`](super::Buckets).
/// - **Misses** load from the store on the Tokio runtime, never blocking the
///   executor: a preflight waits for the load, an actual request goes to the
///   inner service at once and joins the load when its response comes (see
///   [`Resolution::Pending`]). Concurrent misses on one bucket share one
///   load, and every store operation has a timeout
///   ([`ReadThroughBuilder::load_timeout`]).
/// - **Bounded:** at most [`capacity`](ReadThroughBuilder::capacity) buckets
///   are cached; an S3-FIFO eviction keeps the buckets that are asked for
///   again: a bucket asked for once leaves first, and a scan of many
///   buckets does not push out the ones in use. "No CORS" and "no such
///   bucket" are cached too.
/// - **Fresh:** the store's [change stream](CorsStore::changes) updates the
///   cache (a resync reloads every cached bucket); a store that pushes no
///   changes gets a time to live instead ([`Ttl`]). "No such bucket" lives
///   [`missing_bucket_ttl`](ReadThroughBuilder::missing_bucket_ttl), whatever
///   the store. [`invalidate`](Self::invalidate) and
///   [`refresh`](Self::refresh) are there for integrators with a channel of
///   their own.
/// - **Buckets:** whether a bucket exists is the store's to say, or the
///   server's ([`bucket_exists`](ReadThroughBuilder::bucket_exists));
///   [`bucket_created`](BucketCors::bucket_created) and
///   [`bucket_deleted`](BucketCors::bucket_deleted) take effect at once.
/// - **Stale-if-error:** when the store fails, a cached entry keeps serving.
///   A preflight for a bucket with nothing cached then gets S3's `503
///   ServiceUnavailable`, an actual request passes without CORS headers. A
///   document that does not validate never replaces a good policy; it is
///   reported (a `tracing` warning with the `tracing` feature, and the
///   [`on_error`](ReadThroughBuilder::on_error) hook).
/// - **Shared:** buckets with the same configuration share one compiled
///   policy.
/// - **Write-through:** the write side of [`BucketCors`] validates, writes
///   the store, then updates this cache (read-your-writes).
/// - **Shadows** ([`BucketCors::put_shadow_document`]) are kept in this
///   instance's memory, beside the cache: they are not written to the
///   store (each instance of a fleet has its own), they survive the
///   eviction of their bucket, and a hit finds its bucket's shadow in the
///   entry it reads. They can be set for any bucket name (whether it
///   exists is the store's to say, later); creating or deleting a bucket
///   removes its shadow.
///
/// ```
/// use tower_s3_cors::source::{BucketCors, BucketPolicy, ReadThrough, Resolution};
/// use tower_s3_cors::store::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cors = ReadThrough::builder(MemoryStore::new()).build()?;
/// cors.put_document("photos", r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#).await?;
/// // Written through: served at once.
/// assert!(matches!(cors.resolve("photos"), Resolution::Ready(BucketPolicy::Configured(_))));
///
/// // A bucket not cached yet is loaded: a preflight waits for it.
/// let Resolution::Pending(pending) = cors.resolve("videos") else { unreachable!() };
/// assert!(matches!(pending.await, BucketPolicy::NotConfigured));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ReadThrough {
    inner: Arc<Inner>,
}

impl ReadThrough {
    /// Starts building a source over `store` (path-style addressing, the
    /// defaults of [`ReadThroughBuilder`]).
    pub fn builder(store: impl CorsStore + 'static) -> ReadThroughBuilder {
        ReadThroughBuilder::new(Arc::new(store))
    }

    /// Forgets what is cached for `bucket`: the next request loads it from
    /// the store.
    pub fn invalidate(&self, bucket: &str) {
        self.inner.invalidate(&key(bucket));
    }

    /// Loads `bucket` from the store now and caches what it holds, whatever
    /// was cached before (a newer change the store pushes while the load
    /// runs is kept).
    ///
    /// # Errors
    ///
    /// The store's error; the cached entry, if any, keeps serving.
    pub async fn refresh(&self, bucket: &str) -> Result<(), BucketError> {
        let name: Arc<str> = key(bucket).into();
        Arc::clone(&self.inner).load(name, None, true).await
    }

    /// The number of cached buckets (those being loaded included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.cache.len()
    }

    /// Whether nothing is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.cache.is_empty()
    }
}

/// The cache key of a bucket name.
#[inline]
fn key(bucket: &str) -> Cow<'_, str> {
    bucket_name(Cow::Borrowed(bucket))
}

impl BucketCors for ReadThrough {
    #[inline]
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
        self.inner.addressing.locate(request)
    }

    /// A hit answers at once; a miss starts the load and answers
    /// [`Resolution::Pending`].
    #[inline]
    fn resolve(&self, bucket: &str) -> Resolution {
        self.inner.resolve(&key(bucket))
    }

    /// A hit answers without taking a policy handle; a miss starts the load
    /// and answers `true` (a `Vary` too many is harmless).
    fn is_configured(&self, bucket: &str) -> bool {
        self.inner.is_configured(&key(bucket))
    }

    async fn get_document(&self, bucket: &str) -> Result<Option<CorsConfiguration>, BucketError> {
        self.inner.get_document(&key(bucket)).await
    }

    async fn put_document(&self, bucket: &str, document: &str) -> Result<(), BucketError> {
        self.inner.put_document(&key(bucket), document).await
    }

    async fn delete_document(&self, bucket: &str) -> Result<(), BucketError> {
        self.inner.delete_document(&key(bucket)).await
    }

    /// Validates the document as the source's own documents are
    /// ([`ReadThroughBuilder::validation`]) and keeps it in this instance's
    /// memory (see [`ReadThrough`], "Shadows"): any bucket name is taken.
    fn put_shadow_document(&self, bucket: &str, document: &str) -> Result<(), BucketError> {
        self.inner.put_shadow_document(&key(bucket), document)
    }

    fn delete_shadow(&self, bucket: &str) -> Result<(), BucketError> {
        self.inner.set_shadow(&key(bucket), None);
        Ok(())
    }

    fn shadow(&self, bucket: &str) -> Option<Policy> {
        self.inner.shadow(&key(bucket))
    }

    /// Also removes the bucket's shadow.
    async fn bucket_created(&self, bucket: &str) -> Result<(), BucketError> {
        let bucket = key(bucket);
        self.inner.set_shadow(&bucket, None);
        self.inner.bucket_created(&bucket).await
    }

    /// Also removes the bucket's shadow.
    async fn bucket_deleted(&self, bucket: &str) -> Result<(), BucketError> {
        let bucket = key(bucket);
        self.inner.set_shadow(&bucket, None);
        self.inner.bucket_deleted(&bucket).await
    }
}

impl fmt::Debug for ReadThrough {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadThrough")
            .field("store", &self.inner.store)
            .field("addressing", &self.inner.addressing)
            .field("cached", &self.inner.cache.len())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}
