//! [`ResponseFuture`]: the future of [`CorsAdmin`](super::CorsAdmin).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{Response, StatusCode};
use http_body::Body;
use md5::{Digest, Md5};
use pin_project_lite::pin_project;

use super::checksum::Checksum;
use super::linger::{self, Bounds, Drain, Linger};
use super::reply::{AdminError, Reply};
use super::timer::IdleTimer;
use crate::body::ResponseBody;
use crate::config::{ConfigError, ConfigErrorKind, MAX_DOCUMENT_BYTES};

/// An operation of the source, under way.
pub(super) type Op<T> = Pin<Box<dyn Future<Output = Result<T, AdminError>> + Send>>;

/// The answer being worked out: a source's operation, then its reply.
pub(super) type Work = Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>;

/// Turns `op`'s outcome into the answer with `answer`.
pub(super) fn work<T: 'static>(
    reply: Reply,
    op: Op<T>,
    answer: fn(&Reply, Result<T, AdminError>) -> Response<Bytes>,
) -> Work {
    Box::pin(async move { answer(&reply, op.await) })
}

/// Why a `PutBucketCors` body could not be read.
enum BodyError {
    /// Over 64 KiB.
    TooLarge,
    /// The body stream failed.
    Read,
    /// The body stopped arriving for longer than the idle timeout.
    TimedOut,
}

/// A `PutBucketCors` waiting for its body.
pub(super) struct Put {
    pub(super) reply: Reply,
    /// Puts the document in the source.
    pub(super) store: Box<dyn FnOnce(String) -> Op<()> + Send>,
    pub(super) md5: Option<[u8; 16]>,
    /// The `x-amz-checksum-*` to check.
    pub(super) checksum: Option<Checksum>,
    /// Whether the request declared a `Content-Length` (what its error says
    /// when the body breaks off).
    pub(super) declared_length: bool,
}

impl Put {
    /// The document is read: check it and store it, or answer the error.
    fn finish(self, body: Result<Bytes, BodyError>) -> Work {
        match self.check(body) {
            Ok(document) => work(self.reply, (self.store)(document), |reply, outcome| {
                reply.done(outcome, StatusCode::OK)
            }),
            Err(error) => {
                let response = self.reply.error(&error);
                Box::pin(std::future::ready(response))
            }
        }
    }

    /// The document, once its size, digest and encoding are checked.
    fn check(&self, body: Result<Bytes, BodyError>) -> Result<String, AdminError> {
        let body = match body {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return Err(AdminError::from(&ConfigError::new(
                    ConfigErrorKind::DocumentTooLarge,
                )));
            }
            Err(BodyError::Read) if self.declared_length => {
                return Err(AdminError::bad_request(
                    "IncompleteBody",
                    "You did not provide the number of bytes specified by the Content-Length HTTP header.",
                ));
            }
            Err(BodyError::Read) => {
                return Err(AdminError::bad_request(
                    "IncompleteBody",
                    "The request body broke off before its end: its chunked transfer coding is malformed, or the connection failed.",
                ));
            }
            Err(BodyError::TimedOut) => {
                return Err(AdminError::bad_request(
                    "RequestTimeout",
                    "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
                ));
            }
        };
        if let Some(expected) = &self.md5 {
            if Md5::digest(&body).as_slice() != expected.as_slice() {
                return Err(AdminError::bad_request(
                    "BadDigest",
                    "The Content-MD5 you specified did not match what we received.",
                ));
            }
        }
        if let Some(checksum) = &self.checksum {
            checksum.verify(&body)?;
        }
        String::from_utf8(body.into()).map_err(|_| {
            AdminError::from(
                &ConfigError::new(ConfigErrorKind::Malformed)
                    .with_detail("the document is not UTF-8"),
            )
        })
    }
}

pin_project! {
    /// Response future of [`CorsAdmin`](super::CorsAdmin).
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

/// What is left of a request's body after an early answer, to read and
/// throw away beside it (see [`Linger`]).
type Rest = Option<Pin<Box<dyn Drain>>>;

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Answered { response: Option<Response<Bytes>>, rest: Rest },
        // The body is boxed to be moved on once read, or handed to a
        // lingering close when it is refused half read.
        Reading {
            body: Option<Pin<Box<B>>>,
            buffer: BytesMut,
            put: Option<Put>,
            timer: IdleTimer,
            linger: Bounds,
        },
        Working { work: Work, rest: Rest },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(super) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    /// An answer given before the request's body was read; `rest` is that
    /// body, to read and throw away beside the answer.
    pub(super) fn answered(response: Response<Bytes>, rest: Rest) -> Self {
        Self {
            kind: Kind::Answered {
                response: Some(response),
                rest,
            },
        }
    }

    /// The answer of a source's operation; `rest` as for
    /// [`answered`](Self::answered).
    pub(super) fn working(work: Work, rest: Rest) -> Self {
        Self {
            kind: Kind::Working { work, rest },
        }
    }

    /// Reads the body of `put`, waiting at most `idle` for each frame; a
    /// body refused half read (too large) lingers within `linger`.
    pub(super) fn reading(body: B, put: Put, idle: Option<Duration>, linger: Bounds) -> Self {
        Self {
            kind: Kind::Reading {
                body: Some(Box::pin(body)),
                buffer: BytesMut::new(),
                put: Some(put),
                timer: IdleTimer::new(idle),
                linger,
            },
        }
    }
}

/// The body of `request`, to read and throw away within `bounds` after an
/// early answer; `None` when there is nothing to read, or the bounds do not
/// apply.
pub(super) fn rest_of<B>(request: http::Request<B>, bounds: Bounds) -> Rest
where
    B: Body + Send + 'static,
{
    let (parts, body) = request.into_parts();
    (bounds.applies_to(&parts.headers) && !body.is_end_stream())
        .then(|| Box::pin(Linger::new(Box::pin(body), bounds)) as Pin<Box<dyn Drain>>)
}

/// The response for `answer`; `rest` is read and thrown away beside it.
fn respond<ResBody>(answer: Response<Bytes>, rest: Rest) -> Response<ResponseBody<ResBody>> {
    if let Some(rest) = rest {
        linger::detach(rest);
    }
    answer.map(ResponseBody::full)
}

impl<F, B, ResBody, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    B: Body + Send + 'static,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let work = match self.as_mut().project().kind.project() {
                KindProj::Inner { future } => {
                    return Poll::Ready(Ok(ready!(future.poll(cx))?.map(ResponseBody::inner)));
                }
                KindProj::Answered { response, rest } => {
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(respond(response, rest.take())));
                }
                KindProj::Working { work, rest } => {
                    let answer = ready!(work.as_mut().poll(cx));
                    return Poll::Ready(Ok(respond(answer, rest.take())));
                }
                KindProj::Reading {
                    body,
                    buffer,
                    put,
                    timer,
                    linger,
                } => {
                    let reading = body
                        .as_mut()
                        .expect("ResponseFuture polled after completion");
                    let outcome = loop {
                        let Poll::Ready(frame) = reading.as_mut().poll_frame(cx) else {
                            ready!(timer.poll_expired(cx));
                            break Err(BodyError::TimedOut);
                        };
                        match frame {
                            None => break Ok(std::mem::take(buffer).freeze()),
                            Some(Err(_)) => break Err(BodyError::Read),
                            Some(Ok(frame)) => {
                                timer.frame();
                                if let Ok(data) = frame.into_data() {
                                    if buffer.len() + data.remaining() > MAX_DOCUMENT_BYTES {
                                        break Err(BodyError::TooLarge);
                                    }
                                    buffer.put(data);
                                }
                            }
                        }
                    };
                    let put = put.take().expect("ResponseFuture polled after completion");
                    // Refused half read: the rest is read and thrown away
                    // after the answer.
                    let rest = match (&outcome, body.take()) {
                        (Err(BodyError::TooLarge), Some(body)) if linger.is_on() => {
                            Some(Box::pin(Linger::new(body, *linger)) as Pin<Box<dyn Drain>>)
                        }
                        _ => None,
                    };
                    (put.finish(outcome), rest)
                }
            };
            let (work, rest) = work;
            self.as_mut()
                .project()
                .kind
                .set(Kind::Working { work, rest });
        }
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Answered { .. } => "Answered",
            Kind::Reading { .. } => "Reading",
            Kind::Working { .. } => "Working",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}
