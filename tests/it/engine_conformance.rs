//! Replays every recorded S3 vector that the rule engine alone decides
//! (a configuration is present and the request has an `Origin`) against
//! `Policy::evaluate`, and checks the decision's headers or refusal.
//!
//! The full layer replays all vectors, including those decided before the
//! engine runs, in `tests/conformance.rs`.

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;
use tower_s3_cors::Policy;
use tower_s3_cors::policy::{CorsRequest, Refusal};

const VECTORS: &str = include_str!("../fixtures/s3-recorded.json");

#[test]
fn engine_replays_every_vector_it_decides() {
    let fixture: Value = serde_json::from_str(VECTORS).unwrap();
    let mut replayed = 0;
    for vector in fixture["vectors"].as_array().unwrap() {
        let id = &vector["id"];
        let config = &fixture["configs"][vector["config"].as_str().unwrap()];
        if config.is_null() || vector["bucket"] != "exists" {
            continue; // decided by the layer: no configuration or no bucket
        }
        let policy = Policy::from_document(&config.to_string()).unwrap();
        let method = Method::from_bytes(vector["method"].as_str().unwrap().as_bytes()).unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in vector["request_headers"].as_object().unwrap() {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
            );
        }
        let Some(request) = CorsRequest::new(&method, &headers) else {
            continue; // no Origin: decided by the layer
        };
        replayed += 1;

        let expected = vector["cors_headers"].as_object().unwrap();
        let decision = policy.evaluate(&request);
        match decision {
            Ok(allowed) => {
                let mut got = HeaderMap::new();
                allowed.write_headers(&mut got);
                let expected_without_vary = expected.iter().filter(|(name, _)| *name != "vary");
                assert_eq!(
                    got.len(),
                    expected_without_vary.clone().count(),
                    "vector {id}: {got:?}"
                );
                for (name, value) in expected_without_vary {
                    assert_eq!(
                        got[name.as_str()],
                        value.as_str().unwrap(),
                        "vector {id}: {name}"
                    );
                }
            }
            Err(refusal) => {
                assert!(
                    expected.is_empty(),
                    "vector {id}: refused ({refusal}) but S3 matched"
                );
                if method == Method::OPTIONS {
                    assert_eq!(vector["status"], 403, "vector {id}");
                    assert_eq!(refusal, Refusal::NoRuleMatched, "vector {id}");
                }
            }
        }
    }
    // 30 vectors: 6 have no configuration (or no bucket), 2 have no Origin.
    assert_eq!(replayed, 22, "every engine-decided vector was replayed");
}
