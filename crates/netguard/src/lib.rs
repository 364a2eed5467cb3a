//! The network guard of spec §3: a forward HTTP proxy on 127.0.0.1 that every
//! browser context is routed through, so every connection a page makes is
//! checked by the address it actually goes to.
//!
//! - [`NetGuard::start`] binds a guard and returns its [`GuardHandle`]
//!   (`proxy_server()` for Chromium, `blocked()` for the record,
//!   `set_policy()` per task).
//! - It serves `CONNECT host:port` tunnels (HTTPS, WSS) and absolute-form
//!   plain HTTP (`GET http://host/…`, WebSocket upgrades included).
//! - For each connection: avoidDomains on the name first ([`host_avoided`],
//!   no DNS lookup for avoided hosts), then one resolution through the
//!   [`Resolver`], then [`classify`] on *every* address, then a connection to
//!   those same addresses through the [`Connector`] — never re-resolved, so
//!   DNS rebinding cannot slip past the check.
//! - A refusal is `403` with `X-Wayfarer-Blocked: <reason>` ([`BlockReason`]).
//! - A [`GuardPolicy::upstream`] proxy (HTTP with Basic auth, SOCKS5 with
//!   user/password, SOCKS4) is chained *behind* the checks; see [`Upstream`]
//!   for the tradeoff of resolving locally.

#![warn(missing_docs)]

mod address;
mod connector;
mod domains;
mod guard;
mod head;
mod policy;
mod proxy;
mod relay;
mod reply;
mod resolver;
mod upstream;

pub use address::classify;
pub use connector::{Connector, TcpConnector};
pub use domains::host_avoided;
pub use guard::{GuardHandle, NetGuard};
pub use policy::{BlockReason, Blocked, GuardPolicy, Upstream};
pub use reply::{BLOCKED_HEADER, ERROR_HEADER};
pub use resolver::{BoxFuture, Resolver, StubResolver, SystemResolver};
