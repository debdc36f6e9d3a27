//! The etcd members of a store: one client each, which one to ask first,
//! logging in, and which members are known to be down.
//!
//! etcd-client can balance one client over several endpoints, but it keeps
//! sending requests to a member that refuses connections (a quarter of them
//! failed with one of two members down, measured). So the store keeps one
//! client per member, asks the member that answered last, and moves on to
//! the next one when a member fails; when every member failed and time is
//! left (an election takes about a second), it goes round again.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use etcd_client::{
    Certificate, Client, ConnectOptions, GetOptions, Identity, KvClient, TlsOptions, WatchClient,
};
use tokio::runtime::Handle;

use crate::diagnose::Diagnosis;
use crate::error::{ConnectError, ConnectErrorKind};
use crate::{EtcdConfig, EtcdError, EtcdErrorKind, EtcdTls, Password};

/// The largest message the store takes from etcd: a value (etcd's own
/// limit on a request is 1.5 MiB unless `--max-request-bytes` raises it),
/// or a part of a watch response (etcd splits them at that same limit).
pub(crate) const MAX_MESSAGE: usize = 16 << 20;

/// The pause before another round over members that all failed: doubled
/// each round, up to [`MAX_ROUND_PAUSE`].
const ROUND_PAUSE: Duration = Duration::from_millis(50);
const MAX_ROUND_PAUSE: Duration = Duration::from_millis(400);

/// How often a member known to be down is asked whether it is back.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// One client per member.
pub(crate) struct Members {
    members: Vec<Member>,
    /// The member to ask first: the last one that answered.
    preferred: AtomicUsize,
    credentials: Option<(String, Password)>,
    tls: Option<EtcdTls>,
    connect_timeout: Duration,
    /// The key prefix: what a probe asks about (a user limited to it may).
    prefix: String,
    runtime: Handle,
    /// Closed when the store's last handle is dropped (ends the probes).
    alive: tokio::sync::watch::Receiver<()>,
}

struct Member {
    endpoint: String,
    /// For logging in: the clients below share its credentials and token.
    client: Client,
    kv: KvClient,
    watch: WatchClient,
    /// With credentials: whether this member's client holds a token.
    logged_in: tokio::sync::Mutex<bool>,
    health: Arc<Health>,
}

/// Whether a member is known to be down, and since when.
struct Health {
    endpoint: String,
    down: Mutex<Option<Instant>>,
    /// The last look at why its TLS connection closed: when, and the
    /// failure found (see [`crate::diagnose`]).
    diagnosis: Mutex<Option<(Instant, Diagnosis)>>,
}

impl Health {
    /// Marks it down; whether it was up.
    fn fail(&self) -> bool {
        let mut down = self.down.lock().unwrap_or_else(PoisonError::into_inner);
        let was_up = down.is_none();
        if was_up {
            *down = Some(Instant::now());
        }
        was_up
    }

    /// Marks it up; if it was down, says it is back.
    fn answered(&self) {
        let since = self
            .down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(since) = since {
            tracing::info!(
                "etcd member {} answers again ({:.1?} after it failed)",
                self.endpoint,
                since.elapsed()
            );
        }
    }

    fn is_down(&self) -> bool {
        self.down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

impl Members {
    /// Clients for the members of `config`; none of them contacts etcd yet.
    pub(crate) async fn connect(
        config: &EtcdConfig,
        runtime: Handle,
        alive: tokio::sync::watch::Receiver<()>,
    ) -> Result<Self, ConnectError> {
        if config.endpoints().is_empty() {
            return Err(ConnectError::new(
                ConnectErrorKind::Endpoint,
                "no etcd endpoint given",
            ));
        }
        let options = connect_options(config)?;
        let mut members = Vec::with_capacity(config.endpoints().len());
        for endpoint in config.endpoints() {
            // Without credentials in the options this does not wait for
            // etcd (the store logs in on first use); bound it anyway.
            let connecting = Client::connect([endpoint], Some(options.clone()));
            let client = tokio::time::timeout(config.request_timeout, connecting)
                .await
                .map_err(|_| {
                    ConnectError::new(
                        ConnectErrorKind::Endpoint,
                        EtcdError::timed_out(Some(endpoint), config.request_timeout),
                    )
                })?
                .map_err(|e| {
                    let kind = if endpoint.starts_with("https://") {
                        ConnectErrorKind::Tls
                    } else {
                        ConnectErrorKind::Endpoint
                    };
                    ConnectError::new(kind, format!("{endpoint}: {e}"))
                })?;
            members.push(Member {
                endpoint: endpoint.clone(),
                kv: client.kv_client().max_decoding_message_size(MAX_MESSAGE),
                watch: client.watch_client().max_decoding_message_size(MAX_MESSAGE),
                client,
                logged_in: tokio::sync::Mutex::new(false),
                health: Arc::new(Health {
                    endpoint: endpoint.clone(),
                    down: Mutex::new(None),
                    diagnosis: Mutex::new(None),
                }),
            });
        }
        Ok(Self {
            members,
            preferred: AtomicUsize::new(0),
            credentials: config.user.clone(),
            tls: config.tls.clone(),
            connect_timeout: config.connect_timeout,
            prefix: config.key_prefix().to_owned(),
            runtime,
            alive,
        })
    }

    /// The number of members.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// Member `index`'s endpoint.
    pub(crate) fn endpoint(&self, index: usize) -> &str {
        self.members.get(index).map_or("", |m| m.endpoint.as_str())
    }

    /// Runs `call` on the preferred member, then on the next ones while
    /// they fail, within `timeout` (shared evenly by the members still to
    /// try in a round, so that a silent one leaves time for the others).
    /// When a member said it has no leader or did not answer in its share
    /// (an election), it goes round again after a short pause while time is
    /// left; when every member refuses connections, it fails at once.
    /// A request etcd refuses as invalid or not permitted is not tried
    /// elsewhere.
    ///
    /// The same request may so reach several members: only idempotent
    /// calls and writes guarded by a revision belong here.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        timeout: Duration,
        mut call: F,
    ) -> Result<T, EtcdError>
    where
        F: FnMut(KvClient) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let deadline = Instant::now() + timeout;
        let count = self.members.len();
        let mut failure: Option<EtcdError> = None;
        let mut pause = ROUND_PAUSE;
        loop {
            // Whether a member said it has no leader (an election, a lost
            // quorum) or did not answer in its share of the time (a member
            // that forwards to a leader that just died waits for the
            // election): then going round again may help; when every
            // member refused the connection, it would only wait.
            let mut may_pass = false;
            let first = self.preferred.load(Ordering::Relaxed);
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
                let attempt = async {
                    self.log_in(member).await?;
                    call(member.kv.clone())
                        .await
                        .map_err(|e| EtcdError::from_client(e, &member.endpoint))
                };
                let error = match tokio::time::timeout(budget, attempt).await {
                    Ok(Ok(answer)) => {
                        self.preferred.store(index, Ordering::Relaxed);
                        self.answered(index);
                        return Ok(answer);
                    }
                    Ok(Err(error)) => self.explain(index, error).await,
                    Err(_) => EtcdError::timed_out(Some(&member.endpoint), budget),
                };
                let kind = error.kind();
                if matches!(
                    kind,
                    EtcdErrorKind::Invalid | EtcdErrorKind::PermissionDenied
                ) {
                    return Err(error);
                }
                may_pass |= matches!(kind, EtcdErrorKind::NoQuorum | EtcdErrorKind::TimedOut);
                self.failed(index, &error);
                failure = Some(most_telling(failure, error));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !may_pass || left <= pause {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_ROUND_PAUSE);
        }
        Err(failure.unwrap_or_else(|| EtcdError::timed_out(None, timeout)))
    }

    /// `error` of member `index`, or what it hides: when a member reached
    /// over TLS closed the connection, the TLS failure that made it (a
    /// refused client certificate), found by [`crate::diagnose`] at most
    /// once a second per member.
    pub(crate) async fn explain(&self, index: usize, error: EtcdError) -> EtcdError {
        let (Some(tls), Some(member)) = (&self.tls, self.members.get(index)) else {
            return error;
        };
        if error.kind() != EtcdErrorKind::Unreachable {
            return error;
        }
        let recent = member
            .health
            .diagnosis
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .filter(|(at, _)| at.elapsed() < Duration::from_secs(1));
        let found = match recent {
            Some((_, found)) => found,
            None => {
                let (endpoint, tls) = (member.endpoint.clone(), tls.clone());
                let timeout = self.connect_timeout;
                let found = tokio::task::spawn_blocking(move || {
                    crate::diagnose::tls_failure(&endpoint, &tls, timeout)
                })
                .await
                .ok()
                .flatten();
                *member
                    .health
                    .diagnosis
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) =
                    Some((Instant::now(), found.clone()));
                found
            }
        };
        match found {
            Some((kind, why)) => EtcdError::new(kind, Some(&member.endpoint)).with_detail(why),
            None => error,
        }
    }

    /// Logs member `member`'s client in, unless the store has no
    /// credentials or it is logged in already. (etcd-client then renews
    /// the token by itself when etcd says it expired.)
    async fn log_in(&self, member: &Member) -> Result<(), EtcdError> {
        let Some((user, password)) = &self.credentials else {
            return Ok(());
        };
        let mut logged_in = member.logged_in.lock().await;
        if *logged_in {
            return Ok(());
        }
        let mut client = member.client.clone();
        client
            .update_user(Some((user.clone(), password.0.clone())))
            .await
            .map_err(|e| EtcdError::from_client(e, &member.endpoint))?;
        *logged_in = true;
        Ok(())
    }

    /// The member to ask first (a watch opens there).
    pub(crate) fn preferred(&self) -> usize {
        self.preferred.load(Ordering::Relaxed) % self.members.len().max(1)
    }

    /// Member `index`'s clients for a watch, logged in first.
    pub(crate) async fn watch_clients(
        &self,
        index: usize,
    ) -> Result<(KvClient, WatchClient), EtcdError> {
        let member = self
            .members
            .get(index)
            .ok_or_else(|| EtcdError::new(EtcdErrorKind::Other, None))?;
        self.log_in(member).await?;
        Ok((member.kv.clone(), member.watch.clone()))
    }

    /// Member `index` failed (`error`): prefer the next one (unless another
    /// call moved on already), and remember it is down. The first failure
    /// of a member that was up is logged, and a probe then asks it every
    /// second whether it is back.
    pub(crate) fn failed(&self, index: usize, error: &EtcdError) {
        let next = (index + 1) % self.members.len().max(1);
        let _ = self
            .preferred
            .compare_exchange(index, next, Ordering::Relaxed, Ordering::Relaxed);
        let Some(member) = self.members.get(index) else {
            return;
        };
        if !member.health.fail() {
            tracing::debug!("etcd member still failing: {error}");
            return;
        }
        if self.members.len() > 1 {
            tracing::warn!("{error}; the store uses the other members until it answers again");
        } else {
            tracing::warn!("{error}");
        }
        self.probe(member);
    }

    /// Member `index` answered: if it was down, say it is back.
    pub(crate) fn answered(&self, index: usize) {
        if let Some(member) = self.members.get(index) {
            member.health.answered();
        }
    }

    /// Asks `member` every second whether it is back (a count of the keys
    /// under the prefix), until it answers (then says so), another call
    /// finds it back first, or the store is dropped.
    fn probe(&self, member: &Member) {
        let (client, mut kv) = (member.client.clone(), member.kv.clone());
        let credentials = self.credentials.clone();
        let prefix = self.prefix.clone();
        let health = Arc::clone(&member.health);
        let mut alive = self.alive.clone();
        self.runtime.spawn(async move {
            let probing = async {
                while health.is_down() {
                    tokio::time::sleep(PROBE_EVERY).await;
                    let ask = async {
                        if let Some((user, password)) = &credentials {
                            client
                                .clone()
                                .update_user(Some((user.clone(), password.0.clone())))
                                .await?;
                        }
                        let options = GetOptions::new().with_prefix().with_count_only();
                        kv.get(prefix.as_str(), Some(options)).await
                    };
                    if matches!(tokio::time::timeout(PROBE_EVERY / 2, ask).await, Ok(Ok(_))) {
                        health.answered();
                    }
                }
            };
            tokio::select! {
                _ = alive.changed() => {}
                () = probing => {}
            }
        });
    }
}

/// The error to report of two failures: one of the configuration's (a
/// certificate, credentials) before one that may pass, else the later.
fn most_telling(earlier: Option<EtcdError>, later: EtcdError) -> EtcdError {
    match earlier {
        Some(earlier) if earlier.kind().is_configuration() && !later.kind().is_configuration() => {
            earlier
        }
        _ => later,
    }
}

/// The options of every member's client: timeouts, keep-alive, leader
/// required, TLS, token renewal. Credentials are not among them: with
/// them, etcd-client would log in when the client is made, and the store
/// must start while etcd is down.
fn connect_options(config: &EtcdConfig) -> Result<ConnectOptions, ConnectError> {
    let mut options = ConnectOptions::new()
        .with_connect_timeout(config.connect_timeout)
        // A member cut off from the others answers "no leader" at once
        // rather than serve what may be stale (its watches end too).
        .with_require_leader(true)
        .with_auto_token_refresh(true);
    if let Some((interval, timeout)) = config.keep_alive {
        options = options.with_keep_alive(interval, timeout);
    }
    let https = config
        .endpoints()
        .iter()
        .filter(|e| e.starts_with("https://"))
        .count();
    match &config.tls {
        Some(tls) => {
            if https != config.endpoints().len() {
                return Err(ConnectError::new(
                    ConnectErrorKind::Tls,
                    "with TLS settings every member must be an https:// endpoint",
                ));
            }
            check_certificates("the certificate authority", &tls.ca)?;
            let mut settings = TlsOptions::new()
                .ca_certificate(Certificate::from_pem(&tls.ca))
                .timeout(config.connect_timeout);
            if let Some((cert, key)) = &tls.identity {
                check_certificates("the client certificate", cert)?;
                check_key(key.0.as_bytes())?;
                settings = settings.identity(Identity::from_pem(cert, key.0.as_bytes()));
            }
            options = options.with_tls(settings);
        }
        None if https > 0 => {
            return Err(ConnectError::new(
                ConnectErrorKind::Tls,
                "https:// (etcds://) members need TLS settings: at least the certificate \
                 authority (EtcdConfig::tls)",
            ));
        }
        None => {}
    }
    Ok(options)
}

/// Checks that `pem` holds certificates and nothing unreadable (the TLS
/// library would take an empty list, and every member would then be
/// untrusted, which says less).
fn check_certificates(what: &str, pem: &[u8]) -> Result<(), ConnectError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut count = 0;
    for certificate in CertificateDer::pem_slice_iter(pem) {
        certificate.map_err(|e| {
            ConnectError::new(ConnectErrorKind::Tls, format!("{what} is not PEM: {e}"))
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(ConnectError::new(
            ConnectErrorKind::Tls,
            format!("{what} holds no PEM certificate"),
        ));
    }
    Ok(())
}

/// Checks that `pem` holds a private key (the error never shows the text).
fn check_key(pem: &[u8]) -> Result<(), ConnectError> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject as _;
    PrivateKeyDer::from_pem_slice(pem).map(drop).map_err(|_| {
        ConnectError::new(
            ConnectErrorKind::Tls,
            "the client key is not a PEM private key (PKCS #8, PKCS #1 or SEC1)",
        )
    })
}
