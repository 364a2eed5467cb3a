//! Table-driven wire contract: every request error reachable in this build, with status, code,
//! message and details exactly as spec §6 says, and every range bound of spec §2.

mod common;

use common::{Answer, Options, TestServer, run};
use serde_json::{Value, json};

/// Which credentials a row sends.
#[derive(Clone, Copy)]
enum Auth {
    None,
    Raw(&'static str),
    Operator,
    Expired,
    Revoked,
    Disabled,
}

struct Row {
    name: &'static str,
    method: &'static str,
    path: String,
    auth: Auth,
    body: Body,
    status: u16,
    code: &'static str,
    error: Option<String>,
    details: Option<Value>,
}

enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

fn row(
    name: &'static str,
    method: &'static str,
    path: &str,
    auth: Auth,
    body: Body,
    status: u16,
    code: &'static str,
) -> Row {
    Row {
        name,
        method,
        path: path.into(),
        auth,
        body,
        status,
        code,
        error: None,
        details: None,
    }
}

impl Row {
    fn error(mut self, e: &str) -> Row {
        self.error = Some(e.into());
        self
    }
    fn details(mut self, d: Value) -> Row {
        self.details = Some(d);
        self
    }
}

struct Keys {
    operator: String,
    expired: String,
    revoked: String,
    disabled: String,
}

async fn send(s: &TestServer, keys: &Keys, r: &Row) -> Answer {
    let url = format!("{}{}", s.url, r.path);
    let mut req = s.client.request(r.method.parse().unwrap(), &url);
    req = match r.auth {
        Auth::None => req,
        Auth::Raw(h) => req.header("authorization", h),
        Auth::Operator => req.bearer_auth(&keys.operator),
        Auth::Expired => req.bearer_auth(&keys.expired),
        Auth::Revoked => req.bearer_auth(&keys.revoked),
        Auth::Disabled => req.bearer_auth(&keys.disabled),
    };
    req = match &r.body {
        Body::None => req,
        Body::Json(v) => req.json(v),
        Body::Raw(ct, bytes) => req.header("content-type", *ct).body(bytes.clone()),
    };
    Answer::from(req.send().await.unwrap()).await
}

async fn setup(s: &TestServer) -> Keys {
    use wayfarer::server::register_key;
    use wayfarer_core::ApiKey;
    let store = &*s.store;
    let now = wayfarer_engine::now_ms();
    let operator = store.account_by_name("default").await.unwrap().unwrap();
    let expired = ApiKey::generate();
    register_key(store, &operator, &expired, Some(now - 1000))
        .await
        .unwrap();
    let revoked = ApiKey::generate();
    register_key(store, &operator, &revoked, None)
        .await
        .unwrap();
    store
        .revoke_key(&revoked.display_prefix(), now)
        .await
        .unwrap();
    let disabled = s.account("gone", None, 5, 10).await;
    store.set_active("gone", false).await.unwrap();
    Keys {
        operator: s.key.clone(),
        expired: expired.reveal().into(),
        revoked: revoked.reveal().into(),
        disabled,
    }
}

const SESSION: &str = "zzzzzzzzzzzzzzzzzzzzzzzz";

fn post(name: &'static str, path: &str, body: Value, status: u16, code: &'static str) -> Row {
    row(
        name,
        "POST",
        path,
        Auth::Operator,
        Body::Json(body),
        status,
        code,
    )
}

#[test]
fn every_reachable_request_error_matches_the_spec() {
    run(async {
        let s = TestServer::start(Options::default()).await;
        let keys = setup(&s).await;
        let huge = vec![b' '; 1024 * 1024 + 10];
        let rows = vec![
            row("no auth header", "POST", "/start/run-task", Auth::None, Body::Json(json!({"prompt": "x"})), 401, "UNAUTHORIZED")
                .error("Authorization header missing"),
            row("malformed auth header", "POST", "/start/run-task", Auth::Raw("Token abc"), Body::Json(json!({})), 401, "UNAUTHORIZED")
                .error("Authorization header must be: Bearer <key>"),
            row("unknown key", "GET", "/v1/account", Auth::Raw("Bearer wf_nope"), Body::None, 401, "INVALID_API_KEY").error("Invalid API key"),
            row("revoked key", "GET", "/v1/account", Auth::Revoked, Body::None, 401, "INVALID_API_KEY").error("Invalid API key"),
            row("expired key", "GET", "/v1/account", Auth::Expired, Body::None, 401, "API_KEY_EXPIRED").error("API key has expired"),
            row("disabled account", "GET", "/v1/account", Auth::Disabled, Body::None, 403, "ACCOUNT_DEACTIVATED").error("Account is deactivated"),
            row("GET /task needs auth", "GET", &format!("/task/{SESSION}/t"), Auth::None, Body::None, 401, "UNAUTHORIZED"),
            row("unknown route", "GET", "/nope", Auth::None, Body::None, 404, "NOT_FOUND").error("No route for GET /nope"),
            row("unknown route POST", "POST", "/start/nope", Auth::Operator, Body::Json(json!({})), 404, "NOT_FOUND")
                .error("No route for POST /start/nope"),
            row("wrong method", "GET", "/start/run-task", Auth::Operator, Body::None, 405, "METHOD_NOT_ALLOWED")
                .error("Method GET not allowed on /start/run-task"),
            row("wrong method on GET route", "DELETE", "/v1/account", Auth::Operator, Body::None, 405, "METHOD_NOT_ALLOWED"),
            row("body too large (before auth)", "POST", "/start/run-task", Auth::None, Body::Raw("application/json", huge), 413, "PAYLOAD_TOO_LARGE")
                .error("Request body exceeds 1048576 bytes")
                .details(json!({"limit": 1048576})),
            row("malformed JSON", "POST", "/start/run-task", Auth::Operator, Body::Raw("application/json", b"{\"prompt\":".to_vec()), 400, "INVALID_REQUEST")
                .error("Request body must be a JSON object"),
            row("JSON array", "POST", "/start/start-session", Auth::Operator, Body::Raw("application/json", b"[1,2]".to_vec()), 400, "INVALID_REQUEST"),
            row("JSON string", "POST", "/start/send-message", Auth::Operator, Body::Raw("application/json", b"\"hi\"".to_vec()), 400, "INVALID_REQUEST"),
            row("empty body", "POST", "/start/run-task", Auth::Operator, Body::Raw("application/json", Vec::new()), 400, "INVALID_REQUEST"),
            row("wrong content type", "POST", "/start/run-task", Auth::Operator, Body::Raw("text/plain", b"{\"prompt\":\"x\"}".to_vec()), 400, "INVALID_REQUEST"),
            row("not UTF-8", "POST", "/start/run-task", Auth::Operator, Body::Raw("application/json", vec![0xff, 0xfe, 0x00]), 400, "INVALID_REQUEST"),
            post("run-task without prompt", "/start/run-task", json!({}), 400, "MISSING_REQUIRED_FIELD")
                .error("Missing required field: prompt")
                .details(json!({"field": "prompt"})),
            post("run-task old spelling", "/start/run-task", json!({"startingPoint": "http://127.0.0.1/"}), 400, "MISSING_REQUIRED_FIELD")
                .details(json!({"field": "taskDetails"})),
            post("run-task blank prompt", "/start/run-task", json!({"prompt": "   "}), 400, "INVALID_TASK_DETAILS").error("prompt cannot be empty"),
            post("run-task blank taskDetails", "/start/run-task", json!({"taskDetails": ""}), 400, "INVALID_TASK_DETAILS")
                .error("taskDetails cannot be empty"),
            post("prompt of wrong type", "/start/run-task", json!({"prompt": 42}), 400, "INVALID_PARAMETER")
                .error("Invalid parameter 'prompt': must be a string")
                .details(json!({"parameter": "prompt", "value": 42})),
            post("maxDuration as string", "/start/run-task", json!({"prompt": "x", "maxDuration": "60000"}), 400, "INVALID_PARAMETER")
                .details(json!({"parameter": "maxDuration", "value": "60000"})),
            post("relative startingUrl", "/start/run-task", json!({"prompt": "x", "startingUrl": "example.com"}), 400, "INVALID_PARAMETER")
                .error("Invalid parameter 'startingUrl': must be an absolute http(s) URL"),
            post("bad outputType", "/start/run-task", json!({"prompt": "x", "outputType": "xml"}), 400, "INVALID_PARAMETER")
                .error("Invalid parameter 'outputType': must be one of text, structured_json, structured_csv")
                .details(json!({"parameter": "outputType", "value": "xml", "allowed": ["text", "structured_json", "structured_csv"]})),
            post("structured without schema", "/start/run-task", json!({"prompt": "x", "outputType": "structured_json"}), 400, "MISSING_REQUIRED_FIELD")
                .details(json!({"field": "outputSchema"})),
            post("invalid schema", "/start/run-task", json!({"prompt": "x", "outputType": "structured_json", "outputSchema": {"type": "nonsense"}}), 400, "INVALID_PARAMETER"),
            post("terminateOnCompletion not bool", "/start/run-task", json!({"prompt": "x", "terminateOnCompletion": "yes"}), 400, "INVALID_PARAMETER"),
            post("avoidDomains not list", "/start/run-task", json!({"prompt": "x", "avoidDomains": "ads.com"}), 400, "INVALID_PARAMETER"),
            post("bad mode", "/start/run-task", json!({"prompt": "x", "mode": "turbo"}), 400, "INVALID_PARAMETER"),
            post("bad reachOutMode", "/start/start-session", json!({"reachOutMode": "sometimes"}), 400, "INVALID_PARAMETER"),
            post("unknown environment", "/start/start-session", json!({"environmentId": "env1"}), 404, "ENVIRONMENT_NOT_FOUND")
                .error("Environment env1 not found"),
            post("unknown profile alias", "/start/run-task", json!({"prompt": "x", "profileId": "p1"}), 404, "ENVIRONMENT_NOT_FOUND"),
            post("unknown policy", "/start/run-task", json!({"prompt": "x", "policyId": "pol_1"}), 404, "POLICY_NOT_FOUND").error("Policy pol_1 not found"),
            post("unknown file", "/start/run-task", json!({"prompt": "x", "files": ["f1"]}), 404, "FILE_NOT_FOUND").error("File f1 not found"),
            post("initialTask not an object", "/start/start-session", json!({"initialTask": "do it"}), 400, "INVALID_PARAMETER"),
            post("task with bad startingUrl", "/start/start-session", json!({"task": {"prompt": "x", "startingUrl": "ftp://x/"}}), 400, "INVALID_PARAMETER")
                .details(json!({"parameter": "task.startingUrl", "value": "ftp://x/"})),
            post("send-message without sessionId", "/start/send-message", json!({"message": {"actionType": "state", "newState": "stop"}}), 400, "MISSING_REQUIRED_FIELD")
                .details(json!({"field": "sessionId"})),
            post("send-message without message", "/start/send-message", json!({"sessionId": SESSION}), 400, "MISSING_REQUIRED_FIELD")
                .details(json!({"field": "message"})),
            post("message not an object", "/start/send-message", json!({"sessionId": SESSION, "message": "terminate"}), 400, "INVALID_PARAMETER")
                .details(json!({"parameter": "message", "value": "terminate"})),
            post("message without actionType", "/start/send-message", json!({"sessionId": SESSION, "message": {}}), 400, "MISSING_REQUIRED_FIELD")
                .details(json!({"field": "message.actionType"})),
            post("unknown actionType", "/start/send-message", json!({"sessionId": SESSION, "message": {"actionType": "dance"}}), 400, "INVALID_PARAMETER")
                .details(json!({"parameter": "message.actionType", "value": "dance", "allowed": ["newTask", "state", "interaction", "guardrail"]})),
            post("unknown newState", "/start/send-message", json!({"sessionId": SESSION, "message": {"actionType": "state", "newState": "nap"}}), 400, "INVALID_PARAMETER"),
            post("newTask without text", "/start/send-message", json!({"sessionId": SESSION, "message": {"actionType": "newTask"}}), 400, "MISSING_REQUIRED_FIELD")
                .error("Missing required field: message.taskDetails")
                .details(json!({"field": "message.taskDetails"})),
            post("newTask with prompt family", "/start/send-message", json!({"sessionId": SESSION, "message": {"actionType": "newTask", "startingUrl": "http://127.0.0.1/"}}), 400, "MISSING_REQUIRED_FIELD")
                .details(json!({"field": "message.prompt"})),
            post("unknown session", "/start/send-message", json!({"sessionId": SESSION, "message": {"actionType": "state", "newState": "stop"}}), 404, "SESSION_NOT_FOUND")
                .error(&format!("Session {SESSION} does not exist or has expired")),
            post("run-task in unknown session", "/start/run-task", json!({"sessionId": SESSION, "prompt": "x"}), 404, "SESSION_NOT_FOUND"),
            row("unknown task's session", "GET", &format!("/task/{SESSION}/abc"), Auth::Operator, Body::None, 404, "SESSION_NOT_FOUND"),
            row("unknown session detail", "GET", &format!("/v1/sessions/{SESSION}"), Auth::Operator, Body::None, 404, "SESSION_NOT_FOUND"),
            post("wait below 0", "/start/run-task?wait=-1", json!({"prompt": "x"}), 400, "INVALID_PARAMETER").details(json!({"parameter": "wait", "value": "-1", "min": 0})),
            post("wait above window", "/start/run-task?wait=51", json!({"prompt": "x"}), 400, "INVALID_PARAMETER").details(json!({"parameter": "wait", "value": "51", "max": 50})),
            post("wait not a number", "/start/run-task?wait=soon", json!({"prompt": "x"}), 400, "INVALID_PARAMETER"),
            row("sessions limit out of range", "GET", "/v1/sessions?limit=0", Auth::Operator, Body::None, 400, "INVALID_PARAMETER"),
        ];
        let mut failures = Vec::new();
        for r in &rows {
            let a = send(&s, &keys, r).await;
            let mut problems = Vec::new();
            if a.status != r.status {
                problems.push(format!("status {} != {}", a.status, r.status));
            }
            if a.body["success"] != json!(false) || a.body["code"] != json!(r.code) {
                problems.push(format!("code {} != {}", a.body["code"], r.code));
            }
            if let Some(e) = &r.error
                && a.body["error"] != json!(e)
            {
                problems.push(format!("error {} != {e:?}", a.body["error"]));
            }
            if let Some(d) = &r.details
                && &a.body["details"] != d
            {
                problems.push(format!("details {} != {d}", a.body["details"]));
            }
            if r.status == 405 && a.headers.get("allow").is_none() {
                problems.push("no Allow header".into());
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{}: {} (body {})",
                    r.name,
                    problems.join("; "),
                    a.body
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} rows failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}

#[test]
fn every_range_bound_below_at_and_above() {
    run(async {
        let s = TestServer::start(Options::default()).await;
        // A value that passes validation reaches the session lookup (404): no browser work needed.
        let bounds = [
            ("maxDuration", 1000, 300000),
            ("maxInputTokens", 1000, 100000),
            ("maxOutputTokens", 100, 50000),
        ];
        let spellings = [("run-task", None), ("newTask", Some("message"))];
        for (field, min, max) in bounds {
            for (value, expect) in [
                (min - 1, Some(("min", min))),
                (min, None),
                (max, None),
                (max + 1, Some(("max", max))),
            ] {
                for (label, prefix) in spellings {
                    let answer = match prefix {
                        None => s.post("/start/run-task", Some(&s.key), json!({"sessionId": SESSION, "prompt": "x", field: value})).await,
                        Some(_) => {
                            s.post("/start/send-message", Some(&s.key), json!({"sessionId": SESSION, "message": {"actionType": "newTask", "taskDetails": "x", field: value}}))
                                .await
                        }
                    };
                    let parameter = prefix.map_or(field.to_string(), |p| format!("{p}.{field}"));
                    match expect {
                        None => {
                            answer.error(404, "SESSION_NOT_FOUND");
                        }
                        Some((kind, bound)) => {
                            let body = answer.error(400, "INVALID_PARAMETER");
                            let word = if kind == "min" { "at least" } else { "at most" };
                            assert_eq!(
                                body["error"],
                                json!(format!(
                                    "Invalid parameter '{parameter}': must be {word} {bound}"
                                )),
                                "{label}"
                            );
                            assert_eq!(
                                body["details"],
                                json!({"parameter": parameter, "value": value, kind: bound}),
                                "{label}"
                            );
                        }
                    }
                }
            }
        }
    });
}

#[test]
fn interactions_and_guardrail_answers_need_state_the_session_is_not_in() {
    run(async {
        let s = TestServer::start(Options::default()).await;
        let started = s
            .post("/start/start-session", Some(&s.key), json!({}))
            .await;
        let sid = started.body["sessionId"].as_str().unwrap().to_string();
        for message in [
            json!({"actionType": "interaction", "action": {"type": "takeOverControl"}}),
            json!({"actionType": "interaction", "action": {"type": "TYPE", "text": "hi"}}),
            json!({"actionType": "guardrail", "prompt": "yes", "newState": "resume"}),
            json!({"actionType": "state", "newState": "pause"}),
            json!({"actionType": "state", "newState": "resume"}),
        ] {
            let a = s.send(&sid, message.clone()).await;
            let body = a.error(409, "INVALID_STATE");
            assert!(
                body["error"].as_str().unwrap().starts_with("Cannot "),
                "{message}: {body}"
            );
        }
        s.send(
            &sid,
            json!({"actionType": "state", "newState": "terminate"}),
        )
        .await;
    });
}

#[test]
fn openapi_document_covers_every_endpoint() {
    run(async {
        let s = TestServer::start(Options::default()).await;
        let doc = s.get("/openapi.json", Some(&s.key)).await;
        assert_eq!(doc.status, 200);
        assert!(
            doc.body["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc.body["openapi"]
        );
        let paths = doc.body["paths"].as_object().unwrap();
        for (path, method) in [
            ("/start/start-session", "post"),
            ("/start/send-message", "post"),
            ("/start/run-task", "post"),
            ("/task/{sessionId}/{taskId}", "get"),
            ("/health", "get"),
            ("/openapi.json", "get"),
            ("/v1/sessions", "get"),
            ("/v1/sessions/{sessionId}", "get"),
            ("/v1/account", "get"),
            ("/files/{fileId}/download", "get"),
        ] {
            let op = &paths.get(path).unwrap_or_else(|| panic!("{path} missing"))[method];
            assert!(op.is_object(), "{method} {path} missing");
            assert!(
                op["responses"]["200"].is_object(),
                "{method} {path} has no 200 response"
            );
            if method == "post" {
                assert!(
                    op["requestBody"].is_object(),
                    "{path} has no request body schema"
                );
            }
        }
        let health = s.get("/health", None).await;
        assert_eq!(health.status, 200);
        assert_eq!(health.body["status"], "ok");
    });
}
