//! Chaining behind an upstream proxy: local fake HTTP and SOCKS5 proxies on
//! 127.0.0.1 requiring credentials, and a local origin behind them.

mod common;

use common::*;
use wayfarer_netguard::{
    BLOCKED_HEADER, ERROR_HEADER, GuardPolicy, NetGuard, StubResolver, Upstream,
};

fn via(url: String, user: &str, pass: &str) -> GuardPolicy {
    GuardPolicy {
        upstream: Some(Upstream {
            url,
            username: Some(user.into()),
            password: Some(pass.into()),
            trusted: false,
        }),
        ..open_policy()
    }
}

#[tokio::test]
async fn http_upstream_with_basic_auth_carries_plain_and_tunneled_traffic() {
    let origin = Origin::start().await;
    let proxy = FakeHttpProxy::start("alice", "s3cret:x").await;
    let resolver = StubResolver::new().with("origin.test", &[LOCALHOST]);
    let (guard, connector) = guard(
        via(format!("http://{}", proxy.addr), "alice", "s3cret:x"),
        &resolver,
    )
    .await;

    let resp = proxy_get(
        &guard,
        &format!("http://origin.test:{}/plain", origin.port()),
    )
    .await;
    assert_eq!(resp.status(), 200, "{resp:?}");
    assert_eq!(resp.body, "hello from origin");
    let resp = tunnel_get(&guard, &format!("origin.test:{}", origin.port())).await;
    assert_eq!(resp.body, "hello from origin");

    // The upstream was asked for the checked address, never the name.
    let target = origin.addr.to_string();
    assert_eq!(proxy.seen(), vec![(target.clone(), true), (target, true)]);
    let heads = origin.requests();
    assert_eq!(heads[0].first_line, "GET /plain HTTP/1.1");
    assert_eq!(
        heads[0].header("proxy-authorization"),
        None,
        "credentials stay with the upstream hop"
    );
    assert_eq!(
        connector.calls(),
        vec![proxy.addr, proxy.addr],
        "the guard only connected to the upstream"
    );
}

#[tokio::test]
async fn credentials_embedded_in_the_upstream_url_work() {
    let origin = Origin::start().await;
    let proxy = FakeHttpProxy::start("us@r", "p:w").await;
    let policy = GuardPolicy {
        upstream: Some(Upstream {
            url: format!("http://us%40r:p%3Aw@{}", proxy.addr),
            ..Upstream::default()
        }),
        ..open_policy()
    };
    let (guard, _) = guard(policy, &StubResolver::new()).await;
    let resp = tunnel_get(&guard, &origin.addr.to_string()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(proxy.seen(), vec![(origin.addr.to_string(), true)]);
}

#[tokio::test]
async fn http_upstream_wrong_credentials_is_a_502_that_says_so() {
    let origin = Origin::start().await;
    let proxy = FakeHttpProxy::start("alice", "right").await;
    let (guard, _) = guard(
        via(format!("http://{}", proxy.addr), "alice", "wrong"),
        &StubResolver::new(),
    )
    .await;

    let resp = proxy_get(&guard, &format!("http://127.0.0.1:{}/", origin.port())).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.head.header(ERROR_HEADER), Some("upstream_auth_failed"));
    assert!(
        resp.body.contains("rejected the credentials"),
        "{}",
        resp.body
    );
    let (head, _) = connect(&guard, &origin.addr.to_string()).await;
    assert_eq!(head.status(), 502);
    assert_eq!(head.header(ERROR_HEADER), Some("upstream_auth_failed"));

    assert_eq!(
        proxy.seen(),
        vec![
            (origin.addr.to_string(), false),
            (origin.addr.to_string(), false)
        ]
    );
    assert_eq!(origin.connections(), 0);
}

#[tokio::test]
async fn socks5_upstream_with_user_pass_carries_traffic() {
    let origin = Origin::start().await;
    let socks = FakeSocks5::start("bob", "hunter2").await;
    let resolver = StubResolver::new().with("origin.test", &[LOCALHOST]);
    let (guard, connector) = guard(
        via(format!("socks5://{}", socks.addr), "bob", "hunter2"),
        &resolver,
    )
    .await;

    let resp = proxy_get(&guard, &format!("http://origin.test:{}/s", origin.port())).await;
    assert_eq!(resp.status(), 200, "{resp:?}");
    assert_eq!(resp.body, "hello from origin");
    let resp = tunnel_get(&guard, &format!("origin.test:{}", origin.port())).await;
    assert_eq!(resp.body, "hello from origin");

    assert_eq!(
        socks.seen(),
        vec![(Some(origin.addr), true), (Some(origin.addr), true)]
    );
    assert_eq!(connector.calls(), vec![socks.addr, socks.addr]);
}

#[tokio::test]
async fn socks5_upstream_wrong_credentials_is_a_502_that_says_so() {
    let origin = Origin::start().await;
    let socks = FakeSocks5::start("bob", "hunter2").await;
    let (guard, _) = guard(
        via(format!("socks5h://{}", socks.addr), "bob", "nope"),
        &StubResolver::new(),
    )
    .await;

    let (head, _) = connect(&guard, &origin.addr.to_string()).await;
    assert_eq!(head.status(), 502);
    assert_eq!(head.header(ERROR_HEADER), Some("upstream_auth_failed"));
    assert_eq!(socks.seen(), vec![(None, false)]);
    assert_eq!(origin.connections(), 0);
}

#[tokio::test]
async fn socks5_upstream_requiring_auth_without_credentials_is_refused() {
    let origin = Origin::start().await;
    let socks = FakeSocks5::start("bob", "hunter2").await;
    let policy = GuardPolicy {
        upstream: Some(Upstream {
            url: format!("socks5://{}", socks.addr),
            ..Upstream::default()
        }),
        ..open_policy()
    };
    let (guard, _) = guard(policy, &StubResolver::new()).await;
    let (head, _) = connect(&guard, &origin.addr.to_string()).await;
    assert_eq!(head.header(ERROR_HEADER), Some("upstream_auth_failed"));
}

#[tokio::test]
async fn destination_is_still_checked_with_an_upstream() {
    let proxy = FakeHttpProxy::start("alice", "pw").await;
    let resolver = StubResolver::new()
        .with("metadata.test", &[ip("169.254.169.254")])
        .with("intranet.test", &[ip("10.1.2.3")]);
    let mut policy = via(format!("http://{}", proxy.addr), "alice", "pw");
    policy.upstream.as_mut().unwrap().trusted = true; // the upstream itself is on loopback
    policy.block_private = true;
    policy.avoid_domains = vec!["ads.example".into()];
    let (guard, connector) = guard(policy, &resolver).await;

    for (authority, reason) in [
        ("metadata.test:443", "link_local"),
        ("intranet.test:443", "private_network"),
        ("ads.example:443", "avoided_domain"),
    ] {
        let (head, _) = connect(&guard, authority).await;
        assert_eq!(head.status(), 403, "{authority}");
        assert_eq!(head.header(BLOCKED_HEADER), Some(reason), "{authority}");
    }
    assert!(
        proxy.seen().is_empty(),
        "nothing refused may reach the upstream"
    );
    assert!(connector.calls().is_empty());
}

#[tokio::test]
async fn untrusted_upstream_on_a_forbidden_address_is_refused() {
    let origin = Origin::start().await;
    let resolver = StubResolver::new().with("metadata.test", &[ip("169.254.169.254")]);
    let (guard, connector) =
        guard(via("http://metadata.test:80".into(), "u", "p"), &resolver).await;
    let (head, _) = connect(&guard, &origin.addr.to_string()).await;
    assert_eq!(head.status(), 403);
    assert_eq!(head.header(BLOCKED_HEADER), Some("link_local"));
    let blocked = guard.blocked();
    assert_eq!(blocked.len(), 1);
    assert!(blocked[0].upstream);
    assert_eq!(blocked[0].host, "metadata.test");
    assert!(connector.calls().is_empty());

    // A private upstream is refused under block_private unless trusted.
    let socks = FakeSocks5::start("bob", "pw").await;
    let mut policy = via(format!("socks5://{}", socks.addr), "bob", "pw");
    policy.block_private = true;
    guard.set_policy(policy.clone()).unwrap();
    let (head, _) = connect(&guard, "origin.test:443").await;
    assert_eq!(head.header(BLOCKED_HEADER), Some("unresolvable"));
    let (head, _) = connect(&guard, &format!("127.0.0.1:{}", origin.port())).await;
    assert_eq!(head.header(BLOCKED_HEADER), Some("private_network"));
    assert!(socks.seen().is_empty());
}

#[tokio::test]
async fn unusable_upstream_urls_are_rejected_up_front() {
    let resolver = std::sync::Arc::new(StubResolver::new());
    for url in [
        "ftp://h:1",
        "https://h:443",
        "not a url",
        "socks5://",
        "http://",
    ] {
        let policy = GuardPolicy {
            upstream: Some(Upstream {
                url: url.into(),
                ..Upstream::default()
            }),
            ..open_policy()
        };
        let err = NetGuard::start(policy, resolver.clone()).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{url}");
    }
    let policy = GuardPolicy {
        upstream: Some(Upstream {
            url: "socks5://h:1080".into(),
            username: Some("u".repeat(256)),
            password: Some("p".into()),
            trusted: false,
        }),
        ..open_policy()
    };
    assert!(NetGuard::start(policy, resolver.clone()).await.is_err());

    // set_policy keeps the old policy when the new one is unusable.
    let guard = NetGuard::start(open_policy(), resolver).await.unwrap();
    let bad = GuardPolicy {
        upstream: Some(Upstream {
            url: "gopher://x".into(),
            ..Upstream::default()
        }),
        ..strict_policy()
    };
    assert!(guard.set_policy(bad).is_err());
    assert_eq!(guard.policy(), open_policy());
}

#[test]
fn upstream_debug_hides_credentials() {
    let up = Upstream {
        url: "http://user:topsecret@proxy.test:8080".into(),
        username: Some("other".into()),
        password: Some("alsosecret".into()),
        trusted: false,
    };
    let text = format!("{up:?}");
    assert!(
        !text.contains("topsecret") && !text.contains("alsosecret") && !text.contains("other"),
        "{text}"
    );
}
