//! Pure domain of wayfarer: the vocabulary every other crate speaks.
//!
//! Architecture invariant: this crate does no I/O (beyond drawing random ids) and knows
//! nothing of HTTP, SQL or CDP. Every wire error is made here, in [`Error`].

pub mod apikey;
pub mod error;
pub mod ids;
pub mod money;
pub mod options;
pub mod state;
pub mod usage;

pub use apikey::ApiKey;
pub use error::{Error, ErrorCode, ParamRule};
pub use ids::{AccountId, SessionId, TaskId};
pub use money::{Micros, Prices};
pub use options::{ParseContext, SessionSpec, TaskSpec};
pub use state::{SessionAction, SessionState, TaskStatus};
pub use usage::Usage;
