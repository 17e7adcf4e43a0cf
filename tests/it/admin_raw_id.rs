//! A foreign key or many_to_many whose target has more rows than a select lists (1000): the
//! admin's form asks for the key in a text input (Django's `raw_id_fields`) with a link to
//! look it up in the target's list and the label of the row it holds; what is typed is
//! checked as a choice is (a key that names no row: 400 with the message, nothing written).
//! A site's own form keeps its select. Over real HTTP.

use crate::admin_filters::{count, Wire};
use crate::common::{write_files, Resp};

const SITE: &str = "site: { database: db.sqlite3, fixtures: [rows.yaml] }
admin: manage/
models:
  Author: { fields: { name: { type: string, max_length: 40 } } }
  Tag: { fields: { name: { type: string } } }
  Book:
    fields:
      title: { type: string }
      author: { type: foreign_key, to: Author }
      tags: { type: many_to_many, to: Tag }
routes:
  - { path: '', name: home, view: template, template: home.hbs }
  - { path: 'books/<int:pk>/edit/', view: update, model: Book, success: home }
";

const ROWS: &str = "- { model: Author, pk: 1, fields: { name: Ann } }
- { model: Author, pk: 2, fields: { name: \"<b>Bob</b>\" } }
- { model: Tag, pk: 1, fields: { name: red } }
- { model: Tag, pk: 2, fields: { name: blue } }
- { model: Book, pk: 1, fields: { title: Emma, author: 1, tags: [1, 2] } }
";

/// The site served, with `sql` run on its database (more rows than a select lists).
fn library(sql: &str) -> Wire {
    let w = Wire::new(write_files(&[
        ("site.yaml", SITE),
        ("rows.yaml", ROWS),
        ("templates/home.hbs", "home"),
    ]));
    rusqlite::Connection::open(w.site().join("db.sqlite3"))
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    w
}

/// Each of `wants` is in the page.
fn has_all(r: &Resp, wants: &[&str]) {
    assert_eq!(r.status, 200, "{}", r.body);
    for want in wants {
        assert!(r.body.contains(want), "{want}\n{}", r.body);
    }
}

const AUTHORS: &str =
    "WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
     INSERT INTO author (id, name) SELECT i, 'A' || i FROM n;";

const TAGS: &str = "WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < 1100)
     INSERT INTO tag (id, name) SELECT i, 'T' || i FROM n;";

#[test]
fn past_the_selects_cap_a_foreign_key_is_typed_by_key_with_a_look_up_link() {
    let w = library(AUTHORS);
    let r = w.get("/manage/book/1/change/");
    has_all(
        &r,
        &[
            r#"<input type="text" id="id_author" name="author" value="1" class="raw-id" autocomplete="off" required>"#,
            r#"<input type="search" name="q" form="lookup_author" aria-label="Search for Author" placeholder="Search" class="raw-id"> <button type="submit" form="lookup_author">Look up<span class="skip"> Author</span></button>"#,
            r#"<form id="lookup_author" action="/manage/author/" method="get" target="_blank" rel="noopener"></form>"#,
            r#"<strong><a href="/manage/author/1/change/">Ann</a></strong>"#,
        ],
    );
    assert!(!r.body.contains(r#"<select id="id_author""#), "{}", r.body);
    // The tags' target is small: still a select.
    assert!(r
        .body
        .contains(r#"<select id="id_tags" name="tags" multiple"#));

    let r = w.post("/manage/book/1/change/", "title=Emma&author=1200&tags=1");
    assert_eq!(r.status, 303, "{}", r.body);
    let author = "SELECT author_id FROM book WHERE id = 1";
    assert_eq!(count(w.site(), author), 1200);
    let r = w.get("/manage/book/1/change/");
    assert!(r.body.contains(r#"value="1200""#), "{}", r.body);
    assert!(r
        .body
        .contains(r#"<a href="/manage/author/1200/change/">A1200</a>"#));

    // Unknown, malformed or missing keys: 400, the message under the field, what was typed
    // kept, nothing written.
    for (typed, message) in [
        ("99999", "no Author with key &quot;99999&quot;"),
        ("abc", "no Author with key &quot;abc&quot;"),
        ("1.0", "no Author with key &quot;1.0&quot;"),
        ("", "this field is required"),
    ] {
        let r = w.post(
            "/manage/book/1/change/",
            &format!("title=Emma&author={typed}&tags=1"),
        );
        assert_eq!(r.status, 400, "{typed}: {}", r.body);
        assert!(
            r.body.contains(&format!(
                r#"<p class="error" id="err_author">{message}</p>"#
            )),
            "{typed}: {}",
            r.body
        );
        assert!(r.body.contains(&format!(r#"value="{typed}""#)), "{typed}");
        // A key that names no row shows no row's label.
        assert!(
            !r.body.contains("<strong><a href=\"/manage/author/"),
            "{typed}"
        );
        assert_eq!(count(w.site(), author), 1200, "{typed}");
    }

    // A new row: the input starts empty.
    let r = w.get("/manage/book/add/");
    assert!(
        r.body
            .contains(r#"<input type="text" id="id_author" name="author" value="" class="raw-id""#),
        "{}",
        r.body
    );
    let r = w.post("/manage/book/add/", "title=Persuasion&author=2&tags=2");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        count(
            w.site(),
            "SELECT COUNT(*) FROM book WHERE title = 'Persuasion' AND author_id = 2"
        ),
        1
    );

    // A site's own form keeps its select, the row's value offered past the cap.
    let r = w.get("/books/1/edit/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains(r#"<option value="1200" selected>A1200</option>"#),
        "{}",
        r.body
    );
}

#[test]
fn past_the_cap_a_many_to_many_takes_keys_separated_by_commas() {
    let w = library(TAGS);
    let r = w.get("/manage/book/1/change/");
    has_all(
        &r,
        &[
            r#"<input type="text" id="id_tags" name="tags" value="1,2" class="raw-id" autocomplete="off">"#,
            r#"<form id="lookup_tags" action="/manage/tag/" method="get" target="_blank" rel="noopener"></form>"#,
            r#"<strong><a href="/manage/tag/1/change/">red</a></strong> <strong><a href="/manage/tag/2/change/">blue</a></strong>"#,
            "Keys separated by commas.",
        ],
    );
    let pairs = "SELECT group_concat(tag_id) FROM (SELECT tag_id FROM book_tags WHERE book_id = 1 ORDER BY tag_id)";
    let r = w.post(
        "/manage/book/1/change/",
        "title=Emma&author=1&tags=1%2C+1100",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let tags = || {
        rusqlite::Connection::open(w.site().join("db.sqlite3"))
            .unwrap()
            .query_row(pairs, [], |r| r.get::<_, String>(0))
            .unwrap()
    };
    assert_eq!(tags(), "1,1100");
    let r = w.get("/manage/book/1/change/");
    assert!(r.body.contains(r#"value="1,1100""#), "{}", r.body);

    let r = w.post("/manage/book/1/change/", "title=Emma&author=1&tags=2,5000");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("no Tag with key &quot;5000&quot;"),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"value="2,5000""#), "{}", r.body);
    assert_eq!(tags(), "1,1100", "nothing written");
}

/// The text input's keys as a person types them: spaces and stray commas are no keys, and an
/// emptied input (the field is not required) saves no row.
#[test]
fn a_many_to_many_ignores_stray_commas_and_empties_when_cleared() {
    let w = library(TAGS);
    let tags = || {
        rusqlite::Connection::open(w.site().join("db.sqlite3"))
            .unwrap()
            .query_row(
                "SELECT COUNT(*), COALESCE(group_concat(tag_id), '') FROM (SELECT tag_id FROM book_tags WHERE book_id = 1 ORDER BY tag_id)",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .unwrap()
    };
    let r = w.post(
        "/manage/book/1/change/",
        "title=Emma&author=1&tags=%2C2%2C+%2C1100%2C",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(tags(), (2, "2,1100".to_string()));
    let r = w.post("/manage/book/1/change/", "title=Emma&author=1&tags=");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(tags(), (0, String::new()));
}
