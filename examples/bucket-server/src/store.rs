//! [`Registered`]: the demo's buckets in front of a CORS store.

use tower_s3_cors::source::Buckets;
use tower_s3_cors::store::{ChangeStream, CorsStore, Lookup, StoreError, StoreFuture, Version};

/// A CORS store that knows which buckets the demo has: for any other
/// bucket it answers "no such bucket" (a preflight then gets S3's
/// "Bucket not found", `PUT ?cors` a `404 NoSuchBucket`), and otherwise
/// hands the request to the store of documents (a directory, etcd).
#[derive(Clone, Debug)]
pub struct Registered<S> {
    buckets: Buckets,
    store: S,
}

impl<S> Registered<S> {
    /// `store`, for the buckets of `buckets` only.
    pub fn new(buckets: Buckets, store: S) -> Self {
        Self { buckets, store }
    }

    fn check(&self, bucket: &str) -> Result<(), StoreError> {
        match self.buckets.get(bucket) {
            Some(_) => Ok(()),
            None => Err(StoreError::no_such_bucket()),
        }
    }
}

impl<S: CorsStore> CorsStore for Registered<S> {
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
