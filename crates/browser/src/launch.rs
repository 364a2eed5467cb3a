//! Starting and stopping one Chromium process.
//!
//! Chromium forks a zygote, renderers, a GPU and a network process. We start it
//! as the leader of its own process group so one `killpg` reaches all of them,
//! and ask the kernel to SIGKILL it when we die so a crashed or killed server
//! never leaves browsers behind.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked exits, not the
//! process. Forking from whatever thread happens to run the launch (a test's
//! thread, a blocking-pool thread) would kill the browser when that thread
//! ends, so all spawns go through one launcher thread that lives as long as
//! the process.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;

use crate::error::BrowserError;

/// How long Chromium may take to publish its DevTools endpoint.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// Distinguishes profile dirs of browsers started in the same nanosecond.
static PROFILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A spawn request for the launcher thread.
type SpawnJob = (Command, oneshot::Sender<std::io::Result<Child>>);

/// Spawns `cmd` on the process-lifetime launcher thread (see module docs).
async fn spawn_on_launcher(cmd: Command) -> std::io::Result<Child> {
    static LAUNCHER: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let launcher = LAUNCHER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        let started = std::thread::Builder::new()
            .name("wayfarer-chromium-launcher".into())
            .spawn(move || {
                while let Ok((mut cmd, reply)) = rx.recv() {
                    let _ = reply.send(cmd.spawn());
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "could not start the launcher thread");
        }
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = oneshot::channel();
    launcher
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, reply_tx))
        .map_err(|_| std::io::Error::other("launcher thread is gone"))?;
    reply_rx
        .await
        .map_err(|_| std::io::Error::other("launcher thread dropped the request"))?
}

/// Finds the Chromium binary: explicit config, then `$WAYFARER_CHROMIUM`, then
/// well-known names on `PATH`.
pub(crate) fn resolve_executable(explicit: Option<&Path>) -> Result<PathBuf, BrowserError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("WAYFARER_CHROMIUM").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path_var) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(BrowserError::Launch(
        "no chromium executable found (set WAYFARER_CHROMIUM or put chromium on PATH)".into(),
    ))
}

/// Kills browsers a previous, crashed run left behind under `profile_root`
/// and removes their profiles; returns how many profiles were reaped.
///
/// Profile directories are named `chromium-<owner pid>-…`; one whose owner is
/// no longer running is a leftover. Its browser, if still alive, is found by
/// the `--user-data-dir=` on its command line (so a recycled pid is never
/// mistaken for it) and its whole process group is killed.
pub(crate) fn reap_orphans(profile_root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(profile_root) else {
        return 0;
    };
    let mut reaped = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(owner) = name
            .strip_prefix("chromium-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if owner == std::process::id() || Path::new(&format!("/proc/{owner}")).exists() {
            continue;
        }
        let marker = format!("--user-data-dir={}", entry.path().display());
        for pgid in processes_with_arg(&marker) {
            tracing::warn!(pgid, profile = %entry.path().display(), "killing chromium left by a crashed run");
            // SAFETY: plain syscall on a group whose leader carries our profile flag.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            reaped += 1;
        }
    }
    reaped
}

/// Process group ids of processes whose command line contains `arg`.
fn processes_with_arg(arg: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut groups = Vec::new();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if !cmdline.split(|b| *b == 0).any(|a| a == arg.as_bytes()) {
            continue;
        }
        // SAFETY: getpgid only reads the process table.
        let pgid = unsafe { libc::getpgid(pid) };
        if pgid > 0 && !groups.contains(&pgid) {
            groups.push(pgid);
        }
    }
    groups
}

/// A running Chromium process that we own.
///
/// Dropping it kills the whole process group and removes the profile
/// directory; [`ChromiumProcess::terminate`] does the same but reaps politely.
pub(crate) struct ChromiumProcess {
    child: Child,
    /// Process group id (equal to the leader's pid).
    pgid: i32,
    user_data_dir: PathBuf,
    /// Set once `terminate` has reaped the group, so Drop does not signal a
    /// process group id the kernel may since have reused.
    finished: bool,
    /// Browser-level DevTools websocket URL.
    pub ws_url: String,
}

impl ChromiumProcess {
    /// Launches Chromium with a fresh profile under `profile_root` and waits
    /// for its DevTools endpoint.
    pub async fn spawn(executable: &Path, profile_root: &Path) -> Result<Self, BrowserError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let user_data_dir = profile_root.join(format!(
            "chromium-{}-{}-{nanos}",
            std::process::id(),
            PROFILE_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&user_data_dir).map_err(|e| {
            BrowserError::Launch(format!("create {}: {e}", user_data_dir.display()))
        })?;

        let mut cmd = Command::new(executable);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            // Background traffic is refused on our network and stalls start-up.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-client-side-phishing-detection",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-breakpad",
            "--no-pings",
            "--metrics-recording-only",
            "--password-store=basic",
            "--use-mock-keychain",
            // Google services the browser calls on its own (form autofill queries on every
            // page with a form, optimisation hints, translation, cast discovery, CT lists):
            // none belongs in a session's traffic.
            "--disable-features=AutofillServerCommunication,OptimizationHintsFetching,OptimizationGuideModelDownloading,Translate,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
            "--disable-dev-shm-usage",
            "--mute-audio",
            // WebRTC must not send UDP around the network guard (spec §3).
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", user_data_dir.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs between fork and exec and only makes
        // async-signal-safe syscalls (prctl, getppid).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("parent exited during launch"));
                }
                Ok(())
            });
        }
        let mut child = spawn_on_launcher(cmd).await.map_err(|e| {
            let _ = std::fs::remove_dir_all(&user_data_dir);
            BrowserError::Launch(format!("spawn {}: {e}", executable.display()))
        })?;
        let pid = i32::try_from(child.id()).unwrap_or(0);
        tracing::debug!(pid, dir = %user_data_dir.display(), "chromium spawned");

        // From here on, `process` owns cleanup: any early return drops it,
        // which kills the group and removes the profile.
        let stderr = child
            .stderr
            .take()
            .and_then(|e| tokio::process::ChildStderr::from_std(e).ok());
        let mut process = ChromiumProcess {
            child,
            pgid: pid,
            user_data_dir,
            finished: false,
            ws_url: String::new(),
        };

        // Drain stderr for the whole life of the process: an unread pipe
        // would eventually block Chromium. Remember the DevTools line and
        // the last lines for launch diagnostics.
        let (url_tx, mut url_rx) = oneshot::channel::<String>();
        let tail = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        if let Some(stderr) = stderr {
            let tail = tail.clone();
            tokio::spawn(async move {
                let mut url_tx = Some(url_tx);
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(rest) = line.split("DevTools listening on ").nth(1)
                        && let Some(tx) = url_tx.take()
                    {
                        let _ = tx.send(rest.trim().to_string());
                    }
                    tracing::trace!(target: "chromium", "{line}");
                    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                    if tail.len() >= 20 {
                        tail.remove(0);
                    }
                    tail.push(line);
                }
            });
        }

        let port_file = process.user_data_dir.join("DevToolsActivePort");
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let ws_url = loop {
            if let Ok(url) = url_rx.try_recv() {
                break url;
            }
            if let Some(url) = read_port_file(&port_file) {
                break url;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                let tail = tail.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
                return Err(BrowserError::Launch(format!(
                    "chromium exited during start-up ({status}): {tail}"
                )));
            }
            if Instant::now() >= deadline {
                return Err(BrowserError::Launch(format!(
                    "no DevTools endpoint after {} s",
                    STARTUP_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        process.ws_url = ws_url;
        Ok(process)
    }

    /// The browser's pid (also its process group id).
    pub fn pid(&self) -> i32 {
        self.pgid
    }

    /// Whether the browser process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `grace` for a voluntary exit (after `Browser.close`), then
    /// kills the whole group, reaps the leader and removes the profile.
    pub async fn terminate(mut self, grace: Duration) {
        self.wait_exit(grace).await;
        // Renderers and helpers can outlive the leader briefly; kill them all.
        self.kill_group();
        self.wait_exit(Duration::from_secs(5)).await;
        self.wait_group_gone(Duration::from_secs(10)).await;
        self.remove_profile();
        self.finished = true;
    }

    /// Polls for the leader's exit (reaping it) for up to `max`.
    async fn wait_exit(&mut self, max: Duration) {
        let deadline = Instant::now() + max;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn kill_group(&self) {
        if self.pgid > 0 {
            // SAFETY: plain syscall; ESRCH (already gone) is fine.
            unsafe {
                libc::killpg(self.pgid, libc::SIGKILL);
            }
        }
    }

    /// Polls until no process of the group exists (helpers are reparented to
    /// init, which reaps them shortly after the SIGKILL).
    async fn wait_group_gone(&self, max: Duration) {
        let deadline = Instant::now() + max;
        while self.pgid > 0 && Instant::now() < deadline {
            // SAFETY: signal 0 only checks for existence.
            if unsafe { libc::kill(-self.pgid, 0) } != 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn remove_profile(&self) {
        if let Err(e) = std::fs::remove_dir_all(&self.user_data_dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.user_data_dir.display(), error = %e, "could not remove profile");
        }
    }
}

impl Drop for ChromiumProcess {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Last resort when `terminate` was never awaited (panic, early error).
        self.kill_group();
        // Reap off-thread: the SIGKILL lands quickly, but Drop must not block.
        if matches!(self.child.try_wait(), Ok(None)) {
            let pid = self.pgid;
            let _ = std::thread::Builder::new()
                .name("wayfarer-chromium-reaper".into())
                .spawn(move || {
                    let mut status = 0;
                    // SAFETY: waits for our own child; no memory is shared.
                    unsafe { libc::waitpid(pid, &mut status, 0) };
                });
        }
        self.remove_profile();
    }
}

/// Parses `DevToolsActivePort` (line 1: port, line 2: browser ws path).
fn read_port_file(path: &Path) -> Option<String> {
    let content = std::fs::read_to_string(path).ok()?;
    let mut lines = content.lines();
    let port: u16 = lines.next()?.trim().parse().ok()?;
    // Chromium writes the file non-atomically; wait until the path is there.
    let ws_path = lines.next()?.trim();
    if ws_path.is_empty() {
        return None;
    }
    Some(format!("ws://127.0.0.1:{port}{ws_path}"))
}
