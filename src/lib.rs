//! S3's CORS semantics as a tower middleware.
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod config;
pub mod policy;
mod xml_text;

pub use config::{
    ConfigError, ConfigErrorKind, CorsConfiguration, CorsRule, DocumentFormat, Validation,
};
pub use policy::{
    Allowed, CorsRequest, Decision, Explanation, Policy, Refusal, RuleOutcome, RuleVerdict,
};
