//! Support for the BDD suite: the cucumber runner in `tests/bdd.rs` runs `features/*.feature`
//! against a real orchestratord, with the step definitions of `tests/steps/`, and records one
//! evidence record per executed scenario with `spectrace-cucumber`.
//!
//! This library holds what the runner needs beyond step definitions, so that it is unit-tested
//! by plain `cargo test`:
//!
//! - [`args`]: the runner's command line — libtest's flags and filters are dropped, the rest is
//!   cucumber's.

pub mod args;

use std::path::PathBuf;

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.clone(), PathBuf::from)
}
