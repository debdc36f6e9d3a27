//! The JSON shapes of a CORS configuration: the AWS CLI/SDK's
//! `{"CORSRules": [...]}` and the S3 console's bare array `[...]`.

use serde::{Deserialize, Serialize};

use super::validate::{check_characters, max_age_error};
use super::{ConfigError, CorsConfiguration, CorsRule, MAX_AGE_SECONDS_LIMIT};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(rename = "CORSRules")]
    rules: Vec<JsonRule>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct JsonRule {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(rename = "AllowedHeaders", default, skip_serializing_if = "is_empty")]
    allowed_headers: Option<Vec<String>>,
    #[serde(rename = "AllowedMethods", default, skip_serializing_if = "is_empty")]
    allowed_methods: Option<Vec<String>>,
    #[serde(rename = "AllowedOrigins", default, skip_serializing_if = "is_empty")]
    allowed_origins: Option<Vec<String>>,
    #[serde(rename = "ExposeHeaders", default, skip_serializing_if = "is_empty")]
    expose_headers: Option<Vec<String>>,
    #[serde(
        rename = "MaxAgeSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    max_age_seconds: Option<serde_json::Number>,
}

#[derive(Serialize)]
struct OutDocument<'a> {
    #[serde(rename = "CORSRules")]
    rules: &'a [JsonRule],
}

#[allow(clippy::ref_option)] // the signature serde's skip_serializing_if asks for
fn is_empty(list: &Option<Vec<String>>) -> bool {
    list.as_ref().is_none_or(Vec::is_empty)
}

pub(super) fn parse(doc: &str) -> Result<CorsConfiguration, ConfigError> {
    let malformed = |e: serde_json::Error| ConfigError::malformed(e.to_string());
    let rules = if doc.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<JsonRule>>(doc).map_err(malformed)?
    } else {
        serde_json::from_str::<Document>(doc)
            .map_err(malformed)?
            .rules
    };
    rules
        .into_iter()
        .enumerate()
        .map(|(index, rule)| {
            let id = rule.id.clone();
            rule.into_rule()
                .map_err(|e| e.at_rule(index, id.as_deref()))
        })
        .collect()
}

impl JsonRule {
    fn into_rule(self) -> Result<CorsRule, ConfigError> {
        let max_age_seconds = match self.max_age_seconds {
            None => None,
            Some(n) => Some(
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|&seconds| seconds <= MAX_AGE_SECONDS_LIMIT)
                    .ok_or_else(|| max_age_error(&n.to_string()))?,
            ),
        };
        let rule = CorsRule {
            id: self.id,
            // A member left out is an empty list; validation refuses a rule
            // without origins or methods, as S3 does.
            allowed_origins: self.allowed_origins.unwrap_or_default(),
            allowed_methods: self.allowed_methods.unwrap_or_default(),
            allowed_headers: self.allowed_headers.unwrap_or_default(),
            expose_headers: self.expose_headers.unwrap_or_default(),
            max_age_seconds,
        };
        check_characters(&rule)?;
        Ok(rule)
    }

    fn from_rule(rule: &CorsRule) -> Self {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        Self {
            id: rule.id.clone(),
            allowed_headers: list(&rule.allowed_headers),
            allowed_methods: list(&rule.allowed_methods),
            allowed_origins: list(&rule.allowed_origins),
            expose_headers: list(&rule.expose_headers),
            max_age_seconds: rule.max_age_seconds.map(Into::into),
        }
    }
}

pub(super) fn write(config: &CorsConfiguration) -> String {
    let rules: Vec<JsonRule> = config.rules.iter().map(JsonRule::from_rule).collect();
    serde_json::to_string_pretty(&OutDocument { rules: &rules })
        .expect("serializing strings, lists and numbers into a String cannot fail")
}
