//! [`CorsAdminLayer`]: applies [`CorsAdmin`] to a service.

use std::time::Duration;

use tower_layer::Layer;

use super::limits::DEFAULT_BODY_TIMEOUT;
use super::linger::Bounds;
use super::service::{Claim, CorsAdmin, claim};
use crate::source::{BucketCors, RequestHead};

/// A [`Layer`] that answers S3's `?cors` sub-resource; see the
/// [module documentation](super).
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsAdminLayer<C> {
    source: C,
    require_digest: bool,
    body_timeout: Option<Duration>,
    linger: Bounds,
}

impl<C> CorsAdminLayer<C> {
    /// Answers `?cors` requests from `source`'s write side.
    pub fn new(source: C) -> Self {
        Self {
            source,
            require_digest: true,
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
            linger: Bounds::default(),
        }
    }

    /// After an answer given before a request's body was read (a declared
    /// length over 64 KiB, a digest header that does not parse, a method
    /// not allowed, a body that grew past 64 KiB while read), the rest of
    /// the body is read and thrown away, up to `max_bytes` and for at most
    /// `max_time`, beside the answer (which goes out at once): a server
    /// that closed the connection with the body unread would make the
    /// kernel reset it, and a client still sending would lose the answer
    /// ("lingering close", as nginx and Apache do). When the body has been
    /// read to its end, the connection may serve another request. The
    /// reading is done on a thread of the crate's own (one per process,
    /// started on the first early answer), so that it needs no executor. A
    /// client that waits for `100 Continue` is not read from: it gets the
    /// answer at once, and no `100 Continue`.
    /// [`DEFAULT_LINGER_BYTES`](super::DEFAULT_LINGER_BYTES) (8 MiB) and
    /// [`DEFAULT_LINGER_TIME`](super::DEFAULT_LINGER_TIME) (5 s) by
    /// default; zero for either turns it off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_s3_cors::SharedPolicy;
    /// use tower_s3_cors::admin::CorsAdminLayer;
    ///
    /// let layer = CorsAdminLayer::new(SharedPolicy::empty())
    ///     .lingering_close(4 * 1024 * 1024, Duration::from_secs(10));
    /// # let _ = layer;
    /// ```
    pub fn lingering_close(mut self, max_bytes: u64, max_time: Duration) -> Self {
        self.linger = Bounds {
            bytes: max_bytes,
            time: max_time,
        };
        self
    }

    /// How long a `PUT ?cors` body may stop arriving (no new bytes) before
    /// the layer answers S3's `400 RequestTimeout`, "Your socket connection
    /// to the server was not read from or written to within the timeout
    /// period. Idle connections will be closed." Default: 20 seconds;
    /// `None` waits as long as the server lets the connection live.
    ///
    /// The timer is the crate's own (one thread for the process, started
    /// when a body first stalls): it needs no runtime, works under any
    /// executor, and never panics.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_s3_cors::SharedPolicy;
    /// use tower_s3_cors::admin::CorsAdminLayer;
    ///
    /// let layer = CorsAdminLayer::new(SharedPolicy::empty()).body_timeout(Duration::from_secs(5));
    /// # let _ = layer;
    /// ```
    pub fn body_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.body_timeout = timeout.into();
        self
    }

    /// S3 refuses a `PUT ?cors` that has neither `Content-MD5` nor an
    /// `x-amz-checksum-*` header (`400 InvalidRequest`); so does this layer
    /// by default. With `false`, such a request is accepted, which is
    /// convenient for demos and `curl`; a `Content-MD5` or checksum that is
    /// sent is still checked.
    pub fn require_content_md5(mut self, require: bool) -> Self {
        self.require_digest = require;
        self
    }
}

impl<C: BucketCors> CorsAdminLayer<C> {
    /// Whether the services of this layer answer a request with `head`
    /// themselves, rather than hand it to the inner service: `?cors` on a
    /// bucket the source locates, and the writes with `?cors` on an object
    /// that they refuse. For a router that must decide before the body is
    /// read which handler takes a request (an s3s custom route).
    ///
    /// ```
    /// use http::Request;
    /// use tower_s3_cors::admin::CorsAdminLayer;
    /// use tower_s3_cors::source::{Buckets, RequestHead};
    ///
    /// let layer = CorsAdminLayer::new(Buckets::path_style());
    /// let put = Request::put("/photos?cors").body(()).unwrap();
    /// assert!(layer.claims(&RequestHead::new(&put)));
    /// let object = Request::get("/photos/cat.jpg?cors").body(()).unwrap();
    /// assert!(!layer.claims(&RequestHead::new(&object)));
    /// ```
    pub fn claims(&self, head: &RequestHead<'_>) -> bool {
        !matches!(claim(&self.source, head), Claim::Pass)
    }

    /// The bucket CORS source.
    pub fn source(&self) -> &C {
        &self.source
    }
}

impl<S, C: Clone> Layer<S> for CorsAdminLayer<C> {
    type Service = CorsAdmin<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsAdmin::from_parts(
            inner,
            self.source.clone(),
            self.require_digest,
            self.body_timeout,
            self.linger,
        )
    }
}
