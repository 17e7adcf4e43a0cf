//! The views: one module per view kind, each with `compile` (a route's YAML → a compiled
//! view, with diagnostics) and `handle` (a request → `Result<Response, ViewError>`).
//!
//! A request reads top to bottom here: [`handle`] asks the router for the first matching route
//! (or redirects with APPEND_SLASH), answers OPTIONS and 405, types the declared query
//! parameters, and hands the request to the route's view kind with a narrow [`Ctx`] (router,
//! renderer, database, settings — never the whole `Site`). Whatever a view fails with becomes
//! a response in one place, [`error::respond`]. Nothing here knows actix: the server turns
//! the `Response` value into HTTP.
//!
//! | module | view kind |
//! |---|---|
//! | `template` | `template`: a template file (Django's TemplateView) |
//! | `redirect` | `redirect`: to a route or a URL (RedirectView) |
//! | `response` | `response`: an inline body with its content type |
//! | `list` | `list`: a page of a model's rows (ListView), with `paginate` |
//! | `detail` | `detail`: one row (DetailView) |
//! | `feed` | `feed`: an Atom or RSS feed of a model's newest rows (syndication) |
//! | `sitemap` | `sitemap`: the site's pages and detail rows (sitemaps), [`sitemap::link`]ed once every route is compiled |
//!
//! `links` holds what the feed and sitemap share: `site.base_url`, a route reversed with a
//! row's fields, and XML responses with their ETag.
//!
//! `not_found` needs no module: it is always `ViewError::NotFound`.
//!
//! `cors` answers preflights and adds CORS headers around every view kind, in
//! [`handle_resolved`]; `csv` (a streamed `format: csv` export) and `facets` are parts of `list`.

use std::sync::Arc;

use serde_json::{Map, Value};

mod context;
pub mod cors;
pub mod csrf;
pub mod csv;
mod debug;
mod detail;
mod error;
mod facets;
mod feed;
mod fields;
pub mod form;
mod links;
mod list;
pub mod paginate;
mod redirect;
mod request;
mod response;
pub mod sitemap;
mod template;

pub use context::{Ctx, ErrorPage, ErrorPages, Settings};
pub use detail::DetailView;
pub use error::{html_escape, respond, unavailable, ViewError};
pub use feed::FeedView;
pub use fields::SchemaNeeds;
pub use links::{parse_base_url, BASE_URL_HINT};
pub use list::ListView;
pub use redirect::{RedirectTarget, RedirectView};
pub use request::{decode_path, escape_uri_path, parse_cookies, set_cookie, Request, Response};
pub use response::ResponseView;
pub use sitemap::SitemapView;
pub use template::TemplateView;

use crate::config::raw::{Method, RawRoute, ViewKind, VIEW_KEYS};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::{DbError, Models};
use crate::query::QuerySpec;
use crate::render::Renderer;
use crate::routing::{Match, Params, Pattern, Router};

/// A route's view, compiled from its YAML.
#[derive(Debug)]
pub enum View {
    Template(TemplateView),
    Redirect(RedirectView),
    Response(ResponseView),
    /// Always 404.
    NotFound,
    List(Box<ListView>),
    Detail(Box<DetailView>),
    Feed(Box<FeedView>),
    Sitemap(SitemapView),
    Create(Box<form::CreateView>),
}

/// What a route answers with, and what it accepts.
#[derive(Debug)]
pub struct Endpoint {
    pub view: View,
    /// Methods for the `Allow` header, HEAD and OPTIONS included.
    pub allow: Vec<&'static str>,
    pub query: QuerySpec,
    pub name: Option<String>,
    /// Where the route was declared, for the routes table and the log.
    pub origin: String,
    /// Its own CORS policy, none, or the site's.
    pub cors: cors::RouteCors,
}

impl Endpoint {
    pub fn allows(&self, method: &str) -> bool {
        self.allow.contains(&method)
    }

    /// What the routes table shows in its TARGET column.
    pub fn target(&self) -> String {
        let json_or = |template: &Option<String>| {
            template
                .as_ref()
                .map_or(" (json)".to_string(), |t| format!(" -> {t}"))
        };
        match &self.view {
            View::Template(v) => v.template.clone(),
            View::Redirect(v) => v.target(),
            View::Response(v) => format!("{} {}", v.status, v.content_type),
            View::NotFound => "404".into(),
            View::List(v) => format!("{}{}", v.out.model.name, json_or(&v.out.template)),
            View::Detail(v) => format!(
                "{} by {}{}",
                v.out.model.name,
                v.field.name,
                json_or(&v.out.template)
            ),
            View::Feed(v) => format!("{} ({})", v.model.name, v.format_name()),
            View::Sitemap(_) => "pages and detail rows".into(),
            View::Create(v) => format!("new {} (form)", v.model.name),
        }
    }

    /// Whether answering this route may read the database.
    pub fn reads_database(&self) -> bool {
        matches!(
            self.view,
            View::List(_) | View::Detail(_) | View::Feed(_) | View::Sitemap(_) | View::Create(_)
        )
    }

    pub fn kind(&self) -> &'static str {
        match self.view {
            View::Template(_) => "template",
            View::Redirect(_) => "redirect",
            View::Response(_) => "response",
            View::NotFound => "not_found",
            View::List(_) => "list",
            View::Detail(_) => "detail",
            View::Feed(_) => "feed",
            View::Sitemap(_) => "sitemap",
            View::Create(_) => "create",
        }
    }
}

/// One request as a view kind receives it: the request, the route's typed captures and query
/// parameters, and where the route was declared (for the log).
pub struct Call<'r> {
    pub req: &'r Request,
    pub params: &'r Params,
    pub query: Map<String, Value>,
    pub origin: &'r str,
}

impl Call<'_> {
    /// A 500 whose log line says which route failed.
    pub fn internal(&self, e: impl std::fmt::Display) -> ViewError {
        ViewError::Internal(format!("{}: {e}", self.origin))
    }

    /// A database failure: a database locked past the busy timeout is a 503 the visitor may
    /// retry, anything else a 500.
    pub fn db(&self, e: DbError) -> ViewError {
        if e.is_busy() {
            ViewError::Unavailable {
                retry_after: 1,
                detail: format!("{}: {e}", self.origin),
            }
        } else {
            self.internal(e)
        }
    }
}

/// Answer a request (its path already decoded) with the site's routes.
pub fn handle(ctx: &Ctx, endpoints: &[Endpoint], req: &Request) -> Response {
    handle_resolved(ctx, endpoints, req, resolve(ctx.router, req))
}

/// The route that answers `req`, if any: what [`handle_resolved`] takes.
pub fn resolve(router: &Router, req: &Request) -> Option<Match> {
    router.resolve(req.path.strip_prefix('/').unwrap_or(&req.path))
}

/// [`handle`], with the route already resolved (the server resolves once to choose the thread
/// that answers).
pub fn handle_resolved(
    ctx: &Ctx,
    endpoints: &[Endpoint],
    req: &Request,
    m: Option<Match>,
) -> Response {
    let index = m.as_ref().map(|m| m.index);
    let fail = |e| {
        let route = index.map(|index| debug::Route {
            index,
            endpoint: &endpoints[index],
        });
        error::respond_at(ctx, req, e, route)
    };
    let endpoint = index.map(|index| &endpoints[index]);
    let site = ctx.settings.cors.as_ref();
    let policy = endpoint.map_or(site, |e| e.cors.or(site));
    let Some(policy) = policy else {
        let mut r = dispatch(ctx, endpoints, req, m).unwrap_or_else(fail);
        csrf::set_cookie_if_used(req, &mut r);
        return r;
    };
    let allow = endpoint.map_or(&["GET", "HEAD", "OPTIONS"][..], |e| &e.allow);
    if let Some(preflight) = policy.preflight(req, allow) {
        return preflight;
    }
    let mut r = dispatch(ctx, endpoints, req, m).unwrap_or_else(fail);
    csrf::set_cookie_if_used(req, &mut r);
    policy.decorate(req, &mut r);
    r
}

fn dispatch(
    ctx: &Ctx,
    endpoints: &[Endpoint],
    req: &Request,
    m: Option<Match>,
) -> Result<Response, ViewError> {
    let Some(m) = m else {
        let path = req.path.strip_prefix('/').unwrap_or(&req.path);
        return append_slash(ctx, req, path);
    };
    let endpoint = &endpoints[m.index];
    // Django's View.options: 200, the Allow header, no body; a RedirectView redirects instead.
    if req.method == "OPTIONS" && !matches!(endpoint.view, View::Redirect(_)) {
        let mut r = Response::html(200, String::new());
        r.headers.push(("Allow", endpoint.allow.join(", ")));
        return Ok(r);
    }
    if !endpoint.allows(&req.method) {
        return Err(ViewError::MethodNotAllowed {
            allow: endpoint.allow.join(", "),
        });
    }
    // Every unsafe request, on every route, before its view runs (Django's CsrfViewMiddleware).
    csrf::check(req, req.csrf_header.as_deref()).map_err(ViewError::Forbidden)?;
    let query = endpoint
        .query
        .extract(&req.pairs)
        .map_err(|invalid| ViewError::BadRequest(invalid.0))?;
    let call = Call {
        req,
        params: &m.params,
        query,
        origin: &endpoint.origin,
    };
    match &endpoint.view {
        View::Template(v) => v.handle(ctx, call),
        View::Response(v) => v.handle(ctx, call),
        View::Redirect(v) => v.handle(ctx, call),
        View::NotFound => Err(ViewError::NotFound),
        // A model view reads in one transaction: its page and count agree, SQLite locks once.
        View::List(v) => in_snapshot(ctx, || v.handle(ctx, call)),
        View::Detail(v) => in_snapshot(ctx, || v.handle(ctx, call)),
        View::Feed(v) => in_snapshot(ctx, || v.handle(ctx, call)),
        View::Sitemap(v) => in_snapshot(ctx, || v.handle(ctx, call)),
        // Not in a read snapshot: the insert takes its own write transaction (BEGIN IMMEDIATE).
        View::Create(v) => v.handle(ctx, call),
    }
}

/// No route matched: Django's APPEND_SLASH redirects a GET to the same path with a slash when
/// that one matches; anything else is a 404.
fn append_slash(ctx: &Ctx, req: &Request, path: &str) -> Result<Response, ViewError> {
    let get_like = req.method == "GET" || req.method == "HEAD";
    if ctx.settings.append_slash && get_like && !path.ends_with('/') {
        let with_slash = format!("{path}/");
        if ctx.router.resolve(&with_slash).is_some() {
            let mut location = escape_uri_path(&format!("/{with_slash}"));
            if !req.query_string.is_empty() {
                location.push('?');
                location.push_str(&req.query_string);
            }
            return Ok(Response::redirect(301, location));
        }
    }
    Err(ViewError::NotFound)
}

fn in_snapshot<T>(ctx: &Ctx, f: impl FnOnce() -> T) -> T {
    match ctx.db {
        Some(db) => db.snapshot(f),
        None => f(),
    }
}

// ---------------------------------------------------------------------------------------------
// Compiling routes

/// A route as declared, after includes are expanded.
pub struct RouteDef {
    pub raw: RawRoute,
    pub source: Arc<Source>,
    /// YAML path within its file: `routes[3]` or `[2]` in an included file.
    pub at: String,
    pub pattern: Pattern,
    pub name: Option<String>,
    /// Where the route was declared (file and place), for messages and the routes table.
    pub origin: String,
}

impl RouteDef {
    /// The YAML path of one of this route's keys.
    pub fn key(&self, key: &str) -> String {
        format!("{}.{key}", self.at)
    }
}

/// What compiling a route may use: the router (for redirect targets), the renderer (to check
/// templates and register inline bodies; absent when templates failed to load), the models,
/// what the model views ask of the schema, and `site.base_url` (checked) for feeds and
/// sitemaps.
pub struct CompileEnv<'a> {
    pub router: &'a Router,
    pub renderer: Option<&'a mut Renderer>,
    pub models: &'a Models,
    pub needs: &'a mut SchemaNeeds,
    pub base_url: Option<&'a str>,
}

/// Compile one route: the keys its view takes, its methods and query parameters, then its
/// view kind. Every mistake is reported.
pub fn compile(r: &RouteDef, env: &mut CompileEnv) -> Result<Endpoint, Vec<Diagnostic>> {
    let raw = &r.raw;
    let src = &r.source;
    let mut errors = check_keys(r);
    let allow = allowed_methods(raw);
    let query = match &raw.query {
        Some(q) => QuerySpec::compile(q).unwrap_or_else(|list| {
            for (key, why) in list {
                errors.push(src.diag(&r.key(&format!("query.{key}")), why));
            }
            QuerySpec::default()
        }),
        None => QuerySpec::default(),
    };
    let status = raw.status.unwrap_or(200);
    if !(100..=599).contains(&status) {
        errors.push(src.diag(
            &r.key("status"),
            format!("{status} is not an HTTP status (100-599)"),
        ));
    }
    let cors = cors::RouteCors::compile(raw.cors.as_ref(), src, &r.key("cors"), &mut errors);
    let context: Map<String, Value> = raw
        .context
        .clone()
        .map(|c| c.into_iter().collect())
        .unwrap_or_default();

    let view = match raw.view {
        ViewKind::Template => {
            View::Template(TemplateView::compile(r, env, context, status, &mut errors))
        }
        ViewKind::Redirect => View::Redirect(RedirectView::compile(r, env.router, &mut errors)),
        ViewKind::Response => {
            View::Response(ResponseView::compile(r, env, context, status, &mut errors))
        }
        ViewKind::NotFound => View::NotFound,
        ViewKind::Feed => FeedView::compile(r, env, &mut errors)
            .map_or(View::NotFound, |v| View::Feed(Box::new(v))),
        ViewKind::Sitemap => View::Sitemap(SitemapView::compile(r, env, &mut errors)),
        ViewKind::Create => form::CreateView::compile(r, env, &mut errors)
            .map_or(View::NotFound, |v| View::Create(Box::new(v))),
        ViewKind::List | ViewKind::Detail => {
            if let Some(template) = &raw.template {
                template::check_template(r, env, template, &mut errors);
            }
            let captures = r.pattern.param_names();
            let compiled = if raw.view == ViewKind::List {
                ListView::compile(raw, env.models, src, &r.at, &captures, env.needs).map(|mut v| {
                    v.out.looked_at(env.renderer.as_deref());
                    View::List(Box::new(v))
                })
            } else {
                DetailView::compile(raw, env.models, src, &r.at, &captures, env.needs).map(
                    |mut v| {
                        v.looked_at(env.renderer.as_deref());
                        View::Detail(Box::new(v))
                    },
                )
            };
            compiled.unwrap_or_else(|mut d| {
                errors.append(&mut d);
                View::NotFound
            })
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Endpoint {
        view,
        allow,
        query,
        name: r.name.clone(),
        origin: r.origin.clone(),
        cors,
    })
}

/// Each key a route sets must be one its view takes, and the keys its view needs are set
/// (both read from `VIEW_KEYS`, the one table the schema is made from too).
fn check_keys(r: &RouteDef) -> Vec<Diagnostic> {
    let raw = &r.raw;
    let mut errors = Vec::new();
    for key in VIEW_KEYS.iter().filter(|k| (k.set)(raw)) {
        if !key.views.contains(&raw.view) {
            let users: Vec<&str> = key.views.iter().map(|v| v.as_str()).collect();
            errors.push(
                r.source
                    .diag_key(
                        &r.key(key.name),
                        format!(
                            "`{}` does not apply to view `{}`",
                            key.name,
                            raw.view.as_str()
                        ),
                    )
                    .with_hint(Some(format!(
                        "`{}` is for view: {}",
                        key.name,
                        users.join(", ")
                    ))),
            );
        }
    }
    for key in VIEW_KEYS
        .iter()
        .filter(|k| k.required_by.contains(&raw.view))
    {
        if !(key.set)(raw) {
            errors.push(r.source.diag(
                &r.at,
                format!("view `{}` needs `{}`", raw.view.as_str(), key.name),
            ));
        }
    }
    errors
}

/// The methods a route answers: as declared, or GET (with HEAD); a redirect answers every
/// method, as Django's RedirectView does. OPTIONS always.
fn allowed_methods(raw: &RawRoute) -> Vec<&'static str> {
    let methods = raw.methods.clone().unwrap_or_else(|| {
        if raw.view == ViewKind::Redirect {
            vec![
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ]
        } else if raw.view == ViewKind::Create {
            vec![Method::GET, Method::POST]
        } else {
            vec![Method::GET]
        }
    });
    let mut allow = Vec::new();
    for m in &methods {
        let name = m.as_str();
        if !allow.contains(&name) {
            allow.push(name);
        }
        if name == "GET" && !allow.contains(&"HEAD") {
            allow.push("HEAD");
        }
    }
    allow.push("OPTIONS");
    allow
}
