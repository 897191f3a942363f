//! Loading a fixtures directory, and each way a bad one is refused.

mod common;

use std::error::Error as _;
use std::path::Path;

use common::{get, json};
use moonshot_mock::{FileObjectError, FixtureError, MockFile, MockServer, load_fixtures};
use serde_json::json;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fixtures");

const VALID: &str = r#"{"id": "doc-1", "object": "file", "bytes": 10, "created_at": 1719792000,
    "filename": "doc.pdf", "purpose": "file-extract", "status": "ok"}"#;

/// A fixtures directory holding the given files.
fn fixtures(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("a fixture is written");
    }
    dir
}

/// The error and its causes, as the binary prints them.
fn chain(error: &FixtureError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn refused(files: &[(&str, &str)]) -> (FixtureError, String) {
    let dir = fixtures(files);
    let error = load_fixtures(dir.path()).expect_err("the fixtures are refused");
    let text = chain(&error);
    (error, text)
}

#[tokio::test]
async fn the_test_fixtures_load_and_are_served() {
    let files = load_fixtures(Path::new(FIXTURES)).expect("the test fixtures load");
    let ids: Vec<_> = files.iter().map(MockFile::id).collect();
    assert_eq!(ids, ["product-demo", "quarterly-report"]);
    assert!(files[0].content().is_none());
    assert!(files[1].content().is_some_and(|c| c.contains("「长文本」")));

    let server = MockServer::builder()
        .files(files)
        .start()
        .await
        .expect("server starts");
    assert_eq!(server.file_ids(), ["product-demo", "quarterly-report"]);
    let object = json(get(&server, "/v1/files/product-demo", None).await).await;
    assert_eq!(object["purpose"], "video");
    assert_eq!(object["status"], "processing");
    let text = get(&server, "/v1/files/quarterly-report/content", None)
        .await
        .text()
        .await
        .expect("a complete body");
    let envelope: serde_json::Value = serde_json::from_str(&text).expect("JSON as text");
    assert_eq!(
        envelope["file_type"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    // The demo files are replaced, not added to.
    let demo = get(&server, "/v1/files/mock-intro-pdf", None).await;
    assert_eq!(demo.status(), 404);
}

#[test]
fn hidden_entries_are_ignored() {
    let dir = fixtures(&[
        ("doc-1.json", VALID),
        (".gitkeep", ""),
        (".doc-1.txt.swp", "x"),
    ]);
    let files = load_fixtures(dir.path()).expect("the fixtures load");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].content(), None);
}

#[test]
fn invalid_json_is_refused() {
    let (error, text) = refused(&[("doc-1.json", "{\"id\": \"doc-1\",")]);
    assert!(
        matches!(error, FixtureError::InvalidJson { .. }),
        "{error:?}"
    );
    assert!(
        text.contains("doc-1.json") && text.contains("invalid JSON"),
        "{text}"
    );
}

#[test]
fn a_missing_required_field_is_refused() {
    let without_purpose = VALID.replace(r#""purpose": "file-extract", "#, "");
    let (error, text) = refused(&[("doc-1.json", &without_purpose)]);
    assert!(
        matches!(
            &error,
            FixtureError::InvalidFileObject {
                source: FileObjectError::MissingField { field: "purpose" },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        text.contains("doc-1.json") && text.contains("`purpose`"),
        "{text}"
    );
}

#[test]
fn a_field_of_the_wrong_type_is_refused() {
    let text_bytes = VALID.replace(r#""bytes": 10"#, r#""bytes": "10""#);
    let (error, text) = refused(&[("doc-1.json", &text_bytes)]);
    assert!(
        matches!(
            &error,
            FixtureError::InvalidFileObject {
                source: FileObjectError::WrongType { field: "bytes", .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        text.contains("`bytes` must be a non-negative integer"),
        "{text}"
    );
}

#[test]
fn an_id_that_differs_from_the_file_name_is_refused() {
    let (error, text) = refused(&[("doc-2.json", VALID)]);
    assert!(
        matches!(&error, FixtureError::IdMismatch { id, expected, .. } if id == "doc-1" && expected == "doc-2"),
        "{error:?}"
    );
    assert!(text.contains("doc-2.json"), "{text}");
}

#[test]
fn content_without_metadata_is_refused() {
    let (error, text) = refused(&[("doc-1.json", VALID), ("doc-3.txt", "text")]);
    assert!(
        matches!(error, FixtureError::ContentWithoutMetadata { .. }),
        "{error:?}"
    );
    assert!(
        text.contains("doc-3.txt") && text.contains("doc-3.json"),
        "{text}"
    );
}

#[test]
fn content_that_is_not_utf8_is_refused() {
    let dir = fixtures(&[("doc-1.json", VALID)]);
    std::fs::write(dir.path().join("doc-1.txt"), [0x66, 0xff, 0x66]).expect("written");
    let error = load_fixtures(dir.path()).expect_err("refused");
    assert!(
        matches!(error, FixtureError::ContentNotUtf8 { .. }),
        "{error:?}"
    );
    assert!(chain(&error).contains("doc-1.txt"));
}

#[test]
fn unexpected_entries_are_refused() {
    let (error, text) = refused(&[("doc-1.json", VALID), ("notes.md", "# notes")]);
    assert!(
        matches!(error, FixtureError::UnexpectedEntry { .. }),
        "{error:?}"
    );
    assert!(text.contains("notes.md"), "{text}");

    let dir = fixtures(&[("doc-1.json", VALID)]);
    std::fs::create_dir(dir.path().join("nested")).expect("created");
    let error = load_fixtures(dir.path()).expect_err("refused");
    assert!(
        matches!(error, FixtureError::UnexpectedEntry { .. }),
        "{error:?}"
    );
}

#[test]
fn an_empty_or_missing_directory_is_refused() {
    let (error, _) = refused(&[]);
    assert!(matches!(error, FixtureError::Empty { .. }), "{error:?}");

    let dir = fixtures(&[]);
    let missing = dir.path().join("absent");
    let error = load_fixtures(&missing).expect_err("refused");
    assert!(matches!(error, FixtureError::ReadDir { .. }), "{error:?}");
    assert!(chain(&error).contains("absent"));
}

#[test]
fn a_file_object_that_is_not_a_file_is_refused() {
    let list = VALID.replace(r#""object": "file""#, r#""object": "list""#);
    let (error, text) = refused(&[("doc-1.json", &list)]);
    assert!(
        matches!(error, FixtureError::InvalidFileObject { .. }),
        "{error:?}"
    );
    assert!(text.contains(r#"must be "file", found "list""#), "{text}");

    let (error, _) = refused(&[("doc-1.json", "[1, 2]")]);
    assert!(
        matches!(
            error,
            FixtureError::InvalidFileObject {
                source: FileObjectError::NotAnObject,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn files_built_in_code_are_served_and_replace_by_id() {
    let file = |status: &str| {
        MockFile::new(
            json!({"id": "mock-intro-pdf", "object": "file", "bytes": 1, "created_at": 0,
                   "filename": "other.txt", "purpose": "file-extract", "status": status}),
            Some("replaced".to_owned()),
        )
        .expect("a valid file object")
    };
    let server = MockServer::builder()
        .file(file("first"))
        .file(file("second"))
        .start()
        .await
        .expect("server starts");
    let object = json(get(&server, "/v1/files/mock-intro-pdf", None).await).await;
    assert_eq!(object["status"], "second");
    assert_eq!(server.file_ids().len(), 4);
}
