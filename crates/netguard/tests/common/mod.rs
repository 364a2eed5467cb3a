//! Fixtures shared by the integration tests. Everything listens on, and
//! connects to, 127.0.0.1 only.

// Each test binary uses a different subset of these fixtures.
#![allow(dead_code)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, copy_bidirectional};
use tokio::net::{TcpListener, TcpStream};
use wayfarer_netguard::{
    BoxFuture, Connector, GuardHandle, GuardPolicy, NetGuard, Resolver, StubResolver,
};

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Records every connect() the guard attempts, and — the network rule's
/// safety net — refuses any non-loopback address without touching the
/// network, so even a guard bug cannot send a packet elsewhere.
#[derive(Debug, Default)]
pub struct RecordingConnector {
    calls: Mutex<Vec<SocketAddr>>,
}

impl RecordingConnector {
    pub fn calls(&self) -> Vec<SocketAddr> {
        self.calls.lock().unwrap().clone()
    }
}

impl Connector for RecordingConnector {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>> {
        self.calls.lock().unwrap().push(addr);
        Box::pin(async move {
            if !addr.ip().is_loopback() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "test connector: loopback only",
                ));
            }
            TcpStream::connect(addr).await
        })
    }
}

/// A guard on 127.0.0.1 with a recording connector.
pub async fn guard(
    policy: GuardPolicy,
    resolver: &StubResolver,
) -> (GuardHandle, Arc<RecordingConnector>) {
    let connector = Arc::new(RecordingConnector::default());
    let resolver: Arc<dyn Resolver> = Arc::new(resolver.clone());
    let handle = NetGuard::start_with_connector(policy, resolver, connector.clone())
        .await
        .unwrap();
    (handle, connector)
}

pub fn open_policy() -> GuardPolicy {
    GuardPolicy::default()
}

pub fn strict_policy() -> GuardPolicy {
    GuardPolicy {
        block_private: true,
        ..GuardPolicy::default()
    }
}

/// A request or response head: first line and lowercased headers.
#[derive(Debug, Clone)]
pub struct Head {
    pub first_line: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn status(&self) -> u16 {
        self.first_line.split(' ').nth(1).unwrap().parse().unwrap()
    }
}

/// Reads one head byte by byte (so nothing after it is consumed).
pub async fn read_head<R: AsyncRead + Unpin>(r: &mut R) -> Head {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = r.read(&mut byte).await.unwrap();
        assert!(
            n > 0,
            "closed before head end: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
        assert!(buf.len() < 70_000);
    }
    let text = String::from_utf8(buf).unwrap();
    let mut lines = text.split("\r\n");
    let first_line = lines.next().unwrap().to_owned();
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    Head {
        first_line,
        headers,
    }
}

/// A response read to the end of the connection.
#[derive(Debug)]
pub struct Response {
    pub head: Head,
    pub body: String,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status()
    }
}

pub async fn read_response(stream: &mut TcpStream) -> Response {
    let head = read_head(stream).await;
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    Response { head, body }
}

/// Sends `raw` to the guard and reads the answer to EOF.
pub async fn send_raw(guard: &GuardHandle, raw: &str) -> Response {
    let mut stream = TcpStream::connect(guard.addr()).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    read_response(&mut stream).await
}

/// `GET <url>` through the guard, absolute form, as Chromium sends it.
pub async fn proxy_get(guard: &GuardHandle, url: &str) -> Response {
    let host = url.split("://").nth(1).unwrap().split('/').next().unwrap();
    send_raw(guard, &format!("GET {url} HTTP/1.1\r\nHost: {host}\r\nProxy-Connection: keep-alive\r\nUser-Agent: test\r\n\r\n"))
        .await
}

/// `CONNECT authority`; returns the guard's answer head and the stream.
pub async fn connect(guard: &GuardHandle, authority: &str) -> (Head, TcpStream) {
    let mut stream = TcpStream::connect(guard.addr()).await.unwrap();
    stream
        .write_all(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let head = read_head(&mut stream).await;
    (head, stream)
}

/// `CONNECT authority`, then a GET through the tunnel; the origin's answer.
pub async fn tunnel_get(guard: &GuardHandle, authority: &str) -> Response {
    let (head, mut stream) = connect(guard, authority).await;
    assert_eq!(head.status(), 200, "{head:?}");
    stream
        .write_all(
            format!("GET /via-tunnel HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    read_response(&mut stream).await
}

/// An HTTP origin on 127.0.0.1 that records every request head. Answers
/// `hello from origin`, or `101` and then echoes bytes for an Upgrade.
#[derive(Debug, Clone)]
pub struct Origin {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Head>>>,
    connections: Arc<Mutex<usize>>,
}

impl Origin {
    pub async fn start() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let origin = Self {
            addr: listener.local_addr().unwrap(),
            requests: Arc::default(),
            connections: Arc::default(),
        };
        let o = origin.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                *o.connections.lock().unwrap() += 1;
                let o = o.clone();
                tokio::spawn(async move {
                    let head = read_head(&mut stream).await;
                    o.requests.lock().unwrap().push(head.clone());
                    if head.header("upgrade").is_some() {
                        stream
                            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
                            .await
                            .unwrap();
                        let (mut r, mut w) = stream.split();
                        let _ = tokio::io::copy(&mut r, &mut w).await;
                    } else {
                        let body = "hello from origin";
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(resp.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    }
                });
            }
        });
        origin
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<Head> {
        self.requests.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

/// Connects to a fixture's requested target, refusing anything but loopback.
async fn fixture_connect(addr: SocketAddr) -> Option<TcpStream> {
    if !addr.ip().is_loopback() {
        return None;
    }
    TcpStream::connect(addr).await.ok()
}

/// A fake HTTP proxy on 127.0.0.1 that requires `Proxy-Authorization: Basic`
/// and records every CONNECT it receives (target, whether authorized).
#[derive(Debug, Clone)]
pub struct FakeHttpProxy {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<(String, bool)>>>,
}

impl FakeHttpProxy {
    pub async fn start(user: &str, pass: &str) -> Self {
        use base64_free_basic as b64;
        let expected = format!("Basic {}", b64::encode(&format!("{user}:{pass}")));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let proxy = Self {
            addr: listener.local_addr().unwrap(),
            seen: Arc::default(),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let p = p.clone();
                let expected = expected.clone();
                tokio::spawn(async move {
                    let head = read_head(&mut stream).await;
                    let target = head.first_line.split(' ').nth(1).unwrap().to_owned();
                    let authorized = head.header("proxy-authorization") == Some(expected.as_str());
                    p.seen.lock().unwrap().push((target.clone(), authorized));
                    if !head.first_line.starts_with("CONNECT ") {
                        let _ = stream
                            .write_all(
                                b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n",
                            )
                            .await;
                        return;
                    }
                    if !authorized {
                        let _ = stream
                            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\n\r\n")
                            .await;
                        return;
                    }
                    let Some(mut upstream) = fixture_connect(target.parse().unwrap()).await else {
                        let _ = stream
                            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                            .await;
                        return;
                    };
                    stream
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .await
                        .unwrap();
                    let _ = copy_bidirectional(&mut stream, &mut upstream).await;
                });
            }
        });
        proxy
    }

    /// (CONNECT target, authorized) for every request received.
    pub fn seen(&self) -> Vec<(String, bool)> {
        self.seen.lock().unwrap().clone()
    }
}

/// A fake SOCKS5 server on 127.0.0.1 requiring user/password (RFC 1929);
/// records (target, authorized) for every session.
#[derive(Debug, Clone)]
pub struct FakeSocks5 {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<SocksSession>>>,
}

/// What a fake SOCKS5 server saw: the target asked for (none when auth
/// failed first) and whether the credentials were right.
pub type SocksSession = (Option<SocketAddr>, bool);

impl FakeSocks5 {
    pub async fn start(user: &str, pass: &str) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let server = Self {
            addr: listener.local_addr().unwrap(),
            seen: Arc::default(),
        };
        let s = server.clone();
        let (user, pass) = (user.to_owned(), pass.to_owned());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let s = s.clone();
                let (user, pass) = (user.clone(), pass.clone());
                tokio::spawn(async move { s.session(stream, &user, &pass).await });
            }
        });
        server
    }

    async fn session(&self, mut stream: TcpStream, user: &str, pass: &str) {
        let mut hdr = [0u8; 2];
        stream.read_exact(&mut hdr).await.unwrap();
        assert_eq!(hdr[0], 5);
        let mut methods = vec![0u8; usize::from(hdr[1])];
        stream.read_exact(&mut methods).await.unwrap();
        if !methods.contains(&2) {
            stream.write_all(&[5, 0xff]).await.unwrap();
            self.seen.lock().unwrap().push((None, false));
            return;
        }
        stream.write_all(&[5, 2]).await.unwrap();
        let mut ver_ulen = [0u8; 2];
        stream.read_exact(&mut ver_ulen).await.unwrap();
        let mut u = vec![0u8; usize::from(ver_ulen[1])];
        stream.read_exact(&mut u).await.unwrap();
        let mut plen = [0u8; 1];
        stream.read_exact(&mut plen).await.unwrap();
        let mut p = vec![0u8; usize::from(plen[0])];
        stream.read_exact(&mut p).await.unwrap();
        if u != user.as_bytes() || p != pass.as_bytes() {
            stream.write_all(&[1, 1]).await.unwrap();
            self.seen.lock().unwrap().push((None, false));
            return;
        }
        stream.write_all(&[1, 0]).await.unwrap();
        let mut req = [0u8; 4];
        stream.read_exact(&mut req).await.unwrap();
        assert_eq!(&req[..3], &[5, 1, 0]);
        let ip: IpAddr = match req[3] {
            1 => {
                let mut a = [0u8; 4];
                stream.read_exact(&mut a).await.unwrap();
                IpAddr::from(a)
            }
            4 => {
                let mut a = [0u8; 16];
                stream.read_exact(&mut a).await.unwrap();
                IpAddr::from(a)
            }
            other => panic!("the guard must send an address, got type {other}"),
        };
        let mut port = [0u8; 2];
        stream.read_exact(&mut port).await.unwrap();
        let target = SocketAddr::new(ip, u16::from_be_bytes(port));
        self.seen.lock().unwrap().push((Some(target), true));
        let Some(mut upstream) = fixture_connect(target).await else {
            stream
                .write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0])
                .await
                .unwrap();
            return;
        };
        stream
            .write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
            .await
            .unwrap();
        let _ = copy_bidirectional(&mut stream, &mut upstream).await;
    }

    /// (target, authorized) for every session.
    pub fn seen(&self) -> Vec<SocksSession> {
        self.seen.lock().unwrap().clone()
    }
}

/// A tiny standard base64 encoder, so the fixture checks the guard's
/// encoding independently of the crate it uses.
mod base64_free_basic {
    pub fn encode(input: &str) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let bytes = input.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}
