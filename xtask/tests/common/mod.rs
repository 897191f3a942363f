//! What the command tests share: the workspace root, a scratch copy of its `openapi/`, and a
//! way to run the command on it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A temporary workspace holding a copy of `openapi/` (its files and `upstream/`).
pub fn copy_of_openapi() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = workspace().join("openapi");
    let to = dir.path().join("openapi");
    for sub in ["", "upstream"] {
        std::fs::create_dir_all(to.join(sub)).expect("mkdir");
        for entry in std::fs::read_dir(from.join(sub)).expect("read openapi") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, to.join(sub).join(path.file_name().expect("name")))
                    .expect("copy");
            }
        }
    }
    dir
}

/// Runs `cargo xtask` (the built binary) on the workspace at `root`.
pub fn xtask(root: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .expect("runs")
}

/// A rule fixture of `tests/data/diff/rules/`, its two documents written out as the diff reads
/// them. A fixture says only what it changes: its old document is its own `old.yaml`, or the
/// shared `rules/base.yaml`; its new one is the old with `change.yaml` merged in, as a JSON
/// Merge Patch (RFC 7386: `null` removes a key, a list replaces the whole list).
pub struct RuleFixture {
    _dir: tempfile::TempDir,
    /// The old document.
    pub old: PathBuf,
    /// The new document.
    pub new: PathBuf,
}

/// Writes out the fixture in `dir`.
pub fn rule_fixture(dir: &Path) -> RuleFixture {
    let read = |path: &Path| {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        xtask::extract::yaml_text_to_json(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let own = dir.join("old.yaml");
    let old = if own.exists() {
        read(&own)
    } else {
        read(&dir.parent().expect("the rules directory").join("base.yaml"))
    };
    let mut new = old.clone();
    merge_patch(&mut new, &read(&dir.join("change.yaml")));
    let out = tempfile::tempdir().expect("tempdir");
    let (old_path, new_path) = (out.path().join("old.json"), out.path().join("new.json"));
    std::fs::write(&old_path, old.to_string()).expect("write old");
    std::fs::write(&new_path, new.to_string()).expect("write new");
    RuleFixture {
        _dir: out,
        old: old_path,
        new: new_path,
    }
}

/// RFC 7386: merges `patch` into `target`.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(map) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}
