//! The bounds of a `PutBucketCors` body: a declared length over 64 KiB is
//! refused before any of the body is read (and before a server grants
//! `100 Continue`); a body that stops arriving times out (the timer is in
//! `timer`).

use std::time::Duration;

use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body::SizeHint;

use crate::config::MAX_DOCUMENT_BYTES;

/// How long a `PutBucketCors` body may stop arriving before the layer
/// answers `400 RequestTimeout`, by default: 20 seconds (S3 closes idle
/// connections after about that long).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(20);

/// The `Content-Length` a request declares, if it declares one that reads
/// as a number (one too large for a `u64` reads as `u64::MAX`).
pub(super) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    let digits = headers.get(CONTENT_LENGTH)?.as_bytes().trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        std::str::from_utf8(digits)
            .ok()?
            .parse()
            .unwrap_or(u64::MAX),
    )
}

/// Whether a request's body is known to be over the 64 KiB document limit
/// before any of it is read: by its declared `Content-Length`, or by its
/// body's size hint (what HTTP/2 and other servers know of its length).
pub(super) fn declared_too_large(headers: &HeaderMap, hint: &SizeHint) -> bool {
    let limit = MAX_DOCUMENT_BYTES as u64;
    declared_length(headers).is_some_and(|length| length > limit) || hint.lower() > limit
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with_length(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn a_declared_length_over_64_kib_is_too_large() {
        let unknown = SizeHint::new();
        assert!(!declared_too_large(&HeaderMap::new(), &unknown));
        assert!(!declared_too_large(&with_length("65536"), &unknown));
        assert!(declared_too_large(&with_length("65537"), &unknown));
        assert!(declared_too_large(&with_length("10000000000"), &unknown));
        assert!(declared_too_large(
            &with_length("99999999999999999999999"),
            &unknown
        ));
        assert!(!declared_too_large(&with_length("nonsense"), &unknown));
        assert!(declared_too_large(
            &HeaderMap::new(),
            &SizeHint::with_exact(65_537)
        ));
        assert!(!declared_too_large(
            &HeaderMap::new(),
            &SizeHint::with_exact(65_536)
        ));
    }
}
