//! End to end through real HTTP and real Chromium on fixture pages served on 127.0.0.1.

mod common;

use common::{Options, TestServer, fixtures, foreign_lookups, run};
use serde_json::json;
use std::time::Duration;

#[test]
fn run_task_clicking_a_button_changes_the_page_and_the_result_says_so() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .run_task("Click the 'Press me' button", &format!("{site}/"))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let body = &answer.body;
        assert_eq!(body["success"], true);
        assert_eq!(body["status"], "completed");
        assert_eq!(body["pending"], false);
        assert_eq!(body["type"], "task_completed");
        let message = body["data"]["message"].as_str().unwrap();
        assert!(message.contains("Button pressed"), "{message}");
        assert!(
            !message.contains("Welcome"),
            "the heading must have changed: {message}"
        );
        assert_eq!(body["result"]["type"], "task_completed");
        assert_eq!(body["result"]["data"], body["data"]);
        assert_eq!(body["data"]["files"], json!([]));
        assert_eq!(
            body["data"]["network"][0]["urls"][0]["url"],
            format!("{site}/")
        );
        for key in [
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "completion_time",
            "cost",
            "inputTokens",
            "outputTokens",
            "steps",
        ] {
            assert!(
                body["usage"].get(key).is_some(),
                "usage.{key} missing: {}",
                body["usage"]
            );
        }
        assert!(body["pollUrl"].as_str().unwrap().starts_with(&s.url));
        // One-shot run-task terminates its session.
        let sid = body["sessionId"].as_str().unwrap();
        let again = s
            .send(sid, json!({"actionType": "newTask", "taskDetails": "hi"}))
            .await;
        again.error(404, "SESSION_NOT_FOUND");
        // The task stays readable.
        let polled = s
            .get(
                &format!("/task/{sid}/{}", body["taskId"].as_str().unwrap()),
                Some(&s.key),
            )
            .await;
        assert_eq!(polled.body["status"], "completed");
    });
}

#[test]
fn typing_into_a_field_and_following_a_link() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"taskDetails": "Type 'ada@example.com' into the Email field", "startingPoint": format!("{site}/")}),
            )
            .await;
        let message = answer.body["data"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains("Echo: ada@example.com"), "{}", answer.body);
        let answer = s
            .run_task("click the 'Next page' link", &format!("{site}/"))
            .await;
        assert!(
            answer.body["data"]["message"]
                .as_str()
                .unwrap()
                .contains("Second page"),
            "{}",
            answer.body
        );
    });
}

#[test]
fn the_offline_planner_selects_checks_hovers_and_works_with_tabs() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let start = format!("{site}/order");
        let message = completed_message(&s, "Select 'Large' from the 'Size' dropdown, check 'I agree' and hover over the 'Products' button", &start).await;
        for expected in ["Size: large", "Agreed", "Menu open"] {
            assert!(message.contains(expected), "{expected} missing: {message}");
        }
        // A link that opens a tab: the task continues there.
        let message = completed_message(&s, "click the 'Terms in a new tab' link", &start).await;
        assert!(message.contains("opened tab 1"), "{message}");
        assert!(message.contains("Second page"), "{message}");
        let prompt = format!("open a new tab at {site}/next, then switch to tab 0 and close tab 1");
        let message = completed_message(&s, &prompt, &start).await;
        assert!(
            message.contains("Closed tab 1; tab 0 is active"),
            "{message}"
        );
        assert!(message.contains("The page \"Order\""), "{message}");
        // A tab that does not exist is the planner's mistake, reported as such.
        let answer = s.run_task("switch to tab 7", &start).await;
        assert_eq!(answer.body["status"], "failed", "{}", answer.body);
        assert_eq!(answer.body["code"], "PLANNER_ERROR", "{}", answer.body);
        assert_eq!(
            answer.body["details"]["reason"], "no tab 7; open tabs: 0",
            "{}",
            answer.body
        );
    });
}

#[test]
fn the_browser_asks_for_no_host_beyond_the_tasks_own() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        // A page with a form (Chromium's autofill would query Google about it), a typed field,
        // a submission and the next page.
        let message = completed_message(
            &s,
            "Type 'green tea' into the Search field and press Enter",
            &format!("{site}/search"),
        )
        .await;
        assert!(message.contains("Results for green tea"), "{message}");
        // Give background requests the browser might make a moment to show up.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert_eq!(
            foreign_lookups(),
            Vec::<String>::new(),
            "the browser tried to reach other hosts"
        );
    });
}

/// Runs `prompt` from `start` as a run-task, asserts it completed and returns its message.
async fn completed_message(s: &TestServer, prompt: &str, start: &str) -> String {
    let answer = s.run_task(prompt, start).await;
    assert_eq!(answer.body["status"], "completed", "{}", answer.body);
    answer.body["data"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn start_session_then_new_task_then_poll_completes() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let started = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        assert_eq!(started.status, 200, "{}", started.body);
        let b = &started.body;
        assert_eq!(b["success"], true);
        assert_eq!(b["expiresIn"], 300000);
        assert_eq!(b["balance"], json!(null));
        assert_eq!(b["socketURL"], json!(s.url));
        assert_eq!(
            b["streaming"]["dimensions"],
            json!({"width": 1024, "height": 600})
        );
        assert_eq!(b["message"], "Connect to instance using sessionId in auth");
        assert!(b.get("taskId").is_none());
        let sid = b["sessionId"].as_str().unwrap().to_string();
        assert_eq!(sid.len(), 24);

        let task = s
            .send(&sid, json!({"actionType": "newTask", "newState": "start", "taskDetails": "Click the 'Press me' button", "startingPoint": format!("{site}/")}))
            .await;
        assert_eq!(task.status, 200, "{}", task.body);
        let tid = task.body["taskId"].as_str().unwrap().to_string();
        let done = s.poll(&sid, &tid).await;
        assert_eq!(done["status"], "completed");
        assert!(
            done["data"]["message"]
                .as_str()
                .unwrap()
                .contains("Button pressed")
        );
        // The session stays usable after the task (terminateOnCompletion defaults to false).
        let next = s
            .send(
                &sid,
                json!({"actionType": "newTask", "taskDetails": "What does the page say?"}),
            )
            .await;
        assert_eq!(next.body["status"], "completed", "{}", next.body);
        assert!(
            next.body["data"]["message"]
                .as_str()
                .unwrap()
                .contains("Button pressed"),
            "same page kept"
        );

        let detail = s.get(&format!("/v1/sessions/{sid}"), Some(&s.key)).await;
        assert_eq!(detail.status, 200);
        let kinds: Vec<&str> = detail.body["session"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        for kind in ["task_started", "navigation", "action", "task_completed"] {
            assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
        }
        let seqs: Vec<i64> = detail.body["session"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "seq must increase: {seqs:?}"
        );
    });
}

#[test]
fn start_session_with_a_task_answers_pending_with_its_task_id() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let started = s
            .post("/start/start-session", Some(&s.key), json!({"task": {"prompt": "Describe the page", "startingUrl": format!("{site}/slow")}}))
            .await;
        let b = &started.body;
        assert_eq!(b["status"], "active", "{b}");
        assert_eq!(b["pending"], true);
        assert_eq!(b["initialPrompt"], "Describe the page");
        let done = s
            .poll(
                b["sessionId"].as_str().unwrap(),
                b["taskId"].as_str().unwrap(),
            )
            .await;
        assert!(
            done["data"]["message"]
                .as_str()
                .unwrap()
                .contains("Slow page")
        );
    });
}

#[test]
fn wait_zero_answers_pending_then_the_task_completes() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .post(
                "/start/run-task?wait=0",
                Some(&s.key),
                json!({"prompt": "Describe the page", "startingUrl": format!("{site}/slow")}),
            )
            .await;
        assert_eq!(answer.status, 200);
        let b = &answer.body;
        assert_eq!(b["status"], "pending", "{b}");
        assert_eq!(b["pending"], true);
        assert_eq!(
            b["message"],
            "Task still running. Poll GET /task/:sessionId/:taskId for result."
        );
        let sid = b["sessionId"].as_str().unwrap();
        let tid = b["taskId"].as_str().unwrap();
        assert_eq!(b["pollUrl"], json!(format!("{}/task/{sid}/{tid}", s.url)));
        let running = s.get(&format!("/task/{sid}/{tid}"), Some(&s.key)).await;
        assert_eq!(
            running.body["status"], "active",
            "polls show active while working"
        );
        let done = s.poll(sid, tid).await;
        assert_eq!(done["status"], "completed");
    });
}

#[test]
fn inline_window_closes_into_pending() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options {
            inline_window: Some(Duration::from_millis(300)),
            ..Default::default()
        })
        .await;
        let answer = s
            .run_task("Describe the page", &format!("{site}/slow"))
            .await;
        assert_eq!(answer.body["status"], "pending", "{}", answer.body);
        // ?wait beyond the configured window is refused.
        let too_long = s
            .post(
                "/start/run-task?wait=1",
                Some(&s.key),
                json!({"prompt": "x"}),
            )
            .await;
        assert_eq!(
            too_long.error(400, "INVALID_PARAMETER")["details"]["max"],
            0
        );
    });
}

#[test]
fn stop_ends_the_running_task_as_task_stopped_and_keeps_the_session() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let started = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        let task = s
            .post("/start/send-message?wait=0", Some(&s.key), json!({"sessionId": sid, "message": {"actionType": "newTask", "taskDetails": "Describe it", "startingUrl": format!("{site}/hang")}}))
            .await;
        let tid = task.body["taskId"].as_str().unwrap().to_string();
        let busy = s
            .send(
                &sid,
                json!({"actionType": "newTask", "taskDetails": "another"}),
            )
            .await;
        busy.error(409, "TASK_ALREADY_RUNNING");
        assert_eq!(
            busy.body["error"],
            "A task is already running in this session"
        );
        let stopped = s
            .send(&sid, json!({"actionType": "state", "newState": "stop"}))
            .await;
        assert_eq!(stopped.status, 200, "{}", stopped.body);
        assert_eq!(stopped.body["state"], "active");
        let done = s.poll(&sid, &tid).await;
        assert_eq!(done["status"], "failed");
        assert_eq!(done["success"], false);
        assert_eq!(done["type"], "task_failed");
        assert_eq!(done["code"], "TASK_STOPPED");
        // Session kept: a new task runs.
        let next = s.send(&sid, json!({"actionType": "newTask", "taskDetails": "Describe it", "startingUrl": format!("{site}/next")})).await;
        assert_eq!(next.body["status"], "completed", "{}", next.body);
        // Stop with no task running is an invalid state.
        let idle = s
            .send(&sid, json!({"actionType": "state", "newState": "stop"}))
            .await;
        idle.error(409, "INVALID_STATE");
    });
}

#[test]
fn pause_and_resume_follow_the_state_table() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let started = s
            .post("/start/start-session", Some(&s.key), json!({"initialTask": {"taskDetails": "Describe", "startingPoint": format!("{site}/slow")}}))
            .await;
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        let tid = started.body["taskId"].as_str().unwrap().to_string();
        let paused = s
            .send(&sid, json!({"actionType": "state", "newState": "pause"}))
            .await;
        assert_eq!(paused.body["state"], "paused", "{}", paused.body);
        let poll = s.get(&format!("/task/{sid}/{tid}"), Some(&s.key)).await;
        assert_eq!(poll.body["status"], "paused");
        assert_eq!(poll.body["pending"], true);
        s.send(&sid, json!({"actionType": "state", "newState": "pause"}))
            .await
            .error(409, "INVALID_STATE");
        s.send(&sid, json!({"actionType": "newTask", "taskDetails": "x"}))
            .await
            .error(409, "TASK_ALREADY_RUNNING");
        s.send(
            &sid,
            json!({"actionType": "interaction", "action": {"type": "CLICK", "x": 1, "y": 1}}),
        )
        .await
        .error(409, "INVALID_STATE");
        // While paused the task does not finish, even after its page has loaded.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let still = s.get(&format!("/task/{sid}/{tid}"), Some(&s.key)).await;
        assert_eq!(still.body["status"], "paused", "{}", still.body);
        let resumed = s
            .send(&sid, json!({"actionType": "state", "newState": "resume"}))
            .await;
        assert_eq!(resumed.body["state"], "active");
        let done = s.poll(&sid, &tid).await;
        assert_eq!(done["status"], "completed", "{done}");
        s.send(&sid, json!({"actionType": "state", "newState": "resume"}))
            .await
            .error(409, "INVALID_STATE");
    });
}

#[test]
fn terminate_makes_later_calls_404_and_is_idempotent() {
    run(async {
        let s = TestServer::start(Options::default()).await;
        let started = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        let first = s
            .send(
                &sid,
                json!({"actionType": "state", "newState": "terminate"}),
            )
            .await;
        assert_eq!(first.status, 200);
        assert_eq!(first.body["state"], "terminated");
        let second = s
            .send(
                &sid,
                json!({"actionType": "state", "newState": "terminate"}),
            )
            .await;
        assert_eq!(second.status, 200, "{}", second.body);
        let after = s
            .send(&sid, json!({"actionType": "newTask", "taskDetails": "x"}))
            .await;
        let body = after.error(404, "SESSION_NOT_FOUND");
        assert_eq!(
            body["error"],
            json!(format!("Session {sid} does not exist or has expired"))
        );
        s.send(&sid, json!({"actionType": "state", "newState": "pause"}))
            .await
            .error(404, "SESSION_NOT_FOUND");
    });
}

#[test]
fn terminate_ends_a_running_task_as_session_terminated() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let started = s
            .post(
                "/start/start-session",
                Some(&s.key),
                json!({"prompt": "Describe", "startingUrl": format!("{site}/hang")}),
            )
            .await;
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        let tid = started.body["taskId"].as_str().unwrap().to_string();
        s.send(
            &sid,
            json!({"actionType": "state", "newState": "terminate"}),
        )
        .await;
        let task = s.get(&format!("/task/{sid}/{tid}"), Some(&s.key)).await;
        assert_eq!(task.body["code"], "SESSION_TERMINATED", "{}", task.body);
    });
}

#[test]
fn idle_sessions_expire_with_410_then_terminate_is_still_200() {
    run(async {
        let s = TestServer::start(Options {
            session_timeout: Some(Duration::from_millis(800)),
            ..Default::default()
        })
        .await;
        let started = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        assert_eq!(started.body["expiresIn"], 800);
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        // Activity resets the timer.
        tokio::time::sleep(Duration::from_millis(500)).await;
        s.send(
            &sid,
            json!({"actionType": "interaction", "action": {"type": "KEY", "key": "a"}}),
        )
        .await
        .error(409, "INVALID_STATE");
        tokio::time::sleep(Duration::from_millis(500)).await;
        s.send(
            &sid,
            json!({"actionType": "interaction", "action": {"type": "KEY", "key": "a"}}),
        )
        .await
        .error(409, "INVALID_STATE");
        // Then silence: expired within a generous cap.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let a = s.get(&format!("/v1/sessions/{sid}"), Some(&s.key)).await;
            if a.body["session"]["state"] == "expired" {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "never expired");
        }
        let late = s
            .send(&sid, json!({"actionType": "newTask", "taskDetails": "x"}))
            .await;
        let body = late.error(410, "SESSION_EXPIRED");
        assert_eq!(
            body["error"],
            "Session expired after 0.8 seconds of inactivity"
        );
        let bye = s
            .send(
                &sid,
                json!({"actionType": "state", "newState": "terminate"}),
            )
            .await;
        assert_eq!(bye.status, 200);
    });
}

#[test]
fn a_paused_task_fails_with_session_expired_when_its_session_expires() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options {
            session_timeout: Some(Duration::from_secs(1)),
            ..Default::default()
        })
        .await;
        let started = s
            .post(
                "/start/start-session",
                Some(&s.key),
                json!({"prompt": "Describe", "startingUrl": format!("{site}/slow")}),
            )
            .await;
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        let tid = started.body["taskId"].as_str().unwrap().to_string();
        s.send(&sid, json!({"actionType": "state", "newState": "pause"}))
            .await;
        tokio::time::sleep(Duration::from_millis(3000)).await;
        let task = s.poll(&sid, &tid).await;
        assert_eq!(task["code"], "SESSION_EXPIRED", "{task}");
    });
}

#[test]
fn navigation_timeout_reports_url_and_timeout() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options {
            navigation_timeout: Some(Duration::from_millis(1500)),
            ..Default::default()
        })
        .await;
        let url = format!("{site}/hang");
        let answer = s.run_task("Describe", &url).await;
        assert_eq!(answer.status, 200);
        let b = &answer.body;
        assert_eq!(b["status"], "failed");
        assert_eq!(b["code"], "NAVIGATION_TIMEOUT", "{b}");
        assert_eq!(b["error"], "Navigation timeout after 1.5 seconds");
        assert_eq!(b["details"], json!({"url": url, "timeout": 1500}));
    });
}

#[test]
fn a_navigation_that_outlives_max_duration_is_a_navigation_timeout_capped_by_the_task() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let url = format!("{site}/hang");
        let answer = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Describe", "startingUrl": url, "maxDuration": 1000}),
            )
            .await;
        assert_eq!(answer.body["code"], "NAVIGATION_TIMEOUT", "{}", answer.body);
        assert!(answer.body["details"]["timeout"].as_u64().unwrap() <= 1000);
    });
}

#[test]
fn task_timeout_when_max_duration_runs_out() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Wait for 'Words that never appear'", "startingUrl": format!("{site}/"), "maxDuration": 3000}),
            )
            .await;
        let b = &answer.body;
        assert_eq!(b["code"], "TASK_TIMEOUT", "{b}");
        assert_eq!(b["error"], "Task exceeded maximum duration of 3000ms");
        assert!(b["usage"]["inputTokens"].is_number());
    });
}

#[test]
fn element_not_found_says_what_was_looked_for() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .run_task("Click the 'Does not exist' button", &format!("{site}/"))
            .await;
        let b = &answer.body;
        assert_eq!(b["code"], "ELEMENT_NOT_FOUND", "{b}");
        assert_eq!(b["error"], "Could not locate element matching criteria");
        assert_eq!(b["details"]["name"], "Does not exist");
    });
}

#[test]
fn an_element_that_appears_late_is_still_found() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .run_task("Click the 'Appear' button", &format!("{site}/late"))
            .await;
        assert!(
            answer.body["data"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("Appeared and clicked"),
            "{}",
            answer.body
        );
    });
}

#[test]
fn structured_csv_output_has_a_header_row() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Report the page", "startingUrl": format!("{site}/"), "outputType": "structured_csv", "outputSchema": ["title", "heading"]}),
            )
            .await;
        assert_eq!(
            answer.body["data"]["message"], "title,heading\nFixture home,Welcome\n",
            "{}",
            answer.body
        );
        let json_answer = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Report the page", "startingUrl": format!("{site}/"), "outputType": "structured_json",
                       "outputSchema": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}),
            )
            .await;
        assert_eq!(
            json_answer.body["data"]["output"],
            json!({"title": "Fixture home"}),
            "{}",
            json_answer.body
        );
        let unfillable = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Report", "outputType": "structured_json",
                       "outputSchema": {"type": "object", "properties": {"price": {"type": "number"}}, "required": ["price"]}}),
            )
            .await;
        assert_eq!(
            unfillable.body["code"], "OUTPUT_VALIDATION_FAILED",
            "{}",
            unfillable.body
        );
    });
}

#[test]
fn other_accounts_sessions_and_tasks_do_not_exist() {
    run(async {
        let s = TestServer::start(Options::default()).await;
        let other = s.account("mallory", None, 5, 0).await;
        let done = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Describe"}),
            )
            .await;
        let sid = done.body["sessionId"].as_str().unwrap();
        let tid = done.body["taskId"].as_str().unwrap();
        s.get(&format!("/task/{sid}/{tid}"), Some(&other))
            .await
            .error(404, "SESSION_NOT_FOUND");
        let started = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        let live = started.body["sessionId"].as_str().unwrap();
        s.post(
            "/start/send-message",
            Some(&other),
            json!({"sessionId": live, "message": {"actionType": "state", "newState": "terminate"}}),
        )
        .await
        .error(404, "SESSION_NOT_FOUND");
        s.get(&format!("/v1/sessions/{live}"), Some(&other))
            .await
            .error(404, "SESSION_NOT_FOUND");
        let unknown_task = s
            .get(&format!("/task/{sid}/nosuchtask"), Some(&s.key))
            .await;
        assert_eq!(
            unknown_task.error(404, "TASK_NOT_FOUND")["error"],
            json!(format!("Task nosuchtask not found in session {sid}"))
        );
    });
}

#[test]
fn balance_is_reserved_worst_case_and_refused_with_402() {
    run(async {
        let s = TestServer::start(Options {
            price_per_minute: Some(1.0),
            ..Default::default()
        })
        .await;
        let poor = s.account("poor", Some(0.5), 5, 0).await;
        let refused = s
            .post(
                "/start/run-task",
                Some(&poor),
                json!({"prompt": "Describe", "maxDuration": 120000}),
            )
            .await;
        let body = refused.error(402, "INSUFFICIENT_BALANCE");
        assert_eq!(
            body["error"],
            "Insufficient account balance ($0.50 remaining, $2.00 required)"
        );
        assert_eq!(body["details"], json!({"balance": 0.5, "required": 2.0}));
        // Exactly enough is enough: 30 s at $1/min = $0.50; the real cost is settled afterwards.
        let ok = s
            .post(
                "/start/run-task",
                Some(&poor),
                json!({"prompt": "Describe", "maxDuration": 30000}),
            )
            .await;
        assert_eq!(ok.body["status"], "completed", "{}", ok.body);
        let cost = ok.body["usage"]["cost"].as_f64().unwrap();
        assert!(cost > 0.0 && cost < 0.5, "cost {cost}");
        let account = s.get("/v1/account", Some(&poor)).await;
        let balance = account.body["account"]["balance"].as_f64().unwrap();
        assert!(balance < 0.5 && balance > 0.0, "settled balance {balance}");
    });
}

#[test]
fn session_limit_answers_429_with_current_and_limit() {
    run(async {
        let s = TestServer::start(Options::default()).await;
        let key = s.account("limited", None, 5, 0).await;
        let mut ids = Vec::new();
        for _ in 0..5 {
            let a = s.post("/start/start-session", Some(&key), json!({})).await;
            assert_eq!(a.status, 200, "{}", a.body);
            ids.push(a.body["sessionId"].as_str().unwrap().to_string());
        }
        let sixth = s.post("/start/start-session", Some(&key), json!({})).await;
        let body = sixth.error(429, "SESSION_LIMIT_REACHED");
        assert_eq!(
            body["error"],
            "Maximum concurrent sessions reached (limit: 5)"
        );
        assert_eq!(body["details"], json!({"current": 5, "limit": 5}));
        s.post("/start/run-task", Some(&key), json!({"prompt": "x"}))
            .await
            .error(429, "SESSION_LIMIT_REACHED");
        // Ending one frees a slot.
        s.post("/start/send-message", Some(&key), json!({"sessionId": ids[0], "message": {"actionType": "state", "newState": "terminate"}})).await;
        let again = s.post("/start/start-session", Some(&key), json!({})).await;
        assert_eq!(again.status, 200, "{}", again.body);
    });
}

#[test]
fn capacity_exhausted_answers_503_with_retry_after_and_server_stop_closes_contexts() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let small = wayfarer_browser::BrowserPool::launch(wayfarer_browser::BrowserConfig {
            browsers: 1,
            contexts_per_browser: 1,
            profile_root: dir.path().to_path_buf(),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut s = TestServer::start(Options {
            pool: Some(small.clone()),
            ..Default::default()
        })
        .await;
        let first = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        assert_eq!(first.status, 200, "{}", first.body);
        let second = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        // The operator's account may hold as many sessions as the pool, so this is capacity.
        let body = second.error(429, "SESSION_LIMIT_REACHED");
        assert_eq!(body["details"]["limit"], 1);
        let other = s.account("other", None, 5, 0).await;
        let third = s
            .post("/start/start-session", Some(&other), json!({}))
            .await;
        third.error(503, "INSTANCE_UNAVAILABLE");
        assert_eq!(third.body["error"], "No browser instances available");
        assert!(third.headers.get("retry-after").is_some());
        assert_eq!(small.in_use(), 1);
        s.server.take().unwrap().stop().await;
        assert_eq!(
            small.in_use(),
            0,
            "stopping the server closes every context"
        );
        let pids = small.browser_pids();
        small.shutdown().await;
        for pid in pids {
            assert_ne!(
                unsafe { libc::kill(pid as i32, 0) },
                0,
                "chromium {pid} still alive after shutdown"
            );
        }
    });
}

#[test]
fn max_duration_counts_working_time_only() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let started = s
            .post(
                "/start/start-session",
                Some(&s.key),
                json!({"prompt": "Describe", "startingUrl": format!("{site}/slow"), "maxDuration": 3000}),
            )
            .await;
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        let tid = started.body["taskId"].as_str().unwrap().to_string();
        s.send(&sid, json!({"actionType": "state", "newState": "pause"}))
            .await;
        // Paused for longer than maxDuration: none of it may count.
        tokio::time::sleep(Duration::from_millis(4000)).await;
        s.send(&sid, json!({"actionType": "state", "newState": "resume"}))
            .await;
        let done = s.poll(&sid, &tid).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert!(
            done["usage"]["completion_time"].as_f64().unwrap() < 3.0,
            "{}",
            done["usage"]
        );
    });
}

#[test]
fn a_working_task_holds_the_inactivity_timer() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options {
            session_timeout: Some(Duration::from_millis(600)),
            ..Default::default()
        })
        .await;
        // The page takes 1.5 s to load — longer than the session timeout — and nobody polls.
        let answer = s.run_task("Describe", &format!("{site}/slow")).await;
        assert_eq!(answer.body["status"], "completed", "{}", answer.body);
    });
}

#[test]
fn ended_sessions_are_forgotten_after_retention() {
    run(async {
        let s = TestServer::start(Options {
            retention: Some(Duration::from_millis(800)),
            ..Default::default()
        })
        .await;
        let done = s
            .post(
                "/start/run-task",
                Some(&s.key),
                json!({"prompt": "Describe"}),
            )
            .await;
        let sid = done.body["sessionId"].as_str().unwrap().to_string();
        let tid = done.body["taskId"].as_str().unwrap().to_string();
        assert_eq!(
            s.get(&format!("/task/{sid}/{tid}"), Some(&s.key))
                .await
                .status,
            200
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let a = s.get(&format!("/task/{sid}/{tid}"), Some(&s.key)).await;
            if a.status == 404 {
                a.error(404, "SESSION_NOT_FOUND");
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "never purged");
        }
        s.send(
            &sid,
            json!({"actionType": "state", "newState": "terminate"}),
        )
        .await
        .error(404, "SESSION_NOT_FOUND");
    });
}

#[test]
fn search_by_pressing_enter_then_going_back() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .run_task(
                "Type 'green tea' into the Search field, press Enter and wait for 'Results for'",
                &format!("{site}/search"),
            )
            .await;
        let message = answer.body["data"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("Results for green tea"), "{}", answer.body);
        let urls: Vec<&str> = answer.body["data"]["network"][0]["urls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["url"].as_str().unwrap())
            .collect();
        assert!(
            urls.iter().any(|u| u.contains("/results?q=green+tea")),
            "network log has the search: {urls:?}"
        );
        let back = s
            .run_task(
                "Click the 'Next page' link, then go back",
                &format!("{site}/search"),
            )
            .await;
        assert!(
            back.body["data"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("heading \"Search\""),
            "{}",
            back.body
        );
    });
}

/// The offline planner, except that a task saying "crash the renderer" first sends the page
/// to `chrome://crash` (no real planner would; it makes the renderer die on cue).
struct CrashingPlanner;

#[async_trait::async_trait]
impl wayfarer_agent::Planner for CrashingPlanner {
    async fn next_step(
        &self,
        input: wayfarer_agent::PlannerInput<'_>,
    ) -> (wayfarer_agent::PlannerStep, wayfarer_agent::PlannerUsage) {
        if input.task.contains("crash the renderer") && input.history.is_empty() {
            let action = wayfarer_agent::Action::Navigate {
                url: "chrome://crash".into(),
            };
            return (
                wayfarer_agent::PlannerStep::Act {
                    action,
                    reasoning: "crash".into(),
                },
                Default::default(),
            );
        }
        wayfarer_agent::OfflinePlanner.next_step(input).await
    }
}

#[test]
fn a_renderer_crash_fails_the_task_with_page_crash_and_the_session_recovers() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options {
            planner: Some(std::sync::Arc::new(CrashingPlanner)),
            ..Default::default()
        })
        .await;
        let started = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        let task = s
            .send(&sid, json!({"actionType": "newTask", "taskDetails": "crash the renderer", "startingUrl": format!("{site}/")}))
            .await;
        let tid = task.body["taskId"].as_str().unwrap().to_string();
        let done = s.poll(&sid, &tid).await;
        assert_eq!(done["code"], "PAGE_CRASH", "{done}");
        assert_eq!(done["error"], "Browser page crashed during execution");
        // Same session, fresh page: the next task works.
        let next = s
            .send(&sid, json!({"actionType": "newTask", "taskDetails": "Click the 'Press me' button", "startingUrl": format!("{site}/")}))
            .await;
        assert_eq!(next.body["status"], "completed", "{}", next.body);
        assert!(
            next.body["data"]["message"]
                .as_str()
                .unwrap()
                .contains("Button pressed")
        );
    });
}

#[test]
fn a_dead_browser_fails_its_tasks_with_page_crash_and_its_sessions() {
    run(async {
        let site = fixtures().await;
        let dir = tempfile::tempdir().unwrap();
        let pool = wayfarer_browser::BrowserPool::launch(wayfarer_browser::BrowserConfig {
            contexts_per_browser: 4,
            profile_root: dir.path().to_path_buf(),
            prewarm: 0,
            ..Default::default()
        })
        .await
        .unwrap();
        let s = TestServer::start(Options {
            pool: Some(pool.clone()),
            ..Default::default()
        })
        .await;
        let started = s
            .post(
                "/start/start-session",
                Some(&s.key),
                json!({"prompt": "Describe", "startingUrl": format!("{site}/hang")}),
            )
            .await;
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        let tid = started.body["taskId"].as_str().unwrap().to_string();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pid = pool.browser_pids()[0] as i32;
        unsafe { libc::killpg(pid, libc::SIGKILL) };
        let done = s.poll(&sid, &tid).await;
        assert_eq!(done["code"], "PAGE_CRASH", "{done}");
        let gone = s
            .send(&sid, json!({"actionType": "newTask", "taskDetails": "x"}))
            .await;
        assert_eq!(
            gone.error(404, "SESSION_NOT_FOUND")["details"]["reason"],
            "browser_lost"
        );
        // The pool replaced the browser: new sessions work.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !pool.is_ready() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "browser never replaced"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let again = s.run_task("Describe", &format!("{site}/next")).await;
        assert_eq!(again.body["status"], "completed", "{}", again.body);
        drop(s);
        pool.shutdown().await;
    });
}

#[test]
fn downloads_become_files_served_to_their_owner_only() {
    run(async {
        let site = fixtures().await;
        let s = TestServer::start(Options::default()).await;
        let answer = s
            .run_task(
                "Click the 'Download report' link",
                &format!("{site}/downloads"),
            )
            .await;
        assert_eq!(answer.body["status"], "completed", "{}", answer.body);
        let files = answer.body["data"]["files"].as_array().unwrap().clone();
        assert_eq!(files.len(), 1, "{}", answer.body);
        assert_eq!(files[0]["filename"], "report.csv");
        assert_eq!(files[0]["source"], format!("{site}/report.csv"));
        assert!(files[0]["timestamp"].is_number());
        let url = files[0]["downloadUrl"].as_str().unwrap().to_string();
        assert!(url.starts_with(&s.url), "{url}");
        let response = s.client.get(&url).bearer_auth(&s.key).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("report.csv")
        );
        assert_eq!(response.text().await.unwrap(), "month,total\njan,42\n");
        let path = url.trim_start_matches(&s.url).to_string();
        let other = s.account("eve", None, 5, 0).await;
        s.get(&path, Some(&other))
            .await
            .error(404, "FILE_NOT_FOUND");
        s.get(&path, None).await.error(401, "UNAUTHORIZED");
        s.get("/files/file_nope/download", Some(&s.key))
            .await
            .error(404, "FILE_NOT_FOUND");
    });
}
