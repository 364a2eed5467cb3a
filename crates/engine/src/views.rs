//! What the engine answers: typed views the transports turn into their wire shapes.

use serde_json::{Value, json};
use wayfarer_core::{Error, Micros, SessionId, SessionState, TaskId, TaskStatus, Usage};
use wayfarer_store::{Account, TaskRecord, UsageTotals};

/// How a task ended.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskOutcome {
    /// `data` of spec §4: `{message, output?, files, network}`.
    Completed { data: Value },
    /// A §4 failure.
    Failed {
        code: String,
        error: String,
        details: Option<Value>,
    },
}

impl TaskOutcome {
    /// From a task failure.
    pub fn failed(e: &Error) -> TaskOutcome {
        TaskOutcome::Failed {
            code: e.code().as_str().to_string(),
            error: e.message(),
            details: e.details(),
        }
    }

    /// The stored JSON form.
    pub(crate) fn to_stored(&self) -> Value {
        match self {
            TaskOutcome::Completed { data } => json!({ "kind": "completed", "data": data }),
            TaskOutcome::Failed {
                code,
                error,
                details,
            } => {
                json!({ "kind": "failed", "code": code, "error": error, "details": details })
            }
        }
    }

    /// Reads the stored JSON form back.
    pub(crate) fn from_stored(v: &Value) -> Option<TaskOutcome> {
        match v.get("kind")?.as_str()? {
            "completed" => Some(TaskOutcome::Completed {
                data: v.get("data")?.clone(),
            }),
            "failed" => Some(TaskOutcome::Failed {
                code: v.get("code")?.as_str()?.to_string(),
                error: v.get("error")?.as_str()?.to_string(),
                details: v.get("details").filter(|d| !d.is_null()).cloned(),
            }),
            _ => None,
        }
    }
}

/// A task as a client sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskView {
    pub session_id: SessionId,
    pub task_id: TaskId,
    pub status: TaskStatus,
    pub usage: Usage,
    /// Set once the task has ended.
    pub outcome: Option<TaskOutcome>,
}

impl TaskView {
    /// Whether the task has ended.
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    pub(crate) fn from_record(r: &TaskRecord) -> TaskView {
        TaskView {
            session_id: r.session_id.clone(),
            task_id: r.id.clone(),
            status: r.status,
            usage: r.usage,
            outcome: r.outcome.as_ref().and_then(TaskOutcome::from_stored),
        }
    }
}

/// The answer to start-session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionStarted {
    pub session_id: SessionId,
    /// Set when a task was given and started.
    pub task_id: Option<TaskId>,
    pub initial_prompt: Option<String>,
    /// The inactivity timeout, reported as `expiresIn`.
    pub expires_in_ms: u64,
    /// `None` = unlimited.
    pub balance: Option<Micros>,
}

/// A session with its tasks and events (`GET /v1/sessions/:id`).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionView {
    pub session_id: SessionId,
    pub state: SessionState,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    pub tasks: Vec<TaskView>,
    pub events: Vec<Value>,
}

/// An account's balance, limits and usage (`GET /v1/account`).
#[derive(Clone, Debug, PartialEq)]
pub struct AccountView {
    pub account: Account,
    /// The session limit in force (the pool's capacity when the account has none).
    pub session_limit: u64,
    pub live_sessions: u64,
    pub usage: UsageTotals,
}
