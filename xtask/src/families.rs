//! Request bodies split into model families become one request type.
//!
//! Upstream documents a request body that differs by model as a `oneOf` of families with a
//! `discriminator`, each family a component built of `allOf` parts
//! (`oneOf: [KimiK3ChatRequest, KimiK26ChatRequest, ...]`). The families need not share a base:
//! one may build on a part that holds the common fields (`ChatRequestCommon`) and bring its own
//! `messages`, the others on a part that repeats those fields and adds `messages`
//! (`ChatRequestBase`). Generated as written, that is an untagged enum of structs with closed
//! lists of model ids and a copy of the common fields in each: a model launched tomorrow cannot
//! be named. This step rewrites such a body into one object, named `<OperationId>Request`:
//!
//! - each family's fields are collected through its parts, in order, following `$ref`s and
//!   nested `allOf`s (a later part's field replacing an earlier one's), and what each requires;
//! - a field the same in every family (wherever it comes from) is kept as it is;
//! - the discriminator (`model`) becomes one string whose values are every family's (opened
//!   later like every enum, so any id is accepted); each family's ids, from its enum and the
//!   discriminator's `mapping`, are kept by family title in `x-model-families`;
//! - any other field is typed once, merged across the families that have it: enum values
//!   united, numeric ranges widened, object properties united, array items united (where one
//!   family's items are a `oneOf` that has the other's among its alternatives, that `oneOf`;
//!   else a `oneOf` of both); its description says which families document it, with the text
//!   of each group of families that say the same;
//! - a field every family requires is required; one only some require is optional, with those
//!   families listed in `x-required-by-families`, so the diff still sees a family start
//!   requiring it;
//! - a field keeps a `default` only when every family has the field with that default;
//!   otherwise each family's default is kept apart, in `x-server-default` by family title (the
//!   request defaults step then makes every request default documentation, never sent).
//!
//! Fields that cannot be merged by any rule (another type, another format) are an
//! [`Error::FamilyConflict`] naming both families, the field and the pointer. Everything stays
//! derived from the pages, so a change to a family's schema still changes the merged document
//! and shows in `cargo xtask diff`. The family components and the parts they were built of
//! disappear when nothing else refers to them.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::Error;
use crate::ids::located_operations;
use crate::pointer::{escape, join};

const REF_PREFIX: &str = "#/components/schemas/";

/// The model families that require a field the others do not.
pub const REQUIRED_BY: &str = "x-required-by-families";

/// Where a default the server applies is kept, as documentation that no generated type sends.
pub const SERVER_DEFAULT: &str = "x-server-default";

/// The documented model ids of each family, by title, in the merged request: what the facade's
/// table of families is generated from.
pub const MODEL_FAMILIES: &str = "x-model-families";

/// One family of the `oneOf`: its title, every field it takes (from each part of its `allOf`,
/// a later part's field replacing an earlier one's) and the ids the discriminator names it by.
struct Family {
    title: String,
    fields: Map<String, Value>,
    required: BTreeSet<String>,
    ids: Vec<String>,
}

/// How deep `allOf` parts may refer to further parts before the document is taken as cyclic.
const MAX_DEPTH: usize = 16;

/// Rewrites every request body that is a discriminated `oneOf` of model families into one named
/// object schema.
///
/// # Errors
/// [`Error::FamilyConflict`] when two families give one field schemas that cannot be merged
/// (another type, another format), naming both families, the field and the pointer.
pub fn flatten_families(document: &mut Value) -> Result<(), Error> {
    let mut found = Vec::new();
    for located in located_operations(document) {
        for (media_type, media) in located
            .operation
            .pointer("/requestBody/content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if media.get("schema").is_some_and(is_family_union) {
                let pointer = format!(
                    "{}/requestBody/content/{}/schema",
                    located.pointer,
                    escape(media_type)
                );
                found.push((pointer, located.id.clone()));
            }
        }
    }
    for (pointer, id) in found {
        let union = document.pointer(&pointer).cloned().unwrap_or(Value::Null);
        let name = format!("{}Request", pascal_case(&id));
        let (flat, parts) = flatten(document, &union, &pointer)?;
        let schemas = components_mut(document);
        if schemas.contains_key(&name) {
            return Err(Error::FamilyConflict {
                pointer,
                detail: format!("a component named `{name}` exists already"),
            });
        }
        schemas.insert(name.clone(), flat);
        if let Some(slot) = document.pointer_mut(&pointer) {
            *slot = json!({ "$ref": format!("{REF_PREFIX}{name}") });
        }
        remove_unreferenced(document, parts);
    }
    Ok(())
}

/// Whether `schema` is a `oneOf` with a discriminator whose every alternative is a reference.
fn is_family_union(schema: &Value) -> bool {
    let alternatives = schema.get("oneOf").and_then(Value::as_array);
    schema.pointer("/discriminator/propertyName").is_some()
        && alternatives.is_some_and(|a| {
            !a.is_empty()
                && a.iter()
                    .all(|s| s.get("$ref").and_then(Value::as_str).is_some())
        })
}

/// The component a `$ref` names.
fn referenced<'d>(document: &'d Value, schema: &Value) -> Option<(&'d str, &'d Value)> {
    let name = schema.get("$ref")?.as_str()?.strip_prefix(REF_PREFIX)?;
    let (key, value) = document
        .pointer("/components/schemas")?
        .as_object()?
        .get_key_value(name)?;
    Some((key.as_str(), value))
}

/// Every field a family's schema takes, following `$ref`s and `allOf` parts in order (a later
/// part's field replaces an earlier one's: a family may bring its own `messages`); the
/// components it went through are added to `parts`.
fn collect_fields(
    document: &Value,
    schema: &Value,
    fields: &mut Map<String, Value>,
    required: &mut BTreeSet<String>,
    parts: &mut Vec<String>,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("its `allOf` parts refer to each other in a cycle".to_owned());
    }
    if let Some(target) = schema.get("$ref") {
        let (name, component) = referenced(document, schema)
            .ok_or_else(|| format!("{target} names no component schema"))?;
        parts.push(name.to_owned());
        return collect_fields(document, component, fields, required, parts, depth + 1);
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect_fields(document, part, fields, required, parts, depth + 1)?;
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (field, property) in properties {
            fields.insert(field.clone(), property.clone());
        }
    }
    required.extend(names(schema.get("required")));
    Ok(())
}

fn flatten(document: &Value, union: &Value, pointer: &str) -> Result<(Value, Vec<String>), Error> {
    let discriminator = union
        .pointer("/discriminator/propertyName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let unsupported = |detail: String| Error::FamilyConflict {
        pointer: pointer.to_owned(),
        detail,
    };
    let mapping = union
        .pointer("/discriminator/mapping")
        .and_then(Value::as_object);
    let mut parts = Vec::new();
    let mut families = Vec::new();
    for alternative in union
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (name, family) = referenced(document, alternative)
            .ok_or_else(|| unsupported(format!("{alternative} names no component schema")))?;
        parts.push(name.to_owned());
        let mut fields = Map::new();
        let mut required = BTreeSet::new();
        collect_fields(document, family, &mut fields, &mut required, &mut parts, 0)
            .map_err(|e| unsupported(format!("family `{name}`: {e}")))?;
        let mut ids: Vec<String> = fields
            .get(&discriminator)
            .and_then(|f| f.get("enum"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let reference = format!("{REF_PREFIX}{name}");
        for (id, target) in mapping.into_iter().flatten() {
            if target.as_str() == Some(reference.as_str()) && !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        families.push(Family {
            title: family
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_owned(),
            fields,
            required,
            ids,
        });
    }
    if families.is_empty() {
        return Err(unsupported("no family".to_owned()));
    }
    let mut properties = Map::new();
    let mut required = BTreeSet::new();
    let mut field_names: Vec<&String> = families.iter().flat_map(|f| f.fields.keys()).collect();
    field_names.sort();
    field_names.dedup();
    for field in field_names {
        let having: Vec<&Family> = families
            .iter()
            .filter(|f| f.fields.contains_key(field))
            .collect();
        let requiring: Vec<Value> = families
            .iter()
            .filter(|f| f.required.contains(field))
            .map(|f| Value::String(f.title.clone()))
            .collect();
        if requiring.len() == families.len() {
            required.insert(field.clone());
        }
        let first = &having[0].fields[field];
        if having.len() == families.len()
            && *field != discriminator
            && having.iter().all(|f| f.fields[field] == *first)
        {
            // The same in every family (a shared base's field): as it is.
            properties.insert(field.clone(), first.clone());
            continue;
        }
        let field_pointer = join(&join(pointer, "properties"), field);
        let mut merged = first.clone();
        for (index, family) in having.iter().enumerate().skip(1) {
            merged = merge_schemas(document, &merged, &family.fields[field], &field_pointer)
                .map_err(|e| name_families(e, &having[..index], family))?;
        }
        server_defaults(&mut merged, field, &having, families.len());
        if *field == discriminator {
            describe_discriminator(&mut merged, &having);
        } else {
            describe(&mut merged, field, &having, families.len());
        }
        if !requiring.is_empty() && requiring.len() < families.len() {
            // Required by some families only: an `Option` here, and the fact kept for the diff.
            if let Some(map) = merged.as_object_mut() {
                map.insert(REQUIRED_BY.to_owned(), Value::Array(requiring));
            }
        }
        properties.insert(field.clone(), merged);
    }
    let titles: Vec<&str> = families.iter().map(|f| f.title.as_str()).collect();
    let by_family: Map<String, Value> = families
        .iter()
        .map(|f| (f.title.clone(), json!(f.ids)))
        .collect();
    let mut flat = Map::new();
    flat.insert("type".to_owned(), json!("object"));
    flat.insert(
        "description".to_owned(),
        Value::String(format!(
            "The request of every model family ({}) in one type: the fields all families share, \
             and each family's own fields, sent only when set.",
            titles.join(", ")
        )),
    );
    flat.insert("properties".to_owned(), Value::Object(properties));
    flat.insert(
        "required".to_owned(),
        Value::Array(required.into_iter().map(Value::String).collect()),
    );
    flat.insert(MODEL_FAMILIES.to_owned(), Value::Object(by_family));
    Ok((Value::Object(flat), parts))
}

/// Says which families a merge conflict is between.
fn name_families(error: Error, before: &[&Family], family: &Family) -> Error {
    match error {
        Error::FamilyConflict { pointer, detail } => {
            let others: Vec<String> = before.iter().map(|f| format!("`{}`", f.title)).collect();
            Error::FamilyConflict {
                pointer,
                detail: format!(
                    "family `{}` and family {} disagree: {detail}",
                    family.title,
                    others.join(", ")
                ),
            }
        }
        other => other,
    }
}

/// The names in a `required` array.
fn names(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Merges two families' schemas of one field into one that accepts what either does.
fn merge_schemas(document: &Value, a: &Value, b: &Value, pointer: &str) -> Result<Value, Error> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return Ok(a.clone());
    };
    let mut out = a.clone();
    let mut keys: BTreeSet<&String> = a.keys().collect();
    keys.extend(b.keys());
    for key in keys {
        let (x, y) = (a.get(key), b.get(key));
        if x == y {
            continue;
        }
        let conflict = || Error::FamilyConflict {
            pointer: join(pointer, key),
            detail: format!(
                "the families give `{key}` as {} and {}: merge them in openapi/overlay.yaml",
                x.map_or("nothing".to_owned(), Value::to_string),
                y.map_or("nothing".to_owned(), Value::to_string)
            ),
        };
        let merged = match (key.as_str(), x, y) {
            // Documentation and defaults are rewritten by the caller.
            ("description" | "default" | "title" | "example", _, _) => continue,
            ("enum", Some(Value::Array(x)), Some(Value::Array(y))) => {
                let mut values = x.clone();
                values.extend(y.iter().filter(|v| !x.contains(v)).cloned());
                Value::Array(values)
            }
            ("minimum", Some(x), Some(y)) => pick(x, y, f64::min),
            ("maximum", Some(x), Some(y)) => pick(x, y, f64::max),
            // A bound only one family sets does not bind the others.
            ("minimum" | "maximum", _, _) => {
                out.remove(key);
                continue;
            }
            ("properties", Some(Value::Object(x)), Some(Value::Object(y))) => {
                let mut properties = x.clone();
                for (name, schema) in y {
                    let merged = match x.get(name) {
                        Some(existing) => merge_schemas(
                            document,
                            existing,
                            schema,
                            &join(&join(pointer, key), name),
                        )?,
                        None => schema.clone(),
                    };
                    properties.insert(name.clone(), merged);
                }
                Value::Object(properties)
            }
            ("items", Some(x), Some(y)) => merge_items(document, x, y, &join(pointer, key))?,
            ("required", _, _) => {
                let both: Vec<Value> = names(x)
                    .intersection(&names(y))
                    .cloned()
                    .map(Value::String)
                    .collect();
                Value::Array(both)
            }
            _ => return Err(conflict()),
        };
        out.insert(key.clone(), merged);
    }
    Ok(Value::Object(out))
}

/// The items of two families' arrays: what either takes. Where one names a `oneOf` that has the
/// other among its alternatives (a family whose messages are a standard message or one of its
/// own), that one; else a `oneOf` of both.
fn merge_items(document: &Value, x: &Value, y: &Value, pointer: &str) -> Result<Value, Error> {
    let has_alternative = |union: &Value, alternative: &Value| {
        let Some(target) = alternative.get("$ref") else {
            return false;
        };
        referenced(document, union)
            .and_then(|(_, schema)| schema.get("oneOf"))
            .and_then(Value::as_array)
            .is_some_and(|alternatives| alternatives.iter().any(|a| a.get("$ref") == Some(target)))
    };
    if has_alternative(y, x) {
        Ok(y.clone())
    } else if has_alternative(x, y) {
        Ok(x.clone())
    } else if x.get("$ref").is_none() && y.get("$ref").is_none() {
        merge_schemas(document, x, y, pointer)
    } else {
        Ok(json!({ "oneOf": [x, y] }))
    }
}

/// The lower or higher of two numeric bounds.
fn pick(x: &Value, y: &Value, choose: fn(f64, f64) -> f64) -> Value {
    match (x.as_f64(), y.as_f64()) {
        (Some(a), Some(b)) if choose(a, b) == b => y.clone(),
        _ => x.clone(),
    }
}

/// Keeps a field's `default` when all families share it; else each family's, by title, in
/// `x-server-default`, so no generated type bakes one family's default in for all.
fn server_defaults(schema: &mut Value, field: &str, having: &[&Family], total: usize) {
    let defaults: Vec<Option<&Value>> = having
        .iter()
        .map(|f| f.fields[field].get("default"))
        .collect();
    if having.len() == total && defaults.iter().all(|d| *d == defaults[0]) {
        return;
    }
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    map.remove("default");
    let by_family: Map<String, Value> = having
        .iter()
        .zip(defaults)
        .filter_map(|(f, d)| Some((f.title.clone(), d?.clone())))
        .collect();
    if !by_family.is_empty() {
        map.insert(SERVER_DEFAULT.to_owned(), Value::Object(by_family));
    }
}

/// Says which families document a field, with the text of each group of families that say the
/// same.
fn describe(schema: &mut Value, field: &str, having: &[&Family], total: usize) {
    let titles: Vec<&str> = having.iter().map(|f| f.title.as_str()).collect();
    let scope = if having.len() == total {
        "Every model family documents it".to_owned()
    } else {
        format!(
            "Documented for the {} model famil{} only",
            titles.join(", "),
            if titles.len() == 1 { "y" } else { "ies" }
        )
    };
    let mut groups: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
    for family in having {
        let text = family.fields[field]
            .get("description")
            .and_then(Value::as_str);
        match groups.iter_mut().find(|(t, _)| *t == text) {
            Some((_, members)) => members.push(&family.title),
            None => groups.push((text, vec![&family.title])),
        }
    }
    let body = match groups.as_slice() {
        [(text, _)] => text.unwrap_or_default().to_owned(),
        _ => groups
            .iter()
            .map(|(t, members)| {
                format!(
                    "- {}: {}",
                    members.join(", "),
                    t.unwrap_or("(no description)")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    };
    let text = format!("{scope}; sent only when set.\n\n{body}");
    if let Some(map) = schema.as_object_mut() {
        map.insert(
            "description".to_owned(),
            Value::String(text.trim().to_owned()),
        );
    }
}

/// Lists each family's documented model ids.
fn describe_discriminator(schema: &mut Value, having: &[&Family]) {
    let lines: Vec<String> = having
        .iter()
        .map(|f| {
            let values: Vec<String> = f.ids.iter().map(|v| format!("`{v}`")).collect();
            format!("- {}: {}", f.title, values.join(", "))
        })
        .collect();
    let text = format!(
        "Model ID. Any id is accepted, so a model launched after this client was generated can \
         be named; the documented ids, by family:\n\n{}",
        lines.join("\n")
    );
    if let Some(map) = schema.as_object_mut() {
        map.insert("description".to_owned(), Value::String(text));
    }
}

fn components_mut(document: &mut Value) -> &mut Map<String, Value> {
    let root = document
        .as_object_mut()
        .expect("an OpenAPI document is an object");
    let components = root
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("components is an object");
    components
        .entry("schemas")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("components/schemas is an object")
}

/// Removes the family components and the parts they were built of where no `$ref` is left,
/// until none more can go (a part may be referred to only by another part).
fn remove_unreferenced(document: &mut Value, mut candidates: Vec<String>) {
    candidates.sort();
    candidates.dedup();
    loop {
        let before = candidates.len();
        candidates.retain(|name| {
            let target = format!("{REF_PREFIX}{name}");
            let mut rest = document.clone();
            components_mut(&mut rest).remove(name);
            if refers_to(&rest, &target) {
                return true;
            }
            components_mut(document).remove(name);
            false
        });
        if candidates.len() == before {
            break;
        }
    }
}

fn refers_to(value: &Value, target: &str) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| (k == "$ref" && v.as_str() == Some(target)) || refers_to(v, target)),
        Value::Array(items) => items.iter().any(|v| refers_to(v, target)),
        _ => false,
    }
}

/// `create_chat_completion` -> `CreateChatCompletion`, as progenitor names an operation's types.
pub fn pascal_case(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}
