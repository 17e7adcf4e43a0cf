//! The HTTP side: the actix app (one factory, used by `serve` and the tests alike), the
//! middleware (access log, security headers, gzip and brotli), static files, and the one catch-all handler that
//! hands every other request to Trellis's router. Site routes never enter actix's route table,
//! because they come from YAML at run time.
//!
//! The site sits behind an atomic pointer (`ArcSwap`): each request takes the current `Site`
//! once and finishes with it, so a reload can swap a whole new site in between requests.
//!
//! What a client may cost is bounded here (`site.limits`): the request's size (414, 431, 413,
//! and 400 past `query_fields`), the time it takes to send its head (408) or to read a response
//! (`TimedWrites` closes the connection), the open connections, and the time requests in
//! flight have to finish at shutdown. Requests whose route reads the database are first tried
//! on the worker with a budget of CPU time ([`BRIEF`]); the ones that prove expensive run on a
//! [`Pool`] of their own threads, so a slow query never holds the threads that answer the
//! cheap pages; a full queue is a 503 at once.

use std::net::TcpListener;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Condition, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse};

use crate::config::diagnostic::count;
use crate::config::raw::RawLimits;
use crate::proxy::Forwarded;
use crate::reload::{Current, LIVE_PATH};
use crate::site::Site;
use crate::views::{Request, Response, ViewError};

/// What every worker shares: the current site (which a reload swaps), the static files, and
/// the threads that run the database's pages.
pub struct AppState {
    pub current: Arc<Current>,
    /// Answer a 500 with the debug page: `serve` on a loopback address, unless `--no-debug`.
    debug: bool,
    /// Small static files as last read, checked against the file's size and time on each use.
    files: FileCache,
    pool: Pool,
}

impl AppState {
    pub fn new(site: Site, live: bool, debug: bool) -> std::io::Result<AppState> {
        let threads = match site.limits.db_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n as usize,
        };
        Ok(AppState {
            current: Arc::new(Current::new(site, live)),
            debug,
            files: FileCache::default(),
            pool: Pool::new(threads)?,
        })
    }
}

/// A job for a database thread.
type Job = Box<dyn FnOnce() + Send>;

/// The threads that answer the requests whose route reads the database (`Site::needs_database`)
/// — each with its own SQLite connections, kept between requests — fed by one queue. The actix
/// workers hand such a request over and go on answering others; at most `db_queue` requests
/// wait at once.
struct Pool {
    jobs: mpsc::Sender<Job>,
    /// Jobs sent and not yet started.
    waiting: Arc<AtomicUsize>,
    /// Requests refused since the last log line about it, and that line's second (since
    /// `started`): a burst of refusals is one line a second, not one a request.
    refused: AtomicUsize,
    logged_at: std::sync::atomic::AtomicU64,
    started: Instant,
}

/// A place in the [`Pool`]'s queue, taken before the job is made.
struct Ticket<'p>(&'p Pool);

impl Pool {
    fn new(threads: usize) -> std::io::Result<Pool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let waiting = Arc::new(AtomicUsize::new(0));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("trellis-db-{i}"))
                .spawn(move || loop {
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    waiting.fetch_sub(1, Ordering::Relaxed);
                    // A view that panics loses its request (a 500), not the thread.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                })?;
        }
        Ok(Pool {
            jobs,
            waiting,
            refused: AtomicUsize::new(0),
            logged_at: std::sync::atomic::AtomicU64::new(0),
            started: Instant::now(),
        })
    }

    /// Count a request refused because `limit` others waited; log the count at most once a
    /// second (the first refusal of a burst at once).
    fn refused(&self, limit: u32) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let second = self.started.elapsed().as_secs() + 1;
        let last = self.logged_at.load(Ordering::Relaxed);
        if second > last
            && self
                .logged_at
                .compare_exchange(last, second, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let n = self.refused.swap(0, Ordering::Relaxed);
            tracing::warn!(
                "Service Unavailable: {n} request(s) refused, the queue for the database threads is full (site.limits.db_queue: {limit})"
            );
        }
    }

    /// A place in the queue, unless `limit` jobs already wait.
    fn reserve(&self, limit: usize) -> Option<Ticket<'_>> {
        self.waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Ticket(self))
    }
}

impl Ticket<'_> {
    /// Run `f` on a database thread and wait for its answer without holding this one; `None`
    /// if it panicked.
    async fn run<T: Send + 'static>(self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        self.send(f)?.await.ok()
    }

    /// Queue `f` for a database thread; its answer comes on the receiver (which fails if it
    /// panicked). `None` if the threads are gone.
    fn send<T: Send + 'static>(
        self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<tokio::sync::oneshot::Receiver<T>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        if self.0.jobs.send(job).is_err() {
            self.0.waiting.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(rx)
    }
}

/// A chunk of a streamed body as a database thread hands it back, with the stream's place.
type ChunkAnswer = (crate::views::csv::Stream, Result<Option<String>, String>);

/// The rest of a streamed body (a CSV export) after its first part: each chunk is read on a
/// database thread when actix asks for more — that is, once the client has taken the last —
/// so no thread waits on a slow client, and only one chunk is in memory. A later chunk is
/// queued whatever the queue's length (the export was admitted; its chunks wait their turn
/// among other requests). A failure ends the body early: actix then closes the connection
/// without the final chunk, and the client sees a truncated transfer.
struct Chunks {
    state: web::Data<AppState>,
    site: Arc<Site>,
    step: ChunkStep,
}

enum ChunkStep {
    /// The part read with the request, and the stream that goes on after it.
    First(web::Bytes, crate::views::csv::Stream),
    Idle(crate::views::csv::Stream),
    Reading(tokio::sync::oneshot::Receiver<ChunkAnswer>),
    Done,
}

impl MessageBody for Chunks {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<web::Bytes, Self::Error>>> {
        use std::future::Future;
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.step, ChunkStep::Done) {
                ChunkStep::Done => return Poll::Ready(None),
                ChunkStep::First(bytes, stream) => {
                    this.step = ChunkStep::Idle(stream);
                    return Poll::Ready(Some(Ok(bytes)));
                }
                ChunkStep::Idle(mut stream) => {
                    let site = this.site.clone();
                    let job = move || {
                        let chunk = site.next_chunk(&mut stream);
                        (stream, chunk)
                    };
                    match this
                        .state
                        .pool
                        .reserve(usize::MAX)
                        .and_then(|t| t.send(job))
                    {
                        Some(rx) => this.step = ChunkStep::Reading(rx),
                        None => {
                            return Poll::Ready(Some(Err(ended("the database threads are gone"))))
                        }
                    }
                }
                ChunkStep::Reading(mut rx) => match Pin::new(&mut rx).poll(cx) {
                    Poll::Pending => {
                        this.step = ChunkStep::Reading(rx);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok((stream, Ok(Some(text))))) => {
                        this.step = ChunkStep::Idle(stream);
                        return Poll::Ready(Some(Ok(web::Bytes::from(text))));
                    }
                    Poll::Ready(Ok((_, Ok(None)))) => return Poll::Ready(None),
                    Poll::Ready(Ok((_, Err(why)))) => return Poll::Ready(Some(Err(ended(&why)))),
                    Poll::Ready(Err(_)) => {
                        return Poll::Ready(Some(Err(ended("reading the next chunk panicked"))))
                    }
                },
            }
        }
    }
}

/// A streamed body that stops early: logged, and the connection closed.
fn ended(why: &str) -> std::io::Error {
    tracing::error!("a streamed response ended early: {why}");
    std::io::Error::other(why.to_string())
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
        .wrap(from_fn(site_headers))
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

/// One access-log line per request: the client's address, method, target, version, status,
/// size, time. The address is the peer's, or the one a trusted proxy forwarded
/// (`site.proxy.forwarded_for`), as `site_headers` found it.
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
    let peer = req.peer_addr().map(|a| a.ip());
    let start = Instant::now();
    let res = next.call(req).await?;
    let client = res
        .request()
        .extensions()
        .get::<Forwarded>()
        .map_or(peer, |f| f.client)
        .map_or_else(|| "-".to_string(), |ip| ip.to_string());
    let bytes = match res.response().body().size() {
        BodySize::Sized(n) => n.to_string(),
        _ => "-".into(),
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(target: "trellis::access", "{client} {line} {} {bytes} {ms:.2}ms", res.status().as_u16());
    Ok(res)
}

/// What a trusted proxy's headers say of the request (`crate::proxy`), kept in the request's
/// extensions for the handler, the security headers and the access log; then the site's
/// security headers (`crate::security`: Django's defaults and `site.security`) on every
/// response that did not set its own of that name: pages, errors, redirects, 304s, static
/// files and `--live`'s endpoint alike. HSTS goes only on a secure request, as Django sends
/// it. Both are read from the current site, so a reload that changes them takes effect.
async fn site_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let site = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.current.site.load_full());
    let forwarded = site.as_ref().map(|site| {
        site.proxy.read(req.peer_addr().map(|a| a.ip()), |name| {
            req.headers()
                .get_all(name)
                .filter_map(|v| v.to_str().ok())
                .collect()
        })
    });
    let secure = forwarded.as_ref().is_some_and(|f| f.secure);
    if let Some(forwarded) = forwarded {
        req.extensions_mut().insert(forwarded);
    }
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    let sent = site.iter().flat_map(|s| &s.security.headers);
    for (name, value) in sent.filter(|(name, _)| secure || *name != HSTS) {
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

/// Sent only on a secure request (`site_headers`).
const HSTS: &str = "Strict-Transport-Security";

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

async fn catch_all(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let site = state.current.site.load_full();
    if let Some(refused) = over_limits(&req, &site.limits) {
        return refused;
    }
    let (mut request, undecodable) =
        Request::from_parts(req.method().as_str(), req.uri().path(), req.query_string());
    let get = |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
    request.cors = crate::views::cors::Ask::from_headers(
        get(header::ORIGIN),
        get(header::ACCESS_CONTROL_REQUEST_METHOD),
        get(header::ACCESS_CONTROL_REQUEST_HEADERS),
    );
    let forwarded = req.extensions().get::<Forwarded>().cloned();
    request.secure = forwarded.as_ref().is_some_and(|f| f.secure);
    request.client = forwarded
        .as_ref()
        .and_then(|f| f.client)
        .or_else(|| req.peer_addr().map(|a| a.ip()))
        .map(|ip| ip.to_string());
    let forwarded_host = forwarded.and_then(|f| f.host);
    let host = match check_host(&req, &site, &request, forwarded_host) {
        Ok(host) => host,
        Err(refused) => return refused,
    };
    let debug = state.debug && debug_allowed(&req, &site, &host);
    if debug {
        // Only the debug page reads them: no other server pays for the copy.
        request.headers = req
            .headers()
            .iter()
            .map(|(name, value)| {
                let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_string(), text)
            })
            .collect();
    }
    // Every `Origin` header, as text whatever its bytes, joined as Django's WSGI server joins
    // repeated headers: one that is not visible ASCII, or a second one, is then a foreign
    // origin (403), never taken as no `Origin` at all.
    let origins: Vec<String> = req
        .headers()
        .get_all(header::ORIGIN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    request.origin = (!origins.is_empty()).then(|| origins.join(","));
    request.referer = get(header::REFERER).map(str::to_string);
    request.cookies = req
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(crate::views::parse_cookies)
        .collect();
    request.host = host;
    request.csrf_header = get(header::HeaderName::from_static("x-csrftoken")).map(str::to_string);
    if !request.is_safe() {
        match read_form(&req, payload, &site.limits).await {
            Ok(form) => request.form = form,
            Err(refused) => return refused,
        }
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
    // The query string and a form's body each count apart, as Django's
    // DATA_UPLOAD_MAX_NUMBER_FIELDS counts each.
    let fields = site.limits.query_fields;
    for (count, what) in [(request.pairs.len(), "query"), (request.form.len(), "form")] {
        if count > fields as usize {
            let why = format!("more than {fields} {what} fields (site.limits.query_fields)");
            let answer = site.answer(site.resolve(&request).as_ref());
            return respond(site.error_as(&request, ViewError::BadRequest(why), answer));
        }
    }
    if let Some(rest) = request.path.strip_prefix(site.static_url.as_str()) {
        return static_file(&req, &state, &site, &request, rest).await;
    }
    let route = site.resolve(&request);
    let mut response = if site.reads_database(route.as_ref()) {
        match briefly(&site, &request, route.as_ref(), debug) {
            Some(response) => response,
            None => on_database_thread(&req, &site, request, route, debug, &state.pool).await,
        }
    } else {
        site.handle_resolved(&request, route, debug)
    };
    if let Some(not_modified) = not_modified(&req, &response) {
        return not_modified;
    }
    if state.current.live.enabled && response.content_type.starts_with("text/html") {
        state.current.live.inject(&mut response.body);
    }
    match response.stream.take() {
        Some(stream) => streamed(response, stream, site, state),
        None => respond(response),
    }
}

/// A response whose body goes on after `r.body`: see [`Chunks`].
fn streamed(
    r: Response,
    stream: crate::views::csv::Stream,
    site: Arc<Site>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let body = Chunks {
        state,
        site,
        step: ChunkStep::First(web::Bytes::from(r.body), stream),
    };
    builder(r.status, r.content_type, r.headers).body(body)
}

/// Whether a page that fails may show the debug page to this request (the server already
/// listens on a loopback address without `--no-debug`): only for a site that answers local
/// names only (no `allowed_hosts` naming another), asked for a local name, with no sign of a
/// proxy in between (a proxy on the same machine makes a loopback server public).
fn debug_allowed(req: &HttpRequest, site: &Site, host: &str) -> bool {
    let local_site = site.allowed_hosts.as_ref().is_none_or(|allowed| {
        allowed.iter().all(|a| {
            crate::hosts::validate_host(a.trim_start_matches('.'), &crate::hosts::LOCAL_HOSTS)
        })
    });
    let proxied = [
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-real-ip",
        "forwarded",
        "via",
    ]
    .iter()
    .any(|name| req.headers().contains_key(*name));
    local_site && !proxied && crate::hosts::is_local_host(host)
}

/// The request's host, or the site's 400 when it is malformed or not one the site answers (see
/// `hosts`); the live-reload endpoint and static files are checked too. `forwarded` is the
/// `X-Forwarded-Host` of a trusted proxy, when `site.proxy.forwarded_host` asks for it.
fn check_host(
    req: &HttpRequest,
    site: &Site,
    request: &Request,
    forwarded: Option<String>,
) -> Result<String, HttpResponse> {
    // A request target in absolute form (`GET http://example.org/ HTTP/1.1`) names the host
    // itself, and HTTP says its authority replaces the Host header (RFC 9112, 3.2.2); else the
    // Host header. X-Forwarded-Host only from a trusted proxy, and only when asked for
    // (Django's USE_X_FORWARDED_HOST).
    let host = forwarded
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    if crate::hosts::host_allowed(site.allowed_hosts.as_deref(), &host) {
        return Ok(host);
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
    Err(respond(site.error(
        request,
        ViewError::BadRequest(format!("Invalid Host header \"{host}\"")),
    )))
}

/// How much of a worker's CPU time a page that reads the database may use before it is handed
/// to a database thread: a page of rows from a warm cache takes a fraction of it (the feed of
/// 20 posts about 0.3 ms), a search over a large table many times it.
const BRIEF: Duration = Duration::from_millis(2);

/// Answer a request whose route reads the database here, on the worker, if that is cheap:
/// `None` when its database work ran past [`BRIEF`] or met a lock (or the route's did twice in
/// the last second), for a database thread to answer. Most pages are answered without the
/// hand-over's wake-ups (a channel, a oneshot, the worker's event loop: about as much time as
/// a small page's own work); an expensive one costs this worker [`BRIEF`] at most, twice a
/// second per route. A view that panics is a 500, as on a database thread.
fn briefly(
    site: &Site,
    request: &Request,
    route: Option<&crate::routing::Match>,
    debug: bool,
) -> Option<Response> {
    let attempt =
        std::panic::AssertUnwindSafe(|| site.handle_briefly(request, route, BRIEF, debug));
    std::panic::catch_unwind(attempt).unwrap_or_else(|_| {
        Some(site.error(request, ViewError::Internal("the view panicked".into())))
    })
}

/// Answer a request whose route reads the database on one of the pool's threads, or 503 at once
/// when `db_queue` requests already wait for one.
async fn on_database_thread(
    req: &HttpRequest,
    site: &Arc<Site>,
    request: Request,
    route: Option<crate::routing::Match>,
    debug: bool,
    pool: &Pool,
) -> Response {
    let again =
        || Request::from_parts(req.method().as_str(), req.uri().path(), req.query_string()).0;
    let answer = site.answer(route.as_ref());
    let Some(ticket) = pool.reserve(site.limits.db_queue as usize) else {
        pool.refused(site.limits.db_queue);
        return crate::views::unavailable(1, answer);
    };
    let on_pool = site.clone();
    match ticket
        .run(move || on_pool.handle_resolved(&request, route, debug))
        .await
    {
        Some(response) => response,
        None => site.error_as(
            &again(),
            ViewError::Internal("the view panicked".into()),
            answer,
        ),
    }
}

/// The answer to a request past one of `site.limits`' sizes: 414 for its target, 431 for its
/// headers, 413 for its body (by Content-Length; the connection is closed rather than read
/// this one; a chunked body is cut off as it is read, in `read_form`).
fn over_limits(req: &HttpRequest, limits: &RawLimits) -> Option<HttpResponse> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    // Each header as it came: name, `: `, value, CRLF.
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    let body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let (status, setting, limit) = if target > limits.url_bytes as usize {
        (
            StatusCode::URI_TOO_LONG,
            "url_bytes",
            u64::from(limits.url_bytes),
        )
    } else if headers > limits.header_bytes as usize {
        let status = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        (status, "header_bytes", u64::from(limits.header_bytes))
    } else if body.is_some_and(|n| n > limits.body_bytes) {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_bytes",
            limits.body_bytes,
        )
    } else {
        return None;
    };
    Some(too_large(status, setting, limit))
}

/// The answer to a request over one of `site.limits`' sizes (logged), closing the connection
/// rather than read the rest.
fn too_large(status: StatusCode, setting: &str, limit: u64) -> HttpResponse {
    tracing::warn!(
        "{}: the request is over site.limits.{setting} ({limit})",
        title(status)
    );
    HttpResponse::build(status)
        .force_close()
        .content_type("text/html; charset=utf-8")
        .body(status_page(
            status,
            "The request is larger than this site accepts.",
        ))
}

fn title(status: StatusCode) -> String {
    format!(
        "{} ({})",
        status.canonical_reason().unwrap_or_default(),
        status.as_u16()
    )
}

/// A plain page for a status the server answers before the site sees the request.
fn status_page(status: StatusCode, text: &str) -> String {
    let title = title(status);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>{title}</title>\n</head>\n<body>\n  <h1>{title}</h1><p>{text}</p>\n</body>\n</html>\n"
    )
}

/// The fields of a form body (`application/x-www-form-urlencoded`); any other body is left
/// unread (nothing in Trellis reads one). A body past `site.limits.body_bytes` (sent chunked,
/// so that `over_limits` could not see its size) is a 413, a body cut short a 400, a body not
/// all sent within `site.limits.client_timeout_s` a 408 (a client that stops mid-body would
/// otherwise hold its connection for ever).
async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    limits: &RawLimits,
) -> Result<Vec<(String, String)>, HttpResponse> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Ok(Vec::new());
    }
    let limit = usize::try_from(limits.body_bytes).unwrap_or(usize::MAX);
    let patience = Duration::from_secs(limits.client_timeout_s.into());
    let Ok(read) = actix_web::rt::time::timeout(patience, payload.to_bytes_limited(limit)).await
    else {
        tracing::warn!(
            "Request Timeout: the request's body did not come within {}s (site.limits.client_timeout_s)",
            limits.client_timeout_s
        );
        return Err(HttpResponse::RequestTimeout()
            .force_close()
            .content_type("text/html; charset=utf-8")
            .body(status_page(
                StatusCode::REQUEST_TIMEOUT,
                "The request's body did not come in time.",
            )));
    };
    match read {
        Ok(Ok(bytes)) => Ok(form_urlencoded::parse(&bytes).into_owned().collect()),
        Ok(Err(e)) => {
            tracing::warn!("Bad Request: the request's body could not be read: {e}");
            Err(HttpResponse::BadRequest()
                .force_close()
                .content_type("text/html; charset=utf-8")
                .body(status_page(
                    StatusCode::BAD_REQUEST,
                    "The request's body could not be read.",
                )))
        }
        Err(_) => Err(too_large(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_bytes",
            limit as u64,
        )),
    }
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
        } else {
            match actix_files::NamedFile::open_async(&path).await {
                Ok(file) => {
                    let mut r = file.use_last_modified(true).into_response(req);
                    r.headers_mut().insert(header::CACHE_CONTROL, cache_control);
                    return r;
                }
                // The file is there but cannot be opened (out of file descriptors): say so, and
                // let the client retry, rather than claim it does not exist.
                Err(e) => {
                    let detail = format!("cannot open the static file {path:?}: {e}");
                    let busy = ViewError::Unavailable {
                        retry_after: 1,
                        detail,
                    };
                    return respond(site.error(request, busy));
                }
            }
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
    builder(r.status, r.content_type, r.headers).body(r.body)
}

/// A response's status and headers.
fn builder(
    status: u16,
    content_type: String,
    headers: Vec<(&'static str, String)>,
) -> actix_web::HttpResponseBuilder {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CONTENT_TYPE, content_type));
    for (name, value) in headers {
        // A response may set several cookies: each its own header.
        if name == "Set-Cookie" {
            builder.append_header((name, value));
        } else {
            builder.insert_header((name, value));
        }
    }
    builder
}

/// Options for `trellis serve`.
pub struct ServeOptions {
    pub addr: String,
    pub workers: Option<usize>,
    /// Watch the site folder and reload on change.
    pub reload: bool,
    /// Reload open pages in the browser after a reload (and show load errors there).
    pub live: bool,
    /// What the banner calls the site, when not its folder (the bundled example).
    pub name: Option<String>,
    /// A line printed under the banner (why the bundled example is served).
    pub note: Option<String>,
    /// Answer a 500 with the debug page; only ever on a loopback address.
    pub debug: bool,
}

/// Bind, print the address, and serve until SIGINT or SIGTERM; then stop accepting and give
/// the requests in flight `site.limits.shutdown_s` to finish.
pub fn serve(site: Site, opts: ServeOptions) -> std::io::Result<()> {
    let listener = TcpListener::bind(&opts.addr)?;
    let local = listener.local_addr()?;
    let routes = site.router.len();
    let root = opts
        .name
        .clone()
        .unwrap_or_else(|| site.root.display().to_string());
    let site_dir = site.root.clone();
    // The server's own limits are read once, here; the others follow each reload.
    let limits = site.limits;
    // The debug page shows a 500's detail: never to a server others can reach.
    let debug = opts.debug && local.ip().is_loopback();
    let state = Arc::new(AppState::new(site, opts.live, debug)?);
    // Expired sessions and old failed sign-ins go now, before the first request, then hourly.
    purge(&state.current);
    spawn_purger(state.current.clone())?;
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
    let workers = opts
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, 512);
    actix_web::rt::System::new().block_on(async move {
        let server = build_server(state, listener, workers, &limits)?;
        println!(
            "Trellis {}: serving {root} ({}) at http://{local}/",
            env!("CARGO_PKG_VERSION"),
            count(routes, "route", "routes")
        );
        if let Some(note) = &opts.note {
            println!("{note}");
        }
        match (&watcher, opts.live) {
            (Some(_), true) => println!("Reloading on save, and reloading open pages (--live)."),
            (Some(_), false) => {
                println!("Reloading on save (--no-reload to turn off, --live to reload pages too).")
            }
            (None, _) => {}
        }
        if debug {
            println!("A page that fails shows its error in the browser (--no-debug to turn off).");
        }
        println!("Quit with Ctrl-C.");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server.await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// How often a running server deletes expired sessions and old failed sign-ins.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Delete the current site's expired sessions and old failed sign-ins (`auth::purge`), on the
/// calling thread; a failure (a locked database) is logged and tried again next time.
fn purge(current: &Current) {
    let site = current.site.load();
    let Some(db) = &site.db else { return };
    match crate::auth::purge(db, &site.settings.auth) {
        Ok(counts) => {
            if let Some(line) = crate::auth::purged(counts) {
                tracing::info!("{line}");
            }
        }
        Err(e) => tracing::warn!("deleting expired sessions: {e}"),
    }
}

/// A thread that runs [`purge`] every [`PURGE_EVERY`], off the threads that answer requests
/// (a request never waits for it, and never deletes anything to read a page).
fn spawn_purger(current: Arc<Current>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("trellis-purge".into())
        .spawn(move || loop {
            std::thread::sleep(PURGE_EVERY);
            purge(&current);
        })
        .map(drop)
}

/// The server, as actix-web's `HttpServer` builds it, but with each connection wrapped in
/// [`TimedWrites`], the limits of `site.limits`, and a graceful stop on SIGINT as on SIGTERM.
fn build_server(
    state: web::Data<AppState>,
    listener: TcpListener,
    workers: usize,
    limits: &RawLimits,
) -> std::io::Result<actix_server::Server> {
    use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
    let local = listener.local_addr()?;
    let timeout = Duration::from_secs(limits.client_timeout_s.into());
    let shutdown_s = limits.shutdown_s;
    let builder = actix_server::Server::build()
        .workers(workers)
        .max_concurrent_connections((limits.connections as usize).div_ceil(workers).max(1))
        .shutdown_timeout(shutdown_s.into())
        .shutdown_signal(async move {
            stop_signal().await;
            tracing::info!(
                "stopping: no new connections; requests in flight have {shutdown_s}s to finish"
            );
        });
    let closing = builder.graceful_shutdown_signal();
    let builder = builder.listen("trellis", listener, move || {
        let closing = closing.clone();
        let app = app(state.clone())
            .into_factory()
            .map_err(|e: actix_web::Error| e.error_response());
        let http = actix_http::HttpService::build()
            // Keep-alive connections close after their current response once stopping starts.
            .graceful_shutdown_signal(move || {
                let closing = closing.clone();
                async move { closing.notified().await }
            })
            .client_request_timeout(timeout)
            .client_disconnect_timeout(Duration::from_secs(1))
            .local_addr(local)
            .h1(map_config(app, |_| actix_web::dev::AppConfig::default()));
        fn_service(move |io: actix_web::rt::net::TcpStream| {
            let peer = io.peer_addr().ok();
            std::future::ready(Ok((TimedWrites::new(io, timeout), peer)))
        })
        .and_then(http)
    })?;
    Ok(builder.run())
}

/// SIGINT (Ctrl-C) or SIGTERM, whichever comes first.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use actix_web::rt::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        let either = std::future::poll_fn(|cx| match (int.poll_recv(cx), term.poll_recv(cx)) {
            (Poll::Pending, Poll::Pending) => Poll::Pending,
            _ => Poll::Ready(()),
        });
        either.await
    }
    #[cfg(not(unix))]
    {
        let _ = actix_web::rt::signal::ctrl_c().await;
    }
}

/// A connection whose writes time out: once the client stops reading and the kernel's buffer is
/// full, a write that makes no progress for `timeout` fails, and actix closes the connection.
/// Without it, a client that never reads held its connection (and an open file) forever.
struct TimedWrites {
    io: actix_web::rt::net::TcpStream,
    timeout: Duration,
    /// Started when a write could not proceed; cleared when one does.
    stalled: Option<Pin<Box<actix_web::rt::time::Sleep>>>,
}

impl TimedWrites {
    fn new(io: actix_web::rt::net::TcpStream, timeout: Duration) -> TimedWrites {
        TimedWrites {
            io,
            timeout,
            stalled: None,
        }
    }

    /// What a write that could not proceed answers: wait, or fail once the timer has run out.
    fn waiting<T>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<T>> {
        let timeout = self.timeout;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(actix_web::rt::time::sleep(timeout)));
        match std::future::Future::poll(timer.as_mut(), cx) {
            Poll::Ready(()) => {
                tracing::info!(
                    "closed a connection whose client stopped reading for {}s (site.limits.client_timeout_s)",
                    timeout.as_secs()
                );
                Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client stopped reading (site.limits.client_timeout_s)",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(
        &mut self,
        poll: Poll<std::io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<T>> {
        match poll {
            Poll::Pending => self.waiting(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }
}

impl tokio::io::AsyncRead for TimedWrites {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TimedWrites {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.progressed(poll, cx)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.progressed(poll, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
