//! The test harness of the tower-s3-cors workspace (unpublished): what the
//! tests of several crates need to run real components side by side.
//!
//! - [`process`]: an example server started as a real process, its
//!   `listening on http://ADDR` line read, its output kept, killed when
//!   dropped;
//! - [`http`]: a tiny blocking HTTP/1.1 client that sends exactly what a
//!   test says and parses what comes back (headers in order, duplicates
//!   kept);
//! - [`etcd`]: a real etcd, one member or a cluster, on free loopback ports
//!   with temporary data, that can be killed, paused and restarted member
//!   by member;
//! - [`proxy`]: a TCP proxy that cuts or freezes the connections of one
//!   client;
//! - [`Tool`]: external programs (etcd, Chromium) found on `PATH` or named
//!   by an environment variable; a test without them is skipped loudly,
//!   except under `CI=true`, where that is a failure;
//! - [`tls`] (feature `tls`): certificates made by the test (`rcgen`);
//! - `metrics` (feature `metrics`): a recorder that keeps what the
//!   libraries count, for the tests of their metrics;
//! - [`free_port`], [`temp_dir`] (the `tempfile` crate) and [`say`].
//!
//! Everything here panics with a message on a broken environment: it is
//! for tests only, never a stable API.

mod dir;
pub mod etcd;
pub mod http;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod process;
pub mod proxy;
#[cfg(feature = "tls")]
pub mod tls;
mod tool;

use std::io::{self, Write as _};
use std::net::{Ipv4Addr, TcpListener};

pub use dir::temp_dir;
pub use tempfile::TempDir;
pub use tool::{CHROMIUM, ETCD, ETCDCTL, Tool};

/// Whether this run is a CI run (`CI=true` or `CI=1`): a missing tool is
/// then an error, never a reason to skip.
#[must_use]
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Writes `line` straight to the process's stderr, past libtest's capture,
/// so that figures and skips show on success too.
pub fn say(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Says loudly, past libtest's capture, that `what` did not run, and why.
///
/// # Panics
///
/// Under CI (`CI=true`): there, nothing may be skipped.
pub fn skip(what: &str, why: &str) {
    assert!(
        !is_ci(),
        "CI=true and {why}: {what} cannot be skipped in CI"
    );
    let bar = "#".repeat(72);
    say(&format!(
        "\n{bar}\n# SKIPPED: {what} did not run:\n# {why}\n# (under CI=true this is a failure)\n{bar}\n"
    ));
}

/// A loopback port that was free a moment ago (bound, then released:
/// another process may take it in between, so whoever binds it should be
/// ready to try again).
///
/// # Panics
///
/// When no port can be bound on `127.0.0.1`.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}
