//! Operator commands: `accounts …` and `keys …`. They work on the store directly, so they work
//! while a server runs on the same data dir (SQLite WAL); the server reads accounts and keys on
//! every request, so changes take effect at once.

use crate::server::register_key;
use clap::Subcommand;
use std::time::Duration;
use wayfarer_core::{ApiKey, Micros};
use wayfarer_engine::now_ms;
use wayfarer_store::{Account, NewAccount, Store, StoreError};

/// WebRun's defaults for accounts made with `accounts create`.
pub const DEFAULT_SESSION_LIMIT: u32 = 5;
/// POSTs per minute on the three /start endpoints.
pub const DEFAULT_RATE_LIMIT: u32 = 10;

/// `wayfarer accounts …`
#[derive(Subcommand, Debug)]
pub enum AccountsCommand {
    /// Creates an account (5 sessions, 10 POSTs/min unless told otherwise).
    Create {
        name: String,
        /// Starting balance in USD (default: unlimited).
        #[arg(long)]
        balance: Option<f64>,
        /// Concurrent sessions.
        #[arg(long)]
        session_limit: Option<u32>,
        /// POSTs per minute on /start/*; 0 = unlimited.
        #[arg(long)]
        rate_limit: Option<u32>,
    },
    /// Lists accounts.
    List,
    /// Adds USD to an account's balance.
    Credit { name: String, amount: f64 },
    /// Disables an account (its keys answer 403).
    Disable { name: String },
    /// Enables a disabled account.
    Enable { name: String },
}

/// `wayfarer keys …`
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Creates a key and prints it (last line of stdout). It is not shown again.
    Create {
        #[arg(long)]
        account: String,
        /// Lifetime such as `1s`, `15m`, `30d` (default: never expires).
        #[arg(long, value_parser = humantime::parse_duration)]
        expires_in: Option<Duration>,
    },
    /// Lists keys (prefixes only).
    List {
        #[arg(long)]
        account: Option<String>,
    },
    /// Revokes a key by id or display prefix.
    Revoke { key: String },
}

/// An operator command failure, printed to stderr with exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

fn describe(a: &Account) -> String {
    let balance = a.balance.map_or("unlimited".to_string(), |b| b.to_string());
    let sessions = a
        .session_limit
        .map_or("pool capacity".to_string(), |n| n.to_string());
    let rate = a
        .rate_limit
        .filter(|n| *n > 0)
        .map_or("unlimited".to_string(), |n| format!("{n}/min"));
    let state = if a.active { "active" } else { "disabled" };
    format!(
        "{}\tbalance {balance}\tsessions {sessions}\trate {rate}\t{state}",
        a.name
    )
}

fn dollars(name: &str, v: f64) -> Result<Micros, OperatorError> {
    if v.is_finite() && v >= 0.0 {
        Ok(Micros::from_dollars(v))
    } else {
        Err(OperatorError::Invalid(format!(
            "{name} must be a non-negative amount of USD"
        )))
    }
}

/// Runs an `accounts` command; returns the lines to print.
pub async fn accounts(
    store: &dyn Store,
    cmd: AccountsCommand,
) -> Result<Vec<String>, OperatorError> {
    match cmd {
        AccountsCommand::Create {
            name,
            balance,
            session_limit,
            rate_limit,
        } => {
            if name.trim().is_empty() || name.len() > 64 {
                return Err(OperatorError::Invalid(
                    "account name must be 1-64 characters".into(),
                ));
            }
            let balance = balance.map(|b| dollars("--balance", b)).transpose()?;
            let account = store
                .create_account(&NewAccount {
                    name,
                    balance,
                    session_limit: Some(session_limit.unwrap_or(DEFAULT_SESSION_LIMIT)),
                    rate_limit: Some(rate_limit.unwrap_or(DEFAULT_RATE_LIMIT)),
                    now_ms: now_ms(),
                })
                .await?;
            Ok(vec![format!("created {}", describe(&account))])
        }
        AccountsCommand::List => Ok(store.list_accounts().await?.iter().map(describe).collect()),
        AccountsCommand::Credit { name, amount } => {
            let account = store.credit(&name, dollars("amount", amount)?).await?;
            if account.balance.is_none() {
                return Ok(vec![format!(
                    "{name} has an unlimited balance; nothing to credit"
                )]);
            }
            Ok(vec![describe(&account)])
        }
        AccountsCommand::Disable { name } => {
            Ok(vec![describe(&store.set_active(&name, false).await?)])
        }
        AccountsCommand::Enable { name } => {
            Ok(vec![describe(&store.set_active(&name, true).await?)])
        }
    }
}

/// Runs a `keys` command; returns the lines to print (a new key is the last line).
pub async fn keys(store: &dyn Store, cmd: KeysCommand) -> Result<Vec<String>, OperatorError> {
    match cmd {
        KeysCommand::Create {
            account,
            expires_in,
        } => {
            let owner = store
                .account_by_name(&account)
                .await?
                .ok_or_else(|| OperatorError::Invalid(format!("no account named '{account}'")))?;
            let expires_at = expires_in.map(|d| now_ms() + d.as_millis() as i64);
            let key = ApiKey::generate();
            register_key(store, &owner, &key, expires_at).await?;
            let mut lines = vec![format!(
                "created key {} for {account}",
                key.display_prefix()
            )];
            lines.push(key.reveal().to_string());
            Ok(lines)
        }
        KeysCommand::List { account } => {
            let accounts = store.list_accounts().await?;
            let filter = match &account {
                Some(name) => Some(
                    accounts
                        .iter()
                        .find(|a| &a.name == name)
                        .map(|a| a.id.clone())
                        .ok_or_else(|| {
                            OperatorError::Invalid(format!("no account named '{name}'"))
                        })?,
                ),
                None => None,
            };
            let keys = store.list_keys(filter.as_ref()).await?;
            let now = now_ms();
            Ok(keys
                .iter()
                .map(|k| {
                    let owner = accounts
                        .iter()
                        .find(|a| a.id == k.account_id)
                        .map_or("?", |a| a.name.as_str());
                    let state = match (k.revoked_at, k.expires_at) {
                        (Some(_), _) => "revoked",
                        (None, Some(at)) if at <= now => "expired",
                        _ => "active",
                    };
                    format!("{}\t{}…\t{owner}\t{state}", k.id, k.prefix)
                })
                .collect())
        }
        KeysCommand::Revoke { key } => {
            let revoked = store.revoke_key(&key, now_ms()).await?;
            Ok(vec![format!(
                "revoked {} ({}…)",
                revoked.id, revoked.prefix
            )])
        }
    }
}
