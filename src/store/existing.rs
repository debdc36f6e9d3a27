//! [`ExistingBuckets`]: a store for the buckets that exist.

use std::fmt;

use super::{ChangeStream, CorsStore, Lookup, StoreError, StoreFuture, Version};

/// A store in front of another, for servers whose list of buckets lives
/// elsewhere than their CORS documents (a directory of documents, etcd):
/// for a bucket `exists` says is not there, every operation answers
/// [`NoSuchBucket`](super::StoreErrorKind::NoSuchBucket) (a preflight then
/// gets S3's "Bucket not found", `PUT ?cors` a `404 NoSuchBucket`); the
/// others go to the inner store.
///
/// ```
/// use std::collections::HashSet;
/// use tower_s3_cors::store::{CorsStore, ExistingBuckets, MemoryStore, StoreErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let buckets: HashSet<String> = ["photos".to_owned()].into();
/// let store = ExistingBuckets::new(MemoryStore::new(), move |b: &str| buckets.contains(b));
/// store.put("photos", r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#).await?;
/// let err = store.get("nope").await.unwrap_err();
/// assert_eq!(err.kind(), StoreErrorKind::NoSuchBucket);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ExistingBuckets<S, F> {
    store: S,
    exists: F,
}

impl<S, F> ExistingBuckets<S, F>
where
    F: Fn(&str) -> bool,
{
    /// `store`, for the buckets `exists` knows.
    pub fn new(store: S, exists: F) -> Self {
        Self { store, exists }
    }

    /// The inner store.
    pub fn inner(&self) -> &S {
        &self.store
    }

    fn check(&self, bucket: &str) -> Result<(), StoreError> {
        if (self.exists)(bucket) {
            Ok(())
        } else {
            Err(StoreError::no_such_bucket())
        }
    }
}

impl<S, F> CorsStore for ExistingBuckets<S, F>
where
    S: CorsStore,
    F: Fn(&str) -> bool + Send + Sync,
{
    fn get<'a>(&'a self, bucket: &'a str) -> StoreFuture<'a, Lookup> {
        Box::pin(async move {
            self.check(bucket)?;
            self.store.get(bucket).await
        })
    }

    fn put<'a>(&'a self, bucket: &'a str, document: &'a str) -> StoreFuture<'a, Version> {
        Box::pin(async move {
            self.check(bucket)?;
            self.store.put(bucket, document).await
        })
    }

    fn delete<'a>(&'a self, bucket: &'a str) -> StoreFuture<'a, Version> {
        Box::pin(async move {
            self.check(bucket)?;
            self.store.delete(bucket).await
        })
    }

    fn changes(&self) -> Option<ChangeStream> {
        self.store.changes()
    }
}

impl<S: fmt::Debug, F> fmt::Debug for ExistingBuckets<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExistingBuckets")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}
