//! Element actions beyond click and type: double-click, hover, clear, focus, select an
//! option, check/uncheck, scroll an element, upload files, screenshot an element.
//! Every one targets an element id of the latest page state, in whatever frame it lives.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::actions::{ActionReport, describe, not_found_if_stale};
use crate::context::BrowserContext;
use crate::error::BrowserError;
use crate::perception::ElementId;

/// Chooses an `<option>` by its label or value, then fires `input` and `change` as a
/// user's choice would. Returns the chosen label, or null when nothing matched.
const SELECT_FN: &str = "function(wanted) {
    const norm = s => (s || '').replace(/\\s+/g, ' ').trim().toLowerCase();
    const w = norm(wanted);
    const opts = Array.from(this.options || []);
    const hit = opts.find(o => norm(o.label) === w) || opts.find(o => norm(o.value) === w)
        || opts.find(o => norm(o.label).includes(w));
    if (!hit) return null;
    this.value = hit.value;
    hit.selected = true;
    this.dispatchEvent(new Event('input', { bubbles: true }));
    this.dispatchEvent(new Event('change', { bubbles: true }));
    return hit.label;
}";

/// Scrolls the element's own content (a scrollable list), returning its new `scrollTop`.
const SCROLL_FN: &str = "function(dx, dy) { this.scrollBy(dx, dy); return this.scrollTop; }";

impl BrowserContext {
    async fn mouse(&self, x: f64, y: f64, kind: &str, clicks: u32) -> Result<(), BrowserError> {
        let mut params = json!({ "type": kind, "x": x, "y": y });
        if kind != "mouseMoved" {
            params["button"] = json!("left");
            params["clickCount"] = json!(clicks);
        }
        self.call("Input.dispatchMouseEvent", params)
            .await
            .map(|_| ())
    }

    /// Double-clicks the element's centre.
    pub async fn double_click(&self, id: ElementId) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let (el, (x, y)) = self.point_of(id).await?;
        self.mouse(x, y, "mouseMoved", 0).await?;
        for clicks in [1, 2] {
            self.mouse(x, y, "mousePressed", clicks).await?;
            self.mouse(x, y, "mouseReleased", clicks).await?;
        }
        Ok(ActionReport {
            description: format!("double-clicked {}", describe(&el)),
            navigated_to: None,
            opened_tab: None,
        })
    }

    /// Moves the mouse over the element (menus that open on hover, tooltips).
    pub async fn hover(&self, id: ElementId) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let (el, (x, y)) = self.point_of(id).await?;
        self.mouse(x, y, "mouseMoved", 0).await?;
        Ok(ActionReport {
            description: format!("hovered over {}", describe(&el)),
            navigated_to: None,
            opened_tab: None,
        })
    }

    /// Empties a text field.
    pub async fn clear(&self, id: ElementId) -> Result<ActionReport, BrowserError> {
        let report = self.type_text(id, "").await?;
        Ok(ActionReport {
            description: report.description.replacen("typed \"\" into", "cleared", 1),
            ..report
        })
    }

    /// Gives the element keyboard focus.
    pub async fn focus(&self, id: ElementId) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let target = self.resolve(id).await?;
        self.call_in(
            Some(&target.session_id),
            "DOM.focus",
            json!({ "backendNodeId": target.backend_node_id }),
        )
        .await
        .map_err(|e| not_found_if_stale(e, id))?;
        Ok(ActionReport {
            description: format!("focused {}", describe(&target.element)),
            navigated_to: None,
            opened_tab: None,
        })
    }

    /// Runs `function_declaration` with the element as `this` and returns its value.
    async fn call_on(
        &self,
        id: ElementId,
        function_declaration: &str,
        args: Vec<Value>,
    ) -> Result<Value, BrowserError> {
        let target = self.resolve(id).await?;
        let frame = Some(target.session_id.as_str());
        let resolved = self
            .call_in(
                frame,
                "DOM.resolveNode",
                json!({ "backendNodeId": target.backend_node_id, "objectGroup": "wayfarer-el" }),
            )
            .await
            .map_err(|e| not_found_if_stale(e, id))?;
        let object_id = resolved
            .pointer("/object/objectId")
            .and_then(Value::as_str)
            .ok_or(BrowserError::ElementNotFound { id })?
            .to_string();
        let arguments: Vec<Value> = args.into_iter().map(|v| json!({ "value": v })).collect();
        let result = self
            .call_in(
                frame,
                "Runtime.callFunctionOn",
                json!({ "objectId": object_id, "functionDeclaration": function_declaration,
                        "arguments": arguments, "returnByValue": true }),
            )
            .await;
        let _ = self
            .call_in(
                frame,
                "Runtime.releaseObjectGroup",
                json!({ "objectGroup": "wayfarer-el" }),
            )
            .await;
        Ok(result?
            .pointer("/result/value")
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Chooses the option whose label (or value) is `option` in a `<select>`.
    pub async fn select_option(
        &self,
        id: ElementId,
        option: &str,
    ) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let el = self.element(id)?;
        match self.call_on(id, SELECT_FN, vec![json!(option)]).await? {
            Value::String(label) => Ok(ActionReport {
                description: format!("selected \"{label}\" in {}", describe(&el)),
                navigated_to: None,
                opened_tab: None,
            }),
            _ => Err(BrowserError::InvalidArgument(format!(
                "{} has no option \"{option}\"",
                describe(&el)
            ))),
        }
    }

    /// Checks (`true`) or unchecks (`false`) a checkbox, radio or switch — by clicking it,
    /// as a person would, and only when its state differs.
    pub async fn set_checked(
        &self,
        id: ElementId,
        checked: bool,
    ) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let el = self.element(id)?;
        let now = self.call_on(id, "function() { return !!this.checked || this.getAttribute('aria-checked') === 'true'; }", vec![]).await?;
        let word = if checked { "checked" } else { "unchecked" };
        if now.as_bool() == Some(checked) {
            return Ok(ActionReport {
                description: format!("{} was already {word}", describe(&el)),
                navigated_to: None,
                opened_tab: None,
            });
        }
        self.click(id).await?;
        Ok(ActionReport {
            description: format!("{word} {}", describe(&el)),
            navigated_to: None,
            opened_tab: None,
        })
    }

    /// Scrolls inside a scrollable element (a list, a panel) by (`dx`, `dy`) pixels.
    pub async fn scroll_element(
        &self,
        id: ElementId,
        dx: f64,
        dy: f64,
    ) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        let el = self.element(id)?;
        let top = self
            .call_on(id, SCROLL_FN, vec![json!(dx), json!(dy)])
            .await?;
        Ok(ActionReport {
            description: format!(
                "scrolled {} to {}",
                describe(&el),
                top.as_f64().unwrap_or(0.0)
            ),
            navigated_to: None,
            opened_tab: None,
        })
    }

    /// Puts local files into a file input (files the task was given).
    pub async fn upload_files(
        &self,
        id: ElementId,
        files: &[PathBuf],
    ) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        if let Some(missing) = files.iter().find(|f| !f.is_file()) {
            return Err(BrowserError::InvalidArgument(format!(
                "no such file: {}",
                missing.display()
            )));
        }
        let target = self.resolve(id).await?;
        let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        self.call_in(
            Some(&target.session_id),
            "DOM.setFileInputFiles",
            json!({ "files": paths, "backendNodeId": target.backend_node_id }),
        )
        .await
        .map_err(|e| not_found_if_stale(e, id))?;
        let names: Vec<String> = files
            .iter()
            .filter_map(|f| f.file_name())
            .map(|n| n.to_string_lossy().to_string())
            .collect();
        Ok(ActionReport {
            description: format!(
                "attached {} to {}",
                names.join(", "),
                describe(&target.element)
            ),
            navigated_to: None,
            opened_tab: None,
        })
    }

    /// A PNG of just the element (scrolled into view first).
    pub async fn screenshot_element(&self, id: ElementId) -> Result<Vec<u8>, BrowserError> {
        self.ensure_usable()?;
        self.point_of(id).await?;
        let target = self.resolve(id).await?;
        let model = self
            .call_in(
                Some(&target.session_id),
                "DOM.getBoxModel",
                json!({ "backendNodeId": target.backend_node_id }),
            )
            .await
            .map_err(|e| not_found_if_stale(e, id))?;
        let quad: Vec<f64> = model
            .pointer("/model/border")
            .and_then(Value::as_array)
            .map(|q| q.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        if quad.len() < 8 {
            return Err(BrowserError::Protocol(format!(
                "element {id} has no layout box"
            )));
        }
        let xs = [quad[0], quad[2], quad[4], quad[6]];
        let ys = [quad[1], quad[3], quad[5], quad[7]];
        let (x0, x1) = (
            xs.iter().cloned().fold(f64::MAX, f64::min),
            xs.iter().cloned().fold(f64::MIN, f64::max),
        );
        let (y0, y1) = (
            ys.iter().cloned().fold(f64::MAX, f64::min),
            ys.iter().cloned().fold(f64::MIN, f64::max),
        );
        let (ox, oy) = target.offset;
        // Clip coordinates are document coordinates: add the page's scroll offset.
        let (sx, sy) = self.scroll_position().await?;
        self.capture(json!({
            "format": "png",
            "clip": { "x": x0 + ox + sx, "y": y0 + oy + sy, "width": (x1 - x0).max(1.0), "height": (y1 - y0).max(1.0), "scale": 1 },
        }))
        .await
    }
}
