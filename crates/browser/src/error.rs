//! The one error type every public operation of this crate returns.

use crate::perception::ElementId;

/// Everything that can go wrong while driving Chromium.
///
/// Variants are coarse on purpose: callers (the agent loop, the engine) decide
/// between "retry", "tell the model" and "give up" based on the variant, and the
/// message carries the detail for logs.
#[derive(thiserror::Error, Debug)]
pub enum BrowserError {
    /// Chromium could not be started or its DevTools endpoint never appeared.
    #[error("failed to launch chromium: {0}")]
    Launch(String),
    /// Every context slot of the pool is in use (or no browser is alive).
    #[error("no browser context available")]
    Unavailable,
    /// The page did not finish loading within the allotted time.
    #[error("navigation to {url} timed out after {timeout_ms} ms")]
    NavigationTimeout {
        /// The URL that was being loaded.
        url: String,
        /// The timeout that elapsed, in milliseconds.
        timeout_ms: u64,
    },
    /// Chromium refused or failed the navigation (DNS, connection refused, ...).
    #[error("navigation to {url} failed: {reason}")]
    Navigation {
        /// The URL that was being loaded.
        url: String,
        /// Chromium's `errorText`, e.g. `net::ERR_CONNECTION_REFUSED`.
        reason: String,
    },
    /// The renderer of this context's page crashed.
    #[error("the page crashed")]
    PageCrash,
    /// The element id is not part of the context's most recent page state.
    #[error("element {id} not found in the current page state")]
    ElementNotFound {
        /// The id that was asked for.
        id: ElementId,
    },
    /// Chromium answered with an error or something we could not interpret.
    #[error("devtools protocol error: {0}")]
    Protocol(String),
    /// The context was closed or its browser went away.
    #[error("browser context is closed")]
    Closed,
    /// The network guard refused the page's own address (avoided domain, private or
    /// link-local address).
    #[error("navigation to {url} was blocked by the network guard ({reason})")]
    Blocked {
        /// The URL that was refused.
        url: String,
        /// `avoided_domain`, `link_local`, `private_network` or `unresolvable`.
        reason: String,
    },
    /// An action was asked for with arguments it cannot use (an unknown key name, …).
    #[error("invalid action argument: {0}")]
    InvalidArgument(String),
    /// A wait (for text, an element, navigation, network idle) ran out of time.
    #[error("waited {timeout_ms} ms for {what}")]
    WaitTimeout {
        /// What was waited for.
        what: String,
        /// How long, in milliseconds.
        timeout_ms: u64,
    },
}
