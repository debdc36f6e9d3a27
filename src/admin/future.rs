//! [`ResponseFuture`]: the future of [`CorsAdmin`](super::CorsAdmin).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{Response, StatusCode};
use http_body::Body;
use md5::{Digest, Md5};
use pin_project_lite::pin_project;

use super::reply::{AdminError, Reply};
use super::target::Op;
use crate::body::ResponseBody;
use crate::config::{ConfigError, ConfigErrorKind, MAX_DOCUMENT_BYTES};

/// The answer being worked out: a target's operation, then its reply.
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
}

/// A `PutBucketCors` waiting for its body.
pub(super) struct Put {
    pub(super) reply: Reply,
    /// Stores the document in the target.
    pub(super) store: Box<dyn FnOnce(String) -> Op<()> + Send>,
    pub(super) md5: Option<[u8; 16]>,
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
            Err(BodyError::Read) => {
                return Err(AdminError::bad_request(
                    "IncompleteBody",
                    "You did not provide the number of bytes specified by the Content-Length HTTP header.",
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

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Answered { response: Option<Response<Bytes>> },
        Reading { #[pin] body: B, buffer: BytesMut, put: Option<Put> },
        Working { work: Work },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(super) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(super) fn answered(response: Response<Bytes>) -> Self {
        Self {
            kind: Kind::Answered {
                response: Some(response),
            },
        }
    }

    /// The answer of a target's operation.
    pub(super) fn working(work: Work) -> Self {
        Self {
            kind: Kind::Working { work },
        }
    }

    pub(super) fn reading(body: B, put: Put) -> Self {
        Self {
            kind: Kind::Reading {
                body,
                buffer: BytesMut::new(),
                put: Some(put),
            },
        }
    }
}

impl<F, B, ResBody, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    B: Body,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let work = match self.as_mut().project().kind.project() {
                KindProj::Inner { future } => {
                    return Poll::Ready(Ok(ready!(future.poll(cx))?.map(ResponseBody::inner)));
                }
                KindProj::Answered { response } => {
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response.map(ResponseBody::full)));
                }
                KindProj::Working { work } => {
                    return Poll::Ready(Ok(ready!(work.as_mut().poll(cx)).map(ResponseBody::full)));
                }
                KindProj::Reading {
                    mut body,
                    buffer,
                    put,
                } => {
                    let outcome = loop {
                        match ready!(body.as_mut().poll_frame(cx)) {
                            None => break Ok(std::mem::take(buffer).freeze()),
                            Some(Err(_)) => break Err(BodyError::Read),
                            Some(Ok(frame)) => {
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
                    put.finish(outcome)
                }
            };
            self.as_mut().project().kind.set(Kind::Working { work });
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
