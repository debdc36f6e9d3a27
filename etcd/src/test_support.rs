//! A real etcd for tests: [`EtcdServer`] starts Debian's `etcd` (package
//! `etcd-server`) on free loopback ports with a fresh data directory, stops
//! and restarts it on the same ports and data, and kills it when dropped,
//! also when a test panics. [`TcpProxy`] cuts one client off from it while
//! the others go on.
//!
//! For the tests of this crate and of servers built on it (feature
//! `test-support`, as a dev-dependency). Not a stable API.
//!
//! Without an `etcd` binary, [`EtcdServer::start_or_skip`] skips the test
//! with a loud message, except under `CI=true`, where that is a failure.
//! `$ETCD` names the binary; otherwise `etcd` is looked up on `PATH`.
//!
//! ```no_run
//! use tower_s3_cors_etcd::EtcdStore;
//! use tower_s3_cors_etcd::test_support::EtcdServer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let Some(mut etcd) = EtcdServer::start_or_skip("my test") else {
//!     return Ok(());
//! };
//! let store = EtcdStore::connect(etcd.config()).await?;
//! etcd.stop()?;      // as in a crash (SIGKILL)
//! etcd.restart()?;   // same ports, same data
//! # Ok(())
//! # }
//! ```

use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::EtcdConfig;

/// The environment variable that names the `etcd` binary.
pub const ETCD_ENV: &str = "ETCD";

/// How long etcd may take to become healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Whether this run is a CI run (`CI=true` or `CI=1`): a missing etcd is
/// then an error, never a reason to skip.
#[must_use]
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The etcd binary: `$ETCD` if set, else `etcd` on `PATH`.
#[must_use]
pub fn find_etcd() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os(ETCD_ENV) {
        let path = PathBuf::from(explicit);
        return is_executable(&path).then_some(path);
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .map(|dir| dir.join("etcd"))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The etcd binary to test with; `None`, after a loud message on stderr,
/// when there is none and this is not CI.
///
/// # Panics
///
/// Under CI (`CI=true`) when there is no etcd.
#[must_use]
pub fn require_etcd(test: &str) -> Option<PathBuf> {
    if let Some(path) = find_etcd() {
        return Some(path);
    }
    let message = format!(
        "no etcd binary (set ${ETCD_ENV} or put `etcd` on PATH; Debian: apt-get install etcd-server)"
    );
    assert!(
        !is_ci(),
        "CI=true and {message}: the etcd tests cannot be skipped in CI"
    );
    // Straight to the process's stderr: libtest captures `eprintln!` of a
    // passing test, and a skip must not go unnoticed.
    let bar = "#".repeat(72);
    let mut stderr = io::stderr().lock();
    let _ = writeln!(
        stderr,
        "\n{bar}\n# SKIPPED: {test} did not run against a real etcd:\n# {message}\n\
         # (under CI=true this is a failure)\n{bar}\n"
    );
    None
}

/// A running single-member etcd on `127.0.0.1`, with its own data directory
/// under the system temporary directory.
///
/// Dropping it kills etcd and removes the directory; when the thread is
/// panicking it first prints the end of etcd's log.
#[derive(Debug)]
pub struct EtcdServer {
    binary: PathBuf,
    args: Vec<String>,
    client_port: u16,
    peer_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl EtcdServer {
    /// Starts an etcd for `test` (named in the skip message), or skips the
    /// test: see [`require_etcd`].
    ///
    /// # Panics
    ///
    /// Under CI when there is no etcd, and whenever etcd does not start.
    #[must_use]
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let binary = require_etcd(test)?;
        match Self::start(&binary) {
            Ok(server) => Some(server),
            Err(error) => panic!("could not start {}: {error}", binary.display()),
        }
    }

    /// Starts `binary` and waits until it is healthy.
    ///
    /// # Errors
    ///
    /// When it cannot be started, exits, or is not healthy within 20 s
    /// (with the end of its log).
    pub fn start(binary: &Path) -> io::Result<Self> {
        Self::start_with_args(binary, &[])
    }

    /// As [`start`](Self::start), with more command-line arguments for etcd
    /// (`--auto-compaction-retention=…`, `--max-request-bytes=…`).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_with_args(binary: &Path, args: &[&str]) -> io::Result<Self> {
        let dir = fresh_dir()?;
        let mut server = Self {
            binary: binary.to_owned(),
            args: args.iter().map(|&a| a.to_owned()).collect(),
            client_port: 0,
            peer_port: 0,
            dir,
            child: None,
        };
        // Free ports are found by binding and releasing them: another
        // process may take one in between, so try a few times.
        let mut attempts = 0;
        loop {
            server.client_port = free_port()?;
            server.peer_port = free_port()?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(error) if attempts >= 2 => return Err(error),
                Err(_) => {
                    attempts += 1;
                    let _ = fs::remove_dir_all(server.dir.join("data"));
                }
            }
        }
    }

    /// The client endpoint, `127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// An `etcd://` URL of this server with `prefix`.
    #[must_use]
    pub fn url(&self, prefix: &str) -> String {
        format!("etcd://127.0.0.1:{}/{prefix}", self.client_port)
    }

    /// A configuration for this server (default prefix and timeouts).
    #[must_use]
    pub fn config(&self) -> EtcdConfig {
        EtcdConfig::new([self.endpoint()])
    }

    /// The client port.
    #[must_use]
    pub fn client_port(&self) -> u16 {
        self.client_port
    }

    /// The directory of etcd's data (`data/`) and log (`etcd.log`).
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether etcd is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Kills etcd (SIGKILL, as in a crash) and waits for it to exit. Its
    /// data stays for [`restart`](Self::restart). Stopping a stopped
    /// server does nothing.
    ///
    /// # Errors
    ///
    /// When etcd cannot be killed or waited for.
    pub fn stop(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts etcd again on the same ports with the same data, and waits
    /// until it is healthy.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start); when it is running already.
    pub fn restart(&mut self) -> io::Result<()> {
        if self.is_running() {
            return Err(io::Error::other("etcd is running already"));
        }
        self.spawn()
    }

    /// Starts etcd again on the same ports with an empty data directory,
    /// as an etcd that lost its data (or was replaced) would: revisions
    /// start again from 1. Stops it first if it runs.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start); when the old data cannot be removed.
    pub fn restart_with_fresh_data(&mut self) -> io::Result<()> {
        self.stop()?;
        fs::remove_dir_all(self.dir.join("data"))?;
        self.spawn()
    }

    /// The last `lines` lines of etcd's log.
    #[must_use]
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
        let skip = log.lines().count().saturating_sub(lines);
        log.lines().skip(skip).collect::<Vec<_>>().join("\n")
    }

    fn spawn(&mut self) -> io::Result<()> {
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("etcd.log"))?;
        let child = Command::new(&self.binary)
            .arg("--name=test")
            .arg(format!("--data-dir={}", self.dir.join("data").display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=test={peer}"))
            .arg("--initial-cluster-state=new")
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(io::Error::other(format!(
                    "etcd exited ({status}):\n{}",
                    self.log_tail(20)
                )));
            }
            if healthy(self.client_port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.stop();
                return Err(io::Error::other(format!(
                    "etcd not healthy within {READY_TIMEOUT:?}:\n{}",
                    self.log_tail(20)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut stderr = io::stderr().lock();
            let _ = writeln!(
                stderr,
                "--- end of the log of etcd on port {} ---\n{}",
                self.client_port,
                self.log_tail(30)
            );
        }
        let _ = self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Whether etcd on `port` answers its `/health` with `true`.
fn healthy(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let request = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.take(64 * 1024).read_to_string(&mut answer);
    answer.contains(r#""health":"true""#)
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn fresh_dir() -> io::Result<PathBuf> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "tower-s3-cors-etcd-{}-{}-{nanos}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir)?;
    Ok(dir)
}

/// A TCP proxy on `127.0.0.1` in front of one address, that can cut its
/// connections: to cut one client off from etcd while others go on.
///
/// [`cut`](Self::cut) closes every open connection and closes each new one
/// at once, until [`restore`](Self::restore); [`freeze`](Self::freeze)
/// silences them without closing them, until [`thaw`](Self::thaw). Threads,
/// not tasks: it works with any runtime or none. Dropping it closes
/// everything.
#[derive(Debug)]
pub struct TcpProxy {
    address: SocketAddr,
    shared: Arc<ProxyShared>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct ProxyShared {
    target: SocketAddr,
    cut: AtomicBool,
    frozen: AtomicBool,
    closing: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

impl TcpProxy {
    /// A proxy to `target` (as `127.0.0.1:PORT`, such as
    /// [`EtcdServer::endpoint`]), on a free port.
    ///
    /// # Errors
    ///
    /// When `target` is not a socket address or no port can be bound.
    pub fn start(target: &str) -> io::Result<Self> {
        let target: SocketAddr = target
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let address = listener.local_addr()?;
        let shared = Arc::new(ProxyShared {
            target,
            cut: AtomicBool::new(false),
            frozen: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("tcp-proxy".into())
                .spawn(move || accept(&listener, &shared))?
        };
        Ok(Self {
            address,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The proxy's endpoint, `127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        self.address.to_string()
    }

    /// Closes every connection through the proxy, and each new one at once,
    /// until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        self.shared.close_all();
    }

    /// Lets new connections through again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Stops forwarding without closing anything, as a network cut that
    /// no one is told of: connections stay open and silent (new ones too),
    /// until [`thaw`](Self::thaw) forwards what was held.
    pub fn freeze(&self) {
        self.shared.frozen.store(true, Ordering::SeqCst);
    }

    /// Forwards again, what was held first.
    pub fn thaw(&self) {
        self.shared.frozen.store(false, Ordering::SeqCst);
    }
}

impl ProxyShared {
    fn close_all(&self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        for stream in open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept(listener: &TcpListener, shared: &Arc<ProxyShared>) {
    for incoming in listener.incoming() {
        if shared.closing.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = incoming else { continue };
        if shared.cut.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect_timeout(&shared.target, Duration::from_secs(1)) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (Ok(client_2), Ok(server_2), Ok(client_3), Ok(server_3)) = (
            client.try_clone(),
            server.try_clone(),
            client.try_clone(),
            server.try_clone(),
        ) else {
            continue;
        };
        shared
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend([client_3, server_3]);
        let up = Arc::clone(shared);
        let _ = std::thread::Builder::new()
            .name("tcp-proxy-up".into())
            .spawn(move || pipe(client, server, &up));
        let down = Arc::clone(shared);
        let _ = std::thread::Builder::new()
            .name("tcp-proxy-down".into())
            .spawn(move || pipe(server_2, client_2, &down));
    }
}

/// Copies `from` to `to` until either ends, then closes both ways.
/// While the proxy is frozen, what was read waits before it is written.
fn pipe(mut from: TcpStream, mut to: TcpStream, shared: &ProxyShared) {
    let mut buffer = vec![0; 16 * 1024];
    'copy: loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        while shared.frozen.load(Ordering::SeqCst) {
            if shared.closing.load(Ordering::SeqCst) {
                break 'copy;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let Some(data) = buffer.get(..read) else {
            break;
        };
        if to.write_all(data).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.close_all();
        // Wake the acceptor up so that it sees `closing`.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}
