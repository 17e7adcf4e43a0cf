//! `history: true` and the admin's history (issue 11, Django's `LogEntry`): each write of a
//! create, update or delete route with the key adds exactly one row to `trellis_log` (read back
//! from the SQLite file) with who, what and when; refused and rolled-back writes add none; the
//! row's history page and the index's "Recent actions" show them, escaped, to staff only.
//! Signed in through the real sign-in route, as a user made in the database.

use std::path::Path;

use rusqlite::Connection;
use trellis::views::Request;

use crate::common::{check_prints, write_files, Local, Resp, Server, SiteDir, CSRF_SECRET};

const SITE: &str = "site: { name: Blog, database: db.sqlite3, fixtures: [rows.yaml] }
admin: manage/
models:
  Post:
    fields:
      title: { type: string, max_length: 60 }
      slug: { type: slug, unique: true }
      body: { type: text, null: true }
  Pin:
    fields:
      label: { type: string }
      post: { type: foreign_key, to: Post, on_delete: restrict }
routes:
  - { path: '', name: home, view: template, template: home.hbs }
  - { path: login/, name: login, view: login }
  - { path: posts/new/, view: create, model: Post, success: post, history: true }
  - { path: posts/<int:pk>/, name: post, view: detail, model: Post, template: post.hbs }
  - { path: posts/<int:pk>/edit/, view: update, model: Post, history: true, fields: [title, slug, body] }
  - { path: posts/<int:pk>/quiet/, view: update, model: Post, success: post }
  - { path: posts/<int:pk>/delete/, view: delete, model: Post, success: home, history: true }
";

const ROWS: &str = "- { model: Post, pk: 1, fields: { title: First, slug: first, body: one } }
- { model: Post, pk: 2, fields: { title: Pinned, slug: pinned } }
- { model: Pin, pk: 1, fields: { label: keep, post: 2 } }
";

fn site() -> (SiteDir, Local) {
    let dir = write_files(&[
        ("site.yaml", SITE),
        ("rows.yaml", ROWS),
        ("templates/home.hbs", "home"),
        ("templates/post.hbs", "<h1>{{object.title}}</h1>"),
    ]);
    let local = Local::load(&dir.path);
    add_user(&dir.path, "root", true);
    add_user(&dir.path, "ann", false);
    add_user(&dir.path, "<b>eve</b>", true);
    (dir, local)
}

fn db(dir: &Path) -> Connection {
    Connection::open(dir.join("db.sqlite3")).unwrap()
}

fn add_user(dir: &Path, name: &str, staff: bool) {
    let hash = trellis::auth::hash_password("pass word").unwrap();
    db(dir)
        .execute(
            "INSERT INTO trellis_user (username, password, is_staff, is_active, date_joined) VALUES (?1, ?2, ?3, 1, '2026-01-01T00:00:00Z')",
            rusqlite::params![name, hash, staff],
        )
        .unwrap();
}

fn user_id(dir: &Path, name: &str) -> i64 {
    db(dir)
        .query_row(
            "SELECT id FROM trellis_user WHERE username = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
}

/// Each log row, oldest first: `user_id|username|model|object_id|object_repr|action|message`.
fn log(dir: &Path) -> Vec<String> {
    let conn = db(dir);
    let mut stmt = conn
        .prepare(
            "SELECT coalesce(user_id, 'null') || '|' || coalesce(username, 'null') || '|' || model
             || '|' || object_id || '|' || object_repr || '|' || action || '|' || change_message
             FROM trellis_log ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The `Cookie` header of a visitor: the CSRF cookie, and the session of `user` signed in
/// through the sign-in form ("" for nobody).
fn cookies(local: &Local, user: &str) -> String {
    if user.is_empty() {
        return format!("csrftoken={CSRF_SECRET}");
    }
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("username", user)
        .append_pair("password", "pass word")
        .finish();
    let r = local.post_form("/login/", &body);
    assert_eq!(r.status, 303, "{}", r.body);
    let session = r
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix("sessionid="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie");
    // Signing in rotates the CSRF secret (as Django does): send the new one.
    let csrf = r
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix("csrftoken="))
        .and_then(|v| v.split(';').next())
        .unwrap_or(CSRF_SECRET);
    format!("csrftoken={csrf}; sessionid={session}")
}

/// POST `body` (with the CSRF token of `cookies`) to `path`.
fn post(local: &Local, cookies: &str, path: &str, body: &str) -> Resp {
    let secret = cookies
        .split("; ")
        .find_map(|c| c.strip_prefix("csrftoken="))
        .unwrap();
    let req = Request::new("POST", path)
        .with_cookies(cookies)
        .with_form(&format!("csrfmiddlewaretoken={secret}&{body}"));
    local.send(&req)
}

fn get(local: &Local, cookies: &str, path: &str) -> Resp {
    local.send(&Request::new("GET", path).with_cookies(cookies))
}

#[test]
fn each_write_of_a_signed_in_user_logs_one_row_with_who_what_and_which_fields() {
    let (dir, local) = site();
    let root = cookies(&local, "root");
    let id = user_id(&dir.path, "root");
    let r = post(
        &local,
        &root,
        "/posts/new/",
        "title=Third&slug=third&body=three",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/posts/3/"));
    assert_eq!(
        log(&dir.path),
        [format!("{id}|root|Post|3|Third|added|Added.")]
    );

    for (path, body) in [
        ("/posts/3/edit/", "title=Thirds&slug=third&body=new"),
        ("/posts/3/edit/", "title=Thirds&slug=3rd&body=new"),
        ("/posts/3/edit/", "title=Thirds&slug=3rd&body=new"),
        ("/posts/3/delete/", ""),
    ] {
        let r = post(&local, &root, path, body);
        assert_eq!(r.status, 303, "{path}: {}", r.body);
    }
    assert_eq!(
        log(&dir.path)[1..],
        [
            format!("{id}|root|Post|3|Thirds|changed|Changed title and body."),
            format!("{id}|root|Post|3|Thirds|changed|Changed slug."),
            format!("{id}|root|Post|3|Thirds|changed|No fields changed."),
            format!("{id}|root|Post|3|Thirds|deleted|Deleted."),
        ]
    );
    // When: ISO 8601 in UTC, to the second.
    let times: Vec<String> = {
        let conn = db(&dir.path);
        let mut stmt = conn.prepare("SELECT action_time FROM trellis_log").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    for t in times {
        assert!(
            t.len() == 20 && t.as_bytes()[10] == b'T' && t.ends_with('Z') && t.as_str() > "2026",
            "{t}"
        );
    }
}

#[test]
fn an_anonymous_write_on_a_public_form_logs_no_user() {
    let (dir, local) = site();
    let r = post(
        &local,
        &cookies(&local, ""),
        "/posts/1/edit/",
        "title=First&slug=first",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        log(&dir.path),
        ["null|null|Post|1|First|changed|Changed body."]
    );
}

/// Refused writes log nothing, nor does a route without the key; a delete refused after its
/// log row was written (a `restrict` key) rolls that row back with the rest.
#[test]
fn refused_and_rolled_back_writes_log_nothing() {
    let (dir, local) = site();
    let root = cookies(&local, "root");
    let missing = post(&local, &root, "/posts/new/", "title=&slug=x");
    assert_eq!(missing.status, 400, "{}", missing.body);
    let taken = post(&local, &root, "/posts/1/edit/", "title=T&slug=pinned");
    assert_eq!(taken.status, 400, "{}", taken.body);
    let no_token = local.send(
        &Request::new("POST", "/posts/new/")
            .with_cookies(&root)
            .with_form("title=T&slug=t"),
    );
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    let quiet = post(&local, &root, "/posts/1/quiet/", "title=Quiet&slug=first");
    assert_eq!(quiet.status, 303, "{}", quiet.body);
    let restricted = post(&local, &root, "/posts/2/delete/", "");
    assert_eq!(restricted.status, 409, "{}", restricted.body);
    assert_eq!(log(&dir.path), Vec::<String>::new());
    let posts: i64 = db(&dir.path)
        .query_row("SELECT count(*) FROM post", [], |r| r.get(0))
        .unwrap();
    assert_eq!(posts, 2);
}

#[test]
fn the_history_page_and_recent_actions_show_the_log_escaped() {
    let (dir, local) = site();
    let eve = cookies(&local, "<b>eve</b>");
    let hostile = "title=%3Cscript%3Ealert(1)%3C%2Fscript%3E&slug=x";
    assert_eq!(post(&local, &eve, "/posts/new/", hostile).status, 303);
    assert_eq!(
        post(&local, &eve, "/posts/3/edit/", "title=Safe&slug=x").status,
        303
    );
    assert_eq!(post(&local, &eve, "/posts/1/delete/", "").status, 303);
    assert_eq!(log(&dir.path).len(), 3);

    let page = get(&local, &eve, "/manage/post/3/history/");
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(
        !body.contains("<b>eve") && !body.contains("<script>alert"),
        "{body}"
    );
    assert!(body.contains("<td>&lt;b&gt;eve&lt;/b&gt;</td>"), "{body}");
    // Newest first.
    let changed = body.find("<td>Changed title.</td>").expect("the change");
    let added = body.find("<td>Added.</td>").expect("the addition");
    assert!(changed < added, "{body}");
    assert!(body.contains("Change history: Safe"), "{body}");

    // The row page links to its history.
    let row = get(&local, &eve, "/manage/post/3/change/");
    assert!(
        row.body.contains("href=\"/manage/post/3/history/\""),
        "{}",
        row.body
    );
    // A deleted row's history is still there; a key never seen is a 404.
    let gone = get(&local, &eve, "/manage/post/1/history/");
    assert_eq!(gone.status, 200);
    assert!(gone.body.contains("<td>Deleted.</td>"), "{}", gone.body);
    assert_eq!(get(&local, &eve, "/manage/post/99/history/").status, 404);

    let index = get(&local, &eve, "/manage/");
    let body = &index.body;
    assert!(body.contains("Recent actions"), "{body}");
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(
        body.contains(
            "<a href=\"/manage/post/3/change/\">&lt;script&gt;alert(1)&lt;/script&gt;</a>"
        ),
        "{body}"
    );
    assert!(
        body.contains("<a href=\"/manage/post/3/change/\">Safe</a>"),
        "{body}"
    );
    // The deleted row is named, not linked.
    assert!(body.contains("</span> First <small>"), "{body}");
    assert!(!body.contains("/manage/post/1/change/"), "{body}");
}

#[test]
fn only_staff_see_a_history_page() {
    let (_dir, local) = site();
    let ann = cookies(&local, "ann");
    // Not staff: sent to the admin's own sign-in page (Django's admin), not the site's.
    let r = get(&local, &ann, "/manage/post/1/history/");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("/manage/login/?next=%2Fmanage%2Fpost%2F1%2Fhistory%2F")
    );
    let anonymous = local.get("/manage/post/1/history/");
    assert_eq!(anonymous.status, 302);
    assert_eq!(
        anonymous.header("location"),
        Some("/login/?next=%2Fmanage%2Fpost%2F1%2Fhistory%2F")
    );
}

#[test]
fn history_is_refused_where_nothing_is_written_and_the_log_table_is_trellis_own() {
    check_prints(
        "site: { database: db.sqlite3 }\nmodels:\n  Post: { fields: { title: { type: string } } }\nroutes:\n  - { path: '', view: list, model: Post, template: x.hbs, history: true }\n",
        &[
            "site.yaml:5:59: routes[0].history: `history` does not apply to view `list`",
            "help: `history` is for view: create, update, delete",
        ],
    );
    check_prints(
        "site: { database: db.sqlite3 }\nmodels:\n  Log: { table: trellis_log, fields: { title: { type: string } } }\n",
        &["the table `trellis_log` is Trellis's own"],
    );
}

/// Over the wire: the form, its token, the POST; the log row is in the served file.
#[test]
fn over_http_a_logged_create_writes_its_row_and_its_log_together() {
    let (dir, _local) = site();
    let server = Server::start(&dir.path);
    let (_, r) = crate::crud::submit(&server, "/posts/new/", "title=Wire&slug=wire");
    assert_eq!(r.status, 303, "{r:?}");
    let site = server.site.as_ref().expect("a site folder");
    assert_eq!(log(site), ["null|null|Post|3|Wire|added|Added."]);
}
