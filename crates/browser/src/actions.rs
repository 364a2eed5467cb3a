//! Acting on elements of the latest page state: click and type.
//!
//! Input is dispatched through `Input.*` (trusted events, real hit testing),
//! not through JavaScript `el.click()`, so pages behave as they would for a
//! human and overlays that intercept clicks are not silently bypassed.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::cdp::CdpEvent;
use crate::context::{BrowserContext, wait_for_load};
use crate::error::BrowserError;
use crate::frames::ResolvedElement;
use crate::perception::{Element, ElementId, collapse_whitespace, truncate};

/// How long after a click has been handled we look for a navigation it may have started.
/// (A renderer round trip first makes sure the page's handlers have run, so this only covers
/// the hop from renderer to browser.)
pub(crate) const NAV_START_GRACE: Duration = Duration::from_millis(50);
/// The same for elements that rarely navigate (plain buttons, checkboxes, …): script-driven
/// navigations still show up in the next page state, so a short look is enough.
const NAV_START_GRACE_SHORT: Duration = Duration::from_millis(15);
/// How long (from the click) we wait for such a navigation to load.
const NAV_LOAD_WAIT: Duration = Duration::from_millis(1000);

/// Outcome of an action, phrased for the agent's history.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionReport {
    /// What was done, e.g. `clicked button "Sign up"`.
    pub description: String,
    /// The new main-frame URL if the action navigated the page (or the URL of the tab it
    /// opened).
    pub navigated_to: Option<String>,
    /// The tab the action opened, now the active one.
    pub opened_tab: Option<crate::tabs::TabId>,
}

/// JS run on the target field to select its current content, so that the
/// following `insertText` replaces it instead of appending.
const SELECT_ALL_FN: &str = "function() {
    if (typeof this.select === 'function') { this.select(); return; }
    if (this.isContentEditable) {
        const range = document.createRange();
        range.selectNodeContents(this);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
    }
}";

impl BrowserContext {
    /// Clicks the centre of the element (scrolling it into view first) and
    /// waits briefly for any navigation the click started.
    pub async fn click(&self, id: ElementId) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let (el, (x, y)) = self.point_of(id).await?;
        let page = self.page();
        let result = async {
            // Subscribe before the click so no navigation event is missed.
            let mut events = page.session.subscribe();
            let started = Instant::now();
            for (kind, extra) in [
                ("mouseMoved", json!({})),
                ("mousePressed", json!({ "button": "left", "clickCount": 1 })),
                (
                    "mouseReleased",
                    json!({ "button": "left", "clickCount": 1 }),
                ),
            ] {
                let mut params = json!({ "type": kind, "x": x, "y": y });
                if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
                    p.extend(e.clone());
                }
                self.call("Input.dispatchMouseEvent", params).await?;
            }
            let navigated_to = self
                .guarded(self.follow_navigation(&mut events, started, navigation_grace(&el)))
                .await?;
            let mut report = ActionReport {
                description: format!("clicked {}", describe(&el)),
                navigated_to,
                opened_tab: None,
            };
            self.adopt_opened_tab(&mut report).await?;
            Ok(report)
        }
        .await;
        self.unless_tab_closed_itself(&page, result, || format!("clicked {}", describe(&el)))
    }

    /// The element (scrolled into view) and the main-viewport point at its centre.
    pub(crate) async fn point_of(
        &self,
        id: ElementId,
    ) -> Result<(Element, (f64, f64)), BrowserError> {
        // The element may live in an iframe with its own CDP session.
        let target = self.resolve(id).await?;
        let el = target.element.clone();
        if let Err(e) = self
            .call_in(
                Some(&target.session_id),
                "DOM.scrollIntoViewIfNeeded",
                json!({ "backendNodeId": target.backend_node_id }),
            )
            .await
        {
            let e = not_found_if_stale(e, id);
            if matches!(e, BrowserError::Protocol(_)) {
                // Not fatal by itself: the quads below decide clickability.
                tracing::debug!(error = %e, %id, "scrollIntoViewIfNeeded failed");
            } else {
                return Err(e);
            }
        }
        // Resolved again: scrolling may have moved the element's iframe.
        let point = self.click_point(&self.resolve(id).await?, id).await?;
        Ok((el, point))
    }

    /// Replaces the content of a text field with `text`, as if typed: focus,
    /// select all, then `Input.insertText` (which fires `input` events).
    pub async fn type_text(&self, id: ElementId, text: &str) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        // DOM calls go to the element's own frame session (it may be a cross-origin iframe);
        // keyboard input goes to the page, which routes it to the focused frame.
        let target = self.resolve(id).await?;
        let el = target.element.clone();
        let (frame, backend) = (Some(target.session_id.as_str()), target.backend_node_id);
        self.call_in(frame, "DOM.focus", json!({ "backendNodeId": backend }))
            .await
            .map_err(|e| not_found_if_stale(e, id))?;
        let resolved = self
            .call_in(
                frame,
                "DOM.resolveNode",
                json!({ "backendNodeId": backend, "objectGroup": "wayfarer-type" }),
            )
            .await
            .map_err(|e| not_found_if_stale(e, id))?;
        let result = async {
            if let Some(object_id) = resolved.pointer("/object/objectId").and_then(Value::as_str) {
                self.call_in(
                    frame,
                    "Runtime.callFunctionOn",
                    json!({ "objectId": object_id, "functionDeclaration": SELECT_ALL_FN }),
                )
                .await?;
            }
            if text.is_empty() {
                // insertText("") is a no-op; delete the selection instead.
                for kind in ["rawKeyDown", "keyUp"] {
                    self.call(
                        "Input.dispatchKeyEvent",
                        json!({ "type": kind, "key": "Backspace", "code": "Backspace",
                                "windowsVirtualKeyCode": 8, "nativeVirtualKeyCode": 8 }),
                    )
                    .await?;
                }
            } else {
                self.call("Input.insertText", json!({ "text": text }))
                    .await?;
            }
            Ok::<_, BrowserError>(())
        }
        .await;
        // Release the handle whatever happened; leaking it pins the node.
        let _ = self
            .call_in(
                frame,
                "Runtime.releaseObjectGroup",
                json!({ "objectGroup": "wayfarer-type" }),
            )
            .await;
        result?;
        Ok(ActionReport {
            description: format!(
                "typed \"{}\" into {}",
                truncate(&collapse_whitespace(text), 80),
                describe(&el)
            ),
            navigated_to: None,
            opened_tab: None,
        })
    }

    /// Main-viewport coordinates of the element's centre.
    pub(crate) async fn click_point(
        &self,
        target: &ResolvedElement,
        id: ElementId,
    ) -> Result<(f64, f64), BrowserError> {
        let (session, backend) = (Some(target.session_id.as_str()), target.backend_node_id);
        // Content quads handle inline elements wrapped over lines and CSS
        // transforms; the box model is the fallback for older Chromium.
        let quads = self
            .call_in(
                session,
                "DOM.getContentQuads",
                json!({ "backendNodeId": backend }),
            )
            .await;
        let quads = match quads {
            Ok(v) => v
                .get("quads")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            Err(e) => {
                let e = not_found_if_stale(e, id);
                if !matches!(e, BrowserError::Protocol(_)) {
                    return Err(e);
                }
                let model = self
                    .call_in(
                        session,
                        "DOM.getBoxModel",
                        json!({ "backendNodeId": backend }),
                    )
                    .await
                    .map_err(|e| not_found_if_stale(e, id))?;
                model
                    .pointer("/model/content")
                    .cloned()
                    .into_iter()
                    .collect()
            }
        };
        // Quads are relative to the element's frame session; the offset
        // places an out-of-process iframe's content in the main viewport.
        quads
            .iter()
            .filter_map(quad_center)
            .next()
            .map(|(x, y)| (x + target.offset.0, y + target.offset.1))
            .ok_or_else(|| {
                BrowserError::Protocol(format!("element {id} is not visible (no layout box)"))
            })
    }

    /// After a click: if a main-frame navigation starts within
    /// [`NAV_START_GRACE`], wait (until [`NAV_LOAD_WAIT`] after the click)
    /// for it to load and report where the page went.
    pub(crate) async fn follow_navigation(
        &self,
        events: &mut broadcast::Receiver<CdpEvent>,
        started: Instant,
        grace: Duration,
    ) -> Result<Option<String>, BrowserError> {
        let page = self.page();
        let main = page.main_frame_id.as_str();
        let mut target: Option<String> = None;
        let mut navigating = false;
        // The input has been handled once the renderer answers: anything it started
        // (a navigation request) is on its way to us.
        self.call("Runtime.evaluate", json!({ "expression": "0" }))
            .await?;
        let grace_end = Instant::now() + grace;
        // Phase 1: did the click start anything?
        loop {
            let Ok(next) = tokio::time::timeout_at(grace_end, events.recv()).await else {
                break;
            };
            let event = match next {
                Ok(e) => e,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Err(BrowserError::Closed),
            };
            let p = &event.params;
            let frame = p.get("frameId").and_then(Value::as_str);
            match event.method.as_str() {
                "Page.navigatedWithinDocument" if frame == Some(main) => {
                    // pushState / fragment: nothing to load.
                    return Ok(p.get("url").and_then(Value::as_str).map(str::to_string));
                }
                "Page.frameRequestedNavigation" | "Page.frameStartedNavigating"
                    if frame == Some(main) =>
                {
                    target = p.get("url").and_then(Value::as_str).map(str::to_string);
                    navigating = true;
                    break;
                }
                "Page.frameStartedLoading" if frame == Some(main) => {
                    navigating = true;
                    break;
                }
                "Page.frameNavigated"
                    if p.pointer("/frame/id").and_then(Value::as_str) == Some(main) =>
                {
                    target = p
                        .pointer("/frame/url")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    navigating = true;
                    break;
                }
                _ => {}
            }
        }
        if !navigating {
            return Ok(None);
        }
        // Phase 2: give it a moment to load; a slow page is not an error,
        // the next page_state will simply show what is there.
        let load = wait_for_load(events, main, None);
        let _ = tokio::time::timeout_at(started + NAV_LOAD_WAIT, load).await;
        match self.current_url().await {
            Ok(url) if !url.is_empty() => Ok(Some(url)),
            Ok(_) => Ok(target),
            Err(e) => Err(e),
        }
    }
}

/// `role "name"` for action descriptions.
/// How long to look for a navigation after acting on `el`: links and submit controls often
/// navigate, other elements seldom do.
fn navigation_grace(el: &Element) -> Duration {
    let submits = matches!(el.input_type.as_deref(), Some("submit" | "image"));
    if el.role == "link" || submits {
        NAV_START_GRACE
    } else {
        NAV_START_GRACE_SHORT
    }
}

pub(crate) fn describe(el: &Element) -> String {
    format!(
        "{} \"{}\"",
        el.role,
        truncate(&collapse_whitespace(&el.name), 80)
    )
}

/// Maps "the node is gone" protocol errors (the page changed since the
/// state was taken) to `ElementNotFound`; other errors pass through.
pub(crate) fn not_found_if_stale(e: BrowserError, id: ElementId) -> BrowserError {
    match e {
        BrowserError::Protocol(msg) if msg.contains("No node") || msg.contains("not found") => {
            BrowserError::ElementNotFound { id }
        }
        other => other,
    }
}

/// Centre of a quad `[x1,y1,x2,y2,x3,y3,x4,y4]`, if it has any area.
fn quad_center(q: &Value) -> Option<(f64, f64)> {
    let pts: Vec<f64> = q.as_array()?.iter().filter_map(Value::as_f64).collect();
    if pts.len() < 8 {
        return None;
    }
    let xs = [pts[0], pts[2], pts[4], pts[6]];
    let ys = [pts[1], pts[3], pts[5], pts[7]];
    let width =
        xs.iter().cloned().fold(f64::MIN, f64::max) - xs.iter().cloned().fold(f64::MAX, f64::min);
    let height =
        ys.iter().cloned().fold(f64::MIN, f64::max) - ys.iter().cloned().fold(f64::MAX, f64::min);
    if width < 1.0 || height < 1.0 {
        return None;
    }
    Some((xs.iter().sum::<f64>() / 4.0, ys.iter().sum::<f64>() / 4.0))
}
