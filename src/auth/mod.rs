//! Sessions, users and sign-in (issue 11), as Django's `contrib.sessions` and `contrib.auth`
//! do them with the database session backend: the `sessionid` cookie holds only a random key
//! (32 letters and digits from the operating system's generator); the row in `trellis_session`
//! says whose it is and until when. Everything here decides; `db::session` holds the SQL.
//!
//! What other views use:
//! - [`current_user`]: the signed-in user of a request, looked up once (a database read, only
//!   when the request has a `sessionid` cookie) and kept in `Request::session`;
//! - [`add_message`]: a flash message, kept in the session until a page that shows
//!   `messages` has shown it once — for a visitor with no session, in a signed cookie
//!   ([`flash`]);
//! - [`guard`]: `login_required` / `staff_required`, run by `views::dispatch` before a view;
//! - [`safe_next`]: Django's `url_has_allowed_host_and_scheme` for local paths;
//! - [`hash_password`] / [`verify_password`]: argon2id PHC strings.

pub mod flash;
pub mod users;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::db::session as store;
use crate::db::DbError;
use crate::views::{Ctx, Request, ViewError};

/// Why a signed-in user who is not staff gets a 403 on a `staff_required` page.
pub const STAFF_ONLY: &str = "This page is for staff users only.";

/// The session cookie's name (Django's SESSION_COOKIE_NAME).
pub const COOKIE: &str = "sessionid";
const KEY_LENGTH: usize = 32;

/// `site.auth`, compiled.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The sign-in route's name, when the site has one.
    pub login: Option<String>,
    /// Seconds a session lasts.
    pub session_age: i64,
    /// Failed sign-ins allowed per username and per address within `window` seconds.
    pub max_failures: u32,
    pub window: i64,
}

impl Default for Auth {
    fn default() -> Self {
        let raw = crate::config::raw::RawAuth::default();
        Auth {
            login: None,
            session_age: raw.session_age_s.into(),
            max_failures: raw.max_failures,
            window: raw.failure_window_s.into(),
        }
    }
}

/// What a route asks of sign-in: a signed-in (staff) user, or the user or messages shown by
/// its template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub login: bool,
    pub staff: bool,
    /// A page of the admin: a signed-in user who is not staff is sent to the admin's sign-in
    /// page (Django's `AdminSite.admin_view`), not given the site's 403.
    pub admin: bool,
    pub user: bool,
    pub messages: bool,
}

impl Needs {
    /// Whether answering needs the session (a database read, when there is a cookie).
    pub fn session(&self) -> bool {
        self.login || self.staff || self.user || self.messages
    }
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub is_staff: bool,
    pub is_active: bool,
}

/// A flash message: its level (`info`, `success`, `warning`, `error`) and text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub level: String,
    pub text: String,
}

/// A request's session: its key, its user, and the messages it showed (taken by this request).
#[derive(Debug, Clone)]
pub struct Session {
    pub key: String,
    pub user: User,
    pub messages: Vec<Message>,
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Delete the expired sessions and the failed sign-ins older than the throttle's window
/// (Django's `clearsessions`): `serve` does it at start and then hourly, on a thread of its
/// own, and `trellis user clearsessions` on demand. How many of each were deleted.
pub fn purge(db: &crate::db::Database, auth: &Auth) -> Result<(usize, usize), DbError> {
    let now = now();
    db.with(|c| store::purge(&c.conn, now, now - auth.window))
}

/// What [`purge`] did, in a line (`None` when it deleted nothing).
pub fn purged(counts: (usize, usize)) -> Option<String> {
    let (sessions, failures) = counts;
    (sessions + failures > 0).then(|| {
        format!("deleted {sessions} expired session(s) and {failures} old failed sign-in(s)")
    })
}

/// A username as Django's `AbstractBaseUser.normalize_username` (NFKC, so that fullwidth
/// `ａnn` is `ann`) with the surrounding whitespace its form fields strip taken off: what
/// `trellis user add` stores and what sign-in looks up.
pub fn normalize_username(typed: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    typed.trim().nfkc().collect()
}

/// A user and their password hash by the name typed at sign-in: its normal form, else the
/// name exactly as typed (a user added before names were normalised).
pub fn find_user(
    c: &crate::db::Conn,
    typed: &str,
) -> Result<Option<(store::UserRow, String)>, DbError> {
    let normal = normalize_username(typed);
    match store::user_with_hash(&c.conn, &normal)? {
        Some(found) => Ok(Some(found)),
        None if normal != typed => store::user_with_hash(&c.conn, typed),
        None => Ok(None),
    }
}

/// A fresh session key.
pub fn new_key() -> String {
    crate::views::csrf::random_string(KEY_LENGTH)
}

fn well_formed(key: &str) -> bool {
    key.len() == KEY_LENGTH && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The request's session, read once from the database (and kept in `req.session`): `None`
/// without a well-formed `sessionid` cookie, for an unknown or expired key, or an inactive
/// user.
pub fn session<'r>(ctx: &Ctx, req: &'r Request) -> Result<Option<&'r Session>, DbError> {
    if let Some(s) = req.session.get() {
        return Ok(s.as_ref());
    }
    let found = match (req.cookie(COOKIE).filter(|k| well_formed(k)), ctx.db) {
        (Some(key), Some(db)) => {
            db.with(|c| store::session_user(&c.conn, key, now()))?
                .map(|(row, messages)| Session {
                    key: key.to_string(),
                    user: User {
                        id: row.id,
                        username: row.username,
                        is_staff: row.is_staff,
                        is_active: row.is_active,
                    },
                    messages: serde_json::from_str(&messages).unwrap_or_default(),
                })
        }
        _ => None,
    };
    Ok(req.session.get_or_init(|| found).as_ref())
}

/// The signed-in user of a request, if any (a database failure is logged and counts as none).
pub fn current_user(ctx: &Ctx, req: &Request) -> Option<User> {
    match session(ctx, req) {
        Ok(s) => s.map(|s| s.user.clone()),
        Err(e) => {
            tracing::error!("reading the session: {e}");
            None
        }
    }
}

/// Keep a message for the next page that shows `messages`: in the request's session, or for a
/// visitor without one in the signed `messages` cookie ([`flash`]). `Ok(false)` when there is
/// nowhere to keep it (no session, and no secret key to sign a cookie with).
pub fn add_message(ctx: &Ctx, req: &Request, level: &str, text: &str) -> Result<bool, DbError> {
    let (Some(s), Some(db)) = (session(ctx, req)?, ctx.db) else {
        let message = Message {
            level: level.into(),
            text: text.into(),
        };
        return Ok(flash::add(ctx.settings, req, message));
    };
    add_message_to(db, &s.key, level, text)?;
    Ok(true)
}

/// [`add_message`] for a session known by its key (one just made at sign-in).
pub fn add_message_to(
    db: &crate::db::Database,
    key: &str,
    level: &str,
    text: &str,
) -> Result<(), DbError> {
    edit_messages(db, key, |list| {
        list.push(Message {
            level: level.into(),
            text: text.into(),
        })
    })
}

/// Change the session `key`'s messages as they are now in its row (`store::update_messages`:
/// one write transaction, so a concurrent request's change is seen, not overwritten).
fn edit_messages(
    db: &crate::db::Database,
    key: &str,
    edit: impl FnOnce(&mut Vec<Message>),
) -> Result<(), DbError> {
    db.with(|c| {
        store::update_messages(&mut c.conn, key, |now| {
            let mut list: Vec<Message> = serde_json::from_str(now).unwrap_or_default();
            edit(&mut list);
            serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
        })
    })
}

/// Read the session for a route that needs it (and, when its page shows `messages`, the
/// `messages` cookie: both are taken only when the page is rendered, see [`finish`]). Then
/// `login_required` / `staff_required`: no user → a redirect (302) to the sign-in route with
/// `next=`; a user who is not staff → 403 on a site's own page, and on an admin page a
/// redirect (302) to the admin's sign-in page with `next=`, which says who is signed in and
/// offers another account (Django's admin does both).
pub fn guard(
    ctx: &Ctx,
    needs: Needs,
    req: &Request,
) -> Result<Option<crate::views::Response>, ViewError> {
    if !needs.session() {
        return Ok(None);
    }
    let db_error = |e: DbError| {
        if e.is_busy() {
            ViewError::Unavailable {
                retry_after: 1,
                detail: format!("reading the session: {e}"),
            }
        } else {
            ViewError::Internal(format!("reading the session: {e}"))
        }
    };
    let s = session(ctx, req).map_err(db_error)?;
    if needs.messages {
        flash::load(ctx.settings, req);
    }
    if !(needs.login || needs.staff) {
        return Ok(None);
    }
    let to_login = |name: Option<&str>| {
        let login = name
            .and_then(|name| {
                ctx.router
                    .reverse(name, crate::routing::Args::Positional(&[]))
                    .ok()
            })
            .ok_or_else(|| ViewError::Internal("no sign-in route to send the visitor to".into()))?;
        let next: String = form_urlencoded::byte_serialize(req.full_path().as_bytes()).collect();
        Ok(Some(crate::views::Response::redirect(
            302,
            format!("{login}?next={next}"),
        )))
    };
    match s {
        None => to_login(ctx.settings.auth.login.as_deref()),
        Some(s) if needs.staff && !s.user.is_staff && needs.admin => {
            to_login(Some(crate::admin::LOGIN))
        }
        Some(s) if needs.staff && !s.user.is_staff => Err(ViewError::Forbidden(STAFF_ONLY.into())),
        Some(_) => Ok(None),
    }
}

/// Write on the answer what its page took of the messages: the `messages` cookie
/// ([`flash::finish`]), and the session's, taken out of its row — only when a page that shows
/// `messages` was rendered, not on a POST that redirects or is refused, so that no message is
/// lost before a page shows it. Messages added to the session meanwhile (another request's)
/// stay. A database failure is logged: the messages are shown again rather than lost.
pub fn finish(ctx: &Ctx, req: &Request, r: &mut crate::views::Response) {
    flash::finish(ctx.settings, req, r);
    let (Some(Some(s)), Some(db)) = (req.session.get(), ctx.db) else {
        return;
    };
    if s.messages.is_empty() || !flash::shown(req) {
        return;
    }
    let shown = &s.messages;
    let taken = edit_messages(db, &s.key, |list| {
        if list.starts_with(shown) {
            list.drain(..shown.len());
        }
    });
    if let Err(e) = taken {
        tracing::error!("taking the shown messages out of the session: {e}");
    }
}

/// What templates see as `user` and `messages`, once the request's session was read: the
/// messages of the `messages` cookie, then the session's, taken now ([`finish`] deletes the
/// cookie and takes them out of the session) when the template `shows_messages`; else none.
pub fn context(req: &Request, shows_messages: bool) -> Option<(Value, Value)> {
    let s = req.session.get()?;
    let mut messages = Vec::new();
    if shows_messages {
        messages = flash::take(req);
        messages.extend(s.iter().flat_map(|s| s.messages.iter().cloned()));
    }
    let user = match s {
        Some(s) => {
            let mut user = serde_json::to_value(&s.user).unwrap_or_default();
            user["is_authenticated"] = true.into();
            user
        }
        None => {
            json!({"username": "", "is_staff": false, "is_active": false, "is_authenticated": false})
        }
    };
    Some((user, serde_json::to_value(&messages).unwrap_or_default()))
}

/// Whether `next` may be redirected to: a local path only (Django's
/// `url_has_allowed_host_and_scheme` with no allowed hosts): it starts with one `/` (not
/// `//host`), has no backslash anywhere (browsers read `/\host` as `//host`), no scheme, and
/// no control character or space.
pub fn safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// An argon2id hash of a password, as a PHC string (`$argon2id$v=19$…`), with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no random salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches a stored PHC hash (a malformed hash matches nothing).
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash checked when the username is unknown, so that an unknown name takes as long to
/// refuse as a wrong password (Django runs the hasher once too).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&new_key()).unwrap_or_default())
}

/// `site.auth` and the routes that need sign-in, checked at load: the sign-in route (named by
/// `site.auth.login`, else the one route whose view is `login`) must exist when a route
/// requires a signed-in user; sign-in needs a database; no model may take a built-in table's
/// name.
pub fn compile(
    raw: &crate::config::raw::RawAuth,
    routes: &[crate::views::RouteDef],
    models: &crate::db::Models,
    has_db: bool,
    source: &crate::config::yaml::Source,
    errors: &mut Vec<crate::config::Diagnostic>,
) -> Auth {
    use crate::config::raw::ViewKind;
    for m in models.values() {
        if store::TABLES.contains(&m.table.as_str()) {
            errors.push(
                source
                    .diag(
                        &format!("models.{}", m.name),
                        format!(
                            "the table `{}` is Trellis's own (users, sessions, the history log)",
                            m.table
                        ),
                    )
                    .with_hint(Some("give the model another `table:` or name".into())),
            );
        }
        for f in &m.many {
            let Some(join) = f
                .join
                .as_ref()
                .filter(|j| store::TABLES.contains(&j.table.as_str()))
            else {
                continue;
            };
            errors.push(
                source
                    .diag(
                        &format!("models.{}.fields.{}", m.name, f.name),
                        format!(
                            "the join table `{}` is Trellis's own (users, sessions, the history log)",
                            join.table
                        ),
                    )
                    .with_hint(Some("rename the field, or set `table:` on the model".into())),
            );
        }
    }
    let login = match &raw.login {
        Some(name) => {
            if !routes
                .iter()
                .any(|r| r.name.as_deref() == Some(name.as_str()))
            {
                errors.push(source.diag("site.auth.login", format!("no route is named `{name}`")));
            }
            Some(name.clone())
        }
        // The site's own `view: login` route, else the admin's sign-in page (when `admin:` is
        // mounted): the admin uses the site's sign-in when it has one, and a site without one
        // sends its `login_required` visitors to the admin's.
        None => {
            let logins = || {
                routes
                    .iter()
                    .filter(|r| r.raw.view == ViewKind::Login)
                    .filter_map(|r| r.name.clone())
            };
            logins()
                .find(|n| n != crate::admin::LOGIN)
                .or_else(|| logins().find(|n| n == crate::admin::LOGIN))
        }
    };
    let login_route = login
        .as_deref()
        .and_then(|n| routes.iter().find(|r| r.name.as_deref() == Some(n)));
    if let Some(r) = login_route.filter(|r| !r.pattern.param_names().is_empty()) {
        errors.push(r.source.diag(
            &r.at,
            "the sign-in route cannot have captures: `login_required` sends visitors to it without arguments",
        ));
    }
    // A sign-in route that requires sign-in sends a visitor to itself, with a longer `next=`
    // each time, until the browser gives up.
    if let Some(r) = login_route {
        let key = if r.raw.staff_required == Some(true) {
            Some("staff_required")
        } else {
            (r.raw.login_required == Some(true)).then_some("login_required")
        };
        if let Some(key) = key {
            errors.push(
                r.source
                    .diag(
                        &r.key(key),
                        "the sign-in route cannot require sign-in: visitors would be sent back to it again and again",
                    )
                    .with_hint(Some(format!("take `{key}` off this route"))),
            );
        }
    }
    let unnamed_login = raw.login.is_none()
        && routes
            .iter()
            .any(|r| r.raw.view == ViewKind::Login && r.name.is_none());
    for r in routes {
        let requires = r.raw.login_required == Some(true) || r.raw.staff_required == Some(true);
        let signs_in = matches!(r.raw.view, ViewKind::Login | ViewKind::Logout);
        if (requires || signs_in) && !has_db {
            errors.push(
                r.source
                    .diag(&r.at, "sign-in keeps users and sessions in the database")
                    .with_hint(Some("set `site.database` (e.g. `site.sqlite3`)".into())),
            );
        }
        if requires && login.is_none() {
            let key = if r.raw.staff_required == Some(true) {
                "staff_required"
            } else {
                "login_required"
            };
            let hint = if unnamed_login {
                "give the `view: login` route a `name:`"
            } else {
                "add a route with `view: login` (and a `name:`), or name one in `site.auth.login`"
            };
            // Never the admin's routes: `admin:` always brings `admin:login`, the fallback above.
            errors.push(
                r.source
                    .diag(&r.key(key), "no sign-in route to send visitors to")
                    .with_hint(Some(hint.into())),
            );
        }
    }
    Auth {
        login,
        session_age: raw.session_age_s.into(),
        max_failures: raw.max_failures,
        window: raw.failure_window_s.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database with one user, ann, and a session of hers; the rest of what a `Ctx` holds.
    struct Fixture {
        _dir: tempfile::TempDir,
        db: crate::db::Database,
        router: std::sync::Arc<crate::routing::Router>,
        renderer: crate::render::Renderer,
        settings: crate::views::Settings,
        /// Ann's session, as its cookie: `sessionid=…`.
        cookie: String,
    }

    impl Fixture {
        fn new() -> Fixture {
            use crate::render::Renderer;
            use crate::routing::Router;
            use crate::views::{ErrorPages, Settings};
            use std::sync::Arc;
            let dir = tempfile::TempDir::new().unwrap();
            let path = dir.path().join("db.sqlite3");
            let mut conn = crate::db::connect(&path).unwrap();
            crate::db::migrate::migrate(&mut conn, &store::table_defs(), false).unwrap();
            store::add_user(&conn, "ann", &hash_password("pw").unwrap(), false).unwrap();
            let key = new_key();
            store::create_session(&conn, &key, 1, now() + 100).unwrap();
            let db = crate::db::Database::new(path, Default::default());
            let router = Arc::new(Router::new(Vec::new()).unwrap());
            let (renderer, _) = Renderer::load(dir.path(), router.clone(), &"/static/".into());
            let settings = Settings::new("S".into(), true, ErrorPages::default(), None);
            Fixture {
                _dir: dir,
                db,
                router,
                renderer,
                settings,
                cookie: format!("{COOKIE}={key}"),
            }
        }

        fn ctx(&self) -> Ctx<'_> {
            Ctx {
                router: &self.router,
                renderer: &self.renderer,
                db: Some(&self.db),
                settings: &self.settings,
                debug: false,
            }
        }

        /// The messages a new request of ann's finds in her session, as `level:text`.
        fn texts(&self) -> Vec<String> {
            let next = Request::get("/").with_cookies(&self.cookie);
            session(&self.ctx(), &next)
                .unwrap()
                .unwrap()
                .messages
                .iter()
                .map(|m| format!("{}:{}", m.level, m.text))
                .collect()
        }
    }

    /// `add_message` keeps a message in the request's session, which the next request reads;
    /// without a session it keeps nothing and says so.
    #[test]
    fn add_message_keeps_a_message_in_the_session() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let req = Request::get("/").with_cookies(&f.cookie);
        assert!(add_message(&ctx, &req, "success", "Saved").unwrap());
        assert!(add_message(&ctx, &req, "info", "Again").unwrap());
        assert_eq!(f.texts(), ["success:Saved", "info:Again"]);
        assert!(!add_message(&ctx, &Request::get("/"), "info", "lost").unwrap());
    }

    /// A page that shows `messages` takes out of the session the ones it showed, and only
    /// those: one added by another request while it was rendered stays for the next page. A
    /// page that does not show them takes none.
    #[test]
    fn a_page_takes_only_the_messages_it_showed() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let first = Request::get("/").with_cookies(&f.cookie);
        add_message(&ctx, &first, "success", "Saved").unwrap();

        let plain = Request::get("/").with_cookies(&f.cookie);
        let user_only = Needs {
            user: true,
            ..Default::default()
        };
        guard(&ctx, user_only, &plain).unwrap();
        let (_, none) = context(&plain, false).unwrap();
        assert_eq!(none, serde_json::json!([]));
        finish(
            &ctx,
            &plain,
            &mut crate::views::Response::html(200, String::new()),
        );
        assert_eq!(f.texts(), ["success:Saved"]);

        let page = Request::get("/").with_cookies(&f.cookie);
        let needs = Needs {
            messages: true,
            ..Default::default()
        };
        guard(&ctx, needs, &page).unwrap();
        let (_, shown) = context(&page, true).unwrap();
        assert_eq!(
            shown,
            serde_json::json!([{"level": "success", "text": "Saved"}])
        );
        // Another request adds one while the page is rendered.
        let other = Request::get("/").with_cookies(&f.cookie);
        add_message(&ctx, &other, "info", "Meanwhile").unwrap();
        finish(
            &ctx,
            &page,
            &mut crate::views::Response::html(200, String::new()),
        );
        assert_eq!(f.texts(), ["info:Meanwhile"]);
    }

    #[test]
    fn a_hash_is_argon2id_and_verifies_only_its_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct hors"));
        assert!(!verify_password("not a hash", "correct horse"));
        assert_ne!(
            h,
            hash_password("correct horse").unwrap(),
            "a fresh salt each time"
        );
    }

    #[test]
    fn only_local_paths_are_safe_next_values() {
        for ok in ["/", "/a/b/?q=1", "/caf%C3%A9/"] {
            assert!(safe_next(ok), "{ok}");
        }
        for bad in [
            "",
            "//evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "http://evil.com",
            "https:/x",
            "javascript:alert(1)",
            "/a\\b",
            "/\t/evil.com",
            " /x",
            "/x\ny",
            "evil.com",
            "///evil.com",
        ] {
            assert!(!safe_next(bad), "{bad:?}");
        }
    }
}
