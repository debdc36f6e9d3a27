//! How to fix a document S3 refuses: one line per kind of refusal, shown
//! under S3's own message by `validate` and as the fix of lint's
//! `invalid-document`.

use tower_s3_cors::ConfigError;
use tower_s3_cors::config::ConfigErrorKind;

/// The five methods S3 accepts in `AllowedMethod`.
pub(crate) const S3_METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

/// The fix for `err`, when one can be said without seeing the document
/// (a document of the wrong shape gets its fix from the reader, which sees
/// where it went wrong).
pub(crate) fn for_error(err: &ConfigError) -> Option<String> {
    let value = err.value().unwrap_or_default();
    Some(match err.kind() {
        ConfigErrorKind::UnsupportedMethod => method(value),
        ConfigErrorKind::OriginWildcards => format!(
            "one '*' per AllowedOrigin; a '*' also matches dots, so {:?} already covers \
             subdomains at every depth",
            collapse_stars(value)
        ),
        ConfigErrorKind::HeaderWildcards => {
            format!("one '*' per AllowedHeader: {:?}", collapse_stars(value))
        }
        ConfigErrorKind::ExposeHeaderWildcard => {
            "list each header the page reads (ETag, x-amz-version-id, ...): S3 takes no '*' in \
             ExposeHeader"
                .to_owned()
        }
        ConfigErrorKind::InvalidExposeHeader => {
            "a header name, without control characters".to_owned()
        }
        ConfigErrorKind::TooManyRules => {
            "at most 100 rules: rules that allow the same methods and headers can be one rule \
             with several AllowedOrigin values"
                .to_owned()
        }
        ConfigErrorKind::IdTooLong => "an ID of at most 255 characters".to_owned(),
        ConfigErrorKind::NoRules => {
            "at least one CORSRule (DeleteBucketCors removes a configuration)".to_owned()
        }
        ConfigErrorKind::MissingAllowedOrigin => {
            "add an AllowedOrigin (\"*\" for every origin)".to_owned()
        }
        ConfigErrorKind::MissingAllowedMethod => {
            "add an AllowedMethod: GET, PUT, HEAD, POST or DELETE".to_owned()
        }
        ConfigErrorKind::InvalidMaxAge => {
            "MaxAgeSeconds a whole number of seconds from 0 to 2147483647".to_owned()
        }
        ConfigErrorKind::InvalidCharacter => {
            "remove the control character: XML cannot carry it, so S3 cannot store it".to_owned()
        }
        _ => return None,
    })
}

/// The fix for an `AllowedMethod` S3 refuses.
fn method(value: &str) -> String {
    let upper = value.trim().to_ascii_uppercase();
    if upper == "OPTIONS" {
        "remove OPTIONS; S3 answers preflights itself".to_owned()
    } else if S3_METHODS.contains(&upper.as_str()) {
        format!("AllowedMethod {upper:?}: methods are upper case, without spaces")
    } else if value == "*" {
        "list the methods: GET, PUT, HEAD, POST, DELETE (S3 takes no '*' here)".to_owned()
    } else {
        format!("remove {value:?}: S3 allows only GET, PUT, HEAD, POST and DELETE")
    }
}

/// `value` with each run of `*`s and the text between two of them made one
/// `*`: `https://*.*.example.com` → `https://*.example.com`.
fn collapse_stars(value: &str) -> String {
    match (value.find('*'), value.rfind('*')) {
        (Some(first), Some(last)) => format!(
            "{}*{}",
            value.get(..first).unwrap_or_default(),
            value.get(last + 1..).unwrap_or_default()
        ),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{collapse_stars, method};

    #[test]
    fn options_has_its_own_fix() {
        assert_eq!(
            method("OPTIONS"),
            "remove OPTIONS; S3 answers preflights itself"
        );
        assert_eq!(
            method("options"),
            "remove OPTIONS; S3 answers preflights itself"
        );
        assert_eq!(
            method("get"),
            "AllowedMethod \"GET\": methods are upper case, without spaces"
        );
        assert!(method("PATCH").starts_with("remove \"PATCH\""));
    }

    #[test]
    fn stars_collapse_to_one() {
        assert_eq!(
            collapse_stars("https://*.*.example.com"),
            "https://*.example.com"
        );
        assert_eq!(collapse_stars("x-*-*"), "x-*");
    }
}
