//! `view: create` (issue 11, step 4), in process: the built-in form, a POST that saves a row
//! and redirects 303, one that is refused with a message per field and the values kept
//! (escaped), and a collection model refused at load.

use std::path::Path;

use rusqlite::Connection;

use crate::common::{check_prints, write_files, Local, SiteDir};

const SITE: &str = "site: { database: db.sqlite3, fixtures: [authors.yaml] }
models:
  Author:
    fields:
      name: { type: string, max_length: 30 }
  Post:
    fields:
      title: { type: string, max_length: 40 }
      slug: { type: slug, unique: true }
      published: { type: boolean, default: false }
      author: { type: foreign_key, to: Author }
routes:
  - { path: posts/new/, name: post-new, view: create, model: Post, success: post-detail }
  - { path: posts/<slug:slug>/, name: post-detail, view: detail, model: Post, lookup: slug, template: post.hbs }
";

pub(crate) fn blog_dir() -> SiteDir {
    write_files(&[
        ("site.yaml", SITE),
        (
            "authors.yaml",
            "- { model: Author, pk: 1, fields: { name: Ann } }\n- { model: Author, pk: 2, fields: { name: Bob } }\n",
        ),
        ("templates/post.hbs", "<h1>{{object.title}}</h1>"),
    ])
}

fn blog() -> (SiteDir, Local) {
    let dir = blog_dir();
    let local = Local::load(&dir.path);
    (dir, local)
}

/// The posts in the database file of the site in `dir`.
fn rows(dir: &Path) -> Vec<String> {
    let conn = Connection::open(dir.join("db.sqlite3")).unwrap();
    let mut stmt = conn
        .prepare("SELECT title || '|' || slug || '|' || published || '|' || author_id FROM post ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_built_in_form_shows_every_field_and_the_csrf_field() {
    let (_dir, local) = blog();
    let r = local.get("/posts/new/");
    assert_eq!(r.status, 200, "{}", r.body);
    let page = &r.body;
    for part in [
        "<title>New Post</title>",
        "name=\"csrfmiddlewaretoken\" value=\"",
        "<input id=\"id_title\" type=\"text\" name=\"title\" value=\"\" maxlength=\"40\" required>",
        "<input type=\"checkbox\" name=\"published\">",
        "<option value=\"1\">Ann</option><option value=\"2\">Bob</option>",
    ] {
        assert!(page.contains(part), "{part}\n---\n{page}");
    }
    // The token it shows comes with its cookie.
    assert!(r
        .header("set-cookie")
        .is_some_and(|c| c.starts_with("csrftoken=")));
}

#[test]
fn a_valid_post_saves_the_row_then_redirects_303_to_its_page() {
    let (dir, local) = blog();
    let r = local.post_form(
        "/posts/new/",
        "title=Hello&slug=hello&published=on&author=2",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/posts/hello/"));
    assert_eq!(rows(&dir.path), ["Hello|hello|1|2"]);
    assert!(local.get("/posts/hello/").body.contains("<h1>Hello</h1>"));
}

/// The server tries a reading page on its worker first and answers it again on a database
/// thread when the try runs out of time: a form must never take that path, or one POST could
/// save its row twice. The try declines it (writing nothing); the answer then saves one row.
#[test]
fn a_post_is_never_tried_briefly_and_makes_exactly_one_row() {
    let (dir, local) = blog();
    let body = "title=Once&slug=once&author=1";
    assert!(local.post_form_briefly("/posts/new/", body).is_none());
    assert!(rows(&dir.path).is_empty());
    assert_eq!(local.post_form("/posts/new/", body).status, 303);
    assert_eq!(rows(&dir.path), ["Once|once|0|1"]);
}

#[test]
fn an_invalid_post_writes_nothing_and_shows_each_message_with_the_values_kept() {
    let (dir, local) = blog();
    let long = "x".repeat(41);
    let r = local.post_form(
        "/posts/new/",
        &format!("title=%3Cscript%3E{long}&slug=a+b&author=9"),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let page = &r.body;
    assert!(!page.contains("<script>"), "{page}");
    let kept = format!("value=\"&lt;script&gt;{long}\"");
    for part in [
        kept.as_str(),
        "at most 40 characters, got 49",
        "a slug holds only letters, digits, &#x60;-&#x60; and &#x60;_&#x60;, got &quot;a b&quot;",
        // Unticked: not sent, so false, which is allowed.
        "<input type=\"checkbox\" name=\"published\">",
    ] {
        assert!(page.contains(part), "{part}\n---\n{page}");
    }
    assert_eq!(rows(&dir.path), Vec::<String>::new());
    // The fields pass, the author does not exist: a message for it, nothing written.
    let r = local.post_form("/posts/new/", "title=T&slug=t&author=9");
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("no Author with key &quot;9&quot;"),
        "{}",
        r.body
    );
    // A taken slug.
    assert_eq!(
        local
            .post_form("/posts/new/", "title=T&slug=t&author=1")
            .status,
        303
    );
    let r = local.post_form("/posts/new/", "title=U&slug=t&author=1");
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("a Post with this slug already exists"),
        "{}",
        r.body
    );
    assert_eq!(rows(&dir.path), ["T|t|0|1"]);
}

#[test]
fn a_post_without_the_token_is_refused_and_writes_nothing() {
    let (dir, local) = blog();
    assert_eq!(local.post("/posts/new/").status, 403);
    assert_eq!(rows(&dir.path), Vec::<String>::new());
}

#[test]
fn a_create_view_of_a_collection_model_or_with_nowhere_to_go_does_not_load() {
    check_prints(
        "models:\n  Post:\n    source: content/posts/\n    fields:\n      slug: { type: slug, unique: true }\nroutes:\n  - { path: new/, view: create, model: Post, success: home }\n  - { path: '', name: home, view: template, template: home.hbs }\n",
        &["a create view cannot change them"],
    );
    check_prints(
        "models:\n  Post:\n    fields:\n      slug: { type: slug }\nroutes:\n  - { path: new/, view: create, model: Post }\n",
        &[
            "routes[0]: `success` is not set and the site has no detail route of Post to go to",
            "help: add a detail route of the model, or name a route: `success: post-detail`",
        ],
    );
}

/// Over the wire, as a browser does it: the form page sets the cookie and shows the token, the
/// form body comes back with both, and the answer is a 303 to the new row's page, sent once
/// the row is in the file.
#[test]
fn over_http_the_form_round_trip_saves_the_row() {
    let server = crate::common::Server::start(&blog_dir().path);
    let (_, r) = crate::crud::submit(
        &server,
        "/posts/new/",
        "title=Over+the+wire&slug=wire&author=1",
    );
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.header("location"), Some("/posts/wire/"));
    let site = server.site.as_ref().expect("a site folder");
    assert_eq!(rows(site), ["Over the wire|wire|0|1"]);
    assert!(server
        .get("/posts/wire/")
        .body
        .contains("<h1>Over the wire</h1>"));
}
