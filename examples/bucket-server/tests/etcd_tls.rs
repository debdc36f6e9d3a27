//! A fleet over a production-like etcd: mutual TLS (`--cert-file`,
//! `--key-file`, `--trusted-ca-file`, `--client-cert-auth`; certificates
//! made by the test) with authentication on and a user whose role covers
//! only the fleet's key prefix. Three demo processes share bucket CORS
//! through it; etcd refusing the certificates or credentials at start-up
//! stops the demo with a typed error; after start-up it means `503` for
//! writes while cached buckets keep serving; the password shows in no
//! output.
//!
//! Needs `etcd` and `etcdctl` (Debian: etcd-server, etcd-client); without
//! them the tests are skipped with a loud message, except under `CI=true`.

#![cfg(feature = "etcd")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{BINARY, Server, preflight, request};
use tower_s3_cors_test_support::etcd::Etcd;
use tower_s3_cors_test_support::process::run_command_to_exit;
use tower_s3_cors_test_support::tls::Pki;
use tower_s3_cors_test_support::{ETCDCTL, say, temp_dir};

const PREFIX: &str = "fleet";
const USER: &str = "cors-fleet";
const PASSWORD: &str = "pw-7e1d-must-never-show";
const APP: &str = "https://app.example";

/// How long a change may take to show anywhere before a test fails (it
/// takes milliseconds).
const PATIENCE: Duration = Duration::from_secs(10);

fn document(n: u32) -> String {
    format!(r#"[{{"AllowedOrigins": ["{APP}"], "AllowedMethods": ["PUT"], "MaxAgeSeconds": {n}}}]"#)
}

/// An etcd over mutual TLS with authentication, the fleet's user (role on
/// `fleet/` only) and a user whose role covers another prefix.
fn secured(test: &str, pki: &Pki) -> Option<Etcd> {
    ETCDCTL.require(test)?;
    let mut etcd = Etcd::builder().tls(pki).start_or_skip(test)?;
    etcd.enable_auth();
    etcd.add_user(USER, PASSWORD, Some(&format!("{PREFIX}/")));
    etcd.add_user("stranger", "stranger-pw", Some("elsewhere/"));
    Some(etcd)
}

/// The demo's arguments for `etcd` with the given authority and client
/// certificate (`None`: none), as user `user`.
fn args(etcd: &Etcd, ca: &str, client: Option<(&str, &str)>, user: &str) -> Vec<String> {
    let mut args = vec![
        "--store".to_owned(),
        etcd.url(PREFIX),
        "--etcd-cacert".to_owned(),
        ca.to_owned(),
        "--etcd-user".to_owned(),
        user.to_owned(),
        "--bucket".to_owned(),
        "photos".to_owned(),
    ];
    if let Some((cert, key)) = client {
        args.extend([
            "--etcd-cert".to_owned(),
            cert.to_owned(),
            "--etcd-key".to_owned(),
            key.to_owned(),
        ]);
    }
    args
}

/// The demo with `args`, the password in `$ETCD_PASSWORD` (unless `None`).
fn command(args: &[String], password: Option<&str>) -> Command {
    let mut command = Command::new(BINARY);
    command.args(["--listen", "127.0.0.1:0"]).args(args);
    command.env_remove("ETCD_PASSWORD");
    if let Some(password) = password {
        command.env("ETCD_PASSWORD", password);
    }
    command
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// The max-age a preflight from [`APP`] gets, or the status otherwise.
fn max_age(server: &Server) -> Result<u32, u16> {
    let response = server.send(preflight("/photos/a", APP, "PUT"));
    match response.status {
        200 => response
            .header("access-control-max-age")
            .and_then(|v| v.parse().ok())
            .ok_or(200),
        status => Err(status),
    }
}

fn until(server: &Server, n: u32) {
    let started = Instant::now();
    while max_age(server) != Ok(n) {
        assert!(
            started.elapsed() < PATIENCE,
            "{} never served document {n}",
            server.addr
        );
        thread::sleep(Duration::from_millis(5));
    }
}

fn put_cors(server: &Server, n: u32) -> u16 {
    server
        .send(request("PUT", "/photos?cors").body(document(n)))
        .status
}

#[test]
fn three_instances_share_cors_over_mutual_tls_as_a_user_limited_to_their_prefix() {
    let pki = Pki::new();
    let Some(etcd) = secured("a fleet over mutual TLS", &pki) else {
        return;
    };
    let args = args(
        &etcd,
        path(&pki.ca),
        Some((path(&pki.client), path(&pki.client_key))),
        USER,
    );
    // Two instances take the password from the environment, one from a file.
    let secrets = temp_dir("secrets");
    let password_file = secrets.path().join("etcd-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let mut from_file = args.clone();
    from_file.extend([
        "--etcd-password-file".to_owned(),
        path(&password_file).to_owned(),
    ]);
    let mut fleet = vec![
        Server::spawn(command(&args, Some(PASSWORD))),
        Server::spawn(command(&args, Some(PASSWORD))),
        Server::spawn(command(&from_file, None)),
    ];
    let mut banners = Vec::new();
    for server in &fleet {
        banners.extend(server.next_lines(3));
    }

    assert_eq!(put_cors(&fleet[0], 1), 200);
    for server in &fleet {
        until(server, 1);
    }
    assert_eq!(put_cors(&fleet[2], 2), 200);
    for server in &fleet {
        until(server, 2);
    }

    // After start-up, the user loses its permission: writes get 503 (and
    // the log says why), cached buckets keep serving.
    let prefix = format!("{PREFIX}/");
    etcd.etcdctl(&["role", "revoke-permission", USER, &prefix, "--prefix=true"])
        .unwrap();
    let started = Instant::now();
    let refused = fleet[1].send(request("PUT", "/photos?cors").body(document(3)));
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(refused.text().contains("<Code>ServiceUnavailable</Code>"));
    say(&format!(
        "permission revoked after start-up: PUT ?cors answered 503 after {:.1?}",
        started.elapsed()
    ));
    for server in &fleet {
        for _ in 0..20 {
            assert_eq!(max_age(server), Ok(2), "cached buckets keep serving");
        }
    }
    etcd.etcdctl(&[
        "role",
        "grant-permission",
        USER,
        "readwrite",
        &prefix,
        "--prefix=true",
    ])
    .unwrap();
    let started = Instant::now();
    while put_cors(&fleet[1], 4) != 200 {
        assert!(started.elapsed() < PATIENCE, "writes never came back");
        thread::sleep(Duration::from_millis(50));
    }
    for server in &fleet {
        until(server, 4);
    }

    let mut logs = Vec::new();
    for server in &mut fleet {
        assert!(server.stop().success());
        logs.push(server.stderr());
    }
    let log = logs.join("\n");
    assert!(log.contains("denied permission"), "{log}");
    assert!(log.contains("answered 503"), "{log}");
    for output in banners.iter().chain(&logs) {
        assert!(!output.contains(PASSWORD), "the password shows: {output}");
    }
}

#[test]
fn refused_certificates_and_credentials_stop_the_demo_at_start_up_with_a_typed_error() {
    let pki = Pki::new();
    let Some(etcd) = secured("the demo's typed start-up errors", &pki) else {
        return;
    };
    let member = format!("https://{}", etcd.endpoint());
    let client = Some((path(&pki.client), path(&pki.client_key)));
    let expired = Some((path(&pki.expired_client), path(&pki.expired_client_key)));
    let cases = [
        (
            "an authority that did not sign etcd's certificate",
            args(&etcd, path(&pki.other_ca), client, USER),
            PASSWORD,
            "has a certificate that is not trusted",
        ),
        (
            "no client certificate",
            args(&etcd, path(&pki.ca), None, USER),
            PASSWORD,
            "refused the client certificate",
        ),
        (
            "an expired client certificate",
            args(&etcd, path(&pki.ca), expired, USER),
            PASSWORD,
            "refused the client certificate",
        ),
        (
            "a wrong password",
            args(&etcd, path(&pki.ca), client, USER),
            "not-the-password",
            "refused the credentials",
        ),
        (
            "a user whose role covers another prefix",
            args(&etcd, path(&pki.ca), client, "stranger"),
            "stranger-pw",
            "denied permission",
        ),
    ];
    let mut report = Vec::new();
    for (case, args, password, says) in cases {
        let started = Instant::now();
        let (status, stdout, stderr) = run_command_to_exit(command(&args, Some(password)));
        let took = started.elapsed();
        assert_eq!(status.code(), Some(2), "{case}: {stderr}");
        assert!(stdout.is_empty(), "{case}: nothing served: {stdout}");
        assert!(
            stderr.contains(says) && stderr.contains(&member),
            "{case}: {stderr}"
        );
        assert!(!stderr.contains(PASSWORD), "{case}: {stderr}");
        report.push(format!(
            "{case}: exit 2 after {took:.1?}: {}",
            stderr
                .lines()
                .find(|l| l.contains(says))
                .unwrap_or_default()
        ));
    }
    // No password at all.
    let (status, _, stderr) =
        run_command_to_exit(command(&args(&etcd, path(&pki.ca), client, USER), None));
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ETCD_PASSWORD"), "{stderr}");
    say(&format!("the demo at start-up:\n  {}", report.join("\n  ")));
}
