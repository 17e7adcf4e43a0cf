//! `bench/admin_list.py`'s shop (20 authors, N posts, `admin: admin/`), the admin's pages a
//! benchmark asks for, written by hand as a Django developer would write these two views:
//!
//! - `GET /admin/login/`: the sign-in page, its CSRF field masked afresh on every render (so
//!   two renders never match byte for byte: compare them with the token normalised);
//! - `POST /admin/login/`: Django's CSRF check, the throttle Trellis keeps (each attempt
//!   counted as a failure in one `BEGIN IMMEDIATE` transaction before the password is
//!   checked, at most 5 in 15 minutes per username and per address), the user read by name,
//!   the password checked with argon2id (the same crate and the hash's own parameters: this
//!   is the page's real cost), then the failure taken back, a session row written, `last_login`
//!   set, and a 303 with the `sessionid` cookie and a new CSRF secret; a refusal re-renders
//!   the form with Django's admin message (400);
//! - `GET /admin/post/` (page 1 only): the session row read with its user (active, not
//!   expired), staff required, then the 50 newest posts joined to their authors, the count
//!   (cached until `PRAGMA data_version` moves, as the blog's), the author filter's choices
//!   (the first 100 by name), rendered by one template whose table is hand-written for the
//!   four columns. The session's messages are not shown (the benchmark's session has none).
//!
//! Each worker thread has one read-write connection (WAL, synchronous NORMAL, foreign keys,
//! a 5 s busy timeout) with cached statements.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use handlebars::Handlebars;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::util::{decode_path, last, query_pairs};
use crate::write::{cookie, csrf, csrf_cookie, forbidden, open, random_string, token};
use crate::{bad_request, redirect, respond, HTML};

/// The style sheet and the head every admin page starts with (Trellis's `admin/*` HEAD).
const HEAD: &str = include_str!("../templates/shop/head.hbs");
const PER_PAGE: i64 = 50;
/// Authors listed in the filter (Trellis lists a foreign key's first 100).
const AUTHORS: i64 = 100;
const SESSION_AGE: i64 = 60 * 60 * 24 * 14;
const MAX_FAILURES: i64 = 5;
const WINDOW: i64 = 15 * 60;
/// Django's AdminAuthenticationForm message.
const ADMIN_INVALID: &str = "Please enter the correct username and password for a staff account. Note that both fields may be case-sensitive.";
const NO_CACHE: &str = "max-age=0, no-cache, no-store, must-revalidate, private";

pub struct Site {
    hb: Handlebars<'static>,
    db: PathBuf,
    site_dir: String,
}

/// A worker thread's connection and the post count at a data version.
struct Db {
    conn: Connection,
    version: i64,
    count: i64,
}

thread_local! {
    static DB: RefCell<Option<Db>> = const { RefCell::new(None) };
}

fn with_db<T>(path: &Path, f: impl FnOnce(&mut Db) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    DB.with_borrow_mut(|slot| {
        let db = match slot {
            Some(db) => db,
            None => slot.insert(Db {
                conn: open(path)?,
                version: -1,
                count: 0,
            }),
        };
        f(db)
    })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Django's `url_has_allowed_host_and_scheme` as Trellis applies it to `next`.
fn safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
}

impl Site {
    pub fn load(dir: &Path) -> std::io::Result<Site> {
        let db = dir.join("db.sqlite3");
        if !db.is_file() {
            return Err(std::io::Error::other(format!(
                "no database at {}",
                db.display()
            )));
        }
        let folder = std::fs::canonicalize(dir)?;
        Ok(Site {
            hb: crate::templates(&[
                ("list", include_str!("../templates/shop/admin-list.hbs")),
                ("login", include_str!("../templates/shop/admin-login.hbs")),
            ]),
            db,
            site_dir: folder.display().to_string(),
        })
    }

    /// A page: HEAD, then the template; the CSRF cookie holding `secret`, not cached.
    fn page<T: Serialize>(
        &self,
        status: StatusCode,
        name: &str,
        ctx: &T,
        secret: &str,
    ) -> HttpResponse {
        let mut body = String::with_capacity(16 * 1024);
        body.push_str(HEAD);
        match self.hb.render_to_write(name, ctx, StringWriter(&mut body)) {
            Ok(()) => {
                let mut res = respond(status, HTML, body);
                no_cache(&mut res, secret);
                res
            }
            Err(e) => server_error(&format!("rendering {name}: {e}")),
        }
    }
}

/// `render_to_write` into a `String` (the page is built after HEAD, in one buffer).
struct StringWriter<'a>(&'a mut String);

impl std::io::Write for StringWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .push_str(std::str::from_utf8(buf).map_err(std::io::Error::other)?);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn set_cookie(res: &mut HttpResponse, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The headers Trellis puts on a page that shows a CSRF field: the cookie, `Vary: Cookie`,
/// never cached.
fn no_cache(res: &mut HttpResponse, secret: &str) {
    csrf_cookie(res, secret);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
}

fn server_error(detail: &str) -> HttpResponse {
    eprintln!("Internal Server Error: {detail}");
    respond(StatusCode::INTERNAL_SERVER_ERROR, HTML, "")
}

pub async fn handle(req: HttpRequest, body: web::Bytes, site: web::Data<Site>) -> HttpResponse {
    let path = match decode_path(req.path()) {
        Ok(p) => p,
        Err(why) => return bad_request(why),
    };
    let answer = match (path.as_ref(), req.method()) {
        ("/admin/login/", &Method::GET) => login_page(&site, &req),
        ("/admin/login/", &Method::POST) => sign_in(&site, &req, &body).await,
        ("/admin/post/", &Method::GET) if req.query_string().is_empty() => admin_list(&site, &req),
        _ => Ok(respond(StatusCode::NOT_FOUND, HTML, "not handled here\n")),
    };
    answer.unwrap_or_else(|e| server_error(&format!("{path}: {e}")))
}

#[derive(Serialize)]
struct LoginCtx<'a> {
    csrf: String,
    no_users: bool,
    site_dir: &'a str,
    error: Option<&'a str>,
    username: &'a str,
    next: Option<&'a str>,
}

fn render_login(
    site: &Site,
    req: &HttpRequest,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
    next: Option<&str>,
) -> rusqlite::Result<HttpResponse> {
    let no_users = with_db(&site.db, |db| {
        db.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM trellis_user)")?
            .query_row([], |r| r.get::<_, bool>(0))
    })?;
    let (secret, csrf) = token(req);
    let ctx = LoginCtx {
        csrf,
        no_users: !no_users,
        site_dir: &site.site_dir,
        error,
        username,
        next: next.filter(|n| safe_next(n)),
    };
    Ok(site.page(status, "login", &ctx, &secret))
}

fn login_page(site: &Site, req: &HttpRequest) -> rusqlite::Result<HttpResponse> {
    let query = query_pairs(req.query_string());
    render_login(site, req, StatusCode::OK, "", None, last(&query, "next"))
}

/// Count this attempt as a failure first (refused past the limit), as Trellis does: its ids.
fn begin_attempt(
    conn: &mut Connection,
    keys: &[(&str, &str)],
    now: i64,
) -> rusqlite::Result<Option<Vec<i64>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (kind, key) in keys {
        let count: i64 = tx
            .prepare_cached("SELECT count(*) FROM trellis_login_failure WHERE kind = ?1 AND key = ?2 AND at > ?3")?
            .query_row(params![kind, key, now - WINDOW], |r| r.get(0))?;
        if count >= MAX_FAILURES {
            return Ok(None);
        }
    }
    let mut ids = Vec::new();
    for (kind, key) in keys {
        tx.prepare_cached("INSERT INTO trellis_login_failure (kind, key, at) VALUES (?1, ?2, ?3)")?
            .execute(params![kind, key, now])?;
        ids.push(tx.last_insert_rowid());
    }
    tx.prepare_cached("DELETE FROM trellis_login_failure WHERE at <= ?1")?
        .execute([now - WINDOW])?;
    tx.commit()?;
    Ok(Some(ids))
}

fn verify(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

async fn sign_in(site: &Site, req: &HttpRequest, body: &[u8]) -> rusqlite::Result<HttpResponse> {
    let form = query_pairs(&String::from_utf8_lossy(body));
    if let Err(reason) = csrf(req, &form) {
        return Ok(forbidden(reason, "/admin/login/"));
    }
    let username = last(&form, "username").unwrap_or_default();
    let password = last(&form, "password").unwrap_or_default();
    let next = last(&form, "next");
    let now = now();
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let keys: Vec<(&str, &str)> = [("user", username), ("address", address.as_str())]
        .into_iter()
        .filter(|(_, k)| !k.is_empty())
        .collect();
    let attempt = with_db(&site.db, |db| {
        let Some(ids) = begin_attempt(&mut db.conn, &keys, now)? else {
            return Ok(None);
        };
        let user: Option<(i64, String, bool, bool)> = db
            .conn
            .prepare_cached(
                "SELECT id, password, is_staff, is_active FROM trellis_user WHERE username = ?1",
            )?
            .query_row([username], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        Ok(Some((ids, user)))
    })?;
    let Some((ids, user)) = attempt else {
        let mut res = respond(StatusCode::TOO_MANY_REQUESTS, HTML, "Too many attempts\n");
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return Ok(res);
    };
    // The hash off the async worker (actix's blocking pool), as Trellis runs its views: two
    // sign-ins on one worker would otherwise wait for each other.
    let user = match user {
        Some((id, hash, staff, active)) => {
            let password = password.to_string();
            let ok = web::block(move || verify(&hash, &password))
                .await
                .unwrap_or(false);
            (ok && staff && active).then_some(id)
        }
        None => None,
    };
    let Some(id) = user else {
        return render_login(
            site,
            req,
            StatusCode::BAD_REQUEST,
            username,
            Some(ADMIN_INVALID),
            next,
        );
    };
    let key = random_string(32);
    with_db(&site.db, |db| {
        let c = &db.conn;
        if let Some(old) = cookie(req, "sessionid") {
            c.prepare_cached(
                "DELETE FROM trellis_session WHERE session_key = ?1 OR expires <= ?2",
            )?
            .execute(params![old, now])?;
        }
        for id in &ids {
            c.prepare_cached("DELETE FROM trellis_login_failure WHERE id = ?1")?
                .execute([id])?;
        }
        c.prepare_cached("DELETE FROM trellis_login_failure WHERE kind = ?1 AND key = ?2")?
            .execute(params!["user", username])?;
        c.prepare_cached(
            "INSERT INTO trellis_session (session_key, user_id, expires) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![key, id, now + SESSION_AGE])?;
        c.prepare_cached("UPDATE trellis_user SET last_login = strftime('%Y-%m-%dT%H:%M:%S', 'now') WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    })?;
    let to = next.filter(|n| safe_next(n)).unwrap_or("/admin/");
    let mut res = redirect(StatusCode::SEE_OTHER, to);
    set_cookie(
        &mut res,
        format!("sessionid={key}; Path=/; SameSite=Lax; Max-Age={SESSION_AGE}; HttpOnly"),
    );
    set_cookie(
        &mut res,
        format!(
            "csrftoken={}; Path=/; SameSite=Lax; Max-Age=31536000",
            random_string(32)
        ),
    );
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Cookie"));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    Ok(res)
}

#[derive(Serialize)]
struct Row {
    id: i64,
    title: String,
    status: String,
    published: &'static str,
    author: Option<String>,
}

#[derive(Serialize)]
struct Author {
    id: i64,
    name: String,
}

#[derive(Serialize)]
struct ListCtx<'a> {
    csrf: String,
    username: &'a str,
    count: i64,
    plural: &'static str,
    num_pages: i64,
    next: bool,
    rows: Vec<Row>,
    authors: Vec<Author>,
    more_authors: bool,
}

fn admin_list(site: &Site, req: &HttpRequest) -> rusqlite::Result<HttpResponse> {
    let key = cookie(req, "sessionid")
        .filter(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_alphanumeric()));
    let now = now();
    let page = with_db(&site.db, |db| {
        let user: Option<(String, bool)> = match key {
            Some(key) => db
                .conn
                .prepare_cached(
                    "SELECT u.username, u.is_staff FROM trellis_session s JOIN trellis_user u ON u.id = s.user_id \
                     WHERE s.session_key = ?1 AND s.expires > ?2 AND u.is_active",
                )?
                .query_row(params![key, now], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?,
            None => None,
        };
        let Some((username, true)) = user else {
            return Ok(None);
        };
        let version: i64 = db
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if version != db.version {
            db.count = db
                .conn
                .prepare_cached("SELECT count(*) FROM post")?
                .query_row([], |r| r.get(0))?;
            db.version = version;
        }
        let rows = db
            .conn
            .prepare_cached(
                "SELECT p.id, p.title, p.status, p.published, a.name FROM post p \
                 LEFT JOIN author a ON a.id = p.author_id ORDER BY p.id DESC LIMIT ?1",
            )?
            .query_map([PER_PAGE], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    status: r.get(2)?,
                    published: if r.get::<_, bool>(3)? { "Yes" } else { "No" },
                    author: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut authors = db
            .conn
            .prepare_cached("SELECT id, name FROM author ORDER BY name, id LIMIT ?1")?
            .query_map([AUTHORS + 1], |r| {
                Ok(Author {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let more_authors = authors.len() as i64 > AUTHORS;
        authors.truncate(AUTHORS as usize);
        Ok(Some((username, db.count, rows, authors, more_authors)))
    })?;
    let Some((username, count, rows, authors, more_authors)) = page else {
        return Ok(redirect(
            StatusCode::FOUND,
            "/admin/login/?next=%2Fadmin%2Fpost%2F",
        ));
    };
    let num_pages = ((count + PER_PAGE - 1) / PER_PAGE).max(1);
    let (secret, csrf) = token(req);
    let ctx = ListCtx {
        csrf,
        username: &username,
        count,
        plural: if count == 1 { "" } else { "s" },
        num_pages,
        next: num_pages > 1,
        rows,
        authors,
        more_authors,
    };
    Ok(site.page(StatusCode::OK, "list", &ctx, &secret))
}
