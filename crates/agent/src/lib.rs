//! The agent: perceive → plan → act, under budgets and a human's control.
//!
//! Architecture invariant: the planner only ever sees [`wayfarer_browser::PageState`] and the
//! task text — never secret values (substitution happens at the browser boundary, later issue).

mod clock;
mod offline;
mod planner;
mod run;

pub use clock::WorkClock;
pub use offline::OfflinePlanner;
pub use planner::{Action, Planner, PlannerInput, PlannerStep, PlannerUsage, StepRecord};
pub use run::{Answer, Control, RunEvent, RunSettings, run_task};
