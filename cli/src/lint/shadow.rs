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

use crate::pattern::Pattern;

fn patterns(values: &[String], fold_case: bool) -> Vec<Pattern> {
    values
        .iter()
        .map(|v| {
            if fold_case {
                Pattern::folded(v)
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
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::shadows;
    use crate::testing::Numbers;
    use tower_s3_cors::config::CorsRule;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule::new()
            .allowed_origins(origins.iter().copied())
            .allowed_methods(methods.iter().copied())
            .allowed_headers(headers.iter().copied())
    }

    /// Soundness against the real engine: when `shadows(first, second)`, no
    /// request is decided by the second rule of `[first, second]`.
    #[test]
    fn a_shadowed_rule_never_decides_a_request_in_the_engine() {
        use http::{HeaderMap, HeaderValue, Method};
        use tower_s3_cors::config::CorsConfiguration;
        use tower_s3_cors::policy::{CorsRequest, Policy};

        let origins: Vec<String> = ["a", "b", "aa", "ab", "ba", "bb", "aab", "aba", "abb", "bab"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let header_lists = ["", "x", "X", "y", "xy", "x, y", "yx, xx"];
        let mut numbers = Numbers(14);
        let (mut shadowed, mut pairs) = (0, 0);
        while pairs < 3000 {
            let (first, second) = (numbers.rule(), numbers.rule());
            let config = CorsConfiguration::new()
                .rule(first.clone())
                .rule(second.clone());
            let Ok(policy) = Policy::compile(&config) else {
                continue;
            };
            pairs += 1;
            if !shadows(&first, &second) {
                continue;
            }
            shadowed += 1;
            for origin in &origins {
                for method in ["GET", "PUT"] {
                    for list in header_lists {
                        let mut headers = HeaderMap::new();
                        headers.insert("origin", HeaderValue::from_str(origin).unwrap());
                        headers.insert(
                            "access-control-request-method",
                            HeaderValue::from_static(method),
                        );
                        if !list.is_empty() {
                            headers.insert(
                                "access-control-request-headers",
                                HeaderValue::from_static(list),
                            );
                        }
                        let request = CorsRequest::new(&Method::OPTIONS, &headers).unwrap();
                        assert_ne!(
                            policy.explain(&request).matched_rule(),
                            Some(1),
                            "{first:?} shadows {second:?}, yet the second decides {origin} {method} [{list}]"
                        );
                    }
                }
            }
        }
        assert!(
            shadowed > 100,
            "only {shadowed} shadowed pairs: the test shows little"
        );
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
