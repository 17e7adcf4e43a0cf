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
