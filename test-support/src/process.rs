//! An example server as a real process: started with `--listen
//! 127.0.0.1:0`, its address read from its first line (`listening on
//! http://ADDR`), its output kept, killed when dropped (also when the test
//! panics).
//!
//! ```no_run
//! use tower_s3_cors_test_support::http::request;
//! use tower_s3_cors_test_support::process::Server;
//!
//! let mut server = Server::start("target/debug/example-bucket-server", &["--s3-exact"]);
//! assert_eq!(server.send(request("GET", "/demo?cors")).status, 200);
//! assert!(server.stop().success());
//! ```

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::http::{Request, Response, TIMEOUT};

/// A running server; killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `127.0.0.1:PORT`, from the first line of stdout.
    pub addr: String,
    /// The lines printed on stdout after the address line.
    pub stdout: mpsc::Receiver<String>,
    stderr: Output,
}

impl Server {
    /// Starts `binary --listen 127.0.0.1:0 ARGS…` (every example server of
    /// the workspace takes `--listen`) and waits for its `listening on
    /// http://…` line.
    ///
    /// # Panics
    ///
    /// When it cannot be started, or exits or prints something else first
    /// (with what it wrote on stderr).
    #[must_use]
    pub fn start(binary: impl AsRef<OsStr>, args: &[&str]) -> Self {
        let mut command = Command::new(binary);
        command.args(["--listen", "127.0.0.1:0"]).args(args);
        Self::spawn(command)
    }

    /// Starts `command` (its environment as set) and waits for its
    /// `listening on http://…` line.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    #[must_use]
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, stdout_rx) = mpsc::channel();
        // Read stdout and stderr until the server exits, so that it never
        // blocks on (or fails writing to) a full or closed pipe.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Output::collect(child.stderr.take().expect("piped stderr"));
        let mut server = Self {
            child,
            addr: String::new(),
            stdout: stdout_rx,
            stderr,
        };
        match server.stdout.recv_timeout(TIMEOUT) {
            Ok(first) => {
                server.addr = first
                    .strip_prefix("listening on http://")
                    .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
                    .to_owned();
            }
            Err(_) => {
                let status = server.wait_for_exit();
                if status.is_none() {
                    let _ = server.child.kill();
                    let _ = server.child.wait();
                }
                let stderr = server.stderr();
                panic!("no address line; server exited with {status:?}; stderr:\n{stderr}");
            }
        }
        server
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("an address with a port")
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` lines it prints on stdout after the address line.
    ///
    /// # Panics
    ///
    /// When they do not come within [`TIMEOUT`].
    #[must_use]
    pub fn next_lines(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                self.stdout
                    .recv_timeout(TIMEOUT)
                    .expect("another line on stdout")
            })
            .collect()
    }

    /// The process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`TERM`, `KILL`, `STOP`, `CONT`…) with `kill`.
    ///
    /// # Panics
    ///
    /// When `kill` fails.
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// Waits (polling) for the process to exit, at most [`TIMEOUT`].
    pub fn wait_for_exit(&mut self) -> Option<ExitStatus> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it with `SIGTERM` and waits for it to exit.
    ///
    /// # Panics
    ///
    /// When it does not exit within [`TIMEOUT`].
    pub fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_for_exit().expect("the server stops on SIGTERM")
    }

    /// What it wrote on stderr so far (all of it, once it has exited).
    #[must_use]
    pub fn stderr(&mut self) -> String {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            self.stderr.finish();
        }
        self.stderr.text()
    }

    /// Sends one request to it.
    #[must_use]
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

/// Sends `signal` to process `pid` with `kill`.
///
/// # Panics
///
/// When `kill` fails.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// An output pipe read to the end by a thread, kept whole.
#[derive(Debug)]
struct Output {
    text: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Output {
    fn collect(mut pipe: impl std::io::Read + Send + 'static) -> Self {
        let text = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&text);
        let reader = thread::spawn(move || {
            let mut buffer = [0; 8192];
            while let Ok(read @ 1..) = pipe.read(&mut buffer) {
                shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(buffer.get(..read).unwrap_or_default());
            }
        });
        Self {
            text,
            reader: Some(reader),
        }
    }

    /// Waits until everything was read (the writer has exited).
    fn finish(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned()
    }
}

/// Runs `binary ARGS…` to completion (for start-up failures and `--help`):
/// its status, stdout and stderr.
///
/// # Panics
///
/// When it cannot be started or does not exit within [`TIMEOUT`].
#[must_use]
pub fn run_to_exit(binary: impl AsRef<OsStr>, args: &[&str]) -> (ExitStatus, String, String) {
    let mut command = Command::new(binary);
    command.args(args);
    run_command_to_exit(command)
}

/// Runs `command` (its environment as set) to completion: its status,
/// stdout and stderr.
///
/// # Panics
///
/// As [`run_to_exit`].
#[must_use]
pub fn run_command_to_exit(mut command: Command) -> (ExitStatus, String, String) {
    // The program and its arguments only: the environment may hold secrets.
    let shown = format!(
        "{} {:?}",
        command.get_program().to_string_lossy(),
        command.get_args().collect::<Vec<_>>()
    );
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = Output::collect(child.stdout.take().expect("piped stdout"));
    let mut stderr = Output::collect(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} did not exit within {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    stdout.finish();
    stderr.finish();
    (status, stdout.text(), stderr.text())
}
