//! Faults of a fleet, as an operator's bad day brings them: a three-member
//! etcd cluster on loopback, three demo instances (each preferring another
//! member: instance `i` lists member `i` first, so its watch is there), a
//! writer streaming `PUT ?cors` at about 20 a second to one instance, and
//! a prober sending preflights for the cached bucket to every instance
//! every few milliseconds. Three faults in turn:
//!
//! 1. the member an instance watches is paused (`SIGSTOP`) for 4 s, then
//!    resumed;
//! 2. the etcd leader is killed while the writer's instance uses it, then
//!    restarted;
//! 3. an instance is killed (`SIGKILL`) and started again.
//!
//! After each: no acknowledged write is lost or reordered (the history of
//! the key, read from etcd's own watch, has every acknowledged document,
//! in the order they were written, and nothing written after it was
//! overtaken by an older one); every instance converges to the last
//! acknowledged document; preflights for the cached bucket never failed on
//! a running instance; the paused member cost at most 3 s of staleness;
//! the instances' logs said what happened. The figures (acknowledged
//! writes, 503s, convergence) are printed.
//!
//! Needs `etcd` (Debian: etcd-server); without it the test is skipped with a
//! loud message, except under `CI=true`.

#![cfg(feature = "etcd")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::too_many_lines
)]

mod common;

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Server, preflight, request, start};
use futures_core::Stream as _;
use tower_s3_cors::store::{Change, CorsStore};
use tower_s3_cors_etcd::{EtcdConfig, EtcdStore};
use tower_s3_cors_test_support::etcd::Etcd;
use tower_s3_cors_test_support::say;

const PREFIX: &str = "faults";
const APP: &str = "https://app.example";
/// The pause between two writes: about 20 a second.
const WRITE_EVERY: Duration = Duration::from_millis(50);
/// The pause between two rounds of preflights over the instances.
const PROBE_EVERY: Duration = Duration::from_millis(5);
/// How long anything that must happen may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);
/// The store's promise for a hung member under a watch.
const STALENESS_BOUND: Duration = Duration::from_secs(3);

/// Document `n`: allows `PUT` from [`APP`] with `Access-Control-Max-Age: n`,
/// so that a preflight says which document an instance serves.
fn document(n: u32) -> String {
    format!(r#"[{{"AllowedOrigins": ["{APP}"], "AllowedMethods": ["PUT"], "MaxAgeSeconds": {n}}}]"#)
}

fn number(text: &str) -> u32 {
    text.split("\"MaxAgeSeconds\": ")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches("}]").parse().ok())
        .unwrap_or_else(|| panic!("not a test document: {text}"))
}

/// What an instance answers to a preflight for the cached bucket: the
/// document it serves, or the failure.
fn served(addr: &str) -> Result<u32, String> {
    let response = preflight("/photos/a", APP, "PUT")
        .try_send(addr)
        .map_err(|e| format!("no answer: {e}"))?;
    match response.status {
        200 => response
            .header("access-control-max-age")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("200 without max-age: {:?}", response.headers)),
        status => Err(format!("{status}: {}", response.text())),
    }
}

/// One preflight's outcome.
struct Probe {
    at: Instant,
    instance: usize,
    outcome: Result<u32, String>,
}

/// One write's outcome.
struct Write {
    n: u32,
    sent: Instant,
    answered: Instant,
    status: u16,
}

/// The fleet: etcd, the instances (`None` while one is down) and their
/// arguments.
struct Fleet {
    etcd: Etcd,
    instances: Vec<Option<Server>>,
    args: Vec<Vec<String>>,
    /// The instances' addresses, for the prober (`None` while down).
    addrs: Arc<Mutex<Vec<Option<String>>>>,
    /// The next document number.
    next: u32,
}

impl Fleet {
    fn start(etcd: Etcd) -> Self {
        let endpoints = etcd.endpoints();
        let args: Vec<Vec<String>> = (0..3)
            .map(|i| {
                // Instance i lists member i first: its watch opens there.
                let members: Vec<&str> = (0..3).map(|k| endpoints[(i + k) % 3].as_str()).collect();
                vec![
                    "--store".to_owned(),
                    format!("etcd://{}/{PREFIX}", members.join(",")),
                    "--bucket".to_owned(),
                    "photos".to_owned(),
                ]
            })
            .collect();
        let instances: Vec<Option<Server>> = args.iter().map(|a| Some(start(&strs(a)))).collect();
        let addrs = instances
            .iter()
            .map(|s| s.as_ref().map(|s| s.addr.clone()))
            .collect();
        Self {
            etcd,
            instances,
            args,
            addrs: Arc::new(Mutex::new(addrs)),
            next: 1,
        }
    }

    fn instance(&self, i: usize) -> &Server {
        self.instances[i].as_ref().expect("the instance runs")
    }

    /// Writes the next document on instance `writer` until it is
    /// acknowledged (a `503` is retried with the same document, as the
    /// README says to); returns its number.
    fn write_acknowledged(&mut self, writer: usize) -> u32 {
        let n = self.next;
        self.next += 1;
        let started = Instant::now();
        loop {
            let status = self
                .instance(writer)
                .send(request("PUT", "/photos?cors").body(document(n)))
                .status;
            match status {
                200 => return n,
                503 => assert!(started.elapsed() < PATIENCE, "no write acknowledged"),
                other => panic!("PUT ?cors answered {other}"),
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until every instance serves document `n`; how long it took.
    fn converge(&self, n: u32) -> Duration {
        let started = Instant::now();
        for i in 0..3 {
            loop {
                let now = served(&self.instance(i).addr);
                if now == Ok(n) {
                    break;
                }
                assert!(
                    started.elapsed() < PATIENCE,
                    "instance {i} serves {now:?}, not document {n}"
                );
                thread::sleep(Duration::from_millis(1));
            }
        }
        started.elapsed()
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// What ran beside a fault: the writes and the probes.
struct Traffic {
    stop: Arc<AtomicBool>,
    writer: thread::JoinHandle<(Vec<Write>, u32)>,
    prober: thread::JoinHandle<Vec<Probe>>,
}

/// Starts writing documents `first..` to `addr` every [`WRITE_EVERY`], and
/// probing every running instance every [`PROBE_EVERY`].
fn start_traffic(fleet: &Fleet, writer: usize, first: u32) -> Traffic {
    let stop = Arc::new(AtomicBool::new(false));
    let addr = fleet.instance(writer).addr.clone();
    let writing = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut writes = Vec::new();
            let mut n = first;
            while !stop.load(Ordering::SeqCst) {
                let sent = Instant::now();
                let status = request("PUT", "/photos?cors")
                    .body(document(n))
                    .send(&addr)
                    .status;
                writes.push(Write {
                    n,
                    sent,
                    answered: Instant::now(),
                    status,
                });
                n += 1;
                thread::sleep(WRITE_EVERY);
            }
            (writes, n)
        })
    };
    let probing = {
        let stop = Arc::clone(&stop);
        let addrs = Arc::clone(&fleet.addrs);
        thread::spawn(move || {
            let mut probes = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let now: Vec<Option<String>> = addrs.lock().unwrap().clone();
                for (instance, addr) in now.iter().enumerate() {
                    let Some(addr) = addr else { continue };
                    let outcome = served(addr);
                    // An instance being killed this very moment is not a
                    // failed read: it is not running.
                    let still_up = addrs.lock().unwrap()[instance].is_some();
                    if outcome.is_ok() || still_up {
                        probes.push(Probe {
                            at: Instant::now(),
                            instance,
                            outcome,
                        });
                    }
                }
                thread::sleep(PROBE_EVERY);
            }
            probes
        })
    };
    Traffic {
        stop,
        writer: writing,
        prober: probing,
    }
}

impl Traffic {
    fn stop(self) -> (Vec<Write>, u32, Vec<Probe>) {
        self.stop.store(true, Ordering::SeqCst);
        let (writes, next) = self.writer.join().unwrap();
        let probes = self.prober.join().unwrap();
        (writes, next, probes)
    }
}

/// Every document etcd held, in revision order, from a watch of the test's
/// own (on every member) that runs through the whole test.
struct History {
    seen: Arc<Mutex<Vec<u32>>>,
    _runtime: tokio::runtime::Runtime,
}

impl History {
    fn start(etcd: &Etcd) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let store = runtime
            .block_on(EtcdStore::connect(
                EtcdConfig::new(etcd.endpoints()).prefix(PREFIX),
            ))
            .unwrap();
        runtime.block_on(store.get("photos")).unwrap();
        let mut changes = Box::pin(store.changes().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        runtime.spawn(async move {
            let _store = store;
            while let Some(change) = poll_fn(|cx| changes.as_mut().poll_next(cx)).await {
                if let Change::Put { text, .. } = change {
                    record.lock().unwrap().push(number(&text));
                }
            }
        });
        Self {
            seen,
            _runtime: runtime,
        }
    }

    /// Waits until `n` is in the history; the history then.
    fn until(&self, n: u32) -> Vec<u32> {
        let started = Instant::now();
        loop {
            let seen = self.seen.lock().unwrap().clone();
            if seen.contains(&n) {
                return seen;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{n} never reached etcd's history"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The checks and figures of one fault.
fn check(
    fault: &str,
    history: &History,
    writes: &[Write],
    probes: &[Probe],
    last: u32,
    converged: Duration,
) -> String {
    let seen = history.until(last);
    // In order: each document etcd took came after the ones before it.
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "{fault}: etcd's history is out of order: {seen:?}"
    );
    // Nothing acknowledged is lost.
    let acknowledged: Vec<u32> = writes
        .iter()
        .filter(|w| w.status == 200)
        .map(|w| w.n)
        .collect();
    for n in &acknowledged {
        assert!(
            seen.contains(n),
            "{fault}: acknowledged write {n} is lost: {seen:?}"
        );
    }
    let unavailable: Vec<&Write> = writes.iter().filter(|w| w.status == 503).collect();
    let others: Vec<(u32, u16)> = writes
        .iter()
        .filter(|w| w.status != 200 && w.status != 503)
        .map(|w| (w.n, w.status))
        .collect();
    assert!(others.is_empty(), "{fault}: writes answered {others:?}");
    let applied_late = unavailable.iter().filter(|w| seen.contains(&w.n)).count();
    // Reads of the cached bucket never failed on a running instance.
    let failed: Vec<&Probe> = probes.iter().filter(|p| p.outcome.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{fault}: preflights failed: {:?}",
        failed
            .iter()
            .take(5)
            .map(|p| (p.instance, &p.outcome))
            .collect::<Vec<_>>()
    );
    let slowest = writes
        .iter()
        .filter(|w| w.status == 200)
        .map(|w| w.answered - w.sent)
        .max()
        .unwrap_or_default();
    format!(
        "{fault}: {} writes, {} acknowledged (slowest {slowest:.2?}), {} answered 503 ({applied_late} of \
         them applied by etcd later, in order); {} preflights, none failed; all three instances \
         served the last acknowledged document {converged:.1?} after it was acknowledged",
        writes.len(),
        acknowledged.len(),
        unavailable.len(),
        probes.len()
    )
}

#[test]
fn a_fleet_rides_out_a_killed_leader_a_killed_instance_and_a_paused_member() {
    let Some(etcd) = Etcd::builder()
        .members(3)
        .start_or_skip("the fleet's fault tests")
    else {
        return;
    };
    let started = Instant::now();
    let history = History::start(&etcd);
    let mut fleet = Fleet::start(etcd);
    let first = fleet.write_acknowledged(0);
    fleet.converge(first);
    let mut report = Vec::new();

    // 1. The member an instance watches is paused for 4 s: a follower, so
    //    that the cluster keeps its leader; the writer's instance lists
    //    another member first. (First, while instance i still watches
    //    member i: the faults below move watches.)
    let leader = fleet.etcd.wait_for_leader();
    let paused = (leader + 1) % 3;
    let watching = paused;
    let writer = (paused + 1) % 3;
    let traffic = start_traffic(&fleet, writer, fleet.next);
    thread::sleep(Duration::from_secs(1));
    fleet.etcd.pause(paused);
    let paused_at = Instant::now();
    thread::sleep(Duration::from_secs(4));
    fleet.etcd.resume(paused);
    thread::sleep(Duration::from_millis(1000));
    let (writes, next, probes) = traffic.stop();
    fleet.next = next;
    let last = fleet.write_acknowledged(writer);
    let converged = fleet.converge(last);
    // Staleness on the watching instance: for each write acknowledged
    // while the member was paused, how long until that instance served it
    // (or a later one).
    let staleness = writes
        .iter()
        .filter(|w| w.status == 200 && w.answered >= paused_at)
        .filter_map(|w| {
            probes
                .iter()
                .find(|p| {
                    p.instance == watching
                        && p.at >= w.answered
                        && p.outcome.as_ref().is_ok_and(|&n| n >= w.n)
                })
                .map(|p| p.at - w.answered)
        })
        .max()
        .unwrap_or_default();
    report.push(format!(
        "{}; the watching instance's staleness: at most {staleness:.2?}",
        check(
            &format!("member {paused} (watched by instance {watching}) paused for 4 s"),
            &history,
            &writes,
            &probes,
            last,
            converged,
        )
    ));
    assert!(
        staleness <= STALENESS_BOUND,
        "a paused member cost {staleness:?} of staleness (the bound is {STALENESS_BOUND:?})"
    );
    // The watching instance said what happened.
    let watcher_log = fleet.instances[watching].as_mut().unwrap().stderr();
    let paused_member = fleet.etcd.member_endpoint(paused);
    for said in [
        "etcd change stream lost",
        "may be stale",
        "open again",
        paused_member.as_str(),
    ] {
        assert!(
            watcher_log.contains(said),
            "instance {watching} did not say {said:?}:\n{watcher_log}"
        );
    }
    let mut logs = vec![watcher_log];

    // 2. The leader is killed while the writer's instance uses it (the
    //    instance that lists it first, unless the pause above moved that
    //    instance's preference: a resumed member may have won the next
    //    election), then restarted.
    let leader = fleet.etcd.wait_for_leader();
    let writer = if leader == paused {
        (leader + 1) % 3
    } else {
        leader
    };
    let traffic = start_traffic(&fleet, writer, fleet.next);
    thread::sleep(Duration::from_secs(1));
    fleet.etcd.kill(leader).unwrap();
    let killed = Instant::now();
    thread::sleep(Duration::from_millis(2500));
    fleet.etcd.restart_member(leader).unwrap();
    let back = killed.elapsed();
    thread::sleep(Duration::from_millis(1500));
    let (writes, next, probes) = traffic.stop();
    fleet.next = next;
    let last = fleet.write_acknowledged(writer);
    let converged = fleet.converge(last);
    let new_leader = fleet.etcd.wait_for_leader();

    report.push(check(
        &format!(
            "leader (member {leader}) killed under the writer's instance, restarted 2.5 s later \
             (healthy again {back:.1?} after the kill; leader now member {new_leader})"
        ),
        &history,
        &writes,
        &probes,
        last,
        converged,
    ));

    // 3. An instance is killed and started again; the writer goes on on
    //    another one.
    let victim = (writer + 1) % 3;
    let writer = (writer + 2) % 3;
    let traffic = start_traffic(&fleet, writer, fleet.next);
    thread::sleep(Duration::from_secs(1));
    fleet.addrs.lock().unwrap()[victim] = None;
    let mut server = fleet.instances[victim].take().unwrap();
    server.signal("KILL");
    let _ = server.wait_for_exit();
    logs.push(server.stderr());
    thread::sleep(Duration::from_millis(1500));
    // The latest document etcd holds when the instance starts: its first
    // answer must be that one or a later one.
    let latest_before = history
        .seen
        .lock()
        .unwrap()
        .last()
        .copied()
        .unwrap_or_default();
    let respawned = Instant::now();
    let server = start(&strs(&fleet.args[victim]));
    let listening = respawned.elapsed();
    let first_answer = served(&server.addr);
    let answered = respawned.elapsed();
    fleet.addrs.lock().unwrap()[victim] = Some(server.addr.clone());
    fleet.instances[victim] = Some(server);
    thread::sleep(Duration::from_millis(1000));
    let (writes, next, probes) = traffic.stop();
    fleet.next = next;
    let last = fleet.write_acknowledged(writer);
    let converged = fleet.converge(last);
    let first_answer = first_answer.unwrap();
    assert!(
        first_answer >= latest_before,
        "the restarted instance served document {first_answer}, etcd had {latest_before}"
    );
    report.push(format!(
        "{}; the restarted instance listened {listening:.0?} after it was started and its first \
         preflight ({answered:.0?} after start) served document {first_answer} (etcd held \
         {latest_before} when it started)",
        check(
            &format!("instance {victim} killed (SIGKILL) and started again"),
            &history,
            &writes,
            &probes,
            last,
            converged,
        )
    ));

    // What the instances said: a member that failed came back.
    for server in fleet.instances.iter_mut().flatten() {
        assert!(server.stop().success());
        logs.push(server.stderr());
    }
    let all = logs.join("\n");
    assert!(
        all.contains("answers again"),
        "no member came back in the logs:\n{all}"
    );
    say(&format!(
        "fleet faults (three etcd members, three instances; {:.1?} in all):\n  {}",
        started.elapsed(),
        report.join("\n  ")
    ));
}
