//! All of the example's CORS storage, in this one module: the bucket CORS
//! configurations live in `{root}/.cors/{bucket}.xml` (`.json` is read
//! too), are read at start-up, written by `PutBucketCors` and removed by
//! `DeleteBucketCors`/`DeleteBucket`; the CORS layer reads them from the
//! core crate's in-memory [`Buckets`].
//!
//! `.cors` is not a bucket to s3s-fs: it lists as buckets only the
//! directories of the root whose names are valid bucket names, and a valid
//! name never starts with a dot (nor can a request name one).
//!
//! The rest of the example sees only [`CorsStore`], [`CorsStore::open`] and
//! the two traits it implements for the glue crate ([`BucketPolicies`] for
//! the layer, [`CorsConfigs`] for the `?cors` operations), so this module
//! can be replaced by the core crate's read-through source and directory
//! store without touching anything else.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use s3s::{S3Error, S3ErrorCode, S3Result};
use tower_s3_cors::config::CorsConfiguration;
use tower_s3_cors::{Buckets, Policy, Resolution, ResourceType};
use tower_s3_cors_s3s::{BucketPolicies, CorsConfigs};

/// The directory of the root that holds the CORS documents.
pub const CORS_DIR: &str = ".cors";

/// The example's bucket CORS configurations: files on disk, policies in
/// memory. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct CorsStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// What the layer reads: every bucket the backend has, with its policy.
    buckets: Buckets,
    /// One writer at a time, so the files and the memory agree.
    writes: tokio::sync::Mutex<()>,
}

/// What [`CorsStore::open`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every bucket, sorted, with the number of CORS rules it has (if any).
    pub buckets: Vec<(String, Option<usize>)>,
    /// Documents that were not loaded, and why.
    pub warnings: Vec<String>,
}

impl CorsStore {
    /// Opens the store of an s3s-fs `root`: creates `{root}/.cors` if
    /// needed, registers the buckets s3s-fs has (the directories it lists as
    /// buckets), and loads their documents. A document that S3 would refuse,
    /// or one for a bucket that does not exist, is skipped with a warning.
    ///
    /// # Errors
    ///
    /// When the root or the CORS directory cannot be read or created.
    pub fn open(root: &Path) -> io::Result<(Self, Loaded)> {
        let dir = root.join(CORS_DIR);
        std::fs::create_dir_all(&dir)?;
        let buckets = Buckets::path_style();
        let mut loaded = Loaded::default();
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
        let mut documents: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| document_bucket(path).is_some())
            .collect();
        documents.sort();
        for path in documents {
            let Some(bucket) = document_bucket(&path) else {
                continue;
            };
            let Some(handle) = buckets.get(bucket) else {
                loaded.warnings.push(format!(
                    "{}: no bucket {bucket:?}; not loaded",
                    path.display()
                ));
                continue;
            };
            if handle.is_configured() {
                loaded.warnings.push(format!(
                    "{}: bucket {bucket:?} has another document; not loaded",
                    path.display()
                ));
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            match Policy::from_document(&text) {
                Ok(policy) => {
                    let _ = handle.store(policy);
                }
                Err(err) => loaded.warnings.push(format!(
                    "{}: {} ({}: {}); not loaded",
                    path.display(),
                    err,
                    err.s3_code(),
                    err.s3_message()
                )),
            }
        }
        loaded.buckets = buckets
            .names()
            .into_iter()
            .map(|name| {
                let rules = buckets
                    .get(&name)
                    .and_then(|handle| handle.load())
                    .map(|policy| policy.len());
                (name, rules)
            })
            .collect();
        let store = Self {
            inner: Arc::new(Inner {
                dir,
                buckets,
                writes: tokio::sync::Mutex::new(()),
            }),
        };
        Ok((store, loaded))
    }

    /// The directory of the documents.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn path(&self, bucket: &str, extension: &str) -> PathBuf {
        self.inner.dir.join(format!("{bucket}.{extension}"))
    }

    /// Removes the bucket's documents, whatever their format.
    async fn remove_files(&self, bucket: &str) -> S3Result<()> {
        for extension in EXTENSIONS {
            match tokio::fs::remove_file(self.path(bucket, extension)).await {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(storage_error("remove", &err)),
            }
        }
        Ok(())
    }
}

/// The formats a document may be stored in; `PutBucketCors` writes XML.
const EXTENSIONS: [&str; 2] = ["xml", "json"];

/// The bucket a document file is for (`photos.xml` → `photos`).
fn document_bucket(path: &Path) -> Option<&str> {
    let extension = path.extension()?.to_str()?;
    if !EXTENSIONS.contains(&extension) {
        return None;
    }
    let bucket = path.file_stem()?.to_str()?;
    s3s::path::check_bucket_name(bucket).then_some(bucket)
}

fn storage_error(action: &str, err: &io::Error) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InternalError,
        format!("cannot {action} the CORS document: {err}"),
    )
}

impl BucketPolicies for CorsStore {
    fn resolve_bucket(&self, bucket: &str, resource: ResourceType) -> Resolution {
        self.inner.buckets.resolve_bucket(bucket, resource)
    }

    fn is_bucket_configured(&self, bucket: &str) -> bool {
        self.inner.buckets.is_bucket_configured(bucket)
    }
}

#[async_trait]
impl CorsConfigs for CorsStore {
    /// Writes `{bucket}.xml` (to a temporary file, then renamed over the old
    /// one), then serves the policy.
    async fn put(&self, bucket: &str, policy: Policy) -> S3Result<()> {
        let _write = self.inner.writes.lock().await;
        let document = policy.configuration().to_xml();
        let path = self.path(bucket, "xml");
        let temporary = self.inner.dir.join(format!(".{bucket}.xml.tmp"));
        tokio::fs::write(&temporary, document.as_bytes())
            .await
            .map_err(|err| storage_error("write", &err))?;
        tokio::fs::rename(&temporary, &path)
            .await
            .map_err(|err| storage_error("write", &err))?;
        match tokio::fs::remove_file(self.path(bucket, "json")).await {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(storage_error("replace", &err)),
        }
        let _ = self.inner.buckets.create(bucket).store(policy);
        Ok(())
    }

    async fn get(&self, bucket: &str) -> S3Result<Option<CorsConfiguration>> {
        CorsConfigs::get(&self.inner.buckets, bucket).await
    }

    async fn delete(&self, bucket: &str) -> S3Result<()> {
        let _write = self.inner.writes.lock().await;
        self.remove_files(bucket).await?;
        CorsConfigs::delete(&self.inner.buckets, bucket).await
    }

    async fn bucket_created(&self, bucket: &str) -> S3Result<()> {
        let _write = self.inner.writes.lock().await;
        self.remove_files(bucket).await?;
        self.inner.buckets.bucket_created(bucket).await
    }

    async fn bucket_deleted(&self, bucket: &str) -> S3Result<()> {
        let _write = self.inner.writes.lock().await;
        self.remove_files(bucket).await?;
        self.inner.buckets.bucket_deleted(bucket).await
    }
}

impl fmt::Debug for CorsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsStore")
            .field("dir", &self.inner.dir)
            .field("buckets", &self.inner.buckets)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

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

    #[tokio::test]
    async fn documents_survive_a_reopen_and_only_buckets_are_loaded() {
        let root = root("reopen");
        std::fs::create_dir(root.join("photos")).unwrap();
        std::fs::create_dir(root.join("Not_A_Bucket")).unwrap();
        let (store, loaded) = CorsStore::open(&root).unwrap();
        assert_eq!(loaded.buckets, [("photos".to_owned(), None)]);
        assert!(loaded.warnings.is_empty());

        store
            .put("photos", Policy::from_document(RULES).unwrap())
            .await
            .unwrap();
        assert!(root.join(".cors/photos.xml").is_file());
        assert!(store.is_bucket_configured("photos"));

        // Another document, for a bucket that does not exist, and a bad one.
        std::fs::write(root.join(".cors/ghost.json"), RULES).unwrap();
        std::fs::create_dir(root.join("broken")).unwrap();
        std::fs::write(root.join(".cors/broken.xml"), "<CORSConfiguration/>").unwrap();

        let (again, loaded) = CorsStore::open(&root).unwrap();
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
            again.resolve_bucket("photos", ResourceType::Object),
            Resolution::NoSuchBucket
        ));
        again.bucket_created("photos").await.unwrap();
        assert!(matches!(
            again.resolve_bucket("photos", ResourceType::Object),
            Resolution::NotConfigured
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
