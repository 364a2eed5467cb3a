//! One isolated browser context with a single page: creation, navigation,
//! liveness (crash/close) and disposal.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::cdp::{CdpConnection, CdpEvent, SessionHandle, SessionStatus};
use crate::downloads::{Download, DownloadWatcher};
use crate::error::BrowserError;
use crate::perception::{Element, ElementId};
use crate::pool::Slot;
use wayfarer_netguard::{BlockReason, GuardHandle, GuardPolicy, Upstream};

/// How long after an aborted navigation we wait for a crash report.
const CRASH_REPORT_GRACE: Duration = Duration::from_secs(3);
/// Upper bound for disposing a context; disposal is best effort.
const DISPOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// An isolated browsing session: its own cookies/storage (a CDP browser
/// context) and one page in it.
///
/// Obtained from [`crate::BrowserPool::new_context`]. Holding it occupies one
/// pool slot until [`BrowserContext::close`] is called or it is dropped.
pub struct BrowserContext {
    pub(crate) conn: CdpConnection,
    pub(crate) browser_context_id: String,
    pub(crate) target_id: String,
    pub(crate) session: SessionHandle,
    /// The page's main frame id, to tell main-frame navigations from iframes'.
    pub(crate) main_frame_id: String,
    /// Elements of the most recent `page_state`, by id; ids in actions refer
    /// to this snapshot.
    pub(crate) elements: Mutex<HashMap<ElementId, Element>>,
    /// Perception memory: stable element ids, previous state, OOPIF
    /// sessions and frame routes (see `frames.rs`).
    pub(crate) perception: crate::frames::Memory,
    /// This context's network guard (every connection of its pages goes through it).
    pub(crate) guard: Option<Arc<GuardHandle>>,
    /// Where this context's downloads land and which have completed.
    downloads: Option<Arc<DownloadWatcher>>,
    /// Page viewport, reapplied to a page made after a crash.
    viewport: (u32, u32),
    closed: AtomicBool,
    slot: Mutex<Option<Slot>>,
}

impl std::fmt::Debug for BrowserContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserContext")
            .field("browser_context_id", &self.browser_context_id)
            .field("target_id", &self.target_id)
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
        match Self::create_page(&conn, &browser_context_id, viewport).await {
            Ok((target_id, session, main_frame_id)) => Ok(Self {
                conn,
                browser_context_id,
                target_id,
                session,
                main_frame_id,
                elements: Mutex::new(HashMap::new()),
                perception: crate::frames::Memory::default(),
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

    /// Creates, attaches and configures the context's page.
    async fn create_page(
        conn: &CdpConnection,
        browser_context_id: &str,
        (width, height): (u32, u32),
    ) -> Result<(String, SessionHandle, String), BrowserError> {
        let target = conn
            .call(
                None,
                "Target.createTarget",
                json!({ "url": "about:blank", "browserContextId": browser_context_id }),
            )
            .await?;
        let target_id = str_field(&target, "targetId")?;
        let attached = conn
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await?;
        let session_id = str_field(&attached, "sessionId")?;
        let session = conn.register_session(&session_id, &target_id);
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
            conn.call(
                sid,
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
            )
            .await?;
            // Out-of-process iframes become child sessions on this connection
            // (not yet read, but attaching them now keeps that door open).
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
                .unwrap_or(&target_id)
                .to_string();
            Ok::<_, BrowserError>(main_frame_id)
        };
        match setup.await {
            Ok(main_frame_id) => Ok((target_id, session, main_frame_id)),
            Err(e) => {
                conn.forget_session(&session_id);
                Err(e)
            }
        }
    }

    /// Fails fast if the context can no longer be used.
    pub(crate) fn ensure_usable(&self) -> Result<(), BrowserError> {
        if self.closed.load(Ordering::Acquire) || self.conn.is_closed() {
            return Err(BrowserError::Closed);
        }
        match *self.session.status.borrow() {
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
        let mut status = self.session.status.clone();
        let result = tokio::select! {
            r = fut => r,
            _ = status.wait_for(|s| *s != SessionStatus::Alive) => Err(BrowserError::Closed),
        };
        // Whatever the failure looked like, a crash is the real story.
        match result {
            Err(_) if *self.session.status.borrow() == SessionStatus::Crashed => {
                Err(BrowserError::PageCrash)
            }
            other => other,
        }
    }

    /// Sends a command on the page session, aborting on crash/close.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Result<Value, BrowserError> {
        self.guarded(self.conn.call(Some(&self.session.id), method, params))
            .await
    }

    /// Locks the element map of the latest page state.
    pub(crate) fn elements(&self) -> MutexGuard<'_, HashMap<ElementId, Element>> {
        self.elements.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks up an element of the latest page state.
    pub(crate) fn element(&self, id: ElementId) -> Result<Element, BrowserError> {
        self.elements()
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
        while let Ok(event) = events.try_recv() {
            let p = &event.params;
            let is_document = event.method == "Network.responseReceived"
                && p.get("type").and_then(Value::as_str) == Some("Document")
                && p.get("frameId").and_then(Value::as_str) == Some(self.main_frame_id.as_str());
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
        // Subscribe before sending so the load event cannot slip past us.
        let mut events = self.session.subscribe();
        // Behind the guard, an unreachable site is the guard's error page, not a network
        // error: watch the document's response for the guard's error header. (Seen when the
        // Network domain is on, as it is while a task records its network log.)
        let mut responses = self.guard.as_ref().map(|_| self.session.subscribe());
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
                    let mut status = self.session.status.clone();
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
                &self.main_frame_id,
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
                json!({ "targetId": self.target_id }),
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

    /// After a crash: a fresh page in the **same** browser context (cookies and storage
    /// kept), returned as the context to use from now on. This object is spent afterwards:
    /// it no longer owns the browser context, its slot or its network guard.
    pub async fn recover(&self) -> Result<BrowserContext, BrowserError> {
        if self.closed.load(Ordering::Acquire) || self.conn.is_closed() {
            return Err(BrowserError::Closed);
        }
        let (target_id, session, main_frame_id) =
            Self::create_page(&self.conn, &self.browser_context_id, self.viewport).await?;
        // From here the new object owns the browser context: this one must not dispose it.
        self.closed.store(true, Ordering::Release);
        self.conn.forget_session(&self.session.id);
        let close = self.conn.call(
            None,
            "Target.closeTarget",
            json!({ "targetId": self.target_id }),
        );
        let _ = tokio::time::timeout(DISPOSE_TIMEOUT, close).await;
        tracing::info!(browser_context_id = %self.browser_context_id, "fresh page after a crash");
        Ok(BrowserContext {
            conn: self.conn.clone(),
            browser_context_id: self.browser_context_id.clone(),
            target_id,
            session,
            main_frame_id,
            elements: Mutex::new(HashMap::new()),
            perception: crate::frames::Memory::default(),
            guard: self.guard.clone(),
            downloads: self.downloads.clone(),
            viewport: self.viewport,
            closed: AtomicBool::new(false),
            slot: Mutex::new(self.take_slot()),
        })
    }

    /// Disposes the browser context (and its page) and frees the pool slot.
    /// Idempotent; later calls on this context return [`BrowserError::Closed`].
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.conn.forget_session(&self.session.id);
        dispose(&self.conn, &self.browser_context_id).await;
        drop(self.take_slot());
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
        self.conn.forget_session(&self.session.id);
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
