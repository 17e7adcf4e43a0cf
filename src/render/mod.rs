//! Templates: every `.hbs` file under the site's templates folder, registered by its path
//! relative to that folder without the extension (`posts/list`), so that a layout is used as a
//! partial block (`{{#> layouts/base}}…{{/layouts/base}}`). Output is HTML-escaped unless a
//! template uses triple braces. Helpers live in `helpers`.
//!
//! Templates are parsed once at load time; a syntax error, a partial that does not exist or a
//! `{{url "name" …}}` that cannot be reversed is a load error with file, line and column.

mod check;
pub mod helpers;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use handlebars::{Handlebars, Template};
use serde_json::Value;

use crate::config::Diagnostic;
use crate::routing::Router;

/// The compiled templates of one site.
pub struct Renderer {
    html: Handlebars<'static>,
    /// A second registry without HTML escaping, for inline `text/plain` bodies.
    plain: Handlebars<'static>,
    names: Vec<String>,
}

/// A template name as a route may write it (`home.hbs` or `home`), in canonical form.
pub fn canonical(name: &str) -> &str {
    name.strip_suffix(".hbs").unwrap_or(name)
}

impl Renderer {
    /// Load every template under `dir`. Errors carry the template's file, line and column; the
    /// templates that did compile are registered anyway, so that later checks (does a route's
    /// template exist?) still report their own mistakes.
    pub fn load(dir: &Path, router: Arc<Router>, static_url: &str) -> (Renderer, Vec<Diagnostic>) {
        let mut html = Handlebars::new();
        let mut plain = Handlebars::new();
        plain.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut html, router.clone(), static_url);
        helpers::register(&mut plain, router.clone(), static_url);

        let mut files = Vec::new();
        let mut errors = Vec::new();
        if dir.is_dir() {
            if let Err(e) = collect(dir, dir, &mut files) {
                errors.push(Diagnostic::new(
                    dir,
                    format!("cannot read templates folder: {e}"),
                ));
            }
        }
        files.sort();
        let mut compiled = Vec::new();
        for (name, path) in files {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(Diagnostic::new(&path, format!("cannot read template: {e}")));
                    continue;
                }
            };
            match Template::compile_with_name(&text, name.clone()) {
                Ok(t) => compiled.push((name, path, text, t)),
                Err(e) => errors.push(template_error(&path, &text, &e)),
            }
        }
        let names: Vec<String> = compiled.iter().map(|(n, ..)| n.clone()).collect();
        for (_, path, text, t) in &compiled {
            errors.extend(check::check(t, path, text, &names, &router));
        }
        for (name, _, _, t) in compiled {
            plain.register_template(&name, t.clone());
            html.register_template(&name, t);
        }
        let renderer = Renderer { html, plain, names };
        (renderer, errors)
    }

    /// Every template's canonical name, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn has(&self, name: &str) -> bool {
        self.html.has_template(canonical(name))
    }

    pub fn render(&self, name: &str, ctx: &Value) -> Result<String, String> {
        self.html
            .render(canonical(name), ctx)
            .map_err(|e| render_error(&e))
    }

    /// Register an inline template (a route's `body`), escaped as HTML or not at all.
    pub fn register_inline(
        &mut self,
        name: &str,
        text: &str,
        escape_html: bool,
        router: &Router,
    ) -> Result<(), (String, Option<(usize, usize)>)> {
        let t = Template::compile_with_name(text, name.to_string())
            .map_err(|e| (reason(&e), e.pos()))?;
        if let Some(d) = check::check(&t, Path::new(name), text, &self.names, router).first() {
            return Err((d.message.clone(), d.line.zip(d.col)));
        }
        if escape_html {
            self.html.register_template(name, t);
        } else {
            self.plain.register_template(name, t);
        }
        Ok(())
    }

    pub fn render_inline(
        &self,
        name: &str,
        escape_html: bool,
        ctx: &Value,
    ) -> Result<String, String> {
        let reg = if escape_html { &self.html } else { &self.plain };
        reg.render(name, ctx).map_err(|e| render_error(&e))
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "hbs") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((name, path));
        }
    }
    Ok(())
}

/// Handlebars' reason, without the parser's list of every rule it could have expected.
fn reason(e: &handlebars::TemplateError) -> String {
    let text = e.reason().to_string();
    match text.find(": expected ") {
        Some(i) if text.len() > 120 => format!(
            "{} (an unclosed or malformed {{{{...}}}} expression)",
            &text[..i]
        ),
        _ => text,
    }
}

fn template_error(path: &Path, text: &str, e: &handlebars::TemplateError) -> Diagnostic {
    let d = Diagnostic::new(path, format!("template syntax: {}", reason(e)));
    match e.pos() {
        Some((line, col)) => d.at_pos(text, line, col),
        None => d,
    }
}

fn render_error(e: &handlebars::RenderError) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(&format!(": {text}"));
        }
        source = inner.source();
    }
    s
}
