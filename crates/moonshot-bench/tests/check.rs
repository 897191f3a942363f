//! `moonshot-bench check`: every group once, every contender, answers checked.

use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moonshot-bench"))
        .arg("check")
        .args(args)
        .output()
        .expect("the benchmark binary runs")
}

#[test]
fn every_group_and_contender_gets_the_right_answer() {
    let output = check(&[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for group in [
        "retrieve: facade (moonshot)",
        "retrieve: async-openai",
        "chat: async-openai",
        "chat: facade `create_unstreamed()`",
        "retrieve: breakdown: facade with limits far above the load",
        "retrieve: breakdown: facade with per-call options (a timeout)",
        "content 1 MB: facade `content_to_writer()`",
        "upload of 4 KB: async-openai",
        "stream of 20 chunks, 1 µs of work each: facade",
        "pipeline: a spec change in the copy reaches the generated crate",
    ] {
        assert!(
            stdout.contains(&format!("ok    {group}")),
            "no {group:?} in {stdout}"
        );
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("checks passed"), "{stdout}");
}

/// A workspace whose generated crate holds the document as a copy, not a link to it: a spec
/// change does not reach the crate, and the check says so.
#[test]
fn a_wrong_answer_fails_the_run_and_is_named() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let spec = "components:\n  schemas:\n    FileObject:\n      properties:\n        id:\n          \
                type: string\n";
    for path in ["openapi/openapi.yaml", "crates/moonshot-api/openapi.yaml"] {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, spec).expect("write");
    }

    let output = check(&["--root", root.path().to_str().expect("utf-8")]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(!output.status.success(), "{output:?}");
    assert!(
        stdout.contains("FAIL  pipeline: a spec change in the copy reaches the generated crate"),
        "{stdout}"
    );
    assert!(stderr.contains("1 of "), "{stderr}");
    assert!(
        stderr.contains("crates/moonshot-api/openapi.yaml does not follow"),
        "{stderr}"
    );
}
