//! `cargo xtask diff` on documents that are not what they claim: exit 2, saying where and why.

mod common;

use common::xtask;

/// A document whose one response schema refers to `target`.
fn referring_to(target: &str) -> String {
    format!(
        "openapi: 3.0.3\ninfo: {{title: x, version: '1'}}\npaths:\n  /v1/x:\n    get:\n      \
         responses:\n        '200':\n          description: ok\n          content:\n            \
         application/json:\n              schema: {{$ref: '{target}'}}\ncomponents:\n  schemas:\n    \
         Present: {{type: string}}\n"
    )
}

#[test]
fn a_dangling_reference_is_bad_input_naming_its_pointer() {
    let root = tempfile::tempdir().expect("tempdir");
    let old = root.path().join("old.yaml");
    let new = root.path().join("new.yaml");
    std::fs::write(&old, referring_to("#/components/schemas/Present")).expect("write");
    std::fs::write(&new, referring_to("#/components/schemas/Missing")).expect("write");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_owned();

    let out = xtask(
        root.path(),
        &["diff", "--old", &path(&old), "--new", &path(&new)],
    );

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("new.yaml"), "{stderr}");
    assert!(
        stderr.contains(
            "/paths/~1v1~1x/get/responses/200/content/application~1json/schema/$ref is \
             `#/components/schemas/Missing`"
        ),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).is_empty());
}

#[test]
fn json_with_trailing_garbage_is_called_invalid_json() {
    let root = tempfile::tempdir().expect("tempdir");
    let good = root.path().join("good.json");
    let bad = root.path().join("bad.json");
    std::fs::write(
        &good,
        "{\"openapi\": \"3.0.3\", \"info\": {\"title\": \"x\", \"version\": \"1\"}, \"paths\": {}}",
    )
    .expect("write");
    std::fs::write(&bad, "{\"openapi\": \"3.0.3\"} and then some").expect("write");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_owned();

    let out = xtask(
        root.path(),
        &["diff", "--old", &path(&good), "--new", &path(&bad)],
    );

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.json: not an OpenAPI document"),
        "{stderr}"
    );
    assert!(
        stderr.contains("invalid JSON: trailing characters"),
        "{stderr}"
    );
    assert!(!stderr.contains("more than one document"), "{stderr}");
}

/// Runs `cargo xtask diff --old OLD` with a good new side, killing it if it does not end: a
/// side that is read without end or waited on forever fails the test rather than hanging it.
#[cfg(unix)]
fn diff_old(root: &std::path::Path, old: &str) -> (Option<i32>, String) {
    use std::time::{Duration, Instant};
    let new = root.join("new.yaml");
    std::fs::write(&new, referring_to("#/components/schemas/Present")).expect("write");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--root")
        .arg(root)
        .args(["diff", "--old", old, "--new"])
        .arg(&new)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().expect("kill");
            child.wait().expect("reap");
            panic!("diff --old {old} did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn a_device_or_fifo_is_refused_naming_it_without_reading() {
    let root = tempfile::tempdir().expect("tempdir");
    let fifo = root.path().join("old.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let fifo = fifo.to_str().expect("utf-8").to_owned();

    // A path below the workspace root is shown relative to it.
    for (old, shown, kind) in [
        ("/dev/null", "/dev/null", "a device"),
        (fifo.as_str(), "old.fifo", "a FIFO"),
    ] {
        let (code, stderr) = diff_old(root.path(), old);
        assert_eq!(code, Some(2), "{old}: {stderr}");
        assert!(
            stderr.contains(&format!("error: {shown}: is {kind}, not a regular file")),
            "{old}: {stderr}"
        );
    }
}
