//! Many-to-many fields (`type: many_to_many, to: Tag`), as Django has them: the join table in
//! the SQLite file (Django's name and columns), fixtures with lists of keys, each row's targets
//! on list and detail pages (HTML and JSON), filtering through the field without duplicates,
//! the reverse direction with `related:`, dump then load, migrations that add or remove the
//! field, and the options that make no sense on it. A small blog of posts and tags, written
//! into a temporary folder per test, answers in process; the CLI runs for `load`, `dump` and
//! `migrate`.

use std::path::Path;
use std::process::Output;

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::common::{trellis, write_files, Local, SiteDir};

const MODELS: &str = "
models:
  Tag:
    ordering: [name]
    fields:
      slug: { type: slug, unique: true }
      name: { type: string }
  Post:
    fields:
      title: { type: string }
      published: { type: boolean, default: true }
      tags: { type: many_to_many, to: Tag }
";

const ROUTES: &str = r#"
routes:
  - { path: "posts/", name: post-list, view: list, model: Post, template: posts.hbs,
      filters: { tag: { field: tags__slug }, tagname: { field: tags__name, lookup: icontains },
                 tagid: { field: tags } } }
  - { path: "rust/", name: rust, view: list, model: Post, template: posts.hbs, where: { tags__slug: rust } }
  - { path: "api/posts/", name: post-api, view: list, model: Post, format: json }
  - { path: "posts/<int:pk>/", name: post-detail, view: detail, model: Post, template: post.hbs }
  - { path: "api/posts/<int:pk>/", name: post-json, view: detail, model: Post, format: json }
  - { path: "tags/<slug:slug>/", name: tag-detail, view: detail, model: Tag, lookup: slug, template: tag.hbs,
      related: { posts: { model: Post, field: tags, where: { published: true }, limit: 100 } } }
"#;

/// Tags by name: Databases (3), Rust (1), Web (2), and one whose name needs escaping (4).
const TAGS: &str = "
- { model: Tag, pk: 1, fields: { slug: rust, name: Rust } }
- { model: Tag, pk: 2, fields: { slug: web, name: Web } }
- { model: Tag, pk: 3, fields: { slug: db, name: Databases } }
- { model: Tag, pk: 4, fields: { slug: odd, name: \"<b>&Zed\" } }
";

const POSTS: &str = "
- { model: Post, pk: 1, fields: { title: Hello, tags: [2, 1] } }
- { model: Post, pk: 2, fields: { title: Empty, tags: [] } }
- { model: Post, pk: 3, fields: { title: Draft, published: false, tags: [1] } }
- { model: Post, pk: 4, fields: { title: Fourth, tags: [3, 2, 4] } }
";

/// The blog: site.yaml, its fixtures, and templates that show each post's tags.
fn blog_files(fixtures: &str) -> SiteDir {
    let site =
        format!("site: {{ database: db.sqlite3, fixtures: [{fixtures}] }}\n{MODELS}{ROUTES}");
    write_files(&[
        ("site.yaml", &site),
        ("tags.yaml", TAGS),
        ("posts.yaml", POSTS),
        (
            "templates/posts.hbs",
            "{{#each objects}}<li data-pk=\"{{pk}}\">{{title}}:{{#each tags}} [{{name}}]{{/each}}</li>{{/each}}",
        ),
        (
            "templates/post.hbs",
            "<h1>{{object.title}}</h1>{{#each object.tags}}<a href=\"{{url 'tag-detail' slug}}\">{{name}}</a>{{/each}}",
        ),
        (
            "templates/tag.hbs",
            "<h1>{{object.name}}</h1>{{#each posts}}<li>{{title}}:{{#each tags}} {{slug}}{{/each}}</li>{{/each}}",
        ),
    ])
}

fn blog() -> (SiteDir, Local) {
    let dir = blog_files("tags.yaml, posts.yaml");
    let local = Local::load(&dir.path);
    (dir, local)
}

fn db(site: &SiteDir) -> Connection {
    Connection::open(site.path.join("db.sqlite3")).expect("the site's database opens")
}

/// The join table's pairs, `post:tag` ordered.
fn pairs(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT post_id || ':' || tag_id FROM post_tags ORDER BY post_id, tag_id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    trellis(args.iter().map(|a| a.as_ref().to_os_string()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_body(r: &crate::common::Resp) -> Value {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.mime(), "application/json", "{r:?}");
    serde_json::from_str(&r.body).expect("the body is JSON")
}

#[test]
fn the_join_table_has_djangos_name_columns_and_indexes() {
    let (site, _local) = blog();
    let conn = db(&site);
    let mut stmt = conn
        .prepare(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info('post_tags') ORDER BY cid",
        )
        .unwrap();
    let columns: Vec<(String, String, bool, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let col = |n: &str, pk| (n.to_string(), "INTEGER".to_string(), true, pk);
    assert_eq!(
        columns,
        [col("id", true), col("post_id", false), col("tag_id", false)]
    );
    let mut stmt = conn
        .prepare("SELECT \"from\", \"table\", \"to\", on_delete FROM pragma_foreign_key_list('post_tags') ORDER BY \"from\"")
        .unwrap();
    let keys: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let fk = |from: &str, table: &str| {
        (
            from.to_string(),
            table.to_string(),
            "id".to_string(),
            "CASCADE".to_string(),
        )
    };
    assert_eq!(keys, [fk("post_id", "post"), fk("tag_id", "tag")]);
    let mut stmt = conn
        .prepare("SELECT il.\"unique\", group_concat(ii.name, ',') FROM pragma_index_list('post_tags') AS il, pragma_index_info(il.name) AS ii WHERE il.origin = 'c' GROUP BY il.name ORDER BY il.name")
        .unwrap();
    let indexes: Vec<(bool, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        indexes,
        [
            (true, "post_id,tag_id".to_string()),
            (false, "tag_id".to_string())
        ]
    );
    // The post table has no column for the field.
    let post_columns: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('post') WHERE name LIKE 'tags%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(post_columns, 0);
    // The fixtures' lists are the join table's rows; deleting a tag deletes its pairs.
    assert_eq!(pairs(&conn), ["1:1", "1:2", "3:1", "4:2", "4:3", "4:4"]);
    conn.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM tag WHERE id = 2")
        .unwrap();
    assert_eq!(pairs(&conn), ["1:1", "3:1", "4:3", "4:4"]);
}

#[test]
fn list_and_detail_pages_show_each_posts_tags_in_the_tags_ordering() {
    let (_site, s) = blog();
    let r = s.get("/posts/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body,
        "<li data-pk=\"1\">Hello: [Rust] [Web]</li>\
         <li data-pk=\"2\">Empty:</li>\
         <li data-pk=\"3\">Draft: [Rust]</li>\
         <li data-pk=\"4\">Fourth: [&lt;b&gt;&amp;Zed] [Databases] [Web]</li>"
    );
    let r = s.get("/posts/4/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body,
        "<h1>Fourth</h1><a href=\"/tags/odd/\">&lt;b&gt;&amp;Zed</a><a href=\"/tags/db/\">Databases</a><a href=\"/tags/web/\">Web</a>"
    );
}

#[test]
fn json_rows_hold_their_tags_as_objects() {
    let (_site, s) = blog();
    let tag = |id: i64, slug: &str, name: &str| json!({"id": id, "slug": slug, "name": name});
    let body = json_body(&s.get("/api/posts/"));
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 4);
    assert_eq!(
        results[0]["tags"],
        json!([tag(1, "rust", "Rust"), tag(2, "web", "Web")])
    );
    assert_eq!(results[1]["tags"], json!([]));
    let body = json_body(&s.get("/api/posts/1/"));
    assert_eq!(body["title"], "Hello");
    assert_eq!(
        body["tags"],
        json!([tag(1, "rust", "Rust"), tag(2, "web", "Web")])
    );
}

fn listed(r: &crate::common::Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{r:?}");
    r.body
        .split("data-pk=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn filtering_through_tags_lists_each_post_once() {
    let (_site, s) = blog();
    assert_eq!(listed(&s.get("/posts/?tag=rust")), ["1", "3"]);
    assert_eq!(listed(&s.get("/posts/?tag=db")), ["4"]);
    assert_eq!(listed(&s.get("/posts/?tag=none")), Vec::<String>::new());
    // Post 4 has two tags whose names hold an `e` (Web, Databases): it is listed once.
    assert_eq!(listed(&s.get("/posts/?tagname=e")), ["1", "4"]);
    // A value that looks like SQL is a bound parameter, matching nothing.
    assert_eq!(
        listed(&s.get("/posts/?tag=%27%29%20OR%201%3D1%20--")),
        Vec::<String>::new()
    );
    // The field alone is the tag's primary key, typed: a key that is no number is a 400.
    assert_eq!(listed(&s.get("/posts/?tagid=2")), ["1", "4"]);
    assert_eq!(s.get("/posts/?tagid=two").status, 400);
    // `where:` through the field.
    assert_eq!(listed(&s.get("/rust/")), ["1", "3"]);
}

#[test]
fn a_tag_page_lists_its_posts_through_related() {
    let (_site, s) = blog();
    let r = s.get("/tags/rust/");
    assert_eq!(r.status, 200, "{r:?}");
    // Post 3 has the tag but is not published: `where:` leaves it out.
    assert_eq!(r.body, "<h1>Rust</h1><li>Hello: rust web</li>");
    // Each post listed has its own tags too.
    let r = s.get("/tags/web/");
    assert_eq!(
        r.body,
        "<h1>Web</h1><li>Hello: rust web</li><li>Fourth: odd db web</li>"
    );
    assert_eq!(s.get("/tags/nope/").status, 404);
}

#[test]
fn a_dangling_key_in_a_list_names_file_and_row_and_loads_nothing() {
    let site = blog_files("");
    let posts = site.path.join("posts.yaml");
    std::fs::write(&posts, POSTS.replace("tags: [3, 2, 4]", "tags: [3, 9]")).unwrap();
    let out = run(&[&"load", &site.path, &site.path.join("tags.yaml"), &posts]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("posts.yaml:5:56: Post pk=4: field `tags`: no Tag with pk 9"),
        "{err}"
    );
    let conn = db(&site);
    let count = |t: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!((count("tag"), count("post"), count("post_tags")), (0, 0, 0));
}

#[test]
fn dump_then_load_round_trips_the_sets() {
    let (site, _local) = blog();
    let dump = |site: &Path, model: &str| {
        let out = run(&[&"dump", &site, &model]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let posts = dump(&site.path, "Post");
    assert!(
        posts.contains("  pk: 4\n  fields:\n    title: Fourth\n    published: true\n    tags:\n      - 2\n      - 3\n      - 4\n"),
        "{posts}"
    );
    let fresh = blog_files("");
    std::fs::write(fresh.path.join("tags.yaml"), dump(&site.path, "Tag")).unwrap();
    std::fs::write(fresh.path.join("posts.yaml"), &posts).unwrap();
    let out = run(&[
        &"load",
        &fresh.path,
        &fresh.path.join("posts.yaml"),
        &fresh.path.join("tags.yaml"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(pairs(&db(&fresh)), pairs(&db(&site)));
    assert_eq!(dump(&fresh.path, "Post"), posts);
}

#[test]
fn adding_the_field_to_a_site_with_rows_works_and_removing_it_is_refused() {
    let without = MODELS.replace("      tags: { type: many_to_many, to: Tag }\n", "");
    let site = write_files(&[
        (
            "site.yaml",
            &format!("site: {{ database: db.sqlite3 }}\n{without}"),
        ),
        ("tags.yaml", TAGS),
        (
            "posts.yaml",
            "- { model: Post, pk: 1, fields: { title: Old } }\n",
        ),
    ]);
    let yaml = site.path.join("site.yaml");
    let load = |files: &[&str]| {
        let mut args: Vec<std::path::PathBuf> = vec!["load".into(), site.path.clone()];
        args.extend(files.iter().map(|f| site.path.join(f)));
        trellis(&args)
    };
    assert!(load(&["tags.yaml", "posts.yaml"]).status.success());
    std::fs::write(&yaml, format!("site: {{ database: db.sqlite3 }}\n{MODELS}")).unwrap();
    let out = run(&[&"migrate", &site.path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "migrate: create table post_tags\n");
    std::fs::write(
        site.path.join("posts.yaml"),
        "- { model: Post, pk: 1, fields: { title: Old, tags: [1, 3] } }\n",
    )
    .unwrap();
    let out = load(&["posts.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(pairs(&db(&site)), ["1:1", "1:3"]);

    std::fs::write(
        &yaml,
        format!("site: {{ database: db.sqlite3 }}\n{without}"),
    )
    .unwrap();
    let out = run(&[&"migrate", &site.path]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("many_to_many field `tags` of Post is gone from site.yaml: dropping its join table `post_tags` would lose 2 rows; to proceed, put the field back, or run `trellis migrate SITE --allow-destructive` to drop it (after a backup)"),
        "{err}"
    );
    assert_eq!(pairs(&db(&site)), ["1:1", "1:3"]);
    let out = run(&[&"migrate", &site.path, &"--allow-destructive"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let gone: i64 = db(&site)
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'post_tags'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gone, 0);
}

/// The messages `trellis check` prints for a site with these models and routes.
fn check(models: &str, routes: &str) -> String {
    let site = write_files(&[
        ("site.yaml", &format!("models:\n{models}routes:\n{routes}")),
        ("templates/t.hbs", ""),
    ]);
    let out = run(&[&"check", &site.path]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    text(&out.stderr)
}

#[test]
fn options_and_uses_that_make_no_sense_on_the_field_are_load_errors() {
    let tag = "  Tag:\n    fields:\n      slug: { type: slug }\n";
    let err = check(
        &format!("{tag}  Post:\n    fields:\n      tags: {{ type: many_to_many, to: Tag, null: true, unique: true, index: true, default: [], on_delete: cascade, primary_key: true, max_length: 3 }}\n"),
        "  []\n",
    );
    for key in [
        "null",
        "unique",
        "index",
        "default",
        "on_delete",
        "primary_key",
    ] {
        assert!(
            err.contains(&format!("models.Post.fields.tags.{key}: `{key}` does not apply to a many_to_many field: it has no column, its values are rows of a join table")),
            "{key}: {err}"
        );
    }
    assert!(
        err.contains("models.Post.fields.tags.max_length: `max_length` applies to string"),
        "{err}"
    );
    let err = check(
        &format!("{tag}  Post:\n    fields:\n      tags: {{ type: many_to_many, to: Tags }}\n"),
        "  []\n",
    );
    assert!(
        err.contains("models.Post.fields.tags.to: no model `Tags`"),
        "{err}"
    );
    assert!(err.contains("did you mean `Tag`?"), "{err}");
    let err = check(
        "  Post:\n    fields:\n      related: { type: many_to_many, to: Post }\n",
        "  []\n",
    );
    assert!(
        err.contains("a many_to_many field from Post to Post itself is not supported"),
        "{err}"
    );
    let err = check(
        &format!("{tag}  Post:\n    ordering: [tags]\n    fields:\n      tags: {{ type: many_to_many, to: Tag }}\n"),
        "  - { path: \"<str:tags>/\", view: detail, model: Post, lookup: tags, template: t.hbs }\n  - { path: \"\", view: list, model: Post, template: t.hbs, search: { fields: [tags] }, ordering_fields: [tags] }\n",
    );
    for what in ["order by", "find a row by", "search"] {
        assert!(
            err.contains(&format!("`tags` of Post is a many_to_many field: it has no column to {what} (its values are rows of `post_tags`)")),
            "{what}: {err}"
        );
    }
    let err = check(
        &format!("{tag}  Post:\n    fields:\n      title: {{ type: string }}\n      tags: {{ type: many_to_many, to: Tag }}\n  PostTags:\n    table: post_tags\n    fields:\n      x: {{ type: integer }}\n"),
        "  []\n",
    );
    assert!(
        err.contains(
            "the join table of Post.tags, `post_tags`, would be the table of model PostTags"
        ),
        "{err}"
    );
}
