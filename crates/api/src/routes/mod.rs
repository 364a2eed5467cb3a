//! Handlers, one file per group of endpoints.

pub(crate) mod extras;
pub(crate) mod files;
pub(crate) mod start;
pub(crate) mod task;
