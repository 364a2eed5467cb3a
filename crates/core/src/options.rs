//! The one task-options parser of spec §2: every place a task can be given (run-task,
//! start-session's `initialTask`/`task`/top level, send-message `newTask`) goes through
//! [`TaskSpec::parse`], and session-level options through [`SessionSpec::parse`].

use crate::error::{Error, ParamRule};
use serde_json::{Map, Value, json};
use std::fmt;

/// Default and bounds of `maxDuration` (ms).
pub const MAX_DURATION: Bounds = Bounds {
    default: 300_000,
    min: 1_000,
    max: 300_000,
};
/// Default and bounds of `maxInputTokens`.
pub const MAX_INPUT_TOKENS: Bounds = Bounds {
    default: 100_000,
    min: 1_000,
    max: 100_000,
};
/// Default and bounds of `maxOutputTokens`.
pub const MAX_OUTPUT_TOKENS: Bounds = Bounds {
    default: 50_000,
    min: 100,
    max: 50_000,
};

/// An integer option's default and inclusive range.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub default: i64,
    pub min: i64,
    pub max: i64,
}

/// Where a task is being given; decides whether the text is required and how a missing
/// field is spelled back to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseContext {
    /// `POST /start/run-task`, top level.
    RunTask,
    /// `POST /start/start-session` (task optional).
    StartSession,
    /// `send-message` with `actionType: newTask` (fields inside `message`).
    NewTask,
}

/// What the agent must produce.
#[derive(Clone, Debug, PartialEq)]
pub enum OutputSpec {
    /// Free text.
    Text,
    /// JSON valid against this schema.
    Json(Value),
    /// CSV with these columns.
    Csv(Vec<String>),
}

/// A secret value: never printed, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// The plaintext, for the one place that substitutes it into the browser.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

/// One `secrets[]` entry: values usable on hosts matching `matcher`.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretRule {
    /// `all`, `example.com` or `*.example.com`.
    pub matcher: String,
    /// Field name → value.
    pub fields: Vec<(String, SecretValue)>,
}

/// A webhook to call when the task ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    pub name: Option<String>,
    pub url: String,
    pub auth: Option<Value>,
    /// `ai_response`, `full_response` or `just_ping`.
    pub submitted_data: String,
}

/// A validated task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    /// What to do, in plain language.
    pub task: String,
    /// Absolute http(s) URL to open first.
    pub starting_point: Option<String>,
    pub max_duration_ms: u64,
    pub max_input_tokens: u64,
    pub max_output_tokens: u64,
    /// Lowercased hosts the browser must not load (with subdomains).
    pub avoid_domains: Vec<String>,
    /// `None` when the client did not say; the endpoint applies its own default.
    pub terminate_on_completion: Option<bool>,
    pub output: OutputSpec,
    pub secrets: Vec<SecretRule>,
    pub files: Vec<String>,
    pub webhook: Option<Webhook>,
}

/// Session-level options (start-session and run-task, top level).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionSpec {
    pub environment_id: Option<String>,
    pub policy_id: Option<String>,
    /// Custom proxy server URL, when asked for.
    pub proxy: Option<ProxySpec>,
    /// `off`, `guardrail_only` (default) or `all`.
    pub reach_out_mode: String,
}

/// A per-session proxy request.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxySpec {
    /// `custom` or `WebRun` (the operator's pool).
    pub source: String,
    pub server: Option<String>,
    pub username: Option<String>,
    pub password: Option<SecretValue>,
}

/// A JSON object being read, with the dotted prefix clients will see in errors.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn path(&self, key: &str) -> String {
        match self.prefix {
            Some(prefix) => format!("{prefix}.{key}"),
            None => key.to_string(),
        }
    }

    /// The first of `keys` present with a non-null value, with the key the client used.
    fn get(&self, keys: &[&'static str]) -> Option<(&'static str, &'a Value)> {
        keys.iter()
            .find_map(|k| self.obj.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
    }

    fn string(&self, keys: &[&'static str]) -> Result<Option<(&'static str, &'a str)>, Error> {
        match self.get(keys) {
            None => Ok(None),
            Some((k, Value::String(s))) => Ok(Some((k, s.as_str()))),
            Some((k, v)) => Err(Error::invalid_param(
                self.path(k),
                v,
                ParamRule::Other("must be a string".into()),
            )),
        }
    }

    fn int(&self, key: &'static str, bounds: Bounds) -> Result<u64, Error> {
        let Some((k, v)) = self.get(&[key]) else {
            return Ok(bounds.default as u64);
        };
        let n = as_integer(v).ok_or_else(|| {
            Error::invalid_param(
                self.path(k),
                v,
                ParamRule::Other("must be an integer".into()),
            )
        })?;
        if n < bounds.min {
            return Err(Error::invalid_param(
                self.path(k),
                v,
                ParamRule::Min(bounds.min),
            ));
        }
        if n > bounds.max {
            return Err(Error::invalid_param(
                self.path(k),
                v,
                ParamRule::Max(bounds.max),
            ));
        }
        Ok(n as u64)
    }

    fn bool(&self, key: &'static str) -> Result<Option<bool>, Error> {
        match self.get(&[key]) {
            None => Ok(None),
            Some((_, Value::Bool(b))) => Ok(Some(*b)),
            Some((k, v)) => Err(Error::invalid_param(
                self.path(k),
                v,
                ParamRule::Other("must be a boolean".into()),
            )),
        }
    }

    fn string_list(&self, key: &'static str) -> Result<Vec<String>, Error> {
        match self.get(&[key]) {
            None => Ok(Vec::new()),
            Some((k, Value::Array(items))) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(Error::invalid_param(
                        self.path(k),
                        &Value::Array(items.clone()),
                        ParamRule::Other("must be an array of strings".into()),
                    )),
                })
                .collect(),
            Some((k, v)) => Err(Error::invalid_param(
                self.path(k),
                v,
                ParamRule::Other("must be an array of strings".into()),
            )),
        }
    }

    fn one_of(&self, key: &'static str, allowed: &[&str], default: &str) -> Result<String, Error> {
        match self.get(&[key]) {
            None => Ok(default.to_string()),
            Some((_, Value::String(s))) if allowed.contains(&s.as_str()) => Ok(s.clone()),
            Some((k, v)) => Err(Error::invalid_param(
                self.path(k),
                v,
                ParamRule::OneOf(allowed.iter().map(|s| s.to_string()).collect()),
            )),
        }
    }
}

/// An integral JSON number (`60000` or `60000.0`), else `None`.
fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// Whether `s` is an absolute http(s) URL with a host.
pub fn is_http_url(s: &str) -> bool {
    url::Url::parse(s)
        .map(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        })
        .unwrap_or(false)
}

/// A bare host name such as `ads.example.com` (a leading `*.` is accepted and dropped).
fn normalize_domain(s: &str) -> Option<String> {
    let host = s
        .trim()
        .trim_start_matches("*.")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'));
    valid.then_some(host)
}

/// A secret's `match`: `all`, a host, or `*.` + a host.
fn valid_secret_match(s: &str) -> bool {
    s == "all" || normalize_domain(s).is_some() && !s.contains(':')
}

impl TaskSpec {
    /// Parses a task given as `obj` (`prefix` is the dotted path of `obj` in the request, as
    /// the client spelled it). Returns `Ok(None)` only in start-session when no task text is
    /// given.
    pub fn parse(
        obj: &Map<String, Value>,
        prefix: Option<&str>,
        context: ParseContext,
    ) -> Result<Option<TaskSpec>, Error> {
        let fields = Fields { obj, prefix };
        let text = fields.string(&["taskDetails", "prompt"])?;
        let task = match (text, context) {
            (None, ParseContext::StartSession) => return Ok(None),
            (Some((_, t)), ParseContext::StartSession) if t.trim().is_empty() => return Ok(None),
            (None, _) => {
                return Err(Error::MissingRequiredField {
                    field: fields.path(text_field_name(obj, context)),
                });
            }
            (Some((key, t)), _) if t.trim().is_empty() => {
                return Err(Error::InvalidTaskDetails {
                    name: key.to_string(),
                });
            }
            (Some((_, t)), _) => t.to_string(),
        };

        let starting_point = match fields.string(&["startingPoint", "startingUrl"])? {
            None => None,
            Some((_, s)) if s.trim().is_empty() => None,
            Some((k, s)) if is_http_url(s.trim()) => {
                Some(s.trim().to_string()).filter(|_| !k.is_empty())
            }
            Some((k, s)) => {
                return Err(Error::invalid_param(
                    fields.path(k),
                    &json!(s),
                    ParamRule::Other("must be an absolute http(s) URL".into()),
                ));
            }
        };

        let avoid_domains = fields
            .string_list("avoidDomains")?
            .iter()
            .map(|d| {
                normalize_domain(d).ok_or_else(|| {
                    Error::invalid_param(
                        fields.path("avoidDomains"),
                        &json!(d),
                        ParamRule::Other("must be a list of host names".into()),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Some(TaskSpec {
            task,
            starting_point,
            max_duration_ms: fields.int("maxDuration", MAX_DURATION)?,
            max_input_tokens: fields.int("maxInputTokens", MAX_INPUT_TOKENS)?,
            max_output_tokens: fields.int("maxOutputTokens", MAX_OUTPUT_TOKENS)?,
            avoid_domains,
            terminate_on_completion: fields.bool("terminateOnCompletion")?,
            output: parse_output(&fields)?,
            secrets: parse_secrets(&fields)?,
            files: fields.string_list("files")?,
            webhook: parse_webhook(&fields)?,
        }))
    }

    /// The task as stored and shown back: everything but secret values (only their match and
    /// field names are kept, so a replay knows which names existed).
    pub fn redacted(&self) -> Value {
        json!({
            "taskDetails": self.task,
            "startingPoint": self.starting_point,
            "maxDuration": self.max_duration_ms,
            "maxInputTokens": self.max_input_tokens,
            "maxOutputTokens": self.max_output_tokens,
            "avoidDomains": self.avoid_domains,
            "terminateOnCompletion": self.terminate_on_completion,
            "outputType": match &self.output {
                OutputSpec::Text => "text",
                OutputSpec::Json(_) => "structured_json",
                OutputSpec::Csv(_) => "structured_csv",
            },
            "outputSchema": match &self.output {
                OutputSpec::Text => Value::Null,
                OutputSpec::Json(schema) => schema.clone(),
                OutputSpec::Csv(columns) => json!(columns),
            },
            "secrets": self.secrets.iter().map(|rule| json!({
                "match": rule.matcher,
                "fields": rule.fields.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "files": self.files,
            "webhook": self.webhook.as_ref().map(|w| json!({
                "name": w.name, "url": w.url, "submittedData": w.submitted_data,
            })),
        })
    }
}

/// The spelling of the task-text field to name in `MISSING_REQUIRED_FIELD`: the family the
/// client used (`startingPoint` → `taskDetails`, `startingUrl` → `prompt`), else the current one.
fn text_field_name(obj: &Map<String, Value>, context: ParseContext) -> &'static str {
    if obj.contains_key("startingPoint") {
        "taskDetails"
    } else if obj.contains_key("startingUrl") {
        "prompt"
    } else if context == ParseContext::NewTask {
        "taskDetails"
    } else {
        "prompt"
    }
}

fn parse_output(fields: &Fields<'_>) -> Result<OutputSpec, Error> {
    let kind = fields.one_of(
        "outputType",
        &["text", "structured_json", "structured_csv"],
        "text",
    )?;
    let schema = fields.get(&["outputSchema"]);
    match (kind.as_str(), schema) {
        ("text", _) => Ok(OutputSpec::Text),
        (_, None) => Err(Error::MissingRequiredField {
            field: fields.path("outputSchema"),
        }),
        ("structured_json", Some((k, schema))) => {
            if !schema.is_object() || !jsonschema::meta::is_valid(schema) {
                return Err(Error::invalid_param(
                    fields.path(k),
                    schema,
                    ParamRule::Other("must be a valid JSON Schema object".into()),
                ));
            }
            Ok(OutputSpec::Json(schema.clone()))
        }
        (_, Some((k, columns))) => {
            let names: Option<Vec<String>> = columns.as_array().and_then(|items| {
                items
                    .iter()
                    .map(|c| {
                        c.as_str()
                            .filter(|s| !s.trim().is_empty())
                            .map(str::to_string)
                    })
                    .collect()
            });
            match names {
                Some(names) if !names.is_empty() => Ok(OutputSpec::Csv(names)),
                _ => Err(Error::invalid_param(
                    fields.path(k),
                    columns,
                    ParamRule::Other("must be a non-empty array of column names".into()),
                )),
            }
        }
    }
}

fn parse_secrets(fields: &Fields<'_>) -> Result<Vec<SecretRule>, Error> {
    let Some((k, value)) = fields.get(&["secrets"]) else {
        return Ok(Vec::new());
    };
    // Secret values must never be echoed back, so the refused value in `details` is redacted.
    let refuse = |what: &str| {
        Error::invalid_param(
            fields.path(k),
            &json!("[redacted]"),
            ParamRule::Other(what.into()),
        )
    };
    let items = value
        .as_array()
        .ok_or_else(|| refuse("must be an array of {match, fields} objects"))?;
    items
        .iter()
        .map(|item| {
            let matcher = item
                .get("match")
                .and_then(Value::as_str)
                .filter(|m| valid_secret_match(m))
                .ok_or_else(|| refuse("each match must be 'all', a host or '*.' and a host"))?;
            let secret_fields = item
                .get("fields")
                .and_then(Value::as_object)
                .ok_or_else(|| refuse("each entry needs a 'fields' object of name: value"))?;
            let fields = secret_fields
                .iter()
                .map(|(name, v)| {
                    v.as_str()
                        .map(|s| (name.clone(), SecretValue(s.to_string())))
                        .ok_or_else(|| refuse("secret values must be strings"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(SecretRule {
                matcher: matcher.to_ascii_lowercase(),
                fields,
            })
        })
        .collect()
}

fn parse_webhook(fields: &Fields<'_>) -> Result<Option<Webhook>, Error> {
    let Some((k, value)) = fields.get(&["webhook"]) else {
        return Ok(None);
    };
    let obj = value.as_object().ok_or_else(|| {
        Error::invalid_param(
            fields.path(k),
            value,
            ParamRule::Other("must be an object".into()),
        )
    })?;
    let prefix = fields.path(k);
    let hook = Fields {
        obj,
        prefix: Some(&prefix),
    };
    let url = match hook.string(&["url"])? {
        None => {
            return Err(Error::MissingRequiredField {
                field: hook.path("url"),
            });
        }
        Some((_, u)) if is_http_url(u) => u.to_string(),
        Some((key, u)) => {
            return Err(Error::invalid_param(
                hook.path(key),
                &json!(u),
                ParamRule::Other("must be an absolute http(s) URL".into()),
            ));
        }
    };
    if hook.get(&["submittedData"]).is_none() {
        return Err(Error::MissingRequiredField {
            field: hook.path("submittedData"),
        });
    }
    Ok(Some(Webhook {
        name: hook.string(&["name"])?.map(|(_, s)| s.to_string()),
        url,
        auth: hook.get(&["auth"]).map(|(_, v)| v.clone()),
        submitted_data: hook.one_of(
            "submittedData",
            &["ai_response", "full_response", "just_ping"],
            "ai_response",
        )?,
    }))
}

impl SessionSpec {
    /// Parses the session-level options found at the top level of `obj`.
    pub fn parse(obj: &Map<String, Value>) -> Result<SessionSpec, Error> {
        let fields = Fields { obj, prefix: None };
        fields.one_of("mode", &["default"], "default")?;
        let proxy = match fields.get(&["proxy"]) {
            None => None,
            Some((k, value)) => Some(parse_proxy(k, value)?),
        };
        Ok(SessionSpec {
            environment_id: fields
                .string(&["environmentId", "profileId"])?
                .map(|(_, s)| s.to_string()),
            policy_id: fields.string(&["policyId"])?.map(|(_, s)| s.to_string()),
            proxy,
            reach_out_mode: fields.one_of(
                "reachOutMode",
                &["off", "guardrail_only", "all"],
                "guardrail_only",
            )?,
        })
    }
}

fn parse_proxy(key: &str, value: &Value) -> Result<ProxySpec, Error> {
    let refuse = |path: &str, v: &Value, what: &str| {
        Error::invalid_param(path, v, ParamRule::Other(what.into()))
    };
    let obj = value
        .as_object()
        .ok_or_else(|| refuse(key, value, "must be an object"))?;
    let prefix = key.to_string();
    let fields = Fields {
        obj,
        prefix: Some(&prefix),
    };
    let source = fields.one_of("source", &["custom", "WebRun"], "custom")?;
    let server = fields.string(&["server"])?.map(|(_, s)| s.to_string());
    if source == "custom" {
        let Some(server) = &server else {
            return Err(Error::MissingRequiredField {
                field: fields.path("server"),
            });
        };
        let ok = url::Url::parse(server)
            .map(|u| {
                matches!(u.scheme(), "http" | "https" | "socks5" | "socks4")
                    && u.host_str().is_some()
                    && u.port_or_known_default().is_some()
            })
            .unwrap_or(false);
        if !ok {
            return Err(refuse(
                &fields.path("server"),
                &json!(server),
                "must look like http://host:port or socks5://host:port",
            ));
        }
    }
    Ok(ProxySpec {
        source,
        server,
        username: fields.string(&["username"])?.map(|(_, s)| s.to_string()),
        password: fields
            .string(&["password"])?
            .map(|(_, s)| SecretValue(s.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn run_task(v: Value) -> Result<Option<TaskSpec>, Error> {
        TaskSpec::parse(&obj(v), None, ParseContext::RunTask)
    }

    #[test]
    fn defaults_apply() {
        let spec = run_task(json!({"prompt": "do it"})).unwrap().unwrap();
        assert_eq!(spec.max_duration_ms, 300_000);
        assert_eq!(spec.max_input_tokens, 100_000);
        assert_eq!(spec.max_output_tokens, 50_000);
        assert_eq!(spec.output, OutputSpec::Text);
        assert_eq!(spec.terminate_on_completion, None);
    }

    #[test]
    fn every_bound_below_at_and_above() {
        for (key, b) in [
            ("maxDuration", MAX_DURATION),
            ("maxInputTokens", MAX_INPUT_TOKENS),
            ("maxOutputTokens", MAX_OUTPUT_TOKENS),
        ] {
            let below = run_task(json!({"prompt": "x", key: b.min - 1})).unwrap_err();
            assert_eq!(below.details().unwrap()["min"], b.min, "{key}");
            assert!(run_task(json!({"prompt": "x", key: b.min})).is_ok());
            assert!(run_task(json!({"prompt": "x", key: b.max})).is_ok());
            let above = run_task(json!({"prompt": "x", key: b.max + 1})).unwrap_err();
            assert_eq!(above.details().unwrap()["max"], b.max, "{key}");
            let typed = run_task(json!({"prompt": "x", key: "1000"})).unwrap_err();
            assert_eq!(typed.code(), ErrorCode::InvalidParameter);
        }
    }

    #[test]
    fn missing_field_follows_the_clients_spelling() {
        let field =
            |v: Value, prefix: Option<&str>, ctx| match TaskSpec::parse(&obj(v), prefix, ctx) {
                Err(Error::MissingRequiredField { field }) => field,
                other => panic!("{other:?}"),
            };
        assert_eq!(field(json!({}), None, ParseContext::RunTask), "prompt");
        assert_eq!(
            field(
                json!({"startingPoint": "http://a.b"}),
                None,
                ParseContext::RunTask
            ),
            "taskDetails"
        );
        assert_eq!(
            field(
                json!({"actionType": "newTask"}),
                Some("message"),
                ParseContext::NewTask
            ),
            "message.taskDetails"
        );
        assert_eq!(
            field(
                json!({"startingUrl": "http://a.b"}),
                Some("message"),
                ParseContext::NewTask
            ),
            "message.prompt"
        );
    }

    #[test]
    fn blank_text_names_the_field_used() {
        let err = run_task(json!({"prompt": "  "})).unwrap_err();
        assert_eq!(err.message(), "prompt cannot be empty");
        let err = run_task(json!({"taskDetails": ""})).unwrap_err();
        assert_eq!(err.message(), "taskDetails cannot be empty");
    }

    #[test]
    fn start_session_without_text_has_no_task() {
        let none = TaskSpec::parse(&obj(json!({})), None, ParseContext::StartSession).unwrap();
        assert!(none.is_none());
    }

    #[test]
    fn structured_output_needs_a_valid_schema() {
        let err = run_task(json!({"prompt": "x", "outputType": "structured_json"})).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MissingRequiredField);
        let err = run_task(json!({"prompt": "x", "outputType": "structured_json",
            "outputSchema": {"type": 12}}))
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidParameter);
        let ok = run_task(json!({"prompt": "x", "outputType": "structured_csv",
            "outputSchema": ["a", "b"]}))
        .unwrap()
        .unwrap();
        assert_eq!(ok.output, OutputSpec::Csv(vec!["a".into(), "b".into()]));
        let err = run_task(json!({"prompt": "x", "outputType": "xml"})).unwrap_err();
        assert!(err.details().unwrap()["allowed"].is_array());
    }

    #[test]
    fn starting_point_must_be_absolute_http() {
        for bad in ["example.com", "ftp://x.y/", "javascript:alert(1)"] {
            let err = run_task(json!({"prompt": "x", "startingUrl": bad})).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidParameter, "{bad}");
        }
    }

    #[test]
    fn secrets_never_appear_in_errors_or_redacted_view() {
        let spec = run_task(json!({"prompt": "x",
            "secrets": [{"match": "*.example.com", "fields": {"password": "hunter2"}}]}))
        .unwrap()
        .unwrap();
        assert!(!spec.redacted().to_string().contains("hunter2"));
        assert!(!format!("{spec:?}").contains("hunter2"));
        let err = run_task(json!({"prompt": "x",
            "secrets": [{"match": "*.example.com", "fields": {"password": 7}}]}))
        .unwrap_err();
        assert!(!err.envelope().to_string().contains('7'));
    }

    #[test]
    fn session_options_are_checked() {
        assert!(SessionSpec::parse(&obj(json!({"mode": "fast"}))).is_err());
        assert!(SessionSpec::parse(&obj(json!({"reachOutMode": "sometimes"}))).is_err());
        assert!(SessionSpec::parse(&obj(json!({"proxy": {"source": "custom"}}))).is_err());
        let ok = SessionSpec::parse(&obj(json!({"profileId": "env1"}))).unwrap();
        assert_eq!(ok.environment_id.as_deref(), Some("env1"));
    }
}
