//! [`CorsAdminLayer`]: applies [`CorsAdmin`] to a service.

use tower_layer::Layer;

use super::service::CorsAdmin;

/// A [`Layer`] that answers S3's `?cors` sub-resource; see the
/// [module documentation](super).
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsAdminLayer<T> {
    target: T,
    require_digest: bool,
}

impl<T> CorsAdminLayer<T> {
    /// Answers `?cors` requests from `target`.
    pub fn new(target: T) -> Self {
        Self {
            target,
            require_digest: true,
        }
    }

    /// S3 refuses a `PUT ?cors` that has neither `Content-MD5` nor an
    /// `x-amz-checksum-*` header (`400 InvalidRequest`); so does this layer
    /// by default. With `false`, such a request is accepted, which is
    /// convenient for demos and `curl`; a `Content-MD5` that is sent is
    /// still checked.
    pub fn require_content_md5(mut self, require: bool) -> Self {
        self.require_digest = require;
        self
    }
}

impl<S, T: Clone> Layer<S> for CorsAdminLayer<T> {
    type Service = CorsAdmin<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsAdmin::from_parts(inner, self.target.clone(), self.require_digest)
    }
}
