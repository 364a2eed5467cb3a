//! The `wayfarer` binary's building blocks: configuration, server start-up, operator commands
//! and benchmarks. The binary itself only parses the command line and calls these.

pub mod bench;
pub mod bench_browser;
pub mod config;
pub mod operator;
pub mod perceive;
pub mod server;
