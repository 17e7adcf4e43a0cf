//! The raw shape of `site.yaml` and of included route files, mirrored exactly as serde types.
//!
//! Nothing here is validated beyond what serde checks: unknown keys are refused
//! (`deny_unknown_fields`) and defaults are explicit. `crate::site` turns these values into the
//! compiled, immutable `Site`. The JSON Schema in `schemas/` is generated from these types, so
//! the schema and the loader cannot drift apart.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

/// The whole of `site.yaml`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Trellis site.yaml")]
pub struct RawSite {
    /// Site-wide settings.
    #[serde(default)]
    pub site: RawSettings,
    /// Custom path converters, by name, beyond the built-ins `str`, `int`, `slug`, `uuid`, `path`.
    #[serde(default)]
    pub converters: IndexMap<String, RawConverter>,
    /// Models: tables in the site's SQLite database, by model name.
    #[serde(default)]
    pub models: IndexMap<String, RawModel>,
    /// URL patterns, tried in order; the first that matches the path handles the request.
    #[serde(default)]
    pub routes: Vec<RawRouteEntry>,
    /// Templates rendered for error responses.
    #[serde(default)]
    pub errors: RawErrors,
    /// The generated admin (Django's admin site): `admin: admin/` mounts it at that path for
    /// every model; the mapping form chooses the models and their columns.
    #[serde(default)]
    pub admin: Option<RawAdmin>,
}

/// The keys `RawSite` accepts at the top level, for did-you-mean suggestions.
pub const SITE_KEYS: &[&str] = &["site", "converters", "models", "routes", "errors", "admin"];

/// `admin: admin/`, or the long form.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawAdmin {
    /// The path the admin is mounted at (`admin/`), for every model.
    Path(String),
    Full(RawAdminFull),
}

/// `admin: { path: admin/, models: [Post, Author], list_display: { Post: [title, author] } }`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAdminFull {
    /// The path the admin is mounted at, written without the leading slash (default `admin/`).
    #[serde(default)]
    pub path: Option<String>,
    /// The models it manages, in this order (default: every model, as declared).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// The columns of a model's list, by model (default: its first five fields, many_to_many
    /// ones left out).
    #[serde(default)]
    #[schemars(transform = at_least_one_column)]
    pub list_display: IndexMap<String, Vec<String>>,
    /// Rows per page of each list (default 50).
    #[serde(default)]
    pub paginate_by: Option<u32>,
}

/// `list_display`'s lists name a column each at least: the loader refuses an empty one
/// (`admin::list_columns`).
fn at_least_one_column(schema: &mut schemars::Schema) {
    if let Some(serde_json::Value::Object(lists)) = schema.get_mut("additionalProperties") {
        lists.insert("minItems".into(), 1.into());
    }
}

/// Site-wide settings (`site:`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// The site's name, available to templates as `site.name`.
    #[serde(default)]
    pub name: Option<String>,
    /// Django's APPEND_SLASH: a request (any method) that matches no route but would match with a
    /// trailing slash is redirected (301) there.
    #[serde(default = "yes")]
    pub append_slash: bool,
    /// URL prefix under which files of `static_dir` are served.
    #[serde(default = "default_static_url")]
    pub static_url: String,
    /// Folder of static files, inside the site folder (not the site folder itself, and not
    /// holding site.yaml or the database). Only files whose real path is inside it are served:
    /// a link out of it is a 404.
    #[serde(default = "default_static_dir")]
    pub static_dir: String,
    /// Put each static file's content hash in the URL `{{static}}` makes
    /// (`/static/site.3f2a1b9c.css`), served with `Cache-Control: public, max-age=31536000,
    /// immutable`; a file changed since the site loaded gets a new URL at the next reload.
    #[serde(default)]
    pub static_fingerprint: bool,
    /// SQLite database file, relative to the site folder; created on first run. Needed when the
    /// site has models.
    #[serde(default)]
    pub database: Option<String>,
    /// Fixture files (YAML, JSON or CSV, relative to the site folder) loaded when the database
    /// is first created, so that a fresh checkout serves with its data.
    #[serde(default)]
    pub fixtures: Option<Vec<String>>,
    /// Folder of Handlebars templates, relative to the site folder.
    #[serde(default = "default_templates_dir")]
    pub templates_dir: String,
    /// Host names the site answers for (Django's ALLOWED_HOSTS): `example.com`, `.example.com`
    /// for the domain and its subdomains, `*` for any. Unset, only `localhost` (and its
    /// subdomains), `127.0.0.1` and `[::1]` are answered, and `serve` refuses an address that
    /// is not a loopback one; a request for a host not in the list, or a malformed Host, gets
    /// 400.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// The site's public address, `https://example.org` (or with a path prefix,
    /// `https://example.org/blog`): feeds and sitemaps make their absolute URLs from it, and
    /// templates see it as `site.base_url` (without a trailing slash). Needed by a `feed` or
    /// `sitemap` route.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Security headers beyond the defaults every response carries (`X-Content-Type-Options`,
    /// `X-Frame-Options`, `Referrer-Policy`, `Cross-Origin-Opener-Policy`): a content security
    /// policy, HSTS, a permissions policy, and other values for the defaults.
    #[serde(default)]
    pub security: RawSecurity,
    /// What one request or client may cost the server; every limit has a default.
    #[serde(default)]
    pub limits: RawLimits,
    /// Running behind a reverse proxy (nginx, Caddy) that terminates HTTPS: which header says
    /// the original request was secure, and from which addresses such headers are believed.
    #[serde(default)]
    pub proxy: RawProxy,
    /// Cross-origin requests (CORS) every route answers, unless a route says otherwise with
    /// its own `cors:`. Unset: none (browsers keep other sites' pages from reading answers).
    #[serde(default)]
    pub cors: Option<RawCors>,
    /// Sessions and sign-in: where `login_required` routes send visitors, how long a session
    /// lasts, how failed sign-ins are slowed.
    #[serde(default)]
    pub auth: RawAuth,
}

/// `site.auth`; every key has a default.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// The name of the sign-in route that `login_required` and `staff_required` routes
    /// redirect to (default: the route whose view is `login`).
    #[serde(default)]
    pub login: Option<String>,
    /// How long a session lasts after sign-in, in seconds (Django's SESSION_COOKIE_AGE: two
    /// weeks).
    #[serde(default = "default_session_age")]
    pub session_age_s: u32,
    /// Failed sign-ins allowed per username, and per client address, within
    /// `failure_window_s`; past them sign-in answers 429 until the window has passed.
    #[serde(default = "default_max_failures")]
    pub max_failures: u32,
    /// The window in which failed sign-ins are counted, in seconds (15 minutes).
    #[serde(default = "default_failure_window")]
    pub failure_window_s: u32,
}

impl Default for RawAuth {
    fn default() -> Self {
        RawAuth {
            login: None,
            session_age_s: default_session_age(),
            max_failures: default_max_failures(),
            failure_window_s: default_failure_window(),
        }
    }
}

fn default_session_age() -> u32 {
    60 * 60 * 24 * 14
}
fn default_max_failures() -> u32 {
    5
}
fn default_failure_window() -> u32 {
    15 * 60
}

/// `site.proxy`: the headers a reverse proxy adds, believed only when the connection comes
/// from one of the `trusted` addresses.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    /// The addresses of the proxies, as IP addresses or CIDR blocks (`10.0.0.0/8`): a
    /// forwarded header is believed only on a connection from one of them, and ignored from
    /// anyone else. Default: the loopback addresses, `127.0.0.0/8` and `::1` (a proxy on the
    /// same machine).
    #[serde(default = "default_trusted")]
    pub trusted: Vec<String>,
    /// Django's SECURE_PROXY_SSL_HEADER: the header (and the value) by which the proxy says the
    /// client's request came over HTTPS, e.g. `{ name: X-Forwarded-Proto, value: https }`.
    /// Such a request is secure: templates see `request.scheme` as `https`, and the HSTS
    /// header (`site.security.hsts`) is sent. Unset: no request is secure. The proxy must set
    /// this header itself on every request, replacing any value the client sent.
    #[serde(default)]
    pub scheme_header: Option<RawSchemeHeader>,
    /// Take the client's address for the access log from `X-Forwarded-For` (the rightmost
    /// address that is not a trusted proxy), instead of the proxy's own.
    #[serde(default)]
    pub forwarded_for: bool,
    /// Django's USE_X_FORWARDED_HOST: take the host from `X-Forwarded-Host` instead of `Host`
    /// (it must still be in `allowed_hosts`). Needed only when the proxy does not pass `Host`
    /// on.
    #[serde(default)]
    pub forwarded_host: bool,
}

impl Default for RawProxy {
    fn default() -> Self {
        RawProxy {
            trusted: default_trusted(),
            scheme_header: None,
            forwarded_for: false,
            forwarded_host: false,
        }
    }
}

fn default_trusted() -> Vec<String> {
    vec!["127.0.0.0/8".into(), "::1".into()]
}

/// `site.proxy.scheme_header`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchemeHeader {
    /// The header's name, e.g. `X-Forwarded-Proto`.
    pub name: String,
    /// The value that means HTTPS (compared with the header's first comma-separated value).
    #[serde(default = "default_https")]
    pub value: String,
}

fn default_https() -> String {
    "https".into()
}

/// `cors:` — which other sites' pages may read this site's answers (CORS), and how.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCors {
    /// The origins allowed, each a scheme, a host and an optional port
    /// (`https://app.example.org`, `http://localhost:5173`), or `*` alone for any.
    pub origins: Vec<String>,
    /// The methods a cross-origin request may use (default: the route's methods).
    #[serde(default)]
    pub methods: Option<Vec<Method>>,
    /// Request headers a cross-origin request may send beyond the safelisted ones
    /// (`Authorization`, `X-Requested-With`…), or `*` for any.
    #[serde(default)]
    pub headers: Option<Vec<String>>,
    /// Response headers a page may read beyond the safelisted ones.
    #[serde(default)]
    pub expose_headers: Option<Vec<String>>,
    /// Seconds a browser may keep a preflight's answer (`Access-Control-Max-Age`). Unset: not
    /// sent (browsers keep it a few seconds).
    #[serde(default)]
    pub max_age: Option<u32>,
    /// Let cross-origin requests carry cookies and HTTP authentication
    /// (`Access-Control-Allow-Credentials: true`); not with `*` for origins or headers.
    #[serde(default)]
    pub credentials: bool,
}

/// A route's `cors:`: its own policy, or `false` for none (the site's `cors` left aside).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawRouteCors {
    Enabled(bool),
    Policy(RawCors),
}

/// `site.security`: the headers every response carries.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSecurity {
    /// `Content-Security-Policy`, sent as written (`default-src 'self'`). Unset: none.
    #[serde(default)]
    pub content_security_policy: Option<String>,
    /// `Permissions-Policy`, sent as written (`geolocation=(), camera=()`). Unset: none.
    #[serde(default)]
    pub permissions_policy: Option<String>,
    /// `Strict-Transport-Security`: browsers that saw it use only HTTPS for the site. Set it
    /// only when the site is served over HTTPS. Unset: none.
    #[serde(default)]
    pub hsts: Option<RawHsts>,
    /// `X-Frame-Options`: `DENY` (the default), `SAMEORIGIN`, or `off`.
    #[serde(default)]
    pub frame_options: Option<FrameOptions>,
    /// `Referrer-Policy`: `same-origin` by default, or another policy, or `off`.
    #[serde(default)]
    pub referrer_policy: Option<ReferrerPolicy>,
    /// `Cross-Origin-Opener-Policy`: `same-origin` by default, or another policy, or `off`.
    #[serde(default)]
    pub cross_origin_opener_policy: Option<OpenerPolicy>,
    /// Origins besides the site's own that may send it unsafe requests (Django's
    /// CSRF_TRUSTED_ORIGINS), each a scheme and a host: `https://admin.example.com`, or
    /// `https://*.example.org` for example.org and every subdomain of it. They pass the CSRF
    /// check's `Origin` (and, over HTTPS, `Referer`) test; the token is still required.
    #[serde(default)]
    pub csrf_trusted_origins: Option<Vec<String>>,
}

/// `site.security.hsts`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHsts {
    /// Seconds browsers remember to use HTTPS only (a year is 31536000; 0 makes them forget).
    pub max_age: u64,
    /// The same for every subdomain.
    #[serde(default)]
    pub include_subdomains: bool,
    /// Ask to be on the browsers' preload list (needs `include_subdomains` and a `max_age` of
    /// at least a year).
    #[serde(default)]
    pub preload: bool,
}

/// `site.security.frame_options`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum FrameOptions {
    #[serde(rename = "DENY")]
    Deny,
    #[serde(rename = "SAMEORIGIN")]
    SameOrigin,
    #[serde(rename = "off")]
    Off,
}

/// `site.security.referrer_policy`: the policies of the Referrer-Policy header, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReferrerPolicy {
    NoReferrer,
    NoReferrerWhenDowngrade,
    Origin,
    OriginWhenCrossOrigin,
    SameOrigin,
    StrictOrigin,
    StrictOriginWhenCrossOrigin,
    UnsafeUrl,
    Off,
}

/// `site.security.cross_origin_opener_policy`, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OpenerPolicy {
    SameOrigin,
    SameOriginAllowPopups,
    UnsafeNone,
    Off,
}

/// `site.limits`: what one request or one client may cost. Past a limit the request gets the
/// status named, never a panic or a hang. The server's own settings (`client_timeout_s`,
/// `connections`, `shutdown_s`, `db_threads`) are read when `serve` starts; the others follow
/// a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    /// Largest request body, in bytes (by its Content-Length); past it, 413.
    pub body_bytes: u64,
    /// Most fields a request's query string may have, and most a form's body may have, each
    /// counted apart (Django's DATA_UPLOAD_MAX_NUMBER_FIELDS); past it, 400.
    pub query_fields: u32,
    /// Longest request target (path and query), in bytes; past it, 414.
    pub url_bytes: u32,
    /// Most bytes of request headers, names and values together; past it, 431.
    pub header_bytes: u32,
    /// Seconds a client may take to send a request's head (then 408), or to take more of a
    /// response that it stopped reading (then the connection is closed).
    pub client_timeout_s: u32,
    /// Most open connections; more wait in the kernel's queue until one closes.
    pub connections: u32,
    /// Milliseconds one SQL statement may run; past it, the statement is interrupted and the
    /// request gets 503 with `Retry-After`.
    pub query_ms: u32,
    /// Most rows an unpaginated list shows (a `list` without `paginate_by`).
    pub list_rows: u32,
    /// Longest search term, in characters; a longer one is a 400.
    pub search_chars: u32,
    /// Threads that run the pages that read the database (0: one per CPU core).
    pub db_threads: u32,
    /// Most requests waiting for a database thread; past it, 503 with `Retry-After: 1`.
    pub db_queue: u32,
    /// Seconds requests in flight have to finish after SIGINT or SIGTERM.
    pub shutdown_s: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            body_bytes: 2_621_440,
            query_fields: 1000,
            url_bytes: 8192,
            header_bytes: 32768,
            client_timeout_s: 30,
            connections: 1024,
            query_ms: 1000,
            list_rows: 1000,
            search_chars: 200,
            db_threads: 0,
            db_queue: 256,
            shutdown_s: 30,
        }
    }
}

impl RawLimits {
    /// The limits that must be at least 1, by name, for the loader's check.
    pub fn positive(&self) -> [(&'static str, u64); 10] {
        [
            ("body_bytes", self.body_bytes),
            ("query_fields", self.query_fields.into()),
            ("url_bytes", self.url_bytes.into()),
            ("header_bytes", self.header_bytes.into()),
            ("client_timeout_s", self.client_timeout_s.into()),
            ("connections", self.connections.into()),
            ("query_ms", self.query_ms.into()),
            ("list_rows", self.list_rows.into()),
            ("search_chars", self.search_chars.into()),
            ("db_queue", self.db_queue.into()),
        ]
    }
}

impl Default for RawSettings {
    fn default() -> Self {
        RawSettings {
            name: None,
            append_slash: true,
            static_url: default_static_url(),
            static_dir: default_static_dir(),
            static_fingerprint: false,
            templates_dir: default_templates_dir(),
            database: None,
            fixtures: None,
            allowed_hosts: None,
            base_url: None,
            security: RawSecurity::default(),
            cors: None,
            limits: RawLimits::default(),
            proxy: RawProxy::default(),
            auth: RawAuth::default(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_static_url() -> String {
    "/static/".into()
}
fn default_static_dir() -> String {
    "static".into()
}
fn default_templates_dir() -> String {
    "templates".into()
}

/// A custom converter: either a regex with a value type, or a fixed list of allowed values.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["regex"]}, {"required": ["values"]}]))]
pub struct RawConverter {
    /// Regular expression a path segment must match (no anchors, no named groups).
    #[serde(default)]
    pub regex: Option<String>,
    /// Type of the captured value in templates.
    #[serde(default, rename = "type")]
    pub value_type: Option<ConverterType>,
    /// The only values accepted; anything else is no match.
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

/// Type of a converter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConverterType {
    Str,
    Int,
    Float,
}

/// One entry of `routes:`: a route, or an include of another file of routes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawRouteEntry {
    Include(RawInclude),
    Route(Box<RawRoute>),
}

/// `{ include: FILE, prefix: "blog/", namespace: blog }`
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInclude {
    /// A YAML file holding a list of routes, relative to the including file.
    pub include: String,
    /// Path prefix for every included route; may capture (`"<int:year>/"`).
    #[serde(default)]
    pub prefix: String,
    /// Namespace for the included route names (`blog:post-detail`).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Which generic view answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    /// Render `template` with the request's context.
    Template,
    /// Redirect to a route name (`to`) or a URL (`url`).
    Redirect,
    /// Answer with an inline `body` (a Handlebars template string), `status` and `content_type`.
    Response,
    /// Answer 404 with the site's 404 page.
    NotFound,
    /// A page of a model's rows (Django's ListView), as HTML or JSON.
    List,
    /// One row, looked up from a path capture (Django's DetailView), as HTML or JSON.
    Detail,
    /// An Atom (or RSS) feed of a model's newest rows (Django's syndication framework).
    Feed,
    /// The sitemap of the site's pages and detail rows (Django's sitemaps framework).
    Sitemap,
    /// A form that adds a row of a model (Django's CreateView): GET shows it, POST validates
    /// and inserts, then redirects to `success`.
    Create,
    /// A form that changes one row, found as `detail` finds it (Django's UpdateView).
    Update,
    /// A page that shows what deleting one row removes, and deletes it on POST (Django's
    /// DeleteView).
    Delete,
    /// The admin's index (generated by `admin:`, never written in YAML).
    #[serde(skip)]
    #[schemars(skip)]
    AdminIndex,
    /// The admin's history of one row (generated by `admin:`, never written in YAML).
    #[serde(skip)]
    #[schemars(skip)]
    AdminHistory,
    /// The sign-in page (Django's LoginView): GET shows the form, POST checks the password and
    /// redirects to `next` or `success`.
    Login,
    /// Sign-out (Django's LogoutView): POST ends the session and redirects to `success`.
    Logout,
}

impl ViewKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ViewKind::Template => "template",
            ViewKind::Redirect => "redirect",
            ViewKind::Response => "response",
            ViewKind::NotFound => "not_found",
            ViewKind::List => "list",
            ViewKind::Detail => "detail",
            ViewKind::Feed => "feed",
            ViewKind::Sitemap => "sitemap",
            ViewKind::Create => "create",
            ViewKind::Update => "update",
            ViewKind::Delete => "delete",
            ViewKind::AdminIndex => "admin_index",
            ViewKind::AdminHistory => "admin_history",
            ViewKind::Login => "login",
            ViewKind::Logout => "logout",
        }
    }
}

/// HTTP methods a route may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
pub enum Method {
    GET,
    POST,
    PUT,
    PATCH,
    DELETE,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
        }
    }
}

/// A route (Django's `path()` or, with `regex`, `re_path()`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = route_rules)]
pub struct RawRoute {
    /// Django path syntax without a leading slash: `"posts/<int:pk>/"`.
    #[serde(default)]
    pub path: Option<String>,
    /// A regular expression with named groups, matched against the whole path (Django's `re_path`).
    #[serde(default)]
    pub regex: Option<String>,
    /// Name for `reverse` and the `url` helper.
    #[serde(default)]
    pub name: Option<String>,
    /// The generic view that answers.
    pub view: ViewKind,
    /// Accepted methods (default GET; HEAD is served wherever GET is).
    #[serde(default)]
    pub methods: Option<Vec<Method>>,
    /// Template to render (view: template), relative to the templates folder.
    #[serde(default)]
    pub template: Option<String>,
    /// Extra data for the template context (view: template, response).
    #[serde(default)]
    pub context: Option<IndexMap<String, serde_json::Value>>,
    /// Response status (view: template, response).
    #[serde(default)]
    pub status: Option<u16>,
    /// Route name to redirect to (view: redirect).
    #[serde(default)]
    pub to: Option<String>,
    /// URL to redirect to; `{name}` is replaced by the capture `name` (view: redirect).
    #[serde(default)]
    pub url: Option<String>,
    /// Literal arguments for reversing `to`; captures of the same name are passed otherwise.
    #[serde(default)]
    pub args: Option<IndexMap<String, RawScalar>>,
    /// 301 instead of 302 (view: redirect).
    #[serde(default)]
    pub permanent: Option<bool>,
    /// Pass the request's query string on to the target (view: redirect).
    #[serde(default)]
    pub query_string: Option<bool>,
    /// Inline body, a Handlebars template string (view: response).
    #[serde(default)]
    pub body: Option<String>,
    /// Content type of the page (view: template, response; default text/html). The output is
    /// escaped for it: HTML (and XML) as HTML, JSON as JSON strings, anything else not at all.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Declared query parameters, typed and checked.
    #[serde(default)]
    pub query: Option<IndexMap<String, RawQueryParam>>,
    /// The model whose rows are shown (view: list, detail, feed) or added (view: create).
    #[serde(default)]
    pub model: Option<String>,
    /// Where a create form goes once the row is saved: a route name whose captures are the
    /// new row's fields (`slug`, or `pk` for its primary key), as a feed's `link`.
    #[serde(default)]
    pub success: Option<String>,
    /// A message kept for the visitor's next page that shows `messages` once the row is saved
    /// or deleted (Django's SuccessMessageMixin): `{field}` is that field of the row (view:
    /// create, update, delete); on view: login, once signed in, `{username}` is the user's name.
    #[serde(default)]
    pub success_message: Option<String>,
    /// Static filters: `{ published: true, created_at__lte: "2026-01-01" }` (view: list, detail).
    #[serde(rename = "where", default)]
    pub where_: Option<IndexMap<String, RawScalar>>,
    /// `html` (default: render `template`), `json` (view: list, detail), or `csv` (view: list:
    /// every row the list's filters, search and ordering give, streamed).
    #[serde(default)]
    pub format: Option<Format>,
    /// The file name a `format: csv` export is saved under (view: list; default the route's
    /// name, or the model's table, with `.csv`).
    #[serde(default)]
    pub filename: Option<String>,
    /// view: create: the fields the form shows and writes (default: every field but the
    /// primary key and the `auto_now`/`auto_now_add` ones, then the many_to_many ones).
    /// view: list, detail with `format: json`: the keys of each JSON row, in this order: field names (`author` is the related row,
    /// `author_id` its key, `tags` a many_to_many field's rows), `pk` for the primary key,
    /// a related row's field (`author__name`), or a `related:` list (view: list, detail;
    /// `format: json` only). view: list with `format: csv`: the columns, in this order (a
    /// field, `author` its target's key, `pk`, or `author__name`).
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// The keys left out of each JSON row, or the columns left out of a CSV export; the
    /// others keep their order (view: list, detail; `format: json` or `csv` only).
    #[serde(default)]
    pub exclude: Option<Vec<String>>,
    /// Rows per page; unset shows every row (view: list).
    #[serde(default)]
    pub paginate_by: Option<u32>,
    /// An empty list is a page rather than a 404 (view: list; default true).
    #[serde(default)]
    pub allow_empty: Option<bool>,
    /// Count the rows for `page.count` and `page.num_pages` (view: list; default true).
    #[serde(default)]
    pub count: Option<bool>,
    /// Keyset pagination with `?after=` instead of page numbers, for very large tables
    /// (view: list).
    #[serde(default)]
    pub keyset: Option<bool>,
    /// Default ordering, overriding the model's: `[-created_at, title]` (view: list).
    #[serde(default)]
    pub ordering: Option<Vec<String>>,
    /// Fields that `?ordering=` may name, with or without `-` (view: list).
    #[serde(default)]
    pub ordering_fields: Option<Vec<String>>,
    /// Search across fields with a query parameter (view: list).
    #[serde(default)]
    pub search: Option<RawSearch>,
    /// Query parameters that filter rows: `{ author: { field: author, lookup: exact } }`
    /// (view: list).
    #[serde(default)]
    pub filters: Option<IndexMap<String, RawFilter>>,
    /// Fields whose values are counted over the list's rows as it is filtered, each value with
    /// a link that filters by it (a boolean, a field with `choices`, a foreign key, a
    /// many_to_many field…): `[category, author, tags]` (view: list).
    #[serde(default)]
    pub facets: Option<Vec<String>>,
    /// The years, months or days that have rows, with counts, for an archive index:
    /// `{ field: created_at, kind: month, order: desc }` (view: list).
    #[serde(default)]
    pub dates: Option<RawDates>,
    /// The field a detail page is looked up by; the path capture of the same name (or `pk`)
    /// holds its value (view: detail; default the primary key).
    #[serde(default)]
    pub lookup: Option<String>,
    /// Rows of other models pointing at this one, by name: `{ comments: { model: Comment,
    /// field: post } }` (view: detail).
    #[serde(default)]
    pub related: Option<IndexMap<String, RawRelated>>,
    /// The feed itself: title, link, format, how many items (view: feed).
    #[serde(default)]
    pub feed: Option<RawFeed>,
    /// What each row of a feed shows: the fields of its title, link, dates, text and author
    /// (view: feed).
    #[serde(default)]
    pub item: Option<RawFeedItem>,
    /// `false` leaves the route out of the sitemap; `{ lastmod: FIELD }` gives a detail route's
    /// rows their last-modified date (view: template, list, detail).
    #[serde(default)]
    pub sitemap: Option<RawSitemap>,
    /// Cross-origin requests this route answers (CORS), instead of `site.cors`; `false` for
    /// none.
    #[serde(default)]
    pub cors: Option<RawRouteCors>,
    /// How a paginated list's pages are addressed: `query` (`?page=2`, the default) or `path`
    /// (`…/page/2/`, which a static host can serve) (view: list).
    #[serde(default)]
    pub pages: Option<PageStyle>,
    /// What `trellis build` writes of this route: `false` leaves it out; `{ values: [...] }`
    /// names the captures' values to write, one map a page (every view but not_found).
    #[serde(default)]
    pub export: Option<RawExport>,
    /// Only a signed-in user gets the page; anyone else is redirected to the sign-in route
    /// with `next=` (Django's `login_required`).
    #[serde(default)]
    pub login_required: Option<bool>,
    /// Only a signed-in staff user gets the page (implies `login_required`); a user who is not
    /// staff gets 403.
    #[serde(default)]
    pub staff_required: Option<bool>,
    /// Each write also adds a row to the history log (`trellis_log`: when, who, which row,
    /// what changed), in the same transaction; the admin shows it (view: create, update,
    /// delete).
    #[serde(default)]
    pub history: Option<bool>,
    /// Set by the admin on the form routes it generates, never read from YAML: what its forms
    /// do beyond a plain form view (a message after each change, "Save and add another").
    #[serde(skip)]
    pub admin_form: Option<AdminForm>,
    /// Set by the admin on the list routes it generates, never read from YAML: its facets list
    /// every choice, and count them only when the URL has `_facets` (Django's "Show counts");
    /// the page gets `preserved_filters`, its query for the links to the rows' pages
    /// (`admin::filters`), and its table's cells prepared (`admin::Cells`).
    #[serde(skip)]
    pub admin_list: bool,
}

/// What the admin asks of a form route it generates (`admin::routes`).
#[derive(Debug, Clone, Default)]
pub struct AdminForm {
    /// The model's add route (`admin:post-add`): "Save and add another" goes there.
    pub add: String,
    /// The model's change route (`admin:post-change`): "Save and continue editing" goes there.
    pub change: String,
}

/// `pages:` of a list route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PageStyle {
    /// `?page=2`.
    Query,
    /// `…/page/2/`: page 1 is the list's own URL.
    Path,
}

/// `export:` of a route: `false` to leave it out of `trellis build`, or the values of its
/// captures.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawExport {
    Listed(bool),
    Options(RawExportOptions),
}

/// `export: { values: [{ user: alice }, { user: bob }] }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExportOptions {
    /// One map of capture values per page to write: `{ year: 2025, slug: hello }`.
    pub values: Vec<IndexMap<String, RawScalar>>,
}

/// `feed:` of a feed route.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFeed {
    /// The feed's title.
    pub title: String,
    /// A line that describes the feed (Atom `subtitle`, RSS `description`).
    #[serde(default)]
    pub subtitle: Option<String>,
    /// The name of the route the feed is about (its HTML page), a route without captures.
    pub link: String,
    /// `atom` (Atom 1.0, the default) or `rss` (RSS 2.0).
    #[serde(default)]
    pub format: Option<FeedFormat>,
    /// How many rows, newest first by the route's `ordering` (default 20).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Atom or RSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    Atom,
    Rss,
}

/// `item:` of a feed route: which fields make each entry. A field of a related row is written
/// `author__name`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFeedItem {
    /// The field holding the entry's title.
    pub title: String,
    /// The name of the route of the entry's page; each of its captures is filled with the
    /// row's field of the same name (`pk` for the primary key).
    pub link: String,
    /// A date or datetime field: when the entry last changed (Atom `updated`).
    #[serde(default)]
    pub updated: Option<String>,
    /// A date or datetime field: when the entry was first published (RSS `pubDate`).
    #[serde(default)]
    pub published: Option<String>,
    /// A short text field (Atom `summary`); a Markdown field is rendered to sanitised HTML.
    #[serde(default)]
    pub summary: Option<String>,
    /// The entry's full text (Atom `content`, RSS `description`); a Markdown field is rendered
    /// to sanitised HTML.
    #[serde(default)]
    pub content: Option<String>,
    /// The field holding the author's name, often a related row's: `author__name`.
    #[serde(default)]
    pub author: Option<String>,
}

/// `sitemap:` of a route: `false` to leave it out, or its options.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawSitemap {
    Listed(bool),
    Options(RawSitemapOptions),
}

/// `sitemap: { lastmod: updated_at }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSitemapOptions {
    /// A date or datetime field of a detail route's model: each row's `<lastmod>`.
    #[serde(default)]
    pub lastmod: Option<String>,
}

/// Output format of a list or detail view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Html,
    Json,
    /// Every row of a list as CSV, streamed (view: list).
    Csv,
}

/// `search:` of a list view.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSearch {
    /// The query parameter holding the search term (default `q`).
    #[serde(default)]
    pub param: Option<String>,
    /// Text fields searched, case-insensitively, for the term as a substring.
    pub fields: Vec<String>,
    /// Use an SQLite FTS5 index (rows holding every word of the term) instead of substring
    /// matching; results keep the list's ordering.
    #[serde(default)]
    pub fts: Option<bool>,
}

/// A filter of a list view, driven by a query parameter.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFilter {
    /// The field filtered (default: the parameter's name). For a foreign key, `author__slug`
    /// filters on the related row's field.
    #[serde(default)]
    pub field: Option<String>,
    /// How the value is compared (default exact).
    #[serde(default)]
    pub lookup: Option<Lookup>,
}

/// `dates:` of a list view (Django's `QuerySet.dates()`): the distinct periods of a date or
/// datetime field among the list's rows, each with its number of rows.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDates {
    /// A date or datetime field of the list's model.
    pub field: String,
    /// The period: `year`, `month` or `day`.
    pub kind: DateKind,
    /// `asc` (oldest first, the default, as in Django) or `desc`.
    #[serde(default)]
    pub order: Option<SortOrder>,
}

/// The period of `dates:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DateKind {
    Year,
    Month,
    Day,
}

/// A direction of sorting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// Field lookups, as in Django's `field__lookup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lookup {
    Exact,
    Iexact,
    Contains,
    Icontains,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
}

/// Rows of another model that point at the detail page's object.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRelated {
    /// The model whose rows are listed.
    pub model: String,
    /// Its foreign key or many_to_many field to this view's model.
    pub field: String,
    /// Static filters on those rows.
    #[serde(rename = "where", default)]
    pub where_: Option<IndexMap<String, RawScalar>>,
    /// Their ordering (default: that model's).
    #[serde(default)]
    pub ordering: Option<Vec<String>>,
    /// At most this many rows (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A model: a table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Fields by name, in column order. An integer `id` primary key is added unless a field
    /// says `primary_key: true`.
    pub fields: IndexMap<String, RawField>,
    /// Default ordering: field names, `-` for descending. Indexed automatically.
    #[serde(default)]
    pub ordering: Option<Vec<String>>,
    /// Table name (default: the model's name in snake case).
    #[serde(default)]
    pub table: Option<String>,
    /// A folder of Markdown files that are this model's rows (a collection): `content/posts/`.
    /// Each `*.md` file below it is one row, kept in step with the folder.
    #[serde(default)]
    pub source: Option<RawSource>,
}

/// `source: content/posts/`, or the long form naming the fields the file fills.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawSource {
    Folder(String),
    Full(RawSourceFull),
}

/// `source: { folder: content/posts/, slug: slug, body: body }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSourceFull {
    /// The folder, relative to the site folder; every `*.md` file below it is a row.
    pub folder: String,
    /// The unique field the file name fills unless the front matter sets it (default: `slug`).
    #[serde(default)]
    pub slug: Option<String>,
    /// The text field the Markdown after the front matter fills (default: the model's one
    /// `format: markdown` field).
    #[serde(default)]
    pub body: Option<String>,
}

impl RawSource {
    pub fn folder(&self) -> &str {
        match self {
            RawSource::Folder(f) => f,
            RawSource::Full(full) => &full.folder,
        }
    }
}

/// Field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Text,
    Integer,
    Float,
    Boolean,
    Date,
    Datetime,
    Slug,
    Uuid,
    Email,
    Url,
    Json,
    ForeignKey,
    /// A set of rows of another model, kept in a join table (`{table}_{field}`), as Django's
    /// `ManyToManyField`.
    ManyToMany,
}

/// What happens to rows pointing at a deleted row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    Cascade,
    Restrict,
    SetNull,
}

/// How a text field is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TextFormat {
    Plain,
    Markdown,
}

/// A model field.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Longest accepted value, in characters (string, slug, email, url).
    #[serde(default)]
    pub max_length: Option<u32>,
    /// No two rows share a value (an index enforces it).
    #[serde(default)]
    pub unique: Option<bool>,
    /// The value may be absent (NULL).
    #[serde(default)]
    pub null: Option<bool>,
    /// Value for rows that do not give one.
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// The only accepted values.
    #[serde(default)]
    pub choices: Option<Vec<RawScalar>>,
    /// Index the column for lookups and ordering.
    #[serde(default)]
    pub index: Option<bool>,
    /// Set to the current time on every save (datetime, date).
    #[serde(default)]
    pub auto_now: Option<bool>,
    /// Set to the current time when the row is created (datetime, date).
    #[serde(default)]
    pub auto_now_add: Option<bool>,
    /// The model a foreign key or many_to_many field points at.
    #[serde(default)]
    pub to: Option<String>,
    /// What deleting the target does (foreign_key; default cascade).
    #[serde(default)]
    pub on_delete: Option<OnDelete>,
    /// `markdown`: the text is rendered to sanitised HTML as `FIELD_html` (text).
    #[serde(default)]
    pub format: Option<TextFormat>,
    /// This field is the primary key instead of an integer `id`.
    #[serde(default)]
    pub primary_key: Option<bool>,
}

/// A literal YAML scalar.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawScalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

impl Eq for RawScalar {}

impl std::hash::Hash for RawScalar {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_string().hash(state)
    }
}

impl std::fmt::Display for RawScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawScalar::Int(i) => write!(f, "{i}"),
            RawScalar::Float(x) => write!(f, "{x}"),
            RawScalar::Bool(b) => write!(f, "{b}"),
            RawScalar::Str(s) => f.write_str(s),
        }
    }
}

impl RawScalar {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            RawScalar::Int(i) => (*i).into(),
            RawScalar::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            RawScalar::Bool(b) => (*b).into(),
            RawScalar::Str(s) => s.clone().into(),
        }
    }
}

/// One view-specific key of a route: its name as written in YAML, the views that take it (in
/// the order messages list them), the views that need it, and whether a route sets it. This
/// table is the one definition: the loader's per-view key check and the schema's if/then
/// rules are both made from it, and a test checks it names every field of `RawRoute` beyond
/// the common ones (`path`, `regex`, `name`, `view`, `methods`, `query`).
pub struct ViewKey {
    pub name: &'static str,
    pub views: &'static [ViewKind],
    pub required_by: &'static [ViewKind],
    pub set: fn(&RawRoute) -> bool,
}

use ViewKind::{
    AdminHistory, AdminIndex, Create, Delete, Detail, Feed, List, Login, Logout, Redirect,
    Response, Sitemap, Template, Update,
};

const MODEL_VIEWS: &[ViewKind] = &[List, Detail];
/// The views that read a model's rows with `where:`.
const ROW_VIEWS: &[ViewKind] = &[List, Detail, Feed];
/// The views that name a model.
const MODEL_KEY_VIEWS: &[ViewKind] = &[List, Detail, Feed, Create, Update, Delete];
/// The views that answer a form and then go to `success`.
const FORM_VIEWS: &[ViewKind] = &[Create, Update, Delete, Login, Logout];

macro_rules! view_keys {
    (@required) => { &[] };
    (@required $req:expr) => { $req };
    ($($name:literal $field:ident: $views:expr $(, required by $req:expr)?;)*) => {
        pub const VIEW_KEYS: &[ViewKey] = &[$(ViewKey {
            name: $name,
            views: $views,
            required_by: view_keys!(@required $($req)?),
            set: |r| r.$field.is_some(),
        }),*];
    };
}

view_keys! {
    "model" model: MODEL_KEY_VIEWS, required by MODEL_KEY_VIEWS;
    "success" success: FORM_VIEWS;
    "success_message" success_message: &[Create, Update, Delete, Login];
    "where" where_: ROW_VIEWS;
    "format" format: MODEL_VIEWS;
    "filename" filename: &[List];
    "fields" fields: &[List, Detail, Create, Update];
    "exclude" exclude: MODEL_VIEWS;
    "paginate_by" paginate_by: &[List];
    "allow_empty" allow_empty: &[List];
    "count" count: &[List];
    "keyset" keyset: &[List];
    "ordering" ordering: &[List, Feed];
    "ordering_fields" ordering_fields: &[List];
    "search" search: &[List];
    "filters" filters: &[List];
    "facets" facets: &[List];
    "dates" dates: &[List];
    "lookup" lookup: &[Detail, Update, Delete];
    "history" history: &[Create, Update, Delete];
    "related" related: &[Detail];
    "template" template: &[List, Detail, Template, Create, Update, Delete, Login, AdminIndex], required by &[Template];
    "context" context: &[List, Detail, Template, Response, Create, Update, Delete, Login, AdminIndex, AdminHistory];
    "status" status: &[List, Detail, Template, Response];
    "to" to: &[Redirect];
    "url" url: &[Redirect];
    "args" args: &[Redirect];
    "permanent" permanent: &[Redirect];
    "query_string" query_string: &[Redirect];
    "body" body: &[Response];
    "content_type" content_type: &[Template, Response];
    "feed" feed: &[Feed], required by &[Feed];
    "item" item: &[Feed], required by &[Feed];
    "sitemap" sitemap: &[Template, List, Detail];
    "pages" pages: &[List];
    "export" export: &[Template, List, Detail, Redirect, Response, Feed, Sitemap, AdminIndex, AdminHistory];
}

/// Every view kind, in the order the schema lists its rules.
pub const VIEWS: &[ViewKind] = &[
    List,
    Detail,
    Template,
    Redirect,
    Response,
    ViewKind::NotFound,
    Feed,
    Sitemap,
    Create,
    Update,
    Delete,
    Login,
    Logout,
];

/// Keys every route may have, whatever its view.
pub const COMMON_ROUTE_KEYS: &[&str] = &[
    "path",
    "regex",
    "name",
    "view",
    "methods",
    "query",
    "cors",
    "login_required",
    "staff_required",
];

fn route_rules(schema: &mut schemars::Schema) {
    let mut rules = vec![serde_json::json!({
        "oneOf": [{"required": ["path"]}, {"required": ["regex"]}]
    })];
    for view in VIEWS {
        let forbidden: Vec<_> = VIEW_KEYS
            .iter()
            .filter(|k| !k.views.contains(view))
            .map(|k| serde_json::json!({"required": [k.name]}))
            .collect();
        let required: Vec<&str> = VIEW_KEYS
            .iter()
            .filter(|k| k.required_by.contains(view))
            .map(|k| k.name)
            .collect();
        let mut then = serde_json::Map::new();
        if !forbidden.is_empty() {
            then.insert("not".into(), serde_json::json!({"anyOf": forbidden}));
        }
        if !required.is_empty() {
            then.insert("required".into(), serde_json::json!(required));
        }
        rules.push(serde_json::json!({
            "if": {"properties": {"view": {"const": view.as_str()}}, "required": ["view"]},
            "then": then,
        }));
    }
    // A redirect needs exactly one target.
    rules.push(serde_json::json!({
        "if": {"properties": {"view": {"const": "redirect"}}, "required": ["view"]},
        "then": {"oneOf": [{"required": ["to"]}, {"required": ["url"]}]}
    }));
    schema.insert("allOf".into(), serde_json::Value::Array(rules));
}

/// A declared query parameter.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQueryParam {
    /// Value type (default str).
    #[serde(default, rename = "type")]
    pub param_type: Option<QueryType>,
    /// Type of each item when `type: list` (default str).
    #[serde(default)]
    pub items: Option<QueryType>,
    /// Value when the parameter is absent (or invalid, with `on_invalid: default`).
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// Smallest accepted number.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest accepted number.
    #[serde(default)]
    pub max: Option<f64>,
    /// The only accepted values.
    #[serde(default)]
    pub choices: Option<Vec<RawScalar>>,
    /// What an invalid value does: fall back to the default, or answer 400.
    #[serde(default)]
    pub on_invalid: Option<OnInvalid>,
}

/// Type of a declared query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueryType {
    Str,
    Int,
    Float,
    Bool,
    List,
}

/// What an invalid query value does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnInvalid {
    /// Use the default value, as if the parameter were absent.
    #[default]
    Default,
    /// Answer 400 Bad Request with a message naming the parameter.
    Error,
}

/// `errors:` — templates for error responses, by status: `{ 404: 404.hbs, 500: 500.hbs }`
/// (400, 403, 404 and 500).
/// YAML reads `404` as a number, so the keys are taken as numbers or strings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RawErrors(#[schemars(schema_with = "errors_schema")] pub IndexMap<RawScalar, String>);

fn errors_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "description": "Templates for error responses: 400, 403, 404 and 500 (by default 400.hbs, 403.hbs, 404.hbs and 500.hbs when they exist). They see `status` and `message` beside the usual context.",
        "properties": {"400": {"type": "string"}, "403": {"type": "string"}, "404": {"type": "string"}, "500": {"type": "string"}},
        "additionalProperties": false
    })
}

/// The JSON Schema of `site.yaml`, as `trellis schema` prints it.
pub fn site_schema() -> String {
    let schema = schemars::schema_for!(RawSite);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}

/// The JSON Schema of an included routes file (a list of routes).
pub fn routes_schema() -> String {
    let schema = schemars::schema_for!(Vec<RawRouteEntry>);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field added to `RawRoute` without a `VIEW_KEYS` entry would be accepted by every
    /// view and never checked; one in the table but not the struct could never be set.
    #[test]
    fn view_keys_name_every_route_field_beyond_the_common_ones() {
        let schema = serde_json::to_value(schemars::schema_for!(RawRoute)).unwrap();
        let mut fields: Vec<&str> = schema["properties"]
            .as_object()
            .expect("a route schema has properties")
            .keys()
            .map(String::as_str)
            .filter(|k| !COMMON_ROUTE_KEYS.contains(k))
            .collect();
        let mut table: Vec<&str> = VIEW_KEYS.iter().map(|k| k.name).collect();
        fields.sort();
        table.sort();
        assert_eq!(fields, table);
        for view in VIEWS {
            assert!(
                VIEW_KEYS
                    .iter()
                    .filter(|k| k.required_by.contains(view))
                    .all(|k| k.views.contains(view)),
                "a view needs a key it does not take: {view:?}"
            );
        }
    }
}
