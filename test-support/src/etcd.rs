//! A real etcd for tests: [`Etcd`] starts Debian's `etcd` (package
//! `etcd-server`), one member or a cluster, on free loopback ports with
//! data in a temporary directory; kills, pauses and restarts members (on
//! the same ports, with the same data); and kills every member when dropped,
//! also when a test panics (printing the end of their logs then).
//!
//! Without an `etcd` binary, [`Etcd::start_or_skip`] skips the test with a
//! loud message, except under `CI=true`, where that is a failure. `$ETCD`
//! names the binary; otherwise `etcd` is looked up on `PATH` ([`ETCD`]).
//!
//! ```no_run
//! use tower_s3_cors_test_support::etcd::Etcd;
//!
//! let Some(mut etcd) = Etcd::start_or_skip("my test") else { return };
//! let url = etcd.url("fleet"); // etcd://127.0.0.1:PORT/fleet
//! etcd.stop().unwrap(); // as in a crash (SIGKILL)
//! etcd.restart().unwrap(); // same ports, same data
//!
//! let Some(mut cluster) = Etcd::builder().members(3).start_or_skip("my fault test") else { return };
//! let leader = cluster.wait_for_leader();
//! cluster.kill(leader).unwrap();
//! cluster.restart_member(leader).unwrap();
//! ```

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::process::send_signal;
use crate::{ETCD, free_port, say, temp_dir};

/// How long etcd may take to become healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start an [`Etcd`]: how many members, and what more to tell them.
#[derive(Clone, Debug)]
#[must_use]
pub struct EtcdBuilder {
    members: usize,
    args: Vec<String>,
}

impl EtcdBuilder {
    /// Sets the number of members (default 1).
    pub fn members(mut self, members: usize) -> Self {
        self.members = members.max(1);
        self
    }

    /// Adds a command-line argument for every member
    /// (`--auto-compaction-retention=…`, `--max-request-bytes=…`).
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Starts it for `test` (named in the skip message), or skips the
    /// test when there is no etcd (see [`ETCD`]).
    ///
    /// # Panics
    ///
    /// Under CI when there is no etcd, and whenever etcd does not start.
    #[must_use]
    pub fn start_or_skip(self, test: &str) -> Option<Etcd> {
        let binary = ETCD.require(test)?;
        match self.start(&binary) {
            Ok(etcd) => Some(etcd),
            Err(error) => panic!("could not start {}: {error}", binary.display()),
        }
    }

    /// Starts `binary` and waits until every member is healthy.
    ///
    /// # Errors
    ///
    /// When it cannot be started, exits, or is not healthy within 30 s
    /// (with the end of its log).
    pub fn start(self, binary: &Path) -> io::Result<Etcd> {
        let mut etcd = Etcd {
            binary: binary.to_owned(),
            args: self.args,
            members: Vec::new(),
            dir: temp_dir("etcd"),
        };
        // Free ports are found by binding and releasing them: another
        // process may take one in between, so try a few times.
        let mut attempt = 0;
        loop {
            etcd.members = (0..self.members)
                .map(|index| Member {
                    name: format!("m{index}"),
                    client_port: free_port(),
                    peer_port: free_port(),
                    metrics_port: free_port(),
                    child: None,
                })
                .collect();
            match etcd.spawn_all() {
                Ok(()) => return Ok(etcd),
                Err(error) if attempt >= 2 => return Err(error),
                Err(_) => {
                    attempt += 1;
                    etcd.kill_all();
                    for member in &etcd.members {
                        let _ = fs::remove_dir_all(etcd.data_dir(member));
                    }
                }
            }
        }
    }
}

/// A running etcd on `127.0.0.1`: one member, or a cluster.
///
/// Each member has a client port (the endpoints), a peer port and a plain
/// HTTP metrics port (its `/health` and `/metrics`). Dropping it kills
/// every member and removes their data; when the thread is panicking it
/// first prints the end of each member's log.
#[derive(Debug)]
pub struct Etcd {
    binary: PathBuf,
    args: Vec<String>,
    members: Vec<Member>,
    dir: TempDir,
}

#[derive(Debug)]
struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    metrics_port: u16,
    child: Option<Child>,
}

impl Etcd {
    /// A builder: one member by default.
    pub fn builder() -> EtcdBuilder {
        EtcdBuilder {
            members: 1,
            args: Vec::new(),
        }
    }

    /// Starts a single-member etcd for `test`, or skips the test: see
    /// [`EtcdBuilder::start_or_skip`].
    ///
    /// # Panics
    ///
    /// As [`EtcdBuilder::start_or_skip`].
    #[must_use]
    pub fn start_or_skip(test: &str) -> Option<Self> {
        Self::builder().start_or_skip(test)
    }

    /// The number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Never: an etcd has at least one member.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The first member's client endpoint, `127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        self.member_endpoint(0)
    }

    /// Member `index`'s client endpoint, `127.0.0.1:PORT`.
    ///
    /// # Panics
    ///
    /// When there is no such member.
    #[must_use]
    pub fn member_endpoint(&self, index: usize) -> String {
        format!("127.0.0.1:{}", self.member(index).client_port)
    }

    /// Every member's client endpoint.
    #[must_use]
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len())
            .map(|index| self.member_endpoint(index))
            .collect()
    }

    /// An `etcd://` URL of every member with `prefix`.
    #[must_use]
    pub fn url(&self, prefix: &str) -> String {
        format!("etcd://{}/{prefix}", self.endpoints().join(","))
    }

    /// The directory of the members' data (`{name}.data/`) and logs
    /// (`{name}.log`).
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether member `index` runs (paused or not).
    pub fn is_running(&mut self, index: usize) -> bool {
        self.member_mut(index)
            .child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The process id of member `index`, if it runs.
    #[must_use]
    pub fn pid(&self, index: usize) -> Option<u32> {
        self.member(index).child.as_ref().map(Child::id)
    }

    /// Kills every member (SIGKILL, as in a crash) and waits for them to
    /// exit. Their data stays for [`restart`](Self::restart).
    ///
    /// # Errors
    ///
    /// When a member cannot be killed or waited for.
    pub fn stop(&mut self) -> io::Result<()> {
        for index in 0..self.members.len() {
            self.kill(index)?;
        }
        Ok(())
    }

    /// Starts every stopped member again, on the same ports with the same
    /// data, and waits until every member is healthy.
    ///
    /// # Errors
    ///
    /// As [`EtcdBuilder::start`]; when no member was stopped.
    pub fn restart(&mut self) -> io::Result<()> {
        let stopped: Vec<usize> = (0..self.members.len())
            .filter(|&index| !self.is_running(index))
            .collect();
        if stopped.is_empty() {
            return Err(io::Error::other("etcd is running already"));
        }
        for &index in &stopped {
            self.spawn_member(index)?;
        }
        self.wait_healthy(&stopped)
    }

    /// Kills member `index` (SIGKILL) and waits for it to exit; its data
    /// stays. Killing a stopped member does nothing.
    ///
    /// # Errors
    ///
    /// When it cannot be killed or waited for.
    pub fn kill(&mut self, index: usize) -> io::Result<()> {
        if let Some(mut child) = self.member_mut(index).child.take() {
            // A paused process dies of SIGKILL too.
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts member `index` again on its ports with its data, and waits
    /// until it is healthy (it has a leader).
    ///
    /// # Errors
    ///
    /// As [`EtcdBuilder::start`]; when it runs already.
    pub fn restart_member(&mut self, index: usize) -> io::Result<()> {
        if self.is_running(index) {
            return Err(io::Error::other(format!("member {index} is running")));
        }
        self.spawn_member(index)?;
        self.wait_healthy(&[index])
    }

    /// Pauses member `index` (SIGSTOP): it keeps its connections open and
    /// answers nothing, as a hung process would.
    ///
    /// # Panics
    ///
    /// When it does not run, or `kill` fails.
    pub fn pause(&self, index: usize) {
        send_signal(self.pid(index).expect("the member runs"), "STOP");
    }

    /// Resumes member `index` after [`pause`](Self::pause) (SIGCONT).
    ///
    /// # Panics
    ///
    /// When it does not run, or `kill` fails.
    pub fn resume(&self, index: usize) {
        send_signal(self.pid(index).expect("the member runs"), "CONT");
    }

    /// Starts a single-member etcd again on the same ports with an empty
    /// data directory, as an etcd that lost its data (or was replaced)
    /// would: revisions start again from 1. Stops it first if it runs.
    ///
    /// # Errors
    ///
    /// As [`EtcdBuilder::start`]; for a cluster; when the old data cannot
    /// be removed.
    pub fn restart_with_fresh_data(&mut self) -> io::Result<()> {
        if self.members.len() != 1 {
            return Err(io::Error::other("only a single member can lose its data"));
        }
        self.stop()?;
        fs::remove_dir_all(self.data_dir(self.member(0)))?;
        self.restart()
    }

    /// The member that is the leader now, asked of each running member's
    /// metrics (`etcd_server_is_leader`); `None` when none says so (an
    /// election, or no quorum). Do not ask while a member is paused: its
    /// answer would only time out.
    #[must_use]
    pub fn leader(&self) -> Option<usize> {
        (0..self.members.len()).find(|&index| {
            self.member(index).child.is_some()
                && http_get(self.member(index).metrics_port, "/metrics")
                    .is_some_and(|metrics| metrics.lines().any(|l| l == "etcd_server_is_leader 1"))
        })
    }

    /// Waits for a leader and returns it.
    ///
    /// # Panics
    ///
    /// When there is none within 30 s.
    #[must_use]
    pub fn wait_for_leader(&self) -> usize {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(leader) = self.leader() {
                return leader;
            }
            assert!(
                Instant::now() < deadline,
                "no etcd leader within {READY_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last `lines` lines of member `index`'s log.
    #[must_use]
    pub fn log_tail(&self, index: usize, lines: usize) -> String {
        let log = fs::read_to_string(self.log_file(self.member(index))).unwrap_or_default();
        let skip = log.lines().count().saturating_sub(lines);
        log.lines().skip(skip).collect::<Vec<_>>().join("\n")
    }

    fn member(&self, index: usize) -> &Member {
        self.members
            .get(index)
            .unwrap_or_else(|| panic!("etcd has no member {index}"))
    }

    fn member_mut(&mut self, index: usize) -> &mut Member {
        self.members
            .get_mut(index)
            .unwrap_or_else(|| panic!("etcd has no member {index}"))
    }

    fn data_dir(&self, member: &Member) -> PathBuf {
        self.dir.path().join(format!("{}.data", member.name))
    }

    fn log_file(&self, member: &Member) -> PathBuf {
        self.dir.path().join(format!("{}.log", member.name))
    }

    fn kill_all(&mut self) {
        for index in 0..self.members.len() {
            let _ = self.kill(index);
        }
    }

    /// Starts every member, then waits until all are healthy (a cluster's
    /// members must all start before any has a leader).
    fn spawn_all(&mut self) -> io::Result<()> {
        for index in 0..self.members.len() {
            self.spawn_member(index)?;
        }
        let all: Vec<usize> = (0..self.members.len()).collect();
        self.wait_healthy(&all)
    }

    fn spawn_member(&mut self, index: usize) -> io::Result<()> {
        let mut cluster = String::new();
        for member in &self.members {
            let separator = if cluster.is_empty() { "" } else { "," };
            let _ = write!(
                cluster,
                "{separator}{}=http://127.0.0.1:{}",
                member.name, member.peer_port
            );
        }
        let member = self.member(index);
        let client = format!("http://127.0.0.1:{}", member.client_port);
        let peer = format!("http://127.0.0.1:{}", member.peer_port);
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_file(member))?;
        let child = Command::new(&self.binary)
            .arg(format!("--name={}", member.name))
            .arg(format!("--data-dir={}", self.data_dir(member).display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!(
                "--listen-metrics-urls=http://127.0.0.1:{}",
                member.metrics_port
            ))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster={cluster}"))
            .arg("--initial-cluster-state=new")
            .arg("--initial-cluster-token=tower-s3-cors-test")
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.member_mut(index).child = Some(child);
        Ok(())
    }

    /// Waits until the members `indexes` answer `/health` with `true`.
    fn wait_healthy(&mut self, indexes: &[usize]) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        for &index in indexes {
            loop {
                let member = self.member_mut(index);
                if let Some(status) = member
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    member.child = None;
                    return Err(io::Error::other(format!(
                        "etcd member {index} exited ({status}):\n{}",
                        self.log_tail(index, 20)
                    )));
                }
                let healthy = http_get(self.member(index).metrics_port, "/health")
                    .is_some_and(|answer| answer.contains(r#""health":"true""#));
                if healthy {
                    break;
                }
                if Instant::now() > deadline {
                    let tail = self.log_tail(index, 20);
                    self.kill_all();
                    return Err(io::Error::other(format!(
                        "etcd member {index} not healthy within {READY_TIMEOUT:?}:\n{tail}"
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for (index, member) in self.members.iter().enumerate() {
                say(&format!(
                    "--- end of the log of etcd member {index} (client port {}) ---\n{}",
                    member.client_port,
                    self.log_tail(index, 30)
                ));
            }
        }
        self.kill_all();
    }
}

/// The body of `GET path` on `127.0.0.1:port` (HTTP/1.0), if it answers
/// within a second.
fn http_get(port: u16, path: &str) -> Option<String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    let _ = stream.take(4 << 20).read_to_string(&mut answer);
    Some(answer)
}
