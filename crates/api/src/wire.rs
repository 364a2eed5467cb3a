//! Answer shapes of spec §3–§4.

use serde_json::{Value, json};
use wayfarer_core::TaskStatus;
use wayfarer_engine::{SessionStarted, SessionView, TaskOutcome, TaskView};

/// Absolute poll URL of a task.
pub(crate) fn poll_url(public_url: &str, view: &TaskView) -> String {
    format!("{public_url}/task/{}/{}", view.session_id, view.task_id)
}

/// The bare origin of the public URL (`socketURL`).
pub(crate) fn origin(public_url: &str) -> String {
    match url::Url::parse(public_url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => public_url.to_string(),
    }
}

/// The §4 task answer. `inline_timeout` marks the run-task/newTask answer given when the inline
/// window closed before the task ended (`status: "pending"`).
pub(crate) fn task_answer(public_url: &str, view: &TaskView, inline_timeout: bool) -> Value {
    let mut answer = json!({
        "success": true,
        "sessionId": view.session_id,
        "taskId": view.task_id,
        "pollUrl": poll_url(public_url, view),
        "usage": view.usage.to_wire(),
    });
    match (&view.outcome, view.status) {
        (Some(TaskOutcome::Completed { data }), _) => {
            answer["status"] = json!("completed");
            answer["pending"] = json!(false);
            answer["type"] = json!("task_completed");
            answer["data"] = data.clone();
            answer["result"] = json!({ "type": "task_completed", "data": data });
        }
        (
            Some(TaskOutcome::Failed {
                code,
                error,
                details,
            }),
            _,
        ) => {
            answer["success"] = json!(false);
            answer["status"] = json!("failed");
            answer["pending"] = json!(false);
            answer["type"] = json!("task_failed");
            answer["error"] = json!(error);
            answer["code"] = json!(code);
            if let Some(details) = details {
                answer["details"] = details.clone();
            }
        }
        (None, status) => {
            let shown = if inline_timeout {
                "pending"
            } else {
                status.as_str()
            };
            answer["status"] = json!(shown);
            answer["pending"] = json!(true);
            if inline_timeout {
                answer["message"] =
                    json!("Task still running. Poll GET /task/:sessionId/:taskId for result.");
            }
            if status == TaskStatus::Guardrail {
                answer["pending"] = json!(false);
                answer["type"] = json!("guardrail_trigger");
            }
        }
    }
    answer
}

/// The start-session answer.
pub(crate) fn session_started(
    public_url: &str,
    viewport: (u32, u32),
    started: &SessionStarted,
    task_text: Option<&str>,
) -> Value {
    let mut answer = json!({
        "success": true,
        "sessionId": started.session_id,
        "socketURL": origin(public_url),
        "streaming": {
            "webRTCURL": null,
            "webViewURL": format!("{public_url}/live/{}", started.session_id),
            "dimensions": { "width": viewport.0, "height": viewport.1 },
        },
        "initialPrompt": task_text,
        "expiresIn": started.expires_in_ms,
        "balance": started.balance.map(|b| b.dollars()),
        "message": "Connect to instance using sessionId in auth",
    });
    if let Some(task_id) = &started.task_id {
        answer["taskId"] = json!(task_id);
        answer["pollUrl"] = json!(format!(
            "{public_url}/task/{}/{}",
            started.session_id, task_id
        ));
        answer["status"] = json!("active");
        answer["pending"] = json!(true);
    }
    answer
}

/// A session in `/v1/sessions` listings and detail.
pub(crate) fn session(public_url: &str, view: &SessionView, detail: bool) -> Value {
    let mut out = json!({
        "sessionId": view.session_id,
        "state": view.state.as_str(),
        "createdAt": view.created_at,
        "endedAt": view.ended_at,
        "endReason": view.end_reason,
    });
    if detail {
        out["tasks"] = view
            .tasks
            .iter()
            .map(|t| task_answer(public_url, t, false))
            .collect();
        out["events"] = json!(view.events);
    }
    out
}
