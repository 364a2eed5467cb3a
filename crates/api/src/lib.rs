//! Transports: the WebRun-compatible REST API (`/start/*`, `/task/*`), the `/v1` extras, and
//! the OpenAPI document. Handlers are a few lines each: read, authenticate, rate-limit, parse,
//! call the engine, shape the answer.
//!
//! Architecture invariant: no CDP or SQL here — everything goes through `wayfarer_engine`. The
//! error envelope is written in exactly one place, [`error::ApiError`]'s `IntoResponse`.

mod error;
mod framework;
mod message;
mod openapi;
mod request;
mod routes;
mod wire;

pub use error::ApiError;
pub use openapi::openapi_document;

use axum::Router;
use axum::routing::{get, post};
use wayfarer_engine::Engine;

/// Default limit of a JSON request body (spec §1: 1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// What the HTTP layer needs besides the engine.
#[derive(Clone)]
pub struct AppState {
    /// The engine every handler calls.
    pub engine: Engine,
    /// Largest accepted JSON body in bytes.
    pub body_limit: usize,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/start/start-session", post(routes::start::start_session))
        .route("/start/send-message", post(routes::start::send_message))
        .route("/start/run-task", post(routes::start::run_task))
        .route("/task/{session_id}/{task_id}", get(routes::task::get_task))
        .route("/health", get(routes::extras::health))
        .route("/openapi.json", get(routes::extras::openapi))
        .route("/v1/sessions", get(routes::extras::list_sessions))
        .route(
            "/v1/sessions/{session_id}",
            get(routes::extras::get_session),
        )
        .route("/v1/account", get(routes::extras::account))
        .route("/files/{file_id}/download", get(routes::files::download))
        .fallback(framework::no_route)
        .layer(axum::middleware::from_fn(
            framework::envelope_framework_rejections,
        ))
        .with_state(state)
}
