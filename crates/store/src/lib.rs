//! Persistence behind one trait, [`Store`].
//!
//! Architecture invariant: only this crate speaks SQL. The SQL is kept portable (no SQLite-only
//! syntax beyond what PostgreSQL also accepts) so the PostgreSQL backend of multi-node mode can
//! share the migrations.

mod records;
mod sqlite;

pub use records::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use wayfarer_core::{AccountId, Micros, SessionId, SessionState, TaskId};

/// A store failure. Request paths turn it into `INTERNAL_ERROR` (with a request id in the log).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A uniqueness rule was broken (e.g. an account name taken).
    #[error("{0} already exists")]
    Conflict(String),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A stored value could not be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Result of trying to reserve money from an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The amount was taken (or the account is unlimited).
    Reserved,
    /// The balance is below the amount; nothing was taken.
    Insufficient { balance: Micros },
}

/// Everything wayfarer persists. One implementation per database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether no account exists yet (first start).
    async fn is_empty(&self) -> Result<bool, StoreError>;

    /// Creates an account; `Conflict` if the name is taken.
    async fn create_account(&self, account: &NewAccount) -> Result<Account, StoreError>;
    /// The account with this name.
    async fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError>;
    /// The account with this id.
    async fn account_by_id(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;
    /// All accounts, by name.
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Adds `amount` to a limited account's balance (no effect on unlimited ones).
    async fn credit(&self, name: &str, amount: Micros) -> Result<Account, StoreError>;
    /// Enables or disables an account.
    async fn set_active(&self, name: &str, active: bool) -> Result<Account, StoreError>;

    /// Stores a key's hash.
    async fn insert_key(&self, key: &NewApiKey) -> Result<ApiKeyRecord, StoreError>;
    /// The key with this hash and its account.
    async fn key_by_hash(&self, hash: &str) -> Result<Option<(ApiKeyRecord, Account)>, StoreError>;
    /// Keys, optionally of one account.
    async fn list_keys(&self, account: Option<&AccountId>)
    -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes the key with this id or prefix; `NotFound` if none matches.
    async fn revoke_key(&self, id_or_prefix: &str, now_ms: i64)
    -> Result<ApiKeyRecord, StoreError>;

    /// Takes `amount` from the balance if it is at least `amount`.
    async fn reserve(&self, account: &AccountId, amount: Micros)
    -> Result<Reservation, StoreError>;
    /// Returns `reserved` and takes `actual` (the settlement at a task's end).
    async fn settle(
        &self,
        account: &AccountId,
        reserved: Micros,
        actual: Micros,
    ) -> Result<(), StoreError>;

    /// Records a new session.
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// Changes a session's state (and its end, when final).
    async fn update_session(
        &self,
        id: &SessionId,
        state: SessionState,
        now_ms: i64,
        end_reason: Option<&str>,
    ) -> Result<(), StoreError>;
    /// A session by id.
    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError>;
    /// An account's sessions, newest first.
    async fn list_sessions(
        &self,
        account: &AccountId,
        limit: u32,
    ) -> Result<Vec<SessionRecord>, StoreError>;
    /// Marks sessions left unfinished by a previous run of `node` as failed; returns how many.
    async fn fail_orphans(&self, node: &str, now_ms: i64) -> Result<u64, StoreError>;
    /// Deletes sessions (with their tasks and events) that ended before `before_ms`.
    async fn purge_ended(&self, before_ms: i64) -> Result<u64, StoreError>;

    /// Records a task or overwrites its mutable fields.
    async fn upsert_task(&self, task: &TaskRecord) -> Result<(), StoreError>;
    /// A task by id within a session.
    async fn task(
        &self,
        session: &SessionId,
        task: &TaskId,
    ) -> Result<Option<TaskRecord>, StoreError>;
    /// A session's tasks, oldest first.
    async fn list_tasks(&self, session: &SessionId) -> Result<Vec<TaskRecord>, StoreError>;

    /// Appends an event.
    async fn append_event(&self, event: &EventRecord) -> Result<(), StoreError>;
    /// A session's events with `seq > since`, in order.
    async fn events(&self, session: &SessionId, since: i64)
    -> Result<Vec<EventRecord>, StoreError>;
    /// Records a file.
    async fn insert_file(&self, file: &FileRecord) -> Result<(), StoreError>;
    /// A file by id.
    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError>;
    /// Usage totals of an account: (tasks, steps, prompt tokens, completion tokens, cost).
    async fn usage_totals(&self, account: &AccountId) -> Result<UsageTotals, StoreError>;
}
