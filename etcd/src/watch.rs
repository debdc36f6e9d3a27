//! The change stream: one task per stream, which keeps an etcd watch on the
//! prefix open and turns its events into [`Change`]s.
//!
//! The task remembers the last revision it delivered. When the watch is
//! lost (etcd down, connection cut, watch canceled), it reopens it from the
//! next revision after a backoff, and says [`Change::Resync`] once the new
//! watch is open. When etcd does not have the revision to resume from
//! (compacted; or an etcd that lost its data and restarted from revision 1),
//! it opens the watch at etcd's current revision instead, again with a
//! `Resync`: a reader that reloads what it caches after the `Resync` misses
//! nothing, since the watch already runs by then.
//!
//! The task ends when the stream is dropped or when the store's last handle
//! is (its `alive` sender then closes).

use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use etcd_client::{EventType, GetOptions, WatchOptions, WatchResponse, WatchStream};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tower_s3_cors::store::Change;

use crate::error::is_missing_revision;
use crate::members::Members;
use crate::store::{bucket_error, version};

/// How many changes may wait for a slow reader before the watch waits too
/// (etcd then holds the rest: nothing is dropped).
const BUFFER: usize = 256;

/// What a change stream's task needs.
pub(crate) struct Watch {
    pub(crate) members: Arc<Members>,
    pub(crate) prefix: String,
    pub(crate) request_timeout: Duration,
    pub(crate) backoff: Backoff,
    /// The first revision to deliver; `None` for "from when the watch
    /// opens", with a `Resync` then.
    pub(crate) start: Option<i64>,
    pub(crate) alive: tokio::sync::watch::Receiver<()>,
}

/// Starts the task of a new change stream on `runtime`.
pub(crate) fn spawn(
    runtime: &Handle,
    watch: Watch,
) -> impl futures_core::Stream<Item = Change> + Send + 'static {
    let (sender, receiver) = mpsc::channel(BUFFER);
    runtime.spawn(watch.run(sender));
    Changes { receiver }
}

/// The stream handed out: the receiving end of the task's channel.
struct Changes {
    receiver: mpsc::Receiver<Change>,
}

impl futures_core::Stream for Changes {
    type Item = Change;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Change>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}

/// Why delivery from an open watch stopped.
enum End {
    /// The reader dropped the stream.
    Closed,
    /// etcd does not have the revisions the watch was to deliver: it
    /// compacted them, or it is an etcd that lost or replaced its data and
    /// has not reached them.
    Gap,
    /// The watch or its connection is gone.
    Lost,
}

impl Watch {
    async fn run(mut self, changes: mpsc::Sender<Change>) {
        let mut alive = self.alive.clone();
        tokio::select! {
            // `changed` fails once the store's last handle is dropped (the
            // store never sends a value).
            _ = alive.changed() => {}
            () = changes.closed() => {}
            () = self.pump(&changes) => {}
        }
    }

    /// Opens, delivers, reopens; returns only when the reader is gone.
    async fn pump(&mut self, changes: &mpsc::Sender<Change>) {
        let mut resume = self.start;
        // Every watch but a first one from a known revision may follow a
        // gap, and begins with a `Resync`.
        let mut resync = self.start.is_none();
        loop {
            let gap = match self.open(resume).await {
                Ok((mut stream, opened_at)) => {
                    let opened = Instant::now();
                    if resync && changes.send(Change::Resync).await.is_err() {
                        return;
                    }
                    let mut last = resume.map_or(opened_at, |next| next - 1);
                    let end = self.deliver(&mut stream, &mut last, changes).await;
                    resume = Some(last + 1);
                    // A watch that failed soon after it opened does not
                    // reset the backoff: a watch that keeps failing must
                    // not bring a `Resync` every few milliseconds.
                    if opened.elapsed() >= self.backoff.max {
                        self.backoff.reset();
                    }
                    match end {
                        End::Closed => return,
                        End::Gap => true,
                        End::Lost => false,
                    }
                }
                Err(End::Gap) => true,
                Err(End::Lost | End::Closed) => false,
            };
            resync = true;
            if gap {
                // etcd does not have what follows `resume`: go on from now,
                // at once (etcd answers).
                resume = None;
            } else {
                tokio::time::sleep(self.backoff.next_delay()).await;
            }
        }
    }

    /// Opens a watch on the prefix from `resume` (from now without one),
    /// within the request timeout. Returns the stream and etcd's revision
    /// when it opened.
    async fn open(&mut self, resume: Option<i64>) -> Result<(WatchStream, i64), End> {
        // Many large values written at once would make a watch response
        // larger than a message may be: etcd splits it.
        let mut options = WatchOptions::new().with_prefix().with_fragment();
        if let Some(revision) = resume {
            options = options.with_start_revision(revision);
        }
        let Some((member, mut kv, mut client)) = self.members.for_watch() else {
            return Err(End::Lost);
        };
        let prefix = self.prefix.clone();
        let opening = async move {
            // etcd reports a watch from a compacted revision only after
            // opening it, and waits silently on one from a future revision
            // (after it lost its data): ask first, so that a gap costs one
            // `Resync` and is never waited on.
            if let Some(next) = resume.filter(|&next| next > 1) {
                let at = GetOptions::new()
                    .with_prefix()
                    .with_count_only()
                    .with_revision(next - 1);
                match kv.get(prefix.clone(), Some(at)).await {
                    Ok(_) => {}
                    Err(error) if is_missing_revision(&error) => return Err(End::Gap),
                    Err(_) => return Err(End::Lost),
                }
            }
            let mut stream = client
                .watch(prefix, Some(options))
                .await
                .map_err(|_| End::Lost)?;
            let created = stream
                .message()
                .await
                .map_err(|_| End::Lost)?
                .ok_or(End::Lost)?;
            if !created.created() {
                return Err(End::Lost);
            }
            if created.canceled() {
                return Err(canceled(&created));
            }
            let revision = created.header().map_or(0, |h| h.revision());
            Ok((stream, revision))
        };
        let opened = tokio::time::timeout(self.request_timeout, opening)
            .await
            .unwrap_or(Err(End::Lost));
        if matches!(opened, Err(End::Lost)) {
            self.members.failed(member);
        }
        opened
    }

    /// Sends the watch's events as changes until it ends; `last` follows
    /// the revisions delivered.
    async fn deliver(
        &self,
        stream: &mut WatchStream,
        last: &mut i64,
        changes: &mpsc::Sender<Change>,
    ) -> End {
        loop {
            let response = match stream.message().await {
                Ok(Some(response)) => response,
                Ok(None) | Err(_) => return End::Lost,
            };
            if response.canceled() {
                return canceled(&response);
            }
            for event in response.events() {
                let Some(kv) = event.kv() else { continue };
                let revision = kv.mod_revision();
                *last = (*last).max(revision);
                let Some(bucket) = kv
                    .key()
                    .strip_prefix(self.prefix.as_bytes())
                    .and_then(|name| std::str::from_utf8(name).ok())
                    .filter(|name| bucket_error(name).is_none())
                else {
                    continue;
                };
                let bucket = bucket.to_owned();
                let change = match event.event_type() {
                    EventType::Put => match std::str::from_utf8(kv.value()) {
                        Ok(text) => Change::Put {
                            bucket,
                            text: text.into(),
                            version: version(revision),
                        },
                        // `get` says what is wrong with it.
                        Err(_) => Change::Stale { bucket },
                    },
                    EventType::Delete => Change::Deleted {
                        bucket,
                        version: version(revision),
                    },
                };
                if changes.send(change).await.is_err() {
                    return End::Closed;
                }
            }
        }
    }
}

/// What a canceled watch means.
fn canceled(response: &WatchResponse) -> End {
    if response.compact_revision() > 0 {
        End::Gap
    } else {
        End::Lost
    }
}

/// Exponential backoff with jitter: each delay is between half and all of
/// the current step; steps double from `initial` up to `max`.
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            step: initial,
        }
    }

    fn reset(&mut self) {
        self.step = self.initial;
    }

    fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = step.saturating_mul(2).min(self.max);
        // A fresh std `RandomState` is randomly keyed: enough to keep a
        // fleet's reconnects apart.
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let half = step / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(random % nanos.saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter_and_resets() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(1000));
        let steps = [100, 200, 400, 800, 1000, 1000];
        for step in steps {
            let delay = backoff.next_delay();
            assert!(
                delay >= ms(step) / 2 && delay <= ms(step),
                "{delay:?} for a step of {step} ms"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= ms(100));

        // Not always the same delay.
        let delays: std::collections::HashSet<_> = (0..20)
            .map(|_| Backoff::new(ms(100), ms(100)).next_delay())
            .collect();
        assert!(delays.len() > 1);

        // A zero step is no delay, not a division by zero.
        assert_eq!(Backoff::new(ms(0), ms(0)).next_delay(), ms(0));
    }
}
