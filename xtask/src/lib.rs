//! Maintainers' tooling for the Moonshot client workspace.
//!
//! Data flows one way: the upstream docs pages in `openapi/upstream/` and the local corrections in
//! `openapi/overlay.yaml` go through [`pipeline::build`] into the one merged OpenAPI document,
//! `openapi/openapi.yaml`, which [`generate`] writes and the `moonshot-api` crate's build script hands
//! to progenitor. [`diff`] judges what an upstream change means for the generated Rust client, and
//! [`fetch`] brings the pages anew.

pub mod canonical;
pub mod convert;
pub mod deprecated;
pub mod diff;
pub mod error;
pub mod extract;
pub mod families;
pub mod fetch;
pub mod files;
pub mod generate;
pub mod hand_written;
pub mod ids;
pub mod merge;
pub mod open_enums;
pub mod overlay;
pub mod pipeline;
pub mod pointer;
pub mod references;
pub mod request_defaults;
pub mod sources;
pub mod workspace;

pub use error::Error;
