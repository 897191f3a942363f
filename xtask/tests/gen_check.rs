//! `cargo test` catches a committed merged document that no longer matches its sources.

use std::path::Path;

use xtask::generate::{Outcome, run};

#[test]
fn the_committed_merged_document_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    match run(root, true).expect("the pipeline succeeds on the committed pages") {
        Outcome::Unchanged => {}
        Outcome::Stale { diff } => {
            panic!(
                "openapi/openapi.yaml is stale: run `cargo xtask gen` and commit the result\n{diff}"
            )
        }
        Outcome::Written => panic!("check mode must never write"),
    }
}
