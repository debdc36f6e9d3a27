//! [`ReadThroughBuilder`]: the settings of a [`ReadThrough`], checked when
//! it is built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use super::ReadThrough;
use super::cache::{ErrorHook, Inner};
use crate::config::Validation;
use crate::source::Addressing;
use crate::store::{BucketExists, DynExists, DynStore};

/// The default bound on cached buckets.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// The default time a store operation may take.
pub const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(2);
/// How long cached entries serve, by default, when the store pushes no
/// changes ([`Ttl::After`]).
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// How long "no such bucket" is cached, by default.
pub const DEFAULT_MISSING_BUCKET_TTL: Duration = Duration::from_secs(2);
/// How long a bucket whose first load failed answers "unavailable" before
/// the store is asked again, by default.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// How long a cached policy serves before it is read from the store again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ttl {
    /// Until the store's change stream says otherwise: for stores that push
    /// their changes ([`CorsStore::changes`](crate::store::CorsStore::changes)). An entry is then as fresh as
    /// the stream (a resync reloads every cached bucket).
    UntilChanged,
    /// An entry is read again from the store once it is this old: the read
    /// starts then, in the background, and the entry serves until it ends
    /// (at most the load timeout later). For stores that push no changes,
    /// or as a bound on top of a stream.
    After(Duration),
}

/// Why a [`ReadThroughBuilder`] could not build its [`ReadThrough`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildError {
    /// [`build`](ReadThroughBuilder::build) was called outside a Tokio
    /// runtime, and no [`runtime`](ReadThroughBuilder::runtime) was given.
    NoRuntime,
    /// A [`capacity`](ReadThroughBuilder::capacity) of zero: nothing could
    /// be cached, not even a load in progress.
    ZeroCapacity,
    /// A zero [`load_timeout`](ReadThroughBuilder::load_timeout): every
    /// store operation would fail.
    ZeroLoadTimeout,
    /// A zero [`Ttl::After`] or
    /// [`missing_bucket_ttl`](ReadThroughBuilder::missing_bucket_ttl):
    /// every entry would be stale as soon as it is made.
    ZeroTtl,
    /// [`Ttl::UntilChanged`] for a store that pushes no changes: its
    /// entries would never be read again.
    NoChangeStream,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoRuntime => {
                "no Tokio runtime: build the ReadThrough inside one, or give it one with runtime()"
            }
            Self::ZeroCapacity => "a capacity of zero buckets",
            Self::ZeroLoadTimeout => "a load timeout of zero",
            Self::ZeroTtl => "a time to live of zero",
            Self::NoChangeStream => {
                "Ttl::UntilChanged for a store that pushes no changes: give a Ttl::After"
            }
        })
    }
}

impl std::error::Error for BuildError {}

/// Builds a [`ReadThrough`]; from [`ReadThrough::builder`]. Every setting is
/// checked by [`build`](Self::build), which refuses what it could not honour.
#[must_use]
pub struct ReadThroughBuilder {
    store: Arc<dyn DynStore>,
    addressing: Addressing,
    exists: Option<Arc<dyn DynExists>>,
    settings: Settings,
    ttl: Option<Ttl>,
    on_error: Option<ErrorHook>,
    runtime: Option<Handle>,
}

/// The settings a built source runs with.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    pub(super) capacity: usize,
    pub(super) load_timeout: Duration,
    pub(super) retry_after: Duration,
    pub(super) missing_bucket_ttl: Duration,
    pub(super) validation: Validation,
}

impl ReadThroughBuilder {
    pub(super) fn new(store: Arc<dyn DynStore>) -> Self {
        Self {
            store,
            addressing: Addressing::path_style(),
            exists: None,
            settings: Settings {
                capacity: DEFAULT_CAPACITY,
                load_timeout: DEFAULT_LOAD_TIMEOUT,
                retry_after: DEFAULT_RETRY_AFTER,
                missing_bucket_ttl: DEFAULT_MISSING_BUCKET_TTL,
                validation: Validation::s3(),
            },
            ttl: None,
            on_error: None,
            runtime: None,
        }
    }

    /// How requests name their bucket; path style by default.
    pub fn addressing(mut self, addressing: impl Into<Addressing>) -> Self {
        self.addressing = addressing.into();
        self
    }

    /// Asks `exists` whether a bucket exists, before its document is read
    /// or written: a bucket it does not know resolves to
    /// [`BucketPolicy::NoSuchBucket`](crate::source::BucketPolicy::NoSuchBucket)
    /// (a preflight gets S3's "Bucket not found") and its `?cors` requests
    /// get `404 NoSuchBucket`. For servers whose buckets live elsewhere
    /// than their CORS documents: a closure (`|bucket: &str|
    /// root.join(bucket).is_dir()`) or the server's own backend.
    ///
    /// Without it, a bucket exists unless the store says otherwise.
    /// "No such bucket" is cached for
    /// [`missing_bucket_ttl`](Self::missing_bucket_ttl), so that a bucket
    /// created by a path that does not call
    /// [`bucket_created`](crate::source::BucketCors::bucket_created) is seen
    /// soon.
    pub fn bucket_exists(mut self, exists: impl BucketExists) -> Self {
        self.exists = Some(Arc::new(exists));
        self
    }

    /// At most this many buckets are cached ([`DEFAULT_CAPACITY`] by
    /// default), unless more first loads run at once (requests wait on an
    /// entry being loaded, so it is never evicted). An S3-FIFO eviction
    /// keeps the buckets that are asked for again: a new bucket enters a
    /// small queue (a tenth of the capacity) and leaves it soon unless it
    /// is asked for again; the eviction remembers a 4-byte hash of up to
    /// nine tenths of this many buckets it let go, so that one that comes
    /// back soon is kept longer.
    pub fn capacity(mut self, buckets: usize) -> Self {
        self.settings.capacity = buckets;
        self
    }

    /// How long a store operation may take before it counts as failed
    /// ([`DEFAULT_LOAD_TIMEOUT`] by default). A preflight never waits
    /// longer than this for its policy (twice this with
    /// [`bucket_exists`](Self::bucket_exists), which is asked first).
    pub fn load_timeout(mut self, timeout: Duration) -> Self {
        self.settings.load_timeout = timeout;
        self
    }

    /// How long a cached policy serves before it is read again. By default,
    /// [`Ttl::UntilChanged`] for a store that pushes changes and
    /// [`Ttl::After`]`(`[`DEFAULT_TTL`]`)` for one that does not.
    pub fn ttl(mut self, ttl: Ttl) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// How long "no such bucket" is cached before the bucket is looked up
    /// again ([`DEFAULT_MISSING_BUCKET_TTL`] by default). No change stream
    /// says when a bucket is created, so this holds with every [`Ttl`].
    pub fn missing_bucket_ttl(mut self, ttl: Duration) -> Self {
        self.settings.missing_bucket_ttl = ttl;
        self
    }

    /// How long a bucket whose first load failed answers "unavailable"
    /// before the store is asked again ([`DEFAULT_RETRY_AFTER`]; zero asks
    /// again on the next request).
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.settings.retry_after = wait;
        self
    }

    /// How documents are validated (S3's rules by default).
    pub fn validation(mut self, validation: Validation) -> Self {
        self.settings.validation = validation;
        self
    }

    /// Called with the bucket and the error whenever a load or a change
    /// fails (the store is down, a stored document does not validate); the
    /// cache keeps what it had.
    pub fn on_error(
        mut self,
        hook: impl Fn(&str, &crate::source::BucketError) + Send + Sync + 'static,
    ) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// The runtime that runs loads and watches the store (it needs its
    /// time driver, as `Runtime::new` and `#[tokio::main]` make it); by
    /// default the one [`build`](Self::build) is called in.
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// The source. Subscribes to the store's changes and starts the expiry
    /// of entries on the runtime.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for a setting it could not honour, or without a
    /// runtime.
    pub fn build(self) -> Result<ReadThrough, BuildError> {
        let settings = self.settings;
        if settings.capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        if settings.load_timeout.is_zero() {
            return Err(BuildError::ZeroLoadTimeout);
        }
        if settings.missing_bucket_ttl.is_zero() {
            return Err(BuildError::ZeroTtl);
        }
        let changes = self.store.changes();
        let ttl = match (self.ttl, &changes) {
            (Some(Ttl::After(ttl)), _) if ttl.is_zero() => return Err(BuildError::ZeroTtl),
            (Some(Ttl::UntilChanged), None) => return Err(BuildError::NoChangeStream),
            (Some(ttl), _) => ttl,
            (None, Some(_)) => Ttl::UntilChanged,
            (None, None) => Ttl::After(DEFAULT_TTL),
        };
        let runtime = match self.runtime {
            Some(handle) => handle,
            None => Handle::try_current().map_err(|_| BuildError::NoRuntime)?,
        };
        // The metrics registered with the recorder installed now.
        #[cfg(feature = "metrics")]
        crate::metrics::get();
        let inner = Inner::new(
            self.store,
            self.addressing,
            self.exists,
            settings,
            ttl,
            self.on_error,
            runtime,
        );
        inner.start_tasks(changes);
        Ok(ReadThrough { inner })
    }
}

impl fmt::Debug for ReadThroughBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadThroughBuilder")
            .field("store", &self.store)
            .field("addressing", &self.addressing)
            .field("bucket_exists", &self.exists.is_some())
            .field("settings", &self.settings)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
