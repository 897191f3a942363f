//! The sizes the server takes: Moonshot's limits on files, and the largest JSON request body of
//! each route that reads one whole.

/// Moonshot's limit on the size of one file: 100 MB.
pub(crate) const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// Moonshot's limit on the number of files an account holds.
pub(crate) const MAX_FILES: usize = 1_000;

/// The largest chat completion or token estimate request body taken, well above the longest
/// context of any model.
pub(crate) const MAX_CHAT_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The largest batch create request taken: its metadata is small.
pub(crate) const MAX_BATCH_BODY_BYTES: usize = 64 * 1024;
