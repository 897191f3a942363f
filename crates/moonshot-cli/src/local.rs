//! Local files given as input (`files upload`, `chat --file`, `batches create`), checked before
//! anything opens them: a FIFO would block the open until a writer came, and a device such as
//! `/dev/zero` would be read without end.

use std::io::Read as _;
use std::path::Path;

use moonshot::batches::{BatchInput, MAX_INPUT_BYTES};

use crate::report::Failure;

/// The UTF-8 byte-order mark some editors write at the start of a text file.
const BYTE_ORDER_MARK: &[u8] = b"\xef\xbb\xbf";

/// Checks that `path` is a regular file (a symbolic link to one is followed) that can be opened
/// for reading, without opening anything else.
///
/// # Errors
/// A usage error naming `path` and what it is instead: missing, a directory, a FIFO, a device,
/// a socket, or unreadable.
pub(crate) fn check_file(path: &Path) -> Result<std::fs::Metadata, Failure> {
    let refuse = |why: String| Failure::Usage(format!("`{}` {why}", path.display()));
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => refuse("does not exist".to_owned()),
        _ => refuse(format!("cannot be read: {e}")),
    })?;
    if metadata.is_dir() {
        return Err(refuse("is a directory: give a file".to_owned()));
    }
    if !metadata.is_file() {
        return Err(refuse(format!(
            "is {}, not a regular file: save what it gives to a file first, and give that",
            kind(&metadata)
        )));
    }
    // A regular file: opening it cannot block.
    std::fs::File::open(path).map_err(|e| refuse(format!("cannot be read: {e}")))?;
    Ok(metadata)
}

/// What a file that is neither regular nor a directory is, for a message.
fn kind(metadata: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let kind = metadata.file_type();
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    let _ = metadata;
    "a special file"
}

/// Reads a regular file of at most `limit` bytes, no further than that even if it grows.
///
/// # Errors
/// A usage error naming `path`: as [`check_file`], or over `limit`.
pub(crate) fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, Failure> {
    check_file(path)?;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| Failure::Usage(format!("`{}` cannot be read: {e}", path.display())))?;
    if bytes.len() as u64 > limit {
        return Err(Failure::Usage(format!(
            "`{}` is over {limit} bytes: give a smaller file",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Reads and checks a batch input file: a regular file of at most [`MAX_INPUT_BYTES`], read no
/// further than that even if it grows, a UTF-8 byte-order mark at its start dropped.
///
/// # Errors
/// A usage error naming `path`: as [`check_file`], and as [`BatchInput::from_jsonl`].
pub(crate) fn read_batch_input(path: &Path) -> Result<BatchInput, Failure> {
    check_file(path)?;
    let named = |reason: String| {
        Failure::Usage(format!(
            "invalid batch input: `{}`: {reason}",
            path.display()
        ))
    };
    let mut jsonl = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut jsonl))
        .map_err(|e| named(format!("it cannot be read: {e}")))?;
    if jsonl.starts_with(BYTE_ORDER_MARK) {
        jsonl.drain(..BYTE_ORDER_MARK.len());
    }
    BatchInput::from_jsonl(jsonl).map_err(|e| match e {
        moonshot::Error::InvalidInput { reason, .. } => named(reason),
        other => Failure::from(other),
    })
}
