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
    tls: Option<ServerTls>,
}

/// The files of an etcd that serves its clients over TLS and asks them for
/// a certificate (mutual TLS): `--cert-file`, `--key-file`,
/// `--trusted-ca-file`, `--client-cert-auth`. The client certificate is the
/// one [`Etcd::etcdctl`] uses.
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The authority clients' certificates must be signed by.
    pub ca: PathBuf,
    /// The members' certificate.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
    /// A client certificate for `etcdctl`.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

impl EtcdBuilder {
    /// Sets the number of members (default 1).
    pub fn members(mut self, members: usize) -> Self {
        self.members = members.max(1);
        self
    }

    /// Serves clients over mutual TLS with `tls`'s files (the peers still
    /// speak plain HTTP to each other; `/health` and `/metrics` stay on
    /// plain HTTP ports).
    pub fn server_tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serves clients over mutual TLS with the certificates of `pki`.
    #[cfg(feature = "tls")]
    pub fn tls(self, pki: &crate::tls::Pki) -> Self {
        self.server_tls(ServerTls {
            ca: pki.ca.clone(),
            cert: pki.server.clone(),
            key: pki.server_key.clone(),
            client_cert: pki.client.clone(),
            client_key: pki.client_key.clone(),
        })
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
            tls: self.tls,
            root_password: None,
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
    tls: Option<ServerTls>,
    /// Once [`enable_auth`](Self::enable_auth) ran: the root user's.
    root_password: Option<String>,
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
            tls: None,
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

    /// An `etcd://` URL of every member with `prefix` (`etcds://` over
    /// TLS).
    #[must_use]
    pub fn url(&self, prefix: &str) -> String {
        let scheme = if self.tls.is_some() { "etcds" } else { "etcd" };
        format!("{scheme}://{}/{prefix}", self.endpoints().join(","))
    }

    /// Runs `etcdctl ARGS…` against every running member (over TLS with the
    /// client certificate when etcd has TLS; as root once
    /// [`enable_auth`](Self::enable_auth) ran): its output.
    ///
    /// # Errors
    ///
    /// When there is no `etcdctl` ([`ETCDCTL`](crate::ETCDCTL)) or it
    /// fails (with what it said).
    pub fn etcdctl(&self, args: &[&str]) -> Result<String, String> {
        let binary = crate::ETCDCTL
            .find()
            .ok_or("no etcdctl (Debian: apt-get install etcd-client)")?;
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let endpoints: Vec<String> = (0..self.members.len())
            .filter(|&index| self.member(index).child.is_some())
            .map(|index| format!("{scheme}://{}", self.member_endpoint(index)))
            .collect();
        let mut command = Command::new(binary);
        command
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", endpoints.join(",")))
            .arg("--dial-timeout=5s")
            .arg("--command-timeout=10s");
        if let Some(tls) = &self.tls {
            command
                .arg(format!("--cacert={}", tls.ca.display()))
                .arg(format!("--cert={}", tls.client_cert.display()))
                .arg(format!("--key={}", tls.client_key.display()));
        }
        if let Some(password) = &self.root_password {
            command.arg(format!("--user=root:{password}"));
        }
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("etcdctl: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "etcdctl {args:?} failed ({}): {stdout}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Adds the user `name` with `password` and, with a `prefix`, a role
    /// of the same name that may read and write the keys under `prefix`
    /// and nothing else (without one, the user may do nothing).
    ///
    /// # Panics
    ///
    /// When `etcdctl` fails.
    pub fn add_user(&self, name: &str, password: &str, prefix: Option<&str>) {
        let run = |args: &[&str]| {
            if let Err(error) = self.etcdctl(args) {
                panic!("{error}");
            }
        };
        run(&[
            "user",
            "add",
            name,
            &format!("--new-user-password={password}"),
            "--interactive=false",
        ]);
        if let Some(prefix) = prefix {
            run(&["role", "add", name]);
            run(&[
                "role",
                "grant-permission",
                name,
                "readwrite",
                prefix,
                "--prefix=true",
            ]);
            run(&["user", "grant-role", name, name]);
        }
    }

    /// Turns etcd's authentication on, with a root user (whose password
    /// only this harness knows): from now on every client must log in as a
    /// user ([`add_user`](Self::add_user)).
    ///
    /// # Panics
    ///
    /// When `etcdctl` fails.
    pub fn enable_auth(&mut self) {
        let password = format!("root-{}", crate::free_port());
        self.add_user("root", &password, None);
        for args in [
            &["user", "grant-role", "root", "root"][..],
            &["auth", "enable"],
        ] {
            if let Err(error) = self.etcdctl(args) {
                panic!("{error}");
            }
        }
        self.root_password = Some(password);
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
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let client = format!("{scheme}://127.0.0.1:{}", member.client_port);
        let peer = format!("http://127.0.0.1:{}", member.peer_port);
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_file(member))?;
        let mut command = Command::new(&self.binary);
        if let Some(tls) = &self.tls {
            command
                .arg(format!("--cert-file={}", tls.cert.display()))
                .arg(format!("--key-file={}", tls.key.display()))
                .arg(format!("--trusted-ca-file={}", tls.ca.display()))
                .arg("--client-cert-auth");
        }
        let child = command
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
