//! The integration tests, as one binary (`cargo test --test it`; `cargo test --test it routing`
//! runs one module). One binary links once and runs every test in one pool of threads, and the
//! sites that many tests read are loaded (or served) once per run and shared; see `common`.
//!
//! - In process (`common::Local`, through `trellis::Site::handle`): routing, query parameters,
//!   views and models, everything a response's status, headers and body say.
//! - Real HTTP against the real binary (`common::Server`): what only the wire shows (decoding
//!   of raw bytes, HEAD, the server's own headers, Host checks, static files, the access log),
//!   live reload, the CLI, and a real browser.
//! - Golden `check` output, the JSON Schemas, loading that never panics, the book's examples
//!   (`docs_examples`; `tutorial` serves the site the forms chapter ends with and does what it
//!   says over HTTP), and the modules' boundaries (`boundaries`: which crates each may use).

mod common;

mod admin;
mod admin_filters;
mod admin_raw_id;
mod archives;
mod attack_admin;
mod attack_forms;
mod attack_recent;
mod attacks;
mod auth;
mod backup;
mod boundaries;
mod browser;
mod build;
mod cli;
mod collections;
mod compression;
mod config_errors;
mod context;
mod cors;
mod crud;
mod csrf;
mod csv_export;
mod debug_page;
mod deploy;
mod django;
mod docs_examples;
mod facets;
mod fault;
mod feeds;
mod form_rules;
mod forms;
mod greetings;
mod history;
mod json;
mod limits;
mod many_to_many;
mod messages;
mod models;
mod no_panic;
mod properties;
mod proxy;
mod reload;
mod reverse;
mod routing;
mod schema;
mod security;
mod security_headers;
mod showcase;
mod tutorial;
