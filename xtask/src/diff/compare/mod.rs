//! The walk over the two documents: document-wide parts, then each operation's security,
//! [`parameters`], request body ([`bodies`]) and [`responses`]. Schemas are left to
//! [`super::schema`].

mod bodies;
mod parameters;
mod responses;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::differ::Differ;
use super::navigate::{entries, ref_name, residual, show};
use super::schema::{Direction, Root, Site};
use super::{Change, Level};
use crate::ids::{LocatedOperation, located_operations, snake_case};
use crate::pointer::join;

/// Compares two OpenAPI 3.0 documents; the changes come most severe first, then by operation
/// and location.
pub fn compare(old: &Value, new: &Value) -> Vec<Change> {
    let mut differ = Differ {
        old,
        new,
        operation: None,
        changes: Vec::new(),
    };
    differ.document();
    differ.operations();
    let mut changes = differ.changes;
    changes.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then_with(|| a.operation.cmp(&b.operation))
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.message.cmp(&b.message))
    });
    changes.dedup();
    changes
}

/// Whether progenitor reads a body of this media type as JSON into a typed value; any other
/// media type is bytes to the client (`+json` types included).
pub(super) fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.starts_with("application/json;")
}

/// The generated method's name: the snake_case operation id.
fn method_name(operation: &Value) -> String {
    operation
        .get("operationId")
        .and_then(Value::as_str)
        .map_or_else(|| "(no operationId)".to_owned(), snake_case)
}

/// The operations by method and path shape: path parameter names do not matter to matching,
/// so renaming one is a parameter change, not a removed and an added operation.
fn operations(doc: &Value) -> BTreeMap<String, LocatedOperation<'_>> {
    located_operations(doc)
        .into_iter()
        .map(|operation| {
            let shape: String = operation
                .path
                .split('{')
                .enumerate()
                .map(|(i, part)| match (i, part.split_once('}')) {
                    (0, _) | (_, None) => part.to_owned(),
                    (_, Some((_, rest))) => format!("{{}}{rest}"),
                })
                .collect();
            let key = format!("{} {shape}", operation.method.to_ascii_uppercase());
            (key, operation)
        })
        .collect()
}

/// The schemas reachable from the paths, by component name.
fn reachable_schemas(doc: &Value) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&Value> = doc.get("paths").into_iter().collect();
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref")
                    && seen.insert(reference.as_str())
                {
                    stack.extend(reference.strip_prefix('#').and_then(|p| doc.pointer(p)));
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    seen.into_iter()
        .filter(|r| r.starts_with("#/components/schemas/"))
        .map(ref_name)
        .collect()
}

/// The operation's security alternatives, each as its schemes joined by ` + ` (empty for
/// anonymous access); the document's apply when the operation names none.
fn requirements(doc: &Value, operation: &Value) -> BTreeSet<String> {
    let list = operation.get("security").or_else(|| doc.get("security"));
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|alternative| {
            entries(Some(alternative))
                .into_iter()
                .map(|(scheme, scopes)| {
                    let scopes: Vec<String> = scopes
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|s| show(Some(s)))
                        .collect();
                    if scopes.is_empty() {
                        scheme.to_owned()
                    } else {
                        format!("{scheme} [{}]", scopes.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect()
}

impl Differ<'_> {
    fn document(&mut self) {
        let (old, new) = (self.old, self.new);
        let (old_info, new_info) = (&old["info"], &new["info"]);
        if old_info.get("version") != new_info.get("version") {
            let message = format!(
                "API version `{}` becomes `{}`: only the generated client's `api-version` value \
                 changes, a header the facade does not send",
                show(old_info.get("version")),
                show(new_info.get("version"))
            );
            self.at("/info/version")
                .record(Level::Info, "api-version-changed", message);
        }
        for key in ["title", "description"] {
            self.prose("/info", key, "the document", old_info, new_info);
        }
        if old.get("servers") != new.get("servers") {
            let message = "servers changed: the caller gives the client its base URL".to_owned();
            self.at("/servers")
                .record(Level::Info, "servers-changed", message);
        }
        let info_keys = residual(old_info, new_info, &["version", "title", "description"]);
        let handled = [
            "openapi",
            "info",
            "servers",
            "paths",
            "components",
            "security",
        ];
        let locations = (info_keys.into_iter().map(|k| join("/info", &k))).chain(
            residual(old, new, &handled)
                .into_iter()
                .map(|k| join("", &k)),
        );
        for location in locations {
            let message = format!("`{location}` changed: it does not reach the generated code");
            self.at(location)
                .record(Level::Info, "document-keyword-changed", message);
        }
        self.security_schemes();
        self.component_schemas();
    }

    fn security_schemes(&mut self) {
        let section = "/components/securitySchemes";
        let old = entries(self.old.pointer(section));
        let new = entries(self.new.pointer(section));
        for (name, before) in &old {
            let location = join(section, name);
            let Some(after) = new.get(name) else {
                let message = format!(
                    "security scheme `{name}` removed: credentials sent with it may stop being \
                     accepted"
                );
                self.at(location)
                    .record(Level::Warning, "security-scheme-removed", message);
                continue;
            };
            let what = format!("security scheme `{name}`");
            self.prose(&location, "description", &what, before, after);
            for key in residual(before, after, &["description"]) {
                let message = format!(
                    "`{key}` of {what} changes from `{}` to `{}`: the credentials the caller \
                     sends may need to change",
                    show(before.get(&key)),
                    show(after.get(&key))
                );
                self.at(join(&location, &key)).record(
                    Level::Warning,
                    "security-scheme-changed",
                    message,
                );
            }
        }
        for name in new.keys().filter(|n| !old.contains_key(*n)) {
            let message = format!("new security scheme `{name}`: the caller configures auth");
            self.at(join(section, name))
                .record(Level::Info, "security-scheme-added", message);
        }
    }

    /// Every component schema is a generated type. Those no operation uses are compared here,
    /// as response types (the stricter side); the others are compared at each use.
    fn component_schemas(&mut self) {
        let section = "/components/schemas";
        let old = entries(self.old.pointer(section));
        let new = entries(self.new.pointer(section));
        let mut used = reachable_schemas(self.old);
        used.extend(reachable_schemas(self.new));
        for name in old.keys().filter(|n| !new.contains_key(*n)) {
            let message = format!("schema `{name}` removed: the generated type disappears");
            self.at(join(section, name))
                .record(Level::Breaking, "schema-removed", message);
        }
        for name in new.keys() {
            let location = join(section, name);
            if !old.contains_key(name) {
                let message = format!("new schema `{name}`: a new generated type");
                self.at(location)
                    .record(Level::Info, "schema-added", message);
            } else if !used.contains(*name) {
                let reference = json!({ "$ref": format!("#{location}") });
                let site = Site {
                    direction: Direction::Response,
                    root: Root::Body,
                    nested: false,
                    pointer: location,
                    subject: format!("schema `{name}`"),
                    field: String::new(),
                    required: (true, true),
                    cap: Level::Breaking,
                };
                self.schema(&reference, &reference, &site, &mut Vec::new());
            }
        }
    }

    fn operations(&mut self) {
        let (old, new) = (operations(self.old), operations(self.new));
        for (_, before) in old.iter().filter(|(k, _)| !new.contains_key(*k)) {
            self.operation = Some(before.name.clone());
            let method = method_name(before.operation);
            let message = format!("operation removed: method `{method}` disappears");
            self.at(&before.pointer)
                .record(Level::Breaking, "operation-removed", message);
        }
        for (key, after) in &new {
            self.operation = Some(after.name.clone());
            match old.get(key) {
                Some(before) => self.operation_pair(before, after),
                None => {
                    let message =
                        format!("new operation: method `{}`", method_name(after.operation));
                    self.at(&after.pointer)
                        .record(Level::Info, "operation-added", message);
                }
            }
        }
        self.operation = None;
    }

    fn operation_pair(&mut self, old: &LocatedOperation<'_>, new: &LocatedOperation<'_>) {
        let (before, after) = (old.operation, new.operation);
        if before.get("operationId") != after.get("operationId") {
            let (old_method, new_method) = (method_name(before), method_name(after));
            let (level, effect) = if old_method == new_method {
                (
                    Level::Info,
                    format!("the method keeps its name `{new_method}`"),
                )
            } else {
                let renamed = format!("method `{old_method}` is renamed `{new_method}`");
                (Level::Breaking, renamed)
            };
            let message = format!(
                "operation id `{}` becomes `{}`: {effect}",
                show(before.get("operationId")),
                show(after.get("operationId"))
            );
            self.at(join(&new.pointer, "operationId")).record(
                level,
                "operation-id-changed",
                message,
            );
        }
        for key in ["summary", "description"] {
            self.prose(&new.pointer, key, "the operation", before, after);
        }
        self.security(old, new);
        self.parameters(old, new);
        self.request_body(old, new);
        self.responses(old, new);
        let handled = [
            "operationId",
            "summary",
            "description",
            "security",
            "parameters",
            "requestBody",
            "responses",
        ];
        for key in residual(before, after, &handled) {
            let message = format!("`{key}` changed: it does not reach the generated method");
            self.at(join(&new.pointer, &key)).record(
                Level::Info,
                "operation-keyword-changed",
                message,
            );
        }
    }

    fn security(&mut self, old: &LocatedOperation<'_>, new: &LocatedOperation<'_>) {
        let before = requirements(self.old, old.operation);
        let after = requirements(self.new, new.operation);
        let open = |set: &BTreeSet<String>| set.is_empty() || set.contains("");
        let (was_open, is_open) = (open(&before), open(&after));
        let location = join(&new.pointer, "security");
        let shown = |alternative: &str| match alternative {
            "" => "anonymous access".to_owned(),
            scheme => format!("`{scheme}`"),
        };
        for added in after.difference(&before) {
            let (level, effect) = if was_open && !is_open {
                let effect = "calls now need credentials, which the caller's HTTP client must send";
                (Level::Warning, effect)
            } else {
                (Level::Info, "one more way to authenticate")
            };
            let message = format!("security requirement {} added: {effect}", shown(added));
            self.at(&location)
                .record(level, "security-requirement-added", message);
        }
        for removed in before.difference(&after) {
            let (level, effect) = if is_open {
                (Level::Info, "calls need no credentials now")
            } else {
                let effect = "credentials the caller sends may stop being accepted";
                (Level::Warning, effect)
            };
            let message = format!("security requirement {} removed: {effect}", shown(removed));
            self.at(&location)
                .record(level, "security-requirement-removed", message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_json_media_types_as_progenitor_does() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(!is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
    }

    #[test]
    fn matches_operations_whatever_their_path_parameters_are_called() {
        let doc = json!({"paths": {"/v1/files/{id}/content": {"get": {}}}});
        let found = operations(&doc);
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            ["GET /v1/files/{}/content"]
        );
    }
}
