//! No request can make the server panic or answer outside its contract: arbitrary bodies,
//! paths and headers, sent straight into the router; each enqueue answer is checked by the
//! provider verifier (`support::contract`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use tower::ServiceExt;

mod support;
use support::contract::{Exchange, contract, report};

async fn router() -> axum::Router {
    let config = orchestratord::default_config();
    let quiet = orchestratord::log::Logger::discard();
    let (_service, router) =
        orchestratord::app_with_logger(config, orchestratord::auth::Keys::new(["k"]), quiet)
            .await
            .unwrap();
    router
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn json_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        "\\PC{0,120}".prop_map(String::into_bytes),
        (
            prop_oneof![Just("default".to_owned()), "[a-z]{0,8}"],
            "\\PC{0,30}",
            prop_oneof![
                Just(serde_json::json!(1)),
                Just(serde_json::json!(-1)),
                Just(serde_json::json!(1e300)),
                Just(serde_json::json!("x")),
                Just(serde_json::json!(null)),
                (0u64..5000).prop_map(|n| serde_json::json!(n))
            ],
            prop::option::of(prop_oneof![
                Just("interactive"),
                Just("batch"),
                Just("urgent")
            ]),
            prop::option::of(any::<f64>()),
        )
            .prop_map(|(pool, prompt, max_tokens, priority, temperature)| {
                let mut body =
                    serde_json::json!({"pool": pool, "prompt": prompt, "max_tokens": max_tokens});
                if let Some(p) = priority {
                    body["priority"] = serde_json::json!(p);
                }
                if let Some(t) = temperature {
                    body["temperature"] = serde_json::json!(t);
                }
                body.to_string().into_bytes()
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[spectrace::covers("ORCH-2012", "ORCH-3055", kind = "property")]
    #[test]
    fn any_enqueue_body_gets_a_declared_status_and_the_envelope(body in json_like(), content_type in prop_oneof![Just("application/json"), Just("text/plain"), Just("application/json; charset=utf-8")]) {
        let rt = runtime();
        let request = Request::post("/v1/tasks").header("content-type", content_type).body(Body::from(body)).unwrap();
        let request_headers = request.headers().clone();
        let (status, headers, bytes) = rt.block_on(async {
            let response = router().await.oneshot(request).await.unwrap();
            let (parts, body) = response.into_parts();
            (parts.status, parts.headers, axum::body::to_bytes(body, usize::MAX).await.unwrap())
        });
        // The provider verifier: a declared status, its headers, the body's schema.
        let checked = contract().check(&Exchange {
            method: "POST",
            path: "/v1/tasks",
            request_headers: &request_headers,
            status: status.as_u16(),
            headers: &headers,
            body: &bytes,
        });
        prop_assert!(checked.is_ok(), "{}", checked.err().map(|v| report(&v)).unwrap_or_default());
    }

    #[spectrace::covers("ORCH-2009", kind = "property")]
    #[test]
    fn any_path_and_correlation_header_is_answered_without_a_panic(path in "/[a-zA-Z0-9/%._~-]{0,60}", correlation in "\\PC{0,200}") {
        let rt = runtime();
        let response = rt.block_on(async {
            let mut request = Request::get(path.as_str());
            if let Ok(value) = axum::http::HeaderValue::from_str(&correlation) {
                request = request.header("x-correlation-id", value);
            }
            let Ok(request) = request.body(Body::empty()) else { return None };
            Some(router().await.oneshot(request).await.unwrap())
        });
        if let Some(response) = response {
            prop_assert!(response.status().as_u16() < 500 || response.status().as_u16() == 503);
            let id = response.headers().get("x-correlation-id").unwrap().to_str().unwrap();
            prop_assert!(!id.is_empty() && id.len() <= 128);
        }
    }
}
