//! `cargo xtask diff`: one fixture per rule under `tests/data/diff/rules/<rule>[--variant]/`
//! (`change.yaml` merged into the shared `rules/base.yaml` or the fixture's own `old.yaml`, see
//! `common::rule_fixture`, and `expected.txt`, one `level rule operation location` per line, `-`
//! for no operation), equivalent documents, the output formats and the exit codes.

mod common;

use common::{copy_of_openapi, rule_fixture, xtask};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use xtask::diff::{Change, Format, Level, compare, load, render};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/diff")
}

/// The changes of the rule fixture in `dir`.
fn fixture_changes(dir: &Path) -> Vec<Change> {
    let fixture = rule_fixture(dir);
    changes_between(&fixture.old, &fixture.new)
}

fn changes_between(old: &Path, new: &Path) -> Vec<Change> {
    let root = tempfile::tempdir().expect("tempdir");
    let old = load(root.path(), old).expect("old side loads");
    let new = load(root.path(), new).expect("new side loads");
    compare(&old, &new)
}

fn line(change: &Change) -> String {
    format!(
        "{} {} {} {}",
        change.level.as_str(),
        change.rule,
        change.operation.as_deref().unwrap_or("-"),
        change.location
    )
}

fn rule_fixtures() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(data().join("rules"))
        .expect("rules fixtures")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_rule_fixture_gives_exactly_its_expected_changes() {
    let mut failures = Vec::new();
    for dir in rule_fixtures() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let rule = name.split("--").next().expect("rule").to_owned();
        let changes = fixture_changes(&dir);
        let actual: Vec<String> = changes.iter().map(line).collect();
        let expected: Vec<String> = std::fs::read_to_string(dir.join("expected.txt"))
            .expect("expected.txt")
            .lines()
            .map(str::to_owned)
            .collect();
        if actual != expected {
            failures.push(format!(
                "{name}:\n  expected:\n    {}\n  actual:\n    {}",
                expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
        assert!(
            changes.iter().any(|c| c.rule == rule),
            "fixture {name} does not exercise rule {rule}"
        );
        assert!(
            changes.iter().all(|c| !c.message.is_empty()),
            "{name}: a change without a message"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_documented_rule_has_a_fixture_and_no_other_rule_exists() {
    let docs = include_str!("../src/diff/mod.rs");
    let documented: BTreeSet<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("//! | `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let fixtures: BTreeSet<String> = rule_fixtures()
        .iter()
        .map(|d| d.file_name().expect("name").to_string_lossy().into_owned())
        .map(|n| n.split("--").next().expect("rule").to_owned())
        .collect();
    let fixtures: BTreeSet<&str> = fixtures.iter().map(String::as_str).collect();
    assert_eq!(documented, fixtures);
    for dir in rule_fixtures() {
        let text = std::fs::read_to_string(dir.join("expected.txt")).expect("expected");
        for rule in text.lines().filter_map(|l| l.split(' ').nth(1)) {
            assert!(documented.contains(rule), "undocumented rule {rule}");
        }
    }
}

#[test]
fn equivalent_pages_give_no_change() {
    // Key order, YAML style (flow mappings, JSON), the order of `required` and the prose around
    // the block all differ.
    let equivalent = data().join("equivalent");
    let changes = changes_between(&equivalent.join("original"), &equivalent.join("restyled"));
    assert_eq!(changes, []);
    let original = std::fs::read_to_string(equivalent.join("original/files-retrieve.md"))
        .expect("original page");
    let restyled = std::fs::read_to_string(equivalent.join("restyled/files-retrieve.md"))
        .expect("restyled page");
    assert_ne!(original, restyled);
}

#[test]
fn a_json_document_equals_its_yaml_form() {
    let yaml = data().join("rules/base.yaml");
    let document = load(Path::new("/"), &yaml).expect("yaml");
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("old.json");
    std::fs::write(&json, document.to_string()).expect("write json");
    assert_eq!(changes_between(&yaml, &json), []);
}

#[test]
fn pages_and_a_document_compare_after_the_same_conversion() {
    // The pages say OpenAPI 3.1.0; loading brings both sides to 3.0.3.
    let pages = load(Path::new("/"), &data().join("equivalent/original")).expect("pages");
    assert_eq!(pages["openapi"], "3.0.3");
}

#[test]
fn changes_come_most_severe_first_and_text_groups_them_by_operation() {
    let dir = data().join("rules/response-property-became-nullable");
    let changes = fixture_changes(&dir);
    assert!(changes.windows(2).all(|w| w[0].level >= w[1].level));

    let text = render(&changes, Format::Text);
    assert!(
        text.starts_with("4 changes: 2 breaking, 0 warning, 2 info\n"),
        "{text}"
    );
    let get = text.find("\nGET /v1/files/{file_id}\n").expect("GET group");
    let post = text.find("\nPOST /v1/files\n").expect("POST group");
    assert!(get < post, "{text}");
    let breaking = text
        .find("breaking  response-property-became-nullable")
        .expect("breaking");
    let info = text
        .find("info      response-property-became-nullable")
        .expect("info");
    assert!(breaking < info, "{text}");
    assert_eq!(render(&[], Format::Text), "no changes\n");
}

#[test]
fn markdown_has_a_table_per_operation() {
    let dir = data().join("rules/schema-removed");
    let changes = fixture_changes(&dir);
    let markdown = render(&changes, Format::Markdown);
    assert!(markdown.contains("### `document-wide`"), "{markdown}");
    assert!(markdown.contains("| Level | Rule | Change | Location |"));
    assert!(markdown.contains(
        "| **breaking** | `schema-removed` | schema `Legacy` removed: the generated type \
         disappears | `/components/schemas/Legacy` |"
    ));
}

#[test]
fn json_output_holds_every_field_of_every_change() {
    let dir = data().join("rules/response-error-type-changed");
    let changes = fixture_changes(&dir);
    let json: Value = serde_json::from_str(&render(&changes, Format::Json)).expect("json");
    let list = json["changes"].as_array().expect("changes array");
    assert_eq!(list.len(), 4);
    for change in list {
        assert!(change["rule"].is_string());
        assert!(
            ["breaking", "warning", "info"].contains(&change["level"].as_str().expect("level"))
        );
        assert!(change["operation"].is_string() || change["operation"].is_null());
        assert!(
            change["location"]
                .as_str()
                .expect("location")
                .starts_with('/')
        );
        assert!(change["message"].is_string());
    }
    assert_eq!(list[0]["operation"], "GET /v1/files/{file_id}");
    assert_eq!(list[3]["operation"], Value::Null);
    assert_eq!(list[3]["rule"], "schema-added");
    assert_eq!(json["summary"]["breaking"], 3);
    assert_eq!(json["summary"]["info"], 1);
}

fn diff_fixture(rule: &str, extra: &[&str]) -> Output {
    let fixture = rule_fixture(&data().join("rules").join(rule));
    let mut args = vec![
        "diff",
        "--old",
        fixture.old.to_str().expect("utf-8"),
        "--new",
        fixture.new.to_str().expect("utf-8"),
    ];
    args.extend(extra);
    let root = tempfile::tempdir().expect("tempdir");
    xtask(root.path(), &args)
}

#[test]
fn exit_code_follows_fail_on() {
    let code = |rule: &str, extra: &[&str]| diff_fixture(rule, extra).status.code();
    assert_eq!(code("response-property-removed", &[]), Some(1));
    assert_eq!(code("security-scheme-removed", &[]), Some(0));
    assert_eq!(
        code("security-scheme-removed", &["--fail-on", "warning"]),
        Some(1)
    );
    assert_eq!(
        code("api-version-changed", &["--fail-on", "warning"]),
        Some(0)
    );
    assert_eq!(code("api-version-changed", &["--fail-on", "info"]), Some(1));
    let out = diff_fixture("response-property-removed", &["--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(json["changes"][0]["rule"], "response-property-removed");
    assert_eq!(json["changes"][0]["level"], "breaking");
}

#[test]
fn bad_input_exits_with_2_and_says_why() {
    let root = tempfile::tempdir().expect("tempdir");
    let missing = root.path().join("nowhere.yaml");
    let existing = data().join("rules/base.yaml");
    let (missing, existing) = (
        missing.to_str().expect("utf-8"),
        existing.to_str().expect("utf-8"),
    );
    let out = xtask(root.path(), &["diff", "--old", missing, "--new", existing]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("nowhere.yaml"), "{stderr}");

    for (name, text, expected) in [
        (
            "broken.yaml",
            "openapi: 3.0.3\npaths: [unclosed\n",
            "broken.yaml",
        ),
        (
            "swagger.yaml",
            "swagger: '2.0'\npaths: {}\n",
            "unsupported OpenAPI version",
        ),
    ] {
        let bad = root.path().join(name);
        std::fs::write(&bad, text).expect("write");
        let bad = bad.to_str().expect("utf-8");
        let out = xtask(root.path(), &["diff", "--old", existing, "--new", bad]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }

    let out = xtask(root.path(), &["diff", "--fail-on", "never"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn without_arguments_it_compares_the_committed_document_with_the_pages() {
    let root = copy_of_openapi();
    let out = xtask(root.path(), &["diff"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no changes\n");

    // Upstream drops `bytes` from FileObject's required list, on every page that repeats it.
    let mut edited_pages = 0;
    for name in ["files-retrieve.md", "files-list.md", "files-upload.md"] {
        let page = root.path().join("openapi/upstream").join(name);
        let text = std::fs::read_to_string(&page).expect("page");
        let edited = text.replacen("        - bytes\n", "", 1);
        assert_ne!(edited, text, "{name} lists `bytes` as required");
        std::fs::write(&page, edited).expect("write");
        edited_pages += 1;
    }
    assert_eq!(edited_pages, 3);
    let committed = std::fs::read(root.path().join("openapi/openapi.yaml")).expect("merged");

    let out = xtask(root.path(), &["diff", "--format", "json"]);

    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let changes = json["changes"].as_array().expect("changes");
    // The shared component's change is reported at every operation that returns it.
    let mut at: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| {
            assert_eq!(c["rule"], "response-property-became-optional");
            assert_eq!(c["level"], "breaking");
            (
                c["operation"].as_str().unwrap_or_default(),
                c["location"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    at.sort_unstable();
    assert_eq!(
        at,
        [
            (
                "GET /v1/files",
                "/paths/~1v1~1files/get/responses/200/content/application~1json/schema/properties/data/items/properties/bytes"
            ),
            (
                "GET /v1/files/{file_id}",
                "/paths/~1v1~1files~1{file_id}/get/responses/200/content/application~1json/schema/properties/bytes"
            ),
            (
                "POST /v1/files",
                "/paths/~1v1~1files/post/responses/200/content/application~1json/schema/properties/bytes"
            ),
        ]
    );
    let after = std::fs::read(root.path().join("openapi/openapi.yaml")).expect("merged");
    assert_eq!(after, committed, "diff writes nothing");
}

/// Rewrites `page` of the copied workspace at `root`; the edit must change something.
fn edit_page(root: &Path, page: &str, edit: impl FnOnce(&str) -> String) {
    let path = root.join("openapi/upstream").join(page);
    let text = std::fs::read_to_string(&path).expect("page");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit of {page} changes nothing");
    std::fs::write(&path, edited).expect("write");
}

/// `cargo xtask diff --format json` in `root`: the exit code and the changes.
fn json_diff(root: &Path) -> (Option<i32>, Vec<Value>) {
    let out = xtask(root, &["diff", "--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("json: {}", String::from_utf8_lossy(&out.stderr)));
    (
        out.status.code(),
        json["changes"].as_array().cloned().unwrap_or_default(),
    )
}

#[test]
fn a_request_property_that_becomes_required_is_breaking() {
    let root = copy_of_openapi();
    // Both bases the families build on start requiring `max_completion_tokens`: every family
    // requires it.
    edit_page(root.path(), "chat.md", |text| {
        text.replacen(
            "      required:\n        - messages\n",
            "      required:\n        - messages\n        - max_completion_tokens\n",
            1,
        )
        .replacen(
            "    KimiK3Message:\n",
            "      required:\n        - max_completion_tokens\n    KimiK3Message:\n",
            1,
        )
    });

    let (code, changes) = json_diff(root.path());

    assert_eq!(code, Some(1));
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["rule"], "request-property-became-required");
    assert_eq!(changes[0]["level"], "breaking");
    assert_eq!(changes[0]["operation"], "POST /v1/chat/completions");
}

#[test]
fn a_change_to_one_model_family_shows_in_the_one_request_type() {
    let root = copy_of_openapi();
    // The kimi-k2.6 family starts requiring `thinking`, which two other families take too, and
    // says another default.
    edit_page(root.path(), "chat.md", |text| {
        let family = text.find("    KimiK26ChatRequest:").expect("family");
        let (head, tail) = text.split_at(family);
        let tail = tail
            .replacen(
                "          required:\n            - model\n",
                "          required:\n            - model\n            - thinking\n",
                1,
            )
            .replacen(
                "Default value is {\"type\": \"enabled\"}.",
                "Default value is {\"type\": \"disabled\"}.",
                1,
            );
        format!("{head}{tail}")
    });

    let (code, changes) = json_diff(root.path());

    assert_eq!(code, Some(0), "{changes:?}");
    let rules: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["rule"].as_str().unwrap_or_default(),
                c["level"].as_str().unwrap_or_default(),
                c["location"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let thinking = "/paths/~1v1~1chat~1completions/post/requestBody/content/application~1json/schema/properties/thinking";
    assert!(
        rules.contains(&(
            "schema-keyword-changed",
            "warning",
            &*format!("{thinking}/x-required-by-families")
        )),
        "{rules:?}"
    );
    assert!(
        rules.contains(&(
            "description-changed",
            "info",
            &*format!("{thinking}/description")
        )),
        "{rules:?}"
    );
}

#[test]
fn a_correction_made_stale_is_a_finding_beside_the_verdict() {
    // Upstream drops the content page: the correction naming its method matches nothing.
    let root = copy_of_openapi();
    std::fs::remove_file(root.path().join("openapi/upstream/files-content.md")).expect("remove");

    let (code, changes) = json_diff(root.path());

    assert_eq!(code, Some(1));
    let rules: Vec<&str> = changes.iter().filter_map(|c| c["rule"].as_str()).collect();
    assert_eq!(
        rules,
        ["operation-removed", "overlay-correction-stale"],
        "{changes:?}"
    );
    let stale = &changes[1];
    assert_eq!(stale["level"], "breaking");
    assert!(
        stale["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("openapi/overlay.yaml#/actions/"))
    );
    assert!(
        stale["message"]
            .as_str()
            .is_some_and(|m| m.contains("$.paths['/v1/files/{file_id}/content'].get")),
        "{stale}"
    );

    // `gen` still refuses to write anything.
    let out = xtask(root.path(), &["gen", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("matches nothing"));
}

#[test]
fn levels_order_from_info_to_breaking() {
    assert!(Level::Info < Level::Warning && Level::Warning < Level::Breaking);
}
