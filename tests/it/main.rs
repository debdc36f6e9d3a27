//! The public API's tests, in one binary (one link instead of eight):
//! S3's recorded vectors, the layer, `Vary`, hot swaps, the `Service`
//! contract, the `?cors` sub-resource and no-panic properties. The
//! allocation counts are in `tests/alloc_counts.rs`, a binary of its own
//! because it installs a counting allocator.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

mod admin;
mod admin_hardening;
mod conformance;
mod directory;
mod engine_conformance;
mod hot_swap;
mod inner_cors;
mod layer;
mod no_panic;
mod pending;
mod read_through;
mod readiness;
mod shadows;
mod vary;
