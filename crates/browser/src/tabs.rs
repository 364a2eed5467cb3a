//! Tabs: the pages of one browser context, which of them actions go to, and the tab actions
//! (list, open, switch, close; a tab the page opens itself is adopted).
//!
//! Invariants:
//! - A context always has at least one tab; the active one is where every action, wait and
//!   perception goes. Tab ids are small numbers that are never reused within a context, so a
//!   planner's "tab 2" cannot silently come to mean another page.
//! - A tab the page opens (`target=_blank`, `window.open`) is attached and listed at the next
//!   page state; when a click or key press opened it, it becomes the active tab at once (what a
//!   person sees after such a click).
//! - When the active tab goes away (the page called `window.close()`), the most recently used
//!   remaining tab becomes active; the context is only lost when no tab is left.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::actions::ActionReport;
use crate::cdp::{CdpConnection, SessionHandle, SessionStatus};
use crate::context::{BrowserContext, str_field, wait_for_load};
use crate::error::BrowserError;
use crate::perception::{Element, ElementId};

/// How long an adopted tab may take to finish its first load before we act on it anyway (a
/// slow page is not an error: the next page state shows whatever is there).
const ADOPT_LOAD_WAIT: Duration = Duration::from_millis(1500);

/// A tab's id within its context: `0` is the first page, later tabs count up.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TabId(pub u32);

impl std::fmt::Display for TabId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One tab as a planner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TabInfo {
    /// Id to pass to [`BrowserContext::switch_tab`] / [`BrowserContext::close_tab`].
    pub id: TabId,
    /// Document title.
    pub title: String,
    /// Current URL.
    pub url: String,
    /// Whether actions go to this tab.
    pub active: bool,
}

/// One page (tab) of a context: its target, CDP session and what perception remembers of it.
pub(crate) struct Page {
    pub(crate) tab: TabId,
    pub(crate) target_id: String,
    pub(crate) session: SessionHandle,
    /// The page's main frame id, to tell main-frame navigations from iframes'.
    pub(crate) main_frame_id: String,
    /// Elements of the most recent page state of this tab, by id.
    elements: Mutex<HashMap<ElementId, Element>>,
    /// Stable element ids, previous state, OOPIF sessions and frame routes (see `frames.rs`).
    pub(crate) perception: crate::frames::Memory,
}

impl Page {
    /// Attaches to an existing page target and configures it (events, crash reports, viewport,
    /// network events, OOPIF auto-attach). On failure the session is forgotten again.
    pub(crate) async fn attach(
        conn: &CdpConnection,
        tab: TabId,
        target_id: &str,
        (width, height): (u32, u32),
        mirror: &tokio::sync::broadcast::Sender<crate::cdp::CdpEvent>,
    ) -> Result<Page, BrowserError> {
        let attached = conn
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await?;
        let session_id = str_field(&attached, "sessionId")?;
        let session = conn.register_session(&session_id, target_id, Some(mirror.clone()));
        let sid = Some(session_id.as_str());
        let setup = async {
            conn.call(sid, "Page.enable", json!({})).await?;
            conn.call(
                sid,
                "Page.setLifecycleEventsEnabled",
                json!({ "enabled": true }),
            )
            .await?;
            // Needed for `Inspector.targetCrashed`, our crash signal.
            conn.call(sid, "Inspector.enable", json!({})).await?;
            // Always on: the network log of a task and the guard's error page on a failed
            // navigation are both read from these events. Nothing reads response bodies, so
            // Chromium need not keep them (its default buffer is tens of MB per page).
            conn.call(
                sid,
                "Network.enable",
                json!({ "maxTotalBufferSize": 1 << 20, "maxResourceBufferSize": 1 << 18 }),
            )
            .await?;
            conn.call(
                sid,
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
            )
            .await?;
            // Out-of-process iframes become child sessions on this connection.
            conn.call(
                sid,
                "Target.setAutoAttach",
                json!({ "autoAttach": true, "waitForDebuggerOnStart": false, "flatten": true }),
            )
            .await?;
            let tree = conn.call(sid, "Page.getFrameTree", json!({})).await?;
            let main_frame_id = tree
                .pointer("/frameTree/frame/id")
                .and_then(Value::as_str)
                // Chromium uses the target id as the main frame id.
                .unwrap_or(target_id)
                .to_string();
            Ok::<_, BrowserError>(main_frame_id)
        };
        match setup.await {
            Ok(main_frame_id) => Ok(Page {
                tab,
                target_id: target_id.to_string(),
                session,
                main_frame_id,
                elements: Mutex::new(HashMap::new()),
                perception: crate::frames::Memory::default(),
            }),
            Err(e) => {
                conn.forget_session(&session_id);
                Err(e)
            }
        }
    }

    /// Locks the element map of this tab's latest page state.
    pub(crate) fn elements(&self) -> MutexGuard<'_, HashMap<ElementId, Element>> {
        self.elements.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn status(&self) -> SessionStatus {
        *self.session.status.borrow()
    }
}

/// The tabs of a context, in the order they were opened.
pub(crate) struct TabSet {
    /// Open tabs; never empty while the context is usable.
    pages: Vec<Arc<Page>>,
    /// Tab ids, most recently active last (for falling back when the active tab goes).
    recency: Vec<TabId>,
    next_id: u32,
}

impl TabSet {
    pub(crate) fn new(first: Page) -> TabSet {
        TabSet {
            recency: vec![first.tab],
            next_id: first.tab.0 + 1,
            pages: vec![Arc::new(first)],
        }
    }

    /// The tab actions go to. If it went away, the most recently used live tab takes over.
    pub(crate) fn active(&mut self) -> Arc<Page> {
        while self.recency.len() > 1 {
            let Some(&last) = self.recency.last() else {
                break;
            };
            match self.get(last) {
                Some(p) if p.status() != SessionStatus::Gone => break,
                _ => {
                    self.recency.pop();
                }
            }
        }
        let active = self.recency.last().copied().unwrap_or_default();
        match self.get(active) {
            Some(page) => page,
            // Unreachable while `pages` is non-empty; the first page is a safe answer.
            None => self.pages[0].clone(),
        }
    }

    fn get(&self, tab: TabId) -> Option<Arc<Page>> {
        self.pages.iter().find(|p| p.tab == tab).cloned()
    }

    fn activate(&mut self, tab: TabId) {
        self.recency.retain(|t| *t != tab);
        self.recency.push(tab);
    }

    fn allocate(&mut self) -> TabId {
        let id = TabId(self.next_id);
        self.next_id += 1;
        id
    }

    fn add(&mut self, page: Page) -> Arc<Page> {
        let page = Arc::new(page);
        self.pages.push(page.clone());
        // A new tab is the least recently used until something activates it.
        self.recency.insert(0, page.tab);
        page
    }

    fn remove(&mut self, tab: TabId) -> Option<Arc<Page>> {
        let index = self.pages.iter().position(|p| p.tab == tab)?;
        self.recency.retain(|t| *t != tab);
        Some(self.pages.remove(index))
    }

    /// Puts `page` in the place of the tab with the same id (a fresh page after a crash).
    pub(crate) fn replace(&mut self, page: Page) -> Option<Arc<Page>> {
        let slot = self.pages.iter_mut().find(|p| p.tab == page.tab)?;
        Some(std::mem::replace(slot, Arc::new(page)))
    }

    pub(crate) fn all(&self) -> Vec<Arc<Page>> {
        self.pages.clone()
    }
}

/// A page target of this context as `Target.getTargets` reports it.
struct TargetFacts {
    target_id: String,
    opener: Option<String>,
    title: String,
    url: String,
}

/// The `targetInfos` of a `Target.getTargets` answer of one type (`page`, `iframe`) that belong
/// to `browser_context_id`.
pub(crate) fn context_targets<'a>(
    answer: &'a Value,
    browser_context_id: &'a str,
    kind: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    answer
        .get("targetInfos")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |i| i.get("type").and_then(Value::as_str) == Some(kind))
        .filter(move |i| {
            i.get("browserContextId").and_then(Value::as_str) == Some(browser_context_id)
        })
}

/// Page targets of `browser_context_id` in a `Target.getTargets` answer.
fn page_targets(answer: &Value, browser_context_id: &str) -> Vec<TargetFacts> {
    context_targets(answer, browser_context_id, "page")
        .filter_map(|i| {
            let s = |k: &str| i.get(k).and_then(Value::as_str).map(str::to_string);
            Some(TargetFacts {
                target_id: s("targetId")?,
                opener: s("openerId"),
                title: s("title").unwrap_or_default(),
                url: s("url").unwrap_or_default(),
            })
        })
        .collect()
}

impl BrowserContext {
    /// The tab actions go to.
    pub(crate) fn page(&self) -> Arc<Page> {
        self.tabs().active()
    }

    pub(crate) fn tabs(&self) -> MutexGuard<'_, TabSet> {
        self.tabs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tab actions go to.
    pub fn active_tab(&self) -> TabId {
        self.page().tab
    }

    /// Lists the open tabs (adopting any the page opened since the last look).
    pub async fn list_tabs(&self) -> Result<Vec<TabInfo>, BrowserError> {
        self.ensure_usable()?;
        let answer = self
            .guarded(self.conn.call(None, "Target.getTargets", json!({})))
            .await?;
        self.sync_tabs(&answer).await;
        Ok(self.tab_infos(&answer))
    }

    /// The tab list as of a `Target.getTargets` answer (titles and URLs from it).
    pub(crate) fn tab_infos(&self, answer: &Value) -> Vec<TabInfo> {
        let facts: HashMap<String, TargetFacts> = page_targets(answer, &self.browser_context_id)
            .into_iter()
            .map(|f| (f.target_id.clone(), f))
            .collect();
        let mut tabs = self.tabs();
        let active = tabs.active().tab;
        tabs.all()
            .iter()
            .filter_map(|p| {
                let f = facts.get(&p.target_id)?;
                Some(TabInfo {
                    id: p.tab,
                    title: f.title.clone(),
                    url: f.url.clone(),
                    active: p.tab == active,
                })
            })
            .collect()
    }

    /// Brings the tab list in line with Chromium's: attaches page targets of this context we
    /// do not know yet (tabs the page opened) and drops tabs whose target is gone. Returns the
    /// newly adopted tabs, each with whether the active tab opened it.
    pub(crate) async fn sync_tabs(&self, answer: &Value) -> Vec<(Arc<Page>, bool)> {
        // No answer (the call failed) says nothing about which tabs are gone.
        if answer.get("targetInfos").is_none() {
            return Vec::new();
        }
        let _one_at_a_time = self.tab_sync.lock().await;
        let targets = page_targets(answer, &self.browser_context_id);
        let (known, active_target): (Vec<String>, String) = {
            let mut tabs = self.tabs();
            let live: Vec<String> = targets.iter().map(|t| t.target_id.clone()).collect();
            let gone: Vec<TabId> = tabs
                .all()
                .iter()
                .filter(|p| !live.contains(&p.target_id) || p.status() == SessionStatus::Gone)
                .map(|p| p.tab)
                .collect();
            // Keep the last tab even if it looks gone: the context's own checks report that.
            for tab in gone {
                if tabs.pages.len() > 1
                    && let Some(page) = tabs.remove(tab)
                {
                    self.conn.forget_session(&page.session.id);
                }
            }
            let known = tabs.all().iter().map(|p| p.target_id.clone()).collect();
            (known, tabs.active().target_id.clone())
        };
        let mut adopted = Vec::new();
        for t in targets.iter().filter(|t| !known.contains(&t.target_id)) {
            let tab = self.tabs().allocate();
            match Page::attach(&self.conn, tab, &t.target_id, self.viewport, &self.mirror).await {
                Ok(page) => {
                    let page = self.tabs().add(page);
                    tracing::debug!(tab = %tab, url = %t.url, "adopted a tab the page opened");
                    adopted.push((page, t.opener.as_deref() == Some(active_target.as_str())));
                }
                Err(e) => {
                    tracing::debug!(error = %e, target = %t.target_id, "could not attach to a new tab")
                }
            }
        }
        adopted
    }

    /// After a click or key press: if it opened a tab, make that tab active, give it a moment
    /// to load and say so in `report`.
    pub(crate) async fn adopt_opened_tab(
        &self,
        report: &mut ActionReport,
    ) -> Result<(), BrowserError> {
        let answer = self
            .guarded(self.conn.call(None, "Target.getTargets", json!({})))
            .await?;
        let adopted = self.sync_tabs(&answer).await;
        let Some((page, _)) = adopted.into_iter().rev().find(|(_, by_active)| *by_active) else {
            return Ok(());
        };
        self.tabs().activate(page.tab);
        self.settle_new_tab(&page).await;
        let url = self.current_url().await.unwrap_or_default();
        report
            .description
            .push_str(&format!("; it opened tab {} ({url}), now active", page.tab));
        report.navigated_to = Some(url);
        report.opened_tab = Some(page.tab);
        Ok(())
    }

    /// Waits (briefly) until a tab we just attached has loaded its first document.
    async fn settle_new_tab(&self, page: &Page) {
        let deadline = Instant::now() + ADOPT_LOAD_WAIT;
        let mut events = page.session.subscribe();
        let ready = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": "[document.readyState, location.href]", "returnByValue": true }),
            )
            .await;
        let done = ready.ok().and_then(|v| {
            let v = v.pointer("/result/value")?.as_array()?.clone();
            let state = v.first()?.as_str()?.to_string();
            let href = v.get(1)?.as_str()?.to_string();
            Some(state == "complete" && href != "about:blank")
        });
        if done != Some(true) {
            let _ = tokio::time::timeout_at(
                deadline,
                wait_for_load(&mut events, &page.main_frame_id, None),
            )
            .await;
        }
    }

    /// Opens a new tab (at `url`, or blank), makes it active and waits for it to load.
    pub async fn open_tab(
        &self,
        url: Option<&str>,
        timeout: Duration,
    ) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let target = self
            .guarded(self.conn.call(
                None,
                "Target.createTarget",
                json!({ "url": "about:blank", "browserContextId": self.browser_context_id }),
            ))
            .await?;
        let target_id = str_field(&target, "targetId")?;
        let tab = self.tabs().allocate();
        let page =
            match Page::attach(&self.conn, tab, &target_id, self.viewport, &self.mirror).await {
                Ok(p) => p,
                Err(e) => {
                    close_target(&self.conn, &target_id).await;
                    return Err(e);
                }
            };
        {
            let mut tabs = self.tabs();
            tabs.add(page);
            tabs.activate(tab);
        }
        let mut report = ActionReport {
            description: format!("opened tab {tab}"),
            navigated_to: None,
            opened_tab: Some(tab),
        };
        if let Some(url) = url {
            self.navigate(url, timeout).await?;
            report.description.push_str(&format!(" at {url}"));
            report.navigated_to = Some(self.current_url().await?);
        }
        Ok(report)
    }

    /// Makes `tab` the one actions go to.
    pub async fn switch_tab(&self, tab: TabId) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let found = self.tabs().get(tab);
        let page = found.ok_or_else(|| self.no_such_tab(tab))?;
        // Brings it to the front: pages that pause work while hidden resume.
        self.guarded(self.conn.call(
            None,
            "Target.activateTarget",
            json!({ "targetId": page.target_id }),
        ))
        .await?;
        self.tabs().activate(tab);
        let url = self.current_url().await?;
        Ok(ActionReport {
            description: format!("switched to tab {tab} ({url})"),
            navigated_to: Some(url),
            opened_tab: None,
        })
    }

    /// Closes `tab`. The last tab cannot be closed (the session would have no page); when the
    /// active tab closes, the most recently used other tab becomes active.
    pub async fn close_tab(&self, tab: TabId) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let page = {
            let mut tabs = self.tabs();
            if tabs.get(tab).is_none() {
                drop(tabs);
                return Err(self.no_such_tab(tab));
            }
            if tabs.pages.len() == 1 {
                return Err(BrowserError::InvalidArgument(format!(
                    "tab {tab} is the only tab and cannot be closed"
                )));
            }
            tabs.remove(tab)
        };
        if let Some(page) = page {
            self.conn.forget_session(&page.session.id);
            close_target(&self.conn, &page.target_id).await;
        }
        let now = self.page().tab;
        Ok(ActionReport {
            description: format!("closed tab {tab}; tab {now} is active"),
            navigated_to: None,
            opened_tab: None,
        })
    }

    /// An action after which its page closed its own tab (`window.close()`) did what it was
    /// asked: say so and carry on in the tab that took over, rather than failing as if the
    /// browser were gone.
    pub(crate) fn unless_tab_closed_itself(
        &self,
        acted_on: &Page,
        result: Result<ActionReport, BrowserError>,
        description: impl FnOnce() -> String,
    ) -> Result<ActionReport, BrowserError> {
        match result {
            Err(BrowserError::Closed)
                if acted_on.status() == SessionStatus::Gone && self.ensure_usable().is_ok() =>
            {
                let now = self.page().tab;
                Ok(ActionReport {
                    description: format!(
                        "{}; that closed tab {}, tab {now} is active",
                        description(),
                        acted_on.tab
                    ),
                    navigated_to: None,
                    opened_tab: None,
                })
            }
            other => other,
        }
    }

    fn no_such_tab(&self, tab: TabId) -> BrowserError {
        let open: Vec<String> = self
            .tabs()
            .all()
            .iter()
            .map(|p| p.tab.to_string())
            .collect();
        BrowserError::InvalidArgument(format!("no tab {tab}; open tabs: {}", open.join(", ")))
    }
}

/// Best-effort `Target.closeTarget`, bounded.
pub(crate) async fn close_target(conn: &CdpConnection, target_id: &str) {
    let close = conn.call(None, "Target.closeTarget", json!({ "targetId": target_id }));
    let _ = tokio::time::timeout(Duration::from_secs(5), close).await;
}
