//! One isolated browser context and its tabs: creation, navigation, liveness (crash/close),
//! recovery and disposal. Which tab actions go to is `tabs.rs`'s business.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::cdp::{CdpConnection, CdpEvent, EVENT_CAPACITY, SessionStatus};
use crate::downloads::{Download, DownloadWatcher};
use crate::error::BrowserError;
use crate::perception::{Element, ElementId};
use crate::pool::Slot;
use crate::tabs::{Page, TabId, TabSet, close_target};
use wayfarer_netguard::{BlockReason, GuardHandle, GuardPolicy, Upstream};

/// How long after an aborted navigation we wait for a crash report.
const CRASH_REPORT_GRACE: Duration = Duration::from_secs(3);
/// Upper bound for disposing a context; disposal is best effort.
const DISPOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// An isolated browsing session: its own cookies/storage (a CDP browser
/// context) and its tabs, one of them active.
///
/// Obtained from [`crate::BrowserPool::new_context`]. Holding it occupies one
/// pool slot until [`BrowserContext::close`] is called or it is dropped.
pub struct BrowserContext {
    pub(crate) conn: CdpConnection,
    pub(crate) browser_context_id: String,
    /// The tabs; actions, waits and perception go to the active one.
    pub(crate) tabs: Mutex<TabSet>,
    /// Every tab's events, in one channel (the network log listens here).
    pub(crate) mirror: broadcast::Sender<CdpEvent>,
    /// Held while the tab list is brought in line with Chromium's, so two callers cannot both
    /// attach the same new tab.
    pub(crate) tab_sync: tokio::sync::Mutex<()>,
    /// This context's network guard (every connection of its pages goes through it).
    pub(crate) guard: Option<Arc<GuardHandle>>,
    /// Where this context's downloads land and which have completed.
    downloads: Option<Arc<DownloadWatcher>>,
    /// Page viewport, applied to every tab.
    pub(crate) viewport: (u32, u32),
    closed: AtomicBool,
    slot: Mutex<Option<Slot>>,
}

impl std::fmt::Debug for BrowserContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserContext")
            .field("browser_context_id", &self.browser_context_id)
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl BrowserContext {
    /// Creates a browser context and its page on `conn`, configured with
    /// `viewport`. On failure everything created so far is disposed.
    pub(crate) async fn create(
        conn: CdpConnection,
        viewport: (u32, u32),
        slot: Slot,
        guard: Option<GuardHandle>,
        downloads_root: Option<&std::path::Path>,
    ) -> Result<Self, BrowserError> {
        // If our connection dies, Chromium cleans the context up itself.
        let mut params = json!({ "disposeOnDetach": true });
        if let Some(guard) = &guard {
            params["proxyServer"] = json!(guard.proxy_server());
            // Chromium bypasses proxies for loopback by default; the guard must see those too.
            params["proxyBypassList"] = json!("<-loopback>");
        }
        let created = conn
            .call(None, "Target.createBrowserContext", params)
            .await?;
        let browser_context_id = str_field(&created, "browserContextId")?;
        let downloads = match downloads_root {
            Some(root) => {
                match DownloadWatcher::start(
                    &conn,
                    &browser_context_id,
                    &root.join(&browser_context_id),
                )
                .await
                {
                    Ok(w) => Some(Arc::new(w)),
                    Err(e) => {
                        dispose(&conn, &browser_context_id).await;
                        return Err(e);
                    }
                }
            }
            None => None,
        };
        let (mirror, _) = broadcast::channel(EVENT_CAPACITY);
        match Self::create_page(&conn, &browser_context_id, viewport, TabId(0), &mirror).await {
            Ok(page) => Ok(Self {
                conn,
                browser_context_id,
                tabs: Mutex::new(TabSet::new(page)),
                mirror,
                tab_sync: tokio::sync::Mutex::new(()),
                guard: guard.map(Arc::new),
                downloads,
                viewport,
                closed: AtomicBool::new(false),
                slot: Mutex::new(Some(slot)),
            }),
            Err(e) => {
                dispose(&conn, &browser_context_id).await;
                Err(e)
            }
        }
    }

    /// Creates a page (tab) in the browser context, attached and configured.
    async fn create_page(
        conn: &CdpConnection,
        browser_context_id: &str,
        viewport: (u32, u32),
        tab: TabId,
        mirror: &broadcast::Sender<CdpEvent>,
    ) -> Result<Page, BrowserError> {
        let target = conn
            .call(
                None,
                "Target.createTarget",
                json!({ "url": "about:blank", "browserContextId": browser_context_id }),
            )
            .await?;
        let target_id = str_field(&target, "targetId")?;
        match Page::attach(conn, tab, &target_id, viewport, mirror).await {
            Ok(page) => Ok(page),
            Err(e) => {
                close_target(conn, &target_id).await;
                Err(e)
            }
        }
    }

    /// Fails fast if the context can no longer be used.
    pub(crate) fn ensure_usable(&self) -> Result<(), BrowserError> {
        if self.closed.load(Ordering::Acquire) || self.conn.is_closed() {
            return Err(BrowserError::Closed);
        }
        match *self.page().session.status.borrow() {
            SessionStatus::Alive => Ok(()),
            SessionStatus::Crashed => Err(BrowserError::PageCrash),
            SessionStatus::Gone => Err(BrowserError::Closed),
        }
    }

    /// Runs `fut` but abandons it as soon as the page crashes or goes away,
    /// so in-flight operations do not wait for an answer that never comes.
    pub(crate) async fn guarded<T>(
        &self,
        fut: impl Future<Output = Result<T, BrowserError>>,
    ) -> Result<T, BrowserError> {
        self.ensure_usable()?;
        let page = self.page();
        let mut status = page.session.status.clone();
        let result = tokio::select! {
            r = fut => r,
            _ = status.wait_for(|s| *s != SessionStatus::Alive) => Err(BrowserError::Closed),
        };
        // Whatever the failure looked like, a crash is the real story.
        match result {
            Err(_) if *page.session.status.borrow() == SessionStatus::Crashed => {
                Err(BrowserError::PageCrash)
            }
            other => other,
        }
    }

    /// Sends a command on the page session, aborting on crash/close.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Result<Value, BrowserError> {
        let session = self.page().session.id.clone();
        self.guarded(self.conn.call(Some(&session), method, params))
            .await
    }

    /// Looks up an element of the active tab's latest page state.
    pub(crate) fn element(&self, id: ElementId) -> Result<Element, BrowserError> {
        self.page()
            .elements()
            .get(&id)
            .cloned()
            .ok_or(BrowserError::ElementNotFound { id })
    }

    /// Loads `url` in the page and waits for its `load` event.
    ///
    /// Errors: [`BrowserError::Navigation`] when Chromium reports a network
    /// error, [`BrowserError::NavigationTimeout`] when loading takes longer
    /// than `timeout` (loading is then stopped so the page is usable again).
    pub async fn navigate(&self, url: &str, timeout: Duration) -> Result<(), BrowserError> {
        self.ensure_usable()?;
        // Refusals recorded from now on are this navigation's (or its page's).
        if let Some(guard) = &self.guard {
            guard.take_blocked();
        }
        let result = self.navigate_inner(url, timeout).await;
        if let Some(reason) = self.guard_refused(url) {
            return Err(BrowserError::Blocked {
                url: url.to_string(),
                reason: reason.as_str().to_string(),
            });
        }
        result
    }

    /// The guard's error (`X-Wayfarer-Error`) on a main-frame document response seen on
    /// `events`, e.g. `connect_failed`, phrased for the task's failure.
    fn guard_error(&self, events: &mut broadcast::Receiver<CdpEvent>) -> Option<String> {
        let mut found = None;
        let main_frame_id = self.page().main_frame_id.clone();
        while let Ok(event) = events.try_recv() {
            let p = &event.params;
            let is_document = event.method == "Network.responseReceived"
                && p.get("type").and_then(Value::as_str) == Some("Document")
                && p.get("frameId").and_then(Value::as_str) == Some(main_frame_id.as_str());
            if !is_document {
                continue;
            }
            let headers = p.pointer("/response/headers").and_then(Value::as_object);
            found = headers.and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(wayfarer_netguard::ERROR_HEADER))
                    .and_then(|(_, v)| v.as_str())
                    .map(|v| format!("unreachable ({v})"))
            });
        }
        found
    }

    /// Why the guard refused `url`'s own host since the last check, if it did.
    fn guard_refused(&self, url: &str) -> Option<BlockReason> {
        let guard = self.guard.as_ref()?;
        let host = url::Url::parse(url)
            .ok()?
            .host_str()?
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        guard
            .blocked()
            .into_iter()
            .find(|b| !b.upstream && b.host.trim_matches(['[', ']']).eq_ignore_ascii_case(&host))
            .map(|b| b.reason)
    }

    /// Sets what this context's guard refuses beyond the server-wide rules: hosts to avoid
    /// (with their subdomains) and an upstream proxy to chain behind the checks.
    ///
    /// Errors with [`BrowserError::InvalidArgument`] when the context has no guard (and
    /// something is asked of it) or the upstream proxy URL is unusable.
    pub fn set_network_policy(
        &self,
        avoid_domains: Vec<String>,
        upstream: Option<Upstream>,
    ) -> Result<(), BrowserError> {
        let Some(guard) = &self.guard else {
            if avoid_domains.is_empty() && upstream.is_none() {
                return Ok(());
            }
            return Err(BrowserError::InvalidArgument(
                "this browser pool runs without a network guard, so avoidDomains and proxies cannot be enforced".into(),
            ));
        };
        let block_private = guard.policy().block_private;
        guard
            .set_policy(GuardPolicy {
                block_private,
                avoid_domains,
                upstream,
            })
            .map_err(|e| BrowserError::InvalidArgument(format!("network policy: {e}")))
    }

    /// Loads `url` and waits for `load` (see [`BrowserContext::navigate`]).
    async fn navigate_inner(&self, url: &str, timeout: Duration) -> Result<(), BrowserError> {
        let page = self.page();
        // Subscribe before sending so the load event cannot slip past us.
        let mut events = page.session.subscribe();
        // Behind the guard, an unreachable site is the guard's error page, not a network
        // error: watch the document's response for the guard's error header (every page has
        // the Network domain on).
        let mut responses = self.guard.as_ref().map(|_| page.session.subscribe());
        let work = async {
            let nav = self.call("Page.navigate", json!({ "url": url })).await?;
            if let Some(reason) = nav
                .get("errorText")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                // A renderer that dies while navigating aborts the navigation first and
                // reports the crash a moment later: the crash is the real story.
                if reason.contains("ERR_ABORTED") {
                    let mut status = page.session.status.clone();
                    let crashed = status.wait_for(|s| *s == SessionStatus::Crashed);
                    if tokio::time::timeout(CRASH_REPORT_GRACE, crashed)
                        .await
                        .is_ok_and(|r| r.is_ok())
                    {
                        return Err(BrowserError::PageCrash);
                    }
                }
                return Err(BrowserError::Navigation {
                    url: url.to_string(),
                    reason: reason.to_string(),
                });
            }
            // No loader id means a same-document navigation (fragment): done.
            let Some(loader_id) = nav.get("loaderId").and_then(Value::as_str) else {
                return Ok(());
            };
            self.guarded(wait_for_load(
                &mut events,
                &page.main_frame_id,
                Some(loader_id),
            ))
            .await
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(Ok(())) => match responses.as_mut().and_then(|r| self.guard_error(r)) {
                Some(reason) => Err(BrowserError::Navigation {
                    url: url.to_string(),
                    reason,
                }),
                None => Ok(()),
            },
            Ok(result) => result,
            Err(_) => {
                // Leave the page in a usable state for the next action.
                let stop = self.call("Page.stopLoading", json!({}));
                let _ = tokio::time::timeout(Duration::from_secs(2), stop).await;
                Err(BrowserError::NavigationTimeout {
                    url: url.to_string(),
                    timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                })
            }
        }
    }

    /// The URL the page currently shows (committed navigation).
    pub async fn current_url(&self) -> Result<String, BrowserError> {
        // Asked of the browser, not the renderer, so a busy page cannot
        // block it.
        let info = self
            .guarded(self.conn.call(
                None,
                "Target.getTargetInfo",
                json!({ "targetId": self.page().target_id }),
            ))
            .await?;
        Ok(info
            .pointer("/targetInfo/url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Downloads completed since the last call (files stay where Chromium saved them until the
    /// context closes; move them to keep them).
    pub fn take_downloads(&self) -> Vec<Download> {
        self.downloads
            .as_ref()
            .map(|d| d.take())
            .unwrap_or_default()
    }

    /// Downloads begun and still running.
    pub fn downloads_in_progress(&self) -> usize {
        self.downloads.as_ref().map_or(0, |d| d.pending())
    }

    /// Stops whatever the page is still loading (best effort, bounded): after a task was
    /// stopped mid-navigation, the next one must not inherit a hanging load.
    pub async fn stop_loading(&self) {
        let stop = self.call("Page.stopLoading", json!({}));
        let _ = tokio::time::timeout(Duration::from_secs(2), stop).await;
    }

    /// Whether the context is gone for good (its browser died or it was closed); unlike a
    /// crashed page, it cannot be recovered.
    pub fn is_lost(&self) -> bool {
        matches!(self.ensure_usable(), Err(BrowserError::Closed))
    }

    /// Whether the page has crashed (the context itself may still be recovered).
    pub fn is_crashed(&self) -> bool {
        matches!(self.ensure_usable(), Err(BrowserError::PageCrash))
    }

    /// After a crash of the active tab: a fresh page in its place, in the **same** browser
    /// context (cookies and storage kept), with the same tab id. Other tabs are untouched.
    pub async fn recover(&self) -> Result<(), BrowserError> {
        if self.closed.load(Ordering::Acquire) || self.conn.is_closed() {
            return Err(BrowserError::Closed);
        }
        let crashed = self.page();
        let fresh = Self::create_page(
            &self.conn,
            &self.browser_context_id,
            self.viewport,
            crashed.tab,
            &self.mirror,
        )
        .await?;
        let replaced = self.tabs().replace(fresh);
        if let Some(old) = replaced {
            self.conn.forget_session(&old.session.id);
            close_target(&self.conn, &old.target_id).await;
        }
        tracing::info!(browser_context_id = %self.browser_context_id, tab = %crashed.tab, "fresh page after a crash");
        Ok(())
    }

    /// Disposes the browser context (and its page) and frees the pool slot.
    /// Idempotent; later calls on this context return [`BrowserError::Closed`].
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.forget_sessions();
        dispose(&self.conn, &self.browser_context_id).await;
        drop(self.take_slot());
    }

    fn forget_sessions(&self) {
        for page in self.tabs().all() {
            self.conn.forget_session(&page.session.id);
        }
    }

    fn take_slot(&self) -> Option<Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Drop for BrowserContext {
    fn drop(&mut self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.forget_sessions();
        let slot = self.take_slot();
        // Drop cannot await: dispose in the background, and free the slot
        // only afterwards so capacity reflects what Chromium really holds.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let conn = self.conn.clone();
                let id = self.browser_context_id.clone();
                handle.spawn(async move {
                    dispose(&conn, &id).await;
                    drop(slot);
                });
            }
            Err(_) => drop(slot),
        }
    }
}

/// Best-effort `Target.disposeBrowserContext`.
async fn dispose(conn: &CdpConnection, browser_context_id: &str) {
    if conn.is_closed() {
        return;
    }
    let call = conn.call(
        None,
        "Target.disposeBrowserContext",
        json!({ "browserContextId": browser_context_id }),
    );
    match tokio::time::timeout(DISPOSE_TIMEOUT, call).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "disposeBrowserContext failed"),
        Err(_) => tracing::warn!("disposeBrowserContext timed out"),
    }
}

/// Waits until the main frame has fired `load` for the navigation identified
/// by `loader_id` (or, when `None`, for whichever navigation commits next).
///
/// The primary signal is the lifecycle `load` event carrying the loader id,
/// which cannot be confused with a previous navigation; `loadEventFired` and
/// `frameStoppedLoading` count only after our navigation has committed.
pub(crate) async fn wait_for_load(
    events: &mut broadcast::Receiver<CdpEvent>,
    main_frame_id: &str,
    loader_id: Option<&str>,
) -> Result<(), BrowserError> {
    let mut committed = false;
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!(n, "navigation wait lagged behind events");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return Err(BrowserError::Closed),
        };
        let p = &event.params;
        let s = |ptr: &str| p.pointer(ptr).and_then(Value::as_str);
        let loader_matches = |l: Option<&str>| loader_id.is_none() || l == loader_id;
        match event.method.as_str() {
            "Page.lifecycleEvent"
                if s("/frameId") == Some(main_frame_id)
                    && s("/name") == Some("load")
                    && (committed || loader_matches(s("/loaderId"))) =>
            {
                return Ok(());
            }
            "Page.frameNavigated"
                if s("/frame/id") == Some(main_frame_id)
                    && loader_matches(s("/frame/loaderId")) =>
            {
                committed = true;
            }
            "Page.loadEventFired" if committed => return Ok(()),
            "Page.frameStoppedLoading" if committed && s("/frameId") == Some(main_frame_id) => {
                return Ok(());
            }
            _ => {}
        }
    }
}

/// Extracts a required string field from a command result.
pub(crate) fn str_field(v: &Value, name: &str) -> Result<String, BrowserError> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| BrowserError::Protocol(format!("response lacks `{name}`: {v}")))
}
