//! What a planner is: given the task, the page and what happened so far, the next step.

use async_trait::async_trait;
use serde_json::Value;
use wayfarer_browser::{ElementId, PageState, TabId};
use wayfarer_core::Error;
use wayfarer_core::options::OutputSpec;

/// One browser action chosen by a planner.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Click the element.
    Click { id: ElementId },
    /// Replace the element's text with `text`.
    Type { id: ElementId, text: String },
    /// Load a URL in the current tab.
    Navigate { url: String },
    /// Let the page settle, then look again.
    Wait { ms: u64 },
    /// Press a key or chord (`Enter`, `Control+A`) in whatever has focus.
    PressKey { chord: String },
    /// Scroll the page by this many CSS pixels (positive = down/right).
    Scroll { dx: f64, dy: f64 },
    /// Go back (-1) or forward (+1) in the tab's history.
    History { delta: i64 },
    /// Reload the page.
    Reload,
    /// Wait until this text is visible on the page.
    WaitForText { text: String },
    /// Choose the option with this label (or value) in a select.
    Select { id: ElementId, option: String },
    /// Check (`true`) or uncheck a checkbox, radio or switch.
    SetChecked { id: ElementId, checked: bool },
    /// Move the mouse over the element (menus that open on hover).
    Hover { id: ElementId },
    /// Open a new tab, at `url` if given; it becomes the active tab.
    OpenTab { url: Option<String> },
    /// Make this tab the active one.
    SwitchTab { tab: TabId },
    /// Close this tab (`None`: the active one).
    CloseTab { tab: Option<TabId> },
}

impl Action {
    /// Short name used in `action` events.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Click { .. } => "click",
            Action::Type { .. } => "type",
            Action::Navigate { .. } => "navigate",
            Action::Wait { .. } => "wait",
            Action::PressKey { .. } => "press_key",
            Action::Scroll { .. } => "scroll",
            Action::History { delta } if *delta < 0 => "back",
            Action::History { .. } => "forward",
            Action::Reload => "reload",
            Action::WaitForText { .. } => "wait_for_text",
            Action::Select { .. } => "select",
            Action::SetChecked { checked: true, .. } => "check",
            Action::SetChecked { .. } => "uncheck",
            Action::Hover { .. } => "hover",
            Action::OpenTab { .. } => "open_tab",
            Action::SwitchTab { .. } => "switch_tab",
            Action::CloseTab { .. } => "close_tab",
        }
    }

    /// The action's arguments as shown in `action` events.
    pub fn args(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Action::Click { id } => json!({ "elementId": id.0 }),
            Action::Type { id, text } => json!({ "elementId": id.0, "text": text }),
            Action::Navigate { url } => json!({ "url": url }),
            Action::Wait { ms } => json!({ "ms": ms }),
            Action::PressKey { chord } => json!({ "key": chord }),
            Action::Scroll { dx, dy } => json!({ "deltaX": dx, "deltaY": dy }),
            Action::History { delta } => json!({ "delta": delta }),
            Action::Reload => json!({}),
            Action::WaitForText { text } => json!({ "text": text }),
            Action::Select { id, option } => json!({ "elementId": id.0, "option": option }),
            Action::SetChecked { id, .. } | Action::Hover { id } => json!({ "elementId": id.0 }),
            Action::OpenTab { url } => json!({ "url": url }),
            Action::SwitchTab { tab } => json!({ "tab": tab.0 }),
            Action::CloseTab { tab } => json!({ "tab": tab.map(|t| t.0) }),
        }
    }
}

/// What the planner decided.
#[derive(Clone, Debug, PartialEq)]
pub enum PlannerStep {
    /// Do this next. `reasoning` is shown to people (the `agent` event).
    Act { action: Action, reasoning: String },
    /// The task is done; `message` is the answer, `output` the structured form if asked for.
    Done {
        message: String,
        output: Option<Value>,
    },
    /// The task cannot be done.
    Fail(Error),
}

/// What happened at one earlier step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRecord {
    /// The action taken.
    pub action: Action,
    /// What the browser reported.
    pub outcome: String,
}

/// Everything a planner may look at.
pub struct PlannerInput<'a> {
    /// The task text.
    pub task: &'a str,
    /// The page now.
    pub page: &'a PageState,
    /// Earlier steps of this task, oldest first.
    pub history: &'a [StepRecord],
    /// The output the task asks for.
    pub output: &'a OutputSpec,
}

/// Token usage of one planner call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlannerUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// A planner: offline rules now, LLM providers later.
#[async_trait]
pub trait Planner: Send + Sync {
    /// The next step, with the tokens it cost.
    async fn next_step(&self, input: PlannerInput<'_>) -> (PlannerStep, PlannerUsage);
}
