//! The embedded SQLite backend.

use crate::{
    Account, ApiKeyRecord, EventRecord, FileRecord, NewAccount, NewApiKey, Reservation,
    SessionRecord, Store, StoreError, TaskRecord, UsageTotals,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr, SqlitePool};
use std::str::FromStr;
use std::time::Duration;
use wayfarer_core::{AccountId, Micros, SessionId, SessionState, TaskId, TaskStatus, Usage};

/// Migrations, embedded so the binary needs no files at run time.
fn migrator() -> Migrator {
    let migration = |version: i64, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            name.into(),
            MigrationType::Simple,
            sql.into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(
            1,
            "foundation",
            include_str!("../migrations/0001_foundation.sql"),
        ),
        migration(2, "files", include_str!("../migrations/0002_files.sql")),
    ])
}

/// SQLite store: one file, WAL mode so the operator CLI can write while a server reads.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path` or a plain path) and
    /// runs the migrations.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let url = if url.starts_with("sqlite:") {
            url.to_string()
        } else {
            format!("sqlite://{url}")
        };
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // The CLI and the server share the file; wait for the other's lock instead of failing.
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

fn opt_u32(v: Option<i64>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

fn json_col(row: &SqliteRow, col: &str) -> Result<Value, StoreError> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

fn account_from(row: &SqliteRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: AccountId::from_string(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        balance: row.try_get::<Option<i64>, _>("balance")?.map(Micros),
        session_limit: opt_u32(row.try_get("session_limit")?),
        rate_limit: opt_u32(row.try_get("rate_limit")?),
        active: row.try_get("active")?,
        created_at: row.try_get("created_at")?,
    })
}

fn key_from(row: &SqliteRow) -> Result<ApiKeyRecord, StoreError> {
    Ok(ApiKeyRecord {
        id: row.try_get("key_id")?,
        account_id: AccountId::from_string(row.try_get::<String, _>("account_id")?),
        prefix: row.try_get("prefix")?,
        created_at: row.try_get("key_created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn session_from(row: &SqliteRow) -> Result<SessionRecord, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(SessionRecord {
        id: SessionId::from_string(row.try_get::<String, _>("id")?),
        account_id: AccountId::from_string(row.try_get::<String, _>("account_id")?),
        state: SessionState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("session state {state}")))?,
        node: row.try_get("node")?,
        options: json_col(row, "options")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        ended_at: row.try_get("ended_at")?,
        end_reason: row.try_get("end_reason")?,
    })
}

fn task_from(row: &SqliteRow) -> Result<TaskRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let outcome: Option<String> = row.try_get("outcome")?;
    Ok(TaskRecord {
        id: TaskId::from_string(row.try_get::<String, _>("id")?),
        session_id: SessionId::from_string(row.try_get::<String, _>("session_id")?),
        account_id: AccountId::from_string(row.try_get::<String, _>("account_id")?),
        status: TaskStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("task status {status}")))?,
        options: json_col(row, "options")?,
        outcome: outcome
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("outcome: {e}")))
            })
            .transpose()?,
        usage: Usage {
            prompt_tokens: row.try_get::<i64, _>("prompt_tokens")?.max(0) as u64,
            completion_tokens: row.try_get::<i64, _>("completion_tokens")?.max(0) as u64,
            working_ms: row.try_get::<i64, _>("working_ms")?.max(0) as u64,
            cost: Micros(row.try_get("cost")?),
            steps: row.try_get::<i64, _>("steps")?.clamp(0, u32::MAX as i64) as u32,
        },
        reserved: Micros(row.try_get("reserved")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        ended_at: row.try_get("ended_at")?,
    })
}

const KEY_COLUMNS: &str = "k.id AS key_id, k.account_id, k.prefix, k.created_at AS key_created_at, k.expires_at, k.revoked_at";

#[async_trait]
impl Store for SqliteStore {
    async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(n == 0)
    }

    async fn create_account(&self, new: &NewAccount) -> Result<Account, StoreError> {
        if self.account_by_name(&new.name).await?.is_some() {
            return Err(StoreError::Conflict(format!("account '{}'", new.name)));
        }
        let id = AccountId::generate();
        sqlx::query(
            "INSERT INTO accounts (id, name, balance, session_limit, rate_limit, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, TRUE, $6)",
        )
        .bind(id.as_str())
        .bind(&new.name)
        .bind(new.balance.map(|m| m.0))
        .bind(new.session_limit.map(i64::from))
        .bind(new.rate_limit.map(i64::from))
        .bind(new.now_ms)
        .execute(&self.pool)
        .await?;
        self.account_by_id(&id)
            .await?
            .ok_or_else(|| StoreError::NotFound("account".into()))
    }

    async fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        sqlx::query("SELECT * FROM accounts WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    async fn account_by_id(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        sqlx::query("SELECT * FROM accounts WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        sqlx::query("SELECT * FROM accounts ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account_from)
            .collect()
    }

    async fn credit(&self, name: &str, amount: Micros) -> Result<Account, StoreError> {
        let done = sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE name = $2")
            .bind(amount.0)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account '{name}'")));
        }
        self.account_by_name(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account '{name}'")))
    }

    async fn set_active(&self, name: &str, active: bool) -> Result<Account, StoreError> {
        let done = sqlx::query("UPDATE accounts SET active = $1 WHERE name = $2")
            .bind(active)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account '{name}'")));
        }
        self.account_by_name(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account '{name}'")))
    }

    async fn insert_key(&self, key: &NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        let result = sqlx::query(
            "INSERT INTO api_keys (id, account_id, key_hash, prefix, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(key.account_id.as_str())
        .bind(&key.key_hash)
        .bind(&key.prefix)
        .bind(key.now_ms)
        .bind(key.expires_at)
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict("api key".into()));
            }
            other => other?,
        };
        Ok(ApiKeyRecord {
            id: key.id.clone(),
            account_id: key.account_id.clone(),
            prefix: key.prefix.clone(),
            created_at: key.now_ms,
            expires_at: key.expires_at,
            revoked_at: None,
        })
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<(ApiKeyRecord, Account)>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS}, a.* FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((key_from(&row)?, account_from(&row)?)))
            .transpose()
    }

    async fn list_keys(
        &self,
        account: Option<&AccountId>,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k WHERE ($1 IS NULL OR k.account_id = $1) ORDER BY k.created_at"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.map(|a| a.as_str().to_string()))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(key_from)
            .collect()
    }

    async fn revoke_key(
        &self,
        id_or_prefix: &str,
        now_ms: i64,
    ) -> Result<ApiKeyRecord, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = $1 OR k.prefix = $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_or_prefix)
            .fetch_all(&self.pool)
            .await?;
        let key = match rows.as_slice() {
            [row] => key_from(row)?,
            [] => return Err(StoreError::NotFound(format!("key '{id_or_prefix}'"))),
            _ => {
                return Err(StoreError::Conflict(format!(
                    "more than one key matches '{id_or_prefix}'; use its id"
                )));
            }
        };
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(&key.id)
            .execute(&self.pool)
            .await?;
        Ok(ApiKeyRecord {
            revoked_at: key.revoked_at.or(Some(now_ms)),
            ..key
        })
    }

    async fn reserve(
        &self,
        account: &AccountId,
        amount: Micros,
    ) -> Result<Reservation, StoreError> {
        // One conditional UPDATE: two concurrent reservations can never both spend the same money.
        let done = sqlx::query(
            "UPDATE accounts SET balance = CASE WHEN balance IS NULL THEN NULL ELSE balance - $1 END \
             WHERE id = $2 AND (balance IS NULL OR balance >= $1)",
        )
        .bind(amount.0)
        .bind(account.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(Reservation::Reserved);
        }
        let balance = self
            .account_by_id(account)
            .await?
            .and_then(|a| a.balance)
            .unwrap_or_default();
        Ok(Reservation::Insufficient { balance })
    }

    async fn settle(
        &self,
        account: &AccountId,
        reserved: Micros,
        actual: Micros,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE accounts SET balance = balance + $1 - $2 WHERE id = $3 AND balance IS NOT NULL",
        )
        .bind(reserved.0)
        .bind(actual.0)
        .bind(account.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, account_id, state, node, options, created_at, updated_at, ended_at, end_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(s.id.as_str())
        .bind(s.account_id.as_str())
        .bind(s.state.as_str())
        .bind(&s.node)
        .bind(s.options.to_string())
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(s.ended_at)
        .bind(&s.end_reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_session(
        &self,
        id: &SessionId,
        state: SessionState,
        now_ms: i64,
        end_reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let ended_at = state.is_final().then_some(now_ms);
        sqlx::query(
            "UPDATE sessions SET state = $1, updated_at = $2, ended_at = COALESCE(ended_at, $3), \
             end_reason = COALESCE(end_reason, $4) WHERE id = $5",
        )
        .bind(state.as_str())
        .bind(now_ms)
        .bind(ended_at)
        .bind(end_reason)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        sqlx::query("SELECT * FROM sessions WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(session_from)
            .transpose()
    }

    async fn list_sessions(
        &self,
        account: &AccountId,
        limit: u32,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM sessions WHERE account_id = $1 ORDER BY created_at DESC LIMIT $2",
        )
        .bind(account.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(session_from)
        .collect()
    }

    async fn fail_orphans(&self, node: &str, now_ms: i64) -> Result<u64, StoreError> {
        let failure = serde_json::json!({
            "code": "INSTANCE_UNAVAILABLE",
            "error": "No browser instances available",
            "details": {"reason": "node_lost"},
        })
        .to_string();
        sqlx::query(
            "UPDATE tasks SET status = 'failed', outcome = $1, updated_at = $2, ended_at = $2 \
             WHERE status NOT IN ('completed', 'failed') AND session_id IN \
             (SELECT id FROM sessions WHERE node = $3 AND ended_at IS NULL)",
        )
        .bind(&failure)
        .bind(now_ms)
        .bind(node)
        .execute(&self.pool)
        .await?;
        let done = sqlx::query(
            "UPDATE sessions SET state = 'failed', updated_at = $1, ended_at = $1, end_reason = 'node_lost' \
             WHERE node = $2 AND ended_at IS NULL",
        )
        .bind(now_ms)
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn purge_ended(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let old = "SELECT id FROM sessions WHERE ended_at IS NOT NULL AND ended_at < $1";
        for table in ["events", "tasks"] {
            let sql = format!("DELETE FROM {table} WHERE session_id IN ({old})");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(before_ms)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn upsert_task(&self, t: &TaskRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tasks (id, session_id, account_id, status, options, outcome, prompt_tokens, \
             completion_tokens, working_ms, cost, steps, reserved, created_at, updated_at, ended_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, outcome = excluded.outcome, \
             prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, \
             working_ms = excluded.working_ms, cost = excluded.cost, steps = excluded.steps, \
             reserved = excluded.reserved, updated_at = excluded.updated_at, ended_at = excluded.ended_at",
        )
        .bind(t.id.as_str())
        .bind(t.session_id.as_str())
        .bind(t.account_id.as_str())
        .bind(t.status.as_str())
        .bind(t.options.to_string())
        .bind(t.outcome.as_ref().map(Value::to_string))
        .bind(t.usage.prompt_tokens as i64)
        .bind(t.usage.completion_tokens as i64)
        .bind(t.usage.working_ms as i64)
        .bind(t.usage.cost.0)
        .bind(i64::from(t.usage.steps))
        .bind(t.reserved.0)
        .bind(t.created_at)
        .bind(t.updated_at)
        .bind(t.ended_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn task(
        &self,
        session: &SessionId,
        task: &TaskId,
    ) -> Result<Option<TaskRecord>, StoreError> {
        sqlx::query("SELECT * FROM tasks WHERE session_id = $1 AND id = $2")
            .bind(session.as_str())
            .bind(task.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(task_from)
            .transpose()
    }

    async fn list_tasks(&self, session: &SessionId) -> Result<Vec<TaskRecord>, StoreError> {
        sqlx::query("SELECT * FROM tasks WHERE session_id = $1 ORDER BY created_at, id")
            .bind(session.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(task_from)
            .collect()
    }

    async fn append_event(&self, e: &EventRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (session_id, seq, task_id, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.session_id.as_str())
        .bind(e.seq)
        .bind(e.task_id.as_ref().map(|t| t.as_str().to_string()))
        .bind(&e.kind)
        .bind(e.payload.to_string())
        .bind(e.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn events(
        &self,
        session: &SessionId,
        since: i64,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM events WHERE session_id = $1 AND seq > $2 ORDER BY seq")
                .bind(session.as_str())
                .bind(since)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(EventRecord {
                    session_id: SessionId::from_string(row.try_get::<String, _>("session_id")?),
                    seq: row.try_get("seq")?,
                    task_id: row
                        .try_get::<Option<String>, _>("task_id")?
                        .map(TaskId::from_string),
                    kind: row.try_get("kind")?,
                    payload: json_col(row, "payload")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn insert_file(&self, f: &FileRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO files (id, account_id, session_id, task_id, source, filename, path, size, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&f.id)
        .bind(f.account_id.as_str())
        .bind(f.session_id.as_ref().map(|s| s.as_str().to_string()))
        .bind(f.task_id.as_ref().map(|t| t.as_str().to_string()))
        .bind(&f.source)
        .bind(&f.filename)
        .bind(&f.path)
        .bind(f.size)
        .bind(f.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn file(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM files WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(FileRecord {
                id: row.try_get("id")?,
                account_id: AccountId::from_string(row.try_get::<String, _>("account_id")?),
                session_id: row
                    .try_get::<Option<String>, _>("session_id")?
                    .map(SessionId::from_string),
                task_id: row
                    .try_get::<Option<String>, _>("task_id")?
                    .map(TaskId::from_string),
                source: row.try_get("source")?,
                filename: row.try_get("filename")?,
                path: row.try_get("path")?,
                size: row.try_get("size")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn usage_totals(&self, account: &AccountId) -> Result<UsageTotals, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS tasks, COALESCE(SUM(steps), 0) AS steps, COALESCE(SUM(prompt_tokens), 0) AS pt, \
             COALESCE(SUM(completion_tokens), 0) AS ct, COALESCE(SUM(cost), 0) AS cost FROM tasks WHERE account_id = $1",
        )
        .bind(account.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(UsageTotals {
            tasks: row.try_get("tasks")?,
            steps: row.try_get("steps")?,
            prompt_tokens: row.try_get("pt")?,
            completion_tokens: row.try_get("ct")?,
            cost: Micros(row.try_get("cost")?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        (dir, store)
    }

    fn account(name: &str, balance: Option<i64>) -> NewAccount {
        NewAccount {
            name: name.into(),
            balance: balance.map(Micros),
            session_limit: Some(5),
            rate_limit: Some(10),
            now_ms: 1,
        }
    }

    #[tokio::test]
    async fn reservation_never_overspends_and_settles() {
        let (_dir, store) = store().await;
        let acc = store
            .create_account(&account("alice", Some(1_000)))
            .await
            .unwrap();
        assert_eq!(
            store.reserve(&acc.id, Micros(600)).await.unwrap(),
            Reservation::Reserved
        );
        assert_eq!(
            store.reserve(&acc.id, Micros(600)).await.unwrap(),
            Reservation::Insufficient {
                balance: Micros(400)
            }
        );
        store
            .settle(&acc.id, Micros(600), Micros(100))
            .await
            .unwrap();
        assert_eq!(
            store.account_by_id(&acc.id).await.unwrap().unwrap().balance,
            Some(Micros(900))
        );
        // A balance equal to the amount is enough.
        assert_eq!(
            store.reserve(&acc.id, Micros(900)).await.unwrap(),
            Reservation::Reserved
        );
    }

    #[tokio::test]
    async fn unlimited_accounts_always_reserve() {
        let (_dir, store) = store().await;
        let acc = store.create_account(&account("op", None)).await.unwrap();
        assert_eq!(
            store.reserve(&acc.id, Micros(i64::MAX / 2)).await.unwrap(),
            Reservation::Reserved
        );
        assert_eq!(
            store.account_by_id(&acc.id).await.unwrap().unwrap().balance,
            None
        );
    }

    #[tokio::test]
    async fn duplicate_account_names_conflict() {
        let (_dir, store) = store().await;
        store.create_account(&account("bob", None)).await.unwrap();
        assert!(matches!(
            store.create_account(&account("bob", None)).await,
            Err(StoreError::Conflict(_))
        ));
    }

    #[tokio::test]
    async fn purge_removes_sessions_ended_before_the_cutoff() {
        let (_dir, store) = store().await;
        let acc = store.create_account(&account("c", None)).await.unwrap();
        let session = SessionRecord {
            id: SessionId::generate(),
            account_id: acc.id.clone(),
            state: SessionState::Active,
            node: "n".into(),
            options: serde_json::json!({}),
            created_at: 1,
            updated_at: 1,
            ended_at: None,
            end_reason: None,
        };
        store.insert_session(&session).await.unwrap();
        store
            .update_session(
                &session.id,
                SessionState::Terminated,
                100,
                Some("terminated"),
            )
            .await
            .unwrap();
        assert_eq!(store.purge_ended(50).await.unwrap(), 0);
        assert_eq!(store.purge_ended(101).await.unwrap(), 1);
        assert!(store.session(&session.id).await.unwrap().is_none());
    }
}
