//! Why a member reached over TLS closed the connection.
//!
//! A member that refuses the client's certificate says so with a TLS alert
//! after the client finished its part of the handshake (TLS 1.3). The
//! gRPC client then fails its requests with whatever its HTTP/2 connection
//! saw first: often the alert, sometimes only "connection closed". To name
//! the cause every time, the store opens one TLS connection of its own to
//! the member, with the same settings, sends the HTTP/2 preface, and reads
//! the answer: the TLS library's error then says what went wrong.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::EtcdErrorKind;
use crate::EtcdTls;
use crate::error::tls_error_kind;

/// A TLS failure found, and the TLS library's words for it.
pub(crate) type Diagnosis = Option<(EtcdErrorKind, String)>;

/// The start of an HTTP/2 connection: the preface and an empty SETTINGS
/// frame, which an etcd member answers with its own SETTINGS.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// The TLS failure with the member at `endpoint` (`https://host:port`),
/// with the TLS library's words; `None` when TLS works, or when the member
/// cannot be reached at all. Blocking, within about twice `timeout`.
pub(crate) fn tls_failure(endpoint: &str, tls: &EtcdTls, timeout: Duration) -> Diagnosis {
    let authority = endpoint.strip_prefix("https://")?;
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned()).ok()?;
    let mut connection = ClientConnection::new(Arc::new(config(tls)?), name).ok()?;
    let address = (host, port).to_socket_addrs().ok()?.next()?;
    let mut tcp = TcpStream::connect_timeout(&address, timeout).ok()?;
    tcp.set_read_timeout(Some(timeout)).ok()?;
    tcp.set_write_timeout(Some(timeout)).ok()?;
    let mut stream = rustls::Stream::new(&mut connection, &mut tcp);
    let mut answer = [0; 64];
    let outcome = stream
        .write_all(PREFACE)
        .and_then(|()| stream.read(&mut answer));
    let error = outcome.err()?;
    let tls_error = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some((tls_error_kind(tls_error), tls_error.to_string()))
}

/// The client settings of `tls`, as the gRPC client makes them.
fn config(tls: &EtcdTls) -> Option<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&tls.ca) {
        roots.add(certificate.ok()?).ok()?;
    }
    // As tonic chooses: the process's default provider, else ring's (the
    // one its `tls-ring` feature brings, deprecated by rustls only for
    // lacking post-quantum key exchange).
    #[allow(deprecated)]
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots);
    let mut config = match &tls.identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            let key = PrivateKeyDer::from_pem_slice(key.0.as_bytes()).ok()?;
            builder.with_client_auth_cert(chain, key).ok()?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Some(config)
}
