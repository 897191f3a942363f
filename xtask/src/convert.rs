//! Brings a page's document to the OpenAPI 3.0 form progenitor reads.
//!
//! Moonshot publishes OpenAPI 3.1.0 but uses nothing 3.1-only today. The forms of 3.1 that have
//! an exact 3.0 equivalent are rewritten; any other 3.1-only form is refused with the page and
//! the JSON pointer, rather than silently dropped by the parser.

use serde_json::{Map, Value, json};

use crate::Error;
use crate::pointer::join;

/// The version every merged document declares.
pub const TARGET_VERSION: &str = "3.0.3";

/// JSON Schema keywords of OpenAPI 3.1 that 3.0 has no exact form for.
const REFUSED_KEYWORDS: &[&str] = &[
    "$anchor",
    "$comment",
    "$defs",
    "$dynamicAnchor",
    "$dynamicRef",
    "$id",
    "$schema",
    "$vocabulary",
    "contains",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "dependentRequired",
    "dependentSchemas",
    "else",
    "if",
    "maxContains",
    "minContains",
    "patternProperties",
    "prefixItems",
    "propertyNames",
    "then",
    "unevaluatedItems",
    "unevaluatedProperties",
];

/// Checks the document's version and rewrites it to [`TARGET_VERSION`].
///
/// # Errors
/// [`Error::UnsupportedVersion`] for anything but 3.0.x and 3.1.x (Swagger 2.0 included), and
/// [`Error::Unsupported31`] for a 3.1-only form without an exact 3.0 equivalent.
pub fn to_openapi_30(page: &str, doc: &mut Value) -> Result<(), Error> {
    let unsupported = |found: &str| Error::UnsupportedVersion {
        page: page.to_owned(),
        found: found.to_owned(),
    };
    if let Some(swagger) = doc.get("swagger") {
        return Err(unsupported(&format!("swagger {}", scalar_text(swagger))));
    }
    let version = match doc.get("openapi") {
        Some(Value::String(v)) => v.clone(),
        Some(other) => return Err(unsupported(&scalar_text(other))),
        None => {
            return Err(Error::NotADocument {
                page: page.to_owned(),
                detail: "it has no `openapi` version field".to_owned(),
            });
        }
    };
    if version.starts_with("3.1.") {
        convert_31(page, doc)?;
    } else if !version.starts_with("3.0.") {
        return Err(unsupported(&version));
    }
    doc["openapi"] = json!(TARGET_VERSION);
    Ok(())
}

fn scalar_text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn convert_31(page: &str, doc: &mut Value) -> Result<(), Error> {
    let refuse = |pointer: &str, detail: &str| {
        Err(Error::Unsupported31 {
            page: page.to_owned(),
            pointer: pointer.to_owned(),
            detail: detail.to_owned(),
        })
    };
    if doc.get("jsonSchemaDialect").is_some() {
        return refuse("/jsonSchemaDialect", "`jsonSchemaDialect`");
    }
    if doc
        .get("webhooks")
        .is_some_and(|w| w.as_object().is_none_or(|m| !m.is_empty()))
    {
        return refuse("/webhooks", "`webhooks`");
    }
    if doc.pointer("/components/pathItems").is_some() {
        return refuse("/components/pathItems", "`components.pathItems`");
    }
    if doc.pointer("/info/summary").is_some() {
        return refuse("/info/summary", "`info.summary`");
    }
    if doc.pointer("/info/license/identifier").is_some() {
        return refuse("/info/license/identifier", "`license.identifier`");
    }
    convert_document(page, doc, "")
}

/// Walks the parts of the document that are not schemas, converting each schema found.
fn convert_document(page: &str, value: &mut Value, pointer: &str) -> Result<(), Error> {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let child_pointer = join(pointer, key);
                if key == "schema" {
                    convert_schema(page, child, &child_pointer)?;
                } else if pointer == "/components" && key == "schemas" {
                    for (name, schema) in child.as_object_mut().into_iter().flatten() {
                        convert_schema(page, schema, &join(&child_pointer, name))?;
                    }
                } else if key != "example" && key != "examples" && !key.starts_with("x-") {
                    convert_document(page, child, &child_pointer)?;
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                convert_document(page, child, &format!("{pointer}/{i}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn convert_schema(page: &str, schema: &mut Value, pointer: &str) -> Result<(), Error> {
    let refuse = |at: &str, detail: String| Error::Unsupported31 {
        page: page.to_owned(),
        pointer: at.to_owned(),
        detail,
    };
    let Value::Object(map) = schema else {
        return Err(refuse(pointer, "a boolean schema".to_owned()));
    };
    if let Some(keyword) = REFUSED_KEYWORDS.iter().find(|k| map.contains_key(**k)) {
        return Err(refuse(
            &join(pointer, keyword),
            format!("the `{keyword}` keyword"),
        ));
    }
    convert_type(map).map_err(|detail| refuse(&join(pointer, "type"), detail))?;
    if let Some(value) = map.remove("const") {
        if map.contains_key("enum") {
            return Err(refuse(
                &join(pointer, "const"),
                "`const` beside `enum`".to_owned(),
            ));
        }
        map.insert("enum".to_owned(), Value::Array(vec![value]));
    }
    if let Some(examples) = map.remove("examples") {
        let Value::Array(examples) = examples else {
            return Err(refuse(
                &join(pointer, "examples"),
                "`examples` that is not a list".to_owned(),
            ));
        };
        if let (Some(first), false) = (examples.into_iter().next(), map.contains_key("example")) {
            map.insert("example".to_owned(), first);
        }
    }
    for (exclusive, inclusive) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(bound @ Value::Number(_)) = map.get(exclusive).cloned() {
            if map.contains_key(inclusive) {
                return Err(refuse(
                    &join(pointer, exclusive),
                    format!("numeric `{exclusive}` beside `{inclusive}`"),
                ));
            }
            map.insert(inclusive.to_owned(), bound);
            map.insert(exclusive.to_owned(), Value::Bool(true));
        }
    }
    for (key, child) in map.iter_mut() {
        let child_pointer = join(pointer, key);
        match key.as_str() {
            "properties" => {
                for (name, property) in child.as_object_mut().into_iter().flatten() {
                    convert_schema(page, property, &join(&child_pointer, name))?;
                }
            }
            "allOf" | "anyOf" | "oneOf" => {
                for (i, member) in child.as_array_mut().into_iter().flatten().enumerate() {
                    convert_schema(page, member, &format!("{child_pointer}/{i}"))?;
                }
            }
            "items" | "not" => convert_schema(page, child, &child_pointer)?,
            "additionalProperties" if child.is_object() => {
                convert_schema(page, child, &child_pointer)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// `type: [T]` becomes `type: T`; `type: [T, "null"]` becomes `type: T` with `nullable: true`.
fn convert_type(map: &mut Map<String, Value>) -> Result<(), String> {
    match map.get("type") {
        Some(Value::String(t)) if t == "null" => Err("`type: null`".to_owned()),
        Some(Value::Array(types)) => {
            let nullable = types.iter().any(|t| t == "null");
            let others: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
            let [single] = others[..] else {
                return Err(format!("the type union {}", Value::Array(types.clone())));
            };
            let single = single.clone();
            map.insert("type".to_owned(), single);
            if nullable {
                map.insert("nullable".to_owned(), Value::Bool(true));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
