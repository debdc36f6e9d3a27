//! All of the example's CORS storage, in this one module: the bucket CORS
//! configurations live in the core crate's directory store, one file per
//! bucket in `{root}/.cors/` (`{bucket}.xml`, or `.json` written by hand),
//! read through the core crate's [`ReadThrough`] cache. `PutBucketCors` and
//! `DeleteBucketCors` write through it (the file first, then the cache);
//! a file edited by hand is picked up within a second.
//!
//! `.cors` is not a bucket to s3s-fs: it lists as buckets only the
//! directories of the root whose names are valid bucket names, and a valid
//! name never starts with a dot (nor can a request name one).
//!
//! The rest of the example sees only [`CorsStore`], [`CorsStore::open`] and
//! the two traits it implements for the glue crate ([`BucketPolicies`] for
//! the layer, [`CorsConfigs`] for the `?cors` operations).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use s3s::{S3Error, S3ErrorCode, S3Result};
use tower_s3_cors::Policy;
use tower_s3_cors::config::CorsConfiguration;
use tower_s3_cors::s3::ResourceType;
use tower_s3_cors::source::{
    Buckets, ReadThrough, ReadThroughError, ReadThroughErrorKind, Resolution,
};
use tower_s3_cors::store::{DirectoryStore, ExistingBuckets, StoreErrorKind};
use tower_s3_cors_s3s::{BucketPolicies, CorsConfigs};

/// The directory of the root that holds the CORS documents.
pub const CORS_DIR: &str = ".cors";

/// The example's bucket CORS configurations: a directory store read through
/// a cache, for the buckets s3s-fs has. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct CorsStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// The buckets the backend has (their policies are not used: CORS
    /// comes from `source`).
    buckets: Buckets,
    source: ReadThrough,
}

/// What [`CorsStore::open`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every bucket, sorted, with the number of CORS rules it has (if any).
    pub buckets: Vec<(String, Option<usize>)>,
    /// Documents that do not serve, and why.
    pub warnings: Vec<String>,
}

impl CorsStore {
    /// Opens the store of an s3s-fs `root`: creates `{root}/.cors` if
    /// needed, registers the buckets s3s-fs has (the directories it lists as
    /// buckets), and reports the documents that will not serve (invalid,
    /// or for a bucket that does not exist). Call it inside a Tokio
    /// runtime: the cache loads and watches on it.
    ///
    /// # Errors
    ///
    /// When the root or the CORS directory cannot be read or created.
    pub async fn open(root: &Path) -> io::Result<(Self, Loaded)> {
        let dir = root.join(CORS_DIR);
        let documents = DirectoryStore::open(&dir)?;
        let buckets = Buckets::path_style();
        for entry in std::fs::read_dir(root)? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            if let Some(name) = entry.file_name().to_str()
                && s3s::path::check_bucket_name(name)
            {
                buckets.create(name);
            }
        }
        let mut loaded = Loaded::default();
        for (path, error) in documents.check()? {
            loaded.warnings.push(format!(
                "{}: {error} ({}: {}); not served",
                path.display(),
                error.s3_code(),
                error.s3_message()
            ));
        }
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let bucket = path.file_stem().and_then(|stem| stem.to_str());
            let extension = path.extension().and_then(|e| e.to_str());
            if let (Some(bucket), Some("xml" | "json")) = (bucket, extension)
                && !bucket.starts_with('.')
                && buckets.get(bucket).is_none()
            {
                loaded.warnings.push(format!(
                    "{}: no bucket {bucket:?}; not served",
                    path.display()
                ));
            }
        }
        loaded.warnings.sort();
        let registry = buckets.clone();
        let known = move |bucket: &str| registry.get(bucket).is_some();
        let source = ReadThrough::builder(ExistingBuckets::new(documents, known))
            .on_error(|bucket, error| eprintln!("warning: CORS of bucket {bucket:?}: {error}"))
            .build()
            .map_err(io::Error::other)?;
        for name in buckets.names() {
            let rules = match source.configuration(&name).await {
                Ok(Some(configuration)) => Policy::compile(&configuration).ok().map(|p| p.len()),
                Ok(None) | Err(_) => None,
            };
            loaded.buckets.push((name, rules));
        }
        let store = Self {
            inner: Arc::new(Inner {
                dir,
                buckets,
                source,
            }),
        };
        Ok((store, loaded))
    }

    /// The directory of the documents.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

/// S3's answer for a store that failed: `503` when it is unavailable (it
/// is worth retrying), `500` otherwise.
fn storage_error(error: &ReadThroughError) -> S3Error {
    let code = match (error.kind(), error.store_kind()) {
        (ReadThroughErrorKind::Timeout, _)
        | (ReadThroughErrorKind::Store, Some(StoreErrorKind::Unavailable)) => {
            S3ErrorCode::ServiceUnavailable
        }
        (ReadThroughErrorKind::Store, Some(StoreErrorKind::NoSuchBucket)) => {
            S3ErrorCode::NoSuchBucket
        }
        _ => S3ErrorCode::InternalError,
    };
    S3Error::with_message(code, format!("the CORS store failed: {error}"))
}

impl BucketPolicies for CorsStore {
    fn resolve_bucket(&self, bucket: &str, resource: ResourceType) -> Resolution {
        if self.inner.buckets.get(bucket).is_none() {
            return Resolution::NoSuchBucket;
        }
        self.inner.source.resolve_bucket(bucket, resource)
    }
}

#[async_trait]
impl CorsConfigs for CorsStore {
    /// Writes `{bucket}.xml` (atomically), then serves the policy.
    async fn put(&self, bucket: &str, policy: Policy) -> S3Result<()> {
        let document = policy.configuration().to_xml();
        self.inner
            .source
            .put_document(bucket, &document)
            .await
            .map(drop)
            .map_err(|e| storage_error(&e))
    }

    async fn get(&self, bucket: &str) -> S3Result<Option<CorsConfiguration>> {
        self.inner
            .source
            .configuration(bucket)
            .await
            .map_err(|e| storage_error(&e))
    }

    async fn delete(&self, bucket: &str) -> S3Result<()> {
        self.inner
            .source
            .delete_document(bucket)
            .await
            .map(drop)
            .map_err(|e| storage_error(&e))
    }

    async fn bucket_created(&self, bucket: &str) -> S3Result<()> {
        self.inner.buckets.create(bucket);
        // A new bucket has no CORS, whatever an older one of its name had.
        self.delete(bucket).await
    }

    async fn bucket_deleted(&self, bucket: &str) -> S3Result<()> {
        let deleted = self.delete(bucket).await;
        let _ = self.inner.buckets.remove(bucket);
        deleted
    }
}

impl fmt::Debug for CorsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsStore")
            .field("dir", &self.inner.dir)
            .field("buckets", &self.inner.buckets)
            .field("source", &self.inner.source)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "example-s3s-server-store-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const RULES: &str = r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#;

    async fn settled(store: &CorsStore, bucket: &str) -> Resolution {
        match store.resolve_bucket(bucket, ResourceType::Object) {
            Resolution::Pending(pending, resource) => pending.await.for_resource(resource),
            other => other,
        }
    }

    #[tokio::test]
    async fn documents_survive_a_reopen_and_only_buckets_are_served() {
        let root = root("reopen");
        std::fs::create_dir(root.join("photos")).unwrap();
        std::fs::create_dir(root.join("Not_A_Bucket")).unwrap();
        let (store, loaded) = CorsStore::open(&root).await.unwrap();
        assert_eq!(loaded.buckets, [("photos".to_owned(), None)]);
        assert!(loaded.warnings.is_empty());

        store
            .put("photos", Policy::from_document(RULES).unwrap())
            .await
            .unwrap();
        assert!(root.join(".cors/photos.xml").is_file());
        assert!(matches!(
            settled(&store, "photos").await,
            Resolution::Configured(..)
        ));

        // Another document, for a bucket that does not exist, and a bad one.
        std::fs::write(root.join(".cors/ghost.json"), RULES).unwrap();
        std::fs::create_dir(root.join("broken")).unwrap();
        std::fs::write(root.join(".cors/broken.xml"), "<CORSConfiguration/>").unwrap();

        let (again, loaded) = CorsStore::open(&root).await.unwrap();
        assert_eq!(
            loaded.buckets,
            [("broken".to_owned(), None), ("photos".to_owned(), Some(1))]
        );
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        let config = CorsConfigs::get(&again, "photos").await.unwrap().unwrap();
        assert_eq!(config.rules[0].allowed_methods, ["GET"]);

        again.bucket_deleted("photos").await.unwrap();
        assert!(!root.join(".cors/photos.xml").exists());
        assert!(matches!(
            settled(&again, "photos").await,
            Resolution::NoSuchBucket
        ));
        again.bucket_created("photos").await.unwrap();
        assert!(matches!(
            settled(&again, "photos").await,
            Resolution::NotConfigured
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
