//! Sessions (`GET` and `DELETE /v1/sessions/{id}`) and their expiry.

use std::time::{Duration, Instant};

use cucumber::{then, when};

use super::world::{Orch, POLL, fetch};

#[when(expr = "I read the session {string}")]
async fn read(w: &mut Orch, id: String) {
    let request = w
        .request(reqwest::Method::GET, &format!("/v1/sessions/{id}"))
        .await;
    w.send(request).await;
}

#[when(expr = "I delete the session {string}")]
async fn delete(w: &mut Orch, id: String) {
    let request = w
        .request(reqwest::Method::DELETE, &format!("/v1/sessions/{id}"))
        .await;
    w.send(request).await;
}

/// Polls the session until it reads as `404`.
#[then(expr = "the session {string} is gone within {int} ms")]
async fn gone(w: &mut Orch, id: String, ms: u64) {
    let deadline = Instant::now() + Duration::from_millis(ms);
    loop {
        let request = w
            .request(reqwest::Method::GET, &format!("/v1/sessions/{id}"))
            .await;
        let answer = fetch(request).await;
        if answer.status == 404 {
            return;
        }
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert!(
            Instant::now() < deadline,
            "session {id} still there after {ms} ms: {}",
            answer.text()
        );
        tokio::time::sleep(POLL).await;
    }
}
