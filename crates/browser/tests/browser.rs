//! End-to-end tests against a real Chromium.
//!
//! One shared browser serves the page-level tests (each takes its own
//! context); the pool-level tests (capacity, shutdown) launch their own small
//! pool. Fixture pages come from a tiny HTTP server on 127.0.0.1 started by
//! the test binary itself: nothing else is contacted.

mod support;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use wayfarer_browser::{BrowserConfig, BrowserError, BrowserPool, ElementId, PageState};

const INDEX: &str = r#"<!doctype html>
<html><head><title>Fixture home</title></head>
<body>
  <h1 id="h">Welcome</h1>
  <h2>Sub section</h2>
  <button id="b" onclick="document.getElementById('h').textContent = 'Heading changed'">Change heading</button>
  <a href="/next">Next page</a>
  <label for="email">Email</label>
  <input id="email" type="text" value="old@example.invalid"
         oninput="document.getElementById('echo').textContent = 'echo:' + this.value">
  <p id="echo">no input yet</p>
  <label><input type="checkbox" checked> Remember me</label>
</body></html>"#;

const NEXT: &str = r#"<!doctype html>
<html><head><title>Second</title></head><body><h1>Second page</h1></body></html>"#;

fn fixture() -> &'static support::SharedBrowser {
    static FIXTURE: OnceLock<support::SharedBrowser> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        support::launch_shared(async || {
            let mut pages = HashMap::new();
            pages.insert("/", support::html(INDEX));
            pages.insert("/next", support::html(NEXT));
            pages.insert("/hang", support::hanging("<html><body><h1>Still loading"));
            support::serve(pages).await
        })
    })
}

fn find(state: &PageState, role: &str, name: &str) -> ElementId {
    state
        .elements
        .iter()
        .find(|e| e.role == role && e.name == name)
        .unwrap_or_else(|| panic!("no {role} {name:?} in\n{}", state.to_prompt_text()))
        .id
}

const NAV: Duration = Duration::from_secs(10);

#[test]
fn page_state_lists_interactive_elements() {
    let f = fixture();
    f.rt.block_on(async {
        let ctx = f.pool.new_context().await.expect("context");
        ctx.navigate(&format!("{}/", f.base), NAV)
            .await
            .expect("navigate");
        let state = ctx.page_state().await.expect("page state");
        assert_eq!(state.title, "Fixture home");
        assert_eq!(state.url, format!("{}/", f.base));
        assert_eq!(state.headings, vec!["Welcome", "Sub section"]);
        assert!(state.text.contains("no input yet"), "{}", state.text);
        find(&state, "button", "Change heading");
        find(&state, "link", "Next page");
        let email = find(&state, "textbox", "Email");
        let field = &state.elements[(email.0 - 1) as usize];
        assert_eq!(field.value.as_deref(), Some("old@example.invalid"));
        let remember = find(&state, "checkbox", "Remember me");
        assert_eq!(
            state.elements[(remember.0 - 1) as usize].checked,
            Some(true)
        );
        let prompt = state.to_prompt_text();
        assert!(prompt.contains(r#"button "Change heading""#), "{prompt}");
        assert!(prompt.contains("title: Fixture home"), "{prompt}");
        assert_eq!(
            ctx.current_url().await.expect("url"),
            format!("{}/", f.base)
        );
        ctx.close().await;
    });
}

#[test]
fn click_changes_heading_and_follows_links() {
    let f = fixture();
    f.rt.block_on(async {
        let ctx = f.pool.new_context().await.expect("context");
        ctx.navigate(&format!("{}/", f.base), NAV)
            .await
            .expect("navigate");
        let state = ctx.page_state().await.expect("page state");
        let report = ctx
            .click(find(&state, "button", "Change heading"))
            .await
            .expect("click");
        assert_eq!(report.description, r#"clicked button "Change heading""#);
        assert_eq!(report.navigated_to, None);
        let state = ctx.page_state().await.expect("page state");
        assert_eq!(state.headings[0], "Heading changed");

        let report = ctx
            .click(find(&state, "link", "Next page"))
            .await
            .expect("click link");
        let next = format!("{}/next", f.base);
        assert_eq!(report.navigated_to.as_deref(), Some(next.as_str()));
        let state = ctx.page_state().await.expect("page state");
        assert_eq!(state.headings, vec!["Second page"]);
        assert_eq!(state.url, next);
        ctx.close().await;
    });
}

#[test]
fn type_text_replaces_value_and_fires_input() {
    let f = fixture();
    f.rt.block_on(async {
        let ctx = f.pool.new_context().await.expect("context");
        ctx.navigate(&format!("{}/", f.base), NAV)
            .await
            .expect("navigate");
        let state = ctx.page_state().await.expect("page state");
        let email = find(&state, "textbox", "Email");
        let report = ctx
            .type_text(email, "ada@example.invalid")
            .await
            .expect("type");
        assert_eq!(
            report.description,
            r#"typed "ada@example.invalid" into textbox "Email""#
        );
        let state = ctx.page_state().await.expect("page state");
        let email = find(&state, "textbox", "Email");
        let field = &state.elements[(email.0 - 1) as usize];
        assert_eq!(field.value.as_deref(), Some("ada@example.invalid"));
        assert!(
            state.text.contains("echo:ada@example.invalid"),
            "{}",
            state.text
        );

        // Typing an empty string clears the field.
        ctx.type_text(email, "").await.expect("clear");
        let state = ctx.page_state().await.expect("page state");
        let field = &state.elements[(find(&state, "textbox", "Email").0 - 1) as usize];
        assert_eq!(field.value.as_deref().unwrap_or(""), "");
        ctx.close().await;
    });
}

#[test]
fn hanging_page_times_out_and_context_stays_usable() {
    let f = fixture();
    f.rt.block_on(async {
        let ctx = f.pool.new_context().await.expect("context");
        let url = format!("{}/hang", f.base);
        let started = std::time::Instant::now();
        let err = ctx
            .navigate(&url, Duration::from_millis(800))
            .await
            .expect_err("must time out");
        match err {
            BrowserError::NavigationTimeout { url: u, timeout_ms } => {
                assert_eq!(u, url);
                assert_eq!(timeout_ms, 800);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        // The page is still usable afterwards.
        ctx.navigate(&format!("{}/next", f.base), NAV)
            .await
            .expect("navigate after timeout");
        assert_eq!(ctx.page_state().await.expect("state").title, "Second");
        ctx.close().await;
    });
}

#[test]
fn connection_refused_is_a_navigation_error() {
    let f = fixture();
    f.rt.block_on(async {
        // Bind then drop to get a local port that refuses connections.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let ctx = f.pool.new_context().await.expect("context");
        let url = format!("http://127.0.0.1:{port}/");
        match ctx.navigate(&url, NAV).await {
            Err(BrowserError::Navigation { url: u, reason }) => {
                assert_eq!(u, url);
                assert!(reason.contains("ERR_CONNECTION_REFUSED"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        ctx.close().await;
    });
}

#[test]
fn unknown_element_is_not_found() {
    let f = fixture();
    f.rt.block_on(async {
        let ctx = f.pool.new_context().await.expect("context");
        ctx.navigate(&format!("{}/next", f.base), NAV)
            .await
            .expect("navigate");
        // Before any page_state nothing is known.
        assert!(matches!(
            ctx.click(ElementId(1)).await,
            Err(BrowserError::ElementNotFound { id: ElementId(1) })
        ));
        let state = ctx.page_state().await.expect("state");
        let unknown = ElementId(state.elements.len() as u32 + 100);
        assert!(matches!(
            ctx.click(unknown).await,
            Err(BrowserError::ElementNotFound { id }) if id == unknown
        ));
        assert!(matches!(
            ctx.type_text(unknown, "x").await,
            Err(BrowserError::ElementNotFound { .. })
        ));
        ctx.close().await;
        // A closed context refuses work.
        assert!(matches!(ctx.page_state().await, Err(BrowserError::Closed)));
        ctx.close().await; // idempotent
    });
}

#[test]
fn renderer_crash_is_reported() {
    let f = fixture();
    f.rt.block_on(async {
        let ctx = f.pool.new_context().await.expect("context");
        ctx.navigate(&format!("{}/next", f.base), NAV)
            .await
            .expect("navigate");
        // chrome://crash kills the renderer when navigated to by the browser.
        // The navigation itself is aborted (ERR_ABORTED) just before the
        // renderer dies, so either outcome is acceptable here.
        let result = ctx.navigate("chrome://crash", Duration::from_secs(5)).await;
        assert!(
            matches!(
                result,
                Err(BrowserError::PageCrash | BrowserError::Navigation { .. })
            ),
            "unexpected {result:?}"
        );
        let mut crashed = false;
        for _ in 0..100 {
            if matches!(ctx.page_state().await, Err(BrowserError::PageCrash)) {
                crashed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(crashed, "crash never reported");
        // Every later call on the context reports the crash.
        assert!(matches!(
            ctx.current_url().await,
            Err(BrowserError::PageCrash)
        ));
        assert!(matches!(
            ctx.navigate(&format!("{}/next", f.base), NAV).await,
            Err(BrowserError::PageCrash)
        ));
        ctx.close().await;
        // Other contexts are unaffected.
        let other = f.pool.new_context().await.expect("context");
        other
            .navigate(&format!("{}/next", f.base), NAV)
            .await
            .expect("navigate");
        other.close().await;
    });
}

/// Capacity accounting and shutdown, on a pool of its own.
#[test]
fn capacity_close_and_clean_shutdown() {
    support::init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let profiles = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let pool = BrowserPool::launch(BrowserConfig {
            contexts_per_browser: 1,
            profile_root: profiles.path().to_path_buf(),
            ..BrowserConfig::default()
        })
        .await
        .expect("launch");
        assert!(pool.is_ready());
        assert_eq!(pool.capacity(), 1);

        let first = pool.new_context().await.expect("first context");
        assert_eq!(pool.open_contexts(), 1);
        assert!(matches!(
            pool.new_context().await,
            Err(BrowserError::Unavailable)
        ));
        first.close().await;
        assert_eq!(pool.open_contexts(), 0);
        let second = pool.new_context().await.expect("after close");

        // Dropping without close also frees the slot (asynchronously).
        drop(second);
        let mut third = None;
        for _ in 0..50 {
            match pool.new_context().await {
                Ok(c) => {
                    third = Some(c);
                    break;
                }
                Err(BrowserError::Unavailable) => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        let third = third.expect("slot freed after drop");

        let pids = pool.browser_pids();
        assert_eq!(pids.len(), 1);
        let pgid = pids[0] as i32;
        // SAFETY: existence check only.
        assert_eq!(unsafe { libc::kill(-pgid, 0) }, 0, "group alive before");

        pool.shutdown().await;
        assert!(!pool.is_ready());
        pool.shutdown().await; // idempotent
        assert!(matches!(
            third.page_state().await,
            Err(BrowserError::Closed)
        ));
        assert!(matches!(
            pool.new_context().await,
            Err(BrowserError::Closed)
        ));

        assert!(
            group_gone(pgid).await,
            "chromium process group {pgid} still running"
        );
        // No process anywhere still uses one of our profiles.
        let root = profiles.path().to_string_lossy().to_string();
        for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
            if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                let cmdline = String::from_utf8_lossy(&cmdline);
                assert!(!cmdline.contains(&root), "left behind: {cmdline}");
            }
        }
        // Profiles are removed.
        assert_eq!(std::fs::read_dir(profiles.path()).expect("dir").count(), 0);
    });
}

/// A browser that dies under us: contexts report `Closed`, the pool is no
/// longer ready and hands out nothing, and shutdown still completes.
#[test]
fn browser_death_closes_contexts() {
    support::init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let profiles = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let pool = BrowserPool::launch(BrowserConfig {
            contexts_per_browser: 2,
            profile_root: profiles.path().to_path_buf(),
            ..BrowserConfig::default()
        })
        .await
        .expect("launch");
        let ctx = pool.new_context().await.expect("context");
        let pgid = pool.browser_pids()[0] as i32;
        // SAFETY: kills the process group this test just started.
        unsafe { libc::killpg(pgid, libc::SIGKILL) };
        let mut ready = true;
        for _ in 0..100 {
            ready = pool.is_ready();
            if !ready {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!ready, "pool still ready after the browser died");
        assert!(matches!(ctx.page_state().await, Err(BrowserError::Closed)));
        // (The watchdog then starts a replacement browser: see tests/pool.rs.)
        tokio::time::timeout(Duration::from_secs(10), pool.shutdown())
            .await
            .expect("shutdown must not hang");
        assert!(
            group_gone(pgid).await,
            "chromium process group {pgid} still running"
        );
        assert_eq!(std::fs::read_dir(profiles.path()).expect("dir").count(), 0);
    });
}

/// Whether every process of group `pgid` is gone (zombies awaiting init's reaping count as
/// gone: they run nothing and hold no memory), polling up to 10 s.
async fn group_gone(pgid: i32) -> bool {
    for _ in 0..500 {
        // SAFETY: signal 0 only checks for existence.
        if unsafe { libc::kill(-pgid, 0) } != 0 {
            return true;
        }
        let live = std::fs::read_dir("/proc")
            .map(|entries| {
                entries.flatten().any(|e| {
                    let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                        return false;
                    };
                    // Fields after the ")" of the command name: state, ppid, pgrp, ...
                    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r.to_string()) else {
                        return false;
                    };
                    let fields: Vec<&str> = rest.split_whitespace().collect();
                    fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z"
                })
            })
            .unwrap_or(true);
        if !live {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}
