//! Local corrections: an OpenAPI Overlay document applied to the merged upstream document.
//!
//! The corrections live in `openapi/overlay.yaml`, apart from the vendored pages, so that a
//! re-fetched page never loses them. Overlay 1.1 is used for its `copy` action, which lets a
//! correction move an upstream schema into a named component without restating its content, so
//! upstream's values keep flowing through.

use enumset::EnumSet;
use roas_overlay::apply::{Apply, ApplyErrorKind, ApplyOptions};
use roas_overlay::v1_1::Overlay;
use roas_overlay::validation::Validate;
use serde_json::Value;

use crate::Error;
use crate::extract::yaml_text_to_json;

/// An overlay action that matched nothing (upstream changed under the correction), or that adds
/// nothing upstream does not say itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleCorrection {
    /// Which of the two.
    pub outdated: Outdated,
    /// The action's index (0-based) in the overlay.
    pub index: usize,
    /// Its JSONPath target, and the source of a `copy`.
    pub target: String,
    /// Its description, empty when it has none.
    pub description: String,
}

/// What became of an overlay action that could not do its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outdated {
    /// Its target (or the source it copies) matches nothing: upstream changed under it.
    Stale,
    /// It adds nothing upstream lacks (descriptions aside): upstream now says it itself.
    Redundant,
}

/// A parsed and validated overlay, with the file it came from.
#[derive(Debug, Clone)]
pub struct Corrections {
    path: String,
    overlay: Overlay,
}

impl Corrections {
    /// Parses an overlay document (YAML or JSON).
    ///
    /// # Errors
    /// [`Error::Overlay`] naming `path` when the text is not YAML or not a valid Overlay, or
    /// when an action removes the whole document.
    pub fn parse(path: &str, text: &str) -> Result<Self, Error> {
        let invalid = |message: String| Error::Overlay {
            path: path.to_owned(),
            message,
        };
        let value = yaml_text_to_json(text).map_err(|p| invalid(p.to_string()))?;
        let overlay: Overlay = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        overlay
            .validate(EnumSet::empty())
            .map_err(|e| invalid(e.to_string()))?;
        // The Overlay library takes removing the root for a no-op, which would pass silently.
        if let Some(index) = overlay
            .actions
            .iter()
            .position(|a| a.remove == Some(true) && a.target.trim() == "$")
        {
            return Err(invalid(format!(
                "action {index} removes the whole document (target `$`): target the part to \
                 remove instead"
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            overlay,
        })
    }

    /// Applies every action in order, each on its own, and returns the ones that match nothing
    /// or add nothing (left out) instead of failing on the first: what `cargo xtask diff` needs
    /// to give its verdict on an upstream change that made a correction stale or redundant.
    /// `document` is only usable when this returns `Ok`.
    ///
    /// # Errors
    /// [`Error::Overlay`] for a failure other than a stale or redundant action.
    pub fn apply_each(&self, document: &mut Value) -> Result<Vec<StaleCorrection>, Error> {
        let mut outdated = Vec::new();
        for index in 0..self.overlay.actions.len() {
            if let Some(found) = self.apply_one(index, document)? {
                outdated.push(found);
            }
        }
        Ok(outdated)
    }

    /// Applies every action in order. On error `document` is left as it was.
    ///
    /// # Errors
    /// [`Error::StaleOverlayAction`] when an action's target matches nothing (upstream changed
    /// under the correction), [`Error::RedundantOverlayAction`] when an action adds nothing
    /// upstream lacks, [`Error::Overlay`] for any other failure.
    pub fn apply(&self, document: &mut Value) -> Result<(), Error> {
        let mut corrected = document.clone();
        for index in 0..self.overlay.actions.len() {
            if let Some(found) = self.apply_one(index, &mut corrected)? {
                return Err(match found.outdated {
                    Outdated::Stale => Error::StaleOverlayAction {
                        path: self.path.clone(),
                        index,
                        target: found.target,
                    },
                    Outdated::Redundant => Error::RedundantOverlayAction {
                        path: self.path.clone(),
                        index,
                        target: found.target,
                        description: found.description,
                    },
                });
            }
        }
        *document = corrected;
        Ok(())
    }

    /// Applies action `index`; a stale or redundant one leaves `document` as it was and is
    /// returned.
    fn apply_one(
        &self,
        index: usize,
        document: &mut Value,
    ) -> Result<Option<StaleCorrection>, Error> {
        let options = ApplyOptions::ErrorOnZeroMatch | ApplyOptions::ErrorOnMixedKindMatch;
        let action = &self.overlay.actions[index];
        let single = Overlay {
            actions: vec![action.clone()],
            ..self.overlay.clone()
        };
        let target = match &action.copy {
            Some(source) => format!("{} (copying {source})", action.target),
            None => action.target.to_string(),
        };
        let found = |outdated| StaleCorrection {
            outdated,
            index,
            target: target.clone(),
            description: action.description.clone().unwrap_or_default(),
        };
        let before = document.clone();
        match single.apply(document, options) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind,
                    ApplyErrorKind::ZeroMatch | ApplyErrorKind::CopySourceNotFound(_)
                ) =>
            {
                *document = before;
                return Ok(Some(found(Outdated::Stale)));
            }
            Err(e) => {
                return Err(Error::Overlay {
                    path: self.path.clone(),
                    message: format!("action {index}: {e}"),
                });
            }
        }
        // Only an update can say what upstream already says; a copy or a removal always acts.
        let update = action.copy.is_none() && action.remove != Some(true);
        if update && adds_nothing(document, &before) {
            *document = before;
            return Ok(Some(found(Outdated::Redundant)));
        }
        Ok(None)
    }
}

/// Keys whose text is documentation: a correction that changes only these adds nothing.
const DOCUMENTATION: [&str; 4] = ["description", "title", "example", "examples"];

/// Whether `after` holds nothing `before` lacks, documentation aside: every key `before` has
/// (with nothing added below it), every array element among `before`'s, every other value equal.
fn adds_nothing(after: &Value, before: &Value) -> bool {
    match (after, before) {
        (Value::Object(a), Value::Object(b)) => a.iter().all(|(key, value)| {
            DOCUMENTATION.contains(&key.as_str())
                || b.get(key).is_some_and(|old| adds_nothing(value, old))
        }),
        (Value::Array(a), Value::Array(b)) => a.iter().all(|value| {
            b.iter()
                .any(|old| adds_nothing(value, old) && adds_nothing(old, value))
        }),
        _ => after == before,
    }
}
