//! Actions on the page as a whole (no element target): history, keys, scrolling, waiting,
//! screenshots and extraction.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::actions::ActionReport;
use crate::context::{BrowserContext, wait_for_load};
use crate::error::BrowserError;

/// How often conditions are re-checked while waiting.
const POLL: Duration = Duration::from_millis(100);
/// How long to wait for `load` once a history navigation has committed.
const LOAD_AFTER_COMMIT: Duration = Duration::from_secs(2);
/// Characters of page text returned by [`BrowserContext::extract_text`] at most.
const EXTRACT_LIMIT: usize = 200_000;

/// Image format of a screenshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// Lossless.
    Png,
    /// Smaller; quality 0–100.
    Jpeg,
}

/// A table read from the page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Table {
    /// Header cells (from `<th>` of the first row or `<thead>`), possibly empty.
    pub headers: Vec<String>,
    /// Body rows, cell text whitespace-collapsed.
    pub rows: Vec<Vec<String>>,
}

/// A key press parsed from `"Enter"`, `"Control+A"`, `"Shift+Tab"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chord {
    /// CDP modifier bits: Alt 1, Control 2, Meta 4, Shift 8.
    pub modifiers: u32,
    pub key: String,
    pub code: String,
    pub key_code: u32,
    /// Text the key inserts (none for control keys or with Control/Alt/Meta).
    pub text: Option<String>,
}

/// Parses a key chord; `None` for an unknown key name.
pub(crate) fn parse_chord(chord: &str) -> Option<Chord> {
    let parts: Vec<&str> = chord.split('+').map(str::trim).collect();
    let (key, mods) = parts.split_last()?;
    let mut modifiers = 0;
    for m in mods {
        modifiers |= match m.to_ascii_lowercase().as_str() {
            "alt" | "option" => 1,
            "control" | "ctrl" => 2,
            "meta" | "cmd" | "command" | "super" => 4,
            "shift" => 8,
            _ => return None,
        };
    }
    let named: Option<(&str, &str, u32, Option<&str>)> = match key.to_ascii_lowercase().as_str() {
        "enter" | "return" => Some(("Enter", "Enter", 13, Some("\r"))),
        "tab" => Some(("Tab", "Tab", 9, None)),
        "escape" | "esc" => Some(("Escape", "Escape", 27, None)),
        "backspace" => Some(("Backspace", "Backspace", 8, None)),
        "delete" | "del" => Some(("Delete", "Delete", 46, None)),
        "space" | " " => Some((" ", "Space", 32, Some(" "))),
        "arrowup" | "up" => Some(("ArrowUp", "ArrowUp", 38, None)),
        "arrowdown" | "down" => Some(("ArrowDown", "ArrowDown", 40, None)),
        "arrowleft" | "left" => Some(("ArrowLeft", "ArrowLeft", 37, None)),
        "arrowright" | "right" => Some(("ArrowRight", "ArrowRight", 39, None)),
        "home" => Some(("Home", "Home", 36, None)),
        "end" => Some(("End", "End", 35, None)),
        "pageup" => Some(("PageUp", "PageUp", 33, None)),
        "pagedown" => Some(("PageDown", "PageDown", 34, None)),
        _ => None,
    };
    let (key, code, key_code, text) = match named {
        Some((k, c, n, t)) => (k.to_string(), c.to_string(), n, t.map(str::to_string)),
        None => {
            let mut chars = key.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            let upper = c.to_ascii_uppercase();
            let code = if c.is_ascii_alphabetic() {
                format!("Key{upper}")
            } else if c.is_ascii_digit() {
                format!("Digit{c}")
            } else {
                String::new()
            };
            let shown = if modifiers & 8 != 0 { upper } else { c };
            (
                shown.to_string(),
                code,
                upper as u32,
                Some(shown.to_string()),
            )
        }
    };
    // With Control/Alt/Meta a key is a shortcut, not text.
    let text = if modifiers & 0b0111 != 0 { None } else { text };
    Some(Chord {
        modifiers,
        key,
        code,
        key_code,
        text,
    })
}

impl BrowserContext {
    /// Goes back one entry in the tab's history (`delta` = -1) or forward (+1)
    /// and waits for the page to load.
    pub async fn go_history(
        &self,
        delta: i64,
        timeout: Duration,
    ) -> Result<ActionReport, BrowserError> {
        let history = self.call("Page.getNavigationHistory", json!({})).await?;
        let current = history
            .get("currentIndex")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let entries = history
            .get("entries")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(entry) = usize::try_from(current + delta)
            .ok()
            .and_then(|i| entries.get(i))
        else {
            let way = if delta < 0 { "back" } else { "forward" };
            return Ok(ActionReport {
                description: format!("nothing to go {way} to"),
                navigated_to: None,
                opened_tab: None,
            });
        };
        let entry_id = entry.get("id").and_then(Value::as_i64).unwrap_or_default();
        let mut events = self.page().session.subscribe();
        self.call(
            "Page.navigateToHistoryEntry",
            json!({ "entryId": entry_id }),
        )
        .await?;
        self.settle_after_commit(&mut events, timeout).await;
        let url = self.current_url().await?;
        let way = if delta < 0 { "back" } else { "forward" };
        Ok(ActionReport {
            description: format!("went {way} to {url}"),
            navigated_to: Some(url),
            opened_tab: None,
        })
    }

    /// Waits for the main frame to commit a navigation (up to `timeout`), then up to
    /// [`LOAD_AFTER_COMMIT`] for its `load`. A page restored from the back/forward cache
    /// never fires `load` again, and a slow page is not an error: the next page_state
    /// shows whatever is there.
    async fn settle_after_commit(
        &self,
        events: &mut tokio::sync::broadcast::Receiver<crate::cdp::CdpEvent>,
        timeout: Duration,
    ) {
        let main = self.page().main_frame_id.clone();
        let committed = async {
            loop {
                match events.recv().await {
                    Ok(e)
                        if e.method == "Page.frameNavigated"
                            && e.params.pointer("/frame/id").and_then(Value::as_str)
                                == Some(main.as_str()) =>
                    {
                        return true;
                    }
                    Ok(e) if e.method == "Page.navigatedWithinDocument" => return false,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                }
            }
        };
        if let Ok(true) = tokio::time::timeout(timeout, committed).await {
            let _ =
                tokio::time::timeout(LOAD_AFTER_COMMIT, wait_for_load(events, &main, None)).await;
        }
    }

    /// Reloads the page and waits for it to load.
    pub async fn reload(&self, timeout: Duration) -> Result<ActionReport, BrowserError> {
        let mut events = self.page().session.subscribe();
        self.call("Page.reload", json!({})).await?;
        self.settle_after_commit(&mut events, timeout).await;
        let url = self.current_url().await?;
        Ok(ActionReport {
            description: format!("reloaded {url}"),
            navigated_to: Some(url),
            opened_tab: None,
        })
    }

    /// Presses a key or chord (`"Enter"`, `"Control+A"`) in whatever has focus.
    pub async fn press_key(&self, chord: &str) -> Result<ActionReport, BrowserError> {
        let parsed = parse_chord(chord)
            .ok_or_else(|| BrowserError::InvalidArgument(format!("unknown key '{chord}'")))?;
        let mut down = json!({
            "type": if parsed.text.is_some() { "keyDown" } else { "rawKeyDown" },
            "modifiers": parsed.modifiers,
            "key": parsed.key,
            "code": parsed.code,
            "windowsVirtualKeyCode": parsed.key_code,
            "nativeVirtualKeyCode": parsed.key_code,
        });
        if let Some(text) = &parsed.text {
            down["text"] = json!(text);
            down["unmodifiedText"] = json!(text);
        }
        let page = self.page();
        let result = async {
            let mut events = page.session.subscribe();
            let started = Instant::now();
            self.call("Input.dispatchKeyEvent", down).await?;
            self.call(
                "Input.dispatchKeyEvent",
                json!({ "type": "keyUp", "modifiers": parsed.modifiers, "key": parsed.key, "code": parsed.code,
                        "windowsVirtualKeyCode": parsed.key_code, "nativeVirtualKeyCode": parsed.key_code }),
            )
            .await?;
            // Enter in a form submits it: report where that went.
            let navigated_to = self
                .guarded(self.follow_navigation(&mut events, started, crate::actions::NAV_START_GRACE))
                .await?;
            let mut report = ActionReport {
                description: format!("pressed {chord}"),
                navigated_to,
                opened_tab: None,
            };
            self.adopt_opened_tab(&mut report).await?;
            Ok(report)
        }
        .await;
        self.unless_tab_closed_itself(&page, result, || format!("pressed {chord}"))
    }

    /// Scrolls the page by (`dx`, `dy`) CSS pixels with a trusted wheel event at
    /// the viewport's centre and reports the new scroll position.
    pub async fn scroll_page(&self, dx: f64, dy: f64) -> Result<ActionReport, BrowserError> {
        let (x, y) = self.viewport_center().await?;
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseWheel", "x": x, "y": y, "deltaX": dx, "deltaY": dy }),
        )
        .await?;
        // Wheel scrolling is applied asynchronously by the compositor.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (sx, sy) = self.scroll_position().await?;
        Ok(ActionReport {
            description: format!("scrolled the page to ({sx:.0}, {sy:.0})"),
            navigated_to: None,
            opened_tab: None,
        })
    }

    /// Current scroll offset of the page.
    pub async fn scroll_position(&self) -> Result<(f64, f64), BrowserError> {
        let v = self.eval("[window.scrollX, window.scrollY]").await?;
        let n = |i: usize| v.get(i).and_then(Value::as_f64).unwrap_or(0.0);
        Ok((n(0), n(1)))
    }

    async fn viewport_center(&self) -> Result<(f64, f64), BrowserError> {
        let v = self
            .eval("[window.innerWidth / 2, window.innerHeight / 2]")
            .await?;
        let n = |i: usize| v.get(i).and_then(Value::as_f64).unwrap_or(100.0);
        Ok((n(0), n(1)))
    }

    /// Evaluates `expression` in the page's main frame and returns its value.
    pub(crate) async fn eval(&self, expression: &str) -> Result<Value, BrowserError> {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(BrowserError::Protocol(format!("script failed: {ex}")));
        }
        Ok(r.pointer("/result/value").cloned().unwrap_or(Value::Null))
    }

    /// Waits until `text` appears in the page's visible text.
    pub async fn wait_for_text(
        &self,
        text: &str,
        timeout: Duration,
    ) -> Result<ActionReport, BrowserError> {
        let needle = serde_json::to_string(text).unwrap_or_default();
        let probe = format!("!!(document.body && document.body.innerText.includes({needle}))");
        self.wait_until(&probe, timeout, &format!("text \"{text}\""))
            .await
    }

    /// Waits until a CSS `selector` matches a visible element.
    pub async fn wait_for_selector(
        &self,
        selector: &str,
        timeout: Duration,
    ) -> Result<ActionReport, BrowserError> {
        let sel = serde_json::to_string(selector).unwrap_or_default();
        let probe = format!(
            "(() => {{ try {{ const e = document.querySelector({sel}); if (!e) return false; \
             const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }} catch (_) {{ return false; }} }})()"
        );
        self.wait_until(&probe, timeout, &format!("element {selector}"))
            .await
    }

    async fn wait_until(
        &self,
        probe: &str,
        timeout: Duration,
        what: &str,
    ) -> Result<ActionReport, BrowserError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.eval(probe).await?.as_bool() == Some(true) {
                return Ok(ActionReport {
                    description: format!("waited for {what}"),
                    navigated_to: None,
                    opened_tab: None,
                });
            }
            if Instant::now() >= deadline {
                return Err(BrowserError::WaitTimeout {
                    what: what.to_string(),
                    timeout_ms: timeout.as_millis() as u64,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for the next main-frame navigation to finish loading.
    pub async fn wait_for_navigation(
        &self,
        timeout: Duration,
    ) -> Result<ActionReport, BrowserError> {
        let mut events = self.page().session.subscribe();
        match tokio::time::timeout(
            timeout,
            self.guarded(wait_for_load(&mut events, &self.page().main_frame_id, None)),
        )
        .await
        {
            Ok(r) => r?,
            Err(_) => {
                return Err(BrowserError::WaitTimeout {
                    what: "navigation".into(),
                    timeout_ms: timeout.as_millis() as u64,
                });
            }
        }
        let url = self.current_url().await?;
        Ok(ActionReport {
            description: format!("navigation finished at {url}"),
            navigated_to: Some(url),
            opened_tab: None,
        })
    }

    /// Waits until no request has been in flight for `quiet` (network idle).
    pub async fn wait_for_network_idle(
        &self,
        quiet: Duration,
        timeout: Duration,
    ) -> Result<ActionReport, BrowserError> {
        self.ensure_usable()?;
        // Every page has the Network domain on from its creation (see `tabs.rs`); enabling it
        // again would reset its buffer limits.
        let mut events = self.page().session.subscribe();
        let deadline = Instant::now() + timeout;
        let mut in_flight = std::collections::HashSet::<String>::new();
        let mut quiet_since = Instant::now();
        loop {
            if in_flight.is_empty() && quiet_since.elapsed() >= quiet {
                return Ok(ActionReport {
                    description: "network idle".into(),
                    navigated_to: None,
                    opened_tab: None,
                });
            }
            let wake = if in_flight.is_empty() {
                (quiet_since + quiet).min(deadline)
            } else {
                deadline
            };
            match tokio::time::timeout_at(wake, events.recv()).await {
                Err(_) if Instant::now() >= deadline => {
                    return Err(BrowserError::WaitTimeout {
                        what: "network idle".into(),
                        timeout_ms: timeout.as_millis() as u64,
                    });
                }
                Err(_) => {}
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                    return Err(BrowserError::Closed);
                }
                Ok(Ok(event)) => {
                    let id = event
                        .params
                        .get("requestId")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    match event.method.as_str() {
                        "Network.requestWillBeSent" => {
                            in_flight.insert(id);
                        }
                        "Network.loadingFinished" | "Network.loadingFailed" => {
                            in_flight.remove(&id);
                            if in_flight.is_empty() {
                                quiet_since = Instant::now();
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// A screenshot of the viewport, or of the whole page with `full_page`.
    pub async fn screenshot(
        &self,
        format: ImageFormat,
        quality: Option<u8>,
        full_page: bool,
    ) -> Result<Vec<u8>, BrowserError> {
        let mut params = json!({ "format": match format { ImageFormat::Png => "png", ImageFormat::Jpeg => "jpeg" } });
        if format == ImageFormat::Jpeg {
            params["quality"] = json!(quality.unwrap_or(80).min(100));
        }
        if full_page {
            let metrics = self.call("Page.getLayoutMetrics", json!({})).await?;
            let size = metrics
                .get("cssContentSize")
                .or_else(|| metrics.get("contentSize"))
                .cloned()
                .unwrap_or(Value::Null);
            let w = size.get("width").and_then(Value::as_f64).unwrap_or(1024.0);
            let h = size
                .get("height")
                .and_then(Value::as_f64)
                .unwrap_or(600.0)
                .min(16_384.0);
            params["captureBeyondViewport"] = json!(true);
            params["clip"] = json!({ "x": 0, "y": 0, "width": w, "height": h, "scale": 1 });
        }
        self.capture(params).await
    }

    /// Runs `Page.captureScreenshot` and decodes its base64 answer.
    pub(crate) async fn capture(&self, params: Value) -> Result<Vec<u8>, BrowserError> {
        use base64::Engine as _;
        let shot = self.call("Page.captureScreenshot", params).await?;
        let data = shot.get("data").and_then(Value::as_str).unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| BrowserError::Protocol(format!("screenshot is not base64: {e}")))
    }

    /// All visible text of the page (up to 200 000 characters).
    pub async fn extract_text(&self) -> Result<String, BrowserError> {
        let v = self
            .eval(&format!(
                "document.body ? document.body.innerText.slice(0, {EXTRACT_LIMIT}) : ''"
            ))
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Every `<table>` of the page as headers and rows.
    pub async fn extract_tables(&self) -> Result<Vec<Table>, BrowserError> {
        const SCRIPT: &str = "Array.from(document.querySelectorAll('table')).slice(0, 50).map(t => {
            const clean = s => (s || '').replace(/\\s+/g, ' ').trim();
            const rows = Array.from(t.rows).map(r => Array.from(r.cells).map(c => clean(c.innerText)));
            let headers = [];
            const first = t.rows[0];
            if (first && Array.from(first.cells).every(c => c.tagName === 'TH')) { headers = rows.shift(); }
            return { headers, rows: rows.slice(0, 2000) };
        })";
        let v = self.eval(SCRIPT).await?;
        serde_json::from_value(v).map_err(|e| BrowserError::Protocol(format!("tables: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_modifiers_and_text() {
        let enter = parse_chord("Enter").unwrap();
        assert_eq!((enter.key_code, enter.text.as_deref()), (13, Some("\r")));
        let select_all = parse_chord("Control+a").unwrap();
        assert_eq!(select_all.modifiers, 2);
        assert_eq!(select_all.text, None, "a shortcut types nothing");
        let shift_tab = parse_chord("Shift+Tab").unwrap();
        assert_eq!((shift_tab.modifiers, shift_tab.key.as_str()), (8, "Tab"));
        let big_a = parse_chord("Shift+a").unwrap();
        assert_eq!(big_a.text.as_deref(), Some("A"));
        assert!(parse_chord("Hyper+x").is_none());
        assert!(parse_chord("NoSuchKey").is_none());
    }
}
