//! An operation's request body, and the media type objects of request and response bodies.

use serde_json::{Value, json};

use super::{is_json, method_name};
use crate::diff::Level;
use crate::diff::differ::Differ;
use crate::diff::navigate::{entries, residual, resolve, show};
use crate::diff::schema::{Direction, Root, Site};
use crate::ids::LocatedOperation;
use crate::pointer::join;

impl Differ<'_> {
    /// Compares the request bodies of an operation.
    pub(super) fn request_body(&mut self, old: &LocatedOperation<'_>, new: &LocatedOperation<'_>) {
        let method = method_name(new.operation);
        let before = old
            .operation
            .get("requestBody")
            .map(|b| resolve(self.old, b).0);
        let after = new
            .operation
            .get("requestBody")
            .map(|b| resolve(self.new, b).0);
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
    pub(super) fn media(
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
}
