//! Test helpers: the real binary and a tiny blocking HTTP/1.1 client (from
//! the workspace's test-support crate), and boto3 through `s3_client.py`.

#![allow(dead_code, unused_imports, unreachable_pub)] // each test file uses a different part
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write;
use std::process::{Command, ExitStatus, Stdio};

use serde_json::Value;

pub use tower_s3_cors_test_support::http::{Request, Response, preflight, request};
pub use tower_s3_cors_test_support::process::Server;
pub use tower_s3_cors_test_support::{TempDir, temp_dir};

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_example-s3s-server");

/// Starts `example-s3s-server --listen 127.0.0.1:0 ARGS…` and waits for its
/// `listening on http://…` line.
pub fn start(args: &[&str]) -> Server {
    Server::start(BINARY, args)
}

/// Runs the binary with `args` to completion.
pub fn run_to_exit(args: &[&str]) -> (ExitStatus, String, String) {
    tower_s3_cors_test_support::process::run_to_exit(BINARY, args)
}

/// Whether `python3` with boto3 is here. Without it the boto3 tests are
/// skipped with a message, except under `CI=true`, where that fails.
pub fn boto3_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import boto3"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        tower_s3_cors_test_support::skip(
            "the boto3 tests",
            "python3 with boto3 not found (pip install boto3)",
        );
    }
    found
}

/// What boto3 answered for each step of a plan.
pub struct Boto3Results(pub Vec<Value>);

impl Boto3Results {
    /// The answer to step `index`, checked to be a success.
    pub fn ok(&self, index: usize) -> &Value {
        let answer = &self.0[index];
        assert_eq!(answer["ok"], true, "step {index} failed: {answer}");
        answer
    }

    /// The answer to step `index`, checked to be the S3 error `code`.
    pub fn error(&self, index: usize, code: &str, status: u64) -> &Value {
        let answer = &self.0[index];
        assert_eq!(
            answer["ok"], false,
            "step {index} should have failed: {answer}"
        );
        assert_eq!(answer["code"], code, "step {index}: {answer}");
        assert_eq!(answer["status"], status, "step {index}: {answer}");
        answer
    }
}

/// Runs `steps` with boto3 against `endpoint` (path or virtual style).
pub fn boto3(endpoint: &str, style: &str, steps: Value) -> Boto3Results {
    let plan = serde_json::json!({
        "endpoint": endpoint,
        "access_key": example_s3s_server::DEFAULT_ACCESS_KEY,
        "secret_key": example_s3s_server::DEFAULT_SECRET_KEY,
        "style": style,
        "steps": steps,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/s3_client.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(plan.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "s3_client.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> =
        serde_json::from_slice(&output.stdout).expect("JSON from s3_client.py");
    assert_eq!(results.len(), plan["steps"].as_array().unwrap().len());
    Boto3Results(results)
}
