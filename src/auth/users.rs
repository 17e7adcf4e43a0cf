//! `trellis user add|passwd|remove|list|staff|clearsessions`: the site's users, from the command line
//! (Django's `createsuperuser` and `changepassword`). The password comes from a prompt without
//! echo when standard input is a terminal, else from its first line (for scripts and tests).

use std::io::{BufRead, IsTerminal};

use crate::db::session as store;
use crate::Site;

/// What `trellis user` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Add {
        username: String,
        staff: bool,
    },
    Passwd {
        username: String,
    },
    Remove {
        username: String,
    },
    Staff {
        username: String,
        staff: bool,
    },
    List,
    /// Delete the expired sessions and old failed sign-ins (Django's `clearsessions`).
    ClearSessions,
}

/// A password typed twice at a prompt without echo, or the first line of standard input.
pub fn read_password() -> Result<String, String> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Password (again): ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ; nothing was changed".into());
        }
        first
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading the password from standard input: {e}"))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if password.is_empty() {
        return Err("the password is empty; nothing was changed".into());
    }
    strong_enough(&password)?;
    Ok(password)
}

/// The shortest password `trellis user` takes: Django's `MinimumLengthValidator` default.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Django's default password checks that need no word list (`MinimumLengthValidator`,
/// `NumericPasswordValidator`), in its words, with what was kept.
fn strong_enough(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "this password is too short: it must contain at least {MIN_PASSWORD_CHARS} characters; nothing was changed"
        ));
    }
    if password.chars().all(|c| c.is_numeric()) {
        return Err("this password is entirely numeric; nothing was changed".into());
    }
    Ok(())
}

/// Run `action` on the site's (migrated) database; `password` is asked only by `add` and
/// `passwd`. What to print on success, or the error in the user's words.
pub fn run(
    site: &Site,
    action: &Action,
    password: impl FnOnce() -> Result<String, String>,
) -> Result<String, String> {
    let Some(db) = &site.db else {
        return Err("this site has no database: set `site.database` (users are kept in it)".into());
    };
    let conn = crate::db::connect(&db.path).map_err(|e| e.to_string())?;
    let no_user = |u: &str| format!("no user `{u}` (`trellis user list` shows them)");
    let check_name = |u: &str| {
        if u.trim().is_empty() || u.chars().any(char::is_control) || u.chars().count() > 150 {
            Err(format!(
                "`{u}` is not a username: 1 to 150 characters, no control characters"
            ))
        } else {
            Ok(())
        }
    };
    // The stored name a command means: as typed when a user has it (one added before names
    // were normalised), else its normal form.
    let stored = |typed: &String| -> Result<String, String> {
        match store::user_with_hash(&conn, typed).map_err(|e| e.to_string())? {
            Some(_) => Ok(typed.clone()),
            None => Ok(crate::auth::normalize_username(typed)),
        }
    };
    match action {
        Action::Add { username, staff } => {
            check_name(username)?;
            if username.trim() != username {
                return Err(format!(
                    "`{username}` starts or ends with a space; a username may not (nothing was changed)"
                ));
            }
            // Stored in NFKC (Django's normalize_username): `ａnn` is `ann`.
            let username = &crate::auth::normalize_username(username);
            if store::user_with_hash(&conn, username)
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Err(format!(
                    "a user `{username}` exists already (`trellis user passwd` changes a password)"
                ));
            }
            let hash = crate::auth::hash_password(&password()?)?;
            match store::add_user(&conn, username, &hash, *staff).map_err(|e| e.to_string())? {
                true => Ok(format!(
                    "added {}user {username}",
                    if *staff { "staff " } else { "" }
                )),
                false => Err(format!("a user `{username}` exists already")),
            }
        }
        Action::Passwd { username } => {
            let username = &stored(username)?;
            if store::user_with_hash(&conn, username)
                .map_err(|e| e.to_string())?
                .is_none()
            {
                return Err(no_user(username));
            }
            let hash = crate::auth::hash_password(&password()?)?;
            match store::set_password(&conn, username, &hash).map_err(|e| e.to_string())? {
                true => Ok(format!(
                    "changed the password of {username} (their sessions are ended)"
                )),
                false => Err(no_user(username)),
            }
        }
        Action::Remove { username } => {
            let username = &stored(username)?;
            match store::remove_user(&conn, username).map_err(|e| e.to_string())? {
                true => Ok(format!("removed user {username}")),
                false => Err(no_user(username)),
            }
        }
        Action::Staff { username, staff } => {
            let username = &stored(username)?;
            match store::set_staff(&conn, username, *staff).map_err(|e| e.to_string())? {
                true => Ok(format!(
                    "{username} is {}staff",
                    if *staff { "" } else { "no longer " }
                )),
                false => Err(no_user(username)),
            }
        }
        Action::ClearSessions => {
            let counts = crate::auth::purge(db, &site.settings.auth).map_err(|e| e.to_string())?;
            Ok(crate::auth::purged(counts)
                .unwrap_or_else(|| "no expired sessions or old failed sign-ins".into()))
        }
        Action::List => {
            let users = store::list_users(&conn).map_err(|e| e.to_string())?;
            if users.is_empty() {
                return Ok("no users (`trellis user add USERNAME` adds one)".into());
            }
            let mut out = format!(
                "{:<24} {:<6} {:<7} {:<21} LAST SIGN-IN\n",
                "USERNAME", "STAFF", "ACTIVE", "JOINED"
            );
            for u in users {
                out.push_str(&format!(
                    "{:<24} {:<6} {:<7} {:<21} {}\n",
                    u.username,
                    if u.is_staff { "yes" } else { "no" },
                    if u.is_active { "yes" } else { "no" },
                    u.date_joined,
                    u.last_login.as_deref().unwrap_or("never")
                ));
            }
            Ok(out.trim_end().to_string())
        }
    }
}
