//! What the server prints when it starts: its address, its buckets and
//! curl commands that work against them.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use http::header::{ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, HeaderValue, Method};
use tower_s3_cors::Policy;
use tower_s3_cors::policy::CorsRequest;
use tower_s3_cors::source::Buckets;

/// An origin no example document allows.
const STRANGER: &str = "https://not-allowed.example";

/// The start-up text. Its first line is exactly `listening on http://ADDR`
/// (tests and scripts read the port from it); then the buckets, then
/// ready-to-paste curl commands: a preflight the policy allows, one it
/// refuses and a `GET` with an `Origin`, worked out from the first bucket
/// that has a CORS configuration (and checked against its policy).
///
/// ```
/// use example_bucket_server::{Config, banner};
///
/// let text = banner("127.0.0.1:8080".parse().unwrap(), Config::demo().buckets());
/// assert_eq!(text.lines().next(), Some("listening on http://127.0.0.1:8080"));
/// assert!(text.contains("-H 'Origin: http://www.example1.com' -H 'Access-Control-Request-Method: PUT'"));
/// ```
#[must_use]
pub fn banner(addr: SocketAddr, buckets: &Buckets) -> String {
    let mut out = format!("listening on http://{addr}\n");
    let base = format!("http://{}", reachable(addr));

    let names = buckets.names();
    let described: Vec<String> = names
        .iter()
        .map(
            |name| match buckets.get(name).and_then(|cors| cors.load()) {
                Some(policy) if policy.len() == 1 => format!("{name} (CORS: 1 rule)"),
                Some(policy) => format!("{name} (CORS: {} rules)", policy.len()),
                None => format!("{name} (no CORS)"),
            },
        )
        .collect();
    let _ = writeln!(
        out,
        "buckets: {}",
        if described.is_empty() {
            "none".to_owned()
        } else {
            described.join(", ")
        }
    );

    let configured = names
        .iter()
        .find_map(|name| Some((name, buckets.get(name)?.load()?)));
    let Some(bucket) = configured.as_ref().map(|(name, _)| *name).or(names.first()) else {
        return out;
    };
    let object = format!("{base}/{bucket}/hello.txt");
    let cors_url = format!("'{base}/{bucket}?cors'");

    let _ = writeln!(out, "\nTry it (bucket {bucket:?}):");
    let _ = writeln!(out, "  # store an object");
    let _ = writeln!(
        out,
        "  curl -i -X PUT -H 'Content-Type: text/plain' --data-binary 'hello, CORS' {object}"
    );
    if let Some((_, policy)) = configured {
        if let Some((origin, method, headers)) = allowed_preflight(&policy) {
            let _ = writeln!(
                out,
                "  # a preflight a rule allows: 200 with Access-Control-Allow-* headers"
            );
            let acrh = headers
                .map(|h| format!(" -H 'Access-Control-Request-Headers: {h}'"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  curl -i -X OPTIONS -H 'Origin: {origin}' -H 'Access-Control-Request-Method: {method}'{acrh} {object}"
            );
        }
        if let Some((origin, method)) = refused_preflight(&policy) {
            let _ = writeln!(out, "  # a preflight no rule allows: 403 AccessForbidden");
            let _ = writeln!(
                out,
                "  curl -i -X OPTIONS -H 'Origin: {origin}' -H 'Access-Control-Request-Method: {method}' {object}"
            );
        }
        if let Some(origin) = allowed_get(&policy) {
            let _ = writeln!(
                out,
                "  # a GET with an Origin: the object, with CORS headers"
            );
            let _ = writeln!(out, "  curl -i -H 'Origin: {origin}' {object}");
        }
    }
    let _ = writeln!(
        out,
        "  # the bucket's CORS configuration: read, replace (XML or JSON), remove"
    );
    let _ = writeln!(out, "  curl -i {cors_url}");
    let _ = writeln!(out, "  curl -i -X PUT --data-binary @cors.xml {cors_url}");
    let _ = writeln!(out, "  curl -i -X DELETE {cors_url}");
    out
}

/// The address to put in URLs: a wildcard bind address becomes loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// Origins worth trying: one per `AllowedOrigin` (a wildcard filled in),
/// safe to paste between single quotes.
fn sample_origins(policy: &Policy) -> Vec<String> {
    let mut origins: Vec<String> = policy
        .configuration()
        .rules
        .iter()
        .flat_map(|rule| rule.allowed_origins.iter())
        .map(|pattern| match pattern.as_str() {
            "*" => "https://www.example.com".to_owned(),
            pattern => pattern.replacen('*', "www", 1),
        })
        .filter(|origin| !origin.is_empty() && !origin.contains('\''))
        .collect();
    origins.dedup();
    origins
}

/// Whether `policy` allows this request (`None` if it cannot be built).
fn allows(
    policy: &Policy,
    origin: &str,
    method: &str,
    preflight: bool,
    acrh: Option<&str>,
) -> Option<bool> {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, HeaderValue::from_str(origin).ok()?);
    let method = if preflight {
        headers.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_str(method).ok()?,
        );
        Method::OPTIONS
    } else {
        Method::from_bytes(method.as_bytes()).ok()?
    };
    if let Some(acrh) = acrh {
        headers.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_str(acrh).ok()?,
        );
    }
    let request = CorsRequest::new(&method, &headers)?;
    Some(policy.evaluate(&request).is_ok())
}

/// An origin, a method (preferably one that needs a preflight in a browser)
/// and maybe a requested header that the policy allows.
fn allowed_preflight(policy: &Policy) -> Option<(String, String, Option<String>)> {
    for rule in &policy.configuration().rules {
        let mut methods: Vec<&String> = rule.allowed_methods.iter().collect();
        methods.sort_by_key(|m| matches!(m.as_str(), "GET" | "HEAD"));
        let header = rule
            .allowed_headers
            .first()
            .map(|pattern| match pattern.as_str() {
                "*" => "content-type".to_owned(),
                pattern => pattern.replacen('*', "meta", 1),
            });
        for origin in sample_origins(policy) {
            for method in &methods {
                for acrh in [header.as_deref(), None] {
                    let safe = acrh.is_none_or(|h| !h.contains('\''));
                    if safe && allows(policy, &origin, method, true, acrh) == Some(true) {
                        return Some((origin, (*method).clone(), acrh.map(str::to_owned)));
                    }
                }
            }
        }
    }
    None
}

/// An origin and a method the policy refuses.
fn refused_preflight(policy: &Policy) -> Option<(String, &'static str)> {
    let mut origins = vec![STRANGER.to_owned()];
    origins.extend(sample_origins(policy));
    origins.into_iter().find_map(|origin| {
        ["PUT", "DELETE", "POST", "GET", "HEAD"]
            .into_iter()
            .find(|method| allows(policy, &origin, method, true, None) == Some(false))
            .map(|method| (origin.clone(), method))
    })
}

/// An origin whose `GET` gets CORS headers.
fn allowed_get(policy: &Policy) -> Option<String> {
    let mut origins = sample_origins(policy);
    origins.push(STRANGER.to_owned());
    origins
        .into_iter()
        .find(|origin| allows(policy, origin, "GET", false, None) == Some(true))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::config::Config;

    #[test]
    fn demo_banner_has_an_allowed_a_refused_and_a_get_example() {
        let text = banner("0.0.0.0:8080".parse().unwrap(), Config::demo().buckets());
        assert_eq!(
            text.lines().next(),
            Some("listening on http://0.0.0.0:8080")
        );
        assert!(text.contains("buckets: demo (CORS: 3 rules)"), "{text}");
        assert!(text.contains(
            "curl -i -X OPTIONS -H 'Origin: http://www.example1.com' -H 'Access-Control-Request-Method: PUT' \
             -H 'Access-Control-Request-Headers: content-type' http://127.0.0.1:8080/demo/hello.txt"
        ), "{text}");
        assert!(text.contains(
            "curl -i -X OPTIONS -H 'Origin: https://not-allowed.example' -H 'Access-Control-Request-Method: PUT' \
             http://127.0.0.1:8080/demo/hello.txt"
        ), "{text}");
        assert!(
            text.contains(
                "curl -i -H 'Origin: http://www.example1.com' http://127.0.0.1:8080/demo/hello.txt"
            ),
            "{text}"
        );
    }

    #[test]
    fn wildcard_origins_are_filled_in() {
        let buckets = Buckets::path_style();
        buckets
            .create("site")
            .put_document(
                r#"[{"AllowedOrigins":["https://*.example.org"],"AllowedMethods":["GET"]}]"#,
            )
            .unwrap();
        let text = banner("[::]:9000".parse().unwrap(), &buckets);
        assert!(text.contains("-H 'Origin: https://www.example.org' -H 'Access-Control-Request-Method: GET' http://[::1]:9000/site/hello.txt"), "{text}");
        assert!(
            text.contains(
                "-H 'Origin: https://not-allowed.example' -H 'Access-Control-Request-Method: PUT'"
            ),
            "{text}"
        );
    }

    #[test]
    fn buckets_without_cors_still_get_instructions() {
        let buckets = Buckets::path_style();
        let _ = buckets.create("plain");
        let text = banner("127.0.0.1:1".parse().unwrap(), &buckets);
        assert!(text.contains("plain (no CORS)"), "{text}");
        assert!(
            text.contains("curl -i -X PUT --data-binary @cors.xml 'http://127.0.0.1:1/plain?cors'"),
            "{text}"
        );
        assert!(!text.contains("OPTIONS"), "{text}");
    }
}
