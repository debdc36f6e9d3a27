//! [`Linger`]: the rest of a request's body, read and thrown away after an
//! early answer, so that the client reads the answer.
//!
//! A server that answers before it has read a request's body (a declared
//! length over the limit, a digest header that does not parse, a method
//! not allowed) and then closes the connection with the body unread makes
//! the kernel reset the connection, and a client still sending loses the
//! answer with it. Servers that answer early (nginx, Apache) keep reading
//! and discarding for a while first: "lingering close". The answer does the
//! same here: the answer goes out at once, whole, and the request's body is
//! handed to a thread of the crate's own that reads it to its end (or up to
//! a number of bytes or a time) and drops it, so that the connection is left
//! with nothing unread and may even stay open. A thread, because the answer
//! cannot wait for it (a client that declared a length and sends nothing
//! would wait for the answer as long), and because an HTTP/1 server drops a
//! response's body once it has written its length: reading after the
//! answer has to happen beside it, and the layer has no executor to spawn on.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use http::HeaderMap;
use http::header::EXPECT;
use http_body::Body;

use super::timer::IdleTimer;

/// How much of a request's body the layer reads and throws away after an
/// early answer, by default: 8 MiB.
pub const DEFAULT_LINGER_BYTES: u64 = 8 * 1024 * 1024;
/// For how long, at most, by default: 5 seconds.
pub const DEFAULT_LINGER_TIME: Duration = Duration::from_secs(5);

/// The bounds of a lingering close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Bounds {
    pub(super) bytes: u64,
    pub(super) time: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            bytes: DEFAULT_LINGER_BYTES,
            time: DEFAULT_LINGER_TIME,
        }
    }
}

impl Bounds {
    /// Whether to read what is left of a request with `headers`: not when
    /// the bounds are zero, and not when the client waits for
    /// `100 Continue` before it sends its body (it has sent nothing, and
    /// reading would ask the server to send that `100 Continue`).
    pub(super) fn applies_to(self, headers: &HeaderMap) -> bool {
        let waits = headers
            .get_all(EXPECT)
            .iter()
            .any(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        self.is_on() && !waits
    }

    /// Whether there is anything to read (bounds of zero turn it off).
    pub(super) fn is_on(self) -> bool {
        self.bytes > 0 && !self.time.is_zero()
    }
}

/// Reads a body to its end and throws it away, within bounds.
pub(super) trait Drain: Send + fmt::Debug {
    /// Ready when the body has ended, failed, or the bounds are reached.
    fn poll_drain(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

/// The rest of a request body, being read and thrown away.
pub(super) struct Linger<B> {
    body: Pin<Box<B>>,
    /// How many more bytes may be read.
    left: u64,
    deadline: IdleTimer,
}

impl<B> Linger<B> {
    /// Reads what is left of `body` within `bounds`.
    pub(super) fn new(body: Pin<Box<B>>, bounds: Bounds) -> Self {
        Self {
            body,
            left: bounds.bytes,
            // Never pushed back: a deadline from the first poll.
            deadline: IdleTimer::new(Some(bounds.time)),
        }
    }
}

impl<B> Drain for Linger<B>
where
    B: Body + Send,
{
    fn poll_drain(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            match this.body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let read = frame
                        .data_ref()
                        .map_or(0, |data| bytes::Buf::remaining(data) as u64);
                    match this.left.checked_sub(read) {
                        Some(left) if left > 0 => this.left = left,
                        Some(_) | None => return Poll::Ready(()),
                    }
                }
                Poll::Ready(None | Some(Err(_))) => return Poll::Ready(()),
                Poll::Pending => return this.deadline.poll_expired(cx),
            }
        }
    }
}

impl<B> fmt::Debug for Linger<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linger")
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

/// Hands `drain` to the lingering thread, which reads it to its end or its
/// bounds and drops it. Without that thread (it could not be started),
/// `drain` is dropped at once: the connection closes as it would have
/// without a lingering close.
pub(super) fn detach(drain: Pin<Box<dyn Drain>>) {
    let Some(queue) = queue() else {
        return;
    };
    let task = Arc::new(Task {
        drain: Mutex::new(Some(drain)),
        queue: queue.clone(),
    });
    let _ = queue.send(task);
}

/// A body being drained, and where to send it when it may be polled again.
struct Task {
    drain: Mutex<Option<Pin<Box<dyn Drain>>>>,
    queue: Sender<Arc<Task>>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        let queue = self.queue.clone();
        let _ = queue.send(self);
    }
}

/// The lingering thread's queue of bodies to poll, the thread started on
/// the first call; `None` if it could not be started.
fn queue() -> Option<&'static Sender<Arc<Task>>> {
    static QUEUE: OnceLock<Option<Sender<Arc<Task>>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (sender, receiver) = mpsc::channel::<Arc<Task>>();
            std::thread::Builder::new()
                .name("tower-s3-cors-linger".into())
                .spawn(move || {
                    // Runs as long as the process: the queue's sender is
                    // static.
                    while let Ok(task) = receiver.recv() {
                        poll(task);
                    }
                })
                .ok()
                .map(|_| sender)
        })
        .as_ref()
}

/// Polls `task` once (a wake-up may come for a body already drained).
fn poll(task: Arc<Task>) {
    let waker = Waker::from(Arc::clone(&task));
    let mut slot = task.drain.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(drain) = slot.as_mut() else {
        return;
    };
    let mut cx = Context::from_waker(&waker);
    // A body that panics is dropped, and the thread goes on with the others.
    let done = catch_unwind(AssertUnwindSafe(|| drain.as_mut().poll_drain(&mut cx)));
    if !matches!(done, Ok(Poll::Pending)) {
        *slot = None;
    }
}
