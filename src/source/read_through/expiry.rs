//! [`Expiry`]: entries read again from the store once they are a given age.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::cache::{Inner, lock};

/// The entries of one time to live, in the order they expire. Every entry
/// of a queue lives as long, so the order they were made in is the order
/// they expire in, and the queue stays sorted by pushing at its back.
pub(super) struct Expiry {
    ttl: Duration,
    queue: Mutex<VecDeque<Due>>,
}

/// An entry's time.
struct Due {
    at: Instant,
    key: Arc<str>,
    /// The entry's stamp: a newer entry of the bucket has its own time.
    stamp: u64,
}

impl Expiry {
    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            queue: Mutex::new(VecDeque::new()),
        }
    }

    /// The entry `stamp` of `key`, made now, expires after the time to live.
    pub(super) fn schedule(&self, key: &Arc<str>, stamp: u64) {
        lock(&self.queue).push_back(Due {
            at: Instant::now() + self.ttl,
            key: Arc::clone(key),
            stamp,
        });
    }

    /// Hands each entry of `source`'s queue (the one `queue` picks) to
    /// `expire` when its time comes, until the source is dropped. Holds no
    /// reference to the source while it waits.
    pub(super) async fn run(
        source: Weak<Inner>,
        queue: fn(&Inner) -> &Expiry,
        expire: fn(&Arc<Inner>, &Arc<str>, u64),
    ) {
        loop {
            let next = {
                let Some(inner) = source.upgrade() else {
                    return;
                };
                let expiry = queue(&inner);
                // With nothing queued, anything queued later expires a full
                // time to live after it is queued: no earlier than this.
                let queued = lock(&expiry.queue).front().map(|due| due.at);
                queued.unwrap_or_else(|| Instant::now() + expiry.ttl)
            };
            tokio::time::sleep_until(next).await;
            let Some(inner) = source.upgrade() else {
                return;
            };
            let now = Instant::now();
            let due: Vec<Due> = {
                let mut waiting = lock(&queue(&inner).queue);
                let ready = waiting.iter().take_while(|due| due.at <= now).count();
                waiting.drain(..ready).collect()
            };
            for due in due {
                expire(&inner, &due.key, due.stamp);
            }
        }
    }
}
