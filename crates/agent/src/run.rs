//! The step loop of one task.

use crate::clock::WorkClock;
use crate::planner::{Action, Planner, PlannerInput, PlannerStep, StepRecord};
use serde_json::{Value, json};
use std::future::Future;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use wayfarer_browser::{BrowserContext, BrowserError};
use wayfarer_core::{Error, TaskSpec, TaskStatus, Usage};

/// What the session asks of a running task. The engine owns the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Work.
    Run,
    /// Finish the current step, then wait (the clock stops).
    Pause,
    /// End as `TASK_STOPPED`.
    Stop,
    /// End as `SESSION_TERMINATED`.
    Terminate,
    /// End as `SESSION_EXPIRED`.
    Expire { idle_ms: u64 },
}

/// Progress reported while the task runs (the engine turns these into events and status).
#[derive(Clone, Debug, PartialEq)]
pub enum RunEvent {
    /// The task's status changed (active ↔ paused).
    Status(TaskStatus),
    /// Planner reasoning.
    Agent(String),
    /// An action was performed.
    Action {
        name: String,
        target: Option<String>,
        args: Value,
    },
    /// The page moved to a new URL.
    Navigation(String),
    /// Usage so far.
    Usage(Usage),
}

/// Knobs of the loop that come from server configuration.
#[derive(Clone, Copy, Debug)]
pub struct RunSettings {
    /// Longest a single navigation may take (spec: 30 s, or the task's remaining time if less).
    pub navigation_timeout: Duration,
    /// Hard cap on planner steps, so a confused planner cannot loop forever.
    pub max_steps: u32,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            navigation_timeout: Duration::from_secs(30),
            max_steps: 100,
        }
    }
}

/// A completed task's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// `data.message`.
    pub message: String,
    /// `data.output` for structured output.
    pub output: Option<Value>,
}

/// Maps a browser failure to the task failure a client sees.
fn browser_error(e: BrowserError) -> Error {
    match e {
        BrowserError::NavigationTimeout { url, timeout_ms } => {
            Error::NavigationTimeout { url, timeout_ms }
        }
        BrowserError::ElementNotFound { id } => Error::ElementNotFound {
            looked_for: json!({ "elementId": id.0 }),
        },
        BrowserError::WaitTimeout { what, timeout_ms } => Error::ElementNotFound {
            looked_for: json!({ "waitedFor": what, "timeout": timeout_ms }),
        },
        BrowserError::Navigation { url, reason } => Error::NavigationFailed { url, reason },
        BrowserError::Blocked { url, reason } => Error::NavigationBlocked { url, rule: reason },
        BrowserError::InvalidArgument(reason) => Error::PlannerError {
            reason,
            status: None,
        },
        BrowserError::Unavailable => Error::InstanceUnavailable {
            retry_after_secs: 5,
            reason: None,
        },
        other => {
            tracing::warn!(error = %other, "browser failure ends the task as PAGE_CRASH");
            Error::PageCrash
        }
    }
}

struct Run<'a> {
    ctx: &'a BrowserContext,
    spec: &'a TaskSpec,
    control: watch::Receiver<Control>,
    events: mpsc::UnboundedSender<RunEvent>,
    clock: WorkClock,
    usage: Usage,
    settings: RunSettings,
}

impl Run<'_> {
    fn emit(&self, event: RunEvent) {
        // The receiver only goes away when the engine is dropping the task; nothing to do then.
        let _ = self.events.send(event);
    }

    fn control_error(&self, control: Control) -> Option<Error> {
        match control {
            Control::Stop => Some(Error::TaskStopped),
            Control::Terminate => Some(Error::SessionTerminated),
            Control::Expire { idle_ms } => Some(Error::SessionExpired { idle_ms }),
            Control::Run | Control::Pause => None,
        }
    }

    fn timeout_error(&self) -> Error {
        Error::TaskTimeout {
            max_duration_ms: self.spec.max_duration_ms,
        }
    }

    /// Runs `work` against the clock and the control channel: a stop/terminate/expiry aborts it,
    /// a pause lets it finish (pauses take effect between steps).
    async fn work<T>(
        &mut self,
        grace: Duration,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        tokio::pin!(work);
        loop {
            let deadline = self.clock.remaining() + grace;
            tokio::select! {
                result = &mut work => return result,
                _ = tokio::time::sleep(deadline) => return Err(self.timeout_error()),
                changed = self.control.changed() => {
                    if changed.is_err() {
                        return Err(Error::SessionTerminated);
                    }
                    let now = *self.control.borrow_and_update();
                    if let Some(e) = self.control_error(now) {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Between steps: honours stop/terminate, and waits out a pause without charging the clock.
    async fn checkpoint(&mut self) -> Result<(), Error> {
        loop {
            let now = *self.control.borrow_and_update();
            if let Some(e) = self.control_error(now) {
                return Err(e);
            }
            if now != Control::Pause {
                return Ok(());
            }
            self.clock.pause();
            self.emit(RunEvent::Status(TaskStatus::Paused));
            while *self.control.borrow_and_update() == Control::Pause {
                if self.control.changed().await.is_err() {
                    return Err(Error::SessionTerminated);
                }
            }
            self.clock.resume();
            if let Some(e) = self.control_error(*self.control.borrow()) {
                return Err(e);
            }
            self.emit(RunEvent::Status(TaskStatus::Active));
        }
    }

    async fn navigate(&mut self, url: &str) -> Result<(), Error> {
        let timeout = self.settings.navigation_timeout.min(self.clock.remaining());
        let ctx = self.ctx;
        // The navigation's own timeout fires first when it is what runs out of time, so the
        // code is NAVIGATION_TIMEOUT as spec §4 asks; the grace only covers scheduling jitter.
        let result = self
            .work(Duration::from_secs(2), async move {
                ctx.navigate(url, timeout).await.map_err(browser_error)
            })
            .await;
        match result {
            Ok(()) => {}
            Err(Error::TaskTimeout { .. }) => {
                return Err(Error::NavigationTimeout {
                    url: url.to_string(),
                    timeout_ms: timeout.as_millis() as u64,
                });
            }
            Err(e) => return Err(e),
        }
        let ctx = self.ctx;
        let now_at = self
            .work(Duration::ZERO, async move {
                ctx.current_url().await.map_err(browser_error)
            })
            .await?;
        self.emit(RunEvent::Navigation(now_at));
        Ok(())
    }

    /// Runs one browser action as working time and reports any navigation it caused.
    async fn browser_step(
        &mut self,
        action: impl Future<Output = Result<wayfarer_browser::ActionReport, BrowserError>>,
    ) -> Result<String, Error> {
        let report = self
            .work(Duration::ZERO, async move {
                action.await.map_err(browser_error)
            })
            .await?;
        self.report_navigation(&report);
        Ok(report.description)
    }

    fn report_navigation(&self, report: &wayfarer_browser::ActionReport) {
        if let Some(url) = &report.navigated_to {
            self.emit(RunEvent::Navigation(url.clone()));
        }
    }

    async fn act(&mut self, action: &Action) -> Result<String, Error> {
        let ctx = self.ctx;
        match action {
            Action::Navigate { url } => {
                self.navigate(url).await?;
                Ok(format!("Opened {url}"))
            }
            Action::Wait { ms } => {
                let ms = *ms;
                self.work(Duration::ZERO, async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Ok(())
                })
                .await?;
                Ok(format!("Waited {ms} ms"))
            }
            Action::Click { id } => {
                let id = *id;
                self.browser_step(async move { ctx.click(id).await }).await
            }
            Action::Type { id, text } => {
                let (id, text) = (*id, text.clone());
                self.browser_step(async move { ctx.type_text(id, &text).await })
                    .await
            }
            Action::PressKey { chord } => {
                let chord = chord.clone();
                self.browser_step(async move { ctx.press_key(&chord).await })
                    .await
            }
            Action::Scroll { dx, dy } => {
                let (dx, dy) = (*dx, *dy);
                self.browser_step(async move { ctx.scroll_page(dx, dy).await })
                    .await
            }
            Action::History { delta } => {
                let delta = *delta;
                let timeout = self.settings.navigation_timeout.min(self.clock.remaining());
                self.browser_step(async move { ctx.go_history(delta, timeout).await })
                    .await
            }
            Action::Reload => {
                let timeout = self.settings.navigation_timeout.min(self.clock.remaining());
                self.browser_step(async move { ctx.reload(timeout).await })
                    .await
            }
            Action::Select { id, option } => {
                let (id, option) = (*id, option.clone());
                self.browser_step(async move { ctx.select_option(id, &option).await })
                    .await
            }
            Action::SetChecked { id, checked } => {
                let (id, checked) = (*id, *checked);
                self.browser_step(async move { ctx.set_checked(id, checked).await })
                    .await
            }
            Action::Hover { id } => {
                let id = *id;
                self.browser_step(async move { ctx.hover(id).await }).await
            }
            Action::OpenTab { url } => {
                let url = url.clone();
                let timeout = self.settings.navigation_timeout.min(self.clock.remaining());
                self.browser_step(async move { ctx.open_tab(url.as_deref(), timeout).await })
                    .await
            }
            Action::SwitchTab { tab } => {
                let tab = *tab;
                self.browser_step(async move { ctx.switch_tab(tab).await })
                    .await
            }
            Action::CloseTab { tab } => {
                let tab = tab.unwrap_or_else(|| ctx.active_tab());
                self.browser_step(async move { ctx.close_tab(tab).await })
                    .await
            }
            Action::WaitForText { text } => {
                let text = text.clone();
                // One wait may take 30 s, or what is left of the task's time; when the task's
                // time is what runs out, that is a TASK_TIMEOUT, not a missing element.
                let limit = Duration::from_secs(30);
                let timeout = limit.min(self.clock.remaining());
                let result = self
                    .work(Duration::from_secs(1), async move {
                        Ok::<_, Error>(ctx.wait_for_text(&text, timeout).await)
                    })
                    .await?;
                match result {
                    Ok(report) => Ok(report.description),
                    Err(BrowserError::WaitTimeout { .. }) if timeout < limit => {
                        Err(self.timeout_error())
                    }
                    Err(e) => Err(browser_error(e)),
                }
            }
        }
    }

    async fn run(&mut self, planner: &dyn Planner) -> Result<Answer, Error> {
        self.checkpoint().await?;
        if let Some(url) = self.spec.starting_point.clone() {
            self.navigate(&url).await?;
        }
        let mut history: Vec<StepRecord> = Vec::new();
        loop {
            self.checkpoint().await?;
            if self.usage.steps >= self.settings.max_steps {
                return Err(Error::PlannerError {
                    reason: format!("no answer after {} steps", self.settings.max_steps),
                    status: None,
                });
            }
            let ctx = self.ctx;
            let page = self
                .work(Duration::ZERO, async move {
                    ctx.page_state().await.map_err(browser_error)
                })
                .await?;
            let (step, used) = planner
                .next_step(PlannerInput {
                    task: &self.spec.task,
                    page: &page,
                    history: &history,
                    output: &self.spec.output,
                })
                .await;
            self.usage.steps += 1;
            self.usage.prompt_tokens += used.prompt_tokens;
            self.usage.completion_tokens += used.completion_tokens;
            self.usage.working_ms = self.clock.used().as_millis() as u64;
            self.emit(RunEvent::Usage(self.usage));
            if self.usage.prompt_tokens > self.spec.max_input_tokens {
                return Err(Error::TokenLimitExceeded {
                    limit: self.spec.max_input_tokens,
                    kind: "input".into(),
                });
            }
            if self.usage.completion_tokens > self.spec.max_output_tokens {
                return Err(Error::TokenLimitExceeded {
                    limit: self.spec.max_output_tokens,
                    kind: "output".into(),
                });
            }
            match step {
                PlannerStep::Done { message, output } => return Ok(Answer { message, output }),
                PlannerStep::Fail(e) => return Err(e),
                PlannerStep::Act { action, reasoning } => {
                    self.emit(RunEvent::Agent(reasoning));
                    let target = match &action {
                        Action::Click { id } | Action::Type { id, .. } => page
                            .elements
                            .iter()
                            .find(|e| e.id == *id)
                            .map(|e| format!("{} \"{}\"", e.role, e.name)),
                        _ => None,
                    };
                    let args = action.args();
                    let outcome = self.act(&action).await?;
                    self.emit(RunEvent::Action {
                        name: action.name().into(),
                        target,
                        args,
                    });
                    history.push(StepRecord { action, outcome });
                }
            }
        }
    }
}

/// Runs `spec` in `ctx` with `planner` until it completes, fails, or `control` ends it.
/// Returns the outcome and the final usage (cost is left for the engine, which knows prices).
pub async fn run_task(
    ctx: &BrowserContext,
    spec: &TaskSpec,
    planner: &dyn Planner,
    control: watch::Receiver<Control>,
    events: mpsc::UnboundedSender<RunEvent>,
    settings: RunSettings,
) -> (Result<Answer, Error>, Usage) {
    let mut run = Run {
        ctx,
        spec,
        control,
        events,
        clock: WorkClock::start(Duration::from_millis(spec.max_duration_ms)),
        usage: Usage::default(),
        settings,
    };
    let result = run.run(planner).await;
    run.usage.working_ms = run.clock.used().as_millis() as u64;
    (result, run.usage)
}
