//! The official OpenAI Python SDK, used as Moonshot's docs use it, works against the local
//! server unchanged: files, chat (whole and streamed, today's models and a retired id, a Kimi K3
//! dynamic tool message), batches and models (`tests/data/openai_sdk_flows.py`).
//!
//! Needs `python3` with the `openai` package; without them the test says how to run it and
//! passes, unless `MOONSHOT_REQUIRE_OPENAI_SDK=1` (as `.ci/run` sets after installing it).

use moonshot_mock::MockServer;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/openai_sdk_flows.py"
);

fn sdk_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import openai"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_python_sdk_works_unchanged() {
    if !sdk_available() {
        assert!(
            std::env::var_os("MOONSHOT_REQUIRE_OPENAI_SDK").is_none(),
            "MOONSHOT_REQUIRE_OPENAI_SDK is set, but python3 cannot import openai"
        );
        eprintln!(
            "skipped: the OpenAI Python SDK is not installed (`pip install openai` to run this)"
        );
        return;
    }
    let server = MockServer::builder()
        .api_key("sk-test")
        .processing_delay(std::time::Duration::from_millis(200))
        .batch_duration(std::time::Duration::from_secs(1))
        .start()
        .await
        .expect("server");

    let url = server.base_url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(SCRIPT)
            .arg(url)
            .output()
    })
    .await
    .expect("joined")
    .expect("python3 runs");

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for flow in [
        "file ",
        "kimi-k3 stream:",
        "kimi-k2-turbo-preview whole:",
        "k3 dynamic tools: tool_calls",
        "batch completed 3 3",
        "deleted True",
    ] {
        assert!(stdout.contains(flow), "{flow}: {stdout}");
    }
}
