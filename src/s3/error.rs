//! S3's XML error answers (`docs/s3-behaviour.md`, §1 and §6).

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use super::{AmzRequestIds, ResourceType};
use crate::xml_text::{Out, escape_into};

/// The messages of the layers' own error answers.
pub(crate) mod messages {
    /// A preflight without `Origin`.
    pub(crate) const NO_ORIGIN: &str = "Insufficient information. Origin request header needed.";
    /// A preflight for a bucket that does not exist.
    pub(crate) const BUCKET_NOT_FOUND: &str = "CORSResponse: Bucket not found";
    /// A preflight for a bucket without CORS.
    pub(crate) const NOT_ENABLED: &str = "CORSResponse: CORS is not enabled for this bucket.";
    /// A preflight no rule allows (S3's own typo, "evalution", included).
    pub(crate) const NOT_ALLOWED: &str = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";
    /// A preflight whose `Access-Control-Request-Method` is missing or not a
    /// method S3 knows; the value (or `null`) follows.
    pub(crate) const INVALID_REQUEST_METHOD: &str = "Invalid Access-Control-Request-Method: ";
    /// A preflight whose `Access-Control-Request-Headers` is over 8 KiB
    /// (S3's answer to a request header section over its limit).
    pub(crate) const HEADER_SECTION_TOO_LARGE: &str =
        "Your request header section exceeds the maximum allowed size.";
    /// The policy could not be loaded (its store is down): S3's `503
    /// ServiceUnavailable`.
    pub(crate) const SERVICE_UNAVAILABLE: &str = "Service is unable to handle request.";
}

static APPLICATION_XML: HeaderValue = HeaderValue::from_static("application/xml");

/// One S3 error answer.
#[derive(Debug)]
pub(crate) struct S3Error<'a> {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: &'a str,
    /// Text appended to the message, as sent (a header's bytes).
    pub(crate) message_tail: Option<&'a [u8]>,
    /// The `<Method>` and `<ResourceType>` elements, when S3 sends them.
    pub(crate) method_and_resource: Option<(&'a [u8], ResourceType)>,
    /// The `<BucketName>` element (`NoSuchCORSConfiguration`).
    pub(crate) bucket_name: Option<&'a str>,
    /// The `<MaxSizeAllowed>` element (`RequestHeaderSectionTooLarge`).
    pub(crate) max_size_allowed: Option<usize>,
    pub(crate) ids: Option<&'a AmzRequestIds>,
}

impl<'a> S3Error<'a> {
    /// An error with a code and a message, and nothing else yet.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: &'a str) -> Self {
        Self {
            status,
            code,
            message,
            message_tail: None,
            method_and_resource: None,
            bucket_name: None,
            max_size_allowed: None,
            ids: None,
        }
    }

    /// Writes the XML body into `out`.
    fn render(&self, out: &mut impl Out) {
        out.push("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        out.push(self.code);
        out.push("</Code><Message>");
        escape_into(out, self.message);
        if let Some(tail) = self.message_tail {
            escape_into(out, &String::from_utf8_lossy(tail));
        }
        out.push("</Message>");
        if let Some(size) = self.max_size_allowed {
            out.push("<MaxSizeAllowed>");
            out.push(itoa(size, &mut [0; 20]));
            out.push("</MaxSizeAllowed>");
        }
        if let Some((method, resource)) = self.method_and_resource {
            out.push("<Method>");
            escape_into(out, &String::from_utf8_lossy(method));
            out.push("</Method><ResourceType>");
            out.push(resource.as_str());
            out.push("</ResourceType>");
        }
        if let Some(bucket) = self.bucket_name {
            out.push("<BucketName>");
            escape_into(out, bucket);
            out.push("</BucketName>");
        }
        if let Some(ids) = self.ids {
            out.push("<RequestId>");
            escape_into(out, ids.request_id());
            out.push("</RequestId><HostId>");
            escape_into(out, ids.host_id());
            out.push("</HostId>");
        }
        out.push("</Error>");
    }

    /// The XML body, in one allocation of exactly its size.
    fn body(&self) -> Bytes {
        let mut length = 0;
        self.render(&mut length);
        let mut body = Vec::with_capacity(length);
        self.render(&mut body);
        debug_assert_eq!(body.len(), body.capacity());
        // A vector exactly full becomes `Bytes` without a second allocation.
        Bytes::from(body)
    }

    /// The XML body as text, in one allocation of exactly its size (for
    /// answers built outside the layers: `ConfigError::to_response`).
    pub(crate) fn body_text(&self) -> String {
        let mut length = 0;
        self.render(&mut length);
        let mut body = String::with_capacity(length);
        self.render(&mut body);
        body
    }

    /// The answer, rendered: it no longer borrows the request.
    pub(crate) fn into_answer(self) -> ErrorAnswer {
        ErrorAnswer {
            status: self.status,
            body: self.body(),
        }
    }
}

/// `n` in decimal, written at the end of `buf` (20 digits hold any `usize`),
/// so rendering allocates nothing but the body.
fn itoa(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        // `n % 10` is a digit: the cast keeps it.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        buf[at] = b'0' + digit;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).expect("ASCII digits are UTF-8")
}

/// A rendered [`S3Error`]: its status and XML body.
#[derive(Debug)]
pub(crate) struct ErrorAnswer {
    pub(crate) status: StatusCode,
    body: Bytes,
}

impl ErrorAnswer {
    /// The response, with its headers in `headers` (emptied first: a
    /// preflight hands over its request's map, which has room already):
    /// `Content-Type: application/xml`, the `x-amz-*` ID headers when `ids`
    /// are given, and the XML body. Its length is the body's exact size
    /// hint, which servers send as `Content-Length`.
    pub(crate) fn into_response(
        self,
        mut headers: HeaderMap,
        ids: Option<&AmzRequestIds>,
    ) -> Response<Bytes> {
        headers.clear();
        headers.insert(CONTENT_TYPE, APPLICATION_XML.clone());
        if let Some(ids) = ids {
            ids.write_headers(&mut headers);
        }
        let mut response = Response::new(self.body);
        *response.status_mut() = self.status;
        *response.headers_mut() = headers;
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_exactly_s3_s_xml_in_one_allocation() {
        let ids = AmzRequestIds::new("ID&1", "host<2>");
        let mut error = S3Error::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            messages::INVALID_REQUEST_METHOD,
        );
        error.message_tail = Some(b"P<T");
        error.method_and_resource = Some((b"PUT", ResourceType::Object));
        error.bucket_name = Some("b&b");
        error.ids = Some(&ids);
        let response = error
            .into_answer()
            .into_response(HeaderMap::new(), Some(&ids));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.body(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>BadRequest</Code>\
             <Message>Invalid Access-Control-Request-Method: P&lt;T</Message>\
             <Method>PUT</Method><ResourceType>OBJECT</ResourceType><BucketName>b&amp;b</BucketName>\
             <RequestId>ID&amp;1</RequestId><HostId>host&lt;2&gt;</HostId></Error>"
        );
        assert_eq!(response.headers()["content-type"], "application/xml");
        assert_eq!(response.headers()["x-amz-request-id"], "ID&1");
    }

    #[test]
    fn max_size_allowed_follows_the_message() {
        for (size, text) in [
            (0, "0"),
            (8192, "8192"),
            (usize::MAX, &*usize::MAX.to_string()),
        ] {
            let error = S3Error {
                max_size_allowed: Some(size),
                ..S3Error::new(
                    StatusCode::BAD_REQUEST,
                    "RequestHeaderSectionTooLarge",
                    messages::HEADER_SECTION_TOO_LARGE,
                )
            };
            let response = error.into_answer().into_response(HeaderMap::new(), None);
            assert_eq!(
                response.body(),
                &format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>RequestHeaderSectionTooLarge</Code>\
                     <Message>Your request header section exceeds the maximum allowed size.</Message>\
                     <MaxSizeAllowed>{text}</MaxSizeAllowed></Error>"
                )[..]
            );
        }
    }
}
