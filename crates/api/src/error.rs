//! The one place the error envelope is written.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wayfarer_core::Error;

/// A `core::Error` on its way to the wire.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Task-failure codes answer 200 on task endpoints; if one ever reaches here as a request
        // rejection, it is a bug, and 500 says so.
        let status = if status == StatusCode::OK {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            status
        };
        let mut response = (status, axum::Json(self.0.envelope())).into_response();
        if let Some(secs) = self.0.retry_after_secs()
            && let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
