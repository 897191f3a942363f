//! Operation ids: progenitor turns each into a method name, and refuses operations without one.

use serde_json::Value;

use crate::Error;
use crate::merge::METHODS;

/// Turns a summary such as `Get File Information` (or an id such as `getFile`) into
/// `get_file_information` (`get_file`): the form progenitor gives method names.
pub fn snake_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            let boundary = c.is_ascii_uppercase()
                && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        previous = Some(c);
    }
    let trimmed = out.trim_end_matches('_');
    if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("op_{trimmed}")
    } else {
        trimmed.to_owned()
    }
}

/// Every operation of the document as (`METHOD PATH`, operation), in path then method order.
pub fn operations(document: &Value) -> Vec<(String, &Value)> {
    located_operations(document)
        .into_iter()
        .map(|o| (o.name, o.operation))
        .collect()
}

/// An operation, with where it is.
#[derive(Debug, Clone)]
pub struct LocatedOperation<'d> {
    /// `METHOD PATH`.
    pub name: String,
    /// Its path, as the document writes it (`/v1/files/{file_id}`).
    pub path: &'d str,
    /// Its method, lowercase (`get`).
    pub method: &'static str,
    /// The path item that holds it, with the parameters shared by the path's operations.
    pub item: &'d Value,
    /// Its JSON pointer (`/paths/~1v1~1files/get`).
    pub pointer: String,
    /// Its `operationId`, or its method when it has none yet.
    pub id: String,
    /// The operation object.
    pub operation: &'d Value,
}

/// Every operation of the document with its pointer and id, in path then method order.
pub fn located_operations(document: &Value) -> Vec<LocatedOperation<'_>> {
    let mut found = Vec::new();
    for (path, item) in document
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push(LocatedOperation {
                    name: format!("{} {path}", method.to_ascii_uppercase()),
                    path,
                    method,
                    item,
                    pointer: format!("/paths/{}/{method}", crate::pointer::escape(path)),
                    id: operation
                        .get("operationId")
                        .and_then(Value::as_str)
                        .unwrap_or(method)
                        .to_owned(),
                    operation,
                });
            }
        }
    }
    found
}

/// Gives every operation without an `operationId` one derived from its summary (or, lacking a
/// summary, from its method and path), so a new upstream page needs no code change.
pub fn assign_missing_ids(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(Value::Object(operation)) = item.get_mut(method) else {
                continue;
            };
            if operation.contains_key("operationId") {
                continue;
            }
            let id = match operation
                .get("summary")
                .and_then(Value::as_str)
                .map(snake_case)
            {
                Some(id) if !id.is_empty() => id,
                _ => snake_case(&format!("{method} {path}")),
            };
            operation.insert("operationId".to_owned(), Value::String(id));
        }
    }
}

/// Checks that no two operations share an id once progenitor snake-cases them.
///
/// # Errors
/// [`Error::DuplicateOperationId`] naming both operations, or [`Error::InvalidMerged`] for an
/// operation whose id is missing or empty.
pub fn check_unique_ids(document: &Value) -> Result<(), Error> {
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    for (operation_name, operation) in operations(document) {
        let id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .map(snake_case);
        let Some(id) = id.filter(|id| !id.is_empty()) else {
            return Err(Error::InvalidMerged {
                detail: format!("{operation_name} has no usable operationId"),
            });
        };
        if let Some(first) = seen.insert(id.clone(), operation_name.clone()) {
            return Err(Error::DuplicateOperationId {
                id,
                first,
                second: operation_name,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases_summaries_and_ids() {
        assert_eq!(snake_case("Get File Information"), "get_file_information");
        assert_eq!(snake_case("Get File Content"), "get_file_content");
        assert_eq!(snake_case("retrieveFileContent"), "retrieve_file_content");
        assert_eq!(snake_case("  Delete a file (v2)! "), "delete_a_file_v2");
        assert_eq!(
            snake_case("delete /v1/files/{file_id}"),
            "delete_v1_files_file_id"
        );
        assert_eq!(snake_case("2fa check"), "op_2fa_check");
        assert_eq!(snake_case("¿?"), "");
    }
}
