//! `Content-MD5` and `x-amz-checksum-*`: what a `PutBucketCors` must carry.

use base64::Engine as _;
use http::HeaderMap;

use super::reply::AdminError;

/// The `Content-MD5` to check, if one was sent; an error answer when
/// neither it nor an `x-amz-checksum-*` header is present and one is
/// `required`.
pub(super) fn expected_md5(
    headers: &HeaderMap,
    required: bool,
) -> Result<Option<[u8; 16]>, AdminError> {
    let invalid = || {
        AdminError::bad_request(
            "InvalidDigest",
            "The Content-MD5 you specified was invalid.",
        )
    };
    match headers.get("content-md5") {
        Some(value) => base64::engine::general_purpose::STANDARD
            .decode(value.as_bytes())
            .ok()
            .and_then(|digest| <[u8; 16]>::try_from(digest).ok())
            .map(Some)
            .ok_or_else(invalid),
        None if !required
            || headers
                .keys()
                .any(|name| name.as_str().starts_with("x-amz-checksum-")) =>
        {
            Ok(None)
        }
        None => Err(AdminError::bad_request(
            "InvalidRequest",
            "Missing required header for this request: Content-MD5",
        )),
    }
}
