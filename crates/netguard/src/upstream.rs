//! Chaining to an upstream proxy: parsing its URL and the three small
//! client handshakes (HTTP CONNECT with Basic auth, SOCKS5 with RFC 1929
//! user/password, SOCKS4).
//!
//! Hand-rolled rather than `tokio-socks`: each handshake is a few dozen
//! lines, we need the HTTP CONNECT client anyway, we always hand the
//! upstream an address (never a name), and we want our own bounded reads and
//! error categories (auth rejected vs refused vs protocol) for the 502 the
//! client gets.

use std::io;
use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::head::{HeadError, read_head};
use crate::policy::Upstream;

/// Upstream proxy protocols the guard speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http,
    Socks5,
    Socks4,
}

/// A validated [`Upstream`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct UpstreamConfig {
    /// Which handshake to speak.
    pub protocol: Protocol,
    /// The proxy's host (name or address).
    pub host: url::Host<String>,
    /// The proxy's port (80 for http, 1080 for SOCKS when unspecified).
    pub port: u16,
    /// From the field, else from the URL (percent-decoded).
    pub username: Option<String>,
    /// From the field, else from the URL (percent-decoded).
    pub password: Option<String>,
    /// See [`Upstream::trusted`].
    pub trusted: bool,
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("protocol", &self.protocol)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("auth", &self.username.is_some())
            .field("trusted", &self.trusted)
            .finish()
    }
}

impl UpstreamConfig {
    /// Validates `upstream`; errors are [`io::ErrorKind::InvalidInput`] and
    /// never quote credentials.
    pub fn parse(upstream: &Upstream) -> io::Result<Self> {
        let invalid = |msg: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("upstream proxy: {msg}"),
            )
        };
        let url = url::Url::parse(&upstream.url).map_err(|_| invalid("not a URL"))?;
        let (protocol, default_port) = match url.scheme() {
            "http" => (Protocol::Http, 80),
            // We always send an address, so "resolve remotely" has nothing to do.
            "socks5" | "socks5h" => (Protocol::Socks5, 1080),
            "socks4" | "socks4a" => (Protocol::Socks4, 1080),
            "https" => {
                return Err(invalid(
                    "https:// proxies are not supported (use http:// or socks5://)",
                ));
            }
            _ => return Err(invalid("scheme must be http, socks5 or socks4")),
        };
        // socks5:// is not a "special" scheme to the URL parser, so its host
        // comes back opaque (`127.0.0.1` as a domain): parse it as a host.
        let host = match url.host().ok_or_else(|| invalid("no host"))? {
            url::Host::Domain(d) => url::Host::parse(d).map_err(|_| invalid("bad host"))?,
            other => other.to_owned(),
        };
        let port = url.port().unwrap_or(default_port);
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let username = upstream
            .username
            .clone()
            .or_else(|| Some(decode(url.username())).filter(|u| !u.is_empty()));
        let password = upstream
            .password
            .clone()
            .or_else(|| url.password().map(decode));
        match protocol {
            Protocol::Socks5 => {
                // RFC 1929 length bytes.
                if username
                    .as_ref()
                    .is_some_and(|u| u.is_empty() || u.len() > 255)
                    || password.as_ref().is_some_and(|p| p.len() > 255)
                {
                    return Err(invalid(
                        "SOCKS5 user name and password must be 1..=255 bytes",
                    ));
                }
                if password.is_some() && username.is_none() {
                    return Err(invalid("SOCKS5 password without user name"));
                }
            }
            Protocol::Socks4 if password.is_some() => {
                return Err(invalid("SOCKS4 has no password (only a user id)"));
            }
            Protocol::Socks4 | Protocol::Http => {}
        }
        Ok(Self {
            protocol,
            host,
            port,
            username,
            password,
            trusted: upstream.trusted,
        })
    }

    /// The upstream's host as text, for logs and refusal records.
    pub fn host_string(&self) -> String {
        match &self.host {
            url::Host::Domain(d) => d.clone(),
            url::Host::Ipv4(v4) => v4.to_string(),
            url::Host::Ipv6(v6) => v6.to_string(),
        }
    }
}

/// How an upstream handshake failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    #[error("upstream proxy rejected the credentials")]
    AuthRejected,
    #[error("upstream proxy refused the connection: {0}")]
    Refused(String),
    #[error("upstream proxy spoke an unexpected protocol: {0}")]
    Protocol(String),
    #[error("upstream proxy I/O failed: {0}")]
    Io(#[from] io::Error),
}

impl UpstreamError {
    /// The `X-Wayfarer-Error` value for this failure.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AuthRejected => "upstream_auth_failed",
            Self::Refused(_) => "upstream_refused",
            Self::Protocol(_) => "upstream_protocol",
            Self::Io(_) => "upstream_io",
        }
    }
}

/// Asks the upstream on `stream` to connect to `dest`. Returns bytes the
/// upstream sent past its answer (to relay to the client), normally none.
pub(crate) async fn handshake<S>(
    stream: &mut S,
    cfg: &UpstreamConfig,
    dest: SocketAddr,
) -> Result<Vec<u8>, UpstreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match cfg.protocol {
        Protocol::Http => http_connect(stream, cfg, dest).await,
        Protocol::Socks5 => socks5_connect(stream, cfg, dest).await.map(|()| Vec::new()),
        Protocol::Socks4 => socks4_connect(stream, cfg, dest).await.map(|()| Vec::new()),
    }
}

async fn http_connect<S>(
    stream: &mut S,
    cfg: &UpstreamConfig,
    dest: SocketAddr,
) -> Result<Vec<u8>, UpstreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // SocketAddr's Display brackets IPv6, as an authority needs.
    let mut req = format!("CONNECT {dest} HTTP/1.1\r\nHost: {dest}\r\n");
    if let Some(user) = &cfg.username {
        let pass = cfg.password.as_deref().unwrap_or_default();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    let raw = read_head(stream).await.map_err(|e| match e {
        HeadError::Io(io) => UpstreamError::Io(io),
        other => UpstreamError::Protocol(other.to_string()),
    })?;
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(&raw.head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => {
            return Err(UpstreamError::Protocol(
                "unparsable CONNECT answer".to_owned(),
            ));
        }
    }
    match resp.code {
        Some(200..=299) => Ok(raw.rest),
        Some(407) => Err(UpstreamError::AuthRejected),
        Some(code) => Err(UpstreamError::Refused(format!("HTTP {code}"))),
        None => Err(UpstreamError::Protocol("no status code".to_owned())),
    }
}

async fn socks5_connect<S>(
    stream: &mut S,
    cfg: &UpstreamConfig,
    dest: SocketAddr,
) -> Result<(), UpstreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    const NO_AUTH: u8 = 0x00;
    const USER_PASS: u8 = 0x02;
    // Offer user/password only when we have it; offer "none" too so an open
    // upstream still works.
    let greeting: &[u8] = if cfg.username.is_some() {
        &[5, 2, NO_AUTH, USER_PASS]
    } else {
        &[5, 1, NO_AUTH]
    };
    stream.write_all(greeting).await?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await?;
    if choice[0] != 5 {
        return Err(UpstreamError::Protocol(format!(
            "SOCKS version {}",
            choice[0]
        )));
    }
    match choice[1] {
        NO_AUTH => {}
        USER_PASS => {
            let (Some(user), pass) = (&cfg.username, cfg.password.as_deref().unwrap_or_default())
            else {
                return Err(UpstreamError::AuthRejected);
            };
            // Lengths were checked to fit a byte by UpstreamConfig::parse.
            let (ulen, plen) = (u8::try_from(user.len()), u8::try_from(pass.len()));
            let (Ok(ulen), Ok(plen)) = (ulen, plen) else {
                return Err(UpstreamError::AuthRejected);
            };
            let mut msg = Vec::with_capacity(3 + user.len() + pass.len());
            msg.push(1);
            msg.push(ulen);
            msg.extend_from_slice(user.as_bytes());
            msg.push(plen);
            msg.extend_from_slice(pass.as_bytes());
            stream.write_all(&msg).await?;
            let mut status = [0u8; 2];
            stream.read_exact(&mut status).await?;
            if status[1] != 0 {
                return Err(UpstreamError::AuthRejected);
            }
        }
        // 0xFF: none of our methods is acceptable — it wants credentials we lack.
        0xff => return Err(UpstreamError::AuthRejected),
        other => {
            return Err(UpstreamError::Protocol(format!(
                "SOCKS5 method {other:#04x}"
            )));
        }
    }

    let mut req = vec![5, 1, 0];
    match dest.ip() {
        IpAddr::V4(v4) => {
            req.push(1);
            req.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            req.push(4);
            req.extend_from_slice(&v6.octets());
        }
    }
    req.extend_from_slice(&dest.port().to_be_bytes());
    stream.write_all(&req).await?;

    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).await?;
    if reply[0] != 5 {
        return Err(UpstreamError::Protocol(format!(
            "SOCKS version {}",
            reply[0]
        )));
    }
    if reply[1] != 0 {
        return Err(UpstreamError::Refused(
            socks5_reply_text(reply[1]).to_owned(),
        ));
    }
    // Skip the bound address: we do not need it.
    let addr_len = match reply[3] {
        1 => 4,
        4 => 16,
        3 => {
            let mut len = [0u8; 1];
            stream.read_exact(&mut len).await?;
            usize::from(len[0])
        }
        other => {
            return Err(UpstreamError::Protocol(format!(
                "SOCKS5 address type {other}"
            )));
        }
    };
    let mut skip = [0u8; 255 + 2];
    stream.read_exact(&mut skip[..addr_len + 2]).await?;
    Ok(())
}

fn socks5_reply_text(code: u8) -> &'static str {
    match code {
        1 => "general failure",
        2 => "not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown error",
    }
}

async fn socks4_connect<S>(
    stream: &mut S,
    cfg: &UpstreamConfig,
    dest: SocketAddr,
) -> Result<(), UpstreamError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let IpAddr::V4(v4) = dest.ip() else {
        return Err(UpstreamError::Refused(
            "SOCKS4 cannot reach IPv6 addresses".to_owned(),
        ));
    };
    let mut req = vec![4, 1];
    req.extend_from_slice(&dest.port().to_be_bytes());
    req.extend_from_slice(&v4.octets());
    req.extend_from_slice(cfg.username.as_deref().unwrap_or_default().as_bytes());
    req.push(0);
    stream.write_all(&req).await?;
    let mut reply = [0u8; 8];
    stream.read_exact(&mut reply).await?;
    match reply[1] {
        0x5a => Ok(()),
        // 0x5c/0x5d: identd checks of the user id failed.
        0x5c | 0x5d => Err(UpstreamError::AuthRejected),
        _ => Err(UpstreamError::Refused("SOCKS4 request rejected".to_owned())),
    }
}
