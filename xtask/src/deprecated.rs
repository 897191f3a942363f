//! A property marked `deprecated: true` says so in its generated documentation.
//!
//! typify ignores the `deprecated` keyword: the field of a deprecated property is generated like
//! any other, and its doc comment is the property's description. This step makes that
//! description start with "Deprecated." unless it already speaks of deprecation, so the
//! generated doc says it. The keyword stays in the document (`cargo xtask diff` still sees
//! upstream set or clear it), and the field stays sendable.

use serde_json::Value;

/// What a deprecated property's description starts with.
pub const PREFIX: &str = "Deprecated.";

/// Makes the description of every property marked `deprecated: true`, anywhere in `document`,
/// say that it is deprecated.
pub fn document_deprecated_properties(document: &mut Value) {
    match document {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get_mut("properties") {
                properties.values_mut().for_each(mark);
            }
            map.values_mut().for_each(document_deprecated_properties);
        }
        Value::Array(items) => items.iter_mut().for_each(document_deprecated_properties),
        _ => {}
    }
}

/// Prefixes the description of `property` when it is marked deprecated and does not say so.
fn mark(property: &mut Value) {
    let Some(map) = property.as_object_mut() else {
        return;
    };
    if map.get("deprecated") != Some(&Value::Bool(true)) {
        return;
    }
    let text = map
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    if text.to_lowercase().contains("deprecated") {
        return;
    }
    let described = if text.is_empty() {
        PREFIX.to_owned()
    } else {
        format!("{PREFIX} {text}")
    };
    map.insert("description".to_owned(), Value::String(described));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deprecated_property_says_so_once() {
        let mut document = json!({"components": {"schemas": {"Request": {
            "type": "object",
            "properties": {
                "max_tokens": {"type": "integer", "deprecated": true, "description": "The cap."},
                "old": {"type": "integer", "deprecated": true},
                "said": {"type": "integer", "deprecated": true, "description": "DEPRECATED: use x."},
                "kept": {"type": "integer", "deprecated": false, "description": "The cap."},
                "nested": {"type": "object", "properties": {
                    "gone": {"type": "string", "deprecated": true, "description": "Gone."}
                }}
            }
        }}}});
        document_deprecated_properties(&mut document);
        let properties = &document["components"]["schemas"]["Request"]["properties"];
        assert_eq!(
            properties["max_tokens"]["description"],
            "Deprecated. The cap."
        );
        assert_eq!(properties["max_tokens"]["deprecated"], true);
        assert_eq!(properties["old"]["description"], "Deprecated.");
        assert_eq!(properties["said"]["description"], "DEPRECATED: use x.");
        assert_eq!(properties["kept"]["description"], "The cap.");
        assert_eq!(
            properties["nested"]["properties"]["gone"]["description"],
            "Deprecated. Gone."
        );
        // Applying it again changes nothing.
        let once = document.clone();
        document_deprecated_properties(&mut document);
        assert_eq!(document, once);
    }
}
