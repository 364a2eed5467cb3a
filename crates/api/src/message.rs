//! The `message` of `send-message`, parsed once into a typed value (the same value will serve
//! Socket.IO and MCP later).

use serde_json::{Map, Value};
use wayfarer_core::{Error, ParamRule, ParseContext, SessionAction, TaskSpec};
use wayfarer_engine::StateChange;

/// What a client asked of a session.
#[derive(Debug)]
pub(crate) enum Message {
    /// `actionType: newTask`.
    NewTask(Box<TaskSpec>),
    /// `actionType: state`.
    State(StateChange),
    /// `actionType: interaction`.
    Interaction(SessionAction),
    /// `actionType: guardrail` (the answer text goes to the planner once guardrails exist).
    Guardrail { answer: String, resume: bool },
}

const ACTION_TYPES: &[&str] = &["newTask", "state", "interaction", "guardrail"];
const STATES: &[&str] = &["pause", "resume", "stop", "terminate"];
const INTERACTIONS: &[&str] = &[
    "takeOverControl",
    "releaseControl",
    "CLICK",
    "TYPE",
    "KEY",
    "SCROLL",
    "NAVIGATE",
];

fn one_of(field: &str, value: &Value, allowed: &[&str]) -> Error {
    Error::invalid_param(
        field,
        value,
        ParamRule::OneOf(allowed.iter().map(|s| s.to_string()).collect()),
    )
}

fn required<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a Value, Error> {
    obj.get(field)
        .filter(|v| !v.is_null())
        .ok_or_else(|| Error::MissingRequiredField {
            field: format!("message.{field}"),
        })
}

impl Message {
    /// Parses the body's `message` (already known to be present).
    pub(crate) fn parse(message: &Value) -> Result<Message, Error> {
        let obj = message.as_object().ok_or_else(|| {
            Error::invalid_param(
                "message",
                message,
                ParamRule::Other("must be an object".into()),
            )
        })?;
        let action_type = required(obj, "actionType")?;
        match action_type.as_str() {
            Some("newTask") => {
                if let Some(state) = obj.get("newState").filter(|v| !v.is_null())
                    && state != "start"
                {
                    return Err(one_of("message.newState", state, &["start"]));
                }
                let spec = TaskSpec::parse(obj, Some("message"), ParseContext::NewTask)?
                    .ok_or_else(|| Error::MissingRequiredField {
                        field: "message.taskDetails".into(),
                    })?;
                Ok(Message::NewTask(Box::new(spec)))
            }
            Some("state") => {
                let state = required(obj, "newState")?;
                let change = match state.as_str() {
                    Some("pause") => StateChange::Pause,
                    Some("resume") => StateChange::Resume,
                    Some("stop") => StateChange::Stop,
                    Some("terminate") => StateChange::Terminate,
                    _ => return Err(one_of("message.newState", state, STATES)),
                };
                Ok(Message::State(change))
            }
            Some("interaction") => {
                let action = required(obj, "action")?;
                let action = action.as_object().ok_or_else(|| {
                    Error::invalid_param(
                        "message.action",
                        action,
                        ParamRule::Other("must be an object".into()),
                    )
                })?;
                let kind = action.get("type").filter(|v| !v.is_null()).ok_or_else(|| {
                    Error::MissingRequiredField {
                        field: "message.action.type".into(),
                    }
                })?;
                let parsed = match kind.as_str() {
                    Some("takeOverControl") => SessionAction::TakeOverControl,
                    Some("releaseControl") => SessionAction::ReleaseControl,
                    Some("CLICK" | "TYPE" | "KEY" | "SCROLL" | "NAVIGATE") => SessionAction::Input,
                    _ => return Err(one_of("message.action.type", kind, INTERACTIONS)),
                };
                Ok(Message::Interaction(parsed))
            }
            Some("guardrail") => {
                let answer = match obj.get("prompt").or_else(|| obj.get("taskDetails")) {
                    Some(Value::String(s)) => s.clone(),
                    None | Some(Value::Null) => String::new(),
                    Some(other) => {
                        return Err(Error::invalid_param(
                            "message.prompt",
                            other,
                            ParamRule::Other("must be a string".into()),
                        ));
                    }
                };
                let resume = match obj.get("newState").filter(|v| !v.is_null()) {
                    None => true,
                    Some(v) if v == "resume" => true,
                    Some(v) if v == "stop" => false,
                    Some(v) => return Err(one_of("message.newState", v, &["resume", "stop"])),
                };
                Ok(Message::Guardrail { answer, resume })
            }
            _ => Err(one_of("message.actionType", action_type, ACTION_TYPES)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wayfarer_core::ErrorCode;

    fn code(v: Value) -> Option<ErrorCode> {
        Message::parse(&v).err().map(|e| e.code())
    }

    #[test]
    fn parses_every_action_type() {
        assert!(matches!(
            Message::parse(&json!({"actionType": "state", "newState": "terminate"})),
            Ok(Message::State(StateChange::Terminate))
        ));
        assert!(matches!(
            Message::parse(&json!({"actionType": "newTask", "taskDetails": "x"})),
            Ok(Message::NewTask(_))
        ));
        assert!(matches!(
            Message::parse(
                &json!({"actionType": "interaction", "action": {"type": "CLICK", "x": 1, "y": 2}})
            ),
            Ok(Message::Interaction(SessionAction::Input))
        ));
        assert!(matches!(
            Message::parse(
                &json!({"actionType": "guardrail", "prompt": "yes", "newState": "resume"})
            ),
            Ok(Message::Guardrail { resume: true, .. })
        ));
    }

    #[test]
    fn bad_messages_are_typed_errors() {
        assert_eq!(code(json!("hi")), Some(ErrorCode::InvalidParameter));
        assert_eq!(code(json!({})), Some(ErrorCode::MissingRequiredField));
        assert_eq!(
            code(json!({"actionType": "dance"})),
            Some(ErrorCode::InvalidParameter)
        );
        assert_eq!(
            code(json!({"actionType": "state"})),
            Some(ErrorCode::MissingRequiredField)
        );
        assert_eq!(
            code(json!({"actionType": "state", "newState": "nap"})),
            Some(ErrorCode::InvalidParameter)
        );
        assert_eq!(
            code(json!({"actionType": "newTask"})),
            Some(ErrorCode::MissingRequiredField)
        );
    }
}
