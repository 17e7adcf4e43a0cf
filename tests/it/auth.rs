//! Sessions, users, sign-in and `login_required` (issue 11, step 5): in process for the logic
//! (requests built with cookies and a client address), over real HTTP where the wire matters
//! (the cookie's attributes, `Secure` behind a trusted HTTPS proxy, the log), and the real
//! binary for `trellis user`. Time moves by editing the SQLite file, never by sleeping.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use rusqlite::Connection;
use trellis::views::Request;

use crate::common::{
    check_prints, command, write_files, Local, Resp, Server, SiteDir, CSRF_SECRET,
};

const SITE: &str = "site: { database: db.sqlite3 }
routes:
  - { path: '', name: home, view: template, template: home.hbs }
  - { path: login/, name: login, view: login, success: home }
  - { path: logout/, name: logout, view: logout, success: home }
  - { path: private/, name: private, view: template, template: private.hbs, login_required: true }
  - { path: staff/, name: staff, view: template, template: private.hbs, staff_required: true }
";

const HOME: &str = "{{#if user.is_authenticated}}Hello {{user.username}}{{else}}Anonymous{{/if}}\
{{#each messages}}[{{level}}: {{text}}]{{/each}}";

fn site() -> (SiteDir, Local) {
    let dir = write_files(&[
        ("site.yaml", SITE),
        ("templates/home.hbs", HOME),
        (
            "templates/private.hbs",
            "Private for {{user.username}} staff={{user.is_staff}}",
        ),
    ]);
    let local = Local::load(&dir.path);
    add_user(&dir.path, "ann", "correct horse", false, true);
    add_user(&dir.path, "root", "staff pass", true, true);
    add_user(&dir.path, "gone", "gone pass", false, false);
    (dir, local)
}

fn db(dir: &Path) -> Connection {
    Connection::open(dir.join("db.sqlite3")).unwrap()
}

fn add_user(dir: &Path, name: &str, password: &str, staff: bool, active: bool) {
    let hash = trellis::auth::hash_password(password).unwrap();
    db(dir)
        .execute(
            "INSERT INTO trellis_user (username, password, is_staff, is_active, date_joined) VALUES (?1, ?2, ?3, ?4, '2026-01-01T00:00:00Z')",
            rusqlite::params![name, hash, staff, active],
        )
        .unwrap();
}

/// The stored password (hash) of a user.
fn password_of(dir: &Path, name: &str) -> String {
    db(dir)
        .query_row(
            "SELECT password FROM trellis_user WHERE username = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
}

fn sessions(dir: &Path) -> Vec<String> {
    let conn = db(dir);
    let mut stmt = conn
        .prepare("SELECT session_key FROM trellis_session ORDER BY session_key")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A form POST with a CSRF token that passes, extra cookies, from `client`.
fn post(local: &Local, target: &str, body: &str, cookies: &str, client: &str) -> Resp {
    let mut req = Request::new("POST", target)
        .with_cookies(&format!("csrftoken={CSRF_SECRET}; {cookies}"))
        .with_form(&format!("csrfmiddlewaretoken={CSRF_SECRET}&{body}"));
    req.client = Some(client.into());
    local.send(&req)
}

fn get(local: &Local, target: &str, cookies: &str) -> Resp {
    local.send(&Request::get(target).with_cookies(cookies))
}

fn sign_in(local: &Local, user: &str, password: &str) -> Resp {
    attempt(local, user, password, "10.0.0.1")
}

/// The `sessionid` value a response sets.
pub(crate) fn session_cookie(r: &Resp) -> String {
    r.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix("sessionid="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no sessionid cookie in {:?}", r.headers))
        .to_string()
}

fn cookie_line<'r>(r: &'r Resp, name: &str) -> &'r str {
    r.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find(|(_, v)| v.starts_with(&format!("{name}=")))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", r.headers))
}

#[test]
fn sign_in_shows_the_user_and_sign_out_deletes_the_session() {
    let (dir, local) = site();
    let form = local.get("/login/");
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("name=\"csrfmiddlewaretoken\""),
        "{}",
        form.body
    );
    assert!(form.body.contains("type=\"password\" name=\"password\""));

    let r = sign_in(&local, "ann", "correct horse");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/"));
    let key = session_cookie(&r);
    assert_eq!(key.len(), 32);
    assert_eq!(sessions(&dir.path), vec![key.clone()]);
    let last_login: Option<String> = db(&dir.path)
        .query_row(
            "SELECT last_login FROM trellis_user WHERE username = 'ann'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(last_login.is_some());

    let cookie = format!("sessionid={key}");
    let home = get(&local, "/", &cookie);
    assert_eq!(home.body, "Hello ann");
    assert!(home.header("vary").is_some_and(|v| v.contains("Cookie")));
    assert_eq!(get(&local, "/", "").body, "Anonymous");

    // Sign-out is POST only (Django 5), and deletes the row.
    let link = get(&local, "/logout/", &cookie);
    assert_eq!(link.status, 405);
    assert_eq!(link.header("allow"), Some("POST, OPTIONS"));
    assert_eq!(sessions(&dir.path).len(), 1, "a GET signs no one out");
    let out = post(&local, "/logout/", "", &cookie, "10.0.0.1");
    assert_eq!(out.status, 303);
    assert!(cookie_line(&out, "sessionid").contains("Max-Age=0"));
    assert!(sessions(&dir.path).is_empty());
    assert_eq!(get(&local, "/", &cookie).body, "Anonymous");
}

/// A site's own sign-in template (here through a partial) sees `form.no_users` while the site
/// has no user, and sees the first user added while the site is loaded.
#[test]
fn a_sign_in_template_shows_no_users_until_the_first_is_added() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3 }
routes:
  - { path: signin/, name: login, view: login, template: signin.hbs }
",
        ),
        ("templates/signin.hbs", "{{> parts/hint}}{{csrf_input}}"),
        (
            "templates/parts/hint.hbs",
            "{{#if form.no_users}}No user yet{{else}}Sign in{{/if}}",
        ),
    ]);
    let local = Local::load(&dir.path);
    let r = local.get("/signin/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.starts_with("No user yet"), "{}", r.body);
    add_user(&dir.path, "ann", "correct horse", false, true);
    let r = local.get("/signin/");
    assert!(r.body.starts_with("Sign in"), "{}", r.body);
}

#[test]
fn wrong_password_unknown_user_and_inactive_user_get_the_same_400() {
    let (dir, local) = site();
    for (user, password) in [
        ("ann", "wrong"),
        ("nobody", "correct horse"),
        ("gone", "gone pass"),
    ] {
        let r = sign_in(&local, user, password);
        assert_eq!(r.status, 400, "{user}");
        assert!(
            r.body
                .contains("Please enter a correct username and password."),
            "{}",
            r.body
        );
        assert!(r.headers.iter().all(|(_, v)| !v.starts_with("sessionid=")));
    }
    assert!(sessions(&dir.path).is_empty());
    // The username is kept in the form, escaped.
    let r = sign_in(&local, "<script>", "x");
    assert!(r.body.contains("value=\"&lt;script&gt;\""), "{}", r.body);
}

#[test]
fn an_expired_session_is_not_honoured() {
    let (dir, local) = site();
    let key = session_cookie(&sign_in(&local, "ann", "correct horse"));
    let cookie = format!("sessionid={key}");
    assert_eq!(get(&local, "/private/", &cookie).status, 200);
    db(&dir.path)
        .execute(
            "UPDATE trellis_session SET expires = strftime('%s', 'now') - 1",
            [],
        )
        .unwrap();
    let r = get(&local, "/private/", &cookie);
    assert_eq!(r.status, 302);
    assert_eq!(get(&local, "/", &cookie).body, "Anonymous");
    // Sign-out removes expired rows too.
    post(&local, "/logout/", "", "", "10.0.0.1");
    assert!(sessions(&dir.path).is_empty());
}

#[test]
fn sign_in_rotates_the_session_id_and_the_csrf_secret() {
    let (dir, local) = site();
    let first = session_cookie(&sign_in(&local, "ann", "correct horse"));
    // Signing in again with the old cookie (or a planted one) gives a new key, the old row gone.
    let r = post(
        &local,
        "/login/",
        "username=root&password=staff+pass",
        &format!("sessionid={first}"),
        "10.0.0.1",
    );
    let second = session_cookie(&r);
    assert_ne!(first, second);
    assert_eq!(sessions(&dir.path), vec![second]);
    let csrf = cookie_line(&r, "csrftoken");
    assert!(!csrf.contains(CSRF_SECRET), "{csrf}");
}

#[test]
fn after_sign_in_forms_are_checked_against_the_new_csrf_secret_for_a_year() {
    let (_dir, local) = site();
    let r = sign_in(&local, "ann", "correct horse");
    let session = session_cookie(&r);
    let line = cookie_line(&r, "csrftoken");
    assert!(line.contains("Max-Age=31536000"), "{line}");
    let secret = line["csrftoken=".len()..].split(';').next().unwrap();
    assert!(
        secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{line}"
    );
    let log_out = |token: &str| {
        local.send(
            &Request::new("POST", "/logout/")
                .with_cookies(&format!("csrftoken={secret}; sessionid={session}"))
                .with_form(&format!("csrfmiddlewaretoken={token}")),
        )
    };
    // The secret of before sign-in no longer passes; the new one does.
    assert_eq!(log_out(CSRF_SECRET).status, 403);
    assert_eq!(log_out(secret).status, 303);
}

/// The status of a sign-in as `user` with `password` from `client`.
fn attempt(local: &Local, user: &str, password: &str, client: &str) -> Resp {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("username", user)
        .append_pair("password", password)
        .finish();
    post(local, "/login/", &body, "", client)
}

/// Move every counted failure back by the window (15 minutes), as time passing would.
fn pass_the_window(dir: &Path) {
    db(dir)
        .execute("UPDATE trellis_login_failure SET at = at - 900", [])
        .unwrap();
}

#[test]
fn failed_sign_ins_are_slowed_per_username_until_the_window_passes() {
    let (dir, local) = site();
    for i in 0..5 {
        assert_eq!(
            attempt(&local, "ann", "no", &format!("10.0.1.{i}")).status,
            400
        );
    }
    // Even the right password, from a new address, is refused now.
    let r = attempt(&local, "ann", "correct horse", "10.0.2.1");
    assert_eq!(r.status, 429, "{}", r.body);
    let wait: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // Another user is not slowed by ann's failures.
    assert_eq!(
        attempt(&local, "root", "staff pass", "10.0.2.2").status,
        303
    );
    pass_the_window(&dir.path);
    assert_eq!(
        attempt(&local, "ann", "correct horse", "10.0.2.1").status,
        303
    );
}

#[test]
fn a_sign_in_attempt_forgets_failures_older_than_the_window() {
    let (dir, local) = site();
    for _ in 0..3 {
        assert_eq!(attempt(&local, "ann", "no", "10.0.1.1").status, 400);
    }
    // Each failure is counted for the username and for the address.
    assert_eq!(failure_count(&dir.path), 6);
    pass_the_window(&dir.path);
    assert_eq!(attempt(&local, "ann", "no", "10.0.1.2").status, 400);
    // Only the new attempt's two rows are left: the table does not grow without end.
    assert_eq!(failure_count(&dir.path), 2);
}

/// A right password takes back its own attempt's rows and forgets the username's failures;
/// the failures of the addresses that guessed before are kept.
#[test]
fn a_sign_in_forgets_the_usernames_failures_not_other_addresses() {
    let (dir, local) = site();
    for _ in 0..3 {
        assert_eq!(attempt(&local, "ann", "no", "10.0.1.1").status, 400);
    }
    assert_eq!(attempt(&local, "root", "no", "10.0.1.1").status, 400);
    assert_eq!(failure_count(&dir.path), 8);
    let r = attempt(&local, "ann", "correct horse", "10.0.1.2");
    assert_eq!(r.status, 303, "{}", r.body);
    let left: Vec<(String, String)> = {
        let conn = db(&dir.path);
        let mut stmt = conn
            .prepare("SELECT kind, key FROM trellis_login_failure ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let address = ("address".to_string(), "10.0.1.1".to_string());
    let root = ("user".to_string(), "root".to_string());
    assert_eq!(
        left,
        [&address, &address, &address, &root, &address].map(Clone::clone)
    );
}

#[test]
fn failed_sign_ins_are_slowed_per_client_address() {
    let (dir, local) = site();
    for i in 0..5 {
        assert_eq!(
            attempt(&local, &format!("guess{i}"), "no", "10.9.9.9").status,
            400
        );
    }
    let r = attempt(&local, "ann", "correct horse", "10.9.9.9");
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        attempt(&local, "ann", "correct horse", "10.8.8.8").status,
        303
    );
    pass_the_window(&dir.path);
    assert_eq!(
        attempt(&local, "ann", "correct horse", "10.9.9.9").status,
        303
    );
}

#[test]
fn login_required_redirects_with_next_and_sign_in_goes_back_there() {
    let (_dir, local) = site();
    let r = local.get("/private/?a=1&b=x%20y");
    assert_eq!(r.status, 302);
    let location = r.header("location").unwrap();
    assert_eq!(location, "/login/?next=%2Fprivate%2F%3Fa%3D1%26b%3Dx%2520y");
    // The form carries next; signing in goes there.
    let form = local.get(location);
    assert!(
        form.body
            .contains("name=\"next\" value=\"/private/?a&#x3D;1&amp;b&#x3D;x%20y\""),
        "{}",
        form.body
    );
    let r = post(
        &local,
        "/login/",
        "username=ann&password=correct+horse&next=%2Fprivate%2F%3Fa%3D1%26b%3Dx%2520y",
        "",
        "10.0.0.1",
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/private/?a=1&b=x%20y"));
    let page = get(
        &local,
        "/private/",
        &format!("sessionid={}", session_cookie(&r)),
    );
    assert_eq!(page.body, "Private for ann staff=false");
}

#[test]
fn a_hostile_next_always_lands_on_the_default() {
    let (_dir, local) = site();
    let hostile = [
        "//evil.com",
        "///evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/\\/evil.com",
        "http://evil.com",
        "https://evil.com/",
        "javascript:alert(1)",
        "evil.com",
        "/\t/evil.com",
        " //evil.com",
        "/ok\r\nSet-Cookie: x=1",
        "",
    ];
    for next in hostile {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("username", "ann")
            .append_pair("password", "correct horse")
            .append_pair("next", next)
            .finish();
        let r = post(&local, "/login/", &body, "", "10.0.0.1");
        assert_eq!(r.status, 303, "{next:?}");
        assert_eq!(r.header("location"), Some("/"), "{next:?}");
        // And on sign-out.
        let q: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let r = post(&local, &format!("/logout/?next={q}"), "", "", "10.0.0.1");
        assert_eq!(r.header("location"), Some("/"), "{next:?}");
    }
}

#[test]
fn staff_required_refuses_a_signed_in_user_who_is_not_staff() {
    let (_dir, local) = site();
    assert_eq!(local.get("/staff/").status, 302);
    let ann = session_cookie(&sign_in(&local, "ann", "correct horse"));
    assert_eq!(
        get(&local, "/staff/", &format!("sessionid={ann}")).status,
        403
    );
    let root = session_cookie(&sign_in(&local, "root", "staff pass"));
    let r = get(&local, "/staff/", &format!("sessionid={root}"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "Private for root staff=true")
    );
}

#[test]
fn messages_in_the_session_are_shown_once_and_escaped() {
    let (dir, local) = site();
    let key = session_cookie(&sign_in(&local, "ann", "correct horse"));
    db(&dir.path)
        .execute(
            "UPDATE trellis_session SET messages = '[{\"level\":\"success\",\"text\":\"<b>Saved</b>\"}]'",
            [],
        )
        .unwrap();
    let cookie = format!("sessionid={key}");
    assert_eq!(
        get(&local, "/", &cookie).body,
        "Hello ann[success: &lt;b&gt;Saved&lt;/b&gt;]"
    );
    assert_eq!(get(&local, "/", &cookie).body, "Hello ann");
}

#[test]
fn a_route_that_needs_sign_in_without_a_sign_in_route_is_refused_at_load() {
    check_prints(
        "site: { database: db.sqlite3 }
routes:
  - { path: '', view: template, template: home.hbs, login_required: true }
",
        &[
            "no sign-in route to send visitors to",
            "add a route with `view: login`",
        ],
    );
    check_prints(
        "site: { database: db.sqlite3 }
models:
  Account: { table: trellis_user, fields: { name: { type: string } } }
routes: []
",
        &["the table `trellis_user` is Trellis's own"],
    );
    check_prints(
        "site: { database: db.sqlite3 }
routes:
  - { path: 'login/<int:n>/', name: login, view: login }
",
        &["the sign-in route cannot have captures"],
    );
}

pub(crate) fn user(dir: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let tmp = tempfile::TempDir::new().unwrap();
    let mut child = command(tmp.path())
        .arg("user")
        .args(&args[..1])
        .arg(dir)
        .args(&args[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn trellis_user_adds_changes_lists_and_removes_users() {
    let dir = write_files(&[("site.yaml", "site: { database: db.sqlite3 }\nroutes: []\n")]);
    let (ok, out, err) = user(&dir.path, &["add", "ann", "--staff"], "s3cret-horse\n");
    assert!(ok, "{err}");
    assert!(out.contains("added staff user ann"), "{out}");
    let (ok, _, err) = user(&dir.path, &["add", "ann"], "x\n");
    assert!(!ok && err.contains("a user `ann` exists already"), "{err}");
    let (ok, _, err) = user(&dir.path, &["add", "bob"], "\n");
    assert!(!ok && err.contains("the password is empty"), "{err}");
    // Django's default validators that need no word list: 8 characters, not all digits.
    let (ok, _, err) = user(&dir.path, &["add", "bob"], "abc1234\n");
    assert!(
        !ok && err.contains("too short: it must contain at least 8 characters"),
        "{err}"
    );
    let (ok, _, err) = user(&dir.path, &["add", "bob"], "12345678901\n");
    assert!(!ok && err.contains("entirely numeric"), "{err}");
    let (ok, out, _) = user(&dir.path, &["list"], "");
    assert!(ok);
    assert!(
        out.lines()
            .any(|l| l.starts_with("ann") && l.contains("yes")),
        "{out}"
    );
    assert!(!out.contains("bob"));

    let hash = password_of(&dir.path, "ann");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(trellis::auth::verify_password(&hash, "s3cret-horse"));

    let (ok, _, err) = user(&dir.path, &["passwd", "ann"], "n3w-horse\n");
    assert!(ok, "{err}");
    let hash = password_of(&dir.path, "ann");
    assert!(trellis::auth::verify_password(&hash, "n3w-horse"));
    let (ok, _, err) = user(&dir.path, &["passwd", "ann"], "short\n");
    assert!(!ok && err.contains("too short"), "{err}");
    assert!(trellis::auth::verify_password(
        &password_of(&dir.path, "ann"),
        "n3w-horse"
    ));
    let (ok, _, err) = user(&dir.path, &["passwd", "nobody"], "x\n");
    assert!(!ok && err.contains("no user `nobody`"), "{err}");
    let (ok, out, _) = user(&dir.path, &["staff", "ann", "--revoke"], "");
    assert!(ok && out.contains("no longer staff"), "{out}");

    // Neither password is anywhere in the database's files.
    for entry in std::fs::read_dir(&dir.path).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        for password in ["s3cret-horse", "n3w-horse"] {
            assert!(
                !bytes
                    .windows(password.len())
                    .any(|w| w == password.as_bytes()),
                "{password} in {}",
                entry.path().display()
            );
        }
    }
    let (ok, out, _) = user(&dir.path, &["remove", "ann"], "");
    assert!(ok && out.contains("removed user ann"));
    let (ok, _, err) = user(&dir.path, &["remove", "ann"], "");
    assert!(!ok && err.contains("no user `ann`"));
    let (_, out, _) = user(&dir.path, &["list"], "");
    assert!(out.contains("no users"), "{out}");
}

/// Over the wire: the cookie's attributes, `Secure` behind a trusted HTTPS proxy, and a
/// password never in the log.
#[test]
fn over_http_the_session_cookie_is_httponly_lax_and_secure_behind_https() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3, proxy: { scheme_header: { name: X-Forwarded-Proto, value: https } } }\nroutes:\n  - { path: '', name: home, view: template, template: home.hbs }\n  - { path: login/, name: login, view: login, success: home }\n",
        ),
        ("templates/home.hbs", HOME),
    ]);
    let (ok, _, err) = user(&dir.path, &["add", "ann"], "wire-pass-123\n");
    assert!(ok, "{err}");
    let server = Server::start_site(&dir);
    let form = server.get("/login/");
    let csrf = cookie_line(&form, "csrftoken")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let token = form
        .body
        .split("name=\"csrfmiddlewaretoken\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let body = format!("csrfmiddlewaretoken={token}&username=ann&password=wire-pass-123");
    let host = format!("127.0.0.1:{}", server.addr.port());
    let origin = format!("http://{host}");
    let headers = [
        ("Cookie", csrf.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Origin", origin.as_str()),
    ];
    let r = server.request_with_body("POST", "/login/", &headers, &body);
    assert_eq!(r.status, 303, "{}", r.body);
    let line = cookie_line(&r, "sessionid");
    for part in [
        "; Path=/",
        "; SameSite=Lax",
        "; HttpOnly",
        "; Max-Age=1209600",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(!line.contains("Secure"), "{line}");
    let key = session_cookie(&r);
    let home = server.request("GET", "/", &[("Cookie", &format!("sessionid={key}"))]);
    assert_eq!(home.body, "Hello ann");

    // Over HTTPS (the proxy on 127.0.0.1 is trusted by default), the cookie is Secure.
    let https_origin = format!("https://{host}");
    let headers = [
        ("Cookie", csrf.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Origin", https_origin.as_str()),
        ("X-Forwarded-Proto", "https"),
    ];
    let r = server.request_with_body("POST", "/login/", &headers, &body);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(cookie_line(&r, "sessionid").contains("; Secure"));
    assert!(!server.log().contains("wire-pass-123"));
}

/// Signing in writes (a session, a failure count): it is never tried briefly on the worker,
/// where a try cut short would run again.
#[test]
fn sign_in_is_never_tried_briefly() {
    let (dir, local) = site();
    assert!(local
        .post_form_briefly("/login/", "username=ann&password=correct+horse")
        .is_none());
    assert!(sessions(&dir.path).is_empty());
}

/// `X-Forwarded-For` is believed only with `site.proxy.forwarded_for`: without it, a client
/// cannot dodge the per-address count by sending a new address each time.
#[test]
fn over_http_a_forwarded_address_is_not_believed_unless_configured() {
    let dir = write_files(&[(
        "site.yaml",
        "site: { database: db.sqlite3 }\nroutes:\n  - { path: login/, name: login, view: login }\n",
    )]);
    let server = Server::start_site(&dir);
    let origin = format!("http://127.0.0.1:{}", server.addr.port());
    let cookie = format!("csrftoken={CSRF_SECRET}");
    let attempt = |user: &str, forwarded: &str| {
        let headers = [
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", origin.as_str()),
            ("X-Forwarded-For", forwarded),
        ];
        let body = format!("csrfmiddlewaretoken={CSRF_SECRET}&username={user}&password=x");
        server
            .request_with_body("POST", "/login/", &headers, &body)
            .status
    };
    for i in 0..5 {
        assert_eq!(attempt(&format!("u{i}"), &format!("203.0.113.{i}")), 400);
    }
    assert_eq!(attempt("u9", "203.0.113.99"), 429);
}

/// Only a template that names `user` or `messages` reads the session: `params.username` is
/// not `user`, so such a page neither reads the session nor varies by cookie.
#[test]
fn a_page_reads_the_session_only_when_its_template_names_user() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3 }\nroutes:\n  - { path: 'u/<str:username>/', view: template, template: u.hbs }\n  - { path: '', view: template, template: home.hbs }\n",
        ),
        ("templates/u.hbs", "Profile of {{params.username}}"),
        ("templates/home.hbs", HOME),
    ]);
    let local = Local::load(&dir.path);
    let cookie = format!("sessionid={}", "a".repeat(32));
    let r = get(&local, "/u/ann/", &cookie);
    assert_eq!(r.body, "Profile of ann");
    assert_eq!(r.header("vary"), None);
    let r = get(&local, "/", &cookie);
    assert_eq!(r.body, "Anonymous");
    assert!(r.header("vary").is_some_and(|v| v.contains("Cookie")));
}

/// The rows of `trellis_login_failure`.
fn failure_count(dir: &Path) -> i64 {
    db(dir)
        .query_row("SELECT count(*) FROM trellis_login_failure", [], |r| {
            r.get(0)
        })
        .unwrap()
}

/// Two sessions (ann's expired, root's not) and two failed sign-ins past the window.
fn expired_rows(dir: &Path, local: &Local) -> String {
    session_cookie(&sign_in(local, "ann", "correct horse"));
    let root = session_cookie(&sign_in(local, "root", "staff pass"));
    assert_eq!(attempt(local, "ann", "wrong", "10.0.0.9").status, 400);
    db(dir)
        .execute(
            "UPDATE trellis_session SET expires = strftime('%s', 'now') - 1 WHERE session_key != ?1",
            [&root],
        )
        .unwrap();
    pass_the_window(dir);
    assert_eq!(sessions(dir).len(), 2);
    assert_eq!(failure_count(dir), 2);
    root
}

/// Expired sessions stayed in the file forever unless someone signed out (Django has
/// `clearsessions`).
#[test]
fn trellis_user_clearsessions_deletes_expired_sessions_and_old_failures() {
    let (dir, local) = site();
    let root = expired_rows(&dir.path, &local);
    let (ok, out, err) = user(&dir.path, &["clearsessions"], "");
    assert!(ok, "{err}");
    assert!(
        out.contains("deleted 1 expired session(s) and 2 old failed sign-in(s)"),
        "{out}"
    );
    assert_eq!(sessions(&dir.path), vec![root.clone()]);
    assert_eq!(failure_count(&dir.path), 0);
    // A recent failure is kept: it still counts towards the throttle.
    assert_eq!(attempt(&local, "ann", "wrong", "10.0.0.9").status, 400);
    let (ok, out, _) = user(&dir.path, &["clearsessions"], "");
    assert!(ok && out.contains("no expired sessions"), "{out}");
    assert_eq!(failure_count(&dir.path), 2);
    assert_eq!(sessions(&dir.path), vec![root]);
}

/// `serve` deletes them at start, before it answers (and then hourly, which no test waits for).
#[test]
fn serve_deletes_expired_sessions_and_old_failures_at_start() {
    let (dir, local) = site();
    let root = expired_rows(&dir.path, &local);
    let server = Server::start_site(&dir);
    // The server serves a copy of the folder.
    let copy = server.site.clone().unwrap();
    assert_eq!(sessions(&copy), vec![root.clone()]);
    assert_eq!(failure_count(&copy), 0);
    server.wait_for_log("deleted 1 expired session(s) and 2 old failed sign-in(s)");
    let home = server.request("GET", "/", &[("Cookie", &format!("sessionid={root}"))]);
    assert_eq!(home.body, "Hello root");
}

/// A newcomer who links to the sign-out route got a 405 with an empty body: a blank page. It is
/// still a 405 (Django 5), but a page saying that sign-out needs a POST form, and which.
#[test]
fn a_link_to_sign_out_gets_a_page_saying_it_needs_a_post_form() {
    let (_dir, local) = site();
    let r = get(&local, "/logout/", "");
    assert_eq!(r.status, 405);
    for part in [
        "<title>Method Not Allowed (405)</title>",
        "Signing out needs a form that sends a POST request",
        "&lt;form method=&quot;post&quot; action=&quot;{{url &quot;logout&quot;}}&quot;&gt;{{csrf_input}}&lt;button&gt;Sign out&lt;/button&gt;&lt;/form&gt;",
    ] {
        assert!(r.body.contains(part), "{part}\n---\n{}", r.body);
    }
    // Another route's 405 keeps Django's empty body.
    let r = local.request("PUT", "/");
    assert_eq!((r.status, r.body.as_str()), (405, ""));
}

/// Usernames were stored as typed: `" ann"` and fullwidth `ａnn` made look-alike users of
/// `ann`. They are normalised as Django does (NFKC, surrounding spaces refused at add and
/// stripped at sign-in); a user stored before keeps signing in by the name as it was stored.
#[test]
fn usernames_are_normalised_nfkc_at_add_and_at_sign_in() {
    let (dir, local) = site();
    let (ok, out, err) = user(&dir.path, &["add", "ｂｏｂ"], "bob's pass\n");
    assert!(ok, "{err}");
    assert!(out.contains("added user bob"), "{out}");
    let (ok, _, err) = user(&dir.path, &["add", "bob"], "x\n");
    assert!(!ok && err.contains("a user `bob` exists already"), "{err}");
    let (ok, _, err) = user(&dir.path, &["add", " ann"], "x\n");
    assert!(!ok && err.contains("starts or ends with a space"), "{err}");
    let (ok, _, err) = user(&dir.path, &["add", "ａｎｎ"], "x\n");
    assert!(!ok && err.contains("a user `ann` exists already"), "{err}");
    let names: Vec<String> = {
        let c = db(&dir.path);
        let mut stmt = c
            .prepare("SELECT username FROM trellis_user ORDER BY username")
            .unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    assert_eq!(names, ["ann", "bob", "gone", "root"]);
    // Signing in by a look-alike of the name, or with spaces around it, is signing in as it.
    for typed in ["ｂｏｂ", " bob ", "bob"] {
        let r = sign_in(&local, typed, "bob's pass");
        assert_eq!(r.status, 303, "{typed}: {}", r.body);
        let home = get(&local, "/", &format!("sessionid={}", session_cookie(&r)));
        assert_eq!(home.body, "Hello bob", "{typed}");
    }
    // A user stored before names were normalised signs in, and is found, as stored.
    add_user(&dir.path, "ｏｌｄ", "old pass", false, true);
    assert_eq!(sign_in(&local, "ｏｌｄ", "old pass").status, 303);
    let (ok, out, err) = user(&dir.path, &["staff", "ｏｌｄ"], "");
    assert!(ok && out.contains("ｏｌｄ is staff"), "{out}{err}");
}

/// A site view never added a message: `success_message:` (Django's SuccessMessageMixin) is
/// kept for a signed-in user after the row is saved or deleted, its `{field}`s from the row.
#[test]
fn success_message_is_shown_to_a_signed_in_user_after_saving_with_the_row_escaped() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3 }
models:
  Note: { fields: { title: { type: string }, done: { type: boolean } } }
routes:
  - { path: '', name: home, view: template, template: home.hbs }
  - { path: login/, name: login, view: login, success: home }
  - { path: new/, view: create, model: Note, success: home, success_message: 'Saved “{title}” ({ done }, {{not a field}}).' }
  - { path: 'edit/<int:pk>/', view: update, model: Note, success: home, success_message: 'Changed {title}.' }
  - { path: 'delete/<int:pk>/', view: delete, model: Note, success: home, success_message: 'Deleted {title}.' }
",
        ),
        ("templates/home.hbs", HOME),
    ]);
    let local = Local::load(&dir.path);
    add_user(&dir.path, "ann", "correct horse", false, true);
    let cookie = format!(
        "sessionid={}",
        session_cookie(&sign_in(&local, "ann", "correct horse"))
    );
    let r = post(
        &local,
        "/new/",
        "title=%3Cb%3EHi%3C%2Fb%3E&done=on",
        &cookie,
        "10.0.0.1",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let home = get(&local, "/", &cookie);
    assert_eq!(
        home.body,
        "Hello ann[success: Saved “&lt;b&gt;Hi&lt;/b&gt;” (true, {not a field}).]"
    );
    // Shown once.
    assert_eq!(get(&local, "/", &cookie).body, "Hello ann");
    let r = post(&local, "/edit/1/", "title=Two", &cookie, "10.0.0.1");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        get(&local, "/", &cookie).body,
        "Hello ann[success: Changed Two.]"
    );
    let r = post(&local, "/delete/1/", "", &cookie, "10.0.0.1");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        get(&local, "/", &cookie).body,
        "Hello ann[success: Deleted Two.]"
    );
    // In process the site has no secret key to sign a visitor's `messages` cookie with (over
    // HTTP it does: tests/it/messages.rs): the row is saved, no message, and no session.
    let r = post(&local, "/new/", "title=Anon", "", "10.0.0.2");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(get(&local, "/", "").body, "Anonymous");
    assert_eq!(sessions(&dir.path).len(), 1);
}

#[test]
fn a_success_message_naming_no_field_is_refused_at_load_where_it_is() {
    check_prints(
        "site: { database: db.sqlite3 }
models:
  Note: { fields: { title: { type: string } } }
routes:
  - { path: new/, view: create, model: Note, success_message: 'Saved {titel} and {x}' }
  - { path: 'edit/<int:pk>/', view: update, model: Note, success_message: 'Saved {title' }
  - { path: '', view: template, template: home.hbs, success_message: 'Hi' }
",
        &[
            "site.yaml:5:",
            "routes[0].success_message: `{titel}`: Note has no field `titel`",
            "did you mean `title`?",
            "routes[0].success_message: `{x}`: Note has no field `x`",
            "site.yaml:6:",
            "routes[1].success_message: a lone `{` in \"Saved {title\"",
            "write `{{` or `}}` for a brace",
            "routes[2].success_message: `success_message` does not apply to view `template`",
        ],
    );
}
