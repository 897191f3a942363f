//! The command's modules import one way: each reaches the others through their modules, never
//! through an item of `main.rs`, which only parses the command line and dispatches.

use std::collections::BTreeSet;
use std::path::Path;

/// The first segment of each path written after `crate::` in `source`, groups included.
fn crate_paths(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (start, _) in source.match_indices("crate::") {
        let rest = &source[start + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.push(first_segment(&item));
        } else {
            names.push(first_segment(rest));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

fn first_segment(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn command_modules_import_modules_not_items_of_main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let main = std::fs::read_to_string(src.join("main.rs")).expect("reading src/main.rs");
    let modules: BTreeSet<&str> = main
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';'))
        .collect();
    assert!(modules.contains("report"), "main.rs declares its modules");
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&src).expect("listing src/") {
        let path = entry.expect("reading src/").path();
        if path.file_name().is_some_and(|n| n == "main.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("reading a module");
        for name in crate_paths(&source) {
            if !modules.contains(name.as_str()) {
                wrong.push(format!("{}: crate::{name}", path.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "these reach into main.rs; move what they use into a module: {wrong:#?}"
    );
}
