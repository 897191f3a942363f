//! The whole way from upstream pages to the merged document, without touching the disk.

use std::path::Path;

use serde_json::Value;

use crate::Error;
use crate::convert::to_openapi_30;
use crate::deprecated::document_deprecated_properties;
use crate::extract::{extract_block, parse_block};
use crate::families::flatten_families;
use crate::files::read_text;
use crate::hand_written;
use crate::ids::{assign_missing_ids, check_unique_ids, operations};
use crate::merge::{PageDocument, merge_pages};
use crate::open_enums::{name_enums, name_variants};
use crate::overlay::{Corrections, StaleCorrection};
use crate::references::check_references;
use crate::request_defaults::keep_request_defaults_on_the_server;

/// The upstream pages, relative to the workspace root.
pub const UPSTREAM_DIR: &str = "openapi/upstream";
/// The local corrections, relative to the workspace root.
pub const OVERLAY_FILE: &str = "openapi/overlay.yaml";
/// The merged document, relative to the workspace root.
pub const MERGED_FILE: &str = "openapi/openapi.yaml";

/// One upstream page: its name (as shown in errors) and its Markdown text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The page's name, e.g. `openapi/upstream/files-retrieve.md`.
    pub name: String,
    /// The Markdown text, as published.
    pub text: String,
}

/// Reads a page's OpenAPI document: extracts the block, parses it, checks the fence header
/// against the operation inside, and converts it to OpenAPI 3.0.
///
/// # Errors
/// Any extraction, YAML, version, header, 3.1-conversion or [`check_references`] error, naming
/// the page.
pub fn read_page(page: &Page) -> Result<PageDocument, Error> {
    let block = extract_block(&page.name, &page.text)?;
    let mut document = parse_block(&page.name, &block)?;
    let found: Vec<String> = operations(&document)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let header = format!("{} {}", block.method, block.path);
    if found != [header.as_str()] {
        let found = if found.is_empty() {
            "no operation".to_owned()
        } else {
            found.join(", ")
        };
        return Err(Error::HeaderMismatch {
            page: page.name.clone(),
            header,
            found,
        });
    }
    to_openapi_30(&page.name, &mut document)?;
    check_references(&page.name, &document)?;
    Ok(PageDocument {
        page: page.name.clone(),
        document,
    })
}

/// Builds the merged document from the pages and the corrections.
///
/// The steps: read each page ([`read_page`]); merge them; apply the overlay; give operations
/// without an id one derived from their summary; shape the result for the generated client
/// ([`shape_for_generation`]); check that every operation can be generated or is marked as
/// written by hand, that ids are unique, that every `$ref` is sound ([`check_references`]) and
/// that the result parses as OpenAPI 3.0.
///
/// # Errors
/// The first error of any step; nothing is written by this function.
pub fn build(pages: &[Page], corrections: Option<&Corrections>) -> Result<Value, Error> {
    let (merged, _) = build_with(pages, |merged| match corrections {
        Some(corrections) => corrections.apply(merged).map(|()| Vec::new()),
        None => Ok(Vec::new()),
    })?;
    Ok(merged)
}

/// [`build`], but a correction that matches nothing is left out and returned rather than
/// failing the build: `cargo xtask diff` reports it beside its verdict on the change.
///
/// # Errors
/// As [`build`], but never [`Error::StaleOverlayAction`].
pub fn build_reporting_stale(
    pages: &[Page],
    corrections: Option<&Corrections>,
) -> Result<(Value, Vec<StaleCorrection>), Error> {
    build_with(pages, |merged| match corrections {
        Some(corrections) => corrections.apply_each(merged),
        None => Ok(Vec::new()),
    })
}

fn build_with(
    pages: &[Page],
    correct: impl FnOnce(&mut Value) -> Result<Vec<StaleCorrection>, Error>,
) -> Result<(Value, Vec<StaleCorrection>), Error> {
    let documents = pages.iter().map(read_page).collect::<Result<Vec<_>, _>>()?;
    let origins = documents
        .iter()
        .flat_map(|d| {
            operations(&d.document)
                .into_iter()
                .map(|(operation, _)| (operation, d.page.clone()))
        })
        .collect();
    let mut merged = merge_pages(documents)?;
    // Corrections first: an id they pin is theirs, not one derived from a summary.
    let stale = correct(&mut merged)?;
    assign_missing_ids(&mut merged);
    shape_for_generation(&mut merged)?;
    hand_written::check(&merged, &origins)?;
    check_unique_ids(&merged)?;
    // The corrections and the shaping add references of their own.
    check_references("the merged document", &merged)?;
    serde_json::from_value::<openapiv3::OpenAPI>(merged.clone()).map_err(|e| {
        Error::InvalidMerged {
            detail: e.to_string(),
        }
    })?;
    Ok((merged, stale))
}

/// The rewrites that make the document generate a client people want: model-family request
/// bodies become one request type ([`flatten_families`]), defaults in requests stay the server's
/// ([`keep_request_defaults_on_the_server`]), a deprecated property's doc says so
/// ([`document_deprecated_properties`]) and every string enum becomes a named component that
/// the generated crate opens ([`name_enums`]), its variants named once ([`name_variants`]).
/// Each leaves an already shaped document as it is,
/// so documents read by `diff` go through them too.
///
/// # Errors
/// [`Error::FamilyConflict`] or [`Error::EnumNotOpenable`].
pub fn shape_for_generation(document: &mut Value) -> Result<(), Error> {
    flatten_families(document)?;
    keep_request_defaults_on_the_server(document);
    document_deprecated_properties(document);
    name_enums(document)?;
    name_variants(document);
    Ok(())
}

/// Reads every `*.md` page of `dir`, in file-name order; pages are named by their path
/// relative to `root` when they lie below it.
///
/// # Errors
/// [`Error::Read`] for an unreadable directory or page, [`Error::NotAFile`] for a page that
/// is a device or FIFO, [`Error::NoPages`] for none.
pub fn read_pages(root: &Path, dir: &Path) -> Result<Vec<Page>, Error> {
    let shown = |path: &Path| display_path(root, path);
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: shown(dir),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read {
            path: shown(dir),
            source,
        })?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| Error::Read {
            path: shown(&path),
            source,
        })?;
        // A link that leads nowhere (dangling, or a loop) is kept, so that reading it fails.
        let page = kind.is_file() || (kind.is_symlink() && !path.is_dir());
        if path.extension().is_some_and(|e| e == "md") && page {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(Error::NoPages { dir: shown(dir) });
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = read_text(&path, &shown(&path))?;
            Ok(Page {
                name: shown(&path),
                text,
            })
        })
        .collect()
}

/// Reads the corrections at `root`'s [`OVERLAY_FILE`]; a missing file means no corrections.
///
/// # Errors
/// [`Error::Read`], [`Error::NotAFile`] or [`Error::Overlay`].
pub fn read_corrections(root: &Path) -> Result<Option<Corrections>, Error> {
    match read_text(&root.join(OVERLAY_FILE), OVERLAY_FILE) {
        Ok(text) => Corrections::parse(OVERLAY_FILE, &text).map(Some),
        Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Builds the merged document from the pages in `pages_dir` and `root`'s corrections.
///
/// # Errors
/// As [`read_pages`], [`read_corrections`] and [`build`].
pub fn build_from_dir(root: &Path, pages_dir: &Path) -> Result<Value, Error> {
    let pages = read_pages(root, pages_dir)?;
    let corrections = read_corrections(root)?;
    build(&pages, corrections.as_ref())
}

/// [`build_reporting_stale`] on the pages in `pages_dir` and `root`'s corrections.
///
/// # Errors
/// As [`read_pages`], [`read_corrections`] and [`build_reporting_stale`].
pub fn build_from_dir_reporting_stale(
    root: &Path,
    pages_dir: &Path,
) -> Result<(Value, Vec<StaleCorrection>), Error> {
    let pages = read_pages(root, pages_dir)?;
    let corrections = read_corrections(root)?;
    build_reporting_stale(&pages, corrections.as_ref())
}

/// `path` relative to `root` with `/` separators when below it, else as given.
pub fn display_path(root: &Path, path: &Path) -> String {
    let Ok(relative) = path.strip_prefix(root) else {
        return path.display().to_string();
    };
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
