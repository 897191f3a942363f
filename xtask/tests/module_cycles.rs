//! Imports run one way inside every crate of the workspace: no module depends, through any
//! chain of `use` lines or paths written inline (`crate::a::B`, `super::C`), on a module that
//! depends on it. A module's own descendants are part of it (a parent that re-exports its
//! children, and children that use their parent's items, are one room); cycles between
//! siblings, or through another branch of the tree, are refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One crate root (`lib.rs` or `main.rs`) and the modules its `mod` declarations reach, by
/// module path (`["chat", "stream"]`), each with its file.
fn modules(root_file: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let mut pending = vec![(Vec::<String>::new(), root_file.to_owned())];
    while let Some((path, file)) = pending.pop() {
        let text = std::fs::read_to_string(&file).expect("a source file");
        let dir = if path.is_empty() || file.ends_with("mod.rs") {
            file.parent().expect("a folder").to_owned()
        } else {
            file.with_extension("")
        };
        for name in declared_modules(&text) {
            let mut child = path.clone();
            child.push(name.clone());
            for candidate in [
                dir.join(format!("{name}.rs")),
                dir.join(&name).join("mod.rs"),
            ] {
                if candidate.is_file() {
                    pending.push((child.clone(), candidate));
                    break;
                }
            }
        }
        found.insert(path, file);
    }
    found
}

/// The names of `mod name;` declarations (modules in files of their own).
fn declared_modules(text: &str) -> Vec<String> {
    code_lines(text)
        .filter_map(|line| {
            let rest = line.trim_start();
            let rest = rest
                .strip_prefix("pub(crate) ")
                .or_else(|| rest.strip_prefix("pub "))
                .unwrap_or(rest);
            let name = rest.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_owned())
        })
        .collect()
}

/// The lines of `text` with `//` comments cut off.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
}

/// Every module path `text` names: `crate::` and `super::` paths, in `use` lines (braces
/// expanded) and written inline, resolved from `module`.
fn references(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let code: String = code_lines(text).collect::<Vec<_>>().join("\n");
    let mut found = Vec::new();
    for (start, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue; // `moonshot_api::...crate::`, or the second `super::` of `super::super::`
        }
        for path in expand(&code[start..]) {
            if let Some(resolved) = resolve(&path, module) {
                found.push(resolved);
            }
        }
    }
    found
}

/// The paths a path written at the start of `text` names, braces expanded:
/// `crate::{a::B, c}` gives `crate::a::B` and `crate::c`.
fn expand(text: &str) -> Vec<Vec<String>> {
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end > 0 {
            segments.push(rest[..end].to_owned());
        }
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix("::") {
            rest = after;
            if let Some(group) = rest.strip_prefix('{') {
                let close = matching_brace(group);
                let mut out = Vec::new();
                for part in split_top_level(&group[..close]) {
                    for tail in expand(part.trim()) {
                        let mut path = segments.clone();
                        path.extend(tail);
                        out.push(path);
                    }
                }
                return out;
            }
        } else {
            return vec![segments];
        }
    }
}

fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return index,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A `crate::`/`super::` path as a path from the crate root.
fn resolve(path: &[String], module: &[String]) -> Option<Vec<String>> {
    let mut resolved: Vec<String> = match path.first()?.as_str() {
        "crate" => Vec::new(),
        "super" => module.to_vec(),
        _ => return None,
    };
    let mut segments = path.iter().skip(usize::from(path[0] == "crate"));
    for segment in segments.by_ref() {
        if segment == "super" {
            resolved.pop()?;
        } else if segment == "self" {
            continue;
        } else {
            resolved.push(segment.clone());
        }
    }
    Some(resolved)
}

/// The module a path lands in: its longest prefix that is a module.
fn owner(path: &[String], known: &BTreeSet<Vec<String>>) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| known.contains(prefix))
        .unwrap_or_default()
}

/// The cycles of one crate root, as lists of module paths.
fn cycles(root_file: &Path) -> Vec<Vec<String>> {
    let modules = modules(root_file);
    let known: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("a source file");
        // A file's inline `mod tests` resolves `super::` to the file's own module.
        let mut inline = module.clone();
        inline.push("tests".to_owned());
        for path in references(&text, module)
            .into_iter()
            .chain(references(&text, &inline))
        {
            let target = owner(&path, &known);
            // Ancestors and descendants are one room.
            if target.starts_with(module) || module.starts_with(&target) {
                continue;
            }
            edges.entry(module.clone()).or_default().insert(target);
        }
    }
    strongly_connected(&known, &edges)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            component
                .iter()
                .map(|m| format!("crate::{}", m.join("::")))
                .collect()
        })
        .collect()
}

/// Tarjan's strongly connected components.
fn strongly_connected(
    nodes: &BTreeSet<Vec<String>>,
    edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
) -> Vec<Vec<Vec<String>>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, usize>,
        low: BTreeMap<Vec<String>, usize>,
        stack: Vec<Vec<String>>,
        on_stack: BTreeSet<Vec<String>>,
        out: Vec<Vec<Vec<String>>>,
    }
    fn visit(state: &mut State<'_>, node: &Vec<String>) {
        let n = state.index.len();
        state.index.insert(node.clone(), n);
        state.low.insert(node.clone(), n);
        state.stack.push(node.clone());
        state.on_stack.insert(node.clone());
        for next in state.edges.get(node).cloned().unwrap_or_default() {
            if !state.index.contains_key(&next) {
                visit(state, &next);
                let low = state.low[node].min(state.low[&next]);
                state.low.insert(node.clone(), low);
            } else if state.on_stack.contains(&next) {
                let low = state.low[node].min(state.index[&next]);
                state.low.insert(node.clone(), low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(&top);
                let done = top == *node;
                component.push(top);
                if done {
                    break;
                }
            }
            state.out.push(component);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for node in nodes {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.out
}

/// Every crate root of the workspace.
fn crate_roots() -> Vec<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut roots = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace.join("crates"))
        .expect("crates/")
        .map(|e| e.expect("an entry").path())
        .collect();
    dirs.push(workspace.join("xtask"));
    dirs.sort();
    for dir in dirs {
        for root in ["src/lib.rs", "src/main.rs"] {
            if dir.join(root).is_file() {
                roots.push(dir.join(root));
            }
        }
    }
    roots
}

#[test]
fn no_crate_has_a_module_cycle() {
    let roots = crate_roots();
    assert!(roots.len() >= 6, "{roots:?}");
    let mut found = Vec::new();
    for root in roots {
        for cycle in cycles(&root) {
            found.push(format!("{}: {}", root.display(), cycle.join(" <-> ")));
        }
    }
    assert!(
        found.is_empty(),
        "modules that depend on each other (move what both need into a module of its own \
         below them):\n{}",
        found.join("\n")
    );
}

#[test]
fn a_cycle_between_siblings_is_found_and_a_parent_child_pair_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        "mod a;\nmod b;\nmod c;\nuse crate::c::Z;\n",
    )
    .expect("w");
    std::fs::write(src.join("a.rs"), "use crate::{b::X, c};\n").expect("w");
    std::fs::write(src.join("b.rs"), "fn f() { super::a::Y::new(); }\n").expect("w");
    std::fs::create_dir(src.join("c")).expect("mkdir");
    std::fs::write(src.join("c/mod.rs"), "mod d;\npub use d::Z;\n").expect("w");
    std::fs::write(src.join("c/d.rs"), "use super::W; // a parent's item\n").expect("w");

    let found = cycles(&src.join("lib.rs"));

    assert_eq!(found.len(), 1, "{found:?}");
    let mut cycle = found[0].clone();
    cycle.sort();
    assert_eq!(cycle, ["crate::a", "crate::b"]);
}
