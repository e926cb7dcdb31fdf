//! spectrace for test suites: link a test to the requirements it verifies, and record its
//! outcome as evidence when it runs.
//!
//! ```text
//! #[spectrace::covers("REQ-0001", kind = "property")]
//! #[test]
//! fn refill_never_exceeds_capacity() {
//!     // ...
//! }
//! ```
//!
//! This crate is what a test suite depends on, and nothing more: the [`covers`] and
//! [`implements`] attributes and the evidence recorder behind them ([`evidence`]). Reading the
//! specs, scanning sources, judging a run and writing reports belong to `spectrace-core` and the
//! `spectrace` command (`spectrace-cli`), which a test build never compiles.
//!
//! When the environment variable `SPECTRACE_EVIDENCE_DIR` names a directory, every run of an
//! annotated test appends one JSON line (IDs, test path, `file:line`, kind, outcome, failure
//! message) to `$SPECTRACE_EVIDENCE_DIR/evidence-<pid>.jsonl`, also when the test panics;
//! without it the attribute records nothing and the test runs as written. Runners other than
//! libtest write the same records with [`append_record`].

//!
//! The default feature `recorder` is the recorder and `#[covers]`. Without it
//! (`default-features = false`) the crate is the `#[implements]` attribute alone, for a
//! library that marks what it implements without serde in its normal build.

// Lets the `covers` macro name `::spectrace` from inside this crate's own tests.
extern crate self as spectrace;

#[cfg(feature = "recorder")]
pub mod evidence;

#[cfg(feature = "recorder")]
pub use evidence::{
    EVIDENCE_DIR_ENV, EvidenceKind, EvidenceRecord, Outcome, SHARD_ENV, append_record,
    current_shard, evidence_dir,
};

/// Links a test to the requirements it verifies: `#[spectrace::covers("ORCH-2002")]` above
/// `#[test]`, `#[tokio::test]` or a test inside `proptest!`. IDs are checked for syntax at
/// compile time; `kind = "test" | "property" | "contract" | "compile" | "e2e"` (default
/// `test`) says what sort of evidence the test is. See [`evidence`].
#[cfg(feature = "recorder")]
pub use spectrace_macros::covers;

/// Links an item to the requirements it implements: `#[spectrace::implements("ORCH-3004")]` on
/// a function, type, `impl` block, module, constant or any other item. The item is unchanged;
/// `spectrace scan` finds the link statically.
pub use spectrace_macros::implements;

#[cfg(feature = "recorder")]
#[doc(hidden)]
pub mod __private {
    //! Support code for the expansion of `#[covers]`; not a public API.
    pub use crate::evidence::runtime::*;
}
