//! The guard through real listeners on 127.0.0.1, with a stub resolver for
//! every name and a recording connector proving what was (not) connected.

mod common;

use std::net::SocketAddr;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wayfarer_netguard::{
    BLOCKED_HEADER, BlockReason, Blocked, ERROR_HEADER, GuardPolicy, StubResolver,
};

fn blocked_reason(resp: &Response) -> Option<&str> {
    resp.head.header(BLOCKED_HEADER)
}

#[tokio::test]
async fn plain_get_reaches_local_origin_when_private_allowed() {
    let origin = Origin::start().await;
    let resolver = StubResolver::new().with("origin.test", &[LOCALHOST]);
    let (guard, connector) = guard(open_policy(), &resolver).await;

    let resp = proxy_get(
        &guard,
        &format!("http://origin.test:{}/path?q=1", origin.port()),
    )
    .await;
    assert_eq!(resp.status(), 200, "{resp:?}");
    assert_eq!(resp.body, "hello from origin");
    assert_eq!(resp.head.header("connection"), Some("close"));

    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    // Origin form, proxy headers gone, one request per connection.
    assert_eq!(seen[0].first_line, "GET /path?q=1 HTTP/1.1");
    assert_eq!(
        seen[0].header("host"),
        Some(format!("origin.test:{}", origin.port()).as_str())
    );
    assert_eq!(seen[0].header("connection"), Some("close"));
    assert_eq!(seen[0].header("proxy-connection"), None);
    assert_eq!(seen[0].header("user-agent"), Some("test"));
    assert_eq!(connector.calls(), vec![origin.addr]);
    assert_eq!(resolver.lookups(), vec!["origin.test"]);
    assert!(guard.blocked().is_empty());
}

#[tokio::test]
async fn connect_tunnel_reaches_local_origin_when_private_allowed() {
    let origin = Origin::start().await;
    let (guard, connector) = guard(open_policy(), &StubResolver::new()).await;

    let resp = tunnel_get(&guard, &origin.addr.to_string()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body, "hello from origin");
    assert_eq!(origin.requests()[0].first_line, "GET /via-tunnel HTTP/1.1");
    assert_eq!(connector.calls(), vec![origin.addr]);
}

#[tokio::test]
async fn local_origin_refused_when_private_blocked() {
    let origin = Origin::start().await;
    let resolver = StubResolver::new().with("origin.test", &[LOCALHOST]);
    let (guard, connector) = guard(strict_policy(), &resolver).await;

    let resp = proxy_get(&guard, &format!("http://127.0.0.1:{}/", origin.port())).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(blocked_reason(&resp), Some("private_network"));
    assert!(resp.body.contains("blocked by network guard"));

    let resp = proxy_get(&guard, &format!("http://origin.test:{}/", origin.port())).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(blocked_reason(&resp), Some("private_network"));

    let (head, _) = connect(&guard, &origin.addr.to_string()).await;
    assert_eq!(head.status(), 403);
    assert_eq!(head.header(BLOCKED_HEADER), Some("private_network"));

    assert!(connector.calls().is_empty());
    assert_eq!(
        origin.connections(),
        0,
        "the origin must never see a connection"
    );
    let blocked = guard.blocked();
    assert_eq!(blocked.len(), 3);
    assert_eq!(
        blocked[1],
        Blocked {
            host: "origin.test".into(),
            port: origin.port(),
            reason: BlockReason::PrivateNetwork,
            address: Some(LOCALHOST),
            upstream: false,
        }
    );
}

#[tokio::test]
async fn metadata_name_is_always_refused_without_connecting() {
    let resolver = StubResolver::new().with("metadata.test", &[ip("169.254.169.254")]);
    for policy in [open_policy(), strict_policy()] {
        let (guard, connector) = guard(policy, &resolver).await;
        let resp = proxy_get(&guard, "http://metadata.test/latest/meta-data/").await;
        assert_eq!(resp.status(), 403);
        assert_eq!(blocked_reason(&resp), Some("link_local"));
        let (head, _) = connect(&guard, "metadata.test:443").await;
        assert_eq!(head.header(BLOCKED_HEADER), Some("link_local"));
        assert!(connector.calls().is_empty());
        assert_eq!(guard.blocked()[0].address, Some(ip("169.254.169.254")));
    }
}

#[tokio::test]
async fn metadata_literals_in_any_spelling_are_refused() {
    let resolver = StubResolver::new();
    let (guard, connector) = guard(open_policy(), &resolver).await;
    for url in [
        "http://169.254.169.254/",
        "http://0xa9fea9fe/",
        "http://2852039166/",
        "http://169.254.169.254./",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]:8080/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
    ] {
        let resp = proxy_get(&guard, url).await;
        assert_eq!(resp.status(), 403, "{url}");
        assert_eq!(blocked_reason(&resp), Some("link_local"), "{url}");
    }
    for authority in [
        "169.254.169.254:443",
        "[::ffff:a9fe:a9fe]:443",
        "0xa9fea9fe:443",
    ] {
        let (head, _) = connect(&guard, authority).await;
        assert_eq!(
            head.header(BLOCKED_HEADER),
            Some("link_local"),
            "{authority}"
        );
    }
    assert!(connector.calls().is_empty());
    assert!(
        resolver.lookups().is_empty(),
        "address literals are not looked up"
    );
}

#[tokio::test]
async fn intranet_name_refused_only_when_private_blocked() {
    let resolver = StubResolver::new().with("intranet.test", &[ip("10.1.2.3")]);

    let (strict, connector) = guard(strict_policy(), &resolver).await;
    let resp = proxy_get(&strict, "http://intranet.test/").await;
    assert_eq!(resp.status(), 403);
    assert_eq!(blocked_reason(&resp), Some("private_network"));
    assert!(connector.calls().is_empty());

    // Allowed by policy: the guard does try 10.1.2.3 — and the test
    // connector refuses it without sending anything, hence a 502.
    let (open, connector) = guard(open_policy(), &resolver).await;
    let resp = proxy_get(&open, "http://intranet.test/").await;
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.head.header(ERROR_HEADER), Some("connect_failed"));
    assert_eq!(
        connector.calls(),
        vec!["10.1.2.3:80".parse::<SocketAddr>().unwrap()]
    );
}

#[tokio::test]
async fn one_bad_address_refuses_the_whole_name() {
    let origin = Origin::start().await;
    let resolver = StubResolver::new()
        .with("mixed.test", &[ip("10.0.0.1"), LOCALHOST])
        .with("sneaky.test", &[LOCALHOST, ip("169.254.169.254")]);
    let (guard, connector) = guard(strict_policy(), &resolver).await;
    let resp = proxy_get(&guard, &format!("http://mixed.test:{}/", origin.port())).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(blocked_reason(&resp), Some("private_network"));

    // With private allowed, a loopback answer does not excuse a metadata one;
    // the most severe reason is the one reported.
    guard.set_policy(open_policy()).unwrap();
    let resp = proxy_get(&guard, &format!("http://sneaky.test:{}/", origin.port())).await;
    assert_eq!(blocked_reason(&resp), Some("link_local"));

    assert!(connector.calls().is_empty());
    assert_eq!(origin.connections(), 0);
}

#[tokio::test]
async fn avoided_domains_are_refused_before_resolving() {
    let resolver = StubResolver::new()
        .with("ads.example", &[LOCALHOST])
        .with("x.ads.example", &[LOCALHOST]);
    let policy = GuardPolicy {
        avoid_domains: vec!["ads.example".into()],
        ..open_policy()
    };
    let (guard, connector) = guard(policy, &resolver).await;

    let resp = proxy_get(&guard, "http://ads.example/banner.js").await;
    assert_eq!(resp.status(), 403);
    assert_eq!(blocked_reason(&resp), Some("avoided_domain"));
    let (head, _) = connect(&guard, "x.ads.example:443").await;
    assert_eq!(head.header(BLOCKED_HEADER), Some("avoided_domain"));
    let (head, _) = connect(&guard, "X.ADS.EXAMPLE.:443").await;
    assert_eq!(head.header(BLOCKED_HEADER), Some("avoided_domain"));

    assert!(
        resolver.lookups().is_empty(),
        "avoided names must not be looked up"
    );
    assert!(connector.calls().is_empty());
    let blocked = guard.take_blocked();
    assert_eq!(blocked.len(), 3);
    assert!(
        blocked
            .iter()
            .all(|b| b.reason == BlockReason::AvoidedDomain && b.address.is_none())
    );
    assert!(guard.blocked().is_empty());
}

#[tokio::test]
async fn set_policy_applies_to_new_connections() {
    let origin = Origin::start().await;
    let resolver = StubResolver::new().with("site.test", &[LOCALHOST]);
    let (guard, _) = guard(open_policy(), &resolver).await;
    let url = format!("http://site.test:{}/", origin.port());
    assert_eq!(proxy_get(&guard, &url).await.status(), 200);

    guard
        .set_policy(GuardPolicy {
            avoid_domains: vec!["site.test".into()],
            ..open_policy()
        })
        .unwrap();
    assert_eq!(guard.policy().avoid_domains, vec!["site.test".to_owned()]);
    assert_eq!(
        blocked_reason(&proxy_get(&guard, &url).await),
        Some("avoided_domain")
    );

    guard.set_policy(strict_policy()).unwrap();
    assert_eq!(
        blocked_reason(&proxy_get(&guard, &url).await),
        Some("private_network")
    );

    guard.set_policy(open_policy()).unwrap();
    assert_eq!(proxy_get(&guard, &url).await.status(), 200);
}

#[tokio::test]
async fn unresolvable_names_are_refused() {
    let resolver = StubResolver::new().with("empty.test", &[]);
    let (guard, connector) = guard(open_policy(), &resolver).await;
    for url in ["http://nowhere.test/", "http://empty.test/"] {
        let resp = proxy_get(&guard, url).await;
        assert_eq!(resp.status(), 403);
        assert_eq!(blocked_reason(&resp), Some("unresolvable"));
    }
    assert!(connector.calls().is_empty());
}

#[tokio::test]
async fn each_connection_resolves_once_and_connects_to_what_it_checked() {
    // DNS rebinding: the name first answers an allowed address, then a
    // forbidden one. Each connection looks up once and connects only to the
    // address it checked, so the change is caught rather than raced.
    let origin = Origin::start().await;
    let resolver = StubResolver::new().with("rebind.test", &[LOCALHOST]);
    let (guard, connector) = guard(open_policy(), &resolver).await;
    let url = format!("http://rebind.test:{}/", origin.port());

    assert_eq!(proxy_get(&guard, &url).await.status(), 200);
    resolver.set("rebind.test", &[ip("169.254.169.254")]);
    assert_eq!(
        blocked_reason(&proxy_get(&guard, &url).await),
        Some("link_local")
    );

    assert_eq!(resolver.lookups(), vec!["rebind.test", "rebind.test"]);
    assert_eq!(connector.calls(), vec![origin.addr]);
}

#[tokio::test]
async fn websocket_upgrade_is_forwarded_then_relayed() {
    let origin = Origin::start().await;
    let (guard, _) = guard(open_policy(), &StubResolver::new()).await;
    let mut stream = TcpStream::connect(guard.addr()).await.unwrap();
    let req = format!(
        "GET ws://127.0.0.1:{port}/socket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        port = origin.port()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let head = read_head(&mut stream).await;
    assert_eq!(head.status(), 101);

    stream.write_all(b"frame bytes").await.unwrap();
    let mut echo = [0u8; 11];
    stream.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"frame bytes");

    let seen = &origin.requests()[0];
    assert_eq!(seen.first_line, "GET /socket HTTP/1.1");
    assert_eq!(seen.header("connection"), Some("Upgrade"));
    assert_eq!(seen.header("upgrade"), Some("websocket"));
}

/// An origin on 127.0.0.1 that answers every connection with `raw` and
/// then keeps the connection open, as a keep-alive server would.
async fn scripted_origin(raw: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                read_head(&mut s).await;
                s.write_all(raw.as_bytes()).await.unwrap();
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn final_responses_are_marked_close_so_the_connection_is_not_reused() {
    // Chromium pools plain-HTTP proxy connections across hosts: a keep-alive
    // answer would let its next request (for another host) reach this origin.
    let port = scripted_origin("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok").await;
    let (guard, _) = guard(open_policy(), &StubResolver::new()).await;
    let mut stream = TcpStream::connect(guard.addr()).await.unwrap();
    stream
        .write_all(
            format!("GET http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let head = read_head(&mut stream).await;
    assert_eq!(head.status(), 200);
    assert_eq!(head.header("connection"), Some("close"));
    assert_eq!(head.header("proxy-connection"), Some("close"));
    assert_eq!(head.header("keep-alive"), None);
    let mut body = [0u8; 2];
    stream.read_exact(&mut body).await.unwrap();
    assert_eq!(&body, b"ok");
}

#[tokio::test]
async fn informational_responses_pass_before_the_final_one() {
    let port = scripted_origin("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone").await;
    let (guard, _) = guard(open_policy(), &StubResolver::new()).await;
    let mut stream = TcpStream::connect(guard.addr()).await.unwrap();
    stream.write_all(format!("POST http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n").as_bytes()).await.unwrap();
    assert_eq!(read_head(&mut stream).await.status(), 100);
    let early = read_head(&mut stream).await;
    assert_eq!(early.status(), 103);
    assert_eq!(early.header("link"), Some("</a.css>"));
    let last = read_head(&mut stream).await;
    assert_eq!(last.status(), 201);
    assert_eq!(last.header("connection"), Some("close"));
    let mut body = [0u8; 4];
    stream.read_exact(&mut body).await.unwrap();
    assert_eq!(&body, b"done");
}

#[tokio::test]
async fn request_body_sent_with_the_head_is_forwarded() {
    let (guard, _) = guard(open_policy(), &StubResolver::new()).await;
    // An origin that echoes the whole request back.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let head = read_head(&mut s).await;
        let mut body = [0u8; 5];
        s.read_exact(&mut body).await.unwrap();
        let text = format!("{}|{}", head.first_line, String::from_utf8_lossy(&body));
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        s.write_all(resp.as_bytes()).await.unwrap();
    });
    let resp = send_raw(
        &guard,
        &format!("POST http://127.0.0.1:{port}/form HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 5\r\n\r\nhello"),
    )
    .await;
    assert_eq!(resp.body, "POST /form HTTP/1.1|hello");
}

#[tokio::test]
async fn malformed_and_non_proxy_requests_get_400() {
    let (guard, connector) = guard(open_policy(), &StubResolver::new()).await;
    for raw in [
        "GET /not-absolute HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET https://tls.test/ HTTP/1.1\r\nHost: tls.test\r\n\r\n",
        "CONNECT no-port HTTP/1.1\r\n\r\n",
        "CONNECT user@host.test:443 HTTP/1.1\r\n\r\n",
        "CONNECT ::1:443 HTTP/1.1\r\n\r\n",
        "NONSENSE\r\n\r\n",
    ] {
        let resp = send_raw(&guard, raw).await;
        assert_eq!(resp.status(), 400, "{raw:?}");
        assert_eq!(resp.head.header(ERROR_HEADER), Some("bad_request"));
    }
    assert!(connector.calls().is_empty());
}

#[tokio::test]
async fn oversized_head_gets_431() {
    let (guard, connector) = guard(open_policy(), &StubResolver::new()).await;
    let mut stream = TcpStream::connect(guard.addr()).await.unwrap();
    let filler = "X-Filler: ".to_owned() + &"a".repeat(1000) + "\r\n";
    let mut raw = "GET http://127.0.0.1/ HTTP/1.1\r\n".to_owned();
    while raw.len() <= 70 * 1024 {
        raw.push_str(&filler);
    }
    // The guard may answer and close before reading everything: ignore write errors.
    let _ = stream.write_all(raw.as_bytes()).await;
    let head = read_head(&mut stream).await;
    assert_eq!(head.status(), 431);
    assert!(connector.calls().is_empty());
}

#[tokio::test]
async fn guard_listens_on_loopback_and_stops_on_drop() {
    let (guard, _) = guard(open_policy(), &StubResolver::new()).await;
    let addr = guard.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(
        guard.proxy_server(),
        format!("http://127.0.0.1:{}", addr.port())
    );
    drop(guard);
    // The listener is closed once the accept task has been cancelled; yield
    // until the runtime has run the cancellation.
    let mut refused = false;
    for _ in 0..1000 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "the guard should stop listening after drop");
}
