//! Configuration as written by a site's author: raw serde types (`raw`), YAML reading with
//! positions (`yaml`, the only module that knows the YAML crates), the rules that names follow
//! (`names`), YAML syntax errors explained (`syntax`), and diagnostics.
//! Nothing here knows HTTP, routing or templates; `crate::site` validates and compiles.

pub mod diagnostic;
pub mod names;
pub mod raw;
pub mod syntax;
pub mod yaml;

pub use diagnostic::Diagnostic;
