//! Test helpers: the real binary, a tiny blocking HTTP/1.1 client that can
//! send any `Host` header to loopback, and boto3 through `s3_client.py`.

#![allow(dead_code, unreachable_pub)] // each test file uses a different part
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any single wait in these tests may take.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_example-s3s-server");

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "example-s3s-server-test-{name}-{}-{nanos:x}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The running binary; killed when dropped, even if the test panicked.
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`, from the first line of stdout.
    pub addr: String,
    /// The lines printed after the first one.
    pub stdout: mpsc::Receiver<String>,
}

impl Server {
    /// Starts `example-s3s-server --listen 127.0.0.1:0 ARGS…` and waits for
    /// its `listening on http://…` line.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, stdout_rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let first = stdout_rx.recv_timeout(TIMEOUT);
        let addr = match first {
            Ok(first) => first
                .strip_prefix("listening on http://")
                .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
                .to_owned(),
            Err(_) => {
                let _ = child.kill();
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!("no address line; stderr:\n{stderr}");
            }
        };
        Self {
            child,
            addr,
            stdout: stdout_rx,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` lines printed after the address line.
    pub fn next_lines(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| self.stdout.recv_timeout(TIMEOUT).expect("another line"))
            .collect()
    }

    /// Stops it with `SIGTERM` and waits for it to exit.
    pub fn stop(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `request` to this server (whatever its `Host` header says).
    pub fn send(&self, request: Request) -> Response {
        request.send(&self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with `args` to completion.
pub fn run_to_exit(args: &[&str]) -> (ExitStatus, String, String) {
    let output = Command::new(BINARY)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// An HTTP/1.1 request, sent on a fresh connection.
pub struct Request {
    method: String,
    target: String,
    host: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A request for `target` (path and query, or a whole `http://` URL whose
/// authority becomes the `Host` header).
pub fn request(method: &str, target: &str) -> Request {
    let (host, target) = match target.strip_prefix("http://") {
        Some(rest) => {
            let slash = rest.find('/').unwrap_or(rest.len());
            (Some(rest[..slash].to_owned()), rest[slash..].to_owned())
        }
        None => (None, target.to_owned()),
    };
    Request {
        method: method.to_owned(),
        target,
        host,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// A browser's preflight for `method` from `origin`.
pub fn preflight(target: &str, origin: &str, method: &str) -> Request {
    request("OPTIONS", target)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
}

impl Request {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the `Host` header (default: the server's address).
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self
    }

    pub fn send(&self, addr: &str) -> Response {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.method,
            self.target,
            self.host.as_deref().unwrap_or(addr),
            self.body.len()
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&self.body).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read the response");
        Response::parse(&raw)
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Names lower-case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8]) -> Self {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head");
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut body = raw[end + 4..].to_vec();
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        if chunked {
            body = dechunk(&body);
        }
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn has_cors_headers(&self) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.starts_with("access-control-"))
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
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
        let message = "python3 with boto3 not found (pip install boto3)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{message}: required under CI=true"
        );
        eprintln!("SKIPPED: {message}");
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
