//! The task state machine: `queued → running → completed | failed | cancelled`, or from
//! `queued` straight to `cancelled | dropped | expired`. A terminal state is final: a second
//! ending is refused, so every admitted task ends exactly once.

use std::fmt;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Admitted, waiting in a queue.
    Queued,
    /// Holding a slot on a replica.
    Running,
    /// Every requested token was produced (or the engine stopped).
    Completed,
    /// Ended by an error after dispatch (engine failure, timeout, drain deadline, shutdown).
    Failed,
    /// Cancelled by the client, by disconnect, or for never opening its stream.
    Cancelled,
    /// Evicted from its queue by the full policy.
    Dropped,
    /// Its deadline passed while it was queued.
    Expired,
}

impl TaskState {
    /// True for the five final states.
    pub fn is_terminal(self) -> bool {
        !matches!(self, TaskState::Queued | TaskState::Running)
    }

    /// The lower-case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Completed => "completed",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
            TaskState::Dropped => "dropped",
            TaskState::Expired => "expired",
        }
    }
}

/// A transition the state machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalTransition {
    /// The state the task was in.
    pub from: TaskState,
    /// The state asked for.
    pub to: TaskState,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {} task cannot become {}",
            self.from.as_str(),
            self.to.as_str()
        )
    }
}

impl std::error::Error for IllegalTransition {}

/// One task's state, changed only through legal transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    state: TaskState,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    /// A newly admitted task.
    pub fn new() -> Self {
        Self {
            state: TaskState::Queued,
        }
    }

    /// The current state.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// Moves to `to` if the transition is legal.
    pub fn advance(&mut self, to: TaskState) -> Result<(), IllegalTransition> {
        use TaskState::*;
        let legal = matches!(
            (self.state, to),
            (Queued, Running | Cancelled | Dropped | Expired | Failed)
                | (Running, Completed | Failed | Cancelled)
        );
        if legal {
            self.state = to;
            Ok(())
        } else {
            Err(IllegalTransition {
                from: self.state,
                to,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TaskState::*;
    use super::*;

    const ALL: [TaskState; 7] = [
        Queued, Running, Completed, Failed, Cancelled, Dropped, Expired,
    ];

    #[test]
    fn only_documented_transitions_are_legal() {
        for from in ALL {
            for to in ALL {
                let mut life = Lifecycle { state: from };
                let ok = life.advance(to).is_ok();
                let expected = match from {
                    Queued => matches!(to, Running | Cancelled | Dropped | Expired | Failed),
                    Running => matches!(to, Completed | Failed | Cancelled),
                    _ => false,
                };
                assert_eq!(ok, expected, "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn a_terminal_state_is_final() {
        let mut life = Lifecycle::new();
        life.advance(Running).unwrap();
        life.advance(Cancelled).unwrap();
        let err = life.advance(Completed).unwrap_err();
        assert_eq!(err.to_string(), "a cancelled task cannot become completed");
        assert_eq!(life.state(), Cancelled);
        assert!(Cancelled.is_terminal() && !Running.is_terminal());
    }
}
