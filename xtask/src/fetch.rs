//! `cargo xtask fetch`: brings the upstream pages anew.
