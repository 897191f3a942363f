//! Compares two schemas as the Rust types progenitor generates from them: a named component is
//! a type of that name, an object a struct whose fields are `Option<T>` unless required and not
//! nullable, a string enum a closed enum, a constrained string a validating newtype.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Level;
use super::differ::Differ;
use super::navigate::{entries, ref_name, residual, resolve, show};
use crate::pointer::join;

/// Which way a value travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// Sent by the client: a method argument.
    Request,
    /// Decoded by the client: a return or error type.
    Response,
}

/// What the root schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Root {
    /// A parameter: one argument of the method.
    Parameter,
    /// A request or response body.
    Body,
}

/// Where a schema sits, which decides the names and levels of its changes.
#[derive(Debug, Clone)]
pub(super) struct Site {
    /// Which way the value travels.
    pub(super) direction: Direction,
    /// What the root schema describes.
    pub(super) root: Root,
    /// Below the root, in a property.
    pub(super) nested: bool,
    /// Where it is, through `$ref`s as if inlined.
    pub(super) pointer: String,
    /// How messages name it: "parameter `file_id`", "property `error.code`".
    pub(super) subject: String,
    /// The dotted property path below the root, empty at the root.
    pub(super) field: String,
    /// Whether it is required, old and new; with nullability this decides whether its Rust type
    /// is an `Option`.
    pub(super) required: (bool, bool),
    /// The highest level a change here can have: `info` for bodies handled as bytes.
    pub(super) cap: Level,
}

impl Site {
    fn prefix(&self) -> &'static str {
        match (self.direction, self.nested, self.root) {
            (Direction::Request, true, _) => "request-property",
            (Direction::Request, false, Root::Parameter) => "request-parameter",
            (Direction::Request, false, Root::Body) => "request-body",
            (Direction::Response, true, _) => "response-property",
            (Direction::Response, false, _) => "response-body",
        }
    }

    fn direction(&self) -> &'static str {
        match self.direction {
            Direction::Request => "request",
            Direction::Response => "response",
        }
    }
}

/// How deep a comparison goes before it stops; recursive schemas stop earlier, at their first
/// repeated pair of references.
const MAX_DEPTH: usize = 32;

/// The keywords compared below; any other that differs is a `schema-keyword-changed`, unless
/// it changed the shape. The variant names `cargo xtask gen` writes follow the enum's values,
/// whose changes are reported as such.
const HANDLED: &[&str] = &[
    "$ref",
    "type",
    "enum",
    crate::open_enums::VARIANT_NAMES,
    "nullable",
    "description",
    "title",
    "example",
    "examples",
    "properties",
    "required",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
];

/// String formats that typify turns into another Rust type than `String`.
const STRING_FORMATS: &[&str] = &["date", "date-time", "uuid", "ip", "ipv4", "ipv6"];

/// Number formats that pick the Rust type (`int32` is `i32`, `float` is `f32`).
const NUMBER_FORMATS: &[&str] = &[
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float",
];

/// Integer bounds, from which typify picks the integer type (`minimum: 1` is a `NonZero`).
const INTEGER_BOUNDS: &[&str] = &["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];

/// What Rust type a schema becomes, roughly: two schemas with different shapes give different
/// types. Properties, items and members are compared on their own.
pub(super) fn shape(schema: &Value) -> String {
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = schema.get(key) {
            return format!("{key} of {}", members.len());
        }
    }
    let has = |key: &str| schema.get(key).is_some();
    let format = schema.get("format").and_then(Value::as_str);
    let default_kind = if has("properties") { "object" } else { "any" };
    let kind = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or(default_kind);
    let mut traits: Vec<String> = Vec::new();
    if has("enum") {
        traits.push("enum".to_owned());
    }
    match kind {
        "string" => {
            traits.extend(
                format
                    .filter(|f| STRING_FORMATS.contains(f))
                    .map(str::to_owned),
            );
            let constraints: Vec<&str> = ["pattern", "minLength", "maxLength"]
                .into_iter()
                .filter(|k| has(k))
                .collect();
            if !constraints.is_empty() {
                traits.push(format!("constrained by {}", constraints.join(", ")));
            }
        }
        "integer" | "number" => {
            traits.extend(
                format
                    .filter(|f| NUMBER_FORMATS.contains(f))
                    .map(str::to_owned),
            );
            if kind == "integer" {
                let bounds = INTEGER_BOUNDS
                    .iter()
                    .filter_map(|k| Some(format!("{k} {}", schema.get(*k)?)));
                traits.extend(bounds);
            }
        }
        "object" if entries(schema.get("properties")).is_empty() => {
            let map = schema
                .get("additionalProperties")
                .is_some_and(|a| a.is_object() || a == &Value::Bool(true));
            return if map { "map" } else { "free-form object" }.to_owned();
        }
        _ => {}
    }
    if traits.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} ({})", traits.join(", "))
    }
}

fn nullable(schema: &Value) -> bool {
    schema.get("nullable") == Some(&Value::Bool(true))
}

fn required_names(schema: &Value) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether a value is an `Option` in Rust. A nullable one is; a struct field that is not
/// required is too, unless it has a natural empty value (a `Vec` or a map) or a `default`,
/// which typify gives it through serde instead.
fn optional(required: bool, schema: &Value, field: bool) -> bool {
    let defaulted = schema.get("default").is_some()
        || schema.get("type").and_then(Value::as_str) == Some("array")
        || shape(schema) == "map";
    let keeps_its_type = required || (field && defaulted);
    nullable(schema) || !keeps_its_type
}

impl Differ<'_> {
    fn emit(&mut self, site: &Site, rule: &str, level: Level, location: &str, message: String) {
        self.at(location).cap(site.cap).record(level, rule, message);
    }

    /// Compares two schemas at `site`; `stack` holds the pairs of references being compared,
    /// which stops recursive schemas.
    pub(super) fn schema(
        &mut self,
        old: &Value,
        new: &Value,
        site: &Site,
        stack: &mut Vec<(Option<String>, Option<String>)>,
    ) {
        let (before, old_ref) = resolve(self.old, old);
        let (after, new_ref) = resolve(self.new, new);
        let names = (old_ref.map(ref_name), new_ref.map(ref_name));
        let referenced = names.0.is_some() || names.1.is_some();
        if stack.len() >= MAX_DEPTH || (referenced && stack.contains(&names)) {
            return;
        }
        stack.push(names.clone());
        self.resolved_schema(before, after, &names, site, stack);
        stack.pop();
    }

    fn resolved_schema(
        &mut self,
        old: &Value,
        new: &Value,
        names: &(Option<String>, Option<String>),
        site: &Site,
        stack: &mut Vec<(Option<String>, Option<String>)>,
    ) {
        let pointer = site.pointer.as_str();
        let (old_shape, new_shape) = (shape(old), shape(new));
        if names.0 != names.1 || old_shape != new_shape {
            let label = |name: &Option<String>, shape: &str| {
                name.as_ref()
                    .map_or_else(|| format!("`{shape}`"), |n| format!("`{n}`"))
            };
            let message = format!(
                "{} changes type from {} to {}",
                site.subject,
                label(&names.0, &old_shape),
                label(&names.1, &new_shape)
            );
            let rule = format!("{}-type-changed", site.prefix());
            self.emit(site, &rule, Level::Breaking, pointer, message);
            if old_shape != new_shape {
                return;
            }
        }
        let type_name = names.1.as_deref().or(names.0.as_deref());
        self.nullability(old, new, site);
        self.enum_values(old, new, site, type_name);
        for key in ["title", "description"] {
            self.prose(pointer, key, &site.subject, old, new);
        }
        self.examples(pointer, &site.subject, old, new);
        self.properties(old, new, site, type_name, stack);
        let mut handled = HANDLED.to_vec();
        let both_objects = |key: &str| {
            old.get(key).is_some_and(Value::is_object) && new.get(key).is_some_and(Value::is_object)
        };
        let mut children: Vec<(String, String, &Value, &Value)> = Vec::new();
        for key in ["items", "additionalProperties"] {
            if both_objects(key) {
                handled.push(key);
                let whose = if key == "items" { "items" } else { "values" };
                children.push((
                    key.to_owned(),
                    format!("the {whose} of {}", site.subject),
                    &old[key],
                    &new[key],
                ));
            }
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            let members = old.get(key).and_then(Value::as_array).into_iter().flatten();
            let others = new.get(key).and_then(Value::as_array).into_iter().flatten();
            for (i, (before, after)) in members.zip(others).enumerate() {
                let subject = format!("member {i} of `{key}` in {}", site.subject);
                children.push((format!("{key}/{i}"), subject, before, after));
            }
        }
        for (path, subject, before, after) in children {
            let child = Site {
                pointer: format!("{pointer}/{path}"),
                subject,
                required: (true, true),
                ..site.clone()
            };
            self.schema(before, after, &child, stack);
        }
        // A `default` lets typify drop the `Option` of a field that is not required.
        let (required_before, required_after) = site.required;
        let option_changed = site.nested
            && optional(required_before, old, true) != optional(required_after, new, true);
        for key in residual(old, new, &handled) {
            let (level, effect) = if key == "default" && option_changed {
                (
                    Level::Breaking,
                    "its field changes between `Option<T>` and `T`",
                )
            } else {
                (
                    Level::Warning,
                    "validation or the generated type may change",
                )
            };
            let message = format!(
                "`{key}` of {} changes from `{}` to `{}`: {effect}",
                site.subject,
                show(old.get(&key)),
                show(new.get(&key))
            );
            let location = join(pointer, &key);
            self.emit(site, "schema-keyword-changed", level, &location, message);
        }
    }

    fn nullability(&mut self, old: &Value, new: &Value, site: &Site) {
        let (was, is) = (nullable(old), nullable(new));
        if was == is {
            return;
        }
        let changed = optional(site.required.0, old, site.nested)
            != optional(site.required.1, new, site.nested);
        let (suffix, how) = if is {
            ("became-nullable", "becomes nullable")
        } else {
            ("became-non-nullable", "is no longer nullable")
        };
        let (level, effect) = match (changed, is) {
            (true, true) => (Level::Breaking, "its type becomes an `Option`"),
            (true, false) => (Level::Breaking, "its type loses its `Option`"),
            (false, _) => (Level::Info, "its Rust type stays the same"),
        };
        let rule = format!("{}-{suffix}", site.prefix());
        let message = format!("{} {how}: {effect}", site.subject);
        let location = join(&site.pointer, "nullable");
        self.emit(site, &rule, level, &location, message);
    }

    fn enum_values(&mut self, old: &Value, new: &Value, site: &Site, type_name: Option<&str>) {
        let (Some(Value::Array(before)), Some(Value::Array(after))) =
            (old.get("enum"), new.get("enum"))
        else {
            return;
        };
        // `cargo xtask gen` names every string enum but a oneOf's tags, and the generated crate
        // opens every named one; an enum met inline here is a tag, or a document not shaped so.
        let open = type_name.is_some();
        let location = join(&site.pointer, "enum");
        let direction = site.direction();
        for value in after.iter().filter(|v| !before.contains(v)) {
            let (level, effect) = match (site.direction, open) {
                (Direction::Request, true) => (Level::Info, "one more value to send"),
                (Direction::Request, false) => (
                    Level::Warning,
                    "one more value to send, and the closed enum gains a variant: an exhaustive \
                     `match` on it stops compiling",
                ),
                (Direction::Response, true) => {
                    (Level::Info, "the open enum already keeps unknown values")
                }
                (Direction::Response, false) => (
                    Level::Breaking,
                    "the closed enum gains a variant, and clients built before fail to decode it",
                ),
            };
            let message = format!(
                "enum value `{}` added to {}: {effect}",
                show(Some(value)),
                site.subject
            );
            let rule = format!("{direction}-enum-value-added");
            self.emit(site, &rule, level, &location, message);
        }
        for value in before.iter().filter(|v| !after.contains(v)) {
            let effect = if open {
                "its variant disappears from the open enum (the value would still decode, into \
                 `Other`)"
            } else {
                "its variant disappears"
            };
            let level = Level::Breaking;
            let message = format!(
                "enum value `{}` removed from {}: {effect}",
                show(Some(value)),
                site.subject
            );
            let rule = format!("{direction}-enum-value-removed");
            self.emit(site, &rule, level, &location, message);
        }
    }

    fn properties(
        &mut self,
        old: &Value,
        new: &Value,
        site: &Site,
        type_name: Option<&str>,
        stack: &mut Vec<(Option<String>, Option<String>)>,
    ) {
        let (before, after) = (
            entries(old.get("properties")),
            entries(new.get("properties")),
        );
        let (was_required, is_required) = (required_names(old), required_names(new));
        let owner = type_name.map(|t| format!(" of `{t}`")).unwrap_or_default();
        let base = join(&site.pointer, "properties");
        let direction = site.direction();
        let field = |name: &str| {
            if site.field.is_empty() {
                name.to_owned()
            } else {
                format!("{}.{name}", site.field)
            }
        };
        for name in before.keys().filter(|n| !after.contains_key(*n)) {
            let message = format!(
                "property `{}`{owner} removed: its field disappears",
                field(name)
            );
            let rule = format!("{direction}-property-removed");
            self.emit(site, &rule, Level::Breaking, &join(&base, name), message);
        }
        for (name, schema) in &after {
            let location = join(&base, name);
            let required = is_required.contains(name);
            let Some(old_schema) = before.get(name) else {
                let (level, effect) = match (site.direction, required) {
                    (Direction::Request, true) => (
                        Level::Breaking,
                        "code building the value must set the new field",
                    ),
                    (Direction::Request, false) => (
                        Level::Warning,
                        "struct literals must name the new field; builders need not",
                    ),
                    (Direction::Response, true) => {
                        (Level::Warning, "a server that omits it fails to decode")
                    }
                    (Direction::Response, false) => {
                        (Level::Info, "the struct gains an `Option` field")
                    }
                };
                let kind = if required { "required" } else { "optional" };
                let message = format!("new {kind} property `{}`{owner}: {effect}", field(name));
                let rule = format!("{direction}-property-added");
                self.emit(site, &rule, level, &location, message);
                continue;
            };
            let was = was_required.contains(name);
            if was != required {
                let before = optional(was, resolve(self.old, old_schema).0, true);
                let after = optional(required, resolve(self.new, schema).0, true);
                let (suffix, how) = if required {
                    ("became-required", "becomes required")
                } else {
                    ("became-optional", "becomes optional")
                };
                let (level, effect) = match (before == after, required, site.direction) {
                    (false, true, _) => (Level::Breaking, "its field loses its `Option`"),
                    (false, false, _) => (Level::Breaking, "its field becomes an `Option`"),
                    (true, true, Direction::Response) => (
                        Level::Warning,
                        "its Rust type stays, but a response without it fails to decode",
                    ),
                    (true, _, _) => (Level::Info, "its Rust type stays the same"),
                };
                let message = format!("property `{}`{owner} {how}: {effect}", field(name));
                let rule = format!("{direction}-property-{suffix}");
                self.emit(site, &rule, level, &location, message);
            }
            let child = Site {
                nested: true,
                pointer: location,
                subject: format!("property `{}`{owner}", field(name)),
                field: field(name),
                required: (was, required),
                ..site.clone()
            };
            self.schema(old_schema, schema, &child, stack);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_follow_the_generated_rust_types() {
        assert_eq!(shape(&json!({"type": "string"})), "string");
        assert_eq!(
            shape(&json!({"type": "string", "format": "email"})),
            "string"
        );
        assert_eq!(
            shape(&json!({"type": "string", "format": "date-time"})),
            "string (date-time)"
        );
        assert_eq!(
            shape(&json!({"type": "string", "enum": ["a"]})),
            "string (enum)"
        );
        assert_eq!(
            shape(&json!({"type": "integer", "minimum": 0})),
            "integer (minimum 0)"
        );
        assert_eq!(
            shape(&json!({"type": "object", "additionalProperties": {"type": "string"}})),
            "map"
        );
        assert_eq!(shape(&json!({"properties": {"a": {}}})), "object");
        assert_eq!(shape(&json!({"oneOf": [{}, {}]})), "oneOf of 2");
        assert_eq!(shape(&json!({})), "any");
    }
}
