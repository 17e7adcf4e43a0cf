//! `tests/sites/blog`: published posts newest first, ten a page (with `?q=` search), one post by pk
//! or slug, an author with their posts, the same as JSON, static files and a 404 page.
//!
//! Each worker thread has its own read-only SQLite connection with cached prepared statements.
//! The count of published posts is remembered per thread until `PRAGMA data_version` says
//! another connection committed (Trellis does the same).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use handlebars::Handlebars;
use rusqlite::{params, Connection, OpenFlags, Row};
use serde::Serialize;

use crate::markdown;
use crate::util::{decode_path, last, last_raw, long_date, page_url, query_pairs, truncate};
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

/// A worker thread's connection, and the count of published posts at a data version.
struct Db {
    conn: Connection,
    published: Option<(i64, i64)>,
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
            published: None,
        })
    }

    /// `SELECT count(*)` of published posts, taken again only when the database changed.
    fn published_count(&mut self) -> DbResult<i64> {
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if let Some((v, n)) = self.published {
            if v == version {
                return Ok(n);
            }
        }
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM post WHERE published = 1")?
            .query_row([], |r| r.get(0))?;
        self.published = Some((version, n));
        Ok(n)
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
                template!("404"),
                template!("500"),
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
    let api = rest.strip_prefix("api/posts/")?;
    if api.is_empty() {
        return Some(Route::ApiList);
    }
    int_segment(api).map(Route::ApiDetail)
}

pub async fn handle(req: HttpRequest, site: web::Data<Site>) -> HttpResponse {
    let path = match decode_path(req.path()) {
        Ok(p) => p,
        Err(why) => return bad_request(why),
    };
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
    let answer = match r {
        Route::Home => return redirect(StatusCode::FOUND, "/blog/"),
        Route::List => list(&site, qs),
        Route::Detail(pk) => detail(&site, qs, Lookup::Pk(pk)),
        Route::BySlug(slug) => detail(&site, qs, Lookup::Slug(slug)),
        Route::Author(slug) => author(&site, qs, slug),
        Route::ApiList => api_list(&site, qs),
        Route::ApiDetail(pk) => api_detail(&site, pk),
    };
    match answer {
        Ok(Answer::Page(res)) => res,
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
    let number = match raw.map(str::trim) {
        None | Some("") => 1,
        Some("last") => num_pages,
        Some(p) => p.strip_prefix('+').unwrap_or(p).parse::<i64>().ok()?,
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

/// A post as JSON, its columns in table order, the author embedded, then `pk`.
#[derive(Serialize)]
struct PostJson<S> {
    id: i64,
    title: S,
    slug: S,
    body: S,
    published: bool,
    created_at: S,
    author_id: i64,
    author: AuthorJson<S>,
    pk: i64,
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
        created_at: row.get(5)?,
        author_id: row.get(6)?,
        author: AuthorJson {
            id: row.get(7)?,
            name: row.get(8)?,
            slug: row.get(9)?,
            bio: row.get(10)?,
        },
        pk: id,
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
        created_at: text(5)?,
        author_id: row.get(6)?,
        author: AuthorJson {
            id: row.get(7)?,
            name: text(8)?,
            slug: text(9)?,
            bio: text(10)?,
        },
        pk: id,
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
                let post = post_json_ref(row)?;
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
        let results: Vec<PostJson<String>> = db
            .conn
            .prepare_cached(API_LIST_SQL)?
            .query_map(params![PER_PAGE, (number - 1) * PER_PAGE], post_json)?
            .collect::<DbResult<_>>()?;
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
