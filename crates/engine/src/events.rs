//! Session events (spec §5): every state change gets a per-session sequence number and is
//! persisted; later issues fan them out over Socket.IO and SSE.

use crate::live::LiveSession;
use crate::now_ms;
use serde_json::{Map, Value, json};
use std::sync::atomic::Ordering;
use wayfarer_core::TaskId;
use wayfarer_store::{EventRecord, Store};

/// Records event `kind` with `fields` merged into the common envelope.
pub(crate) async fn record(
    store: &dyn Store,
    session: &LiveSession,
    task_id: Option<&TaskId>,
    kind: &str,
    fields: Value,
) {
    let seq = session.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let timestamp = now_ms();
    let mut payload = Map::new();
    payload.insert("type".into(), json!(kind));
    payload.insert("sessionId".into(), json!(session.id));
    if let Some(task) = task_id {
        payload.insert("taskId".into(), json!(task));
    }
    payload.insert("seq".into(), json!(seq));
    payload.insert("timestamp".into(), json!(timestamp));
    if let Value::Object(extra) = fields {
        payload.extend(extra);
    }
    let event = EventRecord {
        session_id: session.id.clone(),
        seq,
        task_id: task_id.cloned(),
        kind: kind.to_string(),
        payload: Value::Object(payload),
        created_at: timestamp,
    };
    if let Err(e) = store.append_event(&event).await {
        tracing::warn!(session_id = %session.id, error = %e, "could not persist event");
    }
}
