//! Real-browser tests of `tower-s3-cors`: helpers for `tests/browser.rs`.
//!
//! Headless Chromium loads a page from one origin (the [`page_server`]) and
//! makes cross-origin `fetch()` calls to the server under test
//! ([`s3_server`]: an object store behind `S3CorsLayer`, with a recorder in
//! front of the layer) on another, and to the tonic-web example on a third.
//! The page reports what JavaScript could see; the recorder tells what the
//! server received. [`s3s_server`] is a second server under test: the s3s
//! example (SigV4 required), which the page uses through URLs made by
//! [`presign`]. [`chromium`] finds and runs the browser.
//!
//! Run: `cargo test -p browser-tests` (needs Chromium:
//! `apt-get update && apt-get install -y chromium`, or `$CHROMIUM` naming a
//! binary). Without one the suite is skipped with a loud message, except
//! under `CI=true`, where that fails. `BROWSER_TESTS_VERBOSE=1` prints every
//! exchange the server had, with all headers.

pub mod chromium;
pub mod page_server;
pub mod presign;
pub mod s3_server;
pub mod s3s_server;
