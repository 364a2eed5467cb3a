//! The engine: owns live sessions and tasks. Every transport (REST today; Socket.IO, MCP and
//! the CLI's `run` later) calls these methods, so limits, errors and billing are identical on
//! every surface.
//!
//! Architecture invariant: no HTTP here (the engine returns typed views and `core::Error`), no
//! SQL (only through `wayfarer_store::Store`), no CDP (only through `wayfarer_browser`).

mod auth;
mod config;
mod engine;
mod events;
mod live;
mod rate;
mod runner;
mod sweeper;
mod views;

pub use config::EngineConfig;
pub use engine::{Engine, StateChange};
pub use views::{AccountView, SessionStarted, SessionView, TaskOutcome, TaskView};
pub use wayfarer_store::{Account, UsageTotals};

/// Milliseconds since the Unix epoch (the store's time unit).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
