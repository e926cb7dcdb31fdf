//! spectrace: spec traceability for Rust projects.
//!
//! The pipeline (BRIEF §2) flows one way; each stage is one module:
//!
//! - [`requirements`]: `.specs/*.md` → [`model::RequirementIndex`] (parsing per file in
//!   [`extract`], anchors in [`slug`], levels in [`level`], IDs in [`id`]);
//! - [`render`]: the index → YAML/JSON text; [`fsio`] writes every output atomically;
//! - [`evidence`]: the record a test run leaves behind for each annotated test, written by the
//!   [`covers`] attribute;
//! - [`scan`]: Rust (`#[covers]`, `#[implements]`), Gherkin and OpenAPI (`x-req-id`) sources →
//!   [`scan::Scan`], the evidence and links declared statically.
//!
//! Configuration is [`config::Config`] (`spectrace.toml`); problems are [`diag::Diagnostic`]s
//! that name `file:line`.

// Lets the `covers` macro name `::spectrace` from inside this crate's own tests.
extern crate self as spectrace;

pub mod compliance;
pub mod config;
pub mod diag;
pub mod diff;
pub mod evidence;
pub mod extract;
pub mod fingerprint;
pub mod fsio;
pub mod gate;
pub mod generated;
pub mod id;
pub mod level;
pub mod model;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod requirements;
pub mod review;
pub mod scan;
pub mod site;
pub mod slug;

/// Links a test to the requirements it verifies: `#[spectrace::covers("ORCH-2002")]` above
/// `#[test]`, `#[tokio::test]` or a test inside `proptest!`. See [`evidence`].
pub use spectrace_macros::covers;

/// Links an item to the requirements it implements: `#[spectrace::implements("ORCH-3004")]` on
/// a function, type, `impl` block, module, constant or any other item. The item is unchanged;
/// `spectrace scan` lists the link (see [`scan::ImplementationLink`]).
pub use spectrace_macros::implements;

#[doc(hidden)]
pub mod __private {
    //! Support code for the expansion of `#[covers]`; not a public API.
    pub use crate::evidence::runtime::*;
}
