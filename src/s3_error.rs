//! S3's XML error answers to preflights (spec §1).

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::source::ResourceType;
use crate::xml_text::escape_into;

pub(crate) const NO_ORIGIN: &str = "Insufficient information. Origin request header needed.";
pub(crate) const BUCKET_NOT_FOUND: &str = "CORSResponse: Bucket not found";
pub(crate) const NOT_ENABLED: &str = "CORSResponse: CORS is not enabled for this bucket.";
pub(crate) const NOT_ALLOWED: &str = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

static APPLICATION_XML: HeaderValue = HeaderValue::from_static("application/xml");
static X_AMZ_REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
static X_AMZ_ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");

/// The request and host IDs S3 puts in every error body (`<RequestId>`,
/// `<HostId>`) and in the `x-amz-request-id` / `x-amz-id-2` headers.
///
/// A plain application has none, and the layer then leaves both elements
/// out. An S3-compatible server that assigns IDs inserts this into the
/// request's extensions (in an outer layer); the layer's own answers then
/// carry them: in the XML of its errors, and as headers on all of them,
/// successful preflights included.
///
/// ```
/// use tower_s3_cors::AmzRequestIds;
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

/// One S3 error answer.
pub(crate) struct S3Error<'a> {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: &'a str,
    /// The `<Method>` and `<ResourceType>` elements, when S3 sends them.
    pub(crate) method_and_resource: Option<(&'a [u8], ResourceType)>,
    /// The `<BucketName>` element (`NoSuchCORSConfiguration`).
    pub(crate) bucket_name: Option<&'a str>,
    pub(crate) ids: Option<&'a AmzRequestIds>,
}

impl S3Error<'_> {
    /// The response: `Content-Type: application/xml`, the XML body, and the
    /// `x-amz-*` ID headers when IDs were given.
    pub(crate) fn into_response(self) -> Response<Bytes> {
        let mut xml = String::with_capacity(512);
        xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        xml.push_str(self.code);
        xml.push_str("</Code><Message>");
        escape_into(&mut xml, self.message);
        xml.push_str("</Message>");
        if let Some((method, resource)) = self.method_and_resource {
            xml.push_str("<Method>");
            escape_into(&mut xml, &String::from_utf8_lossy(method));
            xml.push_str("</Method><ResourceType>");
            xml.push_str(resource.as_str());
            xml.push_str("</ResourceType>");
        }
        if let Some(bucket) = self.bucket_name {
            xml.push_str("<BucketName>");
            escape_into(&mut xml, bucket);
            xml.push_str("</BucketName>");
        }
        if let Some(ids) = self.ids {
            xml.push_str("<RequestId>");
            escape_into(&mut xml, &ids.request_id);
            xml.push_str("</RequestId><HostId>");
            escape_into(&mut xml, &ids.host_id);
            xml.push_str("</HostId>");
        }
        xml.push_str("</Error>");

        let body = Bytes::from(xml);
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, APPLICATION_XML.clone());
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        if let Some(ids) = self.ids {
            ids.write_headers(headers);
        }
        *response.body_mut() = body;
        response
    }
}
