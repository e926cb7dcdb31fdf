//! Sessions: created by the first task naming them, kept alive by each admitted task for a time
//! to live, and bounded by a turn budget and a token budget (ORCH-3022 – ORCH-3024).
//!
//! A task is charged its prompt tokens plus its whole `max_tokens` when it is admitted (so two
//! concurrent tasks cannot overdraw the budget); when it ends, the tokens it did not generate are
//! refunded.

use std::collections::HashMap;

/// Budgets of every session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Time to live after the last admitted task, in milliseconds.
    pub ttl_ms: u64,
    /// Most tasks per session.
    pub max_turns: u64,
    /// Most prompt plus generated tokens per session.
    pub max_tokens: u64,
}

/// One session's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionView {
    /// Tasks admitted so far.
    pub turns_used: u64,
    /// The turn budget.
    pub turns_max: u64,
    /// Tokens charged so far.
    pub tokens_used: u64,
    /// The token budget.
    pub tokens_max: u64,
    /// Milliseconds until the session expires.
    pub ttl_remaining_ms: u64,
}

impl SessionView {
    /// Turns left.
    pub fn turns_remaining(&self) -> u64 {
        self.turns_max.saturating_sub(self.turns_used)
    }

    /// Tokens left.
    pub fn tokens_remaining(&self) -> u64 {
        self.tokens_max.saturating_sub(self.tokens_used)
    }
}

/// Which budget a task would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetExhausted {
    /// No turn left.
    Turns,
    /// Not enough tokens left for the prompt plus `max_tokens`.
    Tokens,
}

#[derive(Debug, Clone, Copy)]
struct Session {
    turns_used: u64,
    tokens_used: u64,
    expires_at_ms: u64,
}

/// Every live session of the process.
#[derive(Debug, Clone)]
pub struct Sessions {
    limits: SessionLimits,
    sessions: HashMap<String, Session>,
}

impl Sessions {
    /// No sessions yet.
    pub fn new(limits: SessionLimits) -> Self {
        Self {
            limits,
            sessions: HashMap::new(),
        }
    }

    fn live(&self, id: &str, now_ms: u64) -> Option<&Session> {
        self.sessions.get(id).filter(|s| s.expires_at_ms > now_ms)
    }

    fn view(&self, session: &Session, now_ms: u64) -> SessionView {
        SessionView {
            turns_used: session.turns_used,
            turns_max: self.limits.max_turns,
            tokens_used: session.tokens_used,
            tokens_max: self.limits.max_tokens,
            ttl_remaining_ms: session.expires_at_ms.saturating_sub(now_ms),
        }
    }

    /// Whether [`admit`](Self::admit) would accept the task, without changing anything.
    #[spectrace::implements("ORCH-3023")]
    pub fn check(
        &self,
        id: &str,
        now_ms: u64,
        prompt_tokens: u64,
        max_tokens: u64,
    ) -> Result<(), BudgetExhausted> {
        let (turns_used, tokens_used) = self
            .live(id, now_ms)
            .map_or((0, 0), |s| (s.turns_used, s.tokens_used));
        if turns_used >= self.limits.max_turns {
            return Err(BudgetExhausted::Turns);
        }
        if tokens_used.saturating_add(prompt_tokens.saturating_add(max_tokens))
            > self.limits.max_tokens
        {
            return Err(BudgetExhausted::Tokens);
        }
        Ok(())
    }

    /// Charges a task to its session, creating the session when it is new or expired, and
    /// restarts its time to live. Nothing changes when a budget would be exceeded.
    #[spectrace::implements("ORCH-3022", "ORCH-3023")]
    pub fn admit(
        &mut self,
        id: &str,
        now_ms: u64,
        prompt_tokens: u64,
        max_tokens: u64,
    ) -> Result<SessionView, BudgetExhausted> {
        let current = self.live(id, now_ms).copied().unwrap_or(Session {
            turns_used: 0,
            tokens_used: 0,
            expires_at_ms: 0,
        });
        self.check(id, now_ms, prompt_tokens, max_tokens)?;
        let charge = prompt_tokens.saturating_add(max_tokens);
        let updated = Session {
            turns_used: current.turns_used + 1,
            tokens_used: current.tokens_used + charge,
            expires_at_ms: now_ms.saturating_add(self.limits.ttl_ms),
        };
        self.sessions.insert(id.to_owned(), updated);
        Ok(self.view(&updated, now_ms))
    }

    /// Gives back the tokens a finished task was charged for but did not generate.
    #[spectrace::implements("ORCH-3023")]
    pub fn refund(&mut self, id: &str, unused_tokens: u64) {
        if let Some(session) = self.sessions.get_mut(id) {
            session.tokens_used = session.tokens_used.saturating_sub(unused_tokens);
        }
    }

    /// The session, unless it is unknown or expired.
    pub fn get(&self, id: &str, now_ms: u64) -> Option<SessionView> {
        self.live(id, now_ms).map(|s| self.view(s, now_ms))
    }

    /// Forgets a session; false when it was unknown or expired.
    pub fn delete(&mut self, id: &str, now_ms: u64) -> bool {
        let existed = self.live(id, now_ms).is_some();
        self.sessions.remove(id);
        existed
    }

    /// Drops expired sessions (memory only; they already read as absent).
    pub fn purge_expired(&mut self, now_ms: u64) {
        self.sessions.retain(|_, s| s.expires_at_ms > now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions() -> Sessions {
        Sessions::new(SessionLimits {
            ttl_ms: 1000,
            max_turns: 2,
            max_tokens: 100,
        })
    }

    #[spectrace::covers("ORCH-3022")]
    #[test]
    fn created_on_first_use_and_kept_alive_by_each_task() {
        let mut s = sessions();
        assert_eq!(s.get("a", 0), None);
        s.admit("a", 0, 5, 5).unwrap();
        assert_eq!(s.get("a", 999).unwrap().ttl_remaining_ms, 1);
        s.admit("a", 900, 5, 5).unwrap();
        assert_eq!(s.get("a", 1500).unwrap().ttl_remaining_ms, 400);
        assert_eq!(s.get("a", 1900), None, "expired");
        let fresh = s.admit("a", 2000, 1, 1).unwrap();
        assert_eq!(fresh.turns_used, 1, "an expired session starts over");
    }

    #[spectrace::covers("ORCH-3023", "ORCH-3024")]
    #[test]
    fn budgets_refuse_without_charging() {
        let mut s = sessions();
        let view = s.admit("a", 0, 10, 40).unwrap();
        assert_eq!((view.turns_remaining(), view.tokens_remaining()), (1, 50));
        assert_eq!(s.admit("a", 1, 10, 41), Err(BudgetExhausted::Tokens));
        assert_eq!(
            s.get("a", 1).unwrap().tokens_used,
            50,
            "a refused task charges nothing"
        );
        s.admit("a", 1, 10, 40).unwrap();
        assert_eq!(s.admit("a", 2, 0, 0), Err(BudgetExhausted::Turns));
    }

    #[test]
    fn refunds_and_deletes() {
        let mut s = sessions();
        s.admit("a", 0, 10, 40).unwrap();
        s.refund("a", 30);
        assert_eq!(s.get("a", 0).unwrap().tokens_used, 20);
        assert!(s.delete("a", 0));
        assert!(!s.delete("a", 0));
        assert_eq!(
            s.admit("a", 0, 1, 1).unwrap().turns_used,
            1,
            "a deleted session starts over"
        );
    }
}
