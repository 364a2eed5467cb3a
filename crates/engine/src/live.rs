//! Live sessions and tasks held in memory by the node that owns them.

use crate::views::TaskView;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::watch;
use wayfarer_agent::Control;
use wayfarer_browser::{BrowserContext, Upstream};
use wayfarer_core::state::TaskPresence;
use wayfarer_core::{AccountId, SessionId, SessionState, TaskId};

/// A running task's handles.
pub(crate) struct LiveTask {
    pub id: TaskId,
    /// Asks the agent loop to pause, resume, stop or end.
    pub control: watch::Sender<Control>,
    /// The task as GET /task shows it; final once the task has ended.
    pub view: watch::Sender<TaskView>,
}

/// Mutable part of a live session.
pub(crate) struct SessionInner {
    pub state: SessionState,
    pub last_activity: Instant,
    /// The task that has not ended yet, if any.
    pub task: Option<Arc<LiveTask>>,
}

impl SessionInner {
    /// What the state table needs to know about the session's task.
    pub fn presence(&self) -> TaskPresence {
        if self.task.is_some() {
            TaskPresence::Running
        } else {
            TaskPresence::None
        }
    }
}

/// A session whose browser context is open on this node.
pub(crate) struct LiveSession {
    pub id: SessionId,
    pub account_id: AccountId,
    pub created: Instant,
    /// The browser context (a crashed tab is replaced inside it, see `recover_if_crashed`).
    context: Arc<BrowserContext>,
    /// The session's own proxy, chained behind its network guard.
    pub upstream: Option<Upstream>,
    inner: Mutex<SessionInner>,
    /// Last event sequence number used.
    pub seq: AtomicI64,
    /// Working time of this session's tasks, for idle billing at the end.
    pub working_ms: AtomicU64,
}

impl LiveSession {
    pub fn new(
        id: SessionId,
        account_id: AccountId,
        context: BrowserContext,
        upstream: Option<Upstream>,
    ) -> LiveSession {
        LiveSession {
            id,
            account_id,
            created: Instant::now(),
            context: Arc::new(context),
            upstream,
            inner: Mutex::new(SessionInner {
                state: SessionState::Active,
                last_activity: Instant::now(),
                task: None,
            }),
            seq: AtomicI64::new(0),
            working_ms: AtomicU64::new(0),
        }
    }

    /// The mutable part. Never held across an `.await`.
    pub fn inner(&self) -> MutexGuard<'_, SessionInner> {
        // A panic while holding this lock cannot leave the plain fields inconsistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The browser context in use.
    pub fn context(&self) -> Arc<BrowserContext> {
        self.context.clone()
    }

    /// If the active tab has crashed, gives it a fresh page in the same browser context
    /// (cookies kept), so the session's next task can run.
    pub async fn recover_if_crashed(&self) {
        if !self.context.is_crashed() {
            return;
        }
        if let Err(e) = self.context.recover().await {
            tracing::warn!(session_id = %self.id, error = %e, "could not recover a crashed page")
        }
    }

    /// Resets the inactivity timer.
    pub fn touch(&self) {
        self.inner().last_activity = Instant::now();
    }
}
