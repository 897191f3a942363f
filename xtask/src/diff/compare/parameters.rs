//! An operation's parameters: each is one positional argument of the generated method.

use serde_json::{Value, json};

use super::method_name;
use crate::diff::Level;
use crate::diff::differ::Differ;
use crate::diff::navigate::{residual, resolve, show};
use crate::diff::schema::{Direction, Root, Site};
use crate::ids::LocatedOperation;
use crate::pointer::join;

/// One parameter of an operation, path-level ones included.
struct Parameter<'a> {
    name: &'a str,
    location: &'a str,
    required: bool,
    value: &'a Value,
    pointer: String,
}

/// The operation's parameters, keyed by location and name; path parameters are keyed by their
/// position in the path, which is what makes them the same argument.
fn parameters<'a>(
    doc: &'a Value,
    operation: &LocatedOperation<'a>,
) -> Vec<(String, Parameter<'a>)> {
    let mut found: Vec<(String, Parameter<'a>)> = Vec::new();
    let lists = [
        (operation.item, join("/paths", operation.path)),
        (operation.operation, operation.pointer.clone()),
    ];
    for (owner, base) in lists {
        let list = owner.get("parameters").and_then(Value::as_array);
        for (i, raw) in list.into_iter().flatten().enumerate() {
            let value = resolve(doc, raw).0;
            let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
            let (name, location) = (text("name"), text("in"));
            let position = operation
                .path
                .split('{')
                .filter_map(|part| part.split_once('}').map(|(n, _)| n))
                .position(|n| n == name);
            let key = match (location, position) {
                ("path", Some(position)) => format!("path #{position}"),
                _ => format!("{location} {name}"),
            };
            let parameter = Parameter {
                name,
                location,
                required: location == "path" || value.get("required") == Some(&json!(true)),
                value,
                pointer: format!("{base}/parameters/{i}"),
            };
            // An operation's own parameter replaces the path item's of the same key.
            match found.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = parameter,
                None => found.push((key, parameter)),
            }
        }
    }
    found
}

/// The parameter of `list` with this key.
fn find_parameter<'p, 'a>(
    list: &'p [(String, Parameter<'a>)],
    key: &str,
) -> Option<&'p Parameter<'a>> {
    list.iter().find(|(k, _)| k == key).map(|(_, p)| p)
}

impl Differ<'_> {
    /// Compares the parameters of an operation, matched by location and name.
    pub(super) fn parameters(&mut self, old: &LocatedOperation<'_>, new: &LocatedOperation<'_>) {
        let method = method_name(new.operation);
        let (before, after) = (parameters(self.old, old), parameters(self.new, new));
        for (_, gone) in before
            .iter()
            .filter(|(k, _)| find_parameter(&after, k).is_none())
        {
            let (name, location) = (gone.name, gone.location);
            let message =
                format!("parameter `{name}` ({location}) removed: `{method}` loses an argument");
            self.at(&gone.pointer)
                .record(Level::Breaking, "request-parameter-removed", message);
        }
        for (key, parameter) in &after {
            if let Some(previous) = find_parameter(&before, key) {
                self.parameter(previous, parameter);
                continue;
            }
            let required = if parameter.required {
                "required"
            } else {
                "optional"
            };
            let message = format!(
                "new {required} parameter `{}` ({}): `{method}` gains an argument",
                parameter.name, parameter.location
            );
            self.at(&parameter.pointer)
                .record(Level::Breaking, "request-parameter-added", message);
        }
    }

    /// Compares one parameter present on both sides.
    fn parameter(&mut self, old: &Parameter<'_>, new: &Parameter<'_>) {
        let subject = format!("parameter `{}`", new.name);
        if old.name != new.name {
            let message = format!(
                "path parameter `{}` renamed `{}`: only the argument's name changes",
                old.name, new.name
            );
            self.at(join(&new.pointer, "name")).record(
                Level::Info,
                "request-parameter-renamed",
                message,
            );
        }
        if old.required != new.required {
            let (rule, change) = if new.required {
                (
                    "request-parameter-became-required",
                    "required: its argument changes from `Option<T>` to `T`",
                )
            } else {
                (
                    "request-parameter-became-optional",
                    "optional: its argument changes from `T` to `Option<T>`",
                )
            };
            let message = format!("{subject} becomes {change}");
            self.at(join(&new.pointer, "required"))
                .record(Level::Breaking, rule, message);
        }
        self.prose(&new.pointer, "description", &subject, old.value, new.value);
        self.examples(&new.pointer, &subject, old.value, new.value);
        if let (Some(before), Some(after)) = (old.value.get("schema"), new.value.get("schema")) {
            let site = Site {
                direction: Direction::Request,
                root: Root::Parameter,
                nested: false,
                pointer: join(&new.pointer, "schema"),
                subject: subject.clone(),
                field: String::new(),
                required: (old.required, new.required),
                cap: Level::Breaking,
            };
            self.schema(before, after, &site, &mut Vec::new());
        }
        let handled = [
            "name",
            "in",
            "required",
            "description",
            "example",
            "examples",
            "schema",
        ];
        let mut keys = residual(old.value, new.value, &handled);
        if old.value.get("schema").is_some() != new.value.get("schema").is_some() {
            keys.push("schema".to_owned());
        }
        for key in keys {
            let message = format!(
                "`{key}` of {subject} changes from `{}` to `{}`: what goes on the wire may change",
                show(old.value.get(&key)),
                show(new.value.get(&key))
            );
            self.at(join(&new.pointer, &key)).record(
                Level::Warning,
                "request-parameter-keyword-changed",
                message,
            );
        }
    }
}
