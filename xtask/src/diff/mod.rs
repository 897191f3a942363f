//! `cargo xtask diff`: what an upstream change means for the generated client.
//!
//! Two versions of the API document are compared operation by operation, following `$ref`s into
//! the component schemas, so that a schema change is reported at every operation (and every
//! place in it) that uses the schema. Each change gets a [`Level`] judged by what happens to the
//! Rust code progenitor generates: `breaking` when code that compiled against the old client
//! stops compiling or a response that decoded stops decoding, `warning` when it may, `info`
//! when it cannot. The levels start from oasdiff's and are tightened where a Rust client is more
//! fragile: methods take their parameters positionally, fields are `T` or `Option<T>` by
//! required-ness and nullability, and enum values are variants. `cargo xtask gen` makes every
//! string enum a named component, which the generated crate opens (unknown values decode into
//! `Other`); an enum left inline (a `oneOf`'s tag, or in a document not shaped so) is closed.
//!
//! Each change's `location` is a JSON pointer into the operation as if its `$ref`s were inlined
//! (into the old document for things removed, the new one otherwise); document-wide changes have
//! no operation. The level below is a rule's usual one; the reason says when it is lower.
//!
//! | Rule | Level | Why |
//! | --- | --- | --- |
//! | `operation-added` | info | a new method; nothing existing changes |
//! | `operation-removed` | breaking | its method disappears |
//! | `operation-id-changed` | breaking | the method is renamed (info when the snake_case name stays) |
//! | `operation-keyword-changed` | info | tags, docs links, `deprecated`, extensions: no effect on the method |
//! | `security-requirement-added` | warning | code compiles, but calls need credentials they did not (info if other ways remain) |
//! | `security-requirement-removed` | warning | credentials the caller sends may stop being accepted (info if none is needed now) |
//! | `request-parameter-added` | breaking | positional methods gain an argument, even for an optional parameter (declaration order does not matter: progenitor sorts them) |
//! | `request-parameter-removed` | breaking | the method loses an argument |
//! | `request-parameter-became-required` | breaking | the argument changes from `Option<T>` to `T` |
//! | `request-parameter-became-optional` | breaking | the argument changes from `T` to `Option<T>` |
//! | `request-parameter-renamed` | info | a path parameter's new name only renames the argument |
//! | `request-parameter-type-changed` | breaking | the argument's type changes |
//! | `request-parameter-became-nullable` | breaking | the argument becomes `Option<T>` (info when it already was) |
//! | `request-parameter-became-non-nullable` | breaking | the argument loses its `Option` (info when it keeps one) |
//! | `request-parameter-keyword-changed` | warning | `style`, `explode` and the like change what goes on the wire |
//! | `request-body-added` | breaking | the method gains a body argument |
//! | `request-body-removed` | breaking | the method loses its body argument |
//! | `request-body-keyword-changed` | info | progenitor takes the body as a required argument whatever `required` says |
//! | `request-body-type-changed` | breaking | the body argument's type changes |
//! | `request-body-became-nullable` | breaking | the body type changes |
//! | `request-body-became-non-nullable` | breaking | the body type changes |
//! | `request-media-type-added` | breaking | progenitor cannot generate a body of several media types (warning when the new one replaces the only one) |
//! | `request-media-type-removed` | breaking | the body argument's type changes |
//! | `request-property-added` | breaking | a required field must be set (warning when optional: only struct literals break) |
//! | `request-property-removed` | breaking | the field disappears |
//! | `request-property-became-required` | breaking | the field changes from `Option<T>` to `T` (info when its type stays: nullable, a `Vec`, a map or a `default`) |
//! | `request-property-became-optional` | breaking | the field changes from `T` to `Option<T>` (info when its type stays) |
//! | `request-property-type-changed` | breaking | the field's type changes |
//! | `request-property-became-nullable` | breaking | the field becomes `Option<T>` (info when it already was) |
//! | `request-property-became-non-nullable` | breaking | the field loses its `Option` (info when it keeps one) |
//! | `request-enum-value-added` | warning | a new variant to send: an exhaustive `match` on a closed enum stops compiling (info for an open enum: every named string enum) |
//! | `request-enum-value-removed` | breaking | the variant disappears, from an open enum too |
//! | `response-status-added` | breaking | a success body of another type changes the return type or fails generation (info for one of the same type; errors: info, warning for another type) |
//! | `response-status-removed` | breaking | a success response stops decoding (warning for an error status: it arrives as `UnexpectedResponse`) |
//! | `response-error-type-changed` | breaking | the method's `Error<E>` changes, or error bodies of several types fail generation |
//! | `response-media-type-added` | breaking | the return type changes between `()`, bytes and a typed JSON value (info when it stays; warning when an error body changes so) |
//! | `response-media-type-removed` | breaking | likewise (info when the return type stays; warning for error bodies) |
//! | `response-keyword-changed` | info | headers and links do not reach the generated code |
//! | `response-body-type-changed` | breaking | the return type changes |
//! | `response-body-became-nullable` | breaking | the return type changes |
//! | `response-body-became-non-nullable` | breaking | the return type changes |
//! | `response-property-added` | info | a new `Option` field (warning when required: a server omitting it fails decoding) |
//! | `response-property-removed` | breaking | the field disappears |
//! | `response-property-became-required` | breaking | the field loses its `Option` (warning when its type stays: responses without it stop decoding) |
//! | `response-property-became-optional` | breaking | the field becomes `Option<T>` (info when its type stays) |
//! | `response-property-type-changed` | breaking | the field's type changes and old values stop decoding |
//! | `response-property-became-nullable` | breaking | the field becomes `Option<T>`, and `null` failed to decode before (info when it already was) |
//! | `response-property-became-non-nullable` | breaking | the field loses its `Option` (info when it keeps one) |
//! | `response-enum-value-added` | breaking | a closed enum fails to decode the value, and gains a variant (info for an open enum, which is `#[non_exhaustive]` and kept the value in `Other`) |
//! | `response-enum-value-removed` | breaking | the variant disappears, from an open enum too |
//! | `schema-keyword-changed` | warning | constraints and extensions can change validation or types (breaking when a `default` turns an optional field's `Option<T>` into `T` or back) |
//! | `schema-added` | info | a new type |
//! | `schema-removed` | breaking | every component schema is a type; it disappears |
//! | `security-scheme-added` | info | the caller configures auth; nothing generated changes |
//! | `security-scheme-removed` | warning | credentials may stop being accepted |
//! | `security-scheme-changed` | warning | credentials may stop being accepted |
//! | `api-version-changed` | info | only the generated client's `api-version` value changes, a header the facade does not send |
//! | `servers-changed` | info | the caller gives the base URL |
//! | `document-keyword-changed` | info | document metadata does not reach the generated code |
//! | `description-changed` | info | summaries, descriptions and titles are documentation |
//! | `example-changed` | info | examples are documentation |
//!
//! Beside the table, `overlay-correction-stale` (breaking) says that the new pages left a local
//! correction of `openapi/overlay.yaml` matching nothing: the verdicts are then given on the
//! pages with the other corrections applied, and `gen` fails until the correction is revisited.
//! `overlay-correction-redundant` (info) says that the new pages now say what a correction adds
//! (an `update` that adds no property, enum value or schema, descriptions aside): it is left out
//! of the verdicts and `gen` fails until it is removed. A correction already stale or redundant
//! on the old side is not a finding of the change.
//!
//! Request and response bodies that are not JSON are read or sent as bytes, so changes inside
//! their schemas are `info` at most. Component schemas that no operation uses still become
//! types; their changes are reported without an operation, judged as response types.

mod compare;
mod differ;
mod navigate;
mod report;
mod schema;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::convert::to_openapi_30;
use crate::extract::yaml_text_to_json;
use crate::files::read_text;
use crate::overlay::{Outdated, StaleCorrection};
use crate::pipeline::{
    MERGED_FILE, OVERLAY_FILE, UPSTREAM_DIR, build_from_dir, build_from_dir_reporting_stale,
    display_path, shape_for_generation,
};
use crate::references::check_references;

pub use compare::compare;
pub use report::render;

/// How much a change matters to users of the generated client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Safe: code and decoding are unaffected.
    Info,
    /// May break, depending on how the client is used or what the server sends.
    Warning,
    /// Code that compiled stops compiling, or a response that decoded stops decoding.
    Breaking,
}

impl Level {
    /// The level's name, as printed and as given to `--fail-on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Breaking => "breaking",
        }
    }
}

/// One change between the two documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The rule that found it: a stable kebab-case id from the table in this module's docs.
    pub rule: String,
    /// How much it matters.
    pub level: Level,
    /// The operation it affects (`GET /v1/files/{file_id}`), or `None` for document-wide changes.
    pub operation: Option<String>,
    /// Where: a JSON pointer, through `$ref`s as if they were inlined.
    pub location: String,
    /// What changed and what it does to the generated code.
    pub message: String,
}

/// How to print the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text, grouped by operation, breaking first.
    Text,
    /// Markdown tables, for a pull request.
    Markdown,
    /// A JSON object whose `changes` array holds one object per change.
    Json,
}

/// Output options shared by `diff` and `fetch`.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// How to print the changes.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit with 1 when a change reaches this level.
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = Level::Breaking)]
    pub fail_on: Level,
}

/// The arguments of `cargo xtask diff`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The old side: a directory of upstream pages or an OpenAPI document (JSON or YAML).
    /// Defaults to the committed openapi/openapi.yaml.
    #[arg(long, value_name = "PATH")]
    pub old: Option<PathBuf>,
    /// The new side, likewise. Defaults to what the pages in openapi/upstream/ produce.
    #[arg(long, value_name = "PATH")]
    pub new: Option<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Compares the two sides the arguments name.
///
/// # Errors
/// Any error reading or building either side; nothing is written.
pub fn run(root: &Path, args: &DiffArgs) -> Result<Vec<Change>, Error> {
    let old = args.old.clone().unwrap_or_else(|| root.join(MERGED_FILE));
    let new = args.new.clone().unwrap_or_else(|| root.join(UPSTREAM_DIR));
    let (old, was_outdated) = load_reporting_stale(root, &old)?;
    let (new, outdated) = load_reporting_stale(root, &new)?;
    let mut changes = compare(&old, &new);
    // A correction that was already stale or redundant before the change is not its finding.
    changes.extend(
        outdated
            .iter()
            .filter(|c| !was_outdated.contains(c))
            .map(stale_correction),
    );
    changes.sort_by_key(|c| std::cmp::Reverse(c.level));
    Ok(changes)
}

/// A correction the new pages made stale or redundant, as a finding of its own.
fn stale_correction(stale: &StaleCorrection) -> Change {
    let what = if stale.description.is_empty() {
        String::new()
    } else {
        format!(" ({})", stale.description.trim_end_matches('.'))
    };
    if stale.outdated == Outdated::Redundant {
        return Change {
            rule: REDUNDANT_CORRECTION.to_owned(),
            level: Level::Info,
            operation: None,
            location: format!("{OVERLAY_FILE}#/actions/{}", stale.index),
            message: format!(
                "correction {}{what} on `{}` adds nothing the new pages lack: they now say it \
                 themselves, so remove it (`cargo xtask gen` fails until then); the verdicts \
                 are for the pages without it",
                stale.index, stale.target
            ),
        };
    }
    Change {
        rule: STALE_CORRECTION.to_owned(),
        level: Level::Breaking,
        operation: None,
        location: format!("{OVERLAY_FILE}#/actions/{}", stale.index),
        message: format!(
            "correction {}{what} targets `{}`, which the new pages no longer have: `cargo xtask \
             gen` fails until it is updated or deleted; the other verdicts are for the pages \
             without it",
            stale.index, stale.target
        ),
    }
}

/// The rule of a correction that an upstream change made stale.
pub const STALE_CORRECTION: &str = "overlay-correction-stale";

/// The rule of a correction that an upstream change made redundant: upstream says it itself.
pub const REDUNDANT_CORRECTION: &str = "overlay-correction-redundant";

/// [`load`], but a directory of pages is built with the corrections that still apply, and
/// those that match nothing are returned.
///
/// # Errors
/// As [`load`], but never [`Error::StaleOverlayAction`].
pub fn load_reporting_stale(
    root: &Path,
    path: &Path,
) -> Result<(Value, Vec<StaleCorrection>), Error> {
    if path.is_dir() {
        let (document, stale) = build_from_dir_reporting_stale(root, path)?;
        let shown = display_path(root, path);
        check_references(&shown, &document)?;
        return Ok((document, stale));
    }
    load(root, path).map(|document| (document, Vec::new()))
}

/// Reads one side: a directory of upstream pages goes through the pipeline with `root`'s overlay
/// (writing nothing); a file is read as one OpenAPI document, JSON or YAML, brought to 3.0.
///
/// # Errors
/// [`Error::Read`] for a missing path, [`Error::NotADocument`] or [`Error::UnsupportedVersion`]
/// for a file that is not an OpenAPI 3.0 or 3.1 document, any error of [`check_references`]
/// for a bad `$ref`, and any pipeline error for pages.
pub fn load(root: &Path, path: &Path) -> Result<Value, Error> {
    let shown = display_path(root, path);
    let metadata = std::fs::metadata(path).map_err(|source| Error::Read {
        path: shown.clone(),
        source,
    })?;
    if metadata.is_dir() {
        let document = build_from_dir(root, path)?;
        check_references(&shown, &document)?;
        return Ok(document);
    }
    let mut document = load_file(path, &shown)?;
    check_references(&shown, &document)?;
    shape_for_generation(&mut document)?;
    Ok(document)
}

/// Reads one document file, JSON or YAML, brought to 3.0.
fn load_file(path: &Path, shown: &str) -> Result<Value, Error> {
    let text = read_text(path, shown)?;
    let not_a_document = |detail: String| Error::NotADocument {
        page: shown.to_owned(),
        detail,
    };
    let mut document = yaml_text_to_json(&text).map_err(|p| not_a_document(p.to_string()))?;
    if !document.is_object() {
        return Err(not_a_document("it is not a mapping".to_owned()));
    }
    to_openapi_30(shown, &mut document)?;
    Ok(document)
}

/// Whether any change reaches `fail_on`.
pub fn fails(changes: &[Change], fail_on: Level) -> bool {
    changes.iter().any(|c| c.level >= fail_on)
}
