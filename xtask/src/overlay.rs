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
    /// [`Error::Overlay`] naming `path` when the text is not YAML or not a valid Overlay.
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
        Ok(Self {
            path: path.to_owned(),
            overlay,
        })
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
