//! The walk over the two documents: document-wide parts, then each operation's security,
//! parameters, request body and responses. Schemas are left to [`super::schema`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::schema::{Direction, Root, Site};
use super::{Change, Level};
use crate::canonical::sorted;
use crate::ids::snake_case;
use crate::merge::METHODS;
use crate::pointer::join;

/// Collects the changes between two documents.
pub(super) struct Differ<'a> {
    /// The old document.
    pub(super) old: &'a Value,
    /// The new document.
    pub(super) new: &'a Value,
    /// The operation being compared, `None` for document-wide parts.
    operation: Option<String>,
    changes: Vec<Change>,
}

/// A place in the document where changes are recorded.
pub(super) struct Spot<'d, 'a> {
    differ: &'d mut Differ<'a>,
    location: String,
    cap: Level,
}

impl Spot<'_, '_> {
    /// Lowers the level of what is recorded here to at most `cap`.
    pub(super) fn cap(self, cap: Level) -> Self {
        Self { cap, ..self }
    }

    /// Records one change.
    pub(super) fn record(self, level: Level, rule: &str, message: String) {
        let change = Change {
            rule: rule.to_owned(),
            level: level.min(self.cap),
            operation: self.differ.operation.clone(),
            location: self.location,
            message,
        };
        self.differ.changes.push(change);
    }
}

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

/// Whether progenitor reads a body of this media type as JSON into a typed value; any other
/// media type is bytes to the client (`+json` types included).
pub(super) fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.starts_with("application/json;")
}

/// What a success response becomes in the generated method's return type.
fn return_kind(content: &BTreeMap<&str, &Value>) -> &'static str {
    if content.keys().any(|m| is_json(m)) {
        "a typed value"
    } else if content.is_empty() {
        "`()`"
    } else {
        "a byte stream"
    }
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

/// The generated method's name: the snake_case operation id.
fn method_name(operation: &Value) -> String {
    operation
        .get("operationId")
        .and_then(Value::as_str)
        .map_or_else(|| "(no operationId)".to_owned(), snake_case)
}

/// One operation of a document.
struct Operation<'a> {
    /// `METHOD /path`.
    name: String,
    path: &'a str,
    item: &'a Value,
    value: &'a Value,
    pointer: String,
}

/// The operations by method and path shape: path parameter names do not matter to matching,
/// so renaming one is a parameter change, not a removed and an added operation.
fn operations(doc: &Value) -> BTreeMap<String, Operation<'_>> {
    let mut found = BTreeMap::new();
    for (path, item) in entries(doc.get("paths")) {
        let shape: String = path
            .split('{')
            .enumerate()
            .map(|(i, part)| match (i, part.split_once('}')) {
                (0, _) | (_, None) => part.to_owned(),
                (_, Some((_, rest))) => format!("{{}}{rest}"),
            })
            .collect();
        for method in METHODS {
            if let Some(value) = item.get(method) {
                let name = format!("{} {path}", method.to_ascii_uppercase());
                let operation = Operation {
                    name,
                    path,
                    item,
                    value,
                    pointer: join(&join("/paths", path), method),
                };
                found.insert(
                    format!("{} {shape}", method.to_ascii_uppercase()),
                    operation,
                );
            }
        }
    }
    found
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
fn parameters<'a>(doc: &'a Value, operation: &Operation<'a>) -> Vec<(String, Parameter<'a>)> {
    let mut found: Vec<(String, Parameter<'a>)> = Vec::new();
    let lists = [
        (operation.item, join("/paths", operation.path)),
        (operation.value, operation.pointer.clone()),
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

/// The type progenitor makes of one response's body: a name to show and a key that tells
/// types apart (an inline schema is keyed by its content).
fn body_type(doc: &Value, response: &Value) -> (String, String) {
    let content = entries(resolve(doc, response).0.get("content"));
    let schema = content
        .iter()
        .find(|(m, _)| is_json(m))
        .map(|(_, media)| media.get("schema"));
    match (schema, content.is_empty()) {
        (Some(Some(schema)), _) => match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => (format!("`{}`", ref_name(reference)), reference.to_owned()),
            None => ("an inline type".to_owned(), sorted(schema).to_string()),
        },
        (Some(None), _) => ("an untyped JSON value".to_owned(), "json".to_owned()),
        (None, true) => ("`()`".to_owned(), "()".to_owned()),
        (None, false) => ("a byte stream".to_owned(), "bytes".to_owned()),
    }
}

/// The body types of the success (or the error) responses, by key. Progenitor generates a
/// method only when each side has at most one.
fn body_types(
    doc: &Value,
    responses: &BTreeMap<&str, &Value>,
    success: bool,
) -> BTreeMap<String, String> {
    responses
        .iter()
        .filter(|(status, _)| is_success(status) == success)
        .map(|(_, response)| body_type(doc, response))
        .map(|(name, key)| (key, name))
        .collect()
}

/// How an operation's error type reads: `Error<E>`.
fn error_type(types: &BTreeMap<String, String>) -> String {
    let names: Vec<&str> = types.values().map(String::as_str).collect();
    match names[..] {
        [] => "`Error<()>`".to_owned(),
        [one] => format!("`Error<{}>`", one.trim_matches('`')),
        _ => format!(
            "error bodies of {} types ({})",
            names.len(),
            names.join(", ")
        ),
    }
}

impl<'a> Differ<'a> {
    /// Where the next changes are recorded, within the current operation.
    pub(super) fn at(&mut self, location: impl Into<String>) -> Spot<'_, 'a> {
        Spot {
            differ: self,
            location: location.into(),
            cap: Level::Breaking,
        }
    }

    /// Records a changed `description`, `summary` or `title` (`key`) of what `pointer` names.
    pub(super) fn prose(&mut self, pointer: &str, key: &str, what: &str, old: &Value, new: &Value) {
        if old.get(key) != new.get(key) {
            let message = format!("the {key} of {what} changed");
            self.at(join(pointer, key))
                .record(Level::Info, "description-changed", message);
        }
    }

    /// Records changed `example` and `examples`.
    pub(super) fn examples(&mut self, pointer: &str, what: &str, old: &Value, new: &Value) {
        for key in ["example", "examples"] {
            if old.get(key) != new.get(key) {
                let message = format!("`{key}` of {what} changed");
                self.at(join(pointer, key))
                    .record(Level::Info, "example-changed", message);
            }
        }
    }

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
            let method = method_name(before.value);
            let message = format!("operation removed: method `{method}` disappears");
            self.at(&before.pointer)
                .record(Level::Breaking, "operation-removed", message);
        }
        for (key, after) in &new {
            self.operation = Some(after.name.clone());
            match old.get(key) {
                Some(before) => self.operation_pair(before, after),
                None => {
                    let message = format!("new operation: method `{}`", method_name(after.value));
                    self.at(&after.pointer)
                        .record(Level::Info, "operation-added", message);
                }
            }
        }
        self.operation = None;
    }

    fn operation_pair(&mut self, old: &Operation<'_>, new: &Operation<'_>) {
        let (before, after) = (old.value, new.value);
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

    fn security(&mut self, old: &Operation<'_>, new: &Operation<'_>) {
        let before = requirements(self.old, old.value);
        let after = requirements(self.new, new.value);
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

    fn parameters(&mut self, old: &Operation<'_>, new: &Operation<'_>) {
        let method = method_name(new.value);
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

    fn request_body(&mut self, old: &Operation<'_>, new: &Operation<'_>) {
        let method = method_name(new.value);
        let before = old.value.get("requestBody").map(|b| resolve(self.old, b).0);
        let after = new.value.get("requestBody").map(|b| resolve(self.new, b).0);
        let (old_location, location) = (
            join(&old.pointer, "requestBody"),
            join(&new.pointer, "requestBody"),
        );
        let (before, after) = match (before, after) {
            (Some(before), Some(after)) => (before, after),
            (None, None) => return,
            (Some(_), None) => {
                let message = format!("request body removed: `{method}` loses its body argument");
                self.at(old_location)
                    .record(Level::Breaking, "request-body-removed", message);
                return;
            }
            (None, Some(_)) => {
                let message = format!("new request body: `{method}` gains a body argument");
                self.at(location)
                    .record(Level::Breaking, "request-body-added", message);
                return;
            }
        };
        self.prose(&location, "description", "the request body", before, after);
        let old_content = entries(before.get("content"));
        let new_content = entries(after.get("content"));
        for media_type in old_content.keys().filter(|m| !new_content.contains_key(*m)) {
            let message = format!(
                "request body no longer accepted as `{media_type}`: the body argument's type \
                 changes"
            );
            self.at(join(&join(&old_location, "content"), media_type))
                .record(Level::Breaking, "request-media-type-removed", message);
        }
        for (media_type, media) in &new_content {
            let media_location = join(&join(&location, "content"), media_type);
            if let Some(old_media) = old_content.get(media_type) {
                let what = format!("the `{media_type}` request body");
                let direction = Direction::Request;
                self.media(
                    direction,
                    &what,
                    media_type,
                    old_media,
                    media,
                    &media_location,
                );
                continue;
            }
            let (level, effect) = if new_content.len() > 1 {
                (
                    Level::Breaking,
                    "progenitor cannot generate a body of several media types",
                )
            } else {
                (Level::Warning, "the body argument's type may change")
            };
            let message = format!("request body now accepted as `{media_type}`: {effect}");
            self.at(media_location)
                .record(level, "request-media-type-added", message);
        }
        for key in residual(before, after, &["description", "content"]) {
            let message = format!(
                "`{key}` of the request body changes from `{}` to `{}`: progenitor takes the body \
                 as a required argument either way",
                show(before.get(&key)),
                show(after.get(&key))
            );
            self.at(join(&location, &key)).record(
                Level::Info,
                "request-body-keyword-changed",
                message,
            );
        }
    }

    /// Compares one media type object of a body; bodies that are not JSON are bytes to the
    /// client, so changes inside their schemas are `info` at most.
    fn media(
        &mut self,
        direction: Direction,
        what: &str,
        media_type: &str,
        old: &Value,
        new: &Value,
        pointer: &str,
    ) {
        self.examples(pointer, what, old, new);
        let (before, after) = (old.get("schema"), new.get("schema"));
        if before.is_none() && after.is_none() {
            return;
        }
        let site = Site {
            direction,
            root: Root::Body,
            nested: false,
            pointer: join(pointer, "schema"),
            subject: what.to_owned(),
            field: String::new(),
            required: (true, true),
            cap: if is_json(media_type) {
                Level::Breaking
            } else {
                Level::Info
            },
        };
        let any = json!({});
        let (before, after) = (before.unwrap_or(&any), after.unwrap_or(&any));
        self.schema(before, after, &site, &mut Vec::new());
    }

    fn responses(&mut self, old: &Operation<'_>, new: &Operation<'_>) {
        let method = method_name(new.value);
        let before = entries(old.value.get("responses"));
        let after = entries(new.value.get("responses"));
        let base = join(&new.pointer, "responses");
        for status in before.keys().filter(|s| !after.contains_key(*s)) {
            let (level, message) = if is_success(status) {
                let message =
                    format!("success status `{status}` removed: such responses stop decoding");
                (Level::Breaking, message)
            } else {
                let message = format!(
                    "error status `{status}` removed: it arrives as `Error::UnexpectedResponse` \
                     instead of the typed error"
                );
                (Level::Warning, message)
            };
            self.at(join(&join(&old.pointer, "responses"), status))
                .record(level, "response-status-removed", message);
        }
        let (old_success, old_errors) = (
            body_types(self.old, &before, true),
            body_types(self.old, &before, false),
        );
        for (status, response) in &after {
            let location = join(&base, status);
            if let Some(old_response) = before.get(status) {
                self.response(status, old_response, response, &location);
                continue;
            }
            let (name, key) = body_type(self.new, response);
            let success = is_success(status);
            let known = if success { &old_success } else { &old_errors };
            let (level, message) = match (success, known.contains_key(&key)) {
                (true, true) => (
                    Level::Info,
                    format!("new success status `{status}` with the same body type"),
                ),
                (true, false) => (
                    Level::Breaking,
                    format!(
                        "new success status `{status}` of {name}: the return type changes, or \
                         progenitor cannot generate a method whose success bodies differ"
                    ),
                ),
                (false, true) => (
                    Level::Info,
                    format!(
                        "new error status `{status}`: it arrives as the typed error, no longer as `Error::UnexpectedResponse`"
                    ),
                ),
                (false, false) => (
                    Level::Warning,
                    format!("new error status `{status}` of {name}"),
                ),
            };
            self.at(location)
                .record(level, "response-status-added", message);
        }
        let new_errors = body_types(self.new, &after, false);
        if new_errors.keys().ne(old_errors.keys()) {
            let (was, is) = (error_type(&old_errors), error_type(&new_errors));
            let effect = if new_errors.len() > 1 {
                "progenitor cannot generate a method whose error bodies differ"
            } else {
                "code naming the error type stops compiling"
            };
            let message =
                format!("the error type of `{method}` changes from {was} to {is}: {effect}");
            self.at(base)
                .record(Level::Breaking, "response-error-type-changed", message);
        }
    }

    fn response(&mut self, status: &str, old: &Value, new: &Value, pointer: &str) {
        let (before, after) = (resolve(self.old, old).0, resolve(self.new, new).0);
        let success = is_success(status);
        let what = format!("the `{status}` response");
        self.prose(pointer, "description", &what, before, after);
        let old_content = entries(before.get("content"));
        let new_content = entries(after.get("content"));
        let content = join(pointer, "content");
        // Progenitor returns the JSON body typed if there is one, else bytes, else `()`.
        let (was, is) = (return_kind(&old_content), return_kind(&new_content));
        let (level, effect) = match (was == is, success) {
            (true, true) => (Level::Info, format!("the return type stays {is}")),
            (true, false) => (Level::Info, format!("the error body stays {is}")),
            (false, true) => (
                Level::Breaking,
                format!("the return type changes from {was} to {is}"),
            ),
            (false, false) => (
                Level::Warning,
                format!("the error body changes from {was} to {is}"),
            ),
        };
        for media_type in old_content.keys().filter(|m| !new_content.contains_key(*m)) {
            let message = format!("{what} is no longer documented as `{media_type}`: {effect}");
            self.at(join(&content, media_type)).record(
                level,
                "response-media-type-removed",
                message,
            );
        }
        for (media_type, media) in &new_content {
            let location = join(&content, media_type);
            if let Some(old_media) = old_content.get(media_type) {
                let what = format!("{what} body");
                let direction = Direction::Response;
                self.media(direction, &what, media_type, old_media, media, &location);
                continue;
            }
            let message = format!("{what} may now be `{media_type}`: {effect}");
            self.at(location)
                .record(level, "response-media-type-added", message);
        }
        for key in residual(before, after, &["description", "content"]) {
            let message =
                format!("`{key}` of {what} changed: it does not reach the generated code");
            self.at(join(pointer, &key))
                .record(Level::Info, "response-keyword-changed", message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointer::escape;

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
