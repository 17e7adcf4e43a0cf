//! In-process requests: a site loaded by `trellis::Site::load` (its database created and its
//! fixtures loaded by `Site::migrate`, as `trellis serve` does at start) and asked through
//! `Site::handle` what the server would answer, the answer as the same `Resp` the wire gives.
//!
//! `Site::handle` is what the server's catch-all handler runs once the path is decoded, the
//! Host allowed and static files ruled out; what happens before and after it (decoding raw
//! bytes, Host checks, static files, HEAD's empty body, the headers the server adds, the access
//! log) is only seen over real HTTP, with `Server`.
//!
//! A site that many tests read is loaded once per run and shared through a `OnceLock`
//! (`Local::shared` for one with a database, so that the database lives in the run's own
//! folder); a test that writes loads its own copy (`Local::copy_of`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tempfile::TempDir;
use trellis::views::{Request, Response};
use trellis::Site;

use super::{copy_dir, shared_copy, Resp};

/// A loaded site, answering requests in process.
pub struct Local {
    site: Site,
    /// The folder the site was loaded from (its database file is in it).
    pub path: PathBuf,
    /// A private copy, removed on drop (none for a shared copy or a site loaded in place).
    _tmp: Option<TempDir>,
}

impl Local {
    /// Load the site in `dir` itself and create its database there (for a site that a test
    /// wrote into a temporary folder, or one without a database).
    pub fn load(dir: &Path) -> Local {
        Local::open(dir.to_path_buf(), None)
    }

    /// Load a private copy of the site in `dir`, removed when the `Local` is dropped: for a
    /// test that writes to the database.
    pub fn copy_of(dir: &Path) -> Local {
        let tmp = TempDir::new().expect("a temporary folder");
        let copy = tmp
            .path()
            .join(dir.file_name().expect("a site folder has a name"));
        copy_dir(dir, &copy);
        remove_databases(&copy);
        Local::open(copy, Some(tmp))
    }

    /// Load a copy of the site in `dir` kept for the whole run (see `shared_copy`), for a
    /// `OnceLock` that read-only tests share.
    pub fn shared(dir: &Path) -> Local {
        Local::open(shared_copy(dir), None)
    }

    fn open(path: PathBuf, tmp: Option<TempDir>) -> Local {
        let site = Site::load(&path).unwrap_or_else(|errors| {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{} does not load:\n{}", path.display(), text.join("\n"))
        });
        if let Err(e) = site.migrate(false) {
            panic!("{} does not migrate:\n{e}", path.display());
        }
        Local {
            site,
            path,
            _tmp: tmp,
        }
    }

    /// Answer `METHOD TARGET` (`/path?query`, the path percent-decoded as the server does).
    pub fn request(&self, method: &str, target: &str) -> Resp {
        self.site.handle(&Request::new(method, target)).into()
    }

    /// Answer a request built by the test (cookies, form, client address).
    pub fn send(&self, req: &Request) -> Resp {
        self.site.handle(req).into()
    }

    pub fn get(&self, target: &str) -> Resp {
        self.request("GET", target)
    }

    /// `get` as a development server answers it: a 500 is the debug page
    /// (`Site::handle_debug`).
    pub fn get_debug(&self, target: &str) -> Resp {
        self.site.handle_debug(&Request::new("GET", target)).into()
    }

    pub fn post(&self, target: &str) -> Resp {
        self.request("POST", target)
    }

    /// `METHOD TARGET` with a CSRF cookie and the same token in the form, as a form from one
    /// of the site's pages sends it: what passes the CSRF check on an unsafe method.
    pub fn request_with_token(&self, method: &str, target: &str) -> Resp {
        self.site.handle(&with_token(method, target, "")).into()
    }

    /// POST `target` with a form body (`a=1&b=2`, form-encoded) and a CSRF token that passes.
    pub fn post_form(&self, target: &str, body: &str) -> Resp {
        self.site.handle(&with_token("POST", target, body)).into()
    }

    /// `post_form` as the server first tries a database page: on the worker, with a CPU
    /// budget (`Site::handle_briefly`). `None` when the page is left for a database thread.
    pub fn post_form_briefly(&self, target: &str, body: &str) -> Option<Resp> {
        let req = with_token("POST", target, body);
        let route = self.site.resolve(&req);
        let budget = std::time::Duration::from_secs(10);
        let answer = self
            .site
            .handle_briefly(&req, route.as_ref(), budget, false);
        answer.map(Into::into)
    }
}

/// `METHOD TARGET` with the CSRF cookie and the same token in the form, then `body`'s fields.
fn with_token(method: &str, target: &str, body: &str) -> Request {
    let secret = CSRF_SECRET;
    let form = match body {
        "" => format!("csrfmiddlewaretoken={secret}"),
        _ => format!("csrfmiddlewaretoken={secret}&{body}"),
    };
    Request::new(method, target)
        .with_cookies(&format!("csrftoken={secret}"))
        .with_form(&form)
}

/// A well-formed CSRF secret, for a request that must pass the check (Django takes the
/// unmasked secret in the form as it takes a masked token).
pub const CSRF_SECRET: &str = "abcdefghijklmnopqrstuvwxyz012345";

/// Remove the database files a local run of `trellis serve` may have left in a site folder, so
/// that a copy starts from the fixtures.
pub fn remove_databases(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_name().to_string_lossy().contains(".sqlite3") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
}

impl From<Response> for Resp {
    /// The response as the wire would carry it, before the server adds its own headers:
    /// `Content-Type` and the headers the view set, names lower-cased.
    fn from(r: Response) -> Resp {
        // In process, only the first part of a streamed body (a CSV export) is here.
        assert!(
            r.stream.is_none(),
            "a streamed body is only whole over HTTP: ask a `Server`"
        );
        let mut headers = vec![("content-type".to_string(), r.content_type)];
        headers.extend(
            r.headers
                .into_iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value)),
        );
        Resp {
            status: r.status,
            headers,
            body: r.body,
        }
    }
}

/// Run `f` and return what it logged on this thread, formatted as `trellis serve` writes its
/// log (without colours): what the views say about a 400, 405 or 500.
pub fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_target(false)
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned();
    (out, text)
}

/// A log written into memory.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
