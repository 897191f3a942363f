//! Checks on a document's `$ref`s, so that what `gen` writes the generated crate can build on
//! and `diff` can compare: each points at something in the same document, and no chain of them
//! describes a type that holds itself by value.

use std::collections::HashMap;

use serde_json::Value;

use crate::Error;
use crate::pointer::join;

/// Fails on the first `$ref` of `document` that is empty, leads outside the document or points
/// at nothing there, then on the first chain of references that makes a type contain itself by
/// value. A chain is fine when it passes through an array (`items`), a map
/// (`additionalProperties`) or a property that is not required: a recursive type, boxed or
/// empty at its leaves. `shown` names the document in errors.
///
/// # Errors
/// [`Error::NonLocalReference`], [`Error::DanglingReference`] or [`Error::InfinitelySizedType`],
/// each naming `shown` and the JSON pointer of the `$ref`.
pub fn check_references(shown: &str, document: &Value) -> Result<(), Error> {
    let mut references = Vec::new();
    collect_references(document, "", &mut references);
    for (pointer, reference) in &references {
        let Some(target) = reference.strip_prefix('#') else {
            return Err(Error::NonLocalReference {
                document: shown.to_owned(),
                pointer: pointer.clone(),
                reference: reference.clone(),
            });
        };
        if document.pointer(target).is_none() {
            return Err(Error::DanglingReference {
                document: shown.to_owned(),
                pointer: pointer.clone(),
                reference: reference.clone(),
            });
        }
    }
    check_containment(shown, document, &references)
}

/// Every string `$ref` under `value` (at `pointer`), with the pointer of the `$ref` itself.
fn collect_references(value: &Value, pointer: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push((join(pointer, "$ref"), reference.clone()));
            }
            for (key, child) in map {
                collect_references(child, &join(pointer, key), out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                collect_references(child, &join(pointer, &index.to_string()), out);
            }
        }
        _ => {}
    }
}

/// The references a value of `schema` holds by value: through `$ref`, `allOf`, `oneOf`, `anyOf`
/// and required properties, but not through arrays, maps or optional properties.
fn held_by_value(schema: &Value, pointer: &str, out: &mut Vec<(String, String)>) {
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::String(reference)) = map.get("$ref") {
        out.push((join(pointer, "$ref"), reference.clone()));
        return;
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = map.get(key) {
            let at = join(pointer, key);
            for (index, member) in members.iter().enumerate() {
                held_by_value(member, &join(&at, &index.to_string()), out);
            }
        }
    }
    if let (Some(Value::Object(properties)), Some(Value::Array(required))) =
        (map.get("properties"), map.get("required"))
    {
        let at = join(pointer, "properties");
        for name in required.iter().filter_map(Value::as_str) {
            if let Some(property) = properties.get(name) {
                held_by_value(property, &join(&at, name), out);
            }
        }
    }
}

/// Fails on the first cycle of [`held_by_value`] edges between reference targets, found by a
/// depth-first search that visits each target once.
fn check_containment(
    shown: &str,
    document: &Value,
    references: &[(String, String)],
) -> Result<(), Error> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Visit {
        Open,
        Done,
    }
    let target = |reference: &str| {
        reference
            .strip_prefix('#')
            .and_then(|p| document.pointer(p))
    };
    let edges_of = |reference: &str| {
        let mut edges = Vec::new();
        if let Some(schema) = target(reference) {
            held_by_value(schema, &reference[1..], &mut edges);
        }
        edges
    };
    let mut visits: HashMap<String, Visit> = HashMap::new();
    for (_, start) in references {
        if visits.contains_key(start) {
            continue;
        }
        // Each frame: a target on the current path and its edges not yet followed.
        let mut path: Vec<(String, std::vec::IntoIter<(String, String)>)> =
            vec![(start.clone(), edges_of(start).into_iter())];
        visits.insert(start.clone(), Visit::Open);
        while let Some((_, edges)) = path.last_mut() {
            let Some((site, next)) = edges.next() else {
                let (done, _) = path.pop().expect("a frame");
                visits.insert(done, Visit::Done);
                continue;
            };
            match visits.get(&next) {
                Some(Visit::Done) => {}
                Some(Visit::Open) => {
                    let from = path.iter().position(|(r, _)| *r == next).unwrap_or(0);
                    let mut cycle: Vec<&str> = path[from..].iter().map(|(r, _)| name(r)).collect();
                    cycle.push(name(&next));
                    return Err(Error::InfinitelySizedType {
                        document: shown.to_owned(),
                        pointer: site,
                        cycle: cycle.join(" -> "),
                    });
                }
                None => {
                    visits.insert(next.clone(), Visit::Open);
                    let edges = edges_of(&next).into_iter();
                    path.push((next, edges));
                }
            }
        }
    }
    Ok(())
}

/// A reference's last segment (`ErrorResponse` of `#/components/schemas/ErrorResponse`).
fn name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schemas(schemas: Value) -> Value {
        json!({"openapi": "3.0.3", "paths": {}, "components": {"schemas": schemas}})
    }

    fn refer(name: &str) -> Value {
        json!({"$ref": format!("#/components/schemas/{name}")})
    }

    #[test]
    fn empty_external_and_missing_references_are_refused_at_their_pointer() {
        for (reference, expected) in [
            ("", "is ``, not a reference within the document"),
            (
                "other.yaml#/A",
                "is `other.yaml#/A`, not a reference within",
            ),
            ("#/components/schemas/Missing", "which points at nothing"),
        ] {
            let document = schemas(json!({"A": {"type": "array", "items": {"$ref": reference}}}));
            let error = check_references("p.md", &document).expect_err(reference);
            let message = error.to_string();
            assert!(
                message.starts_with("p.md: /components/schemas/A/items/$ref is"),
                "{message}"
            );
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn a_type_that_holds_itself_by_value_is_refused() {
        let cases = [
            (json!({"A": refer("A")}), "A -> A"),
            (json!({"A": refer("B"), "B": refer("A")}), "B -> A -> B"),
            (
                json!({"A": {"type": "object", "required": ["b"], "properties": {"b": refer("B")}},
                       "B": {"allOf": [refer("A")]}}),
                "B -> A -> B",
            ),
        ];
        for (components, cycle) in cases {
            match check_references("p.md", &schemas(components)) {
                Err(Error::InfinitelySizedType { cycle: found, .. }) => assert_eq!(found, cycle),
                other => panic!("{cycle}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_recursive_type_through_an_array_map_or_optional_property_is_fine() {
        for components in [
            json!({"A": {"type": "array", "items": refer("A")}}),
            json!({"A": {"type": "object", "additionalProperties": refer("A")}}),
            json!({"A": {"type": "object", "properties": {"next": refer("A")}}}),
            json!({"A": {"type": "object", "required": ["b"], "properties": {"b": refer("B")}},
                   "B": {"type": "object", "properties": {"a": refer("A")}}}),
        ] {
            check_references("p.md", &schemas(components.clone()))
                .unwrap_or_else(|e| panic!("{components}: {e}"));
        }
    }

    #[test]
    fn the_cycle_error_names_the_reference_that_closes_it() {
        let document = schemas(json!({"A": {"oneOf": [{"type": "string"}, refer("A")]}}));
        let error = check_references("p.md", &document).expect_err("cycle");
        assert!(
            error
                .to_string()
                .starts_with("p.md: /components/schemas/A/oneOf/1/$ref: "),
            "{error}"
        );
    }
}
