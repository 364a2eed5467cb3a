//! Bearer-key authentication.

use crate::now_ms;
use wayfarer_core::{ApiKey, Error};
use wayfarer_store::{Account, Store};

/// Resolves an `Authorization` header value to its active account.
pub(crate) async fn authenticate(
    store: &dyn Store,
    header: Option<&str>,
) -> Result<Account, Error> {
    let header = header.ok_or(Error::Unauthorized { malformed: false })?;
    let key = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or(Error::Unauthorized { malformed: true })?;
    let hash = ApiKey::from_plaintext(key).hash();
    let (record, account) = store
        .key_by_hash(&hash)
        .await
        .map_err(|e| crate::engine::internal("key lookup", e))?
        .ok_or(Error::InvalidApiKey)?;
    if record.revoked_at.is_some() {
        return Err(Error::InvalidApiKey);
    }
    if record.expires_at.is_some_and(|at| at <= now_ms()) {
        return Err(Error::ApiKeyExpired);
    }
    if !account.active {
        return Err(Error::AccountDeactivated);
    }
    Ok(account)
}
