//! The diff's levels held against the code progenitor generates. For every rule fixture the
//! client is generated from its old and new documents (see `common::rule_fixture`), as `crates/moonshot-api` generates
//! it, and the public surfaces compared: a fixture rated breaking must lose or change something
//! old code could use (or fail to generate), and one rated only info must keep every item of
//! the old surface. Warnings (old code may stop compiling in some uses) are not held to either.
//!
//! Limits: a fixture is judged as a whole, so the info lines of a fixture that also holds a
//! breaking or warning line are not checked on their own; and a struct gaining a field is never
//! a loss here (it breaks only struct literals), so ratings that rest on that, such as
//! `response-property-added` being info, rely on the rule table's reasons.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use syn::{Fields, FnArg, ImplItem, Item, Visibility};

/// Breaking rules that leave every old item in place: the break is in decoding (old code
/// compiles, but responses it decoded stop decoding), or in struct literals and builders of a
/// request type that gains a required field (the surface gains a field; nothing is lost).
const SURFACE_KEPT: &[&str] = &["response-status-removed", "request-property-added"];

/// Fixtures whose old document progenitor cannot generate a client from, so there is no old
/// surface to compare (a request body of several media types).
const OLD_DOES_NOT_GENERATE: &[&str] = &["request-media-type-removed"];

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/diff/rules")
}

/// Every public item old code could name, as a line: struct fields with their types, whole
/// enums (a new variant breaks an exhaustive `match`), type aliases, and inherent methods
/// with their signatures.
fn surface(path: &Path) -> Result<BTreeSet<String>, String> {
    let document = xtask::diff::load(path.parent().unwrap_or(path), path)
        .map_err(|e| format!("loading: {e}"))?;
    // As crates/moonshot-api/build.rs generates it: every string-enum component is an open
    // enum with a variant per value (`#[non_exhaustive]`, so a new one breaks no `match`);
    // derives and hooks do not change the surface.
    let mut items = BTreeSet::new();
    let mut settings = progenitor::GenerationSettings::new();
    settings.with_interface(progenitor::InterfaceStyle::Positional);
    for name in xtask::open_enums::open_enum_names(&document) {
        for value in document["components"]["schemas"][&name]["enum"]
            .as_array()
            .into_iter()
            .flatten()
        {
            items.insert(format!("open enum {name} value {value}"));
        }
        settings.with_replacement(
            &name,
            format!("crate::types::{name}"),
            [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
        );
    }
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(document).map_err(|e| format!("parsing: {e}"))?;
    // progenitor panics (`todo!`) on some forms it does not support, such as a request body of
    // several media types; for the diff that is "does not generate", like its errors.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let generated =
        std::panic::catch_unwind(|| progenitor::Generator::new(&settings).generate_tokens(&spec));
    std::panic::set_hook(previous_hook);
    let tokens = match generated {
        Ok(result) => result.map_err(|e| format!("generating: {e}"))?,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            return Err(format!("progenitor panicked: {message}"));
        }
    };
    let file: syn::File = syn::parse2(tokens).map_err(|e| format!("parsing the code: {e}"))?;
    collect(&file.items, "", &mut items);
    Ok(items)
}

fn tokens(node: &impl quote::ToTokens) -> String {
    node.to_token_stream().to_string()
}

fn is_pub(visibility: &Visibility) -> bool {
    matches!(visibility, Visibility::Public(_))
}

fn collect(items: &[Item], module: &str, out: &mut BTreeSet<String>) {
    for item in items {
        match item {
            Item::Mod(inner) => {
                if let Some((_, items)) = &inner.content {
                    collect(items, &format!("{module}{}::", inner.ident), out);
                }
            }
            Item::Struct(item) if is_pub(&item.vis) => {
                out.insert(format!("struct {module}{}", item.ident));
                match &item.fields {
                    Fields::Named(fields) => {
                        for field in fields.named.iter().filter(|f| is_pub(&f.vis)) {
                            let name = field.ident.as_ref().map(tokens).unwrap_or_default();
                            let ty = tokens(&field.ty);
                            out.insert(format!("field {module}{}.{name}: {ty}", item.ident));
                        }
                    }
                    other => {
                        out.insert(format!("struct {module}{} {}", item.ident, tokens(other)));
                    }
                }
            }
            Item::Enum(item) if is_pub(&item.vis) => {
                let variants: Vec<String> = item.variants.iter().map(tokens).collect();
                out.insert(format!(
                    "enum {module}{} {{ {} }}",
                    item.ident,
                    variants.join(", ")
                ));
            }
            Item::Type(item) if is_pub(&item.vis) => {
                out.insert(format!(
                    "type {module}{} = {}",
                    item.ident,
                    tokens(&item.ty)
                ));
            }
            Item::Impl(item) if item.trait_.is_none() => {
                for member in &item.items {
                    if let ImplItem::Fn(function) = member
                        && is_pub(&function.vis)
                    {
                        // Argument types only: callers pass arguments by position, so a
                        // renamed argument breaks nothing.
                        let inputs: Vec<String> = function
                            .sig
                            .inputs
                            .iter()
                            .map(|input| match input {
                                FnArg::Typed(typed) => tokens(&typed.ty),
                                FnArg::Receiver(receiver) => tokens(receiver),
                            })
                            .collect();
                        out.insert(format!(
                            "fn {module}{}::{}({}) {}",
                            tokens(&item.self_ty),
                            function.sig.ident,
                            inputs.join(", "),
                            tokens(&function.sig.output)
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn every_fixtures_level_agrees_with_the_generated_code() {
    let mut disagreements = Vec::new();
    let mut fixtures = 0;
    for entry in std::fs::read_dir(rules_dir()).expect("the rule fixtures") {
        let dir = entry.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        let fixture = common::rule_fixture(&dir);
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let expected = std::fs::read_to_string(dir.join("expected.txt")).expect("expected.txt");
        let breaking: Vec<&str> = expected
            .lines()
            .filter_map(|line| line.strip_prefix("breaking "))
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        let old = match surface(&fixture.old) {
            Ok(old) => old,
            Err(e) => {
                if !OLD_DOES_NOT_GENERATE.contains(&name.as_str()) {
                    disagreements.push(format!("{name}: the old document does not generate: {e}"));
                }
                continue;
            }
        };
        fixtures += 1;
        let lost: Vec<String> = match surface(&fixture.new) {
            Ok(new) => old.difference(&new).cloned().collect(),
            Err(e) => vec![format!("(the new document does not generate: {e})")],
        };
        // A warning says old code may stop compiling in some uses; info says it cannot.
        let warned = expected.lines().any(|line| line.starts_with("warning "));
        if breaking.is_empty() && !warned && !lost.is_empty() {
            disagreements.push(format!(
                "{name}: rated info, but the new client loses {lost:#?}"
            ));
        }
        if !breaking.is_empty()
            && lost.is_empty()
            && !breaking.iter().all(|rule| SURFACE_KEPT.contains(rule))
        {
            disagreements.push(format!(
                "{name}: rated breaking ({breaking:?}), but the new client keeps every item of the old"
            ));
        }
    }
    assert!(fixtures >= 69, "{fixtures} fixtures compared");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
