//! `view: login` and `view: logout` (Django's LoginView and LogoutView), and what a route
//! asks of sign-in ([`needs`]). The sessions, users and checks themselves are `crate::auth`'s;
//! the SQL is `db::session`'s.
//!
//! Sign-in (POST): failed attempts are counted per username and per client address in
//! `trellis_login_failure` (in the database, not in memory: every worker and database thread,
//! and a restarted server, see the same counts); past `site.auth.max_failures` within
//! `failure_window_s` the answer is 429 with `Retry-After`, before any password is checked.
//! Each attempt is counted as a failure before its password is checked, in the transaction
//! that read the count (`db::session::begin_attempt`), and taken back when it was right: so
//! attempts sent together cannot all pass the same count.
//! On the admin's own sign-in page (`admin:login`) only staff may sign in, as on Django's
//! `AdminAuthenticationForm`: a user who is not staff (or not active) is refused with
//! [`ADMIN_INVALID`], the same 400 and words as a wrong password there, so the page does not
//! tell which was wrong; the attempt stays counted as a failure (Django's admin sees a failed
//! sign-in there too), and no session is made.
//! A right password starts a new session (a new key: an old cookie, perhaps planted, is never
//! promoted), deletes the old one, and gives a new CSRF secret, as Django's `login()` does.

use serde_json::{json, Map};

use super::context::Ctx;
use super::error::ViewError;
use super::request::{set_cookie, Response};
use super::{Call, CompileEnv, RouteDef};
use crate::auth::{self, Needs, COOKIE};
use crate::config::Diagnostic;
use crate::db::session as store;
use crate::render::{Escape, Uses};
use crate::routing::Args;

const BUILTIN: &str = "__trellis_login";
/// Django's AuthenticationForm message: it does not say which of the two was wrong.
pub const INVALID: &str =
    "Please enter a correct username and password. Note that both fields may be case-sensitive.";

/// Django's AdminAuthenticationForm message, on the admin's sign-in page (any refusal there).
pub const ADMIN_INVALID: &str = "Please enter the correct username and password for a staff account. Note that both fields may be case-sensitive.";

/// What a route asks of sign-in: its keys, and whether its template shows `user` or `messages`
/// (then the session is read for it).
pub fn needs(r: &RouteDef, env: &CompileEnv) -> Needs {
    let shows = |word: &str| own_template_names(r, env, word);
    let staff = r.raw.staff_required == Some(true);
    Needs {
        login: staff || r.raw.login_required == Some(true),
        staff,
        admin: r.name.as_deref().is_some_and(crate::admin::owns),
        user: shows("user"),
        messages: shows("messages"),
    }
}

/// Whether a template (or a partial it calls) may read the context entry `word` (`user`,
/// `messages`): the word followed by what ends a Handlebars name (`.`, `}`, `)`, a space…),
/// so that `params.username` is not `user`. Only ever a safe "yes" (prose counts too); with
/// no renderer, yes.
pub fn names(renderer: Option<&crate::render::Renderer>, template: &str, word: &str) -> bool {
    renderer.is_none_or(|r| {
        [".", "}", ")", " ", "~", "\n", "]"]
            .iter()
            .any(|end| r.mentions(template, &format!("{word}{end}")))
    })
}

/// Whether the route's own `template:` may read `word` (as [`names`] says); the built-in pages
/// (no `template:`) read neither `user`, `messages` nor `no_users`.
fn own_template_names(r: &RouteDef, env: &CompileEnv, word: &str) -> bool {
    r.raw
        .template
        .as_deref()
        .is_some_and(|t| names(env.renderer.as_deref(), t, word))
}

/// `success`: a route name without arguments, reversed once; `/` when absent.
fn success_path(r: &RouteDef, env: &CompileEnv, errors: &mut Vec<Diagnostic>) -> String {
    let Some(name) = &r.raw.success else {
        return "/".into();
    };
    match env.router.reverse(name, Args::Positional(&[])) {
        Ok(path) => path,
        Err(e) => {
            errors.push(
                r.source
                    .diag(&r.key("success"), format!("cannot go to `{name}`: {e}"))
                    .with_hint(env.router.suggest(name)),
            );
            "/".into()
        }
    }
}

/// The request's `next` (form, then query) when it is safe to go to.
fn safe_next(req: &super::Request) -> Option<&str> {
    req.form_last("next")
        .or_else(|| req.last("next"))
        .filter(|n| auth::safe_next(n))
}

/// Where to go after signing in or out: a safe `next` as a URI, else `success`.
fn next_or(req: &super::Request, success: &str) -> String {
    safe_next(req).map_or_else(|| success.to_string(), super::request::iri_to_uri)
}

/// A compiled `view: login`.
#[derive(Debug)]
pub struct LoginView {
    template: Option<String>,
    uses: Uses,
    success: String,
    /// The admin's own sign-in page: only staff may sign in there.
    staff_only: bool,
    /// The route's `context:`, merged into the page's.
    context: Map<String, serde_json::Value>,
    /// Whether the page may show `form.no_users` (the admin's does): only then is the
    /// database asked, on each render (a user added while serving is seen at once).
    shows_no_users: bool,
    /// `success_message:` (`{username}`), kept in the new session.
    message: Option<super::message::SuccessMessage>,
}

impl LoginView {
    /// The route's own template (`None`: the built-in form), for `trellis routes`.
    pub fn template(&self) -> Option<&str> {
        self.template.as_deref()
    }

    pub fn compile(r: &RouteDef, env: &mut CompileEnv, errors: &mut Vec<Diagnostic>) -> LoginView {
        let success = success_path(r, env, errors);
        let builtin = (BUILTIN, LOGIN_TEMPLATE, "the built-in sign-in form");
        let uses = super::template::own_or_builtin(r, env, builtin, errors);
        super::template::warn_without_csrf(r, &uses, errors);
        LoginView {
            template: r.raw.template.clone(),
            uses,
            success,
            staff_only: r.name.as_deref() == Some(crate::admin::LOGIN),
            context: r.context(),
            shows_no_users: own_template_names(r, env, "no_users"),
            message: super::message::SuccessMessage::compile_login(r, errors),
        }
    }

    /// GET shows the form; POST signs in (303) or shows it again with [`INVALID`] (400;
    /// [`ADMIN_INVALID`] on the admin's page, for a user who is not staff too), or refuses
    /// while too many attempts failed (429).
    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let req = call.req;
        if req.is_safe() {
            return self.render(ctx, &call, "", None, 200);
        }
        let db = ctx
            .db
            .ok_or_else(|| call.internal("sign-in needs a database"))?;
        let settings = &ctx.settings.auth;
        let typed = req.form_last("username").unwrap_or_default();
        // Counted, and cleared, by its normal form: `ａnn` is `ann` (Django's normalize_username).
        let normal = auth::normalize_username(typed);
        let username = normal.as_str();
        let password = req.form_last("password").unwrap_or_default();
        let now = auth::now();
        let since = now - settings.window;
        let counted: Vec<(&str, &str)> = [
            ("user", username),
            ("address", req.client.as_deref().unwrap_or_default()),
        ]
        .into_iter()
        .filter(|(_, key)| !key.is_empty())
        .collect();
        let attempt = db
            .with(|c| {
                store::begin_attempt(&mut c.conn, &counted, now, since, settings.max_failures)
            })
            .map_err(|e| call.db(e))?;
        let ids = match attempt {
            store::Attempt::Counted(ids) => ids,
            store::Attempt::Refused {
                kind,
                count,
                oldest,
            } => {
                let wait = (oldest + settings.window - now).max(1);
                tracing::warn!(
                    "sign-in refused: too many failures for this {kind} ({count}): {}",
                    call.origin
                );
                let mut r = Response::html(429, THROTTLED.into());
                r.header("Retry-After", wait.to_string());
                return Ok(r);
            }
        };
        let found = db
            .with(|c| auth::find_user(c, typed))
            .map_err(|e| call.db(e))?;
        let user = match found {
            Some((user, hash)) => (auth::verify_password(&hash, password)
                && user.is_active
                && (user.is_staff || !self.staff_only))
                .then_some(user),
            None => {
                auth::verify_password(auth::dummy_hash(), password);
                None
            }
        };
        let Some(user) = user else {
            // Already counted as a failure by `begin_attempt`.
            let invalid = if self.staff_only {
                ADMIN_INVALID
            } else {
                INVALID
            };
            return self.render(ctx, &call, typed, Some(invalid), 400);
        };
        let key = auth::new_key();
        let old = req.cookie(COOKIE).map(str::to_string);
        db.with(|c| {
            // Signing in again as the same user keeps the messages not shown yet (Django's
            // `login()` keeps the session's data then); another user's are never carried over.
            let mut kept = None;
            if let Some(old) = &old {
                kept = store::own_messages(&c.conn, old, user.id, now)?;
                store::delete_session(&c.conn, old, now)?;
            }
            store::forget_attempt(&c.conn, &ids, ("user", username))?;
            store::create_session(&c.conn, &key, user.id, now + settings.session_age)?;
            match kept {
                Some(messages) => store::set_messages(&c.conn, &key, &messages),
                None => Ok(()),
            }
        })
        .map_err(|e| call.db(e))?;
        if let Some(message) = &self.message {
            let row = Map::from_iter([("username".to_string(), user.username.clone().into())]);
            // Signed in already: a message that cannot be kept is logged, not a failed sign-in.
            if let Err(e) = auth::add_message_to(db, &key, "success", &message.fill(&row)) {
                tracing::warn!("keeping the message after {}: {e}", call.origin);
            }
        }
        let mut r = Response::redirect(303, next_or(req, &self.success));
        let age = u64::try_from(settings.session_age).unwrap_or(0);
        r.header(
            "Set-Cookie",
            set_cookie(COOKIE, &key, Some(age), true, req.secure),
        );
        super::csrf::rotate(req, &mut r);
        Ok(r)
    }

    fn render(
        &self,
        ctx: &Ctx,
        call: &Call,
        username: &str,
        error: Option<&str>,
        status: u16,
    ) -> Result<Response, ViewError> {
        let next = safe_next(call.req).unwrap_or_default();
        let mut form = json!({"username": username, "error": error, "next": next});
        // With no user at all, a page can say how to make the first one (the admin's does).
        if self.shows_no_users {
            let no_users = match ctx.db {
                Some(db) => !db
                    .with(|c| store::has_users(&c.conn))
                    .map_err(|e| call.db(e))?,
                None => true,
            };
            form["no_users"] = no_users.into();
        }
        let mut extra = self.context.clone();
        extra.insert("form".into(), form);
        let context = ctx.context(call.req, call.params, call.query.clone(), extra, self.uses);
        let body = match &self.template {
            Some(t) => ctx.renderer.render(t, context),
            None => ctx.renderer.render_inline(BUILTIN, Escape::Html, context),
        }
        .map_err(|e| {
            ViewError::render(
                format_args!("rendering the sign-in form of {}", call.origin),
                e,
            )
        })?;
        Ok(Response::html(status, body))
    }
}

/// A compiled `view: logout`.
#[derive(Debug)]
pub struct LogoutView {
    success: String,
}

impl LogoutView {
    pub fn compile(r: &RouteDef, env: &mut CompileEnv, errors: &mut Vec<Diagnostic>) -> LogoutView {
        LogoutView {
            success: success_path(r, env, errors),
        }
    }

    /// Delete the session's row (and any expired ones), clear the cookie, redirect (303).
    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let req = call.req;
        if let Some(db) = ctx.db {
            let key = req.cookie(COOKIE).unwrap_or_default();
            db.with(|c| store::delete_session(&c.conn, key, auth::now()))
                .map_err(|e| call.db(e))?;
        }
        let mut r = Response::redirect(303, next_or(req, &self.success));
        r.header(
            "Set-Cookie",
            set_cookie(COOKIE, "", Some(0), true, req.secure),
        );
        Ok(r)
    }
}

/// The body of a 429.
const THROTTLED: &str = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Too many attempts</title></head>\n<body><h1>Too many attempts</h1><p>Too many failed sign-ins. Try again later.</p></body></html>\n";

/// The built-in sign-in page, for a `login` route without `template:` (escaped like a site's
/// templates; it mentions `csrf_`, so the page gets a token and its cookie).
pub const LOGIN_TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in</title></head>
<body>
<h1>Sign in</h1>
{{#if form.error}}<p class="error">{{form.error}}</p>{{/if}}
<form method="post">
{{csrf_input}}
<p><label for="id_username">Username</label>
<input id="id_username" name="username" value="{{form.username}}" autocomplete="username" required autofocus></p>
<p><label for="id_password">Password</label>
<input id="id_password" type="password" name="password" autocomplete="current-password" required></p>
{{#if form.next}}<input type="hidden" name="next" value="{{form.next}}">{{/if}}
<p><button type="submit">Sign in</button></p>
</form>
</body>
</html>
"#;
