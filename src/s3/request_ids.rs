//! [`AmzRequestIds`]: the IDs S3 puts on every answer.

use http::{HeaderMap, HeaderName, HeaderValue};

static X_AMZ_REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
static X_AMZ_ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");

/// The request and host IDs S3 puts in every error body (`<RequestId>`,
/// `<HostId>`) and in the `x-amz-request-id` / `x-amz-id-2` headers.
///
/// A plain application has none, and the layers then leave both elements
/// out. An S3-compatible server that assigns IDs inserts this into the
/// request's extensions (in an outer layer); the layers' own answers then
/// carry them: in the XML of their errors, and as headers on all of them,
/// successful preflights included.
///
/// ```
/// use tower_s3_cors::s3::AmzRequestIds;
///
/// let mut request = http::Request::options("/bucket/key").body(())?;
/// request.extensions_mut().insert(AmzRequestIds::new("4442587FB7D0A2F9", "host-id-base64"));
/// # Ok::<_, http::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmzRequestIds {
    request_id: String,
    host_id: String,
}

impl AmzRequestIds {
    /// IDs for one request.
    #[must_use]
    pub fn new(request_id: impl Into<String>, host_id: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            host_id: host_id.into(),
        }
    }

    /// The request ID (`x-amz-request-id`).
    #[must_use]
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The host ID (`x-amz-id-2`).
    #[must_use]
    pub fn host_id(&self) -> &str {
        &self.host_id
    }

    /// Sets `x-amz-request-id` and `x-amz-id-2` (each only when it is a
    /// valid header value), as S3 does on every response.
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            (&X_AMZ_REQUEST_ID, &self.request_id),
            (&X_AMZ_ID_2, &self.host_id),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name.clone(), value);
            }
        }
    }
}
