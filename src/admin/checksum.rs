//! `x-amz-checksum-*`: the checksums S3 verifies on a `PutBucketCors` body.
//!
//! S3 knows five: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256, each sent
//! base64-encoded in its own header (`x-amz-checksum-crc32`, …). Every
//! current AWS client sends `x-amz-checksum-crc32` with `PutBucketCors`, and
//! no `Content-MD5`. The CRCs come from the `crc` crate's catalogue
//! (`CRC_32_ISO_HDLC`, `CRC_32_ISCSI`, `CRC_64_NVME`: pure Rust, no unsafe
//! code), the SHAs from RustCrypto's `sha1` and `sha2`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crc::{CRC_32_ISCSI, CRC_32_ISO_HDLC, CRC_64_NVME, Crc};
use http::HeaderMap;
use sha1::Digest as _;

use super::reply::AdminError;

/// One of S3's checksum algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    /// All five, in S3's documentation order.
    const ALL: [Self; 5] = [
        Self::Crc32,
        Self::Crc32c,
        Self::Crc64Nvme,
        Self::Sha1,
        Self::Sha256,
    ];

    /// The request header carrying this checksum.
    fn header(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Self::Sha1 => "x-amz-checksum-sha1",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The name S3 writes in its messages, in capitals.
    fn s3_name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// The checksum of `body`, big-endian for the CRCs (as S3 encodes them).
    fn digest(self, body: &[u8]) -> Vec<u8> {
        match self {
            Self::Crc32 => Crc::<u32>::new(&CRC_32_ISO_HDLC)
                .checksum(body)
                .to_be_bytes()
                .to_vec(),
            Self::Crc32c => Crc::<u32>::new(&CRC_32_ISCSI)
                .checksum(body)
                .to_be_bytes()
                .to_vec(),
            Self::Crc64Nvme => Crc::<u64>::new(&CRC_64_NVME)
                .checksum(body)
                .to_be_bytes()
                .to_vec(),
            Self::Sha1 => sha1::Sha1::digest(body).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(body).to_vec(),
        }
    }

    /// The checksum's length in bytes (before base64).
    fn len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
}

/// A checksum a request declared, decoded.
#[derive(Debug)]
pub(super) struct Checksum {
    algorithm: Algorithm,
    value: Vec<u8>,
}

/// The names of the five checksum headers: the headers that count as "a
/// checksum" (`x-amz-checksum-type` and `x-amz-checksum-algorithm` do not).
pub(super) fn has_checksum_header(headers: &HeaderMap) -> bool {
    Algorithm::ALL
        .iter()
        .any(|a| headers.contains_key(a.header()))
}

/// The checksum `headers` declare, if any.
///
/// # Errors
///
/// S3's `400 InvalidRequest` when more than one checksum is sent (two
/// algorithms, or one header twice), or when the value is not the base64 of
/// a checksum of the algorithm's length.
pub(super) fn declared_checksum(headers: &HeaderMap) -> Result<Option<Checksum>, AdminError> {
    let mut found = None;
    for algorithm in Algorithm::ALL {
        for value in headers.get_all(algorithm.header()) {
            if found.is_some() {
                return Err(AdminError::bad_request(
                    "InvalidRequest",
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
                ));
            }
            found = Some((algorithm, value));
        }
    }
    let Some((algorithm, value)) = found else {
        return Ok(None);
    };
    let decoded = STANDARD
        .decode(value.as_bytes().trim_ascii())
        .ok()
        .filter(|v| v.len() == algorithm.len())
        .ok_or_else(|| {
            AdminError::bad_request(
                "InvalidRequest",
                format!("Value for {} header is invalid.", algorithm.header()),
            )
        })?;
    Ok(Some(Checksum {
        algorithm,
        value: decoded,
    }))
}

impl Checksum {
    /// Checks `body` against the declared checksum.
    ///
    /// # Errors
    ///
    /// S3's `400 BadDigest` naming the algorithm when they differ.
    pub(super) fn verify(&self, body: &[u8]) -> Result<(), AdminError> {
        if self.algorithm.digest(body) == self.value {
            return Ok(());
        }
        Err(AdminError::bad_request(
            "BadDigest",
            format!(
                "The {} you specified did not match the calculated checksum.",
                self.algorithm.s3_name()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// The base64 checksums of `"hello world"`, computed independently
    /// (Python's `zlib` and `hashlib`, and a bit-by-bit CRC for CRC32C and
    /// CRC64NVME), and the catalogue's check values over `"123456789"`.
    #[test]
    fn digests_are_s3_s() {
        let cases = [
            (Algorithm::Crc32, "DUoRhQ=="),
            (Algorithm::Crc32c, "yZRlqg=="),
            (Algorithm::Crc64Nvme, "jSnVw/bqjr4="),
            (Algorithm::Sha1, "Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
            (
                Algorithm::Sha256,
                "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
            ),
        ];
        for (algorithm, expected) in cases {
            assert_eq!(
                STANDARD.encode(algorithm.digest(b"hello world")),
                expected,
                "{algorithm:?}"
            );
            assert_eq!(algorithm.digest(b"").len(), algorithm.len());
        }
        assert_eq!(
            Algorithm::Crc32.digest(b"123456789"),
            0xcbf4_3926_u32.to_be_bytes()
        );
        assert_eq!(
            Algorithm::Crc32c.digest(b"123456789"),
            0xe306_9283_u32.to_be_bytes()
        );
        assert_eq!(
            Algorithm::Crc64Nvme.digest(b"123456789"),
            0xae8b_1486_0a79_9888_u64.to_be_bytes()
        );
    }

    #[test]
    fn a_right_checksum_passes_and_a_wrong_one_is_bad_digest() {
        for algorithm in Algorithm::ALL {
            let good = STANDARD.encode(algorithm.digest(b"body"));
            let checksum = declared_checksum(&headers(&[(algorithm.header(), &good)]))
                .unwrap()
                .unwrap();
            checksum.verify(b"body").unwrap();
            let err = checksum.verify(b"other body").unwrap_err();
            assert_eq!(err.code, "BadDigest");
            assert_eq!(
                err.message,
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    algorithm.s3_name()
                )
            );
        }
    }

    #[test]
    fn a_value_of_the_wrong_length_or_not_base64_is_invalid_request() {
        for (name, value) in [
            ("x-amz-checksum-crc32", "AAAA"),
            ("x-amz-checksum-crc32", "AAAAAAAAAAA="),
            ("x-amz-checksum-crc32c", "not base64!"),
            ("x-amz-checksum-crc64nvme", "AAAAAA=="),
            ("x-amz-checksum-sha1", ""),
            ("x-amz-checksum-sha256", "AAAAAA=="),
        ] {
            let err = declared_checksum(&headers(&[(name, value)])).unwrap_err();
            assert_eq!(err.code, "InvalidRequest");
            assert_eq!(err.message, format!("Value for {name} header is invalid."));
        }
    }

    #[test]
    fn more_than_one_checksum_is_invalid_request() {
        for pairs in [
            &[
                ("x-amz-checksum-crc32", "AAAAAA=="),
                ("x-amz-checksum-sha256", "AAAAAA=="),
            ][..],
            &[
                ("x-amz-checksum-crc32", "AAAAAA=="),
                ("x-amz-checksum-crc32", "AAAAAA=="),
            ],
        ] {
            let err = declared_checksum(&headers(pairs)).unwrap_err();
            assert_eq!(err.code, "InvalidRequest");
            assert_eq!(
                err.message,
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
            );
        }
    }

    #[test]
    fn other_checksum_headers_are_not_checksums() {
        let map = headers(&[
            ("x-amz-checksum-type", "FULL_OBJECT"),
            ("x-amz-checksum-algorithm", "CRC32"),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
        ]);
        assert!(!has_checksum_header(&map));
        assert!(declared_checksum(&map).unwrap().is_none());
    }
}
