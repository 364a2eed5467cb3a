//! Rows as Rust values.

use serde::Serialize;
use serde_json::Value;
use wayfarer_core::{AccountId, Micros, SessionId, SessionState, TaskId, TaskStatus, Usage};

/// An account: owner of keys, sessions and money.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    /// `None` = unlimited.
    pub balance: Option<Micros>,
    /// `None` = the pool's capacity.
    pub session_limit: Option<u32>,
    /// POSTs per minute on the three /start endpoints; `None` = unlimited.
    pub rate_limit: Option<u32>,
    pub active: bool,
    pub created_at: i64,
}

/// What `create_account` needs.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub name: String,
    pub balance: Option<Micros>,
    pub session_limit: Option<u32>,
    pub rate_limit: Option<u32>,
    pub now_ms: i64,
}

/// A stored API key: its hash, never the key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApiKeyRecord {
    pub id: String,
    pub account_id: AccountId,
    /// The first characters of the key, for people to tell keys apart.
    pub prefix: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What `insert_key` needs.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub id: String,
    pub account_id: AccountId,
    pub key_hash: String,
    pub prefix: String,
    pub now_ms: i64,
    pub expires_at: Option<i64>,
}

/// A session row.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    pub id: SessionId,
    pub account_id: AccountId,
    pub state: SessionState,
    /// The node that owns the live session.
    pub node: String,
    /// Session options as given, secrets redacted.
    pub options: Value,
    pub created_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
}

/// A task row.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    pub id: TaskId,
    pub session_id: SessionId,
    pub account_id: AccountId,
    pub status: TaskStatus,
    /// Task options, secrets redacted.
    pub options: Value,
    /// Completed: the result `data`; failed: `{code, error, details}`.
    pub outcome: Option<Value>,
    pub usage: Usage,
    pub reserved: Micros,
    pub created_at: i64,
    pub updated_at: i64,
    pub ended_at: Option<i64>,
}

/// An event row (spec §5 payload).
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    pub session_id: SessionId,
    pub seq: i64,
    pub task_id: Option<TaskId>,
    pub kind: String,
    pub payload: Value,
    pub created_at: i64,
}

/// An account's usage totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct UsageTotals {
    pub tasks: i64,
    pub steps: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost: Micros,
}

/// A stored file (downloaded by the agent).
#[derive(Clone, Debug, PartialEq)]
pub struct FileRecord {
    pub id: String,
    pub account_id: AccountId,
    pub session_id: Option<SessionId>,
    pub task_id: Option<TaskId>,
    /// The URL it came from.
    pub source: String,
    pub filename: String,
    /// Absolute path of the bytes.
    pub path: String,
    pub size: i64,
    pub created_at: i64,
}
