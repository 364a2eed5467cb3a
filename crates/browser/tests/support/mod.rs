//! Test support: a tiny HTTP server for fixture pages on 127.0.0.1, a runtime per test, and one
//! browser shared by a whole test binary.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wayfarer_browser::{BrowserConfig, BrowserPool};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A fixture page: content type, body, and an optional delay before answering.
#[derive(Clone)]
pub struct Page {
    pub content_type: &'static str,
    pub body: String,
    pub delay: Duration,
    /// Send the head and the body, then hold the connection open: the page never finishes
    /// loading.
    pub hang: bool,
}

/// A page that never finishes loading (its body so far is `partial`).
pub fn hanging(partial: &str) -> Page {
    Page {
        hang: true,
        ..html(partial)
    }
}

/// `text/html` page.
pub fn html(body: &str) -> Page {
    Page {
        content_type: "text/html; charset=utf-8",
        body: body.to_string(),
        delay: Duration::ZERO,
        hang: false,
    }
}

/// Any other content type.
pub fn asset(content_type: &'static str, body: &str) -> Page {
    Page {
        content_type,
        body: body.to_string(),
        delay: Duration::ZERO,
        hang: false,
    }
}

/// Serves `pages` by path on 127.0.0.1 (query strings ignored); returns the base URL.
pub async fn serve(pages: HashMap<&'static str, Page>) -> String {
    serve_with(|_| pages).await
}

/// [`serve`] with pages that depend on the port (pages that link to `localhost:PORT`, the
/// same server as another site).
pub async fn serve_with(pages: impl FnOnce(u16) -> HashMap<&'static str, Page>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let pages = Arc::new(pages(addr.port()));
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
                if page.hang {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\n\r\n{}",
                        page.content_type, page.body
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    tokio::time::sleep(Duration::from_secs(600)).await;
                    return;
                }
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

/// One browser for a whole test binary, with the runtime it lives on and the binary's fixture
/// site.
pub struct SharedBrowser {
    pub rt: tokio::runtime::Runtime,
    pub pool: Arc<BrowserPool>,
    /// `http://127.0.0.1:PORT` of the fixture site.
    pub base: String,
    _profiles: tempfile::TempDir,
}

impl SharedBrowser {
    /// The fixture site as `http://localhost:PORT`: the same server, another site (Chromium
    /// puts its iframes in their own renderer process).
    pub fn cross(&self) -> String {
        self.base.replace("127.0.0.1", "localhost")
    }
}

static SHARED_CLEANUP: OnceLock<(Vec<u32>, std::path::PathBuf)> = OnceLock::new();

extern "C" fn cleanup_shared() {
    if let Some((pids, dir)) = SHARED_CLEANUP.get() {
        for &pid in pids {
            // SAFETY: plain syscall on the process group we started.
            unsafe { libc::killpg(pid as i32, libc::SIGKILL) };
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Launches the binary's shared browser (8 contexts) on a runtime of its own; `serve` starts the
/// fixture site on that runtime first, so it lives as long as the browser.
/// `RUST_LOG=wayfarer_browser=trace` shows the CDP traffic.
pub fn launch_shared(serve: impl AsyncFnOnce() -> String) -> SharedBrowser {
    init_tracing();
    let rt = runtime();
    let profiles = tempfile::tempdir().expect("tempdir");
    let (base, pool) = rt.block_on(async {
        let base = serve().await;
        let pool = BrowserPool::launch(BrowserConfig {
            contexts_per_browser: 8,
            profile_root: profiles.path().to_path_buf(),
            ..BrowserConfig::default()
        })
        .await
        .expect("launch chromium");
        (base, pool)
    });
    // Statics are never dropped, so the shared browser would outlive the last test until the
    // kernel's parent-death signal; kill it and remove its profile when the binary exits.
    let _ = SHARED_CLEANUP.set((pool.browser_pids(), profiles.path().to_path_buf()));
    // SAFETY: registers a plain extern "C" function without captures.
    unsafe { libc::atexit(cleanup_shared) };
    SharedBrowser {
        rt,
        pool,
        base,
        _profiles: profiles,
    }
}

/// Logs of the code under test, filtered by `RUST_LOG`.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
