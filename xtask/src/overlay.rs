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

/// An overlay action that matched nothing: upstream changed under the correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleCorrection {
    /// The action's index (0-based) in the overlay.
    pub index: usize,
    /// Its JSONPath target, and the source of a `copy`.
    pub target: String,
    /// Its description, empty when it has none.
    pub description: String,
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
    /// instead of failing on the first: what `cargo xtask diff` needs to give its verdict on an
    /// upstream change that made a correction stale. `document` is only usable when this
    /// returns `Ok`.
    ///
    /// # Errors
    /// [`Error::Overlay`] for a failure other than a target or copy source that matches nothing.
    pub fn apply_each(&self, document: &mut Value) -> Result<Vec<StaleCorrection>, Error> {
        let options = ApplyOptions::ErrorOnZeroMatch | ApplyOptions::ErrorOnMixedKindMatch;
        let mut stale = Vec::new();
        for (index, action) in self.overlay.actions.iter().enumerate() {
            let single = Overlay {
                actions: vec![action.clone()],
                ..self.overlay.clone()
            };
            match single.apply(document, options) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind,
                        ApplyErrorKind::ZeroMatch | ApplyErrorKind::CopySourceNotFound(_)
                    ) =>
                {
                    let target = match &action.copy {
                        Some(source) => format!("{} (copying {source})", action.target),
                        None => action.target.to_string(),
                    };
                    stale.push(StaleCorrection {
                        index,
                        target,
                        description: action.description.clone().unwrap_or_default(),
                    });
                }
                Err(e) => {
                    return Err(Error::Overlay {
                        path: self.path.clone(),
                        message: format!("action {index}: {e}"),
                    });
                }
            }
        }
        Ok(stale)
    }

    /// Applies every action in order. On error `document` is left as it was.
    ///
    /// # Errors
    /// [`Error::StaleOverlayAction`] when an action's target matches nothing (upstream changed
    /// under the correction), [`Error::Overlay`] for any other failure.
    pub fn apply(&self, document: &mut Value) -> Result<(), Error> {
        let options = ApplyOptions::ErrorOnZeroMatch | ApplyOptions::ErrorOnMixedKindMatch;
        self.overlay
            .apply(document, options)
            .map(drop)
            .map_err(|e| match e.kind {
                ApplyErrorKind::ZeroMatch | ApplyErrorKind::CopySourceNotFound(_) => {
                    Error::StaleOverlayAction {
                        path: self.path.clone(),
                        index: e.action_index,
                        target: e.target,
                    }
                }
                _ => Error::Overlay {
                    path: self.path.clone(),
                    message: e.to_string(),
                },
            })
    }
}
