//! The blog's create form, `POST /blog/posts/new/`, written by hand as Trellis's `view: create`
//! does it (`bench/writes.py` adds the same route to Trellis's copy of the site): Django's CSRF
//! check (an `Origin` of another host refused, the `csrftoken` cookie, the
//! `csrfmiddlewaretoken` field, a 32-character secret or a 64-character masked token, compared
//! in constant time), each field read and checked by the model's rules (title: at most 200
//! characters; slug: letters, digits, `-`, `_`; body: required; published: a checkbox; author:
//! a whole number naming an author), then one `BEGIN IMMEDIATE` transaction — the author checked
//! to exist, the row inserted with `created_at` now, read back — and the 303 to the new post's
//! page only after COMMIT. A taken slug or a refused field is a 400 (a plain message: the
//! benchmark only posts valid forms, so the re-rendered form page is not copied).
//!
//! Each worker thread keeps its own read-write connection with Trellis's settings (WAL,
//! `synchronous` as `BASELINE_SYNCHRONOUS` says, NORMAL by default, foreign keys on, a 5 s busy
//! timeout) and cached statements.

use std::cell::RefCell;
use std::path::Path;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use rusqlite::{params, Connection, TransactionBehavior};

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
    respond(
        StatusCode::FORBIDDEN,
        HTML,
        format!("<h1>Forbidden (403)</h1><p>CSRF verification failed. Request aborted.</p><p>{reason}</p>\n"),
    )
}

fn refused(why: &str) -> HttpResponse {
    respond(
        StatusCode::BAD_REQUEST,
        HTML,
        format!("<p>{}</p>\n", handlebars::html_escape(why)),
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

/// The posted fields, checked: title, slug, body, published, author.
fn fields(form: &[(String, String)]) -> Result<(String, String, String, bool, i64), String> {
    let required = |name: &str| match last(form, name) {
        Some(v) if !v.trim().is_empty() => Ok(v.to_string()),
        _ => Err(format!("{name}: this field is required")),
    };
    let title = required("title")?;
    let n = title.chars().count();
    if n > 200 {
        return Err(format!("title: at most 200 characters, got {n}"));
    }
    let slug = required("slug")?;
    if !slug
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "slug: a slug holds only letters, digits, `-` and `_`, got {slug:?}"
        ));
    }
    let body = required("body")?;
    let published = match last(form, "published").unwrap_or("") {
        "" | "off" | "false" | "0" => false,
        "on" | "true" | "1" => true,
        other => return Err(format!("published: expected a checkbox, got {other:?}")),
    };
    let author = required("author")?;
    let author: i64 = author
        .trim()
        .parse()
        .map_err(|_| format!("author: expected a whole number, got {author:?}"))?;
    Ok((title, slug, body, published, author))
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
    Refused(String),
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
        return Ok(Saved::Refused(format!(
            "author: no Author with key {author}"
        )));
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
            return Ok(Saved::Refused("slug: a Post with this slug exists".into()));
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

/// `POST /blog/posts/new/` (any other method: 405).
pub fn create(req: &HttpRequest, body: &[u8], db: &Path) -> HttpResponse {
    if req.method() != actix_web::http::Method::POST {
        return respond(StatusCode::METHOD_NOT_ALLOWED, HTML, "");
    }
    let form = query_pairs(&String::from_utf8_lossy(body));
    if let Err(reason) = csrf(req, &form) {
        return forbidden(reason, "/blog/posts/new/");
    }
    let post = match fields(&form) {
        Ok(p) => p,
        Err(why) => return refused(&why),
    };
    let saved = WRITER.with_borrow_mut(|slot| {
        let conn = match slot {
            Some(c) => c,
            None => slot.insert(open(db)?),
        };
        insert(conn, post)
    });
    match saved {
        // Only now, after COMMIT.
        Ok(Saved::Row(slug)) => redirect(StatusCode::SEE_OTHER, &format!("/blog/post/{slug}/")),
        Ok(Saved::Refused(why)) => refused(&why),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
            let mut res = respond(StatusCode::SERVICE_UNAVAILABLE, HTML, "busy\n");
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            res
        }
        Err(e) => {
            eprintln!("Internal Server Error: /blog/posts/new/: {e}");
            respond(StatusCode::INTERNAL_SERVER_ERROR, HTML, "")
        }
    }
}
