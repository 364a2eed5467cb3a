//! Runs one task's agent loop in the background and records everything it does.

use crate::engine::Shared;
use crate::live::{LiveSession, LiveTask};
use crate::views::TaskOutcome;
use crate::{events, now_ms};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::{mpsc, watch};
use wayfarer_agent::{Control, RunEvent, RunSettings, run_task};
use wayfarer_core::{SessionState, TaskSpec, TaskStatus, Usage};
use wayfarer_store::TaskRecord;

/// Starts the agent loop for `task` in `session`.
pub(crate) fn spawn(
    shared: Arc<Shared>,
    session: Arc<LiveSession>,
    task: Arc<LiveTask>,
    spec: TaskSpec,
    record: TaskRecord,
    control: watch::Receiver<Control>,
    terminate_on_completion: bool,
) {
    tokio::spawn(async move {
        run(
            shared,
            session,
            task,
            spec,
            record,
            control,
            terminate_on_completion,
        )
        .await;
    });
}

async fn run(
    shared: Arc<Shared>,
    session: Arc<LiveSession>,
    task: Arc<LiveTask>,
    spec: TaskSpec,
    mut record: TaskRecord,
    control: watch::Receiver<Control>,
    terminate_on_completion: bool,
) {
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let settings = RunSettings {
        navigation_timeout: shared.config.navigation_timeout,
        ..RunSettings::default()
    };
    let prices = shared.config.prices;
    let with_cost = |mut usage: Usage| {
        usage.cost = prices.cost(
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.working_ms,
        );
        usage
    };
    // Every request the page makes during the task, for `data.network`.
    // A page that crashed while the session was idle is replaced before work starts.
    session.recover_if_crashed().await;
    let context = session.context();
    let recorder = match context.record_network().await {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::debug!(session_id = %session.id, error = %e, "network log unavailable");
            None
        }
    };
    let agent = run_task(
        &context,
        &spec,
        &*shared.planner,
        control,
        events_tx,
        settings,
    );
    let consume = async {
        while let Some(event) = events_rx.recv().await {
            match event {
                RunEvent::Status(status) => {
                    task.view.send_modify(|v| v.status = status);
                    let state = if status == TaskStatus::Paused {
                        "paused"
                    } else {
                        "active"
                    };
                    events::record(
                        &*shared.store,
                        &session,
                        Some(&task.id),
                        "state",
                        json!({ "state": state }),
                    )
                    .await;
                }
                RunEvent::Usage(usage) => task.view.send_modify(|v| v.usage = with_cost(usage)),
                RunEvent::Agent(content) => {
                    events::record(
                        &*shared.store,
                        &session,
                        Some(&task.id),
                        "agent",
                        json!({ "content": content }),
                    )
                    .await;
                }
                RunEvent::Action { name, target, args } => {
                    let data = json!({ "name": name, "target": target, "args": args });
                    events::record(
                        &*shared.store,
                        &session,
                        Some(&task.id),
                        "action",
                        json!({ "data": data }),
                    )
                    .await;
                }
                RunEvent::Navigation(url) => {
                    events::record(
                        &*shared.store,
                        &session,
                        Some(&task.id),
                        "navigation",
                        json!({ "url": url }),
                    )
                    .await;
                }
            }
        }
    };
    let started = Instant::now();
    let ((result, usage), ()) = tokio::join!(agent, consume);
    let usage = with_cost(usage);
    if matches!(
        result,
        Err(wayfarer_core::Error::TaskStopped
            | wayfarer_core::Error::TaskTimeout { .. }
            | wayfarer_core::Error::NavigationTimeout { .. })
    ) {
        // The work was cut off, possibly mid-navigation: leave the page idle.
        context.stop_loading().await;
    }
    if matches!(result, Err(wayfarer_core::Error::PageCrash)) {
        // The session lives on with a fresh page in the same browser context.
        session.recover_if_crashed().await;
    }
    let requests: Vec<serde_json::Value> = recorder
        .map(|r| r.finish())
        .unwrap_or_default()
        .into_iter()
        .map(|e| json!({ "url": e.url, "timestamp": e.timestamp }))
        .collect();
    session
        .working_ms
        .fetch_add(usage.working_ms, Ordering::Relaxed);

    let files = keep_downloads(&shared, &session, &task.id, &context).await;
    let (status, outcome) = match &result {
        Ok(answer) => {
            let mut data = json!({
                "message": answer.message,
                "files": files,
                "network": [{ "id": format!("{}-0", task.id), "taskId": task.id, "urls": requests }],
            });
            if let Some(output) = &answer.output {
                data["output"] = output.clone();
            }
            (TaskStatus::Completed, TaskOutcome::Completed { data })
        }
        Err(e) => (TaskStatus::Failed, TaskOutcome::failed(e)),
    };
    if let Err(e) = shared
        .store
        .settle(&record.account_id, record.reserved, usage.cost)
        .await
    {
        tracing::error!(session_id = %session.id, task_id = %task.id, error = %e, "settlement failed");
    }
    let now = now_ms();
    record.status = status;
    record.outcome = Some(outcome.to_stored());
    record.usage = usage;
    record.updated_at = now;
    record.ended_at = Some(now);
    if let Err(e) = shared.store.upsert_task(&record).await {
        tracing::error!(session_id = %session.id, task_id = %task.id, error = %e, "could not store task result");
    }
    match &result {
        Ok(_) => {
            events::record(
                &*shared.store,
                &session,
                Some(&task.id),
                "task_completed",
                json!({ "usage": usage.to_wire() }),
            )
            .await;
        }
        Err(e) => {
            events::record(
                &*shared.store,
                &session,
                Some(&task.id),
                "task_failed",
                json!({ "code": e.code().as_str(), "error": e.message() }),
            )
            .await;
        }
    }
    task.view.send_modify(|v| {
        v.status = status;
        v.usage = usage;
        v.outcome = Some(outcome.clone());
    });
    {
        let mut inner = session.inner();
        if inner.task.as_ref().is_some_and(|t| t.id == task.id) {
            inner.task = None;
        }
        if inner.state == SessionState::Paused {
            inner.state = SessionState::Active;
        }
        // The inactivity clock was held while the task worked; it starts again now.
        inner.last_activity = Instant::now();
    }
    tracing::info!(
        session_id = %session.id,
        task_id = %task.id,
        status = status.as_str(),
        code = result.as_ref().err().map(|e| e.code().as_str()),
        elapsed_ms = started.elapsed().as_millis() as u64,
        steps = usage.steps,
        "task ended"
    );
    if session.context().is_lost() {
        shared
            .end_session(&session, SessionState::Failed, "browser_lost")
            .await;
    } else if terminate_on_completion {
        shared
            .end_session(&session, SessionState::Terminated, "task_completed")
            .await;
    }
}

/// Moves the files the task downloaded into the data dir, records them, and returns their
/// `data.files` entries. Downloads still running get a moment to finish.
async fn keep_downloads(
    shared: &Shared,
    session: &LiveSession,
    task_id: &wayfarer_core::TaskId,
    context: &wayfarer_browser::BrowserContext,
) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        if context.downloads_in_progress() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut files = Vec::new();
    for download in context.take_downloads() {
        let id = format!("file_{}", wayfarer_core::TaskId::generate());
        let dest = shared.config.files_dir.join(&id);
        let moved = match std::fs::create_dir_all(&shared.config.files_dir) {
            Ok(()) => std::fs::rename(&download.path, &dest)
                .or_else(|_| std::fs::copy(&download.path, &dest).map(|_| ())),
            Err(e) => Err(e),
        };
        if let Err(e) = moved {
            tracing::error!(session_id = %session.id, task_id = %task_id, error = %e, "could not keep a download");
            continue;
        }
        let record = wayfarer_store::FileRecord {
            id: id.clone(),
            account_id: session.account_id.clone(),
            session_id: Some(session.id.clone()),
            task_id: Some(task_id.clone()),
            source: download.source.clone(),
            filename: download.filename.clone(),
            path: dest.display().to_string(),
            size: download.size as i64,
            created_at: download.timestamp,
        };
        if let Err(e) = shared.store.insert_file(&record).await {
            tracing::error!(session_id = %session.id, task_id = %task_id, error = %e, "could not record a download");
            continue;
        }
        files.push(json!({
            "fileId": id,
            "source": download.source,
            "downloadUrl": format!("{}/files/{id}/download", shared.config.public_url),
            "filename": download.filename,
            "size": download.size,
            "timestamp": download.timestamp,
        }));
    }
    files
}
