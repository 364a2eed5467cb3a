//! Chromium over the Chrome DevTools Protocol, with a thin client of our own.
//!
//! - [`BrowserPool`] launches Chromium processes (own process group, killed
//!   with us) and hands out isolated [`BrowserContext`]s up to a capacity.
//! - [`BrowserContext`] is one CDP browser context with its tabs: navigate,
//!   perceive ([`PageState`] from the accessibility tree), act, switch tabs.
//! - Everything fails with [`BrowserError`]; a crashed page yields
//!   [`BrowserError::PageCrash`], a lost browser [`BrowserError::Closed`].
//!
//! The protocol layer is deliberately tolerant (untyped JSON plus
//! `#[serde(default)]` structs) so Chromium releases do not break us.

#![warn(missing_docs)]

mod actions;
mod cdp;
mod config;
mod context;
mod downloads;
mod element_actions;
mod error;
mod frames;
mod launch;
mod network;
mod page_actions;
mod perception;
mod pool;
mod tabs;

pub use actions::ActionReport;
pub use config::{BrowserConfig, GuardSettings};
pub use context::BrowserContext;
pub use downloads::Download;
pub use error::BrowserError;
pub use network::{NetworkEntry, NetworkRecorder};
pub use page_actions::{ImageFormat, Table};
pub use perception::{
    Element, ElementId, FrameInfo, OutlineItem, PageState, PerceiveOptions, Rect, Scroll, StateDiff,
};
pub use pool::BrowserPool;
pub use tabs::{TabId, TabInfo};
pub use wayfarer_netguard::{Resolver, StubResolver, SystemResolver, Upstream};

#[cfg(test)]
mod tests {
    /// The engine shares these across tasks; keep that a compile-time fact.
    #[test]
    fn public_handles_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::BrowserPool>();
        assert_send_sync::<super::BrowserContext>();
        assert_send_sync::<super::BrowserError>();
    }
}
