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
