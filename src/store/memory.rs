//! [`MemoryStore`]: documents in this process's memory.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use super::{Change, CorsStore, Lookup, Version};
use crate::source::BucketError;

/// How many changes a slow subscriber may have waiting before it is told to
/// resync instead.
const BACKLOG: usize = 1024;

/// A store in this process's memory: for tests, and for servers that keep
/// bucket CORS nowhere else.
///
/// Versions count writes (1, 2, …) across the whole store, and every write
/// is pushed to every [change stream](CorsStore::changes), so several
/// read-through sources over one `MemoryStore` (a fleet in one process)
/// stay in step. A subscriber that falls more than 1,024 changes behind is
/// sent [`Change::Resync`] instead.
///
/// A `MemoryStore` knows no buckets: it never answers
/// [NoSuchBucket](crate::source::BucketError::is_no_such_bucket). Clones share the
/// documents.
///
/// ```
/// use tower_s3_cors::store::{CorsStore, Lookup, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tower_s3_cors::source::BucketError> {
/// let store = MemoryStore::new();
/// let version = store.put("photos", r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#).await?;
/// let Lookup::Found(text, found) = store.get("photos").await? else { unreachable!() };
/// assert_eq!(found, version);
/// assert!(text.contains("AllowedOrigins"));
///
/// let deleted = store.delete("photos").await?;
/// assert_eq!(store.get("photos").await?, Lookup::NotFound(deleted));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    shared: Arc<Mutex<Shared>>,
}

#[derive(Default)]
struct Shared {
    /// Each bucket's document and the version of its write.
    documents: HashMap<String, (Arc<str>, Version)>,
    /// The version of the last write.
    version: u64,
    subscribers: Vec<Subscriber>,
}

struct Subscriber {
    sender: mpsc::Sender<Change>,
    /// A change could not be queued: the next one that can is a resync.
    lagged: bool,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        // Every update below leaves the state whole before it can panic.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies a write and tells every subscriber.
    fn write(&self, bucket: &str, document: Option<&str>) -> Version {
        let mut shared = self.shared();
        shared.version += 1;
        let version = Version::new(shared.version);
        let change = match document {
            Some(text) => {
                let text: Arc<str> = text.into();
                shared
                    .documents
                    .insert(bucket.to_owned(), (Arc::clone(&text), version));
                Change::Put {
                    bucket: bucket.to_owned(),
                    text,
                    version,
                }
            }
            None => {
                shared.documents.remove(bucket);
                Change::Deleted {
                    bucket: bucket.to_owned(),
                    version,
                }
            }
        };
        shared.subscribers.retain_mut(|subscriber| {
            if subscriber.lagged {
                match subscriber.sender.try_send(Change::Resync) {
                    Ok(()) => subscriber.lagged = false,
                    Err(mpsc::error::TrySendError::Full(_)) => return true,
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            match subscriber.sender.try_send(change.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    subscriber.lagged = true;
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        version
    }
}

impl CorsStore for MemoryStore {
    async fn get(&self, bucket: &str) -> Result<Lookup, BucketError> {
        let shared = self.shared();
        Ok(match shared.documents.get(bucket) {
            Some((text, version)) => Lookup::Found(Arc::clone(text), *version),
            None => Lookup::NotFound(Version::new(shared.version)),
        })
    }

    async fn put(&self, bucket: &str, document: &str) -> Result<Version, BucketError> {
        Ok(self.write(bucket, Some(document)))
    }

    async fn delete(&self, bucket: &str) -> Result<Version, BucketError> {
        Ok(self.write(bucket, None))
    }

    fn changes(&self) -> Option<impl futures_core::Stream<Item = Change> + Send + 'static> {
        let (sender, receiver) = mpsc::channel(BACKLOG);
        self.shared().subscribers.push(Subscriber {
            sender,
            lagged: false,
        });
        Some(Changes { receiver })
    }
}

/// The change stream of a [`MemoryStore`].
struct Changes {
    receiver: mpsc::Receiver<Change>,
}

impl futures_core::Stream for Changes {
    type Item = Change;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Change>> {
        self.receiver.poll_recv(cx)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.shared();
        f.debug_struct("MemoryStore")
            .field("buckets", &shared.documents.len())
            .field("version", &shared.version)
            .field("subscribers", &shared.subscribers.len())
            .finish()
    }
}
