//! Merges the one-operation documents of the pages into one document.
//!
//! Each page repeats what it needs (`info`, `servers`, shared components). Identical repeats
//! collapse; a difference is an error naming both pages and the JSON pointer, so the merged
//! document never depends on which page was read first.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::Error;
use crate::pointer::{first_difference, join};

/// The HTTP methods an OpenAPI path item can hold.
pub const METHODS: [&str; 8] = [
    "delete", "get", "head", "options", "patch", "post", "put", "trace",
];

/// One page's document, after extraction and conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct PageDocument {
    /// The page's name as shown in errors (`openapi/upstream/files-retrieve.md`).
    pub page: String,
    /// Its OpenAPI document.
    pub document: Value,
}

/// Merges the pages' documents. The result does not depend on the order of `pages`.
///
/// # Errors
/// [`Error::Conflict`] when two pages repeat a part differently (top-level fields such as `info`,
/// `servers`, `security`; a component; a path-level field), and [`Error::DuplicateOperation`]
/// when two pages define the same method and path.
pub fn merge_pages(mut pages: Vec<PageDocument>) -> Result<Value, Error> {
    pages.sort_by(|a, b| a.page.cmp(&b.page));
    let mut merged = Map::new();
    // Which page first wrote each pointer, to name both sides of a conflict.
    let mut origin: BTreeMap<String, String> = BTreeMap::new();
    let mut first_page: Option<String> = None;
    for PageDocument { page, document } in pages {
        let Value::Object(mut document) = document else {
            continue;
        };
        push_down_path_parameters(&mut document);
        let paths = document.remove("paths");
        let components = document.remove("components");
        match &first_page {
            None => {
                merged.extend(document);
                first_page = Some(page.clone());
            }
            Some(first) => {
                let top: Map<String, Value> = merged
                    .iter()
                    .filter(|(k, _)| *k != "paths" && *k != "components")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let (old, new) = (Value::Object(top), Value::Object(document));
                if old != new {
                    return Err(Error::Conflict {
                        pointer: first_difference(&old, &new, ""),
                        first: first.clone(),
                        second: page,
                    });
                }
            }
        }
        if let Some(Value::Object(paths)) = paths {
            merge_paths(&mut merged, paths, &page, &mut origin)?;
        }
        if let Some(Value::Object(components)) = components {
            merge_components(&mut merged, components, &page, &mut origin)?;
        }
    }
    merged
        .entry("paths")
        .or_insert_with(|| Value::Object(Map::new()));
    Ok(Value::Object(merged))
}

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(inner) => inner,
        _ => unreachable!("replaced by an object above"),
    }
}

/// Inserts `value` at `key` unless an equal value is there; a different one is a conflict.
fn insert_same(
    into: &mut Map<String, Value>,
    key: &str,
    value: Value,
    pointer: String,
    page: &str,
    origin: &mut BTreeMap<String, String>,
) -> Result<(), Error> {
    match into.get(key) {
        Some(existing) if *existing != value => Err(Error::Conflict {
            pointer: first_difference(existing, &value, &pointer),
            first: origin.get(&pointer).cloned().unwrap_or_default(),
            second: page.to_owned(),
        }),
        Some(_) => Ok(()),
        None => {
            origin.insert(pointer, page.to_owned());
            into.insert(key.to_owned(), value);
            Ok(())
        }
    }
}

fn merge_paths(
    merged: &mut Map<String, Value>,
    paths: Map<String, Value>,
    page: &str,
    origin: &mut BTreeMap<String, String>,
) -> Result<(), Error> {
    let merged_paths = object_entry(merged, "paths");
    for (path, item) in paths {
        let Value::Object(item) = item else { continue };
        let path_pointer = join("/paths", &path);
        let merged_item = object_entry(merged_paths, &path);
        for (key, value) in item {
            let pointer = join(&path_pointer, &key);
            if METHODS.contains(&key.as_str()) && merged_item.contains_key(&key) {
                return Err(Error::DuplicateOperation {
                    operation: format!("{} {path}", key.to_ascii_uppercase()),
                    first: origin.get(&pointer).cloned().unwrap_or_default(),
                    second: page.to_owned(),
                });
            }
            insert_same(merged_item, &key, value, pointer, page, origin)?;
        }
    }
    Ok(())
}

fn merge_components(
    merged: &mut Map<String, Value>,
    components: Map<String, Value>,
    page: &str,
    origin: &mut BTreeMap<String, String>,
) -> Result<(), Error> {
    let merged_components = object_entry(merged, "components");
    for (section, entries) in components {
        let section_pointer = join("/components", &section);
        match entries {
            Value::Object(entries) => {
                let merged_section = object_entry(merged_components, &section);
                for (name, value) in entries {
                    let pointer = join(&section_pointer, &name);
                    insert_same(merged_section, &name, value, pointer, page, origin)?;
                }
            }
            other => insert_same(
                merged_components,
                &section,
                other,
                section_pointer,
                page,
                origin,
            )?,
        }
    }
    Ok(())
}

/// Moves path-level `parameters` into each operation of the path item (an operation's own
/// parameter of the same name and location wins), so that merging two pages that share a path
/// never lends one page's parameters to the other's operation.
fn push_down_path_parameters(document: &mut Map<String, Value>) {
    let Some(Value::Object(paths)) = document.get_mut("paths") else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        let Some(Value::Array(shared)) = item.remove("parameters") else {
            continue;
        };
        for method in METHODS {
            let Some(Value::Object(operation)) = item.get_mut(method) else {
                continue;
            };
            let own = match operation.get("parameters") {
                Some(Value::Array(own)) => own.clone(),
                _ => Vec::new(),
            };
            let key = |p: &Value| {
                (
                    p.get("name").cloned(),
                    p.get("in").cloned(),
                    p.get("$ref").cloned(),
                )
            };
            let mut parameters: Vec<Value> = shared
                .iter()
                .filter(|p| !own.iter().any(|o| key(o) == key(p)))
                .cloned()
                .collect();
            parameters.extend(own);
            operation.insert("parameters".to_owned(), Value::Array(parameters));
        }
    }
}
