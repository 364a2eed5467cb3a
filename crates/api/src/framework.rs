//! Rejections made by the HTTP framework itself (unknown route, wrong method) in our envelope.

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use wayfarer_core::Error;

/// Fallback for paths no route matches: 404 `NOT_FOUND`.
pub(crate) async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError(Error::NotFound {
        method: method.to_string(),
        path: uri.path().to_string(),
    })
}

/// axum answers a known path with an unsupported method by an empty 405 carrying `Allow`;
/// rewrite it into `METHOD_NOT_ALLOWED` in the envelope, keeping `Allow`.
pub(crate) async fn envelope_framework_rejections(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut rewritten = ApiError(Error::MethodNotAllowed { method, path }).into_response();
    if let Some(allow) = allow {
        rewritten.headers_mut().insert(header::ALLOW, allow);
    }
    rewritten
}
