//! Frames of a page and how to reach an element inside them.
//!
//! A page's content lives in several documents: the main frame, same-process
//! iframes (same CDP session, addressed by `frameId`) and out-of-process
//! iframes (OOPIFs: cross-site iframes run in another renderer and answer
//! only on their own CDP session). This module finds them all, remembers per
//! context which session and which `<iframe>` chain leads to each, keeps the
//! element-id map that makes ids stable across observations, and resolves an
//! element id to "send this to session S, node N, and add offset (x, y)".
//!
//! OOPIF sessions are found with `Target.getTargets` and attached on demand
//! (cached per context) rather than by listening for auto-attach events:
//! that needs no event bookkeeping at context creation, sees nested OOPIFs
//! too, and cannot miss an iframe that attached before anyone listened.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use serde_json::{Value, json};

use crate::context::BrowserContext;
use crate::error::BrowserError;
use crate::perception::{Element, ElementId, StateDiff};

/// A frame found on the page, with what is needed to read it.
#[derive(Debug, Clone, Default)]
pub(crate) struct DiscoveredFrame {
    /// CDP frame id.
    pub frame_id: String,
    /// Session that hosts the frame's document; `None` = the page session.
    pub session: Option<String>,
    /// Index of the parent frame in the discovery list; `None` for main.
    pub parent: Option<usize>,
    /// Backend node id of the `<iframe>` in the parent's document.
    pub owner_backend_id: Option<i64>,
    /// Document URL.
    pub url: String,
    /// Root of an out-of-process iframe session.
    pub out_of_process: bool,
}

/// One crossing into an out-of-process iframe: the `<iframe>` element, in
/// the session of the document that contains it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Hop {
    /// Session of the document holding the `<iframe>` (`None` = page).
    pub parent_session: Option<String>,
    /// Backend node id of that `<iframe>`.
    pub owner_backend_id: i64,
}

/// How to reach a frame's nodes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FrameRoute {
    /// Session hosting the frame (`None` = page session).
    pub session: Option<String>,
    /// OOPIF crossings from the main frame down to this frame, outermost
    /// first. Same-process iframes need none: Chromium reports their boxes
    /// in the local root's viewport already.
    pub chain: Vec<Hop>,
}

/// Where to send commands about an element, and how to turn its
/// frame-local coordinates into main-viewport ones.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedElement {
    /// The element as the latest page state described it.
    pub element: Element,
    /// CDP session of the document holding it (page or iframe session).
    pub session_id: String,
    /// Its backend node id in that session.
    pub backend_node_id: i64,
    /// Add to coordinates from `DOM.getContentQuads`/`getBoxModel` on
    /// `session_id` to get main-viewport coordinates (non-zero only inside
    /// out-of-process iframes).
    pub offset: (f64, f64),
}

/// What ids were handed out and what changed.
pub(crate) struct Assigned {
    /// One id per key, in key order.
    pub ids: Vec<ElementId>,
    /// Diff against the previous state; `None` for the first.
    pub diff: Option<StateDiff>,
}

#[derive(Debug, Default)]
struct Previous {
    ids: HashSet<ElementId>,
    url: String,
    title: String,
}

#[derive(Debug, Default)]
struct MemoryInner {
    /// (frame id, backend node id) → id, for the current main document.
    ids: HashMap<(String, i64), ElementId>,
    next_id: u32,
    /// Backend id of the main document node the ids belong to.
    document: Option<i64>,
    previous: Option<Previous>,
    /// OOPIF target id → our session on it.
    oopif_sessions: HashMap<String, String>,
    /// Routes by `PageState::frames` index of the latest state.
    routes: Vec<FrameRoute>,
}

/// Per-context perception memory: element ids, previous state (for the
/// diff), attached OOPIF sessions and frame routes of the latest state.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    inner: Mutex<MemoryInner>,
}

impl Memory {
    fn lock(&self) -> MutexGuard<'_, MemoryInner> {
        // Poisoning only means a panic mid-update; the maps stay usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands out ids for `keys` (frame id, backend node id): the same key
    /// keeps its id while the main document (`document`) stays the same; a
    /// new document starts over at 1. Also computes the diff against the
    /// previous call.
    pub(crate) fn assign_ids(
        &self,
        document: Option<i64>,
        keys: &[(String, i64)],
        url: &str,
        title: &str,
    ) -> Assigned {
        let mut m = self.lock();
        let new_document = m.document != document || m.next_id == 0;
        if new_document {
            m.ids.clear();
            m.next_id = 1;
            m.document = document;
        }
        let mut ids = Vec::with_capacity(keys.len());
        for key in keys {
            let id = match m.ids.get(key) {
                Some(&id) => id,
                None => {
                    let id = ElementId(m.next_id);
                    m.next_id = m.next_id.saturating_add(1);
                    m.ids.insert(key.clone(), id);
                    id
                }
            };
            ids.push(id);
        }
        let current: HashSet<ElementId> = ids.iter().copied().collect();
        let diff = m.previous.as_ref().map(|prev| {
            let previous_url = (prev.url != url).then(|| prev.url.clone());
            let previous_title = (prev.title != title).then(|| prev.title.clone());
            if new_document {
                return StateDiff {
                    new_page: true,
                    previous_url,
                    previous_title,
                    ..StateDiff::default()
                };
            }
            let mut seen = HashSet::new();
            let added = ids
                .iter()
                .copied()
                .filter(|id| !prev.ids.contains(id) && seen.insert(*id))
                .collect();
            let mut removed: Vec<ElementId> = prev.ids.difference(&current).copied().collect();
            removed.sort();
            StateDiff {
                new_page: false,
                added,
                removed,
                previous_url,
                previous_title,
            }
        });
        m.previous = Some(Previous {
            ids: current,
            url: url.to_string(),
            title: title.to_string(),
        });
        Assigned { ids, diff }
    }

    /// Records the frame routes of the latest state.
    pub(crate) fn set_routes(&self, routes: Vec<FrameRoute>) {
        self.lock().routes = routes;
    }

    fn route(&self, frame: Option<usize>) -> Option<FrameRoute> {
        match frame {
            None => Some(FrameRoute::default()),
            Some(i) => self.lock().routes.get(i).cloned(),
        }
    }
}

/// A frame as listed by one session's `Page.getFrameTree`.
#[derive(Debug, Clone)]
struct RawFrame {
    frame_id: String,
    parent_id: Option<String>,
    url: String,
    session: Option<String>,
    out_of_process: bool,
}

/// Flattens a `FrameTree` into `out`, parents before children.
fn flatten(tree: &Value, session: Option<&str>, is_session_root: bool, out: &mut Vec<RawFrame>) {
    let frame = tree.get("frame").unwrap_or(&Value::Null);
    let Some(id) = frame.get("id").and_then(Value::as_str) else {
        return;
    };
    let url = frame.get("url").and_then(Value::as_str).unwrap_or("");
    let fragment = frame
        .get("urlFragment")
        .and_then(Value::as_str)
        .unwrap_or("");
    out.push(RawFrame {
        frame_id: id.to_string(),
        parent_id: frame
            .get("parentId")
            .and_then(Value::as_str)
            .map(str::to_string),
        url: format!("{url}{fragment}"),
        session: session.map(str::to_string),
        out_of_process: is_session_root && session.is_some(),
    });
    if let Some(children) = tree.get("childFrames").and_then(Value::as_array) {
        for child in children {
            flatten(child, session, false, out);
        }
    }
}

impl BrowserContext {
    /// Sends a command on `session` (`None` = the page session), aborting on
    /// crash/close of the page.
    pub(crate) async fn call_in(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, BrowserError> {
        let page_session;
        let sid = match session {
            Some(s) => s,
            None => {
                page_session = self.page().session.id.clone();
                &page_session
            }
        };
        self.guarded(self.conn.call(Some(sid), method, params))
            .await
    }

    /// Finds every frame of the page (main first, parents before children)
    /// with the `<iframe>` owning each, and the route to each.
    pub(crate) async fn discover_frames(
        &self,
    ) -> Result<(Vec<DiscoveredFrame>, Vec<FrameRoute>, Value), BrowserError> {
        let page = self.page();
        let main_tree = self.call("Page.getFrameTree", json!({}));
        let targets = self.guarded(self.conn.call(None, "Target.getTargets", json!({})));
        let (main_tree, targets) = tokio::join!(main_tree, targets);
        let mut raw = Vec::new();
        flatten(
            main_tree?.get("frameTree").unwrap_or(&Value::Null),
            None,
            true,
            &mut raw,
        );
        let main_id = raw
            .first()
            .map(|f| f.frame_id.clone())
            .unwrap_or_else(|| page.main_frame_id.clone());

        // Out-of-process iframes of this context, each on a session of ours.
        let targets = targets.unwrap_or_else(|e| {
            tracing::debug!(error = %e, "Target.getTargets failed; OOPIFs skipped");
            Value::Null
        });
        let iframe_targets: Vec<String> =
            crate::tabs::context_targets(&targets, &self.browser_context_id, "iframe")
                .filter_map(|i| i.get("targetId").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
        let sessions = self.oopif_sessions(&iframe_targets).await;
        let trees = futures_util::future::join_all(
            sessions
                .iter()
                .map(|(_, sid)| self.call_in(Some(sid), "Page.getFrameTree", json!({}))),
        )
        .await;
        let mut stale = Vec::new();
        for ((target, sid), tree) in sessions.iter().zip(trees) {
            match tree {
                Ok(t) => flatten(
                    t.get("frameTree").unwrap_or(&Value::Null),
                    Some(sid),
                    true,
                    &mut raw,
                ),
                Err(e) => {
                    tracing::debug!(error = %e, %target, "OOPIF frame tree unavailable");
                    stale.push(target.clone());
                }
            }
        }
        if !stale.is_empty() {
            let mut m = page.perception.lock();
            for t in &stale {
                m.oopif_sessions.remove(t);
            }
        }

        // One entry per frame id; the session that hosts the document wins
        // over a parent's view of it.
        let mut by_id: HashMap<String, RawFrame> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for f in raw {
            match by_id.get(&f.frame_id) {
                Some(existing) if existing.session.is_some() || f.session.is_none() => {}
                _ => {
                    if !by_id.contains_key(&f.frame_id) {
                        order.push(f.frame_id.clone());
                    }
                    by_id.insert(f.frame_id.clone(), f);
                }
            }
        }
        // Breadth-first from the main frame: keeps only frames of this page
        // and puts parents before children.
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for id in &order {
            if let Some(p) = by_id.get(id).and_then(|f| f.parent_id.as_deref()) {
                children.entry(p).or_default().push(id.as_str());
            }
        }
        let mut frames: Vec<DiscoveredFrame> = Vec::new();
        let mut routes: Vec<FrameRoute> = Vec::new();
        let mut index_of: HashMap<String, usize> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([main_id.clone()]);
        while let Some(id) = queue.pop_front() {
            if index_of.contains_key(&id) {
                continue;
            }
            let Some(f) = by_id.get(&id) else { continue };
            let parent = f.parent_id.as_ref().and_then(|p| index_of.get(p).copied());
            if id != main_id && parent.is_none() {
                continue;
            }
            index_of.insert(id.clone(), frames.len());
            frames.push(DiscoveredFrame {
                frame_id: id.clone(),
                session: f.session.clone(),
                parent,
                owner_backend_id: None,
                url: f.url.clone(),
                out_of_process: f.out_of_process,
            });
            routes.push(FrameRoute {
                session: f.session.clone(),
                chain: Vec::new(),
            });
            for c in children.get(id.as_str()).into_iter().flatten() {
                queue.push_back((*c).to_string());
            }
        }

        // Owners: the <iframe> element of each child frame, asked of the
        // session holding the parent document.
        let owner_calls = frames.iter().map(|f| async {
            let parent = f.parent?;
            let parent_session = frames[parent].session.as_deref();
            let owner = self
                .call_in(
                    parent_session,
                    "DOM.getFrameOwner",
                    json!({ "frameId": f.frame_id }),
                )
                .await;
            match owner {
                Ok(v) => v.get("backendNodeId").and_then(Value::as_i64),
                Err(e) => {
                    tracing::debug!(error = %e, frame = %f.frame_id, "no frame owner");
                    None
                }
            }
        });
        let owners = futures_util::future::join_all(owner_calls).await;
        for (i, owner) in owners.into_iter().enumerate() {
            frames[i].owner_backend_id = owner;
        }
        for i in 1..frames.len() {
            let Some(parent) = frames[i].parent else {
                continue;
            };
            let mut chain = routes[parent].chain.clone();
            if frames[i].session != frames[parent].session
                && let Some(owner) = frames[i].owner_backend_id
            {
                chain.push(Hop {
                    parent_session: frames[parent].session.clone(),
                    owner_backend_id: owner,
                });
            }
            routes[i].chain = chain;
        }
        Ok((frames, routes, targets))
    }

    /// Our sessions on the given OOPIF targets: cached ones are reused,
    /// missing ones attached, ones for targets that are gone detached.
    async fn oopif_sessions(&self, targets: &[String]) -> Vec<(String, String)> {
        let page = self.page();
        let (known, gone): (Vec<(String, String)>, Vec<String>) = {
            let mut m = page.perception.lock();
            let gone: Vec<String> = m
                .oopif_sessions
                .keys()
                .filter(|t| !targets.contains(t))
                .cloned()
                .collect();
            let gone_sessions = gone
                .iter()
                .filter_map(|t| m.oopif_sessions.remove(t))
                .collect();
            let known = targets
                .iter()
                .filter_map(|t| m.oopif_sessions.get(t).map(|s| (t.clone(), s.clone())))
                .collect();
            (known, gone_sessions)
        };
        for sid in gone {
            // Best effort: the target is usually destroyed already.
            let _ = self
                .conn
                .call(None, "Target.detachFromTarget", json!({ "sessionId": sid }))
                .await;
        }
        let missing: Vec<&String> = targets
            .iter()
            .filter(|t| !known.iter().any(|(k, _)| k == *t))
            .collect();
        let attached = futures_util::future::join_all(missing.iter().map(|t| async move {
            let r = self
                .guarded(self.conn.call(
                    None,
                    "Target.attachToTarget",
                    json!({ "targetId": t, "flatten": true }),
                ))
                .await;
            match r {
                Ok(v) => v
                    .get("sessionId")
                    .and_then(Value::as_str)
                    .map(|s| ((*t).clone(), s.to_string())),
                Err(e) => {
                    tracing::debug!(error = %e, target = %t, "attach to OOPIF failed");
                    None
                }
            }
        }))
        .await;
        let mut all = known;
        let mut m = page.perception.lock();
        for (t, s) in attached.into_iter().flatten() {
            m.oopif_sessions.insert(t.clone(), s.clone());
            all.push((t, s));
        }
        all
    }

    /// Finds where an element of the latest page state lives: its session,
    /// backend node id and the offset of its frame in the main viewport
    /// (computed now, so call it after scrolling). Unknown id →
    /// [`BrowserError::ElementNotFound`].
    pub(crate) async fn resolve(&self, id: ElementId) -> Result<ResolvedElement, BrowserError> {
        let element = self.element(id)?;
        let route = self
            .page()
            .perception
            .route(element.frame)
            .ok_or(BrowserError::ElementNotFound { id })?;
        let mut offset = (0.0, 0.0);
        for hop in &route.chain {
            let model = self
                .call_in(
                    hop.parent_session.as_deref(),
                    "DOM.getBoxModel",
                    json!({ "backendNodeId": hop.owner_backend_id }),
                )
                .await
                .map_err(|e| match e {
                    BrowserError::Protocol(_) => BrowserError::ElementNotFound { id },
                    other => other,
                })?;
            // The content box is where the child document's viewport starts.
            let quad: Vec<f64> = model
                .pointer("/model/content")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            if quad.len() >= 8 {
                let x = quad.iter().step_by(2).copied().fold(f64::MAX, f64::min);
                let y = quad
                    .iter()
                    .skip(1)
                    .step_by(2)
                    .copied()
                    .fold(f64::MAX, f64::min);
                offset.0 += x;
                offset.1 += y;
            }
        }
        let session_id = route
            .session
            .clone()
            .unwrap_or_else(|| self.page().session.id.clone());
        Ok(ResolvedElement {
            backend_node_id: element.backend_node_id,
            element,
            session_id,
            offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_within_a_document_and_reset_on_a_new_one() {
        let m = Memory::default();
        let k = |f: &str, b: i64| (f.to_string(), b);
        let first = m.assign_ids(Some(1), &[k("m", 10), k("m", 11)], "u", "t");
        assert_eq!(first.ids, vec![ElementId(1), ElementId(2)]);
        assert!(first.diff.is_none());

        let second = m.assign_ids(Some(1), &[k("m", 11), k("f", 10), k("m", 12)], "u", "t2");
        assert_eq!(second.ids, vec![ElementId(2), ElementId(3), ElementId(4)]);
        let diff = second.diff.expect("diff");
        assert_eq!(diff.added, vec![ElementId(3), ElementId(4)]);
        assert_eq!(diff.removed, vec![ElementId(1)]);
        assert_eq!(diff.previous_title.as_deref(), Some("t"));
        assert_eq!(diff.previous_url, None);

        let third = m.assign_ids(Some(2), &[k("m", 50)], "u2", "t2");
        assert_eq!(third.ids, vec![ElementId(1)]);
        let diff = third.diff.expect("diff");
        assert!(diff.new_page);
        assert_eq!(diff.previous_url.as_deref(), Some("u"));
    }

    #[test]
    fn flatten_keeps_parents_first() {
        let tree = json!({ "frame": {"id": "A", "url": "http://a/"}, "childFrames": [
            { "frame": {"id": "B", "parentId": "A", "url": "http://a/b", "urlFragment": "#x"},
              "childFrames": [ { "frame": {"id": "C", "parentId": "B", "url": "about:blank"} } ] }
        ]});
        let mut out = Vec::new();
        flatten(&tree, Some("s"), true, &mut out);
        let ids: Vec<_> = out.iter().map(|f| f.frame_id.as_str()).collect();
        assert_eq!(ids, vec!["A", "B", "C"]);
        assert!(out[0].out_of_process && !out[1].out_of_process);
        assert_eq!(out[1].url, "http://a/b#x");
        assert_eq!(out[2].parent_id.as_deref(), Some("B"));
    }
}
