//! Shared test harness: one runtime and one Chromium per test binary, fixture pages served on
//! 127.0.0.1 by the test itself, and in-process servers on random ports.
#![allow(dead_code)]

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::runtime::Runtime;
use wayfarer::config::{ServeArgs, ServeConfig, StoreArgs};
use wayfarer::server::{self, RunningServer};
use wayfarer_browser::{BrowserConfig, BrowserPool, GuardSettings, StubResolver};
use wayfarer_store::Store;

/// The one runtime of this test binary: servers and the browser live on it across tests.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime")
    })
}

/// Runs a test body on the shared runtime.
pub fn run<F: Future<Output = ()> + Send + 'static>(f: F) {
    runtime().block_on(async move { tokio::spawn(f).await.expect("test task panicked") });
}

/// The shared browser pool (one Chromium, many contexts).
pub async fn pool() -> Arc<BrowserPool> {
    static POOL: tokio::sync::OnceCell<Arc<BrowserPool>> = tokio::sync::OnceCell::const_new();
    POOL.get_or_init(|| async {
        let dir = std::env::temp_dir().join(format!("wayfarer-test-{}", std::process::id()));
        BrowserPool::launch(BrowserConfig {
            browsers: 1,
            contexts_per_browser: 40,
            downloads_root: Some(dir.join("downloads")),
            profile_root: dir,
            // As in production: every context behind its own network guard. Its resolver knows
            // only `localhost`: no name lookup leaves this machine, and any other name asked
            // for (background traffic of the browser) is on record for `foreign_lookups`.
            network_guard: Some(GuardSettings {
                block_private: false,
                resolver: Arc::new(resolver().clone()),
            }),
            ..BrowserConfig::default()
        })
        .await
        .expect("launch chromium (is Debian's chromium installed?)")
    })
    .await
    .clone()
}

/// The shared pool's resolver: `localhost` only.
fn resolver() -> &'static StubResolver {
    static RESOLVER: OnceLock<StubResolver> = OnceLock::new();
    RESOLVER.get_or_init(|| {
        StubResolver::new().with(
            "localhost",
            &[
                std::net::IpAddr::from([127, 0, 0, 1]),
                std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            ],
        )
    })
}

/// Names other than `localhost` the shared pool's guard was asked to resolve so far.
pub fn foreign_lookups() -> Vec<String> {
    resolver()
        .lookups()
        .into_iter()
        .filter(|h| !h.eq_ignore_ascii_case("localhost"))
        .collect()
}

/// Base URL of the fixture site (127.0.0.1).
pub async fn fixtures() -> String {
    static SITE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    SITE.get_or_init(|| async {
        let app = Router::new()
            .route("/", get(|| async { Html(HOME) }))
            .route("/next", get(|| async { Html("<html><head><title>Next</title></head><body><h1>Second page</h1></body></html>") }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    Html("<html><head><title>Slow</title></head><body><h1>Slow page</h1></body></html>")
                }),
            )
            .route(
                "/hang",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Html("never")
                }),
            )
            .route("/late", get(|| async { Html(LATE) }))
            .route("/order", get(|| async { Html(ORDER) }))
            .route(
                "/with-pixel",
                get(|axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
                    // `q` is the origin the pixel is fetched from (another name for this site).
                    let origin = q.unwrap_or_default();
                    Html(format!("<html><head><title>Pixel</title></head><body><h1>Pixel page</h1><img src=\"{origin}/pixel.gif\"></body></html>"))
                }),
            )
            .route("/pixel.gif", get(|| async { "GIF89a" }))
            .route(
                "/downloads",
                get(|| async {
                    Html("<html><head><title>Reports</title></head><body><h1>Reports</h1><a href=\"/report.csv\" download>Download report</a></body></html>")
                }),
            )
            .route("/report.csv", get(|| async { ([("content-type", "text/csv")], "month,total\njan,42\n") }))
            .route("/never-fetched", get(|| async { Html("<h1>should not be fetched</h1>") }))
            .route(
                "/search",
                get(|| async {
                    Html("<html><head><title>Search</title></head><body><h1>Search</h1><form action=\"/results\"><label>Search <input name=\"q\"></label></form><a href=\"/next\">Next page</a></body></html>")
                }),
            )
            .route(
                "/results",
                get(|axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
                    let term = q.unwrap_or_default().trim_start_matches("q=").replace('+', " ");
                    Html(format!("<html><head><title>Results</title></head><body><h1>Results for {term}</h1></body></html>"))
                }),
            );
        let app = app.layer(axum::middleware::from_fn(|request: axum::extract::Request, next: axum::middleware::Next| async move {
            fixture_hits().lock().unwrap().push(request.uri().path().to_string());
            next.run(request).await
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fixtures");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        format!("http://{addr}")
    })
    .await
    .clone()
}

/// Paths the fixture site has been asked for, in order.
pub fn fixture_hits() -> &'static std::sync::Mutex<Vec<String>> {
    static HITS: OnceLock<std::sync::Mutex<Vec<String>>> = OnceLock::new();
    HITS.get_or_init(Default::default)
}

const HOME: &str = r#"<!doctype html><html><head><title>Fixture home</title></head><body>
<h1>Welcome</h1>
<p>This is the fixture home page.</p>
<button onclick="document.querySelector('h1').textContent='Button pressed'">Press me</button>
<label>Email <input id="email" oninput="document.getElementById('echo').textContent='Echo: '+this.value"></label>
<p id="echo"></p>
<a href="/next">Next page</a>
</body></html>"#;

/// A form for the element actions beyond click and type, and a link that opens a tab.
const ORDER: &str = r#"<!doctype html><html><head><title>Order</title></head><body>
<h1 id="h">Order</h1>
<label>Size <select onchange="document.getElementById('size').textContent='Size: '+this.value"><option value="small">Small</option><option value="large">Large</option></select></label>
<label><input type="checkbox" onchange="document.getElementById('agree').textContent=this.checked?'Agreed':'Not agreed'"> I agree</label>
<button onmouseover="document.getElementById('menu').textContent='Menu open'">Products</button>
<p id="size"></p><p id="agree"></p><p id="menu"></p>
<a href="/next" target="_blank">Terms in a new tab</a>
</body></html>"#;

const LATE: &str = r#"<!doctype html><html><head><title>Late</title></head><body><h1>Waiting</h1>
<script>setTimeout(() => { const b = document.createElement('button'); b.textContent = 'Appear';
b.onclick = () => document.querySelector('h1').textContent = 'Appeared and clicked'; document.body.appendChild(b); }, 700);</script>
</body></html>"#;

/// Knobs a test may turn.
#[derive(Clone, Default)]
pub struct Options {
    pub session_timeout: Option<Duration>,
    pub inline_window: Option<Duration>,
    pub navigation_timeout: Option<Duration>,
    pub price_per_minute: Option<f64>,
    pub retention: Option<Duration>,
    /// A pool of its own instead of the shared one.
    pub pool: Option<Arc<BrowserPool>>,
    /// A planner instead of the offline one.
    pub planner: Option<Arc<dyn wayfarer_agent::Planner>>,
    /// The operator's proxy pool (`--proxy-pool`).
    pub proxy_pool: Vec<String>,
}

/// An in-process server with its own store and the operator's key.
pub struct TestServer {
    pub url: String,
    pub key: String,
    pub store: Arc<dyn Store>,
    pub server: Option<RunningServer>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(options: Options) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let args = ServeArgs {
            store: StoreArgs {
                data_dir: Some(dir.path().to_path_buf()),
                ..Default::default()
            },
            listen: Some("127.0.0.1:0".parse().expect("addr")),
            session_timeout: options.session_timeout,
            inline_window: options.inline_window,
            navigation_timeout: options.navigation_timeout,
            price_per_minute: options.price_per_minute,
            retention: options.retention,
            proxy_pool: options.proxy_pool,
            ..Default::default()
        };
        let config = ServeConfig::resolve(&args).expect("config");
        let store = server::open_store(&config.database_url)
            .await
            .expect("store");
        let key = server::bootstrap(&*store, None)
            .await
            .expect("bootstrap")
            .expect("first key");
        let pool = match options.pool {
            Some(p) => p,
            None => pool().await,
        };
        let planner = options
            .planner
            .unwrap_or_else(|| Arc::new(wayfarer_agent::OfflinePlanner));
        let running = server::start_with_planner(&config, store.clone(), pool, planner)
            .await
            .expect("server");
        TestServer {
            url: running.url.clone(),
            key: key.reveal().to_string(),
            store,
            server: Some(running),
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// Creates an account with WebRun's default limits (or the given ones) and a key for it.
    pub async fn account(
        &self,
        name: &str,
        balance: Option<f64>,
        session_limit: u32,
        rate_limit: u32,
    ) -> String {
        let account = self
            .store
            .create_account(&wayfarer_store::NewAccount {
                name: name.into(),
                balance: balance.map(wayfarer_core::Micros::from_dollars),
                session_limit: Some(session_limit),
                rate_limit: Some(rate_limit),
                now_ms: wayfarer_engine::now_ms(),
            })
            .await
            .expect("account");
        let key = wayfarer_core::ApiKey::generate();
        server::register_key(&*self.store, &account, &key, None)
            .await
            .expect("key");
        key.reveal().to_string()
    }

    pub async fn post(&self, path: &str, key: Option<&str>, body: Value) -> Answer {
        let mut request = self.client.post(format!("{}{path}", self.url)).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        Answer::from(request.send().await.expect("request")).await
    }

    /// POST /start/run-task with the operator's key: `prompt` from `start`.
    pub async fn run_task(&self, prompt: &str, start: &str) -> Answer {
        self.post(
            "/start/run-task",
            Some(&self.key),
            json!({"prompt": prompt, "startingUrl": start}),
        )
        .await
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> Answer {
        let mut request = self.client.get(format!("{}{path}", self.url));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        Answer::from(request.send().await.expect("request")).await
    }

    /// Polls a task every 100 ms until `pending` is false (at most 60 s).
    pub async fn poll(&self, session_id: &str, task_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let answer = self
                .get(&format!("/task/{session_id}/{task_id}"), Some(&self.key))
                .await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            if answer.body["pending"] == json!(false) {
                return answer.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "task never ended: {}",
                answer.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn send(&self, session_id: &str, message: Value) -> Answer {
        self.post(
            "/start/send-message",
            Some(&self.key),
            json!({ "sessionId": session_id, "message": message }),
        )
        .await
    }
}

/// A response: status, headers, JSON body.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub async fn from(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Asserts an error envelope with this status and code; returns the body.
    pub fn error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["success"], json!(false), "{}", self.body);
        assert_eq!(self.body["code"], json!(code), "{}", self.body);
        assert!(self.body["error"].is_string(), "{}", self.body);
        &self.body
    }
}
