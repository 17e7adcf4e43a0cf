//! `trellis build SITE OUT`: the site as static files, for any static host or CDN.
//!
//! `views::export` says which URLs a GET reaches without user input; each is answered by
//! [`Site::handle`], exactly as `serve` answers it (no second renderer), on a pool of threads
//! (rendering is CPU-bound); the answer is written as the file a static host looks up for that
//! URL (`files::file_for`). A redirect becomes a small page that sends the browser on. Then
//! the static files (under their fingerprinted names too), `404.html`, and a manifest. Every
//! `href` and `src` of every page must resolve to a file of the build (`links`), or the build
//! fails naming the page and the link, and the previous build stays in place.

pub mod files;
pub mod links;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::views::{escape_uri_path, html_escape, Request};
use crate::Site;

/// What a build did, for its report.
#[derive(Debug, Default)]
pub struct Report {
    /// Every file written (relative to the output folder), sorted.
    pub files: Vec<String>,
    /// Pages answered by the site (redirect pages included), and the static files copied.
    pub pages: usize,
    pub statics: usize,
    /// Files whose bytes differ from the previous build's (or that it lacked).
    pub changed: usize,
    /// Routes not written, with the reason: (pattern, why).
    pub skipped: Vec<(String, String)>,
    /// What of a route is not written, or how a file will be served: (pattern, note).
    pub notes: Vec<(String, String)>,
    /// Redirects written as pages: (path, location).
    pub redirects: Vec<(String, String)>,
}

impl Report {
    /// What was left out and why, then the redirects written as pages: a line each.
    pub fn details(&self) -> String {
        let mut s = String::new();
        for (pattern, why) in &self.skipped {
            s.push_str(&format!("skipped: {pattern}: {why}\n"));
        }
        for (pattern, note) in &self.notes {
            match pattern.as_str() {
                "" => s.push_str(&format!("note: {note}\n")),
                _ => s.push_str(&format!("note: {pattern}: {note}\n")),
            }
        }
        for (from, to) in &self.redirects {
            s.push_str(&format!(
                "redirect: {from} -> {to} (written as a page that sends the browser on)\n"
            ));
        }
        s
    }

    /// `built OUT: N pages, M static files (K changed) in T ms`.
    pub fn summary(&self, out: &Path, took: std::time::Duration) -> String {
        format!(
            "built {}: {} pages, {} static files ({} changed) in {} ms",
            out.display(),
            self.pages,
            self.statics,
            self.changed,
            took.as_millis()
        )
    }
}

/// Why a build failed; the previous build, if any, is untouched.
#[derive(Debug)]
pub enum BuildError {
    /// The output folder cannot be used.
    Refused(String),
    /// Pages that could not be written: each a line (the URL and why).
    Pages(Vec<String>),
    /// Links that lead to no file of the build: (page, link, why).
    Links(Vec<(String, String, String)>),
    Io(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Refused(why) | BuildError::Io(why) => writeln!(f, "error: {why}"),
            BuildError::Pages(lines) => {
                for l in lines {
                    writeln!(f, "error: {l}")?;
                }
                Ok(())
            }
            BuildError::Links(broken) => {
                for (page, link, why) in broken {
                    writeln!(f, "error: {page}: broken link {link:?}: {why}")?;
                }
                let n = broken.len();
                writeln!(
                    f,
                    "{n} broken link{}; nothing was written",
                    if n == 1 { "" } else { "s" }
                )
            }
        }
    }
}

/// One page of the build: what was asked, the file it became, its links (HTML only).
struct Page {
    url: String,
    file: String,
    links: Vec<String>,
}

/// Build `site` into `out` with `jobs` threads (default: one per core).
pub fn build(site: &Site, out: &Path, jobs: Option<usize>) -> Result<Report, BuildError> {
    let static_dir = site.statics.real.as_deref();
    files::check_out(out, &site.root, static_dir).map_err(BuildError::Refused)?;
    let plans = site.export_plan().map_err(|e| BuildError::Pages(vec![e]))?;
    let mut report = Report::default();
    let mut urls = Vec::new();
    let mut seen = HashSet::new();
    for p in plans {
        if let Some(why) = p.skipped {
            report.skipped.push((p.pattern.clone(), why));
        }
        for n in p.notes {
            report.notes.push((p.pattern.clone(), n));
        }
        urls.extend(p.urls.into_iter().filter(|u| seen.insert(u.clone())));
    }
    let writer = files::Writer::new(out).map_err(|e| io(out, e))?;
    let result = write_all(site, &writer, &urls, jobs, &mut report);
    match result {
        Ok(()) => {
            writer.finish(&report.files).map_err(|e| io(out, e))?;
            Ok(report)
        }
        Err(e) => {
            writer.abandon();
            Err(e)
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> BuildError {
    BuildError::Io(format!("{}: {e}", path.display()))
}

/// Every page, the static files, `404.html` and the manifest into the writer's folder, the
/// links checked.
fn write_all(
    site: &Site,
    writer: &files::Writer,
    urls: &[String],
    jobs: Option<usize>,
    report: &mut Report,
) -> Result<(), BuildError> {
    let statics: Vec<(String, std::path::PathBuf)> = match site.static_url.strip_prefix('/') {
        Some(prefix) => site
            .statics
            .files()
            .into_iter()
            .map(|(rel, path)| (format!("{prefix}{rel}"), path))
            .collect(),
        None => Vec::new(),
    };
    let outcome = Mutex::new(Outcome::default());
    let next = AtomicUsize::new(0);
    let total = urls.len() + statics.len();
    let threads = jobs
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
        .clamp(1, total.max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let done = if i < urls.len() {
                    page(site, writer, &urls[i])
                } else {
                    let (rel, path) = &statics[i - urls.len()];
                    std::fs::read(path)
                        .and_then(|bytes| writer.write(rel, &bytes))
                        .map(|changed| Done::Static {
                            file: rel.clone(),
                            changed,
                        })
                        .map_err(|e| format!("{}: {e}", path.display()))
                };
                let mut o = outcome.lock().unwrap_or_else(|e| e.into_inner());
                o.add(done);
            });
        }
    });
    let mut o = outcome.into_inner().unwrap_or_else(|e| e.into_inner());
    match not_found_page(site, writer) {
        Ok(Some(p)) => o.add(Ok(p)),
        Ok(None) => report.notes.push((
            "404.html".into(),
            "a route answers /404.html, so the 404 page is not written".into(),
        )),
        Err(e) => o.errors.push(e),
    }
    o.collisions();
    if !o.errors.is_empty() {
        o.errors.sort();
        return Err(BuildError::Pages(o.errors));
    }
    check_links(site, &o)?;
    let mut names: Vec<String> = o.files.keys().cloned().collect();
    names.sort();
    writer.manifest(&names).map_err(|e| io(&writer.tmp, e))?;
    report.files = names;
    report.pages = o.pages.len();
    report.statics = o.statics;
    report.changed = o.changed;
    report.redirects = std::mem::take(&mut o.redirects);
    report.redirects.sort();
    report
        .notes
        .extend(o.warnings.drain(..).map(|w| (String::new(), w)));
    Ok(())
}

enum Done {
    Page {
        page: Page,
        changed: bool,
        redirect: Option<String>,
        warning: Option<String>,
    },
    Static {
        file: String,
        changed: bool,
    },
    /// A generated URL the site answers 404 (a list its rows leave empty).
    Absent,
    /// A page not written, and why.
    Left(String),
}

#[derive(Default)]
struct Outcome {
    pages: Vec<Page>,
    statics: usize,
    changed: usize,
    /// File → the URL (or static path) it was written for.
    files: HashMap<String, Vec<String>>,
    redirects: Vec<(String, String)>,
    warnings: Vec<String>,
    errors: Vec<String>,
}

impl Outcome {
    fn add(&mut self, done: Result<Done, String>) {
        match done {
            Ok(Done::Page {
                page,
                changed,
                redirect,
                warning,
            }) => {
                self.changed += usize::from(changed);
                self.files
                    .entry(page.file.clone())
                    .or_default()
                    .push(page.url.clone());
                if let Some(to) = redirect {
                    self.redirects.push((page.url.clone(), to));
                }
                self.warnings.extend(warning);
                self.pages.push(page);
            }
            Ok(Done::Static { file, changed }) => {
                self.changed += usize::from(changed);
                self.statics += 1;
                self.files.entry(file.clone()).or_default().push(file);
            }
            Ok(Done::Absent) => {}
            Ok(Done::Left(why)) => self.warnings.push(why),
            Err(e) => self.errors.push(e),
        }
    }

    /// Two URLs written to one file: the build cannot hold both.
    fn collisions(&mut self) {
        for (file, from) in &self.files {
            if from.len() > 1 {
                self.errors
                    .push(format!("{} would all be the file {file}", from.join(", ")));
            }
        }
    }
}

/// Ask the site for `url` and write its answer.
fn page(site: &Site, writer: &files::Writer, url: &str) -> Result<Done, String> {
    let req = Request::get(url);
    let mut resp = site.handle(&req);
    // A streamed answer (a CSV export) is read to its end, chunk by chunk, as a client would.
    if let Some(mut stream) = resp.stream.take() {
        while let Some(chunk) = site
            .next_chunk(&mut stream)
            .map_err(|e| format!("GET {url}: {e}"))?
        {
            resp.body.push_str(&chunk);
        }
    }
    let location = resp
        .headers
        .iter()
        .find(|(k, _)| *k == "Location")
        .map(|(_, v)| v.clone());
    let (body, redirect) = match (resp.status, location) {
        (200, _) => (resp.body, None),
        (301 | 302 | 303 | 307 | 308, Some(to)) => (redirect_page(&to), Some(to)),
        (404, _) => return Ok(Done::Absent),
        (status @ 500.., _) => return Err(format!("GET {url} answered {status}")),
        (status, _) => {
            return Ok(Done::Left(format!(
                "{url} answers {status}, which a static host cannot: not written"
            )))
        }
    };
    let content_type = if redirect.is_some() {
        "text/html"
    } else {
        resp.content_type.as_str()
    };
    let (file, warning) =
        files::file_for(&req.path, content_type).map_err(|e| format!("GET {url}: {e}"))?;
    let changed = writer
        .write(&file, body.as_bytes())
        .map_err(|e| format!("{file}: {e}"))?;
    let links = if content_type.starts_with("text/html") {
        links::links(&body)
    } else {
        Vec::new()
    };
    Ok(Done::Page {
        page: Page {
            url: url.to_string(),
            file,
            links,
        },
        changed,
        redirect,
        warning,
    })
}

/// A static host cannot answer with a redirect: a page that sends the browser on at once, and
/// tells search engines where the content lives.
pub fn redirect_page(location: &str) -> String {
    let to = html_escape(location);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Redirecting to {to}</title>\n<meta http-equiv=\"refresh\" content=\"0; url={to}\">\n\
         <link rel=\"canonical\" href=\"{to}\">\n<meta name=\"robots\" content=\"noindex\">\n\
         </head>\n<body>\n<p>This page has moved to <a href=\"{to}\">{to}</a>.</p>\n</body>\n</html>\n"
    )
}

/// `404.html`: the site's 404 page, as `serve` answers a path no route takes; `None` when a
/// route answers `/404.html`.
fn not_found_page(site: &Site, writer: &files::Writer) -> Result<Option<Done>, String> {
    let req = Request::get("/404.html");
    let resp = site.handle(&req);
    if resp.status != 404 {
        return Ok(None);
    }
    let changed = writer
        .write("404.html", resp.body.as_bytes())
        .map_err(|e| format!("404.html: {e}"))?;
    let links = links::links(&resp.body);
    Ok(Some(Done::Page {
        page: Page {
            url: escape_uri_path("/404.html"),
            file: "404.html".into(),
            links,
        },
        changed,
        redirect: None,
        warning: None,
    }))
}

/// Every link of every page leads to a file of the build.
fn check_links(site: &Site, o: &Outcome) -> Result<(), BuildError> {
    let files: HashSet<String> = o.files.keys().cloned().collect();
    let base = site.settings.base_url();
    let mut broken = Vec::new();
    for p in &o.pages {
        for link in &p.links {
            let why = match links::target(&p.url, link, base) {
                links::Target::Elsewhere => continue,
                links::Target::Here { query: Some(q), .. } => format!(
                    "a static host ignores the query string `?{q}` and answers the page without it"
                ),
                links::Target::Here { path, .. } if links::resolves(&files, &path) => continue,
                links::Target::Here { path, .. } => format!("no file of the build is at {path}"),
            };
            broken.push((p.url.clone(), link.clone(), why));
        }
    }
    if broken.is_empty() {
        return Ok(());
    }
    broken.sort();
    broken.dedup();
    Err(BuildError::Links(broken))
}
