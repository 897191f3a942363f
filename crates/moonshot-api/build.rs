//! Generates the client from the merged OpenAPI document with progenitor.
//!
//! The document is written by `cargo xtask gen`; nothing generated is committed. Two things are
//! decided here rather than by progenitor's defaults:
//! - every string-enum component becomes an open enum (`open_enums.rs`, one `open_enum!` call
//!   each, its variants named by the document's `x-enum-varnames`) that progenitor refers to
//!   instead of generating a closed one;
//! - operations marked `x-hand-written` are left out: progenitor cannot generate them, and the
//!   `moonshot` crate writes them on the generated types.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The operation extension `cargo xtask gen` requires on what progenitor cannot generate.
const HAND_WRITTEN: &str = "x-hand-written";

/// The schema extension where `cargo xtask gen` names each string value's Rust variant.
const VARIANT_NAMES: &str = "x-enum-varnames";

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    // A symbolic link to the workspace's openapi/openapi.yaml, so that the published package
    // carries the document (cargo packages what a link points to).
    let mut spec_path = manifest_dir.join("openapi.yaml");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let mut text = std::fs::read_to_string(&spec_path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e}; run `cargo xtask gen`",
            spec_path.display()
        )
    });
    // A checkout without symbolic links holds the link's target as text.
    if !text.contains('\n') && text.trim().ends_with("openapi.yaml") {
        spec_path = manifest_dir.join(text.trim());
        println!("cargo:rerun-if-changed={}", spec_path.display());
        text = std::fs::read_to_string(&spec_path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", spec_path.display()));
    }
    let mut document: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "parsing {}: {e}; run `cargo xtask gen`",
            spec_path.display()
        )
    });
    remove_hand_written(&mut document);
    let open_enums = open_enums(&document);
    let families = model_families(&document);
    let spec: openapiv3::OpenAPI = serde_json::from_value(document).unwrap_or_else(|e| {
        panic!(
            "reading {} as OpenAPI 3.0: {e}; run `cargo xtask gen`",
            spec_path.display()
        )
    });

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Positional)
        .with_derive("schemars::JsonSchema")
        .with_derive("PartialEq")
        // Per-call headers, timeouts and the response head come from `src/hooks.rs`.
        .with_hooks(progenitor::HooksMode::Expected);
    for open in &open_enums {
        settings.with_replacement(
            &open.name,
            format!("crate::types::{}", open.name),
            [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
        );
    }
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("generating the client from {}: {e}", spec_path.display()));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    write_unparsed(&out_dir.join("codegen.rs"), syn::parse2(tokens));
    write_generated(
        &out_dir.join("open_enums.rs"),
        &render_open_enums(&open_enums),
    );
    write_generated(&out_dir.join("model_families.rs"), &families);

    // Typed httpmock helpers for users' tests, behind the `mock` feature.
    if std::env::var_os("CARGO_FEATURE_MOCK").is_some() {
        let tokens = progenitor::Generator::new(&settings)
            .httpmock(&spec, "crate")
            .unwrap_or_else(|e| panic!("generating the mocks from {}: {e}", spec_path.display()));
        write_unparsed(&out_dir.join("mock.rs"), syn::parse2(tokens));
    }
}

/// The model families of every request body `cargo xtask gen` merged from a family `oneOf`
/// (its `x-model-families`: each family's title and documented model ids), as one constant.
fn model_families(document: &Value) -> String {
    let mut rows = Vec::new();
    for schema in document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(_, schema)| schema)
    {
        for (title, ids) in schema
            .get("x-model-families")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let ids: Vec<&str> = ids
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            rows.push(format!("    ({title:?}, &{ids:?}),\n"));
        }
    }
    format!(
        "/// The model families the document describes: each family's title and the model ids it\n\
         /// documents (from the `x-model-families` that `cargo xtask gen` keeps of the request's\n\
         /// discriminator).\n\
         pub const MODEL_FAMILIES: &[(&str, &[&str])] = &[\n{}];\n",
        rows.concat()
    )
}

/// Removes the operations marked as written by hand (and path items left empty).
fn remove_hand_written(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        if let Some(item) = item.as_object_mut() {
            item.retain(|_, operation| operation.get(HAND_WRITTEN).is_none());
        }
    }
    paths.retain(|_, item| item.as_object().is_none_or(|i| !i.is_empty()));
}

/// A string-enum component and the Rust variant of each of its values.
struct OpenEnumSchema {
    name: String,
    description: Option<String>,
    variants: Vec<(String, String)>,
}

/// Every string-enum component of the document (`cargo xtask gen` names every inline one), with
/// the variant names `gen` wrote beside its values.
fn open_enums(document: &Value) -> Vec<OpenEnumSchema> {
    let Some(schemas) = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    schemas
        .iter()
        .filter_map(|(name, schema)| {
            let values: Vec<&str> = schema
                .get("enum")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            if values.is_empty() {
                return None;
            }
            let names: Vec<&str> = schema
                .get(VARIANT_NAMES)
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert!(
                names.len() == values.len(),
                "the string enum `{name}` has {} values but {} names in `{VARIANT_NAMES}`; run \
                 `cargo xtask gen`",
                values.len(),
                names.len()
            );
            let variants = names
                .into_iter()
                .zip(values)
                .map(|(variant, value)| (variant.to_owned(), value.to_owned()))
                .collect();
            Some(OpenEnumSchema {
                name: name.clone(),
                description: schema
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                variants,
            })
        })
        .collect()
}

/// One `open_enum!` call per open enum, and the list of them all.
fn render_open_enums(open_enums: &[OpenEnumSchema]) -> String {
    let mut code = String::new();
    for open in open_enums {
        code.push_str("crate::open_enum! {\n");
        for line in open
            .description
            .as_deref()
            .unwrap_or("An open set of values.")
            .lines()
        {
            let _ = writeln!(code, "    #[doc = {:?}]", line);
        }
        let _ = writeln!(code, "    {} {{", open.name);
        for (variant, value) in &open.variants {
            let _ = writeln!(code, "        #[doc = {:?}]", format!("`{value}`"));
            let _ = writeln!(code, "        {variant} => {value:?},");
        }
        code.push_str("    }\n}\n\n");
    }
    code.push_str(
        "/// Every open enum of this crate, by schema name.\n\
         #[doc(hidden)]\n\
         pub const OPEN_ENUMS: &[crate::OpenEnumEntry] = &[\n",
    );
    for open in open_enums {
        let name = &open.name;
        let _ = writeln!(
            code,
            "    crate::OpenEnumEntry {{ name: {name:?}, known: <{name} as crate::OpenEnum>::KNOWN, \
             decode: |json| serde_json::from_str::<{name}>(json).map(|v| (v.as_str().to_owned(), \
             crate::OpenEnum::is_known(&v))) }},"
        );
    }
    code.push_str("];\n");
    code
}

/// Formats progenitor's tokens and writes them with a header saying where they come from.
fn write_unparsed(path: &Path, file: syn::Result<syn::File>) {
    let file = file.expect("progenitor emits valid Rust");
    write_generated(path, &prettyplease::unparse(&file));
}

fn write_generated(path: &Path, code: &str) {
    let code = format!("// Generated from openapi/openapi.yaml in build.rs; do not edit.\n{code}");
    std::fs::write(path, code).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
