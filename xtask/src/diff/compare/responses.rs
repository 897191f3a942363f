//! An operation's responses: its return type, its error type, and their bodies.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{is_json, method_name};
use crate::canonical::sorted;
use crate::diff::Level;
use crate::diff::differ::Differ;
use crate::diff::navigate::{entries, ref_name, residual, resolve};
use crate::diff::schema::Direction;
use crate::ids::LocatedOperation;
use crate::pointer::join;

/// What a success response becomes in the generated method's return type.
fn return_kind(content: &BTreeMap<&str, &Value>) -> &'static str {
    if content.keys().any(|m| is_json(m)) {
        "a typed value"
    } else if content.is_empty() {
        "`()`"
    } else {
        "a byte stream"
    }
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

/// The type progenitor makes of one response's body: a name to show and a key that tells
/// types apart (an inline schema is keyed by its content).
fn body_type(doc: &Value, response: &Value) -> (String, String) {
    let content = entries(resolve(doc, response).0.get("content"));
    let schema = content
        .iter()
        .find(|(m, _)| is_json(m))
        .map(|(_, media)| media.get("schema"));
    match (schema, content.is_empty()) {
        (Some(Some(schema)), _) => match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => (format!("`{}`", ref_name(reference)), reference.to_owned()),
            None => ("an inline type".to_owned(), sorted(schema).to_string()),
        },
        (Some(None), _) => ("an untyped JSON value".to_owned(), "json".to_owned()),
        (None, true) => ("`()`".to_owned(), "()".to_owned()),
        (None, false) => ("a byte stream".to_owned(), "bytes".to_owned()),
    }
}

/// The body types of the success (or the error) responses, by key. Progenitor generates a
/// method only when each side has at most one.
fn body_types(
    doc: &Value,
    responses: &BTreeMap<&str, &Value>,
    success: bool,
) -> BTreeMap<String, String> {
    responses
        .iter()
        .filter(|(status, _)| is_success(status) == success)
        .map(|(_, response)| body_type(doc, response))
        .map(|(name, key)| (key, name))
        .collect()
}

/// How an operation's error type reads: `Error<E>`.
fn error_type(types: &BTreeMap<String, String>) -> String {
    let names: Vec<&str> = types.values().map(String::as_str).collect();
    match names[..] {
        [] => "`Error<()>`".to_owned(),
        [one] => format!("`Error<{}>`", one.trim_matches('`')),
        _ => format!(
            "error bodies of {} types ({})",
            names.len(),
            names.join(", ")
        ),
    }
}

impl Differ<'_> {
    /// Compares the responses of an operation: statuses, the return type and the error type.
    pub(super) fn responses(&mut self, old: &LocatedOperation<'_>, new: &LocatedOperation<'_>) {
        let method = method_name(new.operation);
        let before = entries(old.operation.get("responses"));
        let after = entries(new.operation.get("responses"));
        let base = join(&new.pointer, "responses");
        for status in before.keys().filter(|s| !after.contains_key(*s)) {
            let (level, message) = if is_success(status) {
                let message =
                    format!("success status `{status}` removed: such responses stop decoding");
                (Level::Breaking, message)
            } else {
                let message = format!(
                    "error status `{status}` removed: it arrives as `Error::UnexpectedResponse` \
                     instead of the typed error"
                );
                (Level::Warning, message)
            };
            self.at(join(&join(&old.pointer, "responses"), status))
                .record(level, "response-status-removed", message);
        }
        let (old_success, old_errors) = (
            body_types(self.old, &before, true),
            body_types(self.old, &before, false),
        );
        for (status, response) in &after {
            let location = join(&base, status);
            if let Some(old_response) = before.get(status) {
                self.response(status, old_response, response, &location);
                continue;
            }
            let (name, key) = body_type(self.new, response);
            let success = is_success(status);
            let known = if success { &old_success } else { &old_errors };
            let (level, message) = match (success, known.contains_key(&key)) {
                (true, true) => (
                    Level::Info,
                    format!("new success status `{status}` with the same body type"),
                ),
                (true, false) => (
                    Level::Breaking,
                    format!(
                        "new success status `{status}` of {name}: the return type changes, or \
                         progenitor cannot generate a method whose success bodies differ"
                    ),
                ),
                (false, true) => (
                    Level::Info,
                    format!(
                        "new error status `{status}`: it arrives as the typed error, no longer as `Error::UnexpectedResponse`"
                    ),
                ),
                (false, false) => (
                    Level::Warning,
                    format!("new error status `{status}` of {name}"),
                ),
            };
            self.at(location)
                .record(level, "response-status-added", message);
        }
        let new_errors = body_types(self.new, &after, false);
        if new_errors.keys().ne(old_errors.keys()) {
            let (was, is) = (error_type(&old_errors), error_type(&new_errors));
            let effect = if new_errors.len() > 1 {
                "progenitor cannot generate a method whose error bodies differ"
            } else {
                "code naming the error type stops compiling"
            };
            let message =
                format!("the error type of `{method}` changes from {was} to {is}: {effect}");
            self.at(base)
                .record(Level::Breaking, "response-error-type-changed", message);
        }
    }

    /// Compares one response present on both sides.
    fn response(&mut self, status: &str, old: &Value, new: &Value, pointer: &str) {
        let (before, after) = (resolve(self.old, old).0, resolve(self.new, new).0);
        let success = is_success(status);
        let what = format!("the `{status}` response");
        self.prose(pointer, "description", &what, before, after);
        let old_content = entries(before.get("content"));
        let new_content = entries(after.get("content"));
        let content = join(pointer, "content");
        // Progenitor returns the JSON body typed if there is one, else bytes, else `()`.
        let (was, is) = (return_kind(&old_content), return_kind(&new_content));
        let (level, effect) = match (was == is, success) {
            (true, true) => (Level::Info, format!("the return type stays {is}")),
            (true, false) => (Level::Info, format!("the error body stays {is}")),
            (false, true) => (
                Level::Breaking,
                format!("the return type changes from {was} to {is}"),
            ),
            (false, false) => (
                Level::Warning,
                format!("the error body changes from {was} to {is}"),
            ),
        };
        for media_type in old_content.keys().filter(|m| !new_content.contains_key(*m)) {
            let message = format!("{what} is no longer documented as `{media_type}`: {effect}");
            self.at(join(&content, media_type)).record(
                level,
                "response-media-type-removed",
                message,
            );
        }
        for (media_type, media) in &new_content {
            let location = join(&content, media_type);
            if let Some(old_media) = old_content.get(media_type) {
                let what = format!("{what} body");
                let direction = Direction::Response;
                self.media(direction, &what, media_type, old_media, media, &location);
                continue;
            }
            let message = format!("{what} may now be `{media_type}`: {effect}");
            self.at(location)
                .record(level, "response-media-type-added", message);
        }
        for key in residual(before, after, &["description", "content"]) {
            let message =
                format!("`{key}` of {what} changed: it does not reach the generated code");
            self.at(join(pointer, &key))
                .record(Level::Info, "response-keyword-changed", message);
        }
    }
}
