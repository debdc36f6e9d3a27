//! The real binary over real TCP: its command line, its S3 answers and its
//! CORS behaviour.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{Server, VARY, fixture, preflight, request, run_to_exit, start};
use md5::{Digest as _, Md5};

const NOT_ALLOWED: &str = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

#[test]
fn zero_flags_serve_the_demo_bucket_and_print_curl_commands() {
    let server = start(&[]);
    let banner = server.next_lines(8);
    assert_eq!(banner[0], "buckets: demo (CORS: 3 rules)");
    let text = banner.join("\n");
    assert!(text.contains("curl -i -X OPTIONS -H 'Origin: http://www.example1.com' -H 'Access-Control-Request-Method: PUT'"), "{text}");
    assert!(
        text.contains(&format!("http://{}/demo/hello.txt", server.addr)),
        "{text}"
    );

    let response = server.send(preflight(
        "/demo/hello.txt",
        "http://www.example1.com",
        "PUT",
    ));
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://www.example1.com")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("PUT, POST, DELETE")
    );
    assert_eq!(response.header("vary"), Some(VARY));
    assert_eq!(response.header("content-length"), Some("0"));
    assert_eq!(response.header("content-type"), None);
    assert!(response.body.is_empty());
}

#[test]
fn a_preflight_from_an_unlisted_origin_is_refused_with_s3_xml() {
    let server = start(&[]);
    let response = server.send(preflight(
        "/demo/hello.txt",
        "http://www.example3.com",
        "PUT",
    ));
    assert_eq!(response.status, 403);
    assert_eq!(response.header("content-type"), Some("application/xml"));
    assert!(!response.has_cors_headers(), "{:?}", response.headers);
    let body = response.text();
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "<Error><Code>AccessForbidden</Code><Message>{NOT_ALLOWED}</Message>\
             <Method>PUT</Method><ResourceType>OBJECT</ResourceType><RequestId>"
        )),
        "{body}"
    );
    // The request IDs of the body are the ones of the headers.
    let request_id = response
        .header("x-amz-request-id")
        .expect("x-amz-request-id");
    assert!(
        body.contains(&format!("<RequestId>{request_id}</RequestId>")),
        "{body}"
    );
}

#[test]
fn a_get_with_any_origin_is_answered_by_the_wildcard_rule() {
    let server = start(&[]);
    let put = server.send(request("PUT", "/demo/hello.txt").body("hello, CORS"));
    assert_eq!(put.status, 200);

    let response =
        server.send(request("GET", "/demo/hello.txt").header("Origin", "http://anything.example"));
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "hello, CORS");
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(response.header("access-control-allow-credentials"), None);
    assert_eq!(response.header("access-control-allow-methods"), Some("GET"));
    assert_eq!(response.header("vary"), Some(VARY));
}

#[test]
fn objects_can_be_put_read_listed_and_deleted() {
    let server = start(&[]);
    let body = "<p>hello</p>";
    let etag = format!("\"{}\"", hex(&Md5::digest(body)));

    let put = server.send(
        request("PUT", "/demo/pages/index%20page.html")
            .header("Content-Type", "text/html")
            .body(body),
    );
    assert_eq!(put.status, 200);
    assert_eq!(put.header("etag"), Some(etag.as_str()));
    assert!(put.header("x-amz-request-id").is_some());

    let get = server.send(request("GET", "/demo/pages/index%20page.html"));
    assert_eq!(get.status, 200);
    assert_eq!(get.text(), body);
    assert_eq!(get.header("etag"), Some(etag.as_str()));
    assert_eq!(get.header("content-type"), Some("text/html"));

    let head = server.send(request("HEAD", "/demo/pages/index%20page.html"));
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("12"));
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    for root in ["/demo", "/demo/"] {
        let list = server.send(request("GET", root));
        assert_eq!(list.status, 200);
        assert_eq!(list.header("content-type"), Some("application/xml"));
        let xml = list.text();
        assert!(xml.contains("<Name>demo</Name>"), "{xml}");
        assert!(xml.contains("<KeyCount>1</KeyCount>"), "{xml}");
        assert!(xml.contains("<Key>pages/index page.html</Key>"), "{xml}");
    }
    let filtered = server.send(request("GET", "/demo?prefix=other/"));
    assert!(
        filtered.text().contains("<KeyCount>0</KeyCount>"),
        "{}",
        filtered.text()
    );

    let post = server.send(request("POST", "/demo/pages/index%20page.html"));
    assert_eq!(post.status, 200);

    let delete = server.send(request("DELETE", "/demo/pages/index%20page.html"));
    assert_eq!(delete.status, 204);
    let gone = server.send(request("GET", "/demo/pages/index%20page.html"));
    assert_eq!(gone.status, 404);
    let xml = gone.text();
    assert!(
        xml.contains("<Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>pages/index page.html</Key>"),
        "{xml}"
    );
    assert_eq!(
        server
            .send(request("HEAD", "/demo/pages/index%20page.html"))
            .status,
        404
    );
    assert_eq!(
        server
            .send(request("DELETE", "/demo/pages/index%20page.html"))
            .status,
        204
    );
}

#[test]
fn error_answers_carry_cors_headers_when_the_origin_is_allowed() {
    let server = start(&[]);
    let missing = server
        .send(request("GET", "/demo/missing.txt").header("Origin", "http://www.example2.com"));
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("<Code>NoSuchKey</Code>"));
    assert_eq!(missing.header("access-control-allow-origin"), Some("*"));
    assert_eq!(missing.header("vary"), Some(VARY));

    // A DELETE from the first rule's origin: credentials allowed.
    let delete = server
        .send(request("DELETE", "/demo/missing.txt").header("Origin", "http://www.example1.com"));
    assert_eq!(delete.status, 204);
    assert_eq!(
        delete.header("access-control-allow-origin"),
        Some("http://www.example1.com")
    );
    assert_eq!(
        delete.header("access-control-allow-credentials"),
        Some("true")
    );

    // An actual request no rule allows still goes through, without CORS headers.
    let refused = server
        .send(request("DELETE", "/demo/missing.txt").header("Origin", "http://www.example3.com"));
    assert_eq!(refused.status, 204);
    assert!(!refused.has_cors_headers(), "{:?}", refused.headers);
}

#[test]
fn unknown_buckets_are_no_such_bucket_and_their_preflights_bucket_not_found() {
    let server = start(&[]);
    let get =
        server.send(request("GET", "/nope/key.txt").header("Origin", "http://www.example1.com"));
    assert_eq!(get.status, 404);
    assert!(
        get.text().contains("<Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>nope</BucketName>"),
        "{}",
        get.text()
    );
    assert!(!get.has_cors_headers());
    assert_eq!(
        server
            .send(request("PUT", "/nope/key.txt").body("x"))
            .status,
        404
    );
    assert_eq!(server.send(request("GET", "/nope?cors")).status, 404);

    let options = server.send(preflight("/nope/key.txt", "http://www.example1.com", "GET"));
    assert_eq!(options.status, 403);
    assert!(
        options.text().contains(
            "<Code>AccessForbidden</Code><Message>CORSResponse: Bucket not found</Message>\
             <Method>GET</Method><ResourceType>BUCKET</ResourceType>"
        ),
        "{}",
        options.text()
    );
}

#[test]
fn buckets_come_from_xml_and_json_files_or_have_no_cors() {
    let photos = format!("photos={}", fixture("photos.json"));
    let site = format!("site={}", fixture("replacement.xml"));
    let server = start(&["--bucket", &photos, "--bucket", "plain", "--bucket", &site]);
    assert_eq!(
        server.next_lines(1)[0],
        "buckets: photos (CORS: 1 rule), plain (no CORS), site (CORS: 1 rule)"
    );

    let response = server.send(
        preflight("/photos/cat.jpg", "https://app.example.com", "PUT").header(
            "Access-Control-Request-Headers",
            "Content-Type, X-Amz-Meta-Owner",
        ),
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("GET, PUT, HEAD")
    );
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("content-type, x-amz-meta-owner")
    );
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("ETag, x-amz-request-id")
    );
    assert_eq!(response.header("access-control-max-age"), Some("600"));

    let site = server.send(preflight("/site/", "https://new.example.com", "PUT"));
    assert_eq!(site.status, 200);
    assert_eq!(site.header("access-control-max-age"), Some("60"));
    let root_refused = server.send(preflight("/site", "https://new.example.com", "DELETE"));
    assert_eq!(root_refused.status, 403);
    assert!(
        root_refused
            .text()
            .contains("<ResourceType>BUCKET</ResourceType>")
    );

    let plain = server.send(preflight("/plain/x", "https://app.example.com", "GET"));
    assert_eq!(plain.status, 403);
    assert!(
        plain
            .text()
            .contains("<Message>CORSResponse: CORS is not enabled for this bucket.</Message>"),
        "{}",
        plain.text()
    );
    let no_config = server.send(request("GET", "/plain?cors"));
    assert_eq!(no_config.status, 404);
    assert!(
        no_config.text().contains(
            "<Code>NoSuchCORSConfiguration</Code><Message>The CORS configuration does not exist</Message>\
             <BucketName>plain</BucketName>"
        ),
        "{}",
        no_config.text()
    );
    // The demo bucket only exists without --bucket.
    assert_eq!(server.send(request("GET", "/demo")).status, 404);
}

#[test]
fn the_cors_subresource_replaces_reads_and_deletes_the_policy() {
    let server = start(&[]);
    let current = server.send(request("GET", "/demo?cors"));
    assert_eq!(current.status, 200);
    assert_eq!(current.header("content-type"), Some("application/xml"));
    assert!(
        current
            .text()
            .contains("<AllowedOrigin>http://www.example1.com</AllowedOrigin>")
    );

    let replacement = std::fs::read_to_string(fixture("replacement.xml")).unwrap();
    let put = server.send(request("PUT", "/demo?cors").body(replacement));
    assert_eq!(put.status, 200, "{}", put.text());
    assert!(put.body.is_empty());

    assert_eq!(
        server
            .send(preflight("/demo/a", "http://www.example1.com", "PUT"))
            .status,
        403
    );
    let allowed = server.send(preflight("/demo/a", "https://new.example.com", "PUT"));
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-methods"),
        Some("GET, PUT")
    );
    let xml = server.send(request("GET", "/demo/?cors")).text();
    assert!(xml.contains("<ID>new-site</ID>"), "{xml}");
    assert!(
        xml.contains("<AllowedOrigin>https://new.example.com</AllowedOrigin>"),
        "{xml}"
    );
    assert!(!xml.contains("example1"), "{xml}");

    // JSON is accepted too.
    let json = r#"{"CORSRules": [{"AllowedOrigins": ["https://json.example.com"], "AllowedMethods": ["GET"]}]}"#;
    assert_eq!(
        server.send(request("PUT", "/demo?cors").body(json)).status,
        200
    );
    assert_eq!(
        server
            .send(preflight("/demo/a", "https://json.example.com", "GET"))
            .status,
        200
    );
    assert_eq!(
        server
            .send(preflight("/demo/a", "https://new.example.com", "PUT"))
            .status,
        403
    );
    let restore = std::fs::read_to_string(fixture("replacement.xml")).unwrap();
    assert_eq!(
        server
            .send(request("PUT", "/demo?cors").body(restore))
            .status,
        200
    );

    // Bad documents are refused with S3's errors; the policy keeps serving.
    let bad_origin = std::fs::read_to_string(fixture("bad-wildcards.xml")).unwrap();
    let bad_method = std::fs::read_to_string(fixture("bad-method.console.json")).unwrap();
    for (document, code, message) in [
        (
            bad_origin.as_str(),
            "InvalidRequest",
            r#"AllowedOrigin "https://*.*.example.com" can not have more than one wildcard."#,
        ),
        (
            bad_method.as_str(),
            "InvalidRequest",
            "Found unsupported HTTP method in CORS config. Unsupported method is PATCH",
        ),
        (
            "<CORSConfiguration><CORSRule>",
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        ),
    ] {
        let refused = server.send(request("PUT", "/demo?cors").body(document));
        assert_eq!(refused.status, 400, "{document}");
        assert_eq!(refused.header("content-type"), Some("application/xml"));
        // S3's bytes: quotes in the message are not escaped.
        let body = refused.text();
        assert!(
            body.contains(&format!("<Code>{code}</Code><Message>{message}</Message>")),
            "{body}"
        );
        let still = server.send(preflight("/demo/a", "https://new.example.com", "PUT"));
        assert_eq!(
            still.status, 200,
            "the old policy keeps serving after {document}"
        );
    }
    let not_utf8 = server.send(request("PUT", "/demo?cors").body(vec![0xff, 0xfe, b'<']));
    assert_eq!(not_utf8.status, 400);
    assert!(not_utf8.text().contains("<Code>MalformedXML</Code>"));

    let delete = server.send(request("DELETE", "/demo?cors"));
    assert_eq!(delete.status, 204);
    let none = server.send(request("GET", "/demo?cors"));
    assert_eq!(none.status, 404);
    assert!(none.text().contains("<Code>NoSuchCORSConfiguration</Code>"));
    let disabled = server.send(preflight("/demo/a", "https://new.example.com", "PUT"));
    assert_eq!(disabled.status, 403);
    assert!(
        disabled
            .text()
            .contains("CORS is not enabled for this bucket.")
    );
    assert_eq!(
        server.send(request("DELETE", "/demo?cors")).status,
        204,
        "also when none is set"
    );
}

#[test]
fn content_md5_is_checked_on_put_cors() {
    let server = start(&[]);
    let document = std::fs::read_to_string(fixture("replacement.xml")).unwrap();
    let good = BASE64.encode(Md5::digest(&document));
    let wrong = BASE64.encode(Md5::digest(b"something else"));

    let mismatch = server.send(
        request("PUT", "/demo?cors")
            .header("Content-MD5", wrong)
            .body(document.clone()),
    );
    assert_eq!(mismatch.status, 400);
    assert!(
        mismatch.text().contains(
            "<Code>BadDigest</Code><Message>The Content-MD5 you specified did not match what we received.</Message>"
        ),
        "{}",
        mismatch.text()
    );
    assert_eq!(
        server
            .send(preflight("/demo/a", "http://www.example1.com", "PUT"))
            .status,
        200,
        "unchanged"
    );

    let invalid = server.send(
        request("PUT", "/demo?cors")
            .header("Content-MD5", "nope")
            .body(document.clone()),
    );
    assert_eq!(invalid.status, 400);
    assert!(invalid.text().contains("<Code>InvalidDigest</Code>"));

    let ok = server.send(
        request("PUT", "/demo?cors")
            .header("Content-MD5", good)
            .body(document),
    );
    assert_eq!(ok.status, 200);
    assert_eq!(
        server
            .send(preflight("/demo/a", "http://www.example1.com", "PUT"))
            .status,
        403,
        "replaced"
    );
}

#[test]
fn cors_subresource_answers_carry_cors_headers_and_request_ids() {
    let server = start(&[]);
    // A success, through the CORS layer like any other answer.
    let get = server.send(request("GET", "/demo?cors").header("Origin", "http://anything.example"));
    assert_eq!(get.status, 200);
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    assert_eq!(get.header("vary"), Some(VARY));
    assert!(
        get.header("x-amz-request-id").is_some(),
        "{:?}",
        get.headers
    );
    assert!(get.header("x-amz-id-2").is_some(), "{:?}", get.headers);

    // An error: the IDs of the body are the ones of the headers.
    let refused = server.send(
        request("PUT", "/demo?cors")
            .header("Origin", "http://www.example1.com")
            .header("Content-MD5", "nope")
            .body("<CORSConfiguration/>"),
    );
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.header("access-control-allow-origin"),
        Some("http://www.example1.com")
    );
    let request_id = refused
        .header("x-amz-request-id")
        .expect("x-amz-request-id");
    let host_id = refused.header("x-amz-id-2").expect("x-amz-id-2");
    assert_eq!(
        refused.text(),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidDigest</Code>\
             <Message>The Content-MD5 you specified was invalid.</Message>\
             <RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
        )
    );

    let delete = server.send(request("DELETE", "/demo?cors"));
    assert_eq!(delete.status, 204);
    assert!(
        delete.header("x-amz-request-id").is_some(),
        "{:?}",
        delete.headers
    );
    let post = server.send(request("POST", "/demo?cors"));
    assert_eq!(post.status, 405);
    assert!(
        post.text()
            .contains("<Code>MethodNotAllowed</Code><Message>The specified method is not allowed against this resource.</Message><Method>POST</Method><ResourceType>BUCKET</ResourceType><RequestId>"),
        "{}",
        post.text()
    );
}

#[test]
fn default_vary_is_on_every_response_of_a_cors_bucket() {
    let server = start(&[]);
    // No Origin at all.
    let plain = server.send(request("GET", "/demo/x"));
    assert_eq!(plain.header("vary"), Some(VARY));
    // An actual request no rule matches.
    let refused =
        server.send(request("DELETE", "/demo/x").header("Origin", "http://www.example3.com"));
    assert_eq!(refused.header("vary"), Some(VARY));
    // A refused preflight.
    let preflight_refused = server.send(preflight("/demo/x", "http://www.example3.com", "PUT"));
    assert_eq!(preflight_refused.header("vary"), Some(VARY));
    // A match.
    let matched = server.send(preflight("/demo/x", "http://www.example1.com", "PUT"));
    assert_eq!(matched.header("vary"), Some(VARY));
}

#[test]
fn s3_exact_sends_vary_only_on_matches() {
    let server = start(&["--s3-exact"]);
    let plain = server.send(request("GET", "/demo/x"));
    assert_eq!(plain.header("vary"), None);
    let refused =
        server.send(request("DELETE", "/demo/x").header("Origin", "http://www.example3.com"));
    assert_eq!(refused.header("vary"), None);
    let preflight_refused = server.send(preflight("/demo/x", "http://www.example3.com", "PUT"));
    assert_eq!(preflight_refused.status, 403);
    assert_eq!(preflight_refused.header("vary"), None);
    let matched = server.send(preflight("/demo/x", "http://www.example1.com", "PUT"));
    assert_eq!(matched.header("vary"), Some(VARY));
    let get = server.send(request("GET", "/demo/x").header("Origin", "http://a.example"));
    assert_eq!(get.header("vary"), Some(VARY));
}

#[test]
fn buckets_are_fixed_at_start_up() {
    let server = start(&["--bucket", "one", "--bucket", "two"]);
    let list = server.send(request("GET", "/")).text();
    assert!(
        list.contains(
            "<Buckets><Bucket><Name>one</Name></Bucket><Bucket><Name>two</Name></Bucket></Buckets>"
        ),
        "{list}"
    );
    assert_eq!(
        server.send(request("PUT", "/three")).status,
        404,
        "no CreateBucket over HTTP"
    );
    let existing = server.send(request("PUT", "/one"));
    assert_eq!(existing.status, 409);
    assert!(
        existing
            .text()
            .contains("<Code>BucketAlreadyOwnedByYou</Code>")
    );
    let delete = server.send(request("DELETE", "/one"));
    assert_eq!(delete.status, 405);
    assert!(
        delete.text().contains("<Code>MethodNotAllowed</Code>"),
        "{}",
        delete.text()
    );

    // A bucket without CORS gets it over `?cors`.
    let refused = server.send(preflight("/one/a", "https://x.example", "GET"));
    assert!(
        refused
            .text()
            .contains("CORS is not enabled for this bucket.")
    );
    let document = r#"[{"AllowedOrigins": ["https://x.example"], "AllowedMethods": ["GET"]}]"#;
    assert_eq!(
        server
            .send(request("PUT", "/one?cors").body(document))
            .status,
        200
    );
    assert_eq!(
        server
            .send(preflight("/one/a", "https://x.example", "GET"))
            .status,
        200
    );
    assert_eq!(
        server
            .send(preflight("/two/a", "https://x.example", "GET"))
            .status,
        403,
        "only that bucket"
    );
}

#[test]
fn a_bad_document_at_start_exits_2_naming_the_file_and_the_s3_error() {
    let file = fixture("bad-wildcards.xml");
    let (status, stdout, stderr) =
        run_to_exit(&["--listen", "127.0.0.1:0", "--bucket", &format!("x={file}")]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty(), "nothing is served: {stdout}");
    assert!(stderr.contains(&file), "{stderr}");
    assert!(
        stderr.contains(r#"InvalidRequest: AllowedOrigin "https://*.*.example.com" can not have more than one wildcard."#),
        "{stderr}"
    );

    let file = fixture("bad-method.console.json");
    let (status, _, stderr) = run_to_exit(&["--bucket", &format!("x={file}")]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&file) && stderr.contains("InvalidRequest"),
        "{stderr}"
    );

    let (status, _, stderr) = run_to_exit(&["--bucket", "x=/no/such/file.xml"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/no/such/file.xml"), "{stderr}");
}

#[test]
fn bad_arguments_exit_2_with_usage_and_help_exits_0() {
    let usage = "Usage: example-bucket-server [--listen ADDR] [--bucket NAME[=FILE]]... \
                 [--store DIR|etcd://HOST:PORT[,HOST:PORT...][/PREFIX]] [--s3-exact] \
                 [--metrics ADDR] [--shadow NAME=FILE]...";
    for args in [
        &["--verbose"][..],
        &["--listen"],
        &["--listen", "not an address"],
        &["--bucket", "a/b"],
        &["--bucket", "a", "--bucket", "A"],
    ] {
        let (status, stdout, stderr) = run_to_exit(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(usage), "{stderr}");
    }
    for help in ["--help", "-h"] {
        let (status, stdout, stderr) = run_to_exit(&[help]);
        assert_eq!(status.code(), Some(0), "{stderr}");
        assert!(stdout.contains(usage), "{stdout}");
        for flag in [
            "--listen",
            "--bucket",
            "--store",
            "--s3-exact",
            "--metrics",
            "--shadow",
        ] {
            assert!(stdout.contains(flag), "{flag}: {stdout}");
        }
    }
}

#[test]
fn instances_started_together_give_different_request_ids() {
    let (a, b) = (start(&[]), start(&[]));
    let id = |server: &Server| {
        server
            .send(request("GET", "/demo"))
            .header("x-amz-request-id")
            .expect("x-amz-request-id")
            .to_owned()
    };
    assert_ne!(id(&a), id(&b));
}

#[cfg(not(feature = "etcd"))]
#[test]
fn an_etcd_store_without_the_feature_exits_2_saying_how_to_get_it() {
    let (status, stdout, stderr) = run_to_exit(&["--store", "etcd://127.0.0.1:2379"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("invalid value for --store: etcd://127.0.0.1:2379: ")
            && stderr.contains("--features etcd")
            && stderr.contains("protobuf-compiler"),
        "{stderr}"
    );
}

#[cfg(feature = "etcd")]
#[test]
fn a_bad_etcd_url_exits_2_saying_what_is_wrong() {
    let (status, _, stderr) = run_to_exit(&["--store", "etcd://127.0.0.1:99999"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid value for --store: invalid etcd URL `etcd://127.0.0.1:99999`")
            && stderr.contains("65535"),
        "{stderr}"
    );
}

#[test]
fn a_store_url_of_another_kind_exits_2() {
    let (status, _, stderr) = run_to_exit(&["--store", "s3://bucket/cors"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("s3:// is not a store"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_with_status_0() {
    let mut server = start(&[]);
    assert_eq!(server.send(request("GET", "/demo")).status, 200);
    server.signal("TERM");
    let status = server
        .wait_for_exit()
        .expect("the server exits after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_server_with_status_0() {
    let mut server = start(&[]);
    server.signal("INT");
    let status = server
        .wait_for_exit()
        .expect("the server exits after SIGINT");
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
