//! Writing the checked pages: each changed page is staged in a temporary file beside its place,
//! with a copy of the page it replaces, and renamed into place only once all are staged; a rename
//! that fails puts back the pages renamed before it.

use std::path::{Path, PathBuf};

use super::error::FetchError;
use super::report::{FetchedPage, PageStatus};
use crate::Error;
use crate::generate::stage;

/// Stages every page of `checked` (file relative to `root`, URL, text) that differs from what is
/// on disk, and says what happens to each.
///
/// # Errors
/// [`Error::Read`] for a page that exists but cannot be read: taken for a new page, it would be
/// removed, not put back, should a later rename fail. [`Error::Write`] when staging fails.
pub(super) fn stage_changed(
    root: &Path,
    checked: Vec<(String, String, String)>,
) -> Result<(Vec<FetchedPage>, Vec<Staged>), Error> {
    let mut pages = Vec::new();
    let mut written = Vec::new();
    for (file, url, text) in checked {
        let path = root.join(&file);
        let existing = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(Error::Read {
                    path: file.clone(),
                    source,
                });
            }
        };
        let status = match &existing {
            Some(existing) if existing == text.as_bytes() => PageStatus::Unchanged,
            Some(_) => PageStatus::Changed,
            None => PageStatus::Added,
        };
        if status != PageStatus::Unchanged {
            let write_error = |source| Error::Write {
                path: file.clone(),
                source,
            };
            let temporary = stage(&path, &text).map_err(write_error)?;
            let original = existing
                .map(|bytes| stage(&path, bytes))
                .transpose()
                .map_err(write_error)?;
            written.push(Staged {
                temporary,
                original,
                path,
                file: file.clone(),
            });
        }
        pages.push(FetchedPage { file, url, status });
    }
    Ok((pages, written))
}

/// A checked page in a temporary file beside its place, with a copy of the page it replaces.
pub(super) struct Staged {
    temporary: tempfile::NamedTempFile,
    /// `None` for a page that is new.
    original: Option<tempfile::NamedTempFile>,
    path: PathBuf,
    file: String,
}

/// Renames each staged page into place, in order; when one fails, puts back those before it.
pub(super) fn rename_all(written: Vec<Staged>) -> Result<(), FetchError> {
    let mut renamed = Vec::new();
    for Staged {
        temporary,
        original,
        path,
        file,
    } in written
    {
        if let Err(e) = temporary.persist(&path) {
            return Err(FetchError::Rename {
                page: file,
                source: e.error,
                unrestored: put_back(renamed),
            });
        }
        renamed.push((path, file, original));
    }
    Ok(())
}

/// Puts pages renamed into place back as they were, last first: the copy of the original
/// renamed over it, or a new page removed. Returns the pages that could not be, each with why.
fn put_back(renamed: Vec<(PathBuf, String, Option<tempfile::NamedTempFile>)>) -> Vec<String> {
    renamed
        .into_iter()
        .rev()
        .filter_map(|(path, file, original)| {
            let result = match original {
                Some(original) => original.persist(&path).map(drop).map_err(|e| e.error),
                None => std::fs::remove_file(&path),
            };
            result.err().map(|e| format!("{file}: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page staged over `path`, with a copy of what is there, as `run` stages it.
    fn staged(path: &Path, text: &str) -> Staged {
        let original = std::fs::read(path)
            .ok()
            .map(|bytes| stage(path, bytes).expect("copy"));
        Staged {
            temporary: stage(path, text).expect("stage"),
            original,
            path: path.to_owned(),
            file: path.display().to_string(),
        }
    }

    #[test]
    fn a_failing_rename_puts_back_the_pages_renamed_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let changed = dir.path().join("changed.md");
        std::fs::write(&changed, "before").expect("write");
        let added = dir.path().join("added.md");
        // A directory where the last page goes: its rename fails after the others succeeded.
        let blocked = dir.path().join("blocked.md");
        std::fs::create_dir(&blocked).expect("mkdir");
        let written = vec![
            staged(&changed, "after"),
            staged(&added, "new"),
            staged(&blocked, "x"),
        ];

        let error = rename_all(written).expect_err("the last rename fails");

        assert!(
            matches!(&error, FetchError::Rename { page, unrestored, .. }
                if page.ends_with("blocked.md") && unrestored.is_empty()),
            "{error:?}"
        );
        assert!(error.to_string().contains("put back"), "{error}");
        assert_eq!(std::fs::read_to_string(&changed).expect("read"), "before");
        assert!(!added.exists(), "a new page is removed again");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
    }
}
