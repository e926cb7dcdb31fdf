//! The `orchestratord` command line: configuration checking and refusal to serve a bad config.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::PathBuf;
use std::process::{Command, Output};

fn orchestratord(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orchestratord"))
        .args(args)
        .output()
        .unwrap()
}

fn example(kind: &str, name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "../../contracts/config-examples",
        kind,
        name,
    ]
    .iter()
    .collect();
    path.to_string_lossy().into_owned()
}

#[spectrace::covers("ORCH-3033", kind = "e2e")]
#[test]
fn check_config_accepts_valid_files() {
    for name in ["minimal.yaml", "full.yaml", "llamacpp.yaml"] {
        let out = orchestratord(&["--check-config", &example("valid", name)]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[spectrace::covers("ORCH-3030", "ORCH-3033", kind = "e2e")]
#[test]
fn check_config_rejects_invalid_files_naming_every_pointer() {
    let out = orchestratord(&["--check-config", &example("invalid", "bad-policy.yaml")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/pools/0/queue/full_policy"), "{stderr}");
    let out = orchestratord(&["--check-config", &example("invalid", "unknown-field.yaml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/pools/0/queue/capacity/interactve: unknown field")
    );
}

#[spectrace::covers("ORCH-3030", kind = "e2e")]
#[test]
fn an_invalid_config_never_serves() {
    // Port 9 would be refused anyway; the point is that orchestratord exits 2 before binding.
    let out = orchestratord(&[
        "--config",
        &example("invalid", "zero-replicas.yaml"),
        "--addr",
        "127.0.0.1:9",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/pools/0/replicas"), "{stderr}");
    assert!(!stderr.contains("listening"));
    let missing = orchestratord(&["--config", "/nonexistent/orchestratord.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[spectrace::covers("ORCH-3032", kind = "e2e")]
#[test]
fn sigterm_stops_admission_drains_and_exits_0() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("orchd-sigterm-{}", std::process::id()));
    std::fs::write(
        &dir,
        "pools:\n  - id: default\n    engine:\n      kind: sim\n      token_delay_ms: 20\n    model:\n      name: sim-small\n    slots: 1\nshutdown:\n  drain_ms: 400\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchestratord"))
        .args([
            "--config",
            &dir.to_string_lossy(),
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let mut up = false;
        for _ in 0..200 {
            if client.get(format!("{base}/livez")).send().await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(up, "orchestratord did not start");
        let task: serde_json::Value = client
            .post(format!("{base}/v1/tasks"))
            .json(&serde_json::json!({"pool": "default", "prompt": "p", "max_tokens": 500}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = task["task_id"].as_str().unwrap().to_owned();
        let stream = client
            .get(format!("{base}/v1/tasks/{id}/events"))
            .send()
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        // While draining: no new tasks, not ready.
        let refused = client
            .post(format!("{base}/v1/tasks"))
            .json(&serde_json::json!({"pool": "default", "prompt": "p", "max_tokens": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 503);
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "SHUTTING_DOWN");
        assert_eq!(
            client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .unwrap()
                .status(),
            503
        );
        // The running task is ended with SHUTTING_DOWN once the drain window closes.
        let text = stream.text().await.unwrap();
        assert!(
            text.contains("event: error\ndata: {\"code\":\"SHUTTING_DOWN\""),
            "{text}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    });
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    std::fs::remove_file(&dir).unwrap();
}

#[spectrace::covers("ORCH-3003", "ORCH-3052", kind = "e2e")]
#[test]
fn a_model_that_cannot_load_stops_start_up() {
    let config = std::env::temp_dir().join(format!("orchd-badmodel-{}.yaml", std::process::id()));
    std::fs::write(
        &config,
        "pools:\n  - id: broken\n    engine:\n      kind: sim\n    model:\n      name: m\n      path: /nonexistent/model.bin\n",
    )
    .unwrap();
    let out = orchestratord(&[
        "--config",
        &config.to_string_lossy(),
        "--addr",
        "127.0.0.1:9",
    ]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pool broken") && stderr.contains("/nonexistent/model.bin"),
        "{stderr}"
    );
    assert!(!stderr.contains("listening"));
    std::fs::remove_file(config).unwrap();
}

#[spectrace::covers("ORCH-3065", kind = "e2e")]
#[test]
fn self_test_reports_every_replica() {
    let ok = orchestratord(&["--self-test"]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stderr).contains("self-test default-0: ok"));
    let config = std::env::temp_dir().join(format!("orchd-selftest-{}.yaml", std::process::id()));
    std::fs::write(
        &config,
        "pools:\n  - id: good\n    engine:\n      kind: sim\n    model:\n      name: m\n  - id: bad\n    engine:\n      kind: sim\n      fail_after_tokens: 0\n    model:\n      name: m\n    replicas: 2\n",
    )
    .unwrap();
    let out = orchestratord(&["--self-test", "--config", &config.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("self-test good-0: ok"), "{stderr}");
    assert!(
        stderr.contains("self-test bad-0: FAILED") && stderr.contains("self-test bad-1: FAILED"),
        "{stderr}"
    );
    std::fs::remove_file(config).unwrap();
}

/// Started with no argument, the binary listens on the loopback port 8080 with the zero-config
/// pool: it is ready when it first answers and streams a task of pool `default` to its end. On a
/// shared machine another process may hold port 8080; then the refusal names the address it
/// tried, which is still the default.
#[spectrace::covers("ORCH-3031", kind = "e2e")]
#[test]
fn without_arguments_it_listens_on_the_loopback_port_8080() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchestratord"))
        .env_remove("ORCHESTRATORD_API_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut report = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.starts_with("orchestratord: listening on") || line.contains("cannot listen on") {
            report = Some(line);
            break;
        }
    }
    let report = report.expect("orchestratord reports where it listens");
    if report.contains("cannot listen on") {
        assert!(report.contains("127.0.0.1:8080"), "{report}");
        assert_eq!(child.wait().unwrap().code(), Some(1), "{report}");
        return;
    }
    assert_eq!(report, "orchestratord: listening on http://127.0.0.1:8080");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let base = "http://127.0.0.1:8080";
        let client = reqwest::Client::new();
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "ready as soon as it listens");
        let task: serde_json::Value = client
            .post(format!("{base}/v1/tasks"))
            .json(&serde_json::json!({"pool": "default", "prompt": "p", "max_tokens": 3}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = task["task_id"].as_str().unwrap();
        let text = client
            .get(format!("{base}/v1/tasks/{id}/events"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(text.matches("event: token\n").count(), 3, "{text}");
        assert!(text.contains("event: end\n"), "{text}");
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
