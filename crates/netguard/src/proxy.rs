//! One client connection: read the head, check the destination, connect
//! (directly or through the upstream), then relay bytes.
//!
//! The order is the guarantee: avoidDomains on the name, then one
//! resolution, then every resolved address classified, then a connection to
//! those very addresses. Nothing is connected before all checks pass.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::address::classify;
use crate::domains::host_avoided;
use crate::guard::{ActivePolicy, Shared};
use crate::head::{HeadError, ProxyRequest, Target, TargetHost, parse_request, read_head};
use crate::policy::{BlockReason, Blocked};
use crate::relay::{relay_http, tunnel};
use crate::reply::Reply;
use crate::upstream::{UpstreamConfig, UpstreamError, handshake};

/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one name resolution may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take in all: upstream resolution, every TCP
/// attempt and the upstream handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves one client connection to completion.
pub(crate) async fn serve(shared: Arc<Shared>, mut client: TcpStream) {
    let raw = match timeout(HEAD_TIMEOUT, read_head(&mut client)).await {
        Ok(Ok(raw)) => raw,
        Ok(Err(HeadError::TooLarge)) => {
            return Reply::error(431, "head_too_large", "request head too large")
                .send(&mut client)
                .await;
        }
        // The client went away or broke the connection: nobody to answer.
        Ok(Err(HeadError::Closed | HeadError::Io(_))) => return,
        Err(_) => {
            return Reply::error(408, "head_timeout", "request head not received in time")
                .send(&mut client)
                .await;
        }
    };
    let request = match parse_request(&raw.head) {
        Ok(r) => r,
        Err(e) => return Reply::error(400, "bad_request", e).send(&mut client).await,
    };
    let policy = shared.policy();
    let target = request.target().clone();

    let addrs = match check_destination(&shared, &policy, &target).await {
        Ok(addrs) => addrs,
        Err(refusal) => return refuse(&shared, refusal, &mut client).await,
    };

    let opened = match timeout(CONNECT_TIMEOUT, open(&shared, &policy, &addrs)).await {
        Ok(opened) => opened,
        Err(_) => Err(OpenError::Reply(Reply::error(
            504,
            "connect_timeout",
            "connecting took too long",
        ))),
    };
    let (mut server, early) = match opened {
        Ok(ok) => ok,
        Err(OpenError::Blocked(refusal)) => return refuse(&shared, refusal, &mut client).await,
        Err(OpenError::Reply(reply)) => {
            tracing::debug!(host = %target.host.as_string(), status = reply.status(), "network guard: cannot connect");
            return reply.send(&mut client).await;
        }
    };

    match request {
        ProxyRequest::Connect { .. } => {
            let answer = client
                .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                .await;
            if answer.is_err()
                || client.write_all(&early).await.is_err()
                || server.write_all(&raw.rest).await.is_err()
            {
                return;
            }
            tunnel(&mut client, &mut server).await;
        }
        ProxyRequest::Forward { head, .. } => {
            if server.write_all(&head).await.is_err() || server.write_all(&raw.rest).await.is_err()
            {
                return;
            }
            relay_http(&mut client, &mut server, early).await;
        }
    }
}

async fn refuse(shared: &Shared, refusal: Blocked, client: &mut TcpStream) {
    tracing::info!(
        host = %refusal.host, port = refusal.port, reason = %refusal.reason,
        address = ?refusal.address, upstream = refusal.upstream, "network guard refused a connection"
    );
    let reply = Reply::blocked(refusal.reason, &refusal.host);
    shared.record(refusal);
    reply.send(client).await;
}

/// avoidDomains → resolve once → classify every address. Returns the
/// checked addresses, deduplicated, in resolver order.
async fn check_destination(
    shared: &Shared,
    policy: &ActivePolicy,
    target: &Target,
) -> Result<Vec<SocketAddr>, Blocked> {
    let host = target.host.as_string();
    let refusal = |reason, address| Blocked {
        host: host.clone(),
        port: target.port,
        reason,
        address,
        upstream: false,
    };
    // Before DNS: an avoided name must not even be looked up.
    if host_avoided(&host, &policy.policy.avoid_domains) {
        return Err(refusal(BlockReason::AvoidedDomain, None));
    }
    let addrs = match &target.host {
        TargetHost::Ip(ip) => vec![SocketAddr::new(*ip, target.port)],
        TargetHost::Name(name) => resolve(shared, name, target.port)
            .await
            .ok_or_else(|| refusal(BlockReason::Unresolvable, None))?,
    };
    check_addresses(addrs, policy.policy.block_private)
        .map_err(|(reason, ip)| refusal(reason, Some(ip)))
}

async fn resolve(shared: &Shared, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
    match timeout(RESOLVE_TIMEOUT, shared.resolver.resolve(host, port)).await {
        Ok(Ok(addrs)) if !addrs.is_empty() => Some(addrs),
        Ok(Ok(_)) => None,
        Ok(Err(e)) => {
            tracing::debug!(host, error = %e, "network guard: resolution failed");
            None
        }
        Err(_) => None,
    }
}

/// Every address must pass; one bad address refuses the whole name (a
/// client could otherwise be steered to it by a failed first attempt).
/// Reports the most severe reason found.
fn check_addresses(
    addrs: Vec<SocketAddr>,
    block_private: bool,
) -> Result<Vec<SocketAddr>, (BlockReason, IpAddr)> {
    let worst = addrs
        .iter()
        .filter_map(|a| classify(a.ip(), block_private).map(|r| (r, a.ip())))
        .max_by_key(|(r, _)| r.severity());
    if let Some(found) = worst {
        return Err(found);
    }
    let mut unique = Vec::with_capacity(addrs.len());
    for a in addrs {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    Ok(unique)
}

enum OpenError {
    /// The upstream proxy's own address is refused.
    Blocked(Blocked),
    /// Anything else: answered with this gateway error.
    Reply(Reply),
}

/// Connects to one of the checked `addrs`, directly or via the upstream.
async fn open(
    shared: &Shared,
    policy: &ActivePolicy,
    addrs: &[SocketAddr],
) -> Result<(TcpStream, Vec<u8>), OpenError> {
    let Some(upstream) = &policy.upstream else {
        let stream = connect_any(shared, addrs).await.map_err(|e| {
            OpenError::Reply(Reply::error(
                502,
                "connect_failed",
                format!("cannot connect: {e}"),
            ))
        })?;
        return Ok((stream, Vec::new()));
    };
    let proxy_addrs = upstream_addresses(shared, upstream, policy.policy.block_private).await?;
    let mut last = None;
    for &dest in addrs {
        let mut stream = connect_any(shared, &proxy_addrs).await.map_err(|e| {
            OpenError::Reply(Reply::error(
                502,
                "upstream_unreachable",
                format!("cannot reach the upstream proxy: {e}"),
            ))
        })?;
        match handshake(&mut stream, upstream, dest).await {
            Ok(early) => return Ok((stream, early)),
            // Wrong credentials will not improve with the next address.
            Err(e @ UpstreamError::AuthRejected) => {
                return Err(OpenError::Reply(Reply::error(502, e.kind(), e)));
            }
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or_else(|| UpstreamError::Protocol("no address to try".to_owned()));
    Err(OpenError::Reply(Reply::error(502, e.kind(), e)))
}

/// The upstream proxy's addresses, checked like a destination unless it is trusted.
async fn upstream_addresses(
    shared: &Shared,
    upstream: &UpstreamConfig,
    block_private: bool,
) -> Result<Vec<SocketAddr>, OpenError> {
    let addrs = match &upstream.host {
        url::Host::Ipv4(v4) => vec![SocketAddr::new(IpAddr::V4(*v4), upstream.port)],
        url::Host::Ipv6(v6) => vec![SocketAddr::new(IpAddr::V6(*v6), upstream.port)],
        url::Host::Domain(name) => resolve(shared, name, upstream.port).await.ok_or_else(|| {
            OpenError::Reply(Reply::error(
                502,
                "upstream_unresolvable",
                format!("upstream proxy {name} does not resolve"),
            ))
        })?,
    };
    if upstream.trusted {
        return Ok(addrs);
    }
    check_addresses(addrs, block_private).map_err(|(reason, ip)| {
        OpenError::Blocked(Blocked {
            host: upstream.host_string(),
            port: upstream.port,
            reason,
            address: Some(ip),
            upstream: true,
        })
    })
}

/// Tries `addrs` in order; the last error if none connects.
async fn connect_any(shared: &Shared, addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to connect to");
    for &addr in addrs {
        match shared.connector.connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}
