//! What a view may use while it answers a request — the narrow context `Ctx`: the router (for
//! `reverse`), the renderer, the database, and the site's settings. Views never see the whole
//! `Site`, so `site` depends on `views` and not the other way round. Also the one template
//! context every page gets: `site`, `request`, `params`, `query`, then the view's own data.

use serde_json::{Map, Value};

use super::request::Request;
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
    pub not_found: Option<ErrorPage>,
    pub server_error: Option<ErrorPage>,
}

/// The site settings views read.
#[derive(Debug)]
pub struct Settings {
    pub name: String,
    /// Django's APPEND_SLASH.
    pub append_slash: bool,
    pub pages: ErrorPages,
    /// `site` as templates see it, built once.
    site: Value,
}

impl Settings {
    pub fn new(name: String, append_slash: bool, pages: ErrorPages) -> Settings {
        let mut site = Map::new();
        site.insert("name".into(), Value::String(name.clone()));
        Settings {
            name,
            append_slash,
            pages,
            site: Value::Object(site),
        }
    }
}

/// Everything a view may use while answering one request.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub router: &'a Router,
    pub renderer: &'a Renderer,
    pub db: Option<&'a Database>,
    pub settings: &'a Settings,
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
            request.insert("query".into(), Value::Object(raw));
            ctx.insert("request".into(), Value::Object(request));
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
