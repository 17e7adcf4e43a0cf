//! What a view may use while it answers a request — the narrow context `Ctx`: the router (for
//! `reverse`), the renderer, the database, and the site's settings. Views never see the whole
//! `Site`, so `site` depends on `views` and not the other way round. Also the one template
//! context every page gets: `site`, `request`, `params`, `query`, then the view's own data.

use serde_json::{Map, Value};

use super::request::Request;
use crate::config::raw::RawLimits;
use crate::db::Database;
use crate::render::{Renderer, Uses};
use crate::routing::{Params, Router};

/// An error page's template and the parts of the context it reads.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub template: String,
    pub uses: Uses,
}

/// The templates of the error pages (400, 404, 500), when the site has them.
#[derive(Debug, Default, Clone)]
pub struct ErrorPages {
    pub bad_request: Option<ErrorPage>,
    pub forbidden: Option<ErrorPage>,
    pub not_found: Option<ErrorPage>,
    pub server_error: Option<ErrorPage>,
}

/// The site settings views read.
#[derive(Debug)]
pub struct Settings {
    /// Django's APPEND_SLASH.
    pub append_slash: bool,
    pub pages: ErrorPages,
    /// `site.limits`: the list views read `list_rows` and `search_chars`.
    pub limits: RawLimits,
    /// `site.cors`, compiled: the CORS policy of every route without its own.
    pub cors: Option<super::cors::Cors>,
    /// `site.auth`, compiled: the sign-in route, session age, failure limits.
    pub auth: crate::auth::Auth,
    /// The site lets any site frame its pages (`site.security`): the pages only for someone
    /// signed in, and sign-in's, are sent with `X-Frame-Options: DENY` even so.
    pub frameable: bool,
    /// `site.security.csrf_trusted_origins`, compiled: what the CSRF check trusts besides
    /// the site's own origin.
    pub csrf_trusted: super::csrf::Trusted,
    /// What signs the `messages` cookie of a visitor without a session (`auth::flash`), once
    /// the server has read the secret key; without it (in-process tests, `trellis build`) such
    /// a visitor's messages are kept nowhere.
    pub messages_signer: Option<crate::secret::Signer>,
    /// `site` as templates see it, built once.
    site: Value,
}

impl Settings {
    /// `base_url` is `site.base_url` as checked at load (templates see it as `site.base_url`).
    pub fn new(
        name: String,
        append_slash: bool,
        pages: ErrorPages,
        base_url: Option<String>,
    ) -> Settings {
        let mut site = Map::new();
        site.insert("name".into(), Value::String(name));
        if let Some(url) = base_url {
            site.insert("base_url".into(), Value::String(url));
        }
        Settings {
            append_slash,
            pages,
            limits: RawLimits::default(),
            cors: None,
            auth: crate::auth::Auth::default(),
            frameable: false,
            csrf_trusted: super::csrf::Trusted::default(),
            messages_signer: None,
            site: Value::Object(site),
        }
    }

    /// These settings with the site's `limits`.
    pub fn with_limits(self, limits: RawLimits) -> Settings {
        Settings { limits, ..self }
    }

    /// These settings for a site whose pages any site may frame.
    pub fn with_frameable(self, frameable: bool) -> Settings {
        Settings { frameable, ..self }
    }

    /// These settings with the origins the CSRF check trusts.
    pub fn with_csrf_trusted(self, csrf_trusted: super::csrf::Trusted) -> Settings {
        Settings {
            csrf_trusted,
            ..self
        }
    }

    /// These settings with the site's `auth`.
    pub fn with_auth(self, auth: crate::auth::Auth) -> Settings {
        Settings { auth, ..self }
    }

    /// These settings with the `messages` cookie's signer.
    pub fn with_messages_signer(self, messages_signer: Option<crate::secret::Signer>) -> Settings {
        Settings {
            messages_signer,
            ..self
        }
    }

    /// These settings with the site's CORS policy.
    pub fn with_cors(self, cors: Option<super::cors::Cors>) -> Settings {
        Settings { cors, ..self }
    }
}

impl Settings {
    /// The site's name.
    pub fn name(&self) -> &str {
        self.site["name"].as_str().unwrap_or_default()
    }

    /// `site.base_url` as checked at load, without a trailing slash.
    pub fn base_url(&self) -> Option<&str> {
        self.site.get("base_url").and_then(Value::as_str)
    }
}

/// Everything a view may use while answering one request.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub router: &'a Router,
    pub renderer: &'a Renderer,
    pub db: Option<&'a Database>,
    pub settings: &'a Settings,
    /// Answer a 500 with the debug page (the error, the template and line, the route, the
    /// request) instead of the site's 500 page: `serve` on a loopback address, for development.
    pub debug: bool,
}

impl Ctx<'_> {
    /// The context every template sees: the route's own entries (`extra`, which a view fills
    /// with its data first), then `site`, `request`, `params` and `query` — each only when the
    /// template can read it (`uses`, worked out at load): a page is the same either way, and
    /// one that never names `request` does not pay for building and copying it.
    pub fn context(
        &self,
        req: &Request,
        params: &Params,
        query: Map<String, Value>,
        extra: Map<String, Value>,
        uses: Uses,
    ) -> Value {
        let mut ctx = extra;
        if uses.site {
            ctx.insert("site".into(), self.settings.site.clone());
        }
        if uses.request {
            let mut raw = Map::new();
            for (k, v) in &req.pairs {
                raw.insert(k.clone(), Value::String(v.clone()));
            }
            let mut request = Map::new();
            request.insert("path".into(), Value::String(req.path.clone()));
            request.insert("method".into(), Value::String(req.method.clone()));
            request.insert("full_path".into(), Value::String(req.full_path()));
            request.insert("scheme".into(), Value::String(req.scheme().into()));
            request.insert("is_secure".into(), Value::Bool(req.secure));
            request.insert("quoted_path".into(), Value::String(req.quoted_path()));
            request.insert("query".into(), Value::Object(raw));
            ctx.insert("request".into(), Value::Object(request));
        }
        // The session was read for this route (it needs the user or messages): both are shown,
        // the messages taken only by a template that may show them.
        if let Some((user, messages)) = crate::auth::context(req, uses.messages) {
            ctx.insert("user".into(), user);
            ctx.insert("messages".into(), messages);
        }
        if uses.csrf {
            ctx.insert("csrf_token".into(), Value::String(super::csrf::token(req)));
        }
        if uses.params {
            ctx.insert(
                "params".into(),
                Value::Object(params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            );
        }
        if uses.query {
            ctx.insert("query".into(), Value::Object(query));
        }
        Value::Object(ctx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    /// A page's layout and partials, then pages a site may well have that reach `site`,
    /// `request`, `params` or `query` in roundabout ways: through block helpers, partials given
    /// a context, inline and dynamic partials, layouts, the parent and root contexts.
    const PARTIALS: &[(&str, &str)] = &[
        (
            "layouts/base",
            "<title>{{page_title}} · {{site.name}}</title>{{> @partial-block}}",
        ),
        ("nav", "<a href=\"{{path}}\">{{method}}</a>"),
        ("outer", "[{{> inner}}]"),
        ("inner", "{{params.name}}"),
    ];
    const PAGES: &[(&str, &str)] = &[
        (
            "layout_hash",
            "{{#> layouts/base page_title=\"Home\"}}<h1>Hi</h1>{{/layouts/base}}",
        ),
        (
            "layout_block",
            "{{#> layouts/base}}{{query.q}}{{> nav request}}{{/layouts/base}}",
        ),
        (
            "with_request",
            "{{#with request}}{{path}} {{method}} {{full_path}}{{/with}}",
        ),
        (
            "each_query",
            "{{#each request.query}}{{@key}}={{this}};{{/each}}",
        ),
        (
            "each_params",
            "{{#each params as |v k|}}{{k}}={{v}};{{/each}}",
        ),
        ("partial_context", "{{> nav request}}"),
        (
            "inline",
            "{{#*inline \"crumb\"}}{{request.path}}{{/inline}}<nav>{{> crumb}}</nav>",
        ),
        ("dynamic", "{{> (lower \"INNER\")}}"),
        (
            "parent",
            "{{#each objects}}{{this}}@{{../request.path}} {{/each}}",
        ),
        (
            "else_partial",
            "{{#if nothing}}x{{else}}{{> nav request}}{{/if}}",
        ),
        (
            "nested_with",
            "{{#with site}}{{name}}{{#with ../params}}/{{name}}{{/with}}{{/with}}",
        ),
        (
            "lookup",
            "{{lookup request \"path\"}} {{lookup (lookup this \"query\") \"q\"}}",
        ),
        (
            "root",
            "{{#each objects}}{{@root.site.name}}{{/each}}{{#each @root}}{{@key}},{{/each}}",
        ),
        ("nested_partials", "{{> outer}}"),
        ("error_page", "{{status}} {{message}} {{request.path}}"),
        (
            "helpers",
            "{{default query.missing \"none\"}} {{upper site.name}} {{len request.query}}",
        ),
    ];

    /// Leaving out the parts of the context a template does not name never changes a page:
    /// each page above renders the same with what `uses` gives it as with the whole context.
    #[test]
    fn a_template_renders_the_same_with_the_parts_it_uses_as_with_all() {
        let dir = tempfile::TempDir::new().unwrap();
        for (name, text) in PARTIALS.iter().chain(PAGES) {
            let path = dir.path().join(format!("{name}.hbs"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let router = Arc::new(Router::new(Vec::new()).unwrap());
        let (renderer, errors) = Renderer::load(dir.path(), router.clone(), &"/static/".into());
        assert!(errors.is_empty(), "{errors:?}");
        let settings = Settings::new("Shop".into(), true, ErrorPages::default(), None);
        let ctx = Ctx {
            router: &router,
            renderer: &renderer,
            db: None,
            settings: &settings,
            debug: false,
        };
        let req = Request::get("/p/ann/?q=hi&page=2");
        let mut params = Params::new();
        params.insert("name".into(), json!("ann"));
        let query = json!({ "q": "hi" }).as_object().unwrap().clone();
        let extra = json!({ "objects": [1, 2], "status": 404, "message": "gone" })
            .as_object()
            .unwrap()
            .clone();
        let none = Uses {
            site: false,
            request: false,
            params: false,
            query: false,
            csrf: false,
            messages: false,
        };
        for (name, _) in PAGES {
            let render = |uses| {
                let context = ctx.context(&req, &params, query.clone(), extra.clone(), uses);
                renderer.render(name, context).unwrap()
            };
            let all = render(Uses::ALL);
            assert_eq!(render(renderer.uses(name)), all, "{name}");
            // The page does show some part of the context: without any, it would differ.
            assert_ne!(render(none), all, "{name} reads no part of the context");
        }
    }
}
