//! The fixture loader: a directory of file objects and their texts (format in the
//! [`files`](super) module docs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{FileObjectError, MockFile};

/// Why a fixtures directory was refused.
///
/// Each variant names the entry at fault; its [`source`](std::error::Error::source), where there
/// is one, says what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// The directory itself could not be listed.
    #[error("cannot read fixtures directory {}", dir.display())]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// A fixture file could not be read.
    #[error("cannot read fixture {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The directory holds no `<id>.json` at all.
    #[error("no fixtures in {}: expected <id>.json files (and optional <id>.txt)", dir.display())]
    Empty {
        /// The directory.
        dir: PathBuf,
    },
    /// An entry is neither `<id>.json` nor `<id>.txt` (or is a directory).
    #[error("unexpected entry {}: fixtures are <id>.json and <id>.txt files", path.display())]
    UnexpectedEntry {
        /// The entry.
        path: PathBuf,
    },
    /// A `<id>.txt` has no `<id>.json` beside it.
    #[error("content {} has no metadata: add {}", path.display(), expected.display())]
    ContentWithoutMetadata {
        /// The `.txt` file.
        path: PathBuf,
        /// The `.json` file that is missing.
        expected: PathBuf,
    },
    /// A `<id>.json` is not valid JSON.
    #[error("invalid JSON in {}", path.display())]
    InvalidJson {
        /// The file.
        path: PathBuf,
        /// Where and why parsing failed.
        #[source]
        source: serde_json::Error,
    },
    /// A `<id>.json` is JSON but not a file object.
    #[error("invalid file object in {}", path.display())]
    InvalidFileObject {
        /// The file.
        path: PathBuf,
        /// What is wrong with the object.
        #[source]
        source: FileObjectError,
    },
    /// The `id` inside a `<id>.json` differs from its file name.
    #[error("{}: field `id` is {id:?} but the file name says {expected:?}", path.display())]
    IdMismatch {
        /// The file.
        path: PathBuf,
        /// The id inside the file.
        id: String,
        /// The id the file name gives.
        expected: String,
    },
    /// A `<id>.txt` is not UTF-8.
    #[error("content {} is not UTF-8", path.display())]
    ContentNotUtf8 {
        /// The file.
        path: PathBuf,
        /// Where the first invalid byte is.
        #[source]
        source: std::string::FromUtf8Error,
    },
}

/// Loads a fixtures directory (format in the [module docs](super)), sorted by id.
///
/// # Errors
///
/// [`FixtureError`] naming the first entry at fault, in file name order.
pub fn load_fixtures(dir: &Path) -> Result<Vec<MockFile>, FixtureError> {
    let read_dir_error = |source| FixtureError::ReadDir {
        dir: dir.to_owned(),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(read_dir_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_dir_error)?;
    entries.sort();

    let mut metadata = BTreeMap::new();
    let mut contents = BTreeMap::new();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return Err(FixtureError::UnexpectedEntry { path });
        };
        if name.starts_with('.') {
            continue;
        }
        let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
        let stem = stem.to_owned();
        match extension {
            _ if path.is_dir() => return Err(FixtureError::UnexpectedEntry { path }),
            "json" => metadata.insert(stem, path),
            "txt" => contents.insert(stem, path),
            _ => return Err(FixtureError::UnexpectedEntry { path }),
        };
    }
    if let Some((stem, path)) = contents.iter().find(|(s, _)| !metadata.contains_key(*s)) {
        return Err(FixtureError::ContentWithoutMetadata {
            path: path.clone(),
            expected: dir.join(format!("{stem}.json")),
        });
    }
    if metadata.is_empty() {
        return Err(FixtureError::Empty {
            dir: dir.to_owned(),
        });
    }

    metadata
        .into_iter()
        .map(|(stem, path)| {
            let content = contents.remove(&stem).map(read_content).transpose()?;
            let bytes = read(&path)?;
            let object =
                serde_json::from_slice(&bytes).map_err(|source| FixtureError::InvalidJson {
                    path: path.clone(),
                    source,
                })?;
            let file = MockFile::new(object, content).map_err(|source| {
                FixtureError::InvalidFileObject {
                    path: path.clone(),
                    source,
                }
            })?;
            if file.id != stem {
                return Err(FixtureError::IdMismatch {
                    path,
                    id: file.id,
                    expected: stem,
                });
            }
            Ok(file)
        })
        .collect()
}

fn read(path: &Path) -> Result<Vec<u8>, FixtureError> {
    std::fs::read(path).map_err(|source| FixtureError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_content(path: PathBuf) -> Result<String, FixtureError> {
    String::from_utf8(read(&path)?).map_err(|source| FixtureError::ContentNotUtf8 { path, source })
}
