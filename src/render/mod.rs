//! Templates: every `.hbs` file under the site's templates folder, registered by its path
//! relative to that folder without the extension (`posts/list`), so that a layout is used as a
//! partial block (`{{#> layouts/base}}…{{/layouts/base}}`). Output is HTML-escaped unless a
//! template uses triple braces. Helpers live in `helpers`.
//!
//! Templates are parsed once at load time; a syntax error, a partial that does not exist or a
//! `{{url "name" …}}` that cannot be reversed is a load error with file, line and column.

mod check;
mod fold;
pub mod helpers;
pub mod markdown;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use handlebars::{Context, Handlebars, Template};
use serde_json::Value;

use crate::config::Diagnostic;
use crate::routing::Router;
use crate::statics::StaticUrls;

/// How values are escaped as they are written into a template's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// HTML (`&`, `<`, `>`, quotes): every template file, and inline HTML or XML bodies.
    Html,
    /// Inside a JSON string: quotes, backslashes and control characters, and `<`, `>`, `&` as
    /// `\u` escapes so the output can also sit inside a `<script>`.
    Json,
    /// Nothing: inline `text/plain` (and other non-markup) bodies, sent with `nosniff`.
    None,
}

impl Escape {
    /// The escaping an inline body of this content type needs.
    pub fn for_content_type(content_type: &str) -> Escape {
        let ct = content_type.to_ascii_lowercase();
        if ct.contains("json") {
            Escape::Json
        } else if ct.contains("html") || ct.contains("xml") {
            Escape::Html
        } else {
            Escape::None
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The compiled templates of one site: one registry per kind of escaping, holding the same
/// templates and helpers.
pub struct Renderer {
    registries: [Handlebars<'static>; 3],
    /// The templates folder, as `load` was given it.
    dir: PathBuf,
    names: Vec<String>,
    static_url: StaticUrls,
    /// Each template file's text and the partials it calls, for [`Renderer::mentions`].
    sources: HashMap<String, (String, Vec<Option<String>>)>,
}

/// The parts of the standard context (`site`, `request`, `params`, `query`) a template reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uses {
    pub site: bool,
    pub request: bool,
    pub params: bool,
    pub query: bool,
    /// `csrf_token` or `csrf_input` (the CSRF token, made only for a page that shows it).
    pub csrf: bool,
    /// `messages`: a page that may show them takes them (from the session and the cookie);
    /// any other page, a 404 page among them, leaves them for the next.
    pub messages: bool,
}

impl Uses {
    pub const ALL: Uses = Uses {
        site: true,
        request: true,
        params: true,
        query: true,
        // A CSRF token is made (and its cookie set) only for a page that names it.
        csrf: false,
        messages: true,
    };
}

/// What `{{key}}` writes in an HTML template: the value as Handlebars shows it, escaped by the
/// same function. For HTML put together outside a template (`views::form`'s built-in inputs):
/// byte for byte what the template would have written.
pub fn push_escaped(out: &mut String, value: &Value) {
    use handlebars::JsonRender;
    match value {
        Value::String(s) => out.push_str(&handlebars::html_escape(s)),
        v => out.push_str(&handlebars::html_escape(&v.render())),
    }
}

/// Whether `{{#if key}}` takes its first branch for this value (Handlebars' truthiness: `0`,
/// `""`, `[]`, `null` and `false` do not).
pub fn truthy(value: &Value) -> bool {
    handlebars::JsonTruthy::is_truthy(value, false)
}

/// A template name as a route may write it (`home.hbs` or `home`), in canonical form.
pub fn canonical(name: &str) -> &str {
    name.strip_suffix(".hbs").unwrap_or(name)
}

impl Renderer {
    /// Load every template under `dir`. Errors carry the template's file, line and column; the
    /// templates that did compile are registered anyway, so that later checks (does a route's
    /// template exist?) still report their own mistakes.
    pub fn load(
        dir: &Path,
        router: Arc<Router>,
        static_url: &StaticUrls,
    ) -> (Renderer, Vec<Diagnostic>) {
        let mut registries = [Handlebars::new(), Handlebars::new(), Handlebars::new()];
        registries[Escape::Json.index()].register_escape_fn(json_escape);
        registries[Escape::None.index()].register_escape_fn(handlebars::no_escape);
        for reg in &mut registries {
            helpers::register(reg, router.clone(), static_url);
        }

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
        let mut broken = Vec::new();
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
                Err(e) => {
                    errors.push(template_error(&path, &text, &e));
                    // Known by name, so that a route using it is not also told it is missing.
                    broken.push(name);
                }
            }
        }
        let mut names: Vec<String> = compiled.iter().map(|(n, ..)| n.clone()).collect();
        names.extend(broken);
        names.sort();
        let mut renderer = Renderer {
            registries,
            dir: dir.to_path_buf(),
            names,
            static_url: static_url.clone(),
            sources: HashMap::new(),
        };
        for (_, path, text, t) in &compiled {
            errors.extend(renderer.check(t, path, text, &router));
        }
        for (name, _, text, t) in compiled {
            renderer
                .sources
                .insert(name.clone(), (text, check::partials(&t)));
            for reg in &mut renderer.registries {
                let mut t = t.clone();
                fold::fold(&mut t, &router, static_url, reg.get_escape_fn());
                reg.register_template(&name, t);
            }
        }
        (renderer, errors)
    }

    fn check(&self, t: &Template, file: &Path, text: &str, router: &Router) -> Vec<Diagnostic> {
        let is_helper = |name: &str| helpers::NAMES.contains(&name);
        check::check(t, file, text, &self.names, router, &is_helper)
    }

    /// Every template's canonical name, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Which parts of the context every page gets a template can read, itself or through the
    /// partials it calls: a part it never names is not built for it (a layout partial with
    /// hash arguments copies the whole context, so an unused part costs twice). A template
    /// that can reach the context without naming its parts (`@root`, `lookup`, printing or
    /// walking `this`) gets them all.
    pub fn uses(&self, template: &str) -> Uses {
        const WHOLE: &[&str] = &["@root", "lookup", "this", "../"];
        let csrf = self.mentions(template, "csrf_");
        if WHOLE.iter().any(|w| self.mentions(template, w)) {
            return Uses { csrf, ..Uses::ALL };
        }
        Uses {
            site: self.mentions(template, "site"),
            request: self.mentions(template, "request"),
            params: self.mentions(template, "params"),
            query: self.mentions(template, "query"),
            csrf,
            messages: self.mentions(template, "messages"),
        }
    }

    /// Whether `needle` appears in a template or in any partial it calls, directly or not. A
    /// partial whose name is computed at render time, or a template not loaded from a file,
    /// counts as a mention: the answer is only ever a safe "yes".
    pub fn mentions(&self, template: &str, needle: &str) -> bool {
        let mut seen = vec![canonical(template).to_string()];
        let mut i = 0;
        while let Some(name) = seen.get(i) {
            let Some((text, partials)) = self.sources.get(name) else {
                return true;
            };
            if text.contains(needle) {
                return true;
            }
            for p in partials {
                match p {
                    None => return true,
                    Some(p) if !seen.contains(p) => seen.push(p.clone()),
                    Some(_) => {}
                }
            }
            i += 1;
        }
        false
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == canonical(name))
    }

    /// A template file's path and text, for showing where it failed (`None` for an inline
    /// body, which is no file).
    pub fn source(&self, name: &str) -> Option<(PathBuf, &str)> {
        let name = canonical(name);
        let (text, _) = self.sources.get(name)?;
        Some((self.dir.join(format!("{name}.hbs")), text.as_str()))
    }

    /// Render a template file (HTML-escaped). The context is taken by value: handlebars'
    /// `render` would serialize a borrowed one into a deep copy first.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, RenderError> {
        self.render_as(name, Escape::Html, ctx)
    }

    /// Render a template file with another escaping (a template route's `content_type`).
    pub fn render_as(&self, name: &str, escape: Escape, ctx: Value) -> Result<String, RenderError> {
        self.registries[escape.index()]
            .render_with_context(canonical(name), &Context::from(ctx))
            .map_err(|e| RenderError::from(&e))
    }

    /// Register a built-in template under a file's name (`admin/list`), HTML-escaped like the
    /// site's templates, unless the site has a template of that name: its own file wins.
    pub fn add_builtin(
        &mut self,
        name: &str,
        text: &str,
        router: &Router,
    ) -> Result<(), (String, Option<(usize, usize)>)> {
        if self.has(name) {
            return Ok(());
        }
        let t = Template::compile_with_name(text, name.to_string())
            .map_err(|e| (reason(&e), e.pos()))?;
        if let Some(d) = self.check(&t, Path::new(name), text, router).first() {
            return Err((d.message.clone(), d.line.zip(d.col)));
        }
        self.sources
            .insert(name.to_string(), (text.to_string(), check::partials(&t)));
        self.names.push(name.to_string());
        self.names.sort();
        for reg in &mut self.registries {
            let mut t = t.clone();
            fold::fold(&mut t, router, &self.static_url, reg.get_escape_fn());
            reg.register_template(name, t);
        }
        Ok(())
    }

    /// Register an inline template (a route's `body`) with the given escaping.
    pub fn register_inline(
        &mut self,
        name: &str,
        text: &str,
        escape: Escape,
        router: &Router,
    ) -> Result<(), (String, Option<(usize, usize)>)> {
        let mut t = Template::compile_with_name(text, name.to_string())
            .map_err(|e| (reason(&e), e.pos()))?;
        if let Some(d) = self.check(&t, Path::new(name), text, router).first() {
            return Err((d.message.clone(), d.line.zip(d.col)));
        }
        let reg = &mut self.registries[escape.index()];
        fold::fold(&mut t, router, &self.static_url, reg.get_escape_fn());
        reg.register_template(name, t);
        Ok(())
    }

    pub fn render_inline(
        &self,
        name: &str,
        escape: Escape,
        ctx: Value,
    ) -> Result<String, RenderError> {
        self.registries[escape.index()]
            .render_with_context(name, &Context::from(ctx))
            .map_err(|e| RenderError::from(&e))
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

/// Handlebars' reason, without the parser's list of the rules it could have expected (their
/// names, `trailing_tilde_to_omit_whitespace`, are the grammar's, not the author's).
fn reason(e: &handlebars::TemplateError) -> String {
    let text = e.reason().to_string();
    match text.find(": expected ") {
        Some(i) => format!(
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

/// A template that failed to render: what went wrong, and where, as far as Handlebars knows
/// (a helper's own failure, such as a `url` that cannot be reversed, has a place; a missing
/// partial found only at render time may not).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderError {
    /// Handlebars' reason, with its causes.
    pub reason: String,
    /// The template's name (`posts/detail`), or an inline body's.
    pub template: Option<String>,
    /// Line and column in the template's text, from 1.
    pub line: Option<usize>,
    pub col: Option<usize>,
    /// The whole message, as the log shows it.
    text: String,
}

impl From<&handlebars::RenderError> for RenderError {
    fn from(e: &handlebars::RenderError) -> RenderError {
        let causes = |mut s: String| {
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                let text = inner.to_string();
                if !s.contains(&text) {
                    s.push_str(&format!(": {text}"));
                }
                source = inner.source();
            }
            s
        };
        RenderError {
            reason: causes(e.reason().to_string()),
            template: e.template_name.clone(),
            line: e.line_no,
            col: e.column_no,
            text: causes(e.to_string()),
        }
    }
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A renderer over `files` (name, text), written to a temporary templates folder.
    fn renderer(files: &[(&str, &str)]) -> Renderer {
        let dir = tempfile::TempDir::new().unwrap();
        for (name, text) in files {
            let path = dir.path().join(format!("{name}.hbs"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let router = Arc::new(Router::new(Vec::new()).unwrap());
        let (r, errors) = Renderer::load(dir.path(), router, &"/static/".into());
        assert!(errors.is_empty(), "{errors:?}");
        r
    }

    /// A render error names the file and line it happened at, also inside a block or the
    /// partial block of a layout, and inside a partial.
    #[test]
    fn a_render_error_says_which_template_and_where() {
        let r = renderer(&[
            (
                "layout",
                "<html>\n<body>\n{{> @partial-block}}\n</body>\n</html>",
            ),
            ("top", "<p>\n  {{date when}}</p>"),
            (
                "block",
                "<ul>\n{{#each items}}\n<li>{{date this}}</li>\n{{/each}}\n</ul>",
            ),
            (
                "page",
                "{{#> layout}}\n<h1>x</h1>\n\n<p>{{date when}}</p>\n{{/layout}}",
            ),
            ("nav", "<nav>\n{{date when}}</nav>"),
            ("calls", "<div>\n{{> nav}}\n</div>"),
        ]);
        let ctx = serde_json::json!({"when": "<b>no date</b>", "items": ["2024-01-01", "x"]});
        for (name, template, line, col) in [
            ("top", "top", 2, 3),
            ("block", "block", 3, 5),
            ("page", "page", 4, 4),
            ("calls", "nav", 2, 1),
        ] {
            let e = r.render(name, ctx.clone()).unwrap_err();
            assert_eq!(
                (e.template.as_deref(), e.line, e.col),
                (Some(template), Some(line), Some(col)),
                "{name}: {e}"
            );
            assert!(
                e.reason.starts_with("date: cannot read"),
                "{name}: {}",
                e.reason
            );
        }
        let (path, text) = r.source("page.hbs").unwrap();
        assert!(path.ends_with("page.hbs"), "{}", path.display());
        assert!(text.starts_with("{{#> layout}}"));
    }

    #[test]
    fn a_template_gets_the_parts_of_the_context_it_or_its_partials_name() {
        let r = renderer(&[
            (
                "layouts/base",
                "<title>{{page_title}} · {{site.name}}</title>{{> @partial-block}}",
            ),
            (
                "home",
                "{{#> layouts/base page_title=\"Home\"}}<h1>Hi</h1>{{/layouts/base}}",
            ),
            ("nav", "<a href=\"{{request.path}}\">here</a>"),
            (
                "greet",
                "{{#> layouts/base}}{{> nav}}{{params.name}}{{/layouts/base}}",
            ),
            (
                "search",
                "{{query.q}} {{request.query.page}} <form>{{csrf_input}}</form>",
            ),
        ]);
        let only_site = Uses {
            site: true,
            request: false,
            params: false,
            query: false,
            csrf: false,
            messages: false,
        };
        assert_eq!(r.uses("home"), only_site);
        assert_eq!(
            r.uses("greet"),
            Uses {
                request: true,
                params: true,
                ..only_site
            }
        );
        assert_eq!(
            r.uses("search.hbs"),
            Uses {
                site: false,
                request: true,
                params: false,
                query: true,
                csrf: true,
                messages: false,
            }
        );
    }

    #[test]
    fn a_template_that_can_reach_the_context_without_naming_its_parts_gets_it_all() {
        let r = renderer(&[
            ("root", "{{#each @root}}{{@key}}{{/each}}"),
            ("lookup", "{{lookup this key}}"),
            ("parent", "{{#each objects}}{{../site.name}}{{/each}}"),
            ("dynamic", "{{> (which)}}"),
            ("printed", "{{#with page}}{{this}}{{/with}}"),
        ]);
        for name in ["root", "lookup", "parent", "printed"] {
            assert_eq!(r.uses(name), Uses::ALL, "{name}");
        }
        // A CSRF token only for a template that may show it: a partial whose name is computed
        // (or an inline body, not looked into) may.
        let with_csrf = Uses {
            csrf: true,
            ..Uses::ALL
        };
        assert_eq!(r.uses("dynamic"), with_csrf);
        assert_eq!(r.uses("__inline/x"), with_csrf);
    }
}
