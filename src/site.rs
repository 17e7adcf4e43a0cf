//! The compiled, immutable `Site`: configuration validated and resolved — converters built,
//! routes expanded from includes and compiled into a router, templates parsed and checked,
//! every cross-reference (route names, templates, reverse arguments) verified.
//!
//! `load` reports every problem it finds, each placed in its file, not only the first. A `Site`
//! is never partly valid: the server swaps a whole new one in or keeps the old.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::diagnostic::{self, suggestion, Diagnostic};
use crate::config::raw::{ConverterType, RawConverter, RawErrors, RawLimits, RawRouteEntry};
use crate::config::yaml::{self, Source};
use crate::db::migrate::{table_def, TableDef};
use crate::db::{model, Database, Models};
use crate::render::{canonical, Renderer};
use crate::routing::{converters, Converter, Match, Pattern, PatternError, Router};
use crate::views::{
    self, CompileEnv, Ctx, Endpoint, ErrorPage, ErrorPages, RouteDef, SchemaNeeds, Settings,
};

/// `pages: path` on a list route: the same route again right after it, at
/// `…/page/<int:page>/` and of the same name, which answers pages 2 on (`url` of the name
/// without `page` is the list's own URL, page 1).
fn page_route(
    def: &RouteDef,
    convs: &HashMap<String, Arc<Converter>>,
) -> Result<Option<RouteDef>, Diagnostic> {
    use crate::config::raw::{PageStyle, ViewKind};
    if def.raw.view != ViewKind::List || def.raw.pages != Some(PageStyle::Path) {
        return Ok(None);
    }
    let at = def.key("pages");
    let ends_in_slash = match def.pattern.parts.last() {
        None => true,
        Some(crate::routing::Part::Literal(l)) => l.ends_with('/'),
        Some(_) => false,
    };
    if def.raw.regex.is_some() || !ends_in_slash {
        return Err(def
            .source
            .diag(
                &at,
                "`pages: path` needs a path that ends with `/` (or is empty)",
            )
            .with_hint(Some(format!(
                "its pages are `{}`; a path like `posts.json` keeps `?page=`",
                views::page_path("…/", 2)
            ))));
    }
    let suffix = Pattern::parse_path(views::PAGE_SUFFIX, convs)
        .and_then(|p| def.pattern.join(&p))
        .map_err(|e| pattern_diag(&def.source, &at, e))?;
    Ok(Some(RouteDef {
        raw: def.raw.clone(),
        source: def.source.clone(),
        at: def.at.clone(),
        pattern: suffix,
        name: def.name.clone(),
        origin: format!("{} (page 2 on)", def.origin),
        page_route: true,
    }))
}

/// `site.limits`: each that must be at least 1 is.
fn check_limits(limits: &RawLimits, source: &Source, errors: &mut Vec<Diagnostic>) {
    for (name, value) in limits.positive() {
        if value == 0 {
            let at = format!("site.limits.{name}");
            let hint = Some("leave the key out for its default".to_string());
            errors.push(
                source
                    .diag(&at, format!("{name} must be at least 1"))
                    .with_hint(hint),
            );
        }
    }
}

/// A site, ready to serve.
pub struct Site {
    pub root: PathBuf,
    /// What views read of the site: its name, APPEND_SLASH, the error pages.
    pub settings: Settings,
    pub static_url: String,
    pub static_dir: PathBuf,
    /// The static folder's real path, and the fingerprinted URLs of its files.
    pub statics: crate::statics::StaticFiles,
    /// Lower-cased `allowed_hosts`; `None` answers any host.
    pub allowed_hosts: Option<Vec<String>>,
    pub router: Arc<Router>,
    /// One per route, in the router's order.
    pub endpoints: Vec<Endpoint>,
    pub renderer: Renderer,
    /// The database, when the site has models.
    pub db: Option<Arc<Database>>,
    /// The tables the models (and the routes' lookups) ask for.
    pub tables: Vec<TableDef>,
    /// Fixtures loaded when the database is first created.
    pub fixtures: Vec<PathBuf>,
    /// Models whose rows are folders of Markdown files, synced by `migrate`.
    pub collections: Vec<crate::content::Collection>,
    /// The folders and files the site is made of besides its YAML, relative to `root`: the
    /// templates, the static files, the collections' folders, the fixtures. A change
    /// elsewhere (a log file, a backup) does not reload the site.
    pub inputs: Vec<PathBuf>,
    /// The headers every response carries (`site.security` and the defaults).
    pub security: crate::security::SecurityHeaders,
    /// `site.proxy`: which forwarded headers are believed, and from whom.
    pub proxy: crate::proxy::Proxy,
    /// `site.limits`, each checked at load (all but `db_threads` and `shutdown_s` at least 1).
    pub limits: RawLimits,
    /// What is worth a look but does not stop the site: routes that never answer.
    pub warnings: Vec<Diagnostic>,
}

/// What `Site::migrate` did.
#[derive(Debug, Default)]
pub struct Migrated {
    /// One line per thing done.
    pub done: Vec<String>,
    /// Whether the site's fixtures were loaded (they are only into empty tables).
    pub fixtures_loaded: bool,
}

/// Why `Site::migrate` stopped.
#[derive(Debug)]
pub enum MigrateError {
    /// Changes refused (or the database failed): nothing was changed.
    Refused(Vec<String>),
    /// The tables are in place, but the site's fixtures did not load (none of their rows).
    Fixtures(Vec<String>),
    /// The tables are in place, but a collection's files could not be written (none of them).
    Content(Vec<Diagnostic>),
    /// Another process held the database's write lock: nothing was changed; try again later.
    Busy(String),
}

impl std::fmt::Display for MigrateError {
    /// One `error:` line per problem, then what it means for the database.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MigrateError::Refused(refused) => {
                for why in refused {
                    writeln!(f, "error: migration refused: {why}")?;
                }
                let n = refused.len();
                writeln!(
                    f,
                    "{n} change{} refused; the database was not changed",
                    if n == 1 { "" } else { "s" }
                )
            }
            MigrateError::Fixtures(errors) => {
                for e in errors {
                    writeln!(f, "error: {e}")?;
                }
                writeln!(f, "the site's fixtures were not loaded (no row of them): fix them and run again; they load while the tables are empty")
            }
            MigrateError::Busy(why) => {
                writeln!(f, "error: the database is locked by another process: {why}")?;
                writeln!(f, "the database was not changed")
            }
            MigrateError::Content(errors) => {
                write!(f, "{}", diagnostic::format_all(errors))?;
                writeln!(f, "no file's row was written: the tables still hold the rows of the last good sync")
            }
        }
    }
}

impl Site {
    /// Load and validate the site in `dir` (a folder holding `site.yaml`, or the file itself).
    pub fn load(dir: &Path) -> Result<Site, Vec<Diagnostic>> {
        Site::load_after(dir, None)
    }

    /// Load the site again after `previous`: collection files that have not changed since it
    /// was loaded are not read again.
    pub fn load_after(dir: &Path, previous: Option<&Site>) -> Result<Site, Vec<Diagnostic>> {
        Site::load_checked(dir, previous, true).map(|(site, _)| site)
    }

    /// Load the site for a command that renders no page (`routes`, `dump`, `load`,
    /// `migrate`): errors in the templates folder do not stop it, and are returned beside the
    /// site, to be shown as warnings. Every other error still does.
    pub fn load_unrendered(dir: &Path) -> Result<(Site, Vec<Diagnostic>), Vec<Diagnostic>> {
        Site::load_checked(dir, None, false)
    }

    /// `load_after`, with the templates' errors fatal or (`templates_fatal` false) returned
    /// as the second value.
    fn load_checked(
        dir: &Path,
        previous: Option<&Site>,
        templates_fatal: bool,
    ) -> Result<(Site, Vec<Diagnostic>), Vec<Diagnostic>> {
        let (root, file) = site_file(dir);
        let mut errors = Vec::new();
        if !file.exists() {
            return Err(vec![Diagnostic::new(
                &file,
                "no site.yaml here: pass the folder that holds a site's site.yaml",
            )]);
        }
        let loaded = yaml::load_site(&file).map_err(|d| vec![d])?;
        errors.extend(loaded.errors);
        let raw = loaded.value;
        let source = loaded.source;
        let indices = loaded.route_indices;
        let broken = loaded.broken;

        let convs = compile_converters(&raw.converters, &source, &mut errors);

        let (models, mut model_errors) = model::compile(&raw.models, &source);
        errors.append(&mut model_errors);

        let flat = site_routes(
            indices.into_iter().zip(raw.routes).collect(),
            raw.admin.as_ref(),
            (&file, &source),
            &models,
            &convs,
            &mut errors,
        );

        let router = match router_of(&flat, &file) {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                diagnostic::sort(&mut errors);
                return Err(errors);
            }
        };
        let warnings = route_warnings(&flat, &router);

        let settings = raw.site;
        let static_url = normalise_prefix(&settings.static_url);
        let templates_dir = root.join(&settings.templates_dir);
        check_settings(&settings, &root, &static_url, &source, &mut errors);
        let statics = crate::statics::StaticFiles::load(
            &root.join(&settings.static_dir),
            &static_url,
            settings.static_fingerprint,
        );
        let mut renderer = Some(renderer_of(
            &templates_dir,
            &router,
            &statics,
            raw.admin.is_some().then_some(&*source),
            &mut errors,
        ));

        let base_url = base_url(settings.base_url.as_deref(), &source, &mut errors);
        let mut needs = SchemaNeeds::default();
        let mut env = CompileEnv {
            router: &router,
            renderer: renderer.as_mut(),
            models: &models,
            needs: &mut needs,
            base_url: base_url.as_deref(),
        };
        let endpoints = compile_routes(&flat, &mut env, &router, &mut errors);

        let error_pages = find_error_pages(&raw.errors, &source, renderer.as_ref(), &mut errors);

        let db = open_database(&settings, &models, &root, &source, &mut errors);
        let tables = all_tables(&models, &needs, db.is_some());
        let auth = crate::auth::compile(
            &settings.auth,
            &flat,
            &models,
            db.is_some(),
            &source,
            &mut errors,
        );
        let fixtures = fixture_files(&settings.fixtures, &root, &source, &mut errors);
        let collections = crate::content::compile(
            &raw.models,
            &models,
            &root,
            &source,
            (
                previous.map_or(&[][..], |p| &p.collections),
                previous.and_then(|p| p.db.as_ref()).map(|db| &db.models),
            ),
            &mut errors,
        );
        let security =
            crate::security::compile(&settings.security, Some(source.as_ref()), &mut errors);
        let proxy = crate::proxy::compile(&settings.proxy, Some(source.as_ref()), &mut errors);
        let csrf_trusted = views::csrf::Trusted::compile(
            settings.security.csrf_trusted_origins.as_deref(),
            &source,
            &mut errors,
        );
        let cors = settings
            .cors
            .as_ref()
            .and_then(|c| views::cors::Cors::compile(c, &source, "site.cors", &mut errors));
        if !fixtures.is_empty() && db.is_none() {
            errors.push(source.diag("site.fixtures", "fixtures need models and a database"));
        }

        let (warnings, template_errors) =
            settle(errors, warnings, &broken, &templates_dir, templates_fatal)?;
        let name = site_name(settings.name.clone(), &root);
        let renderer = renderer.expect("no errors means templates loaded");
        let pages = error_pages_of(&renderer, error_pages);
        let site = Site {
            inputs: inputs_of(&root, &settings, &collections, &fixtures),
            settings: Settings::new(name, settings.append_slash, pages, base_url)
                .with_limits(settings.limits)
                .with_cors(cors)
                .with_auth(auth)
                .with_frameable(security.frameable())
                .with_csrf_trusted(csrf_trusted)
                .with_messages_signer(previous.and_then(|p| p.settings.messages_signer.clone())),
            root: root.clone(),
            static_dir: root.join(&settings.static_dir),
            statics,
            allowed_hosts: settings
                .allowed_hosts
                .map(|hosts| hosts.iter().map(|h| h.to_ascii_lowercase()).collect()),
            static_url,
            router,
            endpoints,
            renderer,
            db,
            tables,
            fixtures,
            collections,
            security,
            proxy,
            limits: settings.limits,
            warnings,
        };
        Ok((site, template_errors))
    }

    /// Answer one request in process, exactly as the server's catch-all handler does once the
    /// path is decoded, the Host allowed and static files ruled out. The in-process tests ask
    /// the site through this.
    pub fn handle(&self, req: &views::Request) -> views::Response {
        views::handle(&self.ctx(false), &self.endpoints, req)
    }

    /// [`Site::handle`] as a development server answers: a 500 is the debug page (the error,
    /// the template's file and line, the route, the request), not the site's 500 page.
    pub fn handle_debug(&self, req: &views::Request) -> views::Response {
        views::handle(&self.ctx(true), &self.endpoints, req)
    }

    /// The route that answers `req`, if any (see [`Site::handle_resolved`]).
    pub fn resolve(&self, req: &views::Request) -> Option<Match> {
        views::resolve(&self.router, req)
    }

    /// Whether the route `m` may read the database (a list, detail, feed or sitemap): the
    /// server runs those on its database threads, and everything else at once.
    pub fn reads_database(&self, m: Option<&Match>) -> bool {
        self.db.is_some() && m.is_some_and(|m| self.endpoints[m.index].reads_database())
    }

    /// [`Site::handle`] (or, with `debug`, [`Site::handle_debug`]), with the route resolved by
    /// [`Site::resolve`].
    pub fn handle_resolved(
        &self,
        req: &views::Request,
        m: Option<Match>,
        debug: bool,
    ) -> views::Response {
        views::handle_resolved(&self.ctx(debug), &self.endpoints, req, m)
    }

    /// The next chunk of a streamed body (a CSV export), read in its own transaction; `None`
    /// when it is done, an error (for the log) when it cannot go on.
    pub fn next_chunk(&self, stream: &mut views::csv::Stream) -> Result<Option<String>, String> {
        views::csv::next_chunk(&self.ctx(false), &self.endpoints, stream).map_err(|e| match e {
            views::ViewError::Internal(detail) | views::ViewError::Unavailable { detail, .. } => {
                detail
            }
            other => format!("status {}", other.status()),
        })
    }

    /// How the route `m` answers its failures: JSON for a route that answers JSON.
    pub fn answer(&self, m: Option<&Match>) -> views::Answer {
        m.map_or(views::Answer::Html, |m| self.endpoints[m.index].answer())
    }

    /// [`Site::error`], as JSON for a route that answers JSON (see [`Site::answer`]).
    pub fn error_as(
        &self,
        req: &views::Request,
        error: views::ViewError,
        answer: views::Answer,
    ) -> views::Response {
        views::respond_as(&self.ctx(false), req, error, answer)
    }

    /// [`Site::handle_resolved`] as brief work: `None` when the route's database work proved
    /// too expensive for `budget` of this thread's CPU time (see `views::handle_briefly`).
    pub fn handle_briefly(
        &self,
        req: &views::Request,
        m: Option<&Match>,
        budget: std::time::Duration,
        debug: bool,
    ) -> Option<views::Response> {
        views::handle_briefly(&self.ctx(debug), &self.endpoints, req, m, budget)
    }

    /// The error page for `error`, as the site shows it (the server's 400 for a bad Host or
    /// path, and its 404 for a missing static file, come through here).
    pub fn error(&self, req: &views::Request, error: views::ViewError) -> views::Response {
        views::respond(&self.ctx(false), req, error)
    }

    /// Every URL `trellis build` asks for, route by route, with what it leaves out and why
    /// (see `views::export`); the error names a route whose rows could not be read.
    pub fn export_plan(&self) -> Result<Vec<views::export::RoutePlan>, String> {
        let ctx = self.ctx(false);
        match &self.db {
            Some(db) => db.snapshot(|| views::export::plan(&ctx, &self.endpoints)),
            None => views::export::plan(&ctx, &self.endpoints),
        }
    }

    /// Sign with the site's secret key (`secret::load`) what needs it: the `messages` cookie
    /// of visitors without a session. A reloaded site keeps the key of the one it replaces.
    pub fn set_secret_key(&mut self, key: &str) {
        let signer = crate::secret::Signer::new(key, crate::auth::flash::SALT);
        self.settings.messages_signer = Some(signer);
    }

    /// What a view may use: never the whole site.
    fn ctx(&self, debug: bool) -> Ctx<'_> {
        Ctx {
            router: &self.router,
            renderer: &self.renderer,
            db: self.db.as_deref(),
            settings: &self.settings,
            debug,
        }
    }

    /// Create or update the database's tables (see `db::migrate`); on a database created just
    /// now, load the site's fixtures; then sync the collections. Returns what was done.
    pub fn migrate(&self, allow_destructive: bool) -> Result<Migrated, MigrateError> {
        self.migrate_waiting(allow_destructive, None)
    }

    /// `migrate`, waiting at most `wait` (when given) for another process's lock before
    /// answering [`MigrateError::Busy`].
    pub fn migrate_waiting(
        &self,
        allow_destructive: bool,
        wait: Option<std::time::Duration>,
    ) -> Result<Migrated, MigrateError> {
        let Some(db) = &self.db else {
            return Ok(Migrated::default());
        };
        let refused = |e: crate::db::DbError| MigrateError::Refused(vec![e.to_string()]);
        let failed = |e: crate::db::DbError| match e.is_busy() {
            true => MigrateError::Busy(e.to_string()),
            false => refused(e),
        };
        let mut conn = crate::db::connect(&db.path).map_err(failed)?;
        if let Some(wait) = wait {
            crate::db::migrate::wait_for_locks(&conn, wait).map_err(refused)?;
        }
        let outcome = crate::db::migrate::migrate(&mut conn, &self.tables, allow_destructive)
            .map_err(|e| match e.is_busy() {
                true => MigrateError::Busy(e.messages().join("; ")),
                false => MigrateError::Refused(e.messages()),
            })?;
        let mut done = outcome.applied;
        // Fixtures are the site's initial data: loaded while every table is empty (a first run,
        // or one whose load failed and was fixed since). Collections' tables fill from their
        // folders, so they do not count.
        let from_files: Vec<&str> = self
            .collections
            .iter()
            .map(|c| c.model.table.as_str())
            .collect();
        let fixture_tables = self
            .tables
            .iter()
            .map(|t| t.table.as_str())
            .filter(|t| !from_files.contains(t));
        // A database locked by another process is said to be, and retried by the reloader;
        // taking it for one with rows would skip the fixtures without a word.
        let empty = !self.fixtures.is_empty()
            && crate::db::tables_empty(&conn, fixture_tables).map_err(failed)?;
        if empty {
            let report = crate::db::fixtures::load_except(
                &mut conn,
                &db.models,
                &self.fixtures,
                &self.from_files(),
            )
            .map_err(|errors| {
                MigrateError::Fixtures(errors.iter().map(|e| e.to_string()).collect())
            })?;
            done.push(format!(
                "load {} from {}",
                diagnostic::count(report.rows, "row", "rows"),
                diagnostic::count(self.fixtures.len(), "fixture file", "fixture files")
            ));
        }
        if !self.collections.is_empty() {
            done.extend(self.sync(&mut conn)?);
        }
        Ok(Migrated {
            done,
            fixtures_loaded: empty,
        })
    }

    /// Each collection's model and folder: fixtures may not give their rows.
    pub fn from_files(&self) -> Vec<(String, String)> {
        self.collections
            .iter()
            .map(|c| (c.model.name.clone(), c.folder_text.clone()))
            .collect()
    }

    /// Make each collection's table hold exactly its folder's rows, in one transaction.
    fn sync(&self, conn: &mut crate::db::Connection) -> Result<Vec<String>, MigrateError> {
        use crate::db::sync::{sync, SyncError};
        let tables = crate::content::tables(&self.collections);
        match sync(conn, &tables) {
            Ok(reports) => Ok(self
                .collections
                .iter()
                .zip(reports)
                .filter(|(_, r)| r.changed())
                .map(|(c, r)| {
                    format!(
                        "{}: {} new, {} changed, {} removed",
                        c.folder_text, r.inserted, r.updated, r.deleted
                    )
                })
                .collect()),
            Err(SyncError::Rows(problems)) => Err(MigrateError::Content(crate::content::placed(
                &self.collections,
                &problems,
            ))),
            Err(SyncError::Db(e)) if e.is_busy() => Err(MigrateError::Busy(e.to_string())),
            Err(SyncError::Db(e)) => Err(MigrateError::Refused(vec![e.to_string()])),
        }
    }
}

/// `site.base_url`, checked; `None` (and a diagnostic) when it is not a site's address.
fn base_url(raw: Option<&str>, source: &Source, errors: &mut Vec<Diagnostic>) -> Option<String> {
    views::parse_base_url(raw?)
        .map_err(|why| {
            let hint = Some(views::BASE_URL_HINT.into());
            errors.push(source.diag("site.base_url", why).with_hint(hint))
        })
        .ok()
}

/// Each route compiled by its view kind, in the router's order; then the sitemaps told which
/// routes they list.
fn compile_routes(
    flat: &[RouteDef],
    env: &mut CompileEnv<'_>,
    router: &Router,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Endpoint> {
    let mut endpoints = Vec::new();
    for r in flat {
        match views::compile(r, env) {
            Ok((e, mut warned)) => {
                endpoints.push(e);
                errors.append(&mut warned);
            }
            // The route `pages: path` adds has its list's keys: their mistakes are the list's,
            // reported once.
            Err(_) if r.page_route => {}
            Err(mut d) => errors.append(&mut d),
        }
    }
    views::sitemap::link(flat, &mut endpoints, router, errors);
    views::form::link(flat, &mut endpoints, router, errors);
    endpoints
}

/// The site's database, when it has one (models need one).
/// The routes in the order they are tried: `admin:`'s first, then `routes:` with includes
/// expanded in place; a site route may not take the admin's names or paths.
fn site_routes(
    entries: Vec<(usize, RawRouteEntry)>,
    admin: Option<&crate::config::raw::RawAdmin>,
    (file, source): (&Path, &Arc<Source>),
    models: &Models,
    convs: &HashMap<String, Arc<Converter>>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<RouteDef> {
    let mut flat = Vec::new();
    let mut seen_files = vec![file.to_path_buf()];
    expand(
        entries,
        source,
        "routes",
        &Pattern::default(),
        "",
        convs,
        &mut seen_files,
        &mut flat,
        errors,
    );
    if let Some(admin) = admin {
        let mounted = crate::admin::routes(admin, models, source, convs, errors);
        crate::admin::clashes(&mounted, &flat, errors);
        flat.splice(0..0, mounted);
    }
    flat
}

/// `site:`'s checks that need nothing compiled: the static folder, the allowed hosts, the
/// limits and the static URL.
fn check_settings(
    settings: &crate::config::raw::RawSettings,
    root: &Path,
    static_url: &str,
    source: &Source,
    errors: &mut Vec<Diagnostic>,
) {
    check_static_dir(settings, root, source, errors);
    check_allowed_hosts(settings.allowed_hosts.as_deref(), source, errors);
    check_limits(&settings.limits, source, errors);
    if static_url == "/" {
        errors.push(source.diag(
            "site.static_url",
            "static_url cannot be `/`: it would hide every route",
        ));
    }
}

/// The templates folder's templates, and the admin's built-in ones when `admin:` (at
/// `admin`) mounts it.
fn renderer_of(
    templates_dir: &Path,
    router: &Arc<Router>,
    statics: &crate::statics::StaticFiles,
    admin: Option<&Source>,
    errors: &mut Vec<Diagnostic>,
) -> Renderer {
    let (mut renderer, mut template_errors) =
        Renderer::load(templates_dir, router.clone(), &statics.urls);
    errors.append(&mut template_errors);
    if let Some(source) = admin {
        if let Err(why) = crate::admin::templates::register(&mut renderer, router) {
            errors.push(source.diag("admin", why));
        }
    }
    renderer
}

/// The models' tables and, with a database, the built-in ones: users, sessions, failed
/// sign-ins and the history log. Every site with a database has them, so that `trellis user
/// add` works before a sign-in route is added, and removing one loses nothing.
fn all_tables(models: &Models, needs: &SchemaNeeds, has_db: bool) -> Vec<TableDef> {
    let mut tables = table_defs(models, needs);
    if has_db {
        tables.extend(crate::db::session::table_defs());
        tables.extend(crate::db::history::table_defs());
    }
    tables
}

/// The end of a load: the warnings (a compile step's join the routes') and the templates'
/// errors when they are not fatal, or every error (follow-ons of an earlier one dropped) with
/// the warnings, since the site that would carry them is not made.
fn settle(
    errors: Vec<Diagnostic>,
    mut warnings: Vec<Diagnostic>,
    broken: &[String],
    templates_dir: &Path,
    templates_fatal: bool,
) -> Result<(Vec<Diagnostic>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (warned, mut errors): (Vec<_>, Vec<_>) = errors.into_iter().partition(|d| d.warning);
    warnings.extend(warned);
    drop_follow_ons(&mut errors, broken);
    let template_errors = split_template_errors(&mut errors, templates_dir, templates_fatal);
    if errors.is_empty() {
        return Ok((warnings, template_errors));
    }
    errors.extend(warnings);
    diagnostic::sort(&mut errors);
    Err(errors)
}

fn open_database(
    settings: &crate::config::raw::RawSettings,
    models: &Models,
    root: &Path,
    source: &Source,
    errors: &mut Vec<Diagnostic>,
) -> Option<Arc<Database>> {
    match (&settings.database, models.is_empty()) {
        (Some(file), _) => {
            let mut db = Database::new(root.join(file), models.clone());
            db.query_limit = Some(Duration::from_millis(settings.limits.query_ms.into()));
            Some(Arc::new(db))
        }
        (None, false) => {
            errors.push(source.diag(
                "models",
                "models need a database: set `site.database` (e.g. `site.sqlite3`)",
            ));
            None
        }
        (None, true) => None,
    }
}

/// The site's name; unnamed, a site is called after its folder (`.` resolved to the real name).
fn site_name(name: Option<String>, root: &Path) -> String {
    name.unwrap_or_else(|| {
        std::fs::canonicalize(root)
            .unwrap_or_else(|_| root.to_path_buf())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

/// The error pages found by `find_error_pages`, with the context parts each template uses.
fn error_pages_of(renderer: &Renderer, found: [(u16, Option<String>); 4]) -> ErrorPages {
    let [(_, bad_request), (_, forbidden), (_, not_found), (_, server_error)] = found;
    let page = |template: Option<String>| {
        template.map(|template| ErrorPage {
            uses: renderer.uses(&template),
            template,
        })
    };
    ErrorPages {
        bad_request: page(bad_request),
        forbidden: page(forbidden),
        not_found: page(not_found),
        server_error: page(server_error),
    }
}

/// The errors of files under the templates folder, taken out of `errors` and sorted (none when
/// `templates_fatal`).
fn split_template_errors(
    errors: &mut Vec<Diagnostic>,
    templates_dir: &Path,
    templates_fatal: bool,
) -> Vec<Diagnostic> {
    if templates_fatal {
        return Vec::new();
    }
    let (mut taken, rest) = std::mem::take(errors)
        .into_iter()
        .partition(|d| d.file.starts_with(templates_dir));
    *errors = rest;
    diagnostic::sort(&mut taken);
    taken
}

/// The site's folder and its `site.yaml`, from a folder or the file itself.
fn site_file(dir: &Path) -> (PathBuf, PathBuf) {
    if dir.is_file() {
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
        (
            parent.unwrap_or(Path::new(".")).to_path_buf(),
            dir.to_path_buf(),
        )
    } else {
        (dir.to_path_buf(), dir.join("site.yaml"))
    }
}

/// A warning for each route that never answers: an earlier route matches every URL it does
/// (`routing::shadow`).
fn route_warnings(flat: &[views::RouteDef], router: &Router) -> Vec<Diagnostic> {
    crate::routing::shadow::shadowed(router)
        .into_iter()
        .map(|s| {
            let (route, by) = (&flat[s.route], &flat[s.by]);
            let key = if route.raw.regex.is_some() { "regex" } else { "path" };
            let line = by.source.locate(&by.at).map_or(0, |(l, _)| l);
            let place = if Arc::ptr_eq(&by.source, &route.source) {
                format!("line {line}")
            } else {
                let file = by.source.file.file_name().unwrap_or_default();
                format!("{}:{line}", file.to_string_lossy())
            };
            let earlier = by.pattern.display();
            let (message, hint) = if s.same {
                (
                    format!("this route never answers: the route on {place} has the same path, `{earlier}`, and comes first"),
                    "remove one of them, or give them different paths (the method plays no part in choosing a route)",
                )
            } else {
                (
                    format!("this route never answers: `{earlier}` (on {place}) matches every URL it does, and comes first"),
                    "move it above that route, or make the earlier one narrower (another converter, or a `values:` converter)",
                )
            };
            route
                .source
                .diag(&route.key(key), message)
                .with_hint(Some(hint.to_string()))
                .as_warning()
        })
        .collect()
}

/// Leave out the errors that only repeat one already reported: a mention of a model, or of a
/// model's field, that was left out because its own declaration is wrong (`type: bool` is
/// reported once, not again at every route that names the field), or models without the
/// `site.database` that was wrong.
fn drop_follow_ons(errors: &mut Vec<Diagnostic>, broken: &[String]) {
    let echoes: Vec<String> = broken
        .iter()
        .filter_map(|path| {
            if path == "site.database" {
                return Some("models need a database".to_string());
            }
            let rest = path.strip_prefix("models.")?;
            Some(match rest.split_once(".fields.") {
                Some((model, field)) if !field.contains('.') => {
                    format!("model {model} has no field `{field}`")
                }
                Some(_) => return None,
                None if !rest.contains('.') => format!("no model `{rest}`"),
                None => return None,
            })
        })
        .collect();
    errors.retain(|d| !echoes.iter().any(|e| d.message.starts_with(e.as_str())));
}

/// The converters routes may use: the built-ins, then the site's own.
fn compile_converters(
    raw: &indexmap::IndexMap<String, RawConverter>,
    source: &Source,
    errors: &mut Vec<Diagnostic>,
) -> HashMap<String, Arc<Converter>> {
    let mut convs: HashMap<String, Arc<Converter>> = converters::BUILTINS
        .iter()
        .map(|(n, _, _)| {
            (
                n.to_string(),
                Arc::new(Converter::builtin(n).expect("built-in")),
            )
        })
        .collect();
    for (name, c) in raw {
        let at = format!("converters.{name}");
        if converters::BUILTINS.iter().any(|(n, _, _)| n == name) {
            errors.push(source.diag_key(
                &at,
                format!("`{name}` is a built-in converter; choose another name"),
            ));
            continue;
        }
        if !crate::config::names::is_converter_name(name) {
            errors.push(source.diag_key(
                &at,
                format!(
                    "converter name `{name}` may hold only {}",
                    crate::config::names::CONVERTER_NAME_RULE
                ),
            ));
            continue;
        }
        let built = match (&c.regex, &c.values) {
            (Some(r), None) => {
                Converter::from_regex(name, r, c.value_type.unwrap_or(ConverterType::Str))
                    .map_err(|e| source.diag(&format!("{at}.regex"), e))
            }
            (None, Some(v)) => {
                if c.value_type.is_some_and(|t| t != ConverterType::Str) {
                    Err(source.diag(
                        &format!("{at}.type"),
                        "a `values` converter is always a string",
                    ))
                } else {
                    Converter::from_values(name, v)
                        .map_err(|e| source.diag(&format!("{at}.values"), e))
                }
            }
            _ => Err(source.diag(&at, "a converter needs exactly one of `regex` or `values`")),
        };
        match built {
            Ok(c) => {
                convs.insert(name.clone(), Arc::new(c));
            }
            Err(d) => {
                errors.push(d);
                // A stand-in that takes any segment, so that the paths and links that use the
                // converter are not also reported; the site has an error, so it is never served.
                if let Ok(c) = Converter::from_regex(name, "[^/]+", ConverterType::Str) {
                    convs.insert(name.clone(), Arc::new(c));
                }
            }
        }
    }
    convs
}

/// The templates of the 400, 403, 404 and 500 pages: as `errors:` names them, or `400.hbs`,
/// `403.hbs`, `404.hbs` and `500.hbs` when they exist.
fn find_error_pages(
    raw: &RawErrors,
    source: &Source,
    renderer: Option<&Renderer>,
    errors: &mut Vec<Diagnostic>,
) -> [(u16, Option<String>); 4] {
    let mut error_pages = [
        (400u16, None::<String>),
        (403, None),
        (404, None),
        (500, None),
    ];
    for (key, template) in &raw.0 {
        let code = key.to_string();
        let at = format!("errors.{code}");
        let slot = error_pages.iter_mut().find(|(c, _)| c.to_string() == code);
        let Some(slot) = slot else {
            errors.push(
                source
                    .diag_key(&at, format!("no error page for status {code}"))
                    .with_hint(Some("expected 400, 403, 404 or 500".into())),
            );
            continue;
        };
        if let Some(r) = renderer {
            if !r.has(template) {
                errors.push(
                    source
                        .diag(&at, format!("no template `{template}`"))
                        .with_hint(suggestion(
                            canonical(template),
                            r.names().iter().map(String::as_str),
                        )),
                );
                continue;
            }
        }
        slot.1 = Some(canonical(template).to_string());
    }
    for (code, slot) in error_pages.iter_mut() {
        if slot.is_none() && renderer.is_some_and(|r| r.has(&code.to_string())) {
            *slot = Some(code.to_string());
        }
    }
    error_pages
}

/// Each model's table, with the indexes and full-text columns its routes ask for.
fn table_defs(models: &Models, needs: &SchemaNeeds) -> Vec<TableDef> {
    let mut defs: Vec<TableDef> = models
        .values()
        .map(|m| {
            let extra: Vec<_> = needs
                .indexes
                .iter()
                .filter(|(n, _)| n == &m.name)
                .map(|(_, o)| o.clone())
                .collect();
            let mut fts: Vec<String> = Vec::new();
            for (_, cols) in needs.fts.iter().filter(|(n, _)| n == &m.name) {
                for c in cols {
                    if !fts.contains(c) {
                        fts.push(c.clone());
                    }
                }
            }
            table_def(m, models, &extra, &fts)
        })
        .collect();
    defs.extend(crate::db::migrate::join_table_defs(models));
    defs
}

/// `static_dir` must be a folder inside the site folder, not the site folder itself, and must
/// hold neither site.yaml nor the database: everything in it is served to anyone.
fn check_static_dir(
    settings: &crate::config::raw::RawSettings,
    root: &Path,
    source: &Source,
    errors: &mut Vec<Diagnostic>,
) {
    let dir = &settings.static_dir;
    let hint = "static_dir names a folder inside the site folder that holds only public files, e.g. `static`";
    let lexical = Path::new(dir.trim());
    let escapes = lexical.components().any(|c| {
        !matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    });
    let empty = !lexical
        .components()
        .any(|c| matches!(c, std::path::Component::Normal(_)));
    let why = if escapes {
        Some(format!("static_dir {dir:?} is outside the site folder"))
    } else if empty {
        Some(format!("static_dir {dir:?} is the site folder itself: site.yaml and the database would be served"))
    } else {
        // Inside as written; through links, it may still be elsewhere, or hold the database.
        let real_root = std::fs::canonicalize(root).ok();
        let real_dir = std::fs::canonicalize(root.join(lexical)).ok();
        let db = settings.database.as_ref().map(|d| root.join(d));
        let real_db = db.as_ref().and_then(|d| {
            let parent = std::fs::canonicalize(d.parent()?).ok()?;
            Some(parent.join(d.file_name()?))
        });
        match (real_root, real_dir) {
            (Some(r), Some(d)) if d == r || !d.starts_with(&r) => Some(format!(
                "static_dir {dir:?} leads to {}, which is not a folder inside the site folder",
                d.display()
            )),
            (_, Some(d)) if real_db.as_ref().is_some_and(|db| db.starts_with(&d)) => Some(format!(
                "static_dir {dir:?} holds the database {:?}: it would be downloadable",
                settings.database.as_deref().unwrap_or_default()
            )),
            _ => None,
        }
    };
    if let Some(why) = why {
        errors.push(
            source
                .diag("site.static_dir", why)
                .with_hint(Some(hint.into())),
        );
    }
}

/// Each `allowed_hosts` entry must be able to match a Host: `*`, or a name (`.name` for its
/// subdomains) without a scheme, a path or a port, which a Host's name never has.
fn check_allowed_hosts(hosts: Option<&[String]>, source: &Source, errors: &mut Vec<Diagnostic>) {
    for (i, host) in hosts.into_iter().flatten().enumerate() {
        let name = host.strip_prefix('.').unwrap_or(host);
        let ok = host == "*"
            || crate::hosts::split_domain_port(name).is_some_and(|(_, port)| port.is_empty());
        if !ok {
            let bare = url::Url::parse(host)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| host.split(':').next().unwrap_or_default().to_string());
            errors.push(
                source
                    .diag(
                        &format!("site.allowed_hosts[{i}]"),
                        format!("{host:?} is not a host name: it can match no request"),
                    )
                    .with_hint(Some(format!(
                        "write the name alone (a port is ignored): `{bare}`, `.{bare}` for its subdomains too, or `*` for any"
                    ))),
            );
        }
    }
}

/// A route's `path` (or `regex`) after the include prefixes above it.
fn route_pattern(
    raw: &crate::config::raw::RawRoute,
    here: &str,
    source: &Arc<Source>,
    prefix: &Pattern,
    convs: &HashMap<String, Arc<Converter>>,
) -> Result<Pattern, Diagnostic> {
    let pattern = match (&raw.path, &raw.regex) {
        (Some(p), None) if p.starts_with('/') => Err(source
            .diag(
                &format!("{here}.path"),
                format!("path {p:?} starts with `/`"),
            )
            .with_hint(Some(format!(
                "paths are written without the leading slash: {:?}",
                p.trim_start_matches('/')
            )))),
        (Some(p), None) => Pattern::parse_path(p, convs)
            .map_err(|e| pattern_diag(source, &format!("{here}.path"), e)),
        (None, Some(r)) => {
            Pattern::parse_regex(r).map_err(|e| pattern_diag(source, &format!("{here}.regex"), e))
        }
        (Some(_), Some(_)) => {
            Err(source.diag(here, "a route has either `path` or `regex`, not both"))
        }
        (None, None) => Err(source
            .diag(here, "missing key `path`")
            .with_hint(Some("every route needs `path` (or `regex`)".into()))),
    };
    pattern.and_then(|p| prefix.join(&p).map_err(|e| pattern_diag(source, here, e)))
}

/// The router of the expanded routes; a pattern it cannot compile is a diagnostic on the site
/// file.
fn router_of(flat: &[views::RouteDef], file: &Path) -> Result<Arc<Router>, Diagnostic> {
    Router::new(
        flat.iter()
            .map(|r| (r.pattern.clone(), r.name.clone()))
            .collect(),
    )
    .map(Arc::new)
    .map_err(|e| Diagnostic::new(file, e))
}

/// The paths whose change reloads the site: its templates, static files, collection folders and
/// fixture files, relative to the site's folder.
fn inputs_of(
    root: &Path,
    settings: &crate::config::raw::RawSettings,
    collections: &[crate::content::Collection],
    fixtures: &[PathBuf],
) -> Vec<PathBuf> {
    [&settings.templates_dir, &settings.static_dir]
        .into_iter()
        .map(PathBuf::from)
        .chain(collections.iter().map(|c| c.folder.clone()))
        .chain(fixtures.iter().cloned())
        .map(|p| relative_input(root, &p))
        .collect()
}

/// `path` (relative to `root`, or below it) relative to `root`, without `.` parts.
fn relative_input(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The fixtures loaded into a new database; each must be a file in the site folder.
fn fixture_files(
    raw: &Option<Vec<String>>,
    root: &Path,
    source: &Source,
    errors: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    let mut fixtures = Vec::new();
    for (i, f) in raw.iter().flatten().enumerate() {
        let path = root.join(f);
        if !path.is_file() {
            errors.push(source.diag(
                &format!("site.fixtures[{i}]"),
                format!("no file `{f}` in the site folder"),
            ));
        }
        fixtures.push(path);
    }
    fixtures
}

fn normalise_prefix(p: &str) -> String {
    let mut s = p.trim().to_string();
    if !s.starts_with('/') {
        s.insert(0, '/');
    }
    if !s.ends_with('/') {
        s.push('/');
    }
    s
}

fn pattern_diag(source: &Source, at: &str, e: PatternError) -> Diagnostic {
    let hint = e
        .unknown_converter
        .as_ref()
        .and_then(|(name, known)| suggestion(name, known.split(',')));
    source.diag(at, e.message).with_hint(hint)
}

#[allow(clippy::too_many_arguments)]
fn expand(
    entries: Vec<(usize, RawRouteEntry)>,
    source: &Arc<Source>,
    at: &str,
    prefix: &Pattern,
    namespace: &str,
    convs: &HashMap<String, Arc<Converter>>,
    seen: &mut Vec<PathBuf>,
    out: &mut Vec<RouteDef>,
    errors: &mut Vec<Diagnostic>,
) {
    for (i, entry) in entries {
        let here = format!("{at}[{i}]");
        match entry {
            RawRouteEntry::Route(raw) => {
                let raw = *raw;
                let pattern = match route_pattern(&raw, &here, source, prefix, convs) {
                    Ok(p) => p,
                    Err(d) => {
                        errors.push(d);
                        continue;
                    }
                };
                let name = match &raw.name {
                    Some(n) if n.is_empty() || n.contains(':') => {
                        errors.push(source.diag(&format!("{here}.name"), format!("route name {n:?} cannot be empty or contain `:` (namespaces come from includes)")));
                        continue;
                    }
                    Some(n) if namespace.is_empty() => Some(n.clone()),
                    Some(n) => Some(format!("{namespace}:{n}")),
                    None => None,
                };
                let origin = source.diag(&here, "").headline();
                let def = RouteDef {
                    raw,
                    source: source.clone(),
                    at: here,
                    pattern,
                    name,
                    origin: origin.trim_end_matches(": ").to_string(),
                    page_route: false,
                };
                let pages = page_route(&def, convs).map_err(|d| errors.push(d));
                out.push(def);
                out.extend(pages.ok().flatten());
            }
            RawRouteEntry::Include(inc) => {
                let dir = source.file.parent().unwrap_or(Path::new("."));
                let file = dir.join(&inc.include);
                if seen.contains(&file) {
                    errors.push(source.diag(
                        &format!("{here}.include"),
                        format!(
                                "{} includes itself (through {})",
                                inc.include,
                                seen.iter()
                                    .map(|p| p.display().to_string())
                                    .collect::<Vec<_>>()
                                    .join(" -> ")
                            ),
                    ));
                    continue;
                }
                if !file.is_file() {
                    errors.push(source.diag(
                        &format!("{here}.include"),
                        format!(
                            "no file `{}` (paths are relative to the including file)",
                            inc.include
                        ),
                    ));
                    continue;
                }
                let sub_prefix =
                    match Pattern::parse_path(&inc.prefix, convs).and_then(|p| prefix.join(&p)) {
                        Ok(p) => p,
                        Err(e) => {
                            errors.push(pattern_diag(source, &format!("{here}.prefix"), e));
                            continue;
                        }
                    };
                if inc.prefix.starts_with('/') {
                    errors.push(source.diag(
                        &format!("{here}.prefix"),
                        "a prefix is written without the leading slash",
                    ));
                    continue;
                }
                let ns = match &inc.namespace {
                    Some(n) if n.is_empty() || n.contains(':') => {
                        errors.push(source.diag(
                            &format!("{here}.namespace"),
                            "a namespace cannot be empty or contain `:`",
                        ));
                        continue;
                    }
                    Some(n) if namespace.is_empty() => n.clone(),
                    Some(n) => format!("{namespace}:{n}"),
                    None => namespace.to_string(),
                };
                match yaml::load_routes(&file) {
                    Ok(loaded) => {
                        errors.extend(loaded.errors);
                        seen.push(file);
                        let entries = loaded.route_indices.into_iter().zip(loaded.value).collect();
                        expand(
                            entries,
                            &loaded.source,
                            "",
                            &sub_prefix,
                            &ns,
                            convs,
                            seen,
                            out,
                            errors,
                        );
                        seen.pop();
                    }
                    Err(d) => errors.push(d),
                }
            }
        }
    }
}
