//! Trellis serves a whole web site from a folder of YAML and Handlebars templates.
//!
//! The request's path through the crate: `server` (actix, the catch-all handler) → `routing`
//! (path → route) → `query` (typed parameters) → `views` (the generic views) → `render`
//! (Handlebars). `config` reads the YAML; `site` validates it into an immutable `Site`.

pub mod admin;
pub mod auth;
pub mod bundled;
pub mod cli;
pub mod config;
pub mod content;
pub mod datetime;
pub mod db;
pub mod deploy;
pub mod export;
pub mod hosts;
pub mod logline;
pub mod proxy;
pub mod query;
pub mod reload;
pub mod render;
pub mod routing;
pub mod scaffold;
pub mod secret;
pub mod security;
pub mod server;
pub mod site;
pub mod statics;
pub mod views;

pub use site::Site;
