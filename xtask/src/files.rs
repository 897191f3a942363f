//! Reading the files the commands take as input: regular files only, so that a device or a
//! FIFO given by mistake is named and refused instead of read without end or waited on forever.

use std::fs::FileType;
use std::path::Path;

use crate::Error;

/// The text of the regular file at `path` (links followed), named `shown` in errors.
///
/// # Errors
/// [`Error::NotAFile`] for a directory, device, FIFO or socket, checked before opening it;
/// [`Error::Read`] when it cannot be read (a missing file included: match on the source's
/// kind to tell).
pub fn read_text(path: &Path, shown: &str) -> Result<String, Error> {
    let read_error = |source| Error::Read {
        path: shown.to_owned(),
        source,
    };
    let kind = std::fs::metadata(path).map_err(read_error)?.file_type();
    if !kind.is_file() {
        return Err(Error::NotAFile {
            path: shown.to_owned(),
            kind: describe(kind),
        });
    }
    std::fs::read_to_string(path).map_err(read_error)
}

/// What a file that is not a regular one is, for an error message.
fn describe(kind: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}
