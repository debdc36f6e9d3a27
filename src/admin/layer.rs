//! [`CorsAdminLayer`]: applies [`CorsAdmin`] to a service.

use std::time::Duration;

use tower_layer::Layer;

use super::limits::DEFAULT_BODY_TIMEOUT;
use super::service::CorsAdmin;

/// A [`Layer`] that answers S3's `?cors` sub-resource; see the
/// [module documentation](super).
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsAdminLayer<C> {
    source: C,
    require_digest: bool,
    body_timeout: Option<Duration>,
}

impl<C> CorsAdminLayer<C> {
    /// Answers `?cors` requests from `source`'s write side.
    pub fn new(source: C) -> Self {
        Self {
            source,
            require_digest: true,
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
        }
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

impl<S, C: Clone> Layer<S> for CorsAdminLayer<C> {
    type Service = CorsAdmin<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsAdmin::from_parts(
            inner,
            self.source.clone(),
            self.require_digest,
            self.body_timeout,
        )
    }
}
