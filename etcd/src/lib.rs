//! An etcd store for [`tower-s3-cors`](tower_s3_cors): bucket CORS
//! documents shared by every instance of a fleet.
//!
//! [`EtcdStore`] implements the core crate's
//! [`CorsStore`](tower_s3_cors::store::CorsStore) over etcd's key-value API:
//!
//! - each bucket's document is the value of the key `{prefix}{bucket}`,
//!   kept byte for byte as written (S3 XML or either JSON shape); the
//!   default prefix is `tower-s3-cors/buckets/` ([`EtcdConfig`]);
//! - a document's [`Version`](tower_s3_cors::store::Version) is the key's
//!   mod revision, so that every instance orders writes the same way and the
//!   last write (by revision) wins everywhere;
//! - the [change stream](tower_s3_cors::store::CorsStore::changes) is an
//!   etcd watch on the prefix that resumes from the last revision it
//!   delivered after a lost connection, with exponential backoff, and says
//!   [`Resync`](tower_s3_cors::store::Change::Resync) whenever it may have a
//!   gap (a reconnect, a compacted history);
//! - it connects lazily, so a process starts while etcd is down, and every
//!   operation fails with
//!   [unavailable](tower_s3_cors::source::BucketError::is_unavailable)
//!   within a bounded time while etcd cannot be reached;
//! - it speaks TLS to etcd (rustls; a certificate authority, and a client
//!   certificate for mutual TLS: [`EtcdTls`]) and logs in as an etcd user
//!   ([`EtcdConfig::user`]), whose password never shows in a log, an error
//!   or `Debug` output;
//! - its errors say why, typed ([`EtcdError`], [`EtcdErrorKind`]), naming
//!   the member: unreachable, hung, an untrusted member certificate, a
//!   refused client certificate, refused credentials, a missing
//!   permission, no quorum;
//! - a write never lands on top of a write answered after it was sent, and
//!   writing what is there already is a no-op, so a write that timed out
//!   (`503`) can be retried ([`EtcdStore`], "Writes and their answers");
//! - a member that hangs is noticed within two seconds (watch progress
//!   requests), and the change stream moves to another member with a
//!   resync; while it may be stale the store says so, in its log and to a
//!   program ([`EtcdStore::possibly_stale_since`],
//!   [`EtcdStore::on_stale_change`]).
//!
//! It logs with `tracing`: failed operations, members that fail and come
//! back, change streams lost, moved and resynced. With the `metrics`
//! feature it also counts them, through the `metrics` facade (install the
//! recorder before making the store): `s3_cors_etcd_watch_reconnects_total`,
//! `s3_cors_etcd_watch_resyncs_total{reason}` (`start`, `reconnect`,
//! `compacted`), the gauges `s3_cors_etcd_possibly_stale` (stores that may
//! have missed changes now) and `s3_cors_etcd_watch_revisions_behind`
//! (revisions etcd had beyond the last change delivered, as of the latest
//! watch response), and the histogram `s3_cors_etcd_change_lag_seconds`
//! (from sending a write of this process to its arrival on this process's
//! change stream: etcd's revisions carry no time, so the lag of other
//! processes' writes is measured in revisions only).
//!
//! It lives in its own crate, as tower-sessions keeps its stores, so that
//! the core crate keeps its small dependency set: this one brings
//! `etcd-client` (tonic, prost) and needs `protoc` to build
//! (`apt-get install protobuf-compiler` on Debian).
//!
//! # Examples
//!
//! ```no_run
//! use futures_core::Stream;
//! use std::pin::pin;
//! use std::time::Duration;
//! use tower_s3_cors::store::{Change, CorsStore};
//! use tower_s3_cors_etcd::{EtcdConfig, EtcdStore, EtcdTls};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // As a server would take it from `--store etcds://…`, with etcdctl's
//! // --cacert, --cert, --key and --user.
//! let tls = EtcdTls::from_files("ca.pem", Some(("client.pem", "client-key.pem")))?;
//! let password = std::env::var("ETCD_PASSWORD")?;
//! let config = EtcdConfig::from_url("etcds://etcd-1:2379,etcd-2:2379,etcd-3:2379/prod/cors")?
//!     .tls(tls)
//!     .user("cors-fleet", password)
//!     .request_timeout(Duration::from_millis(500));
//! let store = EtcdStore::connect(config).await?;
//!
//! // Subscribe before reading, so nothing written after the read is missed.
//! let mut changes = pin!(store.changes().expect("etcd pushes changes"));
//! let _photos = store.get("photos").await?;
//!
//! // Elsewhere in the fleet: store.put("photos", document).await?
//! while let Some(change) = std::future::poll_fn(|cx| changes.as_mut().poll_next(cx)).await {
//!     match change {
//!         Change::Put { .. } => { /* compile and cache */ }
//!         Change::Deleted { .. } => { /* drop the bucket */ }
//!         Change::Resync => { /* reload everything cached */ }
//!         _ => { /* Stale: read the bucket again */ }
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Runtime
//!
//! The store runs on Tokio (either flavour): create it within a runtime;
//! each change stream is a task on that runtime.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod diagnose;
mod error;
mod freshness;
mod members;
#[cfg(feature = "metrics")]
mod metrics;
mod store;
mod tls;
mod watch;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use config::{DEFAULT_PORT, EtcdConfig, UrlError, UrlErrorKind};
pub use error::{ConnectError, ConnectErrorKind, EtcdError, EtcdErrorKind};
pub use store::{EtcdStore, MAX_BUCKET_LEN};
pub use tls::{EtcdTls, Password};
