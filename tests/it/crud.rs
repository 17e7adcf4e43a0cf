//! `view: update` and `view: delete` (issue 11): the form filled with the row, a POST that
//! changes it (unique values checked against the other rows only, `auto_now` set), the
//! confirmation page listing what the cascade removes, and a delete that removes exactly that —
//! read back from the SQLite file. Each path's 404 and 403; one real-HTTP round trip each.

use std::path::Path;

use rusqlite::Connection;

use crate::common::{check_prints, write_files, Local, Resp, Server, SiteDir};

const SITE: &str = "site: { database: db.sqlite3, fixtures: [data.yaml] }
models:
  Author:
    fields:
      name: { type: string, max_length: 30 }
  Tag:
    fields:
      name: { type: string }
  Post:
    fields:
      title: { type: string, max_length: 40 }
      slug: { type: slug, unique: true }
      published: { type: boolean, default: false }
      author: { type: foreign_key, to: Author }
      tags: { type: many_to_many, to: Tag }
      updated: { type: datetime, auto_now: true }
  Comment:
    fields:
      text: { type: string }
      post: { type: foreign_key, to: Post }
  Note:
    fields:
      text: { type: string }
      post: { type: foreign_key, to: Post, null: true, on_delete: set_null }
  Pin:
    fields:
      label: { type: string }
      post: { type: foreign_key, to: Post, on_delete: restrict }
routes:
  - { path: posts/, name: post-list, view: list, model: Post, template: list.hbs }
  - { path: posts/<slug:slug>/, name: post-detail, view: detail, model: Post, lookup: slug, template: post.hbs }
  - { path: posts/<slug:slug>/edit/, name: post-edit, view: update, model: Post, lookup: slug }
  - { path: posts/<slug:slug>/delete/, view: delete, model: Post, lookup: slug }
  - { path: authors/<int:pk>/delete/, view: delete, model: Author, success: post-list }
";

const DATA: &str = "- { model: Author, pk: 1, fields: { name: Ann } }
- { model: Author, pk: 2, fields: { name: Bob } }
- { model: Author, pk: 3, fields: { name: Cy } }
- { model: Tag, pk: 1, fields: { name: rust } }
- { model: Tag, pk: 2, fields: { name: web } }
- { model: Post, pk: 1, fields: { title: Hello, slug: hello, published: true, author: 1, tags: [1, 2], updated: '2000-01-01T00:00:00' } }
- { model: Post, pk: 2, fields: { title: Second, slug: second, author: 1, tags: [2], updated: '2000-01-01T00:00:00' } }
- { model: Post, pk: 3, fields: { title: Bobs, slug: bobs, author: 2, tags: [1], updated: '2000-01-01T00:00:00' } }
- { model: Post, pk: 4, fields: { title: Pinned, slug: pinned, author: 3, updated: '2000-01-01T00:00:00' } }
- { model: Comment, pk: 1, fields: { text: c1, post: 1 } }
- { model: Comment, pk: 2, fields: { text: c2, post: 1 } }
- { model: Comment, pk: 3, fields: { text: c3, post: 2 } }
- { model: Comment, pk: 4, fields: { text: c4, post: 3 } }
- { model: Note, pk: 1, fields: { text: n1, post: 2 } }
- { model: Note, pk: 2, fields: { text: n2, post: 3 } }
- { model: Pin, pk: 1, fields: { label: p1, post: 4 } }
";

/// As a browser does it over the wire: GET the form page at `path` (which sets the CSRF cookie
/// and shows the token), then POST `fields` back with both. Returns the page and the answer.
pub(crate) fn submit(server: &Server, path: &str, fields: &str) -> (Resp, Resp) {
    submit_with(server, path, fields, "", &[])
}

/// [`submit`], the POST also sending `cookies` (`name=value; …`, after the CSRF one) and the
/// `extra` headers.
pub(crate) fn submit_with(
    server: &Server,
    path: &str,
    fields: &str,
    cookies: &str,
    extra: &[(&str, &str)],
) -> (Resp, Resp) {
    use crate::csrf::{csrf_cookie, token_in, FORM};
    let page = server.get(path);
    assert_eq!(page.status, 200, "{page:?}");
    let (secret, _) = csrf_cookie(&page);
    let token = token_in(&page.body);
    let body = match fields {
        "" => format!("csrfmiddlewaretoken={token}"),
        _ => format!("csrfmiddlewaretoken={token}&{fields}"),
    };
    let cookie = match cookies {
        "" => format!("csrftoken={secret}"),
        _ => format!("csrftoken={secret}; {cookies}"),
    };
    let mut headers = vec![("Cookie", cookie.as_str()), ("Content-Type", FORM)];
    headers.extend_from_slice(extra);
    let r = server.request_with_body("POST", path, &headers, &body);
    (page, r)
}

fn blog_dir() -> SiteDir {
    write_files(&[
        ("site.yaml", SITE),
        ("data.yaml", DATA),
        ("templates/post.hbs", "<h1>{{object.title}}</h1>"),
        (
            "templates/list.hbs",
            "{{#each objects}}<li>{{title}}</li>{{/each}}",
        ),
    ])
}

fn blog() -> (SiteDir, Local) {
    let dir = blog_dir();
    let local = Local::load(&dir.path);
    (dir, local)
}

/// One text per row of `sql`'s first column, from the site's database file.
pub(crate) fn column(dir: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(dir.join("db.sqlite3")).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn posts(dir: &Path) -> Vec<String> {
    column(
        dir,
        "SELECT title || '|' || slug || '|' || published || '|' || author_id || '|' || \
         coalesce((SELECT group_concat(tag_id) FROM (SELECT tag_id FROM post_tags \
         WHERE post_id = post.id ORDER BY tag_id)), '') FROM post ORDER BY id",
    )
}

/// Every table's rows, for "the others are untouched".
fn everything(dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    for (table, cols) in [
        ("author", "id || name"),
        ("post", "id || slug"),
        ("comment", "id || text || post_id"),
        ("note", "id || text || coalesce(post_id, '-')"),
        ("pin", "id || label || post_id"),
        ("post_tags", "post_id || '-' || tag_id"),
        ("tag", "id || name"),
    ] {
        let rows = column(dir, &format!("SELECT {cols} FROM {table} ORDER BY 1"));
        all.push(format!("{table}: {}", rows.join(" ")));
    }
    all
}

#[test]
fn the_update_form_shows_the_row_with_its_foreign_key_and_tags_selected() {
    let (_dir, local) = blog();
    let r = local.get("/posts/hello/edit/");
    assert_eq!(r.status, 200, "{}", r.body);
    for part in [
        "<title>Edit Post “Hello”</title>",
        "name=\"csrfmiddlewaretoken\" value=\"",
        "<input id=\"id_title\" type=\"text\" name=\"title\" value=\"Hello\" maxlength=\"40\" required>",
        "<input id=\"id_slug\" type=\"text\" name=\"slug\" value=\"hello\"",
        "<input type=\"checkbox\" name=\"published\" checked>",
        "<option value=\"1\" selected>Ann</option><option value=\"2\">Bob</option>",
        "<option value=\"1\" selected>rust</option><option value=\"2\" selected>web</option>",
    ] {
        assert!(r.body.contains(part), "{part}\n---\n{}", r.body);
    }
    // `updated` is auto_now: not in the form.
    assert!(!r.body.contains("name=\"updated\""), "{}", r.body);
}

#[test]
fn an_update_saves_the_row_its_tags_and_auto_now_then_redirects_303() {
    let (dir, local) = blog();
    let before = everything(&dir.path);
    let r = local.post_form("/posts/hello/edit/", "title=Hi&slug=hi&author=2&tags=2");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/posts/hi/"));
    // Unticked checkbox: false; the tag set replaced.
    assert_eq!(posts(&dir.path)[0], "Hi|hi|0|2|2");
    let updated = column(&dir.path, "SELECT updated FROM post WHERE id = 1");
    assert_ne!(updated, ["2000-01-01T00:00:00"]);
    assert_eq!(
        column(&dir.path, "SELECT updated FROM post WHERE id = 2"),
        ["2000-01-01T00:00:00"]
    );
    // Nothing else changed: no new row, the other posts as they were.
    let after = everything(&dir.path);
    assert_eq!(before[2..5], after[2..5]);
    assert!(local.get("/posts/hi/").body.contains("<h1>Hi</h1>"));
    assert_eq!(local.get("/posts/hello/").status, 404);
}

#[test]
fn an_update_keeps_its_own_unique_value_and_cannot_take_another_rows() {
    let (dir, local) = blog();
    let same = local.post_form("/posts/hello/edit/", "title=Again&slug=hello&author=1");
    assert_eq!(same.status, 303, "{}", same.body);
    assert_eq!(posts(&dir.path)[0], "Again|hello|0|1|");
    let before = posts(&dir.path);
    let r = local.post_form(
        "/posts/hello/edit/",
        "title=%3Cb%3ETaken%3C%2Fb%3E&slug=second&author=1",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("a Post with this slug already exists"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("value=\"&lt;b&gt;Taken&lt;/b&gt;\""),
        "{}",
        r.body
    );
    assert_eq!(posts(&dir.path), before);
}

#[test]
fn an_invalid_update_writes_nothing_and_keeps_the_values() {
    let (dir, local) = blog();
    let before = everything(&dir.path);
    let r = local.post_form(
        "/posts/hello/edit/",
        "title=&slug=ok&author=9&tags=1&tags=7",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("this field is required"), "{}", r.body);
    assert!(r.body.contains("value=\"ok\""), "{}", r.body);
    assert_eq!(everything(&dir.path), before);
    // The fields pass, a tag does not exist: nothing written either.
    let r = local.post_form("/posts/hello/edit/", "title=T&slug=ok&author=1&tags=7");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("no Tag with key &quot;7&quot;"),
        "{}",
        r.body
    );
    assert_eq!(everything(&dir.path), before);
}

#[test]
fn update_and_delete_of_a_missing_row_are_404_and_without_the_token_403() {
    let (dir, local) = blog();
    let before = everything(&dir.path);
    assert_eq!(local.get("/posts/nope/edit/").status, 404);
    assert_eq!(
        local
            .post_form("/posts/nope/edit/", "title=T&slug=t&author=1")
            .status,
        404
    );
    assert_eq!(local.get("/posts/nope/delete/").status, 404);
    assert_eq!(local.post_form("/posts/nope/delete/", "").status, 404);
    assert_eq!(local.get("/authors/99/delete/").status, 404);
    assert_eq!(local.post("/posts/hello/edit/").status, 403);
    assert_eq!(local.post("/posts/hello/delete/").status, 403);
    assert_eq!(local.post("/authors/1/delete/").status, 403);
    assert_eq!(everything(&dir.path), before);
}

#[test]
fn the_delete_page_lists_what_the_cascade_removes() {
    let (_dir, local) = blog();
    let r = local.get("/authors/1/delete/");
    assert_eq!(r.status, 200, "{}", r.body);
    for part in [
        "<title>Delete Author “Ann”?</title>",
        "<p>Deleting it deletes these rows:</p>",
        "<li>Author: 1 (Ann)</li>",
        "<li>Post: 2 (Hello, Second)</li>",
        "<li>Comment: 3 (c1, c2, c3)</li>",
        "<li>Post.tags: 3</li>",
        "<li>Note: 1 (n1)</li>",
        "name=\"csrfmiddlewaretoken\"",
        "<button type=\"submit\">Delete</button>",
    ] {
        assert!(r.body.contains(part), "{part}\n---\n{}", r.body);
    }
}

#[test]
fn a_delete_removes_exactly_the_listed_rows_and_leaves_the_others() {
    let (dir, local) = blog();
    let r = local.post_form("/authors/1/delete/", "");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/posts/"));
    assert_eq!(
        everything(&dir.path),
        [
            "author: 2Bob 3Cy",
            "post: 3bobs 4pinned",
            "comment: 4c43",
            // Note n1 pointed at a deleted post: kept, its key emptied (set_null).
            "note: 1n1- 2n23",
            "pin: 1p14",
            "post_tags: 3-1",
            "tag: 1rust 2web",
        ]
    );
    // A delete without `success:` goes to the model's list route.
    let r = local.post_form("/posts/bobs/delete/", "");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/posts/"));
    assert_eq!(column(&dir.path, "SELECT slug FROM post"), ["pinned"]);
}

#[test]
fn a_row_that_restrict_protects_is_not_deleted_and_the_page_says_why() {
    let (dir, local) = blog();
    let before = everything(&dir.path);
    let r = local.get("/authors/3/delete/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("It cannot be deleted"), "{}", r.body);
    assert!(r.body.contains("<li>Pin: 1 (p1)</li>"), "{}", r.body);
    assert!(!r.body.contains("<button"), "{}", r.body);
    let r = local.post_form("/authors/3/delete/", "");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("<li>Pin: 1 (p1)</li>"), "{}", r.body);
    assert_eq!(everything(&dir.path), before);
}

#[test]
fn a_form_without_success_and_no_route_to_go_to_does_not_load() {
    check_prints(
        "site: { database: db.sqlite3 }\nmodels:\n  Post:\n    fields:\n      slug: { type: slug }\nroutes:\n  - { path: '<int:pk>/edit/', view: update, model: Post }\n  - { path: '<int:pk>/delete/', view: delete, model: Post }\n",
        &[
            "routes[0]: `success` is not set and the site has no detail route of Post to go to",
            "routes[1]: `success` is not set and the site has no list route without captures of Post to go to",
            "help: name the route to go to after deleting: `success: post-list`",
        ],
    );
    check_prints(
        "site: { database: db.sqlite3 }\nmodels:\n  Post:\n    fields:\n      slug: { type: slug }\nroutes:\n  - { path: 'edit/', view: update, model: Post, success: x }\n  - { path: 'x/', name: x, view: template, template: x.hbs }\n",
        &["an update view by `id` needs the path to capture `<int:pk>` or `<…:id>`; it captures nothing"],
    );
}

/// Over the wire, as a browser does it: the edit page sets the cookie and shows the token, the
/// form comes back with both, and the 303 is sent once the change is in the file.
#[test]
fn over_http_an_update_round_trip_changes_the_row() {
    let server = Server::start(&blog_dir().path);
    let (page, r) = submit(
        &server,
        "/posts/second/edit/",
        "title=Wired&slug=second&author=2&tags=1",
    );
    assert!(page.body.contains("value=\"Second\""), "{}", page.body);
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.header("location"), Some("/posts/second/"));
    let site = server.site.as_ref().expect("a site folder");
    assert_eq!(posts(site)[1], "Wired|second|0|2|1");
    assert!(server.get("/posts/second/").body.contains("<h1>Wired</h1>"));
}

/// Over the wire: the confirmation page, then its form posted back; the rows are gone from the
/// served file and the list page no longer shows them.
#[test]
fn over_http_a_delete_round_trip_removes_the_cascade() {
    let server = Server::start(&blog_dir().path);
    let (page, r) = submit(&server, "/posts/hello/delete/", "");
    assert!(
        page.body.contains("<li>Comment: 2 (c1, c2)</li>"),
        "{}",
        page.body
    );
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(r.header("location"), Some("/posts/"));
    let site = server.site.as_ref().expect("a site folder");
    let all = everything(site);
    assert_eq!(all[1], "post: 2second 3bobs 4pinned");
    assert_eq!(all[2], "comment: 3c32 4c43");
    assert_eq!(all[5], "post_tags: 2-2 3-1");
    let list = server.get("/posts/");
    assert!(!list.body.contains("Hello"), "{}", list.body);
    assert!(list.body.contains("<li>Second</li>"), "{}", list.body);
}

/// A site's partial `forms/<Model>/<field>.hbs` draws that one field of the built-in form
/// (with the field's context: name, value, error…); the other fields keep the built-in widgets.
#[test]
fn a_partial_replaces_one_fields_widget() {
    let dir = blog_dir();
    std::fs::create_dir_all(dir.path.join("templates/forms/Post")).unwrap();
    std::fs::write(
        dir.path.join("templates/forms/Post/title.hbs"),
        "<input class=\"big\" name=\"{{name}}\" value=\"{{value}}\">{{#if error}}<em>{{error}}</em>{{/if}}",
    )
    .unwrap();
    let local = Local::load(&dir.path);
    let r = local.get("/posts/hello/edit/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<p>\n<input class=\"big\" name=\"title\" value=\"Hello\">"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("id=\"id_title\""), "{}", r.body);
    assert!(r.body.contains("id=\"id_slug\""), "{}", r.body);
    let r = local.post_form("/posts/hello/edit/", "title=%3Ci%3E&slug=a+b&author=1");
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("<input class=\"big\" name=\"title\" value=\"&lt;i&gt;\">"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<i>"), "{}", r.body);
}

/// A foreign key to its own model: the cascade follows the tree down (and stops on a cycle),
/// and the page's count is what SQLite then deletes.
#[test]
fn a_tree_and_a_cycle_of_foreign_keys_are_planned_as_sqlite_deletes_them() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3, fixtures: [data.yaml] }
models:
  Category:
    fields:
      name: { type: string }
      parent: { type: foreign_key, to: Category, null: true }
routes:
  - { path: '', name: home, view: list, model: Category, template: list.hbs }
  - { path: '<int:pk>/delete/', view: delete, model: Category }
",
        ),
        (
            "data.yaml",
            "- { model: Category, pk: 1, fields: { name: root } }
- { model: Category, pk: 2, fields: { name: child, parent: 1 } }
- { model: Category, pk: 3, fields: { name: grandchild, parent: 2 } }
- { model: Category, pk: 4, fields: { name: other } }
- { model: Category, pk: 5, fields: { name: ping, parent: 6 } }
- { model: Category, pk: 6, fields: { name: pong, parent: 5 } }
",
        ),
        ("templates/list.hbs", "{{#each objects}}{{name}} {{/each}}"),
    ]);
    let local = Local::load(&dir.path);
    let names = || column(&dir.path, "SELECT name FROM category ORDER BY id");
    let page = local.get("/1/delete/").body;
    assert!(
        page.contains("<li>Category: 3 (root, child, grandchild)</li>"),
        "{page}"
    );
    assert_eq!(local.post_form("/1/delete/", "").status, 303);
    assert_eq!(names(), ["other", "ping", "pong"]);
    let page = local.get("/5/delete/").body;
    assert!(page.contains("<li>Category: 2 (ping, pong)</li>"), "{page}");
    assert_eq!(local.post_form("/5/delete/", "").status, 303);
    assert_eq!(names(), ["other"]);
}

/// As for create: the server's brief try on its worker declines an update or a delete (a try
/// cut short and answered again could write twice); the answer proper writes once.
#[test]
fn an_update_or_delete_is_never_tried_briefly() {
    let (dir, local) = blog();
    let before = everything(&dir.path);
    let body = "title=Once&slug=hello&author=1";
    assert!(local
        .post_form_briefly("/posts/hello/edit/", body)
        .is_none());
    assert!(local
        .post_form_briefly("/posts/hello/delete/", "")
        .is_none());
    assert_eq!(everything(&dir.path), before);
    assert_eq!(local.post_form("/posts/hello/edit/", body).status, 303);
    assert_eq!(posts(&dir.path)[0], "Once|hello|0|1|");
}
