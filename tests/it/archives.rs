//! Archive, author and tag pages: list routes filtered by their path's captures
//! (`where: { author__slug: "{author}" }`), the date lookups `__year`, `__month` and `__day`
//! (from `where:` and from the query string), and the archive index (`dates:`, Django's
//! `dates()` with counts). One small site with a datetime field, a date field and a foreign key,
//! loaded once in process over a real SQLite file; its rows sit on the first and last seconds
//! of months and years, where an off-by-one range would show. The load errors (an unused
//! capture, an unknown one, a date lookup on a text field) are golden output in
//! `tests/config_errors/archives/`.

use std::sync::OnceLock;

use rusqlite::Connection;
use serde_json::Value;

use crate::common::{write_files, Local, Resp};

const SITE: &str = r#"
site: { name: Archive, database: db.sqlite3, fixtures: [data.yaml] }
models:
  Author:
    fields:
      name: { type: string, max_length: 50 }
      slug: { type: slug, unique: true }
  Post:
    fields:
      title: { type: string, max_length: 100 }
      published: { type: boolean, default: true }
      created_at: { type: datetime }
      day: { type: date, "null": true }
      author: { type: foreign_key, to: Author }
    ordering: [created_at]
routes:
  - { path: "by/<slug:author>/", view: list, model: Post, where: { author__slug: "{author}", published: true }, template: list.hbs }
  - { path: "by-id/<int:author>/", view: list, model: Post, where: { author: "{author}" }, format: json }
  - { path: "archive/", view: list, model: Post, where: { published: true }, dates: { field: created_at, kind: year, order: desc }, template: index.hbs }
  - { path: "archive/<int:year>/", view: list, model: Post, where: { created_at__year: "{year}" }, dates: { field: created_at, kind: month }, template: year.hbs }
  - { path: "archive/<int:year>/<int:month>/", view: list, model: Post, where: { created_at__year: "{year}", created_at__month: "{month}" }, template: list.hbs }
  - { path: "strict/<int:year>/<int:month>/", view: list, model: Post, where: { created_at__year: "{year}", created_at__month: "{month}" }, allow_empty: false, template: list.hbs }
  - { path: "days/<str:year>/", view: list, model: Post, where: { day__year: "{year}" }, format: json }
  - { path: "api/archive/<int:year>/", view: list, model: Post, where: { created_at__year: "{year}" }, dates: { field: created_at, kind: month, order: desc }, paginate_by: 2, format: json }
  - { path: "api/posts/", view: list, model: Post, format: json, filters: { created_at__year__gte: {}, month: { field: created_at__month } } }
  - { path: "titled/<str:title>/", view: list, model: Post, where: { title: "{title}" }, format: json }
  - { path: "literal/", view: list, model: Post, where: { title: "{{braces}}" }, format: json }
  - { path: "post/<int:year>/<int:pk>/", view: detail, model: Post, where: { created_at__year: "{year}" }, format: json }
"#;

const DATA: &str = r#"
- { model: Author, pk: 1, fields: { name: Ada, slug: ada } }
- { model: Author, pk: 2, fields: { name: Brian, slug: brian } }
- { model: Post, pk: 1, fields: { title: "Eve of 2024", created_at: "2023-12-31T23:59:59", day: "2023-12-31", author: 1 } }
- { model: Post, pk: 2, fields: { title: "New Year", created_at: "2024-01-01T00:00:00", day: "2024-01-01", author: 1 } }
- { model: Post, pk: 3, fields: { title: "End of January", created_at: "2024-01-31T23:59:59", day: "2024-01-31", author: 2 } }
- { model: Post, pk: 4, fields: { title: "First of February", created_at: "2024-02-01T00:00:00", day: "2024-02-01", author: 2 } }
- { model: Post, pk: 5, fields: { title: "Leap day", created_at: "2024-02-29T12:00:00", day: "2024-02-29", author: 1 } }
- { model: Post, pk: 6, fields: { title: "Last second of 2024", created_at: "2024-12-31T23:59:59.5", day: "2024-12-31", author: 2 } }
- { model: Post, pk: 7, fields: { title: "Draft", created_at: "2024-03-10T10:00:00", published: false, author: 1 } }
- { model: Post, pk: 8, fields: { title: "2025 begins", created_at: "2025-01-01T00:00:00", day: "2025-01-01", author: 2 } }
- { model: Post, pk: 9, fields: { title: "{braces}", created_at: "2022-06-01T00:00:00", author: 1 } }
"#;

const LIST: &str = "{{#each objects}}<li>{{title}}</li>\n{{/each}}";
const INDEX: &str =
    "{{#each dates}}<a href=\"/archive/{{year}}/\">{{year}}</a> ({{count}})\n{{/each}}";
const YEAR: &str = "<h1>{{params.year}}</h1>\n{{#each dates}}<a href=\"/archive/{{year}}/{{month}}/\">{{date}}</a> ({{count}})\n{{/each}}";

fn site() -> &'static Local {
    static SITE_: OnceLock<Local> = OnceLock::new();
    SITE_.get_or_init(|| {
        let dir = write_files(&[
            ("site.yaml", SITE),
            ("data.yaml", DATA),
            ("templates/list.hbs", LIST),
            ("templates/index.hbs", INDEX),
            ("templates/year.hbs", YEAR),
        ]);
        Local::shared(&dir.path)
    })
}

fn get(target: &str) -> Resp {
    site().get(target)
}

/// The `<li>` lines of an HTML list page.
fn items(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .lines()
        .filter_map(|l| l.strip_prefix("<li>")?.strip_suffix("</li>"))
        .map(str::to_string)
        .collect()
}

fn json(r: &Resp) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

/// The primary keys of a JSON list's results.
fn pks(r: &Resp) -> Vec<i64> {
    json(r)["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|o| o["id"].as_i64().expect("an id"))
        .collect()
}

#[test]
fn an_author_page_lists_only_that_authors_rows() {
    assert_eq!(
        items(&get("/by/ada/")),
        ["{braces}", "Eve of 2024", "New Year", "Leap day"]
    );
    assert_eq!(
        items(&get("/by/brian/")),
        [
            "End of January",
            "First of February",
            "Last second of 2024",
            "2025 begins"
        ]
    );
    assert_eq!(items(&get("/by/nobody/")), Vec::<String>::new());
    // A foreign key compared with an int capture: the author's primary key.
    assert_eq!(pks(&get("/by-id/2/")), [3, 4, 6, 8]);
    assert_eq!(pks(&get("/by-id/99/")), Vec::<i64>::new());
}

#[test]
fn year_and_month_archives_hold_their_first_and_last_seconds() {
    assert_eq!(
        items(&get("/archive/2024/12/")),
        ["Last second of 2024"],
        "the last second of December is December's"
    );
    assert_eq!(
        items(&get("/archive/2024/1/")),
        ["New Year", "End of January"]
    );
    assert_eq!(
        items(&get("/archive/2024/02/")),
        ["First of February", "Leap day"]
    );
    assert_eq!(items(&get("/archive/2023/12/")), ["Eve of 2024"]);
    assert_eq!(items(&get("/archive/2025/1/")), ["2025 begins"]);
    assert_eq!(pks(&get("/api/archive/2024/?page=1")), [2, 3]);
    let all_2024: Vec<i64> = (1..=3)
        .flat_map(|p| pks(&get(&format!("/api/archive/2024/?page={p}"))))
        .collect();
    assert_eq!(all_2024, [2, 3, 4, 5, 7, 6]);
}

#[test]
fn a_date_field_has_years_too() {
    assert_eq!(pks(&get("/days/2024/")), [2, 3, 4, 5, 6]);
    assert_eq!(pks(&get("/days/2023/")), [1]);
    // A `str` capture that is no year matches no row; it is not an error.
    assert_eq!(pks(&get("/days/twenty/")), Vec::<i64>::new());
}

#[test]
fn a_month_that_does_not_exist_is_an_empty_list_or_a_404() {
    assert_eq!(items(&get("/archive/2024/13/")), Vec::<String>::new());
    assert_eq!(items(&get("/archive/2024/0/")), Vec::<String>::new());
    assert_eq!(get("/strict/2024/13/").status, 404);
    assert_eq!(get("/strict/2019/1/").status, 404);
    assert_eq!(
        items(&get("/strict/2024/2/")),
        ["First of February", "Leap day"]
    );
    // A year too large for SQLite's integers is no match for `int`: the router's 404.
    assert_eq!(get("/archive/99999999999999999999/").status, 404);
}

#[test]
fn the_archive_index_counts_the_rows_of_each_year() {
    let r = get("/archive/");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        "<a href=\"/archive/2025/\">2025</a> (1)\n\
         <a href=\"/archive/2024/\">2024</a> (5)\n\
         <a href=\"/archive/2023/\">2023</a> (1)\n\
         <a href=\"/archive/2022/\">2022</a> (1)\n",
        "newest first, the draft (published: false) not counted"
    );
}

#[test]
fn a_year_page_shows_the_months_of_that_year() {
    let r = get("/archive/2024/");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        "<h1>2024</h1>\n\
         <a href=\"/archive/2024/1/\">2024-01-01</a> (2)\n\
         <a href=\"/archive/2024/2/\">2024-02-01</a> (2)\n\
         <a href=\"/archive/2024/3/\">2024-03-01</a> (1)\n\
         <a href=\"/archive/2024/12/\">2024-12-01</a> (1)\n"
    );
    let r = get("/archive/1999/");
    assert_eq!(r.body, "<h1>1999</h1>\n");
}

#[test]
fn a_json_list_has_its_dates_beside_its_results() {
    let body = json(&get("/api/archive/2024/?page=3"));
    assert_eq!(body["count"], 6);
    assert_eq!(
        body["dates"],
        serde_json::json!([
            {"date": "2024-12-01", "year": 2024, "month": 12, "day": 1, "count": 1},
            {"date": "2024-03-01", "year": 2024, "month": 3, "day": 1, "count": 1},
            {"date": "2024-02-01", "year": 2024, "month": 2, "day": 1, "count": 2},
            {"date": "2024-01-01", "year": 2024, "month": 1, "day": 1, "count": 2},
        ]),
        "every page has every month of the year, newest first"
    );
}

#[test]
fn the_query_string_filters_by_year_and_month() {
    assert_eq!(
        pks(&get("/api/posts/?created_at__year__gte=2024")),
        [2, 3, 4, 5, 7, 6, 8]
    );
    assert_eq!(pks(&get("/api/posts/?created_at__year__gte=2025")), [8]);
    assert_eq!(pks(&get("/api/posts/?month=12")), [1, 6]);
    assert_eq!(
        pks(&get("/api/posts/?month=1&created_at__year__gte=2024")),
        [2, 3, 8]
    );
    let r = get("/api/posts/?created_at__year__gte=soon");
    assert_eq!(r.status, 400);
    // A JSON route says why in JSON.
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"detail": "query parameter `created_at__year__gte`: expected a year (a whole number), got \"soon\""}),
    );
}

#[test]
fn doubled_braces_are_a_literal_value() {
    assert_eq!(pks(&get("/literal/")), [9]);
}

#[test]
fn an_injection_looking_capture_is_only_a_value() {
    let r = get("/titled/'%3B%20DROP%20TABLE%20post%3B%20--/");
    assert_eq!(pks(&r), Vec::<i64>::new());
    assert_eq!(pks(&get("/titled/New%20Year/")), [2]);
    let conn = Connection::open(site().path.join("db.sqlite3")).expect("the database opens");
    let n: i64 = conn
        .query_row("SELECT count(*) FROM post", [], |r| r.get(0))
        .expect("the post table is still there");
    assert_eq!(n, 9);
}

#[test]
fn a_detail_route_may_filter_by_a_capture_too() {
    assert_eq!(json(&get("/post/2024/5/"))["title"], "Leap day");
    assert_eq!(
        get("/post/2023/5/").status,
        404,
        "the year is not the row's"
    );
}

/// The indexes in the SQLite file, each as its table and columns (`post(author_id,created_at,id)`).
fn indexes(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        )
        .unwrap();
    let names: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names
        .into_iter()
        .map(|(name, table)| {
            let mut cols = conn
                .prepare(&format!("SELECT name FROM pragma_index_info('{name}')"))
                .unwrap();
            let cols: Vec<String> = cols
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            format!("{table}({})", cols.join(","))
        })
        .collect()
}

/// A list filtered by a capture asks for the index a literal `where:` would: its column, then
/// the ordering; a date column compared by year is the start of an index too.
#[test]
fn captured_filters_are_indexed_as_literal_ones_are() {
    let conn = Connection::open(site().path.join("db.sqlite3")).unwrap();
    let got = indexes(&conn);
    for want in [
        "post(author_id,created_at,id)",
        "post(day,id)",
        "post(created_at,id)",
    ] {
        assert!(got.iter().any(|i| i == want), "no index {want} in {got:?}");
    }
}
