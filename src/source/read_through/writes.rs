//! The write side of a [`ReadThrough`](super::ReadThrough): through the
//! store, then this cache (read-your-writes).

use super::cache::Inner;
use super::entry::State;
use crate::config::CorsConfiguration;
use crate::source::BucketError;
use crate::store::{Lookup, Version};

impl Inner {
    /// `NoSuchBucket` for a bucket the existence check does not know (and
    /// the cache then says so too).
    async fn ensure_exists(&self, bucket: &str) -> Result<(), BucketError> {
        if self.exists(bucket).await? {
            return Ok(());
        }
        self.install(bucket, State::NoSuchBucket, Version::UNKNOWN, None);
        Err(BucketError::no_such_bucket())
    }

    /// `PutBucketCors`: validates, writes the store, then serves the policy.
    pub(super) async fn put_document(
        &self,
        bucket: &str,
        document: &str,
    ) -> Result<(), BucketError> {
        self.ensure_exists(bucket).await?;
        let compiled = match self.intern(document) {
            Ok(compiled) => compiled,
            Err(refused) => {
                // S3 answers for a missing bucket before it reads the body:
                // a store that knows buckets is asked.
                if self.has_existence_check() {
                    return Err(BucketError::document(refused));
                }
                return match self.with_timeout(self.store.get(bucket)).await {
                    Err(error) if error.is_no_such_bucket() => Err(error),
                    Ok(_) | Err(_) => Err(BucketError::document(refused)),
                };
            }
        };
        let version = self.with_timeout(self.store.put(bucket, document)).await?;
        self.install(bucket, State::Configured(compiled), version, None);
        Ok(())
    }

    /// `DeleteBucketCors`: removes the document, then serves "no CORS".
    pub(super) async fn delete_document(&self, bucket: &str) -> Result<(), BucketError> {
        self.ensure_exists(bucket).await?;
        let version = self.with_timeout(self.store.delete(bucket)).await?;
        self.install(bucket, State::NotConfigured, version, None);
        Ok(())
    }

    /// `GetBucketCors`: the document as the store holds it, read.
    pub(super) async fn get_document(
        &self,
        bucket: &str,
    ) -> Result<Option<CorsConfiguration>, BucketError> {
        self.ensure_exists(bucket).await?;
        match self.with_timeout(self.store.get(bucket)).await? {
            Lookup::Found(text, _) => CorsConfiguration::from_document(&text)
                .map(Some)
                .map_err(BucketError::invalid_document),
            Lookup::NotFound(_) => Ok(None),
        }
    }

    /// The bucket was created: whatever document an older bucket of that
    /// name left is removed, and the bucket serves "no CORS".
    pub(super) async fn bucket_created(&self, bucket: &str) -> Result<(), BucketError> {
        let version = self.with_timeout(self.store.delete(bucket)).await;
        let removed = version
            .as_ref()
            .map_or(Version::UNKNOWN, |version| *version);
        self.install(bucket, State::NotConfigured, removed, None);
        version.map(drop)
    }

    /// The bucket was deleted: it serves "no such bucket" at once, and its
    /// document is removed from the store.
    pub(super) async fn bucket_deleted(&self, bucket: &str) -> Result<(), BucketError> {
        self.install(bucket, State::NoSuchBucket, Version::UNKNOWN, None);
        self.with_timeout(self.store.delete(bucket)).await.map(drop)
    }
}
