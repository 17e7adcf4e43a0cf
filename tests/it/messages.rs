//! Messages for visitors who are not signed in (Django's `CookieStorage`), over real HTTP: a
//! public form's `success_message:` travels in a `messages` cookie signed with the site's secret
//! key, is shown once by the next page that shows `messages`, and a cookie that fails the
//! check (tampered, truncated, another key, another purpose) shows nothing and gives no error.
//! A signed-in user's messages stay in the session.

use std::path::Path;

use trellis::secret::Signer;

use crate::auth::{session_cookie, user};
use crate::common::{check_prints, write_files, Resp, Server, SiteDir};
use crate::crud::{column, submit_with};

const SITE: &str = "site: { database: db.sqlite3, proxy: { scheme_header: { name: X-Forwarded-Proto, value: https } } }
models:
  Entry: { fields: { name: { type: string, max_length: 100 } } }
routes:
  - { path: '', name: home, view: template, template: home.hbs }
  - { path: plain/, name: plain, view: template, template: plain.hbs }
  - { path: sign/, name: sign, view: create, model: Entry, success: home, success_message: 'Thanks, {name}!' }
  - { path: login/, name: login, view: login, success: home, success_message: 'Welcome back, {username}!' }
";

const HOME: &str = "{{#if user.is_authenticated}}Hello {{user.username}}{{else}}Guest{{/if}}\
{{#each messages}}[{{level}}: {{text}}]{{/each}}";

fn site() -> SiteDir {
    write_files(&[
        ("site.yaml", SITE),
        ("templates/home.hbs", HOME),
        ("templates/plain.hbs", "Plain page"),
    ])
}

/// GET the form at `path` (for its CSRF cookie and token), then POST `fields` with `cookies`
/// (`name=value; …`, may be empty) and any `extra` headers.
fn post(server: &Server, path: &str, fields: &str, cookies: &str, extra: &[(&str, &str)]) -> Resp {
    submit_with(server, path, fields, cookies, extra).1
}

fn get(server: &Server, path: &str, cookies: &str) -> Resp {
    server.request("GET", path, &[("Cookie", cookies)])
}

/// The `Set-Cookie` line of the `messages` cookie, if the answer has one.
fn messages_line(r: &Resp) -> Option<&str> {
    r.headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("messages="))
        .map(|(_, v)| v.as_str())
}

/// The `messages` cookie as a browser sends it back (`messages=value`).
fn messages_cookie(r: &Resp) -> String {
    let line = messages_line(r).unwrap_or_else(|| panic!("no messages cookie: {:?}", r.headers));
    line.split(';').next().unwrap().to_string()
}

fn assert_deletes_the_cookie(r: &Resp) {
    let line = messages_line(r).unwrap_or_else(|| panic!("no messages cookie: {:?}", r.headers));
    assert!(
        line.starts_with("messages=;") && line.contains("; Max-Age=0"),
        "{line}"
    );
}

fn names(dir: &Path) -> Vec<String> {
    column(dir, "SELECT name FROM entry ORDER BY id")
}

fn add_ann(dir: &SiteDir) {
    let (ok, _, err) = user(&dir.path, &["add", "ann"], "msg-pass-123\n");
    assert!(ok, "{err}");
}

/// Sign in as ann; her `sessionid` cookie as a browser sends it back.
fn sign_in_as_ann(server: &Server) -> String {
    let fields = "username=ann&password=msg-pass-123";
    let login = post(server, "/login/", fields, "", &[]);
    assert_eq!(login.status, 303, "{}", login.body);
    format!("sessionid={}", session_cookie(&login))
}

/// A public guest book: the visitor who signs it is thanked on the next page, once, with the
/// HTML they typed escaped; the cookie is HttpOnly, SameSite=Lax, lasts the browser's session,
/// and is `Secure` over HTTPS; the pages that touch it are private to the visitor.
#[test]
fn a_visitor_sees_a_public_forms_success_message_once_over_http() {
    let dir = site();
    let server = Server::start_site(&dir);
    let before = get(&server, "/", "");
    assert_eq!(before.body, "Guest");
    assert_eq!(messages_line(&before), None);
    assert_eq!(before.header("cache-control"), None);

    let r = post(&server, "/sign/", "name=%3Cb%3EAnn%3C%2Fb%3E", "", &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(names(server.site_path()), ["<b>Ann</b>"]);
    let line = messages_line(&r).unwrap().to_string();
    for part in ["; Path=/", "; SameSite=Lax", "; HttpOnly"] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(
        !line.contains("Max-Age") && !line.contains("Secure"),
        "{line}"
    );
    assert_eq!(r.header("cache-control"), Some("private"));
    assert!(r.header("vary").is_some_and(|v| v.contains("Cookie")));
    let cookie = messages_cookie(&r);

    // A page that does not show messages leaves the cookie alone.
    let plain = get(&server, "/plain/", &cookie);
    assert_eq!(plain.body, "Plain page");
    assert_eq!(messages_line(&plain), None);

    let shown = get(&server, "/", &cookie);
    assert_eq!(shown.status, 200);
    assert_eq!(
        shown.body,
        "Guest[success: Thanks, &lt;b&gt;Ann&lt;/b&gt;!]"
    );
    assert_deletes_the_cookie(&shown);
    assert_eq!(shown.header("cache-control"), Some("private"));
    assert!(shown.header("vary").is_some_and(|v| v.contains("Cookie")));
    // The browser dropped the cookie: shown once.
    let after = get(&server, "/", "");
    assert_eq!(after.body, "Guest");
    assert_eq!(messages_line(&after), None);

    // Two entries before a page shows them: both, in order.
    let first = post(&server, "/sign/", "name=Bo", "", &[]);
    let second = post(&server, "/sign/", "name=Cy", &messages_cookie(&first), &[]);
    assert_eq!(second.status, 303, "{}", second.body);
    let both = get(&server, "/", &messages_cookie(&second));
    assert_eq!(
        both.body,
        "Guest[success: Thanks, Bo!][success: Thanks, Cy!]"
    );

    // Over HTTPS (a trusted proxy says so), the cookie is Secure.
    let host = format!("127.0.0.1:{}", server.addr.port());
    let origin = format!("https://{host}");
    let https = [("X-Forwarded-Proto", "https"), ("Origin", origin.as_str())];
    let r = post(&server, "/sign/", "name=Di", "", &https);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(messages_line(&r).unwrap().contains("; Secure"));
}

/// A cookie a visitor made or changed is never believed and never an error page: tampered,
/// truncated, signed with another key, or with the site's key for another purpose (salt). The
/// page shows no message and deletes the cookie. A genuine one outlives a reload.
#[test]
fn a_forged_messages_cookie_shows_nothing_and_is_deleted() {
    let dir = site();
    let server = Server::start_site(&dir);
    let r = post(&server, "/sign/", "name=Ann", "", &[]);
    let good = messages_cookie(&r);
    let value = good.strip_prefix("messages=").unwrap().to_string();
    let (payload, sig) = value.rsplit_once(':').unwrap();
    let key = std::fs::read_to_string(server.site_path().join(".trellis-secret-key")).unwrap();
    let evil = serde_json::json!([{"level": "success", "text": "<script>alert(1)</script>"}]);
    let other_key = Signer::new(&"x".repeat(50), trellis::auth::flash::SALT).sign_json(&evil);
    let other_salt = Signer::new(key.trim(), "trellis.something.else").sign_json(&evil);
    // Another payload under the old signature: a message the site never wrote.
    let swapped = format!("{}:{sig}", other_key.rsplit_once(':').unwrap().0);
    let flipped = {
        let mut p = payload.as_bytes().to_vec();
        p[3] = if p[3] == b'A' { b'B' } else { b'A' };
        format!("{}:{sig}", String::from_utf8(p).unwrap())
    };
    let cases = [
        ("tampered", flipped),
        ("swapped", swapped),
        ("truncated", value[..value.len() - 5].to_string()),
        ("no signature", payload.to_string()),
        ("another key", other_key),
        ("another salt", other_salt),
        ("garbage", "%%%:::".into()),
        ("empty", String::new()),
    ];
    for (what, forged) in cases {
        let r = get(&server, "/", &format!("messages={forged}"));
        assert_eq!((what, r.status, r.body.as_str()), (what, 200, "Guest"));
        assert_deletes_the_cookie(&r);
    }
    // The genuine one still reads, after a reload too: the new site signs with the same key.
    let home = server.site_path().join("templates/home.hbs");
    std::fs::write(&home, format!("Reloaded {HOME}")).unwrap();
    server.wait_for_log_count("reloaded in ", 1);
    assert_eq!(
        get(&server, "/", &good).body,
        "Reloaded Guest[success: Thanks, Ann!]"
    );
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

/// A signed-in user's messages stay in the session (no cookie), the sign-in's own
/// `success_message:` first; a page shows those of a cookie left from before signing in
/// before them.
#[test]
fn a_signed_in_users_messages_stay_in_the_session() {
    let dir = site();
    add_ann(&dir);
    let server = Server::start_site(&dir);
    let before = post(&server, "/sign/", "name=Early", "", &[]);
    let early = messages_cookie(&before);
    let session = sign_in_as_ann(&server);
    let r = post(&server, "/sign/", "name=Ann", &session, &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(messages_line(&r), None, "{:?}", r.headers);
    let stored = column(server.site_path(), "SELECT messages FROM trellis_session");
    assert!(stored[0].contains("Thanks, Ann!"), "{stored:?}");
    let home = get(&server, "/", &format!("{session}; {early}"));
    assert_eq!(
        home.body,
        "Hello ann[success: Thanks, Early!][success: Welcome back, ann!][success: Thanks, Ann!]"
    );
    assert_deletes_the_cookie(&home);
    assert_eq!(get(&server, "/", &session).body, "Hello ann");
}

/// Signing in again as the same user keeps the messages not shown yet, as Django's `login()`
/// keeps the session's data for the same user; signing in as another user carries none over.
#[test]
fn signing_in_again_keeps_the_same_users_messages_and_no_one_elses() {
    let dir = site();
    add_ann(&dir);
    let (ok, _, err) = user(&dir.path, &["add", "bob"], "bob-pass-123\n");
    assert!(ok, "{err}");
    let server = Server::start_site(&dir);
    let session = sign_in_as_ann(&server);
    assert_eq!(
        post(&server, "/sign/", "name=Ann", &session, &[]).status,
        303
    );
    // Again as ann, from the signed-in browser: the thanks is still to be shown.
    let fields = "username=ann&password=msg-pass-123";
    let again = post(&server, "/login/", fields, &session, &[]);
    assert_eq!(again.status, 303, "{}", again.body);
    let renewed = format!("sessionid={}", session_cookie(&again));
    assert_ne!(renewed, session, "the key is renewed");
    assert_eq!(
        get(&server, "/", &renewed).body,
        "Hello ann[success: Welcome back, ann!][success: Thanks, Ann!][success: Welcome back, ann!]"
    );
    // ann leaves a message unread; bob signs in on the same browser and sees only his own.
    assert_eq!(
        post(&server, "/sign/", "name=Secret", &renewed, &[]).status,
        303
    );
    let fields = "username=bob&password=bob-pass-123";
    let bob = post(&server, "/login/", fields, &renewed, &[]);
    assert_eq!(bob.status, 303, "{}", bob.body);
    let bob = format!("sessionid={}", session_cookie(&bob));
    assert_eq!(
        get(&server, "/", &bob).body,
        "Hello bob[success: Welcome back, bob!]"
    );
}

/// On a sign-in route, `success_message:` knows one placeholder, `{username}`.
#[test]
fn a_login_success_message_naming_another_field_is_refused_at_load() {
    check_prints(
        "site: { database: db.sqlite3 }
routes:
  - { path: login/, name: login, view: login, success_message: 'Hi {usernme}' }
",
        &[
            "site.yaml:3:",
            "routes[0].success_message: `{usernme}`: the sign-in form has no field `usernme`",
            "did you mean `username`?",
        ],
    );
}

/// A signed-in user's messages wait for a page that shows them: a POST to a form whose page
/// shows `messages` takes none of them when it is refused (no CSRF token; no such row, its
/// 404 page showing no messages) or redirects; the next page shows them all, in order, once.
/// (They were taken when the route was entered, past the CSRF check, so the sign-in's message
/// was lost; and a 404 page that did not show them took them, a visitor's cookie too.)
#[test]
fn a_signed_in_users_messages_outlive_a_post_that_shows_no_page() {
    let site = format!(
        "{SITE}  - {{ path: note/, name: note, view: create, model: Entry, template: note.hbs, success: home, success_message: 'Noted {{name}}.' }}
  - {{ path: 'edit/<int:pk>/', name: edit, view: update, model: Entry, template: note.hbs, success: home }}\n"
    );
    let dir = write_files(&[
        ("site.yaml", site.as_str()),
        ("templates/home.hbs", HOME),
        ("templates/plain.hbs", "Plain page"),
        (
            "templates/note.hbs",
            "{{#each messages}}[{{text}}]{{/each}}<form method=post>{{csrf_input}}</form>",
        ),
        ("templates/404.hbs", "Not here ({{user.username}})"),
    ]);
    add_ann(&dir);
    let server = Server::start_site(&dir);
    let session = sign_in_as_ann(&server);
    let stored = || column(server.site_path(), "SELECT messages FROM trellis_session");

    let refused = server.request_with_body(
        "POST",
        "/note/",
        &[
            ("Cookie", session.as_str()),
            ("Content-Type", crate::csrf::FORM),
        ],
        "name=Bo",
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(stored()[0].contains("Welcome back, ann!"), "{:?}", stored());
    // Past the CSRF check, a POST for a row that is not there: 404, no page of the route.
    let page = server.get("/note/");
    let (secret, _) = crate::csrf::csrf_cookie(&page);
    let body = format!(
        "csrfmiddlewaretoken={}&name=Bo",
        crate::csrf::token_in(&page.body)
    );
    let cookie = format!("csrftoken={secret}; {session}");
    let form = ("Content-Type", crate::csrf::FORM);
    let gone = server.request_with_body("POST", "/edit/999/", &[("Cookie", &cookie), form], &body);
    assert_eq!((gone.status, gone.body.as_str()), (404, "Not here (ann)"));
    assert!(stored()[0].contains("Welcome back, ann!"), "{:?}", stored());
    // A visitor's cookie outlives that 404 page too (it does not show messages).
    let cookie = messages_cookie(&post(&server, "/sign/", "name=Vi", "", &[]));
    let gone = get(&server, "/edit/999/", &cookie);
    assert_eq!((gone.status, gone.body.as_str()), (404, "Not here ()"));
    assert_eq!(messages_line(&gone), None, "{:?}", gone.headers);
    assert_eq!(
        get(&server, "/", &cookie).body,
        "Guest[success: Thanks, Vi!]"
    );

    let r = post(&server, "/note/", "name=Bo", &session, &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(names(server.site_path()), ["Vi", "Bo"]);
    assert!(stored()[0].contains("Welcome back, ann!"), "{:?}", stored());

    let home = get(&server, "/", &session);
    assert_eq!(
        home.body,
        "Hello ann[success: Welcome back, ann!][success: Noted Bo.]"
    );
    assert_eq!(stored(), ["[]"]);
    assert_eq!(get(&server, "/", &session).body, "Hello ann");

    // The form's own page shows them too when it is rendered: a GET, or a POST with errors.
    let _ = post(&server, "/note/", "name=Cy", &session, &[]);
    let invalid = post(
        &server,
        "/note/",
        &format!("name={}", "x".repeat(101)),
        &session,
        &[],
    );
    assert_eq!(invalid.status, 400, "{}", invalid.body);
    assert!(
        invalid.body.starts_with("[Noted Cy.]<form"),
        "{}",
        invalid.body
    );
    assert_eq!(stored(), ["[]"]);
}

/// Messages added to one session by requests at once are all kept: each is added in a write
/// transaction of its own (read, then written back, they could overwrite each other).
#[test]
fn messages_added_to_a_session_at_once_are_all_kept() {
    let dir = site();
    add_ann(&dir);
    let server = Server::start_site(&dir);
    let session = sign_in_as_ann(&server);
    // The sign-in's message shown: the session starts with none.
    assert!(get(&server, "/", &session).body.contains("Welcome back"));
    std::thread::scope(|s| {
        for t in 0..6 {
            let (server, session) = (&server, &session);
            s.spawn(move || {
                for i in 0..5 {
                    let r = post(server, "/sign/", &format!("name=n{t}-{i}"), session, &[]);
                    assert_eq!(r.status, 303, "{}", r.body);
                }
            });
        }
    });
    let stored = column(server.site_path(), "SELECT messages FROM trellis_session");
    let list: Vec<serde_json::Value> = serde_json::from_str(&stored[0]).unwrap();
    assert_eq!(names(server.site_path()).len(), 30);
    assert_eq!(list.len(), 30, "{stored:?}");
}
