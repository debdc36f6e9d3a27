//! [`EtcdStore`]: the [`CorsStore`] over etcd's key-value API.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use etcd_client::{GetOptions, KvClient, ResponseHeader};
use tokio::runtime::Handle;
use tower_s3_cors::source::BucketError;
use tower_s3_cors::store::{Change, CorsStore, Lookup, Version};

use crate::EtcdConfig;
use crate::error::{ConnectError, ConnectErrorKind, store_error};
use crate::members::{Failure, Members};
use crate::watch;

/// The longest bucket name the store accepts (S3's own limit is 63 bytes;
/// this one only keeps keys small).
pub const MAX_BUCKET_LEN: usize = 1024;

/// Bucket CORS documents kept in etcd, shared by every process that uses
/// the same etcd and key prefix.
///
/// Each bucket's document is the value of the key `{prefix}{bucket}` (see
/// [`EtcdConfig`]), stored byte for byte as written; its
/// [`Version`] is the key's *mod revision*, etcd's cluster-wide write
/// counter, so versions from every process order the same way. The
/// [change stream](CorsStore::changes) is an etcd watch on the prefix that
/// resumes where it stopped.
///
/// With several members (`etcd://h1:p1,h2:p2/…`), each request goes to the
/// member that answered last and moves on to the next when a member cannot
/// be reached, within the request timeout; the change stream does the same
/// when it reopens its watch.
///
/// The store connects lazily: [`connect`](Self::connect) returns at once,
/// even when etcd is down, and each operation fails with
/// [unavailable](tower_s3_cors::source::BucketError::is_unavailable) within the
/// [request timeout](EtcdConfig::request_timeout) while etcd cannot be
/// reached. It is cheap to clone (one connection pool for all clones); the
/// change streams end when the last clone is dropped.
///
/// Removing a document that does not exist succeeds with etcd's current
/// revision (etcd writes nothing then).
///
/// Bucket names must be non-empty, at most [`MAX_BUCKET_LEN`] bytes and
/// without `/` (S3's names never have one); others are
/// [invalid](tower_s3_cors::source::BucketError::is_invalid). The store does not know which buckets
/// exist, so it never answers
/// [NoSuchBucket](tower_s3_cors::source::BucketError::is_no_such_bucket).
///
/// # Examples
///
/// ```no_run
/// use tower_s3_cors::store::CorsStore;
/// use tower_s3_cors_etcd::EtcdStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = EtcdStore::connect_url("etcd://127.0.0.1:2379/prod/cors").await?;
///
/// let version = store
///     .put("photos", r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]"#)
///     .await?;
/// let stored = store.get("photos").await?;
/// assert_eq!(stored.version(), version);
/// assert!(stored.text().is_some_and(|text| text.contains("AllowedOrigins")));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct EtcdStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: EtcdConfig,
    members: Arc<Members>,
    runtime: Handle,
    /// The greatest revision seen in any answer of etcd: where a new change
    /// stream starts (see [`watch`]).
    seen: AtomicI64,
    /// Dropped with the last handle to the store, which ends every change
    /// stream's task.
    alive: tokio::sync::watch::Sender<()>,
}

impl EtcdStore {
    /// A store over the etcd of `config`.
    ///
    /// Returns without contacting etcd: a process can start while etcd is
    /// down, and the store connects on first use (and again after a lost
    /// connection).
    ///
    /// # Errors
    ///
    /// [`ConnectErrorKind::Endpoint`] when there is no endpoint or the etcd
    /// client refuses one, [`ConnectErrorKind::NoRuntime`] when not called
    /// within a Tokio runtime.
    pub async fn connect(config: EtcdConfig) -> Result<Self, ConnectError> {
        let runtime =
            Handle::try_current().map_err(|e| ConnectError::new(ConnectErrorKind::NoRuntime, e))?;
        let members = Arc::new(Members::connect(&config).await?);
        let (alive, _) = tokio::sync::watch::channel(());
        Ok(Self {
            inner: Arc::new(Inner {
                members,
                config,
                runtime,
                seen: AtomicI64::new(0),
                alive,
            }),
        })
    }

    /// A store over the etcd of an `etcd://HOST:PORT[/PREFIX]` URL (see
    /// [`EtcdConfig::from_url`]), with the default timeouts.
    ///
    /// # Errors
    ///
    /// [`ConnectErrorKind::Url`] (with the [`UrlError`](crate::UrlError) as its source) when
    /// the URL cannot be read; otherwise as [`connect`](Self::connect).
    pub async fn connect_url(url: &str) -> Result<Self, ConnectError> {
        let config = EtcdConfig::from_url(url).map_err(ConnectError::from)?;
        Self::connect(config).await
    }

    /// The configuration the store was made with.
    #[must_use]
    pub fn config(&self) -> &EtcdConfig {
        &self.inner.config
    }

    /// The key of `bucket`'s document: `{prefix}{bucket}`.
    ///
    /// # Errors
    ///
    /// [invalid](tower_s3_cors::source::BucketError::is_invalid) for a name the store does not accept:
    /// empty, longer than [`MAX_BUCKET_LEN`], or with a `/`.
    pub fn key(&self, bucket: &str) -> Result<String, BucketError> {
        match bucket_error(bucket) {
            None => Ok(format!("{}{bucket}", self.inner.config.key_prefix())),
            Some(error) => Err(error),
        }
    }

    /// etcd's current revision: every write so far has a version no
    /// greater than this. A cheap way to check that etcd answers.
    ///
    /// # Errors
    ///
    /// [unavailable](tower_s3_cors::source::BucketError::is_unavailable) when etcd cannot be reached in time.
    pub async fn current_revision(&self) -> Result<Version, BucketError> {
        let prefix = self.inner.config.key_prefix();
        let response = self
            .call("read the current revision".to_owned(), |mut kv| {
                let options = GetOptions::new().with_prefix().with_count_only();
                let prefix = prefix.to_owned();
                async move { kv.get(prefix, Some(options)).await }
            })
            .await?;
        Ok(version(self.inner.note(response.header())))
    }

    /// Runs one etcd call on the members within the request timeout.
    async fn call<T, F, Fut>(&self, doing: String, call: F) -> Result<T, BucketError>
    where
        F: FnMut(KvClient) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let timeout = self.inner.config.request_timeout;
        match self.inner.members.call(timeout, call).await {
            Ok(answer) => Ok(answer),
            Err(Failure::Etcd(error)) => Err(store_error(error, format!("could not {doing}"))),
            Err(Failure::TimedOut(timed_out)) => {
                Err(BucketError::unavailable(timed_out).with_context(format!("could not {doing}")))
            }
        }
    }
}

impl Inner {
    /// Remembers the revision of an answer; returns it (0 without a header).
    fn note(&self, header: Option<&ResponseHeader>) -> i64 {
        let revision = header.map_or(0, ResponseHeader::revision);
        self.seen.fetch_max(revision, Ordering::AcqRel);
        revision
    }
}

/// Why `bucket` cannot name a key, if it cannot.
pub(crate) fn bucket_error(bucket: &str) -> Option<BucketError> {
    let why = if bucket.is_empty() {
        "the bucket name is empty".to_owned()
    } else if bucket.len() > MAX_BUCKET_LEN {
        format!("the bucket name is longer than {MAX_BUCKET_LEN} bytes")
    } else if bucket.contains('/') {
        "the bucket name contains `/`".to_owned()
    } else {
        return None;
    };
    Some(BucketError::invalid(why))
}

/// A version from an etcd revision (which is positive; anything else is
/// [`Version::UNKNOWN`]).
pub(crate) fn version(revision: i64) -> Version {
    u64::try_from(revision).map_or(Version::UNKNOWN, Version::new)
}

impl CorsStore for EtcdStore {
    async fn get(&self, bucket: &str) -> Result<Lookup, BucketError> {
        let key = self.key(bucket)?;
        let mut response = self
            .call(format!("read bucket {bucket:?}"), |mut kv| {
                let key = key.clone();
                async move { kv.get(key, None).await }
            })
            .await?;
        let read_at = self.inner.note(response.header());
        let Some(kv) = response.take_kvs().into_iter().next() else {
            // Not there as of the read's revision.
            return Ok(Lookup::NotFound(version(read_at)));
        };
        let revision = kv.mod_revision();
        let (_, value) = kv.into_key_value();
        let text = String::from_utf8(value).map_err(|e| {
            BucketError::invalid(e).with_context(format!(
                "the document of bucket {bucket:?} (revision {revision}) is not UTF-8"
            ))
        })?;
        Ok(Lookup::Found(text.into(), version(revision)))
    }

    async fn put(&self, bucket: &str, document: &str) -> Result<Version, BucketError> {
        let key = self.key(bucket)?;
        let response = self
            .call(format!("write bucket {bucket:?}"), |mut kv| {
                let key = key.clone();
                async move { kv.put(key, document, None).await }
            })
            .await?;
        Ok(version(self.inner.note(response.header())))
    }

    async fn delete(&self, bucket: &str) -> Result<Version, BucketError> {
        let key = self.key(bucket)?;
        let response = self
            .call(format!("delete bucket {bucket:?}"), |mut kv| {
                let key = key.clone();
                async move { kv.delete(key, None).await }
            })
            .await?;
        Ok(version(self.inner.note(response.header())))
    }

    /// A watch on the prefix, from just after the greatest revision this
    /// store has seen (so it misses nothing written after anything read
    /// through this store), resumed after a lost connection from the last
    /// revision it delivered.
    ///
    /// - Puts and deletes come as [`Change::Put`] (with the key's mod
    ///   revision) and [`Change::Deleted`] (with the revision of the
    ///   deletion), in revision order. A value that is not UTF-8 comes as
    ///   [`Change::Stale`], so that a reader's `get` reports it.
    /// - [`Change::Resync`] comes whenever the stream could not be sure it
    ///   is gap-free: after the watch was reopened following a lost
    ///   connection or a failed first attempt (it then delivers the changes
    ///   made meanwhile, as far as etcd still has them), when etcd does not
    ///   have the revisions it was to resume from (compacted; or an etcd
    ///   that lost its data and started again from revision 1: it then goes
    ///   on from etcd's current revision), and first thing when the store
    ///   had not talked to etcd before the stream was made (it cannot know
    ///   what was read meanwhile). A reader that reloads what it caches on
    ///   `Resync` misses nothing: the new watch is open by then. It should
    ///   take what it reloads as it is, whatever its version: an etcd that
    ///   lost its data counts revisions again from 1.
    /// - Keys under the prefix that are not bucket names (with a `/`, not
    ///   UTF-8) are skipped.
    ///
    /// The stream ends when every handle to the store has been dropped;
    /// dropping the stream stops its watch.
    ///
    /// [`Change::Put`]: tower_s3_cors::store::Change::Put
    /// [`Change::Deleted`]: tower_s3_cors::store::Change::Deleted
    /// [`Change::Stale`]: tower_s3_cors::store::Change::Stale
    /// [`Change::Resync`]: tower_s3_cors::store::Change::Resync
    fn changes(&self) -> Option<impl futures_core::Stream<Item = Change> + Send + 'static> {
        let inner = &self.inner;
        let seen = inner.seen.load(Ordering::Acquire);
        Some(watch::spawn(
            &inner.runtime,
            watch::Watch {
                members: Arc::clone(&inner.members),
                prefix: inner.config.key_prefix().to_owned(),
                request_timeout: inner.config.request_timeout,
                backoff: watch::Backoff::new(
                    inner.config.backoff_initial,
                    inner.config.backoff_max,
                ),
                // Nothing seen yet: start at etcd's revision when the watch
                // opens, and resync then.
                start: (seen > 0).then_some(seen + 1),
                alive: inner.alive.subscribe(),
            },
        ))
    }
}

impl fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.inner.config.endpoints())
            .field("prefix", &self.inner.config.key_prefix())
            .finish_non_exhaustive()
    }
}
