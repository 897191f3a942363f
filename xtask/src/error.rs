//! The one error type of the pipeline: every variant names the file it is about.

/// What went wrong while reading the upstream pages, merging them or writing the result.
///
/// Each message names the file (and where it helps, the line or the JSON pointer) and says what
/// to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A path given or found as an input file is a directory, device, FIFO or socket, which would
    /// be read without end or waited on forever.
    #[error("{path}: is {kind}, not a regular file: give the path of a file")]
    NotAFile {
        /// The path.
        path: String,
        /// What it is instead (`a FIFO`, `a device`).
        kind: &'static str,
    },
    /// A file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The upstream directory holds no page.
    #[error("{dir}: no upstream pages (*.md) found: vendor at least one docs page there")]
    NoPages {
        /// The directory searched.
        dir: String,
    },
    /// A page holds no OpenAPI block.
    #[error(
        "{page}: no OpenAPI block found: expected a fence of four backticks whose header reads \
         `yaml METHOD PATH` (three-backtick fences are code samples)"
    )]
    NoOpenApiBlock {
        /// The page.
        page: String,
    },
    /// A page holds more than one OpenAPI block.
    #[error(
        "{page}: {count} OpenAPI blocks found (at lines {lines}): a page must hold exactly one"
    )]
    SeveralOpenApiBlocks {
        /// The page.
        page: String,
        /// How many blocks were found.
        count: usize,
        /// The lines where they start.
        lines: String,
    },
    /// The header of an OpenAPI fence is not `yaml METHOD PATH`.
    #[error("{page}:{line}: OpenAPI fence header `{header}` must read `yaml METHOD PATH`")]
    BadFenceHeader {
        /// The page.
        page: String,
        /// The line of the fence.
        line: usize,
        /// The header as written.
        header: String,
    },
    /// An OpenAPI fence never closes: the page was cut short, or its closing fence is shorter
    /// than its opening one.
    #[error(
        "{page}:{line}: the OpenAPI fence opened here never closes: the page looks cut short; \
         fetch it again, or close the block with a line of four backticks"
    )]
    UnclosedFence {
        /// The page.
        page: String,
        /// The line of the opening fence.
        line: usize,
    },
    /// The OpenAPI block is not valid YAML.
    #[error("{page}:{line}:{column}: invalid YAML in the OpenAPI block: {message}")]
    Yaml {
        /// The page.
        page: String,
        /// Line in the page (1-based).
        line: usize,
        /// Column in the line (1-based).
        column: usize,
        /// What the YAML parser said.
        message: String,
    },
    /// A page's OpenAPI block, or a document file, is YAML but not an OpenAPI document.
    #[error("{page}: not an OpenAPI document: {detail}")]
    NotADocument {
        /// The page.
        page: String,
        /// What is wrong.
        detail: String,
    },
    /// The document declares a version this pipeline does not read.
    #[error(
        "{page}: unsupported OpenAPI version `{found}`: only 3.0.x and 3.1.x documents are read"
    )]
    UnsupportedVersion {
        /// The page.
        page: String,
        /// The version found.
        found: String,
    },
    /// The fence header names another operation than the document holds.
    #[error("{page}: the fence header says `{header}` but the document holds {found}")]
    HeaderMismatch {
        /// The page.
        page: String,
        /// The operation the header names.
        header: String,
        /// The operations the document holds.
        found: String,
    },
    /// An OpenAPI 3.1 form with no exact 3.0 equivalent, which progenitor cannot read.
    #[error(
        "{page}: {pointer}: {detail}: this OpenAPI 3.1 form has no exact 3.0 equivalent and \
         progenitor reads 3.0 only"
    )]
    Unsupported31 {
        /// The page.
        page: String,
        /// Where in the page's document.
        pointer: String,
        /// Which form.
        detail: String,
    },
    /// Two pages repeat a part of the document differently.
    #[error(
        "{pointer} differs between {first} and {second}: pages that repeat a part of the \
         document must repeat it identically"
    )]
    Conflict {
        /// The JSON pointer of the first difference.
        pointer: String,
        /// The page that defined it first.
        first: String,
        /// The page that defined it otherwise.
        second: String,
    },
    /// Two pages define the same method and path.
    #[error("{operation} is defined by both {first} and {second}: keep one of the pages")]
    DuplicateOperation {
        /// `METHOD PATH`.
        operation: String,
        /// The first page.
        first: String,
        /// The second page.
        second: String,
    },
    /// Two operations end up with the same id, so progenitor would generate one method twice.
    #[error(
        "operation id `{id}` is shared by {first} and {second}: give one of them another \
         `operationId` in openapi/overlay.yaml"
    )]
    DuplicateOperationId {
        /// The id, in snake_case.
        id: String,
        /// The first operation.
        first: String,
        /// The second operation.
        second: String,
    },
    /// The overlay does not parse or is not a valid Overlay document.
    #[error("{path}: invalid overlay: {message}")]
    Overlay {
        /// The overlay file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An overlay action matches nothing: upstream changed under a local correction.
    #[error(
        "{path}: action {index} (target `{target}`) matches nothing in the merged document: \
         upstream changed under this correction; update or delete it"
    )]
    StaleOverlayAction {
        /// The overlay file.
        path: String,
        /// The action's index (0-based).
        index: usize,
        /// The action's JSONPath target.
        target: String,
    },
    /// An overlay action adds nothing upstream lacks (descriptions aside).
    #[error(
        "{path}: correction {index} ({description}) on `{target}` is now upstream's own: \
         remove it (or rewrite it to add only what upstream still lacks)"
    )]
    RedundantOverlayAction {
        /// The overlay file.
        path: String,
        /// The action's index (0-based).
        index: usize,
        /// The action's JSONPath target.
        target: String,
        /// The action's description.
        description: String,
    },
    /// A local `$ref` points at nothing in its document.
    #[error(
        "{document}: {pointer} is `{reference}`, which points at nothing in the document: \
         define it, or correct the reference"
    )]
    DanglingReference {
        /// The document (a file, or the page directory it was built from).
        document: String,
        /// The JSON pointer of the `$ref`.
        pointer: String,
        /// The reference as written.
        reference: String,
    },
    /// A `$ref` is empty or leads outside its document, which the pipeline does not follow.
    #[error(
        "{document}: {pointer} is `{reference}`, not a reference within the document \
         (`#/components/...`): inline the schema it means, or correct the reference"
    )]
    NonLocalReference {
        /// The document (a page, a file, or the page directory it was built from).
        document: String,
        /// The JSON pointer of the `$ref`.
        pointer: String,
        /// The reference as written.
        reference: String,
    },
    /// A chain of `$ref`s makes a type hold itself by value: no finite value matches it, and
    /// the generated Rust type would be infinitely large.
    #[error(
        "{document}: {pointer}: the references {cycle} make a type that holds itself, which no \
         finite value matches: make a property along the chain optional, or hold the type in \
         an array"
    )]
    InfinitelySizedType {
        /// The document (a page, a file, or the page directory it was built from).
        document: String,
        /// The JSON pointer of the `$ref` that closes the chain.
        pointer: String,
        /// The names of the referenced schemas along the chain, `A -> B -> A`.
        cycle: String,
    },
    /// The merged document is not one progenitor's OpenAPI parser accepts.
    #[error("the merged document is not valid OpenAPI 3.0: {detail}")]
    InvalidMerged {
        /// What the parser said.
        detail: String,
    },
    /// Two model families give one field schemas that cannot be merged into one request type.
    #[error("the merged document: {pointer}: cannot merge the model families: {detail}")]
    FamilyConflict {
        /// Where.
        pointer: String,
        /// What differs.
        detail: String,
    },
    /// An enum cannot be given an open Rust type.
    #[error("the merged document: {pointer}: cannot open this enum: {detail}")]
    EnumNotOpenable {
        /// Where.
        pointer: String,
        /// Why, and what to do.
        detail: String,
    },
    /// An operation progenitor cannot generate, not marked as written by hand.
    #[error(
        "{page}: {operation}: progenitor cannot generate it ({reason}): write the call in the \
         `moonshot` crate and mark the operation `x-hand-written` in openapi/overlay.yaml"
    )]
    NotGenerable {
        /// The page the operation comes from.
        page: String,
        /// `METHOD PATH`.
        operation: String,
        /// What progenitor cannot do.
        reason: String,
    },
}
