//! A fixed set of Chromium processes handing out isolated contexts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cdp::CdpConnection;
use crate::config::BrowserConfig;
use crate::context::BrowserContext;
use crate::error::BrowserError;
use crate::launch::{ChromiumProcess, reap_orphans, resolve_executable};
use std::path::PathBuf;
use wayfarer_netguard::{GuardPolicy, NetGuard};

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
    /// Connected to, not launched: never closed by us.
    remote: bool,
}

impl BrowserInstance {
    fn process(&self) -> MutexGuard<'_, Option<ChromiumProcess>> {
        self.process.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_alive(&self) -> bool {
        !self.conn.is_closed()
            && (self.remote || self.process().as_mut().is_some_and(|p| p.is_alive()))
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

/// Longest a caller waits for a context that is being pre-warmed.
const WARM_WAIT: Duration = Duration::from_secs(10);
/// How often the watchdog checks for dead browsers.
const WATCHDOG_TICK: Duration = Duration::from_millis(500);

/// Chromium processes plus the bookkeeping of which contexts run where.
/// Share it as `Arc<BrowserPool>`.
pub struct BrowserPool {
    config: BrowserConfig,
    /// `None` for a remote browser (nothing to launch).
    executable: Option<PathBuf>,
    /// One cell per browser; a dead browser's cell gets a fresh instance.
    browsers: Vec<Mutex<Arc<BrowserInstance>>>,
    /// Serializes slot selection so two callers cannot overbook a browser.
    select: Mutex<()>,
    /// Fresh, unused contexts handed out first (see `BrowserConfig::prewarm`).
    warm: Mutex<Vec<BrowserContext>>,
    /// Warm contexts being created (their slots are taken, they are not in `warm` yet).
    warming: AtomicUsize,
    /// Signalled whenever a warm context becomes available.
    warm_ready: tokio::sync::Notify,
    refilling: AtomicBool,
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
    /// Starts `config.browsers` Chromium processes (or connects to
    /// `config.remote_ws`), then begins pre-warming contexts.
    ///
    /// If any launch fails, the browsers already started are killed and the
    /// error is returned. Browsers left by a crashed earlier run under the same
    /// `profile_root` are reaped first.
    pub async fn launch(config: BrowserConfig) -> Result<Arc<BrowserPool>, BrowserError> {
        if config.browsers == 0 || config.contexts_per_browser == 0 {
            return Err(BrowserError::Launch(
                "browsers and contexts_per_browser must be at least 1".into(),
            ));
        }
        let (executable, browsers) = match &config.remote_ws {
            Some(ws) => (None, vec![connect_remote(ws).await?]),
            None => {
                let executable = resolve_executable(config.executable.as_deref())?;
                std::fs::create_dir_all(&config.profile_root).map_err(|e| {
                    BrowserError::Launch(format!("create {}: {e}", config.profile_root.display()))
                })?;
                let reaped = reap_orphans(&config.profile_root);
                if reaped > 0 {
                    tracing::warn!(reaped, "removed browsers left by a crashed run");
                }
                let launches = (0..config.browsers).map(|_| launch_one(&executable, &config));
                // Dropping successful instances on error kills their processes.
                let browsers = futures_util::future::try_join_all(launches).await?;
                (Some(executable), browsers)
            }
        };
        tracing::info!(
            browsers = browsers.len(),
            capacity = browsers.len() * config.contexts_per_browser,
            remote = config.remote_ws.is_some(),
            "browser pool ready"
        );
        let pool = Arc::new(BrowserPool {
            config,
            executable,
            browsers: browsers.into_iter().map(Mutex::new).collect(),
            select: Mutex::new(()),
            warm: Mutex::new(Vec::new()),
            warming: AtomicUsize::new(0),
            warm_ready: tokio::sync::Notify::new(),
            refilling: AtomicBool::new(false),
            shut_down: AtomicBool::new(false),
        });
        spawn_watchdog(Arc::downgrade(&pool));
        pool.spawn_refill();
        Ok(pool)
    }

    fn instances(&self) -> Vec<Arc<BrowserInstance>> {
        self.browsers
            .iter()
            .map(|cell| cell.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .collect()
    }

    fn warm(&self) -> MutexGuard<'_, Vec<BrowserContext>> {
        self.warm.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Total number of contexts the pool can hold.
    pub fn capacity(&self) -> usize {
        self.browsers.len() * self.config.contexts_per_browser
    }

    /// Contexts currently open, pre-warmed ones and ones still being disposed
    /// included.
    pub fn open_contexts(&self) -> usize {
        self.instances()
            .iter()
            .map(|b| b.open.load(Ordering::Acquire))
            .sum()
    }

    /// Contexts handed out and not yet closed (pre-warmed ones excluded):
    /// what counts against capacity for sessions.
    pub fn in_use(&self) -> usize {
        let warm = self.warm().len() + self.warming.load(Ordering::Acquire);
        self.open_contexts().saturating_sub(warm)
    }

    /// Process ids of the running browsers (each is also its process group
    /// id). For diagnostics and for tests that verify nothing is left behind.
    pub fn browser_pids(&self) -> Vec<u32> {
        self.instances()
            .iter()
            .filter_map(|b| b.process().as_ref().map(|p| p.pid()))
            .filter_map(|pid| u32::try_from(pid).ok())
            .collect()
    }

    /// Whether every browser is connected and running.
    pub fn is_ready(&self) -> bool {
        !self.shut_down.load(Ordering::Acquire) && self.instances().iter().all(|b| b.is_alive())
    }

    /// Hands out a fresh isolated context: a pre-warmed one when available,
    /// else a new one on the least-loaded live browser.
    ///
    /// Returns [`BrowserError::Unavailable`] when every slot is taken (or no
    /// browser is alive) and [`BrowserError::Closed`] after shutdown.
    pub async fn new_context(self: &Arc<Self>) -> Result<BrowserContext, BrowserError> {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(BrowserError::Closed);
        }
        let deadline = tokio::time::Instant::now() + WARM_WAIT;
        let slot = loop {
            // Registered before looking, so a context pushed meanwhile still wakes us.
            let ready = self.warm_ready.notified();
            while let Some(ctx) = self.warm().pop() {
                if ctx.ensure_usable().is_ok() {
                    self.spawn_refill();
                    return Ok(ctx);
                }
                // Its browser died: dropping it frees the slot.
            }
            if let Some(slot) = self.reserve_slot() {
                break slot;
            }
            // The last free slots may be held by contexts being pre-warmed: wait for them
            // rather than refuse a session the pool can serve in a moment.
            if self.warming.load(Ordering::Acquire) == 0
                || tokio::time::timeout_at(deadline, ready).await.is_err()
            {
                return Err(BrowserError::Unavailable);
            }
        };
        // On failure the slot is dropped, which gives the capacity back.
        let ctx = self.open_context(slot).await;
        self.spawn_refill();
        ctx
    }

    /// Tops the warm list up to `config.prewarm` in the background, using
    /// only free slots.
    fn spawn_refill(self: &Arc<Self>) {
        if self.config.prewarm == 0 || self.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refilling.store(false, Ordering::Release);
            return;
        };
        let pool = Arc::downgrade(self);
        runtime.spawn(async move {
            loop {
                let Some(pool) = pool.upgrade() else { return };
                if pool.shut_down.load(Ordering::Acquire)
                    || pool.warm().len() >= pool.config.prewarm
                {
                    pool.refilling.store(false, Ordering::Release);
                    return;
                }
                let Some(slot) = pool.reserve_slot() else {
                    pool.refilling.store(false, Ordering::Release);
                    return;
                };
                pool.warming.fetch_add(1, Ordering::AcqRel);
                let created = pool.open_context(slot).await;
                match created {
                    Ok(ctx) if !pool.shut_down.load(Ordering::Acquire) => {
                        pool.warm().push(ctx);
                        pool.warming.fetch_sub(1, Ordering::AcqRel);
                        pool.warm_ready.notify_waiters();
                    }
                    Ok(ctx) => {
                        pool.warming.fetch_sub(1, Ordering::AcqRel);
                        ctx.close().await;
                    }
                    Err(e) => {
                        pool.warming.fetch_sub(1, Ordering::AcqRel);
                        pool.warm_ready.notify_waiters();
                        tracing::debug!(error = %e, "pre-warming a context failed");
                        pool.refilling.store(false, Ordering::Release);
                        return;
                    }
                }
            }
        });
    }

    /// Creates a context in `slot`, behind a network guard of its own when configured.
    async fn open_context(&self, slot: Slot) -> Result<BrowserContext, BrowserError> {
        let guard = match &self.config.network_guard {
            Some(settings) => {
                let policy = GuardPolicy {
                    block_private: settings.block_private,
                    ..GuardPolicy::default()
                };
                let guard = NetGuard::start(policy, settings.resolver.clone())
                    .await
                    .map_err(|e| BrowserError::Launch(format!("network guard: {e}")))?;
                Some(guard)
            }
            None => None,
        };
        let conn = slot.browser.conn.clone();
        BrowserContext::create(
            conn,
            self.config.viewport,
            slot,
            guard,
            self.config.downloads_root.as_deref(),
        )
        .await
    }

    fn reserve_slot(&self) -> Option<Slot> {
        let _guard = self.select.lock().unwrap_or_else(|e| e.into_inner());
        let browser = self
            .instances()
            .into_iter()
            .filter(|b| !b.conn.is_closed())
            .filter(|b| b.open.load(Ordering::Acquire) < self.config.contexts_per_browser)
            .min_by_key(|b| b.open.load(Ordering::Acquire))?;
        browser.open.fetch_add(1, Ordering::AcqRel);
        Some(Slot { browser })
    }

    /// Replaces browsers that died (their contexts already answer `Closed`,
    /// which running tasks report as `PAGE_CRASH`).
    async fn replace_dead(&self) {
        let Some(executable) = &self.executable else {
            return;
        };
        for cell in &self.browsers {
            let current = cell.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if current.is_alive() || self.shut_down.load(Ordering::Acquire) {
                continue;
            }
            tracing::warn!(pids = ?current.process().as_ref().map(|p| p.pid()), "a browser died; starting a replacement");
            match launch_one(executable, &self.config).await {
                Ok(fresh) if !self.shut_down.load(Ordering::Acquire) => {
                    *cell.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
                    current.shutdown().await;
                }
                Ok(fresh) => fresh.shutdown().await,
                Err(e) => tracing::error!(error = %e, "could not replace a dead browser"),
            }
        }
    }

    /// Closes every context it holds and every browser it launched
    /// (`Browser.close`, then SIGKILL to its process group), and removes their
    /// profiles. A remote browser is left running. Idempotent.
    pub async fn shutdown(&self) {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        let warm: Vec<BrowserContext> = self.warm().drain(..).collect();
        for ctx in warm {
            ctx.close().await;
        }
        if self.executable.is_some() {
            futures_util::future::join_all(self.instances().iter().map(|b| b.shutdown())).await;
        }
        tracing::info!("browser pool shut down");
    }
}

/// Watches for dead browsers until the pool is dropped or shut down.
fn spawn_watchdog(pool: std::sync::Weak<BrowserPool>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(WATCHDOG_TICK).await;
            let Some(pool) = pool.upgrade() else { return };
            if pool.shut_down.load(Ordering::Acquire) {
                return;
            }
            pool.replace_dead().await;
        }
    });
}

/// Connects to a browser someone else runs.
async fn connect_remote(ws_url: &str) -> Result<Arc<BrowserInstance>, BrowserError> {
    let conn = CdpConnection::connect(ws_url)
        .await
        .map_err(|e| BrowserError::Launch(format!("cannot connect to {ws_url}: {e}")))?;
    let version = conn.call(None, "Browser.getVersion", json!({})).await?;
    let product = version
        .get("product")
        .and_then(Value::as_str)
        .unwrap_or("?");
    tracing::info!(ws_url, product, "remote browser connected");
    Ok(Arc::new(BrowserInstance {
        conn,
        process: Mutex::new(None),
        open: AtomicUsize::new(0),
        remote: true,
    }))
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
        remote: false,
    }))
}
