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
    /// URL patterns, tried in order; the first that matches the path handles the request.
    #[serde(default)]
    pub routes: Vec<RawRouteEntry>,
    /// Templates rendered for error responses.
    #[serde(default)]
    pub errors: RawErrors,
}

/// The keys `RawSite` accepts at the top level, for did-you-mean suggestions.
pub const SITE_KEYS: &[&str] = &["site", "converters", "routes", "errors"];

/// Site-wide settings (`site:`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// The site's name, available to templates as `site.name`.
    #[serde(default)]
    pub name: Option<String>,
    /// Django's APPEND_SLASH: a GET or HEAD that matches no route but would match with a
    /// trailing slash is redirected (301) there.
    #[serde(default = "yes")]
    pub append_slash: bool,
    /// URL prefix under which files of `static_dir` are served.
    #[serde(default = "default_static_url")]
    pub static_url: String,
    /// Folder of static files, relative to the site folder.
    #[serde(default = "default_static_dir")]
    pub static_dir: String,
    /// Folder of Handlebars templates, relative to the site folder.
    #[serde(default = "default_templates_dir")]
    pub templates_dir: String,
    /// Host names the site answers for (Django's ALLOWED_HOSTS): `example.com`, `.example.com`
    /// for the domain and its subdomains, `*` for any. Unset, any host is answered; a request
    /// for a host not in the list gets 400.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
}

impl Default for RawSettings {
    fn default() -> Self {
        RawSettings {
            name: None,
            append_slash: true,
            static_url: default_static_url(),
            static_dir: default_static_dir(),
            templates_dir: default_templates_dir(),
            allowed_hosts: None,
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
}

impl ViewKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ViewKind::Template => "template",
            ViewKind::Redirect => "redirect",
            ViewKind::Response => "response",
            ViewKind::NotFound => "not_found",
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

/// A route (Django's `path()` or, with `regex`, `re_path()`).
#[derive(Debug, Deserialize, JsonSchema)]
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
    /// Content type of an inline body (view: response; default text/html).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Declared query parameters, typed and checked.
    #[serde(default)]
    pub query: Option<IndexMap<String, RawQueryParam>>,
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

/// Which keys each view accepts beyond the common ones (`path`, `regex`, `name`, `view`,
/// `methods`, `query`), and which one of them it requires. Both the loader and the schema read
/// this table.
pub const VIEW_KEYS: &[(ViewKind, &[&str], &[&str])] = &[
    (
        ViewKind::Template,
        &["template", "context", "status"],
        &["template"],
    ),
    (
        ViewKind::Redirect,
        &["to", "url", "args", "permanent", "query_string"],
        &[],
    ),
    (
        ViewKind::Response,
        &["body", "content_type", "status", "context"],
        &[],
    ),
    (ViewKind::NotFound, &[], &[]),
];

/// Keys that only some views accept.
pub const VIEW_SPECIFIC_KEYS: &[&str] = &[
    "template",
    "context",
    "status",
    "to",
    "url",
    "args",
    "permanent",
    "query_string",
    "body",
    "content_type",
];

fn route_rules(schema: &mut schemars::Schema) {
    let mut rules = vec![serde_json::json!({
        "oneOf": [{"required": ["path"]}, {"required": ["regex"]}]
    })];
    for (view, allowed, required) in VIEW_KEYS {
        let forbidden: Vec<_> = VIEW_SPECIFIC_KEYS
            .iter()
            .filter(|k| !allowed.contains(k))
            .map(|k| serde_json::json!({"required": [k]}))
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
#[derive(Debug, Deserialize, JsonSchema)]
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
/// (400, 404 and 500).
/// YAML reads `404` as a number, so the keys are taken as numbers or strings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RawErrors(#[schemars(schema_with = "errors_schema")] pub IndexMap<RawScalar, String>);

fn errors_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "description": "Templates for error responses: 400, 404 and 500 (by default 400.hbs, 404.hbs and 500.hbs when they exist). They see `status` and `message` beside the usual context.",
        "properties": {"400": {"type": "string"}, "404": {"type": "string"}, "500": {"type": "string"}},
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
