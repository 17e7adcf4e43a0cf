//! The debug page: what a 500 answers while developing (`serve` on a loopback address, unless
//! `--no-debug`), like Django's technical 500 page with `DEBUG = True` — the error, the
//! template file, line and column with its source around them, the route that answered, and
//! the request with its headers and cookies. `error::respond` chooses it when the `Ctx` says
//! so; everywhere else a 500's detail goes to the log only. Every value on the page is
//! HTML-escaped: the request's path, query, headers and cookies, and the error's own text,
//! which may quote them. A header or cookie that may hold a secret is masked as Django's
//! `SafeExceptionReporterFilter` masks it
//! ([`sensitive_header`], [`sensitive_cookie`]).

use super::context::Ctx;
use super::error::html_escape;
use super::request::{Request, Response};
use super::Endpoint;
use crate::render::RenderError;

/// The route that matched the request, for the page's "Route" table.
#[derive(Clone, Copy)]
pub struct Route<'a> {
    pub index: usize,
    pub endpoint: &'a Endpoint,
}

/// Lines of the template shown on each side of the failing one.
const AROUND: usize = 3;

/// The debug page for a 500: `detail` as the log has it, and where a template failed.
pub fn page(
    ctx: &Ctx,
    req: &Request,
    detail: &str,
    render: Option<&RenderError>,
    route: Option<Route>,
) -> Response {
    let e = html_escape;
    let headline = render.map_or(detail, |r| r.reason.as_str());
    let mut body = format!(
        "<header>\n<h1>Server Error (500)</h1>\n<p class=\"message\">{}</p>\n</header>\n",
        e(headline)
    );
    if let Some(r) = render {
        body.push_str(&template_section(ctx, r));
    }
    body.push_str("<section>\n<h2>Route</h2>\n<table>\n");
    match route {
        Some(Route { index, endpoint }) => {
            let rows = [
                (
                    "Name",
                    endpoint.name.as_deref().unwrap_or("(none)").to_string(),
                ),
                ("Pattern", ctx.router.pattern(index).display()),
                ("View", endpoint.kind().to_string()),
                ("Declared at", endpoint.origin.clone()),
            ];
            for (th, td) in rows {
                body.push_str(&row(th, &td));
            }
        }
        None => body.push_str(&row("Route", "(no route: the server's own page)")),
    }
    body.push_str("</table>\n</section>\n<section>\n<h2>Request</h2>\n<table>\n");
    body.push_str(&row("Method", &req.method));
    body.push_str(&row("Path", &req.path));
    body.push_str(&row("Query string", &req.query_string));
    for (k, v) in &req.pairs {
        body.push_str(&row(&format!("query: {k}"), v));
    }
    body.push_str("</table>\n</section>\n");
    body.push_str(&secrets_masked(
        "Request headers",
        &req.headers,
        sensitive_header,
        "(none: the server copies them only when it may show this page)",
    ));
    body.push_str(&secrets_masked(
        "Cookies",
        &req.cookies,
        sensitive_cookie,
        "(none)",
    ));
    body.push_str(&format!(
        "<section>\n<h2>In the log</h2>\n<pre>{}</pre>\n</section>\n",
        e(detail)
    ));
    body.push_str(
        "<footer>You see this page because <code>trellis serve</code> listens on a loopback \
         address: it is for development. A server on a public address, or started with \
         <code>--no-debug</code>, answers with the site's own 500 page and keeps the detail \
         in its log.</footer>\n",
    );
    let title = format!("Server Error (500): {}", e(headline));
    let mut r = Response::html(
        500,
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n\
             <style>{STYLE}</style>\n</head>\n<body id=\"trellis-debug\">\n{body}</body>\n</html>\n"
        ),
    );
    r.header("Cache-Control", "no-store");
    r
}

/// The failing template: its file, line and column, and its source around the line.
fn template_section(ctx: &Ctx, r: &RenderError) -> String {
    let e = html_escape;
    let name = r.template.as_deref().unwrap_or("(unknown)");
    let source = r.template.as_deref().and_then(|t| ctx.renderer.source(t));
    let file = source
        .as_ref()
        .map_or_else(|| name.to_string(), |(path, _)| path.display().to_string());
    let place = match (r.line, r.col) {
        (Some(line), Some(col)) => format!("{file}:{line}:{col}"),
        (Some(line), None) => format!("{file}:{line}"),
        _ => file,
    };
    let mut out = format!(
        "<section>\n<h2>Template</h2>\n<p class=\"place\">{}</p>\n",
        e(&place)
    );
    if let (Some((_, text)), Some(line)) = (source, r.line) {
        out.push_str("<pre class=\"source\">");
        let first = line.saturating_sub(AROUND).max(1);
        for (n, text) in text
            .lines()
            .enumerate()
            .skip(first - 1)
            .take(2 * AROUND + 1)
        {
            let n = n + 1;
            let numbered = format!("{n:>5} | {}", e(text));
            if n == line {
                out.push_str(&format!("<mark>{numbered}</mark>\n"));
                if let Some(col) = r.col {
                    out.push_str(&format!("      | {}^\n", " ".repeat(col.saturating_sub(1))));
                }
            } else {
                out.push_str(&numbered);
                out.push('\n');
            }
        }
        out.push_str("</pre>\n");
    }
    out.push_str("</section>\n");
    out
}

/// What a value that may be a secret shows instead: Django's `cleansed_substitute`.
const MASK: &str = "********************";

/// Django's `hidden_settings`: a name holding one of these (any case) has its value masked.
const HIDDEN: [&str; 8] = [
    "API",
    "AUTH",
    "TOKEN",
    "KEY",
    "SECRET",
    "PASS",
    "SIGNATURE",
    "HTTP_COOKIE",
];

fn hidden(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    HIDDEN.iter().any(|word| upper.contains(word))
}

/// Whether a header's value is masked: Django's `hidden_settings` matched against the name
/// as Django's `META` has it (`Cookie2` is `HTTP_COOKIE2`, masked as `HTTP_COOKIE` is).
fn sensitive_header(name: &str) -> bool {
    hidden(&format!("HTTP_{}", name.replace('-', "_")))
}

/// Whether a cookie's value is masked: `hidden_settings` matched against its name, and the
/// session cookie, which Django masks by name. The CSRF cookie, `csrftoken`, says TOKEN.
fn sensitive_cookie(name: &str) -> bool {
    name == crate::auth::COOKIE || hidden(name)
}

/// A section of names and values, sorted by name as Django sorts META, secrets masked.
fn secrets_masked(
    title: &str,
    pairs: &[(String, String)],
    sensitive: fn(&str) -> bool,
    empty: &str,
) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = format!("<section>\n<h2>{title}</h2>\n<table>\n");
    if sorted.is_empty() {
        out.push_str(&row("", empty));
    }
    for (name, value) in sorted {
        let shown = if sensitive(name) { MASK } else { value };
        out.push_str(&row(name, shown));
    }
    out.push_str("</table>\n</section>\n");
    out
}

fn row(th: &str, td: &str) -> String {
    format!(
        "<tr><th>{}</th><td>{}</td></tr>\n",
        html_escape(th),
        html_escape(td)
    )
}

const STYLE: &str = "body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#222;background:#fff}\
header{padding:1em 1.5em;background:#ffe9e9;border-bottom:2px solid #c00}\
h1{margin:0 0 .3em;font-size:1.4em}h2{font-size:1.1em;margin:0 0 .5em}\
.message{margin:0;font:15px/1.4 ui-monospace,monospace;white-space:pre-wrap;color:#8a1111}\
section{padding:1em 1.5em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse}th{text-align:right;padding:.15em 1em .15em 0;color:#555;\
font-weight:normal;vertical-align:top}td{font-family:ui-monospace,monospace;white-space:pre-wrap}\
pre{margin:0;font:13px/1.4 ui-monospace,monospace;white-space:pre-wrap;background:#f6f6f6;\
padding:.6em}mark{background:#ffd5d5}.place{font-family:ui-monospace,monospace}\
footer{padding:1em 1.5em;color:#555}";

#[cfg(test)]
mod tests {
    use super::{sensitive_cookie, sensitive_header};

    /// The names Django's `SafeExceptionReporterFilter` masks (headers as META keys `HTTP_…`),
    /// and names it shows.
    #[test]
    fn secrets_are_named_as_django_names_them() {
        for name in [
            "cookie",
            "cookie2",
            "x-http-cookie",
            "authorization",
            "proxy-authorization",
            "x-api-key",
            "x-csrftoken",
            "x-auth-token",
            "x-hub-signature",
            "x-secret",
            "x-password",
        ] {
            assert!(sensitive_header(name), "{name}");
        }
        for name in ["csrftoken", "sessionid", "my_api_cookie", "Auth"] {
            assert!(sensitive_cookie(name), "{name}");
        }
        for name in [
            "user-agent",
            "accept",
            "host",
            "referer",
            "x-cookie-consent",
        ] {
            assert!(!sensitive_header(name), "{name}");
        }
        for name in ["theme", "SESSIONID", "cookie_consent"] {
            assert!(!sensitive_cookie(name), "{name}");
        }
    }
}
