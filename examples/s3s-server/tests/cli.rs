//! The command line contract: defaults, the banner, bad arguments, a clean
//! stop. (No S3 client needed.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{preflight, request, run_to_exit, start, temp_dir};

#[test]
fn defaults_are_printed_and_the_temporary_root_goes_away() {
    let mut server = start(&[]);
    let banner = server.next_lines(5);
    let root = banner[0]
        .strip_prefix("root: ")
        .and_then(|rest| {
            rest.strip_suffix(" (temporary, removed at exit; --root DIR to keep data)")
        })
        .unwrap_or_else(|| panic!("{banner:?}"))
        .to_owned();
    assert_eq!(banner[1], "access key: AKIAIOSFODNN7EXAMPLE");
    assert_eq!(
        banner[2],
        "secret key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    );
    assert_eq!(banner[3], format!("bucket CORS documents: {root}/.cors"));
    assert!(
        banner[4].starts_with("addressing: path style"),
        "{banner:?}"
    );
    assert!(std::path::Path::new(&root).join(".cors").is_dir());

    // Nothing is served without a signature; a preflight for a bucket that
    // does not exist is S3's 403.
    let list = server.send(request("GET", "/"));
    assert_eq!(list.status, 403);
    assert!(
        list.text().contains("<Code>AccessDenied</Code>"),
        "{}",
        list.text()
    );
    let response = server.send(preflight("/nope/x", "https://app.example.com", "GET"));
    assert_eq!(response.status, 403);
    assert!(
        response.text().contains("CORSResponse: Bucket not found"),
        "{}",
        response.text()
    );

    assert!(server.stop().success());
    assert!(
        !std::path::Path::new(&root).exists(),
        "{root} should be removed"
    );
}

#[test]
fn given_credentials_and_root_are_used_and_kept() {
    let root = temp_dir("cli");
    let mut server = start(&[
        "--root",
        root.path().to_str().unwrap(),
        "--access-key",
        "MYKEY",
        "--secret-key",
        "MYSECRET",
        "--domain",
        "s3.local.test:9000",
    ]);
    let banner = server.next_lines(5);
    assert_eq!(banner[0], format!("root: {}", root.path().display()));
    assert_eq!(banner[1], "access key: MYKEY");
    assert_eq!(banner[2], "secret key: MYSECRET");
    assert!(
        banner[4].contains("virtual-hosted style (http://BUCKET.s3.local.test:9000/KEY)"),
        "{banner:?}"
    );
    assert!(server.stop().success());
    assert!(root.path().join(".cors").is_dir(), "a given root is kept");
}

#[test]
fn bad_arguments_exit_with_status_2_and_the_usage() {
    for args in [
        &["--access-key", "AK"][..],
        &["--listen", "nowhere"],
        &["--domain", "not a domain"],
        &["--root", "/no/such/directory/at/all"],
        &["--frobnicate"],
    ] {
        let (status, _, stderr) = run_to_exit(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    let (status, stdout, _) = run_to_exit(&["--help"]);
    assert!(status.success());
    assert!(
        stdout.contains("Usage: example-s3s-server [OPTIONS]"),
        "{stdout}"
    );
    for flag in [
        "--listen <ADDR>",
        "--root <DIR>",
        "--access-key <KEY>",
        "--secret-key <SECRET>",
        "--domain <DOMAIN>",
    ] {
        assert!(stdout.contains(flag), "{flag}: {stdout}");
    }
}
