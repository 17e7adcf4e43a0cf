//! Collections: folders of Markdown files that are a model's rows, with real files, a real
//! SQLite file and a real server. Adding, editing, renaming and deleting files while `serve`
//! runs shows on the pages after the reload, and the table then holds exactly the folder's
//! rows (an edited file keeps its row's primary key); a bad file (broken front matter, a wrong
//! type, an unknown author, a duplicate slug) is reported at its line and column while the
//! previous site goes on serving; `trellis check` reads every file; a file that has not changed
//! is not read again; a saved fixture that is not loaded says so.
//!
//! Reloads are awaited on the server's log, never with a sleep.

use std::path::Path;

use rusqlite::Connection;
use serde_json::Value;

use crate::common::{trellis, write_files, Resp, Server};

const SITE: &str = r#"
site:
  database: site.sqlite3
models:
  Author:
    source: content/authors/
    fields:
      name: { type: string }
      slug: { type: slug, unique: true }
      bio: { type: text, format: markdown }
  Post:
    source: content/posts/
    fields:
      title: { type: string, max_length: 60 }
      slug: { type: slug, unique: true }
      body: { type: text, format: markdown }
      published: { type: boolean, default: true }
      created_at: { type: datetime, auto_now_add: true }
      author: { type: foreign_key, to: Author, on_delete: cascade }
    ordering: [slug]
routes:
  - { path: "", view: list, model: Post, where: { published: true }, template: list.hbs }
  - { path: "api/", view: list, model: Post, format: json }
  - { path: "<slug:slug>/", name: post, view: detail, model: Post, lookup: slug, template: post.hbs }
"#;

const LIST: &str = "{{#each objects}}[{{slug}}: {{title}} by {{author.name}}]{{/each}}";
const POST: &str =
    "<h1>{{object.title}}</h1>{{{object.body_html}}}<p>by {{object.author.name}}</p>";

fn post(title: &str, author: &str, body: &str) -> String {
    format!("---\ntitle: {title}\nauthor: {author}\n---\n{body}")
}

fn blog() -> crate::common::SiteDir {
    let hello = post("Hello", "alice", "# Hi\n\nSome *text*.\n");
    let second = "---\ntitle: Second\nauthor: bob\ncreated_at: 2024-03-01T09:30:00Z\npublished: false\n---\nDraft.\n";
    write_files(&[
        ("site.yaml", SITE),
        ("templates/list.hbs", LIST),
        ("templates/post.hbs", POST),
        (
            "content/authors/alice.md",
            "---\nname: Alice\n---\nAlice *writes*.\n",
        ),
        ("content/authors/bob.md", "---\nname: Bob\n---\n"),
        ("content/posts/hello.md", &hello),
        ("content/posts/2024/second.md", second),
    ])
}

/// `(id, slug, title, author's slug)` of every post row in the site's database, by slug.
fn rows(site: &Path) -> Vec<(i64, String, String, String)> {
    let conn = Connection::open(site.join("site.sqlite3")).expect("the database opens");
    let mut stmt = conn
        .prepare(
            "SELECT post.id, post.slug, post.title, author.slug FROM post \
             JOIN author ON author.id = post.author_id ORDER BY post.slug",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn save(s: &Server, rel: &str, text: &str) {
    let path = s.site_path().join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

const RELOADED: &str = "reloaded in ";
const FAILED: &str = "reload failed; the previous site goes on serving";

/// Wait for the `n`th reload (good or bad) and return the log.
fn reload_number(s: &Server, n: usize) -> String {
    s.wait_until(&format!("{n} reloads"), |log| {
        log.matches(RELOADED).count() + log.matches(FAILED).count() >= n
    })
}

fn ok(s: &Server, target: &str) -> Resp {
    let r = s.get(target);
    assert_eq!(r.status, 200, "GET {target}: {r:?}");
    r
}

#[test]
fn files_are_rows_with_front_matter_fields_markdown_body_and_authors_by_slug() {
    let site = blog();
    let s = Server::start_with(&site.path, &[]);
    // Drafts are rows too; the list shows the published ones.
    assert_eq!(ok(&s, "/").body, "[hello: Hello by Alice]");
    let page = ok(&s, "/hello/").body;
    assert_eq!(
        page,
        "<h1>Hello</h1><h1>Hi</h1>\n<p>Some <em>text</em>.</p>\n<p>by Alice</p>"
    );
    assert!(ok(&s, "/second/").body.contains("by Bob"));
    let api: Value = serde_json::from_str(&ok(&s, "/api/").body).unwrap();
    let second = &api["results"][1];
    assert_eq!(second["slug"], "second");
    assert_eq!(second["created_at"], "2024-03-01T09:30:00Z");
    assert_eq!(second["published"], false);
    assert_eq!(second["body"], "Draft.\n");
    let ids: Vec<i64> = (0..2)
        .map(|i| api["results"][i]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        rows(s.site_path()),
        [
            (ids[0], "hello".into(), "Hello".into(), "alice".into()),
            (ids[1], "second".into(), "Second".into(), "bob".into()),
        ]
    );
}

#[test]
fn adding_editing_renaming_and_deleting_files_while_serving_changes_the_rows() {
    let site = blog();
    let s = Server::start_with(&site.path, &[]);
    let before = rows(s.site_path());

    save(
        &s,
        "content/posts/third.md",
        &post("Third", "alice", "Three."),
    );
    let log = reload_number(&s, 1);
    assert!(
        log.contains("content/posts/: 1 new, 0 changed, 0 removed"),
        "{log}"
    );
    assert_eq!(
        ok(&s, "/").body,
        "[hello: Hello by Alice][third: Third by Alice]"
    );

    // An edit keeps the row's key: its id does not move.
    save(
        &s,
        "content/posts/hello.md",
        &post("Hello again", "bob", "Edited."),
    );
    let log = reload_number(&s, 2);
    assert!(
        log.contains("content/posts/: 0 new, 1 changed, 0 removed"),
        "{log}"
    );
    assert!(ok(&s, "/hello/").body.contains("<p>Edited.</p>"));
    let hello = rows(s.site_path())
        .into_iter()
        .find(|r| r.1 == "hello")
        .unwrap();
    assert_eq!(
        hello,
        (
            before[0].0,
            "hello".into(),
            "Hello again".into(),
            "bob".into()
        )
    );

    // A rename is a new slug: the old URL goes, the new one comes.
    let dir = s.site_path().join("content/posts");
    std::fs::rename(dir.join("third.md"), dir.join("fourth.md")).unwrap();
    reload_number(&s, 3);
    assert_eq!(s.get("/third/").status, 404);
    assert!(ok(&s, "/fourth/").body.contains("<h1>Third</h1>"));

    std::fs::remove_file(dir.join("2024/second.md")).unwrap();
    reload_number(&s, 4);
    assert_eq!(s.get("/second/").status, 404);
    let slugs: Vec<String> = rows(s.site_path()).into_iter().map(|r| r.1).collect();
    assert_eq!(
        slugs,
        ["fourth", "hello"],
        "the table holds exactly the folder's rows"
    );
    let log = s.log();
    assert_eq!(log.matches(FAILED).count(), 0, "{log}");
}

/// Save `text` as `rel`, expect the reload to fail with each of `expected` in its report, and
/// the old site still serving; then remove the file and expect a good reload.
fn refused(s: &Server, n: &mut usize, rel: &str, text: &str, expected: &[&str]) {
    let before = ok(s, "/").body;
    save(s, rel, text);
    *n += 1;
    let log = reload_number(s, *n);
    let tail = &log[log.rfind(RELOADED).map_or(0, |i| i)..];
    assert!(
        tail.contains(FAILED),
        "saving {rel} should fail to reload:\n{log}"
    );
    for e in expected {
        assert!(tail.contains(e), "expected {e:?} for {rel} in:\n{tail}");
    }
    assert_eq!(ok(s, "/").body, before, "the previous site goes on serving");
    std::fs::remove_file(s.site_path().join(rel)).unwrap();
    *n += 1;
    let log = reload_number(s, *n);
    assert!(
        log.trim_end().lines().last().unwrap().contains(RELOADED),
        "{log}"
    );
}

#[test]
fn a_bad_file_is_placed_at_its_line_and_the_old_site_keeps_serving() {
    let site = blog();
    let s = Server::start_with(&site.path, &[]);
    let mut n = 0;
    refused(
        &s,
        &mut n,
        "content/posts/broken.md",
        "---\ntitle: [unclosed\n---\nBody\n",
        &[
            "content/posts/broken.md:2:8",
            "invalid YAML: this `[` is not closed on its line",
        ],
    );
    refused(
        &s,
        &mut n,
        "content/posts/open.md",
        "---\ntitle: Never closed\n",
        &["content/posts/open.md:1:1", "never closed", "`---`"],
    );
    refused(
        &s,
        &mut n,
        "content/posts/typed.md",
        "---\ntitle: Typed\nauthor: alice\npublished: maybe\n---\n",
        &["content/posts/typed.md:4:12", "expected true or false"],
    );
    refused(
        &s,
        &mut n,
        "content/posts/stranger.md",
        "---\ntitle: Who\nauthor: carol\n---\n",
        &[
            "content/posts/stranger.md:3:9",
            "no Author has slug `carol`",
        ],
    );
    refused(
        &s,
        &mut n,
        "content/posts/again.md",
        "---\ntitle: Again\nslug: hello\nauthor: alice\n---\n",
        &[
            "two files of content/posts/ have the slug `hello`",
            "content/posts/again.md",
        ],
    );
    refused(
        &s,
        &mut n,
        "content/posts/Bad Name.md",
        &post("Bad", "alice", ""),
        &["the file name gives the slug `Bad Name`", "rename the file"],
    );
    refused(
        &s,
        &mut n,
        "content/posts/typo.md",
        "---\ntitel: Typo\nauthor: alice\n---\n",
        &["content/posts/typo.md:2:1", "no field `titel`", "title"],
    );
    assert_eq!(rows(s.site_path()).len(), 2);
}

#[test]
fn removing_an_author_still_named_by_a_post_is_refused_and_nothing_is_deleted() {
    let site = blog();
    let s = Server::start_with(&site.path, &[]);
    std::fs::remove_file(s.site_path().join("content/authors/bob.md")).unwrap();
    let log = reload_number(&s, 1);
    assert!(log.contains(FAILED), "{log}");
    assert!(log.contains("second.md:3:9"), "{log}");
    assert!(log.contains("no Author has slug `bob`"), "{log}");
    assert_eq!(rows(s.site_path()).len(), 2, "the cascade did not run");
    assert!(ok(&s, "/second/").body.contains("by Bob"));
}

#[test]
fn check_reads_every_file_and_reports_every_mistake() {
    let site = blog();
    std::fs::write(
        site.path.join("content/posts/a.md"),
        "---\ntitle: A\nauthor: nobody\n---\n",
    )
    .unwrap();
    std::fs::write(
        site.path.join("content/posts/b.md"),
        "---\ntitle: B\nauthor: alice\npublished: 3\n---\n",
    )
    .unwrap();
    let out = trellis([Path::new("check"), &site.path]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("posts/a.md:3:9: author: no Author has slug `nobody`"),
        "{err}"
    );
    assert!(err.contains("posts/b.md:4:12"), "{err}");
    assert!(err.contains("2 errors found"), "{err}");
}

#[test]
fn a_file_that_did_not_change_is_not_read_again() {
    let site = blog();
    let s = Server::start_with(&site.path, &[]);
    // Same length and modification time: only a read would see the new title.
    let file = s.site_path().join("content/posts/hello.md");
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::fs::write(&file, post("HELLO", "alice", "# Hi\n\nSome *text*.\n")).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    save(&s, "content/posts/third.md", &post("Third", "bob", ""));
    reload_number(&s, 1);
    assert_eq!(
        ok(&s, "/").body,
        "[hello: Hello by Alice][third: Third by Bob]"
    );
    // Once it is touched, it is read.
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    reload_number(&s, 2);
    assert_eq!(
        ok(&s, "/").body,
        "[hello: HELLO by Alice][third: Third by Bob]"
    );
}

#[test]
fn a_sync_with_nothing_changed_writes_nothing() {
    let site = blog();
    let first = trellis([Path::new("migrate"), &site.path]);
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        err.contains("content/authors/: 2 new, 0 changed, 0 removed")
            && err.contains("content/posts/: 2 new, 0 changed, 0 removed"),
        "{err}"
    );
    let conn = Connection::open(site.path.join("site.sqlite3")).unwrap();
    let created = |conn: &Connection| -> String {
        conn.query_row(
            "SELECT created_at FROM post WHERE slug = 'hello'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let first_created = created(&conn);
    // A row written by something else is not the folder's: the next sync removes it.
    conn.execute(
        "INSERT INTO post (title, slug, body, published, created_at, author_id) \
         VALUES ('Stray', 'stray', '', 1, '2024-01-01T00:00:00', 1)",
        [],
    )
    .unwrap();
    let again = trellis([Path::new("migrate"), &site.path]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("content/posts/: 0 new, 0 changed, 1 removed"),
        "{err}"
    );
    let quiet = trellis([Path::new("migrate"), &site.path]);
    let err = String::from_utf8_lossy(&quiet.stderr);
    assert!(quiet.status.success(), "{err}");
    assert!(
        !err.contains("content/"),
        "nothing to write, nothing said: {err}"
    );
    // created_at, given by no file, keeps the time of the first sync.
    assert_eq!(created(&conn), first_created);
    assert_eq!(rows(&site.path).len(), 2);
}

#[test]
fn declaration_mistakes_are_load_errors() {
    for (model, expected) in [
        (
            "  Post:\n    source: content/missing/\n    fields:\n      slug: { type: slug, unique: true }\n",
            "no folder `content/missing/` in the site folder",
        ),
        (
            "  Post:\n    source: ../outside/\n    fields:\n      slug: { type: slug, unique: true }\n",
            "must be inside the site folder",
        ),
        (
            "  Post:\n    source: content/posts/\n    fields:\n      title: { type: string }\n",
            "model Post has no field `slug` for the file names to fill",
        ),
        (
            "  Post:\n    source: content/posts/\n    fields:\n      slug: { type: slug }\n",
            "must be a unique slug or string field",
        ),
        (
            "  Post:\n    source: { folder: content/posts/, body: bdy }\n    fields:\n      slug: { type: slug, unique: true }\n      body: { type: text }\n",
            "model Post has no field `bdy`",
        ),
    ] {
        let yaml = format!("site:\n  database: s.sqlite3\nmodels:\n{model}routes: []\n");
        let site = write_files(&[("site.yaml", &yaml), ("content/posts/a.md", "x")]);
        let out = trellis([Path::new("check"), &site.path]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{yaml}");
        assert!(err.contains(expected), "expected {expected:?} for\n{yaml}\ngot:\n{err}");
        assert!(err.contains("site.yaml:"), "placed in site.yaml: {err}");
    }
}

#[test]
fn a_saved_fixture_that_is_not_loaded_says_so_and_how_to_load_it() {
    let yaml = "site:\n  database: s.sqlite3\n  fixtures: [data/tags.yaml]\nmodels:\n  Tag:\n    fields:\n      word: { type: string }\nroutes:\n  - { path: \"\", view: list, model: Tag, format: json }\n";
    let site = write_files(&[
        ("site.yaml", yaml),
        (
            "data/tags.yaml",
            "- { model: Tag, pk: 1, fields: { word: one } }\n",
        ),
    ]);
    let s = Server::start_with(&site.path, &[]);
    save(
        &s,
        "data/tags.yaml",
        "- { model: Tag, pk: 1, fields: { word: uno } }\n",
    );
    let log = reload_number(&s, 1);
    let line = log.lines().find(|l| l.contains(RELOADED)).unwrap();
    assert!(
        line.contains("data/tags.yaml saved but not loaded"),
        "{line}"
    );
    assert!(line.contains("trellis load "), "{line}");
    let body: Value = serde_json::from_str(&ok(&s, "/").body).unwrap();
    assert_eq!(body["results"][0]["word"], "one");
}

#[test]
fn many_to_many_values_name_their_targets_by_slug_and_follow_the_files() {
    let yaml = SITE
        .replace(
            "  Post:\n",
            "  Tag:\n    fields:\n      slug: { type: slug, unique: true }\n  Post:\n",
        )
        .replace(
            "      author: { type: foreign_key, to: Author, on_delete: cascade }\n",
            "      author: { type: foreign_key, to: Author, on_delete: cascade }\n      tags: { type: many_to_many, to: Tag }\n",
        )
        .replace("  database: site.sqlite3\n", "  database: site.sqlite3\n  fixtures: [tags.yaml]\n")
        + "  - { path: \"tag/<slug:tag>/\", view: list, model: Post, where: { tags__slug: \"{tag}\" }, template: list.hbs }\n";
    let site = blog();
    std::fs::write(site.path.join("site.yaml"), yaml).unwrap();
    std::fs::write(
        site.path.join("tags.yaml"),
        "- { model: Tag, pk: 1, fields: { slug: rust } }\n- { model: Tag, pk: 2, fields: { slug: web } }\n",
    )
    .unwrap();
    std::fs::write(
        site.path.join("content/posts/hello.md"),
        "---\ntitle: Hello\nauthor: alice\ntags: [rust, web]\n---\n",
    )
    .unwrap();
    let s = Server::start_with(&site.path, &[]);
    assert_eq!(ok(&s, "/tag/rust/").body, "[hello: Hello by Alice]");
    assert_eq!(ok(&s, "/tag/web/").body, "[hello: Hello by Alice]");
    // One tag dropped from the file: the join table follows.
    save(
        &s,
        "content/posts/hello.md",
        "---\ntitle: Hello\nauthor: alice\ntags: [web]\n---\n",
    );
    let log = reload_number(&s, 1);
    assert!(
        log.contains("content/posts/: 0 new, 1 changed, 0 removed"),
        "{log}"
    );
    assert_eq!(ok(&s, "/tag/rust/").body, "");
    let conn = Connection::open(s.site_path().join("site.sqlite3")).unwrap();
    let pairs: i64 = conn
        .query_row("SELECT count(*) FROM post_tags", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pairs, 1);
    // An unknown tag is placed at its line; nothing changes.
    save(
        &s,
        "content/posts/hello.md",
        "---\ntitle: Hello\nauthor: alice\ntags: [web, go]\n---\n",
    );
    let log = reload_number(&s, 2);
    assert!(log.contains(FAILED), "{log}");
    assert!(
        log.contains("content/posts/hello.md:4:7: tags: no Tag has slug `go`"),
        "{log}"
    );
    assert_eq!(ok(&s, "/tag/web/").body, "[hello: Hello by Alice]");
}

#[test]
fn fixtures_cannot_give_the_rows_of_a_collection() {
    let site = blog();
    std::fs::write(
        site.path.join("extra.yaml"),
        "- { model: Post, fields: { title: Sneaky, slug: sneaky, body: '', author: 1 } }\n",
    )
    .unwrap();
    let out = trellis([Path::new("load"), &site.path, &site.path.join("extra.yaml")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(
            "extra.yaml:1:5: Post: the rows of Post come from the Markdown files in content/posts/"
        ),
        "{err}"
    );
    assert!(err.contains("nothing was loaded"), "{err}");
    let slugs: Vec<String> = rows(&site.path).into_iter().map(|r| r.1).collect();
    assert_eq!(slugs, ["hello", "second"]);
}

#[test]
fn a_model_change_while_serving_checks_every_file_again() {
    let site = blog();
    let s = Server::start_with(&site.path, &[]);
    // Rows of unchanged files are kept from one load to the next only while no model changes:
    // a tighter rule is checked against every file.
    save(
        &s,
        "site.yaml",
        &SITE.replace("max_length: 60", "max_length: 5"),
    );
    let log = reload_number(&s, 1);
    assert!(log.contains(FAILED), "{log}");
    assert!(log.contains("content/posts/2024/second.md:2:8"), "{log}");
    assert!(log.contains("at most 5 characters, got 6"), "{log}");
    save(&s, "site.yaml", SITE);
    let log = reload_number(&s, 2);
    assert!(
        log.trim_end().lines().last().unwrap().contains(RELOADED),
        "{log}"
    );
}

#[test]
fn the_long_form_names_the_field_the_file_name_fills_and_the_one_the_markdown_fills() {
    let yaml = "site:\n  database: s.sqlite3\nmodels:\n  Page:\n    source: { folder: pages/, slug: handle, body: text }\n    fields:\n      handle: { type: string, unique: true }\n      text: { type: text }\n      notes: { type: text, format: markdown, null: true }\nroutes:\n  - { path: \"<str:handle>/\", view: detail, model: Page, lookup: handle, format: json }\n";
    let site = write_files(&[
        ("site.yaml", yaml),
        ("pages/about.md", "---\nnotes: \"*kept*\"\n---\nAbout us.\n"),
    ]);
    let s = Server::start_with(&site.path, &[]);
    let page: Value = serde_json::from_str(&ok(&s, "/about/").body).unwrap();
    assert_eq!(page["handle"], "about");
    assert_eq!(page["text"], "About us.\n");
    assert_eq!(page["notes"], "*kept*");
}
