//! The check every id goes through before it is placed in a path.

/// The longest id accepted; Moonshot's ids are about 20 characters.
pub(crate) const MAX_ID_LEN: usize = 256;

/// Refuses ids that would reach another path or make no sense, before any request is sent:
/// `name` says which input it is ("file id"), `object` what it should be the id of.
///
/// Everything else is percent-encoded by the generated client, so an id can never leave its
/// path segment (`/v1/files/{file_id}`, `/v1/batches/{batch_id}`).
pub(crate) fn check_id(name: &'static str, object: &str, id: &str) -> Result<(), crate::Error> {
    // Nearly every id is short printable ASCII: one pass over its bytes says so.
    if id.len() <= MAX_ID_LEN
        && id != "."
        && id != ".."
        && id.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && id.bytes().any(|b| b != b' ')
    {
        return Ok(());
    }
    let reason = if id.trim().is_empty() {
        format!("it is empty or blank: pass the `id` of {object}")
    } else if id == "." || id == ".." {
        format!("`{id}` would address another path: pass the `id` of {object}")
    } else if id.len() > MAX_ID_LEN {
        format!(
            "it is {} bytes long, above the {MAX_ID_LEN} an id can be",
            id.len()
        )
    } else if let Some(c) = id.chars().find(|c| c.is_control()) {
        format!("it contains the control character {c:?}")
    } else {
        return Ok(());
    };
    Err(crate::Error::InvalidInput { name, reason })
}
