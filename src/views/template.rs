//! `view: template` — render a template file with the route's context (Django's
//! TemplateView), as HTML or with the route's `content_type` (a `robots.txt`, hand-written
//! XML), its output escaped for that type as an inline body's is.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::request::Response;
use super::{Call, CompileEnv, RouteDef};
use crate::config::diagnostic::suggestion;
use crate::config::Diagnostic;
use crate::render::{canonical, Escape, Uses};

/// A compiled `view: template`.
#[derive(Debug)]
pub struct TemplateView {
    pub template: String,
    /// The parts of the context the template reads.
    pub uses: Uses,
    pub context: Map<String, Value>,
    pub status: u16,
    pub content_type: String,
    pub escape: Escape,
    /// The page, once rendered, when nothing of the request can change it: a template that
    /// reads neither `request`, `params` nor `query` gets the same context every time, and
    /// every helper is a pure function of its arguments and the site, so it is rendered once
    /// per loaded site (a reload builds a new site, and with it an empty cache).
    constant: OnceLock<String>,
    /// The template shows the signed-in `user` or `messages`: never kept.
    personal: bool,
}

impl TemplateView {
    pub fn compile(
        r: &RouteDef,
        env: &CompileEnv,
        context: Map<String, Value>,
        status: u16,
        errors: &mut Vec<Diagnostic>,
    ) -> TemplateView {
        let template = r.raw.template.clone().unwrap_or_default();
        check_template(r, env, &template, errors);
        let (content_type, escape) = super::response::content_type(r);
        TemplateView {
            uses: env
                .renderer
                .as_deref()
                .map_or(Uses::ALL, |r| r.uses(&template)),
            template: canonical(&template).to_string(),
            context,
            status,
            content_type,
            escape,
            constant: OnceLock::new(),
            personal: super::auth::names(env.renderer.as_deref(), &template, "user")
                || super::auth::names(env.renderer.as_deref(), &template, "messages"),
        }
    }

    /// Whether the page is HTML (and so a page a sitemap lists).
    pub fn is_html(&self) -> bool {
        self.escape == Escape::Html && self.content_type.contains("html")
    }

    fn response(&self, body: String) -> Response {
        Response {
            status: self.status,
            content_type: self.content_type.clone(),
            headers: Vec::new(),
            body,
            stream: None,
        }
    }

    /// Whether the page is the same for every request (a CSRF token is not: masked afresh).
    fn is_constant(&self) -> bool {
        !(self.uses.request
            || self.uses.params
            || self.uses.query
            || self.uses.csrf
            || self.personal)
    }

    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        if let Some(body) = self.constant.get() {
            return Ok(self.response(body.clone()));
        }
        let context = ctx.context(
            call.req,
            call.params,
            call.query,
            self.context.clone(),
            self.uses,
        );
        let body = ctx
            .renderer
            .render_as(&self.template, self.escape, context)
            .map_err(|e| ViewError::render(format_args!("rendering {}", self.template), e))?;
        if self.is_constant() {
            // A failed render is not kept: it is tried (and logged) again next time.
            let _ = self.constant.set(body.clone());
        }
        Ok(self.response(body))
    }
}

/// The page of a form view (`create`, `login`): the route's own `template` (checked; the
/// parts of the context it reads), or the built-in one, registered as the inline template
/// `name` (escaped as HTML; it shows `site` and the CSRF token). `what` names it in a message.
pub fn own_or_builtin(
    r: &RouteDef,
    env: &mut CompileEnv,
    (name, text, what): (&str, &str, &str),
    errors: &mut Vec<Diagnostic>,
) -> Uses {
    let builtin = Uses {
        site: true,
        request: false,
        params: false,
        query: false,
        csrf: true,
        messages: false,
    };
    match &r.raw.template {
        Some(t) => {
            check_template(r, env, t, errors);
            env.renderer
                .as_deref()
                .map_or(builtin, |renderer| renderer.uses(t))
        }
        None => {
            if let Some(renderer) = env.renderer.as_deref_mut() {
                if let Err((why, _)) =
                    renderer.register_inline(name, text, Escape::Html, env.router)
                {
                    errors.push(r.source.diag(&r.at, format!("{what}: {why}")));
                }
            }
            builtin
        }
    }
}

/// A warning for a form route (`create`, `update`, `delete`, `login`) whose own template shows
/// no CSRF token: every POST of its form would be refused with 403, which `check` can say now.
pub fn warn_without_csrf(r: &RouteDef, uses: &Uses, errors: &mut Vec<Diagnostic>) {
    if r.raw.template.is_some() && !uses.csrf {
        errors.push(
            r.source
                .diag(
                    &r.key("template"),
                    "the template shows no CSRF token, so every POST of its form will be refused (403)",
                )
                .with_hint(Some(
                    "put `{{csrf_input}}` inside its `<form method=\"post\">`".into(),
                ))
                .as_warning(),
        );
    }
}

/// A warning for a list route whose template reads Django's `object_list` and never `objects`:
/// the rows are `objects`, and `{{#each object_list}}` would show none of them, silently.
pub fn warn_django_list_names(r: &RouteDef, env: &CompileEnv, errors: &mut Vec<Diagnostic>) {
    let (Some(template), Some(renderer)) = (&r.raw.template, env.renderer.as_deref()) else {
        return;
    };
    if renderer.has(template)
        && renderer.mentions(template, "object_list")
        && !renderer.mentions(template, "objects")
    {
        errors.push(
            r.source
                .diag(
                    &r.key("template"),
                    "the template reads `object_list`, which a list page does not have: its rows are `objects`",
                )
                .with_hint(Some(
                    "write `{{#each objects}}` where Django writes `object_list`, and `page` for `page_obj`".into(),
                ))
                .as_warning(),
        );
    }
}

/// A route's `template` must name a template file that loaded.
pub fn check_template(
    r: &RouteDef,
    env: &CompileEnv,
    template: &str,
    errors: &mut Vec<Diagnostic>,
) {
    let Some(renderer) = env.renderer.as_deref() else {
        return;
    };
    if !template.is_empty() && !renderer.has(template) {
        errors.push(
            r.source
                .diag(&r.key("template"), format!("no template `{template}`"))
                .with_hint(suggestion(
                    canonical(template),
                    renderer.names().iter().map(String::as_str),
                )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::site::Site;
    use crate::views::Request;

    /// A site written from `(path, text)` pairs, loaded.
    fn site(files: &[(&str, &str)]) -> (tempfile::TempDir, Site) {
        let dir = tempfile::TempDir::new().unwrap();
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let site = Site::load(dir.path()).unwrap_or_else(|e| panic!("{e:?}"));
        (dir, site)
    }

    /// A page is kept only when nothing of the request reaches it: one whose partial (or its
    /// layout's) reads the request is rendered for each request.
    #[test]
    fn a_page_whose_partial_reads_the_request_is_not_kept_from_the_first_request() {
        let (_dir, site) = site(&[
            (
                "site.yaml",
                "site: { name: Shop }\nroutes:\n  - { path: \"plain/\", view: template, template: plain.hbs }\n  - { path: \"here/\", view: template, template: here.hbs }\n",
            ),
            (
                "templates/base.hbs",
                "<title>{{site.name}}</title>{{> @partial-block}}",
            ),
            ("templates/plain.hbs", "{{#> base}}Plain{{/base}}"),
            ("templates/here.hbs", "{{#> base}}{{> nav}}{{/base}}"),
            ("templates/nav.hbs", "<p>a={{request.query.a}}</p>"),
        ]);
        let get = |target: &str| site.handle(&Request::get(target)).body;
        assert_eq!(get("/here/?a=1"), "<title>Shop</title><p>a=1</p>");
        assert_eq!(get("/here/?a=2"), "<title>Shop</title><p>a=2</p>");
        let head = site.handle(&Request::new("HEAD", "/plain/?a=1"));
        assert_eq!(head.body, "<title>Shop</title>Plain");
        assert_eq!(get("/plain/?a=2"), head.body);
    }
}
