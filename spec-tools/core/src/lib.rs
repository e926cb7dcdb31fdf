//! spectrace-core: the stages of spectrace, as a library. The `spectrace` command
//! (`spectrace-cli`) is a thin layer over it; test suites depend on the small `spectrace`
//! crate instead, which only records evidence.
//!
//! The pipeline flows one way (see ARCHITECTURE.md); each stage is one module with one input
//! and one output:
//!
//! - [`requirements`]: `.specs/*.md` → [`model::RequirementIndex`] (parsing per file in
//!   [`extract`], anchors in [`slug`], levels in [`level`], IDs in [`id`]);
//! - [`scan`]: Rust (`#[covers]`, `#[implements]`), Gherkin and OpenAPI (`x-req-id`) sources →
//!   [`scan::Scan`], the evidence and links declared statically;
//! - [`compliance`]: the index, the scan and the records of a run ([`evidence`], written by the
//!   `spectrace` crate) → [`compliance::ComplianceModel`], a status per requirement;
//! - [`gate`]: the model and `[gate]` → the requirements that fall short;
//! - [`report`], [`site`], [`diff`], [`review`]: the model → `COMPLIANCE.md`, JSON and JUnit
//!   reports, the static site, a pull request's changes, reviewed fingerprints;
//! - [`render`] serializes data files and [`fsio`] writes every output atomically;
//!   [`pipeline`] calls the stages in order for `report`, `check` and `verify`.
//!
//! Configuration is [`config::Config`] (`spectrace.toml`); problems are [`diag::Diagnostic`]s
//! that name `file:line`.

pub mod bdd;
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
pub mod init;
pub mod level;
pub mod lines;
pub mod markdown;
pub mod model;
pub mod paths;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod requirements;
pub mod review;
pub mod scan;
pub mod site;
pub mod strength;
