//! Where bucket CORS documents live: the [`CorsStore`] trait, and the
//! stores that come with the crate.
//!
//! A store is the integrator's source of truth for bucket CORS: its own
//! metadata database, a directory of files, etcd. It keeps each bucket's
//! document *as written* (XML or either JSON shape), so `GetBucketCors`
//! can return what was put, and knows nothing of requests: the
//! read-through source in [`source`](crate::source) compiles what a store
//! holds into policies, caches them, and keeps them fresh from the store's
//! [change stream](CorsStore::changes).
//!
//! Stores are written with `async fn`s; the read-through source boxes their
//! futures itself (a store is called only when a bucket is not cached, or
//! written), so a server can still choose its store at run time.

#[cfg(feature = "dir-store")]
mod directory;
mod exists;
mod memory;

#[cfg(feature = "dir-store")]
pub use directory::{DEFAULT_DEBOUNCE, DirectoryStore};
pub use exists::BucketExists;
pub use memory::MemoryStore;

mod erased;

pub(crate) use erased::{DynExists, DynStore};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;

use crate::source::BucketError;

/// The source of truth for bucket CORS documents.
///
/// Implementations must be cheap to call concurrently (`&self`), and each
/// operation should finish or fail in bounded time; the read-through source
/// also puts a timeout on every call. Write the operations as `async fn`s;
/// the read-through source boxes them itself, so a server may still choose
/// its store at run time.
///
/// Bucket names are passed as [`Located`](crate::source::Located) gives
/// them: in lower case.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use tower_s3_cors::source::BucketError;
/// use tower_s3_cors::store::{CorsStore, Lookup, Version};
///
/// /// Documents in a map; versions count the writes.
/// #[derive(Debug, Default)]
/// struct Documents(Mutex<(u64, HashMap<String, Arc<str>>)>);
///
/// impl CorsStore for Documents {
///     async fn get(&self, bucket: &str) -> Result<Lookup, BucketError> {
///         let (version, map) = &*self.0.lock().unwrap();
///         Ok(match map.get(bucket) {
///             Some(text) => Lookup::Found(Arc::clone(text), Version::new(*version)),
///             None => Lookup::NotFound(Version::new(*version)),
///         })
///     }
///
///     async fn put(&self, bucket: &str, document: &str) -> Result<Version, BucketError> {
///         let (version, map) = &mut *self.0.lock().unwrap();
///         *version += 1;
///         map.insert(bucket.to_owned(), document.into());
///         Ok(Version::new(*version))
///     }
///
///     async fn delete(&self, bucket: &str) -> Result<Version, BucketError> {
///         let (version, map) = &mut *self.0.lock().unwrap();
///         *version += 1;
///         map.remove(bucket);
///         Ok(Version::new(*version))
///     }
/// }
/// ```
pub trait CorsStore: Send + Sync + fmt::Debug + 'static {
    /// The bucket's document and its version, or the version at which the
    /// store found none (the bucket has no CORS configuration).
    ///
    /// # Errors
    ///
    /// [NoSuchBucket](crate::source::BucketError::is_no_such_bucket) when
    /// the store knows buckets and this one does not exist;
    /// [Unavailable](crate::source::BucketError::is_unavailable) when the
    /// store cannot answer now.
    fn get(&self, bucket: &str) -> impl Future<Output = Result<Lookup, BucketError>> + Send;

    /// Replaces the bucket's document with `document`, kept as written
    /// (the caller has validated it). Returns the new version.
    ///
    /// # Errors
    ///
    /// As for [`get`](Self::get); after an error the store must hold either
    /// the old document or the new one, never a mix.
    fn put(
        &self,
        bucket: &str,
        document: &str,
    ) -> impl Future<Output = Result<Version, BucketError>> + Send;

    /// Removes the bucket's document (its CORS is then off). Removing a
    /// document that does not exist succeeds. Returns the version of the
    /// deletion, or [`Version::UNKNOWN`] when the store cannot tell.
    ///
    /// # Errors
    ///
    /// As for [`get`](Self::get).
    fn delete(&self, bucket: &str) -> impl Future<Output = Result<Version, BucketError>> + Send;

    /// Changes made to the store (by this process or any other), for stores
    /// that can push them; `None` (the provided method) for stores that
    /// cannot, whose cached entries then expire after a time to live.
    ///
    /// Each call starts a new subscription. A stream that may have missed
    /// changes (a reconnect, a lagging reader, a compacted history) says so
    /// with [`Change::Resync`] before going on. A stream that ends means the
    /// store stopped pushing changes for good.
    fn changes(&self) -> Option<impl Stream<Item = Change> + Send + 'static> {
        None::<Pin<Box<dyn Stream<Item = Change> + Send>>>
    }
}

impl<T: CorsStore> CorsStore for Arc<T> {
    fn get(&self, bucket: &str) -> impl Future<Output = Result<Lookup, BucketError>> + Send {
        (**self).get(bucket)
    }

    fn put(
        &self,
        bucket: &str,
        document: &str,
    ) -> impl Future<Output = Result<Version, BucketError>> + Send {
        (**self).put(bucket, document)
    }

    fn delete(&self, bucket: &str) -> impl Future<Output = Result<Version, BucketError>> + Send {
        (**self).delete(bucket)
    }

    fn changes(&self) -> Option<impl Stream<Item = Change> + Send + 'static> {
        (**self).changes()
    }
}

/// The version of a bucket's document in its store: a later write of the
/// same bucket has a greater version (etcd's mod revision, a counter, a
/// file's modification time).
///
/// Versions order the changes of one bucket, so that a late notification
/// never replaces a newer document. [`Version::UNKNOWN`] (0) is for stores
/// that cannot order writes; it is never considered older than anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// A version the store cannot order.
    pub const UNKNOWN: Self = Self(0);

    /// A version from the store's own number (0 means unknown).
    #[must_use]
    pub const fn new(version: u64) -> Self {
        Self(version)
    }

    /// The store's number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Whether this version is known to be older than `other`: both are
    /// known and this one is smaller.
    #[must_use]
    pub const fn is_older_than(self, other: Self) -> bool {
        self.0 != 0 && other.0 != 0 && self.0 < other.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What a store holds for a bucket, from [`CorsStore::get`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// The bucket's document, as written (S3 XML, or either JSON shape), and
    /// its version.
    Found(Arc<str>, Version),
    /// No document: the bucket has no CORS configuration. The version is the
    /// store's as of the read ([`Version::UNKNOWN`] if it cannot tell), so
    /// that a late answer never hides a newer document.
    NotFound(Version),
}

impl Lookup {
    /// The document, if one was found.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Found(text, _) => Some(text),
            Self::NotFound(_) => None,
        }
    }

    /// The version of what was found (or of finding nothing).
    #[must_use]
    pub fn version(&self) -> Version {
        match self {
            Self::Found(_, version) | Self::NotFound(version) => *version,
        }
    }
}

/// A change pushed by a store's [change stream](CorsStore::changes).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The bucket's document is now this one.
    Put {
        /// The bucket.
        bucket: String,
        /// Its new document, as written.
        text: Arc<str>,
        /// The version of the write.
        version: Version,
    },
    /// The bucket's document was removed at this version.
    Deleted {
        /// The bucket.
        bucket: String,
        /// The version of the deletion ([`Version::UNKNOWN`] if the store
        /// cannot tell).
        version: Version,
    },
    /// The bucket changed; read it again (for stores whose notifications do
    /// not carry the document).
    Stale {
        /// The bucket.
        bucket: String,
    },
    /// Changes may have been missed: every bucket may have changed.
    Resync,
}
