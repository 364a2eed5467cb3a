//! The network guard through the whole server: avoidDomains enforced at request level,
//! private and link-local addresses refused (with a stub resolver: no packet to any
//! non-loopback address), and a session's own proxy chained behind the guard.

mod common;

use common::{Options, TestServer, fixture_hits, fixtures, run};
use serde_json::json;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use wayfarer_browser::{BrowserConfig, BrowserPool, GuardSettings, StubResolver};

fn hits(path: &str) -> usize {
    fixture_hits()
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.as_str() == path)
        .count()
}

async fn own_pool(
    block_private: bool,
    resolver: Arc<StubResolver>,
) -> (Arc<BrowserPool>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pool = BrowserPool::launch(BrowserConfig {
        contexts_per_browser: 4,
        profile_root: dir.path().to_path_buf(),
        prewarm: 0,
        network_guard: Some(GuardSettings {
            block_private,
            resolver,
        }),
        ..BrowserConfig::default()
    })
    .await
    .unwrap();
    (pool, dir)
}

#[test]
fn avoided_domains_are_refused_before_any_request_leaves() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        // The page itself.
        let before = hits("/never-fetched");
        let answer = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Describe", "startingUrl": format!("{site}/never-fetched"), "avoidDomains": ["127.0.0.1"]}),
            )
            .await;
        let b = &answer.body;
        assert_eq!(b["code"], "NAVIGATION_BLOCKED", "{b}");
        assert_eq!(b["details"]["reason"], "blocked_by_network_guard");
        assert_eq!(b["details"]["rule"], "avoided_domain");
        assert_eq!(
            hits("/never-fetched"),
            before,
            "the avoided request reached the site"
        );

        // A subresource from an avoided name: the page loads, the pixel never leaves.
        let port = site.rsplit(':').next().unwrap();
        let other_origin = format!("http://localhost:{port}");
        let pixels = hits("/pixel.gif");
        let answer = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Describe", "startingUrl": format!("{site}/with-pixel?{other_origin}"), "avoidDomains": ["localhost"]}),
            )
            .await;
        assert_eq!(answer.body["status"], "completed", "{}", answer.body);
        assert_eq!(
            hits("/pixel.gif"),
            pixels,
            "the avoided subresource reached the site"
        );
        // Without avoidDomains the same page does fetch it (so the check above can fail).
        let answer = s
            .run_task("Describe", &format!("{site}/with-pixel?{other_origin}"))
            .await;
        assert_eq!(answer.body["status"], "completed");
        assert!(
            hits("/pixel.gif") > pixels,
            "control: the pixel is fetched when not avoided"
        );
    });
}

#[test]
fn link_local_and_private_addresses_are_refused_by_resolved_address() {
    run(async {
        let site = fixtures().await;
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        let intranet: IpAddr = "10.1.2.3".parse().unwrap();
        let resolver = Arc::new(
            StubResolver::new()
                .with("metadata.test", &[metadata])
                .with("intranet.test", &[intranet]),
        );
        let (pool, _dir) = own_pool(true, resolver.clone()).await;
        let s = TestServer::start(Options {
            pool: Some(pool.clone()),
            ..Default::default()
        })
        .await;
        for (url, rule) in [
            ("http://metadata.test/latest/meta-data/", "link_local"),
            ("http://intranet.test/", "private_network"),
            (&format!("{site}/"), "private_network"),
        ] {
            let answer = s.run_task("Describe", url).await;
            let b = &answer.body;
            assert_eq!(b["code"], "NAVIGATION_BLOCKED", "{url}: {b}");
            assert_eq!(b["details"]["rule"], rule, "{url}");
        }
        // The names were resolved by our stub (so the browser asked the guard, not the
        // network); the guard's own tests prove no connection is attempted after a refusal.
        let looked_up = resolver.lookups();
        assert!(
            looked_up.iter().any(|h| h == "metadata.test"),
            "{looked_up:?}"
        );
        drop(s);
        pool.shutdown().await;
    });
}

/// A tiny CONNECT proxy on 127.0.0.1 that records the targets it was asked for.
async fn recording_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                let mut first = String::new();
                if reader.read_line(&mut first).await.is_err() {
                    return;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let mut parts = first.split_whitespace();
                let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
                    return;
                };
                log.lock().unwrap().push(target.to_string());
                // Only loopback targets are ever forwarded by this fixture.
                if !target.starts_with("127.0.0.1:") {
                    return;
                }
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let mut client = reader.into_inner();
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (url, seen)
}

#[test]
fn a_sessions_custom_proxy_carries_its_traffic() {
    run(async {
        let site = fixtures().await;
        let (proxy, seen) = recording_proxy().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Describe", "startingUrl": format!("{site}/next"), "proxy": {"source": "custom", "server": proxy}}),
            )
            .await;
        assert_eq!(answer.body["status"], "completed", "{}", answer.body);
        assert!(
            answer.body["data"]["message"]
                .as_str()
                .unwrap()
                .contains("Second page")
        );
        let host = site.trim_start_matches("http://").to_string();
        assert!(
            seen.lock().unwrap().contains(&host),
            "proxy saw {:?}",
            seen.lock().unwrap()
        );
        // The operator pool is not configured.
        let refused = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "x", "proxy": {"source": "WebRun"}}),
            )
            .await;
        refused.error(400, "INVALID_PARAMETER");
    });
}

#[test]
fn the_operator_proxy_pool_serves_webrun_sessions_in_turn() {
    run(async {
        let site = fixtures().await;
        let (first, seen_first) = recording_proxy().await;
        let (second, seen_second) = recording_proxy().await;
        let s = TestServer::start(Options {
            proxy_pool: vec![first, second],
            ..Options::default()
        })
        .await;
        let host = site.trim_start_matches("http://").to_string();
        for round in 1..=2 {
            let answer = s
                .post(
                    "/start/run-task",
                    Some(&s.key),
                    json!({"prompt": "Describe", "startingUrl": format!("{site}/next"), "proxy": {"source": "WebRun"}}),
                )
                .await;
            assert_eq!(
                answer.body["status"], "completed",
                "round {round}: {}",
                answer.body
            );
        }
        // One session each: round robin over the pool.
        for seen in [&seen_first, &seen_second] {
            assert!(
                seen.lock().unwrap().contains(&host),
                "proxy saw {:?}",
                seen.lock().unwrap()
            );
        }
        // Sessions without a proxy do not use the pool.
        let before = (
            seen_first.lock().unwrap().len(),
            seen_second.lock().unwrap().len(),
        );
        let answer = s.run_task("Describe", &format!("{site}/next")).await;
        assert_eq!(answer.body["status"], "completed", "{}", answer.body);
        let after = (
            seen_first.lock().unwrap().len(),
            seen_second.lock().unwrap().len(),
        );
        assert_eq!(before, after);
    });
}

#[test]
fn an_unreachable_site_fails_with_navigation_failed() {
    run(async {
        let s = TestServer::start(Options::default()).await;
        // A loopback port that was just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        let answer = s.run_task("Describe", &url).await;
        let b = &answer.body;
        assert_eq!(b["code"], "NAVIGATION_FAILED", "{b}");
        assert_eq!(b["details"]["url"], json!(url));
        let reason = b["details"]["reason"].as_str().unwrap();
        assert!(reason.contains("connect_failed"), "{b}");
        assert_eq!(
            b["error"],
            json!(format!("Navigation to {url} failed: {reason}"))
        );
    });
}
