//! Where the workspace is, found at run time: the nearest directory at or above the current one
//! whose `Cargo.toml` declares a `[workspace]` with an `xtask` member.
//!
//! Not the directory `xtask` was built in: cargo gives a copy of the workspace built into the
//! same target directory the same `xtask` binary, which would then read and write the copy.

use std::path::{Path, PathBuf};

/// The workspace root at or above `start`.
///
/// # Errors
/// A message naming `start` when no directory above it holds the workspace, saying to pass
/// `--root`.
pub fn find_root(start: &Path) -> Result<PathBuf, String> {
    start
        .ancestors()
        .find(|dir| is_root(dir))
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "no workspace with an `xtask` member at or above {}: run the command inside the \
                 checkout, or pass --root DIR",
                start.display()
            )
        })
}

/// Whether `dir/Cargo.toml` declares a workspace with an `xtask` member.
fn is_root(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return false;
    };
    let Ok(manifest) = text.parse::<toml::Table>() else {
        return false;
    };
    manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .is_some_and(|members| members.iter().any(|m| m.as_str() == Some("xtask")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_workspace_with_an_xtask_member() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("checkout");
        let nested = root.join("crates/inner");
        std::fs::create_dir_all(&nested).expect("mkdir");
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/inner\", \"xtask\"]\n",
        )
        .expect("write");
        // A member's own manifest is no workspace root.
        std::fs::write(nested.join("Cargo.toml"), "[package]\nname = \"inner\"\n").expect("write");

        assert_eq!(find_root(&nested), Ok(root.clone()));
        assert_eq!(find_root(&root), Ok(root));
        let error = find_root(dir.path()).expect_err("no workspace");
        assert!(error.contains("--root"), "{error}");
    }
}
