//! Page-level actions against a real Chromium: history, keys, scrolling, waits,
//! screenshots, extraction and the network log.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::{asset, html, runtime, serve};
use wayfarer_browser::{
    BrowserConfig, BrowserError, BrowserPool, ElementId, ImageFormat, PageState, TabId,
};

const T: Duration = Duration::from_secs(15);

fn pages() -> HashMap<&'static str, support::Page> {
    let long: String = (0..200).map(|i| format!("<p>Line {i}</p>")).collect();
    let mut pages = HashMap::new();
    pages.insert(
        "/",
        html(r#"<!doctype html><html><head><title>One</title><link rel="stylesheet" href="/style.css"><script src="/app.js"></script></head>
        <body><h1>First</h1><a href="/two">Two</a>
        <form action="/two" method="get"><input name="q" autofocus></form>
        <table><tr><th>Name</th><th>Price</th></tr><tr><td>Tea</td><td>3</td></tr><tr><td>Coffee</td><td>4</td></tr></table>
        <div id="later"></div>
        <script>setTimeout(() => { document.getElementById('later').textContent = 'Arrived late'; }, 500);</script>
        </body></html>"#),
    );
    pages.insert(
        "/two",
        html("<!doctype html><title>Two</title><h1>Second</h1>"),
    );
    pages.insert(
        "/long",
        html(&format!(
            "<!doctype html><title>Long</title><h1>Long</h1>{long}"
        )),
    );
    pages.insert("/style.css", asset("text/css", "h1 { color: #333 }"));
    pages.insert("/app.js", asset("text/javascript", "window.loaded = true;"));
    pages
}

/// A pool of its own (one browser, no pre-warming) with profiles under `dir`.
async fn small_pool(dir: &std::path::Path) -> std::sync::Arc<BrowserPool> {
    BrowserPool::launch(BrowserConfig {
        profile_root: dir.to_path_buf(),
        prewarm: 0,
        contexts_per_browser: 2,
        ..BrowserConfig::default()
    })
    .await
    .unwrap()
}

#[test]
fn page_actions_work_end_to_end() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pool = small_pool(dir.path()).await;
        let base = serve(pages()).await;
        let ctx = pool.new_context().await.unwrap();

        // Network log: the page's subresources are recorded.
        let recorder = ctx.record_network().await.unwrap();
        ctx.navigate(&format!("{base}/"), T).await.unwrap();
        let log = recorder.finish();
        let urls: Vec<&str> = log.iter().map(|e| e.url.as_str()).collect();
        for path in ["/", "/style.css", "/app.js"] {
            assert!(
                urls.contains(&format!("{base}{path}").as_str()),
                "{path} not logged: {urls:?}"
            );
        }

        // Waits.
        ctx.wait_for_text("Arrived late", T).await.unwrap();
        let missing = ctx
            .wait_for_text("Never there", Duration::from_millis(300))
            .await;
        assert!(
            matches!(missing, Err(BrowserError::WaitTimeout { .. })),
            "{missing:?}"
        );
        ctx.wait_for_selector("#later", T).await.unwrap();
        ctx.wait_for_network_idle(Duration::from_millis(300), T)
            .await
            .unwrap();

        // Extraction.
        let tables = ctx.extract_tables().await.unwrap();
        assert_eq!(tables.len(), 1);
        assert_eq!(tables[0].headers, vec!["Name", "Price"]);
        assert_eq!(tables[0].rows, vec![vec!["Tea", "3"], vec!["Coffee", "4"]]);
        assert!(ctx.extract_text().await.unwrap().contains("First"));

        // Keys: typing then Enter submits the form.
        ctx.press_key("a").await.unwrap();
        let submitted = ctx.press_key("Enter").await.unwrap();
        let went = submitted.navigated_to.unwrap_or_default();
        assert!(went.starts_with(&format!("{base}/two?q=a")), "{went}");
        assert!(ctx.press_key("Hyper+q").await.is_err());

        // History.
        let back = ctx.go_history(-1, T).await.unwrap();
        assert_eq!(
            back.navigated_to.as_deref(),
            Some(format!("{base}/").as_str())
        );
        let fwd = ctx.go_history(1, T).await.unwrap();
        assert!(
            fwd.navigated_to
                .unwrap()
                .starts_with(&format!("{base}/two"))
        );
        let reloaded = ctx.reload(T).await.unwrap();
        assert!(
            reloaded
                .navigated_to
                .unwrap()
                .starts_with(&format!("{base}/two"))
        );

        // Scrolling and screenshots on a long page.
        ctx.navigate(&format!("{base}/long"), T).await.unwrap();
        assert_eq!(ctx.scroll_position().await.unwrap().1, 0.0);
        ctx.scroll_page(0.0, 800.0).await.unwrap();
        let mut y = 0.0;
        for _ in 0..40 {
            y = ctx.scroll_position().await.unwrap().1;
            if y > 0.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(y > 0.0, "wheel scrolling moved the page");
        let png = ctx.screenshot(ImageFormat::Png, None, false).await.unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let png_height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        assert_eq!(png_height, 600, "viewport screenshot");
        let full = ctx.screenshot(ImageFormat::Png, None, true).await.unwrap();
        let full_height = u32::from_be_bytes([full[20], full[21], full[22], full[23]]);
        assert!(
            full_height > 600,
            "full page is taller than the viewport: {full_height}"
        );
        let jpeg = ctx
            .screenshot(ImageFormat::Jpeg, Some(50), false)
            .await
            .unwrap();
        assert_eq!(&jpeg[..2], b"\xff\xd8");

        ctx.close().await;
        pool.shutdown().await;
    });
}

#[test]
fn a_crashed_page_is_replaced_in_the_same_context() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pool = small_pool(dir.path()).await;
        let mut pages = HashMap::new();
        pages.insert("/set", html("<!doctype html><title>Set</title><script>document.cookie = 'kept=yes; path=/';</script><h1>Set</h1>"));
        pages.insert("/show", html("<!doctype html><title>Show</title><h1 id=c></h1><script>document.getElementById('c').textContent = 'cookie ' + document.cookie;</script>"));
        let base = serve(pages).await;
        let ctx = pool.new_context().await.unwrap();
        ctx.navigate(&format!("{base}/set"), T).await.unwrap();
        let crashed = ctx.navigate("chrome://crash", T).await;
        assert!(matches!(crashed, Err(BrowserError::PageCrash)), "{crashed:?}");
        assert!(ctx.is_crashed());
        assert!(matches!(ctx.page_state().await, Err(BrowserError::PageCrash)));
        ctx.recover().await.unwrap();
        assert!(!ctx.is_crashed());
        assert_eq!(pool.in_use(), 1, "still one slot");
        ctx.navigate(&format!("{base}/show"), T).await.unwrap();
        let state = ctx.page_state().await.unwrap();
        assert_eq!(state.headings.first().map(String::as_str), Some("cookie kept=yes"), "same browser context: cookies kept");
        ctx.close().await;
        assert_eq!(pool.in_use(), 0);
        pool.shutdown().await;
    });
}

const FORM: &str = r#"<!doctype html><html><head><title>Form</title></head><body>
<h1 id=h>Form</h1>
<button ondblclick="document.getElementById('h').textContent='Double clicked'">Twice</button>
<span role=button tabindex=0 onmouseover="this.textContent='Hovered'">Hover me</span>
<label>Name <input id=name value="old value"></label>
<label>Size <select id=size onchange="document.getElementById('h').textContent='Size '+this.value"><option value=s>Small</option><option value=l>Large</option></select></label>
<label><input type=checkbox id=agree> Agree</label>
<div role=listbox aria-label="Long list" tabindex=0 style="height:60px;overflow:auto"><div role=option>1</div><div role=option>2</div><div role=option>3</div><div role=option>4</div><div role=option>5</div><div role=option>6</div></div>
<label>Attachment <input type=file id=f onchange="document.getElementById('h').textContent='File '+this.files[0].name"></label>
<div role=img aria-label="Red box" style="width:120px;height:40px;background:red"></div>
</body></html>"#;

#[test]
fn element_actions_work_on_a_form() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pool = small_pool(dir.path()).await;
        let mut pages = HashMap::new();
        pages.insert("/form", html(FORM));
        let base = serve(pages).await;
        let ctx = pool.new_context().await.unwrap();
        ctx.navigate(&format!("{base}/form"), T).await.unwrap();
        let state = ctx.page_state().await.unwrap();
        let id = |role: &str, name: &str| {
            state
                .elements
                .iter()
                .find(|e| e.role == role && e.name.starts_with(name))
                .unwrap_or_else(|| panic!("{role} {name} in {:?}", state.elements))
                .id
        };
        let heading =
            |s: &wayfarer_browser::PageState| s.headings.first().cloned().unwrap_or_default();

        ctx.double_click(id("button", "Twice")).await.unwrap();
        assert_eq!(heading(&ctx.page_state().await.unwrap()), "Double clicked");

        ctx.hover(id("button", "Hover me")).await.unwrap();
        assert!(ctx.extract_text().await.unwrap().contains("Hovered"));

        let name = id("textbox", "Name");
        ctx.clear(name).await.unwrap();
        let after = ctx.page_state().await.unwrap();
        assert_eq!(
            after
                .elements
                .iter()
                .find(|e| e.id == name)
                .unwrap()
                .value
                .as_deref()
                .unwrap_or(""),
            ""
        );
        ctx.focus(name).await.unwrap();
        ctx.press_key("x").await.unwrap();
        let after = ctx.page_state().await.unwrap();
        assert_eq!(
            after
                .elements
                .iter()
                .find(|e| e.id == name)
                .unwrap()
                .value
                .as_deref(),
            Some("x")
        );

        ctx.select_option(id("combobox", "Size"), "Large")
            .await
            .unwrap();
        assert_eq!(heading(&ctx.page_state().await.unwrap()), "Size l");
        assert!(
            ctx.select_option(id("combobox", "Size"), "Huge")
                .await
                .is_err()
        );

        let agree = id("checkbox", "Agree");
        ctx.set_checked(agree, true).await.unwrap();
        let again = ctx.set_checked(agree, true).await.unwrap();
        assert!(
            again.description.contains("already"),
            "{}",
            again.description
        );
        let after = ctx.page_state().await.unwrap();
        assert_eq!(
            after
                .elements
                .iter()
                .find(|e| e.id == agree)
                .unwrap()
                .checked,
            Some(true)
        );
        ctx.set_checked(agree, false).await.unwrap();
        let after = ctx.page_state().await.unwrap();
        assert_eq!(
            after
                .elements
                .iter()
                .find(|e| e.id == agree)
                .unwrap()
                .checked,
            Some(false)
        );

        let list = ctx
            .scroll_element(id("listbox", "Long list"), 0.0, 30.0)
            .await
            .unwrap();
        assert!(list.description.ends_with(" to 30"), "{}", list.description);

        let upload = dir.path().join("report.txt");
        std::fs::write(&upload, "hello").unwrap();
        let file_input = state
            .elements
            .iter()
            .find(|e| e.input_type.as_deref() == Some("file"))
            .expect("file input")
            .id;
        ctx.upload_files(file_input, std::slice::from_ref(&upload))
            .await
            .unwrap();
        assert_eq!(heading(&ctx.page_state().await.unwrap()), "File report.txt");
        assert!(
            ctx.upload_files(file_input, &[dir.path().join("missing.txt")])
                .await
                .is_err()
        );

        let png = ctx
            .screenshot_element(id("listbox", "Long list"))
            .await
            .unwrap();
        let (w, h) = (
            u32::from_be_bytes([png[16], png[17], png[18], png[19]]),
            u32::from_be_bytes([png[20], png[21], png[22], png[23]]),
        );
        assert_eq!((w, h), (1008, 60), "the element's own box");

        assert!(matches!(
            ctx.hover(wayfarer_browser::ElementId(9999)).await,
            Err(BrowserError::ElementNotFound { .. })
        ));
        ctx.close().await;
        pool.shutdown().await;
    });
}

/// The id of the element with `role` whose name starts with `name`.
fn find(state: &PageState, role: &str, name: &str) -> ElementId {
    state
        .elements
        .iter()
        .find(|e| e.role == role && e.name.starts_with(name))
        .unwrap_or_else(|| panic!("no {role} {name:?} in\n{}", state.to_prompt_text()))
        .id
}

const OPENER: &str = r#"<!doctype html><title>Opener</title><h1>Opener</h1>
<a href="/second" target="_blank">New tab link</a>
<button onclick="window.open('/third')">Popup button</button>
<a href="/second">Same tab link</a>"#;

#[test]
fn tabs_open_switch_close_and_adopt_what_the_page_opens() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pool = small_pool(dir.path()).await;
        let mut pages = HashMap::new();
        pages.insert("/", html(OPENER));
        pages.insert("/second", html("<!doctype html><title>Second</title><h1>Second page</h1><button onclick='window.close()'>Close me</button>"));
        pages.insert("/third", html("<!doctype html><title>Third</title><h1>Third page</h1>"));
        let base = serve(pages).await;
        let ctx = pool.new_context().await.unwrap();
        ctx.navigate(&format!("{base}/"), T).await.unwrap();
        let state = ctx.page_state().await.unwrap();
        assert!(state.tabs.is_empty(), "one tab: no tab list");
        assert!(!state.to_prompt_text().contains("tabs"));

        // A target=_blank link opens a tab that becomes active.
        let link = find(&state, "link", "New tab link");
        let report = ctx.click(link).await.unwrap();
        let opened = report.opened_tab.expect("the click opened a tab");
        assert_eq!(opened, TabId(1));
        assert!(report.navigated_to.as_deref().unwrap_or_default().ends_with("/second"), "{report:?}");
        let state = ctx.page_state().await.unwrap();
        assert_eq!(state.title, "Second");
        assert_eq!(state.tabs.len(), 2);
        assert!(state.tabs.iter().any(|t| t.id == TabId(1) && t.active));
        assert!(state.to_prompt_text().contains("tabs (* active): [0] Opener | *[1] Second"), "{}", state.to_prompt_text());

        // Switch back: actions and perception go to the first tab again.
        let report = ctx.switch_tab(TabId(0)).await.unwrap();
        assert!(report.navigated_to.unwrap().ends_with('/'));
        let state = ctx.page_state().await.unwrap();
        assert_eq!(state.title, "Opener");

        // window.open from a click: adopted too.
        let popup = find(&state, "button", "Popup button");
        let report = ctx.click(popup).await.unwrap();
        assert_eq!(report.opened_tab, Some(TabId(2)));
        assert_eq!(ctx.page_state().await.unwrap().title, "Third");

        // A same-tab link opens nothing.
        ctx.switch_tab(TabId(0)).await.unwrap();
        let state = ctx.page_state().await.unwrap();
        let same = find(&state, "link", "Same tab link");
        let report = ctx.click(same).await.unwrap();
        assert_eq!(report.opened_tab, None);
        assert_eq!(ctx.page_state().await.unwrap().title, "Second");

        // Unknown tabs and closing the last tab are refused with a reason.
        let err = ctx.switch_tab(TabId(9)).await.unwrap_err();
        assert!(matches!(&err, BrowserError::InvalidArgument(m) if m.contains("no tab 9")), "{err:?}");

        // Close the active tab: the most recently used other tab takes over.
        ctx.switch_tab(TabId(2)).await.unwrap();
        let report = ctx.close_tab(TabId(2)).await.unwrap();
        assert!(report.description.contains("tab 0 is active"), "{report:?}");
        assert_eq!(ctx.page_state().await.unwrap().title, "Second");

        // The page closing its own tab (window.close on a tab it opened): the context lives on.
        ctx.switch_tab(TabId(1)).await.unwrap();
        let state = ctx.page_state().await.unwrap();
        let close_me = find(&state, "button", "Close me");
        ctx.click(close_me).await.unwrap();
        let mut tabs = ctx.list_tabs().await.unwrap();
        for _ in 0..50 {
            if tabs.len() == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            tabs = ctx.list_tabs().await.unwrap();
        }
        assert_eq!(tabs.len(), 1, "{tabs:?}");
        assert!(tabs[0].active && tabs[0].id == TabId(0));
        assert!(!ctx.is_lost());
        assert_eq!(ctx.page_state().await.unwrap().title, "Second");
        let err = ctx.close_tab(TabId(0)).await.unwrap_err();
        assert!(matches!(&err, BrowserError::InvalidArgument(m) if m.contains("only tab")), "{err:?}");

        // open_tab with a URL, then every tab goes with the context.
        let report = ctx.open_tab(Some(&format!("{base}/third")), T).await.unwrap();
        assert_eq!(report.opened_tab, Some(TabId(3)));
        assert_eq!(ctx.page_state().await.unwrap().title, "Third");
        ctx.close().await;
        assert_eq!(pool.in_use(), 0);
        pool.shutdown().await;
    });
}

#[test]
fn a_plain_navigation_through_the_guard_reports_an_unreachable_site() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let pool = BrowserPool::launch(BrowserConfig {
            profile_root: dir.path().to_path_buf(),
            prewarm: 0,
            contexts_per_browser: 1,
            network_guard: Some(wayfarer_browser::GuardSettings {
                block_private: false,
                resolver: std::sync::Arc::new(wayfarer_browser::SystemResolver),
            }),
            ..BrowserConfig::default()
        })
        .await
        .unwrap();
        // A loopback port that was just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let ctx = pool.new_context().await.unwrap();
        // No task, no network recorder: the guard's error page must still be recognised.
        let err = ctx.navigate(&format!("http://127.0.0.1:{port}/"), T).await.unwrap_err();
        assert!(
            matches!(&err, BrowserError::Navigation { reason, .. } if reason.contains("unreachable")),
            "{err:?}"
        );
        // Link-local is refused before any connection.
        let err = ctx.navigate("http://169.254.169.254/latest/meta-data/", T).await.unwrap_err();
        assert!(matches!(&err, BrowserError::Blocked { reason, .. } if reason == "link_local"), "{err:?}");
        ctx.close().await;
        pool.shutdown().await;
    });
}
