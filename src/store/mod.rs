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
//! The trait is object-safe (its futures are boxed), so a server can choose
//! its store at run time (`Arc<dyn CorsStore>`); a store is called only when
//! a bucket is not cached, or written.

#[cfg(feature = "dir-store")]
mod directory;
mod exists;
mod memory;

#[cfg(feature = "dir-store")]
pub use directory::{DEFAULT_DEBOUNCE, DirectoryStore};
pub use exists::BucketExists;
pub use memory::MemoryStore;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::source::BucketError;

/// The future of a [`CorsStore`] operation. Boxed, so that stores can be
/// chosen at run time (`Arc<dyn CorsStore>`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BucketError>> + Send + 'a>>;

/// A stream of [`Change`]s, from [`CorsStore::changes`].
pub type ChangeStream = Pin<Box<dyn futures_core::Stream<Item = Change> + Send>>;

/// The source of truth for bucket CORS documents.
///
/// Implementations must be cheap to call concurrently (`&self`), and each
/// operation should finish or fail in bounded time; the read-through source
/// also puts a timeout on every load.
///
/// Bucket names are passed as the request named them after
/// [`source`](crate::source) located them (lower case for the built-in
/// addressing).
pub trait CorsStore: Send + Sync + fmt::Debug {
    /// The bucket's document and its version, or the version at which the
    /// store found none (the bucket has no CORS configuration).
    ///
    /// # Errors
    ///
    /// [`NoSuchBucket`](crate::source::BucketErrorKind::NoSuchBucket) when
    /// the store knows buckets and this one does not exist;
    /// [`Unavailable`](crate::source::BucketErrorKind::Unavailable) when the
    /// store cannot answer now.
    fn get<'a>(&'a self, bucket: &'a str) -> StoreFuture<'a, Lookup>;

    /// Replaces the bucket's document with `document`, kept as written
    /// (the caller has validated it). Returns the new version.
    ///
    /// # Errors
    ///
    /// As for [`get`](Self::get); after an error the store must hold either
    /// the old document or the new one, never a mix.
    fn put<'a>(&'a self, bucket: &'a str, document: &'a str) -> StoreFuture<'a, Version>;

    /// Removes the bucket's document (its CORS is then off). Removing a
    /// document that does not exist succeeds. Returns the version of the
    /// deletion, or [`Version::UNKNOWN`] when the store cannot tell.
    ///
    /// # Errors
    ///
    /// As for [`get`](Self::get).
    fn delete<'a>(&'a self, bucket: &'a str) -> StoreFuture<'a, Version>;

    /// Changes made to the store (by this process or any other), for stores
    /// that can push them; `None` (the provided method) for stores that
    /// cannot, whose cached entries then expire after a time to live.
    ///
    /// Each call starts a new subscription. A stream that may have missed
    /// changes (a reconnect, a lagging reader, a compacted history) says so
    /// with [`Change::Resync`] before going on. A stream that ends means the
    /// store stopped pushing changes for good.
    fn changes(&self) -> Option<ChangeStream> {
        None
    }
}

impl<T: CorsStore + ?Sized> CorsStore for Arc<T> {
    fn get<'a>(&'a self, bucket: &'a str) -> StoreFuture<'a, Lookup> {
        (**self).get(bucket)
    }

    fn put<'a>(&'a self, bucket: &'a str, document: &'a str) -> StoreFuture<'a, Version> {
        (**self).put(bucket, document)
    }

    fn delete<'a>(&'a self, bucket: &'a str) -> StoreFuture<'a, Version> {
        (**self).delete(bucket)
    }

    fn changes(&self) -> Option<ChangeStream> {
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

/// A bucket's document as its store holds it: the text as written, and its
/// version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoredDocument {
    text: Arc<str>,
    version: Version,
}

impl StoredDocument {
    /// A document and its version.
    #[must_use]
    pub fn new(text: impl Into<Arc<str>>, version: Version) -> Self {
        Self {
            text: text.into(),
            version,
        }
    }

    /// The document, as written (S3 XML, or either JSON shape).
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The document's version.
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }
}

/// What a store holds for a bucket, from [`CorsStore::get`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// The bucket's document.
    Found(StoredDocument),
    /// No document: the bucket has no CORS configuration. The version is the
    /// store's as of the read ([`Version::UNKNOWN`] if it cannot tell), so
    /// that a late answer never hides a newer document.
    NotFound(Version),
}

impl Lookup {
    /// The document, if one was found.
    #[must_use]
    pub fn into_document(self) -> Option<StoredDocument> {
        match self {
            Self::Found(document) => Some(document),
            Self::NotFound(_) => None,
        }
    }

    /// The version of what was found (or of finding nothing).
    #[must_use]
    pub fn version(&self) -> Version {
        match self {
            Self::Found(document) => document.version(),
            Self::NotFound(version) => *version,
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
        /// Its new document.
        document: StoredDocument,
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
