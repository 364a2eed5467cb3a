//! The one error type of wayfarer: every variant is one wire code with its HTTP status,
//! message and `details`, exactly as spec §6 (request errors) and §4 (task failures) say.

use crate::money::Micros;
use serde_json::{Map, Value, json};

/// Wire codes (spec §6 and §4). The string form is what clients match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Unauthorized,
    InvalidApiKey,
    ApiKeyExpired,
    AccountDeactivated,
    InvalidRequest,
    InvalidParameter,
    MissingRequiredField,
    InvalidTaskDetails,
    EnvironmentLimitReached,
    InsufficientBalance,
    PaymentFailed,
    NotFound,
    SessionNotFound,
    TaskNotFound,
    EnvironmentNotFound,
    FileNotFound,
    PolicyNotFound,
    MethodNotAllowed,
    TaskAlreadyRunning,
    InvalidState,
    SessionExpired,
    PayloadTooLarge,
    SessionLimitReached,
    RateLimitExceeded,
    InternalError,
    InstanceUnavailable,
    TaskTimeout,
    NavigationTimeout,
    PageCrash,
    ElementNotFound,
    TokenLimitExceeded,
    OutputValidationFailed,
    TaskStopped,
    SessionTerminated,
    PlannerError,
    NavigationBlocked,
    NavigationFailed,
}

impl ErrorCode {
    /// The code as it appears in the `code` field.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Unauthorized => "UNAUTHORIZED",
            InvalidApiKey => "INVALID_API_KEY",
            ApiKeyExpired => "API_KEY_EXPIRED",
            AccountDeactivated => "ACCOUNT_DEACTIVATED",
            InvalidRequest => "INVALID_REQUEST",
            InvalidParameter => "INVALID_PARAMETER",
            MissingRequiredField => "MISSING_REQUIRED_FIELD",
            InvalidTaskDetails => "INVALID_TASK_DETAILS",
            EnvironmentLimitReached => "ENVIRONMENT_LIMIT_REACHED",
            InsufficientBalance => "INSUFFICIENT_BALANCE",
            PaymentFailed => "PAYMENT_FAILED",
            NotFound => "NOT_FOUND",
            SessionNotFound => "SESSION_NOT_FOUND",
            TaskNotFound => "TASK_NOT_FOUND",
            EnvironmentNotFound => "ENVIRONMENT_NOT_FOUND",
            FileNotFound => "FILE_NOT_FOUND",
            PolicyNotFound => "POLICY_NOT_FOUND",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            TaskAlreadyRunning => "TASK_ALREADY_RUNNING",
            InvalidState => "INVALID_STATE",
            SessionExpired => "SESSION_EXPIRED",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            SessionLimitReached => "SESSION_LIMIT_REACHED",
            RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            InternalError => "INTERNAL_ERROR",
            InstanceUnavailable => "INSTANCE_UNAVAILABLE",
            TaskTimeout => "TASK_TIMEOUT",
            NavigationTimeout => "NAVIGATION_TIMEOUT",
            PageCrash => "PAGE_CRASH",
            ElementNotFound => "ELEMENT_NOT_FOUND",
            TokenLimitExceeded => "TOKEN_LIMIT_EXCEEDED",
            OutputValidationFailed => "OUTPUT_VALIDATION_FAILED",
            TaskStopped => "TASK_STOPPED",
            SessionTerminated => "SESSION_TERMINATED",
            PlannerError => "PLANNER_ERROR",
            NavigationFailed => "NAVIGATION_FAILED",
            NavigationBlocked => "NAVIGATION_BLOCKED",
        }
    }

    /// HTTP status of a request rejected with this code. Task-failure codes are answered with
    /// 200 (the request succeeded, the task failed), except where they also reject a request.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            Unauthorized | InvalidApiKey | ApiKeyExpired => 401,
            AccountDeactivated => 403,
            InvalidRequest
            | InvalidParameter
            | MissingRequiredField
            | InvalidTaskDetails
            | EnvironmentLimitReached => 400,
            InsufficientBalance | PaymentFailed => 402,
            NotFound | SessionNotFound | TaskNotFound | EnvironmentNotFound | FileNotFound
            | PolicyNotFound => 404,
            MethodNotAllowed => 405,
            TaskAlreadyRunning | InvalidState => 409,
            SessionExpired => 410,
            PayloadTooLarge => 413,
            SessionLimitReached | RateLimitExceeded => 429,
            InternalError => 500,
            InstanceUnavailable => 503,
            TaskTimeout
            | NavigationTimeout
            | PageCrash
            | ElementNotFound
            | TokenLimitExceeded
            | OutputValidationFailed
            | TaskStopped
            | SessionTerminated
            | PlannerError
            | NavigationBlocked
            | NavigationFailed => 200,
        }
    }
}

/// Why a parameter was refused; decides the message tail and the `details` keys.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamRule {
    /// Below the minimum.
    Min(i64),
    /// Above the maximum.
    Max(i64),
    /// Not one of the allowed values.
    OneOf(Vec<String>),
    /// Any other rule, phrased to follow "must …" or as a full clause.
    Other(String),
}

/// Every error wayfarer puts on the wire.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("authorization header missing or malformed")]
    Unauthorized { malformed: bool },
    #[error("invalid api key")]
    InvalidApiKey,
    #[error("api key expired")]
    ApiKeyExpired,
    #[error("account deactivated")]
    AccountDeactivated,
    #[error("request body is not a JSON object")]
    InvalidRequest { reason: Option<String> },
    #[error("invalid parameter {parameter}")]
    InvalidParameter {
        parameter: String,
        value: Value,
        rule: ParamRule,
    },
    #[error("missing field {field}")]
    MissingRequiredField { field: String },
    #[error("{name} is blank")]
    InvalidTaskDetails { name: String },
    #[error("insufficient balance")]
    InsufficientBalance { balance: Micros, required: Micros },
    #[error("no route {method} {path}")]
    NotFound { method: String, path: String },
    #[error("session {session_id} not found")]
    SessionNotFound {
        session_id: String,
        reason: Option<String>,
    },
    #[error("task {task_id} not found")]
    TaskNotFound { session_id: String, task_id: String },
    #[error("{kind} {id} not found")]
    ThingNotFound { kind: Thing, id: String },
    #[error("method {method} not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("task already running")]
    TaskAlreadyRunning,
    #[error("cannot {action} while {state}")]
    InvalidState { action: String, state: String },
    #[error("session expired")]
    SessionExpired { idle_ms: u64 },
    #[error("payload too large")]
    PayloadTooLarge { limit: u64 },
    #[error("session limit reached")]
    SessionLimitReached { current: u64, limit: u64 },
    #[error("rate limit exceeded")]
    RateLimitExceeded { retry_after_secs: u64 },
    #[error("internal error {request_id}")]
    Internal { request_id: String },
    #[error("instance unavailable")]
    InstanceUnavailable {
        retry_after_secs: u64,
        reason: Option<String>,
    },
    #[error("task timeout")]
    TaskTimeout { max_duration_ms: u64 },
    #[error("navigation timeout")]
    NavigationTimeout { url: String, timeout_ms: u64 },
    #[error("page crash")]
    PageCrash,
    #[error("element not found")]
    ElementNotFound { looked_for: Value },
    #[error("token limit exceeded")]
    TokenLimitExceeded { limit: u64, kind: String },
    #[error("output validation failed")]
    OutputValidationFailed { reason: String },
    #[error("task stopped")]
    TaskStopped,
    #[error("session terminated")]
    SessionTerminated,
    #[error("planner error")]
    PlannerError { reason: String, status: Option<u16> },
    /// The network guard refused the page's address (ours: the spec's step failure with
    /// `details.reason: "blocked_by_network_guard"`).
    #[error("navigation blocked")]
    NavigationBlocked { url: String, rule: String },
    /// The page could not be loaded (ours): DNS failure, refused connection, TLS error…
    #[error("navigation failed")]
    NavigationFailed { url: String, reason: String },
}

/// Things with a `<Thing> <id> not found` error of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Thing {
    Environment,
    File,
    Policy,
}

impl std::fmt::Display for Thing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Thing::Environment => "Environment",
            Thing::File => "File",
            Thing::Policy => "Policy",
        })
    }
}

impl Error {
    /// The wire code.
    pub fn code(&self) -> ErrorCode {
        use Error::*;
        match self {
            Unauthorized { .. } => ErrorCode::Unauthorized,
            InvalidApiKey => ErrorCode::InvalidApiKey,
            ApiKeyExpired => ErrorCode::ApiKeyExpired,
            AccountDeactivated => ErrorCode::AccountDeactivated,
            InvalidRequest { .. } => ErrorCode::InvalidRequest,
            InvalidParameter { .. } => ErrorCode::InvalidParameter,
            MissingRequiredField { .. } => ErrorCode::MissingRequiredField,
            InvalidTaskDetails { .. } => ErrorCode::InvalidTaskDetails,
            InsufficientBalance { .. } => ErrorCode::InsufficientBalance,
            NotFound { .. } => ErrorCode::NotFound,
            SessionNotFound { .. } => ErrorCode::SessionNotFound,
            TaskNotFound { .. } => ErrorCode::TaskNotFound,
            ThingNotFound { kind, .. } => match kind {
                Thing::Environment => ErrorCode::EnvironmentNotFound,
                Thing::File => ErrorCode::FileNotFound,
                Thing::Policy => ErrorCode::PolicyNotFound,
            },
            MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            TaskAlreadyRunning => ErrorCode::TaskAlreadyRunning,
            InvalidState { .. } => ErrorCode::InvalidState,
            SessionExpired { .. } => ErrorCode::SessionExpired,
            PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            SessionLimitReached { .. } => ErrorCode::SessionLimitReached,
            RateLimitExceeded { .. } => ErrorCode::RateLimitExceeded,
            Internal { .. } => ErrorCode::InternalError,
            InstanceUnavailable { .. } => ErrorCode::InstanceUnavailable,
            TaskTimeout { .. } => ErrorCode::TaskTimeout,
            NavigationTimeout { .. } => ErrorCode::NavigationTimeout,
            PageCrash => ErrorCode::PageCrash,
            ElementNotFound { .. } => ErrorCode::ElementNotFound,
            TokenLimitExceeded { .. } => ErrorCode::TokenLimitExceeded,
            OutputValidationFailed { .. } => ErrorCode::OutputValidationFailed,
            TaskStopped => ErrorCode::TaskStopped,
            SessionTerminated => ErrorCode::SessionTerminated,
            PlannerError { .. } => ErrorCode::PlannerError,
            NavigationBlocked { .. } => ErrorCode::NavigationBlocked,
            NavigationFailed { .. } => ErrorCode::NavigationFailed,
        }
    }

    /// HTTP status of a request rejected with this error.
    pub fn http_status(&self) -> u16 {
        self.code().http_status()
    }

    /// The human message (`error` field), in WebRun's wording where it has one.
    pub fn message(&self) -> String {
        use Error::*;
        match self {
            Unauthorized { malformed: false } => "Authorization header missing".into(),
            Unauthorized { malformed: true } => "Authorization header must be: Bearer <key>".into(),
            InvalidApiKey => "Invalid API key".into(),
            ApiKeyExpired => "API key has expired".into(),
            AccountDeactivated => "Account is deactivated".into(),
            InvalidRequest { .. } => "Request body must be a JSON object".into(),
            InvalidParameter {
                parameter, rule, ..
            } => {
                let tail = match rule {
                    ParamRule::Min(min) => format!("must be at least {min}"),
                    ParamRule::Max(max) => format!("must be at most {max}"),
                    ParamRule::OneOf(allowed) => format!("must be one of {}", allowed.join(", ")),
                    ParamRule::Other(what) => what.clone(),
                };
                format!("Invalid parameter '{parameter}': {tail}")
            }
            MissingRequiredField { field } => format!("Missing required field: {field}"),
            InvalidTaskDetails { name } => format!("{name} cannot be empty"),
            InsufficientBalance { balance, required } => {
                format!("Insufficient account balance ({balance} remaining, {required} required)")
            }
            NotFound { method, path } => format!("No route for {method} {path}"),
            SessionNotFound { session_id, .. } => {
                format!("Session {session_id} does not exist or has expired")
            }
            TaskNotFound {
                session_id,
                task_id,
            } => format!("Task {task_id} not found in session {session_id}"),
            ThingNotFound { kind, id } => format!("{kind} {id} not found"),
            MethodNotAllowed { method, path } => format!("Method {method} not allowed on {path}"),
            TaskAlreadyRunning => "A task is already running in this session".into(),
            InvalidState { action, state } => {
                format!("Cannot {action} while the session is {state}")
            }
            SessionExpired { idle_ms } => {
                format!(
                    "Session expired after {} seconds of inactivity",
                    seconds_text(*idle_ms)
                )
            }
            PayloadTooLarge { limit } => format!("Request body exceeds {limit} bytes"),
            SessionLimitReached { limit, .. } => {
                format!("Maximum concurrent sessions reached (limit: {limit})")
            }
            RateLimitExceeded { .. } => "Rate limit exceeded. Please try again later.".into(),
            Internal { .. } => "Internal server error".into(),
            InstanceUnavailable { .. } => "No browser instances available".into(),
            TaskTimeout { max_duration_ms } => {
                format!("Task exceeded maximum duration of {max_duration_ms}ms")
            }
            NavigationTimeout { timeout_ms, .. } => {
                format!(
                    "Navigation timeout after {} seconds",
                    seconds_text(*timeout_ms)
                )
            }
            PageCrash => "Browser page crashed during execution".into(),
            ElementNotFound { .. } => "Could not locate element matching criteria".into(),
            TokenLimitExceeded { limit, kind } => {
                format!("Task exceeded its {kind} token limit of {limit}")
            }
            OutputValidationFailed { reason } => {
                format!("Task output does not match the output schema: {reason}")
            }
            TaskStopped => "Task was stopped".into(),
            SessionTerminated => "Session was terminated while the task was running".into(),
            PlannerError { reason, .. } => format!("Planner failed: {reason}"),
            NavigationBlocked { url, .. } => {
                format!("Navigation to {url} was blocked by the network guard")
            }
            NavigationFailed { url, reason } => format!("Navigation to {url} failed: {reason}"),
        }
    }

    /// The `details` object; `None` where the spec shows none.
    pub fn details(&self) -> Option<Value> {
        use Error::*;
        match self {
            InvalidRequest {
                reason: Some(reason),
            } => Some(json!({ "reason": reason })),
            InvalidParameter {
                parameter,
                value,
                rule,
            } => {
                let mut details = Map::new();
                details.insert("parameter".into(), json!(parameter));
                details.insert("value".into(), value.clone());
                match rule {
                    ParamRule::Min(min) => {
                        details.insert("min".into(), json!(min));
                    }
                    ParamRule::Max(max) => {
                        details.insert("max".into(), json!(max));
                    }
                    ParamRule::OneOf(allowed) => {
                        details.insert("allowed".into(), json!(allowed));
                    }
                    ParamRule::Other(_) => {}
                }
                Some(Value::Object(details))
            }
            MissingRequiredField { field } => Some(json!({ "field": field })),
            InsufficientBalance { balance, required } => Some(json!({
                "balance": balance.dollars(),
                "required": required.dollars(),
            })),
            SessionNotFound {
                reason: Some(reason),
                ..
            } => Some(json!({ "reason": reason })),
            PayloadTooLarge { limit } => Some(json!({ "limit": limit })),
            SessionLimitReached { current, limit } => {
                Some(json!({ "current": current, "limit": limit }))
            }
            Internal { request_id } => Some(json!({ "requestId": request_id })),
            InstanceUnavailable {
                reason: Some(reason),
                ..
            } => Some(json!({ "reason": reason })),
            NavigationTimeout { url, timeout_ms } => {
                Some(json!({ "url": url, "timeout": timeout_ms }))
            }
            ElementNotFound { looked_for } => Some(looked_for.clone()),
            TokenLimitExceeded { limit, kind } => Some(json!({ "limit": limit, "kind": kind })),
            OutputValidationFailed { reason } => Some(json!({ "reason": reason })),
            PlannerError { reason, status } => Some(json!({ "reason": reason, "status": status })),
            NavigationFailed { url, reason } => Some(json!({ "url": url, "reason": reason })),
            NavigationBlocked { url, rule } => Some(json!({
                "url": url,
                "reason": "blocked_by_network_guard",
                "rule": rule,
            })),
            _ => None,
        }
    }

    /// `Retry-After` seconds for errors that carry one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::RateLimitExceeded { retry_after_secs }
            | Error::InstanceUnavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The §6 envelope `{"success":false,"error","code","details"?}`; rate limiting keeps
    /// WebRun's own body, which also has `message`.
    pub fn envelope(&self) -> Value {
        let message = self.message();
        let mut body = Map::new();
        body.insert("success".into(), Value::Bool(false));
        if matches!(self, Error::RateLimitExceeded { .. }) {
            body.insert("message".into(), json!(message));
        }
        body.insert("error".into(), json!(message));
        body.insert("code".into(), json!(self.code().as_str()));
        if let Some(details) = self.details() {
            body.insert("details".into(), details);
        }
        Value::Object(body)
    }

    /// Shorthand for an `INVALID_PARAMETER` error.
    pub fn invalid_param(parameter: impl Into<String>, value: &Value, rule: ParamRule) -> Error {
        Error::InvalidParameter {
            parameter: parameter.into(),
            value: value.clone(),
            rule,
        }
    }
}

/// `30` for 30000 ms, `2.5` for 2500 ms.
fn seconds_text(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_webrun_wording() {
        assert_eq!(
            Error::InvalidParameter {
                parameter: "maxDuration".into(),
                value: json!(500),
                rule: ParamRule::Min(1000)
            }
            .message(),
            "Invalid parameter 'maxDuration': must be at least 1000"
        );
        assert_eq!(
            Error::NavigationTimeout {
                url: "https://example.com".into(),
                timeout_ms: 30000
            }
            .message(),
            "Navigation timeout after 30 seconds"
        );
        assert_eq!(
            Error::InsufficientBalance {
                balance: Micros::from_dollars(0.5),
                required: Micros::from_dollars(2.0)
            }
            .message(),
            "Insufficient account balance ($0.50 remaining, $2.00 required)"
        );
    }

    #[test]
    fn rate_limit_body_keeps_webrun_message_field() {
        let body = Error::RateLimitExceeded {
            retry_after_secs: 6,
        }
        .envelope();
        assert_eq!(body["message"], body["error"]);
        assert_eq!(body["code"], "RATE_LIMIT_EXCEEDED");
        assert!(body.get("details").is_none());
    }
}
