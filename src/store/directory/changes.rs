//! The change stream of a [`DirectoryStore`](super::DirectoryStore): the
//! directory watched with `notify`, file events debounced into changes.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::bucket_of;
use crate::store::Change;

/// How many file events may wait before the stream gives up on them and
/// asks for a resync.
const BACKLOG: usize = 1024;

/// A change stream of `dir`, reporting the buckets whose files changed
/// after `debounce` of quiet; `None` when the platform's watcher cannot be
/// set up.
pub(super) fn watch(
    dir: &Path,
    debounce: Duration,
) -> Option<impl futures_core::Stream<Item = Change> + Send + 'static> {
    let (sender, receiver) = mpsc::channel(BACKLOG);
    let overflow = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&overflow);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let signals: Vec<Signal> = match event {
            Ok(event) if event.need_rescan() => vec![Signal::Rescan],
            Ok(event) => match event.kind {
                EventKind::Access(_) => Vec::new(),
                EventKind::Any
                | EventKind::Create(_)
                | EventKind::Modify(_)
                | EventKind::Remove(_)
                | EventKind::Other => event
                    .paths
                    .iter()
                    .filter_map(|path| bucket_of(path))
                    .map(Signal::Bucket)
                    .collect(),
            },
            Err(_) => vec![Signal::Rescan],
        };
        for signal in signals {
            if sender.try_send(signal).is_err() {
                flag.store(true, Ordering::Relaxed);
            }
        }
    })
    .ok()?;
    watcher.watch(dir, RecursiveMode::NonRecursive).ok()?;
    Some(DirectoryChanges {
        _watcher: watcher,
        receiver,
        overflow,
        debounce,
        touched: BTreeSet::new(),
        resync: false,
        quiet: None,
        ready: VecDeque::new(),
    })
}

/// What the watcher saw.
enum Signal {
    Bucket(String),
    Rescan,
}

/// The change stream of a [`DirectoryStore`]: file events, debounced.
struct DirectoryChanges {
    /// Stops watching when the stream is dropped.
    _watcher: RecommendedWatcher,
    receiver: mpsc::Receiver<Signal>,
    /// Events were lost (the backlog was full).
    overflow: Arc<AtomicBool>,
    debounce: Duration,
    /// Buckets touched since the last report.
    touched: BTreeSet<String>,
    resync: bool,
    /// Runs from the latest event of a burst.
    quiet: Option<Pin<Box<tokio::time::Sleep>>>,
    ready: VecDeque<Change>,
}

impl futures_core::Stream for DirectoryChanges {
    type Item = Change;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Change>> {
        let this = &mut *self;
        loop {
            if let Some(change) = this.ready.pop_front() {
                return Poll::Ready(Some(change));
            }
            let mut closed = false;
            loop {
                match this.receiver.poll_recv(cx) {
                    Poll::Ready(Some(signal)) => {
                        match signal {
                            Signal::Bucket(bucket) => {
                                this.touched.insert(bucket);
                            }
                            Signal::Rescan => this.resync = true,
                        }
                        // The quiet time starts again at every event.
                        this.quiet = Some(Box::pin(tokio::time::sleep(this.debounce)));
                    }
                    Poll::Ready(None) => {
                        closed = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            if this.overflow.swap(false, Ordering::Relaxed) {
                this.resync = true;
                let debounce = this.debounce;
                this.quiet
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(debounce)));
            }
            match &mut this.quiet {
                Some(quiet) => {
                    ready!(quiet.as_mut().poll(cx));
                    this.quiet = None;
                    if std::mem::take(&mut this.resync) {
                        this.touched.clear();
                        this.ready.push_back(Change::Resync);
                    } else {
                        let touched = std::mem::take(&mut this.touched);
                        this.ready
                            .extend(touched.into_iter().map(|bucket| Change::Stale { bucket }));
                    }
                }
                None if closed => return Poll::Ready(None),
                None => return Poll::Pending,
            }
        }
    }
}
