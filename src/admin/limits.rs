//! The bounds of a `PutBucketCors` body: a declared length over 64 KiB is
//! refused before any of the body is read (and before a server grants
//! `100 Continue`), and a body that stops arriving times out.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body::SizeHint;
use tokio::time::{Instant, Sleep};

use crate::config::MAX_DOCUMENT_BYTES;

/// How long a `PutBucketCors` body may stop arriving before the layer
/// answers `400 RequestTimeout`, by default: 20 seconds (S3 closes idle
/// connections after about that long).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(20);

/// The `Content-Length` a request declares, if it declares one that reads
/// as a number (one too large for a `u64` reads as `u64::MAX`).
pub(super) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    let digits = headers.get(CONTENT_LENGTH)?.as_bytes().trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        std::str::from_utf8(digits)
            .ok()?
            .parse()
            .unwrap_or(u64::MAX),
    )
}

/// Whether a request's body is known to be over the 64 KiB document limit
/// before any of it is read: by its declared `Content-Length`, or by its
/// body's size hint (what HTTP/2 and other servers know of its length).
pub(super) fn declared_too_large(headers: &HeaderMap, hint: &SizeHint) -> bool {
    let limit = MAX_DOCUMENT_BYTES as u64;
    declared_length(headers).is_some_and(|length| length > limit) || hint.lower() > limit
}

/// The idle timer of a body being read: armed when the body has nothing to
/// give, pushed back whenever it gives a frame.
#[derive(Debug)]
pub(super) struct IdleTimer {
    idle: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl IdleTimer {
    /// A timer that fires after `idle` without a frame; never with `None`.
    pub(super) fn new(idle: Option<Duration>) -> Self {
        Self { idle, sleep: None }
    }

    /// The body gave a frame: the wait starts again.
    pub(super) fn frame(&mut self) {
        if let (Some(idle), Some(sleep)) = (self.idle, self.sleep.as_mut()) {
            sleep.as_mut().reset(Instant::now() + idle);
        }
    }

    /// The body has nothing to give: whether it has been so for too long.
    /// The timer is armed on the first call (only inside a tokio runtime:
    /// outside one there is no timer to arm, and no timeout).
    pub(super) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(idle) = self.idle else {
            return Poll::Pending;
        };
        if self.sleep.is_none() {
            if tokio::runtime::Handle::try_current().is_err() {
                return Poll::Pending;
            }
            self.sleep = Some(Box::pin(tokio::time::sleep(idle)));
        }
        match self.sleep.as_mut() {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with_length(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn a_declared_length_over_64_kib_is_too_large() {
        let unknown = SizeHint::new();
        assert!(!declared_too_large(&HeaderMap::new(), &unknown));
        assert!(!declared_too_large(&with_length("65536"), &unknown));
        assert!(declared_too_large(&with_length("65537"), &unknown));
        assert!(declared_too_large(&with_length("10000000000"), &unknown));
        assert!(declared_too_large(
            &with_length("99999999999999999999999"),
            &unknown
        ));
        assert!(!declared_too_large(&with_length("nonsense"), &unknown));
        assert!(declared_too_large(
            &HeaderMap::new(),
            &SizeHint::with_exact(65_537)
        ));
        assert!(!declared_too_large(
            &HeaderMap::new(),
            &SizeHint::with_exact(65_536)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_idle_timer_fires_after_the_wait_and_is_pushed_back_by_frames() {
        let mut timer = IdleTimer::new(Some(Duration::from_secs(20)));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(timer.poll_expired(&mut cx).is_pending());
        tokio::time::advance(Duration::from_secs(15)).await;
        assert!(timer.poll_expired(&mut cx).is_pending());
        timer.frame();
        tokio::time::advance(Duration::from_secs(15)).await;
        assert!(timer.poll_expired(&mut cx).is_pending(), "pushed back");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(timer.poll_expired(&mut cx).is_ready());
    }

    #[test]
    fn without_a_runtime_or_a_wait_there_is_no_timeout() {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(
            IdleTimer::new(Some(Duration::ZERO))
                .poll_expired(&mut cx)
                .is_pending()
        );
        assert!(IdleTimer::new(None).poll_expired(&mut cx).is_pending());
    }
}
