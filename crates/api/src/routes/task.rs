//! `GET /task/:sessionId/:taskId` — never rate limited.

use crate::AppState;
use crate::error::ApiError;
use crate::request::authenticate;
use crate::wire;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::Value;
use wayfarer_core::{Error, SessionId, TaskId};

/// The task's current state (§4).
#[utoipa::path(get, path = "/task/{sessionId}/{taskId}", tag = "WebRun",
    params(("sessionId" = String, Path), ("taskId" = String, Path)),
    responses((status = 200, body = crate::openapi::TaskAnswer), (status = "4XX", body = crate::openapi::ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn get_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let account = authenticate(&state.engine, &headers).await?;
    let Path((session_id, task_id)) = path.map_err(|_| {
        ApiError(Error::SessionNotFound {
            session_id: String::new(),
            reason: None,
        })
    })?;
    let view = state
        .engine
        .task(
            &account,
            &SessionId::from_string(session_id),
            &TaskId::from_string(task_id),
        )
        .await?;
    Ok(Json(wire::task_answer(
        &state.engine.config().public_url,
        &view,
        false,
    )))
}
