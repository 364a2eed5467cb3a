//! Perception against a real Chromium: iframes (same-origin, nested,
//! cross-origin out-of-process, late-loading), open shadow DOM, a modal
//! dialog, a long list, ARIA widgets, form controls, a download link.
//!
//! The fixture server listens on 127.0.0.1 and the pages reach it both as
//! `127.0.0.1:PORT` and `localhost:PORT`: two sites, so Chromium puts the
//! `localhost` iframe in its own renderer process (a real OOPIF). Nothing
//! but loopback is contacted.

mod support;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use wayfarer_browser::{
    BrowserContext, Element, ElementId, OutlineItem, PageState, PerceiveOptions,
};

const NAV: Duration = Duration::from_secs(10);

/// The main page; `{CROSS}` becomes the cross-origin base URL.
const MAIN: &str = r#"<!doctype html>
<html><head><title>Perception fixture</title></head>
<body>
<h1>Perception fixture</h1>
<nav><a href="/a">Alpha</a> <a href="/b">Beta</a> <a href="/c">Gamma</a> <a href="/d">Delta</a></nav>
<p>Plain informative paragraph.</p>
<div aria-hidden="true"><a href="/hidden">Hidden-to-AT link</a> <span style="visibility:hidden"><a href="/x">Invisible link</a></span></div>
<label>Full name <input id="name" type="text" value="Ada"></label>
<label><input type="checkbox" checked> Subscribe</label>
<label><input type="checkbox"> Accept terms</label>
<label for="country">Country</label>
<select id="country"><option>France</option><option selected>Germany</option><option>Spain</option></select>
<label for="cv">Resume</label><input id="cv" type="file">
<a href="/report.csv" download>Download report</a>
<button disabled>Disabled action</button>
<div role="tablist" aria-label="Sections">
  <div role="tab" aria-selected="true" tabindex="0">Overview</div>
  <div role="tab" aria-selected="false" tabindex="-1">Details</div>
</div>
<label id="fruit-label">Fruit</label>
<input role="combobox" aria-labelledby="fruit-label" aria-expanded="false" aria-controls="fruits">
<ul role="listbox" id="fruits" hidden><li role="option">Apple</li></ul>
<ul role="tree" aria-label="Files">
  <li role="treeitem" aria-expanded="true">src
    <ul role="group"><li role="treeitem">main.rs</li></ul>
  </li>
</ul>
<div id="host"></div>
<button id="open" onclick="document.getElementById('dlg').showModal()">Open dialog</button>
<dialog id="dlg" aria-label="Confirm order"><p>Sure?</p><button onclick="this.closest('dialog').close()">Confirm</button></dialog>
<iframe title="Same origin" src="/same" width="400" height="150"></iframe>
<iframe title="Cross origin" src="{CROSS}/cross" width="400" height="150"></iframe>
<ul id="long">{ROWS}</ul>
<script>
  document.getElementById('host').attachShadow({ mode: 'open' }).innerHTML =
    '<button>Shadow button</button>';
  window.addEventListener('load', () => setTimeout(() => {
    const f = document.createElement('iframe');
    f.title = 'Late';
    f.src = '/late';
    document.body.insertBefore(f, document.getElementById('long'));
  }, 100));
</script>
</body></html>"#;

const SAME: &str = r#"<!doctype html><html><head><title>same</title></head><body>
<button>Same-origin button</button>
<iframe title="Nested" src="/nested" width="300" height="80"></iframe>
</body></html>"#;

const NESTED: &str = r#"<!doctype html><html><head><title>nested</title></head><body>
<a href="/x">Nested link</a> <label><input type="checkbox"> Nested box</label>
</body></html>"#;

const CROSS: &str = r#"<!doctype html><html><head><title>cross</title></head><body>
<button id="b" onclick="this.textContent = 'Cross clicked'">Cross-origin button</button>
<label>Card number <input type="text"></label>
</body></html>"#;

const LATE: &str = r#"<!doctype html><html><head><title>late</title></head><body>
<button>Late button</button></body></html>"#;

fn main_page(cross_base: &str) -> String {
    let rows: String = (1..=60)
        .map(|i| format!("<li><button>Row {i}</button></li>"))
        .collect();
    MAIN.replace("{CROSS}", cross_base).replace("{ROWS}", &rows)
}

fn fixture() -> &'static support::SharedBrowser {
    static FIXTURE: OnceLock<support::SharedBrowser> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        support::launch_shared(async || {
            support::serve_with(|port| {
                let mut pages = HashMap::new();
                pages.insert(
                    "/",
                    support::html(&main_page(&format!("http://localhost:{port}"))),
                );
                pages.insert("/same", support::html(SAME));
                pages.insert("/nested", support::html(NESTED));
                pages.insert("/cross", support::html(CROSS));
                pages.insert("/late", support::html(LATE));
                pages.insert("/report.csv", support::asset("text/csv", "a,b\n1,2\n"));
                pages
            })
            .await
        })
    })
}

fn try_find<'a>(state: &'a PageState, role: &str, name: &str) -> Option<&'a Element> {
    state
        .elements
        .iter()
        .find(|e| e.role == role && e.name == name)
}

fn find<'a>(state: &'a PageState, role: &str, name: &str) -> &'a Element {
    try_find(state, role, name)
        .unwrap_or_else(|| panic!("no {role} {name:?} in\n{}", state.to_prompt_text()))
}

/// Opens the fixture and waits (bounded) until the late iframe's content
/// is part of the state, so every test sees the complete page.
async fn open_fixture(f: &support::SharedBrowser) -> (BrowserContext, PageState) {
    let ctx = f.pool.new_context().await.expect("context");
    ctx.navigate(&format!("{}/", f.base), NAV)
        .await
        .expect("navigate");
    let state = wait_for(&ctx, |s| try_find(s, "button", "Late button").is_some()).await;
    (ctx, state)
}

/// Polls page states until `done` holds; fails after a generous cap (a
/// correctness bound, not a performance threshold).
async fn wait_for(ctx: &BrowserContext, done: impl Fn(&PageState) -> bool) -> PageState {
    let mut last = None;
    for _ in 0..100 {
        let state = ctx.page_state().await.expect("page state");
        if done(&state) {
            return state;
        }
        last = Some(state);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "condition never held; last state:\n{}",
        last.map(|s| s.to_prompt_text()).unwrap_or_default()
    );
}

#[test]
fn every_interactive_element_has_role_name_and_state() {
    let f = fixture();
    f.rt.block_on(async {
        let (ctx, state) = open_fixture(f).await;
        let prompt = state.to_prompt_text();

        for name in ["Alpha", "Beta", "Gamma", "Delta"] {
            let link = find(&state, "link", name);
            assert!(link.in_viewport, "{name} should be in the viewport");
            assert_eq!(link.frame, None);
        }
        let name = find(&state, "textbox", "Full name");
        assert_eq!(name.value.as_deref(), Some("Ada"));
        assert_eq!(find(&state, "checkbox", "Subscribe").checked, Some(true));
        assert_eq!(
            find(&state, "checkbox", "Accept terms").checked,
            Some(false)
        );

        let country = find(&state, "combobox", "Country");
        assert_eq!(country.value.as_deref(), Some("Germany"));
        assert_eq!(country.options, vec!["France", "Germany", "Spain"]);
        assert!(
            !state
                .elements
                .iter()
                .any(|e| e.role == "option" && e.name == "France"),
            "native options are folded into their select:\n{prompt}"
        );

        let file = state
            .elements
            .iter()
            .find(|e| e.input_type.as_deref() == Some("file"))
            .unwrap_or_else(|| panic!("no file input in\n{prompt}"));
        assert_eq!(file.name, "Resume", "{prompt}");

        let download = find(&state, "link", "Download report");
        assert!(download.download);
        assert!(find(&state, "button", "Disabled action").disabled);

        let overview = find(&state, "tab", "Overview");
        assert_eq!(overview.selected, Some(true));
        assert_eq!(find(&state, "tab", "Details").selected, Some(false));
        let fruit = find(&state, "combobox", "Fruit");
        assert_eq!(fruit.expanded, Some(false));
        assert_eq!(find(&state, "treeitem", "src").expanded, Some(true));
        find(&state, "treeitem", "main.rs");

        // aria-hidden hides from assistive technology, not from the mouse:
        // visible content stays a target; visibility:hidden content does not.
        find(&state, "link", "Hidden-to-AT link");
        assert!(
            try_find(&state, "link", "Invisible link").is_none(),
            "{prompt}"
        );

        // Open shadow root content is part of the page.
        find(&state, "button", "Shadow button");

        // Iframes: same-origin, nested inside it, cross-origin (OOPIF), late.
        let same = find(&state, "button", "Same-origin button");
        let nested = find(&state, "link", "Nested link");
        find(&state, "checkbox", "Nested box");
        let cross = find(&state, "button", "Cross-origin button");
        find(&state, "textbox", "Card number");
        find(&state, "button", "Late button");
        let frame = |el: &Element| &state.frames[el.frame.expect("in a frame")];
        assert_eq!(frame(same).name, "Same origin");
        assert!(!frame(same).cross_origin);
        assert_eq!(frame(nested).name, "Nested");
        assert_eq!(frame(nested).parent, same.frame);
        assert!(frame(cross).cross_origin);
        assert!(
            frame(cross).out_of_process,
            "a localhost iframe in a 127.0.0.1 page runs in its own process"
        );
        assert!(
            prompt.contains(&format!(
                "-- iframe \"Cross origin\" (cross-origin {}) --",
                f.cross()
            )),
            "{prompt}"
        );

        // The long list: all rows listed, the last ones below the viewport.
        let last = find(&state, "button", "Row 60");
        assert!(!last.in_viewport);
        assert!(
            last.rect
                .is_some_and(|r| r.y > state.scroll.viewport_height)
        );
        assert!(prompt.contains("-- below viewport --"), "{prompt}");
        assert!(
            prompt.contains("buttons: ["),
            "a run of plain buttons folds:\n{prompt}"
        );
        // Labels are not separate targets: their control is.
        assert!(
            !state.elements.iter().any(|e| e.role == "clickable"),
            "{prompt}"
        );
        assert!(state.scroll.page_height > state.scroll.viewport_height);

        // Informative content.
        assert_eq!(state.title, "Perception fixture");
        assert!(state.headings.contains(&"Perception fixture".to_string()));
        assert!(
            state.digest.contains("Plain informative paragraph."),
            "{}",
            state.digest
        );
        assert!(prompt.contains("# Perception fixture\n"), "{prompt}");
        assert!(
            prompt.contains("links: ["),
            "four nav links fold onto one line:\n{prompt}"
        );

        // Ids are unique.
        let mut ids: Vec<ElementId> = state.elements.iter().map(|e| e.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), state.elements.len());
        ctx.close().await;
    });
}

#[test]
fn ids_are_stable_and_the_diff_reports_changes() {
    let f = fixture();
    f.rt.block_on(async {
        let (ctx, first) = open_fixture(f).await;
        let second = ctx.page_state().await.expect("page state");
        let key = |s: &PageState| -> Vec<(ElementId, String, String)> {
            s.elements
                .iter()
                .map(|e| (e.id, e.role.clone(), e.name.clone()))
                .collect()
        };
        assert_eq!(key(&first), key(&second), "same page, same ids");
        let diff = second.diff.as_ref().expect("a diff after the first state");
        assert!(diff.added.is_empty() && diff.removed.is_empty() && !diff.new_page);
        assert!(second.to_prompt_text().contains("changes: none\n"));

        // Opening the modal adds its button; everything else keeps its id.
        ctx.click(find(&second, "button", "Open dialog").id)
            .await
            .expect("open dialog");
        let third = wait_for(&ctx, |s| try_find(s, "button", "Confirm").is_some()).await;
        let confirm = find(&third, "button", "Confirm").id;
        let diff = third.diff.as_ref().expect("diff");
        assert!(diff.added.contains(&confirm), "{diff:?}");
        // A modal dialog makes the rest of the page inert: it is not
        // actionable, so it is not listed while the dialog is open.
        let open_id = find(&second, "button", "Open dialog").id;
        assert!(diff.removed.contains(&open_id), "{diff:?}");
        assert!(try_find(&third, "button", "Cross-origin button").is_none());
        assert!(
            third.outline.iter().any(|i| matches!(
                i,
                OutlineItem::DialogStart { name, modal: true } if name == "Confirm order"
            )),
            "{}",
            third.to_prompt_text()
        );
        assert!(
            third
                .to_prompt_text()
                .contains("-- dialog \"Confirm order\" (modal) --")
        );
        ctx.click(confirm).await.expect("close dialog");
        let fourth = wait_for(&ctx, |s| try_find(s, "button", "Confirm").is_none()).await;
        assert!(
            fourth
                .diff
                .as_ref()
                .expect("diff")
                .removed
                .contains(&confirm)
        );
        // Back from inert: the same nodes get their old ids again.
        assert_eq!(find(&fourth, "button", "Open dialog").id, open_id);
        assert_eq!(
            find(&fourth, "button", "Cross-origin button").id,
            find(&second, "button", "Cross-origin button").id
        );

        // A navigation starts the ids over and says so.
        ctx.navigate(&format!("{}/late", f.base), NAV)
            .await
            .expect("navigate");
        let fifth = ctx.page_state().await.expect("page state");
        assert_eq!(find(&fifth, "button", "Late button").id, ElementId(1));
        let diff = fifth.diff.expect("diff");
        assert!(diff.new_page);
        assert_eq!(
            diff.previous_url.as_deref(),
            Some(format!("{}/", f.base).as_str())
        );
        ctx.close().await;
    });
}

#[test]
fn clicks_reach_into_cross_origin_and_nested_iframes() {
    let f = fixture();
    f.rt.block_on(async {
        let (ctx, state) = open_fixture(f).await;
        let cross = find(&state, "button", "Cross-origin button").id;
        let report = ctx.click(cross).await.expect("click in OOPIF");
        assert_eq!(
            report.description,
            r#"clicked button "Cross-origin button""#
        );
        let after = wait_for(&ctx, |s| try_find(s, "button", "Cross clicked").is_some()).await;
        // Same DOM node, new name: the id survives.
        assert_eq!(find(&after, "button", "Cross clicked").id, cross);

        // The nested same-origin checkbox toggles.
        let nested = find(&after, "checkbox", "Nested box").id;
        ctx.click(nested).await.expect("click nested");
        let after = wait_for(&ctx, |s| {
            try_find(s, "checkbox", "Nested box").is_some_and(|e| e.checked == Some(true))
        })
        .await;
        assert_eq!(find(&after, "checkbox", "Nested box").id, nested);

        // Typing into a field of the cross-origin iframe.
        let card = find(&after, "textbox", "Card number").id;
        ctx.type_text(card, "4242").await.expect("type in OOPIF");
        let after = wait_for(&ctx, |s| {
            try_find(s, "textbox", "Card number")
                .is_some_and(|e| e.value.as_deref() == Some("4242"))
        })
        .await;
        assert_eq!(find(&after, "textbox", "Card number").id, card);
        ctx.close().await;
    });
}

#[test]
fn scrolling_an_element_into_view_updates_viewport_flags() {
    let f = fixture();
    f.rt.block_on(async {
        let (ctx, state) = open_fixture(f).await;
        let row = find(&state, "button", "Row 60");
        assert!(!row.in_viewport);
        let alpha = find(&state, "link", "Alpha").id;
        // Clicking scrolls it into view first.
        ctx.click(row.id).await.expect("click row");
        let after = ctx.page_state().await.expect("page state");
        let row_after = find(&after, "button", "Row 60");
        assert_eq!(row_after.id, row.id);
        assert!(row_after.in_viewport, "{:?}", row_after.rect);
        assert!(after.scroll.y > 0.0);
        let alpha_after = find(&after, "link", "Alpha");
        assert_eq!(alpha_after.id, alpha);
        assert!(!alpha_after.in_viewport);
        let prompt = after.to_prompt_text();
        assert!(prompt.contains("-- above viewport --"), "{prompt}");
        assert!(prompt.contains("scroll: y="), "{prompt}");
        ctx.close().await;
    });
}

#[test]
fn full_page_digest_covers_text_beyond_the_viewport() {
    let f = fixture();
    f.rt.block_on(async {
        let (ctx, _) = open_fixture(f).await;
        let lean = ctx.page_state().await.expect("page state");
        let full = ctx
            .page_state_with(PerceiveOptions {
                full_page: true,
                ..PerceiveOptions::default()
            })
            .await
            .expect("page state");
        assert!(full.full_page && !lean.full_page);
        // The same actionable elements either way.
        assert_eq!(lean.elements.len(), full.elements.len());
        assert!(full.digest.contains("Sure?") || full.digest.len() >= lean.digest.len());
        ctx.close().await;
    });
}
