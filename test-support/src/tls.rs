//! Certificates made by the test (feature `tls`, with `rcgen`): a
//! certificate authority, an etcd server certificate for `127.0.0.1` and
//! `localhost`, client certificates valid or expired, and an unrelated
//! authority, written as PEM files into a temporary directory.
//!
//! ```no_run
//! use tower_s3_cors_test_support::etcd::Etcd;
//! use tower_s3_cors_test_support::tls::Pki;
//!
//! let pki = Pki::new();
//! let Some(etcd) = Etcd::builder().tls(&pki).start_or_skip("a TLS test") else { return };
//! // Clients trust pki.ca, and show pki.client / pki.client_key.
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, date_time_ymd,
};
use tempfile::TempDir;

use crate::temp_dir;

/// The common name of [`Pki::client`]: no etcd user has it, so that a
/// client with this certificate is not taken for a user by etcd (which
/// takes the common name as the user of a request without a token).
pub const CLIENT_NAME: &str = "tower-s3-cors-test-client";

/// A certificate authority of the test's own.
#[derive(Debug)]
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, as PEM.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS #8).
    pub key_pem: String,
}

/// Whether a certificate is valid now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// From 1975 to 4096 (rcgen's defaults).
    Current,
    /// From 2020-01-01 to 2021-01-01: expired.
    Expired,
}

impl Authority {
    /// A new authority named `name`.
    ///
    /// # Panics
    ///
    /// When rcgen fails (it does not with these parameters).
    #[must_use]
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("a CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("a CA certificate");
        Self { issuer }
    }

    /// The authority's certificate, as PEM.
    #[must_use]
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `common_name` and the names or IP addresses
    /// `hosts`, for servers and clients alike.
    ///
    /// # Panics
    ///
    /// When rcgen fails (a host that is neither a DNS name nor an address).
    #[must_use]
    pub fn issue(&self, common_name: &str, hosts: &[&str], validity: Validity) -> Issued {
        let hosts: Vec<String> = hosts.iter().map(|&h| h.to_owned()).collect();
        let mut params = CertificateParams::new(hosts).expect("certificate parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        if validity == Validity::Expired {
            params.not_before = date_time_ymd(2020, 1, 1);
            params.not_after = date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("a signed certificate");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// The files of a test's public-key infrastructure, in a temporary
/// directory removed when this is dropped.
#[derive(Debug)]
pub struct Pki {
    /// The certificate authority every certificate below is signed by.
    pub ca: PathBuf,
    /// etcd's certificate, for `127.0.0.1` and `localhost`.
    pub server: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// A client certificate ([`CLIENT_NAME`]).
    pub client: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// A client certificate that expired in 2021.
    pub expired_client: PathBuf,
    /// Its key.
    pub expired_client_key: PathBuf,
    /// A server certificate like [`server`](Self::server) that expired in
    /// 2021.
    pub expired_server: PathBuf,
    /// Its key.
    pub expired_server_key: PathBuf,
    /// Another authority, which signed none of the above.
    pub other_ca: PathBuf,
    dir: TempDir,
}

impl Pki {
    /// Makes the authorities and certificates and writes them.
    ///
    /// # Panics
    ///
    /// When a file cannot be written.
    #[must_use]
    pub fn new() -> Self {
        let dir = temp_dir("pki");
        let ca = Authority::new("tower-s3-cors test CA");
        let write = |name: &str, text: &str| -> PathBuf {
            let path = dir.path().join(name);
            fs::write(&path, text).expect("a PEM file");
            path
        };
        let server = ca.issue("etcd", &["127.0.0.1", "localhost"], Validity::Current);
        let client = ca.issue(CLIENT_NAME, &[], Validity::Current);
        let expired = ca.issue(CLIENT_NAME, &[], Validity::Expired);
        let expired_server = ca.issue("etcd", &["127.0.0.1", "localhost"], Validity::Expired);
        Self {
            ca: write("ca.pem", &ca.cert_pem()),
            server: write("server.pem", &server.cert_pem),
            server_key: write("server-key.pem", &server.key_pem),
            client: write("client.pem", &client.cert_pem),
            client_key: write("client-key.pem", &client.key_pem),
            expired_client: write("expired-client.pem", &expired.cert_pem),
            expired_client_key: write("expired-client-key.pem", &expired.key_pem),
            expired_server: write("expired-server.pem", &expired_server.cert_pem),
            expired_server_key: write("expired-server-key.pem", &expired_server.key_pem),
            other_ca: write("other-ca.pem", &Authority::new("another CA").cert_pem()),
            dir,
        }
    }

    /// The directory of the files.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}
