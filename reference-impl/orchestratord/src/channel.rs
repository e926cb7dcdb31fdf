//! A task's event log: the events of its stream in order, ending in exactly one terminal event.
//!
//! Producers (the runner, cancel, expiry, eviction) append; the one reader (the SSE response)
//! follows from the start, so tokens produced before the client connects are not lost. Once the
//! terminal event is appended the log is closed and every further append is refused — this is
//! what makes "no token after cancel" race-free: cancel closes the log under its lock, and a
//! runner that loses the race simply sees its token refused.
//!
//! An ended log that no reader follows can be compacted to its terminal event alone
//! ([`EventLog::compact`]), so an ended task costs little memory (ORCH-3066); a reader that
//! attaches afterwards gets just that terminal event.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// One event of a task's stream: its SSE name and its JSON data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    /// `token`, `metrics`, `end` or `error` (`started` is made by the reader).
    pub name: &'static str,
    /// One line of JSON.
    pub data: String,
}

#[derive(Debug, Default)]
struct Log {
    events: Vec<StreamEvent>,
    tokens: u64,
    closed: bool,
    reader_attached: bool,
}

/// The shared log.
#[derive(Debug, Default, Clone)]
pub struct EventLog {
    inner: Arc<(Mutex<Log>, Notify)>,
}

impl EventLog {
    /// An empty, open log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        self.inner.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a non-terminal event; false (and nothing appended) when the log is closed.
    pub fn push(&self, event: StreamEvent) -> bool {
        let mut log = self.lock();
        if log.closed {
            return false;
        }
        if event.name == "token" {
            log.tokens += 1;
        }
        log.events.push(event);
        drop(log);
        self.inner.1.notify_waiters();
        true
    }

    /// Appends the terminal event and closes the log; false when it was already closed.
    #[spectrace::implements("ORCH-3025")]
    pub fn close(&self, terminal: StreamEvent) -> bool {
        let mut log = self.lock();
        if log.closed {
            return false;
        }
        log.events.push(terminal);
        log.closed = true;
        drop(log);
        self.inner.1.notify_waiters();
        true
    }

    /// True once the terminal event is in.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Number of `token` events appended, compacted ones included.
    pub fn tokens(&self) -> u64 {
        self.lock().tokens
    }

    /// Number of events the log holds now.
    pub fn events_held(&self) -> usize {
        self.lock().events.len()
    }

    /// Keeps only the terminal event of a closed log that no reader follows, and frees the
    /// rest; true when the log holds only its terminal event afterwards. A reader that attaches
    /// later reads just that event.
    #[spectrace::implements("ORCH-3066")]
    pub fn compact(&self) -> bool {
        let mut log = self.lock();
        if !log.closed || log.reader_attached {
            return false;
        }
        if log.events.len() > 1 {
            let terminal = log.events.pop();
            log.events = terminal.into_iter().collect();
        }
        true
    }

    /// Claims the one reader slot; false while another reader holds it.
    pub fn attach_reader(&self) -> bool {
        let mut log = self.lock();
        if log.reader_attached {
            return false;
        }
        log.reader_attached = true;
        true
    }

    /// Gives the reader slot back.
    pub fn detach_reader(&self) {
        self.lock().reader_attached = false;
    }

    /// Waits until the terminal event is in (at once when it already is).
    pub async fn closed(&self) {
        loop {
            let notified = self.inner.1.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().closed {
                return;
            }
            notified.await;
        }
    }

    /// The event at `index`, waiting for it when it is not there yet; `None` after the
    /// terminal event.
    pub async fn next(&self, index: usize) -> Option<StreamEvent> {
        loop {
            let notified = self.inner.1.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let log = self.lock();
                if let Some(event) = log.events.get(index) {
                    return Some(event.clone());
                }
                if log.closed {
                    return None;
                }
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &'static str) -> StreamEvent {
        StreamEvent {
            name,
            data: "{}".into(),
        }
    }

    #[tokio::test]
    async fn nothing_is_appended_after_the_terminal_event() {
        let log = EventLog::new();
        assert!(log.push(event("token")));
        assert!(log.close(event("error")));
        assert!(!log.push(event("token")));
        assert!(!log.close(event("end")));
        assert_eq!(log.next(0).await.map(|e| e.name), Some("token"));
        assert_eq!(log.next(1).await.map(|e| e.name), Some("error"));
        assert_eq!(log.next(2).await, None);
        assert_eq!(log.tokens(), 1);
    }

    #[tokio::test]
    async fn a_reader_waits_for_events_pushed_later() {
        let log = EventLog::new();
        let reader = {
            let log = log.clone();
            tokio::spawn(async move { log.next(0).await })
        };
        tokio::task::yield_now().await;
        log.push(event("token"));
        assert_eq!(reader.await.unwrap().map(|e| e.name), Some("token"));
    }

    #[spectrace::covers("ORCH-3066")]
    #[tokio::test]
    async fn a_compacted_log_keeps_its_terminal_event_and_its_token_count() {
        let log = EventLog::new();
        log.push(event("token"));
        log.push(event("metrics"));
        log.push(event("token"));
        assert!(!log.compact(), "an open log is not compacted");
        assert_eq!(log.events_held(), 3);
        log.close(event("end"));
        assert!(log.attach_reader());
        assert!(!log.compact(), "nor one a reader follows");
        assert_eq!(log.events_held(), 4);
        log.detach_reader();
        assert!(log.compact());
        assert_eq!(log.events_held(), 1);
        assert_eq!(log.tokens(), 2);
        assert_eq!(log.next(0).await.map(|e| e.name), Some("end"));
        assert_eq!(log.next(1).await, None);
    }

    #[tokio::test]
    async fn closed_waits_for_the_terminal_event() {
        let log = EventLog::new();
        let waiter = {
            let log = log.clone();
            tokio::spawn(async move { log.closed().await })
        };
        log.push(event("token"));
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "a token does not close the log");
        log.close(event("error"));
        waiter.await.unwrap();
        log.closed().await;
    }

    #[test]
    fn one_reader_at_a_time() {
        let log = EventLog::new();
        assert!(log.attach_reader());
        assert!(!log.attach_reader());
        log.detach_reader();
        assert!(log.attach_reader());
    }
}
