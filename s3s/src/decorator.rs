//! [`CorsS3`]: S3's `?cors` sub-resource on the s3s side, after s3s's
//! authentication.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use http::{Extensions, HeaderMap, Method};
use s3s::dto::{
    CreateBucketInput, CreateBucketOutput, DeleteBucketCorsInput, DeleteBucketCorsOutput,
    DeleteBucketInput, DeleteBucketOutput, GetBucketCorsInput, GetBucketCorsOutput,
    HeadBucketInput, PutBucketCorsInput, PutBucketCorsOutput,
};
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use tower_s3_cors::Policy;
use tower_s3_cors::config::{ConfigErrorKind, CorsConfiguration, MAX_DOCUMENT_BYTES, Validation};
use tower_s3_cors::source::Buckets;

use crate::dto;

/// Where [`CorsS3`] keeps bucket CORS configurations, and what the CORS
/// layer then serves.
///
/// Implemented for the core crate's in-memory [`Buckets`] (which then also
/// tracks which buckets exist: create, at start-up, the buckets the backend
/// already has). A persistent implementation writes the configuration to
/// its store and updates what the layer reads before it returns, so that
/// the next request sees it.
#[async_trait]
pub trait CorsConfigs: Send + Sync + 'static {
    /// Replaces the configuration of `bucket` (which exists) with `policy`,
    /// which [`CorsS3`] has validated and compiled.
    async fn put(&self, bucket: &str, policy: Policy) -> S3Result<()>;

    /// The configuration of `bucket`, or `None` when it has none.
    async fn get(&self, bucket: &str) -> S3Result<Option<CorsConfiguration>>;

    /// Removes the configuration of `bucket`; removing none succeeds.
    async fn delete(&self, bucket: &str) -> S3Result<()>;

    /// The backend has just created `bucket`. A new bucket has no CORS
    /// configuration (S3 keeps none across a delete and re-create): the
    /// provided method [deletes](Self::delete) whatever is stored.
    async fn bucket_created(&self, bucket: &str) -> S3Result<()> {
        self.delete(bucket).await
    }

    /// The backend has just deleted `bucket`, and its configuration goes
    /// with it: the provided method [deletes](Self::delete) it.
    async fn bucket_deleted(&self, bucket: &str) -> S3Result<()> {
        self.delete(bucket).await
    }
}

#[async_trait]
impl CorsConfigs for Buckets {
    async fn put(&self, bucket: &str, policy: Policy) -> S3Result<()> {
        let _ = self.create(bucket).store(policy);
        Ok(())
    }

    async fn get(&self, bucket: &str) -> S3Result<Option<CorsConfiguration>> {
        Ok(self
            .get(bucket)
            .and_then(|handle| handle.load())
            .map(|policy| policy.to_configuration()))
    }

    async fn delete(&self, bucket: &str) -> S3Result<()> {
        if let Some(handle) = self.get(bucket) {
            let _ = handle.clear();
        }
        Ok(())
    }

    /// Adds the bucket, without CORS.
    async fn bucket_created(&self, bucket: &str) -> S3Result<()> {
        let _ = self.create(bucket).clear();
        Ok(())
    }

    /// Removes the bucket: its preflights then get `Bucket not found`.
    async fn bucket_deleted(&self, bucket: &str) -> S3Result<()> {
        let _ = self.remove(bucket);
        Ok(())
    }
}

#[async_trait]
impl<T: CorsConfigs + ?Sized> CorsConfigs for Arc<T> {
    async fn put(&self, bucket: &str, policy: Policy) -> S3Result<()> {
        (**self).put(bucket, policy).await
    }

    async fn get(&self, bucket: &str) -> S3Result<Option<CorsConfiguration>> {
        (**self).get(bucket).await
    }

    async fn delete(&self, bucket: &str) -> S3Result<()> {
        (**self).delete(bucket).await
    }

    async fn bucket_created(&self, bucket: &str) -> S3Result<()> {
        (**self).bucket_created(bucket).await
    }

    async fn bucket_deleted(&self, bucket: &str) -> S3Result<()> {
        (**self).bucket_deleted(bucket).await
    }
}

/// An `S3` implementation that answers `PutBucketCors`, `GetBucketCors` and
/// `DeleteBucketCors` from a [`CorsConfigs`], and hands every other
/// operation to the inner implementation (`CreateBucket` and `DeleteBucket`
/// too, telling the [`CorsConfigs`] when they succeed).
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
    pub(crate) inner: S,
    configs: C,
    validation: Validation,
    require_digest: bool,
}

impl<S, C> CorsS3<S, C> {
    /// `inner` for every operation but the `?cors` ones, which `configs`
    /// keeps; S3's validation; `Content-MD5` (or a checksum) required.
    pub fn new(inner: S, configs: C) -> Self {
        Self {
            inner,
            configs,
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

    /// The configurations.
    pub fn configs(&self) -> &C {
        &self.configs
    }
}

impl<S: fmt::Debug, C: fmt::Debug> fmt::Debug for CorsS3<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsS3")
            .field("inner", &self.inner)
            .field("configs", &self.configs)
            .field("validation", &self.validation)
            .field("require_content_md5", &self.require_digest)
            .finish()
    }
}

impl<S: S3, C: CorsConfigs> CorsS3<S, C> {
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
        let policy =
            Policy::compile_with(&config, self.validation).map_err(|err| dto::s3_error(&err))?;
        self.configs.put(bucket, policy).await?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    pub(crate) async fn handle_get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let bucket = req.input.bucket.as_str();
        self.check_bucket(&req, bucket).await?;
        let Some(config) = self.configs.get(bucket).await? else {
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
        self.configs.delete(bucket).await?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }

    pub(crate) async fn handle_create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let response = self.inner.create_bucket(req).await?;
        self.configs.bucket_created(&bucket).await?;
        Ok(response)
    }

    pub(crate) async fn handle_delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let response = self.inner.delete_bucket(req).await?;
        self.configs.bucket_deleted(&bucket).await?;
        Ok(response)
    }
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
        let err = CorsConfiguration::from_xml(&big).unwrap_err();
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
