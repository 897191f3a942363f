//! The OpenAPI 3.0 schema keywords the document uses, checked and instantiated: `type`,
//! `nullable`, `enum`, `required`, `properties`, `additionalProperties`, `items`, `allOf`,
//! `anyOf`, `oneOf`, `minimum`, `maximum`, `minLength`, `maxLength`, `minItems`, `maxItems`,
//! `default`, `example` and local `$ref`s. Other keywords (`pattern`, `format`) are not checked.

use serde_json::{Map, Value};

/// How deep schemas may nest (through `$ref`s too) before a schema is taken as recursive
/// without end.
const MAX_DEPTH: usize = 64;

/// Why a value does not fit a schema: where (`messages[0].role`, empty for the value itself)
/// and what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Misfit {
    pub(crate) at: String,
    pub(crate) what: String,
}

impl Misfit {
    fn new(at: &str, what: impl Into<String>) -> Self {
        Self {
            at: at.to_owned(),
            what: what.into(),
        }
    }

    /// The misfit said of `value`, a name such as "the request body": "`model` in the request
    /// body: ...", or "the request body: ..." for the value itself.
    pub(crate) fn message(&self, value: &str) -> String {
        if self.at.is_empty() {
            format!("{value}: {}", self.what)
        } else {
            format!("`{}` in {value}: {}", self.at, self.what)
        }
    }
}

/// The schemas of one document: `root` is the whole document, which `$ref`s point into.
#[derive(Clone, Copy)]
pub(crate) struct Schemas<'a> {
    root: &'a Value,
}

impl<'a> Schemas<'a> {
    pub(crate) fn new(root: &'a Value) -> Self {
        Self { root }
    }

    /// `value` with its `$ref`s followed: what a reference points to, or the value itself.
    pub(crate) fn resolve(self, mut value: &'a Value) -> Result<&'a Value, String> {
        for _ in 0..MAX_DEPTH {
            let Some(reference) = value.get("$ref") else {
                return Ok(value);
            };
            let reference = reference.as_str().unwrap_or_default();
            value = reference
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer))
                .ok_or_else(|| {
                    format!("the reference {reference:?} points to nothing in the document")
                })?;
        }
        Err("references point to one another without end".to_owned())
    }

    /// Whether `value` fits `schema`; the first misfit found otherwise.
    pub(crate) fn check(self, schema: &Value, value: &Value) -> Result<(), Misfit> {
        self.check_at(schema, value, "", 0)
    }

    fn check_at(self, schema: &Value, value: &Value, at: &str, depth: usize) -> Result<(), Misfit> {
        if depth > MAX_DEPTH {
            return Err(Misfit::new(at, "the schema nests without end"));
        }
        let schema = self.resolve(schema).map_err(|e| Misfit::new(at, e))?;
        let Value::Object(schema) = schema else {
            // `true`, `{}`: anything fits.
            return Ok(());
        };
        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return Ok(());
        }
        if let Some(Value::Array(allowed)) = schema.get("enum")
            && !allowed.contains(value)
        {
            let listed: Vec<String> = allowed.iter().map(Value::to_string).collect();
            return Err(Misfit::new(
                at,
                format!("{value} is not one of {}", listed.join(", ")),
            ));
        }
        if let Some(Value::String(kind)) = schema.get("type")
            && !is_of_type(value, kind)
        {
            return Err(Misfit::new(
                at,
                format!("expected {}, got {}", a_kind(kind), kind_of(value)),
            ));
        }
        self.check_bounds(schema, value, at)?;
        self.check_combinations(schema, value, at, depth)?;
        match value {
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check_at(item_schema, item, &format!("{at}[{i}]"), depth + 1)?;
                    }
                }
            }
            Value::Object(fields) => self.check_object(schema, fields, at, depth)?,
            _ => {}
        }
        Ok(())
    }

    fn check_bounds(
        self,
        schema: &Map<String, Value>,
        value: &Value,
        at: &str,
    ) -> Result<(), Misfit> {
        let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
        if let Some(number) = value.as_f64() {
            if let Some(min) = bound("minimum").filter(|min| number < *min) {
                return Err(Misfit::new(
                    at,
                    format!("{value} is below the minimum {min}"),
                ));
            }
            if let Some(max) = bound("maximum").filter(|max| number > *max) {
                return Err(Misfit::new(
                    at,
                    format!("{value} is above the maximum {max}"),
                ));
            }
        }
        let length = match value {
            Value::String(text) => {
                Some((text.chars().count(), "minLength", "maxLength", "characters"))
            }
            Value::Array(items) => Some((items.len(), "minItems", "maxItems", "items")),
            _ => None,
        };
        if let Some((len, min_key, max_key, unit)) = length {
            let len_f = len as f64;
            if let Some(min) = bound(min_key).filter(|min| len_f < *min) {
                return Err(Misfit::new(
                    at,
                    format!("{len} {unit}, fewer than the {min} required"),
                ));
            }
            if let Some(max) = bound(max_key).filter(|max| len_f > *max) {
                return Err(Misfit::new(
                    at,
                    format!("{len} {unit}, more than the {max} allowed"),
                ));
            }
        }
        Ok(())
    }

    fn check_combinations(
        self,
        schema: &Map<String, Value>,
        value: &Value,
        at: &str,
        depth: usize,
    ) -> Result<(), Misfit> {
        if let Some(Value::Array(all)) = schema.get("allOf") {
            for sub in all {
                self.check_at(sub, value, at, depth + 1)?;
            }
        }
        for (key, exactly_one) in [("anyOf", false), ("oneOf", true)] {
            let Some(Value::Array(alternatives)) = schema.get(key) else {
                continue;
            };
            let mut first_misfit = None;
            let mut fits = 0;
            for sub in alternatives {
                match self.check_at(sub, value, at, depth + 1) {
                    Ok(()) => fits += 1,
                    Err(misfit) => {
                        first_misfit.get_or_insert(misfit);
                    }
                }
            }
            if fits == 0 {
                let why = first_misfit.map(|m| m.message("it")).unwrap_or_default();
                return Err(Misfit::new(
                    at,
                    format!(
                        "fits none of the {} alternatives the document allows (the first: {why})",
                        alternatives.len()
                    ),
                ));
            }
            if exactly_one && fits > 1 {
                return Err(Misfit::new(
                    at,
                    format!("fits {fits} of the alternatives the document allows, not one"),
                ));
            }
        }
        Ok(())
    }

    fn check_object(
        self,
        schema: &Map<String, Value>,
        fields: &Map<String, Value>,
        at: &str,
        depth: usize,
    ) -> Result<(), Misfit> {
        let field_at = |name: &str| {
            if at.is_empty() {
                name.to_owned()
            } else {
                format!("{at}.{name}")
            }
        };
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    return Err(Misfit::new(&field_at(name), "is required and missing"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, field) in fields {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => self.check_at(property, field, &field_at(name), depth + 1)?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(Misfit::new(
                            &field_at(name),
                            "is not a field the document allows here",
                        ));
                    }
                    Some(extra @ Value::Object(_)) => {
                        self.check_at(extra, field, &field_at(name), depth + 1)?;
                    }
                    _ => {}
                },
            }
        }
        Ok(())
    }

    /// A small value that fits `schema`: its `default` or `example` when they fit, else the
    /// first `enum` value, else the least of its type (an object with its required properties
    /// only, an empty string, zero or the minimum, `false`, an array of `minItems` items). None
    /// when the schema admits no value this way.
    pub(crate) fn instance(self, schema: &Value) -> Option<Value> {
        let value = self.instance_at(schema, 0)?;
        self.check(schema, &value).ok().map(|()| value)
    }

    fn instance_at(self, schema: &Value, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let whole = self.resolve(schema).ok()?;
        let Value::Object(schema) = whole else {
            return Some(Value::Null);
        };
        for key in ["default", "example"] {
            if let Some(given) = schema.get(key)
                && self.check(whole, given).is_ok()
            {
                return Some(given.clone());
            }
        }
        if let Some(Value::Array(allowed)) = schema.get("enum") {
            return allowed
                .iter()
                .find(|v| !v.is_null())
                .or(allowed.first())
                .cloned();
        }
        if let Some(Value::Array(all)) = schema.get("allOf") {
            let mut merged = Map::new();
            for sub in all {
                match self.instance_at(sub, depth + 1)? {
                    Value::Object(fields) => merged.extend(fields),
                    other if all.len() == 1 => return Some(other),
                    _ => return None,
                }
            }
            return Some(Value::Object(merged));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(alternatives)) = schema.get(key) {
                return alternatives.iter().find_map(|sub| {
                    let value = self.instance_at(sub, depth + 1)?;
                    self.check(whole, &value).ok().map(|()| value)
                });
            }
        }
        let kind = schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_else(|| {
                if schema.contains_key("properties") || schema.contains_key("required") {
                    "object"
                } else if schema.contains_key("items") {
                    "array"
                } else {
                    "null"
                }
            });
        let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
        let least = |unit: f64| -> f64 {
            match (bound("minimum"), bound("maximum")) {
                (Some(min), _) if min > 0.0 => (min / unit).ceil() * unit,
                (_, Some(max)) if max < 0.0 => (max / unit).floor() * unit,
                _ => 0.0,
            }
        };
        Some(match kind {
            "string" => Value::String("x".repeat(count(bound("minLength")))),
            // Whole numbers here: the bound is integral once rounded up or down.
            #[allow(clippy::cast_possible_truncation)]
            "integer" => Value::from(least(1.0) as i64),
            "number" => Value::from(least(1.0)),
            "boolean" => Value::Bool(false),
            "array" => {
                let items = schema.get("items").unwrap_or(&Value::Null);
                let n = count(bound("minItems"));
                Value::Array(
                    (0..n)
                        .map(|_| self.instance_at(items, depth + 1))
                        .collect::<Option<_>>()?,
                )
            }
            "object" => {
                let mut fields = Map::new();
                let properties = schema.get("properties").and_then(Value::as_object);
                let required = schema.get("required").and_then(Value::as_array);
                for name in required.into_iter().flatten().filter_map(Value::as_str) {
                    let property = properties
                        .and_then(|p| p.get(name))
                        .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                    let value = match property {
                        Some(property) => self.instance_at(property, depth + 1)?,
                        None => Value::Null,
                    };
                    fields.insert(name.to_owned(), value);
                }
                Value::Object(fields)
            }
            _ => Value::Null,
        })
    }
}

/// A `minLength`/`minItems` bound as a count (none: zero).
fn count(bound: Option<f64>) -> usize {
    // A count in a document is a small whole number; anything else counts as none.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    bound
        .filter(|n| (0.0..=1024.0).contains(n))
        .map_or(0, |n| n.ceil() as usize)
}

fn is_of_type(value: &Value, kind: &str) -> bool {
    match kind {
        "string" => value.is_string(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|n| n.fract() == 0.0)
        }
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        // A type this checker does not know is not held against the value.
        _ => true,
    }
}

fn a_kind(kind: &str) -> String {
    match kind {
        "integer" | "array" | "object" => format!("an {kind}"),
        "null" => "null".to_owned(),
        _ => format!("a {kind}"),
    }
}

fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", Value::from(s.as_str())),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_misfit_names_where_and_what() {
        let root = json!({"components": {"schemas": {"Role": {"type": "string", "enum": ["user", "system"]}}}});
        let schemas = Schemas::new(&root);
        let schema = json!({
            "type": "object",
            "required": ["messages"],
            "properties": {"messages": {"type": "array", "items": {
                "type": "object", "required": ["role"],
                "properties": {"role": {"$ref": "#/components/schemas/Role"}}
            }}}
        });
        let misfit = schemas
            .check(
                &schema,
                &json!({"messages": [{"role": "user"}, {"role": "bot"}]}),
            )
            .expect_err("bot is no role");
        assert_eq!(misfit.at, "messages[1].role");
        assert!(misfit.what.contains("\"user\""), "{misfit:?}");
        assert_eq!(
            schemas.check(&schema, &json!({})).expect_err("missing").at,
            "messages"
        );
        assert_eq!(schemas.instance(&schema), Some(json!({"messages": []})),);
    }

    #[test]
    fn an_instance_takes_defaults_examples_enums_and_bounds() {
        let root = json!({});
        let schemas = Schemas::new(&root);
        let schema = json!({
            "type": "object",
            "required": ["a", "b", "c", "d", "e", "f"],
            "properties": {
                "a": {"type": "string", "enum": ["first", "second"]},
                "b": {"type": "integer", "minimum": 3},
                "c": {"type": "string", "default": "d"},
                "d": {"type": "string", "example": "ex"},
                "e": {"type": "integer", "example": "not an integer"},
                "f": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "g": {"type": "string"}
            }
        });
        assert_eq!(
            schemas.instance(&schema),
            Some(json!({"a": "first", "b": 3, "c": "d", "d": "ex", "e": 0, "f": ""})),
        );
    }
}
