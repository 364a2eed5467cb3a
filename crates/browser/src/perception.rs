//! What the agent "sees": a compact, indexed page state built from the
//! accessibility tree of every frame (main, same-process and out-of-process
//! iframes; open shadow roots come with the AX tree) merged with DOM facts
//! from `DOMSnapshot` (geometry, input types, click listeners), plus its
//! token-lean prompt serialization.
//!
//! Design choices, and why:
//! - The AX tree gives roles, accessible names and states the way assistive
//!   technology (and a planner) understands the page; the DOM snapshot adds
//!   what the AX tree lacks: where things are (viewport), `<input type=file>`,
//!   `download` links, and click handlers on otherwise generic elements.
//! - Every actionable element of the page is in the state (and actionable by
//!   id), also off-viewport ones. The prompt lists them one by one within a
//!   window of the viewport ± 1000 px (plus anything focused or in a modal
//!   dialog); further away, each run of elements becomes one summary line
//!   (how many links/buttons/fields, under which headings), so a 4,000-link
//!   page costs what its visible part costs. `all_elements` lists everything.
//! - Informative content is kept short: headings (structure) everywhere, a
//!   text digest of the viewport only (the whole page with `full_page`).
//! - Ids are stable across calls while the document lives (keyed by frame +
//!   backend node id), so the planner's references survive a re-observation.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::context::BrowserContext;
use crate::error::BrowserError;
use crate::frames::{DiscoveredFrame, FrameRoute};

/// Maximum characters of the `text` field (innerText of the main document).
const TEXT_LIMIT: usize = 2000;
/// Maximum characters of the prompt's text digest (viewport text).
const DIGEST_LIMIT: usize = 600;
/// Maximum characters of the prompt's text digest with `full_page`.
const DIGEST_LIMIT_FULL: usize = 4000;
/// Maximum characters of an element name or value in the prompt text.
const NAME_LIMIT: usize = 100;
/// Options of a native `<select>` shown inline before eliding the rest.
const OPTIONS_LIMIT: usize = 12;
/// Consecutive plain links folded onto one prompt line.
const LINKS_PER_LINE: usize = 10;
/// Ids listed in the `changes:` line before eliding the rest.
const DIFF_IDS_LIMIT: usize = 12;
/// Guard against pathological (or cyclic) AX trees.
const MAX_DEPTH: usize = 2000;
/// How far above and below the viewport (CSS px) the prompt lists elements one by one; beyond
/// it, runs of elements are summarised (counts and headings) and the planner scrolls to them.
const WINDOW_MARGIN: f64 = 1000.0;
/// Headings named in one summary line of elements outside the window.
const SUMMARY_HEADINGS: usize = 6;

/// AX roles the agent can act on. Anything else is context, not a target.
/// Includes Chromium's internal role names for controls without an ARIA
/// equivalent (`DisclosureTriangle` is `<summary>`, `PopUpButton` an old
/// `<select>`, the date/time/color inputs).
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
    "gridcell",
    "DisclosureTriangle",
    "PopUpButton",
    "ToggleButton",
    "Date",
    "DateTime",
    "InputTime",
    "ColorWell",
    "MenuListOption",
    "ListBoxOption",
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
    "PopUpButton",
    "Date",
    "DateTime",
    "InputTime",
    "ColorWell",
];

/// `<input type>` values worth telling the planner (the role already says
/// "textbox"/"checkbox"; these change what it may type or do).
const TELLING_INPUT_TYPES: &[&str] = &[
    "file",
    "password",
    "email",
    "number",
    "tel",
    "url",
    "date",
    "time",
    "month",
    "week",
    "datetime-local",
    "color",
    "range",
];

/// Identifies an element within one context; stable across consecutive
/// `page_state` calls while the element (same frame, same DOM node) lives.
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

/// A rectangle in CSS pixels, in main-viewport coordinates at snapshot time.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Rect {
    fn intersects(&self, other: &Rect) -> bool {
        self.x < other.x + other.width
            && other.x < self.x + self.width
            && self.y < other.y + other.height
            && other.y < self.y + self.height
    }

    fn intersection(&self, other: &Rect) -> Rect {
        let x = self.x.max(other.x);
        let y = self.y.max(other.y);
        let right = (self.x + self.width).min(other.x + other.width);
        let bottom = (self.y + self.height).min(other.y + other.height);
        Rect {
            x,
            y,
            width: (right - x).max(0.0),
            height: (bottom - y).max(0.0),
        }
    }
}

/// An element the agent can interact with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Element {
    /// Id to pass to actions.
    pub id: ElementId,
    /// Accessibility role, e.g. `button`, `link`, `textbox`; `clickable` for
    /// generic elements with a click handler.
    pub role: String,
    /// Accessible name (label, text content, aria-label, placeholder...).
    pub name: String,
    /// Current value for fields, sliders, selects and the like.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Checked state for checkboxes, radios and switches (mixed → `false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked: Option<bool>,
    /// Whether the element is disabled.
    #[serde(skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// Selected state (tabs, options, tree items), when the role has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected: Option<bool>,
    /// Expanded state (combobox, tree item, disclosure), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expanded: Option<bool>,
    /// Pressed state of toggle buttons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pressed: Option<bool>,
    /// Whether the element has keyboard focus.
    #[serde(skip_serializing_if = "is_false")]
    pub focused: bool,
    /// Whether the field is required.
    #[serde(skip_serializing_if = "is_false")]
    pub required: bool,
    /// Whether any part of it is inside the viewport (and inside the visible
    /// part of its iframes).
    pub in_viewport: bool,
    /// Where it is, in main-viewport CSS pixels; `None` when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rect: Option<Rect>,
    /// Index into [`PageState::frames`] of the iframe it lives in; `None`
    /// for the main frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<usize>,
    /// `type` of an `<input>` when it changes what can be done with it
    /// (`file`, `password`, `email`, `date`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_type: Option<String>,
    /// A link with the `download` attribute.
    #[serde(skip_serializing_if = "is_false")]
    pub download: bool,
    /// Option labels of a native `<select>`, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// DOM backend node id: how actions find the element again. Not
    /// serialized because it means nothing outside this page.
    #[serde(skip)]
    pub(crate) backend_node_id: i64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Element {
    /// An element with just an id, role and name (handy for fixtures).
    pub fn new(id: ElementId, role: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id,
            role: role.into(),
            name: name.into(),
            in_viewport: true,
            ..Self::default()
        }
    }

    /// Where the element is relative to the viewport, for section markers.
    fn zone(&self) -> Zone {
        if self.in_viewport {
            return Zone::In;
        }
        match self.rect {
            Some(r) if r.y + r.height <= 0.0 => Zone::Above,
            _ => Zone::Below,
        }
    }

    /// A link or button without any state worth a line of its own: runs
    /// of these fold onto shared lines.
    fn is_plain(&self) -> bool {
        matches!(self.role.as_str(), "link" | "button")
            && self.value.is_none()
            && self.input_type.is_none()
            && self.pressed.is_none()
            && !self.disabled
            && !self.focused
            && !self.download
            && self.selected.is_none()
            && self.expanded.is_none()
            && self.checked.is_none()
    }
}

/// Scroll position and sizes of the main document, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Scroll {
    /// Horizontal scroll offset.
    pub x: f64,
    /// Vertical scroll offset.
    pub y: f64,
    /// Full document width.
    pub page_width: f64,
    /// Full document height.
    pub page_height: f64,
    /// Viewport width.
    pub viewport_width: f64,
    /// Viewport height.
    pub viewport_height: f64,
}

/// An iframe whose content is part of the state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FrameInfo {
    /// The frame's document URL.
    pub url: String,
    /// The `<iframe>`'s accessible name (its `title`), if any.
    pub name: String,
    /// Whether its origin differs from the main document's.
    pub cross_origin: bool,
    /// Whether Chromium runs it in another renderer process (its own CDP
    /// session).
    pub out_of_process: bool,
    /// Index of the enclosing iframe; `None` when the parent is the main frame.
    pub parent: Option<usize>,
}

/// Non-element structure shown around elements in the prompt, in document
/// order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutlineItem {
    /// An element of [`PageState::elements`], by id.
    Element {
        /// The element's id.
        id: ElementId,
    },
    /// A heading (context for the elements after it).
    Heading {
        /// Heading level, 1–6.
        level: u8,
        /// Heading text.
        text: String,
    },
    /// Content of [`PageState::frames`]`[index]` starts here.
    FrameStart {
        /// Index into [`PageState::frames`].
        index: usize,
    },
    /// The innermost open frame ends here.
    FrameEnd,
    /// A dialog starts here.
    DialogStart {
        /// The dialog's accessible name.
        name: String,
        /// Whether it is modal (the rest of the page is inert).
        modal: bool,
    },
    /// The innermost open dialog ends here.
    DialogEnd,
}

/// What changed since the context's previous page state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StateDiff {
    /// The main document was replaced (navigation): ids start over.
    pub new_page: bool,
    /// Ids present now but not before (same document only).
    pub added: Vec<ElementId>,
    /// Ids present before but not now (same document only).
    pub removed: Vec<ElementId>,
    /// The previous URL, when it changed.
    pub previous_url: Option<String>,
    /// The previous title, when it changed.
    pub previous_title: Option<String>,
}

impl StateDiff {
    fn is_empty(&self) -> bool {
        !self.new_page
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.previous_url.is_none()
            && self.previous_title.is_none()
    }
}

/// How to take a page state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerceiveOptions {
    /// Also describe informative content outside the viewport (the text
    /// digest covers the whole page). The state holds every actionable
    /// element page-wide, with or without this.
    pub full_page: bool,
    /// List every element in the prompt text one by one, not only those near
    /// the viewport (the others are otherwise summarised).
    pub all_elements: bool,
}

/// A snapshot of the page as the agent perceives it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PageState {
    /// Page URL at snapshot time.
    pub url: String,
    /// Document title.
    pub title: String,
    /// h1–h3 headings in document order (all frames).
    pub headings: Vec<String>,
    /// Whitespace-collapsed `innerText` of the main document, truncated to
    /// ~2000 characters (for answers that quote the page).
    pub text: String,
    /// Actionable elements in document order (iframe content in place).
    pub elements: Vec<Element>,
    /// Scroll position and sizes of the main document.
    pub scroll: Scroll,
    /// Iframes whose content is included.
    pub frames: Vec<FrameInfo>,
    /// Elements interleaved with headings, frame and dialog boundaries, in
    /// document order; what the prompt text walks.
    pub outline: Vec<OutlineItem>,
    /// Short digest of the text not already part of element names or
    /// headings: the viewport's (or the whole page's with `full_page`).
    pub digest: String,
    /// Changes since the previous state of this context; `None` for the
    /// first one.
    pub diff: Option<StateDiff>,
    /// Whether this state was taken with [`PerceiveOptions::full_page`].
    pub full_page: bool,
    /// Whether the prompt lists every element ([`PerceiveOptions::all_elements`]).
    #[serde(skip_serializing_if = "is_false")]
    pub all_elements: bool,
    /// The context's tabs when it has more than one (empty otherwise); the state itself is
    /// the active tab's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tabs: Vec<crate::tabs::TabInfo>,
}

/// Where an element sits relative to the viewport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    Above,
    In,
    Below,
}

impl PageState {
    /// Renders the state as compact text for a model prompt: a header
    /// (title, url, scroll, changes), then one short line per element
    /// (`[3] button "Sign up"`) with headings, iframe and dialog boundaries
    /// and viewport markers in between, then the text digest.
    pub fn to_prompt_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "title: {}", one_line(&self.title, 200));
        let _ = writeln!(out, "url: {}", self.url);
        self.write_scroll(&mut out);
        self.write_tabs(&mut out);
        self.write_changes(&mut out);

        let by_id: HashMap<ElementId, &Element> = self.elements.iter().map(|e| (e.id, e)).collect();
        let fallback: Vec<OutlineItem>;
        let outline = if self.outline.is_empty() {
            fallback = self
                .elements
                .iter()
                .map(|e| OutlineItem::Element { id: e.id })
                .collect();
            &fallback
        } else {
            &self.outline
        };
        let shown = self.shown(outline, &by_id);
        let mut zone = Zone::In;
        let mut links: Vec<&Element> = Vec::new();
        let mut hidden = HiddenRun::default();
        for (item, shown) in outline.iter().zip(shown) {
            if !shown {
                flush_links(&mut out, &mut links);
                hidden.add(item, &by_id);
                continue;
            }
            hidden.flush(&mut out);
            match item {
                OutlineItem::Element { id } => {
                    let Some(el) = by_id.get(id) else { continue };
                    let el_zone = el.zone();
                    if el_zone != zone {
                        flush_links(&mut out, &mut links);
                        zone = el_zone;
                        out.push_str(match zone {
                            Zone::Above => "-- above viewport --\n",
                            Zone::In => "-- in viewport --\n",
                            Zone::Below => "-- below viewport --\n",
                        });
                    }
                    if el.is_plain() {
                        if links.first().is_some_and(|l| l.role != el.role) {
                            flush_links(&mut out, &mut links);
                        }
                        links.push(el);
                        if links.len() == LINKS_PER_LINE {
                            flush_links(&mut out, &mut links);
                        }
                    } else {
                        flush_links(&mut out, &mut links);
                        write_element(&mut out, el);
                    }
                }
                other => {
                    flush_links(&mut out, &mut links);
                    self.write_structure(&mut out, other);
                }
            }
        }
        flush_links(&mut out, &mut links);
        hidden.flush(&mut out);
        if !self.digest.is_empty() {
            let _ = writeln!(out, "text: {}", self.digest);
        }
        out
    }

    /// Which outline items the prompt writes out (the rest is summarised): elements within
    /// the window, focused or in a modal dialog; headings that introduce a shown element;
    /// frame and dialog boundaries around a shown element. Everything when `all_elements` or
    /// when the viewport is unknown.
    fn shown(&self, outline: &[OutlineItem], by_id: &HashMap<ElementId, &Element>) -> Vec<bool> {
        let vh = self.scroll.viewport_height;
        if self.all_elements || vh <= 0.0 {
            return vec![true; outline.len()];
        }
        let near = |el: &Element| {
            el.in_viewport
                || el.focused
                || el
                    .rect
                    .is_some_and(|r| r.y + r.height >= -WINDOW_MARGIN && r.y <= vh + WINDOW_MARGIN)
        };
        let mut shown = vec![false; outline.len()];
        let mut modal_depth = 0usize;
        let mut dialogs: Vec<bool> = Vec::new();
        for (i, item) in outline.iter().enumerate() {
            match item {
                OutlineItem::Element { id } => {
                    shown[i] = modal_depth > 0 || by_id.get(id).is_some_and(|el| near(el));
                }
                OutlineItem::DialogStart { modal, .. } => {
                    dialogs.push(*modal);
                    modal_depth += usize::from(*modal);
                }
                OutlineItem::DialogEnd if dialogs.pop() == Some(true) => modal_depth -= 1,
                _ => {}
            }
        }
        // Boundaries: shown when anything inside them is.
        let mut open: Vec<usize> = Vec::new();
        for i in 0..outline.len() {
            match &outline[i] {
                OutlineItem::FrameStart { .. } | OutlineItem::DialogStart { .. } => open.push(i),
                OutlineItem::FrameEnd | OutlineItem::DialogEnd => {
                    if let Some(start) = open.pop() {
                        let any = shown[start + 1..i].iter().any(|s| *s);
                        shown[start] = any;
                        shown[i] = any;
                    }
                }
                _ => {}
            }
        }
        // Headings: shown with the element they introduce (else the one before them).
        let mut next_element: Option<bool> = None;
        for i in (0..outline.len()).rev() {
            match &outline[i] {
                OutlineItem::Element { .. } => next_element = Some(shown[i]),
                OutlineItem::Heading { .. } => {
                    shown[i] = match next_element {
                        Some(s) => s,
                        None => outline[..i]
                            .iter()
                            .zip(&shown[..i])
                            .rev()
                            .find(|(it, _)| matches!(it, OutlineItem::Element { .. }))
                            .is_none_or(|(_, s)| *s),
                    };
                }
                _ => {}
            }
        }
        shown
    }

    fn write_scroll(&self, out: &mut String) {
        let s = &self.scroll;
        if s.viewport_height <= 0.0 {
            return;
        }
        // Only worth a line when the page scrolls or is scrolled.
        if s.page_height <= s.viewport_height + 1.0 && s.y == 0.0 && s.x == 0.0 {
            return;
        }
        let _ = write!(out, "scroll: y={:.0} of {:.0}", s.y, s.page_height);
        if s.x != 0.0 || s.page_width > s.viewport_width + 1.0 {
            let _ = write!(out, ", x={:.0} of {:.0}", s.x, s.page_width);
        }
        let _ = writeln!(
            out,
            " (viewport {:.0}x{:.0})",
            s.viewport_width, s.viewport_height
        );
    }

    /// `tabs: [0] Title | *[2] Other title` (the active one starred), only with several tabs.
    fn write_tabs(&self, out: &mut String) {
        if self.tabs.len() < 2 {
            return;
        }
        let listed: Vec<String> = self
            .tabs
            .iter()
            .map(|t| {
                let star = if t.active { "*" } else { "" };
                let label = if t.title.trim().is_empty() {
                    &t.url
                } else {
                    &t.title
                };
                format!("{star}[{}] {}", t.id, one_line(label, 60))
            })
            .collect();
        let _ = writeln!(out, "tabs (* active): {}", listed.join(" | "));
    }

    fn write_changes(&self, out: &mut String) {
        let Some(diff) = &self.diff else { return };
        if diff.new_page {
            out.push_str("changes: new page\n");
            return;
        }
        if diff.is_empty() {
            out.push_str("changes: none\n");
            return;
        }
        let mut parts: Vec<String> = Vec::new();
        let ids = |sign: char, ids: &[ElementId]| {
            let mut s = format!("{sign}{}", ids.len());
            for id in ids.iter().take(DIFF_IDS_LIMIT) {
                let _ = write!(s, " [{id}]");
            }
            if ids.len() > DIFF_IDS_LIMIT {
                s.push_str(" …");
            }
            s
        };
        if !diff.added.is_empty() {
            parts.push(ids('+', &diff.added));
        }
        if !diff.removed.is_empty() {
            parts.push(ids('-', &diff.removed));
        }
        if let Some(prev) = &diff.previous_url {
            parts.push(format!("url was {prev}"));
        }
        if let Some(prev) = &diff.previous_title {
            parts.push(format!("title was {}", quote(prev)));
        }
        let _ = writeln!(out, "changes: {}", parts.join(", "));
    }

    fn write_structure(&self, out: &mut String, item: &OutlineItem) {
        match item {
            OutlineItem::Element { .. } => {}
            OutlineItem::Heading { level, text } => {
                let hashes = "#".repeat(usize::from((*level).clamp(1, 6)));
                let _ = writeln!(out, "{hashes} {}", one_line(text, NAME_LIMIT));
            }
            OutlineItem::FrameStart { index } => {
                let Some(frame) = self.frames.get(*index) else {
                    out.push_str("-- iframe --\n");
                    return;
                };
                out.push_str("-- iframe");
                if !frame.name.is_empty() {
                    let _ = write!(out, " {}", quote(&frame.name));
                }
                if frame.cross_origin {
                    let _ = write!(out, " (cross-origin {})", origin_of(&frame.url));
                }
                out.push_str(" --\n");
            }
            OutlineItem::FrameEnd => out.push_str("-- end iframe --\n"),
            OutlineItem::DialogStart { name, modal } => {
                out.push_str("-- dialog");
                if !name.is_empty() {
                    let _ = write!(out, " {}", quote(name));
                }
                if *modal {
                    out.push_str(" (modal)");
                }
                out.push_str(" --\n");
            }
            OutlineItem::DialogEnd => out.push_str("-- end dialog --\n"),
        }
    }
}

/// A run of outline items outside the prompt's window, written as one summary line.
#[derive(Default)]
struct HiddenRun {
    links: usize,
    buttons: usize,
    fields: usize,
    other: usize,
    above: bool,
    below: bool,
    headings: Vec<String>,
    more_headings: usize,
}

impl HiddenRun {
    fn add(&mut self, item: &OutlineItem, by_id: &HashMap<ElementId, &Element>) {
        match item {
            OutlineItem::Element { id } => {
                let Some(el) = by_id.get(id) else { return };
                match el.role.as_str() {
                    "link" => self.links += 1,
                    "button" | "menuitem" | "menuitemcheckbox" | "menuitemradio" => {
                        self.buttons += 1
                    }
                    "textbox" | "searchbox" | "combobox" | "spinbutton" | "slider" | "checkbox"
                    | "radio" | "switch" | "listbox" => self.fields += 1,
                    _ => self.other += 1,
                }
                match el.zone() {
                    Zone::Above => self.above = true,
                    _ => self.below = true,
                }
            }
            OutlineItem::Heading { text, .. } => {
                if self.headings.len() < SUMMARY_HEADINGS {
                    self.headings.push(one_line(text, 40));
                } else {
                    self.more_headings += 1;
                }
            }
            _ => {}
        }
    }

    fn flush(&mut self, out: &mut String) {
        let total = self.links + self.buttons + self.fields + self.other;
        if total == 0 && self.headings.is_empty() {
            return;
        }
        let place = match (self.above, self.below) {
            (true, false) => "above",
            (false, true) => "below",
            _ => "off-screen",
        };
        let mut kinds = Vec::new();
        for (n, word) in [
            (self.links, "links"),
            (self.buttons, "buttons"),
            (self.fields, "fields"),
            (self.other, "other"),
        ] {
            if n > 0 {
                kinds.push(format!("{n} {word}"));
            }
        }
        let _ = write!(out, "-- {place}, scroll to see: {total} elements");
        if !kinds.is_empty() {
            let _ = write!(out, " ({})", kinds.join(", "));
        }
        if !self.headings.is_empty() {
            let _ = write!(out, "; headings: {}", self.headings.join(" | "));
            if self.more_headings > 0 {
                let _ = write!(out, " +{} more", self.more_headings);
            }
        }
        out.push_str(" --\n");
        *self = HiddenRun::default();
    }
}

/// Writes a run of plain links (or buttons): one line each when few, folded
/// as `links: [1] A [2] B …` otherwise (saves the role word and the
/// line break per element).
fn flush_links(out: &mut String, links: &mut Vec<&Element>) {
    if links.len() < 3 {
        for el in links.iter() {
            write_element(out, el);
        }
    } else {
        let _ = write!(
            out,
            "{}s:",
            links.first().map(|l| l.role.as_str()).unwrap_or("link")
        );
        for el in links.iter() {
            // The next `[id]` ends a name, so plain names need no quotes
            // (≈15 % fewer tokens on link-heavy pages); names that could be
            // mistaken for an id or are empty keep them.
            let name = one_line(&el.name, NAME_LIMIT);
            if name.is_empty() || name.contains(['[', ']', '"']) {
                let _ = write!(out, " [{}] {}", el.id, quote(&el.name));
            } else {
                let _ = write!(out, " [{}] {name}", el.id);
            }
        }
        out.push('\n');
    }
    links.clear();
}

/// One element line: `[id] role "name"` plus only the states that are set.
fn write_element(out: &mut String, el: &Element) {
    let _ = write!(out, "[{}] {}", el.id, el.role);
    if !el.name.is_empty() {
        let _ = write!(out, " {}", quote(&el.name));
    }
    if let Some(t) = &el.input_type {
        let _ = write!(out, " type={t}");
    }
    if let Some(value) = el
        .value
        .as_deref()
        .filter(|v| !v.is_empty() && *v != el.name)
    {
        let _ = write!(out, " value={}", quote(value));
    }
    match el.checked {
        Some(true) => out.push_str(" checked"),
        Some(false) => out.push_str(" unchecked"),
        None => {}
    }
    if el.selected == Some(true) {
        out.push_str(" selected");
    }
    match el.expanded {
        Some(true) => out.push_str(" expanded"),
        Some(false) => out.push_str(" collapsed"),
        None => {}
    }
    if el.pressed == Some(true) {
        out.push_str(" pressed");
    }
    if el.download {
        out.push_str(" download");
    }
    if el.required {
        out.push_str(" required");
    }
    if el.focused {
        out.push_str(" focused");
    }
    if el.disabled {
        out.push_str(" disabled");
    }
    if !el.options.is_empty() {
        let shown: Vec<String> = el
            .options
            .iter()
            .take(OPTIONS_LIMIT)
            .map(|o| one_line(o, 40))
            .collect();
        let _ = write!(out, " options: {}", shown.join(" | "));
        if el.options.len() > OPTIONS_LIMIT {
            let _ = write!(out, " | …+{}", el.options.len() - OPTIONS_LIMIT);
        }
    }
    out.push('\n');
}

/// `scheme://host[:port]` of a URL, or the URL itself when it has none.
fn origin_of(url: &str) -> &str {
    let Some(scheme_end) = url.find("://") else {
        return url;
    };
    let rest = &url[scheme_end + 3..];
    match rest.find('/') {
        Some(slash) => &url[..scheme_end + 3 + slash],
        None => url,
    }
}

/// Whitespace-collapsed and bounded, for one prompt line.
fn one_line(s: &str, max: usize) -> String {
    truncate(&collapse_whitespace(s), max)
}

/// Quotes a name for the prompt, keeping it on one line and bounded.
fn quote(s: &str) -> String {
    format!("\"{}\"", one_line(s, NAME_LIMIT).replace('"', "\\\""))
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

// ---------------------------------------------------------------------------
// Accessibility tree
// ---------------------------------------------------------------------------

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
    ignored_reasons: Vec<AxProperty>,
    #[serde(rename = "backendDOMNodeId")]
    backend_dom_node_id: Option<i64>,
}

impl AxNode {
    fn role(&self) -> &str {
        match self.role.as_ref().map(|r| &r.value) {
            Some(Value::String(s)) => s,
            _ => "",
        }
    }

    fn name(&self) -> String {
        self.name
            .as_ref()
            .and_then(AxValue::as_text)
            .map(|n| collapse_whitespace(&n))
            .unwrap_or_default()
    }

    fn prop(&self, wanted: &str) -> Option<&Value> {
        self.properties
            .iter()
            .find(|p| p.name == wanted)
            .map(|p| &p.value.value)
    }

    /// A boolean or tristate property; `mixed` counts as `false`.
    fn flag(&self, wanted: &str) -> Option<bool> {
        self.prop(wanted).map(|v| match v {
            Value::Bool(b) => *b,
            Value::String(s) => s == "true",
            _ => false,
        })
    }
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

/// One frame's AX tree, indexed.
#[derive(Debug, Default)]
pub(crate) struct AxTree {
    nodes: Vec<AxNode>,
    index: HashMap<String, usize>,
    roots: Vec<usize>,
}

impl AxTree {
    /// Parses a raw `getFullAXTree` result; malformed nodes are skipped.
    pub(crate) fn parse(tree: &Value) -> Self {
        let nodes: Vec<AxNode> = tree
            .get("nodes")
            .and_then(Value::as_array)
            .map(|arr| {
                arr.iter()
                    // One malformed node must not cost us the whole page.
                    .filter_map(|n| AxNode::deserialize(n).ok())
                    .collect()
            })
            .unwrap_or_default();
        let index: HashMap<String, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.node_id.clone(), i))
            .collect();
        let roots = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                n.parent_id
                    .as_deref()
                    .is_none_or(|p| !index.contains_key(p))
            })
            .map(|(i, _)| i)
            .collect();
        Self {
            nodes,
            index,
            roots,
        }
    }

    /// Backend id of the document node (identifies the document).
    fn document_backend_id(&self) -> Option<i64> {
        self.roots
            .first()
            .and_then(|&r| self.nodes[r].backend_dom_node_id)
    }
}

// ---------------------------------------------------------------------------
// DOM snapshot
// ---------------------------------------------------------------------------

/// DOM facts about one node, from `DOMSnapshot.captureSnapshot`.
#[derive(Debug, Default, Clone)]
struct DomNode {
    /// Upper-case tag name (`INPUT`, `A`, `OPTION`, `#text`).
    tag: String,
    input_type: Option<String>,
    download: bool,
    clickable: bool,
    /// Layout box in its document's coordinates; `None` when not rendered.
    bounds: Option<Rect>,
    /// Index of its document in the snapshot.
    doc: usize,
    /// Index of the node within its document (for the DOM fallback walk).
    index: usize,
    /// Text of a text node; `alt` of an image.
    text: Option<String>,
    /// `href` present (a link that navigates).
    href: bool,
    /// `aria-label`, `title`, `placeholder`, `role`, `value` attributes.
    aria_label: Option<String>,
    title: Option<String>,
    placeholder: Option<String>,
    role: Option<String>,
    value: Option<String>,
    /// `visibility: hidden/collapse` (still laid out, but not visible).
    invisible: bool,
}

/// One document of a snapshot: how far it is scrolled.
#[derive(Debug, Default, Clone)]
struct DomDoc {
    scroll_x: f64,
    scroll_y: f64,
    /// Backend id of each node, by node index.
    backend: Vec<i64>,
    /// Children of each node, by node index.
    children: Vec<Vec<usize>>,
}

/// All documents of one renderer session, keyed by backend node id (unique
/// per renderer process).
#[derive(Debug, Default)]
pub(crate) struct DomIndex {
    nodes: HashMap<i64, DomNode>,
    docs: Vec<DomDoc>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawSnapshot {
    documents: Vec<RawDocument>,
    strings: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawDocument {
    nodes: RawNodes,
    layout: RawLayout,
    scroll_offset_x: f64,
    scroll_offset_y: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawNodes {
    parent_index: Vec<i64>,
    node_name: Vec<i64>,
    node_value: Vec<i64>,
    backend_node_id: Vec<i64>,
    attributes: Vec<Vec<i64>>,
    is_clickable: RawRareBool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawRareBool {
    index: Vec<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawLayout {
    node_index: Vec<usize>,
    bounds: Vec<Vec<f64>>,
    /// Per layout node, string indexes of the requested computed styles
    /// (only `visibility` is requested).
    styles: Vec<Vec<i64>>,
}

impl DomIndex {
    /// Indexes a raw `DOMSnapshot.captureSnapshot` result.
    pub(crate) fn parse(raw: &Value) -> Self {
        let Ok(snap) = RawSnapshot::deserialize(raw) else {
            return Self::default();
        };
        let s = |i: i64| -> &str {
            usize::try_from(i)
                .ok()
                .and_then(|i| snap.strings.get(i))
                .map(String::as_str)
                .unwrap_or("")
        };
        let mut out = DomIndex::default();
        for (doc_index, doc) in snap.documents.iter().enumerate() {
            let n = &doc.nodes;
            let mut children: Vec<Vec<usize>> = vec![Vec::new(); n.backend_node_id.len()];
            for (i, &p) in n.parent_index.iter().enumerate() {
                if let Some(siblings) = usize::try_from(p).ok().and_then(|p| children.get_mut(p)) {
                    siblings.push(i);
                }
            }
            out.docs.push(DomDoc {
                scroll_x: doc.scroll_offset_x,
                scroll_y: doc.scroll_offset_y,
                backend: n.backend_node_id.clone(),
                children,
            });
            let mut invisible: HashSet<usize> = HashSet::new();
            let clickable: HashSet<usize> = n.is_clickable.index.iter().copied().collect();
            let mut bounds: HashMap<usize, Rect> = HashMap::new();
            for (li, &ni) in doc.layout.node_index.iter().enumerate() {
                let style = doc.layout.styles.get(li).and_then(|st| st.first()).copied();
                if style.is_some_and(|v| matches!(s(v), "hidden" | "collapse")) {
                    invisible.insert(ni);
                }
                if let Some(b) = doc.layout.bounds.get(li).filter(|b| b.len() >= 4) {
                    bounds.entry(ni).or_insert(Rect {
                        x: b[0],
                        y: b[1],
                        width: b[2],
                        height: b[3],
                    });
                }
            }
            for (i, &backend) in n.backend_node_id.iter().enumerate() {
                let tag = n.node_name.get(i).map(|&t| s(t)).unwrap_or("");
                // Only the few attributes we use are looked at.
                let mut node = DomNode {
                    tag: tag.to_ascii_uppercase(),
                    clickable: clickable.contains(&i),
                    bounds: bounds.get(&i).copied(),
                    doc: doc_index,
                    index: i,
                    invisible: invisible.contains(&i),
                    ..DomNode::default()
                };
                if node.tag == "#TEXT" {
                    node.text = n.node_value.get(i).map(|&v| s(v).to_string());
                }
                let attr = |v: &i64| Some(s(*v).to_string()).filter(|v| !v.trim().is_empty());
                if let Some(attrs) = n.attributes.get(i) {
                    for pair in attrs.chunks(2) {
                        if let [k, v] = pair {
                            match s(*k) {
                                "type" if node.tag == "INPUT" => {
                                    node.input_type = Some(s(*v).to_ascii_lowercase());
                                }
                                "download" if node.tag == "A" => node.download = true,
                                "href" if node.tag == "A" => node.href = true,
                                "alt" if node.tag == "IMG" => node.text = attr(v),
                                "aria-label" => node.aria_label = attr(v),
                                "title" => node.title = attr(v),
                                "placeholder" => node.placeholder = attr(v),
                                "role" => node.role = attr(v),
                                "value" => node.value = attr(v),
                                _ => {}
                            }
                        }
                    }
                }
                out.nodes.insert(backend, node);
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Building the state
// ---------------------------------------------------------------------------

/// Everything collected from the browser for one state, ready to be walked.
pub(crate) struct Collected {
    /// Frames in discovery order; index 0 is the main frame.
    pub frames: Vec<DiscoveredFrame>,
    /// AX tree per frame (same indexes as `frames`).
    pub trees: Vec<AxTree>,
    /// DOM snapshot per renderer session, keyed by session id (`None` = page).
    pub doms: HashMap<Option<String>, DomIndex>,
    /// The main viewport.
    pub viewport: Rect,
}

/// Geometry of a frame's document in main-viewport coordinates.
#[derive(Debug, Clone, Copy)]
struct FrameGeometry {
    /// Where the document's (0,0) is when unscrolled.
    origin: (f64, f64),
    /// The visible area of the frame (intersection of all enclosing iframes
    /// and the viewport).
    clip: Rect,
}

/// An element before ids are assigned.
pub(crate) struct Candidate {
    pub element: Element,
    /// Frame index in `Collected::frames`.
    pub frame: usize,
}

/// Output of the walk: candidates plus the outline referring to them by
/// candidate index.
pub(crate) struct Walked {
    pub candidates: Vec<Candidate>,
    /// Outline with `Element { id }` holding the candidate index.
    pub outline: Vec<OutlineItem>,
    pub headings: Vec<String>,
    pub digest: String,
    /// `Collected::frames` index → `PageState::frames` index (frames that
    /// were reached by the walk; the main frame has none).
    pub frame_slots: Vec<Option<usize>>,
    pub frame_infos: Vec<FrameInfo>,
    /// Backend id of the main document node.
    pub document: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Inside {
    interactive: bool,
    heading: bool,
    /// Candidate index of the enclosing native `<select>`.
    select: Option<usize>,
    /// PageState frame index of the frame being walked.
    frame_slot: Option<usize>,
}

struct Walker<'a> {
    c: &'a Collected,
    full_page: bool,
    geometry: Vec<Option<FrameGeometry>>,
    /// (session, owner backend id) → child frame index.
    owners: HashMap<(Option<String>, i64), usize>,
    visited_frames: HashSet<usize>,
    /// (frame, backend id) of candidates so far: a node listed twice in
    /// the AX tree must not become two elements.
    seen: HashSet<(usize, i64)>,
    out: Walked,
    digest: Vec<String>,
    digest_chars: usize,
    digest_limit: usize,
}

impl<'a> Walker<'a> {
    fn dom(&self, frame: usize, backend: i64) -> Option<&'a DomNode> {
        let c: &'a Collected = self.c;
        c.doms
            .get(&self.c.frames[frame].session)
            .and_then(|d| d.nodes.get(&backend))
    }

    /// A node's box in main-viewport coordinates, and whether it is visible.
    fn place(&self, frame: usize, dom: Option<&DomNode>) -> (Option<Rect>, bool) {
        let (Some(dom), Some(geo)) = (dom, self.geometry.get(frame).copied().flatten()) else {
            return (None, false);
        };
        let Some(b) = dom.bounds else {
            return (None, false);
        };
        let (sx, sy) = self
            .c
            .doms
            .get(&self.c.frames[frame].session)
            .and_then(|d| d.docs.get(dom.doc))
            .map(|d| (d.scroll_x, d.scroll_y))
            .unwrap_or_default();
        let rect = Rect {
            x: b.x - sx + geo.origin.0,
            y: b.y - sy + geo.origin.1,
            width: b.width,
            height: b.height,
        };
        // Zero-area boxes (e.g. a 0×0 wrapper) count by their position.
        let probe = Rect {
            width: rect.width.max(1.0),
            height: rect.height.max(1.0),
            ..rect
        };
        (Some(rect), probe.intersects(&geo.clip))
    }

    /// Computes frame geometry top-down: a child's origin is its owner
    /// `<iframe>`'s box in the parent.
    fn compute_geometry(&mut self) {
        let n = self.c.frames.len();
        self.geometry = vec![None; n];
        if n == 0 {
            return;
        }
        self.geometry[0] = Some(FrameGeometry {
            origin: (0.0, 0.0),
            clip: self.c.viewport,
        });
        // Parents are discovered before children, but be tolerant: iterate
        // until nothing changes.
        for _ in 0..n {
            let mut changed = false;
            for i in 1..n {
                if self.geometry[i].is_some() {
                    continue;
                }
                let f = &self.c.frames[i];
                let (Some(parent), Some(owner)) = (f.parent, f.owner_backend_id) else {
                    continue;
                };
                if self.geometry.get(parent).copied().flatten().is_none() {
                    continue;
                }
                let dom = self.dom(parent, owner).cloned();
                let (rect, _) = self.place(parent, dom.as_ref());
                let Some(parent_geo) = self.geometry[parent] else {
                    continue;
                };
                let geo = match rect {
                    Some(r) => FrameGeometry {
                        origin: (r.x, r.y),
                        clip: r.intersection(&parent_geo.clip),
                    },
                    // Owner not rendered: nothing inside is visible.
                    None => FrameGeometry {
                        origin: (0.0, 0.0),
                        clip: Rect::default(),
                    },
                };
                self.geometry[i] = Some(geo);
                changed = true;
            }
            if !changed {
                break;
            }
        }
    }

    fn walk_frame(&mut self, frame: usize, inside: Inside) {
        if !self.visited_frames.insert(frame) {
            return;
        }
        let Some(tree) = self.c.trees.get(frame) else {
            return;
        };
        let roots = tree.roots.clone();
        for root in roots {
            self.walk(frame, root, inside, 0);
        }
    }

    fn walk(&mut self, frame: usize, i: usize, inside: Inside, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let c: &'a Collected = self.c;
        let tree = &c.trees[frame];
        let node = &tree.nodes[i];
        let mut inside = inside;
        let outline_mark = self.out.outline.len();
        let candidates_mark = self.out.candidates.len();
        let digest_mark = self.digest.len();
        let mut clickable_candidate: Option<(i64, Option<Rect>, bool)> = None;
        let mut close: Option<OutlineItem> = None;

        if node.ignored
            && node
                .ignored_reasons
                .iter()
                .any(|r| matches!(r.name.as_str(), "ariaHiddenElement" | "ariaHiddenSubtree"))
            && let Some(backend) = node.backend_dom_node_id
        {
            // `aria-hidden` hides a subtree from assistive technology, not
            // from the mouse: pages (stale modals, mega-menus) hide visible,
            // clickable content this way. Its AX nodes carry no names, so
            // the DOM describes it instead.
            self.dom_fallback(frame, backend, inside);
            return;
        }
        if !node.ignored {
            let role = node.role();
            let dom = node.backend_dom_node_id.and_then(|b| self.dom(frame, b));
            match role {
                "Iframe" | "IframePresentational" => {
                    let key = (
                        self.c.frames[frame].session.clone(),
                        node.backend_dom_node_id.unwrap_or(-1),
                    );
                    if let Some(&child) = self.owners.get(&key) {
                        self.enter_frame(child, &node.name(), inside);
                        return;
                    }
                }
                "heading" => {
                    let name = node.name();
                    let level = node
                        .prop("level")
                        .and_then(Value::as_u64)
                        .unwrap_or(2)
                        .clamp(1, 6);
                    if !name.is_empty() {
                        if level <= 3 {
                            self.out.headings.push(name.clone());
                        }
                        // Headings are the page's structure: cheap, and they
                        // tell the planner which button belongs where, so
                        // they are kept page-wide.
                        self.out.outline.push(OutlineItem::Heading {
                            level: u8::try_from(level).unwrap_or(6),
                            text: name,
                        });
                    }
                    inside.heading = true;
                }
                "dialog" | "alertdialog" => {
                    self.out.outline.push(OutlineItem::DialogStart {
                        name: node.name(),
                        modal: node.flag("modal").unwrap_or(false),
                    });
                    close = Some(OutlineItem::DialogEnd);
                }
                // Label text is already the name of the control it labels.
                "LabelText" | "legend" => inside.heading = true,
                "StaticText" => {
                    if !inside.interactive && !inside.heading {
                        let (_, visible) = self.place(frame, dom);
                        if self.full_page || visible {
                            self.push_digest(node.name());
                        }
                    }
                }
                r if INTERACTIVE_ROLES.contains(&r) => {
                    if let Some(new_inside) = self.add_element(frame, node, dom, inside) {
                        inside = new_inside;
                    }
                }
                _ => {
                    // A generic element with a click handler: a target only
                    // if nothing actionable is inside it (decided below).
                    if let (Some(d), Some(b)) = (dom, node.backend_dom_node_id)
                        && d.clickable
                        && !inside.interactive
                        // A label's click goes to its control, listed already.
                        && !matches!(d.tag.as_str(), "HTML" | "BODY" | "#document" | "LABEL")
                    {
                        let (rect, visible) = self.place(frame, Some(d));
                        if rect.is_some_and(|r| r.width >= 1.0 && r.height >= 1.0) {
                            clickable_candidate = Some((b, rect, visible));
                        }
                    }
                }
            }
        }
        for child in &tree.nodes[i].child_ids {
            if let Some(&c) = tree.index.get(child.as_str()) {
                self.walk(frame, c, inside, depth + 1);
            }
        }
        if let Some(item) = close {
            if self.out.outline.len() == outline_mark + 1 {
                // An empty dialog (closed, or nothing actionable): no markers.
                self.out.outline.truncate(outline_mark);
            } else {
                self.out.outline.push(item);
            }
        }
        if let Some((backend, rect, visible)) = clickable_candidate
            && self.out.candidates.len() == candidates_mark
        {
            let name = self.digest[digest_mark..].join(" ");
            if !name.is_empty() {
                // Its text becomes its name; do not repeat it in the digest.
                self.truncate_digest(digest_mark);
                let index = self.out.candidates.len();
                self.out.candidates.push(Candidate {
                    element: Element {
                        role: "clickable".into(),
                        name: truncate(&name, NAME_LIMIT),
                        in_viewport: visible,
                        rect,
                        frame: inside.frame_slot,
                        backend_node_id: backend,
                        ..Element::default()
                    },
                    frame,
                });
                self.out.outline.insert(
                    outline_mark,
                    OutlineItem::Element {
                        id: ElementId(u32::try_from(index).unwrap_or(u32::MAX)),
                    },
                );
            }
        }
    }

    fn enter_frame(&mut self, child: usize, name: &str, inside: Inside) {
        if self.visited_frames.contains(&child) {
            return;
        }
        let f = &self.c.frames[child];
        let main_origin = origin_of(&self.c.frames[0].url).to_string();
        let slot = self.out.frame_infos.len();
        self.out.frame_infos.push(FrameInfo {
            url: f.url.clone(),
            name: name.to_string(),
            cross_origin: origin_of(&f.url) != main_origin && !f.url.starts_with("about:"),
            out_of_process: f.out_of_process,
            parent: inside.frame_slot,
        });
        self.out.frame_slots[child] = Some(slot);
        let mark = self.out.outline.len();
        self.out
            .outline
            .push(OutlineItem::FrameStart { index: slot });
        self.walk_frame(
            child,
            Inside {
                frame_slot: Some(slot),
                ..Inside::default()
            },
        );
        if self.out.outline.len() == mark + 1 {
            // Nothing to show inside (empty, inert or not loaded): no markers.
            self.out.outline.truncate(mark);
        } else {
            self.out.outline.push(OutlineItem::FrameEnd);
        }
    }

    /// Adds an interactive node as a candidate; returns the context for its
    /// children, or `None` if it was not added (hidden, folded option).
    fn add_element(
        &mut self,
        frame: usize,
        node: &AxNode,
        dom: Option<&DomNode>,
        inside: Inside,
    ) -> Option<Inside> {
        let backend = node.backend_dom_node_id?;
        let role = node.role();
        // Options of a native <select> are folded into its line.
        if matches!(role, "option" | "MenuListOption")
            && dom.is_none_or(|d| d.tag == "OPTION")
            && let Some(select) = inside.select
        {
            let name = node.name();
            if !name.is_empty() {
                self.out.candidates[select].element.options.push(name);
            }
            return None;
        }
        // Not rendered (display:none and the like): not actionable. When the
        // DOM snapshot does not know the node, keep it (fail open).
        if dom.is_some_and(|d| d.bounds.is_none()) {
            return None;
        }
        if !self.seen.insert((frame, backend)) {
            return None;
        }
        let (rect, visible) = self.place(frame, dom);
        let role = match role {
            "PopUpButton" => "combobox",
            "DisclosureTriangle" => "button",
            "ToggleButton" => "button",
            "MenuListOption" | "ListBoxOption" => "option",
            "Date" => "date",
            "DateTime" => "datetime",
            "InputTime" => "time",
            "ColorWell" => "color",
            r => r,
        };
        let value = if VALUE_ROLES.contains(&node.role()) || VALUE_ROLES.contains(&role) {
            node.value
                .as_ref()
                .and_then(AxValue::as_text)
                .map(|v| collapse_whitespace(&v))
        } else {
            None
        };
        let input_type = dom
            .and_then(|d| d.input_type.clone())
            .filter(|t| TELLING_INPUT_TYPES.contains(&t.as_str()));
        let element = Element {
            id: ElementId::default(),
            role: role.to_string(),
            name: node.name(),
            value,
            checked: node.flag("checked"),
            disabled: node.flag("disabled").unwrap_or(false),
            selected: node.flag("selected"),
            expanded: node.flag("expanded"),
            pressed: node.flag("pressed"),
            focused: node.flag("focused").unwrap_or(false),
            required: node.flag("required").unwrap_or(false),
            in_viewport: visible || (rect.is_none() && dom.is_none() && frame == 0),
            rect,
            frame: inside.frame_slot,
            input_type,
            download: dom.is_some_and(|d| d.download),
            options: Vec::new(),
            backend_node_id: backend,
        };
        let index = self.out.candidates.len();
        self.out.candidates.push(Candidate { element, frame });
        self.out.outline.push(OutlineItem::Element {
            id: ElementId(u32::try_from(index).unwrap_or(u32::MAX)),
        });
        let is_select = dom.is_some_and(|d| d.tag == "SELECT");
        Some(Inside {
            interactive: true,
            select: if is_select {
                Some(index)
            } else {
                inside.select
            },
            ..inside
        })
    }

    /// Lists the actionable elements of a DOM subtree the AX tree hides
    /// (`aria-hidden`), with roles and names derived from tags, attributes
    /// and text. Only rendered, visible, non-empty boxes count.
    fn dom_fallback(&mut self, frame: usize, root: i64, inside: Inside) {
        let c: &'a Collected = self.c;
        let Some(dom) = c.doms.get(&c.frames[frame].session) else {
            return;
        };
        let Some(root_node) = dom.nodes.get(&root) else {
            return;
        };
        let Some(doc) = dom.docs.get(root_node.doc) else {
            return;
        };
        let mut stack = vec![root_node.index];
        let mut steps = 0usize;
        while let Some(i) = stack.pop() {
            steps += 1;
            if steps > 200_000 {
                break;
            }
            let Some(node) = doc.backend.get(i).and_then(|b| dom.nodes.get(b)) else {
                continue;
            };
            if let Some(role) = fallback_role(node) {
                let backend = doc.backend[i];
                let visible_box = node
                    .bounds
                    .is_some_and(|b| b.width >= 1.0 && b.height >= 1.0);
                if visible_box && !node.invisible && self.seen.insert((frame, backend)) {
                    let name = node
                        .aria_label
                        .clone()
                        .or_else(|| Some(dom_text(dom, doc, i)).filter(|t| !t.is_empty()))
                        .or_else(|| node.title.clone())
                        .or_else(|| node.placeholder.clone())
                        .or_else(|| node.value.clone().filter(|_| role == "button"))
                        .unwrap_or_default();
                    let (rect, visible) = self.place(frame, Some(node));
                    let index = self.out.candidates.len();
                    self.out.candidates.push(Candidate {
                        element: Element {
                            role: role.to_string(),
                            name: truncate(&collapse_whitespace(&name), NAME_LIMIT),
                            in_viewport: visible,
                            rect,
                            frame: inside.frame_slot,
                            input_type: node
                                .input_type
                                .clone()
                                .filter(|t| TELLING_INPUT_TYPES.contains(&t.as_str())),
                            download: node.download,
                            backend_node_id: backend,
                            ..Element::default()
                        },
                        frame,
                    });
                    self.out.outline.push(OutlineItem::Element {
                        id: ElementId(u32::try_from(index).unwrap_or(u32::MAX)),
                    });
                }
                // Its content is its name, not more targets.
                continue;
            }
            if let Some(kids) = doc.children.get(i) {
                stack.extend(kids.iter().rev());
            }
        }
    }

    fn push_digest(&mut self, text: String) {
        if text.is_empty() || self.digest_chars >= self.digest_limit {
            return;
        }
        if self.digest.last() == Some(&text) {
            return;
        }
        self.digest_chars += text.chars().count() + 1;
        self.digest.push(text);
    }

    fn truncate_digest(&mut self, mark: usize) {
        while self.digest.len() > mark {
            if let Some(t) = self.digest.pop() {
                self.digest_chars = self.digest_chars.saturating_sub(t.chars().count() + 1);
            }
        }
    }
}

/// The role an element has by its tag, when it is actionable.
fn fallback_role(node: &DomNode) -> Option<&'static str> {
    if let Some(role) = node.role.as_deref()
        && let Some(r) = INTERACTIVE_ROLES
            .iter()
            .find(|r| r.eq_ignore_ascii_case(role))
    {
        return Some(r);
    }
    Some(match node.tag.as_str() {
        "A" if node.href => "link",
        "BUTTON" | "SUMMARY" => "button",
        "SELECT" => "combobox",
        "TEXTAREA" => "textbox",
        "INPUT" => match node.input_type.as_deref().unwrap_or("text") {
            "hidden" => return None,
            "checkbox" => "checkbox",
            "radio" => "radio",
            "submit" | "button" | "reset" | "image" | "file" => "button",
            "range" => "slider",
            "search" => "searchbox",
            _ => "textbox",
        },
        _ => return None,
    })
}

/// Text content of a DOM subtree (text nodes and image `alt`), bounded.
fn dom_text(dom: &DomIndex, doc: &DomDoc, root: usize) -> String {
    let mut out = String::new();
    let mut stack = vec![root];
    while let Some(i) = stack.pop() {
        if out.len() > NAME_LIMIT * 4 {
            break;
        }
        let node = doc.backend.get(i).and_then(|b| dom.nodes.get(b));
        if node
            .is_some_and(|n| matches!(n.tag.as_str(), "SCRIPT" | "STYLE" | "NOSCRIPT" | "TEMPLATE"))
        {
            continue;
        }
        if let Some(text) = node.and_then(|n| n.text.as_deref()) {
            out.push_str(text);
            out.push(' ');
        }
        if let Some(kids) = doc.children.get(i) {
            stack.extend(kids.iter().rev());
        }
    }
    collapse_whitespace(&out)
}

/// Walks every frame's AX tree in document order, splicing iframe content
/// in at its `<iframe>` element.
pub(crate) fn walk(collected: &Collected, full_page: bool) -> Walked {
    let mut owners = HashMap::new();
    for (i, f) in collected.frames.iter().enumerate().skip(1) {
        if let (Some(parent), Some(owner)) = (f.parent, f.owner_backend_id) {
            owners.insert((collected.frames[parent].session.clone(), owner), i);
        }
    }
    let n = collected.frames.len();
    let mut w = Walker {
        c: collected,
        full_page,
        geometry: Vec::new(),
        owners,
        visited_frames: HashSet::new(),
        seen: HashSet::new(),
        out: Walked {
            candidates: Vec::new(),
            outline: Vec::new(),
            headings: Vec::new(),
            digest: String::new(),
            frame_slots: vec![None; n],
            frame_infos: Vec::new(),
            document: collected
                .trees
                .first()
                .and_then(AxTree::document_backend_id),
        },
        digest: Vec::new(),
        digest_chars: 0,
        digest_limit: if full_page {
            DIGEST_LIMIT_FULL
        } else {
            DIGEST_LIMIT
        },
    };
    w.compute_geometry();
    if n > 0 {
        w.walk_frame(0, Inside::default());
    }
    // Frames whose <iframe> the walk did not meet (e.g. an ignored owner)
    // still count: append them so no element is lost.
    for i in 1..n {
        if !w.visited_frames.contains(&i) {
            w.enter_frame(i, "", Inside::default());
        }
    }
    let digest = w.digest.join(" ");
    w.out.digest = truncate(&digest, w.digest_limit);
    w.out
}

/// Page facts read from JavaScript in one round trip.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocInfo {
    url: String,
    title: String,
    text: String,
    sx: f64,
    sy: f64,
    pw: f64,
    ph: f64,
    vw: f64,
    vh: f64,
}

/// Read in the page so a huge document does not travel whole.
const DOC_INFO_JS: &str = "(() => { const d = document.documentElement; return { \
    url: location.href, title: document.title, \
    text: document.body ? document.body.innerText.slice(0, 20000) : '', \
    sx: scrollX, sy: scrollY, \
    pw: d ? Math.max(d.scrollWidth, document.body ? document.body.scrollWidth : 0) : 0, \
    ph: d ? Math.max(d.scrollHeight, document.body ? document.body.scrollHeight : 0) : 0, \
    vw: innerWidth, vh: innerHeight }; })()";

impl BrowserContext {
    /// Captures the current page state (planner default: every actionable
    /// element page-wide, informative text of the viewport) and makes its
    /// element ids the ones that actions on this context refer to.
    pub async fn page_state(&self) -> Result<PageState, BrowserError> {
        self.page_state_with(PerceiveOptions::default()).await
    }

    /// [`BrowserContext::page_state`] with options.
    pub async fn page_state_with(
        &self,
        options: PerceiveOptions,
    ) -> Result<PageState, BrowserError> {
        self.ensure_usable()?;
        let page = self.page();
        let doc = self.call(
            "Runtime.evaluate",
            json!({ "expression": DOC_INFO_JS, "returnByValue": true }),
        );
        let frames = self.discover_frames();
        let (doc, frames) = tokio::join!(doc, frames);
        let (frames, routes, targets) = frames?;
        // Tabs the page opened since the last look are listed (not switched to).
        self.sync_tabs(&targets).await;
        let tabs = self.tab_infos(&targets);
        let doc = doc?;
        let info: DocInfo = match doc.pointer("/result/value") {
            Some(v) if doc.get("exceptionDetails").is_none() => {
                DocInfo::deserialize(v).unwrap_or_default()
            }
            _ => DocInfo {
                url: self.current_url().await?,
                ..DocInfo::default()
            },
        };
        let collected = self.collect(frames, &info).await?;
        let walked = walk(&collected, options.full_page);

        // Ids: stable per (frame, backend node) while the main document lives.
        let frame_ids: Vec<String> = collected
            .frames
            .iter()
            .map(|f| f.frame_id.clone())
            .collect();
        let keys: Vec<(String, i64)> = walked
            .candidates
            .iter()
            .map(|c| (frame_ids[c.frame].clone(), c.element.backend_node_id))
            .collect();
        let title = collapse_whitespace(&info.title);
        let assigned = page
            .perception
            .assign_ids(walked.document, &keys, &info.url, &title);
        let elements: Vec<Element> = walked
            .candidates
            .into_iter()
            .zip(&assigned.ids)
            .map(|(c, &id)| Element { id, ..c.element })
            .collect();
        let outline = walked
            .outline
            .into_iter()
            .filter_map(|item| match item {
                OutlineItem::Element { id } => assigned
                    .ids
                    .get(id.0 as usize)
                    .map(|&id| OutlineItem::Element { id }),
                other => Some(other),
            })
            .collect();
        // Routes follow PageState frame indexes (main frame = None).
        let mut state_routes: Vec<FrameRoute> =
            vec![FrameRoute::default(); walked.frame_infos.len()];
        for (i, slot) in walked.frame_slots.iter().enumerate() {
            if let (Some(slot), Some(route)) = (slot, routes.get(i)) {
                state_routes[*slot] = route.clone();
            }
        }
        let state = PageState {
            url: info.url,
            title,
            headings: walked.headings,
            text: truncate(&collapse_whitespace(&info.text), TEXT_LIMIT),
            elements,
            scroll: Scroll {
                x: info.sx,
                y: info.sy,
                page_width: info.pw,
                page_height: info.ph,
                viewport_width: info.vw,
                viewport_height: info.vh,
            },
            frames: walked.frame_infos,
            outline,
            digest: walked.digest,
            diff: assigned.diff,
            full_page: options.full_page,
            all_elements: options.all_elements,
            tabs: if tabs.len() > 1 { tabs } else { Vec::new() },
        };
        page.perception.set_routes(state_routes);
        *page.elements() = state.elements.iter().map(|e| (e.id, e.clone())).collect();
        Ok(state)
    }

    /// Fetches AX trees (per frame) and DOM snapshots (per session).
    async fn collect(
        &self,
        frames: Vec<DiscoveredFrame>,
        info: &DocInfo,
    ) -> Result<Collected, BrowserError> {
        let tree_calls = frames.iter().map(|f| {
            let params = if f.parent.is_none() {
                json!({})
            } else {
                json!({ "frameId": f.frame_id })
            };
            self.call_in(f.session.as_deref(), "Accessibility.getFullAXTree", params)
        });
        let mut sessions: Vec<Option<String>> = Vec::new();
        for f in &frames {
            if !sessions.contains(&f.session) {
                sessions.push(f.session.clone());
            }
        }
        let snapshot_calls = sessions.iter().map(|s| {
            self.call_in(
                s.as_deref(),
                "DOMSnapshot.captureSnapshot",
                // `visibility` tells laid-out-but-invisible nodes apart
                // for the aria-hidden fallback.
                json!({ "computedStyles": ["visibility"] }),
            )
        });
        let (trees, snaps) = tokio::join!(
            futures_util::future::join_all(tree_calls),
            futures_util::future::join_all(snapshot_calls)
        );
        let mut parsed = Vec::with_capacity(trees.len());
        for (i, tree) in trees.into_iter().enumerate() {
            match tree {
                Ok(t) => parsed.push(AxTree::parse(&t)),
                // The main frame must answer; a child frame that went away
                // mid-way (navigated, detached) just contributes nothing.
                Err(e) if i == 0 => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, frame = %frames[i].frame_id, "frame AX tree unavailable");
                    parsed.push(AxTree::default());
                }
            }
        }
        let mut doms = HashMap::new();
        for (session, snap) in sessions.into_iter().zip(snaps) {
            match snap {
                Ok(v) => {
                    doms.insert(session, DomIndex::parse(&v));
                }
                Err(e) => {
                    if self.ensure_usable().is_err() {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, "DOM snapshot unavailable");
                }
            }
        }
        let viewport = Rect {
            x: 0.0,
            y: 0.0,
            width: if info.vw > 0.0 { info.vw } else { 1024.0 },
            height: if info.vh > 0.0 { info.vh } else { 600.0 },
        };
        Ok(Collected {
            frames,
            trees: parsed,
            doms,
            viewport,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: &str) -> DiscoveredFrame {
        DiscoveredFrame {
            frame_id: id.into(),
            url: "http://127.0.0.1/".into(),
            ..DiscoveredFrame::default()
        }
    }

    #[test]
    fn walk_orders_and_filters() {
        let tree = json!({ "nodes": [
            { "nodeId": "1", "role": {"type":"role","value":"RootWebArea"}, "childIds": ["2","5","3","6","9"], "backendDOMNodeId": 1 },
            { "nodeId": "2", "parentId": "1", "role": {"value":"heading"}, "name": {"value":"Hello  world"},
              "properties": [{"name":"level","value":{"type":"integer","value":1}}], "backendDOMNodeId": 10 },
            { "nodeId": "3", "parentId": "1", "role": {"value":"button"}, "name": {"value":"Go"},
              "properties": [{"name":"disabled","value":{"type":"boolean","value":true}}], "backendDOMNodeId": 11 },
            { "nodeId": "5", "parentId": "1", "ignored": true, "childIds": ["4"] },
            { "nodeId": "4", "parentId": "5", "role": {"value":"textbox"}, "name": {"value":"Email"},
              "value": {"type":"string","value":"a@b"}, "backendDOMNodeId": 12 },
            { "nodeId": "6", "parentId": "1", "role": {"value":"checkbox"}, "name": {"value":"Agree"},
              "properties": [{"name":"checked","value":{"type":"tristate","value":"true"}}], "backendDOMNodeId": 13 },
            { "nodeId": "9", "parentId": "1", "role": {"value":"StaticText"}, "name": {"value":"Some text"}, "backendDOMNodeId": 14 },
            { "nodeId": "7", "parentId": "1", "role": {"value":"link"}, "name": {"value":"orphan-no-backend"} },
            { "weird": "node with no fields" }
        ]});
        let collected = Collected {
            frames: vec![frame("main")],
            trees: vec![AxTree::parse(&tree)],
            doms: HashMap::new(),
            viewport: Rect {
                width: 100.0,
                height: 100.0,
                ..Rect::default()
            },
        };
        let out = walk(&collected, true);
        assert_eq!(out.headings, vec!["Hello world"]);
        assert_eq!(out.document, Some(1));
        let summary: Vec<_> = out
            .candidates
            .iter()
            .map(|c| {
                (
                    c.element.role.as_str(),
                    c.element.name.as_str(),
                    c.element.backend_node_id,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("textbox", "Email", 12),
                ("button", "Go", 11),
                ("checkbox", "Agree", 13)
            ]
        );
        assert_eq!(out.candidates[0].element.value.as_deref(), Some("a@b"));
        assert!(out.candidates[1].element.disabled);
        assert_eq!(out.candidates[2].element.checked, Some(true));
        assert_eq!(out.digest, "Some text");
        assert!(matches!(
            out.outline[0],
            OutlineItem::Heading { level: 1, .. }
        ));
    }

    #[test]
    fn prompt_text_is_compact() {
        let mut field = Element::new(ElementId(2), "textbox", "Email");
        field.value = Some("x\"y".into());
        let state = PageState {
            url: "http://127.0.0.1/".into(),
            title: "T".into(),
            headings: vec!["A".into(), "B".into()],
            elements: vec![Element::new(ElementId(1), "button", "Sign\nup"), field],
            ..PageState::default()
        };
        assert_eq!(
            state.to_prompt_text(),
            "title: T\nurl: http://127.0.0.1/\n[1] button \"Sign up\"\n\
             [2] textbox \"Email\" value=\"x\\\"y\"\n"
        );
    }

    #[test]
    fn prompt_folds_links_and_marks_structure() {
        let mut elements: Vec<Element> = (1..=3)
            .map(|i| Element::new(ElementId(i), "link", format!("L{i}")))
            .collect();
        elements.push(Element::new(ElementId(4), "link", "[4]"));
        let mut below = Element::new(ElementId(5), "button", "Buy");
        below.in_viewport = false;
        below.rect = Some(Rect {
            y: 900.0,
            height: 20.0,
            ..Rect::default()
        });
        elements.push(below);
        let mut outline = vec![OutlineItem::Heading {
            level: 2,
            text: "Nav".into(),
        }];
        outline.push(OutlineItem::FrameStart { index: 0 });
        outline.extend((1..=4).map(|i| OutlineItem::Element { id: ElementId(i) }));
        outline.push(OutlineItem::FrameEnd);
        outline.push(OutlineItem::Element { id: ElementId(5) });
        let state = PageState {
            url: "http://127.0.0.1/".into(),
            title: "T".into(),
            elements,
            outline,
            frames: vec![FrameInfo {
                url: "http://localhost:9/x".into(),
                name: "pay".into(),
                cross_origin: true,
                ..FrameInfo::default()
            }],
            diff: Some(StateDiff {
                added: vec![ElementId(5)],
                ..StateDiff::default()
            }),
            digest: "hello".into(),
            ..PageState::default()
        };
        assert_eq!(
            state.to_prompt_text(),
            "title: T\nurl: http://127.0.0.1/\nchanges: +1 [5]\n## Nav\n\
             -- iframe \"pay\" (cross-origin http://localhost:9) --\n\
             links: [1] L1 [2] L2 [3] L3 [4] \"[4]\"\n-- end iframe --\n\
             -- below viewport --\n[5] button \"Buy\"\ntext: hello\n"
        );
    }

    /// An element at `y` (viewport coordinates) in a 600 px viewport.
    fn at(id: u32, role: &str, name: &str, y: f64) -> Element {
        let mut el = Element::new(ElementId(id), role, name);
        el.in_viewport = (0.0..600.0).contains(&y);
        el.rect = Some(Rect {
            y,
            height: 20.0,
            width: 50.0,
            ..Rect::default()
        });
        el
    }

    #[test]
    fn prompt_summarises_elements_far_from_the_viewport() {
        let mut elements = vec![at(1, "button", "Top", 10.0), at(2, "link", "Near", 1400.0)];
        let mut outline = vec![
            OutlineItem::Element { id: ElementId(1) },
            OutlineItem::Element { id: ElementId(2) },
            OutlineItem::Heading {
                level: 2,
                text: "Comments".into(),
            },
        ];
        for i in 3..=40 {
            elements.push(at(
                i,
                if i % 2 == 0 { "link" } else { "textbox" },
                &format!("far {i}"),
                3000.0 + f64::from(i),
            ));
            outline.push(OutlineItem::Element { id: ElementId(i) });
        }
        // Focused and modal-dialog elements are always listed, wherever they are.
        let mut focused = at(41, "textbox", "Focused far away", 9000.0);
        focused.focused = true;
        elements.push(focused);
        outline.push(OutlineItem::Element { id: ElementId(41) });
        outline.push(OutlineItem::DialogStart {
            name: "Cookies".into(),
            modal: true,
        });
        elements.push(at(42, "button", "Accept", 8000.0));
        outline.push(OutlineItem::Element { id: ElementId(42) });
        outline.push(OutlineItem::DialogEnd);
        outline.push(OutlineItem::FrameStart { index: 0 });
        elements.push(at(43, "button", "In far frame", 7000.0));
        outline.push(OutlineItem::Element { id: ElementId(43) });
        outline.push(OutlineItem::FrameEnd);
        let mut state = PageState {
            url: "http://127.0.0.1/".into(),
            title: "T".into(),
            elements,
            outline,
            frames: vec![FrameInfo::default()],
            scroll: Scroll {
                viewport_width: 800.0,
                viewport_height: 600.0,
                page_width: 800.0,
                page_height: 10_000.0,
                ..Scroll::default()
            },
            ..PageState::default()
        };
        let text = state.to_prompt_text();
        assert_eq!(
            text,
            "title: T\nurl: http://127.0.0.1/\nscroll: y=0 of 10000 (viewport 800x600)\n\
             [1] button \"Top\"\n-- below viewport --\n[2] link \"Near\"\n\
             -- below, scroll to see: 38 elements (19 links, 19 fields); headings: Comments --\n\
             [41] textbox \"Focused far away\" focused\n\
             -- dialog \"Cookies\" (modal) --\n[42] button \"Accept\"\n-- end dialog --\n\
             -- below, scroll to see: 1 elements (1 buttons) --\n"
        );
        // Every element stays in the state and `all_elements` lists them all.
        assert_eq!(state.elements.len(), 43);
        state.all_elements = true;
        let all = state.to_prompt_text();
        assert!(
            all.contains("[40] link \"far 40\"") || all.contains("[40] far 40"),
            "{all}"
        );
        assert!(all.contains("In far frame"));
        assert!(!all.contains("scroll to see"));
    }

    #[test]
    fn truncate_counts_chars() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hi", 2), "hi");
    }

    #[test]
    fn origin_strips_path() {
        assert_eq!(origin_of("http://a:1/x/y"), "http://a:1");
        assert_eq!(origin_of("about:blank"), "about:blank");
    }
}
