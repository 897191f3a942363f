//! `moonshot api METHOD PATH`: any operation of the document, with the client's key and errors.

use std::process::Output;

use moonshot_mock::MockServer;

const KEY: &str = "sk-api-test-key";

async fn moonshot(args: &[&str], state: &std::path::Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_moonshot"))
        .args(args)
        .env_remove("MOONSHOT_API_KEY")
        .env_remove("MOONSHOT_BASE_URL")
        .env("MOONSHOT_MOCK_STATE", state)
        .output()
        .await
        .expect("runs")
}

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_operation_is_reached_by_method_and_path_with_mock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");

    let models = json(&moonshot(&["--mock", "api", "GET", "/v1/models"], &state).await);
    let ids: Vec<&str> = models["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(ids.contains(&"kimi-k3"), "{ids:?}");

    // A GET's fields go to the query.
    let file = json(
        &moonshot(
            &["--mock", "api", "get", "/v1/files/mock-intro-pdf"],
            &state,
        )
        .await,
    );
    assert_eq!(file["id"], "mock-intro-pdf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_written_operation_takes_typed_fields_and_a_body_from_a_file() {
    let server = MockServer::builder()
        .api_key(KEY)
        .start()
        .await
        .expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let messages = dir.path().join("messages.json");
    std::fs::write(
        &messages,
        r#"[{"role": "user", "content": "How many tokens is this?"}]"#,
    )
    .expect("write");
    let body = dir.path().join("body.json");
    std::fs::write(
        &body,
        r#"{"model": "kimi-k3", "messages": [{"role": "user", "content": "How many tokens is this?"}]}"#,
    )
    .expect("write");
    let url = server.base_url();
    let base = ["--base-url", url.as_str(), "--api-key", KEY, "api"];
    let estimate = "/v1/tokenizers/estimate-token-count";
    let at_messages = format!("messages=@{}", messages.display());

    let mut fields: Vec<&str> = base.to_vec();
    fields.extend(["POST", estimate, "-f", "model=kimi-k3", "-F", &at_messages]);
    let by_fields = json(&moonshot(&fields, dir.path()).await);
    let mut input: Vec<&str> = base.to_vec();
    input.extend(["POST", estimate, "--input", body.to_str().expect("path")]);
    let by_input = json(&moonshot(&input, dir.path()).await);

    let tokens = by_fields["data"]["total_tokens"].as_u64().expect("a count");
    assert!(tokens > 0, "{by_fields}");
    assert_eq!(by_input, by_fields);

    // The client's errors: a wrong key is the API's 401, exit 1.
    let out = moonshot(
        &[
            "--base-url",
            &url,
            "--api-key",
            "sk-wrong",
            "--max-retries",
            "0",
            "api",
            "GET",
            "/v1/models",
        ],
        dir.path(),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_the_document_does_not_have_is_refused_naming_the_nearest() {
    let dir = tempfile::tempdir().expect("tempdir");

    let out = moonshot(
        &["--mock", "api", "GET", "/v1/model"],
        &dir.path().join("s"),
    )
    .await;

    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no `GET /v1/model`"), "{stderr}");
    assert!(stderr.contains("GET /v1/models"), "{stderr}");
    let out = moonshot(
        &["--mock", "api", "POST", "/v1/models", "-f", "novalue"],
        &dir.path().join("s"),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
}
