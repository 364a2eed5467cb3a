//! Pool configuration.

use std::path::PathBuf;
use std::sync::Arc;

use wayfarer_netguard::Resolver;

/// How many browsers to run, how to size them, and where they keep profiles.
#[derive(Debug, Clone)]
pub struct BrowserConfig {
    /// Chromium binary. `None` → `$WAYFARER_CHROMIUM`, then `chromium`,
    /// `chromium-browser`, `google-chrome` on `PATH`.
    pub executable: Option<PathBuf>,
    /// Number of Chromium processes. More processes isolate crashes and
    /// spread renderer load; each costs ~320 MB idle.
    pub browsers: usize,
    /// Isolated browser contexts (sessions) allowed per process.
    pub contexts_per_browser: usize,
    /// Parent directory for per-browser user-data-dirs; each browser gets a
    /// fresh one, removed at shutdown.
    pub profile_root: PathBuf,
    /// Page viewport (width, height) in CSS pixels, applied to every page.
    pub viewport: (u32, u32),
    /// Fresh contexts kept open and unused so a new session needs no context
    /// creation (≈250 ms of Chromium work). They count against capacity only
    /// while a slot is free for them.
    pub prewarm: usize,
    /// Browser-level DevTools WebSocket URL of a browser (or grid) run by
    /// someone else. When set, nothing is launched: the pool connects to it
    /// as its only browser and never closes it.
    pub remote_ws: Option<String>,
    /// When set, every context is routed through a network guard of its own
    /// (spec §3): a forward proxy that checks the resolved address of every
    /// connection and enforces per-task `avoidDomains`.
    pub network_guard: Option<GuardSettings>,
    /// When set, pages may download files: each context saves into its own folder below
    /// (removed with the context) and reports them through `take_downloads`.
    pub downloads_root: Option<PathBuf>,
}

/// How the network guard of each context is set up.
#[derive(Clone)]
pub struct GuardSettings {
    /// Refuse loopback and private ranges too (link-local/metadata always are).
    pub block_private: bool,
    /// Name resolution used by the guard (a stub in tests).
    pub resolver: Arc<dyn Resolver>,
}

impl std::fmt::Debug for GuardSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardSettings")
            .field("block_private", &self.block_private)
            .finish_non_exhaustive()
    }
}

impl Default for BrowserConfig {
    fn default() -> Self {
        Self {
            executable: None,
            browsers: 1,
            contexts_per_browser: 8,
            profile_root: std::env::temp_dir().join("wayfarer-chromium"),
            viewport: (1024, 600),
            prewarm: 2,
            remote_ws: None,
            network_guard: None,
            downloads_root: None,
        }
    }
}
