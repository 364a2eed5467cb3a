//! The running guard: its listener, its shared state and the handle that
//! controls it.

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use crate::connector::{Connector, TcpConnector};
use crate::policy::{Blocked, GuardPolicy};
use crate::proxy::serve;
use crate::resolver::Resolver;
use crate::upstream::UpstreamConfig;

/// Most client connections served at once; further clients wait in the
/// listen backlog (back-pressure rather than unbounded tasks).
const MAX_CONNECTIONS: usize = 1024;
/// Most refusals kept for [`GuardHandle::blocked`]; the oldest go first.
const MAX_BLOCKED: usize = 1000;

/// A policy with its upstream validated once, when it is set.
#[derive(Debug)]
pub(crate) struct ActivePolicy {
    /// The policy as given.
    pub policy: GuardPolicy,
    /// Its upstream, parsed.
    pub upstream: Option<UpstreamConfig>,
}

impl ActivePolicy {
    fn new(policy: GuardPolicy) -> io::Result<Self> {
        let upstream = policy
            .upstream
            .as_ref()
            .map(UpstreamConfig::parse)
            .transpose()?;
        Ok(Self { policy, upstream })
    }
}

/// State every connection task shares with the handle.
pub(crate) struct Shared {
    policy: RwLock<Arc<ActivePolicy>>,
    blocked: Mutex<VecDeque<Blocked>>,
    /// Resolves destination and upstream names.
    pub resolver: Arc<dyn Resolver>,
    /// Opens every outgoing connection.
    pub connector: Arc<dyn Connector>,
}

impl Shared {
    /// A snapshot: one connection is judged by one policy throughout.
    pub fn policy(&self) -> Arc<ActivePolicy> {
        self.policy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Adds a refusal to the bounded record.
    pub fn record(&self, blocked: Blocked) {
        let mut log = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        if log.len() == MAX_BLOCKED {
            log.pop_front();
        }
        log.push_back(blocked);
    }
}

/// Starts network guards.
#[derive(Debug)]
pub struct NetGuard;

impl NetGuard {
    /// Starts a guard on `127.0.0.1:<free port>` that connects with plain TCP.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] when the policy's upstream
    /// is not a usable proxy URL. Must be called inside a Tokio runtime; the
    /// guard runs until its [`GuardHandle`] is dropped.
    pub async fn start(
        policy: GuardPolicy,
        resolver: Arc<dyn Resolver>,
    ) -> io::Result<GuardHandle> {
        Self::start_with_connector(policy, resolver, Arc::new(TcpConnector)).await
    }

    /// Like [`NetGuard::start`], with a custom [`Connector`] (tests record
    /// connection attempts with one).
    pub async fn start_with_connector(
        policy: GuardPolicy,
        resolver: Arc<dyn Resolver>,
        connector: Arc<dyn Connector>,
    ) -> io::Result<GuardHandle> {
        let policy = ActivePolicy::new(policy)?;
        // Loopback only: the guard is for our own Chromium, never for the network.
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            policy: RwLock::new(Arc::new(policy)),
            blocked: Mutex::new(VecDeque::new()),
            resolver,
            connector,
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        tracing::debug!(%addr, "network guard listening");
        Ok(GuardHandle { addr, shared, task })
    }
}

/// Accepts clients and serves each in its own task. The tasks live in a
/// `JoinSet` owned by this future, so aborting it (dropping the handle) ends
/// every connection too.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _peer)) => {
                // Interactive traffic (TLS handshakes, WebSocket frames): no Nagle delay.
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                tasks.spawn(async move {
                    serve(shared, stream).await;
                    drop(permit);
                });
            }
            Err(e) => {
                // Typically EMFILE: back off instead of spinning on the error.
                tracing::warn!(error = %e, "network guard: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A running guard. Dropping it stops the listener and every connection.
#[derive(Debug)]
pub struct GuardHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("policy", &self.policy())
            .finish_non_exhaustive()
    }
}

impl GuardHandle {
    /// The address the guard listens on (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for Chromium's `proxyServer`: `http://127.0.0.1:PORT`.
    ///
    /// Chromium sends loopback destinations around any proxy by default;
    /// pair this with `proxyBypassList: "<-loopback>"` so they pass the
    /// guard too.
    pub fn proxy_server(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The refusals so far, oldest first (the last 1000).
    pub fn blocked(&self) -> Vec<Blocked> {
        self.shared
            .blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Returns the refusals so far and forgets them (e.g. at the end of a task).
    pub fn take_blocked(&self) -> Vec<Blocked> {
        self.shared
            .blocked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect()
    }

    /// The policy in force.
    pub fn policy(&self) -> GuardPolicy {
        self.shared.policy().policy.clone()
    }

    /// Replaces the policy for new connections (open tunnels are not cut).
    /// Fails with [`io::ErrorKind::InvalidInput`], keeping the old policy,
    /// when the upstream is not a usable proxy URL.
    pub fn set_policy(&self, policy: GuardPolicy) -> io::Result<()> {
        let active = Arc::new(ActivePolicy::new(policy)?);
        *self
            .shared
            .policy
            .write()
            .unwrap_or_else(PoisonError::into_inner) = active;
        Ok(())
    }
}

impl Drop for GuardHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}
