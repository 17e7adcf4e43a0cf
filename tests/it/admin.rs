//! `admin:` (issue 11, the admin's read side): the index with row counts, each model's list
//! (search, ordering both ways, filters by boolean, choice and foreign key, pages, hostile
//! values escaped), a collection model shown read-only, and bad `admin:` values refused by
//! `trellis check` at their place. In process, and once over real HTTP.

use std::path::Path;

use trellis::views::Request;

use crate::common::{check_prints, write_files, Local, Resp, Server, SiteDir, CSRF_SECRET};

/// A site loaded in process with a signed-in session: every request carries its cookie.
pub(crate) struct Signed {
    pub local: Local,
    pub cookie: String,
}

impl Signed {
    pub fn get(&self, target: &str) -> Resp {
        self.local
            .send(&Request::get(target).with_cookies(&self.cookie))
    }

    /// A form POST as the admin's pages send it: the session and a CSRF token that passes.
    pub fn post(&self, target: &str, body: &str) -> Resp {
        let req = Request::new("POST", target)
            .with_cookies(&format!("csrftoken={CSRF_SECRET}; {}", self.cookie))
            .with_form(&format!("csrfmiddlewaretoken={CSRF_SECRET}&{body}"));
        self.local.send(&req)
    }
}

/// Make user `name` in the site's database (`db.sqlite3` in `dir`) and a session for them;
/// the `sessionid=…` cookie that signs a request in as them.
pub(crate) fn session_for(dir: &Path, name: &str, staff: bool) -> String {
    use trellis::db::session as store;
    let conn = rusqlite::Connection::open(dir.join("db.sqlite3")).unwrap();
    let hash = trellis::auth::hash_password("pw").unwrap();
    store::add_user(&conn, name, &hash, staff).unwrap();
    let id: i64 = conn
        .query_row(
            "SELECT id FROM trellis_user WHERE username = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap();
    let key = trellis::auth::new_key();
    store::create_session(&conn, &key, id, trellis::auth::now() + 3600).unwrap();
    format!("sessionid={key}")
}

/// The site in `dir`, loaded in process, with a staff user signed in.
pub(crate) fn staff(dir: &Path) -> Signed {
    let local = Local::load(dir);
    let cookie = session_for(dir, "root", true);
    Signed { local, cookie }
}

const SITE: &str = "site: { name: Blog, database: db.sqlite3, fixtures: [rows.yaml] }
admin: { path: manage/, paginate_by: 2, list_display: { Post: [title, status, published, author] } }
models:
  Author:
    fields:
      name: { type: string, max_length: 40 }
  Post:
    fields:
      title: { type: string, max_length: 80 }
      status: { type: string, max_length: 10, choices: [draft, live] }
      published: { type: boolean, default: false }
      author: { type: foreign_key, to: Author }
    ordering: [title]
routes:
  - { path: '', view: template, template: home.hbs }
";

const ROWS: &str = "- { model: Author, pk: 1, fields: { name: Ann } }
- { model: Author, pk: 2, fields: { name: \"<b>Bob</b>\" } }
- { model: Post, pk: 1, fields: { title: Apples, status: live, published: true, author: 1 } }
- { model: Post, pk: 2, fields: { title: Bananas, status: draft, published: false, author: 2 } }
- { model: Post, pk: 3, fields: { title: Cherries, status: live, published: true, author: 2 } }
- { model: Post, pk: 4, fields: { title: \"<script>alert(1)</script>\", status: draft, published: false, author: 1 } }
";

pub(crate) fn blog_dir() -> SiteDir {
    write_files(&[
        ("site.yaml", SITE),
        ("rows.yaml", ROWS),
        ("templates/home.hbs", "home"),
    ])
}

fn blog() -> (SiteDir, Signed) {
    let dir = blog_dir();
    let local = staff(&dir.path);
    (dir, local)
}

/// The titles in the list's table, in order (each row's first cell links to its page).
fn titles(body: &str) -> Vec<String> {
    body.split("<th scope=\"row\"><a href=\"/manage/post/")
        .skip(1)
        .map(|s| {
            let s = &s[s.find('>').unwrap() + 1..];
            s[..s.find("</a>").unwrap()].to_string()
        })
        .collect()
}

#[test]
fn the_index_lists_each_model_with_its_row_count_and_a_link_to_its_list() {
    let (_dir, local) = blog();
    let r = local.get("/manage/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("<a href=\"/manage/author/\">Author</a></th><td>2</td>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<a href=\"/manage/post/\">Post</a></th><td>4</td>"),
        "{}",
        r.body
    );
    // No external asset: the CSS is inline, and a skip link leads to the content.
    assert!(!r.body.contains("<link") && !r.body.contains("src=\"http"));
    assert!(r.body.contains("<a class=\"skip\" href=\"#content\">"));
}

#[test]
fn a_list_pages_its_rows_in_the_default_ordering() {
    let (_dir, local) = blog();
    let r = local.get("/manage/post/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        titles(&r.body),
        ["&lt;script&gt;alert(1)&lt;/script&gt;", "Apples"]
    );
    assert!(r.body.contains("Page 1 of 2"), "{}", r.body);
    let r = local.get("/manage/post/?page=2");
    assert_eq!(titles(&r.body), ["Bananas", "Cherries"]);
    // Past the last page, the last (a save or delete can leave a kept `?page=` past it).
    let r = local.get("/manage/post/?page=3");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(titles(&r.body), ["Bananas", "Cherries"]);
    assert!(r.body.contains("Page 2 of 2"), "{}", r.body);
    assert_eq!(local.get("/manage/post/?page=x").status, 404);
}

#[test]
fn hostile_row_values_are_escaped_everywhere() {
    let (_dir, local) = blog();
    let r = local.get("/manage/post/?page=1");
    assert!(!r.body.contains("<script>alert"), "{}", r.body);
    let r = local.get("/manage/post/?page=2");
    // A foreign key shown by its target's name, escaped (in the cell and the filter).
    assert!(r.body.contains("&lt;b&gt;Bob&lt;/b&gt;"), "{}", r.body);
    assert!(!r.body.contains("<b>Bob</b>"));
    let r = local.get("/manage/post/4/change/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!r.body.contains("<script>alert"));
    // An ordering the list does not take is ignored, never echoed.
    let r = local.get("/manage/post/?ordering=%3Cscript%3E&published=%3Cscript%3E");
    assert_eq!(r.status, 400, "{}", r.body);
    let r = local.get("/manage/post/?ordering=%3Cscript%3Ex");
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("<script>x"), "{}", r.body);
    // A search term is shown back escaped.
    let r = local.get("/manage/post/?q=%22%3E%3Cimg%20src%3Dx%3E");
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("<img src=x>"), "{}", r.body);
}

#[test]
fn search_finds_rows_by_their_text_fields() {
    let (_dir, local) = blog();
    let r = local.get("/manage/post/?q=err");
    assert_eq!(titles(&r.body), ["Cherries"], "{}", r.body);
    assert!(r.body.contains("value=\"err\""));
}

#[test]
fn a_column_header_orders_the_list_one_way_then_the_other() {
    let (_dir, local) = blog();
    let r = local.get("/manage/post/?q=a");
    // The header links keep the search and start again at page 1.
    assert!(
        r.body
            .contains("<a href=\"/manage/post/?q&#x3D;a&amp;ordering&#x3D;title\">Title</a>"),
        "{}",
        r.body
    );
    let r = local.get("/manage/post/?ordering=-title");
    assert_eq!(titles(&r.body), ["Cherries", "Bananas"]);
    assert!(
        r.body.contains(
            "<a href=\"/manage/post/?ordering&#x3D;title\">Title</a> <small>(desc)</small>"
        ),
        "{}",
        r.body
    );
    let r = local.get("/manage/post/?ordering=title");
    assert_eq!(
        titles(&r.body),
        ["&lt;script&gt;alert(1)&lt;/script&gt;", "Apples"]
    );
    assert!(
        r.body.contains(
            "<a href=\"/manage/post/?ordering&#x3D;-title\">Title</a> <small>(asc)</small>"
        ),
        "{}",
        r.body
    );
    // By a foreign key, then reversed.
    let r = local.get("/manage/post/?ordering=-author");
    assert_eq!(titles(&r.body).len(), 2);
    assert!(r.body.contains("&lt;b&gt;Bob"), "{}", r.body);
}

#[test]
fn filters_by_boolean_choice_and_foreign_key() {
    let (_dir, local) = blog();
    let r = local.get("/manage/post/");
    for part in [
        "<h3>By published</h3>",
        "<h3>By status</h3>",
        "<h3>By author</h3>",
        "<span aria-current=\"true\">All</span>",
    ] {
        assert!(r.body.contains(part), "{part}\n{}", r.body);
    }
    let r = local.get("/manage/post/?published=true");
    assert_eq!(titles(&r.body), ["Apples", "Cherries"], "{}", r.body);
    assert!(
        r.body.contains("<a href=\"/manage/post/\">All</a>"),
        "{}",
        r.body
    );
    let r = local.get("/manage/post/?status=draft");
    assert_eq!(
        titles(&r.body),
        ["&lt;script&gt;alert(1)&lt;/script&gt;", "Bananas"]
    );
    let r = local.get("/manage/post/?author=2&published=false");
    assert_eq!(titles(&r.body), ["Bananas"]);
    // A filter value that is not one of the field's type is a 400, not a 500.
    assert_eq!(local.get("/manage/post/?author=x").status, 400);
}

/// The list's filter sidebar.
fn sidebar(body: &str) -> &str {
    let start = body.find("<aside aria-label=\"Filter\">").expect(body);
    &body[start..start + body[start..].find("</aside>").unwrap()]
}

/// Assert that `side` holds each of `parts`.
fn has_all(side: &str, parts: &[&str]) {
    for part in parts {
        assert!(side.contains(part), "{part}\n{side}");
    }
}

#[test]
fn the_filters_list_every_choice_without_counts_by_default() {
    let (_dir, local) = blog();
    let r = local.get("/manage/post/");
    let side = sidebar(&r.body);
    has_all(
        side,
        &[
            "<a href=\"/manage/post/?published&#x3D;true\">Yes</a></li>",
            "<a href=\"/manage/post/?published&#x3D;false\">No</a></li>",
            "<a href=\"/manage/post/?status&#x3D;draft\">draft</a></li>",
            "<a href=\"/manage/post/?status&#x3D;live\">live</a></li>",
            "<a href=\"/manage/post/?author&#x3D;1\">Ann</a></li>",
            "<a href=\"/manage/post/?author&#x3D;2\">&lt;b&gt;Bob&lt;/b&gt;</a></li>",
            "<a href=\"/manage/post/?_facets&#x3D;1\">Show counts</a>",
        ],
    );
    assert!(!side.contains("</a> ("), "no counts by default\n{side}");
}

#[test]
fn every_choice_is_listed_while_one_is_chosen() {
    let (_dir, local) = blog();
    // Only drafts are listed, yet every status, author and Yes/No stays a choice (Django's).
    let r = local.get("/manage/post/?status=draft");
    let side = sidebar(&r.body);
    has_all(
        side,
        &[
            "<a href=\"/manage/post/\" aria-current=\"true\">draft</a>",
            "<a href=\"/manage/post/?status&#x3D;live\">live</a>",
            "<a href=\"/manage/post/?status&#x3D;draft&amp;published&#x3D;true\">Yes</a>",
            "<a href=\"/manage/post/?status&#x3D;draft&amp;author&#x3D;2\">&lt;b&gt;Bob&lt;/b&gt;</a>",
            "<a href=\"/manage/post/?status&#x3D;draft&amp;author&#x3D;1\">Ann</a>",
        ],
    );
}

#[test]
fn show_counts_counts_each_choice_and_hide_counts_removes_them() {
    let (_dir, local) = blog();
    let r = local.get("/manage/post/?_facets=1");
    let side = sidebar(&r.body);
    has_all(
        side,
        &[
            ">Yes</a> (2)</li>",
            ">No</a> (2)</li>",
            ">Ann</a> (2)</li>",
            "<a href=\"/manage/post/\">Hide counts</a>",
        ],
    );
    // A chosen filter's own counts leave it out (Django's); the others count the chosen rows;
    // every link keeps `_facets`, and so does the search form.
    let r = local.get("/manage/post/?published=true&_facets=1");
    assert_eq!(titles(&r.body), ["Apples", "Cherries"]);
    let side = sidebar(&r.body);
    has_all(
        side,
        &[
            ">Yes</a> (2)</li>",
            ">No</a> (2)</li>",
            ">live</a> (2)</li>",
            ">draft</a> (0)</li>",
            "<a href=\"/manage/post/?published&#x3D;true\">Hide counts</a>",
            "<a href=\"/manage/post/?_facets&#x3D;1\">All</a>",
            "<a href=\"/manage/post/?published&#x3D;true&amp;_facets&#x3D;1&amp;status&#x3D;draft\">draft</a>",
        ],
    );
    assert!(
        r.body
            .contains("<input type=\"hidden\" name=\"_facets\" value=\"1\">"),
        "{}",
        r.body
    );
}

#[test]
fn a_filter_is_titled_by_the_column_label() {
    let dir = write_files(&[(
        "site.yaml",
        "site: { database: db.sqlite3 }\nadmin: admin/\nmodels:\n  Product:\n    fields:\n      name: { type: string, max_length: 20 }\n      in_stock: { type: boolean, default: true }\n",
    )]);
    let local = staff(&dir.path);
    let r = local.get("/admin/product/");
    assert!(r.body.contains(">In stock</a></th>"), "{}", r.body);
    assert!(r.body.contains("<h3>By in stock</h3>"), "{}", r.body);
    assert!(!r.body.contains("in_stock</h3>"), "{}", r.body);
}

#[test]
fn each_row_links_to_its_page_in_the_admin() {
    let (_dir, local) = blog();
    let r = local.get("/manage/post/?page=2");
    // The link keeps the list's page for the way back (`admin_filters`).
    assert!(
        r.body.contains(
            "<a href=\"/manage/post/2/change/?_changelist_filters&#x3D;page%3D2\">Bananas</a>"
        ),
        "{}",
        r.body
    );
    // The row's page is its edit form, filled from the row.
    let r = local.get("/manage/post/2/change/");
    assert!(
        r.body
            .contains(r#"<input type="text" id="id_title" name="title" value="Bananas""#),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"<input type="checkbox" id="id_published" name="published"> Published"#),
        "{}",
        r.body
    );
    assert_eq!(local.get("/manage/post/99/change/").status, 404);
}

#[test]
fn a_collection_model_is_listed_read_only() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3 }\nadmin: admin/\nmodels:\n  Note:\n    source: notes/\n    fields:\n      slug: { type: slug, unique: true }\n      title: { type: string, max_length: 50 }\n      body: { type: text, format: markdown }\n",
        ),
        ("notes/first.md", "---\ntitle: First note\n---\nHello.\n"),
    ]);
    let local = staff(&dir.path);
    let r = local.get("/admin/");
    assert!(
        r.body
            .contains("Note</a> <small>(from files, read-only)</small></th><td>1</td>"),
        "{}",
        r.body
    );
    let r = local.get("/admin/note/");
    assert!(r.body.contains("read-only"), "{}", r.body);
    assert!(r.body.contains(">first</a>"), "{}", r.body);
}

#[test]
fn a_site_override_of_a_built_in_admin_template_wins() {
    let dir = write_files(&[
        ("site.yaml", SITE),
        ("rows.yaml", ROWS),
        ("templates/home.hbs", "home"),
        (
            "templates/admin/index.hbs",
            "{{#each admin.models}}[{{model}}={{count}}]{{/each}}",
        ),
    ]);
    let local = staff(&dir.path);
    assert_eq!(local.get("/manage/").body, "[Author=2][Post=4]");
}

#[test]
fn a_site_route_under_the_admin_path_or_name_is_refused() {
    check_prints(
        "admin: admin/\nmodels:\n  Post: { fields: { title: { type: string } } }\nroutes:\n  - { path: admin/stats/, view: template, template: x.hbs }\n",
        &["site.yaml:5:13: routes[0].path: `admin/stats/` is under `admin/`, where `admin:` mounts the admin"],
    );
}

#[test]
fn bad_admin_values_are_placed_with_a_hint() {
    check_prints(
        "admin: /admin/\n",
        &[
            "site.yaml:1:8: admin: the admin's path is written without the leading slash",
            "help: admin: admin/",
        ],
    );
    check_prints(
        "admin: { models: [Post, Pots] }\nmodels:\n  Post: { fields: { title: { type: string } } }\n",
        &["site.yaml:1:25: admin.models[1]: no model `Pots`", "Post"],
    );
    check_prints(
        "admin: { path: admin, list_display: { Post: [titel] } }\nmodels:\n  Post: { fields: { title: { type: string } } }\n",
        &["admin.path: the admin's path ends with `/`", "admin.list_display.Post[0]: Post has no field `titel`", "did you mean `title`?"],
    );
    check_prints(
        "admin: admin/\n",
        &["site.yaml:1:8: admin: the admin has no model to manage: the site declares none"],
    );
    // A model whose list the sign-in page, or another model's list, would hide.
    check_prints(
        "admin: admin/\nmodels:\n  Login: { fields: { at: { type: string } } }\n",
        &[
            "site.yaml:3:10: models.Login: the admin would put `Login`'s list at `admin/login/`, which is the admin's sign-in page",
            "help: rename the model",
        ],
    );
    check_prints(
        "admin: admin/\nmodels:\n  Post: { fields: { t: { type: string } } }\n  POST: { table: post2, fields: { t: { type: string } } }\n",
        &["site.yaml:4:9: models.POST: the admin would put `POST`'s list at `admin/post/`, which is `Post`'s list"],
    );
    check_prints(
        "admin: { pth: admin/ }\n",
        &[
            "site.yaml:1:10: admin.pth: unknown key `pth`",
            "did you mean `path`?",
        ],
    );
}

#[test]
fn over_http_the_admin_answers_its_pages() {
    let dir = blog_dir();
    let server = Server::start(&dir.path);
    let cookie = session_for(server.site_path(), "root", true);
    let r = server.request(
        "GET",
        "/manage/post/?published=true&ordering=-title",
        &[("Cookie", &cookie)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    assert_eq!(titles(&r.body), ["Cherries", "Apples"]);
    assert_eq!(server.get("/manage").status, 301);
}

#[test]
fn an_included_route_named_in_the_admin_namespace_is_refused() {
    let dir = write_files(&[
        (
            "site.yaml",
            "admin: admin/\nmodels:\n  Post: { fields: { title: { type: string } } }\nroutes:\n  - { include: more.yaml, prefix: more/, namespace: admin }\n",
        ),
        ("more.yaml", "- { path: '', name: index, view: template, template: x.hbs }\n"),
        ("templates/x.hbs", "x"),
    ]);
    let out = crate::common::trellis(["check".as_ref(), dir.path.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("more.yaml:1:3: [0]: the route name `admin:index` is the admin's"),
        "{err}"
    );
}

#[test]
fn a_row_whose_text_key_holds_a_slash_links_to_its_page() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3, fixtures: [rows.yaml] }\nadmin: admin/\nmodels:\n  Page:\n    fields:\n      path: { type: string, primary_key: true }\n      title: { type: string }\n",
        ),
        ("rows.yaml", "- { model: Page, pk: \"docs/intro\", fields: { title: Intro } }\n"),
    ]);
    let local = staff(&dir.path);
    let r = local.get("/admin/page/");
    assert!(
        r.body
            .contains("<a href=\"/admin/page/docs/intro/change/\">Intro</a>"),
        "{}",
        r.body
    );
    let r = local.get("/admin/page/docs/intro/change/");
    assert!(
        r.body.contains(r#"name="title" value="Intro""#),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"<a class="delete" href="/admin/page/docs/intro/delete/">"#),
        "{}",
        r.body
    );
}

#[test]
fn models_chooses_what_the_admin_manages_and_columns_default_to_the_first_fields() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3, fixtures: [rows.yaml] }\nadmin: { models: [Note] }\nmodels:\n  Tag: { fields: { name: { type: string } } }\n  Note:\n    fields:\n      a: { type: string }\n      b: { type: integer }\n      c: { type: boolean }\n      d: { type: date }\n      e: { type: float }\n      f: { type: string }\n",
        ),
        ("rows.yaml", "- { model: Note, pk: 1, fields: { a: x, b: 2, c: true, d: 2024-01-02, e: 1.5, f: hidden } }\n"),
    ]);
    let local = staff(&dir.path);
    let r = local.get("/admin/");
    assert!(
        r.body.contains("/admin/note/") && !r.body.contains("/admin/tag/"),
        "{}",
        r.body
    );
    assert_eq!(local.get("/admin/tag/").status, 404);
    let r = local.get("/admin/note/");
    assert!(
        r.body.contains("<a href=\"/admin/note/1/change/\">x</a></th><td>2</td><td>Yes</td><td>2024-01-02</td><td>1.5</td></tr>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(">hidden<"), "{}", r.body);
}

#[test]
fn a_site_template_links_to_the_admin_by_route_name() {
    let dir = write_files(&[
        ("site.yaml", SITE),
        ("rows.yaml", ROWS),
        (
            "templates/home.hbs",
            "<a href=\"{{url \"admin:index\"}}\">admin</a> <a href=\"{{url \"admin:post-change\" pk=3}}\">3</a>",
        ),
    ]);
    let local = staff(&dir.path);
    assert_eq!(
        local.get("/").body,
        "<a href=\"/manage/\">admin</a> <a href=\"/manage/post/3/change/\">3</a>"
    );
}

// --- The writing side: staff only, add, edit, delete, messages -------------------------------

fn count(dir: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("db.sqlite3")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn location(r: &Resp) -> &str {
    r.header("location")
        .unwrap_or_else(|| panic!("no Location: {} {}", r.status, r.body))
}

#[test]
fn an_anonymous_visitor_is_sent_to_the_admins_sign_in_which_says_how_to_make_a_user() {
    let dir = blog_dir();
    let local = Local::load(&dir.path);
    let r = local.get("/manage/post/?q=a");
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(
        location(&r),
        "/manage/login/?next=%2Fmanage%2Fpost%2F%3Fq%3Da"
    );
    for path in [
        "/manage/",
        "/manage/post/add/",
        "/manage/post/1/change/",
        "/manage/post/1/delete/",
    ] {
        let r = local.get(path);
        assert_eq!(r.status, 302, "{path}");
        assert!(location(&r).starts_with("/manage/login/?next="), "{path}");
    }
    // With no user at all, the sign-in page gives the command, with the site's real folder.
    let r = local.get("/manage/login/?next=%2Fmanage%2Fpost%2F");
    assert_eq!(r.status, 200, "{}", r.body);
    let folder = std::fs::canonicalize(&dir.path).unwrap();
    let command = format!("trellis user add --staff {} USERNAME", folder.display());
    assert!(r.body.contains(&command), "{}", r.body);
    assert!(
        r.body.contains(r#"name="next" value="/manage/post/""#),
        "{}",
        r.body
    );
    // Once a user exists, it does not.
    session_for(&dir.path, "ann", false);
    let r = local.get("/manage/login/");
    assert!(!r.body.contains("trellis user add"), "{}", r.body);
}

/// Django's admin words for a signed-in user who is not staff, on its sign-in page.
const NOT_AUTHORIZED: &str =
    "but are not authorized to access this page. Would you like to login to a different account?";

#[test]
fn signing_in_on_the_admins_page_goes_to_next_and_a_user_who_is_not_staff_is_sent_back_there() {
    let dir = blog_dir();
    let local = Local::load(&dir.path);
    session_for(&dir.path, "root", true);
    let req = Request::new("POST", "/manage/login/")
        .with_cookies(&format!("csrftoken={CSRF_SECRET}"))
        .with_form(&format!(
            "csrfmiddlewaretoken={CSRF_SECRET}&username=root&password=pw&next=%2Fmanage%2Fpost%2F"
        ));
    let r = local.send(&req);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(location(&r), "/manage/post/");
    // Staff see no such words on the sign-in page, nor does an anonymous visitor.
    let root = staff(&dir.path);
    assert!(!root.get("/manage/login/").body.contains(NOT_AUTHORIZED));
    assert!(!root
        .local
        .get("/manage/login/")
        .body
        .contains(NOT_AUTHORIZED));

    // A hostile username, to see it escaped in the admin's words.
    let ann = Signed {
        cookie: session_for(&dir.path, "<b>ann</b>", false),
        local,
    };
    for path in [
        "/manage/",
        "/manage/post/?q=a",
        "/manage/post/add/",
        "/manage/post/1/change/",
    ] {
        let r = ann.get(path);
        assert_eq!(r.status, 302, "{path}: {}", r.body);
        let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(
            location(&r),
            format!("/manage/login/?next={next}"),
            "{path}"
        );
        let page = ann.get(location(&r));
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(
            page.body.contains(&format!(
                "You are authenticated as &lt;b&gt;ann&lt;/b&gt;, {NOT_AUTHORIZED}"
            )),
            "{}",
            page.body
        );
        assert!(!page.body.contains("<b>ann</b>"), "{}", page.body);
        // In the admin's frame: not indexed, the sign-out button, the form keeps `next`.
        assert!(page
            .body
            .contains(r#"<meta name="robots" content="noindex">"#));
        assert!(page
            .body
            .contains(r#"<form method="post" action="/manage/logout/">"#));
        let hidden = format!(r#"name="next" value="{}""#, path.replace('=', "&#x3D;"));
        assert!(page.body.contains(&hidden), "{hidden}: {}", page.body);
    }
    let r = ann.post("/manage/post/1/delete/", "");
    assert_eq!(r.status, 302);
    assert!(location(&r).starts_with("/manage/login/?next="));
    assert_eq!(count(&dir.path, "SELECT COUNT(*) FROM post"), 4);
}

/// The blog with a sign-in page and a `staff_required` page of the site's own.
fn blog_with_own_sign_in() -> SiteDir {
    let site = format!(
        "{SITE}  - {{ path: login/, name: login, view: login }}\n  - {{ path: staff/, view: template, template: home.hbs, staff_required: true }}\n"
    );
    write_files(&[
        ("site.yaml", &site),
        ("rows.yaml", ROWS),
        ("templates/home.hbs", "home"),
    ])
}

/// A sign-in POST to `target` with the CSRF token that passes.
fn sign_in(local: &Local, target: &str, username: &str, password: &str) -> Resp {
    let req = Request::new("POST", target)
        .with_cookies(&format!("csrftoken={CSRF_SECRET}"))
        .with_form(&format!(
            "csrfmiddlewaretoken={CSRF_SECRET}&username={username}&password={password}"
        ));
    local.send(&req)
}

/// Django's `AdminAuthenticationForm`: the admin's form refuses a user who is not staff with
/// the words of a wrong password there (so it does not tell that the password was right), makes
/// no session, and counts the attempt as a failed sign-in; the site's own sign-in lets the same
/// user in, and the site's own `staff_required` page keeps its 403.
#[test]
fn the_admins_sign_in_refuses_a_user_who_is_not_staff_and_counts_a_failure() {
    const STAFF_WORDS: &str = "Please enter the correct username and password for a staff account. Note that both fields may be case-sensitive.";
    let dir = blog_with_own_sign_in();
    let local = Local::load(&dir.path);
    session_for(&dir.path, "ann", false);
    let sessions = || count(&dir.path, "SELECT COUNT(*) FROM trellis_session");
    let failures = || {
        count(
            &dir.path,
            "SELECT COUNT(*) FROM trellis_login_failure WHERE kind = 'user' AND key = 'ann'",
        )
    };
    let before = sessions();
    for password in ["pw", "wrong"] {
        let r = sign_in(&local, "/manage/login/", "ann", password);
        assert_eq!(r.status, 400, "{password}: {}", r.body);
        assert!(r.body.contains(STAFF_WORDS), "{password}: {}", r.body);
        assert!(
            !r.headers
                .iter()
                .any(|(n, v)| n == "set-cookie" && v.starts_with("sessionid=")),
            "{password}: {:?}",
            r.headers
        );
    }
    assert_eq!(sessions(), before, "no session made");
    assert_eq!(failures(), 2, "both attempts counted");
    // The site's own sign-in lets ann in (and clears her failures)…
    let r = sign_in(&local, "/login/", "ann", "pw");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(sessions(), before + 1);
    assert_eq!(failures(), 0);
    // …and the site's own staff page keeps its 403 for her (not the admin's sign-in).
    let cookie = r
        .headers
        .iter()
        .find_map(|(n, v)| (n == "set-cookie").then(|| v.split(';').next().unwrap().to_string()))
        .filter(|c| c.starts_with("sessionid="))
        .unwrap();
    let r = local.send(&Request::get("/staff/").with_cookies(&cookie));
    assert_eq!(r.status, 403, "{}", r.body);
    // Past `max_failures` (5) on the admin's form, even her right password is throttled.
    for _ in 0..5 {
        assert_eq!(sign_in(&local, "/manage/login/", "ann", "pw").status, 400);
    }
    let r = sign_in(&local, "/manage/login/", "ann", "pw");
    assert_eq!(r.status, 429, "{}", r.body);
    // Staff are unaffected: root signs in on the admin's form.
    session_for(&dir.path, "root", true);
    let r = sign_in(&local, "/manage/login/", "root", "pw");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(location(&r), "/manage/");
}

/// Valid POSTs with a good CSRF token to every writing page, from a visitor who is not signed
/// in and from a user who is not staff (both sent to the admin's sign-in): nothing is written,
/// and no history either.
#[test]
fn only_staff_can_write_through_the_admin() {
    let dir = blog_dir();
    let local = Local::load(&dir.path);
    let ann = Signed {
        cookie: session_for(&dir.path, "ann", false),
        local,
    };
    let before = count(&dir.path, "SELECT COUNT(*) FROM post");
    let body = "title=Taken&status=live&published=on&author=1&_save=";
    let writes = [
        ("/manage/post/add/", body),
        ("/manage/post/1/change/", body),
        ("/manage/post/1/delete/", ""),
    ];
    for (path, body) in writes {
        let r = ann.post(path, body);
        assert_eq!(r.status, 302, "{path}: {}", r.body);
        assert!(location(&r).starts_with("/manage/login/?next="), "{path}");
        let anonymous = Signed {
            cookie: String::new(),
            local: Local::load(&dir.path),
        };
        let r = anonymous.post(path, body);
        assert_eq!(r.status, 302, "{path}: {}", r.body);
        assert!(location(&r).starts_with("/manage/login/?next="), "{path}");
    }
    assert_eq!(count(&dir.path, "SELECT COUNT(*) FROM post"), before);
    assert_eq!(
        count(&dir.path, "SELECT COUNT(*) FROM post WHERE title = 'Taken'"),
        0
    );
    assert_eq!(count(&dir.path, "SELECT COUNT(*) FROM trellis_log"), 0);
}

#[test]
fn staff_add_a_row_and_see_the_message_once() {
    let (dir, admin) = blog();
    let r = admin.get("/manage/post/add/");
    assert_eq!(r.status, 200, "{}", r.body);
    // The widget each field calls for, each labelled, and the three buttons.
    for want in [
        r#"<label for="id_title">Title</label>"#,
        r#"<select id="id_status" name="status">"#,
        r#"<input type="checkbox" id="id_published" name="published">"#,
        r#"<option value="2">&lt;b&gt;Bob&lt;/b&gt;</option>"#,
        r#"name="_addanother">Save and add another</button>"#,
        r#"name="_continue">Save and continue editing</button>"#,
        r#"name="csrfmiddlewaretoken""#,
        "Signed in as <strong>root</strong>",
    ] {
        assert!(r.body.contains(want), "{want}\n{}", r.body);
    }
    let r = admin.post(
        "/manage/post/add/",
        "title=Dates&status=live&published=on&author=2&_save=",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    // "Save" goes back to the list, as Django's admin does.
    assert_eq!(location(&r), "/manage/post/");
    assert_eq!(
        count(
            &dir.path,
            "SELECT COUNT(*) FROM post WHERE id = 5 AND title = 'Dates' AND status = 'live' AND published AND author_id = 2"
        ),
        1
    );
    let r = admin.get("/manage/post/");
    assert!(
        r.body
            .contains("<li class=\"success\">The post “Dates” was added successfully.</li>"),
        "{}",
        r.body
    );
    let r = admin.get("/manage/post/");
    assert!(!r.body.contains("was added"), "shown once: {}", r.body);

    // "Save and add another" comes back to an empty form, "continue" to the row's.
    let r = admin.post(
        "/manage/post/add/",
        "title=Figs&status=draft&author=1&_addanother=",
    );
    assert_eq!(location(&r), "/manage/post/add/");
    let r = admin.get("/manage/post/add/");
    assert!(
        r.body
            .contains("The post “Figs” was added successfully. You may add another post below."),
        "{}",
        r.body
    );
    let r = admin.post(
        "/manage/post/add/",
        "title=Grapes&status=draft&author=1&_continue=",
    );
    assert_eq!(location(&r), "/manage/post/7/change/");
}

#[test]
fn staff_edit_a_row_and_a_refused_value_is_kept_with_its_message() {
    let (dir, admin) = blog();
    let r = admin.post(
        "/manage/post/2/change/",
        "title=Blueberries&status=live&author=1",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(location(&r), "/manage/post/");
    assert_eq!(
        count(
            &dir.path,
            "SELECT COUNT(*) FROM post WHERE id = 2 AND title = 'Blueberries' AND status = 'live' AND NOT published AND author_id = 1"
        ),
        1
    );
    let r = admin.get("/manage/post/");
    assert!(
        r.body
            .contains("The post “Blueberries” was changed successfully."),
        "{}",
        r.body
    );
    let r = admin.get("/manage/post/2/change/");
    assert!(r
        .body
        .contains(r#"<a class="delete" href="/manage/post/2/delete/">Delete</a>"#));

    let long = "x".repeat(81);
    let r = admin.post(
        "/manage/post/2/change/",
        &format!("title=%3Cscript%3E{long}&status=nope&author=1"),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("Please correct the errors below."),
        "{}",
        r.body
    );
    // The value as sent, escaped; the message under the field, linked from the top.
    assert!(
        r.body.contains(&format!("value=\"&lt;script&gt;{long}\"")),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<script>x"));
    assert!(
        r.body
            .contains(r#"aria-invalid="true" aria-describedby="err_title""#),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r##"<a href="#id_title">Title: "##),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"<p class="error" id="err_status">"#),
        "{}",
        r.body
    );
    assert_eq!(
        count(
            &dir.path,
            "SELECT COUNT(*) FROM post WHERE title = 'Blueberries'"
        ),
        1,
        "nothing written"
    );
}

#[test]
fn delete_lists_the_cascade_then_removes_those_rows_and_no_others() {
    let (dir, admin) = blog();
    let r = admin.get("/manage/author/2/delete/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("Delete Author “&lt;b&gt;Bob&lt;/b&gt;”?"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<li>Post: 2 (Bananas, Cherries)</li>"),
        "{}",
        r.body
    );
    assert_eq!(
        count(&dir.path, "SELECT COUNT(*) FROM post"),
        4,
        "a GET deletes nothing"
    );

    let r = admin.post("/manage/author/2/delete/", "");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(location(&r), "/manage/author/");
    assert_eq!(
        count(&dir.path, "SELECT COUNT(*) FROM author WHERE id = 2"),
        0
    );
    assert_eq!(
        count(&dir.path, "SELECT COUNT(*) FROM post WHERE author_id = 2"),
        0
    );
    assert_eq!(count(&dir.path, "SELECT COUNT(*) FROM author"), 1);
    assert_eq!(
        count(&dir.path, "SELECT COUNT(*) FROM post WHERE author_id = 1"),
        2
    );
    let r = admin.get("/manage/author/");
    assert!(
        r.body
            .contains("The author “&lt;b&gt;Bob&lt;/b&gt;” was deleted successfully."),
        "{}",
        r.body
    );
    assert_eq!(admin.get("/manage/author/2/delete/").status, 404);
}

/// The form buttons' names mean nothing to a delete: a POST that carries "Save and add
/// another" or "Save and continue editing" still deletes and goes to the list, never to a
/// form (the row's edit page is gone).
#[test]
fn a_delete_with_a_form_buttons_name_still_goes_to_the_list() {
    let (dir, admin) = blog();
    for (pk, button) in [(1, "_addanother=1"), (2, "_continue=1")] {
        let r = admin.post(&format!("/manage/post/{pk}/delete/"), button);
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(location(&r), "/manage/post/", "{button}");
        let left = count(
            &dir.path,
            &format!("SELECT COUNT(*) FROM post WHERE id = {pk}"),
        );
        assert_eq!(left, 0, "{button}");
    }
}

#[test]
fn a_post_without_the_csrf_token_is_refused_and_writes_nothing() {
    let (dir, admin) = blog();
    let req = Request::new("POST", "/manage/post/add/")
        .with_cookies(&admin.cookie)
        .with_form("title=Sneaky&status=live&author=1");
    let r = admin.local.send(&req);
    assert_eq!(r.status, 403, "{}", r.body);
    let req = Request::new("POST", "/manage/post/1/delete/").with_cookies(&admin.cookie);
    assert_eq!(admin.local.send(&req).status, 403);
    assert_eq!(count(&dir.path, "SELECT COUNT(*) FROM post"), 4);
}

#[test]
fn a_collection_model_has_no_write_routes() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3 }\nadmin: admin/\nmodels:\n  Note:\n    source: notes/\n    fields:\n      slug: { type: slug, unique: true }\n      title: { type: string, max_length: 50 }\n",
        ),
        ("notes/first.md", "---\ntitle: First note\n---\n"),
    ]);
    let admin = staff(&dir.path);
    assert_eq!(admin.get("/admin/note/add/").status, 404);
    assert_eq!(admin.get("/admin/note/1/delete/").status, 404);
    assert_eq!(admin.post("/admin/note/1/change/", "title=x").status, 405);
    let r = admin.get("/admin/note/1/change/");
    assert!(
        r.body.contains("read-only") && !r.body.contains("<form method=\"post\" class=\"edit\"")
    );
    assert!(!admin.get("/admin/note/").body.contains("Add Note"));
}

#[test]
fn a_many_to_many_field_is_a_multiple_choice_and_both_choices_are_saved() {
    let dir = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3, fixtures: [rows.yaml] }\nadmin: admin/\nmodels:\n  Tag: { fields: { name: { type: string } } }\n  Note:\n    fields:\n      body: { type: text, format: markdown }\n      day: { type: date }\n      tags: { type: many_to_many, to: Tag }\n",
        ),
        (
            "rows.yaml",
            "- { model: Tag, pk: 1, fields: { name: red } }\n- { model: Tag, pk: 2, fields: { name: blue } }\n- { model: Tag, pk: 3, fields: { name: green } }\n",
        ),
    ]);
    let admin = staff(&dir.path);
    let r = admin.get("/admin/note/add/");
    for want in [
        r#"<textarea id="id_body" name="body" required></textarea>"#,
        r#"<input type="date" id="id_day" name="day" value="" required>"#,
        r#"<select id="id_tags" name="tags" multiple size="6"><option value="1">red</option><option value="2">blue</option>"#,
    ] {
        assert!(r.body.contains(want), "{want}\n{}", r.body);
    }
    let r = admin.post("/admin/note/add/", "body=*hi*&day=2024-05-06&tags=1&tags=3");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        count(
            &dir.path,
            "SELECT COUNT(*) FROM note_tags WHERE note_id = 1 AND tag_id IN (1, 3)"
        ),
        2
    );
    let r = admin.get("/admin/note/1/change/");
    assert!(
        r.body.contains(r#"<option value="1" selected>red</option><option value="2">blue</option><option value="3" selected>green</option>"#),
        "{}",
        r.body
    );
}
