//! The JSON of list and detail routes, in process: each body compared whole, as text (key
//! order and types: `true` not `1`, `1` not `1.0`), datetimes as Django's `DjangoJSONEncoder`
//! writes them (with and without microseconds), the primary key under its field's name and
//! no `pk`, the keys `fields:` and `exclude:` choose (related fields included), and a JSON
//! route's errors (400, 404, 405, 500) as JSON with their status. The 503s are in `limits`
//! (they need the real server's database threads).

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::common::{write_files, Local, Resp, SiteDir};

const SITE: &str = r#"
site: { database: db.sqlite3, fixtures: [data.yaml] }
models:
  Author:
    fields:
      name: { type: string }
      slug: { type: slug, unique: true }
      joined: { type: datetime }
  Tag:
    fields:
      name: { type: string }
  Post:
    ordering: [id]
    fields:
      title: { type: string }
      published: { type: boolean, default: true }
      rating: { type: integer }
      score: { type: float }
      day: { type: date }
      created_at: { type: datetime }
      data: { type: json, null: true }
      author: { type: foreign_key, to: Author, on_delete: cascade }
      tags: { type: many_to_many, to: Tag }
  Code:
    fields:
      code: { type: slug, primary_key: true }
      label: { type: string }
routes:
  - { path: "api/posts/", view: list, model: Post, format: json, paginate_by: 2, filters: { rating: {} } }
  - { path: "api/posts/<int:pk>/", view: detail, model: Post, format: json }
  - { path: "api/titles/", view: list, model: Post, format: json,
      fields: [pk, title, author__name, author__pk, created_at, tags] }
  - { path: "api/slim/<int:pk>/", view: detail, model: Post, format: json, exclude: [author, tags, data, pk] }
  - { path: "api/authors/<slug:slug>/", view: detail, model: Author, lookup: slug, format: json,
      fields: [name, joined, posts], related: { posts: { model: Post, field: author } } }
  - { path: "api/codes/", view: list, model: Code, format: json }
  - { path: "api/codes/<slug:code>/", view: detail, model: Code, format: json, fields: [pk, label] }
  - { path: "posts/<int:pk>/", view: detail, model: Post, template: post.hbs }
  - { path: "api/ping.json", view: response, content_type: application/json, body: '{"ok": true}',
      query: { n: { type: int, on_invalid: error } } }
"#;

const DATA: &str = r#"
- { model: Author, pk: 1, fields: { name: Ada, slug: ada, joined: "2024-01-03T10:14:00.123456" } }
- { model: Author, pk: 2, fields: { name: Bob, slug: bob, joined: "2024-01-03T11:14:00+01:00" } }
- { model: Tag, pk: 1, fields: { name: rust } }
- { model: Tag, pk: 2, fields: { name: web } }
- { model: Post, pk: 1, fields: { title: One, rating: 1, score: 1.0, day: "2024-01-03",
    created_at: "2024-01-03T10:14:00.123456", data: { a: [1, true] }, author: 1, tags: [2, 1] } }
- { model: Post, pk: 2, fields: { title: Two, published: false, rating: 2, score: 2.5, day: "2024-02-29",
    created_at: "2024-02-29T23:59:59", author: 2, tags: [] } }
- { model: Post, pk: 3, fields: { title: Three, rating: 3, score: -0.5, day: "2024-03-01",
    created_at: "2024-03-01T00:00:00.000500", author: 1, tags: [1] } }
- { model: Code, pk: ab, fields: { label: "A & B" } }
"#;

fn site() -> &'static Local {
    static SITE_DIR: OnceLock<(SiteDir, Local)> = OnceLock::new();
    &SITE_DIR
        .get_or_init(|| {
            let dir = write_files(&[
                ("site.yaml", SITE),
                ("data.yaml", DATA),
                ("templates/post.hbs", "<h1>{{object.title}}</h1>"),
            ]);
            let local = Local::load(&dir.path);
            (dir, local)
        })
        .1
}

/// A JSON answer with `status`, its body exactly `want` as Trellis writes JSON (two-space
/// indent; `json!` keeps the order keys are written in).
fn assert_json(r: &Resp, status: u16, want: &Value) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.mime(), "application/json", "{r:?}");
    assert_eq!(r.body, serde_json::to_string_pretty(want).unwrap(), "{r:?}");
}

/// Every column, the author's row, the tags' rows: the key under `id`, no `pk`, a boolean as
/// `true`, an integer as `1`, a float as `1.0`, a date as it is, a datetime with milliseconds
/// and `Z`.
#[test]
fn a_detail_is_the_rows_columns_and_related_rows_with_djangos_types_and_datetimes() {
    let r = site().get("/api/posts/1/");
    let want = r#"{
  "id": 1,
  "title": "One",
  "published": true,
  "rating": 1,
  "score": 1.0,
  "day": "2024-01-03",
  "created_at": "2024-01-03T10:14:00.123Z",
  "data": {
    "a": [
      1,
      true
    ]
  },
  "author_id": 1,
  "author": {
    "id": 1,
    "name": "Ada",
    "slug": "ada",
    "joined": "2024-01-03T10:14:00.123Z"
  },
  "tags": [
    {
      "id": 1,
      "name": "rust"
    },
    {
      "id": 2,
      "name": "web"
    }
  ]
}"#;
    assert_eq!((r.status, r.mime().as_str()), (200, "application/json"));
    assert_eq!(r.body, want);
}

/// Without microseconds there is no fraction; below a millisecond the fraction is `.000`
/// (cut, not rounded, as Django cuts); an offset given on the way in was applied (Bob joined
/// at 11:14+01:00, 10:14 UTC).
#[test]
fn datetimes_with_and_without_microseconds() {
    let v: Value = serde_json::from_str(&site().get("/api/posts/2/").body).unwrap();
    assert_eq!(v["created_at"], "2024-02-29T23:59:59Z");
    assert_eq!(v["published"], false);
    assert_eq!(v["score"], json!(2.5));
    assert_eq!(v["data"], Value::Null);
    assert_eq!(v["tags"], json!([]));
    assert_eq!(v["author"]["joined"], "2024-01-03T10:14:00Z");
    let v: Value = serde_json::from_str(&site().get("/api/posts/3/").body).unwrap();
    assert_eq!(v["created_at"], "2024-03-01T00:00:00.000Z");
}

#[test]
fn a_list_page_holds_its_rows_and_the_pagination() {
    let r = site().get("/api/posts/?page=2");
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(r.status, 200);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["results", "count", "num_pages", "page", "next", "previous"]
    );
    assert_eq!(v["count"], json!(3));
    assert_eq!(v["page"], json!(2));
    assert_eq!(v["next"], Value::Null);
    assert_eq!(v["previous"], "/api/posts/?page=1");
    let row = &v["results"][0];
    assert_eq!(row["id"], json!(3));
    assert_eq!(row["created_at"], "2024-03-01T00:00:00.000Z");
    assert_eq!(row["score"], json!(-0.5));
    assert!(row.get("pk").is_none(), "{row}");
}

/// `fields:` in its order: `pk` under the key's name, a related row's field as Django's
/// `values()` names it (`author__name`), a many_to_many field's rows whole.
#[test]
fn fields_choose_the_keys_in_their_order_related_fields_included() {
    let tag = |id: i64, name: &str| json!({"id": id, "name": name});
    let row = |id: i64, title: &str, author: &str, author_pk: i64, at: &str, tags: Value| {
        json!({"id": id, "title": title, "author__name": author, "author__pk": author_pk,
               "created_at": at, "tags": tags})
    };
    assert_json(
        &site().get("/api/titles/"),
        200,
        &json!({"results": [
            row(1, "One", "Ada", 1, "2024-01-03T10:14:00.123Z", json!([tag(1, "rust"), tag(2, "web")])),
            row(2, "Two", "Bob", 2, "2024-02-29T23:59:59Z", json!([])),
            row(3, "Three", "Ada", 1, "2024-03-01T00:00:00.000Z", json!([tag(1, "rust")])),
        ]}),
    );
}

/// `exclude:` leaves the other keys in their order; a foreign key's name takes its related
/// row and its column, `pk` the key.
#[test]
fn exclude_leaves_out_keys_and_keeps_the_order_of_the_rest() {
    assert_json(
        &site().get("/api/slim/2/"),
        200,
        &json!({"title": "Two", "published": false, "rating": 2, "score": 2.5,
                "day": "2024-02-29", "created_at": "2024-02-29T23:59:59Z"}),
    );
}

/// A detail's `related:` list is a key `fields:` may choose; its rows are written whole.
#[test]
fn fields_may_choose_a_related_list() {
    let post = |id: i64,
                title: &str,
                published: bool,
                rating: i64,
                score: f64,
                day: &str,
                at: &str,
                data: Value| {
        json!({"id": id, "title": title, "published": published, "rating": rating,
               "score": score, "day": day, "created_at": at, "data": data, "author_id": 1,
               "author": {"id": 1, "name": "Ada", "slug": "ada",
                          "joined": "2024-01-03T10:14:00.123Z"}})
    };
    let mut one = post(
        1,
        "One",
        true,
        1,
        1.0,
        "2024-01-03",
        "2024-01-03T10:14:00.123Z",
        json!({"a": [1, true]}),
    );
    one["tags"] = json!([{"id": 1, "name": "rust"}, {"id": 2, "name": "web"}]);
    let mut three = post(
        3,
        "Three",
        true,
        3,
        -0.5,
        "2024-03-01",
        "2024-03-01T00:00:00.000Z",
        Value::Null,
    );
    three["tags"] = json!([{"id": 1, "name": "rust"}]);
    assert_json(
        &site().get("/api/authors/ada/"),
        200,
        &json!({"name": "Ada", "joined": "2024-01-03T10:14:00.123Z", "posts": [one, three]}),
    );
}

/// A model whose key is declared (`code`) has it under that name, in lists and details.
#[test]
fn a_declared_primary_key_is_under_its_own_name() {
    assert_json(
        &site().get("/api/codes/"),
        200,
        &json!({"results": [{"code": "ab", "label": "A & B"}]}),
    );
    assert_json(
        &site().get("/api/codes/ab/"),
        200,
        &json!({"code": "ab", "label": "A & B"}),
    );
}

/// Each failure of a JSON route is JSON, with its status and headers, as Django REST
/// framework writes them; an HTML route keeps its HTML page.
#[test]
fn a_json_routes_errors_are_json() {
    let s = site();
    let not_found = json!({"detail": "Not found."});
    assert_json(&s.get("/api/posts/99/"), 404, &not_found);
    assert_json(&s.get("/api/posts/?page=3"), 404, &not_found);
    assert_json(&s.get("/api/posts/?page=x"), 404, &not_found);
    assert_json(&s.get("/api/codes/zz/"), 404, &not_found);
    assert_json(
        &s.get("/api/posts/?rating=many"),
        400,
        &json!({"detail": "query parameter `rating`: expected an integer, got \"many\""}),
    );
    let r = s.post("/api/posts/");
    assert_json(&r, 405, &json!({"detail": "Method \"POST\" not allowed."}));
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    let r = s.request("DELETE", "/api/posts/1/");
    assert_json(
        &r,
        405,
        &json!({"detail": "Method \"DELETE\" not allowed."}),
    );

    // A response route with a JSON content type answers its failures in JSON too.
    assert_eq!(s.get("/api/ping.json?n=2").body, "{\"ok\": true}");
    assert_json(
        &s.post("/api/ping.json"),
        405,
        &json!({"detail": "Method \"POST\" not allowed."}),
    );
    let r = s.get("/api/ping.json?n=two");
    assert_eq!(
        (r.status, r.mime().as_str()),
        (400, "application/json"),
        "{r:?}"
    );
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert!(v["detail"].as_str().unwrap().contains("`n`"), "{v}");

    let html = s.get("/posts/99/");
    assert_eq!(
        (html.status, html.mime().as_str()),
        (404, "text/html"),
        "{html:?}"
    );
    let html = s.post("/posts/1/");
    assert_eq!(
        (html.status, html.mime().as_str()),
        (405, "text/html"),
        "{html:?}"
    );
}

/// A statement that fails (its table gone behind the site's back) is a 500 whose detail is
/// logged, never sent: the body says only that an error occurred.
#[test]
fn a_json_routes_500_is_json_and_keeps_its_detail_in_the_log() {
    let dir = write_files(&[
        ("site.yaml", SITE),
        ("data.yaml", DATA),
        ("templates/post.hbs", "<h1>{{object.title}}</h1>"),
    ]);
    let local = Local::load(&dir.path);
    let conn = rusqlite::Connection::open(dir.path.join("db.sqlite3")).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF; DROP TABLE post_tags;")
        .unwrap();
    let (r, log) = crate::common::logged(|| local.get("/api/posts/1/"));
    assert_json(&r, 500, &json!({"detail": "A server error occurred."}));
    assert!(
        log.contains("Internal Server Error: /api/posts/1/"),
        "{log}"
    );
    assert!(log.contains("post_tags"), "{log}");
    assert!(!r.body.contains("post_tags"), "{r:?}");
}
