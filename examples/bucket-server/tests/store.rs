//! `--store DIR` over HTTP, against the real binary: `PUT ?cors` survives a
//! restart, hand edits change the answers within a second, a bad file is
//! reported and the last good policy serves, a removed file means no CORS,
//! and the start-up rules for `--bucket` hold.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Server, fixture, preflight, request, start};
use tower_s3_cors_test_support::{TempDir, temp_dir};

/// `dir` as an argument.
fn arg(dir: &TempDir) -> &str {
    dir.path().to_str().unwrap()
}

/// The status of a preflight from `origin` for `method`.
fn answer(server: &Server, origin: &str, method: &str) -> u16 {
    server.send(preflight("/demo/a", origin, method)).status
}

/// Waits, up to `limit`, until the preflight gets `status`; returns how long
/// it took.
fn until(server: &Server, origin: &str, method: &str, status: u16, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if answer(server, origin, method) == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{origin} {method}: still not {status} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

const NEW_SITE: &str = "https://new.example.com";
const EXAMPLE1: &str = "http://www.example1.com";

#[test]
fn put_cors_survives_a_restart() {
    let dir = temp_dir("restart");
    let server = start(&["--store", arg(&dir)]);
    assert_eq!(
        answer(&server, EXAMPLE1, "PUT"),
        200,
        "the built-in document"
    );
    assert!(read(&dir.path().join("demo.xml")).contains("www.example1.com"));

    let replacement = read(Path::new(&fixture("replacement.xml")));
    let put = server.send(request("PUT", "/demo?cors").body(replacement.clone()));
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(
        read(&dir.path().join("demo.xml")),
        replacement,
        "kept as written"
    );
    assert_eq!(answer(&server, NEW_SITE, "PUT"), 200, "read-your-writes");
    drop(server);

    // A new process over the same directory: the document is still there,
    // and the built-in one does not come back.
    let server = start(&["--store", arg(&dir)]);
    assert_eq!(answer(&server, NEW_SITE, "PUT"), 200);
    assert_eq!(answer(&server, EXAMPLE1, "PUT"), 403);
    let xml = server.send(request("GET", "/demo?cors")).text();
    assert!(xml.contains("<ID>new-site</ID>"), "{xml}");

    // DELETE removes the file: no CORS, after a restart too.
    assert_eq!(server.send(request("DELETE", "/demo?cors")).status, 204);
    assert!(!dir.path().join("demo.xml").exists());
    drop(server);
    let server = start(&["--bucket", "demo", "--store", arg(&dir)]);
    let refused = server.send(preflight("/demo/a", NEW_SITE, "PUT"));
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .text()
            .contains("CORS is not enabled for this bucket.")
    );
}

#[test]
fn hand_edits_bad_files_and_removed_files_behave_as_stated() {
    let dir = temp_dir("edits");
    let mut server = start(&["--store", arg(&dir)]);
    assert_eq!(answer(&server, NEW_SITE, "PUT"), 403);

    // An edit by hand (a JSON file replacing the XML one) shows within a
    // second.
    std::fs::remove_file(dir.path().join("demo.xml")).unwrap();
    std::fs::write(
        dir.path().join("demo.json"),
        r#"[{"AllowedOrigins": ["https://new.example.com"], "AllowedMethods": ["PUT"]}]"#,
    )
    .unwrap();
    let took = until(&server, NEW_SITE, "PUT", 200, Duration::from_secs(3));
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // A file that does not validate: reported, and the last good policy
    // keeps serving.
    std::fs::write(
        dir.path().join("demo.json"),
        r#"[{"AllowedOrigins": ["https://new.example.com"], "AllowedMethods": ["PATCH"]}]"#,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(answer(&server, NEW_SITE, "PUT"), 200);

    // A removed file means no CORS.
    std::fs::remove_file(dir.path().join("demo.json")).unwrap();
    until(&server, NEW_SITE, "PUT", 403, Duration::from_secs(3));
    let refused = server.send(preflight("/demo/a", NEW_SITE, "PUT"));
    assert!(
        refused
            .text()
            .contains("CORS is not enabled for this bucket.")
    );

    server.signal("TERM");
    server.wait_for_exit();
    let stderr = server.stderr();
    assert!(
        stderr.contains("bucket \"demo\"") && stderr.contains("PATCH"),
        "the bad file is reported: {stderr}"
    );
}

#[test]
fn start_up_rules_for_buckets_with_a_store() {
    let dir = temp_dir("startup");
    std::fs::create_dir_all(dir.path()).unwrap();
    // Documents already in the store.
    std::fs::write(
        dir.path().join("photos.json"),
        r#"[{"AllowedOrigins": ["https://photos.example"], "AllowedMethods": ["GET"]}]"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("media.json"),
        r#"[{"AllowedOrigins": ["https://old.example"], "AllowedMethods": ["GET"]}]"#,
    )
    .unwrap();
    let server = start(&[
        "--store",
        arg(&dir),
        "--bucket",
        "photos",
        "--bucket",
        &format!("media={}", fixture("replacement.xml")),
    ]);
    // --bucket NAME leaves the store alone: its document serves.
    let photos = server.send(preflight("/photos/a", "https://photos.example", "GET"));
    assert_eq!(photos.status, 200);
    // --bucket NAME=FILE replaces the store's document.
    assert!(!dir.path().join("media.json").exists());
    assert!(read(&dir.path().join("media.xml")).contains("new-site"));
    assert_eq!(
        server.send(preflight("/media/a", NEW_SITE, "PUT")).status,
        200
    );
    // Without --bucket demo, there is no demo bucket.
    let missing = server.send(preflight("/demo/a", EXAMPLE1, "PUT"));
    assert_eq!(missing.status, 403);
    assert!(missing.text().contains("CORSResponse: Bucket not found"));
    let put = server.send(request("PUT", "/demo?cors").body("[]"));
    assert_eq!(put.status, 404, "{}", put.text());
    assert!(put.text().contains("<Code>NoSuchBucket</Code>"));
}

#[test]
fn a_store_that_cannot_be_written_gets_503_and_changes_nothing() {
    let dir = temp_dir("broken");
    let server = start(&["--store", arg(&dir)]);
    assert_eq!(answer(&server, EXAMPLE1, "PUT"), 200);
    // The directory goes away under the server.
    std::fs::remove_dir_all(dir.path()).unwrap();
    let replacement = read(Path::new(&fixture("replacement.xml")));
    let put = server.send(request("PUT", "/demo?cors").body(replacement));
    assert_eq!(put.status, 503, "{}", put.text());
    assert!(put.text().contains("<Code>ServiceUnavailable</Code>"));
    // The cached policy keeps serving, unchanged.
    assert_eq!(answer(&server, EXAMPLE1, "PUT"), 200);
    assert_eq!(answer(&server, NEW_SITE, "PUT"), 403);
}

#[cfg(target_os = "linux")]
#[test]
fn a_crashed_write_s_temporary_files_are_removed_at_start_up_and_said() {
    let dir = temp_dir("leftovers");
    // Twenty crashes mid-write, as `kill -9` leaves them: temporary files
    // of processes that are gone (one that has exited gives a free pid).
    let mut exited = std::process::Command::new("true").spawn().unwrap();
    exited.wait().unwrap();
    let gone = exited.id();
    for n in 0..20 {
        let text = if n % 4 == 0 {
            ""
        } else {
            "<CORSConfiguration>"
        };
        std::fs::write(dir.path().join(format!(".demo.{gone}.{n}.tmp")), text).unwrap();
    }
    // Not the store's: kept.
    std::fs::write(dir.path().join(".demo.swp"), "editor").unwrap();
    let mut server = start(&["--store", arg(&dir)]);
    assert_eq!(answer(&server, EXAMPLE1, "PUT"), 200);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".demo.swp", "demo.xml"]);
    assert!(server.stop().success());
    let log = server.stderr();
    assert_eq!(
        log.matches("the temporary file of a write that a crash interrupted")
            .count(),
        20,
        "{log}"
    );
}
