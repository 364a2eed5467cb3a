//! Pool behaviour: pre-warmed contexts, dead-browser replacement, remote browsers, and
//! reaping browsers a crashed run left behind.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::{eventually, runtime};
use wayfarer_browser::{BrowserConfig, BrowserPool};

fn config(dir: &std::path::Path, capacity: usize, prewarm: usize) -> BrowserConfig {
    BrowserConfig {
        contexts_per_browser: capacity,
        profile_root: dir.to_path_buf(),
        prewarm,
        ..BrowserConfig::default()
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn prewarmed_contexts_are_handed_out_then_refilled() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pool = BrowserPool::launch(config(dir.path(), 4, 2)).await.unwrap();
        eventually("two warm contexts", || pool.open_contexts() == 2).await;
        assert_eq!(pool.in_use(), 0, "warm contexts are not in use");
        let a = pool.new_context().await.unwrap();
        assert_eq!(pool.in_use(), 1);
        eventually("refilled to two warm", || pool.open_contexts() == 3).await;
        let b = pool.new_context().await.unwrap();
        let c = pool.new_context().await.unwrap();
        let d = pool.new_context().await.unwrap();
        assert_eq!(pool.in_use(), 4);
        assert!(matches!(
            pool.new_context().await,
            Err(wayfarer_browser::BrowserError::Unavailable)
        ));
        // Handed-out contexts are isolated and usable.
        a.navigate("about:blank", Duration::from_secs(10))
            .await
            .unwrap();
        for ctx in [&a, &b, &c, &d] {
            ctx.close().await;
        }
        eventually("slots freed", || pool.in_use() == 0).await;
        pool.shutdown().await;
        assert_eq!(pool.open_contexts(), 0, "shutdown closes warm contexts too");
    });
}

#[test]
fn a_dead_browser_is_replaced() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pool = BrowserPool::launch(config(dir.path(), 2, 0)).await.unwrap();
        let old = pool.browser_pids()[0] as i32;
        let ctx = pool.new_context().await.unwrap();
        // SAFETY: kills the group this test started.
        unsafe { libc::killpg(old, libc::SIGKILL) };
        eventually("replacement browser", || {
            let pids = pool.browser_pids();
            pids.len() == 1 && pids[0] as i32 != old && pool.is_ready()
        })
        .await;
        assert!(
            ctx.page_state().await.is_err(),
            "contexts of the dead browser are gone"
        );
        drop(ctx);
        let fresh = pool.new_context().await.unwrap();
        fresh
            .navigate("about:blank", Duration::from_secs(10))
            .await
            .unwrap();
        fresh.close().await;
        eventually("old group reaped", || !alive(-old)).await;
        pool.shutdown().await;
    });
}

#[test]
fn a_remote_browser_is_used_and_left_running() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("remote-profile");
        let mut chromium = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium");
        let port_file = profile.join("DevToolsActivePort");
        eventually("DevToolsActivePort", || {
            port_file.exists()
                && std::fs::read_to_string(&port_file).is_ok_and(|s| s.lines().count() >= 2)
        })
        .await;
        let text = std::fs::read_to_string(&port_file).unwrap();
        let mut lines = text.lines();
        let ws = format!(
            "ws://127.0.0.1:{}{}",
            lines.next().unwrap(),
            lines.next().unwrap()
        );
        let pool = BrowserPool::launch(BrowserConfig {
            remote_ws: Some(ws),
            prewarm: 0,
            ..config(&dir.path().join("unused"), 3, 0)
        })
        .await
        .unwrap();
        assert!(pool.browser_pids().is_empty(), "nothing launched");
        assert_eq!(pool.capacity(), 3);
        let ctx = pool.new_context().await.unwrap();
        ctx.navigate(
            "data:text/html,<title>remote</title><button>Hi</button>",
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        let state = ctx.page_state().await.unwrap();
        assert_eq!(state.title, "remote");
        ctx.close().await;
        pool.shutdown().await;
        assert!(
            chromium.try_wait().unwrap().is_none(),
            "a remote browser is not ours to close"
        );
        chromium.kill().unwrap();
        chromium.wait().unwrap();
    });
}

#[test]
fn browsers_left_by_a_crashed_run_are_reaped_at_launch() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        // A profile whose owner (pid 4194303, above any pid in use) is gone, and a stand-in
        // "browser" still running with that profile on its command line.
        let leftover = dir.path().join("chromium-4194303-0-1");
        std::fs::create_dir_all(&leftover).unwrap();
        let mut stray = Command::new("sh")
            .args(["-c", "sleep 300", "sh"])
            .arg(format!("--user-data-dir={}", leftover.display()))
            .process_group(0)
            .spawn()
            .unwrap();
        let stray_pid = stray.id() as i32;
        let pool = BrowserPool::launch(config(dir.path(), 1, 0)).await.unwrap();
        eventually("stray killed", || stray.try_wait().ok().flatten().is_some()).await;
        eventually("stray group gone", || {
            !alive(-stray_pid) || group_only_zombies(stray_pid)
        })
        .await;
        assert!(!leftover.exists(), "the leftover profile is removed");
        pool.shutdown().await;
    });
}

use std::os::unix::process::CommandExt;

/// Whether every member of process group `pgid` is a zombie awaiting init's reaping.
fn group_only_zombies(pgid: i32) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().all(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return true;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return true;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.len() < 3 || f[2] != pgid.to_string() || f[0] == "Z"
    })
}

#[test]
fn a_slot_held_by_a_warming_context_is_handed_over() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pool = BrowserPool::launch(config(dir.path(), 1, 2)).await.unwrap();
        // Right after launch the only slot is taken by a context being pre-warmed.
        let ctx = pool
            .new_context()
            .await
            .expect("the warming context is handed over");
        assert_eq!(pool.in_use(), 1);
        assert!(matches!(
            pool.new_context().await,
            Err(wayfarer_browser::BrowserError::Unavailable)
        ));
        ctx.close().await;
        pool.shutdown().await;
    });
}
