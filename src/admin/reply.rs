//! [`Reply`]: S3's answers to `?cors` requests.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::config::{ConfigError, CorsConfiguration};
use crate::s3::{AmzRequestIds, ResourceType, S3Error};
use crate::source::BucketError;

static APPLICATION_XML: HeaderValue = HeaderValue::from_static("application/xml");

/// An S3 error answer, before it is rendered for a request.
#[derive(Debug)]
pub(super) struct AdminError {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: Cow<'static, str>,
    /// S3 names the bucket in this error (`<BucketName>`).
    pub(super) names_bucket: bool,
}

impl AdminError {
    /// `400` with `code` and `message`.
    pub(super) fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            names_bucket: false,
        }
    }
}

impl From<&BucketError> for AdminError {
    fn from(err: &BucketError) -> Self {
        Self {
            status: err.status(),
            code: err.s3_code(),
            message: err.s3_message(),
            names_bucket: err.names_bucket(),
        }
    }
}

impl From<&ConfigError> for AdminError {
    fn from(err: &ConfigError) -> Self {
        Self {
            status: err.status(),
            code: err.s3_code(),
            message: err.s3_message().into(),
            names_bucket: false,
        }
    }
}

/// What an answer needs to know of its request: the bucket and the request
/// IDs.
#[derive(Debug)]
pub(super) struct Reply {
    /// The bucket's name, when the source has one (`<BucketName>`).
    pub(super) bucket: Option<String>,
    pub(super) ids: Option<AmzRequestIds>,
}

impl Reply {
    /// S3's error XML for `error`.
    pub(super) fn error(&self, error: &AdminError) -> Response<Bytes> {
        self.render(S3Error {
            bucket_name: self.bucket.as_deref().filter(|_| error.names_bucket),
            ..S3Error::new(error.status, error.code, &error.message)
        })
    }

    /// `405 MethodNotAllowed` for `method` on `?cors` of a bucket (or, for
    /// writes, of an object).
    pub(super) fn method_not_allowed(
        &self,
        method: &http::Method,
        resource: ResourceType,
    ) -> Response<Bytes> {
        self.render(S3Error {
            method_and_resource: Some((method.as_str().as_bytes(), resource)),
            ..S3Error::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            )
        })
    }

    fn render(&self, error: S3Error<'_>) -> Response<Bytes> {
        let ids = self.ids.as_ref();
        S3Error { ids, ..error }
            .into_answer()
            .into_response(HeaderMap::new(), ids)
    }

    /// An empty success answer, with the request IDs as headers.
    pub(super) fn success(&self, status: StatusCode) -> Response<Bytes> {
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = status;
        if let Some(ids) = &self.ids {
            ids.write_headers(response.headers_mut());
        }
        response
    }

    /// `PutBucketCors` (`200`) or `DeleteBucketCors` (`204`): `status`, or
    /// the error.
    pub(super) fn done(
        &self,
        outcome: Result<(), AdminError>,
        status: StatusCode,
    ) -> Response<Bytes> {
        match outcome {
            Ok(()) => self.success(status),
            Err(error) => self.error(&error),
        }
    }

    /// `GetBucketCors`: the configuration as S3's XML, `404
    /// NoSuchCORSConfiguration`, or the error.
    pub(super) fn get(
        &self,
        outcome: Result<Option<CorsConfiguration>, AdminError>,
    ) -> Response<Bytes> {
        let config = match outcome {
            Ok(Some(config)) => config,
            Ok(None) => {
                return self.render(S3Error {
                    bucket_name: self.bucket.as_deref(),
                    ..S3Error::new(
                        StatusCode::NOT_FOUND,
                        "NoSuchCORSConfiguration",
                        "The CORS configuration does not exist",
                    )
                });
            }
            Err(error) => return self.error(&error),
        };
        let mut response = Response::new(Bytes::from(config.to_xml()));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, APPLICATION_XML.clone());
        if let Some(ids) = &self.ids {
            ids.write_headers(headers);
        }
        response
    }
}
