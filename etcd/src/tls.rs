//! [`EtcdTls`] and [`Password`]: what the store shows etcd to be let in,
//! kept out of every message.

use std::fmt;
use std::io;
use std::path::Path;

/// TLS towards etcd's members: the certificate authority their
/// certificates must be signed by and, for etcd's `--client-cert-auth`
/// (mutual TLS), the client's certificate and key. PEM, as etcdctl's
/// `--cacert`, `--cert` and `--key` take them.
///
/// Members are checked against the host name or IP address of their
/// endpoint. Only this authority is trusted (not the system's roots):
/// etcd clusters use their own. The key never appears in `Debug` output or
/// in an error.
///
/// ```no_run
/// use tower_s3_cors_etcd::{EtcdConfig, EtcdTls};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let tls = EtcdTls::from_files("ca.pem", Some(("client.pem", "client-key.pem")))?;
/// let config = EtcdConfig::from_url("etcds://etcd-1:2379,etcd-2:2379/prod/cors")?.tls(tls);
/// assert_eq!(config.endpoints(), ["https://etcd-1:2379", "https://etcd-2:2379"]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EtcdTls {
    pub(crate) ca: Vec<u8>,
    pub(crate) identity: Option<(Vec<u8>, Password)>,
}

impl EtcdTls {
    /// Trusts the certificate authority (or bundle) `ca_pem`.
    #[must_use]
    pub fn new(ca_pem: impl Into<Vec<u8>>) -> Self {
        Self {
            ca: ca_pem.into(),
            identity: None,
        }
    }

    /// Shows the client certificate `cert_pem` with its private key
    /// `key_pem` to members that ask for one.
    #[must_use]
    pub fn identity(mut self, cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        let key = String::from_utf8_lossy(&key_pem.into()).into_owned();
        self.identity = Some((cert_pem.into(), Password(key)));
        self
    }

    /// Reads the authority's file and, if given, the client certificate's
    /// and key's files.
    ///
    /// # Errors
    ///
    /// When a file cannot be read: the error names the file.
    pub fn from_files(
        ca: impl AsRef<Path>,
        identity: Option<(impl AsRef<Path>, impl AsRef<Path>)>,
    ) -> io::Result<Self> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        };
        let mut tls = Self::new(read(ca.as_ref())?);
        if let Some((cert, key)) = identity {
            tls = tls.identity(read(cert.as_ref())?, read(key.as_ref())?);
        }
        Ok(tls)
    }

    /// Whether a client certificate is shown.
    #[must_use]
    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }
}

impl fmt::Debug for EtcdTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdTls")
            .field("ca", &format_args!("{} bytes of PEM", self.ca.len()))
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

/// A secret (a password, a private key) that shows as `<redacted>` in
/// `Debug` output and has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub(crate) String);

impl Password {
    /// Wraps `secret`.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Password {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for Password {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}
