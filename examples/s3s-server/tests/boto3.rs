//! The real binary over real HTTP, configured by a real S3 client (boto3,
//! through `tests/s3_client.py`), with the CORS behaviour checked by direct
//! HTTP requests as a browser would send them.
//!
//! Needs `python3` with boto3 (`pip install boto3`); without it these tests
//! are skipped with a message, except under `CI=true`, where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{boto3, boto3_available, preflight, request, start, temp_dir};
use serde_json::{Value, json};

const PAGE: &str = "https://app.example.com";
const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

fn rules() -> Value {
    json!([{
        "ID": "browser uploads",
        "AllowedOrigins": [PAGE],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 600
    }])
}

/// The path and query of a URL (what goes on the request line).
fn target(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("an http URL");
    rest[rest.find('/').unwrap()..].to_owned()
}

/// A matched preflight: `200`, S3's headers for [`rules`].
fn assert_allowed_preflight(response: &common::Response) {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("access-control-allow-origin"), Some(PAGE));
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("GET, PUT")
    );
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("ETag")
    );
    assert_eq!(response.header("access-control-max-age"), Some("600"));
    assert_eq!(response.header("vary"), Some(VARY));
}

#[test]
fn boto3_configures_bucket_cors_and_requests_get_s3_cors() {
    if !boto3_available() {
        return;
    }
    let root = temp_dir("boto3");
    let server = start(&["--root", root.path().to_str().unwrap()]);
    let endpoint = server.endpoint();

    let setup = boto3(
        &endpoint,
        "path",
        json!([
            {"op": "create_bucket", "bucket": "photos"},
            {"op": "put_object", "bucket": "photos", "key": "hello.txt", "body": "hello from s3s"},
            {"op": "get_object", "bucket": "photos", "key": "hello.txt"},
            {"op": "get_bucket_cors", "bucket": "photos"},
            {"op": "put_bucket_cors", "bucket": "photos", "rules": [
                {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "MYMETHOD"]}
            ]},
            {"op": "put_bucket_cors", "bucket": "photos", "rules": rules()},
            {"op": "get_bucket_cors", "bucket": "photos"},
            {"op": "presign", "method": "put_object", "bucket": "photos", "key": "upload.txt"},
            {"op": "presign", "method": "get_object", "bucket": "photos", "key": "hello.txt"},
            {"op": "presign", "method": "get_object", "bucket": "photos", "key": "missing.txt"},
            {"op": "list_buckets"},
            {"op": "put_bucket_cors", "bucket": "nope", "rules": rules()},
        ]),
    );
    assert_eq!(setup.ok(2)["body"], "hello from s3s");
    let none = setup.error(3, "NoSuchCORSConfiguration", 404);
    assert_eq!(none["message"], "The CORS configuration does not exist");
    let bad = setup.error(4, "InvalidRequest", 400);
    assert_eq!(
        bad["message"],
        "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD"
    );
    setup.ok(5);
    assert_eq!(
        setup.ok(6)["rules"],
        rules(),
        "GetBucketCors returns what was put"
    );
    let presigned_put = setup.ok(7)["url"].as_str().unwrap().to_owned();
    let presigned_get = setup.ok(8)["url"].as_str().unwrap().to_owned();
    let presigned_missing = setup.ok(9)["url"].as_str().unwrap().to_owned();
    assert_eq!(
        setup.ok(10)["buckets"],
        json!(["photos"]),
        "the CORS directory is not a bucket"
    );
    setup.error(11, "NoSuchBucket", 404);
    assert!(root.path().join(".cors/photos.xml").is_file());

    // Preflights: the allowed origin, and a refused one.
    let allowed = server.send(
        preflight("/photos/hello.txt", PAGE, "PUT")
            .header("Access-Control-Request-Headers", "Content-Type"),
    );
    assert_allowed_preflight(&allowed);
    let refused = server.send(preflight(
        "/photos/hello.txt",
        "https://evil.example",
        "PUT",
    ));
    assert_eq!(refused.status, 403);
    assert!(!refused.has_cors_headers(), "{:?}", refused.headers);
    assert!(
        refused.text().contains(
            "<Code>AccessForbidden</Code><Message>CORSResponse: This CORS request is not allowed."
        ),
        "{}",
        refused.text()
    );

    // An actual GET (presigned) carries the CORS headers; so do s3s's own
    // errors: 404 for a missing key, 403 for an unsigned request.
    let get = server.send(request("GET", &target(&presigned_get)).header("Origin", PAGE));
    assert_eq!(get.status, 200, "{}", get.text());
    assert_eq!(get.text(), "hello from s3s");
    assert_eq!(get.header("access-control-allow-origin"), Some(PAGE));
    assert_eq!(get.header("access-control-expose-headers"), Some("ETag"));
    assert_eq!(
        get.header("etag").map(str::to_owned),
        setup.ok(2)["etag"].as_str().map(str::to_owned)
    );
    let missing = server.send(request("GET", &target(&presigned_missing)).header("Origin", PAGE));
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().contains("<Code>NoSuchKey</Code>"),
        "{}",
        missing.text()
    );
    assert_eq!(missing.header("access-control-allow-origin"), Some(PAGE));
    let unsigned = server.send(request("GET", "/photos/hello.txt").header("Origin", PAGE));
    assert_eq!(unsigned.status, 403);
    assert!(
        unsigned.text().contains("<Code>AccessDenied</Code>"),
        "{}",
        unsigned.text()
    );
    assert_eq!(unsigned.header("access-control-allow-origin"), Some(PAGE));
    let other_origin = server
        .send(request("GET", &target(&presigned_get)).header("Origin", "https://evil.example"));
    assert_eq!(other_origin.status, 200);
    assert!(
        !other_origin.has_cors_headers(),
        "{:?}",
        other_origin.headers
    );

    // A browser's upload with a presigned URL: the preflight is answered
    // before s3s's signature check, then the PUT itself is s3s's.
    let put_target = target(&presigned_put);
    assert!(put_target.contains("X-Amz-Signature="), "{put_target}");
    let upload_preflight = server.send(
        preflight(&put_target, PAGE, "PUT")
            .header("Access-Control-Request-Headers", "content-type"),
    );
    assert_allowed_preflight(&upload_preflight);
    let upload = server.send(
        request("PUT", &put_target)
            .header("Origin", PAGE)
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body("uploaded through a presigned URL"),
    );
    assert_eq!(upload.status, 200, "{}", upload.text());
    assert_eq!(upload.header("access-control-allow-origin"), Some(PAGE));
    assert_eq!(upload.header("access-control-expose-headers"), Some("ETag"));
    let etag = upload.header("etag").expect("an ETag").to_owned();

    // Writes to ?cors without the right signature are refused by s3s.
    let unsigned_put = server.send(
        request("PUT", "/photos?cors")
            .header("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==")
            .body("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"),
    );
    assert_eq!(unsigned_put.status, 403);
    assert!(
        unsigned_put.text().contains("<Code>AccessDenied</Code>"),
        "{}",
        unsigned_put.text()
    );

    let after = boto3(
        &endpoint,
        "path",
        json!([
            {"op": "get_object", "bucket": "photos", "key": "upload.txt"},
            {"op": "put_bucket_cors", "bucket": "photos", "secret_key": "not-the-secret",
             "rules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]},
            {"op": "get_bucket_cors", "bucket": "photos"},
            {"op": "delete_bucket_cors", "bucket": "photos"},
            {"op": "get_bucket_cors", "bucket": "photos"},
            {"op": "delete_bucket_cors", "bucket": "photos"},
        ]),
    );
    assert_eq!(after.ok(0)["body"], "uploaded through a presigned URL");
    assert_eq!(after.ok(0)["etag"], etag.as_str());
    after.error(1, "SignatureDoesNotMatch", 403);
    assert_eq!(
        after.ok(2)["rules"],
        rules(),
        "the refused writes changed nothing"
    );
    after.ok(3);
    after.error(4, "NoSuchCORSConfiguration", 404);
    after.ok(5);
    assert!(!root.path().join(".cors/photos.xml").exists());

    let disabled = server.send(preflight("/photos/hello.txt", PAGE, "GET"));
    assert_eq!(disabled.status, 403);
    assert!(
        disabled
            .text()
            .contains("CORSResponse: CORS is not enabled for this bucket."),
        "{}",
        disabled.text()
    );
}

#[test]
fn the_configuration_survives_a_restart() {
    if !boto3_available() {
        return;
    }
    let root = temp_dir("restart");
    let root_arg = root.path().to_str().unwrap();
    let mut server = start(&["--root", root_arg]);
    let before = boto3(
        &server.endpoint(),
        "path",
        json!([
            {"op": "create_bucket", "bucket": "kept"},
            {"op": "put_bucket_cors", "bucket": "kept", "rules": rules()},
            {"op": "create_bucket", "bucket": "plain"},
        ]),
    );
    before.ok(1);
    assert!(server.stop().success());

    let server = start(&["--root", root_arg]);
    let banner = server.next_lines(6);
    assert!(
        banner
            .iter()
            .any(|l| l == "buckets: kept (CORS: 1 rule), plain"),
        "{banner:?}"
    );
    let preflight_after = server.send(
        preflight("/kept/any.txt", PAGE, "PUT")
            .header("Access-Control-Request-Headers", "content-type"),
    );
    assert_allowed_preflight(&preflight_after);
    let plain = server.send(preflight("/plain/any.txt", PAGE, "PUT"));
    assert_eq!(plain.status, 403);
    assert!(
        plain.text().contains("CORS is not enabled for this bucket"),
        "{}",
        plain.text()
    );
    let after = boto3(
        &server.endpoint(),
        "path",
        json!([
            {"op": "get_bucket_cors", "bucket": "kept"},
            // A bucket deleted and created again starts without CORS.
            {"op": "delete_bucket", "bucket": "kept"},
            {"op": "create_bucket", "bucket": "kept"},
            {"op": "get_bucket_cors", "bucket": "kept"},
        ]),
    );
    assert_eq!(after.ok(0)["rules"], rules());
    after.ok(2);
    after.error(3, "NoSuchCORSConfiguration", 404);
}

#[test]
fn virtual_hosted_style_with_a_domain() {
    if !boto3_available() {
        return;
    }
    let root = temp_dir("virtual");
    let server = start(&[
        "--root",
        root.path().to_str().unwrap(),
        "--domain",
        "localhost",
    ]);
    let port = server.port();
    // boto3 addresses the bucket as media.localhost:PORT; the script resolves
    // *.localhost to 127.0.0.1 for itself.
    let endpoint = format!("http://localhost:{port}");
    let setup = boto3(
        &endpoint,
        "virtual",
        json!([
            {"op": "create_bucket", "bucket": "media"},
            {"op": "put_object", "bucket": "media", "key": "clip.txt", "body": "virtually hosted"},
            {"op": "put_bucket_cors", "bucket": "media", "rules": rules()},
            {"op": "get_bucket_cors", "bucket": "media"},
            {"op": "presign", "method": "get_object", "bucket": "media", "key": "clip.txt"},
            {"op": "list_buckets"},
        ]),
    );
    assert_eq!(setup.ok(3)["rules"], rules());
    let presigned = setup.ok(4)["url"].as_str().unwrap().to_owned();
    assert!(
        presigned.starts_with(&format!("http://media.localhost:{port}/clip.txt?")),
        "{presigned}"
    );
    assert_eq!(setup.ok(5)["buckets"], json!(["media"]));

    // The same bucket, virtual-hosted (with and without the port) and path style.
    for (host, path) in [
        (format!("media.localhost:{port}"), "/clip.txt"),
        ("media.localhost".to_owned(), "/clip.txt"),
        (format!("localhost:{port}"), "/media/clip.txt"),
        (server.addr.clone(), "/media/clip.txt"),
    ] {
        let response = server.send(
            preflight(path, PAGE, "PUT")
                .host(&host)
                .header("Access-Control-Request-Headers", "content-type"),
        );
        assert_allowed_preflight(&response);
    }
    // A bucket that does not exist, by host.
    let unknown =
        server.send(preflight("/clip.txt", PAGE, "GET").host(&format!("other.localhost:{port}")));
    assert_eq!(unknown.status, 403);
    assert!(
        unknown.text().contains("CORSResponse: Bucket not found"),
        "{}",
        unknown.text()
    );

    // The presigned virtual-hosted GET, with its Host header, gets CORS headers.
    let get = server.send(request("GET", &presigned).header("Origin", PAGE));
    assert_eq!(get.status, 200, "{}", get.text());
    assert_eq!(get.text(), "virtually hosted");
    assert_eq!(get.header("access-control-allow-origin"), Some(PAGE));
}
