//! spectrace: spec traceability for Rust projects.
//!
//! The pipeline (BRIEF §2) flows one way; each stage is one module:
//!
//! - [`requirements`]: `.specs/*.md` → [`model::RequirementIndex`] (parsing per file in
//!   [`extract`], anchors in [`slug`], levels in [`level`], IDs in [`id`]);
//! - [`render`]: the index → YAML/JSON text; [`fsio`] writes every output atomically;
//! - [`evidence`]: the record a test run leaves behind for each annotated test, written by the
//!   [`covers`] attribute.
//!
//! Configuration is [`config::Config`] (`spectrace.toml`); problems are [`diag::Diagnostic`]s
//! that name `file:line`.

// Lets the `covers` macro name `::spectrace` from inside this crate's own tests.
extern crate self as spectrace;

pub mod config;
pub mod diag;
pub mod evidence;
pub mod extract;
pub mod fingerprint;
pub mod fsio;
pub mod generated;
pub mod id;
pub mod level;
pub mod model;
pub mod render;
pub mod requirements;
pub mod slug;

/// Links a test to the requirements it verifies: `#[spectrace::covers("ORCH-2002")]` above
/// `#[test]`, `#[tokio::test]` or a test inside `proptest!`. See [`evidence`].
pub use spectrace_macros::covers;

#[doc(hidden)]
pub mod __private {
    //! Support code for the expansion of `#[covers]`; not a public API.
    pub use crate::evidence::runtime::*;
}
