//! Where changes are recorded: the two documents, the operation being compared, and the
//! changes found so far, with the recordings every part of the comparison shares.

use serde_json::Value;

use super::{Change, Level};
use crate::pointer::join;

/// Collects the changes between two documents.
pub(super) struct Differ<'a> {
    /// The old document.
    pub(super) old: &'a Value,
    /// The new document.
    pub(super) new: &'a Value,
    /// The operation being compared, `None` for document-wide parts.
    pub(super) operation: Option<String>,
    /// The changes found so far.
    pub(super) changes: Vec<Change>,
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
}
