//! A minimal Chrome DevTools Protocol connection over one websocket.
//!
//! Design: every command gets a fresh id and a oneshot that the reader task
//! completes when the matching response arrives; events are routed by their
//! flat-mode `sessionId` into a per-session broadcast channel (plus one for
//! browser-level events), so a page only ever sees its own traffic. The reader
//! also watches for crash and detach notifications and records them in a
//! per-session status, which lets callers abort in-flight work without running
//! a watcher task per page.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::error::BrowserError;

/// How long any single CDP command may take before we give up on it.
///
/// Chromium answers almost everything in milliseconds; a command that takes
/// this long means a wedged renderer, and callers must not hang forever.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Capacity of each event broadcast channel. Slow subscribers lose the oldest
/// events (and are told so) rather than stalling the reader.
pub(crate) const EVENT_CAPACITY: usize = 1024;

/// One protocol event, as received.
#[derive(Debug, Clone)]
pub(crate) struct CdpEvent {
    /// Fully qualified method name, e.g. `Page.loadEventFired`.
    pub method: String,
    /// Event parameters (an empty object when absent).
    pub params: Value,
}

/// Health of an attached target session, maintained by the reader task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionStatus {
    /// Attached and (as far as we know) fine.
    Alive,
    /// The target's renderer crashed.
    Crashed,
    /// The session was detached or the connection is gone.
    Gone,
}

/// Routing entry for one flat session.
struct SessionEntry {
    target_id: String,
    events: broadcast::Sender<CdpEvent>,
    /// A second channel that also gets this session's events (all tabs of a context share
    /// one, so a context-wide listener sees every tab).
    mirror: Option<broadcast::Sender<CdpEvent>>,
    status: watch::Sender<SessionStatus>,
}

/// A handle to one attached session: its events and its health.
pub(crate) struct SessionHandle {
    /// Flat-mode session id used on every command for this target.
    pub id: String,
    /// Sender side kept so callers can subscribe at any time.
    events: broadcast::Sender<CdpEvent>,
    /// Current status; subscribe to be woken on crash/detach.
    pub status: watch::Receiver<SessionStatus>,
}

impl SessionHandle {
    /// A fresh event receiver; only events arriving after this call are seen.
    pub fn subscribe(&self) -> broadcast::Receiver<CdpEvent> {
        self.events.subscribe()
    }
}

type Pending = HashMap<u64, oneshot::Sender<Result<Value, BrowserError>>>;

struct Shared {
    pending: Mutex<Pending>,
    sessions: Mutex<HashMap<String, SessionEntry>>,
    root_events: broadcast::Sender<CdpEvent>,
    /// `true` once the websocket is gone; never goes back to `false`.
    closed: watch::Sender<bool>,
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        // A poisoned lock only means another thread panicked mid-insert; the
        // map itself is still consistent enough to keep routing responses.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, SessionEntry>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A live CDP websocket connection to one browser. Cheap to clone.
#[derive(Clone)]
pub(crate) struct CdpConnection {
    shared: Arc<Shared>,
    outgoing: mpsc::UnboundedSender<Message>,
    next_id: Arc<AtomicU64>,
}

impl CdpConnection {
    /// Connects to the browser-level DevTools websocket and starts the
    /// reader/writer tasks.
    pub async fn connect(ws_url: &str) -> Result<Self, BrowserError> {
        // Full-page AX trees and DOM snapshots can be tens of MB; the default
        // frame limit (16 MiB) would kill the connection on a heavy page.
        let config = WebSocketConfig::default()
            .max_message_size(Some(512 << 20))
            .max_frame_size(Some(512 << 20));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(ws_url, Some(config), false)
            .await
            .map_err(|e| BrowserError::Launch(format!("websocket connect to {ws_url}: {e}")))?;
        let (mut sink, mut stream) = ws.split();
        let (outgoing, mut rx) = mpsc::unbounded_channel::<Message>();
        let (closed, _) = watch::channel(false);
        let (root_events, _) = broadcast::channel(EVENT_CAPACITY);
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            root_events,
            closed,
        });

        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                if let Err(e) = sink.send(msg).await {
                    tracing::debug!(error = %e, "cdp websocket write failed");
                    break;
                }
            }
            let _ = sink.close().await;
        });

        let reader_shared = shared.clone();
        tokio::spawn(async move {
            while let Some(msg) = stream.next().await {
                match msg {
                    Ok(Message::Text(text)) => dispatch(&reader_shared, text.as_str()),
                    Ok(Message::Binary(bytes)) => {
                        if let Ok(text) = std::str::from_utf8(&bytes) {
                            dispatch(&reader_shared, text);
                        }
                    }
                    Ok(Message::Close(_)) => break,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "cdp websocket read failed");
                        break;
                    }
                }
            }
            on_closed(&reader_shared);
        });

        Ok(Self {
            shared,
            outgoing,
            next_id: Arc::new(AtomicU64::new(1)),
        })
    }

    /// Browser-level events (no session id), e.g. `Browser.downloadProgress`; only events
    /// arriving after this call are seen.
    pub fn subscribe_root(&self) -> broadcast::Receiver<CdpEvent> {
        self.shared.root_events.subscribe()
    }

    /// Whether the websocket is gone.
    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow()
    }

    /// Starts routing events for a freshly attached session.
    ///
    /// Must be called before enabling any domain on the session so that no
    /// event is dropped for lack of a route.
    pub fn register_session(
        &self,
        session_id: &str,
        target_id: &str,
        mirror: Option<broadcast::Sender<CdpEvent>>,
    ) -> SessionHandle {
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let initial = if self.is_closed() {
            SessionStatus::Gone
        } else {
            SessionStatus::Alive
        };
        let (status, status_rx) = watch::channel(initial);
        self.shared.sessions().insert(
            session_id.to_string(),
            SessionEntry {
                target_id: target_id.to_string(),
                events: events.clone(),
                mirror,
                status,
            },
        );
        SessionHandle {
            id: session_id.to_string(),
            events,
            status: status_rx,
        }
    }

    /// Stops routing events for a session (after close/detach).
    pub fn forget_session(&self, session_id: &str) {
        self.shared.sessions().remove(session_id);
    }

    /// Sends a command and waits for its result.
    ///
    /// `session` is the flat-mode session id, `None` for browser-level
    /// commands. Protocol errors become [`BrowserError::Protocol`]; a lost
    /// connection becomes [`BrowserError::Closed`].
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, BrowserError> {
        if self.is_closed() {
            return Err(BrowserError::Closed);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            msg["sessionId"] = Value::String(session.to_string());
        }
        let (tx, rx) = oneshot::channel();
        self.shared.pending().insert(id, tx);
        // Guard against the reader having drained `pending` between the
        // `is_closed` check and the insert: it would never complete us.
        if self.is_closed() {
            self.shared.pending().remove(&id);
            return Err(BrowserError::Closed);
        }
        if self
            .outgoing
            .send(Message::Text(msg.to_string().into()))
            .is_err()
        {
            self.shared.pending().remove(&id);
            return Err(BrowserError::Closed);
        }
        tracing::trace!(id, method, ?session, "cdp ->");
        // If the caller gives up (timeout, crash, cancellation) the entry must
        // not linger until a response that may never come.
        let _guard = PendingGuard {
            shared: &self.shared,
            id,
        };
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(BrowserError::Closed),
            Err(_) => Err(BrowserError::Protocol(format!(
                "{method} timed out after {} s",
                COMMAND_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// Removes a command's pending entry when its caller stops waiting.
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.pending().remove(&self.id);
    }
}

/// Routes one incoming message to a pending command or to event subscribers.
fn dispatch(shared: &Shared, text: &str) {
    let msg: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "unparseable cdp message");
            return;
        }
    };
    if let Some(id) = msg.get("id").and_then(Value::as_u64) {
        let Some(tx) = shared.pending().remove(&id) else {
            return; // Timed out already; nobody is listening.
        };
        let result = match msg.get("error") {
            Some(err) => Err(BrowserError::Protocol(
                err.get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| err.to_string()),
            )),
            None => Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
        };
        let _ = tx.send(result);
        return;
    }
    let Some(method) = msg.get("method").and_then(Value::as_str) else {
        return;
    };
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    let session = msg.get("sessionId").and_then(Value::as_str);
    tracing::trace!(method, ?session, "cdp <- event");

    update_status(shared, method, session, &params);

    let event = CdpEvent {
        method: method.to_string(),
        params,
    };
    match session {
        Some(sid) => {
            if let Some(entry) = shared.sessions().get(sid) {
                // No receivers is normal (nobody waiting right now).
                // Cloned only when someone listens (the network log, while a task runs).
                if let Some(mirror) = entry.mirror.as_ref().filter(|m| m.receiver_count() > 0) {
                    let _ = mirror.send(event.clone());
                }
                let _ = entry.events.send(event);
            }
        }
        None => {
            let _ = shared.root_events.send(event);
        }
    }
}

/// Records crash/detach notifications in the affected session's status.
fn update_status(shared: &Shared, method: &str, session: Option<&str>, params: &Value) {
    let str_param = |name: &str| params.get(name).and_then(Value::as_str);
    let sessions = shared.sessions();
    match method {
        // Sent on the crashed page's own session (needs `Inspector.enable`).
        "Inspector.targetCrashed" => {
            if let Some(entry) = session.and_then(|s| sessions.get(s)) {
                entry.status.send_replace(SessionStatus::Crashed);
            }
        }
        // Browser-level variant (only with target discovery), keyed by target.
        "Target.targetCrashed" => {
            if let Some(tid) = str_param("targetId") {
                for entry in sessions.values().filter(|e| e.target_id == tid) {
                    entry.status.send_replace(SessionStatus::Crashed);
                }
            }
        }
        "Target.detachedFromTarget" => {
            if let Some(entry) = str_param("sessionId").and_then(|s| sessions.get(s)) {
                // Keep "crashed" if it was: it is the more useful diagnosis.
                entry.status.send_if_modified(|s| {
                    if *s == SessionStatus::Alive {
                        *s = SessionStatus::Gone;
                        true
                    } else {
                        false
                    }
                });
            }
        }
        _ => {}
    }
}

/// Fails every in-flight command and marks every session gone.
fn on_closed(shared: &Shared) {
    shared.closed.send_replace(true);
    for (_, tx) in shared.pending().drain() {
        let _ = tx.send(Err(BrowserError::Closed));
    }
    for entry in shared.sessions().values() {
        entry.status.send_if_modified(|s| {
            if *s == SessionStatus::Alive {
                *s = SessionStatus::Gone;
                true
            } else {
                false
            }
        });
    }
    tracing::debug!("cdp connection closed");
}
