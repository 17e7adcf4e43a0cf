//! Live reload and `trellis new`, with real files in a temporary folder and a real running
//! server. A saved template or site.yaml reloads the site; a model change migrates the
//! database; a change that does not load or migrate (broken YAML, an unknown template, a
//! refused migration) is printed with its place while the previous site goes on serving, until
//! a good save; `--no-reload` serves what it loaded; `--live` adds the polling script, the
//! generation endpoint and the error overlay; requests made during reloads all succeed;
//! `trellis new` makes a site that checks and serves.
//!
//! A reload is awaited on the server's log (`reloaded in`, `reload failed`), never with a
//! sleep; the harness's wait is a guard against a hang, not a timing assertion. (The one pause,
//! in the test of a write that must not reload, only gives a wrong reload time to show: a
//! correct server passes it whatever the pause.)

use crate::common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::{command, trellis, write_files, write_site, Resp, Server};
use rusqlite::Connection;
use serde_json::{json, Value};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Helpers

/// What the server logs after a good reload (`reloaded in N ms (R routes)`).
const RELOADED: &str = "reloaded in ";
/// What it logs after a change that does not load or migrate.
const FAILED: &str = "reload failed; the previous site goes on serving";
/// The path the `--live` script polls.
const LIVE: &str = "/__trellis/live";

/// Save a file of the site a server serves (path relative to the site folder).
fn save(s: &Server, rel: &str, text: &str) {
    let path = s.site_path().join(rel);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Wait until the server has finished `good + bad` reloads, and insist that exactly `good` of
/// them succeeded and `bad` failed (so that an unexpected outcome fails at once, with the
/// log, instead of waiting in vain). Returns the log.
fn reloads(s: &Server, good: usize, bad: usize) -> String {
    let log = s.wait_until(&format!("{} reloads", good + bad), |log| {
        log.matches(RELOADED).count() + log.matches(FAILED).count() >= good + bad
    });
    assert_eq!(
        (log.matches(RELOADED).count(), log.matches(FAILED).count()),
        (good, bad),
        "expected {good} good and {bad} failed reloads; the log:\n{log}"
    );
    log
}

/// The diagnostics printed for the last failed reload: the log between the line of the
/// reload before it (if any) and its own `reload failed` line.
fn last_failure(log: &str) -> &str {
    let end = log.rfind(FAILED).expect("a failed reload");
    let before = &log[..end];
    let start = [before.rfind(RELOADED), before.rfind(FAILED)]
        .into_iter()
        .flatten()
        .max()
        .map_or(0, |i| i + before[i..].find('\n').map_or(0, |n| n + 1));
    &log[start..end]
}

/// A 200 HTML page.
fn page(s: &Server, target: &str) -> Resp {
    let r = s.get(target);
    assert_eq!(r.status, 200, "GET {target}: {r:?}");
    assert_eq!(r.mime(), "text/html", "GET {target}: {r:?}");
    r
}

/// The text of `<p id="v">…</p>` on a 200 page.
fn version(s: &Server, target: &str) -> String {
    let r = page(s, target);
    version_of(&r.body).unwrap_or_else(|| panic!("no <p id=\"v\"> on {target}: {}", r.body))
}

fn version_of(body: &str) -> Option<String> {
    let start = body.find("<p id=\"v\">")? + "<p id=\"v\">".len();
    let len = body[start..].find("</p>")?;
    Some(body[start..start + len].to_string())
}

/// A 200 JSON response.
fn json_of(s: &Server, target: &str) -> Value {
    let r = s.get(target);
    assert_eq!(r.status, 200, "GET {target}: {r:?}");
    assert_eq!(r.mime(), "application/json", "GET {target}: {r:?}");
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

/// The site's own 404 page for `path`.
fn assert_404(s: &Server, path: &str) {
    let r = s.get(path);
    assert_eq!(r.status, 404, "GET {path}: {r:?}");
    assert!(
        r.body.contains(&format!("<p>not found: {path}</p>")),
        "GET {path}: not the site's 404 page: {}",
        r.body
    );
}

const LAYOUT: &str = "<!doctype html>\n<html><head><title>{{site.name}}</title></head>\n<body>\n{{> @partial-block}}\n</body></html>\n";

fn home(v: &str) -> String {
    format!("{{{{#> layout}}}}\n<p id=\"v\">{v}</p>\n{{{{/layout}}}}\n")
}

/// A small site without a database: a home page through a layout, an unused `about.hbs`, and
/// its own 404 page.
const SITE: &str = r#"site:
  name: Before
routes:
  - { path: "", name: home, view: template, template: home.hbs }
errors:
  404: 404.hbs
"#;

fn small_site() -> common::SiteDir {
    write_site(
        SITE,
        &[
            ("layout.hbs", LAYOUT),
            ("home.hbs", &home("one")),
            (
                "about.hbs",
                "{{#> layout}}\n<p id=\"v\">about</p>\n{{/layout}}\n",
            ),
            (
                "404.hbs",
                "{{#> layout}}\n<p>not found: {{request.path}}</p>\n{{/layout}}\n",
            ),
        ],
    )
}

/// A site with a database: Item rows from a fixture, listed as JSON.
const SHOP: &str = r#"site:
  name: Shop
  database: db.sqlite3
  fixtures: [data/items.yaml]
models:
  Item:
    fields:
      name: { type: string }
      kind: { type: string, null: true }
    ordering: [name]
routes:
  - { path: "api/items/", name: items, view: list, model: Item, format: json }
"#;

const ITEMS: &str = r#"- model: Item
  pk: 1
  fields: { name: Apple, kind: fruit }
- model: Item
  pk: 2
  fields: { name: Bean, kind: seed }
"#;

fn shop() -> Server {
    let site = write_files(&[("site.yaml", SHOP), ("data/items.yaml", ITEMS)]);
    let s = Server::start_site(&site);
    s.wait_for_log("migrate: load 2 rows");
    s
}

/// The JSON rows of the shop's item list.
fn items(s: &Server) -> Vec<Value> {
    let v = json_of(s, "/api/items/");
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of results: {v}"))
        .clone()
}

/// The columns of a table in the shop's database.
fn columns(s: &Server, table: &str) -> Vec<String> {
    let conn = Connection::open(s.site_path().join("db.sqlite3")).expect("open the database");
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info(\"{table}\")"))
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(1))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Good changes

#[test]
fn editing_a_template_or_a_layout_changes_the_page() {
    let s = Server::start_site(&small_site());
    assert_eq!(version(&s, "/"), "one");

    save(&s, "templates/home.hbs", &home("two"));
    let log = reloads(&s, 1, 0);
    assert_eq!(version(&s, "/"), "two");
    // `reloaded in N ms (R routes)`.
    let line = log.lines().find(|l| l.contains(RELOADED)).unwrap();
    let rest = &line[line.find(RELOADED).unwrap() + RELOADED.len()..];
    let (ms, routes) = rest
        .split_once(" ms (")
        .unwrap_or_else(|| panic!("{line:?}"));
    assert!(ms.parse::<u64>().is_ok(), "{line:?}");
    assert_eq!(routes, "1 route)", "{line:?}");

    // A partial used by the page.
    save(
        &s,
        "templates/layout.hbs",
        &LAYOUT.replace("<title>", "<title>New "),
    );
    reloads(&s, 2, 0);
    let r = page(&s, "/");
    assert!(r.body.contains("<title>New Before</title>"), "{}", r.body);
    assert_eq!(version_of(&r.body).as_deref(), Some("two"));

    // site.yaml itself.
    save(
        &s,
        "site.yaml",
        &SITE.replace("name: Before", "name: After"),
    );
    reloads(&s, 3, 0);
    assert!(page(&s, "/").body.contains("<title>New After</title>"));
}

#[test]
fn a_save_by_rename_reloads_too() {
    // Many editors write a temporary file and rename it over the original.
    let s = Server::start_site(&small_site());
    assert_eq!(version(&s, "/"), "one");
    let tmp = s.site_path().join("templates/.home.hbs.tmp");
    std::fs::write(&tmp, home("renamed")).unwrap();
    std::fs::rename(&tmp, s.site_path().join("templates/home.hbs")).unwrap();
    reloads(&s, 1, 0);
    assert_eq!(version(&s, "/"), "renamed");
}

#[test]
fn adding_a_route_makes_its_url_answer_and_removing_it_makes_it_404_again() {
    let s = Server::start_site(&small_site());
    assert_404(&s, "/about/");

    let with_about = SITE.replace(
        "errors:",
        "  - { path: \"about/\", name: about, view: template, template: about.hbs }\nerrors:",
    );
    save(&s, "site.yaml", &with_about);
    let log = reloads(&s, 1, 0);
    assert!(log.contains("(2 routes)"), "{log}");
    assert_eq!(version(&s, "/about/"), "about");
    assert_eq!(version(&s, "/"), "one");

    save(&s, "site.yaml", SITE);
    let log = reloads(&s, 2, 0);
    assert!(log.contains("(1 route)"), "{log}");
    assert_404(&s, "/about/");
    assert_eq!(version(&s, "/"), "one");
}

#[test]
fn a_route_that_never_answers_is_a_warning_in_the_log_and_the_site_reloads() {
    let s = Server::start_site(&small_site());
    let shadowed = SITE.replace(
        "errors:",
        "  - { path: \"<str:page>/\", view: template, template: home.hbs }\n  - { path: \"about/\", view: template, template: home.hbs }\nerrors:",
    );
    save(&s, "site.yaml", &shadowed);
    let log = reloads(&s, 1, 0);
    let line = log
        .lines()
        .find(|l| l.contains("never answers"))
        .unwrap_or_else(|| panic!("no warning in the log:\n{log}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.contains(
            "site.yaml:6:13: routes[2].path: this route never answers: `/<str:page>/` (on line 5)"
        ),
        "{line}"
    );
    assert_eq!(version(&s, "/about/"), "one");
}

#[test]
fn an_additive_model_change_migrates_and_keeps_the_rows() {
    let s = shop();
    let before = items(&s);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.iter().all(|o| o.get("note").is_none()), "{before:?}");

    // A new nullable field, and a new model with a route of its own.
    let v2 =
        SHOP.replace(
            "      kind: { type: string, null: true }\n",
            "      kind: { type: string, null: true }\n      note: { type: string, null: true }\n",
        )
        .replace(
            "routes:\n",
            "  Tag:\n    fields:\n      word: { type: string }\nroutes:\n",
        ) + "  - { path: \"api/tags/\", name: tags, view: list, model: Tag, format: json }\n";
    save(&s, "site.yaml", &v2);
    let log = reloads(&s, 1, 0);
    for line in ["migrate: add column item.note", "migrate: create table tag"] {
        assert!(log.contains(line), "expected {line:?} in:\n{log}");
    }
    let after = items(&s);
    let got: Vec<(Value, Value, Value, Value)> = after
        .iter()
        .map(|o| {
            (
                o["id"].clone(),
                o["name"].clone(),
                o["kind"].clone(),
                // Present and null, not absent.
                o.get("note").cloned().unwrap_or(json!("ABSENT")),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (json!(1), json!("Apple"), json!("fruit"), Value::Null),
            (json!(2), json!("Bean"), json!("seed"), Value::Null),
        ]
    );
    assert_eq!(columns(&s, "item"), ["id", "name", "kind", "note"]);
    assert_eq!(json_of(&s, "/api/tags/")["results"], json!([]));
}

#[test]
fn a_template_in_a_folder_made_while_serving_is_watched_too() {
    let s = Server::start_site(&small_site());
    // A new folder with a template in it (not used yet).
    std::fs::create_dir(s.site_path().join("templates/parts")).unwrap();
    save(&s, "templates/parts/box.hbs", "<p id=\"box\">box one</p>\n");
    reloads(&s, 1, 0);
    save(
        &s,
        "templates/home.hbs",
        "{{#> layout}}\n{{> parts/box}}\n{{/layout}}\n",
    );
    reloads(&s, 2, 0);
    assert!(page(&s, "/").body.contains("box one"));
    // An edit inside the new folder reloads.
    save(&s, "templates/parts/box.hbs", "<p id=\"box\">box two</p>\n");
    reloads(&s, 3, 0);
    assert!(page(&s, "/").body.contains("box two"));
}

#[test]
fn adding_a_database_creates_it_with_the_fixtures() {
    let site = write_files(&[
        ("site.yaml", "site: { name: Plain }\nroutes: []\n"),
        ("data/items.yaml", ITEMS),
    ]);
    let s = Server::start_site(&site);
    assert_eq!(s.get("/api/items/").status, 404);
    save(&s, "site.yaml", SHOP);
    let log = reloads(&s, 1, 0);
    for line in ["migrate: create table item", "migrate: load 2 rows"] {
        assert!(log.contains(line), "expected {line:?} in:\n{log}");
    }
    let names: Vec<Value> = items(&s).iter().map(|o| o["name"].clone()).collect();
    assert_eq!(names, [json!("Apple"), json!("Bean")]);
    // Later edits reload as before (the database's own files are not edits).
    save(&s, "site.yaml", &SHOP.replace("name: Shop", "name: Shop 2"));
    reloads(&s, 2, 0);
    assert_eq!(items(&s).len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Bad changes: the old site goes on serving until a good save

#[test]
fn broken_yaml_keeps_the_old_site_until_it_is_fixed() {
    let s = Server::start_site(&small_site());
    assert!(page(&s, "/").body.contains("<title>Before</title>"));

    // An unclosed `[` on line 4.
    let broken = SITE.replace("template: home.hbs }", "template: [home.hbs }");
    save(&s, "site.yaml", &broken);
    let log = reloads(&s, 0, 1);
    let err = last_failure(&log);
    assert!(
        err.contains("site.yaml:4:55: invalid YAML: this `[` is not closed on its line"),
        "the error should name the `[` at site.yaml:4:55:\n{log}"
    );
    assert!(err.contains("1 error found"), "{log}");
    let r = page(&s, "/");
    assert!(r.body.contains("<title>Before</title>"), "{}", r.body);
    assert_eq!(version_of(&r.body).as_deref(), Some("one"));
    assert_404(&s, "/nope/");

    // Fixed (with a new name): back without a restart.
    save(
        &s,
        "site.yaml",
        &SITE.replace("name: Before", "name: After"),
    );
    reloads(&s, 1, 1);
    assert!(page(&s, "/").body.contains("<title>After</title>"));
}

#[test]
fn an_unknown_template_keeps_the_old_site_and_suggests_the_name() {
    let s = Server::start_site(&small_site());
    save(
        &s,
        "site.yaml",
        &SITE.replace("template: home.hbs", "template: hoem.hbs"),
    );
    let log = reloads(&s, 0, 1);
    let err = last_failure(&log);
    for part in [
        "site.yaml:4:55: routes[0].template: no template `hoem.hbs`",
        "did you mean `home`?",
    ] {
        assert!(err.contains(part), "expected {part:?} in:\n{log}");
    }
    assert_eq!(version(&s, "/"), "one");

    // Another bad save fails again; the site is still the first one.
    save(
        &s,
        "site.yaml",
        &SITE.replace("template: home.hbs", "template: homme.hbs"),
    );
    let log = reloads(&s, 0, 2);
    assert!(
        last_failure(&log).contains("no template `homme.hbs`"),
        "{log}"
    );
    assert_eq!(version(&s, "/"), "one");

    save(
        &s,
        "site.yaml",
        &SITE.replace("template: home.hbs", "template: about.hbs"),
    );
    reloads(&s, 1, 2);
    assert_eq!(version(&s, "/"), "about");
}

#[test]
fn a_refused_migration_keeps_the_old_site_and_the_data() {
    let s = shop();
    let before = items(&s);
    assert_eq!(before[0]["kind"], "fruit");

    // Removing a field that holds values would lose them: refused.
    let without_kind = SHOP.replace("      kind: { type: string, null: true }\n", "");
    save(&s, "site.yaml", &without_kind);
    let log = reloads(&s, 0, 1);
    let err = last_failure(&log);
    for part in [
        "migration refused",
        "field `kind` of Item is gone from site.yaml",
        "would lose 2 values",
    ] {
        assert!(err.contains(part), "expected {part:?} in:\n{log}");
    }
    // The old site answers, with the field, and the database is untouched.
    assert_eq!(items(&s), before);
    assert_eq!(columns(&s, "item"), ["id", "name", "kind"]);

    // Put the field back (with an additive change beside it): reloaded and migrated.
    let fixed = SHOP.replace(
        "    ordering: [name]\n",
        "      note: { type: string, null: true }\n    ordering: [name]\n",
    );
    save(&s, "site.yaml", &fixed);
    let log = reloads(&s, 1, 1);
    assert!(log.contains("migrate: add column item.note"), "{log}");
    let after = items(&s);
    assert_eq!(after.len(), 2);
    assert_eq!(after[0]["kind"], "fruit");
    assert_eq!(after[0]["note"], Value::Null);
}

#[test]
fn a_field_renamed_before_it_holds_a_value_is_migrated_without_being_asked() {
    // Issue 13: a typo fixed in a new field was refused ("would lose 0 values") and broke
    // live reload until `migrate --allow-destructive`.
    let s = shop();
    let with = |field: &str| {
        SHOP.replace(
            "    ordering: [name]\n",
            &format!("      {field}: {{ type: string, null: true }}\n    ordering: [name]\n"),
        )
    };
    save(&s, "site.yaml", &with("sumary"));
    let log = reloads(&s, 1, 0);
    assert!(log.contains("migrate: add column item.sumary"), "{log}");
    assert_eq!(columns(&s, "item"), ["id", "name", "kind", "sumary"]);

    save(&s, "site.yaml", &with("summary"));
    let log = reloads(&s, 2, 0);
    for line in [
        "migrate: drop column item.sumary (it held no values: nothing is lost)",
        "migrate: add column item.summary",
    ] {
        assert!(log.contains(line), "expected {line:?} in:\n{log}");
    }
    assert_eq!(columns(&s, "item"), ["id", "name", "kind", "summary"]);
    let rows = items(&s);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (&rows[0]["kind"], &rows[0]["summary"]),
        (&json!("fruit"), &Value::Null)
    );
}

#[test]
fn a_refused_reload_goes_through_once_another_process_migrates_the_database() {
    // Issue 13: after `trellis migrate --allow-destructive` in another terminal, the server
    // stayed in the error state until some file was saved again.
    let s = shop();
    let without_kind = SHOP.replace("      kind: { type: string, null: true }\n", "");
    save(&s, "site.yaml", &without_kind);
    let log = reloads(&s, 0, 1);
    assert!(last_failure(&log).contains("would lose 2 values"), "{log}");
    assert_eq!(columns(&s, "item"), ["id", "name", "kind"]);

    let tmp = TempDir::new().unwrap();
    let out = command(tmp.path())
        .args(["migrate", "--allow-destructive"])
        .arg(s.site_path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("migrate: drop column item.kind (2 values)"),
        "{said}"
    );

    // No file was saved: the server sees the database change and migrates again.
    let log = reloads(&s, 1, 1);
    assert!(
        log.contains("the database changed, and the last reload's migration now goes through"),
        "{log}"
    );
    let rows = items(&s);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["name"], "Apple");
    assert!(rows[0].get("kind").is_none(), "{rows:?}");
}

// ---------------------------------------------------------------------------------------------
// Files that are not the site's

#[test]
fn a_database_named_like_a_site_file_does_not_hide_its_edits() {
    // The database's own files (`site`, `site-wal`, `site-shm`, `site-journal`) are not edits;
    // site.yaml, which merely starts with the same name, is.
    let yaml = SHOP.replace("database: db.sqlite3", "database: site");
    let site = write_files(&[("site.yaml", &yaml), ("data/items.yaml", ITEMS)]);
    let s = Server::start_site(&site);
    s.wait_for_log("migrate: load 2 rows");
    // Written in place (not by a rename, whose temporary file would be noticed instead).
    save(
        &s,
        "site.yaml",
        &yaml.replace("name: Shop", "name: Renamed"),
    );
    reloads(&s, 1, 0);
}

#[test]
fn files_in_a_hidden_folder_do_not_reload() {
    let site = small_site();
    // A site kept in git: the folder is there before the server starts.
    std::fs::create_dir(site.path.join(".git")).unwrap();
    std::fs::write(site.path.join(".git/index"), "the index").unwrap();
    let s = Server::start_site(&site);
    // `git status` or `git add` rewrites the index.
    save(&s, ".git/index", "the index, refreshed");
    // The pause only gives a wrong reload the time to show; a correct server never reloads
    // here however long the pause, so this cannot fail spuriously.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let log = s.log();
    assert!(!log.contains("reload"), "a write in .git reloaded:\n{log}");
    // The watcher is alive: a real edit reloads, once.
    save(&s, "templates/home.hbs", &home("two"));
    reloads(&s, 1, 0);
    assert_eq!(version(&s, "/"), "two");
}

/// A copy of the small site at `tmp/REL` (parents made).
fn small_site_at(tmp: &Path, rel: &str) {
    common::copy_dir(&small_site().path, &tmp.join(rel));
}

#[test]
fn a_site_inside_a_hidden_folder_reloads() {
    // Hidden parts are looked for below the site folder, not in the folders above it.
    let tmp = TempDir::new().unwrap();
    small_site_at(tmp.path(), ".sites/site");
    let root = tmp.path().to_path_buf();
    let s = Server::start_in(tmp, &["serve", ".sites/site"]);
    std::fs::write(root.join(".sites/site/templates/home.hbs"), home("two")).unwrap();
    reloads(&s, 1, 0);
    assert_eq!(version(&s, "/"), "two");
}

#[test]
fn a_site_under_a_hidden_folder_served_through_a_symlink_reloads() {
    // `.sites/alias` -> `real`; `trellis serve .sites/alias/site`.
    let tmp = TempDir::new().unwrap();
    small_site_at(tmp.path(), ".sites/real/site");
    std::os::unix::fs::symlink("real", tmp.path().join(".sites/alias")).unwrap();
    let root = tmp.path().to_path_buf();
    let s = Server::start_in(tmp, &["serve", ".sites/alias/site"]);
    let file = root.join(".sites/real/site/templates/home.hbs");
    std::fs::write(file, home("two")).unwrap();
    reloads(&s, 1, 0);
    assert_eq!(version(&s, "/"), "two");
}

#[test]
fn a_site_under_a_hidden_folder_served_by_a_path_with_dotdot_reloads() {
    let tmp = TempDir::new().unwrap();
    small_site_at(tmp.path(), ".sites/real/site");
    let root = tmp.path().to_path_buf();
    let s = Server::start_in(tmp, &["serve", ".sites/real/../real/site"]);
    let file = root.join(".sites/real/site/templates/home.hbs");
    std::fs::write(file, home("two")).unwrap();
    reloads(&s, 1, 0);
    assert_eq!(version(&s, "/"), "two");
}

// ---------------------------------------------------------------------------------------------
// --no-reload

#[test]
fn no_reload_serves_what_it_loaded() {
    let site = small_site();
    let fixed = Server::start_in_place(&site.path, &["--no-reload"]);
    // A second server on the same folder, with reload: its reload says the edit was seen.
    let watching = Server::start_in_place(&site.path, &[]);
    assert_eq!(version(&fixed, "/"), "one");
    assert_eq!(version(&watching, "/"), "one");

    std::fs::write(site.path.join("templates/home.hbs"), home("two")).unwrap();
    watching.wait_for_log_count(RELOADED, 1);
    assert_eq!(version(&watching, "/"), "two");
    assert_eq!(version(&fixed, "/"), "one");
    let log = fixed.log();
    assert!(!log.contains("reload"), "--no-reload reloaded:\n{log}");

    // --live needs reloading.
    let out = trellis([
        "serve".as_ref(),
        site.path.as_os_str(),
        "--no-reload".as_ref(),
        "--live".as_ref(),
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// --live

/// `/__trellis/live` of a `--live` server: (generation, error).
fn live(s: &Server) -> (u64, bool) {
    let r = s.get(LIVE);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.mime(), "application/json", "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    let v: Value = serde_json::from_str(&r.body).unwrap();
    (
        v["generation"]
            .as_u64()
            .unwrap_or_else(|| panic!("{}", r.body)),
        v["error"].as_bool().unwrap_or_else(|| panic!("{}", r.body)),
    )
}

/// The page has the live script (before `</body>`) and, if `error` is given, the overlay with
/// that (escaped) text; otherwise no overlay.
fn assert_live_page(r: &Resp, error: Option<&[&str]>) {
    let script = r
        .body
        .find("<script>")
        .unwrap_or_else(|| panic!("no script: {}", r.body));
    assert!(
        r.body[script..].contains(&format!("fetch(\"{LIVE}\"")),
        "the script does not poll {LIVE}: {}",
        r.body
    );
    assert!(
        r.body.find("</body>").is_some_and(|end| script < end),
        "the script should be inside the body: {}",
        r.body
    );
    match error {
        None => assert!(!r.body.contains("trellis-error"), "{}", r.body),
        Some(parts) => {
            let at = r
                .body
                .find("<div id=\"trellis-error\"")
                .unwrap_or_else(|| panic!("no error overlay: {}", r.body));
            let overlay = &r.body[at..at + r.body[at..].find("</div>").unwrap()];
            for part in parts {
                assert!(overlay.contains(part), "expected {part:?} in {overlay}");
            }
        }
    }
}

#[test]
fn live_pages_poll_the_generation_and_show_the_last_error_escaped() {
    let site = small_site();
    std::fs::create_dir(site.path.join("static")).unwrap();
    std::fs::write(site.path.join("static/site.css"), "p { color: red }\n").unwrap();
    let s = Server::start_with(&site.path, &["--live"]);

    assert_eq!(live(&s), (0, false));
    let r = page(&s, "/");
    assert_live_page(&r, None);
    assert_eq!(version_of(&r.body).as_deref(), Some("one"));
    let r = s.get("/nope/");
    assert_eq!(r.status, 404);
    assert_live_page(&r, None);
    // Not HTML: untouched.
    let r = s.get("/static/site.css");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "p { color: red }\n");

    // A good reload: generation 1.
    save(&s, "templates/home.hbs", &home("two"));
    reloads(&s, 1, 0);
    assert_eq!(live(&s), (1, false));
    let r = page(&s, "/");
    assert_live_page(&r, None);
    assert_eq!(version_of(&r.body).as_deref(), Some("two"));

    // A template syntax error on a line that holds markup: generation 2, the old page with the
    // error over it, escaped.
    save(
        &s,
        "templates/home.hbs",
        &(home("three") + "<b>bold</b>{{/if}}\n"),
    );
    let log = reloads(&s, 1, 1);
    assert!(
        last_failure(&log).contains("templates/home.hbs:4:"),
        "the error should name templates/home.hbs:4:\n{log}"
    );
    assert_eq!(live(&s), (2, true));
    for target in ["/", "/nope/"] {
        let r = s.get(target);
        assert_live_page(
            &r,
            Some(&[
                "templates/home.hbs:4:",
                "template syntax",
                "&lt;b&gt;bold&lt;/b&gt;{{/if}}",
            ]),
        );
        assert!(
            !r.body.contains("<b>"),
            "raw markup from the error: {}",
            r.body
        );
    }
    assert_eq!(version(&s, "/"), "two");

    // Fixed: generation 3, no overlay.
    save(&s, "templates/home.hbs", &home("four"));
    reloads(&s, 2, 1);
    assert_eq!(live(&s), (3, false));
    let r = page(&s, "/");
    assert_live_page(&r, None);
    assert_eq!(version_of(&r.body).as_deref(), Some("four"));

    // A YAML error whose text holds markup: generation 4.
    save(
        &s,
        "site.yaml",
        &SITE.replace("name: Before", "name: \"<b>x</b>\" ["),
    );
    let log = reloads(&s, 2, 2);
    assert!(last_failure(&log).contains("site.yaml:2:"), "{log}");
    assert_eq!(live(&s), (4, true));
    let r = page(&s, "/");
    assert_live_page(
        &r,
        Some(&["site.yaml:2:", "invalid YAML", "&lt;b&gt;x&lt;/b&gt;"]),
    );
    assert!(
        !r.body.contains("<b>"),
        "raw markup from the error: {}",
        r.body
    );
    assert_eq!(version_of(&r.body).as_deref(), Some("four"));

    save(&s, "site.yaml", SITE);
    reloads(&s, 3, 2);
    assert_eq!(live(&s), (5, false));
    assert_live_page(&page(&s, "/"), None);
}

#[test]
fn a_failed_reload_is_live_by_the_time_it_is_logged() {
    // Whoever reads `reload failed` in the log finds the error and the new generation in place
    // (the server stores them, then logs). Were it the other way round, each round would be a
    // fresh chance for the gap to show.
    let s = Server::start_with(&small_site().path, &["--live"]);
    for round in 1..=20 {
        save(
            &s,
            "templates/home.hbs",
            &format!("<p>{round}</p>{{{{/if}}}}\n"),
        );
        reloads(&s, 0, round);
        assert_eq!(live(&s), (round as u64, true), "round {round}");
        assert_live_page(&page(&s, "/"), Some(&["template syntax"]));
    }
}

#[test]
fn without_live_there_is_no_script_no_overlay_and_no_live_endpoint() {
    let s = Server::start_site(&small_site());
    assert_404(&s, LIVE);
    assert!(!page(&s, "/").body.contains("<script"));

    save(&s, "templates/home.hbs", &(home("two") + "{{/if}}\n"));
    reloads(&s, 0, 1);
    let r = page(&s, "/");
    assert_eq!(version_of(&r.body).as_deref(), Some("one"));
    assert!(!r.body.contains("<script"), "{}", r.body);
    assert!(!r.body.contains("trellis-error"), "{}", r.body);
    assert_404(&s, LIVE);
}

// ---------------------------------------------------------------------------------------------
// Requests during reloads

#[test]
fn requests_during_reloads_all_succeed() {
    const EDITS: usize = 5;
    /// Per thread, a bound on the loop whatever happens to the flag.
    const MAX_REQUESTS: usize = 3000;
    let s = Server::start_site(&small_site());
    assert_eq!(version(&s, "/"), "one");
    save(&s, "templates/home.hbs", &home("0"));
    reloads(&s, 1, 0);

    let done = AtomicBool::new(false);
    /// What one request got: its status and version, or why it failed.
    type Seen = Result<(u16, Option<String>), String>;
    let results: Vec<Vec<Seen>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut seen = Vec::new();
                    while !done.load(Ordering::SeqCst) && seen.len() < MAX_REQUESTS {
                        seen.push(s.try_get("/").map(|r| (r.status, version_of(&r.body))));
                    }
                    seen
                })
            })
            .collect();
        for k in 1..=EDITS {
            save(&s, "templates/home.hbs", &home(&k.to_string()));
            reloads(&s, k + 1, 0);
        }
        done.store(true, Ordering::SeqCst);
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });

    let total: usize = results.iter().map(Vec::len).sum();
    assert!(total > 0);
    for seen in &results {
        let mut last = 0;
        for (i, result) in seen.iter().enumerate() {
            let (status, v) = result
                .as_ref()
                .unwrap_or_else(|e| panic!("request {i} of {total} failed: {e}"));
            assert_eq!(*status, 200, "request {i}");
            let v: usize = v
                .as_deref()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("request {i}: no version: {v:?}"));
            assert!(v <= EDITS, "request {i}: version {v}");
            // Each request sees the site of its moment: never an older one after a newer.
            assert!(v >= last, "request {i}: version {v} after {last}");
            last = v;
        }
    }
    assert_eq!(version(&s, "/"), EDITS.to_string());
}

// ---------------------------------------------------------------------------------------------
// trellis new

fn new_site(tmp: &Path, name: &str) -> std::process::Output {
    command(tmp)
        .args(["new", name])
        .output()
        .expect("the trellis binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn new_makes_a_site_that_checks_and_serves() {
    let tmp = TempDir::new().unwrap();
    let out = new_site(tmp.path(), "mysite");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("trellis serve mysite"),
        "{}",
        text(&out.stdout)
    );
    let dir = tmp.path().join("mysite");
    let yaml = std::fs::read_to_string(dir.join("site.yaml")).unwrap();
    assert_eq!(
        yaml.lines().next(),
        Some("# yaml-language-server: $schema=site.schema.json")
    );
    let schema = std::fs::read_to_string(dir.join("site.schema.json")).unwrap();
    assert_eq!(schema, text(&trellis(["schema"]).stdout));
    for file in [
        "templates/layouts/base.hbs",
        "templates/home.hbs",
        "templates/notes/list.hbs",
        "templates/notes/detail.hbs",
        "templates/404.hbs",
        "data/notes.yaml",
        "static/site.css",
    ] {
        assert!(dir.join(file).is_file(), "no {file}");
    }

    // `trellis serve mysite`, before anything else touched the folder: the database is created
    // from the fixture.
    let root = tmp.path().to_path_buf();
    let s = Server::start_in(tmp, &["serve", "mysite"]);
    s.wait_for_log("migrate: load 2 rows");
    let r = page(&s, "/");
    assert!(r.body.contains("Welcome to mysite"), "{}", r.body);
    let r = page(&s, "/notes/");
    for title in [">Hello</a>", ">Edit and see</a>"] {
        assert!(r.body.contains(title), "no {title} in {}", r.body);
    }
    let r = page(&s, "/notes/hello/");
    assert!(r.body.contains("<strong>Markdown</strong>"), "{}", r.body);
    assert_eq!(json_of(&s, "/api/notes/")["count"], 2);
    assert_eq!(s.get("/static/site.css").status, 200);
    let r = s.get("/nope/");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Page not found"), "{}", r.body);

    let out = command(&root).args(["check", "mysite"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("ok: mysite"),
        "{}",
        text(&out.stdout)
    );

    // The scaffold reloads as its comments promise.
    std::fs::write(
        root.join("mysite/templates/home.hbs"),
        "{{#> layouts/base}}<p id=\"v\">edited</p>{{/layouts/base}}\n",
    )
    .unwrap();
    reloads(&s, 1, 0);
    assert_eq!(version(&s, "/"), "edited");
}

#[test]
fn new_refuses_a_folder_that_is_not_empty() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("taken");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let out = new_site(tmp.path(), "taken");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("exists and is not empty"),
        "{}",
        text(&out.stderr)
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine\n"
    );

    // A site made before is not overwritten either; an empty folder is fine.
    assert!(new_site(tmp.path(), "made").status.success());
    std::fs::write(tmp.path().join("made/site.yaml"), "# mine\n").unwrap();
    assert!(!new_site(tmp.path(), "made").status.success());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("made/site.yaml")).unwrap(),
        "# mine\n"
    );
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let out = new_site(tmp.path(), "empty");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(tmp.path().join("empty/site.yaml").is_file());
}

/// What `trellis new` writes commented out (the sign-in routes, the admin) loads once
/// turned on as its comments say.
#[test]
fn new_sites_commented_sign_in_and_admin_lines_load_when_uncommented() {
    let tmp = TempDir::new().unwrap();
    assert!(new_site(tmp.path(), "mysite").status.success());
    let path = tmp.path().join("mysite/site.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    // As the comments say: the routes moved under `routes:`, the admin line uncommented.
    let routes: String = yaml
        .lines()
        .filter_map(|l| l.strip_prefix("#   - {"))
        .map(|l| format!("  - {{{l}\n"))
        .collect();
    let uncommented = yaml
        .replace("\nerrors:", &format!("{routes}\nerrors:"))
        .replace("\n# admin: ", "\nadmin: ");
    assert_ne!(uncommented, yaml, "no commented-out lines to try");
    std::fs::write(&path, &uncommented).unwrap();
    let out = command(tmp.path())
        .args(["check", "mysite"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = command(tmp.path())
        .args(["routes", "mysite"])
        .output()
        .unwrap();
    let routes = text(&out.stdout);
    for line in [
        "/login/ login login",
        "/logout/ logout logout",
        "/admin/ admin:index",
    ] {
        let found = routes.lines().any(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .starts_with(line)
        });
        assert!(found, "no `{line}` in\n{routes}");
    }
}
