//! The hidden `retrieve-one` and `chat-one` subcommands, run as a profiler would run them, and
//! the groups built on the same measure.

use std::process::Command;

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moonshot-bench"))
}

/// Runs `subcommand` with `contender` for a moment; the request count it reports.
fn requests_of(subcommand: &str, contender: &str) -> u64 {
    let output = bench()
        .args([subcommand, "--contender", contender, "--seconds", "0.2"])
        .output()
        .expect("the benchmark binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{contender}: {output:?}");
    stdout
        .split_once(": ")
        .and_then(|(_, rest)| rest.split(" requests in all").next())
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {stdout:?}"))
}

#[test]
fn each_contender_runs_alone_and_reports_its_request_count() {
    for contender in ["raw", "generated", "facade"] {
        assert!(requests_of("retrieve-one", contender) > 0, "{contender}");
    }
}

#[test]
fn each_chat_contender_runs_alone_and_reports_its_request_count() {
    for contender in [
        "raw",
        "async-openai",
        "async-openai-streamed",
        "facade",
        "facade-unstreamed",
    ] {
        assert!(requests_of("chat-one", contender) > 0, "{contender}");
    }
}

#[test]
fn an_unknown_contender_is_refused_with_the_known_ones() {
    let output = bench()
        .args(["retrieve-one", "--contender", "curl"])
        .output()
        .expect("the benchmark binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("'curl'") && stderr.contains("facade"),
        "{stderr}"
    );
}

#[test]
fn async_openai_cannot_read_moonshots_file_object_and_says_why() {
    let output = bench()
        .args([
            "retrieve-one",
            "--contender",
            "async-openai",
            "--seconds",
            "0.2",
        ])
        .output()
        .expect("the benchmark binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        stderr.contains("unknown variant `file-extract`"),
        "{stderr}"
    );
}

#[test]
fn the_chat_group_measures_every_contender_side_by_side() {
    let output = bench()
        .args(["chat", "--quick", "--rounds", "1"])
        .output()
        .expect("the benchmark binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for concurrency in [1, 64] {
        for client in [
            "| raw reqwest",
            "| async-openai 0.43 `create()` |",
            "| async-openai 0.43 `create_stream()`, collected |",
            "| facade `create()` (streamed underneath) |",
            "| facade `create_unstreamed()` |",
        ] {
            let row = format!("| {concurrency} {client}");
            assert!(stdout.contains(&row), "no row {row:?} in {stdout}");
        }
    }
    assert!(!stdout.contains("fails:"), "{stdout}");
}
