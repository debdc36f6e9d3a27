//! Property tests: no document and no request makes the crate panic.
//! Documents are built from fragments of real `CORSConfiguration`s and JSON
//! rules, shuffled and cut, so the parsers see near-valid input too; requests
//! carry arbitrary bytes in every header the layer reads.

use std::convert::Infallible;

use http::{HeaderValue, Method, Request, Response};
use proptest::prelude::*;
use tower::{Layer, ServiceExt, service_fn};
use tower_s3_cors::config::{CorsConfiguration, Validation};
use tower_s3_cors::policy::CorsRequest;
use tower_s3_cors::{Policy, S3CorsLayer, SharedPolicy};

fn xml_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<CORSConfiguration>".to_owned()),
        Just("</CORSConfiguration>".to_owned()),
        Just(r#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#.to_owned()),
        Just("<CORSRule>".to_owned()),
        Just("</CORSRule>".to_owned()),
        Just("<CORSRule/>".to_owned()),
        Just("<AllowedOrigin>*</AllowedOrigin>".to_owned()),
        Just("<AllowedOrigin>http://*.a.*</AllowedOrigin>".to_owned()),
        Just("<AllowedMethod>GET</AllowedMethod>".to_owned()),
        Just("<AllowedMethod>PATCH</AllowedMethod>".to_owned()),
        Just("<AllowedHeader>x-*</AllowedHeader>".to_owned()),
        Just("<ExposeHeader>ETag</ExposeHeader>".to_owned()),
        Just("<MaxAgeSeconds>99999999999</MaxAgeSeconds>".to_owned()),
        Just("<MaxAgeSeconds>-1</MaxAgeSeconds>".to_owned()),
        Just("<ID>&amp;&#0;&#x110000;&bogus;</ID>".to_owned()),
        Just("<![CDATA[ ]]>".to_owned()),
        Just("<!-- c -->".to_owned()),
        Just("<?xml version=\"1.0\"?>".to_owned()),
        Just("<!DOCTYPE x>".to_owned()),
        Just("<a:b xmlns:a=\"urn:x\">".to_owned()),
        "[ -~]{0,12}",
        "\\PC{0,6}",
    ]
}

fn json_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{\"CORSRules\": [".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("}".to_owned()),
        Just("{".to_owned()),
        Just(",".to_owned()),
        Just("\"AllowedOrigins\": [\"*\"]".to_owned()),
        Just("\"AllowedMethods\": [\"GET\", \"get\"]".to_owned()),
        Just("\"AllowedHeaders\": [\"*\", \"x-**\"]".to_owned()),
        Just("\"ExposeHeaders\": [\"a\\nb\"]".to_owned()),
        Just("\"MaxAgeSeconds\": 1e400".to_owned()),
        Just("\"MaxAgeSeconds\": -0".to_owned()),
        Just("\"ID\": null".to_owned()),
        "[ -~]{0,8}",
    ]
}

fn documents() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(xml_fragment(), 0..24).prop_map(|f| f.concat()),
        prop::collection::vec(json_fragment(), 0..24).prop_map(|f| f.concat()),
        "\\PC{0,64}",
    ]
}

/// `Access-Control-*` headers an inner service may set on its own.
const INNER_CORS: [(&str, &str); 6] = [
    ("access-control-allow-credentials", "true"),
    ("access-control-allow-origin", "*"),
    ("access-control-allow-origin", "https://inner.example"),
    ("access-control-allow-private-network", "true"),
    ("access-control-max-age", "86400"),
    ("access-control-allow-methods", "PATCH"),
];

/// The `Access-Control-*` headers the layer writes.
const LAYER_HEADERS: [&str; 6] = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
];

fn header_bytes() -> impl Strategy<Value = HeaderValue> {
    prop::collection::vec(prop_oneof![9u8..=9, 32u8..=126, 128u8..=255], 0..24)
        .prop_map(|bytes| HeaderValue::from_bytes(&bytes).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reading_validating_and_compiling_never_panics(doc in documents()) {
        if let Ok(config) = CorsConfiguration::from_document(&doc) {
            let _ = config.validate();
            let _ = Policy::compile_with(&config, Validation::s3().allow_extended_methods());
            // Whatever was read writes back and reads again to the same model.
            let again = CorsConfiguration::from_xml(&config.to_xml()).unwrap();
            prop_assert_eq!(&again, &config);
            prop_assert_eq!(CorsConfiguration::from_json(&config.to_json()).unwrap(), config);
        }
        let _ = CorsConfiguration::from_xml(&doc);
        let _ = CorsConfiguration::from_json(&doc);
        let shared = SharedPolicy::empty();
        if shared.put_document(&doc).is_err() {
            prop_assert!(!shared.is_configured(), "a refused document stores nothing");
        }
    }

    #[test]
    fn any_request_headers_get_an_answer(
        origin in prop::option::of(header_bytes()),
        acrm in prop::option::of(header_bytes()),
        acrh in prop::collection::vec(header_bytes(), 0..3),
        preflight in any::<bool>(),
        inner_vary in prop::option::of(header_bytes()),
        inner_cors in prop::collection::vec(prop::sample::select(INNER_CORS.to_vec()), 0..4),
    ) {
        let policy = Policy::from_document(r#"[
            {"AllowedOrigins": ["http://*.example", "null"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["x-*"]},
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 0}
        ]"#).unwrap();
        let method = if preflight { Method::OPTIONS } else { Method::GET };
        let request_origin = origin.clone().filter(|o| !o.is_empty());
        let mut request = Request::builder().method(method.clone()).uri("/k").body(()).unwrap();
        let headers = request.headers_mut();
        if let Some(origin) = origin { headers.insert("origin", origin); }
        if let Some(acrm) = acrm { headers.insert("access-control-request-method", acrm); }
        for value in acrh { headers.append("access-control-request-headers", value); }

        if let Some(cors) = CorsRequest::new(&method, request.headers()) {
            let decision = policy.evaluate(&cors);
            prop_assert_eq!(policy.explain(&cors).matched_rule(), decision.as_ref().ok().map(|a| a.rule_index()));
        }

        let sent = inner_cors.clone();
        let service = S3CorsLayer::new(policy).layer(service_fn(move |_req: Request<()>| {
            let inner_vary = inner_vary.clone();
            let inner_cors = inner_cors.clone();
            async move {
                let mut response = Response::new(());
                if let Some(vary) = inner_vary { response.headers_mut().insert("vary", vary); }
                for (name, value) in inner_cors {
                    response.headers_mut().append(name, HeaderValue::from_static(value));
                }
                Ok::<_, Infallible>(response)
            }
        }));
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let response = runtime.block_on(service.oneshot(request)).unwrap();
        prop_assert!([200, 400, 403].contains(&response.status().as_u16()));

        // A policy applies to every request here: with an Origin, the
        // Access-Control-* headers are exactly the layer's (never the inner
        // service's); without one, the inner service's pass untouched.
        let headers = response.headers();
        let cors: Vec<_> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        if let Some(origin) = &request_origin {
            for name in &cors {
                prop_assert!(LAYER_HEADERS.contains(&name.as_str()), "{name} came from the inner service");
                prop_assert_eq!(headers.get_all(*name).iter().count(), 1, "{} twice", name);
            }
            if let Some(allow_origin) = headers.get("access-control-allow-origin") {
                if allow_origin == "*" {
                    prop_assert!(headers.get("access-control-allow-credentials").is_none(), "* with credentials");
                } else {
                    prop_assert_eq!(allow_origin, origin);
                    prop_assert_eq!(&headers["access-control-allow-credentials"], "true");
                }
            } else {
                prop_assert!(cors.is_empty(), "CORS headers without a match: {:?}", headers);
            }
        } else if !preflight {
            let inner: Vec<_> = response.headers().iter()
                .filter(|(name, _)| name.as_str().starts_with("access-control-"))
                .map(|(name, value)| (name.as_str(), value.to_str().unwrap()))
                .collect();
            let mut inner = inner;
            let mut expected: Vec<(&str, &str)> = sent.clone();
            inner.sort_unstable();
            expected.sort_unstable();
            prop_assert_eq!(inner, expected);
        }
    }
}
