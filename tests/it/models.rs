//! Models in process and through the command line: migrations (`trellis migrate`), fixtures
//! (`trellis load`, `trellis dump`), the `list` and `detail` views as HTML and JSON, search,
//! filters, and SQL injection attempts in every parameter. Most tests ask the test site
//! `tests/sites/shop` in process: the tests that only read share one copy, loaded and migrated
//! (its database created from the fixtures) once per run (`shop()`); a test that writes rows
//! loads a copy of its own (`own_shop()`). Migrations and fixtures use small inline sites; the
//! last tests boot the fixture-based blog `tests/sites/blog` with `trellis serve` and smoke-test it over
//! real HTTP. What the user sees is asserted: status, headers, body, and the rows in the SQLite
//! file. Django's ListView, DetailView and Paginator are the reference.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use crate::common::{
    copy_dir, logged, remove_databases, trellis, write_files, Local, Resp, Server, SiteDir,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use serde_json::Value;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Helpers

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shop_dir() -> PathBuf {
    root().join("tests/sites/shop")
}

fn blog_dir() -> PathBuf {
    root().join("tests/sites/blog")
}

/// A copy of a site folder without any database file a local run may have left in it, so that
/// the test starts from the fixtures.
fn clean_copy(dir: &Path) -> (TempDir, PathBuf) {
    let tmp = TempDir::new().expect("a temporary folder");
    let copy = tmp
        .path()
        .join(dir.file_name().expect("a site folder has a name"));
    copy_dir(dir, &copy);
    remove_databases(&copy);
    (tmp, copy)
}

/// The shop, loaded in process and migrated once per run, for the tests that only read.
fn shop() -> &'static Local {
    static SITE: OnceLock<Local> = OnceLock::new();
    SITE.get_or_init(|| Local::shared(&shop_dir()))
}

/// A shop of the test's own, for a test that writes rows.
fn own_shop() -> Local {
    Local::copy_of(&shop_dir())
}

/// The example blog served by `trellis serve` (which creates its database), once per run;
/// its tests only read.
fn blog() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::shared(&blog_dir()))
}

/// The shop's published products, newest first (the model's ordering, `-created_at`).
const NEWEST_FIRST: [i64; 17] = [17, 16, 3, 8, 15, 5, 14, 1, 13, 12, 6, 11, 7, 10, 2, 9, 4];

/// The shop's unpublished products (`published: false`): never shown.
const UNPUBLISHED: [i64; 2] = [18, 19];

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// Run `trellis ARGS…` where the arguments may be paths.
fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    trellis(args.iter().map(|a| a.as_ref().to_os_string()))
}

/// Percent-encode a query value or a path segment.
fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Undo Handlebars' HTML escaping.
fn unescape(s: &str) -> String {
    s.replace("&#x3D;", "=")
        .replace("&#x27;", "'")
        .replace("&#x60;", "`")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The primary keys of the rows a page lists (`data-pk="N"`), in order.
fn pks(r: &Resp) -> Vec<i64> {
    r.body
        .split("data-pk=\"")
        .skip(1)
        .map(|rest| {
            let end = rest.find('"').expect("a closing quote");
            rest[..end]
                .parse()
                .unwrap_or_else(|_| panic!("a numeric pk in {rest:?}"))
        })
        .collect()
}

/// `key=value` pairs of the shop template's `<p id="page">` line (the `page` context).
fn page_value(r: &Resp, key: &str) -> String {
    let start = r
        .body
        .find("<p id=\"page\">")
        .unwrap_or_else(|| panic!("no page line: {}", r.body));
    let line = &r.body[start + "<p id=\"page\">".len()..];
    let line = &line[..line.find("</p>").expect("the page line ends")];
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        .to_string()
}

/// The unescaped `href` of `<a id="ID" …>`, if the page has that link.
fn link(r: &Resp, id: &str) -> Option<String> {
    let start = format!("<a id=\"{id}\" href=\"");
    let at = r.body.find(&start)? + start.len();
    let len = r.body[at..].find('"').expect("a closing quote");
    Some(unescape(&r.body[at..at + len]))
}

/// A 200 HTML page.
fn ok(r: &Resp) {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.mime(), "text/html", "{r:?}");
}

/// The shop's own 404 page.
fn assert_shop_404(r: &Resp) {
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.mime(), "text/html");
    assert!(
        r.body.contains("<h1>Shop: page not found</h1>"),
        "{}",
        r.body
    );
}

/// The shop's own 400 page, whose message names `param`.
fn assert_shop_400(r: &Resp, param: &str) {
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("<h1>Shop: bad request</h1>"), "{}", r.body);
    let text = unescape(&r.body);
    assert!(
        text.contains(&format!("query parameter `{param}`")),
        "the 400 page should name `{param}`: {text}"
    );
}

fn json(r: &Resp) -> Value {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.mime(), "application/json", "{r:?}");
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

/// The `id`s of a JSON list of rows.
fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap_or_else(|| panic!("a list: {v}"))
        .iter()
        .map(|o| o["id"].as_i64().unwrap_or_else(|| panic!("an id: {o}")))
        .collect()
}

/// The database file `file` of the site in `site` (a served or loaded copy).
fn site_db(site: &Path, file: &str) -> Connection {
    Connection::open(site.join(file)).expect("open the site's database")
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

/// Every row of a table, in primary key order.
fn rows(conn: &Connection, table: &str) -> Vec<Vec<SqlValue>> {
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
        .unwrap_or_else(|e| panic!("select from {table}: {e}"));
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, SqlValue>(i)).collect())
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn tables(conn: &Connection) -> BTreeSet<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn columns(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info(\"{table}\")"))
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(1))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A table's indexes: (unique, [(column, descending)]).
fn indexes(conn: &Connection, table: &str) -> Vec<(bool, Vec<(String, bool)>)> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA index_list(\"{table}\")"))
        .unwrap();
    let list: Vec<(String, bool)> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, bool>(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    list.into_iter()
        .map(|(name, unique)| {
            let mut stmt = conn
                .prepare(&format!("PRAGMA index_xinfo(\"{name}\")"))
                .unwrap();
            // seqno, cid, name, desc, coll, key: only the key columns.
            let cols = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, bool>(5)?,
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .filter(|(_, _, key)| *key)
                .map(|(c, desc, _)| (c.unwrap_or_default(), desc))
                .collect();
            (unique, cols)
        })
        .collect()
}

/// Whether the table has an index that serves lookups and ordering on `cols` (with their
/// directions): a unique index on exactly those columns, or any index that starts with them
/// (an ordering index may end with the primary key, as the queries' ORDER BY does).
fn has_index(conn: &Connection, table: &str, unique: bool, cols: &[(&str, bool)]) -> bool {
    let want: Vec<(String, bool)> = cols.iter().map(|(c, d)| (c.to_string(), *d)).collect();
    indexes(conn, table).iter().any(|(u, c)| {
        if unique {
            *u && *c == want
        } else {
            c.starts_with(&want)
        }
    })
}

/// Everything in a database file, as text: its schema, then every table's rows.
fn snapshot(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).expect("open the database");
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare(
            "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name",
        )
        .unwrap();
    let schema: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (ty, name, table, sql) in &schema {
        out.push(format!("{ty} {name} on {table}: {sql}"));
    }
    for (ty, name, _, _) in &schema {
        if ty == "table" {
            out.push(format!("rows of {name}: {:?}", rows(&conn, name)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Migrations

/// Version 1 of the migration site: Item with rows to keep, Crate left empty.
const MIGRATE_V1: &str = r#"site: { database: db.sqlite3 }
models:
  Item:
    fields:
      name: { type: string, max_length: 50 }
      code: { type: slug, unique: true }
      kind: { type: string, null: true }
    ordering: [name]
  Crate:
    fields:
      label: { type: string, null: true }
"#;

/// Version 2: every kind of additive change.
const MIGRATE_V2: &str = r#"site: { database: db.sqlite3 }
models:
  Item:
    fields:
      name: { type: string, max_length: 50 }
      code: { type: slug, unique: true }
      kind: { type: string, null: true, index: true }
      note: { type: string, null: true }
      qty: { type: integer, default: 0 }
      size: { type: string, default: "M" }
    ordering: [name]
  Crate:
    fields:
      label: { type: string, null: true }
      # NOT NULL without a default is fine on an empty table.
      width: { type: integer }
  Tag:
    fields:
      word: { type: string }
"#;

fn migrate(site: &SiteDir, extra: &[&str]) -> Output {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"migrate", &site.path];
    for e in extra {
        args.push(e);
    }
    run(&args)
}

fn write_yaml(site: &SiteDir, text: &str) {
    std::fs::write(site.path.join("site.yaml"), text).expect("write site.yaml");
}

/// The migration site at version 2, with three items and two tags in it.
fn migrated_v2() -> SiteDir {
    let site = write_files(&[("site.yaml", MIGRATE_V1)]);
    let out = migrate(&site, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(site.path.join("db.sqlite3")).unwrap();
    conn.execute_batch(
        "INSERT INTO item (name, code, kind) VALUES ('Apple', 'apple', 'fruit'), ('Bean', 'bean', 'seed'), ('Corn', 'corn', NULL);",
    )
    .unwrap();
    drop(conn);
    write_yaml(&site, MIGRATE_V2);
    let out = migrate(&site, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(site.path.join("db.sqlite3")).unwrap();
    conn.execute_batch("INSERT INTO tag (word) VALUES ('red'), ('green');")
        .unwrap();
    site
}

#[test]
fn a_fresh_database_gets_tables_indexes_and_the_fixtures() {
    let (_tmp, site) = clean_copy(&shop_dir());
    let out = run(&[&"migrate", &site]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("is up to date"), "{}", stdout(&out));
    let err = stderr(&out);
    for line in [
        "migrate: create table maker",
        "migrate: create table product",
        "migrate: create table note",
        "migrate: load 23 rows from 2 fixture files",
    ] {
        assert!(err.contains(line), "expected {line:?} in:\n{err}");
    }

    let conn = Connection::open(site.join("shop.sqlite3")).unwrap();
    let t = tables(&conn);
    for name in ["maker", "product", "note", "product_fts"] {
        assert!(t.contains(name), "no table {name}: {t:?}");
    }
    assert_eq!(
        columns(&conn, "product"),
        [
            "id",
            "title",
            "slug",
            "description",
            "price",
            "published",
            "created_at",
            "maker_id"
        ]
    );
    // The model's ordering (-created_at) is indexed, descending; unique fields get a unique
    // index; a foreign key is indexed.
    assert!(
        has_index(&conn, "product", false, &[("created_at", true)]),
        "{:?}",
        indexes(&conn, "product")
    );
    assert!(has_index(&conn, "product", true, &[("slug", false)]));
    assert!(has_index(&conn, "maker", true, &[("slug", false)]));
    assert!(has_index(&conn, "maker", false, &[("name", false)]));
    assert!(has_index(&conn, "product", false, &[("maker_id", false)]));
    assert_eq!(count(&conn, "maker"), 4);
    assert_eq!(count(&conn, "product"), 19);
    assert_eq!(count(&conn, "note"), 0);

    // Fixtures go into a freshly created database only: a row deleted since stays deleted.
    conn.execute("DELETE FROM product WHERE id = 1", [])
        .unwrap();
    drop(conn);
    let out = run(&[&"check", &site]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("load"), "{}", stderr(&out));
    let out = run(&[&"migrate", &site]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("migrate:"),
        "nothing to do: {}",
        stderr(&out)
    );
    let conn = Connection::open(site.join("shop.sqlite3")).unwrap();
    assert_eq!(count(&conn, "product"), 18);
}

#[test]
fn additive_changes_apply_on_the_next_migrate_and_keep_rows() {
    let site = write_files(&[("site.yaml", MIGRATE_V1)]);
    let out = migrate(&site, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = site.path.join("db.sqlite3");
    let conn = Connection::open(&db).unwrap();
    assert!(has_index(&conn, "item", true, &[("code", false)]));
    assert!(has_index(&conn, "item", false, &[("name", false)]));
    assert!(!has_index(&conn, "item", false, &[("kind", false)]));
    conn.execute_batch(
        "INSERT INTO item (name, code, kind) VALUES ('Apple', 'apple', 'fruit'), ('Bean', 'bean', 'seed'), ('Corn', 'corn', NULL);",
    )
    .unwrap();
    drop(conn);

    write_yaml(&site, MIGRATE_V2);
    let out = migrate(&site, &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    for line in [
        "add column item.note",
        "add column item.qty",
        "add column item.size",
        "add column crate.width",
        "create table tag",
    ] {
        assert!(err.contains(line), "expected {line:?} in:\n{err}");
    }
    let conn = Connection::open(&db).unwrap();
    assert_eq!(
        columns(&conn, "item"),
        ["id", "name", "code", "kind", "note", "qty", "size"]
    );
    assert!(
        has_index(&conn, "item", false, &[("kind", false)]),
        "{:?}",
        indexes(&conn, "item")
    );
    assert!(tables(&conn).contains("tag"));
    assert_eq!(columns(&conn, "crate"), ["id", "label", "width"]);
    // The old rows are kept, the new columns hold NULL or the default.
    // name, kind, note, qty, size
    type ItemRow = (String, Option<String>, Option<String>, i64, String);
    let got: Vec<ItemRow> = conn
        .prepare("SELECT name, kind, note, qty, size FROM item ORDER BY id")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        [
            ("Apple".into(), Some("fruit".into()), None, 0, "M".into()),
            ("Bean".into(), Some("seed".into()), None, 0, "M".into()),
            ("Corn".into(), None, None, 0, "M".into()),
        ]
    );
    // A new row still gets the defaults from the database.
    conn.execute("INSERT INTO item (name, code) VALUES ('Date', 'date')", [])
        .unwrap();
    let (qty, size): (i64, String) = conn
        .query_row("SELECT qty, size FROM item WHERE code = 'date'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((qty, size.as_str()), (0, "M"));
    drop(conn);

    // Running again changes nothing.
    let before = snapshot(&db);
    let out = migrate(&site, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("migrate:"), "{}", stderr(&out));
    assert_eq!(snapshot(&db), before);
}

#[test]
fn refused_changes_say_what_would_be_lost_and_change_nothing() {
    let site = migrated_v2();
    let db = site.path.join("db.sqlite3");
    let removed_field = MIGRATE_V2.replace(
        "      kind: { type: string, null: true, index: true }\n",
        "",
    );
    let removed_model = MIGRATE_V2.split("  Tag:").next().unwrap().to_string();
    let type_change = MIGRATE_V2.replace(
        "qty: { type: integer, default: 0 }",
        "qty: { type: string, default: \"0\" }",
    );
    let not_null = MIGRATE_V2.replace(
        "      size: { type: string, default: \"M\" }\n",
        "      size: { type: string, default: \"M\" }\n      sku: { type: string }\n",
    );
    // A refused change also holds back the additive ones beside it.
    let mixed =
        format!("{removed_field}  Extra:\n    fields:\n      x: {{ type: string, null: true }}\n");
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "a removed field",
            &removed_field,
            &[
                "field `kind` of Item is gone from site.yaml",
                "would lose 2 values",
                "--allow-destructive",
            ],
        ),
        (
            "a removed model",
            &removed_model,
            &[
                "model Tag is gone from site.yaml",
                "dropping table `tag` would lose 2 rows",
                "--allow-destructive",
            ],
        ),
        (
            "a type change",
            &type_change,
            &["field `qty` of Item changes", "INTEGER → TEXT"],
        ),
        (
            "a NOT NULL field without a default on a table with rows",
            &not_null,
            &[
                "new field `sku` of Item is NOT NULL without a default",
                "table `item` has rows",
            ],
        ),
        (
            "a removed field beside a new model",
            &mixed,
            &["field `kind` of Item is gone"],
        ),
    ];
    for (what, yaml, fragments) in cases {
        let before = snapshot(&db);
        write_yaml(&site, yaml);
        let out = migrate(&site, &[]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{what}: migrate succeeded:\n{err}");
        assert!(err.contains("error: migration refused: "), "{what}:\n{err}");
        for f in fragments {
            assert!(err.contains(f), "{what}: expected {f:?} in:\n{err}");
        }
        assert!(
            err.contains("the database was not changed"),
            "{what}:\n{err}"
        );
        assert_eq!(snapshot(&db), before, "{what}: the database changed");
        // Serving or checking the site refuses the same way.
        let out = run(&[&"check", &site.path]);
        assert!(!out.status.success(), "{what}: check succeeded");
        assert!(
            stderr(&out).contains("migration refused"),
            "{what}: {}",
            stderr(&out)
        );
        assert_eq!(snapshot(&db), before, "{what}: check changed the database");
    }
}

#[test]
fn allow_destructive_drops_columns_and_tables_but_never_converts_types() {
    let site = migrated_v2();
    let db = site.path.join("db.sqlite3");
    let conn = Connection::open(&db).unwrap();
    assert!(has_index(&conn, "item", false, &[("kind", false)]));
    drop(conn);

    // `kind` (indexed) and the model Tag go.
    let yaml = MIGRATE_V2
        .replace(
            "      kind: { type: string, null: true, index: true }\n",
            "",
        )
        .split("  Tag:")
        .next()
        .unwrap()
        .to_string();
    write_yaml(&site, &yaml);
    let out = migrate(&site, &["--allow-destructive"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("drop column item.kind (2 values)"), "{err}");
    assert!(err.contains("drop table tag (2 rows)"), "{err}");
    let conn = Connection::open(&db).unwrap();
    assert_eq!(
        columns(&conn, "item"),
        ["id", "name", "code", "note", "qty", "size"]
    );
    assert!(!tables(&conn).contains("tag"), "{:?}", tables(&conn));
    assert!(!indexes(&conn, "item")
        .iter()
        .any(|(_, c)| c.iter().any(|(n, _)| n == "kind")));
    let names: Vec<String> = conn
        .prepare("SELECT name FROM item ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, ["Apple", "Bean", "Corn"]);
    let schema_models: Vec<String> = conn
        .prepare("SELECT model FROM _trellis_schema ORDER BY model")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // The built-in tables of sign-in and the history log stay: they are no model's.
    assert_eq!(
        schema_models,
        [
            "Crate",
            "Item",
            "trellis_log",
            "trellis_login_failure",
            "trellis_session",
            "trellis_user"
        ]
    );
    drop(conn);

    // A type change is refused even with --allow-destructive.
    let before = snapshot(&db);
    write_yaml(
        &site,
        &yaml.replace(
            "qty: { type: integer, default: 0 }",
            "qty: { type: float, default: 0 }",
        ),
    );
    let out = migrate(&site, &["--allow-destructive"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("field `qty` of Item changes (type INTEGER → REAL)"),
        "{err}"
    );
    assert_eq!(snapshot(&db), before);

    // Back to a known state, the site migrates cleanly again.
    write_yaml(&site, &yaml);
    let out = migrate(&site, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn allow_destructive_drops_a_field_covered_by_full_text_search() {
    // trellis migrate SITE --allow-destructive after removing `body` (searched with fts: true):
    //   error: migration refused: ALTER TABLE "post" DROP COLUMN "body": error in trigger
    //   post_fts_ai after drop column: no such column: new.body
    let v1 = r#"site: { database: db.sqlite3 }
models:
  Post:
    fields:
      title: { type: string }
      body: { type: text, null: true }
routes:
  - { path: "", view: list, model: Post, search: { fields: [title, body], fts: true }, format: json }
"#;
    let site = write_files(&[("site.yaml", v1)]);
    let out = migrate(&site, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = site.path.join("db.sqlite3");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO post (title, body) VALUES ('Hello', 'world'), ('Bye', 'moon');",
    )
    .unwrap();
    drop(conn);
    let v2 = v1
        .replace("      body: { type: text, null: true }\n", "")
        .replace("fields: [title, body]", "fields: [title]");
    write_yaml(&site, &v2);
    let out = migrate(&site, &["--allow-destructive"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(&db).unwrap();
    assert_eq!(columns(&conn, "post"), ["id", "title"]);
    assert_eq!(count(&conn, "post"), 2);
    drop(conn);
    // The search still works, over the title.
    let s = Local::load(&site.path);
    let v = json(&s.get("/?q=hello"));
    assert_eq!(ids(&v["results"]), [1]);
}

#[test]
fn fixed_fixtures_load_after_a_failed_first_run() {
    // trellis check SITE with a bad fixture: "error: migration refused: …: field `slug`: …" and
    // "the database was not changed", yet the tables were created and committed. After fixing
    // the file, `trellis check SITE` succeeds and the database is left with 0 authors.
    let site = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3, fixtures: [authors.yaml] }\nmodels:\n  Author:\n    fields:\n      slug: { type: slug }\n",
        ),
        ("authors.yaml", "- model: Author\n  pk: 1\n  fields: { slug: \"not a slug\" }\n"),
    ]);
    let out = run(&[&"check", &site.path]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("authors.yaml:3:19: Author pk=1"),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        site.path.join("authors.yaml"),
        "- model: Author\n  pk: 1\n  fields: { slug: ada }\n",
    )
    .unwrap();
    let out = run(&[&"check", &site.path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(site.path.join("db.sqlite3")).unwrap();
    assert_eq!(count(&conn, "author"), 1);
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const LOAD_SITE: &str = r#"site: { database: db.sqlite3 }
models:
  Author:
    fields:
      name: { type: string, max_length: 20 }
      slug: { type: slug, unique: true }
      email: { type: email, null: true }
  Book:
    fields:
      title: { type: string, max_length: 30 }
      pages: { type: integer, null: true }
      author: { type: foreign_key, to: Author }
"#;

const AUTHORS_YAML: &str = "\
- model: Author
  pk: 1
  fields: { name: Ada, slug: ada, email: ada@example.com }
- model: Author
  pk: 2
  fields: { name: Brian, slug: brian }
";

const BOOKS_JSON: &str = r#"[
  {"model": "Book", "pk": 1, "fields": {"title": "Notes", "pages": 12, "author": 1}},
  {"model": "Book", "pk": 2, "fields": {"title": "Engines", "author": 2}}
]"#;

const BOOKS_CSV: &str = "id,title,pages,author\n3,\"Commas, too\",300,1\n4,Empty pages,,2\n";

fn load(site: &SiteDir, files: &[&str]) -> Output {
    let paths: Vec<PathBuf> = files.iter().map(|f| site.path.join(f)).collect();
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"load", &site.path];
    for p in &paths {
        args.push(p);
    }
    run(&args)
}

fn load_site() -> SiteDir {
    write_files(&[
        ("site.yaml", LOAD_SITE),
        ("authors.yaml", AUTHORS_YAML),
        ("books.json", BOOKS_JSON),
        ("Book.csv", BOOKS_CSV),
    ])
}

#[test]
fn load_reads_yaml_json_and_csv() {
    let site = load_site();
    let out = load(&site, &["authors.yaml", "books.json", "Book.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("loaded 6 rows (2 Author, 4 Book)"),
        "{}",
        stdout(&out)
    );
    let conn = Connection::open(site.path.join("db.sqlite3")).unwrap();
    let authors: Vec<(i64, String, String, Option<String>)> = conn
        .prepare("SELECT id, name, slug, email FROM author ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        authors,
        [
            (
                1,
                "Ada".into(),
                "ada".into(),
                Some("ada@example.com".into())
            ),
            (2, "Brian".into(), "brian".into(), None),
        ]
    );
    let books: Vec<(i64, String, Option<i64>, i64)> = conn
        .prepare("SELECT id, title, pages, author_id FROM book ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        books,
        [
            (1, "Notes".into(), Some(12), 1),
            (2, "Engines".into(), None, 2),
            (3, "Commas, too".into(), Some(300), 1),
            (4, "Empty pages".into(), None, 2),
        ]
    );
    // Loading the same files again updates the rows in place (Django's loaddata).
    let out = load(&site, &["authors.yaml", "books.json", "Book.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(count(&conn, "author"), 2);
    assert_eq!(count(&conn, "book"), 4);
}

#[test]
fn one_bad_row_loads_nothing_from_any_file_and_is_named() {
    let site = load_site();
    // Ada is in the database already; every bad file below also renames her, and a good
    // file beside it adds an author: neither may happen.
    let out = load(&site, &["authors.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(
        site.path.join("good.yaml"),
        "- model: Author\n  pk: 10\n  fields: { name: Gil, slug: gil }\n",
    )
    .unwrap();
    let rename = "- model: Author\n  pk: 1\n  fields: { name: Ada Renamed, slug: ada }\n";
    let cases: [(&str, &str, String, &[&str]); 6] = [
        (
            "a string too long",
            "bad.yaml",
            format!("{rename}- model: Author\n  pk: 4\n  fields: {{ name: This name is far too long to fit, slug: long }}\n"),
            &["bad.yaml:6:19: Author pk=4: field `name`: at most 20 characters, got 32"],
        ),
        (
            "a bad slug",
            "bad.yaml",
            format!("{rename}- model: Author\n  pk: 5\n  fields: {{ name: Dan, slug: \"not a slug\" }}\n"),
            &["bad.yaml:6:30: Author pk=5: field `slug`", "not a slug"],
        ),
        (
            "a bad email",
            "bad.yaml",
            format!("{rename}- model: Author\n  pk: 6\n  fields: {{ name: Eve, slug: eve, email: not-an-email }}\n"),
            &["bad.yaml:6:42: Author pk=6: field `email`: not an email address"],
        ),
        (
            "an unknown field",
            "bad.yaml",
            format!("{rename}- model: Author\n  pk: 7\n  fields: {{ name: Fay, slug: fay, nickname: F }}\n"),
            &["bad.yaml:6:45: Author pk=7: unknown field `nickname` of Author"],
        ),
        (
            "a missing foreign key target",
            "bad.json",
            format!(
                "[{}, {}]",
                r#"{"model": "Author", "pk": 1, "fields": {"name": "Ada Renamed", "slug": "ada"}}"#,
                r#"{"model": "Book", "pk": 9, "fields": {"title": "Orphan", "author": 99}}"#
            ),
            &["bad.json:1:149: Book pk=9: field `author`: no Author with pk 99"],
        ),
        (
            "a CSV cell that is not an integer",
            "books.csv",
            "id,title,pages,author\n5,Fine,1,1\n6,Bad pages,many,1\n".to_string(),
            &["books.csv:3:13: Book pk=6: field `pages`: expected an integer"],
        ),
    ];
    let db = site.path.join("db.sqlite3");
    for (what, file, text, fragments) in cases {
        std::fs::write(site.path.join(file), text).unwrap();
        let before = snapshot(&db);
        let out = load(&site, &["good.yaml", file]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{what}: load succeeded:\n{err}");
        for f in fragments {
            assert!(err.contains(f), "{what}: expected {f:?} in:\n{err}");
        }
        assert!(err.contains("nothing was loaded"), "{what}:\n{err}");
        assert_eq!(snapshot(&db), before, "{what}: rows were written");
        std::fs::remove_file(site.path.join(file)).unwrap();
    }
    let conn = Connection::open(&db).unwrap();
    assert_eq!(count(&conn, "author"), 2);
    assert_eq!(count(&conn, "book"), 0);
    let name: String = conn
        .query_row("SELECT name FROM author WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "Ada");
}

/// Regression: `trellis dump SITE Post | head` panicked ("failed printing to stdout: Broken
/// pipe") when the reader stopped early.
#[test]
fn a_dump_into_a_closed_pipe_ends_quietly() {
    let (_tmp, site) = clean_copy(&blog_dir());
    let out = run(&[&"migrate", &site]);
    assert!(out.status.success(), "{}", stderr(&out));
    let whole = stdout(&run(&[&"dump", &site, &"Post"]));
    assert!(
        // A pipe holds 64 KiB on Linux, and the reader takes up to 8 KiB before closing.
        whole.len() > 72 * 1024,
        "the dump must outgrow a pipe's buffer to meet its closed end: {} bytes",
        whole.len()
    );
    let tmp = TempDir::new().unwrap();
    let mut child = crate::common::command(tmp.path())
        .args([
            std::ffi::OsStr::new("dump"),
            site.as_os_str(),
            "Post".as_ref(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the trellis binary runs");
    // Read one line, as `head -1` would, then close the pipe.
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert_eq!(first, "- model: Post\n");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{:?}: {err}", out.status);
}

#[test]
fn a_dump_loads_back_identically_into_a_fresh_copy() {
    let tmp = TempDir::new().unwrap();
    let (_first_tmp, first) = clean_copy(&blog_dir());
    let out = run(&[&"migrate", &first]);
    assert!(out.status.success(), "{}", stderr(&out));

    let dump = |site: &Path, model: &str| -> String {
        let out = run(&[&"dump", &site, &model]);
        assert!(out.status.success(), "dump {model}: {}", stderr(&out));
        stdout(&out)
    };
    let authors = dump(&first, "Author");
    let tags = dump(&first, "Tag");
    let posts = dump(&first, "Post");
    assert!(
        posts.starts_with("- model: Post\n  pk: 1\n  fields:\n"),
        "{posts}"
    );
    std::fs::write(tmp.path().join("Author.yaml"), &authors).unwrap();
    std::fs::write(tmp.path().join("Tag.yaml"), &tags).unwrap();
    std::fs::write(tmp.path().join("Post.yaml"), &posts).unwrap();

    // A fresh copy without fixtures of its own.
    let (_second_tmp, second) = clean_copy(&blog_dir());
    let yaml = std::fs::read_to_string(second.join("site.yaml")).unwrap();
    let without: String = yaml
        .lines()
        .filter(|l| !l.trim_start().starts_with("fixtures:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(yaml, without, "the blog's site.yaml names its fixtures");
    std::fs::write(second.join("site.yaml"), without).unwrap();
    let out = run(&[
        &"load",
        &second,
        &tmp.path().join("Post.yaml"),
        &tmp.path().join("Author.yaml"),
        &tmp.path().join("Tag.yaml"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("loaded 79 rows (4 Author, 9 Tag, 66 Post)"),
        "{}",
        stdout(&out)
    );

    let a = Connection::open(first.join("blog.sqlite3")).unwrap();
    let b = Connection::open(second.join("blog.sqlite3")).unwrap();
    for table in ["author", "tag", "post", "post_tags"] {
        assert_eq!(rows(&a, table), rows(&b, table), "{table} differs");
    }
    assert_eq!(dump(&second, "Author"), authors);
    assert_eq!(dump(&second, "Tag"), tags);
    assert_eq!(dump(&second, "Post"), posts);
}

// ---------------------------------------------------------------------------------------------
// List view: pagination

#[test]
fn the_list_pages_newest_first() {
    let s = shop();
    let r = s.get("/products/");
    ok(&r);
    assert_eq!(pks(&r), NEWEST_FIRST[..5]);
    for (key, value) in [
        ("number", "1"),
        ("count", "17"),
        ("num_pages", "4"),
        ("has_next", "true"),
        ("has_previous", "false"),
        ("start_index", "1"),
        ("end_index", "5"),
        ("next_page_number", "2"),
        ("previous_page_number", ""),
        ("is_paginated", "true"),
    ] {
        assert_eq!(page_value(&r, key), value, "page.{key}");
    }
    assert_eq!(link(&r, "next").as_deref(), Some("/products/?page=2"));
    assert_eq!(link(&r, "previous"), None);

    let r = s.get("/products/?page=2");
    ok(&r);
    assert_eq!(pks(&r), NEWEST_FIRST[5..10]);
    assert_eq!(page_value(&r, "number"), "2");
    assert_eq!(page_value(&r, "start_index"), "6");
    assert_eq!(page_value(&r, "end_index"), "10");
    assert_eq!(page_value(&r, "previous_page_number"), "1");
    assert_eq!(page_value(&r, "next_page_number"), "3");
    assert_eq!(link(&r, "next").as_deref(), Some("/products/?page=3"));
    assert_eq!(link(&r, "previous").as_deref(), Some("/products/?page=1"));

    for target in ["/products/?page=last", "/products/?page=4"] {
        let r = s.get(target);
        ok(&r);
        assert_eq!(pks(&r), NEWEST_FIRST[15..], "{target}");
        assert_eq!(page_value(&r, "number"), "4");
        assert_eq!(page_value(&r, "has_next"), "false");
        assert_eq!(page_value(&r, "start_index"), "16");
        assert_eq!(page_value(&r, "end_index"), "17");
        assert_eq!(link(&r, "next"), None);
        assert_eq!(link(&r, "previous").as_deref(), Some("/products/?page=3"));
    }
    // An empty `page` is the first page, as `request.GET.get("page") or 1` makes it in Django.
    let r = s.get("/products/?page=");
    ok(&r);
    assert_eq!(pks(&r), NEWEST_FIRST[..5]);

    // A single page is not "paginated".
    let r = s.get("/products/?maker=bolt");
    ok(&r);
    assert_eq!(page_value(&r, "num_pages"), "1");
    assert_eq!(page_value(&r, "is_paginated"), "false");
}

#[test]
fn bad_page_numbers_are_the_sites_404() {
    let s = shop();
    for page in ["0", "-1", "x", "999", "5", "1.5", "2.0", "1e1", "%27"] {
        let r = s.get(&format!("/products/?page={page}"));
        assert_shop_404(&r);
        assert!(
            r.body.contains("nothing lives at <code>/products/</code>"),
            "{}",
            r.body
        );
    }
}

#[test]
fn an_empty_table_is_a_page_unless_allow_empty_is_false() {
    let s = own_shop();
    let r = s.get("/notes/");
    ok(&r);
    assert!(r.body.contains("<p>No notes yet.</p>"), "{}", r.body);
    assert_eq!(page_value(&r, "number"), "1");
    assert_eq!(page_value(&r, "count"), "0");
    // Django's Paginator: with allow_empty_first_page, an empty list still has one page.
    assert_eq!(page_value(&r, "num_pages"), "1");
    assert_eq!(page_value(&r, "has_next"), "false");
    ok(&s.get("/notes/?page=1"));
    ok(&s.get("/notes/?page=last"));
    assert_shop_404(&s.get("/notes/?page=2"));

    assert_shop_404(&s.get("/notes/strict/"));
    assert_shop_404(&s.get("/notes/strict/?page=1"));
    // Once a row exists, the strict list is a page.
    let conn = site_db(&s.path, "shop.sqlite3");
    conn.execute("INSERT INTO note (text) VALUES ('first!')", [])
        .unwrap();
    let r = s.get("/notes/strict/");
    ok(&r);
    assert!(
        r.body.contains("<p class=\"note\">first!</p>"),
        "{}",
        r.body
    );
}

#[test]
fn where_hides_unpublished_rows_on_every_page() {
    let s = shop();
    let mut seen = Vec::new();
    let mut target = Some("/products/".to_string());
    while let Some(t) = target {
        let r = s.get(&t);
        ok(&r);
        seen.extend(pks(&r));
        target = link(&r, "next");
        assert!(seen.len() <= 17, "more rows than published ones: {seen:?}");
    }
    assert_eq!(seen, NEWEST_FIRST);
    for pk in UNPUBLISHED {
        assert!(!seen.contains(&pk));
    }
    // Not even when asked for by a filter or a search.
    let r = s.get("/products/?ids=18,19,1");
    assert_eq!(pks(&r), [1]);
    let r = s.get("/products/?q=widget");
    assert_eq!(pks(&r), Vec::<i64>::new());
    assert!(r.body.contains("<li>No products.</li>"), "{}", r.body);
}

#[test]
fn without_paginate_by_every_row_is_on_one_page() {
    let s = shop();
    let r = s.get("/makers/");
    ok(&r);
    // By name, the model's ordering.
    assert_eq!(pks(&r), [1, 2, 3, 4]);
    assert!(
        r.body.contains(">Acme Tools (sales@acme.example)</li>"),
        "{}",
        r.body
    );
    assert!(r.body.contains(">Bolt &amp; Sons</li>"), "{}", r.body);
    assert!(
        r.body
            .contains("<p id=\"paging\">one page, is_paginated=false</p>"),
        "{}",
        r.body
    );
    // `page` means nothing here.
    assert_eq!(pks(&s.get("/makers/?page=2")), [1, 2, 3, 4]);
}

#[test]
fn a_nul_character_in_a_term_matches_no_row() {
    // GET /products/?q=%00 and /products/?title=%00 list all 17 products (LIKE stops reading
    // the pattern at the NUL, leaving `%`), and /products/?q=vil%00 finds "Anvil" (`%vil`);
    // GET /products/fts/?q=%00 answers 500, logging "unterminated string" from FTS5.
    // No row holds a NUL, so no row should match (or the value should be a 400).
    let s = shop();
    for target in [
        "/products/?q=%00",
        "/products/?q=vil%00",
        "/products/?title=%00",
        "/products/?title=vil%00",
        "/products/fts/?q=%00",
        "/products/fts/?q=anvil%00",
    ] {
        let r = s.get(target);
        assert!(r.status == 200 || r.status == 400, "{target}: {r:?}");
        if r.status == 200 {
            assert_eq!(pks(&r), Vec::<i64>::new(), "{target}");
        }
    }
}

#[test]
fn count_false_paginates_without_counting() {
    let s = shop();
    let r = s.get("/products/nocount/");
    ok(&r);
    assert_eq!(pks(&r), NEWEST_FIRST[..5]);
    assert_eq!(page_value(&r, "number"), "1");
    assert_eq!(page_value(&r, "count"), "");
    assert_eq!(page_value(&r, "num_pages"), "");
    assert_eq!(page_value(&r, "has_next"), "true");
    assert_eq!(
        link(&r, "next").as_deref(),
        Some("/products/nocount/?page=2")
    );

    let r = s.get("/products/nocount/?page=4");
    ok(&r);
    assert_eq!(pks(&r), NEWEST_FIRST[15..]);
    assert_eq!(page_value(&r, "has_next"), "false");
    assert_eq!(page_value(&r, "has_previous"), "true");
    assert_eq!(link(&r, "next"), None);
    assert_eq!(
        link(&r, "previous").as_deref(),
        Some("/products/nocount/?page=3")
    );

    // Without a count there is no knowing the last page.
    for page in ["5", "0", "x", "last"] {
        assert_shop_404(&s.get(&format!("/products/nocount/?page={page}")));
    }
}

#[test]
fn keyset_pagination_continues_after_a_row() {
    let s = shop();
    let r = s.get("/products/keyset/");
    ok(&r);
    assert_eq!(pks(&r), NEWEST_FIRST[..5]);
    assert_eq!(page_value(&r, "has_next"), "true");
    assert_eq!(page_value(&r, "has_previous"), "false");
    assert_eq!(
        link(&r, "next").as_deref(),
        Some("/products/keyset/?after=15")
    );
    assert_eq!(link(&r, "first"), None);
    assert_eq!(page_value(&r, "number"), "");
    assert_eq!(page_value(&r, "count"), "");

    let r = s.get("/products/keyset/?after=15");
    ok(&r);
    assert_eq!(pks(&r), NEWEST_FIRST[5..10]);
    assert_eq!(page_value(&r, "has_previous"), "true");
    // Pages only go forward; the way back is to the first page.
    assert_eq!(link(&r, "previous"), None);
    assert_eq!(link(&r, "first").as_deref(), Some("/products/keyset/"));
    assert_eq!(
        link(&r, "next").as_deref(),
        Some("/products/keyset/?after=12")
    );
    // Other parameters are kept; `page` means nothing here.
    let r = s.get("/products/keyset/?ref=x&after=15&page=3");
    assert_eq!(pks(&r), NEWEST_FIRST[5..10]);
    assert_eq!(
        link(&r, "first").as_deref(),
        Some("/products/keyset/?ref=x")
    );
    assert_eq!(
        link(&r, "next").as_deref(),
        Some("/products/keyset/?ref=x&after=12")
    );
    assert_eq!(pks(&s.get("/products/keyset/?page=2")), NEWEST_FIRST[..5]);
    // Any row of the list is a place to continue from.
    let r = s.get("/products/keyset/?after=1");
    assert_eq!(pks(&r), NEWEST_FIRST[8..13]);

    // Walking the `next` links visits every published row once, in order.
    let mut seen = Vec::new();
    let mut target = Some("/products/keyset/".to_string());
    while let Some(t) = target {
        let r = s.get(&t);
        ok(&r);
        seen.extend(pks(&r));
        target = link(&r, "next");
        assert!(seen.len() <= 17, "{seen:?}");
    }
    assert_eq!(seen, NEWEST_FIRST);

    for after in ["abc", "999", "1.5", "-1", "%27%20OR%201%3D1"] {
        assert_shop_404(&s.get(&format!("/products/keyset/?after={after}")));
    }
    // After the last row there is nothing: 404, like a page number past the end.
    assert_shop_404(&s.get("/products/keyset/?after=4"));
}

/// Keyset pages over an ordering key that may be NULL: `?after=` was a row-value `>` (or `<`)
/// against the cursor row's keys, which is NULL, not true, when either side holds NULL, so
/// the rows with a NULL key were never shown (and after a NULL cursor nothing was). Walking
/// the `next` links must give every row once, in the order SQLite's ORDER BY gives (NULLs
/// first ascending, last descending).
#[test]
fn keyset_pages_over_a_nullable_key_show_every_row_once() {
    let ratings = [
        Some(3),
        None,
        Some(1),
        None,
        Some(3),
        Some(2),
        None,
        Some(1),
        Some(3),
        None,
        Some(2),
    ];
    let mut fixture = String::new();
    for (i, r) in ratings.iter().enumerate() {
        let rating = r.map_or("null".to_string(), |r| r.to_string());
        fixture.push_str(&format!(
            "- {{ model: Score, pk: {}, fields: {{ name: s{i}, rating: {rating} }} }}\n",
            i + 1
        ));
    }
    let dir = write_files(&[
        (
            "site.yaml",
            r#"
site: { database: db.sqlite3, fixtures: [data/scores.yaml] }
models:
  Score:
    fields:
      name: { type: string }
      rating: { type: integer, "null": true }
    ordering: [rating]
routes:
  - { path: "scores/", view: list, model: Score, format: json, paginate_by: 3, keyset: true, ordering_fields: [rating] }
"#,
        ),
        ("data/scores.yaml", &fixture),
    ]);
    let s = Local::load(&dir.path);
    let db = Connection::open(dir.path.join("db.sqlite3")).unwrap();
    for (ordering, sql) in [
        ("rating", "SELECT id FROM score ORDER BY rating, id"),
        (
            "-rating",
            "SELECT id FROM score ORDER BY rating DESC, id DESC",
        ),
    ] {
        let want: Vec<i64> = db
            .prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(want.len(), ratings.len());
        let mut seen: Vec<i64> = Vec::new();
        let mut target = Some(format!("/scores/?ordering={ordering}"));
        while let Some(t) = target {
            let r = s.get(&t);
            assert_eq!(r.status, 200, "{t}: {}", r.body);
            let body: Value = serde_json::from_str(&r.body).unwrap();
            seen.extend(
                body["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|row| row["id"].as_i64().unwrap()),
            );
            target = body["next"].as_str().map(str::to_string);
            assert!(seen.len() <= ratings.len(), "{ordering}: {seen:?}");
        }
        assert_eq!(seen, want, "?ordering={ordering}");
    }
}

#[test]
fn keyset_after_a_hidden_row_is_404() {
    // GET /products/keyset/?after=19 (an unpublished product) answers 200 with the first page
    // and has_previous=true, while ?after=999 is a 404: the cursor reveals which hidden rows
    // exist. A row the list does not show is unknown to it.
    let s = shop();
    for pk in UNPUBLISHED {
        assert_shop_404(&s.get(&format!("/products/keyset/?after={pk}")));
    }
}

#[test]
fn ordering_by_declared_fields_and_ignoring_others() {
    let s = shop();
    // SQLite compares text byte by byte: digits, then upper case, then lower case.
    for (ordering, first_page) in [
        ("title", [10, 9, 1, 2, 3]),
        ("-title", [11, 12, 15, 14, 13]),
        // Ties (price 2: Funnel and the pin) are broken by the primary key.
        ("price", [11, 6, 12, 3, 2]),
        ("-price", [4, 1, 5, 14, 13]),
        ("-price,title", [4, 1, 5, 14, 13]),
    ] {
        let r = s.get(&format!("/products/?ordering={}", enc(ordering)));
        ok(&r);
        assert_eq!(pks(&r), first_page, "ordering={ordering}");
        assert_eq!(page_value(&r, "count"), "17");
    }
    let r = s.get("/products/?ordering=title&page=last");
    assert_eq!(pks(&r), [12, 11]);

    // Fields not in ordering_fields, unknown fields and junk leave the default ordering.
    for ordering in [
        "created_at",
        "-slug",
        "published",
        "nope",
        "title,nope",
        "",
        "-",
        "--title",
        "title DESC",
    ] {
        let r = s.get(&format!("/products/?ordering={}", enc(ordering)));
        ok(&r);
        assert_eq!(pks(&r), NEWEST_FIRST[..5], "ordering={ordering}");
    }
}

#[test]
fn next_and_previous_links_keep_the_other_parameters() {
    let s = shop();
    let base = "/products/?q=e&ordering=-price&ref=a%26b";
    let r = s.get(base);
    ok(&r);
    assert_eq!(page_value(&r, "count"), "11");
    assert_eq!(page_value(&r, "num_pages"), "3");
    let next = link(&r, "next").expect("a next link");
    assert_eq!(next, "/products/?q=e&ordering=-price&ref=a%26b&page=2");

    let r2 = s.get(&next);
    ok(&r2);
    assert_eq!(page_value(&r2, "number"), "2");
    assert_eq!(pks(&r2), pks(&s.get(&format!("{base}&page=2"))));
    let previous = link(&r2, "previous").expect("a previous link");
    assert_eq!(previous, "/products/?q=e&ordering=-price&ref=a%26b&page=1");
    assert_eq!(pks(&s.get(&previous)), pks(&r));
    // The same search and order on every page: no row twice, none missing.
    let r3 = s.get(&link(&r2, "next").expect("a third page"));
    let mut all: Vec<i64> = [pks(&r), pks(&r2), pks(&r3)].concat();
    assert_eq!(all.len(), 11);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 11);
    // A page number given twice: the last one counts, as with Django's QueryDict.get.
    let r = s.get("/products/?page=3&q=e&page=2");
    assert_eq!(page_value(&r, "number"), "2");
    assert_eq!(link(&r, "next").as_deref(), Some("/products/?q=e&page=3"));
}

#[test]
fn rows_written_while_serving_show_up_at_once() {
    let s = own_shop();
    assert_eq!(page_value(&s.get("/products/"), "count"), "17");
    assert_eq!(pks(&s.get("/products/fts/?q=lantern")), Vec::<i64>::new());
    let conn = site_db(&s.path, "shop.sqlite3");
    conn.execute(
        "INSERT INTO product (id, title, slug, description, price, published, created_at, maker_id) \
         VALUES (30, 'Lantern', 'lantern', 'A brass lantern', 9, 1, '2026-02-01T00:00:00', 4)",
        [],
    )
    .unwrap();
    let r = s.get("/products/");
    assert_eq!(page_value(&r, "count"), "18");
    assert_eq!(pks(&r)[0], 30);
    assert_eq!(pks(&s.get("/products/fts/?q=lantern")), [30]);
    ok(&s.get("/products/30/"));

    // `trellis load` against the served database, too.
    let fixture = s.path.join("more.yaml");
    std::fs::write(
        &fixture,
        "- model: Product\n  pk: 31\n  fields: { title: Ladder, slug: ladder, price: 60, created_at: \"2026-03-01T00:00:00\", maker: 4 }\n",
    )
    .unwrap();
    let out = run(&[&"load", &s.path, &fixture]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = s.get("/products/");
    assert_eq!(page_value(&r, "count"), "19");
    assert_eq!(pks(&r)[..2], [31, 30]);
    let r = s.get("/makers/dormant/");
    assert_eq!(pks(&r), [31, 30]);
}

// ---------------------------------------------------------------------------------------------
// Search

#[test]
fn search_is_a_case_insensitive_substring_over_the_declared_fields() {
    let s = shop();
    for (q, expected) in [
        ("anvil", vec![1]),
        ("ANVIL", vec![1]),
        ("aNvIl", vec![1]),
        ("pure", vec![10, 9]),
        // In the description only.
        ("beeswax", vec![3]),
        ("SMELL", vec![3]),
        // Unpublished rows stay hidden (Secret anvil says "heavy" too).
        ("heavy", vec![1]),
        // Terms are trimmed; a blank term is no search.
        ("  anvil  ", vec![1]),
        // Not the slug, which is not searched.
        ("snake-sticker", vec![]),
    ] {
        let r = s.get(&format!("/products/?q={}", enc(q)));
        ok(&r);
        assert_eq!(pks(&r), expected, "q={q:?}");
        assert_eq!(
            page_value(&r, "count"),
            expected.len().to_string(),
            "q={q:?}"
        );
    }
    let r = s.get("/products/?q=%20%20");
    assert_eq!(page_value(&r, "count"), "17");
    // The template sees the term.
    let r = s.get("/products/?q=Anvil");
    assert!(
        r.body.contains("<p id=\"search\">search=[Anvil]</p>"),
        "{}",
        r.body
    );
}

#[test]
fn search_terms_with_wildcards_and_quotes_match_only_literally() {
    let s = shop();
    // Each term has a look-alike row that an unescaped LIKE (or broken quoting) would match:
    // "100 pure soap" for %, "snake-case pin" for _, "its cousin" for ', "backslash hook" for \.
    for (q, expected) in [
        ("100%", vec![9]),
        ("%", vec![9]),
        ("% pure", vec![9]),
        ("snake_case", vec![11]),
        ("_", vec![11]),
        ("e_c", vec![11]),
        ("it's", vec![13]),
        // The description of 1 holds `alert('pwned')` and `src="x.png"`.
        ("'", vec![1, 13]),
        ("\"hi\"", vec![15]),
        ("\"", vec![15, 1]),
        ("back\\slash", vec![16]),
        ("\\", vec![16]),
        ("\\%", vec![]),
        ("''", vec![]),
        ("%%", vec![]),
        ("__", vec![]),
    ] {
        for route in ["/products/", "/api/products/"] {
            let r = s.get(&format!("{route}?q={}", enc(q)));
            let got = if route.starts_with("/api") {
                ids(&json(&r)["results"])
            } else {
                ok(&r);
                pks(&r)
            };
            assert_eq!(got, expected, "{route}?q={q:?}");
        }
    }
}

#[test]
fn full_text_search_finds_words() {
    let s = own_shop();
    for (q, expected) in [
        ("anvil", vec![1]),
        ("ANVIL", vec![1]),
        // Every word, anywhere in the title or description.
        ("anvil heavy", vec![1]),
        ("heavy workshop", vec![1]),
        ("honey", vec![3, 9]),
        // Words, not substrings: "smell" is not "smells".
        ("smell", vec![]),
        ("smells", vec![3]),
        ("widget", vec![]),
        // FTS5 syntax in the term is taken as words.
        ("anvil OR candle", vec![]),
        ("NEAR(anvil heavy)", vec![]),
        ("anv*", vec![]),
        ("\"", vec![]),
        ("AND", vec![]),
        ("title:anvil", vec![]),
    ] {
        let r = s.get(&format!("/products/fts/?q={}", enc(q)));
        ok(&r);
        assert_eq!(pks(&r), expected, "fts q={q:?}");
    }
    // The substring search does not find words apart.
    assert_eq!(pks(&s.get("/products/?q=anvil%20heavy")), Vec::<i64>::new());

    // Accents: the FTS index ignores them, LIKE compares non-ASCII letters as they are.
    let conn = site_db(&s.path, "shop.sqlite3");
    conn.execute(
        "INSERT INTO product (id, title, slug, price, published, created_at, maker_id) \
         VALUES (40, 'Épée rack', 'epee-rack', 45, 1, '2026-01-20T12:00:00', 1)",
        [],
    )
    .unwrap();
    for q in ["epee", "ÉPÉE", "épée"] {
        assert_eq!(
            pks(&s.get(&format!("/products/fts/?q={}", enc(q)))),
            [40],
            "fts q={q}"
        );
    }
    assert_eq!(pks(&s.get("/products/?q=%C3%89p%C3%A9e")), [40]);
    assert_eq!(pks(&s.get("/products/?q=epee")), Vec::<i64>::new());
}

// ---------------------------------------------------------------------------------------------
// Filters

#[test]
fn filters_with_lookups_and_through_a_foreign_key() {
    let s = shop();
    for (query, expected) in [
        // exact on an integer
        ("price=2", vec![12, 6]),
        ("price=%2B2", vec![12, 6]),
        ("price=999", vec![]),
        // gt
        ("min_price=30", vec![5, 14, 1, 4]),
        ("min_price=80", vec![]),
        // icontains
        ("title=ANV", vec![1]),
        ("title=case", vec![12, 11]),
        ("title=%25", vec![9]),
        ("title=_", vec![11]),
        // in: comma-separated or repeated
        ("ids=1,2,3", vec![3, 1, 2]),
        ("ids=1&ids=2", vec![1, 2]),
        ("ids=1,%202%20,", vec![1, 2]),
        // through the foreign key
        ("maker=bolt", vec![3, 8, 6, 4]),
        ("maker=acme", vec![5, 1, 7, 2]),
        ("maker=dormant", vec![]),
        ("maker=nobody", vec![]),
        ("maker=BOLT", vec![]),
        // combined with each other and with search
        ("maker=acme&min_price=20", vec![5, 1, 7]),
        ("maker=cobalt&q=pure", vec![10, 9]),
        ("maker=bolt&ordering=title", vec![3, 4, 6, 8]),
        // an empty value is no filter
        ("maker=", NEWEST_FIRST[..5].to_vec()),
        ("price=", NEWEST_FIRST[..5].to_vec()),
    ] {
        let r = s.get(&format!("/products/?{query}"));
        ok(&r);
        assert_eq!(pks(&r), expected, "?{query}");
    }
    // Filters on the JSON list too.
    let v = json(&s.get("/api/products/?maker=bolt"));
    assert_eq!(ids(&v["results"]), [3, 8, 6, 4]);
    assert_eq!(v["count"], 4);
}

#[test]
fn an_invalid_filter_value_is_400_naming_the_parameter() {
    let s = shop();
    for (query, param) in [
        ("price=abc", "price"),
        ("price=1.5", "price"),
        ("min_price=x", "min_price"),
        ("min_price=99999999999999999999", "min_price"),
        ("ids=1,x", "ids"),
        ("ids=1&ids=two", "ids"),
    ] {
        let r = s.get(&format!("/products/?{query}"));
        assert_shop_400(&r, param);
        assert!(
            unescape(&r.body).contains("expected an integer"),
            "{}",
            r.body
        );
    }
    // Undeclared parameters are not filters.
    ok(&s.get("/products/?published=false&slug=anvil&id=1"));
    assert_eq!(pks(&s.get("/products/?published=false")), NEWEST_FIRST[..5]);
}

// ---------------------------------------------------------------------------------------------
// Detail view

#[test]
fn detail_by_pk_and_by_slug_with_the_foreign_key_and_sanitised_markdown() {
    let s = shop();
    for target in ["/products/1/", "/products/s/anvil/"] {
        let r = s.get(target);
        ok(&r);
        assert!(
            r.body.contains("<h1 id=\"title\">Anvil</h1>"),
            "{target}: {}",
            r.body
        );
        assert!(r.body.contains("<title>Anvil · Shop</title>"), "{}", r.body);
        assert!(
            r.body
                .contains("<p id=\"maker\">Made by <a href=\"/makers/acme/\">Acme Tools</a></p>"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("<p id=\"price\">Price: 50</p>"),
            "{}",
            r.body
        );
        // Markdown as HTML; raw HTML that could run script is gone.
        assert!(
            r.body
                .contains("<p>A <strong>heavy</strong> anvil for the workshop.</p>"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains(
                "<a href=\"https://example.com/acme\" rel=\"noopener noreferrer\">the maker</a>"
            ),
            "{}",
            r.body
        );
        let lower = r.body.to_lowercase();
        assert!(!lower.contains("<script"), "{}", r.body);
        assert!(!lower.contains("onerror"), "{}", r.body);
        assert!(!r.body.contains("alert("), "{}", r.body);
    }
    // An escaped title in the page, a maker with an ampersand.
    let r = s.get("/products/15/");
    ok(&r);
    assert!(
        r.body
            .contains("<h1 id=\"title\">say &quot;hi&quot; mug</h1>"),
        "{}",
        r.body
    );
    let r = s.get("/products/3/");
    assert!(r.body.contains(">Bolt &amp; Sons</a>"), "{}", r.body);
    // A product without a description renders an empty one.
    let r = s.get("/products/2/");
    assert!(
        r.body.contains("<div id=\"description\"></div>"),
        "{}",
        r.body
    );
    // A `str` capture looks up by name.
    let r = s.get("/makers/by-name/Bolt%20%26%20Sons/");
    ok(&r);
    assert!(
        r.body.contains("<h1 id=\"name\">Bolt &amp; Sons</h1>"),
        "{}",
        r.body
    );
}

#[test]
fn unknown_and_unpublished_rows_are_the_sites_404() {
    let s = shop();
    for target in [
        "/products/999/",
        "/products/0/",
        "/products/18/",
        "/products/19/",
        "/products/s/draft-widget/",
        "/products/s/secret-anvil/",
        "/products/s/nope/",
        "/products/99999999999999999999/",
        "/makers/nobody/",
        "/makers/by-name/Nobody/",
        "/makers/by-name/acme/",
    ] {
        let r = s.get(target);
        assert_shop_404(&r);
        assert!(
            r.body
                .contains(&format!("nothing lives at <code>{target}</code>")),
            "{target}: {}",
            r.body
        );
    }
}

#[test]
fn a_reverse_relation_lists_only_published_rows() {
    let s = shop();
    let r = s.get("/makers/bolt/");
    ok(&r);
    assert!(
        r.body.contains("<h1 id=\"name\">Bolt &amp; Sons</h1>"),
        "{}",
        r.body
    );
    // Newest first (Product's ordering); Secret anvil (unpublished) is left out.
    assert_eq!(pks(&r), [3, 8, 6, 4]);
    assert!(r.body.contains(">Candle</li>"), "{}", r.body);
    assert!(!r.body.contains("Secret"), "{}", r.body);

    let r = s.get("/makers/acme/");
    assert_eq!(pks(&r), [5, 1, 7, 2]);
    assert!(!r.body.contains("Draft"), "{}", r.body);

    let r = s.get("/makers/dormant/");
    ok(&r);
    assert_eq!(pks(&r), Vec::<i64>::new());
    assert!(r.body.contains("<li>No products yet.</li>"), "{}", r.body);
}

// ---------------------------------------------------------------------------------------------
// JSON

#[test]
fn json_lists_and_details() {
    let s = shop();
    let r = s.get("/api/products/");
    let v = json(&r);
    assert_eq!(ids(&v["results"]), NEWEST_FIRST[..5]);
    assert_eq!(v["count"], 17);
    assert_eq!(v["num_pages"], 4);
    assert_eq!(v["page"], 1);
    assert_eq!(v["next"], "/api/products/?page=2");
    assert_eq!(v["previous"], Value::Null);
    let first = &v["results"][0];
    assert_eq!(first["title"], "backslash hook");
    assert_eq!(first["slug"], "backslash-hook");
    assert_eq!(first["price"], 21);
    assert_eq!(first["published"], true);
    assert_eq!(first["created_at"], "2026-01-17T12:00:00Z");
    assert_eq!(first["maker"]["name"], "Cobalt Co");
    assert_eq!(first["maker"]["slug"], "cobalt");
    assert_eq!(first["maker_id"], 3);

    let v = json(&s.get("/api/products/?page=last"));
    assert_eq!(ids(&v["results"]), NEWEST_FIRST[15..]);
    assert_eq!(v["page"], 4);
    assert_eq!(v["next"], Value::Null);
    assert_eq!(v["previous"], "/api/products/?page=3");

    let v = json(&s.get("/api/products/?q=e&page=2"));
    assert_eq!(v["count"], 11);
    assert_eq!(v["page"], 2);
    assert_eq!(v["next"], "/api/products/?q=e&page=3");
    assert_eq!(v["previous"], "/api/products/?q=e&page=1");

    let v = json(&s.get("/api/products/?q=nothing-like-this"));
    assert_eq!(v["results"], serde_json::json!([]));
    assert_eq!(v["count"], 0);
    assert_eq!(v["num_pages"], 1);
    assert_eq!(s.get("/api/products/?page=9").status, 404);

    let r = s.get("/api/products/1/");
    let v = json(&r);
    assert_eq!(v["id"], 1);
    assert_eq!(v["title"], "Anvil");
    assert_eq!(v["price"], 50);
    assert_eq!(v["published"], true);
    assert_eq!(v["maker"]["name"], "Acme Tools");
    assert_eq!(v["maker"]["email"], "sales@acme.example");
    // The description as written (JSON is not HTML).
    assert!(
        v["description"]
            .as_str()
            .unwrap()
            .starts_with("A **heavy** anvil"),
        "{v}"
    );
    let v = json(&s.get("/api/products/15/"));
    assert_eq!(v["title"], "say \"hi\" mug");
    let v = json(&s.get("/api/products/16/"));
    assert_eq!(v["title"], "back\\slash rack");
    assert_eq!(s.get("/api/products/18/").status, 404);
    assert_eq!(s.get("/api/products/999/").status, 404);

    // Related rows of a JSON detail sit inside the object.
    let v = json(&s.get("/api/makers/bolt/"));
    assert_eq!(v["name"], "Bolt & Sons");
    assert_eq!(v["email"], Value::Null);
    let titles: Vec<&str> = v["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Candle", "Drill", "Funnel", "Hammer"]);
}

// ---------------------------------------------------------------------------------------------
// SQL injection

const INJECTIONS: [&str; 8] = [
    "' OR 1=1 --",
    "1; DROP TABLE product",
    "1; DROP TABLE product; --",
    "%' --",
    "\") UNION SELECT * FROM maker --",
    "1) OR (1=1",
    "1 OR 1=1",
    "title; DROP TABLE maker",
];

#[test]
fn sql_injection_attempts_are_ordinary_values() {
    let s = shop();
    let default_page = pks(&s.get("/products/"));
    // What the views log while answering: no request may end in a 500.
    let ((), log) = logged(|| {
        for evil in INJECTIONS {
            let e = enc(evil);
            // Searched or compared as text: no row holds it.
            for param in ["q", "maker", "title"] {
                let r = s.get(&format!("/products/?{param}={e}"));
                ok(&r);
                assert_eq!(pks(&r), Vec::<i64>::new(), "{param}={evil:?}");
                assert_eq!(page_value(&r, "count"), "0", "{param}={evil:?}");
            }
            let v = json(&s.get(&format!("/api/products/?q={e}")));
            assert_eq!(v["count"], 0, "api q={evil:?}");
            let r = s.get(&format!("/products/fts/?q={e}"));
            ok(&r);
            assert_eq!(pks(&r), Vec::<i64>::new(), "fts q={evil:?}");
            // Not an integer: 400 for an integer filter, 404 for a page or a cursor.
            for param in ["price", "min_price", "ids"] {
                assert_shop_400(&s.get(&format!("/products/?{param}={e}")), param);
            }
            assert_shop_404(&s.get(&format!("/products/?page={e}")));
            assert_shop_404(&s.get(&format!("/products/nocount/?page={e}")));
            assert_shop_404(&s.get(&format!("/products/keyset/?after={e}")));
            // Not a declared ordering field: ignored.
            let r = s.get(&format!("/products/?ordering={e}"));
            ok(&r);
            assert_eq!(pks(&r), default_page, "ordering={evil:?}");
            // As a parameter's name: ignored.
            let r = s.get(&format!("/products/?{e}=1"));
            ok(&r);
            assert_eq!(pks(&r), default_page, "name {evil:?}");
            // In path captures.
            assert_shop_404(&s.get(&format!("/makers/by-name/{e}/")));
            assert_shop_404(&s.get(&format!("/makers/{e}/")));
            assert_shop_404(&s.get(&format!("/products/s/{e}/")));
            assert_shop_404(&s.get(&format!("/products/{e}/")));
            assert_eq!(s.get(&format!("/api/makers/{e}/")).status, 404);
        }
        // A real name through the same `str` capture still works.
        ok(&s.get("/makers/by-name/Acme%20Tools/"));
    });
    assert!(!log.contains("Internal Server Error"), "{log}");

    let conn = site_db(&s.path, "shop.sqlite3");
    let t = tables(&conn);
    for name in ["maker", "product", "note", "product_fts"] {
        assert!(t.contains(name), "table {name} is gone: {t:?}");
    }
    assert_eq!(count(&conn, "product"), 19);
    assert_eq!(count(&conn, "maker"), 4);
    assert_eq!(count(&conn, "note"), 0);
    assert_eq!(pks(&s.get("/products/")), default_page);
}

// ---------------------------------------------------------------------------------------------
// The example site

#[test]
fn the_blog_serves_its_posts_authors_and_json() {
    let s = blog();
    let conn = site_db(s.site_path(), "blog.sqlite3");
    assert_eq!(count(&conn, "author"), 4);
    assert_eq!(count(&conn, "post"), 66);
    let published: i64 = conn
        .query_row("SELECT count(*) FROM post WHERE published", [], |r| {
            r.get(0)
        })
        .unwrap();
    let pages = (published + 9) / 10;

    let r = s.get("/");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location"), Some("/blog/"));

    let r = s.get("/blog/");
    ok(&r);
    assert!(r.body.contains("<h1>Latest posts</h1>"), "{}", r.body);
    assert!(r.body.contains(&format!("Page 1 of {pages}")), "{}", r.body);
    assert!(
        r.body.contains(&format!("Posts 1–10 of {published}")),
        "{}",
        r.body
    );
    assert_eq!(
        r.body.matches("<article class=\"post-summary\">").count(),
        10
    );
    assert!(!r.body.contains("Draft:"), "{}", r.body);
    let r = s.get("/blog/?page=last");
    assert!(
        r.body.contains(&format!("Page {pages} of {pages}")),
        "{}",
        r.body
    );
    assert_eq!(s.get("/blog/?page=0").status, 404);

    // A post: its title, its author through the foreign key, its Markdown body as HTML.
    let (id, title, slug, body, author): (i64, String, String, String, String) = conn
        .query_row(
            "SELECT post.id, title, post.slug, body, author.name FROM post JOIN author ON author.id = post.author_id \
             WHERE published ORDER BY post.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    for target in [format!("/blog/{id}/"), format!("/blog/post/{slug}/")] {
        let r = s.get(&target);
        ok(&r);
        let text = unescape(&r.body);
        assert!(
            text.contains(&format!("<h1>{title}</h1>")),
            "{target}: {}",
            r.body
        );
        assert!(
            text.contains(&format!(">{author}</a>")),
            "{target}: {}",
            r.body
        );
        assert!(
            r.body.contains("<div class=\"body\">\n    <p>"),
            "{target}: {}",
            r.body
        );
        if body.contains("\n## ") {
            assert!(r.body.contains("<h2>"), "{target}: {}", r.body);
            assert!(!r.body.contains("\n## "), "{target}: {}", r.body);
        }
    }

    // A draft is a 404 with the blog's own page.
    let draft: i64 = conn
        .query_row("SELECT id FROM post WHERE NOT published LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let r = s.get(&format!("/blog/{draft}/"));
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<h1>Page not found</h1>"), "{}", r.body);
    assert_eq!(s.get(&format!("/blog/api/posts/{draft}/")).status, 404);

    // An author, with their published posts only.
    let (author_id, name, author_slug): (i64, String, String) = conn
        .query_row(
            "SELECT id, name, slug FROM author ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let theirs: i64 = conn
        .query_row(
            "SELECT count(*) FROM post WHERE published AND author_id = ?1",
            [author_id],
            |r| r.get(0),
        )
        .unwrap();
    let r = s.get(&format!("/blog/author/{author_slug}/"));
    ok(&r);
    assert!(
        unescape(&r.body).contains(&format!("<h1>{name}</h1>")),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(&format!("<h2>{theirs} posts</h2>")),
        "{}",
        r.body
    );
    assert_eq!(r.body.matches("<li>").count() as i64, theirs);
    assert!(!r.body.contains("Draft"), "{}", r.body);
    assert_eq!(s.get("/blog/author/nobody/").status, 404);

    let v = json(&s.get("/blog/api/posts/"));
    assert_eq!(v["count"], published);
    assert_eq!(v["num_pages"], pages);
    assert_eq!(v["page"], 1);
    assert_eq!(v["results"].as_array().unwrap().len(), 10);
    assert_eq!(v["next"], "/blog/api/posts/?page=2");
    let newest: String = conn
        .query_row(
            "SELECT title FROM post WHERE published ORDER BY created_at DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v["results"][0]["title"], newest.as_str());
    let v = json(&s.get(&format!("/blog/api/posts/{id}/")));
    assert_eq!(v["title"], title.as_str());
    assert_eq!(v["author"]["name"], author.as_str());
    assert_eq!(v["body"], body.as_str());

    // The content pages the benchmarks measure: a tag, a month of the archive, the feed.
    let tagged: i64 = conn
        .query_row(
            "SELECT count(*) FROM post JOIN post_tags ON post_tags.post_id = post.id \
             JOIN tag ON tag.id = post_tags.tag_id WHERE published AND tag.slug = 'rust'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let r = s.get("/blog/tag/rust/");
    ok(&r);
    assert!(
        r.body.contains("<h1>Posts tagged “Rust”</h1>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(&format!(" of {tagged}</p>")),
        "{tagged} posts: {}",
        r.body
    );
    assert_eq!(s.get("/blog/tag/no-such-tag/").status, 404);
    let in_march: i64 = conn
        .query_row(
            "SELECT count(*) FROM post WHERE published AND created_at LIKE '2025-03-%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let r = s.get("/blog/archive/2025/3/");
    ok(&r);
    assert!(
        r.body.contains("<h1>Posts of March 2025</h1>"),
        "{}",
        r.body
    );
    assert_eq!(
        r.body.matches("<article class=\"post-summary\">").count() as i64,
        in_march.min(10)
    );
    let r = s.get("/blog/feed/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    assert_eq!(r.body.matches("<entry>").count(), 20);
    assert!(
        unescape(&r.body).contains(&format!("<title>{newest}</title>")),
        "{}",
        r.body
    );
}

#[test]
fn the_blog_lists_show_each_posts_title() {
    // A partial's hash shadows row fields in handlebars-rust: with `{{#> layouts/base
    // title=…}}`, every `{{title}}` inside `{{#each objects}}` was the hash value ("Posts",
    // the search term, the author's name). The layouts take `page_title` now.
    let s = blog();
    let conn = site_db(s.site_path(), "blog.sqlite3");
    let newest: (i64, String) = conn
        .query_row(
            "SELECT id, title FROM post WHERE published ORDER BY created_at DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let r = s.get("/blog/");
    let line = format!("<h2><a href=\"/blog/{}/\">{}</a></h2>", newest.0, newest.1);
    assert!(
        unescape(&r.body).contains(&line),
        "expected {line}: {}",
        r.body
    );
    let r = s.get("/blog/?q=rust");
    assert!(!r.body.contains(">rust</a></h2>"), "{}", r.body);
    let (id, title, slug): (i64, String, String) = conn
        .query_row(
            "SELECT post.id, title, author.slug FROM post JOIN author ON author.id = post.author_id \
             WHERE published ORDER BY post.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let r = s.get(&format!("/blog/author/{slug}/"));
    let line = format!("<a href=\"/blog/{id}/\">{title}</a>");
    assert!(
        unescape(&r.body).contains(&line),
        "expected {line}: {}",
        r.body
    );
}

#[test]
fn dropping_a_model_with_allow_destructive_deletes_no_rows_of_other_tables() {
    // Regression: DROP TABLE fired ON DELETE CASCADE in the table pointing at the dropped one,
    // emptying it while the output spoke only of the dropped table.
    let site = write_files(&[
        ("site.yaml", "site: { database: db.sqlite3 }\nmodels:\n  Author:\n    fields:\n      name: { type: string }\n  Post:\n    fields:\n      title: { type: string }\n      author: { type: foreign_key, to: Author, on_delete: cascade }\n"),
        ("rows.yaml", "- { model: Author, pk: 1, fields: { name: Ada } }\n- { model: Post, pk: 1, fields: { title: One, author: 1 } }\n- { model: Post, pk: 2, fields: { title: Two, author: 1 } }\n"),
    ]);
    assert!(run(&[&"load", &site.path, &site.path.join("rows.yaml")])
        .status
        .success());
    // The model and the foreign key to it both go.
    write_yaml(&site, "site: { database: db.sqlite3 }\nmodels:\n  Post:\n    fields:\n      title: { type: string }\n");
    let out = migrate(&site, &["--allow-destructive"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let conn = Connection::open(site.path.join("db.sqlite3")).unwrap();
    assert_eq!(count(&conn, "post"), 2);
    assert!(!tables(&conn).contains("author"));
}

#[test]
fn dropping_a_model_still_pointed_at_is_refused() {
    let site = write_files(&[
        ("site.yaml", "site: { database: db.sqlite3 }\nmodels:\n  Author:\n    fields:\n      name: { type: string }\n  Post:\n    fields:\n      title: { type: string }\n      author: { type: foreign_key, to: Author, null: true, on_delete: set_null }\n"),
        ("rows.yaml", "- { model: Author, pk: 1, fields: { name: Ada } }\n- { model: Post, pk: 1, fields: { title: One, author: 1 } }\n"),
    ]);
    assert!(run(&[&"load", &site.path, &site.path.join("rows.yaml")])
        .status
        .success());
    // Author goes while Post's foreign key changes target: refused, and nothing changes.
    std::fs::write(site.path.join("site.yaml"), "site: { database: db.sqlite3 }\nmodels:\n  Post:\n    fields:\n      title: { type: string }\n      author: { type: foreign_key, to: Post, null: true, on_delete: set_null }\n").unwrap();
    let out = migrate(&site, &["--allow-destructive"]);
    assert!(!out.status.success());
    let conn = Connection::open(site.path.join("db.sqlite3")).unwrap();
    assert!(
        tables(&conn).contains("author"),
        "the refused migration changed nothing"
    );
    assert_eq!(count(&conn, "post"), 1);
}

// ---------------------------------------------------------------------------------------------
// Markdown HTML is built only for templates that show it

#[test]
fn markdown_html_reaches_a_template_through_nested_partials() {
    // `FIELD_html` is skipped for templates that never mention it; a list whose rows show it
    // only inside a partial of a partial must still get it, and a page that does not show it
    // still renders the row's plain fields.
    let site = write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3, fixtures: [notes.yaml] }\nmodels:\n  Note:\n    fields:\n      title: { type: string, max_length: 50 }\n      body: { type: text, format: markdown }\nroutes:\n  - { path: \"\", name: shown, view: list, model: Note, template: shown.hbs }\n  - { path: \"plain/\", name: plain, view: list, model: Note, template: plain.hbs }\n  - { path: \"<int:pk>/\", name: one, view: detail, model: Note, template: one.hbs }\n",
        ),
        ("notes.yaml", "- model: Note\n  pk: 1\n  fields: { title: First, body: \"Some *emphasis*\" }\n"),
        ("templates/shown.hbs", "{{#each objects}}{{> row}}{{/each}}"),
        ("templates/row.hbs", "<li>{{title}}: {{> body}}</li>"),
        ("templates/body.hbs", "{{{body_html}}}"),
        ("templates/plain.hbs", "{{#each objects}}<li>{{title}}: {{body}}</li>{{/each}}"),
        ("templates/one.hbs", "{{object.title}}{{#with object}}{{> body}}{{/with}}"),
    ]);
    let server = Local::load(&site.path);
    let r = server.get("/");
    ok(&r);
    assert_eq!(r.body, "<li>First: <p>Some <em>emphasis</em></p>\n</li>");
    let r = server.get("/plain/");
    ok(&r);
    assert_eq!(r.body, "<li>First: Some *emphasis*</li>");
    let r = server.get("/1/");
    ok(&r);
    assert_eq!(r.body, "First<p>Some <em>emphasis</em></p>\n");
}
