//! `cargo xtask gen`: the only writer of the merged document.

use std::io::Write as _;
use std::path::Path;

use crate::Error;
use crate::canonical::render;
use crate::files::read_text;
use crate::pipeline::{MERGED_FILE, UPSTREAM_DIR, build_from_dir};

/// What [`ensure_file_contents`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file already held these contents.
    Unchanged,
    /// The file was written.
    Written,
    /// Check mode: the file differs; the unified diff from the file to what it should be.
    Stale {
        /// The unified diff.
        diff: String,
    },
}

/// Renders the merged document from the workspace at `root`.
///
/// # Errors
/// Any pipeline error; nothing is written.
pub fn render_merged(root: &Path) -> Result<String, Error> {
    build_from_dir(root, &root.join(UPSTREAM_DIR)).map(|document| render(&document))
}

/// Regenerates `root`'s merged document, or with `check` only compares it.
///
/// # Errors
/// Any pipeline error (the file is then left exactly as it was) or a write error.
pub fn run(root: &Path, check: bool) -> Result<Outcome, Error> {
    let contents = render_merged(root)?;
    ensure_file_contents(root, MERGED_FILE, &contents, check)
}

/// Makes `root/relative` hold `contents`: compares, and unless `check`, writes atomically (a
/// temporary file in the same directory renamed over the target, so a reader never sees half a
/// file and a failure leaves the old one).
///
/// Line endings are normalised before comparing: a checkout with CRLF line endings holds the
/// same document, and is left as it is.
///
/// # Errors
/// [`Error::Read`] when the existing file cannot be read, [`Error::NotAFile`] when it is a
/// device or FIFO, [`Error::Write`] when the new one
/// cannot be written.
pub fn ensure_file_contents(
    root: &Path,
    relative: &str,
    contents: &str,
    check: bool,
) -> Result<Outcome, Error> {
    let path = root.join(relative);
    let current = match read_text(&path, relative) {
        Ok(text) => Some(text),
        Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let current = current.map(|text| text.replace("\r\n", "\n"));
    if current.as_deref() == Some(contents) {
        return Ok(Outcome::Unchanged);
    }
    if check {
        let old = current.unwrap_or_default();
        let diff = similar::TextDiff::from_lines(old.as_str(), contents)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("a/{relative} (committed)"),
                &format!("b/{relative} (generated)"),
            )
            .to_string();
        return Ok(Outcome::Stale { diff });
    }
    write_atomically(&path, contents).map_err(|source| Error::Write {
        path: relative.to_owned(),
        source,
    })?;
    Ok(Outcome::Written)
}

/// Writes `contents` to `path` through a temporary file in the same directory and a rename.
///
/// # Errors
/// Any I/O error; `path` is then untouched.
pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    stage(path, contents)?.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `contents` to a temporary file beside `path`, synced, for a later rename over `path`
/// (`persist`); dropped instead, it is deleted. Staging several files before renaming any keeps
/// a failure from leaving some written and some not.
///
/// The temporary file gets the permissions of the file at `path`, or a new file's usual ones
/// (`rw-r--r--` on Unix): a temporary file is private to its owner, and the rename would
/// otherwise leave the document readable by nobody else.
///
/// # Errors
/// Any I/O error.
pub fn stage(path: &Path, contents: impl AsRef<[u8]>) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(contents.as_ref())?;
    file.as_file().sync_all()?;
    let permissions = match std::fs::metadata(path) {
        Ok(existing) => Some(existing.permissions()),
        Err(_) => new_file_permissions(),
    };
    if let Some(permissions) = permissions {
        file.as_file().set_permissions(permissions)?;
    }
    Ok(file)
}

#[cfg(unix)]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn a_file_with_crlf_line_endings_is_up_to_date_and_left_as_it_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let crlf = "openapi: 3.0.3\r\ninfo:\r\n  title: x\r\n";
        std::fs::write(dir.path().join("doc.yaml"), crlf).expect("write");
        let contents = crlf.replace("\r\n", "\n");

        for check in [true, false] {
            let outcome = ensure_file_contents(dir.path(), "doc.yaml", &contents, check);
            assert_eq!(
                outcome.expect("compared"),
                Outcome::Unchanged,
                "check: {check}"
            );
        }
        let after = std::fs::read_to_string(dir.path().join("doc.yaml")).expect("read");
        assert_eq!(after, crlf);
    }

    #[test]
    fn a_rewritten_file_keeps_its_permissions_and_a_new_one_is_readable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let existing = dir.path().join("existing.yaml");
        std::fs::write(&existing, "old").expect("write");
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        write_atomically(&existing, "new").expect("rewrite");
        assert_eq!(std::fs::read_to_string(&existing).expect("read"), "new");
        assert_eq!(mode(&existing), 0o640);

        let created = dir.path().join("created.yaml");
        write_atomically(&created, "new").expect("create");
        assert_eq!(mode(&created), 0o644);
    }
}
