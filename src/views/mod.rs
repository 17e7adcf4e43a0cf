//! The views: one module per view kind, each with `compile` (a route's YAML → a compiled
//! view, with diagnostics) and `handle` (a request → `Result<Response, ViewError>`).
//!
//! A request reads top to bottom here: [`handle`] asks the router for the first matching route
//! (or redirects with APPEND_SLASH), answers OPTIONS and 405, types the declared query
//! parameters, and hands the request to the route's view kind with a narrow [`Ctx`] (router,
//! renderer, database, settings — never the whole `Site`). Whatever a view fails with becomes
//! a response in one place, [`error::respond_as`] (HTML, or JSON for a route that answers
//! JSON). Nothing here knows actix: the server turns the `Response` value into HTTP.
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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

mod auth;
mod context;
pub mod cors;
pub mod csrf;
pub mod csv;
mod debug;
mod detail;
mod error;
pub mod export;
mod facets;
mod feed;
mod fields;
pub mod form;
mod links;
mod list;
mod message;
pub mod paginate;
mod redirect;
mod request;
mod response;
mod shape;
pub mod sitemap;
mod template;

pub use context::{Ctx, ErrorPage, ErrorPages, Settings};
pub use detail::{lookup_value, DetailView};
pub use error::{html_escape, respond, respond_as, unavailable, Answer, ViewError};
pub use facets::label_field;
pub use feed::FeedView;
pub use fields::SchemaNeeds;
pub use links::{parse_base_url, BASE_URL_HINT};
pub use list::{page_path, ListView, PAGE_SUFFIX};
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
    Form(Box<form::FormView>),
    /// The admin's index (`admin:`, see `crate::admin`).
    AdminIndex(Box<crate::admin::IndexView>),
    /// The admin's history of one row (`crate::admin::history`).
    AdminHistory(Box<crate::admin::history::HistoryView>),
    Login(Box<auth::LoginView>),
    Logout(auth::LogoutView),
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
    /// When a request to this route last proved too expensive to answer briefly.
    pub heavy: Heavy,
    /// What `trellis build` writes of it (`export:`).
    pub export: Export,
    /// The route `pages: path` added: its pages are written with the list's.
    pub page_route: bool,
    /// `login_required`, `staff_required`, and whether its template shows `user` or `messages`.
    pub auth: crate::auth::Needs,
}

/// A route's `export:`.
#[derive(Debug, Default)]
pub enum Export {
    /// Every page its captures' values reach (rows, converter values).
    #[default]
    Auto,
    /// `export: false`.
    Off,
    /// `export: { values: [...] }`: these captures' values, one page each.
    Values(Vec<Params>),
}

/// When a route's requests last ran past their budget in [`handle_briefly`]: once two have
/// within [`Heavy::FOR`] of each other, for [`Heavy::FOR`] after that its requests go straight
/// to the database threads. A stream of expensive requests (distinct searches) thus costs the
/// threads that answer the cheap pages two budgets a second, not one a request; a single cut
/// (a cheap page whose thread was charged for the machine's other work: a page fault, time the
/// hypervisor took) does not send a second of a cheap route's requests through the hand-over.
#[derive(Debug, Default)]
pub struct Heavy {
    /// When the last request was cut short: milliseconds since [`Heavy::clock`]'s start, plus
    /// one; 0 for never.
    cut: AtomicU64,
    /// When the route was found heavy, in the same milliseconds; 0 for never.
    at: AtomicU64,
}

impl Heavy {
    const FOR: Duration = Duration::from_secs(1);

    fn clock() -> u64 {
        static START: OnceLock<Instant> = OnceLock::new();
        let ms = START.get_or_init(Instant::now).elapsed().as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX).saturating_add(1)
    }

    fn within(since: u64, now: u64) -> bool {
        since != 0 && now < since.saturating_add(Heavy::FOR.as_millis() as u64)
    }

    fn recently(&self) -> bool {
        Heavy::within(self.at.load(Ordering::Relaxed), Heavy::clock())
    }

    /// A request of the route was cut short now.
    fn mark(&self) {
        let now = Heavy::clock();
        if Heavy::within(self.cut.swap(now, Ordering::Relaxed), now) {
            self.at.store(now, Ordering::Relaxed);
        }
    }
}

impl Endpoint {
    pub fn allows(&self, method: &str) -> bool {
        self.allow.contains(&method)
    }

    /// What the routes table shows in its TARGET column: what answers (a form or sign-in
    /// route's own template too), then who may see it.
    pub fn target(&self) -> String {
        let json_or = |template: &Option<String>| {
            template
                .as_ref()
                .map_or(" (json)".to_string(), |t| format!(" -> {t}"))
        };
        let own = |what: &str, template: Option<&str>| match template {
            Some(t) => format!("{what} -> {}", crate::render::canonical(t)),
            None => what.to_string(),
        };
        let target = match &self.view {
            View::Template(v) => v.template.clone(),
            View::Redirect(v) => v.target(),
            View::Response(v) => format!("{} {}", v.status, v.content_type),
            View::NotFound => "404".into(),
            View::List(v) if v.csv.is_some() => format!("{} (csv)", v.out.model.name),
            View::List(v) => format!("{}{}", v.out.model.name, json_or(&v.out.template)),
            View::Detail(v) => format!(
                "{} by {}{}",
                v.out.model.name,
                v.field.name,
                json_or(&v.out.template)
            ),
            View::Feed(v) => format!("{} ({})", v.model.name, v.format_name()),
            View::Sitemap(_) => "pages and detail rows".into(),
            View::Form(v) => own(
                &format!("{} {} (form)", v.kind.as_str(), v.model.name),
                v.template(),
            ),
            View::AdminIndex(_) => "the admin's models -> admin/index".into(),
            View::AdminHistory(_) => "a row's history -> admin/history".into(),
            View::Login(v) => own("sign-in form", v.template()),
            View::Logout(_) => "sign-out".into(),
        };
        // Who may see it: `staff_required` implies a signed-in user.
        if self.auth.staff {
            format!("{target} [staff_required]")
        } else if self.auth.login {
            format!("{target} [login_required]")
        } else {
            target
        }
    }

    /// How this route answers its failures: JSON for a route that answers JSON.
    pub fn answer(&self) -> Answer {
        let json = match &self.view {
            View::List(v) => v.out.json,
            View::Detail(v) => v.out.json,
            View::Template(v) => v.escape == crate::render::Escape::Json,
            View::Response(v) => v.escape == crate::render::Escape::Json,
            View::Redirect(_)
            | View::NotFound
            | View::Feed(_)
            | View::Sitemap(_)
            | View::Form(_)
            | View::AdminIndex(_)
            | View::AdminHistory(_)
            | View::Login(_)
            | View::Logout(_) => false,
        };
        if json {
            Answer::Json
        } else {
            Answer::Html
        }
    }

    /// Whether answering this route may read the database.
    /// A route that needs the session reads it from the database (`auth::guard`).
    pub fn reads_database(&self) -> bool {
        self.auth.session()
            || self.writes()
            || matches!(
                self.view,
                View::List(_)
                    | View::Detail(_)
                    | View::Feed(_)
                    | View::Sitemap(_)
                    | View::Form(_)
                    | View::AdminIndex(_)
                    | View::AdminHistory(_)
            )
    }

    /// Whether answering this route may write to the database: it must run once, on a
    /// database thread, never in a brief try that may be cut short and run again.
    /// A page that shows `messages` takes them out of the session: a write too.
    pub fn writes(&self) -> bool {
        self.auth.messages || matches!(self.view, View::Form(_) | View::Login(_) | View::Logout(_))
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
            View::Form(ref v) => v.kind.as_str(),
            View::AdminIndex(_) => "admin_index",
            View::AdminHistory(_) => "admin_history",
            View::Login(_) => "login",
            View::Logout(_) => "logout",
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
    around(ctx, endpoints, req, m.as_ref(), || {
        Some(dispatch(ctx, endpoints, req, m.as_ref()))
    })
    .unwrap_or_else(|| respond(ctx, req, ViewError::Internal("no answer".into())))
}

/// What every answer passes through, around the view kind's own work (`run`): a CORS
/// preflight answered before it, a failure turned into the route's error answer (JSON for a
/// JSON route, the debug page while developing), the CORS headers added after it. `None` when
/// `run` gave no answer (brief work cut short).
fn around(
    ctx: &Ctx,
    endpoints: &[Endpoint],
    req: &Request,
    m: Option<&Match>,
    run: impl FnOnce() -> Option<Result<Response, ViewError>>,
) -> Option<Response> {
    let index = m.map(|m| m.index);
    let endpoint = index.map(|index| &endpoints[index]);
    let answer = endpoint.map_or(Answer::Html, Endpoint::answer);
    let fail = |e| {
        let route = index.map(|index| debug::Route {
            index,
            endpoint: &endpoints[index],
        });
        error::respond_at(ctx, req, e, answer, route)
    };
    let site = ctx.settings.cors.as_ref();
    let policy = endpoint.map_or(site, |e| e.cors.or(site));
    if let Some(policy) = policy {
        let allow = endpoint.map_or(&["GET", "HEAD", "OPTIONS"][..], |e| &e.allow);
        if let Some(preflight) = policy.preflight(req, allow) {
            return Some(preflight);
        }
    }
    let mut r = run()?.unwrap_or_else(fail);
    csrf::set_cookie_if_used(req, &mut r);
    if req.session.get().is_some() {
        r.vary("Cookie");
    }
    keep_private(ctx, endpoint, req, &mut r);
    crate::auth::finish(ctx, req, &mut r);
    if let Some(policy) = policy {
        policy.decorate(req, &mut r);
    }
    Some(r)
}

/// Django's `never_cache` for a page that is only for someone signed in (`login_required`,
/// `staff_required`: every admin page) or that signs in: neither a shared cache nor the
/// browser's keeps it, so the page is not shown from the cache after sign-out. Any other page
/// answered to a signed-in user is `private`: a proxy never hands it to another visitor.
/// A `Cache-Control` the answer set itself is kept. The former pages are never framed either,
/// even on a site that lets its pages be (`frame_options: "off"`): a framed sign-in or
/// delete button is what clickjacking needs.
fn keep_private(ctx: &Ctx, endpoint: Option<&Endpoint>, req: &Request, r: &mut Response) {
    let never = endpoint.is_some_and(|e| {
        e.auth.login || e.auth.staff || matches!(e.view, View::Login(_) | View::Logout(_))
    });
    if never && ctx.settings.frameable {
        r.header("X-Frame-Options", "DENY");
    }
    if r.has_header("Cache-Control") {
        return;
    }
    if never {
        r.header(
            "Cache-Control",
            "max-age=0, no-cache, no-store, must-revalidate, private",
        );
    } else if matches!(req.session.get(), Some(Some(_))) {
        r.header("Cache-Control", "private");
    }
}

/// [`handle_resolved`] as brief work (`db::brief`): `None`, with nothing answered or logged,
/// when its database work used `budget` of this thread's CPU time or met a lock, or when the
/// route's requests did so twice within the last second ([`Heavy`]); the caller then answers it where it may
/// take its time. Only reading views are tried (GET and HEAD on a route that does not
/// [`Endpoint::writes`]), so a request cut short can be answered again.
pub fn handle_briefly(
    ctx: &Ctx,
    endpoints: &[Endpoint],
    req: &Request,
    m: Option<&Match>,
    budget: Duration,
) -> Option<Response> {
    // A request that may write is never tried twice: a write cut short here could be
    // committed and then made again on a database thread.
    let writes = m.is_some_and(|m| endpoints[m.index].writes());
    if writes || !matches!(req.method.as_str(), "GET" | "HEAD") {
        return None;
    }
    let heavy = m.map(|m| &endpoints[m.index].heavy);
    if heavy.is_some_and(Heavy::recently) {
        return None;
    }
    around(ctx, endpoints, req, m, || {
        let answer = crate::db::brief(budget, || dispatch(ctx, endpoints, req, m));
        if let (None, Some(heavy)) = (&answer, heavy) {
            heavy.mark();
        }
        answer
    })
}

fn dispatch(
    ctx: &Ctx,
    endpoints: &[Endpoint],
    req: &Request,
    m: Option<&Match>,
) -> Result<Response, ViewError> {
    let Some(m) = m else {
        let path = req.path.strip_prefix('/').unwrap_or(&req.path);
        return append_slash(ctx, req, path);
    };
    let endpoint = &endpoints[m.index];
    // Django's View.options: 200, the Allow header, no body; a RedirectView redirects instead.
    if req.method == "OPTIONS" && !matches!(endpoint.view, View::Redirect(_)) {
        let mut r = Response::html(200, String::new());
        r.header("Allow", endpoint.allow.join(", "));
        return Ok(r);
    }
    if !endpoint.allows(&req.method) {
        // A newcomer's link to sign out gets a page saying how, not a blank one.
        let sign_out =
            (matches!(endpoint.view, View::Logout(_)) && req.method == "GET").then(|| {
                match &endpoint.name {
                    Some(name) => format!("{{{{url \"{name}\"}}}}"),
                    None => req.path.clone(),
                }
            });
        return Err(ViewError::MethodNotAllowed {
            allow: endpoint.allow.join(", "),
            sign_out,
        });
    }
    // Every unsafe request, on every route, before its view runs (Django's CsrfViewMiddleware).
    csrf::check(req, &ctx.settings.csrf_trusted, req.csrf_header.as_deref())
        .map_err(ViewError::Forbidden)?;
    // Django's login_required / staff_member_required; the session read once for the page.
    if let Some(to_login) = crate::auth::guard(ctx, endpoint.auth, req)? {
        return Ok(to_login);
    }
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
        View::AdminIndex(v) => in_snapshot(ctx, || v.handle(ctx, call)),
        View::AdminHistory(v) => in_snapshot(ctx, || v.handle(ctx, call)),
        // Not in a read snapshot: the insert takes its own write transaction (BEGIN IMMEDIATE).
        View::Form(v) => v.handle(ctx, call),
        View::Login(v) => v.handle(ctx, call),
        View::Logout(v) => v.handle(ctx, call),
    }
}

/// No route matched: Django's APPEND_SLASH redirects (301) to the same path with a slash when
/// that one matches, whatever the method (as Django does with DEBUG off: a POST too); anything
/// else is a 404.
fn append_slash(ctx: &Ctx, req: &Request, path: &str) -> Result<Response, ViewError> {
    if ctx.settings.append_slash && !path.ends_with('/') {
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
    /// The route `pages: path` adds after a list route, at `…/page/<int:page>/`: its `page`
    /// capture is the page number, not a filter.
    pub page_route: bool,
}

impl RouteDef {
    /// The YAML path of one of this route's keys.
    pub fn key(&self, key: &str) -> String {
        format!("{}.{key}", self.at)
    }

    /// The route's `context:`, as the map a page's context is merged from (empty without one).
    pub fn context(&self) -> Map<String, Value> {
        context_of(&self.raw)
    }
}

/// A route's `context:` as a map (empty without one).
pub(crate) fn context_of(raw: &RawRoute) -> Map<String, Value> {
    raw.context
        .clone()
        .map(|c| c.into_iter().collect())
        .unwrap_or_default()
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
/// view kind. Every mistake is reported: the result is the route's endpoint and its warnings,
/// or its errors (with any warnings).
pub fn compile(
    r: &RouteDef,
    env: &mut CompileEnv,
) -> Result<(Endpoint, Vec<Diagnostic>), Vec<Diagnostic>> {
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
    let context = r.context();

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
        ViewKind::Create | ViewKind::Update | ViewKind::Delete => {
            form::FormView::compile(r, env, &mut errors)
                .map_or(View::NotFound, |v| View::Form(Box::new(v)))
        }
        ViewKind::AdminIndex => View::AdminIndex(Box::new(crate::admin::IndexView::compile(
            r,
            env.models,
            env.renderer.as_deref_mut(),
            &mut errors,
        ))),
        ViewKind::AdminHistory => crate::admin::history::HistoryView::compile(
            r,
            env.models,
            env.renderer.as_deref_mut(),
            &mut errors,
        )
        .map_or(View::NotFound, |v| View::AdminHistory(Box::new(v))),
        ViewKind::Login => View::Login(Box::new(auth::LoginView::compile(r, env, &mut errors))),
        ViewKind::Logout => View::Logout(auth::LogoutView::compile(r, env, &mut errors)),
        ViewKind::List | ViewKind::Detail => {
            if let Some(template) = &raw.template {
                template::check_template(r, env, template, &mut errors);
            }
            if raw.view == ViewKind::List {
                template::warn_django_list_names(r, env, &mut errors);
            }
            let mut captures = r.pattern.param_names();
            if r.page_route {
                captures.retain(|c| c != "page");
            }
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
    let export = compile_export(r, &mut errors);
    let auth = auth::needs(r, env);
    // A warning (a form's template without a CSRF token) is reported, and the route still
    // answers: the router counts on one endpoint per route.
    if errors.iter().any(|d| !d.warning) {
        return Err(errors);
    }
    let endpoint = Endpoint {
        view,
        allow,
        query,
        name: r.name.clone(),
        origin: r.origin.clone(),
        cors,
        heavy: Heavy::default(),
        export,
        page_route: r.page_route,
        auth,
    };
    Ok((endpoint, errors))
}

/// `export:`: `false`, or values whose keys are exactly the path's captures.
fn compile_export(r: &RouteDef, errors: &mut Vec<Diagnostic>) -> Export {
    use crate::config::raw::RawExport;
    match &r.raw.export {
        None | Some(RawExport::Listed(true)) => Export::Auto,
        Some(RawExport::Listed(false)) => Export::Off,
        Some(RawExport::Options(o)) => {
            let mut captures = r.pattern.param_names();
            captures.sort();
            let mut all = Vec::new();
            for (i, values) in o.values.iter().enumerate() {
                let mut keys: Vec<String> = values.keys().cloned().collect();
                keys.sort();
                if keys != captures {
                    errors.push(r.source.diag(
                        &r.key(&format!("export.values[{i}]")),
                        format!(
                            "each value names every capture of the path: {}; this names {}",
                            list_or_none(&captures),
                            list_or_none(&keys)
                        ),
                    ));
                    continue;
                }
                all.push(
                    values
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect(),
                );
            }
            Export::Values(all)
        }
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
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
        } else if matches!(
            raw.view,
            ViewKind::Create | ViewKind::Update | ViewKind::Delete | ViewKind::Login
        ) {
            vec![Method::GET, Method::POST]
        } else if raw.view == ViewKind::Logout {
            // Django 5's LogoutView: POST only, so that a link or an image cannot sign out.
            vec![Method::POST]
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

#[cfg(test)]
mod tests {
    use super::Heavy;

    /// One request cut short is not enough to send a route's requests to the database threads
    /// (it may be the machine's doing); a second within a second is.
    #[test]
    fn a_route_is_heavy_after_two_cuts_within_a_second() {
        let heavy = Heavy::default();
        assert!(!heavy.recently());
        heavy.mark();
        assert!(!heavy.recently(), "one cut");
        heavy.mark();
        assert!(heavy.recently(), "two cuts");
    }
}
