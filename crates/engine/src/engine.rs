//! The engine's public API.

use crate::config::EngineConfig;
use crate::live::{LiveSession, LiveTask, SessionInner};
use crate::rate::RateLimits;
use crate::views::{AccountView, SessionStarted, SessionView, TaskView};
use crate::{auth, events, now_ms, runner, sweeper};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use wayfarer_agent::{Control, Planner};
use wayfarer_browser::{BrowserError, BrowserPool, Upstream};
use wayfarer_core::error::Thing;
use wayfarer_core::state::{TaskPresence, check_action};
use wayfarer_core::{
    AccountId, Error, Micros, SessionAction, SessionId, SessionSpec, SessionState, TaskId,
    TaskSpec, TaskStatus, Usage,
};
use wayfarer_store::{Account, Reservation, SessionRecord, Store, TaskRecord};

/// Seconds a client is told to wait when no browser capacity is free.
const CAPACITY_RETRY_AFTER_SECS: u64 = 5;
/// Longest a stop/terminate waits for the agent loop to wind down before answering.
const WIND_DOWN: Duration = Duration::from_secs(10);

/// Logs `err` with a fresh request id and returns the `INTERNAL_ERROR` that carries it.
pub(crate) fn internal(context: &str, err: impl std::fmt::Display) -> Error {
    let request_id = TaskId::generate().as_str()[..12].to_string();
    tracing::error!(%request_id, error = %err, "{context}");
    Error::Internal { request_id }
}

/// A `send-message` state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateChange {
    Pause,
    Resume,
    Stop,
    Terminate,
}

impl StateChange {
    fn action(self) -> SessionAction {
        match self {
            StateChange::Pause => SessionAction::Pause,
            StateChange::Resume => SessionAction::Resume,
            StateChange::Stop => SessionAction::Stop,
            StateChange::Terminate => SessionAction::Terminate,
        }
    }
}

pub(crate) struct Shared {
    pub config: EngineConfig,
    pub store: Arc<dyn Store>,
    pub pool: Arc<BrowserPool>,
    pub planner: Arc<dyn Planner>,
    sessions: Mutex<HashMap<SessionId, Arc<LiveSession>>>,
    /// Sessions being opened (counted against limits before their context exists).
    opening: Mutex<HashMap<AccountId, u64>>,
    rate: RateLimits,
    /// Which proxy of the operator's pool the next `source:"WebRun"` session gets.
    next_pool_proxy: std::sync::atomic::AtomicUsize,
}

impl Shared {
    fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<LiveSession>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn live_sessions(&self) -> Vec<Arc<LiveSession>> {
        self.sessions().values().cloned().collect()
    }

    fn live_count(&self, account: &AccountId) -> u64 {
        self.sessions()
            .values()
            .filter(|s| &s.account_id == account)
            .count() as u64
    }

    /// Ends a live session for good: the running task (if any) ends as `SESSION_TERMINATED` /
    /// `SESSION_EXPIRED`, the browser context is closed, the store and events record it.
    pub(crate) async fn end_session(
        &self,
        session: &Arc<LiveSession>,
        state: SessionState,
        reason: &str,
    ) {
        let task = {
            let mut inner = session.inner();
            if inner.state.is_final() {
                return;
            }
            inner.state = state;
            inner.task.clone()
        };
        if let Some(task) = task {
            let control = match state {
                SessionState::Expired => Control::Expire {
                    idle_ms: self.config.session_timeout.as_millis() as u64,
                },
                _ => Control::Terminate,
            };
            let _ = task.control.send(control);
            wait_final(&task, WIND_DOWN).await;
        }
        session.context().close().await;
        self.sessions().remove(&session.id);
        if let Err(e) = self
            .store
            .update_session(&session.id, state, now_ms(), Some(reason))
            .await
        {
            tracing::error!(session_id = %session.id, error = %e, "could not record session end");
        }
        self.bill_idle_time(session).await;
        events::record(
            &*self.store,
            session,
            None,
            "session_terminated",
            json!({ "reason": reason }),
        )
        .await;
        tracing::info!(session_id = %session.id, state = state.as_str(), reason, "session ended");
    }

    /// Idle browser time is billed at the minute price (spec §8).
    async fn bill_idle_time(&self, session: &LiveSession) {
        let lifetime = session.created.elapsed().as_millis() as u64;
        let idle = lifetime.saturating_sub(session.working_ms.load(Ordering::Relaxed));
        let cost = self.config.prices.cost(0, 0, idle);
        if cost > Micros::ZERO
            && let Err(e) = self
                .store
                .settle(&session.account_id, Micros::ZERO, cost)
                .await
        {
            tracing::error!(session_id = %session.id, error = %e, "could not bill idle time");
        }
    }
}

/// Waits until `task`'s view is final, at most `limit`.
async fn wait_final(task: &LiveTask, limit: Duration) -> TaskView {
    let mut rx = task.view.subscribe();
    let _ = tokio::time::timeout(limit, rx.wait_for(|v| v.is_final())).await;
    rx.borrow().clone()
}

/// A session found for a request: live on this node, or ended (within retention).
enum Found {
    Live(Arc<LiveSession>),
    Ended(SessionRecord),
}

/// Releases a claimed session slot when dropped (creation failed or finished).
struct OpeningSlot<'a> {
    shared: &'a Shared,
    account: AccountId,
}

impl Drop for OpeningSlot<'_> {
    fn drop(&mut self) {
        let mut opening = self
            .shared
            .opening
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = opening.get_mut(&self.account) {
            *n = n.saturating_sub(1);
        }
    }
}

/// The engine. Cheap to clone; every clone is the same engine.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl Engine {
    /// Builds the engine, fails sessions a previous run of this node left open, and starts the
    /// expiry/retention sweeper.
    pub async fn start(
        config: EngineConfig,
        store: Arc<dyn Store>,
        pool: Arc<BrowserPool>,
        planner: Arc<dyn Planner>,
    ) -> Result<Engine, wayfarer_store::StoreError> {
        let orphans = store.fail_orphans(&config.node, now_ms()).await?;
        if orphans > 0 {
            tracing::warn!(orphans, "failed sessions left open by a previous run");
        }
        let shared = Arc::new(Shared {
            config,
            store,
            pool,
            planner,
            sessions: Mutex::new(HashMap::new()),
            opening: Mutex::new(HashMap::new()),
            rate: RateLimits::default(),
            next_pool_proxy: Default::default(),
        });
        sweeper::spawn(Arc::downgrade(&shared));
        Ok(Engine { shared })
    }

    /// The configuration in force.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// The store (for the operator CLI and health checks).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// Whether the store answers and the browser pool is up.
    pub async fn ready(&self) -> bool {
        self.shared.pool.is_ready() && self.shared.store.is_empty().await.is_ok()
    }

    /// Resolves an `Authorization` header to its account (401/403 otherwise).
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Account, Error> {
        auth::authenticate(&*self.shared.store, header).await
    }

    /// Counts one request against the account's /start rate limit.
    pub fn check_rate_limit(&self, account: &Account) -> Result<(), Error> {
        self.shared.rate.check(&account.id, account.rate_limit)
    }

    /// The operator pool's next proxy (round robin), if a pool is configured.
    fn pool_proxy(&self) -> Option<Upstream> {
        let pool = &self.shared.config.proxy_pool;
        if pool.is_empty() {
            return None;
        }
        let turn = self
            .shared
            .next_pool_proxy
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        pool.get(turn % pool.len()).cloned()
    }

    fn session_limit(&self, account: &Account) -> u64 {
        account
            .session_limit
            .map(u64::from)
            .unwrap_or(self.shared.pool.capacity() as u64)
    }

    /// Ids of environments, policies and files must exist; none can yet (later issues), so any
    /// given id is unknown. Custom proxies are refused until the browser can apply them.
    fn check_references(
        &self,
        session: Option<&SessionSpec>,
        task: Option<&TaskSpec>,
    ) -> Result<(), Error> {
        if let Some(s) = session {
            if let Some(proxy) = s
                .proxy
                .as_ref()
                .filter(|p| p.source != "custom" && self.shared.config.proxy_pool.is_empty())
            {
                return Err(Error::invalid_param(
                    "proxy.source",
                    &json!(proxy.source),
                    wayfarer_core::ParamRule::Other(
                        "'WebRun' needs an operator proxy pool, and none is configured; use 'custom'"
                            .into(),
                    ),
                ));
            }
            if let Some(id) = &s.environment_id {
                return Err(Error::ThingNotFound {
                    kind: Thing::Environment,
                    id: id.clone(),
                });
            }
            if let Some(id) = &s.policy_id {
                return Err(Error::ThingNotFound {
                    kind: Thing::Policy,
                    id: id.clone(),
                });
            }
        }
        if let Some(id) = task.and_then(|t| t.files.first()) {
            return Err(Error::ThingNotFound {
                kind: Thing::File,
                id: id.clone(),
            });
        }
        Ok(())
    }

    /// Worst-case cost of a task (spec §8), reserved before it starts.
    fn worst_case(&self, task: &TaskSpec) -> Micros {
        self.shared.config.prices.cost(
            task.max_input_tokens,
            task.max_output_tokens,
            task.max_duration_ms,
        )
    }

    async fn reserve(&self, account: &Account, amount: Micros) -> Result<(), Error> {
        match self.shared.store.reserve(&account.id, amount).await {
            Ok(Reservation::Reserved) => Ok(()),
            Ok(Reservation::Insufficient { balance }) => Err(Error::InsufficientBalance {
                balance,
                required: amount,
            }),
            Err(e) => Err(internal("balance reservation", e)),
        }
    }

    async fn refund(&self, account: &AccountId, amount: Micros) {
        if amount > Micros::ZERO
            && let Err(e) = self
                .shared
                .store
                .settle(account, amount, Micros::ZERO)
                .await
        {
            tracing::error!(account_id = %account, error = %e, "could not refund reservation");
        }
    }

    /// Creates a session (and starts its first task when one is given). Never waits for the task.
    pub async fn start_session(
        &self,
        account: &Account,
        session: SessionSpec,
        task: Option<TaskSpec>,
    ) -> Result<SessionStarted, Error> {
        let (live, task) = self.open_session(account, &session, task).await?;
        Ok(SessionStarted {
            session_id: live.id.clone(),
            task_id: task.map(|t| t.id.clone()),
            initial_prompt: None,
            expires_in_ms: self.shared.config.session_timeout.as_millis() as u64,
            balance: self
                .shared
                .store
                .account_by_id(&account.id)
                .await
                .ok()
                .flatten()
                .and_then(|a| a.balance),
        })
    }

    async fn open_session(
        &self,
        account: &Account,
        session: &SessionSpec,
        task: Option<TaskSpec>,
    ) -> Result<(Arc<LiveSession>, Option<Arc<LiveTask>>), Error> {
        self.check_references(Some(session), task.as_ref())?;
        let limit = self.session_limit(account);
        let _slot = {
            let live = self.shared.live_count(&account.id);
            let mut opening = self
                .shared
                .opening
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let pending = opening.entry(account.id.clone()).or_insert(0);
            let current = live + *pending;
            if current >= limit {
                return Err(Error::SessionLimitReached { current, limit });
            }
            *pending += 1;
            OpeningSlot {
                shared: &self.shared,
                account: account.id.clone(),
            }
        };
        let opening_total: u64 = {
            let opening = self
                .shared
                .opening
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            opening.values().sum()
        };
        if self.shared.pool.in_use() as u64 + opening_total > self.shared.pool.capacity() as u64 {
            return Err(Error::InstanceUnavailable {
                retry_after_secs: CAPACITY_RETRY_AFTER_SECS,
                reason: None,
            });
        }
        let reserved = match &task {
            Some(t) => {
                let amount = self.worst_case(t);
                self.reserve(account, amount).await?;
                amount
            }
            None => Micros::ZERO,
        };
        let context = match self.shared.pool.new_context().await {
            Ok(c) => c,
            Err(e) => {
                self.refund(&account.id, reserved).await;
                return Err(match e {
                    BrowserError::Unavailable => Error::InstanceUnavailable {
                        retry_after_secs: CAPACITY_RETRY_AFTER_SECS,
                        reason: None,
                    },
                    other => {
                        let err = internal("browser context", &other);
                        if let Error::Internal { request_id } = err {
                            Error::InstanceUnavailable {
                                retry_after_secs: CAPACITY_RETRY_AFTER_SECS,
                                reason: Some(format!("browser error (request {request_id})")),
                            }
                        } else {
                            err
                        }
                    }
                });
            }
        };
        let upstream = session.proxy.as_ref().and_then(|p| {
            if p.source != "custom" {
                return self.pool_proxy();
            }
            p.server.as_ref().map(|server| Upstream {
                url: server.clone(),
                username: p.username.clone(),
                password: p.password.as_ref().map(|s| s.expose().to_string()),
                trusted: false,
            })
        });
        if let Err(e) = context.set_network_policy(Vec::new(), upstream.clone()) {
            context.close().await;
            self.refund(&account.id, reserved).await;
            let server = session.proxy.as_ref().and_then(|p| p.server.clone());
            return Err(Error::invalid_param(
                "proxy.server",
                &json!(server),
                wayfarer_core::ParamRule::Other(e.to_string()),
            ));
        }
        let id = SessionId::generate();
        let now = now_ms();
        let record = SessionRecord {
            id: id.clone(),
            account_id: account.id.clone(),
            state: SessionState::Active,
            node: self.shared.config.node.clone(),
            options: json!({
                "environmentId": session.environment_id,
                "policyId": session.policy_id,
                "reachOutMode": session.reach_out_mode,
            }),
            created_at: now,
            updated_at: now,
            ended_at: None,
            end_reason: None,
        };
        let live = Arc::new(LiveSession::new(
            id.clone(),
            account.id.clone(),
            context,
            upstream,
        ));
        if let Err(e) = self.shared.store.insert_session(&record).await {
            live.context().close().await;
            self.refund(&account.id, reserved).await;
            return Err(internal("session insert", e));
        }
        self.shared.sessions().insert(id.clone(), live.clone());
        tracing::info!(session_id = %id, account = %account.name, "session started");
        events::record(
            &*self.shared.store,
            &live,
            None,
            "state",
            json!({ "state": "active" }),
        )
        .await;
        let task = match task {
            Some(spec) => {
                let terminate = spec.terminate_on_completion.unwrap_or(false);
                Some(
                    self.start_task(account, &live, spec, terminate, Some(reserved))
                        .await?,
                )
            }
            None => None,
        };
        Ok((live, task))
    }

    /// Claims the session for a new task, reserves its cost (unless already reserved), records
    /// it and starts the agent loop.
    async fn start_task(
        &self,
        account: &Account,
        session: &Arc<LiveSession>,
        spec: TaskSpec,
        terminate_on_completion: bool,
        reserved: Option<Micros>,
    ) -> Result<Arc<LiveTask>, Error> {
        let task_id = TaskId::generate();
        let (control_tx, control_rx) = watch::channel(Control::Run);
        let view = TaskView {
            session_id: session.id.clone(),
            task_id: task_id.clone(),
            status: TaskStatus::Active,
            usage: Usage::default(),
            outcome: None,
        };
        let task = Arc::new(LiveTask {
            id: task_id.clone(),
            control: control_tx,
            view: watch::channel(view).0,
        });
        let claimed = {
            let mut inner = session.inner();
            self.allow(&inner, &session.id, SessionAction::NewTask)
                .map(|()| {
                    inner.task = Some(task.clone());
                    inner.last_activity = Instant::now();
                })
        };
        // avoidDomains are enforced by the session's network guard, per task.
        let claimed = claimed.and_then(|()| {
            session
                .context()
                .set_network_policy(spec.avoid_domains.clone(), session.upstream.clone())
                .map_err(|e| {
                    session.inner().task = None;
                    Error::invalid_param(
                        "avoidDomains",
                        &json!(spec.avoid_domains),
                        wayfarer_core::ParamRule::Other(e.to_string()),
                    )
                })
        });
        if let Err(e) = claimed {
            if let Some(amount) = reserved {
                // The reservation was made for this task by open_session; give it back.
                self.refund(&account.id, amount).await;
            }
            return Err(e);
        }
        let reserved = match reserved {
            Some(amount) => amount,
            None => {
                let amount = self.worst_case(&spec);
                if let Err(e) = self.reserve(account, amount).await {
                    session.inner().task = None;
                    return Err(e);
                }
                amount
            }
        };
        let now = now_ms();
        let record = TaskRecord {
            id: task_id.clone(),
            session_id: session.id.clone(),
            account_id: account.id.clone(),
            status: TaskStatus::Active,
            options: spec.redacted(),
            outcome: None,
            usage: Usage::default(),
            reserved,
            created_at: now,
            updated_at: now,
            ended_at: None,
        };
        if let Err(e) = self.shared.store.upsert_task(&record).await {
            session.inner().task = None;
            self.refund(&account.id, reserved).await;
            return Err(internal("task insert", e));
        }
        events::record(
            &*self.shared.store,
            session,
            Some(&task_id),
            "task_started",
            json!({ "taskDetails": spec.task }),
        )
        .await;
        tracing::info!(session_id = %session.id, task_id = %task_id, "task started");
        runner::spawn(
            self.shared.clone(),
            session.clone(),
            task.clone(),
            spec,
            record,
            control_rx,
            terminate_on_completion,
        );
        Ok(task)
    }

    /// Waits up to `wait` for `task` to end and returns its view (final or not).
    async fn wait_for(&self, task: &LiveTask, wait: Duration) -> TaskView {
        wait_final(task, wait).await
    }

    /// The inline window, or `?wait=` if shorter.
    fn window(&self, wait: Option<Duration>) -> Duration {
        let window = self.shared.config.inline_window;
        wait.map_or(window, |w| w.min(window))
    }

    /// `POST /start/run-task`: one-shot (new session, terminated at the end) or, with
    /// `session_id`, a new task in that session. Waits up to the inline window.
    pub async fn run_task(
        &self,
        account: &Account,
        session_id: Option<&SessionId>,
        session: SessionSpec,
        mut task: TaskSpec,
        wait: Option<Duration>,
    ) -> Result<TaskView, Error> {
        let window = self.window(wait);
        match session_id {
            Some(id) => self.new_task(account, id, task, wait).await,
            None => {
                task.terminate_on_completion = Some(true);
                let (_, live_task) = self.open_session(account, &session, Some(task)).await?;
                match live_task {
                    Some(t) => Ok(self.wait_for(&t, window).await),
                    None => Err(internal("run-task", "session opened without its task")),
                }
            }
        }
    }

    /// `send-message` `newTask`.
    pub async fn new_task(
        &self,
        account: &Account,
        session_id: &SessionId,
        task: TaskSpec,
        wait: Option<Duration>,
    ) -> Result<TaskView, Error> {
        self.check_references(None, Some(&task))?;
        let live = match self.find(account, session_id).await? {
            Found::Live(live) => live,
            Found::Ended(record) => return Err(self.ended_error(&record, SessionAction::NewTask)),
        };
        live.touch();
        let terminate = task.terminate_on_completion.unwrap_or(false);
        let t = self
            .start_task(account, &live, task, terminate, None)
            .await?;
        Ok(self.wait_for(&t, self.window(wait)).await)
    }

    /// Finds a session of `account` (other accounts' sessions do not exist for it).
    async fn find(&self, account: &Account, id: &SessionId) -> Result<Found, Error> {
        let live = self.shared.sessions().get(id).cloned();
        if let Some(live) = live {
            if live.account_id == account.id {
                return Ok(Found::Live(live));
            }
            return Err(Error::SessionNotFound {
                session_id: id.to_string(),
                reason: None,
            });
        }
        match self.shared.store.session(id).await {
            Ok(Some(record)) if record.account_id == account.id => {
                if record.state.is_final() {
                    Ok(Found::Ended(record))
                } else {
                    // Recorded as live but not held here: owned by a node that is gone.
                    Err(Error::SessionNotFound {
                        session_id: id.to_string(),
                        reason: Some("the node that owned this session is gone".into()),
                    })
                }
            }
            Ok(_) => Err(Error::SessionNotFound {
                session_id: id.to_string(),
                reason: None,
            }),
            Err(e) => Err(internal("session lookup", e)),
        }
    }

    /// Spec §3's table applied to a live session.
    fn allow(
        &self,
        inner: &SessionInner,
        id: &SessionId,
        action: SessionAction,
    ) -> Result<(), Error> {
        check_action(
            inner.state,
            inner.presence(),
            action,
            id.as_str(),
            self.shared.config.session_timeout.as_millis() as u64,
        )
    }

    fn ended_error(&self, record: &SessionRecord, action: SessionAction) -> Error {
        match check_action(
            record.state,
            TaskPresence::None,
            action,
            record.id.as_str(),
            self.shared.config.session_timeout.as_millis() as u64,
        ) {
            Err(Error::SessionNotFound { session_id, .. })
                if record.state == SessionState::Failed =>
            {
                Error::SessionNotFound {
                    session_id,
                    reason: record.end_reason.clone(),
                }
            }
            Err(e) => e,
            Ok(()) => internal("state table", "ended session accepted an action"),
        }
    }

    /// `send-message` `state`: pause, resume, stop or terminate. Returns the new session state.
    pub async fn change_state(
        &self,
        account: &Account,
        session_id: &SessionId,
        change: StateChange,
    ) -> Result<SessionState, Error> {
        let live = match self.find(account, session_id).await? {
            Found::Live(live) => live,
            Found::Ended(record) if change == StateChange::Terminate => return Ok(record.state),
            Found::Ended(record) => return Err(self.ended_error(&record, change.action())),
        };
        live.touch();
        let task = {
            let mut inner = live.inner();
            self.allow(&inner, session_id, change.action())?;
            match change {
                StateChange::Pause => inner.state = SessionState::Paused,
                StateChange::Resume => inner.state = SessionState::Active,
                StateChange::Stop | StateChange::Terminate => {}
            }
            inner.task.clone()
        };
        match change {
            StateChange::Terminate => {
                self.shared
                    .end_session(&live, SessionState::Terminated, "terminated")
                    .await;
                return Ok(SessionState::Terminated);
            }
            StateChange::Stop => {
                if let Some(task) = task {
                    let _ = task.control.send(Control::Stop);
                    wait_final(&task, WIND_DOWN).await;
                }
            }
            StateChange::Pause | StateChange::Resume => {
                let (control, status) = if change == StateChange::Pause {
                    (Control::Pause, TaskStatus::Paused)
                } else {
                    (Control::Run, TaskStatus::Active)
                };
                if let Some(task) = task {
                    let _ = task.control.send(control);
                    task.view.send_modify(|v| {
                        if !v.is_final() {
                            v.status = status;
                        }
                    });
                }
                let state = if change == StateChange::Pause {
                    "paused"
                } else {
                    "active"
                };
                events::record(
                    &*self.shared.store,
                    &live,
                    None,
                    "state",
                    json!({ "state": state }),
                )
                .await;
            }
        }
        let state = live.inner().state;
        Ok(state)
    }

    /// `send-message` `interaction`. Human takeover is not built yet, so the state table answers.
    pub async fn interaction(
        &self,
        account: &Account,
        session_id: &SessionId,
        action: SessionAction,
    ) -> Result<SessionState, Error> {
        self.gate(account, session_id, action).await
    }

    /// `send-message` `guardrail`: answers a pending guardrail with the human's `answer`
    /// (for the planner) and whether the held action may run (`resume`). No rule can raise a
    /// guardrail yet (policies are a later issue), so the state table refuses every answer.
    pub async fn guardrail_answer(
        &self,
        account: &Account,
        session_id: &SessionId,
        answer: &str,
        resume: bool,
    ) -> Result<SessionState, Error> {
        tracing::debug!(session_id = %session_id, answer_chars = answer.chars().count(), resume, "guardrail answer");
        self.gate(account, session_id, SessionAction::GuardrailAnswer)
            .await
    }

    async fn gate(
        &self,
        account: &Account,
        session_id: &SessionId,
        action: SessionAction,
    ) -> Result<SessionState, Error> {
        let live = match self.find(account, session_id).await? {
            Found::Live(live) => live,
            Found::Ended(record) => return Err(self.ended_error(&record, action)),
        };
        live.touch();
        let inner = live.inner();
        self.allow(&inner, session_id, action)?;
        Ok(inner.state)
    }

    /// `GET /task/:sessionId/:taskId`.
    pub async fn task(
        &self,
        account: &Account,
        session_id: &SessionId,
        task_id: &TaskId,
    ) -> Result<TaskView, Error> {
        let not_found = || Error::TaskNotFound {
            session_id: session_id.to_string(),
            task_id: task_id.to_string(),
        };
        match self.find(account, session_id).await {
            Ok(Found::Live(live)) => {
                live.touch();
                let current = live.inner().task.clone();
                if let Some(task) = current.filter(|t| &t.id == task_id) {
                    return Ok(task.view.borrow().clone());
                }
            }
            Ok(Found::Ended(_)) => {}
            // A node-lost session's tasks are still readable.
            Err(Error::SessionNotFound {
                reason: Some(_), ..
            }) => {}
            Err(e) => return Err(e),
        }
        match self.shared.store.task(session_id, task_id).await {
            Ok(Some(record)) if record.account_id == account.id => {
                Ok(TaskView::from_record(&record))
            }
            Ok(_) => Err(not_found()),
            Err(e) => Err(internal("task lookup", e)),
        }
    }

    /// A file of `account` (a download), for `GET /files/:fileId/download`.
    pub async fn file(
        &self,
        account: &Account,
        file_id: &str,
    ) -> Result<wayfarer_store::FileRecord, Error> {
        match self.shared.store.file(file_id).await {
            Ok(Some(f)) if f.account_id == account.id => Ok(f),
            Ok(_) => Err(Error::ThingNotFound {
                kind: Thing::File,
                id: file_id.to_string(),
            }),
            Err(e) => Err(internal("file lookup", e)),
        }
    }

    /// `GET /v1/sessions`: the account's sessions, newest first (without tasks and events).
    pub async fn sessions(&self, account: &Account, limit: u32) -> Result<Vec<SessionView>, Error> {
        let records = self
            .shared
            .store
            .list_sessions(&account.id, limit)
            .await
            .map_err(|e| internal("sessions", e))?;
        Ok(records
            .iter()
            .map(|r| self.session_view(r, Vec::new(), Vec::new()))
            .collect())
    }

    fn session_view(
        &self,
        r: &SessionRecord,
        tasks: Vec<TaskView>,
        events: Vec<serde_json::Value>,
    ) -> SessionView {
        let live_state = self.shared.sessions().get(&r.id).map(|s| s.inner().state);
        SessionView {
            session_id: r.id.clone(),
            state: live_state.unwrap_or(r.state),
            created_at: r.created_at,
            ended_at: r.ended_at,
            end_reason: r.end_reason.clone(),
            tasks,
            events,
        }
    }

    /// `GET /v1/sessions/:id`: state, tasks and events.
    pub async fn session(
        &self,
        account: &Account,
        session_id: &SessionId,
    ) -> Result<SessionView, Error> {
        let store = &self.shared.store;
        let record = match store
            .session(session_id)
            .await
            .map_err(|e| internal("session", e))?
        {
            Some(r) if r.account_id == account.id => r,
            _ => {
                return Err(Error::SessionNotFound {
                    session_id: session_id.to_string(),
                    reason: None,
                });
            }
        };
        let live_task = self
            .shared
            .sessions()
            .get(session_id)
            .and_then(|s| s.inner().task.clone());
        let tasks = store
            .list_tasks(session_id)
            .await
            .map_err(|e| internal("tasks", e))?
            .iter()
            .map(|t| match &live_task {
                Some(live) if live.id == t.id => live.view.borrow().clone(),
                _ => TaskView::from_record(t),
            })
            .collect();
        let events = store
            .events(session_id, 0)
            .await
            .map_err(|e| internal("events", e))?
            .into_iter()
            .map(|e| e.payload)
            .collect();
        Ok(self.session_view(&record, tasks, events))
    }

    /// `GET /v1/account`.
    pub async fn account_view(&self, account: &Account) -> Result<AccountView, Error> {
        let store = &self.shared.store;
        let fresh = store
            .account_by_id(&account.id)
            .await
            .map_err(|e| internal("account", e))?;
        let usage = store
            .usage_totals(&account.id)
            .await
            .map_err(|e| internal("usage", e))?;
        Ok(AccountView {
            account: fresh.unwrap_or_else(|| account.clone()),
            session_limit: self.session_limit(account),
            live_sessions: self.shared.live_count(&account.id),
            usage,
        })
    }

    /// Ends every live session (their tasks end as `SESSION_TERMINATED`, their contexts close).
    /// The browser pool belongs to whoever launched it and is shut down by them.
    pub async fn end_all_sessions(&self) {
        let sessions = self.shared.live_sessions();
        for session in sessions {
            self.shared
                .end_session(&session, SessionState::Terminated, "shutdown")
                .await;
        }
    }
}
