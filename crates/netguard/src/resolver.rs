//! Name resolution, behind a trait so tests never touch real DNS.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

/// A boxed, sendable future: the return type of [`Resolver`] and
/// [`Connector`](crate::Connector) methods (object-safe async without a macro crate).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Turns a host name into the addresses the guard will check and connect to.
///
/// The guard calls it exactly once per connection and connects only to what
/// it returned, so a resolver that answers differently next time (DNS
/// rebinding) cannot sneak an unchecked address in.
pub trait Resolver: Send + Sync + 'static {
    /// All addresses of `host`, with `port` filled in. An error or an empty
    /// list makes the connection [`Unresolvable`](crate::BlockReason::Unresolvable).
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>>;
}

/// The operating system's resolver (`getaddrinfo` via [`tokio::net::lookup_host`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// A fixed name → addresses table for tests, recording every lookup.
///
/// Names are matched case-insensitively without a trailing dot; unknown
/// names fail with [`io::ErrorKind::NotFound`]. Clones share the table and
/// the record, so a test can keep one and hand the other to the guard.
#[derive(Debug, Clone, Default)]
pub struct StubResolver {
    inner: Arc<Mutex<StubInner>>,
}

#[derive(Debug, Default)]
struct StubInner {
    table: HashMap<String, Vec<IpAddr>>,
    lookups: Vec<String>,
}

impl StubResolver {
    /// An empty table: every name fails to resolve.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `host` → `addrs`; chainable.
    pub fn with(self, host: &str, addrs: &[IpAddr]) -> Self {
        self.set(host, addrs);
        self
    }

    /// Sets `host` → `addrs`, e.g. to simulate a DNS change between connections.
    pub fn set(&self, host: &str, addrs: &[IpAddr]) {
        self.lock().table.insert(key(host), addrs.to_vec());
    }

    /// Every host looked up so far, in order.
    pub fn lookups(&self) -> Vec<String> {
        self.lock().lookups.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StubInner> {
        // A panicking test thread must not hide the record from the others.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn key(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

impl Resolver for StubResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        let mut inner = self.lock();
        inner.lookups.push(host.to_owned());
        let found = inner.table.get(&key(host)).cloned();
        drop(inner);
        Box::pin(async move {
            match found {
                Some(ips) => Ok(ips
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect()),
                None => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("stub resolver: no entry for {host}"),
                )),
            }
        })
    }
}
