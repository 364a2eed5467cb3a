//! What the guard enforces: the policy, the upstream it chains to, and the
//! reasons it gives when it refuses.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

/// The rules one guard applies to every connection it proxies.
///
/// Replace it at any time with [`GuardHandle::set_policy`](crate::GuardHandle::set_policy);
/// connections already established keep going, new ones see the new policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardPolicy {
    /// Refuse loopback and private ranges too (`--block-private-network`).
    /// Link-local and metadata addresses are refused regardless.
    pub block_private: bool,
    /// Host names refused before any DNS lookup; subdomains match
    /// (see [`host_avoided`](crate::host_avoided)).
    pub avoid_domains: Vec<String>,
    /// A proxy to chain behind the guard (a session's custom proxy).
    pub upstream: Option<Upstream>,
}

/// A proxy the guard forwards through after it has checked the destination.
///
/// The guard still resolves every destination itself, checks the addresses
/// and asks the upstream to connect to the checked *address*, not the name.
/// The tradeoff: the local resolver sees every name the session visits, and
/// geo-aware DNS answers for our location rather than the proxy's. We accept
/// both, because letting the upstream resolve would let a name that resolves
/// to a private address *there* (for an upstream inside our network) slip
/// past the check. TLS still carries the name (SNI) and plain HTTP keeps its
/// `Host` header, so sites see no difference.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Upstream {
    /// `http://host:port`, `socks5://host:port` (`socks5h` is accepted and
    /// means the same here, see above) or `socks4://host:port`. Credentials
    /// may be embedded as `scheme://user:pass@host:port`; the fields below
    /// win when set.
    pub url: String,
    /// User name: HTTP Basic for HTTP, RFC 1929 for SOCKS5, the user id for SOCKS4.
    pub username: Option<String>,
    /// Password (HTTP and SOCKS5 only).
    pub password: Option<String>,
    /// Skip the address check on the upstream proxy itself. Leave it off for
    /// proxies a tenant supplies — otherwise "my proxy is at 10.0.0.5" would
    /// be a way into our network; turn it on for an operator-run proxy on a
    /// private address.
    pub trusted: bool,
}

impl Upstream {
    /// Checks that this names a usable proxy (scheme, host, port) without connecting; the
    /// message never quotes credentials.
    pub fn validate(&self) -> Result<(), String> {
        crate::upstream::UpstreamConfig::parse(self)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl fmt::Debug for Upstream {
    /// Credentials never print, neither the fields nor any embedded in the URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match url::Url::parse(&self.url) {
            Ok(mut u) if u.password().is_some() || !u.username().is_empty() => {
                // Setting these only fails for cannot-be-a-base URLs, which have no credentials.
                let _ = u.set_username("***");
                let _ = u.set_password(None);
                u.to_string()
            }
            Ok(u) => u.to_string(),
            Err(_) => "<unparsable>".to_owned(),
        };
        f.debug_struct("Upstream")
            .field("url", &url)
            .field("username", &self.username.as_ref().map(|_| "***"))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("trusted", &self.trusted)
            .finish()
    }
}

/// Why the guard refused a connection; sent as `X-Wayfarer-Blocked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    /// The host is in the task's avoidDomains (checked before DNS).
    AvoidedDomain,
    /// Link-local or cloud-metadata address: always refused.
    LinkLocal,
    /// Loopback or private address while `block_private` is on.
    PrivateNetwork,
    /// The name did not resolve (or resolved to nothing).
    Unresolvable,
}

impl BlockReason {
    /// The wire spelling, as in the `X-Wayfarer-Blocked` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AvoidedDomain => "avoided_domain",
            Self::LinkLocal => "link_local",
            Self::PrivateNetwork => "private_network",
            Self::Unresolvable => "unresolvable",
        }
    }

    /// Which of two reasons to report when a name's addresses fail for
    /// different reasons: the one that holds regardless of configuration.
    pub(crate) fn severity(self) -> u8 {
        match self {
            Self::AvoidedDomain => 3,
            Self::LinkLocal => 2,
            Self::PrivateNetwork => 1,
            Self::Unresolvable => 0,
        }
    }
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One refused connection, as listed by [`GuardHandle::blocked`](crate::GuardHandle::blocked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocked {
    /// The host as the client asked for it (name or IP literal).
    pub host: String,
    /// The port asked for.
    pub port: u16,
    /// Why it was refused.
    pub reason: BlockReason,
    /// The address that failed the check, when one did (not for avoided or
    /// unresolvable hosts).
    pub address: Option<IpAddr>,
    /// True when what was refused is the upstream proxy itself (an untrusted
    /// upstream pointing at a refused address), not the destination.
    pub upstream: bool,
}
