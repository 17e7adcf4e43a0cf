//! The one place where a view's failure becomes a response. A view kind answers
//! `Result<Response, ViewError>`; `respond` logs what the operator needs (a 500's whole detail,
//! a 400's reason, a 405's method) and renders the page the visitor sees, with the site's own
//! template for 400, 404 and 500 when it has one; a route that answers JSON gets
//! `{"detail": …}` instead, as Django REST framework writes it. The detail of a 500 never
//! reaches the client, except on the debug page (`debug`) of a server that the `Ctx` says is
//! for development.

use serde_json::Map;

use super::context::{Ctx, ErrorPage};
use super::debug;
use super::request::{Request, Response};
use crate::logline::escaped;
use crate::render::RenderError;
use crate::routing::Params;

/// Why a view did not answer with a page of its own.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewError {
    /// 404: no route, no row, no such page.
    NotFound,
    /// 400, with a reason the visitor may read (it is escaped on the page).
    BadRequest(String),
    /// 403, with the reason (a failed CSRF check: Django's words), shown escaped.
    Forbidden(String),
    /// 405, with the methods the route takes for the `Allow` header; with `sign_out` (a
    /// `GET` of a `logout` route: its form's `action`, as template text), a page saying how to sign
    /// out, where other 405s have an empty body as Django's do.
    MethodNotAllowed {
        allow: String,
        sign_out: Option<String>,
    },
    /// 503: the work could not be done now (the database stayed locked); try again later.
    Unavailable { retry_after: u32, detail: String },
    /// 500; the detail is for the log only.
    Internal(String),
    /// 500 from a template that failed to render: the detail for the log, and where it failed
    /// (which the debug page shows).
    Render {
        detail: String,
        error: Box<RenderError>,
    },
}

impl ViewError {
    pub fn status(&self) -> u16 {
        match self {
            ViewError::NotFound => 404,
            ViewError::BadRequest(_) => 400,
            ViewError::Forbidden(_) => 403,
            ViewError::MethodNotAllowed { .. } => 405,
            ViewError::Unavailable { .. } => 503,
            ViewError::Internal(_) | ViewError::Render { .. } => 500,
        }
    }

    /// A failed render: `what` (`rendering home`) and the error make the log's detail.
    pub fn render(what: impl std::fmt::Display, error: RenderError) -> ViewError {
        ViewError::Render {
            detail: format!("{what}: {error}"),
            error: Box::new(error),
        }
    }
}

/// How a route answers its failures: the site's error pages, or JSON for a route that answers
/// JSON (a `format: json` list or detail, or a template or response with a JSON content type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Answer {
    #[default]
    Html,
    Json,
}

/// Turn a view's failure into the response the visitor sees as an HTML page, and log it.
pub fn respond(ctx: &Ctx, req: &Request, error: ViewError) -> Response {
    respond_as(ctx, req, error, Answer::Html)
}

/// Turn a view's failure into the response the visitor sees, an HTML page or JSON, and log it.
pub fn respond_as(ctx: &Ctx, req: &Request, error: ViewError, answer: Answer) -> Response {
    respond_at(ctx, req, error, answer, None)
}

/// [`respond_as`], for a request that `route` answered (which the debug page names).
pub(super) fn respond_at(
    ctx: &Ctx,
    req: &Request,
    error: ViewError,
    answer: Answer,
    route: Option<debug::Route>,
) -> Response {
    log(req, &error);
    if answer == Answer::Json {
        return json_error(&error, &req.method);
    }
    match error {
        ViewError::NotFound => error_page(ctx, req, ctx.settings.pages.not_found.as_ref(), 404, ""),
        ViewError::BadRequest(message) => error_page(
            ctx,
            req,
            ctx.settings.pages.bad_request.as_ref(),
            400,
            &message,
        ),
        ViewError::Forbidden(reason) => error_page(
            ctx,
            req,
            ctx.settings.pages.forbidden.as_ref(),
            403,
            &reason,
        ),
        ViewError::MethodNotAllowed { allow, sign_out } => {
            let mut r = match sign_out {
                Some(route) => fallback_page(405, &route),
                None => Response::html(405, String::new()),
            };
            r.header("Allow", allow);
            r
        }
        ViewError::Unavailable { retry_after, .. } => unavailable(retry_after, Answer::Html),
        ViewError::Internal(detail) => server_error(ctx, req, &detail, None, route),
        ViewError::Render { detail, error } => server_error(ctx, req, &detail, Some(&error), route),
    }
}

/// A 500 (already logged whole): the site's 500 page, or while developing the debug page.
fn server_error(
    ctx: &Ctx,
    req: &Request,
    detail: &str,
    render: Option<&RenderError>,
    route: Option<debug::Route>,
) -> Response {
    if ctx.debug {
        return debug::page(ctx, req, detail, render, route);
    }
    error_page(ctx, req, ctx.settings.pages.server_error.as_ref(), 500, "")
}

/// What the operator reads of a failure: a 500's whole detail, a 400's reason, a 405's method.
fn log(req: &Request, error: &ViewError) {
    let path = escaped(&req.path);
    match error {
        ViewError::NotFound => {}
        ViewError::BadRequest(message) => {
            tracing::warn!("Bad Request: {path} ({})", escaped(message));
        }
        ViewError::Forbidden(reason) => {
            tracing::warn!("Forbidden ({}): {path}", escaped(reason));
        }
        ViewError::MethodNotAllowed { .. } => {
            tracing::warn!("Method Not Allowed ({}): {path}", escaped(&req.method));
        }
        // Not a fault of the server's: a busy database, a statement past its time limit.
        ViewError::Unavailable { detail, .. } => {
            tracing::warn!("Service Unavailable: {path}: {}", escaped(detail));
        }
        ViewError::Internal(detail) | ViewError::Render { detail, .. } => {
            tracing::error!("Internal Server Error: {path}: {}", escaped(detail));
        }
    }
}

/// A JSON route's failure, as Django REST framework writes one: `{"detail": "Not found."}`,
/// with the status and headers of the HTML answer. A 500's detail stays in the log.
fn json_error(error: &ViewError, method: &str) -> Response {
    let detail = match error {
        ViewError::NotFound => "Not found.".to_string(),
        ViewError::BadRequest(message) => message.clone(),
        ViewError::Forbidden(reason) => reason.clone(),
        ViewError::MethodNotAllowed { .. } => format!("Method \"{method}\" not allowed."),
        ViewError::Unavailable { .. } => BUSY.to_string(),
        ViewError::Internal(_) | ViewError::Render { .. } => "A server error occurred.".to_string(),
    };
    let mut r = Response::json(error.status(), &serde_json::json!({ "detail": detail }));
    match error {
        ViewError::MethodNotAllowed { allow, .. } => r.header("Allow", allow.clone()),
        ViewError::Unavailable { retry_after, .. } => {
            r.header("Retry-After", retry_after.to_string())
        }
        _ => {}
    }
    r
}

const BUSY: &str = "The site is busy; please try again in a moment.";

/// An error page from the site's template, or the built-in one when it has none (or its own
/// fails to render).
fn error_page(
    ctx: &Ctx,
    req: &Request,
    page: Option<&ErrorPage>,
    status: u16,
    message: &str,
) -> Response {
    if let Some(page) = page {
        let t = &page.template;
        let mut extra = Map::new();
        extra.insert("status".into(), status.into());
        extra.insert("message".into(), message.into());
        let context = ctx.context(req, &Params::new(), Map::new(), extra, page.uses);
        match ctx.renderer.render(t, context) {
            Ok(body) => return Response::html(status, body),
            Err(e) => tracing::error!("rendering the {status} page {t}: {e}"),
        }
    }
    fallback_page(status, message)
}

/// The 503 answer, with `Retry-After`: what `respond_as` answers to `ViewError::Unavailable`,
/// for a caller that logs in its own way (the server, once a second for a burst of refusals).
pub fn unavailable(retry_after: u32, answer: Answer) -> Response {
    let busy = ViewError::Unavailable {
        retry_after,
        detail: String::new(),
    };
    if answer == Answer::Json {
        return json_error(&busy, "");
    }
    let mut r = fallback_page(503, "");
    r.header("Retry-After", retry_after.to_string());
    r
}

/// Django's plain pages for each status.
fn fallback_page(status: u16, message: &str) -> Response {
    let title = match status {
        400 => "Bad Request (400)",
        403 => "Forbidden (403)",
        404 => "Not Found",
        405 => "Method Not Allowed (405)",
        503 => "Service Unavailable (503)",
        _ => "Server Error (500)",
    };
    let detail = match status {
        404 => "<p>The requested resource was not found on this server.</p>".to_string(),
        400 => format!("<p>{}</p>", html_escape(message)),
        // Not a form's failure: a signed-in user who is not staff (`staff_required`).
        403 if message == crate::auth::STAFF_ONLY => format!(
            "<p>{}</p><p>You are signed in as a user who is not staff. Sign in as a staff user, or ask one to make you staff (<code>trellis user staff SITE USERNAME</code>).</p>",
            html_escape(message)
        ),
        403 => format!(
            "<p>The request was refused: {}</p><p>A form must be sent from a page of this site, with the cookies it set (reload the form and send it again).</p>",
            html_escape(message)
        ),
        503 => format!("<p>{BUSY}</p>"),
        // Only a logout route's GET has a page (`message` is its form's `action`).
        405 => format!(
            "<p>Signing out needs a form that sends a POST request: a link cannot sign anyone out (Django's <code>LogoutView</code> does the same).</p><p>Put a form like this one in a page:</p><pre><code>{}</code></pre>",
            html_escape(&format!(
                "<form method=\"post\" action=\"{message}\">{{{{csrf_input}}}}<button>Sign out</button></form>"
            ))
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status() {
        for (e, status) in [
            (ViewError::NotFound, 404),
            (ViewError::BadRequest("x".into()), 400),
            (
                ViewError::MethodNotAllowed {
                    allow: "GET".into(),
                    sign_out: None,
                },
                405,
            ),
            (
                ViewError::Unavailable {
                    retry_after: 1,
                    detail: "locked".into(),
                },
                503,
            ),
            (ViewError::Internal("boom".into()), 500),
        ] {
            assert_eq!(e.status(), status, "{e:?}");
        }
    }

    #[test]
    fn the_built_in_pages_escape_the_reason_and_never_show_a_500s_detail() {
        let page = fallback_page(400, "<script>x</script>");
        assert!(page.body.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!page.body.contains("<script>"));
        let page = fallback_page(500, "secret detail");
        assert_eq!(page.status, 500);
        assert!(page.body.contains("Server Error (500)"));
        assert!(!page.body.contains("secret"));
    }

    /// The one mapping, end to end: each error answers with its status, its headers and the
    /// site's own page where it has one, and a 500's or 503's detail never reaches the body.
    #[test]
    fn each_error_becomes_the_response_a_visitor_sees() {
        use crate::render::Renderer;
        use crate::routing::Router;
        use std::sync::Arc;

        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(dir.path().join("404.hbs"), "missing: {{request.path}}").unwrap();
        let router = Arc::new(Router::new(Vec::new()).unwrap());
        let (renderer, errors) = Renderer::load(dir.path(), router.clone(), &"/static/".into());
        assert!(errors.is_empty(), "{errors:?}");
        let pages = super::super::ErrorPages {
            not_found: Some(ErrorPage {
                template: "404".into(),
                uses: renderer.uses("404"),
            }),
            ..super::super::ErrorPages::default()
        };
        let settings = super::super::Settings::new("S".into(), true, pages, None);
        let ctx = Ctx {
            router: &router,
            renderer: &renderer,
            db: None,
            settings: &settings,
            debug: false,
        };
        let req = Request::get("/a%3Cb/");
        let header = |r: &Response, name: &str| {
            r.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };

        let r = respond(&ctx, &req, ViewError::NotFound);
        assert_eq!((r.status, r.body.as_str()), (404, "missing: /a&lt;b/"));

        let r = respond(&ctx, &req, ViewError::BadRequest("bad <page>".into()));
        assert_eq!(r.status, 400);
        assert!(r.body.contains("<p>bad &lt;page&gt;</p>"), "{}", r.body);

        let r = respond(
            &ctx,
            &req,
            ViewError::MethodNotAllowed {
                allow: "GET, HEAD, OPTIONS".into(),
                sign_out: None,
            },
        );
        assert_eq!((r.status, r.body.as_str()), (405, ""));
        assert_eq!(header(&r, "allow").as_deref(), Some("GET, HEAD, OPTIONS"));

        let r = respond(
            &ctx,
            &req,
            ViewError::Unavailable {
                retry_after: 1,
                detail: "database is locked".into(),
            },
        );
        assert_eq!(r.status, 503);
        assert_eq!(header(&r, "retry-after").as_deref(), Some("1"));
        assert!(!r.body.contains("locked"), "{}", r.body);

        let r = respond(&ctx, &req, ViewError::Internal("secret detail".into()));
        assert_eq!(r.status, 500);
        assert!(r.body.contains("Server Error (500)"), "{}", r.body);
        assert!(!r.body.contains("secret"), "{}", r.body);
    }
}
