//! [`CorsS3`]: S3's `?cors` sub-resource on the s3s side, after s3s's
//! authentication.

use std::fmt;
use std::sync::Arc;

use http::{Extensions, HeaderMap, Method};
use s3s::dto::{
    CreateBucketInput, CreateBucketOutput, DeleteBucketCorsInput, DeleteBucketCorsOutput,
    DeleteBucketInput, DeleteBucketOutput, GetBucketCorsInput, GetBucketCorsOutput,
    HeadBucketInput, PutBucketCorsInput, PutBucketCorsOutput,
};
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use tower_s3_cors::config::{ConfigErrorKind, MAX_DOCUMENT_BYTES, Validation};
use tower_s3_cors::source::{BucketCors, BucketError};

use crate::dto;

/// An `S3` implementation that answers `PutBucketCors`, `GetBucketCors` and
/// `DeleteBucketCors` through the write side of a
/// [`BucketCors`](tower_s3_cors::source::BucketCors) source (the same value
/// the CORS layer serves from), and hands every other operation to the
/// inner implementation (`CreateBucket` and `DeleteBucket` too, telling the
/// source when they succeed: a new bucket has no CORS, a deleted one is
/// "Bucket not found" for preflights at once and its configuration goes).
///
/// s3s calls an `S3` implementation only after its signature check and its
/// access check, so these operations are authenticated like any other: an
/// unsigned or wrongly signed `PutBucketCors` gets s3s's `AccessDenied` or
/// `SignatureDoesNotMatch` and never reaches the store.
///
/// What each operation answers, as S3 does:
///
/// | operation | answer |
/// |---|---|
/// | any of the three, bucket unknown to the inner `head_bucket` | its error (`404 NoSuchBucket`) |
/// | `PutBucketCors` without `Content-MD5` nor `x-amz-checksum-*` | `400 InvalidRequest`, `Missing required header for this request: Content-MD5` (see [`require_content_md5`](Self::require_content_md5)) |
/// | `PutBucketCors` with a `Content-Length` over 64 KiB | `400 MalformedXML`, `The CORS XML document is limited to 64 KB in size.` |
/// | `PutBucketCors` with a configuration S3 refuses | S3's code and message ([`dto::validated`]) |
/// | `PutBucketCors` | `200`, the configuration replaced |
/// | `GetBucketCors` without a configuration | `404 NoSuchCORSConfiguration`, `The CORS configuration does not exist` |
/// | `GetBucketCors` | the configuration |
/// | `DeleteBucketCors` | `204`, also when there was none |
///
/// The bucket-existence check calls the inner `head_bucket`; an inner
/// implementation without one (`NotImplemented`) is taken to mean the bucket
/// exists.
///
/// ```
/// use tower_s3_cors::source::Buckets;
/// use tower_s3_cors_s3s::CorsS3;
///
/// # #[derive(Debug)] struct Backend;
/// # #[async_trait::async_trait] impl s3s::S3 for Backend {}
/// let buckets = Buckets::path_style();
/// let s3 = CorsS3::new(Backend, buckets.clone());
/// let service = s3s::service::S3ServiceBuilder::new(s3).build();
/// # let _ = service;
/// ```
pub struct CorsS3<S, C> {
    pub(crate) inner: Arc<S>,
    cors: C,
    validation: Validation,
    require_digest: bool,
}

impl<S, C> CorsS3<S, C> {
    /// `inner` for every operation but the `?cors` ones, which go to
    /// `cors`; S3's validation; `Content-MD5` (or a checksum) required.
    pub fn new(inner: S, cors: C) -> Self {
        Self::from_arc(Arc::new(inner), cors)
    }

    /// [`new`](Self::new), with `inner` shared (with a
    /// [`BackendBuckets`](crate::BackendBuckets) that asks it which buckets
    /// exist).
    pub fn from_arc(inner: Arc<S>, cors: C) -> Self {
        Self {
            inner,
            cors,
            validation: Validation::s3(),
            require_digest: true,
        }
    }

    /// Validates configurations with `validation` (for example
    /// [`Validation::allow_extended_methods`]) instead of S3's.
    #[must_use]
    pub fn validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// S3 refuses a `PutBucketCors` that has neither `Content-MD5` nor an
    /// `x-amz-checksum-*` header; so does this decorator by default. With
    /// `false`, such a request is accepted.
    #[must_use]
    pub fn require_content_md5(mut self, require: bool) -> Self {
        self.require_digest = require;
        self
    }

    /// The inner implementation.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The bucket CORS source.
    pub fn cors(&self) -> &C {
        &self.cors
    }
}

impl<S: fmt::Debug, C: fmt::Debug> fmt::Debug for CorsS3<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsS3")
            .field("inner", &self.inner)
            .field("cors", &self.cors)
            .field("validation", &self.validation)
            .field("require_content_md5", &self.require_digest)
            .finish()
    }
}

impl<S: S3, C: BucketCors> CorsS3<S, C> {
    /// Fails with the inner implementation's error when `bucket` does not
    /// exist.
    async fn check_bucket<T>(&self, request: &S3Request<T>, bucket: &str) -> S3Result<()> {
        let probe = S3Request {
            input: HeadBucketInput {
                bucket: bucket.to_owned(),
                expected_bucket_owner: None,
            },
            method: Method::HEAD,
            uri: request.uri.clone(),
            headers: request.headers.clone(),
            extensions: Extensions::new(),
            credentials: request.credentials.clone(),
            region: request.region.clone(),
            service: request.service.clone(),
            trailing_headers: None,
        };
        match self.inner.head_bucket(probe).await {
            Ok(_) => Ok(()),
            Err(err) if *err.code() == S3ErrorCode::NotImplemented => Ok(()),
            Err(err) => Err(err),
        }
    }

    pub(crate) async fn handle_put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        let bucket = req.input.bucket.as_str();
        self.check_bucket(&req, bucket).await?;
        if self.require_digest && !has_digest(&req.headers) {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Missing required header for this request: Content-MD5",
            ));
        }
        if content_length(&req.headers).is_some_and(|length| length > MAX_DOCUMENT_BYTES) {
            return Err(document_too_large());
        }
        let config = dto::validated(&req.input.cors_configuration, self.validation)?;
        self.cors
            .put_document(bucket, &config.to_xml())
            .await
            .map_err(|err| s3_error(&err))?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    pub(crate) async fn handle_get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let bucket = req.input.bucket.as_str();
        self.check_bucket(&req, bucket).await?;
        let found = self.cors.get_document(bucket).await;
        let Some(config) = found.map_err(|err| s3_error(&err))? else {
            return Err(S3Error::with_message(
                S3ErrorCode::NoSuchCORSConfiguration,
                "The CORS configuration does not exist",
            ));
        };
        let dto = dto::from_configuration(&config)?;
        Ok(S3Response::new(GetBucketCorsOutput {
            cors_rules: Some(dto.cors_rules),
        }))
    }

    pub(crate) async fn handle_delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        let bucket = req.input.bucket.as_str();
        self.check_bucket(&req, bucket).await?;
        self.cors
            .delete_document(bucket)
            .await
            .map_err(|err| s3_error(&err))?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }

    pub(crate) async fn handle_create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let response = self.inner.create_bucket(req).await?;
        self.cors
            .bucket_created(&bucket)
            .await
            .map_err(|err| s3_error(&err))?;
        Ok(response)
    }

    pub(crate) async fn handle_delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let response = self.inner.delete_bucket(req).await?;
        // The bucket is gone whatever becomes of its configuration: the
        // answer is the backend's. A configuration left in a store that
        // failed is removed when a bucket of that name is created again.
        if let Err(error) = self.cors.bucket_deleted(&bucket).await {
            tracing::warn!(bucket, %error, "the CORS configuration of a deleted bucket was not removed");
        }
        Ok(response)
    }
}

/// s3s's error for `error`, with S3's code, message and status (the core
/// crate's mapping, transcribed).
pub(crate) fn s3_error(error: &BucketError) -> S3Error {
    let code = S3ErrorCode::from_bytes(error.s3_code().as_bytes())
        .unwrap_or_else(|| S3ErrorCode::Custom(error.s3_code().into()));
    let mut s3 = S3Error::with_message(code, error.s3_message());
    s3.set_status_code(error.status());
    s3
}

/// Whether the request carries a digest of its body, as S3 requires of a
/// `PutBucketCors`.
fn has_digest(headers: &HeaderMap) -> bool {
    headers.contains_key("content-md5")
        || headers
            .keys()
            .any(|name| name.as_str().starts_with("x-amz-checksum-"))
}

/// The body length the client announced. For an `aws-chunked` body that is
/// `x-amz-decoded-content-length`, the document's own length.
fn content_length(headers: &HeaderMap) -> Option<usize> {
    let value = headers
        .get("x-amz-decoded-content-length")
        .or_else(|| headers.get(http::header::CONTENT_LENGTH))?;
    value.to_str().ok()?.parse().ok()
}

/// S3's answer to a `PutBucketCors` body over 64 KiB.
fn document_too_large() -> S3Error {
    let code = ConfigErrorKind::DocumentTooLarge.s3_code();
    S3Error::with_message(
        S3ErrorCode::from_bytes(code.as_bytes()).unwrap_or(S3ErrorCode::MalformedXML),
        DOCUMENT_TOO_LARGE_MESSAGE,
    )
}

/// S3's message for a document over 64 KiB (the core crate's
/// `ConfigError::s3_message` for `DocumentTooLarge`; a test keeps them
/// equal).
const DOCUMENT_TOO_LARGE_MESSAGE: &str = "The CORS XML document is limited to 64 KB in size.";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_size_message_is_the_core_crates() {
        let big = format!(
            "<CORSConfiguration>{}</CORSConfiguration>",
            " ".repeat(MAX_DOCUMENT_BYTES)
        );
        let err = tower_s3_cors::config::CorsConfiguration::from_xml(&big).unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::DocumentTooLarge);
        assert_eq!(err.s3_message(), DOCUMENT_TOO_LARGE_MESSAGE);
        assert_eq!(document_too_large().code(), &S3ErrorCode::MalformedXML);
    }

    #[test]
    fn digests_are_content_md5_or_any_checksum() {
        let mut headers = HeaderMap::new();
        assert!(!has_digest(&headers));
        headers.insert("x-amz-checksum-crc32", "AAAAAA==".parse().unwrap());
        assert!(has_digest(&headers));
        let mut headers = HeaderMap::new();
        headers.insert("content-md5", "x".parse().unwrap());
        assert!(has_digest(&headers));
    }

    #[test]
    fn the_decoded_length_wins_over_the_wire_length() {
        let mut headers = HeaderMap::new();
        headers.insert("content-length", "70000".parse().unwrap());
        assert_eq!(content_length(&headers), Some(70000));
        headers.insert("x-amz-decoded-content-length", "100".parse().unwrap());
        assert_eq!(content_length(&headers), Some(100));
        headers.insert("x-amz-decoded-content-length", "bad".parse().unwrap());
        assert_eq!(content_length(&headers), None);
    }
}
