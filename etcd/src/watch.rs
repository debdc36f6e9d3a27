//! The change stream: one task per stream, which keeps an etcd watch on the
//! prefix open and turns its events into [`Change`]s.
//!
//! The task remembers the last revision it delivered. When the watch is
//! lost (etcd down, connection cut, watch canceled) or its member goes
//! silent (it answers no progress request), it reopens it on the next
//! member from the next revision after a backoff, and says
//! [`Change::Resync`] once the new watch is open. When etcd does not have
//! the revision to resume from (compacted; or an etcd that lost its data
//! and restarted from revision 1), it opens the watch at etcd's current
//! revision instead, again with a `Resync`: a reader that reloads what it
//! caches after the `Resync` misses nothing, since the watch already runs
//! by then.
//!
//! From the moment a watch is known lost (or, for a silent member, from
//! the last time it was heard) until the `Resync`, the stream may be
//! stale: [`StreamFreshness`] tells the store, and the task logs it.
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
use crate::freshness::StreamFreshness;
use crate::members::Members;
use crate::store::{bucket_error, version};
use crate::{EtcdError, EtcdErrorKind};

/// How many changes may wait for a slow reader before the watch waits too
/// (etcd then holds the rest: nothing is dropped).
const BUFFER: usize = 256;

/// While the watch cannot be opened, how often the log says again that the
/// stream may be stale.
const STALE_REMINDER: Duration = Duration::from_secs(10);

/// What a change stream's task needs.
pub(crate) struct Watch {
    pub(crate) members: Arc<Members>,
    pub(crate) prefix: String,
    pub(crate) request_timeout: Duration,
    /// How long the member may stay silent before it is asked for its
    /// progress, and then before it is taken for lost.
    pub(crate) progress_interval: Duration,
    pub(crate) backoff: Backoff,
    /// The first revision to deliver; `None` for "from when the watch
    /// opens", with a `Resync` then.
    pub(crate) start: Option<i64>,
    pub(crate) alive: tokio::sync::watch::Receiver<()>,
    pub(crate) freshness: StreamFreshness,
    /// The store's writes, paired with their arrival here.
    #[cfg(feature = "metrics")]
    pub(crate) lag: Arc<crate::metrics::Lag>,
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

/// Why delivery from an open watch stopped, or why it did not open.
enum End {
    /// The reader dropped the stream.
    Closed,
    /// etcd does not have the revisions the watch was to deliver: it
    /// compacted them, or it is an etcd that lost or replaced its data and
    /// has not reached them.
    Gap,
    /// The watch or its connection is gone, or its member went silent.
    Lost(EtcdError),
}

/// A watch that is open: its stream, the member it is on, etcd's revision
/// when it opened.
struct Opened {
    stream: WatchStream,
    member: usize,
    revision: i64,
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
        // Why the next `Resync`, and whether a watch failed since the last
        // one opened (for the metrics).
        #[cfg(feature = "metrics")]
        let (mut reason, mut failed) = (crate::metrics::ResyncReason::Start, false);
        // Since when the stream may be stale, and when the log last said so.
        let mut stale_since = Instant::now();
        let mut reminded: Option<Instant> = None;
        loop {
            let gap = match self.open(resume).await {
                Ok(opened) => {
                    let member = opened.member;
                    let endpoint = self.members.endpoint(member).to_owned();
                    if resync && changes.send(Change::Resync).await.is_err() {
                        return;
                    }
                    #[cfg(feature = "metrics")]
                    {
                        let metrics = crate::metrics::get();
                        if resync {
                            metrics.resync(reason);
                        }
                        if std::mem::take(&mut failed) {
                            metrics.reconnects.increment(1);
                        }
                    }
                    self.freshness.fresh();
                    if reminded.is_some() {
                        let replay = resume.map_or(0, |next| (opened.revision - next + 1).max(0));
                        tracing::info!(
                            "etcd change stream open again on {endpoint} after {:.1?}: resync, \
                             with {replay} revisions to replay (from {} to {})",
                            stale_since.elapsed(),
                            resume.unwrap_or(opened.revision),
                            opened.revision,
                        );
                    }
                    reminded = None;
                    let opened_at = Instant::now();
                    let mut last = resume.map_or(opened.revision, |next| next - 1);
                    let (end, heard) = self
                        .deliver(opened.stream, &endpoint, &mut last, changes)
                        .await;
                    resume = Some(last + 1);
                    // A watch that failed soon after it opened does not
                    // reset the backoff: a watch that keeps failing must
                    // not bring a `Resync` every few milliseconds.
                    if opened_at.elapsed() >= self.backoff.max {
                        self.backoff.reset();
                    }
                    match end {
                        End::Closed => return,
                        End::Gap => true,
                        End::Lost(error) => {
                            // Nothing came since `heard`: changes may have
                            // been missed from then on.
                            stale_since = heard;
                            self.freshness.stale(heard);
                            reminded = Some(Instant::now());
                            let next = (member + 1) % self.members.len().max(1);
                            if self.members.len() > 1 {
                                tracing::warn!(
                                    "etcd change stream lost: {error}; cached buckets may be \
                                     stale (nothing heard for {:.1?}); moving the watch to {}",
                                    heard.elapsed(),
                                    self.members.endpoint(next)
                                );
                            } else {
                                tracing::warn!(
                                    "etcd change stream lost: {error}; cached buckets may be \
                                     stale until it is back (nothing heard for {:.1?})",
                                    heard.elapsed()
                                );
                            }
                            self.members.failed(member, &error);
                            false
                        }
                    }
                }
                Err(End::Gap) => true,
                Err(End::Closed) => return,
                Err(End::Lost(error)) => {
                    let remind = reminded.is_none_or(|at| at.elapsed() >= STALE_REMINDER);
                    if remind {
                        tracing::warn!(
                            "etcd change stream cannot open its watch: {error}; cached buckets \
                             may be stale ({:.1?} so far); trying again",
                            stale_since.elapsed()
                        );
                        reminded = Some(Instant::now());
                    } else {
                        tracing::debug!("etcd change stream still cannot open its watch: {error}");
                    }
                    false
                }
            };
            resync = true;
            #[cfg(feature = "metrics")]
            {
                use crate::metrics::ResyncReason;
                reason = if gap {
                    ResyncReason::Compacted
                } else {
                    failed = true;
                    ResyncReason::Reconnect
                };
            }
            if gap {
                // etcd does not have what follows `resume`: go on from now,
                // at once (etcd answers).
                tracing::info!(
                    "etcd no longer has the revisions after {}: the change stream resyncs from \
                     etcd's current revision",
                    resume.map_or(0, |next| next - 1)
                );
                resume = None;
            } else {
                tokio::time::sleep(self.backoff.next_delay()).await;
            }
        }
    }

    /// Opens a watch on the prefix from `resume` (from now without one),
    /// within the request timeout, on the member the store prefers.
    async fn open(&mut self, resume: Option<i64>) -> Result<Opened, End> {
        // Many large values written at once would make a watch response
        // larger than a message may be: etcd splits it.
        let mut options = WatchOptions::new().with_prefix().with_fragment();
        if let Some(revision) = resume {
            options = options.with_start_revision(revision);
        }
        let timeout = self.request_timeout;
        let members = Arc::clone(&self.members);
        let member = members.preferred();
        let endpoint = members.endpoint(member).to_owned();
        let prefix = self.prefix.clone();
        let opening = async {
            let lost =
                |error: etcd_client::Error| End::Lost(EtcdError::from_client(error, &endpoint));
            let (mut kv, mut client) = members.watch_clients(member).await.map_err(End::Lost)?;
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
                    Err(error) => return Err(lost(error)),
                }
            }
            let mut stream = client.watch(prefix, Some(options)).await.map_err(lost)?;
            let created = stream.message().await.map_err(lost)?.ok_or_else(|| {
                End::Lost(EtcdError::new(EtcdErrorKind::Unreachable, Some(&endpoint)))
            })?;
            if created.canceled() {
                return Err(canceled(&created, &endpoint));
            }
            if !created.created() {
                return Err(End::Lost(
                    EtcdError::new(EtcdErrorKind::Other, Some(&endpoint))
                        .with_detail("etcd did not create the watch"),
                ));
            }
            let revision = created.header().map_or(0, |h| h.revision());
            Ok(Opened {
                stream,
                member,
                revision,
            })
        };
        let opened = tokio::time::timeout(timeout, opening)
            .await
            .unwrap_or_else(|_| Err(End::Lost(EtcdError::timed_out(Some(&endpoint), timeout))));
        match opened {
            Ok(opened) => {
                self.members.answered(member);
                Ok(opened)
            }
            Err(End::Lost(error)) => {
                let error = self.members.explain(member, error).await;
                self.members.failed(member, &error);
                Err(End::Lost(error))
            }
            Err(end) => Err(end),
        }
    }

    /// Sends the watch's events as changes until it ends; `last` follows
    /// the revisions delivered. Asks the member for its progress when it
    /// has said nothing for the progress interval, and gives it up when it
    /// does not answer within another. Returns why it ended, and when the
    /// member was last heard.
    async fn deliver(
        &self,
        stream: WatchStream,
        endpoint: &str,
        last: &mut i64,
        changes: &mpsc::Sender<Change>,
    ) -> (End, Instant) {
        let (mut requests, mut responses) = stream.split();
        let interval = self.progress_interval;
        let mut heard = Instant::now();
        let mut asked: Option<Instant> = None;
        loop {
            let check = match asked {
                None => heard + interval,
                Some(at) => at + interval,
            };
            let response = tokio::select! {
                message = responses.message() => message,
                () = tokio::time::sleep_until(check.into()) => {
                    let silent = |waited: Duration| {
                        EtcdError::new(EtcdErrorKind::TimedOut, Some(endpoint)).with_detail(
                            format!("no answer to a watch progress request within {waited:.1?}"),
                        )
                    };
                    if let Some(at) = asked {
                        return (End::Lost(silent(at.elapsed())), heard);
                    }
                    // Whatever the member's state, it answers a progress
                    // request at once (etcd 3.4 and later).
                    let sent = tokio::time::timeout(interval, requests.request_progress()).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return (End::Lost(silent(interval)), heard);
                    }
                    asked = Some(Instant::now());
                    continue;
                }
            };
            let response = match response {
                Ok(Some(response)) => response,
                Ok(None) => {
                    let error = EtcdError::new(EtcdErrorKind::Unreachable, Some(endpoint))
                        .with_detail("the watch stream ended");
                    return (End::Lost(error), heard);
                }
                Err(error) => return (End::Lost(EtcdError::from_client(error, endpoint)), heard),
            };
            heard = Instant::now();
            asked = None;
            if response.canceled() {
                return (canceled(&response, endpoint), heard);
            }
            #[cfg(feature = "metrics")]
            if let Some(newest) = response
                .events()
                .iter()
                .filter_map(|e| e.kv())
                .map(|kv| kv.mod_revision())
                .max()
            {
                let current = response.header().map_or(newest, |h| h.revision());
                #[allow(clippy::cast_precision_loss)] // revisions stay far below 2^52
                crate::metrics::get()
                    .revisions_behind
                    .set((current - newest).max(0) as f64);
            }
            for event in response.events() {
                let Some(kv) = event.kv() else { continue };
                let revision = kv.mod_revision();
                *last = (*last).max(revision);
                #[cfg(feature = "metrics")]
                self.lag.arrived(revision);
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
                    return (End::Closed, heard);
                }
            }
        }
    }
}

/// What a canceled watch means.
fn canceled(response: &WatchResponse, member: &str) -> End {
    if response.compact_revision() > 0 {
        End::Gap
    } else {
        let reason = response.cancel_reason();
        // A member that lost its leader cancels the watches that require
        // one (the store's do).
        let kind = if reason.contains("no leader") {
            EtcdErrorKind::NoQuorum
        } else {
            EtcdErrorKind::Other
        };
        End::Lost(
            EtcdError::new(kind, Some(member))
                .with_detail(format!("etcd canceled the watch: {reason}")),
        )
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
