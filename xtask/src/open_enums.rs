//! Every string enum becomes a named component, which the generated crate opens.
//!
//! Moonshot adds values over time to what it sends (file statuses, finish reasons, roles, batch
//! statuses) and to what it accepts (model ids, upload purposes). progenitor turns an inline
//! string enum into a closed Rust enum that fails a whole response on a value unknown today, and
//! its `with_replacement` swaps only named component schemas. So this step gives every inline
//! string enum a component of its own, named as progenitor would name the type
//! (`FileObject.status` -> `FileObjectStatus`), and `moonshot-api`'s build script replaces every
//! string-enum component with an open enum: known values as variants, any other in `Other`.
//!
//! One kind of enum stays inline and closed: a single-value property that tags an alternative of
//! a `oneOf` or `anyOf` (`type: text` of a message part), since the tag is how the alternative
//! is told apart, and a value unknown there cannot decode into any alternative anyway.
//!
//! `null` in an enum is dropped (the component keeps `nullable`): an optional field is already
//! an `Option`, and `None` is what `null` means.
//!
//! Every string-enum component, named here or upstream, also gets its Rust variant names, written
//! as `x-enum-varnames` (one per string value, in order) by [`name_variants`]: the build script
//! reads them rather than deriving names of its own, so each name is decided in one place.

use serde_json::{Map, Value, json};

use crate::Error;
use crate::families::pascal_case;
use crate::ids::located_operations;
use crate::pointer::{escape, join};

const REF_PREFIX: &str = "#/components/schemas/";

/// The schema extension that holds a string enum's variant names, one per string value.
pub const VARIANT_NAMES: &str = "x-enum-varnames";

/// The variant that holds any value unknown today; no known value may take its name.
const OTHER: &str = "Other";

/// Moves every inline string enum of `document` into a named component.
///
/// # Errors
/// [`Error::EnumNotOpenable`] for an enum with a value that is not a string (or `null`), or a
/// derived name taken by another schema, naming the pointer.
pub fn name_enums(document: &mut Value) -> Result<(), Error> {
    let mut found: Vec<(String, String)> = Vec::new();
    for (name, schema) in document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let pointer = join("/components/schemas", name);
        check_values(schema, &pointer)?;
        walk_children(schema, &pointer, name, &mut found)?;
    }
    for located in located_operations(document) {
        let (operation, at) = (located.operation, &located.pointer);
        let id = pascal_case(&located.id);
        for (index, parameter) in operation
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
            let pointer = format!("{at}/parameters/{index}/schema");
            if let Some(schema) = parameter.get("schema") {
                visit(
                    schema,
                    &pointer,
                    &format!("{id}{}", pascal_case(name)),
                    &mut found,
                )?;
            }
        }
        for (media_type, media) in operation
            .pointer("/requestBody/content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let pointer = format!("{at}/requestBody/content/{}/schema", escape(media_type));
            if let Some(schema) = media.get("schema") {
                visit(schema, &pointer, &format!("{id}Body"), &mut found)?;
            }
        }
        for (status, response) in operation
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            for (media_type, media) in response
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let pointer = format!(
                    "{at}/responses/{status}/content/{}/schema",
                    escape(media_type)
                );
                if let Some(schema) = media.get("schema") {
                    visit(schema, &pointer, &format!("{id}Response"), &mut found)?;
                }
            }
        }
    }
    for (pointer, name) in found {
        let Some(schema) = document.pointer(&pointer).cloned() else {
            continue;
        };
        let component = without_null(schema);
        let schemas = document
            .as_object_mut()
            .and_then(|d| {
                d.entry("components")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            })
            .and_then(|c| {
                c.entry("schemas")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            })
            .ok_or_else(|| Error::EnumNotOpenable {
                pointer: pointer.clone(),
                detail: "the document's components are not a mapping".to_owned(),
            })?;
        match schemas.get(&name) {
            Some(existing) if *existing != component => {
                return Err(Error::EnumNotOpenable {
                    pointer,
                    detail: format!(
                        "its type name `{name}` is taken by another schema: give the enum a \
                         component of its own in openapi/overlay.yaml"
                    ),
                });
            }
            Some(_) => {}
            None => {
                schemas.insert(name.clone(), component);
            }
        }
        if let Some(slot) = document.pointer_mut(&pointer) {
            *slot = json!({ "$ref": format!("{REF_PREFIX}{name}") });
        }
    }
    Ok(())
}

/// Whether `schema` is a string enum (a `null` among the values aside).
pub fn is_string_enum(schema: &Value) -> bool {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|values| {
            values.iter().any(Value::is_string)
                && values.iter().all(|v| v.is_string() || v.is_null())
        })
}

/// Refuses an enum whose values are not strings: it cannot be opened.
fn check_values(schema: &Value, pointer: &str) -> Result<(), Error> {
    let Some(values) = schema.get("enum").and_then(Value::as_array) else {
        return Ok(());
    };
    if is_string_enum(schema) {
        return Ok(());
    }
    let odd = values
        .iter()
        .find(|v| !v.is_string() && !v.is_null())
        .map_or_else(|| "only null".to_owned(), Value::to_string);
    Err(Error::EnumNotOpenable {
        pointer: pointer.to_owned(),
        detail: format!(
            "the enum holds {odd}, not a string: only string enums can be opened; describe it \
             otherwise in openapi/overlay.yaml"
        ),
    })
}

fn without_null(mut schema: Value) -> Value {
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    schema
}

/// Looks at one schema met inline: a string enum is recorded for naming, anything else is
/// walked into.
fn visit(
    schema: &Value,
    pointer: &str,
    name: &str,
    found: &mut Vec<(String, String)>,
) -> Result<(), Error> {
    if schema.get("$ref").is_some() {
        return Ok(());
    }
    check_values(schema, pointer)?;
    if is_string_enum(schema) {
        found.push((pointer.to_owned(), name.to_owned()));
        return Ok(());
    }
    walk_children(schema, pointer, name, found)
}

/// Visits the schemas inside `schema`, naming them as progenitor names nested types.
fn walk_children(
    schema: &Value,
    pointer: &str,
    name: &str,
    found: &mut Vec<(String, String)>,
) -> Result<(), Error> {
    let Some(map) = schema.as_object() else {
        return Ok(());
    };
    if let Some(properties) = map.get("properties").and_then(Value::as_object) {
        for (property, child) in properties {
            let at = join(&join(pointer, "properties"), property);
            visit(
                child,
                &at,
                &format!("{name}{}", pascal_case(property)),
                found,
            )?;
        }
    }
    if let Some(items) = map.get("items") {
        visit(
            items,
            &join(pointer, "items"),
            &format!("{name}Item"),
            found,
        )?;
    }
    if let Some(values) = map.get("additionalProperties").filter(|v| v.is_object()) {
        let at = join(pointer, "additionalProperties");
        visit(values, &at, &format!("{name}Value"), found)?;
    }
    for keyword in ["oneOf", "anyOf", "allOf"] {
        for (index, alternative) in map
            .get(keyword)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{pointer}/{keyword}/{index}");
            let variant = alternative
                .get("title")
                .and_then(Value::as_str)
                .map_or_else(|| format!("Variant{index}"), pascal_case);
            let child_name = format!("{name}{variant}");
            if keyword == "allOf" {
                walk_children(alternative, &at, name, found)?;
            } else {
                walk_alternative(alternative, &at, &child_name, found)?;
            }
        }
    }
    Ok(())
}

/// Visits an alternative of a `oneOf`/`anyOf`, leaving its tag properties inline.
fn walk_alternative(
    schema: &Value,
    pointer: &str,
    name: &str,
    found: &mut Vec<(String, String)>,
) -> Result<(), Error> {
    let tags: Vec<&str> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(property, child)| is_tag(schema, property, child))
        .map(|(property, _)| property.as_str())
        .collect();
    if tags.is_empty() {
        return visit(schema, pointer, name, found);
    }
    let mut rest = schema.clone();
    if let Some(Value::Object(properties)) = rest.get_mut("properties") {
        for tag in &tags {
            properties.remove(*tag);
        }
    }
    let before = found.len();
    visit(&rest, pointer, name, found)?;
    // Pointers found in the copy hold for the original: only tag properties were removed.
    debug_assert!(found[before..].iter().all(|(p, _)| p.starts_with(pointer)));
    Ok(())
}

/// Whether `property` tags its object: a required single-value string enum.
fn is_tag(object: &Value, property: &str, schema: &Value) -> bool {
    let single = schema
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|v| v.len() == 1 && v[0].is_string());
    let required = object
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|n| n.as_str() == Some(property)));
    single && required
}

/// Every string-enum component of `document`: what the generated crate opens.
pub fn open_enum_names(document: &Value) -> Vec<String> {
    document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(Map::iter)
        .into_iter()
        .flatten()
        .filter(|(_, schema)| is_string_enum(schema))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Writes on every string-enum component its variant names ([`VARIANT_NAMES`]), one per string
/// value in order, replacing any already there, so a shaped document is left as it is.
pub fn name_variants(document: &mut Value) {
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for schema in schemas.values_mut() {
        if !is_string_enum(schema) {
            continue;
        }
        let values: Vec<&str> = schema
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let names = variant_names(&values);
        if let Some(object) = schema.as_object_mut() {
            object.insert(VARIANT_NAMES.to_owned(), json!(names));
        }
    }
}

/// The Rust variant of each value, as progenitor names variants (`file-extract` ->
/// `FileExtract`, `kimi-k2.6` -> `KimiK26`, `2024` -> `V2024`); a name already taken, or
/// [`OTHER`], gets a `_` more.
fn variant_names(values: &[&str]) -> Vec<String> {
    let mut taken = vec![OTHER.to_owned()];
    let mut names = Vec::with_capacity(values.len());
    for value in values {
        let name = pascal_case(value);
        let mut variant = match name.chars().next() {
            None => "Empty".to_owned(),
            Some(c) if c.is_ascii_digit() => format!("V{name}"),
            Some(_) => name,
        };
        while taken.contains(&variant) {
            variant.push('_');
        }
        taken.push(variant.clone());
        names.push(variant);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_enum_component_carries_its_variant_names() {
        let mut document = json!({
            "components": {"schemas": {
                "Purpose": {"type": "string", "enum": ["file-extract", "batch"]},
                "Model": {"type": "string", "enum": ["kimi-k2.6", "kimi_k2_6", "2024", "other", "-"]},
                "Name": {"type": "string"},
                "File": {"type": "object", "properties": {
                    "status": {"type": "string", "enum": ["ok", "error", null]}
                }}
            }},
            "paths": {}
        });
        name_enums(&mut document).expect("string enums only");
        name_variants(&mut document);
        let names = |schema: &str| document["components"]["schemas"][schema][VARIANT_NAMES].clone();
        assert_eq!(names("Purpose"), json!(["FileExtract", "Batch"]));
        assert_eq!(
            names("Model"),
            json!(["KimiK26", "KimiK26_", "V2024", "Other_", "Empty"])
        );
        assert_eq!(names("FileStatus"), json!(["Ok", "Error"]));
        assert_eq!(names("Name"), Value::Null);
        let shaped = document.clone();
        name_variants(&mut document);
        assert_eq!(document, shaped, "naming again changes nothing");
    }
}
