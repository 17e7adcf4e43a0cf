//! The benchmark peer of Trellis: the two example sites (`sites/greetings`, `tests/sites/blog`) served
//! by a hand-written actix-web + rusqlite + handlebars program, with the same HTML bodies.
//!
//! `baseline greetings ADDR SITE_DIR`, `baseline blog ADDR SITE_DIR` or `baseline shop ADDR
//! SITE_DIR` (`bench/admin_list.py`'s site: the admin's sign-in page and its list).

mod blog;
mod feed;
mod greetings;
mod markdown;
mod shop;
mod util;
mod write;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use handlebars::Handlebars;

/// Worker threads: the machine's two cores, as Trellis's default.
const WORKERS: usize = 2;

pub const HTML: &str = "text/html; charset=utf-8";
pub const JSON: &str = "application/json";

/// The headers Trellis puts on every response.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    ),
    (
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    ),
    (
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

/// A response with a body, its content type and the security headers.
pub fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut res = HttpResponse::with_body(status, body.into()).map_into_boxed_body();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, value);
    }
    res
}

/// A redirect with an empty HTML body, as Trellis answers one.
pub fn redirect(status: StatusCode, location: &str) -> HttpResponse {
    let mut res = respond(status, HTML, Bytes::new());
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// The built-in 400 page (neither site has its own): the reason, escaped.
pub fn bad_request(why: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p>{}</p>\n</body>\n</html>\n",
        handlebars::html_escape(why)
    );
    respond(StatusCode::BAD_REQUEST, HTML, body)
}

/// Django's `escape_uri_path`: quote a decoded path for a Location header; a leading `//`
/// becomes `/%2F`.
pub fn escape_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"/:@&+$,-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    match out.strip_prefix("//") {
        Some(rest) => format!("/%2F{rest}"),
        None => out,
    }
}

/// GET or HEAD: the methods Trellis's APPEND_SLASH redirects.
pub fn get_like(req: &HttpRequest) -> bool {
    req.method() == Method::GET || req.method() == Method::HEAD
}

/// Trellis's APPEND_SLASH: a GET for `path` that only matches as `path/` is sent there (301).
pub fn append_slash(req: &HttpRequest, path: &str) -> HttpResponse {
    let mut location = escape_uri_path(path);
    location.push('/');
    if !req.query_string().is_empty() {
        location.push('?');
        location.push_str(req.query_string());
    }
    redirect(StatusCode::MOVED_PERMANENTLY, &location)
}

/// A site's compiled templates (from `templates/`, built into the binary).
pub fn templates(list: &[(&str, &str)]) -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    for (name, text) in list {
        hb.register_template_string(name, *text)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    hb
}

/// One static file, held in memory with its headers.
struct StaticFile {
    bytes: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
    last_modified: HeaderValue,
}

/// The site's `static/` folder, read once at startup (hidden files left out).
pub struct StaticFiles(HashMap<String, StaticFile>);

impl StaticFiles {
    pub fn load(dir: &Path) -> std::io::Result<StaticFiles> {
        let mut files = HashMap::new();
        if dir.is_dir() {
            collect(dir, "", &mut files)?;
        }
        Ok(StaticFiles(files))
    }

    /// The file at `rest` (the decoded path after `/static/`), or `None` for a 404.
    pub fn serve(&self, req: &HttpRequest, rest: &str) -> Option<HttpResponse> {
        let file = self.0.get(rest)?;
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut res = HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, "GET, HEAD"))
                .finish();
            add_security_headers(&mut res);
            return Some(res);
        }
        let etag_matches = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == "*" || t.trim().as_bytes() == file.etag.as_bytes())
            });
        let mut res = if etag_matches {
            let mut res = HttpResponse::NotModified().finish();
            add_security_headers(&mut res);
            res
        } else {
            respond(StatusCode::OK, file.content_type, file.bytes.clone())
        };
        let headers = res.headers_mut();
        headers.insert(header::ETAG, file.etag.clone());
        headers.insert(header::LAST_MODIFIED, file.last_modified.clone());
        Some(res)
    }
}

fn add_security_headers(res: &mut HttpResponse) {
    for (name, value) in SECURITY_HEADERS {
        res.headers_mut().insert(name, value);
    }
}

fn collect(dir: &Path, prefix: &str, out: &mut HashMap<String, StaticFile>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let meta = entry.metadata()?;
        if meta.is_dir() {
            collect(&entry.path(), &format!("{rel}/"), out)?;
        } else if meta.is_file() {
            let modified = meta.modified()?;
            let bytes = std::fs::read(entry.path())?;
            // Trellis's ETag: the content's SipHash-1-3 (`statics::content_hash`).
            let etag = {
                use std::hash::Hasher as _;
                let mut h = siphasher::sip::SipHasher13::new();
                h.write(&bytes);
                format!("\"{:016x}\"", h.finish())
            };
            let last_modified = header::HttpDate::from(modified).to_string();
            let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
            out.insert(
                rel,
                StaticFile {
                    bytes: Bytes::from(bytes),
                    content_type: content_type(ext),
                    etag: HeaderValue::from_str(&etag).expect("an ETag is ASCII"),
                    last_modified: HeaderValue::from_str(&last_modified)
                        .expect("an HTTP date is ASCII"),
                },
            );
        }
    }
    Ok(())
}

fn content_type(ext: &str) -> &'static str {
    match ext.to_ascii_lowercase().as_str() {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        _ => "application/octet-stream",
    }
}

fn usage() -> ! {
    eprintln!("usage: baseline greetings|blog|shop ADDR SITE_DIR");
    std::process::exit(2)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, addr, dir] = args.as_slice() else {
        usage()
    };
    let dir = Path::new(dir);
    // The same server for either site: its state and its one handler.
    macro_rules! serve {
        ($site:expr, $handler:path) => {{
            let site = web::Data::new($site);
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(site.clone())
                    .default_service(web::to($handler))
            })
            .workers(WORKERS)
            .bind(addr.as_str())?;
            let bound = server
                .addrs()
                .first()
                .map_or(addr.clone(), |a| a.to_string());
            println!("listening on http://{bound}/");
            std::io::stdout().flush()?;
            server.run().await
        }};
    }
    match kind.as_str() {
        "greetings" => serve!(greetings::Site::load(dir)?, greetings::handle),
        "blog" => serve!(blog::Site::load(dir)?, blog::handle),
        "shop" => serve!(shop::Site::load(dir)?, shop::handle),
        _ => usage(),
    }
}
