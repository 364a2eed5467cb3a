//! What the agent "sees": a compact, accessibility-tree based page state and
//! its token-lean prompt serialization.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::context::BrowserContext;
use crate::error::BrowserError;

/// Maximum characters of the visible-text digest.
const TEXT_LIMIT: usize = 2000;
/// Maximum characters of an element name or value in the prompt text.
const NAME_LIMIT: usize = 120;

/// AX roles the agent can act on. Anything else is context, not a target.
const INTERACTIVE_ROLES: &[&str] = &[
    "button",
    "link",
    "textbox",
    "searchbox",
    "combobox",
    "checkbox",
    "radio",
    "menuitem",
    "menuitemcheckbox",
    "menuitemradio",
    "tab",
    "option",
    "switch",
    "slider",
    "spinbutton",
    "listbox",
    "treeitem",
    "textarea",
];

/// Roles whose AX `value` is meaningful to show (for links it is the href).
const VALUE_ROLES: &[&str] = &[
    "textbox",
    "searchbox",
    "combobox",
    "slider",
    "spinbutton",
    "listbox",
    "textarea",
];

/// Identifies an element within one page state; refers to the most recent
/// `page_state` of its context.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ElementId(pub u32);

impl fmt::Display for ElementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An element the agent can interact with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Element {
    /// Id to pass to actions.
    pub id: ElementId,
    /// Accessibility role, e.g. `button`, `link`, `textbox`.
    pub role: String,
    /// Accessible name (label, text content, aria-label, placeholder...).
    pub name: String,
    /// Current value for fields, sliders and the like.
    pub value: Option<String>,
    /// Checked state for checkboxes, radios and switches (mixed → `false`).
    pub checked: Option<bool>,
    /// Whether the element is disabled.
    pub disabled: bool,
    /// DOM backend node id: how actions find the element again. Not
    /// serialized because it means nothing outside this page.
    #[serde(skip)]
    pub(crate) backend_node_id: i64,
}

impl Element {
    /// An element with just an id, role and name (handy for fixtures).
    pub fn new(id: ElementId, role: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id,
            role: role.into(),
            name: name.into(),
            ..Self::default()
        }
    }
}

/// A snapshot of the page as the agent perceives it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PageState {
    /// Page URL at snapshot time.
    pub url: String,
    /// Document title.
    pub title: String,
    /// h1–h3 headings in document order.
    pub headings: Vec<String>,
    /// Whitespace-collapsed visible text, truncated to ~2000 characters.
    pub text: String,
    /// Interactive elements in document order.
    pub elements: Vec<Element>,
}

impl PageState {
    /// Renders the state as compact text for a model prompt: one line per
    /// element (`[3] button "Sign up"`), then title, url, headings and text.
    pub fn to_prompt_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for el in &self.elements {
            let _ = write!(out, "[{}] {} {}", el.id, el.role, quote(&el.name));
            if let Some(value) = el.value.as_deref().filter(|v| !v.is_empty()) {
                let _ = write!(out, " value={}", quote(value));
            }
            match el.checked {
                Some(true) => out.push_str(" checked"),
                Some(false) => out.push_str(" unchecked"),
                None => {}
            }
            if el.disabled {
                out.push_str(" disabled");
            }
            out.push('\n');
        }
        let _ = writeln!(out, "title: {}", self.title);
        let _ = writeln!(out, "url: {}", self.url);
        if !self.headings.is_empty() {
            let _ = writeln!(out, "headings: {}", self.headings.join(" | "));
        }
        if !self.text.is_empty() {
            let _ = writeln!(out, "text: {}", self.text);
        }
        out
    }
}

/// Quotes a name for the prompt, keeping it on one line and bounded.
fn quote(s: &str) -> String {
    let collapsed = truncate(&collapse_whitespace(s), NAME_LIMIT);
    format!("\"{}\"", collapsed.replace('"', "\\\""))
}

/// Collapses runs of whitespace (including newlines) into single spaces.
pub(crate) fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Truncates to `max` characters (not bytes), marking the cut with `…`.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// One node of `Accessibility.getFullAXTree`, tolerant of missing fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AxNode {
    node_id: String,
    ignored: bool,
    role: Option<AxValue>,
    name: Option<AxValue>,
    value: Option<AxValue>,
    properties: Vec<AxProperty>,
    child_ids: Vec<String>,
    parent_id: Option<String>,
    #[serde(rename = "backendDOMNodeId")]
    backend_dom_node_id: Option<i64>,
}

/// An `AXValue`; `value` is kept as raw JSON because its type varies.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AxValue {
    value: Value,
}

impl AxValue {
    fn as_text(&self) -> Option<String> {
        match &self.value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// A named AX property (`disabled`, `checked`, `level`, ...).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AxProperty {
    name: String,
    value: AxValue,
}

/// Result of a tree walk: elements (with ids) and headings.
#[derive(Debug, Default)]
pub(crate) struct Extracted {
    pub elements: Vec<Element>,
    pub headings: Vec<String>,
}

/// Turns a raw `getFullAXTree` result into elements and headings, in
/// document order (pre-order walk from the root).
pub(crate) fn extract(tree: &Value) -> Extracted {
    let nodes: Vec<AxNode> = tree
        .get("nodes")
        .and_then(Value::as_array)
        .map(|arr| {
            arr.iter()
                // One malformed node must not cost us the whole page.
                .filter_map(|n| serde_json::from_value(n.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.node_id.as_str(), i))
        .collect();
    let roots: Vec<usize> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            n.parent_id
                .as_deref()
                .is_none_or(|p| !index.contains_key(p))
        })
        .map(|(i, _)| i)
        .collect();

    let mut out = Extracted::default();
    let mut seen = HashSet::new();
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue; // Defends against malformed (cyclic) trees.
        }
        let node = &nodes[i];
        visit(node, &mut out);
        for child in node.child_ids.iter().rev() {
            if let Some(&c) = index.get(child.as_str()) {
                stack.push(c);
            }
        }
    }
    out
}

fn visit(node: &AxNode, out: &mut Extracted) {
    if node.ignored {
        return;
    }
    let role = node
        .role
        .as_ref()
        .and_then(AxValue::as_text)
        .unwrap_or_default();
    let name = node
        .name
        .as_ref()
        .and_then(AxValue::as_text)
        .map(|n| collapse_whitespace(&n))
        .unwrap_or_default();
    let prop = |wanted: &str| {
        node.properties
            .iter()
            .find(|p| p.name == wanted)
            .map(|p| &p.value.value)
    };
    if role == "heading" {
        let level = prop("level").and_then(Value::as_u64).unwrap_or(1);
        if level <= 3 && !name.is_empty() {
            out.headings.push(name);
        }
        return;
    }
    if !INTERACTIVE_ROLES.contains(&role.as_str()) {
        return;
    }
    let Some(backend_node_id) = node.backend_dom_node_id else {
        return;
    };
    let value = if VALUE_ROLES.contains(&role.as_str()) {
        node.value.as_ref().and_then(AxValue::as_text)
    } else {
        None
    };
    let checked = prop("checked").map(|v| match v {
        Value::Bool(b) => *b,
        Value::String(s) => s == "true",
        _ => false,
    });
    let disabled = prop("disabled")
        .map(|v| v.as_bool().unwrap_or(false) || v.as_str() == Some("true"))
        .unwrap_or(false);
    let id = ElementId(u32::try_from(out.elements.len() + 1).unwrap_or(u32::MAX));
    out.elements.push(Element {
        id,
        role,
        name,
        value,
        checked,
        disabled,
        backend_node_id,
    });
}

/// Page facts read from JavaScript in one round trip.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocInfo {
    url: String,
    title: String,
    text: String,
}

impl BrowserContext {
    /// Captures the current page state and makes its element ids the ones
    /// that actions on this context refer to.
    pub async fn page_state(&self) -> Result<PageState, BrowserError> {
        self.ensure_usable()?;
        let tree = self.call("Accessibility.getFullAXTree", json!({}));
        let doc = self.call(
            "Runtime.evaluate",
            json!({
                // Sliced in the page so a huge document does not travel whole.
                "expression": "({url: location.href, title: document.title, \
                    text: document.body ? document.body.innerText.slice(0, 20000) : ''})",
                "returnByValue": true,
            }),
        );
        let (tree, doc) = tokio::join!(tree, doc);
        let extracted = extract(&tree?);
        let doc = doc?;
        let info: DocInfo = match doc.pointer("/result/value") {
            Some(v) if doc.get("exceptionDetails").is_none() => {
                serde_json::from_value(v.clone()).unwrap_or_default()
            }
            _ => DocInfo {
                url: self.current_url().await?,
                ..DocInfo::default()
            },
        };
        let state = PageState {
            url: info.url,
            title: collapse_whitespace(&info.title),
            headings: extracted.headings,
            text: truncate(&collapse_whitespace(&info.text), TEXT_LIMIT),
            elements: extracted.elements,
        };
        *self.elements() = state.elements.iter().map(|e| (e.id, e.clone())).collect();
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_orders_and_filters() {
        let tree = json!({ "nodes": [
            { "nodeId": "1", "role": {"type":"role","value":"RootWebArea"}, "childIds": ["2","5","3","6"] },
            { "nodeId": "2", "parentId": "1", "role": {"value":"heading"}, "name": {"value":"Hello  world"},
              "properties": [{"name":"level","value":{"type":"integer","value":1}}], "backendDOMNodeId": 10 },
            { "nodeId": "3", "parentId": "1", "role": {"value":"button"}, "name": {"value":"Go"},
              "properties": [{"name":"disabled","value":{"type":"boolean","value":true}}], "backendDOMNodeId": 11 },
            { "nodeId": "5", "parentId": "1", "ignored": true, "childIds": ["4"] },
            { "nodeId": "4", "parentId": "5", "role": {"value":"textbox"}, "name": {"value":"Email"},
              "value": {"type":"string","value":"a@b"}, "backendDOMNodeId": 12 },
            { "nodeId": "6", "parentId": "1", "role": {"value":"checkbox"}, "name": {"value":"Agree"},
              "properties": [{"name":"checked","value":{"type":"tristate","value":"true"}}], "backendDOMNodeId": 13 },
            { "nodeId": "7", "parentId": "1", "role": {"value":"link"}, "name": {"value":"orphan-no-backend"} },
            { "nodeId": "8", "role": {"value":"heading"}, "name": {"value":"Deep"},
              "properties": [{"name":"level","value":{"value":4}}] },
            { "weird": "node with no fields" }
        ]});
        let out = extract(&tree);
        assert_eq!(out.headings, vec!["Hello world"]);
        let summary: Vec<_> = out
            .elements
            .iter()
            .map(|e| (e.id.0, e.role.as_str(), e.name.as_str(), e.backend_node_id))
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, "textbox", "Email", 12),
                (2, "button", "Go", 11),
                (3, "checkbox", "Agree", 13)
            ]
        );
        assert_eq!(out.elements[0].value.as_deref(), Some("a@b"));
        assert!(out.elements[1].disabled);
        assert_eq!(out.elements[2].checked, Some(true));
    }

    #[test]
    fn prompt_text_is_compact() {
        let mut field = Element::new(ElementId(2), "textbox", "Email");
        field.value = Some("x\"y".into());
        let state = PageState {
            url: "http://127.0.0.1/".into(),
            title: "T".into(),
            headings: vec!["A".into(), "B".into()],
            text: String::new(),
            elements: vec![Element::new(ElementId(1), "button", "Sign\nup"), field],
        };
        assert_eq!(
            state.to_prompt_text(),
            "[1] button \"Sign up\"\n[2] textbox \"Email\" value=\"x\\\"y\"\n\
             title: T\nurl: http://127.0.0.1/\nheadings: A | B\n"
        );
    }

    #[test]
    fn truncate_counts_chars() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hi", 2), "hi");
    }
}
