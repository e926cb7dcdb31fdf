//! The step definitions of the BDD suite, by area, and the world they share.
//!
//! - [`world`]: the scenario's world — configuration being built, the server, last answer,
//!   named tasks and streams.
//! - [`server`]: a real orchestratord on a loopback port, on its own thread and runtime.
//! - [`reader`]: one reader of a task's event stream.
//! - [`params`]: custom parameter types of the step expressions.
//! - [`setup`]: `Given` steps that build the configuration.
//! - [`startup`]: starting from a configuration file or text, and refusals to start.
//! - [`tasks`]: enqueue, read, cancel, wait for states.
//! - [`streams`]: event streams: framing, order, terminal events.
//! - [`requests`]: requests written out in full: method, path, body, headers, credentials.
//! - [`responses`]: status, headers, fields, the error envelope, timings.
//! - [`sessions`]: reading, deleting and expiring sessions.
//! - [`control`]: the operator's control plane: drain, reload, health, replica sets.
//! - [`discovery`]: reading the capabilities.
//! - [`metrics`]: the metrics exposition against the metric contract.

pub mod control;
pub mod discovery;
pub mod metrics;
pub mod params;
pub mod reader;
pub mod requests;
pub mod responses;
pub mod server;
pub mod sessions;
pub mod setup;
pub mod startup;
pub mod streams;
pub mod tasks;
pub mod world;

pub use world::Orch;

/// The version orchestratord reports for its `sim` engine (ORCH-3063): its own package
/// version, which is the workspace's, shared by this crate.
pub const ORCHESTRATORD_VERSION: &str = env!("CARGO_PKG_VERSION");
