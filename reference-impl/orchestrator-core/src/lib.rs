//! Pure logic of the reference orchestrator: no I/O, no clock, no async runtime.
//! Time is passed in as milliseconds; identifiers are plain keys chosen by the caller.
//!
//! - [`queue`]: one pool's bounded FIFOs per priority, full policies, dispatch order and
//!   queue positions (ORCH-3004 – ORCH-3007, ORCH-3011).
//! - [`lifecycle`]: the task state machine; every admitted task ends exactly once.
//! - [`sessions`]: session time to live and budgets (ORCH-3022 – ORCH-3024).
//! - [`placement`]: which replica gets a dispatched task (ORCH-3012 – ORCH-3014).
//! - [`sampler`]: the deterministic token generator of the built-in `sim` engine
//!   (ORCH-3056 – ORCH-3058, ORCH-3060).
//! - [`predict`]: predicted start times (ORCH-3011).
//! - [`pool`]: one pool's scheduler tying the above together; every admitted task ends exactly
//!   once.

pub mod lifecycle;
pub mod placement;
pub mod pool;
pub mod predict;
pub mod queue;
pub mod sampler;
pub mod sessions;

/// Identifies a task inside one orchestrator process; the server maps it to the public id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskKey(pub u64);

/// Priority class of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// Served first.
    Interactive,
    /// Served when no interactive task waits, and at least every `batch_every` dispatches.
    Batch,
}

/// What a pool does with a task that arrives for a full queue (ORCH-3005).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FullPolicy {
    /// The arriving task is refused.
    Reject,
    /// The task that waited longest in the full queue is evicted for the arriving one.
    DropLru,
    /// A full queue refuses; interactive pressure sheds queued batch work.
    ShedLowPriority,
}
