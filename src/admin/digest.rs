//! `Content-MD5` and `x-amz-checksum-*`: what a `PutBucketCors` must carry.

use base64::Engine as _;
use http::HeaderMap;

use super::checksum::has_checksum_header;
use super::reply::AdminError;

/// The `Content-MD5` to check, if one was sent; an error answer when
/// neither it nor one of S3's five `x-amz-checksum-*` headers is present and
/// one is `required`.
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
        None if !required || has_checksum_header(headers) => Ok(None),
        None => Err(AdminError::bad_request(
            "InvalidRequest",
            "Missing required header for this request: Content-MD5",
        )),
    }
}
