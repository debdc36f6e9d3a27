//! S3's CORS semantics as a tower middleware.
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod body;
pub mod config;
pub mod future;
mod layer;
pub mod policy;
mod s3_error;
mod service;
mod source;
mod vary;
mod xml_text;

pub use body::ResponseBody;
pub use config::{
    ConfigError, ConfigErrorKind, CorsConfiguration, CorsRule, DocumentFormat, Validation,
};
pub use layer::{S3CorsLayer, VaryMode};
pub use policy::{
    Allowed, CorsRequest, Decision, Explanation, Policy, Refusal, RuleOutcome, RuleVerdict,
};
pub use s3_error::AmzRequestIds;
pub use service::S3Cors;
pub use source::{Buckets, PolicySource, RequestHead, Resolution, ResourceType, SharedPolicy};
