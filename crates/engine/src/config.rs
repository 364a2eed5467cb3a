//! Engine settings (filled from flags, env and TOML by the binary).

use std::time::Duration;
use wayfarer_core::Prices;

/// Everything the engine needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// This node's name; sessions record it as their owner.
    pub node: String,
    /// Absolute base URL for `pollUrl`, `webViewURL` and `socketURL` (no trailing slash).
    pub public_url: String,
    /// How long run-task and newTask wait for a result before answering `pending` (spec: 50 s).
    pub inline_window: Duration,
    /// Inactivity after which a session expires (spec: 300 s).
    pub session_timeout: Duration,
    /// How long ended sessions and their tasks stay readable (spec: 7 days).
    pub retention: Duration,
    /// Longest a single navigation may take (spec: 30 s).
    pub navigation_timeout: Duration,
    /// Price table for cost, reservations and settlement.
    pub prices: Prices,
    /// Viewport reported in `streaming.dimensions`.
    pub viewport: (u32, u32),
    /// Where downloaded files are kept (served by `GET /files/:fileId/download`).
    pub files_dir: std::path::PathBuf,
    /// The operator's proxies for `proxy.source:"WebRun"`, handed out in turn; empty = that
    /// source is refused as INVALID_PARAMETER (spec §2).
    pub proxy_pool: Vec<wayfarer_browser::Upstream>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            node: "local".into(),
            public_url: "http://127.0.0.1:8080".into(),
            inline_window: Duration::from_secs(50),
            session_timeout: Duration::from_secs(300),
            retention: Duration::from_secs(7 * 24 * 3600),
            navigation_timeout: Duration::from_secs(30),
            prices: Prices::default(),
            viewport: (1024, 600),
            files_dir: std::path::PathBuf::from("./wayfarer-data/files"),
            proxy_pool: Vec::new(),
        }
    }
}
