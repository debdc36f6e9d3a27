//! Memory per bucket: `BUCKETS` buckets (100 k by default) in a `Buckets`,
//! each with a compiled policy of its own, of the demo's three-rule
//! document with the tenant's own origins (`http://tN.example1.com`,
//! `http://tN.example2.com`, then the rule for `*`), as tenants' documents
//! would be.
//!
//! Each step is measured two ways: the growth of the process's resident
//! set (`VmRSS` in `/proc/self/status`: what the machine pays, the
//! allocator's rounding and bookkeeping included), and the bytes and
//! allocations the program asked the allocator for (a counting allocator,
//! `allocation-counter`). The steps: compiling the policies, wrapping each
//! in a `SharedPolicy` handle, and adding the handles to the map under
//! their bucket names. For contrast, the same number of buckets sharing one
//! handle.
//!
//! Run with `cargo bench --bench memory` (Linux only: it reads `/proc`).

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use http::Request;
use tower_s3_cors::policy::CorsRequest;
use tower_s3_cors::source::{BucketCors, BucketPolicy, Buckets, RequestHead, Resolution};
use tower_s3_cors::{Policy, SharedPolicy};

/// The demo's three-rule document.
const THREE_RULES: &str = include_str!("../tests/fixtures/three-rules.xml");

/// The resident set, in bytes.
fn resident() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .expect("/proc/self/status has VmRSS");
    let kib: i64 = line.trim().trim_end_matches("kB").trim().parse().unwrap();
    kib * 1024
}

/// What one step cost, per bucket.
struct Step {
    name: &'static str,
    resident: f64,
    requested: f64,
    allocations: f64,
}

/// Runs `step` and measures what it keeps.
fn measure<T>(name: &'static str, buckets: usize, step: impl FnOnce() -> T) -> (T, Step) {
    let before = resident();
    let mut kept = None;
    let info = allocation_counter::measure(|| kept = Some(step()));
    let per = |total: i64| total as f64 / buckets as f64;
    let step = Step {
        name,
        resident: per(resident() - before),
        requested: per(info.bytes_current),
        allocations: per(info.count_current),
    };
    (kept.expect("the step ran"), step)
}

fn print(title: &str, steps: &[Step]) {
    println!("\n{title}");
    println!(
        "  {:<34} {:>14} {:>16} {:>12}",
        "step", "resident B", "requested B", "allocations"
    );
    let (mut resident, mut requested, mut allocations) = (0.0, 0.0, 0.0);
    for step in steps {
        println!(
            "  {:<34} {:>14.0} {:>16.0} {:>12.1}",
            step.name, step.resident, step.requested, step.allocations
        );
        resident += step.resident;
        requested += step.requested;
        allocations += step.allocations;
    }
    println!(
        "  {:<34} {:>14.0} {:>16.0} {:>12.1}",
        "total per bucket", resident, requested, allocations
    );
}

/// Tenant `i`'s document: the demo's, with its own origins.
fn tenant_document(i: usize, document: &mut String) {
    document.clear();
    document.push_str(THREE_RULES);
    *document = document.replace("http://www.", &format!("http://t{i}."));
}

fn name(i: usize) -> String {
    format!("bucket-{i:07}")
}

/// A preflight for a `PUT` to `bucket` from tenant `i`'s first origin.
fn preflight(bucket: &str, i: usize) -> Request<()> {
    Request::options(format!("/{bucket}/photos/cat.jpg"))
        .header("origin", format!("http://t{i}.example1.com"))
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .body(())
        .unwrap()
}

fn main() {
    // `cargo bench` passes `--bench`; this bench has nothing to filter.
    let n: usize = std::env::var("BUCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!("memory per bucket, {n} buckets (bytes per bucket)");

    // The vectors that hold each step's result, allocated before any step.
    let mut policies: Vec<Policy> = Vec::with_capacity(n);
    let mut handles: Vec<SharedPolicy> = Vec::with_capacity(n);
    let names: Vec<String> = (0..n).map(name).collect();
    let mut document = String::with_capacity(2 * THREE_RULES.len());

    // Buckets sharing one handle first: what they keep is only the map's.
    let shared = SharedPolicy::from_document(THREE_RULES).unwrap();
    let (shared_buckets, shared_insert) = measure("Buckets entries (names included)", n, || {
        let buckets = Buckets::path_style();
        for name in &names {
            buckets.insert(name, shared.clone());
        }
        buckets
    });

    let ((), compile) = measure("compiled policies", n, || {
        for i in 0..n {
            tenant_document(i, &mut document);
            policies.push(Policy::from_document(&document).unwrap());
        }
    });
    let ((), wrap) = measure("SharedPolicy handles", n, || {
        handles.extend(policies.iter().cloned().map(SharedPolicy::new));
    });
    let (buckets, insert) = measure("Buckets entries (names included)", n, || {
        let buckets = Buckets::path_style();
        for (name, handle) in names.iter().zip(&handles) {
            buckets.insert(name, handle.clone());
        }
        buckets
    });
    assert_eq!(buckets.len(), n);
    print(
        "each bucket its own compiled policy (the tenants' documents)",
        &[compile, wrap, insert],
    );
    print("every bucket sharing one handle", &[shared_insert]);

    // What serving takes on top: a matched preflight for every bucket
    // (nothing: a policy allocates nothing lazily for its answers); each
    // bucket's configuration handed on (`to_configuration`, as a
    // `GetBucketCors` answer: rebuilt, not kept); then read back through
    // `configuration()`, which rebuilds it once and keeps it.
    let ((), serve) = measure("a matched preflight per bucket", n, || {
        for (i, name) in names.iter().enumerate() {
            let request = preflight(name, i);
            let located = buckets.locate(&RequestHead::new(&request)).unwrap();
            let Resolution::Ready(BucketPolicy::Configured(policy)) =
                buckets.resolve(located.bucket())
            else {
                panic!("the bucket has a policy");
            };
            let cors = CorsRequest::new(request.method(), request.headers()).unwrap();
            assert!(black_box(policy.evaluate(&cors)).is_ok());
        }
    });
    let ((), handed_on) = measure("each configuration handed on", n, || {
        for policy in &policies {
            drop(black_box(policy.to_configuration()));
        }
    });
    let ((), read_back) = measure("each configuration() read back", n, || {
        for policy in &policies {
            black_box(policy.configuration());
        }
    });
    print("then, on top", &[serve, handed_on, read_back]);
    assert_eq!(shared_buckets.len(), n);
    black_box((&policies, &handles));
}
