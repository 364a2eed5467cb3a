//! The per-task network log: every request the page made while a task ran.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::context::BrowserContext;
use crate::error::BrowserError;

/// Requests kept per task at most; a page that makes more is summarised by the cap.
const MAX_ENTRIES: usize = 5_000;

/// One request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkEntry {
    /// Requested URL (data: URLs are left out).
    pub url: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
}

/// Records requests until [`NetworkRecorder::finish`].
pub struct NetworkRecorder {
    entries: Arc<Mutex<Vec<NetworkEntry>>>,
    task: JoinHandle<()>,
}

impl NetworkRecorder {
    /// Stops recording and returns what was seen, in order.
    pub fn finish(self) -> Vec<NetworkEntry> {
        self.task.abort();
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for NetworkRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl BrowserContext {
    /// Starts recording the requests of every tab (main frames and same-process frames; every
    /// page has the Network domain on from its creation).
    pub async fn record_network(&self) -> Result<NetworkRecorder, BrowserError> {
        self.ensure_usable()?;
        let mut events = self.mirror.subscribe();
        let entries = Arc::new(Mutex::new(Vec::new()));
        let sink = entries.clone();
        let task = tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                if event.method != "Network.requestWillBeSent" {
                    continue;
                }
                let Some(url) = event.params.pointer("/request/url").and_then(Value::as_str) else {
                    continue;
                };
                if url.starts_with("data:") {
                    continue;
                }
                let mut list = sink.lock().unwrap_or_else(|e| e.into_inner());
                if list.len() < MAX_ENTRIES {
                    list.push(NetworkEntry {
                        url: url.to_string(),
                        timestamp: now_ms(),
                    });
                }
            }
        });
        Ok(NetworkRecorder { entries, task })
    }
}
