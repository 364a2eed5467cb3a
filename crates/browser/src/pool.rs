//! A fixed set of Chromium processes handing out isolated contexts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cdp::CdpConnection;
use crate::config::BrowserConfig;
use crate::context::BrowserContext;
use crate::error::BrowserError;
use crate::launch::{ChromiumProcess, resolve_executable};

/// How long we wait for an answer to `Browser.close`.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long the process may take to exit after `Browser.close` before the
/// group is killed. Short because profiles are throwaway: there is nothing
/// worth waiting for Chromium to flush.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// One Chromium process and its connection.
pub(crate) struct BrowserInstance {
    conn: CdpConnection,
    /// `None` once shut down.
    process: Mutex<Option<ChromiumProcess>>,
    /// Contexts currently holding a slot on this browser.
    open: AtomicUsize,
}

impl BrowserInstance {
    fn process(&self) -> MutexGuard<'_, Option<ChromiumProcess>> {
        self.process.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_alive(&self) -> bool {
        !self.conn.is_closed() && self.process().as_mut().is_some_and(|p| p.is_alive())
    }

    async fn shutdown(&self) {
        let Some(process) = self.process().take() else {
            return;
        };
        if !self.conn.is_closed() {
            // Lets Chromium flush and exit cleanly; the answer may never come
            // because the socket closes with the browser.
            let close = self.conn.call(None, "Browser.close", json!({}));
            let _ = tokio::time::timeout(CLOSE_GRACE, close).await;
        }
        let pid = process.pid();
        process.terminate(EXIT_GRACE).await;
        tracing::debug!(pid, "chromium stopped");
    }
}

/// A pool slot: while alive, it counts against its browser's capacity.
pub(crate) struct Slot {
    browser: Arc<BrowserInstance>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.browser.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Chromium processes plus the bookkeeping of which contexts run where.
/// Share it as `Arc<BrowserPool>`.
pub struct BrowserPool {
    config: BrowserConfig,
    browsers: Vec<Arc<BrowserInstance>>,
    /// Serializes slot selection so two callers cannot overbook a browser.
    select: Mutex<()>,
    shut_down: AtomicBool,
}

impl std::fmt::Debug for BrowserPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserPool")
            .field("browsers", &self.browsers.len())
            .field("open_contexts", &self.open_contexts())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

impl BrowserPool {
    /// Starts `config.browsers` Chromium processes and connects to each.
    ///
    /// If any of them fails, the ones already started are killed and the
    /// error is returned.
    pub async fn launch(config: BrowserConfig) -> Result<Arc<BrowserPool>, BrowserError> {
        if config.browsers == 0 || config.contexts_per_browser == 0 {
            return Err(BrowserError::Launch(
                "browsers and contexts_per_browser must be at least 1".into(),
            ));
        }
        let executable = resolve_executable(config.executable.as_deref())?;
        std::fs::create_dir_all(&config.profile_root).map_err(|e| {
            BrowserError::Launch(format!("create {}: {e}", config.profile_root.display()))
        })?;
        let launches = (0..config.browsers).map(|_| launch_one(&executable, &config));
        // Dropping successful instances on error kills their processes.
        let browsers = futures_util::future::try_join_all(launches).await?;
        tracing::info!(
            browsers = browsers.len(),
            capacity = config.browsers * config.contexts_per_browser,
            "browser pool ready"
        );
        Ok(Arc::new(BrowserPool {
            config,
            browsers,
            select: Mutex::new(()),
            shut_down: AtomicBool::new(false),
        }))
    }

    /// Total number of contexts the pool can hold.
    pub fn capacity(&self) -> usize {
        self.config.browsers * self.config.contexts_per_browser
    }

    /// Contexts currently open (including ones still being disposed).
    pub fn open_contexts(&self) -> usize {
        self.browsers
            .iter()
            .map(|b| b.open.load(Ordering::Acquire))
            .sum()
    }

    /// Process ids of the running browsers (each is also its process group
    /// id). For diagnostics and for tests that verify nothing is left behind.
    pub fn browser_pids(&self) -> Vec<u32> {
        self.browsers
            .iter()
            .filter_map(|b| b.process().as_ref().map(|p| p.pid()))
            .filter_map(|pid| u32::try_from(pid).ok())
            .collect()
    }

    /// Whether every browser is connected and running.
    pub fn is_ready(&self) -> bool {
        !self.shut_down.load(Ordering::Acquire) && self.browsers.iter().all(|b| b.is_alive())
    }

    /// Opens a fresh isolated context on the least-loaded live browser.
    ///
    /// Returns [`BrowserError::Unavailable`] when every slot is taken (or no
    /// browser is alive) and [`BrowserError::Closed`] after shutdown.
    pub async fn new_context(self: &Arc<Self>) -> Result<BrowserContext, BrowserError> {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(BrowserError::Closed);
        }
        let slot = self.reserve_slot().ok_or(BrowserError::Unavailable)?;
        let conn = slot.browser.conn.clone();
        // On failure the slot is dropped, which gives the capacity back.
        BrowserContext::create(conn, self.config.viewport, slot).await
    }

    fn reserve_slot(&self) -> Option<Slot> {
        let _guard = self.select.lock().unwrap_or_else(|e| e.into_inner());
        let browser = self
            .browsers
            .iter()
            .filter(|b| !b.conn.is_closed())
            .filter(|b| b.open.load(Ordering::Acquire) < self.config.contexts_per_browser)
            .min_by_key(|b| b.open.load(Ordering::Acquire))?;
        browser.open.fetch_add(1, Ordering::AcqRel);
        Some(Slot {
            browser: browser.clone(),
        })
    }

    /// Closes every browser (`Browser.close`, then SIGKILL to its process
    /// group) and removes their profiles. Idempotent.
    pub async fn shutdown(&self) {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        futures_util::future::join_all(self.browsers.iter().map(|b| b.shutdown())).await;
        tracing::info!("browser pool shut down");
    }
}

/// Starts and connects one browser.
async fn launch_one(
    executable: &std::path::Path,
    config: &BrowserConfig,
) -> Result<Arc<BrowserInstance>, BrowserError> {
    let process = ChromiumProcess::spawn(executable, &config.profile_root).await?;
    let conn = CdpConnection::connect(&process.ws_url).await?;
    let version = conn.call(None, "Browser.getVersion", json!({})).await?;
    let product = version
        .get("product")
        .and_then(Value::as_str)
        .unwrap_or("?");
    tracing::info!(pid = process.pid(), product, "chromium connected");
    Ok(Arc::new(BrowserInstance {
        conn,
        process: Mutex::new(Some(process)),
        open: AtomicUsize::new(0),
    }))
}
