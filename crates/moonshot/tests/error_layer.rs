//! The error type sits below the resources: it knows transport, the API, decoding and input,
//! and names no resource (files, batches, chat), which all depend on it.

use std::path::Path;

/// What the error module may reach inside the crate: itself and the retry policy it reads.
const ALLOWED: [&str; 2] = ["error", "retry"];

#[test]
fn the_error_module_names_no_resource() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = vec![src.join("error.rs")];
    for entry in std::fs::read_dir(src.join("error")).expect("listing src/error") {
        sources.push(entry.expect("reading src/error").path());
    }
    let mut wrong = Vec::new();
    for path in sources {
        let text = std::fs::read_to_string(&path).expect("reading the error module");
        for (at, _) in text.match_indices("crate::") {
            let name: String = text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !ALLOWED.contains(&name.as_str()) {
                wrong.push(format!("{}: crate::{name}", path.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the error module reaches into resources; carry ids and statuses instead: {wrong:#?}"
    );
}
