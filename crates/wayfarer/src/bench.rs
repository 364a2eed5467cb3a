//! `wayfarer bench api`: API throughput and session lifecycle latency, each against a baseline
//! measured in the same run on the same machine (ratios travel between machines; absolute
//! numbers do not).

use crate::config::{ServeArgs, ServeConfig};
use crate::server;
use clap::Subcommand;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Which benchmark.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// GET /task throughput vs the HTTP floor (an unknown route); session lifecycle vs a bare browser context.
    Api {
        /// Requests per throughput measurement.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Session lifecycles to time.
        #[arg(long, default_value_t = 30)]
        sessions: usize,
    },
    /// Perceive+act overhead, session lifecycle vs raw playwright-core, memory per idle session.
    Browser {
        /// Perceive+click steps to time.
        #[arg(long, default_value_t = 60)]
        steps: usize,
        /// Lifecycles to time (wayfarer and playwright-core each).
        #[arg(long, default_value_t = 20)]
        lifecycles: usize,
        /// Idle session counts to measure memory at.
        #[arg(long, default_value = "1,10,50", value_delimiter = ',')]
        idle: Vec<usize>,
        /// The playwright-core baseline script (needs `npm install` in its folder).
        #[arg(long, default_value = "bench/lifecycle/playwright-lifecycle.mjs")]
        playwright_script: std::path::PathBuf,
    },
}

/// A benchmark failure.
#[derive(Debug, thiserror::Error)]
#[error("benchmark failed: {0}")]
pub struct BenchError(pub(crate) String);

pub(crate) fn err(e: impl std::fmt::Display) -> BenchError {
    BenchError(e.to_string())
}

/// Runs the chosen benchmark and returns its report (Markdown).
pub async fn run(which: BenchCommand) -> Result<String, BenchError> {
    match which {
        BenchCommand::Api {
            requests,
            concurrency,
            sessions,
        } => api(requests, concurrency.max(1), sessions.max(1)).await,
        BenchCommand::Browser {
            steps,
            lifecycles,
            idle,
            playwright_script,
        } => {
            crate::bench_browser::run(steps.max(1), lifecycles.max(1), &idle, &playwright_script)
                .await
        }
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `requests` GETs of `url` (each must answer `expected`) with `concurrency` in flight;
/// returns requests per second.
async fn throughput(
    client: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    expected: u16,
    requests: usize,
    concurrency: usize,
) -> Result<f64, BenchError> {
    let started = Instant::now();
    let per_worker = requests / concurrency;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.to_string();
        let key = key.map(str::to_string);
        workers.push(tokio::spawn(async move {
            for _ in 0..per_worker {
                let mut request = client.get(&url);
                if let Some(key) = &key {
                    request = request.bearer_auth(key);
                }
                let response = request.send().await.map_err(err)?;
                if response.status().as_u16() != expected {
                    return Err(BenchError(format!("{url} answered {}", response.status())));
                }
                response.bytes().await.map_err(err)?;
            }
            Ok::<(), BenchError>(())
        }));
    }
    for w in workers {
        w.await.map_err(err)??;
    }
    Ok((per_worker * concurrency) as f64 / started.elapsed().as_secs_f64())
}

pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: Value,
) -> Result<Value, BenchError> {
    let response = client
        .post(url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .map_err(err)?;
    let status = response.status();
    let body: Value = response.json().await.map_err(err)?;
    if !status.is_success() {
        return Err(BenchError(format!("{url} answered {status}: {body}")));
    }
    Ok(body)
}

/// An in-process server on a temporary data dir with one local Chromium, for benchmarks.
pub(crate) struct BenchServer {
    pub running: server::RunningServer,
    pub pool: std::sync::Arc<wayfarer_browser::BrowserPool>,
    /// The operator's key.
    pub key: String,
    _dir: tempfile::TempDir,
}

impl BenchServer {
    /// Starts a server whose pool holds `contexts` contexts.
    pub(crate) async fn start(contexts: usize) -> Result<BenchServer, BenchError> {
        let dir = tempfile::tempdir().map_err(err)?;
        let args = ServeArgs {
            listen: Some("127.0.0.1:0".parse().map_err(err)?),
            browsers: Some(1),
            contexts_per_browser: Some(contexts),
            store: crate::config::StoreArgs {
                data_dir: Some(dir.path().to_path_buf()),
                ..Default::default()
            },
            ..Default::default()
        };
        let config = ServeConfig::resolve(&args).map_err(err)?;
        let store = server::open_store(&config.database_url)
            .await
            .map_err(err)?;
        let key = server::bootstrap(&*store, None)
            .await
            .map_err(err)?
            .ok_or_else(|| err("no key"))?;
        let pool = server::launch_pool(&config).await.map_err(err)?;
        let running = server::start(&config, store, pool.clone())
            .await
            .map_err(err)?;
        Ok(BenchServer {
            running,
            pool,
            key: key.reveal().to_string(),
            _dir: dir,
        })
    }

    /// Stops the server and its browser.
    pub(crate) async fn stop(self) {
        self.running.stop().await;
        self.pool.shutdown().await;
    }
}

async fn api(requests: usize, concurrency: usize, sessions: usize) -> Result<String, BenchError> {
    let bench = BenchServer::start(16).await?;
    let (key, pool) = (bench.key.clone(), bench.pool.clone());
    let base = bench.running.url.clone();
    let client = reqwest::Client::new();
    let result = async {
        // One finished task to read back.
        let done = post(&client, &format!("{base}/start/run-task"), &key, json!({"prompt": "Describe the page"})).await?;
        let task_url = done["pollUrl"].as_str().ok_or_else(|| err("no pollUrl"))?.to_string();
        // Warm up both paths.
        throughput(&client, &format!("{base}/bench-floor"), None, 404, 200, concurrency).await?;
        throughput(&client, &task_url, Some(&key), 200, 200, concurrency).await?;
        let floor_rps = throughput(&client, &format!("{base}/bench-floor"), None, 404, requests, concurrency).await?;
        let task_rps = throughput(&client, &task_url, Some(&key), 200, requests, concurrency).await?;

        let mut api_times = Vec::new();
        for _ in 0..sessions {
            let t = Instant::now();
            let started = post(&client, &format!("{base}/start/start-session"), &key, json!({})).await?;
            let sid = started["sessionId"].as_str().ok_or_else(|| err("no sessionId"))?.to_string();
            post(
                &client,
                &format!("{base}/start/send-message"),
                &key,
                json!({"sessionId": sid, "message": {"actionType": "state", "newState": "terminate"}}),
            )
            .await?;
            api_times.push(t.elapsed());
        }
        let mut raw_times = Vec::new();
        for _ in 0..sessions {
            let t = Instant::now();
            let ctx = pool.new_context().await.map_err(err)?;
            ctx.close().await;
            raw_times.push(t.elapsed());
        }
        api_times.sort();
        raw_times.sort();
        let (api50, raw50) = (percentile(&api_times, 0.5), percentile(&raw_times, 0.5));
        let (api95, raw95) = (percentile(&api_times, 0.95), percentile(&raw_times, 0.95));
        Ok::<String, BenchError>(format!(
            "## wayfarer bench api\n\n\
             {requests} requests per run, {concurrency} in flight; {sessions} session lifecycles; 1 Chromium.\n\n\
             | measure | wayfarer | baseline (same run) | ratio |\n|---|---|---|---|\n\
             | GET /task throughput (auth + store read) vs unknown-route 404 (HTTP floor: no auth, no store) | {task_rps:.0} req/s | {floor_rps:.0} req/s | {:.2}× |\n\
             | session lifecycle p50 (start-session + terminate over HTTP) vs bare context create+close | {:.1} ms | {:.1} ms | {:.2}× |\n\
             | session lifecycle p95 | {:.1} ms | {:.1} ms | {:.2}× |\n",
            task_rps / floor_rps,
            ms(api50),
            ms(raw50),
            ms(api50) / ms(raw50).max(0.001),
            ms(api95),
            ms(raw95),
            ms(api95) / ms(raw95).max(0.001),
        ))
    }
    .await;
    bench.stop().await;
    result
}
