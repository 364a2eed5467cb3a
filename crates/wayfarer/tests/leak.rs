//! 200 sessions created and terminated through the API leave no Chromium process behind.

mod common;

use common::{Options, TestServer, run};
use serde_json::json;
use std::time::Duration;
use wayfarer_browser::{BrowserConfig, BrowserPool};

/// Live (non-zombie) processes in process group `pgid`.
fn group_size(pgid: u32) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                return false;
            };
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.len() > 2 && f[2] == pgid.to_string() && f[0] != "Z"
        })
        .count()
}

#[test]
fn two_hundred_sessions_leave_no_process_behind() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let pool = BrowserPool::launch(BrowserConfig {
            contexts_per_browser: 8,
            profile_root: dir.path().to_path_buf(),
            ..BrowserConfig::default()
        })
        .await
        .unwrap();
        let pgid = pool.browser_pids()[0];
        let s = TestServer::start(Options {
            pool: Some(pool.clone()),
            ..Default::default()
        })
        .await;
        // Warm up once so the browser's own helper processes exist before we count.
        let first = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        let sid = first.body["sessionId"].as_str().unwrap().to_string();
        s.send(
            &sid,
            json!({"actionType": "state", "newState": "terminate"}),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let baseline = group_size(pgid);
        for i in 0..200 {
            let started = s
                .post("/start/start-session", Some(&s.key), json!({}))
                .await;
            assert_eq!(started.status, 200, "session {i}: {}", started.body);
            let sid = started.body["sessionId"].as_str().unwrap().to_string();
            let ended = s
                .send(
                    &sid,
                    json!({"actionType": "state", "newState": "terminate"}),
                )
                .await;
            assert_eq!(ended.status, 200);
        }
        assert_eq!(pool.in_use(), 0);
        let mut now = usize::MAX;
        for _ in 0..150 {
            now = group_size(pgid);
            if now <= baseline + 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // One spare renderer may be kept by Chromium for the next page; nothing grows.
        assert!(
            now <= baseline + 1,
            "{now} processes after 200 sessions, {baseline} before"
        );
        drop(s);
        pool.shutdown().await;
        assert_eq!(group_size(pgid), 0, "shutdown ends every process");
    });
}
