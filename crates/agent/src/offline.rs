//! The offline planner: no model, no network. It follows explicit instructions found in the task
//! text — "click the 'X' button/link", "type 'V' into the Y field", "go to URL", "select 'L'
//! from the 'S' dropdown", "check 'C'", "hover over 'M'", "open a new tab at URL", "switch to
//! tab N", "close the tab", keys, scrolling, history, waits — in order, against the page
//! state, then answers with what the page shows.

use crate::planner::{Action, Planner, PlannerInput, PlannerStep, PlannerUsage};
use async_trait::async_trait;
use regex::Regex;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;
use wayfarer_browser::{Element, PageState, TabId};
use wayfarer_core::Error;
use wayfarer_core::options::OutputSpec;

/// How many times to look again for a missing element before giving up (the page may still be
/// rendering it), and how long to wait between looks.
const FIND_RETRIES: usize = 4;
const FIND_RETRY_MS: u64 = 400;

/// An instruction recognised in the task text.
#[derive(Clone, Debug, PartialEq)]
enum Instruction {
    Click { name: String, kind: Option<String> },
    Type { text: String, field: String },
    Navigate { url: String },
    Key { chord: String },
    Scroll { dy: f64 },
    History { delta: i64 },
    Reload,
    WaitForText { text: String },
    Select { option: String, field: String },
    SetChecked { name: String, checked: bool },
    Hover { name: String },
    OpenTab { url: Option<String> },
    SwitchTab { which: TabRef },
    CloseTab { which: Option<TabRef> },
}

/// A tab as an instruction names it.
#[derive(Clone, Debug, PartialEq)]
enum TabRef {
    Id(u32),
    First,
    Last,
}

const Q_OPEN: &str = r#"['"“‘]"#;
const Q_CLOSE: &str = r#"['"”’]"#;

static CLICK: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\b(?:click|press|tap|hit|choose|select)\s+(?:on\s+)?(?:the\s+)?(?:(button|link|tab|checkbox|option|menu item)\s+)?{Q_OPEN}(?P<name>[^'\x22“”‘’]+){Q_CLOSE}(?:\s+(?P<kind>button|link|tab|checkbox|option|menu item))?"
    ))
});
static TYPE: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\b(?:type|enter|fill in|input|write|put)\s+{Q_OPEN}(?P<text>[^'\x22“”‘’]*){Q_CLOSE}\s+(?:in|into|in to|on)\s+(?:the\s+)?(?:{Q_OPEN}(?P<qfield>[^'\x22“”‘’]+){Q_CLOSE}|(?P<field>[\w][\w\s-]*?))\s*(?:field|box|input|textbox|text box|textarea|area)?\b"
    ))
});
static NAVIGATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\b(?:go to|navigate to|open|visit|load)\s+(?P<url>https?://[^\s'\x22<>]+)")
});

static KEY: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\bpress\s+(?:the\s+)?(?:key\s+)?{Q_OPEN}?(?P<key>enter|return|tab|escape|esc|space|backspace|delete|arrow ?(?:up|down|left|right)|page ?(?:up|down)|home|end|(?:(?:ctrl|control|shift|alt|meta|cmd)\+)+[a-z0-9]+){Q_CLOSE}?(?:\s+key)?\b"
    ))
});
static SCROLL: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\bscroll\s+(?:(?P<dir>down|up)(?:\s+(?:by\s+)?(?P<px>\d+)\s*(?:px|pixels))?|to\s+the\s+(?P<edge>bottom|top))",
    )
});
static HISTORY: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\bgo\s+(?P<way>back|forward)\b"));
static RELOAD: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\b(?:reload|refresh)\s+the\s+page\b"));
static WAIT_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\bwait\s+(?:for|until)\s+(?:the\s+text\s+)?{Q_OPEN}(?P<text>[^'\x22“”‘’]+){Q_CLOSE}"
    ))
});

static SELECT: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\b(?:select|choose|pick)\s+{Q_OPEN}(?P<option>[^'\x22“”‘’]+){Q_CLOSE}\s+(?:from|in)\s+(?:the\s+)?(?:{Q_OPEN}(?P<qfield>[^'\x22“”‘’]+){Q_CLOSE}|(?P<field>[\w][\w\s-]*?))\s*(?:dropdown|drop-down|list|select|menu|field|box)?\b"
    ))
});
static CHECK: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\b(?P<verb>check|tick|uncheck|untick)\s+(?:the\s+)?{Q_OPEN}(?P<name>[^'\x22“”‘’]+){Q_CLOSE}"
    ))
});
static HOVER: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)\bhover\s+(?:over\s+|on\s+)?(?:the\s+)?(?:\w+\s+)?{Q_OPEN}(?P<name>[^'\x22“”‘’]+){Q_CLOSE}"
    ))
});
static OPEN_TAB: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\bopen\s+(?:a\s+)?new\s+tab(?:\s+(?:at|with|to|for|on)\s+(?P<url>https?://[^\s'\x22<>]+))?",
    )
});
static SWITCH_TAB: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\b(?:switch|go|return|change)\s+(?:back\s+)?to\s+(?:tab\s+(?P<n>\d+)|the\s+(?P<which>first|original|last|new|newest)\s+tab)",
    )
});
static CLOSE_TAB: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\bclose\s+(?:tab\s+(?P<n>\d+)|the\s+(?P<which>first|original|last|new|newest)\s+tab|(?:the|this)\s+(?:current\s+)?tab)",
    )
});

fn tab_ref(c: &regex::Captures<'_>) -> Option<TabRef> {
    if let Some(n) = c.name("n").and_then(|m| m.as_str().parse().ok()) {
        return Some(TabRef::Id(n));
    }
    match c.name("which")?.as_str().to_ascii_lowercase().as_str() {
        "first" | "original" => Some(TabRef::First),
        _ => Some(TabRef::Last),
    }
}

/// Patterns are constants; a bad one is a programming error caught by the unit tests, so fall
/// back to a pattern that never matches instead of panicking on a request path.
fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| {
        tracing::error!(%e, "invalid offline planner pattern");
        Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!())
    })
}

/// Where a match begins in the task text.
fn start(c: &regex::Captures<'_>) -> usize {
    c.get(0).map_or(0, |m| m.start())
}

/// The field a TYPE or SELECT instruction names, quoted or not.
fn field_of(c: &regex::Captures<'_>) -> String {
    c.name("qfield")
        .or_else(|| c.name("field"))
        .map(|m| m.as_str().trim().to_string())
        .unwrap_or_default()
}

/// Instructions in the order they appear in `task`.
fn parse_instructions(task: &str) -> Vec<Instruction> {
    let mut found: Vec<(usize, Instruction)> = Vec::new();
    for c in TYPE.captures_iter(task) {
        let field = field_of(&c);
        found.push((
            start(&c),
            Instruction::Type {
                text: c["text"].to_string(),
                field,
            },
        ));
    }
    for c in CLICK.captures_iter(task) {
        let start = start(&c);
        let kind = c
            .get(1)
            .or_else(|| c.name("kind"))
            .map(|m| m.as_str().to_ascii_lowercase());
        found.push((
            start,
            Instruction::Click {
                name: c["name"].trim().to_string(),
                kind,
            },
        ));
    }
    for c in NAVIGATE.captures_iter(task) {
        let url = c["url"].trim_end_matches(['.', ',', ')', ';']).to_string();
        found.push((start(&c), Instruction::Navigate { url }));
    }
    for c in KEY.captures_iter(task) {
        let chord = c["key"].replace(' ', "");
        found.push((start(&c), Instruction::Key { chord }));
    }
    for c in SCROLL.captures_iter(task) {
        let px: f64 = c
            .name("px")
            .and_then(|m| m.as_str().parse().ok())
            .unwrap_or(500.0);
        let dy = match (
            c.name("dir").map(|m| m.as_str().to_ascii_lowercase()),
            c.name("edge").map(|m| m.as_str().to_ascii_lowercase()),
        ) {
            (Some(d), _) if d == "up" => -px,
            (Some(_), _) => px,
            (None, Some(e)) if e == "top" => -1.0e6,
            _ => 1.0e6,
        };
        found.push((start(&c), Instruction::Scroll { dy }));
    }
    for c in HISTORY.captures_iter(task) {
        let delta = if c["way"].eq_ignore_ascii_case("back") {
            -1
        } else {
            1
        };
        found.push((start(&c), Instruction::History { delta }));
    }
    for m in RELOAD.find_iter(task) {
        found.push((m.start(), Instruction::Reload));
    }
    for c in WAIT_TEXT.captures_iter(task) {
        found.push((
            start(&c),
            Instruction::WaitForText {
                text: c["text"].to_string(),
            },
        ));
    }
    for c in SELECT.captures_iter(task) {
        let field = field_of(&c);
        found.push((
            start(&c),
            Instruction::Select {
                option: c["option"].to_string(),
                field,
            },
        ));
    }
    for c in CHECK.captures_iter(task) {
        let verb = c["verb"].to_ascii_lowercase();
        found.push((
            start(&c),
            Instruction::SetChecked {
                name: c["name"].trim().to_string(),
                checked: verb == "check" || verb == "tick",
            },
        ));
    }
    for c in HOVER.captures_iter(task) {
        found.push((
            start(&c),
            Instruction::Hover {
                name: c["name"].trim().to_string(),
            },
        ));
    }
    for c in OPEN_TAB.captures_iter(task) {
        let url = c.name("url").map(|m| {
            m.as_str()
                .trim_end_matches(['.', ',', ')', ';'])
                .to_string()
        });
        found.push((start(&c), Instruction::OpenTab { url }));
    }
    for c in SWITCH_TAB.captures_iter(task) {
        if let Some(which) = tab_ref(&c) {
            found.push((start(&c), Instruction::SwitchTab { which }));
        }
    }
    for c in CLOSE_TAB.captures_iter(task) {
        found.push((start(&c), Instruction::CloseTab { which: tab_ref(&c) }));
    }
    // "press 'Enter'" reads as both a click on something named Enter and a key press, and
    // "select 'L' from the 'S' list" as a click on L: at the same position the more specific
    // reading wins.
    found.sort_by_key(|(pos, i)| {
        (
            *pos,
            !matches!(i, Instruction::Key { .. } | Instruction::Select { .. }),
        )
    });
    found.dedup_by_key(|(pos, _)| *pos);
    found.into_iter().map(|(_, i)| i).collect()
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn roles_for(kind: Option<&str>) -> &'static [&'static str] {
    match kind {
        Some("link") => &["link"],
        Some("button") => &["button", "menuitem", "link"],
        Some("tab") => &["tab"],
        Some("checkbox") => &["checkbox", "switch"],
        Some("option") => &["option", "radio", "menuitemradio"],
        Some("menu item") => &["menuitem", "menuitemcheckbox", "menuitemradio"],
        _ => &[
            "button",
            "link",
            "menuitem",
            "tab",
            "checkbox",
            "radio",
            "switch",
            "option",
            "menuitemcheckbox",
            "menuitemradio",
            "treeitem",
        ],
    }
}

const TEXT_ROLES: &[&str] = &["textbox", "searchbox", "combobox", "spinbutton", "textarea"];

/// The best element among those with one of `roles` whose name matches `wanted`: exact, then
/// prefix, then substring; document order breaks ties.
fn find<'a>(page: &'a PageState, roles: &[&str], wanted: &str) -> Option<&'a Element> {
    let wanted = normalize(wanted);
    let candidates: Vec<&Element> = page
        .elements
        .iter()
        .filter(|e| roles.contains(&e.role.as_str()) && !e.disabled)
        .collect();
    let name = |e: &&Element| normalize(&e.name);
    candidates
        .iter()
        .find(|e| name(e) == wanted)
        .or_else(|| candidates.iter().find(|e| name(e).starts_with(&wanted)))
        .or_else(|| {
            candidates
                .iter()
                .find(|e| !wanted.is_empty() && name(e).contains(&wanted))
        })
        .copied()
}

/// The tab an instruction names, among the page's tabs (the list is empty with one tab).
fn resolve_tab(page: &PageState, which: &TabRef) -> TabId {
    match which {
        TabRef::Id(n) => TabId(*n),
        TabRef::First => page.tabs.iter().map(|t| t.id).min().unwrap_or(TabId(0)),
        TabRef::Last => page.tabs.iter().map(|t| t.id).max().unwrap_or(TabId(0)),
    }
}

const CHECKABLE_ROLES: &[&str] = &[
    "checkbox",
    "radio",
    "switch",
    "menuitemcheckbox",
    "menuitemradio",
];
const SELECT_ROLES: &[&str] = &["combobox", "listbox"];

/// The best element of any role whose name matches `wanted` (see [`find`]).
fn find_any<'a>(page: &'a PageState, wanted: &str) -> Option<&'a Element> {
    let roles: Vec<&str> = page.elements.iter().map(|e| e.role.as_str()).collect();
    find(page, &roles, wanted)
}

/// A plain-language account of the page, used as the answer.
fn describe(page: &PageState) -> String {
    let mut out = String::new();
    match page.headings.first() {
        Some(h) => out.push_str(&format!(
            "The page \"{}\" shows the heading \"{}\".",
            page.title, h
        )),
        None => out.push_str(&format!(
            "The page \"{}\" is open at {}.",
            page.title, page.url
        )),
    }
    let digest: String = page.text.chars().take(400).collect();
    if !digest.trim().is_empty() {
        out.push_str(" Visible text: ");
        out.push_str(digest.trim());
        if page.text.chars().count() > 400 {
            out.push('…');
        }
    }
    out
}

/// Facts about the page, by the property names a schema is likely to use.
fn page_fact(page: &PageState, property: &str, message: &str) -> Option<Value> {
    let p = property.to_ascii_lowercase();
    let v = match p.as_str() {
        "title" | "pagetitle" | "page_title" => page.title.clone(),
        "url" | "pageurl" | "page_url" | "link" => page.url.clone(),
        "heading" | "h1" | "mainheading" | "main_heading" | "header" => {
            page.headings.first()?.clone()
        }
        "text" | "content" | "body" => page.text.clone(),
        "message" | "summary" | "answer" | "result" | "description" => message.to_string(),
        _ => return None,
    };
    Some(Value::String(v))
}

/// The structured output for `output`, from page facts; `Err` when the schema asks for more.
fn structured(
    output: &OutputSpec,
    page: &PageState,
    message: &str,
) -> Result<(String, Option<Value>), Error> {
    match output {
        OutputSpec::Text => Ok((message.to_string(), None)),
        OutputSpec::Json(schema) => {
            let mut obj = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for name in props.keys() {
                    if let Some(v) = page_fact(page, name, message) {
                        obj.insert(name.clone(), v);
                    }
                }
            }
            let value = Value::Object(obj);
            let valid = jsonschema::validator_for(schema)
                .map(|v| v.is_valid(&value))
                .unwrap_or(false);
            if !valid {
                return Err(Error::OutputValidationFailed {
                    reason:
                        "the offline planner can only fill title, url, heading, text and summary \
                             properties; configure an LLM planner for richer structured output"
                            .into(),
                });
            }
            Ok((value.to_string(), Some(value)))
        }
        OutputSpec::Csv(columns) => {
            let row: Vec<String> = columns
                .iter()
                .map(|c| match page_fact(page, c, message) {
                    Some(Value::String(s)) => csv_field(&s),
                    _ => String::new(),
                })
                .collect();
            let header: Vec<String> = columns.iter().map(|c| csv_field(c)).collect();
            Ok((format!("{}\n{}\n", header.join(","), row.join(",")), None))
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The built-in, model-free planner.
#[derive(Clone, Copy, Debug, Default)]
pub struct OfflinePlanner;

#[async_trait]
impl Planner for OfflinePlanner {
    async fn next_step(&self, input: PlannerInput<'_>) -> (PlannerStep, PlannerUsage) {
        (self.plan(input), PlannerUsage::default())
    }
}

impl OfflinePlanner {
    fn plan(&self, input: PlannerInput<'_>) -> PlannerStep {
        let instructions = parse_instructions(input.task);
        let done_actions = input
            .history
            .iter()
            .filter(|s| !matches!(s.action, Action::Wait { .. }))
            .count();
        let waits_since_last_action = input
            .history
            .iter()
            .rev()
            .take_while(|s| matches!(s.action, Action::Wait { .. }))
            .count();

        let Some(next) = instructions.get(done_actions) else {
            let mut message = String::new();
            for step in input
                .history
                .iter()
                .filter(|s| !matches!(s.action, Action::Wait { .. }))
            {
                message.push_str(&capitalized(&step.outcome));
                message.push_str(". ");
            }
            message.push_str(&describe(input.page));
            return match structured(input.output, input.page, &message) {
                Ok((message, output)) => PlannerStep::Done { message, output },
                Err(e) => PlannerStep::Fail(e),
            };
        };

        let direct = |action: Action, reasoning: String| PlannerStep::Act { action, reasoning };
        let (target, looked_for) = match next {
            Instruction::Navigate { url } => {
                return direct(
                    Action::Navigate { url: url.clone() },
                    format!("The task says to open {url}."),
                );
            }
            Instruction::Key { chord } => {
                return direct(
                    Action::PressKey {
                        chord: chord.clone(),
                    },
                    format!("The task says to press {chord}."),
                );
            }
            Instruction::Scroll { dy } => {
                return direct(
                    Action::Scroll { dx: 0.0, dy: *dy },
                    "The task says to scroll.".into(),
                );
            }
            Instruction::History { delta } => {
                return direct(
                    Action::History { delta: *delta },
                    "The task says to move in history.".into(),
                );
            }
            Instruction::Reload => {
                return direct(Action::Reload, "The task says to reload the page.".into());
            }
            Instruction::WaitForText { text } => {
                return direct(
                    Action::WaitForText { text: text.clone() },
                    format!("The task says to wait for \"{text}\"."),
                );
            }
            Instruction::OpenTab { url } => {
                return direct(
                    Action::OpenTab { url: url.clone() },
                    "The task says to open a new tab.".into(),
                );
            }
            Instruction::SwitchTab { which } => {
                let tab = resolve_tab(input.page, which);
                return direct(
                    Action::SwitchTab { tab },
                    format!("The task says to switch to tab {tab}."),
                );
            }
            Instruction::CloseTab { which } => {
                let tab = which.as_ref().map(|w| resolve_tab(input.page, w));
                return direct(
                    Action::CloseTab { tab },
                    "The task says to close a tab.".into(),
                );
            }
            Instruction::Select { field, .. } => (
                find(input.page, SELECT_ROLES, field),
                json!({"action": "select", "role": "combobox", "name": field}),
            ),
            Instruction::SetChecked { name, .. } => (
                find(input.page, CHECKABLE_ROLES, name),
                json!({"action": "check", "role": "checkbox", "name": name}),
            ),
            Instruction::Hover { name } => (
                find_any(input.page, name),
                json!({"action": "hover", "name": name}),
            ),
            Instruction::Click { name, kind } => (
                find(input.page, roles_for(kind.as_deref()), name),
                json!({"action": "click", "role": kind.clone().unwrap_or_else(|| "any".into()), "name": name}),
            ),
            Instruction::Type { field, .. } => (
                find(input.page, TEXT_ROLES, field),
                json!({"action": "type", "role": "textbox", "name": field}),
            ),
        };
        match (target, next) {
            (Some(el), Instruction::Click { name, .. }) => PlannerStep::Act {
                action: Action::Click { id: el.id },
                reasoning: format!(
                    "Clicking the {} \"{}\" as asked (\"{name}\").",
                    el.role, el.name
                ),
            },
            (Some(el), Instruction::Type { text, field }) => PlannerStep::Act {
                action: Action::Type {
                    id: el.id,
                    text: text.clone(),
                },
                reasoning: format!(
                    "Typing into the {} \"{}\" as asked (\"{field}\").",
                    el.role, el.name
                ),
            },
            (Some(el), Instruction::Select { option, field }) => PlannerStep::Act {
                action: Action::Select {
                    id: el.id,
                    option: option.clone(),
                },
                reasoning: format!(
                    "Choosing \"{option}\" in the {} \"{}\" as asked (\"{field}\").",
                    el.role, el.name
                ),
            },
            (Some(el), Instruction::SetChecked { name, checked }) => PlannerStep::Act {
                action: Action::SetChecked {
                    id: el.id,
                    checked: *checked,
                },
                reasoning: format!(
                    "{} the {} \"{}\" as asked (\"{name}\").",
                    if *checked { "Checking" } else { "Unchecking" },
                    el.role,
                    el.name
                ),
            },
            (Some(el), Instruction::Hover { name }) => PlannerStep::Act {
                action: Action::Hover { id: el.id },
                reasoning: format!(
                    "Hovering over the {} \"{}\" as asked (\"{name}\").",
                    el.role, el.name
                ),
            },
            _ if waits_since_last_action < FIND_RETRIES => PlannerStep::Act {
                action: Action::Wait { ms: FIND_RETRY_MS },
                reasoning: format!("No element matches {looked_for} yet; waiting for the page."),
            },
            _ => PlannerStep::Fail(Error::ElementNotFound { looked_for }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_instructions_in_order() {
        let got = parse_instructions(
            "Go to http://127.0.0.1:9/x, type 'alice' into the Username field, then click the \"Sign in\" button and tell me the heading.",
        );
        assert_eq!(
            got,
            vec![
                Instruction::Navigate {
                    url: "http://127.0.0.1:9/x".into()
                },
                Instruction::Type {
                    text: "alice".into(),
                    field: "Username".into()
                },
                Instruction::Click {
                    name: "Sign in".into(),
                    kind: Some("button".into())
                },
            ]
        );
    }

    #[test]
    fn click_link_and_quoted_field() {
        let got = parse_instructions("Click on the 'Docs' link. Enter \"42\" in the 'Age' box");
        assert_eq!(
            got,
            vec![
                Instruction::Click {
                    name: "Docs".into(),
                    kind: Some("link".into())
                },
                Instruction::Type {
                    text: "42".into(),
                    field: "Age".into()
                },
            ]
        );
    }

    #[test]
    fn keys_scrolls_history_and_waits() {
        let got = parse_instructions(
            "Type 'tea' into the Search field, press Enter, wait for 'Results', scroll down, go back and refresh the page. Then press 'Control+A'.",
        );
        assert_eq!(
            got,
            vec![
                Instruction::Type {
                    text: "tea".into(),
                    field: "Search".into()
                },
                Instruction::Key {
                    chord: "Enter".into()
                },
                Instruction::WaitForText {
                    text: "Results".into()
                },
                Instruction::Scroll { dy: 500.0 },
                Instruction::History { delta: -1 },
                Instruction::Reload,
                Instruction::Key {
                    chord: "Control+A".into()
                },
            ]
        );
        // A quoted element name is still a click.
        assert_eq!(
            parse_instructions("press the 'Sign in' button"),
            vec![Instruction::Click {
                name: "Sign in".into(),
                kind: Some("button".into())
            }]
        );
    }

    #[test]
    fn selects_checks_hovers_and_tabs() {
        let got = parse_instructions(
            "Select 'Large' from the 'Size' dropdown, check 'I agree', uncheck \"Newsletter\", hover over the menu 'Products', open a new tab at http://127.0.0.1:9/b. Switch to tab 0, switch to the new tab, close tab 3 and close this tab.",
        );
        assert_eq!(
            got,
            vec![
                Instruction::Select {
                    option: "Large".into(),
                    field: "Size".into()
                },
                Instruction::SetChecked {
                    name: "I agree".into(),
                    checked: true
                },
                Instruction::SetChecked {
                    name: "Newsletter".into(),
                    checked: false
                },
                Instruction::Hover {
                    name: "Products".into()
                },
                Instruction::OpenTab {
                    url: Some("http://127.0.0.1:9/b".into())
                },
                Instruction::SwitchTab {
                    which: TabRef::Id(0)
                },
                Instruction::SwitchTab {
                    which: TabRef::Last
                },
                Instruction::CloseTab {
                    which: Some(TabRef::Id(3))
                },
                Instruction::CloseTab { which: None },
            ]
        );
        assert_eq!(
            parse_instructions("select 'Blue' in the Color list"),
            vec![Instruction::Select {
                option: "Blue".into(),
                field: "Color".into()
            }]
        );
        assert_eq!(
            parse_instructions("open a new tab"),
            vec![Instruction::OpenTab { url: None }]
        );
    }

    #[test]
    fn csv_quotes_fields_that_need_it() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
