//! `PutBucketCors`, `GetBucketCors` and `DeleteBucketCors` answer as S3
//! does on every path through s3s: signed requests written by hand (with
//! botocore's signer, through `tests/s3_client.py`) for what boto3 cannot
//! send, boto3 for the rest, signed, wrongly signed and unsigned.
//!
//! Needs `python3` with boto3; skipped without it, except under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Boto3Results, boto3, boto3_available, preflight, start, temp_dir};
use serde_json::{Value, json};

const PAGE: &str = "https://app.example.com";

const DOCUMENT: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";

/// A signed `PUT /{bucket}?cors` step with `body`.
fn put_raw(bucket: &str, body: &str) -> Value {
    json!({"op": "raw", "method": "PUT", "path": format!("/{bucket}?cors"), "body": body})
}

/// The status and body of raw step `index`.
fn raw_answer(results: &Boto3Results, index: usize) -> (u64, String) {
    let answer = results.ok(index);
    (
        answer["status"].as_u64().unwrap(),
        answer["body"].as_str().unwrap().to_owned(),
    )
}

/// Step `index` answered `status` with S3's error `code` and `message`
/// (s3s writes an apostrophe as `&apos;`; S3 as it is).
fn assert_error(results: &Boto3Results, index: usize, status: u64, code: &str, message: &str) {
    let (got, body) = raw_answer(results, index);
    let body = body.replace("&apos;", "'");
    assert_eq!(got, status, "step {index}: {body}");
    assert!(
        body.contains(&format!("<Code>{code}</Code><Message>{message}</Message>")),
        "step {index}: {body}"
    );
}

const MALFORMED: &str =
    "The XML you provided was not well-formed or did not validate against our published schema";

#[test]
fn raw_signed_requests_get_s3_s_answers() {
    if !boto3_available() {
        return;
    }
    let root = temp_dir("exact-raw");
    let server = start(&["--root", root.path().to_str().unwrap()]);
    let unknown_element = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule><Colour>blue</Colour></CORSConfiguration>";
    let foreign_namespace = "<CORSConfiguration xmlns=\"http://example.com/not-s3/\"><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
    let results = boto3(
        &server.endpoint(),
        "path",
        json!([
            {"op": "create_bucket", "bucket": "photos"},
            put_raw("photos", unknown_element),
            put_raw("photos", foreign_namespace),
            // Content-MD5 of another body.
            {"op": "raw", "method": "PUT", "path": "/photos?cors", "body": DOCUMENT,
             "headers": {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}},
            // A payload hash (signed) of another body of the same length.
            {"op": "raw", "method": "PUT", "path": "/photos?cors", "body": DOCUMENT,
             "send_body": DOCUMENT.replace("GET", "PUT"),
             "headers": {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}},
            {"op": "raw", "method": "GET", "path": "/photos?cors"},
            {"op": "raw", "method": "PUT", "path": "/nope?cors", "body": DOCUMENT},
            {"op": "raw", "method": "GET", "path": "/nope?cors"},
            {"op": "raw", "method": "DELETE", "path": "/nope?cors"},
            // Unsigned, then wrongly signed.
            {"op": "raw", "method": "PUT", "path": "/photos?cors", "body": DOCUMENT, "unsigned": true},
            {"op": "raw", "method": "PUT", "path": "/photos?cors", "body": DOCUMENT, "secret_key": "wrong"},
            // Without a digest.
            {"op": "raw", "method": "PUT", "path": "/photos?cors", "body": DOCUMENT, "md5": false},
            // On an object: neither stored as the object nor as CORS.
            {"op": "raw", "method": "PUT", "path": "/photos/cat.jpg?cors", "body": DOCUMENT},
            put_raw("photos", DOCUMENT),
            {"op": "raw", "method": "GET", "path": "/photos?cors"},
        ]),
    );
    assert_error(&results, 1, 400, "MalformedXML", MALFORMED);
    assert_error(&results, 2, 400, "MalformedXML", MALFORMED);
    assert_error(
        &results,
        3,
        400,
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
    );
    assert_error(
        &results,
        4,
        400,
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
    let (status, none) = raw_answer(&results, 5);
    assert_eq!(status, 404, "{none}");
    assert!(
        none.contains("<Code>NoSuchCORSConfiguration</Code><Message>The CORS configuration does not exist</Message><BucketName>photos</BucketName>"),
        "{none}"
    );
    for index in 6..=8 {
        let (status, body) = raw_answer(&results, index);
        assert_eq!(status, 404, "step {index}: {body}");
        assert!(
            body.contains("<Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>nope</BucketName>"),
            "step {index}: {body}"
        );
    }
    let (status, unsigned) = raw_answer(&results, 9);
    assert_eq!(status, 403, "{unsigned}");
    assert!(unsigned.contains("<Code>AccessDenied</Code>"), "{unsigned}");
    let (status, wrong) = raw_answer(&results, 10);
    assert_eq!(status, 403, "{wrong}");
    assert!(
        wrong.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{wrong}"
    );
    assert_error(
        &results,
        11,
        400,
        "InvalidRequest",
        "Missing required header for this request: Content-MD5",
    );
    let (status, object) = raw_answer(&results, 12);
    assert_eq!(status, 405, "{object}");
    assert!(
        object.contains("<ResourceType>OBJECT</ResourceType>"),
        "{object}"
    );
    assert!(!root.path().join("photos/cat.jpg").exists());
    let (status, stored) = raw_answer(&results, 13);
    assert_eq!(status, 200, "{stored}");
    let (status, document) = raw_answer(&results, 14);
    assert_eq!(status, 200, "{document}");
    assert!(
        document.contains("<AllowedOrigin>https://app.example.com</AllowedOrigin>"),
        "{document}"
    );
    let allowed = server.send(preflight("/photos/a.txt", PAGE, "GET"));
    assert_eq!(allowed.status, 200, "{}", allowed.text());
}

#[test]
fn boto3_gets_s3_s_answers() {
    if !boto3_available() {
        return;
    }
    let root = temp_dir("exact-boto3");
    let server = start(&["--root", root.path().to_str().unwrap()]);
    let rules = json!([{"AllowedOrigins": [PAGE], "AllowedMethods": ["GET"]}]);
    let results = boto3(
        &server.endpoint(),
        "path",
        json!([
            {"op": "create_bucket", "bucket": "photos"},
            {"op": "get_bucket_cors", "bucket": "photos"},
            {"op": "put_bucket_cors", "bucket": "photos", "rules": rules,
             "content_md5": "1B2M2Y8AsgTpgAmY7PhCfg=="},
            {"op": "put_bucket_cors", "bucket": "photos", "rules": rules, "secret_key": "wrong"},
            {"op": "get_bucket_cors", "bucket": "nope"},
            {"op": "put_bucket_cors", "bucket": "nope", "rules": rules},
            {"op": "delete_bucket_cors", "bucket": "nope"},
            // s3s-fs makes a bucket that a PutObject names: it has CORS
            // operations at once.
            {"op": "put_object", "bucket": "implicit", "key": "a.txt", "body": "made on the way"},
            {"op": "put_bucket_cors", "bucket": "implicit", "rules": rules},
            {"op": "get_bucket_cors", "bucket": "implicit"},
            {"op": "put_bucket_cors", "bucket": "photos", "rules": rules},
            {"op": "get_bucket_cors", "bucket": "photos"},
            {"op": "delete_bucket_cors", "bucket": "photos"},
            {"op": "get_bucket_cors", "bucket": "photos"},
        ]),
    );
    let none = results.error(1, "NoSuchCORSConfiguration", 404);
    assert_eq!(none["message"], "The CORS configuration does not exist");
    let digest = results.error(2, "BadDigest", 400);
    assert_eq!(
        digest["message"],
        "The Content-MD5 you specified did not match what we received."
    );
    results.error(3, "SignatureDoesNotMatch", 403);
    for index in 4..=6 {
        let missing = results.error(index, "NoSuchBucket", 404);
        assert_eq!(missing["message"], "The specified bucket does not exist");
    }
    results.ok(7);
    results.ok(8);
    assert_eq!(results.ok(9)["rules"], rules);
    results.ok(10);
    assert_eq!(results.ok(11)["rules"], rules);
    results.ok(12);
    results.error(13, "NoSuchCORSConfiguration", 404);
    let implicit = server.send(preflight("/implicit/a.txt", PAGE, "GET"));
    assert_eq!(implicit.status, 200, "{}", implicit.text());
}

#[test]
fn virtual_hosted_raw_requests_get_s3_s_answers() {
    if !boto3_available() {
        return;
    }
    let root = temp_dir("exact-virtual");
    let server = start(&[
        "--root",
        root.path().to_str().unwrap(),
        "--domain",
        "localhost",
    ]);
    let endpoint = format!("http://localhost:{}", server.port());
    let unknown_element = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><Colour>blue</Colour></CORSRule></CORSConfiguration>";
    let results = boto3(
        &endpoint,
        "virtual",
        json!([
            {"op": "create_bucket", "bucket": "media"},
            {"op": "raw", "method": "PUT", "path": "/?cors", "bucket_host": "media", "body": unknown_element},
            {"op": "raw", "method": "GET", "path": "/?cors", "bucket_host": "media"},
            {"op": "raw", "method": "PUT", "path": "/?cors", "bucket_host": "media", "body": DOCUMENT},
            {"op": "raw", "method": "GET", "path": "/?cors", "bucket_host": "media"},
        ]),
    );
    assert_error(&results, 1, 400, "MalformedXML", MALFORMED);
    let (status, none) = raw_answer(&results, 2);
    assert_eq!(status, 404, "{none}");
    assert!(none.contains("<BucketName>media</BucketName>"), "{none}");
    assert_eq!(raw_answer(&results, 3).0, 200);
    let (status, document) = raw_answer(&results, 4);
    assert_eq!(status, 200, "{document}");
    assert!(document.contains("https://app.example.com"), "{document}");
}
