//! Every rule a posted field is checked by (`db::write::read_field`, then the fixtures'
//! `db::model::validate`, then the database: foreign-key and many-to-many targets, unique
//! values), each through a real POST to a `create` form in process: status 400, the message in
//! the field's own paragraph, the value kept (escaped), and no row written. Then what a valid
//! POST stores for each type, read back from the SQLite file.

use std::path::Path;

use rusqlite::Connection;

use crate::common::{write_files, Local, SiteDir};

const SITE: &str = "site: { database: db.sqlite3, fixtures: [data.yaml] }
models:
  Maker:
    fields:
      name: { type: string }
  Tag:
    fields:
      name: { type: string }
  Thing:
    fields:
      name: { type: string, max_length: 10 }
      code: { type: slug, unique: true }
      status: { type: string, choices: [a, b] }
      email: { type: email }
      site: { type: url }
      uid: { type: uuid }
      count: { type: integer }
      price: { type: float }
      day: { type: date }
      at: { type: datetime }
      data: { type: json }
      ok: { type: boolean }
      note: { type: text, null: true }
      maker: { type: foreign_key, to: Maker }
      tags: { type: many_to_many, to: Tag }
routes:
  - { path: things/new/, view: create, model: Thing }
  - { path: things/<slug:code>/, name: thing, view: detail, model: Thing, lookup: code, template: thing.hbs }
";

const DATA: &str = "- { model: Maker, pk: 1, fields: { name: Acme } }
- { model: Tag, pk: 1, fields: { name: red } }
- { model: Tag, pk: 2, fields: { name: blue } }
- { model: Thing, pk: 1, fields: { name: Old, code: taken, status: a, email: a@b.co, site: 'https://x.org/', uid: 123e4567-e89b-12d3-a456-426614174000, count: 1, price: 1.0, day: '2026-01-01', at: '2026-01-01T00:00:00', data: {}, ok: false, maker: 1 } }
";

/// A valid form body: each case changes one field of it.
const VALID: &[(&str, &str)] = &[
    ("name", "Widget"),
    ("code", "w-1"),
    ("status", "a"),
    ("email", "a@b.co"),
    ("site", "https://x.org/"),
    ("uid", "123e4567-e89b-12d3-a456-426614174000"),
    ("count", "3"),
    ("price", "2.5"),
    ("day", "2026-02-03"),
    ("at", "2026-02-03T04:05"),
    ("data", "{\"k\": [1]}"),
    ("ok", "on"),
    ("note", ""),
    ("maker", "1"),
    ("tags", "1"),
    ("tags", "2"),
];

fn site() -> (SiteDir, Local) {
    let dir = write_files(&[
        ("site.yaml", SITE),
        ("data.yaml", DATA),
        ("templates/thing.hbs", "<h1>{{object.name}}</h1>"),
    ]);
    let local = Local::load(&dir.path);
    (dir, local)
}

/// `VALID` with `field` set to `value` (`None`: left out), as a form body.
fn body(field: &str, value: Option<&str>) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut pairs: Vec<String> = VALID
        .iter()
        .filter(|(k, _)| *k != field)
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if let Some(v) = value {
        pairs.push(format!("{field}={}", enc(v)));
    }
    pairs.join("&")
}

fn things(dir: &Path) -> i64 {
    let conn = Connection::open(dir.join("db.sqlite3")).unwrap();
    conn.query_row("SELECT count(*) FROM thing", [], |r| r.get(0))
        .unwrap()
}

/// The paragraph of the built-in form that holds the field `name` (its input and message).
fn paragraph<'p>(page: &'p str, name: &str) -> &'p str {
    let at = page
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name} in\n{page}"));
    let start = page[..at].rfind("<p>").unwrap_or(0);
    let end = at + page[at..].find("</p>").unwrap_or(page.len() - at);
    &page[start..end]
}

#[test]
fn every_rule_refuses_with_400_its_message_under_its_field_the_value_kept_and_no_row() {
    let (dir, local) = site();
    // (field, posted value, the message as the page shows it, the value as kept, if shown)
    let cases: &[(&str, Option<&str>, &str, Option<&str>)] = &[
        ("name", Some(""), "this field is required", Some("value=\"\"")),
        ("name", None, "this field is required", None),
        ("name", Some("   "), "this field is required", None),
        (
            "name",
            Some("<b>elevenchars"),
            "at most 10 characters, got 14",
            Some("value=\"&lt;b&gt;elevenchars\""),
        ),
        (
            "code",
            Some("a b"),
            "a slug holds only letters, digits, &#x60;-&#x60; and &#x60;_&#x60;, got &quot;a b&quot;",
            Some("value=\"a b\""),
        ),
        (
            "code",
            Some("taken"),
            "a Thing with this code already exists",
            Some("value=\"taken\""),
        ),
        (
            "status",
            Some("c"),
            "&quot;c&quot; is not one of &quot;a&quot;, &quot;b&quot;",
            None,
        ),
        (
            "email",
            Some("a@b"),
            "not an email address: &quot;a@b&quot;",
            Some("type=\"email\" name=\"email\" value=\"a@b\""),
        ),
        (
            "site",
            Some("javascript:alert(1)"),
            "not an http(s) URL: &quot;javascript:alert(1)&quot;",
            Some("value=\"javascript:alert(1)\""),
        ),
        (
            "uid",
            Some("123"),
            "not a UUID: &quot;123&quot;",
            Some("value=\"123\""),
        ),
        (
            "count",
            Some("1.5"),
            "expected a whole number, got &quot;1.5&quot;",
            Some("type=\"number\" name=\"count\" value=\"1.5\""),
        ),
        (
            "count",
            Some("99999999999999999999"),
            "expected a whole number",
            Some("value=\"99999999999999999999\""),
        ),
        (
            "price",
            Some("NaN"),
            "expected a number, got &quot;NaN&quot;",
            Some("value=\"NaN\""),
        ),
        (
            "day",
            Some("2026-02-30"),
            "not a date (YYYY-MM-DD): &quot;2026-02-30&quot;",
            Some("type=\"date\" name=\"day\" value=\"2026-02-30\""),
        ),
        (
            "at",
            Some("tomorrow"),
            "not a datetime (YYYY-MM-DDTHH:MM:SS): &quot;tomorrow&quot;",
            Some("type=\"datetime-local\" name=\"at\" value=\"tomorrow\""),
        ),
        (
            "data",
            Some("{oops"),
            "not valid JSON",
            Some(">{oops</textarea>"),
        ),
        ("ok", Some("maybe"), "expected a checkbox, got &quot;maybe&quot;", None),
        ("maker", Some(""), "this field is required", None),
        ("maker", Some("9"), "no Maker with key &quot;9&quot;", None),
        ("tags", Some("9"), "no Tag with key &quot;9&quot;", None),
        // Django's ModelChoiceField: `int("1.0")` fails (SQLite alone took it as row 1).
        ("maker", Some("1.0"), "no Maker with key &quot;1.0&quot;", None),
        ("tags", Some("1.0"), "no Tag with key &quot;1.0&quot;", None),
        ("maker", Some("1e0"), "no Maker with key &quot;1e0&quot;", None),
    ];
    for (field, value, message, kept) in cases {
        let r = local.post_form("/things/new/", &body(field, *value));
        let case = format!("{field} = {value:?}");
        assert_eq!(r.status, 400, "{case}\n{}", r.body);
        let p = paragraph(&r.body, field);
        assert!(
            p.contains(&format!("<strong class=\"error\">{message}")),
            "{case}: {message}\n---\n{p}"
        );
        if let Some(kept) = kept {
            assert!(p.contains(kept), "{case}: {kept}\n---\n{p}");
        }
        // One message: the other fields, all valid, show none.
        assert_eq!(r.body.matches("class=\"error\"").count(), 1, "{case}");
        assert!(!r.body.contains("<b>"), "{case}");
        assert_eq!(things(&dir.path), 1, "{case}: a row was written");
    }
}

#[test]
fn a_valid_post_stores_each_type_as_a_fixture_would() {
    let (dir, local) = site();
    let r = local.post_form("/things/new/", &body("none", None));
    assert_eq!(r.status, 303, "{}", r.body);
    // No `success:`: the model's detail route.
    assert_eq!(r.header("location"), Some("/things/w-1/"));
    let conn = Connection::open(dir.path.join("db.sqlite3")).unwrap();
    let row: String = conn
        .query_row(
            "SELECT name || '|' || code || '|' || status || '|' || email || '|' || site || '|' || \
             typeof(count) || count || '|' || typeof(price) || price || '|' || day || '|' || at \
             || '|' || data || '|' || ok || '|' || typeof(note) || '|' || maker_id || '|' || \
             (SELECT group_concat(tag_id) FROM thing_tags WHERE thing_id = thing.id) \
             FROM thing WHERE code = 'w-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        row,
        "Widget|w-1|a|a@b.co|https://x.org/|integer3|real2.5|2026-02-03|2026-02-03T04:05:00|{\"k\":[1]}|1|null|1|1,2"
    );
    // An unticked checkbox is not sent: false. An empty value of a `null: true` field: NULL.
    let r = local.post_form(
        "/things/new/",
        &body("ok", None).replace("code=w-1", "code=w-2"),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let (ok, note): (i64, Option<String>) = conn
        .query_row("SELECT ok, note FROM thing WHERE code = 'w-2'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((ok, note), (0, None));
}

/// A foreign key posted with spaces around it is the row it names, as Python's `int(" 1 ")`
/// reads it in Django's ModelChoiceField.
#[test]
fn a_foreign_key_with_spaces_around_it_is_the_row_it_names() {
    let (dir, local) = site();
    let r = local.post_form("/things/new/", &body("maker", Some(" 1 ")));
    assert_eq!(r.status, 303, "{}", r.body);
    let conn = Connection::open(dir.path.join("db.sqlite3")).unwrap();
    let maker: (String, i64) = conn
        .query_row(
            "SELECT typeof(maker_id), maker_id FROM thing WHERE code = 'w-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(maker, ("integer".to_string(), 1));
}
