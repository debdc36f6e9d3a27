//! The etcd store against a real etcd that serves its clients over mutual
//! TLS (`--cert-file`, `--key-file`, `--trusted-ca-file`,
//! `--client-cert-auth`) with authentication on and a user whose role
//! covers only the store's prefix. The certificates are made by the test
//! (rcgen); users and roles are set with etcdctl. Without `etcd` or
//! `etcdctl` the tests are skipped with a loud message, except under
//! `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::future::poll_fn;
use std::time::{Duration, Instant};

use tower_s3_cors::source::BucketError;
use tower_s3_cors::store::{Change, CorsStore};
use tower_s3_cors_etcd::{
    ConnectErrorKind, EtcdConfig, EtcdError, EtcdErrorKind, EtcdStore, EtcdTls,
};
use tower_s3_cors_test_support::etcd::{Etcd, ServerTls};
use tower_s3_cors_test_support::tls::Pki;
use tower_s3_cors_test_support::{ETCDCTL, say};

/// A change stream, boxed so that the helpers can take any.
type ChangeStream = std::pin::Pin<Box<dyn futures_core::Stream<Item = Change> + Send>>;

/// A store's change stream.
fn changes_of(store: &EtcdStore) -> ChangeStream {
    Box::pin(store.changes().expect("etcd pushes changes"))
}

/// The fleet's user and its password; the role of the same name may read
/// and write [`PREFIX`] only.
const USER: &str = "fleet";
const PASSWORD: &str = "pw-9f2c-never-shown";
const PREFIX: &str = "fleet/";

const DOCUMENT: &str =
    r#"[{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"]}]"#;

/// How long a test waits for a change that must come.
const WAIT: Duration = Duration::from_secs(10);

/// An etcd over mutual TLS with authentication on, the fleet's user and a
/// user with a role on another prefix; `None` (skipped) without etcd or
/// etcdctl.
fn secured(test: &str, pki: &Pki, args: &[&str]) -> Option<Etcd> {
    ETCDCTL.require(test)?;
    let mut builder = Etcd::builder().tls(pki);
    for arg in args {
        builder = builder.arg(arg);
    }
    let mut etcd = builder.start_or_skip(test)?;
    etcd.enable_auth();
    etcd.add_user(USER, PASSWORD, Some(PREFIX));
    etcd.add_user("stranger", "stranger-pw", Some("elsewhere/"));
    Some(etcd)
}

/// A configuration for `etcd` over TLS with the client certificate, as the
/// fleet's user.
fn config(etcd: &Etcd, pki: &Pki) -> EtcdConfig {
    EtcdConfig::from_url(&etcd.url(PREFIX))
        .unwrap()
        .tls(EtcdTls::from_files(&pki.ca, Some((&pki.client, &pki.client_key))).unwrap())
        .user(USER, PASSWORD)
        .request_timeout(Duration::from_secs(2))
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(400))
}

async fn next(changes: &mut ChangeStream) -> Change {
    tokio::time::timeout(WAIT, poll_fn(|cx| changes.as_mut().poll_next(cx)))
        .await
        .expect("a change within the wait")
        .expect("the stream goes on")
}

/// The etcd error behind a store error, checked to name `member` and to
/// keep the password out of its text and `Debug`.
fn etcd_error<'a>(error: &'a BucketError, member: &str) -> &'a EtcdError {
    let text = error.to_string();
    let debug = format!("{error:?}");
    assert!(
        !text.contains(PASSWORD) && !debug.contains(PASSWORD),
        "{text}"
    );
    let etcd_error = EtcdError::of(error).unwrap_or_else(|| panic!("not from etcd: {text}"));
    assert_eq!(etcd_error.member(), Some(member), "{text}");
    assert!(text.contains(member), "{text}");
    etcd_error
}

#[tokio::test]
async fn mutual_tls_and_a_user_limited_to_the_prefix_work_and_the_token_is_renewed() {
    let pki = Pki::new();
    // Tokens that expire after a second, so that the test sees one renewed.
    let Some(etcd) = secured("mutual TLS with a user", &pki, &["--auth-token-ttl=1"]) else {
        return;
    };
    let config = config(&etcd, &pki);
    assert!(config.endpoints()[0].starts_with("https://"));
    let debug = format!("{config:?}");
    assert!(!debug.contains(PASSWORD) && debug.contains(USER), "{debug}");
    let reader = EtcdStore::connect(config.clone()).await.unwrap();
    let writer = EtcdStore::connect(config).await.unwrap();

    assert_eq!(reader.get("photos").await.unwrap().text(), None);
    let mut changes = changes_of(&reader);
    let written = writer.put("photos", DOCUMENT).await.unwrap();
    let Change::Put { version, .. } = next(&mut changes).await else {
        panic!("a put");
    };
    assert_eq!(version, written);
    assert_eq!(reader.possibly_stale_since(), None, "the watch is open");

    // The token expires; the next calls log in again, and the open watch
    // goes on.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let started = Instant::now();
    let again = writer.put("photos", "[]").await.unwrap();
    let renewed = started.elapsed();
    assert!(written.is_older_than(again));
    let Change::Put { text, .. } = next(&mut changes).await else {
        panic!("a put");
    };
    assert_eq!(&*text, "[]");
    let stored = reader.get("photos").await.unwrap();
    assert_eq!(stored.version(), again);
    let deleted = writer.delete("photos").await.unwrap();
    assert_eq!(deleted, reader.current_revision().await.unwrap());
    say(&format!(
        "mutual TLS, user {USER:?} limited to {PREFIX:?}: a put after the token expired took {renewed:.1?} (logging in again)"
    ));
}

#[tokio::test]
async fn refused_certificates_and_credentials_are_typed_errors_naming_the_member() {
    let pki = Pki::new();
    let Some(etcd) = secured("typed TLS and auth errors", &pki, &[]) else {
        return;
    };
    let member = format!("https://{}", etcd.endpoint());
    let url = etcd.url(PREFIX);
    let base = || {
        EtcdConfig::from_url(&url)
            .unwrap()
            .request_timeout(Duration::from_secs(2))
    };
    let tls = |ca, identity: Option<(&std::path::PathBuf, &std::path::PathBuf)>| {
        EtcdTls::from_files(ca, identity).unwrap()
    };
    let client = Some((&pki.client, &pki.client_key));
    let cases = [
        (
            "an authority that did not sign etcd's certificate",
            base().tls(tls(&pki.other_ca, client)).user(USER, PASSWORD),
            EtcdErrorKind::ServerCertificate,
        ),
        (
            "no client certificate",
            base().tls(tls(&pki.ca, None)).user(USER, PASSWORD),
            EtcdErrorKind::ClientCertificate,
        ),
        (
            "an expired client certificate",
            base()
                .tls(tls(
                    &pki.ca,
                    Some((&pki.expired_client, &pki.expired_client_key)),
                ))
                .user(USER, PASSWORD),
            EtcdErrorKind::ClientCertificate,
        ),
        (
            "a wrong password",
            base()
                .tls(tls(&pki.ca, client))
                .user(USER, "not-the-password"),
            EtcdErrorKind::Authentication,
        ),
        (
            "no user",
            base().tls(tls(&pki.ca, client)),
            EtcdErrorKind::PermissionDenied,
        ),
        (
            "a user whose role covers another prefix",
            base()
                .tls(tls(&pki.ca, client))
                .user("stranger", "stranger-pw"),
            EtcdErrorKind::PermissionDenied,
        ),
    ];
    let mut report = Vec::new();
    for (case, config, expected) in cases {
        let store = EtcdStore::connect(config).await.unwrap();
        let started = Instant::now();
        let read = store.get("photos").await.unwrap_err();
        let took = started.elapsed();
        let write = store.put("photos", DOCUMENT).await.unwrap_err();
        for error in [&read, &write] {
            assert!(error.is_unavailable(), "{case}: {error}");
            let etcd_error = etcd_error(error, &member);
            assert_eq!(etcd_error.kind(), expected, "{case}: {error}");
        }
        // Nothing to wait out: the member refused.
        assert!(took < Duration::from_secs(2), "{case}: {took:?}");
        report.push(format!("{case}: {read} ({took:.1?})"));
    }
    say(&format!("typed errors:\n  {}", report.join("\n  ")));
}

#[tokio::test]
async fn an_expired_server_certificate_is_a_typed_error() {
    let pki = Pki::new();
    let Some(etcd) = Etcd::builder()
        .server_tls(ServerTls {
            ca: pki.ca.clone(),
            cert: pki.expired_server.clone(),
            key: pki.expired_server_key.clone(),
            client_cert: pki.client.clone(),
            client_key: pki.client_key.clone(),
        })
        .start_or_skip("an expired server certificate")
    else {
        return;
    };
    let config = EtcdConfig::from_url(&etcd.url(PREFIX))
        .unwrap()
        .tls(EtcdTls::from_files(&pki.ca, Some((&pki.client, &pki.client_key))).unwrap());
    let store = EtcdStore::connect(config).await.unwrap();
    let error = store.get("photos").await.unwrap_err();
    let etcd_error = etcd_error(&error, &format!("https://{}", etcd.endpoint()));
    assert_eq!(
        etcd_error.kind(),
        EtcdErrorKind::ServerCertificate,
        "{error}"
    );
    assert!(error.to_string().contains("xpired"), "{error}");
}

#[tokio::test]
async fn unusable_tls_settings_are_connect_errors() {
    let none: Option<(&str, &str)> = None;
    let https = EtcdConfig::from_url("etcds://127.0.0.1:1/p").unwrap();
    let error = EtcdStore::connect(https.clone()).await.unwrap_err();
    assert_eq!(error.kind(), ConnectErrorKind::Tls, "{error}");

    let not_pem = EtcdTls::new("not a certificate");
    let error = EtcdStore::connect(https.clone().tls(not_pem))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ConnectErrorKind::Tls, "{error}");

    let pki = Pki::new();
    let bad_key = EtcdTls::from_files(&pki.ca, none)
        .unwrap()
        .identity(std::fs::read(&pki.client).unwrap(), "secret-key-text");
    let error = EtcdStore::connect(https.tls(bad_key)).await.unwrap_err();
    assert_eq!(error.kind(), ConnectErrorKind::Tls, "{error}");
    assert!(!error.to_string().contains("secret-key-text"), "{error}");
    assert!(
        !format!("{error:?}").contains("secret-key-text"),
        "{error:?}"
    );

    let missing = EtcdTls::from_files("/no/such/ca.pem", none).unwrap_err();
    assert!(missing.to_string().contains("/no/such/ca.pem"), "{missing}");
}
