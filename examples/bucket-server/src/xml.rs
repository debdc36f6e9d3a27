//! The S3 XML this server writes itself: error bodies and bucket listings.
//!
//! The CORS layer writes its own preflight errors and `CorsAdminLayer` its
//! own `?cors` answers; these are the answers of the object store behind
//! them.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use tower_s3_cors::s3::AmzRequestIds;

/// The namespace S3 puts on its result documents.
const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// `text`, escaped for XML element content (quotes too, as S3 does in
/// `<ETag>`).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// `<name>escaped value</name>`, appended to `out`.
fn element(out: &mut String, name: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(value));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// A response with an XML body and `Content-Type: application/xml`.
pub(crate) fn xml_response(status: StatusCode, xml: String) -> Response<Full<Bytes>> {
    let body = Bytes::from(xml);
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    *response.body_mut() = Full::new(body);
    response
}

/// One S3 error answer: `<Error><Code>…</Code><Message>…</Message>…</Error>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Extra elements after `<Message>` (`<Key>`, `<BucketName>`, …).
    details: Vec<(&'static str, String)>,
}

impl S3Error {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds an element after `<Message>`.
    pub(crate) fn with(mut self, element: &'static str, value: impl Into<String>) -> Self {
        self.details.push((element, value.into()));
        self
    }

    pub(crate) fn no_such_bucket(bucket: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
        )
        .with("BucketName", bucket)
    }

    pub(crate) fn no_such_key(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
        .with("Key", key)
    }

    pub(crate) fn bucket_already_owned(bucket: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
        )
        .with("BucketName", bucket)
    }

    pub(crate) fn method_not_allowed(method: &Method, resource: &'static str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )
        .with("Method", method.as_str())
        .with("ResourceType", resource)
    }

    pub(crate) fn bad_digest() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
        )
    }

    pub(crate) fn invalid_digest() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidDigest",
            "The Content-MD5 you specified was invalid.",
        )
    }

    pub(crate) fn entity_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
        )
        .with("MaxSizeAllowed", limit.to_string())
    }

    pub(crate) fn incomplete_body() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        )
    }

    /// The status code.
    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The S3 error code.
    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// The XML body, with `<RequestId>` and `<HostId>` when `ids` are given.
    pub(crate) fn to_xml(&self, ids: Option<&AmzRequestIds>) -> String {
        let mut xml = String::with_capacity(256);
        xml.push_str(XML_DECLARATION);
        xml.push_str("<Error>");
        element(&mut xml, "Code", self.code);
        element(&mut xml, "Message", &self.message);
        for (name, value) in &self.details {
            element(&mut xml, name, value);
        }
        if let Some(ids) = ids {
            element(&mut xml, "RequestId", ids.request_id());
            element(&mut xml, "HostId", ids.host_id());
        }
        xml.push_str("</Error>");
        xml
    }

    /// The response.
    pub(crate) fn into_response(self, ids: Option<&AmzRequestIds>) -> Response<Full<Bytes>> {
        xml_response(self.status, self.to_xml(ids))
    }
}

/// One object in a `ListBucketResult`.
#[derive(Debug)]
pub(crate) struct Listed<'a> {
    pub(crate) key: &'a str,
    pub(crate) etag: &'a str,
    pub(crate) size: usize,
}

/// A `ListBucketResult` (`ListObjectsV2`) for `bucket`.
pub(crate) fn list_bucket_result<'a>(
    bucket: &str,
    prefix: &str,
    objects: impl ExactSizeIterator<Item = Listed<'a>>,
) -> String {
    let mut xml = String::with_capacity(256 + 128 * objects.len());
    xml.push_str(XML_DECLARATION);
    xml.push_str("<ListBucketResult xmlns=\"");
    xml.push_str(S3_NAMESPACE);
    xml.push_str("\">");
    element(&mut xml, "Name", bucket);
    element(&mut xml, "Prefix", prefix);
    element(&mut xml, "KeyCount", &objects.len().to_string());
    element(&mut xml, "MaxKeys", "1000");
    element(&mut xml, "IsTruncated", "false");
    for object in objects {
        xml.push_str("<Contents>");
        element(&mut xml, "Key", object.key);
        element(&mut xml, "ETag", object.etag);
        element(&mut xml, "Size", &object.size.to_string());
        element(&mut xml, "StorageClass", "STANDARD");
        xml.push_str("</Contents>");
    }
    xml.push_str("</ListBucketResult>");
    xml
}

/// A `ListAllMyBucketsResult` (`ListBuckets`) naming `buckets`.
pub(crate) fn list_all_my_buckets_result(buckets: &[String]) -> String {
    let mut xml = String::with_capacity(256 + 64 * buckets.len());
    xml.push_str(XML_DECLARATION);
    xml.push_str("<ListAllMyBucketsResult xmlns=\"");
    xml.push_str(S3_NAMESPACE);
    xml.push_str("\"><Owner><ID>example-bucket-server</ID></Owner><Buckets>");
    for name in buckets {
        xml.push_str("<Bucket>");
        element(&mut xml, "Name", name);
        xml.push_str("</Bucket>");
    }
    xml.push_str("</Buckets></ListAllMyBucketsResult>");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_handles_markup_and_quotes() {
        assert_eq!(
            escape(r#"a&b<c>"d"'e'"#),
            "a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;"
        );
        assert_eq!(escape("plain/key.txt"), "plain/key.txt");
    }

    #[test]
    fn error_elements_come_in_s3_order() {
        let ids = AmzRequestIds::new("REQ", "HOST");
        let xml = S3Error::no_such_key("a<b").to_xml(Some(&ids));
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
             <Message>The specified key does not exist.</Message><Key>a&lt;b</Key>\
             <RequestId>REQ</RequestId><HostId>HOST</HostId></Error>"
        );
    }

    #[test]
    fn listing_counts_and_escapes_keys() {
        let xml = list_bucket_result(
            "demo",
            "",
            [Listed {
                key: "a&b",
                etag: "\"x\"",
                size: 3,
            }]
            .into_iter(),
        );
        assert!(xml.contains("<KeyCount>1</KeyCount>"), "{xml}");
        assert!(
            xml.contains("<Key>a&amp;b</Key><ETag>&quot;x&quot;</ETag><Size>3</Size>"),
            "{xml}"
        );
    }
}
