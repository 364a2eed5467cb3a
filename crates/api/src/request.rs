//! Reading a request in the order spec §1 fixes: body size (413) → auth (401/403) → rate limit
//! (429) → body parsing (400).

use crate::AppState;
use crate::error::ApiError;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value, json};
use std::time::Duration;
use wayfarer_core::{Error, ParamRule};
use wayfarer_engine::Account;
use wayfarer_engine::Engine;

/// Reads the whole body, refusing more than `limit` bytes with `PAYLOAD_TOO_LARGE`.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError(Error::PayloadTooLarge {
                limit: limit as u64,
            }))
        }
        Err(e) => Err(ApiError(Error::InvalidRequest {
            reason: Some(format!("could not read body: {e}")),
        })),
    }
}

/// The account behind the `Authorization` header.
pub(crate) async fn authenticate(
    engine: &Engine,
    headers: &HeaderMap,
) -> Result<Account, ApiError> {
    let header = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError(Error::Unauthorized { malformed: true }))?,
        ),
    };
    Ok(engine.authenticate(header).await?)
}

/// Body size, auth and rate limit for the three limited /start endpoints; returns the account
/// and the body parsed as a JSON object.
pub(crate) async fn limited_post(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Account, Map<String, Value>), ApiError> {
    let bytes = read_body(body, state.body_limit).await?;
    let account = authenticate(&state.engine, headers).await?;
    state.engine.check_rate_limit(&account)?;
    Ok((account, json_object(headers, &bytes)?))
}

/// Parses a JSON object body; anything else is `INVALID_REQUEST`.
pub(crate) fn json_object(
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<Map<String, Value>, ApiError> {
    let invalid = |reason: String| {
        ApiError(Error::InvalidRequest {
            reason: Some(reason),
        })
    };
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or("").trim().to_string();
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(invalid(format!(
                "Content-Type must be application/json, got '{essence}'"
            )));
        }
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("the body is empty".into()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(invalid(format!(
            "expected a JSON object, got {}",
            kind_of(&other)
        ))),
        Err(e) => Err(invalid(format!("malformed JSON: {e}"))),
    }
}

/// `null`, `a string`, … for messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `?wait=N` (seconds, 0 up to the inline window).
pub(crate) fn wait_param(
    query: Option<&str>,
    window: Duration,
) -> Result<Option<Duration>, ApiError> {
    let Some(raw) = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "wait")
            .map(|(_, v)| v.into_owned())
    }) else {
        return Ok(None);
    };
    let max = window.as_secs_f64();
    let value = json!(raw);
    match raw.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n < 0.0 => {
            Err(Error::invalid_param("wait", &value, ParamRule::Min(0)).into())
        }
        Ok(n) if n.is_finite() && n > max => {
            Err(
                Error::invalid_param("wait", &value, ParamRule::Max(window.as_secs() as i64))
                    .into(),
            )
        }
        Ok(n) if n.is_finite() => Ok(Some(Duration::from_secs_f64(n))),
        _ => Err(Error::invalid_param(
            "wait",
            &value,
            ParamRule::Other("must be a number of seconds".into()),
        )
        .into()),
    }
}

/// A required string field, as the client named it.
pub(crate) fn required_string(obj: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(Error::MissingRequiredField {
            field: field.to_string(),
        }
        .into()),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(v) => Err(Error::invalid_param(
            field,
            v,
            ParamRule::Other("must be a non-empty string".into()),
        )
        .into()),
    }
}

/// An optional string field.
pub(crate) fn optional_string(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => required_string(obj, field).map(Some),
    }
}
