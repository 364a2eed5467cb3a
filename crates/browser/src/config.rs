//! Pool configuration.

use std::path::PathBuf;

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
}

impl Default for BrowserConfig {
    fn default() -> Self {
        Self {
            executable: None,
            browsers: 1,
            contexts_per_browser: 8,
            profile_root: std::env::temp_dir().join("wayfarer-chromium"),
            viewport: (1024, 600),
        }
    }
}
