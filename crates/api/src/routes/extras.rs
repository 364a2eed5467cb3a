//! `/health`, `/openapi.json` and the `/v1` extras.

use crate::AppState;
use crate::error::ApiError;
use crate::request::authenticate;
use crate::wire;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wayfarer_core::{Error, ParamRule, SessionId};

/// 200 once the store and the browser pool are ready (no auth).
#[utoipa::path(get, path = "/health", tag = "Extras",
    responses((status = 200, body = crate::openapi::Health), (status = 503, body = crate::openapi::ErrorEnvelope)))]
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    if state.engine.ready().await {
        Json(json!({ "success": true, "status": "ok" })).into_response()
    } else {
        let mut response = ApiError(Error::InstanceUnavailable {
            retry_after_secs: 1,
            reason: Some("starting".into()),
        })
        .into_response();
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        response
    }
}

/// The OpenAPI 3.1 document of every endpoint.
#[utoipa::path(get, path = "/openapi.json", tag = "Extras",
    responses((status = 200, description = "OpenAPI document")), security(("bearer" = [])))]
pub(crate) async fn openapi(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authenticate(&state.engine, &headers).await?;
    Ok(Json(crate::openapi::openapi_document()))
}

/// The account's sessions, newest first (`?limit=`, default 50, at most 500).
#[utoipa::path(get, path = "/v1/sessions", tag = "Extras",
    params(("limit" = Option<u32>, Query)),
    responses((status = 200, body = crate::openapi::SessionList), (status = "4XX", body = crate::openapi::ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let account = authenticate(&state.engine, &headers).await?;
    let raw = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "limit")
            .map(|(_, v)| v.into_owned())
    });
    let limit = match raw {
        None => 50,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=500).contains(&n) => n,
            Ok(0) => {
                return Err(Error::invalid_param("limit", &json!(raw), ParamRule::Min(1)).into());
            }
            Ok(_) => {
                return Err(Error::invalid_param("limit", &json!(raw), ParamRule::Max(500)).into());
            }
            Err(_) => {
                return Err(Error::invalid_param(
                    "limit",
                    &json!(raw),
                    ParamRule::Other("must be an integer".into()),
                )
                .into());
            }
        },
    };
    let sessions = state.engine.sessions(&account, limit).await?;
    let public_url = &state.engine.config().public_url;
    Ok(Json(json!({
        "success": true,
        "sessions": sessions.iter().map(|s| wire::session(public_url, s, false)).collect::<Vec<_>>(),
    })))
}

/// One session with its tasks and events.
#[utoipa::path(get, path = "/v1/sessions/{sessionId}", tag = "Extras",
    params(("sessionId" = String, Path)),
    responses((status = 200, body = crate::openapi::SessionDetail), (status = "4XX", body = crate::openapi::ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn get_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let account = authenticate(&state.engine, &headers).await?;
    let Path(session_id) = path.map_err(|_| {
        ApiError(Error::SessionNotFound {
            session_id: String::new(),
            reason: None,
        })
    })?;
    let view = state
        .engine
        .session(&account, &SessionId::from_string(session_id))
        .await?;
    Ok(Json(
        json!({ "success": true, "session": wire::session(&state.engine.config().public_url, &view, true) }),
    ))
}

/// Balance, limits and usage totals of the caller's account.
#[utoipa::path(get, path = "/v1/account", tag = "Extras",
    responses((status = 200, body = crate::openapi::AccountAnswer), (status = "4XX", body = crate::openapi::ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn account(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let account = authenticate(&state.engine, &headers).await?;
    let view = state.engine.account_view(&account).await?;
    let a = &view.account;
    Ok(Json(json!({
        "success": true,
        "account": {
            "name": a.name,
            "active": a.active,
            "balance": a.balance.map(|b| b.dollars()),
            "sessionLimit": view.session_limit,
            "rateLimit": a.rate_limit.filter(|n| *n > 0),
            "liveSessions": view.live_sessions,
            "usage": {
                "tasks": view.usage.tasks,
                "steps": view.usage.steps,
                "prompt_tokens": view.usage.prompt_tokens,
                "completion_tokens": view.usage.completion_tokens,
                "cost": view.usage.cost.dollars(),
            },
        },
    })))
}
