//! Test helpers: the real binary (through the workspace's test-support
//! crate) and this crate's fixtures.

#![allow(dead_code, unused_imports, unreachable_pub)] // each test file uses a different part of this module

use std::path::PathBuf;

pub use tower_s3_cors_test_support::http::{Request, Response, TIMEOUT, preflight, request};
pub use tower_s3_cors_test_support::process::Server;

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_example-bucket-server");

/// Starts `example-bucket-server --listen 127.0.0.1:0 ARGS…` and waits for
/// its `listening on http://…` line.
pub fn start(args: &[&str]) -> Server {
    Server::start(BINARY, args)
}

/// Runs the binary with `args` to completion (for start-up failures).
pub fn run_to_exit(args: &[&str]) -> (std::process::ExitStatus, String, String) {
    tower_s3_cors_test_support::process::run_to_exit(BINARY, args)
}

/// A fixture file of this crate.
pub fn fixture(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

/// The `Vary` value the layer adds.
pub const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";
