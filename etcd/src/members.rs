//! The etcd members of a store: one client each, and which one to ask
//! first.
//!
//! etcd-client can balance one client over several endpoints, but it keeps
//! sending requests to a member that refuses connections (a quarter of them
//! failed with one of two members down, measured). So the store keeps one
//! client per member, asks the member that answered last, and moves on to
//! the next one when a member cannot be reached.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use etcd_client::{Client, ConnectOptions, KvClient, WatchClient};

use crate::EtcdConfig;
use crate::error::{ConnectError, ConnectErrorKind, TimedOut, is_refusal};

/// The largest message the store takes from etcd: a value (etcd's own
/// limit on a request is 1.5 MiB unless `--max-request-bytes` raises it),
/// or a part of a watch response (etcd splits them at that same limit).
pub(crate) const MAX_MESSAGE: usize = 16 << 20;

/// One client per member.
pub(crate) struct Members {
    members: Vec<Member>,
    /// The member to ask first: the last one that answered.
    preferred: AtomicUsize,
}

struct Member {
    kv: KvClient,
    watch: WatchClient,
}

/// Why a call failed on every member it could try.
pub(crate) enum Failure {
    /// What etcd (or the connection to it) said last.
    Etcd(etcd_client::Error),
    /// No member answered in time.
    TimedOut(TimedOut),
}

impl Members {
    /// Clients for the members of `config`; none of them contacts etcd yet.
    pub(crate) async fn connect(config: &EtcdConfig) -> Result<Self, ConnectError> {
        if config.endpoints().is_empty() {
            return Err(ConnectError::new(
                ConnectErrorKind::Endpoint,
                "no etcd endpoint given",
            ));
        }
        let mut options = ConnectOptions::new().with_connect_timeout(config.connect_timeout);
        if let Some((interval, timeout)) = config.keep_alive {
            options = options.with_keep_alive(interval, timeout);
        }
        let mut members = Vec::with_capacity(config.endpoints().len());
        for endpoint in config.endpoints() {
            let connecting = Client::connect([endpoint], Some(options.clone()));
            // Without credentials this does not wait for etcd; bound it
            // anyway.
            let client = tokio::time::timeout(config.request_timeout, connecting)
                .await
                .map_err(|_| {
                    ConnectError::new(ConnectErrorKind::Endpoint, TimedOut(config.request_timeout))
                })?
                .map_err(|e| ConnectError::new(ConnectErrorKind::Endpoint, e))?;
            members.push(Member {
                kv: client.kv_client().max_decoding_message_size(MAX_MESSAGE),
                watch: client.watch_client().max_decoding_message_size(MAX_MESSAGE),
            });
        }
        Ok(Self {
            members,
            preferred: AtomicUsize::new(0),
        })
    }

    /// Runs `call` on the preferred member, then on the next ones while
    /// they cannot be reached, all within `timeout` (shared evenly by the
    /// members still to try, so that a silent one leaves time for the
    /// others).
    pub(crate) async fn call<T, F, Fut>(&self, timeout: Duration, mut call: F) -> Result<T, Failure>
    where
        F: FnMut(KvClient) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let deadline = Instant::now() + timeout;
        let first = self.preferred.load(Ordering::Relaxed);
        let count = self.members.len();
        let mut failure = Failure::TimedOut(TimedOut(timeout));
        for attempt in 0..count {
            let index = (first + attempt) % count;
            let Some(member) = self.members.get(index) else {
                break;
            };
            let left = u32::try_from(count - attempt).unwrap_or(u32::MAX);
            let budget = deadline.saturating_duration_since(Instant::now()) / left;
            if budget.is_zero() {
                break;
            }
            match tokio::time::timeout(budget, call(member.kv.clone())).await {
                Ok(Ok(answer)) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(answer);
                }
                Ok(Err(error)) if !is_refusal(&error) => {
                    failure = Failure::Etcd(error);
                }
                Ok(Err(error)) => return Err(Failure::Etcd(error)),
                Err(_) => failure = Failure::TimedOut(TimedOut(timeout)),
            }
        }
        Err(failure)
    }

    /// The member a watch should use, and its clients (`None` only for
    /// no members, which `connect` does not make).
    pub(crate) fn for_watch(&self) -> Option<(usize, KvClient, WatchClient)> {
        let index = self.preferred.load(Ordering::Relaxed) % self.members.len().max(1);
        let member = self.members.get(index)?;
        Some((index, member.kv.clone(), member.watch.clone()))
    }

    /// Member `index` could not be reached: prefer the next one (unless
    /// another call moved on already).
    pub(crate) fn failed(&self, index: usize) {
        let next = (index + 1) % self.members.len().max(1);
        let _ = self
            .preferred
            .compare_exchange(index, next, Ordering::Relaxed, Ordering::Relaxed);
    }
}
