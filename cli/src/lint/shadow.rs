//! `shadowed-rule`: a rule that an earlier rule always answers first.
//!
//! Rule `j` is shadowed by an earlier rule `i` when every request `j`
//! matches, `i` matches too. This module reports that only when it can be
//! shown pattern by pattern, so a report is never wrong (a rule covered by
//! several earlier rules together is not reported):
//!
//! - every `AllowedOrigin` of `j` is covered by one of `i` (byte for byte);
//! - every `AllowedMethod` of `j` is one of `i`'s;
//! - every header `j` admits, `i` admits: a rule without `AllowedHeader`
//!   admits only requests that list no header, which every rule admits;
//!   otherwise every `AllowedHeader` of `j` is covered by one of `i`
//!   (compared ASCII-case-insensitively).

use tower_s3_cors::config::CorsRule;

/// A value with at most one `*`.
#[derive(Debug, PartialEq, Eq)]
enum Pattern {
    /// `*`: everything.
    Any,
    /// No `*`.
    Exact(String),
    /// `prefix*suffix`: at least `prefix` and `suffix`, not overlapping.
    Affix(String, String),
}

impl Pattern {
    fn new(text: &str) -> Self {
        match text.split_once('*') {
            None => Self::Exact(text.to_owned()),
            Some(("", "")) => Self::Any,
            Some((prefix, suffix)) => Self::Affix(prefix.to_owned(), suffix.to_owned()),
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(exact) => exact == value,
            Self::Affix(prefix, suffix) => {
                value.len() >= prefix.len() + suffix.len()
                    && value.starts_with(prefix.as_str())
                    && value.ends_with(suffix.as_str())
            }
        }
    }

    /// Whether every value `other` matches, `self` matches.
    fn covers(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Any, _) => true,
            (_, Self::Any) => false,
            (_, Self::Exact(value)) => self.matches(value),
            (Self::Exact(_), Self::Affix(..)) => false,
            // c x d starts with a when c does, and ends with b when d does;
            // its length is at least |c| + |d| ≥ |a| + |b|.
            (Self::Affix(a, b), Self::Affix(c, d)) => {
                c.starts_with(a.as_str()) && d.ends_with(b.as_str())
            }
        }
    }
}

fn patterns(values: &[String], fold_case: bool) -> Vec<Pattern> {
    values
        .iter()
        .map(|v| {
            if fold_case {
                Pattern::new(&v.to_ascii_lowercase())
            } else {
                Pattern::new(v)
            }
        })
        .collect()
}

fn all_covered(earlier: &[Pattern], later: &[Pattern]) -> bool {
    later.iter().all(|l| earlier.iter().any(|e| e.covers(l)))
}

/// Whether `earlier` matches every request `later` matches (as far as can
/// be shown pattern by pattern).
pub(crate) fn shadows(earlier: &CorsRule, later: &CorsRule) -> bool {
    let methods = later
        .allowed_methods
        .iter()
        .all(|m| earlier.allowed_methods.contains(m));
    methods
        && all_covered(
            &patterns(&earlier.allowed_origins, false),
            &patterns(&later.allowed_origins, false),
        )
        && (later.allowed_headers.is_empty()
            || all_covered(
                &patterns(&earlier.allowed_headers, true),
                &patterns(&later.allowed_headers, true),
            ))
}

#[cfg(test)]
mod tests {
    use super::{Pattern, shadows};
    use tower_s3_cors::config::CorsRule;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule::new()
            .allowed_origins(origins.iter().copied())
            .allowed_methods(methods.iter().copied())
            .allowed_headers(headers.iter().copied())
    }

    #[test]
    fn coverage_of_single_star_patterns() {
        let p = |s: &str| Pattern::new(s);
        assert!(p("*").covers(&p("https://a")));
        assert!(p("https://*").covers(&p("https://*.example.com")));
        assert!(p("*.example.com").covers(&p("https://*.example.com")));
        assert!(!p("https://*.example.com").covers(&p("https://*example.com")));
        assert!(p("https://*.example.com").covers(&p("https://a.example.com")));
        assert!(!p("https://a.example.com").covers(&p("https://*.example.com")));
        assert!(
            !p("ab*ba").covers(&p("aba")),
            "prefix and suffix may not overlap"
        );
        assert!(!p("https://*").covers(&p("*")));
    }

    #[test]
    fn earlier_rule_must_cover_origins_methods_and_headers() {
        let wide = rule(&["*"], &["GET", "PUT"], &["*"]);
        assert!(shadows(&wide, &rule(&["https://a"], &["GET"], &[])));
        assert!(shadows(
            &wide,
            &rule(&["https://a"], &["PUT"], &["x-amz-*"])
        ));
        assert!(!shadows(&wide, &rule(&["https://a"], &["DELETE"], &[])));
        let no_headers = rule(&["*"], &["GET"], &[]);
        assert!(shadows(&no_headers, &rule(&["https://a"], &["GET"], &[])));
        assert!(!shadows(
            &no_headers,
            &rule(&["https://a"], &["GET"], &["x-a"])
        ));
        let amz = rule(&["*"], &["GET"], &["X-Amz-*"]);
        assert!(shadows(
            &amz,
            &rule(&["https://a"], &["GET"], &["x-amz-date"])
        ));
        assert!(!shadows(
            &amz,
            &rule(&["https://a"], &["GET"], &["x-amz-date", "content-type"])
        ));
        let case = rule(&["https://A"], &["GET"], &[]);
        assert!(
            !shadows(&case, &rule(&["https://a"], &["GET"], &[])),
            "origins are case-sensitive"
        );
    }
}
