//! Session and task states, and the session state × action table of spec §3.

use crate::error::Error;
use serde::{Deserialize, Serialize};

/// The state of a session as answered on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Idle or running a task.
    Active,
    /// The agent is frozen between steps.
    Paused,
    /// A human has control.
    Takeover,
    /// Ended by a terminate request or `terminateOnCompletion`.
    Terminated,
    /// Ended by the inactivity timer.
    Expired,
    /// Ended by a fault (browser lost, node lost).
    Failed,
}

impl SessionState {
    /// Wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Active => "active",
            SessionState::Paused => "paused",
            SessionState::Takeover => "takeover",
            SessionState::Terminated => "terminated",
            SessionState::Expired => "expired",
            SessionState::Failed => "failed",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<SessionState> {
        Some(match s {
            "active" => SessionState::Active,
            "paused" => SessionState::Paused,
            "takeover" => SessionState::Takeover,
            "terminated" => SessionState::Terminated,
            "expired" => SessionState::Expired,
            "failed" => SessionState::Failed,
            _ => return None,
        })
    }

    /// Whether the session has ended for good.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SessionState::Terminated | SessionState::Expired | SessionState::Failed
        )
    }
}

/// The state of a task as answered on the wire (`pending` exists only in the inline-window
/// timeout answer and is not a stored state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// The agent is working.
    Active,
    /// Paused or in takeover.
    Paused,
    /// Waiting on a human's guardrail answer.
    Guardrail,
    /// Finished with an answer.
    Completed,
    /// Finished with an error.
    Failed,
}

impl TaskStatus {
    /// Wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Active => "active",
            TaskStatus::Paused => "paused",
            TaskStatus::Guardrail => "guardrail",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<TaskStatus> {
        Some(match s {
            "active" => TaskStatus::Active,
            "paused" => TaskStatus::Paused,
            "guardrail" => TaskStatus::Guardrail,
            "completed" => TaskStatus::Completed,
            "failed" => TaskStatus::Failed,
            _ => return None,
        })
    }

    /// Whether the task has ended.
    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Failed)
    }
}

/// What a send-message (or the equivalent socket/MCP call) asks of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionAction {
    NewTask,
    Pause,
    Resume,
    Stop,
    Terminate,
    TakeOverControl,
    ReleaseControl,
    /// CLICK, TYPE, KEY, SCROLL, NAVIGATE.
    Input,
    GuardrailAnswer,
}

impl SessionAction {
    /// The verb used in `INVALID_STATE` messages.
    pub fn verb(self) -> &'static str {
        match self {
            SessionAction::NewTask => "start a new task",
            SessionAction::Pause => "pause",
            SessionAction::Resume => "resume",
            SessionAction::Stop => "stop",
            SessionAction::Terminate => "terminate",
            SessionAction::TakeOverControl => "take over control",
            SessionAction::ReleaseControl => "release control",
            SessionAction::Input => "send input",
            SessionAction::GuardrailAnswer => "answer a guardrail",
        }
    }
}

/// What the session's task is doing, as far as the state table cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskPresence {
    /// No task, or the last one has ended.
    None,
    /// A task exists and has not ended.
    Running,
    /// A task is waiting for a guardrail answer.
    GuardrailPending,
}

/// Whether `takeover` is implemented by this build; until it is, every interaction answers
/// `INVALID_STATE` (the Foundation issue asks for exactly that).
pub const TAKEOVER_SUPPORTED: bool = false;

/// Spec §3's table: may `action` be applied to a session in `state` whose task is `task`?
/// `session_id` and `idle_ms` fill the 404/410 errors of ended sessions.
pub fn check_action(
    state: SessionState,
    task: TaskPresence,
    action: SessionAction,
    session_id: &str,
    idle_ms: u64,
) -> Result<(), Error> {
    use SessionAction as A;
    use SessionState as S;
    let invalid = |state_text: &str| Error::InvalidState {
        action: action.verb().to_string(),
        state: state_text.to_string(),
    };
    let has_task = task != TaskPresence::None;
    match state {
        S::Terminated | S::Failed | S::Expired if action == A::Terminate => Ok(()),
        S::Terminated => Err(Error::SessionNotFound {
            session_id: session_id.to_string(),
            reason: None,
        }),
        S::Failed => Err(Error::SessionNotFound {
            session_id: session_id.to_string(),
            reason: Some("session failed".into()),
        }),
        S::Expired => Err(Error::SessionExpired { idle_ms }),
        S::Active => {
            let shown = if has_task { "running a task" } else { "idle" };
            match action {
                A::Terminate => Ok(()),
                A::NewTask if has_task => Err(Error::TaskAlreadyRunning),
                A::NewTask => Ok(()),
                A::Pause | A::Stop if has_task => Ok(()),
                A::Pause | A::Stop | A::Resume => Err(invalid(shown)),
                A::GuardrailAnswer if task == TaskPresence::GuardrailPending => Ok(()),
                A::GuardrailAnswer => Err(invalid(shown)),
                A::TakeOverControl if TAKEOVER_SUPPORTED => Ok(()),
                A::TakeOverControl | A::ReleaseControl | A::Input => Err(invalid(shown)),
            }
        }
        S::Paused => match action {
            A::Terminate | A::Stop | A::Resume => Ok(()),
            A::NewTask if has_task => Err(Error::TaskAlreadyRunning),
            _ => Err(invalid("paused")),
        },
        S::Takeover => match action {
            A::Terminate | A::Stop | A::Input | A::ReleaseControl => Ok(()),
            A::NewTask if has_task => Err(Error::TaskAlreadyRunning),
            _ => Err(invalid("in takeover")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use SessionAction as A;
    use SessionState as S;
    use TaskPresence as T;

    fn code(state: S, task: T, action: A) -> Option<ErrorCode> {
        check_action(state, task, action, "s", 300)
            .err()
            .map(|e| e.code())
    }

    #[test]
    fn table_of_spec_section_3() {
        use ErrorCode::*;
        let rows: &[(S, T, A, Option<ErrorCode>)] = &[
            (S::Active, T::None, A::NewTask, None),
            (S::Active, T::None, A::Pause, Some(InvalidState)),
            (S::Active, T::None, A::Resume, Some(InvalidState)),
            (S::Active, T::None, A::Stop, Some(InvalidState)),
            (S::Active, T::None, A::Terminate, None),
            (S::Active, T::None, A::Input, Some(InvalidState)),
            (S::Active, T::None, A::GuardrailAnswer, Some(InvalidState)),
            (S::Active, T::Running, A::NewTask, Some(TaskAlreadyRunning)),
            (S::Active, T::Running, A::Pause, None),
            (S::Active, T::Running, A::Resume, Some(InvalidState)),
            (S::Active, T::Running, A::Stop, None),
            (S::Active, T::Running, A::Terminate, None),
            (
                S::Active,
                T::Running,
                A::GuardrailAnswer,
                Some(InvalidState),
            ),
            (S::Active, T::GuardrailPending, A::GuardrailAnswer, None),
            (S::Paused, T::Running, A::NewTask, Some(TaskAlreadyRunning)),
            (S::Paused, T::None, A::NewTask, Some(InvalidState)),
            (S::Paused, T::Running, A::Pause, Some(InvalidState)),
            (S::Paused, T::Running, A::Resume, None),
            (S::Paused, T::Running, A::Stop, None),
            (S::Paused, T::Running, A::Terminate, None),
            (S::Paused, T::Running, A::Input, Some(InvalidState)),
            (
                S::Paused,
                T::Running,
                A::GuardrailAnswer,
                Some(InvalidState),
            ),
            (
                S::Takeover,
                T::Running,
                A::NewTask,
                Some(TaskAlreadyRunning),
            ),
            (S::Takeover, T::None, A::NewTask, Some(InvalidState)),
            (S::Takeover, T::None, A::Pause, Some(InvalidState)),
            (S::Takeover, T::None, A::Stop, None),
            (S::Takeover, T::None, A::Input, None),
            (S::Terminated, T::None, A::NewTask, Some(SessionNotFound)),
            (S::Terminated, T::None, A::Stop, Some(SessionNotFound)),
            (S::Terminated, T::None, A::Terminate, None),
            (S::Expired, T::None, A::NewTask, Some(SessionExpired)),
            (S::Expired, T::None, A::Pause, Some(SessionExpired)),
            (S::Expired, T::None, A::Terminate, None),
            (S::Failed, T::None, A::NewTask, Some(SessionNotFound)),
            (S::Failed, T::None, A::Terminate, None),
        ];
        for (state, task, action, expected) in rows {
            assert_eq!(
                code(*state, *task, *action),
                *expected,
                "{state:?} {task:?} {action:?}"
            );
        }
    }
}
