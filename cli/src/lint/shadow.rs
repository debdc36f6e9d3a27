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
    use tower_s3_cors::config::CorsRule;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule::new()
            .allowed_origins(origins.iter().copied())
            .allowed_methods(methods.iter().copied())
            .allowed_headers(headers.iter().copied())
    }

    /// A deterministic stream of numbers (a linear congruential generator).
    struct Numbers(u64);

    impl Numbers {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) as usize) % n
        }

        fn pattern(&mut self, alphabet: &[char], star: bool) -> String {
            let len = self.below(3);
            let mut text: String = (0..len)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect();
            if star && self.below(2) == 0 {
                text.insert(self.below(text.len() + 1), '*');
            }
            text
        }

        fn rule(&mut self) -> CorsRule {
            let mut rule = CorsRule::new();
            for _ in 0..=self.below(2) {
                let origin = self.pattern(&['a', 'b'], true);
                rule = rule.allowed_origin(if origin.is_empty() {
                    "a".to_owned()
                } else {
                    origin
                });
            }
            rule = match self.below(3) {
                0 => rule.allowed_method("GET"),
                1 => rule.allowed_method("PUT"),
                _ => rule.allowed_methods(["GET", "PUT"]),
            };
            for _ in 0..self.below(3) {
                let header = self.pattern(&['x', 'X', 'y'], true);
                rule = rule.allowed_header(header);
            }
            rule
        }
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
