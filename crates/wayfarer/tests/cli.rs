//! The real binary: `serve` prints its URL and first key; the operator CLI works against the
//! same data dir while the server runs; rate limits; keys; no plaintext key in the database;
//! no Chromium left behind after SIGTERM or SIGKILL.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wayfarer");

struct Server {
    child: Child,
    url: String,
    key: Option<String>,
}

impl Drop for Server {
    /// A failing test must not leave its server (and so its Chromium) running.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn serve(data_dir: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--browsers",
            "1",
            "--contexts-per-browser",
            "12",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wayfarer serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no output from serve");
    let url = first
        .strip_prefix("wayfarer listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    let key = rx.recv_timeout(Duration::from_millis(500)).ok().map(|l| {
        l.strip_prefix("API key: ")
            .unwrap_or_else(|| panic!("unexpected second line: {l}"))
            .to_string()
    });
    Server { child, url, key }
}

fn cli(data_dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run cli");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string()
            + if out.status.success() { "" } else { &text },
    )
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().to_string()
}

fn call(
    method: &str,
    url: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client.request(method.parse().unwrap(), url);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, retry, body)
    })
}

/// Pids of processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd);
            if cmd.contains(needle) && !cmd.contains("wayfarer serve") && !cmd.starts_with(BIN) {
                pids.push(pid);
            }
        }
    }
    pids
}

fn wait_no_processes(needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = processes_mentioning(needle);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "processes left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sigterm_and_wait(child: &mut Child) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "serve exited with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "serve did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_prints_url_and_key_and_the_operator_cli_works_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut server = serve(data, &[]);
    let key = server.key.clone().expect("first start prints an API key");
    assert!(key.starts_with("wf_") && key.len() == 43, "{key}");
    assert!(server.url.starts_with("http://127.0.0.1:"));
    let url = server.url.clone();

    let (status, _, body) = call("GET", &format!("{url}/health"), None, None);
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = call("GET", &format!("{url}/v1/account"), Some(&key), None);
    assert_eq!(status, 200);
    assert_eq!(body["account"]["name"], "default");
    assert_eq!(body["account"]["balance"], Value::Null);

    // Operator CLI against the same data dir while the server runs.
    let (ok, out) = cli(data, &["accounts", "create", "alice"]);
    assert!(ok, "{out}");
    let (ok, out) = cli(data, &["keys", "create", "--account", "alice"]);
    assert!(ok, "{out}");
    let alice = last_line(&out);
    assert!(alice.starts_with("wf_"), "{out}");
    let (ok, out) = cli(data, &["accounts", "list"]);
    assert!(
        ok && out.contains("alice") && out.contains("sessions 5") && out.contains("rate 10/min"),
        "{out}"
    );

    // Rate limit: an account with default limits gets 10 POSTs a minute on /start/*.
    let start = |path: &str, k: &str| {
        call(
            "POST",
            &format!("{url}{path}"),
            Some(k),
            Some(
                json!({"sessionId": "zzzzzzzzzzzzzzzzzzzzzzzz", "message": {"actionType": "state", "newState": "stop"}, "prompt": "x"}),
            ),
        )
    };
    let paths = [
        "/start/send-message",
        "/start/run-task",
        "/start/send-message",
        "/start/run-task",
        "/start/send-message",
    ];
    for i in 0..10 {
        let (status, _, body) = start(paths[i % paths.len()], &alice);
        assert_eq!(
            status,
            404,
            "request {} should pass the limiter: {body}",
            i + 1
        );
    }
    let (status, retry, body) = start("/start/start-session", &alice);
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        body,
        json!({"success": false, "message": "Rate limit exceeded. Please try again later.", "error": "Rate limit exceeded. Please try again later.", "code": "RATE_LIMIT_EXCEEDED"})
    );
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    // GET /task is never limited.
    for _ in 0..15 {
        let (status, _, _) = call(
            "GET",
            &format!("{url}/task/zzzzzzzzzzzzzzzzzzzzzzzz/t"),
            Some(&alice),
            None,
        );
        assert_eq!(status, 404);
    }
    // The operator's default account is not limited.
    for _ in 0..15 {
        let (status, _, body) = start("/start/send-message", &key);
        assert_eq!(status, 404, "{body}");
    }

    // Session limit of an account made by the CLI (rate limit off so terminates don't count).
    let (ok, out) = cli(data, &["accounts", "create", "sally", "--rate-limit", "0"]);
    assert!(ok, "{out}");
    let sally = last_line(&cli(data, &["keys", "create", "--account", "sally"]).1);
    let mut sessions = Vec::new();
    for _ in 0..5 {
        let (status, _, body) = call(
            "POST",
            &format!("{url}/start/start-session"),
            Some(&sally),
            Some(json!({})),
        );
        assert_eq!(status, 200, "{body}");
        sessions.push(body["sessionId"].as_str().unwrap().to_string());
    }
    let (status, _, body) = call(
        "POST",
        &format!("{url}/start/start-session"),
        Some(&sally),
        Some(json!({})),
    );
    assert_eq!(status, 429);
    assert_eq!(body["code"], "SESSION_LIMIT_REACHED");
    assert_eq!(body["details"], json!({"current": 5, "limit": 5}));

    // Expiring, revoking, disabling — each takes effect on the running server at once.
    let (_, out) = cli(
        data,
        &["keys", "create", "--account", "sally", "--expires-in", "1s"],
    );
    let short = last_line(&out);
    let (status, _, _) = call("GET", &format!("{url}/v1/account"), Some(&short), None);
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(1300));
    let (status, _, body) = call("GET", &format!("{url}/v1/account"), Some(&short), None);
    assert_eq!(
        (status, body["code"].clone()),
        (401, json!("API_KEY_EXPIRED"))
    );
    let (ok, out) = cli(data, &["keys", "revoke", &short[..9]]);
    assert!(ok, "{out}");
    let (status, _, body) = call("GET", &format!("{url}/v1/account"), Some(&short), None);
    assert_eq!(
        (status, body["code"].clone()),
        (401, json!("INVALID_API_KEY"))
    );
    let (ok, out) = cli(data, &["accounts", "disable", "sally"]);
    assert!(ok, "{out}");
    let (status, _, body) = call("GET", &format!("{url}/v1/account"), Some(&sally), None);
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("ACCOUNT_DEACTIVATED"))
    );
    let (status, _, body) = call("GET", &format!("{url}/v1/account"), None, None);
    assert_eq!((status, body["code"].clone()), (401, json!("UNAUTHORIZED")));

    // The database holds hashes, never a key.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(data).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("wayfarer.db") {
            bytes.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    assert!(bytes.len() > 4096, "database files not found");
    let haystack = String::from_utf8_lossy(&bytes);
    for k in [&key, &alice, &sally, &short] {
        assert!(
            !haystack.contains(k.as_str()),
            "plaintext key found in the database"
        );
        assert!(
            !haystack.contains(&k[10..]),
            "key body found in the database"
        );
    }

    // SIGTERM: sessions end, Chromium goes, the process exits 0.
    let profile_dir = data.join("chromium").to_string_lossy().to_string();
    assert!(
        !processes_mentioning(&profile_dir).is_empty(),
        "chromium should be running"
    );
    sigterm_and_wait(&mut server.child);
    wait_no_processes(&profile_dir);

    // A restart prints no new key; the old one still works.
    let mut again = serve(data, &[]);
    assert!(
        again.key.is_none(),
        "a key is printed only on the first start"
    );
    let (status, _, _) = call(
        "GET",
        &format!("{}/v1/account", again.url),
        Some(&key),
        None,
    );
    assert_eq!(status, 200);
    // Sessions the previous run left were ended, so their ids answer 404.
    let (status, _, body) = call(
        "POST",
        &format!("{}/start/send-message", again.url),
        Some(&key),
        Some(
            json!({"sessionId": sessions[0], "message": {"actionType": "state", "newState": "stop"}}),
        ),
    );
    assert_eq!(status, 404, "{body}");
    sigterm_and_wait(&mut again.child);
    wait_no_processes(&profile_dir);
}

#[test]
fn bootstrap_key_is_registered_idempotently_and_sigkill_leaves_no_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let boot = "my-bootstrap-key-123";
    let mut first = serve(data, &["--bootstrap-key", boot]);
    assert!(
        first.key.is_none(),
        "with --bootstrap-key no key is generated"
    );
    let (status, _, body) = call(
        "GET",
        &format!("{}/v1/account", first.url),
        Some(boot),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account"]["name"], "default");
    // SIGKILL: Chromium must not outlive the server.
    let profile_dir = data.join("chromium").to_string_lossy().to_string();
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    wait_no_processes(&profile_dir);
    let mut second = serve(data, &["--bootstrap-key", boot]);
    let (status, _, _) = call(
        "GET",
        &format!("{}/v1/account", second.url),
        Some(boot),
        None,
    );
    assert_eq!(status, 200);
    sigterm_and_wait(&mut second.child);
    // Bad configuration is refused before anything starts.
    let out = Command::new(BIN)
        .args(["serve", "--bootstrap-key", "short", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bootstrap-key"));
    let out = Command::new(BIN)
        .args(["serve", "--planner", "openai", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    assert!(!out.status.success());
}
