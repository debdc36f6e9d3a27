//! [`Linger`]: the rest of a request's body, read and thrown away after an
//! early answer, so that the client reads the answer.
//!
//! A server that answers before it has read a request's body (a declared
//! length over the limit, a digest header that does not parse, a method
//! not allowed) and then closes the connection with the body unread makes
//! the kernel reset the connection, and a client still sending loses the
//! answer with it. Servers that answer early (nginx, Apache) keep reading
//! and discarding for a while first: "lingering close". The answer does the
//! same here: its head goes out at once; its body reads the request's body
//! to its end (or up to a number of bytes or a time) before it gives its
//! bytes, so that the connection is left with nothing unread and may even
//! stay open.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
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
pub(crate) trait Drain: Send + fmt::Debug {
    /// Ready when the body has ended, failed, or the bounds are reached.
    fn poll_drain(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

/// The rest of a request body, being read and thrown away.
pub(crate) struct Linger<B> {
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
