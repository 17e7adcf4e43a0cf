//! The generic views and the one place that turns a request into a response. Views see only
//! typed request data (`Request`, captured `Params`, the `query` object) and answer with a
//! `Response` value; the server turns that into HTTP. Nothing here knows actix.
//!
//! Error responses (400, 404, 405, 500) are rendered here too, with the site's own templates
//! when it has them; the detail of a 500 goes to the log, never to the client.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

pub mod models;

use crate::query::QuerySpec;
use crate::render::Escape;
use crate::routing::{quote, Params};
use crate::site::Site;

/// A route's view, compiled from its YAML.
#[derive(Debug)]
pub enum View {
    /// Render a template from the templates folder.
    Template {
        template: String,
        context: Map<String, Value>,
        status: u16,
    },
    /// Redirect to a route or a URL.
    Redirect {
        target: RedirectTarget,
        permanent: bool,
        query_string: bool,
    },
    /// Render an inline body (registered with the renderer under `template`).
    Response {
        template: String,
        content_type: String,
        escape: Escape,
        context: Map<String, Value>,
        status: u16,
    },
    /// Always 404.
    NotFound,
    /// A page of a model's rows.
    List(Box<models::ListView>),
    /// One row.
    Detail(Box<models::DetailView>),
}

#[derive(Debug)]
pub enum RedirectTarget {
    /// A route name; literal arguments, the rest taken from the captures by name.
    Route { name: String, args: Params },
    /// A URL with `{capture}` placeholders.
    Url(String),
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
}

impl Endpoint {
    pub fn allows(&self, method: &str) -> bool {
        self.allow.contains(&method)
    }

    /// What the routes table shows in its TARGET column.
    pub fn target(&self) -> String {
        match &self.view {
            View::Template { template, .. } => template.clone(),
            View::Redirect {
                target, permanent, ..
            } => {
                let code = if *permanent { 301 } else { 302 };
                match target {
                    RedirectTarget::Route { name, .. } => format!("{code} -> {name}"),
                    RedirectTarget::Url(u) => format!("{code} -> {u}"),
                }
            }
            View::Response {
                content_type,
                status,
                ..
            } => format!("{status} {content_type}"),
            View::NotFound => "404".into(),
            View::List(v) => format!(
                "{}{}",
                v.model.name,
                v.template
                    .as_ref()
                    .map_or(" (json)".to_string(), |t| format!(" -> {t}"))
            ),
            View::Detail(v) => format!(
                "{} by {}{}",
                v.model.name,
                v.field.name,
                v.template
                    .as_ref()
                    .map_or(" (json)".to_string(), |t| format!(" -> {t}"))
            ),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.view {
            View::Template { .. } => "template",
            View::Redirect { .. } => "redirect",
            View::Response { .. } => "response",
            View::NotFound => "not_found",
            View::List(_) => "list",
            View::Detail(_) => "detail",
        }
    }
}

/// A request as views see it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Upper-case method; HEAD is answered as GET and the server drops the body.
    pub method: String,
    /// The percent-decoded path, with its leading slash.
    pub path: String,
    /// The query string as received, without `?`.
    pub query_string: String,
    /// Decoded query pairs, in order, repeated keys kept.
    pub pairs: Vec<(String, String)>,
}

impl Request {
    /// A request as the server builds it from a method and a request target
    /// (`/path?query`): the path percent-decoded (a malformed one is kept raw, and answered
    /// 400 by `Site::handle`), the query pairs decoded with repeated keys kept. The in-process
    /// tests use it to ask a site what the wire would.
    pub fn new(method: &str, target: &str) -> Request {
        let (raw_path, query_string) = target.split_once('?').unwrap_or((target, ""));
        let pairs = form_urlencoded::parse(query_string.as_bytes())
            .into_owned()
            .collect();
        Request {
            method: method.to_ascii_uppercase(),
            path: decode_path(raw_path).unwrap_or_else(|_| raw_path.to_string()),
            query_string: query_string.to_string(),
            pairs,
        }
    }

    /// `Request::new("GET", target)`.
    pub fn get(target: &str) -> Request {
        Request::new("GET", target)
    }

    pub fn full_path(&self) -> String {
        let mut s = escape_uri_path(&self.path);
        if !self.query_string.is_empty() {
            s.push('?');
            s.push_str(&self.query_string);
        }
        s
    }
}

/// A response ready to be sent.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Response {
    fn html(status: u16, body: String) -> Response {
        Response {
            status,
            content_type: "text/html; charset=utf-8".into(),
            headers: Vec::new(),
            body,
        }
    }

    fn redirect(status: u16, location: String) -> Response {
        Response {
            status,
            content_type: "text/html; charset=utf-8".into(),
            headers: vec![("Location", location)],
            body: String::new(),
        }
    }
}

/// Percent-decode a request path as Django does before matching (`%2F` becomes `/`). A
/// malformed escape or bytes that are not UTF-8 are refused with the reason.
pub fn decode_path(raw: &str) -> Result<String, &'static str> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                _ => return Err("the path has a malformed percent-escape"),
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the path is not valid UTF-8")
}

/// Django's `escape_uri_path`: quote a decoded path for a Location header.
const URI_PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b':')
    .remove(b'@')
    .remove(b'&')
    .remove(b'+')
    .remove(b'$')
    .remove(b',')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Quote a decoded path; a leading `//` becomes `/%2F` so that it cannot be read as another
/// host (Django's `escape_leading_slashes`).
pub fn escape_uri_path(path: &str) -> String {
    let quoted = utf8_percent_encode(path, URI_PATH).to_string();
    match quoted.strip_prefix("//") {
        Some(rest) => format!("/%2F{rest}"),
        None => quoted,
    }
}

/// Answer a request (path already decoded) with the site's routes.
pub fn handle(site: &Site, req: &Request) -> Response {
    let path = req.path.strip_prefix('/').unwrap_or(&req.path);
    let Some(m) = site.router.resolve(path) else {
        let get_like = req.method == "GET" || req.method == "HEAD";
        if site.append_slash && get_like && !path.ends_with('/') {
            let with_slash = format!("{path}/");
            if site.router.resolve(&with_slash).is_some() {
                let mut location = escape_uri_path(&format!("/{with_slash}"));
                if !req.query_string.is_empty() {
                    location.push('?');
                    location.push_str(&req.query_string);
                }
                return Response::redirect(301, location);
            }
        }
        return not_found(site, req);
    };
    let endpoint = &site.endpoints[m.index];
    let is_redirect = matches!(endpoint.view, View::Redirect { .. });
    // Django's View.options: 200, the Allow header, no body; a RedirectView redirects instead.
    if req.method == "OPTIONS" && !is_redirect {
        let mut r = Response::html(200, String::new());
        r.headers.push(("Allow", endpoint.allow.join(", ")));
        return r;
    }
    if !endpoint.allows(&req.method) {
        tracing::warn!("Method Not Allowed ({}): {}", req.method, req.path);
        let mut r = Response::html(405, String::new());
        r.headers.push(("Allow", endpoint.allow.join(", ")));
        return r;
    }
    let query = match endpoint.query.extract(&req.pairs) {
        Ok(q) => q,
        Err(invalid) => return bad_request(site, req, &invalid.0),
    };
    match &endpoint.view {
        View::Template {
            template,
            context,
            status,
        } => {
            let ctx = context_for(site, req, &m.params, query, context.clone());
            match site.renderer.render(template, ctx) {
                Ok(body) => Response::html(*status, body),
                Err(e) => server_error(site, req, &format!("rendering {template}: {e}")),
            }
        }
        View::Response {
            template,
            content_type,
            escape,
            context,
            status,
        } => {
            let ctx = context_for(site, req, &m.params, query, context.clone());
            match site.renderer.render_inline(template, *escape, ctx) {
                Ok(body) => Response {
                    status: *status,
                    content_type: content_type.clone(),
                    headers: Vec::new(),
                    body,
                },
                Err(e) => server_error(site, req, &format!("rendering {}: {e}", endpoint.origin)),
            }
        }
        View::Redirect {
            target,
            permanent,
            query_string,
        } => {
            let mut location = match target {
                RedirectTarget::Route { name, args } => {
                    let mut full = args.clone();
                    if let Some(index) = site.router.lookup(name) {
                        for p in site.router.pattern(index).param_names() {
                            if !full.contains_key(&p) {
                                if let Some(v) = m.params.get(&p) {
                                    full.insert(p, v.clone());
                                }
                            }
                        }
                    }
                    match site.router.reverse(name, &full) {
                        Ok(url) => url,
                        Err(e) => {
                            return server_error(site, req, &format!("{}: {e}", endpoint.origin))
                        }
                    }
                }
                RedirectTarget::Url(url) => fill_placeholders(url, &m.params),
            };
            if *query_string && !req.query_string.is_empty() {
                location.push(if location.contains('?') { '&' } else { '?' });
                location.push_str(&req.query_string);
            }
            Response::redirect(if *permanent { 301 } else { 302 }, location)
        }
        View::NotFound => not_found(site, req),
        // A model view reads in one transaction: its page and count agree, SQLite locks once.
        View::List(v) => in_snapshot(site, || {
            models::list(site, req, v, &m.params, query, &endpoint.origin)
        }),
        View::Detail(v) => in_snapshot(site, || {
            models::detail(site, req, v, &m.params, query, &endpoint.origin)
        }),
    }
}

fn in_snapshot(site: &Site, f: impl FnOnce() -> Response) -> Response {
    match site.db.as_deref() {
        Some(db) => db.snapshot(f),
        None => f(),
    }
}

/// Replace `{name}` in a redirect URL with the quoted capture.
fn fill_placeholders(url: &str, params: &Params) -> String {
    let mut out = url.to_string();
    for (k, v) in params {
        out = out.replace(
            &format!("{{{k}}}"),
            &quote(&crate::render::helpers::text(v)),
        );
    }
    out
}

/// The context every template sees: `site`, `request`, `params`, `query`, then the route's
/// own `context` entries.
pub fn context_for(
    site: &Site,
    req: &Request,
    params: &Params,
    query: Map<String, Value>,
    extra: Map<String, Value>,
) -> Value {
    let mut raw = Map::new();
    for (k, v) in &req.pairs {
        raw.insert(k.clone(), Value::String(v.clone()));
    }
    let mut ctx = extra;
    ctx.insert("site".into(), json!({ "name": site.name }));
    ctx.insert(
        "request".into(),
        json!({
            "path": req.path,
            "method": req.method,
            "full_path": req.full_path(),
            "query": raw,
        }),
    );
    ctx.insert(
        "params".into(),
        serde_json::to_value(params).unwrap_or_default(),
    );
    ctx.insert("query".into(), Value::Object(query));
    Value::Object(ctx)
}

fn error_page(
    site: &Site,
    req: &Request,
    template: Option<&str>,
    status: u16,
    message: &str,
) -> Response {
    if let Some(t) = template {
        let mut extra = Map::new();
        extra.insert("status".into(), status.into());
        extra.insert("message".into(), message.into());
        let ctx = context_for(site, req, &Params::new(), Map::new(), extra);
        match site.renderer.render(t, ctx) {
            Ok(body) => return Response::html(status, body),
            Err(e) => tracing::error!("rendering the {status} page {t}: {e}"),
        }
    }
    let title = match status {
        400 => "Bad Request (400)",
        404 => "Not Found",
        _ => "Server Error (500)",
    };
    let detail = match status {
        404 => "<p>The requested resource was not found on this server.</p>".to_string(),
        400 => format!("<p>{}</p>", html_escape(message)),
        _ => String::new(),
    };
    Response::html(
        status,
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>{title}</title>\n</head>\n<body>\n  <h1>{title}</h1>{detail}\n</body>\n</html>\n"
        ),
    )
}

/// Escape text for HTML content and attributes.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

pub fn not_found(site: &Site, req: &Request) -> Response {
    error_page(site, req, site.not_found.as_deref(), 404, "")
}

pub fn bad_request(site: &Site, req: &Request, message: &str) -> Response {
    tracing::warn!("Bad Request: {} ({message})", req.path);
    error_page(site, req, site.bad_request.as_deref(), 400, message)
}

/// A 500: the detail goes to the log only.
pub fn server_error(site: &Site, req: &Request, detail: &str) -> Response {
    tracing::error!("Internal Server Error: {}: {detail}", req.path);
    error_page(site, req, site.server_error.as_deref(), 500, "")
}
