//! The HTTP side: the actix app (one factory, used by `serve` and the tests alike), the
//! middleware (access log, security headers, gzip and brotli), static files, and the one catch-all handler that
//! hands every other request to Trellis's router. Site routes never enter actix's route table,
//! because they come from YAML at run time.
//!
//! The site sits behind an atomic pointer (`ArcSwap`): each request takes the current `Site`
//! once and finishes with it, so a reload can swap a whole new site in between requests.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Condition, Next};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use crate::reload::{Current, LIVE_PATH};
use crate::site::Site;
use crate::views::{Request, Response, ViewError};

/// What every worker shares: the current site (which a reload swaps) and the static files.
pub struct AppState {
    pub current: Arc<Current>,
    /// Small static files as last read, checked against the file's size and time on each use.
    files: FileCache,
}

impl AppState {
    pub fn new(site: Site, live: bool) -> AppState {
        AppState {
            current: Arc::new(Current::new(site, live)),
            files: FileCache::default(),
        }
    }
}

/// The app's services and middleware; `serve` and the tests both build the app with this.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .wrap(from_fn(security_headers))
        // The access line costs nothing when it is not written (`--quiet`): the middleware is
        // only there when the log wants it.
        .wrap(Condition::new(
            tracing::enabled!(target: "trellis::access", tracing::Level::INFO),
            from_fn(access_log),
        ))
        // Outermost, so that the access log counts the bytes before compression.
        .wrap(from_fn(compress))
        .default_service(web::to(catch_all))
}

/// One access-log line per request: method, target, version, status, size, time.
async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let line = format!(
        "\"{} {} {:?}\"",
        req.method(),
        crate::logline::escaped(req.uri().path_and_query().map_or("/", |p| p.as_str())),
        req.version()
    );
    let start = Instant::now();
    let res = next.call(req).await?;
    let bytes = match res.response().body().size() {
        BodySize::Sized(n) => n.to_string(),
        _ => "-".into(),
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(target: "trellis::access", "{line} {} {bytes} {ms:.2}ms", res.status().as_u16());
    Ok(res)
}

/// The site's security headers (`crate::security`: Django's defaults and `site.security`) on
/// every response that did not set its own of that name: pages, errors, redirects, 304s,
/// static files and `--live`'s endpoint alike. They are read from the current site, so a
/// reload that changes `site.security` changes them.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let site = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.current.site.load_full());
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    for (name, value) in site.iter().flat_map(|s| &s.security.headers) {
        // Checked at load: a value that fails here is a bug, and is left out rather than sent.
        let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            continue;
        };
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
    Ok(res)
}

/// Bodies smaller than this are sent as they are: they fit in one packet either way, and the
/// encoders' framing eats much of what compressing them would save.
const COMPRESS_MIN: u64 = 1024;

/// gzip or brotli, as the client's `Accept-Encoding` prefers (brotli on a tie), for a text
/// response of at least [`COMPRESS_MIN`] bytes; anything else is sent as it is. Images but
/// SVG, archives, fonts, and bodies that already have a `Content-Encoding` (a byte range of a
/// file says `identity`) are never compressed. A response that could be compressed says
/// `Vary: Accept-Encoding`, whether this client asked for compression or not, so that a cache
/// keeps the two apart. It is middleware: it does not care where or how the body was made.
async fn compress(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let accept = req.get_header::<header::AcceptEncoding>();
    let res = next.call(req).await?;
    Ok(res.map_body(move |head, body| {
        let worth_it = compressible(head.status, &head.headers, body.size());
        let encoding = match (&accept, worth_it) {
            (Some(accept), true) => {
                let chosen = accept.negotiate(ENCODINGS.iter());
                match chosen.as_ref().map(header::Encoding::to_string).as_deref() {
                    Some("br") => header::ContentEncoding::Brotli,
                    Some("gzip") => header::ContentEncoding::Gzip,
                    _ => header::ContentEncoding::Identity,
                }
            }
            _ => header::ContentEncoding::Identity,
        };
        if worth_it && encoding == header::ContentEncoding::Identity {
            head.headers
                .append(header::VARY, HeaderValue::from_static("accept-encoding"));
        } else if worth_it {
            weaken_etag(&mut head.headers);
        }
        // The encoder adds `Content-Encoding` and `Vary` when it compresses.
        actix_http::encoding::Encoder::response(encoding, head, body)
    }))
}

/// A strong ETag names one sequence of bytes (RFC 9110, 8.8.1), and the compressed body is
/// another: it becomes weak (`W/"…"`), as nginx makes it, and `If-None-Match`, which compares
/// weakly, still finds it current.
fn weaken_etag(headers: &mut header::HeaderMap) {
    let weak = headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.starts_with("W/"))
        .and_then(|v| HeaderValue::from_str(&format!("W/{v}")).ok());
    if let Some(weak) = weak {
        headers.insert(header::ETAG, weak);
    }
}

/// What `compress` offers, in the order it prefers on a tie.
static ENCODINGS: [header::Encoding; 3] = [
    header::Encoding::brotli(),
    header::Encoding::gzip(),
    header::Encoding::identity(),
];

/// Whether a response is worth compressing: a body of text, big enough, not yet encoded.
fn compressible(status: StatusCode, headers: &header::HeaderMap, size: BodySize) -> bool {
    let big_enough = match size {
        BodySize::Sized(n) => n >= COMPRESS_MIN,
        BodySize::Stream => true,
        BodySize::None => false,
    };
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    big_enough
        && !matches!(status.as_u16(), 101 | 204 | 206 | 304)
        && !headers.contains_key(header::CONTENT_ENCODING)
        && compressible_type(&mime)
}

/// Text types: HTML, CSS, JavaScript, JSON, XML (with Atom, RSS and SVG), plain text, and
/// other `text/` and `+json`/`+xml` types.
fn compressible_type(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || matches!(
            mime,
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/wasm"
                | "application/manifest+json"
                | "image/x-icon"
                | "image/vnd.microsoft.icon"
                | "font/ttf"
                | "font/otf"
        )
}

async fn catch_all(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let site = state.current.site.load_full();
    let (request, undecodable) =
        Request::from_parts(req.method().as_str(), req.uri().path(), req.query_string());
    if let Some(refused) = check_host(&req, &site, &request) {
        return refused;
    }
    if state.current.live.enabled && req.path() == LIVE_PATH {
        let generation = state.current.live.generation.load(Ordering::SeqCst);
        let failing = state
            .current
            .live
            .error
            .lock()
            .map(|e| e.is_some())
            .unwrap_or(false);
        return HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "generation": generation, "error": failing }));
    }
    if let Some(why) = undecodable {
        return respond(site.error(&request, ViewError::BadRequest(why.into())));
    }
    if let Some(rest) = request.path.strip_prefix(site.static_url.as_str()) {
        return static_file(&req, &state, &site, &request, rest).await;
    }
    let mut response = site.handle(&request);
    if let Some(not_modified) = not_modified(&req, &response) {
        return not_modified;
    }
    if state.current.live.enabled && response.content_type.starts_with("text/html") {
        state.current.live.inject(&mut response.body);
    }
    respond(response)
}

/// The site's 400 for a request whose `Host` is malformed or not one the site answers (see
/// `hosts`); the live-reload endpoint and static files are checked too.
fn check_host(req: &HttpRequest, site: &Site, request: &Request) -> Option<HttpResponse> {
    // A request target in absolute form (`GET http://example.org/ HTTP/1.1`) names the host
    // itself, and HTTP says its authority replaces the Host header (RFC 9112, 3.2.2); else the
    // Host header. X-Forwarded-Host is not trusted (Django's default).
    let host = req
        .uri()
        .authority()
        .map(|a| a.to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    if crate::hosts::host_allowed(site.allowed_hosts.as_deref(), &host) {
        return None;
    }
    // The visitor is told the Host is refused; how the site is configured goes to the log.
    let why = match &site.allowed_hosts {
        _ if crate::hosts::split_domain_port(&host).is_none() => {
            "not a host name, an IP address or [IPv6], with an optional :port"
        }
        Some(_) => "add it to site.allowed_hosts",
        None => "without site.allowed_hosts only localhost, 127.0.0.1 and [::1] are answered; add it to site.allowed_hosts",
    };
    let host = crate::logline::escaped(&host);
    tracing::warn!("Invalid Host header \"{host}\": {why}");
    Some(respond(site.error(
        request,
        ViewError::BadRequest(format!("Invalid Host header \"{host}\"")),
    )))
}

/// Serve a file from the site's static folder; anything that is not a plain file whose real
/// path is inside it (a directory, `..`, a hidden file, a link out of the folder) is a 404.
async fn static_file(
    req: &HttpRequest,
    state: &AppState,
    site: &Arc<Site>,
    request: &Request,
    rest: &str,
) -> HttpResponse {
    use crate::statics::Refused;
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "GET, HEAD"))
            .finish();
    }
    let found = match site.statics.find(rest) {
        Ok(found) => found,
        Err(Refused::NotFound) => return respond(site.error(request, ViewError::NotFound)),
        Err(Refused::Outside(real)) => {
            tracing::warn!(
                "Not Found: {} leads out of the static folder (to {}); links out of it are not served",
                crate::logline::escaped(&request.path),
                crate::logline::escaped(&real.to_string_lossy())
            );
            return respond(site.error(request, ViewError::NotFound));
        }
    };
    let cache_control = HeaderValue::from_static(found.cache_control);
    let path = found.path;
    let generation = state.current.live.generation.load(Ordering::SeqCst);
    if let Ok(meta) = std::fs::metadata(&path) {
        if meta.len() <= SMALL_FILE {
            if let Some(mut r) = small_file(req, &path, &meta, &state.files, generation) {
                r.headers_mut().insert(header::CACHE_CONTROL, cache_control);
                return r;
            }
        } else if let Ok(file) = actix_files::NamedFile::open_async(&path).await {
            let mut r = file.use_last_modified(true).into_response(req);
            r.headers_mut().insert(header::CACHE_CONTROL, cache_control);
            return r;
        }
    }
    respond(site.error(request, ViewError::NotFound))
}

/// Files up to this size are read whole (from the page cache, in microseconds) and answered in
/// one piece; larger ones are streamed by actix-files, with byte ranges.
const SMALL_FILE: u64 = 256 * 1024;

/// Small static files kept in memory, at most [`FILE_CACHE_BYTES`] in all (emptied when full,
/// and by every reload). An entry is used only while the file still has the stamp it was read
/// with (size, modification time, inode, status-change time: see `statics::Stamp`), so an
/// edited file is served fresh even without the reloader, even when the edit kept its size
/// and modification time (`cp -p`, `rsync -a`); a file changed in the last seconds is not
/// kept at all, since a second change within the same clock tick would keep its stamp.
#[derive(Default)]
struct FileCache {
    entries: std::sync::RwLock<std::collections::HashMap<PathBuf, Arc<CachedFile>>>,
    bytes: std::sync::atomic::AtomicUsize,
    /// The site generation (see `reload::Live`) the entries were read under.
    generation: std::sync::atomic::AtomicU64,
}

const FILE_CACHE_BYTES: usize = 8 << 20;

struct CachedFile {
    stamp: crate::statics::Stamp,
    /// The modification time in whole seconds, as HTTP dates have them.
    secs: u64,
    body: web::Bytes,
    content_type: HeaderValue,
    /// A hash of the content: a change the stamp cannot show still changes the ETag.
    etag: HeaderValue,
    /// Formatted once, when the file is read: formatting a date per request cost a fifth of a
    /// small file's answer.
    last_modified: HeaderValue,
}

impl FileCache {
    fn get(
        &self,
        path: &std::path::Path,
        meta: &std::fs::Metadata,
        generation: u64,
    ) -> Option<Arc<CachedFile>> {
        use crate::statics::Stamp;
        let stamp = Stamp::of(meta);
        if self.generation.swap(generation, Ordering::Relaxed) != generation {
            if let Ok(mut entries) = self.entries.write() {
                entries.clear();
                self.bytes.store(0, Ordering::Relaxed);
            }
        }
        let hit = self.entries.read().ok()?.get(path).cloned();
        if let Some(f) = hit.filter(|f| f.stamp == stamp) {
            return Some(f);
        }
        let modified = meta.modified().ok()?;
        let body = web::Bytes::from(std::fs::read(path).ok()?);
        let secs = modified
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let mime = actix_files::file_extension_to_mime(ext);
        let content_type = if mime.type_() == "text" || ext == "js" || ext == "json" || ext == "svg"
        {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        };
        let hash = crate::statics::content_hash(&body);
        let file = Arc::new(CachedFile {
            stamp,
            secs,
            content_type: HeaderValue::from_str(&content_type).ok()?,
            etag: HeaderValue::from_str(&format!("\"{hash}\"")).ok()?,
            last_modified: HeaderValue::from_str(&header::HttpDate::from(modified).to_string())
                .ok()?,
            body,
        });
        // A file that changed while being read (or too recently to tell) is served as read,
        // and not kept.
        let still = std::fs::metadata(path).is_ok_and(|m| Stamp::of(&m) == stamp);
        if let (true, true, Ok(mut entries)) = (still, stamp.settled(), self.entries.write()) {
            let size = file.body.len();
            if self.bytes.fetch_add(size, Ordering::Relaxed) + size > FILE_CACHE_BYTES {
                entries.clear();
                self.bytes.store(size, Ordering::Relaxed);
            }
            entries.insert(path.to_path_buf(), file.clone());
        }
        Some(file)
    }
}

/// A small static file: its bytes, type, ETag and Last-Modified; 304 when the client's copy is
/// current. A Range header is ignored (a full 200 is a valid answer to it).
fn small_file(
    req: &HttpRequest,
    path: &std::path::Path,
    meta: &std::fs::Metadata,
    files: &FileCache,
    generation: u64,
) -> Option<HttpResponse> {
    let file = files.get(path, meta, generation)?;
    let secs = file.secs;
    let etag = file.etag.to_str().ok()?;
    let matches_etag = etag_matches(req, etag);
    let not_modified_since = req.headers().get(header::IF_NONE_MATCH).is_none()
        && req
            .headers()
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<header::HttpDate>().ok())
            .and_then(|since| {
                std::time::SystemTime::from(since)
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()
            })
            // HTTP dates have whole seconds.
            .is_some_and(|since| since.as_secs() >= secs);
    let mut builder = if matches_etag || not_modified_since {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    builder
        .insert_header((header::ETAG, file.etag.clone()))
        .insert_header((header::LAST_MODIFIED, file.last_modified.clone()));
    if matches_etag || not_modified_since {
        return Some(builder.finish());
    }
    builder.insert_header((header::CONTENT_TYPE, file.content_type.clone()));
    Some(builder.body(file.body.clone()))
}

/// Whether the request's `If-None-Match` names `etag` (or `*`), compared weakly as RFC 9110
/// asks of `If-None-Match`.
fn etag_matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.trim_start_matches("W/") == etag.trim_start_matches("W/"))
        })
}

/// A 200 with an ETag (a feed, a sitemap) that the client already holds: 304, without a body.
fn not_modified(req: &HttpRequest, r: &Response) -> Option<HttpResponse> {
    let (_, etag) = r.headers.iter().find(|(name, _)| *name == "ETag")?;
    (r.status == 200 && etag_matches(req, etag)).then(|| {
        HttpResponse::NotModified()
            .insert_header((header::ETAG, etag.clone()))
            .finish()
    })
}

fn respond(r: Response) -> HttpResponse {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CONTENT_TYPE, r.content_type));
    for (name, value) in r.headers {
        builder.insert_header((name, value));
    }
    builder.body(r.body)
}

/// Options for `trellis serve`.
pub struct ServeOptions {
    pub addr: String,
    pub workers: Option<usize>,
    /// Watch the site folder and reload on change.
    pub reload: bool,
    /// Reload open pages in the browser after a reload (and show load errors there).
    pub live: bool,
}

/// Bind, print the address, and serve until interrupted (Ctrl-C finishes requests in flight).
pub fn serve(site: Site, opts: ServeOptions) -> std::io::Result<()> {
    let listener = TcpListener::bind(&opts.addr)?;
    let local = listener.local_addr()?;
    let routes = site.router.len();
    let root = site.root.display().to_string();
    let site_dir = site.root.clone();
    let state = Arc::new(AppState::new(site, opts.live));
    // Kept alive until the server stops; dropping it stops the watching.
    let watcher = if opts.reload {
        match crate::reload::watch(site_dir, state.current.clone()) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!("cannot watch the site folder, so edits need a restart: {e}");
                None
            }
        }
    } else {
        None
    };
    let state = web::Data::from(state);
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(move || app(state.clone()))
            .shutdown_timeout(5)
            .listen(listener)?;
        if let Some(n) = opts.workers {
            server = server.workers(n.max(1));
        }
        println!(
            "Trellis {}: serving {root} ({routes} routes) at http://{local}/",
            env!("CARGO_PKG_VERSION")
        );
        match (&watcher, opts.live) {
            (Some(_), true) => println!("Reloading on save, and reloading open pages (--live)."),
            (Some(_), false) => {
                println!("Reloading on save (--no-reload to turn off, --live to reload pages too).")
            }
            (None, _) => {}
        }
        println!("Quit with Ctrl-C.");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server.run().await
    })
}
