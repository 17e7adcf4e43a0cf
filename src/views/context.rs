//! What a view may use while it answers a request — the narrow context `Ctx`: the router (for
//! `reverse`), the renderer, the database, and the site's settings. Views never see the whole
//! `Site`, so `site` depends on `views` and not the other way round. Also the one template
//! context every page gets: `site`, `request`, `params`, `query`, then the view's own data.

use serde_json::{Map, Value};

use super::request::Request;
use crate::db::Database;
use crate::render::Renderer;
use crate::routing::{Params, Router};

/// The templates of the error pages (400, 404, 500), when the site has them.
#[derive(Debug, Default, Clone)]
pub struct ErrorPages {
    pub bad_request: Option<String>,
    pub not_found: Option<String>,
    pub server_error: Option<String>,
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
    /// The context every template sees: `site`, `request`, `params`, `query`, then the
    /// route's own entries (`extra`, which a view fills with its data first).
    pub fn context(
        &self,
        req: &Request,
        params: &Params,
        query: Map<String, Value>,
        extra: Map<String, Value>,
    ) -> Value {
        let mut raw = Map::new();
        for (k, v) in &req.pairs {
            raw.insert(k.clone(), Value::String(v.clone()));
        }
        let mut request = Map::new();
        request.insert("path".into(), Value::String(req.path.clone()));
        request.insert("method".into(), Value::String(req.method.clone()));
        request.insert("full_path".into(), Value::String(req.full_path()));
        request.insert("query".into(), Value::Object(raw));
        let mut ctx = extra;
        ctx.insert("site".into(), self.settings.site.clone());
        ctx.insert("request".into(), Value::Object(request));
        ctx.insert(
            "params".into(),
            Value::Object(params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        );
        ctx.insert("query".into(), Value::Object(query));
        Value::Object(ctx)
    }
}
