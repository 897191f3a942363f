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
