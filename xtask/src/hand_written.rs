//! Operations progenitor cannot generate, and the mark that says they are written by hand.
//!
//! progenitor 0.15 generates a request body of exactly one media type among JSON, bytes, form
//! fields and plain text; anything else (`multipart/form-data`, the file upload) fails the whole
//! crate. Such an operation stays in the merged document exactly as upstream documents it, so
//! `cargo xtask diff` still sees its changes, and carries the extension [`MARK`] (set in
//! `openapi/overlay.yaml`) whose text says where the call is written instead. `moonshot-api`'s
//! build script leaves marked operations out of generation; `gen` refuses an operation progenitor
//! cannot generate that is not marked, so none is ever skipped silently.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Error;
use crate::ids::operations;

/// The operation extension that marks an operation as written by hand; its value says where.
pub const MARK: &str = "x-hand-written";

/// Request body media types progenitor 0.15 generates (parameters such as `; charset` aside).
const GENERATED_BODIES: &[&str] = &[
    "application/json",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "text/plain",
    "text/x-markdown",
];

/// Why progenitor cannot generate `operation`, or `None` when it can.
pub fn not_generable(operation: &Value) -> Option<String> {
    let content = operation.pointer("/requestBody/content")?.as_object()?;
    let types: Vec<&str> = content.keys().map(String::as_str).collect();
    match types.as_slice() {
        [] => None,
        [one] => {
            let essence = one.split(';').next().unwrap_or(one).trim();
            (!GENERATED_BODIES.contains(&essence))
                .then(|| format!("a request body of media type `{one}`"))
        }
        several => Some(format!(
            "a request body of several media types ({})",
            several.join(", ")
        )),
    }
}

/// Whether `operation` carries the hand-written mark.
pub fn is_marked(operation: &Value) -> bool {
    operation.get(MARK).is_some()
}

/// Refuses every operation progenitor cannot generate that is not marked.
///
/// `pages` maps `METHOD PATH` to the page that documents it, for the error.
///
/// # Errors
/// [`Error::NotGenerable`] for the first such operation.
pub fn check(document: &Value, pages: &BTreeMap<String, String>) -> Result<(), Error> {
    for (name, operation) in operations(document) {
        if is_marked(operation) {
            continue;
        }
        if let Some(reason) = not_generable(operation) {
            return Err(Error::NotGenerable {
                page: pages
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| "the merged document".to_owned()),
                operation: name,
                reason,
            });
        }
    }
    Ok(())
}
