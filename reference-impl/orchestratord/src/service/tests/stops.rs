//! Stop sequences end a run (ORCH-2206): the generation stops at the first token after which
//! the generated text contains one of them, and the task ends with `finish_reason` `stop`.

use api_types::{EndEvent, FinishReason};

use super::{all_events, config, ready_service, request};

#[spectrace::covers("ORCH-2206")]
#[tokio::test]
async fn a_stop_sequence_ends_the_generation_at_the_token_that_completes_it() {
    let service = ready_service(config()).await;
    service.start();
    // The sim engine is deterministic: the same request generates the same tokens.
    let run = |stop: Vec<String>| {
        let service = std::sync::Arc::clone(&service);
        async move {
            let mut request = request(10);
            request.stop = stop;
            let task = service
                .task(&service.enqueue(request).unwrap().task_id)
                .unwrap();
            assert!(service.open_stream(&task));
            all_events(&task).await
        }
    };
    let texts: Vec<String> = run(Vec::new())
        .await
        .iter()
        .filter(|e| e.name == "token")
        .map(|e| {
            let token: serde_json::Value = serde_json::from_str(&e.data).unwrap();
            token["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(texts.len(), 10);
    let stop = texts[2].clone();
    assert!(!stop.is_empty());
    // The first token after which the text so far holds the stop sequence.
    let mut text = String::new();
    let expected = texts
        .iter()
        .position(|token| {
            text.push_str(token);
            text.contains(&stop)
        })
        .unwrap()
        + 1;

    let events = run(vec![stop]).await;
    let terminal = events.last().unwrap();
    assert_eq!(terminal.name, "end", "{events:?}");
    let end: EndEvent = serde_json::from_str(&terminal.data).unwrap();
    assert_eq!(end.finish_reason, FinishReason::Stop);
    assert_eq!(end.tokens_out, expected as u64);
    assert!(expected <= 3);
}
