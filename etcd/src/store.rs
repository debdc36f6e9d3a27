//! [`EtcdStore`]: the [`CorsStore`] over etcd's key-value API.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use etcd_client::{
    Compare, CompareOp, GetOptions, KeyValue, KvClient, ResponseHeader, Txn, TxnOp, TxnOpResponse,
};
use tokio::runtime::Handle;
use tower_s3_cors::source::BucketError;
use tower_s3_cors::store::{Change, CorsStore, Lookup, Version};

use crate::error::{ConnectError, ConnectErrorKind};
use crate::freshness::Freshness;
use crate::members::Members;
use crate::{EtcdConfig, EtcdError, watch};

/// How many times a write reads the key again when another write came
/// between its read and its own (within the request timeout).
const MAX_WRITE_ATTEMPTS: usize = 16;

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
/// member that answered last and moves on to the next when a member fails
/// (cannot be reached, does not answer in its share of the time, has no
/// leader), going round again while the request timeout allows; the change
/// stream moves on likewise, and notices a member that hangs within two
/// [progress intervals](EtcdConfig::watch_progress).
///
/// # Errors and logs
///
/// Each failed operation's [`BucketError`] has an [`EtcdError`] as its
/// source ([`EtcdError::of`]): its kind tells an unreachable or hung
/// member from a refused certificate, refused credentials or a missing
/// permission, and it names the member. The store logs with `tracing`: a
/// failed operation (warning), a member that fails and one that is back, a
/// change stream that is lost and moved (warning, "may be stale"), and
/// reopened with its resync (info). [`possibly_stale_since`] and
/// [`on_stale_change`] tell the same to a program (a gauge).
///
/// [`possibly_stale_since`]: Self::possibly_stale_since
/// [`on_stale_change`]: Self::on_stale_change
///
/// The store connects lazily: [`connect`](Self::connect) returns at once,
/// even when etcd is down, and each operation fails with
/// [unavailable](BucketError::is_unavailable) within the
/// [request timeout](EtcdConfig::request_timeout) while etcd cannot be
/// reached. It is cheap to clone (one connection pool for all clones); the
/// change streams end when the last clone is dropped.
///
/// Removing a document that does not exist succeeds with etcd's current
/// revision (etcd writes nothing then).
///
/// # Writes and their answers
///
/// A write reads the key, then writes only if the key has not changed
/// since (an etcd transaction on its mod revision), reading again and
/// retrying when another write came between. So:
///
/// - writing the document the key already holds writes nothing and
///   answers the key's revision: a retried write is a no-op;
/// - a write that failed (timed out: [unavailable](BucketError::is_unavailable), S3's
///   `503`) may still be applied by etcd later, once it has quorum, but
///   only if nothing else changed the key meanwhile: it can never land on
///   top of a write that was answered after it was sent (the revision it
///   was guarded by is gone), so a write answered with success is never
///   undone by a late one. An unanswered write is "unknown": retry it (the
///   retry is a no-op if the first one landed).
///
/// Bucket names must be non-empty, at most [`MAX_BUCKET_LEN`] bytes and
/// without `/` (S3's names never have one); others are
/// [invalid](BucketError::is_invalid). The store does not know which buckets
/// exist, so it never answers
/// [no such bucket](BucketError::is_no_such_bucket).
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
    freshness: Arc<Freshness>,
    runtime: Handle,
    /// The greatest revision seen in any answer of etcd: where a new change
    /// stream starts (see [`watch`]).
    seen: AtomicI64,
    /// Dropped with the last handle to the store, which ends every change
    /// stream's task.
    alive: tokio::sync::watch::Sender<()>,
    /// This store's writes, paired with their arrival on its change
    /// streams.
    #[cfg(feature = "metrics")]
    lag: Arc<crate::metrics::Lag>,
}

impl EtcdStore {
    /// A store over the etcd of `config`.
    ///
    /// Returns without contacting etcd: a process can start while etcd is
    /// down, and the store connects on first use (and again after a lost
    /// connection).
    ///
    /// With a [user](EtcdConfig::user), it logs in on first use too.
    ///
    /// # Errors
    ///
    /// [`ConnectErrorKind::Endpoint`] when there is no endpoint or the etcd
    /// client refuses one, [`ConnectErrorKind::Tls`] for TLS settings that
    /// cannot be used (a certificate or key that does not read, `https://`
    /// members without an authority), [`ConnectErrorKind::NoRuntime`] when
    /// not called within a Tokio runtime.
    pub async fn connect(config: EtcdConfig) -> Result<Self, ConnectError> {
        let runtime =
            Handle::try_current().map_err(|e| ConnectError::new(ConnectErrorKind::NoRuntime, e))?;
        let (alive, alive_receiver) = tokio::sync::watch::channel(());
        let members = Arc::new(Members::connect(&config, runtime.clone(), alive_receiver).await?);
        Ok(Self {
            inner: Arc::new(Inner {
                members,
                freshness: Arc::default(),
                config,
                runtime,
                seen: AtomicI64::new(0),
                alive,
                #[cfg(feature = "metrics")]
                lag: Arc::default(),
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
    /// [invalid](BucketError::is_invalid) for a name the store does not accept:
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
    /// [unavailable](BucketError::is_unavailable) when etcd cannot be reached in time.
    pub async fn current_revision(&self) -> Result<Version, BucketError> {
        let prefix = self.inner.config.key_prefix();
        let timeout = self.inner.config.request_timeout;
        let response = self
            .call("read the current revision", timeout, |mut kv| {
                let options = GetOptions::new().with_prefix().with_count_only();
                let prefix = prefix.to_owned();
                async move { kv.get(prefix, Some(options)).await }
            })
            .await?;
        Ok(version(self.inner.note(response.header())))
    }

    /// Since when the buckets a reader cached from this store's change
    /// streams may be stale, if they may be: a stream's watch was lost (or
    /// its member went silent) and is not open again yet, or has not opened
    /// yet. `None` while every stream's watch is open.
    #[must_use]
    pub fn possibly_stale_since(&self) -> Option<Instant> {
        self.inner.freshness.since()
    }

    /// Calls `hook` with `true` when the store becomes possibly stale (see
    /// [`possibly_stale_since`](Self::possibly_stale_since)) and with
    /// `false` when every change stream is open again; at once, with the
    /// state now. For a gauge. A second hook replaces the first.
    pub fn on_stale_change(&self, hook: impl Fn(bool) + Send + Sync + 'static) {
        self.inner.freshness.set_hook(Arc::new(hook));
    }

    /// Runs one etcd call on the members within `timeout`; a failure is
    /// logged.
    async fn call<T, F, Fut>(
        &self,
        doing: &str,
        timeout: Duration,
        call: F,
    ) -> Result<T, BucketError>
    where
        F: FnMut(KvClient) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        match self.inner.members.call(timeout, call).await {
            Ok(answer) => Ok(answer),
            Err(error) => {
                tracing::warn!("etcd store: could not {doing}: {error}");
                Err(error.into_store_error(doing))
            }
        }
    }

    /// The time left until `deadline`, or the error for a write that ran
    /// out of it.
    fn left(doing: &str, deadline: Instant, timeout: Duration) -> Result<Duration, BucketError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let error = EtcdError::timed_out(None, timeout);
            tracing::warn!("etcd store: could not {doing}: {error}");
            return Err(error.into_store_error(doing));
        }
        Ok(left)
    }

    /// The key's value and mod revision (0 when absent), read now
    /// (`Linearizable`: as of a moment within the call, through the
    /// leader), or as the member has it (`Serializable`: maybe behind,
    /// without the cluster's quorum).
    async fn read_key(
        &self,
        doing: &str,
        key: &str,
        read: Read,
        timeout: Duration,
    ) -> Result<Current, BucketError> {
        let mut response = self
            .call(doing, timeout, |mut kv| {
                let key = key.to_owned();
                let options = match read {
                    Read::Linearizable => None,
                    Read::Serializable => Some(GetOptions::new().with_serializable()),
                };
                async move { kv.get(key, options).await }
            })
            .await?;
        let read_at = self.inner.note(response.header());
        let kv = response.take_kvs().into_iter().next();
        Ok(Current::new(kv, read_at, read == Read::Linearizable))
    }

    /// Writes `document` on `key` (a delete for `None`), guarded by the
    /// key's mod revision, until it lands or the key holds `document`
    /// already (read linearizably, so that "already" holds when the answer
    /// is given); see "Writes and their answers" on [`EtcdStore`].
    async fn write(
        &self,
        doing: &str,
        key: &str,
        document: Option<&str>,
    ) -> Result<Version, BucketError> {
        let timeout = self.inner.config.request_timeout;
        let deadline = Instant::now() + timeout;
        let operation = match document {
            Some(document) => TxnOp::put(key, document, None),
            None => TxnOp::delete(key, None),
        };
        // The member's own view first: a write then needs no quorum to be
        // sent, and a guard from a view that is behind only fails (the
        // transaction then reads the key through the leader).
        let mut current = self
            .read_key(doing, key, Read::Serializable, timeout)
            .await?;
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let left = Self::left(doing, deadline, timeout)?;
            if current.value.as_deref() == document.map(str::as_bytes) {
                if current.linearizable {
                    // Nothing to write: the key's version (or, absent,
                    // etcd's revision as of the read).
                    return Ok(version(match document {
                        Some(_) => current.mod_revision,
                        None => current.read_at,
                    }));
                }
                current = self.read_key(doing, key, Read::Linearizable, left).await?;
                continue;
            }
            match self
                .write_if_unchanged(doing, key, &current, &operation, left)
                .await?
            {
                Ok(revision) => return Ok(version(revision)),
                Err(now) => current = now,
            }
        }
        Err(contended(doing))
    }

    /// Writes `operation` on `key` unless the key changed since `current`
    /// was read; otherwise what the key holds now.
    async fn write_if_unchanged(
        &self,
        doing: &str,
        key: &str,
        current: &Current,
        operation: &TxnOp,
        timeout: Duration,
    ) -> Result<Result<i64, Current>, BucketError> {
        let guard = current.mod_revision;
        #[cfg(feature = "metrics")]
        let sent = Instant::now();
        let response = self
            .call(doing, timeout, |mut kv| {
                let txn = Txn::new()
                    .when([Compare::mod_revision(key, CompareOp::Equal, guard)])
                    .and_then([operation.clone()])
                    .or_else([TxnOp::get(key, None)]);
                async move { kv.txn(txn).await }
            })
            .await?;
        let revision = self.inner.note(response.header());
        if response.succeeded() {
            #[cfg(feature = "metrics")]
            self.inner.lag.written(revision, sent);
            return Ok(Ok(revision));
        }
        let now = response
            .op_responses()
            .into_iter()
            .find_map(|answer| match answer {
                TxnOpResponse::Get(mut get) => get.take_kvs().into_iter().next(),
                _ => None,
            });
        // A transaction that writes is ordered by the leader: what it read
        // is current.
        Ok(Err(Current::new(now, revision, true)))
    }
}

/// How a key is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    /// Through the leader: as of a moment within the call.
    Linearizable,
    /// As the member has it, maybe behind.
    Serializable,
}

/// What a key holds as of a read.
struct Current {
    /// Its value, if it exists.
    value: Option<Vec<u8>>,
    /// Its mod revision; 0 when it does not exist.
    mod_revision: i64,
    /// The revision of the read.
    read_at: i64,
    /// Whether the read was linearizable.
    linearizable: bool,
}

impl Current {
    fn new(kv: Option<KeyValue>, read_at: i64, linearizable: bool) -> Self {
        let (value, mod_revision) = match kv {
            Some(kv) => {
                let mod_revision = kv.mod_revision();
                let (_, value) = kv.into_key_value();
                (Some(value), mod_revision)
            }
            None => (None, 0),
        };
        Self {
            value,
            mod_revision,
            read_at,
            linearizable,
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
        {
            let key = self.key(bucket)?;
            let doing = format!("read bucket {bucket:?}");
            let timeout = self.inner.config.request_timeout;
            let current = self
                .read_key(&doing, &key, Read::Linearizable, timeout)
                .await?;
            let Some(value) = current.value else {
                // Not there as of the read's revision.
                return Ok(Lookup::NotFound(version(current.read_at)));
            };
            let revision = current.mod_revision;
            let text = String::from_utf8(value).map_err(|e| {
                BucketError::invalid(e).with_context(format!(
                    "the document of bucket {bucket:?} (revision {revision}) is not UTF-8"
                ))
            })?;
            Ok(Lookup::Found(text.into(), version(revision)))
        }
    }

    /// Reads the key, then writes the document unless the key changed
    /// meanwhile (reading again and retrying if it did); writes nothing
    /// and answers the key's revision when it holds this very document
    /// already. See "Writes and their answers" on [`EtcdStore`].
    async fn put(&self, bucket: &str, document: &str) -> Result<Version, BucketError> {
        {
            let key = self.key(bucket)?;
            self.write(&format!("write bucket {bucket:?}"), &key, Some(document))
                .await
        }
    }

    /// Reads the key, then deletes it unless it changed meanwhile (reading
    /// again and retrying if it did); deletes nothing and answers etcd's
    /// revision when there is nothing to delete.
    async fn delete(&self, bucket: &str) -> Result<Version, BucketError> {
        {
            let key = self.key(bucket)?;
            self.write(&format!("delete bucket {bucket:?}"), &key, None)
                .await
        }
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
                progress_interval: inner.config.progress_interval,
                freshness: inner.freshness.stream(),
                backoff: watch::Backoff::new(
                    inner.config.backoff_initial,
                    inner.config.backoff_max,
                ),
                // Nothing seen yet: start at etcd's revision when the watch
                // opens, and resync then.
                start: (seen > 0).then_some(seen + 1),
                alive: inner.alive.subscribe(),
                #[cfg(feature = "metrics")]
                lag: Arc::clone(&inner.lag),
            },
        ))
    }
}

/// The error for a write that lost to other writes of the same key every
/// time it tried (each of which etcd took).
fn contended(doing: &str) -> BucketError {
    let error = EtcdError::new(crate::EtcdErrorKind::Other, None).with_detail(format!(
        "other writes of the key came first {MAX_WRITE_ATTEMPTS} times"
    ));
    tracing::warn!("etcd store: could not {doing}: {error}");
    error.into_store_error(doing)
}

impl fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.inner.config.endpoints())
            .field("prefix", &self.inner.config.key_prefix())
            .field("user", &self.inner.config.user_name())
            .field("tls", &self.inner.config.tls_settings().is_some())
            .finish_non_exhaustive()
    }
}
