//! `cargo xtask diff`: what an upstream change means for the generated client.
