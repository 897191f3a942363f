//! Defaults in what the client sends are the server's to apply, never the client's to send.
//!
//! progenitor turns a property with a `default` into a plain field that is always serialized
//! (`"stream": false`, `"partial": false` on every message, `"strict": true` on every tool), so
//! a request would carry values its author never set, and a default that upstream changes would
//! be sent as the old one. This step renames `default` to [`SERVER_DEFAULT`] in every schema a
//! request body uses: the field becomes an `Option` that is sent only when set, and the value
//! stays in the document, so `cargo xtask diff` still sees upstream change it.

use std::collections::BTreeSet;

use serde_json::Value;

pub use crate::families::SERVER_DEFAULT;
use crate::merge::METHODS;

const REF_PREFIX: &str = "#/components/schemas/";

/// The schema keywords that hold schemas, by how they hold them.
const ONE: &[&str] = &["items", "additionalProperties", "not"];
const MANY: &[&str] = &["oneOf", "anyOf", "allOf"];

/// Renames every `default` of the schemas request bodies use to [`SERVER_DEFAULT`].
pub fn keep_request_defaults_on_the_server(document: &mut Value) {
    let mut components = BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for method in METHODS {
                let Some(content) = item
                    .get_mut(method)
                    .and_then(|o| o.pointer_mut("/requestBody/content"))
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                for media in content.values_mut() {
                    if let Some(schema) = media.get_mut("schema") {
                        rename(schema, &mut pending);
                    }
                }
            }
        }
    }
    while let Some(name) = pending.pop() {
        if !components.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = document
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
            .and_then(|s| s.get_mut(&name))
        {
            rename(schema, &mut pending);
        }
    }
}

/// Renames `default` in `schema` and the schemas inside it; notes the components it refers to.
fn rename(schema: &mut Value, refs: &mut Vec<String>) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if let Some(name) = map
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(REF_PREFIX))
    {
        refs.push(name.to_owned());
    }
    if let Some(default) = map.remove("default") {
        map.insert(SERVER_DEFAULT.to_owned(), default);
    }
    if let Some(properties) = map.get_mut("properties").and_then(Value::as_object_mut) {
        properties.values_mut().for_each(|p| rename(p, refs));
    }
    for keyword in ONE {
        if let Some(child) = map.get_mut(*keyword) {
            rename(child, refs);
        }
    }
    for keyword in MANY {
        if let Some(Value::Array(children)) = map.get_mut(*keyword) {
            children.iter_mut().for_each(|c| rename(c, refs));
        }
    }
}
