//! `tests/sites/blog`: published posts newest first, ten a page (with `?q=` search), one post by pk
//! or slug, an author with their posts, a tag's posts, a month of the archive, the Atom feed,
//! the same as JSON, static files and a 404 page.
//!
//! Each worker thread has its own read-only SQLite connection with cached prepared statements.
//! Counts (published posts, a tag's, a month's) are remembered per thread until `PRAGMA
//! data_version` says another connection committed (Trellis does the same).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use handlebars::Handlebars;
use rusqlite::{params, Connection, OpenFlags, Row};
use serde::Serialize;

use crate::markdown;
use crate::util::{
    decode_path, last, last_raw, long_date, month_year, page_url, query_pairs, truncate,
};
use crate::{append_slash, bad_request, redirect, respond, StaticFiles, HTML, JSON};

const PER_PAGE: i64 = 10;
/// Characters of a body shown in the list (Django's `truncatechars:160`).
const SUMMARY_CHARS: usize = 160;

pub struct Site {
    hb: Handlebars<'static>,
    files: StaticFiles,
    db: PathBuf,
}

macro_rules! template {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../templates/blog/", $name, ".hbs")),
        )
    };
}

type DbResult<T> = rusqlite::Result<T>;

/// A worker thread's connection, and the counts it took at a data version.
struct Db {
    conn: Connection,
    version: i64,
    counts: HashMap<String, i64>,
}

thread_local! {
    static DB: RefCell<Option<Db>> = const { RefCell::new(None) };
}

impl Db {
    fn open(path: &Path) -> DbResult<Db> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Db {
            conn,
            version: -1,
            counts: HashMap::new(),
        })
    }

    /// `sql` (a `SELECT count(*)` with `params`), remembered under `key` until the database
    /// changes.
    fn count(&mut self, key: &str, sql: &str, params: impl rusqlite::Params) -> DbResult<i64> {
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if version != self.version {
            self.counts.clear();
            self.version = version;
        } else if let Some(&n) = self.counts.get(key) {
            return Ok(n);
        }
        let n: i64 = self
            .conn
            .prepare_cached(sql)?
            .query_row(params, |r| r.get(0))?;
        self.counts.insert(key.to_string(), n);
        Ok(n)
    }

    /// `SELECT count(*)` of published posts, taken again only when the database changed.
    fn published_count(&mut self) -> DbResult<i64> {
        self.count(
            "published",
            "SELECT count(*) FROM post WHERE published = 1",
            [],
        )
    }
}

/// Run `f` with this thread's connection, opened on first use.
fn with_db<T>(path: &Path, f: impl FnOnce(&mut Db) -> DbResult<T>) -> DbResult<T> {
    DB.with_borrow_mut(|slot| {
        let db = match slot {
            Some(db) => db,
            None => slot.insert(Db::open(path)?),
        };
        f(db)
    })
}

/// What a view answers: a page, or a 404 (rendered by the handler).
enum Answer {
    Page(HttpResponse),
    NotFound,
}

impl Site {
    pub fn load(dir: &Path) -> std::io::Result<Site> {
        let db = dir.join("blog.sqlite3");
        if !db.is_file() {
            return Err(std::io::Error::other(format!(
                "no database at {}",
                db.display()
            )));
        }
        Ok(Site {
            hb: crate::templates(&[
                template!("layouts/base"),
                template!("list"),
                template!("detail"),
                template!("author"),
                template!("by-tag"),
                template!("month"),
                template!("partials/post-summary"),
                template!("partials/pagination"),
                template!("404"),
                template!("500"),
                template!("form"),
            ]),
            files: StaticFiles::load(&dir.join("static"))?,
            db,
        })
    }

    fn page<T: Serialize>(&self, name: &str, ctx: &T) -> Answer {
        Answer::Page(match self.hb.render(name, ctx) {
            Ok(body) => respond(StatusCode::OK, HTML, body),
            Err(e) => self.server_error(&format!("rendering {name}: {e}")),
        })
    }

    fn server_error(&self, detail: &str) -> HttpResponse {
        eprintln!("Internal Server Error: {detail}");
        let body = self.hb.render("500", &()).unwrap_or_default();
        respond(StatusCode::INTERNAL_SERVER_ERROR, HTML, body)
    }

    fn not_found(&self, path: &str) -> HttpResponse {
        #[derive(Serialize)]
        struct Ctx<'a> {
            path: &'a str,
        }
        match self.hb.render("404", &Ctx { path }) {
            Ok(body) => respond(StatusCode::NOT_FOUND, HTML, body),
            Err(e) => self.server_error(&format!("rendering 404: {e}")),
        }
    }
}

/// The routes, in Trellis's order.
enum Route<'a> {
    Home,
    List,
    Detail(i64),
    BySlug(&'a str),
    Author(&'a str),
    TagPosts(&'a str),
    ArchiveMonth(i64, u32),
    Feed,
    ApiList,
    ApiDetail(i64),
}

/// `<int:pk>/`: digits, as an i64 (a number too large for one matches nothing).
fn int_segment(s: &str) -> Option<i64> {
    let digits = s.strip_suffix('/')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `<slug:slug>/`: `[-a-zA-Z0-9_]+`.
fn slug_segment(s: &str) -> Option<&str> {
    let slug = s.strip_suffix('/')?;
    let ok = !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(slug)
}

/// `<year:year>/<month:month>/`: `[0-9]{4}` and `1[0-2]|[1-9]`, as numbers.
fn year_month(s: &str) -> Option<(i64, u32)> {
    let (year, rest) = s.split_once('/')?;
    let month = rest.strip_suffix('/')?;
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || !digits(year) || month.is_empty() || month.len() > 2 || !digits(month) {
        return None;
    }
    let m: u32 = month.parse().ok()?;
    // `1[0-2]|[1-9]`: no leading zero, 1 to 12.
    ((1..=12).contains(&m) && !month.starts_with('0')).then_some((year.parse().ok()?, m))
}

fn route(path: &str) -> Option<Route<'_>> {
    if path == "/" {
        return Some(Route::Home);
    }
    let rest = path.strip_prefix("/blog/")?;
    if rest.is_empty() {
        return Some(Route::List);
    }
    if let Some(pk) = int_segment(rest) {
        return Some(Route::Detail(pk));
    }
    if let Some(slug) = rest.strip_prefix("post/").and_then(slug_segment) {
        return Some(Route::BySlug(slug));
    }
    if let Some(slug) = rest.strip_prefix("author/").and_then(slug_segment) {
        return Some(Route::Author(slug));
    }
    if let Some(slug) = rest.strip_prefix("tag/").and_then(slug_segment) {
        return Some(Route::TagPosts(slug));
    }
    if let Some((year, month)) = rest.strip_prefix("archive/").and_then(year_month) {
        return Some(Route::ArchiveMonth(year, month));
    }
    if rest == "feed/" {
        return Some(Route::Feed);
    }
    let api = rest.strip_prefix("api/posts/")?;
    if api.is_empty() {
        return Some(Route::ApiList);
    }
    int_segment(api).map(Route::ApiDetail)
}

pub async fn handle(req: HttpRequest, body: web::Bytes, site: web::Data<Site>) -> HttpResponse {
    let path = match decode_path(req.path()) {
        Ok(p) => p,
        Err(why) => return bad_request(why),
    };
    if path == "/blog/posts/new/" {
        return crate::write::create(&req, &body, &site.db, &site.hb);
    }
    if let Some(pk) = path
        .strip_prefix("/blog/posts/")
        .and_then(|rest| rest.strip_suffix("edit/"))
        .and_then(int_segment)
    {
        return crate::write::edit(&req, &site.db, &site.hb, pk)
            .unwrap_or_else(|| site.not_found(&path));
    }
    if let Some(rest) = path.strip_prefix("/static/") {
        return site
            .files
            .serve(&req, rest)
            .unwrap_or_else(|| site.not_found(&path));
    }
    let Some(r) = route(&path) else {
        if crate::get_like(&req) && !path.ends_with('/') && route(&format!("{path}/")).is_some() {
            return append_slash(&req, &path);
        }
        return site.not_found(&path);
    };
    let qs = req.query_string();
    let api = matches!(r, Route::ApiList | Route::ApiDetail(_));
    let answer = match r {
        Route::Home => return redirect(StatusCode::FOUND, "/blog/"),
        Route::List => list(&site, qs),
        Route::Detail(pk) => detail(&site, qs, Lookup::Pk(pk)),
        Route::BySlug(slug) => detail(&site, qs, Lookup::Slug(slug)),
        Route::Author(slug) => author(&site, qs, slug),
        Route::TagPosts(slug) => tag_posts(&site, qs, slug),
        Route::ArchiveMonth(year, month) => archive_month(&site, qs, year, month),
        Route::Feed => feed(&site, &req, &path),
        Route::ApiList => api_list(&site, qs),
        Route::ApiDetail(pk) => api_detail(&site, pk),
    };
    match answer {
        Ok(Answer::Page(res)) => res,
        // A JSON route's 404 is JSON.
        Ok(Answer::NotFound) if api => respond(
            StatusCode::NOT_FOUND,
            JSON,
            "{\n  \"detail\": \"Not found.\"\n}",
        ),
        Ok(Answer::NotFound) => site.not_found(&path),
        Err(e) => site.server_error(&format!("{path}: {e}")),
    }
}

/// A page's number and the page count, from `?page=` (a number, `last`, or nothing), or `None`
/// for a 404 (not a number, or out of range), as Django's Paginator with `allow_empty`.
fn page_number(raw: Option<&str>, count: i64) -> Option<(i64, i64)> {
    let num_pages = if count == 0 {
        1
    } else {
        (count + PER_PAGE - 1) / PER_PAGE
    };
    // Exactly `last` (Django compares before trimming); the numbers the benchmark asks for are
    // ASCII, so Rust's parse reads them as Python's `int()` does.
    if raw == Some("last") {
        return Some((num_pages, num_pages));
    }
    let number = match raw {
        None | Some("") => 1,
        Some(p) => p.trim().parse::<i64>().ok()?,
    };
    (1..=num_pages)
        .contains(&number)
        .then_some((number, num_pages))
}

#[derive(Serialize)]
struct PageCtx {
    number: i64,
    num_pages: i64,
    count: i64,
    start_index: i64,
    end_index: i64,
    has_previous: bool,
    has_next: bool,
    previous_url: Option<String>,
    next_url: Option<String>,
}

impl PageCtx {
    fn new(
        path: &str,
        pairs: &[(String, String)],
        number: i64,
        num_pages: i64,
        count: i64,
    ) -> Self {
        let has_previous = number > 1;
        let has_next = number < num_pages;
        PageCtx {
            number,
            num_pages,
            count,
            start_index: if count == 0 {
                0
            } else {
                (number - 1) * PER_PAGE + 1
            },
            end_index: if number == num_pages {
                count
            } else {
                number * PER_PAGE
            },
            has_previous,
            has_next,
            previous_url: has_previous.then(|| page_url(path, pairs, number - 1)),
            next_url: has_next.then(|| page_url(path, pairs, number + 1)),
        }
    }
}

/// A post in the list.
#[derive(Serialize)]
struct Summary {
    id: i64,
    title: String,
    created_at: String,
    created_on: String,
    author_name: String,
    author_slug: String,
    summary: String,
}

/// The page's ids are read from the covering index (published, created_at DESC, id DESC),
/// then only those ten rows are read and joined with their authors ("deferred join"), so a
/// deep OFFSET skips index entries, not rows. The body is cut to 161 characters in SQLite:
/// enough to know whether `truncatechars:160` cuts it.
const LIST_SQL: &str = "SELECT p.id, p.title, p.created_at, substr(p.body, 1, 161), a.name, a.slug
FROM (SELECT id FROM post WHERE published = 1 ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2) AS page
JOIN post AS p ON p.id = page.id
JOIN author AS a ON a.id = p.author_id
ORDER BY p.created_at DESC, p.id DESC";

/// The same with `?q=`: the term in the title or the body, case-insensitively (LIKE, its
/// wildcards escaped), as Trellis's `search:`.
const SEARCH_SQL: &str = "SELECT p.id, p.title, p.created_at, substr(p.body, 1, 161), a.name, a.slug
FROM (SELECT id FROM post WHERE published = 1 AND (title LIKE ?3 ESCAPE '\\' OR body LIKE ?3 ESCAPE '\\')
      ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2) AS page
JOIN post AS p ON p.id = page.id
JOIN author AS a ON a.id = p.author_id
ORDER BY p.created_at DESC, p.id DESC";

const SEARCH_COUNT_SQL: &str = "SELECT count(*) FROM post
WHERE published = 1 AND (title LIKE ?1 ESCAPE '\\' OR body LIKE ?1 ESCAPE '\\')";

/// `%term%` with LIKE's wildcards escaped.
fn like_pattern(term: &str) -> String {
    let mut s = String::with_capacity(term.len() + 2);
    s.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

fn summary(row: &Row) -> DbResult<Summary> {
    let created_at: String = row.get(2)?;
    let body = row.get_ref(3)?.as_str()?;
    Ok(Summary {
        id: row.get(0)?,
        title: row.get(1)?,
        created_on: long_date(&created_at),
        created_at,
        summary: truncate(body, SUMMARY_CHARS),
        author_name: row.get(4)?,
        author_slug: row.get(5)?,
    })
}

fn list(site: &Site, qs: &str) -> DbResult<Answer> {
    #[derive(Serialize)]
    struct Ctx<'a> {
        q: &'a str,
        page_title: &'a str,
        plural: &'a str,
        objects: Vec<Summary>,
        page: PageCtx,
    }
    let pairs = query_pairs(qs);
    let q = last(&pairs, "q").unwrap_or("");
    let term = q.trim();
    let pattern = (!term.is_empty()).then(|| like_pattern(term));
    with_db(&site.db, |db| {
        let count = match &pattern {
            // No stored text holds a NUL, and SQLite would cut the pattern at it.
            Some(_) if term.contains('\0') => 0,
            Some(p) => db
                .conn
                .prepare_cached(SEARCH_COUNT_SQL)?
                .query_row([p], |r| r.get(0))?,
            None => db.published_count()?,
        };
        let Some((number, num_pages)) = page_number(last(&pairs, "page"), count) else {
            return Ok(Answer::NotFound);
        };
        let offset = (number - 1) * PER_PAGE;
        let objects = match &pattern {
            _ if count == 0 => Vec::new(),
            Some(p) => db
                .conn
                .prepare_cached(SEARCH_SQL)?
                .query_map(params![PER_PAGE, offset, p], summary)?
                .collect::<DbResult<_>>()?,
            None => db
                .conn
                .prepare_cached(LIST_SQL)?
                .query_map(params![PER_PAGE, offset], summary)?
                .collect::<DbResult<_>>()?,
        };
        if objects.is_empty() && number > 1 {
            return Ok(Answer::NotFound);
        }
        let ctx = Ctx {
            q,
            page_title: if q.is_empty() { "Posts" } else { q },
            plural: if count == 1 { "" } else { "s" },
            objects,
            page: PageCtx::new("/blog/", &pairs, number, num_pages, count),
        };
        Ok(site.page("list", &ctx))
    })
}

enum Lookup<'a> {
    Pk(i64),
    Slug(&'a str),
}

const DETAIL_BY_PK: &str = "SELECT p.id, p.title, p.slug, p.body, p.created_at, a.name, a.slug
FROM post AS p JOIN author AS a ON a.id = p.author_id
WHERE p.id = ?1 AND p.published = 1";

const DETAIL_BY_SLUG: &str = "SELECT p.id, p.title, p.slug, p.body, p.created_at, a.name, a.slug
FROM post AS p JOIN author AS a ON a.id = p.author_id
WHERE p.slug = ?1 AND p.published = 1";

fn detail(site: &Site, qs: &str, lookup: Lookup) -> DbResult<Answer> {
    #[derive(Serialize)]
    struct Ctx<'a> {
        q: &'a str,
        id: i64,
        title: &'a str,
        slug: &'a str,
        created_at: &'a str,
        created_on: String,
        author_name: &'a str,
        author_slug: &'a str,
        body_html: &'a str,
    }
    let q = last_raw(qs, "q");
    with_db(&site.db, |db| {
        let render = |row: &Row| -> DbResult<Answer> {
            let created_at = row.get_ref(4)?.as_str()?;
            let html = markdown::to_html_cached(row.get_ref(3)?.as_str()?);
            let ctx = Ctx {
                q: q.as_deref().unwrap_or(""),
                id: row.get(0)?,
                title: row.get_ref(1)?.as_str()?,
                slug: row.get_ref(2)?.as_str()?,
                created_at,
                created_on: long_date(created_at),
                author_name: row.get_ref(5)?.as_str()?,
                author_slug: row.get_ref(6)?.as_str()?,
                body_html: &html,
            };
            Ok(site.page("detail", &ctx))
        };
        let found = match lookup {
            Lookup::Pk(pk) => db
                .conn
                .prepare_cached(DETAIL_BY_PK)?
                .query_row([pk], render),
            Lookup::Slug(slug) => db
                .conn
                .prepare_cached(DETAIL_BY_SLUG)?
                .query_row([slug], render),
        };
        match found {
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(Answer::NotFound),
            other => other,
        }
    })
}

fn author(site: &Site, qs: &str, slug: &str) -> DbResult<Answer> {
    #[derive(Serialize)]
    struct Link {
        id: i64,
        title: String,
        created_at: String,
        created_on: String,
    }
    #[derive(Serialize)]
    struct Ctx<'a> {
        q: &'a str,
        name: String,
        bio: String,
        count: usize,
        plural: &'a str,
        posts: Vec<Link>,
    }
    let q = last_raw(qs, "q");
    with_db(&site.db, |db| {
        let found = db
            .conn
            .prepare_cached("SELECT id, name, bio FROM author WHERE slug = ?1")?
            .query_row([slug], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)));
        let (id, name, bio) = match found {
            Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(Answer::NotFound),
            other => other?,
        };
        let posts: Vec<Link> = db
            .conn
            .prepare_cached(
                "SELECT id, title, created_at FROM post WHERE author_id = ?1 AND published = 1
                 ORDER BY created_at DESC, id DESC LIMIT 100",
            )?
            .query_map([id], |r| {
                let created_at: String = r.get(2)?;
                Ok(Link {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    created_on: long_date(&created_at),
                    created_at,
                })
            })?
            .collect::<DbResult<_>>()?;
        let ctx = Ctx {
            q: q.as_deref().unwrap_or(""),
            name,
            bio,
            count: posts.len(),
            plural: if posts.len() == 1 { "" } else { "s" },
            posts,
        };
        Ok(site.page("author", &ctx))
    })
}

/// A post as JSON, its columns in table order, the author embedded, its tags; `created_at` as
/// Django's `DjangoJSONEncoder` writes a UTC datetime.
#[derive(Serialize)]
struct PostJson<S> {
    id: i64,
    title: S,
    slug: S,
    body: S,
    published: bool,
    created_at: String,
    author_id: i64,
    author: AuthorJson<S>,
    tags: Vec<TagJson>,
}

/// A stored datetime (`2024-01-03T10:14:00.123456`, UTC) as Django's `DjangoJSONEncoder`
/// writes it: the fraction cut to milliseconds, none when it has no microseconds, then `Z`.
fn django_datetime(stored: &str) -> String {
    let (base, fraction) = stored.split_once('.').unwrap_or((stored, ""));
    let micros: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    if micros == "000000" {
        format!("{base}Z")
    } else {
        format!("{base}.{}Z", &micros[..3])
    }
}

#[derive(Serialize)]
struct TagJson {
    id: i64,
    name: String,
    slug: String,
    about: String,
}

/// The tags of the posts `ids` as JSON, by post, each post's by name (then id): one query.
fn tags_json(conn: &Connection, ids: &[i64]) -> DbResult<HashMap<i64, Vec<TagJson>>> {
    let mut out: HashMap<i64, Vec<TagJson>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT pt.post_id, t.id, t.name, t.slug, t.about
         FROM post_tags AS pt JOIN tag AS t ON t.id = pt.tag_id
         WHERE pt.post_id IN ({}) ORDER BY t.name, t.id",
        marks(ids.len())
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(ids))?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(TagJson {
            id: r.get(1)?,
            name: r.get(2)?,
            slug: r.get(3)?,
            about: r.get(4)?,
        });
    }
    Ok(out)
}

#[derive(Serialize)]
struct AuthorJson<S> {
    id: i64,
    name: S,
    slug: S,
    bio: S,
}

/// The columns `post_json` reads, with the post as `p` and its author as `a`.
macro_rules! json_columns {
    () => {
        "p.id, p.title, p.slug, p.body, p.published, p.created_at, p.author_id,
         a.id, a.name, a.slug, a.bio"
    };
}

const API_DETAIL_SQL: &str = concat!(
    "SELECT ",
    json_columns!(),
    " FROM post AS p JOIN author AS a ON a.id = p.author_id
     WHERE p.id = ?1 AND p.published = 1"
);

const API_LIST_SQL: &str = concat!(
    "SELECT ",
    json_columns!(),
    " FROM (SELECT id FROM post WHERE published = 1
           ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2) AS page
     JOIN post AS p ON p.id = page.id
     JOIN author AS a ON a.id = p.author_id
     ORDER BY p.created_at DESC, p.id DESC"
);

fn post_json<S: rusqlite::types::FromSql>(row: &Row) -> DbResult<PostJson<S>> {
    let id = row.get(0)?;
    Ok(PostJson {
        id,
        title: row.get(1)?,
        slug: row.get(2)?,
        body: row.get(3)?,
        published: row.get::<_, i64>(4)? != 0,
        created_at: django_datetime(&row.get::<_, String>(5)?),
        author_id: row.get(6)?,
        author: AuthorJson {
            id: row.get(7)?,
            name: row.get(8)?,
            slug: row.get(9)?,
            bio: row.get(10)?,
        },
        tags: Vec::new(),
    })
}

/// A borrowed post as JSON, straight from the row.
fn post_json_ref<'r>(row: &'r Row) -> DbResult<PostJson<&'r str>> {
    let text = |i: usize| -> DbResult<&'r str> { Ok(row.get_ref(i)?.as_str()?) };
    let id = row.get(0)?;
    Ok(PostJson {
        id,
        title: text(1)?,
        slug: text(2)?,
        body: text(3)?,
        published: row.get::<_, i64>(4)? != 0,
        created_at: django_datetime(text(5)?),
        author_id: row.get(6)?,
        author: AuthorJson {
            id: row.get(7)?,
            name: text(8)?,
            slug: text(9)?,
            bio: text(10)?,
        },
        tags: Vec::new(),
    })
}

fn json(body: Vec<u8>) -> Answer {
    Answer::Page(respond(StatusCode::OK, JSON, body))
}

fn api_detail(site: &Site, pk: i64) -> DbResult<Answer> {
    with_db(&site.db, |db| {
        let found = db
            .conn
            .prepare_cached(API_DETAIL_SQL)?
            .query_row([pk], |row| {
                let mut post = post_json_ref(row)?;
                post.tags = tags_json(&db.conn, &[pk])?.remove(&pk).unwrap_or_default();
                Ok(serde_json::to_vec_pretty(&post).unwrap_or_default())
            });
        match found {
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(Answer::NotFound),
            other => other.map(json),
        }
    })
}

fn api_list(site: &Site, qs: &str) -> DbResult<Answer> {
    #[derive(Serialize)]
    struct Body {
        results: Vec<PostJson<String>>,
        count: i64,
        num_pages: i64,
        page: i64,
        next: Option<String>,
        previous: Option<String>,
    }
    let pairs = query_pairs(qs);
    with_db(&site.db, |db| {
        let count = db.published_count()?;
        let Some((number, num_pages)) = page_number(last(&pairs, "page"), count) else {
            return Ok(Answer::NotFound);
        };
        let mut results: Vec<PostJson<String>> = db
            .conn
            .prepare_cached(API_LIST_SQL)?
            .query_map(params![PER_PAGE, (number - 1) * PER_PAGE], post_json)?
            .collect::<DbResult<_>>()?;
        let ids: Vec<i64> = results.iter().map(|p| p.id).collect();
        let mut tags = tags_json(&db.conn, &ids)?;
        for post in &mut results {
            post.tags = tags.remove(&post.id).unwrap_or_default();
        }
        if results.is_empty() && number > 1 {
            return Ok(Answer::NotFound);
        }
        let page = PageCtx::new("/blog/api/posts/", &pairs, number, num_pages, count);
        let body = Body {
            results,
            count,
            num_pages,
            page: number,
            next: page.next_url,
            previous: page.previous_url,
        };
        Ok(json(serde_json::to_vec_pretty(&body).unwrap_or_default()))
    })
}

/// A tag on a post in a summary: what the link shows.
#[derive(Serialize)]
struct TagLink {
    name: String,
    slug: String,
}

/// A post in a tag's or a month's list: its summary and its tags.
#[derive(Serialize)]
struct TaggedSummary {
    #[serde(skip)]
    id: i64,
    slug: String,
    title: String,
    created_at: String,
    created_on: String,
    author_name: String,
    author_slug: String,
    summary: String,
    tags: Vec<TagLink>,
}

fn tagged_summary(row: &Row) -> DbResult<TaggedSummary> {
    let created_at: String = row.get(3)?;
    let body = row.get_ref(4)?.as_str()?;
    Ok(TaggedSummary {
        id: row.get(0)?,
        slug: row.get(1)?,
        title: row.get(2)?,
        created_on: long_date(&created_at),
        created_at,
        summary: truncate(body, SUMMARY_CHARS),
        author_name: row.get(5)?,
        author_slug: row.get(6)?,
        tags: Vec::new(),
    })
}

/// `?, ?, …`: `n` parameters for an `IN (…)`.
fn marks(n: usize) -> String {
    let mut s = "?, ".repeat(n);
    s.truncate(s.len().saturating_sub(2));
    s
}

/// The tags of a page of posts, in one query: each post's tags by name (then id), as the
/// Tag model's ordering.
fn attach_tags(conn: &Connection, posts: &mut [TaggedSummary]) -> DbResult<()> {
    if posts.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT pt.post_id, t.name, t.slug FROM post_tags AS pt JOIN tag AS t ON t.id = pt.tag_id
         WHERE pt.post_id IN ({}) ORDER BY t.name, t.id",
        marks(posts.len())
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(posts.iter().map(|p| p.id)))?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if let Some(p) = posts.iter_mut().find(|p| p.id == id) {
            p.tags.push(TagLink {
                name: r.get(1)?,
                slug: r.get(2)?,
            });
        }
    }
    Ok(())
}

/// What a tag's and a month's pages share: the page asked for (a 404 when there is none, or
/// no post at all: `allow_empty: false`), its posts with their tags.
fn post_page(
    db: &mut Db,
    pairs: &[(String, String)],
    count: i64,
    sql: &str,
    params: impl Fn(i64, i64) -> Vec<rusqlite::types::Value>,
) -> DbResult<Option<(Vec<TaggedSummary>, i64, i64)>> {
    if count == 0 {
        return Ok(None);
    }
    let Some((number, num_pages)) = page_number(last(pairs, "page"), count) else {
        return Ok(None);
    };
    let mut objects: Vec<TaggedSummary> = db
        .conn
        .prepare_cached(sql)?
        .query_map(
            rusqlite::params_from_iter(params(PER_PAGE, (number - 1) * PER_PAGE)),
            tagged_summary,
        )?
        .collect::<DbResult<_>>()?;
    if objects.is_empty() {
        return Ok(None);
    }
    attach_tags(&db.conn, &mut objects)?;
    Ok(Some((objects, number, num_pages)))
}

/// A tag's published posts: the ids from the join table's `(tag_id)` index joined to the
/// posts, newest first, then only those ten rows read.
const TAG_POSTS_SQL: &str =
    "SELECT p.id, p.slug, p.title, p.created_at, substr(p.body, 1, 161), a.name, a.slug
FROM (SELECT p.id FROM post_tags AS pt JOIN post AS p ON p.id = pt.post_id
      WHERE pt.tag_id = ?1 AND p.published = 1
      ORDER BY p.created_at DESC, p.id DESC LIMIT ?2 OFFSET ?3) AS page
JOIN post AS p ON p.id = page.id
JOIN author AS a ON a.id = p.author_id
ORDER BY p.created_at DESC, p.id DESC";

const TAG_COUNT_SQL: &str =
    "SELECT count(*) FROM post_tags AS pt JOIN post AS p ON p.id = pt.post_id
WHERE pt.tag_id = ?1 AND p.published = 1";

fn tag_posts(site: &Site, qs: &str, slug: &str) -> DbResult<Answer> {
    #[derive(Serialize)]
    struct Ctx<'a> {
        q: &'a str,
        tag_slug: &'a str,
        tag_name: String,
        objects: Vec<TaggedSummary>,
        page: PageCtx,
    }
    let pairs = query_pairs(qs);
    with_db(&site.db, |db| {
        let found = db
            .conn
            .prepare_cached("SELECT id, name FROM tag WHERE slug = ?1")?
            .query_row([slug], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            });
        let (tag_id, tag_name) = match found {
            Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(Answer::NotFound),
            other => other?,
        };
        let count = db.count(&format!("tag {tag_id}"), TAG_COUNT_SQL, [tag_id])?;
        let page = post_page(db, &pairs, count, TAG_POSTS_SQL, |limit, offset| {
            vec![tag_id.into(), limit.into(), offset.into()]
        })?;
        let Some((objects, number, num_pages)) = page else {
            return Ok(Answer::NotFound);
        };
        let path = format!("/blog/tag/{slug}/");
        let ctx = Ctx {
            q: last(&pairs, "q").unwrap_or(""),
            tag_slug: slug,
            tag_name,
            objects,
            page: PageCtx::new(&path, &pairs, number, num_pages, count),
        };
        Ok(site.page("by-tag", &ctx))
    })
}

/// A month's published posts: a range of `created_at` on the index (published, created_at
/// DESC, id DESC), as Trellis turns `created_at__year` and `created_at__month` into one.
const MONTH_POSTS_SQL: &str =
    "SELECT p.id, p.slug, p.title, p.created_at, substr(p.body, 1, 161), a.name, a.slug
FROM (SELECT id FROM post WHERE published = 1 AND created_at >= ?1 AND created_at < ?2
      ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4) AS page
JOIN post AS p ON p.id = page.id
JOIN author AS a ON a.id = p.author_id
ORDER BY p.created_at DESC, p.id DESC";

const MONTH_COUNT_SQL: &str =
    "SELECT count(*) FROM post WHERE published = 1 AND created_at >= ?1 AND created_at < ?2";

fn archive_month(site: &Site, qs: &str, year: i64, month: u32) -> DbResult<Answer> {
    #[derive(Serialize)]
    struct Ctx<'a> {
        q: &'a str,
        year: i64,
        month_title: String,
        objects: Vec<TaggedSummary>,
        page: PageCtx,
    }
    let pairs = query_pairs(qs);
    let from = format!("{year:04}-{month:02}-01");
    let to = if month == 12 {
        format!("{:04}-01-01", year + 1)
    } else {
        format!("{year:04}-{:02}-01", month + 1)
    };
    with_db(&site.db, |db| {
        let count = db.count(&format!("month {from}"), MONTH_COUNT_SQL, [&from, &to])?;
        let page = post_page(db, &pairs, count, MONTH_POSTS_SQL, |limit, offset| {
            vec![
                from.clone().into(),
                to.clone().into(),
                limit.into(),
                offset.into(),
            ]
        })?;
        let Some((objects, number, num_pages)) = page else {
            return Ok(Answer::NotFound);
        };
        let path = format!("/blog/archive/{year}/{month}/");
        let ctx = Ctx {
            q: last(&pairs, "q").unwrap_or(""),
            year,
            month_title: month_year(&objects[0].created_at),
            objects,
            page: PageCtx::new(&path, &pairs, number, num_pages, count),
        };
        Ok(site.page("month", &ctx))
    })
}

/// The newest twenty published posts, with their authors' names and bodies.
const FEED_SQL: &str = "SELECT p.title, p.slug, p.created_at, p.body, a.name
FROM post AS p JOIN author AS a ON a.id = p.author_id
WHERE p.published = 1 ORDER BY p.created_at DESC, p.id DESC LIMIT 20";

fn feed(site: &Site, req: &HttpRequest, path: &str) -> DbResult<Answer> {
    let entries: Vec<crate::feed::Entry> = with_db(&site.db, |db| {
        db.conn
            .prepare_cached(FEED_SQL)?
            .query_map([], |r| {
                Ok(crate::feed::Entry {
                    title: r.get(0)?,
                    slug: r.get(1)?,
                    created_at: r.get(2)?,
                    html: markdown::to_html_cached(r.get_ref(3)?.as_str()?),
                    author: r.get(4)?,
                })
            })?
            .collect()
    })?;
    Ok(Answer::Page(crate::feed::respond(req, path, &entries)))
}
