//! Attacks on what issue 11 added — forms, CSRF, sessions, sign-in and the admin — each as an
//! attacker would send it, over real HTTP where the wire or the server's threads matter, in
//! process where the logic is enough. Each test says what it guards; the ones that found a
//! hole failed before its fix.

use std::path::Path;

use rusqlite::Connection;

use trellis::views::Request;

use crate::common::{write_files, Local, Resp, Server, SiteDir, CSRF_SECRET};

const FORM: &str = "application/x-www-form-urlencoded";

fn db(dir: &Path) -> Connection {
    Connection::open(dir.join("db.sqlite3")).unwrap()
}

fn add_user(dir: &Path, name: &str, password: &str) {
    let hash = trellis::auth::hash_password(password).unwrap();
    db(dir)
        .execute(
            "INSERT INTO trellis_user (username, password, is_staff, is_active, date_joined) VALUES (?1, ?2, 0, 1, '2026-01-01T00:00:00Z')",
            rusqlite::params![name, hash],
        )
        .unwrap();
}

fn count(dir: &Path, sql: &str) -> i64 {
    db(dir).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A sign-in POST over HTTP with a CSRF token that passes.
fn sign_in_over_http(server: &Server, user: &str, password: &str) -> Resp {
    let cookie = format!("csrftoken={CSRF_SECRET}");
    let body = format!("csrfmiddlewaretoken={CSRF_SECRET}&username={user}&password={password}");
    server.request_with_body(
        "POST",
        "/login/",
        &[("Cookie", &cookie), ("Content-Type", FORM)],
        &body,
    )
}

/// Many wrong passwords sent at once, on a server with many database threads: each attempt is
/// counted before its password is checked, in the same transaction as the count it passed, so
/// that no more than `max_failures` passwords are ever tried. Before, every attempt read the
/// count, then spent the hash's time checking, then recorded its failure: 16 attempts sent
/// together had 10 or more passwords tried instead of 3.
#[test]
fn concurrent_wrong_passwords_get_no_more_tries_than_max_failures() {
    let dir = write_files(&[(
        "site.yaml",
        "site:
  database: db.sqlite3
  limits: { db_threads: 8 }
  auth: { max_failures: 3 }
routes:
  - { path: login/, name: login, view: login }
",
    )]);
    let server = Server::start_site(&dir);
    add_user(server.site_path(), "ann", "right");
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let server = &server;
                s.spawn(move || sign_in_over_http(server, "ann", &format!("guess{i}")).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let tried = statuses.iter().filter(|&&s| s == 400).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((tried, refused), (3, 13), "{statuses:?}");
    // The right password, now, is refused too: the window is not over.
    assert_eq!(sign_in_over_http(&server, "ann", "right").status, 429);
    let sql = "SELECT count(*) FROM trellis_login_failure WHERE kind = 'user' AND key = 'ann'";
    assert_eq!(count(server.site_path(), sql), 3);
}

/// A form POST in process with a CSRF token that passes.
fn post_form(local: &Local, target: &str, body: &str) -> Resp {
    let req = Request::new("POST", target)
        .with_cookies(&format!("csrftoken={CSRF_SECRET}"))
        .with_form(&format!("csrfmiddlewaretoken={CSRF_SECRET}&{body}"));
    local.send(&req)
}

const BLOG: &str = "site: { database: db.sqlite3 }
admin: admin/
models:
  Post:
    fields:
      title: { type: string }
      slug: { type: slug, unique: true }
routes:
  - { path: posts/, name: post-list, view: list, model: Post, template: list.hbs }
  - { path: posts/<slug:slug>/, name: post-detail, view: detail, model: Post, lookup: slug, template: post.hbs }
  - { path: new/, view: create, model: Post }
  - { path: posts/<slug:slug>/edit/, view: update, model: Post, lookup: slug }
  - { path: posts/<slug:slug>/delete/, view: delete, model: Post, lookup: slug }
";

fn blog() -> (SiteDir, Local) {
    let dir = write_files(&[
        ("site.yaml", BLOG),
        ("templates/post.hbs", "{{object.title}}"),
        ("templates/list.hbs", "{{#each objects}}{{title}}{{/each}}"),
    ]);
    let local = Local::load(&dir.path);
    (dir, local)
}

/// A form without `success:` goes to the site's own detail (or list) page of the model, never
/// to the admin's: the admin's routes come first and are a detail and a list of every model,
/// so a visitor who added a post was sent to `/admin/post/1/change/`.
#[test]
fn a_form_without_success_never_sends_a_visitor_into_the_admin() {
    let (_dir, local) = blog();
    let r = post_form(&local, "/new/", "title=Hello&slug=hello");
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/posts/hello/"))
    );
    let r = post_form(&local, "/posts/hello/edit/", "title=Hi&slug=hi");
    assert_eq!((r.status, r.header("location")), (303, Some("/posts/hi/")));
    let r = post_form(&local, "/posts/hi/delete/", "");
    assert_eq!((r.status, r.header("location")), (303, Some("/posts/")));
}

const AUTH: &str = "site: { database: db.sqlite3 }
routes:
  - { path: '', name: home, view: template, template: home.hbs }
  - { path: login/, name: login, view: login, success: home }
  - { path: logout/, name: logout, view: logout, success: home }
";

/// A site with sign-in and the user `ann` (password `pw`).
fn auth_site() -> (SiteDir, Local) {
    let dir = write_files(&[
        ("site.yaml", AUTH),
        ("templates/home.hbs", "{{user.username}}"),
    ]);
    let local = Local::load(&dir.path);
    add_user(&dir.path, "ann", "pw");
    (dir, local)
}

/// `next` after sign-in: a local path with text that is not ASCII is sent on as a URI (the
/// `Location` header holds ASCII only, as Django's `iri_to_uri` makes it), and each way out of
/// the site, however encoded, lands on the default.
#[test]
fn next_after_sign_in_is_a_local_uri_and_never_leaves_the_site() {
    let (_dir, local) = auth_site();
    let cases = [
        ("/caf%C3%A9/?q=%C3%A9t%C3%A9", "/caf%C3%A9/?q=%C3%A9t%C3%A9"),
        ("/%EF%BC%8F%EF%BC%8Fevil.com", "/%EF%BC%8F%EF%BC%8Fevil.com"),
        ("/a%0D%0ASet-Cookie:%20x=1", "/"),
        ("/a%250D%250ASet-Cookie:x", "/a%0D%0ASet-Cookie:x"),
        ("%2F%2Fevil.com", "/"),
        ("/%5Cevil.com", "/"),
        ("%5C%5Cevil.com", "/"),
        ("/%09/evil.com", "/"),
        ("%E2%80%8B/evil.com", "/"),
        ("/%E3%80%80/evil.com", "/"),
        ("javascript:alert(1)", "/"),
        ("http://evil.com/", "/"),
        ("/%2F/evil.com", "/"),
        ("/%252F/evil.com", "/%2F/evil.com"),
    ];
    for (next, location) in cases {
        let r = post_form(
            &local,
            "/login/",
            &format!("username=ann&password=pw&next={next}"),
        );
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some(location)),
            "next={next}"
        );
        assert!(r.header("location").unwrap().is_ascii());
    }
}

/// A client that sends a form's head, then part of its body and nothing more, held its
/// connection (and a place among `site.limits.connections`) for as long as it liked: the body
/// was read without a time limit. Now the body must come within `client_timeout_s`, as the
/// head must: 408, and the connection is closed.
#[test]
fn a_form_body_that_never_ends_gets_408() {
    use std::io::{Read, Write};
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3, limits: { client_timeout_s: 1 } }\nroutes:\n  - { path: login/, name: login, view: login }\n",
        ),
    ]);
    let server = Server::start_site(&dir);
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    // A guard against a hang, not a timing test: the server must answer long before.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /login/ HTTP/1.1\r\nHost: {}\r\nContent-Type: {FORM}\r\nContent-Length: 100\r\n\r\nusername=a",
        server.addr
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert_eq!(server.get("/login/").status, 200);
}

/// Mass assignment by the site's own `fields:`: a form may not write what Django calls
/// non-editable — the automatic `id`, an `auto_now`/`auto_now_add` time — nor, on `update`,
/// the row's primary key (a POST moved the row to another key: a 500 for a row that others
/// refer to, and a visitor choosing `updated`). Each is refused at load, placed, with a hint.
#[test]
fn fields_that_a_form_must_not_write_are_refused_at_load() {
    use crate::common::check_prints;
    let site = |route: &str| {
        format!(
            "site: {{ database: db.sqlite3 }}
models:
  Post:
    fields:
      title: {{ type: string }}
      updated: {{ type: datetime, auto_now: true }}
      created: {{ type: datetime, auto_now_add: true }}
  Code:
    fields:
      code: {{ type: slug, primary_key: true }}
      label: {{ type: string }}
routes:
  - {{ path: 'x/', name: x, view: redirect, to: 'y' }}
  - {{ path: 'y/', name: y, view: redirect, to: 'x' }}
  - {route}
"
        )
    };
    check_prints(
        &site("{ path: 'new/', view: create, model: Post, success: x, fields: [id, title, updated, created] }"),
        &[
            "routes[2].fields[0]: `id` is the automatic primary key: a form cannot write it",
            "routes[2].fields[2]: `updated` is `auto_now`: it takes the time, a form cannot write it",
            "routes[2].fields[3]: `created` is `auto_now_add`: it takes the time, a form cannot write it",
            "help: leave it out of `fields:`",
        ],
    );
    check_prints(
        &site("{ path: '<slug:code>/edit/', view: update, model: Code, lookup: code, success: x, fields: [code, label] }"),
        &["routes[2].fields[0]: `code` is the primary key of Code: an update cannot change it"],
    );
}

const NOTES: &str = "site: { database: db.sqlite3 }
models:
  Note:
    fields:
      text: { type: string }
routes:
  - { path: '', name: home, view: template, template: home.hbs }
  - { path: new/, view: create, model: Note, success: home }
  - { path: logout/, name: logout, view: logout, success: home }
";

fn notes_server() -> (SiteDir, Server) {
    let dir = write_files(&[("site.yaml", NOTES), ("templates/home.hbs", "home")]);
    let server = Server::start_site(&dir);
    (dir, server)
}

/// A request: its target, headers and body.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

/// Ways around CSRF a cross-site page could try, over the wire, each refused (403, or 405 for
/// a GET sign-out) with nothing written: the token in a `text/plain` or multipart body (a
/// cross-site form can send those; only a form-encoded body is read), a `null` or foreign
/// `Origin`, a method-override header or `_method`, a well-formed token of another secret, no
/// cookie at all; and signing a visitor out by a link.
#[test]
fn csrf_bypasses_are_refused_and_write_nothing() {
    let (_dir, server) = notes_server();
    let cookie = format!("csrftoken={CSRF_SECRET}");
    let good = format!("csrfmiddlewaretoken={CSRF_SECRET}&text=x");
    let other = format!("csrfmiddlewaretoken={}&text=x", "B".repeat(32));
    let multipart = format!(
        "--b\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n{CSRF_SECRET}\r\n--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nx\r\n--b--\r\n"
    );
    let here = format!("http://{}", server.addr);
    let cases: Vec<Case> = vec![
        (
            "/new/",
            vec![("Cookie", &cookie), ("Content-Type", "text/plain")],
            &good,
        ),
        (
            "/new/",
            vec![
                ("Cookie", &cookie),
                ("Content-Type", "multipart/form-data; boundary=b"),
            ],
            &multipart,
        ),
        (
            "/new/",
            vec![
                ("Cookie", &cookie),
                ("Content-Type", FORM),
                ("Origin", "null"),
            ],
            &good,
        ),
        (
            "/new/",
            vec![
                ("Cookie", &cookie),
                ("Content-Type", FORM),
                ("Origin", "http://evil.example"),
            ],
            &good,
        ),
        (
            "/new/?_method=GET",
            vec![
                ("Cookie", &cookie),
                ("Content-Type", FORM),
                ("X-HTTP-Method-Override", "GET"),
            ],
            &other,
        ),
        (
            "/new/",
            vec![
                ("Cookie", &cookie),
                ("Content-Type", FORM),
                ("Origin", &here),
            ],
            &other,
        ),
        (
            "/new/",
            vec![("Content-Type", FORM), ("Origin", &here)],
            &good,
        ),
        (
            "/logout/",
            vec![("Content-Type", FORM), ("Origin", "http://evil.example")],
            "",
        ),
    ];
    for (target, headers, body) in &cases {
        let r = server.request_with_body("POST", target, headers, body);
        assert_eq!(r.status, 403, "{target} {headers:?}: {}", r.body);
    }
    assert_eq!(server.get("/logout/").status, 405);
    assert_eq!(count(server.site_path(), "SELECT count(*) FROM note"), 0);
    // The same form, sent as the site's own page sends it, is saved.
    let r = server.request_with_body(
        "POST",
        "/new/",
        &[
            ("Cookie", &cookie),
            ("Content-Type", FORM),
            ("Origin", &here),
        ],
        &good,
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(count(server.site_path(), "SELECT count(*) FROM note"), 1);
}

/// A form POST while another process holds the database's write lock past the busy timeout:
/// 503 with `Retry-After` and a log line, never a 500, and no row; once the lock is gone the
/// same POST is saved, and its 303 means the row is in the file.
#[test]
fn a_post_on_a_locked_database_is_a_503_and_saves_nothing() {
    let (_dir, server) = notes_server();
    let cookie = format!("csrftoken={CSRF_SECRET}");
    let body = format!("csrfmiddlewaretoken={CSRF_SECRET}&text=locked");
    let send = || {
        server.request_with_body(
            "POST",
            "/new/",
            &[("Cookie", &cookie), ("Content-Type", FORM)],
            &body,
        )
    };
    let lock = db(server.site_path());
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let r = send();
    assert_eq!(
        (r.status, r.header("retry-after")),
        (503, Some("1")),
        "{}",
        r.body
    );
    lock.execute_batch("ROLLBACK").unwrap();
    server.wait_for_log("database is locked");
    assert_eq!(count(server.site_path(), "SELECT count(*) FROM note"), 0);
    assert_eq!(send().status, 303);
    let sql = "SELECT count(*) FROM note WHERE text = 'locked'";
    assert_eq!(count(server.site_path(), sql), 1);
}

/// A staff user with a session, straight in the database: the cookie that signs them in.
fn staff_session(dir: &Path) -> String {
    add_user(dir, "boss", "pw");
    let conn = db(dir);
    conn.execute(
        "UPDATE trellis_user SET is_staff = 1 WHERE username = 'boss'",
        [],
    )
    .unwrap();
    let key = "S".repeat(32);
    conn.execute(
        "INSERT INTO trellis_session (session_key, user_id, expires) SELECT ?1, id, 4102444800 FROM trellis_user WHERE username = 'boss'",
        [&key],
    )
    .unwrap();
    format!("sessionid={key}")
}

/// Every parameter of the admin's list and row pages with SQL, HTML and junk in it: a 200 (the
/// value taken as text, or ignored), a 400 or a 404 — never a 500 — nothing unescaped on the
/// page, and the table intact. Rows saved through a form with `<script>` show escaped.
#[test]
fn hostile_admin_parameters_reach_sql_only_as_values() {
    let (dir, local) = blog();
    let hostile = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let r = post_form(&local, "/new/", &format!("title={hostile}&slug=x1"));
    assert_eq!(r.status, 303, "{}", r.body);
    let cookie = staff_session(&dir.path);
    let payloads = [
        "'; DROP TABLE post; --",
        "\" OR 1=1 --",
        "<script>alert(1)</script>",
        "title; DROP TABLE post",
        "-id--",
        "(SELECT 1)",
        "1e9",
        "-1",
        "99999999999999999999",
        "%",
        "_",
    ];
    for p in payloads {
        let v: String = url_encode(p);
        for q in ["q", "ordering", "page", "title", "slug", "o", "p"] {
            let target = format!("/admin/post/?{q}={v}");
            let r = local.send(&Request::get(&target).with_cookies(&cookie));
            assert!(
                matches!(r.status, 200 | 400 | 404),
                "{target}: {}",
                r.status
            );
            assert!(!r.body.contains("<script>alert"), "{target}");
        }
        let target = format!("/admin/post/{v}/change/");
        let r = local.send(&Request::get(&target).with_cookies(&cookie));
        assert!(matches!(r.status, 400 | 404), "{target}: {}", r.status);
    }
    let r = local.send(&Request::get("/admin/post/").with_cookies(&cookie));
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<script>alert"));
    assert_eq!(count(&dir.path, "SELECT count(*) FROM post"), 1);
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `trellis user add` with hostile input, through the real binary: a username with a newline,
/// a tab, an escape sequence or only spaces is refused and adds nothing; a password piped with
/// no newline (or a CRLF) is taken as typed, and signs in.
#[test]
fn trellis_user_refuses_control_characters_and_takes_a_password_without_newline() {
    use std::io::Write;
    use std::process::Stdio;
    let (dir, local) = auth_site();
    let add = |name: &str, input: &str| {
        let tmp = tempfile::TempDir::new().unwrap();
        let mut child = crate::common::command(tmp.path())
            .args(["user", "add"])
            .arg(&dir.path)
            .arg(name)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for name in ["ev\nil", "ev\til", "ev\u{1b}[2Jil", "   ", ""] {
        let (ok, err) = add(name, "pw\n");
        assert!(!ok && err.contains("is not a username"), "{name:?}: {err}");
    }
    assert_eq!(count(&dir.path, "SELECT count(*) FROM trellis_user"), 1);
    assert!(add("bob", "no newline").0);
    assert!(add("cy", "crlf password\r\n").0);
    for (user, password) in [("bob", "no newline"), ("cy", "crlf password")] {
        let body = format!("username={user}&password={}", url_encode(password));
        assert_eq!(post_form(&local, "/login/", &body).status, 303, "{user}");
    }
}

/// A form page that needs sign-in reads the session and shows a CSRF token: both vary by the
/// cookie, and the `Vary` header says so once (it said `Cookie, Cookie`).
#[test]
fn a_signed_in_form_page_varies_by_cookie_once() {
    let dir = write_files(&[
        ("site.yaml", &format!("{AUTH}  - {{ path: new/, view: create, model: Note, success: home, login_required: true }}\nmodels:\n  Note:\n    fields:\n      text: {{ type: string }}\n")),
        ("templates/home.hbs", "{{user.username}}"),
    ]);
    let local = Local::load(&dir.path);
    add_user(&dir.path, "ann", "pw");
    let r = post_form(&local, "/login/", "username=ann&password=pw");
    let cookie = r
        .headers
        .iter()
        .find_map(|(n, v)| (n == "set-cookie").then(|| v.split(';').next().unwrap()))
        .filter(|c| c.starts_with("sessionid="))
        .unwrap()
        .to_string();
    let r = local.send(&Request::get("/new/").with_cookies(&cookie));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("vary"), Some("Cookie"), "{:?}", r.headers);
}

/// A form whose `success` route takes a value of the row its converter refuses (a `str`
/// capture takes no `/`): the row was saved, then its redirect could not be made, and the
/// visitor got a 500 for a saved row (and sent it again). Now the value is refused before
/// anything is written (400, a message under the field), and the row is not saved.
#[test]
fn a_value_the_success_route_cannot_take_is_refused_before_saving() {
    let site = "site: { database: db.sqlite3 }
models:
  Note:
    fields:
      text: { type: string }
routes:
  - { path: new/, view: create, model: Note, success: by-text }
  - { path: '<int:pk>/edit/', view: update, model: Note, success: by-text }
  - { path: 'n/<str:text>/', name: by-text, view: detail, model: Note, lookup: text, template: n.hbs }
";
    let dir = write_files(&[("site.yaml", site), ("templates/n.hbs", "{{object.text}}")]);
    let local = Local::load(&dir.path);
    let r = post_form(&local, "/new/", "text=a%2Fb");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("cannot be part of the address"),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"a/b\""), "{}", r.body);
    assert_eq!(count(&dir.path, "SELECT count(*) FROM note"), 0);
    let r = post_form(&local, "/new/", "text=ab");
    assert_eq!((r.status, r.header("location")), (303, Some("/n/ab/")));
    let r = post_form(&local, "/1/edit/", "text=%2F%2Fevil.com");
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        count(&dir.path, "SELECT count(*) FROM note WHERE text = 'ab'"),
        1
    );
}
