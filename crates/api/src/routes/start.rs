//! `POST /start/start-session`, `/start/send-message`, `/start/run-task`.

use crate::AppState;
use crate::error::ApiError;
use crate::message::Message;
use crate::request::{limited_post, optional_string, required_string, wait_param};
use crate::wire;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use serde_json::{Map, Value, json};
use wayfarer_core::{
    Error, ParamRule, ParseContext, SessionId, SessionSpec, SessionState, TaskSpec,
};
use wayfarer_engine::StateChange;

/// Creates a session, optionally starting its first task (never waits for it).
#[utoipa::path(post, path = "/start/start-session", tag = "WebRun",
    request_body = crate::openapi::StartSessionRequest,
    responses((status = 200, body = crate::openapi::StartSessionResponse), (status = "4XX", body = crate::openapi::ErrorEnvelope), (status = 503, body = crate::openapi::ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn start_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (account, obj) = limited_post(&state, &headers, body).await?;
    let empty = Map::new();
    let (task_obj, prefix) = match (obj.get("initialTask"), obj.get("task")) {
        (Some(v), _) if !v.is_null() => (as_object("initialTask", v)?, Some("initialTask")),
        (_, Some(v)) if !v.is_null() => (as_object("task", v)?, Some("task")),
        _ => (&obj, None),
    };
    let task_obj = if task_obj.is_empty() {
        &empty
    } else {
        task_obj
    };
    let task = TaskSpec::parse(task_obj, prefix, ParseContext::StartSession)?;
    let session = SessionSpec::parse(&obj)?;
    let text = task.as_ref().map(|t| t.task.clone());
    let started = state.engine.start_session(&account, session, task).await?;
    let config = state.engine.config();
    Ok(Json(wire::session_started(
        &config.public_url,
        config.viewport,
        &started,
        text.as_deref(),
    )))
}

fn as_object<'a>(name: &str, v: &'a Value) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object().ok_or_else(|| {
        Error::invalid_param(name, v, ParamRule::Other("must be an object".into())).into()
    })
}

/// Acts on a session: a new task, a state change, an interaction or a guardrail answer.
#[utoipa::path(post, path = "/start/send-message", tag = "WebRun",
    request_body = crate::openapi::SendMessageRequest,
    params(("wait" = Option<f64>, Query, description = "newTask only: seconds to wait inline (0 up to the inline window)")),
    responses((status = 200, description = "A task answer (newTask) or a state answer", body = crate::openapi::SendMessageResponse), (status = "4XX", body = crate::openapi::ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn send_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (account, obj) = limited_post(&state, &headers, body).await?;
    let session_id = SessionId::from_string(required_string(&obj, "sessionId")?);
    let message =
        obj.get("message")
            .filter(|m| !m.is_null())
            .ok_or_else(|| Error::MissingRequiredField {
                field: "message".into(),
            })?;
    let engine = &state.engine;
    let wait = wait_param(uri.query(), engine.config().inline_window)?;
    let answer = match Message::parse(message)? {
        Message::NewTask(spec) => {
            let view = engine.new_task(&account, &session_id, *spec, wait).await?;
            wire::task_answer(&engine.config().public_url, &view, !view.is_final())
        }
        Message::State(change) => {
            let new_state = engine.change_state(&account, &session_id, change).await?;
            let message = match (change, new_state) {
                (StateChange::Pause, _) => "Session paused",
                (StateChange::Resume, _) => "Session resumed",
                (StateChange::Stop, _) => "Task stopped",
                (StateChange::Terminate, SessionState::Terminated) => "Session terminated",
                (StateChange::Terminate, _) => "Session already ended",
            };
            state_answer(&session_id, new_state, message)
        }
        Message::Interaction(action) => {
            let new_state = engine.interaction(&account, &session_id, action).await?;
            state_answer(&session_id, new_state, "Interaction applied")
        }
        Message::Guardrail { answer, resume } => {
            let new_state = engine
                .guardrail_answer(&account, &session_id, &answer, resume)
                .await?;
            state_answer(&session_id, new_state, "Guardrail answered")
        }
    };
    Ok(Json(answer))
}

fn state_answer(session_id: &SessionId, state: SessionState, message: &str) -> Value {
    json!({ "success": true, "sessionId": session_id, "state": state.as_str(), "message": message })
}

/// Runs one task: in a new session terminated at the end, or in `sessionId`'s session.
#[utoipa::path(post, path = "/start/run-task", tag = "WebRun",
    request_body = crate::openapi::RunTaskRequest,
    params(("wait" = Option<f64>, Query, description = "seconds to wait inline (0 up to the inline window)")),
    responses((status = 200, description = "The task answer (completed, failed, or pending with pollUrl)", body = crate::openapi::TaskAnswer), (status = "4XX", body = crate::openapi::ErrorEnvelope), (status = 503, body = crate::openapi::ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn run_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (account, obj) = limited_post(&state, &headers, body).await?;
    let engine = &state.engine;
    let wait = wait_param(uri.query(), engine.config().inline_window)?;
    let session_id = optional_string(&obj, "sessionId")?.map(SessionId::from_string);
    let task = TaskSpec::parse(&obj, None, ParseContext::RunTask)?.ok_or_else(|| {
        Error::MissingRequiredField {
            field: "prompt".into(),
        }
    })?;
    let session = SessionSpec::parse(&obj)?;
    let view = engine
        .run_task(&account, session_id.as_ref(), session, task, wait)
        .await?;
    Ok(Json(wire::task_answer(
        &engine.config().public_url,
        &view,
        !view.is_final(),
    )))
}
