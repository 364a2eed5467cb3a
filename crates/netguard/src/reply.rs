//! The guard's own answers to the client: refusals and gateway errors.
//!
//! Every answer closes the connection, carries a short plain-text body for
//! people reading it in a browser, and a machine-readable header for the
//! code that turns it into a step failure.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::policy::BlockReason;

/// Header naming the [`BlockReason`] of a refusal (403).
pub const BLOCKED_HEADER: &str = "X-Wayfarer-Blocked";
/// Header naming what went wrong when the guard could not serve a request
/// for another reason (400, 408, 431, 502, 504): e.g. `upstream_auth_failed`.
pub const ERROR_HEADER: &str = "X-Wayfarer-Error";

/// One answer of the guard's own.
#[derive(Debug)]
pub(crate) struct Reply {
    status: u16,
    header: (&'static str, String),
    body: String,
}

impl Reply {
    /// 403 for a destination the policy refuses.
    pub fn blocked(reason: BlockReason, host: &str) -> Self {
        Self {
            status: 403,
            header: (BLOCKED_HEADER, reason.as_str().to_owned()),
            body: format!("blocked by network guard: {host} ({reason})\n"),
        }
    }

    /// Any other failure; `kind` goes into [`ERROR_HEADER`].
    pub fn error(status: u16, kind: &'static str, detail: impl std::fmt::Display) -> Self {
        Self {
            status,
            header: (ERROR_HEADER, kind.to_owned()),
            body: format!("network guard: {detail}\n"),
        }
    }

    /// The HTTP status, for logs.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Writes the answer, then drains what the client still sends for a
    /// moment before closing. Failures are ignored: the client is gone and
    /// there is no one left to tell.
    ///
    /// Why drain: closing a socket with unread input makes the kernel send a
    /// reset, which can destroy our answer in the client's buffer before it
    /// reads it (a refused POST body, an oversized head).
    pub async fn send<S: AsyncRead + AsyncWrite + Unpin>(&self, w: &mut S) {
        if w.write_all(&self.to_bytes()).await.is_err() || w.shutdown().await.is_err() {
            return;
        }
        let _ = tokio::time::timeout(LINGER, drain(w)).await;
    }

    /// The answer as bytes, for writing to a half of a split stream.
    pub fn to_bytes(&self) -> Vec<u8> {
        let head = format!(
            "HTTP/1.1 {} {}\r\n{}: {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.status,
            reason_phrase(self.status),
            self.header.0,
            self.header.1,
            self.body.len(),
        );
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

/// How long, and how much, to drain after answering.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 256 * 1024;

async fn drain<R: AsyncRead + Unpin>(r: &mut R) {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    while total < LINGER_BYTES {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        502 => "Bad Gateway",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}
