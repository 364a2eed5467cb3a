//! `wayfarer bench browser`: (b) perceive + act overhead, (c) session lifecycle against raw
//! playwright-core on the same Chromium, (d) memory per idle session — each with a baseline
//! measured in the same run.

use crate::bench::{BenchError, BenchServer, err, ms, percentile, post};
use axum::response::Html;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use wayfarer_browser::BrowserPool;

/// A page of typical size for an action step: a heading, a button that changes it, a form
/// and a list of links.
fn fixture_page() -> String {
    let links: String = (0..40)
        .map(|i| format!("<li><a href=\"/item/{i}\">Item number {i}</a></li>"))
        .collect();
    format!(
        "<!doctype html><html><head><title>Bench</title></head><body><h1 id=h>Start</h1>\
         <button onclick=\"document.getElementById('h').textContent=Date.now()\">Press</button>\
         <form><label>Name <input name=n></label><label><input type=checkbox> Agree</label>\
         <select><option>One</option><option>Two</option></select></form><ul>{links}</ul></body></html>"
    )
}

async fn serve_fixture() -> Result<String, BenchError> {
    let page = fixture_page();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { Html(page.clone()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(err)?;
    let addr = listener.local_addr().map_err(err)?;
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Ok(format!("http://{addr}/"))
}

/// PSS in kB of every live process in process group `pgid` (PSS, unlike RSS, does not count
/// shared pages once per process).
fn group_pss_kb(pgid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() < 3 || fields[2] != pgid.to_string() {
            continue;
        }
        let Ok(rollup) = std::fs::read_to_string(entry.path().join("smaps_rollup")) else {
            continue;
        };
        total += rollup
            .lines()
            .find(|l| l.starts_with("Pss:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

async fn perceive_act(
    pool: &std::sync::Arc<BrowserPool>,
    url: &str,
    steps: usize,
) -> Result<String, BenchError> {
    let ctx = pool.new_context().await.map_err(err)?;
    ctx.navigate(url, Duration::from_secs(30))
        .await
        .map_err(err)?;
    let mut step_times = Vec::new();
    let mut round_trips = Vec::new();
    let mut perceive_times = Vec::new();
    let mut tokens_line = String::new();
    for i in 0..steps + 3 {
        let t = Instant::now();
        ctx.current_url().await.map_err(err)?;
        let rt = t.elapsed();
        let t = Instant::now();
        let state = ctx.page_state().await.map_err(err)?;
        let perceived = t.elapsed();
        let button = state
            .elements
            .iter()
            .find(|e| e.role == "button")
            .ok_or_else(|| err("no button"))?
            .id;
        ctx.click(button).await.map_err(err)?;
        let step = t.elapsed();
        if i >= 3 {
            round_trips.push(rt);
            perceive_times.push(perceived);
            step_times.push(step);
        } else {
            tokens_line = format!("{} elements", state.elements.len());
        }
    }
    ctx.close().await;
    for v in [&mut step_times, &mut round_trips, &mut perceive_times] {
        v.sort();
    }
    let (step50, rt50, p50) = (
        percentile(&step_times, 0.5),
        percentile(&round_trips, 0.5),
        percentile(&perceive_times, 0.5),
    );
    Ok(format!(
        "| (b) perceive + click, p50 ({tokens_line}) vs one CDP round trip | {:.1} ms (perceive {:.1} ms) | {:.2} ms | {:.1}× |\n\
         | (b) perceive + click, p95 | {:.1} ms | {:.2} ms | |\n",
        ms(step50),
        ms(p50),
        ms(rt50),
        ms(step50) / ms(rt50).max(0.001),
        ms(percentile(&step_times, 0.95)),
        ms(percentile(&round_trips, 0.95)),
    ))
}

async fn playwright_baseline(
    script: &Path,
    url: &str,
    n: usize,
) -> Result<Vec<Duration>, BenchError> {
    let out = tokio::process::Command::new("node")
        .arg(script)
        .arg(url)
        .arg(n.to_string())
        .output()
        .await
        .map_err(|e| err(format!("node {}: {e}", script.display())))?;
    if !out.status.success() {
        return Err(err(format!(
            "playwright baseline failed (run `npm install` in {}): {}",
            script
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(err)?;
    let mut samples: Vec<Duration> = v["samples_ms"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_f64)
                .map(|ms| Duration::from_secs_f64(ms / 1000.0))
                .collect()
        })
        .unwrap_or_default();
    samples.sort();
    Ok(samples)
}

/// Runs the benchmark and returns its Markdown report.
pub async fn run(
    steps: usize,
    lifecycles: usize,
    idle: &[usize],
    playwright_script: &Path,
) -> Result<String, BenchError> {
    let url = serve_fixture().await?;
    let max_idle = idle.iter().copied().max().unwrap_or(1);
    let bench = BenchServer::start(max_idle + 4).await?;
    let (key, pool) = (bench.key.clone(), bench.pool.clone());
    let base = bench.running.url.clone();
    let client = reqwest::Client::new();

    let result = async {
        let mut report = String::from(
            "## wayfarer bench browser\n\n| measure | wayfarer | baseline (same run) | ratio |\n|---|---|---|---|\n",
        );
        report.push_str(&perceive_act(&pool, &url, steps).await?);

        // Crash detection: from sending the page to chrome://crash to PAGE_CRASH, against a
        // normal navigation of the fixture page.
        let mut crash_times = Vec::new();
        let mut nav_times = Vec::new();
        for _ in 0..5 {
            let ctx = pool.new_context().await.map_err(err)?;
            let t = Instant::now();
            ctx.navigate(&url, Duration::from_secs(30)).await.map_err(err)?;
            nav_times.push(t.elapsed());
            let t = Instant::now();
            let crashed = ctx.navigate("chrome://crash", Duration::from_secs(30)).await;
            if !matches!(crashed, Err(wayfarer_browser::BrowserError::PageCrash)) {
                return Err(err(format!("expected a page crash, got {crashed:?}")));
            }
            crash_times.push(t.elapsed());
            ctx.close().await;
        }
        crash_times.sort();
        nav_times.sort();
        report.push_str(&format!(
            "| renderer crash → PAGE_CRASH, p50 (goal ≤ 2 s) vs loading the fixture page | {:.0} ms | {:.0} ms | {:.2}× |\n",
            ms(percentile(&crash_times, 0.5)),
            ms(percentile(&nav_times, 0.5)),
            ms(percentile(&crash_times, 0.5)) / ms(percentile(&nav_times, 0.5)).max(0.001),
        ));

        // (c) one-shot run-task (new session, goto, perceive, answer, terminate) over HTTP.
        let mut ours = Vec::new();
        for i in 0..lifecycles + 2 {
            let t = Instant::now();
            let done = post(&client, &format!("{base}/start/run-task"), &key, json!({"prompt": "Describe the page", "startingUrl": url})).await?;
            if done["status"] != "completed" {
                return Err(err(format!("run-task did not complete: {done}")));
            }
            if i >= 2 {
                ours.push(t.elapsed());
            }
        }
        ours.sort();
        let theirs = playwright_baseline(playwright_script, &url, lifecycles).await?;
        let (o50, t50) = (percentile(&ours, 0.5), percentile(&theirs, 0.5));
        report.push_str(&format!(
            "| (c) session lifecycle p50: run-task (session + goto + perceive + answer + terminate, over HTTP) vs playwright-core newContext/newPage/goto/close | {:.1} ms | {:.1} ms | {:.2}× |\n\
             | (c) session lifecycle p95 | {:.1} ms | {:.1} ms | {:.2}× |\n",
            ms(o50), ms(t50), ms(o50) / ms(t50).max(0.001),
            ms(percentile(&ours, 0.95)), ms(percentile(&theirs, 0.95)),
            ms(percentile(&ours, 0.95)) / ms(percentile(&theirs, 0.95)).max(0.001),
        ));

        // (d) memory: idle sessions each showing the fixture page.
        let pgid = pool.browser_pids().first().copied().ok_or_else(|| err("no local browser"))?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let base_kb = group_pss_kb(pgid);
        let mut open = Vec::new();
        let mut counts = idle.to_vec();
        counts.sort();
        for n in counts {
            while open.len() < n {
                let started = post(&client, &format!("{base}/start/start-session"), &key, json!({"prompt": "Describe", "startingUrl": url})).await?;
                open.push(started["sessionId"].as_str().unwrap_or_default().to_string());
            }
            // Let every task finish and the pages settle.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let kb = group_pss_kb(pgid);
            report.push_str(&format!(
                "| (d) memory (PSS) with {n} idle session(s): per session | {:.1} MB | browser with 0 sessions: {:.0} MB | |\n",
                (kb.saturating_sub(base_kb)) as f64 / 1024.0 / n as f64,
                base_kb as f64 / 1024.0,
            ));
        }
        Ok::<String, BenchError>(report)
    }
    .await;
    bench.stop().await;
    result
}
