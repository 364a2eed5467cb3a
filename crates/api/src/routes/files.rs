//! `GET /files/:fileId/download` — files the agent downloaded, to their owner only.

use crate::AppState;
use crate::error::ApiError;
use crate::request::authenticate;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use wayfarer_core::Error;
use wayfarer_core::error::Thing;

/// `filename="…"` for plain ASCII names, plus RFC 5987 `filename*` for any name.
fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Streams a downloaded file.
#[utoipa::path(get, path = "/files/{fileId}/download", tag = "Files",
    params(("fileId" = String, Path)),
    responses((status = 200, description = "The file's bytes", content_type = "application/octet-stream"), (status = "4XX", body = crate::openapi::ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let account = authenticate(&state.engine, &headers).await?;
    let Path(file_id) = path.map_err(|_| {
        ApiError(Error::ThingNotFound {
            kind: Thing::File,
            id: String::new(),
        })
    })?;
    let record = state.engine.file(&account, &file_id).await?;
    let file = tokio::fs::File::open(&record.path).await.map_err(|e| {
        tracing::warn!(file_id, error = %e, "recorded file is missing on disk");
        ApiError(Error::ThingNotFound {
            kind: Thing::File,
            id: file_id.clone(),
        })
    })?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(len) = HeaderValue::from_str(&record.size.to_string()) {
        h.insert(header::CONTENT_LENGTH, len);
    }
    if let Ok(cd) = HeaderValue::from_str(&content_disposition(&record.filename)) {
        h.insert(header::CONTENT_DISPOSITION, cd);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn disposition_is_safe_for_any_name() {
        assert_eq!(
            content_disposition("a.csv"),
            "attachment; filename=\"a.csv\"; filename*=UTF-8''a.csv"
        );
        let odd = content_disposition("ré\"port.pdf");
        assert!(
            odd.starts_with("attachment; filename=\"r__port.pdf\""),
            "{odd}"
        );
        assert!(odd.ends_with("r%C3%A9%22port.pdf"), "{odd}");
    }
}
