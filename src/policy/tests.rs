//! Rule-engine tables: first match wins, wildcards, case, and invariants.

#![allow(clippy::unwrap_used)]

use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;

use super::*;
use crate::config::{CorsConfiguration, CorsRule, Validation};

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// What [`Policy::evaluate`] gives.
type Decision = Result<Allowed, Refusal>;

/// Shorthands for reading a [`Decision`] in assertions.
trait Read {
    fn is_allowed(&self) -> bool;
    fn allowed(&self) -> Option<&Allowed>;
    fn refusal(&self) -> Option<Refusal>;
}

impl Read for Decision {
    fn is_allowed(&self) -> bool {
        self.is_ok()
    }

    fn allowed(&self) -> Option<&Allowed> {
        self.as_ref().ok()
    }

    fn refusal(&self) -> Option<Refusal> {
        self.as_ref().err().copied()
    }
}

fn decide(policy: &Policy, method: &Method, pairs: &[(&str, &str)]) -> Decision {
    let map = headers(pairs);
    let request = CorsRequest::new(method, &map).expect("request has an Origin");
    let decision = policy.evaluate(&request);
    // The explanation must always agree with the decision.
    let explanation = policy.explain(&request);
    assert_eq!(
        explanation.matched_rule(),
        decision.allowed().map(Allowed::rule_index),
        "{explanation}"
    );
    assert_eq!(explanation.refusal(), decision.refusal(), "{explanation}");
    decision
}

fn preflight(policy: &Policy, origin: &str, method: &str, acrh: Option<&str>) -> Decision {
    let mut pairs = vec![
        ("origin", origin),
        ("access-control-request-method", method),
    ];
    if let Some(acrh) = acrh {
        pairs.push(("access-control-request-headers", acrh));
    }
    decide(policy, &Method::OPTIONS, &pairs)
}

fn policy(rules: impl IntoIterator<Item = CorsRule>) -> Policy {
    Policy::compile(&rules.into_iter().collect()).unwrap()
}

#[test]
fn first_matching_rule_wins_and_a_partial_match_falls_through() {
    let p = policy([
        CorsRule::new()
            .id("origin-only")
            .allowed_origin("http://a.example")
            .allowed_method("GET"),
        CorsRule::new()
            .id("wild")
            .allowed_origin("*")
            .allowed_method("PUT"),
        CorsRule::new()
            .id("exact")
            .allowed_origin("http://a.example")
            .allowed_method("PUT"),
    ]);
    let d = preflight(&p, "http://a.example", "PUT", None);
    assert_eq!(d.allowed().unwrap().rule_id(), Some("wild"));
    assert_eq!(d.allowed().unwrap().allow_origin(), "*");
    let d = preflight(&p, "http://a.example", "GET", None);
    assert_eq!(d.allowed().unwrap().rule_index(), 0);
}

#[test]
fn index_keeps_document_order_between_exact_and_wildcard_rules() {
    let p = policy([
        CorsRule::new()
            .allowed_origin("http://*.example")
            .allowed_method("GET"),
        CorsRule::new()
            .allowed_origin("http://a.example")
            .allowed_method("GET"),
        CorsRule::new()
            .allowed_origin("http://a.example")
            .allowed_method("PUT"),
        CorsRule::new().allowed_origin("*").allowed_method("PUT"),
    ]);
    assert_eq!(
        preflight(&p, "http://a.example", "GET", None)
            .allowed()
            .unwrap()
            .rule_index(),
        0
    );
    assert_eq!(
        preflight(&p, "http://a.example", "PUT", None)
            .allowed()
            .unwrap()
            .rule_index(),
        2
    );
    assert_eq!(
        preflight(&p, "http://b.other", "PUT", None)
            .allowed()
            .unwrap()
            .rule_index(),
        3
    );
}

#[test]
fn origins_are_byte_exact() {
    let p = policy([CorsRule::new()
        .allowed_origin("http://x.example")
        .allowed_method("GET")]);
    for (origin, allowed) in [
        ("http://x.example", true),
        ("https://x.example", false),
        ("http://x.example:80", false),
        ("http://x.example/", false),
        ("HTTP://X.EXAMPLE", false),
        ("null", false),
    ] {
        assert_eq!(
            preflight(&p, origin, "GET", None).is_allowed(),
            allowed,
            "{origin}"
        );
    }
}

#[test]
fn wildcard_origin_matches_anything_including_null_and_non_urls() {
    let p = policy([CorsRule::new().allowed_origin("*").allowed_method("GET")]);
    for origin in ["null", "localhost:4566", "http://a.example", "x"] {
        let d = preflight(&p, origin, "GET", None);
        let allowed = d.allowed().unwrap();
        assert_eq!(allowed.allow_origin(), "*");
        assert!(allowed.allow_credentials().is_none());
    }
}

#[test]
fn rule_listing_star_beside_other_origins_answers_star() {
    let p = policy([CorsRule::new()
        .allowed_origins(["http://a.example", "*"])
        .allowed_method("GET")]);
    let d = preflight(&p, "http://a.example", "GET", None);
    assert_eq!(d.allowed().unwrap().allow_origin(), "*");
    assert!(d.allowed().unwrap().allow_credentials().is_none());
}

#[test]
fn methods_are_byte_equal_and_head_is_not_implied_by_get() {
    let p = policy([CorsRule::new().allowed_origin("*").allowed_method("GET")]);
    assert!(preflight(&p, "o", "GET", None).is_allowed());
    assert_eq!(
        preflight(&p, "o", "HEAD", None).refusal(),
        Some(Refusal::NoRuleMatched)
    );
}

#[test]
fn invalid_or_missing_preflight_method_is_refused_before_the_rules() {
    let p = policy([CorsRule::new().allowed_origin("*").allowed_method("GET")]);
    for method in ["get", "PATCH", "", "OPTIONS"] {
        assert_eq!(
            preflight(&p, "o", method, None).refusal(),
            Some(Refusal::InvalidRequestMethod),
            "{method:?}"
        );
    }
    let d = decide(&p, &Method::OPTIONS, &[("origin", "o")]);
    assert_eq!(d.refusal(), Some(Refusal::MissingRequestMethod));
}

#[test]
fn extended_methods_are_matched_when_the_policy_allows_them() {
    let config: CorsConfiguration = [CorsRule::new()
        .allowed_origin("*")
        .allowed_methods(["GET", "PATCH"])]
    .into_iter()
    .collect();
    let p = Policy::compile_with(&config, Validation::s3().allow_extended_methods()).unwrap();
    assert!(preflight(&p, "o", "PATCH", None).is_allowed());
    assert_eq!(
        preflight(&p, "o", "PROPFIND", None).refusal(),
        Some(Refusal::NoRuleMatched)
    );
    assert_eq!(
        preflight(&p, "o", "two words", None).refusal(),
        Some(Refusal::InvalidRequestMethod)
    );
    assert_eq!(p.configuration().rules[0].allowed_methods, ["GET", "PATCH"]);
    assert_eq!(
        preflight(&p, "o", "PATCH", None)
            .allowed()
            .unwrap()
            .allow_methods(),
        "GET, PATCH"
    );
}

#[test]
fn header_names_match_case_insensitively_with_one_wildcard() {
    let p = policy([CorsRule::new()
        .allowed_origin("*")
        .allowed_method("PUT")
        .allowed_headers(["x-amz-*", "Content-Type"])]);
    let d = preflight(&p, "o", "PUT", Some("X-Amz-Meta-Foo, content-TYPE"));
    assert_eq!(
        d.allowed().unwrap().allow_headers().unwrap(),
        "x-amz-meta-foo, content-type"
    );
    assert_eq!(
        preflight(&p, "o", "PUT", Some("x-amz-date, authorization")).refusal(),
        Some(Refusal::NoRuleMatched)
    );
}

#[test]
fn a_rule_without_allowed_headers_matches_only_requests_without_them() {
    let p = policy([CorsRule::new().allowed_origin("*").allowed_method("GET")]);
    assert!(preflight(&p, "o", "GET", None).is_allowed());
    assert!(!preflight(&p, "o", "GET", Some("x-foo")).is_allowed());
    // Nothing but separators and blanks names no header.
    let d = preflight(&p, "o", "GET", Some(" , ,"));
    assert!(d.allowed().unwrap().allow_headers().is_none());
}

#[test]
fn allow_headers_echo_is_trimmed_lower_cased_and_in_request_order() {
    let p = policy([CorsRule::new()
        .allowed_origin("*")
        .allowed_method("GET")
        .allowed_header("*")]);
    let d = preflight(&p, "o", "GET", Some("  X-B ,, x-a,X-C  "));
    assert_eq!(
        d.allowed().unwrap().allow_headers().unwrap(),
        "x-b, x-a, x-c"
    );
    // Several header lines are read as one list.
    let d = decide(
        &p,
        &Method::OPTIONS,
        &[
            ("origin", "o"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "X-One"),
            ("access-control-request-headers", "x-two, x-three"),
        ],
    );
    assert_eq!(
        d.allowed().unwrap().allow_headers().unwrap(),
        "x-one, x-two, x-three"
    );
}

#[test]
fn actual_requests_match_acrm_when_present_else_their_own_method() {
    let p = policy([CorsRule::new().allowed_origin("*").allowed_method("GET")]);
    assert!(decide(&p, &Method::GET, &[("origin", "o")]).is_allowed());
    assert!(!decide(&p, &Method::PUT, &[("origin", "o")]).is_allowed());
    assert!(
        !decide(
            &p,
            &Method::GET,
            &[("origin", "o"), ("access-control-request-method", "PUT")]
        )
        .is_allowed()
    );
    assert!(
        decide(
            &p,
            &Method::PUT,
            &[("origin", "o"), ("access-control-request-method", "GET")]
        )
        .is_allowed()
    );
    // An actual request never gets the "invalid method" refusal.
    assert_eq!(
        decide(
            &p,
            &Method::GET,
            &[("origin", "o"), ("access-control-request-method", "get")]
        )
        .refusal(),
        Some(Refusal::NoRuleMatched)
    );
}

#[test]
fn precomputed_values_follow_the_rule() {
    let p = policy([CorsRule::new()
        .allowed_origin("http://a.example")
        .allowed_methods(["PUT", "GET"])
        .expose_headers(["ETag", "x-amz-id-2"])
        .max_age_seconds(0)]);
    let d = preflight(&p, "http://a.example", "GET", None);
    let a = d.allowed().unwrap();
    assert_eq!(a.allow_origin(), "http://a.example");
    assert_eq!(a.allow_credentials().unwrap(), "true");
    assert_eq!(a.allow_methods(), "PUT, GET");
    assert_eq!(a.expose_headers().unwrap(), "ETag, x-amz-id-2");
    assert_eq!(a.max_age().unwrap(), "0");
    assert!(a.allow_headers().is_none());
}

#[test]
fn explanation_names_the_refused_header() {
    let p = policy([
        CorsRule::new()
            .id("first")
            .allowed_origin("*")
            .allowed_method("PUT")
            .allowed_header("x-a"),
        CorsRule::new()
            .allowed_origin("http://other")
            .allowed_method("PUT"),
    ]);
    let map = headers(&[
        ("origin", "http://me"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "x-a, X-B"),
    ]);
    let e = p.explain(&CorsRequest::new(&Method::OPTIONS, &map).unwrap());
    assert_eq!(e.rules()[0], RuleVerdict::HeaderNotAllowed("X-B".into()));
    assert_eq!(e.rule_id(0), Some("first"));
    assert_eq!(e.rules()[1], RuleVerdict::OriginNotAllowed);
    assert_eq!(e.refusal(), Some(Refusal::NoRuleMatched));
    assert_eq!(
        e.to_string(),
        r#"origin "http://me", method "PUT": no CORS rule matched (rule #1 (ID "first"): header "X-B" not allowed; rule #2: origin not allowed)"#
    );
}

#[test]
fn hundred_rule_policy_finds_the_last_exact_rule() {
    let p = policy((0..100).map(|i| {
        CorsRule::new()
            .allowed_origin(format!("https://site{i}.example"))
            .allowed_method("GET")
    }));
    let d = preflight(&p, "https://site99.example", "GET", None);
    assert_eq!(d.allowed().unwrap().rule_index(), 99);
    assert!(!preflight(&p, "https://site100.example", "GET", None).is_allowed());
}

#[test]
fn a_decision_outlives_its_request_and_policy_handle() {
    let p = policy([CorsRule::new().allowed_origin("*").allowed_method("GET")]);
    let d = preflight(&p, "o", "GET", None);
    drop(p);
    let mut out = HeaderMap::new();
    if let Ok(a) = d {
        a.write_headers(&mut out);
    }
    assert_eq!(out["access-control-allow-origin"], "*");
    assert!(out.get("access-control-allow-credentials").is_none());
}

// ---- properties ----

fn arb_rule() -> impl Strategy<Value = CorsRule> {
    let origin = prop_oneof![
        Just("*".to_owned()),
        "http://[ab]{1,2}\\.example",
        "http://\\*\\.example",
        "http://[ab]\\*",
        "\\*\\.example",
    ];
    let header = prop_oneof![Just("*".to_owned()), "x-[ab]{1,2}", "x-\\*", "X-A"];
    (
        prop::collection::vec(origin, 1..3),
        prop::sample::subsequence(vec!["GET", "PUT", "HEAD", "POST", "DELETE"], 1..3),
        prop::collection::vec(header, 0..3),
    )
        .prop_map(|(origins, methods, headers)| {
            CorsRule::new()
                .allowed_origins(origins)
                .allowed_methods(methods)
                .allowed_headers(headers)
        })
}

/// The specification, written as plainly as possible.
fn reference(
    config: &CorsConfiguration,
    origin: &str,
    method: &str,
    names: &[&str],
) -> Option<usize> {
    let wild = |pattern: &str, value: &str| match pattern.split_once('*') {
        None => pattern == value,
        Some((p, s)) => {
            value.len() >= p.len() + s.len() && value.starts_with(p) && value.ends_with(s)
        }
    };
    config.rules.iter().position(|rule| {
        rule.allowed_origins.iter().any(|o| wild(o, origin))
            && rule.allowed_methods.iter().any(|m| m == method)
            && names.iter().all(|n| {
                rule.allowed_headers
                    .iter()
                    .any(|h| wild(&h.to_ascii_lowercase(), &n.to_ascii_lowercase()))
            })
    })
}

proptest! {
    #[test]
    fn evaluate_agrees_with_the_reference_and_keeps_the_invariants(
        rules in prop::collection::vec(arb_rule(), 1..12),
        origin in prop_oneof![Just("http://a.example"), Just("http://b.example"), Just("http://ab.example"),
                              Just("http://a"), Just("x.example"), Just("null")],
        method in prop_oneof![Just("GET"), Just("PUT"), Just("HEAD"), Just("POST"), Just("DELETE")],
        names in prop::collection::vec(prop_oneof![Just("x-a"), Just("X-B"), Just("x-ab"), Just("y")], 0..3),
    ) {
        let config: CorsConfiguration = rules.into_iter().collect();
        let policy = Policy::compile(&config).unwrap();
        let acrh = names.join(",");
        let decision = preflight(&policy, origin, method, (!names.is_empty()).then_some(acrh.as_str()));
        let expected = reference(&config, origin, method, &names);
        prop_assert_eq!(decision.allowed().map(Allowed::rule_index), expected);
        if let Some(allowed) = decision.allowed() {
            let rule = &config.rules[allowed.rule_index()];
            // ACAC never goes with ACAO '*'.
            prop_assert_eq!(allowed.allow_origin() == "*", allowed.allow_credentials().is_none());
            // '*' only when the rule lists '*'; otherwise the echoed origin is one the rule allows.
            if allowed.allow_origin() == "*" {
                prop_assert!(rule.allowed_origins.iter().any(|o| o == "*"));
            } else {
                prop_assert_eq!(allowed.allow_origin(), origin);
                prop_assert_eq!(reference(&CorsConfiguration::from(vec![rule.clone()]), origin, method, &[]), Some(0));
            }
        }
    }
}

#[test]
fn requested_headers_over_8_kib_are_refused_before_the_rules() {
    let p = policy([CorsRule::new()
        .allowed_origin("*")
        .allowed_method("GET")
        .allowed_header("*")]);
    let names = |bytes: usize| {
        let mut line = "a,".repeat(bytes / 2 + 1);
        line.truncate(bytes);
        if line.ends_with(',') {
            line.pop();
            line.push('a');
        }
        assert_eq!(line.len(), bytes);
        line
    };
    let at_limit = names(MAX_REQUEST_HEADERS_BYTES);
    let allowed = preflight(&p, "o", "GET", Some(&at_limit));
    assert!(allowed.is_allowed());
    let over = names(MAX_REQUEST_HEADERS_BYTES + 1);
    assert_eq!(
        preflight(&p, "o", "GET", Some(&over)).refusal(),
        Some(Refusal::RequestHeadersTooLarge)
    );
    // Before the method is looked at, and for actual requests too.
    assert_eq!(
        preflight(&p, "o", "get", Some(&over)).refusal(),
        Some(Refusal::RequestHeadersTooLarge)
    );
    let d = decide(
        &p,
        &Method::GET,
        &[("origin", "o"), ("access-control-request-headers", &over)],
    );
    assert_eq!(d.refusal(), Some(Refusal::RequestHeadersTooLarge));
    // Several lines add up.
    let half = names(MAX_REQUEST_HEADERS_BYTES / 2 + 1);
    let d = decide(
        &p,
        &Method::OPTIONS,
        &[
            ("origin", "o"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", &half),
            ("access-control-request-headers", &half),
        ],
    );
    assert_eq!(d.refusal(), Some(Refusal::RequestHeadersTooLarge));
    let explanation = p.explain(
        &CorsRequest::new(
            &Method::GET,
            &headers(&[("origin", "o"), ("access-control-request-headers", &over)]),
        )
        .unwrap(),
    );
    assert!(explanation.rules().is_empty(), "{explanation}");
}

proptest! {
    /// A policy keeps its configuration in one buffer, not as a
    /// `CorsConfiguration`: what it gives back is what it was compiled
    /// from, value for value (IDs, repeated and empty values, methods
    /// beyond S3's, exposed headers, `MaxAgeSeconds` included), and the
    /// rules' answers are their own even when rules share values.
    #[test]
    fn the_configuration_and_answers_come_back_as_compiled(
        rules in prop::collection::vec(
            (
                arb_rule(),
                prop::option::of("[a-z é-]{0,12}"),
                prop::collection::vec("[A-Za-z-]{1,8}", 0..3),
                prop::option::of(prop_oneof![Just(0_u32), Just(3000), Just(2_147_483_647), any::<u32>().prop_map(|n| n % 100_000)]),
                prop::collection::vec(prop_oneof![Just("PATCH"), Just("GET")], 0..2),
            ),
            1..8,
        ),
    ) {
        let config: CorsConfiguration = rules
            .into_iter()
            .map(|(mut rule, id, expose, max_age, more_methods)| {
                rule.id = id;
                rule.expose_headers = expose;
                rule.max_age_seconds = max_age;
                rule.allowed_methods.extend(more_methods.into_iter().map(str::to_owned));
                rule
            })
            .collect();
        let policy = Policy::compile_with(&config, Validation::s3().allow_extended_methods()).unwrap();
        prop_assert_eq!(policy.configuration(), &config);
        for (index, rule) in config.rules.iter().enumerate() {
            let origin = if rule.allowed_origins.iter().any(|o| o == "*") {
                "*"
            } else {
                continue;
            };
            let method = rule.allowed_methods.last().unwrap();
            // The first rule listing `*` and this method decides a request
            // from `null` for it.
            let first = config.rules.iter().position(|r| {
                r.allowed_origins.iter().any(|o| o == "*") && r.allowed_methods.contains(method)
            });
            if first != Some(index) {
                continue;
            }
            // `null` matches no origin pattern but `*`.
            let d = decide(&policy, &Method::GET, &[("origin", "null"), ("access-control-request-method", method)]);
            let allowed = d.allowed().unwrap();
            prop_assert_eq!(allowed.rule_index(), index);
            prop_assert_eq!(allowed.rule_id(), rule.id.as_deref());
            prop_assert_eq!(allowed.allow_origin(), origin);
            prop_assert_eq!(allowed.allow_methods(), &rule.allowed_methods.join(", "));
            prop_assert_eq!(
                allowed.expose_headers().map(|v| v.to_str().unwrap().to_owned()),
                (!rule.expose_headers.is_empty()).then(|| rule.expose_headers.join(", "))
            );
            prop_assert_eq!(
                allowed.max_age().map(|v| v.to_str().unwrap().to_owned()),
                rule.max_age_seconds.map(|s| s.to_string())
            );
        }
    }
}
