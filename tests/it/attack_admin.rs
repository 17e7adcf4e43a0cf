//! Attacks on the admin's writing side and its sign-in (issue 11): every admin page and POST
//! without a session, with a visitor's, an expired or an inactive user's session; staff taken
//! away while signed in; CSRF on each admin form; hostile values in what the admin echoes;
//! frames, caches and robots; keys with `/` and `..`; a foreign key past the select's cap.
//! In process where the logic is enough, over real HTTP for the headers. Each test says what
//! it guards; the ones that found a hole failed before its fix.

use std::path::Path;

use rusqlite::Connection;

use trellis::views::Request;

use crate::admin::{blog_dir, session_for, staff, Signed};
use crate::common::{write_files, Local, Resp, Server, CSRF_SECRET};

fn db(dir: &Path) -> Connection {
    Connection::open(dir.join("db.sqlite3")).unwrap()
}

fn count(dir: &Path, sql: &str) -> i64 {
    db(dir).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Every page of the blog's admin (`manage/`), and the ones that take a POST.
const PAGES: [&str; 9] = [
    "/manage/",
    "/manage/post/",
    "/manage/post/add/",
    "/manage/post/1/change/",
    "/manage/post/1/delete/",
    "/manage/post/1/history/",
    "/manage/author/",
    "/manage/author/1/change/",
    "/manage/author/1/delete/",
];

/// A POST that would change something on each writing page, as staff's pages send it.
const WRITES: [(&str, &str); 4] = [
    ("/manage/post/add/", "title=Evil&status=live&author=1"),
    ("/manage/post/1/change/", "title=Evil&status=live&author=1"),
    ("/manage/post/1/delete/", ""),
    ("/manage/author/1/delete/", ""),
];

/// What the blog's tables hold: rows and titles, to see that nothing was written.
fn state(dir: &Path) -> (i64, i64, i64, i64) {
    (
        count(dir, "SELECT COUNT(*) FROM post"),
        count(dir, "SELECT COUNT(*) FROM author"),
        count(dir, "SELECT COUNT(*) FROM post WHERE title = 'Evil'"),
        count(dir, "SELECT COUNT(*) FROM trellis_log"),
    )
}

/// User `name` made in the site's database and signed in, the site loaded in process.
fn signed_in(dir: &Path, name: &str, staff: bool) -> Signed {
    Signed {
        local: Local::load(dir),
        cookie: session_for(dir, name, staff),
    }
}

/// Each page and each write as `who` (a cookie): every GET is `get_status`, a GET that is
/// sent to sign-in carries `next=` the page; every POST writes nothing.
fn every_page_and_write(dir: &Path, who: &Signed, get_status: u16, what: &str) {
    let before = state(dir);
    for page in PAGES {
        let r = who.get(page);
        assert_eq!(r.status, get_status, "{what} GET {page}: {}", r.body);
        if get_status == 302 {
            let to = r.header("Location").unwrap();
            assert!(
                to.starts_with("/manage/login/?next=") && to.contains("manage"),
                "{what} GET {page}: {to}"
            );
        }
    }
    for (page, body) in WRITES {
        let r = who.post(page, body);
        assert!(
            r.status == get_status,
            "{what} POST {page}: {} {}",
            r.status,
            r.body
        );
    }
    assert_eq!(state(dir), before, "{what}: nothing written");
}

/// Guards: without a session, every admin page sends to the admin's sign-in with `next=`, and
/// every POST is refused the same way, writing nothing.
#[test]
fn without_a_session_every_admin_page_and_post_goes_to_sign_in() {
    let dir = blog_dir();
    // A staff user exists: a forged key must not reach their session.
    let _root = staff(&dir.path);
    let anon = Signed {
        local: Local::load(&dir.path),
        cookie: "sessionid=abcdefghijklmnopqrstuvwxyz012345".into(),
    };
    every_page_and_write(&dir.path, &anon, 302, "a forged session key");
    let nobody = Signed {
        local: Local::load(&dir.path),
        cookie: "x=1".into(),
    };
    every_page_and_write(&dir.path, &nobody, 302, "no session");
}

/// Guards: a signed-in user who is not staff is sent to the admin's sign-in page (with
/// `next=`) from every admin page and write, as Django's admin does, and writes nothing.
#[test]
fn a_visitors_session_is_sent_to_the_admins_sign_in_from_every_page_and_post() {
    let dir = blog_dir();
    let _admin = staff(&dir.path);
    let ann = signed_in(&dir.path, "ann", false);
    every_page_and_write(&dir.path, &ann, 302, "not staff");
}

/// Guards: a session is read from the database on each request, so an expired session, a
/// user made inactive, staff revoked and a user removed count at the very next request, not
/// only at the next sign-in.
#[test]
fn expiry_inactive_revoke_and_remove_take_effect_at_the_next_request() {
    let dir = blog_dir();
    let admin = staff(&dir.path);
    assert_eq!(admin.get("/manage/").status, 200);
    let key = admin.cookie.trim_start_matches("sessionid=").to_string();
    let conn = db(&dir.path);

    conn.execute(
        "UPDATE trellis_session SET expires = 1 WHERE session_key = ?1",
        [&key],
    )
    .unwrap();
    every_page_and_write(&dir.path, &admin, 302, "an expired session");

    let admin = signed_in(&dir.path, "boss", true);
    assert_eq!(admin.get("/manage/").status, 200);
    conn.execute(
        "UPDATE trellis_user SET is_active = 0 WHERE username = 'boss'",
        [],
    )
    .unwrap();
    every_page_and_write(&dir.path, &admin, 302, "an inactive user");

    // The real commands, as an operator would run them while the user is signed in.
    let admin = signed_in(&dir.path, "chief", true);
    assert_eq!(admin.get("/manage/").status, 200);
    let site = dir.path.to_str().unwrap();
    let out = crate::common::trellis(["user", "staff", site, "chief", "--revoke"]);
    assert!(out.status.success(), "{out:?}");
    every_page_and_write(&dir.path, &admin, 302, "staff revoked");
    let out = crate::common::trellis(["user", "remove", site, "chief"]);
    assert!(out.status.success(), "{out:?}");
    every_page_and_write(&dir.path, &admin, 302, "a removed user");
}

/// Guards: every admin form (add, change, delete, sign-out) refuses a POST without the
/// CSRF token, even from staff, and writes nothing; the history page takes no POST.
#[test]
fn every_admin_form_and_sign_out_needs_the_csrf_token() {
    let dir = blog_dir();
    let admin = staff(&dir.path);
    let before = state(&dir.path);
    for (page, body) in WRITES.iter().copied().chain([("/manage/logout/", "")]) {
        // The session, but no token (a cross-site form), then a token of another secret.
        for cookies in [
            admin.cookie.clone(),
            format!("csrftoken={CSRF_SECRET}; {}", admin.cookie),
        ] {
            let req = Request::new("POST", page)
                .with_cookies(&cookies)
                .with_form(&format!("csrfmiddlewaretoken={}&{body}", "a".repeat(64)));
            let r = admin.local.send(&req);
            assert_eq!(r.status, 403, "POST {page}: {}", r.body);
        }
    }
    assert_eq!(state(&dir.path), before, "nothing written");
    assert_eq!(admin.get("/manage/").status, 200, "still signed in");
    let r = admin.post("/manage/post/1/history/", "");
    assert_eq!(r.status, 405, "{}", r.body);
}

/// Guards: a hostile title, author name and username come back escaped in every place the
/// admin echoes them: the message after add, change and delete (Django's “%s”), the row's
/// history (`object_repr`, `change_message`), "Recent actions", the cascade plan, and the
/// "Signed in as" line.
#[test]
fn hostile_values_are_escaped_in_messages_history_cascade_and_the_user_line() {
    let dir = blog_dir();
    let admin = signed_in(&dir.path, "<i>boss</i>", true);
    let evil = "%3Cimg+src%3Dx+onerror%3Dalert(1)%3E";
    let raw = "<img src=x onerror=alert(1)>";
    let r = admin.post(
        "/manage/post/add/",
        &format!("title={evil}&status=live&author=2&_continue=1"),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    // "Save and continue editing" leads to the new row's edit page.
    let change = r.header("Location").unwrap().to_string();
    assert!(change.ends_with("/change/"), "{change}");
    let mut seen = Vec::new();
    seen.push(admin.get(&change));
    assert_eq!(
        admin
            .post(&change, &format!("title={evil}2&status=live&author=2"))
            .status,
        303
    );
    seen.push(admin.get(&change));
    let history = change.replace("/change/", "/history/");
    seen.push(admin.get(&history));
    seen.push(admin.get("/manage/"));
    seen.push(admin.get("/manage/author/2/delete/"));
    assert_eq!(
        admin
            .post(&change.replace("/change/", "/delete/"), "")
            .status,
        303
    );
    seen.push(admin.get("/manage/post/"));
    seen.push(admin.get("/manage/"));
    for r in &seen {
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.body.contains(raw), "raw title: {}", r.body);
        assert!(!r.body.contains("<i>boss"), "raw username: {}", r.body);
        assert!(!r.body.contains("<script>alert"), "raw title: {}", r.body);
        assert!(!r.body.contains("<b>Bob"), "raw author: {}", r.body);
    }
    let all: String = seen.iter().map(|r| r.body.as_str()).collect();
    for want in [
        "The post “&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;” was added successfully.",
        "was changed successfully.",
        "was deleted successfully.",
        "Signed in as <strong>&lt;i&gt;boss&lt;/i&gt;</strong>",
        "&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;2",
    ] {
        assert!(all.contains(want), "{want}: {all}");
    }
}

/// The admin's pages over the wire: framing refused, never stored by a shared cache or the
/// browser (Django's admin is `never_cache`), kept apart per cookie, and not indexed.
#[test]
fn admin_pages_are_not_framed_cached_or_indexed() {
    let dir = blog_dir();
    let server = Server::start(&dir.path);
    let cookie = session_for(server.site_path(), "root", true);
    let visitor = session_for(server.site_path(), "ann", false);
    let mut pages: Vec<(String, Resp)> = PAGES
        .iter()
        .map(|p| {
            (
                p.to_string(),
                server.request("GET", p, &[("Cookie", &cookie)]),
            )
        })
        .collect();
    pages.push(("sign-in".into(), server.get("/manage/login/")));
    // A user who is not staff: sent to the sign-in page, which says who is signed in.
    let sent = server.request("GET", "/manage/", &[("Cookie", &visitor)]);
    let to = sent.header("Location").unwrap_or_default().to_string();
    pages.push(("not staff".into(), sent));
    pages.push((
        "not staff, at sign-in".into(),
        server.request("GET", &to, &[("Cookie", &visitor)]),
    ));
    for (page, r) in &pages {
        assert!(
            matches!(r.status, 200 | 302),
            "{page}: {} {}",
            r.status,
            r.body
        );
        assert_eq!(r.header("X-Frame-Options"), Some("DENY"), "{page}");
        let cache = r.header("Cache-Control").unwrap_or("");
        assert!(
            cache.contains("no-store") && cache.contains("private"),
            "{page}: Cache-Control {cache:?}"
        );
        let vary = r.header("Vary").unwrap_or("").to_ascii_lowercase();
        assert!(vary.contains("cookie"), "{page}: Vary {vary:?}");
        if r.status == 200 {
            assert!(
                r.body.contains(r#"<meta name="robots" content="noindex">"#),
                "{page}: {}",
                r.body
            );
        }
    }
}

/// A foreign key whose current row is past the select's first 1000 rows: the edit page must
/// still hold it, or the browser sends the first option and saving silently changes the
/// row's author.
#[test]
fn a_foreign_key_past_the_selects_cap_is_kept_on_edit() {
    let dir = blog_dir();
    let admin = staff(&dir.path);
    let conn = db(&dir.path);
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
         INSERT INTO author (id, name) SELECT i, 'A' || i FROM n;
         UPDATE post SET author_id = 1200 WHERE id = 1;",
    )
    .unwrap();
    // Past the cap the admin asks for the key in a text input (`admin_raw_id`), which holds
    // the current author.
    let input = r#"<input type="text" id="id_author" name="author" value="1200""#;
    let r = admin.get("/manage/post/1/change/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(input), "the current author is kept");
    assert!(r.body.contains(">A1200</a></strong>"), "and named");
    // After a refused value the posted author stays too.
    let long = "x".repeat(81);
    let r = admin.post(
        "/manage/post/1/change/",
        &format!("title={long}&status=live&author=1200"),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains(input), "the posted author is kept");
}

/// Guards: a model that `admin: { models: [...] }` leaves out has no admin page or write: a
/// GET and a POST on its would-be paths are 404 and write nothing.
#[test]
fn a_model_the_admin_does_not_list_cannot_be_edited_or_deleted() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3 }
admin: { path: manage/, models: [Post] }
models:
  Post: { fields: { title: { type: string } } }
  Secret: { fields: { value: { type: string } } }
routes:
  - { path: '', view: template, template: home.hbs }
",
        ),
        ("templates/home.hbs", "home"),
    ]);
    let admin = staff(&dir.path);
    db(&dir.path)
        .execute("INSERT INTO secret (id, value) VALUES (1, 'kept')", [])
        .unwrap();
    for page in [
        "/manage/secret/",
        "/manage/secret/add/",
        "/manage/secret/1/change/",
        "/manage/secret/1/delete/",
        "/manage/secret/1/history/",
    ] {
        assert_eq!(admin.get(page).status, 404, "GET {page}");
        assert_eq!(admin.post(page, "value=gone").status, 404, "POST {page}");
    }
    assert_eq!(
        count(
            &dir.path,
            "SELECT COUNT(*) FROM secret WHERE value = 'kept'"
        ),
        1
    );
    assert_eq!(count(&dir.path, "SELECT COUNT(*) FROM secret"), 1);
}

/// Guards: text primary keys holding `/`, `..` and `%2F` reach the right row and no other,
/// in the change, delete and history paths; a key that is not there is a 404.
#[test]
fn text_keys_with_slashes_and_dots_reach_only_their_row() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3, fixtures: [rows.yaml] }
admin: manage/
models:
  Page:
    fields:
      path: { type: string, primary_key: true }
      title: { type: string }
routes:
  - { path: '', view: template, template: home.hbs }
",
        ),
        (
            "rows.yaml",
            "- { model: Page, pk: a/b, fields: { title: AB } }
- { model: Page, pk: '..', fields: { title: Dots } }
- { model: Page, pk: 'a%2Fb', fields: { title: Encoded } }
- { model: Page, pk: a, fields: { title: A } }
",
        ),
        ("templates/home.hbs", "home"),
    ]);
    let admin = staff(&dir.path);
    let r = admin.get("/manage/page/a/b/change/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("value=\"AB\""), "{}", r.body);
    let r = admin.get("/manage/page/a%2Fb/change/");
    assert_eq!(r.status, 200, "{}", r.body);
    for page in ["/manage/page/../change/", "/manage/page/a/../change/"] {
        let r = admin.get(page);
        assert!(r.status == 404 || r.status == 200, "{page}: {}", r.status);
    }
    assert_eq!(admin.get("/manage/page/nope/change/").status, 404);
    let r = admin.post("/manage/page/a/b/delete/", "");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        count(&dir.path, "SELECT COUNT(*) FROM page WHERE path = 'a/b'"),
        0
    );
    assert_eq!(
        count(&dir.path, "SELECT COUNT(*) FROM page"),
        3,
        "only that row"
    );
}

/// The sign-in page's "no user yet" command names the site's folder: a folder whose name
/// holds a space, a quote or `$(…)` must come out as one shell word, so that the command
/// pasted into a terminal makes the user in that folder and runs nothing else. Before, the
/// folder was printed as it is: `it's my site$(touch x)` split into words and ran the
/// substitution. Read back with a real shell-words parser (shlex), after HTML unescaping.
#[test]
fn the_no_user_command_quotes_a_hostile_folder_name() {
    let outer = write_files(&[]);
    let site = outer.path.join("it's my <b>site</b>$(touch x)");
    std::fs::create_dir_all(site.join("templates")).unwrap();
    std::fs::write(
        site.join("site.yaml"),
        "site: { database: db.sqlite3 }\nadmin: manage/\nmodels: { Note: { fields: { body: { type: text } } } }\nroutes: []\n",
    )
    .unwrap();
    let local = Local::load(&site);
    let r = local.get("/manage/login/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("<b>site"), "{}", r.body);
    let start = r.body.find("<pre><code>").unwrap() + "<pre><code>".len();
    let code = &r.body[start..start + r.body[start..].find("</code>").unwrap()];
    let text = code
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x60;", "`")
        .replace("&#x3D;", "=")
        .replace("&amp;", "&");
    let words = shlex::split(&text).unwrap_or_default();
    let folder = std::fs::canonicalize(&site).unwrap();
    assert_eq!(
        words,
        [
            "trellis",
            "user",
            "add",
            "--staff",
            folder.to_str().unwrap(),
            "USERNAME"
        ],
        "{text}"
    );
}

/// A many_to_many field's join table must not be one of Trellis's own (`trellis_user`,
/// `trellis_log`…): model `Trellis` with a field `user` would write its pairs where the users
/// are. Before, `trellis check` let it through and the migration refused it later, unplaced;
/// now it is a load error at the field, like a model's own table.
#[test]
fn a_join_table_named_like_trellis_own_tables_is_refused_at_its_field() {
    crate::common::check_prints(
        "site: { database: db.sqlite3 }
models:
  Tag: { fields: { name: { type: string } } }
  Trellis:
    fields:
      user: { type: many_to_many, to: Tag }
      log: { type: many_to_many, to: Tag }
routes: []
",
        &[
            "site.yaml:6:13: models.Trellis.fields.user: the join table `trellis_user` is Trellis's own (users, sessions, the history log)",
            "site.yaml:7:12: models.Trellis.fields.log: the join table `trellis_log` is Trellis's own",
            "= help: rename the field, or set `table:` on the model",
        ],
    );
}

/// A site that lets its pages be framed (`frame_options: "off"`, no `frame-ancestors`) still
/// never lets the admin's pages or a sign-in page be framed: a framed "Yes, I'm sure" or
/// sign-in button is clickjacking's target. Its other pages stay frameable, as it asked.
/// Before, the admin's pages were sent with no X-Frame-Options at all.
#[test]
fn a_frameable_site_still_keeps_its_admin_and_sign_in_out_of_frames() {
    let dir = blog_dir();
    let yaml = std::fs::read_to_string(dir.path.join("site.yaml")).unwrap();
    let yaml = yaml.replacen(
        "site: { name: Blog,",
        "site: { security: { frame_options: \"off\" }, name: Blog,",
        1,
    );
    std::fs::write(dir.path.join("site.yaml"), yaml).unwrap();
    let server = Server::start(&dir.path);
    let cookie = session_for(server.site_path(), "root", true);
    assert_eq!(
        server.get("/").header("X-Frame-Options"),
        None,
        "as the site asked"
    );
    for (page, cookie) in [
        ("/manage/", cookie.as_str()),
        ("/manage/post/1/delete/", &cookie),
        ("/manage/login/", ""),
    ] {
        let r = server.request("GET", page, &[("Cookie", cookie)]);
        assert_eq!(r.status, 200, "{page}: {}", r.body);
        assert_eq!(r.header("X-Frame-Options"), Some("DENY"), "{page}");
    }
}

/// A signed-in user (staff or not: the one an admin page sends back to sign in as someone else)
/// opening the admin's sign-in page gets the page, with the sign-out button, not a 500.
/// Before, the page's header asked for the sign-out route, which its context lacked.
#[test]
fn a_signed_in_user_can_open_the_admins_sign_in_page() {
    let dir = blog_dir();
    let admin = staff(&dir.path);
    let ann = signed_in(&dir.path, "ann", false);
    for who in [&admin, &ann] {
        let r = who.get("/manage/login/?next=/manage/post/");
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body
                .contains(r#"<form method="post" action="/manage/logout/">"#),
            "{}",
            r.body
        );
        assert!(r.body.contains(r#"name="username""#), "{}", r.body);
    }
}

const SHOP: &str = "site: { database: db.sqlite3, fixtures: [rows.yaml] }
admin: manage/
models:
  Tag: { fields: { name: { type: string } } }
  Shelf: { fields: { name: { type: string } } }
  Item:
    fields:
      name: { type: string }
      tags: { type: many_to_many, to: Tag }
      shelf: { type: foreign_key, to: Shelf, on_delete: restrict }
  Note:
    fields:
      text: { type: string }
      item: { type: foreign_key, to: Item, on_delete: cascade }
routes:
  - { path: '', view: template, template: home.hbs }
";

const SHOP_ROWS: &str = "- { model: Tag, pk: 1, fields: { name: red } }
- { model: Tag, pk: 2, fields: { name: blue } }
- { model: Shelf, pk: 1, fields: { name: top } }
- { model: Item, pk: 1, fields: { name: cup, tags: [1, 2], shelf: 1 } }
- { model: Item, pk: 2, fields: { name: mug, tags: [1], shelf: 1 } }
- { model: Note, pk: 1, fields: { text: chipped, item: 1 } }
";

fn shop() -> (crate::common::SiteDir, Signed) {
    let dir = write_files(&[
        ("site.yaml", SHOP),
        ("rows.yaml", SHOP_ROWS),
        ("templates/home.hbs", "home"),
    ]);
    let admin = staff(&dir.path);
    (dir, admin)
}

/// Guards: deleting a row that many_to_many pairs and cascading keys point at removes its
/// pairs and cascaded rows and nothing else (the tags themselves, the other item's pair), and
/// logs one action; deleting a tag removes only its pairs. A delete that `on_delete:
/// restrict` forbids writes nothing and logs nothing.
#[test]
fn deletes_through_many_to_many_and_cascades_remove_only_their_rows() {
    let (dir, admin) = shop();
    let n = |sql: &str| count(&dir.path, sql);
    let r = admin.get("/manage/item/1/delete/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Note: 1 (chipped)"), "{}", r.body);
    assert_eq!(admin.post("/manage/item/1/delete/", "").status, 303);
    assert_eq!(n("SELECT COUNT(*) FROM item"), 1);
    assert_eq!(n("SELECT COUNT(*) FROM note"), 0);
    assert_eq!(n("SELECT COUNT(*) FROM tag"), 2, "the tags are kept");
    assert_eq!(n("SELECT COUNT(*) FROM item_tags"), 1, "mug's pair is kept");
    assert_eq!(
        n("SELECT COUNT(*) FROM trellis_log WHERE action = 'deleted'"),
        1
    );

    assert_eq!(admin.post("/manage/tag/1/delete/", "").status, 303);
    assert_eq!(n("SELECT COUNT(*) FROM item_tags"), 0);
    assert_eq!(n("SELECT COUNT(*) FROM item"), 1, "the item is kept");

    let logged = n("SELECT COUNT(*) FROM trellis_log");
    let r = admin.post("/manage/shelf/1/delete/", "");
    assert!(r.status >= 400, "{} {}", r.status, r.body);
    assert_eq!(n("SELECT COUNT(*) FROM shelf"), 1, "restrict keeps it");
    assert_eq!(
        n("SELECT COUNT(*) FROM trellis_log"),
        logged,
        "nothing logged"
    );
}

/// Guards: the admin's sign-in needs the CSRF token, sends `next` only to a local path, and
/// signing out is a POST (a GET, a link or an image, signs nobody out).
#[test]
fn the_admins_sign_in_and_sign_out_refuse_forgery_and_foreign_next() {
    let dir = blog_dir();
    let local = Local::load(&dir.path);
    crate::admin::session_for(&dir.path, "root", true);
    let sign_in = |next: &str, token: bool| {
        let cookies = format!("csrftoken={CSRF_SECRET}");
        let t = if token { CSRF_SECRET } else { "" };
        let req = Request::new("POST", &format!("/manage/login/?next={next}"))
            .with_cookies(&cookies)
            .with_form(&format!(
                "csrfmiddlewaretoken={t}&username=root&password=pw"
            ));
        local.send(&req)
    };
    assert_eq!(sign_in("/manage/post/", false).status, 403);
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/%5Cevil.example",
        "javascript:alert(1)",
    ] {
        let r = sign_in(next, true);
        assert_eq!(r.status, 303, "{next}: {}", r.body);
        assert_eq!(r.header("Location"), Some("/manage/"), "{next}");
    }
    let r = sign_in("/manage/post/%3Fq%3D1", true);
    assert!(r.header("Location").unwrap().starts_with("/manage/post/"));
    let key = r
        .headers
        .iter()
        .find(|(n, v)| n.eq_ignore_ascii_case("Set-Cookie") && v.starts_with("sessionid="))
        .map(|(_, v)| v[..v.find(';').unwrap()].to_string())
        .unwrap();
    let admin = Signed { local, cookie: key };
    let r = admin.get("/manage/logout/");
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(admin.get("/manage/").status, 200, "still signed in");
    assert_eq!(admin.post("/manage/logout/", "").status, 303);
    assert_eq!(admin.get("/manage/").status, 302, "signed out");
}

/// A site page that shows `user` is answered to a signed-in user with `Cache-Control:
/// private` and `Vary: Cookie`, so a shared cache never hands one user's page to another; the
/// same page to an anonymous visitor stays cacheable. Before, it had no Cache-Control.
#[test]
fn a_page_showing_the_user_is_private_to_a_signed_in_user() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3 }
models: { Note: { fields: { text: { type: string } } } }
routes:
  - { path: '', view: template, template: home.hbs }
  - { path: login/, view: login }
",
        ),
        ("templates/home.hbs", "Hello {{user.username}}"),
    ]);
    let ann = signed_in(&dir.path, "ann", false);
    let r = ann.get("/");
    assert_eq!(r.body, "Hello ann");
    assert_eq!(r.header("Cache-Control"), Some("private"));
    assert!(r.header("Vary").unwrap_or("").contains("Cookie"));
    let r = ann.local.get("/");
    assert_eq!(r.body, "Hello ");
    assert_eq!(r.header("Cache-Control"), None);
}

/// The same for a many_to_many field: a chosen row past the select's first 1000 stays held
/// by the edit page, so saving keeps the pair.
#[test]
fn a_many_to_many_value_past_the_selects_cap_is_kept_on_edit() {
    let (dir, admin) = shop();
    db(&dir.path)
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < 1100)
             INSERT INTO tag (id, name) SELECT i, 'T' || i FROM n;
             INSERT INTO item_tags (item_id, tag_id) VALUES (2, 1100);",
        )
        .unwrap();
    let r = admin.get("/manage/item/2/change/");
    assert_eq!(r.status, 200, "{}", r.body);
    // Past the cap the admin asks for the keys in a text input (`admin_raw_id`).
    assert!(
        r.body.contains(r#"name="tags" value="1,1100""#),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains(r#"<option value="1099""#),
        "no select of every tag"
    );
}

/// Documents Django's behaviour, kept: two staff users who opened the same row's edit page
/// both save; the last save wins whole (the first one's title is lost, silently), and the
/// history says who saved what, in order.
#[test]
fn two_staff_editing_one_row_the_last_save_wins_and_both_are_logged() {
    let dir = blog_dir();
    let ann = signed_in(&dir.path, "ann", true);
    let bob = signed_in(&dir.path, "bob", true);
    assert_eq!(ann.get("/manage/post/2/change/").status, 200);
    assert_eq!(bob.get("/manage/post/2/change/").status, 200);
    let sent = |who: &Signed, body: &str| who.post("/manage/post/2/change/", body).status;
    assert_eq!(sent(&ann, "title=Ann%27s&status=live&author=1"), 303);
    assert_eq!(sent(&bob, "title=Bob%27s&status=draft&author=2"), 303);
    let row: (String, String, i64) = db(&dir.path)
        .query_row(
            "SELECT title, status, author_id FROM post WHERE id = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(row, ("Bob's".to_string(), "draft".to_string(), 2));
    let who: Vec<String> = db(&dir.path)
        .prepare("SELECT username FROM trellis_log WHERE object_id = '2' AND action = 'changed' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(who, ["ann", "bob"]);
}
