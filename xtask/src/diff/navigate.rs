//! Walking the documents: following `$ref`s, naming what they point to, listing an object's
//! entries and the keys two objects differ in, and showing a value in a message.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// An object's entries in key order; anything else has none.
pub(super) fn entries(value: Option<&Value>) -> BTreeMap<&str, &Value> {
    value
        .and_then(Value::as_object)
        .map(|map| map.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// The keys, other than `handled`, whose values differ between two objects.
pub(super) fn residual(old: &Value, new: &Value, handled: &[&str]) -> Vec<String> {
    let (old, new) = (entries(Some(old)), entries(Some(new)));
    let keys: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    keys.into_iter()
        .filter(|k| !handled.contains(k) && old.get(k) != new.get(k))
        .map(str::to_owned)
        .collect()
}

/// A value as shown in a message: strings bare, anything else as JSON, absence as `none`.
pub(super) fn show(value: Option<&Value>) -> String {
    match value {
        None => "none".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Follows local `$ref`s; returns the target and the first reference, if any. A reference that
/// does not resolve is returned as it is.
pub(super) fn resolve<'v>(doc: &'v Value, value: &'v Value) -> (&'v Value, Option<&'v str>) {
    let first = value.get("$ref").and_then(Value::as_str);
    let mut current = value;
    // A bound rather than a visited set: reference chains in real documents are short.
    for _ in 0..8 {
        let target = current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| doc.pointer(pointer));
        match target {
            Some(target) => current = target,
            None => break,
        }
    }
    (current, first)
}

/// The name a reference gives its type: its last pointer token, unescaped.
pub(super) fn ref_name(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    last.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointer::escape;
    use serde_json::json;

    #[test]
    fn resolves_references_and_names_them() {
        let doc = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"type": "string"},
            "Loop": {"$ref": "#/components/schemas/Loop"}
        }}});
        let reference = json!({"$ref": "#/components/schemas/A"});
        let (target, first) = resolve(&doc, &reference);
        assert_eq!(target, &json!({"type": "string"}));
        assert_eq!(first.map(ref_name).as_deref(), Some("A"));
        let looping = json!({"$ref": "#/components/schemas/Loop"});
        assert_eq!(resolve(&doc, &looping).0, &looping);
        assert_eq!(ref_name("#/components/schemas/a~1b"), "a/b");
        assert_eq!(escape("a/b"), "a~1b");
    }
}
