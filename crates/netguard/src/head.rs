//! Reading and understanding one request head from a proxy client, and
//! rewriting a forwarded request into origin form.
//!
//! Heads are read with a hard size cap and parsed by `httparse`; bodies are
//! never parsed — after the head the guard only relays bytes.

use std::net::IpAddr;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest request (or upstream response) head accepted, terminator included.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Most header lines accepted in one head.
const MAX_HEADERS: usize = 128;
const READ_CHUNK: usize = 4096;

/// Why a head could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HeadError {
    #[error("head larger than {MAX_HEAD} bytes")]
    TooLarge,
    #[error("connection closed before the head was complete")]
    Closed,
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A complete head and whatever the peer sent after it in the same reads
/// (a request body, an eager TLS ClientHello) — the latter must be relayed.
#[derive(Debug)]
pub(crate) struct RawHead {
    /// The head, blank line included.
    pub head: Vec<u8>,
    /// Bytes read past the head.
    pub rest: Vec<u8>,
}

/// Reads up to and including the blank line ending a head, at most [`MAX_HEAD`] bytes.
pub(crate) async fn read_head<R: AsyncRead + Unpin>(reader: &mut R) -> Result<RawHead, HeadError> {
    read_head_after(reader, Vec::with_capacity(READ_CHUNK)).await
}

/// Like [`read_head`], for a head whose first bytes (`buf`) were already
/// read along with something else (the tail of an informational response,
/// bytes an upstream sent past its CONNECT answer).
pub(crate) async fn read_head_after<R: AsyncRead + Unpin>(
    reader: &mut R,
    mut buf: Vec<u8>,
) -> Result<RawHead, HeadError> {
    let mut chunk = [0u8; READ_CHUNK];
    let mut searched = 0;
    loop {
        if let Some(pos) = find_terminator(&buf[searched..]) {
            let end = searched + pos + 4;
            if end > MAX_HEAD {
                return Err(HeadError::TooLarge);
            }
            let rest = buf.split_off(end);
            return Ok(RawHead { head: buf, rest });
        }
        if buf.len() > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
        // Only new bytes plus the 3 before them can complete a terminator.
        searched = buf.len().saturating_sub(3);
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find_terminator(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Where a request wants to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Name or address.
    pub host: TargetHost,
    /// Port (80 when an http:// URL names none).
    pub port: u16,
}

/// A destination host: a name to resolve, or an address literal to check as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetHost {
    Name(String),
    Ip(IpAddr),
}

impl TargetHost {
    /// The host as recorded and matched against avoidDomains.
    pub fn as_string(&self) -> String {
        match self {
            Self::Name(n) => n.clone(),
            Self::Ip(ip) => ip.to_string(),
        }
    }

    fn from_url_host<S: AsRef<str>>(host: url::Host<S>) -> Self {
        match host {
            url::Host::Domain(d) => Self::Name(d.as_ref().to_owned()),
            url::Host::Ipv4(v4) => Self::Ip(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Self::Ip(IpAddr::V6(v6)),
        }
    }
}

/// A parsed proxy request.
#[derive(Debug)]
pub(crate) enum ProxyRequest {
    /// `CONNECT host:port`: answer 200, then relay bytes both ways.
    Connect { target: Target },
    /// An absolute-form request: send `head` (already in origin form) to the
    /// target, then relay bytes both ways.
    Forward { target: Target, head: Vec<u8> },
}

impl ProxyRequest {
    /// Where the request wants to go.
    pub fn target(&self) -> &Target {
        match self {
            Self::Connect { target } | Self::Forward { target, .. } => target,
        }
    }
}

/// Why a head is not a request the guard serves; the message goes into a 400.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error("malformed request head")]
    Malformed,
    #[error("too many header lines")]
    TooManyHeaders,
    #[error("this is a proxy: use CONNECT or an absolute http:// URL")]
    NotProxyForm,
    #[error("unsupported scheme {0:?} (only http and ws are forwarded; use CONNECT for TLS)")]
    Scheme(String),
    #[error("bad target {0:?}")]
    BadTarget(String),
}

/// Parses a request head into what the guard must do.
pub(crate) fn parse_request(head: &[u8]) -> Result<ProxyRequest, RequestError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(RequestError::Malformed),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooManyHeaders),
        Err(_) => return Err(RequestError::Malformed),
    }
    let (Some(method), Some(path), Some(version)) = (req.method, req.path, req.version) else {
        return Err(RequestError::Malformed);
    };
    if method.eq_ignore_ascii_case("CONNECT") {
        return Ok(ProxyRequest::Connect {
            target: parse_authority(path)?,
        });
    }
    let (target, authority, origin_form) = parse_absolute(path)?;
    let head = origin_head(method, &origin_form, version, req.headers, &authority);
    Ok(ProxyRequest::Forward { target, head })
}

/// `host:port` of a CONNECT; the port is mandatory (RFC 9110 §9.3.6).
fn parse_authority(authority: &str) -> Result<Target, RequestError> {
    let bad = || RequestError::BadTarget(authority.to_owned());
    if authority.is_empty() || authority.contains(['@', '/', '?', '#']) {
        return Err(bad());
    }
    let (host, port) = authority.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    // An unbracketed colon would be a bare IPv6 literal: ambiguous, refuse it.
    if host.is_empty() || (host.contains(':') && !host.starts_with('[')) {
        return Err(bad());
    }
    // The WHATWG host parser normalises the way Chromium does: IDNA to
    // punycode, lowercase, and odd IPv4 spellings (`0xa9fea9fe`, `169.254.43518`)
    // to the address they mean — so they are checked as addresses.
    let host = url::Host::parse(host).map_err(|_| bad())?;
    Ok(Target {
        host: TargetHost::from_url_host(host),
        port,
    })
}

/// `http://authority/path?query` → (target, raw authority, origin-form `/path?query`).
fn parse_absolute(uri: &str) -> Result<(Target, String, String), RequestError> {
    if uri.starts_with('/') || uri == "*" {
        return Err(RequestError::NotProxyForm);
    }
    let bad = || RequestError::BadTarget(uri.to_owned());
    let url = url::Url::parse(uri).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "ws") {
        return Err(RequestError::Scheme(url.scheme().to_owned()));
    }
    let host = url.host().ok_or_else(bad)?;
    let port = url.port_or_known_default().unwrap_or(80);
    // Take the origin form from the raw text rather than from `Url`, whose
    // normalisation (dot segments, percent-encoding) would change what the
    // origin receives.
    let (_, after_scheme) = uri.split_once("://").ok_or_else(bad)?;
    let split = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = after_scheme[..split]
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut origin_form = after_scheme[split..]
        .split('#')
        .next()
        .unwrap_or_default()
        .to_owned();
    if !origin_form.starts_with('/') {
        origin_form.insert(0, '/');
    }
    let target = Target {
        host: TargetHost::from_url_host(host),
        port,
    };
    Ok((target, authority, origin_form))
}

/// Rebuilds the request head for the origin: origin-form target, proxy and
/// hop-by-hop headers removed, `Host` ensured, and `Connection: close` — the
/// guard checks one destination per client connection, so it must not let a
/// second request ride on this one — or `Connection: Upgrade` for WebSockets.
fn origin_head(
    method: &str,
    origin_form: &str,
    version: u8,
    headers: &[httparse::Header<'_>],
    authority: &str,
) -> Vec<u8> {
    let connection_tokens: Vec<String> = headers
        .iter()
        .filter(|h| {
            h.name.eq_ignore_ascii_case("connection")
                || h.name.eq_ignore_ascii_case("proxy-connection")
        })
        .flat_map(|h| {
            String::from_utf8_lossy(h.value)
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty())
        .collect();
    let has_upgrade = headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("upgrade"));
    let upgrading = has_upgrade && connection_tokens.iter().any(|t| t == "upgrade");
    let hop_by_hop = |name: &str| {
        let lower = name.to_ascii_lowercase();
        matches!(
            lower.as_str(),
            "connection" | "proxy-connection" | "proxy-authorization" | "keep-alive"
        ) || (lower == "upgrade" && !upgrading)
            || (connection_tokens.contains(&lower) && lower != "upgrade")
    };

    let mut out = Vec::with_capacity(512);
    let http_version = if version == 0 { "HTTP/1.0" } else { "HTTP/1.1" };
    out.extend_from_slice(format!("{method} {origin_form} {http_version}\r\n").as_bytes());
    let mut has_host = false;
    for h in headers.iter().filter(|h| !hop_by_hop(h.name)) {
        has_host |= h.name.eq_ignore_ascii_case("host");
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
    if !has_host {
        out.extend_from_slice(format!("Host: {authority}\r\n").as_bytes());
    }
    out.extend_from_slice(if upgrading {
        b"Connection: Upgrade\r\n" as &[u8]
    } else {
        b"Connection: close\r\n"
    });
    out.extend_from_slice(b"\r\n");
    out
}

/// The status of a response head from the origin, and the head to pass to
/// the client.
///
/// Final responses get `Connection: close` (and `Proxy-Connection: close`):
/// Chromium pools plain-HTTP connections per *proxy*, not per destination,
/// so without it the browser could send its next request — for another host,
/// with that host's cookies — down this connection, which goes to the origin
/// checked for the first one. Informational responses (`100`, `103`, `101`)
/// pass unchanged. `None` for an unparsable head.
pub(crate) fn client_response_head(head: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let code = resp.code?;
    if (100..200).contains(&code) {
        return Some((code, head.to_vec()));
    }
    let status_line_end = head.windows(2).position(|w| w == b"\r\n")?;
    let mut out = Vec::with_capacity(head.len() + 48);
    out.extend_from_slice(&head[..status_line_end + 2]);
    for h in resp.headers.iter() {
        let lower = h.name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "connection" | "proxy-connection" | "keep-alive"
        ) {
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\nProxy-Connection: close\r\n\r\n");
    Some((code, out))
}
