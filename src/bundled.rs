//! The example site built into the binary, so that `trellis serve` with no argument works on a
//! fresh machine: `sites/greetings`, written out to a temporary folder at start.

use std::path::PathBuf;

macro_rules! files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../sites/greetings/", $path)))),*]
    };
}

/// Every file of `sites/greetings`, by relative path.
pub const GREETINGS: &[(&str, &str)] = files!(
    "site.yaml",
    "greetings.yaml",
    "templates/layouts/base.hbs",
    "templates/home.hbs",
    "templates/greet.hbs",
    "templates/search.hbs",
    "templates/profile.hbs",
    "templates/404.hbs",
    "templates/500.hbs",
    "static/site.css",
);

/// Write the bundled site to a fresh temporary folder and return it.
pub fn extract() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("trellis-greetings-{}", std::process::id()));
    for (rel, text) in GREETINGS {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(dir)
}
