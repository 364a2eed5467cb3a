//! Background upkeep: expires idle sessions and purges ended ones after the retention period.

use crate::engine::Shared;
use crate::now_ms;
use std::sync::Weak;
use std::time::{Duration, Instant};
use wayfarer_core::SessionState;

/// Runs until the engine is dropped.
pub(crate) fn spawn(shared: Weak<Shared>) {
    tokio::spawn(async move {
        let mut last_purge: Option<Instant> = None;
        loop {
            let Some(engine) = shared.upgrade() else {
                return;
            };
            let timeout = engine.config.session_timeout;
            // Check often enough that expiry is late by at most a quarter of the timeout (≤ 1 s).
            let tick = (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
            for session in engine.live_sessions() {
                let expired = {
                    let inner = session.inner();
                    // A working task holds the timer; a paused one does not.
                    let working = inner.task.is_some() && inner.state == SessionState::Active;
                    !inner.state.is_final() && !working && inner.last_activity.elapsed() >= timeout
                };
                if expired {
                    engine
                        .end_session(&session, SessionState::Expired, "expired")
                        .await;
                } else if session.context().is_lost() && session.inner().task.is_none() {
                    // Its browser died: nothing can run in this session any more.
                    engine
                        .end_session(&session, SessionState::Failed, "browser_lost")
                        .await;
                }
            }
            // Purge at least every minute, and often enough that a short retention is honoured.
            let purge_every = (engine.config.retention / 4)
                .clamp(Duration::from_millis(50), Duration::from_secs(60));
            if last_purge.is_none_or(|t| t.elapsed() >= purge_every) {
                last_purge = Some(Instant::now());
                let cutoff = now_ms() - engine.config.retention.as_millis() as i64;
                match engine.store.purge_ended(cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "purged sessions past retention"),
                    Err(e) => tracing::error!(error = %e, "retention purge failed"),
                }
            }
            drop(engine);
            tokio::time::sleep(tick).await;
        }
    });
}
