//! `cargo xtask gen` as a command, on a copy of the workspace's `openapi/` directory: it
//! recreates the document byte for byte, reports staleness, and on any bad input exits non-zero
//! naming the file while leaving the merged document exactly as it was.

mod common;

use common::{copy_of_openapi, xtask};

use std::path::Path;

fn merged(root: &Path) -> Vec<u8> {
    std::fs::read(root.join("openapi/openapi.yaml")).expect("merged document")
}

#[test]
fn gen_recreates_a_deleted_document_byte_for_byte() {
    let dir = copy_of_openapi();
    let committed = merged(dir.path());
    std::fs::remove_file(dir.path().join("openapi/openapi.yaml")).expect("delete");

    let out = xtask(dir.path(), &["gen"]);

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(merged(dir.path()), committed);
    let again = xtask(dir.path(), &["gen", "--check"]);
    assert!(again.status.success());
}

#[test]
fn check_reports_a_stale_document_with_a_diff_and_changes_nothing() {
    let dir = copy_of_openapi();
    let path = dir.path().join("openapi/openapi.yaml");
    let stale = String::from_utf8(merged(dir.path()))
        .expect("utf-8")
        .replace("File size in bytes", "Size");
    std::fs::write(&path, &stale).expect("write");

    let out = xtask(dir.path(), &["gen", "--check"]);

    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("-          description: Size"), "{stdout}");
    assert!(
        stdout.contains("+          description: File size in bytes"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("run `cargo xtask gen` and commit the result")
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), stale);
}

/// How a test spoils a file's text.
type Corruption = Box<dyn Fn(&str) -> String>;

/// Each bad input: the command fails, names the file, and the merged document is untouched.
#[test]
fn bad_inputs_fail_naming_the_file_and_leave_the_document_as_it_was() {
    let retrieve = "openapi/upstream/files-retrieve.md";
    let schemas = |added: &'static str| -> Corruption {
        Box::new(move |t| {
            t.replacen(
                "components:\n  schemas:\n",
                &format!("components:\n  schemas:\n{added}"),
                1,
            )
        })
    };
    let file_object_ref = |replacement: &'static str| -> Corruption {
        Box::new(move |t| t.replacen("'#/components/schemas/FileObject'", replacement, 1))
    };
    let cases: [(&str, &str, Corruption); 14] = [
        (
            retrieve,
            "no OpenAPI block",
            Box::new(|t| {
                t.replace("````yaml GET", "```yaml GET")
                    .replace("\n````", "\n```")
            }),
        ),
        (
            retrieve,
            "2 OpenAPI blocks",
            Box::new(|t| format!("{t}\n{}", &t[t.find("````yaml").expect("block")..])),
        ),
        (
            retrieve,
            "invalid YAML",
            Box::new(|t| t.replace("  title: Moonshot AI API", "  title: [Moonshot")),
        ),
        (
            retrieve,
            "unsupported OpenAPI version `2.0.0`",
            Box::new(|t| t.replace("openapi: 3.1.0", "openapi: 2.0.0")),
        ),
        (
            retrieve,
            "unsupported OpenAPI version `4.0.0`",
            Box::new(|t| t.replace("openapi: 3.1.0", "openapi: 4.0.0")),
        ),
        (
            retrieve,
            "the fence header says `GET /v1/files`",
            Box::new(|t| t.replace("````yaml GET /v1/files/{file_id}", "````yaml GET /v1/files")),
        ),
        (
            retrieve,
            "never closes",
            Box::new(|t| t[..t.rfind("\n````").expect("a closing fence")].to_owned()),
        ),
        (
            "openapi/overlay.yaml",
            "invalid overlay",
            Box::new(|t| t.replace("overlay: 1.1.0", "overlay: [1.1.0")),
        ),
        (
            "openapi/overlay.yaml",
            "removes the whole document (target `$`)",
            Box::new(|t| format!("{t}  - target: $\n    remove: true\n")),
        ),
        (
            retrieve,
            "/components/schemas/Loop/$ref: the references Loop -> Loop make a type that holds itself",
            schemas("    Loop:\n      $ref: '#/components/schemas/Loop'\n"),
        ),
        (
            retrieve,
            "the references Pong -> Ping -> Pong make a type that holds itself",
            schemas(
                "    Ping:\n      type: object\n      required: [pong]\n      properties:\n        \
                 pong: {$ref: '#/components/schemas/Pong'}\n    Pong:\n      allOf: [{$ref: \
                 '#/components/schemas/Ping'}]\n",
            ),
        ),
        (
            retrieve,
            "schema/$ref is ``, not a reference within the document",
            file_object_ref("''"),
        ),
        (
            retrieve,
            "schema/$ref is `common.yaml#/FileObject`, not a reference within the document",
            file_object_ref("'common.yaml#/FileObject'"),
        ),
        (
            retrieve,
            "schema/$ref is `#/components/schemas/FileObjekt`, which points at nothing",
            file_object_ref("'#/components/schemas/FileObjekt'"),
        ),
    ];
    for (file, expected, corrupt) in cases {
        let dir = copy_of_openapi();
        let before = merged(dir.path());
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, corrupt(&text)).expect("write");

        let out = xtask(dir.path(), &["gen"]);

        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{expected}: {stderr}");
        assert!(
            stderr.contains(file),
            "{expected}: the error must name {file}: {stderr}"
        );
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert_eq!(
            merged(dir.path()),
            before,
            "{expected}: the document changed"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("openapi"))
            .expect("dir")
            .collect();
        assert_eq!(
            leftovers.len(),
            4,
            "{expected}: a stray file was left behind"
        );
    }
}

#[test]
fn a_conflicting_component_names_both_pages() {
    let dir = copy_of_openapi();
    let before = merged(dir.path());
    let path = dir.path().join("openapi/upstream/files-content.md");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace(
            "description: Error code",
            "description: Error code (numeric)",
        ),
    )
    .expect("write");

    let out = xtask(dir.path(), &["gen"]);

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/components/schemas/ErrorResponse/properties/error/properties/code/description differs between openapi/upstream/balance.md and openapi/upstream/files-content.md"),
        "{stderr}"
    );
    assert_eq!(merged(dir.path()), before);
}

/// A page that is a symbolic link to nothing, or to itself, is an error, not a page less.
#[cfg(unix)]
#[test]
fn an_unreadable_page_link_is_an_error() {
    for (name, target) in [("dangling.md", "nowhere.md"), ("loop.md", "loop.md")] {
        let dir = copy_of_openapi();
        let before = merged(dir.path());
        std::os::unix::fs::symlink(target, dir.path().join("openapi/upstream").join(name))
            .expect("symlink");

        let out = xtask(dir.path(), &["gen", "--check"]);

        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("openapi/upstream/{name}: cannot read")),
            "{name}: {stderr}"
        );
        assert_eq!(merged(dir.path()), before);
    }
}

/// Without `--root`, the workspace is the one around the current directory, not the one the
/// command was built in.
#[test]
fn the_workspace_is_found_from_the_current_directory() {
    let dir = copy_of_openapi();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"xtask\"]\n",
    )
    .expect("write");
    let path = dir.path().join("openapi/openapi.yaml");
    let stale = String::from_utf8(merged(dir.path()))
        .expect("utf-8")
        .replace("File size in bytes", "Size");
    std::fs::write(&path, &stale).expect("write");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["gen", "--check"])
        .current_dir(dir.path().join("openapi/upstream"))
        .output()
        .expect("runs");

    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("-          description: Size"));

    let nowhere = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["gen", "--check"])
        .current_dir(nowhere.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --root DIR"));
}

/// A checkout with CRLF line endings holds the same document.
#[test]
fn check_accepts_a_document_with_crlf_line_endings() {
    let dir = copy_of_openapi();
    let path = dir.path().join("openapi/openapi.yaml");
    let crlf = String::from_utf8(merged(dir.path()))
        .expect("utf-8")
        .replace('\n', "\r\n");
    std::fs::write(&path, &crlf).expect("write");

    let out = xtask(dir.path(), &["gen", "--check"]);

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), crlf);
}
