//! Files a context's pages download: Chromium saves them under the context's own folder
//! (named by download guid) and we record each completed one with its source URL and the name
//! the site suggested.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::cdp::CdpConnection;
use crate::error::BrowserError;

/// A completed download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// URL the file came from.
    pub source: String,
    /// The name the site suggested (sanitised: no path separators).
    pub filename: String,
    /// Where Chromium saved it.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Completion time, milliseconds since the Unix epoch.
    pub timestamp: i64,
}

/// Watches browser-level download events for one context folder.
pub(crate) struct DownloadWatcher {
    pub dir: PathBuf,
    done: std::sync::Arc<Mutex<Vec<Download>>>,
    /// Downloads begun and not finished (completed, cancelled or failed).
    pending: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for DownloadWatcher {
    fn drop(&mut self) {
        self.task.abort();
        // Files not taken by the engine go with the context.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A file name safe to put in a `Content-Disposition` and on disk.
fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').to_string();
    if trimmed.is_empty() {
        "download".into()
    } else {
        trimmed.chars().take(200).collect()
    }
}

impl DownloadWatcher {
    /// Lets the context's pages download into `dir` and starts recording what completes.
    pub(crate) async fn start(
        conn: &CdpConnection,
        browser_context_id: &str,
        dir: &Path,
    ) -> Result<DownloadWatcher, BrowserError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| BrowserError::Protocol(format!("create {}: {e}", dir.display())))?;
        let mut events = conn.subscribe_root();
        conn.call(
            None,
            "Browser.setDownloadBehavior",
            json!({ "behavior": "allowAndName", "browserContextId": browser_context_id,
                    "downloadPath": dir.display().to_string(), "eventsEnabled": true }),
        )
        .await?;
        let done = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = done.clone();
        let pending = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let in_flight = pending.clone();
        let folder = dir.to_path_buf();
        let task = tokio::spawn(async move {
            let mut started: std::collections::HashMap<String, (String, String)> =
                Default::default();
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let p = &event.params;
                let guid = p
                    .get("guid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                match event.method.as_str() {
                    "Browser.downloadWillBegin" => {
                        let url = p
                            .get("url")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        let name = sanitize(
                            p.get("suggestedFilename")
                                .and_then(Value::as_str)
                                .unwrap_or("download"),
                        );
                        started.insert(guid, (url, name));
                        in_flight.store(started.len(), std::sync::atomic::Ordering::Release);
                    }
                    "Browser.downloadProgress"
                        if p.get("state").and_then(Value::as_str) == Some("canceled") =>
                    {
                        started.remove(&guid);
                        in_flight.store(started.len(), std::sync::atomic::Ordering::Release);
                    }
                    "Browser.downloadProgress"
                        if p.get("state").and_then(Value::as_str) == Some("completed") =>
                    {
                        // Every context's downloads arrive here; ours are the ones in our folder.
                        let path = folder.join(&guid);
                        let Ok(meta) = std::fs::metadata(&path) else {
                            continue;
                        };
                        let (source, filename) = started.remove(&guid).unwrap_or_default();
                        in_flight.store(started.len(), std::sync::atomic::Ordering::Release);
                        let download = Download {
                            source,
                            filename,
                            path,
                            size: meta.len(),
                            timestamp: now_ms(),
                        };
                        sink.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(download);
                    }
                    _ => {}
                }
            }
        });
        Ok(DownloadWatcher {
            dir: dir.to_path_buf(),
            done,
            pending,
            task,
        })
    }

    /// Downloads begun and still running.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Completed downloads not taken yet.
    pub(crate) fn take(&self) -> Vec<Download> {
        std::mem::take(&mut *self.done.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(sanitize("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(sanitize("report.pdf"), "report.pdf");
        assert_eq!(sanitize("  "), "download");
        assert_eq!(sanitize("a\nb"), "a_b");
    }
}
