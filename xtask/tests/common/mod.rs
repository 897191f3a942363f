//! What the command tests share: the workspace root and a scratch copy of its `openapi/`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
