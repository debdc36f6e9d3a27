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
use crate::body::ResponseBody;
use crate::config::{ConfigError, ConfigErrorKind, MAX_DOCUMENT_BYTES};
use crate::source::SharedPolicy;

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
    pub(super) handle: SharedPolicy,
    pub(super) md5: Option<[u8; 16]>,
}

impl Put {
    fn finish(self, body: Result<Bytes, BodyError>) -> Response<Bytes> {
        let error = match self.check(body) {
            Ok(document) => match self.handle.store_document(&document) {
                Ok(()) => return self.reply.success(StatusCode::OK),
                Err(err) => AdminError::from(&err),
            },
            Err(error) => error,
        };
        self.reply.error(&error)
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
        String::from_utf8(body.into())
            .map_err(|_| AdminError::from(&ConfigError::malformed("the document is not UTF-8")))
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => {
                Poll::Ready(Ok(ready!(future.poll(cx))?.map(ResponseBody::inner)))
            }
            KindProj::Answered { response } => {
                let response = response
                    .take()
                    .expect("ResponseFuture polled after completion");
                Poll::Ready(Ok(response.map(ResponseBody::full)))
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
                Poll::Ready(Ok(put.finish(outcome).map(ResponseBody::full)))
            }
        }
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Answered { .. } => "Answered",
            Kind::Reading { .. } => "Reading",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}
