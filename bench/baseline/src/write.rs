//! The blog's create form, `POST /blog/posts/new/`, written by hand as Trellis's `view: create`
//! does it (`bench/writes.py` adds the same route to Trellis's copy of the site): Django's CSRF
//! check (an `Origin` of another host refused, the `csrftoken` cookie, the
//! `csrfmiddlewaretoken` field, a 32-character secret or a 64-character masked token, compared
//! in constant time), each field read and checked by the model's rules (title: at most 200
//! characters; slug: letters, digits, `-`, `_`; body: required; published: a checkbox; author:
//! a whole number naming an author), then one `BEGIN IMMEDIATE` transaction — the author checked
//! to exist, the row inserted with `created_at` now, read back — and the 303 to the new post's
//! page only after COMMIT. A refused field (each field's message, as Trellis words it) or a
//! taken slug is a 400 that shows the form again with the values as posted and each message
//! under its field.
//!
//! The form page itself, `GET /blog/posts/new/` and `GET /blog/posts/<pk>/edit/` (the update
//! form's page: its row read by pk, a 404 without it; its POST is not written here): the
//! built-in page Trellis renders for `view: create` and `update` without `template:`, written
//! as `templates/blog/form.hbs` for these five fields, with the authors as the select's
//! options (by key, as Trellis lists them) and a CSRF field masked afresh on every render (two
//! renders never match byte for byte; compare them with the token normalised).
//!
//! Each worker thread keeps its own read-write connection with Trellis's settings (WAL,
//! `synchronous` as `BASELINE_SYNCHRONOUS` says, NORMAL by default, foreign keys on, a 5 s busy
//! timeout) and cached statements.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use handlebars::Handlebars;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::util::{last, query_pairs};
use crate::{redirect, respond, HTML};

const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_LENGTH: usize = 32;

thread_local! {
    static WRITER: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let sync = std::env::var("BASELINE_SYNCHRONOUS").unwrap_or_else(|_| "NORMAL".into());
    let sync = if sync.eq_ignore_ascii_case("FULL") {
        "FULL"
    } else {
        "NORMAL"
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"
    ))?;
    Ok(conn)
}

fn index(c: u8) -> Option<usize> {
    CHARS.iter().position(|&x| x == c)
}

/// A cookie's or a form's token as its secret: 32 characters as they are, 64 unmasked.
fn secret_of(token: &str) -> Option<Vec<u8>> {
    let ok = (token.len() == SECRET_LENGTH || token.len() == 2 * SECRET_LENGTH)
        && token.bytes().all(|b| index(b).is_some());
    if !ok {
        return None;
    }
    if token.len() == SECRET_LENGTH {
        return Some(token.as_bytes().to_vec());
    }
    let (mask, cipher) = token.as_bytes().split_at(SECRET_LENGTH);
    Some(
        cipher
            .iter()
            .zip(mask)
            .map(|(&c, &m)| {
                let (c, m) = (index(c).unwrap_or(0), index(m).unwrap_or(0));
                CHARS[(c + CHARS.len() - m) % CHARS.len()]
            })
            .collect(),
    )
}

/// `n` random characters of `CHARS` from the operating system's generator (bytes past the
/// last whole multiple of 62 drawn again), as Trellis makes its keys and masks.
pub fn random_string(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::fill(&mut buf).expect("the operating system's random generator failed");
        for &b in &buf {
            if out.len() == n {
                break;
            }
            if usize::from(b) < 256 - 256 % CHARS.len() {
                out.push(CHARS[usize::from(b) % CHARS.len()] as char);
            }
        }
    }
    out
}

/// The request's CSRF secret (its cookie's, or a new one) and a token for a page's form: the
/// secret masked with a fresh random mask (Django's `_mask_cipher_secret`).
pub fn token(req: &HttpRequest) -> (String, String) {
    let secret = cookie(req, "csrftoken")
        .and_then(secret_of)
        .map(|s| String::from_utf8_lossy(&s).into_owned())
        .unwrap_or_else(|| random_string(SECRET_LENGTH));
    let mask = random_string(SECRET_LENGTH);
    let cipher: String = secret
        .bytes()
        .zip(mask.bytes())
        .map(|(s, m)| CHARS[(index(s).unwrap_or(0) + index(m).unwrap_or(0)) % CHARS.len()] as char)
        .collect();
    (secret, format!("{mask}{cipher}"))
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn forbidden(reason: &str, path: &str) -> HttpResponse {
    eprintln!("Forbidden ({reason}): {path}");
    // Trellis's built-in 403 page (neither site has its own).
    respond(
        StatusCode::FORBIDDEN,
        HTML,
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Forbidden (403)</title>\n</head>\n<body>\n  <h1>Forbidden (403)</h1><p>The request was refused: {}</p><p>A form must be sent from a page of this site, with the cookies it set (reload the form and send it again).</p>\n</body>\n</html>\n",
            handlebars::html_escape(reason)
        ),
    )
}

/// Django's CSRF check for a plain-HTTP request; `Err` is the 403 reason.
pub fn csrf(req: &HttpRequest, form: &[(String, String)]) -> Result<(), &'static str> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let host = req.connection_info().host().to_string();
        let ok = origin
            .to_str()
            .is_ok_and(|o| o.eq_ignore_ascii_case(&format!("http://{host}")));
        if !ok {
            return Err("Origin checking failed.");
        }
    }
    let secret = cookie(req, "csrftoken").ok_or("CSRF cookie not set.")?;
    let secret =
        secret_of(secret).ok_or("CSRF cookie has incorrect length or invalid characters.")?;
    let given = last(form, "csrfmiddlewaretoken").ok_or("CSRF token missing.")?;
    let given = secret_of(given).ok_or("CSRF token from POST has incorrect length.")?;
    if !same(&given, &secret) {
        return Err("CSRF token from POST incorrect.");
    }
    Ok(())
}

/// A field's message, by field name.
type Errors = HashMap<&'static str, String>;

/// The posted fields, checked by the model's rules as Trellis reads them (every field, so
/// that each refused one gets its message): title, slug, body, published, author.
fn fields(form: &[(String, String)]) -> Result<(String, String, String, bool, i64), Errors> {
    let mut errors = Errors::new();
    let mut required = |name: &'static str| match last(form, name) {
        Some(v) if !v.trim().is_empty() => Some(v.to_string()),
        _ => {
            errors.insert(name, "this field is required".into());
            None
        }
    };
    let (title, slug, body, author) = (
        required("title"),
        required("slug"),
        required("body"),
        required("author"),
    );
    if let Some(n) = title
        .as_ref()
        .map(|t| t.chars().count())
        .filter(|&n| n > 200)
    {
        errors.insert("title", format!("at most 200 characters, got {n}"));
    }
    if let Some(slug) = slug.as_ref().filter(|s| {
        !s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }) {
        errors.insert(
            "slug",
            format!("a slug holds only letters, digits, `-` and `_`, got {slug:?}"),
        );
    }
    let published = match last(form, "published").unwrap_or("") {
        "" | "off" | "false" | "0" => false,
        "on" | "true" | "1" => true,
        other => {
            errors.insert("published", format!("expected a checkbox, got {other:?}"));
            false
        }
    };
    // A key that is not a number names no author: Trellis finds that out when it looks the
    // key up, in the write's transaction, so only once every field passed.
    let author = author.map(|a| a.trim().parse::<i64>().map_err(|_| a));
    if let Some(Err(a)) = &author {
        if errors.is_empty() {
            errors.insert("author", format!("no Author with key {a:?}"));
        }
    }
    match (title, slug, body, author) {
        (Some(t), Some(s), Some(b), Some(Ok(a))) if errors.is_empty() => {
            Ok((t, s, b, published, a))
        }
        _ => Err(errors),
    }
}

/// `created_at`'s `auto_now_add`: the UTC time as Trellis stores it (`YYYY-MM-DDTHH:MM:SS`).
fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

enum Saved {
    Row(String),
    /// A field and its message.
    Refused(&'static str, String),
}

fn insert(
    conn: &mut Connection,
    post: (String, String, String, bool, i64),
) -> rusqlite::Result<Saved> {
    let (title, slug, body, published, author) = post;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let exists = tx
        .prepare_cached("SELECT 1 FROM author WHERE id = ?1")?
        .exists([author])?;
    if !exists {
        return Ok(Saved::Refused(
            "author",
            format!("no Author with key \"{author}\""),
        ));
    }
    let inserted = tx
        .prepare_cached(
            "INSERT INTO post (title, slug, body, published, created_at, author_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![title, slug, body, published, now(), author]);
    match inserted {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            return Ok(Saved::Refused(
                "slug",
                "a Post with this slug already exists".into(),
            ));
        }
        other => other?,
    };
    let id = tx.last_insert_rowid();
    let slug: String = tx
        .prepare_cached(
            "SELECT id, title, slug, body, published, created_at, author_id FROM post WHERE id = ?1",
        )?
        .query_row([id], |r| r.get(2))?;
    tx.commit()?;
    Ok(Saved::Row(slug))
}

/// Run `f` with this thread's read-write connection, opened on first use.
fn with_writer<T>(
    db: &Path,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    WRITER.with_borrow_mut(|slot| {
        let conn = match slot {
            Some(c) => c,
            None => slot.insert(open(db)?),
        };
        f(conn)
    })
}

/// The CSRF cookie holding the page's secret and `Vary: Cookie`, as on Trellis's form pages.
pub fn csrf_cookie(res: &mut HttpResponse, secret: &str) {
    let cookie = format!("csrftoken={secret}; Path=/; SameSite=Lax; Max-Age=31536000");
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res.headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Cookie"));
}

#[derive(Serialize)]
struct AuthorOption {
    id: i64,
    name: String,
    selected: bool,
}

/// What the form page shows: its values (the row's, the defaults, or as posted) and messages.
#[derive(Serialize)]
struct FormCtx<'a> {
    heading: String,
    csrf: String,
    title: &'a str,
    slug: &'a str,
    body: &'a str,
    published: bool,
    authors: Vec<AuthorOption>,
    errors: Errors,
}

/// The values a form shows: title, slug, body, published, author (as text: a posted key).
type Shown<'a> = (&'a str, &'a str, &'a str, bool, &'a str);

fn form_page(
    req: &HttpRequest,
    conn: &Connection,
    hb: &Handlebars<'static>,
    status: StatusCode,
    heading: String,
    shown: Shown,
    errors: Errors,
) -> rusqlite::Result<HttpResponse> {
    let (title, slug, body, published, author) = shown;
    let authors = conn
        .prepare_cached("SELECT id, name FROM author ORDER BY 1 LIMIT 1000")?
        .query_map([], |r| {
            let id: i64 = r.get(0)?;
            Ok(AuthorOption {
                selected: author.trim() == id.to_string(),
                id,
                name: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let (secret, csrf) = token(req);
    let ctx = FormCtx {
        heading,
        csrf,
        title,
        slug,
        body,
        published,
        authors,
        errors,
    };
    let mut res = match hb.render("form", &ctx) {
        Ok(page) => respond(status, HTML, page),
        Err(e) => return Ok(internal(&format!("rendering the form: {e}"))),
    };
    csrf_cookie(&mut res, &secret);
    Ok(res)
}

fn internal(detail: &str) -> HttpResponse {
    eprintln!("Internal Server Error: {detail}");
    respond(StatusCode::INTERNAL_SERVER_ERROR, HTML, "")
}

/// The form again, with the values as posted and each message under its field (400).
fn refused(
    req: &HttpRequest,
    db: &Path,
    hb: &Handlebars<'static>,
    form: &[(String, String)],
    errors: Errors,
) -> HttpResponse {
    let value = |name| last(form, name).unwrap_or("");
    let published = matches!(value("published"), "on" | "true" | "1");
    let shown = (
        value("title"),
        value("slug"),
        value("body"),
        published,
        value("author"),
    );
    with_writer(db, |conn| {
        form_page(
            req,
            conn,
            hb,
            StatusCode::BAD_REQUEST,
            "New Post".into(),
            shown,
            errors,
        )
    })
    .unwrap_or_else(|e| internal(&format!("/blog/posts/new/: {e}")))
}

/// `GET /blog/posts/<pk>/edit/`: the update form's page with the row's values (404: `None`).
pub fn edit(
    req: &HttpRequest,
    db: &Path,
    hb: &Handlebars<'static>,
    pk: i64,
) -> Option<HttpResponse> {
    if req.method() != actix_web::http::Method::GET {
        return Some(respond(StatusCode::METHOD_NOT_ALLOWED, HTML, ""));
    }
    with_writer(db, |conn| {
        let row: Option<(String, String, String, bool, i64)> = conn
            .prepare_cached(
                "SELECT title, slug, body, published, author_id FROM post WHERE id = ?1",
            )?
            .query_row([pk], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        let Some((title, slug, body, published, author)) = row else {
            return Ok(None);
        };
        let heading = format!("Edit Post “{title}”");
        let shown = (
            title.as_str(),
            slug.as_str(),
            body.as_str(),
            published,
            &*author.to_string(),
        );
        form_page(req, conn, hb, StatusCode::OK, heading, shown, Errors::new()).map(Some)
    })
    .unwrap_or_else(|e| Some(internal(&format!("/blog/posts/{pk}/edit/: {e}"))))
}

/// `/blog/posts/new/`: GET the form page, POST a new post (any other method: 405).
pub fn create(req: &HttpRequest, body: &[u8], db: &Path, hb: &Handlebars<'static>) -> HttpResponse {
    if req.method() == actix_web::http::Method::GET {
        // The model's defaults: `published` is checked.
        let shown = ("", "", "", true, "");
        return with_writer(db, |conn| {
            form_page(
                req,
                conn,
                hb,
                StatusCode::OK,
                "New Post".into(),
                shown,
                Errors::new(),
            )
        })
        .unwrap_or_else(|e| internal(&format!("/blog/posts/new/: {e}")));
    }
    if req.method() != actix_web::http::Method::POST {
        return respond(StatusCode::METHOD_NOT_ALLOWED, HTML, "");
    }
    let form = query_pairs(&String::from_utf8_lossy(body));
    if let Err(reason) = csrf(req, &form) {
        return forbidden(reason, "/blog/posts/new/");
    }
    let post = match fields(&form) {
        Ok(p) => p,
        Err(errors) => return refused(req, db, hb, &form, errors),
    };
    let saved = with_writer(db, |conn| insert(conn, post));
    match saved {
        // Only now, after COMMIT.
        Ok(Saved::Row(slug)) => redirect(StatusCode::SEE_OTHER, &format!("/blog/post/{slug}/")),
        Ok(Saved::Refused(field, why)) => refused(req, db, hb, &form, Errors::from([(field, why)])),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
            let mut res = respond(StatusCode::SERVICE_UNAVAILABLE, HTML, "busy\n");
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            res
        }
        Err(e) => internal(&format!("/blog/posts/new/: {e}")),
    }
}
