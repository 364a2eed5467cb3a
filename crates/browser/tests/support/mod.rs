//! Test support: a tiny HTTP server for fixture pages on 127.0.0.1 and a runtime per test.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A fixture page: content type, body, and an optional delay before answering.
#[derive(Clone)]
pub struct Page {
    pub content_type: &'static str,
    pub body: String,
    pub delay: Duration,
}

/// `text/html` page.
pub fn html(body: &str) -> Page {
    Page {
        content_type: "text/html; charset=utf-8",
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

/// Any other content type.
pub fn asset(content_type: &'static str, body: &str) -> Page {
    Page {
        content_type,
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

/// Serves `pages` by path on 127.0.0.1 (query strings ignored); returns the base URL.
pub async fn serve(pages: HashMap<&'static str, Page>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let pages = Arc::new(pages);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let pages = pages.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 2048];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&buf);
                let target = request.split_whitespace().nth(1).unwrap_or("/");
                let path = target.split('?').next().unwrap_or("/");
                let (status, page) = match pages.get(path) {
                    Some(p) => ("200 OK", p.clone()),
                    None => ("404 Not Found", html("not found")),
                };
                tokio::time::sleep(page.delay).await;
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    page.content_type,
                    page.body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(page.body.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    base
}

/// A multi-threaded runtime for one test (the pool's background tasks need one).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Polls `check` every 50 ms for up to 30 s.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}
